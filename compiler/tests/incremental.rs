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
