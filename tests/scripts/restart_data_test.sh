#!/usr/bin/env bash
# What a run trained on: the CRC-32s of its training rows (data/data_checksum.hpp).
#  - kbnn info prints them, and they are zlib's CRC-32s, computed here by Python from the
#    IDX files, of the first 600 Fashion-MNIST training images' bytes and of their labels
#    as int32;
#  - the run file's train_checksum is the same on 1 rank and on 2 and 3 ranks with
#    data.shuffle = local (each rank then checksums its own partition);
#  - a restart on the same data copied elsewhere goes on; one on other data of the same
#    size and shape (the test images standing in for the training images) is refused,
#    naming both checksums, and with --restart-force goes on with a warning.
#   usage: restart_data_test.sh MPIEXEC KBNN DECK
set -euo pipefail
mpiexec=$1 kbnn=$2 deck=$3
source "$(dirname "$0")/common.sh"
python=/usr/bin/python3
"$python" -c "import h5py" 2> /dev/null || skip "$python lacks h5py (apt-get install python3-h5py)"

args=(--data.train_limit=600 --data.test_limit=100 --train.batch_size=100 --train.epochs=2 --train.log_every=3
      --eval.samples=1 --output.write_predictions=false --output.dir="$out/runs")
train() { local ranks=$1; shift; run_mpi -n "$ranks" "$kbnn" train "$deck" "${args[@]}" "$@"; }
checksum_of() {  # the run file's root attribute train_checksum, as 16 hex digits
  "$python" -c "import h5py, sys; print('%016x' % int(h5py.File(sys.argv[1], 'r').attrs['train_checksum']))" "$1"
}

train 1 --train.max_steps=6 --output.checkpoint_every=6 --output.name=first > "$out/first.log" ||
  { cat "$out/first.log"; fail "the first run failed"; }

# The known answer: Python's zlib over the IDX files' first 600 images and labels.
expected=$("$python" - "$data_dir" <<'PYEOF'
import gzip, os, sys, zlib
import numpy as np
def read(name, header):
    path = os.path.join(sys.argv[1], name)
    opener = gzip.open if os.path.exists(path + ".gz") else open
    with opener(path + ".gz" if os.path.exists(path + ".gz") else path, "rb") as f:
        return f.read()[header:]
images = read("train-images-idx3-ubyte", 16)[:600 * 784]
labels = np.frombuffer(read("train-labels-idx1-ubyte", 8)[:600], np.uint8).astype("<i4").tobytes()
print("%08x%08x" % (zlib.crc32(images), zlib.crc32(labels)))
PYEOF
)
[[ $(checksum_of "$out/runs/first.h5") == "$expected" ]] ||
  fail "train_checksum $(checksum_of "$out/runs/first.h5"), Python's zlib gives $expected"
"$kbnn" info "$out/runs/first.h5" > "$out/info.txt"
grep -q "^  trained on: $data_dir, 600 examples, CRC-32s features ${expected:0:8}, labels ${expected:8:8}$" \
  "$out/info.txt" || { cat "$out/info.txt"; fail "kbnn info does not print the training data's CRC-32s"; }
"$kbnn" info "$out/runs/first.checkpoint.h5" | grep -q "trained on: 600 examples, CRC-32s features ${expected:0:8}" ||
  fail "kbnn info of the checkpoint does not print its CRC-32s"

# Any rank count, either shuffle: the same number.
for ranks in 2 3; do
  train "$ranks" --train.max_steps=1 --data.shuffle=local --output.name="local_$ranks" > /dev/null ||
    fail "the $ranks-rank run with data.shuffle = local failed"
  [[ $(checksum_of "$out/runs/local_$ranks.h5") == "$expected" ]] ||
    fail "$ranks ranks, data.shuffle = local: train_checksum $(checksum_of "$out/runs/local_$ranks.h5"), expected $expected"
done

# The same data elsewhere (copied to scratch): the restart goes on.
cp -r "$data_dir" "$out/copy"
train 2 --data.dir="$out/copy" --restart "$out/runs/first.checkpoint.h5" --output.name=moved \
  > "$out/moved.log" 2>&1 || { cat "$out/moved.log"; fail "a restart on the same data copied elsewhere failed"; }

# Other data of the same size and shape: refused, naming both checksums and the way on.
mkdir "$out/other"
for kind in images-idx3 labels-idx1; do
  cp "$data_dir"/t10k-$kind-ubyte* "$out/other/"
  for file in "$data_dir"/t10k-$kind-ubyte*; do cp "$file" "$out/other/train-${file##*/t10k-}"; done
done
rc=0
train 2 --data.dir="$out/other" --restart "$out/runs/first.checkpoint.h5" --output.name=other \
  > /dev/null 2> "$out/other.err" || rc=$?
((rc == 1)) || fail "a restart on other data exited $rc, expected 1: $(cat "$out/other.err")"
grep -q "^kbnn: error: the training data in $out/other is not what the checkpoint $out/runs/first.checkpoint.h5 was trained on: its 600 training rows have the CRC-32s features [0-9a-f]\{8\}, labels [0-9a-f]\{8\}, the checkpoint's had features ${expected:0:8}, labels ${expected:8:8}\. To train this model further on the new data, start a new run from it: model.init_from = .* (--restart-force continues anyway)$" \
  "$out/other.err" || fail "the refusal does not name both checksums: $(cat "$out/other.err")"
train 2 --data.dir="$out/other" --restart "$out/runs/first.checkpoint.h5" --restart-force \
  --output.name=forced > "$out/forced.log" 2>&1 || { cat "$out/forced.log"; fail "--restart-force on other data failed"; }
grep -q "^warning: --restart-force: the training data in .* is not what the checkpoint" "$out/forced.log" ||
  fail "--restart-force on other data logged no warning: $(cat "$out/forced.log")"
echo "PASSED"
