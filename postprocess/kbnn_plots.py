#!/usr/bin/python3
"""Plots and tables from kbnn run files (the HDF5 file `kbnn train` writes, docs/output.md).

  kbnn_plots.py history     RUN.h5 [-o RUN_history.png]       loss, NLL, KL, beta vs step
  kbnn_plots.py reliability RUN.h5 [-o RUN_reliability.png]   reliability diagram of the test set
  kbnn_plots.py uncertainty RUN.h5 [--out-dir .]              three uncertainty PNGs
  kbnn_plots.py compare     A.h5 B.h5 ... [-o compare.png] [--csv F] [--markdown F]
  kbnn_plots.py pruning     RUN.pruning.h5 [-o RUN_pruning.png]  accuracy (and OOD AUROC) vs fraction
  kbnn_plots.py regression  RUN.h5 [--out-dir .]              predicted vs true, interval
                                                              calibration, residual vs std

Each subcommand's --help names its inputs and outputs. A file that is not a kbnn run
file is reported by name, with exit status 1. Needs h5py, numpy and matplotlib
(Debian: python3-h5py, python3-matplotlib); draws with the Agg backend, no display.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ next to the tools
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbnn_runfile import RunFileError, open_run  # noqa: E402
import kbnn_regression  # noqa: E402  (the regression subcommand)

DPI = 100  # figure sizes below are in inches: pixels = inches * DPI
CORRECT, WRONG = "#2a7ab9", "#d9534f"
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


# ---- history ----------------------------------------------------------------------

def plot_history(args):
    run = open_run(args.run)
    run.require_history(["step", "loss", "nll", "kl", "beta"])
    h = run.history
    figure, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    panels = [("loss", "negative ELBO per example (nats)"),
              ("nll", "NLL, mean cross-entropy (nats)"),
              ("kl", "KL(q || p) (nats)"),
              ("beta", "KL weight beta")]
    for axis, (field, label) in zip(axes.flat, panels):
        axis.plot(h["step"], h[field], marker="." if len(h["step"]) < 50 else None)
        axis.set_title(label)
        axis.grid(alpha=0.3)
    for axis in axes[1]:
        axis.set_xlabel("optimizer step")
    if "lr" in h and len(h["lr"]):
        lr = np.unique(h["lr"])
        note = f"lr {lr[0]:g}" if len(lr) == 1 else f"lr {h['lr'].min():g} to {h['lr'].max():g}"
    else:
        note = ""
    figure.suptitle(f"{run.name}: training history ({run.ranks} rank(s), {note})")
    figure.tight_layout()
    _save(figure, args.output or _default(run, "history"))


# ---- reliability ------------------------------------------------------------------

def plot_reliability(args):
    run = open_run(args.run)
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
    top.set_ylabel("accuracy")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    top.set_title(f"{run.name}: reliability on '{args.set}', ECE = {metrics['ece']:.4f}\n"
                  f"accuracy {metrics['accuracy']:.4f}, {int(count.sum())} examples, "
                  f"{len(count)} bins")
    bottom.bar(centers, count, width=width, color="gray", edgecolor="black", linewidth=0.5)
    for x, n in zip(centers[filled], count[filled]):
        bottom.annotate(str(int(n)), (x, n), ha="center", va="bottom", fontsize=7)
    bottom.set_yscale("log" if count.max() > 50 * max(1, count[filled].min()) else "linear")
    bottom.set_ylabel("examples")
    bottom.set_xlabel("confidence (largest predictive probability)")
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    _save(figure, args.output or _default(run, "reliability"))


# ---- uncertainty ------------------------------------------------------------------

def plot_uncertainty(args):
    run = open_run(args.run)
    p = run.predictions(args.set)
    right = p["predicted"] == p["label"]
    entropy, aleatoric, epistemic = p["predictive_entropy"], p["aleatoric"], p["epistemic"]
    classes = p["probs_mean"].shape[1]
    names = args.class_names.split(",") if args.class_names else run.class_names(classes)
    if len(names) != classes:
        raise RunFileError(f"--class-names gives {len(names)} names, {run.path} has {classes} classes")
    prefix = os.path.join(args.out_dir, f"{run.name}_")
    written = []

    # Predictive entropy, correct vs wrong predictions.
    figure, axis = plt.subplots(figsize=(7, 5))
    bins = np.linspace(0, max(float(entropy.max()), np.log(classes)) * 1.001, 41)
    for mask, color, label in [(right, CORRECT, "correct"), (~right, WRONG, "wrong")]:
        if mask.any():
            axis.hist(entropy[mask], bins=bins, color=color, alpha=0.6, density=True,
                      label=f"{label} ({int(mask.sum())}, mean {entropy[mask].mean():.3f})")
    axis.axvline(np.log(classes), color="black", linestyle=":", label=f"log {classes} (uniform)")
    axis.set_xlabel("predictive entropy (nats)")
    axis.set_ylabel("density")
    axis.set_title(f"{run.name}: predictive entropy on '{args.set}'")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    written.append(prefix + "entropy.png")
    _save(figure, written[-1])

    # Aleatoric against epistemic, coloured by correctness.
    figure, axis = plt.subplots(figsize=(7, 6))
    for mask, color, label in [(right, CORRECT, "correct"), (~right, WRONG, "wrong")]:
        axis.scatter(aleatoric[mask], epistemic[mask], s=6, alpha=0.5, color=color,
                     label=label, linewidths=0)
    axis.set_xlabel("aleatoric: expected entropy (nats)")
    axis.set_ylabel("epistemic: mutual information (nats)")
    axis.set_title(f"{run.name}: aleatoric vs epistemic uncertainty on '{args.set}'")
    axis.legend(markerscale=3)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    written.append(prefix + "aleatoric_epistemic.png")
    _save(figure, written[-1])

    # Mean uncertainty per true class: aleatoric and epistemic stacked (sum = entropy).
    label = p["label"]
    present = np.array([np.any(label == k) for k in range(classes)])
    mean_of = lambda v: np.array([v[label == k].mean() if present[k] else 0.0 for k in range(classes)])
    mean_aleatoric, mean_epistemic = mean_of(aleatoric), mean_of(epistemic)
    error = np.array([1 - right[label == k].mean() if present[k] else 0.0 for k in range(classes)])
    figure, axis = plt.subplots(figsize=(9, 5))
    x = np.arange(classes)
    axis.bar(x, mean_aleatoric, color=ALEATORIC, label="aleatoric", edgecolor="black", linewidth=0.5)
    axis.bar(x, mean_epistemic, bottom=mean_aleatoric, color=EPISTEMIC, label="epistemic",
             edgecolor="black", linewidth=0.5)
    for k in range(classes):
        if present[k]:
            axis.annotate(f"err {error[k]:.0%}", (k, mean_aleatoric[k] + mean_epistemic[k]),
                          ha="center", va="bottom", fontsize=8)
    axis.set_xticks(x)
    axis.set_xticklabels(names, rotation=30, ha="right")
    axis.set_xlabel("true class")
    axis.set_ylabel("mean predictive entropy (nats)")
    axis.set_title(f"{run.name}: uncertainty per class on '{args.set}'")
    axis.legend()
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    written.append(prefix + "uncertainty_per_class.png")
    _save(figure, written[-1])


# ---- compare ----------------------------------------------------------------------

COLUMNS = [  # (header, function of the run, format)
    ("run", lambda r: r.label, "{}"),
    ("ranks", lambda r: r.ranks, "{}"),
    ("estimator", lambda r: r.deck.get("model.estimator", "?"), "{}"),
    ("steps", lambda r: int(r.history["step"][-1]), "{}"),
    ("train_s", lambda r: r.history["seconds"][-1], "{:.2f}"),
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

    figure, axes = plt.subplots(1, 2, figsize=(12, 5), sharex=True)
    for field, axis, title in [("loss", axes[0], "negative ELBO per example (nats)"),
                               ("nll", axes[1], "training NLL (nats)")]:
        for run in runs:
            axis.plot(run.history["step"], run.history[field], label=run.label,
                      marker="." if len(run.history["step"]) < 50 else None)
        axis.set_title(title)
        axis.set_xlabel("optimizer step")
        axis.grid(alpha=0.3)
    axes[1].legend()
    figure.suptitle("kbnn runs compared")
    figure.tight_layout()
    _save(figure, args.output)

    header = [name for name, _, _ in COLUMNS]
    rows = [[fmt.format(value(run)) for _, value, fmt in COLUMNS] for run in runs]
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

def plot_pruning(args):
    import h5py
    try:
        f = h5py.File(args.pruning, "r")
    except OSError as error:
        raise RunFileError(f"{args.pruning}: cannot be read as a kbnn pruning file: {error}") from None
    with f:
        if "pruning" not in f or "fraction" not in f["pruning"]:
            raise RunFileError(f"{args.pruning}: not a kbnn pruning file (no /pruning/fraction); "
                               "kbnn prune writes one")
        table = {name: f["pruning"][name][:] for name in f["pruning"]
                 if isinstance(f["pruning"][name], h5py.Dataset)}
        scope = f.attrs.get("scope", b"layer")
    scope = scope.decode() if isinstance(scope, bytes) else str(scope)
    fraction = 100 * table["fraction"]
    auroc = sorted(name for name in table if name.startswith("auroc_"))
    figure, axes = plt.subplots(1, 2 if auroc else 1, figsize=(12 if auroc else 7, 5), squeeze=False)
    axis = axes[0][0]
    axis.plot(fraction, 100 * table["accuracy"], marker="o")
    for x, y in zip(fraction, 100 * table["accuracy"]):
        axis.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(0, 6),
                      ha="center", fontsize=8)
    axis.set_xlabel(f"weights removed, lowest |mu|/sigma first ({scope} scope, %)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("accuracy after pruning")
    axis.grid(alpha=0.3)
    if auroc:
        axis = axes[0][1]
        for name in auroc:
            axis.plot(fraction, table[name], marker="o", label=name[len("auroc_"):])
        axis.set_xlabel(f"weights removed ({scope} scope, %)")
        axis.set_ylabel("OOD AUROC")
        axis.set_title("out-of-distribution detection after pruning")
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    stem = os.path.basename(args.pruning)
    stem = stem[:-len(".pruning.h5")] if stem.endswith(".pruning.h5") else os.path.splitext(stem)[0]
    _save(figure, args.output or f"{stem}_pruning.png")


# ---- command line -----------------------------------------------------------------

def parser():
    top = argparse.ArgumentParser(
        prog="kbnn_plots.py",
        description="Plots and tables from kbnn run files (HDF5, docs/output.md). "
                    "Run 'kbnn_plots.py SUBCOMMAND --help' for each one's inputs and outputs.",
        epilog="A file that is not a kbnn run file is reported by name; the exit status is 1.")
    sub = top.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser("history", help="loss, NLL, KL and beta against step",
                       description="Input: a run file's /history. Output: one PNG (1000x700 "
                                   "pixels) with four panels: loss, NLL, KL and beta against "
                                   "optimizer step.")
    p.add_argument("run", metavar="RUN.h5", help="kbnn run file")
    p.add_argument("-o", "--output", metavar="PNG",
                   help="output image (default: RUN_history.png in the current folder)")
    p.set_defaults(func=plot_history)

    p = sub.add_parser("reliability", help="reliability diagram with ECE",
                       description="Input: a run file's /metrics/SET (the attributes and the "
                                   "bin_* datasets). Output: one PNG (600x700 pixels): accuracy "
                                   "against confidence per bin with the diagonal and ECE in "
                                   "the title, and the examples per bin below.")
    p.add_argument("run", metavar="RUN.h5", help="kbnn run file")
    p.add_argument("-o", "--output", metavar="PNG",
                   help="output image (default: RUN_reliability.png in the current folder)")
    p.add_argument("--set", default="test", help="evaluated data set (default: test)")
    p.set_defaults(func=plot_reliability)

    p = sub.add_parser("uncertainty", help="entropy histograms, aleatoric vs epistemic, per class",
                       description="Input: a run file's /predictions/SET (written when "
                                   "output.write_predictions = true). Outputs, in OUT_DIR: "
                                   "RUN_entropy.png (700x500: predictive entropy of correct and "
                                   "wrong predictions), RUN_aleatoric_epistemic.png (700x600: "
                                   "scatter), RUN_uncertainty_per_class.png (900x500: mean "
                                   "aleatoric and epistemic entropy per true class, stacked).")
    p.add_argument("run", metavar="RUN.h5", help="kbnn run file")
    p.add_argument("--out-dir", default=".", help="folder for the PNGs (default: .)")
    p.add_argument("--set", default="test", help="evaluated data set (default: test)")
    p.add_argument("--class-names", metavar="A,B,...",
                   help="class names, comma-separated (default: Fashion-MNIST or CIFAR-10 "
                        "names when the deck's data.dir says so, otherwise 0, 1, ...)")
    p.set_defaults(func=plot_uncertainty)

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

    p = sub.add_parser("pruning", help="accuracy and OOD AUROC against the pruned fraction",
                       description="Input: the pruning file of kbnn prune (/pruning). Output: "
                                   "one PNG (700x500, or 1200x500 with OOD AUROC columns): "
                                   "test accuracy, and each OOD score's AUROC when the file "
                                   "has them, against the fraction of weights removed.")
    p.add_argument("pruning", metavar="RUN.pruning.h5", help="kbnn pruning file")
    p.add_argument("-o", "--output", metavar="PNG",
                   help="output image (default: RUN_pruning.png in the current folder)")
    p.set_defaults(func=plot_pruning)

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
