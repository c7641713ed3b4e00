#!/usr/bin/env bash
# No command loses a run or reports a failed one as done:
#   1. kbnn predict and kbnn prune refuse an --output that is the model they read (by
#      file identity: another path to it, a link) or a file of another kind (a run, a
#      checkpoint, a file kbnn did not write), before any work, and leave it as it was;
#      their own kind of file they replace, as before;
#   2. an OOD set named like the test set, and 3. a set named ood (/metrics/ood) or
#      empty, are refused before anything runs, naming the option;
#   2. a run file whose run died after training (here: made to look so) is no finished
#      run: kbnn info and --restart auto say so; from a checkpoint of its last step
#      --restart auto writes the results without training again;
#   4. a plain train refuses to replace a stopped run, and --restart auto one whose
#      checkpoint is missing;
#   5. a restart refuses a training set of another size than its checkpoint's, naming
#      both; a checkpoint that does not record it (older versions) is taken as before.
#   usage: keep_runs_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
runs=$out/runs
sized=(--data.test_limit=100 --train.batch_size=50 --train.log_every=2 --eval.samples=2
       --output.dir="$runs")  # the training set's size to come
small=("${sized[@]}" --data.train_limit=300)

refused() {  # refused RANKS MESSAGE ARGS...: kbnn ARGS exits 1 with MESSAGE, files unchanged
  local ranks=$1 message=$2; shift 2
  (cd "$runs" && md5sum ./* > "$out/sums")
  local rc=0
  run_mpi -n "$ranks" "$kbnn" "$@" > "$out/stdout" 2> "$out/stderr" || rc=$?
  ((rc == 1)) || fail "kbnn $*: exit status $rc, expected 1: $(cat "$out/stderr")"
  (($(grep -c "^kbnn" "$out/stderr") == 1)) || fail "kbnn $*: not one message: $(cat "$out/stderr")"
  grep -qF -- "kbnn: error: $message" "$out/stderr" ||
    fail "kbnn $*: no '$message': $(cat "$out/stderr")"
  (cd "$runs" && md5sum -c --quiet "$out/sums") || fail "kbnn $* changed a file"
}
kind() {  # kind FILE TEXT: kbnn info's first line for FILE ends with TEXT
  local line
  line=$("$kbnn" info "$1" | head -1)
  [[ $line == *": $2" ]] || fail "kbnn info $1 says '$line', expected '$2'"
}

"$kbnn" train "$deck" "${small[@]}" --output.name=run --output.checkpoint_every=6 > /dev/null ||
  fail "the first run failed"
cp "$runs/run.h5" "$runs/copy.h5"
echo "not kbnn's" > "$runs/notes.h5"

# 1. predict and prune over their own model, by any path to it.
ln -s copy.h5 "$runs/link.h5"
for n in 1 2; do
  refused $n "predict: --output $runs/copy.h5 is the model it reads ($runs/copy.h5), which it would replace: pick another --output" \
    predict "$runs/copy.h5" --output "$runs/copy.h5"
  refused $n "predict: --output $runs/../runs/link.h5 is the model it reads" \
    predict "$runs/copy.h5" --output "$runs/../runs/link.h5"
  refused $n "prune: --output $runs/copy.h5 is the model it reads" \
    prune "$runs/copy.h5" --fractions=0.5 --output="$runs/copy.h5"
done
cp "$runs/run.h5" "$runs/job.pruned_0.5.h5"  # its checkpoint for 0.5 would be itself
refused 1 "prune: the pruned checkpoint $runs/job.pruned_0.5.h5 is the model it reads" \
  prune "$runs/job.pruned_0.5.h5" --fractions=0.5 --output="$runs/job.pruning.h5"
rm "$runs/job.pruned_0.5.h5"
# ... and over files of another kind.
refused 2 "predict: --output $runs/run.h5 holds the run file of a finished run, which it would replace: pick another --output" \
  predict "$runs/copy.h5" --output "$runs/run.h5"
refused 1 "predict: --output $runs/run.checkpoint.h5 holds the checkpoint, which it would replace" \
  predict "$runs/copy.h5" --output "$runs/run.checkpoint.h5"
refused 1 "predict: --output $runs/notes.h5 holds a file that kbnn did not write" \
  predict "$runs/copy.h5" --output "$runs/notes.h5"
refused 2 "prune: --output $runs/run.h5 holds the run file of a finished run" \
  prune "$runs/copy.h5" --fractions=0.5 --output="$runs/run.h5"
# Their own files they replace, as before; each other's they leave alone.
for _ in 1 2; do
  "$kbnn" predict "$runs/copy.h5" --output "$runs/p.h5" > /dev/null || fail "predict over its own file"
  "$kbnn" prune "$runs/copy.h5" --fractions=0.5 --output="$runs/q.pruning.h5" > /dev/null ||
    fail "prune over its own files"
done
refused 1 "predict: --output $runs/q.pruning.h5 holds the pruning file (kbnn prune)" \
  predict "$runs/copy.h5" --output "$runs/q.pruning.h5"
refused 1 "prune: --output $runs/p.h5 holds the prediction file (kbnn predict)" \
  prune "$runs/copy.h5" --fractions=0.5 --output="$runs/p.h5"
kind "$runs/copy.h5" "run file of a finished run"

# 2 and 3. Set names that would collide, refused before training or predicting.
refused 1 "command line: ood.name must not be 'test', the test set's name" \
  train "$deck" "${small[@]}" --output.name=clash --ood.shift=noise --ood.name=test
[[ ! -e $runs/clash.h5 ]] || fail "the refused run left a file"
refused 1 "command line: ood.name must not be 'ood', which names /metrics/ood" \
  train "$deck" "${small[@]}" --output.name=clash --ood.shift=noise --ood.name=ood
rc=0
"$kbnn" predict "$runs/copy.h5" --set-name=ood --ood.shift=noise --output "$runs/sig.h5" \
  > /dev/null 2> "$out/stderr" || rc=$?
((rc == 2)) && grep -qF "kbnn: predict: --set-name must not be 'ood', which names /metrics/ood" "$out/stderr" ||
  fail "--set-name=ood: exit $rc: $(cat "$out/stderr")"
rc=0
"$kbnn" predict "$runs/copy.h5" --set-name= > /dev/null 2> "$out/stderr" || rc=$?
((rc == 2)) && grep -qF "kbnn: predict: --set-name must not be empty" "$out/stderr" ||
  fail "--set-name=: exit $rc: $(cat "$out/stderr")"
[[ ! -e $runs/sig.h5 && ! -e $runs/copy.predict.h5 ]] || fail "a refused predict wrote a file"

# 2. A run that died in its final evaluation: its file has /checkpoint and /metrics but
# stays "running". Not finished for kbnn info, nor for --restart auto.
cp "$runs/run.h5" "$runs/died.h5"
/usr/bin/python3 -c "import h5py, sys; h5py.File(sys.argv[1], 'r+').attrs['status'] = 'running'" "$runs/died.h5"
kind "$runs/died.h5" "run file of an unfinished run (still training, or it died before the end)"
"$kbnn" train "$deck" "${small[@]}" --output.name=died --restart auto > "$out/died.log" ||
  fail "--restart auto on the died run failed: $(cat "$out/died.log")"
if grep -q "nothing to do" "$out/died.log"; then fail "--restart auto took the died run for finished"; fi
kind "$runs/died.h5" "run file of a finished run"
# The same death with its last checkpoint at the final step (output.checkpoint_every = 6
# of 6 steps): --restart auto trains nothing and writes the results the run died before,
# the very ones run.h5 holds (same weights, same evaluation).
cp "$runs/run.h5" "$runs/late.h5"
cp "$runs/run.checkpoint.h5" "$runs/late.checkpoint.h5"
/usr/bin/python3 -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r+') as f:
    f.attrs['status'] = 'running'
    for group in ('metrics', 'predictions', 'weights', 'checkpoint'):
        del f[group]" "$runs/late.h5"
"$kbnn" train "$deck" "${small[@]}" --output.name=late --output.checkpoint_every=6 --restart auto \
  > "$out/late.log" || fail "--restart auto after the last step failed: $(cat "$out/late.log")"
grep -qx "restart: $runs/late.checkpoint.h5 has trained all 6 steps; the run's results are still to write" \
  "$out/late.log" || fail "the restart does not say that only the results are left: $(cat "$out/late.log")"
if grep -q "^step \|^training: " "$out/late.log"; then
  fail "the restart after the last step trained again, or reported a speed of no steps"
fi
kind "$runs/late.h5" "run file of a finished run"
/usr/bin/python3 -c "
import h5py, numpy as np, sys
late, run = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
assert dict(late['metrics/test'].attrs) == dict(run['metrics/test'].attrs), 'test metrics differ'
for name in ('predictions/test/probs_mean', 'history/loss', 'weights/dense_11/kernel_mu'):
    assert np.array_equal(late[name][()], run[name][()]), name + ' differs'" "$runs/late.h5" "$runs/run.h5" ||
  fail "the results written after the last step are not the run's"

# 4. A stopped run whose checkpoint went missing: --restart auto must not start afresh
# over it.
long=(--data.train_limit=1000 --data.test_limit=100 --train.batch_size=25 --train.log_every=4
      --eval.samples=2 --train.epochs=2 --output.dir="$runs" --output.name=stopped)
"$kbnn" train "$deck" "${long[@]}" > "$out/stop.log" 2>&1 &
job=$!
signal_when "$job" "$out/stop.log" "^step *4/" "^$kbnn train .*--output.name=stopped"
rc=0
wait "$job" || rc=$?
((rc == 75)) || { cat "$out/stop.log"; fail "the stopped run exited $rc, expected 75"; }
# A plain train into the stopped run's file would start afresh over it: refused, with the
# way to continue (refused checks that no file changed, the checkpoint included).
for n in 1 2; do
  refused $n "$runs/stopped.h5 holds a run that a signal stopped: continue it with --restart auto, or set output.overwrite = true to start afresh" \
    train "$deck" "${long[@]}"
done
kind "$runs/stopped.h5" "run file of a run that a signal stopped"
mv "$runs/stopped.checkpoint.h5" "$out/"
refused 1 "--restart auto: $runs/stopped.h5 holds a run that a signal stopped, but its checkpoint $runs/stopped.checkpoint.h5 is missing: put it back to continue the run, or start over with output.overwrite = true or another output.name" \
  train "$deck" "${long[@]}" --restart auto
kind "$runs/stopped.h5" "run file of a run that a signal stopped"
"$kbnn" train "$deck" "${long[@]}" --restart auto --output.overwrite=true \
  > "$out/afresh.log" || fail "output.overwrite = true did not start the stopped run afresh"
grep -q "^restart: auto: no $runs/stopped.checkpoint.h5 yet, starting fresh" "$out/afresh.log" ||
  fail "the fresh start does not say so: $(head -3 "$out/afresh.log")"

# 5. The training set's size: run.h5 trained 300 examples for 1 epoch (6 steps).
refused 1 "$runs/run.h5: the checkpoint was trained on 300 training examples, the data now has 100 (data.train_limit, data.validation_fraction or the data set changed)" \
  train "$deck" "${sized[@]}" --output.name=run --data.train_limit=100 --train.epochs=4 --restart auto
refused 1 "$runs/run.h5: the checkpoint was trained on 300 training examples, the data now has 500" \
  train "$deck" "${sized[@]}" --output.name=more --data.train_limit=500 --train.epochs=2 --restart "$runs/run.h5"
"$kbnn" train "$deck" "${small[@]}" --output.name=run --train.epochs=2 --restart auto > "$out/more.log" ||
  fail "a restart on the same examples failed: $(cat "$out/more.log")"
# A checkpoint of an older version records neither the size nor the checksum: the
# restart goes ahead as it did.
/usr/bin/python3 -c "
import h5py, sys
attrs = h5py.File(sys.argv[1], 'r+')['checkpoint'].attrs
del attrs['train_examples'], attrs['train_checksum']" "$runs/copy.h5"
"$kbnn" train "$deck" "${sized[@]}" --output.name=old --data.train_limit=500 --train.epochs=2 \
  --restart "$runs/copy.h5" > "$out/old.log" || fail "a checkpoint without train_examples was refused: $(cat "$out/old.log")"
echo "PASSED"
