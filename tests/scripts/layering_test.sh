#!/usr/bin/env bash
# scripts/check_layering.sh passes on the source tree, and fails, naming the file and
# line, on a copy with an upward include planted (one per kind: a later folder, app/
# from the library, and a folder outside the order).
# Usage: layering_test.sh CHECK_SCRIPT SRC_DIR
set -euo pipefail
check=$1 src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

"$check" "$src" || fail "the source tree breaks the layering"

# expect_violation FILE LINE_TEXT PATTERN: plant LINE_TEXT at the end of FILE in a fresh
# copy; the check must fail with a message matching PATTERN.
expect_violation() {
  rm -rf "$out/src" && cp -r "$src" "$out/src"
  echo "$2" >>"$out/src/$1"
  local line
  line=$(wc -l <"$out/src/$1")
  if "$check" "$out/src" >"$out/log" 2>&1; then
    fail "a planted '$2' in $1 passed the check"
  fi
  grep -q "$1:$line: $3" "$out/log" || { cat "$out/log"; fail "the message does not name $1:$line ($3)"; }
  echo "caught: $1:$line: $2"
}
expect_violation data/dataset.hpp '#include "output/run_file.hpp"' "data/ includes output/"
expect_violation core/types.hpp '#include "parallel/communicator.hpp"' "core/ includes parallel/"
expect_violation uq/ood.cpp '#include "app/deck.hpp"' "uq/ includes app/"
expect_violation h5/rows.hpp '#include "io/dataset.hpp"' "includes io/, a folder not in the layering order"
echo "PASSED"
