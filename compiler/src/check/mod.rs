//! The checker: resolves names, type-checks every body, analyses decision
//! tables and lowers the package to [`crate::ir`].
//!
//! It reports every independent error in one pass: an expression whose type
//! cannot be known gets [`Ty::Error`], which fits everywhere, so one mistake
//! is reported once.

mod body;
mod calendar;
mod dated;
mod decision;
mod expr;
mod place;
mod recursion;
mod rounding;
mod state;
pub mod unused;

pub use calendar::{calendar_function, CalendarFn, CalendarParam, CALENDAR_FUNCTIONS};

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::diagnostics::{Code, Data, Diagnostic, FileId, LineIndex};
use crate::ir::{self, DeclSite, DestId, FnId, Loc, TableId};
use crate::syntax::ast::{self, Span};
use crate::types::{EnumId, RecordId, Ty, TyDisplay, ENVELOPE, ROUNDING, SORT_ORDER, WEEKDAY};

/// One parsed source file of a package.
pub struct Input<'a> {
    /// Path relative to the package root, with `/` separators.
    pub path: &'a str,
    pub text: &'a str,
    pub ast: &'a ast::File,
}

/// Checks a package. Files must be sorted by path (the first declaration of a
/// name, by path then position, is the one in effect). The same steps as the
/// salsa queries of [`crate::db`]: signatures, then each body on its own, then
/// the assembly.
pub fn check(files: &[Input<'_>]) -> (ir::Package, Vec<Diagnostic>) {
    let sigs = signatures(files);
    // Positions in the scope are harmless here (nothing is compared).
    let scope = &sigs.scope;
    let mut bodies: Vec<(FileId, &str, &ast::Item)> = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        let file = FileId(fi as u32);
        bodies.extend(f.ast.items.iter().filter(|item| sigs.has_body(file, item)).map(|item| (file, f.text, item)));
    }
    let check_one = |&(file, text, item): &(FileId, &str, &ast::Item)| {
        let span = item.span();
        let text = text.get(span.start as usize..span.end as usize).unwrap_or("");
        let rel = crate::syntax::shift::relative(item, span.start);
        check_item(scope, text, &rel, sigs.line_of(file, span.start).saturating_sub(1))
    };
    // Bodies are checked each on its own (the scope is all they read), so a
    // large package shares them out between two threads; the results are
    // assembled in the items' order either way.
    let results: Vec<ItemResult> = if bodies.len() >= PARALLEL_BODIES {
        let (first, second) = bodies.split_at(bodies.len() / 2);
        std::thread::scope(|s| {
            let other = std::thread::Builder::new()
                .stack_size(crate::db::THREAD_STACK)
                .spawn_scoped(s, || second.iter().map(check_one).collect::<Vec<_>>());
            let mut results: Vec<ItemResult> = first.iter().map(check_one).collect();
            match other {
                Ok(other) => match other.join() {
                    Ok(rest) => results.extend(rest),
                    Err(payload) => std::panic::resume_unwind(payload),
                },
                // No thread: the second half here too.
                Err(_) => results.extend(second.iter().map(check_one)),
            }
            results
        })
    } else {
        bodies.iter().map(check_one).collect()
    };
    let checked = bodies.iter().zip(results).map(|(&(file, _, item), result)| (file, item, Cow::Owned(result)));
    let texts: Vec<&str> = files.iter().map(|f| f.text).collect();
    assemble(&sigs, &texts, checked)
}

/// From this many bodies on, [`check`] checks them on two threads (a few
/// hundred: the 10,000-line package has some 1,300).
const PARALLEL_BODIES: usize = 256;

/// What checking a body reads: every declaration and signature, without
/// positions, so it compares equal after an edit that only moves items.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pkg: ir::Package,
    types: HashMap<String, TypeName>,
    values: HashMap<String, ValueName>,
    variant_owners: HashMap<String, Vec<EnumId>>,
    broken_decisions: Vec<bool>,
    broken_names: HashSet<String>,
}

impl Scope {
    /// The package's declarations (no bodies, no positions).
    pub fn package(&self) -> &ir::Package {
        &self.pkg
    }
}

/// The package's declarations and signatures, checked; no body yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Sigs {
    scope: Scope,
    declared: HashMap<String, (FileId, Span)>,
    lines: Vec<LineIndex>,
    diags: Vec<Diagnostic>,
}

impl Sigs {
    /// The scope bodies are checked in, with every position cleared.
    pub fn body_scope(&self) -> Scope {
        let mut scope = self.scope.clone();
        for e in &mut scope.pkg.enums {
            e.site = None;
        }
        for r in &mut scope.pkg.records {
            r.site = None;
        }
        for f in &mut scope.pkg.functions {
            f.site = None;
        }
        for d in &mut scope.pkg.decisions {
            d.site = None;
            d.loc = Loc::default();
        }
        for d in &mut scope.pkg.states {
            d.site = None;
        }
        scope
    }

    /// Whether `item` (of `file`) has a body to check: handlers, tests, and
    /// the functions and decisions whose declaration is in effect.
    pub fn has_body(&self, file: FileId, item: &ast::Item) -> bool {
        let in_effect =
            |name: &ast::Ident| self.declared.get(&name.text).map(|(f, s)| (*f, *s)) == Some((file, name.span));
        match item {
            ast::Item::Fn(f) => in_effect(&f.name),
            ast::Item::Decision(d) => in_effect(&d.name),
            ast::Item::Metric(m) => in_effect(&m.name),
            ast::Item::Handler(_) | ast::Item::Test(_) => true,
            _ => false,
        }
    }

    /// The 1-based line of an offset of a file.
    pub fn line_of(&self, file: FileId, offset: u32) -> u32 {
        self.lines.get(file.0 as usize).map(|l| l.line(offset)).unwrap_or(1)
    }
}

/// Checks every declaration and signature of a package (the first three phases).
pub fn signatures<'a>(files: &[Input<'a>]) -> Sigs {
    let mut c = Checker::new(files);
    for (fi, f) in files.iter().enumerate() {
        c.file = FileId(fi as u32);
        for item in &f.ast.items {
            c.declare(item);
        }
    }
    for (fi, f) in files.iter().enumerate() {
        c.file = FileId(fi as u32);
        for item in &f.ast.items {
            c.define_types(item);
        }
    }
    for (fi, f) in files.iter().enumerate() {
        c.file = FileId(fi as u32);
        for item in &f.ast.items {
            c.define_signatures(item);
        }
    }
    // Calendars name tables: after every table is defined.
    for (fi, f) in files.iter().enumerate() {
        c.file = FileId(fi as u32);
        for item in &f.ast.items {
            if let ast::Item::Calendar(d) = item {
                c.define_calendar(d);
            }
        }
    }
    Sigs {
        scope: Scope {
            pkg: c.pkg.into_owned(),
            types: c.types.into_owned(),
            values: c.values.into_owned(),
            variant_owners: c.variant_owners.into_owned(),
            broken_decisions: c.broken_decisions.into_owned(),
            broken_names: c.broken_names.into_owned(),
        },
        declared: c.declared.into_owned(),
        lines: c.lines.into_owned(),
        diags: c.diags,
    }
}

/// One checked body, with spans relative to its item's start, lines counted
/// from the item's first line and [`FileId`] 0: equal however far the item
/// moved. [`assemble`] puts it in place.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    body: ItemBody,
    diags: Vec<Diagnostic>,
    types: Vec<(Span, Ty)>,
    calls: Vec<(Callee, Span)>,
}

#[derive(Debug, Clone, PartialEq)]
enum ItemBody {
    None,
    Fn { id: FnId, lets: Vec<(u32, ir::Expr)>, body: ir::Expr, n_locals: u32 },
    Decision { id: ir::DecisionId, body: decision::DecisionBody },
    Handler(Option<body::HandlerBody>),
    Test(ir::TestDef),
    Metric(Box<ir::MetricDef>),
}

/// Checks one body. `item` has spans relative to its start and `text` is the
/// item's text; `line_base` is the line before the item's first (decision
/// overlap messages name absolute lines, so only decisions depend on it).
pub fn check_item(scope: &Scope, text: &str, item: &ast::Item, line_base: u32) -> ItemResult {
    let mut c = Checker::for_body(scope, text, line_base);
    let body = match item {
        ast::Item::Fn(f) => match c.values.get(&f.name.text).copied() {
            Some(ValueName::Fn(id)) => {
                c.current = Some(Callee::Fn(id.0));
                let (lets, body, n_locals) = c.check_fn(id, f);
                ItemBody::Fn { id, lets, body, n_locals }
            }
            _ => ItemBody::None,
        },
        ast::Item::Decision(d) => match c.values.get(&d.name.text).copied() {
            Some(ValueName::Decision(id)) => {
                c.current = Some(Callee::Decision(id.0));
                match c.check_decision(id, d) {
                    Some(body) => ItemBody::Decision { id, body },
                    None => ItemBody::None,
                }
            }
            _ => ItemBody::None,
        },
        ast::Item::Handler(h) => ItemBody::Handler(c.check_handler(h)),
        ast::Item::Test(t) => ItemBody::Test(c.check_test(t)),
        ast::Item::Metric(m) => match c.check_metric(m) {
            Some(def) => ItemBody::Metric(Box::new(def)),
            None => ItemBody::None,
        },
        _ => ItemBody::None,
    };
    let calls = c.calls.into_values().flatten().map(|(callee, _, span)| (callee, span)).collect();
    ItemResult { body, diags: c.diags, types: c.noted.into_iter().map(|(_, s, t)| (s, t)).collect(), calls }
}

/// Puts the checked bodies (in file and item order, each with its item's
/// absolute tree; a borrowed one is copied, an owned one moved) into the package, then checks what spans items: one
/// handler per event, no recursion.
pub fn assemble<'r>(
    sigs: &Sigs,
    texts: &[&str],
    items: impl Iterator<Item = (FileId, &'r ast::Item, Cow<'r, ItemResult>)>,
) -> (ir::Package, Vec<Diagnostic>) {
    let mut c = Checker::for_assembly(sigs, texts.to_vec());
    for (file, item, result) in items {
        c.file = file;
        let start = item.span().start;
        let place = place::Place { file, offset: start, lines: sigs.line_of(file, start).saturating_sub(1) };
        if let (ast::Item::Handler(h), ItemBody::Handler(Some(hb))) = (item, &result.body) {
            if let Some(first) = c.pkg.handler_by_type.get(&hb.event_type).copied() {
                let mut d = Diagnostic::new(
                    Code::E0402,
                    file,
                    h.event.span,
                    format!("`{}` already has a handler", h.event.text),
                )
                .with_help("one event type has one handler: merge the two");
                if let Some(site) = c.pkg.handlers.get(first).and_then(|h| h.site) {
                    d = d.with_label(site.file, site.span, "the first handler");
                }
                c.diags.push(d);
                continue;
            }
        }
        let caller = result.caller();
        let ItemResult { body, diags, types, calls } = result.into_owned();
        c.diags.extend(diags.into_iter().map(|d| place.diagnostic(d)));
        c.noted.extend(types.into_iter().map(|(s, t)| (file, place.span(s), t)));
        if let (Some(cur), false) = (caller, calls.is_empty()) {
            let out = c.calls.entry(cur).or_default();
            out.extend(calls.into_iter().map(|(callee, span)| (callee, file, place.span(span))));
        }
        let pkg = c.pkg.to_mut();
        match body {
            ItemBody::None => {}
            ItemBody::Fn { id, lets, body, n_locals } => {
                if let Some(d) = pkg.functions.get_mut(id.0 as usize) {
                    d.lets = lets.into_iter().map(|(slot, e)| (slot, place.expr(e))).collect();
                    d.body = place.expr(body);
                    d.n_locals = n_locals;
                }
            }
            ItemBody::Decision { id, body } => {
                if let Some(d) = pkg.decisions.get_mut(id.0 as usize) {
                    body.apply(d, &place);
                }
            }
            ItemBody::Handler(None) => {}
            ItemBody::Handler(Some(hb)) => {
                let ast::Item::Handler(h) = item else { continue };
                let site = Some(DeclSite { file, span: h.event.span, line: sigs.line_of(file, h.event.span.start) });
                pkg.handler_by_type.insert(hb.event_type.clone(), pkg.handlers.len());
                pkg.handlers.push(ir::HandlerDef {
                    event: hb.event,
                    event_type: hb.event_type,
                    n_locals: hb.n_locals,
                    body: place.block(hb.body),
                    site,
                });
            }
            ItemBody::Test(t) => pkg.tests.push(place.test(t)),
            ItemBody::Metric(m) => {
                let ast::Item::Metric(decl) = item else { continue };
                let site =
                    Some(DeclSite { file, span: decl.name.span, line: sigs.line_of(file, decl.name.span.start) });
                pkg.metrics.push(place.metric(*m, site));
            }
        }
    }
    c.check_recursion();
    let mut pkg = c.pkg.into_owned();
    pkg.types = c.noted;
    let mut diags = c.diags;
    diags.sort_by_key(|d| (d.file, d.span.start, d.code));
    diags.dedup();
    (pkg, diags)
}

impl ItemResult {
    /// The types the checker noted in the body, spans relative to the item.
    pub fn types(&self) -> &[(Span, Ty)] {
        &self.types
    }

    fn caller(&self) -> Option<Callee> {
        match &self.body {
            ItemBody::Fn { id, .. } => Some(Callee::Fn(id.0)),
            ItemBody::Decision { id, .. } => Some(Callee::Decision(id.0)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeName {
    Builtin(BuiltinTy),
    Enum(EnumId),
    Record(RecordId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuiltinTy {
    Bool,
    Int,
    Decimal,
    Money,
    Currency,
    Text,
    Date,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueName {
    Fn(FnId),
    Decision(ir::DecisionId),
    Table(TableId),
    Destination(DestId),
    /// A destination family (LANGUAGE.md §4.3), by its index in `families`.
    Family(u32),
    State(ir::StateId),
    Metric,
    Calendar(ir::CalendarId),
}

/// A callee in the call graph (for recursion detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Callee {
    Fn(u32),
    Decision(u32),
}

pub(crate) struct Checker<'a> {
    /// Each file's text (one, the item's, when checking a body).
    texts: Vec<&'a str>,
    lines: Cow<'a, [LineIndex]>,
    /// Added to the lines a body's messages name (see [`check_item`]).
    line_base: u32,
    diags: Vec<Diagnostic>,
    pkg: Cow<'a, ir::Package>,
    /// The file whose items are being checked.
    file: FileId,
    types: Cow<'a, HashMap<String, TypeName>>,
    values: Cow<'a, HashMap<String, ValueName>>,
    /// Where each top-level name was first declared.
    declared: Cow<'a, HashMap<String, (FileId, Span)>>,
    /// Variant name to the enums that have it.
    variant_owners: Cow<'a, HashMap<String, Vec<EnumId>>>,
    /// The types of expressions noted for the language server.
    noted: Vec<(FileId, Span, Ty)>,
    /// Calls made by each function / decision body.
    calls: HashMap<Callee, Vec<(Callee, FileId, Span)>>,
    /// The callee whose body is being checked.
    current: Option<Callee>,
    /// Decisions whose signature or rows had errors (no analysis for them).
    broken_decisions: Cow<'a, [bool]>,
    /// Names of items that failed to parse: not reported again as unknown.
    broken_names: Cow<'a, HashSet<String>>,
    /// Paths tested against `none` where the test does not narrow them (a
    /// `check`, the left side of an `or`), so an E0202 can say why.
    unguarded: Vec<(expr::Path, expr::Unguarded)>,
}

impl<'a> Checker<'a> {
    fn new(files: &[Input<'a>]) -> Checker<'a> {
        let mut pkg = ir::Package {
            files: files.iter().map(|f| ir::SourceInfo { path: f.path.to_string() }).collect(),
            ..ir::Package::default()
        };
        // Built-in enums and the envelope record, at fixed ids.
        let builtin_enum = |name: &str, variants: &[&str]| ir::EnumDef {
            name: name.to_string(),
            docs: None,
            variants: variants
                .iter()
                .map(|v| ir::VariantDef { name: v.to_string(), wire: v.to_string(), docs: None })
                .collect(),
            site: None,
            by_wire: variants.iter().enumerate().map(|(i, v)| (v.to_string(), i as u32)).collect(),
        };
        pkg.enums.push(builtin_enum("Rounding", &canon_stdlib::Rounding::NAMES));
        pkg.enums.push(builtin_enum("Weekday", &canon_stdlib::Weekday::NAMES));
        pkg.enums.push(builtin_enum("SortOrder", &canon_stdlib::functions::sort_by::SORT_ORDER_NAMES));
        let text = Ty::Text;
        let opt = |t: Ty| Ty::optional(t);
        let envelope_fields = [
            ("id", text.clone()),
            ("source", text.clone()),
            ("type", text.clone()),
            ("time", opt(Ty::Timestamp)),
            ("subject", opt(Ty::Text)),
            ("correlation_id", opt(Ty::Text)),
            ("idempotency_key", text),
        ];
        pkg.records.push(ir::RecordDef {
            name: "Envelope".into(),
            docs: Some("The CloudEvents envelope of the event being handled, available as `meta`.".into()),
            event_type: None,
            fields: envelope_fields
                .iter()
                .map(|(n, t)| ir::FieldDef { name: n.to_string(), wire: n.to_string(), ty: t.clone(), docs: None })
                .collect(),
            site: None,
            by_wire: envelope_fields.iter().enumerate().map(|(i, (n, _))| (n.to_string(), i as u32)).collect(),
        });
        let mut types = HashMap::new();
        for (n, t) in [
            ("Bool", BuiltinTy::Bool),
            ("Int", BuiltinTy::Int),
            ("Decimal", BuiltinTy::Decimal),
            ("Money", BuiltinTy::Money),
            ("Currency", BuiltinTy::Currency),
            ("Text", BuiltinTy::Text),
            ("Date", BuiltinTy::Date),
            ("Timestamp", BuiltinTy::Timestamp),
        ] {
            types.insert(n.to_string(), TypeName::Builtin(t));
        }
        types.insert("Rounding".into(), TypeName::Enum(ROUNDING));
        types.insert("Weekday".into(), TypeName::Enum(WEEKDAY));
        types.insert("SortOrder".into(), TypeName::Enum(SORT_ORDER));
        types.insert("Envelope".into(), TypeName::Record(ENVELOPE));
        let mut variant_owners: HashMap<String, Vec<EnumId>> = HashMap::new();
        for (i, e) in pkg.enums.iter().enumerate() {
            for v in &e.variants {
                variant_owners.entry(v.name.clone()).or_default().push(EnumId(i as u32));
            }
        }
        Checker {
            texts: files.iter().map(|f| f.text).collect(),
            lines: Cow::Owned(files.iter().map(|f| LineIndex::new(f.text)).collect()),
            line_base: 0,
            diags: Vec::new(),
            pkg: Cow::Owned(pkg),
            file: FileId(0),
            types: Cow::Owned(types),
            values: Cow::default(),
            declared: Cow::default(),
            variant_owners: Cow::Owned(variant_owners),
            noted: Vec::new(),
            calls: HashMap::new(),
            current: None,
            broken_decisions: Cow::default(),
            broken_names: Cow::Owned(files.iter().flat_map(|f| f.ast.broken.iter().cloned()).collect()),
            unguarded: Vec::new(),
        }
    }

    /// A checker for one body: reads the scope, writes only its own results.
    fn for_body(scope: &'a Scope, text: &'a str, line_base: u32) -> Checker<'a> {
        Checker {
            texts: vec![text],
            lines: Cow::Owned(vec![LineIndex::new(text)]),
            line_base,
            diags: Vec::new(),
            pkg: Cow::Borrowed(&scope.pkg),
            file: FileId(0),
            types: Cow::Borrowed(&scope.types),
            values: Cow::Borrowed(&scope.values),
            declared: Cow::default(),
            variant_owners: Cow::Borrowed(&scope.variant_owners),
            noted: Vec::new(),
            calls: HashMap::new(),
            current: None,
            broken_decisions: Cow::Borrowed(scope.broken_decisions.as_slice()),
            broken_names: Cow::Borrowed(&scope.broken_names),
            unguarded: Vec::new(),
        }
    }

    /// A checker that assembles the checked bodies into the package.
    fn for_assembly(sigs: &'a Sigs, texts: Vec<&'a str>) -> Checker<'a> {
        Checker {
            texts,
            lines: Cow::Borrowed(&sigs.lines),
            line_base: 0,
            diags: sigs.diags.clone(),
            pkg: Cow::Owned(sigs.scope.pkg.clone()),
            file: FileId(0),
            types: Cow::Borrowed(&sigs.scope.types),
            values: Cow::Borrowed(&sigs.scope.values),
            declared: Cow::Borrowed(&sigs.declared),
            variant_owners: Cow::Borrowed(&sigs.scope.variant_owners),
            noted: Vec::new(),
            calls: HashMap::new(),
            current: None,
            broken_decisions: Cow::Borrowed(sigs.scope.broken_decisions.as_slice()),
            broken_names: Cow::Borrowed(&sigs.scope.broken_names),
            unguarded: Vec::new(),
        }
    }

    // ------------------------------------------------------------ utilities

    pub(crate) fn error(&mut self, code: Code, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::new(code, self.file, span, message));
        let last = self.diags.len() - 1;
        // The vector is non-empty: we just pushed.
        #[allow(clippy::indexing_slicing)]
        &mut self.diags[last]
    }

    pub(crate) fn loc(&self, span: Span) -> Loc {
        let index = self.lines.get(self.file.0 as usize);
        let line = index.map(|l| l.line(span.start)).unwrap_or(0);
        let start = index.and_then(|l| l.line_start(line)).unwrap_or(span.start);
        Loc { file: self.file, line, col: span.start.saturating_sub(start) + 1 }
    }

    pub(crate) fn site(&self, span: Span) -> Option<DeclSite> {
        Some(DeclSite { file: self.file, span, line: self.loc(span).line })
    }

    /// Records the type of an expression (a name, field access, call, lookup,
    /// parenthesised expression, `if`, `match` or `??`), a `let` or a
    /// parameter for the language server.
    pub(crate) fn note_type(&mut self, span: Span, ty: &Ty) {
        self.noted.push((self.file, span, ty.clone()));
    }

    pub(crate) fn show(&self, ty: &Ty) -> String {
        let enums: Vec<String> = self.pkg.enums.iter().map(|e| e.name.clone()).collect();
        let records: Vec<String> = self.pkg.records.iter().map(|r| r.name.clone()).collect();
        format!("{}", TyDisplay { ty, enums: &enums, records: &records })
    }

    fn source_text(&self, span: Span) -> String {
        self.texts
            .get(self.file.0 as usize)
            .and_then(|t| t.get(span.start as usize..span.end as usize))
            .unwrap_or("")
            .to_string()
    }

    // ------------------------------------------------------------ phases

    /// Registers a top-level name; reports E0102 when it is taken.
    fn claim(&mut self, name: &ast::Ident) -> bool {
        self.claim_as(name, false)
    }

    /// As [`Checker::claim`]; a `callable` name (a function or decision) is also taken when a
    /// built-in function has it, which calls could not tell apart. Types, tables, destinations,
    /// states and metrics may share a built-in function's name (`record first`, `destination last`).
    fn claim_as(&mut self, name: &ast::Ident, callable: bool) -> bool {
        let builtin_fn = callable && canon_stdlib::functions::lookup(&name.text).is_some() || name.text == "meta";
        if self.types.contains_key(&name.text) && !self.declared.contains_key(&name.text) || builtin_fn {
            self.error(Code::E0102, name.span, format!("`{}` is already defined by Canon", name.text)).help =
                Some("choose another name".into());
            return false;
        }
        if let Some((file, span)) = self.declared.get(&name.text).copied() {
            let d = Diagnostic::new(Code::E0102, self.file, name.span, format!("`{}` is defined twice", name.text))
                .with_label(file, span, "first defined here")
                .with_help("the first definition stays in effect; rename or remove this one");
            self.diags.push(d);
            return false;
        }
        self.declared.to_mut().insert(name.text.clone(), (self.file, name.span));
        true
    }

    fn declare(&mut self, item: &ast::Item) {
        match item {
            ast::Item::Enum(e) => {
                if self.claim(&e.name) {
                    let id = EnumId(self.pkg.enums.len() as u32);
                    self.types.to_mut().insert(e.name.text.clone(), TypeName::Enum(id));
                    let mut def = ir::EnumDef {
                        name: e.name.text.clone(),
                        docs: e.docs.clone(),
                        variants: Vec::new(),
                        site: self.site(e.name.span),
                        by_wire: Default::default(),
                    };
                    let mut seen: HashMap<&str, Span> = HashMap::new();
                    for v in &e.variants {
                        if let Some(first) = seen.get(v.name.text.as_str()).copied() {
                            let d = Diagnostic::new(
                                Code::E0102,
                                self.file,
                                v.name.span,
                                format!("variant `{}` is defined twice in `{}`", v.name.text, e.name.text),
                            )
                            .with_label(self.file, first, "first defined here");
                            self.diags.push(d);
                            continue;
                        }
                        seen.insert(&v.name.text, v.name.span);
                        let wire = v.wire.as_ref().map(|w| w.value.clone()).unwrap_or_else(|| v.name.text.clone());
                        if def.by_wire.contains_key(&wire) {
                            let span = v.wire.as_ref().map(|w| w.span).unwrap_or(v.name.span);
                            self.error(
                                Code::E0102,
                                span,
                                format!("wire name `{wire}` is used twice in `{}`", e.name.text),
                            );
                            continue;
                        }
                        def.by_wire.insert(wire.clone(), def.variants.len() as u32);
                        def.variants.push(ir::VariantDef { name: v.name.text.clone(), wire, docs: v.docs.clone() });
                        self.variant_owners.to_mut().entry(v.name.text.clone()).or_default().push(id);
                    }
                    self.pkg.to_mut().enums.push(def);
                }
            }
            ast::Item::Record(r) => {
                if self.claim(&r.name) {
                    let id = RecordId(self.pkg.records.len() as u32);
                    self.types.to_mut().insert(r.name.text.clone(), TypeName::Record(id));
                    let event_type = r
                        .is_event
                        .then(|| r.wire_type.as_ref().map(|w| w.value.clone()).unwrap_or_else(|| r.name.text.clone()));
                    let site = self.site(r.name.span);
                    self.pkg.to_mut().records.push(ir::RecordDef {
                        name: r.name.text.clone(),
                        docs: r.docs.clone(),
                        event_type,
                        fields: Vec::new(),
                        site,
                        by_wire: Default::default(),
                    });
                }
            }
            ast::Item::Destination(d) if d.index.is_some() => {
                if self.claim(&d.name) {
                    let id = self.pkg.families.len() as u32;
                    self.values.to_mut().insert(d.name.text.clone(), ValueName::Family(id));
                    self.pkg.to_mut().families.push(ir::FamilyDef {
                        name: d.name.text.clone(),
                        index: crate::types::EnumId(u32::MAX),
                        record: RecordId(u32::MAX),
                        members: Vec::new(),
                    });
                }
            }
            ast::Item::Destination(d) => {
                if self.claim(&d.name) {
                    let id = DestId(self.pkg.destinations.len() as u32);
                    self.values.to_mut().insert(d.name.text.clone(), ValueName::Destination(id));
                    self.pkg.to_mut().destinations.push(ir::DestDef {
                        name: d.name.text.clone(),
                        record: RecordId(u32::MAX),
                        member_of: None,
                    });
                }
            }
            ast::Item::Table(t) => {
                if self.claim(&t.name) {
                    let id = TableId(self.pkg.tables.len() as u32);
                    self.values.to_mut().insert(t.name.text.clone(), ValueName::Table(id));
                    self.pkg.to_mut().tables.push(ir::TableDef {
                        name: t.name.text.clone(),
                        record: RecordId(u32::MAX),
                        keys: Vec::new(),
                        effective: None,
                    });
                }
            }
            ast::Item::Fn(f) => {
                if self.claim_as(&f.name, true) {
                    let id = FnId(self.pkg.functions.len() as u32);
                    self.values.to_mut().insert(f.name.text.clone(), ValueName::Fn(id));
                    let site = self.site(f.name.span);
                    self.pkg.to_mut().functions.push(ir::FnDef {
                        name: f.name.text.clone(),
                        params: Vec::new(),
                        ret: Ty::Error,
                        n_locals: 0,
                        lets: Vec::new(),
                        body: ir::Expr { kind: ir::ExprKind::Error, ty: Ty::Error, loc: Loc::default() },
                        site,
                    });
                }
            }
            ast::Item::Decision(d) => {
                if self.claim_as(&d.name, true) {
                    let id = ir::DecisionId(self.pkg.decisions.len() as u32);
                    self.values.to_mut().insert(d.name.text.clone(), ValueName::Decision(id));
                    self.broken_decisions.to_mut().push(false);
                    let loc = self.loc(d.name.span);
                    let site = self.site(d.name.span);
                    self.pkg.to_mut().decisions.push(ir::DecisionDef {
                        name: d.name.text.clone(),
                        params: Vec::new(),
                        ret: Ty::Error,
                        hit: ir::Hit::First,
                        columns: Vec::new(),
                        output_record: None,
                        rows: Vec::new(),
                        default: None,
                        n_locals: 0,
                        site,
                        loc,
                    });
                }
            }
            ast::Item::State(t) => {
                if self.claim(&t.name) {
                    let id = ir::StateId(self.pkg.states.len() as u32);
                    self.values.to_mut().insert(t.name.text.clone(), ValueName::State(id));
                    let site = self.site(t.name.span);
                    self.pkg.to_mut().states.push(ir::StateDef {
                        name: t.name.text.clone(),
                        record: RecordId(u32::MAX),
                        keys: Vec::new(),
                        docs: t.docs.clone(),
                        site,
                    });
                }
            }
            ast::Item::Metric(m) => {
                if self.claim(&m.name) {
                    self.values.to_mut().insert(m.name.text.clone(), ValueName::Metric);
                }
            }
            ast::Item::Calendar(d) => {
                if self.claim(&d.name) {
                    let id = ir::CalendarId(self.pkg.calendars.len() as u32);
                    self.values.to_mut().insert(d.name.text.clone(), ValueName::Calendar(id));
                    self.pkg.to_mut().calendars.push(ir::CalendarDef {
                        name: d.name.text.clone(),
                        holidays: TableId(u32::MAX),
                        periods: None,
                        weekend: 0b110_0000,
                    });
                }
            }
            ast::Item::Handler(_) | ast::Item::Test(_) => {}
        }
    }

    /// Resolves a written type; reports E0101 for unknown names.
    pub(crate) fn resolve_type(&mut self, t: &ast::TypeRef) -> Ty {
        match t {
            ast::TypeRef::Named(id) => match self.types.get(&id.text).copied() {
                Some(TypeName::Builtin(b)) => match b {
                    BuiltinTy::Bool => Ty::Bool,
                    BuiltinTy::Int => Ty::Int,
                    BuiltinTy::Decimal => Ty::Decimal,
                    BuiltinTy::Money => Ty::Money,
                    BuiltinTy::Currency => Ty::Currency,
                    BuiltinTy::Text => Ty::Text,
                    BuiltinTy::Date => Ty::Date,
                    BuiltinTy::Timestamp => Ty::Timestamp,
                },
                Some(TypeName::Enum(e)) => Ty::Enum(e),
                Some(TypeName::Record(r)) => Ty::Record(r),
                None if self.broken_names.contains(&id.text) => Ty::Error,
                None => {
                    let names: Vec<String> = self.types.keys().cloned().collect();
                    let d = self.error(Code::E0101, id.span, format!("unknown type `{}`", id.text));
                    if id.text == "List" {
                        d.help = Some("write the element type: `List<Entry>`".to_string());
                    } else {
                        suggest(d, &id.text, id.span, names.iter().map(String::as_str), None);
                    }
                    Ty::Error
                }
            },
            ast::TypeRef::List(inner, _) => Ty::list(self.resolve_type(inner)),
            ast::TypeRef::Optional(inner, _) => Ty::optional(self.resolve_type(inner)),
        }
    }

    fn define_types(&mut self, item: &ast::Item) {
        let ast::Item::Record(r) = item else { return };
        let Some(TypeName::Record(id)) = self.types.get(&r.name.text).copied() else { return };
        // Only the declaration in effect defines the fields.
        if self.declared.get(&r.name.text).map(|(f, s)| (*f, *s)) != Some((self.file, r.name.span)) {
            return;
        }
        let mut fields = Vec::new();
        let mut by_wire = rustc_hash::FxHashMap::default();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for f in &r.fields {
            let ty = self.resolve_type(&f.ty);
            if let Some(first) = seen.get(&f.name.text).copied() {
                let d = Diagnostic::new(
                    Code::E0102,
                    self.file,
                    f.name.span,
                    format!("field `{}` is defined twice", f.name.text),
                )
                .with_label(self.file, first, "first defined here");
                self.diags.push(d);
                continue;
            }
            seen.insert(f.name.text.clone(), f.name.span);
            let wire = f.wire.as_ref().map(|w| w.value.clone()).unwrap_or_else(|| f.name.text.clone());
            if by_wire.contains_key(&wire) {
                let span = f.wire.as_ref().map(|w| w.span).unwrap_or(f.name.span);
                self.error(Code::E0102, span, format!("wire name `{wire}` is used by two fields of `{}`", r.name.text));
                continue;
            }
            by_wire.insert(wire.clone(), fields.len() as u32);
            fields.push(ir::FieldDef { name: f.name.text.clone(), wire, ty, docs: f.docs.clone() });
        }
        if let Some(def) = self.pkg.to_mut().records.get_mut(id.0 as usize) {
            def.fields = fields;
            def.by_wire = by_wire;
        }
    }

    fn is_in_effect(&self, name: &ast::Ident) -> bool {
        self.declared.get(&name.text).map(|(f, s)| (*f, *s)) == Some((self.file, name.span))
    }

    /// A family's members: one destination per variant of its index enum,
    /// named `family.WIRE` (LANGUAGE.md §4.3).
    fn define_family(&mut self, f: u32, d: &ast::DestinationDecl, record: RecordId) {
        let Some(index) = &d.index else { return };
        let e = match self.resolve_type(index) {
            Ty::Enum(e) => e,
            Ty::Error => return,
            other => {
                let shown = self.show(&other);
                self.error(
                    Code::E0631,
                    index.span(),
                    format!("a destination family is indexed by an enum, not `{shown}`"),
                )
                .help = Some(format!(
                    "index it by an enum with a variant per destination, e.g. `enum Entity {{ EU, US }}` and `destination {}[Entity]: ...`",
                    d.name.text
                ));
                return;
            }
        };
        let wires: Vec<String> =
            self.pkg.enum_def(e).map(|def| def.variants.iter().map(|v| v.wire.clone()).collect()).unwrap_or_default();
        let mut members = Vec::new();
        for (i, wire) in wires.iter().enumerate() {
            let id = DestId(self.pkg.destinations.len() as u32);
            self.pkg.to_mut().destinations.push(ir::DestDef {
                name: format!("{}.{wire}", d.name.text),
                record,
                member_of: Some((f, i as u32)),
            });
            members.push(id);
        }
        if let Some(def) = self.pkg.to_mut().families.get_mut(f as usize) {
            def.index = e;
            def.record = record;
            def.members = members;
        }
    }

    fn define_signatures(&mut self, item: &ast::Item) {
        match item {
            ast::Item::Destination(d) if self.is_in_effect(&d.name) => {
                let ty = self.resolve_type(&d.ty);
                let record = match ty {
                    Ty::Record(r) => r,
                    Ty::Error => RecordId(u32::MAX),
                    other => {
                        let shown = self.show(&other);
                        self.error(Code::E0201, d.ty.span(), format!("a destination carries a record, not `{shown}`"));
                        RecordId(u32::MAX)
                    }
                };
                match self.values.get(&d.name.text).copied() {
                    Some(ValueName::Destination(id)) => {
                        if let Some(def) = self.pkg.to_mut().destinations.get_mut(id.0 as usize) {
                            def.record = record;
                        }
                    }
                    Some(ValueName::Family(f)) => self.define_family(f, d, record),
                    _ => {}
                }
            }
            ast::Item::Table(t) if self.is_in_effect(&t.name) => {
                let ty = self.resolve_type(&t.ty);
                let mut keys = Vec::new();
                let record = match ty {
                    Ty::Record(r) => {
                        for k in &t.keys {
                            match self.pkg.record(r).and_then(|d| d.field_index(&k.text)) {
                                Some(i) => keys.push(i),
                                None => {
                                    let (rn, names) = self
                                        .pkg
                                        .record(r)
                                        .map(|d| {
                                            (
                                                d.name.clone(),
                                                d.fields.iter().map(|f| f.name.clone()).collect::<Vec<String>>(),
                                            )
                                        })
                                        .unwrap_or_default();
                                    let d =
                                        self.error(Code::E0103, k.span, format!("`{rn}` has no field `{}`", k.text));
                                    suggest(d, &k.text, k.span, names.iter().map(String::as_str), None);
                                    // The table keeps the key it declared (LANGUAGE.md §11): a
                                    // lookup is checked against its arity, not reported again.
                                    keys.push(ir::NO_FIELD);
                                }
                            }
                        }
                        r
                    }
                    Ty::Error => RecordId(u32::MAX),
                    other => {
                        let shown = self.show(&other);
                        self.error(Code::E0201, t.ty.span(), format!("a table holds records, not `{shown}`"));
                        RecordId(u32::MAX)
                    }
                };
                let effective = t.effective.as_ref().and_then(|e| self.effective(record, &keys, e));
                if let Some(ValueName::Table(id)) = self.values.get(&t.name.text).copied() {
                    if let Some(def) = self.pkg.to_mut().tables.get_mut(id.0 as usize) {
                        def.record = record;
                        def.keys = keys;
                        def.effective = effective;
                    }
                }
            }
            ast::Item::State(t) if self.is_in_effect(&t.name) => self.define_state(t),
            ast::Item::Fn(f) if self.is_in_effect(&f.name) => {
                let params = self.params(&f.params);
                let ret = self.resolve_type(&f.ret);
                if let Some(ValueName::Fn(id)) = self.values.get(&f.name.text).copied() {
                    if let Some(def) = self.pkg.to_mut().functions.get_mut(id.0 as usize) {
                        def.params = params;
                        def.ret = ret;
                    }
                }
            }
            ast::Item::Decision(d) if self.is_in_effect(&d.name) => {
                let params = self.params(&d.params);
                let ret = self.resolve_type(&d.ret);
                if let Some(ValueName::Decision(id)) = self.values.get(&d.name.text).copied() {
                    if params.iter().any(|(_, t)| t.is_error()) || ret.is_error() {
                        if let Some(b) = self.broken_decisions.to_mut().get_mut(id.0 as usize) {
                            *b = true;
                        }
                    }
                    if let Some(def) = self.pkg.to_mut().decisions.get_mut(id.0 as usize) {
                        def.params = params;
                        def.ret = ret;
                        // The hit policy is part of the signature: a `collect` call is a list.
                        def.hit = decision::hit_policy(&d.hit.text).map(|(h, _)| h).unwrap_or(ir::Hit::First);
                    }
                }
            }
            _ => {}
        }
    }

    fn params(&mut self, params: &[ast::Param]) -> Vec<(String, Ty)> {
        let mut out: Vec<(String, Ty)> = Vec::new();
        for p in params {
            let ty = self.resolve_type(&p.ty);
            if out.iter().any(|(n, _)| *n == p.name.text) {
                self.error(Code::E0102, p.name.span, format!("parameter `{}` is declared twice", p.name.text));
            }
            out.push((p.name.text.clone(), ty));
        }
        out
    }

    pub(crate) fn is_broken(&self, name: &str) -> bool {
        self.broken_names.contains(name)
    }

    pub(super) fn record_call(&mut self, callee: Callee, span: Span) {
        if let Some(cur) = self.current {
            let file = self.file;
            self.calls.entry(cur).or_default().push((callee, file, span));
        }
    }

    fn text_of(&self, span: Span) -> String {
        self.source_text(span)
    }
}

/// Every candidate close enough to `name` to suggest, best first: the
/// nearest by edit distance, equally near ones in alphabetical order (so the
/// list does not depend on the order names were stored in). Close enough is
/// within half the name's length (at least one edit), so a misspelt
/// `erp_eu` offers both `erp_us` and `erp_emea` rather than only the nearest.
pub(crate) fn candidates<'s>(name: &str, candidates: impl Iterator<Item = &'s str>) -> Vec<String> {
    let limit = (name.chars().count() / 2).max(1);
    let mut found: Vec<(usize, &str)> =
        candidates.filter(|c| *c != name).map(|c| (edit_distance(name, c), c)).filter(|(d, _)| *d <= limit).collect();
    found.sort_unstable();
    found.dedup();
    found.into_iter().map(|(_, c)| c.to_string()).collect()
}

/// `did you mean `a`?` or `did you mean `a`, `b` or `c`?` (best first).
pub(crate) fn did_you_mean(names: &[String]) -> Option<String> {
    match names {
        [] => None,
        [one] => Some(format!("did you mean `{one}`?")),
        many => Some(format!("did you mean {}?", expr::quote_list_or(many))),
    }
}

/// Sets the help of an unknown-name diagnostic to the names close to
/// `name` (or `fallback` when there are none) and attaches them as
/// [`Data::Replace`] of `span`, one quick fix each.
pub(crate) fn suggest<'s>(
    d: &mut Diagnostic,
    name: &str,
    span: Span,
    names: impl Iterator<Item = &'s str>,
    fallback: Option<String>,
) {
    let with = candidates(name, names);
    d.help = did_you_mean(&with).or(fallback);
    if !with.is_empty() {
        d.data = Some(Data::Replace { span, with });
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::candidates;

    fn closest(name: &str, names: &[&str]) -> Option<String> {
        candidates(name, names.iter().copied()).into_iter().next()
    }

    #[test]
    fn the_suggestion_does_not_depend_on_the_order_of_names() {
        assert_eq!(closest("mix", &["min", "max"]).as_deref(), Some("max"));
        assert_eq!(closest("mix", &["max", "min"]).as_deref(), Some("max"));
        assert_eq!(closest("rond", &["round", "amount"]).as_deref(), Some("round"));
        assert_eq!(closest("zzzzzz", &["round"]), None);
    }

    #[test]
    fn every_close_candidate_is_listed_best_first() {
        let names = ["erp_us", "erp_emea", "erp_apac", "revenue"];
        assert_eq!(candidates("erp_eu", names.iter().copied()), vec!["erp_us", "erp_emea"]);
        assert_eq!(candidates("erp_eu", names.iter().rev().copied()), vec!["erp_us", "erp_emea"]);
        // Ties keep every candidate, in alphabetical order.
        assert_eq!(candidates("erp_xx", ["erp_us", "erp_ca"].into_iter()), vec!["erp_ca", "erp_us"]);
        assert!(candidates("total", ["total"].into_iter()).is_empty());
    }
}
