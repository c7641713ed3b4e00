#!/usr/bin/env bash
# Ensembles over rank groups (parallel.ensemble): a member's numbers do not depend on
# which group trains it, nor on what its group trained before it.
#   - K = 2 on 2 ranks (two groups of 1 rank, concurrently): member 1's run file equals,
#     bit for bit, a single model's with --train.seed=member_seed(42, 1) on 1 rank, and
#     member 0's equals the deck's own single model (seed 42), and so does
#     --parallel.ensemble=1, deck included: K = 1 is today's run;
#   - K = 2 on 2 ranks in 1 group (the members one after another on both ranks) and
#     K = 2 on 4 ranks (two groups of 2 ranks): member 1 equals, bit for bit, the single
#     model on 2 ranks, in both;
#   - member 1 on 1 rank and on 2 ranks agree to rounding (each gradient summed in
#     another order);
#   - the mixture's predictions: recomputed from the per-sample probabilities of `kbnn
#     predict --sample-probabilities` (check_predictions.py: the mixture, the within /
#     between split, the metrics), bit-identical from 2 and 4 ranks' files of the same
#     members read back, and `kbnn info` lists the members;
#   - `kbnn prune` of the ensemble: fraction 0 is the ensemble's own numbers, each member
#     loses its share of kernel weights, and the pruned checkpoint predicts its row.
#   usage: ensemble_ranks_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
args=(--data.train_limit=600 --data.test_limit=100 --train.batch_size=100 --train.epochs=2
      --train.log_every=4 --eval.samples=3 --ood.shift=invert --output.dir="$out")
seed1=$((42 + 0x9E3779B97F4A7C15))  # member_seed(42, 1), mod 2^64
seed1=$(printf '%u' "$seed1")
train() {  # ranks name [options]
  local n=$1 name=$2
  shift 2
  run_mpi -n "$n" "$kbnn" train "$deck" "${args[@]}" --output.name="$name" "$@" > "$out/$name.log" 2>&1 ||
    fail "$name: kbnn train failed: $(tail -5 "$out/$name.log")"
}
train 2 groups_of_1 --parallel.ensemble=2
train 2 one_group --parallel.ensemble=2 --parallel.ensemble_groups=1
train 4 groups_of_2 --parallel.ensemble=2
train 1 single_1 --train.seed="$seed1"
train 2 single_2 --train.seed="$seed1"
train 1 seed42_1
train 1 k1 --parallel.ensemble=1
grep -q "group 1 (rank 1) trains member(s) 1 (seed $seed1)" "$out/groups_of_1.log" ||
  fail "the plan does not say which group trains member 1: $(grep ^ensemble "$out/groups_of_1.log")"
grep -q "one after another" "$out/one_group.log" || fail "no 'one after another' in the plan"
grep -q "^\[member 1\] ensemble member 1 of 2, seed $seed1: group 0 of 1 (ranks 0-1), its member 2 of 2" \
  "$out/one_group.log" || fail "member 1's run does not state where it runs"

/usr/bin/python3 - "$out" <<'PY' || fail "members differ from the single models"
import sys
import h5py
import numpy as np

out = sys.argv[1]
timing = {"seconds", "images_per_second"}


def datasets(group, prefix=""):
    """{path: array} of every dataset below `group` but the wall-clock columns."""
    found = {}
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name.split("/")[-1] not in timing:
            found[prefix + name] = obj[...]
    group.visititems(visit)
    return found


def same(a_path, b_path, what):
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        da, db = datasets(a), datasets(b)
        if da.keys() != db.keys():
            sys.exit(f"FAILED: {what}: datasets {sorted(da.keys() ^ db.keys())} in one file only")
        bad = [k for k in da if da[k].tobytes() != db[k].tobytes()]
        if bad:
            sys.exit(f"FAILED: {what}: {bad} differ")
        for key in ("metrics/test", "metrics/ood/invert"):
            if dict(a[key].attrs) != dict(b[key].attrs):
                sys.exit(f"FAILED: {what}: attributes of {key} differ")
    print(f"same bits: {what} ({len(da)} datasets)")


same(f"{out}/groups_of_1.members/member_1.h5", f"{out}/single_1.h5",
     "member 1 in a group of 1 rank / the single model on 1 rank")
same(f"{out}/groups_of_1.members/member_0.h5", f"{out}/seed42_1.h5",
     "member 0 / the deck's own single model (seed 42)")
same(f"{out}/k1.h5", f"{out}/seed42_1.h5", "parallel.ensemble = 1 / no ensemble option")
with h5py.File(f"{out}/k1.h5", "r") as a, h5py.File(f"{out}/seed42_1.h5", "r") as b:
    decks = [[line for line in f.attrs["deck"].splitlines() if not line.startswith("name = ")]
             for f in (a, b)]
    options = [line for line in decks[0] if not line.startswith("#")]
    if decks[0] != decks[1] or any(line.startswith("ensemble") for line in options) or \
            "ensemble_members" in a.attrs:
        sys.exit("FAILED: parallel.ensemble = 1 is not today's run: its deck or attributes differ")
same(f"{out}/one_group.members/member_1.h5", f"{out}/single_2.h5",
     "member 1 after member 0 on 2 ranks / the single model on 2 ranks")
same(f"{out}/groups_of_2.members/member_1.h5", f"{out}/single_2.h5",
     "member 1 in a group of 2 of 4 ranks / the single model on 2 ranks")
with h5py.File(f"{out}/groups_of_1.members/member_1.h5", "r") as a, \
        h5py.File(f"{out}/one_group.members/member_1.h5", "r") as b:
    pa, pb = a["checkpoint/parameters"][...], b["checkpoint/parameters"][...]
    worst = np.abs(pa - pb).max() / np.abs(pa).max()
    if worst > 1e-3:
        sys.exit(f"FAILED: member 1 on 1 and on 2 ranks: parameters apart by {worst:.3g} (relative)")
    if pa.tobytes() == pb.tobytes():
        print("note: member 1 on 1 and 2 ranks came out bit-identical")
    print(f"member 1 on 1 and 2 ranks: parameters within {worst:.2g} of their scale")
# The ensemble files hold every member's run file, and the same mixture from 2 and 4
# ranks' trainings of the same members (bit-identical members on groups of 2 ranks).
with h5py.File(f"{out}/one_group.h5", "r") as a, h5py.File(f"{out}/groups_of_2.h5", "r") as b:
    if a.attrs["ensemble_members"] != 2 or b.attrs["ensemble_groups"] != 2:
        sys.exit("FAILED: ensemble attributes")
    for k in ("0", "1"):
        if a[f"members/{k}/checkpoint/parameters"][...].tobytes() != \
                b[f"members/{k}/checkpoint/parameters"][...].tobytes():
            sys.exit(f"FAILED: /members/{k} differs between the 1-group and 2-group runs")
    for name in ("probs_mean", "epistemic_within", "epistemic_between"):
        x, y = a[f"predictions/test/{name}"][...], b[f"predictions/test/{name}"][...]
        if np.abs(x - y).max() > 1e-6:  # 2 and 4 ranks predict in other batches: rounding
            sys.exit(f"FAILED: /predictions/test/{name}: 2 and 4 ranks differ")
    within = a["predictions/test/epistemic_within"][...]
    members_mi = np.mean([a[f"members/{k}/predictions/test/epistemic"][...] for k in "01"], axis=0)
    if np.abs(within - members_mi).max() > 1e-6:
        sys.exit("FAILED: epistemic_within is not the mean of the members' own mutual information")
print("PASSED: members")
PY

# The mixture recomputed from its per-sample probabilities, in both splits alike.
for split in examples samples; do
  run_mpi -n 2 "$kbnn" predict "$out/groups_of_1.h5" --split "$split" --sample-probabilities \
    --output "$out/predict_$split.h5" > "$out/predict_$split.log" || fail "predict --split $split failed"
done
/usr/bin/python3 "$(dirname "$0")/check_predictions.py" "$out/predict_examples.h5" ||
  fail "the ensemble's predictions do not follow from its samples"
/usr/bin/python3 - "$out" <<'PY' || fail "the two splits differ"
import sys
import h5py
a = h5py.File(f"{sys.argv[1]}/predict_examples.h5", "r")["predictions"]
b = h5py.File(f"{sys.argv[1]}/predict_samples.h5", "r")["predictions"]
for s in a:
    for n, d in a[s].items():
        if hasattr(d, "shape") and d[...].tobytes() != b[s][n][...].tobytes():
            sys.exit(f"FAILED: /predictions/{s}/{n} differs between the splits")
print("PASSED: both splits give the same bits")
PY
grep -q "an ensemble of 2 members" "$out/predict_examples.log" || fail "predict does not name the ensemble"

"$kbnn" info "$out/groups_of_1.h5" > "$out/info.log" || fail "kbnn info failed"
cat "$out/info.log"
grep -q "groups_of_1.h5: run file of a finished ensemble$" "$out/info.log" || fail "info: not a finished ensemble"
grep -q "^  model:" "$out/info.log" || fail "info: no model table"
grep -q "ensemble: 2 members trained over 2 rank group(s)" "$out/info.log" || fail "info: no ensemble line"
grep -q "member 1: group 1 (1 rank(s)), seed $seed1" "$out/info.log" || fail "info: no member 1 line"
grep -q "within-member" "$out/info.log" || fail "info: no split"

# Pruning an ensemble: fraction 0 is the ensemble's own test and OOD numbers; each member
# loses half of its own kernel weights; the pruned ensemble's checkpoint predicts what
# its row says.
run_mpi -n 2 "$kbnn" prune "$out/groups_of_1.h5" --fractions=0.5 > "$out/prune.log" ||
  fail "kbnn prune of an ensemble failed"
grep -q "an ensemble of 2 members, each pruned by its own SNR" "$out/prune.log" || fail "prune: no ensemble line"
run_mpi -n 2 "$kbnn" predict "$out/groups_of_1.pruned_0.5.h5" --output "$out/pruned.predict.h5" \
  > /dev/null || fail "predict on the pruned ensemble failed"
/usr/bin/python3 - "$out" <<'PY' || fail "the pruned ensemble's numbers disagree"
import sys
import h5py
out = sys.argv[1]
with h5py.File(f"{out}/groups_of_1.pruning.h5", "r") as p, h5py.File(f"{out}/groups_of_1.h5", "r") as e, \
        h5py.File(f"{out}/pruned.predict.h5", "r") as q:
    rows = p["pruning"]
    assert list(rows["fraction"][:]) == [0.0, 0.5], rows["fraction"][:]
    for key in ("accuracy", "nll", "ece"):
        assert rows[key][0] == e["metrics/test"].attrs[key], f"fraction 0 {key}"
        assert rows[key][1] == q["metrics/test"].attrs[key], f"fraction 0.5 {key}"
    assert rows["auroc_mutual_information"][0] == e["metrics/ood/invert"].attrs["auroc_mutual_information"]
    kernels = rows["removed"][1] + rows["kept"][1]
    assert abs(rows["removed"][1] - kernels / 2) <= 10, (rows["removed"][1], kernels)
    assert q.attrs["ensemble_members"] == 2
print("PASSED: pruning the ensemble")
PY
"$kbnn" info "$out/groups_of_1.pruned_0.5.h5" > "$out/info_pruned.log" || fail "kbnn info of the pruned ensemble failed"
grep -q "pruned_0.5.h5: checkpoint of an ensemble (kbnn prune: every member pruned)" "$out/info_pruned.log" &&
  grep -q "^  member 1: seed $seed1, step [0-9]*, [0-9]* of [0-9]* Bayesian weights pruned" "$out/info_pruned.log" &&
  grep -q "^  model:" "$out/info_pruned.log" && grep -q "^  use: kbnn predict" "$out/info_pruned.log" || fail "info of the pruned ensemble: $(cat "$out/info_pruned.log")"
"$kbnn" info "$out/pruned.predict.h5" > "$out/info_predict.log" || fail "kbnn info of the ensemble's predictions failed"
grep -q "pruned.predict.h5: prediction file (kbnn predict)" "$out/info_predict.log" &&
  grep -q "^  ensemble: 2 members$" "$out/info_predict.log" &&
  grep -q "^  mixture: test accuracy .*within-member" "$out/info_predict.log" ||
  fail "info of the ensemble's prediction file: $(cat "$out/info_predict.log")"

# The members plot (postprocess/kbnn_plots.py members), where matplotlib is installed.
if /usr/bin/python3 -c "import h5py, matplotlib" 2> /dev/null; then
  plots=$(dirname "$0")/../../postprocess/kbnn_plots.py
  /usr/bin/python3 "$plots" members "$out/groups_of_1.h5" -o "$out/members.png" ||
    fail "kbnn_plots.py members failed"
  /usr/bin/python3 - "$out/members.png" <<'PY' || fail "members.png is not the promised picture"
import sys
import matplotlib.image
pixels = matplotlib.image.imread(sys.argv[1])
assert pixels.shape[:2] == (450, 1500), pixels.shape
assert pixels[..., :3].var() > 0.005, "blank"
PY
  rc=0
  /usr/bin/python3 "$plots" members "$out/single_1.h5" 2> "$out/plot.err" || rc=$?
  ((rc == 1)) && grep -q "single_1.h5: not a kbnn ensemble run file" "$out/plot.err" ||
    fail "a single model's file was not refused by name"
  rc=0
  /usr/bin/python3 "$plots" history "$out/groups_of_1.h5" 2> "$out/plot.err" || rc=$?
  ((rc == 1)) && grep -q "an ensemble's run file has no training history of its own: 'kbnn_plots.py members'" \
    "$out/plot.err" || fail "history of an ensemble's file: $(cat "$out/plot.err")"
  for plot in reliability ood; do
    /usr/bin/python3 "$plots" "$plot" "$out/groups_of_1.h5" -o "$out/$plot.png" > /dev/null ||
      fail "kbnn_plots.py $plot on the ensemble's file failed"
  done
fi

# --restart FILE names no member: refused, with the way to resume.
rc=0
run_mpi -n 2 "$kbnn" train "$deck" "${args[@]}" --output.name=groups_of_1 --parallel.ensemble=2 \
  --restart "$out/groups_of_1.h5" > /dev/null 2> "$out/refused.err" || rc=$?
((rc == 1)) || fail "--restart FILE for an ensemble exited $rc, expected 1"
grep -q "resumes with --restart auto" "$out/refused.err" || fail "no message: $(cat "$out/refused.err")"

# An error the ranks of a group agree on (a data file no rank can open) becomes every
# group's: one message naming the member, exit 1 through MPI_Finalize (not MPI_Abort).
rc=0
run_mpi -n 3 "$kbnn" train "$deck" "${args[@]}" --output.name=bad --parallel.ensemble=2 \
  --data.format=hdf5 --data.train_file="$out/missing.h5" --data.test_file="$out/missing.h5" \
  > /dev/null 2> "$out/bad.err" || rc=$?
((rc == 1)) || fail "an ensemble whose data file is missing exited $rc, expected 1"
[[ $(grep -c "^kbnn: error: ensemble member 0: .*missing.h5" "$out/bad.err") == 1 ]] ||
  fail "not one message naming the member: $(cat "$out/bad.err")"
grep -q "MPI_ABORT" "$out/bad.err" && fail "the agreed error went through MPI_Abort"
echo "PASSED"
