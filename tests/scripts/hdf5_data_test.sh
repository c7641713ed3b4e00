#!/usr/bin/env bash
# Training from HDF5 data sets with each rank reading only its partition
# (data.format = hdf5, data.shuffle = local): the run completes on 2 ranks and its
# predictions cover every test example exactly once, in order.
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
