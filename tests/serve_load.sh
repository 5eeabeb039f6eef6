#!/usr/bin/env bash
# serve_load.sh: load test of clmnist serve (tests/serve_load.py) against a small MLP trained here.
# Small by default; SERVE_LOAD_REQUESTS=2000 SERVE_LOAD_CLIENTS=16 for the full run.
# Usage: serve_load.sh path/to/clmnist path/to/serve_load MNIST_DIR
set -u
bin=$1 client=$2 data=$3
. "$(dirname "$0")/lib.sh" # tmp, check, need_mnist
need_mnist "$data"
"$bin" train --data "$data" --backend host --threads 2 --limit 5000 --epochs 1 --layers 64 \
    --out "$tmp/mlp.safetensors" >"$tmp/train.txt" 2>&1 || { cat "$tmp/train.txt"; exit 1; }
python3 "$(dirname "$0")/serve_load.py" "$bin" "$client" "$data" "${SERVE_LOAD_MODEL:-$tmp/mlp.safetensors}" "$tmp"
