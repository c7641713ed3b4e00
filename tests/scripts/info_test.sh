#!/usr/bin/env bash
# `kbnn info` summarises a run file written by 2 ranks, and rejects a file that is
# not one with a message naming it.   usage: info_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
run_mpi -n 2 "$kbnn" train "$deck" --data.train_limit=640 --data.test_limit=50 \
  --train.log_every=5 --eval.samples=2 --output.dir="$out" --output.name=run > /dev/null ||
  fail "training failed"
"$kbnn" info "$out/run.h5" > "$out/info" || fail "kbnn info exited non-zero"
cat "$out/info"
grep -q "2 rank(s)" "$out/info" || fail "no rank count"
grep -q "history: 1 rows; last at step 5 " "$out/info" || fail "no history summary"
grep -q "metrics/test: accuracy 0\.[0-9]*" "$out/info" || fail "no test metrics"
grep -q "predictions/test: probs_mean 50x10" "$out/info" || fail "no predictions shape"
grep -q "weights: conv2d_0 .* dense_9 .* dense_11 " "$out/info" || fail "weights not in layer order"
"$kbnn" info "$out/run.h5" --deck > "$out/deck" || fail "kbnn info --deck exited non-zero"
grep -q "^\[train\]" "$out/deck" || fail "--deck does not print the deck"
echo "not hdf5" > "$out/bogus.h5"
"$kbnn" info "$out/bogus.h5" > "$out/bad" 2>&1 && fail "a non-HDF5 file was accepted"
grep -q "$out/bogus.h5: not an HDF5 file" "$out/bad" || fail "the error does not name the file"
echo "PASSED"
