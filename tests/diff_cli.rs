//! `canon diff` (RUNTIME.md §3.4) through the binary: the reviewer's
//! scenario (one rate changed in examples/timesheets, the postings that
//! change and the money delta per entity), the pairs of small packages under
//! `tests/diff/` (breaking changes, a changed rejection code, no change), the
//! exit statuses, and the same report from both engines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn canon_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_canon")).args(args).current_dir(dir).env("NO_COLOR", "1").output().unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-diff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The report with the content hashes masked: they change with any edit to
/// the example, which is not what these snapshots are about.
fn masked(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) =
        rest.find("sha256:").map(|i| (i, 7)).or_else(|| rest.find("\"content_hash\":\"").map(|i| (i, 16)))
    {
        let (at, len) = i;
        out.push_str(&rest[..at + len]);
        rest = &rest[at + len..];
        let hex = rest.chars().take_while(char::is_ascii_hexdigit).count();
        out.push_str("<hash>");
        rest = &rest[hex..];
    }
    out.push_str(rest);
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// examples/timesheets twice in a temporary directory, as version 1.4.0
/// and 1.5.0, the second with one bill rate changed.
fn timesheets_pair(name: &str) -> PathBuf {
    let dir = temp(name);
    let example = root().join("examples/timesheets");
    for (side, version, effective) in [("old", "1.4.0", "2026-11-01"), ("new", "1.5.0", "2026-12-01")] {
        copy_dir(&example, &dir.join(side));
        std::fs::write(
            dir.join(side).join("canon.toml"),
            format!(
                "[package]\nname = \"timesheets\"\nversion = \"{version}\"\nowner = \"finance-systems@example.com\"\neffective_from = {effective}\n"
            ),
        )
        .unwrap();
    }
    let rates = dir.join("new/rates.canon");
    let text = std::fs::read_to_string(&rates).unwrap();
    let row = "| Associate | -      | -         || 160.00 USD |";
    assert!(text.contains(row), "the rate card changed: update this test's row");
    std::fs::write(&rates, text.replace(row, "| Associate | -      | -         || 165.00 USD |")).unwrap();
    std::fs::copy(example.join("events.jsonl"), dir.join("events.jsonl")).unwrap();
    dir
}

/// The done-when scenario of issue 14: a reviewer changes one rate and
/// reads which postings change and the money delta per entity.
#[test]
fn one_rate_changed_in_timesheets() {
    let dir = timesheets_pair("timesheets");
    let args = ["diff", "old", "new", "--events", "events.jsonl", "--by", "entity"];
    let text = canon_in(&dir, &args);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let report = stdout(&text);
    // The postings that change, with their entity, and the delta per entity.
    assert!(report.contains("timesheets@1.4.0, effective 2026-11-01"), "{report}");
    assert!(report.contains("timesheets@1.5.0, effective 2026-12-01"), "{report}");
    assert!(report.contains("erp_posting #1  changed  (entity US01)"), "{report}");
    assert!(report.contains("erp_posting  amount  USD       SG01"), "{report}");
    assert!(report.contains("+58.75"), "{report}");
    insta::assert_snapshot!("timesheets_text", masked(&report));

    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let json = canon_in(&dir, &json_args);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(doc["format"], "canon-diff/1");
    assert_eq!(doc["header"]["old"]["label"], "timesheets@1.4.0");
    assert_eq!(doc["header"]["new"]["version"], "1.5.0");
    assert_eq!(doc["changed"], true);
    let money = doc["summary"]["money"].as_array().unwrap();
    let sg01 = money.iter().find(|m| m["by"]["entity"] == "SG01").unwrap();
    assert_eq!(
        (sg01["old"].as_str(), sg01["new"].as_str(), sg01["delta"].as_str()),
        (Some("4679.08"), Some("4737.83"), Some("58.75"))
    );
    insta::assert_snapshot!("timesheets_json", masked(&stdout(&json)));

    // The interpreter gives the same report; `--fail-on-change` fails it.
    let mut interp = args.to_vec();
    interp.extend(["--engine", "interp"]);
    assert_eq!(stdout(&canon_in(&dir, &interp)), report);
    let mut fail = args.to_vec();
    fail.push("--fail-on-change");
    assert_eq!(canon_in(&dir, &fail).status.code(), Some(1));
    // Against itself: no change, exit 0 even with `--fail-on-change`.
    let same =
        canon_in(&dir, &["diff", "old", "old", "--events", "events.jsonl", "--by", "entity", "--fail-on-change"]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(stdout(&same).contains("No change: the 50 event(s) have the same outcomes"), "{}", stdout(&same));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The lifecycle corpus: events of a package with state, each side keeping
/// its own state in input order (both engines agree).
#[test]
fn events_with_state_replay_in_order_on_each_side() {
    let dir = timesheets_pair("lifecycle");
    std::fs::copy(root().join("examples/timesheets/lifecycle.jsonl"), dir.join("lifecycle.jsonl")).unwrap();
    let mut reports = Vec::new();
    for engine in ["jit", "interp"] {
        let out = canon_in(
            &dir,
            &["diff", "old", "new", "--events", "lifecycle.jsonl", "--engine", engine, "--format", "json"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        reports.push(stdout(&out));
    }
    assert_eq!(reports[0], reports[1]);
    let doc: serde_json::Value = serde_json::from_str(&reports[0]).unwrap();
    // A timesheet approved at the new rate and adjusted afterwards: the
    // adjustment reads the rate its side's state kept.
    let types: Vec<&str> = doc["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"com.acme.timesheet.approved"), "{types:?}");
    assert_eq!(doc["summary"]["events"], 67);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each directory of `tests/diff/` is a pair of packages (`old/`, `new/`),
/// the events replayed (`events.jsonl`) and extra arguments (`args`); the
/// text and JSON reports and the exit status are snapshotted together, and
/// both engines must agree.
#[test]
fn cases() {
    let base = root().join("tests/diff");
    let mut names: Vec<String> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| base.join(n).is_dir())
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let dir = base.join(&name);
        let extra = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
        let mut args = vec!["diff", "old", "new", "--events", "events.jsonl"];
        args.extend(extra.split_whitespace());
        let text = canon_in(&dir, &args);
        let mut json_args = args.clone();
        json_args.extend(["--format", "json"]);
        let json = canon_in(&dir, &json_args);
        serde_json::from_str::<serde_json::Value>(&stdout(&json)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut interp = args.clone();
        interp.extend(["--engine", "interp"]);
        assert_eq!(stdout(&canon_in(&dir, &interp)), stdout(&text), "{name}: the engines disagree");
        let mut fail = args.clone();
        fail.push("--fail-on-change");
        let failed = canon_in(&dir, &fail).status.code();
        let shown = format!(
            "args: {}\nexit: {:?}, with --fail-on-change: {:?}\n--- text\n{}--- json\n{}",
            args.join(" "),
            text.status.code(),
            failed,
            masked(&stdout(&text)),
            masked(&stdout(&json))
        );
        insta::assert_snapshot!(format!("case@{name}"), shown);
        let changed = !stdout(&text).contains("No change");
        assert_eq!(failed, Some(if changed { 1 } else { 0 }), "{name}");
    }
}

#[test]
fn bad_arguments_exit_2() {
    let dir = root().join("tests/diff/rate_change");
    let cases: [(&[&str], &str); 5] = [
        (&["diff", "old", "new"], "--events"),
        (&["diff", "old", "new", "--events", "missing.jsonl"], "cannot read `missing.jsonl`"),
        (&["diff", "old", "nowhere", "--events", "events.jsonl"], "the new package: `nowhere` does not exist"),
        (
            &["diff", "old", "new", "--events", "events.jsonl", "--by", "entty"],
            "no destination's record has a field `entty`",
        ),
        (&["diff", "old", "new", "--events", "events.jsonl", "--format", "xml"], "xml"),
    ];
    for (args, says) in cases {
        let out = canon_in(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}: nothing is reported: {}", stdout(&out));
    }
    // An unknown `--by` field lists what each destination has.
    let out = canon_in(&dir, &["diff", "old", "new", "--events", "events.jsonl", "--by", "entty"]);
    assert!(stderr(&out).contains("note: ledger has id, entity, hours, amount"), "{}", stderr(&out));
}

#[test]
fn a_package_with_errors_exits_1_naming_its_side() {
    let dir = temp("errors");
    copy_dir(&root().join("tests/diff/rate_change"), &dir);
    let source = dir.join("new/ledger.canon");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("amount: round(", "amount: rnd(")).unwrap();
    let out = canon_in(&dir, &["diff", "old", "new", "--events", "events.jsonl"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("the new package `new` has errors; nothing was compared"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
    // Data that cannot be loaded on one side: exit 1, naming it.
    let dir = timesheets_pair("bad-data");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let out = canon_in(&dir, &["diff", "old", "new", "--events", "events.jsonl", "--old-data", "empty"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("error: the old package's data:"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
