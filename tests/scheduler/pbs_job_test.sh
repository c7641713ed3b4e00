#!/usr/bin/env bash
# The PBS job scripts under an emulated PBS Pro job (Debian has no PBS server): the PBS_*
# variables a job sees, a PALS-style `mpiexec` shim on PATH that accepts the ALCF flags
# (-n, --ppn, --depth, --cpu-bind, --env), records them and runs Open MPI's mpiexec with
# the PALS rank variables set, and a `qsub` shim that records the resubmission.
#   usage: pbs_job_test.sh SOURCE_DIR KBNN MPIEXEC WORK_DIR
#   1. cpu.pbs trains for real on 2 ranks, through the PALS shim and through Open MPI's
#      own mpiexec; the run files are complete.
#   2. cpu.pbs with a 13 s walltime and a 10 s margin: `timeout` signals mpiexec, the ranks
#      (a stub that exits 75 on SIGUSR1, as kbnn does) stop, the script resubmits itself
#      with qsub -W depend=afterany and KBNN_RESUBMIT=1, and exits 75; the resubmitted
#      job, run the same way, finishes (exit 0).
#   3. polaris.pbs and aurora.pbs with a stub kbnn: their mpiexec lines parse, every rank
#      gets its own GPU / tile, GPU-aware MPI is on, and kbnn gets --restart auto.
#   4. cpu.pbs qsub'd from another directory without KBNN_JOBSCRIPT: it warns at its start
#      that the resubmission would not find the script, not at the walltime.
set -euo pipefail
source_dir=$1 kbnn=$2 mpiexec=$3 work=$4
fail() { echo "FAILED: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work/bin" || exit 1

# --- the emulated PBS job ---------------------------------------------------------------
cat > "$work/bin/mpiexec" <<EOF
#!/bin/bash
# PALS mpiexec flags -> Open MPI (one node: placement and binding are recorded, not applied).
echo "mpiexec \$*" >> "$work/mpiexec.calls"
np=1; envs=()
while (( \$# )); do
  case "\$1" in
    -n|--np) np=\$2; shift 2 ;;
    --ppn|-ppn|--depth|-d|--cpu-bind|--gpu-bind|--hostfile) shift 2 ;;
    --ppn=*|--depth=*|--cpu-bind=*|--gpu-bind=*|--hostfile=*|--no-vni|--line-buffer) shift ;;
    --env|-env) envs+=(-x "\$2"); shift 2 ;;
    --env=*) envs+=(-x "\${1#*=}"); shift ;;
    -*) echo "mpiexec shim: unknown PALS option \$1" >&2; exit 2 ;;
    *) break ;;
  esac
done
exec "$mpiexec" --oversubscribe -n "\$np" "\${envs[@]}" "$work/bin/pals_rank_env" "\$@"
EOF
cat > "$work/bin/pals_rank_env" <<'EOF'
#!/bin/bash
# The rank variables PALS sets, from Open MPI's.
export PALS_RANKID=$OMPI_COMM_WORLD_RANK PALS_LOCAL_RANKID=$OMPI_COMM_WORLD_LOCAL_RANK
export PMI_RANK=$OMPI_COMM_WORLD_RANK PMI_LOCAL_RANK=$OMPI_COMM_WORLD_LOCAL_RANK
exec "$@"
EOF
cat > "$work/bin/qsub" <<EOF
#!/bin/bash
# Records the submission and the variables it passes (-v NAME,NAME: their values now).
echo "qsub \$*" >> "$work/qsub.calls"
while (( \$# > 1 )); do
  if [[ \$1 == -v ]]; then
    for v in \${2//,/ }; do echo "\$v=\${!v}"; done > "$work/qsub.env"
  fi
  shift
done
echo "2.pbs-emu"
EOF
chmod +x "$work/bin"/*
hostname -s > "$work/nodefile"
# The same without the PALS shim: Open MPI's own mpiexec, as a plain CPU cluster has.
mkdir -p "$work/bin-ompi"
ln -s "$work/bin/qsub" "$work/bin-ompi/qsub"
ln -s "$mpiexec" "$work/bin-ompi/mpiexec"
# run_pbs SCRIPT JOBID: run a job script as PBS would, qsub'd from the checkout (or from
# WORKDIR), in a clean job env (PBS_BIN: the folder of the mpiexec and qsub it finds first).
run_pbs() {
  (cd / && env PATH="${PBS_BIN:-$work/bin}:$PATH" PBS_O_WORKDIR="${WORKDIR:-$source_dir}" PBS_NODEFILE="$work/nodefile" \
     PBS_JOBID="$2" PBS_JOBNAME=kbnn PBS_QUEUE=debug PBS_ENVIRONMENT=PBS_BATCH \
     PBS_O_HOST="$(hostname -s)" bash "$source_dir/jobscripts/$1")
}
# A kbnn stand-in: records its rank's environment and arguments; stops with 75 on SIGUSR1
# as kbnn's ranks do, together: it logs, then waits (up to 5 s) until every rank has
# logged. Exiting at once let Open MPI abort the job on rank 0's 75 before rank 1 ran its
# handler ('not both ranks got SIGUSR1' in a loaded full ctest). It ignores further USR1s
# (timeout signals mpiexec directly and through its process group, so mpiexec forwards
# two): a second one during the handler ran it again, logging rank 0 twice.
# With KBNN_STUB_SLEEP it trains (sleeps) that long.
cat > "$work/kbnn_stub" <<EOF
#!/bin/bash
stop() {
  trap "" USR1
  echo "rank \$PALS_RANKID stopped by SIGUSR1" >> "$work/stub.log"
  for ((w = 0; w < 100; w++)); do
    ((\$(grep -c "stopped by SIGUSR1" "$work/stub.log") >= \${OMPI_COMM_WORLD_SIZE:-1})) && break
    sleep 0.05
  done
  exit 75
}
trap stop USR1
echo "rank \$PALS_RANKID CUDA_VISIBLE_DEVICES=\${CUDA_VISIBLE_DEVICES:-} ZE_AFFINITY_MASK=\${ZE_AFFINITY_MASK:-} OMP_NUM_THREADS=\$OMP_NUM_THREADS MPICH_GPU_SUPPORT_ENABLED=\${MPICH_GPU_SUPPORT_ENABLED:-} args: \$*" >> "$work/stub.log"
for ((i = 0; i < \${KBNN_STUB_SLEEP:-0} * 10; i++)); do sleep 0.1; done
exit 0
EOF
chmod +x "$work/kbnn_stub"
export KBNN_DECK=$source_dir/input/fashion_mnist_lenet5.cfg KBNN_OUTPUT_ROOT=$work/runs

# --- 1. cpu.pbs, for real ---------------------------------------------------------------
echo "== cpu.pbs: 2 ranks of kbnn"
rc=0
KBNN_EXE=$kbnn KBNN_RUN_NAME=cpu \
KBNN_ARGS="--data.train_limit=1000 --data.test_limit=100 --train.batch_size=100 --train.log_every=5 --eval.samples=2" \
  run_pbs cpu.pbs 1.pbs-emu > "$work/cpu.log" 2>&1 || rc=$?
cat "$work/cpu.log"
((rc == 0)) || fail "cpu.pbs exited $rc"
grep -q -- "--ppn 2 --depth 1 --cpu-bind depth" "$work/mpiexec.calls" || fail "cpu.pbs: unexpected mpiexec line"
info=$("$kbnn" info "$work/runs/cpu/cpu.h5") || fail "no readable run file"
echo "$info"
grep -q "history: 2 rows; last at step 10 " <<< "$info" || fail "cpu.pbs: the history is not 2 rows up to step 10"
grep -q "metrics/test: accuracy" <<< "$info" || fail "cpu.pbs: no test metrics"

echo "== cpu.pbs: 2 ranks of kbnn, launched by Open MPI's mpiexec"
rc=0
PBS_BIN=$work/bin-ompi KBNN_EXE=$kbnn KBNN_RUN_NAME=cpu_ompi \
KBNN_ARGS="--data.train_limit=1000 --data.test_limit=100 --train.batch_size=100 --train.log_every=5 --eval.samples=2" \
  run_pbs cpu.pbs 5.pbs-emu > "$work/cpu_ompi.log" 2>&1 || rc=$?
cat "$work/cpu_ompi.log"
((rc == 0)) || fail "cpu.pbs under Open MPI exited $rc"
grep -q "launching with openmpi's mpiexec: mpiexec -n 2 --map-by ppr:2:node:PE=1" "$work/cpu_ompi.log" ||
  fail "cpu.pbs did not take Open MPI's flags"
"$kbnn" info "$work/runs/cpu_ompi/cpu_ompi.h5" | grep -q "metrics/test: accuracy" ||
  fail "cpu.pbs under Open MPI: no test metrics"

# --- 2. cpu.pbs: the walltime stop and the resubmission -----------------------------------
echo "== cpu.pbs: stopped 10 s before a 13 s walltime, then resubmitted"
rm -f "$work/stub.log" "$work/mpiexec.calls"
rc=0
KBNN_EXE=$work/kbnn_stub KBNN_STUB_SLEEP=60 KBNN_WALLTIME=00:00:13 KBNN_STOP_MARGIN=10 \
  run_pbs cpu.pbs 3.pbs-emu > "$work/stop.log" 2>&1 || rc=$?
cat "$work/stop.log" "$work/stub.log"
((rc == 75)) || fail "the stopped job exited $rc, expected 75"
[[ $(grep -c "stopped by SIGUSR1" "$work/stub.log") == 2 ]] || fail "not both ranks got SIGUSR1"
grep -q "the run continues in job 2.pbs-emu (resubmission 1)" "$work/stop.log" || fail "no resubmission reported"
grep -q -- "-W depend=afterany:3.pbs-emu -v .*KBNN_RESUBMIT.* $source_dir/jobscripts/cpu.pbs\$" "$work/qsub.calls" ||
  fail "unexpected qsub call: $(cat "$work/qsub.calls")"
grep -qx "KBNN_RESUBMIT=1" "$work/qsub.env" || fail "the resubmission does not count itself"
grep -qx "KBNN_WALLTIME=00:00:13" "$work/qsub.env" || fail "the resubmission loses the job's KBNN_ variables"
# The resubmitted job, with the variables qsub -v passed on (its kbnn now finishes).
rc=0
# shellcheck source=/dev/null
(set -a; source "$work/qsub.env"; export KBNN_STUB_SLEEP=0; run_pbs cpu.pbs 2.pbs-emu) > "$work/resubmitted.log" 2>&1 || rc=$?
cat "$work/resubmitted.log"
((rc == 0)) || fail "the resubmitted job exited $rc, expected 0"
grep -q "resubmission 1" "$work/resubmitted.log" || fail "the resubmitted job does not know its count"

# --- 3. the ALCF GPU scripts, with a stub kbnn ----------------------------------------------
for site in polaris:4 aurora:12; do
  script=${site%:*}.pbs ranks=${site#*:}
  echo "== $script: $ranks ranks of a stub"
  rm -f "$work/stub.log" "$work/mpiexec.calls"
  rc=0
  KBNN_EXE=$work/kbnn_stub run_pbs "$script" 4.pbs-emu > "$work/$script.log" 2>&1 || rc=$?
  cat "$work/$script.log" "$work/mpiexec.calls" "$work/stub.log"
  ((rc == 0)) || fail "$script exited $rc"
  [[ $(grep -c "args: train .* --restart auto .*--parallel.gpu_aware_mpi=true" "$work/stub.log") == "$ranks" ]] ||
    fail "$script: not $ranks ranks with --restart auto and GPU-aware MPI"
  [[ $(grep -c "MPICH_GPU_SUPPORT_ENABLED=1" "$work/stub.log") == "$ranks" ]] || fail "$script: MPICH_GPU_SUPPORT_ENABLED"
  [[ $(grep -c "OMP_NUM_THREADS=8 " "$work/stub.log") == "$ranks" ]] || fail "$script: OMP_NUM_THREADS"
  if [[ $script == polaris.pbs ]]; then
    grep -q -- "-n 4 --ppn 4 --depth 8 --cpu-bind depth .*set_affinity_gpu_polaris.sh" "$work/mpiexec.calls" ||
      fail "polaris.pbs: unexpected mpiexec line"
    devices=$(grep -o "CUDA_VISIBLE_DEVICES=[0-9]*" "$work/stub.log" | sort -u | cut -d= -f2 | paste -sd' ' || true)
    [[ $devices == "0 1 2 3" ]] || fail "polaris.pbs: the ranks got GPUs '$devices', expected one each of 0-3"
  else
    grep -q -- "-n 12 --ppn 12 --cpu-bind=list:1-8:9-16:.*:93-100 .*set_affinity_gpu_aurora.sh" "$work/mpiexec.calls" ||
      fail "aurora.pbs: unexpected mpiexec line"
    tiles=$(grep -o "ZE_AFFINITY_MASK=[0-9.]*" "$work/stub.log" | sort -u | wc -l || true)
    ((tiles == 12)) || fail "aurora.pbs: the 12 ranks got $tiles distinct tiles"
  fi
done
# --- 4. qsub'd from another directory --------------------------------------------------------
echo "== cpu.pbs qsub'd from another directory, KBNN_JOBSCRIPT unset"
mkdir -p "$work/elsewhere"
rc=0
KBNN_EXE=$work/kbnn_stub WORKDIR=$work/elsewhere run_pbs cpu.pbs 6.pbs-emu > "$work/elsewhere.log" 2>&1 || rc=$?
cat "$work/elsewhere.log"
((rc == 0)) || fail "cpu.pbs from another directory exited $rc"
grep -q "^kbnn job: warning: no $work/elsewhere/jobscripts/cpu.pbs to resubmit at the walltime" \
  "$work/elsewhere.log" || fail "no warning that a resubmission would not find the script"
echo "PASSED"
