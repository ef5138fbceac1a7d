#!/usr/bin/env bash
# Benchmarks of issue #2, with ratios taken in the same run (the machines are
# shared and noisy: compare ratios, not absolute times).
#
#   scripts/bench.sh [EVENTS]     (default 200000)
#
# 1. `canon run --engine interp` on the timesheet workload (JSONL file in,
#    outcomes file out, one core) against the Python oracle on the same events.
# 2. `canon check` on a generated 10,000-line package.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
shared=$root
n=${1:-200000}
canon=${CANON:-target/release/canon}
[[ -x $canon ]] || cargo build --release --bin canon
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

python3 "$shared/bench/workload/gen.py" --events "$n" --out "$tmp/ts"
run_t=$(best taskset -c 0 "$canon" run examples/timesheets --input "$tmp/ts/events.jsonl" --data "$tmp/ts/data" --engine interp --output "$tmp/out.jsonl")
ref_t=$(best taskset -c 0 python3 "$shared/bench/workload/reference.py" "$tmp/ts")
python3 - "$n" "$run_t" "$ref_t" <<'PY'
import sys
n, run, ref = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"canon run --engine interp: {n/run:,.0f} events/s ({run:.2f} s for {n:,} events)")
print(f"python oracle:             {n/ref:,.0f} events/s ({ref:.2f} s)")
print(f"ratio canon/oracle:        {ref/run:.2f}x   (target: >= 150,000 events/s, about 2.5x)")
PY

python3 scripts/gen_package.py 10000 "$tmp/big"
lines=$(cat "$tmp"/big/*.canon | wc -l)
check_t=$(best "$canon" check "$tmp/big")
python3 -c "print(f'canon check on a {$lines}-line package: {$check_t*1000:.0f} ms (target: < 500 ms)')"
