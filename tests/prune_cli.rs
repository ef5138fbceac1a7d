//! `canon state prune` through the binary, on the timesheet example with its
//! file sinks: `canon status` reads the same before and after, `--dry-run`
//! changes nothing, a replay is all duplicates with nothing written twice,
//! and a `--before` that is no instant is exit 2 with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

mod common;
use common::canon;

const PKG: &str = "examples/timesheets";
const EVENTS: &str = "examples/timesheets/events.jsonl";

fn ok(args: &[&str]) -> String {
    let out = canon(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A fresh directory of this test's own (no `tempfile` in the CLI's dev-dependencies).
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-prune-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The output with its figures of bytes (which depend on SQLite's page use) replaced.
fn bytes_hidden(text: &str) -> String {
    text.lines()
        .map(|l| if l.starts_with("state.db: ") { "state.db: (bytes)" } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

fn file(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn prune_changes_no_count_and_a_dry_run_changes_nothing() {
    let tmp = temp("counts");
    let state = tmp.join("state");
    let st = state.to_str().unwrap();
    ok(&["process", PKG, "--input", EVENTS, "--state", st, "--output", "/dev/null"]);
    ok(&["exceptions", "resolve", "2", "--note", "booked by hand", "--state", st]);
    let human = ok(&["status", "--state", st]);
    let json = ok(&["status", "--state", st, "--format", "json"]);
    let sink = file(&state.join("out/erp_posting.jsonl"));

    let dry: Json = serde_json::from_str(&ok(&[
        "state",
        "prune",
        "--state",
        st,
        "--before",
        "2100-01-01",
        "--dry-run",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["events"], 36, "the accepted events (their records are in the file sinks) and the resolved one");
    assert_eq!(dry["payloads"], 1, "the resolved item's text");
    assert_eq!(dry["kept_unfinished"], 14, "the open exceptions");
    assert_eq!(dry["bytes_after"], dry["bytes_before"]);
    let again: Json = serde_json::from_str(&ok(&[
        "state",
        "prune",
        "--state",
        st,
        "--before",
        "2100-01-01",
        "--dry-run",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(again, dry, "the dry run changed nothing");

    let dry_human = ok(&["state", "prune", "--state", st, "--before", "2100-01-01", "--dry-run"]);
    insta::assert_snapshot!("dry_run_human", bytes_hidden(&dry_human));
    let done = ok(&["state", "prune", "--state", st, "--before", "2100-01-01T00:00:00Z"]);
    insta::assert_snapshot!("prune_human", bytes_hidden(&done));
    let twice: Json =
        serde_json::from_str(&ok(&["state", "prune", "--state", st, "--before", "2100-01-01", "--format", "json"]))
            .unwrap();
    let mut shown = twice.clone();
    shown["bytes_before"] = "(bytes)".into();
    shown["bytes_after"] = "(bytes)".into();
    insta::assert_snapshot!("prune_again_json", shown.to_string());
    assert_eq!(ok(&["status", "--state", st]), human);
    assert_eq!(ok(&["status", "--state", st, "--format", "json"]), json);
    let shown: Json =
        serde_json::from_str(&ok(&["exceptions", "show", "1", "--state", st, "--format", "json"])).unwrap();
    assert!(!shown["lineage"]["trace"].as_array().unwrap().is_empty(), "an open item keeps its lineage");
    assert!(shown["event"].is_object());
    let pruned: Json =
        serde_json::from_str(&ok(&["exceptions", "show", "2", "--format", "json", "--state", st])).unwrap();
    assert_eq!((&pruned["status"], &pruned["note"]), (&"resolved".into(), &"booked by hand".into()));
    assert!(pruned["lineage"]["trace"].as_array().unwrap().is_empty() && pruned["event"].is_null(), "{pruned}");

    // The same input again: every event a duplicate, nothing appended.
    let replay = ok(&["process", PKG, "--input", EVENTS, "--state", st]);
    assert!(replay.lines().all(|l| serde_json::from_str::<Json>(l).unwrap()["status"] == "duplicate"), "{replay}");
    assert_eq!(file(&state.join("out/erp_posting.jsonl")), sink);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_before_that_is_no_instant_is_exit_2() {
    let tmp = temp("bad");
    let st = tmp.join("state");
    let st = st.to_str().unwrap();
    ok(&["process", PKG, "--input", EVENTS, "--state", st, "--output", "/dev/null"]);
    for bad in ["yesterday", "2026-13-01", "2026-12-01T25:00:00Z", ""] {
        let out = canon(&["state", "prune", "--state", st, "--before", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("--before `{bad}` is neither an RFC 3339 timestamp")), "{err}");
    }
    let missing = canon(&["state", "prune", "--state", tmp.join("none").to_str().unwrap(), "--before", "2026-01-01"]);
    assert_eq!(missing.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&tmp);
}
