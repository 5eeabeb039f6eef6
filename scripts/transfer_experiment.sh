#!/usr/bin/env bash
# scripts/transfer_experiment.sh: the transfer-learning experiment of docs/RESULTS.md. Pretrains
# the `cnn` preset's network on MNIST, then trains it on the first N Fashion-MNIST training
# images (N = 100, 1,000, 60,000) three ways, for each seed:
#   scratch    a fresh network
#   fine-tune  --init the MNIST model --reset-head (a new head for the new classes); every layer trains
#   frozen     the same, with --freeze 0-7: the two convolution blocks keep their weights
#              (BatchNorm in eval mode); the Linear layers train
# and prints one Markdown row per (N, way): the mean test accuracy over the seeds (sample standard
# deviation, min-max) on the full Fashion-MNIST test set.
# Usage: scripts/transfer_experiment.sh [DIR] [SEEDS]   (defaults: /tmp/clmnist-transfer, "1 2 3")
set -euo pipefail
dir=${1:-/tmp/clmnist-transfer} seeds=${2:-1 2 3}
bin=${CLMNIST_BIN:-build/clmnist}
export CLMNIST_NO_PROGRESS=1 OMP_WAIT_POLICY=passive
mkdir -p "$dir"
base=(--backend host --preset cnn --augment none)
if [ ! -f "$dir/mnist-cnn.safetensors" ]; then
    "$bin" train --data data/mnist "${base[@]}" --epochs 4 --seed 1 --out "$dir/mnist-cnn.safetensors" | grep '^done:'
fi
# steps: 100 images: batch 25 x 15 epochs; 1,000: batch 50 x 8 epochs; 60,000: batch 128 x 2 epochs
declare -A plan=([100]="--batch 25 --epochs 15" [1000]="--batch 50 --epochs 8" [60000]="--batch 128 --epochs 2")
declare -A way=([scratch]="" [fine-tune]="--init $dir/mnist-cnn.safetensors --reset-head"
    [frozen]="--init $dir/mnist-cnn.safetensors --reset-head --freeze 0-7")
for n in 100 1000 60000; do
    for w in scratch fine-tune frozen; do
        accs=""
        for s in $seeds; do
            # shellcheck disable=SC2086
            line=$("$bin" train --data data/fashion "${base[@]}" ${plan[$n]} ${way[$w]} --limit "$n" --seed "$s" \
                --no-save | grep '^done:')
            acc=$(grep -o 'test accuracy: [0-9.]*' <<<"$line" | grep -o '[0-9.]*$')
            echo "$n images, $w, seed $s: $acc%" >&2
            accs="$accs $acc"
        done
        python3 - "$n" "$w" "${plan[$n]}" "$accs" <<'PY'
import statistics as st, sys
n, w, plan, accs = sys.argv[1], sys.argv[2], sys.argv[3], [float(x) for x in sys.argv[4].split()]
sd = st.stdev(accs) if len(accs) > 1 else 0.0
print(f"| {int(n):,} | {w} | `{plan}` | {st.mean(accs):.2f}% ± {sd:.2f} ({min(accs):.2f}–{max(accs):.2f}) | {len(accs)} |")
PY
    done
done
