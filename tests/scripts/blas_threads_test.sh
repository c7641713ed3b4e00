#!/usr/bin/env bash
# OpenBLAS runs OPENBLAS_NUM_THREADS threads when that is set, otherwise as many as the
# Kokkos host space (1 for Serial), whatever OMP_NUM_THREADS or the launcher's binding
# say; the run's first line names the count. Left to itself OpenBLAS starts min(its
# variable, the cores the binding leaves the rank), and sgemm rounds differently with
# another count: under Open MPI (one core per rank for 2 ranks, the socket for 4) a
# 2-rank run and the same member of a 4-rank ensemble differed in their last bits.
#   usage: blas_threads_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
# RANKS [ENV ASSIGNMENTS...] -> kbnn's first line. Called in $(...): a run that fails
# prints why on stderr and ends the script (set -e) with status 1.
header() {
  local ranks=$1; shift
  # One rank runs without mpiexec, so it sees every core; more ranks run under mpiexec,
  # which may bind each to one core.
  local launch=("$mpiexec" "${mpi_flags[@]}" -n "$ranks")
  ((ranks == 1)) && launch=()
  env -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS "${threaded_host[@]}" "$@" "${launch[@]}" \
    "$kbnn" train "$deck" --data.train_limit=256 --data.test_limit=100 --train.max_steps=1 \
    --eval.samples=1 --output.dir="$out" --output.overwrite=true > "$out/run.log" 2>&1 ||
    { cat "$out/run.log" >&2; echo "FAILED: kbnn did not run ($*)" >&2; exit 1; }
  head -1 "$out/run.log"
}
expect() {  # expect COUNT RANKS [ENV ASSIGNMENTS...]: the run's first line names COUNT
  local count=$1 line
  shift
  line=$(header "$@")
  echo "$line"
  local want=", $count threads)"
  ((count == 1)) && want=", 1 thread)"
  [[ $line == *"$want"* ]] || fail "OpenBLAS does not run $count thread(s) with: $*"
}
(($(nproc) >= 2)) || skip "one core: one BLAS thread either way, nothing to tell apart"
threaded_host=()
line=$(header 1)
case $line in
  *"OpenBLAS ("*) ;;
  *) skip "kbnn is not linked to OpenBLAS: nothing to check ($line)" ;;
esac
host=1
if [[ $line != *"Kokkos Serial"* ]]; then  # a threaded host space: give it 2 threads
  threaded_host=(OMP_NUM_THREADS=2 KOKKOS_NUM_THREADS=2)
  host=2
fi
expect "$host" 1
# OMP_NUM_THREADS is the Kokkos OpenMP backend's; with Serial it does not reach BLAS.
[[ $host == 1 ]] && expect 1 1 OMP_NUM_THREADS=2
expect 2 1 OPENBLAS_NUM_THREADS=2
# Under Open MPI each of 2 ranks is bound to one core: OpenBLAS alone would start 1.
expect 2 2 OPENBLAS_NUM_THREADS=2
expect "$host" 2
echo "PASSED: BLAS threads follow the Kokkos host space or OPENBLAS_NUM_THREADS, not the binding"
