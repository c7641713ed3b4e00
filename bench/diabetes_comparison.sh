#!/usr/bin/env bash
# kbnn's regression against its deterministic twin and a PyTorch peer on the diabetes
# data (input/diabetes_mlp.cfg), over random 90/10 splits: each split's test RMSE, test
# NLL of the predictive mixture and coverage of the central 95 % interval, then a
# Markdown table of mean +- standard error over the splits (the README's table in
# "Regression on your own data") and the paired difference of kbnn's and the peer's NLL.
#   usage: [RANKS=n] bench/diabetes_comparison.sh [KBNN [WORKDIR [SPLITS]]]
#   defaults: build/src/kbnn, /tmp/kbnn-diabetes, 10; kbnn on RANKS MPI ranks (default 2)
# Needs python3-sklearn (the data), python3-h5py and python3-torch (Debian). One
# process at a time, one thread each: the numbers, not the speed, are the point.
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
kbnn=$(readlink -f "${1:-$root/build/src/kbnn}")
work=${2:-/tmp/kbnn-diabetes}
splits=${3:-10}
python=/usr/bin/python3
ranks=${RANKS:-2}
source "$(dirname "$0")/mpi.sh" "$ranks"  # one thread a rank; the launcher, "${mpi[@]}"
mkdir -p "$work/runs"
"$python" "$root/scripts/diabetes_to_h5.py" "$work/data" --splits "$splits" > /dev/null

for ((k = 0; k < splits; ++k)); do
  data=(--data.train_file="$work/data/split_$k/train.h5" --data.test_file="$work/data/split_$k/test.h5")
  "${mpi[@]}" "$kbnn" train "$root/input/diabetes_mlp.cfg" "${data[@]}" --output.dir="$work/runs" \
    --output.name="bayes_$k" > "$work/runs/bayes_$k.log"
  "${mpi[@]}" "$kbnn" train "$root/input/diabetes_mlp.cfg" "${data[@]}" --output.dir="$work/runs" \
    --model.estimator=deterministic --output.name="twin_$k" > "$work/runs/twin_$k.log"
  "$python" "$root/bench/peer_torch_regression.py" --train "$work/data/split_$k/train.h5" \
    --test "$work/data/split_$k/test.h5" --seed "$k" > "$work/runs/torch_$k.json"
  echo "split $k done" >&2
done

"$python" - "$work/runs" "$splits" "$ranks" <<'PY'
import json, sys
import h5py, numpy as np
runs, splits = sys.argv[1], int(sys.argv[2])
keys = ["rmse", "nll", "coverage_95", "width_95"]
def kbnn(name, k):
    with h5py.File(f"{runs}/{name}_{k}.h5", "r") as f:
        return [float(f["metrics/test"].attrs[key]) for key in keys]
def torch(k):
    with open(f"{runs}/torch_{k}.json") as f:
        r = json.load(f)
    return [r[key] for key in keys]
ranks = sys.argv[3]
rows = {f"kbnn, Bayesian MLP (Flipout), {ranks} ranks": [kbnn("bayes", k) for k in range(splits)],
        f"kbnn, deterministic twin, {ranks} ranks": [kbnn("twin", k) for k in range(splits)],
        "PyTorch peer, Bayesian MLP (Flipout)": [torch(k) for k in range(splits)]}
print(f"| diabetes, {splits} random 90/10 splits | test RMSE | test NLL (nats) | "
      "95 % coverage | 95 % width |")
print("|---|---|---|---|---|")
for name, values in rows.items():
    v = np.array(values)
    mean, se = v.mean(axis=0), v.std(axis=0, ddof=1) / np.sqrt(len(v))
    cells = [f"{m:.3f} ± {s:.3f}" if i in (1, 2) else f"{m:.2f} ± {s:.2f}"
             for i, (m, s) in enumerate(zip(mean, se))]
    print(f"| {name} | " + " | ".join(cells) + " |")
bayes = np.array(rows[f"kbnn, Bayesian MLP (Flipout), {ranks} ranks"])
peer = np.array(rows["PyTorch peer, Bayesian MLP (Flipout)"])
d = bayes[:, 1] - peer[:, 1]
print(f"\nkbnn NLL - peer NLL, paired over the splits: {d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(len(d)):.4f}")
PY
