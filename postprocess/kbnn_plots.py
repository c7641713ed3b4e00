#!/usr/bin/python3
"""Plots and tables from kbnn run files (the HDF5 file `kbnn train` writes, docs/output.md).

  kbnn_plots.py history     RUN.h5 [-o RUN_history.png]       loss, NLL, accuracy, KL, ... vs step
  kbnn_plots.py reliability FILE.h5 [-o FILE_reliability.png] reliability diagram of the test set
  kbnn_plots.py uncertainty FILE.h5 [--out-dir .]             three uncertainty PNGs
  kbnn_plots.py ood         FILE.h5 [-o FILE_ood.png]         OOD scores: histograms and ROC curves
  kbnn_plots.py compare     A.h5 B.h5 ... [-o compare.png] [--csv F] [--markdown F]
  kbnn_plots.py pruning     RUN.pruning.h5 [-o RUN_pruning.png]  accuracy (and OOD AUROC) vs fraction
  kbnn_plots.py members     ENSEMBLE.h5 [-o RUN_members.png]  an ensemble's members and mixture
  kbnn_plots.py regression  RUN.h5 [--out-dir .]              predicted vs true, interval
                                                              calibration, residual vs std

FILE is a run file (kbnn train) or a prediction file (kbnn predict). Each subcommand's
--help names its inputs and outputs. A file that is not a kbnn file is reported by
name, with exit status 1. Needs h5py, numpy and matplotlib (Debian: python3-h5py,
python3-matplotlib); draws with the Agg backend, no display.
"""
import argparse
import os
import sys

try:
    import matplotlib
    import numpy as np
except ImportError as error:  # one line, not a traceback: which Python lacks what
    raise SystemExit(f"kbnn_plots.py: {sys.executable} lacks a package it needs ({error}); "
                     "install h5py, numpy and matplotlib (Debian: apt-get install python3-h5py "
                     "python3-matplotlib) or run it with a Python that has them")

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

sys.dont_write_bytecode = True  # no __pycache__ next to the tools
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbnn_runfile import RunFileError, open_ensemble, open_run  # noqa: E402
import kbnn_regression  # noqa: E402  (the regression subcommand)

DPI = 100  # figure sizes below are in inches: pixels = inches * DPI
CORRECT, WRONG, UNLABELED = "#2a7ab9", "#d9534f", "#7f7f7f"
ALEATORIC, EPISTEMIC = "#7fb3d5", "#e67e22"


def _save(figure, path):
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    print(f"wrote {path}")


def _default(run, suffix, out_dir="."):
    return os.path.join(out_dir, f"{run.name}_{suffix}.png")


def _finish(figure, path, title=None):
    """The figure's title, if any, its layout, and the PNG."""
    if title is not None:
        figure.suptitle(title)
    figure.tight_layout()
    _save(figure, path)


def _label(axis, title=None, x=None, y=None, legend=None, grid="both"):
    """A panel's title and axis labels, its legend (legend()'s arguments; None: no
    legend) and the light grid of every panel; the legend lists what is drawn by now."""
    if title is not None:
        axis.set_title(title)
    if x is not None:
        axis.set_xlabel(x)
    if y is not None:
        axis.set_ylabel(y)
    if legend is not None:
        axis.legend(**legend)
    axis.grid(alpha=0.3, axis=grid)


def _write_values(axis, x, y, text, **style):
    """Each point's value, written just above it."""
    for xi, yi in zip(x, y):
        axis.annotate(text.format(yi), (xi, yi), textcoords="offset points", xytext=(0, 6),
                      ha="center", fontsize=8, **style)


# ---- history ----------------------------------------------------------------------

def _constant(values):
    return len(values) > 0 and np.ptp(values) == 0


def _history_panels(run):
    """[(title, [(x, y, label, style)])] for the panels worth drawing, and the quantities
    that stayed constant (they go to the title instead of a flat line)."""
    h, e = run.history, run.eval
    evaluated = f"{run.eval_set or 'eval'} (MC predictive{' mixture' if run.is_regression else ''})"
    panels = [("negative ELBO per example (nats)", [(h["step"], h["loss"], "training", {})])]
    nll = [(h["step"], h["nll"], "training (mean over each log window)", {})]
    if len(e.get("step", [])):
        nll.append((e["step"], e["nll"], evaluated, {"marker": "o", "color": "C1"}))
    panels.append(("NLL, Gaussian, in the targets' units (nats)" if run.is_regression
                   else "NLL, mean cross-entropy (nats)", nll))
    accuracy = []  # a regression's accuracy columns are NaN: no panel
    if "train_accuracy" in h and not np.isnan(h["train_accuracy"]).all():
        accuracy.append((h["step"], h["train_accuracy"], "training (mean over each log window)", {}))
    if len(e.get("step", [])) and not np.isnan(e["accuracy"]).all():
        accuracy.append((e["step"], e["accuracy"], evaluated, {"marker": "o", "color": "C1"}))
    if accuracy:
        panels.append(("accuracy", accuracy))
    constants = []
    for field, title, name in [("kl", "KL(q || p) (nats)", "KL"), ("beta", "KL weight beta", "beta"),
                               ("lr", "learning rate", "lr")]:
        if field not in h:
            continue
        if _constant(h[field]):
            constants.append(f"{name} = {h[field][0]:g}")
        else:
            panels.append((title, [(h["step"], h[field], None, {})]))
    return panels, constants


def plot_history(args):
    run = open_run(args.run)
    run.require_history(["step", "loss", "nll", "kl", "beta"])
    panels, constants = _history_panels(run)
    rows = len(run.history["step"])
    columns = 2 if len(panels) <= 4 else 3
    lines = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(lines, columns, figsize=(5 * columns, 3.5 * lines), sharex=True,
                                squeeze=False)
    for axis, (title, curves) in zip(axes.flat, panels):
        for x, y, label, style in curves:
            style = {"marker": "o" if rows <= 3 else "." if rows < 50 else None, **style}
            axis.plot(x, y, label=label, **style)
            if rows <= 3:  # a few points: their values, readable
                _write_values(axis, x, y, "{:.4g}")
        if run.kept_step is not None:  # train.early_stop kept an earlier model
            axis.axvline(run.kept_step, color="0.4", linestyle="--", linewidth=1,
                         label="kept model (best validation NLL)")
        labelled = any(label for _, _, label, _ in curves) or run.kept_step is not None
        _label(axis, title, legend={"fontsize": 8} if labelled else None)
    for axis in axes.flat[len(panels):]:
        axis.set_visible(False)
    for column in range(columns):  # the lowest panel drawn in each column gets the x axis
        shown = [axes[line][column] for line in range(lines) if axes[line][column].get_visible()]
        if shown:
            shown[-1].set_xlabel("optimizer step")
            shown[-1].xaxis.set_tick_params(labelbottom=True)
    if rows == 1:  # one row: a point in the middle, not at the edge of a zero-width axis
        step = float(run.history["step"][0])
        axes.flat[0].set_xlim(0, 2 * step)
    estimator = run.deck.get("model.estimator", "")
    note = ", ".join([f"{run.ranks} rank(s)"] + ([estimator] if estimator else []) +
                     [f"{rows} row(s)"] +
                     ([("" if rows == 1 else "constant: ") + ", ".join(constants)] if constants else []))
    _finish(figure, args.output or _default(run, "history"),
            f"{run.name}: training history ({note})")


# ---- reliability ------------------------------------------------------------------

def plot_reliability(args):
    run = open_run(args.run)
    run.refuse_regression("reliability diagram of classes")
    edges, count, confidence, accuracy = run.reliability(args.set)
    metrics = run.metrics(args.set)
    centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    filled = count > 0
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(6, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.bar(centers[filled], accuracy[filled], width=width[filled], color=CORRECT,
            edgecolor="black", linewidth=0.5, label="accuracy")
    # The gap to the mean confidence of each bin: what ECE adds up, weighted by count.
    gap = confidence[filled] - accuracy[filled]
    top.bar(centers[filled], gap, bottom=accuracy[filled], width=width[filled],
            color=WRONG, alpha=0.35, edgecolor=WRONG, hatch="//", label="gap to confidence")
    top.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    tempered = f", T = {run.temperature:.3f}" if run.temperature != 1 else ""
    _label(top, f"{run.name}: reliability on '{args.set}', ECE = {metrics['ece']:.4f}\n"
                f"accuracy {metrics['accuracy']:.4f}, {int(count.sum())} examples, "
                f"{len(count)} bins{tempered}", y="accuracy", legend={"loc": "upper left"})
    bottom.bar(centers, count, width=width, color="gray", edgecolor="black", linewidth=0.5)
    for x, n in zip(centers[filled], count[filled]):
        bottom.annotate(str(int(n)), (x, n), ha="center", va="bottom", fontsize=7)
    bottom.set_yscale("log" if count.max() > 50 * max(1, count[filled].min()) else "linear")
    _label(bottom, x="confidence (largest predictive probability)", y="examples")
    _finish(figure, args.output or _default(run, "reliability"))


# ---- uncertainty ------------------------------------------------------------------

def plot_uncertainty(args):
    run = open_run(args.run)
    run.refuse_regression("entropies of classes")
    p = run.predictions(args.set)
    labeled = p["label"] >= 0  # new data for kbnn predict, or an OOD set, may have none
    right = labeled & (p["predicted"] == p["label"])
    entropy, aleatoric, epistemic = p["predictive_entropy"], p["aleatoric"], p["epistemic"]
    classes = p["probs_mean"].shape[1]
    names = args.class_names.split(",") if args.class_names else run.class_names(classes)
    if len(names) != classes:
        raise RunFileError(f"--class-names gives {len(names)} names, {run.path} has {classes} classes")
    prefix = os.path.join(args.out_dir, f"{run.name}_")
    groups = [(right, CORRECT, "correct"), (labeled & ~right, WRONG, "wrong"),
              (~labeled, UNLABELED, "no label")]

    # Predictive entropy, correct vs wrong predictions.
    figure, axis = plt.subplots(figsize=(7, 5))
    bins = np.linspace(0, max(float(entropy.max()), np.log(classes)) * 1.001, 41)
    for mask, color, label in groups:
        if mask.any():
            axis.hist(entropy[mask], bins=bins, color=color, alpha=0.6, density=True,
                      label=f"{label} ({int(mask.sum())}, mean {entropy[mask].mean():.3f})")
    axis.axvline(np.log(classes), color="black", linestyle=":", label=f"log {classes} (uniform)")
    _label(axis, f"{run.name}: predictive entropy on '{args.set}'", "predictive entropy (nats)",
           "density", legend={})
    _finish(figure, prefix + "entropy.png")

    # Aleatoric against epistemic, coloured by correctness.
    figure, axis = plt.subplots(figsize=(7, 6))
    for mask, color, label in groups:
        if mask.any():
            axis.scatter(aleatoric[mask], epistemic[mask], s=6, alpha=0.5, color=color,
                         label=label, linewidths=0)
    _label(axis, f"{run.name}: aleatoric vs epistemic uncertainty on '{args.set}'",
           "aleatoric: expected entropy (nats)", "epistemic: mutual information (nats)",
           legend={"markerscale": 3})
    _finish(figure, prefix + "aleatoric_epistemic.png")

    # Mean uncertainty per true class (per predicted class for a set without labels):
    # aleatoric and epistemic stacked (sum = entropy).
    by, by_text = (p["label"], "true class") if labeled.any() else \
        (p["predicted"], "predicted class (the set has no labels)")
    present = np.array([np.any(by == k) for k in range(classes)])
    mean_of = lambda v: np.array([v[by == k].mean() if present[k] else 0.0 for k in range(classes)])
    mean_aleatoric, mean_epistemic = mean_of(aleatoric), mean_of(epistemic)
    error = np.array([1 - right[by == k].mean() if present[k] else 0.0 for k in range(classes)])
    figure, axis = plt.subplots(figsize=(9, 5))
    x = np.arange(classes)
    axis.bar(x, mean_aleatoric, color=ALEATORIC, label="aleatoric", edgecolor="black", linewidth=0.5)
    axis.bar(x, mean_epistemic, bottom=mean_aleatoric, color=EPISTEMIC, label="epistemic",
             edgecolor="black", linewidth=0.5)
    for k in range(classes):
        if present[k] and labeled.any():
            axis.annotate(f"err {error[k]:.0%}", (k, mean_aleatoric[k] + mean_epistemic[k]),
                          ha="center", va="bottom", fontsize=8)
    axis.set_xticks(x)
    axis.set_xticklabels(names, rotation=30, ha="right")
    _label(axis, f"{run.name}: uncertainty per class on '{args.set}'", by_text,
           "mean predictive entropy (nats)", legend={}, grid="y")
    _finish(figure, prefix + "uncertainty_per_class.png")


# ---- ood --------------------------------------------------------------------------

OOD_SCORES = [  # (name in the file, panel title, axis label, colour of its ROC curve)
    ("entropy", "predictive entropy", "predictive entropy (nats)", "#7b3294"),
    ("mutual_information", "mutual information (epistemic)", "mutual information (nats)",
     "#1b7837"),
    ("max_probability", "1 - max probability", "1 - max_k p(k | x)", "#8c510a"),
    # A regression's (units: the training targets' standard deviations).
    ("predictive_std", "predictive std", "predictive std (training target std)", "#7b3294"),
    ("epistemic_std", "epistemic std", "epistemic std (training target std)", "#1b7837"),
]
IN_SET, OUT_SET = "#2a7ab9", "#e67e22"


def _roc(inside, outside):
    """(false positive rate, true positive rate) with the OOD set as positives and higher
    scores called OOD first; tied scores make one diagonal step (AUROC counts ties 1/2)."""
    scores = np.concatenate([inside, outside])
    is_out = np.concatenate([np.zeros(len(inside)), np.ones(len(outside))])
    order = np.argsort(-scores, kind="mergesort")
    scores, is_out = scores[order], is_out[order]
    last = np.append(np.nonzero(np.diff(scores))[0], len(scores) - 1)  # end of each tie
    tpr = np.append(0, np.cumsum(is_out)[last] / len(outside))
    fpr = np.append(0, np.cumsum(1 - is_out)[last] / len(inside))
    return fpr, tpr


def _ood_set(run, wanted):
    sets = run.ood_sets()
    if not sets:
        raise RunFileError(f"{run.path}: no /metrics/ood: no OOD set was scored (an [ood] "
                           "section in the deck, or kbnn predict --ood.*, scores one)")
    if wanted:
        if wanted not in sets:
            raise RunFileError(f"{run.path}: no OOD set '{wanted}'; it has {', '.join(sets)}")
        return wanted
    if len(sets) > 1:
        raise RunFileError(f"{run.path}: several OOD sets ({', '.join(sets)}): choose with --ood-set")
    return next(iter(sets))


def _score_histograms(axis, inside, in_label, outside, out_label, unbounded):
    """Both sets' histograms of one score on 40 shared bins. A regression's standard
    deviations have no bound: a few huge ones (a heteroscedastic model's) would leave the
    rest in the first bin, so beyond 10 times the 99th percentile the bins stop at 1.5 times
    it and what lies past is counted in the last, as the legend says."""
    values = np.concatenate([inside, outside])
    top = kbnn_regression.view_limit(values)[0] if unbounded else values.max() + 1e-12
    bins = np.linspace(values.min(), top, 41)
    for scores, color, label in ((inside, IN_SET, in_label), (outside, OUT_SET, out_label)):
        past = int(np.sum(scores > top))
        axis.hist(np.minimum(scores, top), bins=bins, density=True, color=color, alpha=0.55,
                  label=label + (f"; {past} past {top:.3g}, in the last bin" if past else ""))


def plot_ood(args):
    run = open_run(args.run)
    name = _ood_set(run, args.ood_set)
    m = run.ood_sets()[name]
    in_set = str(m["in_set"])
    inside, outside = run.ood_scores(in_set), run.ood_scores(name)
    scores = [entry for entry in OOD_SCORES if entry[0] in inside and entry[0] in outside]
    figure, axes = plt.subplots(1, len(scores) + 1, figsize=(4.5 * (len(scores) + 1), 4.4))
    for axis, (score, title, label, _) in zip(axes, scores):
        _score_histograms(axis, inside[score], f"{in_set} ({len(inside[score])}, in)",
                          outside[score], f"{name} ({len(outside[score])}, OOD)",
                          run.is_regression)
        _label(axis, title, label, legend={"title": f"AUROC {float(m['auroc_' + score]):.3f}",
                                           "fontsize": 8, "title_fontsize": 9})
    axes[0].set_ylabel("density")
    roc = axes[-1]
    for score, title, _, color in scores:
        fpr, tpr = _roc(inside[score], outside[score])
        roc.plot(fpr, tpr, color=color, label=f"{title}: {float(m['auroc_' + score]):.3f}")
    roc.plot([0, 1], [0, 1], "k:", linewidth=1, label="chance (AUROC 0.5)")
    roc.set_xlim(0, 1)
    roc.set_ylim(0, 1.01)
    roc.set_aspect("equal")
    _label(roc, "ROC curves, OOD as positive", f"false positive rate ({in_set} called OOD)",
           f"true positive rate ({name} called OOD)",
           legend={"title": "AUROC", "fontsize": 8, "title_fontsize": 9, "loc": "lower right"})
    _finish(figure, args.output or _default(run, "ood"),
            f"{run.name}: telling {name} (OOD) from {in_set} by each uncertainty score; "
            f"higher scores are called OOD")


# ---- compare ----------------------------------------------------------------------

def _training_seconds(seconds):
    """Training time over all of a run's sessions: /history's seconds start again from 0
    at each restart, so each session adds its last row's time."""
    total, previous = 0.0, 0.0
    for s in seconds:
        if s < previous:
            total += previous
        previous = s
    return total + previous


COLUMNS = [  # (header, function of the run, format)
    ("run", lambda r: r.label, "{}"),
    ("ranks", lambda r: r.ranks, "{}"),
    ("estimator", lambda r: r.deck.get("model.estimator", "?"), "{}"),
    ("steps", lambda r: int(r.history["step"][-1]), "{}"),
    ("train_s", lambda r: _training_seconds(r.history["seconds"]), "{:.2f}"),
    ("loss", lambda r: r.history["loss"][-1], "{:.4f}"),
    ("train_nll", lambda r: r.history["nll"][-1], "{:.4f}"),
    ("accuracy", lambda r: r.metrics()["accuracy"], "{:.4f}"),
    ("nll", lambda r: r.metrics()["nll"], "{:.4f}"),
    ("brier", lambda r: r.metrics()["brier"], "{:.4f}"),
    ("ece", lambda r: r.metrics()["ece"], "{:.4f}"),
    ("entropy", lambda r: r.metrics()["mean_entropy"], "{:.4f}"),
    ("aleatoric", lambda r: r.metrics()["mean_aleatoric"], "{:.4f}"),
    ("epistemic", lambda r: r.metrics()["mean_epistemic"], "{:.4f}"),
]
REGRESSION_COLUMNS = COLUMNS[:7] + [  # the test metrics of regressions, in target units
    ("rmse", lambda r: r.metrics()["rmse"], "{:.5g}"),
    ("nll", lambda r: r.metrics()["nll"], "{:.4f}"),
    ("coverage_95", lambda r: r.metrics()["coverage_95"], "{:.3f}"),
    ("width_95", lambda r: r.metrics()["width_95"], "{:.5g}"),
    ("calibration_error", lambda r: r.metrics()["calibration_error"], "{:.4f}"),
    ("mean_std", lambda r: r.metrics()["mean_std"], "{:.5g}"),
]


def _labels(paths, given):
    if given:
        labels = given.split(",")
        if len(labels) != len(paths):
            raise RunFileError(f"--labels gives {len(labels)} labels for {len(paths)} run files")
        return labels
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if len(set(names)) == len(names):
        return names
    return [os.path.relpath(p) for p in paths]  # same file names: keep the folders


def compare_runs(args):
    runs = [open_run(path) for path in args.runs]
    for run, label in zip(runs, _labels(args.runs, args.labels)):
        run.label = label
        run.require_history(["step", "loss", "nll", "seconds"])
        run.metrics()  # the table needs the test metrics: fail early, naming the file
    if len({run.is_regression for run in runs}) > 1:
        raise RunFileError("compare: regressions and classifiers have no metrics in common; "
                           "compare each kind apart")
    columns = REGRESSION_COLUMNS if runs[0].is_regression else COLUMNS

    figure, axes = plt.subplots(1, 2, figsize=(12, 5), sharex=True)
    for field, axis, title in [("loss", axes[0], "negative ELBO per example (nats)"),
                               ("nll", axes[1], "training NLL (nats)")]:
        for run in runs:
            axis.plot(run.history["step"], run.history[field], label=run.label,
                      marker="." if len(run.history["step"]) < 50 else None)
        _label(axis, title, "optimizer step")
    axes[1].legend()
    _finish(figure, args.output, "kbnn runs compared")

    header = [name for name, _, _ in columns]
    rows = [[fmt.format(value(run)) for _, value, fmt in columns] for run in runs]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    print("final metrics (history: last logged row; test: /metrics/test)")
    print(line(header))
    for row in rows:
        print(line(row))
    if args.csv:
        with open(args.csv, "w") as out:
            for cells in [header] + rows:
                out.write(",".join('"' + c + '"' if "," in c else c for c in cells) + "\n")
        print(f"wrote {args.csv}")
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write("| " + " | ".join(header) + " |\n")
            out.write("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|\n")
            for row in rows:
                out.write("| " + " | ".join(row) + " |\n")
        print(f"wrote {args.markdown}")


# ---- pruning ----------------------------------------------------------------------

def _classes(deck):
    """The model's outputs: out= of the deck's last layer line (0 if there is none)."""
    layers = [line.split("=", 1)[1] for line in deck.splitlines() if line.startswith("layer =")]
    words = dict(w.split("=", 1) for w in (layers[-1].split() if layers else []) if "=" in w)
    return int(words.get("out", 0))


def _pruned_accuracy(axis, fraction, table, classes):
    axis.plot(fraction, 100 * table["accuracy"], marker="o")
    _write_values(axis, fraction, 100 * table["accuracy"], "{:.1f}")
    if classes:
        axis.axhline(100 / classes, color="gray", linestyle=":", label=f"chance (1/{classes})")
        axis.legend(fontsize=8)
    axis.set_ylim(0, 100)
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("accuracy after pruning")


def _pruned_regression(axis, fraction, table):
    """A regression's test RMSE (target units) and, on a second axis, its 95 % coverage."""
    axis.plot(fraction, table["rmse"], marker="o", color="C0", label="RMSE")
    _write_values(axis, fraction, table["rmse"], "{:.4g}", color="C0")
    axis.set_ylim(0, 1.15 * float(np.nanmax(table["rmse"])))
    axis.set_ylabel("test RMSE (target units)", color="C0")
    coverage = axis.twinx()
    coverage.plot(fraction, table["coverage_95"], marker="s", color="C2", label="95 % coverage")
    coverage.axhline(0.95, color="C2", linestyle=":", linewidth=1)
    coverage.set_ylim(0, 1.02)
    coverage.set_ylabel("coverage of the 95 % interval (dotted: 0.95)", color="C2")
    axis.set_title("test RMSE and 95 % coverage after pruning")


def _pruned_auroc(axis, fraction, table, auroc, scope, ood_set):
    for score, title, _, color in auroc:
        axis.plot(fraction, table["auroc_" + score], marker="o", color=color, label=title)
    axis.axhline(0.5, color="gray", linestyle=":", label="chance (0.5)")
    axis.set_ylim(0, 1)
    _label(axis, f"telling {ood_set} from the test set after pruning",
           f"weights removed ({scope} scope, %)", f"AUROC, {ood_set} (OOD) against the test set",
           legend={"fontsize": 8})


def _read_pruning(path):
    """The pruning file's table {column: values} and its attributes scope, source and
    ood_set, and the model's class count."""
    import h5py
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise RunFileError(f"{path}: cannot be read as a kbnn pruning file: {error}") from None
    with f:
        if "pruning" not in f or "fraction" not in f["pruning"]:
            raise RunFileError(f"{path}: not a kbnn pruning file (no /pruning/fraction); "
                               "kbnn prune writes one")
        table = {name: f["pruning"][name][:] for name in f["pruning"]
                 if isinstance(f["pruning"][name], h5py.Dataset)}
        text = lambda key, default: (lambda v: v.decode() if isinstance(v, bytes) else str(v))(
            f.attrs.get(key, default))
        return (table, text("scope", "layer"), text("source", "?"), text("ood_set", ""),
                _classes(text("deck", "")))


def plot_pruning(args):
    table, scope, source, ood_set, classes = _read_pruning(args.run)
    fraction = 100 * table["fraction"]
    # The OOD plot's scores, in its order and colours.
    auroc = [entry for entry in OOD_SCORES if "auroc_" + entry[0] in table]
    figure, axes = plt.subplots(1, 2 if auroc else 1, figsize=(12 if auroc else 7, 5), squeeze=False)
    axis = axes[0][0]
    if "rmse" in table:
        _pruned_regression(axis, fraction, table)
    else:
        _pruned_accuracy(axis, fraction, table, classes)
    _label(axis, x=f"weights removed, lowest |mu|/sigma first ({scope} scope, %)")
    if auroc:
        _pruned_auroc(axes[0][1], fraction, table, auroc, scope, ood_set)
    stem = os.path.basename(args.run)
    stem = stem[:-len(".pruning.h5")] if stem.endswith(".pruning.h5") else os.path.splitext(stem)[0]
    _finish(figure, args.output or f"{stem}_pruning.png",
            f"kbnn prune of {source}: {scope} scope" + (f", OOD set {ood_set}" if ood_set else ""))


# ---- members (ensembles) -----------------------------------------------------------

def _member_histories(axis, ensemble):
    for m in ensemble.members:
        h = m["history"]
        if len(h.get("step", [])):
            # A short run logs a row or two: markers show them (a line needs two points).
            axis.plot(h["step"], h["nll"], label=f"member {m['member']}", linewidth=1,
                      marker="o" if len(h["step"]) <= 20 else None, markersize=3)
    _label(axis, "each member's training", "optimizer step", "training NLL (nats)",
           legend={"fontsize": 7})


def _member_scores(axis, ensemble, ood_set):
    """Test accuracy (a regression's: 95 % coverage) and OOD AUROC per member and for the
    mixture; ECE (RMSE) above each."""
    rows = [(f"{m['member']}", m["metrics"].get("test", {}), m["ood"].get(ood_set, {}))
            for m in ensemble.members]
    rows.append(("mixture", ensemble.metrics.get("test", {}), ensemble.ood.get(ood_set, {})))
    regression = "rmse" in ensemble.metrics.get("test", {})
    fit, fit_label = ("coverage_95", "95% coverage") if regression else ("accuracy", "test accuracy")
    above, above_format = ("rmse", "RMSE\n{:.4g}") if regression else ("ece", "ECE\n{:.3f}")
    scores = ((("epistemic_std", "epistemic std"), ("predictive_std", "predictive std"))
              if regression else (("mutual_information", "MI"), ("entropy", "entropy")))
    series = [(fit, fit_label, lambda t, o: t.get(fit, np.nan))]
    if ood_set:
        series += [(s, f"AUROC {label}", lambda t, o, s=s: o.get(f"auroc_{s}", np.nan))
                   for s, label in scores]
    x = np.arange(len(rows))
    width = 0.8 / len(series)
    lowest = 0.5
    for i, (_, label, value) in enumerate(series):
        heights = [value(t, o) for _, t, o in rows]
        lowest = min([lowest] + [h for h in heights if h == h])
        axis.bar(x + (i - (len(series) - 1) / 2) * width, heights, width=width, label=label)
    for xi, (_, t, _) in zip(x, rows):
        axis.annotate(above_format.format(t.get(above, np.nan)), (xi, 1.0), ha="center",
                      va="bottom", fontsize=7)
    axis.set_xticks(x)
    axis.set_xticklabels([name for name, _, _ in rows])
    # Room above the bars and their ECE labels for the legend, which covers no bar there.
    bottom = np.floor(lowest * 10) / 10
    axis.set_ylim(bottom, 1.3)
    axis.set_yticks(np.arange(bottom, 1.001, 0.1))
    _label(axis, "members and their mixture" + (f" (OOD: {ood_set})" if ood_set else ""),
           "member", legend={"fontsize": 7, "loc": "upper center", "ncol": len(series)}, grid="y")


def _split_histograms(axis, ensemble, ood_set):
    """Per-example within- and between-member epistemic uncertainty, test vs OOD set (a
    regression's: variances, one value per example and target)."""
    sets = [("test", "-")] + ([(ood_set, ":")] if ood_set else [])
    regression = "rmse" in ensemble.metrics.get("test", {})
    top = 0.0
    values = {}
    for name, _ in sets:
        p = ensemble.predictions(name)
        values[name] = (p["epistemic_within"].ravel(), p["epistemic_between"].ravel())
        top = max(top, max(v.max() for v in values[name]))
    top = top if top > 0 else 1
    bins = np.linspace(0, top, 40)
    if regression:  # variances in squared units span decades (an OOD set's: 1e4 x the test's)
        floor = top * 1e-9
        bins = np.geomspace(floor, top, 40)
        values = {name: tuple(np.maximum(v, floor) for v in pair) for name, pair in values.items()}
        axis.set_xscale("log")
    for name, style in sets:
        within, between = values[name]
        axis.hist(within, bins=bins, histtype="step", linestyle=style, color=ALEATORIC,
                  linewidth=1.5, label=f"{name}: within-member")
        axis.hist(between, bins=bins, histtype="step", linestyle=style, color=EPISTEMIC,
                  linewidth=1.5, label=f"{name}: between-member")
    axis.set_yscale("log")
    if regression:  # room above the bars for the legend
        axis.set_ylim(top=axis.get_ylim()[1] * 5)
    _label(axis, "the mixture's " + ("epistemic variance" if regression else "mutual information")
           + ", split", "epistemic variance (target units squared)"
           if regression else "epistemic uncertainty per example (nats)", "examples",
           legend={"fontsize": 7, "loc": "upper left" if regression else "best"})


def plot_members(args):
    ensemble = open_ensemble(args.run)
    ood_set = args.ood_set or next(iter(ensemble.ood), "")
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    _member_histories(axes[0], ensemble)
    _member_scores(axes[1], ensemble, ood_set)
    _split_histograms(axes[2], ensemble, ood_set)
    _finish(figure, args.output or _default(ensemble, "members"),
            f"{ensemble.name}: an ensemble of {len(ensemble.members)} members")


# ---- command line -----------------------------------------------------------------

def _subcommand(sub, name, func, summary, description, input_help, metavar="FILE.h5", png=None):
    """A subcommand that reads one kbnn file (args.run); png: the default of -o, which
    its help names."""
    p = sub.add_parser(name, help=summary, description=description)
    p.add_argument("run", metavar=metavar, help=input_help)
    if png:
        p.add_argument("-o", "--output", metavar="PNG",
                       help=f"output image (default: {png} in the current folder)")
    p.set_defaults(func=func)
    return p


def _set_option(p):
    p.add_argument("--set", default="test", help="evaluated data set (default: test)")


def parser():
    top = argparse.ArgumentParser(
        prog="kbnn_plots.py",
        description="Plots and tables from kbnn run files and prediction files (HDF5, "
                    "docs/output.md). "
                    "Run 'kbnn_plots.py SUBCOMMAND --help' for each one's inputs and outputs.",
        epilog="A file that is not a kbnn run file is reported by name; the exit status is 1.")
    sub = top.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    either = "kbnn run file or prediction file"

    _subcommand(sub, "history", plot_history, "loss, NLL, accuracy, KL, beta and lr against step",
                "Input: a run file's /history and /history/eval. Output: one PNG against "
                "optimizer step: the loss; the NLL and the accuracy in training and, with "
                "evaluations during training, on the evaluated set; the KL, beta and the "
                "learning rate, each unless it stayed constant (the title gives its value "
                "then). A run whose train.early_stop kept an earlier model marks its step "
                "with a dashed line. Up to four panels: 1000x700 pixels; five or six: "
                "1500x700. A history of a few rows shows each row's value.",
                "kbnn run file", metavar="RUN.h5", png="RUN_history.png")

    p = _subcommand(sub, "reliability", plot_reliability, "reliability diagram with ECE",
                    "Input: a run file's or prediction file's /metrics/SET (the attributes and "
                    "the bin_* datasets). Output: one PNG (600x700 pixels): accuracy against "
                    "confidence per bin with the diagonal and ECE in the title, and the "
                    "examples per bin below.", either, png="FILE_reliability.png")
    _set_option(p)

    p = _subcommand(sub, "uncertainty", plot_uncertainty,
                    "entropy histograms, aleatoric vs epistemic, per class",
                    "Input: a run file's /predictions/SET (written when "
                    "output.write_predictions = true) or a prediction file's. Outputs, in "
                    "OUT_DIR: RUN_entropy.png (700x500: predictive entropy of correct and wrong "
                    "predictions), RUN_aleatoric_epistemic.png (700x600: scatter), "
                    "RUN_uncertainty_per_class.png (900x500: mean aleatoric and epistemic "
                    "entropy per true class, stacked).", either)
    p.add_argument("--out-dir", default=".", help="folder for the PNGs (default: .)")
    _set_option(p)
    p.add_argument("--class-names", metavar="A,B,...",
                   help="class names, comma-separated (default: the file's class_names, "
                        "which kbnn keeps from an HDF5 file's or CIFAR-10's; else "
                        "Fashion-MNIST names when the deck's data.dir says so; else 0, 1, ...)")

    p = _subcommand(sub, "ood", plot_ood, "OOD scores: histograms in and out, AUROC, ROC curves",
                    "Input: a run file or a prediction file that scored an OOD set "
                    "(/metrics/ood/SET and both sets' /predictions/*/ood_scores). Output: one "
                    "PNG (1800x440 pixels): for each score (predictive entropy, mutual "
                    "information, 1 - max probability) the histograms of the in-distribution "
                    "and the OOD set with the AUROC in the legend, and the ROC curves of the "
                    "three scores with chance marked.", either, png="FILE_ood.png")
    p.add_argument("--ood-set", metavar="NAME",
                   help="the OOD set, when the file scored several (default: its only one)")

    p = sub.add_parser("compare", help="several runs: curves overlaid and a table of final metrics",
                       description="Inputs: two or more run files (e.g. 1 vs 2 ranks, flipout vs "
                                   "reparam). Outputs: one PNG (1200x500) with loss and training "
                                   "NLL against step, overlaid; the table of final metrics on "
                                   "standard output, and as CSV / Markdown when asked.")
    p.add_argument("runs", metavar="RUN.h5", nargs="+", help="kbnn run files")
    p.add_argument("-o", "--output", metavar="PNG", default="compare.png",
                   help="output image (default: compare.png)")
    p.add_argument("--labels", metavar="A,B,...",
                   help="names of the runs, comma-separated (default: the file names)")
    p.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    p.set_defaults(func=compare_runs)

    _subcommand(sub, "pruning", plot_pruning, "accuracy and OOD AUROC against the pruned fraction",
                "Input: the pruning file of kbnn prune (/pruning). Output: one PNG (700x500, "
                "or 1200x500 with OOD AUROC columns), titled with the pruned run, the scope "
                "and the OOD set: test accuracy, and each OOD score's AUROC when the file has "
                "them, against the fraction of weights removed, with chance marked "
                "(1/classes, AUROC 0.5).",
                "kbnn pruning file", metavar="RUN.pruning.h5", png="RUN_pruning.png")

    p = _subcommand(sub, "members", plot_members, "an ensemble's members against their mixture",
                    "Input: an ensemble's run file (kbnn train with parallel.ensemble > 1: "
                    "/members/<k> and the mixture's /metrics and /predictions). Output: one "
                    "PNG (1500x450) with three panels: each member's training NLL against "
                    "step; test accuracy and OOD AUROC (mutual information, entropy) of every "
                    "member and of the mixture, ECE above each (a regression's: 95% coverage "
                    "and AUROC of the epistemic and predictive std, RMSE above each); "
                    "histograms of the per-example within- and between-member epistemic "
                    "uncertainty (a regression's: variances) on the test and OOD sets.",
                    "kbnn ensemble run file", metavar="ENSEMBLE.h5",
                    png="RUN_members.png")
    p.add_argument("--ood-set", default="",
                   help="the OOD set to show (default: the first in /metrics/ood)")
    kbnn_regression.add_parser(sub)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except RunFileError as error:
        print(f"kbnn_plots.py {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
