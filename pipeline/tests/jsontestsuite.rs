//! JSONTestSuite's parsing cases (`jsontestsuite/`, every `y_`, `n_` and
//! `i_` document) as a whole line, as an event's `data` and as one field of
//! `data`: no panic, the same outcomes from the interpreter and the JIT, and
//! in the durable pipeline every event with a valid envelope keyed by its
//! source and id, so the same events sent again with other spacing are all
//! duplicates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::time::Duration;

use canon_pipeline::{process, Options, Rules, State};
use serde_json::Value as Json;

const PACKAGE: &str = r#"
event T as "t" {
  f: Text?
}
record Out { f: Text? }
destination out: Out
on T as t {
  emit out Out { f: t.f }
}
"#;

/// The three input files: documents as lines, as `data`, as a field.
fn inputs() -> [Vec<u8>; 3] {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jsontestsuite");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    assert!(names.len() > 300, "the suite is missing: {}", dir.display());
    let (mut whole, mut data, mut field) = (Vec::new(), Vec::new(), Vec::new());
    for (i, p) in names.iter().enumerate() {
        // One line each: the documents' own line breaks become spaces.
        let doc: Vec<u8> =
            std::fs::read(p).unwrap().into_iter().map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }).collect();
        whole.extend_from_slice(&doc);
        whole.push(b'\n');
        data.extend_from_slice(
            format!(r#"{{"specversion":"1.0","id":"d{i}","source":"urn:s","type":"t","data":"#).as_bytes(),
        );
        data.extend_from_slice(&doc);
        data.extend_from_slice(b"}\n");
        field.extend_from_slice(
            format!(r#"{{"specversion":"1.0","id":"f{i}","source":"urn:s","type":"t","data":{{"g":"#).as_bytes(),
        );
        field.extend_from_slice(&doc);
        field.extend_from_slice(b"}}\n");
    }
    [whole, data, field]
}

fn rules(dir: &Path, backend: canon_jit::Backend) -> Rules {
    std::fs::write(dir.join("t.canon"), PACKAGE).unwrap();
    let loaded = canon_runtime::load(dir).unwrap();
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
    let data = loaded.data_dir();
    let tables = canon_runtime::Tables::load(&loaded.package(), &data, false).unwrap();
    Rules::new(&loaded, tables, &data, backend).unwrap()
}

fn run(state: &mut State, rules: &Rules, input: &[u8]) -> Vec<Json> {
    let opts =
        Options { batch_events: 64, batch_latency: Duration::from_millis(50), input_name: "t".into(), workers: 2 };
    let mut out = Vec::new();
    process(state, rules, Box::new(std::io::Cursor::new(input.to_vec())), &mut out, &opts, &mut |_| {}).unwrap();
    String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Each line with one more space after its first `{`.
fn respaced(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 2);
    for line in input.split_inclusive(|b| *b == b'\n') {
        match line.iter().position(|b| *b == b'{') {
            Some(i) => {
                out.extend_from_slice(&line[..=i]);
                out.push(b' ');
                out.extend_from_slice(&line[i + 1..]);
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// An event with a valid envelope (an `invalid` line, or one repeated
/// within the input, says nothing of keying).
fn evaluated(o: &Json) -> bool {
    matches!(o["status"].as_str(), Some("accepted" | "rejected" | "ignored"))
}

#[test]
fn every_document_as_line_data_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let jit = rules(tmp.path(), canon_jit::Backend::Jit);
    assert!(jit.evaluator().compiled());
    let interp = rules(tmp.path(), canon_jit::Backend::Interp);
    for (n, input) in inputs().iter().enumerate() {
        let mut outcomes = Vec::new();
        for (name, rules) in [("jit", &jit), ("interp", &interp)] {
            let mut state = State::open(&tmp.path().join(format!("state-{n}-{name}"))).unwrap();
            let first = run(&mut state, rules, input);
            let again = run(&mut state, rules, &respaced(input));
            assert_eq!(first.len(), again.len());
            for (a, b) in first.iter().zip(&again) {
                if !evaluated(a) {
                    continue;
                }
                // Keyed by source and id: a duplicate, whatever the payload holds.
                assert_eq!(b["status"], "duplicate", "input {n} ({name}): {a} then {b}");
            }
            outcomes.push(first);
        }
        assert_eq!(outcomes[0], outcomes[1], "input {n}: the engines differ");
        let valid = outcomes[0].iter().filter(|o| evaluated(o)).count();
        match n {
            0 => assert_eq!(valid, 0),
            _ => assert!(valid > 100, "input {n}: {valid} valid events"),
        }
    }
}
