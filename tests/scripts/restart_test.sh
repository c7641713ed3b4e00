#!/usr/bin/env bash
# Exact restart: an uninterrupted run of 2 epochs against a run stopped after the
# first epoch (checkpoint written) and resumed from that checkpoint, both on the
# same number of ranks. The resumed run file's whole history (the rows from before
# the restart included, and the evaluation after each epoch) and final state must be
# identical.
#   usage: restart_test.sh MPIEXEC KBNN DECK RANKS
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3 ranks=$4
source "$(dirname "$0")/common.sh"
run() { run_mpi -n "$ranks" "$kbnn" train "$deck" --data.train_limit=1000 \
          --data.test_limit=200 --train.batch_size=100 --train.epochs=2 --train.log_every=5 \
          --eval.samples=2 --eval.every_epochs=1 --output.dir="$out" "$@" | grep -E "^(step|restart)"; }
run --output.name=full
run --output.name=first --train.max_steps=10 --output.checkpoint_every=10
run --output.name=resumed --restart "$out/first.checkpoint.h5"
/usr/bin/python3 "$(dirname "$0")/compare_runs.py" "$out/full.h5" "$out/resumed.h5"
