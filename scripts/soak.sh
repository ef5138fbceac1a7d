#!/usr/bin/env bash
# The soak test of the durable pipeline (run on demand, not in CI): EVENTS
# generated timesheet events through `canon process` (release build) with a
# file sink and an HTTP sink on 127.0.0.1 (a receiver that sometimes answers
# 500 or too slowly), killed with SIGKILL at KILLS random instants and
# restarted until it completes, rotating `--engine jit|interp` and
# `--threads 1|2`; then nothing may be lost or duplicated, every rejected
# event must be queued exactly once, and a full replay must add nothing.
# See scripts/soak.py and docs/pipeline.md ("Soak").
#
#   scripts/soak.sh [EVENTS] [KILLS] [soak.py options]   (default 1000000 events, 100 kills)
#   scripts/soak.sh 1000000 100 --seed N                 (replay a run's kill plan)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EVENTS=${1:-1000000}
KILLS=${2:-100}
shift $(( $# < 2 ? $# : 2 ))
nice -n 10 cargo build --release --bin canon
exec nice -n 10 python3 scripts/soak.py target/release/canon "$EVENTS" "$KILLS" "$@"
