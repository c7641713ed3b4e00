#!/usr/bin/python3
"""What the pictures of postprocess/kbnn_plots.py show, read from their matplotlib figures:
panel titles, curves, legends and reference lines, against the numbers in the files.

  check_plots.py RUN.h5 ONE_ROW.h5 PREDICT.h5 PRUNING.h5

RUN.h5: a run with evaluations during training, an OOD set, constant beta and lr.
ONE_ROW.h5: a run whose history has one row. PREDICT.h5: kbnn predict's file with an
OOD set. PRUNING.h5: kbnn prune's file of a run with an OOD set. Exit 1 on the first
thing that is wrong.
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../postprocess"))
import kbnn_plots  # noqa: E402

figures = []
kbnn_plots._save = lambda figure, path: figures.append(figure)  # keep, do not write


def draw(*argv):
    figures.clear()
    assert kbnn_plots.main(list(argv)) == 0, argv
    return figures[-1]


def titles(figure):
    return [axis.get_title() for axis in figure.axes if axis.get_visible()]


def legend_texts(axis):
    legend = axis.get_legend()
    return [] if legend is None else [legend.get_title().get_text()] + [t.get_text() for t in legend.get_texts()]


run, one_row, predict, pruning = sys.argv[1:5]

# history: the evaluation curve beside training's NLL and accuracy; no panel for the
# constant beta and lr, which the title gives instead.
figure = draw("history", run)
shown = titles(figure)
assert "accuracy" in shown and "NLL, mean cross-entropy (nats)" in shown, shown
assert "KL weight beta" not in shown and "learning rate" not in shown, shown
assert "beta = 1" in figure._suptitle.get_text() and "lr = 0.001" in figure._suptitle.get_text()
with h5py.File(run, "r") as f:
    evaluations = f["history/eval/accuracy"][:]
    train_accuracy = f["history/train_accuracy"][:]
accuracy_axis = next(a for a in figure.axes if a.get_title() == "accuracy")
curves = {line.get_label(): line.get_ydata() for line in accuracy_axis.get_lines()}
assert any(np.array_equal(y, evaluations) for y in curves.values()), "no evaluation curve"
assert any(np.array_equal(y, train_accuracy) for y in curves.values()), "no training accuracy"

# A one-row history: a point in the middle of the axis, with its value written.
figure = draw("history", one_row)
axis = figure.axes[0]
step = axis.get_lines()[0].get_xdata()[0]
low, high = axis.get_xlim()
assert low < step < high and min(step - low, high - step) > 0.25 * (high - low), (low, step, high)
assert axis.texts, "the one row's value is not written"

# ood, on the run file and on kbnn predict's file: per score, both sets' histograms
# with the file's AUROC in the legend; the ROC curves, ending at (1, 1), and chance.
for path in (run, predict):
    figure = draw("ood", path)
    with h5py.File(path, "r") as f:
        ood_set = list(f["metrics/ood"])[0]
        m = dict(f["metrics/ood"][ood_set].attrs)
    *histograms, roc = figure.axes
    assert len(histograms) == 3
    for axis, score in zip(histograms, ["entropy", "mutual_information", "max_probability"]):
        texts = legend_texts(axis)
        assert f"AUROC {m['auroc_' + score]:.3f}" in texts, (score, texts)
        in_set = m["in_set"].decode() if isinstance(m["in_set"], bytes) else m["in_set"]
        assert any(ood_set in t for t in texts) and any(in_set in t for t in texts), texts
    lines = roc.get_lines()
    assert len(lines) == 4 and "chance" in lines[-1].get_label(), [l.get_label() for l in lines]
    for line, score in zip(lines, ["entropy", "mutual_information", "max_probability"]):
        fpr, tpr = line.get_xdata(), line.get_ydata()
        assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
        area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)  # the curve's AUROC
        assert abs(area - m["auroc_" + score]) < 1e-6, (score, area, m["auroc_" + score])

# reliability and uncertainty read kbnn predict's file.
draw("reliability", predict)
draw("uncertainty", predict, "--out-dir", ".")
assert len(figures) == 3

# pruning: titled with the pruned run and the OOD set; chance marked in both panels.
figure = draw("pruning", pruning)
with h5py.File(pruning, "r") as f:
    source, ood_set = f.attrs["source"], f.attrs["ood_set"]
title = figure._suptitle.get_text()
assert source in title and ood_set in title, title
accuracy_axis, auroc_axis = figure.axes
assert any("chance (1/10)" == l.get_label() and l.get_ydata()[0] == 10 for l in accuracy_axis.get_lines())
assert any("chance (0.5)" == l.get_label() and l.get_ydata()[0] == 0.5 for l in auroc_axis.get_lines())
print("the pictures show what they should")
