#!/usr/bin/env bash
# Benchmarks of issue 12 (state across events), each against a baseline
# measured in the same run (the machines are shared and noisy: compare the
# ratios). Every figure is the best of 3 runs, taken in turns.
#
#   scripts/bench_state.sh [EVENTS] [KEYS]     (defaults 100000 and 1000000)
#
# 1. `canon run` (JIT) of examples/timesheets on the lifecycle workload
#    (scripts/lifecycle_gen.py), against `canon run` of the stateless
#    timesheet package (the example as it was before it kept state: its
#    types, rate cards and approval handler) on the approval stream of
#    ../shared/bench. Target: >= 70% of the stateless events/s.
# 2. The same with `canon process` (durable). Target: >= 80%.
# 3. Memory: the peak RSS of `canon run` of examples/timesheets on KEYS
#    approvals (each accepted one keeps a timesheet and a journal line),
#    against the stateless package on the same events; the difference per
#    timesheet kept is the cost of a live key.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
n=${1:-100000}
keys=${2:-1000000}
canon=${CANON:-target/release/canon}
[[ -x $canon ]] || cargo build --release --bin canon
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The stateless package: the example before issue 12 (commit f2a4086).
mkdir -p "$tmp/stateless/data"
for f in types.canon rates.canon posting.canon; do
  git show "f2a4086:examples/timesheets/$f" > "$tmp/stateless/$f"
done
cp examples/timesheets/data/* "$tmp/stateless/data/"

secs() { # wall seconds of "$@"
  local s e
  s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
min() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }

python3 bench/workload/gen.py --events "$n" --out "$tmp/ts" > /dev/null
python3 scripts/lifecycle_gen.py --events "$n" --seed 12 --out "$tmp/lc" > /dev/null
lines_lc=$(grep -c . "$tmp/lc/events.jsonl")

run0=() run1=() proc0=() proc1=()
for _ in 1 2 3; do
  run0+=("$(secs "$canon" run "$tmp/stateless" --input "$tmp/ts/events.jsonl" --data "$tmp/ts/data" --output "$tmp/o0.jsonl")")
  run1+=("$(secs "$canon" run examples/timesheets --input "$tmp/lc/events.jsonl" --data "$tmp/lc/data" --output "$tmp/o1.jsonl")")
  rm -rf "$tmp/s0" "$tmp/s1"
  proc0+=("$(secs "$canon" process "$tmp/stateless" --input "$tmp/ts/events.jsonl" --data "$tmp/ts/data" --state "$tmp/s0" --output "$tmp/p0.jsonl")")
  proc1+=("$(secs "$canon" process examples/timesheets --input "$tmp/lc/events.jsonl" --data "$tmp/lc/data" --state "$tmp/s1" --output "$tmp/p1.jsonl")")
done
cmp -s "$tmp/o1.jsonl" "$tmp/p1.jsonl" || { echo "error: canon process and canon run printed different outcomes" >&2; exit 1; }
r0=$(min "${run0[@]}") r1=$(min "${run1[@]}") p0=$(min "${proc0[@]}") p1=$(min "${proc1[@]}")

python3 bench/workload/gen.py --events "$keys" --out "$tmp/keys" > /dev/null
rss() { # peak resident KB of "$@"
  /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -n 1
}
m0=$(rss "$canon" run "$tmp/stateless" --input "$tmp/keys/events.jsonl" --data "$tmp/keys/data" --output /dev/null)
m1=$(rss "$canon" run examples/timesheets --input "$tmp/keys/events.jsonl" --data "$tmp/keys/data" --output /dev/null --state-out "$tmp/keys.state")
kept=$(grep -c '"state":"timesheets"' "$tmp/keys.state")
half=$((keys / 2))
head -n "$half" "$tmp/keys/events.jsonl" > "$tmp/half.jsonl"
mh=$(rss "$canon" run examples/timesheets --input "$tmp/half.jsonl" --data "$tmp/keys/data" --output /dev/null --state-out "$tmp/half.state")
kept_half=$(grep -c '"state":"timesheets"' "$tmp/half.state")

python3 - "$n" "$lines_lc" "$r0" "$r1" "$p0" "$p1" "$m0" "$m1" "$kept" "$mh" "$kept_half" <<'PY'
import sys
n, lc, r0, r1, p0, p1 = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:7])
m0, m1, kept, mh, kept_half = (int(x) for x in sys.argv[7:12])
s0, s1, q0, q1 = n / r0, lc / r1, n / p0, lc / p1
print(f"canon run, stateless approvals:      {s0:>10,.0f} events/s ({r0:.2f} s, {n:,} events)")
print(f"canon run, lifecycle with state:     {s1:>10,.0f} events/s ({r1:.2f} s, {lc:,} events)")
print(f"  ratio {s1 / s0:.2f}   (target >= 0.70)")
print(f"canon process, stateless approvals:  {q0:>10,.0f} events/s ({p0:.2f} s)")
print(f"canon process, lifecycle with state: {q1:>10,.0f} events/s ({p1:.2f} s)")
print(f"  ratio {q1 / q0:.2f}   (target >= 0.80)")
print(f"memory, {kept:,} timesheets kept (and their journal lines): peak {m1 / 1024:,.0f} MB, stateless {m0 / 1024:,.0f} MB")
print(f"  {(m1 - m0) * 1024 / kept:,.0f} bytes per timesheet kept; at {kept_half:,} kept: {(mh - m0) * 1024 / kept_half:,.0f} bytes each")
PY
