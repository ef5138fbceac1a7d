#!/usr/bin/env bash
# End-to-end speed of `canon run` against the hand-written Rust baseline
# (bench/baseline, issue 3), taken in the same run on the same events: the
# machines are shared and noisy, so compare the ratios, not absolute times.
#
#   scripts/bench_baseline.sh [EVENTS]     (default 200000)
#
# Each figure is the best wall time of 3 runs pinned to one core
# (`taskset -c 0`), JSONL file in, outcomes file out. Before timing, the
# outcomes of every program are compared byte for byte with the baseline's.
# CANON=... and BASELINE=... override the binaries.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
shared=$root
n=${1:-200000}
canon=${CANON:-target/release/canon}
baseline=${BASELINE:-target/release/timesheet-baseline}
if [[ ! -x $canon || ! -x $baseline ]]; then
  cargo build --release -p canon --bin canon -p canon-baseline --bin timesheet-baseline
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

best() { # best wall time in seconds of 3 runs of "$@"
  local b=
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N)
    b=$(python3 -c "t=$e-$s; b='$b'; print(t if not b or t < float(b) else b)")
  done
  echo "$b"
}

python3 "$shared/bench/workload/gen.py" --events "$n" --out "$tmp/ts" > /dev/null
events=$tmp/ts/events.jsonl
data=$tmp/ts/data
run_baseline() { taskset -c 0 "$baseline" "$data" "$events" "$1"; }
run_canon() { taskset -c 0 "$canon" run examples/timesheets --input "$events" --data "$data" --engine "$1" --output "$2"; }

# Same outcomes first: a fast wrong answer is no baseline.
run_baseline "$tmp/baseline.jsonl"
for engine in interp jit; do
  run_canon "$engine" "$tmp/$engine.jsonl"
  if ! cmp -s "$tmp/baseline.jsonl" "$tmp/$engine.jsonl"; then
    echo "error: canon --engine $engine and the baseline print different outcomes:" >&2
    cmp "$tmp/baseline.jsonl" "$tmp/$engine.jsonl" >&2 || true
    exit 1
  fi
done

base_t=$(best run_baseline "$tmp/out.jsonl")
interp_t=$(best run_canon interp "$tmp/out.jsonl")
jit_t=$(best run_canon jit "$tmp/out.jsonl")
python3 - "$n" "$base_t" "$interp_t" "$jit_t" <<'PY'
import sys
n, base, interp, jit = int(sys.argv[1]), *map(float, sys.argv[2:])
print(f"{n:,} events, identical outcomes; best of 3, one core (taskset -c 0)")
print(f"hand-written Rust baseline: {n/base:>10,.0f} events/s ({base:.3f} s)")
print(f"canon run --engine interp:  {n/interp:>10,.0f} events/s ({interp:.3f} s)")
print(f"canon run --engine jit:     {n/jit:>10,.0f} events/s ({jit:.3f} s)")
print(f"ratio canon/baseline, interp: {base/interp:.2f}x")
print(f"ratio canon/baseline, jit:    {base/jit:.2f}x   (issue 3 target for canon run: >= 0.5x)")
PY
