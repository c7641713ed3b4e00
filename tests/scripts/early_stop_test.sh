#!/usr/bin/env bash
# train.early_stop = P on 2 ranks: training ends after P evaluations without a lower
# validation NLL, and the run keeps the best evaluation's model:
#  - the log says so; /checkpoint is at the step of the lowest /history/eval nll, with
#    trained_to (the last history step) and ended_early; <run>.best.h5 is gone; kbnn
#    predict on the run file repeats its test metrics exactly (the kept model is the one
#    evaluated); kbnn_plots.py history marks its step; --restart auto leaves the finished
#    run untouched;
#  - a run stopped by a signal mid-way and resumed ends bit for bit as the uninterrupted
#    one (history, evaluations, the kept state);
#  - a restart at the step the stop was decided trains no more and keeps the best;
#  - a restart whose best model is not on disk (early stopping was off before it) seeks
#    the best among its own evaluations and says so;
#  - without validation rows it is refused.
#   usage: early_stop_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
python=/usr/bin/python3
"$python" -c "import h5py" 2> /dev/null || skip "$python lacks h5py (apt-get install python3-h5py)"
args=(--data.train_limit=1000 --data.test_limit=500 --data.validation_fraction=0.3
      --eval.every_epochs=1 --eval.samples=4 --train.epochs=40 --train.lr=0.01
      --train.batch_size=50 --train.log_every=14 --output.checkpoint_every=14
      --output.dir="$out")
train() { run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" "$@"; }

train --train.early_stop=2 --output.name=full > "$out/full.log" ||
  { cat "$out/full.log"; fail "the run with train.early_stop failed"; }
grep "^early stop\|^train.early_stop" "$out/full.log"
grep -q "^early stop: the validation NLL has not fallen for 2 evaluations since epoch" "$out/full.log" ||
  fail "training did not stop early in 40 epochs: $(grep '^eval' "$out/full.log")"
[[ ! -e $out/full.best.h5 ]] || fail "full.best.h5 is left behind"
"$python" - "$out/full.h5" <<'PYEOF' || fail "the run file does not keep the best evaluation's model"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    nll, steps = f["history/eval/nll"][:], f["history/eval/step"][:]
    best = int(steps[np.argmin(nll)])
    c = f["checkpoint"].attrs
    last = int(f["history/step"][-1])
    assert int(c["step"]) == best, f"/checkpoint step {c['step']}, best evaluation {best}"
    assert int(c["trained_to"]) == last and int(c["ended_early"]) == 1, dict(c)
    assert last < 40 * 14 and len(nll) == np.argmin(nll) + 3, (last, nll)
    assert int(f["checkpoint/history/step"][-1]) == best
print(f"kept step {best} of {last}")
PYEOF
run_mpi -n 2 "$kbnn" predict "$out/full.h5" --output "$out/predicted.h5" > /dev/null ||
  fail "kbnn predict on the run failed"
"$python" - "$out/full.h5" "$out/predicted.h5" <<'PYEOF' || fail "predict does not repeat the run's test metrics"
import sys, h5py
with h5py.File(sys.argv[1], "r") as run, h5py.File(sys.argv[2], "r") as p:
    for name in ["accuracy", "nll", "brier", "ece"]:
        a, b = run["metrics/test"].attrs[name], p["metrics/test"].attrs[name]
        assert a == b, f"{name}: run {a}, predict {b}"
PYEOF
# kbnn info says the checkpoint is the best evaluation's and how far training went.
last=$(grep -o '^early stop: .*training ends at step [0-9]*' "$out/full.log" | grep -o '[0-9]*$')
run_mpi -n 1 "$kbnn" info "$out/full.h5" > "$out/info.txt" || fail "kbnn info on the run failed"
grep -q "train.early_stop: the best evaluation's state; training went on to step $last, where the early stop ended it" \
  "$out/info.txt" || fail "kbnn info does not say the checkpoint is the best evaluation's: $(grep -A2 '^  checkpoint' "$out/info.txt")"
# kbnn_plots.py history marks the kept model's step on every panel.
"$python" - "$out/full.h5" "$(dirname "$0")/../../postprocess" <<'PYEOF' || fail "the history plot does not mark the kept model"
import sys, h5py
sys.path.insert(0, sys.argv[2])
import kbnn_plots
figures = []
kbnn_plots._save = lambda figure, path: figures.append(figure)
assert kbnn_plots.main(["history", sys.argv[1]]) == 0
kept = int(h5py.File(sys.argv[1], "r")["checkpoint"].attrs["step"])
panels = [a for a in figures[-1].axes if a.get_visible()]
for axis in panels:
    lines = [l for l in axis.get_lines() if l.get_label() == "kept model (best validation NLL)"]
    assert len(lines) == 1 and list(lines[0].get_xdata()) == [kept, kept], (axis.get_title(), kept)
print(f"history plot: the kept step {kept} marked on {len(panels)} panels")
PYEOF
md5=$(md5sum < "$out/full.h5")
train --train.early_stop=2 --output.name=full --restart auto > "$out/again.log" ||
  fail "--restart auto on the finished run failed"
grep -q "holds the finished run (the best evaluation's model, step [0-9]*; training ended early at step [0-9]* of 560): nothing to do" \
  "$out/again.log" || fail "--restart auto did not leave the run alone: $(cat "$out/again.log")"
[[ $(md5sum < "$out/full.h5") == "$md5" ]] || fail "--restart auto changed the finished run's file"

# Stopped by a signal in its third epoch, resumed: the same run.
train --train.early_stop=2 --output.name=run > "$out/run.log" 2>&1 &
job=$!
signal_when "$job" "$out/run.log" "^step *28/" "^$kbnn train .*--output.dir=$out .*--output.name=run"
rc=0
wait "$job" || rc=$?
((rc == 75)) || { cat "$out/run.log"; fail "the signalled run exited $rc, expected 75"; }
[[ -f $out/run.best.h5 ]] || fail "the stopped run has no run.best.h5"
train --train.early_stop=2 --output.name=run --restart auto > "$out/resumed.log" ||
  { cat "$out/resumed.log"; fail "the resumed run failed"; }
"$python" "$(dirname "$0")/compare_runs.py" "$out/full.h5" "$out/run.h5" ||
  fail "the resumed run differs from the uninterrupted one"

# A restart from the step the early stop was decided at (a signal in that very step):
# it trains no more and keeps the best. Built from runs without early stopping, which
# train alike: one to that step, one to the best step, whose state is the best model.
stop=$("$python" -c "import sys, h5py; print(int(h5py.File(sys.argv[1], 'r')['checkpoint'].attrs['trained_to']))" "$out/full.h5")
best=$("$python" -c "import sys, h5py; print(int(h5py.File(sys.argv[1], 'r')['checkpoint'].attrs['step']))" "$out/full.h5")
train --train.max_steps="$best" --output.name=best > /dev/null || fail "the run to the best step failed"
train --train.max_steps="$stop" --output.name=decided > /dev/null || fail "the run to the stop failed"
cp "$out/best.checkpoint.h5" "$out/decided.best.h5"
train --train.early_stop=2 --output.name=decided --restart "$out/decided.checkpoint.h5" \
  > "$out/decided.log" || { cat "$out/decided.log"; fail "the restart at the decided stop failed"; }
grep -q "^early stop: .* (decided before the restart)" "$out/decided.log" ||
  fail "the restart at the decided stop did not say so: $(cat "$out/decided.log")"
"$python" "$(dirname "$0")/compare_runs.py" "$out/full.h5" "$out/decided.h5" ||
  fail "the restart at the decided stop differs from the uninterrupted run"

# Early stopping turned on at a restart: no best model on disk yet.
train --train.max_steps=70 --output.name=late > /dev/null || fail "the run without early stopping failed"
train --train.early_stop=2 --output.name=late --restart "$out/late.checkpoint.h5" > "$out/late.log" ||
  { cat "$out/late.log"; fail "the restart with train.early_stop failed"; }
grep -q "^train.early_stop: $out/late.best.h5 does not hold the best evaluation's model (step [0-9]*; early stopping was off, or the file was removed): the best is sought among the evaluations from this restart on" \
  "$out/late.log" || fail "the restart did not say where it seeks the best: $(cat "$out/late.log")"
"$python" -c "
import sys, h5py
with h5py.File(sys.argv[1], 'r') as f:
    assert int(f['checkpoint'].attrs['step']) > 70, int(f['checkpoint'].attrs['step'])" "$out/late.h5" ||
  fail "the late run kept a model from before its restart"

# Without validation rows: refused.
rc=0
run_mpi -n 2 "$kbnn" train "$deck" --train.early_stop=2 --output.dir="$out" > /dev/null 2> "$out/refused.err" || rc=$?
((rc == 1)) && grep -q "^kbnn: error: command line: train.early_stop = 2 needs validation rows evaluated during training: data.validation_fraction > 0 and eval.every_epochs > 0" \
  "$out/refused.err" || fail "train.early_stop without validation rows: exit $rc, $(cat "$out/refused.err")"
echo "PASSED"
