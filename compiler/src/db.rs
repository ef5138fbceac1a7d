//! Salsa queries: source file → parsed file → signatures → each body →
//! checked package. The CLI and the language server share them, so an edit
//! re-parses only its file, and an edit inside one body re-checks that body
//! only: bodies are checked with item-relative positions against the
//! signatures without positions ([`body_scope`]), so both compare equal
//! after an edit elsewhere and salsa reuses them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::check;
use crate::diagnostics::{Diagnostic, FileId, LineIndex};
use crate::ir;
use crate::syntax::{self, ast, Parsed};

/// One source file: its path relative to the package root and its text.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub text: String,
}

/// A package: its files, sorted by path.
#[salsa::input(debug)]
pub struct Package {
    #[returns(ref)]
    pub files: Vec<SourceFile>,
}

/// The database trait every layer above the compiler extends.
#[salsa::db]
pub trait Db: salsa::Database {}

/// Parses one file (syntax errors are reported with `FileId(0)`; the package
/// query assigns the real file ids). Each top-level item is parsed alone and
/// memoised by its text, so an edit re-parses the item it touched; when one
/// does not parse alone, the whole file is parsed as [`syntax::parse`] does,
/// which recovers item by item and words the errors.
#[salsa::tracked(returns(ref))]
pub fn parse_file(db: &dyn Db, file: SourceFile) -> Parsed {
    let text = file.text(db);
    let Some(chunks) = file_chunks(db, file) else { return syntax::parse(text, FileId(0)) };
    let mut items = Vec::new();
    let mut diagnostics = Vec::new();
    for (chunk, by) in chunks {
        let Some(parsed) = parse_chunk(db, *chunk) else { continue };
        let by = *by;
        items.extend(parsed.file.items.iter().map(|i| syntax::shift::moved(i, by)));
        diagnostics.extend(parsed.diagnostics.iter().map(|d| {
            let mut d = d.clone();
            d.span = ast::Span { start: d.span.start + by, end: d.span.end + by };
            for l in &mut d.labels {
                l.span = ast::Span { start: l.span.start + by, end: l.span.end + by };
            }
            if let Some(crate::diagnostics::Data::Replace { span, .. }) = &mut d.data {
                *span = ast::Span { start: span.start + by, end: span.end + by };
            }
            d
        }));
    }
    Parsed { file: ast::File { items, broken: Vec::new() }, diagnostics }
}

/// The chunks of a file (see [`syntax::parser::item_chunks`]), each
/// with where it starts; `None` when one does not parse alone.
#[salsa::tracked(returns(ref))]
fn file_chunks<'db>(db: &'db dyn Db, file: SourceFile) -> Option<Vec<(Chunk<'db>, u32)>> {
    let text = file.text(db);
    let mut chunks = Vec::new();
    for (start, end) in syntax::parser::item_chunks(text) {
        let chunk = Chunk::new(db, text.get(start..end)?.to_string());
        parse_chunk(db, chunk).as_ref()?;
        chunks.push((chunk, start as u32));
    }
    Some(chunks)
}

/// The text of one top-level item of a file (see [`syntax::parser::item_chunks`]).
#[salsa::interned(debug)]
pub struct Chunk<'db> {
    #[returns(ref)]
    pub text: String,
}

/// One top-level item parsed alone, spans relative to its start (`None` when
/// it does not parse alone).
#[salsa::tracked(returns(ref))]
pub fn parse_chunk<'db>(db: &'db dyn Db, chunk: Chunk<'db>) -> Option<Parsed> {
    syntax::parser::parse_chunk(chunk.text(db))
}

/// The checked package and every diagnostic of every file.
#[derive(Debug, Clone)]
pub struct Checked {
    pub package: Arc<ir::Package>,
    pub diagnostics: Arc<Vec<Diagnostic>>,
    /// The syntax trees, one per file, when the package was checked once
    /// ([`check_once`]): [`unused_once`] reads them instead of parsing the
    /// files again. `None` from the database (its trees are memoised).
    pub asts: Option<Arc<Vec<ast::File>>>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

impl PartialEq for Checked {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.package, &other.package) && Arc::ptr_eq(&self.diagnostics, &other.diagnostics)
    }
}

/// The package's declarations and signatures, checked (no body). It holds
/// positions, so most edits change it; [`body_scope`] is what bodies read.
#[salsa::tracked(returns(ref), no_eq)]
pub fn signatures(db: &dyn Db, package: Package) -> check::Sigs {
    let files = package.files(db);
    let inputs: Vec<check::Input<'_>> = files
        .iter()
        .map(|f| check::Input { path: f.path(db), text: f.text(db), ast: &parse_file(db, *f).file })
        .collect();
    check::signatures(&inputs)
}

/// The signatures without positions: equal after an edit inside a body, so
/// salsa backdates it and no other body is checked again.
#[salsa::tracked(returns(ref))]
pub fn body_scope(db: &dyn Db, package: Package) -> check::Scope {
    signatures(db, package).body_scope()
}

/// What an item with a body is called: its kind, its name (a handler's
/// event, a test's title) and which of the items of that kind and name of its
/// file it is. It stays the same when other items move.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemId {
    pub kind: ItemKind,
    pub name: String,
    pub nth: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Fn,
    Decision,
    Handler,
    Test,
    Metric,
}

/// The [`ItemId`] of each item of a file (`None` for items without a body).
pub fn item_ids(items: &[ast::Item]) -> Vec<Option<ItemId>> {
    let mut seen: HashMap<(ItemKind, &str), u32> = HashMap::new();
    items
        .iter()
        .map(|item| {
            let (kind, name) = match item {
                ast::Item::Fn(f) => (ItemKind::Fn, f.name.text.as_str()),
                ast::Item::Decision(d) => (ItemKind::Decision, d.name.text.as_str()),
                ast::Item::Handler(h) => (ItemKind::Handler, h.event.text.as_str()),
                ast::Item::Test(t) => (ItemKind::Test, t.name.value.as_str()),
                ast::Item::Metric(m) => (ItemKind::Metric, m.name.text.as_str()),
                _ => return None,
            };
            let n = seen.entry((kind, name)).or_insert(0);
            let nth = *n;
            *n += 1;
            Some(ItemId { kind, name: name.to_string(), nth })
        })
        .collect()
}

/// One item with a body, in one file of a package.
#[salsa::interned(debug)]
pub struct ItemKey<'db> {
    #[returns(copy)]
    pub package: Package,
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(ref)]
    pub id: ItemId,
}

/// Where each item of a file is, by its [`ItemId`].
#[salsa::tracked(returns(ref))]
fn item_positions(db: &dyn Db, file: SourceFile) -> HashMap<ItemId, usize> {
    item_ids(&parse_file(db, file).file.items).into_iter().enumerate().filter_map(|(i, id)| Some((id?, i))).collect()
}

/// An item's tree with spans relative to its start, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSource {
    pub item: ast::Item,
    pub text: String,
}

fn find_item<'db>(db: &'db dyn Db, key: ItemKey<'db>) -> Option<&'db ast::Item> {
    let file = key.file(db);
    let i = *item_positions(db, file).get(key.id(db))?;
    parse_file(db, file).file.items.get(i)
}

/// The item a key names, moved to start at 0: equal when only other items changed.
#[salsa::tracked(returns(ref))]
pub fn item_source<'db>(db: &'db dyn Db, key: ItemKey<'db>) -> Option<ItemSource> {
    let item = find_item(db, key)?;
    let span = item.span();
    let text = key.file(db).text(db).get(span.start as usize..span.end as usize)?.to_string();
    Some(ItemSource { item: syntax::shift::relative(item, span.start), text })
}

/// Where each line of a file starts.
#[salsa::tracked(returns(ref))]
fn line_index(db: &dyn Db, file: SourceFile) -> LineIndex {
    LineIndex::new(file.text(db))
}

/// The number of lines above an item.
#[salsa::tracked]
pub fn item_line<'db>(db: &'db dyn Db, key: ItemKey<'db>) -> u32 {
    let Some(item) = find_item(db, key) else { return 0 };
    line_index(db, key.file(db)).line(item.span().start).saturating_sub(1)
}

/// For each item of a file, the chunk it was parsed from and its index
/// there, when the item starts its chunk (then the chunk's tree of it is
/// relative to the item's start, as [`item_source`] would make it).
#[salsa::tracked(returns(ref))]
fn item_chunks<'db>(db: &'db dyn Db, file: SourceFile) -> Vec<Option<(Chunk<'db>, u32)>> {
    let mut out = Vec::new();
    for (chunk, _) in file_chunks(db, file).iter().flatten() {
        if let Some(parsed) = parse_chunk(db, *chunk) {
            let starts = parsed.file.items.iter().enumerate();
            out.extend(starts.map(|(i, item)| (item.span().start == 0).then_some((*chunk, i as u32))));
        }
    }
    out
}

/// The chunk of an item and its index there (see [`item_chunks`]): equal
/// when only other items changed.
#[salsa::tracked]
fn item_chunk<'db>(db: &'db dyn Db, key: ItemKey<'db>) -> Option<(Chunk<'db>, u32)> {
    let i = *item_positions(db, key.file(db)).get(key.id(db))?;
    item_chunks(db, key.file(db)).get(i).copied().flatten()
}

/// One body, checked: re-runs only when its own text or a signature changed.
#[salsa::tracked(returns(ref))]
pub fn check_item<'db>(db: &'db dyn Db, key: ItemKey<'db>) -> Option<check::ItemResult> {
    // Only decisions name absolute lines in their messages.
    let line_base = match key.id(db).kind {
        ItemKind::Decision => *item_line(db, key),
        _ => 0,
    };
    let scope = body_scope(db, key.package(db));
    // The item's tree as parsed alone when it can be read from there (no copy).
    if let Some((chunk, i)) = *item_chunk(db, key) {
        let item = parse_chunk(db, chunk).as_ref().and_then(|p| p.file.items.get(i as usize))?;
        let text = chunk.text(db).get(..item.span().end as usize)?;
        return Some(check::check_item(scope, text, item, line_base));
    }
    let src = item_source(db, key).as_ref()?;
    Some(check::check_item(scope, &src.text, &src.item, line_base))
}

/// The checked package and every diagnostic of every file: the signatures,
/// each body from [`check_item`], assembled.
#[salsa::tracked(returns(ref), no_eq)]
pub fn check_package(db: &dyn Db, package: Package) -> Checked {
    let files = package.files(db);
    let sigs = signatures(db, package);
    let mut diags = Vec::new();
    let mut items = Vec::new();
    let mut texts = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let file = FileId(i as u32);
        let parsed = parse_file(db, *f);
        for d in &parsed.diagnostics {
            let mut d = d.clone();
            d.file = file;
            diags.push(d);
        }
        texts.push(f.text(db).as_str());
        for (item, id) in parsed.file.items.iter().zip(item_ids(&parsed.file.items)) {
            let Some(id) = id else { continue };
            if !sigs.has_body(file, item) {
                continue;
            }
            if let Some(result) = check_item(db, ItemKey::new(db, package, *f, id)) {
                items.push((file, item, Cow::Borrowed(result)));
            }
        }
    }
    let (pkg, check_diags) = check::assemble(sigs, &texts, items.into_iter());
    diags.extend(check_diags);
    diags.sort_by_key(|d| (d.file, d.span.start, d.code));
    Checked { package: Arc::new(pkg), diagnostics: Arc::new(diags), asts: None }
}

/// Checks files read once and never edited (the CLI): the same steps as
/// [`check_package`] ([`check::check`]) without memoising them, each file
/// parsed whole. `files` are (path, text), sorted by path.
pub fn check_once(files: &[(String, String)]) -> Checked {
    let parsed = parse_all(files);
    let mut diags = Vec::new();
    for (i, p) in parsed.iter().enumerate() {
        diags.extend(p.diagnostics.iter().map(|d| Diagnostic { file: FileId(i as u32), ..d.clone() }));
    }
    let inputs: Vec<check::Input<'_>> =
        files.iter().zip(&parsed).map(|((path, text), p)| check::Input { path, text, ast: &p.file }).collect();
    let (pkg, check_diags) = check::check(&inputs);
    diags.extend(check_diags);
    diags.sort_by_key(|d| (d.file, d.span.start, d.code));
    let asts = parsed.into_iter().map(|p| p.file).collect();
    Checked { package: Arc::new(pkg), diagnostics: Arc::new(diags), asts: Some(Arc::new(asts)) }
}

/// Below this many bytes of source a package is parsed on the calling
/// thread: starting a thread costs more than parsing a small file.
const PARALLEL_PARSE_BYTES: usize = 64 * 1024;

/// The stack of the threads that parse and check: a main thread's.
pub(crate) const THREAD_STACK: usize = 8 << 20;

/// Every file of `files` parsed, in order. A package of many bytes in
/// several files is parsed on up to four threads (each file on one: parsing
/// is most of `canon check`'s time, issue 16); the result does not depend on
/// how the files were shared out.
fn parse_all(files: &[(String, String)]) -> Vec<Parsed> {
    let total: usize = files.iter().map(|(_, text)| text.len()).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4).min(files.len());
    if threads <= 1 || total < PARALLEL_PARSE_BYTES {
        return files.iter().map(|(_, text)| syntax::parse(text, FileId(0))).collect();
    }
    // Largest file first into the least loaded share, so the shares end
    // together.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files.get(i).map_or(0, |(_, t)| t.len())));
    let mut shares: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); threads];
    for i in order {
        if let Some(share) = shares.iter_mut().min_by_key(|(bytes, _)| *bytes) {
            share.0 += files.get(i).map_or(0, |(_, t)| t.len());
            share.1.push(i);
        }
    }
    let parse_share = |share: &[usize]| -> Vec<(usize, Parsed)> {
        share.iter().filter_map(|&i| files.get(i).map(|(_, text)| (i, syntax::parse(text, FileId(0))))).collect()
    };
    let mut done: Vec<(usize, Parsed)> = std::thread::scope(|s| {
        let (first, rest) = shares.split_first().map_or((None, &[][..]), |(f, r)| (Some(f), r));
        // Each thread gets the stack of a main thread (8 MiB), so that a deeply
        // nested file parses on it as it does on the main thread; a share whose
        // thread cannot start is parsed here.
        let mut done = Vec::new();
        let mut handles = Vec::new();
        for (_, share) in rest {
            match std::thread::Builder::new().stack_size(THREAD_STACK).spawn_scoped(s, || parse_share(share)) {
                Ok(h) => handles.push(h),
                Err(_) => done.extend(parse_share(share)),
            }
        }
        done.extend(first.map(|(_, share)| parse_share(share)).unwrap_or_default());
        for h in handles {
            match h.join() {
                Ok(parsed) => done.extend(parsed),
                // A parser panic is a bug; raise it on this thread as it
                // would have been raised without threads.
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        done
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, p)| p).collect()
}

/// The unused declarations of a package (W0701–W0708, [`check::unused`]):
/// `canon check --strict` reports them, the language server greys them out.
/// Empty while the package has errors.
#[salsa::tracked(returns(ref))]
pub fn unused(db: &dyn Db, package: Package) -> Vec<Diagnostic> {
    let checked = check_package(db, package);
    if checked.has_errors() {
        return Vec::new();
    }
    let files = package.files(db);
    let inputs: Vec<check::Input<'_>> = files
        .iter()
        .map(|f| check::Input { path: f.path(db), text: f.text(db), ast: &parse_file(db, *f).file })
        .collect();
    check::unused::unused(&inputs, &checked.package)
}

/// [`unused`] for files read once (the CLI): `files` and `checked` as
/// [`check_once`] took and gave them.
pub fn unused_once(files: &[(String, String)], checked: &Checked) -> Vec<Diagnostic> {
    if checked.has_errors() {
        return Vec::new();
    }
    // The trees `check_once` kept; parsed again only for a `Checked` without them.
    let reparsed: Vec<ast::File>;
    let asts: &[ast::File] = match &checked.asts {
        Some(asts) if asts.len() == files.len() => asts,
        _ => {
            reparsed = files.iter().map(|(_, text)| syntax::parse(text, FileId(0)).file).collect();
            &reparsed
        }
    };
    let inputs: Vec<check::Input<'_>> =
        files.iter().zip(asts).map(|((path, text), ast)| check::Input { path, text, ast }).collect();
    check::unused::unused(&inputs, &checked.package)
}

/// The one concrete database (the CLI's; the language server wraps it too).
#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use std::sync::{Arc, Mutex};

    use salsa::plumbing::AsId;
    use salsa::Setter;

    use super::*;

    /// A database that records which queries execute.
    #[salsa::db]
    #[derive(Clone)]
    struct LoggingDb {
        storage: salsa::Storage<Self>,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl LoggingDb {
        fn new() -> LoggingDb {
            let log: Arc<Mutex<Vec<String>>> = Arc::default();
            let sink = log.clone();
            let storage = salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
                if let salsa::EventKind::WillExecute { database_key } = event.kind {
                    sink.lock().unwrap().push(format!("{database_key:?}"));
                }
            })));
            LoggingDb { storage, log }
        }
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.log.lock().unwrap())
        }
    }

    #[salsa::db]
    impl salsa::Database for LoggingDb {}

    #[salsa::db]
    impl Db for LoggingDb {}

    const TYPES: &str = r#"event Paid as "paid" {
  amount: Int
  who: Text
}

event Refunded as "refunded" {
  amount: Int
}

record Line {
  amount: Int
}

destination ledger: Line
"#;

    const RULES: &str = r#"fn double(x: Int) -> Int = x * 2

decision band(amount: Int) -> Text
  hit first
  | amount || band    |
  | < 10   || "small" |
  | -      || "large" |

on Paid as p {
  check p.amount > 0
    else reject BAD_AMOUNT "amount must be positive, got {p.amount}"
  emit ledger Line { amount: double(p.amount) }
}

on Refunded as r {
  check band(r.amount) == "small"
    else reject TOO_LARGE "refunds over 10 go to a person"
  emit ledger Line { amount: r.amount }
}

test "a payment is posted doubled" {
  given Paid { amount: 4, who: "x" }
  expect emit ledger Line { amount: 8 }
}
"#;

    /// Which `check_item` queries ran, as the ids of the items they checked.
    fn bodies_checked(db: &LoggingDb, log: &[String], package: Package, file: SourceFile) -> Vec<String> {
        let parsed = parse_file(db, file);
        item_ids(&parsed.file.items)
            .into_iter()
            .flatten()
            .filter(|id| {
                let key = ItemKey::new(db, package, file, id.clone());
                log.contains(&format!("check_item({:?})", key.as_id()))
            })
            .map(|id| format!("{:?} {}", id.kind, id.name))
            .collect()
    }

    /// The package checked from scratch, without salsa.
    fn from_scratch(files: &[(&str, &str)]) -> (ir::Package, Vec<Diagnostic>) {
        let parsed: Vec<Parsed> = files.iter().map(|(_, t)| syntax::parse(t, FileId(0))).collect();
        let inputs: Vec<check::Input<'_>> =
            files.iter().zip(&parsed).map(|((path, text), p)| check::Input { path, text, ast: &p.file }).collect();
        check::check(&inputs)
    }

    fn assert_same_as_from_scratch(db: &LoggingDb, package: Package, files: &[(&str, &str)]) {
        let checked = check_package(db, package);
        let (pkg, diags) = from_scratch(files);
        assert_eq!(*checked.package, pkg);
        assert_eq!(*checked.diagnostics, diags);
    }

    #[test]
    fn an_edit_inside_one_body_checks_that_body_only() {
        let mut db = LoggingDb::new();
        let types = SourceFile::new(&db, "a_types.canon".into(), TYPES.into());
        let rules = SourceFile::new(&db, "b_rules.canon".into(), RULES.into());
        let package = Package::new(&db, vec![types, rules]);
        assert!(!check_package(&db, package).has_errors(), "{:?}", check_package(&db, package).diagnostics);
        let first = db.take();
        assert_eq!(bodies_checked(&db, &first, package, rules).len(), 5);

        // Inside the `Paid` handler: a longer message (every later item moves).
        let edited = RULES.replace("must be positive", "must be strictly positive");
        rules.set_text(&mut db).to(edited.clone());
        assert_same_as_from_scratch(&db, package, &[("a_types.canon", TYPES), ("b_rules.canon", &edited)]);
        let log = db.take();
        assert_eq!(bodies_checked(&db, &log, package, rules), ["Handler Paid"], "{log:#?}");
        assert!(log.iter().any(|q| q.starts_with("check_package")));
        // Only the edited item is parsed again.
        assert_eq!(log.iter().filter(|q| q.starts_with("parse_chunk")).count(), 1, "{log:#?}");

        // A new line inside the same body: the items below it move down a line.
        let edited = edited.replace("  emit ledger Line { amount: double", "\n  emit ledger Line { amount: double");
        rules.set_text(&mut db).to(edited.clone());
        assert_same_as_from_scratch(&db, package, &[("a_types.canon", TYPES), ("b_rules.canon", &edited)]);
        let log = db.take();
        assert_eq!(bodies_checked(&db, &log, package, rules), ["Handler Paid"], "{log:#?}");

        // A signature: `double` now returns Text, so its body and its caller
        // are checked again (and the caller fails).
        let edited = edited.replace("fn double(x: Int) -> Int", "fn double(x: Int) -> Text");
        rules.set_text(&mut db).to(edited.clone());
        assert_same_as_from_scratch(&db, package, &[("a_types.canon", TYPES), ("b_rules.canon", &edited)]);
        let log = db.take();
        let checked = bodies_checked(&db, &log, package, rules);
        assert!(checked.contains(&"Fn double".to_string()), "{checked:?}");
        assert!(checked.contains(&"Handler Paid".to_string()), "{checked:?}");
        assert!(check_package(&db, package).has_errors());

        // An edit in another file's declaration (a new field) re-checks the bodies.
        let more = TYPES.replace("  who: Text\n", "  who: Text\n  note: Text?\n");
        types.set_text(&mut db).to(more.clone());
        assert_same_as_from_scratch(&db, package, &[("a_types.canon", &more), ("b_rules.canon", &edited)]);
        let log = db.take();
        assert_eq!(bodies_checked(&db, &log, package, rules).len(), 5, "{log:#?}");
    }

    #[test]
    fn a_decision_overlap_message_names_the_moved_line() {
        let mut db = LoggingDb::new();
        let text = "decision d(x: Int) -> Int\n  hit unique\n  | x   || y |\n  | < 5 || 1 |\n  | < 9 || 2 |\n";
        let file = SourceFile::new(&db, "d.canon".into(), text.into());
        let package = Package::new(&db, vec![file]);
        assert_same_as_from_scratch(&db, package, &[("d.canon", text)]);
        let moved = format!("\n\n{text}");
        file.set_text(&mut db).to(moved.clone());
        assert_same_as_from_scratch(&db, package, &[("d.canon", &moved)]);
        let diags = &check_package(&db, package).diagnostics;
        assert!(diags.iter().any(|d| d.labels.iter().any(|l| l.message.contains("line 6"))), "{diags:?}");
    }

    fn canon_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.ends_with("target") {
                canon_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "canon") {
                out.push(p);
            }
        }
    }

    /// Parsing item by item gives the tree and errors of parsing the whole
    /// file, on every `.canon` file of the repository, and after edits.
    #[test]
    fn parsing_item_by_item_is_parsing_the_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut paths = Vec::new();
        for d in ["examples", "tests", "compiler", "jit", "lsp", "runtime", "pipeline"] {
            canon_files(&root.join(d), &mut paths);
        }
        assert!(paths.len() > 100, "{}", paths.len());
        let mut db = LoggingDb::new();
        let file = SourceFile::new(&db, "a.canon".into(), String::new());
        for p in &paths {
            let text = std::fs::read_to_string(p).unwrap();
            let mut variants = vec![
                text.clone(),
                format!("\n\n{text}"),
                text.replacen('}', "", 1),
                text.replacen("\n", "\n  x =\n", 1),
                text.replace("\n}\n", "\n}\n// a comment\n\n"),
                text.replace("\n///", "\n// c\n\n///"),
            ];
            if let Some(i) = text.find("\n\n") {
                variants.push(format!("{}\n/// d\n// c\n{}", &text[..i], &text[i..]));
            }
            for v in variants {
                file.set_text(&mut db).to(v.clone());
                assert_eq!(*parse_file(&db, file), syntax::parse(&v, FileId(0)), "{}\n{v}", p.display());
            }
        }
    }

    /// Parsing (and checking bodies) on several threads gives the trees and
    /// diagnostics that one thread gives, in the files' order (files of unequal sizes, past the
    /// threshold, one with a syntax error, one with a type error).
    #[test]
    fn parallel_parse_matches_sequential() {
        let module = |i: usize| {
            format!(
                "record R{i} {{ a: Int\n b: Text }}\nfn f{i}(x: Int) -> Int = x + {i}\n\
                 decision d{i}(n: Int) -> Int\n  hit first\n  | n || out |\n  | < 0 || 0 |\n  | >= 0 || {i} |\n"
            )
        };
        let mut files: Vec<(String, String)> = (0..7)
            .map(|f| (format!("f{f}.canon"), (0..(40 * (f + 1))).map(|i| module(f * 1000 + i)).collect::<String>()))
            .collect();
        files[2].1.push_str("fn broken( -> Int = 1\n");
        files[5].1.push_str("fn wrong() -> Int = \"text\"\n");
        let total: usize = files.iter().map(|(_, t)| t.len()).sum();
        assert!(total > PARALLEL_PARSE_BYTES, "the test must take the threaded path ({total} bytes)");
        let threaded = parse_all(&files);
        let sequential: Vec<Parsed> = files.iter().map(|(_, t)| syntax::parse(t, FileId(0))).collect();
        assert_eq!(threaded.len(), sequential.len());
        for (a, b) in threaded.iter().zip(&sequential) {
            assert_eq!(a.file, b.file);
            assert_eq!(format!("{:?}", a.diagnostics), format!("{:?}", b.diagnostics));
        }
        assert!(!threaded[2].diagnostics.is_empty(), "the syntax error is reported");
        let checked = check_once(&files);
        assert!(checked.diagnostics.iter().any(|d| d.file == FileId(2)));
        assert!(checked.diagnostics.iter().any(|d| d.file == FileId(5)));
        // The language server's per-item queries (one thread) agree with the
        // threaded check of the same files: package and diagnostics.
        let db = LoggingDb::new();
        let sources = files.iter().map(|(p, t)| SourceFile::new(&db, p.clone(), t.clone())).collect();
        let package = Package::new(&db, sources);
        let queried = check_package(&db, package);
        assert_eq!(*queried.package, *checked.package);
        assert_eq!(*queried.diagnostics, *checked.diagnostics);
    }
}
