#!/usr/bin/env bash
# Runs every cargo-fuzz target for MINUTES each, one after another (nice'd),
# and prints a summary; exits non-zero if any target crashed or failed.
#
#   scripts/fuzz.sh MINUTES [TARGET...]
#
# New corpus entries go to fuzz/corpus/<target> (not committed); the seeds in
# fuzz/seeds/<target> (committed) are read too. Crashes are written to
# fuzz/artifacts/<target>/, logs to fuzz/logs/<target>.log. Extra libFuzzer
# flags can be given in FUZZ_FLAGS (e.g. FUZZ_FLAGS="-max_len=8192").
set -uo pipefail

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 MINUTES [TARGET...]" >&2
    exit 2
fi
minutes=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"

all=(parse decode native_decode canonical programs)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all[@]}")

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz.sh: needs a nightly toolchain: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz || exit 2
fi

mkdir -p logs
summary=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    log="logs/$t.log"
    echo "== $t: $minutes minute(s), log in fuzz/$log" >&2
    # -print_final_stats for the summary; the corpus directory first, so new
    # inputs are written there and not among the seeds.
    # `programs` compiles two JIT engines per input: under AddressSanitizer
    # Cranelift takes ~0.4 s each, so it runs without (its own target dir,
    # so the other targets keep theirs).
    opts=()
    [[ $t == programs ]] && opts=(-s none --target-dir target/nosan)
    nice -n 10 cargo +nightly fuzz run "${opts[@]}" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time=$((minutes * 60)) -print_final_stats=1 ${FUZZ_FLAGS:-} >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
    corpus=$(ls "corpus/$t" | wc -l)
    if [[ $rc -eq 0 ]]; then
        status=ok
    else
        failed=1
        artifact=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -1 | sed 's/Test unit written to //')
        status="FAILED (exit $rc${artifact:+, $artifact})"
    fi
    summary+=("$(printf '%-14s %-10s execs %-10s exec/s %-7s corpus %s' "$t" "${status%% *}" "${execs:-?}" "${rate:-?}" "$corpus")")
    [[ $rc -ne 0 ]] && summary+=("    $status; see fuzz/$log")
done

echo
echo "fuzz summary ($minutes minute(s) per target):"
printf '  %s\n' "${summary[@]}"
exit $failed
