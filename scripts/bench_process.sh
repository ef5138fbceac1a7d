#!/usr/bin/env bash
# Throughput of `canon process` (durable: ledger, lineage, exception queue,
# file sinks, synchronous commits) against `canon run` (stateless), on the
# timesheet workload, in the same run. The machines are shared and noisy:
# each figure is the best of 3 runs, taken in turns; compare the ratios.
#
#   scripts/bench_process.sh [EVENTS]     (default 200000)
#
# Target (issue 5): `canon process` at >= 50% of `canon run`'s throughput.
# With state (issue 12): `canon process` of a package with state
# (tests/pipeline_state, over the same events) at >= 80% of `canon process`
# of the stateless example.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
shared=$root
n=${1:-200000}
canon=${CANON:-target/release/canon}
[[ -x $canon ]] || cargo build --release --bin canon
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$shared/bench/workload/gen.py" --events "$n" --out "$tmp/ts"
pkg=examples/timesheets
ev="$tmp/ts/events.jsonl"
data="$tmp/ts/data"

secs() { # wall seconds of "$@"
  local s e
  s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
min() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }

run=() run2=() interp=() proc=() proci=() dup=() runs=() procs=()
for i in 1 2 3; do
  run+=("$(secs "$canon" run "$pkg" --input "$ev" --data "$data" --output "$tmp/run.jsonl")")
  run2+=("$(secs "$canon" run "$pkg" --input "$ev" --data "$data" --output "$tmp/run.jsonl" --threads 2)")
  interp+=("$(secs "$canon" run "$pkg" --input "$ev" --data "$data" --output "$tmp/run.jsonl" --engine interp)")
  rm -rf "$tmp/state"
  proc+=("$(secs "$canon" process "$pkg" --input "$ev" --data "$data" --state "$tmp/state" --output "$tmp/process.jsonl")")
  dup+=("$(secs "$canon" process "$pkg" --input "$ev" --data "$data" --state "$tmp/state" --output "$tmp/dup.jsonl")")
  rm -rf "$tmp/state-i"
  proci+=("$(secs "$canon" process "$pkg" --input "$ev" --data "$data" --state "$tmp/state-i" --output "$tmp/process-i.jsonl" --engine interp)")
  runs+=("$(secs "$canon" run tests/pipeline_state --input "$ev" --output "$tmp/run-s.jsonl" --state-out "$tmp/run-s-state.jsonl")")
  rm -rf "$tmp/state-s"
  procs+=("$(secs "$canon" process tests/pipeline_state --input "$ev" --state "$tmp/state-s" --output "$tmp/process-s.jsonl")")
done
cmp -s "$tmp/run-s.jsonl" "$tmp/process-s.jsonl" || { echo "error: with state, canon process and canon run printed different outcomes" >&2; exit 1; }
"$canon" state export --state "$tmp/state-s" > "$tmp/export-s.jsonl"
cmp -s "$tmp/run-s-state.jsonl" "$tmp/export-s.jsonl" || { echo "error: with state, canon process left another state than canon run" >&2; exit 1; }
cmp -s "$tmp/run.jsonl" "$tmp/process.jsonl" || { echo "error: canon process and canon run printed different outcomes" >&2; exit 1; }
cmp -s "$tmp/run.jsonl" "$tmp/process-i.jsonl" || { echo "error: canon process --engine interp printed other outcomes" >&2; exit 1; }
# The lineage is the same whichever engine evaluated (each state numbers
# its lineage steps in the order it met them: compare them spelled out).
python3 - "$tmp/state/state.db" "$tmp/state-i/state.db" <<'PY' || exit 1
import datetime, json, sqlite3, sys
def varint(b, pos):
    v = shift = 0
    while True:
        x = b[pos]; pos += 1
        v |= (x & 0x7f) << shift; shift += 7
        if x < 0x80:
            return v, pos
def string(b, pos):
    n, pos = varint(b, pos)
    return b[pos:pos + n].decode(), pos + n
def split(text):
    # A JSON text's shape and scalars, as pipeline/src/packed.rs splits it.
    shape, scalars, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            k = j + 1
            while k < n and text[k] in " \t\n\r":
                k += 1
            if k < n and text[k] == ":":
                shape.append(text[i:j + 1])
            else:
                shape.append('"\x01"'); scalars.append(text[i + 1:j])
            i = j + 1
        elif c == "-" or c.isdigit():
            j = i
            while j < n and (text[j].isdigit() or text[j] in "-+.eE"):
                j += 1
            shape.append("\x01"); scalars.append(text[i:j]); i = j
        else:
            shape.append(c); i += 1
    return "".join(shape), scalars
def join(shape, scalars):
    parts = shape.split("\x01")
    return parts[0] + "".join(s + p for s, p in zip(scalars, parts[1:]))
def packed(b, pos, shapes, before):
    # pipeline/src/packed.rs: NULL, RAW, PACKED (shape and scalars), DIFF (changed scalars), PACKED_FORMS.
    tag = b[pos]; pos += 1
    if tag == 0:
        return None, pos
    if tag == 1:
        return string(b, pos)
    if tag == 2:
        sid, pos = varint(b, pos)
        shape = shapes[sid]
        scalars = []
        for _ in range(shape.count("\x01")):
            v, pos = varint(b, pos)
            if v & 1:  # the same text as an earlier scalar
                scalars.append(scalars[v >> 1])
            else:
                scalars.append(b[pos:pos + (v >> 1)].decode()); pos += v >> 1
        return join(shape, scalars), pos
    if tag == 5:
        # PACKED_FORMS (schema 8): each scalar's low two bits say its form.
        sid, pos = varint(b, pos)
        shape = shapes[sid]
        scalars = []
        unzig = lambda u: (u >> 1) ^ -(u & 1)
        for _ in range(shape.count("\x01")):
            v, pos = varint(b, pos)
            kind = v & 3
            if kind == 0:  # text
                scalars.append(b[pos:pos + (v >> 2)].decode()); pos += v >> 2
            elif kind == 1:  # the same text as an earlier scalar
                scalars.append(scalars[v >> 2])
            elif kind == 2:  # a decimal: scale, then the mantissa
                u, pos = varint(b, pos)
                m, scale = unzig(u), v >> 2
                digits = str(abs(m))
                if len(digits) <= scale:
                    digits = "0." + "0" * (scale - len(digits)) + digits
                elif scale:
                    digits = digits[:-scale] + "." + digits[-scale:]
                scalars.append(("-" if m < 0 else "") + digits)
            else:  # a date (days) or a timestamp (seconds)
                n = unzig(v >> 3)
                epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
                if (v >> 2) & 1:
                    scalars.append((epoch + datetime.timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"))
                else:
                    scalars.append((epoch + datetime.timedelta(days=n)).strftime("%Y-%m-%d"))
        return join(shape, scalars), pos
    shape, scalars = split(before)
    count, pos = varint(b, pos)
    nxt = 0
    for _ in range(count):
        gap, pos = varint(b, pos)
        scalars[nxt + gap], pos = string(b, pos)
        nxt += gap + 1
    return join(shape, scalars), pos
def blob_trace(b, shapes):
    # A trace BLOB (schema 7) in the JSON form of schema 6.
    assert b[0] == 1
    pos, out = 1, []
    while pos < len(b):
        head, pos = varint(b, pos)
        sid, kind = head >> 2, head & 3
        if kind == 0:
            out.append(sid)
        elif kind == 1:
            k, pos = string(b, pos)
            out.append([sid, k])
        else:
            k, pos = string(b, pos)
            before, pos = packed(b, pos, shapes, None)
            after, pos = packed(b, pos, shapes, before)
            out.append([sid, k, before and json.loads(before), after and json.loads(after)])
    return out
def traces(path):
    db = sqlite3.connect(path)
    steps = {i: json.loads(s) for i, s in db.execute("SELECT id, step FROM trace_steps")}
    shapes = dict(db.execute("SELECT id, shape FROM json_shapes"))
    load = lambda t: blob_trace(t, shapes) if isinstance(t, bytes) else json.loads(t)
    def step(s):
        if isinstance(s, int):
            return steps[s]
        if isinstance(s, list) and s and isinstance(s[0], int):
            t = steps[s[0]]
            return t[:-1] + s[1:] + [t[-1]]  # the key (and a write's records before and after)
        return s
    return [(line, [step(s) for s in load(t)]) for line, t in db.execute("SELECT line, trace FROM events ORDER BY line")]
if traces(sys.argv[1]) != traces(sys.argv[2]):
    sys.exit("error: the JIT's lineage differs from the interpreter's")
PY
# The database with its WAL (closing leaves the WAL to the next checkpoint).
db=$(du -cm "$tmp/state/state.db"* | tail -1 | cut -f1)
python3 - "$n" "$(min "${run[@]}")" "$(min "${run2[@]}")" "$(min "${interp[@]}")" "$(min "${proc[@]}")" "$(min "${dup[@]}")" "$db" "$(min "${proci[@]}")" "$(min "${runs[@]}")" "$(min "${procs[@]}")" <<'PY'
import sys
n = int(sys.argv[1])
run, run2, interp, proc, dup = (float(x) for x in sys.argv[2:7])
db = sys.argv[7]
proci, runs, procs = (float(x) for x in sys.argv[8:11])
rate = lambda t: f"{n / t:>9,.0f} events/s ({t:.2f} s)"
print(f"{n:,} timesheet events, best of 3")
print(f"canon run (JIT, 1 thread):       {rate(run)}")
print(f"canon run --threads 2:           {rate(run2)}")
print(f"canon run --engine interp:       {rate(interp)}")
print(f"canon process (fresh state):     {rate(proc)}   state.db and WAL {db} MB")
print(f"canon process (again, all dup):  {rate(dup)}")
print(f"canon process --engine interp:   {rate(proci)}")
print(f"process / run:                   {run / proc:.0%}   (target: >= 50%)")
print(f"process / run --threads 2:       {run2 / proc:.0%}")
print(f"canon run, with state:           {rate(runs)}")
print(f"canon process, with state:       {rate(procs)}")
print(f"with state / process:            {proc / procs:.0%}   (target: >= 80%)")
print(f"with state / process --engine interp: {proci / procs:.0%}")
print(f"process with state / run with state:  {runs / procs:.0%}")
PY
