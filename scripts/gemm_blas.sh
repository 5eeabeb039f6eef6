#!/usr/bin/env bash
# scripts/gemm_blas.sh: the GEMMs of one training step on clmnist's two backends (the device one
# with this machine's `clmnist tune` cache, if any) against OpenBLAS through PyTorch's torch.mm, in
# one run, as a ratio. Rounds alternate one `clmnist bench` GEMM table (device and host) with one
# `scripts/torch_bench.py --gemm` table, so drift on a shared machine hits both alike; prints the
# median GFLOP/s of every shape and of the whole step (total flops / total time).
# Usage: scripts/gemm_blas.sh [ROUNDS (default 5)] [THREADS (default 2)]
set -euo pipefail
rounds=${1:-5} threads=${2:-2}
bin=${CLMNIST_BIN:-build/clmnist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
    CLMNIST_NO_PROGRESS=1 "$bin" bench --backends device,host --batches 128 --feeds resident --runs 1 --steps 1 \
        --warmup 0 --threads "$threads" --json >"$tmp/clmnist.$r.json" 2>/dev/null
    OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 scripts/torch_bench.py --gemm --batch 128 \
        --threads "$threads" >"$tmp/torch.$r.jsonl"
    echo "round $r/$rounds done" >&2
done
python3 - "$tmp" "$rounds" "$threads" "$(dirname "$0")" <<'PY'
import json, sys
tmp, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, sys.argv[4])
from gemm_rounds import Rounds
t = Rounds(("device", "host", "openblas"))
for r in range(1, rounds + 1):
    j = json.load(open(f"{tmp}/clmnist.{r}.json"))
    for col in ("device", "host"):
        t.add(col, [g for g in j["gemm"] if g["backend"] == col])
    t.add("openblas", [json.loads(line) for line in open(f"{tmp}/torch.{r}.jsonl")])
device = next(b["device"] for b in j["backends"] if b["backend"] == "device")
print(f"GEMM GFLOP/s, median of {rounds} alternating rounds ({j['model']}, batch 128, {threads} threads)")
torch_version = json.loads(open(f"{tmp}/torch.1.jsonl").readline())["torch"]
print(f"device: {device}; OpenBLAS through torch.mm (PyTorch {torch_version})")
print(f"  {'shape':28s} {'m':>5s} {'n':>5s} {'k':>5s} {'device':>8s} {'host':>8s} {'OpenBLAS':>9s} {'dev/BLAS':>9s} {'host/BLAS':>10s}")
for name, dims, (d, h, o) in t.medians():
    print(f"  {name:28s} {dims[0]:>5} {dims[1]:>5} {dims[2]:>5} {d:8.1f} {h:8.1f} {o:9.1f} {d / o:8.2f}x {h / o:9.2f}x")
PY
