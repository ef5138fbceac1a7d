#!/usr/bin/env bash
# Where `canon run --engine jit` spends its instructions on the timesheet
# workload, stage by stage, against the hand-written baseline
# (bench/baseline), and how far the measured speed is from the physical
# limit of reading JSON (SIMD JSON readers parse about 2 GB/s).
#
#   scripts/bench_stages.sh [EVENTS]     (default 20000)
#
# Instruction counts come from callgrind (stable on a shared machine): each
# stage is the inclusive count of the functions that do it, per event; the
# fixed start-up (checking and compiling the package) is shown apart. The
# speed is the best wall time of 3 runs of each program pinned to one core
# on 10x EVENTS events. Outcomes are compared byte for byte first.
# CANON=... and BASELINE=... override the binaries; PKG=... another package
# of the same rules (the stateless one of scripts/bench_threads.sh): its
# outcomes are then compared with the `at` of rejections' line numbers cut.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
n=${1:-20000}
canon=${CANON:-target/release/canon}
baseline=${BASELINE:-target/release/timesheet-baseline}
if [[ ! -x $canon || ! -x $baseline ]]; then
  cargo build --release -p canon --bin canon -p canon-baseline --bin timesheet-baseline
fi
command -v valgrind > /dev/null || { echo "error: valgrind is needed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 bench/workload/gen.py --events "$n" --out "$tmp/small" > /dev/null
python3 bench/workload/gen.py --events $((n * 10)) --out "$tmp/big" > /dev/null
ex=${PKG:-examples/timesheets}

"$baseline" "$tmp/small/data" "$tmp/small/events.jsonl" "$tmp/b.jsonl"
"$canon" run "$ex" --input "$tmp/small/events.jsonl" --data "$tmp/small/data" --engine jit --output "$tmp/j.jsonl"
if [[ -z ${PKG:-} ]]; then
  cmp "$tmp/b.jsonl" "$tmp/j.jsonl" || { echo "error: canon and the baseline differ" >&2; exit 1; }
else
  at='s/"at":"posting.canon:[0-9]*"/"at":"posting.canon"/g'
  cmp <(sed "$at" "$tmp/b.jsonl") <(sed "$at" "$tmp/j.jsonl") || { echo "error: canon and the baseline differ" >&2; exit 1; }
fi

valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.canon" "$canon" run "$ex" \
  --input "$tmp/small/events.jsonl" --data "$tmp/small/data" --engine jit --output "$tmp/j.jsonl" 2> /dev/null
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.base" "$baseline" \
  "$tmp/small/data" "$tmp/small/events.jsonl" "$tmp/b.jsonl" 2> /dev/null
callgrind_annotate --inclusive=yes --threshold=100 "$tmp/cg.canon" > "$tmp/canon.txt" 2> /dev/null
callgrind_annotate --inclusive=yes --threshold=100 "$tmp/cg.base" > "$tmp/base.txt" 2> /dev/null

best() { # best wall time in seconds of 3 runs of "$@"
  local b=
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N)
    b=$(python3 -c "t=$e-$s; b='$b'; print(t if not b or t < float(b) else b)")
  done
  echo "$b"
}
big=$tmp/big/events.jsonl
base_t=$(best taskset -c 0 "$baseline" "$tmp/big/data" "$big" "$tmp/o.jsonl")
canon_t=$(best taskset -c 0 "$canon" run "$ex" --input "$big" --data "$tmp/big/data" --engine jit --output "$tmp/o.jsonl")

python3 - "$n" "$tmp/canon.txt" "$tmp/base.txt" "$big" "$base_t" "$canon_t" <<'PY'
import os, re, sys
n = int(sys.argv[1])
def counts(path):
    """Inclusive instructions by function name (the first, largest entry)."""
    out = {}
    for line in open(path):
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*?:(.+?)(?: \[.*\])?$", line)
        if m and "=>" not in line:
            name = m.group(2).strip()
            out.setdefault(name, int(m.group(1).replace(",", "")))
    return out
def get(c, *names):
    return sum(c.get(x, 0) for x in names)
c = counts(sys.argv[2])
b = counts(sys.argv[3])
main = get(c, "canon::main")
loop = get(c, "canon::run_state::run", "canon::run_loop::stateless")
read = get(c, "canon_runtime::input::InputReader<R>::read_line", "core::str::converts::from_utf8", "canon_runtime::input::Line::of")
decode = get(c, "canon_jit::native::decode_event", "canon_jit::engine::meta_cell")
native = next((v for k, v in c.items() if k.startswith("0x") and n < v < loop), 0)  # the compiled handlers
state_put = get(c, "canon_jit::rt::state_put")
encode = get(c, "canon_runtime::engine::write_outcome_parts")
apply = get(c, "canon_runtime::state::Store::apply", "canon_runtime::state::Store::apply_owned")
evaluate_all = get(c, "canon_jit::engine::JitEngine::evaluate_json_in")
other_eval = evaluate_all - decode - native - encode
write = loop - evaluate_all - apply - read
rows = [
    ("read (lines, UTF-8)", read),
    ("decode (envelope, data into cells)", decode),
    ("evaluate (compiled handler, tables, decisions)", native - state_put),
    ("state writes (cells to records)", state_put),
    ("encode (outcome line, emitted records)", encode),
    ("context, transaction", other_eval),
    ("apply state + metrics", apply),
    ("write (buffered output), loop", write),
]
print(f"callgrind, {n:,} events, instructions per event (canon run --engine jit)")
for name, v in rows:
    print(f"  {name:<48} {v / n:>8,.0f}  {100 * v / loop:5.1f}%")
print(f"  {'total per event':<48} {loop / n:>8,.0f}")
print(f"  start-up (check + compile), once: {(main - loop) / 1e6:,.0f} M instructions")
bmain = get(b, "timesheet_baseline::main")
bdecode = get(b, "timesheet_baseline::event::decode_fast")
brules = get(b, "timesheet_baseline::rules::Rules::run")
print(f"baseline: {bmain / n:,.0f} per event (decode {bdecode / n:,.0f}, rules and outcome {brules / n:,.0f})")
print(f"instruction ratio baseline/canon per event: {bmain / loop:.2f}")
size = os.path.getsize(sys.argv[4])
events = 10 * n
base_t, canon_t = float(sys.argv[5]), float(sys.argv[6])
limit = 2e9 / (size / events)
print(f"{events:,} events, {size / events:.0f} bytes an event; best of 3, one core")
print(f"  baseline: {events / base_t:>12,.0f} events/s")
print(f"  canon:    {events / canon_t:>12,.0f} events/s  (ratio to baseline {base_t / canon_t:.2f}x)")
print(f"  limit at 2 GB/s: {limit:>12,.0f} events/s  (canon at {100 * events / canon_t / limit:.1f}% of it)")
PY
