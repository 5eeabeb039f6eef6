#!/usr/bin/env bash
# cli_model.sh: the model life cycle through the tool: train saves a model that eval scores at
# the accuracy training printed; a run stopped and resumed from its checkpoint ends bitwise equal
# to an uninterrupted one; predict reads PNG/PGM and reports bad files; the report's JSON lines
# parse and its HTML renders in headless Chromium with every SVG part present.
# Usage: cli_model.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
. "$(dirname "$0")/lib.sh" # tmp, fail, check, safetensors readers
need_mnist "$data"
acc() { grep -o 'test accuracy: [0-9.]*%' "$1" | tail -1; }
common=(--data "$data" --backend host --layers 64 --epochs 2 --threads 2)

# 1. train -> eval: the same accuracy
"$bin" train "${common[@]}" --out "$tmp/full.safetensors" --report "$tmp/rep" >"$tmp/train.txt" 2>&1 ||
    { cat "$tmp/train.txt"; exit 1; }
"$bin" eval --model "$tmp/full.safetensors" --data "$data" --backend host >"$tmp/eval.txt" 2>&1
check "eval runs" [ $? = 0 ]
check "eval accuracy equals training's ($(acc "$tmp/train.txt"))" [ "$(acc "$tmp/train.txt")" = "$(acc "$tmp/eval.txt")" ]
check "eval prints a 10x10 confusion matrix" [ "$(grep -cE '^ +[0-9]( +[0-9]+){10}$' "$tmp/eval.txt")" = 10 ]

# 2. stop after epoch 1 with a checkpoint, resume: the same model file as the uninterrupted run
"$bin" train "${common[@]}" --stop-after 1 --checkpoint-every 1 --checkpoint "$tmp/ckpt.safetensors" \
    --out "$tmp/half.safetensors" >"$tmp/half.txt" 2>&1
check "stopped run leaves a checkpoint" [ -s "$tmp/ckpt.safetensors" ]
"$bin" train --data "$data" --backend host --threads 2 --resume "$tmp/ckpt.safetensors" \
    --out "$tmp/resumed.safetensors" >"$tmp/resume.txt" 2>&1
check "resume says where it starts" grep -q "resuming after epoch 1 of 2" "$tmp/resume.txt"
check "resumed model is bitwise the uninterrupted one" cmp -s "$tmp/full.safetensors" "$tmp/resumed.safetensors"
"$bin" train --data "$data" --backend host --resume "$tmp/resumed.safetensors" >"$tmp/notckpt.txt" 2>&1
check "a final model is not a checkpoint" grep -q "not a checkpoint" "$tmp/notckpt.txt"
# the same files but one training label changed: resuming on them is refused
mkdir "$tmp/other"
for f in "$data"/*; do ln -s "$(readlink -f "$f")" "$tmp/other/"; done
python3 - "$data" "$tmp/other" <<'EOF'
import glob, gzip, os, sys
src = sorted(glob.glob(sys.argv[1] + "/train-labels-idx1-ubyte*"))[0]
raw = (gzip.open if src.endswith(".gz") else open)(src, "rb").read()
for p in glob.glob(sys.argv[2] + "/train-labels-idx1-ubyte*"):
    os.remove(p)
out = os.path.join(sys.argv[2], "train-labels-idx1-ubyte")
open(out, "wb").write(raw[:8] + bytes([(raw[8] + 1) % 10]) + raw[9:])
EOF
"$bin" train --data "$tmp/other" --backend host --threads 2 --resume "$tmp/ckpt.safetensors" --no-save \
    >"$tmp/otherdata.txt" 2>&1
code=$?
check "resume on other data: exit 2, names the checkpoint" bash -c "[ $code = 2 ] && \
    grep -q 'ckpt.safetensors: the checkpoint was trained on other data than .*other' '$tmp/otherdata.txt'"

# 2b. a run whose loss turns non-finite stops with a clear error and saves nothing
python3 - "$tmp/huge.safetensors" <<'EOF'
import json, struct, sys
shapes = [("layers.0.weight", [4, 784]), ("layers.0.bias", [4]), ("layers.2.weight", [10, 4]), ("layers.2.bias", [10])]  # format 1 names (no metadata)
hdr, off = {}, 0
for name, shape in shapes:
    n = 4 * shape[0] * (shape[1] if len(shape) > 1 else 1)
    hdr[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + n]}
    off += n
h = json.dumps(hdr).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + struct.pack("<f", 3e38) * (off // 4))
EOF
"$bin" train --data "$data" --backend host --init "$tmp/huge.safetensors" --epochs 1 --out "$tmp/nan.safetensors" \
    >"$tmp/nan.txt" 2>"$tmp/nan.err"
code=$?
check "non-finite loss: exit 1 and a clear error" bash -c "[ $code = 1 ] && grep -q 'training diverged: the loss is .*no model was saved' '$tmp/nan.err'"
check "non-finite loss: no model file" [ ! -e "$tmp/nan.safetensors" ]

# 2c. the full recipe (AdamW, one-cycle with warm-up, dropout, max-norm, augmentation) resumes
#     bitwise too: its Adam moments are in the checkpoint and its random streams follow the step
recipe=(--optimizer adamw --lr 0.003 --weight-decay 0.01 --schedule onecycle --warmup-steps 50 --dropout 0.2
    --max-norm 3 --augment shift=2,rotate=10,scale=0.1)
"$bin" train "${common[@]}" "${recipe[@]}" --out "$tmp/r_full.safetensors" --report "$tmp/rrep" >"$tmp/r_full.txt" 2>&1
check "recipe run trains (>= 90%: $(acc "$tmp/r_full.txt"))" bash -c "grep -q 'test accuracy: 9[0-9]' '$tmp/r_full.txt'"
"$bin" train "${common[@]}" "${recipe[@]}" --stop-after 1 --checkpoint-every 1 --checkpoint "$tmp/r_ckpt.safetensors" \
    --out "$tmp/r_half.safetensors" >/dev/null 2>&1
check "recipe checkpoint holds Adam's moments" bash -c "head -c 8000 '$tmp/r_ckpt.safetensors' | grep -q 'optimizer.exp_avg_sq.layers.4.bias'"
"$bin" train --data "$data" --backend host --threads 2 --resume "$tmp/r_ckpt.safetensors" \
    --out "$tmp/r_resumed.safetensors" >"$tmp/r_resume.txt" 2>&1
check "resume restores the recipe" grep -q "adamw lr 0.003 (onecycle, warm-up 50 steps).*dropout 0.2, max-norm 3, augment shift=2,rotate=10,scale=0.1" "$tmp/r_resume.txt"
check "resumed recipe model is bitwise the uninterrupted one" cmp -s "$tmp/r_full.safetensors" "$tmp/r_resumed.safetensors"
check "metrics.jsonl has the rate of every step (warm-up, then one-cycle)" python3 -c "
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = math.ceil(60000 / 128)
lrs = [x for r in rows for x in r['lr_per_step']]
assert len(rows) == 2 and len(lrs) == 2 * steps, (len(rows), len(lrs))
total, up = 2 * steps, 0.3 * 2 * steps - 1
# step 0: OneCycleLR's initial rate lr/25, scaled by the warm-up factor 1/50
assert abs(lrs[0] - 0.003 / 25 / 50) < 1e-9, lrs[0]
peak = max(range(total), key=lambda i: lrs[i])
assert abs(peak - round(up)) <= 1 and abs(lrs[peak] - 0.003) < 1e-6, (peak, lrs[peak])
assert lrs[-1] < 1e-6
" "$tmp/rrep/metrics.jsonl"

# 2d. early stopping keeps the best validation epoch's weights, and eval agrees with the result
"$bin" train "${common[@]}" --epochs 3 --val 10000 --patience 1 --lr 0.5 --schedule constant \
    --out "$tmp/es.safetensors" >"$tmp/es.txt" 2>&1
check "early stopping reports the epoch it keeps" grep -q "early stopping: keeping the weights of epoch [123]" "$tmp/es.txt"
best=$(grep -o 'keeping the weights of epoch [0-9]' "$tmp/es.txt" | grep -o '[0-9]$')
bestacc=$(grep "^epoch $best/3" "$tmp/es.txt" | grep -o 'val acc [0-9.]*%')
check "the kept epoch has the best val accuracy ($bestacc)" python3 -c "
import re, sys
accs = [float(x) for x in re.findall(r'val acc ([0-9.]+)%', open(sys.argv[1]).read())]
assert accs[int(sys.argv[2]) - 1] == max(accs), accs
" "$tmp/es.txt" "$best"
"$bin" eval --model "$tmp/es.safetensors" --data "$data" --backend host >"$tmp/es_eval.txt" 2>&1
check "eval of the kept weights equals the final test accuracy" [ "$(acc "$tmp/es.txt")" = "$(acc "$tmp/es_eval.txt")" ]

# 2e. early stopping resumes with its best epoch and weights: at lr 2 this run peaks at epoch 1 and
# stops at epoch 3; stopped after epoch 1 and resumed, it must stop at the same epoch and keep the
# same weights (a resumed run that forgot epoch 1 would keep epoch 2's and train on to epoch 4)
es=(--epochs 4 --val 10000 --patience 2 --lr 2 --schedule constant)
"$bin" train "${common[@]}" "${es[@]}" --out "$tmp/es_full.safetensors" >"$tmp/es_full.txt" 2>&1
check "the uninterrupted early-stopping run keeps epoch 1 and stops at 3" bash -c "
grep -q 'keeping the weights of epoch 1 ' '$tmp/es_full.txt' && grep -q '^done: .*, 3 epochs in' '$tmp/es_full.txt'"
"$bin" train "${common[@]}" "${es[@]}" --stop-after 1 --checkpoint-every 1 --checkpoint "$tmp/es_ckpt.safetensors" \
    --no-save >/dev/null 2>&1
"$bin" train --data "$data" --backend host --threads 2 --resume "$tmp/es_ckpt.safetensors" \
    --out "$tmp/es_resumed.safetensors" >"$tmp/es_resume.txt" 2>&1
check "resume restores the best epoch so far" grep -q "early stopping: best so far epoch 1 (val acc .*), patience 2" \
    "$tmp/es_resume.txt"
check "the resumed run stops where the uninterrupted one did" grep -q "^done: .*, 2 epochs in" "$tmp/es_resume.txt"
check "resumed early-stopping model is bitwise the uninterrupted one" \
    cmp -s "$tmp/es_full.safetensors" "$tmp/es_resumed.safetensors"
forge_meta() { # forge_meta KEY VALUE OUT: the early-stopping checkpoint with one metadata value replaced
    python3 - "$tmp/es_ckpt.safetensors" "$@" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
h["__metadata__"][sys.argv[2]] = sys.argv[3]
hb = json.dumps(h).encode()
hb += b" " * (-len(hb) % 8)
open(sys.argv[4], "wb").write(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
EOF
}
# each forged value: exit 1 and one error line naming the checkpoint and what is wrong
while IFS='|' read -r key value want; do
    forge_meta "$key" "$value" "$tmp/es_forged.safetensors"
    "$bin" train --data "$data" --backend host --resume "$tmp/es_forged.safetensors" --no-save \
        >"$tmp/es_forged.txt" 2>"$tmp/es_forged.err"
    code=$?
    check "a checkpoint with $key '$value': exit 1, one error naming it" bash -c "[ $code = 1 ] && \
        [ \$(wc -l <'$tmp/es_forged.err') = 1 ] && grep -qF -- \"es_forged.safetensors: $want\" '$tmp/es_forged.err'"
done <<'CASES'
early_stopping.best_accuracy|1.5|incomplete early-stopping state
early_stopping.best_accuracy|nan|incomplete early-stopping state
early_stopping.best_accuracy||incomplete early-stopping state
train.preset|x|bad checkpoint metadata: --preset 'x'
train.batch| 128|bad checkpoint metadata: --batch ' 128'
train.val|0|bad checkpoint metadata: early stopping without a validation split
architecture|cnn|architecture 'cnn' is not supported
clmnist.format_version|3|clmnist format version '3'; this clmnist reads versions 1 and 2
CASES
# the checkpoint's preset is the run's (its options, saved after the preset, still decide)
forge_meta train.preset best "$tmp/es_best.safetensors"
"$bin" train --data "$data" --backend host --threads 2 --resume "$tmp/es_best.safetensors" --no-save \
    >"$tmp/es_best.txt" 2>&1
check "a resumed run takes the checkpoint's preset and its saved options" bash -c "\
    grep -q '^model: .*, best preset: momentum lr 2 (constant)' '$tmp/es_best.txt' && \
    grep -q '^done: .*, 2 epochs in' '$tmp/es_best.txt'"

# 3. predict: a PGM of test digit 0 (a 7), a non-image, a missing file
python3 - "$data" "$tmp" <<'EOF'
import gzip, os, sys
d, t = sys.argv[1], sys.argv[2]
p = os.path.join(d, "t10k-images-idx3-ubyte")
raw = open(p, "rb").read() if os.path.exists(p) else gzip.open(p + ".gz").read()
open(os.path.join(t, "seven.pgm"), "wb").write(b"P5 28 28 255\n" + raw[16:16 + 784])
open(os.path.join(t, "junk.png"), "wb").write(b"not an image at all")
EOF
"$bin" predict --model "$tmp/full.safetensors" --backend host "$tmp/seven.pgm" "$tmp/junk.png" "$tmp/nope.png" \
    >"$tmp/pred.txt" 2>"$tmp/pred.err"
code=$?
check "predict exits 1 when some files fail" [ $code = 1 ]
check "predict classifies the good file" grep -q "seven.pgm: 7 " "$tmp/pred.txt"
check "predict names each bad file" bash -c "grep -q 'junk.png: unsupported image format' '$tmp/pred.err' && grep -q 'nope.png: cannot open' '$tmp/pred.err'"
"$bin" predict --model "$tmp/full.safetensors" --backend host --json "$tmp/seven.pgm" >"$tmp/pred.json"
check "predict --json is JSON with the class" python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r[0]['class']==7 and len(r[0]['top'])==3" "$tmp/pred.json"

# 4. report: metrics.jsonl lines parse; report.html renders with every SVG part
check "metrics.jsonl has one JSON object per epoch" python3 -c "
import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
assert [r['epoch'] for r in rows]==[1,2], rows
for r in rows:
    for k in ('train_loss','train_accuracy','test_loss','test_accuracy','lr_start','lr_end','seconds','images_per_s'): assert k in r, k
" "$tmp/rep/metrics.jsonl"
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then
    echo "FAIL: chromium not installed (scripts/bootstrap installs it); cannot render report.html" >&2
    fail=1
else
    timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --dump-dom "file://$tmp/rep/report.html" \
        >"$tmp/dom.html" 2>/dev/null
    for id in loss-curve accuracy-curve confusion mistakes; do
        check "rendered report has <svg id=$id>" grep -q "<svg id=\"$id\"" "$tmp/dom.html"
    done
    check "confusion heat map has 100 cells" [ "$(grep -o '<rect class="cell"' "$tmp/dom.html" | wc -l)" = 100 ]
    check "mistakes grid has 24 digit images" [ "$(grep -o '<image ' "$tmp/dom.html" | wc -l)" = 24 ]
    check "curves have one point per epoch and series" [ "$(grep -o '<circle ' "$tmp/dom.html" | wc -l)" = 8 ]
fi

# 5. tune: a short search writes the per-device cache that train then loads; a forged cache is
#    ignored with one warning and training goes on with CLBlast's defaults
if "$bin" devices 2>/dev/null | grep -q '(default)'; then
    export CLMNIST_CACHE_DIR="$tmp/tune"
    "$bin" tune --data "$data" --layers 16 --batch 8 --max-candidates 2 --seconds 0.002 >"$tmp/tune.txt" 2>&1
    check "tune saves the per-device cache" grep -q "^saved: $tmp/tune/gemm-.*json" "$tmp/tune.txt"
    check "tune reports untuned and tuned GFLOP/s" grep -q "^  whole step " "$tmp/tune.txt"
    tuned=(--data "$data" --layers 16 --batch 256 --epochs 1 --no-save --backend device) # the tuned device GEMM
    "$bin" train "${tuned[@]}" >"$tmp/tuned.txt" 2>&1
    check "train loads the tuning" grep -q "^GEMM: tuned parameters from $tmp/tune/gemm-" "$tmp/tuned.txt"
    check "train at another batch says the tuning was made for batch 8" grep -q \
        "^GEMM: the tuning in use was made for flatten-fc16-relu-fc10, batch 8, not this run's flatten-fc16-relu-fc10, batch 256; .*CLMNIST_NO_TUNING=1" \
        "$tmp/tuned.txt"
    "$bin" train --data "$data" --layers 16 --batch 8 --epochs 1 --limit 800 --no-save --backend device \
        >"$tmp/tuned-same.txt" 2>&1
    check "train of the tuned model and batch: the tuning, no note" bash -c \
        "grep -q '^GEMM: tuned parameters' '$tmp/tuned-same.txt' && ! grep -q 'was made for' '$tmp/tuned-same.txt'"
    check "tuned training learns ($(acc "$tmp/tuned.txt"))" grep -q "test accuracy: [89][0-9]" "$tmp/tuned.txt"
    check "tune searched the indirect kernel too" grep -q "^indirect kernel (Xgemm): tried [1-9]" "$tmp/tune.txt"
    "$bin" tune --data "$data" --layers 16 --batch 8 --max-candidates 2 --seconds 0.002 >"$tmp/tune2.txt" 2>&1
    check "tune again starts from the cache and replaces it" bash -c "\
        grep -q '^starting from the configuration in $tmp/tune/gemm-.*json' '$tmp/tune2.txt' && \
        grep -q '^saved: $tmp/tune/gemm-.*json' '$tmp/tune2.txt'"
    real=$(ls "$tmp"/tune/gemm-*.json)
    cp "$real" "$tmp/real.json"
    # hand-written indirect-kernel parameters, every shape through that kernel: applied, and
    # training still learns; parameters that break CLBlast's constraints or pick kernel 1: refused
    xgemm() { # xgemm FIELD=VALUE...: the real cache with a chosen Xgemm entry
        python3 - "$tmp/real.json" "$real" "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
x = dict(GEMMK=0, KREG=1, KWG=32, KWI=2, MDIMA=16, MDIMC=16, MWG=64, NDIMB=8, NDIMC=8, NWG=64,
         SA=0, SB=0, STRM=0, STRN=0, VWM=4, VWN=2)
for kv in sys.argv[3:]:
    k, v = kv.split("=")
    x[k] = int(v)
c["Xgemm"] = x
c["GemmRoutine"] = {"XGEMM_MIN_INDIRECT_SIZE": 1}
json.dump(c, open(sys.argv[2], "w"))
PY
    }
    xgemm
    "$bin" train "${tuned[@]}" >"$tmp/xgemm.txt" 2>"$tmp/xgemm.err"
    check "hand-written Xgemm parameters load and train ($(acc "$tmp/xgemm.txt"))" bash -c "[ ! -s '$tmp/xgemm.err' ] \
        && grep -q '^GEMM: tuned' '$tmp/xgemm.txt' && grep -q 'test accuracy: [89][0-9]' '$tmp/xgemm.txt'"
    for bad in MWG=24 GEMMK=1 KWI=3; do
        xgemm "$bad"
        "$bin" train "${tuned[@]}" >"$tmp/bad.txt" 2>"$tmp/bad.err"
        check "Xgemm $bad: refused with one warning, untuned" bash -c "[ \$(wc -l <'$tmp/bad.err') = 1 ] \
            && grep -q 'warning: ignoring the GEMM tuning cache.*Xgemm' '$tmp/bad.err' && grep -q \"^GEMM: CLBlast's defaults\" '$tmp/bad.txt'"
    done
    for f in "$tmp"/tune/gemm-*.json; do echo '{"device": 1' >"$f"; done
    "$bin" train "${tuned[@]}" >"$tmp/forged.txt" 2>"$tmp/forged.err"
    check "a forged cache: exit 0, one warning, untuned" bash -c "[ $? = 0 ] && [ \$(wc -l <'$tmp/forged.err') = 1 ] \
        && grep -q 'warning: ignoring the GEMM tuning cache' '$tmp/forged.err' && grep -q \"^GEMM: CLBlast's defaults\" '$tmp/forged.txt'"
    "$bin" tune --data "$data" --layers 16 --batch 8 --max-candidates 2 --seconds 0.002 >"$tmp/tune3.txt" 2>&1
    code=$?
    check "tune over a forged cache: says why it starts afresh, replaces it" bash -c "[ $code = 0 ] && \
        grep -q '^not starting from the cache: .*gemm-.*json: not a JSON object' '$tmp/tune3.txt' && \
        grep -q '^saved: ' '$tmp/tune3.txt' && python3 -c 'import glob, json; [json.load(open(f)) for f in glob.glob(\"$tmp/tune/gemm-*.json\")]'"
    unset CLMNIST_CACHE_DIR

    # 6. bench --profile: every GEMM and kernel of a step counted once per call, and the device
    #    time within the wall time
    CLMNIST_NO_TUNING=1 "$bin" bench --data "$data" --layers 16 --backends device --batches 32 --runs 1 --steps 4 \
        --warmup 1 --no-gemm --no-memory --profile --json >"$tmp/prof.json" 2>"$tmp/prof.err"
    check "bench --profile: 5 GEMM shapes once per step, bias_act twice, one optimizer update, device <= wall" \
        python3 -c "
import json, sys
p, = json.load(open(sys.argv[1]))['profile']
ops = {o['name']: o for o in p['operations']}
gemms = [o for n, o in ops.items() if n.startswith('CLBlast GEMM')]
assert len(gemms) == 5 and all(o['calls_per_step'] == 1 for o in gemms), gemms
assert ops['kernel_bias_act']['calls_per_step'] == 2 and ops['kernel_opt_update']['calls_per_step'] == 1
assert 0 < p['device_ms_per_step'] <= 1.05 * p['wall_ms_per_step'] + 0.1, p
# 9 of our kernels (gather, 2 bias_act, softmax_xent, relu_backward, 2 bias_grad, opt_update, and
# the accuracy/loss one) plus 5 GEMM calls; no host wait inside a resident-feed step
assert p['gemm_calls_per_step'] == 5 and p['kernel_launches_per_step'] >= 7, p
assert p['host_waits_per_step'] < 1, p
" "$tmp/prof.json"
    # the host backend's profile: the same 5 GEMMs and one update per step, wall times that add up
    "$bin" bench --data "$data" --layers 16 --backends host --batches 32 --runs 1 --steps 4 --warmup 1 --no-gemm \
        --no-memory --profile --json >"$tmp/hprof.json" 2>"$tmp/hprof.err"
    check "bench --profile on the host: 5 GEMM shapes once per step, one update, operations within the wall time" \
        python3 -c "
import json, sys
p, = json.load(open(sys.argv[1]))['profile']
ops = {o['name']: o for o in p['operations']}
gemms = [o for n, o in ops.items() if n.startswith('GEMM ')]
assert p['backend'] == 'host' and len(gemms) == 5 and all(o['calls_per_step'] == 1 for o in gemms), ops
assert ops['opt_update']['calls_per_step'] == 1 and ops['bias_act']['calls_per_step'] == 2, ops
assert 0 < p['device_ms_per_step'] <= 1.01 * p['wall_ms_per_step'], p
" "$tmp/hprof.json"
    # bench's memory run (RSS after each of 6 short epochs, growth within its 4 MiB, a peak) and
    # the machine's SGEMM peak with the step's share of it, from the same run
    "$bin" bench --data "$data" --layers 16 --backends host --batches 32 --runs 1 --steps 4 --warmup 1 \
        --json >"$tmp/hmem.json" 2>"$tmp/hmem.err"
    check "bench: resident memory per epoch does not grow, peak RSS, SGEMM peak and the step's share" python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
b, = j['backends']
rss = b['rss_mib_per_epoch']
assert len(rss) == 6 and all(r > 0 for r in rss) and rss[-1] - rss[1] <= 4 and b['peak_rss_mib'] >= max(rss), b
l, = j['gemm_limit']
assert l['peak_sgemm_gflops'] > 0 and 0 < l['step_share_of_peak'] < 2 and l['step_gemm_gflop'] > 0, l
" "$tmp/hmem.json"
fi

# 7. convolutional networks: the cnn preset on a 10,000-image subset beats the MLP there by a
#    wide margin and eval reproduces its accuracy (on the device too, within 3 images); a CNN
#    with BatchNorm, dropout and augmentation resumes bitwise, running statistics included
# (the sanitizer pass skips the 10,000-image runs: its point is memory errors, which the small
# CNN below exercises on the same code paths)
if [ -z "${CLMNIST_SANITIZER_PASS:-}" ]; then
    sub=(--data "$data" --backend host --threads 2 --limit 10000 --epochs 2)
    "$bin" train "${sub[@]}" --preset cnn --out "$tmp/cnn.safetensors" >"$tmp/cnn.txt" 2>&1
    "$bin" train "${sub[@]}" --preset fast --no-save >"$tmp/cnn_mlp.txt" 2>&1
    check "cnn preset, 10k images, 2 epochs: >= 97.5% and 2 points above the MLP ($(acc "$tmp/cnn.txt") vs $(acc "$tmp/cnn_mlp.txt"))" \
        python3 -c "
import re, sys
a = [float(re.findall(r'test accuracy: ([0-9.]+)%', open(f).read())[-1]) for f in sys.argv[1:]]
sys.exit(not (a[0] >= 97.5 and a[0] >= a[1] + 2.0))" "$tmp/cnn.txt" "$tmp/cnn_mlp.txt"
    "$bin" eval --model "$tmp/cnn.safetensors" --data "$data" --backend host >"$tmp/cnn_eval.txt" 2>&1
    check "CNN: eval accuracy equals training's" [ "$(acc "$tmp/cnn.txt")" = "$(acc "$tmp/cnn_eval.txt")" ]
    if "$bin" devices 2>/dev/null | grep -q '(default)'; then
        "$bin" eval --model "$tmp/cnn.safetensors" --data "$data" --backend device >"$tmp/cnn_deval.txt" 2>&1
        check "CNN: device eval within 3 images of host eval ($(acc "$tmp/cnn_deval.txt"))" python3 -c "
import re, sys
a = [float(re.findall(r'test accuracy: ([0-9.]+)%', open(f).read())[-1]) for f in sys.argv[1:]]
sys.exit(not abs(a[0] - a[1]) <= 0.03)" "$tmp/cnn_eval.txt" "$tmp/cnn_deval.txt"
    fi
fi
tiny=(--data "$data" --backend host --threads 2 --limit 5000 --epochs 2 --optimizer adam --lr 0.003 --augment shift=1
    --arch conv4k5s2-bn-relu-pool2-flatten-drop0.2-fc10)
"$bin" train "${tiny[@]}" --out "$tmp/tcnn_full.safetensors" >/dev/null 2>&1
"$bin" train "${tiny[@]}" --stop-after 1 --checkpoint-every 1 --checkpoint "$tmp/tcnn_ck.safetensors" \
    --out "$tmp/tcnn_half.safetensors" >/dev/null 2>&1
"$bin" train --data "$data" --backend host --threads 2 --resume "$tmp/tcnn_ck.safetensors" \
    --out "$tmp/tcnn_res.safetensors" >"$tmp/tcnn_res.txt" 2>&1
check "CNN with BatchNorm, dropout, augmentation: the resumed model is bitwise the uninterrupted one" \
    cmp -s "$tmp/tcnn_full.safetensors" "$tmp/tcnn_res.safetensors"
exit $fail
