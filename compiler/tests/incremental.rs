//! Incrementality: an edit to one file re-parses only that file, and
//! re-checking an unchanged package runs nothing at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::{Arc, Mutex};

use canon_compiler::db::{check_package, Db, Package, SourceFile};
use salsa::Setter;

#[salsa::db]
#[derive(Clone)]
struct TestDb {
    storage: salsa::Storage<Self>,
    log: Arc<Mutex<Vec<String>>>,
}

impl TestDb {
    fn new() -> TestDb {
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = log.clone();
        let storage = salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
            if let salsa::EventKind::WillExecute { .. } = event.kind {
                sink.lock().unwrap().push(format!("{:?}", event.kind));
            }
        })));
        TestDb { storage, log }
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

#[salsa::db]
impl salsa::Database for TestDb {}
#[salsa::db]
impl Db for TestDb {}

fn count(log: &[String], query: &str) -> usize {
    log.iter().filter(|l| l.contains(query)).count()
}

#[test]
fn an_edit_reparses_only_its_file() {
    let mut db = TestDb::new();
    let a = SourceFile::new(&db, "a.canon".into(), "record A { x: Int }\n".into());
    let b = SourceFile::new(&db, "b.canon".into(), "fn f(a: A) -> Int = a.x + 1\n".into());
    let pkg = Package::new(&db, vec![a, b]);
    assert!(!check_package(&db, pkg).has_errors());
    let first = db.take();
    assert_eq!(count(&first, "parse_file"), 2, "{first:?}");
    assert_eq!(count(&first, "check_package"), 1, "{first:?}");

    // Nothing changed: nothing runs.
    assert!(!check_package(&db, pkg).has_errors());
    assert!(db.take().is_empty());

    // Edit b: only b is parsed again; the package is checked again and sees the error.
    b.set_text(&mut db).to("fn f(a: A) -> Int = a.y + 1\n".into());
    let checked = check_package(&db, pkg);
    assert!(checked.has_errors());
    let second = db.take();
    assert_eq!(count(&second, "parse_file"), 1, "{second:?}");
    assert_eq!(count(&second, "check_package"), 1, "{second:?}");
}

/// The salsa queries and the CLI's one-shot check give the same package and
/// the same diagnostics, for every file of the checker corpus and every
/// conformance case (one package per directory).
#[test]
fn salsa_and_the_one_shot_check_agree() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut packages: Vec<Vec<(String, String)>> = Vec::new();
    for entry in std::fs::read_dir(root.join("tests/check")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "canon") {
            packages.push(vec![("a.canon".into(), std::fs::read_to_string(&p).unwrap())]);
        }
    }
    for entry in std::fs::read_dir(root.join("tests/conformance")).unwrap() {
        let dir = entry.unwrap().path();
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "canon"))
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        files.sort();
        if !files.is_empty() {
            packages.push(files);
        }
    }
    assert!(packages.len() > 100, "{}", packages.len());
    let mut with_state = 0;
    for files in packages {
        let db = TestDb::new();
        let sources: Vec<SourceFile> = files.iter().map(|(p, t)| SourceFile::new(&db, p.clone(), t.clone())).collect();
        let salsa = check_package(&db, Package::new(&db, sources));
        let once = canon_compiler::db::check_once(&files);
        assert_eq!(salsa.diagnostics, once.diagnostics, "{}", files[0].1);
        let (mut a, mut b) = ((*salsa.package).clone(), (*once.package).clone());
        // The side table of types may list entries in another order.
        a.types.sort_by_key(|(f, s, _)| (f.0, s.start, s.end));
        b.types.sort_by_key(|(f, s, _)| (f.0, s.start, s.end));
        assert!(a == b, "the packages differ for {}", files[0].1);
        with_state += usize::from(!a.metrics.is_empty());
    }
    assert!(with_state >= 2, "the corpus has packages with metrics");
}
