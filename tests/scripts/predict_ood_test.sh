#!/usr/bin/env bash
# `kbnn predict` end to end, with the inverted test set as the OOD set (a shift the
# model cannot have seen; no download): a 10000-image model scores it at the end of
# training, then predicts 600 test rows in both split modes on 1, 2 and 3 ranks.
#   - every prediction file's uncertainty numbers, recomputed in float64 from its
#     per-sample probabilities by tests/scripts/check_predictions.py (probs_mean,
#     entropy, aleatoric, mutual information, OOD scores, /metrics, AUROC and AUPR), agree
#     with kbnn's, and the inverted set's entropy AUROC is above chance by five standard
#     errors: a reversed score fails;
#   - /predictions is bit-identical (h5diff) across the six files. The 600 rows are whole
#     batches of 50 on every rank count: where a batch straddles two ranks, a row's
#     position in its gemm call changes, and OpenBLAS's sgemm gives rows 6-11 of each
#     group of 12 other roundings than rows 0-5 (identical input rows differ by an ulp),
#     so the files then differ by one float ulp. /metrics is bit-identical between the
#     two splits on one rank count; across rank counts its NLL and Brier are sums over
#     ranks added in another order (an ulp of a double), so there the recomputation
#     above is the check;
#   - 203 rows on 3 ranks (uneven shards, a batch over two ranks): both splits identical;
#   - bad options end with one clear message.
# MNIST digits as a real OOD data set: predict_mnist_ood_test.sh (needs the network).
# usage: predict_ood_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
# One OpenBLAS thread in every run, as scripts/env.sh sets for jobs. Under
# OMP_NUM_THREADS=2 OpenBLAS starts as many threads as the cores a rank may use, and
# Open MPI binds 1 or 2 ranks to a core each but 3 to the whole socket: sgemm on 2
# threads rounds otherwise than on 1, and the 3-rank files differed from the others.
export OPENBLAS_NUM_THREADS=1
python=/usr/bin/python3
"$python" -c "import h5py, numpy" 2> /dev/null || skip "$python lacks h5py or numpy"
check() { "$python" "$(dirname "$0")/check_predictions.py" "$@"; }
same() {  # same A B GROUP: h5diff finds no difference in GROUP
  h5diff "$1" "$2" "$3" "$3" > "$out/diff" || fail "$(basename "$1") and $(basename "$2") differ in $3: $(head -20 "$out/diff")"
}

# Training scores its OOD set (here the inverted test set) at the end.
run_mpi -n 2 "$kbnn" train "$deck" --data.train_limit=10000 --data.test_limit=600 \
  --train.log_every=20 --eval.samples=4 --ood.shift=invert --output.dir="$out" \
  --output.name=run > "$out/train.log" || fail "training failed: $(cat "$out/train.log")"
grep "^OOD: " "$out/train.log"
grep -q "^OOD: invert (600) against test (600): entropy AUROC 0\.[0-9]*" "$out/train.log" ||
  fail "training reported no OOD line: $(cat "$out/train.log")"
h5dump -a /metrics/ood/invert/auroc_entropy "$out/run.h5" > /dev/null || fail "no /metrics/ood/invert"

predict() {  # predict RANKS SPLIT ROWS NAME
  run_mpi -n "$1" "$kbnn" predict "$out/run.h5" --split "$2" --sample-probabilities \
    --data.test_limit="$3" --eval.samples=3 --eval.batch_size=50 --ood.shift=invert \
    --output "$out/$4.h5" > "$out/log" || fail "predict on $1 rank(s), split $2: $(cat "$out/log")"
  check "$out/$4.h5" --ood-above-chance invert || fail "$4: kbnn's numbers are not those of its samples"
}
for ranks in 1 2 3; do
  for split in examples samples; do
    predict "$ranks" "$split" 600 "p${ranks}_$split"
    same "$out/p1_examples.h5" "$out/p${ranks}_$split.h5" /predictions
  done
  same "$out/p${ranks}_examples.h5" "$out/p${ranks}_samples.h5" /metrics
done
predict 3 examples 203 uneven_examples
predict 3 samples 203 uneven_samples
same "$out/uneven_examples.h5" "$out/uneven_samples.h5" /predictions
same "$out/uneven_examples.h5" "$out/uneven_samples.h5" /metrics

file=$out/p2_samples.h5
h5ls -r "$file" > "$out/ls"
for path in /predictions/test/probs_mean /predictions/invert/probs_samples \
            /predictions/invert/ood_scores/mutual_information /predictions/test/ood_scores/entropy \
            /metrics/test/bin_count; do
  grep -q "^$path " "$out/ls" || fail "$file lacks $path"
done
grep -q "^/predictions/invert/probs_samples Dataset {3, 600, 10}" "$out/ls" || fail "probs_samples shape"

# Bad input: one message, exit 1.
if "$kbnn" predict "$out/run.h5" --model.prior_sigma=2 > /dev/null 2> "$out/err"; then fail "accepted --model.*"; fi
grep -q "only data.\*, eval.\* and ood.\* options apply" "$out/err" || fail "message: $(cat "$out/err")"
if "$kbnn" predict "$out/run.h5" --ood.shift=blur > /dev/null 2> "$out/err"; then fail "accepted a bad shift"; fi
grep -q "ood.shift: expected one of none, noise, invert, rot90, got 'blur'" "$out/err" ||
  fail "message: $(cat "$out/err")"
if "$kbnn" predict "$out/missing.h5" > /dev/null 2> "$out/err"; then fail "accepted a missing model"; fi
grep -q "missing.h5" "$out/err" || fail "message: $(cat "$out/err")"
echo "PASSED"
