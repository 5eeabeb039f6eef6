#!/usr/bin/env bash
# scripts/compare_torch.sh: clmnist (device and host backends) against PyTorch on the CPU, in one
# run, as a ratio. Rounds alternate between the two tools (one clmnist bench run of each backend,
# then one PyTorch run), so drift on a shared machine hits both alike; each side reports the
# median images/s over the rounds. Same MLP, batch, optimizer (SGD, momentum 0.9, lr 0.1), data
# (MNIST uint8 in memory, gathered and scaled per step) and timing (5 warm-up steps, then 50).
# Usage: scripts/compare_torch.sh [ROUNDS (default 5)] [BATCH (default 128)] [THREADS (default 2)]
set -euo pipefail
rounds=${1:-5} batch=${2:-128} threads=${3:-2}
bin=${CLMNIST_BIN:-build/clmnist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
    CLMNIST_NO_PROGRESS=1 "$bin" bench --backends device,host --batches "$batch" --feeds resident --no-gemm \
        --runs 1 --steps 50 --warmup 5 --threads "$threads" --json >"$tmp/clmnist.$r.json" 2>/dev/null
    /usr/bin/python3 scripts/torch_bench.py --batch "$batch" --runs 1 --steps 50 --warmup 5 --threads "$threads" \
        >"$tmp/torch.$r.txt"
    echo "round $r/$rounds done" >&2
done
python3 - "$tmp" "$rounds" "$batch" <<'PY'
import glob, json, re, statistics as st, sys
tmp, rounds, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ips = {"clmnist device": [], "clmnist host": [], "pytorch cpu": []}
device = ""
for r in range(1, rounds + 1):
    j = json.load(open(f"{tmp}/clmnist.{r}.json"))
    for t in j["throughput"]:
        ips["clmnist " + t["backend"]].append(t["images_per_s_median"])
        if t["backend"] == "device":
            device = t["device"]
    m = re.search(r"run 1: ([0-9.]+) images/s", open(f"{tmp}/torch.{r}.txt").read())
    ips["pytorch cpu"].append(float(m.group(1)))
torch_med = st.median(ips["pytorch cpu"])
print(f"batch {batch}, {rounds} alternating rounds, median images/s (min-max); device: {device}")
for k, v in ips.items():
    print(f"  {k:15s} {st.median(v):8.0f}  ({min(v):.0f}-{max(v):.0f})  ratio to PyTorch {st.median(v) / torch_med:.2f}")
PY
