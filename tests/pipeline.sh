#!/usr/bin/env bash
# pipeline.sh: one input pipeline, recorded in the model (its "pipeline" metadata) and used by
# every command (docs/data.md, "The input pipeline"): `eval` of a saved model prints exactly the
# "test accuracy:" figure `train` printed, on IDX, an image folder and CSV, with a non-default seed,
# test fraction, image size and preprocessing; a model trained on `import`ed data records the
# same pipeline as one trained on the folder itself and predicts the same; data whose classes
# differ gets a warning; an eval override gets a note; older models and forged records.
# Usage: pipeline.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 mnist=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -e "$mnist/train-images-idx3-ubyte" ] && [ ! -e "$mnist/train-images-idx3-ubyte.gz" ]; then
    echo "MNIST not in $mnist; run data/fetch mnist"
    exit 77
fi
. "$(dirname "$0")/lib.sh" # tmp, fail, check, meta_of
python3 "$here/own_data.py" "$mnist" "$tmp" >/dev/null || { echo "FAIL: own_data.py" >&2; exit 1; }
tiny=(--backend host --layers 32 --epochs 1 --threads 1)
run=(--backend host --threads 1)

# train NAME DATA [FLAGS...] / evaluate NAME [FLAGS...]: $tmp/NAME.safetensors, output in
# $tmp/NAME.out (.err), $tmp/NAME.eval (.everr)
train() {
    local name=$1 data=$2
    shift 2
    "$bin" train --data "$data" "${tiny[@]}" --out "$tmp/$name.safetensors" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" ||
        { echo "train $name failed" >&2; cat "$tmp/$name.err" >&2; }
}
evaluate() {
    local name=$1
    shift
    "$bin" eval --model "$tmp/$name.safetensors" "${run[@]}" "$@" >"$tmp/$name.eval" 2>"$tmp/$name.everr" ||
        { echo "eval $name failed" >&2; cat "$tmp/$name.everr" >&2; }
}
acc() { grep -o 'test accuracy: [0-9.]*%' "$1"; }
same_acc() { # same_acc NAME: eval printed train's figure, to the last digit
    local t e
    t=$(acc "$tmp/$1.out") e=$(acc "$tmp/$1.eval")
    [ -n "$t" ] && [ "$t" = "$e" ] || { echo "$1: train '$t', eval '$e'" >&2; return 1; }
}
# pipeline_of NAME: the model's "pipeline" without its data member (format, path, digest)
pipeline_of() {
    python3 -c 'import json, sys; p = json.loads(sys.argv[1]); p.pop("data"); print(json.dumps(p, sort_keys=True))' \
        "$(meta_of "$tmp/$1.safetensors" pipeline)"
}

# ---- eval = train ------------------------------------------------------------------------------
train idx16 "$mnist" --limit 1000 --image-size 16
evaluate idx16 --data "$mnist"
check "IDX, --image-size 16 (--limit 1000): eval prints train's test accuracy" same_acc idx16
train heldout "$tmp/folder/train" --seed 7 --test-fraction 0.2
evaluate heldout --data "$tmp/folder/train"
check "image folder held out with --seed 7 --test-fraction 0.2: eval = train" same_acc heldout
check "eval: the held-out split's seed and fraction, as train's" \
    grep -q "60 of the 300 images (--test-fraction 0.2, seed 7) held out" "$tmp/heldout.everr"
evaluate heldout
check "eval without --data: the recorded path, the same figure" same_acc heldout
train csv20 "$tmp/csv/train.csv" --seed 9 --image-size 20
evaluate csv20 --data "$tmp/csv/train.csv"
check "CSV held out (--seed 9), --image-size 20: eval = train" same_acc csv20
train prepmnist "$tmp/folder" --preprocess mnist
evaluate prepmnist --data "$tmp/folder"
check "image folder, --preprocess mnist: eval = train" same_acc prepmnist
check "--preprocess mnist recorded" bash -c "[[ '$(meta_of "$tmp/prepmnist.safetensors" pipeline)' == *'\"preprocess\":\"mnist\"'* ]]"
train val "$tmp/idx" --val 50
evaluate val --data "$tmp/idx"
check "--val 50: eval = train's final test figure (the test split, not the validation one)" same_acc val

# ---- overrides and notes -------------------------------------------------------------------------
evaluate heldout --data "$tmp/folder/train" --seed 42
check "eval --seed 42: a note that the split differs from the model's" \
    grep -q "note: --seed 42: the model was trained with seed 7; the held-out test split differs" "$tmp/heldout.everr"
check "eval --seed 42: held out with seed 42" grep -q "(--test-fraction 0.2, seed 42) held out" "$tmp/heldout.everr"
evaluate idx16 --data "$mnist" --image-size 16
check "eval --image-size equal to the model's: no note" bash -c "! grep -q 'note: --image-size' '$tmp/idx16.everr'"
evaluate idx16 --data "$mnist" --seed 3
check "eval --seed on data with its own test split: a note that it changes nothing there" \
    grep -q "note: --seed 3: the model's test split came with its data" "$tmp/idx16.everr"
check "... and the same figure" same_acc idx16
evaluate prepmnist --data "$tmp/folder" --preprocess resize
check "eval --preprocess resize on an mnist model: a note" \
    grep -q "note: --preprocess resize: the model was trained with --preprocess mnist; the input differs" "$tmp/prepmnist.everr"
cp -r "$tmp/folder" "$tmp/moved" && train moved "$tmp/moved" && rm -rf "$tmp/moved"
CLMNIST_DATA="$tmp/folder" evaluate moved
check "recorded data gone: a note, then \$CLMNIST_DATA" \
    grep -q "note: $tmp/moved (the model's training data) is not there; using $tmp/folder" "$tmp/moved.everr"
check "recorded data gone: \$CLMNIST_DATA (the same images) gives the same figure" same_acc moved

# ---- import = folder -----------------------------------------------------------------------------
for prep in resize mnist; do
    train "dir_$prep" "$tmp/folder/train" --seed 7 --preprocess "$prep"
    "$bin" import --seed 7 --preprocess "$prep" "$tmp/folder/train" "$tmp/imp_$prep" >/dev/null 2>&1
    train "imp_$prep" "$tmp/imp_$prep" --seed 7
    check "import ($prep): the same pipeline as the folder's (data aside)" \
        test "$(pipeline_of "dir_$prep")" = "$(pipeline_of "imp_$prep")"
    check "import ($prep): the same input_preprocess" \
        test "$(meta_of "$tmp/dir_$prep.safetensors" input_preprocess)" = "$(meta_of "$tmp/imp_$prep.safetensors" input_preprocess)"
    files=("$tmp"/folder/test/three/* "$tmp"/folder/test/seven/*)
    "$bin" predict "${run[@]}" --json --model "$tmp/dir_$prep.safetensors" "${files[@]:0:5}" >"$tmp/p_dir.json" 2>&1
    "$bin" predict "${run[@]}" --json --model "$tmp/imp_$prep.safetensors" "${files[@]:0:5}" >"$tmp/p_imp.json" 2>&1
    check "import ($prep): predict --json identical on the same files" cmp -s "$tmp/p_dir.json" "$tmp/p_imp.json"
    evaluate "imp_$prep"
    check "import ($prep): eval = train" same_acc "imp_$prep"
done
check "import: source.json beside the IDX files" grep -q '"from_images": true, "preprocess": "mnist", "held_out": true' \
    "$tmp/imp_mnist/source.json"

# ---- classes, older models, forged records -------------------------------------------------------
evaluate heldout --data "$mnist"
check "eval on data with other classes: one warning line" \
    grep -qx "clmnist: warning: $mnist: its classes (0…9) differ from the model's (eight…zero)" "$tmp/heldout.everr"
evaluate idx16 --data "$mnist"
check "eval on data with the same classes: no warning" bash -c "! grep -q 'warning' '$tmp/idx16.everr'"
cp "$here/fixtures/mlp_v1.safetensors" "$tmp/v1.safetensors"
evaluate v1 --data "$mnist"
check "a model without 'pipeline' (format 1) still evaluates: its 92.97%" grep -qx "test accuracy: 92.97%" "$tmp/v1.eval"
forge() { # forge NAME SED: NAME's pipeline edited by SED into forged.safetensors
    python3 - "$tmp/$1.safetensors" "$tmp/forged.safetensors" "$2" <<'PY'
import json, struct, subprocess, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["__metadata__"]["pipeline"] = subprocess.run(["sed", sys.argv[3]], input=h["__metadata__"]["pipeline"],
                                               capture_output=True, text=True).stdout.strip()
t = json.dumps(h).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PY
}
expect_forged() { # expect_forged WHAT SED PATTERN
    forge heldout "$2"
    "$bin" eval --model "$tmp/forged.safetensors" "${run[@]}" --data "$tmp/folder/train" >/dev/null 2>"$tmp/forged.err"
    local code=$?
    check "forged pipeline ($1): exit 1, one line naming the file" bash -c "[ $code = 1 ] && [ \$(wc -l <'$tmp/forged.err') = 1 ] && \
        grep -q \"$tmp/forged.safetensors: metadata 'pipeline'.*$3\" '$tmp/forged.err'"
}
expect_forged "not JSON" 's/^{/[/' "not a JSON object"
expect_forged "preprocess" 's/"preprocess":"resize"/"preprocess":"sharpen"/' "input.preprocess"
expect_forged "seed" 's/"seed":7/"seed":-1/' "split.test_fraction"
expect_forged "size" 's/"height":28/"height":16/' "16x28 inputs"
expect_forged "names" 's/"eight",//' "classes.names"
exit $fail
