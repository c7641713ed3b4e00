#!/usr/bin/env bash
# Locating the pulse (a regression on scripts/pulses_to_h5.py's /positions): the 1-D CNN
# of input/pulses_position.cfg against a dense MLP (flatten, dense 64, relu, dense), each
# with both Gaussian likelihoods (heteroscedastic: the deck's, a mean and a log-variance
# per signal; homoscedastic: one learned noise variance), all with the deck's settings.
# For seeds k = 1 .. SEEDS: data drawn with seed k (5000 training and 5000 test signals),
# training seed k + 1; the test set under ood.shift = noise (no pulse: no targets) scored
# as OOD. Prints a Markdown table of the test RMSE, median absolute error, NLL and 95 %
# coverage and width (in points), and the predictive std's AUROC of noise against test,
# mean ± standard deviation over the seeds (README, "Signals: 1-D convolutions").
#   usage: bench/pulse_position_comparison.sh [KBNN [WORKDIR [SEEDS]]]
#   defaults: build/src/kbnn, /tmp/kbnn-pulse-position, 3
# Needs python3-numpy and python3-h5py (Debian). One process, one thread.
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
kbnn=$(readlink -f "${1:-$root/build/src/kbnn}")
work=${2:-/tmp/kbnn-pulse-position}
seeds=${3:-3}
python=/usr/bin/python3
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
deck=$root/input/pulses_position.cfg
conv=(--model.layer="conv1d out=8 kernel=9 padding=4" --model.layer=relu
      --model.layer="maxpool1d size=4" --model.layer="conv1d out=16 kernel=5 padding=2"
      --model.layer=relu --model.layer="maxpool1d size=4" --model.layer=flatten
      --model.layer="dense out=32" --model.layer=relu)
dense=(--model.layer=flatten --model.layer="dense out=64" --model.layer=relu)
het=(--model.likelihood=gaussian_heteroscedastic --model.layer="dense out=2")
hom=(--model.likelihood=gaussian --model.layer="dense out=1")
mkdir -p "$work/runs"

for ((k = 1; k <= seeds; ++k)); do
  "$python" "$root/scripts/pulses_to_h5.py" "$work/data_$k" --seed "$k" > /dev/null
  common=(--data.train_file="$work/data_$k/train.h5" --data.test_file="$work/data_$k/test.h5"
          --train.seed=$((k + 1)) --ood.shift=noise --output.dir="$work/runs" --output.overwrite=true)
  train() { "$kbnn" train "$deck" "${common[@]}" --output.name="$1_$k" "${@:2}" > "$work/runs/$1_$k.log"; }
  train conv1d_het "${conv[@]}" "${het[@]}"
  train conv1d_hom "${conv[@]}" "${hom[@]}"
  train dense_het "${dense[@]}" "${het[@]}"
  train dense_hom "${dense[@]}" "${hom[@]}"
  echo "seed $k done" >&2
done

"$python" - "$work/runs" "$seeds" <<'PY'
import sys
import h5py, numpy as np
runs, seeds = sys.argv[1], int(sys.argv[2])
def metrics(name, k):
    with h5py.File(f"{runs}/{name}_{k}.h5", "r") as f:
        m, p = f["metrics/test"].attrs, f["predictions/test"]
        error = np.median(np.abs(p["target"][:] - p["mean"][:]))
        auroc = float(f["metrics/ood/noise"].attrs["auroc_predictive_std"])
        return [float(m["rmse"]), error] + [float(m[key]) for key in ("nll", "coverage_95", "width_95")] + [auroc]
print(f"| locating the pulse, {seeds} seeds | Bayesian weights | test RMSE (points) | median abs. error "
      "| test NLL (nats) | 95 % coverage | 95 % width (points) | AUROC std, noise |")
print("|---|---|---|---|---|---|---|---|")
for name, label in (("conv1d_het", "conv1d 8, 16, dense 32, heteroscedastic (the deck)"),
                    ("conv1d_hom", "conv1d 8, 16, dense 32, homoscedastic"),
                    ("dense_het", "dense 64, heteroscedastic"),
                    ("dense_hom", "dense 64, homoscedastic")):
    v = np.array([metrics(name, k) for k in range(1, seeds + 1)])
    with h5py.File(f"{runs}/{name}_1.h5", "r") as f:
        weights = sum(f["weights"][l]["kernel_mu"].size for l in f["weights"] if "kernel_mu" in f["weights"][l])
    cells = [f"{m:.{d}f} ± {s:.{d}f}" for m, s, d in zip(v.mean(axis=0), v.std(axis=0, ddof=1), (2, 2, 3, 3, 1, 3))]
    print(f"| {label} | {weights} | " + " | ".join(cells) + " |")
PY
