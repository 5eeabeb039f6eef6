#!/usr/bin/env python3
"""serve_soak.py: one clmnist serve answers N requests (SERVE_SOAK_REQUESTS, default 5000), a fixed
mix of good and bad ones, from 4 client threads on kept-alive connections: PNG, JSON and multipart
predictions, random test digits, the model, health, metrics, and bad JSON (400), an unknown type
(415), an unknown path (404), a wrong method (405), a missing token (401), oversize bodies (413,
declared and chunked). Checks: every answer has the status its request should get (no 5xx at all),
the server's resident memory after the warm-up (the first 20%) grows by less than 10% to the end
(skipped under AddressSanitizer, whose quarantine grows by design; LeakSanitizer then checks the
exit instead), and SIGTERM stops it with exit status 0.
Usage: serve_soak.py CLMNIST MNIST_DIR MODEL TMPDIR"""
import http.client
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import Server, mnist_test_images, png_gray  # noqa: E402

binary, data, model, tmp = sys.argv[1:5]
N = int(os.environ.get("SERVE_SOAK_REQUESTS", "5000"))
THREADS = 4
TOKEN = "soak-" + os.urandom(8).hex()
AUTH = {"Authorization": "Bearer " + TOKEN}

images, labels = mnist_test_images(data)
pngs = [png_gray(images[i * 784:(i + 1) * 784], 28, 28) for i in range(16)]
jsons = [json.dumps({"pixels": [b / 255 for b in images[i * 784:(i + 1) * 784]]}).encode() for i in range(16)]
BOUNDARY = "soak-boundary"


def multipart(png):
    return (b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="file"; filename="d.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + png + b"\r\n--" + BOUNDARY.encode() + b"--\r\n")


def case(i):
    """The i-th request: (method, path, body, headers, the status it must get)."""
    k, d = i % 20, (i // 20) % 16
    png = {"Content-Type": "image/png"}
    table = {
        0: ("POST", "/api/predict", pngs[d], png, 200),
        1: ("POST", "/api/predict", jsons[d], {"Content-Type": "application/json"}, 200),
        2: ("POST", "/api/predict", multipart(pngs[d]), {"Content-Type": "multipart/form-data; boundary=" + BOUNDARY},
            200),
        3: ("POST", "/api/predict", pngs[d], {"Content-Type": "application/octet-stream"}, 200),
        4: ("GET", "/api/random", None, {}, 200),
        5: ("GET", "/api/model", None, {}, 200),
        6: ("GET", "/api/health", None, {}, 200),
        7: ("POST", "/api/predict", b'{"pixels": [0, 0', {"Content-Type": "application/json"}, 400),
        8: ("POST", "/api/predict", b"\x89PNG broken", png, 400),
        9: ("POST", "/api/predict", b"7", {"Content-Type": "text/plain"}, 415),
        10: ("GET", "/nope/%d" % i, None, {}, 404),
        11: ("DELETE", "/api/model", None, {}, 405),
        12: ("POST", "/api/predict", pngs[d], dict(png, Authorization="Bearer wrong"), 401),
        13: ("POST", "/api/predict", jsons[d][:-1] + b", \"preprocess\": true}", {"Content-Type": "application/json"},
             200),
        14: ("GET", "/", None, {}, 200),
        15: ("GET", "/metrics", None, {}, 200),
        16: ("POST", "/api/predict", b"\0" * 70000, png, 413),
        17: ("POST", "/api/predict", iter([b"\0" * 16384] * 5), png, 413),  # chunked
        18: ("GET", "/api/random?index=%d" % (i % 10000), None, {}, 200),
        19: ("POST", "/api/predict", b'{"pixels": "no"}', {"Content-Type": "application/json"}, 400),
    }
    method, path, body, headers, want = table[k]
    if k != 12:
        headers = dict(headers, **AUTH)
    return method, path, body, headers, want


results = {"sent": 0, "wrong": [], "5xx": 0, "reset_on_413": 0}
lock = threading.Lock()


def client(first, count, port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(first, first + count):
        method, path, body, headers, want = case(i)
        try:
            c.request(method, path, body=body, headers=headers, encode_chunked=not isinstance(body, (bytes, type(None))))
            r = c.getresponse()
            r.read()
            st = r.status
            if r.getheader("Connection", "").lower() == "close":
                c.close()
        except (OSError, http.client.HTTPException) as e:
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            if want == 413:  # the server may close before the client has sent the whole body
                with lock:
                    results["reset_on_413"] += 1
                continue
            st = type(e).__name__
        with lock:
            results["sent"] += 1
            if isinstance(st, int) and st >= 500:
                results["5xx"] += 1
            if st != want and len(results["wrong"]) < 20:
                results["wrong"].append((i, method, path, want, st))
    c.close()


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run(first, count, port):
    per = count // THREADS
    ts = [threading.Thread(target=client, args=(first + t * per, per if t < THREADS - 1 else count - per * t, port))
          for t in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


sanitized = b"libasan" in subprocess.run(["ldd", binary], capture_output=True).stdout or \
    b"__asan_init" in subprocess.run(["nm", "-D", binary], capture_output=True).stdout
srv = Server(binary, ["--model", model, "--backend", "host", "--data", data, "--workers", "4", "--token", TOKEN,
                      "--max-body", "65536", "--per-client", "64"], os.path.join(tmp, "soak.log"))
t0 = time.time()
warm = N // 5
run(0, warm, srv.port)
rss_warm = rss_kib(srv.proc.pid)
run(warm, N - warm, srv.port)
rss_end = rss_kib(srv.proc.pid)
elapsed = time.time() - t0
code = srv.stop(timeout=120)
growth = (rss_end - rss_warm) / rss_warm if rss_warm else 0.0
print("soak: %d requests (%d answered, %d connections closed early on an oversize body) in %.0f s; RSS %d KiB after "
      "the warm-up (%d requests), %d KiB at the end (%+.1f%%); exit status %s%s" %
      (N, results["sent"], results["reset_on_413"], elapsed, rss_warm, warm, rss_end, 100 * growth, code,
       " (AddressSanitizer build: RSS not checked)" if sanitized else ""))
failed = []
if results["5xx"]:
    failed.append("%d answers were 5xx" % results["5xx"])
if results["wrong"]:
    failed.append("wrong statuses (index, method, path, wanted, got): %s" % results["wrong"])
if results["sent"] + results["reset_on_413"] != N:
    failed.append("requests lost")
if not sanitized and growth > 0.10:
    failed.append("RSS grew by %.1f%% after the warm-up" % (100 * growth))
if code != 0:
    failed.append("SIGTERM: exit status %s\n%s" % (code, srv.output()[-3000:]))
for f in failed:
    print("FAIL: " + f)
sys.exit(1 if failed else 0)
