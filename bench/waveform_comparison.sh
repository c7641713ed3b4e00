#!/usr/bin/env bash
# The 1-D CNN of input/waveform_conv1d.cfg against dense-only models (flatten, dense 64,
# relu, dense 3; and flatten, dense 3, a linear map; Flipout) on Breiman's waveform data
# (scripts/waveform_to_h5.py), all with the deck's settings and epochs: for seeds k = 0 .. SEEDS-1, data drawn with seed
# k (TRAIN training signals, 5000 test signals) and training seed k + 1. Prints a
# Markdown table of the test accuracy, NLL and ECE, mean ± standard deviation over the
# seeds (README, "Signals: 1-D convolutions").
#   usage: [TRAIN=n] [EPOCHS=e] bench/waveform_comparison.sh [KBNN [WORKDIR [SEEDS]]]
#   defaults: build/src/kbnn, /tmp/kbnn-waveform, 5; TRAIN 5000; EPOCHS the deck's (20)
# Needs python3-numpy and python3-h5py (Debian). One process, one thread.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kbnn=$(readlink -f "${1:-$root/build/src/kbnn}")
work=${2:-/tmp/kbnn-waveform}
seeds=${3:-5}
train=${TRAIN:-5000}
python=/usr/bin/python3
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
deck=$root/input/waveform_conv1d.cfg
epochs=(${EPOCHS:+--train.epochs=$EPOCHS})
dense=(--model.layer=flatten "--model.layer=dense out=64" --model.layer=relu "--model.layer=dense out=3")
linear=(--model.layer=flatten "--model.layer=dense out=3")
mkdir -p "$work/runs"

for ((k = 0; k < seeds; ++k)); do
  "$python" "$root/scripts/waveform_to_h5.py" "$work/data_$k" --train "$train" --seed "$k" > /dev/null
  common=(--data.train_file="$work/data_$k/train.h5" --data.test_file="$work/data_$k/test.h5"
          --train.seed=$((k + 1)) --output.dir="$work/runs" --output.overwrite=true "${epochs[@]}")
  "$kbnn" train "$deck" "${common[@]}" --output.name="conv1d_$k" > "$work/runs/conv1d_$k.log"
  "$kbnn" train "$deck" "${common[@]}" "${dense[@]}" --output.name="dense_$k" > "$work/runs/dense_$k.log"
  "$kbnn" train "$deck" "${common[@]}" "${linear[@]}" --output.name="linear_$k" > "$work/runs/linear_$k.log"
  echo "seed $k done" >&2
done

"$python" - "$work/runs" "$seeds" "$train" <<'PY'
import sys
import h5py, numpy as np
runs, seeds, train = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keys = ["accuracy", "nll", "ece"]
def metrics(name, k):
    with h5py.File(f"{runs}/{name}_{k}.h5", "r") as f:
        return [float(f["metrics/test"].attrs[key]) for key in keys], int(f["checkpoint"].attrs["step"])
print(f"| waveform, {train} training signals, {seeds} seeds | Bayesian weights | steps | test accuracy "
      "| test NLL | test ECE |")
print("|---|---|---|---|---|---|")
for name, label in (("conv1d", "conv1d 8, 16 (the deck)"), ("dense", "dense 64, dense 3"),
                    ("linear", "dense 3 (linear)")):
    rows = [metrics(name, k) for k in range(seeds)]
    v = np.array([r[0] for r in rows])
    with h5py.File(f"{runs}/{name}_0.h5", "r") as f:
        weights = sum(f["weights"][l]["kernel_mu"].size for l in f["weights"])
    cells = [f"{m:.3f} ± {s:.3f}" for m, s in zip(v.mean(axis=0), v.std(axis=0, ddof=1))]
    print(f"| {label} | {weights} | {rows[0][1]} | " + " | ".join(cells) + " |")
PY
