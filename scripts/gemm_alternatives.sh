#!/usr/bin/env bash
# scripts/gemm_alternatives.sh: the SGEMM libraries this machine offers, on the GEMM shapes of
# clmnist's training steps (the 784-512-256-10 MLP and the cnn preset's network, batch 128) and one
# 2048^3 product, in one run (issue 28): OpenBLAS with its own core detection and each core type
# forced by OPENBLAS_CORETYPE, BLIS (libblis-dev, OpenMP build) and oneDNN's dnnl_sgemm
# (libdnnl-dev). Rounds alternate the candidates, so drift on a shared machine hits all alike;
# each figure is the median over the rounds (min-max beside). A library that is not installed is
# skipped with a line that says so.
# Usage: scripts/gemm_alternatives.sh [ROUNDS (default 3)] [THREADS (default nproc)]
#   CORETYPES="Haswell SkylakeX Zen" (default) the OpenBLAS core types to force
set -euo pipefail
rounds=${1:-3} threads=${2:-$(nproc)}
coretypes=${CORETYPES:-Haswell SkylakeX Zen}
lib=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/ga" "$(dirname "$0")/gemm_alternatives.c" -ldl
openblas=$lib/openblas-pthread/libopenblas.so.0
[ -e "$openblas" ] || openblas=$lib/libopenblas.so.0
blis=$lib/blis-openmp/libblis.so.4
[ -e "$blis" ] || blis=$lib/libblis.so.4
dnnl=$lib/libdnnl.so.2
cands=("openblas (its own detection)|$openblas|cblas|")
for c in $coretypes; do cands+=("openblas OPENBLAS_CORETYPE=$c|$openblas|cblas|OPENBLAS_CORETYPE=$c"); done
cands+=("blis (OpenMP)|$blis|cblas|" "onednn dnnl_sgemm|$dnnl|dnnl|")
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads BLIS_NUM_THREADS=$threads
echo "uptime at start: $(uptime)"
core=$( (OPENBLAS_VERBOSE=2 "$tmp/ga" "$openblas" cblas 0 2>&1 || true) | sed -n 's/^Core: //p' | head -1)
echo "OpenBLAS's own choice of core: ${core:-unknown}"
for r in $(seq "$rounds"); do
    for i in "${!cands[@]}"; do
        IFS='|' read -r name path kind envv <<<"${cands[$i]}"
        if [ ! -e "$path" ]; then
            [ "$r" = 1 ] && echo "skipped: $name ($path is not installed)"
            continue
        fi
        env $envv "$tmp/ga" "$path" "$kind" 0.2 >"$tmp/out.$i.$r" 2>&1 || echo "failed: $name: $(tail -1 "$tmp/out.$i.$r")"
    done
    echo "round $r/$rounds done; $(uptime)" >&2
done
echo "uptime at end: $(uptime)"
python3 - "$tmp" "$rounds" "$threads" "${cands[@]}" <<'PY'
import os, statistics as st, sys
tmp, rounds, threads, cands = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
rows, steps, names = {}, {}, []
for i, c in enumerate(cands):
    name = c.split("|")[0]
    for r in range(1, rounds + 1):
        p = f"{tmp}/out.{i}.{r}"
        if not os.path.exists(p):
            continue
        for line in open(p):
            f = line.rstrip("\n").split("\t")
            if f[0] == "step":
                steps.setdefault((name, f[1]), []).append(float(f[2].split()[0]))
            elif len(f) == 8:
                rows.setdefault((f"{f[0]} {f[1]} ({f[2]}x{f[3]}x{f[4]})", name), []).append(float(f[7]))
    if any(k[1] == name for k in rows):
        names.append(name)
print(f"SGEMM GFLOP/s, {threads} threads, median over {rounds} alternating rounds (min-max)")
shapes = list(dict.fromkeys(k[0] for k in rows))
print(f"  {'shape':44s}" + "".join(f" {n[:26]:>27s}" for n in names))
for s in shapes:
    cells = []
    for n in names:
        v = rows.get((s, n), [])
        cells.append(f"{st.median(v):.1f} ({min(v):.0f}-{max(v):.0f})" if v else "-")
    print(f"  {s:44s}" + "".join(f" {c:>27s}" for c in cells))
for net in ("mlp", "cnn"):
    cells = []
    for n in names:
        v = steps.get((n, net), [])
        cells.append(f"{st.median(v):.3f} ms" if v else "-")
    print(f"  {'step ' + net + ': the GEMMs of one step':44s}" + "".join(f" {c:>27s}" for c in cells))
PY
