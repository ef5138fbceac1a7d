//! Every example of every built-in (`canon_stdlib::functions::ALL`) runs
//! through both engines: a one-handler package emits the example's value, and
//! the interpreter's and the JIT's outcome must both hold exactly the JSON the
//! example promises.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use canon_jit::JitEngine;
use canon_runtime::{package, Engine, Tables};
use canon_stdlib::functions::{self, Builtin, TypeRef};

const EVENT: &str = r#"{"specversion":"1.0","id":"e1","source":"s","type":"ev","correlationid":"c1","data":{}}"#;

/// A package whose handler emits `{ v: <expr> }` as a `field`.
fn source(expr: &str, field: &str) -> String {
    format!(
        "event Ev as \"ev\" {{\n}}\n\nrecord Out {{\n  v: {field}\n}}\n\ndestination out: Out\n\non Ev as e {{\n  emit out Out {{ v: {expr} }}\n}}\n"
    )
}

/// The field types to try for an example's value, most exact first: each overload's
/// result, then a list of it (an Int is tried before a Decimal it would widen to), then
/// Bool for an example that compares the result.
fn candidates(b: &Builtin) -> Vec<String> {
    let mut results: Vec<TypeRef> = b.overloads.iter().map(|o| o.result).collect();
    results.sort_by_key(|t| match t {
        TypeRef::Int => 0,
        TypeRef::Optional(_) => 2,
        _ => 1,
    });
    let mut out: Vec<String> = Vec::new();
    let lists = results.iter().map(|t| format!("List<{t}>"));
    for t in results.iter().map(ToString::to_string).chain(lists).chain(["Bool".to_string()]) {
        // A generic result (`List<T>`, `T?`) is tried with each concrete element type.
        let generic = t.contains('T') && !t.contains("Text") || t.contains('U') || t.contains('K');
        let concrete: Vec<String> = if generic {
            ["Int", "Decimal", "Money", "Text"]
                .iter()
                .map(|c| {
                    t.replace("<T>", &format!("<{c}>"))
                        .replace("<U>", &format!("<{c}>"))
                        .replace("<K>", &format!("<{c}>"))
                })
                .map(|s| if s == "T?" { String::new() } else { s })
                .chain(["Int?", "Decimal?", "Money?", "Text?"].iter().filter(|_| t == "T?").map(|c| c.to_string()))
                .filter(|s| !s.is_empty())
                .collect()
        } else {
            vec![t]
        };
        for t in concrete {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// The emitted record's `v`, from an outcome line.
fn emitted_value(outcome: &str) -> Option<&str> {
    let start = outcome.find(r#"{"v":"#)? + r#"{"v":"#.len();
    let rest = outcome.get(start..)?;
    // The record ends at the `}` that closes it: track depth through strings.
    let (mut depth, mut in_str, mut escaped) = (0i32, false, false);
    for (i, c) in rest.char_indices() {
        match (in_str, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_str = false,
            (true, false, _) => {}
            (false, _, '"') => in_str = true,
            (false, _, '{' | '[') => depth += 1,
            (false, _, ']') => depth -= 1,
            (false, _, '}') if depth == 0 => return rest.get(..i),
            (false, _, '}') => depth -= 1,
            _ => {}
        }
    }
    None
}

#[test]
fn every_example_holds_in_both_engines() {
    let mut ran = 0;
    let mut failures: Vec<String> = Vec::new();
    for b in functions::ALL {
        for ex in b.examples {
            let checked = candidates(b).into_iter().find_map(|field| {
                let src = source(ex.expr, &field);
                let pkg = package::from_sources(PathBuf::from("."), vec![("example.canon".into(), src)]);
                (!pkg.has_errors()).then(|| pkg.package())
            });
            let Some(checked) = checked else {
                failures.push(format!("{}: `{}` checks as none of {:?}", b.name, ex.expr, candidates(b)));
                continue;
            };
            let tables = Tables::empty(&checked);
            let interp = Engine::new(checked.clone(), tables.clone());
            let jit = JitEngine::new(checked, &tables).unwrap_or_else(|e| panic!("{}: JIT failed: {}", ex.expr, e.0));
            let (mut a, mut j) = (String::new(), String::new());
            interp.write_outcome(&interp.evaluate(1, EVENT), &mut a);
            jit.write_outcome(&jit.evaluate(1, EVENT), &mut j);
            for (engine, outcome) in [("interpreter", &a), ("JIT", &j)] {
                if emitted_value(outcome) != Some(ex.json) {
                    failures
                        .push(format!("{}: `{}` in the {engine}: want {}, got {outcome}", b.name, ex.expr, ex.json));
                }
            }
            ran += 1;
        }
    }
    assert!(failures.is_empty(), "{} of the examples fail:\n{}", failures.len(), failures.join("\n"));
    assert!(ran >= 2 * functions::ALL.len(), "only {ran} examples ran");
}

#[test]
fn emitted_value_reads_nested_json() {
    assert_eq!(emitted_value(r#"x {"v":{"a":"}"}} y"#), Some(r#"{"a":"}"}"#));
    assert_eq!(emitted_value(r#"{"v":[1,2]}"#), Some("[1,2]"));
    assert_eq!(emitted_value("no record"), None);
}
