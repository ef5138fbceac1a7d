#!/usr/bin/env bash
# Parity of the Canon timesheet example with the Python oracle.
#
#   scripts/parity.sh [N]        (default N = 100000)
#
# Generates N events with bench/workload/gen.py, computes the expected
# outcomes with bench/workload/reference.py, runs
# `canon run examples/timesheets` on the same events and data, and compares
# the two line by line: line, id, type, correlation_id, status and emits
# exactly, and the list of rejection codes (the oracle gives codes only).
#
# Environment:
#   CANON   the canon binary (default target/release/canon)
#   ENGINE  jit or interp (default interp, the reference semantics)
#   KEEP=1  keep the temporary directory and print where it is
set -euo pipefail

n=${1:-100000}
if ! [[ $n =~ ^[0-9]+$ ]] || (( n < 1 )); then
  echo "usage: scripts/parity.sh [N]   (N a positive number of events)" >&2
  exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
shared=$root
canon=${CANON:-target/release/canon}
engine=${ENGINE:-interp}

if [[ ! -x $canon ]] && ! command -v "$canon" > /dev/null 2>&1; then
  echo "parity: no canon binary at $canon (build it with 'cargo build --release', or set CANON)" >&2
  exit 2
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/canon-parity.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then
  echo "parity: keeping $dir" >&2
else
  trap 'rm -rf "$dir"' EXIT
fi

python3 "$shared/bench/workload/gen.py" --events "$n" --out "$dir"
python3 "$shared/bench/workload/reference.py" "$dir" > "$dir/expected.jsonl"
status=0
"$canon" run examples/timesheets --input "$dir/events.jsonl" --data "$dir/data" \
  --engine "$engine" > "$dir/got.jsonl" 2> "$dir/canon.err" || status=$?
if (( status != 0 )); then
  echo "parity: '$canon run' exited with status $status:" >&2
  tail -n 20 "$dir/canon.err" >&2
  exit 1
fi

python3 - "$dir/expected.jsonl" "$dir/got.jsonl" "$n" <<'PY'
import json
import sys

expected_path, got_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
EXACT = ("line", "id", "type", "correlation_id", "status", "emits")


def load(path):
    with open(path, encoding="utf-8") as f:
        return [line for line in f if line.strip()]


def codes(outcome):
    rejections = outcome.get("rejections")
    if not isinstance(rejections, list):
        return rejections
    return [r.get("code") if isinstance(r, dict) else r for r in rejections]


def differences(want, have):
    out = []
    for key in EXACT:
        if key not in have:
            out.append("%s: missing" % key)
        elif have[key] != want.get(key):
            out.append("%s: want %s, got %s" % (key, json.dumps(want.get(key)), json.dumps(have[key])))
    if codes(want) != codes(have):
        out.append("rejection codes: want %s, got %s" % (codes(want), codes(have)))
    return out


expected, got = load(expected_path), load(got_path)
report = []
if len(expected) != len(got):
    report.append("want %d outcome lines, got %d" % (len(expected), len(got)))
for number, (want_line, have_line) in enumerate(zip(expected, got), 1):
    if len(report) >= 5:
        break
    want = json.loads(want_line)
    try:
        have = json.loads(have_line)
    except ValueError as e:
        report.append("line %d: not JSON (%s): %s" % (number, e, have_line.strip()[:200]))
        continue
    if not isinstance(have, dict):
        report.append("line %d: not a JSON object: %s" % (number, have_line.strip()[:200]))
        continue
    diffs = differences(want, have)
    if diffs:
        report.append("line %d (%s): %s" % (number, want.get("id"), "; ".join(diffs)))

if report:
    print("parity FAILED: first differences of %d events" % n)
    for r in report[:5]:
        print("  " + r)
    sys.exit(1)
print("parity ok: %d events" % n)
PY
