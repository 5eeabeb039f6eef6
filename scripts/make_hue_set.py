#!/usr/bin/env python3
"""make_hue_set.py: a synthetic colour data set whose class is the hue of a shape at equal luma.

Three classes (red, green, blue) of 32x32 images: a square or a disc of random size and place,
coloured (96, 0, 0), (0, 49, 0) or (0, 0, 255), on a background of random grey noise. The three
colours have the same grey value under the luma weights (77, 150, 29) / 256 that clmnist uses
to turn colour into grey (28 each), so a grey model cannot tell the classes apart; a colour model
can. Written as CIFAR-10 binary batches (data_batch_1.bin, test_batch.bin, batches.meta.txt)
or, with --png, as an image folder (train/CLASS/NNNN.png, test/CLASS/NNNN.png; RGB PNGs).

usage: scripts/make_hue_set.py OUT_DIR [--png] [--train N] [--test N] [--seed S]
"""
import argparse
import os
import random
import struct
import zlib

SIDE = 32
COLOURS = [(96, 0, 0), (0, 49, 0), (0, 0, 255)]
NAMES = ["red", "green", "blue"]


def image(rng, label):
    bg = [rng.randrange(0, 80) for _ in range(SIDE * SIDE)]
    planes = [list(bg), list(bg), list(bg)]
    r = rng.randrange(5, 11)
    cy, cx = rng.randrange(r, SIDE - r), rng.randrange(r, SIDE - r)
    disc = rng.random() < 0.5
    for y in range(SIDE):
        for x in range(SIDE):
            inside = (y - cy) ** 2 + (x - cx) ** 2 <= r * r if disc else abs(y - cy) <= r and abs(x - cx) <= r
            if inside:
                for c in range(3):
                    planes[c][y * SIDE + x] = COLOURS[label][c]
    return bytes(planes[0] + planes[1] + planes[2])


def batch(path, rng, n, offset):
    with open(path, "wb") as f:
        for i in range(n):
            label = (i + offset) % 3
            f.write(bytes([label]) + image(rng, label))


def write_png(path, planes):
    """An 8-bit RGB PNG of 3 planes of SIDE x SIDE (the standard library alone)."""
    rows = b"".join(b"\0" + bytes(v for x in range(SIDE) for v in (planes[0][y * SIDE + x], planes[1][y * SIDE + x],
                                                                     planes[2][y * SIDE + x]))
                    for y in range(SIDE))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def folder(root, rng, n, offset):
    for i in range(n):
        label = (i + offset) % 3
        img = image(rng, label)
        d = os.path.join(root, NAMES[label])
        os.makedirs(d, exist_ok=True)
        write_png(os.path.join(d, f"{i:04d}.png"), [img[c * SIDE * SIDE:(c + 1) * SIDE * SIDE] for c in range(3)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--png", action="store_true", help="an image folder of PNGs instead of CIFAR batches")
    ap.add_argument("--train", type=int, default=600)
    ap.add_argument("--test", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    if a.png:
        folder(os.path.join(a.out, "train"), rng, a.train, 0)
        folder(os.path.join(a.out, "test"), rng, a.test, 1)
        return
    batch(os.path.join(a.out, "data_batch_1.bin"), rng, a.train, 0)
    batch(os.path.join(a.out, "test_batch.bin"), rng, a.test, 1)
    with open(os.path.join(a.out, "batches.meta.txt"), "w") as f:
        f.write("\n".join(NAMES) + "\n\n")


if __name__ == "__main__":
    main()
