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
# The deck's data set (the default deck's data.dir, Fashion-MNIST): a test that would
# train on it cannot run without it (a script that brings its own data sets
# deck_data=no before sourcing this).
if [[ ${deck_data:-yes} == yes && -n ${deck:-} && -f $deck ]]; then
  data_dir=$(sed -n 's/^dir *= *//p;T;q' "$deck")
  [[ -z $data_dir || -d $data_dir ]] || skip "$data_dir (data.dir of $deck) is not installed"
fi
