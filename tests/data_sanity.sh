#!/usr/bin/env bash
# data_sanity.sh: train warns, once per run and without failing, about data that is legal but
# almost certainly wrong (dataset_sanity.h): each warning on its own small synthetic IDX dataset
# (tests/idx_data.py), nothing on a sane one or on real MNIST and Fashion-MNIST; eval warns about
# blank test images.
# Usage: data_sanity.sh path/to/clmnist [MNIST_DIR]
set -u
bin=$1 mnist=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/lib.sh" # tmp, fail, check, safetensors readers
tiny=(--backend host --threads 1 --layers 8 --epochs 1 --no-save)

# warns CASE COUNT PATTERN...: training on CASE exits 0 with exactly COUNT warning lines, each
# PATTERN among them (an extended regex after "clmnist: warning: DIR: ")
warns() {
    local case=$1 count=$2
    shift 2
    mkdir -p "$tmp/$case"
    python3 "$here/idx_data.py" "$tmp/$case" "$case" || { echo "FAIL: idx_data.py $case" >&2; fail=1; return; }
    "$bin" train --data "$tmp/$case" "${tiny[@]}" >"$tmp/$case.out" 2>"$tmp/$case.err"
    local code=$? got
    got=$(grep -c '^clmnist: warning: ' "$tmp/$case.err")
    check "$case: exit 0 and $count warning line(s) (got $got)" test "$code" = 0 -a "$got" = "$count"
    for pattern in "$@"; do
        check "$case: warns '$pattern'" grep -qE "^clmnist: warning: $tmp/$case: $pattern" "$tmp/$case.err"
    done
    [ "$got" = "$count" ] || cat "$tmp/$case.err" >&2
}

warns sane 0
warns dup_few 0
warns labels200 2 "the training labels use only 1 of the 201 classes 0-200 " \
    "test labels 0-9 \(10 classes, 200 images\) never occur in the training set"
warns unseen 1 "test labels 5-8 \(4 classes, 80 images\) never occur in the training set"
warns few 1 "the training labels use only 2 of the 10 classes 0-9 "
warns imbalance 1 "class 0 has 420 training images, 21x the 20 of class 1 \(more than 20x: extreme imbalance\)"
warns blank 1 "blank images \(every pixel the same value\): 3 of the 600 training images$"
warns blank_test 1 "blank images \(every pixel the same value\): 1 of the 200 test images$"
warns duplicates 1 "test images that are also training images \(the same bytes\): 40 of 200 \(20.0%\)"
warns same 1 "the test set is the training set \(the same images and labels\)"

# eval: the warnings a test set alone shows
"$bin" train --data "$tmp/sane" --backend host --threads 1 --layers 8 --epochs 1 --out "$tmp/m.safetensors" >/dev/null 2>&1
"$bin" eval --model "$tmp/m.safetensors" --data "$tmp/blank_test" --backend host >"$tmp/eval.out" 2>"$tmp/eval.err"
code=$?
check "eval: exit 0, warns once about the blank test image" bash -c "[ $code = 0 ] && \
    [ \$(grep -c 'clmnist: warning: ' '$tmp/eval.err') = 1 ] && grep -q 'blank images .*: 1 of the 200 test images' '$tmp/eval.err'"
"$bin" eval --model "$tmp/m.safetensors" --data "$tmp/sane" --backend host >"$tmp/eval.out" 2>"$tmp/eval.err"
check "eval on sane data: no warning" bash -c "[ $? = 0 ] && ! grep -q 'warning' '$tmp/eval.err'"

# real data: no warning (MNIST and Fashion-MNIST have no blank image and no test image that is a
# training image)
for data in "$mnist" "${mnist%/*}/fashion"; do
    [ -n "$data" ] && { [ -e "$data/t10k-images-idx3-ubyte" ] || [ -e "$data/t10k-images-idx3-ubyte.gz" ]; } || {
        echo "skip: no dataset at '$data'"
        continue
    }
    "$bin" train --data "$data" "${tiny[@]}" >"$tmp/real.out" 2>"$tmp/real.err"
    check "$data: exit 0, no warning" bash -c "[ $? = 0 ] && ! grep -q 'warning' '$tmp/real.err'"
done
exit $fail
