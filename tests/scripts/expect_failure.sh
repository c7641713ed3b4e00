#!/usr/bin/env bash
# A failure on ONE rank ends the whole job: rank 0 gets good input, rank 1 a data
# directory that does not exist (MPMD launch). The job must exit non-zero, within
# seconds, with rank 1's message naming the directory, instead of rank 0 hanging in
# a collective call.  usage: expect_failure.sh MPIEXEC KBNN DECK
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
((rc != 0)) || fail "the job exited with 0"
grep -q "error on rank 1" "$out/log" || fail "no 'error on rank 1' message"
grep -q "/nonexistent/kbnn-data" "$out/log" || fail "the message does not name the directory"
((elapsed < 60)) || fail "the job took ${elapsed}s to end"
echo "PASSED: exit code $rc after ${elapsed}s"
