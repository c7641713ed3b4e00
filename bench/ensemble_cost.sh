#!/usr/bin/env bash
# What an ensemble costs: K members in K rank groups at once against the same K members
# one after another on all the ranks (parallel.ensemble_groups = 1), back to back,
# alternating, REPEATS times each.
#
#   bench/ensemble_cost.sh [K] [EPOCHS] [RANKS] [REPEATS]   (defaults: 2, 1, 2, 2)
#
# Prints, per run, the wall time of the training phase ("ensemble: K members trained in
# ... s"), of the whole job, and each member's training images/s (its "training: ..."
# line), then the means. The members and their numbers are the same in both layouts up
# to rounding (a member on 1 rank sums its gradients in another order than on 2), so
# only the time differs. On a shared machine, compare runs made minutes apart only.
# Environment: KBNN_BUILD_DIR (default build/), KBNN_COST_DIR (default
# /tmp/kbnn-ensemble-cost), KBNN_BENCH_TRAIN_LIMIT (the first N training images; default
# 0 = all: a smaller N is a smoke test of the script, e.g.
#   KBNN_BENCH_TRAIN_LIMIT=600 KBNN_COST_DIR=/tmp/cost-smoke bench/ensemble_cost.sh 2 1 2 1).
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
k=${1:-2} epochs=${2:-1} ranks=${3:-2} repeats=${4:-2}
build=${KBNN_BUILD_DIR:-$root/build}
dir=${KBNN_COST_DIR:-/tmp/kbnn-ensemble-cost}
mkdir -p "$dir"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1

run() {  # layout groups repeat
  local name=$1_$3
  rm -rf "$dir/$name.members"
  local start=$SECONDS
  mpiexec --oversubscribe -n "$ranks" "$build/src/kbnn" train "$root/input/fashion_mnist_lenet5.cfg" \
    --train.epochs="$epochs" --parallel.ensemble="$k" --parallel.ensemble_groups="$2" \
    --output.dir="$dir" --output.name="$name" --output.overwrite=true \
    --data.train_limit="${KBNN_BENCH_TRAIN_LIMIT:-0}" > "$dir/$name.log"
  local job=$((SECONDS - start)) training rates
  training=$(sed -nE 's/^ensemble: .* trained in ([0-9.]+) s.*/\1/p' "$dir/$name.log")
  rates=$(sed -nE 's/^training: .* = ([0-9]+) images\/s.*/\1/p' "$dir/$name.members"/member_*.log |
          paste -sd' ')
  echo "$1 $training $job $rates"
}

echo "# $k members, $epochs epoch(s), $ranks rank(s); layout, training wall s, job wall s, images/s of each member"
for ((i = 0; i < repeats; ++i)); do
  run groups "$(( k < ranks ? k : ranks ))" "$i"
  run one_after_another 1 "$i"
done | tee "$dir/cost.txt"
awk '!/^#/ { t[$1] += $2; j[$1] += $3; n[$1]++; for (f = 4; f <= NF; ++f) { r[$1] += $f; m[$1]++ } }
     END { for (l in t) printf "%s: training %.1f s, job %.1f s, %.0f images/s per member (means)\n",
                               l, t[l] / n[l], j[l] / n[l], r[l] / m[l] }' "$dir/cost.txt"
