#!/usr/bin/env bash
# The timesheet lifecycle in Canon against its independent Python reference.
#
#   scripts/lifecycle_check.sh [N]        (default N = 100000)
#
# First the README's worked examples (scripts/lifecycle_reference_test.py),
# then N generated lifecycle events (scripts/lifecycle_gen.py): computes the
# expected outcomes, final state and metrics (scripts/lifecycle_reference.py),
# then runs `canon run examples/timesheets --state-out` with the interpreter
# and with the JIT and compares, for each, the outcomes (everything but a
# rejection's message and location) and the state snapshot byte for byte;
# then the same events split in two runs joined by --state-in, and on four
# threads.
# When `canon status` takes --as-of, it also runs `canon process` and
# compares its outcomes, `canon state export` (the snapshot) and
# `canon status --format json --as-of` (the metrics) with the reference's.
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

# First the worked examples of scripts/lifecycle_reference_test.py (every
# rule of the README once, computed by hand).
python3 scripts/lifecycle_reference_test.py --write "$dir/worked"
python3 scripts/lifecycle_reference.py "$dir/worked" --state-out "$dir/worked/want-state.jsonl" > "$dir/worked/want.jsonl"
status=0
"$canon" run "$pkg" --input "$dir/worked/events.jsonl" --data "$dir/worked/data" --engine interp \
  --state-out "$dir/worked/state.jsonl" > "$dir/worked/got.jsonl" 2> "$dir/worked/err" || status=$?
if (( status != 0 )); then
  echo "canon run on the worked examples: FAILED (exit status $status)"
  tail -n 20 "$dir/worked/err" | sed 's/^/    /'
  failed=1
else
  "${compare[@]}" outcomes "outcomes, worked examples" "$dir/worked/want.jsonl" "$dir/worked/got.jsonl" || failed=1
  "${compare[@]}" state "state snapshot, worked examples" \
    "$dir/worked/want-state.jsonl" "$dir/worked/state.jsonl" || failed=1
fi

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
  # A note on stderr (say, the JIT falling back to the interpreter) is shown.
  if [[ -s $dir/$engine.err ]]; then
    head -n 3 "$dir/$engine.err" | sed 's/^/    canon said: /'
  fi
done

# The same events in two runs, the second starting from the first's
# snapshot (RUNTIME.md §7.1), and in one run on several threads: the same
# outcomes and the same final snapshot.
half=$(( n / 2 ))
head -n "$half" "$dir/events.jsonl" > "$dir/first.jsonl"
tail -n +"$(( half + 1 ))" "$dir/events.jsonl" > "$dir/second.jsonl"
status=0
{ "$canon" run "$pkg" --input "$dir/first.jsonl" --data "$dir/data" --engine interp \
    --state-out "$dir/split-1.jsonl" > "$dir/split-1.out" \
  && "$canon" run "$pkg" --input "$dir/second.jsonl" --data "$dir/data" --engine interp \
    --state-in "$dir/split-1.jsonl" --state-out "$dir/split-2.jsonl" > "$dir/split-2.out"; } \
  2> "$dir/split.err" || status=$?
if (( status != 0 )); then
  echo "canon run --state-in: FAILED (exit status $status)"
  tail -n 20 "$dir/split.err" | sed 's/^/    /'
  failed=1
else
  python3 - "$half" "$dir/split-1.out" "$dir/split-2.out" > "$dir/split.jsonl" <<'PY'
import json, sys
offset = int(sys.argv[1])
for path, shift in ((sys.argv[2], 0), (sys.argv[3], offset)):
    with open(path, encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            o["line"] += shift
            print(json.dumps(o, separators=(",", ":")))
PY
  "${compare[@]}" outcomes "outcomes, two runs joined by --state-in at event $half" \
    "$dir/want.jsonl" "$dir/split.jsonl" || failed=1
  "${compare[@]}" state "state snapshot, two runs joined by --state-in" \
    "$dir/want-state.jsonl" "$dir/split-2.jsonl" || failed=1
fi
status=0
"$canon" run "$pkg" --input "$dir/events.jsonl" --data "$dir/data" --engine interp --threads 4 \
  --state-out "$dir/threads-state.jsonl" > "$dir/threads.jsonl" 2> "$dir/threads.err" || status=$?
if (( status != 0 )); then
  echo "canon run --threads 4: FAILED (exit status $status)"
  tail -n 20 "$dir/threads.err" | sed 's/^/    /'
  failed=1
else
  "${compare[@]}" outcomes "outcomes, canon run --threads 4" "$dir/want.jsonl" "$dir/threads.jsonl" || failed=1
  "${compare[@]}" state "state snapshot, canon run --threads 4" \
    "$dir/want-state.jsonl" "$dir/threads-state.jsonl" || failed=1
fi

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
    if "$canon" state export --help > /dev/null 2>&1; then
      status=0
      "$canon" state export --state "$dir/pipeline" > "$dir/process-state.jsonl" 2> "$dir/export.err" || status=$?
      if (( status != 0 )); then
        echo "canon state export: FAILED (exit status $status)"
        tail -n 20 "$dir/export.err" | sed 's/^/    /'
        failed=1
      else
        "${compare[@]}" state "state snapshot, canon process + canon state export" \
          "$dir/want-state.jsonl" "$dir/process-state.jsonl" || failed=1
      fi
    fi
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
