//! Effective-dated tables (LANGUAGE.md §5.1) end to end: the data errors of
//! their histories name both rows and nothing runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn temp_package(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-dated-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, body) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    dir
}

const PACKAGE: &str = "record Rate { grade: Text, valid_from: Date, valid_to: Date?, rate: Money }
table rates: Rate key grade effective valid_from to valid_to
event W as \"w\" { grade: Text, day: Date }
record R { rate: Money? }
destination out: R
on W as w { emit out R { rate: rates[w.grade as of w.day]?.rate } }
";

const EVENT: &str = "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"w\",\"data\":{\"grade\":\"A\",\"day\":\"2026-01-05\"}}\n";

/// `canon run` on a package whose data has `csv`; its stderr with the temporary directory as `$DIR`.
fn run_with(name: &str, csv: &str) -> (Output, String) {
    let dir = temp_package(name, &[("p.canon", PACKAGE), ("data/rates.csv", csv), ("events.jsonl", EVENT)]);
    let out = Command::new(env!("CARGO_BIN_EXE_canon"))
        .arg("run")
        .arg(&dir)
        .arg("--input")
        .arg(dir.join("events.jsonl"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).replace(&dir.display().to_string(), "$DIR").replace('\\', "/");
    let _ = std::fs::remove_dir_all(&dir);
    (out, err)
}

#[test]
fn overlapping_rows_name_both_and_nothing_runs() {
    let csv = "grade,valid_from,valid_to,rate\nA,2026-01-01,2026-01-31,1 USD\nB,2026-01-01,,2 USD\nA,2026-02-01,,3 USD\nA,2026-01-31,2026-01-31,4 USD\n";
    let (out, err) = run_with("overlap", csv);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing runs on overlapping data");
    assert!(err.contains("rates.csv:2 and $DIR/data/rates.csv:5"), "{err}");
    insta::assert_snapshot!(err);
}

#[test]
fn an_open_end_overlaps_every_later_row() {
    let csv = "grade,valid_from,valid_to,rate\nA,2026-01-01,,1 USD\nA,2027-01-01,2027-12-31,2 USD\n";
    let (out, err) = run_with("open", csv);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(err);
}

#[test]
fn a_row_that_ends_before_it_starts_is_a_data_error() {
    let csv = "grade,valid_from,valid_to,rate\nA,2026-01-02,2026-01-01,1 USD\n";
    let (out, err) = run_with("backwards", csv);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("rates.csv:2:1"), "{err}");
    insta::assert_snapshot!(err);
}

#[test]
fn rows_that_touch_do_not_overlap() {
    let csv = "grade,valid_from,valid_to,rate\nA,2026-01-05,,2 USD\nA,2026-01-01,2026-01-04,1 USD\n";
    let (out, err) = run_with("touch", csv);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"amount\":\"2\""));
}
