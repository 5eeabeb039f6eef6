#!/usr/bin/env bash
# dashboard_token_browser.sh: the training dashboard with a token (train --serve --token T) in
# headless Chromium (tests/browser/dashboard_token.js): the token asked for once and kept by the
# tab, or given as ?token= and dropped from the address; the curves fill; the stop button stops
# the run, which exits 0 with its model saved after SIGINT. Skips (77) without MNIST, chromium,
# node or puppeteer-core.
# Usage: dashboard_token_browser.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/browser/prereqs.sh"
. "$here/lib.sh" # tmp, wait_for
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
token=browser-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
CLMNIST_TOKEN=$token "$bin" train --data "$data" --backend host --threads 1 --layers 128 --epochs 30 --no-hint \
    --serve 0 --out "$tmp/model.safetensors" >"$tmp/train.log" 2>&1 &
pid=$!
url=$(wait_for "$tmp/train.log" "$pid" 'dashboard: http://[^ ]*/') || { cat "$tmp/train.log"; exit 1; }
url=${url#dashboard: }
timeout 300 node "$here/browser/dashboard_token.js" "$chrome" "$url" "$token"
code=$?
wait_for "$tmp/train.log" "$pid" "stopped (at step|after epoch)" 300 >/dev/null ||
    { echo "FAIL: the run did not stop"; tail -5 "$tmp/train.log"; code=1; }
kill -INT "$pid" 2>/dev/null
wait "$pid"
stopped=$?
pid=
[ "$stopped" = 0 ] || { echo "FAIL: train exited with $stopped"; tail -5 "$tmp/train.log"; code=1; }
grep -q "$token" "$tmp/train.log" && { echo "FAIL: the token was printed"; code=1; }
exit $code
