#!/usr/bin/python3
"""Converts a small table (CSV with a header row) into an HDF5 file that kbnn reads.

    scripts/csv_to_h5.py table.csv out.h5 --features age,bmi,bp --targets y
    scripts/csv_to_h5.py table.csv out.h5 --features age,bmi --targets y \
        --test-out test.h5 --test-fraction 0.1 --seed 3
    scripts/csv_to_h5.py table.csv out.h5 --features age,bmi --labels species
    scripts/csv_to_h5.py more.csv more.h5 --features age,bmi --labels species \
        --classes-from out.h5      # numbered as out.h5's classes
    scripts/csv_to_h5.py new.csv new.h5 --features age,bmi   # features only: kbnn predict

The file holds /features (N, F), float64, and /targets (N, T), float64, or with
--labels COLUMN (classification) /labels (N), int64 class indices 0..K-1, with the
classes' names (the column's distinct values, sorted: numbers by value, else as text) in
the root attribute class_names and K in num_classes; a column that holds 0..K-1 already
keeps its values; --classes-from numbers them as an earlier file's (convert a test table
apart from its training table so, or its classes may be numbered otherwise). Without
--targets or --labels only /features is written, new data for kbnn predict. Rows are in
the order of the table (or shuffled with --seed), the column names in the attributes
feature_names and target_names. Folders are created. A deck reads it with

    [data]
    format = hdf5
    train_file = out.h5
    test_file = test.h5        # or: test_fraction = 0.1 (the last rows of train_file)
    features = features
    targets = targets
    standardize = true
    [model]
    likelihood = gaussian       # with --labels: targets = labels and no likelihood

Empty cells and text that is not a number (in a feature or target column) are refused
with their row and column, as kbnn refuses NaN and Inf; so is a column named both a
feature and a target or label. Needs h5py and numpy (Debian: python3-h5py python3-numpy).
"""
import argparse
import csv
import os
import sys

try:  # the data scripts beside it import these through this module
    import h5py
    import numpy as np
except ImportError as error:  # one line, not a traceback: which Python lacks what
    raise SystemExit(f"{os.path.basename(sys.argv[0])}: {sys.executable} lacks a package it "
                     f"needs ({error}); install numpy and h5py (Debian: apt-get install "
                     "python3-numpy python3-h5py) or run it with a Python that has them, "
                     "such as /usr/bin/python3 on Debian") from None


def read_table(path, delimiter):
    """The header and the rows of a CSV file, as text."""
    # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte-order mark, which would
    # otherwise stick to the first column's name.
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    if not rows:
        sys.exit(f"{path}: empty file, expected a header row")
    return [name.strip() for name in rows[0]], rows[1:]


def column_index(table_path, header, names, what):
    """The header positions of the named columns; exits naming those not in the header."""
    missing = [n for n in names if n not in header]
    if missing:
        sys.exit(f"{table_path}: no {what} column(s) {', '.join(missing)}; the header has "
                 f"{', '.join(header)}")
    return [header.index(n) for n in names]


def cell_text(row, c):
    return row[c].strip() if c < len(row) else ""


def columns(table_path, header, rows, names, what):
    """The named columns as an (N, len(names)) float64 array; exits naming a bad cell."""
    index = column_index(table_path, header, names, what)
    out = np.empty((len(rows), len(names)))
    for r, row in enumerate(rows):
        for k, c in enumerate(index):
            cell = cell_text(row, c)
            try:
                out[r, k] = float(cell)
            except ValueError:
                out[r, k] = np.nan
            if not np.isfinite(out[r, k]):
                why = ("an empty cell (a missing value: kbnn takes none; drop or fill the row)"
                       if not cell else f"'{cell}' is not a finite number")
                sys.exit(f"{table_path}: line {r + 2} (data row {r + 1}), column {names[k]}: "
                         f"{why}")
    return out


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def known_class_labels(table_path, name, cells, classes, source):
    """The cells as indices into `classes` (names from an earlier file); exits naming a
    cell that is none of them. Numbers match by value (2 is 2.0)."""
    index = {known: k for k, known in enumerate(classes)}
    for k, known in enumerate(classes):
        if number(known) is not None:
            index.setdefault(number(known), k)
    labels = []
    for r, cell in enumerate(cells):
        k = index.get(cell, index.get(number(cell)))
        if k is None:
            sys.exit(f"{table_path}: line {r + 2} (data row {r + 1}), column {name}: '{cell}' is "
                     f"none of the classes of {source} ({', '.join(classes)})")
        labels.append(k)
    return np.array(labels, dtype=np.int64), list(classes)


def class_labels(table_path, header, rows, name, known=None):
    """Column `name` as class indices 0..K-1 (int64) and the K classes' names.

    With `known` (classes, source file): numbered as there. Otherwise a column of the
    integers 0..K-1 keeps them; any other (1..K, text, codes) maps its sorted distinct
    values to 0..K-1, numbers sorted by value, text as text."""
    c = column_index(table_path, header, [name], "label")[0]
    cells = [cell_text(row, c) for row in rows]
    for r, cell in enumerate(cells):
        if not cell:
            sys.exit(f"{table_path}: line {r + 2} (data row {r + 1}), column {name}: an empty "
                     f"label (drop the row)")
    if known:
        return known_class_labels(table_path, name, cells, *known)
    values = [number(cell) for cell in cells]
    numeric = all(v is not None and np.isfinite(v) for v in values)
    if numeric:
        by_value = {}
        for cell, v in zip(cells, values):
            by_value.setdefault(v, cell)
        classes = [by_value[v] for v in sorted(by_value)]
        keys = values
        distinct = sorted(by_value)
    else:
        classes = sorted(set(cells))
        keys = cells
        distinct = classes
    index = {key: k for k, key in enumerate(distinct)}
    labels = np.array([index[key] for key in keys], dtype=np.int64)
    return labels, classes


def stored_classes(path):
    """The class_names of an HDF5 file csv_to_h5.py wrote with --labels."""
    try:
        with h5py.File(path, "r") as f:
            if "class_names" not in f.attrs:
                sys.exit(f"--classes-from {path}: no attribute class_names (not written by "
                         f"csv_to_h5.py --labels)")
            return [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs["class_names"]]
    except OSError as e:
        sys.exit(f"--classes-from {path}: {e}")


def write(path, features, targets, feature_names, target_names, source, classes=None):
    """/features and /targets, or with `classes` (a list of names) /labels; only
    /features where targets is None (new data for kbnn predict)."""
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as f:
        f["features"] = features
        f["features"].attrs["description"] = "one row per example, columns feature_names"
        f.attrs["feature_names"] = feature_names
        f.attrs["target_names"] = target_names
        f.attrs["source"] = source
        if targets is None:
            return
        if classes is None:
            f["targets"] = targets
            f["targets"].attrs["description"] = "one row per example, columns target_names"
            return
        f["labels"] = targets
        f["labels"].attrs["description"] = "class index 0..num_classes-1, named by class_names"
        f.attrs["class_names"] = classes
        f.attrs["num_classes"] = len(classes)


def split_rows(n, test_fraction, seed):
    """Row indices of the training and the test file: the table's order, or shuffled."""
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    held_out = int(round(test_fraction * n))
    if test_fraction and not 0 < held_out < n:
        sys.exit(f"--test-fraction {test_fraction} of {n} rows holds out {held_out}: the "
                 f"training and the test file each need at least one row")
    return order[: n - held_out], order[n - held_out:]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("table", help="CSV file with a header row")
    p.add_argument("out", help="HDF5 file to write (the training rows with --test-out)")
    p.add_argument("--features", required=True, help="comma-separated feature columns")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--targets", help="comma-separated target columns (regression)")
    what.add_argument("--labels", help="the class label column (classification): /labels "
                      "0..K-1, the classes' names in the attribute class_names")
    p.add_argument("--classes-from", metavar="H5", help="with --labels: number the classes as "
                   "this earlier file of --labels does (a test table converted apart from the "
                   "training table, which may lack some classes)")
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
    if a.classes_from and not a.labels:
        sys.exit("--classes-from needs --labels")
    feature_names, target_names = names(a.features), names(a.labels or a.targets or "")
    both = [n for n in target_names if n in feature_names]
    if both:  # the answer among the inputs: a model that looks perfect and is useless
        sys.exit(f"column(s) {', '.join(both)} named both as feature(s) and as "
                 f"{'label' if a.labels else 'target(s)'}")
    if a.labels and len(target_names) != 1:
        sys.exit(f"--labels takes one column, got {', '.join(target_names)}")
    header, rows = read_table(a.table, a.delimiter)
    x = columns(a.table, header, rows, feature_names, "feature")
    y, classes = targets(a, header, rows, target_names)
    train, test = split_rows(len(rows), a.test_fraction if a.test_out else 0.0, a.seed)
    pick = (lambda part: None) if y is None else (lambda part: y[part])
    write(a.out, x[train], pick(train), feature_names, target_names, a.table, classes)
    what = (f"labels of {len(classes)} classes" if a.labels else
            f"{len(target_names)} targets" if target_names else
            "no targets or labels (new data for kbnn predict)")
    print(f"{a.out}: {len(train)} rows, {len(feature_names)} features, {what}")
    if a.labels and classes != [str(k) for k in range(len(classes))]:
        print("classes: " + ", ".join(f"{k} = {name}" for k, name in enumerate(classes)))
    if a.test_out:
        write(a.test_out, x[test], pick(test), feature_names, target_names, a.table, classes)
        print(f"{a.test_out}: {len(test)} rows")


def names(text):
    return [n.strip() for n in text.split(",") if n.strip()]


def targets(a, header, rows, target_names):
    """The table's targets (N, T) or labels (N) and the classes' names (None for targets);
    (None, None) without either."""
    if a.labels:
        known = (stored_classes(a.classes_from), a.classes_from) if a.classes_from else None
        return class_labels(a.table, header, rows, target_names[0], known)
    if target_names:
        return columns(a.table, header, rows, target_names, "target"), None
    return None, None


if __name__ == "__main__":
    main()
