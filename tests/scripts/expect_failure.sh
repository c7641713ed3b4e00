#!/usr/bin/env bash
# A failure on ONE rank ends the whole job: rank 0 gets good input, rank 1 a data
# directory that does not exist (MPMD launch: a node-local path). The ranks agree on the
# error: the job exits 1 within seconds, with one message that names rank 1 and the
# directory, and no MPI_Abort, instead of rank 0 hanging in a collective call.
#   usage: expect_failure.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
common=(train "$deck" --data.train_limit=500 --data.test_limit=100 --output.dir="$out")
start=$SECONDS rc=0
run_mpi -n 1 "$kbnn" "${common[@]}" : \
  -n 1 "$kbnn" "${common[@]}" --data.dir=/nonexistent/kbnn-data > "$out/stdout" 2> "$out/log" || rc=$?
elapsed=$((SECONDS - start))
# Errors go to stderr ($out/log); rank 0's progress lines to stdout, kept apart so
# that the two streams cannot interleave inside a line.
cat "$out/log"
((rc == 1)) || fail "the job exited with $rc, expected 1"
grep -q "^kbnn: error: on rank 1 alone: /nonexistent/kbnn-data: " "$out/log" ||
  fail "no message naming rank 1 and the directory"
(($(grep -c "^kbnn" "$out/log") == 1)) || fail "more than one message"
if grep -q "MPI_ABORT" "$out/log"; then fail "the job ended through MPI_Abort"; fi
((elapsed < 60)) || fail "the job took ${elapsed}s to end"
echo "PASSED: exit code $rc after ${elapsed}s"
