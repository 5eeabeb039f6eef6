#!/usr/bin/env python3
"""own_data.py SRC OUT: from an IDX dataset SRC (the first 300 training and 100 test images; MNIST
in the tests) writes the same images in every other layout `--data` reads, for own_data.sh:

  OUT/folder/{train,test}/CLASS/NNNNN.{pgm,png}  image folder (every 7th image a PNG), classes
                                                  named by word, so their sorted order is not 0-9
  OUT/idx/                                        the same images and labels as IDX, in the order
                                                  the folder is read (class by class, by name),
                                                  with classes.txt
  OUT/csv/{train,test}.csv                        Kaggle layout, the same order as OUT/idx
  OUT/emnist/emnist-x-*                           transposed copies, labels 0-9, a mapping file
                                                  naming them 'a'..'j'
  OUT/bad_*/                                      one bad-input case each (see own_data.sh)
"""
import gzip
import os
import struct
import sys
import zlib

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return dims, data[4 + 4 * nd:]


def find(src, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(src, name)):
            return os.path.join(src, name)
    raise SystemExit(f"{src}: no {stem}")


def load(src, split, n):
    (count, rows, cols), images = read_idx(find(src, f"{split}-images-idx3-ubyte"))
    _, labels = read_idx(find(src, f"{split}-labels-idx1-ubyte"))
    dim = rows * cols
    return rows, cols, [(images[i * dim:(i + 1) * dim], labels[i]) for i in range(min(n, count))]


def write_idx(path, dims, payload):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x800 + len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload)


def png(w, h, pixels):
    raw = b"".join(b"\0" + pixels[y * w:(y + 1) * w] for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pgm(w, h, pixels):
    return b"P5\n%d %d\n255\n" % (w, h) + pixels


def write_folder(root, rows, cols, items):
    for i, (img, label) in enumerate(items):
        d = os.path.join(root, WORDS[label])
        os.makedirs(d, exist_ok=True)
        name, data = (f"{i:05d}.png", png(cols, rows, img)) if i % 7 == 3 else (f"{i:05d}.pgm", pgm(cols, rows, img))
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def folder_order(items):
    """The folder's reading order: classes by sorted name, files by name; labels by sorted name."""
    order = sorted(WORDS)
    ranked = sorted(range(len(items)), key=lambda i: (order.index(WORDS[items[i][1]]), i))
    return [(items[i][0], order.index(WORDS[items[i][1]])) for i in ranked], order


def write_csv(path, items, dim, labelled=True):
    with open(path, "w") as f:
        f.write(",".join((["label"] if labelled else []) + [f"pixel{i}" for i in range(dim)]) + "\n")
        for img, label in items:
            f.write(",".join(([str(label)] if labelled else []) + [str(b) for b in img]) + "\n")


def transpose(img, rows, cols):
    return bytes(img[y * cols + x] for x in range(cols) for y in range(rows))


def main():
    src, out = sys.argv[1], sys.argv[2]
    rows, cols, train = load(src, "train", 300)
    _, _, test = load(src, "t10k", 100)
    write_folder(f"{out}/folder/train", rows, cols, train)
    write_folder(f"{out}/folder/test", rows, cols, test)
    os.makedirs(f"{out}/idx", exist_ok=True)
    os.makedirs(f"{out}/csv", exist_ok=True)
    for stem, items in (("train", train), ("t10k", test)):
        ordered, names = folder_order(items)
        write_idx(f"{out}/idx/{stem}-images-idx3-ubyte", (len(ordered), rows, cols), b"".join(i for i, _ in ordered))
        write_idx(f"{out}/idx/{stem}-labels-idx1-ubyte", (len(ordered),), bytes(l for _, l in ordered))
        write_csv(f"{out}/csv/{'test' if stem == 't10k' else 'train'}.csv", ordered, rows * cols)
    with open(f"{out}/idx/classes.txt", "w") as f:
        f.write("".join(n + "\n" for n in names))
    os.makedirs(f"{out}/emnist", exist_ok=True)
    for stem, items in (("train", train), ("test", test)):
        t = b"".join(transpose(i, rows, cols) for i, _ in items)
        write_idx(f"{out}/emnist/emnist-x-{stem}-images-idx3-ubyte", (len(items), cols, rows), t)
        write_idx(f"{out}/emnist/emnist-x-{stem}-labels-idx1-ubyte", (len(items),), bytes(l for _, l in items))
    with open(f"{out}/emnist/emnist-x-mapping.txt", "w") as f:
        f.write("".join(f"{c} {ord('a') + c}\n" for c in range(10)))
    os.makedirs(f"{out}/plain", exist_ok=True)  # the un-transposed original order, for emnist
    for stem, items in (("train", train), ("t10k", test)):
        write_idx(f"{out}/plain/{stem}-images-idx3-ubyte", (len(items), rows, cols), b"".join(i for i, _ in items))
        write_idx(f"{out}/plain/{stem}-labels-idx1-ubyte", (len(items),), bytes(l for _, l in items))


if __name__ == "__main__":
    main()
