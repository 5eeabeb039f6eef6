#!/usr/bin/env bash
# scripts/compare_torch.sh: clmnist (device and host backends) against PyTorch on the CPU, in one
# run, as a ratio. Rounds alternate between the two tools (one clmnist bench run of each backend,
# then one PyTorch run), so drift on a shared machine hits both alike; each side reports the
# median images/s over the rounds. Same MLP, batch, optimizer (SGD, momentum 0.9, lr 0.1), data
# (MNIST uint8 in memory, gathered and scaled per step) and timing (5 warm-up steps, then 50).
# PyTorch runs in two configurations, both with OpenBLAS on THREADS threads: torch's intra-op pool
# at THREADS threads (torch.set_num_threads(THREADS), what "PyTorch on 2 threads" gives) and at
# 1 thread. On the 2-core CI machine the second is several times faster: the two thread pools
# otherwise compete for the same cores. Ratios are given against both.
# With ARCH (a clmnist --arch spec, e.g. the cnn preset's), both sides train that network with
# Adam (lr 0.001) instead. STEPS (default 50) sets the timed steps per run. The environment (e.g.
# OMP_WAIT_POLICY=passive, which both clmnist's host backend and PyTorch's OpenMP pool read) goes
# to both tools alike.
# Usage: scripts/compare_torch.sh [ROUNDS (default 5)] [BATCH (default 128)] [THREADS (default 2)] [ARCH]
set -euo pipefail
rounds=${1:-5} batch=${2:-128} threads=${3:-2} arch=${4:-} steps=${STEPS:-50}
bin=${CLMNIST_BIN:-build/clmnist}
model=()
[ -n "$arch" ] && model=(--arch "$arch" --optimizer adam --lr 0.001)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
    CLMNIST_NO_PROGRESS=1 "$bin" bench --backends device,host --batches "$batch" --feeds resident --no-gemm \
        --runs 1 --steps "$steps" --warmup 5 --threads "$threads" "${model[@]}" --json >"$tmp/clmnist.$r.json" 2>/dev/null
    for intra in "$threads" 1; do
        OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 scripts/torch_bench.py --batch "$batch" --runs 1 --steps "$steps" \
            --warmup 5 --threads "$intra" "${model[@]}" >"$tmp/torch$intra.$r.txt"
    done
    echo "round $r/$rounds done" >&2
done
python3 - "$tmp" "$rounds" "$batch" "$threads" "$arch" <<'PY'
import glob, json, os, re, statistics as st, sys
tmp, rounds, batch, threads, arch = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
torch_a, torch_b = f"pytorch intra-op {threads}", "pytorch intra-op 1"
ips = {"clmnist device": [], "clmnist host": [], torch_a: [], torch_b: []}
device = ""
for r in range(1, rounds + 1):
    j = json.load(open(f"{tmp}/clmnist.{r}.json"))
    for t in j["throughput"]:
        ips["clmnist " + t["backend"]].append(t["images_per_s_median"])
        if t["backend"] == "device":
            device = t["device"]
    for name, intra in ((torch_a, threads), (torch_b, "1")):
        m = re.search(r"run 1: ([0-9.]+) images/s", open(f"{tmp}/torch{intra}.{r}.txt").read())
        ips[name].append(float(m.group(1)))
med_a, med_b = st.median(ips[torch_a]), st.median(ips[torch_b])
if arch:
    print(f"{arch}, Adam")
print(f"batch {batch}, {rounds} alternating rounds, median images/s (min-max); OpenBLAS on {threads} threads;"
      + (f" OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']};" if "OMP_WAIT_POLICY" in os.environ else ""))
print(f"device: {device}")
print(f"  {'':20s} {'median':>8s}  {'(min-max)':17s} {'ratio to ' + torch_a:>26s} {'ratio to ' + torch_b:>26s}")
for k, v in ips.items():
    rng = f"({min(v):.0f}-{max(v):.0f})"
    print(f"  {k:20s} {st.median(v):8.0f}  {rng:17s} {st.median(v) / med_a:26.2f} {st.median(v) / med_b:26.2f}")
PY
