#!/usr/bin/env bash
# The benchmark of issue 14, item 4: `canon diff` over EVENTS timesheet
# events against one `canon run` of the same events, measured in the same
# run, in turns (the machines are shared and noisy: compare the ratio).
# Every figure is the best of 3 wall times, one process each.
#
#   scripts/bench_diff.sh [EVENTS]     (default 100000)
#
# The new package is examples/timesheets with one bill rate changed (the
# Associate catch-all, 160.00 → 165.00 USD), so some postings change;
# `canon diff` runs with its defaults (JIT, text report) and `--by entity`.
# Target: diff <= 2.5x run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
n=${1:-100000}
canon=${CANON:-target/release/canon}
[[ -x $canon ]] || cargo build --release --bin canon
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

secs() { # wall seconds of "$@", its stdout to $out
  local s e
  s=$(date +%s.%N); "$@" > "$out" 2>/dev/null; e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
min() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }

python3 bench/workload/gen.py --events "$n" --out "$tmp/ts" > /dev/null
cp -r examples/timesheets "$tmp/new"
row='| Associate | -      | -         || 160.00 USD |'
grep -qF "$row" "$tmp/new/rates.canon" || { echo "error: the rate card changed; update $0" >&2; exit 1; }
sed -i "s/| Associate | -      | -         || 160.00 USD |/| Associate | -      | -         || 165.00 USD |/" "$tmp/new/rates.canon"

runs=() diffs=()
for _ in 1 2 3; do
  out=$tmp/run.jsonl
  runs+=("$(secs "$canon" run examples/timesheets --input "$tmp/ts/events.jsonl" --data "$tmp/ts/data")")
  out=$tmp/diff.txt
  diffs+=("$(secs "$canon" diff examples/timesheets "$tmp/new" --events "$tmp/ts/events.jsonl" --data "$tmp/ts/data" --by entity)")
done
r=$(min "${runs[@]}") d=$(min "${diffs[@]}")
changed=$(grep -c '^line ' "$tmp/diff.txt" || true)
python3 - "$n" "$r" "$d" "$changed" <<'PY'
import sys
n, run, diff, changed = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"canon run  (JIT, {n:,} events):            {run:.2f} s ({n/run:,.0f} events/s)")
print(f"canon diff (JIT, both versions, --by entity): {diff:.2f} s ({changed:,} events changed)")
print(f"ratio diff/run: {diff/run:.2f}x   (target: <= 2.5x)")
PY
