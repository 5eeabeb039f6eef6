#!/usr/bin/env bash
# api_install.sh: libclmnist as a user gets it. Installs the build into a temporary prefix
# (cmake --install), checks what is there (the header, libclmnist.so with its SONAME and only
# clmnist_* exported, libclmnist.a, clmnist.pc, the CMake package, the tool), builds
# examples/train.c and examples/classify.c against the installed tree using only
# <clmnist/clmnist.h>: with `pkg-config --cflags --libs clmnist` and cc (and once statically,
# with pkg-config --static), and with CMake's find_package(clmnist). Then train.c trains a small
# CNN on an MNIST subset and saves it, and classify.c's answers on PNGs of real MNIST test digits
# (one inverted: dark ink on white) equal `clmnist predict`'s on the same files.
# Usage: api_install.sh BUILD_DIR SOURCE_DIR MNIST_DIR
set -u
build=$1 src=$2 data=$3
for tool in cc cmake pkg-config python3 nm readelf; do
    command -v "$tool" >/dev/null || { echo "$tool not found"; exit 77; }
done
. "$(dirname "$0")/lib.sh" # tmp, fail, check
need_mnist "$data"
# check_log LOG DESCRIPTION COMMAND...: check, and show LOG when it fails
check_log() {
    local log=$1
    shift
    local before=$fail
    check "$@"
    [ "$fail" = "$before" ] || cat "$log" >&2
}
export CLMNIST_OPTIONS="backend=host,threads=2" OMP_WAIT_POLICY=passive
prefix=$tmp/prefix lib=$tmp/prefix/lib
version=$(sed -n 's/^#define CLMNIST_VERSION "\(.*\)"/\1/p' "$src/include/clmnist/clmnist.h")
soname=libclmnist.so.${version%.*}

# 1. the installed tree
cmake --install "$build" --prefix "$prefix" >"$tmp/install.txt" 2>&1 || { cat "$tmp/install.txt"; exit 1; }
[ -d "$lib" ] || lib=$(dirname "$(find "$prefix" -name libclmnist.a | head -1)")
check "the header, libclmnist.so, .a, clmnist.pc, the CMake package and the tool are installed" bash -c "\
    [ -f '$prefix/include/clmnist/clmnist.h' ] && [ -f '$lib/libclmnist.so.$version' ] && [ -L '$lib/$soname' ] && \
    [ -f '$lib/libclmnist.a' ] && [ -f '$lib/pkgconfig/clmnist.pc' ] && \
    [ -f '$lib/cmake/clmnist/clmnistConfig.cmake' ] && [ -f '$lib/cmake/clmnist/clmnistConfigVersion.cmake' ] && \
    [ -x '$prefix/bin/clmnist' ]"
check "the SONAME is $soname" bash -c "readelf -d '$lib/libclmnist.so' | grep -q 'SONAME.*\[$soname\]'"
nm -D --defined-only "$lib/libclmnist.so" | awk '{print $3}' >"$tmp/exports.txt"
check "libclmnist.so exports only clmnist_* ($(wc -l <"$tmp/exports.txt") symbols)" bash -c "\
    grep -q '^clmnist_open$' '$tmp/exports.txt' && ! grep -v '^clmnist_' '$tmp/exports.txt'"

# 2. the examples with pkg-config and cc: shared, then static
export PKG_CONFIG_PATH=$lib/pkgconfig
check "pkg-config knows clmnist $version" [ "$(pkg-config --modversion clmnist)" = "$version" ]
for ex in train classify; do
    cc -std=c11 -Wall -Wextra -Werror "$src/examples/$ex.c" -o "$tmp/${ex}_pc" $(pkg-config --cflags --libs clmnist) \
        >"$tmp/cc_$ex.txt" 2>&1
    check_log "$tmp/cc_$ex.txt" "examples/$ex.c builds with pkg-config" [ $? = 0 ]
done
cc -std=c11 -Wall "$src/examples/classify.c" -o "$tmp/classify_static" $(pkg-config --cflags clmnist) \
    "$lib/libclmnist.a" $(pkg-config --static --libs clmnist | sed 's/-lclmnist\b//') >"$tmp/cc_static.txt" 2>&1
check_log "$tmp/cc_static.txt" "examples/classify.c links libclmnist.a with pkg-config --static" [ $? = 0 ]
check "... and does not need libclmnist.so" bash -c "! ldd '$tmp/classify_static' | grep -q libclmnist"

# 3. the examples with CMake's find_package(clmnist)
cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$tmp/ex.txt" 2>&1 &&
    cmake --build "$tmp/ex" >>"$tmp/ex.txt" 2>&1
check_log "$tmp/ex.txt" "examples/ build with find_package(clmnist)" [ $? = 0 ]
check "... linked to the installed $soname" bash -c "ldd '$tmp/ex/classify' | grep -q '$lib/$soname'"

# 4. train.c trains and saves a model (1 epoch on the first 2000 images); classify.c agrees with predict
LD_LIBRARY_PATH=$lib "$tmp/train_pc" "$data" "$tmp/cnn.safetensors" 1 2000 >"$tmp/train.txt" 2>&1
check_log "$tmp/train.txt" "train.c trains and saves a model" bash -c "grep -q '^epoch 1/1: ' '$tmp/train.txt' && \
    grep -q '^saved $tmp/cnn.safetensors' '$tmp/train.txt'"
check "... a CNN that learnt something (test accuracy over 50%)" python3 -c "
import re, sys; sys.exit(float(re.search(r'test accuracy ([0-9.]+)', open(sys.argv[1]).read()).group(1)) <= 0.5)" \
    "$tmp/train.txt"
python3 - "$data" "$tmp" <<'EOF'
import gzip, os, struct, sys, zlib
d, t = sys.argv[1], sys.argv[2]
p = os.path.join(d, "t10k-images-idx3-ubyte")
raw = open(p, "rb").read() if os.path.exists(p) else gzip.open(p + ".gz").read()
def png(path, rows):  # 8-bit grayscale, no filter
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    data = b"".join(b"\0" + bytes(r) for r in rows)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))
for i in range(6):
    img = raw[16 + 784 * i:16 + 784 * (i + 1)]
    rows = [img[28 * y:28 * (y + 1)] for y in range(28)]
    if i == 5:
        rows = [bytes(255 - v for v in r) for r in rows]  # dark ink on white paper
    png(os.path.join(t, "digit%d.png" % i), rows)
EOF
LD_LIBRARY_PATH=$lib "$tmp/classify_pc" "$tmp/cnn.safetensors" "$tmp"/digit*.png >"$tmp/classify.txt" 2>&1
check_log "$tmp/classify.txt" "classify.c classifies the 6 PNGs" \
    [ "$(grep -cE '^.*digit[0-9].png: [0-9] [0-9] [01]\.[0-9]{4}$' "$tmp/classify.txt")" = 6 ]
"$tmp/ex/classify" "$tmp/cnn.safetensors" "$tmp"/digit*.png >"$tmp/classify_cmake.txt" 2>&1
"$tmp/classify_static" "$tmp/cnn.safetensors" "$tmp"/digit*.png >"$tmp/classify_static.txt" 2>&1
check "the CMake and static builds of classify.c say the same" bash -c "\
    cmp -s '$tmp/classify.txt' '$tmp/classify_cmake.txt' && cmp -s '$tmp/classify.txt' '$tmp/classify_static.txt'"
"$prefix/bin/clmnist" predict --model "$tmp/cnn.safetensors" --backend host --threads 2 --json "$tmp"/digit*.png \
    >"$tmp/predict.json" 2>&1
python3 - "$tmp/predict.json" >"$tmp/predict.txt" <<'EOF'
import json, sys
for p in json.load(open(sys.argv[1])):
    print("%s: %d %s %.4f" % (p["file"], p["class"], p["name"], p["probability"]))
EOF
check_log "$tmp/predict.json" "classify.c's answers equal clmnist predict's (class, name, probability)" \
    cmp "$tmp/classify.txt" "$tmp/predict.txt"
check "... which got most of the 6 digits right" python3 -c "
import sys
truth = [7, 2, 1, 0, 4, 1]
got = [int(l.split()[1]) for l in open(sys.argv[1])]
sys.exit(sum(a == b for a, b in zip(truth, got)) < 4)" "$tmp/classify.txt"
exit $fail
