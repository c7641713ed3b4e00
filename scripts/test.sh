#!/usr/bin/env bash
# README's test command: installs what is missing (Debian 12, as root), builds, and
# runs every test through ctest (unit tests, and MPI tests under mpiexec).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh"
source "$root/scripts/env.sh"
"$root/scripts/build.sh"
cd "${KBNN_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 600 "$@"
