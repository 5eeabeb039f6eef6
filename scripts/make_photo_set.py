#!/usr/bin/env python3
"""make_photo_set.py: MNIST test digits rendered as phone photos of a digit on paper, for
scripts/photo_bench.sh (docs/RESULTS.md, "Photos of digits"). Never commit its output.

usage: make_photo_set.py [--data DIR] [--out DIR] [--count N] [--seed S] [--kinds k1,k2,...]

Writes OUT/<kind>/<class>/<index>.jpg: an image folder per kind, labelled by its sub-folders, for
`clmnist predict --data` or `clmnist eval --data`. The same N test digits (the first N of
t10k, or a seeded sample) are rendered in every kind. Every image is a colour JPEG of 1000 to
3000 pixels on its longer side with camera noise; each kind adds one difficulty:
  clean     white paper, black ink, the digit in the middle
  gradient  a lighting gradient across the page (one side 35-55% darker)
  vignette  dark corners (a radial falloff of 40-60%), off-centre
  grey      grey or tinted paper (levels 110-180), dark blue or black ink
  specks    30-150 dark specks and dust spots scattered away from the digit
  thin      strokes thinned (eroded) and light (pencil: 35-55% contrast)
  small     a small digit (6-12% of the page's shorter side) anywhere on the page
  rotated   the digit rotated 5 to 15 degrees either way
  jpeg      heavy JPEG compression (quality 15-35) after a slight blur
Needs numpy and PIL (Debian: python3-numpy python3-pil).
"""
import argparse
import gzip
import os
import sys

try:
    import numpy as np
    from PIL import Image, ImageFilter
except ImportError as e:  # the caller (a test or photo_bench.sh) skips on exit 77
    print(f"make_photo_set.py: missing {e.name} (Debian: python3-numpy python3-pil)", file=sys.stderr)
    sys.exit(77)

KINDS = ["clean", "gradient", "vignette", "grey", "specks", "thin", "small", "rotated", "jpeg"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(data_dir, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    sys.exit(f"make_photo_set.py: {data_dir}: no {stem}")


def page_size(rng):
    long_side = int(rng.integers(1000, 3001))
    short = int(long_side * rng.choice([2 / 3, 3 / 4]))
    return (long_side, short) if rng.random() < 0.5 else (short, long_side)  # (w, h)


def digit_ink(digit, size, rng, rotate=0.0, thin=False):
    """The digit's ink (0..1) at size x size pixels: bicubic upscaling of the 28x28 image."""
    img = Image.fromarray(digit)
    if thin:  # eroded at 4x: the strokes (~2.5 px of 28) keep about half their width
        img = img.resize((112, 112), Image.BICUBIC).filter(ImageFilter.MinFilter(5))
    img = img.resize((size, size), Image.BICUBIC)
    if rotate:
        img = img.rotate(rotate, resample=Image.BICUBIC, expand=True, fillcolor=0)
    return np.asarray(img, np.float32) / 255.0


def illumination(kind, w, h, rng):
    """Light falling on the page (1: full), computed on a coarse grid and resized."""
    gw, gh = 48, max(2, int(48 * h / w))
    y, x = np.mgrid[0:gh, 0:gw].astype(np.float32)
    x, y = x / (gw - 1), y / (gh - 1)
    light = np.ones((gh, gw), np.float32) * rng.uniform(0.9, 1.0)
    if kind == "gradient":
        a = rng.uniform(0, 2 * np.pi)
        t = (np.cos(a) * (x - 0.5) + np.sin(a) * (y - 0.5)) / 0.71 * 0.5 + 0.5  # 0..1 across the page
        light *= 1.0 - rng.uniform(0.35, 0.55) * np.clip(t, 0, 1)
    elif kind == "vignette":
        cx, cy = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)
        r2 = ((x - cx) ** 2 + (y - cy) ** 2) / 0.5
        light *= 1.0 - rng.uniform(0.4, 0.6) * np.clip(r2, 0, 1)
    else:  # every photo: a gentle unevenness
        a = rng.uniform(0, 2 * np.pi)
        light *= 1.0 - 0.08 * (np.cos(a) * x + np.sin(a) * y)
    return np.asarray(Image.fromarray(light, "F").resize((w, h), Image.BILINEAR))


def add_specks(paper, rng, box):
    """Dark specks and lighter dust, none inside the digit's box (x0, y0, x1, y1) widened by 15%."""
    h, w = paper.shape[:2]
    x0, y0, x1, y1 = box
    mx, my = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
    n, placed = int(rng.integers(30, 151)), 0
    scale = min(w, h) / 1000.0  # pixels of the half-size page
    while placed < n:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        if x0 - mx < cx < x1 + mx and y0 - my < cy < y1 + my:
            continue
        r = rng.uniform(1.0, 5.0) * scale
        depth = rng.uniform(0.3, 0.9)
        ys, xs = slice(max(0, int(cy - r - 1)), min(h, int(cy + r + 2))), slice(max(0, int(cx - r - 1)), min(w, int(cx + r + 2)))
        yy, xx = np.mgrid[ys, xs]
        d = np.sqrt((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2)
        m = np.clip(r + 0.5 - d, 0, 1)[..., None]
        paper[ys, xs] *= 1.0 - depth * m
        placed += 1


def render(digit, kind, rng):
    """The photo (PIL RGB) and its JPEG quality. It is drawn at half size and enlarged (bicubic), as
    soft as a phone's pictures and four times quicker to make."""
    fw, fh = page_size(rng)
    w, h = fw // 2, fh // 2
    short = min(w, h)
    frac = rng.uniform(0.06, 0.12) if kind == "small" else rng.uniform(0.3, 0.6)
    size = max(28, int(short * frac / 0.72))  # MNIST's 20 of 28: the ink's height is `frac`
    size = min(size, int(short / 1.25))  # room for a rotation's larger box
    rot = rng.uniform(5, 15) * rng.choice([-1, 1]) if kind == "rotated" else rng.uniform(-3, 3)
    ink = digit_ink(digit, size, rng, rotate=rot, thin=kind == "thin")
    ih, iw = ink.shape
    if kind in ("small", "vignette"):
        ox, oy = int(rng.integers(0, w - iw + 1)), int(rng.integers(0, h - ih + 1))
    else:
        ox = int((w - iw) / 2 + rng.uniform(-0.1, 0.1) * w)
        oy = int((h - ih) / 2 + rng.uniform(-0.1, 0.1) * h)
        ox, oy = min(max(ox, 0), w - iw), min(max(oy, 0), h - ih)
    # paper colour (RGB) and ink colour as reflectances
    if kind == "grey":
        level = rng.uniform(110, 180) / 255.0
        tint = np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.12, 0.12, 3)
        paper_rgb = np.clip(level * tint, 0, 1)
    else:
        paper_rgb = np.array([1.0, 1.0, 1.0]) * rng.uniform(0.9, 1.0) - rng.uniform(0, 0.04, 3)
    pen = np.array([0.05, 0.06, 0.25]) if rng.random() < 0.4 else np.array([0.05, 0.05, 0.05])
    contrast = rng.uniform(0.35, 0.55) if kind == "thin" else rng.uniform(0.8, 0.95)
    img = np.empty((h, w, 3), np.float32)
    img[:] = paper_rgb.astype(np.float32) * 255.0
    a = (ink * contrast)[..., None]
    img[oy:oy + ih, ox:ox + iw] = img[oy:oy + ih, ox:ox + iw] * (1 - a) + pen.astype(np.float32) * 255.0 * a
    if kind == "specks":
        add_specks(img, rng, (ox, oy, ox + iw, oy + ih))
    img *= illumination(kind, w, h, rng)[..., None]
    img += rng.standard_normal((h, w, 1), np.float32) * np.float32(rng.uniform(2, 5))  # sensor noise
    np.clip(img, 0, 255, out=img)
    out = Image.fromarray(img.astype(np.uint8), "RGB").resize((fw, fh), Image.BICUBIC)
    quality = int(rng.integers(70, 93))
    if kind == "jpeg":
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5) * short / 500))
        quality = int(rng.integers(15, 36))
    return out, quality


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("CLMNIST_DATA", "data/mnist"))
    ap.add_argument("--out", default="photos")
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS))
    a = ap.parse_args()
    kinds = a.kinds.split(",")
    for k in kinds:
        if k not in KINDS:
            sys.exit(f"make_photo_set.py: --kinds: unknown kind '{k}' (expected {', '.join(KINDS)})")
    images = read_idx(find(a.data, "t10k-images-idx3-ubyte"))
    labels = read_idx(find(a.data, "t10k-labels-idx1-ubyte"))
    pick = np.random.default_rng(a.seed).permutation(len(labels))[:a.count]
    for ki, kind in enumerate(kinds):
        rng = np.random.default_rng([a.seed, KINDS.index(kind)])
        for c in range(10):
            os.makedirs(os.path.join(a.out, kind, str(c)), exist_ok=True)
        for i in pick:
            img, q = render(images[i], kind, rng)
            img.save(os.path.join(a.out, kind, str(labels[i]), f"{i:05d}.jpg"), quality=int(q))
        print(f"{kind}: {len(pick)} images in {os.path.join(a.out, kind)}", flush=True)


if __name__ == "__main__":
    main()
