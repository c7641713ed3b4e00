#!/usr/bin/python3
"""Many-seed statistics for bench/ood_seeds.sh and bench/ensemble_ood.sh.

Each training run leaves one JSON object (its seed, test accuracy, NLL, ECE and the OOD
AUROC of each score) in DIR/<group>_seed<seed>.json. This script

  extract RUN_FILE OUT.json [key=value ...]
      reads a kbnn run file's /metrics/test and /metrics/ood/<set> into OUT.json (with
      the extra key=value pairs, numbers where they parse);
  table DIR GROUP [GROUP ...] [--against GROUP]
      prints, per group, mean +- sd over its seeds of every metric as a markdown table,
      then Welch's t-test of every group against the --against group (default: the
      first) per metric: the difference of the means, t, the Welch-Satterthwaite degrees
      of freedom and the two-sided p-value;
  welch MEAN1 SD1 N1 MEAN2 SD2 N2
      one Welch test from summary numbers (what tests/scripts/seed_stats_test.sh checks
      against scipy).

The t distribution's CDF is computed here (regularized incomplete beta function by its
continued fraction, Numerical Recipes' betacf with Lentz's method), so nothing beyond
numpy is needed.
"""
import glob
import json
import math
import os
import re
import sys

import numpy as np

METRICS = [
    ("accuracy", "accuracy"),
    ("nll", "NLL"),
    ("ece", "ECE"),
    ("auroc_entropy", "AUROC entropy"),
    ("auroc_mutual_information", "AUROC MI"),
    ("auroc_max_probability", "AUROC 1-maxprob"),
]


# --------------------------------------------------------------------------- Welch's test
def _beta_continued_fraction(a, b, x):
    """The continued fraction of I_x(a, b) (Numerical Recipes, betacf; modified Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            return h
    raise ArithmeticError("incomplete beta: the continued fraction did not converge")


def regularized_beta(a, b, x):
    """I_x(a, b), the regularized incomplete beta function, for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t, df):
    """P(|T| >= |t|) for Student's t with df degrees of freedom: I_{df/(df+t^2)}(df/2, 1/2)."""
    return regularized_beta(df / 2.0, 0.5, df / (df + t * t))


def welch(mean1, sd1, n1, mean2, sd2, n2):
    """(difference of means, t, Welch-Satterthwaite df, two-sided p)."""
    v1, v2 = sd1 * sd1 / n1, sd2 * sd2 / n2
    diff = mean1 - mean2
    if v1 + v2 == 0:
        return diff, math.copysign(math.inf, diff) if diff else 0.0, math.nan, 0.0 if diff else 1.0
    t = diff / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    return diff, t, df, t_two_sided_p(t, df)


# --------------------------------------------------------------------------- runs
def run_metrics(group):
    """/metrics/test and the OOD scores' AUROC / AUPR of a run file (or of an ensemble's
    /members/<k>) as a dict."""
    test = group["metrics/test"].attrs
    row = {k: float(test[k]) for k in ("accuracy", "nll", "brier", "ece")}
    for name in ("mean_entropy", "mean_aleatoric", "mean_epistemic",
                 "mean_epistemic_within", "mean_epistemic_between"):
        if name in test:
            row[name] = float(test[name])
    if "metrics/ood" in group:
        for ood_set in group["metrics/ood"].values():
            for key, value in ood_set.attrs.items():
                if key.startswith(("auroc_", "aupr_")):
                    row[key] = float(value)
    return row


def auroc(positives, negatives):
    """P(positive > negative) + P(tie) / 2: the Mann-Whitney U over n_pos n_neg."""
    scores = np.concatenate([positives, negatives]).astype(np.float64)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    mid_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based mid-rank of each tie group
    ranks = mid_rank[inverse]
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def split_aurocs(f):
    """An ensemble's within- and between-member epistemic uncertainty as OOD scores:
    their AUROC, test set against each OOD set (auroc_within, auroc_between)."""
    row = {}
    predictions = f.get("predictions", {})
    for ood_set in f.get("metrics/ood", {}):
        if ood_set in predictions and "epistemic_between" in predictions[ood_set] and \
                "test" in predictions:
            for part in ("within", "between"):
                key = "epistemic_" + part
                row["auroc_" + part] = auroc(predictions[ood_set][key][:],
                                             predictions["test"][key][:])
    return row


def extract(run_file, out, extras):
    """A kbnn run file's test metrics and OOD AUROCs as one JSON object; an ensemble's
    also with the mean over its members of each member's own (member_mean_<metric>)."""
    import h5py
    with h5py.File(run_file, "r") as f:
        row = run_metrics(f)
        row["ensemble_members"] = int(f.attrs.get("ensemble_members", 1))
        row["temperature"] = float(f["calibration"].attrs["temperature"]) if "calibration" in f else 1.0
        row.update(split_aurocs(f))
        if "members" in f:
            members = [run_metrics(m) for m in f["members"].values()]
            for key in members[0]:
                row["member_mean_" + key] = float(np.mean([m[key] for m in members]))
    for pair in extras:
        key, value = pair.split("=", 1)
        try:
            row[key] = float(value)
        except ValueError:
            row[key] = value
    with open(out, "w") as f:
        json.dump(row, f)


def load_group(directory, group):
    """{seed: row} of DIR/<group>_seed<seed>.json."""
    rows = {}
    for path in glob.glob(os.path.join(directory, f"{group}_seed*.json")):
        match = re.fullmatch(re.escape(group) + r"_seed(\d+)\.json", os.path.basename(path))
        if match:
            with open(path) as f:
                rows[int(match.group(1))] = json.load(f)
    return dict(sorted(rows.items()))


def values(rows, key):
    return np.array([r[key] for r in rows.values() if key in r and r[key] == r[key]], float)


def mean_sd(x):
    return (x.mean(), x.std(ddof=1) if len(x) > 1 else math.nan) if len(x) else (math.nan,) * 2


def table(directory, groups, against):
    data = {g: load_group(directory, g) for g in groups}
    extra = [("temperature", "T"), ("train_images_per_second", "train img/s per member")]
    shown = METRICS + [m for m in extra if any(len(values(r, m[0])) for r in data.values())]
    print("| run | seeds | " + " | ".join(label for _, label in shown) + " |")
    print("|---|---|" + "---|" * len(shown))
    for g, rows in data.items():
        cells = []
        for key, _ in shown:
            m, s = mean_sd(values(rows, key))
            digits = 0 if key == "train_images_per_second" else 4
            if key == "temperature" and s == 0 and m == 1:
                cells.append("1")
                continue
            cells.append(f"{m:.{digits}f} ± {s:.{digits}f}" if m == m else "")
        print(f"| {g} | {' '.join(map(str, rows))} | " + " | ".join(cells) + " |")
    print()
    ref = data[against]
    for g, rows in data.items():
        if g == against:
            continue
        print(f"Welch's t-test, {g} minus {against}:")
        for key, label in METRICS:
            x, y = values(rows, key), values(ref, key)
            if len(x) < 2 or len(y) < 2:
                continue
            (m1, s1), (m2, s2) = mean_sd(x), mean_sd(y)
            diff, t, df, p = welch(m1, s1, len(x), m2, s2, len(y))
            mark = "  (p < 0.05)" if p < 0.05 else ""
            print(f"  {label:16s} {diff:+.4f}  t = {t:+.2f}  df = {df:.1f}  p = {p:.3f}{mark}")
        print()


def main(argv):
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return
    if len(argv) >= 3 and argv[0] == "extract":
        extract(argv[1], argv[2], argv[3:])
    elif len(argv) >= 3 and argv[0] == "table":
        args = argv[1:]
        against = None
        if "--against" in args:
            i = args.index("--against")
            against = args[i + 1]
            del args[i:i + 2]
        table(args[0], args[1:], against or args[1])
    elif len(argv) == 7 and argv[0] == "welch":
        diff, t, df, p = welch(*(float(v) for v in argv[1:]))
        print(f"diff {diff:.10g} t {t:.10g} df {df:.10g} p {p:.10g}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
