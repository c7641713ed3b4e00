#!/usr/bin/env bash
# OpenBLAS gets one thread per rank (the Kokkos Serial host space) unless the user sets
# OPENBLAS_NUM_THREADS; the run's first line says how many it has. Checked on one rank
# started without mpiexec, which sees every core (OpenBLAS's default would be one
# thread per core).
#   usage: blas_threads_test.sh MPIEXEC KBNN DECK
set -u
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
header() {  # RANKS [ENV ASSIGNMENTS...] -> kbnn's first line
  local ranks=$1; shift
  # One rank runs without mpiexec: a launcher may bind it to one core, and OpenBLAS
  # never starts more threads than the cores it may use.
  local launch=("$mpiexec" "${mpi_flags[@]}" -n "$ranks")
  ((ranks == 1)) && launch=()
  env -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS "$@" "${launch[@]}" "$kbnn" \
    train "$deck" --data.train_limit=256 --data.test_limit=100 --train.max_steps=1 \
    --eval.samples=1 --output.dir="$out" 2>&1 | head -1
}
(($(nproc) >= 2)) || { echo "PASSED: one core: one thread either way"; exit 0; }
line=$(header 1)
echo "$line"
case $line in
  *"OpenBLAS ("*) ;;
  *) echo "PASSED: not linked to OpenBLAS, nothing to check"; exit 0 ;;
esac
[[ $line == *"Kokkos Serial"* ]] || { echo "PASSED: a threaded Kokkos host space"; exit 0; }
[[ $line == *", 1 thread)"* ]] || fail "OpenBLAS does not run one thread per rank by default"
line=$(header 1 OPENBLAS_NUM_THREADS=2)
echo "$line"
[[ $line == *", 2 threads)"* ]] || fail "OPENBLAS_NUM_THREADS=2 was not honoured"
echo "PASSED: one BLAS thread per rank by default, OPENBLAS_NUM_THREADS honoured"
