#!/usr/bin/python3
"""torch_bench.py: PyTorch's training throughput for the network clmnist trains, timed as
`clmnist bench` times it, for a ratio measured in the same run (scripts/compare_torch.sh).

Same work per step as clmnist: the uint8 training set stays in memory, each step gathers a
shuffled batch, scales it by 1/255, runs the network forward, cross-entropy, backward and the
optimizer step. The network is nn.Sequential(Linear, ReLU, ..., Linear) from --layers, or, with
--arch, the layer sequence of clmnist's --arch grammar (README "Convolutional networks": Conv2d
with bias=False when bn follows, MaxPool2d, BatchNorm2d/1d, ReLU, Dropout, Flatten, Linear) on
(N, 1, H, W) images. The optimizer is torch.optim.SGD(momentum) or, with --optimizer adam,
torch.optim.Adam(betas=(--beta1, --beta2)). A run is `--warmup` untimed steps then `--steps`
timed ones; the script prints one line per run and the median images/s.

With `--epochs N` it times instead whole epochs as a user trains them (the harness
scripts/peer_bench.sh): the training images converted once to a float tensor scaled to [0, 1], and
per epoch a fresh permutation and a plain loop over its batches (the last one partial, as clmnist's);
each epoch prints its images/s (training only, like clmnist's epoch line) and the steady rate of its
steps after the first `--warmup`. `--feed u8` keeps the older per-step gather and scale from uint8.
With `--to-accuracy F` (and --epochs as the budget) it trains with OneCycleLR (max_lr --lr,
PyTorch's defaults, as clmnist's one-cycle) and evaluates the test set every `--eval-every` steps
(default 4 times an epoch), and prints the training seconds (evaluation not counted) until the test
accuracy first reaches F, as `clmnist bench --to-accuracy` does.

With `--gemm` it times instead the eight matrix products of one training step, as `clmnist bench`
times its GEMM table (same shapes and transposes, row-major, one untimed call, then repeated for at
least 0.3 s), and prints one JSON object per shape with its GFLOP/s (scripts/gemm_blas.sh).

usage: scripts/torch_bench.py [--data data/mnist] [--layers 512,256 | --arch SPEC] [--batch 128]
       [--optimizer sgd|adam] [--lr F] [--momentum F] [--beta1 F] [--beta2 F]
       [--steps 50] [--warmup 5] [--runs 5] [--threads 2] [--device cpu|cuda] [--gemm] [--any-blas]
       [--epochs N [--feed float|u8] [--limit N]] [--to-accuracy F [--schedule onecycle] [--eval-every N]]
"""
import argparse
import gzip
import json
import os
import re
import statistics
import struct
import sys
import time

import torch
from torch import nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndims = data[3]
    dims = struct.unpack(">" + "I" * ndims, data[4 : 4 + 4 * ndims])
    return torch.frombuffer(bytearray(data[4 + 4 * ndims :]), dtype=torch.uint8).reshape(dims)


def find(data, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if os.path.exists(os.path.join(data, name)):
            return os.path.join(data, name)
    sys.exit(f"torch_bench.py: {data}: no {stem}[.gz]; run data/fetch mnist")


def gemm_shapes(sizes, batch):
    """The products of one step, in clmnist bench's order: per layer Y=X.W^T (m=B, n=out, k=in),
    dW=dY^T.X (m=out, n=in, k=B) and, above the first layer, dX=dY.W (m=B, n=in, k=out)."""
    shapes = []
    for i in range(len(sizes) - 1):
        fan_in, fan_out = sizes[i], sizes[i + 1]
        shapes.append((f"layer {i + 1} forward  Y=X.W^T", False, True, batch, fan_out, fan_in))
        shapes.append((f"layer {i + 1} weight   dW=dY^T.X", True, False, fan_out, fan_in, batch))
        if i > 0:
            shapes.append((f"layer {i + 1} input    dX=dY.W", False, False, batch, fan_in, fan_out))
    return shapes


def arch_model(spec, shape, classes):
    """nn.Sequential of clmnist's --arch SPEC on inputs of shape (C, H, W)."""
    toks, mods = spec.split("-"), []
    c, h, w = shape
    feat = None  # features once flat, else None
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if m := re.fullmatch(r"conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?", t):
            oc, k, st, p = int(m[1]), int(m[2]), int(m[3] or 1), int(m[4] or 0)
            mods.append(nn.Conv2d(c, oc, k, stride=st, padding=p, bias=nxt != "bn"))
            c, h, w = oc, (h + 2 * p - k) // st + 1, (w + 2 * p - k) // st + 1
        elif m := re.fullmatch(r"pool(\d+)(?:s(\d+))?", t):
            k, st = int(m[1]), int(m[2] or m[1])
            mods.append(nn.MaxPool2d(k, stride=st))
            h, w = (h - k) // st + 1, (w - k) // st + 1
        elif t == "bn":
            mods.append(nn.BatchNorm2d(c) if feat is None else nn.BatchNorm1d(feat))
        elif t == "relu":
            mods.append(nn.ReLU())
        elif m := re.fullmatch(r"drop([0-9.]+)", t):
            mods.append(nn.Dropout(float(m[1])))
        elif t == "flatten":
            mods.append(nn.Flatten())
            feat = c * h * w
        elif m := re.fullmatch(r"fc(\d+)", t):
            if feat is None:
                sys.exit(f"torch_bench.py: --arch: {t} needs 'flatten' before it")
            mods.append(nn.Linear(feat, int(m[1])))
            feat = int(m[1])
        else:
            sys.exit(f"torch_bench.py: --arch: unknown token {t!r}")
    if feat != classes:
        sys.exit(f"torch_bench.py: --arch: the network gives {feat} outputs, not {classes}")
    return nn.Sequential(*mods)


def time_gemm(dev, ta, tb, m, n, k, min_seconds=0.3):
    """GFLOP/s of C = op(A).op(B) with A, B stored row-major as clmnist stores them."""
    g = torch.Generator().manual_seed(7)
    a = (torch.rand((k, m) if ta else (m, k), generator=g) * 2 - 1).to(dev)
    b = (torch.rand((n, k) if tb else (k, n), generator=g) * 2 - 1).to(dev)
    c = torch.empty((m, n), device=dev)
    opa, opb = (a.t() if ta else a), (b.t() if tb else b)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.mm(opa, opb, out=c)
    sync()
    reps, t0 = 0, time.perf_counter()
    while reps < 3 or time.perf_counter() - t0 < min_seconds:
        torch.mm(opa, opb, out=c)
        reps += 1
        if reps % 4 == 0:
            sync()
    sync()
    return 2.0 * m * n * k * reps / (time.perf_counter() - t0) / 1e9


def blas_in_use():
    """The file behind libblas.so.3, which torch.mm calls: Debian's torch links it, and
    update-alternatives points it at OpenBLAS or at the reference BLAS (the mapped file in
    /proc/self/maps is the resolved one)."""
    torch.mm(torch.ones(8, 8), torch.ones(8, 8))
    try:
        libs = {line.split()[-1] for line in open("/proc/self/maps") if "/libblas.so.3" in line}
    except OSError:
        return "an unknown BLAS"
    return " ".join(sorted(libs)) or "no libblas.so.3"


def make_optimizer(a, model):
    if a.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=a.lr, betas=(a.beta1, a.beta2))
    return torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)


def run_epochs(a, x, y, model, dev):
    """Whole epochs as a user trains: x already float in [0, 1]; per epoch a fresh permutation, a
    plain loop over its batches. Prints each epoch's images/s and its steady rate (the steps after
    the first a.warmup, timed from the end of step a.warmup)."""
    opt, loss_fn, n = make_optimizer(a, model), nn.CrossEntropyLoss(), x.shape[0]
    model.train()
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for e in range(a.epochs):
        sync()
        t0 = time.perf_counter()
        perm = torch.randperm(n, device=dev)
        ts, steady_from = t0, 0
        for s, i in enumerate(range(0, n, a.batch)):
            idx = perm[i : i + a.batch]
            xb = x[idx].float().mul_(1.0 / 255.0) if a.feed == "u8" else x[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), y[idx])
            loss.backward()
            opt.step()
            if s + 1 == a.warmup:
                loss.item()
                ts, steady_from = time.perf_counter(), i + a.batch
            if a.max_seconds and time.perf_counter() - t0 > a.max_seconds:
                break
        loss.item()
        sync()
        t1, done = time.perf_counter(), min(i + a.batch, n)
        cut = f" (cut after {done} images)" if done < n else ""
        print(f"pytorch epoch {e + 1}: {done / (t1 - t0):.0f} images/s, steady {(done - steady_from) / (t1 - ts):.0f} "
              f"images/s ({t1 - t0:.2f} s){cut}", flush=True)


def evaluate(model, x, y, batch=1000):
    model.eval()
    with torch.no_grad():
        right = sum((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item() for i in range(0, x.shape[0], batch))
    model.train()
    return right / x.shape[0]


def run_to_accuracy(a, x, y, xt, yt, model, dev):
    """Trains up to a.epochs epochs, evaluating every a.eval_every steps; prints the training
    seconds until the test accuracy first reaches a.to_accuracy (evaluation not counted)."""
    n = x.shape[0]
    per_epoch = (n + a.batch - 1) // a.batch
    every = a.eval_every or (per_epoch + 3) // 4
    opt, loss_fn = make_optimizer(a, model), nn.CrossEntropyLoss()
    sched = None
    if a.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=per_epoch * a.epochs)
    model.train()
    train_s, acc = 0.0, 0.0
    for e in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, device=dev)
        for s in range(per_epoch):
            idx = perm[s * a.batch : (s + 1) * a.batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
            if sched:
                sched.step()
            if (s + 1) % every == 0 or s + 1 == per_epoch:
                train_s += time.perf_counter() - t0
                acc = evaluate(model, xt, yt)
                t0 = time.perf_counter()
                if acc >= a.to_accuracy:
                    print(f"pytorch reached {100 * acc:.2f}% after {e + (s + 1) / per_epoch:.2f} epochs: "
                          f"training {train_s:.2f} s", flush=True)
                    return
    print(f"pytorch NOT reached: {100 * acc:.2f}% after {a.epochs} epochs: training {train_s:.2f} s", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--layers", default="512,256")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--arch", help="a clmnist --arch spec (replaces --layers)")
    ap.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--gemm", action="store_true")
    ap.add_argument("--epochs", type=int, default=0, help="time whole epochs (or the --to-accuracy budget)")
    ap.add_argument("--max-seconds", type=float, default=0.0, help="--epochs: cut an epoch after this long")
    ap.add_argument("--feed", choices=("float", "u8"), default="float")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    ap.add_argument("--to-accuracy", type=float, default=0.0)
    ap.add_argument("--schedule", choices=("constant", "onecycle"), default="constant")
    ap.add_argument("--eval-every", type=int, default=0)
    ap.add_argument("--any-blas", action="store_true", help="time PyTorch even without OpenBLAS")
    a = ap.parse_args()
    blas = blas_in_use()
    if a.device == "cpu" and "openblas" not in blas and not a.any_blas:
        sys.exit(f"torch_bench.py: PyTorch runs on {blas}, not OpenBLAS, and would be timed several times "
                 "too slow: apt-get install libopenblas0-pthread (or pass --any-blas)")
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    dev = torch.device(a.device)
    if a.gemm:
        sizes = [784] + [int(s) for s in a.layers.split(",")] + [10]
        for name, ta, tb, m, n, k in gemm_shapes(sizes, a.batch):
            rate = time_gemm(dev, ta, tb, m, n, k)
            print(json.dumps({"torch": torch.__version__, "shape": name, "trans_a": ta, "trans_b": tb, "m": m, "n": n, "k": k, "gflops": rate}))
        return
    images = read_idx(find(a.data, "train-images-idx3-ubyte"))
    y = read_idx(find(a.data, "train-labels-idx1-ubyte")).long().to(dev)
    if a.arch:
        x_u8 = images.reshape(-1, 1, images.shape[1], images.shape[2]).to(dev)
        if "conv" in a.arch and not torch.backends.mkldnn.is_available() and not a.any_blas:
            sys.exit("torch_bench.py: this PyTorch has no MKL-DNN (oneDNN) for its convolutions")
    else:
        x_u8 = images.reshape(images.shape[0], -1).to(dev)
    if a.limit:
        x_u8, y = x_u8[: a.limit], y[: a.limit]
    sizes = [x_u8[0].numel()] + [int(s) for s in a.layers.split(",")] + [10]

    def make_model():
        if a.arch:
            return arch_model(a.arch, tuple(x_u8.shape[1:]), 10).to(dev)
        mods = []
        for i in range(len(sizes) - 1):
            mods.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                mods.append(nn.ReLU())
        return nn.Sequential(*mods).to(dev)

    if a.to_accuracy:
        xt = read_idx(find(a.data, "t10k-images-idx3-ubyte")).reshape((-1,) + tuple(x_u8.shape[1:]))
        yt = read_idx(find(a.data, "t10k-labels-idx1-ubyte")).long().to(dev)
        x, xt = x_u8.float().mul_(1.0 / 255.0), xt.to(dev).float().mul_(1.0 / 255.0)
        run_to_accuracy(a, x, y, xt, yt, make_model(), dev)
        return
    if a.epochs:
        run_epochs(a, x_u8 if a.feed == "u8" else x_u8.float().mul_(1.0 / 255.0), y, make_model(), dev)
        return
    results = []
    for run in range(a.runs):
        model = make_model()  # a fresh model per run, as clmnist bench makes a fresh trainer
        if a.optimizer == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(a.beta1, a.beta2))
        else:
            opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
        model.train()
        loss_fn = nn.CrossEntropyLoss()
        perm = torch.randperm(x_u8.shape[0], device=dev)

        def step(i):
            idx = perm[(i * a.batch) % (x_u8.shape[0] - a.batch) :][: a.batch]
            xb = x_u8[idx].float().mul_(1.0 / 255.0)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), y[idx])
            loss.backward()
            opt.step()
            return loss

        for i in range(a.warmup):
            step(i)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for i in range(a.steps):
            loss = step(a.warmup + i)
        loss.item()  # wait for the last step, as clmnist bench drains the backend
        if dev.type == "cuda":
            torch.cuda.synchronize()
        ips = a.steps * a.batch / (time.perf_counter() - t0)
        results.append(ips)
        print(f"pytorch {a.device} run {run + 1}: {ips:.0f} images/s", flush=True)
    print(f"pytorch {torch.__version__} {a.device} ({a.threads} threads) batch {a.batch}: median {statistics.median(results):.0f} images/s")


if __name__ == "__main__":
    main()
