#!/usr/bin/env bash
# serve_security.sh: clmnist serve and train --serve against hostile and careless clients
# (tests/serve_security.py): token, stop secret, TLS, starvation, uploads, OpenAPI, metrics, CORS.
# Usage: serve_security.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
. "$(dirname "$0")/lib.sh" # tmp, check, need_mnist
need_mnist "$data"
"$bin" train --data "$data" --backend host --threads 2 --limit 5000 --epochs 1 --layers 64 \
    --out "$tmp/mlp.safetensors" >"$tmp/train.txt" 2>&1 || { cat "$tmp/train.txt"; exit 1; }
python3 "$(dirname "$0")/serve_security.py" "$bin" "$data" "$tmp/mlp.safetensors" "$tmp"
