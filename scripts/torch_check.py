#!/usr/bin/python3
"""torch_check.py: loads a clmnist model into PyTorch and compares predictions on the test set.

Reads the safetensors file with a short reader of the published format (Debian packages
python3-torch but not the `safetensors` module; where that module is installed,
safetensors.torch.load_file gives the same dict), builds nn.Sequential(Linear, ReLU, ..., Linear)
from the metadata, loads the state dict by name, and classifies every test image (pixels / 255).
It compares PyTorch's accuracy with the test_accuracy recorded in the file and, with
--predictions, every predicted class with those `clmnist eval --predictions FILE` wrote.

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--predictions", help="file of clmnist's predicted classes, one per line, to compare")
    args = ap.parse_args()

    state, meta = load_safetensors(args.model)
    sizes = [int(s) for s in meta["layers"].split("-")]
    mods = []
    for i in range(len(sizes) - 1):
        mods.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            mods.append(nn.ReLU())
    model = nn.Sequential(*mods)
    # clmnist names tensors "layers.{module index}.weight|bias": strip the prefix for Sequential
    model.load_state_dict({k[len("layers.") :]: v for k, v in state.items() if k.startswith("layers.")})
    model.eval()

    x = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte")).reshape(-1, sizes[0]).float() / 255.0
    y = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte")).long()
    with torch.no_grad():
        logits = model(x)
    pred = logits.argmax(dim=1)
    acc = (pred == y).float().mean().item()
    print(f"pytorch {torch.__version__}: {args.model}: MLP {meta['layers']}, {len(y)} test images")
    print(f"pytorch test accuracy: {100 * acc:.2f}%  (clmnist recorded: {100 * float(meta['test_accuracy']):.2f}%)")
    ok = round(acc, 6) == round(float(meta["test_accuracy"]), 6)
    if args.predictions:
        theirs = torch.tensor([int(l) for l in open(args.predictions)], dtype=torch.long)
        same = (theirs == pred).sum().item()
        print(f"identical predictions: {same} of {len(pred)}")
        ok = ok and same == len(pred)
    print("MATCH" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
