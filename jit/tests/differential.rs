//! Differential testing: random well-typed programs and random events (the
//! generator of `common/programs.rs`, shared with the `programs` fuzz target)
//! run through the interpreter (the reference) and the JIT; every outcome line
//! must be byte-identical. A few seconds in CI; `PROPTEST_CASES=2000` for
//! minutes. Every divergence ever found stays in `tests/regressions/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use canon_jit::JitEngine;
use canon_runtime::{Engine, Tables};
use common::programs::{compare, compare_package, fuzz_input, traced, Failure, Gen, Rng};
use proptest::prelude::*;

mod common;

/// `PROPTEST_CASES` when set, else `default` (for minutes-long runs on demand).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), .. ProptestConfig::default() })]

    #[test]
    fn jit_matches_interpreter(seed in any::<u64>()) {
        // On a thread with the stack `canon` runs with (its main thread's
        // 8 MiB, here 64 MiB for debug builds' larger frames), not libtest's
        // 2 MiB: a deeply nested generated program overflowed that once.
        let result = std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || {
                let mut rng = Rng::new(seed, &[]);
                let mut g = Gen::new(&mut rng);
                let src = g.program();
                let events: Vec<String> = (0..12).map(|n| g.event(n)).collect();
                compare(&src, &events, true)
            })
            .unwrap()
            .join()
            .unwrap();
        if let Err(e) = result {
            prop_assert!(false, "{}", e);
        }
    }
}

/// Every divergence the property test ever found, kept as a regression case.
#[test]
fn regressions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let Ok(rd) = std::fs::read_dir(&dir) else { return };
    let mut n = 0;
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "canon") {
            let src = std::fs::read_to_string(&p).unwrap();
            let events: Vec<String> =
                std::fs::read_to_string(p.with_extension("jsonl")).unwrap().lines().map(String::from).collect();
            compare(&src, &events, true).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
    }
    assert!(n > 0, "no regression cases in {}", dir.display());
}

/// The `programs` fuzz target's committed seed inputs, replayed as it runs
/// them (`fuzz_input`): the byte-driven side of the generator, in CI.
#[test]
fn fuzz_seeds_match() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/programs");
    let rd = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let (mut inputs, mut checked) = (0, 0);
    for e in rd.flatten() {
        let data = std::fs::read(e.path()).unwrap();
        inputs += 1;
        match fuzz_input(&data) {
            Ok(_) => checked += 1,
            Err(Failure::DoesNotCheck(_)) => {}
            Err(Failure::Diverges(d)) => panic!("{}: {d}", e.path().display()),
        }
    }
    assert!(checked > 0, "none of the {inputs} seeds in {} gives a program that checks", dir.display());
}

/// The shared conformance cases and the examples run identically on both engines.
#[test]
fn conformance_and_examples_match() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = Vec::new();
    for base in ["tests/conformance/shared", "tests/conformance"] {
        if let Ok(rd) = std::fs::read_dir(root.join(base)) {
            dirs.extend(rd.flatten().map(|e| e.path()));
        }
    }
    dirs.push(root.join("examples/timesheets"));
    dirs.push(root.join("examples/expenses"));
    dirs.push(root.join("examples/leave-routing"));
    dirs.push(root.join("examples/global-posting"));
    dirs.push(root.join("examples/fee-allocation"));
    let mut checked = 0;
    for d in dirs {
        let events = d.join("events.jsonl");
        if !events.exists() {
            continue;
        }
        let Ok(pkg) = canon_runtime::load(&d) else { continue };
        if pkg.has_errors() {
            continue;
        }
        let p = pkg.package();
        let Ok(tables) = Tables::load(&p, &pkg.data_dir(), false) else { continue };
        let lines: Vec<String> = std::fs::read_to_string(&events)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect();
        compare_package(p, tables, &lines, true, &d.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} packages compared");
}

const TS_EVENT: &str = r#"{"specversion":"1.0","id":"evt-1","source":"urn:acme:timetrack","type":"com.acme.timesheet.approved","time":"2026-10-05T09:00:00Z","correlationid":"corr-1","data":{"timesheetId":"TS-1","employee":{"id":"E1","role":"Senior","region":"EU","kind":"Contractor","costCenter":"CC-1"},"projectCode":"P-0001","task":"T-1","workDate":"2026-10-01","hours":"7.50","approvedBy":"M-1","approvedAt":"2026-10-05T09:00:00Z"}}"#;

fn timesheet_engines() -> &'static (Engine, JitEngine, JitEngine) {
    static E: std::sync::OnceLock<(Engine, JitEngine, JitEngine)> = std::sync::OnceLock::new();
    E.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/timesheets");
        let pkg = canon_runtime::load(&root).unwrap();
        let p = pkg.package();
        let tables = Tables::load(&p, &root.join("data"), false).unwrap();
        let jit = JitEngine::new(p.clone(), &tables).unwrap();
        let lineage = JitEngine::with_lineage(p.clone(), &tables).unwrap();
        (Engine::new(p, tables), jit, lineage)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), .. ProptestConfig::default() })]

    /// Mutated event lines (broken JSON, wrong types, odd values) give the same
    /// outcome on both engines, through the JIT's fast path and its fallback.
    #[test]
    fn mutated_events_match(at in 0usize..TS_EVENT.len(), len in 0usize..12, insert in "[\\[\\]{}\",:0-9a-zA-Z.\\\\ -]{0,8}") {
        let (interp, jit, lineage) = timesheet_engines();
        let bytes = TS_EVENT.as_bytes();
        let end = (at + len).min(bytes.len());
        let mut v = bytes[..at].to_vec();
        v.extend_from_slice(insert.as_bytes());
        v.extend_from_slice(&bytes[end..]);
        let line = String::from_utf8_lossy(&v).into_owned();
        let mut a = String::new();
        interp.write_outcome(&interp.evaluate(1, &line), &mut a);
        let mut b = String::new();
        jit.evaluate_json(1, &line, &mut b);
        prop_assert_eq!(a, b, "line: {}", line);
        prop_assert_eq!(traced(&interp.evaluate_traced(1, &line)), traced(&lineage.evaluate_traced(1, &line)), "line: {}", line);
    }
}

const META_PROGRAM: &str = r#"
event Ping as "com.example.meta" {
  note: Text?
  n: Int?
}
record Out {
  id: Text
  source: Text
  type: Text
  time: Timestamp?
  subject: Text?
  corr: Text?
  idem: Text
  note: Text
}
destination out: Out
on Ping as p {
  emit out Out {
    id: meta.id,
    source: meta.source,
    type: meta.type,
    time: meta.time,
    subject: meta.subject,
    corr: meta.correlation_id,
    idem: meta.idempotency_key,
    note: p.note ?? "-",
  }
}
"#;

/// An envelope attribute: absent, or one of a few JSON texts (valid,
/// escaped, empty, null, of the wrong type).
fn attr(rng: &mut Rng<'_>, name: &str, values: &[&str]) -> Option<String> {
    let i = rng.gen_range(0..values.len() + 1);
    values.get(i).map(|v| format!("\"{name}\":{v}"))
}

/// A random envelope around a random `data`, attributes in a random order.
fn envelope_line(rng: &mut Rng<'_>) -> String {
    let s = |xs: &[&'static str]| xs.to_vec();
    let text = s(&["\"a\"", "\"a\\u0062\\\"c\"", "\"\"", "null", "7", "\"ÉtÉ \\u2028\""]);
    let mut attrs: Vec<Option<String>> = vec![
        attr(rng, "specversion", &["\"1.0\"", "\"1.0\"", "\"1.0\"", "\"0.3\"", "1.0", "\"1\\u002e0\""]),
        attr(rng, "id", &text),
        attr(rng, "id", &["\"e1\"", "\"e1\""]),
        attr(rng, "source", &text),
        attr(rng, "source", &["\"s\"", "\"urn:x\""]),
        attr(
            rng,
            "type",
            &[
                "\"com.example.meta\"",
                "\"com.example.meta\"",
                "\"com.example.other\"",
                "\"com.example.\\u006deta\"",
                "null",
            ],
        ),
        attr(rng, "time", &["\"2026-10-05T09:00:00Z\"", "\"2026-10-05T09:00:00+02:00\"", "\"yesterday\"", "null", "3"]),
        attr(rng, "subject", &text),
        attr(rng, "correlationid", &text),
        attr(rng, "datacontenttype", &["\"application/json\"", "\"text/plain\"", "null", "1"]),
        attr(rng, "idempotencykey", &text),
        attr(rng, "extra", &["{\"id\":1}", "[1,2]", "\"x\""]),
        attr(
            rng,
            "data",
            &[
                "{}",
                "null",
                "{\"note\":\"hi\"}",
                "{\"note\":\"\\u00e9\\\"q\"}",
                "{\"note\":5}",
                "{\"n\":1,\"n\":2}",
                "{\"n\":-0}",
                "[]",
            ],
        ),
        attr(rng, "data", &["{\"note\":\"x\"}"]),
    ];
    // The common case most of the time: exactly one of each required attribute.
    if rng.gen_bool(0.6) {
        attrs[0] = Some("\"specversion\":\"1.0\"".into());
        attrs[1] = None;
        attrs[2] = Some("\"id\":\"e1\"".into());
        attrs[3] = None;
        attrs[4] = Some("\"source\":\"s\"".into());
        if attrs[5].is_none() {
            attrs[5] = Some("\"type\":\"com.example.meta\"".into());
        }
        attrs[13] = None;
    }
    let mut fields: Vec<String> = attrs.into_iter().flatten().collect();
    for i in (1..fields.len()).rev() {
        let j = rng.gen_range(0..i + 1);
        fields.swap(i, j);
    }
    let ws = if rng.gen_bool(0.2) { " " } else { "" };
    format!("{ws}{{{}}}{ws}", fields.join(&format!(",{ws}")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), .. ProptestConfig::default() })]

    /// Envelopes in every order and shape (escapes, duplicates, `data` before
    /// `type`, missing or wrong attributes) give the same outcome through the
    /// JIT's one-pass decoder as through the shared envelope decoder.
    #[test]
    fn envelope_variants_match(seed in any::<u64>()) {
        let mut rng = Rng::new(seed, &[]);
        let events: Vec<String> = (0..8).map(|_| envelope_line(&mut rng)).collect();
        if let Err(e) = compare(META_PROGRAM, &events, true) {
            prop_assert!(false, "{}", e);
        }
    }
}
