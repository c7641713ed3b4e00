#!/usr/bin/env bash
# One Bayesian regression model against an ensemble of it, on the diabetes data
# (input/diabetes_mlp.cfg) over random 90/10 splits: split k trains a MEMBERS-member
# ensemble with train.seed = k + 1 (parallel.ensemble; README "Ensembles"), whose member 0
# is exactly the single model of that seed (the same run file, bit for bit), so one
# training gives both rows. Per split: test RMSE, NLL of the predictive mixture, coverage
# of the central 95 % interval, calibration error (mean |coverage - level| over the
# levels 0.05 .. 0.95) and, against the test rows under ood.shift = noise, the AUROC of
# the epistemic std; then a Markdown table of mean +- standard deviation over the splits
# and the paired differences ensemble - single, and the mixture's mean variance split
# (aleatoric + within-member + between-member epistemic).
#   usage: [RANKS=n] [KBNN_ARGS="--data.train_limit=100 ..."] \
#            bench/regression_ensemble.sh [KBNN [WORKDIR [SPLITS [MEMBERS]]]]
#   defaults: build/src/kbnn, /tmp/kbnn-regression-ensemble, 5, 5; RANKS=2 (two rank
#   groups); KBNN_ARGS: further deck overrides for every run (none)
# Needs python3-sklearn (the data) and python3-h5py (Debian). One thread per rank.
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
kbnn=$(readlink -f "${1:-$root/build/src/kbnn}")
work=${2:-/tmp/kbnn-regression-ensemble}
splits=${3:-5}
members=${4:-5}
python=/usr/bin/python3
ranks=${RANKS:-2}
source "$(dirname "$0")/mpi.sh" "$ranks"  # one thread a rank; the launcher, "${mpi[@]}"
read -r -a extra <<< "${KBNN_ARGS:-}"
mkdir -p "$work/runs"
"$python" "$root/scripts/diabetes_to_h5.py" "$work/data" --splits "$splits" > /dev/null

for ((k = 0; k < splits; ++k)); do
  "${mpi[@]}" "$kbnn" train "$root/input/diabetes_mlp.cfg" \
    --data.train_file="$work/data/split_$k/train.h5" --data.test_file="$work/data/split_$k/test.h5" \
    --train.seed=$((k + 1)) --parallel.ensemble="$members" --ood.shift=noise \
    --output.dir="$work/runs" --output.name="ensemble_$k" --output.overwrite=true "${extra[@]}" \
    > "$work/runs/ensemble_$k.log"
  echo "split $k done" >&2
done

"$python" - "$work/runs" "$splits" "$members" "$ranks" <<'PY'
import sys
import h5py, numpy as np
runs, splits, members, ranks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
keys = ["rmse", "nll", "coverage_95", "calibration_error", "auroc_epistemic_std"]
def scores(group):
    test, ood = group["metrics/test"].attrs, group["metrics/ood/noise"].attrs
    return [float(test[k]) for k in keys[:4]] + [float(ood[keys[4]])]
single, ensemble, parts = [], [], []
for k in range(splits):
    with h5py.File(f"{runs}/ensemble_{k}.h5", "r") as f:
        single.append(scores(f["members/0"]))
        ensemble.append(scores(f))
        m = f["metrics/test"].attrs  # the mixture's variance, split (target units squared)
        parts.append([m["mean_aleatoric_variance"], m["mean_epistemic_within"],
                      m["mean_epistemic_between"]])
single, ensemble = np.array(single), np.array(ensemble)
print(f"| diabetes, {splits} random 90/10 splits (seed k + 1) | test RMSE | test NLL (nats) | "
      "95 % coverage | calibration error | AUROC epistemic std, noise |")
print("|---|---|---|---|---|---|")
formats = ["{:.2f} ± {:.2f}", "{:.3f} ± {:.3f}", "{:.3f} ± {:.3f}", "{:.3f} ± {:.3f}", "{:.3f} ± {:.3f}"]
for name, v in ((f"kbnn, 1 Bayesian MLP (member 0), {ranks} ranks", single),
                (f"kbnn, ensemble of {members} of it, {ranks} ranks", ensemble),
                ("ensemble - single, paired", ensemble - single)):
    cells = [f.format(m, s) for f, m, s in zip(formats, v.mean(axis=0), v.std(axis=0, ddof=1))]
    print(f"| {name} | " + " | ".join(cells) + " |")
a, w, b = np.mean(parts, axis=0)
print(f"\nthe ensemble's mean test variance: aleatoric {a:.0f} + within-member {w:.0f} + "
      f"between-member {b:.0f} (target units squared; B is {100 * b / (a + w + b):.1f} % of it)")
print("\nper split (single -> ensemble):")
for k in range(splits):
    print(f"  split {k}: " + ", ".join(f"{key} {a:.4g} -> {b:.4g}"
                                       for key, a, b in zip(keys, single[k], ensemble[k])))
PY
