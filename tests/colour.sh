#!/bin/bash
# colour.sh: colour data end to end, on a synthetic set written here whose class is the hue of a
# shape at equal luma (scripts/make_hue_set.py, CIFAR-10 binary batches):
#  - a colour model (--channels auto: 3) reaches >= 95% test accuracy, a grey one (--channels 1)
#    stays near chance (< 50% of 3 classes), both on the host backend;
#  - the model records its per-channel normalisation and reloads: eval gives the training figure;
#  - PyTorch rebuilds it from its metadata and gives identical predictions (skipped without torch);
#  - malformed CIFAR batches (truncated, CIFAR-100's record size, a label out of range) fail
#    with one line naming the file.
# usage: colour.sh CLMNIST
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
$py "$here/../scripts/make_hue_set.py" "$tmp/hue" --train 600 --test 150 --seed 3 || exit 1
arch=conv8k3p1-relu-pool2-conv16k3p1-relu-gap-fc3
train() { # train OUT [flags]: prints the final test accuracy
    local out=$1
    shift
    "$bin" train --data "$tmp/hue" --backend host --arch $arch --optimizer adam --lr 0.01 --epochs 3 --batch 32 \
        --seed 5 --out "$out" "$@" >"$out.log" 2>&1 || { cat "$out.log" >&2; echo -1; return; }
    sed -n 's/.*test accuracy: \([0-9.]*\)%.*/\1/p' "$out.log" | tail -1
}
colour=$(train "$tmp/colour.safetensors")
grey=$(train "$tmp/grey.safetensors" --channels 1)
echo "colour model: $colour%, grey model: $grey%"
check "colour model >= 95%" awk -v a="$colour" 'BEGIN { exit !(a >= 95) }'
check "grey model near chance (< 50%)" awk -v a="$grey" 'BEGIN { exit !(a >= 0 && a < 50) }'
check "colour model takes 3x32x32" test "$(meta_of "$tmp/colour.safetensors" input_shape)" = 3x32x32
check "grey model takes 1x32x32" test "$(meta_of "$tmp/grey.safetensors" input_shape)" = 1x32x32
check "per-channel mean recorded" grep -q '^[0-9.e-]*,[0-9.e-]*,[0-9.e-]*$' <<<"$(meta_of "$tmp/colour.safetensors" input_mean)"
"$bin" eval --model "$tmp/colour.safetensors" --backend host --predictions "$tmp/pred.txt" >"$tmp/eval.log" 2>&1
check "eval of the saved colour model gives the training figure" grep -q "test accuracy: $colour%" "$tmp/eval.log"
if $py -c 'import torch' 2>/dev/null; then
    check "PyTorch rebuilds the colour CNN: identical predictions" \
        $py "$here/../scripts/torch_check.py" "$tmp/colour.safetensors" --data "$tmp/hue" --predictions "$tmp/pred.txt"
    # a barely trained one (BatchNorm, crop and flip), whose answers are close calls: any
    # difference in the input's normalisation changes some of them
    weak=$(train "$tmp/weak.safetensors" --arch conv6k3p1-bn-relu-gap-fc3 --epochs 1 --lr 0.01 --limit 300 \
        --augment crop=4,flip=0.5)
    "$bin" eval --model "$tmp/weak.safetensors" --backend host --predictions "$tmp/weak.txt" >/dev/null 2>&1
    echo "barely trained colour model: $weak%"
    check "PyTorch rebuilds a barely trained colour CNN: identical predictions" \
        $py "$here/../scripts/torch_check.py" "$tmp/weak.safetensors" --data "$tmp/hue" --predictions "$tmp/weak.txt"
else
    echo "skip: PyTorch comparison (python3-torch not importable)"
fi
# the same set as a folder of colour PNGs: colour kept (auto), or made grey (--channels 1)
$py "$here/../scripts/make_hue_set.py" "$tmp/huepng" --png --train 600 --test 150 --seed 3 || exit 1
folder_train() { # folder_train OUT [flags]
    local out=$1
    shift
    "$bin" train --data "$tmp/huepng" --backend host --arch $arch --optimizer adam --lr 0.01 --epochs 3 --batch 32 \
        --seed 5 --image-size 32 --out "$out" "$@" >"$out.log" 2>&1 || { cat "$out.log" >&2; echo -1; return; }
    sed -n 's/.*test accuracy: \([0-9.]*\)%.*/\1/p' "$out.log" | tail -1
}
fcolour=$(folder_train "$tmp/fcolour.safetensors")
fgrey=$(folder_train "$tmp/fgrey.safetensors" --channels 1)
echo "PNG folder: colour model $fcolour%, grey model $fgrey%"
check "PNG folder: colour model >= 95%" awk -v a="$fcolour" 'BEGIN { exit !(a >= 95) }'
check "PNG folder: grey model near chance (< 50%)" awk -v a="$fgrey" 'BEGIN { exit !(a >= 0 && a < 50) }'
check "PNG folder: colour model takes 3x32x32" test "$(meta_of "$tmp/fcolour.safetensors" input_shape)" = 3x32x32
# the same batches as a Kaggle-style CSV: label, then 3072 pixels (the three planes in turn)
$py - "$tmp/hue" "$tmp/huecsv" <<'PY'
import os, sys
os.makedirs(sys.argv[2], exist_ok=True)
for src, dst in (("data_batch_1.bin", "train.csv"), ("test_batch.bin", "test.csv")):
    b = open(os.path.join(sys.argv[1], src), "rb").read()
    with open(os.path.join(sys.argv[2], dst), "w") as f:
        f.write("label," + ",".join(f"pixel{i}" for i in range(3072)) + "\n")
        for r in range(len(b) // 3073):
            rec = b[r * 3073:(r + 1) * 3073]
            f.write(",".join(str(v) for v in rec) + "\n")
PY
"$bin" train --data "$tmp/huecsv" --backend host --arch $arch --optimizer adam --lr 0.01 --epochs 3 --batch 32 --seed 5 \
    --out "$tmp/csv.safetensors" >"$tmp/csv.log" 2>&1
csvacc=$(sed -n 's/.*test accuracy: \([0-9.]*\)%.*/\1/p' "$tmp/csv.log" | tail -1)
check "colour CSV: 3x32x32 input" test "$(meta_of "$tmp/csv.safetensors" input_shape)" = 3x32x32
check "colour CSV: the same accuracy as the batches ($csvacc%)" test "$csvacc" = "$colour"
# import writes colour data as IDX files whose image file has 4 dimensions (count, 3, rows, cols)
"$bin" import "$tmp/hue" "$tmp/imported" >/dev/null 2>&1
check "import: a 4-dimensional image file" $py -c 'import gzip, sys; sys.exit(gzip.open(sys.argv[1]).read(4) != b"\0\0\x08\x04")' \
    "$tmp/imported/train-images-idx3-ubyte.gz"
"$bin" train --data "$tmp/imported" --backend host --arch $arch --optimizer adam --lr 0.01 --epochs 3 --batch 32 \
    --seed 5 --out "$tmp/imp.safetensors" >"$tmp/imp.log" 2>&1
impacc=$(sed -n 's/.*test accuracy: \([0-9.]*\)%.*/\1/p' "$tmp/imp.log" | tail -1)
check "imported colour data: 3x32x32 input" test "$(meta_of "$tmp/imp.safetensors" input_shape)" = 3x32x32
check "imported colour data: the same accuracy as the batches ($impacc%)" test "$impacc" = "$colour"
# predict takes colour images for a colour model: the test images of each class, by file
for cls in red green blue; do
    f=$(ls "$tmp/huepng/test/$cls" | head -1)
    out=$("$bin" predict --model "$tmp/fcolour.safetensors" --backend host "$tmp/huepng/test/$cls/$f" 2>&1)
    check "predict: a $cls test image is $cls" grep -q ": $cls (" <<<"$out"
    out=$("$bin" predict --model "$tmp/fcolour.safetensors" --backend host - <"$tmp/huepng/test/$cls/$f" 2>&1)
    check "predict -: the same $cls image on stdin is $cls" grep -q ": $cls (" <<<"$out"
done
# --save-input writes what the colour model saw as an RGB PNG of its input size
f=$(ls "$tmp/huepng/test/red" | head -1)
"$bin" predict --model "$tmp/fcolour.safetensors" --backend host --save-input "$tmp/seen" "$tmp/huepng/test/red/$f" >/dev/null 2>&1
check "predict --save-input: an RGB PNG of 32x32 for a colour model" bash -c \
    "ls '$tmp/seen'/*.png >/dev/null && $py -c \"import struct,sys,glob; b=open(glob.glob('$tmp/seen/*.png')[0],'rb').read(); sys.exit(0 if struct.unpack('>II',b[16:24])==(32,32) and b[25]==2 else 1)\""
# mixed grey and colour images in one folder: auto makes the grey ones RGB and says so in one line
printf 'P5\n32 32\n255\n' >"$tmp/huepng/train/red/grey.pgm"
head -c 1024 /dev/zero | tr '\0' '\100' >>"$tmp/huepng/train/red/grey.pgm"
folder_train "$tmp/mixed.safetensors" --epochs 1 >/dev/null
check "mixed folder: one note line" grep -q "1 grey images among 600 colour ones: made RGB (--channels 1 for grey)" \
    "$tmp/mixed.safetensors.log"
# malformed batches: one line each, naming the file
bad() { # bad NAME EXPECTED: the broken copy in $tmp/NAME fails with EXPECTED
    local out
    out=$("$bin" train --data "$tmp/$1" --backend host --epochs 1 --no-save 2>&1 >/dev/null)
    check "$1: one line: $2" test "$(grep -c . <<<"$out")" = 1
    check "$1: says '$2'" grep -q -- "$2" <<<"$out"
}
mkdir -p "$tmp/trunc" "$tmp/c100" "$tmp/label"
head -c 3000 "$tmp/hue/data_batch_1.bin" >"$tmp/trunc/data_batch_1.bin"
head -c $((3074 * 4)) "$tmp/hue/data_batch_1.bin" >"$tmp/c100/data_batch_1.bin"
$py - "$tmp/hue/data_batch_1.bin" "$tmp/label/data_batch_1.bin" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[3073 * 7] = 12  # record 7's label
open(sys.argv[2], "wb").write(b)
PY
bad trunc "is not a whole number of 3073-byte CIFAR-10 records"
bad c100 "CIFAR-100"
bad label "record 7 has label 12"
exit $fail
