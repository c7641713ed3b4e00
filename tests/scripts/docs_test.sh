#!/usr/bin/env bash
# Small things a new user meets first: every code block of the Markdown documents is
# closed (an open one turns the rest of the page into code), and the helper scripts
# answer --help without side effects (get_ood_data.sh made a folder named --help; bench/
# tabular_baselines.py, run as README shows, fell over without its arguments; the bench
# scripts with positional arguments took --help for one and started a run); the
# data scripts, run by a Python without h5py, say so in one line.
#   usage: docs_test.sh SOURCE_DIR
set -euo pipefail
source_dir=$1
fail() { echo "FAILED: $*"; exit 1; }
for doc in "$source_dir"/README.md "$source_dir"/docs/*.md "$source_dir"/bench/README.md; do
  [[ -f $doc ]] || continue
  fences=$(grep -c '^ *```' "$doc" || true)
  ((fences % 2 == 0)) || fail "$doc: $fences code fences, one is not closed"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for flag in --help -h; do
  "$source_dir/scripts/get_ood_data.sh" "$flag" > out 2>&1 || fail "get_ood_data.sh $flag exited $?"
  grep -q "^scripts/get_ood_data.sh \[DIR\]" out || fail "get_ood_data.sh $flag printed no usage: $(cat out)"
done
rc=0
"$source_dir/scripts/get_ood_data.sh" --frobnicate > out 2>&1 || rc=$?
((rc == 2)) || fail "get_ood_data.sh --frobnicate exited $rc, expected 2"
# README's tabular baseline (bench/tabular_baselines.py DATA NAME ...): --help gives its
# usage, and a missing or unknown DATA a usage error (it was an IndexError traceback).
tabular=$source_dir/bench/tabular_baselines.py
/usr/bin/python3 "$tabular" --help > out 2>&1 || fail "tabular_baselines.py --help exited $?"
grep -q "^usage: .*bench/tabular_baselines.py DATA NAME" out || fail "tabular_baselines.py --help printed no usage: $(cat out)"
for args in "" "iriss mlp" "wine --train.epochs=3"; do
  rc=0
  # shellcheck disable=SC2086  # the words are the arguments
  /usr/bin/python3 "$tabular" $args > out 2>&1 || rc=$?
  ((rc == 2)) && grep -q "^tabular_baselines.py: expected DATA (wine, iris, breast_cancer, digits, diabetes) and NAME" out ||
    fail "tabular_baselines.py $args: exit $rc, not a usage error: $(cat out)"
done
# The statistics tool the bench scripts call answers --help too (it exited 1).
/usr/bin/python3 "$source_dir/bench/seed_stats.py" --help > out 2>&1 || fail "seed_stats.py --help exited $?"
grep -q "^Many-seed statistics" out || fail "seed_stats.py --help printed: $(head -3 out)"
# Every bench script answers -h and --help with the comment block at its top (its usage)
# and exit 0, before anything runs: those that take positional arguments took "--help"
# for one and started a benchmark. Their output folders and build go to $work here, so
# that a script that did start leaves them behind; a stray wait or build times out.
for script in "$source_dir"/bench/*.sh; do
  name=${script#"$source_dir"/}
  case $name in bench/help.sh | bench/mpi.sh) continue ;; esac  # sourced by the others
  expected=$(sed -n '2,${/^#/!q;s/^# \{0,1\}//p}' "$script")
  [[ $expected == *usage* || $expected == *"$name"* ]] || fail "$name: no usage in its top comment"
  for flag in --help -h; do
    rc=0
    KBNN_BUILD_DIR=$work/build KBNN_BENCH_WAIT=0 timeout 20 "$script" "$flag" > out 2>&1 || rc=$?
    ((rc == 0)) || fail "$name $flag exited $rc: $(head -5 out)"
    [[ $(cat out) == "$expected" ]] || fail "$name $flag did not print its top comment: $(head -5 out)"
  done
done
[[ $(ls) == out ]] || fail "the scripts left files behind: $(ls)"
# The data scripts run by a Python without h5py (README: `python3 scripts/csv_to_h5.py`;
# a cluster's python3 is often not Debian's): one line naming that Python and what it
# lacks, exit 1, no traceback. A module on PYTHONPATH hides this Python's h5py.
hidden=$(mktemp -d)
trap 'rm -rf "$work" "$hidden"' EXIT
echo 'raise ImportError("No module named h5py (hidden by docs_test.sh)")' > "$hidden/h5py.py"
for script in csv_to_h5 waveform_to_h5 pulses_to_h5 diabetes_to_h5; do
  rc=0
  PYTHONPATH=$hidden PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$source_dir/scripts/$script.py" \
    --help > out 2>&1 || rc=$?
  ((rc == 1)) || fail "$script.py without h5py exited $rc, expected 1: $(cat out)"
  [[ $(wc -l < out) == 1 ]] && grep -q "^$script.py: /usr/bin/python3 lacks a package it needs (No module named h5py" out ||
    fail "$script.py without h5py does not say so in one line: $(cat out)"
done
echo "PASSED"
