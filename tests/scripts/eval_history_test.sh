#!/usr/bin/env bash
# Evaluation during training (eval.every_epochs, data.validation_fraction):
#  - on the test set, 2 epochs: /history/eval holds 2 rows (epochs 1 and 2), and the last
#    equals /metrics/test exactly (the same model, seed and passes); the evaluations leave
#    training untouched (history and final state equal a run without them); kbnn info
#    shows the last row;
#  - on a held-out quarter of 600 training examples: the last 150 are held out and not
#    trained on (450 trained: 5 steps per epoch), on 1 and on 2 ranks alike, with the
#    same evaluation numbers;
#  - a fraction that holds out no example is refused with a message.
#   usage: eval_history_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
args=(--data.train_limit=600 --data.test_limit=200 --train.batch_size=100 --train.epochs=2
      --train.log_every=2 --eval.samples=2 --output.dir="$out")
train() { local name=$1 ranks=$2; shift 2
  run_mpi -n "$ranks" "$kbnn" train "$deck" "${args[@]}" --output.name="$name" "$@" \
    > "$out/$name.log" 2>&1 || fail "run $name failed: $(cat "$out/$name.log")"; }
train test 1 --eval.every_epochs=1
train plain 1
train validation_1 1 --eval.every_epochs=1 --data.validation_fraction=0.25
train validation_2 2 --eval.every_epochs=1 --data.validation_fraction=0.25
grep "^eval" "$out/test.log" "$out/validation_1.log" "$out/validation_2.log"
grep -q "^eval   epoch 2 on test (200 images, S=2): accuracy 0\." "$out/test.log" ||
  fail "no progress line for the evaluation"
grep -q "data: 450 training and 200 test images.*the last 150 training images held out" \
  "$out/validation_2.log" || fail "the data line does not report the held-out images"

/usr/bin/python3 "$(dirname "$0")/compare_runs.py" "$out/plain.h5" "$out/test.h5" ||
  fail "evaluating during training changed the training"
/usr/bin/python3 - "$out" <<'PY' || fail "the evaluation histories are wrong"
import sys

import h5py
import numpy as np

out = sys.argv[1]
fields = ["accuracy", "nll", "ece", "mean_entropy"]


def rows(name):
    with h5py.File(f"{out}/{name}.h5", "r") as f:
        g = f["history/eval"]
        r = {key: g[key][:] for key in g}
        r["attrs"] = {key: g.attrs[key] for key in g.attrs}
        r["last_step"] = f["history/step"][-1]
        r["test"] = dict(f["metrics/test"].attrs)
    return r


t = rows("test")
assert list(t["epoch"]) == [1, 2] and list(t["step"]) == [6, 12], (t["epoch"], t["step"])
assert t["attrs"]["set"] in ("test", b"test") and t["attrs"]["examples"] == 200, t["attrs"]
assert t["attrs"]["samples"] == 2, t["attrs"]
for key in fields:  # the same predictive as /metrics/test: equal to the bit
    assert t[key][-1] == t["test"][key], (key, t[key][-1], t["test"][key])
print(f"test: eval rows {[round(a, 4) for a in t['accuracy']]}, /metrics/test accuracy "
      f"{t['test']['accuracy']:.4f}")

one, two = rows("validation_1"), rows("validation_2")
for r in (one, two):
    assert r["attrs"]["set"] in ("validation", b"validation") and r["attrs"]["examples"] == 150
    assert r["last_step"] == 10 and list(r["step"]) == [5, 10], (r["last_step"], r["step"])
# Same rows and noise on any rank count; the trained parameters differ in their last bits
# (gradient sums in another order), so the scores agree closely, not to the bit.
for key in fields:
    a, b = one[key], two[key]
    print(f"validation {key}: 1 rank {a}, 2 ranks {b}")
    assert np.allclose(a, b, rtol=1e-3, atol=1e-4 if key != "accuracy" else 1 / 150 + 1e-12), key
PY
"$kbnn" info "$out/test.h5" > "$out/info" || fail "kbnn info failed"
grep -q "history/eval: 2 rows; last at epoch 2 (step 12) on test: accuracy 0\." "$out/info" ||
  fail "kbnn info does not show the last evaluation: $(cat "$out/info")"

run_mpi -n 1 "$kbnn" train "$deck" "${args[@]}" --output.name=none --eval.every_epochs=1 \
  --data.validation_fraction=0.0001 > /dev/null 2> "$out/none.err" && fail "0 held-out examples accepted"
grep -q "data.validation_fraction 0.0001 of 600 training examples holds out 0: expected at least 1" \
  "$out/none.err" || fail "no message for a fraction that holds out nothing: $(cat "$out/none.err")"
echo "PASSED"
