#!/usr/bin/env bash
# How kbnn ends on a bad command line or deck, as a user sees it:
#   - a deck error that every rank sees prints ONE line and exits 1 through
#     MPI_Finalize: no MPI_Abort banner. Run alone (a singleton, as a user at a login
#     node) stderr holds that line only; under mpiexec on 2 ranks the message is still
#     printed once (mpiexec adds its own note about the exit code);
#   - a usage error exits 2, its message with the command's usage; `kbnn` alone prints
#     the usage to stderr; every message carries "kbnn:" once;
#   - `kbnn --help`, `kbnn help`, `kbnn help CMD` and `kbnn CMD --help` print kbnn's usage
#     (the command's, with its options) alone, exit 0: Kokkos's options only with
#     --kokkos-help; `kbnn deck` prints a deck with every option, which --dry-run reads.
# usage: command_line_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"

expect() {  # expect RC PATTERN: the last run's exit code, and kbnn's one message
  ((rc == $1)) || fail "exit code $rc, expected $1 ($(cat "$out/err"))"
  local lines
  lines=$(grep -c "^kbnn" "$out/err" || true)
  ((lines == 1)) || fail "$lines messages from kbnn, expected 1: $(cat "$out/err")"
  grep -q -- "$2" "$out/err" || fail "stderr lacks '$2': $(cat "$out/err")"
  if grep -q "MPI_ABORT" "$out/err"; then fail "an abort banner: $(cat "$out/err")"; fi
  return 0
}

rc=0
"$kbnn" train "$deck" --train.batch_size=0 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "train.batch_size: expected an integer >= 1, got '0'"
(($(wc -l < "$out/err") == 1)) || fail "a singleton run printed more than one line: $(cat "$out/err")"

rc=0
run_mpi -n 2 "$kbnn" train "$deck" --train.batch_size=0 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "train.batch_size: expected an integer >= 1, got '0'"

# What only the run knows: a global batch smaller than the rank count.
rc=0
run_mpi -n 2 "$kbnn" train "$deck" --train.batch_size=1 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "train.batch_size 1 is smaller than the 2 ranks"

# "--restart=" (an empty value) must not silently start afresh.
rc=0
run_mpi -n 1 "$kbnn" train "$deck" --restart= --dry-run > "$out/out" 2> "$out/err" || rc=$?
expect 2 "train: --restart needs a checkpoint file or 'auto', got ''"

# A malformed value of a command's own option (or a flag given a value) is a bad command
# line, whichever the option: exit 2 with the command's usage, one message on 2 ranks
# ('prune --fractions=abc' exited 1 while '--scope=foo' exited 2). The command line is
# read before any file, so the model file need not exist.
own_option() {  # own_option COMMAND MESSAGE ARGS...
  local command=$1 message=$2
  shift 2
  rc=0
  run_mpi -n 2 "$kbnn" "$command" "$@" > "$out/out" 2> "$out/err" || rc=$?
  expect 2 "^kbnn: $command: $message"
  grep -q "^usage: kbnn $command\( \|$\)" "$out/err" || fail "no usage of kbnn $command after: $(cat "$out/err")"
}
own_option prune "--fractions: 'abc' is not a fraction in \[0, 1)" no_run.h5 --fractions=abc
own_option prune "--fractions: '1.2' is not a fraction in \[0, 1)" no_run.h5 --fractions 0.5,1.2
own_option prune "--scope must be layer or global, not 'foo'" no_run.h5 --fractions=0.5 --scope=foo
own_option prune "--no-checkpoints takes no value, got '--no-checkpoints=1'" no_run.h5 --fractions=0.5 \
  --no-checkpoints=1
own_option predict "--split: expected one of examples, samples, got 'foo'" no_run.h5 --split foo
own_option predict "--set-name must not contain '/'" no_run.h5 --set-name=a/b
own_option predict "--sample-probabilities takes no value" no_run.h5 --sample-probabilities=yes
own_option train "--dry-run takes no value, got '--dry-run=1'" "$deck" --dry-run=1
own_option train "--restart-force takes no value" "$deck" --restart auto --restart-force=yes
# What a command cannot do without: its file, --restart's value (the last word), another
# option. The model or run file is the first word, so an option there is no file; the
# deck's own usage has no arguments at all.
own_option deck "takes no arguments" extra
own_option train "--restart needs a checkpoint file or 'auto'$" "$deck" --restart
own_option train "--restart-force needs --restart" "$deck" --restart-force --dry-run
own_option predict "missing the model (a run file or checkpoint)" --output=p.h5
own_option prune "missing the run file" --fractions=0.5
own_option info "expected a file and optionally --deck, before or after it" a.h5 b.h5
own_option info "expected a file and optionally --deck, before or after it" a.h5 --deck --deck

rc=0
run_mpi -n 1 "$kbnn" train "$deck" --train.epochs=2 --train.epochs=3 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "option 'train.epochs' is given more than once"

# A --kokkos-* option this Kokkos does not know is named, with where to look.
rc=0
run_mpi -n 1 "$kbnn" train "$deck" --dry-run --kokkos-frobnicate=2 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "'--kokkos-frobnicate=2' is not an option of this Kokkos ([0-9]*\.[0-9]*): kbnn --kokkos-help lists"

rc=0
run_mpi -n 1 "$kbnn" > "$out/out" 2> "$out/err" || rc=$?
((rc == 2)) || fail "kbnn with no arguments exited $rc, expected 2"
grep -q "^usage: kbnn train" "$out/err" || fail "kbnn with no arguments printed no usage"

rc=0
run_mpi -n 1 "$kbnn" frobnicate > "$out/out" 2> "$out/err" || rc=$?
expect 2 "^kbnn: unknown command 'frobnicate'"

rc=0
run_mpi -n 1 "$kbnn" train > "$out/out" 2> "$out/err" || rc=$?
expect 2 "^kbnn: train: missing the input deck"
grep -q "^usage: kbnn train DECK" "$out/err" || fail "no usage of kbnn train after its error"

rc=0
run_mpi -n 1 "$kbnn" --help > "$out/out" 2> "$out/err" || rc=$?
((rc == 0)) || fail "--help exited $rc"
head -1 "$out/out" | grep -q "^usage: kbnn train" || fail "--help does not start with kbnn's usage"
if grep -qi "kokkos command line" "$out/out"; then fail "--help printed Kokkos's help"; fi

# Each command's help, however it is asked for: its usage and options, exit 0, alone.
help_of() {  # help_of COMMAND ARGS...: kbnn ARGS prints COMMAND's usage and exits 0
  local command=$1; shift
  rc=0
  run_mpi -n 2 "$kbnn" "$@" > "$out/out" 2> "$out/err" || rc=$?
  ((rc == 0)) || fail "kbnn $* exited $rc: $(cat "$out/err")"
  [[ "$(head -1 "$out/out") " == "usage: kbnn $command "* ]] || fail "kbnn $* does not start with the usage of $command: $(head -2 "$out/out")"
  if grep -qi "kokkos command line\|cannot open\|MPI_ABORT" "$out/out" "$out/err"; then fail "kbnn $*: $(cat "$out/out" "$out/err")"; fi
  (($(grep -c "^usage: kbnn" "$out/out") == 1)) || fail "kbnn $* printed more than its command's usage"
}
for command in train predict prune info; do
  help_of "$command" help "$command"
  help_of "$command" "$command" --help
  help_of "$command" "$command" -h
done
help_of train train "$deck" --train.epochs=2 --help
grep -q "^  --restart auto" "$out/out" || fail "kbnn train --help does not explain --restart auto"
grep -q "^  --dry-run" "$out/out" || fail "kbnn train --help does not explain --dry-run"
help_of deck help deck
for asked in "help" "help --help" "help -h"; do
  rc=0
  # shellcheck disable=SC2086  # $asked is the words of the command line
  run_mpi -n 1 "$kbnn" $asked > "$out/out" 2> "$out/err" || rc=$?
  ((rc == 0)) || fail "kbnn $asked exited $rc: $(cat "$out/err")"
  for command in train predict prune info deck help; do
    grep -q "^  $command " "$out/out" || fail "kbnn $asked does not list $command"
  done
done
rc=0
run_mpi -n 1 "$kbnn" help frobnicate > "$out/out" 2> "$out/err" || rc=$?
expect 2 "^kbnn: help: expected one command"
if grep -q "kbnn: kbnn" "$out/err"; then fail "a doubled prefix: $(cat "$out/err")"; fi
rc=0
run_mpi -n 1 "$kbnn" --kokkos-help > "$out/out" 2> "$out/err" || rc=$?
((rc == 0)) || fail "--kokkos-help exited $rc"
grep -qi "kokkos" "$out/out" || fail "--kokkos-help did not list Kokkos's options"

# kbnn deck: a deck that documents every option; --dry-run reads it, prints the model
# summary and the resolved deck, and trains and writes nothing.
"$kbnn" deck > "$out/default.cfg" || fail "kbnn deck failed"
grep -q "^momentum = 0.9" "$out/default.cfg" || fail "kbnn deck lacks train.momentum"
rc=0
(cd "$out" && "$kbnn" train default.cfg --dry-run --data.train_limit=200 --data.test_limit=50 \
   --output.dir=dry > "$out/out" 2> "$out/err") || rc=$?
((rc == 0)) || fail "--dry-run exited $rc: $(cat "$out/err")"
grep -q "^  conv2d_0 *28x28x6 *flipout *150 *6 " "$out/out" || fail "--dry-run printed no model summary: $(cat "$out/out")"
grep -q "^  total .* 61470 *236 " "$out/out" || fail "the summary has no totals"
grep -q "^dry run: .*Nothing trained, nothing written" "$out/out" || fail "--dry-run does not say so"
grep -q "^\[train\]" "$out/out" || fail "--dry-run printed no resolved deck"
if grep -q "^step " "$out/out"; then fail "--dry-run trained"; fi
[[ ! -e "$out/dry" ]] || fail "--dry-run wrote $(ls "$out/dry")"
rc=0
"$kbnn" train "$deck" --dry-run --model.layer="conv2d out=4 kernel=40" --model.layer=flatten \
  --model.layer="dense out=10" --data.train_limit=200 --data.test_limit=50 > "$out/out" 2> "$out/err" || rc=$?
expect 1 "conv2d_0: a 40x40 kernel with padding 0 does not fit the 28x28 input"
echo "PASSED"
