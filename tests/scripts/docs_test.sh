#!/usr/bin/env bash
# Small things a new user meets first: every code block of the Markdown documents is
# closed (an open one turns the rest of the page into code), and the helper scripts
# answer --help without side effects (get_ood_data.sh made a folder named --help).
#   usage: docs_test.sh SOURCE_DIR
set -euo pipefail
source_dir=$1
fail() { echo "FAILED: $*"; exit 1; }
for doc in "$source_dir"/README.md "$source_dir"/docs/*.md "$source_dir"/bench/README.md; do
  [[ -f $doc ]] || continue
  fences=$(grep -c '^ *```' "$doc" || true)
  ((fences % 2 == 0)) || fail "$doc: $fences code fences, one is not closed"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for flag in --help -h; do
  "$source_dir/scripts/get_ood_data.sh" "$flag" > out 2>&1 || fail "get_ood_data.sh $flag exited $?"
  grep -q "^scripts/get_ood_data.sh \[DIR\]" out || fail "get_ood_data.sh $flag printed no usage: $(cat out)"
done
rc=0
"$source_dir/scripts/get_ood_data.sh" --frobnicate > out 2>&1 || rc=$?
((rc == 2)) || fail "get_ood_data.sh --frobnicate exited $rc, expected 2"
[[ $(ls) == out ]] || fail "the scripts left files behind: $(ls)"
echo "PASSED"
