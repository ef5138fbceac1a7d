#!/usr/bin/env bash
# The crash test of the durable pipeline at full size: `canon process` on the
# timesheet workload is killed with SIGKILL at random instants and restarted
# until it finishes; then every expected emit (bench/workload/reference.py)
# must be in the sinks exactly once, every rejected event exactly once in the
# exception queue, nothing else anywhere, and a second full run must add
# nothing (every outcome `duplicate`). CI runs the same test on 20,000 events.
#
#   scripts/crash_test.sh [EVENTS] [KILLS]     (default 100000 events, 10 kills)
#   CANON_CRASH_SEED=N scripts/crash_test.sh   (replay the kill instants of a run)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CANON_CRASH_EVENTS=${1:-100000}
export CANON_CRASH_KILLS=${2:-10}
export CANON_CRASH_VERBOSE=1
cargo test --release --test pipeline_crash -- --nocapture
