#!/usr/bin/env bash
# The include arrows point one way, along the order the data flows (docs/design.md,
# "Layers of the code"):
#
#   core <- parallel <- h5 <- data <- layers <- model <- train <- uq <- output <- app
#
# A file in one folder may include headers of its own folder and of folders before it,
# never of a later one. Fails, naming every offending file and line, on an include of a
# later folder or of a folder that is not in the order.
#
# Usage: check_layering.sh [SRC_DIR]   (default: the checkout's src/)
set -euo pipefail
order=(core parallel h5 data layers model train uq output app)
src=${1:-$(cd "$(dirname "$0")/../src" && pwd)}
cd "$src"

declare -A rank
for i in "${!order[@]}"; do rank[${order[$i]}]=$i; done

bad=()
while IFS= read -r -d '' file; do
  folder=${file%%/*}
  if [[ -z ${rank[$folder]+set} ]]; then
    bad+=("$file: folder '$folder' is not in the layering order (${order[*]})")
    continue
  fi
  line_no=0
  while IFS= read -r line; do
    line_no=$((line_no + 1))
    [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]+\"([a-z_0-9]+)/ ]] || continue
    target=${BASH_REMATCH[1]}
    if [[ -z ${rank[$target]+set} ]]; then
      bad+=("$file:$line_no: includes $target/, a folder not in the layering order")
    elif ((rank[$target] > rank[$folder])); then
      bad+=("$file:$line_no: $folder/ includes $target/, which comes later: $line")
    fi
  done <"$file"
done < <(find . -mindepth 2 \( -name '*.hpp' -o -name '*.cpp' \) -printf '%P\0' | sort -z)

if ((${#bad[@]} > 0)); then
  echo "include arrows point the wrong way (order: ${order[*]}):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "layering: OK (${order[*]})"
