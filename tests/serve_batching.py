#!/usr/bin/env python3
"""serve_batching.py: clmnist serve's dynamic batching (--max-batch, --batch-wait-ms) gives every
request its own answer. 96 distinct MNIST test digits (PNG) go to a batching server from 16
threads at once, twice over; each answer must match
  - a serial run: the same image posted alone to a server started with --batch-wait-ms 0 (no
    batching): the same class and all probabilities within 2e-6 + 1e-5 relative;
  - `clmnist predict --json` on the same file: the same class, its probability and the top 3.
Batches must have formed: the batching server's last line says N predictions in fewer than N
forward passes (a wait of 200 ms and 16 workers make batches of several certain, whatever the
machine's load). Both servers stop cleanly on SIGTERM.
Usage: serve_batching.py CLMNIST MNIST_DIR MODEL TMPDIR
"""
import http.client
import json
import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import Server, mnist_test_images, png_gray  # noqa: E402

CLASS, PROBS = "class", "probabilities"  # /api/predict's fields
N, THREADS = 96, 16
binary, data, model, tmp = sys.argv[1:5]
images, _ = mnist_test_images(data)
pngs = [png_gray(images[i * 784:(i + 1) * 784], 28, 28) for i in range(N)]
files = []
for i, png in enumerate(pngs):
    files.append(os.path.join(tmp, "d%03d.png" % i))
    open(files[-1], "wb").write(png)
failures = []


def check(what, ok):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def post(port, png):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/api/predict", png, {"Content-Type": "image/png"})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError("%d %s" % (r.status, body[:200]))
    return json.loads(body)


def close(a, b):
    return abs(a - b) <= 2e-6 + 1e-5 * abs(b)


# (--per-client: every client of this test is 127.0.0.1)
batched = Server(binary, ["--model", model, "--backend", "host", "--per-client", "256", "--workers", str(THREADS),
                          "--contexts", "2",
                          "--batch-wait-ms", "200"], os.path.join(tmp, "batched.log"))
serial = Server(binary, ["--model", model, "--backend", "host", "--per-client", "256", "--batch-wait-ms", "0"],
                os.path.join(tmp, "serial.log"))
try:
    check("the batching server says so", "batching up to 16" in batched.output())
    check("--batch-wait-ms 0 turns batching off", "batching" not in serial.output())
    ref = [post(serial.port, png) for png in pngs]
    got = [[None] * N for _ in range(2)]
    errors = []

    def client(t):
        try:
            for k in range(t, 2 * N, THREADS):
                got[k // N][k % N] = post(batched.port, pngs[k % N])
        except Exception as e:  # noqa: BLE001
            errors.append(str(e))

    threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("every concurrent request answered 200 %s" % errors[:1], not errors)
    bad = [(r, i) for r in range(2) for i in range(N) if not errors and (
        got[r][i][CLASS] != ref[i][CLASS] or len(got[r][i][PROBS]) != len(ref[i][PROBS]) or
        not all(close(a, b) for a, b in zip(got[r][i][PROBS], ref[i][PROBS])))]
    check("%d concurrent answers equal the serial ones (class, every probability) %s" % (2 * N, bad[:3]), not bad)
finally:
    codes = (batched.stop(), serial.stop())
check("both servers exit 0 on SIGTERM %s" % (codes,), codes == (0, 0))
m = re.search(r"serve: (\d+) predictions in (\d+) forward passes", batched.output())
check("batches formed: %s" % (m.group(0) if m else "no count line"), m and int(m.group(2)) < int(m.group(1)) == 2 * N)
pred = json.loads(subprocess.check_output([binary, "predict", "--model", model, "--backend", "host", "--json"] + files))
bad = [i for i in range(N) if not errors and (
    pred[i]["class"] != got[0][i][CLASS] or not close(got[0][i][PROBS][pred[i]["class"]], pred[i]["probability"]) or
    not all(close(got[0][i][PROBS][t["class"]], t["probability"]) for t in pred[i]["top"]))]
check("the answers equal `clmnist predict --json` (class, probability, top 3) %s" % bad[:3], not bad)
print("serve_batching: %d failed" % len(failures))
sys.exit(1 if failures else 0)
