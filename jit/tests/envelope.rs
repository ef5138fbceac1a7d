//! The JIT's one-pass envelope decoder against the shared one
//! (`canon_runtime::envelope`): random CloudEvents envelopes built from
//! valid and invalid attribute values (docs/spec/RUNTIME.md §1.1) must give
//! byte-identical outcome lines through the JIT's fast path, its shared
//! path and the interpreter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

use std::path::PathBuf;

use canon_jit::JitEngine;
use canon_runtime::{package, Engine, Tables};
use proptest::prelude::*;

const SOURCE: &str = r#"
event E as "com.example.e" {
  n: Int
  note: Text?
}
record Out { n: Int, id: Text, idem: Text, t: Timestamp?, s: Text?, c: Text? }
destination out: Out
on E as e {
  emit out Out { n: e.n, id: meta.id, idem: meta.idempotency_key, t: meta.time, s: meta.subject, c: meta.correlation_id }
}
"#;

/// Candidate values of each member, valid and not (JSON text; `None` leaves the member out).
const MEMBERS: &[(&str, &[&str])] = &[
    ("specversion", &[r#""1.0""#, r#""1.0""#, r#""0.3""#, "1.0", "null"]),
    ("id", &[r#""e1""#, r#""e1""#, r#""""#, r#""a\u0001""#, r#""\ud800""#, r#""\ufffe""#, "7", r#""é😀""#]),
    ("source", &[r#""urn:s""#, r#""/a/b?c#d""#, r#""a b""#, r#""""#, r#""%zz""#, r#""\u0085""#, "null"]),
    ("type", &[r#""com.example.e""#, r#""com.example.e""#, r#""other""#, r#""""#, "[]"]),
    (
        "time",
        &[r#""2026-11-20T17:05:00Z""#, r#""2016-12-31T23:59:60Z""#, r#""2016-12-31T12:00:60Z""#, r#""x""#, "null", "1"],
    ),
    ("subject", &[r#""s""#, r#""""#, "null", "1", r#""\u007f""#]),
    (
        "datacontenttype",
        &[
            r#""application/json""#,
            r#""Application/Json; CharSet=UTF-8""#,
            r#""text/plain""#,
            r#""json""#,
            r#""a/b+json""#,
            r#""""#,
        ],
    ),
    ("dataschema", &[r#""https://x.example/s""#, r#""rel""#, r#""https://x.example/s#f""#, r#""""#]),
    ("correlationid", &[r#""c-1""#, r#""""#, "1", "null"]),
    ("idempotencykey", &[r#""K""#, r#""""#, "null", "true", r#""\ud800x""#]),
    (
        "ext",
        &[
            r#""v""#,
            "true",
            "2147483647",
            "2147483648",
            "-2147483648",
            "1.0",
            "1e2",
            "{}",
            "[1]",
            "null",
            r#""\u0000""#,
        ],
    ),
    ("Bad", &["1"]),
    ("my-ext", &["1"]),
    ("data", &[r#"{"n":1}"#, r#"{"n":"x"}"#, "null", r#"{"n":2,"\ud800":1,"note":"\udc00"}"#, "[]", "{}"]),
    ("data_base64", &[r#""eyJuIjo3fQ==""#, r#""***""#, r#""aGVsbG8=""#, "null", "5"]),
];

/// A random envelope: mostly the required members valid, the others present
/// at random, in random order, sometimes one repeated.
fn line(rng: &mut Rng) -> String {
    let mut members: Vec<String> = Vec::new();
    for (i, (name, values)) in MEMBERS.iter().enumerate() {
        let required = i < 4 || *name == "data";
        let present =
            if required { rng.below(10) != 0 } else { rng.below(if values.len() == 1 { 24 } else { 4 }) == 0 };
        if !present {
            continue;
        }
        // The first value (a valid one) most of the time.
        let v = if rng.below(if required { 4 } else { 2 }) != 0 { values[0] } else { values[rng.below(values.len())] };
        members.push(format!("\"{name}\":{v}"));
    }
    if !members.is_empty() && rng.below(8) == 0 {
        let again = members[rng.below(members.len())].clone();
        members.push(again);
    }
    for i in (1..members.len()).rev() {
        members.swap(i, rng.below(i + 1));
    }
    format!("{{{}}}", members.join(","))
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), .. ProptestConfig::default() })]

    #[test]
    fn fast_path_envelopes_match_the_interpreter(seed in any::<u64>()) {
        let pkg = package::from_sources(PathBuf::from("."), vec![("e.canon".into(), SOURCE.to_string())]);
        prop_assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics());
        let checked = pkg.package();
        let tables = Tables::empty(&checked);
        let interp = Engine::new(checked.clone(), tables.clone());
        let jit = JitEngine::new(checked, &tables).unwrap();
        let mut rng = Rng(seed);
        for n in 0..64u64 {
            let l = line(&mut rng);
            let mut want = String::new();
            interp.write_outcome(&interp.evaluate(n, &l), &mut want);
            let mut shared = String::new();
            jit.write_outcome(&jit.evaluate(n, &l), &mut shared);
            let mut fast = String::new();
            jit.evaluate_json(n, &l, &mut fast);
            prop_assert_eq!(&want, &shared, "{}", l);
            prop_assert_eq!(&want, &fast, "{}", l);
        }
    }
}

#[test]
fn some_envelopes_are_valid() {
    // The generator reaches accepted events, not only invalid ones.
    let pkg = package::from_sources(PathBuf::from("."), vec![("e.canon".into(), SOURCE.to_string())]);
    let checked = pkg.package();
    let tables = Tables::empty(&checked);
    let interp = Engine::new(checked, tables);
    let mut rng = Rng(7);
    let statuses: Vec<_> = (0..2000).map(|n| interp.evaluate(n, &line(&mut rng)).status).collect();
    assert!(!pkg.has_errors());
    let accepted = statuses.iter().filter(|s| **s == canon_runtime::Status::Accepted).count();
    assert!(accepted > 100, "{accepted} accepted of 2000");
}
