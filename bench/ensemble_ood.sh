#!/usr/bin/env bash
# Ensembles against one model on Fashion-MNIST -> MNIST OOD detection: kbnn ensembles of
# 1, 3 and 5 Bayesian members (parallel.ensemble), a deep ensemble of the deterministic
# twins (--model.estimator=deterministic, S = 1) of the same sizes, and the PyTorch peer's
# single models from bench/ood_seeds.sh, over several seeds each.
#
#   bench/ensemble_ood.sh [SEEDS] [EPOCHS] [SAMPLES] [RANKS]   (defaults: "1 2 3", 5, 10, 2)
#
# Per seed s and kind (KBNN_BENCH_KINDS, default "bnn twin"; bnnfit and twinfit are the
# same with a fitted temperature: data.validation_fraction = 0.1, eval.temperature = fit),
# one 5-member ensemble is trained on RANKS ranks
# (min(5, RANKS) rank groups, members one after another within a group). A member does
# not depend on K (member k's seed is member_seed(s, k)), so the 3-member ensemble is
# its first three members and the 1-member "ensemble" its member 0 (the single model of
# seed s, trained on one group's ranks): kbnn scores the 3-member mixture itself, from
# copies of those members' run files (`--restart auto` finds them finished, trains no
# step and evaluates), and member 0's own run file gives K = 1. Each result lands in
# DIR/<kind>_k<K>_seed<s>.json (test accuracy, NLL, ECE, the AUROC of each OOD score,
# the within/between split, the members' own mean metrics; for K = 5 the training
# images/s per member and the wall time); runs already there are skipped. Then
# bench/seed_stats.py prints mean +- sd and Welch's t-test against the single BNN. A fit
# kind's 5-member ensemble and member 0 are also predicted at T = 1 (`kbnn predict
# --eval.temperature=1`): <kind>raw_k5 and <kind>raw_k1, the same models untempered.
#
# An interrupted 5-member ensemble resumes (--restart auto) where it stopped.
#
# Environment: KBNN_ENSEMBLE_DIR (results, default /tmp/kbnn-ensemble-ood), KBNN_SEEDS_DIR
# (bench/ood_seeds.sh's results, for the peer's rows), KBNN_BUILD_DIR, KBNN_OOD_DIR, and
# for a smoke test of the script (numbers meaningless) KBNN_BENCH_TRAIN_LIMIT,
# KBNN_BENCH_TEST_LIMIT, KBNN_BENCH_OOD_LIMIT (first N images; default 0 = all), e.g.
#   KBNN_BENCH_TRAIN_LIMIT=600 KBNN_BENCH_TEST_LIMIT=200 KBNN_BENCH_OOD_LIMIT=200 \
#     KBNN_ENSEMBLE_DIR=/tmp/ens-smoke KBNN_SEEDS_DIR=/tmp/seeds-smoke bench/ensemble_ood.sh "1 2" 1 2 2
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-1 2 3} epochs=${2:-5} samples=${3:-10} ranks=${4:-2}
build=${KBNN_BUILD_DIR:-$root/build}
ood=${KBNN_OOD_DIR:-/tmp/kbnn-ood/mnist}
dir=${KBNN_ENSEMBLE_DIR:-/tmp/kbnn-ensemble-ood}
peer_dir=${KBNN_SEEDS_DIR:-/tmp/kbnn-ood-seeds}
py=/usr/bin/python3
runs=$dir/runs
mkdir -p "$runs"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
"$root/scripts/get_ood_data.sh" "$ood" >/dev/null

kbnn_train() {  # name seed members kind [more options]
  local name=$1 seed=$2 members=$3 kind=$4
  shift 4
  local kind_args=(--eval.samples="$samples")
  [[ $kind == twin* ]] && kind_args=(--model.estimator=deterministic --eval.samples=1)
  [[ $kind == *fit ]] && kind_args+=(--data.validation_fraction=0.1 --eval.temperature=fit)
  mpiexec --oversubscribe -n "$ranks" "$build/src/kbnn" train "$root/input/fashion_mnist_lenet5.cfg" \
    --train.seed="$seed" --train.epochs="$epochs" --ood.format=idx \
    --ood.dir="$ood" --ood.name=mnist --output.dir="$runs" --output.name="$name" \
    --parallel.ensemble="$members" --data.train_limit="${KBNN_BENCH_TRAIN_LIMIT:-0}" \
    --data.test_limit="${KBNN_BENCH_TEST_LIMIT:-0}" --ood.limit="${KBNN_BENCH_OOD_LIMIT:-0}" \
    "${kind_args[@]}" "$@" >> "$runs/$name.log"
}

# The mean training rate of the members (their "training: ... images/s" lines).
member_rate() {  # members dir
  cat "$1"/member_*.log | sed -nE 's/^training: .* = ([0-9.]+) images\/s.*/\1/p' |
    awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n; else print "nan" }'
}

ensemble_of_five() {  # kind seed
  local name=${1}5_seed$2 start=$SECONDS
  kbnn_train "$name" "$2" 5 "$1" --restart auto
  local wall
  wall=$(sed -nE 's/^ensemble: 5 members trained in ([0-9.]+) s.*/\1/p' "$runs/$name.log" | tail -1)
  "$py" "$root/bench/seed_stats.py" extract "$runs/$name.h5" "$dir/${1}_k5_seed$2.json" \
    seed="$2" train_images_per_second="$(member_rate "$runs/$name.members")" \
    training_wall_seconds="$wall" groups="$(( ranks < 5 ? ranks : 5 ))"
  echo "# $1 seed $2, 5 members: $((SECONDS - start)) s"
}

first_three() {  # kind seed: the mixture of members 0-2 of the 5-member ensemble
  local name=${1}3_seed$2 five=$runs/${1}5_seed$2.members
  mkdir -p "$runs/$name.members"
  for k in 0 1 2; do cp "$five/member_$k.h5" "$runs/$name.members/"; done
  kbnn_train "$name" "$2" 3 "$1" --restart auto
  "$py" "$root/bench/seed_stats.py" extract "$runs/$name.h5" "$dir/${1}_k3_seed$2.json" seed="$2"
}

untempered() {  # kind seed K file: the model of `file` predicted at T = 1
  local name=${1}raw_k$3_seed$2
  mpiexec --oversubscribe -n "$ranks" "$build/src/kbnn" predict "$4" --eval.temperature=1 \
    --output "$runs/$name.h5" >> "$runs/$name.log"
  "$py" "$root/bench/seed_stats.py" extract "$runs/$name.h5" "$dir/$name.json" seed="$2"
}

kinds=${KBNN_BENCH_KINDS:-bnn twin}
groups=()
for kind in $kinds; do
  groups+=("${kind}_k1" "${kind}_k3" "${kind}_k5")
  [[ $kind == *fit ]] && groups+=("${kind}raw_k1" "${kind}raw_k5")
done
for seed in $seeds; do
  for kind in $kinds; do
    [[ -s $dir/${kind}_k5_seed$seed.json ]] || ensemble_of_five "$kind" "$seed"
    [[ -s $dir/${kind}_k3_seed$seed.json ]] || first_three "$kind" "$seed"
    member_0=$runs/${kind}5_seed$seed.members/member_0.h5
    [[ -s $dir/${kind}_k1_seed$seed.json ]] ||
      "$py" "$root/bench/seed_stats.py" extract "$member_0" "$dir/${kind}_k1_seed$seed.json" seed="$seed"
    [[ $kind != *fit ]] && continue
    [[ -s $dir/${kind}raw_k5_seed$seed.json ]] || untempered "$kind" "$seed" 5 "$runs/${kind}5_seed$seed.h5"
    [[ -s $dir/${kind}raw_k1_seed$seed.json ]] || untempered "$kind" "$seed" 1 "$member_0"
  done
done
for f in "$peer_dir"/peer_seed*.json; do [[ -e $f ]] && ln -sf "$f" "$dir/"; done
"$py" "$root/bench/seed_stats.py" table "$dir" "${groups[@]}" peer --against "${groups[0]}"
