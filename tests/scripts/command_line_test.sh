#!/usr/bin/env bash
# How kbnn ends on a bad command line or deck, as a user sees it:
#   - a deck error that every rank sees prints ONE line and exits 1 through
#     MPI_Finalize: no MPI_Abort banner. Run alone (a singleton, as a user at a login
#     node) stderr holds that line only; under mpiexec on 2 ranks the message is still
#     printed once (mpiexec adds its own note about the exit code);
#   - a usage error exits 2; `kbnn` alone prints the usage to stderr;
#   - `kbnn --help` prints kbnn's usage alone (not Kokkos's help), exit 0.
# usage: command_line_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"

expect() {  # expect RC PATTERN: the last run's exit code, and kbnn's one message
  ((rc == $1)) || fail "exit code $rc, expected $1 ($(cat "$out/err"))"
  local lines
  lines=$(grep -c "^kbnn" "$out/err" || true)
  ((lines == 1)) || fail "$lines messages from kbnn, expected 1: $(cat "$out/err")"
  grep -q -- "$2" "$out/err" || fail "stderr lacks '$2': $(cat "$out/err")"
  if grep -q "MPI_ABORT" "$out/err"; then fail "an abort banner: $(cat "$out/err")"; fi
  return 0
}

rc=0
"$kbnn" train "$deck" --train.batch_size=0 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "train.batch_size: expected an integer >= 1, got '0'"
(($(wc -l < "$out/err") == 1)) || fail "a singleton run printed more than one line: $(cat "$out/err")"

rc=0
run_mpi -n 2 "$kbnn" train "$deck" --train.batch_size=0 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "train.batch_size: expected an integer >= 1, got '0'"

# What only the run knows: a global batch smaller than the rank count.
rc=0
run_mpi -n 2 "$kbnn" train "$deck" --train.batch_size=1 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "train.batch_size 1 is smaller than the 2 ranks"

rc=0
run_mpi -n 1 "$kbnn" train "$deck" --train.epochs=2 --train.epochs=3 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "option 'train.epochs' is given more than once"

rc=0
run_mpi -n 1 "$kbnn" > "$out/out" 2> "$out/err" || rc=$?
((rc == 2)) || fail "kbnn with no arguments exited $rc, expected 2"
grep -q "^usage: kbnn train" "$out/err" || fail "kbnn with no arguments printed no usage"

rc=0
run_mpi -n 1 "$kbnn" frobnicate > "$out/out" 2> "$out/err" || rc=$?
expect 2 "unknown command 'frobnicate'"

rc=0
run_mpi -n 1 "$kbnn" train > "$out/out" 2> "$out/err" || rc=$?
expect 2 "kbnn train: missing the input deck"

rc=0
run_mpi -n 1 "$kbnn" --help > "$out/out" 2> "$out/err" || rc=$?
((rc == 0)) || fail "--help exited $rc"
head -1 "$out/out" | grep -q "^usage: kbnn train" || fail "--help does not start with kbnn's usage"
if grep -qi "kokkos command line" "$out/out"; then fail "--help printed Kokkos's help"; fi
echo "PASSED"
