//! Every event with a valid envelope is keyed by its idempotency key,
//! whatever its payload holds (lone surrogates, any depth), and lines that
//! are not UTF-8 are told apart by their bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::time::Duration;

use canon_pipeline::exceptions::{self, Filter};
use canon_pipeline::{process, Options, Rules, State};
use serde_json::Value as Json;

const PACKAGE: &str = r#"
event Logged as "com.example.logged" {
  hours: Decimal
}
record Line { hours: Decimal }
destination out: Line
on Logged as l {
  emit out Line { hours: l.hours }
}
"#;

fn rules(dir: &Path) -> Rules {
    std::fs::write(dir.join("rules.canon"), PACKAGE).unwrap();
    let loaded = canon_runtime::load(dir).unwrap();
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
    let data = loaded.data_dir();
    let tables = canon_runtime::Tables::load(&loaded.package(), &data, false).unwrap();
    Rules::new(&loaded, tables, &data, canon_jit::Backend::Jit).unwrap()
}

/// Processes `input` (bytes); the outcome lines.
fn run(state: &mut State, rules: &Rules, input: &[u8]) -> Vec<Json> {
    let opts =
        Options { batch_events: 4, batch_latency: Duration::from_millis(50), input_name: "test".into(), workers: 2 };
    let mut out = Vec::new();
    let input = Box::new(std::io::Cursor::new(input.to_vec()));
    process(state, rules, input, &mut out, &opts, &mut |_| {}).unwrap();
    String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn statuses(lines: &[Json]) -> Vec<&str> {
    lines.iter().map(|o| o["status"].as_str().unwrap()).collect()
}

fn event(id: &str, hours: &str, extra: &str, spacing: &str) -> String {
    format!(
        r#"{{"specversion":"1.0",{spacing}"id":"{id}","source":"urn:t","type":"com.example.logged","data":{{"hours":"{hours}"{extra}}}}}"#
    )
}

#[test]
fn payloads_serde_cannot_hold_or_nest_deep_are_keyed_by_source_and_id() {
    let deep = format!(r#","x":{}1{}"#, "[".repeat(300), "]".repeat(300));
    let deep_objects = format!(r#","y":{}1{}"#, "{\"a\":".repeat(5000), "}".repeat(5000));
    for (n, extra) in [r#","note":"\ud800""#, r#","note":"\udfff x \ud83d""#, &deep, &deep_objects].iter().enumerate() {
        let tmp = tempfile::tempdir().unwrap();
        let rules = rules(tmp.path());
        let mut state = State::open(&tmp.path().join("state")).unwrap();
        let id = format!("e{n}");
        let first = event(&id, "1.50", extra, "");
        let spaced = event(&id, "1.50", extra, " ");
        let other = event(&id, "2.00", extra, "");
        let input = format!("{first}\n{spaced}\n{other}\n{first}\n");
        let lines = run(&mut state, &rules, input.as_bytes());
        assert_eq!(statuses(&lines), ["accepted", "duplicate", "rejected", "duplicate"], "{extra}");
        assert_eq!(lines[2]["rejections"][0]["code"], "IDEMPOTENCY_CONFLICT");
        let conflicts = json_items(
            exceptions::list(&state, &Filter { status: None, code: Some("IDEMPOTENCY_CONFLICT".into()) }).unwrap(),
        );
        assert_eq!(conflicts.len(), 1);
        // Sent again in a later run: still the same key.
        let again = run(&mut state, &rules, spaced.as_bytes());
        assert_eq!(statuses(&again), ["duplicate"]);
    }
}

#[test]
fn lines_that_are_not_utf8_differ_by_their_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(tmp.path());
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    let input = b"{\"id\":\"\xff\"}\n{\"id\":\"\xfe\"}\n{\"id\":\"\xff\"}\n";
    let lines = run(&mut state, &rules, input);
    assert_eq!(statuses(&lines), ["invalid", "invalid", "duplicate"]);
    let open = json_items(exceptions::list(&state, &Filter { status: Some("open".into()), code: None }).unwrap());
    assert_eq!(open.len(), 2);
}

#[test]
fn lines_of_other_white_space_are_events_not_blank() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(tmp.path());
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    let lines = run(&mut state, &rules, " \t\r\n\x0c\n\x0b\n\u{a0}\n".as_bytes());
    assert_eq!(lines.iter().map(|o| o["line"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(statuses(&lines), ["invalid", "invalid", "invalid"]);
}

/// Items as `--format json` shows them.
fn json_items<T: serde::Serialize>(items: Vec<T>) -> Vec<serde_json::Value> {
    items.iter().map(|i| serde_json::to_value(i).unwrap()).collect()
}
