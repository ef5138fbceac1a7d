//! Every conformance case in `tests/conformance` (the shared ones in
//! `tests/conformance/shared` included), run through the `canon` binary the
//! way `../shared/tools/conformance.py` runs them, with no Python needed.
//!
//! A case is a directory holding a package and one expectation file:
//!
//! - `expected.jsonl`: `canon run CASE --input CASE/events.jsonl` prints these
//!   outcomes line for line, with **both engines** (`--engine interp` and
//!   `--engine jit`, which must compile the case, not fall back to the
//!   interpreter). Compared: every key the expected line names (status,
//!   emits exactly, the rejection codes in order, and a rejection's other keys
//!   where the expected rejection names them).
//! - `expected-check.json`: `canon check CASE --format json` reports each
//!   listed `{"code", "line"}` (`line` may be a list of accepted lines), no
//!   error whose code is not listed, and exits 1 exactly when an error is listed.
//! - `expected-test.json`: `canon test CASE` ends with "P passed, F failed" and
//!   exits with `exit`.
//!
//! `CANON_CONFORMANCE=substring` runs only the cases whose path contains it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value as Json;

fn canon() -> &'static str {
    env!("CARGO_BIN_EXE_canon")
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Run,
    Check,
    Test,
}

/// The case directories under `root`, in sorted order; a case's own
/// subdirectories (data, fixtures) are not searched.
fn find_cases(root: &Path, out: &mut Vec<(PathBuf, Kind)>) {
    let has = |f: &str| root.join(f).is_file();
    let kind = if has("expected.jsonl") {
        Some(Kind::Run)
    } else if has("expected-check.json") {
        Some(Kind::Check)
    } else if has("expected-test.json") {
        Some(Kind::Test)
    } else {
        None
    };
    if let Some(kind) = kind {
        out.push((root.to_path_buf(), kind));
        return;
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        find_cases(&d, out);
    }
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(canon()).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The differences between one expected and one actual outcome line.
fn compare_outcome(want: &Json, got: &Json) -> Vec<String> {
    let mut diffs = Vec::new();
    let Json::Object(want) = want else { return vec![format!("expected line is not an object: {want}")] };
    for (key, w) in want {
        if key == "rejections" {
            let Some(have) = got.get("rejections").and_then(Json::as_array) else {
                diffs.push("rejections: missing or not a list".into());
                continue;
            };
            let w = w.as_array().cloned().unwrap_or_default();
            let code = |r: &Json| r.get("code").cloned().unwrap_or(Json::Null);
            let want_codes: Vec<Json> = w.iter().map(code).collect();
            let have_codes: Vec<Json> = have.iter().map(code).collect();
            if want_codes != have_codes {
                diffs.push(format!(
                    "rejection codes: want {}, got {}",
                    Json::Array(want_codes),
                    Json::Array(have_codes)
                ));
                continue;
            }
            for (i, (wr, hr)) in w.iter().zip(have).enumerate() {
                for (k, v) in wr.as_object().into_iter().flatten() {
                    if k != "code" && hr.get(k) != Some(v) {
                        diffs.push(format!("rejections[{i}].{k}: want {v}, got {}", hr.get(k).unwrap_or(&Json::Null)));
                    }
                }
            }
        } else {
            match got.get(key) {
                None => diffs.push(format!("{key}: missing")),
                Some(g) if g != w => diffs.push(format!("{key}: want {w}, got {g}")),
                Some(_) => {}
            }
        }
    }
    diffs
}

fn case_run(case: &Path, engine: &str) -> Vec<String> {
    let events = case.join("events.jsonl");
    let (code, out, err) =
        run(&["run", case.to_str().unwrap(), "--input", events.to_str().unwrap(), "--engine", engine]);
    if code != Some(0) {
        let tail: String = err.trim().chars().rev().take(600).collect::<Vec<_>>().into_iter().rev().collect();
        return vec![format!("exit {code:?}: {tail}")];
    }
    // `--engine jit` must run the JIT, not the interpreter it falls back to.
    if engine == "jit" && err.contains("the JIT cannot compile") {
        return vec![format!("the JIT fell back to the interpreter: {}", err.trim())];
    }
    let expected = std::fs::read_to_string(case.join("expected.jsonl")).unwrap();
    let expected: Vec<Json> =
        expected.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
    let got: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut diffs = Vec::new();
    if got.len() != expected.len() {
        diffs.push(format!("want {} outcome lines, got {}", expected.len(), got.len()));
    }
    for (i, (want, line)) in expected.iter().zip(&got).enumerate() {
        match serde_json::from_str::<Json>(line) {
            Ok(g) => diffs.extend(compare_outcome(want, &g).into_iter().map(|d| format!("line {}: {d}", i + 1))),
            Err(_) => diffs.push(format!("line {}: not JSON: {}", i + 1, line.chars().take(200).collect::<String>())),
        }
    }
    diffs
}

fn case_check(case: &Path) -> Vec<String> {
    let (code, out, err) = run(&["check", case.to_str().unwrap(), "--format", "json"]);
    let expected = read_json(&case.join("expected-check.json"));
    let expected = expected.as_array().cloned().unwrap_or_default();
    let Ok(Json::Array(diags)) = serde_json::from_str::<Json>(&out) else {
        return vec![format!("exit {code:?}, stdout is not a JSON array: {out} {err}")];
    };
    let mut diffs = Vec::new();
    let want_error = expected.iter().any(|e| e["code"].as_str().is_some_and(|c| c.starts_with('E')));
    let want_code = if want_error { 1 } else { 0 };
    if code != Some(want_code) {
        diffs.push(format!("exit status: want {want_code}, got {code:?}"));
    }
    for e in &expected {
        let lines = match &e["line"] {
            Json::Array(l) => l.clone(),
            l => vec![l.clone()],
        };
        if !diags.iter().any(|d| d["code"] == e["code"] && lines.contains(&d["line"])) {
            diffs.push(format!("missing {} at line {}", e["code"], Json::Array(lines)));
        }
    }
    for d in &diags {
        if d["severity"] == "error" && !expected.iter().any(|e| e["code"] == d["code"]) {
            diffs.push(format!("unexpected {} at line {}: {}", d["code"], d["line"], d["message"]));
        }
    }
    diffs
}

fn case_test(case: &Path) -> Vec<String> {
    let (code, out, err) = run(&["test", case.to_str().unwrap()]);
    let want = read_json(&case.join("expected-test.json"));
    let mut summary = None;
    for line in out.lines().chain(err.lines()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(4) {
            if w[1] == "passed," && w[3].starts_with("failed") {
                let digits = |s: &str| s.trim_start_matches(|c: char| !c.is_ascii_digit()).parse::<i64>().ok();
                if let (Some(p), Some(f)) = (digits(w[0]), w[2].parse::<i64>().ok()) {
                    summary = Some((p, f));
                }
            }
        }
    }
    let mut diffs = Vec::new();
    let expected = (want["passed"].as_i64().unwrap(), want["failed"].as_i64().unwrap());
    if summary != Some(expected) {
        diffs.push(format!("summary: want {} passed, {} failed; got {summary:?}", expected.0, expected.1));
    }
    let exit = want["exit"].as_i64().map(|e| e as i32);
    if code != exit {
        diffs.push(format!("exit status: want {exit:?}, got {code:?}"));
    }
    diffs
}

#[test]
fn every_conformance_case_passes_with_both_engines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut cases = Vec::new();
    find_cases(&root, &mut cases);
    let filter = std::env::var("CANON_CONFORMANCE").ok();
    if filter.is_none() {
        // The repository's own cases and the shared ones: a lost directory fails here.
        assert!(cases.len() >= 160, "only {} conformance cases under {}", cases.len(), root.display());
        assert!(cases.iter().any(|(p, _)| p.starts_with(root.join("shared"))), "the shared cases are missing");
    }
    let mut jobs: Vec<(PathBuf, Kind, Option<&str>)> = Vec::new();
    for (case, kind) in cases {
        if filter.as_ref().is_some_and(|f| !case.to_string_lossy().contains(f.as_str())) {
            continue;
        }
        match kind {
            Kind::Run => {
                jobs.push((case.clone(), kind, Some("interp")));
                jobs.push((case, kind, Some("jit")));
            }
            _ => jobs.push((case, kind, None)),
        }
    }
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some((case, kind, engine)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let diffs = match (kind, engine) {
                        (Kind::Run, Some(e)) => case_run(case, e),
                        (Kind::Check, _) => case_check(case),
                        _ => case_test(case),
                    };
                    if !diffs.is_empty() {
                        let name = case.strip_prefix(&root).unwrap_or(case).display().to_string();
                        let label = match (kind, engine) {
                            (Kind::Run, Some(e)) => format!("run/{e}"),
                            (Kind::Check, _) => "check".into(),
                            _ => "test".into(),
                        };
                        let shown: Vec<String> = diffs.iter().take(8).map(|d| format!("     {d}")).collect();
                        failures.lock().unwrap().push(format!("FAIL {name} [{label}]\n{}", shown.join("\n")));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(failures.is_empty(), "{} of {} runs failed:\n{}", failures.len(), jobs.len(), failures.join("\n"));
    eprintln!("{} conformance runs passed", jobs.len());
}

/// The comparison itself can fail: a wrong status, a missing emit and a
/// different rejection code are each reported.
#[test]
fn the_comparison_reports_differences() {
    let want: Json =
        serde_json::from_str(r#"{"status":"rejected","rejections":[{"code":"A","message":"m"}],"emits":[]}"#).unwrap();
    let same = want.clone();
    assert!(compare_outcome(&want, &same).is_empty());
    let got: Json = serde_json::from_str(r#"{"status":"accepted","rejections":[{"code":"B"}]}"#).unwrap();
    let diffs = compare_outcome(&want, &got);
    assert_eq!(diffs.len(), 3, "{diffs:?}");
    let got: Json =
        serde_json::from_str(r#"{"status":"rejected","rejections":[{"code":"A","message":"n"}],"emits":[]}"#).unwrap();
    assert_eq!(compare_outcome(&want, &got), vec![r#"rejections[0].message: want "m", got "n""#.to_string()]);
}

/// The bundled timesheet example against the oracle's golden outputs
/// (`tests/golden`, regenerated by `scripts/golden.sh`), with both engines.
#[test]
fn timesheets_equal_the_oracles_golden_outputs_with_both_engines() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = repo.join("tests/golden/timesheets");
    let expected = std::fs::read_to_string(golden.join("expected.jsonl")).expect("the golden outputs (tests/golden)");
    let expected: Vec<Json> = expected.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(expected.len(), 3000);
    for engine in ["interp", "jit"] {
        let (code, out, err) = run(&[
            "run",
            repo.join("examples/timesheets").to_str().unwrap(),
            "--input",
            golden.join("events.jsonl").to_str().unwrap(),
            "--data",
            golden.join("data").to_str().unwrap(),
            "--engine",
            engine,
        ]);
        assert_eq!(code, Some(0), "{err}");
        let got: Vec<Json> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(got.len(), expected.len(), "{engine}: outcome lines");
        let diffs: Vec<String> = expected
            .iter()
            .zip(&got)
            .enumerate()
            .flat_map(|(i, (w, g))| compare_outcome(w, g).into_iter().map(move |d| format!("line {}: {d}", i + 1)))
            .take(8)
            .collect();
        assert!(diffs.is_empty(), "{engine}:\n{}", diffs.join("\n"));
        let rejected = got.iter().filter(|o| o["status"] == "rejected").count();
        assert!(rejected > 50 && rejected < 1000, "{engine}: {rejected} rejected");
    }
}
