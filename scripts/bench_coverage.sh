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
for f in tests.canon lifecycle_tests.canon; do
  for i in $(seq 2 "$copies"); do
    sed -E "s/^test \"(.*)\" \{/test \"\1 #$i\" {/" "$pkg/$f" > "$pkg/copy${i}_$f"
  done
done
tests=$("$canon" test "$pkg" | tail -n 1)
echo "package: examples/timesheets x$copies ($tests)"

secs() { # wall seconds of "$@"
  local s e
  s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
min() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }

plain=() covered=()
for _ in $(seq "$runs"); do
  plain+=("$(secs "$canon" test "$pkg")")
  covered+=("$(secs "$canon" test "$pkg" --coverage)")
done
p=$(min "${plain[@]}")
c=$(min "${covered[@]}")
python3 - "$p" "$c" <<'PY'
import sys
p, c = float(sys.argv[1]), float(sys.argv[2])
print(f"canon test             {p:.3f} s (best of runs)")
print(f"canon test --coverage  {c:.3f} s")
print(f"ratio {c / p:.3f} (coverage adds {100 * (c / p - 1):.1f}%; target <= 20%)")
PY
