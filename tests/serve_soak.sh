#!/usr/bin/env bash
# serve_soak.sh: the soak test of clmnist serve (tests/serve_soak.py) against a small MLP trained
# here. SERVE_SOAK_REQUESTS=200000 for the full run (docs/RELIABILITY.md); 5000 by default.
# Usage: serve_soak.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
. "$(dirname "$0")/lib.sh" # tmp, check, need_mnist
need_mnist "$data"
"$bin" train --data "$data" --backend host --threads 1 --limit 2000 --epochs 1 --layers 32 \
    --out "$tmp/mlp.safetensors" >"$tmp/train.txt" 2>&1 || { cat "$tmp/train.txt"; exit 1; }
python3 "$(dirname "$0")/serve_soak.py" "$bin" "$data" "$tmp/mlp.safetensors" "$tmp"
