#!/usr/bin/env bash
# Installs kbnn's build and run dependencies on Debian 12 (as root). Quick when they
# are already there: only missing packages are fetched.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtrilinos-kokkos-dev libtrilinos-kokkos-kernels-dev libopenblas-dev
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libboost-program-options-dev catch2 zlib1g-dev
  dataset-fashion-mnist
  python3-h5py python3-numpy python3-yaml python3-matplotlib
  python3-torch python3-sklearn
  slurm-wlm munge shellcheck
)
# python3-torch: the PyTorch replay test (tests/scripts/torch_replay.py) and the
# benchmark peers (bench/peer_torch_flipout.py, bench/peer_torch_regression.py).
# python3-sklearn: the diabetes regression data (scripts/diabetes_to_h5.py).

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install_deps: missing packages: ${missing[*]}" >&2
  echo "install_deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
