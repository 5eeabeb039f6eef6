#!/usr/bin/env python3
"""serve_security.py: clmnist serve and train --serve against hostile and careless clients
(tests/serve_security.sh): the bearer token on every route (missing, wrong, right; a bind beyond
loopback prints a random one), POST /api/stop's secret, TLS with a self-signed certificate (and
plain HTTP to the TLS port), 300 idle connections from one address while another address is
answered, a fast 503 with Retry-After when full, slowloris trickles of headers and of a body, an
oversize chunked body (413), uploads as multipart/form-data and application/octet-stream, CORS,
/api/openapi.json checked against the real answers of every route, and /metrics read by a small
Prometheus text parser. The server must still answer after each attack.
Usage: serve_security.py CLMNIST MNIST_DIR MODEL TMPDIR"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import Server, mnist_test_images, png_gray, request  # noqa: E402

binary, data, mlp, tmp = sys.argv[1:5]
TOKEN = "tok-" + os.urandom(12).hex()
failures, passed = [], [0]


def check(what, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok else "  " + str(detail)[:600]))
    (failures.append(what) if not ok else passed.__setitem__(0, passed[0] + 1))


def bearer(token=TOKEN, extra=None):
    h = dict(extra or {})
    h["Authorization"] = "Bearer " + token
    return h


def answers(port, **kw):
    """The server still answers /api/health."""
    try:
        return request(port, "GET", "/api/health", **kw)[0] == 200
    except OSError:
        return False


def closed_within(sock, seconds):
    """Whether the server closed sock (EOF or reset) within seconds; "answered" if bytes came."""
    sock.settimeout(seconds)
    try:
        return sock.recv(4096) == b"" or "answered"
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


images, labels = mnist_test_images(data)
seven = images[:784]
png = png_gray(seven, 28, 28)
PNG = {"Content-Type": "image/png"}

# ---- a small OpenAPI 3 schema check: type, nullable, required, properties (no field left
# undocumented unless additionalProperties says so), items, min/maxItems, enum, minimum/maximum ----
spec = None


def resolve(s):
    while "$ref" in s:
        node = spec
        for part in s["$ref"][2:].split("/"):
            node = node[part]
        s = node
    return s


def validate(v, s, where="$"):
    s = resolve(s)
    if v is None:
        return [] if s.get("nullable") else [where + ": null"]
    t, errs = s.get("type"), []
    if t == "object":
        if not isinstance(v, dict):
            return [where + ": not an object"]
        errs += [where + ": no " + k for k in s.get("required", []) if k not in v]
        props, extra = s.get("properties", {}), s.get("additionalProperties")
        for k, x in v.items():
            if k in props:
                errs += validate(x, props[k], where + "." + k)
            elif isinstance(extra, dict):
                errs += validate(x, extra, where + "." + k)
            elif extra is not True:
                errs.append(where + "." + k + ": not in the document")
    elif t == "array":
        if not isinstance(v, list):
            return [where + ": not an array"]
        if len(v) < s.get("minItems", 0) or len(v) > s.get("maxItems", 1 << 60):
            errs.append(where + ": %d items" % len(v))
        for i, x in enumerate(v[:100]):
            errs += validate(x, s.get("items", {}), "%s[%d]" % (where, i))
    elif t in ("integer", "number"):
        ok = isinstance(v, int) if t == "integer" else isinstance(v, (int, float))
        if not ok or isinstance(v, bool):
            return [where + ": not a " + t]
        if v < s.get("minimum", -1e308) or v > s.get("maximum", 1e308):
            errs.append(where + ": %r out of range" % v)
    elif t == "string" and not isinstance(v, str):
        errs.append(where + ": not a string")
    elif t == "boolean" and not isinstance(v, bool):
        errs.append(where + ": not a boolean")
    if "enum" in s and v not in s["enum"]:
        errs.append(where + ": %r not in %r" % (v, s["enum"]))
    return errs


checked_routes = set()


def conforms(method, path, status, headers, raw):
    """The answer matches /api/openapi.json's description of (path, method, status)."""
    op = spec["paths"].get(path, {}).get(method.lower())
    if op is None:
        return ["%s %s is not in the document" % (method, path)]
    resp = op["responses"].get(str(status))
    if resp is None:
        return ["%s %s: status %d is not in the document" % (method, path, status)]
    resp = resolve(resp)
    ctype = headers.get("content-type", "").split(";")[0]
    content = resp.get("content", {})
    if ctype not in content:
        return ["%s %s %d: Content-Type %s is not in the document" % (method, path, status, ctype)]
    checked_routes.add((method, path))
    if ctype != "application/json":
        return []
    return validate(json.loads(raw), content[ctype]["schema"])


def check_doc(what, method, path, status, headers, raw):
    errs = conforms(method, path, status, headers, raw)
    check("openapi: %s %s %d (%s) matches the document" % (method, path, status, what), not errs, errs[:5])


# ---- a small Prometheus text-format (0.0.4) parser ----
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_prometheus(text):
    """{(name, frozenset(labels)): value}, and {name: type}; raises ValueError on a bad line."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            raise ValueError("bad line: " + line)
        labels, rest = {}, m.group(3) or ""
        while rest:
            lm = LABEL.match(rest)
            if not lm:
                raise ValueError("bad labels: " + line)
            labels[lm.group(1)] = lm.group(2)
            rest = rest[lm.end():]
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return samples, types


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def multipart(parts, boundary="clmnist-test-boundary-7"):
    """A multipart/form-data body of (name, filename, content type, bytes) parts, and its type."""
    out = b""
    for name, filename, ctype, body in parts:
        out += b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"" + name.encode() + b"\""
        out += (b"; filename=\"" + filename.encode() + b"\"") if filename else b""
        out += (b"\r\nContent-Type: " + ctype.encode()) if ctype else b""
        out += b"\r\n\r\n" + body + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n", "multipart/form-data; boundary=" + boundary


# ==== 1. a token on every route ==================================================================
srv = Server(binary, ["--model", mlp, "--backend", "host", "--data", data, "--token", TOKEN, "--max-body", "65536",
                      "--workers", "3", "--deadline", "3"], os.path.join(tmp, "serve.log"))
port = srv.port
st, h, _, raw = request(port, "GET", "/api/openapi.json", headers=bearer())
spec = json.loads(raw)
check("/api/openapi.json with the token: 200, OpenAPI 3", st == 200 and spec["openapi"].startswith("3."), raw[:200])
routes = [("GET", "/api/model", None, {}), ("GET", "/api/random", None, {}), ("GET", "/api/openapi.json", None, {}),
          ("GET", "/metrics", None, {}), ("POST", "/api/predict", png, PNG)]
wrong = TOKEN[:-1] + ("0" if TOKEN[-1] != "0" else "1")
for method, path, body, hdr in routes:
    seen = []
    for name, extra in [("no token", {}), ("a wrong token", bearer(wrong)), ("a token prefix", bearer(TOKEN[:-1])),
                        ("Basic", {"Authorization": "Basic " + TOKEN}), ("the token", bearer())]:
        st, h, doc, raw = request(port, method, path, body, dict(hdr, **extra))
        seen.append(st)
        if st == 401:
            check("%s %s, %s: 401 {\"error\": \"unauthorized\"}, nothing more" % (method, path, name),
                  doc == {"error": "unauthorized"} and h.get("www-authenticate") == "Bearer", (doc, h))
            check_doc(name, method, path, st, h, raw)
    check("%s %s: 401 without the right token, 200 with it (%s)" % (method, path, seen), seen == [401] * 4 + [200])
st, h, doc, raw = request(port, "GET", "/api/health")
check("/api/health needs no token", st == 200 and doc["status"] == "ok", (st, doc))
check_doc("no token", "GET", "/api/health", st, h, raw)
st, h, _, raw = request(port, "GET", "/")
check("the page needs no token (it asks for it)", st == 200 and b"auth.js" in raw, st)
st, h, doc, raw = request(port, "GET", "/", headers={"Host": "rebound.example:%d" % port})
check("on loopback, a Host that is not this machine (DNS rebinding): 421", st == 421 and "error" in doc, (st, raw))
st, h, _, raw = request(port, "GET", "/", headers={"Host": "localhost:%d" % port})
check("... Host localhost is fine", st == 200, st)
st, h, _, raw = request(port, "GET", "/auth.js")
check("auth.js keeps the token in sessionStorage", st == 200 and b"sessionStorage" in raw, st)

# ==== 2. uploads: multipart/form-data, octet-stream, image/*, JSON; every answer as documented ====
st, h, ref, raw = request(port, "POST", "/api/predict", png, bearer(extra=PNG))
check("PNG: 200", st == 200, ref)
check_doc("PNG", "POST", "/api/predict", st, h, raw)
body, ctype = multipart([("note", None, None, b"a digit"), ("file", "seven.png", "image/png", png)])
st, h, doc, raw = request(port, "POST", "/api/predict", body, bearer(extra={"Content-Type": ctype}))
check("multipart (field file): the PNG's answer", st == 200 and doc["probabilities"] == ref["probabilities"], doc)
check_doc("multipart", "POST", "/api/predict", st, h, raw)
st, h, doc, raw = request(port, "POST", "/api/predict", png,
                          bearer(extra={"Content-Type": "application/octet-stream"}))
check("application/octet-stream: the PNG's answer", st == 200 and doc["probabilities"] == ref["probabilities"], doc)
pixels = json.dumps({"pixels": [b / 255 for b in seven]}).encode()
st, h, doc, raw = request(port, "POST", "/api/predict", pixels, bearer(extra={"Content-Type": "application/json"}))
check("JSON: 200", st == 200 and doc["class"] == ref["class"], doc)
st, h, doc2, raw = request(port, "POST", "/api/predict", pixels,
                           bearer(extra={"Content-Type": "application/octet-stream"}))
check("JSON sent as application/octet-stream: detected from the bytes", st == 200 and doc2 == doc, doc2)
body, ctype = multipart([("file", "d.json", "application/json", pixels)], boundary="x")
st, h, doc2, raw = request(port, "POST", "/api/predict", body, bearer(extra={"Content-Type": ctype}))
check("multipart with JSON in its file field", st == 200 and doc2 == doc, doc2)
predicted = 7  # the 200 answers of /api/predict so far (5 token checks + 6 here)
for what, body, ctype, want in [
        ("multipart without a file field", multipart([("image", "x.png", "image/png", png)])[0],
         multipart([])[1], 400),
        ("multipart without a boundary", multipart([("file", "x.png", "image/png", png)])[0], "multipart/form-data", 400),
        ("multipart cut short", multipart([("file", "x.png", "image/png", png)])[0][:200], multipart([])[1], 400),
        ("text/plain", b"7", "text/plain", 415), ("not an image", b"GIF89a....", "application/octet-stream", 400)]:
    st, h, doc, raw = request(port, "POST", "/api/predict", body, bearer(extra={"Content-Type": ctype}))
    check("%s: %d" % (what, want), st == want and isinstance(doc, dict) and "error" in doc, (st, raw[:200]))
    check_doc(what, "POST", "/api/predict", st, h, raw)
blank = png_gray(bytes([255]) * 784, 28, 28)
st, h, doc, raw = request(port, "POST", "/api/predict?invert=no", blank, bearer(extra=PNG))
check("a blank image: 400 in HTTP's words (the invert parameter, no command-line flag)",
      st == 400 and "invert parameter" in doc["error"] and "--" not in doc["error"], doc)
st, h, doc, raw = request(port, "GET", "/api/model", headers=bearer())
check_doc("model", "GET", "/api/model", st, h, raw)
check("/api/model shows no file system path", os.path.dirname(os.path.abspath(mlp)).encode() not in raw
      and os.path.abspath(data).encode() not in raw and b"/tmp" not in raw and b'"/' not in raw, raw[:300])
st, h, doc, raw = request(port, "GET", "/api/random", headers=bearer())
check_doc("random", "GET", "/api/random", st, h, raw)
st, h, doc, raw = request(port, "GET", "/api/random?index=99999", headers=bearer())
check_doc("index out of range", "GET", "/api/random", st, h, raw)
st, h, doc, raw = request(port, "GET", "/api/openapi.json", headers=bearer())
check_doc("itself", "GET", "/api/openapi.json", st, h, raw)
st, h, doc, raw = request(port, "POST", "/api/predict", b"\0" * 70000, bearer(extra=PNG))
check("a body over --max-body: 413", st == 413, st)
check_doc("too large", "POST", "/api/predict", st, h, raw)
st, h, _, _ = request(port, "GET", "/api/model", headers=bearer(extra={"Origin": "https://a.example"}))
check("no --cors: no Access-Control-Allow-Origin", "access-control-allow-origin" not in h, h)

# ==== 3. starvation: an oversize chunked body, slowloris, 300 idle connections ====================
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
try:
    c.request("POST", "/api/predict", body=iter([b"\0" * (1 << 20)] * 40), headers=bearer(extra=PNG),
              encode_chunked=True)
    r = c.getresponse()
    outcome, chunked_doc = r.status, json.loads(r.read())
except (OSError, http.client.HTTPException) as e:
    outcome, chunked_doc = repr(e), None
c.close()
check("a 40 MiB chunked body: 413 with a JSON error (%s)" % outcome, outcome == 413 and "limit" in chunked_doc["error"])
check("... and the server still answers", answers(port))
for what, opening, drip in [("headers", b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: 1\r\n"),
                            ("a body", b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                             TOKEN.encode() + b"\r\nContent-Type: image/png\r\nContent-Length: 60000\r\n\r\n",
                             b"\0")]:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(opening)
    t0, closed = time.time(), False
    while time.time() - t0 < 30 and not closed:  # a byte every 0.5 s: the idle timeout (10 s) never fires
        try:
            s.sendall(drip[int((time.time() - t0) * 2) % len(drip):][:1])
        except OSError:
            closed = True
            break
        closed = closed_within(s, 0.5)
    s.close()
    check("slowloris (%s, a byte every 0.5 s): closed by the 3 s deadline, unanswered (after %.1f s)" %
          (what, time.time() - t0), closed is True and time.time() - t0 > 2.5, closed)
    check("... and the server still answers", answers(port))
flood = []
for _ in range(300):
    try:
        flood.append(socket.create_connection(("127.0.0.1", port), timeout=10))
    except OSError:
        break
time.sleep(1)
shut = sum(closed_within(s, 0.05) is True for s in flood)
check("300 idle connections from 127.0.0.1: all but the 16 allowed per client closed (%d closed)" % shut,
      len(flood) == 300 and shut >= 300 - 16, (len(flood), shut))
times, codes = [], []
for _ in range(5):
    t0 = time.time()
    try:
        codes.append(request(port, "POST", "/api/predict", png, bearer(extra=PNG), source="127.0.0.2", timeout=60)[0])
    except OSError as e:
        codes.append(repr(e))
    times.append(time.time() - t0)
predicted += codes.count(200)
print("predictions from 127.0.0.2 beside the flood: %s in %s s" % (codes, ["%.3f" % t for t in times]))
check("predictions from another address (127.0.0.2) beside the flood are answered", codes == [200] * 5, codes)
for s in flood:
    s.close()
end = time.time() + 30  # until the server has seen them close (127.0.0.1 is at its 16 until then)
while time.time() < end and not answers(port):
    time.sleep(0.2)

# ==== 4. /metrics, read by a Prometheus text parser ==============================================
st, h, _, raw = request(port, "GET", "/metrics", headers=bearer())
check_doc("metrics", "GET", "/metrics", st, h, raw)
try:
    samples, types = parse_prometheus(raw.decode())
except ValueError as e:
    samples, types = {}, {}
    check("/metrics parses", False, e)
n200 = metric(samples, "clmnist_http_requests_total", method="POST", route="/api/predict", code="200")
check("/metrics: POST /api/predict 200 counted (%s, want %d)" % (n200, predicted), n200 == predicted)
check("/metrics: 401s of GET /api/model counted",
      metric(samples, "clmnist_http_requests_total", method="GET", route="/api/model", code="401") == 4)
check("/metrics: 413s counted (2)",
      metric(samples, "clmnist_http_requests_total", method="POST", route="/api/predict", code="413") == 2)
check("/metrics: images classified = 200 predictions + 2 random digits",
      metric(samples, "clmnist_images_classified_total") == predicted + 2)
buckets = sorted((float(dict(k[1])["le"]), v) for k, v in samples.items()
                 if k[0] == "clmnist_http_request_duration_seconds_bucket")
count = metric(samples, "clmnist_http_request_duration_seconds_count")
check("/metrics: a latency histogram (cumulative, +Inf = count = every request so far)",
      types.get("clmnist_http_request_duration_seconds") == "histogram" and len(buckets) >= 5
      and all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])) and buckets[-1] == (float("inf"), count)
      and count >= 30, buckets)
info = [dict(k[1]) for k in samples if k[0] == "clmnist_model_info"]
check("/metrics: the model's name and input shape", info and info[0]["name"] == os.path.basename(mlp)
      and info[0]["input_shape"] == "1x28x28", info)
check("SIGTERM after all that: exit 0", srv.stop() == 0, srv.output()[-2000:])
logged = [line for line in srv.output().splitlines() if line.startswith("clmnist: http:")]
check("the flood is not a line per refused connection in the log (%d lines)" % len(logged),
      len(logged) <= 10 and any("more like the last" in line for line in logged), logged[:12])

# ==== 5. full: a fast 503 with Retry-After, not a hang ============================================
srv = Server(binary, ["--model", mlp, "--backend", "host", "--max-connections", "4", "--per-client", "100"],
             os.path.join(tmp, "serve_full.log"))
idle = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(6)]
time.sleep(0.5)
st, h, doc, raw = request(srv.port, "GET", "/api/health", timeout=60)
check("full (6 open connections, --max-connections 4): 503 with Retry-After and a JSON error",
      st == 503 and h.get("retry-after") == "1" and "busy" in doc["error"], (st, h, raw[:200]))
for s in idle:
    s.close()
time.sleep(0.5)
check("... and once they close, 200 again", answers(srv.port))
check("SIGTERM: exit 0", srv.stop() == 0)

# ==== 6. beyond loopback: a random token printed once; CLMNIST_TOKEN; --cors ======================
env = dict(os.environ)
env.pop("CLMNIST_TOKEN", None)
srv = Server(binary, ["--model", mlp, "--backend", "host", "--bind", "0.0.0.0", "--cors", "https://a.example"],
             os.path.join(tmp, "serve_any.log"), env=env)
m = re.search(r"serve: token ([0-9a-f]{64})\n", srv.output())
check("--bind 0.0.0.0 without a token: a random 256-bit token printed (the token, and the page's address with it)",
      m and srv.output().count(m.group(1)) == 2 and "/?token=" + m.group(1) in srv.output(), srv.output())
printed = m.group(1) if m else "none"
st, _, _, _ = request(srv.port, "GET", "/api/model")
check("... the API refuses a request without it (401)", st == 401, st)
st, h, _, _ = request(srv.port, "GET", "/api/model", headers=bearer(printed, {"Origin": "https://a.example"}))
check("... and answers with it", st == 200, st)
check("--cors https://a.example: that origin is allowed", h.get("access-control-allow-origin") == "https://a.example", h)
st, h, _, _ = request(srv.port, "GET", "/api/model", headers=bearer(printed, {"Origin": "https://b.example"}))
check("--cors: another origin is not", st == 200 and "access-control-allow-origin" not in h, h)
st, h, _, _ = request(srv.port, "OPTIONS", "/api/predict", headers={"Origin": "https://a.example",
                                                                     "Access-Control-Request-Method": "POST"})
check("--cors: the preflight (OPTIONS) is answered 204 with the methods and headers allowed",
      st == 204 and "Authorization" in h.get("access-control-allow-headers", "")
      and h.get("access-control-allow-origin") == "https://a.example", (st, h))
check("SIGTERM: exit 0", srv.stop() == 0)
env["CLMNIST_TOKEN"] = TOKEN
srv = Server(binary, ["--model", mlp, "--backend", "host"], os.path.join(tmp, "serve_env.log"), env=env)
st1 = request(srv.port, "GET", "/api/model")[0]
st2 = request(srv.port, "GET", "/api/model", headers=bearer())[0]
check("CLMNIST_TOKEN on loopback: needed (%d without, %d with)" % (st1, st2), (st1, st2) == (401, 200))
check("... and never printed", TOKEN not in srv.output(), srv.output())
check("SIGTERM: exit 0", srv.stop() == 0)
r = subprocess.run([binary, "serve", "--model", mlp, "--token", "short"], capture_output=True, text=True)
check("--token short: exit 2, one line", r.returncode == 2 and r.stderr.count("\n") == 1 and "16 to 256" in r.stderr,
      r.stderr)

# ==== 7. TLS with a self-signed certificate made here ============================================
cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
made = False
if shutil.which("openssl"):
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                           "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                          capture_output=True).returncode == 0
if not made:
    print("skip: TLS (no openssl to make a certificate)")
else:
    srv = Server(binary, ["--model", mlp, "--backend", "host", "--tls-cert", cert, "--tls-key", key, "--token", TOKEN],
                 os.path.join(tmp, "serve_tls.log"))
    ctx = ssl.create_default_context(cafile=cert)
    check("TLS: 'listening on https://'", "listening on https://127.0.0.1:%d/" % srv.port in srv.output())
    st, h, doc, raw = request(srv.port, "POST", "/api/predict", png, bearer(extra=PNG), tls=ctx)
    check("TLS: the handshake verifies the certificate, and the prediction is the plain server's",
          st == 200 and doc["probabilities"] == ref["probabilities"], (st, raw[:200]))
    t0 = time.time()
    try:
        plain = request(srv.port, "GET", "/api/health", timeout=30)[0]
    except (OSError, http.client.HTTPException) as e:
        plain = type(e).__name__
    check("TLS: plain HTTP to the TLS port fails cleanly (%s after %.1f s), no answer" % (plain, time.time() - t0),
          plain != 200 and not isinstance(plain, int) and plain != "timeout")
    check("... and the server still answers over TLS", answers(srv.port, tls=ctx))
    check("TLS server: SIGTERM, exit 0", srv.stop() == 0, srv.output()[-1500:])
    r = subprocess.run([binary, "serve", "--model", mlp, "--tls-cert", cert], capture_output=True, text=True)
    check("--tls-cert without --tls-key: exit 2", r.returncode == 2 and "--tls-key" in r.stderr, r.stderr)


# ==== 8. train --serve: the stop secret, the token, the run's routes and metrics ==================
def train_serve(extra, log, env=None):
    out = open(log, "w")
    p = subprocess.Popen([binary, "train", "--data", data, "--backend", "host", "--threads", "1", "--limit", "2000",
                          "--epochs", "1", "--layers", "32", "--no-hint", "--serve", "0",
                          "--out", os.path.join(tmp, "dash.safetensors")] + extra, stdout=out,
                         stderr=subprocess.STDOUT, env=env)
    end = time.time() + 120
    while time.time() < end and p.poll() is None:
        text = open(log).read()
        m = re.search(r"dashboard: http://[^:/]+:(\d+)/", text)
        if m and "training is over" in text:
            return p, int(m.group(1)), text
        time.sleep(0.1)
    p.kill()
    raise RuntimeError("train --serve did not finish:\n" + open(log).read()[-2000:])


def events_status(port, query="", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/api/events" + query, headers=headers or {})
    r = c.getresponse()
    first = r.read(7) if r.status == 200 else r.read()
    h = dict((k.lower(), v) for k, v in r.getheaders())
    c.close()
    return r.status, h, first


p, port, text = train_serve([], os.path.join(tmp, "dash.log"))
st, _, _, page = request(port, "GET", "/")
secret = re.search(rb'<meta name="clmnist-stop" content="([0-9a-f]{64})">', page)
check("train --serve on loopback: the dashboard page carries a per-run stop secret", st == 200 and secret)
secret = secret.group(1).decode() if secret else "none"
for name, hdr, want in [("no secret", {}, 401), ("a wrong one", bearer(wrong), 401), ("the secret", bearer(secret), 409)]:
    st, h, doc, raw = request(port, "POST", "/api/stop", b"", hdr)
    check("POST /api/stop with %s: %d" % (name, want), st == want, (st, raw[:200]))
    check_doc(name, "POST", "/api/stop", st, h, raw)
st, h, doc, raw = request(port, "POST", "/api/stop", b"", bearer(secret, {"Origin": "http://evil.example"}))
check("POST /api/stop with the secret from another origin: 403", st == 403, st)
check_doc("another origin", "POST", "/api/stop", st, h, raw)
for path in ["/api/health", "/api/metrics", "/api/samples", "/api/model", "/api/random"]:
    st, h, doc, raw = request(port, "GET", path)
    check_doc("train --serve", "GET", path, st, h, raw)
st, h, first = events_status(port)
check("GET /api/events: an event stream", st == 200 and first.startswith(b"event: "), (st, first))
check_doc("train --serve", "GET", "/api/events", st, h, b"")
st, h, _, raw = request(port, "GET", "/metrics")
samples, types = parse_prometheus(raw.decode())
step, loss = metric(samples, "clmnist_train_step"), metric(samples, "clmnist_train_loss")
acc, ips = metric(samples, "clmnist_train_accuracy"), metric(samples, "clmnist_train_images_per_second")
check("train --serve /metrics: step %s, epoch %s, loss %s, accuracy %s, images/s %s" %
      (step, metric(samples, "clmnist_train_epoch"), loss, acc, ips),
      step and step >= 1 and metric(samples, "clmnist_train_epoch") == 1 and 0 < loss < 10 and 0 <= acc <= 1
      and ips > 0 and types.get("clmnist_train_step") == "gauge")
p.send_signal(signal.SIGINT)
check("train --serve: SIGINT, exit 0", p.wait(60) == 0)

env = dict(os.environ)
env.pop("CLMNIST_TOKEN", None)
p, port, text = train_serve(["--bind", "0.0.0.0"], os.path.join(tmp, "dash_any.log"), env)
m = re.search(r"\?token=([0-9a-f]{64})", text)
check("train --serve --bind 0.0.0.0: a random token printed once, in the address to open", m, text[-1500:])
tok = m.group(1) if m else "none"
st, _, _, page = request(port, "GET", "/")
check("... the page (open to all) carries no stop secret", st == 200 and b"clmnist-stop" not in page)
for name, hdr, want in [("no token", {}, 401), ("the token", bearer(tok), 409)]:
    st, _, _, raw = request(port, "POST", "/api/stop", b"", hdr)
    check("... POST /api/stop with %s: %d" % (name, want), st == want, (st, raw[:200]))
for path in ["/api/metrics", "/api/samples", "/api/model", "/api/openapi.json", "/metrics"]:
    st1, st2 = request(port, "GET", path)[0], request(port, "GET", path, headers=bearer(tok))[0]
    st3 = request(port, "GET", path, headers=bearer(wrong))[0]
    check("... GET %s: 401 without the token or with a wrong one, 200 with it" % path,
          (st1, st3, st2) == (401, 401, 200), (st1, st3, st2))
st1, st2 = [request(port, "POST", "/api/predict", png, dict(PNG, **h))[0] for h in ({}, bearer(tok))]
check("... POST /api/predict: 401 without the token, 200 with it", (st1, st2) == (401, 200), (st1, st2))
check("... GET /api/health needs none", request(port, "GET", "/api/health")[0] == 200)
st1, st2 = events_status(port)[0], events_status(port, "?access_token=" + tok)[0]
check("... the event stream takes the token as ?access_token= (EventSource sends no headers): %d, %d" % (st1, st2),
      (st1, st2) == (401, 200))
st = request(port, "GET", "/api/metrics?access_token=" + tok)[0]
check("... but no other route does (%d)" % st, st == 401)
p.send_signal(signal.SIGINT)
check("... SIGINT, exit 0", p.wait(60) == 0)

missing = sorted("%s %s" % (m.upper(), path) for path, ops in spec["paths"].items() for m in ops
                 if (m.upper(), path) not in checked_routes)
check("every route in /api/openapi.json was checked against a real answer", not missing, missing)
print("serve_security: %d passed, %d failed" % (passed[0], len(failures)))
sys.exit(1 if failures else 0)
