#!/usr/bin/env bash
# Configures and builds kbnn in build/ (or $KBNN_BUILD_DIR), Release, with Ninja.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KBNN_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${KBNN_CMAKE_ARGS:-}
cmake --build "$build" --parallel "$(nproc)"
