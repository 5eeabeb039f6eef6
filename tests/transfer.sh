#!/usr/bin/env bash
# transfer.sh: fine-tuning from the command line (README, "Transfer learning"). A CNN trained on
# a 10-class set (tests/idx_data.py) moves to a 26-class one: its head is replaced and said so,
# --freeze keeps the named layers' tensors byte for byte and their BatchNorm statistics, the
# other layers change, the model file records its source (with SHA-256), frozen layers, head and
# dataset; a frozen run stopped and resumed ends bitwise where an uninterrupted one does;
# --reset-head; every misuse gets one line and a non-zero exit.
# Usage: transfer.sh path/to/clmnist
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh" # tmp, fail, check, safetensors readers
for d in ten letters mirror; do mkdir -p "$tmp/$d"; done
python3 "$here/idx_data.py" "$tmp/ten" sane && python3 "$here/idx_data.py" "$tmp/letters" classes26 &&
    python3 "$here/idx_data.py" "$tmp/mirror" mirror || { echo "FAIL: idx_data.py" >&2; exit 1; }
net=conv4k3p1-bn-relu-pool2-flatten-fc16-bn-relu-fc10 # layers 0-8; the head is layer 8
run=(--backend host --threads 1 --optimizer adam --lr 0.01 --epochs 2)
m() { echo "$tmp/$1.safetensors"; }
"$bin" train --data "$tmp/ten" "${run[@]}" --arch $net --out "$(m base)" >"$tmp/base.out" 2>&1 ||
    { cat "$tmp/base.out"; exit 1; }
# ft NAME DATA FLAGS...: fine-tunes base into NAME
ft() {
    local name=$1 data=$2
    shift 2
    "$bin" train --data "$tmp/$data" "${run[@]}" --init "$(m base)" --out "$(m "$name")" "$@" >"$tmp/$name.out" 2>&1
}

check "10 to 26 classes: fine-tunes" ft frozen letters --freeze 0-5
check "the head replacement is said" grep -q "^init: 26 classes here, 10 in .*base.safetensors: its head (layer 8, Linear) is replaced" "$tmp/frozen.out"
check "the frozen layers are said" grep -q "^init: layers 0-5 frozen (" "$tmp/frozen.out"
check "the head has 26 outputs" test "$(shape "$(m frozen)" layers.8.weight)" = "26,16"
frozen_t="layers.0.weight layers.1.weight layers.1.bias layers.1.running_mean layers.1.running_var layers.5.weight
 layers.5.bias"
check "frozen tensors and statistics: byte for byte the base's" tensor_cmp "$(m base)" "$(m frozen)" $frozen_t
for t in layers.6.weight layers.6.bias layers.6.running_mean layers.6.running_var; do
    tensor_cmp "$(m base)" "$(m frozen)" $t
    check "$t (not frozen) changed" test $? = 1
done
check "metadata: source" test "$(meta_of "$(m frozen)" finetune.source)" = "$(m base)"
check "metadata: source SHA-256" test "$(meta_of "$(m frozen)" finetune.source_sha256)" = "$(sha256sum "$(m base)" | cut -c1-64)"
check "metadata: frozen layers" test "$(meta_of "$(m frozen)" finetune.frozen)" = "0-5"
check "metadata: head" test "$(meta_of "$(m frozen)" finetune.head)" = "replaced: 10 to 26 classes"
check "metadata: dataset" test "$(meta_of "$(m frozen)" finetune.dataset)" = "letters"
"$bin" eval --model "$(m frozen)" --data "$tmp/letters" --backend host >"$tmp/eval.out" 2>&1
check "eval reads the fine-tuned model: the accuracy the run reported" grep -q "^test accuracy: $(sed -n 's/^done: .*test accuracy: //p' "$tmp/frozen.out")$" "$tmp/eval.out"

# Stopped after epoch 1 and resumed: the same bits as the run above.
ft part letters --freeze 0-5 --stop-after 1 --checkpoint-every 1 --checkpoint "$(m ckpt)"
check "a frozen run's checkpoint" grep -q "continue with --resume" "$tmp/part.out"
"$bin" train --data "$tmp/letters" --backend host --threads 1 --resume "$(m ckpt)" --out "$(m resumed)" >"$tmp/resumed.out" 2>&1
check "resumed: bitwise the uninterrupted run" same_tensors "$(m frozen)" "$(m resumed)"
check "resumed: keeps the finetune metadata" test "$(meta_of "$(m resumed)" finetune.frozen)" = "0-5"

# Same classes: the head is kept; --reset-head gives it new weights.
check "same classes: fine-tunes" ft kept mirror --freeze 0-7 --epochs 1 --lr 1e-9
check "same classes: no replacement said" bash -c "! grep -q 'is replaced' '$tmp/kept.out'"
check "same classes: metadata head kept" test "$(meta_of "$(m kept)" finetune.head)" = "kept"
check "--reset-head: fine-tunes" ft reset mirror --freeze 0-7 --reset-head --epochs 1 --lr 1e-9
check "--reset-head is said" grep -q "starts from new weights (--reset-head)" "$tmp/reset.out"
tensor_cmp "$(m kept)" "$(m reset)" layers.8.weight
check "--reset-head: a different head" test $? = 1

# Misuse: one line, non-zero exit.
expect_error() { # expect_error DESCRIPTION MESSAGE ARGS...
    local what=$1 msg=$2
    shift 2
    "$bin" train "${run[@]}" --no-save "$@" >"$tmp/err.out" 2>"$tmp/err.err"
    local code=$?
    check "$what: non-zero exit" test $code != 0
    check "$what: one line" test "$(wc -l <"$tmp/err.err")" = 1
    check "$what: says '$msg'" grep -qF -e "$msg" "$tmp/err.err"
}
expect_error "--freeze without --init" "--freeze applies to --init FILE" --data "$tmp/ten" --freeze 0-3
expect_error "--reset-head without --init" "--reset-head applies to --init FILE" --data "$tmp/ten" --reset-head
expect_error "a layer past the end" "--freeze 0-12: layer 12: the model has 9 layers (0-8)" --data "$tmp/letters" --init "$(m base)" --freeze 0-12
expect_error "a bad item" "--freeze 2,x: 'x' is not a layer index or range" --data "$tmp/letters" --init "$(m base)" --freeze 2,x
expect_error "everything frozen" "freezes every layer with parameters; nothing would train" --data "$tmp/letters" --init "$(m base)" --freeze 0-8
python3 - "$tmp/big" <<'PY' # 16x16 images: layers.5 (the Linear after Flatten) no longer fits
import os, random, struct, sys
os.makedirs(sys.argv[1], exist_ok=True)
rng = random.Random(3)
for stem, n in (("train", 40), ("t10k", 10)):
    pixels = bytes(rng.randrange(256) for _ in range(n * 256))
    open(f"{sys.argv[1]}/{stem}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, n, 16, 16) + pixels)
    open(f"{sys.argv[1]}/{stem}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
PY
expect_error "another image size" "tensor layers.5.weight has shape (16, 144); this data needs (16, 256)" --data "$tmp/big" --init "$(m base)"
exit $fail
