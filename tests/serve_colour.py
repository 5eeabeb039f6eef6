#!/usr/bin/env python3
"""serve_colour.py: clmnist serve's JSON API with a colour model (3x32x32, the hue set).

Each class's first test PNG, posted as is, gets the class and probabilities `clmnist predict
--json` gives that file, and ?input=1 returns the file's own RGB planes; the same planes sent as
JSON pixels get the same answer; the image at twice the size (resized as training data was) and
a grey file (the same value in every plane) are read too; JSON with the grey model's 784 values,
"preprocess" and invert=yes are refused with one-line 400s; /api/model, /api/random and
/metrics describe the colour input; SIGTERM stops the server with exit status 0.
Usage: serve_colour.py CLMNIST MODEL HUE_PNG_DIR TMPDIR
"""
import json
import os
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import Server, png_gray, png_rgb, request_json as request  # noqa: E402

binary, model, hue, tmp = sys.argv[1:5]
failures = []


def check(what, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok else "  " + str(detail)[:600]))
    if not ok:
        failures.append(what)


def read_png_rgb(path):
    """The RGB planes (3 lists of w*h) of an 8-bit RGB PNG with filter 0 rows (make_hue_set.py's)."""
    b = open(path, "rb").read()
    w, h = struct.unpack(">II", b[16:24])
    pos, idat = 8, b""
    while pos < len(b):
        n = struct.unpack(">I", b[pos:pos + 4])[0]
        if b[pos + 4:pos + 8] == b"IDAT":
            idat += b[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    assert all(raw[y * (3 * w + 1)] == 0 for y in range(h)), "a row filter other than 0"
    rgb = [raw[y * (3 * w + 1) + 1 + i] for y in range(h) for i in range(3 * w)]
    return w, h, [rgb[c::3] for c in range(3)]


def predict_json(path):
    out = subprocess.run([binary, "predict", "--model", model, "--backend", "host", "--json", path],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def close(a, b, tol):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def check_classes(port):
    png = {"Content-Type": "image/png"}
    for name in ("red", "green", "blue"):
        folder = os.path.join(hue, "test", name)
        path = os.path.join(folder, sorted(os.listdir(folder))[0])
        w, h, planes = read_png_rgb(path)
        flat = [v / 255 for p in planes for v in p]
        st, r = request(port, "POST", "/api/predict?input=1", open(path, "rb").read(), png)
        want = predict_json(path)
        check(f"{name}: a colour PNG is {name} (status {st})", st == 200 and r.get("name") == name, r)
        if st != 200:
            continue
        check(f"{name}: the class and probabilities of clmnist predict --json", r["class"] == want["class"] and
              close(r["probabilities"], want["probabilities"], 1e-5), (r["probabilities"], want["probabilities"]))
        check(f"{name}: ?input=1 returns the file's RGB planes ({len(r['input'])} values)",
              close(r["input"], flat, 6e-5), len(r["input"]))
        st, j = request(port, "POST", "/api/predict", json.dumps({"pixels": flat}), {"Content-Type": "application/json"})
        check(f"{name}: the planes as JSON pixels get the same answer", st == 200 and j["class"] == r["class"] and
              close(j["probabilities"], r["probabilities"], 1e-6), j)
        big = [[p[(y // 2) * w + x // 2] for y in range(2 * h) for x in range(2 * w)] for p in planes]
        st, b = request(port, "POST", "/api/predict", png_rgb(big, 2 * w, 2 * h), png)
        check(f"{name}: the image at 64x64 (resized as training data was) is {name}",
              st == 200 and b.get("name") == name, b)


def check_refusals(port):
    jh = {"Content-Type": "application/json"}
    st, r = request(port, "POST", "/api/predict", json.dumps({"pixels": [0.5] * 784}), jh)
    check("784 JSON pixels: 400 naming the 3072 a 3x32x32 model takes",
          st == 400 and "3072" in r.get("error", "") and "3x32x32" in r["error"], (st, r))
    st, r = request(port, "POST", "/api/predict", json.dumps({"pixels": [0.5] * 3072, "preprocess": True}), jh)
    check("\"preprocess\" for a colour model: 400", st == 400 and "colour" in r.get("error", ""), (st, r))
    grey = png_gray(bytes(range(0, 256, 8)) * 32, 32, 32)
    st, r = request(port, "POST", "/api/predict?invert=yes", grey, {"Content-Type": "image/png"})
    check("invert=yes for a colour model: 400", st == 400 and "colour" in r.get("error", ""), (st, r))
    st, r = request(port, "POST", "/api/predict?input=1", grey, {"Content-Type": "image/png"})
    planes = [r["input"][i * 1024:(i + 1) * 1024] for i in range(3)] if st == 200 else []
    check("a grey PNG: read with its value in all three planes",
          st == 200 and planes[0] == planes[1] == planes[2] and abs(planes[0][33] - 8 / 255) < 1e-4, (st, r))
    st, r = request(port, "POST", "/api/predict", b"\x89PNG\r\n\x1a\n truncated", {"Content-Type": "image/png"})
    check("a truncated PNG: 400", st == 400 and "error" in r, (st, r))


def check_model_and_random(port):
    st, m = request(port, "GET", "/api/model")
    check("/api/model: input_shape [3, 32, 32] and the three class names",
          st == 200 and m["input_shape"] == [3, 32, 32] and m["class_names"] == ["blue", "green", "red"], m)
    right = 0
    for _ in range(20):
        st, r = request(port, "GET", "/api/random")
        if st != 200 or len(r.get("input", [])) != 3072 or r["true_name"] not in ("red", "green", "blue"):
            check("/api/random: a colour test image (3072 values) with its label", False, (st, str(r)[:200]))
            return
        right += r["correct"]
    check(f"/api/random: colour test images, {right}/20 right", right >= 18, right)
    st, text = request(port, "GET", "/metrics")
    check("/metrics: input_shape=\"3x32x32\"", st == 200 and 'input_shape="3x32x32"' in text, str(text)[:300])


server = Server(binary, ["--model", model, "--backend", "host", "--data", hue], os.path.join(tmp, "serve_api.log"))
try:
    check_classes(server.port)
    check_refusals(server.port)
    check_model_and_random(server.port)
finally:
    code = server.stop()
check("SIGTERM: exit status 0", code == 0, server.output()[-500:])
print(f"serve_colour: {len(failures)} failed")
sys.exit(1 if failures else 0)
