#!/usr/bin/python3
"""Breiman's waveform data (Breiman et al. 1984, "Classification and Regression Trees",
section 2.6.2; UCI "Waveform Database Generator (Version 1)"), as signals for
input/waveform_conv1d.cfg:

    scripts/waveform_to_h5.py DIR [--train 5000] [--test 5000] [--seed 0]
        -> DIR/train.h5, DIR/test.h5

Three triangular base waves on the points i = 1..21, h1(i) = max(6 - |i - 11|, 0),
h2(i) = h1(i - 4), h3(i) = h1(i + 4). Each example is one of three classes (equally
likely), two of the base waves mixed with a weight u ~ U(0, 1) and noise e ~ N(0, 1) at
every point:

    class 0:  x = u h1 + (1 - u) h2 + e
    class 1:  x = u h1 + (1 - u) h3 + e
    class 2:  x = u h2 + (1 - u) h3 + e

The Bayes error is 13.5 % (integrating over u: 0.135 +- 0.002 on 20000 draws; Breiman
et al. give "about 14 %"), as README says. The files have csv_to_h5.py's layout:
/features (N, 21) float64, one signal of 21 points per row (kbnn reads it as 1 x 21 x 1
with data.layout = signal), and /labels (N) int64 with the attributes class_names and
num_classes. The test file's rows come from the same stream after the training rows:
another seed gives other files. Needs numpy and h5py (Debian: python3-numpy python3-h5py).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csv_to_h5  # noqa: E402  (its writer, the same file layout; first: it names what is missing)
import numpy as np  # noqa: E402

POINTS = 21


def base_waves():
    """(3, 21): h1, h2, h3 on i = 1..21."""
    i = np.arange(1, POINTS + 1)
    h1 = np.maximum(6 - np.abs(i - 11), 0)
    return np.stack([h1, np.maximum(6 - np.abs(i - 15), 0), np.maximum(6 - np.abs(i - 7), 0)])


# The two base waves each class mixes (indices into base_waves()).
PAIRS = np.array([[0, 1], [0, 2], [1, 2]])


def waveforms(n, rng):
    """n examples: features (n, 21) and labels (n)."""
    h = base_waves().astype(np.float64)
    labels = rng.integers(0, 3, size=n)
    u = rng.uniform(0, 1, size=(n, 1))
    first, second = h[PAIRS[labels, 0]], h[PAIRS[labels, 1]]
    x = u * first + (1 - u) * second + rng.normal(0, 1, size=(n, POINTS))
    return x, labels.astype(np.int64)


def split_arguments(doc, argv):
    """The command line of a synthetic set's script: DIR, --train, --test, --seed, checked."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("dir", help="where train.h5 and test.h5 go (created if missing)")
    p.add_argument("--train", type=int, default=5000, help="training examples")
    p.add_argument("--test", type=int, default=5000, help="test examples")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.train < 1 or a.test < 1:
        sys.exit("--train and --test need at least one example each")
    return a


def main(argv=None):
    a = split_arguments(__doc__, argv)
    rng = np.random.default_rng(a.seed)
    names = [f"x{i}" for i in range(1, POINTS + 1)]
    classes = ["h1+h2", "h1+h3", "h2+h3"]
    source = f"waveform_to_h5.py --seed {a.seed}"
    for part, n in (("train", a.train), ("test", a.test)):
        x, y = waveforms(n, rng)
        path = os.path.join(a.dir, f"{part}.h5")
        csv_to_h5.write(path, x, y, names, ["class"], source, classes)
        print(f"{path}: {n} signals of {POINTS} points, classes {np.bincount(y, minlength=3)}")


if __name__ == "__main__":
    main()
