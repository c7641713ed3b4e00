#!/usr/bin/env bash
# Ensembles of regression models (parallel.ensemble with a Gaussian likelihood), end to
# end on a small table of 3 features and 2 targets in their own units:
#   - K = 2 on 2 ranks (two groups of 1 rank) and on 1 rank (one group): member 1 equals,
#     bit for bit, the single model of its seed; the ensemble's file holds a single
#     regression's /predictions and /metrics plus epistemic_within / epistemic_between,
#     every member under /members/<k>, and the same predictions from 1 and 2 ranks;
#   - kbnn predict on 1 and 2 ranks, both splits: the test set bit-identical to the run
#     file's, and check_regression.py recomputes every column, the split and the metrics
#     from the K*S per-pass Gaussians; kbnn prune scores the ensemble (fraction 0: its own
#     numbers); kbnn info lists the members;
#   - --dry-run writes nothing; --restart auto with more epochs continues every member
#     and equals the ensemble trained so long at once, bit for bit; an unfinished
#     ensemble (a member never run) resumes to the same mixture, and so does one that a
#     SIGTERM stopped mid-member;
#   - data.validation_fraction: the members evaluate the held-out rows during training,
#     and the mixture says it fits nothing to them;
#   - kbnn_plots.py regression and members draw the ensemble's file.
#   usage: regression_ensemble_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
deck_data=no  # it writes its own data
source "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")" && pwd)

# 400 rows: y1 = 100 + 10 (sin 2 x1 + x2 / 2 + noise), y2 = x3^2 + noise.
/usr/bin/python3 - "$out" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(5)
x = rng.uniform(-2, 2, size=(400, 3))
y1 = 100 + 10 * (np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] + 0.3 * rng.standard_normal(400))
y2 = x[:, 2] ** 2 + 0.2 * rng.standard_normal(400)
np.savetxt(f"{sys.argv[1]}/table.csv", np.column_stack([x, y1, y2]), delimiter=",",
           header="x1,x2,x3,y1,y2", comments="", fmt="%.9g")
PY
/usr/bin/python3 "$here/../../scripts/csv_to_h5.py" "$out/table.csv" "$out/train.h5" \
  --features x1,x2,x3 --targets y1,y2 --seed 1 --test-out "$out/test.h5" --test-fraction 0.2 > /dev/null
cat > "$out/reg.cfg" <<DECK
[data]
format = hdf5
train_file = $out/train.h5
test_file = $out/test.h5
features = features
targets = targets
standardize = true
[model]
likelihood = gaussian
layer = dense out=16
layer = relu
layer = dense out=2
[train]
epochs = 4
batch_size = 32
lr = 0.01
log_every = 5
seed = 1
[eval]
samples = 4
[ood]
shift = noise
[output]
dir = $out
DECK
seed1=$(printf '%u' $((1 + 0x9E3779B97F4A7C15)))  # member_seed(1, 1), mod 2^64
train() {  # ranks name [options]
  local n=$1 name=$2
  shift 2
  run_mpi -n "$n" "$kbnn" train "$out/reg.cfg" --output.name="$name" "$@" > "$out/$name.log" 2>&1 ||
    fail "$name: kbnn train failed: $(tail -5 "$out/$name.log")"
}
train 2 ens --parallel.ensemble=2
train 1 ens_1rank --parallel.ensemble=2
train 1 single --train.seed="$seed1"
grep -q "^test (ensemble of 2 members x S=4): RMSE" "$out/ens.log" ||
  fail "no test line: $(grep ^test "$out/ens.log")"
grep -q "^test (ensemble of 2 members x S=4) epistemic variance (target units, mean over the 2 members' mixture): .* = within-member .* + between-member" \
  "$out/ens.log" || fail "no split line: $(grep ^test "$out/ens.log")"
grep -q "^OOD: noise (80) against test (80): predictive_std AUROC" "$out/ens.log" ||
  fail "no OOD line: $(grep ^OOD "$out/ens.log")"

/usr/bin/python3 - "$out" <<'PY' || fail "the regression ensemble's files"
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/ens.h5") as e, h5py.File(f"{out}/ens_1rank.h5") as one, \
        h5py.File(f"{out}/single.h5") as single:
    assert e.attrs["status"] == "finished" and e.attrs["ensemble_members"] == 2
    p, m = e["predictions/test"], e["metrics/test"].attrs
    assert p["epistemic_within"].shape == p["epistemic_between"].shape == p["mean"].shape == (80, 2)
    units = p["epistemic_within"].attrs["units"]
    assert (units.decode() if isinstance(units, bytes) else units) == "target units squared", units
    within, between = p["epistemic_within"][:], p["epistemic_between"][:]
    assert np.allclose(within + between, p["epistemic_variance"][:], rtol=1e-5, atol=1e-7)
    assert (between > 0).all()
    assert m["samples"] == 8 and m["ensemble_members"] == 2
    assert np.isclose(m["mean_epistemic_within"], within.mean(), rtol=1e-6)
    assert np.isclose(m["mean_epistemic_between"], between.mean(), rtol=1e-6)
    # W: the members' own epistemic variances, averaged; B: the variance of their means
    members = [e[f"members/{k}/predictions/test/epistemic_variance"][:] for k in "01"]
    assert np.allclose(within, np.mean(members, axis=0), rtol=1e-5, atol=1e-7)
    means = np.array([e[f"members/{k}/predictions/test/mean"][:] for k in "01"], np.float64)
    assert np.allclose(between, means.var(axis=0), rtol=1e-3, atol=1e-5)
    assert "noise" in e["predictions"] and "auroc_epistemic_std" in e["metrics/ood/noise"].attrs
    assert "standardization/target_std" in e
    # member 1 is the single model of its seed; the mixture the same from 1 and 2 ranks
    for name in ("predictions/test/mean", "predictions/test/nll", "checkpoint/parameters"):
        assert np.array_equal(e[f"members/1/{name}"][:], single[name][:]), name
    for name in ("mean", "std", "nll", "epistemic_within", "epistemic_between"):
        assert np.array_equal(p[name][:], one[f"predictions/test/{name}"][:]), f"{name}: 1 and 2 ranks"
    rmse = [e[f"members/{k}/metrics/test"].attrs["rmse"] for k in "01"]
    print(f"PASSED: the ensemble's file: RMSE {m['rmse']:.4g} (members {rmse[0]:.4g}, "
          f"{rmse[1]:.4g}), NLL {m['nll']:.4f}, W {m['mean_epistemic_within']:.4g} + B "
          f"{m['mean_epistemic_between']:.4g}")
PY

for ranks in 1 2; do
  for split in examples samples; do
    run_mpi -n $ranks "$kbnn" predict "$out/ens.h5" --split $split --sample-probabilities \
      --output "$out/predict_${ranks}_$split.h5" > "$out/predict.log" 2>&1 ||
      fail "predict on $ranks rank(s), split $split: $(tail -3 "$out/predict.log")"
    /usr/bin/python3 "$here/check_regression.py" "$out/predict_${ranks}_$split.h5" "$out/ens.h5" ||
      fail "predict on $ranks rank(s), split $split"
  done
done
grep -q "an ensemble of 2 members" "$out/predict.log" || fail "predict does not name the ensemble"

run_mpi -n 2 "$kbnn" prune "$out/ens.h5" --fractions=0.5 > "$out/prune.log" 2>&1 ||
  fail "prune of the ensemble: $(tail -3 "$out/prune.log")"
/usr/bin/python3 - "$out" <<'PY' || fail "prune's fraction 0 is not the ensemble"
import sys, h5py
out = sys.argv[1]
with h5py.File(f"{out}/ens.pruning.h5") as p, h5py.File(f"{out}/ens.h5") as e:
    table = p["pruning"]
    for key in ("rmse", "nll", "coverage_95", "mean_epistemic_variance"):
        assert table[key][0] == e["metrics/test"].attrs[key], key
    assert table["auroc_epistemic_std"][0] == e["metrics/ood/noise"].attrs["auroc_epistemic_std"]
print("PASSED: prune scores the regression ensemble")
PY

"$kbnn" info "$out/ens.h5" > "$out/info.txt" || fail "kbnn info exited $?"
for text in "ens.h5: run file of a finished ensemble" "ensemble: 2 members trained over 2 rank group(s)" \
    "member 1: group 1 (1 rank(s)), seed $seed1" "; test rmse" "AUROC predictive_std" \
    "mixture: test rmse" "within-member" "(target units squared)" "metrics/test: rmse"; do
  grep -qF -- "$text" "$out/info.txt" || { cat "$out/info.txt"; fail "kbnn info lacks '$text'"; }
done
! grep -qi "nan" "$out/info.txt" || { cat "$out/info.txt"; fail "kbnn info prints a NaN"; }

# --dry-run writes nothing; --restart auto with more epochs continues each member from
# its finished run, as the ensemble trained 8 epochs at once.
(cd "$out" && find . -name '*.h5' -print0 | sort -z | xargs -0 md5sum > "$out/sums")
train 2 ens --parallel.ensemble=2 --restart auto --train.epochs=8 --dry-run
grep -q "^dry run: the ensemble's 2 members checked" "$out/ens.log" || fail "no dry-run summary"
(cd "$out" && md5sum -c --quiet "$out/sums") || fail "--dry-run changed files"
train 2 ens --parallel.ensemble=2 --restart auto --train.epochs=8
train 2 ens_8 --parallel.ensemble=2 --train.epochs=8
/usr/bin/python3 - "$out" <<'PY' || fail "the continued ensemble differs from the one trained at once"
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/ens.h5") as a, h5py.File(f"{out}/ens_8.h5") as b:
    for name in ("mean", "std", "nll", "epistemic_within", "epistemic_between"):
        assert np.array_equal(a[f"predictions/test/{name}"][:], b[f"predictions/test/{name}"][:]), name
    for k in "01":
        assert np.array_equal(a[f"members/{k}/checkpoint/parameters"][:],
                              b[f"members/{k}/checkpoint/parameters"][:]), k
        assert a[f"members/{k}/checkpoint"].attrs["step"] == b[f"members/{k}/checkpoint"].attrs["step"]
print("PASSED: --restart auto continues the members bit for bit")
PY
# An unfinished ensemble (member 1 never ran, no ensemble file): --restart auto leaves
# member 0 as it is, trains member 1 and writes the same mixture.
rm "$out/ens_8.h5" "$out"/ens_8.members/member_1.*
train 2 ens_8 --parallel.ensemble=2 --train.epochs=8 --restart auto
grep -q "^\[member 0\] restart: auto: .*nothing to do" "$out/ens_8.log" ||
  fail "member 0 was not left as it was: $(grep -E '^\[member 0\] restart' "$out/ens_8.log")"
/usr/bin/python3 - "$out" <<'PY' || fail "the resumed unfinished ensemble differs"
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/ens.h5") as a, h5py.File(f"{out}/ens_8.h5") as b:
    assert b.attrs["status"] == "finished"
    for name in ("mean", "std", "nll", "epistemic_within", "epistemic_between"):
        assert np.array_equal(a[f"predictions/test/{name}"][:], b[f"predictions/test/{name}"][:]), name
print("PASSED: an unfinished ensemble resumes: member 1 trained, the same mixture")
PY
# A SIGTERM to rank 0 while member 0 trains: group 0 stops with member 0's checkpoint,
# group 1 finishes member 1, the job exits 75 and writes no ensemble file; the printed
# command resumes member 0 from its checkpoint, leaves member 1 alone, and the mixture
# equals an uninterrupted run's. The signal must land before member 0's last step, some
# 10-30 ms after step 5 is logged: the 16-unit model's 400 steps take ~4 ms, so this part
# trains two hidden layers of 256 for 80 epochs (800 steps, ~1 ms each, ~0.5 s at best).
sed 's/^layer = dense out=16$/layer = dense out=256\nlayer = relu\nlayer = dense out=256/' \
  "$out/reg.cfg" > "$out/slow.cfg"
grep -q "^layer = dense out=256$" "$out/slow.cfg" || fail "slow.cfg has no wider layers"
run_mpi -n 2 "$kbnn" train "$out/slow.cfg" --output.name=sig_full --parallel.ensemble=2 \
  --train.epochs=80 > "$out/sig_full.log" 2>&1 || fail "sig_full: kbnn train failed"
rc=0
run_mpi -n 2 "$kbnn" train "$out/slow.cfg" --output.name=sig --parallel.ensemble=2 --train.epochs=80 \
  > "$out/sig.log" 2>&1 &
job=$!
signal_when "$job" "$out/sig.log" "^\[member 0\] step *5/" "^$kbnn train .*--output.name=sig" 0
wait "$job" || rc=$?
((rc == 75)) || fail "the signalled regression ensemble exited $rc, expected 75: $(tail -5 "$out/sig.log")"
[[ -f $out/sig.members/member_0.checkpoint.h5 && ! -e $out/sig.h5 ]] ||
  fail "no checkpoint of member 0, or an ensemble file though member 0 is unfinished"
command=$(sed -n 's/^continue with: //p' "$out/sig.log")
[[ $command == *"--restart auto" ]] || fail "the stop prints no command to continue: $(tail -3 "$out/sig.log")"
(cd "$out" && eval "run_mpi -n 2 $command") > "$out/sig_resume.log" 2>&1 ||
  fail "the resumed regression ensemble failed: $(tail -5 "$out/sig_resume.log")"
grep -q "^\[member 0\] restart: .*member_0.checkpoint.h5 at step" "$out/sig_resume.log" ||
  fail "member 0 did not resume from its checkpoint: $(grep restart "$out/sig_resume.log")"
/usr/bin/python3 - "$out" <<'PY' || fail "the regression ensemble resumed after a signal differs"
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/sig_full.h5") as a, h5py.File(f"{out}/sig.h5") as b:
    assert b.attrs["status"] == "finished"
    for name in ("mean", "std", "nll", "epistemic_within", "epistemic_between"):
        assert a[f"predictions/test/{name}"][:].tobytes() == b[f"predictions/test/{name}"][:].tobytes(), name
    for key, value in a["metrics/test"].attrs.items():
        assert np.array_equal(value, b["metrics/test"].attrs[key]), key
    for k in "01":
        assert np.array_equal(a[f"members/{k}/checkpoint/parameters"][:],
                              b[f"members/{k}/checkpoint/parameters"][:]), k
print("PASSED: a regression ensemble stopped by a signal mid-member resumes to the same mixture")
PY

# Held-out rows: each member evaluates them during training; the mixture fits nothing.
train 2 held_out --parallel.ensemble=2 --data.validation_fraction=0.1 --eval.every_epochs=2
grep -q "^ensemble: data.validation_fraction = 0.1: the held-out rows were each member's evaluation set" \
  "$out/held_out.log" || fail "no note on the held-out rows: $(grep ^ensemble "$out/held_out.log")"
/usr/bin/python3 -c "
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    assert len(f['members/0/history/eval/nll']) == 2 and 'calibration' not in f
" "$out/held_out.h5" || fail "the members did not evaluate the held-out rows"

# The plots of the ensemble's file: the mixture's regression plots, and the members'.
if /usr/bin/python3 -c "import h5py, matplotlib" 2> /dev/null; then
  plots=$here/../../postprocess/kbnn_plots.py
  /usr/bin/python3 "$plots" regression "$out/ens.h5" --out-dir "$out/plots" > /dev/null ||
    fail "kbnn_plots.py regression on the ensemble's file failed"
  [[ -s $out/plots/ens_predicted_vs_true.png ]] || fail "no regression plot of the ensemble"
  /usr/bin/python3 "$plots" members "$out/ens.h5" -o "$out/plots/members.png" 2> "$out/plot.err" ||
    fail "kbnn_plots.py members: $(cat "$out/plot.err")"
fi
echo "PASSED"
