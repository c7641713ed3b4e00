#!/usr/bin/env bash
# train.clip_norm on the heteroscedastic pulse-position deck (input/pulses_position.cfg,
# 600 signals of scripts/pulses_to_h5.py), 2 ranks: a run stopped after 20 steps and
# resumed from its checkpoint ends as the uninterrupted one, bit for bit (clipping keeps
# no state: the deck's bound and the gradient decide each step), and the log's counts of
# clipped steps add up; and the bound changes the run (0.5 clips some of its steps), so the
# comparison is one of clipped runs.
#   usage: clip_norm_test.sh MPIEXEC KBNN DECK (DECK unused: the data is made here)
set -euo pipefail
mpiexec=$1 kbnn=$2
deck_data=no
source "$(dirname "$0")/common.sh"
python=/usr/bin/python3
"$python" -c "import h5py, numpy" 2> /dev/null || skip "$python lacks h5py or numpy"
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
"$python" "$root/scripts/pulses_to_h5.py" "$out/data" --train 600 --test 200 > /dev/null
train() {  # train NAME OPTIONS...
  local name=$1; shift
  run_mpi -n 2 "$kbnn" train "$root/input/pulses_position.cfg" --data.train_file="$out/data/train.h5" \
    --data.test_file="$out/data/test.h5" --train.epochs=4 --train.log_every=10 --eval.samples=4 \
    --output.dir="$out" --output.name="$name" "$@" > "$out/$name.log" 2>&1 ||
    { cat "$out/$name.log"; fail "training $name failed"; }
}
train full --train.clip_norm=0.5
train first --train.clip_norm=0.5 --train.max_steps=20 --output.checkpoint_every=20
train resumed --train.clip_norm=0.5 --restart "$out/first.checkpoint.h5"
"$python" "$here/compare_runs.py" "$out/full.h5" "$out/resumed.h5"
# The log says how often the bound acted, over each run's own steps: the first 20 steps'
# and the resumed rest add up to the uninterrupted run's, and 0.5 clips some of them, not
# all (the largest norm is ~0.8, the typical one under 0.5).
clipped() {  # clipped NAME: "CLIPPED STEPS" from the run's one summary line (rank 0's)
  sed -nE "s/^train.clip_norm = 0.5: ([0-9]+) of this run's ([0-9]+) steps clipped \(largest gradient norm [0-9.e+-]+\)$/\1 \2/p" \
    "$out/$1.log" | awk '{ print } END { exit NR != 1 }' ||
    fail "$1: not one clipping summary: $(grep -i clip "$out/$1.log")"
}
counts=$(clipped full) && read -r full_clipped full_steps <<< "$counts" || { echo "$counts"; exit 1; }
counts=$(clipped first) && read -r first_clipped first_steps <<< "$counts" || { echo "$counts"; exit 1; }
counts=$(clipped resumed) && read -r rest_clipped rest_steps <<< "$counts" || { echo "$counts"; exit 1; }
((first_steps == 20 && first_steps + rest_steps == full_steps)) ||
  fail "steps: $first_steps + $rest_steps against $full_steps"
((first_clipped + rest_clipped == full_clipped && 0 < full_clipped && full_clipped < full_steps)) ||
  fail "clipped steps: $first_clipped + $rest_clipped against $full_clipped"
train unclipped
! grep -q "steps clipped" "$out/unclipped.log" || fail "an unclipped run reports clipping"
"$python" - "$out/full.h5" "$out/unclipped.h5" <<'PY' || fail "clip_norm = 0.5 left the run as it was"
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    assert "clip_norm = 0.5" in a.attrs["deck"] and "clip_norm = 0\n" in b.attrs["deck"]
    assert not np.array_equal(a["checkpoint/parameters"][...], b["checkpoint/parameters"][...])
print("PASSED: clipped and unclipped runs differ")
PY
