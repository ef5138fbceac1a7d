//! The timesheet lifecycle (examples/timesheets, "The lifecycle") against the
//! independent Python reference's golden outputs (tests/golden/lifecycle,
//! written by scripts/lifecycle_reference.py from the README's rules): the
//! outcomes and the state after the last event with both engines, and the
//! reconciliation metrics of `canon status` after `canon process`. No
//! Python runs here; `scripts/golden.sh --check` keeps the files current.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;

const PKG: &str = "examples/timesheets";
const GOLDEN: &str = "tests/golden/lifecycle";

fn canon(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "canon {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-lifecycle-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An outcome line as the reference can know it: rejections by code only.
fn comparable(line: &str) -> Json {
    let mut v: Json = serde_json::from_str(line).unwrap();
    if let Some(rs) = v["rejections"].as_array_mut() {
        for r in rs {
            *r = Json::String(r["code"].as_str().unwrap().to_string());
        }
    }
    v
}

fn same_outcomes(ours: &str, golden: &Path, what: &str) {
    let want = std::fs::read_to_string(golden).unwrap();
    let (ours, want): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), want.lines().collect());
    assert_eq!(ours.len(), want.len(), "{what}: number of outcomes");
    let mut differ = 0;
    for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
        if comparable(a) != comparable(b) {
            differ += 1;
            if differ <= 3 {
                eprintln!("{what}: line {}\n  canon:     {a}\n  reference: {b}", i + 1);
            }
        }
    }
    assert_eq!(differ, 0, "{what}: {differ} outcomes differ from the reference's");
}

#[test]
fn outcomes_and_state_equal_the_reference_on_both_engines() {
    let dir = temp("run");
    let events = root().join(GOLDEN).join("events.jsonl");
    let data = root().join(GOLDEN).join("data");
    for engine in ["interp", "jit"] {
        let snap = dir.join(format!("{engine}.jsonl"));
        let out = canon(&[
            "run",
            PKG,
            "--engine",
            engine,
            "--input",
            events.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--state-out",
            snap.to_str().unwrap(),
        ]);
        same_outcomes(&String::from_utf8_lossy(&out.stdout), &root().join(GOLDEN).join("expected.jsonl"), engine);
        let want = std::fs::read_to_string(root().join(GOLDEN).join("state.jsonl")).unwrap();
        let got = std::fs::read_to_string(&snap).unwrap();
        assert!(got == want, "{engine}: the state after the last event differs from the reference's");
        assert!(got.lines().count() > 1000, "the workload keeps state");
    }
}

#[test]
fn process_and_status_give_the_reference_metrics() {
    let dir = temp("process");
    let events = root().join(GOLDEN).join("events.jsonl");
    let data = root().join(GOLDEN).join("data");
    let state = dir.join("state");
    let out = canon(&[
        "process",
        PKG,
        "--input",
        events.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    same_outcomes(&String::from_utf8_lossy(&out.stdout), &root().join(GOLDEN).join("expected.jsonl"), "process");
    let status =
        canon(&["status", "--format", "json", "--as-of", "2026-12-01T00:00:00Z", "--state", state.to_str().unwrap()]);
    let got: Json = serde_json::from_slice(&status.stdout).unwrap();
    let want: Json =
        serde_json::from_str(&std::fs::read_to_string(root().join(GOLDEN).join("metrics.json")).unwrap()).unwrap();
    assert_eq!(got["metrics"], want["metrics"], "the reconciliation metrics differ from the reference's");
    let names: Vec<&str> = got["metrics"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "approved_not_posted_hours",
            "posted_not_billed_hours",
            "adjusted_not_reclassified_hours",
            "stale_approved_not_posted_hours"
        ]
    );
    let export = canon(&["state", "export", "--state", state.to_str().unwrap()]);
    let want = std::fs::read_to_string(root().join(GOLDEN).join("state.jsonl")).unwrap();
    assert!(String::from_utf8_lossy(&export.stdout) == want, "canon state export differs from the reference's state");
}

#[test]
fn the_examples_sample_gives_its_expected_outcomes() {
    let want = std::fs::read_to_string(root().join(PKG).join("lifecycle-expected.jsonl")).unwrap();
    for engine in ["interp", "jit"] {
        let out = canon(&["run", PKG, "--engine", engine, "--input", &format!("{PKG}/lifecycle.jsonl")]);
        assert!(String::from_utf8_lossy(&out.stdout) == want, "{engine}: examples/timesheets/lifecycle-expected.jsonl");
    }
}
