//! `canon doc` (RUNTIME.md §3.5): the page of a small package (a snapshot),
//! the same bytes on a second run, escaping, the exit statuses for a package
//! with errors and an output directory that cannot be written, and that the
//! committed `docs/example-doc/index.html` is what `canon doc` gives now.
//! tests/doc_chromium.rs loads the page in a real browser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

mod common;
use common::canon;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-doc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `canon doc PKG --out DIR` and returns the page.
fn doc(pkg: &str, out: &Path) -> String {
    let o = canon(&["doc", pkg, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out.join("index.html")).unwrap()
}

#[test]
fn small_package_page() {
    let out = temp("small");
    let page = doc("tests/doc/small", &out);
    insta::assert_snapshot!("doc_small_index_html", page);

    // The same package gives the same bytes.
    let again = doc("tests/doc/small", &out);
    assert_eq!(page, again);

    // Every piece of package text is escaped: the `<`, `&` and quotes of a
    // doc comment and of a message never reach the page raw.
    assert!(page.contains("(limits &lt; 5 &amp; &gt; 0)"), "doc comment escaped");
    assert!(page.contains("must be &gt; 0 &amp; &quot;real&quot;"), "message unescaped from Canon, escaped for HTML");
    assert!(page.contains("no account for &lt;<code class=\"ph\">{c.category}</code>&gt;"));
    assert!(!page.contains("<{c.category}>"));
    // Self-contained: no script, nothing fetched.
    assert!(!page.contains("<script"));
    assert!(!page.contains("src=\"http") && !page.contains("href=\"http") && !page.contains("@import"));
    // Unversioned without `canon.toml`.
    assert!(page.contains("<dd class=\"version\">unversioned</dd>"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn manifest_is_shown() {
    let pkg = temp("manifest-pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for f in ["types.canon", "handler.canon"] {
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doc/small").join(f), pkg.join(f)).unwrap();
    }
    std::fs::write(
        pkg.join("canon.toml"),
        "[package]\nname = \"expenses\"\nversion = \"2.1.0\"\nowner = \"ap-team@example.com\"\neffective_from = 2027-01-01\n",
    )
    .unwrap();
    let out = temp("manifest-out");
    let page = doc(pkg.to_str().unwrap(), &out);
    assert!(page.contains("<title>expenses — Canon rules</title>"));
    assert!(page.contains("<dd class=\"version\">2.1.0</dd>"));
    assert!(page.contains("<dd class=\"owner\">ap-team@example.com</dd>"));
    assert!(page.contains("<dd class=\"effective-from\">2027-01-01</dd>"));
    let _ = std::fs::remove_dir_all(&pkg);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn package_with_errors_writes_nothing() {
    let pkg = temp("bad-pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("bad.canon"), "// A function whose body has the wrong type.\nfn f() -> Int = \"x\"\n")
        .unwrap();
    let out = temp("bad-out");
    let o = canon(&["doc", pkg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("E0201"), "the diagnostics are shown: {stderr}");
    assert!(stderr.contains("no documentation was written"), "{stderr}");
    assert!(!out.exists(), "nothing is written");
    let _ = std::fs::remove_dir_all(&pkg);
}

#[test]
fn unwritable_out_and_missing_package_exit_2() {
    // A directory cannot be made below a regular file (this holds for root too).
    let base = temp("unwritable");
    std::fs::create_dir_all(&base).unwrap();
    let file = base.join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let out = file.join("docs");
    let o = canon(&["doc", "tests/doc/small", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write"), "{stderr}");

    let o = canon(&["doc", "tests/doc/no-such-package", "--out", base.join("x").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    let _ = std::fs::remove_dir_all(&base);
}

/// Every example documents: one page, one routing graph, no script.
#[test]
fn every_example_documents() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let out = temp(&format!("every-{name}"));
        let page = doc(&format!("examples/{name}"), &out);
        assert_eq!(page.matches("<svg").count(), 1, "{name}");
        assert!(page.contains("<section id=\"handlers\">") && !page.contains("<script"), "{name}");
        let _ = std::fs::remove_dir_all(&out);
    }
}

/// `docs/example-doc/index.html` is the timesheets example's page as
/// `canon doc` writes it now.
#[test]
fn example_doc_is_current() {
    let out = temp("example");
    let page = doc("examples/timesheets", &out);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/example-doc/index.html");
    let old = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        old == page,
        "docs/example-doc/index.html is stale: run `cargo run -- doc examples/timesheets --out docs/example-doc`"
    );
    let _ = std::fs::remove_dir_all(&out);
}
