#!/usr/bin/env bash
# tests/curand_known_answers.hpp holds exactly what tests/scripts/curand_known_answers.py
# prints (the script rechecks Random123's known-answer vectors first): the pasted
# constants cannot drift from their derivation.
#   usage: curand_answers_test.sh TESTS_DIR
set -euo pipefail
tests=$1
python=/usr/bin/python3
"$python" -c "import numpy" 2> /dev/null || { echo "SKIPPED: $python lacks numpy"; exit 77; }
printed=$("$python" "$tests/scripts/curand_known_answers.py")
pasted=$(sed -n '/^\/\/ ---- pasted from/,/^\/\/ ---- end of/p' "$tests/curand_known_answers.hpp" | sed '1d;$d')
if [[ $printed != "$pasted" ]]; then
  diff <(echo "$printed") <(echo "$pasted") || true
  echo "FAILED: tests/curand_known_answers.hpp differs from what its script prints"
  exit 1
fi
echo "PASSED: the known answers are the script's ($(grep -c . <<< "$printed") lines)"
