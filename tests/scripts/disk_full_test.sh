#!/usr/bin/env bash
# A disk that fills up under a run: on a 2.5 MB tmpfs the first checkpoint (1.5 MB)
# fits and the second does not. The error names the file and the system's reason ("No
# space left on device"), the previous checkpoint stays as it was (still readable, at
# step 5), and the half-written one is gone. One rank ends with one message and exit 1;
# on two ranks the write fails on the rank that writes (rank 0), which may be alone with
# it: MPI_Abort ends the job and the message says why. Needs root to mount the tmpfs:
# SKIPPED (77) where mounting is not possible.
#   usage: disk_full_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
disk="$out/disk"
mkdir "$disk"
mount -t tmpfs -o size=2500k kbnn-test "$disk" 2> /dev/null || skip "cannot mount a tmpfs (needs root)"
trap 'umount "$disk" 2> /dev/null || true; rm -rf "$out"' EXIT
args=(--data.train_limit=1000 --data.test_limit=100 --train.batch_size=50 --train.log_every=5
      --output.checkpoint_every=5 --eval.samples=2 --output.dir="$disk")

full_disk() {  # full_disk RANKS NAME: the run stops at its second checkpoint
  local ranks=$1 name=$2 rc=0
  rm -f "$disk"/*
  run_mpi -n "$ranks" "$kbnn" train "$deck" "${args[@]}" --output.name="$name" \
    > "$out/stdout" 2> "$out/stderr" || rc=$?
  cat "$out/stderr"
  ((rc == 1)) || fail "$ranks rank(s): exit status $rc, expected 1"
  grep -q "^kbnn: error.*: HDF5: $disk/$name.checkpoint.h5.tmp: .*: No space left on device: " \
    "$out/stderr" || fail "$ranks rank(s): the message does not name the file and the reason"
  grep -q "; $disk/$name.checkpoint.h5 is as it was before" "$out/stderr" ||
    fail "$ranks rank(s): the message does not say that the previous checkpoint is kept"
  [[ ! -e "$disk/$name.checkpoint.h5.tmp" ]] || fail "$ranks rank(s): the half-written file is left"
  "$kbnn" info "$disk/$name.checkpoint.h5" > "$out/info" ||
    fail "$ranks rank(s): the previous checkpoint is not readable"
  grep -q "checkpoint: step 5 " "$out/info" || fail "$ranks rank(s): the previous checkpoint changed"
}

full_disk 1 one
(($(grep -c "^kbnn" "$out/stderr") == 1)) || fail "1 rank: more than one message"
if grep -q "MPI_ABORT\|Signal:" "$out/stderr"; then fail "1 rank: not a clean end"; fi

full_disk 2 two
grep -q "^kbnn: error on rank 0: " "$out/stderr" || fail "2 ranks: the message names no rank"
grep -q "^kbnn: (an error this rank may have met alone: MPI_Abort ends the whole job" \
  "$out/stderr" || fail "2 ranks: the message does not say why the job is aborted"
echo "PASSED"
