//! Every `.canon` file of the shared conformance cases and the examples parses without a syntax error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

fn canon_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            canon_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "canon") {
            out.push(p);
        }
    }
}

#[test]
fn conformance_and_examples_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    canon_files(&root.join("tests/conformance/shared"), &mut files);
    canon_files(&root.join("examples"), &mut files);
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let parsed = canon_compiler::syntax::parse(&text, Default::default());
        for d in parsed.diagnostics {
            let idx = canon_compiler::diagnostics::LineIndex::new(&text);
            let (l, c) = idx.line_col(&text, d.span.start);
            failures.push(format!("{}:{l}:{c}: {}", f.display(), d.message));
        }
    }
    assert!(failures.is_empty(), "syntax errors:\n{}", failures.join("\n"));
}
