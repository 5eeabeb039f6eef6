#!/usr/bin/env bash
# serve_colour.sh: `clmnist serve` with a colour model (issue 25), on the synthetic hue set
# (scripts/make_hue_set.py --png: the class is the hue of a shape at equal luma, so only colour
# tells them apart): tests/serve_colour.py checks the JSON API (colour uploads of any size, JSON
# pixels as planes, /api/random, the refusals) against `clmnist predict`; then, where chromium,
# node and puppeteer-core are installed, tests/browser/serve_colour.js checks the page: upload
# only, no draw-pad, the colour input shown. The screenshot goes to $SERVE_SCREENSHOT (made
# docs/serve_colour.png), else into the temporary folder.
# Usage: serve_colour.sh path/to/clmnist
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
$py "$here/../scripts/make_hue_set.py" "$tmp/hue" --png --train 600 --test 150 --seed 3 || exit 1
"$bin" train --data "$tmp/hue" --backend host --arch conv8k3p1-relu-pool2-conv16k3p1-relu-gap-fc3 --optimizer adam \
    --lr 0.01 --epochs 3 --batch 32 --seed 5 --image-size 32 --out "$tmp/colour.safetensors" >"$tmp/train.log" 2>&1 ||
    { cat "$tmp/train.log"; exit 1; }
$py "$here/serve_colour.py" "$bin" "$tmp/colour.safetensors" "$tmp/hue" "$tmp" || fail=1
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ] || ! command -v node >/dev/null || [ ! -d "$here/browser/node_modules/puppeteer-core" ]; then
    echo "skip: the page in a browser (needs chromium, node and npm ci --prefix tests/browser)"
    exit $fail
fi
"$bin" serve --model "$tmp/colour.safetensors" --backend host --data "$tmp/hue" --port 0 >"$tmp/serve.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(wait_for "$tmp/serve.log" "$pid" 'listening on http://127.0.0.1:[0-9]+') || { cat "$tmp/serve.log"; exit 1; }
port=${port##*:}
red=$(ls "$tmp/hue/test/red" | head -1)
timeout 300 node "$here/browser/serve_colour.js" "$chrome" "http://127.0.0.1:$port/" "$tmp/hue/test/red/$red" red \
    "${SERVE_SCREENSHOT:-$tmp/serve_colour.png}" || fail=1
kill -TERM "$pid"
wait "$pid"
check "the server exits 0 on SIGTERM" test $? = 0
exit $fail
