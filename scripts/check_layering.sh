#!/usr/bin/env bash
# The include arrows point one way: core <- layers <- model <- train <- app (with io,
# parallel and uq in kbnn_lib). Fails, listing the offending lines, if
#   - anything outside src/app/ includes an app/ header (the library must not know
#     about decks, Boost or the command line), or
#   - src/core/ includes anything but core/ headers.
set -u
src=$(cd "$(dirname "$0")/../src" && pwd)
cd "$src" || exit 1
bad=$(grep -rn '#include "app/' --include='*.hpp' --include='*.cpp' . | grep -v '^\./app/')
bad+=$(grep -rn '#include "' --include='*.hpp' --include='*.cpp' core | grep -v '#include "core/')
if [[ -n "$bad" ]]; then
  echo "include arrows point the wrong way:"
  echo "$bad"
  exit 1
fi
echo "layering: OK"
