#!/usr/bin/env bash
# Training from HDF5 data sets with each rank reading only its partition
# (data.format = hdf5, data.shuffle = local): the run completes on 2 ranks and its
# predictions cover every test example exactly once, in order. An HDF5 OOD set needs no
# labels: a file without them scores exactly as the same images with labels (kbnn
# predict on 2 ranks, its label column -1), and training takes it too. kbnn predict also
# takes new data without labels (predictions, no metrics); kbnn prune refuses it.
#   usage: hdf5_data_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
deck_data=no  # it writes its own HDF5 data sets
source "$(dirname "$0")/common.sh"
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py, numpy as np
rng = np.random.default_rng(0)
for split, n in [("train", 301), ("test", 97)]:
    labels = (np.arange(n) % 10).astype(np.int32)
    # Class-dependent blobs so that a few steps already learn something.
    images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
    for i, c in enumerate(labels):
        images[i, 2 * c:2 * c + 6, 4:24] = 250
    with h5py.File(f"{sys.argv[1]}/{split}.h5", "w") as f:
        f["images"], f["labels"] = images, labels
        f.attrs["num_classes"] = 10
PY
run_mpi -n 2 "$kbnn" train "$deck" --data.format=hdf5 \
  --data.train_file="$out/train.h5" --data.test_file="$out/test.h5" --data.shuffle=local \
  --train.batch_size=32 --train.epochs=3 --train.log_every=5 --eval.samples=2 \
  --output.dir="$out" --output.name=run | grep -E "^(data|test)"
/usr/bin/python3 - "$out/run.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    label = f["predictions/test/label"][:]
    assert label.shape == (97,), label.shape
    assert np.array_equal(label, np.arange(97) % 10), "rows missing or out of order"
    assert f["history/step"][-1] == 30, f["history/step"][:]
    print("PASSED: 97 prediction rows in order, accuracy", f["metrics/test"].attrs["accuracy"])
PY

# The same images as an OOD set with and without labels (the unlabeled file: images only).
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py
with h5py.File(f"{sys.argv[1]}/test.h5", "r") as f:
    flipped = f["images"][...][:, ::-1, :]  # upside down: a shifted set
    with h5py.File(f"{sys.argv[1]}/unlabeled.h5", "w") as g:
        g["images"] = flipped
    with h5py.File(f"{sys.argv[1]}/labeled.h5", "w") as g:
        g["images"], g["labels"] = flipped, f["labels"][...]
PY
predict() {  # name [options]: kbnn predict of run.h5 into NAME.h5, its log NAME.log
  local name=$1
  shift
  run_mpi -n 2 "$kbnn" predict "$out/run.h5" --output "$out/$name.h5" "$@" > "$out/$name.log" 2>&1 ||
    fail "predict $name failed: $(tail -3 "$out/$name.log")"
}
for set in labeled unlabeled; do
  predict "$set.predict" --ood.format=hdf5 --ood.file="$out/$set.h5" --ood.name=flipped
done
grep -q "^OOD set .*unlabeled.h5: no labels of the model's classes, none needed" "$out/unlabeled.predict.log" ||
  fail "predict does not say the OOD set has no labels: $(head -4 "$out/unlabeled.predict.log")"
/usr/bin/python3 - "$out" <<'PY' || fail "the unlabeled OOD set scores differently"
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/labeled.predict.h5", "r") as a, h5py.File(f"{out}/unlabeled.predict.h5", "r") as b:
    assert dict(a["metrics/ood/flipped"].attrs) == dict(b["metrics/ood/flipped"].attrs)
    for name in ("probs_mean", "predictive_entropy", "epistemic", "ood_scores/mutual_information"):
        assert a[f"predictions/flipped/{name}"][...].tobytes() == b[f"predictions/flipped/{name}"][...].tobytes(), name
    assert (b["predictions/flipped/label"][...] == -1).all()
    print("PASSED: the OOD set without labels scores as with them, AUROC MI",
          b["metrics/ood/flipped"].attrs["auroc_mutual_information"])
PY
run_mpi -n 2 "$kbnn" train "$deck" --data.format=hdf5 --data.train_file="$out/train.h5" \
  --data.test_file="$out/test.h5" --train.batch_size=32 --train.epochs=1 --eval.samples=2 \
  --ood.format=hdf5 --ood.file="$out/unlabeled.h5" --output.dir="$out" --output.name=ood_run \
  > "$out/ood_run.log" 2>&1 || fail "training with an unlabeled OOD set failed: $(tail -3 "$out/ood_run.log")"
grep -q "^OOD: unlabeled (97) against test (97)" "$out/ood_run.log" || fail "no OOD line: $(grep OOD "$out/ood_run.log")"
echo "PASSED: unlabeled OOD sets"

# New data without labels: kbnn predict gives the same predictions as for the same images
# with labels, and no metrics; kbnn prune, which scores by the labels, refuses it.
for set in labeled unlabeled; do predict "new_$set" --data.test_file="$out/$set.h5" --set-name=new; done
grep -q "^new (97 examples without labels, S=2): predictions only; entropy" "$out/new_unlabeled.log" ||
  fail "predict does not say the set has no labels: $(grep '^new' "$out/new_unlabeled.log")"
/usr/bin/python3 - "$out" <<'PY' || fail "predictions of unlabeled data differ"
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/new_labeled.h5", "r") as a, h5py.File(f"{out}/new_unlabeled.h5", "r") as b:
    for name in ("probs_mean", "predicted", "predictive_entropy", "aleatoric", "epistemic"):
        assert a[f"predictions/new/{name}"][...].tobytes() == b[f"predictions/new/{name}"][...].tobytes(), name
    assert (b["predictions/new/label"][...] == -1).all()
    assert "new" in a["metrics"] and "metrics" not in b, "metrics of a set without labels"
print("PASSED: unlabeled data predicted as labeled, without metrics")
PY
if run_mpi -n 2 "$kbnn" prune "$out/run.h5" --fractions=0.5 --data.test_file="$out/unlabeled.h5" > "$out/bad.log" 2>&1; then
  fail "kbnn prune took a test set without labels"
fi
grep -q "unlabeled.h5: dataset /labels missing" "$out/bad.log" || fail "the refusal does not name the labels: $(head -3 "$out/bad.log")"
echo "PASSED: unlabeled data"
