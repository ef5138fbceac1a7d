#!/usr/bin/env bash
# Regenerates the oracle's golden outputs that the tests compare with, or
# (with --check) fails when the committed ones differ from what the oracle
# gives now. The tests themselves need no Python: they read these files.
#
#   tests/golden/timesheets/events.jsonl   3,000 events: bench/workload/gen.py --events 3000 --seed 7
#   tests/golden/timesheets/data/          the master data gen.py writes beside them
#   tests/golden/timesheets/expected.jsonl the outcome lines of bench/workload/reference.py
#
# Usage: scripts/golden.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=tests/golden/timesheets
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 bench/workload/gen.py --events 3000 --seed 7 --out "$tmp/ts"
python3 bench/workload/reference.py "$tmp/ts" > "$tmp/ts/expected.jsonl"
if [ "${1:-}" = "--check" ]; then
  diff -r "$tmp/ts" "$dir" > /dev/null || { echo "golden outputs in $dir are stale: run scripts/golden.sh" >&2; diff -r "$tmp/ts" "$dir" | head -20 >&2; exit 1; }
  echo "golden outputs in $dir match the oracle"
else
  rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && cp -r "$tmp/ts" "$dir"
  echo "wrote $dir"
fi
