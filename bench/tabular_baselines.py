#!/usr/bin/python3
"""kbnn's Flipout MLP against a linear baseline on scikit-learn's small tables, over seeds.

    KBNN=build/src/kbnn SEEDS=0,1,2,3,4 OUT=tabular_runs \
        bench/tabular_baselines.py DATA NAME [--section.option=value ...]

DATA is wine, iris, breast_cancer, digits (64 flat features) or diabetes (regression).
Each seed makes a random 80/20 split (stratified for classes) in OUT, trains the
deck below (dense 50, relu, dense; data.standardize = true; the options given on top)
with train.seed = the seed, and fits scikit-learn on the same standardized rows:
LogisticRegression (classes; accuracy and NLL) or BayesianRidge (regression; RMSE and
the NLL of its Gaussian predictive). Prints mean +- standard deviation over the seeds
(README, "Regression on your own data") and appends the rows to OUT/results.jsonl.
Needs h5py, numpy and scikit-learn (Debian: python3-h5py python3-sklearn).
"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.linear_model import BayesianRidge, LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import log_loss

K = os.environ.get("KBNN", "build/src/kbnn")
SEEDS = [int(s) for s in os.environ.get("SEEDS", "0,1,2,3,4").split(",")]
DATA_SETS = ("wine", "iris", "breast_cancer", "digits", "diabetes")
USAGE = ("usage: [KBNN=build/src/kbnn] [SEEDS=0,1,2,3,4] [OUT=tabular_runs] "
         "bench/tabular_baselines.py DATA NAME [--section.option=value ...]\n"
         "  DATA: " + ", ".join(DATA_SETS) + "; NAME labels the runs (e.g. mlp)")
if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
    print(__doc__.strip() + "\n\n" + USAGE)
    sys.exit(0)
if len(sys.argv) < 3 or sys.argv[1] not in DATA_SETS or sys.argv[2].startswith("-"):
    print("tabular_baselines.py: expected DATA (" + ", ".join(DATA_SETS) + ") and NAME, got "
          + (" ".join(sys.argv[1:3]) or "nothing") + "\n" + USAGE, file=sys.stderr)
    sys.exit(2)
name, variant, overrides = sys.argv[1], sys.argv[2], sys.argv[3:]
d = getattr(datasets, "load_" + name)()
regression = name == "diabetes"
OUT = os.environ.get("OUT", "tabular_runs")
os.makedirs(OUT, exist_ok=True)

CLS = """[data]
format = hdf5
train_file = {tr}
test_file = {te}
standardize = true
[model]
layer = dense out=50
layer = relu
layer = dense out={k}
[output]
dir = {out}
overwrite = true
"""
REG = """[data]
format = hdf5
train_file = {tr}
test_file = {te}
features = features
targets = targets
standardize = true
[model]
likelihood = gaussian
layer = dense out=50
layer = relu
layer = dense out=1
[output]
dir = {out}
overwrite = true
"""

rows = []
for seed in SEEDS:
    strat = None if regression else d.target
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=seed,
                                          stratify=strat)
    tr, te = f"{OUT}/{name}_{seed}_train.h5", f"{OUT}/{name}_{seed}_test.h5"
    for path, x, y in [(tr, xtr, ytr), (te, xte, yte)]:
        with h5py.File(path, "w") as f:
            if regression:
                f["features"] = x; f["targets"] = y[:, None]
            else:
                f["images"] = x; f["labels"] = y
    deck = f"{OUT}/{name}.cfg"
    with open(deck, "w") as f:
        f.write((REG if regression else CLS).format(out=OUT, tr=tr, te=te, k=len(np.unique(d.target))))
    run = f"{name}_{variant}_{seed}"
    cmd = [K, "train", deck, f"--output.name={run}", f"--train.seed={seed}"] + overrides
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stdout[-2000:] + r.stderr)
    with h5py.File(f"{OUT}/{run}.h5") as f:
        m = dict(f["metrics/test"].attrs)
    sc = StandardScaler().fit(xtr)
    if regression:
        br = BayesianRidge().fit(sc.transform(xtr), ytr)
        mu, sd = br.predict(sc.transform(xte), return_std=True)
        base_rmse = np.sqrt(np.mean((mu - yte) ** 2))
        base_nll = np.mean(0.5 * np.log(2 * np.pi * sd**2) + 0.5 * (yte - mu) ** 2 / sd**2)
        rows.append((float(m["rmse"]), float(m["nll"]), float(m["coverage_95"]), base_rmse, base_nll))
    else:
        lr = LogisticRegression(max_iter=5000).fit(sc.transform(xtr), ytr)
        p = lr.predict_proba(sc.transform(xte))
        rows.append((float(m["accuracy"]), float(m["nll"]), float(m["ece"]),
                     np.mean(p.argmax(1) == yte), log_loss(yte, p, labels=lr.classes_)))
a = np.array(rows)
cols = (["kbnn_rmse", "kbnn_nll", "kbnn_cov95", "bayesridge_rmse", "bayesridge_nll"] if regression
        else ["kbnn_acc", "kbnn_nll", "kbnn_ece", "logreg_acc", "logreg_nll"])
print(f"{name} {variant} ({len(SEEDS)} seeds, mean +- sd) " + " ".join(overrides))
for c, mean, sd in zip(cols, a.mean(0), a.std(0, ddof=1)):
    print(f"  {c:16s} {mean:8.4f} +- {sd:.4f}")
with open(f"{OUT}/results.jsonl", "a") as f:
    f.write(json.dumps({"name": name, "variant": variant, "overrides": overrides,
                        "cols": cols, "rows": a.tolist()}) + "\n")
