#!/usr/bin/env bash
# The benchmark of large decision tables (docs/performance.md, "Performance:
# large decision tables"): rate cards of 1,000, 10,000 and 100,000 rows
# (scripts/gen_decision.py: client Text, role enum, region Text, effective
# Date range, hours ranges; `hit first` and `hit collect` over the same
# rows), EVENTS events each, through the interpreter and the JIT, on one
# core (taskset -c 0), best of 3. Prints events/s, the JIT's compile time
# and the peak memory its compilation adds, and each engine's spread of
# events/s over the sizes (target: within 2x). BEFORE=1 also runs the
# row-by-row readings (index off: today's interpreter scan and the JIT's
# code per row) up to 10,000 rows. Every engine's outcomes are compared
# with the row-by-row interpreter's on the first 200 events of each size.
#
# COMPUTED=1 generates the cards with computed outputs (every rate written
# `hours * <rate>`: scripts/gen_decision.py --computed).
#
#   scripts/bench_decision.sh [EVENTS]        (default 20000; SIZES="1000 10000 100000")
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
n=${1:-20000}
sizes=${SIZES:-"1000 10000 100000"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dirs=""
for s in $sizes; do
  mkdir -p "$tmp/r$s"
  python3 scripts/gen_decision.py "$s" "$tmp/r$s" "$n" ${COMPUTED:+--computed}
  dirs="$dirs:$tmp/r$s"
done
cargo bench -p canon-jit --bench decision --no-run
DECISION_DIRS="$dirs" taskset -c 0 cargo bench -p canon-jit --bench decision
