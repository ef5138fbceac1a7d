//! The timesheet example against the Python oracle (`bench/workload`) on a
//! small generated sample: every outcome line must agree (status, emits
//! exactly, rejection codes in order). `scripts/parity.sh` runs 100k events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

use canon_runtime::{Engine, Tables};

#[test]
fn timesheet_outcomes_equal_the_oracle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bench = root.join("bench/workload");
    let tmp = std::env::temp_dir().join(format!("canon-parity-{}", std::process::id()));
    let gen = Command::new("python3")
        .arg(bench.join("gen.py"))
        .args(["--events", "3000", "--seed", "7", "--out"])
        .arg(&tmp)
        .status()
        .expect("python3 is needed for the parity test");
    assert!(gen.success());
    let expected = Command::new("python3").arg(bench.join("reference.py")).arg(&tmp).output().unwrap();
    assert!(expected.status.success());
    let expected = String::from_utf8(expected.stdout).unwrap();

    let pkg = canon_runtime::load(&root.join("examples/timesheets")).unwrap();
    assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics());
    let checked = pkg.package();
    let tables = Tables::load(&checked, &tmp.join("data"), false).unwrap();
    let engine = Engine::new(checked, tables);
    let events = std::fs::read_to_string(tmp.join("events.jsonl")).unwrap();
    let mut n = 0;
    let mut statuses = std::collections::BTreeMap::new();
    for ((i, line), exp) in events.lines().enumerate().zip(expected.lines()) {
        let o = engine.evaluate(i as u64 + 1, line);
        let mut got = String::new();
        engine.write_outcome(&o, &mut got);
        let got: serde_json::Value = serde_json::from_str(&got).unwrap();
        let exp: serde_json::Value = serde_json::from_str(exp).unwrap();
        for key in ["line", "id", "type", "correlation_id", "status", "emits"] {
            assert_eq!(got[key], exp[key], "line {}: `{key}` differs\n got: {got}\nwant: {exp}", i + 1);
        }
        let codes = |v: &serde_json::Value| -> Vec<String> {
            v["rejections"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_string()).collect()
        };
        assert_eq!(codes(&got), codes(&exp), "line {}: rejection codes differ", i + 1);
        *statuses.entry(got["status"].as_str().unwrap().to_string()).or_insert(0) += 1;
        n += 1;
    }
    assert_eq!(n, 3000);
    // The sample exercises both outcomes.
    assert!(statuses.get("accepted").copied().unwrap_or(0) > 2000, "{statuses:?}");
    assert!(statuses.get("rejected").copied().unwrap_or(0) > 50, "{statuses:?}");
    let _ = std::fs::remove_dir_all(&tmp);
}
