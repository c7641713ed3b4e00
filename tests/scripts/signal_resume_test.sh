#!/usr/bin/env bash
# Requeue-safe runs: a SIGTERM to ONE rank of a 2-rank job stops both after the same
# step, writes <name>.checkpoint.h5 and exits 75; `--restart auto` then finishes the
# run, and its file holds the whole history, equal bit for bit (but the wall-clock
# columns) to an uninterrupted run's, with the same final state. A restart with another
# seed is refused with a message naming it, unless --restart-force.
#   usage: signal_resume_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
args=(--data.train_limit=1200 --data.test_limit=100 --train.batch_size=100 --train.epochs=2
      --train.log_every=5 --eval.samples=2 --eval.every_epochs=1 --output.dir="$out")

run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=full > "$out/full.log" ||
  fail "the uninterrupted run failed"

# The run to interrupt: one rank is signalled once step 5 (of 24) is logged.
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run > "$out/run.log" 2>&1 &
job=$!
# A rank of this job: its command line starts with the kbnn binary (mpiexec's does
# not) and names this test's own output directory.
signal_when "$job" "$out/run.log" "^step *5/" "^$kbnn train .*--output.dir=$out --output.name=run"
rc=0
wait "$job" || rc=$?
cat "$out/run.log"
((rc == 75)) || fail "the signalled job exited $rc, expected 75"
grep -q "stopped by a signal after step" "$out/run.log" || fail "no 'stopped by a signal' message"
[[ -f "$out/run.checkpoint.h5" ]] || fail "no checkpoint written"

# A restart that changes the seed is refused; --restart-force overrides.
rc=0
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run --restart auto \
  --train.seed=5 > /dev/null 2> "$out/mismatch.err" || rc=$?
((rc == 1)) || fail "a restart with another seed exited $rc, expected 1"
grep -q "train.seed was 42, the deck has 5" "$out/mismatch.err" || fail "no message naming the seed"
grep -q "restart-force" "$out/mismatch.err" || fail "the message does not name --restart-force"

run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run --restart auto > "$out/resume.log" ||
  fail "the resumed run failed: $(cat "$out/resume.log")"
grep "^restart" "$out/resume.log"
/usr/bin/python3 "$(dirname "$0")/compare_runs.py" "$out/full.h5" "$out/run.h5" ||
  fail "the resumed run differs from the uninterrupted one"

# --restart auto with no checkpoint starts fresh.
run_mpi -n 1 "$kbnn" train "$deck" "${args[@]}" --train.max_steps=2 --output.name=fresh \
  --restart auto > "$out/fresh.log" || fail "--restart auto without a checkpoint failed"
grep -q "starting fresh" "$out/fresh.log" || fail "no 'starting fresh' message"
echo "PASSED"
