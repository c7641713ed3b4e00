#!/usr/bin/env bash
# Regression end to end, on a table of float features and two real targets in their own
# units, converted by scripts/csv_to_h5.py and read by a ten-line deck:
#   - training on 2 ranks (standardized data, Gaussian likelihood, an evaluation every
#     epoch, a noise-shifted OOD set) learns: test RMSE well below the targets' spread,
#     95 % coverage in [0.85, 1];
#   - kbnn predict on 1 and 3 ranks, both splits, gives /predictions bit-identical to
#     the run file's, and tests/scripts/check_regression.py recomputes every column and
#     metric from the per-pass Gaussians (gaussian_samples);
#   - a run resumed from a checkpoint equals the uninterrupted one bit for bit;
#   - the heteroscedastic likelihood's aleatoric variance follows the true noise;
#   - a NaN in the features stops the run with the count and the first row;
#   - prune and info read regression runs.
#   usage: regression_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
deck_data=no  # it writes its own data
source "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
scripts=$here/../../scripts

# 700 rows: y1 = 100 + 10 (sin 2 x1 + x2 / 2) + noise growing with |x1|, y2 = x3^2 + noise.
/usr/bin/python3 - "$out" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(3)
x = rng.uniform(-2, 2, size=(700, 3))
noise = 0.1 + 0.3 * np.abs(x[:, 0])
y1 = 100 + 10 * (np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] + noise * rng.standard_normal(700))
y2 = x[:, 2] ** 2 + 0.2 * rng.standard_normal(700)
table = np.column_stack([x, y1, y2, 10 * noise])
np.savetxt(f"{sys.argv[1]}/table.csv", table, delimiter=",", header="x1,x2,x3,y1,y2,noise1",
           comments="", fmt="%.9g")
PY
/usr/bin/python3 "$scripts/csv_to_h5.py" "$out/table.csv" "$out/train.h5" --features x1,x2,x3 \
  --targets y1,y2 --seed 1 --test-out "$out/test.h5" --test-fraction 0.2
/usr/bin/python3 "$scripts/csv_to_h5.py" "$out/table.csv" "$out/noise.h5" --features x1,x2,x3 \
  --targets noise1 --seed 1 --test-out "$out/noise_test.h5" --test-fraction 0.2 > /dev/null
# A fraction without a file for it would be ignored: refused.
if /usr/bin/python3 "$scripts/csv_to_h5.py" "$out/table.csv" "$out/all.h5" --features x1 \
     --targets y1 --test-fraction 0.2 2> "$out/fraction.txt"; then
  fail "csv_to_h5.py took --test-fraction without --test-out"
fi
grep -q -- "--test-fraction needs --test-out" "$out/fraction.txt" || { cat "$out/fraction.txt"; fail "csv_to_h5.py: no message for --test-fraction alone"; }
cat > "$out/reg.cfg" <<EOF
[data]
format = hdf5
train_file = $out/train.h5
test_file = $out/test.h5
features = features
targets = targets
standardize = true
[model]
likelihood = gaussian
layer = dense out=32
layer = relu
layer = dense out=2
[train]
epochs = 40
batch_size = 32
lr = 0.01
log_every = 50
[eval]
samples = 20
EOF

run_mpi -n 2 "$kbnn" train "$out/reg.cfg" --eval.every_epochs=20 --ood.shift=noise \
  --output.dir="$out" --output.name=run | grep -E "^(data|test|eval|OOD)"
/usr/bin/python3 - "$out/run.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    m = f["metrics/test"].attrs
    y, mean = f["predictions/test/target"][:], f["predictions/test/mean"][:]
    rmse, spread = np.sqrt(((y - mean) ** 2).mean(axis=0)), y.std(axis=0)
    assert (rmse < 0.75 * spread).all(), (rmse, spread)
    assert 0.85 <= m["coverage_95"] <= 1.0, m["coverage_95"]
    assert len(f["history/eval/nll"]) == 2 and np.isfinite(f["history/eval/nll"][:]).all()
    assert f["weights/noise_3/log_variance"].shape == (2,)
    # noise holds nothing the targets measured: predicted, not scored against them
    assert np.isnan(f["predictions/noise/target"][:]).all() and "noise" not in f["metrics"]
    assert "standardization/target_std" in f and "checkpoint/standardization/feature_mean" in f
    print(f"PASSED: trained, RMSE per target {rmse} (targets' spread {spread}), 95% coverage "
          f"{m['coverage_95']:.3f}")
PY

for ranks in 1 3; do
  for split in examples samples; do
    run_mpi -n $ranks "$kbnn" predict "$out/run.h5" --split $split --sample-probabilities \
      --output "$out/predict_${ranks}_$split.h5" | grep -E "^(test|OOD)"
    /usr/bin/python3 "$here/check_regression.py" "$out/predict_${ranks}_$split.h5" "$out/run.h5"
  done
done

# Exact restart, 2 ranks: 18 steps then the rest, against the whole run.
restart_run() { run_mpi -n 2 "$kbnn" train "$out/reg.cfg" --train.epochs=3 --train.log_every=6 \
                  --eval.every_epochs=1 --output.dir="$out" "$@" | grep -E "^restart" || true; }
restart_run --output.name=full
restart_run --output.name=first --train.max_steps=18 --output.checkpoint_every=18
restart_run --output.name=resumed --restart "$out/first.checkpoint.h5"
/usr/bin/python3 "$here/compare_runs.py" "$out/full.h5" "$out/resumed.h5"
/usr/bin/python3 - "$out/full.h5" "$out/resumed.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    for name in ["mean", "std", "nll"]:
        assert np.array_equal(a["predictions/test/" + name][:], b["predictions/test/" + name][:]), name
print("PASSED: the resumed run's test predictions equal the uninterrupted run's")
PY

# Heteroscedastic: the noise of y1 grows with |x1|; the model's aleatoric variance must
# follow it (noise_test.h5 holds the true noise of the same test rows).
run_mpi -n 2 "$kbnn" train "$out/reg.cfg" --model.likelihood=gaussian_heteroscedastic \
  --model.layer="dense out=32" --model.layer=relu --model.layer="dense out=4" \
  --train.epochs=80 --output.dir="$out" --output.name=hetero | grep -E "^test"
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/noise_test.h5") as n, h5py.File(f"{out}/hetero.h5") as r:
    true_std = n["targets"][:, 0]
    aleatoric_std = np.sqrt(r["predictions/test/aleatoric_variance"][:, 0])
    assert np.array_equal(n["features"][:].astype(np.float32),
                          h5py.File(f"{out}/test.h5")["features"][:].astype(np.float32))
    correlation = np.corrcoef(true_std, aleatoric_std)[0, 1]
    assert correlation > 0.5, correlation
    assert "noise_3" not in r["weights"], "a heteroscedastic model learns no shared noise"
print(f"PASSED: heteroscedastic aleatoric std follows the true noise (correlation {correlation:.2f})")
PY
# Far from the training data (the test rows' features times +-1000) the log-variance goes
# past its bound (train/log_variance_bound.hpp): the variances and metrics stay finite
# (unbounded they were inf and NaN), and the log says how many rows went there.
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/test.h5") as f, h5py.File(f"{out}/far.h5", "w") as g:
    sign = np.where(np.arange(len(f["features"])) % 2 == 0, 1.0, -1.0)[:, None]
    g["features"], g["targets"] = 1000 * sign * f["features"][:], f["targets"][:]
PY
run_mpi -n 2 "$kbnn" predict "$out/hetero.h5" --data.test_file="$out/far.h5" \
  --output "$out/far.predict.h5" --sample-probabilities > "$out/far.log" 2>&1 ||
  fail "predict far from the data failed: $(tail -3 "$out/far.log")"
grep -q "^warning: test (140 examples, S=[0-9]*): [1-9][0-9]* of 140 rows have a variance past e^40" \
  "$out/far.log" || fail "no warning of the bounded variances: $(grep -E '^(test|warning)' "$out/far.log")"
/usr/bin/python3 - "$out/far.predict.h5" <<'PY' || fail "variances far from the data are not finite"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as f:
    p, m = f["predictions/test"], f["metrics/test"].attrs
    for name in ("std", "aleatoric_variance", "nll", "gaussian_samples"):
        assert np.isfinite(p[name][...]).all(), name
    for name in ("nll", "mean_std", "mean_aleatoric_variance", "width_95"):
        assert np.isfinite(m[name]), (name, m[name])
    print("PASSED: far from the data the variances stay finite, up to", p["std"][...].max())
PY

# Every number in the targets' units, against a forward pass in numpy: a deterministic
# network (its predictive is its one Gaussian) on the test rows standardized by
# /standardization, its mean and log-variance outputs (the noise layer's, or the
# network's last T columns) scaled back by the training targets' mean and std.
for likelihood in gaussian gaussian_heteroscedastic; do
  width=2; [[ $likelihood == gaussian ]] || width=4
  run_mpi -n 2 "$kbnn" train "$out/reg.cfg" --model.estimator=deterministic --train.epochs=5 \
    --model.likelihood=$likelihood --model.layer="dense out=32" --model.layer=relu \
    --model.layer="dense out=$width" --eval.samples=2 --output.dir="$out" \
    --output.name=forward_$likelihood > /dev/null
  /usr/bin/python3 - "$out/forward_$likelihood.h5" "$out/test.h5" <<'PY'
import sys, h5py, numpy as np
from statistics import NormalDist
with h5py.File(sys.argv[1]) as f, h5py.File(sys.argv[2]) as data:
    s, w, p, m = f["standardization"], f["weights"], f["predictions/test"], f["metrics/test"].attrs
    h = (data["features"][:].astype(np.float64) - s["feature_mean"][:]) / s["feature_std"][:]
    y = data["targets"][:].astype(np.float32).astype(np.float64)
    h = np.maximum(h @ w["dense_0/kernel"][:].T.astype(np.float64) + w["dense_0/bias"][:], 0)
    h = h @ w["dense_2/kernel"][:].T.astype(np.float64) + w["dense_2/bias"][:]
    t = y.shape[1]
    log_variance = h[:, t:] if h.shape[1] == 2 * t else w["noise_3/log_variance"][:]
    mean = s["target_mean"][:] + s["target_std"][:] * h[:, :t]
    variance = np.exp(log_variance) * s["target_std"][:] ** 2 * np.ones_like(mean)
    nll = 0.5 * (np.log(2 * np.pi * variance) + (y - mean) ** 2 / variance).sum(axis=1)
    z = NormalDist().inv_cdf(0.975)
    covered = np.mean(np.abs(y - mean) <= z * np.sqrt(variance))
    for name, got, want, rtol in [
            ("mean", p["mean"][:], mean, 1e-5),
            ("aleatoric_variance", p["aleatoric_variance"][:], variance, 1e-5),
            ("epistemic_variance", p["epistemic_variance"][:] + 1, 1, 0),
            ("nll", p["nll"][:], nll, 1e-4), ("metrics nll", m["nll"], nll.mean(), 1e-4),
            ("rmse", m["rmse"], np.sqrt(np.mean((y - mean) ** 2)), 1e-5),
            # a value on an interval's edge may fall either side in float32
            ("coverage_95", m["coverage_95"], covered, 1 / y.size),
            ("width_95", m["width_95"], np.mean(2 * z * np.sqrt(variance)), 1e-5)]:
        worst = np.max(np.abs(np.asarray(got, np.float64) - want) / np.maximum(np.abs(want), 1))
        assert worst <= rtol, (sys.argv[1], name, worst)
print(f"PASSED: {sys.argv[1]}: predictions and metrics in the targets' units, as numpy's forward pass")
PY
done

# NaN in the features: one message with the count and the first row, exit status 1.
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py, numpy as np
with h5py.File(f"{sys.argv[1]}/train.h5") as f, h5py.File(f"{sys.argv[1]}/nan.h5", "w") as g:
    x = f["features"][:]
    x[17, 2] = np.nan
    x[300, 0] = np.inf
    g["features"], g["targets"] = x, f["targets"][:]
PY
status=0
run_mpi -n 2 "$kbnn" train "$out/reg.cfg" --data.train_file="$out/nan.h5" --output.dir="$out" \
  --output.name=nan > "$out/nan.log" 2>&1 || status=$?
((status == 1)) || fail "a NaN in the features ended with status $status, expected 1"
grep -q "nan.h5: /features: 2 values are NaN or Inf; the first is at row 17, feature 2" \
  "$out/nan.log" || { cat "$out/nan.log"; fail "the NaN message does not name the count and row"; }
echo "PASSED: NaN stops the run: $(grep -o 'nan.h5: .*' "$out/nan.log" | head -1)"

run_mpi -n 2 "$kbnn" prune "$out/run.h5" --fractions=0.5 --output="$out/run.pruning.h5" | grep -E "^fraction"
# Each row is the metrics of its model: the run's own (fraction 0), and kbnn predict's on
# the pruned checkpoint (the same passes, 2 ranks as prune).
run_mpi -n 2 "$kbnn" predict "$out/run.pruned_0.5.h5" --output "$out/pruned.predict.h5" > /dev/null
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py
out = sys.argv[1]
with h5py.File(f"{out}/run.pruning.h5") as p, h5py.File(f"{out}/run.h5") as run, \
     h5py.File(f"{out}/pruned.predict.h5") as pruned:
    table = p["pruning"]
    assert list(table["fraction"][:]) == [0, 0.5], table["fraction"][:]
    columns = [c for c in table if c not in ("fraction", "removed", "kept", "masks")]
    assert {"rmse", "nll", "coverage_95", "width_95", "calibration_error", "mean_std",
            "mean_epistemic_variance", "auroc_predictive_std", "aupr_out_epistemic_std"} <= set(columns)
    for row, model in enumerate((run, pruned)):
        for c in columns:
            ood = c.startswith(("auroc_", "aupr_"))
            want = model["metrics/ood/noise" if ood else "metrics/test"].attrs[c]
            assert abs(table[c][row] - want) <= 1e-12 * abs(want), (row, c, table[c][row], want)
print(f"PASSED: prune scores a regression run: its rows ({len(columns)} columns) are the run's "
      "and kbnn predict's on the pruned checkpoint")
PY
# kbnn info on each kind of file a regression writes: no classification column (a NaN
# accuracy) anywhere, the regression's metrics, predictions, standardization and noise.
"$kbnn" predict "$out/run.h5" --output "$out/info_predict.h5" > /dev/null
info_has() {  # FILE TEXT...
  local file=$1 text
  shift
  "$kbnn" info "$file" > "$out/info.txt" || fail "kbnn info $file exited $?"
  ! grep -qi "nan" "$out/info.txt" || { cat "$out/info.txt"; fail "kbnn info $file prints a NaN"; }
  for text in "$@"; do
    grep -qF -- "$text" "$out/info.txt" || { cat "$out/info.txt"; fail "kbnn info $file lacks '$text'"; }
  done
}
info_has "$out/run.h5" "run file of a finished run" "noise_3 " "metrics/test: rmse" \
  "history/eval: 2 rows" "(the predictive mixture's)" "metrics/ood/noise (" "AUROC predictive_std" \
  "predictions/test: mean, std, aleatoric and epistemic variance 140x2 (target units)" \
  "standardization: 3 features and 2 target(s)"
info_has "$out/info_predict.h5" "prediction file (kbnn predict)" "metrics/test: rmse" \
  "predictions/test: mean, std" "standardization: 3 features and 2 target(s)"
info_has "$out/run.pruning.h5" "pruning file (kbnn prune)" "rmse     nll  cover95" \
  "AUROC predictive_std  epistemic_std"
info_has "$out/run.pruned_0.5.h5" "checkpoint of a pruned model" "noise_3 " \
  "standardization: 3 features and 2 target(s)"
/usr/bin/python3 -c "
import sys, h5py
assert h5py.File(sys.argv[1]).attrs['status'] == 'finished'" "$out/run.h5" || fail "run.h5 has no status finished"
echo "PASSED: kbnn info reads a regression's run, prediction, pruning and checkpoint files"

# The regression plots: three PNGs of the promised sizes, not blank.
/usr/bin/python3 "$here/../../postprocess/kbnn_plots.py" regression "$out/run.h5" --out-dir "$out/plots"
/usr/bin/python3 - "$out/plots" <<'PY'
import sys
import matplotlib.image
for name, size in [("run_predicted_vs_true.png", (600, 1300)),
                   ("run_interval_calibration.png", (500, 1100)),
                   ("run_residual_vs_std.png", (1000, 1100))]:  # a row per target
    pixels = matplotlib.image.imread(f"{sys.argv[1]}/{name}")
    assert pixels.shape[:2] == size, (name, pixels.shape)
    assert pixels[..., :3].var() > 0.005, f"{name} is blank"
print("PASSED: kbnn_plots.py regression drew its three plots")
PY

# The other plots read a regression as one: history without an accuracy panel, the OOD
# scores predictive_std and epistemic_std, pruning's RMSE and coverage, compare's
# regression columns; the plots of classes name the regression subcommand instead.
plots=$here/../../postprocess/kbnn_plots.py
/usr/bin/python3 "$plots" history "$out/run.h5" -o "$out/plots/history.png" > /dev/null
/usr/bin/python3 "$plots" ood "$out/run.h5" -o "$out/plots/ood.png" > /dev/null
/usr/bin/python3 "$plots" pruning "$out/run.pruning.h5" -o "$out/plots/pruning.png" > /dev/null
/usr/bin/python3 "$plots" compare "$out/full.h5" "$out/resumed.h5" -o "$out/plots/compare.png" \
  > "$out/compare.txt"
grep -q "rmse.*coverage_95" "$out/compare.txt" || { cat "$out/compare.txt"; fail "compare lacks the regression columns"; }
/usr/bin/python3 - "$out/plots" <<'PY'
import sys
import matplotlib.image
for name, size in [("history.png", (700, 1000)), ("ood.png", (440, 1350)),
                   ("pruning.png", (500, 1200))]:
    pixels = matplotlib.image.imread(f"{sys.argv[1]}/{name}")
    assert pixels.shape[:2] == size, (name, pixels.shape)
    assert pixels[..., :3].var() > 0.005, f"{name} is blank"
PY
for command in reliability uncertainty; do
  status=0
  /usr/bin/python3 "$plots" $command "$out/run.h5" > "$out/plot.txt" 2>&1 || status=$?
  ((status == 1)) && grep -q "a regression (model.likelihood = gaussian).*'kbnn_plots.py regression'" \
    "$out/plot.txt" || { cat "$out/plot.txt"; fail "kbnn_plots.py $command on a regression: status $status"; }
done
echo "PASSED: kbnn_plots.py history, ood, pruning and compare read a regression; reliability and uncertainty point to the regression plots"
