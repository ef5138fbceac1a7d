//! `canon test --coverage` and the test report formats (RUNTIME.md §3.2), end
//! to end: each package under tests/coverage/ is run in every format and the
//! outputs are one snapshot; then the threshold's exit status on both sides,
//! `--coverage-out`, and the JUnit XML parsed back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::canon;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// JUnit's `time="…"` attributes vary from run to run.
fn without_times(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find("time=\"") {
        out.push_str(&rest[..i + 6]);
        rest = &rest[i + 6..];
        let end = rest.find('"').unwrap();
        out.push_str("[t]");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn cases() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/coverage");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    names
}

#[test]
fn every_case_in_every_format() {
    for case in cases() {
        let pkg = format!("tests/coverage/{case}");
        let mut snap = String::new();
        let formats: [(&str, &[&str]); 4] = [
            ("text", &["--coverage"]),
            ("json", &["--coverage", "--format", "json"]),
            ("lcov", &["--format", "lcov"]),
            ("junit", &["--format", "junit"]),
        ];
        for (name, flags) in formats {
            let mut args = vec!["test", pkg.as_str()];
            args.extend_from_slice(flags);
            let out = canon(&args);
            let mut stdout = text(&out.stdout);
            if name == "json" {
                let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
                stdout = serde_json::to_string_pretty(&v).unwrap() + "\n";
            }
            if name == "junit" {
                stdout = without_times(&stdout);
            }
            snap.push_str(&format!("=== {name} (exit {})\n{stdout}", out.status.code().unwrap_or(-1)));
            if name == "lcov" {
                // The people's lines go to stderr when stdout is a machine format.
                assert!(text(&out.stderr).contains(" passed, "), "{case}: {}", text(&out.stderr));
            }
        }
        insta::assert_snapshot!(format!("coverage_{case}"), snap);
    }
}

#[test]
fn the_threshold_decides_the_exit_status() {
    // tests/coverage/rules reaches 9 of its 19 points: 47.3%.
    let at = canon(&["test", "tests/coverage/rules", "--threshold", "47.3"]);
    assert_eq!(at.status.code(), Some(0), "{}", text(&at.stderr));
    assert!(text(&at.stdout).contains("coverage 47.3% (9 of 19 points"));
    let above = canon(&["test", "tests/coverage/rules", "--threshold", "47.4"]);
    assert_eq!(above.status.code(), Some(1));
    // The report is printed first, then the verdict.
    assert!(text(&above.stdout).contains("not reached by any test:"));
    assert_eq!(text(&above.stderr), "error: coverage 47.3% is below the threshold 47.4%\n");
    let json = canon(&["test", "tests/coverage/rules", "--threshold", "80", "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["coverage"]["threshold"], 80.0);
    assert_eq!(v["coverage"]["covered"], 9);
    // Full coverage meets 100.
    assert_eq!(canon(&["test", "tests/coverage/complete", "--threshold", "100"]).status.code(), Some(0));
    // A failing test fails the run whatever the coverage.
    assert_eq!(canon(&["test", "tests/coverage/failing", "--threshold", "0"]).status.code(), Some(1));
}

#[test]
fn a_bad_threshold_is_a_usage_error() {
    for bad in ["101", "-1", "eighty"] {
        let out = canon(&["test", "tests/coverage/complete", &format!("--threshold={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(text(&out.stderr).contains("is not a percentage from 0 to 100"), "{}", text(&out.stderr));
    }
}

#[test]
fn coverage_out_writes_the_tracefile_and_keeps_the_text() {
    let file = std::env::temp_dir().join(format!("canon-coverage-{}.info", std::process::id()));
    let out = canon(&["test", "tests/coverage/rules", "--coverage-out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("coverage 47.3%"));
    let written = std::fs::read_to_string(&file).unwrap();
    let lcov = canon(&["test", "tests/coverage/rules", "--format", "lcov"]);
    assert_eq!(written, text(&lcov.stdout));
    assert!(written.contains("SF:tests/coverage/rules/rules.canon\n"));
    let _ = std::fs::remove_file(file);
    let bad = canon(&["test", "tests/coverage/rules", "--coverage-out", "/nonexistent/dir/x.info"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("cannot write `/nonexistent/dir/x.info`"));
}

#[test]
fn junit_parses_back_with_its_counts_and_messages() {
    let out = canon(&["test", "tests/coverage/failing", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = text(&out.stdout);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("3"));
    assert_eq!(root.attribute("failures"), Some("2"));
    let suite = root.children().find(|n| n.has_tag_name("testsuite")).unwrap();
    assert_eq!(suite.attribute("name"), Some("failing"));
    let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 3);
    assert_eq!(cases[1].attribute("name"), Some("a fee of 0 & \"less\" <is> refused"));
    assert_eq!(cases[1].attribute("file"), Some("tests/coverage/failing/tests.canon"));
    assert_eq!(cases[1].attribute("line"), Some("8"));
    assert_eq!(cases[1].attribute("classname"), Some("failing.tests"));
    let failure = cases[1].children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(failure.attribute("message").unwrap().starts_with("expected a rejection NOT_POSITIVE"));
    // The element's text is the whole failure, its indented lines included.
    assert!(failure.text().unwrap().contains("\n    rejection NOT_POSITIVE \"fee <= 0 & \\\"free\\\"\""));
    assert!(cases[0].children().all(|n| !n.has_tag_name("failure")));
    let time: f64 = cases[0].attribute("time").unwrap().parse().unwrap();
    assert!(time >= 0.0);
}

#[test]
fn coverage_of_every_example_is_at_least_its_ci_threshold() {
    // The thresholds .ci/run gives each bundled example.
    for (example, threshold) in [
        ("expenses", "80"),
        ("fee-allocation", "100"),
        ("global-posting", "95"),
        ("leave-routing", "100"),
        ("timesheets", "85"),
    ] {
        let out = canon(&["test", &format!("examples/{example}"), "--threshold", threshold]);
        assert_eq!(out.status.code(), Some(0), "{example}: {}{}", text(&out.stdout), text(&out.stderr));
    }
}
