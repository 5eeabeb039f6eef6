#!/usr/bin/env bash
# train_dashboard.sh: clmnist train --serve and the graceful stop (tests/train_dashboard.py).
# Usage: train_dashboard.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
[ -e "$data/t10k-images-idx3-ubyte" ] || [ -e "$data/t10k-images-idx3-ubyte.gz" ] || {
    echo "MNIST not in $data; run data/fetch mnist"
    exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$(dirname "$0")/train_dashboard.py" "$bin" "$data" "$tmp"
