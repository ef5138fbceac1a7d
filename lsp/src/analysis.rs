//! The package as the language server sees it: the salsa database with every
//! `.canon` file of the workspace, and the queries behind each request, in
//! byte offsets and plain data (the protocol lives in `server.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use canon_compiler::check::calendar_function;
use canon_compiler::db::{self, check_package, parse_file, Checked, Database, SourceFile};
use canon_compiler::diagnostics::{Diagnostic, FileId};
use canon_compiler::ir;
use canon_compiler::syntax::ast::{self, Span};
use canon_compiler::syntax::keywords;
use canon_compiler::types::{Ty, TyDisplay};
use salsa::Setter;

pub use crate::completion::{Completion, CompletionKind, Signature};
use crate::index::{self, ItemKind, Occurrence, Target};

/// Hover and completion docs of the calendar functions, after their summary.
pub(crate) const CALENDAR_HOVER: &str = "The calendar is a name declared by `calendar name { holidays: t, periods: p, weekend: ... }`; who has the type of the holiday table's first key (a country or entity). LANGUAGE.md §5.3.";

/// A place in a file of the package: its key (path relative to the root) and span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Record,
    Event,
    Enum,
    Function,
    Decision,
    Table,
    Destination,
    State,
    Metric,
    Handler,
    Test,
    Field,
    Variant,
}

/// A declaration for document and workspace symbols.
#[derive(Debug, Clone)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    /// The whole declaration.
    pub span: Span,
    /// The declared name.
    pub name_span: Span,
    pub children: Vec<Symbol>,
}

/// What a token is, for semantic highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenClass {
    Keyword,
    Comment,
    String,
    Number,
    Type,
    Enum,
    Function,
    Property,
    EnumMember,
    Variable,
    Parameter,
}

impl TokenClass {
    /// Every class, in the order of the legend.
    pub const ALL: &'static [TokenClass] = &[
        TokenClass::Keyword,
        TokenClass::Comment,
        TokenClass::String,
        TokenClass::Number,
        TokenClass::Type,
        TokenClass::Enum,
        TokenClass::Function,
        TokenClass::Property,
        TokenClass::EnumMember,
        TokenClass::Variable,
        TokenClass::Parameter,
    ];
}

/// The workspace: one package, its files by key, in a salsa database.
#[derive(Default)]
pub struct Workspace {
    db: Database,
    root: Option<PathBuf>,
    files: BTreeMap<String, SourceFile>,
    package: Option<db::Package>,
    /// Files open in the editor: their text is the buffer's, not the disk's.
    open: HashSet<String>,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace::default()
    }

    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Sets the package root and reads every `.canon` file under it.
    pub fn load_root(&mut self, root: &Path) {
        self.root = Some(root.to_path_buf());
        // Directories that cannot be read are skipped: the rest is analysed.
        let (found, _) = canon_compiler::package::source_files(root);
        for (key, path) in found {
            if self.files.contains_key(&key) {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            self.insert(key, String::from_utf8_lossy(&bytes).into_owned());
        }
        self.sync_package();
    }

    /// The key of a file path: relative to the root with `/`, else the path itself.
    pub fn key_of(&self, path: &Path) -> String {
        if let Some(rel) = self.root.as_deref().and_then(|r| path.strip_prefix(r).ok()) {
            return rel.components().map(|c| c.as_os_str().to_string_lossy().to_string()).collect::<Vec<_>>().join("/");
        }
        path.to_string_lossy().to_string()
    }

    /// The path of a key.
    pub fn path_of(&self, key: &str) -> PathBuf {
        let p = PathBuf::from(key);
        match &self.root {
            Some(r) if p.is_relative() => r.join(p),
            _ => p,
        }
    }

    fn insert(&mut self, key: String, text: String) {
        let f = SourceFile::new(&self.db, key.clone(), text);
        self.files.insert(key, f);
    }

    fn sync_package(&mut self) {
        let files: Vec<SourceFile> = self.files.values().copied().collect();
        match self.package {
            Some(p) => {
                if p.files(&self.db) != &files {
                    p.set_files(&mut self.db).to(files);
                }
            }
            None => self.package = Some(db::Package::new(&self.db, files)),
        }
    }

    /// Sets a file's text (an open editor buffer or a file read from disk).
    pub fn set_text(&mut self, key: &str, text: String) {
        match self.files.get(key).copied() {
            Some(f) => {
                if f.text(&self.db) != &text {
                    f.set_text(&mut self.db).to(text);
                }
            }
            None => {
                self.insert(key.to_string(), text);
                self.sync_package();
            }
        }
    }

    /// Marks a file open (the editor's buffer wins) or closed.
    pub fn set_open(&mut self, key: &str, open: bool) {
        if open {
            self.open.insert(key.to_string());
        } else {
            self.open.remove(key);
        }
    }

    pub fn is_open(&self, key: &str) -> bool {
        self.open.contains(key)
    }

    /// Re-reads a file that is not open from disk; a file that is gone
    /// leaves the package.
    pub fn reload(&mut self, key: &str) {
        if self.is_open(key) {
            return;
        }
        match std::fs::read(self.path_of(key)) {
            Ok(bytes) => self.set_text(key, String::from_utf8_lossy(&bytes).into_owned()),
            Err(_) => {
                if self.files.remove(key).is_some() {
                    self.sync_package();
                }
            }
        }
    }

    /// Every file key, sorted (the order of `FileId`s).
    pub fn keys(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        self.files.get(key).map(|f| f.text(&self.db).as_str())
    }

    /// The package's salsa input, once a root is loaded.
    pub(crate) fn package(&self) -> Option<db::Package> {
        self.package
    }

    pub(crate) fn db(&self) -> &Database {
        &self.db
    }

    pub(crate) fn source(&self, key: &str) -> Option<SourceFile> {
        self.files.get(key).copied()
    }

    pub(crate) fn file_id(&self, key: &str) -> Option<FileId> {
        self.files.keys().position(|k| k == key).map(|i| FileId(i as u32))
    }

    fn key_at(&self, id: FileId) -> Option<String> {
        self.files.keys().nth(id.0 as usize).cloned()
    }

    pub(crate) fn checked(&self) -> Option<Checked> {
        let p = self.package?;
        Some(check_package(&self.db, p).clone())
    }

    pub(crate) fn ast(&self, key: &str) -> Option<&ast::File> {
        let f = self.files.get(key)?;
        Some(&parse_file(&self.db, *f).file)
    }

    /// The diagnostics of every file (an empty list for a clean file),
    /// with the unused declarations (W0701–W0708) of a package without
    /// errors, which the server shows as hints.
    pub fn diagnostics(&self) -> Vec<(String, Vec<Diagnostic>)> {
        let mut out: Vec<(String, Vec<Diagnostic>)> = self.keys().into_iter().map(|k| (k, Vec::new())).collect();
        if let Some(c) = self.checked() {
            let unused = self.package.map(|p| db::unused(&self.db, p).as_slice()).unwrap_or_default();
            for d in c.diagnostics.iter().chain(unused) {
                if let Some((_, v)) = out.get_mut(d.file.0 as usize) {
                    v.push(d.clone());
                }
            }
        }
        out
    }

    /// The key of a label's or diagnostic's file.
    pub fn key_of_id(&self, id: FileId) -> Option<String> {
        self.key_at(id)
    }

    // ------------------------------------------------------------ the index

    fn items(&self) -> (HashMap<String, ItemKind>, HashMap<String, Vec<String>>) {
        let mut items = HashMap::new();
        let mut variants: HashMap<String, Vec<String>> = HashMap::new();
        for key in self.files.keys() {
            let Some(file) = self.ast(key) else { continue };
            for item in &file.items {
                let kind = match item {
                    ast::Item::Record(r) if r.is_event => ItemKind::Event,
                    ast::Item::Record(_) => ItemKind::Record,
                    ast::Item::Enum(e) => {
                        for v in &e.variants {
                            variants.entry(v.name.text.clone()).or_default().push(e.name.text.clone());
                        }
                        ItemKind::Enum
                    }
                    ast::Item::Fn(_) => ItemKind::Function,
                    ast::Item::Decision(_) => ItemKind::Decision,
                    ast::Item::Table(_) => ItemKind::Table,
                    ast::Item::Destination(_) => ItemKind::Destination,
                    ast::Item::State(_) => ItemKind::State,
                    ast::Item::Metric(_) => ItemKind::Metric,
                    ast::Item::Calendar(_) => ItemKind::Calendar,
                    ast::Item::Handler(_) | ast::Item::Test(_) => continue,
                };
                if let Some(n) = item.name() {
                    items.entry(n.text.clone()).or_insert(kind);
                }
            }
        }
        (items, variants)
    }

    /// Occurrences of every file, by key.
    fn index(&self, pkg: &ir::Package) -> Vec<(String, Vec<Occurrence>)> {
        let (items, variants) = self.items();
        let types: HashMap<(FileId, u32, u32), Ty> =
            pkg.types.iter().map(|(f, s, t)| ((*f, s.start, s.end), t.clone())).collect();
        let mut out = Vec::new();
        for (i, key) in self.files.keys().enumerate() {
            let Some(file) = self.ast(key) else { continue };
            let cx = index::Context { file: FileId(i as u32), pkg, types: &types, items: &items, variants: &variants };
            out.push((key.clone(), index::occurrences(&cx, file)));
        }
        out
    }

    /// The occurrences of one file.
    fn file_occurrences(&self, pkg: &ir::Package, key: &str) -> Vec<Occurrence> {
        let (items, variants) = self.items();
        let (Some(file), Some(fid)) = (self.ast(key), self.file_id(key)) else {
            return Vec::new();
        };
        let types: HashMap<(FileId, u32, u32), Ty> =
            pkg.types.iter().filter(|(f, _, _)| *f == fid).map(|(f, s, t)| ((*f, s.start, s.end), t.clone())).collect();
        let cx = index::Context { file: fid, pkg, types: &types, items: &items, variants: &variants };
        index::occurrences(&cx, file)
    }

    fn occurrence_at(&self, pkg: &ir::Package, key: &str, offset: u32) -> Option<Occurrence> {
        self.file_occurrences(pkg, key)
            .into_iter()
            .filter(|o| o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| o.span.end.saturating_sub(o.span.start))
    }

    /// Where a target is declared.
    fn declaration(&self, target: &Target) -> Option<Place> {
        if let Target::Local { file, decl } = target {
            return Some(Place { file: self.key_at(*file)?, span: *decl });
        }
        for key in self.files.keys() {
            let Some(file) = self.ast(key) else { continue };
            for item in &file.items {
                let span = match (target, item) {
                    (Target::Item(n), _) if item.name().map(|i| &i.text) == Some(n) => item.name().map(|i| i.span),
                    (Target::Field { record, field }, ast::Item::Record(r)) if r.name.text == *record => {
                        r.fields.iter().find(|f| f.name.text == *field).map(|f| f.name.span)
                    }
                    (Target::Variant { enum_name, variant }, ast::Item::Enum(e)) if e.name.text == *enum_name => {
                        e.variants.iter().find(|v| v.name.text == *variant).map(|v| v.name.span)
                    }
                    _ => None,
                };
                if let Some(span) = span {
                    return Some(Place { file: key.clone(), span });
                }
            }
        }
        None
    }

    // ------------------------------------------------------------ requests

    /// Go to definition.
    pub fn definition(&self, key: &str, offset: u32) -> Option<Place> {
        let c = self.checked()?;
        let occ = self.occurrence_at(&c.package, key, offset)?;
        self.declaration(&occ.target)
    }

    /// Find references (with the declaration when asked).
    pub fn references(&self, key: &str, offset: u32, include_decl: bool) -> Vec<Place> {
        let Some(c) = self.checked() else {
            return Vec::new();
        };
        let Some(occ) = self.occurrence_at(&c.package, key, offset) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, occs) in self.index(&c.package) {
            for o in occs {
                if o.target == occ.target && (include_decl || !o.is_decl) {
                    out.push(Place { file: k.clone(), span: o.span });
                }
            }
        }
        out
    }

    /// The places to change to rename what is at `offset` (declaration
    /// included), or why it cannot be renamed.
    pub fn rename(&self, key: &str, offset: u32, new_name: &str) -> Result<Vec<Place>, String> {
        let valid = new_name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && new_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !keywords::is_keyword(new_name);
        if !valid {
            return Err(format!("`{new_name}` is not a valid name"));
        }
        let c = self.checked().ok_or("no package")?;
        let occ = self.occurrence_at(&c.package, key, offset).ok_or("nothing to rename here")?;
        if let Target::Builtin(name) = &occ.target {
            return Err(format!("`{name}` is a built-in"));
        }
        if self.declaration(&occ.target).is_none() {
            return Err("only names declared in the package can be renamed".into());
        }
        Ok(self.references(key, offset, true))
    }

    /// Hover text (markdown) and the span it describes.
    pub fn hover(&self, key: &str, offset: u32) -> Option<(String, Span)> {
        let c = self.checked()?;
        let pkg = &c.package;
        let occ = self.occurrence_at(pkg, key, offset)?;
        let fid = self.file_id(key)?;
        let show = |t: &Ty| show_ty(pkg, t);
        let ty_of = |span: Span| pkg.types.iter().find(|(f, s, _)| *f == fid && *s == span).map(|(_, _, t)| t.clone());
        let mut parts: Vec<String> = Vec::new();
        match &occ.target {
            Target::Builtin(name) => {
                let Some(b) = canon_stdlib::functions::lookup(name) else {
                    let f = calendar_function(name)?;
                    parts.push(code(&f.signature()));
                    parts.push(f.summary.to_string());
                    parts.push(CALENDAR_HOVER.to_string());
                    return Some((parts.join("\n\n"), occ.span));
                };
                let sigs: Vec<String> = b.signatures().map(|s| format!("{}{s}", b.name)).collect();
                parts.push(code(&sigs.join("\n")));
                parts.push(b.summary.to_string());
                parts.push(b.docs.to_string());
                if !b.examples.is_empty() {
                    let ex: Vec<String> = b.examples.iter().map(|e| format!("{}  // {}", e.expr, e.json)).collect();
                    parts.push(format!("Examples:\n{}", code(&ex.join("\n"))));
                }
            }
            Target::Local { decl, .. } => {
                let name = self.text(key).and_then(|t| t.get(occ.span.start as usize..occ.span.end as usize))?;
                let ty = occ.expr.and_then(ty_of).or_else(|| ty_of(*decl));
                match ty {
                    Some(t) => parts.push(code(&format!("{name}: {}", show(&t)))),
                    None => {
                        // A parameter of an item the checker skipped (a second
                        // declaration of a name): its written type.
                        let p = self.param_text(key, *decl);
                        parts.push(code(&p.unwrap_or_else(|| name.to_string())));
                    }
                }
            }
            Target::Field { record, field } => {
                let ty = occ.expr.and_then(ty_of);
                let decl = self.declaration(&occ.target);
                let (text, docs) = decl.as_ref().and_then(|p| self.field_decl(p)).unwrap_or_default();
                match ty {
                    Some(t) => parts.push(code(&format!("{record}.{field}: {}", show(&t)))),
                    None if !text.is_empty() => parts.push(code(&format!("{record}.{text}"))),
                    None => parts.push(code(&format!("{record}.{field}"))),
                }
                if let Some(d) = docs {
                    parts.push(d);
                }
            }
            Target::Variant { enum_name, variant } => {
                parts.push(code(&format!("{enum_name}.{variant}")));
                let docs = self.items_of().into_iter().find_map(|it| match it {
                    ast::Item::Enum(e) if e.name.text == *enum_name => {
                        e.variants.iter().find(|v| v.name.text == *variant).and_then(|v| v.docs.clone())
                    }
                    _ => None,
                });
                if let Some(d) = docs {
                    parts.push(d);
                }
            }
            Target::Item(name) => {
                let place = self.declaration(&occ.target)?;
                let item =
                    self.ast(&place.file)?.items.iter().find(|i| i.name().map(|n| n.span) == Some(place.span))?;
                let text = self.text(&place.file)?;
                // A read of a state (or a lookup in a table): what it gives.
                if let Some((span, t)) = occ.expr.and_then(|s| Some((s, ty_of(s)?))) {
                    let written = self.text(key).and_then(|t| t.get(span.start as usize..span.end as usize));
                    let shown = match written {
                        Some(w) if !w.contains('\n') && w.len() <= 60 => w.to_string(),
                        _ => format!("{name}[…]"),
                    };
                    parts.push(code(&format!("{shown}: {}", show(&t))));
                }
                parts.push(code(&item_signature(text, item)));
                if let Some(d) = item_docs(item) {
                    parts.push(d.to_string());
                }
                match item {
                    ast::Item::Destination(d) if d.index.is_some() => {
                        // A family: the destinations it is (LANGUAGE.md §4.3).
                        if let Some(f) = pkg.family_by_name(&d.name.text) {
                            let members: Vec<String> = f
                                .members
                                .iter()
                                .filter_map(|m| pkg.destinations.get(m.0 as usize))
                                .map(|m| format!("`{}`", m.name))
                                .collect();
                            parts.push(format!("Members: {}", members.join(", ")));
                        }
                    }
                    ast::Item::State(d) => {
                        if let Some(r) = self.record_item(&d.ty) {
                            parts.push(code(&item_signature(r.0, r.1)));
                        }
                    }
                    ast::Item::Metric(m) => {
                        if let Some(def) = pkg.metrics.iter().find(|d| d.name == m.name.text) {
                            parts.push(metric_summary(m, def.kind));
                        }
                    }
                    _ => {}
                }
            }
        }
        Some((parts.join("\n\n"), occ.span))
    }

    /// The declaration (and its file's text) of the record a type names.
    fn record_item(&self, ty: &ast::TypeRef) -> Option<(&str, &ast::Item)> {
        let ast::TypeRef::Named(n) = ty else { return None };
        self.files.keys().find_map(|k| {
            let item =
                self.ast(k)?.items.iter().find(|i| matches!(i, ast::Item::Record(r) if r.name.text == n.text))?;
            Some((self.text(k)?, item))
        })
    }

    fn items_of(&self) -> Vec<&ast::Item> {
        self.files.keys().filter_map(|k| self.ast(k)).flat_map(|f| f.items.iter()).collect()
    }

    fn param_text(&self, key: &str, decl: Span) -> Option<String> {
        let text = self.text(key)?;
        for item in &self.ast(key)?.items {
            let params = match item {
                ast::Item::Fn(f) => &f.params,
                ast::Item::Decision(d) => &d.params,
                _ => continue,
            };
            if let Some(p) = params.iter().find(|p| p.name.span == decl) {
                let ty = text.get(p.ty.span().start as usize..p.ty.span().end as usize)?;
                return Some(format!("{}: {ty}", p.name.text));
            }
        }
        None
    }

    fn field_decl(&self, place: &Place) -> Option<(String, Option<String>)> {
        let text = self.text(&place.file)?;
        for item in &self.ast(&place.file)?.items {
            if let ast::Item::Record(r) = item {
                if let Some(f) = r.fields.iter().find(|f| f.name.span == place.span) {
                    let ty = text.get(f.ty.span().start as usize..f.ty.span().end as usize)?;
                    return Some((format!("{}: {ty}", f.name.text), f.docs.clone()));
                }
            }
        }
        None
    }

    /// The symbols of one file.
    pub fn document_symbols(&self, key: &str) -> Vec<Symbol> {
        let Some(file) = self.ast(key) else {
            return Vec::new();
        };
        file.items.iter().filter_map(item_symbol).collect()
    }

    /// Top-level symbols (and fields and variants) of the package whose name contains `query`.
    pub fn workspace_symbols(&self, query: &str) -> Vec<(String, Symbol)> {
        let q = query.to_lowercase();
        let mut out = Vec::new();
        for key in self.files.keys() {
            for s in self.document_symbols(key) {
                for c in &s.children {
                    if c.name.to_lowercase().contains(&q) {
                        out.push((key.clone(), Symbol { children: Vec::new(), ..c.clone() }));
                    }
                }
                if s.name.to_lowercase().contains(&q) {
                    out.push((key.clone(), Symbol { children: Vec::new(), ..s }));
                }
            }
        }
        out
    }

    /// The formatted text of a file, when it parses.
    pub fn format(&self, key: &str) -> Option<String> {
        canon_compiler::fmt::format(self.text(key)?).ok()
    }

    /// Every token of a file that has a class, in order (tokens that span
    /// lines are left out).
    pub fn semantic_tokens(&self, key: &str) -> Vec<(Span, TokenClass)> {
        use canon_compiler::syntax::lexer::{lex, Token};
        let Some(text) = self.text(key) else {
            return Vec::new();
        };
        let (items, _) = self.items();
        let occs: HashMap<u32, Occurrence> = match self.checked() {
            Some(c) => self.file_occurrences(&c.package, key).into_iter().map(|o| (o.span.start, o)).collect(),
            None => HashMap::new(),
        };
        let mut params = Vec::new();
        if let Some(file) = self.ast(key) {
            for item in &file.items {
                match item {
                    ast::Item::Fn(f) => params.extend(f.params.iter().map(|p| p.name.span)),
                    ast::Item::Decision(d) => params.extend(d.params.iter().map(|p| p.name.span)),
                    _ => {}
                }
            }
        }
        let contextual = self.ast(key).map(|f| crate::walk::contextual_keywords(f, text)).unwrap_or_default();
        let mut out = Vec::new();
        for l in lex(text) {
            let Some(tok) = l.token else { continue };
            let span = Span::new(l.start, l.end);
            if text.get(l.start..l.end).is_none_or(|t| t.contains('\n')) {
                continue;
            }
            let class = if tok.is_comment() {
                TokenClass::Comment
            } else if tok.is_keyword() || (tok == Token::Ident && contextual.binary_search(&span.start).is_ok()) {
                TokenClass::Keyword
            } else if matches!(tok, Token::Str | Token::Temporal) {
                TokenClass::String
            } else if matches!(tok, Token::Int | Token::Decimal) {
                TokenClass::Number
            } else if tok == Token::Ident {
                let Some(o) = occs.get(&span.start).filter(|o| o.span == span) else {
                    continue;
                };
                match &o.target {
                    Target::Item(n) => match items.get(n) {
                        Some(ItemKind::Enum) => TokenClass::Enum,
                        Some(ItemKind::Record | ItemKind::Event) => TokenClass::Type,
                        Some(ItemKind::Function | ItemKind::Decision) => TokenClass::Function,
                        Some(
                            ItemKind::Table
                            | ItemKind::Destination
                            | ItemKind::State
                            | ItemKind::Metric
                            | ItemKind::Calendar,
                        )
                        | None => TokenClass::Variable,
                    },
                    Target::Field { .. } => TokenClass::Property,
                    Target::Variant { .. } => TokenClass::EnumMember,
                    Target::Builtin(_) => TokenClass::Function,
                    Target::Local { decl, .. } if params.contains(decl) => TokenClass::Parameter,
                    Target::Local { .. } => TokenClass::Variable,
                }
            } else {
                continue;
            };
            out.push((span, class));
        }
        out
    }

    /// Multi-line items, for folding.
    pub fn folding_ranges(&self, key: &str) -> Vec<Span> {
        let Some(file) = self.ast(key) else {
            return Vec::new();
        };
        let text = self.text(key).unwrap_or("");
        file.items
            .iter()
            .map(ast::Item::span)
            .filter(|s| text.get(s.start as usize..s.end as usize).is_some_and(|t| t.contains('\n')))
            .collect()
    }
}

fn code(s: &str) -> String {
    format!("```canon\n{s}\n```")
}

/// The names types are shown with, gathered once for many types.
pub(crate) struct TyNames {
    enums: Vec<String>,
    records: Vec<String>,
}

impl TyNames {
    pub(crate) fn new(pkg: &ir::Package) -> TyNames {
        TyNames { enums: pkg.enum_names(), records: pkg.record_names() }
    }

    pub(crate) fn show(&self, t: &Ty) -> String {
        TyDisplay { ty: t, enums: &self.enums, records: &self.records }.to_string()
    }
}

pub(crate) fn show_ty(pkg: &ir::Package, t: &Ty) -> String {
    let enums = pkg.enum_names();
    let records = pkg.record_names();
    TyDisplay { ty: t, enums: &enums, records: &records }.to_string()
}

/// The type the checker gave each expression of file `fid`, by its span's
/// start and end.
pub(crate) fn types_of(pkg: &ir::Package, fid: FileId) -> HashMap<(u32, u32), &Ty> {
    pkg.types.iter().filter(|(f, _, _)| *f == fid).map(|(_, s, t)| ((s.start, s.end), t)).collect()
}

fn item_docs(item: &ast::Item) -> Option<&str> {
    match item {
        ast::Item::Enum(d) => d.docs.as_deref(),
        ast::Item::Record(d) => d.docs.as_deref(),
        ast::Item::Destination(d) => d.docs.as_deref(),
        ast::Item::Table(d) => d.docs.as_deref(),
        ast::Item::Fn(d) => d.docs.as_deref(),
        ast::Item::Decision(d) => d.docs.as_deref(),
        ast::Item::Handler(d) => d.docs.as_deref(),
        ast::Item::State(d) => d.docs.as_deref(),
        ast::Item::Metric(d) => d.docs.as_deref(),
        ast::Item::Calendar(d) => d.docs.as_deref(),
        ast::Item::Test(_) => None,
    }
}

/// What a metric's value is, in words (LANGUAGE.md §4.6).
fn metric_summary(m: &ast::MetricDecl, kind: ir::MetricKind) -> String {
    let what = match kind {
        ir::MetricKind::SumInt => "a sum of Int",
        ir::MetricKind::SumDecimal => "a sum of Decimal",
        ir::MetricKind::SumMoney => "a sum of Money, one per currency",
        ir::MetricKind::Count => "a count of records (an Int)",
    };
    let mut s = format!("`{}` is {what} over the records of `{}`", m.name.text, m.state.text);
    if m.filter.is_some() {
        s.push_str(" where the condition holds");
    }
    if !m.by.is_empty() {
        let by: Vec<String> = m.by.iter().map(|b| format!("`{}`", b.text)).collect();
        s.push_str(&format!(", one value per {}", by.join(", ")));
    }
    if let Some(a) = &m.age {
        s.push_str(&format!(
            "; only records whose `{}` is more than {} {} before `canon status --as-of` count",
            a.field.text, a.amount, a.unit.text
        ));
    }
    s.push('.');
    s
}

/// The declaration text shown on hover: the signature of a function or
/// decision, the whole declaration (up to 40 lines) of anything else.
fn item_signature(text: &str, item: &ast::Item) -> String {
    let span = item.span();
    let end = match item {
        ast::Item::Fn(f) => f.ret.span().end,
        ast::Item::Decision(d) => d.ret.span().end,
        _ => span.end,
    };
    let s = text.get(span.start as usize..end as usize).unwrap_or("");
    // Doc comments are shown separately.
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim_start().starts_with("///")).collect();
    let mut out: Vec<&str> = lines.iter().take(40).copied().collect();
    if lines.len() > 40 {
        out.push("  ...");
    }
    out.join("\n")
}

fn item_symbol(item: &ast::Item) -> Option<Symbol> {
    let sym = |name: &str, kind, span, name_span, children| Symbol {
        name: name.to_string(),
        kind,
        span,
        name_span,
        children,
    };
    Some(match item {
        ast::Item::Enum(e) => {
            let children = e
                .variants
                .iter()
                .map(|v| sym(&v.name.text, SymbolKind::Variant, v.name.span, v.name.span, Vec::new()))
                .collect();
            sym(&e.name.text, SymbolKind::Enum, e.span, e.name.span, children)
        }
        ast::Item::Record(r) => {
            let children = r
                .fields
                .iter()
                .map(|f| sym(&f.name.text, SymbolKind::Field, f.name.span.to(f.ty.span()), f.name.span, Vec::new()))
                .collect();
            let kind = if r.is_event { SymbolKind::Event } else { SymbolKind::Record };
            sym(&r.name.text, kind, r.span, r.name.span, children)
        }
        ast::Item::Destination(d) => sym(&d.name.text, SymbolKind::Destination, d.span, d.name.span, Vec::new()),
        ast::Item::Table(t) => sym(&t.name.text, SymbolKind::Table, t.span, t.name.span, Vec::new()),
        ast::Item::State(t) => sym(&t.name.text, SymbolKind::State, t.span, t.name.span, Vec::new()),
        ast::Item::Metric(m) => sym(&m.name.text, SymbolKind::Metric, m.span, m.name.span, Vec::new()),
        ast::Item::Calendar(c) => sym(&c.name.text, SymbolKind::Table, c.span, c.name.span, Vec::new()),
        ast::Item::Fn(f) => sym(&f.name.text, SymbolKind::Function, f.span, f.name.span, Vec::new()),
        ast::Item::Decision(d) => sym(&d.name.text, SymbolKind::Decision, d.span, d.name.span, Vec::new()),
        ast::Item::Handler(h) => {
            sym(&format!("on {}", h.event.text), SymbolKind::Handler, h.span, h.event.span, Vec::new())
        }
        ast::Item::Test(t) => {
            sym(&format!("test {:?}", t.name.value), SymbolKind::Test, t.span, t.name.span, Vec::new())
        }
    })
}
