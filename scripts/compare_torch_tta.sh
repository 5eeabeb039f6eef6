#!/usr/bin/env bash
# scripts/compare_torch_tta.sh: time to a test accuracy, clmnist's host backend against PyTorch on
# the CPU, the cnn preset's network and recipe on both sides (Adam (0.7, 0.9), one-cycle with peak
# lr 0.004 over 15 epochs, batch 128, no augmentation, dropout 0.25), in one run (issue 28).
# clmnist: `clmnist bench --to-accuracy` (training seconds until the test accuracy first reaches
# the target, evaluating 4 times an epoch, evaluation not counted); PyTorch: torch_bench.py
# --to-accuracy, the same cadence and clock. Rounds alternate the two. PyTorch runs with the
# setting TORCH_SETTING="INTRA,OPENBLAS,WAIT,MALLOC" (default "N,1,passive,mmap32", the fastest
# that scripts/compare_torch.sh found for this network on the 2-core VM; MALLOC mmap32 keeps
# glibc from handing PyTorch's large per-step tensors back to the system, glibc leaves it as it
# comes; run compare_torch.sh first on another machine). Long: each side trains up to 15 epochs of 60,000 images per round.
# Usage: scripts/compare_torch_tta.sh [TARGET (default 99.0)] [ROUNDS (default 1)]
#   BLAS_CORE=own|NAME (default own: OpenBLAS picks its kernels; scripts/blas_core.sh), THREADS=N (default nproc), CLMNIST_BIN (default build/clmnist)
set -euo pipefail
target=${1:-99.0} rounds=${2:-1}
threads=${THREADS:-$(nproc)} bin=${CLMNIST_BIN:-build/clmnist}
IFS=, read -r intra ob wait mal <<<"${TORCH_SETTING:-$threads,1,passive,mmap32}"
malloc_env=()
[ "${mal:-glibc}" = mmap32 ] && malloc_env=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" -c "import torch" 2>/dev/null || { echo "compare_torch_tta.sh: $py has no torch (apt-get install python3-torch)" >&2; exit 77; }
arch=conv24k5-bn-relu-pool2-conv32k3-bn-relu-pool2-flatten-fc256-relu-drop0.25-fc10
frac=$(awk -v t="$target" 'BEGIN { printf "%.4f", (t > 1 ? t / 100 : t) }')
. "$(dirname "$0")/blas_core.sh"
echo "uptime at start: $(uptime)"
for r in $(seq "$rounds"); do
    CLMNIST_NO_PROGRESS=1 "$bin" bench --backends host --threads "$threads" --preset cnn --augment none \
        --batches 128 --runs 1 --steps 5 --warmup 1 --no-gemm --to-accuracy "$target" --seed "$r" |
        grep -E "^  host .*reached" | sed "s/^/clmnist round $r: /"
    env "${malloc_env[@]}" OMP_WAIT_POLICY="$wait" OPENBLAS_NUM_THREADS="$ob" "$py" scripts/torch_bench.py --arch "$arch" --optimizer adam \
        --lr 0.004 --beta1 0.7 --beta2 0.9 --schedule onecycle --epochs 15 --to-accuracy "$frac" \
        --threads "$intra" | sed "s/^/pytorch round $r (intra-op $intra, OpenBLAS $ob, $wait, malloc ${mal:-glibc}): /"
    echo "round $r/$rounds done; $(uptime)"
done
