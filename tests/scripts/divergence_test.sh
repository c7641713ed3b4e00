#!/usr/bin/env bash
# A diverging run (learning rate far too large) stops with the step number, names the
# last good checkpoint, and leaves that checkpoint readable with finite parameters.
# A loss that is not finite at the very first step (sigma = softplus(-200) is 0 in float:
# an infinite KL gradient) stops the run at step 1, before its row is logged; on 2
# ranks every rank stops there together: one message, exit 1, no MPI_Abort.
#   usage: divergence_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
rc=0
run_mpi -n 2 "$kbnn" train "$deck" --data.train_limit=5000 --data.test_limit=100 \
  --train.lr=30 --train.log_every=5 --output.checkpoint_every=5 --output.dir="$out" \
  > "$out/stdout" 2> "$out/log" || rc=$?  # apart, so the streams cannot interleave in a line
tail -4 "$out/log"
((rc != 0)) || fail "the diverging run exited with 0"
grep -q "training diverged at step [0-9]" "$out/log" || fail "no 'training diverged at step N' message"
grep -q "the last good checkpoint is $out/fashion_mnist_lenet5.checkpoint.h5" "$out/log" ||
  fail "the message does not name the last good checkpoint"
/usr/bin/python3 - "$out/fashion_mnist_lenet5.checkpoint.h5" <<'PY' || fail "the checkpoint is not usable"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    p = f["checkpoint/parameters"][:]
    assert np.isfinite(p).all(), "non-finite parameters in the checkpoint"
    print(f"checkpoint at step {f['checkpoint'].attrs['step']}: {p.size} finite parameters")
PY

rc=0
run_mpi -n 2 "$kbnn" train "$deck" --data.train_limit=500 --data.test_limit=100 \
  --model.init_rho_mean=-200 --train.log_every=1 --output.dir="$out" --output.name=first \
  > "$out/stdout" 2> "$out/log" || rc=$?
cat "$out/log"
((rc == 1)) || fail "the run diverging at step 1 exited $rc, expected 1"
grep -q "^kbnn: error: training diverged at step 1 (epoch 1): the parameters are not finite" \
  "$out/log" || fail "no 'diverged at step 1' message"
(($(grep -c "^kbnn" "$out/log") == 1)) || fail "more than one message"
if grep -q "MPI_ABORT" "$out/log"; then fail "the divergence ended through MPI_Abort"; fi
if grep -q "^step " "$out/stdout"; then fail "a row with a loss that is not finite was logged"; fi
/usr/bin/python3 -c "import h5py, sys; assert h5py.File(sys.argv[1], 'r')['history/step'].size == 0" \
  "$out/first.h5" || fail "the history of the run that diverged at step 1 is not empty"
echo "PASSED: exit code $rc"
