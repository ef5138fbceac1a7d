#!/usr/bin/env bash
# The timesheet lifecycle in Canon against its independent Python reference.
#
#   scripts/lifecycle_check.sh [N]        (default N = 100000)
#
# Generates N lifecycle events (scripts/lifecycle_gen.py), computes the
# expected outcomes, final state and metrics (scripts/lifecycle_reference.py),
# then runs `canon run examples/timesheets --state-out` with the interpreter
# and with the JIT and compares, for each, the outcomes (everything but a
# rejection's message and location) and the state snapshot byte for byte.
# When `canon status` takes --as-of, it also runs `canon process` and
# compares `canon status --format json --as-of` with the reference's metrics.
# One verdict line per comparison; exit status 1 on any difference (the first
# differences and a count of each kind are shown).
#
# Environment:
#   CANON   the canon binary (default target/release/canon)
#   SEED    the generator's seed (default 42)
#   AS_OF   the instant of the aged metric (default 2026-12-01T00:00:00Z)
#   KEEP=1  keep the temporary directory and print where it is
set -euo pipefail

n=${1:-100000}
if ! [[ $n =~ ^[0-9]+$ ]] || (( n < 1 )); then
  echo "usage: scripts/lifecycle_check.sh [N]   (N a positive number of events)" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
canon=${CANON:-target/release/canon}
seed=${SEED:-42}
as_of=${AS_OF:-2026-12-01T00:00:00Z}
pkg=examples/timesheets

if [[ ! -x $canon ]] && ! command -v "$canon" > /dev/null 2>&1; then
  echo "lifecycle: no canon binary at $canon (build it with 'cargo build --release', or set CANON)" >&2
  exit 2
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/canon-lifecycle.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then
  echo "lifecycle: keeping $dir" >&2
else
  trap 'rm -rf "$dir"' EXIT
fi

python3 scripts/lifecycle_gen.py --events "$n" --seed "$seed" --out "$dir"
python3 scripts/lifecycle_reference.py "$dir" --state-out "$dir/want-state.jsonl" \
  --metrics "$dir/want-metrics.json" --as-of "$as_of" > "$dir/want.jsonl"

compare=(python3 scripts/lifecycle_compare.py)
failed=0
for engine in interp jit; do
  status=0
  "$canon" run "$pkg" --input "$dir/events.jsonl" --data "$dir/data" --engine "$engine" \
    --state-out "$dir/$engine-state.jsonl" > "$dir/$engine.jsonl" 2> "$dir/$engine.err" || status=$?
  if (( status != 0 )); then
    echo "canon run --engine $engine: FAILED (exit status $status)"
    tail -n 20 "$dir/$engine.err" | sed 's/^/    /'
    failed=1
    continue
  fi
  "${compare[@]}" outcomes "outcomes, canon run --engine $engine" "$dir/want.jsonl" "$dir/$engine.jsonl" || failed=1
  "${compare[@]}" state "state snapshot, canon run --engine $engine" \
    "$dir/want-state.jsonl" "$dir/$engine-state.jsonl" || failed=1
done

if "$canon" status --help 2>/dev/null | grep -q -- '--as-of'; then
  status=0
  "$canon" process "$pkg" --input "$dir/events.jsonl" --data "$dir/data" --state "$dir/pipeline" \
    > "$dir/process.jsonl" 2> "$dir/process.err" || status=$?
  if (( status != 0 )); then
    echo "canon process: FAILED (exit status $status)"
    tail -n 20 "$dir/process.err" | sed 's/^/    /'
    failed=1
  else
    "${compare[@]}" outcomes "outcomes, canon process" "$dir/want.jsonl" "$dir/process.jsonl" || failed=1
    status=0
    "$canon" status --state "$dir/pipeline" --format json --as-of "$as_of" \
      > "$dir/status.json" 2> "$dir/status.err" || status=$?
    if (( status != 0 )); then
      echo "canon status: FAILED (exit status $status)"
      tail -n 20 "$dir/status.err" | sed 's/^/    /'
      failed=1
    else
      "${compare[@]}" metrics "metrics, canon status --as-of $as_of" "$dir/want-metrics.json" "$dir/status.json" \
        || failed=1
    fi
  fi
else
  echo "metrics: not compared ('$canon status' has no --as-of yet)"
fi

if (( failed )); then
  echo "lifecycle check FAILED: $n events (seed $seed)"
  exit 1
fi
echo "lifecycle check ok: $n events (seed $seed)"
