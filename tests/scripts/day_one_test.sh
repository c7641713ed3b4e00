#!/usr/bin/env bash
# A cluster user's first hour, on 2 ranks: a run stopped by a signal, continued with the
# very command it prints, requeued once more after it finished, read with kbnn info at
# every stage; restarts that would do nothing; a finished run in the way of a new one;
# the fine-tuning recipe of the README; the progress lines.
#   - kbnn info names the kind of every file kbnn writes and what it holds;
#   - the stop message prints the command with the deck, every override and
#     --restart auto, and that command continues the run from its checkpoint;
#   - --restart auto on a finished run says so, exits 0, and changes no file;
#   - --restart FILE with nothing left to train exits 1 naming the checkpoint's step and
#     epoch and train.epochs, and changes no file; a plain run onto a finished run's file
#     exits 1 unless output.overwrite = true;
#   - progress lines carry the elapsed time, each epoch ends with a summary line, the
#     last line gives the wall time;
#   - a second run on a run name that another run is writing is refused, naming it, and
#     kbnn info reads a run file in the middle of a row's append.
#   usage: day_one_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
common=(--data.train_limit=1000 --data.test_limit=100 --train.batch_size=25 --train.log_every=4
        --eval.samples=2 --eval.every_epochs=1 --ood.shift=invert --output.dir="$out/runs")
args=("${common[@]}" --train.epochs=2 --output.name=job)

info_says() {  # info_says FILE PATTERN...: kbnn info FILE exits 0 and prints every PATTERN
  local file=$1; shift
  "$kbnn" info "$file" > "$out/info" 2> "$out/info.err" || fail "kbnn info $file: $(cat "$out/info.err")"
  for pattern in "$@"; do
    grep -q -- "$pattern" "$out/info" || { cat "$out/info"; fail "kbnn info $file lacks '$pattern'"; }
  done
}
unchanged() {  # unchanged: the run's files are as they were at the last `snapshot`
  (cd "$out/runs" && md5sum -c --quiet "$out/sums") || fail "a run that should do nothing changed files"
  [[ $(ls "$out/runs") == "$(cat "$out/listing")" ]] || fail "files came or went: $(ls "$out/runs")"
}
snapshot() { (cd "$out/runs" && md5sum ./* > "$out/sums"); ls "$out/runs" > "$out/listing"; }

# 1. Stopped by a signal once step 4 is logged (of 80). A Kokkos option that Kokkos 3
# and 4 both know (4 renamed --kokkos-threads) must come back in the continue command.
# Where the stop lands depends on the machine's speed: the checks below take any step.
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --kokkos-disable-warnings > "$out/stop.log" 2>&1 &
job=$!
signal_when "$job" "$out/stop.log" "^step *4/" "^$kbnn train .*--output.dir=$out/runs"
rc=0
wait "$job" || rc=$?
((rc == 75)) || { cat "$out/stop.log"; fail "the stopped run exited $rc, expected 75"; }
grep -q "^step .* elapsed [0-9]*m[0-9][0-9]s  ETA " "$out/stop.log" || fail "no elapsed time in the progress lines"
command=$(sed -n 's/^continue with: //p' "$out/stop.log")
expected="$kbnn train $deck ${args[*]} --kokkos-disable-warnings --restart auto"
[[ $command == "$expected" ]] || fail "the stop message says '$command', expected '$expected'"

info_says "$out/runs/job.h5" "job.h5: run file of a run that a signal stopped" "^  model:" \
  "^  conv2d_0 *28x28x6 *flipout *150 *6" "history: .* rows; last at step" \
  "resume: $out/runs/job.checkpoint.h5 at step" "--restart auto"
info_says "$out/runs/job.checkpoint.h5" "job.checkpoint.h5: checkpoint$" "^  total .* 61470 *236" \
  "history: .* rows" "checkpoint: step [0-9]* (epoch [01]\.[0-9]*), written by 2 rank(s)" \
  "resume: kbnn train DECK --restart $out/runs/job.checkpoint.h5 trains on from step"

# 2. The printed command continues the run (it runs in $out: the same words, any folder).
(cd "$out" && eval "run_mpi -n 2 $command") > "$out/continue.log" 2>&1 ||
  { cat "$out/continue.log"; fail "the printed command failed"; }
grep -q "^restart: $out/runs/job.checkpoint.h5 at step" "$out/continue.log" ||
  fail "the printed command did not continue from the checkpoint: $(head -5 "$out/continue.log")"
grep -q "^epoch 2/2 done: nll [0-9.]*  acc [0-9.]* over its 1000 images" "$out/continue.log" ||
  fail "no summary line at the end of the epoch"
[[ $(tail -1 "$out/continue.log") == "wall time: "*" s in total: training "* ]] ||
  fail "the last line does not give the wall time: $(tail -1 "$out/continue.log")"
info_says "$out/runs/job.h5" "job.h5: run file of a finished run" "history: 20 rows; last at step 80 " \
  "history/eval: 2 rows; last at epoch 2" "metrics/test: accuracy 0\." \
  "metrics/ood/invert (100) against test (100): AUROC entropy" "predictions/test: probs_mean 100x10" \
  "weights: conv2d_0 .* dense_11 " "checkpoint: step 80 (epoch 2.00)"

# 3. Requeued once more after the end: nothing to do, exit 0, every file as it was.
snapshot
rc=0
(cd "$out" && eval "run_mpi -n 2 $command") > "$out/again.log" 2>&1 || rc=$?
((rc == 0)) || fail "--restart auto on a finished run exited $rc: $(cat "$out/again.log")"
grep -q "^restart: auto: .*job.h5 holds the finished run (step 80 of 80): nothing to do" \
  "$out/again.log" || fail "--restart auto on a finished run does not say so: $(cat "$out/again.log")"
unchanged

# 4. Restarts with nothing left to train, and a new run onto the finished one: refused.
rc=0
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --restart "$out/runs/job.h5" > /dev/null \
  2> "$out/err" || rc=$?
((rc == 1)) || fail "a restart with nothing to train exited $rc"
grep -q "job.h5: the checkpoint is at step 80 (epoch 2.00), where the deck's train.epochs = 2 (80 steps) ends: nothing left to train" \
  "$out/err" || fail "the refusal does not name step, epoch and train.epochs: $(cat "$out/err")"
rc=0
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" > /dev/null 2> "$out/err" || rc=$?
((rc == 1)) || fail "a new run onto a finished run's file exited $rc"
grep -q "job.h5 holds a finished run" "$out/err" || fail "no message: $(cat "$out/err")"
unchanged
run_mpi -n 2 "$kbnn" train "$deck" "${common[@]}" --output.name=job --train.epochs=1 --output.overwrite=true \
  > "$out/overwrite.log" || fail "output.overwrite = true did not replace the run"
info_says "$out/runs/job.h5" "run file of a finished run" "history: 10 rows; last at step 40 "

# 5. The README's pruning and fine-tuning recipe: prune, then train on from a pruned
# model with train.epochs beyond the model's epoch, under another name.
run_mpi -n 2 "$kbnn" prune "$out/runs/job.h5" --fractions=0.5 > "$out/prune.log" ||
  fail "kbnn prune failed"
grep -q "globally" "$out/prune.log" || fail "kbnn prune does not rank globally by default"
info_says "$out/runs/job.pruning.h5" "job.pruning.h5: pruning file (kbnn prune)" "scope global, S = 2, OOD set invert" \
  "fraction *removed *kept *accuracy" "^ *0.500 *30735 *30735 *0\."
info_says "$out/runs/job.pruned_0.5.h5" "checkpoint of a pruned model (kbnn prune)" \
  "pruned: 30735 of 61470 Bayesian weights removed"
run_mpi -n 2 "$kbnn" train "$deck" "${common[@]}" --restart "$out/runs/job.pruned_0.5.h5" \
  --train.epochs=2 --output.name=tuned > "$out/tune.log" || fail "fine-tuning failed: $(cat "$out/tune.log")"
grep -q "^restart: a pruned model: 30735 of 61470 Bayesian weights stay removed" "$out/tune.log" ||
  fail "fine-tuning did not keep the mask"
info_says "$out/runs/tuned.h5" "run file of a finished run" "history: 20 rows; last at step 80 "

# 6. kbnn predict's file.
run_mpi -n 2 "$kbnn" predict "$out/runs/tuned.h5" --ood.shift=rot90 --output "$out/runs/p.h5" \
  > /dev/null || fail "kbnn predict failed"
info_says "$out/runs/p.h5" "p.h5: prediction file (kbnn predict)" "model $out/runs/tuned.h5" \
  "metrics/test: accuracy" "metrics/ood/rot90 (100) against test (100): AUROC" \
  "predictions/rot90: probs_mean 100x10"
# 7. The same run twice at once (a job script submitted twice): the second is refused,
# naming the run file and the first run's process, and writes nothing; the first, paused
# meanwhile (so that it cannot end first on a fast machine), stops on a signal as usual.
"$kbnn" train "$deck" "${common[@]}" --train.epochs=50 --output.name=twice > "$out/first.log" 2>&1 &
first=$!
for _ in $(seq 6000); do
  grep -q "^step" "$out/first.log" && break
  kill -0 "$first" 2> /dev/null || fail "the first run ended early: $(cat "$out/first.log")"
  sleep 0.01
done
kill -STOP "$first"
rc=0
run_mpi -n 2 "$kbnn" train "$deck" "${common[@]}" --train.epochs=50 --output.name=twice \
  --restart auto > /dev/null 2> "$out/err" || rc=$?
kill -CONT "$first"
((rc == 1)) || fail "a second run on a run being written exited $rc: $(cat "$out/err")"
grep -q "^kbnn: error: $out/runs/twice.h5 is being written by another kbnn run right now (pid $first on .*), which holds $out/runs/twice.lock" \
  "$out/err" || fail "the second run does not say who writes the run: $(cat "$out/err")"
kill -TERM "$first"
rc=0
wait "$first" || rc=$?
((rc == 75)) || fail "the first run, signalled, exited $rc: $(tail -3 "$out/first.log")"
info_says "$out/runs/twice.h5" "twice.h5: run file of a run that a signal stopped"
[[ ! -e $out/runs/twice.lock ]] || fail "the first run left its lock file behind"
# kbnn info on a run file that a run is appending a row to (field after field): as it is
# between two fields, one longer than the others; info gives the rows every field has.
cp "$out/runs/twice.h5" "$out/growing.h5"
rows=$(/usr/bin/python3 -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r+') as f:
    d = f['history/nll']
    d.resize(d.shape[0] + 1, axis=0)
    print(d.shape[0] - 1)" "$out/growing.h5")
info_says "$out/growing.h5" "growing.h5: run file of a run that a signal stopped" "history: $rows rows; last at step"
echo "PASSED"
