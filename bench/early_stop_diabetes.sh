#!/usr/bin/env bash
# What train.early_stop does on a small regression (input/diabetes_mlp.cfg, 300 epochs),
# for the Bayesian MLP and its deterministic twin, over random 90/10 splits: trained on
# every training row for all 300 epochs, against early stopping (the last 15 % of the
# training rows held out, evaluated every 5 epochs, patience 4 evaluations). Prints each
# run's test RMSE, NLL, 95 % coverage and the epochs trained, then a Markdown table of
# mean +- standard error over the splits and the paired differences.
#   usage: [RANKS=n] bench/early_stop_diabetes.sh [KBNN [WORKDIR [SPLITS]]]
#   defaults: build/src/kbnn, /tmp/kbnn-early-stop, 10; kbnn on RANKS MPI ranks (default 2)
# Needs python3-sklearn (the data) and python3-h5py (Debian).
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
kbnn=$(readlink -f "${1:-$root/build/src/kbnn}")
work=${2:-/tmp/kbnn-early-stop}
splits=${3:-10}
python=/usr/bin/python3
ranks=${RANKS:-2}
source "$(dirname "$0")/mpi.sh" "$ranks"  # one thread a rank; the launcher, "${mpi[@]}"
mkdir -p "$work/runs"
"$python" "$root/scripts/diabetes_to_h5.py" "$work/data" --splits "$splits" > /dev/null
stopping=(--data.validation_fraction=0.15 --eval.every_epochs=5 --train.early_stop=4)

for ((k = 0; k < splits; ++k)); do
  data=(--data.train_file="$work/data/split_$k/train.h5" --data.test_file="$work/data/split_$k/test.h5"
        --output.dir="$work/runs")
  for estimator in flipout deterministic; do
    "${mpi[@]}" "$kbnn" train "$root/input/diabetes_mlp.cfg" "${data[@]}" \
      --model.estimator="$estimator" --output.name="${estimator}_all_$k" > "$work/runs/${estimator}_all_$k.log"
    "${mpi[@]}" "$kbnn" train "$root/input/diabetes_mlp.cfg" "${data[@]}" "${stopping[@]}" \
      --model.estimator="$estimator" --output.name="${estimator}_stop_$k" > "$work/runs/${estimator}_stop_$k.log"
  done
  echo "split $k done" >&2
done

"$python" - "$work/runs" "$splits" <<'PY'
import sys
import h5py, numpy as np
runs, splits = sys.argv[1], int(sys.argv[2])
def row(name):
    with h5py.File(f"{runs}/{name}.h5", "r") as f:
        m = f["metrics/test"].attrs
        c = f["checkpoint"].attrs
        steps_per_epoch = f["history/step"][-1] / f["history/epoch"][-1]
        trained = int(c["trained_to"]) if "trained_to" in c else int(c["step"])
        kept = int(c["step"])
        return [m["rmse"], m["nll"], m["coverage_95"], trained / steps_per_epoch, kept / steps_per_epoch]
table = {}
for est in ["flipout", "deterministic"]:
    for mode in ["all", "stop"]:
        table[est, mode] = np.array([row(f"{est}_{mode}_{k}") for k in range(splits)])
names = ["test RMSE", "test NLL", "coverage 95 %", "epochs trained", "epochs of the kept model"]
print(f"| model | training | {' | '.join(names)} |")
print("|" + "---|" * (len(names) + 2))
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))
for (est, mode), a in table.items():
    digits = [2, 3, 3, 1, 1]
    cells = [f"{a[:, j].mean():.{d}f} ± {se(a[:, j]):.{d}f}" for j, d in enumerate(digits)]
    label = "all rows, 300 epochs" if mode == "all" else "early stop (15 % held out)"
    print(f"| {est} | {label} | {' | '.join(cells)} |")
for est in ["flipout", "deterministic"]:
    d = table[est, "stop"] - table[est, "all"]
    print(f"{est}: early stop minus all rows, paired over {splits} splits: RMSE "
          f"{d[:, 0].mean():+.3f} ± {se(d[:, 0]):.3f}, NLL {d[:, 1].mean():+.3f} ± {se(d[:, 1]):.3f}, "
          f"coverage {d[:, 2].mean():+.3f} ± {se(d[:, 2]):.3f}, epochs {d[:, 3].mean():+.1f}")
PY
