#!/usr/bin/env bash
# scripts/bench_ab.sh: the training throughput of two clmnist builds (e.g. an old release and the
# current one) in one run, as a ratio. Rounds alternate one `clmnist bench` run of build A and one
# of build B (the order swapped every other round), each measuring every backend of --backends
# once, so drift on a shared machine hits both alike; prints the median images/s per backend of
# each build and B / A. Extra arguments go to both benches (default: the fast MLP at batch 128).
# Usage: scripts/bench_ab.sh BIN_A BIN_B [ROUNDS (default 7)] [clmnist bench options]
set -euo pipefail
a=$1 b=$2 rounds=${3:-7}
shift $(($# < 3 ? $# : 3))
[ $# -gt 0 ] || set -- --layers 512,256
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
    order="a b"
    [ $((r % 2)) -eq 0 ] && order="b a"
    for side in $order; do
        bin=$a
        [ "$side" = b ] && bin=$b
        CLMNIST_NO_PROGRESS=1 "$bin" bench --backends device,host --batches 128 --feeds resident --no-gemm \
            --runs 1 --steps 50 --warmup 5 "$@" --json >"$tmp/$side.$r.json" 2>/dev/null
    done
    echo "round $r/$rounds done" >&2
done
python3 - "$tmp" "$rounds" "$a" "$b" <<'PY'
import json, statistics as st, sys
tmp, rounds, bins = sys.argv[1], int(sys.argv[2]), {"a": sys.argv[3], "b": sys.argv[4]}
ips = {}
for side in "ab":
    for r in range(1, rounds + 1):
        j = json.load(open(f"{tmp}/{side}.{r}.json"))
        for t in j["throughput"]:
            ips.setdefault((t["backend"], t["batch"]), {"a": [], "b": []})[side].append(t["images_per_s_median"])
print(f"{j['model']}: median images/s of {rounds} alternating rounds (min-max)")
print(f"  A = {bins['a']}\n  B = {bins['b']}")
print(f"  {'backend':8s} {'batch':>5s} {'A':>8s} {'(min-max)':15s} {'B':>8s} {'(min-max)':15s} {'B / A':>6s}")
for (backend, batch), v in ips.items():
    ma, mb = st.median(v["a"]), st.median(v["b"])
    ra, rb = f"({min(v['a']):.0f}-{max(v['a']):.0f})", f"({min(v['b']):.0f}-{max(v['b']):.0f})"
    print(f"  {backend:8s} {batch:>5} {ma:8.0f} {ra:15s} {mb:8.0f} {rb:15s} {mb / ma:6.2f}")
PY
