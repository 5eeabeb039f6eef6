#!/usr/bin/env bash
# cli_errors.sh: bad input to the clmnist tool gets one clear line on stderr and a non-zero
# exit, never a crash. Usage: cli_errors.sh path/to/clmnist
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0

# expect EXIT-CODE PATTERN -- ARGS...: the command exits with EXIT-CODE and stderr's one line matches PATTERN
expect() {
    local code=$1 pattern=$2
    shift 3
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    local lines
    lines=$(grep -c . "$tmp/err")
    if [ "$got" = "$code" ] && grep -q -- "$pattern" "$tmp/err" && [ "$lines" = 1 ]; then
        pass=$((pass + 1))
    else
        echo "FAIL: clmnist $* -> exit $got (want $code), stderr ($lines lines):" >&2
        cat "$tmp/err" >&2
        fail=$((fail + 1))
    fi
}

expect 2 "unknown command 'fly'" -- fly
expect 2 "unknown command 'trian' (did you mean 'train'?)" -- trian
expect 2 "unknown option '--bogus'" -- train --bogus
expect 2 "\-\-epochs 'x'" -- train --epochs x
expect 2 "\-\-batch '0'" -- train --batch 0
expect 2 "\-\-lr '-1'" -- train --lr -1
expect 2 "\-\-lr ' 0.1'" -- train --lr ' 0.1'
expect 2 "\-\-epochs ' 3'" -- train --epochs ' 3'
expect 2 "\-\-layers '512,,3'" -- train --layers 512,,3
expect 2 "\-\-backend 'gpu'" -- train --backend gpu
expect 2 "\-\-schedule 'warp'" -- train --schedule warp
expect 2 "needs a value" -- train --data
expect 1 "$tmp/none/train-images-idx3-ubyte.*data/fetch mnist" -- train --data "$tmp/none"
expect 2 "clmnist serve: --model FILE is required" -- serve
expect 2 "\-\-port '70000'" -- serve --model m.safetensors --port 70000
expect 2 "\-\-backend 'gpu'" -- serve --model m.safetensors --backend gpu
expect 1 "$tmp/none.safetensors: cannot open" -- serve --model "$tmp/none.safetensors" --backend host

# A forged dataset: truncated image file.
mkdir -p "$tmp/bad"
printf '\0\0\x08\x03\0\0\0\x0a\0\0\0\x1c\0\0\0\x1c' >"$tmp/bad/train-images-idx3-ubyte"
printf '\0\0\x08\x01\0\0\0\x0a0123456789' >"$tmp/bad/train-labels-idx1-ubyte"
cp "$tmp/bad/train-images-idx3-ubyte" "$tmp/bad/t10k-images-idx3-ubyte"
cp "$tmp/bad/train-labels-idx1-ubyte" "$tmp/bad/t10k-labels-idx1-ubyte"
expect 1 "$tmp/bad/train-images-idx3-ubyte: truncated" -- train --data "$tmp/bad" --backend host

# Options are declared once (host/train/options_table.c): an unknown one gets the nearest name,
# PyTorch/Keras spellings and '_' for '-' are accepted, and each command lists only its own.
expect 2 "clmnist train: unknown option '\-\-learing-rate' (did you mean \-\-lr?)" -- train --learing-rate 0.1
expect 2 "unknown option '\-lr' (did you mean \-\-lr?)" -- train -lr 0.1
expect 2 "did you mean \-\-epochs?" -- train --epohcs=3
expect 2 "did you mean \-\-max-epochs?" -- sweep --max-epocs 3
expect 2 "\-\-lr 'x': expected a number between" -- train --learning_rate x
expect 2 "\-\-batch '0'" -- train --batch-size 0
expect 2 "\-\-epochs '0'" -- train --num_epochs 0
expect 2 "\-\-weight-decay '2'" -- train --weight_decay 2
expect 2 "clmnist tune: \-\-lr is not an option here" -- tune --lr 0.1
expect 2 "clmnist doctor: \-\-threads is not an option here" -- doctor --threads 2
expect 2 "\-\-threads '0': expected an integer between 1 and 1024" -- eval --model m --threads 0
expect 2 "\-\-threads '0': expected an integer between 1 and 1024" -- serve --model m --threads 0
expect 2 "\-\-backend 'gpu': expected auto, host or device" -- eval --model m --backend gpu
expect 2 "\-\-resident takes no value" -- train --resident=1
expect 2 "'\-\-b' is ambiguous: " -- train --b 1
expect 2 "unexpected argument 'x'" -- devices x
expect 2 "expected SRC and DEST" -- import a
"$bin" help train >"$tmp/h1" 2>&1
"$bin" train --help >"$tmp/h2" 2>&1
if cmp -s "$tmp/h1" "$tmp/h2" && grep -q "usage: clmnist train" "$tmp/h1"; then pass=$((pass + 1)); else
    echo "FAIL: clmnist help train differs from clmnist train --help" >&2
    fail=$((fail + 1))
fi
"$bin" tune --help >"$tmp/out" 2>&1
if grep -q -- "--batch N" "$tmp/out" && ! grep -E -q -- "^  --(lr|epochs|optimizer|augment|dropout|val|seed|backend) " "$tmp/out"; then
    pass=$((pass + 1))
else
    echo "FAIL: tune --help lists training-only flags (or lacks --batch)" >&2
    fail=$((fail + 1))
fi
"$bin" eval --help >"$tmp/out" 2>&1
if grep -q "IDX directory, CSV or image folder, read as the model's data was" "$tmp/out"; then pass=$((pass + 1)); else
    echo "FAIL: eval --help: --data" >&2
    fail=$((fail + 1))
fi
"$bin" compare --help >"$tmp/out" 2>&1
if grep -q "||dev - host|| / ||host||" "$tmp/out" && ! grep -q "max(|host|, 1e-3)" "$tmp/out"; then
    pass=$((pass + 1))
else
    echo "FAIL: compare --help: the relative L2 difference" >&2
    fail=$((fail + 1))
fi

# Help works for every subcommand.
for cmd in devices train eval predict compare bench tune doctor serve sweep import; do
    if "$bin" "$cmd" --help >"$tmp/out" 2>&1 && grep -q "usage: clmnist $cmd" "$tmp/out"; then
        pass=$((pass + 1))
    else
        echo "FAIL: clmnist $cmd --help" >&2
        fail=$((fail + 1))
    fi
done

# Device selection errors need an OpenCL platform to get past enumeration.
# A tiny valid dataset (two 1x1 images, two classes) gets us to device selection; its test images
# are not its training images (that would be a warning line of its own: dataset_sanity.h).
mkdir -p "$tmp/tiny"
for s in train t10k; do
    printf '\0\0\x08\x03\0\0\0\x02\0\0\0\x01\0\0\0\x01\x10\xf0' >"$tmp/tiny/$s-images-idx3-ubyte"
    printf '\0\0\x08\x01\0\0\0\x02\0\x01' >"$tmp/tiny/$s-labels-idx1-ubyte"
done
printf '\0\0\x08\x03\0\0\0\x02\0\0\0\x01\0\0\0\x01\x11\xf1' >"$tmp/tiny/t10k-images-idx3-ubyte"
# Model files and the commands that read them.
expect 2 "\-\-model FILE is required" -- eval
expect 2 "no IMAGE given" -- predict --model "$tmp/m.safetensors"
expect 2 "\-\-invert 'maybe'" -- predict --model x --invert maybe a.png
expect 2 "\-\-feeds: 'fast'" -- bench --feeds fast
expect 2 "\-\-resume and \-\-init" -- train --resume a --init b
printf '\x40\0\0\0\0\0\0\0{"layers.0.weight"' >"$tmp/cut.safetensors"
expect 1 "$tmp/cut.safetensors: header length 64 runs past the end" -- eval --model "$tmp/cut.safetensors" --data "$tmp/tiny" --backend host
expect 1 "$tmp/none.safetensors: cannot open" -- train --resume "$tmp/none.safetensors" --backend host
expect 1 "$tmp/cut.safetensors: header length" -- train --init "$tmp/cut.safetensors" --data "$tmp/tiny" --backend host

if "$bin" devices 2>/dev/null | grep -q '(default)'; then
    expect 1 "\-\-device 'no-such-device-xyz'" -- train --device no-such-device-xyz --data "$tmp/tiny" --epochs 1 --backend device
    expect 1 "no such device" -- train --device 99 --data "$tmp/tiny" --epochs 1 --backend device
    expect 1 "no such device" -- train --device 99 --data "$tmp/tiny" --epochs 1 # auto: --device means the device backend
    expect 1 "buffer 'parameters' needs .* MiB but the device allows at most" -- train --data "$tmp/tiny" --layers 65536,65536 --batch 1048576 --backend device
fi
expect 2 "\-\-val 5" -- train --data "$tmp/tiny" --val 5 --backend host

# training recipe flags
expect 2 "\-\-optimizer 'rmsprop': expected sgd, momentum, nesterov, adam or adamw" -- train --optimizer rmsprop
expect 2 "\-\-preset 'huge'" -- train --preset huge
expect 2 "\-\-schedule 'linear': expected constant, cosine, step or onecycle" -- train --schedule linear
expect 2 "\-\-augment shift 'x'" -- train --augment shift=x
expect 2 "\-\-augment: unknown transform 'blur'" -- train --augment blur=1
expect 2 "\-\-augment flip '2'" -- train --augment flip=2
expect 2 "\-\-augment 'shift2'" -- train --augment shift2
expect 2 "\-\-augment rotate '400'" -- train --augment rotate=400
expect 2 "\-\-dropout '1'" -- train --dropout 1
expect 2 "\-\-weight-decay '-0.1'" -- train --weight-decay -0.1
expect 2 "\-\-momentum applies to sgd, momentum and nesterov; adam uses \-\-beta1" -- train --optimizer adam --momentum 0.9
expect 2 "\-\-beta2 '1'" -- train --optimizer adam --beta2 1
expect 2 "\-\-patience needs a validation split" -- train --patience 3
expect 2 "\-\-optimizer nesterov needs \-\-momentum greater than 0" -- train --data "$tmp/tiny" --backend host --optimizer nesterov --momentum 0

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
