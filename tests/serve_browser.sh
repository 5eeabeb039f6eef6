#!/usr/bin/env bash
# serve_browser.sh: the drawing page of clmnist serve in headless Chromium, driven by puppeteer-core
# (tests/browser/serve_browser.js): test image 0 of MNIST (a 7) drawn over its ink with the mouse
# gets the class `clmnist predict` gives that image; the random test digit shows a label and an
# answer; uploading that image as a PNG file gets the same class. Skips (77) without chromium, node or tests/browser/node_modules (scripts/bootstrap runs
# `npm ci --prefix tests/browser`). The screenshot goes to $SERVE_SCREENSHOT (docs/serve.png was
# made so), else into the temporary folder.
# Usage: serve_browser.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/browser/prereqs.sh" # skips without MNIST, chromium, node or puppeteer-core; sets $chrome
. "$here/lib.sh"             # tmp, wait_for
pid=
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
"$bin" train --data "$data" --backend host --threads 2 --limit 10000 --epochs 1 \
    --arch conv8k5-relu-pool2-flatten-fc10 --out "$tmp/cnn.safetensors" >"$tmp/train.txt" 2>&1 ||
    { cat "$tmp/train.txt"; exit 1; }
python3 -c "
import json, os, sys
sys.path.insert(0, '$here')
from serve_util import mnist_test_images, png_gray
images, _ = mnist_test_images('$data')
open('$tmp/digit.json', 'w').write(json.dumps(list(images[:784])))
open('$tmp/digit.png', 'wb').write(png_gray(images[:784], 28, 28))
"
want=$("$bin" predict --model "$tmp/cnn.safetensors" --backend host --json "$tmp/digit.png" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["class"])')
"$bin" serve --model "$tmp/cnn.safetensors" --backend host --data "$data" --port 0 >"$tmp/serve.log" 2>&1 &
pid=$!
port=$(wait_for "$tmp/serve.log" "$pid" 'listening on http://127.0.0.1:[0-9]+') || { cat "$tmp/serve.log"; exit 1; }
port=${port##*:}
timeout 300 node "$here/browser/serve_browser.js" "$chrome" "http://127.0.0.1:$port/" "$tmp/digit.json" "$want" \
    "${SERVE_SCREENSHOT:-$tmp/serve.png}"
code=$?
kill -TERM "$pid"
wait "$pid"
stopped=$?
pid=
[ "$stopped" = 0 ] || { echo "FAIL: the server exited with $stopped on SIGTERM"; code=1; }
exit $code
