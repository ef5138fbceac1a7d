#!/usr/bin/env bash
# Regenerates the oracle's golden outputs that the tests compare with, or
# (with --check) fails when the committed ones differ from what the oracle
# gives now. The tests themselves need no Python: they read these files.
#
#   tests/golden/timesheets/events.jsonl   3,000 events: bench/workload/gen.py --events 3000 --seed 7
#   tests/golden/timesheets/data/          the master data gen.py writes beside them
#   tests/golden/timesheets/expected.jsonl the outcome lines of bench/workload/reference.py
#   tests/golden/lifecycle/                3,000 lifecycle events and data
#                                          (scripts/lifecycle_gen.py --events 3000 --seed 7), and
#                                          scripts/lifecycle_reference.py's expected.jsonl,
#                                          state.jsonl and metrics.json (--as-of in its README.md)
#
# Usage: scripts/golden.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 bench/workload/gen.py --events 3000 --seed 7 --out "$tmp/timesheets"
python3 bench/workload/reference.py "$tmp/timesheets" > "$tmp/timesheets/expected.jsonl"
as_of=2026-12-01T00:00:00Z
python3 scripts/lifecycle_gen.py --events 3000 --seed 7 --out "$tmp/lifecycle"
python3 scripts/lifecycle_reference.py "$tmp/lifecycle" --state-out "$tmp/lifecycle/state.jsonl" \
  --metrics "$tmp/lifecycle/metrics.json" --as-of "$as_of" > "$tmp/lifecycle/expected.jsonl"
stale=0
for name in timesheets lifecycle; do
  dir=tests/golden/$name
  if [ "${1:-}" = "--check" ]; then
    if diff -r -x README.md "$tmp/$name" "$dir" > /dev/null; then
      echo "golden outputs in $dir match the oracle"
    else
      echo "golden outputs in $dir are stale: run scripts/golden.sh" >&2
      diff -r -x README.md "$tmp/$name" "$dir" | head -20 | cut -c1-200 >&2 || true
      stale=1
    fi
  else
    mkdir -p "$dir"
    find "$dir" -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
    cp -r "$tmp/$name/." "$dir/"
    echo "wrote $dir"
  fi
done
exit $stale
