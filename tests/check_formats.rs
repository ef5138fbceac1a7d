//! `canon check`'s review formats (RUNTIME.md §3.3): SARIF 2.1.0, validated
//! against the official schema (tests/schemas), GitHub workflow commands
//! and JSON, snapshotted on a small package with errors and warnings; and
//! `--strict`'s exit statuses and unused declarations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use canon_compiler::diagnostics::Code;
use serde_json::Value;

const MIXED: &str = "tests/review/mixed";
const UNUSED: &str = "tests/review/unused";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `canon ARGS` from the repository root, outside GitHub Actions.
fn canon(args: &[&str]) -> Output {
    canon_in(root(), None, args)
}

fn canon_in(dir: &Path, workspace: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_canon"));
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1").env_remove("GITHUB_WORKSPACE");
    if let Some(w) = workspace {
        cmd.env("GITHUB_WORKSPACE", w);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The published schema's `language` pattern (of `run` and of
/// `toolComponent`) has a stray `]`, which the draft-07 meta-schema's `regex`
/// format refuses, so no validator can be built from it as published.
const BROKEN_LANGUAGE: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

/// Replaces each `pattern` that is [`BROKEN_LANGUAGE`] by what it means;
/// gives how many there were.
fn mend_language_patterns(v: &mut Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter_mut()
            .map(|(k, v)| {
                if k == "pattern" && v == BROKEN_LANGUAGE {
                    *v = Value::String("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$".into());
                    1
                } else {
                    mend_language_patterns(v)
                }
            })
            .sum(),
        Value::Array(a) => a.iter_mut().map(mend_language_patterns).sum(),
        _ => 0,
    }
}

/// A validator of the vendored schema: as shipped but for the two
/// `language` patterns, mended in memory (Canon writes no `language`).
fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/schemas/sarif-schema-2.1.0.json")).unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(mend_language_patterns(&mut schema), 2);
    jsonschema::options().should_validate_formats(true).build(&schema).unwrap()
}

/// The schema's complaints about a document (empty when it is valid).
fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

fn sarif_of(args: &[&str]) -> (Output, Value) {
    let out = canon(args);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}\n{}", stdout(&out)));
    (out, doc)
}

/// The log with what depends on the machine (the checkout's URI) and on the
/// explanations' wording replaced, after checking the rules carry them.
fn stable(mut doc: Value) -> Value {
    let run = &mut doc["runs"][0];
    if let Some(base) = run["originalUriBaseIds"]["%SRCROOT%"].get_mut("uri") {
        let cwd = format!("file://{}/", root().canonicalize().unwrap().display());
        assert_eq!(base.as_str(), Some(cwd.as_str()));
        *base = Value::String("file:///[checkout]/".into());
    }
    for rule in run["tool"]["driver"]["rules"].as_array_mut().unwrap() {
        let code = Code::parse(rule["id"].as_str().unwrap()).unwrap();
        assert_eq!(rule["help"]["text"].as_str(), Some(code.explanation()));
        assert_eq!(rule["help"]["markdown"].as_str(), Some(code.explanation()));
        assert_eq!(rule["shortDescription"]["text"].as_str(), Some(code.title()));
        assert!(!rule["fullDescription"]["text"].as_str().unwrap().is_empty());
        rule["help"] = Value::String(format!("[canon explain {}]", code.as_str()));
        rule["fullDescription"] = Value::String("[its first paragraph]".into());
    }
    doc
}

#[test]
fn sarif_of_a_package_with_errors_and_warnings() {
    let (out, doc) = sarif_of(&["check", MIXED, "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let errors = schema_errors(&sarif_validator(), &doc);
    assert!(errors.is_empty(), "{errors:#?}");
    insta::assert_snapshot!(serde_json::to_string_pretty(&stable(doc)).unwrap());
}

#[test]
fn sarif_under_strict_and_of_every_example_is_valid() {
    let v = sarif_validator();
    let mut cases = vec![MIXED.to_string(), UNUSED.to_string(), "tests/check/unused_variant.canon".into()];
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        cases.push(format!("examples/{}", e.unwrap().file_name().to_string_lossy()));
    }
    for pkg in &cases {
        for strict in [false, true] {
            let mut args = vec!["check", pkg, "--format", "sarif"];
            if strict {
                args.push("--strict");
            }
            let (_, doc) = sarif_of(&args);
            let errors = schema_errors(&v, &doc);
            assert!(errors.is_empty(), "{pkg} strict={strict}: {errors:#?}");
        }
    }
}

/// What is wrong with a document, and how to make it so.
type Breakage = (&'static str, fn(&mut Value));

/// The validation can fail: documents the schema must refuse.
#[test]
fn the_schema_refuses_broken_sarif() {
    let v = sarif_validator();
    let (_, good) = sarif_of(&["check", MIXED, "--format", "sarif"]);
    assert!(schema_errors(&v, &good).is_empty());
    let breakages: [Breakage; 7] = [
        ("no version", (|d| d.as_object_mut().unwrap().remove("version").map(|_| ()).unwrap())),
        ("another version", (|d| d["version"] = "2.0.0".into())),
        ("a level SARIF does not have", (|d| d["runs"][0]["results"][0]["level"] = "fatal".into())),
        (
            "a line 0",
            (|d| d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0.into()),
        ),
        ("a driver without a name", (|d| d["runs"][0]["tool"]["driver"] = serde_json::json!({ "version": "1" }))),
        ("a message without text", (|d| d["runs"][0]["results"][0]["message"] = serde_json::json!({}))),
        ("an unknown property", (|d| d["runs"][0]["results"][0]["severity"] = "error".into())),
    ];
    for (what, breakage) in breakages {
        let mut doc = good.clone();
        breakage(&mut doc);
        assert!(!schema_errors(&v, &doc).is_empty(), "the schema accepted a document with {what}");
    }
}

#[test]
fn github_annotations_of_a_package_with_errors_and_warnings() {
    let out = canon(&["check", MIXED, "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn json_of_a_package_with_errors_and_warnings() {
    let out = canon(&["check", MIXED, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn strict_reports_unused_declarations_and_fails_on_warnings() {
    // Without --strict: one warning (W0611), exit 0; the unused table and
    // `let` are not reported.
    let plain = canon(&["check", UNUSED, "--format", "json"]);
    assert_eq!(plain.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&plain)).unwrap();
    let codes: Vec<&str> = v.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["W0611"]);
    assert_eq!(v[0]["severity"], "warning");
    // With it: the unused declarations too, every one an error, exit 1.
    let strict = canon(&["check", UNUSED, "--format", "json", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    insta::assert_snapshot!(
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(&stdout(&strict)).unwrap()).unwrap()
    );
    // The human format says why a warning failed the check.
    let human = canon(&["check", UNUSED, "--strict"]);
    assert_eq!(human.status.code(), Some(1));
    let err = String::from_utf8_lossy(&human.stderr);
    assert!(err.contains("3 error(s), 0 warning(s) (--strict: warnings count as errors)"), "{err}");
    assert!(err.contains("W0701") && err.contains("W0705"), "{err}");
    // The GitHub format marks them as errors.
    let gh = stdout(&canon(&["check", UNUSED, "--format", "github", "--strict"]));
    assert_eq!(gh.lines().count(), 3, "{gh}");
    assert!(gh.lines().all(|l| l.starts_with("::error file=tests/review/unused/rules.canon,")), "{gh}");
}

#[test]
fn strict_exit_statuses() {
    // A clean example stays clean under --strict (CI runs it on every example).
    for strict in [false, true] {
        let mut args = vec!["check", "examples/timesheets"];
        if strict {
            args.push("--strict");
        }
        let out = canon(&args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // Errors stay exit 1; an unreadable package stays a usage error.
    assert_eq!(canon(&["check", MIXED, "--strict"]).status.code(), Some(1));
    assert_eq!(canon(&["check", "no/such/package", "--strict"]).status.code(), Some(2));
}

#[test]
fn an_unreadable_package_in_each_format() {
    let sarif = canon(&["check", "no/such/package", "--format", "sarif"]);
    assert_eq!(sarif.status.code(), Some(2));
    let doc: Value = serde_json::from_str(&stdout(&sarif)).unwrap();
    assert!(schema_errors(&sarif_validator(), &doc).is_empty());
    let inv = &doc["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert!(inv["toolExecutionNotifications"][0]["message"]["text"].as_str().unwrap().contains("does not exist"));
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
    let gh = canon(&["check", "no/such/package", "--format", "github"]);
    assert_eq!(gh.status.code(), Some(2));
    assert_eq!(stdout(&gh), "::error::`no/such/package` does not exist\n");
}

/// A copy of the mixed fixture in a fresh directory under the system's
/// temporary one, with `name` for the package directory.
fn copy_of_mixed(name: &str) -> (PathBuf, PathBuf) {
    let top = std::env::temp_dir().join(format!("canon-review-{}-{}", name.len(), std::process::id()));
    let _ = std::fs::remove_dir_all(&top);
    let pkg = top.join(name);
    std::fs::create_dir_all(&pkg).unwrap();
    for f in ["types.canon", "rules.canon"] {
        std::fs::copy(root().join(MIXED).join(f), pkg.join(f)).unwrap();
    }
    (top, pkg)
}

/// Paths are relative to `$GITHUB_WORKSPACE` when it is set, else to the
/// current directory; `,` and `:` in a path are escaped in a property, and
/// SARIF percent-encodes the URI.
#[test]
fn paths_are_relative_to_the_checkout() {
    let (top, pkg) = copy_of_mixed("rates, v2: draft");
    let from_top = stdout(&canon_in(&top, None, &["check", "rates, v2: draft", "--format", "github"]));
    assert!(from_top.contains("::error file=rates%2C v2%3A draft/types.canon,line=5,"), "{from_top}");
    // From inside the package, under GitHub Actions with the checkout above it.
    let inside = stdout(&canon_in(&pkg, Some(&top), &["check", ".", "--format", "github"]));
    assert_eq!(from_top, inside);
    let sarif: Value =
        serde_json::from_str(&stdout(&canon_in(&pkg, Some(&top), &["check", ".", "--format", "sarif"]))).unwrap();
    let loc = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(loc["uri"], "./rates,%20v2:%20draft/rules.canon");
    assert_eq!(loc["uriBaseId"], "%SRCROOT%");
    // A package outside the base: absolute paths, a file: URI.
    let elsewhere = root().join("tests/review");
    let gh = stdout(&canon_in(&elsewhere, None, &["check", pkg.to_str().unwrap(), "--format", "github"]));
    let abs = pkg.canonicalize().unwrap();
    assert!(gh.contains(&format!("file={}", abs.join("types.canon").display()).replace(',', "%2C").replace(':', "%3A")));
    let sarif: Value = serde_json::from_str(&stdout(&canon_in(
        &elsewhere,
        None,
        &["check", pkg.to_str().unwrap(), "--format", "sarif"],
    )))
    .unwrap();
    let loc = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert!(loc["uri"].as_str().unwrap().starts_with("file:///"), "{loc}");
    assert!(loc.get("uriBaseId").is_none());
    let _ = std::fs::remove_dir_all(&top);
}
