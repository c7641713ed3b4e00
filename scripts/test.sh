#!/usr/bin/env bash
# README's test command: installs what is missing (Debian 12, as root), builds, and
# runs every test through ctest (unit tests, and MPI tests under mpiexec), then lists
# the tests that were skipped (a missing optional tool or data set) with their reasons.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh"
source "$root/scripts/env.sh"
"$root/scripts/build.sh"
cd "${KBNN_BUILD_DIR:-$root/build}"
status=0
ctest --output-on-failure --timeout 600 "$@" | tee ctest_summary.txt || status=$?

# The tests that did not run, and why. A test that lacks an optional tool or data set
# exits 77 (ctest: "Skipped") after a line "SKIPPED: <reason>" (tests/catch.hpp,
# tests/scripts/common.sh); ctest keeps each test's output in LastTest.log.
mapfile -t skipped < <(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' ctest_summary.txt)
mapfile -t not_run < <(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Not Run)$/\1/p' ctest_summary.txt)
if ((${#skipped[@]} + ${#not_run[@]} > 0)); then
  echo "${#skipped[@]} test(s) skipped, ${#not_run[@]} not run:"
  for name in "${skipped[@]}"; do
    reason=$(awk -v test="$name" '
      $0 ~ /^[0-9]+\/[0-9]+ Test: / { on = (substr($0, index($0, "Test: ") + 6) == test); next }
      on && /^<end of output>/ { on = 0 }
      on && /^SKIPPED: / { sub(/^SKIPPED: /, ""); print }' Testing/Temporary/LastTest.log |
      paste -sd ';' -)
    echo "  SKIPPED $name: ${reason:-no reason printed}"
  done
  for name in "${not_run[@]}"; do echo "  NOT RUN $name (ctest could not start it: see above)"; done
fi
exit "$status"
