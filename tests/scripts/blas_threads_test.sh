#!/usr/bin/env bash
# OpenBLAS gets one thread per rank (the Kokkos Serial host space) unless the user sets
# OPENBLAS_NUM_THREADS; the run's first line says how many it has. Checked on one rank
# started without mpiexec, which sees every core (OpenBLAS's default would be one
# thread per core).
#   usage: blas_threads_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
# RANKS [ENV ASSIGNMENTS...] -> kbnn's first line. Called in $(...): a run that fails
# prints why on stderr and ends the script (set -e) with status 1.
header() {
  local ranks=$1; shift
  # One rank runs without mpiexec: a launcher may bind it to one core, and OpenBLAS
  # never starts more threads than the cores it may use.
  local launch=("$mpiexec" "${mpi_flags[@]}" -n "$ranks")
  ((ranks == 1)) && launch=()
  env -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS "$@" "${launch[@]}" "$kbnn" \
    train "$deck" --data.train_limit=256 --data.test_limit=100 --train.max_steps=1 \
    --eval.samples=1 --output.dir="$out" > "$out/run.log" 2>&1 ||
    { cat "$out/run.log" >&2; echo "FAILED: kbnn did not run ($*)" >&2; exit 1; }
  head -1 "$out/run.log"
}
(($(nproc) >= 2)) || skip "one core: one BLAS thread either way, nothing to tell apart"
line=$(header 1)
echo "$line"
case $line in
  *"OpenBLAS ("*) ;;
  *) skip "kbnn is not linked to OpenBLAS: nothing to check ($line)" ;;
esac
[[ $line == *"Kokkos Serial"* ]] || skip "a threaded Kokkos host space gives BLAS its threads ($line)"
[[ $line == *", 1 thread)"* ]] || fail "OpenBLAS does not run one thread per rank by default"
line=$(header 1 OPENBLAS_NUM_THREADS=2)
echo "$line"
[[ $line == *", 2 threads)"* ]] || fail "OPENBLAS_NUM_THREADS=2 was not honoured"
echo "PASSED: one BLAS thread per rank by default, OPENBLAS_NUM_THREADS honoured"
