#!/usr/bin/env bash
# `kbnn info` summarises a run file written by 2 ranks (--deck before or after the file)
# and a step dump (debug.dump_file), and rejects a file that is not kbnn's with a message
# naming it. The dump's training line gives the FLOPs per example and per step of the
# run's own batch.   usage: info_test.sh MPIEXEC KBNN DECK
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
# Without per-example predictions, an OOD evaluation still writes its scores there.
"$kbnn" train "$deck" --data.train_limit=64 --data.test_limit=20 --train.max_steps=1 \
  --eval.samples=1 --output.write_predictions=false --ood.shift=invert --output.dir="$out" \
  --output.name=scores > /dev/null || fail "the run with OOD scores only failed"
"$kbnn" info "$out/scores.h5" > "$out/scores_info" ||
  fail "kbnn info on a run without predictions failed: $(cat "$out/scores_info")"
grep -q "^  predictions/test: no per-example predictions (output.write_predictions = false), ood_scores$" \
  "$out/scores_info" || fail "no line for OOD scores without predictions: $(cat "$out/scores_info")"
"$kbnn" info "$out/run.h5" --deck > "$out/deck" || fail "kbnn info --deck exited non-zero"
grep -q "^\[train\]" "$out/deck" || fail "--deck does not print the deck"
"$kbnn" info --deck "$out/run.h5" > "$out/deck_first" || fail "kbnn info --deck FILE failed"
cmp -s "$out/deck" "$out/deck_first" || fail "kbnn info --deck FILE differs from FILE --deck"

"$kbnn" train "$deck" --data.train_limit=256 --data.test_limit=50 --train.batch_size=32 \
  --train.max_steps=2 --eval.samples=2 --debug.dump_steps=2 --debug.dump_file="$out/dump.h5" \
  --output.dir="$out" --output.name=dumped > "$out/dump.log" || fail "training with a dump failed"
grep -q "^training: .* GFLOP/s in gemms (4\.53 MFLOP per example, 144\.9 per batch-32 step)" \
  "$out/dump.log" || fail "no FLOPs of a batch-32 step: $(cat "$out/dump.log")"
"$kbnn" info "$out/dump.h5" > "$out/dump_info" || fail "kbnn info on a step dump exited non-zero"
cat "$out/dump_info"
grep -q "dump.h5: step dump (debug.dump_file" "$out/dump_info" || fail "the step dump is not named"
grep -q "^  steps: 2 recorded of debug.dump_steps = 2; global batch 32 of 256 " "$out/dump_info" ||
  fail "no steps recorded"
grep -q "^  replay: python3 tests/scripts/torch_replay.py replay $out/dump.h5" "$out/dump_info" ||
  fail "no word of torch_replay.py"
grep -q "^  replay needs: a Python with torch, h5py and numpy, e.g. /usr/bin/python3 on Debian" \
  "$out/dump_info" || fail "the replay line does not say which Python it needs"
echo "not hdf5" > "$out/bogus.h5"
"$kbnn" info "$out/bogus.h5" > "$out/bad" 2>&1 && fail "a non-HDF5 file was accepted"
grep -q "$out/bogus.h5: not an HDF5 file" "$out/bad" || fail "the error does not name the file"
echo "PASSED"
