//! Fuzz target: grammar-aware random programs through both engines. The
//! fuzz input drives the generator of well-typed Canon programs and events
//! that `jit/tests/differential.rs` uses (`jit/tests/common/programs.rs`, one
//! input byte per choice); each program is compiled once, and every event is
//! run through the interpreter and the JIT (its shared-decoder path, its
//! one-pass fast path; for a quarter of the inputs also with lineage and with
//! records encoded from cells): every outcome must be byte-identical.
//!
//! Programs that do not check are skipped and counted; the share of programs
//! that check is printed after 1000 inputs (and every tenfold after). Set
//! `CANON_FUZZ_SHOW_INVALID=1` to print the first diagnostic of each.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;

#[path = "../../jit/tests/common/programs.rs"]
mod programs;

use programs::Failure;

static INPUTS: AtomicU64 = AtomicU64::new(0);
static VALID: AtomicU64 = AtomicU64::new(0);

fn count(valid: bool) {
    let n = INPUTS.fetch_add(1, Ordering::Relaxed) + 1;
    let v = VALID.fetch_add(u64::from(valid), Ordering::Relaxed) + u64::from(valid);
    let mut m = 1000;
    while m < n {
        m *= 10;
    }
    if m == n {
        eprintln!("programs: {v} of {n} generated programs check ({:.1}%)", 100.0 * v as f64 / n as f64);
    }
}

fuzz_target!(|data: &[u8]| match programs::fuzz_input(data) {
    Ok(_) => count(true),
    Err(Failure::DoesNotCheck(diagnostic)) => {
        count(false);
        if std::env::var_os("CANON_FUZZ_SHOW_INVALID").is_some() {
            eprintln!("{diagnostic}");
        }
    }
    Err(Failure::Diverges(divergence)) => panic!("{divergence}"),
});
