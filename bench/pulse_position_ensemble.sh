#!/usr/bin/env bash
# One Bayesian 1-D CNN against an ensemble of it, locating the pulse with few training
# signals (input/pulses_position.cfg, the heteroscedastic deck; scripts/pulses_to_h5.py):
# for seeds k = 1 .. SEEDS, data drawn with seed k (TRAIN training and 5000 test
# signals) and a MEMBERS-member ensemble trained with train.seed = k + 1, whose member 0
# is exactly the single model of that seed (README "Ensembles"), so one training gives
# both rows. Per seed: test RMSE and median absolute error (points), NLL of the
# predictive mixture, 95 % coverage, and against the test set under ood.shift = noise
# (no pulse) the AUROC of the epistemic std and of the predictive std; then a Markdown
# table of mean +- standard deviation over the seeds and the paired differences
# ensemble - single, and the mixture's mean variance split (aleatoric + within-member +
# between-member epistemic) with B's share.
#   usage: [TRAIN=n] [RANKS=n] [KBNN_ARGS="--train.epochs=200 ..."] \
#            bench/pulse_position_ensemble.sh [KBNN [WORKDIR [SEEDS [MEMBERS]]]]
#   defaults: TRAIN=500, RANKS=1 (one group trains the members in turn), KBNN_ARGS none;
#   build/src/kbnn, /tmp/kbnn-pulse-ensemble, 3, 3
# Needs python3-numpy and python3-h5py (Debian). One thread per rank.
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
kbnn=$(readlink -f "${1:-$root/build/src/kbnn}")
work=${2:-/tmp/kbnn-pulse-ensemble}
seeds=${3:-3}
members=${4:-3}
python=/usr/bin/python3
ranks=${RANKS:-1}
source "$(dirname "$0")/mpi.sh" "$ranks"  # one thread a rank; the launcher, "${mpi[@]}"
read -r -a extra <<< "${KBNN_ARGS:-}"
mkdir -p "$work/runs"

for ((k = 1; k <= seeds; ++k)); do
  "$python" "$root/scripts/pulses_to_h5.py" "$work/data_$k" --seed "$k" --train "${TRAIN:-500}" > /dev/null
  "${mpi[@]}" "$kbnn" train "$root/input/pulses_position.cfg" \
    --data.train_file="$work/data_$k/train.h5" --data.test_file="$work/data_$k/test.h5" \
    --train.seed=$((k + 1)) --parallel.ensemble="$members" --ood.shift=noise \
    --output.dir="$work/runs" --output.name="ensemble_$k" --output.overwrite=true "${extra[@]}" \
    > "$work/runs/ensemble_$k.log"
  echo "seed $k done" >&2
done

"$python" - "$work/runs" "$seeds" "$members" "${TRAIN:-500}" <<'PY'
import sys
import h5py, numpy as np
runs, seeds, members, train = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def scores(group):
    test, ood, p = group["metrics/test"].attrs, group["metrics/ood/noise"].attrs, group["predictions/test"]
    error = np.median(np.abs(p["target"][:] - p["mean"][:]))
    return [float(test["rmse"]), error, float(test["nll"]), float(test["coverage_95"]),
            float(ood["auroc_epistemic_std"]), float(ood["auroc_predictive_std"])]
single, ensemble, parts = [], [], []
for k in range(1, seeds + 1):
    with h5py.File(f"{runs}/ensemble_{k}.h5", "r") as f:
        single.append(scores(f["members/0"]))
        ensemble.append(scores(f))
        m = f["metrics/test"].attrs  # the mixture's variance, split (points squared)
        parts.append([m["mean_aleatoric_variance"], m["mean_epistemic_within"], m["mean_epistemic_between"]])
single, ensemble, parts = np.array(single), np.array(ensemble), np.array(parts)
print(f"| pulse position, {train} training signals, {seeds} seeds | test RMSE (points) | median abs. error "
      "| test NLL (nats) | 95 % coverage | AUROC epistemic std, noise | AUROC predictive std, noise |")
print("|---|---|---|---|---|---|---|")
digits = (2, 2, 3, 3, 3, 3)
for name, v, sign in (("one model of the deck (member 0)", single, ""), (f"ensemble of {members} of it", ensemble, ""),
                      ("ensemble - single, paired", ensemble - single, "+")):
    cells = [f"{m:{sign}.{d}f} ± {s:.{d}f}" for m, s, d in zip(v.mean(axis=0), v.std(axis=0, ddof=1), digits)]
    print(f"| {name} | " + " | ".join(cells) + " |")
share = parts[:, 2] / parts.sum(axis=1)
a, w, b = parts.mean(axis=0)
print(f"\nthe ensemble's mean test variance: aleatoric {a:.1f} + within-member {w:.1f} + between-member "
      f"{b:.1f} (points squared); B's share {100 * share.mean():.1f} ± {100 * share.std(ddof=1):.1f} %")
print("\nper seed (single -> ensemble): rmse, median abs. error, nll, coverage_95, AUROC epistemic, predictive")
for k in range(seeds):
    print(f"  seed {k + 1}: " + ", ".join(f"{a:.4g} -> {b:.4g}" for a, b in zip(single[k], ensemble[k])))
PY
