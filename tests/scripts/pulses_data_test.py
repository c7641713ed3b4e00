#!/usr/bin/python3
"""scripts/pulses_to_h5.py writes what its documentation says: the files' shapes and
attributes; the classes balanced; the pulse centres spread over the signal; each signal
its class's shape (the formulas typed again here from the documentation) at its stored
centre, times an amplitude ~ U(0.5, 1.5), on a straight baseline, plus noise of standard
deviation 0.25, which a least-squares fit at that centre recovers; the same seed the same
files, another seed others; bad sizes refused.
    usage: pulses_data_test.py SOURCE_DIR   (exit 77, skipped, without numpy or h5py)
"""
import os
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
except ImportError:
    print("skipped: python3-numpy or python3-h5py missing")
    sys.exit(77)

N_TRAIN, N_TEST, POINTS = 403, 200, 128


def documented_shape(label, t):
    """The pulse of class `label` at offsets t from its centre, as the docstring gives it."""
    if label == 0:
        return np.maximum(1 - np.abs(t) / 8, 0)
    if label == 1:
        return (np.abs(t) <= 6).astype(float)
    if label == 2:
        return np.exp(-t**2 / (2 * 1.5**2)) * (np.abs(t) <= 8)
    u = t + 8
    return np.exp(-u / 6) * np.sin(2 * np.pi * u / 6) / 0.7887 * (np.abs(t) <= 8)


def fit(x, label, centre):
    """Least squares x ~ a shape + b0 + b1 (i / 127 - 1/2): (a, residual rms)."""
    i = np.arange(POINTS)
    design = np.stack([documented_shape(label, i - centre), np.ones(POINTS), i / 127 - 0.5], 1)
    coef, *_ = np.linalg.lstsq(design, x, rcond=None)
    return coef[0], np.sqrt(np.mean((x - design @ coef) ** 2))


def write(source, out, *args):
    return subprocess.run([sys.executable, os.path.join(source, "scripts", "pulses_to_h5.py"),
                           out, *args], capture_output=True, text=True)


def read(path):
    with h5py.File(path, "r") as f:
        return ({k: f[k][...] for k in ("features", "labels", "positions")},
                {k: f.attrs[k] for k in ("class_names", "num_classes")})


def check_file(data, attrs, n):
    x, y, c = data["features"], data["labels"], data["positions"]
    assert x.shape == (n, POINTS) and x.dtype == np.float64, (x.shape, x.dtype)
    assert y.shape == (n,) and y.dtype == np.int64 and c.shape == (n,), (y.shape, y.dtype, c.shape)
    assert list(attrs["class_names"]) == ["triangle", "box", "gaussian", "ringdown"], attrs
    assert attrs["num_classes"] == 4
    counts = np.bincount(y, minlength=4)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n, counts
    assert c.min() >= 8 and c.max() <= 119 and c.min() < 20 and c.max() > 107, (c.min(), c.max())
    fits = np.array([fit(x[r], y[r], c[r]) for r in range(n)])
    amplitude, rms = fits[:, 0], fits[:, 1]
    # U(0.5, 1.5): mean 1, sd 0.29, and noise 0.25 moves a fitted amplitude by 0.1-0.2
    assert abs(amplitude.mean() - 1) < 0.05 and 0.25 < amplitude.std() < 0.36, amplitude
    assert np.mean((amplitude > 0.2) & (amplitude < 1.8)) > 0.98, np.sort(amplitude)
    assert abs(np.mean(rms) - 0.25) < 0.01 and rms.max() < 0.32, (np.mean(rms), rms.max())
    # the class's own shape at the stored centre fits better than the others' there
    best = [min(range(4), key=lambda k: fit(x[r], k, c[r])[1]) for r in range(n)]
    assert np.mean(np.array(best) == y) > 0.9, np.mean(np.array(best) == y)
    # and better than the same shape 30 points away
    moved = np.array([fit(x[r], y[r], c[r] + (30 if c[r] < 64 else -30))[1] for r in range(n)])
    assert np.mean(moved > rms) > 0.95, np.mean(moved > rms)


def main(source):
    with tempfile.TemporaryDirectory() as work:
        runs = {name: write(source, os.path.join(work, name), "--train", str(N_TRAIN),
                            "--test", str(N_TEST), "--seed", seed)
                for name, seed in (("a", "3"), ("b", "3"), ("c", "4"))}
        for name, run in runs.items():
            assert run.returncode == 0, (name, run.stderr)
        train, attrs = read(os.path.join(work, "a", "train.h5"))
        check_file(train, attrs, N_TRAIN)
        check_file(*read(os.path.join(work, "a", "test.h5")), N_TEST)
        for part in ("train.h5", "test.h5"):
            a, b, c = (read(os.path.join(work, name, part))[0] for name in "abc")
            assert all(np.array_equal(a[k], b[k]) for k in a), f"seed 3 twice: {part} differs"
            assert not np.array_equal(a["features"], c["features"]), f"seeds 3 and 4: same {part}"
        refused = write(source, os.path.join(work, "d"), "--train", "0")
        assert refused.returncode != 0 and "at least one example" in refused.stderr, refused
    print("PASSED")


if __name__ == "__main__":
    main(sys.argv[1])
