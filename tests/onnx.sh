#!/usr/bin/env bash
# onnx.sh: ONNX export and import (host/io/onnx_*.c, docs/models.md).
#  1. Three models trained briefly on the host backend (an MLP, the `cnn` preset, a network with
#     BatchNorm1d and dropout) are exported; each file passes onnx.checker.check_model(full_check)
#     (Debian's python3-onnx), and ONNX Runtime (npm onnxruntime-node, tests/onnx/) gives the same
#     class as `clmnist eval` for all 10,000 MNIST test images, with every logit within 1e-4 of
#     clmnist's (onnx_logits). The .onnx file evaluates as the safetensors file did, and exporting
#     it again gives the same tensors bit for bit.
#  2. A PyTorch nn.Sequential (conv, BN, pool, flatten, linear; seeded weights) exported by
#     torch.onnx.export: `eval --model` gives PyTorch's class for every test image; `train --init`
#     from it with --freeze trains, keeps the frozen weights bit for bit and saves.
#  3. Unsupported graphs (dilated, grouped, asymmetric conv, LeakyRelu, an Add of two branches, a
#     weight that is a graph input) and truncated or forged files: one line each, exit status 1.
# Skips (77) without MNIST or python3-onnx/numpy; without PyTorch, Node or onnxruntime-node it
# runs the rest and then skips, saying what was left out.
# usage: onnx.sh CLMNIST ONNX_LOGITS MNIST_DIR
set -u
clmnist=$1 logits=$2 data=$3
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "skip: $*"; exit 77; }
[ -e "$data/t10k-images-idx3-ubyte" ] || [ -e "$data/t10k-images-idx3-ubyte.gz" ] || skip "MNIST not in $data"
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
$py -c 'import onnx, numpy' 2>/dev/null || skip "$py cannot import onnx and numpy (apt-get install python3-onnx python3-numpy)"
if "$clmnist" export 2>&1 | grep -q "built without ONNX"; then skip "clmnist was built without ONNX support"; fi
. "$here/lib.sh" # tmp, fail, check
helper() { $py "$here/onnx/onnx_tests.py" "$@"; }
images=$data/t10k-images-idx3-ubyte
[ -e "$images" ] || images=$images.gz
missing=()
ort=1
command -v node >/dev/null || { ort=0; missing+=("node (apt-get install nodejs)"); }
[ -d "$here/onnx/node_modules/onnxruntime-node" ] || {
    ort=0
    missing+=("onnxruntime-node (npm ci --ignore-scripts --prefix tests/onnx)")
}
train=("$clmnist" train --backend host --threads 2 --data "$data" --limit 2000 --epochs 1 --seed 7)
# one_line LOG: the log is exactly one line, clmnist's error
one_line() { [ "$(wc -l <"$1")" = 1 ] && grep -q '^clmnist: error: ' "$1"; }

# ---- 1. export: checker, ONNX Runtime against clmnist, import, export again ---------------------
specs=("mlp --layers 128" "cnn --preset cnn" "bn_drop --arch flatten-fc128-bn-relu-drop0.3-fc64-relu-drop0.2-fc10"
    "gap --arch conv8k3p1-bn-relu-pool2-conv16k3p1-relu-gap-fc10")
# the sanitizer pass (.ci/run) leaves out the cnn preset, slow there; a small CNN keeps every layer type
[ -z "${CLMNIST_SANITIZER_PASS:-}" ] || specs[1]="cnn --arch conv4k5-bn-relu-pool2-flatten-fc10"
for spec in "${specs[@]}"; do
    set -- $spec
    name=$1
    shift
    m=$tmp/$name
    "${train[@]}" "$@" --out "$m.safetensors" >"$m.train.log" 2>&1 || { cat "$m.train.log"; fail=1; continue; }
    check "$name: export" "$clmnist" export "$m.safetensors" "$m.onnx"
    check "$name: onnx.checker (full_check), one input, logits and probabilities, metadata" helper check "$m.onnx"
    "$clmnist" eval --backend host --data "$data" --model "$m.safetensors" --predictions "$m.pred" >"$m.eval" 2>&1
    "$clmnist" eval --backend host --data "$data" --model "$m.onnx" --predictions "$m.onnx.pred" >"$m.onnx.eval" 2>&1
    check "$name: eval --model $name.onnx gives the safetensors file's 10000 predictions" cmp -s "$m.pred" "$m.onnx.pred"
    "$logits" "$m.safetensors" "$data" "$m.clmnist.f32" >/dev/null
    if [ $ort = 1 ]; then
        check "$name: ONNX Runtime runs it (probabilities = softmax(logits))" \
            node "$here/onnx/ort_run.js" "$m.onnx" "$images" "$m.ort.f32"
        check "$name: ONNX Runtime: eval's class for every test image, logits within 1e-4" \
            helper compare "$m.ort.f32" "$m.clmnist.f32" 10 "$m.pred"
    fi
    check "$name: export, import, export: the same tensors bit for bit" bash -c \
        "'$clmnist' export '$m.onnx' '$m.again.onnx' >/dev/null && $py '$here/onnx/onnx_tests.py' same-tensors '$m.onnx' '$m.again.onnx'"
done

# ---- 1b. a colour network (3 channels, per-channel normalisation in the graph) -----------------
# the hue set of tests/colour.sh, imported as IDX (4-dimensional image files) so that ort_run.js
# reads its test images as clmnist does
c=$tmp/colour
if $py "$here/../scripts/make_hue_set.py" "$c.src" --train 300 --test 100 --seed 5 >/dev/null &&
    "$clmnist" import "$c.src" "$c.idx" >/dev/null 2>&1; then
    "$clmnist" train --backend host --threads 2 --data "$c.idx" --epochs 2 --seed 7 \
        --arch conv8k3p1-bn-relu-pool2-gap-fc3 --out "$c.safetensors" >"$c.train.log" 2>&1 || cat "$c.train.log"
    check "colour: the model takes 3 channels and normalises them" bash -c \
        "[ '$(meta_of "$c.safetensors" input_shape 2>/dev/null)' = 3x32x32 ] && [ -n '$(meta_of "$c.safetensors" input_std 2>/dev/null)' ]"
    check "colour: export" "$clmnist" export "$c.safetensors" "$c.onnx"
    check "colour: onnx.checker (full_check)" helper check "$c.onnx"
    "$clmnist" eval --backend host --data "$c.idx" --model "$c.safetensors" --predictions "$c.pred" >/dev/null 2>&1
    "$clmnist" eval --backend host --data "$c.idx" --model "$c.onnx" --predictions "$c.onnx.pred" >/dev/null 2>&1
    check "colour: eval --model colour.onnx gives the safetensors file's predictions" cmp -s "$c.pred" "$c.onnx.pred"
    "$logits" "$c.safetensors" "$c.idx" "$c.clmnist.f32" >/dev/null
    if [ $ort = 1 ]; then
        check "colour: ONNX Runtime runs it" node "$here/onnx/ort_run.js" "$c.onnx" "$c.idx/t10k-images-idx3-ubyte.gz" "$c.ort.f32"
        check "colour: ONNX Runtime: eval's class for every test image, logits within 1e-4" \
            helper compare "$c.ort.f32" "$c.clmnist.f32" 3 "$c.pred"
    fi
    check "colour: export, import, export: the same tensors bit for bit" bash -c \
        "'$clmnist' export '$c.onnx' '$c.again.onnx' >/dev/null && $py '$here/onnx/onnx_tests.py' same-tensors '$c.onnx' '$c.again.onnx'"
else
    check "colour: the synthetic hue set is made and imported" false
fi

# ---- 2. a PyTorch model in: eval, fine-tuning ---------------------------------------------------
if $py -c 'import torch' 2>/dev/null; then
    t=$tmp/torch
    check "torch.onnx.export of a seeded nn.Sequential" helper torch "$t.onnx" "$images" "$t.pred" "$t.f32"
    "$clmnist" eval --backend host --data "$data" --model "$t.onnx" --predictions "$t.clmnist.pred" >"$t.eval" 2>&1
    check "eval --model torch.onnx: PyTorch's class for all 10000 test images" cmp -s "$t.pred" "$t.clmnist.pred"
    "$logits" "$t.onnx" "$data" "$t.clmnist.f32" >/dev/null
    check "eval --model torch.onnx: logits within 1e-4 of PyTorch's" helper compare "$t.clmnist.f32" "$t.f32" 10 "$t.pred"
    "${train[@]}" --init "$t.onnx" --freeze 0-3 --out "$t.ft.safetensors" >"$t.ft.log" 2>&1
    check "train --init torch.onnx --freeze 0-3 trains and saves" bash -c \
        "grep -q 'test accuracy' '$t.ft.log' && [ -s '$t.ft.safetensors' ] && [ '$(meta_of "$t.ft.safetensors" finetune.frozen 2>/dev/null)' = 0-3 ]"
    check "the frozen convolutions keep PyTorch's weights bit for bit" helper frozen "$t.ft.safetensors" "$t.onnx" 0 3
    check "the layers after them trained (layers.8.weight changed)" bash -c "! $py '$here/onnx/onnx_tests.py' frozen '$t.ft.safetensors' '$t.onnx' 8 >/dev/null"
    "${train[@]}" --init "$t.onnx" --freeze 0-7 --reset-head --out "$t.head.safetensors" >"$t.head.log" 2>&1
    check "train --init torch.onnx --freeze 0-7 --reset-head trains and saves" grep -q 'test accuracy' "$t.head.log"
else
    missing+=("python3-torch (the PyTorch import)")
fi

# ---- 3. unsupported graphs, truncated and forged files -----------------------------------------
helper unsupported "$tmp/un" >/dev/null
for want in "dilated:conv_dilated.*dilated" "grouped:conv_grouped.*group" "asymmetric:conv_asym.*asymmetric" \
    "leakyrelu:'leaky' (LeakyRelu).*not supported" "branch:'join' (Add).*branch" "weight_input:conv_w.*not a constant"; do
    f=$tmp/un/${want%%:*}.onnx
    "$clmnist" eval --backend host --data "$data" --model "$f" >"$f.log" 2>&1
    rc=$?
    check "${want%%:*}: exit 1 and one line naming the node ($(cat "$f.log"))" \
        bash -c "[ $rc = 1 ] && grep -q \"${want#*:}\" '$f.log' && [ \$(wc -l <'$f.log') = 1 ]"
done
helper forged "$tmp/cnn.onnx" "$tmp/fg" >/dev/null
for f in "$tmp"/fg/*.onnx; do
    "$clmnist" eval --backend host --data "$data" --model "$f" >"$f.log" 2>&1
    rc=$?
    check "$(basename "$f"): exit 1 and one line ($(cat "$f.log"))" bash -c "[ $rc = 1 ] && grep -q '^clmnist: error: ' '$f.log' && [ \$(wc -l <'$f.log') = 1 ]"
done

[ $fail = 0 ] || exit 1
[ ${#missing[@]} = 0 ] || skip "everything else passed; left out for lack of: ${missing[*]}"
echo "onnx: all checks passed"
