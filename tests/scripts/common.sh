# Sourced by the whole-program test scripts, after `mpiexec=... kbnn=... deck=...`:
#   $out      a scratch directory, removed when the script exits
#   run_mpi   mpiexec with the flags this MPI needs (Open MPI: --oversubscribe)
#   fail MSG  print FAILED: MSG and exit 1
#   skip MSG  print SKIPPED: MSG and exit 77, which ctest reports as a skip (the test's
#             SKIP_RETURN_CODE): for a missing optional tool or data set, never a pass
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpi_flags=()
# Open MPI's mpiexec says "mpiexec (OpenRTE) 4.1.4" (4.x) or "... (Open MPI) 5.0.0".
case $("$mpiexec" --version 2>&1) in *"Open MPI"* | *OpenRTE*) mpi_flags+=(--oversubscribe) ;; esac
run_mpi() { "$mpiexec" "${mpi_flags[@]}" "$@"; }
fail() { echo "FAILED: $*"; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }
