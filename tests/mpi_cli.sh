#!/usr/bin/env bash
# mpi_cli.sh: `clmnist train` under mpirun against the same run in one process.
#  1. a whole epoch of MNIST (MLP, host backend) on 2 ranks x batch 50 reaches the test accuracy
#     of 1 process x batch 100 within 0.1 points, and its parameters agree within 1e-4 relative
#     L2; only rank 0 prints (one summary line) and writes the model;
#  2. -np 3 with --batch 100 is refused, one line saying why, exit code 2, nothing trained;
#  3. a rank whose data is truncated (visible to that rank only: mpirun's MPMD form) ends the
#     whole job with a line naming the rank and the file, within a timeout;
#  4. a rank failing in the middle of a run (CLMNIST_TEST_RANK_FAIL) ends the job: no rank hangs;
#  5. resume at 2 ranks from a checkpoint written by 1 process, and the reverse, end where the
#     uninterrupted 1-process run ends (parameters within 1e-4 relative L2);
#  6. `clmnist devices` under mpirun names each rank's device;
#  7. SIGUSR1 to rank 1 alone stops every rank after the same step, and rank 0 saves the model;
#  8. `bench --profile` under mpirun prints rank 0's profile with the gradient sum's row.
# Usage: mpi_cli.sh path/to/clmnist MNIST_DIR mpiexec [mpiexec flags...]
set -u
bin=$1 data=$(cd "$2" 2>/dev/null && pwd) || data=$2 # a missing directory skips below
shift 2
mpirun=("$@")
[ -e "$data/train-images-idx3-ubyte" ] || [ -e "$data/train-images-idx3-ubyte.gz" ] || {
    echo "MNIST not in $data; run data/fetch mnist"
    exit 77
}
. "$(dirname "$0")/lib.sh" # tmp, fail, check, safetensors readers
acc() { grep -o 'test accuracy: [0-9.]*%' "$1" | tail -1 | grep -o '[0-9.]*'; }
within() { python3 -c "import sys; sys.exit(0 if abs($1 - $2) <= $3 else 1)"; }
# relative L2 distance of two model files' tensors (safetensors: 8-byte header length, JSON, data)
rel_l2() {
    python3 - "$1" "$2" <<'EOF'
import json, struct, sys, math
def load(p):
    b = open(p, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n]); base = 8 + n; out = []
    for k in sorted(h):
        if k == '__metadata__' or h[k]['dtype'] != 'F32': continue
        s, e = h[k]['data_offsets']
        out += struct.unpack('<%df' % ((e - s) // 4), b[base + s:base + e])
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
d = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b))); r = math.sqrt(sum(y * y for y in b))
print('%.3g' % (d / r if len(a) == len(b) else float('inf')))
EOF
}
small() { python3 -c "import sys; sys.exit(0 if float('$1') <= $2 else 1)"; }
run_mpi() { # run_mpi SECONDS NP ARGS... : under a timeout, never hangs the test
    local secs=$1 np=$2
    shift 2
    timeout -k 10 "$secs" "${mpirun[@]}" -np "$np" "$bin" "$@"
}
common=(--data "$data" --backend host --layers 128 --epochs 1 --batch 100 --lr 0.05 --seed 3)

# 1. a whole epoch: 2 ranks x 50 against 1 process x 100
"$bin" train "${common[@]}" --threads 1 --out "$tmp/one.safetensors" >"$tmp/one.txt" 2>&1 || { cat "$tmp/one.txt"; exit 1; }
run_mpi 300 2 train "${common[@]}" --out "$tmp/two.safetensors" >"$tmp/two.txt" 2>"$tmp/two.err"
check "2 ranks train a whole epoch" [ $? = 0 ]
a1=$(acc "$tmp/one.txt") a2=$(acc "$tmp/two.txt")
check "test accuracy of 2 ranks ($a2%) within 0.1 points of 1 process ($a1%)" within "${a2:-0}" "${a1:-100}" 0.1
r=$(rel_l2 "$tmp/two.safetensors" "$tmp/one.safetensors")
check "parameters after the epoch within 1e-4 relative L2 of 1 process ($r)" small "$r" 1e-4
check "one summary line (rank 0 alone prints)" [ "$(grep -c 'test accuracy:' "$tmp/two.txt")" = 1 ]
check "rank 0 says how the batch is split" grep -q "data parallel: 2 ranks.*batch 50 per rank" "$tmp/two.txt"

# 2. a batch that does not split over 3 ranks: refused, one line, exit code 2
run_mpi 120 3 train "${common[@]}" --no-save >"$tmp/three.txt" 2>"$tmp/three.err"
code=$?
check "-np 3 --batch 100 exits with code 2 (got $code)" [ $code = 2 ]
check "one error line saying why" [ "$(grep -c 'clmnist: error' "$tmp/three.err")" = 1 ]
check "it names the batch and the ranks" grep -q "batch 100 does not split over 3 ranks.*multiple of 3" "$tmp/three.err"
check "nothing was trained" bash -c "! grep -q 'epoch 1/1' '$tmp/three.txt'"

# 3. one rank's data is truncated: the job ends with that rank's error
mkdir -p "$tmp/bad"
for f in "$data"/*-ubyte*; do ln -s "$f" "$tmp/bad/"; done
rm -f "$tmp/bad"/train-images-idx3-ubyte*
head -c 1000000 "$data"/train-images-idx3-ubyte >"$tmp/bad/train-images-idx3-ubyte"
bad_args=(--backend host --layers 32 --epochs 1 --batch 100 --no-save)
timeout -k 10 120 "${mpirun[@]}" -np 1 "$bin" train --data "$data" "${bad_args[@]}" : \
    -np 1 "$bin" train --data "$tmp/bad" "${bad_args[@]}" >"$tmp/bad.txt" 2>"$tmp/bad.err"
code=$?
check "bad data on rank 1: the job fails with its code, 1 (got $code), no timeout" [ $code = 1 ]
check "the error names rank 1 and the file" grep -q "clmnist: error: rank 1 of 2: .*train-images" "$tmp/bad.err"

# 4. a rank failing mid-run (its 5th gradient sum) ends the job; the other rank does not hang
CLMNIST_TEST_RANK_FAIL=1:5 run_mpi 120 2 train "${common[@]}" --limit 2000 --no-save >"$tmp/mid.txt" 2>"$tmp/mid.err"
code=$?
check "a rank failing mid-run ends the job (code $code), no timeout" bash -c "[ $code != 0 ] && [ $code != 124 ] && [ $code != 137 ]"
check "one line names the rank and its error" grep -q "clmnist: error: rank 1 of 2: CLMNIST_TEST_RANK_FAIL" "$tmp/mid.err"

# 5. resume across rank counts: 1 -> 2 and 2 -> 1 end where the uninterrupted 1-process run ends
res=(--data "$data" --backend host --layers 64 --epochs 2 --batch 100 --limit 10000 --seed 4)
"$bin" train "${res[@]}" --threads 1 --out "$tmp/whole.safetensors" >"$tmp/whole.txt" 2>&1
"$bin" train "${res[@]}" --threads 1 --stop-after 1 --checkpoint-every 1 --checkpoint "$tmp/ck1.safetensors" \
    --no-save >"$tmp/ck1.txt" 2>&1
run_mpi 300 2 train --data "$data" --backend host --resume "$tmp/ck1.safetensors" --out "$tmp/r12.safetensors" \
    >"$tmp/r12.txt" 2>&1
check "2 ranks resume a 1-process checkpoint" grep -q "resuming after epoch 1 of 2" "$tmp/r12.txt"
r=$(rel_l2 "$tmp/r12.safetensors" "$tmp/whole.safetensors")
check "1 -> 2 ranks ends within 1e-4 relative L2 of the uninterrupted run ($r)" small "$r" 1e-4
run_mpi 300 2 train "${res[@]}" --stop-after 1 --checkpoint-every 1 --checkpoint "$tmp/ck2.safetensors" --no-save \
    >"$tmp/ck2.txt" 2>&1
check "2 ranks write one checkpoint (rank 0)" [ -s "$tmp/ck2.safetensors" ]
"$bin" train --data "$data" --backend host --threads 1 --resume "$tmp/ck2.safetensors" --out "$tmp/r21.safetensors" \
    >"$tmp/r21.txt" 2>&1
check "1 process resumes a 2-rank checkpoint" grep -q "resuming after epoch 1 of 2" "$tmp/r21.txt"
r=$(rel_l2 "$tmp/r21.safetensors" "$tmp/whole.safetensors")
check "2 -> 1 ranks ends within 1e-4 relative L2 of the uninterrupted run ($r)" small "$r" 1e-4

# 6. devices under mpirun: one line per rank
run_mpi 120 2 devices >"$tmp/dev.txt" 2>&1
check "devices names rank 0's and rank 1's device" \
    bash -c "grep -q '^rank 0 of 2 on .*device' '$tmp/dev.txt' && grep -q '^rank 1 of 2 on .*device' '$tmp/dev.txt'"

# 7. SIGUSR1 to rank 1 alone stops every rank after the same step; rank 0 saves the model
"${mpirun[@]}" -np 2 "$bin" train --data "$data" --backend host --layers 32 --epochs 50 --limit 20000 \
    --out "$tmp/stop.safetensors" >"$tmp/stop.txt" 2>&1 &
job=$!
for _ in $(seq 1 300); do grep -q "epoch 1/50" "$tmp/stop.txt" && break; sleep 0.2; done
for p in $(pgrep -f "$tmp/stop.safetensors"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && kill -USR1 "$p"
done
for _ in $(seq 1 600); do kill -0 $job 2>/dev/null || break; sleep 0.2; done
kill -0 $job 2>/dev/null && { kill $job; echo "the stopped run did not end within 120 s" >>"$tmp/stop.txt"; }
wait $job
code=$?
check "SIGUSR1 to rank 1: the job ends with code 0 (got $code)" [ $code = 0 ]
check "rank 0 reports the stop" grep -q "stopped at step [0-9]* of epoch\|stopped after epoch" "$tmp/stop.txt"
check "and saves the model" [ -s "$tmp/stop.safetensors" ]

# 8. bench --profile under mpirun: rank 0's profile with the gradient sum's row; without --profile, refused
run_mpi 120 2 bench --profile --no-memory --backends host --batches 64 --steps 5 --warmup 1 --data "$data" --limit 2000 \
    >"$tmp/bench.txt" 2>&1
check "bench --profile under mpirun runs" grep -q "data parallel: 2 ranks x batch 32 (global 64)" "$tmp/bench.txt"
check "its profile has the gradient sum's row" grep -q "gradient sum (download, MPI_Allreduce, upload) .*% of the wall" \
    "$tmp/bench.txt"
run_mpi 120 2 bench --backends host --data "$data" >"$tmp/bench2.txt" 2>"$tmp/bench2.err"
code=$?
check "bench without --profile under mpirun: exit 2 (got $code), one line" \
    bash -c "[ $code = 2 ] && [ \$(grep -c 'clmnist: error: under mpirun, bench measures' '$tmp/bench2.err') = 1 ]"

[ $fail = 0 ] || { for f in "$tmp"/*.txt "$tmp"/*.err; do echo "== $f"; tail -5 "$f"; done; }
exit $fail
