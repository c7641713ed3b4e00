"""The regression plots of kbnn_plots.py (a run or prediction file of a model with a
Gaussian likelihood: /predictions/<set>/{mean, std, target} and /metrics/<set>, in the
targets' units; docs/output.md, "Regression").

  RUN_predicted_vs_true.png      predicted mean against the true value, with the central
                                 95 % interval as error bars, blue where it holds the
                                 truth and red where not; one panel per target, framing
                                 the points (an interval past the frame runs off it)
  RUN_interval_calibration.png   observed against expected coverage of the central
                                 intervals (the diagonal is perfect calibration; the grey
                                 band is +-2 binomial standard errors), and their widths
  RUN_residual_vs_std.png        |true - mean| against the predicted std: calibrated
                                 points lie under the z * std lines in the stated
                                 fractions; binned RMSE against binned std on the
                                 diagonal; one row per target
A heteroscedastic model may give a few examples it cannot place a huge variance: for
values more than 10 times the 99th percentile out, the residual panel's axes stop at 1.5
times it, and the legend counts the points beyond; the binned panel turns logarithmic when its values span more than two
decades, and says so. Targets are named by the deck's data.targets ("positions";
"positions[1]" for the second of several).
"""
import os
from statistics import NormalDist

import h5py
import matplotlib.pyplot as plt
import numpy as np

from kbnn_runfile import RunFileError, _parse_deck

COVERED, MISSED = "#2a7ab9", "#d9534f"
Z95 = 1.959963984540054


class RegressionSet:
    """One evaluated set of a regression run or prediction file."""

    def __init__(self, path, set_name):
        self.path, self.set = path, set_name
        self.name = os.path.splitext(os.path.basename(path))[0]
        if not os.path.exists(path) or not h5py.is_hdf5(path):
            raise RunFileError(f"{path}: no such HDF5 file")
        with h5py.File(path, "r") as f:
            group = f.get(f"predictions/{set_name}")
            if group is None or "mean" not in group:
                raise RunFileError(
                    f"{path}: no /predictions/{set_name}/mean: not a regression run (a model "
                    "with model.likelihood = gaussian or gaussian_heteroscedastic) or "
                    "written with output.write_predictions = false")
            self.mean, self.std, self.target = (group[k][:].astype(np.float64)
                                                for k in ("mean", "std", "target"))
            if not np.isfinite(self.target).any():
                raise RunFileError(
                    f"{path}: /predictions/{set_name} has no targets (new data, or an OOD "
                    "set of noise, predicted without them): these plots compare predictions "
                    "with the truth (an OOD set's uncertainty: 'kbnn_plots.py ood')")
            metrics = f[f"metrics/{set_name}"]
            self.metrics = {k: float(metrics.attrs[k]) for k in metrics.attrs if k != "description"}
            self.levels = metrics["interval_level"][:]
            self.coverage = metrics["interval_coverage"][:]
            self.width = metrics["interval_width"][:]
            deck = _parse_deck(str(f.attrs.get("deck", "")))
        self.targets = self.mean.shape[1]
        self.target_names = target_names(deck.get("data.targets", "targets"), self.targets)

    def title(self):
        m = self.metrics
        return (f"{self.name} on '{self.set}': RMSE {m['rmse']:.4g}, NLL {m['nll']:.3f}, "
                f"95% coverage {m['coverage_95']:.3f}")


def target_names(dataset, count):
    """What the axes call each target: the targets' dataset ("positions", or
    "positions[1]" for the second of several); "target 1" for a dataset named targets."""
    if dataset == "targets":
        return [f"target {t}" for t in range(count)]
    return [dataset] if count == 1 else [f"{dataset}[{t}]" for t in range(count)]


def spans_decades(values, decades=2):
    """Whether the positive values reach past 10^decades times their median: a linear axis
    would squeeze most of them into its first few percent."""
    v = np.asarray(values, np.float64).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    return v.size > 0 and v.max() > 10.0 ** decades * np.median(v)


def view_limit(values, quantile=99, room=1.5, far=10):
    """The top of an axis that shows the bulk of the values: their maximum, unless it lies
    more than `far` times their 99th percentile out (one huge variance, not a tail worth
    seeing): then room times that percentile. And how many values lie past it."""
    v = np.asarray(values, np.float64).ravel()
    v = v[np.isfinite(v)]
    bulk = np.percentile(v, quantile)
    top = v.max() if v.max() <= far * bulk else room * bulk
    return top, int(np.sum(v > top))


def _scale_note(log):
    return " (log scale)" if log else ""


def _save(figure, path):
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"wrote {path}")


def predicted_vs_true(r, path):
    panels = min(r.targets, 4)
    figure, axes = plt.subplots(1, panels, figsize=(1 + 6 * panels, 6), squeeze=False)
    for t, axis in enumerate(axes[0]):
        y, mean, half = r.target[:, t], r.mean[:, t], Z95 * r.std[:, t]
        covered = np.abs(y - mean) <= half
        for mask, color, label in [(covered, COVERED, "95% interval holds the truth"),
                                   (~covered, MISSED, "95% interval misses it")]:
            axis.errorbar(y[mask], mean[mask], yerr=half[mask], fmt="o", markersize=3,
                          color=color, ecolor=color, alpha=0.7, elinewidth=0.8,
                          label=f"{label} ({mask.sum()})")
        # The frame holds the points: one huge interval must not shrink the rest to a dot.
        low, high = min(y.min(), mean.min()), max(y.max(), mean.max())
        margin = 0.08 * (high - low) or 1.0
        low, high = low - margin, high + margin
        axis.plot([low, high], [low, high], "k--", linewidth=1, label="predicted = true")
        axis.set_xlim(low, high)
        axis.set_ylim(low, high)
        axis.set_xlabel(f"true {r.target_names[t]}")
        axis.set_ylabel(f"predicted {r.target_names[t]} (mean +- 1.96 std)")
        axis.grid(alpha=0.3)
        axis.legend(loc="upper left", fontsize=8)
    figure.suptitle(r.title())
    figure.tight_layout()
    _save(figure, path)


def interval_calibration(r, path):
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 5))
    n = r.mean.size
    band = 2 * np.sqrt(r.levels * (1 - r.levels) / n)
    left.fill_between(r.levels, r.levels - band, r.levels + band, color="gray", alpha=0.25,
                      label=f"+-2 standard errors ({n} target values)")
    left.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    left.plot(r.levels, r.coverage, "o-", color=COVERED, label="observed")
    # The levels most read, ringed, their values in the legend: numbers beside the points
    # printed over each other at 0.90 and 0.95, which lie 0.05 apart ("0.980.98").
    marked = [int(round(p / 0.05)) - 1 for p in (0.5, 0.9, 0.95)]
    left.plot(r.levels[marked], r.coverage[marked], "o", markersize=10, markerfacecolor="none",
              markeredgecolor="black", label="observed at " + ", ".join(
                  f"{r.levels[k]:.2f}: {r.coverage[k]:.2f}" for k in marked))
    left.set_xlim(0, 1)
    left.set_ylim(0, 1)
    left.set_xlabel("expected coverage of the central interval")
    left.set_ylabel("observed coverage")
    left.set_title(f"calibration error {r.metrics['calibration_error']:.3f} "
                   "(mean |observed - expected|)")
    left.grid(alpha=0.3)
    left.legend(loc="best", fontsize=8)  # away from the curve, above or below the diagonal
    # The median beside the mean: a few huge variances can make the mean no row's width.
    z = np.array([NormalDist().inv_cdf((1 + p) / 2) for p in r.levels])
    median = 2 * z * np.median(r.std[np.isfinite(r.target)])
    right.plot(r.levels, r.width, "o-", color="gray", label="mean (/metrics)")
    right.plot(r.levels, median, "s--", color=COVERED, label="median")
    right.set_xlabel("expected coverage of the central interval")
    right.set_ylabel("interval width (target units)")
    right.set_title("how wide the intervals are")
    right.legend(loc="upper left", fontsize=8)
    right.grid(alpha=0.3)
    figure.suptitle(r.title())
    figure.tight_layout()
    _save(figure, path)


def _residuals(axis, std, residual, name):
    """|residual| against the predicted std of one target, with the z * std lines that
    calibrated residuals stay under in the stated fractions."""
    right, top = view_limit(std)[0], view_limit(residual)[0]
    beyond = int(np.sum((std > right) | (residual > top)))
    axis.scatter(std, residual, s=8, color=COVERED, alpha=0.6,
                 label="test examples" + (f" ({beyond} beyond the axes)" if beyond else ""))
    grid = np.linspace(0, right * 1.05, 50)
    for p, z, style in [(0.5, 0.6744897501960817, ":"), (0.9, 1.6448536269514715, "--"),
                        (0.95, Z95, "-")]:
        inside = np.mean(residual <= z * std)
        axis.plot(grid, z * grid, "k" + style, linewidth=1,
                  label=f"|r| = {z:.2f} std: {inside:.2f} below (expected {p})")
    axis.set_xlim(0, right * 1.05)
    axis.set_ylim(0, top * 1.05)
    axis.set_xlabel(f"predicted std of {name}")
    axis.set_ylabel(f"|true - predicted mean| of {name}")
    axis.set_title(f"{name}: residuals against the predicted spread")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", fontsize=8)


def _binned_error(axis, std, residual, name):
    """Error-based calibration: the RMSE of the residuals against the RMS predicted std,
    per bin of equal counts; a calibrated model sits on the diagonal."""
    order = np.argsort(std)
    bins = np.array_split(order, max(1, min(10, len(std) // 10)))
    rms_std = [np.sqrt(np.mean(std[b] ** 2)) for b in bins]
    rmse = [np.sqrt(np.mean(residual[b] ** 2)) for b in bins]
    top = max(max(rms_std), max(rmse)) * 1.1
    log = spans_decades(rms_std + rmse)
    bottom = min(min(rms_std), min(rmse)) / 1.1 if log else 0
    axis.plot([bottom, top], [bottom, top], "k--", linewidth=1, label="calibrated")
    axis.plot(rms_std, rmse, "o-", color=COVERED, label=f"{len(bins)} bins of equal count")
    if log:
        axis.set_xscale("log")
        axis.set_yscale("log")
    axis.set_xlim(bottom, top)
    axis.set_ylim(bottom, top)
    axis.set_xlabel(f"RMS predicted std in the bin ({name})" + _scale_note(log))
    axis.set_ylabel("RMSE in the bin" + _scale_note(log))
    axis.set_title(f"{name}: error against predicted spread, binned")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", fontsize=8)


def residual_vs_std(r, path):
    """One row per target (at most 4): targets in different units do not share an axis."""
    rows = min(r.targets, 4)
    figure, axes = plt.subplots(rows, 2, figsize=(11, 5 * rows), squeeze=False)
    for t, (left, right) in enumerate(axes):
        std, residual = r.std[:, t], np.abs(r.target[:, t] - r.mean[:, t])
        _residuals(left, std, residual, r.target_names[t])
        _binned_error(right, std, residual, r.target_names[t])
    figure.suptitle(r.title())
    figure.tight_layout()
    _save(figure, path)


def plot_regression(args):
    r = RegressionSet(args.run, args.set)
    prefix = os.path.join(args.out_dir, f"{r.name}_")
    predicted_vs_true(r, prefix + "predicted_vs_true.png")
    interval_calibration(r, prefix + "interval_calibration.png")
    residual_vs_std(r, prefix + "residual_vs_std.png")


def add_parser(sub):
    p = sub.add_parser("regression", help="predicted vs true, interval calibration, residual vs std",
                       description="Input: a regression run or prediction file's "
                                   "/predictions/SET (mean, std, target) and /metrics/SET. "
                                   "Outputs, in OUT_DIR: RUN_predicted_vs_true.png ((100 + 600 "
                                   "T) x 600 for T targets, at most 4 panels: predicted mean "
                                   "against truth with 95% error bars), "
                                   "RUN_interval_calibration.png (1100x500: observed against "
                                   "expected coverage, and interval widths), "
                                   "RUN_residual_vs_std.png (1100 x 500 T, one row per target, at "
                                   "most 4: |residual| against the predicted std, and binned "
                                   "RMSE against binned std).")
    p.add_argument("run", metavar="RUN.h5", help="kbnn run file or prediction file")
    p.add_argument("--out-dir", default=".", help="folder for the PNGs (default: .)")
    p.add_argument("--set", default="test", help="evaluated data set (default: test)")
    p.set_defaults(func=plot_regression)
