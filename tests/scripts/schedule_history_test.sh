#!/usr/bin/env bash
# Schedules in real runs: every step is logged (log_every = 1) and /history's lr and
# beta columns must equal the schedules' definitions (src/train/lr_schedule.hpp,
# src/train/kl_schedule.hpp), recomputed here independently, at every step:
#   1 rank, global batch: linear KL warm-up, LR warm-up over half an epoch, step decay;
#   2 ranks, per_rank: cyclical KL, cosine decay, and per_rank's default 5-epoch warm-up
#   from the one-rank rate train.lr up to train.lr * 2 (Goyal et al. 2017).
#   usage: schedule_history_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
# 600 examples, a global batch of 100: 6 steps per epoch, 18 steps in all.
args=(--data.train_limit=600 --data.test_limit=100 --train.epochs=3 --train.log_every=1
      --train.lr=0.002 --eval.samples=1 --output.dir="$out")
run_mpi -n 1 "$kbnn" train "$deck" "${args[@]}" --output.name=global --train.batch_size=100 \
  --train.kl_schedule=linear --train.kl_warmup_epochs=2 --train.kl_beta=0.5 \
  --train.lr_warmup_epochs=0.5 --train.lr_schedule=step --train.lr_decay_epochs=1 \
  --train.lr_decay_factor=0.5 > "$out/global.log" || fail "the global run failed: $(cat "$out/global.log")"
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=per_rank --train.batch_size=50 \
  --parallel.batch_mode=per_rank --train.kl_schedule=cyclical --train.kl_cycles=2 \
  --train.kl_ratio=0.5 --train.lr_schedule=cosine > "$out/per_rank.log" ||
  fail "the per_rank run failed: $(cat "$out/per_rank.log")"
grep -m 3 "^step" "$out/per_rank.log"

/usr/bin/python3 - "$out" <<'PY' || fail "the lr or beta history differs from the schedules"
import math
import sys

import h5py
import numpy as np

out = sys.argv[1]
S, E = 6, 3  # steps per epoch, epochs


def check(name, expected_lr, expected_beta):
    with h5py.File(f"{out}/{name}.h5", "r") as f:
        step = f["history/step"][:]
        lr, beta = f["history/lr"][:], f["history/beta"][:]
    assert list(step) == list(range(1, S * E + 1)), step
    t = step - 1  # the row's step, 0-based: the one its lr and beta were used for
    want_lr = np.array([expected_lr(i) for i in t])
    want_beta = np.array([expected_beta(i) for i in t])
    for what, got, want in (("lr", lr, want_lr), ("beta", beta, want_beta)):
        if not np.allclose(got, want, rtol=1e-12, atol=0):
            sys.exit(f"FAILED: {name}: history/{what} {got} != expected {want}")
    print(f"{name}: lr {np.round(lr, 7).tolist()}\n{name}: beta {np.round(beta, 4).tolist()}")


# 1 rank: warm-up over round(0.5 * 6) = 3 steps from 0, halved every epoch;
# beta = 0.5 * min(1, epoch / 2).
check("global",
      lambda t: 0.002 * ((t + 1) / 3 if t + 1 < 3 else 1) * 0.5 ** (t // 6),
      lambda t: 0.5 * min(1, (t / S) / 2))
# 2 ranks, per_rank: peak 0.004, warm-up over 5 * 6 = 30 steps from 0.002 (never done in
# 18); cosine to 0.1 * peak over the run; 2 cycles of 1.5 epochs, rising over half of each.
def cyclical(t):
    period = E / 2
    tau = math.fmod(t / S, period) / period
    return min(1, tau / 0.5)
check("per_rank",
      lambda t: 0.004 * (0.5 + 0.5 * (t + 1) / 30)
      * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1, t / (S * E))))),
      cyclical)
PY
grep -q "lr_warmup_epochs = 5" <("$kbnn" info "$out/per_rank.h5" --deck) ||
  fail "per_rank's resolved deck does not record the default warm-up"
echo "PASSED"
