#!/usr/bin/env bash
# serve_api.sh: clmnist serve's JSON API and shutdown (tests/serve_api.py) against two small models
# trained here: an MLP and a tiny CNN (for its filters).
# Usage: serve_api.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
. "$(dirname "$0")/lib.sh" # tmp, check, need_mnist
need_mnist "$data"
small=(--data "$data" --backend host --threads 2 --limit 5000 --epochs 1)
"$bin" train "${small[@]}" --layers 64 --out "$tmp/mlp.safetensors" >"$tmp/train.txt" 2>&1 ||
    { cat "$tmp/train.txt"; exit 1; }
"$bin" train "${small[@]}" --arch conv4k5s2-relu-flatten-fc10 --out "$tmp/cnn.safetensors" >"$tmp/train2.txt" 2>&1 ||
    { cat "$tmp/train2.txt"; exit 1; }
python3 "$(dirname "$0")/serve_api.py" "$bin" "$data" "$tmp/mlp.safetensors" "$tmp/cnn.safetensors" "$tmp"
