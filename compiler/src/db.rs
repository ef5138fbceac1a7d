//! Salsa queries: source file → parsed file → checked package. The CLI and
//! the language server share them, so an edit re-parses only its file and
//! re-checks only when the result could change.

use std::sync::Arc;

use crate::check;
use crate::diagnostics::{Diagnostic, FileId};
use crate::ir;
use crate::syntax::{self, Parsed};

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
/// query assigns the real file ids).
#[salsa::tracked(returns(ref))]
pub fn parse_file(db: &dyn Db, file: SourceFile) -> Parsed {
    syntax::parse(file.text(db), FileId(0))
}

/// The checked package and every diagnostic of every file.
#[derive(Debug, Clone)]
pub struct Checked {
    pub package: Arc<ir::Package>,
    pub diagnostics: Arc<Vec<Diagnostic>>,
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

#[salsa::tracked(returns(ref), no_eq)]
pub fn check_package(db: &dyn Db, package: Package) -> Checked {
    let files = package.files(db);
    let mut diags = Vec::new();
    let mut inputs = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let parsed = parse_file(db, *f);
        for d in &parsed.diagnostics {
            let mut d = d.clone();
            d.file = FileId(i as u32);
            diags.push(d);
        }
        inputs.push((f.path(db).as_str(), f.text(db).as_str(), &parsed.file));
    }
    let inputs: Vec<check::Input<'_>> =
        inputs.iter().map(|(path, text, ast)| check::Input { path, text, ast }).collect();
    let (pkg, check_diags) = check::check(&inputs);
    diags.extend(check_diags);
    diags.sort_by_key(|d| (d.file, d.span.start, d.code));
    Checked { package: Arc::new(pkg), diagnostics: Arc::new(diags) }
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
