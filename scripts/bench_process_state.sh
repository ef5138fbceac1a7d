#!/usr/bin/env bash
# `canon process` against `canon run` on the lifecycle workload (state kept:
# examples/timesheets on scripts/lifecycle_gen.py --seed 12), on one core
# (taskset -c 0) and on two, best of 3 each, taken in turns; and the state's
# bytes per event. Issue 16's targets: process at >= 60% of run's events/s on
# one core, >= 75% on two. With BASE=path/to/another/canon the same figures
# for that binary too, in the same run (before/after).
#
#   scripts/bench_process_state.sh [EVENTS]     (default 100000)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
n=${1:-100000}
canon=${CANON:-target/release/canon}
[[ -x $canon ]] || cargo build --release --bin canon
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 scripts/lifecycle_gen.py --events "$n" --seed 12 --out "$tmp/lc" > /dev/null
ev="$tmp/lc/events.jsonl"
data="$tmp/lc/data"
lines=$(grep -c . "$ev")
pkg=examples/timesheets

# Seconds of "$@": wall,cpu (user + system, all threads). On a shared
# machine the CPU time is the steadier figure: compare its ratios.
secs() {
  /usr/bin/time -f "%e,%U,%S" -o "$tmp/time" "$@" > /dev/null 2>&1
  python3 -c "import sys; w, u, s = open(sys.argv[1]).read().strip().splitlines()[-1].split(','); print(f'{w},{float(u) + float(s)}')" "$tmp/time"
}
min() { python3 -c "import sys; print(min(float(x.split(',')[0]) for x in sys.argv[1:]), min(float(x.split(',')[1]) for x in sys.argv[1:]), sep=',')" "$@"; }
one=(taskset -c 0)

bins=("$canon")
[[ -n ${BASE:-} ]] && bins+=("$BASE")
declare -A r1 r2 p1 p2
size=()
for _ in 1 2 3; do
  for b in "${bins[@]}"; do
    r1[$b]+=" $(secs "${one[@]}" "$b" run $pkg --input "$ev" --data "$data" --output "$tmp/run.jsonl")"
    rm -rf "$tmp/s1"
    p1[$b]+=" $(secs "${one[@]}" "$b" process $pkg --input "$ev" --data "$data" --state "$tmp/s1" --output "$tmp/p1.jsonl")"
    r2[$b]+=" $(secs "$b" run $pkg --input "$ev" --data "$data" --output "$tmp/run2.jsonl" --threads 2)"
    rm -rf "$tmp/s2"
    p2[$b]+=" $(secs "$b" process $pkg --input "$ev" --data "$data" --state "$tmp/s2" --output "$tmp/p2.jsonl")"
    cmp -s "$tmp/run.jsonl" "$tmp/p1.jsonl" || { echo "error: $b: canon process and canon run printed different outcomes" >&2; exit 1; }
    "$b" state export --state "$tmp/s1" > "$tmp/export.jsonl"
    sqlite3 "$tmp/s1/state.db" "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
    size[${#size[@]}]="$b $(stat -c %s "$tmp/s1/state.db")"
  done
done
echo "$lines lifecycle events, best of 3 (wall)"
for b in "${bins[@]}"; do
  bytes=$(printf '%s\n' "${size[@]}" | awk -v b="$b" '$1 == b {print $2}' | tail -1)
  # shellcheck disable=SC2086
  python3 - "$b" "$lines" "$(min ${r1[$b]})" "$(min ${p1[$b]})" "$(min ${r2[$b]})" "$(min ${p2[$b]})" "$bytes" <<'PY'
import sys
b, n = sys.argv[1], int(sys.argv[2])
(r1, c_r1), (p1, c_p1), (r2, c_r2), (p2, c_p2) = ((float(y) for y in x.split(",")) for x in sys.argv[3:7])
bytes_ = int(sys.argv[7])
rate = lambda t, c: f"{n / t:>9,.0f} events/s ({t:.2f} s wall, {c:.2f} s CPU)"
print(f"{b}")
print(f"  canon run, one core:          {rate(r1, c_r1)}")
print(f"  canon process, one core:      {rate(p1, c_p1)}   process/run {r1 / p1:.0%} wall, {c_r1 / c_p1:.0%} CPU (target >= 60%)")
print(f"  canon run --threads 2:        {rate(r2, c_r2)}")
print(f"  canon process, two cores:     {rate(p2, c_p2)}   process/run {r2 / p2:.0%} wall (target >= 75%)")
print(f"  state.db (WAL checkpointed):  {bytes_:,} bytes, {bytes_ / n:,.0f} bytes/event")
PY
done
