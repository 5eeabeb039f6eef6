#!/usr/bin/env bash
# dashboard_browser.sh: the training dashboard of `clmnist train --serve` in headless Chromium
# (tests/browser/dashboard_browser.js): the curves gain points during a short host-backend run, an
# evaluation fills the confusion matrix and the grid, and the stop button ends the run, which then
# exits 0 with its model saved; the layout holds (tests/browser/dashboard_layout.js: the matrix
# inside its card, shaded by count, no label over the charts, the x axis over the epochs run).
# Then the same at 47 classes, on a synthetic dataset trained for 2 epochs, and the drawing page
# of its model. Skips (77) without MNIST, chromium, node or puppeteer-core. The screenshots go to
# $DASHBOARD_SCREENSHOT and $DASHBOARD_SCREENSHOT_47 (docs/dashboard.png and dashboard47.png were
# made so), else the temp folder.
# Usage: dashboard_browser.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/browser/prereqs.sh" # skips without MNIST, chromium, node or puppeteer-core; sets $chrome
. "$here/lib.sh" # tmp, wait_for
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# long enough to watch (30 epochs of all 60,000 images, ~1 s each), stopped from the page
"$bin" train --data "$data" --backend host --threads 1 --layers 128 --epochs 30 --no-hint \
    --serve 0 --out "$tmp/model.safetensors" >"$tmp/train.log" 2>&1 &
pid=$!
url=$(wait_for "$tmp/train.log" "$pid" 'dashboard: http://[^ ]*/') || { cat "$tmp/train.log"; exit 1; }
url=${url#dashboard: }
timeout 300 node "$here/browser/dashboard_browser.js" "$chrome" "$url" "${DASHBOARD_SCREENSHOT:-$tmp/dashboard.png}"
code=$?
# the run stops after the current step, saves, then serves the drawing pad until SIGINT
wait_for "$tmp/train.log" "$pid" "stopped (at step|after epoch)" 300 >/dev/null ||
    { echo "FAIL: the run did not stop"; cat "$tmp/train.log"; code=1; }
for _ in $(seq 300); do [ -s "$tmp/model.safetensors" ] && break; sleep 0.1; done
[ -s "$tmp/model.safetensors" ] || { echo "FAIL: no model saved after the stop"; code=1; }
kill -INT "$pid" 2>/dev/null
wait "$pid"
stopped=$?
pid=
[ "$stopped" = 0 ] || { echo "FAIL: train exited with $stopped"; tail -5 "$tmp/train.log"; code=1; }

# 47 classes named as EMNIST balanced's: a tiny synthetic image folder (PGM files) made here, each
# class a bright 4x4 block at its own place of a 7x7 grid over noise; 2 epochs, then the page of
# the finished run and its drawing page
python3 - "$tmp/c47" <<'PY' || exit 1
import os, random, sys
names = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt")
rng = random.Random(47)
for split, per in (("train", 30), ("test", 12)):
    for c, name in enumerate(names):
        os.makedirs(os.path.join(sys.argv[1], split, name))
        for i in range(per):
            px = [rng.randrange(0, 100) for _ in range(784)]
            for y in range(4):
                for x in range(4):
                    px[(c // 7 * 4 + y) * 28 + c % 7 * 4 + x] = rng.randrange(90, 256)
            with open(os.path.join(sys.argv[1], split, name, "%02d.pgm" % i), "wb") as f:
                f.write(b"P5\n28 28\n255\n" + bytes(px))
PY
"$bin" train --data "$tmp/c47" --backend host --threads 1 --layers 32 --epochs 2 --batch 16 --no-hint \
    --serve 0 --out "$tmp/c47.safetensors" >"$tmp/c47.log" 2>&1 &
pid=$!
wait_for "$tmp/c47.log" "$pid" "training is over" >/dev/null && url=$(grep -oE -m1 'dashboard: http://[^ ]*/' "$tmp/c47.log") ||
    { echo "FAIL: the 47-class run"; cat "$tmp/c47.log"; exit 1; }
url=${url#dashboard: }
timeout 300 node "$here/browser/dashboard_classes.js" "$chrome" "$url" 47 2 \
    "${DASHBOARD_SCREENSHOT_47:-$tmp/dashboard47.png}" || code=1
kill -INT "$pid" 2>/dev/null
wait "$pid"
stopped=$?
pid=
[ "$stopped" = 0 ] || { echo "FAIL: the 47-class train exited with $stopped"; tail -5 "$tmp/c47.log"; code=1; }
exit $code
