#!/usr/bin/env bash
# scripts/photo_bench.sh: a model's accuracy on the photo-like digits of scripts/make_photo_set.py,
# one kind at a time (every image through `clmnist predict`, as a user's photo would go), next to
# its accuracy on MNIST's own test set (`clmnist eval`). docs/RESULTS.md, "Photos of digits".
#
# usage: scripts/photo_bench.sh MODEL [PHOTOS [MNIST]]
#   MODEL   a model file from `clmnist train`
#   PHOTOS  the folder make_photo_set.py wrote (default photos): PHOTOS/KIND/CLASS/*.jpg
#   MNIST   MNIST's IDX files for the eval line (default data/mnist)
# Prints a Markdown table: kind, images, accuracy, uncertain answers; then all kinds together.
# Environment: CLMNIST (the binary, default build/clmnist), BACKEND (default host).
set -euo pipefail
model=${1:?usage: scripts/photo_bench.sh MODEL [PHOTOS [MNIST]]}
photos=${2:-photos}
mnist=${3:-data/mnist}
bin=${CLMNIST:-build/clmnist}
backend=${BACKEND:-host}
[ -d "$photos" ] || { echo "photo_bench.sh: $photos: no such folder (make it with scripts/make_photo_set.py)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

acc=$("$bin" eval --model "$model" --backend "$backend" --data "$mnist" 2>/dev/null | sed -n 's/^test accuracy: //p')
# the same test digits as the photos show, as MNIST has them (predict --data: rows from 1)
"$bin" predict --model "$model" --backend "$backend" --data "$mnist" --csv >"$tmp/mnist.csv" 2>/dev/null
same=$(python3 - "$tmp/mnist.csv" "$photos" "$mnist" <<'PY'
import csv, glob, gzip, os, sys
picked = {int(os.path.splitext(os.path.basename(f))[0]) for f in glob.glob(os.path.join(sys.argv[2], "*", "*", "*.jpg"))}
path = os.path.join(sys.argv[3], "t10k-labels-idx1-ubyte")
labels = (gzip.open(path + ".gz") if not os.path.exists(path) else open(path, "rb")).read()[8:]
rows = {int(r["file"].rsplit("#", 1)[1]) - 1: int(r["class"]) for r in csv.DictReader(open(sys.argv[1]))}
right = sum(1 for i in picked if rows.get(i) == labels[i])
print("%d %.2f%%" % (len(picked), 100.0 * right / max(len(picked), 1)))
PY
)
echo "| kind | images | accuracy | uncertain |"
echo "|---|---:|---:|---:|"
echo "| MNIST test set (\`eval\`) | 10000 | $acc | |"
echo "| the same digits as MNIST has them (\`predict --data\`) | ${same% *} | ${same#* } | |"
for dir in "$photos"/*/; do
    kind=$(basename "$dir")
    "$bin" predict --model "$model" --backend "$backend" --json "$dir" >"$tmp/$kind.json" 2>"$tmp/$kind.err" || true
    python3 - "$tmp/$kind.json" "$kind" >>"$tmp/rows" <<'PY'
import json, os, sys
answers = json.load(open(sys.argv[1]))
n = len(answers)
right = sum(1 for a in answers if "class" in a and a["name"] == os.path.basename(os.path.dirname(a["file"])))
unsure = sum(1 for a in answers if a.get("uncertain"))
failed = sum(1 for a in answers if "error" in a)
print(f"{sys.argv[2]} {n} {right} {unsure} {failed}")
PY
    read -r k n right unsure failed < <(tail -n 1 "$tmp/rows")
    python3 -c "import sys; k,n,r,u,f=sys.argv[1:]; n,r,u,f=int(n),int(r),int(u),int(f); \
print('| %s | %d | %.2f%% | %.1f%% |' % (k, n, 100.0*r/max(n,1), 100.0*u/max(n,1)) + (' (%d unreadable)' % f if f else ''))" \
        "$k" "$n" "$right" "$unsure" "$failed"
done
python3 - "$tmp/rows" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
n = sum(int(r[1]) for r in rows); right = sum(int(r[2]) for r in rows); unsure = sum(int(r[3]) for r in rows)
print("| **all photo kinds** | %d | **%.2f%%** | %.1f%% |" % (n, 100.0 * right / max(n, 1), 100.0 * unsure / max(n, 1)))
PY
