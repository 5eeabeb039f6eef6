#!/usr/bin/env python3
"""serve_load.py: load test of clmnist serve: the serve_load client POSTs a PNG of a test digit
SERVE_LOAD_REQUESTS times (default 200) from SERVE_LOAD_CLIENTS connections (default 8) on each
backend of SERVE_LOAD_BACKENDS (default "host device"; device only when an OpenCL device is
there); zero errors, every answer the class `clmnist predict` gives; prints requests/s, p50, p99.
Usage: serve_load.py CLMNIST SERVE_LOAD MNIST_DIR MODEL TMPDIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import Server, mnist_test_images, png_gray  # noqa: E402

binary, client, data, model, tmp = sys.argv[1:6]
requests = int(os.environ.get("SERVE_LOAD_REQUESTS", "200"))
clients = int(os.environ.get("SERVE_LOAD_CLIENTS", "8"))
backends = os.environ.get("SERVE_LOAD_BACKENDS", "host device").split()
extra = os.environ.get("SERVE_LOAD_ARGS", "").split()

images, _ = mnist_test_images(data)
png = os.path.join(tmp, "digit.png")
open(png, "wb").write(png_gray(images[:784], 28, 28))
want = json.loads(subprocess.check_output([binary, "predict", "--model", model, "--backend", "host", "--json",
                                           png]))[0]["class"]
# `devices` exits 0 without OpenCL too: a device is listed with "(default)"
have_device = "(default)" in subprocess.run([binary, "devices"], capture_output=True, text=True).stdout
failed = passed = 0
for backend in backends:
    if backend == "device" and not have_device:
        print("skip: no OpenCL device for the device backend")
        continue
    srv = Server(binary, ["--model", model, "--backend", backend] + extra, os.path.join(tmp, backend + ".log"))
    try:
        print(srv.output().strip())
        r = subprocess.run([client, str(srv.port), str(requests), str(clients), png, "image/png", str(want)])
    finally:
        code = srv.stop()
    ok = r.returncode == 0 and code == 0
    print("%s: %s backend, %d requests x %d clients (server exit %s)" % ("ok" if ok else "FAIL", backend, requests,
                                                                          clients, code))
    passed, failed = passed + ok, failed + (not ok)
print("serve_load: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
