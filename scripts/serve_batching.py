#!/usr/bin/env python3
"""serve_batching.py: clmnist serve with and without batching (--batch-wait-ms 0), measured in one
run with alternating rounds: for each model (the fast preset's 784-512-256-10 MLP and the `cnn`
preset, each trained here for 1 epoch on --limit images), two servers start side by side on the
host backend, one batching (the defaults) and one not; each round runs tests/serve_load against
both, in alternating order, with 1, 16 and 64 concurrent clients. Prints a Markdown table of the
medians over the rounds and the ratios batching / no batching (medians of the per-round ratios).
Usage: scripts/serve_batching.py build/clmnist build/tests/serve_load data/mnist [ROUNDS] [REQUESTS]
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from serve_util import Server, mnist_test_images, png_gray  # noqa: E402

binary, client, data = sys.argv[1:4]
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
requests = int(sys.argv[5]) if len(sys.argv) > 5 else 2000
CLIENTS = (1, 16, 64)
MODELS = (("MLP 784-512-256-10 (`--preset fast`)", ["--limit", "10000"]),
          ("CNN (`--preset cnn`)", ["--preset", "cnn", "--limit", "5000"]))
MODES = (("no batching (`--batch-wait-ms 0`)", ["--batch-wait-ms", "0"]), ("batching (the defaults)", []),
         ("batching, `--workers 16 --contexts 4`", ["--workers", "16", "--contexts", "4"]))
LINE = re.compile(r"([\d.]+) requests/s, p50 ([\d.]+) ms, p99 ([\d.]+) ms.*?(\d+) errors")


def load(port, clients, png, want):
    out = subprocess.run([client, str(port), str(requests), str(clients), png, "image/png", str(want)],
                         capture_output=True, text=True)
    m = LINE.search(out.stdout)
    if out.returncode or not m or int(m.group(4)):
        sys.exit("serve_load failed:\n" + out.stdout + out.stderr)
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


def measure(model, png, want, tmp):
    servers = [Server(binary, ["--model", model, "--backend", "host", "--per-client", "256"] + args, os.path.join(tmp, "%d.log" % i))
               for i, (_, args) in enumerate(MODES)]
    res = {}  # (mode, clients) -> [(rps, p50, p99)] per round
    try:
        for s in servers:
            load(s.port, 4, png, want)  # warm up
        for r in range(rounds):
            for c in CLIENTS:
                order = list(range(len(MODES)))
                order = order[r % len(order):] + order[:r % len(order)]  # each server first in turn
                for i in order:
                    res.setdefault((i, c), []).append(load(servers[i].port, c, png, want))
    finally:
        for s in servers:
            s.stop()
    return res


def main():
    tmp = tempfile.mkdtemp()
    images, _ = mnist_test_images(data)
    png = os.path.join(tmp, "digit.png")
    open(png, "wb").write(png_gray(images[:784], 28, 28))
    print("| model | clients | server | req/s | p50 | p99 | req/s ratio | p50 ratio | p99 ratio |\n"
          "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, args in MODELS:
        model = os.path.join(tmp, "model.safetensors")
        subprocess.run([binary, "train", "--data", data, "--backend", "host", "--threads", "2", "--epochs", "1",
                        "--no-hint", "--out", model] + args, check=True, capture_output=True)
        want = subprocess.check_output([binary, "predict", "--model", model, "--backend", "host", "--json", png])
        want = int(re.search(rb'"class":\s*(\d+)', want).group(1))
        res = measure(model, png, want, tmp)
        for c in CLIENTS:
            off = res[(0, c)]
            for i, (mode, _) in enumerate(MODES):
                runs = res[(i, c)]
                med = [statistics.median(v[k] for v in runs) for k in range(3)]
                ratio = [statistics.median(b[k] / a[k] for a, b in zip(off, runs)) for k in range(3)]
                print("| %s | %d | %s | %.0f | %.2f ms | %.2f ms | %.2f | %.2f | %.2f |" % (name, c, mode, *med, *ratio))
            sys.stdout.flush()
    print("\n%d rounds of %d requests per cell, alternating; medians" % (rounds, requests))


main()
