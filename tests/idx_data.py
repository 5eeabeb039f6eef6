#!/usr/bin/env python3
"""idx_data.py DIR CASE: writes a small synthetic IDX dataset (the four MNIST file names, 12x12
images) for the shell tests. Every image is a bright band whose position is its class over random
noise, so the images are distinct and a small network learns them. CASE:

  sane        10 balanced classes, 600 training and 200 test images
  dup_few     sane, but 1 test image (0.5%) copied from the training set: below the threshold
  labels200   every training label is 200; the test labels are 0-9
  unseen      training labels 0-4 and 9; the test set also has 5-8
  few         training and test labels only 0 and 9 of classes 0-9
  imbalance   class 0 has 420 training images, the others 20 each (21x)
  blank       3 of the 600 training images are blank (every pixel the same value)
  blank_test  1 of the 200 test images is blank
  duplicates  40 of the 200 test images (20%) are copies of training images
  same        the test files are the training files
  classes26   26 balanced classes (EMNIST letters' count), 780 training and 260 test images
  mirror      sane, every image mirrored left to right (another task for the same network)
"""
import random
import struct
import sys

ROWS = COLS = 12


def image(rng, label):
    band = label % 10 * ROWS // 10
    lit = range(label // 10 * 4, label // 10 * 4 + 4) if label >= 10 else range(COLS)  # classes26: 10-25 light part
    return bytes(rng.randrange(64) + (160 if band <= y <= band + 1 and x in lit else 0)
                 for y in range(ROWS) for x in range(COLS))


def write(path, magic, dims, payload):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload)


def split(rng, labels):
    return [image(rng, c) for c in labels], list(labels)


def make(case, rng):
    balanced = [i % 10 for i in range(600)]
    train_labels, test_labels = balanced, [i % 10 for i in range(200)]
    if case == "labels200":
        train_labels = [200] * 600
    elif case == "unseen":
        train_labels = [(0, 1, 2, 3, 4, 9)[i % 6] for i in range(600)]
    elif case == "few":
        train_labels, test_labels = [(0, 9)[i % 2] for i in range(600)], [(0, 9)[i % 2] for i in range(200)]
    elif case == "classes26":
        train_labels, test_labels = [i % 26 for i in range(780)], [i % 26 for i in range(260)]
    elif case == "imbalance":
        train_labels = [0] * 420 + [1 + i % 9 for i in range(180)]
    train, test = split(rng, train_labels), split(rng, test_labels)
    if case == "blank":
        for i, v in enumerate((0, 0, 255)):
            train[0][i * 7] = bytes([v]) * (ROWS * COLS)
    if case == "blank_test":
        test[0][0] = bytes([17]) * (ROWS * COLS)
    copies = {"dup_few": 1, "duplicates": 40}.get(case, 0)
    for i in range(copies):  # test image 5i becomes training image 5i (same class: 5i % 10 in both)
        test[0][5 * i] = train[0][5 * i]
    if case == "same":
        test = train
    if case == "mirror":
        flip = lambda im: b"".join(im[y * COLS:(y + 1) * COLS][::-1] for y in range(ROWS))
        train, test = ([flip(im) for im in train[0]], train[1]), ([flip(im) for im in test[0]], test[1])
    return train, test


def main():
    out, case = sys.argv[1], sys.argv[2]
    rng = random.Random(7)
    train, test = make(case, rng)
    for stem, (images, labels) in (("train", train), ("t10k", test)):
        write(f"{out}/{stem}-images-idx3-ubyte", 0x803, (len(images), ROWS, COLS), b"".join(images))
        write(f"{out}/{stem}-labels-idx1-ubyte", 0x801, (len(labels),), bytes(labels))


if __name__ == "__main__":
    main()
