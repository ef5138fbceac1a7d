#!/usr/bin/env bash
# State bytes per event before and after `canon state prune` of everything
# final, on the timesheet workload (docs/performance.md, "Retention").
#
#   scripts/bench_retention.sh [EVENTS]     (default 100000)
#
# Prints state.db's bytes (WAL checkpointed) as `canon process` leaves it,
# after the prune (the rejected events' exceptions are open, so kept whole),
# and, on a copy whose exceptions are all marked resolved, after a prune of
# every event; the bytes per table (sqlite3's dbstat) as processed and after
# that last prune.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
n=${1:-100000}
canon=${CANON:-target/debug/canon}
[[ -x $canon ]] || cargo build --bin canon
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 bench/workload/gen.py --events "$n" --out "$tmp/ts"
"$canon" process examples/timesheets --input "$tmp/ts/events.jsonl" --data "$tmp/ts/data" --state "$tmp/st" --output /dev/null
per() { python3 -c "import sys; b=int(sys.argv[1]); print(f'{b:>12,} bytes  {b/$n:>8,.0f} bytes/event  {sys.argv[2]}')" "$1" "$2"; }
cp -a "$tmp/st" "$tmp/all"
sqlite3 "$tmp/st/state.db" "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
per "$(stat -c %s "$tmp/st/state.db")" "as processed (WAL checkpointed)"
echo "as processed, bytes per table (dbstat):"
sqlite3 "$tmp/st/state.db" "SELECT name, sum(pgsize), round(sum(pgsize) * 1.0 / $n) FROM dbstat GROUP BY name HAVING sum(pgsize) > 65536 ORDER BY 2 DESC;"
"$canon" state prune --state "$tmp/st" --before 2100-01-01
per "$(stat -c %s "$tmp/st/state.db")" "after the prune (open exceptions kept whole)"
sqlite3 "$tmp/all/state.db" "UPDATE exceptions SET status = 'resolved', resolution = 'note', note = 'bench', resolved_at = '2026-01-01T00:00:00Z';"
"$canon" state prune --state "$tmp/all" --before 2100-01-01 > /dev/null
per "$(stat -c %s "$tmp/all/state.db")" "after the prune, every exception resolved first"
sqlite3 "$tmp/all/state.db" "SELECT name, sum(pgsize) FROM dbstat GROUP BY name HAVING sum(pgsize) > 65536 ORDER BY 2 DESC;"
