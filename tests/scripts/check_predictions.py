#!/usr/bin/python3
"""Recomputes a prediction file's uncertainty numbers from its per-sample probabilities,
in float64 and independently of kbnn, and compares them with what kbnn wrote.

usage: check_predictions.py FILE [--ood-above-chance SET]

FILE comes from `kbnn predict ... --sample-probabilities` (or a training run's file with
them). For every /predictions/<set> that holds probs_samples (S, N, C), the passes
p_s(T) at the file's temperature T (/calibration, else 1), from those alone, with
q_s = softmax(T log p_s(T)) the untempered passes (the posterior's, T = 1) and
qbar = (1/S) sum_s q_s:
  probs_mean          (1/S) sum_s p_s(T)
  predicted           argmax of probs_mean (where two classes are within 1e-6, either)
  predictive_entropy  H[qbar] = -sum_k qbar_k log qbar_k
  aleatoric           (1/S) sum_s H[q_s]
  epistemic           predictive_entropy - aleatoric (the mutual information)
  ood_scores          entropy, mutual_information, 1 - max_k probs_mean_k
and, for an ensemble of K members (/metrics/<set> attribute ensemble_members; the S
samples are K blocks of S/K, member by member), the split of the mutual information
  epistemic_within    (1/K) sum_k H[mean of member k's q_s] - aleatoric
  epistemic_between   predictive_entropy - (1/K) sum_k H[mean of member k's q_s]
(and their means, mean_epistemic_within / _between); and from those, /metrics/<set>
(accuracy, nll, brier, ece over 15 equal-width bins and its reliability diagram bin_*,
mean_entropy, mean_aleatoric, mean_epistemic, samples) and /metrics/ood/<set> (AUROC with
ties counting 1/2, average precision with the OOD set positive and, ranked by -score, with
the in-distribution set positive). --ood-above-chance SET also requires SET's entropy AUROC
against the in-distribution set to exceed 0.5 by five of its standard errors under
chance, sqrt((n_in + n_out + 1) / (12 n_in n_out)) (Hanley & McNeil 1982): a score that
ranked the examples at random exceeds that with probability below 3e-7, and a reversed
score (AUROC 1 - A) fails it. Exit status 0 when everything agrees, 1 otherwise.
"""
import sys

import h5py
import numpy as np

# kbnn stores float32 probabilities but works its entropies in double from the logits:
# per-example numbers agree to float rounding (measured <= 1e-7), means over examples
# closer still (measured <= 3e-9). Untempering float32 passes (q_s from p_s(T)) stays
# within these at the temperatures fitted here (down to T = 0.32 in calibration_test.sh).
PROBS_ATOL = 5e-7
PER_EXAMPLE_ATOL = 1e-6
METRIC_ATOL = 5e-8
TIE = 1e-6          # probabilities this close: either class may be the argmax
SCORE_RTOL = 1e-9   # AUROC and AUPR recomputed from the file's own scores
CHANCE_SIGMAS = 5

failures = []


def check(what, got, want, atol):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    worst = float(np.max(np.abs(got - want))) if got.size else 0.0
    if got.shape != want.shape or not worst <= atol:
        failures.append(f"{what}: off by {worst:.3g} (allowed {atol:g})")
    return worst


def entropy(p):
    """-sum_k p_k log p_k over the last axis, with 0 log 0 = 0."""
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)


def auroc(pos, neg):
    """P(a positive scores above a negative), ties 1/2: Mann-Whitney from mid-ranks."""
    scores = np.concatenate([pos, neg]).astype(np.float64)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    u = ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return u / (len(pos) * len(neg))


def average_precision(pos, neg):
    """Sum over distinct thresholds (descending) of recall step x precision, ties together."""
    scores = np.concatenate([pos, neg]).astype(np.float64)
    positive = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    total, hits, seen, ap = len(pos), 0, 0, 0.0
    for t in np.unique(scores)[::-1]:
        at = scores == t
        new_hits = positive[at].sum()
        hits, seen = hits + new_hits, seen + at.sum()
        ap += new_hits / total * hits / seen
    return ap


def untempered(samples, temperature):
    """q_s = softmax(T log p_s(T)) = softmax(z_s): the passes as the posterior gives them."""
    if temperature == 1:
        return samples
    with np.errstate(divide="ignore"):
        z = temperature * np.log(samples)
    q = np.exp(z - z.max(axis=-1, keepdims=True))
    return q / q.sum(axis=-1, keepdims=True)


def recompute(g, members, temperature):
    """Everything about one set, from its probs_samples (K members' blocks of samples)."""
    samples = g["probs_samples"][...].astype(np.float64)  # (S, N, C), tempered
    mean = samples.mean(axis=0)
    q = untempered(samples, temperature)
    h = entropy(q.mean(axis=0))
    aleatoric = entropy(q).mean(axis=0)
    per_member = q.reshape(members, -1, *q.shape[1:]).mean(axis=1)  # (K, N, C)
    members_entropy = entropy(per_member).mean(axis=0)
    return {"probs_mean": mean, "predictive_entropy": h, "aleatoric": aleatoric,
            "epistemic": h - aleatoric,
            "epistemic_within": members_entropy - aleatoric,
            "epistemic_between": h - members_entropy,
            "scores": {"entropy": h, "mutual_information": h - aleatoric,
                       "max_probability": 1 - mean.max(axis=1)}}


def check_set(f, name):
    g = f["predictions"][name]
    members = int(f.attrs.get("ensemble_members", 1))
    temperature = float(f["calibration"].attrs["temperature"]) if "calibration" in f else 1.0
    r = recompute(g, members, temperature)
    where = f"/predictions/{name}"
    check(f"{where}/probs_mean", g["probs_mean"][...], r["probs_mean"], PROBS_ATOL)
    mean = r["probs_mean"]
    predicted = g["predicted"][...]
    chosen = mean[np.arange(len(mean)), predicted]
    if not (chosen >= mean.max(axis=1) - TIE).all():
        failures.append(f"{where}/predicted: {np.count_nonzero(chosen < mean.max(axis=1) - TIE)} "
                        "rows name a class that is not the argmax of the mean")
    for key in ("predictive_entropy", "aleatoric", "epistemic"):
        check(f"{where}/{key}", g[key][...], r[key], PER_EXAMPLE_ATOL)
    if members > 1:
        for key in ("epistemic_within", "epistemic_between"):
            if key not in g:
                failures.append(f"{where}/{key}: missing in an ensemble of {members}")
            else:
                check(f"{where}/{key}", g[key][...], r[key], PER_EXAMPLE_ATOL)
    if "ood_scores" in g:
        for score, values in r["scores"].items():
            check(f"{where}/ood_scores/{score}", g["ood_scores"][score][...], values, PER_EXAMPLE_ATOL)
    if name in f.get("metrics", {}) and "accuracy" in f["metrics"][name].attrs:
        check_metrics(f["metrics"][name], g, r, predicted, f"/metrics/{name}")
    return r


def check_metrics(m, g, r, predicted, where):
    mean, label = r["probs_mean"], g["label"][...]
    n = len(label)
    hit = predicted == label
    confidence = mean[np.arange(n), predicted]
    bins = np.clip(np.ceil(confidence * 15).astype(int) - 1, 0, 14)
    ece = sum(abs(hit[bins == b].sum() - confidence[bins == b].sum()) for b in range(15)) / n
    onehot = np.eye(mean.shape[1])[label]
    want = {"accuracy": hit.mean(),
            "nll": -np.mean(np.log(np.maximum(mean[np.arange(n), label], 1e-300))),
            "brier": np.mean(np.sum((mean - onehot) ** 2, axis=1)),
            "ece": ece, "mean_entropy": r["predictive_entropy"].mean(),
            "mean_aleatoric": r["aleatoric"].mean(), "mean_epistemic": r["epistemic"].mean()}
    if "ensemble_members" in m.attrs:
        want["mean_epistemic_within"] = r["epistemic_within"].mean()
        want["mean_epistemic_between"] = r["epistemic_between"].mean()
    for key, value in want.items():
        check(f"{where} {key}", m.attrs[key], value, METRIC_ATOL)
    check(f"{where} samples", m.attrs["samples"], g.attrs["samples"], 0)
    # The reliability diagram: bin b is (b/15, (b+1)/15], its mean confidence and accuracy.
    count = np.bincount(bins, minlength=15)
    check(f"{where}/bin_edges", m["bin_edges"][...], np.arange(16) / 15, 1e-15)
    check(f"{where}/bin_count", m["bin_count"][...], count, 0)
    for key, values in (("bin_confidence", confidence), ("bin_accuracy", hit)):
        with np.errstate(invalid="ignore"):
            want_bins = np.bincount(bins, values, minlength=15) / count  # NaN where empty
        got = m[key][...]
        if not np.array_equal(np.isnan(got), np.isnan(want_bins)):
            failures.append(f"{where}/{key}: NaN in other bins than the empty ones")
        check(f"{where}/{key}", np.nan_to_num(got), np.nan_to_num(want_bins), METRIC_ATOL)


def check_ood(f, in_set, out_set, above_chance):
    m = f["metrics"]["ood"][out_set]
    scores_in, scores_out = f["predictions"][in_set]["ood_scores"], f["predictions"][out_set]["ood_scores"]
    for score in ("entropy", "mutual_information", "max_probability"):
        pos, neg = scores_out[score][...], scores_in[score][...]
        for key, value in (("auroc", auroc(pos, neg)), ("aupr_out", average_precision(pos, neg)),
                           ("aupr_in", average_precision(-neg, -pos))):
            check(f"/metrics/ood/{out_set} {key}_{score}", m.attrs[f"{key}_{score}"], value,
                  SCORE_RTOL * max(1.0, abs(value)))
    if above_chance:
        n_in, n_out = len(scores_in["entropy"]), len(scores_out["entropy"])
        floor = 0.5 + CHANCE_SIGMAS * np.sqrt((n_in + n_out + 1) / (12 * n_in * n_out))
        value = m.attrs["auroc_entropy"]
        print(f"{out_set}: entropy AUROC {value:.4f} against {in_set}, chance + "
              f"{CHANCE_SIGMAS} standard errors = {floor:.4f}")
        if not value > floor:
            failures.append(f"{out_set}: entropy AUROC {value:.4f} is not above chance "
                            f"({floor:.4f}): a reversed or meaningless score")


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--ood-above-chance"):
        print(__doc__)
        sys.exit(2)
    path, above_chance = argv[1], argv[3] if len(argv) == 4 else None
    with h5py.File(path, "r") as f:
        sets = [s for s in f["predictions"] if "probs_samples" in f["predictions"][s]]
        if not sets:
            failures.append(f"{path}: no /predictions/<set>/probs_samples")
        for s in sets:
            check_set(f, s)
        for out_set in f.get("metrics/ood", {}):
            in_set = f["metrics"]["ood"][out_set].attrs["in_set"]
            in_set = in_set.decode() if isinstance(in_set, bytes) else str(in_set)
            check_ood(f, in_set, out_set, above_chance == out_set)
        if above_chance and above_chance not in f.get("metrics/ood", {}):
            failures.append(f"{path}: no /metrics/ood/{above_chance}")
    if failures:
        print("FAILED: " + "\n  ".join(failures))
        sys.exit(1)
    print(f"PASSED: {path}: {', '.join(sets)} recomputed from probs_samples agree with kbnn")


if __name__ == "__main__":
    main(sys.argv)
