#!/usr/bin/env bash
# kbnn against the PyTorch Flipout LeNet-5 peer (../shared/bench/peer_torch_flipout.py),
# back to back on this machine: training images/s, GFLOP/s in the gemms (579.6 MFLOP
# per batch-128 step), MC-inference image-passes/s and test accuracy.
#
#   bench/run_benchmark.sh [EPOCHS] [SAMPLES]        (defaults: 1 epoch, S = 10)
#
# Rows: kbnn on 1 rank vs the peer on 1 thread; kbnn on 2 ranks vs the peer on 2
# threads. Shared machines are noisy: compare the ratios of one run, not absolute rates.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
epochs=${1:-1}
samples=${2:-10}
peer=${KBNN_PEER:-$root/../shared/bench/peer_torch_flipout.py}
guard=$root/../shared/bench/cpu_guard.sh
source "$root/scripts/env.sh"
[[ -x "$root/build/src/kbnn" ]] || "$root/scripts/build.sh" >/dev/null
kbnn="$root/build/src/kbnn"
out=$(mktemp -d /tmp/kbnn-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
if [[ -r "$guard" ]]; then source "$guard"; wait_idle 25 120 || true; fi

run_kbnn() {  # ranks -> "images/s gflops passes/s accuracy"
  local log=$out/kbnn_$1.log
  mpiexec --oversubscribe -n "$1" "$kbnn" train "$root/input/fashion_mnist_lenet5.cfg" \
    --train.epochs="$epochs" --eval.samples="$samples" --train.log_every=1000 \
    --output.dir="$out" --output.name="bench_$1" > "$log"
  awk '/^training:/ {for (i = 1; i <= NF; i++) { if ($i == "images/s,") ips = $(i-1); if ($i == "GFLOP/s") gf = $(i-1) } }
       /^inference:/ {ps = $2}
       /^test \(MC/ {for (i = 1; i <= NF; i++) if ($i == "accuracy") acc = $(i+1)}
       END {print ips, gf, ps, acc}' "$log"
}
run_peer() {  # threads -> "images/s gflops passes/s accuracy"
  local log=$out/peer_$1.log
  /usr/bin/python3 "$peer" --threads "$1" --epochs "$epochs" --mc-samples "$samples" > "$log" 2>&1
  # "TRAIN throughput (excl. first 10 steps): 2882 img/s, achieved conv+dense 13.05 GFLOP/s, ..."
  awk '/^TRAIN throughput/ {for (i = 1; i <= NF; i++) { if ($i == "img/s,") ips = $(i-1); if ($i == "GFLOP/s," && !gf) gf = $(i-1) } }
       /^TEST/ {for (i = 1; i <= NF; i++) { if ($i == "acc") acc = $(i+1); if ($i == "img-passes/s") ps = $(i-1) } }
       END {print ips, gf, ps, acc}' "$log"
}

printf '%-22s %12s %10s %16s %9s\n' "run" "train img/s" "GFLOP/s" "MC img-passes/s" "accuracy"
for n in 1 2; do
  read -r ki kg kp ka < <(run_kbnn "$n")
  if [[ -r "$peer" ]]; then read -r pi pg pp pa < <(run_peer "$n"); else pi=nan pg=nan pp=nan pa=nan; fi
  printf '%-22s %12s %10s %16s %9s\n' "kbnn, $n rank(s)" "$ki" "$kg" "$kp" "$ka"
  printf '%-22s %12s %10s %16s %9s\n' "peer, $n thread(s)" "$pi" "$pg" "$pp" "$pa"
  awk -v a="$ki" -v b="$pi" -v c="$kp" -v d="$pp" \
    'BEGIN {if (b > 0 && d > 0) printf "%-22s %11.2fx %10s %15.2fx\n", "ratio kbnn/peer", a / b, "", c / d}'
done
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}, $epochs epoch(s), S=$samples"
