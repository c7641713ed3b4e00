#!/usr/bin/env bash
# Sourced by every bench script right after `set -euo pipefail`, before it does
# anything: -h or --help among its arguments prints the comment block at the top of the
# script (its usage, defaults and environment) and exits 0. The scripts read their
# arguments by position, so "--help" would otherwise be taken for an epoch count or a
# kbnn binary and start a run.
#   usage: source "$(dirname "$0")/help.sh"
for arg in "$@"; do
  case $arg in
    -h | --help) sed -n '2,${/^#/!q;s/^# \{0,1\}//p}' "$0"; exit 0 ;;
  esac
done
