#!/usr/bin/env bash
# dashboard_browser.sh: the training dashboard of `clmnist train --serve` in headless Chromium
# (tests/browser/dashboard_browser.js): the curves gain points during a short host-backend run, an
# evaluation fills the confusion matrix and the grid, and the stop button ends the run, which then
# exits 0 with its model saved. Skips (77) without MNIST, chromium, node or puppeteer-core. The
# screenshot goes to $DASHBOARD_SCREENSHOT (docs/dashboard.png was made so), else the temp folder.
# Usage: dashboard_browser.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/browser/prereqs.sh" # skips without MNIST, chromium, node or puppeteer-core; sets $chrome
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# long enough to watch (30 epochs of all 60,000 images, ~1 s each), stopped from the page
"$bin" train --data "$data" --backend host --threads 1 --layers 128 --epochs 30 --no-hint \
    --serve 0 --out "$tmp/model.safetensors" >"$tmp/train.log" 2>&1 &
pid=$!
url=
for _ in $(seq 600); do
    url=$(grep -o 'dashboard: http://[^ ]*/' "$tmp/train.log" | head -1 | sed 's/^dashboard: //')
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$url" ] || { cat "$tmp/train.log"; exit 1; }
timeout 300 node "$here/browser/dashboard_browser.js" "$chrome" "$url" "${DASHBOARD_SCREENSHOT:-$tmp/dashboard.png}"
code=$?
# the run stops after the current step, saves, then serves the drawing pad until SIGINT
for _ in $(seq 300); do
    grep -Eq "stopped (at step|after epoch)" "$tmp/train.log" && break
    sleep 0.1
done
grep -Eq "stopped (at step|after epoch)" "$tmp/train.log" || { echo "FAIL: the run did not stop"; cat "$tmp/train.log"; code=1; }
for _ in $(seq 300); do [ -s "$tmp/model.safetensors" ] && break; sleep 0.1; done
[ -s "$tmp/model.safetensors" ] || { echo "FAIL: no model saved after the stop"; code=1; }
kill -INT "$pid" 2>/dev/null
wait "$pid"
stopped=$?
pid=
[ "$stopped" = 0 ] || { echo "FAIL: train exited with $stopped"; tail -5 "$tmp/train.log"; code=1; }
exit $code
