#!/usr/bin/env bash
# scripts/compare_torch.sh: clmnist's host backend against PyTorch on the CPU, whole epochs as a
# user trains them, in one run, as ratios (issue 28).
#
# clmnist: `clmnist train` with the network's recipe; its epoch lines' images/s (training only,
# evaluation not counted); and beside it the steady-state step rate of `clmnist bench` (50 steps
# after 5 warm-up steps).
# PyTorch: scripts/torch_bench.py --epochs: a plain loop over a shuffled float tensor (the
# images converted to float once), each epoch timed the same way, with the steady rate of its
# steps after the first 5 beside it. PyTorch gets its fastest setting, found by search: every
# round runs all sixteen settings of intra-op threads (torch.set_num_threads) 1 and N, OpenBLAS
# threads (OPENBLAS_NUM_THREADS) 1 and N, libgomp's waiting (OMP_WAIT_POLICY active = spin, or
# passive) and glibc's malloc as it comes or keeping freed blocks of up to 32 MiB
# (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_; "malloc keeps"): PyTorch allocates its large
# tensors anew each step, and with glibc's defaults a fresh process hands each back to the
# system and faults it in again (the cnn network: 1,900 against 6,100 images/s). TORCH_MALLOC=glibc
# or mmap32 searches one of the two only. FEED_U8=1 adds one more PyTorch setting (the fastest
# thread setting of the older script: intra-op 1, OpenBLAS N, spin) that gathers and scales each
# batch from uint8 per step.
# Rounds alternate clmnist and every PyTorch setting, so drift on a shared machine hits all
# alike. Each setting's figure is the median over all its epochs (min-max beside); the
# summary compares clmnist against PyTorch's best setting. Print `uptime` with the result: on a
# shared machine the figures are only comparable within one run.
#
# The networks: mlp: 784-512-256-10, SGD momentum 0.9, lr 0.1 (clmnist --preset fast);
# cnn: the `cnn` preset's network, Adam (0.7, 0.9) lr 0.004, no augmentation on either side.
# Usage: scripts/compare_torch.sh [mlp|cnn] [ROUNDS (default 3)] [EPOCHS per run (default 2)]
#   BLAS_CORE=own|NAME (default own: OpenBLAS picks its kernels; scripts/blas_core.sh), THREADS=N (default nproc), LIMIT=N training images (default 0: all 60,000), CLMNIST_BIN (default build/clmnist), FEED_U8=1, BENCH_STEPS (default 50),
#   MAX_SECONDS=S (default 20): a PyTorch epoch still running after S seconds is cut there and
#   counted at the rate of the images it did (a setting that slow is never the best; it keeps a
#   spinning setting on a loaded machine from taking minutes), BACKENDS=host,device (default
#   host) the clmnist backends
set -euo pipefail
net=${1:-mlp} rounds=${2:-3} epochs=${3:-2}
threads=${THREADS:-$(nproc)} bin=${CLMNIST_BIN:-build/clmnist} steps=${BENCH_STEPS:-50}
cut=${MAX_SECONDS:-20}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
cnn_arch=conv24k5-bn-relu-pool2-conv32k3-bn-relu-pool2-flatten-fc256-relu-drop0.25-fc10
case $net in
mlp)
    limit=${LIMIT:-0}
    cl=(--preset fast)
    pt=(--layers 512,256 --optimizer sgd --lr 0.1 --momentum 0.9)
    ;;
cnn)
    limit=${LIMIT:-0}
    cl=(--preset cnn --augment none)
    pt=(--arch "$cnn_arch" --optimizer adam --lr 0.004 --beta1 0.7 --beta2 0.9)
    ;;
*)
    echo "compare_torch.sh: the network is mlp or cnn, not '$net'" >&2
    exit 2
    ;;
esac
[ -x "$bin" ] || { echo "compare_torch.sh: no $bin (build clmnist first)" >&2; exit 1; }
"$py" -c "import torch" 2>/dev/null || { echo "compare_torch.sh: $py has no torch (apt-get install python3-torch)" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
settings=()
for mal in ${TORCH_MALLOC:-glibc mmap32}; do
    for intra in 1 "$threads"; do
        for ob in 1 "$threads"; do
            for wait in active passive; do settings+=("$intra,$ob,$wait,float,$mal"); done
        done
    done
done
[ "${FEED_U8:-0}" = 1 ] && settings+=("1,$threads,active,u8,glibc")
# glibc's malloc with its defaults (glibc), or keeping large blocks instead of giving each back to
# the system when it is freed (mmap32): PyTorch allocates its large tensors anew every step
mmap32=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456)
. "$(dirname "$0")/blas_core.sh"
echo "uptime at start: $(uptime)"
IFS=, read -r -a backends <<<"${BACKENDS:-host}"
for r in $(seq "$rounds"); do
    for be in "${backends[@]}"; do
        CLMNIST_NO_PROGRESS=1 "$bin" train --backend "$be" --threads "$threads" "${cl[@]}" --epochs "$epochs" \
            --limit "$limit" --no-save --seed "$r" >"$tmp/clmnist-$be.$r.txt" 2>&1
        CLMNIST_NO_PROGRESS=1 "$bin" bench --backends "$be" --feeds resident --batches 128 --no-gemm --no-memory --runs 1 \
            --steps "$steps" --warmup 5 --threads "$threads" "${cl[@]}" --limit "$limit" --json \
            >"$tmp/bench-$be.$r.json" 2>/dev/null
    done
    for s in "${settings[@]}"; do
        IFS=, read -r intra ob wait feed mal <<<"$s"
        malloc_env=()
        [ "$mal" = mmap32 ] && malloc_env=("${mmap32[@]}")
        env "${malloc_env[@]}" OMP_WAIT_POLICY="$wait" OPENBLAS_NUM_THREADS="$ob" "$py" scripts/torch_bench.py "${pt[@]}" \
            --epochs "$epochs" --threads "$intra" --feed "$feed" --limit "$limit" --max-seconds "$cut" \
            >"$tmp/torch.$s.$r.txt" 2>&1
    done
    echo "round $r/$rounds done; $(uptime)" >&2
done
echo "uptime at end: $(uptime)"
"$py" - "$tmp" "$rounds" "$net" "$threads" "$limit" "${BACKENDS:-host}" "${settings[@]}" <<'PY'
import json, re, statistics as st, sys
tmp, rounds, net, threads, limit, backends, settings = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6].split(","), sys.argv[7:]
epoch, steady = {}, {}
def grab(key, path, pat_epoch, pat_steady=None):
    txt = open(path).read()
    e = [float(x) for x in re.findall(pat_epoch, txt)]
    if not e:
        sys.exit(f"compare_torch.sh: no epoch figures in {path}:\n{txt[-2000:]}")
    epoch.setdefault(key, []).extend(e)
    if pat_steady:
        steady.setdefault(key, []).extend(float(x) for x in re.findall(pat_steady, txt))
for r in range(1, rounds + 1):
    for be in backends:
        grab(f"clmnist {be}", f"{tmp}/clmnist-{be}.{r}.txt", r"epoch \d+/\d+: .*\((\d+) img/s\)")
        j = json.load(open(f"{tmp}/bench-{be}.{r}.json"))
        steady.setdefault(f"clmnist {be}", []).append(j["throughput"][0]["images_per_s_median"])
    for s in settings:
        intra, ob, wait, feed, mal = s.split(",")
        key = (f"pytorch intra-op {intra}, OpenBLAS {ob}, {'spin' if wait == 'active' else 'passive'}" +
               (", uint8 per step" if feed == "u8" else "") + (", malloc keeps" if mal == "mmap32" else ""))
        grab(key, f"{tmp}/torch.{s}.{r}.txt", r"pytorch epoch \d+: (\d+) images/s", r"steady (\d+) images/s")
med = {k: st.median(v) for k, v in epoch.items()}
best = max((k for k in med if k.startswith("pytorch") and "uint8" not in k), key=med.get)
print(f"{net}: batch 128, {limit if limit != '0' else 'all 60000'} training images, {rounds} alternating rounds, "
      f"whole epochs, {threads} threads; images/s, median (min-max) over all epochs")
print(f"  {'':62s} {'epoch median':>12s} {'(min-max)':>15s} {'steady median':>13s} {'ratio to pytorch best':>22s}")
for k, v in epoch.items():
    sv = steady.get(k, [])
    mark = " <- best" if k == best else ""
    print(f"  {k:62s} {med[k]:12.0f} {f'({min(v):.0f}-{max(v):.0f})':>15s} {st.median(sv) if sv else 0:13.0f} "
          f"{med[k] / med[best]:22.2f}{mark}")
for be in backends:
    k = f"clmnist {be}"
    c = epoch[k]
    print(f"{k} / pytorch best, whole epochs: {med[k] / med[best]:.2f}x "
          f"(extremes {min(c) / max(epoch[best]):.2f}-{max(c) / min(epoch[best]):.2f}); pytorch best: {best}")
    print(f"{k} whole epoch / its bench steady rate: {med[k] / st.median(steady[k]):.2f}")
PY
