#!/usr/bin/env bash
# scripts/host_threads.sh: how the host backend's threads should share the cores, measured: the
# training throughput of the host backend (clmnist bench, one run per configuration, rounds
# alternating) under the four combinations of
#   CLMNIST_HOST_GEMM=split  one OpenMP pool runs everything; OpenBLAS single-threaded per block
#                            of C (the default)
#   CLMNIST_HOST_GEMM=blas   OpenBLAS threads each product itself with its own pthread pool
# and libgomp's OMP_WAIT_POLICY=active (spin between parallel loops, libgomp's default) or passive
# (sleep; the tool's default, host/tool/main.c). Prints images/s per round and the medians.
# Usage: scripts/host_threads.sh [ROUNDS (default 5)] [clmnist bench options (default: the fast MLP)]
set -euo pipefail
rounds=${1:-5}
shift $(($# > 0 ? 1 : 0))
bin=${CLMNIST_BIN:-build/clmnist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
configs="split-active split-passive blas-active blas-passive"
for r in $(seq "$rounds"); do
    line="round $r:"
    for cfg in $configs; do
        CLMNIST_HOST_GEMM=${cfg%-*} OMP_WAIT_POLICY=${cfg#*-} CLMNIST_NO_PROGRESS=1 "$bin" bench --backends host \
            --batches 128 --no-gemm --runs 1 --steps "${STEPS:-40}" --warmup 5 --threads 2 "$@" --json \
            >"$tmp/$cfg.$r.json" 2>/dev/null
        v=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["throughput"][0]["images_per_s_median"]))' \
            "$tmp/$cfg.$r.json")
        echo "$v" >>"$tmp/$cfg.txt"
        line="$line $cfg $v"
    done
    echo "$line (load average $(cut -d' ' -f1 /proc/loadavg))"
done
for cfg in $configs; do
    printf '  %-14s median %6.0f images/s\n' "$cfg" "$(sort -n "$tmp/$cfg.txt" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
done
