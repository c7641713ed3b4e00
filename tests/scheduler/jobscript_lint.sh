#!/usr/bin/env bash
# shellcheck disable=SC2016  # the patterns name the scripts' own $variables
# Static checks of every job script (the site GPU hardware is not here): bash -n, the
# directives each site needs, and that each names a missing kbnn before launching anything
# (it stops there, so no scheduler is needed); with --shellcheck, shellcheck instead (a ctest entry of its
# own, which ends SKIPPED, exit 77, where shellcheck is not installed).
#   usage: jobscript_lint.sh SOURCE_DIR [--shellcheck]
set -euo pipefail
dir=$1/jobscripts
if [[ ${2:-} == --shellcheck ]]; then
  command -v shellcheck > /dev/null || { echo "SKIPPED: shellcheck is not installed"; exit 77; }
  shellcheck -s bash "$dir"/* || { echo "FAILED: shellcheck"; exit 1; }
  echo "PASSED: shellcheck finds nothing in $dir"
  exit 0
fi
status=0
fail() { echo "FAILED: $*"; status=1; }
has() { grep -qE "^$2" "$dir/$1" || fail "$1: no line matching '$2'"; }

for f in "$dir"/*; do
  bash -n "$f" || fail "$(basename "$f"): syntax"
done
for f in cpu.sbatch perlmutter.sbatch frontier.sbatch; do
  has "$f" '#SBATCH --signal=B:USR1@[0-9]+$'
  has "$f" '#SBATCH --requeue$'
  has "$f" '#SBATCH --open-mode=append$'
  has "$f" '#SBATCH --time='
  grep -q 'scontrol requeue "\$SLURM_JOB_ID"' "$dir/$f" || fail "$f: does not requeue"
done
for f in cpu.pbs polaris.pbs aurora.pbs; do
  has "$f" '#PBS -l walltime='
  has "$f" '#PBS -l select='
  grep -q 'timeout --signal=USR1' "$dir/$f" || fail "$f: no stop signal before the walltime"
  grep -q 'qsub -W depend=afterany' "$dir/$f" || fail "$f: does not resubmit"
  # PBS reads directives only up to the first command.
  awk '/^#PBS/ { if (seen) bad = 1; next } /^[[:space:]]*(#|$)/ { next } { seen = 1 } END { exit bad }' "$dir/$f" ||
    fail "$f: a #PBS line after the first command"
done
for f in polaris.pbs aurora.pbs; do
  has "$f" '#PBS -A '
  has "$f" '#PBS -l filesystems='
  has "$f" '#PBS -q '
done
for f in perlmutter.sbatch frontier.sbatch polaris.pbs aurora.pbs; do
  has "$f" 'export MPICH_GPU_SUPPORT_ENABLED=1$'
  grep -q -- '--parallel.gpu_aware_mpi=true' "$dir/$f" || fail "$f: GPU-aware MPI not on"
done
has perlmutter.sbatch '#SBATCH --constraint=gpu$'
has perlmutter.sbatch '#SBATCH --gpus-per-task=1$'
grep -q 'srun .*--gpus-per-task=1' "$dir/perlmutter.sbatch" || fail "perlmutter.sbatch: srun line"
grep -q 'srun .* -c "\$threads" --gpus-per-task=1 --gpu-bind=closest' "$dir/frontier.sbatch" || fail "frontier.sbatch: srun line"
grep -q 'threads=${KBNN_THREADS:-7}' "$dir/frontier.sbatch" || fail "frontier.sbatch: -c 7"
grep -q 'mpiexec -n "\$ranks" --ppn "\$ppn" --depth 8 --cpu-bind depth' "$dir/polaris.pbs" || fail "polaris.pbs: mpiexec line"
grep -q 'cpu_bind=list:' "$dir/aurora.pbs" || fail "aurora.pbs: no explicit --cpu-bind list"
# Submitted from a directory without kbnn (no KBNN_EXE, none on PATH), every script names
# the program it looked for and what to set, and exits 1 before it launches or makes anything.
elsewhere=$(mktemp -d)
trap 'rm -rf "$elsewhere"' EXIT
for f in "$dir"/*.sbatch "$dir"/*.pbs; do
  rc=0
  said=$(cd / && env -u KBNN_EXE PATH=/usr/bin:/bin SLURM_SUBMIT_DIR="$elsewhere" \
         PBS_O_WORKDIR="$elsewhere" bash "$f" 2>&1) || rc=$?
  expected="kbnn job: no kbnn program $elsewhere/build/src/kbnn (working directory $elsewhere): set KBNN_EXE"
  ((rc == 1)) && grep -qF "$expected" <<< "$said" ||
    fail "$(basename "$f") without kbnn: exit $rc, expected 1 and '$expected': $said"
  [[ -z $(ls -A "$elsewhere") ]] || fail "$(basename "$f") without kbnn made $(ls -A "$elsewhere")"
done
((status == 0)) && echo "PASSED"
exit $status
