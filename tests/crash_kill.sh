#!/usr/bin/env bash
# crash_kill.sh: a training run killed with SIGKILL at a random instant, over and over, never
# leaves a torn file: its checkpoint is absent or exactly one of an uninterrupted run's, and loads;
# its --out model is absent, the previous one or the new one; the next run removes what the
# killed writer left (one note line per file) and, resumed from the checkpoint (or started again
# when there is none), ends bitwise equal to the uninterrupted run. The test-only hook
# CLMNIST_TEST_WRITE_DELAY_MS (atomic_file.h) holds each complete temporary file for a while
# before its rename, so that many kills land inside a write. Then: a live writer's temporary file
# is not taken for a stale one, and only `<path>.tmp.XXXXXX` files are ever removed.
# Usage: crash_kill.sh path/to/clmnist   (CRASH_KILLS=N kills, default 50)
set -u
bin=$(realpath "$1") kills=${CRASH_KILLS:-50} delay_ms=${CRASH_WRITE_DELAY_MS:-30}
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/lib.sh" # tmp, fail, check, safetensors readers
export CLMNIST_NO_PROGRESS=1
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# A tiny network on a tiny synthetic dataset (tests/idx_data.py): an epoch takes milliseconds, so
# a run is mostly start-up and its 7 delayed writes (6 checkpoints and the model).
mkdir "$tmp/data"
python3 "$here/idx_data.py" "$tmp/data" sane || exit 1
epochs=6
run=(--data "$tmp/data" --backend host --threads 1 --layers 16 --epochs $epochs)
resume=(--data "$tmp/data" --backend host --threads 1)

# the uninterrupted run, and its checkpoint after every epoch (run epoch by epoch)
"$bin" train "${run[@]}" --out "$tmp/ref.safetensors" >"$tmp/ref.txt" 2>&1 || { cat "$tmp/ref.txt"; exit 1; }
"$bin" train "${run[@]}" --stop-after 1 --checkpoint-every 1 --checkpoint "$tmp/c.safetensors" \
    --out "$tmp/old.safetensors" >/dev/null 2>&1 && cp "$tmp/c.safetensors" "$tmp/ref_ck1"
for k in $(seq 2 $epochs); do
    "$bin" train "${resume[@]}" --resume "$tmp/c.safetensors" --stop-after 1 --checkpoint-every 1 \
        --checkpoint "$tmp/c.safetensors" --out "$tmp/chain.safetensors" >/dev/null 2>&1 &&
        cp "$tmp/c.safetensors" "$tmp/ref_ck$k"
done
check "epoch by epoch: the uninterrupted run's model" cmp -s "$tmp/chain.safetensors" "$tmp/ref.safetensors"
# old.safetensors (the model after epoch 1) plays the previous --out model in odd rounds

# how long a run takes with the delayed writes (the faster of two): the kills land anywhere in it
span=
for _ in 1 2; do
    t0=$(now_ms)
    CLMNIST_TEST_WRITE_DELAY_MS=$delay_ms "$bin" train "${run[@]}" --checkpoint-every 1 \
        --checkpoint "$tmp/timed_ck.safetensors" --out "$tmp/timed.safetensors" >/dev/null 2>&1
    t=$(($(now_ms) - t0))
    [ -z "$span" ] || [ "$t" -lt "$span" ] && span=$t
done
check "a run with ${delay_ms} ms write delays (${span} ms) ends with the same model" \
    cmp -s "$tmp/timed.safetensors" "$tmp/ref.safetensors"

# which reference checkpoint a file is, byte for byte (0: none)
ckpt_epoch() {
    local k
    for k in $(seq 1 $epochs); do cmp -s "$1" "$tmp/ref_ck$k" && { echo "$k"; return; }; done
    echo 0
}

# one round: kill at a random instant, inspect what is on disk, recover, compare
in_write=0 no_ckpt=0 finished=0 torn=0 lost=0 unequal=0 left=0
round() {
    local i=$1 d="$tmp/k$1" placed=0
    mkdir "$d"
    if ((i % 2)); then cp "$tmp/old.safetensors" "$d/out.safetensors" && placed=1; fi
    local wait=$(((RANDOM * 32768 + RANDOM) % (span + 1)))
    CLMNIST_TEST_WRITE_DELAY_MS=$delay_ms "$bin" train "${run[@]}" --checkpoint-every 1 \
        --checkpoint "$d/ck.safetensors" --out "$d/out.safetensors" >"$d/run.txt" 2>&1 &
    local pid=$!
    sleep "$((wait / 1000)).$(printf %03d $((wait % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local code=$? ntmp what ck=0 model=absent
    ntmp=$(find "$d" -name '*.tmp.*' | wc -l)
    ((ntmp > 0)) && in_write=$((in_write + 1))
    # a run that finished before its kill: the machine is faster than measured; aim earlier
    [ "$code" = 0 ] && finished=$((finished + 1)) && span=$((span * 9 / 10))
    if [ -e "$d/ck.safetensors" ]; then
        ck=$(ckpt_epoch "$d/ck.safetensors")
        if [ "$ck" = 0 ] || ! "$bin" eval --model "$d/ck.safetensors" --data "$tmp/data" --backend host \
            >/dev/null 2>&1; then
            echo "FAIL: round $i: the checkpoint is none of the run's, or does not load" >&2
            torn=$((torn + 1))
        fi
    else
        no_ckpt=$((no_ckpt + 1))
    fi
    if [ -e "$d/out.safetensors" ]; then
        model=torn
        cmp -s "$d/out.safetensors" "$tmp/old.safetensors" && model=previous
        cmp -s "$d/out.safetensors" "$tmp/ref.safetensors" && model=new
        [ $model = torn ] && { echo "FAIL: round $i: a torn model file" >&2; torn=$((torn + 1)); }
    elif ((placed)); then
        echo "FAIL: round $i: the previous model file is gone" >&2
        lost=$((lost + 1))
    fi
    # recover: resume the checkpoint, or start again without one
    if [ -e "$d/ck.safetensors" ]; then
        "$bin" train "${resume[@]}" --resume "$d/ck.safetensors" --checkpoint-every 1 \
            --checkpoint "$d/ck.safetensors" --out "$d/out.safetensors" >"$d/rec.txt" 2>&1
    else
        "$bin" train "${run[@]}" --checkpoint-every 1 --checkpoint "$d/ck.safetensors" \
            --out "$d/out.safetensors" >"$d/rec.txt" 2>&1
    fi
    local rc=$? notes after
    notes=$(grep -c "^clmnist: note: removed a stale temporary file $d/.*\.tmp\.[A-Za-z0-9]\{6\} from an interrupted write$" "$d/rec.txt")
    after=$(find "$d" -name '*.tmp.*' | wc -l)
    ((after > 0)) && left=$((left + 1))
    if [ "$rc" != 0 ] || [ "$notes" != "$ntmp" ] || ! cmp -s "$d/out.safetensors" "$tmp/ref.safetensors"; then
        echo "FAIL: round $i: recovery exit $rc, $notes note(s) for $ntmp stale file(s), or a different model" >&2
        cat "$d/rec.txt" >&2
        unequal=$((unequal + 1))
    fi
    what=$([ "$code" = 0 ] && echo "after the end" || echo "killed")
    echo "round $i: $what at ${wait} ms: $ntmp temporary file(s), checkpoint epoch $ck, model $model;" \
        "recovered ($notes removed, $after left), equal: $(cmp -s "$d/out.safetensors" "$tmp/ref.safetensors" && echo yes || echo no)"
    rm -rf "$d"
}

t0=$(now_ms)
for i in $(seq 1 "$kills"); do round "$i"; done
echo "$kills kills in $((($(now_ms) - t0) / 1000)) s: $in_write during a write (a temporary file present)," \
    "$no_ckpt before the first checkpoint, $finished after the run had finished"
check "no torn checkpoint or model file ($torn)" [ "$torn" = 0 ]
check "no previous model lost ($lost)" [ "$lost" = 0 ]
check "every recovery: one note per stale file, the uninterrupted run's model ($unequal failed)" [ "$unequal" = 0 ]
check "no temporary file left after the next run ($left)" [ "$left" = 0 ]
check "some kills landed during a write ($in_write of $kills)" test "$in_write" -gt 0 -o "$kills" -lt 10

# a run that early stopping ended, killed while saving its model: resuming its last checkpoint
# trains no further epoch (one more could find a better one) and saves the same model
es=(--data "$tmp/data" --backend host --threads 1 --layers 16 --epochs 8 --val 100 --patience 1 --lr 1.5)
"$bin" train "${es[@]}" --checkpoint-every 1 --checkpoint "$tmp/es_ck.safetensors" --out "$tmp/es_full.safetensors" \
    >"$tmp/es.txt" 2>&1
"$bin" train "${resume[@]}" --resume "$tmp/es_ck.safetensors" --out "$tmp/es_res.safetensors" >"$tmp/es_res.txt" 2>&1
check "an early-stopped run resumed from its last checkpoint: no epoch trained, the same model" bash -c "\
    grep -q '^early stopping: no better' '$tmp/es.txt' && ! grep -q '^epoch ' '$tmp/es_res.txt' && \
    cmp -s '$tmp/es_full.safetensors' '$tmp/es_res.safetensors'"

# a live writer's temporary file is not stale: another run starting on the same path (and failing
# right after its clean-up, on missing data) leaves it alone, and the writer's rename succeeds
mkdir "$tmp/live"
CLMNIST_TEST_WRITE_DELAY_MS=3000 "$bin" train "${run[@]}" --epochs 1 --checkpoint-every 1 \
    --checkpoint "$tmp/live/ck.safetensors" --no-save >"$tmp/live.txt" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -n "$(find "$tmp/live" -name 'ck.safetensors.tmp.*')" ] && break; sleep 0.05; done
"$bin" train --data "$tmp/none" --checkpoint-every 1 --checkpoint "$tmp/live/ck.safetensors" --no-save \
    >"$tmp/other.txt" 2>&1
check "a live writer's temporary file is left alone" bash -c "! grep -q 'removed a stale' '$tmp/other.txt' && \
    [ -n \"\$(find '$tmp/live' -name 'ck.safetensors.tmp.*')\" ]"
wait "$pid"
check "and its write completes" bash -c "[ $? = 0 ] && [ -s '$tmp/live/ck.safetensors' ] && \
    [ -z \"\$(find '$tmp/live' -name 'ck.safetensors.tmp.*')\" ]"

# only <path>.tmp.XXXXXX (six letters or digits, a regular file) next to the target is removed
mkdir "$tmp/names"
cd "$tmp/names" || exit 1
touch m.safetensors.tmp.aB3xY9 m.safetensors.tmp.abc m.safetensors.tmp.abcdefg m.safetensors.tmp.ab-def \
    x.safetensors.tmp.aB3xY9 m.safetensors.tmp.aB3xY9.bak
mkdir m.safetensors.tmp.dir000
ln -s m.safetensors.tmp.abc m.safetensors.tmp.lnk000
"$bin" train "${run[@]}" --epochs 1 --out m.safetensors >"$tmp/names.txt" 2>&1
check "exactly the stale temporary file is removed, with one note" bash -c "\
    [ \$(grep -c 'removed a stale temporary file' '$tmp/names.txt') = 1 ] && \
    grep -q '^clmnist: note: removed a stale temporary file m.safetensors.tmp.aB3xY9 from an interrupted write$' \
        '$tmp/names.txt' && [ ! -e m.safetensors.tmp.aB3xY9 ] && [ \$(ls | wc -l) = 8 ]"
cd / || exit 1
exit $fail
