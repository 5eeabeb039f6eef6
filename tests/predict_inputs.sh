#!/usr/bin/env bash
# predict_inputs.sh: what `clmnist predict` takes and writes. A Kaggle-style test.csv without
# labels gives a submission file (ImageId from 1, one row per CSV row, each Label the class
# --csv gives that row); a labelled CSV reports its accuracy; a folder is read recursively in
# sorted order (other files skipped); '-' reads one image on stdin (the class of that file);
# --json keeps the input order with a failed file reported in place; --csv and --save-input
# (28x28 PNGs) match the answers. Every input is written here from MNIST's test images.
# Usage: predict_inputs.sh path/to/clmnist MNIST_DIR
set -u
bin=$1 data=$2
. "$(dirname "$0")/lib.sh" # tmp, fail, check
need_mnist "$data"
model=$tmp/m.safetensors
"$bin" train --data "$data" --backend host --layers 64 --epochs 2 --limit 6000 --threads 2 --out "$model" \
    >"$tmp/train.txt" 2>&1 || { cat "$tmp/train.txt"; exit 1; }
p() { "$bin" predict --model "$model" --backend host --threads 2 "$@"; }

# the first 60 test images: test.csv (no label column), labelled.csv, PNG files in a tree
python3 - "$data" "$tmp" <<'EOF'
import gzip, os, struct, sys, zlib
def idx(stem):
    p = os.path.join(sys.argv[1], stem)
    return (open(p, "rb") if os.path.exists(p) else gzip.open(p + ".gz")).read()
img, lab = idx("t10k-images-idx3-ubyte")[16:], idx("t10k-labels-idx1-ubyte")[8:]
n, t = 60, sys.argv[2]
def png(path, px):
    raw = b"".join(b"\0" + px[r * 28:(r + 1) * 28] for r in range(28))
    chunk = lambda k, d: struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
with open(t + "/test.csv", "w") as f, open(t + "/labelled.csv", "w") as g, open(t + "/truth.txt", "w") as h:
    f.write(",".join("pixel%d" % i for i in range(784)) + "\n")
    g.write("label," + ",".join("pixel%d" % i for i in range(784)) + "\n")
    for k in range(n):
        row = ",".join(str(b) for b in img[k * 784:(k + 1) * 784])
        f.write(row + "\n"), g.write("%d,%s\n" % (lab[k], row)), h.write("%d\n" % lab[k])
for d in ("tree/b", "tree/a/deep"):
    os.makedirs(os.path.join(t, d))
for name, k in (("tree/b/2.png", 2), ("tree/a/1.png", 1), ("tree/c.png", 3), ("tree/a/deep/0.png", 0),
                ("good1.png", 4), ("good2.png", 5)):
    png(os.path.join(t, name), img[k * 784:(k + 1) * 784])
open(t + "/tree/a/notes.txt", "w").write("not an image\n")
open(t + "/bad.png", "wb").write(b"\x89PNG\r\n\x1a\n truncated")
EOF

# 1. Kaggle: a submission from an unlabelled test.csv, checked row by row against --csv
p --data "$tmp/test.csv" --submission "$tmp/sub.csv" --csv >"$tmp/rows.csv" 2>"$tmp/sub.err"
check "predict --data test.csv --submission runs" [ $? = 0 ]
check "the submission's header is ImageId,Label" [ "$(head -1 "$tmp/sub.csv")" = "ImageId,Label" ]
check "the submission has one row per CSV row (60)" [ "$(tail -n +2 "$tmp/sub.csv" | wc -l)" = 60 ]
check "ImageId runs 1..60 in order" [ "$(tail -n +2 "$tmp/sub.csv" | cut -d, -f1 | tr '\n' ' ')" = "$(seq -s ' ' 1 60) " ]
check "each Label is the class --csv gives that row (test.csv#N)" python3 - "$tmp/sub.csv" "$tmp/rows.csv" <<'EOF'
import csv, sys
sub = {int(r["ImageId"]): r["Label"] for r in csv.DictReader(open(sys.argv[1]))}
rows = {int(r["file"].rsplit("#", 1)[1]): r["name"] for r in csv.DictReader(open(sys.argv[2]))}
sys.exit(0 if sub == rows and len(sub) == 60 else 1)
EOF
check "the submission is mostly right (the labels are known here)" python3 - "$tmp/sub.csv" "$tmp/truth.txt" <<'EOF'
import csv, sys
truth = [int(l) for l in open(sys.argv[2])]
right = sum(int(r["Label"]) == truth[int(r["ImageId"]) - 1] for r in csv.DictReader(open(sys.argv[1])))
sys.exit(0 if right >= 50 else 1)
EOF
check "unlabelled data reports no accuracy" [ "$(grep -c accuracy "$tmp/sub.err")" = 0 ]
p --data "$tmp/labelled.csv" >/dev/null 2>"$tmp/lab.err"
check "a labelled CSV reports its accuracy ($(cat "$tmp/lab.err"))" grep -qE "^accuracy: [0-9.]+% \([0-9]+ of 60 labelled" "$tmp/lab.err"
p --data "$tmp/test.csv" --submission "$tmp/nodir/sub.csv" >/dev/null 2>"$tmp/nodir.err"
check "an unwritable --submission fails with one line" [ $? != 0 -a "$(wc -l <"$tmp/nodir.err")" = 1 ]

# 2. a folder: recursively, in sorted order, images only
p --json "$tmp/tree" >"$tmp/tree.json"
check "a folder: its images in sorted order, recursively" python3 - "$tmp/tree.json" "$tmp/tree" <<'EOF'
import json, sys
got = [a["file"] for a in json.load(open(sys.argv[1]))]
want = [sys.argv[2] + f for f in ("/a/1.png", "/a/deep/0.png", "/b/2.png", "/c.png")]
sys.exit(0 if got == want else "%s != %s" % (got, want))
EOF

# 3. stdin
p --json - <"$tmp/tree/a/1.png" >"$tmp/stdin.json"
check "'-' reads the image on stdin: the file's class" python3 - "$tmp/stdin.json" "$tmp/tree.json" <<'EOF'
import json, sys
s, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sys.exit(0 if s[0]["file"] == "-" and s[0]["class"] == t[0]["class"] and len(s) == 1 else 1)
EOF

# 4. JSON in input order, a failed file in place; --csv; --save-input
p --json --save-input "$tmp/seen" "$tmp/good1.png" "$tmp/bad.png" "$tmp/good2.png" >"$tmp/order.json" 2>"$tmp/order.err"
check "a failed file: non-zero exit, one line on stderr" [ $? != 0 -a "$(wc -l <"$tmp/order.err")" = 1 ]
check "--json keeps the input order, the failed file in place with its error" python3 - "$tmp/order.json" "$tmp" <<'EOF'
import json, sys
a, t = json.load(open(sys.argv[1])), sys.argv[2]
ok = [x["file"] for x in a] == [t + "/good1.png", t + "/bad.png", t + "/good2.png"]
ok = ok and "error" in a[1] and "bad.png" in a[1]["error"] and "class" not in a[1]
fields = {"file", "class", "name", "probability", "probabilities", "top", "uncertain", "inverted", "input"}
ok = ok and all(set(a[i]) == fields and isinstance(a[i]["uncertain"], bool) for i in (0, 2))
ok = ok and all(abs(sum(a[i]["probabilities"]) - 1) < 1e-4 and a[i]["top"][0]["class"] == a[i]["class"] for i in (0, 2))
sys.exit(0 if ok else 1)
EOF
check "--save-input: a 28x28 PNG for each image read" python3 - "$tmp/order.json" <<'EOF'
import json, struct, sys
a = json.load(open(sys.argv[1]))
pngs = [open(x["input"], "rb").read() for x in a if "input" in x]
sys.exit(0 if len(pngs) == 2 and all(struct.unpack(">II", b[16:24]) == (28, 28) for b in pngs) else 1)
EOF
p --csv "$tmp/good1.png" "$tmp/bad.png" "$tmp/good2.png" >"$tmp/order.csv" 2>/dev/null
check "--csv: file,class,name,probability for each image read, the JSON's answers" python3 - "$tmp/order.csv" "$tmp/order.json" <<'EOF'
import csv, json, sys
rows, a = list(csv.DictReader(open(sys.argv[1]))), json.load(open(sys.argv[2]))
ok = list(rows[0].keys()) == ["file", "class", "name", "probability"] and len(rows) == 2
ok = ok and [(r["file"], int(r["class"])) for r in rows] == [(x["file"], x["class"]) for x in (a[0], a[2])]
sys.exit(0 if ok else 1)
EOF
p "$tmp/good1.png" >"$tmp/text.txt"
check "text: the answer and its top 3" grep -qE "good1.png: [0-9] \([0-9.]+%\)  top-3:( [0-9] [0-9.]+%){3}" "$tmp/text.txt"
p --json --csv "$tmp/good1.png" >/dev/null 2>&1
check "--json with --csv is refused" [ $? != 0 ]
exit $fail
