#!/usr/bin/env bash
# kbnn prune on a small run over 2 ranks (6000 images, one epoch), then fine-tuning a
# pruned model:
#   - the unpruned row (fraction 0) reproduces the run's own test metrics and OOD AUROC
#     and AUPR (the run's deck names an OOD set, the inverted test images) exactly, and
#     its entropy AUROC is above chance by five standard errors;
#   - each fraction removes floor(f * count) weights of every layer's kernel, the ones
#     of lowest |mu|/sigma, and the masks and checkpoints say so;
#   - accuracy bounds from the run itself, with SE = sqrt(a0 (1 - a0) / n) the standard
#     error of the unpruned accuracy a0 on the n test images: removing the half of the
#     weights with the lowest SNR costs at most 3 SE (measured: 0.549 -> 0.535, SE 0.016),
#     no fraction gains more than 3 SE, and 90% removed is still above chance (1/10) by 3
#     of chance's standard errors (measured 0.22; a mask applied to the wrong weights
#     leaves chance);
#   - kbnn predict on the 0.9 checkpoint gives the table's row (metrics and OOD scores),
#     and its numbers are those of its per-sample probabilities (check_predictions.py);
#   - kbnn train --restart from a pruned checkpoint keeps the mask: after another epoch
#     every removed weight still has mu = 0 and its rho untouched, and the KL counts
#     only the kept weights;
#   - its options take "--name value" as well as "--name=value"; bad arguments, and a
#     pruning file in place of the run, end with one clear message.
#   usage: prune_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
small=(--data.train_limit=6000 --data.test_limit=1000 --train.batch_size=100 --train.log_every=20
       --eval.samples=3 --output.dir="$out")
run_mpi -n 2 "$kbnn" train "$deck" "${small[@]}" --ood.shift=invert --output.name=run \
  > "$out/train.log"
# Its options as "--name value", as kbnn predict takes them (postprocess_test.sh uses '=').
run_mpi -n 2 "$kbnn" prune "$out/run.h5" --fractions 0.5,0.9 --scope layer \
  --output "$out/run.pruning.h5" > "$out/prune.log"
cat "$out/prune.log"
[[ -f "$out/run.pruning.h5" && -f "$out/run.pruned_0.9.h5" ]] || fail "prune wrote no files"
# kbnn predict on a pruned checkpoint keeps its mask: the same numbers as the table's row.
run_mpi -n 2 "$kbnn" predict "$out/run.pruned_0.9.h5" --output "$out/pruned_0.9.predict.h5" \
  --sample-probabilities > "$out/predict.log"
/usr/bin/python3 "$(dirname "$0")/check_predictions.py" "$out/pruned_0.9.predict.h5" ||
  fail "kbnn predict's numbers on the pruned model are not those of its samples"
/usr/bin/python3 - "$out" <<'PY' || fail "kbnn predict on a pruned model differs from kbnn prune"
import sys, h5py
out = sys.argv[1]
row = list(h5py.File(f"{out}/run.pruning.h5", "r")["pruning/fraction"][:]).index(0.9)
table = h5py.File(f"{out}/run.pruning.h5", "r")["pruning"]
predicted = h5py.File(f"{out}/pruned_0.9.predict.h5", "r")["metrics"]
for name in ("accuracy", "nll", "ece"):
    assert predicted["test"].attrs[name] == table[name][row], (name, predicted["test"].attrs[name], table[name][row])
for score in ("entropy", "mutual_information", "max_probability"):
    for name in (f"auroc_{score}", f"aupr_out_{score}"):
        assert predicted["ood/invert"].attrs[name] == table[name][row], (name, table[name][row])
PY
run_mpi -n 2 "$kbnn" train "$deck" "${small[@]}" --output.name=tuned --train.epochs=2 \
  --restart "$out/run.pruned_0.9.h5" > "$out/tune.log"
grep -q "^restart: " "$out/tune.log" || fail "the fine-tuning run did not restart"
grep -q "^restart: a pruned model: .* Bayesian weights stay removed" "$out/tune.log" ||
  fail "the fine-tuning run does not say that it keeps the mask"

/usr/bin/python3 - "$out" <<'PY' || fail "pruning results are wrong"
import sys, h5py, numpy as np
out = sys.argv[1]
run = h5py.File(f"{out}/run.h5", "r")
table = h5py.File(f"{out}/run.pruning.h5", "r")["pruning"]
assert list(table["fraction"][:]) == [0.0, 0.5, 0.9], table["fraction"][:]
# Fraction 0 is the run itself: the same noise keys, so the same predictions, and the
# run's OOD set (its deck's [ood]: inverted test images) scores the same.
for name in ("accuracy", "nll", "ece"):
    assert table[name][0] == run["metrics/test"].attrs[name], (name, table[name][0])
for score in ("entropy", "mutual_information", "max_probability"):
    for name in (f"auroc_{score}", f"aupr_out_{score}"):
        assert table[name][0] == run["metrics/ood/invert"].attrs[name], (name, table[name][0])
        assert all(0 <= v <= 1 for v in table[name][:]), (name, table[name][:])
ood = run["metrics/ood/invert"].attrs
n_in, n_out = ood["in_count"], ood["out_count"]
chance = 0.5 + 5 * np.sqrt((n_in + n_out + 1) / (12 * n_in * n_out))  # Hanley & McNeil
print(f"unpruned entropy AUROC {table['auroc_entropy'][0]:.4f}, chance + 5 SE {chance:.4f}")
assert table["auroc_entropy"][0] > chance, "the OOD score is reversed or meaningless"

# Accuracy bounds from the run: its test count and the unpruned accuracy's standard error.
n = run["predictions/test/label"].size
a0 = table["accuracy"][0]
se = np.sqrt(a0 * (1 - a0) / n)
floor = 0.1 + 3 * np.sqrt(0.1 * 0.9 / n)
print(f"accuracy {list(np.round(table['accuracy'][:], 4))} on {n} images: unpruned {a0:.4f}, SE {se:.4f}")
assert table["accuracy"][1] >= a0 - 3 * se, f"removing the lowest-SNR half cost more than 3 SE"
assert (table["accuracy"][:] <= a0 + 3 * se).all(), "a pruned model gained more than 3 SE"
assert table["accuracy"][2] > floor, f"90% removed is at chance (<= {floor:.4f})"
kernels = {l: run[f"weights/{l}"] for l in run["weights"] if "kernel_mu" in run[f"weights/{l}"]}
sizes = {l: w["kernel_mu"].size for l, w in kernels.items()}
for row, f in enumerate([0.0, 0.5, 0.9]):
    removed = sum(int(np.floor(f * n)) for n in sizes.values())
    assert table["removed"][row] == removed, (f, table["removed"][row], removed)
    assert table["kept"][row] == sum(sizes.values()) - removed
    for l, w in kernels.items():
        keep = table[f"masks/{f:g}/{l}_kernel"][:]
        assert keep.shape == w["kernel_mu"].shape
        snr = np.abs(w["kernel_mu"][:]) / np.log1p(np.exp(w["kernel_rho"][:]))
        if 0 < keep.sum() < keep.size:  # every removed weight has an SNR <= every kept one
            assert snr[keep == 0].max() <= snr[keep == 1].min(), l

# Fine-tuning from the 0.9 checkpoint kept the mask.
pruned = h5py.File(f"{out}/run.pruned_0.9.h5", "r")["checkpoint"]
tuned = h5py.File(f"{out}/tuned.h5", "r")
final = tuned["checkpoint"]
keep = pruned["keep"][:]
n = keep.size
assert (final["keep"][:] == keep).all(), "the fine-tuned model lost its mask"
before, after = pruned["parameters"][:], final["parameters"][:]
assert (after[:n][keep == 0] == 0).all(), "a removed weight's mu moved"
assert (after[n:2 * n][keep == 0] == before[n:2 * n][keep == 0]).all(), "a removed rho moved"
assert (after[:n][keep == 1] != before[:n][keep == 1]).any(), "fine-tuning trained nothing"
assert final.attrs["step"] > pruned.attrs["step"]
# The KL in the history is the kept weights' KL.
mu, sigma = after[:n][keep == 1], np.log1p(np.exp(after[n:2 * n][keep == 1].astype(np.float64)))
kl = np.sum(-np.log(sigma) + 0.5 * (sigma ** 2 + mu.astype(np.float64) ** 2) - 0.5)
assert abs(tuned["history/kl"][-1] - kl) < 1e-3 * kl, (tuned["history/kl"][-1], kl)
print("pruning checks passed")
PY

# The pruning plot: accuracy, and OOD AUROC since the run has an OOD set.
/usr/bin/python3 "$(dirname "$0")/../../postprocess/kbnn_plots.py" pruning "$out/run.pruning.h5" \
  -o "$out/pruning.png" || fail "kbnn_plots.py pruning failed"
/usr/bin/python3 - "$out/pruning.png" <<'PY' || fail "the pruning plot is not the expected picture"
import sys, matplotlib.image
pixels = matplotlib.image.imread(sys.argv[1])
assert pixels.shape[:2] == (500, 1200), pixels.shape  # accuracy and OOD AUROC panels
assert pixels[..., :3].var() > 0.005, "blank"
PY

expect_error() {  # expect_error MESSAGE ARGS...: exit status != 0 and MESSAGE on stderr
  local message=$1; shift
  if run_mpi -n 2 "$kbnn" prune "$@" > /dev/null 2> "$out/err"; then fail "accepted: $*"; fi
  grep -qF -- "$message" "$out/err" || { cat "$out/err"; fail "no '$message' for: $*"; }
}
expect_error "'1.2' is not a fraction in [0, 1)" "$out/run.h5" --fractions=0.5,1.2
expect_error "--fractions=F1,F2,... is required" "$out/run.h5"
expect_error "missing.h5: no such file" "$out/missing.h5" --fractions=0.5
expect_error "kbnn: error: prune: --train.lr: only data.*, eval.* and ood.* options apply" "$out/run.h5" \
  --fractions=0.5 --train.lr=1
expect_error "kbnn: error: prune: --train.lr: only data.*, eval.* and ood.* options apply" "$out/run.h5" \
  --fractions 0.5 --train.lr 1
expect_error "prune: --scope needs a value" "$out/run.h5" --fractions 0.5 --scope
pruning="run.pruning.h5 is a pruning file (kbnn prune), not a model (kbnn info $out/run.pruning.h5)"
expect_error "$pruning: prune reads a run file or a checkpoint" "$out/run.pruning.h5" --fractions=0.5
echo "prune test passed"
