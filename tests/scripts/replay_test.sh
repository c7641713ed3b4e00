#!/usr/bin/env bash
# kbnn against PyTorch, step by step (tests/scripts/torch_replay.py): kbnn records its
# first steps (debug.dump_steps) on 1 and on 2 ranks; the two dumps must agree, and
# PyTorch, fed the same initial parameters, batches, weight noise and Flipout signs,
# must reproduce every step's NLL, KL, gradients and parameters, with max pooling taking
# kbnn's recorded argmax (torch's own choice must differ only at near-ties). The slice
# (600 images, batch 128) has a last batch of 88 and the first step of a second epoch.
# A dump with one sign flipped must fail the replay: the comparison can fail. The same for
# a 1-D CNN on signals (input/waveform_conv1d.cfg, replayed with F.conv1d): 600 of
# Breiman's waveforms in batches of 64, 12 steps across the first epoch's end (its last
# batch 24 rows), Flipout on 1 and 2 ranks, reparam with Bayesian biases.
#   usage: replay_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
python=/usr/bin/python3
replay() { "$python" "$(dirname "$0")/torch_replay.py" "$@"; }
"$python" -c "import torch, h5py, numpy" 2> /dev/null ||
  skip "$python lacks torch, h5py or numpy (scripts/install_deps.sh installs python3-torch)"

small=(--data.train_limit=600 --data.test_limit=100 --train.epochs=2 --train.max_steps=7
       --debug.dump_steps=7 --eval.samples=1 --output.write_predictions=false --output.dir="$out")
run_mpi -n 1 "$kbnn" train "$deck" "${small[@]}" --output.name=one \
  --debug.dump_file="$out/one_dump.h5" > "$out/one.log" || { cat "$out/one.log"; fail "1 rank failed"; }
grep -q "debug: recording the first 7 steps in $out/one_dump.h5" "$out/one.log" ||
  fail "the log does not announce the dump"
run_mpi -n 2 "$kbnn" train "$deck" "${small[@]}" --output.name=two \
  --debug.dump_file="$out/two_dump.h5" > /dev/null || fail "2 ranks failed"
replay same "$out/one_dump.h5" "$out/two_dump.h5" || fail "the 1- and 2-rank dumps differ"
replay shards "$out/two_dump.h5" || fail "the 2-rank dump's rows are not the ranks' shards"
replay replay "$out/one_dump.h5" || fail "PyTorch does not reproduce the default deck"

# Bayesian biases (their own noise), reparameterization and a KL warm-up (beta < 1).
run_mpi -n 2 "$kbnn" train "$deck" "${small[@]}" --output.name=other \
  --model.bayesian_bias=true --model.estimator=reparam --train.kl_schedule=linear \
  --train.kl_warmup_epochs=1 --debug.dump_file="$out/other_dump.h5" > /dev/null ||
  fail "the run with Bayesian biases failed"
replay replay "$out/other_dump.h5" || fail "PyTorch does not reproduce reparam with Bayesian biases"

# One input sign of one example flipped at step 2: the replay must see it.
cp "$out/one_dump.h5" "$out/bad_dump.h5"
"$python" -c "
import h5py
with h5py.File('$out/bad_dump.h5', 'r+') as f:
    f['steps/2/layers/conv2d_3/sign_in'][5, 3] *= -1
"
replay replay "$out/bad_dump.h5" > "$out/bad.log" && fail "a flipped sign went unnoticed"
cat "$out/bad.log"
grep -q "step 2: gradient conv2d_" "$out/bad.log" || fail "the replay did not name step 2's gradients"
if grep -q "step [01]:" "$out/bad.log"; then fail "steps before the flipped sign were flagged"; fi

# The 1-D CNN.
root=$(cd "$(dirname "$0")/../.." && pwd)
"$python" "$root/scripts/waveform_to_h5.py" "$out/waveform" --train 600 --test 100 > /dev/null
signals=(--data.train_file="$out/waveform/train.h5" --data.test_file="$out/waveform/test.h5"
         --train.epochs=2 --train.max_steps=12 --debug.dump_steps=12 --eval.samples=1
         --output.write_predictions=false --output.dir="$out")
for n in 1 2; do
  run_mpi -n $n "$kbnn" train "$root/input/waveform_conv1d.cfg" "${signals[@]}" \
    --output.name=signal_$n --debug.dump_file="$out/signal_${n}_dump.h5" > /dev/null ||
    fail "the conv1d deck failed on $n rank(s)"
done
replay same "$out/signal_1_dump.h5" "$out/signal_2_dump.h5" || fail "the conv1d deck's 1- and 2-rank dumps differ"
replay replay "$out/signal_1_dump.h5" || fail "PyTorch does not reproduce the conv1d deck"
run_mpi -n 2 "$kbnn" train "$root/input/waveform_conv1d.cfg" "${signals[@]}" --output.name=signal_reparam \
  --model.estimator=reparam --model.bayesian_bias=true --debug.dump_file="$out/signal_reparam_dump.h5" \
  > /dev/null || fail "the conv1d deck with reparam failed"
replay replay "$out/signal_reparam_dump.h5" || fail "PyTorch does not reproduce the conv1d deck with reparam"
"$python" -c "
import h5py
with h5py.File('$out/signal_1_dump.h5', 'r+') as f:
    f['steps/2/layers/conv1d_3/sign_in'][5, 3] *= -1
"
replay replay "$out/signal_1_dump.h5" > "$out/bad.log" && fail "a flipped conv1d sign went unnoticed"
grep -q "step 2: gradient conv1d_" "$out/bad.log" || { cat "$out/bad.log"; fail "the replay did not name step 2's conv1d gradients"; }

# Bad options end with a message naming them.
"$kbnn" train "$deck" --debug.dump_steps=3 > "$out/err" 2>&1 && fail "dump_steps without dump_file ran"
grep -q "debug.dump_file" "$out/err" || { cat "$out/err"; fail "no message naming debug.dump_file"; }
# The dump may not overwrite the run's own file, however the two are spelled.
(cd "$out" && "$kbnn" train "$deck" --debug.dump_steps=3 --debug.dump_file=same.h5 \
   --output.dir=. --output.name=same > err 2>&1) && fail "a dump over the run file ran"
grep -q "debug.dump_file: same.h5 is this run's run file" "$out/err" ||
  { cat "$out/err"; fail "no message naming the clash"; }
"$kbnn" train "$deck" --debug.dump_steps=3 --debug.dump_file=x.h5 --train.lr_schedule=cosine \
  > "$out/err" 2>&1 && fail "a dump with a learning-rate schedule ran"
grep -q "train.lr_schedule" "$out/err" || { cat "$out/err"; fail "no message naming train.lr_schedule"; }
echo "PASSED"
