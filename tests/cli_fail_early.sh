#!/usr/bin/env bash
# cli_fail_early.sh: what would fail late fails first (issue 24, item 4). An unwritable --out,
# --checkpoint, --report or --predictions, a --device that matches nothing and a port in use each
# fail with one line before any data is read: no "data:" line, no epoch (the time taken is
# logged, not asserted). When the final save (or a checkpoint) fails anyway on a full disk (a 16k
# tmpfs, mounted in a user namespace by unshare), the model goes to the rescue file the error
# names. Usage: cli_fail_early.sh path/to/clmnist data/mnist
set -u
bin=$1
data=$2
source "$(dirname "$0")/lib.sh"
cd "$tmp" || exit 1
[ -f "$data/train-images-idx3-ubyte" ] || [ -f "$data/train-images-idx3-ubyte.gz" ] || {
    echo "skip: no MNIST in $data"
    exit 77
}
small=(--data "$data" --limit 1000 --layers 32 --epochs 20 --backend host)

# early PATTERN ARGS...: clmnist ARGS fails at once: exit != 0, one stderr line matching PATTERN,
# nothing loaded (no "data:", "epoch", "eval:" or "serve:" line on stdout)
early() {
    local pattern=$1
    shift
    local t0 t1 code
    t0=$(date +%s.%N)
    "$bin" "$@" >out.txt 2>err.txt
    code=$?
    t1=$(date +%s.%N)
    echo "clmnist $*: exit $code in $(echo "$t1 - $t0" | bc) s: $(cat err.txt)"
    check "$* fails before the work" bash -c "[ $code != 0 ] && [ \$(grep -c . err.txt) = 1 ] && \
        grep -q -- \"$pattern\" err.txt && ! grep -Eq '^(data|epoch|eval|serve|model)[ :]' out.txt"
}

mkdir -p ok && touch afile
early "\-\-out missing/m.safetensors: 'missing' does not exist" train "${small[@]}" --out missing/m.safetensors
early "\-\-out ok: is a directory" train "${small[@]}" --out ok
early "\-\-checkpoint afile/c.safetensors: 'afile' is not a directory" \
    train "${small[@]}" --checkpoint-every 1 --checkpoint afile/c.safetensors
early "\-\-report afile/r: cannot create the directory" train "${small[@]}" --report afile/r
early "\-\-device 99: no such device .*clmnist devices" train "${small[@]}" --backend device --device 99
early "\-\-device 'no-such-gpu': no OpenCL device matches .*clmnist devices" train "${small[@]}" --backend auto \
    --device no-such-gpu
"$bin" train "${small[@]}" --epochs 1 --out m.safetensors >/dev/null 2>&1
early "\-\-predictions missing/p.txt: 'missing' does not exist" eval --model m.safetensors --data "$data" \
    --backend host --predictions missing/p.txt
early "\-\-report afile/r: cannot create the directory" eval --model m.safetensors --data "$data" --report afile/r
early "\-\-device 99: no such device" eval --model m.safetensors --data "$data" --device 99

# A port another process holds (a Python socket, port chosen by the kernel).
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >port.txt &
holder=$!
for _ in $(seq 100); do [ -s port.txt ] && break; sleep 0.1; done
port=$(cat port.txt)
early "port $port: the port is in use" train "${small[@]}" --serve "$port"
early "port $port: the port is in use" serve --model m.safetensors --data "$data" --port "$port"
kill "$holder"
wait "$holder" 2>/dev/null

# The rescue file: the final save, then a checkpoint, on a full disk.
mkdir -p full
if unshare -rm true 2>/dev/null; then
    unshare -rm sh -c 'mount -t tmpfs -o size=16k tmpfs full && exec "$0" "$@"' "$bin" train "${small[@]}" \
        --epochs 1 --out full/m.safetensors >rescue.txt 2>rescue.err
    code=$?
    cat rescue.err
    rescued=$(grep -o '/[^ ]*clmnist-rescue-[0-9]*\.safetensors' rescue.err)
    check "a failed final save exits 1 naming the rescue file" bash -c "[ $code = 1 ] && \
        grep -q 'full/m.safetensors: write failed: No space left on device.*saved to .*clmnist-rescue-' rescue.err"
    check "the rescue file holds the trained model" bash -c "[ -n '$rescued' ] && \
        '$bin' eval --model '$rescued' --data '$data' --backend host | grep -q '^test accuracy'"
    rm -f clmnist-rescue-*
    unshare -rm sh -c 'mount -t tmpfs -o size=16k tmpfs full && exec "$0" "$@"' "$bin" train "${small[@]}" \
        --epochs 3 --checkpoint-every 1 --checkpoint full/c.safetensors --out m3.safetensors >ckpt.txt 2>ckpt.err
    code=$?
    cat ckpt.err
    check "a checkpoint that fails to save stops the run, and the model goes to the rescue file" bash -c "\
        [ $code = 1 ] && grep -q 'full/c.safetensors: write failed.*saved to .*clmnist-rescue-' ckpt.err && \
        ls clmnist-rescue-*.safetensors >/dev/null"
else
    echo "skip: the rescue-file checks (unshare -rm cannot mount a tmpfs here)"
fi
exit $fail
