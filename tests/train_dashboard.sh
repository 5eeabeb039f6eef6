#!/usr/bin/env bash
# train_dashboard.sh: clmnist train --serve and the graceful stop (tests/train_dashboard.py).
# Usage: train_dashboard.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
. "$(dirname "$0")/lib.sh" # tmp, check, need_mnist
need_mnist "$data"
python3 "$(dirname "$0")/train_dashboard.py" "$bin" "$data" "$tmp"
