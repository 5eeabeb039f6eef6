#!/usr/bin/env bash
# scripts/mpi_scaling.sh: 1 process against 2 MPI ranks on this machine, in alternating rounds:
# images/s of `clmnist train` (its epoch line) and the share of rank 0's step time spent summing the
# gradients: download, MPI_Allreduce, upload (its "data parallel:" line). docs/BENCHMARKS.md quotes
# the output.
# Usage: scripts/mpi_scaling.sh [ROUNDS] [extra train flags...]   (build/clmnist, data/mnist)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-3}
shift || true
bin=build/clmnist
mpirun=(mpirun --allow-run-as-root --oversubscribe)
export CLMNIST_NO_PROGRESS=1 OMP_WAIT_POLICY=passive
base=(train --data data/mnist --backend host --epochs 1 --limit 30000 --no-save --seed 1 "$@")
rate() { grep -o '([0-9]* img/s)' | grep -o '[0-9]*' | tail -1; }
share() { grep -o 'in steps ([0-9.]*%)' | grep -o '[0-9.]*' || echo -; }
printf "%-5s %-36s %10s %10s\n" round config "img/s" "grad sums"
for r in $(seq 1 "$rounds"); do
    out=$("$bin" "${base[@]}" --threads 2 2>&1)
    printf "%-5s %-36s %10s %10s\n" "$r" "1 process, 2 threads" "$(rate <<<"$out")" -
    out=$("$bin" "${base[@]}" --threads 1 2>&1)
    printf "%-5s %-36s %10s %10s\n" "$r" "1 process, 1 thread" "$(rate <<<"$out")" -
    out=$("${mpirun[@]}" -np 2 "$bin" "${base[@]}" 2>&1)
    printf "%-5s %-36s %10s %9s%%\n" "$r" "2 ranks x 1 thread (busy-poll MPI)" "$(rate <<<"$out")" "$(share <<<"$out")"
    out=$("${mpirun[@]}" --mca mpi_yield_when_idle 1 -np 2 "$bin" "${base[@]}" 2>&1)
    printf "%-5s %-36s %10s %9s%%\n" "$r" "2 ranks x 1 thread (yield when idle)" "$(rate <<<"$out")" "$(share <<<"$out")"
done
