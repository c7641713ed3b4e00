#!/usr/bin/env bash
# Every error in what a user hands kbnn (deck, command line, data files, OOD sets, model
# and checkpoint files, a layer that does not fit the data, an output file in the way)
# is seen alike by every rank: on 1 and on 2 ranks it ends with ONE message line from
# kbnn, exit status 1, through MPI_Finalize: no MPI_Abort banner.
#   usage: input_errors_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
data_dir=$(sed -n 's/^dir *= *//p;T;q' "$deck")
small=(--data.train_limit=200 --data.test_limit=50 --train.batch_size=50 --train.log_every=2
       --eval.samples=2 --output.dir="$out/runs")

# What the cases need: a finished run, a deterministic one, a prediction file, a truncated
# IDX file, a file that is not HDF5, an HDF5 file that kbnn did not write.
"$kbnn" train "$deck" "${small[@]}" --output.name=run > /dev/null || fail "the first run failed"
"$kbnn" train "$deck" "${small[@]}" --output.name=det --model.estimator=deterministic > /dev/null ||
  fail "the deterministic run failed"
mkdir "$out/truncated"
cp "$data_dir"/train-* "$out/truncated/"
(set +o pipefail  # gzip stops early on the closed pipe
 gzip -dc "$data_dir"/t10k-images-idx3-ubyte.gz | head -c 5000 | gzip > "$out/truncated/t10k-images-idx3-ubyte.gz")
cp "$data_dir"/t10k-labels-idx1-ubyte.gz "$out/truncated/"
"$kbnn" predict "$out/runs/run.h5" --output "$out/predicted.h5" > /dev/null ||
  fail "the prediction file failed"
echo "not hdf5" > "$out/garbage.h5"
: > "$out/zero.h5"
/usr/bin/python3 -c "import h5py, sys; h5py.File(sys.argv[1], 'w')['x'] = [1, 2]" "$out/foreign.h5"
# 40 signals of 21 points (N, L), and a dataset of 3-D examples, for the 1-D layers' cases.
/usr/bin/python3 -c "
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], 'w') as f:
    f['images'] = np.random.default_rng(0).normal(size=(40, 21)).astype('f4')
    f['labels'] = np.arange(40, dtype='i4') % 3
    f['cube'] = np.zeros((40, 3, 4, 5), 'f4')" "$out/signals.h5"
signals=(--data.format=hdf5 --data.train_file="$out/signals.h5" --data.test_fraction=0.25)
# The same signals as a table whose classes have names (csv_to_h5.py --labels), and again
# converted apart, numbering them otherwise: a restart on it would relabel every output.
# other.h5: a table of the same size, shape and classes, but other values.
for table in "low 0 low mid high" "mid 0 mid low high" "other 1 low mid high"; do
  read -r name seed names <<< "$table"
  /usr/bin/python3 -c "
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], 'w') as f:
    f['features'] = np.random.default_rng(int(sys.argv[2])).normal(size=(40, 21)).astype('f4')
    f['labels'] = np.arange(40) % 3
    f.attrs['class_names'] = sys.argv[3].split()" "$out/$name.h5" "$seed" "$names"
done
table=(--data.format=hdf5 --data.test_fraction=0.25 --data.features=features --model.layer=flatten
       --model.layer="dense out=3")
"$kbnn" train "$deck" "${small[@]}" "${table[@]}" --data.train_file="$out/low.h5" --output.name=named \
  > /dev/null || fail "the run on named classes failed"
md5sum "$out/low.h5" > "$out/low.md5"
# A deck file whose layer repeats a key (an edit that added one and kept the old).
sed 's/^layer = conv2d out=16 kernel=5 /layer = conv2d out=16 kernel=5 kernel=3 /' "$deck" > "$out/twice.cfg"
grep -q "kernel=5 kernel=3" "$out/twice.cfg" || fail "the deck has no 'conv2d out=16 kernel=5' to repeat a key of"
# HDF5 files cut short (a copy that did not finish): a data file and a run file.
for file in low runs/run; do
  head -c $(($(stat -c %s "$out/$file.h5") / 2)) "$out/$file.h5" > "$out/cut_${file##*/}.h5"
done
# held.h5: a copy that another program (h5py) holds open for writing while the cases run.
cp "$out/low.h5" "$out/held.h5"
/usr/bin/python3 -c "
import h5py, os, sys, time
f = h5py.File(sys.argv[1], 'a')
open(sys.argv[2], 'w').close()
time.sleep(600)" "$out/held.h5" "$out/held.ready" &
holder=$!
trap 'kill "$holder" 2> /dev/null; rm -rf "$out"' EXIT
for _ in $(seq 100); do [[ -e $out/held.ready ]] && break; sleep 0.1; done
[[ -e $out/held.ready ]] || fail "h5py did not open held.h5"

cases=0
check() {  # check RANKS MESSAGE ARGS...: kbnn ARGS on RANKS ranks ends as it should
  local ranks=$1 message=$2; shift 2
  local rc=0
  run_mpi -n "$ranks" "$kbnn" "$@" > "$out/stdout" 2> "$out/stderr" || rc=$?
  local context="kbnn $* on $ranks rank(s)"
  ((rc == 1)) || fail "$context: exit status $rc, expected 1: $(cat "$out/stderr")"
  local lines
  lines=$(grep -c "^kbnn" "$out/stderr" || true)
  ((lines == 1)) || fail "$context: $lines lines from kbnn, expected 1: $(cat "$out/stderr")"
  grep -q "^kbnn: error: .*$message" "$out/stderr" || fail "$context: no '$message': $(cat "$out/stderr")"
  if grep -q "MPI_ABORT\|error on rank\|Signal:" "$out/stderr"; then fail "$context: $(cat "$out/stderr")"; fi
  cases=$((cases + 1))
}

for n in 1 2; do
  # The deck and the command line.
  check $n "train.lr: expected a number > 0, got '-1'" train "$deck" --train.lr=-1
  check $n "unknown option 'train.epochz'" train "$deck" --train.epochz=2
  check $n "input deck /nonexistent.cfg: cannot open the file" train /nonexistent.cfg
  check $n "input deck $out/twice.cfg: model.layer 4 'conv2d out=16 kernel=5 kernel=3 *': key 'kernel' is given more than once" \
    train "$out/twice.cfg" "${small[@]}"
  check $n "input deck $out/runs: is a directory, expected an INI file" train "$out/runs"
  check $n "ood.dir: expected ood.format" train "$deck" "${small[@]}" --ood.dir=/tmp
  # A combination blames the command line that gave one of its options; an integer too
  # large for its type says so.
  check $n "command line: debug.dump_steps = 2 needs debug.dump_file, the HDF5 file" train \
    "$deck" --debug.dump_steps=2
  check $n "command line: eval.samples: expected an integer >= 1 and at most 2147483647, got" \
    train "$deck" --eval.samples=1000000000000
  # Data files.
  check $n "/nonexistent/data: neither train-images" train "$deck" "${small[@]}" --data.dir=/nonexistent/data
  check $n "t10k-images-idx3-ubyte.gz: truncated" train "$deck" "${small[@]}" --data.dir="$out/truncated"
  check $n "/nonexistent/ood: neither t10k-images" train "$deck" "${small[@]}" --ood.format=idx \
    --ood.dir=/nonexistent/ood
  # A layer that does not fit the data.
  check $n "conv2d_0: a 40x40 kernel with padding 0 does not fit the 28x28 input" train "$deck" \
    "${small[@]}" --model.layer="conv2d out=4 kernel=40" --model.layer=flatten --model.layer="dense out=10"
  # conv1d and maxpool1d take signals: neither images nor HDF5 rows read as vectors;
  # data.layout = signal reads only examples (L) or (L, C); conv2d names signals.
  check $n "conv1d_0: takes a signal (1 x L x C), got an image of 28x28x1; images take conv2d" \
    train "$deck" "${small[@]}" --model.layer="conv1d out=4 kernel=3" --model.layer=flatten \
    --model.layer="dense out=10"
  check $n "conv1d_0: takes a signal (1 x L x C), got a vector of 21 features; HDF5 examples of shape (L) or (L, C) are read as signals with data.layout = signal" \
    train "$deck" "${small[@]}" "${signals[@]}" --model.layer="conv1d out=4 kernel=3" \
    --model.layer=flatten --model.layer="dense out=3"
  check $n "maxpool1d_1: a window of 30 with stride 30 does not fit the signal of length 19" \
    train "$deck" "${small[@]}" "${signals[@]}" --data.layout=signal \
    --model.layer="conv1d out=4 kernel=3" --model.layer="maxpool1d size=30" \
    --model.layer=flatten --model.layer="dense out=3"
  check $n "conv2d_0: a 3x3 kernel with padding 0 does not fit the 1x21 input (a signal: use conv1d)" \
    train "$deck" "${small[@]}" "${signals[@]}" --data.layout=signal \
    --model.layer="conv2d out=4 kernel=3" --model.layer=flatten --model.layer="dense out=3"
  check $n "signals.h5: /cube: data.layout = signal needs examples of shape (L) or (L, C) (channels last), got (3, 4, 5)" \
    train "$deck" "${small[@]}" "${signals[@]}" --data.layout=signal --data.features=cube
  check $n "the model ends with 7 outputs but the data has 10 classes" train "$deck" "${small[@]}" \
    --model.layer=flatten --model.layer="dense out=7"
  # Model and checkpoint files.
  check $n "the checkpoint does not match the deck: train.seed was 42, the deck has 3" train "$deck" \
    "${small[@]}" --train.epochs=3 --restart "$out/runs/run.h5" --train.seed=3
  # --restart-force goes past the deck's mismatch with a warning, but a model of another
  # size or an optimizer of other buffers cannot take the checkpoint: one error, no file.
  check $n "runs/run.h5: the checkpoint holds 123176 parameters, but this deck's model has 15690$" \
    train "$deck" "${small[@]}" --train.epochs=2 --restart "$out/runs/run.h5" --restart-force \
    --output.name=forced --model.layer=flatten --model.layer="dense out=10"
  grep -q "^warning: --restart-force: the checkpoint does not match the deck: model.layer was conv2d .*, the deck has flatten; dense out=10 estimator=flipout$" \
    "$out/stdout" || fail "--restart-force on another model gave no warning: $(cat "$out/stdout")"
  check $n "runs/run.h5: the checkpoint holds 2 optimizer buffers, but this deck's optimizer has 1$" \
    train "$deck" "${small[@]}" --train.epochs=2 --restart "$out/runs/run.h5" --restart-force \
    --output.name=forced --train.optimizer=sgd
  grep -q "^warning: --restart-force: the checkpoint does not match the deck: train.optimizer was adam, the deck has sgd$" \
    "$out/stdout" || fail "--restart-force on another optimizer gave no warning: $(cat "$out/stdout")"
  [[ ! -e $out/runs/forced.h5 ]] || fail "a refused --restart-force left runs/forced.h5"
  check $n "garbage.h5: not an HDF5 file" train "$deck" "${small[@]}" --restart "$out/garbage.h5"
  cut_short="truncated file: .*; the file has [0-9]* of the [0-9]* bytes its HDF5 header records: it was cut short"
  check $n "cut_run.h5: .*$cut_short" train "$deck" "${small[@]}" --restart "$out/cut_run.h5"
  check $n "cut_low.h5: .*$cut_short" train "$deck" "${small[@]}" "${table[@]}" \
    --data.train_file="$out/cut_low.h5"
  check $n "the checkpoint is at step 4 (epoch 1.00), where the deck's train.epochs = 1" train \
    "$deck" "${small[@]}" --restart "$out/runs/run.h5" --output.name=again
  check $n "runs/run.h5 holds a finished run" train "$deck" "${small[@]}" --output.name=run
  check $n "output.dir: cannot create /proc/kbnn: " train "$deck" "${small[@]:0:5}" \
    --output.dir=/proc/kbnn
  check $n "garbage.h5: not an HDF5 file" info "$out/garbage.h5"
  check $n "foreign.h5: an HDF5 file that kbnn did not write" info "$out/foreign.h5"
  check $n "missing.h5: no such file" info "$out/missing.h5"
  check $n "missing.h5: no such file" predict "$out/missing.h5"
  check $n "foreign.h5: no /checkpoint group" predict "$out/foreign.h5"
  predictions="predicted.h5 is a prediction file (kbnn predict), not a model (kbnn info .*predicted.h5)"
  check $n "$predictions: predict reads a run file or a checkpoint" predict "$out/predicted.h5"
  check $n "$predictions: prune reads a run file or a checkpoint" prune "$out/predicted.h5" \
    --fractions=0.5
  check $n "/nonexistent/data: neither t10k-images" predict "$out/runs/run.h5" --data.dir=/nonexistent/data
  check $n "/nonexistent/ood: neither t10k-images" predict "$out/runs/run.h5" --ood.format=idx \
    --ood.dir=/nonexistent/ood
  check $n "prune: --train.lr: only data.*, eval.* and ood.* options apply" prune "$out/runs/run.h5" \
    --fractions=0.5 --train.lr=1
  check $n "det.h5 has no Bayesian weights" prune "$out/runs/det.h5" --fractions=0.5
  if ((n == 2)); then  # what 2 ranks could end through MPI_Abort: checked there
    # What a restart's data must share with its checkpoint: the classes' numbering, the
    # rows' values (their CRC-32s) and the standardization (a check every rank makes
    # alike: one message, no MPI_Abort).
    check $n "mid.h5: its classes (class_names: 0 = mid, 1 = low, 2 = high) are numbered otherwise than those of the checkpoint $out/runs/named.h5 (0 = low, 1 = mid, 2 = high): .*(--restart-force continues anyway)" \
      train "$deck" "${small[@]}" "${table[@]}" --data.train_file="$out/mid.h5" --train.epochs=2 \
      --restart "$out/runs/named.h5" --output.name=named_again
    check $n "the training data in $out/other.h5 is not what the checkpoint $out/runs/named.h5 was trained on: its 30 training rows have the CRC-32s features [0-9a-f]*, labels [0-9a-f]*, the checkpoint's had .*(--restart-force continues anyway)" \
      train "$deck" "${small[@]}" "${table[@]}" --data.train_file="$out/other.h5" --train.epochs=2 \
      --restart "$out/runs/named.h5" --output.name=named_again
    check $n "the data's standardization (data.standardize) differs from the checkpoint's" train \
      "$deck" "${small[@]}" "${table[@]}" --data.train_file="$out/low.h5" --train.epochs=2 \
      --data.standardize=true --restart "$out/runs/named.h5" --output.name=named_again
    # --output in a directory that cannot be made: refused before the Monte-Carlo passes.
    check $n "predict: --output /proc/kbnn/p.h5: cannot create the directory /proc/kbnn: " predict \
      "$out/runs/run.h5" --output /proc/kbnn/p.h5
    check $n "prune: --output /proc/kbnn/x.h5: cannot create the directory /proc/kbnn: " prune \
      "$out/runs/run.h5" --fractions=0.5 --output /proc/kbnn/x.h5
    # A data file another program holds open for writing: HDF5's lock, and what to do.
    check $n "held.h5: .*unable to lock file, errno = 11.*another program has the file open for writing (close it), or this file system does not support file locks (then export HDF5_USE_FILE_LOCKING=FALSE)" \
      train "$deck" "${small[@]}" "${table[@]}" --data.train_file="$out/held.h5"
  else  # messages that do not depend on the rank count
    # A run file that would replace a file of no run: here the training data itself (a deck
    # and its data of one name in one folder), which must come out unharmed.
    check $n "$out/low.h5 holds a file that kbnn did not write, not a run: this run (run name 'low') would replace it" \
      train "$deck" "${small[@]:0:5}" "${table[@]}" --data.train_file="$out/low.h5" --output.dir="$out" \
      --output.name=low
    check $n "$out/predicted.h5 holds a prediction file (kbnn predict), not a run" train "$deck" \
      "${small[@]:0:5}" --output.dir="$out" --output.name=predicted
    # An empty data file (a conversion that died) and a directory where a file belongs.
    check $n "zero.h5: not an HDF5 file (it is empty)" train "$deck" "${small[@]}" "${table[@]}" \
      --data.train_file="$out/zero.h5"
    check $n "$out/runs: is a directory, expected an HDF5 data file" train "$deck" "${small[@]}" \
      "${table[@]}" --data.train_file="$out/runs"
    check $n "$out/runs: is a directory, expected a file kbnn wrote" info "$out/runs"
    check $n "$out/runs: is a directory, expected a kbnn checkpoint or run file" predict "$out/runs"
    # A relative path that is missing names the directory it was read from: a job starts in
    # the directory it was submitted from, not beside the deck.
    check $n "input deck nope.cfg: cannot open the file (does it exist?); a relative path, read from the working directory $PWD" \
      train nope.cfg
    check $n "nowhere/train.h5: no such data file; a relative path, read from the working directory $PWD" \
      train "$deck" "${small[@]}" "${table[@]}" --data.train_file=nowhere/train.h5
  fi
done
md5sum -c --quiet "$out/low.md5" || fail "a refused run changed its training data"
# kbnn predict read every input before predicting: the bad OOD set left no file behind.
[[ ! -e "$out/runs/run.predict.h5" ]] || fail "kbnn predict wrote a file before finding its OOD set missing"
echo "PASSED: $cases cases, each one message and exit 1"
