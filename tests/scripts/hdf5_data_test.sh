#!/usr/bin/env bash
# Training from HDF5 data sets with each rank reading only its partition
# (data.format = hdf5, data.shuffle = local): the run completes on 2 ranks and its
# predictions cover every test example exactly once, in order. An HDF5 OOD set needs no
# labels: a file without them scores exactly as the same images with labels (kbnn
# predict on 2 ranks, its label column -1), and training takes it too. kbnn predict also
# takes new data without labels (predictions, no metrics); kbnn prune refuses it.
# scripts/csv_to_h5.py --labels turns a spreadsheet's CSV with text classes into a
# classification set kbnn trains on, and refuses a label among the features.
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
# The plots of a set without labels: reliability says why it has nothing to draw; the
# uncertainty plots show the rows as unlabeled (not as wrong) and group by predicted class.
plots=$(dirname "$0")/../../postprocess/kbnn_plots.py
status=0
/usr/bin/python3 "$plots" reliability "$out/new_unlabeled.h5" --set new > "$out/plot.txt" 2>&1 || status=$?
((status == 1)) && grep -q "the set 'new' has no labels or targets, so it has predictions only" "$out/plot.txt" ||
  fail "reliability of a set without labels: status $status, $(cat "$out/plot.txt")"
/usr/bin/python3 - "$plots" "$out/new_unlabeled.h5" <<'PY' || fail "the uncertainty plots of unlabeled data"
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import kbnn_plots
figures = []
kbnn_plots._save = lambda figure, path: figures.append(figure)
assert kbnn_plots.main(["uncertainty", sys.argv[2], "--set", "new", "--out-dir", "."]) == 0
entropy, scatter, per_class = (figure.axes[0] for figure in figures)
legend = [t.get_text() for t in entropy.get_legend().get_texts()]
assert legend[0].startswith("no label (97, mean") and len(legend) == 2, legend
assert [t.get_text() for t in scatter.get_legend().get_texts()] == ["no label"]
assert per_class.get_xlabel() == "predicted class (the set has no labels)", per_class.get_xlabel()
assert not per_class.texts, "error rates drawn for a set without labels"
print("PASSED: the plots of a set without labels")
PY
if run_mpi -n 2 "$kbnn" prune "$out/run.h5" --fractions=0.5 --data.test_file="$out/unlabeled.h5" > "$out/bad.log" 2>&1; then
  fail "kbnn prune took a test set without labels"
fi
grep -q "unlabeled.h5: dataset /labels missing" "$out/bad.log" || fail "the refusal does not name the labels: $(head -3 "$out/bad.log")"
echo "PASSED: unlabeled data"

# Classification from a CSV table as a spreadsheet writes it (a byte-order mark, CRLF,
# the class as text): scripts/csv_to_h5.py --labels into a folder that does not exist
# yet gives /labels 0..K-1 with the classes' names, and kbnn trains on it.
csv=$(dirname "$0")/../../scripts/csv_to_h5.py
/usr/bin/python3 - "$out" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(1)
names = np.array(["setosa", "versicolor", "virginica"])
y = rng.integers(0, 3, 240)
x = rng.normal(size=(240, 3)) + 3 * y[:, None]
with open(f"{sys.argv[1]}/plants.csv", "w", encoding="utf-8-sig", newline="") as f:
    f.write("length,width,height,species\r\n")
    for row, k in zip(x, y):
        f.write(",".join(f"{v:.6g}" for v in row) + f",{names[k]}\r\n")
PY
/usr/bin/python3 "$csv" "$out/plants.csv" "$out/new/train.h5" --features length,width,height \
  --labels species --seed 2 --test-out "$out/new/test.h5" --test-fraction 0.25 > "$out/csv.log"
grep -q "^classes: 0 = setosa, 1 = versicolor, 2 = virginica$" "$out/csv.log" ||
  fail "csv_to_h5.py --labels: no class map: $(cat "$out/csv.log")"
run_mpi -n 2 "$kbnn" train "$deck" --data.format=hdf5 --data.train_file="$out/new/train.h5" \
  --data.test_file="$out/new/test.h5" --data.features=features --data.targets=labels \
  --data.standardize=true --model.layer="dense out=16" --model.layer=relu \
  --model.layer="dense out=3" --train.batch_size=16 --train.epochs=20 --train.lr=0.01 \
  --eval.samples=4 --output.dir="$out" --output.name=plants > "$out/plants.log" 2>&1 ||
  fail "training on the converted table failed: $(tail -3 "$out/plants.log")"
# A table's rows are examples, not images, in every line that counts them.
for line in "^training: 3600 examples in .* examples/s" "^epoch 20/20 done: .* over its 180 examples" \
  "^step .* [0-9]* ex/s  elapsed" \
  "^data: 180 training and 60 test examples of 3 features" "^inference: [0-9]* example-passes/s"; do
  grep -q "$line" "$out/plants.log" || fail "no '$line' in the log: $(grep -E '^(training|epoch 20|data):' "$out/plants.log")"
done
/usr/bin/python3 - "$out" <<'PY' || fail "the converted table's labels are wrong"
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/new/train.h5") as f, h5py.File(f"{out}/plants.h5") as r:
    assert f["labels"].dtype == np.int64 and f["labels"].shape == (180,), f["labels"]
    assert list(f.attrs["class_names"]) == ["setosa", "versicolor", "virginica"]
    assert f.attrs["num_classes"] == 3 and list(f.attrs["feature_names"]) == ["length", "width", "height"]
    assert r["metrics/test"].attrs["accuracy"] > 0.9, r["metrics/test"].attrs["accuracy"]
print("PASSED: a CSV table with text labels trains, accuracy",
      h5py.File(f"{out}/plants.h5")["metrics/test"].attrs["accuracy"])
PY
# A table of two of the three classes, converted apart: --classes-from numbers them as the
# training file does (on its own, versicolor would be 0); a class it lacks is refused.
# Without labels only /features is written, and kbnn predict takes it.
/usr/bin/python3 - "$out" <<'PY'
import sys
out = sys.argv[1]
lines = open(f"{out}/plants.csv", encoding="utf-8-sig").read().splitlines()
with open(f"{out}/later.csv", "w") as f:
    f.write("\n".join([lines[0]] + [l for l in lines[1:] if not l.endswith("setosa")]) + "\n")
with open(f"{out}/roses.csv", "w") as f:
    f.write("\n".join([lines[0]] + [l.replace("setosa", "rose") for l in lines[1:]]) + "\n")
PY
/usr/bin/python3 "$csv" "$out/later.csv" "$out/later.h5" --features length,width,height \
  --labels species --classes-from "$out/new/train.h5" > /dev/null
/usr/bin/python3 "$csv" "$out/later.csv" "$out/unlabeled_rows.h5" --features length,width,height > /dev/null
/usr/bin/python3 - "$out" <<'PY' || fail "--classes-from or a table without labels converted wrongly"
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/later.h5") as f, h5py.File(f"{out}/unlabeled_rows.h5") as g:
    species = [l.rsplit(",", 1)[1] for l in open(f"{out}/later.csv").read().splitlines()[1:]]
    want = [["setosa", "versicolor", "virginica"].index(s) for s in species]
    assert list(f["labels"][...]) == want and f.attrs["num_classes"] == 3
    assert list(g) == ["features"] and np.array_equal(g["features"][...], f["features"][...])
print("PASSED: --classes-from numbers a later table's classes as the training file's")
PY
run_mpi -n 2 "$kbnn" predict "$out/plants.h5" --data.test_file="$out/unlabeled_rows.h5" \
  --output "$out/later.predict.h5" > "$out/later.log" 2>&1 ||
  fail "predict on a converted table without labels failed: $(tail -3 "$out/later.log")"
# The classes' names travel from the data file into the run file (root and checkpoint),
# the prediction file, kbnn info and the plots' labels; a set whose names number the
# classes otherwise (later.csv converted on its own: versicolor 0, virginica 1) is
# refused by train and predict, and so is a file whose names do not count its classes.
run_mpi -n 2 "$kbnn" predict "$out/plants.h5" --data.test_file="$out/later.h5" \
  --output "$out/named.predict.h5" > "$out/named.log" 2>&1 ||
  fail "predict on a table numbered as the training file failed: $(tail -3 "$out/named.log")"
"$kbnn" info "$out/plants.h5" > "$out/plants.info"
grep -q "^  classes: 0 = setosa, 1 = versicolor, 2 = virginica$" "$out/plants.info" ||
  fail "kbnn info names no classes: $(head -5 "$out/plants.info")"
/usr/bin/python3 - "$out" "$plots" <<'PY' || fail "the classes' names did not travel"
import os, sys, h5py
out = sys.argv[1]
names = ["setosa", "versicolor", "virginica"]
text = lambda values: [v.decode() if isinstance(v, bytes) else str(v) for v in values]
with h5py.File(f"{out}/plants.h5") as r:
    assert text(r.attrs["class_names"]) == names, r.attrs["class_names"]
    assert text(r["checkpoint"].attrs["class_names"]) == names
for predicted in ("later.predict.h5", "named.predict.h5"):
    with h5py.File(f"{out}/{predicted}") as p:
        assert text(p.attrs["class_names"]) == names, (predicted, p.attrs.get("class_names"))
sys.path.insert(0, os.path.dirname(sys.argv[2]))
import kbnn_plots
figures = []
kbnn_plots._save = lambda figure, path: figures.append(figure)
assert kbnn_plots.main(["uncertainty", f"{out}/plants.h5", "--out-dir", out]) == 0
per_class = figures[2].axes[0]
assert [t.get_text() for t in per_class.get_xticklabels()] == names, per_class.get_xticklabels()
print("PASSED: the classes' names reach the run, prediction and info, and the plots' labels")
PY
/usr/bin/python3 "$csv" "$out/later.csv" "$out/apart.h5" --features length,width,height \
  --labels species > /dev/null
for command in train predict; do
  if [[ $command == train ]]; then
    args=(train "$deck" --data.format=hdf5 --data.train_file="$out/new/train.h5"
          --data.test_file="$out/apart.h5" --data.features=features --data.targets=labels
          --model.layer="dense out=3" --output.dir="$out" --output.name=apart)
  else
    args=(predict "$out/plants.h5" --data.test_file="$out/apart.h5" --output "$out/apart.predict.h5")
  fi
  if run_mpi -n 2 "$kbnn" "${args[@]}" > "$out/apart.log" 2>&1; then
    fail "$command took a set whose classes are numbered otherwise"
  fi
  grep -qF "apart.h5: its classes (class_names: 0 = versicolor, 1 = virginica) are numbered otherwise than those of" \
    "$out/apart.log" || fail "$command: no message naming the classes: $(grep -i error "$out/apart.log")"
  grep -qF "(0 = setosa, 1 = versicolor, 2 = virginica): its labels would mean other classes; convert it with scripts/csv_to_h5.py --classes-from" \
    "$out/apart.log" || fail "$command: the message lacks the model's classes: $(grep -i error "$out/apart.log")"
done
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py, shutil
out = sys.argv[1]
shutil.copy(f"{out}/new/train.h5", f"{out}/four_names.h5")
with h5py.File(f"{out}/four_names.h5", "a") as f:
    f.attrs["class_names"] = ["setosa", "versicolor", "virginica", "rose"]
PY
if run_mpi -n 2 "$kbnn" train "$deck" --data.format=hdf5 --data.train_file="$out/four_names.h5" \
     --data.test_file="$out/new/test.h5" --data.features=features --data.targets=labels \
     --model.layer="dense out=4" --output.dir="$out" --output.name=four > "$out/four.log" 2>&1; then
  fail "a file of 3 classes and 4 class names was taken"
fi
grep -qF "four_names.h5: attribute class_names holds 4 names, but num_classes is 3: one name per class" \
  "$out/four.log" || fail "no message for 4 names of 3 classes: $(grep -i error "$out/four.log")"
echo "PASSED: class names checked against the classes and the model's"
# What the converter refuses: the label among the features (the answer as an input), a
# test fraction that holds out no row, an empty cell (a missing value).
refused() {  # refused MESSAGE ARGS...: csv_to_h5.py ARGS exits 1 with MESSAGE
  local message=$1; shift
  if /usr/bin/python3 "$csv" "$@" > "$out/refused.txt" 2>&1; then fail "csv_to_h5.py $* succeeded"; fi
  grep -qF -- "$message" "$out/refused.txt" || fail "csv_to_h5.py $*: no '$message': $(cat "$out/refused.txt")"
}
refused "column(s) species named both as feature(s) and as label" "$out/plants.csv" \
  "$out/x.h5" --features length,species --labels species
refused "column(s) height named both as feature(s) and as target(s)" "$out/plants.csv" \
  "$out/x.h5" --features length,height --targets height,width
printf 'a,b,y\n1,2,3\n4,,5\n' > "$out/missing.csv"
refused "line 3 (data row 2), column b: an empty cell (a missing value" "$out/missing.csv" \
  "$out/x.h5" --features a,b --targets y
refused "--test-fraction 0.1 of 2 rows holds out 0: the training and the test file each need" \
  "$out/missing.csv" "$out/x.h5" --features a --targets y --test-out "$out/t.h5" --test-fraction 0.1
refused "column species: 'rose' is none of the classes of $out/new/train.h5 (setosa, versicolor, virginica)" \
  "$out/roses.csv" "$out/x.h5" --features length --labels species --classes-from "$out/new/train.h5"
echo "PASSED: csv_to_h5.py"
