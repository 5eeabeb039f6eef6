#!/usr/bin/env bash
# scripts/gemm_ab.sh: the device GEMM with and without the `clmnist tune` cache, in one run, as a
# ratio. Rounds alternate one `clmnist bench` GEMM measurement with CLMNIST_NO_TUNING=1 and one
# with the cache, so drift on a shared machine hits both alike; prints the median GFLOP/s of
# every shape of the model and of the whole step (total flops / total time), and their ratio.
# Usage: scripts/gemm_ab.sh [ROUNDS (default 7)] [clmnist bench options, e.g. --layers 1024,1024]
set -euo pipefail
rounds=${1:-7}
shift || true
bin=${CLMNIST_BIN:-build/clmnist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
    for mode in untuned tuned; do
        env $([ $mode = untuned ] && echo CLMNIST_NO_TUNING=1) CLMNIST_NO_PROGRESS=1 "$bin" bench --backends device \
            --batches 128 --feeds resident --runs 1 --steps 1 --warmup 0 --json "$@" >"$tmp/$mode.$r.json" 2>/dev/null
    done
    echo "round $r/$rounds done" >&2
done
python3 - "$tmp" "$rounds" "$(dirname "$0")" <<'PY'
import json, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
from gemm_rounds import Rounds
t = Rounds(("untuned", "tuned"))
for mode in t.rate:
    for r in range(1, rounds + 1):
        j = json.load(open(f"{tmp}/{mode}.{r}.json"))
        t.add(mode, j["gemm"])
print(f"device GEMM GFLOP/s, median of {rounds} alternating rounds ({j['model']}, batch 128)")
print(f"  {'shape':28s} {'m':>6s} {'n':>6s} {'k':>6s} {'untuned':>9s} {'tuned':>9s} {'ratio':>7s}")
for name, dims, (u, d) in t.medians():
    print(f"  {name:28s} {dims[0]:>6} {dims[1]:>6} {dims[2]:>6} {u:9.1f} {d:9.1f} {d / u:6.2f}x")
PY
