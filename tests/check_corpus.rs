//! The checker corpus (`tests/check/*.canon`): each file is checked as a
//! one-file package. The `// expect:` header on its first line is asserted,
//! and the diagnostics (code, position, message, help) are snapshotted next
//! to the source, so a reviewer reads one file. Files named `unused_*` are
//! checked as `canon check --strict` checks them: with the unused
//! declarations (W0701–W0708) too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use canon_compiler::diagnostics::LineIndex;
use canon_runtime::package;

struct Expect {
    code: Option<String>,
    lines: Vec<u32>,
}

fn header(text: &str) -> Option<Expect> {
    let first = text.lines().next()?;
    let rest = first.trim().strip_prefix("// expect:")?.trim();
    if rest.starts_with("no diagnostics") {
        return Some(Expect { code: None, lines: vec![] });
    }
    let mut words = rest.split_whitespace();
    let code = words.next()?.to_string();
    let lines = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .filter_map(|w| w.parse::<u32>().ok())
        .filter(|n| code.trim_start_matches(['E', 'W']).parse::<u32>().ok() != Some(*n))
        .collect();
    Some(Expect { code: Some(code), lines })
}

pub fn render(file: &str, text: &str) -> (String, Vec<(String, u32)>) {
    let pkg = package::from_sources(PathBuf::from("."), vec![(file.to_string(), text.to_string())]);
    let mut diags = pkg.diagnostics().to_vec();
    if file.starts_with("unused_") {
        diags.extend(canon_compiler::db::unused_once(&pkg.sources, pkg.checked()));
        diags.sort_by_key(|d| (d.file, d.span.start, d.code));
    }
    let idx = LineIndex::new(text);
    let mut out = String::new();
    let mut found = Vec::new();
    for d in &diags {
        let (line, col) = idx.line_col(text, d.span.start);
        found.push((d.code.as_str().to_string(), line));
        out.push_str(&format!("{}:{line}:{col}: {} {}\n", d.code.as_str(), d.severity.as_str(), d.message));
        for l in &d.labels {
            let (ll, lc) = idx.line_col(text, l.span.start);
            out.push_str(&format!("  label {ll}:{lc}: {}\n", l.message));
        }
        if let Some(h) = &d.help {
            out.push_str(&format!("  help: {h}\n"));
        }
    }
    if out.is_empty() {
        out.push_str("(no diagnostics)\n");
    }
    (out, found)
}

#[test]
fn check_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check");
    let mut failures = Vec::new();
    insta::glob!("check/*.canon", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (out, found) = render(&name, &text);
        if let Some(exp) = header(&text) {
            match exp.code {
                None => {
                    if !found.is_empty() {
                        failures.push(format!("{name}: expected no diagnostics, got {found:?}"));
                    }
                }
                Some(code) => {
                    // One diagnostic; a recursive cycle may be reported at each of its members.
                    let count_ok = found.len() == 1 || (code == "E0401" && !found.is_empty());
                    let ok = count_ok
                        && found.iter().all(|(c, l)| *c == code && (exp.lines.is_empty() || exp.lines.contains(l)));
                    if !ok {
                        failures.push(format!("{name}: expected one {code} at {:?}, got {found:?}", exp.lines));
                    }
                }
            }
        }
        insta::with_settings!({ description => text.clone(), omit_expression => true }, {
            insta::assert_snapshot!(out);
        });
    });
    let _ = dir;
    assert!(failures.is_empty(), "corpus expectations failed:\n{}", failures.join("\n"));
}
