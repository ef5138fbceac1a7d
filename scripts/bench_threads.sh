#!/usr/bin/env bash
# How `canon run --threads N` scales (issue 16: `--threads 2` at least 1.7x
# one thread), on the timesheet workload, both engines, in one run:
#
#   scripts/bench_threads.sh [EVENTS] [RUNS]     (default 200000 events, 5 runs)
#
# examples/timesheets keeps state (its lifecycle), and a package with state
# evaluates its events in input order whatever `--threads` says (RUNTIME.md
# §7.1), so the threads are measured on the same rules without state: the
# package's types and rates with the approval handler as it was before the
# lifecycle (below). On the generated events, which approve each timesheet
# once, its outcomes are examples/timesheets' byte for byte but for the
# handler's line numbers in `at` (the script checks it), and the state path
# is timed too, to show it does not scale.
#
# One thread runs pinned to core 0 (`taskset -c 0`), two threads on cores 0
# and 1; the runs alternate (1, 2, 1, 2, ...) so that a change in the
# machine's load falls on both, and each figure is the best wall time of RUNS.
# Before timing, the outcomes of 2 and 3 threads are compared byte for byte
# with one thread's. Besides wall time the script prints each best run's
# CPU time (user + sys of the process) and CPU / wall: about 2.0 means the
# two threads really had two cores. The machine's load average is printed
# before and after: other processes on a shared machine take cores too, and
# then the wall-time ratio says less than the CPU figures.
# CANON=... overrides the binary.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
n=${1:-200000}
runs=${2:-5}
canon=${CANON:-target/release/canon}
if [[ ! -x $canon ]]; then
  cargo build --release -p canon --bin canon
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 bench/workload/gen.py --events "$n" --out "$tmp/ts" > /dev/null
events=$tmp/ts/events.jsonl
data=$tmp/ts/data
pkg=$tmp/stateless
mkdir "$pkg"
cp examples/timesheets/canon.toml examples/timesheets/types.canon examples/timesheets/rates.canon "$pkg/"
cat > "$pkg/posting.canon" <<'CANON'
// The handler: the rules of WORKLOAD.md, in its order.
//
// `check` records a rejection and carries on, so one event can collect
// several reasons; `require` records it and stops, for rules without which the
// rest cannot be computed. Any rejection drops every emit of the event: it is
// posted in full or not at all.

/// Validate, price and route one approved timesheet.
on TimesheetApproved as t {
  // Rule 1: a day has at most 24 hours, and zero hours is not a timesheet.
  check t.hours > 0 and t.hours <= 24
    else reject HOURS_OUT_OF_RANGE "hours must be in (0, 24], got {t.hours}"

  // Rule 2: time cannot be booked for a day after it was approved.
  // The approval time is compared by its UTC date.
  let approved_on = date(t.approved_at)
  check t.work_date <= approved_on
    else reject FUTURE_WORK_DATE "work date {t.work_date} is after the approval date {approved_on} (UTC)"

  // Rule 3: the project must be in the master data. Without it there is no
  // entity, currency or tier, so stop here.
  let project = projects[t.project_code]
  require project != none
    else reject UNKNOWN_PROJECT "project {t.project_code} is not in the projects table"

  // Rule 4: only open projects take time.
  check project.status == Open
    else reject PROJECT_NOT_OPEN "project {project.code} is {project.status}; time can only be posted to OPEN projects"

  // Rule 5: billable time must name the task it was spent on.
  check not project.billable or t.task != none
    else reject TASK_REQUIRED "project {project.code} is billable, so timesheet {t.timesheet_id} needs a task"

  // Rule 6: price the hours. Billable projects earn the bill rate, the others
  // are costed. A rate in another currency is converted at the fx table's
  // rate, and the amount is rounded to cents (half-even) once, at the end.
  // A pair missing from the fx table reads as rate 0, which no real rate is.
  let rate = if project.billable
    then bill_rate(t.employee.role, t.employee.region, project.tier)
    else cost_rate(t.employee.role, t.employee.kind)
  let rate_currency = currency(rate)
  let fx_rate = if rate_currency == project.currency
    then 1
    else fx[rate_currency, project.currency]?.rate ?? 0
  require fx_rate > 0
    else reject NO_FX_RATE "no FX rate from {rate_currency} to {project.currency} for project {project.code}"
  let line_amount = round(convert(rate * t.hours, project.currency, fx_rate), 2)

  // Rule 7: the journal line for the entity that owns the project.
  emit erp_posting JournalLine {
    journal_id: "JE-{t.timesheet_id}",
    entity: project.entity,
    account: account_for(project.billable),
    cost_center: t.employee.cost_center,
    project: t.project_code,
    work_date: t.work_date,
    hours: t.hours,
    amount: line_amount,
    correlation_id: meta.correlation_id ?? meta.id,
  }

  // Rule 8: contractors are also paid through payroll, at their cost rate.
  // The cost rate card is in USD, so the payable is too.
  if t.employee.kind == Contractor {
    emit payroll_staging ContractorPayable {
      employee_id: t.employee.id,
      period_start: start_of_month(t.work_date),
      hours: t.hours,
      amount: round(cost_rate(t.employee.role, t.employee.kind) * t.hours, 2),
    }
  }
}
CANON

# Same outcomes first: a fast wrong answer is no speed-up.
"$canon" run examples/timesheets --input "$events" --data "$data" --output "$tmp/state.jsonl"
"$canon" run "$pkg" --input "$events" --data "$data" --output "$tmp/stateless.jsonl"
at='s/"at":"posting.canon:[0-9]*"/"at":"posting.canon"/g'
if ! cmp -s <(sed "$at" "$tmp/state.jsonl") <(sed "$at" "$tmp/stateless.jsonl"); then
  echo "error: the package without state prints other outcomes than examples/timesheets" >&2
  exit 1
fi
for engine in jit interp; do
  "$canon" run "$pkg" --input "$events" --data "$data" --engine "$engine" --threads 1 \
    --output "$tmp/$engine-1.jsonl"
  for t in 2 3; do
    "$canon" run "$pkg" --input "$events" --data "$data" --engine "$engine" --threads "$t" \
      --output "$tmp/$engine-$t.jsonl"
    if ! cmp -s "$tmp/$engine-1.jsonl" "$tmp/$engine-$t.jsonl"; then
      echo "error: --engine $engine --threads $t prints other outcomes than --threads 1:" >&2
      cmp "$tmp/$engine-1.jsonl" "$tmp/$engine-$t.jsonl" >&2 || true
      exit 1
    fi
  done
done

python3 - "$canon" "$events" "$data" "$tmp/out.jsonl" "$n" "$runs" "$pkg" <<'PY'
import os, subprocess, sys, time
canon, events, data, out, n, runs, pkg = sys.argv[1:5] + [int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]]
cores = {1: "0", 2: "0,1"}

def once(engine, threads, package):
    """Wall seconds and CPU seconds (user + sys) of one run."""
    cmd = ["taskset", "-c", cores[threads], canon, "run", package, "--input", events,
           "--data", data, "--engine", engine, "--threads", str(threads), "--output", out]
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"error: {' '.join(cmd)} failed ({status})")
    return wall, usage.ru_utime + usage.ru_stime

def load():
    return open("/proc/loadavg").read().split()[0]

print(f"{n:,} events, identical outcomes on 1, 2 and 3 threads; best of {runs} alternating runs")
print(f"cores online: {os.cpu_count()}; load average before: {load()}")
for engine, package, what in [("jit", pkg, "without state"), ("interp", pkg, "without state"),
                              ("jit", "examples/timesheets", "with state")]:
    best = {}
    for _ in range(runs):
        for threads in (1, 2):
            wall, cpu = once(engine, threads, package)
            if threads not in best or wall < best[threads][0]:
                best[threads] = (wall, cpu)
    print(f"timesheets {what}:")
    for threads, (wall, cpu) in sorted(best.items()):
        print(f"  canon run --engine {engine:<6} --threads {threads}: {n / wall:>10,.0f} events/s "
              f"({wall:.3f} s wall, {cpu:.3f} s CPU, CPU/wall {cpu / wall:.2f})")
    (w1, c1), (w2, c2) = best[1], best[2]
    target = "   (issue 16 target: >= 1.7x)" if package == pkg else "   (state: input order, one thread)"
    print(f"  ratio --threads 2 / --threads 1 ({engine}): {w1 / w2:.2f}x{target};"
          f" CPU of 2 threads / 1: {c2 / c1:.2f}")
print(f"load average after: {load()}")
PY
