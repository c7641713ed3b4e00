#!/usr/bin/python3
"""Pulses at random positions, as signals for input/pulses_conv1d.cfg: a synthetic set
where the evidence moves along the signal (a detector trace, a spectral line that is not
always at the same place), the case 1-D convolutions are made for:

    scripts/pulses_to_h5.py DIR [--train 5000] [--test 5000] [--seed 0]
        -> DIR/train.h5, DIR/test.h5

Each signal has 128 points and holds one pulse of one of four shapes (the classes, equally
many of each: the labels are a shuffled n // 4 of each, the first n % 4 classes one more),
on t = i - c with its centre c ~ U(8, 119), anywhere the pulse fits; each lies within
|t| <= 8 and peaks at 1:

    0 triangle   max(1 - |t| / 8, 0)                        wide
    1 box        1 where |t| <= 6                           flat
    2 gaussian   exp(-t^2 / (2 * 1.5^2))                    a narrow spike
    3 ringdown   exp(-u / 6) sin(2 pi u / 6) / 0.789,       oscillating, one-sided
                 u = t + 8 (it starts at c - 8)

times an amplitude a ~ U(0.5, 1.5), on a slow baseline drift b0 + b1 (i / 127 - 1/2) with
b0, b1 ~ U(-0.5, 0.5), plus noise e ~ N(0, 0.25^2) at every point. For scale: knowing the
four shapes, a least-squares fit of each shape, its amplitude and a straight baseline at
every centre in steps of 1/2 names the class of 91 % of 2000 such signals.

The files have csv_to_h5.py's layout: /features (N, 128) float64, one signal per row (kbnn
reads it as 1 x 128 x 1 with data.layout = signal), /labels (N) int64 with the attributes
class_names and num_classes; and /positions (N) float64, each pulse's centre c, which a
regression reads as its target (data.targets = positions: input/pulses_position.cfg). The test file's rows come from the same stream after the training rows:
another seed gives other files. Needs numpy and h5py (Debian: python3-numpy python3-h5py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csv_to_h5  # noqa: E402  (its writer, the same file layout; first: it names what is missing)
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import waveform_to_h5  # noqa: E402  (its command line)

POINTS = 128
HALF = 8  # every pulse lies within [c - HALF, c + HALF]
CLASSES = ["triangle", "box", "gaussian", "ringdown"]
NOISE = 0.25
# The maximum of exp(-t / 6) sin(2 pi t / 6), at t = 6 atan(2 pi) / (2 pi): ringdowns peak at 1.
RINGDOWN_PEAK = np.exp(-np.arctan(2 * np.pi) / (2 * np.pi)) * np.sin(np.arctan(2 * np.pi))


def shapes(t):
    """(4, ...) the four pulse shapes at offsets t from their centres, peak amplitude 1."""
    inside = np.abs(t) <= HALF
    after = t + HALF  # the ringdown starts at the left edge of the window
    ringdown = np.exp(-after / 6) * np.sin(2 * np.pi * after / 6) / RINGDOWN_PEAK
    return np.stack([np.maximum(1 - np.abs(t) / HALF, 0),
                     (np.abs(t) <= 6).astype(np.float64),
                     np.exp(-t**2 / (2 * 1.5**2)) * inside,
                     ringdown * inside])


def balanced_labels(n, rng):
    """n labels, n // 4 of each class (the first n % 4 classes one more), shuffled."""
    return rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)


def pulses(n, rng, noise=NOISE):
    """n signals: features (n, 128), labels (n) and the pulses' centres (n)."""
    labels = balanced_labels(n, rng)
    centres = rng.uniform(HALF, POINTS - 1 - HALF, size=n)
    amplitude = rng.uniform(0.5, 1.5, size=(n, 1))
    b0, b1 = rng.uniform(-0.5, 0.5, size=(2, n, 1))
    i = np.arange(POINTS)
    pulse = shapes(i[None, :] - centres[:, None])[labels, np.arange(n)]
    drift = b0 + b1 * (i / (POINTS - 1) - 0.5)
    x = amplitude * pulse + drift + rng.normal(0, noise, size=(n, POINTS))
    return x, labels, centres


def main(argv=None):
    a = waveform_to_h5.split_arguments(__doc__, argv)
    rng = np.random.default_rng(a.seed)
    names = [f"x{i}" for i in range(POINTS)]
    source = f"pulses_to_h5.py --seed {a.seed}"
    for part, n in (("train", a.train), ("test", a.test)):
        x, y, centres = pulses(n, rng)
        path = os.path.join(a.dir, f"{part}.h5")
        csv_to_h5.write(path, x, y, names, ["class"], source, CLASSES)
        with h5py.File(path, "a") as f:
            f["positions"] = centres
            f["positions"].attrs["description"] = "each pulse's centre c, in points from 0"
        print(f"{path}: {n} signals of {POINTS} points, classes {np.bincount(y, minlength=4)}")


if __name__ == "__main__":
    main()
