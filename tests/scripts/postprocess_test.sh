#!/usr/bin/env bash
# The postprocess tools on small real run files (2 ranks and 1 rank), a prediction file
# and a pruning file: every PNG exists, has the size its --help promises and is not
# blank, and shows what it should (check_plots.py reads the figures); compare prints the
# table; a file that is not a run file is refused with a message naming it (a pruning or
# prediction file as such, with the subcommands that plot it); a Python
# without matplotlib gets one line saying so, not a traceback; a regression's interval
# calibration plot keeps its labels apart.
#   usage: postprocess_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
tools=$(cd "$(dirname "$0")/../../postprocess" && pwd)
checks=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
plots() { "$python" "$tools/kbnn_plots.py" "$@"; }
"$python" -c "import h5py, numpy, matplotlib" 2> /dev/null ||
  skip "$python lacks h5py, numpy or matplotlib (scripts/install_deps.sh installs them)"

small=(--data.train_limit=640 --data.test_limit=300 --eval.samples=3 --output.dir="$out")
run_mpi -n 2 "$kbnn" train "$deck" "${small[@]}" --output.name=two --train.epochs=2 \
  --train.log_every=1 --eval.every_epochs=1 --ood.shift=invert > /dev/null || fail "training on 2 ranks failed"
run_mpi -n 1 "$kbnn" train "$deck" "${small[@]}" --output.name=one --train.log_every=100 \
  --model.estimator=reparam > /dev/null || fail "training on 1 rank failed"
run_mpi -n 2 "$kbnn" predict "$out/two.h5" --ood.shift=noise --output "$out/predicted.h5" \
  > /dev/null || fail "kbnn predict failed"
run_mpi -n 2 "$kbnn" prune "$out/two.h5" --fractions=0.5 --no-checkpoints > /dev/null ||
  fail "kbnn prune failed"

# check_png FILE WIDTH HEIGHT: the file is a PNG of that size whose pixels vary.
check_png() {
  "$python" - "$@" <<'EOF' || fail "$1: not the expected picture"
import sys
import matplotlib.image
path, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pixels = matplotlib.image.imread(path)  # (height, width, channels), floats in [0, 1]
print(f"{path}: {pixels.shape[1]}x{pixels.shape[0]}, pixel variance {pixels[..., :3].var():.4f}")
assert pixels.shape[:2] == (height, width), f"expected {width}x{height}"
assert pixels[..., :3].var() > 0.005, "blank: the pixels hardly vary"
EOF
}

for command in history reliability uncertainty ood compare pruning; do
  plots "$command" --help > "$out/help" || fail "$command --help exited non-zero"
  grep -qi "input" "$out/help" && grep -qi "output" "$out/help" ||
    fail "$command --help does not name its inputs and outputs"
done

plots history "$out/two.h5" -o "$out/history.png" || fail "history failed"
check_png "$out/history.png" 1000 700
plots reliability "$out/two.h5" -o "$out/reliability.png" || fail "reliability failed"
check_png "$out/reliability.png" 600 700
plots uncertainty "$out/two.h5" --out-dir "$out/unc" || fail "uncertainty failed"
check_png "$out/unc/two_entropy.png" 700 500
check_png "$out/unc/two_aleatoric_epistemic.png" 700 600
check_png "$out/unc/two_uncertainty_per_class.png" 900 500

plots history "$out/one.h5" -o "$out/one_row.png" || fail "history of one row failed"
check_png "$out/one_row.png" 1000 700
plots ood "$out/two.h5" -o "$out/ood.png" || fail "ood on a run file failed"
check_png "$out/ood.png" 1800 440
plots ood "$out/predicted.h5" -o "$out/ood_predicted.png" || fail "ood on a prediction file failed"
check_png "$out/ood_predicted.png" 1800 440
plots reliability "$out/predicted.h5" -o "$out/reliability_predicted.png" ||
  fail "reliability on a prediction file failed"
check_png "$out/reliability_predicted.png" 600 700
plots uncertainty "$out/predicted.h5" --out-dir "$out/unc" || fail "uncertainty on a prediction file failed"
check_png "$out/unc/predicted_entropy.png" 700 500
plots pruning "$out/two.pruning.h5" -o "$out/pruning.png" || fail "pruning failed"
check_png "$out/pruning.png" 1200 500
(cd "$out" && "$python" "$checks/check_plots.py" two.h5 one.h5 predicted.h5 two.pruning.h5) ||
  fail "a picture does not show what it should"
status=0
plots ood "$out/one.h5" -o "$out/bad.png" > "$out/err" 2>&1 || status=$?
[[ $status -eq 1 ]] && grep -q "one.h5: no /metrics/ood" "$out/err" ||
  fail "ood on a run without an OOD set: status $status, $(cat "$out/err")"

# A Python without matplotlib: one line that says so, exit 1, no traceback.
mkdir -p "$out/no_matplotlib/matplotlib"
echo 'raise ImportError("No module named matplotlib (hidden by the test)")' \
  > "$out/no_matplotlib/matplotlib/__init__.py"
status=0
PYTHONPATH="$out/no_matplotlib" "$python" "$tools/kbnn_plots.py" history "$out/two.h5" \
  > "$out/err" 2>&1 || status=$?
[[ $status -eq 1 ]] || fail "without matplotlib: exit status $status"
[[ $(wc -l < "$out/err") -eq 1 ]] && grep -q "^kbnn_plots.py: .* lacks a package it needs" "$out/err" ||
  fail "without matplotlib: $(cat "$out/err")"

plots compare "$out/two.h5" "$out/one.h5" -o "$out/compare.png" --csv "$out/table.csv" \
  --markdown "$out/table.md" > "$out/table" || fail "compare failed"
cat "$out/table"
check_png "$out/compare.png" 1200 500
grep -q "^run .* accuracy .* ece" "$out/table" || fail "compare printed no table header"
grep -Eq "^two +2 +flipout +[0-9]+ " "$out/table" || fail "no row for the 2-rank flipout run"
grep -Eq "^one +1 +reparam +[0-9]+ " "$out/table" || fail "no row for the 1-rank reparam run"
[[ $(wc -l < "$out/table.csv") -eq 3 ]] || fail "the CSV does not hold a header and two rows"
grep -q "^| run | ranks |" "$out/table.md" || fail "no Markdown table"

# Not run files: text, HDF5 without kbnn's marks, a missing file. Exit 1, file named.
echo "not hdf5" > "$out/bogus.h5"
"$python" -c "import h5py; h5py.File('$out/other.h5', 'w').create_dataset('x', data=[1])"
for bad in "$out/bogus.h5" "$out/other.h5" "$out/missing.h5"; do
  for command in "history -o $out/bad.png" "reliability -o $out/bad.png" \
                 "uncertainty --out-dir $out/bad"; do
    status=0
    plots $command "$bad" > "$out/err" 2>&1 || status=$?
    [[ $status -eq 1 ]] || { cat "$out/err"; fail "$command on $bad: exit status $status, expected 1"; }
    grep -q "$bad: " "$out/err" || { cat "$out/err"; fail "$command: the message does not name $bad"; }
  done
  plots compare "$out/two.h5" "$bad" > "$out/err" 2>&1 && fail "compare accepted $bad"
  grep -q "$bad" "$out/err" || fail "compare: the message does not name $bad"
done
cat "$out/err"
grep -q "not a kbnn run file" <(plots history "$out/other.h5" 2>&1) ||
  fail "an HDF5 file that is not a run file is not called one"
# kbnn's other files: named for what they are, with the subcommands that plot them.
status=0
plots history "$out/two.pruning.h5" -o "$out/bad.png" > "$out/err" 2>&1 || status=$?
pruning="two.pruning.h5: a pruning file of kbnn prune, not a run file: 'kbnn_plots.py pruning "
[[ $status -eq 1 ]] && grep -q "$pruning.*two.pruning.h5' plots it" "$out/err" ||
  fail "history on a pruning file: status $status, $(cat "$out/err")"
status=0
plots history "$out/predicted.h5" -o "$out/bad.png" > "$out/err" 2>&1 || status=$?
predictions="predicted.h5: a prediction file of kbnn predict has no training history: give the "
predictions+="run file; 'kbnn_plots.py reliability', 'uncertainty' and 'ood' plot a prediction file"
[[ $status -eq 1 ]] && grep -q "$predictions" "$out/err" ||
  fail "history on a prediction file: status $status, $(cat "$out/err")"
[[ ! -e "$out/bad.png" && ! -e "$out/bad" ]] || fail "a picture was written for a bad input"

# The regression's interval calibration of an overcovering predictive, 0.98 observed at
# both 0.90 and 0.95 (a file shaped as kbnn writes /predictions and /metrics): its
# numbers printed over each other ("0.980.98"). No two texts of the panel overlap, the
# legend covers no point of the curve, and the values of 0.50, 0.90 and 0.95 are given.
"$python" - "$out/overcovering.h5" "$tools" <<'PY' || fail "the interval calibration plot is not readable"
import sys
import h5py
import numpy as np
path, tools = sys.argv[1], sys.argv[2]
sys.path.insert(0, tools)
import kbnn_plots, kbnn_regression
rng = np.random.default_rng(1)
target = rng.normal(size=(140, 1))
levels = np.round(np.arange(1, 20) * 0.05, 2)
coverage = np.minimum(0.98, levels + 0.25 * np.sin(np.pi * levels) + 0.05)
coverage[-2:] = [0.978, 0.982]
with h5py.File(path, "w") as f:
    f.attrs["deck"] = "[data]\ntargets = y\n"
    g = f.create_group("predictions/test")
    g["mean"], g["std"], g["target"] = target + 0.3 * rng.normal(size=(140, 1)), np.full((140, 1), 0.9), target
    m = f.create_group("metrics/test")
    m.attrs.update(rmse=0.3, nll=0.5, coverage_95=0.982, calibration_error=0.12)
    m["interval_level"], m["interval_coverage"], m["interval_width"] = levels, coverage, 3 * levels
figures = []
kbnn_plots._save = kbnn_regression._save = lambda figure, path: figures.append(figure)
assert kbnn_plots.main(["regression", path, "--out-dir", "."]) == 0
figure = figures[1]
figure.canvas.draw()
axis = figure.axes[0]
legend = axis.get_legend()
texts = [t for t in axis.texts + legend.get_texts() if t.get_visible() and t.get_text()]
boxes = [t.get_window_extent() for t in texts]
for i in range(len(boxes)):
    for j in range(i):
        assert not boxes[i].overlaps(boxes[j]), f"'{texts[i].get_text()}' over '{texts[j].get_text()}'"
points = axis.transData.transform(np.column_stack([levels, coverage]))
covered = [p for p in points if legend.get_window_extent().contains(*p)]
assert not covered, f"the legend covers {len(covered)} points of the curve"
shown = " ".join(t.get_text() for t in texts)
for value in ("0.50: 0.80", "0.90: 0.98", "0.95: 0.98"):
    assert value in shown, f"no '{value}' in {shown!r}"
print("the interval calibration plot: its labels apart, its values given")
PY
echo "PASSED"
