#!/usr/bin/env bash
# A 1-D CNN on signals (input/waveform_conv1d.cfg on 400 of Breiman's waveforms) through
# every command, its layers named conv1d_<i> and maxpool1d_<i> wherever conv2d's are: a
# deterministic run on 2 ranks; a MOPED run from it (model.init_from) whose initial mu,
# read from its step dump, are that run's weights; a run stopped after one epoch and
# resumed that ends as the uninterrupted one, bit for bit; kbnn info; predict on 1 and 2
# ranks in both splits, the same predictions; prune, its masks per conv1d kernel.
# Then a signal regression (input/pulses_position.cfg: where is the pulse?) through train
# (ood.shift = noise, whose signals hold no pulse: no targets, not scored against the
# replaced ones), predict on 1 and 2 ranks in both splits, info and kbnn_plots.py
# regression and ood, whose axes must keep the bulk of the points in view when one
# variance is huge, and which names the target ("positions").
#   usage: signal_commands_test.sh MPIEXEC KBNN DECK (DECK unused: the data is made here)
set -euo pipefail
mpiexec=$1 kbnn=$2
deck_data=no
source "$(dirname "$0")/common.sh"
python=/usr/bin/python3
"$python" -c "import h5py, numpy" 2> /dev/null || skip "$python lacks h5py or numpy"
root=$(cd "$(dirname "$0")/../.." && pwd)
deck=$root/input/waveform_conv1d.cfg
"$python" "$root/scripts/waveform_to_h5.py" "$out/data" --train 400 --test 200 > /dev/null
common=(--data.train_file="$out/data/train.h5" --data.test_file="$out/data/test.h5"
        --train.epochs=2 --train.log_every=5 --eval.samples=4 --output.dir="$out")
train() {  # train RANKS NAME OPTIONS...
  local ranks=$1 name=$2; shift 2
  run_mpi -n "$ranks" "$kbnn" train "$deck" "${common[@]}" --output.name="$name" "$@" \
    > "$out/$name.log" 2>&1 || { cat "$out/$name.log"; fail "training $name failed"; }
}

train 2 det --model.estimator=deterministic
grep -q "conv1d_3     1x10x16    deterministic" "$out/det.log" || fail "the log's model table has no conv1d_3"
train 2 moped --model.init_from="$out/det.h5" --model.moped_delta=0.1 --debug.dump_steps=1 \
  --debug.dump_file="$out/moped_dump.h5"
"$python" - "$out/det.h5" "$out/moped_dump.h5" <<'PY' || fail "MOPED did not start from the run's weights"
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as run, h5py.File(sys.argv[2], "r") as dump:
    for layer in ("conv1d_0", "conv1d_3", "dense_7"):
        w, mu = run[f"weights/{layer}/kernel"][...], dump[f"initial/{layer}/kernel/mu"][...]
        assert w.shape == mu.shape and np.array_equal(w, mu), layer
    assert run["weights/conv1d_0/kernel"].shape == (8, 5, 1)  # (out, k, in)
PY

train 2 full
train 2 first --train.max_steps=7 --output.checkpoint_every=5
train 2 resumed --restart "$out/first.checkpoint.h5"
"$python" "$(dirname "$0")/compare_runs.py" "$out/full.h5" "$out/resumed.h5" ||
  fail "the resumed run differs from the uninterrupted one"

"$kbnn" info "$out/full.h5" > "$out/info.log" || fail "kbnn info failed"
for line in "maxpool1d_2  1x10x8" "weights: conv1d_0 (8x5x1) conv1d_3 (16x3x8) dense_7 (3x80)"; do
  grep -q "$line" "$out/info.log" || { cat "$out/info.log"; fail "kbnn info lacks '$line'"; }
done

for n in 1 2; do
  for split in examples samples; do
    run_mpi -n $n "$kbnn" predict "$out/full.h5" --split $split --output "$out/predict_${n}_$split.h5" \
      > /dev/null || fail "predict on $n rank(s), split $split failed"
    h5diff "$out/predict_1_examples.h5" "$out/predict_${n}_$split.h5" /predictions /predictions \
      > /dev/null || fail "predict on $n rank(s), split $split gives other predictions"
  done
done

run_mpi -n 2 "$kbnn" prune "$out/full.h5" --fractions=0.5 --output "$out/prune.h5" > "$out/prune.log" ||
  fail "prune failed"
"$python" -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    assert sorted(f['pruning/masks/0.5']) == ['conv1d_0_kernel', 'conv1d_3_kernel', 'dense_7_kernel']
" "$out/prune.h5" || fail "the pruning file's masks are not the conv1d and dense kernels"

# A signal regression: locate the pulse.
"$python" "$root/scripts/pulses_to_h5.py" "$out/pulses" --train 400 --test 200 > /dev/null
where=(--data.train_file="$out/pulses/train.h5" --data.test_file="$out/pulses/test.h5"
       --train.epochs=3 --eval.samples=4 --ood.shift=noise --output.dir="$out")
run_mpi -n 2 "$kbnn" train "$root/input/pulses_position.cfg" "${where[@]}" --output.name=where \
  > "$out/where.log" 2>&1 || { cat "$out/where.log"; fail "training the pulse-position regression failed"; }
grep -q "^test (MC predictive mixture, S=4): RMSE" "$out/where.log" || { cat "$out/where.log"; fail "no regression test line"; }
grep -q "^OOD set noise: no targets, predictions only" "$out/where.log" ||
  { grep "^OOD" "$out/where.log"; fail "the noise signals (no pulse) are scored against the positions of the pulses they replaced"; }
for n in 1 2; do
  for split in examples samples; do
    run_mpi -n $n "$kbnn" predict "$out/where.h5" --split $split --output "$out/where_${n}_$split.h5" \
      > "$out/where_predict.log" 2>&1 || { cat "$out/where_predict.log"; fail "predict (regression) on $n rank(s), split $split failed"; }
  done
done
"$python" - "$out" <<'PY' || fail "the regression's predictions differ between ranks and splits"
import sys
import h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/where.h5", "r") as run:
    want = {s: {k: run[f"predictions/{s}/{k}"][...] for k in ("mean", "std", "target")} for s in ("test", "noise")}
    assert "noise" not in run["metrics"] and np.isnan(want["noise"]["target"]).all()
    assert np.allclose(want["test"]["target"][:, 0], h5py.File(f"{out}/pulses/test.h5")["positions"][:], rtol=1e-6)
for n in (1, 2):
    for split in ("examples", "samples"):
        with h5py.File(f"{out}/where_{n}_{split}.h5", "r") as f:
            for s, columns in want.items():
                for k, v in columns.items():
                    # 1 rank: the run's own numbers; 2: a gemm over other rows may round otherwise
                    assert np.allclose(f[f"predictions/{s}/{k}"][...], v, rtol=1e-5, atol=0, equal_nan=True), (n, split, s, k)
PY
"$kbnn" info "$out/where_2_samples.h5" > "$out/where_info.log" || fail "kbnn info on the regression's prediction file failed"
for line in "metrics/test: rmse" "predictions/noise: mean, std" "metrics/ood/noise (200) against test (200)"; do
  grep -qF "$line" "$out/where_info.log" || { cat "$out/where_info.log"; fail "kbnn info lacks '$line'"; }
done
! grep -q "metrics/noise" "$out/where_info.log" || fail "kbnn info shows metrics of the noise set"

"$python" -c "import matplotlib" 2> /dev/null || { echo "PASSED (no matplotlib: plots not checked)"; exit 0; }
# The plots, on the run with one variance made huge (as a heteroscedastic model gives a
# signal it cannot place): the bulk of the points stays in view, the axes name the target.
"$python" - "$out/where.h5" "$out/huge.h5" "$root/postprocess" <<'PY' || fail "kbnn_plots.py on a signal regression"
import os, shutil, sys
import h5py, numpy as np
run, huge, tools = sys.argv[1:4]
shutil.copy(run, huge)
with h5py.File(huge, "a") as f:
    for s in ("test", "noise"):
        f[f"predictions/{s}/std"][0] = 1e5 * f[f"predictions/{s}/std"][0]
        f[f"predictions/{s}/ood_scores/predictive_std"][0] = 1e5
sys.path.insert(0, tools)
import kbnn_plots, kbnn_regression
figures = []
kbnn_plots._save = kbnn_regression._save = lambda figure, path: figures.append(figure)
def spread(axis, values, x=True):
    """How far apart the 10th and 90th percentile of the values lie, as a fraction of the axis."""
    low, high = np.percentile(values, [10, 90])
    points = [(low, 1), (high, 1)] if x else [(1, low), (1, high)]
    a, b = axis.transAxes.inverted().transform(axis.transData.transform(points))
    return abs((b - a)[0 if x else 1])
assert kbnn_plots.main(["regression", huge, "--out-dir", os.path.dirname(huge)]) == 0
predicted, calibration, residuals = figures
with h5py.File(huge, "r") as f:
    y, std = f["predictions/test/target"][:, 0], f["predictions/test/std"][:, 0]
    scores = f["predictions/test/ood_scores/predictive_std"][:]
axis = predicted.axes[0]
assert axis.get_xlabel() == "true positions", axis.get_xlabel()
assert spread(axis, y) > 0.5, ("predicted vs true: the positions squeezed", axis.get_xlim())
axis = residuals.axes[0]
assert spread(axis, std) > 0.05, ("residual vs std: the std squeezed", axis.get_xlim())
assert "positions" in axis.get_xlabel(), axis.get_xlabel()
assert "(1 beyond the axes)" in axis.get_legend().get_texts()[0].get_text(), "the huge one goes uncounted"
figures.clear()
assert kbnn_plots.main(["ood", huge, "-o", huge + ".png"]) == 0
axis = figures[0].axes[0]
assert spread(axis, scores) > 0.05, ("OOD histogram: the predictive std squeezed", axis.get_xlim())
assert "1 past" in axis.get_legend().get_texts()[0].get_text(), "the huge score goes uncounted"
print("PASSED: kbnn_plots.py regression and ood keep the bulk in view")
PY
status=0
"$python" "$root/postprocess/kbnn_plots.py" regression "$out/where.h5" --set noise --out-dir "$out" \
  > "$out/noise_plot.log" 2>&1 || status=$?
((status == 1)) && grep -q "has no targets" "$out/noise_plot.log" ||
  { cat "$out/noise_plot.log"; fail "kbnn_plots.py regression on a set without targets: status $status"; }
echo "PASSED"
