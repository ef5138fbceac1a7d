#!/usr/bin/env bash
# Benchmark of issue 16's "large decision tables", compile-time side: `canon
# check` (the §5.2 analysis: completeness, overlaps, covered rows, date gaps)
# of a package with one rate card of 1,000, 10,000 and 100,000 rows
# (scripts/gen_decision_check.py), for `hit first`, `unique`, `any` and
# `collect`. Release build; best of RUNS (default 3) wall seconds.
#
#   scripts/bench_decision_check.sh [RUNS] [SIZES]
#
# BASE=path/to/an/older/canon also times that binary in the same run (sizes
# where it takes longer than LIMIT seconds, default 60, are cut off) and
# prints the ratio; CALLGRIND=1 adds instruction counts (10,000 rows).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${1:-3}
sizes=${2:-"1000 10000 100000"}
canon=${CANON:-target/release/canon}
base=${BASE:-}
limit=${LIMIT:-60}
[[ -x $canon ]] || cargo build --release --bin canon
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Best wall seconds of RUNS runs of "$@" (or "timeout" past LIMIT).
best() {
  python3 - "$runs" "$limit" "$@" <<'PY'
import subprocess, sys, time
runs, limit, cmd = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
best = None
for _ in range(runs):
    t = time.perf_counter()
    try:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=limit)
    except subprocess.TimeoutExpired:
        print(f"> {limit:.0f}")
        sys.exit(0)
    e = time.perf_counter() - t
    best = e if best is None else min(best, e)
print(f"{best:.3f}")
PY
}

printf '%-8s %8s %10s' hit rows "check s"
[[ -n $base ]] && printf ' %10s %8s' "base s" "base/new"
printf '  %s\n' diagnostics
for hit in first unique any collect; do
  for n in $sizes; do
    dir="$tmp/$hit-$n"
    python3 scripts/gen_decision_check.py "$n" "$dir" --hit "$hit"
    t=$(best "$canon" check "$dir")
    summary=$("$canon" check "$dir" 2>&1 | tail -n 1 || true)
    printf '%-8s %8s %10s' "$hit" "$n" "$t"
    if [[ -n $base ]]; then
      b=$(best "$base" check "$dir")
      ratio=$(python3 -c "import sys; b,t=sys.argv[1:]; print('-' if b.startswith('>') else f'{float(b)/float(t):.1f}x')" "$b" "$t")
      printf ' %10s %8s' "$b" "$ratio"
    fi
    printf '  %s\n' "$summary"
  done
done
# The variants that give each diagnostic, 10,000 rows.
for v in "first gap" "first shadow" "unique overlap" "any conflict" "unique dategap"; do
  set -- $v
  dir="$tmp/$1-$2"
  python3 scripts/gen_decision_check.py 10000 "$dir" --hit "$1" --variant "$2"
  t=$(best "$canon" check "$dir")
  code=$("$canon" check "$dir" 2>&1 | grep -oE '^(E|W)[0-9]{4}' | sort | uniq -c | tr -s ' ' | tr '\n' ';' || true)
  printf '%-8s %8s %10s' "$1/$2" 10000 "$t"
  if [[ -n $base ]]; then
    b=$(best "$base" check "$dir")
    ratio=$(python3 -c "import sys; b,t=sys.argv[1:]; print('-' if b.startswith('>') else f'{float(b)/float(t):.1f}x')" "$b" "$t")
    printf ' %10s %8s' "$b" "$ratio"
  fi
  printf '  %s\n' "$code"
done
if [[ -n ${CALLGRIND:-} ]]; then
  for hit in first unique any; do
    dir="$tmp/$hit-10000"
    [[ -d $dir ]] || python3 scripts/gen_decision_check.py 10000 "$dir" --hit "$hit"
    ir=$(valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$canon" check "$dir" 2>&1 >/dev/null |
      grep -oE 'refs: +[0-9,]+' | tr -dc 0-9)
    printf 'callgrind %-8s 10000 rows: %s instructions\n' "$hit" "$ir"
  done
fi
