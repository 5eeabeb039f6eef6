#!/usr/bin/env bash
# scripts/results.sh: reproduces a row of the docs/RESULTS.md table. Trains with the given
# options once per seed (--no-save), then prints the test accuracy of each run and one
# Markdown row: mean and spread (sample standard deviation, min-max) of the test accuracy,
# the mean training time (the "done: ... in X s" of each run, data loading and evaluation not
# included) and the device.
# Usage: scripts/results.sh LABEL "SEEDS" clmnist-train-options...
#   scripts/results.sh "MNIST fast" "1 2 3" --data data/mnist --preset fast
set -euo pipefail
label=$1 seeds=$2
shift 2
bin=${CLMNIST_BIN:-build/clmnist}
accs=() times=() device=""
for s in $seeds; do
    out=$(CLMNIST_NO_PROGRESS=1 "$bin" train "$@" --seed "$s" --no-save)
    line=$(grep '^done:' <<<"$out")
    acc=$(grep -o 'test accuracy: [0-9.]*' <<<"$line" | grep -o '[0-9.]*$')
    secs=$(grep -o 'epochs in [0-9.]* s' <<<"$line" | grep -o '[0-9.]* s' | grep -o '[0-9.]*')
    epochs=$(grep -o ', [0-9]* epochs in' <<<"$line" | grep -o '[0-9]*')
    device=$(sed -n 's/^backend: \([a-z]*\): \(.*\) (ready in.*/\1: \2/p' <<<"$out")
    if grep -q '^GEMM: tuned' <<<"$out"; then device="$device, tuned GEMM (clmnist tune)"; fi
    echo "seed $s: test accuracy $acc%, $epochs epochs in $secs s" >&2
    accs+=("$acc") times+=("$secs")
done
python3 - "$label" "$epochs" "$device" "$*" "${accs[*]}" "${times[*]}" <<'PY'
import statistics as st, sys
label, epochs, device, opts = sys.argv[1:5]
accs = [float(x) for x in sys.argv[5].split()]
times = [float(x) for x in sys.argv[6].split()]
sd = st.stdev(accs) if len(accs) > 1 else 0.0
print(f"| {label} | `{opts}` | {epochs} | {st.mean(accs):.2f}% ± {sd:.2f} ({min(accs):.2f}–{max(accs):.2f}) "
      f"| {len(accs)} | {st.mean(times):.0f} s | {device} |")
PY
