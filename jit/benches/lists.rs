//! `sort_by` over 10,000 records in a handler, JIT against interpreter
//! (issue 13: the JIT at least 3x): the event is decoded once, then each
//! engine evaluates the handler, which sorts the records by a key of each
//! ordered kind and emits the first and last of each order.
//! `cargo bench -p canon-jit --bench lists` (`ROWS=n` for another size).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bumpalo::Bump;
use canon_compiler::types::{Ty, ENVELOPE};
use canon_jit::cell::to_cell;
use canon_jit::JitEngine;
use canon_runtime::engine::{decode_line, Decoded};
use canon_runtime::{package, Engine, Tables};

const SOURCE: &str = r#"
record Row {
  id: Int
  rank: Int
  name: Text
  hours: Decimal
  cost: Money
  day: Date
}
event Batch as "batch" {
  by: Text
  rows: List<Row>
}
record Out {
  first: Int
  last: Int
  n: Int
}
destination out: Out

on Batch as b {
  let sorted = match b.by {
    "hours" => sort_by(b.rows, r => r.hours),
    "name" => sort_by(b.rows, r => r.name),
    "cost" => sort_by(b.rows, r => r.cost, Descending),
    "day" => sort_by(b.rows, r => r.day),
    _ => sort_by(b.rows, r => r.rank),
  }
  emit out Out { first: first(sorted)?.id ?? -1, last: sorted[len(sorted) - 1]?.id ?? -1, n: len(sorted) }
}
"#;

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

/// One event of `n` rows whose keys are pseudo-random (a fixed LCG), with repeats.
fn event(key: &str, n: usize) -> String {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        x >> 33
    };
    let mut rows = String::new();
    for i in 0..n {
        let (h, c, d, t, r) = (next() % 4000, next() % 1_000_000, next() % 365, next() % 100_000, next() % 5000);
        if i > 0 {
            rows.push(',');
        }
        write!(
            rows,
            r#"{{"id":{i},"rank":{r},"name":"worker {t:05}","hours":"{}.{:02}","cost":{{"amount":"{}.{:02}","currency":"EUR"}},"day":"2026-{:02}-{:02}"}}"#,
            h / 100,
            h % 100,
            c / 100,
            c % 100,
            1 + d / 31 % 12,
            1 + d % 28
        )
        .unwrap();
    }
    format!(
        r#"{{"specversion":"1.0","id":"b1","source":"bench","type":"batch","data":{{"by":"{key}","rows":[{rows}]}}}}"#
    )
}

fn main() {
    let n: usize = std::env::var("ROWS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let pkg = package::from_sources(PathBuf::from("."), vec![("lists.canon".into(), SOURCE.to_string())]);
    assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics());
    let checked = pkg.package();
    let tables = Tables::empty(&checked);
    let interp = Engine::new(checked.clone(), tables.clone());
    let jit = JitEngine::new(checked.clone(), &tables).unwrap();
    println!("sort_by over {n} records in a handler, evaluation alone (event decoded once), best of 7:");
    let mut worst = f64::INFINITY;
    for key in ["hours", "name", "cost", "day", "rank"] {
        let line = event(key, n);
        let Decoded::Ready(ready) = decode_line(&checked, 1, &line) else { panic!("event does not decode") };
        let arena = Bump::new();
        let h = &checked.handlers[ready.handler];
        let e = to_cell(&checked, &arena, &Ty::Record(h.event), &ready.event);
        let m = to_cell(&checked, &arena, &Ty::Record(ENVELOPE), &ready.meta);
        // Both engines agree on the outcome.
        let (mut a, mut b) = (String::new(), String::new());
        interp.write_outcome(&interp.run_decoded(ready.clone()), &mut a);
        jit.write_outcome(&jit.run_decoded(ready.clone()), &mut b);
        assert_eq!(a, b, "engines differ on {key}");
        assert!(a.contains("accepted"), "{a}");
        let mut sink = 0usize;
        let interp_t = best(7, || sink += interp.run_decoded(ready.clone()).emits.len());
        let jit_t = best(7, || sink += jit.run_cells(ready.handler, &e, &m).1);
        assert!(sink > 0);
        let ratio = interp_t.as_secs_f64() / jit_t.as_secs_f64();
        worst = worst.min(ratio);
        println!(
            "  by {key:<5}  interpreter {:>8.3} ms   JIT {:>8.3} ms   ratio {ratio:.2}x",
            interp_t.as_secs_f64() * 1e3,
            jit_t.as_secs_f64() * 1e3
        );
    }
    println!("lowest ratio JIT/interpreter: {worst:.2}x   (target >= 3x)");
}
