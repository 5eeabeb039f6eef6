#!/usr/bin/env bash
# serve_batching.sh: clmnist serve's dynamic batching against serial answers and `predict`
# (tests/serve_batching.py), with a small MLP trained here on the host backend.
# Usage: serve_batching.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
. "$(dirname "$0")/lib.sh" # tmp, check, need_mnist
need_mnist "$data"
"$bin" train --data "$data" --backend host --threads 2 --limit 3000 --epochs 1 --layers 64 --no-hint \
    --out "$tmp/mlp.safetensors" >"$tmp/train.txt" 2>&1 || { cat "$tmp/train.txt"; exit 1; }
python3 "$(dirname "$0")/serve_batching.py" "$bin" "$data" "$tmp/mlp.safetensors" "$tmp"
