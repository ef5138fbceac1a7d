//! The baseline prints, byte for byte, what `canon run examples/timesheets
//! --engine interp` prints: on the 3,000 generated events of `tests/golden`, and on
//! the hand-written edge cases in `tests/edge/` (invalid envelopes, ignored
//! types, schema violations, every rejection, escapes, odd decimals and
//! timestamps). Canon runs in-process through `canon_runtime`, line by line
//! exactly as `canon run` reads its input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use canon_runtime::{Engine, Tables};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What `canon run examples/timesheets --data DATA --input EVENTS --engine interp` prints.
fn canon_outcomes(data: &Path, events: &Path) -> Vec<u8> {
    let pkg = canon_runtime::load(&repo().join("examples/timesheets")).unwrap();
    assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics());
    let checked = pkg.package();
    let tables = Tables::load(&checked, data, false).unwrap();
    let engine = Engine::new(checked, tables);
    let input = std::fs::read(events).unwrap();
    let mut out = String::new();
    for (i, raw) in input.split_inclusive(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let outcome = match std::str::from_utf8(raw) {
            Err(_) => canon_runtime::input::not_utf8_outcome(line_no),
            Ok(line) if line.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) => continue,
            Ok(line) => engine.evaluate(line_no, line.trim_end_matches(['\n', '\r'])),
        };
        engine.write_outcome(&outcome, &mut out);
        out.push('\n');
    }
    out.into_bytes()
}

/// What the baseline binary prints.
fn baseline_outcomes(data: &Path, events: &Path, scratch: &Path) -> Vec<u8> {
    let out = scratch.join("baseline.jsonl");
    let status =
        Command::new(env!("CARGO_BIN_EXE_timesheet-baseline")).arg(data).arg(events).arg(&out).status().unwrap();
    assert!(status.success());
    std::fs::read(&out).unwrap()
}

fn assert_same(canon: &[u8], baseline: &[u8]) {
    if canon == baseline {
        return;
    }
    let c: Vec<&[u8]> = canon.split(|&b| b == b'\n').collect();
    let b: Vec<&[u8]> = baseline.split(|&b| b == b'\n').collect();
    for (i, (x, y)) in c.iter().zip(&b).enumerate() {
        if x != y {
            panic!(
                "outcome line {} differs\n   canon: {}\nbaseline: {}",
                i + 1,
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            );
        }
    }
    panic!("canon printed {} lines, the baseline {}", c.len(), b.len());
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-baseline-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn generated_events_give_canons_outcomes() {
    let tmp = scratch("gen");
    let golden = repo().join("tests/golden/timesheets");
    let (data, events) = (golden.join("data"), golden.join("events.jsonl"));
    let canon = canon_outcomes(&data, &events);
    assert_eq!(canon.iter().filter(|&&b| b == b'\n').count(), 3000);
    let text = String::from_utf8_lossy(&canon);
    assert!(text.contains("\"status\":\"accepted\"") && text.contains("\"status\":\"rejected\""));
    assert_same(&canon, &baseline_outcomes(&data, &events, &tmp));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn edge_cases_give_canons_outcomes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/edge");
    let tmp = scratch("edge");
    let (data, events) = (dir.join("data"), dir.join("events.jsonl"));
    let canon = canon_outcomes(&data, &events);
    let text = String::from_utf8_lossy(&canon);
    for status in ["accepted", "rejected", "ignored", "invalid"] {
        assert!(text.contains(&format!("\"status\":\"{status}\"")), "no {status} outcome");
    }
    for code in [
        "HOURS_OUT_OF_RANGE",
        "FUTURE_WORK_DATE",
        "UNKNOWN_PROJECT",
        "PROJECT_NOT_OPEN",
        "TASK_REQUIRED",
        "NO_FX_RATE",
        "DECIMAL_OVERFLOW",
        "SCHEMA_VIOLATION",
        "INVALID_ENVELOPE",
    ] {
        assert!(text.contains(&format!("\"code\":\"{code}\"")), "no {code} rejection");
    }
    assert_same(&canon, &baseline_outcomes(&data, &events, &tmp));
    let _ = std::fs::remove_dir_all(&tmp);
}
