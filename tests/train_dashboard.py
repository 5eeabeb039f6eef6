#!/usr/bin/env python3
"""train_dashboard.py: `clmnist train --serve` against tiny runs (tests/train_dashboard.sh):
the event stream (points, an epoch event), /api/metrics, /api/health, POST /api/stop (a saved
model and a checkpoint that --resume continues, to the same bytes as an uninterrupted run), Ctrl-C
likewise without --serve, --serve giving the same model bytes, and no /api/stop in `clmnist serve`.
Usage: train_dashboard.py CLMNIST MNIST_DIR TMPDIR"""
import filecmp, json, os, re, signal, subprocess, sys, time, urllib.error, urllib.request

binary, data, tmp = sys.argv[1:4]
TINY = ["--data", data, "--backend", "host", "--threads", "1", "--limit", "5000", "--layers", "64"]


def fail(msg, log=None):
    print("FAIL:", msg)
    if log and os.path.exists(log):
        print(open(log).read()[-3000:])
    sys.exit(1)


def start(args, log):
    out = open(log, "w")
    return subprocess.Popen([binary, "train"] + TINY + args, stdout=out, stderr=subprocess.STDOUT)


def wait_line(log, pattern, proc, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        m = re.search(pattern, open(log).read())
        if m:
            return m
        if proc.poll() is not None:
            fail(f"exited ({proc.returncode}) before printing /{pattern}/", log)
        time.sleep(0.05)
    fail(f"no /{pattern}/ within {timeout} s", log)


def request(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def read_events(url, want_points, want_epochs, timeout=60):
    """Reads the SSE stream until it has seen enough points and epoch events."""
    counts = {"point": 0, "epoch": 0, "status": 0}
    epoch_data = None
    with urllib.request.urlopen(url + "api/events", timeout=timeout) as r:
        if not r.headers["Content-Type"].startswith("text/event-stream"):
            fail("events: Content-Type " + r.headers["Content-Type"])
        kind = None
        end = time.time() + timeout
        while time.time() < end:
            line = r.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind:
                counts[kind] = counts.get(kind, 0) + 1
                obj = json.loads(line[6:])
                if kind == "epoch":
                    epoch_data = obj
                if counts["point"] >= want_points and counts["epoch"] >= want_epochs:
                    return counts, epoch_data
    fail(f"events: saw {counts} in {timeout} s")


def train_plain(name, args):
    log = f"{tmp}/{name}.txt"
    p = start(args + ["--out", f"{tmp}/{name}.safetensors"], log)
    if p.wait(timeout=300) != 0:
        fail(f"{name}: exit {p.returncode}", log)
    return f"{tmp}/{name}.safetensors"


def check_bitwise():
    ref = train_plain("ref2", ["--epochs", "2"])
    log = f"{tmp}/served2.txt"
    p = start(["--epochs", "2", "--serve", "0", "--out", f"{tmp}/served2.safetensors"], log)
    url = wait_line(log, r"dashboard: (http://\S+/)", p).group(1)
    wait_line(log, r"training is over", p)
    st, body = request(url + "api/model")
    if st != 200 or json.loads(body)["file"] != "served2.safetensors":
        fail(f"after training, /api/model: {st} {body[:200]}", log)
    p.send_signal(signal.SIGINT)
    if p.wait(timeout=30) != 0:
        fail(f"serving after training: SIGINT -> exit {p.returncode}", log)
    if not filecmp.cmp(ref, f"{tmp}/served2.safetensors", shallow=False):
        fail("--serve changed the model's bytes")
    print("ok: --serve trains the same bytes; the drawing page's API serves the model afterwards")


def check_stop_api(ref_long):
    log = f"{tmp}/stop.txt"
    ck = f"{tmp}/stop.ckpt.safetensors"
    args = ["--epochs", "60", "--checkpoint-every", "1000000", "--checkpoint", ck]
    p = start(args + ["--serve", "0", "--out", f"{tmp}/stopped.safetensors"], log)
    url = wait_line(log, r"dashboard: (http://\S+/)", p).group(1)
    st, body = request(url + "api/health")
    if st != 200 or json.loads(body)["status"] != "ok":
        fail(f"health: {st} {body}", log)
    counts, ep = read_events(url, 6, 1)
    ev = ep["evaluation"]
    if len(ev["confusion"]) != 10 or len(ev["grid_predictions"]) != 64:
        fail(f"epoch event: {json.dumps(ep)[:300]}")
    st, body = request(url + "api/metrics")
    m = json.loads(body)
    if st != 200 or len(m["points"]) < 6 or len(m["epochs"]) < 1 or m["status"]["device"] == "":
        fail(f"metrics: {st} {body[:300]}")
    st, _ = request(url + "api/stop", "POST", b"")
    if st != 401:
        fail(f"stop without the page's secret: {st} (want 401)")
    st, page = request(url)
    secret = re.search(rb'<meta name="clmnist-stop" content="([0-9a-f]{64})">', page)
    if st != 200 or not secret:
        fail("the dashboard page carries no stop secret")
    bearer = {"Authorization": "Bearer " + secret.group(1).decode()}
    st, _ = request(url + "api/stop", "POST", b"", dict(bearer, Origin="http://evil.example"))
    if st != 403:
        fail(f"stop from another origin: {st}")
    st, body = request(url + "api/stop", "POST", b"", bearer)
    if st != 200:
        fail(f"stop: {st} {body}", log)
    wait_line(log, r"training is over", p)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=30)
    out = open(log).read()
    if not re.search(r"stopped (at step \d+ of epoch|after epoch) \d+ of 60; continue with --resume", out):
        fail("no 'stopped ... continue with --resume' line", log)
    if not os.path.exists(f"{tmp}/stopped.safetensors") or not os.path.exists(ck):
        fail("stop: no model or no checkpoint", log)
    print(f"ok: events ({counts}), metrics, stop: {re.search(r'stopped [^;]*', out).group(0)}")
    resumed = train_plain("resumed", ["--resume", ck])
    if not filecmp.cmp(ref_long, resumed, shallow=False):
        fail("stop + --resume differs from the uninterrupted run")
    print("ok: --resume after the stop ends with the uninterrupted run's bytes")


def check_sigint(ref_long):
    log = f"{tmp}/sigint.txt"
    ck = f"{tmp}/sigint.ckpt.safetensors"
    p = start(["--epochs", "60", "--checkpoint-every", "1000000", "--checkpoint", ck,
               "--out", f"{tmp}/sigint.safetensors"], log)
    wait_line(log, r"epoch 2/60", p)
    p.send_signal(signal.SIGINT)
    if p.wait(timeout=60) != 0:
        fail(f"SIGINT: exit {p.returncode}", log)
    if "continue with --resume" not in open(log).read() or not os.path.exists(f"{tmp}/sigint.safetensors"):
        fail("SIGINT: no resumable stop or no model", log)
    if not filecmp.cmp(ref_long, train_plain("resumed2", ["--resume", ck]), shallow=False):
        fail("SIGINT + --resume differs from the uninterrupted run")
    print("ok: Ctrl-C stops with a model and a checkpoint that --resume continues exactly")


def check_serve_has_no_stop(model):
    log = f"{tmp}/serve.txt"
    p = subprocess.Popen([binary, "serve", "--model", model, "--backend", "host", "--port", "0"],
                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        url = wait_line(log, r"listening on (http://\S+/)", p).group(1)
        for path, method in [("api/stop", "POST"), ("api/events", "GET"), ("dashboard.html", "GET")]:
            st, _ = request(url + path, method, b"" if method == "POST" else None)
            if st not in (404, 405):
                fail(f"clmnist serve: {method} /{path} -> {st}")
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
    print("ok: clmnist serve has no /api/stop, /api/events or dashboard page")


ref_long = train_plain("ref60", ["--epochs", "60"])
check_bitwise()
check_stop_api(ref_long)
check_sigint(ref_long)
check_serve_has_no_stop(ref_long)
