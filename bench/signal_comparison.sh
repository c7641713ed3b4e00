#!/usr/bin/env bash
# A signal set's 1-D CNN deck against dense-only models (flatten, dense 64, relu, dense K;
# and flatten, dense K, a linear map; Flipout), all with the deck's settings and epochs:
#   SET=waveform  Breiman's waveforms (scripts/waveform_to_h5.py, input/waveform_conv1d.cfg,
#                 K = 3), the classes at fixed positions
#   SET=pulses    a pulse of four shapes anywhere in the signal (scripts/pulses_to_h5.py,
#                 input/pulses_conv1d.cfg, K = 4)
# For seeds k = 0 .. SEEDS-1: data drawn with seed k (TRAIN training signals, 5000 test
# signals) and training seed k + 1; the test set under ood.shift = noise (each signal
# replaced by Gaussian noise of its own mean and standard deviation) scored as OOD. Prints
# a Markdown table of the test accuracy, NLL and ECE, the mean predictive entropy on the
# test and the noise signals and the mutual information's AUROC (noise against test), mean
# ± standard deviation over the seeds (README, "Signals: 1-D convolutions").
#   usage: [SET=waveform|pulses] [TRAIN=n] [EPOCHS=e] bench/signal_comparison.sh [KBNN [WORKDIR [SEEDS]]]
#   defaults: waveform, build/src/kbnn, /tmp/kbnn-SET, 5; TRAIN 5000; EPOCHS the deck's (20)
# Needs python3-numpy and python3-h5py (Debian). One process, one thread.
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
set_name=${SET:-waveform}
case $set_name in
  waveform) classes=3 ;;
  pulses) classes=4 ;;
  *) echo "SET=$set_name: expected waveform or pulses" >&2; exit 2 ;;
esac
kbnn=$(readlink -f "${1:-$root/build/src/kbnn}")
work=${2:-/tmp/kbnn-$set_name}
seeds=${3:-5}
train=${TRAIN:-5000}
python=/usr/bin/python3
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
deck=$root/input/${set_name}_conv1d.cfg
epochs=(${EPOCHS:+--train.epochs=$EPOCHS})
dense=(--model.layer=flatten "--model.layer=dense out=64" --model.layer=relu "--model.layer=dense out=$classes")
linear=(--model.layer=flatten "--model.layer=dense out=$classes")
mkdir -p "$work/runs"

for ((k = 0; k < seeds; ++k)); do
  "$python" "$root/scripts/${set_name}_to_h5.py" "$work/data_$k" --train "$train" --seed "$k" > /dev/null
  common=(--data.train_file="$work/data_$k/train.h5" --data.test_file="$work/data_$k/test.h5"
          --train.seed=$((k + 1)) --ood.shift=noise --output.dir="$work/runs"
          --output.overwrite=true "${epochs[@]}")
  "$kbnn" train "$deck" "${common[@]}" --output.name="conv1d_$k" > "$work/runs/conv1d_$k.log"
  "$kbnn" train "$deck" "${common[@]}" "${dense[@]}" --output.name="dense_$k" > "$work/runs/dense_$k.log"
  "$kbnn" train "$deck" "${common[@]}" "${linear[@]}" --output.name="linear_$k" > "$work/runs/linear_$k.log"
  echo "seed $k done" >&2
done

"$python" - "$work/runs" "$seeds" "$train" "$set_name" "$classes" <<'PY'
import sys
import h5py, numpy as np
runs, seeds, train, set_name, classes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def metrics(name, k):
    with h5py.File(f"{runs}/{name}_{k}.h5", "r") as f:
        test = f["metrics/test"].attrs
        noise_entropy = float(np.mean(f["predictions/noise/predictive_entropy"][...]))
        values = [float(test[key]) for key in ("accuracy", "nll", "ece", "mean_entropy")]
        values += [noise_entropy, float(f["metrics/ood/noise"].attrs["auroc_mutual_information"])]
        return values, int(f["checkpoint"].attrs["step"])
print(f"| {set_name}, {train} training signals, {seeds} seeds | Bayesian weights | steps | test accuracy "
      "| test NLL | test ECE | entropy, test | entropy, noise | AUROC MI, noise |")
print("|---|---|---|---|---|---|---|---|---|")
for name, label in (("conv1d", "conv1d (the deck)"), ("dense", f"dense 64, dense {classes}"),
                    ("linear", f"dense {classes} (linear)")):
    rows = [metrics(name, k) for k in range(seeds)]
    v = np.array([r[0] for r in rows])
    with h5py.File(f"{runs}/{name}_0.h5", "r") as f:
        weights = sum(f["weights"][l]["kernel_mu"].size for l in f["weights"])
    cells = [f"{m:.3f} ± {s:.3f}" for m, s in zip(v.mean(axis=0), v.std(axis=0, ddof=1))]
    print(f"| {label} | {weights} | {rows[0][1]} | " + " | ".join(cells) + " |")
PY
