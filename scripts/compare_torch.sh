#!/usr/bin/env bash
# scripts/compare_torch.sh: clmnist (device and host backends) against PyTorch on the CPU, in one
# run, as ratios. Rounds alternate between the two tools (one clmnist bench run of each backend,
# then one run of each PyTorch setting), so drift on a shared machine hits all alike; each side
# reports the median images/s over the rounds. Same network, batch, optimizer, data (MNIST uint8
# in memory, gathered and scaled per step) and timing (5 warm-up steps, then STEPS).
#
# PyTorch gets its fastest setting: every round runs it four ways, intra-op threads THREADS and 1
# (torch.set_num_threads) crossed with libgomp's default spin-waiting and OMP_WAIT_POLICY=passive,
# always with OpenBLAS on THREADS threads (torch_bench.py refuses to run on another BLAS); the
# best median is "pytorch best". clmnist runs as a user runs it (its tool sets passive waiting for
# itself, host/tool/main.c). The summary line compares the best of each tool.
# The network: the 784-512-256-10 MLP with SGD (momentum 0.9, lr 0.1), or, with ARCH (a clmnist
# --arch spec, e.g. the cnn preset's), that network with Adam (lr 0.001).
# Usage: scripts/compare_torch.sh [ROUNDS (default 5)] [BATCH (default 128)] [THREADS (default 2)] [ARCH]
#        STEPS=N (default 50) timed steps per run; BACKENDS=device,host (default) clmnist backends
set -euo pipefail
rounds=${1:-5} batch=${2:-128} threads=${3:-2} arch=${4:-} steps=${STEPS:-50} backends=${BACKENDS:-device,host}
bin=${CLMNIST_BIN:-build/clmnist}
model=()
[ -n "$arch" ] && model=(--arch "$arch" --optimizer adam --lr 0.001)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
    CLMNIST_NO_PROGRESS=1 "$bin" bench --backends "$backends" --batches "$batch" --feeds resident --no-gemm \
        --runs 1 --steps "$steps" --warmup 5 --threads "$threads" "${model[@]}" --json >"$tmp/clmnist.$r.json" 2>/dev/null
    for intra in "$threads" 1; do
        for wait in default passive; do
            env_wait=()
            [ "$wait" = passive ] && env_wait=(OMP_WAIT_POLICY=passive)
            env -u OMP_WAIT_POLICY "${env_wait[@]}" OPENBLAS_NUM_THREADS="$threads" /usr/bin/python3 \
                scripts/torch_bench.py --batch "$batch" --runs 1 --steps "$steps" --warmup 5 --threads "$intra" \
                "${model[@]}" >"$tmp/torch-$intra-$wait.$r.txt"
        done
    done
    echo "round $r/$rounds done" >&2
done
python3 - "$tmp" "$rounds" "$batch" "$threads" "$arch" <<'PY'
import json, re, statistics as st, sys
tmp, rounds, batch, threads, arch = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ips, device = {}, ""
for r in range(1, rounds + 1):
    j = json.load(open(f"{tmp}/clmnist.{r}.json"))
    for t in j["throughput"]:
        ips.setdefault("clmnist " + t["backend"], []).append(t["images_per_s_median"])
        device = t["device"] if t["backend"] == "device" else device
    for intra in (threads, "1"):
        for wait in ("default", "passive"):
            txt = open(f"{tmp}/torch-{intra}-{wait}.{r}.txt").read()
            ips.setdefault(f"pytorch intra-op {intra}, {wait} wait", []).append(
                float(re.search(r"run 1: ([0-9.]+) images/s", txt).group(1)))
med = {k: st.median(v) for k, v in ips.items()}
best = {tool: max((k for k in med if k.startswith(tool)), key=med.get) for tool in ("clmnist", "pytorch")}
print((f"{arch}, Adam lr 0.001" if arch else "784-512-256-10 MLP, SGD momentum 0.9 lr 0.1")
      + f"; batch {batch}; {rounds} alternating rounds; median images/s (min-max); OpenBLAS on {threads} threads")
if device:
    print(f"device: {device}")
print(f"  {'':36s} {'median':>8s}  {'(min-max)':17s} {'ratio to pytorch best':>22s}")
for k, v in ips.items():
    rng = f"({min(v):.0f}-{max(v):.0f})"
    mark = " <- best" if k in best.values() else ""
    print(f"  {k:36s} {med[k]:8.0f}  {rng:17s} {med[k] / med[best['pytorch']]:22.2f}{mark}")
print(f"clmnist best / pytorch best: {med[best['clmnist']] / med[best['pytorch']]:.2f}x "
      f"({best['clmnist']} against {best['pytorch']})")
PY
