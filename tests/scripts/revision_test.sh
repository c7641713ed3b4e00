#!/usr/bin/env bash
# The revision every output file records (cmake/KbnnRevision.cmake, run at each build):
# a checkout's short hash, "-dirty" with changes to tracked files (an untracked file is
# no change), the new hash after a commit, "unknown" outside git and in a directory
# that is not the top of its repository (a tarball unpacked inside another checkout);
# the header is not rewritten when nothing moved (no rebuild). And `kbnn --version`
# prints what this build's header says.
#   usage: revision_test.sh CMAKE KBNN HEADER
set -euo pipefail
cmake=$1 kbnn=$2 header=$3
mpiexec=: deck=
source "$(dirname "$0")/common.sh"
command -v git > /dev/null || skip "git is not installed"
script=$(cd "$(dirname "$0")/../.." && pwd)/cmake/KbnnRevision.cmake
revision_of() {  # revision_of DIR: the revision the script writes for DIR
  "$cmake" -DSOURCE_DIR="$1" -DOUTPUT="$out/rev.hpp" -P "$script"
  sed -n 's/^#define KBNN_GIT_REVISION "\(.*\)"$/\1/p' "$out/rev.hpp"
}
repo=$out/repo
mkdir -p "$repo/src"
git -C "$repo" init -q
git -C "$repo" -c user.name=t -c user.email=t@t commit -q --allow-empty -m first
echo a > "$repo/src/a.txt"
git -C "$repo" add src/a.txt
git -C "$repo" -c user.name=t -c user.email=t@t commit -q -m second
hash=$(git -C "$repo" rev-parse --short HEAD)

[[ $(revision_of "$repo") == "$hash" ]] || fail "clean checkout: $(revision_of "$repo"), expected $hash"
touch -d @1000000000 "$out/rev.hpp"
revision_of "$repo" > /dev/null
[[ $(stat -c %Y "$out/rev.hpp") == 1000000000 ]] || fail "the header was rewritten though nothing moved"
echo untracked > "$repo/new.txt"
[[ $(revision_of "$repo") == "$hash" ]] || fail "an untracked file made $(revision_of "$repo")"
echo b >> "$repo/src/a.txt"
[[ $(revision_of "$repo") == "$hash-dirty" ]] || fail "a changed file: $(revision_of "$repo"), expected $hash-dirty"
git -C "$repo" -c user.name=t -c user.email=t@t commit -q -am third
new_hash=$(git -C "$repo" rev-parse --short HEAD)
[[ $new_hash != "$hash" && $(revision_of "$repo") == "$new_hash" ]] ||
  fail "after a commit: $(revision_of "$repo"), expected $new_hash"
[[ $(revision_of "$repo/src") == unknown ]] ||
  fail "a directory inside another checkout: $(revision_of "$repo/src"), expected unknown"
mkdir "$out/plain"
[[ $(GIT_CEILING_DIRECTORIES=$out revision_of "$out/plain") == unknown ]] ||
  fail "outside git: $(revision_of "$out/plain"), expected unknown"

built=$(sed -n 's/^#define KBNN_GIT_REVISION "\(.*\)"$/\1/p' "$header")
[[ -n $built ]] || fail "$header holds no revision"
version=$("$kbnn" --version)
[[ $version == "kbnn "*" ($built)" ]] || fail "kbnn --version says '$version', the build's header $built"
echo "PASSED: $hash, $hash-dirty, $new_hash, unknown; kbnn --version: $version"
