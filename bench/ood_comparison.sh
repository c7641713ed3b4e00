#!/usr/bin/env bash
# Out-of-distribution detection, kbnn against its PyTorch peer, measured the same way:
# the same Bayesian LeNet-5 trained on Fashion-MNIST for EPOCHS epochs, then S
# Monte-Carlo passes over the Fashion-MNIST test set (in-distribution) and 10,000 MNIST
# digits (out-of-distribution, scripts/get_ood_data.sh). Both score every image by
# predictive entropy, mutual information and 1 - max probability and report AUROC (ties
# count 1/2) and AUPR with MNIST as the positive class (uq/ood.cpp; the peer's
# auroc / average_precision are an independent numpy version of the same definitions).
#
#   bench/ood_comparison.sh [EPOCHS] [SAMPLES] [RANKS]   (defaults: 5 epochs, S = 10, 2 ranks)
#
# kbnn trains on RANKS MPI ranks (1 thread each) and scores the OOD set at the end of
# training ([ood] in the deck), then `kbnn predict` scores it again from the run file;
# the peer trains with RANKS threads. Takes minutes per epoch on a loaded 2-core machine.
# Environment: KBNN_BUILD_DIR (default build/), KBNN_OOD_DIR (default /tmp/kbnn-ood/mnist).
set -euo pipefail
source "$(dirname "$0")/help.sh"  # -h, --help: the comment above
root=$(cd "$(dirname "$0")/.." && pwd)
epochs=${1:-5} samples=${2:-10} ranks=${3:-2}
build=${KBNN_BUILD_DIR:-$root/build}
ood=${KBNN_OOD_DIR:-/tmp/kbnn-ood/mnist}
out=$(mktemp -d /tmp/kbnn-ood-bench.XXXXXX)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
"$root/scripts/get_ood_data.sh" "$ood" >/dev/null

echo "# kbnn: $ranks rank(s), $epochs epochs, S=$samples; run files in $out"
mpiexec --oversubscribe -n "$ranks" "$build/src/kbnn" train "$root/input/fashion_mnist_lenet5.cfg" \
  --train.epochs="$epochs" --eval.samples="$samples" --ood.format=idx --ood.dir="$ood" \
  --output.dir="$out" --train.log_every=100 > "$out/kbnn_train.log"
grep -E "^(test|OOD)" "$out/kbnn_train.log"
mpiexec --oversubscribe -n "$ranks" "$build/src/kbnn" predict "$out/fashion_mnist_lenet5.h5" \
  --ood.format=idx --ood.dir="$ood" --output "$out/predict.h5" > "$out/kbnn_predict.log"
grep -E "^OOD" "$out/kbnn_predict.log" | sed 's/^/predict: /'

echo "# peer: $ranks thread(s), $epochs epochs, S=$samples"
/usr/bin/python3 "$root/bench/peer_torch_flipout.py" --epochs "$epochs" --mc-samples "$samples" \
  --threads "$ranks" --ood-dir "$ood" > "$out/peer.log"
grep -E "^(TEST|OOD)" "$out/peer.log"
