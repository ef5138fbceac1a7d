#!/usr/bin/env bash
# Benchmark of issue 14: what coverage adds to `canon test` (target: at most
# 20%). The package is examples/timesheets with its test files copied COPIES
# times (default 30, about 1,000 tests); `canon test` and `canon test
# --coverage` run in turns, RUNS times each (default 5), release build; the
# best of each is compared (the machines are shared and noisy).
#
#   scripts/bench_coverage.sh [COPIES] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
copies=${1:-30}
runs=${2:-5}
canon=${CANON:-target/release/canon}
[[ -x $canon ]] || cargo build --release --bin canon
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pkg="$tmp/timesheets"
cp -r examples/timesheets "$pkg"
# The copies keep the test blocks only (a test file may declare helpers,
# which must stay unique), each test renamed `NAME #i`.
for f in tests.canon lifecycle_tests.canon; do
  for i in $(seq 2 "$copies"); do
    awk -v i="$i" '
      /^test "/ { keep = 1; sub(/" \{$/, " #" i "\" {") }
      /^(fn|record|enum|event|decision|table|destination|state|\/\/\/)/ { keep = 0 }
      keep { print }
      /^}/ { keep = 0 }
    ' "$pkg/$f" > "$pkg/copy${i}_$f"
  done
done
tests=$("$canon" test "$pkg" | tail -n 1)
echo "package: examples/timesheets x$copies ($tests)"

# Wall and CPU (user + system) seconds of one run of "$@": CPU time is
# less disturbed by the other jobs of a shared machine.
secs() {
  python3 -c '
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
w = time.perf_counter() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{w}:{r.ru_utime + r.ru_stime}")' "$@"
}

plain=() covered=()
for _ in $(seq "$runs"); do
  plain+=("$(secs "$canon" test "$pkg")")
  covered+=("$(secs "$canon" test "$pkg" --coverage)")
done
python3 - "${plain[*]}" "${covered[*]}" <<'PY'
import sys
def best(xs, i):
    return min(float(x.split(":")[i]) for x in xs.split())
for i, what in ((0, "wall"), (1, "CPU")):
    p, c = best(sys.argv[1], i), best(sys.argv[2], i)
    print(f"{what:4}  canon test {p:.3f} s, --coverage {c:.3f} s (best of runs): "
          f"ratio {c / p:.3f}, coverage adds {100 * (c / p - 1):.1f}% (target <= 20%)")
PY
