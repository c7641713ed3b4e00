#!/usr/bin/env bash
# A 1-D CNN on signals (input/waveform_conv1d.cfg on 400 of Breiman's waveforms) through
# every command, its layers named conv1d_<i> and maxpool1d_<i> wherever conv2d's are: a
# deterministic run on 2 ranks; a MOPED run from it (model.init_from) whose initial mu,
# read from its step dump, are that run's weights; a run stopped after one epoch and
# resumed that ends as the uninterrupted one, bit for bit; kbnn info; predict on 1 and 2
# ranks in both splits, the same predictions; prune, its masks per conv1d kernel.
#   usage: signal_commands_test.sh MPIEXEC KBNN DECK (DECK unused: the data is made here)
set -euo pipefail
mpiexec=$1 kbnn=$2
deck_data=no
source "$(dirname "$0")/common.sh"
python=/usr/bin/python3
"$python" -c "import h5py, numpy" 2> /dev/null || skip "$python lacks h5py or numpy"
root=$(cd "$(dirname "$0")/../.." && pwd)
deck=$root/input/waveform_conv1d.cfg
"$python" "$root/scripts/waveform_to_h5.py" "$out/data" --train 400 --test 200 > /dev/null
common=(--data.train_file="$out/data/train.h5" --data.test_file="$out/data/test.h5"
        --train.epochs=2 --train.log_every=5 --eval.samples=4 --output.dir="$out")
train() {  # train RANKS NAME OPTIONS...
  local ranks=$1 name=$2; shift 2
  run_mpi -n "$ranks" "$kbnn" train "$deck" "${common[@]}" --output.name="$name" "$@" \
    > "$out/$name.log" 2>&1 || { cat "$out/$name.log"; fail "training $name failed"; }
}

train 2 det --model.estimator=deterministic
grep -q "conv1d_3     1x10x16    deterministic" "$out/det.log" || fail "the log's model table has no conv1d_3"
train 2 moped --model.init_from="$out/det.h5" --model.moped_delta=0.1 --debug.dump_steps=1 \
  --debug.dump_file="$out/moped_dump.h5"
"$python" - "$out/det.h5" "$out/moped_dump.h5" <<'PY' || fail "MOPED did not start from the run's weights"
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as run, h5py.File(sys.argv[2], "r") as dump:
    for layer in ("conv1d_0", "conv1d_3", "dense_7"):
        w, mu = run[f"weights/{layer}/kernel"][...], dump[f"initial/{layer}/kernel/mu"][...]
        assert w.shape == mu.shape and np.array_equal(w, mu), layer
    assert run["weights/conv1d_0/kernel"].shape == (8, 5, 1)  # (out, k, in)
PY

train 2 full
train 2 first --train.max_steps=7 --output.checkpoint_every=5
train 2 resumed --restart "$out/first.checkpoint.h5"
"$python" "$(dirname "$0")/compare_runs.py" "$out/full.h5" "$out/resumed.h5" ||
  fail "the resumed run differs from the uninterrupted one"

"$kbnn" info "$out/full.h5" > "$out/info.log" || fail "kbnn info failed"
for line in "maxpool1d_2  1x10x8" "weights: conv1d_0 (8x5x1) conv1d_3 (16x3x8) dense_7 (3x80)"; do
  grep -q "$line" "$out/info.log" || { cat "$out/info.log"; fail "kbnn info lacks '$line'"; }
done

for n in 1 2; do
  for split in examples samples; do
    run_mpi -n $n "$kbnn" predict "$out/full.h5" --split $split --output "$out/predict_${n}_$split.h5" \
      > /dev/null || fail "predict on $n rank(s), split $split failed"
    h5diff "$out/predict_1_examples.h5" "$out/predict_${n}_$split.h5" /predictions /predictions \
      > /dev/null || fail "predict on $n rank(s), split $split gives other predictions"
  done
done

run_mpi -n 2 "$kbnn" prune "$out/full.h5" --fractions=0.5 --output "$out/prune.h5" > "$out/prune.log" ||
  fail "prune failed"
"$python" -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    assert sorted(f['pruning/masks/0.5']) == ['conv1d_0_kernel', 'conv1d_3_kernel', 'dense_7_kernel']
" "$out/prune.h5" || fail "the pruning file's masks are not the conv1d and dense kernels"
echo "PASSED"
