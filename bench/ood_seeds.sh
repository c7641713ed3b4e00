#!/usr/bin/env bash
# Fashion-MNIST -> MNIST OOD detection, kbnn against its PyTorch peer over many seeds:
# one seed's AUROC moves by 0.03-0.06 from the next in both codes, so a comparison needs
# the mean and spread of many training runs, not one or three.
#
#   bench/ood_seeds.sh [N] [EPOCHS] [SAMPLES] [RANKS]   (defaults: 10 seeds, 5 epochs, S = 10, 2 ranks)
#
# For seeds FIRST .. FIRST + N - 1 (KBNN_FIRST_SEED, default 1), alternating the codes
# seed by seed so that both see the same machine load over time: kbnn trains the default
# deck on RANKS MPI ranks (--train.seed) and scores the MNIST digits at the end ([ood]
# in the deck); the peer (bench/peer_torch_flipout.py --seed, RANKS threads) trains the
# same model and scores them the same way. Each run leaves DIR/<code>_seed<seed>.json
# (test accuracy, NLL, ECE, the AUROC of entropy, mutual information and 1 - max
# probability); runs already there are not repeated, so an interrupted benchmark
# continues where it stopped (a kbnn run without its JSON is trained again,
# output.overwrite). Then bench/seed_stats.py prints mean +- sd per code and
# Welch's t-test per metric (kbnn minus peer).
#
# Environment: KBNN_SEEDS_DIR (results, default /tmp/kbnn-ood-seeds), KBNN_FIRST_SEED,
# KBNN_BUILD_DIR (default build/), KBNN_OOD_DIR (default /tmp/kbnn-ood/mnist),
# KBNN_SEEDS_CODES (default "kbnn peer"), KBNN_PEER_THREADS (default RANKS: on a machine
# shared with other jobs, 1 keeps torch's OpenMP threads from spinning against them; the
# results do not depend on it). Minutes per run on a loaded 2-core machine.
# A smoke test of the script itself (its numbers mean nothing): KBNN_BENCH_TRAIN_LIMIT,
# KBNN_BENCH_TEST_LIMIT, KBNN_BENCH_OOD_LIMIT (default 0 = all) give both codes the first
# N training, test and OOD images, e.g.
#   KBNN_BENCH_TRAIN_LIMIT=600 KBNN_BENCH_TEST_LIMIT=200 KBNN_BENCH_OOD_LIMIT=200 \
#     KBNN_SEEDS_DIR=/tmp/seeds-smoke bench/ood_seeds.sh 2 1 2 2
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10} epochs=${2:-5} samples=${3:-10} ranks=${4:-2}
first=${KBNN_FIRST_SEED:-1}
build=${KBNN_BUILD_DIR:-$root/build}
ood=${KBNN_OOD_DIR:-/tmp/kbnn-ood/mnist}
dir=${KBNN_SEEDS_DIR:-/tmp/kbnn-ood-seeds}
codes=${KBNN_SEEDS_CODES:-kbnn peer}
py=/usr/bin/python3  # Debian's, with h5py, numpy and torch
train_limit=${KBNN_BENCH_TRAIN_LIMIT:-0} test_limit=${KBNN_BENCH_TEST_LIMIT:-0}
ood_limit=${KBNN_BENCH_OOD_LIMIT:-0}
mkdir -p "$dir/runs"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
"$root/scripts/get_ood_data.sh" "$ood" >/dev/null

run_kbnn() {  # seed
  local name=kbnn_seed$1
  mpiexec --oversubscribe -n "$ranks" "$build/src/kbnn" train "$root/input/fashion_mnist_lenet5.cfg" \
    --train.seed="$1" --train.epochs="$epochs" --eval.samples="$samples" --ood.format=idx \
    --ood.dir="$ood" --ood.name=mnist --output.dir="$dir/runs" --output.name="$name" \
    --data.train_limit="$train_limit" --data.test_limit="$test_limit" --ood.limit="$ood_limit" \
    --train.log_every=100 --output.overwrite=true > "$dir/runs/$name.log"
  local rate
  rate=$(sed -nE 's/^training: .* = ([0-9.]+) images\/s.*/\1/p' "$dir/runs/$name.log")
  "$py" "$root/bench/seed_stats.py" extract "$dir/runs/$name.h5" "$dir/$name.json" \
    seed="$1" epochs="$epochs" train_images_per_second="$rate"
}

run_peer() {  # seed
  local name=peer_seed$1
  "$py" "$root/bench/peer_torch_flipout.py" --seed "$1" --epochs "$epochs" \
    --mc-samples "$samples" --threads "${KBNN_PEER_THREADS:-$ranks}" --ood-dir "$ood" \
    --train-limit "$train_limit" --test-limit "$test_limit" --ood-limit "$ood_limit" \
    --metrics-json "$dir/$name.json.tmp" > "$dir/runs/$name.log"
  mv "$dir/$name.json.tmp" "$dir/$name.json"
}

echo "# $n seeds from $first, $epochs epochs, S=$samples, kbnn on $ranks rank(s), the peer on" \
     "${KBNN_PEER_THREADS:-$ranks} thread(s); results in $dir"
for ((seed = first; seed < first + n; ++seed)); do
  for code in $codes; do
    [[ -s $dir/${code}_seed$seed.json ]] && continue
    start=$SECONDS
    "run_$code" "$seed"
    echo "# $code seed $seed: $((SECONDS - start)) s"
  done
done
# shellcheck disable=SC2086
"$py" "$root/bench/seed_stats.py" table "$dir" $codes --against "${codes##* }"
