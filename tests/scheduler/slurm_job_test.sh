#!/usr/bin/env bash
# jobscripts/cpu.sbatch through a real Slurm (tests/scheduler/slurm_local.sh, SLURM_CONF
# set by ctest), 2 ranks on a slice of Fashion-MNIST.
#   usage: slurm_job_test.sh run|requeue SOURCE_DIR KBNN WORK_DIR
#   run:     `sbatch --wait` runs the job to the end; the run file is complete.
#   requeue: once kbnn has logged a step, the batch shell gets the warning signal Slurm
#            sends before the time limit (`scancel --batch --signal=USR1`: what
#            --signal=B:USR1@120 does, at a moment the test chooses, since slurmctld
#            checks warning times only every 30 s); kbnn checkpoints and exits 75, the
#            script requeues the job, and the requeued job finishes the run: the job
#            ends COMPLETED with exit code 0 and the run file holds the whole history.
set -euo pipefail
mode=$1 source_dir=$2 kbnn=$3 work=$4
fail() { echo "FAILED: $*"; [[ -n "${log:-}" && -f "$log" ]] && cat "$log"; exit 1; }

rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
# shellcheck source=/dev/null
source "$source_dir/scripts/env.sh"  # OPENBLAS_CORETYPE, exported into the job
export KBNN_DECK=$source_dir/input/fashion_mnist_lenet5.cfg KBNN_EXE=$kbnn
export KBNN_OUTPUT_ROOT=$work/runs KBNN_RUN_NAME=$mode KBNN_RANKS=2
steps_per_epoch=20
case $mode in
  run) export KBNN_ARGS="--data.train_limit=2000 --data.test_limit=200 --train.batch_size=100
                         --train.log_every=5 --eval.samples=2" ;;
  requeue) steps_per_epoch=40
           export KBNN_ARGS="--data.train_limit=4000 --data.test_limit=200 --train.batch_size=100
                             --train.epochs=2 --train.log_every=5 --eval.samples=2" ;;
  *) echo "usage: $0 run|requeue SOURCE_DIR KBNN WORK_DIR" >&2; exit 2 ;;
esac
run_file=$work/runs/$mode/$mode.h5
checkpoint=$work/runs/$mode/$mode.checkpoint.h5

# sbatch --wait follows a requeued job to its final end and returns that exit status.
sbatch --wait --parsable -t 5 "$source_dir/jobscripts/cpu.sbatch" > "$work/sbatch.out" 2>&1 &
waiter=$!
job=""
for _ in $(seq 100); do
  job=$(grep -o '^[0-9]*' "$work/sbatch.out" | head -1 || true)
  [[ -n "$job" ]] && break
  sleep 0.1
done
[[ -n "$job" ]] || fail "sbatch printed no job id: $(cat "$work/sbatch.out")"
log=$work/kbnn-kbnn-$job.out
echo "job $job, log $log"

job_field() { scontrol show job "$job" | grep -o "$1=[^ ]*" | head -1 | cut -d= -f2 || true; }

if [[ $mode == requeue ]]; then
  for _ in $(seq 600); do
    grep -q "^step *5/" "$log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "^step *5/" "$log" || fail "the job logged no training step within 60 s"
  scancel --batch --signal=USR1 "$job" || fail "scancel --signal could not signal the batch shell"
  # The requeued job waits (Reason=BeginTime) ~2 minutes before it may start again;
  # check the checkpoint while it waits, then let it start now.
  for _ in $(seq 600); do
    [[ $(job_field Restarts) == 1 && $(job_field JobState) == PENDING ]] && break
    sleep 0.1
  done
  [[ $(job_field JobState) == PENDING ]] || fail "the job was not requeued: $(scontrol show job "$job")"
  [[ -f "$checkpoint" ]] || fail "no checkpoint $checkpoint after the signal"
  grep -q "stopped by a signal after step" "$log" || fail "kbnn did not stop on the signal"
  grep -q "requeueing job $job (requeue 1)" "$log" || fail "the script did not requeue"
  # Release it only once the node has cleaned up and a second has passed: slurmd refuses a
  # job credential issued in the same second as the old instance's revocation.
  for _ in $(seq 300); do
    [[ $(sinfo -h -N -o '%t' | head -1 || true) == idle ]] && break
    sleep 0.1
  done
  sleep 2
  scontrol update JobId="$job" StartTime=now || fail "could not release the requeued job"
fi

if [[ $mode == requeue ]]; then
  # sbatch --wait may return when it sees the requeue's transient state (and polls slowly);
  # the job's own record says how the requeued job ended.
  for _ in $(seq 1200); do
    case $(job_field JobState) in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) break ;; esac
    sleep 0.1
  done
  kill "$waiter" 2> /dev/null || true
  [[ $(job_field JobState) == COMPLETED && $(job_field ExitCode) == 0:0 ]] ||
    fail "job $job ended $(job_field JobState) with exit code $(job_field ExitCode), expected COMPLETED 0:0"
  rc=0
else
  rc=0
  wait "$waiter" || rc=$?
fi
cat "$log"
((rc == 0)) || fail "sbatch --wait returned $rc for job $job, expected 0"
grep -q "kbnn job: the run finished" "$log" || fail "the job script did not report the finished run"

# The run file: kbnn info names its last history row and its test metrics.
info=$("$kbnn" info "$run_file") || fail "kbnn info could not read $run_file"
echo "$info"
total=$steps_per_epoch
[[ $mode == requeue ]] && total=$((2 * steps_per_epoch))
rows=$((total / 5))
grep -q "history: $rows rows; last at step $total " <<< "$info" ||
  fail "the run file's history is not $rows rows up to step $total"
grep -q "metrics/test: accuracy" <<< "$info" || fail "no test metrics in the run file"
if [[ $mode == requeue ]]; then
  [[ $(job_field Restarts) == 1 ]] || fail "the job was requeued $(job_field Restarts) times, expected 1"
  grep -q "^restart: .*step" "$log" || fail "the requeued job did not restart from the checkpoint"
fi
echo "PASSED"
