//! Short property tests that no input makes the front end or the engine
//! panic: random token soup and mutated real sources through parse + check,
//! and random or mutated event lines through decoding and evaluation (the
//! outcome must always be one valid JSON line). The cargo-fuzz targets in
//! `fuzz/` run the same entry points for as long as you like.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use canon_runtime::{package, Engine, Tables};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "enum",
    "record",
    "event",
    "destination",
    "table",
    "fn",
    "decision",
    "on",
    "test",
    "as",
    "key",
    "hit",
    "first",
    "unique",
    "collect",
    "let",
    "check",
    "require",
    "reject",
    "emit",
    "if",
    "then",
    "else",
    "match",
    "for",
    "in",
    "not",
    "and",
    "or",
    "none",
    "true",
    "false",
    "given",
    "expect",
    "with",
    "assert",
    "accepted",
    "no",
    "file",
    "X",
    "Y",
    "Role",
    "Partner",
    "t",
    "x",
    "hours",
    "Decimal",
    "Int",
    "Money",
    "Text",
    "Date",
    "List",
    "<",
    ">",
    "?",
    "?.",
    ".",
    ",",
    ":",
    "->",
    "=>",
    "=",
    "==",
    "!=",
    "<=",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "??",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "|",
    "||",
    "..",
    "_",
    "\n",
    " ",
    "0",
    "12.50",
    "125.50 USD",
    "\"a {x} b\"",
    "\"",
    "@\"2026-11-25\"",
    "CODE",
    "round",
    "sum",
    "//c\n",
    "///d\n",
    "é",
    "\u{0}",
    "99999999999999999999",
    "state",
    "metric",
    "put",
    "update",
    "delete",
    "where",
    "by",
    "age",
    "days",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|t| t.join(" "))
}

fn example_sources() -> &'static Vec<String> {
    static S: OnceLock<Vec<String>> = OnceLock::new();
    S.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut out = Vec::new();
        for dir in [
            "examples/timesheets",
            "examples/expenses",
            "tests/conformance/shared/013-diag-decisions",
            "tests/conformance/s02-state-update-delete",
            "tests/conformance/s05-state-diagnostics",
        ] {
            if let Ok(rd) = std::fs::read_dir(root.join(dir)) {
                for e in rd.flatten() {
                    if e.path().extension().is_some_and(|x| x == "canon") {
                        out.push(std::fs::read_to_string(e.path()).unwrap());
                    }
                }
            }
        }
        out
    })
}

fn mutate(src: &str, at: usize, len: usize, insert: &str) -> String {
    let bytes = src.as_bytes();
    let at = at % (bytes.len() + 1);
    let end = (at + len).min(bytes.len());
    let mut v = bytes[..at].to_vec();
    v.extend_from_slice(insert.as_bytes());
    v.extend_from_slice(&bytes[end..]);
    String::from_utf8_lossy(&v).into_owned()
}

fn check_source(src: String) {
    let pkg = package::from_sources(PathBuf::from("."), vec![("fuzz.canon".into(), src)]);
    let _ = pkg.diagnostics();
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/timesheets");
        let pkg = canon_runtime::load(&root).unwrap();
        let checked = pkg.package();
        let tables = Tables::load(&checked, &root.join("data"), false).unwrap();
        Engine::new(checked, tables)
    })
}

const EVENT: &str = r#"{"specversion":"1.0","id":"evt-1","source":"urn:acme:timetrack","type":"com.acme.timesheet.approved","time":"2026-10-05T09:00:00Z","correlationid":"corr-1","data":{"timesheetId":"TS-1","employee":{"id":"E1","role":"Senior","region":"EU","kind":"Contractor","costCenter":"CC-1"},"projectCode":"P-0001","task":"T-1","workDate":"2026-10-01","hours":"7.50","approvedBy":"M-1","approvedAt":"2026-10-05T09:00:00Z"}}"#;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        "[-0-9.eE]{1,12}".prop_map(serde_json::Value::String),
        prop::sample::select(vec!["Senior", "EU", "Contractor", "P-0001", "2026-10-01", "2026-10-05T09:00:00Z", "7.5"])
            .prop_map(|s| serde_json::Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "timesheetId",
                        "employee",
                        "projectCode",
                        "task",
                        "workDate",
                        "hours",
                        "approvedBy",
                        "approvedAt",
                        "role",
                        "region",
                        "kind",
                        "id",
                        "costCenter",
                        "x"
                    ]),
                    inner
                ),
                0..8
            )
            .prop_map(|kv| serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn evaluate(line: &str) {
    let o = engine().evaluate(1, line);
    let mut out = String::new();
    engine().write_outcome(&o, &mut out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("invalid outcome {out}: {e}"));
    assert!(v["status"].is_string());
}

/// The package of a snapshot, and a snapshot of it with every kind of value.
fn snapshot_package() -> &'static (std::sync::Arc<canon_compiler::ir::Package>, String) {
    static P: OnceLock<(std::sync::Arc<canon_compiler::ir::Package>, String)> = OnceLock::new();
    P.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/s02-state-update-delete");
        let pkg = canon_runtime::load(&root).unwrap().package();
        let snap = concat!(
            r#"{"state":"accounts","key":["US",1],"record":{"entity":"US","number":1,"owner":{"name":"Ann","tier":"Gold"},"balance":{"amount":"120.50","currency":"USD"},"tags":["a","b"],"closed_on":"2026-12-01"}}"#,
            "\n",
            r#"{"state":"accounts","key":["DE",2],"record":{"entity":"DE","number":2,"owner":{"name":"Bo","tier":"Silver"},"balance":{"amount":"0","currency":"EUR"},"tags":[],"closed_on":null}}"#,
            "\n"
        );
        (pkg, snap.to_string())
    })
}

fn read_snapshot(text: &str) {
    let (pkg, _) = snapshot_package();
    let tables = Tables::empty(pkg);
    if let Ok(store) = canon_runtime::state::Store::read_snapshot(pkg, &tables, text) {
        // What was read writes back as a snapshot that reads again to the same.
        let mut out = Vec::new();
        store.write_snapshot(pkg, &mut out).unwrap();
        let again = canon_runtime::state::Store::read_snapshot(pkg, &tables, &String::from_utf8(out.clone()).unwrap())
            .unwrap_or_else(|e| panic!("a written snapshot does not read: {e}"));
        let mut out2 = Vec::new();
        again.write_snapshot(pkg, &mut out2).unwrap();
        assert_eq!(out, out2);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn mutated_snapshots_never_panic(at in any::<usize>(), len in 0usize..20, insert in "[\\[\\]{}\",:0-9a-zA-Z.\\\\-]{0,8}") {
        let (_, snap) = snapshot_package();
        read_snapshot(&mutate(snap, at, len, &insert));
    }

    #[test]
    fn token_soup_never_panics(src in soup()) {
        check_source(src);
    }

    #[test]
    fn mutated_sources_never_panic(i in 0usize..16, at in any::<usize>(), len in 0usize..40, insert in prop::sample::select(TOKENS)) {
        let srcs = example_sources();
        let src = &srcs[i % srcs.len()];
        check_source(mutate(src, at, len, insert));
    }

    #[test]
    fn random_event_data_never_panics(data in json_value()) {
        let mut ev: serde_json::Value = serde_json::from_str(EVENT).unwrap();
        ev["data"] = data;
        evaluate(&ev.to_string());
    }

    #[test]
    fn mutated_event_lines_never_panic(at in any::<usize>(), len in 0usize..20, insert in "[\\[\\]{}\",:0-9a-z.\\\\-]{0,6}") {
        evaluate(&mutate(EVENT, at, len, &insert));
    }
}
