# Sourced by the whole-program test scripts, after `mpiexec=... kbnn=... deck=...`:
#   $out      a scratch directory, removed when the script exits
#   run_mpi   mpiexec with the flags this MPI needs (Open MPI: --oversubscribe)
#   fail MSG  print FAILED: MSG and exit 1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpi_flags=()
"$mpiexec" --version 2>/dev/null | grep -q "Open MPI" && mpi_flags+=(--oversubscribe)
run_mpi() { "$mpiexec" "${mpi_flags[@]}" "$@"; }
fail() { echo "FAILED: $*"; exit 1; }
