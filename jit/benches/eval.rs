//! Evaluation alone (events already decoded), JIT against interpreter, on the
//! timesheet workload; and the JIT's compile time. Prints ratios measured in
//! the same run. `cargo bench -p canon-jit` (needs python3 for the generator).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bumpalo::Bump;
use canon_compiler::types::{Ty, ENVELOPE};
use canon_jit::cell::{to_cell, Cell};
use canon_jit::JitEngine;
use canon_runtime::engine::{decode_line, Decoded, Ready};
use canon_runtime::{Engine, Tables};

fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let n: usize = std::env::var("EVENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // BENCH_DIR: an already generated workload (events.jsonl and data/).
    let given = std::env::var_os("BENCH_DIR").map(PathBuf::from);
    let tmp =
        given.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("canon-bench-eval-{}", std::process::id())));
    if given.is_none() {
        let ok = Command::new("python3")
            .arg(root.join("bench/workload/gen.py"))
            .args(["--events", &n.to_string(), "--out"])
            .arg(&tmp)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let pkg = canon_runtime::load(&root.join("examples/timesheets")).unwrap();
    let checked = pkg.package();
    let tables = Tables::load(&checked, &tmp.join("data"), false).unwrap();
    let interp = Engine::new(checked.clone(), tables.clone());

    let t = Instant::now();
    let jit = JitEngine::new(checked.clone(), &tables).unwrap();
    let compile_wall = t.elapsed();

    let text = std::fs::read_to_string(tmp.join("events.jsonl")).unwrap();
    let ready: Vec<Ready> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| match decode_line(&checked, i as u64 + 1, l) {
            Decoded::Ready(r) => Some(r),
            Decoded::Done(_) => None,
        })
        .collect();
    let arena = Bump::new();
    let cells: Vec<(usize, Cell, Cell)> = ready
        .iter()
        .map(|r| {
            let h = &checked.handlers[r.handler];
            (
                r.handler,
                to_cell(&checked, &arena, &Ty::Record(h.event), &r.event),
                to_cell(&checked, &arena, &Ty::Record(ENVELOPE), &r.meta),
            )
        })
        .collect();

    let mut sink = 0usize;
    if std::env::var_os("JIT_ONLY").is_some() {
        // For profiling: the JIT's evaluation loop alone.
        for _ in 0..30 {
            for (h, e, m) in &cells {
                sink += jit.run_cells(*h, e, m).1;
            }
        }
        println!("{sink}");
        return;
    }
    let interp_t = best(3, || {
        for r in &ready {
            sink += interp.run_decoded(r.clone()).emits.len();
        }
    });
    let jit_t = best(3, || {
        for (h, e, m) in &cells {
            sink += jit.run_cells(*h, e, m).1;
        }
    });
    let per = |d: Duration| ready.len() as f64 / d.as_secs_f64();
    println!("events decoded once, then evaluated ({} events, best of 3):", ready.len());
    println!("  interpreter: {:>12.0} events/s", per(interp_t));
    println!("  JIT:         {:>12.0} events/s", per(jit_t));
    println!("  ratio JIT/interpreter: {:.2}x   (target >= 5x)", interp_t.as_secs_f64() / jit_t.as_secs_f64());
    println!("JIT compile time of the timesheet package: {:.1} ms (target < 50 ms)", compile_wall.as_secs_f64() * 1e3);
    assert!(sink > 0);
    if given.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
