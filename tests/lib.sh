# lib.sh: helpers the shell tests source: `check`, `need_mnist`, `wait_for`, and readers of
# safetensors model files. Sourcing it sets $fail (0) and $tmp (a directory removed on exit; a
# script that sets its own EXIT trap removes it there).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; fail=1; fi
}
# need_mnist DIR: skips the test (exit 77) unless DIR holds MNIST's test images (data/fetch mnist)
need_mnist() {
    [ -e "$1/t10k-images-idx3-ubyte" ] || [ -e "$1/t10k-images-idx3-ubyte.gz" ] || {
        echo "skip: MNIST not in $1; run data/fetch mnist"
        exit 77
    }
}
# wait_for LOG PID ERE [TENTHS (600)]: waits while process PID lives, up to TENTHS tenths of a
# second, until LOG has a match of the extended regular expression ERE; prints the first match,
# or returns 1 (the process ended, or the time ran out)
wait_for() {
    local hit i
    for ((i = 0; i < ${4:-600}; i++)); do
        hit=$(grep -oE -m1 "$3" "$1" 2>/dev/null | head -1)
        [ -n "$hit" ] && { echo "$hit"; return 0; }
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# same_tensors A B: the two model files hold the same tensors, byte for byte (metadata aside)
same_tensors() {
    python3 - "$1" "$2" <<'PY'
import struct, sys
def body(p):
    b = open(p, "rb").read()
    return b[8 + struct.unpack("<Q", b[:8])[0]:]
sys.exit(0 if body(sys.argv[1]) == body(sys.argv[2]) else 1)
PY
}
# meta_of FILE KEY: a model file's metadata value ("" when absent)
meta_of() {
    python3 -c 'import json, struct, sys
b = open(sys.argv[1], "rb").read()
print(json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])["__metadata__"].get(sys.argv[2], ""))' "$1" "$2"
}
# tensor_cmp A B NAME...: exit 0 when every named tensor has the same shape and bytes in both
# files, 1 when one differs (a name missing from either file is an error: 2)
tensor_cmp() {
    python3 - "$@" <<'PY'
import json, struct, sys
def tensors(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: (v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in h.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
for name in sys.argv[3:]:
    if name not in a or name not in b:
        sys.exit(f"tensor_cmp: {name} missing")
    if a[name] != b[name]:
        sys.exit(1)
PY
}
# shape FILE NAME: a tensor's shape, "26,16"
shape() {
    python3 -c 'import json, struct, sys
b = open(sys.argv[1], "rb").read()
print(",".join(map(str, json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])[sys.argv[2]]["shape"])))' "$1" "$2"
}
