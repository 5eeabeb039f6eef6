#!/usr/bin/env bash
# cli_no_opencl.sh: --backend auto (the default) and a machine without OpenCL (issue 24, item 5).
# With no OpenCL driver (OCL_ICD_VENDORS an empty folder), train, eval, predict, serve and
# devices work on the host backend; doctor reports the missing OpenCL as a warning and passes when
# the host backend trains; compare and --backend device fail with one line naming the packages
# (and --backend host where there is one). With the drivers this machine has, auto picks the host backend unless there is
# an OpenCL GPU. Usage: cli_no_opencl.sh path/to/clmnist data/mnist
set -u
bin=$1
data=$2
source "$(dirname "$0")/lib.sh"
cd "$tmp" || exit 1
[ -f "$data/train-images-idx3-ubyte" ] || [ -f "$data/train-images-idx3-ubyte.gz" ] || {
    echo "skip: no MNIST in $data"
    exit 77
}
small=(--data "$data" --limit 1000 --layers 32 --epochs 1)
python3 - "$data" <<'PY'
import gzip, os, sys
p = os.path.join(sys.argv[1], "t10k-images-idx3-ubyte")
raw = open(p, "rb").read() if os.path.exists(p) else gzip.open(p + ".gz").read()
open("seven.pgm", "wb").write(b"P5 28 28 255\n" + raw[16:16 + 784])
PY

# 1. auto on this machine: a GPU if `devices` lists one, else the host backend.
"$bin" train "${small[@]}" --out auto.safetensors >auto.txt 2>&1
cat auto.txt
if "$bin" devices 2>/dev/null | grep -q ' GPU '; then want='^backend: device: .*(auto: an OpenCL GPU'; else
    want='^backend: host: .*(auto: no OpenCL'; fi
check "train with no flags picks the backend auto says" grep -q "$want" auto.txt
check "the model file says which backend trained it" test -n "$(meta_of auto.safetensors backend)"

# 2. No OpenCL at all.
mkdir -p empty
unset OCL_ICD_FILENAMES
export OCL_ICD_VENDORS=$tmp/empty
"$bin" devices >dev.txt 2>&1
code=$?
cat dev.txt
check "devices without OpenCL: exit 0, no platforms, the host backend is available" bash -c "[ $code = 0 ] && \
    grep -q 'no OpenCL platforms' dev.txt && grep -q 'host backend is available' dev.txt"
"$bin" train "${small[@]}" --out m.safetensors >train.txt 2>&1
code=$?
check "train without OpenCL trains on the host backend" bash -c "[ $code = 0 ] && \
    grep -q '^backend: host: .*(auto: no OpenCL platform' train.txt && grep -q '^done:' train.txt"
check "eval without OpenCL" bash -c "'$bin' eval --model m.safetensors --data '$data' | grep -q '^test accuracy'"
check "predict without OpenCL" bash -c "'$bin' predict --model m.safetensors seven.pgm | grep -q '^seven.pgm: '"
"$bin" serve --model m.safetensors --port 0 >serve.txt 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'listening on' serve.txt && break; sleep 0.1; done
port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' serve.txt | grep -o '[0-9]*$')
check "serve without OpenCL answers on the host backend" bash -c "[ -n '$port' ] && \
    python3 -c 'import json, sys, urllib.request
info = json.load(urllib.request.urlopen(\"http://127.0.0.1:$port/api/model\"))
sys.exit(0 if info[\"serving\"][\"backend\"] == \"host\" else 1)'"
kill "$pid"
wait "$pid"

# doctor: the missing OpenCL is a finding (warn, with the packages), the host backend trains: exit 0.
"$bin" doctor --data "$data" >doctor.txt 2>&1
code=$?
cat doctor.txt
check "doctor without OpenCL: exit 0, OpenCL a warning naming the packages, the host backend trains" bash -c "\
    [ $code = 0 ] && grep -q '^warn  opencl .*ocl-icd-libopencl1 pocl-opencl-icd' doctor.txt && \
    grep -q '^ok    host train ' doctor.txt && grep -q ', 0 fail' doctor.txt"
# compare, which needs both, says so in one line, naming the packages.
"$bin" compare "${small[@]}" >out.txt 2>err.txt
code=$?
cat err.txt
check "compare without OpenCL: one line, what it compares, the packages" bash -c "[ $code = 1 ] && \
    [ \$(grep -c . err.txt) = 1 ] && grep -q 'compare trains on the OpenCL device and on the host backend' err.txt && \
    grep -q 'ocl-icd-libopencl1 pocl-opencl-icd' err.txt && ! grep -q '^data:' out.txt"

# --backend device explains itself in one line: the packages, and that --backend host works.
for cmd in "train ${small[*]}" "eval --model m.safetensors --data $data" "predict --model m.safetensors seven.pgm" \
    "serve --model m.safetensors --port 0"; do
    # shellcheck disable=SC2086
    "$bin" $cmd --backend device >out.txt 2>err.txt
    code=$?
    check "$cmd --backend device without OpenCL: one line naming the packages" bash -c "[ $code = 1 ] && \
        [ \$(grep -c . err.txt) = 1 ] && grep -q 'ocl-icd-libopencl1' err.txt && \
        grep -q 'pocl-opencl-icd' err.txt && grep -q -- '--backend host' err.txt && ! grep -q '^data:' out.txt"
done
cat err.txt
exit $fail
