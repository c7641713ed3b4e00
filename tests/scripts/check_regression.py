#!/usr/bin/python3
"""Checks a regression prediction file of kbnn predict against its definition.

usage: check_regression.py PREDICTION_FILE RUN_FILE

From /predictions/<set>/gaussian_samples (S, N, 2T: every pass's means, then variances,
in the targets' units) it recomputes, in float64, each row's predictive mean, aleatoric
variance (mean of the variances), epistemic variance (variance of the means), standard
deviation and mixture NLL -log (1/S) sum_s prod_t N(y_t; mu_s,t, sigma_s,t^2); from the
stored rows it recomputes /metrics (RMSE, NLL, coverage and width of the central
intervals, the calibration curve, the uncertainty means) and the OOD scores with their
AUROC and AUPR (/metrics/ood); an ensemble's (root attribute ensemble_members = K: its
samples are K members' S passes each) also its within-member and between-member
epistemic variances and their means. A set without targets (NaN: new data, an OOD set of noise) has
no /metrics of its own. The test set's predictions must equal RUN_FILE's bit for
bit (the same model, noise keys and rows), and its metrics within rounding (sums over
another number of ranks).
"""
import os
import sys
from statistics import NormalDist

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_predictions import auroc, average_precision  # noqa: E402  (the classes' check)

prediction_path, run_path = sys.argv[1], sys.argv[2]
failures = []


def close(what, got, want, rtol=2e-4, atol=1e-6):
    got, want = np.asarray(got, float), np.asarray(want, float)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        worst = np.max(np.abs(got - want)) if got.shape == want.shape else "shape"
        failures.append(f"{what}: differs from its definition (worst {worst})")


def check_set(f, name):
    p = f["predictions/" + name]
    samples = p["gaussian_samples"][:].astype(np.float64)
    t = samples.shape[2] // 2
    mu, var = samples[:, :, :t], samples[:, :, t:]
    y = p["target"][:].astype(np.float64)
    mean = mu.mean(axis=0)
    aleatoric = var.mean(axis=0)
    epistemic = ((mu - mean) ** 2).mean(axis=0)
    close(f"{name}/mean", p["mean"][:], mean)
    close(f"{name}/aleatoric_variance", p["aleatoric_variance"][:], aleatoric)
    close(f"{name}/epistemic_variance", p["epistemic_variance"][:], epistemic, atol=1e-4)
    close(f"{name}/std", p["std"][:], np.sqrt(aleatoric + epistemic))
    log_n = -0.5 * (np.log(2 * np.pi * var) + (y - mu) ** 2 / var)  # (S, N, T)
    per_pass = log_n.sum(axis=2)
    top = per_pass.max(axis=0)
    nll = -(top + np.log(np.exp(per_pass - top).mean(axis=0)))
    close(f"{name}/nll", p["nll"][:], nll, rtol=1e-4, atol=1e-4)
    members = int(f.attrs.get("ensemble_members", 1))
    if members > 1:  # (K, S, N, T): W the mean of the members' variances, B their means'
        by_member = mu.reshape(members, -1, *mu.shape[1:])
        close(f"{name}/epistemic_within", p["epistemic_within"][:],
              by_member.var(axis=1).mean(axis=0), atol=1e-4)
        close(f"{name}/epistemic_between", p["epistemic_between"][:],
              by_member.mean(axis=1).var(axis=0), atol=1e-4)
    return p


def check_metrics(f, name):
    p, m = f["predictions/" + name], f["metrics/" + name]
    mean, std, y = (p[k][:].astype(np.float64) for k in ("mean", "std", "target"))
    error = np.abs(y - mean)
    close(f"metrics/{name}/rmse", m.attrs["rmse"], np.sqrt(np.mean(error ** 2)), rtol=1e-6)
    close(f"metrics/{name}/nll", m.attrs["nll"], p["nll"][:].mean(), rtol=1e-6)
    levels = m["interval_level"][:]
    close(f"metrics/{name}/interval_level", levels, 0.05 * np.arange(1, 20), rtol=1e-12)
    z = np.array([NormalDist().inv_cdf((1 + q) / 2) for q in levels])
    coverage = np.array([(error <= zq * std).mean() for zq in z])
    width = np.array([(2 * zq * std).mean() for zq in z])
    close(f"metrics/{name}/interval_coverage", m["interval_coverage"][:], coverage, rtol=0, atol=1e-12)
    close(f"metrics/{name}/interval_width", m["interval_width"][:], width, rtol=1e-6)
    for percent, k in [(50, 9), (90, 17), (95, 18)]:
        close(f"metrics/{name}/coverage_{percent}", m.attrs[f"coverage_{percent}"], coverage[k], rtol=0)
        close(f"metrics/{name}/width_{percent}", m.attrs[f"width_{percent}"], width[k], rtol=1e-6)
    close(f"metrics/{name}/calibration_error", m.attrs["calibration_error"],
          np.mean(np.abs(coverage - levels)), rtol=1e-9)
    # The uncertainty means: over every (row, target) value, with a target or not.
    aleatoric, epistemic = (p[k][:].astype(np.float64) for k in ("aleatoric_variance", "epistemic_variance"))
    for key, values in (("mean_std", std), ("mean_aleatoric_variance", aleatoric),
                        ("mean_epistemic_variance", epistemic)):
        close(f"metrics/{name}/{key}", m.attrs[key], values.mean(), rtol=1e-9, atol=0)
    close(f"metrics/{name}/samples", m.attrs["samples"], p.attrs["samples"], rtol=0, atol=0)
    for part in ("within", "between"):
        if f"epistemic_{part}" in p:
            close(f"metrics/{name}/mean_epistemic_{part}", m.attrs[f"mean_epistemic_{part}"],
                  p[f"epistemic_{part}"][:].astype(np.float64).mean(), rtol=1e-6, atol=0)


def check_ood_scores(f, name):
    p = f["predictions/" + name]
    scale = f["standardization/target_std"][:]
    std, epistemic = p["std"][:].astype(np.float64), p["epistemic_variance"][:].astype(np.float64)
    close(f"{name}/ood_scores/predictive_std", p["ood_scores/predictive_std"][:],
          np.sqrt(np.mean(std ** 2 / scale ** 2, axis=1)))
    close(f"{name}/ood_scores/epistemic_std", p["ood_scores/epistemic_std"][:],
          np.sqrt(np.mean(epistemic / scale ** 2, axis=1)), atol=1e-4)


def check_ood_metrics(f, out_set):
    """AUROC and AUPR of both scores, the OOD set positive (AUPR-in: the in-distribution set,
    ranked by -score), by check_predictions.py's Mann-Whitney and average precision."""
    m = f["metrics/ood/" + out_set]
    in_set = m.attrs["in_set"]
    in_set = in_set.decode() if isinstance(in_set, bytes) else str(in_set)
    scores_in, scores_out = f[f"predictions/{in_set}/ood_scores"], f[f"predictions/{out_set}/ood_scores"]
    close(f"metrics/ood/{out_set} counts", [m.attrs["in_count"], m.attrs["out_count"]],
          [len(scores_in["predictive_std"]), len(scores_out["predictive_std"])], rtol=0, atol=0)
    for score in ("predictive_std", "epistemic_std"):
        pos, neg = scores_out[score][:], scores_in[score][:]
        for key, value in (("auroc", auroc(pos, neg)), ("aupr_out", average_precision(pos, neg)),
                           ("aupr_in", average_precision(-neg, -pos))):
            close(f"metrics/ood/{out_set} {key}_{score}", m.attrs[f"{key}_{score}"], value,
                  rtol=1e-9, atol=0)


with h5py.File(prediction_path, "r") as f, h5py.File(run_path, "r") as run:
    sets = [s for s in f["predictions"]]
    for name in sets:
        check_set(f, name)
        if name in f["metrics"]:
            check_metrics(f, name)
        elif not np.isnan(f[f"predictions/{name}/target"][:]).all():
            failures.append(f"{name}: targets but no /metrics/{name}")
        if "ood_scores" in f["predictions/" + name]:
            check_ood_scores(f, name)
    for out_set in f.get("metrics/ood", {}):
        check_ood_metrics(f, out_set)
    split = [c for c in ("epistemic_within", "epistemic_between") if c in run["predictions/test"]]
    for column in ["mean", "std", "aleatoric_variance", "epistemic_variance", "target", "nll"] + split:
        a, b = f["predictions/test/" + column][:], run["predictions/test/" + column][:]
        if not np.array_equal(a, b):
            failures.append(f"predictions/test/{column}: not bit-identical to {run_path}'s")
    # The metrics are sums over ranks: another rank count adds in another order.
    for key in ["rmse", "nll", "coverage_95", "width_95"]:
        close(f"metrics/test {key} against {run_path}'s", f["metrics/test"].attrs[key],
              run["metrics/test"].attrs[key], rtol=1e-12, atol=0)
if failures:
    print(f"FAILED ({prediction_path}):\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"PASSED: {prediction_path}: sets {', '.join(sets)} recomputed from their per-pass "
      f"Gaussians; the test set bit-identical to the run file's")
