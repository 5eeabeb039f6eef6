#!/usr/bin/env python3
"""make_corpus.py: writes the seed corpora of the fuzz targets, OUT/<target>/, from scratch: small
valid inputs of every kind each parser reads (nothing here is a committed dataset).

  idx    IDX label and image files, raw and gzip (one gzip file in two members)
  arch   --arch specs: the presets', the README's and every token kind
  image  PNG (every colour type; written here with zlib), binary PGM/PPM (8 and 16 bits) and the
         JPEGs of fuzz_seed_jpeg (gray, colour, progressive, restart markers)
  serve_body  request bodies of POST /api/predict: a selector byte for the Content-Type (its high
         bit: a colour model) and one for the invert parameter, then JSON pixels, PNG/PGM images,
         multipart uploads of either; for the colour model an RGB PNG and 3072 JSON pixels
  model  models and checkpoints that clmnist itself trains on a tiny 6x6 dataset (an MLP, a CNN
         with BatchNorm, checkpoints with momentum and with Adam + early stopping), and a format-1
         file written here
  onnx   the MLP and the CNN of `model`, exported by `clmnist export`

usage: tests/fuzz/make_corpus.py OUT CLMNIST SEED_JPEG
"""
import gzip
import os
import struct
import subprocess
import sys
import tempfile
import zlib


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, mtime=0)


def idx(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)


def stroke(side):
    """A light "1" on black, row-major side x side gray levels."""
    return [200 if side // 2 - 1 <= x <= side // 2 and 2 <= y < side - 2 else 10
            for y in range(side) for x in range(side)]


def idx_seeds(out):
    labels = idx([5], [0, 1, 2, 1, 0])
    images = idx([2, 3, 3], range(18))
    mnist_like = idx([1, 28, 28], stroke(28))
    for name, data in [("labels", labels), ("images", images), ("mnist_like", mnist_like)]:
        write(f"{out}/{name}.idx", data)
        write(f"{out}/{name}.idx.gz", gz(data))
    write(f"{out}/images_two_members.idx.gz", gz(images[:10]) + gz(images[10:]))


ARCHS = [
    "conv24k5-bn-relu-pool2-conv32k3-bn-relu-pool2-flatten-fc256-relu-drop0.25-fc10",
    "conv32k5-bn-relu-pool2-conv64k3-bn-relu-pool2-flatten-fc256-bn-relu-drop0.4-fc10",
    "conv32k5p2-bn-relu-pool2-conv64k5p2-bn-relu-pool2-flatten-fc512-relu-drop0.3-fc10",
    "flatten-fc512-relu-fc256-relu-fc10",
    "flatten-fc1024-relu-drop0.2-fc1024-relu-drop0.2-fc10",
    "conv64k3s2p1-relu-pool3s2-flatten-fc10",
    "conv8k3-pool2-flatten-fc10",
    "flatten-fc10",
    "flatten-bn-fc10",
]


def arch_seeds(out):
    for i, spec in enumerate(ARCHS):
        write(f"{out}/arch{i}.txt", spec.encode())


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w, h, depth, color, rows, extra=b""):
    """rows: the raw bytes of each row (filter byte 0 is added here)."""
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", zlib.compress(raw)) +
            png_chunk(b"IEND", b""))


def image_seeds(out):
    side = 12
    g = stroke(side)
    rows = [g[y * side:(y + 1) * side] for y in range(side)]
    write(f"{out}/gray8.png", png(side, side, 8, 0, [bytes(r) for r in rows]))
    write(f"{out}/gray16.png", png(side, side, 16, 0, [b"".join(struct.pack(">H", v * 257) for v in r) for r in rows]))
    write(f"{out}/gray_alpha.png", png(side, side, 8, 4, [bytes(b for v in r for b in (255 - v, 255 if v > 100 else 64))
                                                          for r in rows]))
    write(f"{out}/rgb.png", png(side, side, 8, 2, [bytes(b for v in r for b in (v, v // 2, 255 - v)) for r in rows]))
    write(f"{out}/rgba.png", png(side, side, 8, 6, [bytes(b for v in r for b in (v, v, v, 200)) for r in rows]))
    bits = [bytes(int("".join("1" if v > 100 else "0" for v in r[i:i + 8]).ljust(8, "0"), 2)
                  for i in range(0, side, 8)) for r in rows]
    write(f"{out}/gray1.png", png(side, side, 1, 0, bits))
    plte = png_chunk(b"PLTE", bytes([10, 10, 10, 200, 200, 200])) + png_chunk(b"tRNS", bytes([255, 128]))
    write(f"{out}/palette.png", png(side, side, 8, 3, [bytes(1 if v > 100 else 0 for v in r) for r in rows], plte))
    header = f"P5\n# a comment\n{side} {side}\n255\n".encode()
    write(f"{out}/gray8.pgm", header + bytes(g))
    write(f"{out}/gray16.pgm", f"P5 {side} {side} 65535\n".encode() + b"".join(struct.pack(">H", v * 257) for v in g))
    write(f"{out}/rgb.ppm", f"P6\n{side} {side}\n255\n".encode() + bytes(b for v in g for b in (v, 255 - v, v)))


def tiny_dataset(d):
    """6x6 images of 3 classes: a bright band per class over a fixed pattern; 60 training, 12 test."""
    os.makedirs(d, exist_ok=True)
    for k, (stem, n) in enumerate([("train", 60), ("t10k", 12)]):
        px = [(i * 37 + j * 11) % 50 + 50 * k + (150 if (j // 6) // 2 == i % 3 else 0)
              for i in range(n) for j in range(36)]
        write(f"{d}/{stem}-images-idx3-ubyte", idx([n, 6, 6], px))
        write(f"{d}/{stem}-labels-idx1-ubyte", idx([n], [i % 3 for i in range(n)]))


def model_seeds(out, clmnist):
    env = dict(os.environ, CLMNIST_NO_PROGRESS="1", CLMNIST_NO_HINT="1", OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        data = f"{tmp}/tiny"
        tiny_dataset(data)
        base = [clmnist, "train", "--backend", "host", "--threads", "1", "--data", data, "--batch", "20"]
        runs = [
            ["--layers", "4", "--epochs", "1", "--out", f"{out}/mlp.safetensors"],
            ["--arch", "conv2k3-bn-relu-pool2-flatten-fc3", "--epochs", "1", "--out", f"{out}/cnn.safetensors"],
            ["--layers", "4", "--epochs", "2", "--stop-after", "1", "--checkpoint-every", "1", "--no-save",
             "--checkpoint", f"{out}/checkpoint_momentum.safetensors"],
            ["--arch", "flatten-fc4-bn-relu-drop0.25-fc3", "--optimizer", "adam", "--schedule", "onecycle",
             "--val", "12", "--patience", "2", "--epochs", "2", "--checkpoint-every", "1", "--no-save",
             "--checkpoint", f"{out}/checkpoint_adam_early_stopping.safetensors"],
        ]
        for extra in runs:
            subprocess.run(base + extra, env=env, check=True, stdout=subprocess.DEVNULL)
    # format 1: an MLP 36-4-3 as the previous release wrote it (no "modules")
    tensors = [("layers.0.weight", [4, 36]), ("layers.0.bias", [4]), ("layers.2.weight", [3, 4]),
               ("layers.2.bias", [3])]
    header, offset, blob = {}, 0, b""
    for name, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + 4 * n]}
        blob += struct.pack(f"<{n}f", *[0.01 * (i % 7) for i in range(n)])
        offset += 4 * n
    header["__metadata__"] = {"format": "pt", "clmnist.format_version": "1", "architecture": "mlp",
                              "activation": "relu", "layers": "36-4-3", "input_shape": "6x6"}
    text = str(header).replace("'", '"').encode()
    text += b" " * (-len(text) % 8)
    write(f"{out}/format1.safetensors", struct.pack("<Q", len(text)) + text + blob)


def serve_body_seeds(out):
    """Byte 0 picks the Content-Type (fuzz_serve_body.c's list), byte 1 the invert parameter."""
    side = 12
    g = stroke(side)
    image = png(side, side, 8, 0, [bytes(g[y * side:(y + 1) * side]) for y in range(side)])
    pgm = f"P5 {side} {side} 255\n".encode() + bytes(g)
    pixels = ("{\"pixels\": [" + ", ".join("%.3g" % (i % 7 / 6) for i in range(784)) + "]}").encode()
    pre = pixels[:-1] + b', "preprocess": true, "invert": "auto", "return_input": true}'

    def part(boundary, body, name=b"file"):
        return (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\"; filename=\"d\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" + body + b"\r\n--" + boundary + b"--\r\n")
    seeds = {"json": b"\0\0" + pixels, "json_pre": b"\0\1" + pre, "png": b"\1\2" + image, "octet_png": b"\2\3" + image,
             "octet_json": b"\2\0" + pixels, "octet_pgm": b"\2\1" + pgm,
             "multipart_png": b"\3\0" + part(b"b", image),
             "multipart_json": b"\4\1" + b"--soak-boundary\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n"
             + part(b"soak-boundary", pixels),
             "multipart_other": b"\5\0" + part(b"clmnist-test-boundary-7", image, b"image"),
             "text": b"\7\0" + b"7"}
    rgb = png(side, side, 8, 2, [bytes(v for x in range(side) for v in (g[y * side + x], 40, 255 - g[y * side + x]))
                                 for y in range(side)])
    colour = ("{\"pixels\": [" + ", ".join("%.3g" % (i % 5 / 4) for i in range(3072)) + "]}").encode()
    seeds.update({"colour_png": b"\x81\0" + rgb, "colour_json": b"\x80\0" + colour,
                  "colour_multipart": b"\x83\0" + part(b"b", rgb)})
    for name, data in seeds.items():
        write(f"{out}/{name}", data)


def onnx_seeds(out, models, clmnist):
    """The seed models exported as ONNX (nothing when clmnist was built without ONNX support)."""
    for name in ("mlp", "cnn"):
        r = subprocess.run([clmnist, "export", f"{models}/{name}.safetensors", f"{out}/{name}.onnx"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            print(f"make_corpus: {clmnist} export failed (built without ONNX?): no ONNX seeds")
            return


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    out, clmnist, seed_jpeg = sys.argv[1:]
    for t in ("idx", "arch", "image", "model", "serve_body", "onnx"):
        os.makedirs(f"{out}/{t}", exist_ok=True)
    idx_seeds(f"{out}/idx")
    arch_seeds(f"{out}/arch")
    image_seeds(f"{out}/image")
    serve_body_seeds(f"{out}/serve_body")
    subprocess.run([seed_jpeg, f"{out}/image"], check=True)
    model_seeds(f"{out}/model", os.path.abspath(clmnist))
    onnx_seeds(f"{out}/onnx", f"{out}/model", os.path.abspath(clmnist))
    for t in ("idx", "arch", "image", "model", "serve_body", "onnx"):
        files = os.listdir(f"{out}/{t}")
        print(f"make_corpus: {out}/{t}: {len(files)} seeds, "
              f"{sum(os.path.getsize(f'{out}/{t}/{f}') for f in files)} bytes")


if __name__ == "__main__":
    main()
