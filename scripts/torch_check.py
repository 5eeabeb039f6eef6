#!/usr/bin/python3
"""torch_check.py: loads a clmnist model into PyTorch and compares predictions on the test set.

Reads the safetensors file with a short reader of the published format (Debian packages
python3-torch but not the `safetensors` module; where that module is installed,
safetensors.torch.load_file gives the same dict) and rebuilds the network from the file alone:
  format 2: the `modules` metadata, one {"type": torch.nn class, ...its constructor arguments}
            per layer: nn.Sequential(*[getattr(nn, m.pop("type"))(**m) for m in modules]);
            input (N, C, H, W) float32 from `input_shape` "CxHxW" and
            x = (pixel * input_scale - input_mean) / input_std, per channel when those are
            comma-separated lists (colour models);
  format 1: (MLPs of the previous release, no `modules`) nn.Sequential(Linear, ReLU, ..., Linear)
            from the tensors "layers.{2l}.weight"; input flattened, pixels / 255.
It loads the state dict by name (only BatchNorm's num_batches_tracked may be missing), puts the
model in eval mode (BatchNorm on its running statistics, no dropout), classifies every test image,
and compares PyTorch's accuracy with the test_accuracy recorded in the file and, with
--predictions, every predicted class with those `clmnist eval --predictions FILE` wrote.

The test set: DIR/t10k-images-idx3-ubyte (IDX), or DIR/test_batch.bin (CIFAR-10's binary
batch: 3x32x32 planar RGB records; with --channels 1 models, made grey as clmnist does).

usage: scripts/torch_check.py MODEL.safetensors [--data data/mnist] [--predictions FILE]
"""
import argparse
import gzip
import json
import os
import struct
import sys

import torch
from torch import nn

DTYPES = {"F32": torch.float32}


def load_safetensors(path):
    """The safetensors format: u64 little-endian header length, JSON header, raw tensors."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:end]), dtype=DTYPES[e["dtype"]])
        tensors[name] = t.reshape(e["shape"])
    return tensors, meta


def read_idx(path):
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim :]), dtype=torch.uint8).reshape(dims)


def build_v2(meta):
    """Format 2: the network from `modules`, the input transform from the input_* metadata."""
    modules = json.loads(meta["modules"])
    model = nn.Sequential(*[getattr(nn, m.pop("type"))(**m) for m in modules])
    shape = [int(s) for s in meta["input_shape"].split("x")]
    scale = float(meta.get("input_scale", 1.0 / 255.0))
    mean = torch.tensor([float(v) for v in str(meta.get("input_mean", "0")).split(",")], dtype=torch.float32)
    std = torch.tensor([float(v) for v in str(meta.get("input_std", "1")).split(",")], dtype=torch.float32)

    def transform(pixels):  # uint8 (N, H, W) or (N, C, H, W) -> float32 (N, C, H, W)
        x = pixels.reshape(-1, *shape).to(torch.float32) * torch.tensor(scale, dtype=torch.float32)
        return (x - mean.reshape(1, -1, 1, 1)) / std.reshape(1, -1, 1, 1)

    return model, transform


def build_v1(state):
    """Format 1: Linear layers "layers.{2l}" with ReLU between them, on flattened pixels / 255."""
    mods, l = [], 0
    while f"layers.{2 * l}.weight" in state:
        if l > 0:
            mods.append(nn.ReLU())
        out_f, in_f = state[f"layers.{2 * l}.weight"].shape
        mods.append(nn.Linear(in_f, out_f))
        l += 1
    if not mods:
        sys.exit("torch_check: no 'modules' metadata and no tensor 'layers.0.weight': not a clmnist model")
    in_f = mods[0].in_features

    def transform(pixels):
        return pixels.reshape(-1, in_f).to(torch.float32) / 255.0

    return nn.Sequential(*mods), transform


def load_model(path):
    """The model in eval mode, its input transform, a description and the metadata."""
    state, meta = load_safetensors(path)
    v2 = "modules" in meta
    model, transform = build_v2(meta) if v2 else build_v1(state)
    # clmnist names tensors "layers.{module index}.{name}" (format 1: Linear l is module 2l of
    # the Sequential above): strip the prefix for Sequential; a checkpoint's optimizer and
    # early-stopping state ("optimizer.*", "early_stopping.*") stay out
    params = {k[len("layers.") :]: v for k, v in state.items() if k.startswith("layers.")}
    result = model.load_state_dict(params, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith(".num_batches_tracked")]
    if missing or result.unexpected_keys:
        sys.exit(f"torch_check: {path}: missing tensors {missing}, unexpected tensors {result.unexpected_keys}")
    model.eval()
    desc = meta.get("layers", "") if v2 else "MLP " + "-".join(
        [str(model[0].in_features)] + [str(m.out_features) for m in model if isinstance(m, nn.Linear)])
    return model, transform, f"format {'2' if v2 else '1'}, {desc}", meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--predictions", help="file of clmnist's predicted classes, one per line, to compare")
    args = ap.parse_args()

    model, transform, desc, meta = load_model(args.model)
    cifar = os.path.join(args.data, "test_batch.bin")
    if os.path.exists(cifar):
        raw = torch.frombuffer(bytearray(open(cifar, "rb").read()), dtype=torch.uint8).reshape(-1, 3073)
        y, pixels = raw[:, 0].long(), raw[:, 1:].reshape(-1, 3, 32, 32)
        if meta.get("input_shape", "").startswith("1x"):  # clmnist's grey: luma (77, 150, 29) / 256
            p = pixels.to(torch.int32)
            pixels = ((p[:, 0] * 77 + p[:, 1] * 150 + p[:, 2] * 29) >> 8).to(torch.uint8)
        x = transform(pixels)
    else:
        x = transform(read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte")))
        y = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte")).long()
    with torch.no_grad():
        logits = model(x)
    pred = logits.argmax(dim=1)
    acc = (pred == y).float().mean().item()
    print(f"pytorch {torch.__version__}: {args.model}: {desc}, {len(y)} test images")
    ok = True
    if "test_accuracy" in meta:
        recorded = float(meta["test_accuracy"])
        print(f"pytorch test accuracy: {100 * acc:.2f}%  (clmnist recorded: {100 * recorded:.2f}%)")
        ok = round(acc, 6) == round(recorded, 6)
    else:
        print(f"pytorch test accuracy: {100 * acc:.2f}%  (the file records none)")
    if args.predictions:
        theirs = torch.tensor([int(l) for l in open(args.predictions)], dtype=torch.long)
        same = (theirs == pred).sum().item() if len(theirs) == len(pred) else 0
        print(f"identical predictions: {same} of {len(pred)}")
        ok = ok and same == len(pred)
    print("MATCH" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
