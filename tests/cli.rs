//! The `canon` binary end to end: rendered diagnostics (snapshots), the JSON
//! diagnostics format, outcomes, data errors and exit statuses of RUNTIME.md §3.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::canon;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp_package(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, body) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    dir
}

#[test]
fn rendered_diagnostics() {
    for case in ["decision_unique_overlap", "optional_field_access", "syntax_missing_else", "recursion_indirect"] {
        let path = format!("tests/check/{case}.canon");
        assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(&path).is_file(), "missing fixture {path}");
        let out = canon(&["check", &path]);
        assert_eq!(out.status.code(), Some(1), "{case}");
        insta::assert_snapshot!(format!("render_{case}"), text(&out.stderr));
    }
}

#[test]
fn json_diagnostics_of_conformance_013() {
    let out = canon(&["check", "tests/conformance/shared/013-diag-decisions", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn check_exit_statuses() {
    assert_eq!(canon(&["check", "examples/timesheets"]).status.code(), Some(0));
    assert_eq!(canon(&["check", "tests/check/ambiguous_variant.canon"]).status.code(), Some(1));
    let missing = canon(&["check", "no/such/package"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("does not exist"));
    assert_eq!(canon(&["check", "--bogus-flag"]).status.code(), Some(2));
}

#[test]
fn run_prints_outcomes() {
    let out = canon(&[
        "run",
        "tests/conformance/shared/001-passthrough",
        "--input",
        "tests/conformance/shared/001-passthrough/events.jsonl",
        "--engine",
        "interp",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn run_with_bad_input_file_is_a_usage_error() {
    let out = canon(&["run", "examples/timesheets", "--input", "no/such/file.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_with_a_bad_data_row_names_file_line_and_column_and_runs_nothing() {
    let dir = temp_package(
        "baddata",
        &[
            ("p.canon", "enum S { Open = \"OPEN\" }\nrecord P { code: Text, status: S, budget: Decimal }\ntable projects: P key code\nevent E as \"e\" { code: Text }\nrecord R { ok: Bool }\ndestination out: R\non E as e { emit out R { ok: projects[e.code] != none } }\n"),
            ("data/projects.csv", "code,status,budget\nP-1,OPEN,10\nP-2,SHUT,5\n"),
            ("events.jsonl", "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"e\",\"data\":{\"code\":\"P-1\"}}\n"),
        ],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_canon"))
        .arg("run")
        .arg(&dir)
        .arg("--input")
        .arg(dir.join("events.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("projects.csv:3:2"), "{err}");
    assert!(err.contains("SHUT"), "{err}");
    assert!(out.stdout.is_empty(), "nothing runs on partial data");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn test_command_summary_and_exit_status() {
    let out = canon(&["test", "tests/conformance/shared/014-test-blocks"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).trim_end().ends_with("3 passed, 1 failed"), "{}", text(&out.stdout));
    let ok = canon(&["test", "examples/timesheets"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
}

#[test]
fn explain_every_code_and_reject_unknown_ones() {
    for code in canon_compiler::diagnostics::Code::ALL {
        let out = canon(&["explain", code.as_str()]);
        assert_eq!(out.status.code(), Some(0));
        let body = text(&out.stdout);
        assert!(body.starts_with(&format!("# {}", code.as_str())), "{body}");
        assert!(body.contains("```canon"), "{} has no example", code.as_str());
    }
    assert_eq!(canon(&["explain", "E9999"]).status.code(), Some(2));
}

/// The fenced blocks of a Markdown section: (language, text).
fn fenced_blocks(section: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in section.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => open = Some((lang.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// Every built-in run-time code has an explanation (`canon explain`, any
/// case), and its example does what it says: the package and events of its
/// `## Example` give exactly the outcomes shown, with both engines.
#[test]
fn explain_every_runtime_code_with_a_working_example() {
    use canon_compiler::diagnostics::RuntimeCode;
    for code in RuntimeCode::ALL {
        let name = code.as_str();
        let out = canon(&["explain", &name.to_ascii_lowercase()]);
        assert_eq!(out.status.code(), Some(0), "{name}");
        let body = text(&out.stdout);
        assert!(body.starts_with(&format!("# {name}: {}\n", code.title())), "{body}");
        let example = body.split("\n## Example\n").nth(1).unwrap_or_else(|| panic!("{name} has no example"));
        let example = example.split("\n## ").next().unwrap();
        let blocks = fenced_blocks(example);
        let block = |lang: &str| {
            blocks
                .iter()
                .find(|(l, _)| l == lang)
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| panic!("{name}: no {lang} block"))
        };
        let dir = temp_package(
            &format!("explain-{name}"),
            &[("p.canon", &block("canon")), ("events.jsonl", &block("jsonl"))],
        );
        let events = dir.join("events.jsonl");
        let mut runs = Vec::new();
        for engine in ["interp", "jit"] {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_canon"));
            if *code == RuntimeCode::IdempotencyConflict {
                cmd.arg("process").arg(&dir).arg("--state").arg(dir.join(format!("state-{engine}")));
            } else {
                cmd.arg("run").arg(&dir);
            }
            let out = cmd.arg("--input").arg(&events).args(["--engine", engine]).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
            runs.push(text(&out.stdout));
        }
        // The one clock in an outcome: when the first of two conflicting events was processed.
        let clock = |s: &str| {
            s.split(' ')
                // RFC 3339 in UTC, its fraction as long as it needs (`…:16.71Z`, `…:16Z`).
                .map(|w| if w.len() >= 20 && w.ends_with('Z') && w.as_bytes()[10] == b'T' { "TIME" } else { w })
                .collect::<Vec<_>>()
                .join(" ")
        };
        for run in &runs {
            assert_eq!(clock(run), clock(&block("json")), "{name}: the example's outcomes");
        }
        assert!(runs.iter().any(|r| r.contains(&format!("\"code\":\"{name}\""))), "{name}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(canon(&["explain", "CURRENCY_MISMATCH"]).status.code(), Some(0));
    // A package's own `reject CODE` is not a built-in code.
    let user = canon(&["explain", "PROJECT_NOT_OPEN"]);
    assert_eq!(user.status.code(), Some(2));
    assert!(text(&user.stderr).contains("CURRENCY_MISMATCH"), "{}", text(&user.stderr));
}

/// Every rejection code the runtime can raise is a [`RuntimeCode`], and so is
/// explained: each fault of the standard library, and every code-like
/// string literal in the sources of the runtime, the JIT, the pipeline and
/// the CLI (a new code written there as a literal fails this test).
#[test]
fn every_runtime_code_is_explained() {
    use canon_compiler::diagnostics::RuntimeCode;
    use canon_stdlib::Fault;
    let usd = canon_stdlib::Currency::parse("USD").unwrap();
    let faults = [
        Fault::IntegerOverflow,
        Fault::DecimalOverflow,
        Fault::DivisionByZero,
        Fault::CurrencyMismatch {
            op: canon_stdlib::money::MoneyOp::Add,
            left: (canon_stdlib::Decimal::ONE, usd),
            right: (canon_stdlib::Decimal::ONE, usd),
        },
        Fault::InvalidArgument(String::new()),
    ];
    for f in &faults {
        // A new kind of fault must be listed above (this match stops compiling).
        match f {
            Fault::IntegerOverflow
            | Fault::DecimalOverflow
            | Fault::DivisionByZero
            | Fault::CurrencyMismatch { .. }
            | Fault::InvalidArgument(_) => {}
        }
        assert!(RuntimeCode::parse(f.code()).is_some(), "{} has no explanation", f.code());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Environment variables, not rejection codes.
    let not_codes = [
        "CANON_JIT_DUMP",
        "CANON_TEST_CRASH_BEFORE_COMMIT",
        "GITHUB_WORKSPACE",
        "CARGO_PKG_VERSION",
        "CARGO_PKG_HOMEPAGE",
        "CARGO_MANIFEST_DIR",
    ];
    let mut seen = 0;
    for dir in ["runtime/src", "jit/src", "pipeline/src", "stdlib/src", "src"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let source = std::fs::read_to_string(&path).unwrap();
                for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
                    for literal in line.split('"').skip(1).step_by(2) {
                        let code_like = literal.contains('_')
                            && literal.starts_with(|c: char| c.is_ascii_uppercase())
                            && literal.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                        if code_like && !not_codes.contains(&literal) {
                            seen += 1;
                            assert!(
                                RuntimeCode::parse(literal).is_some(),
                                "{}: `{literal}` looks like a rejection code but has no explanation (add it to RuntimeCode)",
                                path.display()
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(seen > 0, "the scan found the stdlib's codes");
}

#[test]
fn threads_keep_input_order() {
    let one = canon(&["run", "examples/timesheets", "--input", "examples/timesheets/events.jsonl", "--threads", "1"]);
    let three = canon(&["run", "examples/timesheets", "--input", "examples/timesheets/events.jsonl", "--threads", "3"]);
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(three.status.code(), Some(0));
    assert!(!one.stdout.is_empty());
    assert_eq!(one.stdout, three.stdout);
}

/// `canon run --explain` traces with either engine, and the traces are the
/// interpreter's, byte for byte.
#[test]
fn explain_traces_are_the_same_with_both_engines() {
    let root = env!("CARGO_MANIFEST_DIR");
    let pkg = format!("{root}/examples/timesheets");
    let events = format!("{pkg}/events.jsonl");
    let jit = canon(&["run", &pkg, "--input", &events, "--explain", "--engine", "jit"]);
    let interp = canon(&["run", &pkg, "--input", &events, "--explain", "--engine", "interp"]);
    assert_eq!(jit.status.code(), Some(0));
    let text = String::from_utf8_lossy(&jit.stdout).into_owned();
    assert!(text.lines().all(|l| l.contains("\"trace\":[")), "{text}");
    assert!(text.contains("\"kind\":\"decision\""), "{text}");
    assert_eq!(text, String::from_utf8_lossy(&interp.stdout));
}

/// A lookup in a table keyed by an enum names the key by the variant's wire
/// name (as events and data files write it), with either engine.
#[test]
fn explain_traces_name_enum_keys_by_wire_name() {
    let case = "tests/conformance/c161-lookup-enum-key";
    let events = format!("{case}/events.jsonl");
    let mut traces = Vec::new();
    for engine in ["interp", "jit"] {
        let out = canon(&["run", case, "--input", &events, "--explain", "--engine", engine]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let keys: Vec<String> = text(&out.stdout)
            .lines()
            .flat_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["trace"].as_array().unwrap().clone()
            })
            .filter(|t| t["kind"] == "lookup")
            .map(|t| format!("{}[{}]", t["table"].as_str().unwrap(), t["key"].as_str().unwrap()))
            .collect();
        assert_eq!(
            keys,
            [
                "entities[UK01]",
                "limits[UK01, GBP]",
                "entities[UK01]",
                "limits[UK01, GBP]",
                "entities[UK01]",
                "limits[UK01, USD]",
                "entities[SG01]",
                "entities[US01]",
                "limits[US01, USD]",
            ],
            "{engine}"
        );
        traces.push(out.stdout);
    }
    assert_eq!(text(&traces[0]), text(&traces[1]));
}

/// A reader that stops early (`canon explain E0302 | head -1`) ends the
/// command quietly, as for any Unix filter: no panic, nothing on stderr.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["explain", "E0302"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader is gone before the command writes.
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let _ = child.wait().unwrap();
    assert!(err.is_empty(), "{err}");
}

/// A failed expectation says what differs (LANGUAGE.md §9): a field, a
/// missing or an extra emit, the count and the messages of rejections, the
/// emits to a family's members.
#[test]
fn test_failures_show_what_differs() {
    for case in ["r02-route-family-tests", "r04-route-assertions"] {
        let out = canon(&["test", &format!("tests/conformance/{case}")]);
        assert_eq!(out.status.code(), Some(1));
        insta::assert_snapshot!(format!("test_failures_{case}"), text(&out.stdout));
    }
}

/// Text nested past any limit, or a line past miette's 65,535 columns, is
/// an E0001 with its place, never a crash: `canon check`, `fmt --check`,
/// `test` and `run` exit with their error status and say where.
#[test]
fn deep_nesting_and_long_lines_are_errors_not_crashes() {
    let deep_paren = format!("fn g() -> Int = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
    let long_sum = format!("fn g(x: Int) -> Int = {}\n", vec!["x"; 50_000].join(" + "));
    let deep_not = format!("fn g() -> Bool = {}true\n", "not ".repeat(50_000));
    let long_line_error = format!("fn g() -> Int = {}) + 1\n", "1 + ".repeat(20_000));
    let deep_blocks =
        format!("event E {{ a: Int }}\non E as e {{\n{}reject X\n{}}}\n", "if true {\n".repeat(300), "}\n".repeat(300));
    for (name, src, expect) in [
        ("deep_paren", &deep_paren, "levels deep"),
        ("long_sum", &long_sum, "levels deep"),
        ("deep_not", &deep_not, "levels deep"),
        ("long_line_error", &long_line_error, "too long to show"),
        ("deep_blocks", &deep_blocks, "levels deep"),
    ] {
        let dir = temp_package(&format!("deep_{name}"), &[("main.canon", src)]);
        let path = dir.to_str().unwrap();
        let out = canon(&["check", path]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("E0001") && err.contains(expect),
            "{name}: {}",
            err.chars().take(2000).collect::<String>()
        );
        assert!(err.contains("main.canon"), "{name}: the place is named");
        for args in [vec!["fmt", "--check", path], vec!["test", path]] {
            let out = canon(&args);
            let code = out.status.code();
            assert!(matches!(code, Some(1) | Some(2)), "{name} {args:?}: {code:?} {}", text(&out.stderr));
        }
    }
}
