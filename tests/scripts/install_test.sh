#!/usr/bin/env bash
# `cmake --install` into a scratch prefix, then a project outside kbnn
# (tests/install_consumer) finds it with find_package(kbnn), builds against kbnn::lib
# and runs on 2 ranks. Also checks what was installed: the program, headers under
# include/kbnn/ (none of app/), the CMake package, and no Boost in it.
#   usage: install_test.sh MPIEXEC BUILD_DIR CONSUMER_SOURCE GENERATOR CXX BUILD_TYPE
# The build's CMAKE_PREFIX_PATH (a Kokkos 4 install, say) comes in the environment.
set -euo pipefail
mpiexec=$1 build=$2 consumer=$3 generator=$4 cxx=$5 build_type=$6
source "$(dirname "$0")/common.sh"
prefix=$out/prefix

cmake --install "$build" --prefix "$prefix" > "$out/install.log" || {
  cat "$out/install.log"; fail "cmake --install failed"; }
"$prefix/bin/kbnn" --version || fail "the installed kbnn does not run"
[[ -f $prefix/include/kbnn/core/types.hpp && -f $prefix/include/kbnn/output/run_file.hpp ]] ||
  fail "headers are not under include/kbnn/"
[[ ! -e $prefix/include/kbnn/app ]] || fail "app/ headers were installed"
package=$(echo "$prefix"/lib*/cmake/kbnn)
for f in kbnnConfig.cmake kbnnConfigVersion.cmake kbnnTargets.cmake KbnnKokkos.cmake KbnnHdf5.cmake; do
  [[ -f $package/$f ]] || fail "$package/$f is missing"
done
grep -qi boost "$package"/kbnnTargets*.cmake && fail "Boost is in the exported targets"

cmake -S "$consumer" -B "$out/build" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE="$build_type" -DCMAKE_PREFIX_PATH="$prefix" > "$out/configure.log" 2>&1 || {
  cat "$out/configure.log"; fail "the consumer does not configure"; }
grep -q "CMake Warning" "$out/configure.log" && { cat "$out/configure.log"; fail "warnings"; }
cmake --build "$out/build" > "$out/build.log" 2>&1 || {
  cat "$out/build.log"; fail "the consumer does not build"; }
status=0
run_mpi -n 2 "$out/build/kbnn_consumer" > "$out/run.log" 2>&1 || status=$?
cat "$out/run.log"
((status == 0)) || fail "the consumer exited with $status"
grep -q "consumer on 2 ranks: ok" "$out/run.log" || fail "the consumer did not report ok"
echo "PASSED"
