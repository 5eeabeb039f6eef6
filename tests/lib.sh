# lib.sh: helpers the shell tests source: `check`, and readers of safetensors model files.
# Sourcing it sets $fail (0) and $tmp (a directory removed on exit).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; fail=1; fi
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
