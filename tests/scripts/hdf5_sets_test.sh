#!/usr/bin/env bash
# The HDF5 sets a model is evaluated on, held against the model before anything runs,
# by kbnn train and kbnn predict alike, on 1 and 2 ranks (a 3-class classifier of four
# features, 30 test rows):
#   - a test set's labels must lie below the model's class count (its training set's):
#     a label at or beyond it ends with one message naming the file, the label and the
#     count, a negative one with the row and the rule (labels count from 0), exit 1; an OOD set's labels (which score nothing) that are
#     not the model's classes are dropped, with a line that says so;
#   - a test set of only some of the classes is evaluated against all of the model's;
#   - a model tested on the tail of its training file (data.test_fraction) predicts on a
#     test file given alone;
#   - an empty set (training, test or OOD file of 0 rows; classes or a regression's real
#     targets, standardized) is refused with the file and the dataset;
#   - a regression predicts on features alone (test and OOD sets): the predictions of
#     the same rows with targets, NaN target and nll columns, and no metrics;
#   - a set of another example shape is refused naming both shapes;
#   - labels 1..K and, without data.standardize, targets far from unit scale are warned of.
#   usage: hdf5_sets_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
deck_data=no  # it writes its own HDF5 data sets
source "$(dirname "$0")/common.sh"

/usr/bin/python3 - "$out" <<'PY'
import sys, h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(0)
def blobs(n):  # labels 0, 1, 2 in turn, each class a shifted blob
    y = (np.arange(n) % 3).astype(np.int64)
    return rng.normal(size=(n, 4)).astype(np.float32) + 2 * y[:, None], y
def write(name, x, labels):
    with h5py.File(f"{out}/{name}.h5", "w") as f:
        f["features"], f["labels"] = x, labels
write("train", *blobs(120))
x, y = blobs(30)
write("test", x, y)
write("huge_labels", x, np.full(30, 1000000))
for name, row, label in [("label_5", 20, 5), ("label_3", 7, 3), ("negative", 4, -1)]:
    bad = y.copy()
    bad[row] = label
    write(name, x, bad)
write("two_classes", x[y < 2], y[y < 2])
write("empty", x[:0], y[:0])
# A regression: one real target, a linear function of the four features.
for name, n in [("reg_train", 120), ("reg_test", 30), ("reg_empty", 0)]:
    x = rng.normal(size=(n, 4)).astype(np.float32)
    with h5py.File(f"{out}/{name}.h5", "w") as f:
        f["features"], f["targets"] = x, x @ np.array([1, 2, -1, 0.5], np.float32)
    if name == "reg_test":
        with h5py.File(f"{out}/reg_features.h5", "w") as f:
            f["features"] = x
PY
# Both decks train alike; they differ in their data and their last layer.
training="[train]
epochs = 2
batch_size = 16
log_every = 100
[eval]
samples = 4
[output]
dir = $out/runs"
cat > "$out/classes.cfg" <<EOF
[data]
format = hdf5
train_file = $out/train.h5
test_file = $out/test.h5
features = features
targets = labels
[model]
layer = dense out=16
layer = relu
layer = dense out=3
$training
EOF
cat > "$out/regression.cfg" <<EOF
[data]
format = hdf5
train_file = $out/reg_train.h5
test_file = $out/reg_test.h5
features = features
targets = targets
standardize = true
[model]
likelihood = gaussian
layer = dense out=16
layer = relu
layer = dense out=1
$training
EOF
cfg=$out/classes.cfg reg_cfg=$out/regression.cfg
"$kbnn" train "$cfg" --output.name=model > /dev/null || fail "training the 3-class model failed"
"$kbnn" train "$reg_cfg" --output.name=reg > /dev/null || fail "training the regression failed"
model=$out/runs/model.h5 reg_model=$out/runs/reg.h5

cases=0
check() {  # check RANKS MESSAGE ARGS...: kbnn ARGS on RANKS ranks ends with MESSAGE, exit 1
  local ranks=$1 message=$2; shift 2
  local rc=0
  run_mpi -n "$ranks" "$kbnn" "$@" > "$out/stdout" 2> "$out/stderr" || rc=$?
  local context="kbnn $* on $ranks rank(s)"
  ((rc == 1)) || fail "$context: exit status $rc, expected 1: $(tail -3 "$out/stderr")"
  local lines
  lines=$(grep -c "^kbnn" "$out/stderr" || true)
  ((lines == 1)) || fail "$context: $lines lines from kbnn, expected 1: $(cat "$out/stderr")"
  grep -qF -- "$message" "$out/stderr" || fail "$context: no '$message': $(cat "$out/stderr")"
  cases=$((cases + 1))
}

# Labels the model cannot score: refused before training (no run file) and by predict.
outside="is outside [0, 3): the model predicts 3 classes"
for n in 1 2; do
  for command in "train $cfg --output.name=bad" "predict $model --output=$out/bad.predict.h5"; do
    # shellcheck disable=SC2086  # the command's words
    set -- $command
    check $n "huge_labels.h5: label 1000000 of example 0 $outside" "$@" --data.test_file="$out/huge_labels.h5"
    check $n "label_5.h5: label 5 of example 20 $outside" "$@" --data.test_file="$out/label_5.h5"
    check $n "label_3.h5: label 3 of example 7 $outside" "$@" --data.test_file="$out/label_3.h5"
    check $n "negative.h5: /labels: label -1 at row 4 is negative: labels number the classes 0, 1, 2, ..." "$@" --data.test_file="$out/negative.h5"
  done
done
# An OOD set's labels score nothing: another data set's classes are dropped, not refused.
run_mpi -n 2 "$kbnn" predict "$model" --ood.format=hdf5 --ood.file="$out/label_5.h5" \
  --output="$out/foreign.predict.h5" > "$out/foreign.log" 2>&1 ||
  fail "an OOD set with labels beyond the model's classes was refused: $(tail -3 "$out/foreign.log")"
grep -q "OOD set .*label_5.h5: no labels of the model's classes, none needed" "$out/foreign.log" ||
  fail "no line saying the OOD set's labels were dropped: $(cat "$out/foreign.log")"
/usr/bin/python3 -c "import h5py, sys; f = h5py.File(sys.argv[1]); assert (f['predictions/label_5/label'][:] == -1).all()" \
  "$out/foreign.predict.h5" || fail "the OOD set's foreign labels were written"
rm -f "$out/foreign.predict.h5"
[[ ! -e $out/runs/bad.h5 && ! -e $out/bad.predict.h5 ]] || fail "a refused set left an output file"
echo "PASSED: $cases refusals of labels outside the model's classes, each one message and exit 1"

# A test set of classes 0 and 1 only: scored against the model's three.
"$kbnn" train "$cfg" --data.test_file="$out/two_classes.h5" --output.name=two > "$out/two.log" 2>&1 ||
  fail "training with a test set of two of the three classes failed: $(tail -3 "$out/two.log")"
run_mpi -n 2 "$kbnn" predict "$model" --data.test_file="$out/two_classes.h5" \
  --output="$out/two.predict.h5" > "$out/two_predict.log" 2>&1 ||
  fail "predict on a set of two of the three classes failed: $(tail -3 "$out/two_predict.log")"
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py, numpy as np
out = sys.argv[1]
for name in ("runs/two.h5", "two.predict.h5"):
    with h5py.File(f"{out}/{name}", "r") as f:
        probs = f["predictions/test/probs_mean"][...]
        assert probs.shape == (20, 3), (name, probs.shape)
        assert np.array_equal(f["predictions/test/label"][...], np.arange(20) % 2), name
        assert 0 <= f["metrics/test"].attrs["accuracy"] <= 1, name
print("PASSED: a test set of two of the model's three classes, by train and predict")
PY

# data.test_fraction held out the test rows in training; predict takes a test file as given.
"$kbnn" train "$cfg" --data.test_file "" --data.test_fraction=0.25 --output.name=tail > /dev/null ||
  fail "training with data.test_fraction failed"
"$kbnn" predict "$out/runs/tail.h5" --data.test_file="$out/test.h5" --output="$out/tail.predict.h5" \
  > "$out/tail.log" 2>&1 || fail "predict on a test file, model trained with data.test_fraction: $(tail -3 "$out/tail.log")"
/usr/bin/python3 -c "
import sys, h5py
with h5py.File(sys.argv[1], 'r') as f:
    assert f['predictions/test/label'].shape == (30,), f['predictions/test/label'].shape
print('PASSED: a model trained with data.test_fraction predicts on a test file')" "$out/tail.predict.h5"

# Empty sets, refused before anything is read or trained.
none="holds no examples: a set to train on or predict needs at least one"
for n in 1 2; do
  check $n "empty.h5: /labels $none" train "$cfg" --data.test_file="$out/empty.h5"
  check $n "empty.h5: /labels $none" train "$cfg" --data.train_file="$out/empty.h5"
  check $n "empty.h5: /labels $none" train "$cfg" --ood.format=hdf5 --ood.file="$out/empty.h5"
  check $n "empty.h5: /labels $none" predict "$model" --data.test_file="$out/empty.h5"
  check $n "reg_empty.h5: /targets $none" train "$reg_cfg" --data.test_file="$out/reg_empty.h5"
  check $n "reg_empty.h5: /targets $none" train "$reg_cfg" --data.train_file="$out/reg_empty.h5"
  check $n "reg_empty.h5: /targets $none" predict "$reg_model" --data.test_file="$out/reg_empty.h5"
done
[[ ! -e $out/runs/bad.h5 && ! -e $out/runs/reg.predict.h5 ]] || fail "a refused set left an output file"
echo "PASSED: empty training, test and OOD sets refused"

# Features without targets: a regression predicts them as it does the same rows with them.
for set in test features; do
  run_mpi -n 2 "$kbnn" predict "$reg_model" --data.test_file="$out/reg_$set.h5" --ood.format=hdf5 \
    --ood.file="$out/reg_features.h5" --ood.name=new --output="$out/reg_$set.predict.h5" \
    > "$out/reg_$set.log" 2>&1 || fail "regression predict on reg_$set.h5: $(tail -3 "$out/reg_$set.log")"
done
grep -q "^test (30 examples, S=4): no targets, predictions only" "$out/reg_features.log" ||
  fail "predict does not say the set has no targets: $(cat "$out/reg_features.log")"
/usr/bin/python3 - "$out" <<'PY' || fail "the regression's predictions without targets differ"
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/reg_test.predict.h5", "r") as a, h5py.File(f"{out}/reg_features.predict.h5", "r") as b:
    for name in ("mean", "std", "aleatoric_variance", "epistemic_variance"):
        assert a[f"predictions/test/{name}"][...].tobytes() == b[f"predictions/test/{name}"][...].tobytes(), name
    for name in ("target", "nll"):
        assert np.isnan(b[f"predictions/test/{name}"][...]).all(), name
        assert np.isfinite(a[f"predictions/test/{name}"][...]).all(), name
    assert "test" in a["metrics"] and "test" not in b.get("metrics", {}), "metrics of a set without targets"
    assert "new" in b["metrics/ood"], "no OOD metrics for the OOD set without targets"
print("PASSED: a regression predicts features without targets as with them, without metrics")
PY

# A set of another example shape is refused by predict naming both shapes (not a layer
# that does not fit, nor the checkpoint's parameter count, nor the standardization's
# width), with or without standardization; an OOD set likewise.
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(5)
with h5py.File(f"{out}/five_features.h5", "w") as f:
    f["features"], f["labels"] = rng.normal(size=(30, 5)).astype(np.float32), np.arange(30) % 3
    f["targets"] = rng.normal(size=30)
# Classes numbered 1..3; a regression whose target is in units far from 1 (mean 150).
with h5py.File(f"{out}/train.h5", "r") as f, h5py.File(f"{out}/one_based.h5", "w") as g:
    g["features"], g["labels"] = f["features"][...], f["labels"][...] + 1
with h5py.File(f"{out}/reg_train.h5", "r") as f, h5py.File(f"{out}/reg_units.h5", "w") as g:
    g["features"], g["targets"] = f["features"][...], 150 + 50 * f["targets"][...]
PY
shape="five_features.h5: examples of 5 features, but the model"
for n in 1 2; do
  check $n "$shape $model was trained on examples of 4 features" predict "$model" \
    --data.test_file="$out/five_features.h5"
  check $n "$shape $reg_model was trained on examples of 4 features" predict "$reg_model" \
    --data.test_file="$out/five_features.h5"
  check $n "OOD set $out/five_features.h5: examples of 5 features, the model's of 4 features" \
    predict "$model" --ood.format=hdf5 --ood.file="$out/five_features.h5"
done
echo "PASSED: sets of another shape refused naming both shapes"

# Data kbnn would train on badly is named before training: labels 1..K (class 0 never
# seen), and without data.standardize targets far from unit scale.
run_mpi -n 2 "$kbnn" train "$cfg" --data.train_file="$out/one_based.h5" --data.test_file="$out/one_based.h5" \
  --model.layer="dense out=16" --model.layer=relu --model.layer="dense out=4" --output.name=one_based \
  > "$out/one_based.log" 2>&1 || fail "training on labels 1..3 failed: $(tail -3 "$out/one_based.log")"
grep -q "^data: warning: no training example has label 0 (the smallest is 1): classes count from 0" \
  "$out/one_based.log" || fail "no warning about labels 1..K: $(grep '^data' "$out/one_based.log")"
check 2 "the model ends with 3 outputs but the data has 4 classes" train "$cfg" \
  --data.train_file="$out/one_based.h5" --data.test_file="$out/one_based.h5"
grep -q "^data: warning: no training example has label 0" "$out/stdout" ||
  fail "the refusal of labels 1..K does not follow the warning: $(cat "$out/stdout")"
run_mpi -n 2 "$kbnn" train "$reg_cfg" --data.train_file="$out/reg_units.h5" --data.standardize=false \
  --data.test_file="$out/reg_units.h5" --output.name=units > "$out/units.log" 2>&1 ||
  fail "training on unstandardized targets failed: $(tail -3 "$out/units.log")"
grep -q "^data: warning: target 0 has mean 1[0-9.]* while data.standardize = false: the network starts" \
  "$out/units.log" || fail "no warning about unstandardized targets: $(grep '^data' "$out/units.log")"
# Standardized, the same targets need no warning.
"$kbnn" train "$reg_cfg" --data.train_file="$out/reg_units.h5" --data.test_file="$out/reg_units.h5" \
  --output.name=units_standardized > "$out/units_standardized.log" 2>&1 || fail "standardized training failed"
if grep "warning" "$out/units_standardized.log"; then fail "a warning about standardized data"; fi
echo "PASSED: warnings about labels 1..K and unstandardized targets"
