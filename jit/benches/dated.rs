//! An effective-dated lookup (LANGUAGE.md §5.1) against an exact-key lookup,
//! each table 1,000,000 rows, events already decoded, both engines. Prints
//! the ratio (target: the dated lookup within 2x of the exact one).
//! `cargo bench -p canon-jit --bench dated` (`EVENTS`, `KEYS` to change the
//! workload: KEYS keys of 1,000,000 / KEYS rows of history each).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bumpalo::Bump;
use canon_compiler::types::{Ty, ENVELOPE};
use canon_jit::cell::{to_cell, Cell};
use canon_jit::JitEngine;
use canon_runtime::engine::{decode_line, Decoded, Ready};
use canon_runtime::value::Value;
use canon_runtime::{package, Engine, Tables};
use canon_stdlib::{num, time, Currency, Date};

const SOURCE: &str = r#"
record Rate { grade: Text, valid_from: Date, rate: Money }
record Plain { id: Text, rate: Money }
table dated: Rate key grade effective valid_from
table plain: Plain key id
event D as "d" { grade: Text, day: Date }
event P as "p" { id: Text }
record R { rate: Money? }
destination out: R
on D as e { emit out R { rate: dated[e.grade as of e.day]?.rate } }
on P as e { emit out R { rate: plain[e.id]?.rate } }
"#;

const ROWS: usize = 1_000_000;

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

/// A small deterministic generator (splitmix64).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn main() {
    let n: usize = std::env::var("EVENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let keys: usize = std::env::var("KEYS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000);
    let per_key = ROWS / keys;
    let pkg = package::from_sources(PathBuf::from("."), vec![("bench.canon".into(), SOURCE.to_string())]);
    assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics());
    let checked = pkg.package();
    let start = time::parse_date("2000-01-01").unwrap().0;
    let usd = Currency::parse("USD").unwrap();
    let money = |i: usize| Value::Money(num::parse(&format!("{}.25", i % 1000)).unwrap(), usd);
    let mut tables = Tables::empty(&checked);
    let t = Instant::now();
    let dated_rows: Vec<Value> = (0..keys)
        .flat_map(|k| {
            (0..per_key).map(move |d| {
                Value::Record(
                    vec![Value::Text(format!("G{k}").into()), Value::Date(Date(start + d as i32)), money(d)].into(),
                )
            })
        })
        .collect();
    let plain_rows: Vec<Value> =
        (0..ROWS).map(|i| Value::Record(vec![Value::Text(format!("ID{i}").into()), money(i)].into())).collect();
    tables.set_rows(&checked, checked.table_by_name("dated").unwrap().0, dated_rows).unwrap();
    tables.set_rows(&checked, checked.table_by_name("plain").unwrap().0, plain_rows).unwrap();
    let load = t.elapsed();

    let mut s = 12u64;
    let mut dated_lines = Vec::with_capacity(n);
    let mut plain_lines = Vec::with_capacity(n);
    for i in 0..n {
        let k = next(&mut s) as usize % keys;
        let mut day = String::new();
        time::format_date(Date(start + (next(&mut s) % (per_key as u64 + 30)) as i32 - 10), &mut day);
        dated_lines.push(format!(
            r#"{{"specversion":"1.0","id":"{i}","source":"s","type":"d","data":{{"grade":"G{k}","day":"{day}"}}}}"#
        ));
        let id = next(&mut s) as usize % (ROWS + ROWS / 100);
        plain_lines
            .push(format!(r#"{{"specversion":"1.0","id":"{i}","source":"s","type":"p","data":{{"id":"ID{id}"}}}}"#));
    }
    let ready = |lines: &[String]| -> Vec<Ready> {
        lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match decode_line(&checked, i as u64 + 1, l) {
                Decoded::Ready(r) => Some(r),
                Decoded::Done(_) => None,
            })
            .collect()
    };
    let (dated_ready, plain_ready) = (ready(&dated_lines), ready(&plain_lines));
    assert_eq!(dated_ready.len(), n);
    assert_eq!(plain_ready.len(), n);
    let arena = Bump::new();
    let cells = |rs: &[Ready]| -> Vec<(usize, Cell, Cell)> {
        rs.iter()
            .map(|r| {
                let h = &checked.handlers[r.handler];
                (
                    r.handler,
                    to_cell(&checked, &arena, &Ty::Record(h.event), &r.event),
                    to_cell(&checked, &arena, &Ty::Record(ENVELOPE), &r.meta),
                )
            })
            .collect()
    };
    let (dated_cells, plain_cells) = (cells(&dated_ready), cells(&plain_ready));

    let interp = Engine::new(checked.clone(), tables.clone());
    let jit = JitEngine::new(checked.clone(), &tables).unwrap();
    let mut sink = 0usize;
    let mut interp_t = |rs: &[Ready]| {
        best(3, || {
            for r in rs {
                sink += interp.run_decoded(r.clone()).emits.len();
            }
        })
    };
    let (ip, id) = (interp_t(&plain_ready), interp_t(&dated_ready));
    let mut jit_t = |cs: &[(usize, Cell, Cell)]| {
        best(5, || {
            for (h, e, m) in cs {
                sink += jit.run_cells(*h, e, m).1;
            }
        })
    };
    let (jp, jd) = (jit_t(&plain_cells), jit_t(&dated_cells));
    let ns = |d: Duration| d.as_secs_f64() * 1e9 / n as f64;
    println!(
        "tables of {ROWS} rows each ({keys} keys x {per_key} rows of history); rows given in {:.2} s",
        load.as_secs_f64()
    );
    println!("{n} events decoded once, then evaluated (one lookup each), best of 3 (interpreter) / 5 (JIT):");
    println!(
        "  interpreter: exact key {:>7.0} ns/event, as of {:>7.0} ns/event, ratio {:.2}",
        ns(ip),
        ns(id),
        ns(id) / ns(ip)
    );
    println!(
        "  JIT:         exact key {:>7.0} ns/event, as of {:>7.0} ns/event, ratio {:.2}   (target <= 2)",
        ns(jp),
        ns(jd),
        ns(jd) / ns(jp)
    );
    assert!(sink > 0);
}
