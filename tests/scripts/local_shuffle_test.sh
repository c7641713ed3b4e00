#!/usr/bin/env bash
# data.shuffle = local: each rank trains on its own partition of the training rows. The
# step dump records, for every step, the global index of each row of the batch and the
# rank that computed it; over an epoch each rank's rows must be a permutation of its
# partition (600 rows: 2 ranks with batch 128, 3 ranks with batch 120), or, where the
# shares of the batches do not add up to the partitions (3 ranks, batch 128), distinct
# rows of its own partition until it wraps around to the start of its permutation.
# PyTorch then replays the uneven run from the recorded rows: the rows recorded are the
# rows trained on. (Equal parameters on every rank, which the allreduce gives whatever
# rows were used, say nothing about this.)
#   usage: local_shuffle_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
python=/usr/bin/python3
replay() { "$python" "$(dirname "$0")/torch_replay.py" "$@"; }
"$python" -c "import torch, h5py, numpy" 2> /dev/null ||
  skip "$python lacks torch, h5py or numpy (scripts/install_deps.sh installs python3-torch)"

# One epoch of 5 steps and the first step of the next.
local=(--data.train_limit=600 --data.test_limit=100 --data.shuffle=local --train.epochs=2
       --train.max_steps=6 --debug.dump_steps=6 --eval.samples=1
       --output.write_predictions=false --output.dir="$out")
for run in "2 128" "3 120" "3 128"; do
  read -r ranks batch <<< "$run"
  name=local_${ranks}_$batch
  run_mpi -n "$ranks" "$kbnn" train "$deck" "${local[@]}" --train.batch_size="$batch" \
    --output.name="$name" --debug.dump_file="$out/${name}_dump.h5" > "$out/$name.log" ||
    { cat "$out/$name.log"; fail "$ranks ranks, batch $batch: training failed"; }
  grep -q "training set partitioned over ranks" "$out/$name.log" || fail "$name: not partitioned"
  replay shards "$out/${name}_dump.h5" > "$out/$name.shards" ||
    { cat "$out/$name.shards"; fail "$ranks ranks, batch $batch: rows off their partitions"; }
  cat "$out/$name.shards"
done
for rank in 0 1; do
  grep -q "^epoch 0, rank $rank: 300 rows: a permutation of its partition" "$out/local_2_128.shards" ||
    fail "2 ranks: rank $rank's epoch is not a permutation of its partition"
done
for rank in 0 1 2; do
  grep -q "^epoch 0, rank $rank: 200 rows: a permutation of its partition" "$out/local_3_120.shards" ||
    fail "3 ranks: rank $rank's epoch is not a permutation of its partition"
done
replay replay "$out/local_3_128_dump.h5" || fail "PyTorch does not reproduce the recorded rows"
echo "PASSED"
