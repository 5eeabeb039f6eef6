#!/usr/bin/env python3
"""serve_api.py: clmnist serve's JSON API against a small model, through http.client.

A test digit as PNG and as JSON pixels gets the class `clmnist predict` gives that PNG; every bad
request gets its status (413, 400, 415, 404, 405) and a JSON error; /api/health, /api/model,
/api/random and the page answer; a slow client neither blocks others nor outlives --timeout;
SIGTERM stops the server with exit status 0.
Usage: serve_api.py CLMNIST MNIST_DIR MLP_MODEL CNN_MODEL TMPDIR
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import Server, mnist_test_images, png_gray, request  # noqa: E402

binary, data, mlp, cnn, tmp = sys.argv[1:6]
failures = []
passed = [0]


def check(what, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok else "  " + str(detail)[:600]))
    if not ok:
        failures.append(what)
    else:
        passed[0] += 1


def post_json(port, obj, path="/api/predict"):
    body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
    return request(port, "POST", path, body, {"Content-Type": "application/json"})


images, labels = mnist_test_images(data)
seven = images[:784]  # test image 0, a 7
png_path = os.path.join(tmp, "seven.png")
open(png_path, "wb").write(png_gray(seven, 28, 28))
pred = json.loads(subprocess.check_output([binary, "predict", "--model", mlp, "--backend", "host", "--json",
                                           png_path]))[0]
print("clmnist predict %s: class %d (%.4f)" % (png_path, pred["class"], pred["probability"]))

srv = Server(binary, ["--model", mlp, "--backend", "host", "--data", data, "--max-body", "65536", "--timeout", "2",
                      "--workers", "3"], os.path.join(tmp, "serve.log"))
port = srv.port
check("listens on 127.0.0.1 by default", "listening on http://127.0.0.1:%d/" % port in srv.output())

# 1. the same digit: PNG, JSON pixels preprocessed like predict, raw JSON pixels
st, h, png_doc, _ = request(port, "POST", "/api/predict?input=1", open(png_path, "rb").read(),
                            {"Content-Type": "image/png"})
check("PNG: 200 and predict's class %d" % pred["class"], st == 200 and png_doc["class"] == pred["class"], png_doc)
check("PNG: 10 probabilities summing to 1, predict's top one",
      len(png_doc["probabilities"]) == 10 and abs(sum(png_doc["probabilities"]) - 1) < 1e-4
      and abs(png_doc["probabilities"][pred["class"]] - pred["probability"]) < 1e-5, png_doc)
check("PNG: the 784-value input comes back with ?input=1", len(png_doc.get("input", [])) == 784)
check("PNG: name and inverted", png_doc["name"] == str(pred["class"]) and png_doc["inverted"] is False, png_doc)
shared = ["class", "name", "probability", "probabilities", "top", "uncertain"]
check("PNG: the fields of predict --json (%s), with its values" % ", ".join(shared),
      all(k in png_doc and k in pred for k in shared) and set(pred) - set(png_doc) <= {"file"}
      and set(png_doc) - set(pred) <= {"input"}
      and [t["class"] for t in png_doc["top"]] == [t["class"] for t in pred["top"]]
      and png_doc["uncertain"] == pred["uncertain"] and abs(png_doc["probability"] - pred["probability"]) < 1e-5,
      (png_doc.keys(), pred.keys()))
pixels = [b / 255 for b in seven]
st, _, doc, _ = post_json(port, {"pixels": pixels, "preprocess": True, "return_input": True})
check("JSON pixels with preprocess: the PNG's probabilities and input",
      st == 200 and doc["probabilities"] == png_doc["probabilities"] and doc["input"] == png_doc["input"], doc)
st, _, doc, _ = post_json(port, {"pixels": pixels})
check("JSON pixels as they are: predict's class, no input unless asked",
      st == 200 and doc["class"] == pred["class"] and "input" not in doc, doc)
st, _, doc, _ = request(port, "POST", "/api/predict", b"\x00" * 70000, {"Content-Type": "image/png"})
check("a body over --max-body: 413 with a JSON error", st == 413 and "limit" in doc["error"], (st, doc))
# a chunked body (no Content-Length) that outgrows the limit: read to its end, dropped, and a 413
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
try:
    c.request("POST", "/api/predict", body=iter([b"\0" * 16384] * 8), headers={"Content-Type": "image/png"},
              encode_chunked=True)
    outcome = c.getresponse().status
except (ConnectionError, http.client.HTTPException):
    outcome = "closed"
c.close()
check("a chunked body over --max-body: 413 (%s)" % outcome, outcome == 413)

# 2. bad requests: 400, 415, 404, 405, each with {"error": ...}
bad = [
    ("malformed JSON", post_json(port, b'{"pixels": [0, 0'), 400),
    ("a bad image", request(port, "POST", "/api/predict", b"\x89PNG not really", {"Content-Type": "image/png"}), 400),
    ("783 pixels", post_json(port, {"pixels": pixels[:783]}), 400),
    ("NaN", post_json(port, '{"pixels": [NaN' + ", 0" * 783 + "]}"), 400),
    ("a pixel of 1.5", post_json(port, {"pixels": [1.5] + pixels[1:]}), 400),
    ("a pixel of -0.1", post_json(port, {"pixels": pixels[:5] + [-0.1] + pixels[6:]}), 400),
    ("1e999", post_json(port, '{"pixels": [1e999' + ", 0" * 783 + "]}"), 400),
    ("a string pixel", post_json(port, {"pixels": ["1"] + pixels[1:]}), 400),
    ("no pixels", post_json(port, {"image": pixels}), 400),
    ("an empty drawing", post_json(port, {"pixels": [0] * 784, "preprocess": True}), 400),
    ("an empty body", request(port, "POST", "/api/predict", b"", {"Content-Type": "image/png"}), 400),
    ("text/plain", request(port, "POST", "/api/predict", b"7", {"Content-Type": "text/plain"}), 415),
    ("an unknown path", request(port, "GET", "/nope"), 404),
    ("a path out of the tree", request(port, "GET", "/../../etc/passwd"), 404),
    ("a file path", request(port, "GET", "/host/serve/assets/app.js"), 404),
    ("GET /api/predict", request(port, "GET", "/api/predict"), 405),
    ("POST /api/model", request(port, "POST", "/api/model", b"{}"), 405),
    ("DELETE /", request(port, "DELETE", "/"), 405),
    ("random index out of range", request(port, "GET", "/api/random?index=10000"), 400),
]
for what, (st, h, doc, raw), want in bad:
    ok = st == want and isinstance(doc, dict) and isinstance(doc.get("error"), str) and doc["error"]
    check("%s: %d with a JSON error (%s)" % (what, want, doc and doc.get("error")), ok, (st, raw[:200]))
check("405 says Allow: POST", bad[15][1][1].get("allow") == "POST", bad[15][1][1])
check("405 on the page says Allow: GET, HEAD", bad[17][1][1].get("allow") == "GET, HEAD", bad[17][1][1])

# 3. health, model, random test digit, the page
st, _, doc, _ = request(port, "GET", "/api/health")
check("/api/health: ok", st == 200 and doc["status"] == "ok" and doc["backend"] == "host", doc)
st, _, m, _ = request(port, "GET", "/api/model")
check("/api/model: architecture, classes and names, dataset, accuracy from the metadata",
      st == 200 and m["architecture"] == "flatten-fc64-relu-fc10" and m["classes"] == 10
      and m["class_names"] == [str(k) for k in range(10)] and m["dataset"] == "mnist"
      and abs(m["test_accuracy"] - float(m["metadata"]["test_accuracy"])) < 1e-9
      and m["input_shape"] == [1, 28, 28] and m["filters"] is None and m["serving"]["random_test_images"], m)
st, _, doc, _ = request(port, "GET", "/api/random?index=0")
check("/api/random?index=0: test image 0, label 7, the raw image's class",
      st == 200 and doc["index"] == 0 and doc["true_class"] == labels[0] == 7 and doc["true_name"] == "7"
      and len(doc["input"]) == 784 and abs(doc["input"][300] - seven[300] / 255) < 1e-4
      and doc["correct"] == (doc["class"] == 7), doc)
draws = [request(port, "GET", "/api/random")[2]["index"] for _ in range(4)]
check("/api/random draws different test images (%s)" % draws, len(set(draws)) > 1)
st, h, _, raw = request(port, "GET", "/")
check("/ is the page (HTML with the canvas, a content security policy)",
      st == 200 and h["content-type"].startswith("text/html") and b'id="pad"' in raw
      and "default-src 'self'" in h.get("content-security-policy", ""), (st, h))
st, h, _, raw = request(port, "GET", "/app.js")
check("/app.js is JavaScript", st == 200 and "javascript" in h["content-type"] and b"pointerdown" in raw, h)
st, h, _, raw = request(port, "HEAD", "/style.css")
check("HEAD /style.css: 200, no body", st == 200 and raw == b"" and "css" in h["content-type"], (st, h))

# 4. a slow client: another request is answered at once; --timeout 2 closes the idle connection
slow = socket.create_connection(("127.0.0.1", port))
slow.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
t0 = time.time()
st, _, _, _ = request(port, "GET", "/api/health")
check("a request beside a stalled upload is answered at once (%.3f s)" % (time.time() - t0),
      st == 200 and time.time() - t0 < 1.5)
slow.settimeout(15)
t0 = time.time()
try:
    closed = slow.recv(4096) == b""
except (ConnectionResetError, socket.timeout):
    closed = False
check("the stalled connection is closed after --timeout 2 (%.1f s)" % (time.time() - t0),
      closed and 1.0 < time.time() - t0 < 10)
slow.close()

r = subprocess.run([binary, "serve", "--model", mlp, "--backend", "host", "--port", str(port)], capture_output=True,
                   text=True, timeout=60)
check("a port in use: exit 1, one line naming it", r.returncode == 1 and r.stderr.count("\n") == 1
      and "cannot listen on 127.0.0.1 port %d" % port in r.stderr, r.stderr)

# 5. SIGTERM: a clean stop, exit status 0
code = srv.stop()
check("SIGTERM: exit status 0 and 'stopping'", code == 0 and "SIGTERM: stopping" in srv.output(), (code, srv.output()))

# 6. a CNN without --data: its filters in /api/model, no random test digit
srv = Server(binary, ["--model", cnn, "--backend", "host"], os.path.join(tmp, "serve_cnn.log"))
st, _, m, _ = request(srv.port, "GET", "/api/model")
f = m["filters"]
check("CNN: the first layer's filters (4 of 5x5)", f and f["out_channels"] == 4 and f["kernel"] == 5
      and len(f["weights"]) == 4 and all(len(w) == 25 for w in f["weights"]), f)
check("without --data: no random test images", not m["serving"]["random_test_images"])
st, _, doc, _ = request(srv.port, "GET", "/api/random")
check("without --data: /api/random is 404, in HTTP's words (no command-line flag)",
      st == 404 and "test set" in doc["error"] and "--" not in doc["error"], doc)
st, _, doc, _ = request(srv.port, "POST", "/api/predict", open(png_path, "rb").read(), {"Content-Type": "image/png"})
check("CNN: the PNG is classified", st == 200 and 0 <= doc["class"] < 10, doc)
check("CNN server: SIGTERM, exit 0", srv.stop() == 0)

r = subprocess.run([binary, "serve", "--model", mlp, "--bind", "localhost"], capture_output=True, text=True)
check("--bind localhost (a name): exit 2, one line", r.returncode == 2 and "numeric" in r.stderr, r.stderr)
print("serve_api: %d passed, %d failed" % (passed[0], len(failures)))
sys.exit(1 if failures else 0)
