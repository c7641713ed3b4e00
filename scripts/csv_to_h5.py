#!/usr/bin/python3
"""Converts a small table (CSV with a header row) into an HDF5 file that kbnn reads.

    scripts/csv_to_h5.py table.csv out.h5 --features age,bmi,bp --targets y
    scripts/csv_to_h5.py table.csv out.h5 --features age,bmi --targets y \
        --test-out test.h5 --test-fraction 0.1 --seed 3

The file holds /features (N, F) and /targets (N, T), float64, rows in the order of the
table (or shuffled with --seed), with the column names as attributes feature_names and
target_names. A deck reads it with

    [data]
    format = hdf5
    train_file = out.h5
    test_file = test.h5        # or: test_fraction = 0.1 (the last rows of train_file)
    features = features
    targets = targets
    standardize = true
    [model]
    likelihood = gaussian

Empty cells and text that is not a number are refused with their row and column, as
kbnn refuses NaN and Inf. Needs h5py and numpy (Debian: python3-h5py python3-numpy).
"""
import argparse
import csv
import sys

import h5py
import numpy as np


def read_table(path, delimiter):
    """The header and the rows of a CSV file, as text."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    if not rows:
        sys.exit(f"{path}: empty file, expected a header row")
    return [name.strip() for name in rows[0]], rows[1:]


def columns(table_path, header, rows, names, what):
    """The named columns as an (N, len(names)) float64 array; exits naming a bad cell."""
    missing = [n for n in names if n not in header]
    if missing:
        sys.exit(f"{table_path}: no {what} column(s) {', '.join(missing)}; the header has "
                 f"{', '.join(header)}")
    index = [header.index(n) for n in names]
    out = np.empty((len(rows), len(names)))
    for r, row in enumerate(rows):
        for k, c in enumerate(index):
            cell = row[c].strip() if c < len(row) else ""
            try:
                out[r, k] = float(cell)
            except ValueError:
                out[r, k] = np.nan
            if not np.isfinite(out[r, k]):
                sys.exit(f"{table_path}: line {r + 2} (data row {r + 1}), column {names[k]}: "
                         f"'{cell}' is not a finite number")
    return out


def write(path, features, targets, feature_names, target_names, source):
    with h5py.File(path, "w") as f:
        f["features"] = features
        f["targets"] = targets
        f["features"].attrs["description"] = "one row per example, columns feature_names"
        f["targets"].attrs["description"] = "one row per example, columns target_names"
        f.attrs["feature_names"] = feature_names
        f.attrs["target_names"] = target_names
        f.attrs["source"] = source


def split_rows(n, test_fraction, seed):
    """Row indices of the training and the test file: the table's order, or shuffled."""
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    held_out = int(round(test_fraction * n))
    return order[: n - held_out], order[n - held_out:]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("table", help="CSV file with a header row")
    p.add_argument("out", help="HDF5 file to write (the training rows with --test-out)")
    p.add_argument("--features", required=True, help="comma-separated feature columns")
    p.add_argument("--targets", required=True, help="comma-separated target columns")
    p.add_argument("--delimiter", default=",")
    p.add_argument("--seed", type=int, default=None,
                   help="shuffle the rows with this seed (default: keep the table's order)")
    p.add_argument("--test-out", help="also write the last --test-fraction rows here")
    p.add_argument("--test-fraction", type=float, default=0.0)
    a = p.parse_args(argv)
    if a.test_out and not 0 < a.test_fraction < 1:
        sys.exit("--test-out needs --test-fraction in (0, 1)")
    if a.test_fraction and not a.test_out:
        sys.exit("--test-fraction needs --test-out, the file for the held-out rows (or write "
                 "every row here and hold rows out in the deck: data.test_fraction)")
    feature_names = [n.strip() for n in a.features.split(",") if n.strip()]
    target_names = [n.strip() for n in a.targets.split(",") if n.strip()]
    header, rows = read_table(a.table, a.delimiter)
    x = columns(a.table, header, rows, feature_names, "feature")
    y = columns(a.table, header, rows, target_names, "target")
    train, test = split_rows(len(rows), a.test_fraction if a.test_out else 0.0, a.seed)
    write(a.out, x[train], y[train], feature_names, target_names, a.table)
    print(f"{a.out}: {len(train)} rows, {len(feature_names)} features, {len(target_names)} targets")
    if a.test_out:
        write(a.test_out, x[test], y[test], feature_names, target_names, a.table)
        print(f"{a.test_out}: {len(test)} rows")


if __name__ == "__main__":
    main()
