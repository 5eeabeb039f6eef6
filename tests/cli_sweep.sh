#!/usr/bin/env bash
# cli_sweep.sh: `clmnist sweep` end to end on a small synthetic IDX dataset (tests/idx_data.py):
#  - bad input: one line naming what is wrong, exit 2, nothing created;
#  - a sweep over lr=0.00001,0.1, where the tiny rate is known to lose, promotes exactly the best
#    1/eta of the first rung by validation accuracy, and those are lr=0.1 trials; trials.csv,
#    trials.jsonl and the stdout table have a row per trial; the best model records its settings
#    and the test accuracy is printed once;
#  - the same command again trains nothing and leaves trials.jsonl byte for byte;
#  - a sweep killed (SIGKILL, by a test hook) after 3 recorded rungs resumes: the rerun trains only
#    the 5 missing rungs of trials and ends with the same accuracies as the uninterrupted sweep;
#  - a sweep stopped by Ctrl-C in the middle of an epoch (SIGINT sent by a test hook) continues
#    from that step's checkpoint to the uninterrupted results;
#  - a --time-budget used up by the first trial continues that trial to the top rung and saves it;
#  - another --seed or --space in the same DIR is refused.
# Usage: cli_sweep.sh path/to/clmnist
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/lib.sh" # tmp, fail, check, safetensors readers
mkdir -p "$tmp/data"
python3 "$here/idx_data.py" "$tmp/data" sane || { echo "FAIL: idx_data.py" >&2; exit 1; }
base=(--data "$tmp/data" --backend host --threads 1 --val 100 --layers 32 --trials 6 --max-epochs 3 --eta 3)
space='lr=0.00001,0.1;batch=16,32'

# refuses SPACE PATTERN [ARGS...]: exit 2, one stderr line matching PATTERN, no DIR
refuses() {
    local spec=$1 pattern=$2
    shift 2
    "$bin" sweep "${base[@]}" --space "$spec" --dir "$tmp/bad" "$@" >"$tmp/out" 2>"$tmp/err"
    local code=$? lines
    lines=$(grep -c . "$tmp/err")
    check "refuses '$spec' $*: exit 2, one line with '$pattern'" \
        test "$code" = 2 -a "$lines" = 1 -a ! -e "$tmp/bad" -a -n "$(grep -F -- "$pattern" "$tmp/err")"
    [ "$code" = 2 ] && [ "$lines" = 1 ] || cat "$tmp/err" >&2
}
refuses 'lr=0.1;dropout' "--space 'dropout': expected NAME=log(LO,HI)"
refuses 'colour=1..2' "--space 'colour=1..2': unknown train flag 'colour'"
refuses 'dropout=0.5..0.1' "the low end 0.5 is above the high end 0.1"
refuses 'lr=log(0,0.1)' "'lr=log(0,0.1)': log() needs ends above 0"
refuses "$space" "--trials '0'" --trials 0
refuses "$space" "add --val N" --val 0
refuses 'optimizer=sgd,adam' "trial" --momentum 0.5
"$bin" sweep --data "$tmp/data" --space "$space" --dir "$tmp/bad" >"$tmp/out" 2>"$tmp/err"
check "no --val: exit 2, 'add --val N'" test $? = 2 -a -n "$(grep -F 'add --val N' "$tmp/err")"
"$bin" sweep --help >"$tmp/out" 2>&1
check "--help names --space and --eta" grep -q -- "--eta N" "$tmp/out"
"$bin" --help >"$tmp/out" 2>&1
check "clmnist --help lists sweep" grep -q "^  sweep " "$tmp/out"

# The sweep: 6 trials at 1 epoch, the best 2 continue to 3 epochs.
"$bin" sweep "${base[@]}" --space "$space" --dir "$tmp/s1" >"$tmp/s1.out" 2>"$tmp/s1.err"
check "sweep exits 0" test $? = 0
cat "$tmp/s1.err" >&2
python3 - "$tmp/s1" "$tmp/s1.out" <<'EOF' || fail=1
import csv, json, struct, sys
d, out = sys.argv[1], open(sys.argv[2]).read()
rows = list(csv.DictReader(open(d + "/trials.csv")))
lines = [json.loads(l) for l in open(d + "/trials.jsonl")]
ok = True
def want(cond, what):
    global ok
    print(("ok: " if cond else "FAIL: ") + what, file=sys.stdout if cond else sys.stderr)
    ok = ok and cond
want([r["trial"] for r in rows] == [str(i) for i in range(1, 7)], "trials.csv: one row per trial, 1-6")
want(list(rows[0].keys()) == ["trial", "lr", "batch", "val_acc_1ep", "val_acc_3ep", "seconds", "status"],
     "trials.csv: its columns")
want([l["trial"] for l in lines] == list(range(1, 7)), "trials.jsonl: one line per trial, 1-6")
good = [r for r in rows if r["lr"] == "0.1"]
bad = [r for r in rows if r["lr"] == "0.00001"]
want(len(good) >= 2 and len(bad) >= 1, "the seed draws at least 2 trials with lr 0.1 and one with 0.00001")
want(min(float(r["val_acc_1ep"]) for r in good) > max(float(r["val_acc_1ep"]) for r in bad),
     "lr 0.1 beats lr 0.00001 at the first rung")
ranked = sorted(rows, key=lambda r: (-float(r["val_acc_1ep"]), int(r["trial"])))
promoted = sorted(int(r["trial"]) for r in ranked[:2])
continued = sorted(int(r["trial"]) for r in rows if r["val_acc_3ep"] != "")
want(continued == promoted, "the best 2 of 6 by rung-1 accuracy (%s) and only they reach 3 epochs (%s)"
     % (promoted, continued))
want(all(r["lr"] == "0.1" for r in rows if r["val_acc_3ep"] != ""), "every promoted trial has lr 0.1")
want(all(len(l["rungs"]) == (2 if l["trial"] in promoted else 1) for l in lines), "trials.jsonl: rungs per trial")
want(all(l["settings"]["lr"] in (1e-05, 0.1) and l["settings"]["batch"] in (16, 32) for l in lines),
     "trials.jsonl: settings as numbers")
best = [r for r in rows if r["status"] == "best"]
want(len(best) == 1 and int(best[0]["trial"]) in promoted, "one best trial, a promoted one")
raw = open(d + "/best.safetensors", "rb").read()
meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]
want(meta.get("sweep.trial") == best[0]["trial"], "best.safetensors: sweep.trial")
want(meta.get("sweep.settings") == "lr=0.1 batch=" + best[0]["batch"], "best.safetensors: sweep.settings")
want(meta.get("train.lr") == "0.1" and meta.get("train.epochs") == "3", "best.safetensors: its train options")
want(out.count("test accuracy:") == 1, "the test accuracy is printed once")
table = [l for l in out.splitlines() if l[:5].strip().isdigit()]
want(len(table) == 6, "the stdout table has a row per trial")
html = open(d + "/sweep.html").read()
want(html.count('class="trial') == 6 and "<svg" in html and "http://" not in html.replace(
    "http://www.w3.org/2000/svg", ""), "sweep.html: a line per trial, inline SVG, no network")
sys.exit(0 if ok else 1)
EOF

# The same command again: nothing to train, nothing changes.
cp "$tmp/s1/trials.jsonl" "$tmp/s1.jsonl"
"$bin" sweep "${base[@]}" --space "$space" --dir "$tmp/s1" >"$tmp/s1b.out" 2>&1
check "rerun exits 0" test $? = 0
check "rerun trains nothing" grep -q "sweep: 0 rungs of trials trained now" "$tmp/s1b.out"
check "rerun: no trial line" test "$(grep -c '^sweep: rung .*, trial' "$tmp/s1b.out")" = 0
check "rerun: trials.jsonl unchanged" cmp -s "$tmp/s1.jsonl" "$tmp/s1/trials.jsonl"
check "rerun: the same best model" grep -q "model: saved to $tmp/s1/best.safetensors" "$tmp/s1b.out"

# Killed after 3 recorded rungs, then resumed.
CLMNIST_TEST_SWEEP_KILL_AFTER=3 "$bin" sweep "${base[@]}" --space "$space" --dir "$tmp/s2" >"$tmp/s2a.out" 2>&1
code=$?
check "the test hook kills the sweep (exit $code)" test "$code" = 137
check "3 trials recorded when killed" test "$(wc -l <"$tmp/s2/trials.jsonl")" = 3
"$bin" sweep "${base[@]}" --space "$space" --dir "$tmp/s2" >"$tmp/s2b.out" 2>&1
check "resumed sweep exits 0" test $? = 0
check "resumed: 3 recorded" grep -q "rung 1/2: 6 trials to epoch 1 (3 recorded" "$tmp/s2b.out"
check "resumed: trains the 5 missing rungs of trials" grep -q "sweep: 5 rungs of trials trained now" "$tmp/s2b.out"
check "resumed: trials 1-3 not trained again" test -z "$(grep -E '^sweep: rung 1/2, trial [123] ' "$tmp/s2b.out")"
python3 - "$tmp/s1/trials.jsonl" "$tmp/s2/trials.jsonl" <<'EOF' || fail=1
import json, sys
a, b = ([(l["trial"], [(r["rung"], r["val_accuracy"], r["val_loss"]) for r in l["rungs"]], l["status"])
         for l in map(json.loads, open(p))] for p in sys.argv[1:])
print("ok: killed and resumed = uninterrupted" if a == b else "FAIL: killed and resumed differs: %s\n%s" % (a, b),
      file=sys.stdout if a == b else sys.stderr)
sys.exit(0 if a == b else 1)
EOF

# Ctrl-C in the middle of an epoch (the test hook sends SIGINT at step 40: in trial 2 or 3's first
# epoch, 16 or 32 steps each), then the same command: the uninterrupted results.
CLMNIST_TEST_SWEEP_INT_AT_STEP=40 "$bin" sweep "${base[@]}" --space "$space" --dir "$tmp/s3" >"$tmp/s3a.out" 2>&1
check "Ctrl-C: exit 0" test $? = 0
check "Ctrl-C: stopped, says how to continue" grep -q "sweep: stopped; the same command continues it" "$tmp/s3a.out"
check "Ctrl-C: no test accuracy yet" test "$(grep -c 'test accuracy' "$tmp/s3a.out")" = 0
check "Ctrl-C: a checkpoint in the middle of an epoch" python3 -c "import glob, json, struct, sys
found = False
for p in glob.glob(sys.argv[1] + '/ckpt/*'):
    raw = open(p, 'rb').read()
    found |= 'checkpoint.step' in json.loads(raw[8:8 + struct.unpack('<Q', raw[:8])[0]])['__metadata__']
sys.exit(0 if found else 1)" "$tmp/s3"
"$bin" sweep "${base[@]}" --space "$space" --dir "$tmp/s3" >"$tmp/s3b.out" 2>&1
check "after Ctrl-C: the same command finishes" grep -q "test accuracy:" "$tmp/s3b.out"
python3 - "$tmp/s1/trials.jsonl" "$tmp/s3/trials.jsonl" <<'EOF' || fail=1
import json, sys
a, b = ([(l["trial"], [(r["rung"], r["val_accuracy"], r["val_loss"]) for r in l["rungs"]], l["status"])
         for l in map(json.loads, open(p))] for p in sys.argv[1:])
print("ok: stopped and continued = uninterrupted" if a == b else "FAIL: stopped and continued differs: %s\n%s" % (a, b),
      file=sys.stdout if a == b else sys.stderr)
sys.exit(0 if a == b else 1)
EOF

# A time budget used up by the first trial: the best so far (the only one) goes on to the top rung.
"$bin" sweep "${base[@]}" --space "$space" --dir "$tmp/s4" --time-budget 0.001 >"$tmp/s4.out" 2>&1
check "--time-budget: exit 0" test $? = 0
check "--time-budget: says it is used up" grep -q "sweep: the time budget (0.001 s) is used up" "$tmp/s4.out"
check "--time-budget: one trial, continued to 3 epochs" \
    test "$(tail -n +2 "$tmp/s4/trials.csv" | awk -F, '$5 != "" {print $1}')" = 1 -a "$(wc -l <"$tmp/s4/trials.csv")" = 2
check "--time-budget: the best model and its test accuracy" grep -q "test accuracy:" "$tmp/s4.out"

# Another sweep in the same DIR.
"$bin" sweep "${base[@]}" --space "$space" --dir "$tmp/s1" --seed 7 >"$tmp/out" 2>"$tmp/err"
check "another --seed in DIR: exit 2, named" test $? = 2 -a -n "$(grep -F "holds another sweep (seed 42 there, 7 here)" "$tmp/err")"
"$bin" sweep "${base[@]}" --space 'lr=0.00001,0.1' --dir "$tmp/s1" >"$tmp/out" 2>"$tmp/err"
check "another --space in DIR: exit 2, named" test $? = 2 -a -n "$(grep -F "holds another sweep (space" "$tmp/err")"
check "refusals leave trials.jsonl alone" cmp -s "$tmp/s1.jsonl" "$tmp/s1/trials.jsonl"
exit $fail
