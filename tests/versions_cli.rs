//! Rule versions at the command line (RUNTIME.md §3.1): a `canon.toml`
//! whose `[package]` cannot be read stops `canon run`, `canon test` and
//! `canon process` with exit 2 and what is wrong; `canon exceptions` and
//! `canon status` show the version that decided; `canon process` warns of
//! rules run before their `effective_from`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fee-allocation");

fn canon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of the fee-allocation example's sources with `canon_toml`.
fn package(tmp: &Path, canon_toml: &str) -> PathBuf {
    let dir = tmp.join("pkg");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(EXAMPLE).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "canon") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.join("canon.toml"), canon_toml).unwrap();
    dir
}

/// A fresh directory of this test's, removed when dropped.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str) -> Temp {
        let dir = std::env::temp_dir().join(format!("canon-versions-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Temp(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_bad_package_table_stops_run_test_and_process_with_exit_2() {
    let events = format!("{EXAMPLE}/events.jsonl");
    let cases = [
        ("[package]\nname = \"fees\"\nversion = \"1.0\"\n", "[package] version `1.0` is not a semantic version"),
        ("[package]\nname = \"fees\"\nversion = 1\n", "line 3, column 11"),
        ("[package]\nversion = \"1.0.0\"\n", "missing field `name`"),
        ("[package]\nname = \"fees\"\nversion = \"1.0.0\"\nowners = \"x\"\n", "unknown field `owners`"),
        ("[package]\nname = \"fees\"\nversion = \"1.0.0\"\neffective_from = \"Dec 1\"\n", "`Dec 1` is not a date"),
        ("[package\n", "unclosed table"),
    ];
    for (n, (toml, needle)) in cases.into_iter().enumerate() {
        let tmp = Temp::new(&format!("bad-{n}"));
        let pkg = package(tmp.path(), toml);
        let state = tmp.path().join("state");
        for args in [
            vec!["run", p(&pkg), "--input", &events],
            vec!["test", p(&pkg)],
            vec!["process", p(&pkg), "--input", &events, "--state", p(&state)],
        ] {
            let out = canon(&args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} with {toml:?}: {err}");
            assert!(err.contains("canon.toml") && err.contains(needle), "{args:?} with {toml:?}: {err}");
            assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        }
        assert!(!state.exists(), "no state was created");
    }
}

#[test]
fn exceptions_and_status_show_the_version_that_decided() {
    let tmp = Temp::new("shown");
    let pkg = package(
        tmp.path(),
        "[package]\nname = \"fees\"\nversion = \"2.1.0\"\nowner = \"revenue@example.com\"\neffective_from = 2026-11-01\n",
    );
    let state = tmp.path().join("state");
    let events = format!("{EXAMPLE}/events.jsonl");
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("effective"), "in force since 2026-11-01: {}", text(&out.stderr));

    let list = text(&canon(&["exceptions", "list", "--state", p(&state)]).stdout);
    let mut lines = list.lines();
    assert!(lines.next().unwrap().contains("  RULES  "), "{list}");
    assert!(lines.next().unwrap().contains("  fees@2.1.0  "), "{list}");

    let json = text(&canon(&["exceptions", "list", "--state", p(&state), "--format", "json"]).stdout);
    let items: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(items[0]["rules"]["label"], "fees@2.1.0");
    assert_eq!(items[0]["rules"]["owner"], "revenue@example.com");

    let show = text(&canon(&["exceptions", "show", "1", "--state", p(&state)]).stdout);
    assert!(
        show.lines().any(|l| l == "rules        fees@2.1.0 (owner revenue@example.com, effective from 2026-11-01)"),
        "{show}"
    );
    let shown = text(&canon(&["exceptions", "show", "1", "--state", p(&state), "--format", "json"]).stdout);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["lineage"]["rules"]["effective_from"], "2026-11-01");

    let status = text(&canon(&["status", "--state", p(&state)]).stdout);
    assert!(status.contains(" with fees@2.1.0 ("), "{status}");
    let status = text(&canon(&["status", "--state", p(&state), "--format", "json"]).stdout);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["runs"]["last"]["rules"]["version"], "2.1.0");
    assert_eq!(status["package_versions"][0]["rules"]["name"], "fees");
}

#[test]
fn process_warns_of_rules_run_before_their_effective_date_and_runs_them() {
    let tmp = Temp::new("early");
    let pkg = package(tmp.path(), "[package]\nname = \"fees\"\nversion = \"3.0.0\"\neffective_from = 2999-01-01\n");
    let state = tmp.path().join("state");
    let events = format!("{EXAMPLE}/events.jsonl");
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(0), "a warning, not a refusal: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: the rules fees@3.0.0 take effect on 2999-01-01 and today is ")
            && err.contains("they are being run before their effective date"),
        "{err}"
    );
    assert_eq!(err.matches("take effect").count(), 1, "once per run: {err}");
    assert!(!out.stdout.is_empty());
    // `canon run` (tests, CI, replays) says nothing of it.
    let out = canon(&["run", p(&pkg), "--input", &events]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!text(&out.stderr).contains("take effect"), "{}", text(&out.stderr));
}
