#!/usr/bin/env bash
# A diverging run (learning rate far too large) stops with the step number, names the
# last good checkpoint, and leaves that checkpoint readable with finite parameters.
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
echo "PASSED: exit code $rc"
