#!/usr/bin/env bash
# An ensemble stopped by SIGTERM resumes bit for bit. K = 3 on 2 ranks: group 0 (rank 0)
# trains members 0 and 2 one after another, group 1 (rank 1) member 1. A SIGTERM to
# rank 0 while member 0 trains stops group 0 after that step with member 0's checkpoint
# (member 2 never starts); group 1 finishes member 1; the job exits 75. `--restart auto`
# then resumes member 0 from its checkpoint, finds member 1 finished (its run file's
# final checkpoint: no step is trained again) and trains member 2 from the start; every
# member's history and final state, and the ensemble's predictions and metrics, equal an
# uninterrupted run's bit for bit. A second `--restart auto` retrains nothing.
#   usage: ensemble_signal_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
args=(--data.train_limit=1200 --data.test_limit=100 --train.batch_size=100 --train.epochs=2
      --train.log_every=5 --eval.samples=2 --eval.every_epochs=1 --ood.shift=invert
      --parallel.ensemble=3 --output.dir="$out")

run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=full > "$out/full.log" 2>&1 ||
  fail "the uninterrupted ensemble failed: $(tail -5 "$out/full.log")"

run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run > "$out/run.log" 2>&1 &
job=$!
for _ in $(seq 1200); do
  grep -q "^\[member 0\] step *5/" "$out/run.log" && break
  sleep 0.05
done
# World rank 0 of this job (Open MPI tells each rank its rank in its environment).
rank0=""
for pid in $(pgrep -f "^$kbnn train .*--output.dir=$out --output.name=run" || true); do
  tr '\0' '\n' < "/proc/$pid/environ" | grep -qx "OMPI_COMM_WORLD_RANK=0" && rank0=$pid
done
[[ -n $rank0 ]] || fail "no rank 0 process found"
kill -TERM "$rank0"
rc=0
wait "$job" || rc=$?
cat "$out/run.log"
((rc == 75)) || fail "the signalled ensemble exited $rc, expected 75"
grep -q "stopped by a signal with member(s) 0, 2 unfinished" "$out/run.log" ||
  fail "the stop does not name the unfinished members"
[[ -f $out/run.members/member_0.checkpoint.h5 ]] || fail "no checkpoint of member 0"
[[ ! -e $out/run.members/member_2.h5 ]] || fail "member 2 started after the signal"
[[ ! -e $out/run.h5 ]] || fail "an ensemble file was written though members are unfinished"

run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run --restart auto > "$out/resume.log" 2>&1 ||
  fail "the resumed ensemble failed: $(tail -5 "$out/resume.log")"
grep "restart" "$out/resume.log" || true
grep -q "^\[member 0\] restart: .*member_0.checkpoint.h5 at step" "$out/resume.log" ||
  fail "member 0 did not resume from its checkpoint"
grep -q "^\[member 2\] restart: auto: no .* starting fresh" "$out/resume.log" ||
  fail "member 2 did not start fresh"
for k in 0 1 2; do
  /usr/bin/python3 "$(dirname "$0")/compare_runs.py" "$out/full.members/member_$k.h5" \
    "$out/run.members/member_$k.h5" || fail "member $k differs from the uninterrupted run's"
done
same_mixture() {  # FILE: its predictions and metrics equal full.h5's
  /usr/bin/python3 - "$out/full.h5" "$1" <<'PY'
import sys
import h5py
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for group in ("predictions", "metrics"):
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj[...].tobytes() != b[group][name][...].tobytes():
            sys.exit(f"FAILED: /{group}/{name} differs")
        if dict(obj.attrs) != dict(b[group][name].attrs):
            sys.exit(f"FAILED: the attributes of /{group}/{name} differ")
    a[group].visititems(visit)
for k in "012":
    if a[f"members/{k}/checkpoint/parameters"][...].tobytes() != \
            b[f"members/{k}/checkpoint/parameters"][...].tobytes():
        sys.exit(f"FAILED: /members/{k}/checkpoint/parameters differs")
print(f"PASSED: {sys.argv[2]}: the mixture's predictions and metrics, and the members, as uninterrupted")
PY
}
same_mixture "$out/run.h5" || fail "the resumed ensemble's file differs"

# Once finished, a requeue retrains nothing: every member resumes at its last step.
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run --restart auto > "$out/again.log" 2>&1 ||
  fail "the second --restart auto failed"
[[ $(grep -c "^\[member [02]\] restart: .*member_[02].h5 at step 24" "$out/again.log") == 2 ]] ||
  fail "finished members were not resumed from their run files: $(grep restart "$out/again.log")"
grep -q "^\[member [02]\] step " "$out/again.log" && fail "a finished member trained again"
same_mixture "$out/run.h5" || fail "the requeued ensemble's file differs"
echo "PASSED"
