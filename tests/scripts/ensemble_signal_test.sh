#!/usr/bin/env bash
# An ensemble stopped by SIGTERM resumes bit for bit. K = 3 on 2 ranks: group 0 (rank 0)
# trains members 0 and 2 one after another, group 1 (rank 1) member 1. A SIGTERM to
# rank 0 while member 0 trains stops group 0 after that step with member 0's checkpoint
# (member 2 never starts); group 1 finishes member 1; the job exits 75. `--restart auto`
# then resumes member 0 from its checkpoint, finds member 1 finished (its run file's
# final checkpoint: no step is trained again) and trains member 2 from the start; every
# member's history and final state, and the ensemble's predictions and metrics, equal an
# uninterrupted run's bit for bit. The stop prints the command that continues it, and a
# fresh start onto the stopped ensemble is refused. Once finished, `--restart auto` does
# nothing and changes no file, a fresh start is refused unless output.overwrite, and
# --dry-run writes nothing.
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
signal_when "$job" "$out/run.log" "^\[member 0\] step *5/" \
  "^$kbnn train .*--output.dir=$out --output.name=run" 0
rc=0
wait "$job" || rc=$?
cat "$out/run.log"
((rc == 75)) || fail "the signalled ensemble exited $rc, expected 75"
grep -q "stopped by a signal with member(s) 0, 2 unfinished" "$out/run.log" ||
  fail "the stop does not name the unfinished members"
command=$(sed -n 's/^continue with: //p' "$out/run.log")
expected="$kbnn train $deck ${args[*]} --output.name=run --restart auto"
[[ $command == "$expected" ]] || fail "the stop message says '$command', expected '$expected'"
[[ -f $out/run.members/member_0.checkpoint.h5 ]] || fail "no checkpoint of member 0"
[[ ! -e $out/run.members/member_2.h5 ]] || fail "member 2 started after the signal"
[[ ! -e $out/run.h5 ]] || fail "an ensemble file was written though members are unfinished"
"$kbnn" info "$out/run.members/member_0.h5" | grep -q "member_0.h5: run file of a run that a signal stopped" ||
  fail "kbnn info does not call member 0's file stopped"

snapshot() { (cd "$out" && find . -name '*.h5' -print0 | sort -z | xargs -0 md5sum > "$out/sums"); }
unchanged() { (cd "$out" && md5sum -c --quiet "$out/sums") || fail "$1 changed files"; }
# A fresh start onto the stopped ensemble is refused before any member trains.
snapshot
rc=0
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run > /dev/null 2> "$out/err" || rc=$?
((rc == 1)) || fail "a fresh ensemble onto a stopped one exited $rc, expected 1"
[[ $(grep -c "member_0.h5 holds member 0 of an unfinished ensemble (stopped by a signal): continue the ensemble with --restart auto" "$out/err") == 1 ]] ||
  fail "not one refusal naming member 0: $(cat "$out/err")"
unchanged "the refused fresh start"
[[ ! -e $out/run.members/member_2.h5 ]] || fail "the refused fresh start trained member 2"
# A dry run of the continuation: member 1 is left alone (finished), members 0 and 2 are
# checked, and nothing is trained or written.
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run --restart auto --dry-run \
  > "$out/dry_resume.log" 2>&1 || fail "--dry-run --restart auto failed: $(tail -3 "$out/dry_resume.log")"
grep -q "^dry run: the ensemble's 3 members checked" "$out/dry_resume.log" || fail "no dry-run summary"
unchanged "--dry-run --restart auto"
[[ ! -e $out/run.h5 && ! -e $out/run.members/member_2.h5 ]] || fail "--dry-run wrote files"

# The printed command resumes (it runs in $out: the same words, any folder).
(cd "$out" && eval "run_mpi -n 2 $command") > "$out/resume.log" 2>&1 ||
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

# Once finished, a requeue does nothing: every member is up to date, no file changes.
"$kbnn" info "$out/run.h5" > "$out/info" || fail "kbnn info of the ensemble failed"
grep -q "run.h5: run file of a finished ensemble" "$out/info" || fail "info: $(head -3 "$out/info")"
grep -q "^  model:" "$out/info" || fail "info: no model table"
grep -q "resume: kbnn train .* --restart auto trains every member on" "$out/info" || fail "info: no resume line"
snapshot
(cd "$out" && eval "run_mpi -n 2 $command") > "$out/again.log" 2>&1 || fail "the second --restart auto failed"
# Group 0's members 0 and 2 on the console, group 1's member 1 in its own log.
[[ $(grep -c "^\[member [02]\] restart: auto: .*member_[02].h5 holds the finished run (step 24 of 24): nothing to do" "$out/again.log") == 2 ]] ||
  fail "finished members were not left alone: $(grep restart "$out/again.log")"
# (its log appends: once at the resume, which found member 1 finished too, and now)
[[ $(grep -c "^restart: auto: .*member_1.h5 holds the finished run (step 24 of 24): nothing to do" "$out/run.members/member_1.log") == 2 ]] ||
  fail "member 1 was not left alone: $(grep restart "$out/run.members/member_1.log")"
grep -q "^restart: auto: .*run.h5 holds the finished ensemble, every member at its last step: nothing to do" \
  "$out/again.log" || fail "the ensemble does not say there is nothing to do: $(tail -3 "$out/again.log")"
grep -q "^\[member [012]\] step " "$out/again.log" && fail "a finished member trained again"
unchanged "--restart auto on the finished ensemble"

# A fresh start onto the finished ensemble: refused, unless output.overwrite.
rc=0
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run > /dev/null 2> "$out/err" || rc=$?
((rc == 1)) || fail "a fresh ensemble onto a finished one exited $rc, expected 1"
grep -q "run.h5 holds a finished ensemble" "$out/err" || fail "no refusal: $(cat "$out/err")"
unchanged "the refused fresh start"
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=run --train.max_steps=2 \
  --output.overwrite=true > "$out/overwrite.log" 2>&1 || fail "output.overwrite = true failed: $(tail -3 "$out/overwrite.log")"
"$kbnn" info "$out/run.h5" | grep -q "^  member 2: group 0 (1 rank(s)), seed [0-9]*, step 2;" ||
  fail "output.overwrite = true did not replace the ensemble"
# --dry-run checks every member (group 0's on the console) and writes nothing.
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=dry --dry-run > "$out/dry.log" 2>&1 ||
  fail "--dry-run failed: $(tail -3 "$out/dry.log")"
[[ $(grep -c "^\[member [02]\] dry run: the deck, the data and the model fit" "$out/dry.log") == 2 ]] ||
  fail "not every member was checked: $(grep "dry run" "$out/dry.log")"
grep -q "^dry run: the ensemble's 3 members checked" "$out/dry.log" || fail "no dry-run summary"
[[ ! -e $out/dry.members && ! -e $out/dry.h5 ]] || fail "--dry-run wrote files"
echo "PASSED"
