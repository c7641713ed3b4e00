#!/usr/bin/env bash
# KBNN_PROFILE_LAYERS=1 (README, "Performance") prints, at the end of training, one row
# per layer of the deck's model, in its order, with the seconds of its forward and
# backward passes; printed once on 2 ranks, and not at all without the variable (or with
# another value than 1). The times themselves are not checked: a fast device rounds
# such a short run's to 0.000.
#   usage: profile_layers_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
small=(--data.train_limit=200 --data.test_limit=50 --train.batch_size=50 --eval.samples=2
       --output.dir="$out")
header="layer               forward s  backward s"

KBNN_PROFILE_LAYERS=1 run_mpi -n 2 "$kbnn" train "$deck" "${small[@]}" --output.name=profiled \
  > "$out/log" || fail "the profiled run failed: $(cat "$out/log")"
(($(grep -cx "$header" "$out/log") == 1)) || fail "not one table header: $(cat "$out/log")"
# The model summary's layers ("  conv2d_0  28x28x6 ..."), against the table's rows.
sed -n '/^  layer /,/^  total /p' "$out/log" | awk 'NR > 1 && $1 != "input" && $1 != "total" { print $1 }' \
  > "$out/layers"
(($(wc -l < "$out/layers") == 12)) || fail "the summary does not list the deck's 12 layers: $(cat "$out/log")"
# The table: the lines after its header that start with a layer's name.
sed -n "/^$header\$/,\$p" "$out/log" | sed 1d | awk '!/^[a-z0-9]+_[0-9]+ / { exit } 1' > "$out/rows"
awk '!/^[a-z0-9]+_[0-9]+ +[0-9]+\.[0-9][0-9][0-9] +[0-9]+\.[0-9][0-9][0-9]$/ { bad = 1 } END { exit bad }' \
  "$out/rows" || fail "a row is not a layer and two times: $(cat "$out/rows")"
awk '{ print $1 }' "$out/rows" | cmp -s - "$out/layers" ||
  fail "the rows are not the model's layers in order: $(cat "$out/rows")"
grep -q "^test (MC predictive mean" "$out/log" || fail "the run did not go on to its evaluation"

for setting in unset 0; do
  if [[ $setting == unset ]]; then
    run_mpi -n 1 env -u KBNN_PROFILE_LAYERS "$kbnn" train "$deck" "${small[@]}" --output.name=plain \
      > "$out/log" || fail "the run without profiling failed"
  else
    KBNN_PROFILE_LAYERS=0 run_mpi -n 1 "$kbnn" train "$deck" "${small[@]}" --output.name=plain \
      --output.overwrite=true > "$out/log" || fail "the run with KBNN_PROFILE_LAYERS=0 failed"
  fi
  if grep -q "forward s  backward s" "$out/log"; then fail "a table with KBNN_PROFILE_LAYERS $setting"; fi
done
echo "PASSED"
