#!/usr/bin/env bash
# own_data.sh: --data beyond MNIST's IDX files (README, "Your own data"). The same 400 images
# (from MNIST, tests/own_data.py) as an image folder, as CSV and as IDX train to bitwise the same
# parameters (host backend, one seed); `import` round-trips a folder to IDX; EMNIST's files are
# transposed and named by their mapping, KMNIST's by its ten names; class names reach eval and
# predict; each bad input gets its one line.
# Usage: own_data.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 mnist=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -e "$mnist/train-images-idx3-ubyte" ] && [ ! -e "$mnist/train-images-idx3-ubyte.gz" ]; then
    echo "MNIST not in $mnist; run data/fetch mnist"
    exit 77
fi
. "$(dirname "$0")/lib.sh" # tmp, fail, check, safetensors readers
python3 "$here/own_data.py" "$mnist" "$tmp" || { echo "FAIL: own_data.py" >&2; exit 1; }
tiny=(--backend host --layers 32 --epochs 2 --threads 1)

# train NAME DATA [FLAGS...]: trains into $tmp/NAME.safetensors, output in $tmp/NAME.out/.err
train() {
    local name=$1 data=$2
    shift 2
    "$bin" train --data "$data" "${tiny[@]}" --out "$tmp/$name.safetensors" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local code=$?
    [ $code = 0 ] || { echo "train $name: exit $code" >&2; cat "$tmp/$name.err" >&2; }
    return $code
}
# same_params A B / meta NAME KEY: lib.sh's same_tensors and meta_of on $tmp/NAME.safetensors
same_params() { same_tensors "$tmp/$1.safetensors" "$tmp/$2.safetensors"; }
meta() { meta_of "$tmp/$1.safetensors" "$2"; }
differ() { ! same_params "$@"; }
acc() { grep -o 'test accuracy: [0-9.]*%' "$tmp/$1.out"; }
words='["eight","five","four","nine","one","seven","six","three","two","zero"]'

# ---- the same images in three layouts -> the same model --------------------------------------
check "folder trains" train folder "$tmp/folder"
check "IDX trains" train idx "$tmp/idx"
check "CSV trains" train csv "$tmp/csv"
check "folder: 300 training, 100 test images of 28x28, 10 classes" \
    grep -q "data: $tmp/folder: 300 training, 100 test images of 28x28, 10 classes" "$tmp/folder.out"
check "folder and IDX: the same parameters, bitwise" same_params folder idx
check "CSV and IDX: the same parameters, bitwise" same_params csv idx
check "folder, IDX, CSV: the same accuracy" test "$(acc folder)" = "$(acc idx)" -a "$(acc csv)" = "$(acc idx)"
check "folder: class names (the folder names) in the model" test "$(meta folder class_names)" = "$words"
check "IDX: classes.txt read into the model" test "$(meta idx class_names)" = "$words"

# ---- import: folder -> IDX (gzip, raw) -> the same model ---------------------------------------
"$bin" import "$tmp/folder" "$tmp/imported" >"$tmp/import.out" 2>&1
check "import: exit 0, standard gzip names, classes.txt and classes.json" bash -c "[ $? = 0 ] && \
    [ -s '$tmp/imported/train-images-idx3-ubyte.gz' ] && [ -s '$tmp/imported/t10k-labels-idx1-ubyte.gz' ] && \
    [ \"\$(head -1 '$tmp/imported/classes.txt')\" = eight ] && grep -q '\"zero\"' '$tmp/imported/classes.json'"
check "import: the same images as own_data.py's IDX" bash -c "cmp -s <(gzip -dc '$tmp/imported/train-images-idx3-ubyte.gz') \
    '$tmp/idx/train-images-idx3-ubyte' && cmp -s <(gzip -dc '$tmp/imported/t10k-labels-idx1-ubyte.gz') '$tmp/idx/t10k-labels-idx1-ubyte'"
check "imported IDX trains" train imported "$tmp/imported"
check "imported IDX and folder: the same parameters" same_params imported folder
"$bin" import --raw "$tmp/csv" "$tmp/imported_raw" >/dev/null 2>&1
check "import --raw: uncompressed files equal to the IDX" cmp -s "$tmp/imported_raw/train-images-idx3-ubyte" \
    "$tmp/idx/train-images-idx3-ubyte"
check "import --help" bash -c "'$bin' import --help | grep -q 'usage: clmnist import'"

# ---- EMNIST and KMNIST -----------------------------------------------------------------------
check "EMNIST files train" train emnist "$tmp/emnist"
check "the original (untransposed) images train" train plain "$tmp/plain"
check "EMNIST: transposed (auto), said once" grep -q "emnist-x-\*): images transposed" "$tmp/emnist.err"
check "EMNIST transposed back: the same parameters as the original images" same_params emnist plain
check "EMNIST: the mapping names the classes" test "$(meta emnist class_names)" = '["a","b","c","d","e","f","g","h","i","j"]'
train emnist_raw "$tmp/emnist" --transpose no
check "--transpose no: not the original images" differ emnist_raw plain
train transposed "$tmp/plain" --transpose yes
check "--transpose yes on IDX: the EMNIST files' images" same_params transposed emnist_raw
mkdir "$tmp/kmnist"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do cp "$tmp/plain/$f" "$tmp/kmnist/kmnist-$f"; done
for f in images-idx3-ubyte labels-idx1-ubyte; do cp "$tmp/plain/t10k-$f" "$tmp/kmnist/kmnist-test-$f"; done
check "KMNIST files train" train kmnist "$tmp/kmnist"
check "KMNIST: its ten class names" test "$(meta kmnist class_names)" = '["o","ki","su","tsu","na","ha","ma","ya","re","wo"]'

# ---- class names reach predict and eval -------------------------------------------------------
python3 -c "import sys; d = open('$tmp/plain/t10k-images-idx3-ubyte', 'rb').read()[16:16 + 784]
open('$tmp/seven.pgm', 'wb').write(b'P5\n28 28\n255\n' + d)"
"$bin" predict --model "$tmp/folder.safetensors" --backend host "$tmp/seven.pgm" >"$tmp/predict.out" 2>&1
check "predict prints the class name" grep -qE "seven.pgm: [a-z]+ \([0-9.]+%\)  top-3: [a-z]+ " "$tmp/predict.out"
# predict brings an image to the model as its training images were made: a folder model's by a
# plain resize (here none: 28x28 already), so its answers on the test files are eval's, one by one
check "folder model: input_preprocess resize" test "$(meta folder input_preprocess)" = resize
check "IDX model: input_preprocess mnist" test "$(meta idx input_preprocess)" = mnist
"$bin" eval --model "$tmp/folder.safetensors" --data "$tmp/folder" --backend host --predictions "$tmp/eval.pred" >/dev/null 2>&1
"$bin" predict --model "$tmp/folder.safetensors" --backend host --json "$tmp"/folder/test/*/* 2>/dev/null |
    python3 -c 'import json, sys; print("\n".join(str(p["class"]) for p in json.load(sys.stdin)))' >"$tmp/predict.pred"
check "predict on the 100 test files: eval's predictions, file by file" \
    bash -c "[ \$(wc -l <'$tmp/predict.pred') = 100 ] && cmp -s '$tmp/predict.pred' '$tmp/eval.pred'"
"$bin" eval --model "$tmp/folder.safetensors" --data "$tmp/folder" --backend host >"$tmp/eval.out" 2>&1
check "eval on the folder: its accuracy, rows named by class" bash -c "grep -q '$(acc folder)' '$tmp/eval.out' && \
    grep -qE '^ +zero +[0-9]' '$tmp/eval.out'"

# ---- no test split: a seeded, stated hold-out --------------------------------------------------
mkdir "$tmp/flat" && cp -r "$tmp/folder/train/." "$tmp/flat/"
check "flat folder trains" train flat "$tmp/flat" --test-fraction 0.2
check "flat folder: 60 of 300 held out, said so" grep -q "no test split: 60 of the 300 images (--test-fraction 0.2, seed 42) held out" "$tmp/flat.err"
train flat2 "$tmp/flat" --test-fraction 0.2
check "flat folder: the same seed, the same model" same_params flat flat2
for seed in 42 7; do "$bin" import --raw --test-fraction 0.2 --seed $seed "$tmp/flat" "$tmp/flat_$seed" >/dev/null 2>&1; done
check "flat folder: import holds out the same split (seed 42)" train flat_imp "$tmp/flat_42"
check "flat folder: the imported split trains to the same model" same_params flat flat_imp
# the data options are run options: a checkpoint restores them (here the hold-out and the size)
train flat16 "$tmp/flat" --test-fraction 0.3 --image-size 16
train flat16_part "$tmp/flat" --test-fraction 0.3 --image-size 16 --stop-after 1 --checkpoint-every 1 \
    --checkpoint "$tmp/flat16.ckpt"
"$bin" train --data "$tmp/flat" --backend host --threads 1 --resume "$tmp/flat16.ckpt" --out "$tmp/flat16_resumed.safetensors" >/dev/null 2>&1
check "resumed without the data flags: the checkpoint's --image-size and --test-fraction, bitwise the same model" \
    same_params flat16 flat16_resumed
check "flat folder: another --seed, another hold-out" bash -c "! cmp -s '$tmp/flat_42/t10k-images-idx3-ubyte' '$tmp/flat_7/t10k-images-idx3-ubyte'"
check "a CSV file path trains (10% held out)" train csvfile "$tmp/csv/train.csv"
check "CSV file: 30 of 300 held out" grep -q "30 of the 300 images" "$tmp/csvfile.err"

# ---- bad input: one line each ----------------------------------------------------------------
# expect CODE PATTERN DATA [FLAGS]: train exits CODE with PATTERN (extended regex) in its stderr
expect() {
    local code=$1 pattern=$2 data=$3
    shift 3
    "$bin" train --data "$data" "${tiny[@]}" --no-save "$@" >"$tmp/x.out" 2>"$tmp/x.err"
    local got=$?
    check "$(basename "$data"): exit $code, '$pattern'" bash -c "[ $got = $code ] && grep -qE -- \"\$1\" '$tmp/x.err'" _ "$pattern"
    [ $got = $code ] && grep -qE -- "$pattern" "$tmp/x.err" || cat "$tmp/x.err" >&2
}
copy() { rm -rf "$tmp/$1" && cp -r "$tmp/$2" "$tmp/$1"; }
copy bad_image folder
printf '\x89PNG\r\n\x1a\nbroken' >"$tmp/bad_image/train/six/broken.png"
printf 'P5\n28 28\n255\nshort' >"$tmp/bad_image/train/two/cut.pgm"
echo notes >"$tmp/bad_image/train/two/notes.txt"
expect 0 "warning: $tmp/bad_image/train: 2 unreadable images skipped: six/broken.png, two/cut.pgm; the first: .*broken.png" "$tmp/bad_image"
check "bad_image: the 300 good images, not the 2 bad ones" grep -q "bad_image: 300 training" "$tmp/x.out"
check "bad_image: the non-image file counted" grep -q "1 files without an image extension skipped: two/notes.txt" "$tmp/x.err"
copy bad_size folder
python3 -c "open('$tmp/bad_size/train/one/big.pgm', 'wb').write(b'P5\n40 36\n255\n' + bytes(range(256)) * 6 + bytes(1440 - 1536 % 1440))" 2>/dev/null ||
    python3 -c "open('$tmp/bad_size/train/one/big.pgm', 'wb').write(b'P5\n40 36\n255\n' + bytes(1440))"
expect 0 "note: $tmp/bad_size/train: 1 images \(40x36 to 40x36\) were not 28x28: resized" "$tmp/bad_size"
copy bad_empty folder
mkdir "$tmp/bad_empty/train/ten"
expect 1 "$tmp/bad_empty/train/ten: empty class folder" "$tmp/bad_empty"
copy bad_testclass folder
mkdir "$tmp/bad_testclass/test/eleven" && cp "$tmp/seven.pgm" "$tmp/bad_testclass/test/eleven/"
expect 1 "$tmp/bad_testclass/test/eleven: class 'eleven' is not one of the 10 training classes" "$tmp/bad_testclass"
mkdir "$tmp/bad_csv"
badcsv() { # badcsv SED-EXPRESSION: train.csv with line 3 edited
    sed "3$1" "$tmp/csv/train.csv" >"$tmp/bad_csv/train.csv"
}
badcsv 's/^\([0-9]*\),\([0-9]*\),\([0-9]*\),/\1,\2,x,/'
expect 1 "$tmp/bad_csv/train.csv:3: column 3 \(pixel1\): 'x' is not a whole number" "$tmp/bad_csv"
badcsv 's/,0$//'
expect 1 "$tmp/bad_csv/train.csv:3: 784 cells, but the first line has 785 \(a ragged row\)" "$tmp/bad_csv"
badcsv 's/^\([0-9]*\),[0-9]*,/\1,256,/'
expect 1 "$tmp/bad_csv/train.csv:3: column 2 \(pixel0\): 256 is outside 0..255" "$tmp/bad_csv"
cp "$tmp/csv/train.csv" "$tmp/bad_csv/train.csv"
cut -d, -f2- "$tmp/csv/test.csv" | sed '1s/^/x/;1s/^x//' >"$tmp/bad_csv/test.csv"
expect 0 "note: $tmp/bad_csv/test.csv: no label column \(for predictions only\): not used" "$tmp/bad_csv"
check "unlabelled test.csv: 10% of train.csv held out instead" grep -q "30 of the 300 images" "$tmp/x.err"
copy bad_mapping emnist
echo "10 x" >>"$tmp/bad_mapping/emnist-x-mapping.txt"
expect 1 "$tmp/bad_mapping/emnist-x-mapping.txt:11: expected 'label code'" "$tmp/bad_mapping"
mkdir "$tmp/nothing"
expect 1 "$tmp/nothing: no dataset found: looked for IDX files .*CSV .*image folder" "$tmp/nothing"
expect 2 "\-\-preprocess mnist makes 28x28 images" "$tmp/folder" --preprocess mnist --image-size 32

# ---- sizes and preprocessing ------------------------------------------------------------------
check "--image-size 16 on the folder" train small "$tmp/folder" --image-size 16
check "--image-size 16: 16x16 images" grep -q 'images of 16x16' "$tmp/small.out"
check "--image-size 16: input_shape 1x16x16" test "$(meta small input_shape)" = 1x16x16
check "--preprocess mnist on the folder" train mnistprep "$tmp/folder" --preprocess mnist
exit $fail
