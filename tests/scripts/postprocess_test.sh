#!/usr/bin/env bash
# The postprocess tools on small real run files (2 ranks and 1 rank): every PNG exists,
# has the size its --help promises and is not blank; compare prints the table; a file
# that is not a run file is refused with a message naming it.
#   usage: postprocess_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
tools=$(cd "$(dirname "$0")/../../postprocess" && pwd)
python=/usr/bin/python3
plots() { "$python" "$tools/kbnn_plots.py" "$@"; }
"$python" -c "import h5py, numpy, matplotlib" 2> /dev/null ||
  skip "$python lacks h5py, numpy or matplotlib (scripts/install_deps.sh installs them)"

small=(--data.train_limit=640 --data.test_limit=300 --train.log_every=1 --eval.samples=3
       --output.dir="$out")
run_mpi -n 2 "$kbnn" train "$deck" "${small[@]}" --output.name=two > /dev/null ||
  fail "training on 2 ranks failed"
run_mpi -n 1 "$kbnn" train "$deck" "${small[@]}" --output.name=one \
  --model.estimator=reparam > /dev/null || fail "training on 1 rank failed"

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

for command in history reliability uncertainty compare; do
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
[[ ! -e "$out/bad.png" && ! -e "$out/bad" ]] || fail "a picture was written for a bad input"
echo "PASSED"
