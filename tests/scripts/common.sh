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
# kbnn's messages are under test, not Kokkos's warnings. An OpenMP build warns of an
# unset OMP_PROC_BIND and of more threads than cores (OMP_NUM_THREADS=4 on 2 cores) on
# every rank, through unbuffered std::cerr a few words at a time: another rank's kbnn
# line then lands inside such a warning, and a singleton's stderr holds more than its line.
export KOKKOS_DISABLE_WARNINGS=1
fail() { echo "FAILED: $*"; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }
# The deck's data set (the default deck's data.dir, Fashion-MNIST): a test that would
# train on it cannot run without it (a script that brings its own data sets
# deck_data=no before sourcing this).
if [[ ${deck_data:-yes} == yes && -n ${deck:-} && -f $deck ]]; then
  data_dir=$(sed -n 's/^dir *= *//p;T;q' "$deck")
  [[ -z $data_dir || -d $data_dir ]] || skip "$data_dir (data.dir of $deck) is not installed"
fi
# signal_when JOB LOG LINE PROCESS [RANK]: once LOG has a line matching LINE, SIGTERM
# the process whose command line matches PROCESS (under Open MPI, the one of world rank
# RANK given one). The pid is found while waiting and LOG is polled every 10 ms, since a
# fast machine trains these tests' epochs in a tenth of a second and the signal must land
# before the end; fails if the background JOB ends first or no such process is found.
signal_when() {
  local job=$1 log=$2 line=$3 process=$4 rank=${5:-} pid=""
  for _ in $(seq 6000); do
    [[ -n $pid ]] || pid=$(rank_pid "$process" "$rank")
    [[ -n $pid ]] && grep -q -- "$line" "$log" && break
    kill -0 "$job" 2> /dev/null || { cat "$log"; fail "the job ended before '$line' was logged"; }
    sleep 0.01
  done
  [[ -n $pid ]] || { cat "$log"; fail "no process matches '$process'"; }
  kill -TERM "$pid"
}
rank_pid() {  # rank_pid PROCESS [RANK]: as signal_when, or nothing
  local candidate
  for candidate in $(pgrep -f "$1" || true); do
    [[ -z $2 ]] && { echo "$candidate"; return; }
    tr '\0' '\n' < "/proc/$candidate/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" &&
      { echo "$candidate"; return; }
  done
  return 0
}
