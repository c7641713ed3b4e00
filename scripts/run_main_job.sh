#!/usr/bin/env bash
# README's main job: installs what is missing (Debian 12, as root), builds, trains the
# default deck (Flipout LeNet-5 on Fashion-MNIST) on 2 MPI ranks ($KBNN_RANKS), writes
# the run file (fashion_mnist_lenet5.h5) and prints the test metrics.
# Extra arguments go to `kbnn train`, e.g. --train.epochs=5. Each run of this script
# replaces the run file of the one before (output.overwrite = true), so that it stays
# idempotent: kbnn itself refuses to replace a finished run's file without it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh"
source "$root/scripts/env.sh"
"$root/scripts/build.sh"
cd "$root"
flags=()
mpiexec --version 2>/dev/null | grep -q "Open MPI" && flags+=(--oversubscribe)
mpiexec "${flags[@]}" -n "${KBNN_RANKS:-2}" \
  "${KBNN_BUILD_DIR:-$root/build}/src/kbnn" train input/fashion_mnist_lenet5.cfg \
  --output.overwrite=true "$@"
