#!/usr/bin/python3
"""The diabetes data of Efron et al. (2004), as scikit-learn ships it (Debian:
python3-sklearn): 442 patients, 10 baseline measurements (age, sex, body-mass index,
blood pressure, six blood serum values; in their own units, not sklearn's scaled copy),
and a measure of disease progression one year later. Written through csv_to_h5.py's
writer, as random 90/10 splits for input/diabetes_mlp.cfg:

    scripts/diabetes_to_h5.py DIR [--splits 10]
        -> DIR/diabetes.csv, DIR/split_<k>/{train,test}.h5 for k = 0 .. splits - 1

Split k shuffles the rows with seed k and holds out the last round(0.1 * 442) = 44.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csv_to_h5  # noqa: E402  (the converter next to this file; first: it names what is missing)
import numpy as np  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--splits", type=int, default=10)
    p.add_argument("--test-fraction", type=float, default=0.1)
    a = p.parse_args(argv)
    try:
        from sklearn.datasets import load_diabetes
    except ImportError:
        sys.exit("diabetes_to_h5.py: needs scikit-learn (Debian: apt-get install python3-sklearn)")
    data = load_diabetes(scaled=False)
    names = [n.replace(" ", "_") for n in data.feature_names]
    os.makedirs(a.dir, exist_ok=True)
    table = os.path.join(a.dir, "diabetes.csv")
    header = ",".join(names + ["progression"])
    np.savetxt(table, np.column_stack([data.data, data.target]), delimiter=",",
               header=header, comments="", fmt="%.10g")
    for k in range(a.splits):
        out = os.path.join(a.dir, f"split_{k}")
        os.makedirs(out, exist_ok=True)
        csv_to_h5.main([table, os.path.join(out, "train.h5"), "--features", ",".join(names),
                        "--targets", "progression", "--seed", str(k),
                        "--test-out", os.path.join(out, "test.h5"),
                        "--test-fraction", str(a.test_fraction)])


if __name__ == "__main__":
    main()
