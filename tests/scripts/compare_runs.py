#!/usr/bin/python3
"""Compares two kbnn run files for an exact restart.

usage: compare_runs.py FULL RESUMED

RESUMED's history, which holds the rows from before its restart too, must equal FULL's
bit for bit (every column but the wall-clock ones), and so must the evaluation rows of
/history/eval when FULL has them; the final parameters and optimizer state
(/checkpoint) must be identical.
"""
import sys

import h5py
import numpy as np

full_path, resumed_path = sys.argv[1], sys.argv[2]
timing = {"seconds", "images_per_second"}
failures = []
with h5py.File(full_path, "r") as full, h5py.File(resumed_path, "r") as resumed:
    if len(full["history/step"]) == 0:
        failures.append(f"{full_path} has no history")
    for group in ["history", "history/eval"]:
        if group not in full:
            continue
        if group not in resumed:
            failures.append(f"{resumed_path} has no {group}")
            continue
        for name, dataset in full[group].items():
            if name in timing or not isinstance(dataset, h5py.Dataset):
                continue
            a, b = dataset[:], resumed[group][name][:]
            # NaN where a column does not apply (a regression's train_accuracy) is equal.
            nan_equal = a.dtype.kind == "f"
            if a.shape != b.shape or not np.array_equal(a, b, equal_nan=nan_equal):
                failures.append(f"{group}/{name}: uninterrupted {a} != resumed {b}")
    for name in ["checkpoint/parameters", "checkpoint/state/adam_m", "checkpoint/state/adam_v"]:
        a, b = full[name][:], resumed[name][:]
        if not np.array_equal(a.view(np.uint32), b.view(np.uint32)):
            differ = np.count_nonzero(a.view(np.uint32) != b.view(np.uint32))
            failures.append(f"{name}: {differ} of {a.size} values differ")
    steps = list(resumed["history/step"][:])
    evaluated = list(resumed["history/eval/step"][:]) if "history/eval" in full else []
if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"PASSED: the resumed run's history (steps {steps}"
      + (f"; evaluations at steps {evaluated}" if evaluated else "")
      + ") and final state equal the uninterrupted run's")
