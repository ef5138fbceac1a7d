//! Every identifier occurrence of a file with what it names: the basis of
//! hover, go to definition, find references and symbols.
//!
//! Resolution is by name over the syntax tree (one flat namespace for
//! top-level items), with the checker's side table of types for field
//! accesses, and source order within an item for locals.

use std::collections::HashMap;

use canon_compiler::check::calendar_function;
use canon_compiler::diagnostics::FileId;
use canon_compiler::ir;
use canon_compiler::syntax::ast::{self, Span};
use canon_compiler::types::Ty;

/// What an identifier names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A top-level item: record, event, enum, function, decision, table, destination.
    Item(String),
    /// A field of a record.
    Field { record: String, field: String },
    /// A variant of an enum.
    Variant { enum_name: String, variant: String },
    /// A built-in function.
    Builtin(String),
    /// A local (parameter, `let`, handler binding, loop or lambda variable),
    /// identified by its declaration.
    Local { file: FileId, decl: Span },
}

#[derive(Debug, Clone)]
pub struct Occurrence {
    pub span: Span,
    pub target: Target,
    pub is_decl: bool,
    /// For a name or field access: the span of the whole expression, whose
    /// type the checker's side table holds.
    pub expr: Option<Span>,
}

/// What the index needs from the checked package.
pub struct Context<'a> {
    pub file: FileId,
    pub pkg: &'a ir::Package,
    pub types: &'a HashMap<(FileId, u32, u32), Ty>,
    /// Top-level names declared anywhere in the package (by the syntax trees).
    pub items: &'a HashMap<String, ItemKind>,
    /// Variant name to the enums declaring it (package order).
    pub variants: &'a HashMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Record,
    Event,
    Enum,
    Function,
    Decision,
    Table,
    Destination,
    State,
    Metric,
    Calendar,
}

/// All occurrences of one file, in source order.
pub fn occurrences(cx: &Context<'_>, file: &ast::File) -> Vec<Occurrence> {
    let mut w = Walker { cx, out: Vec::new(), locals: Vec::new() };
    for item in &file.items {
        w.locals.clear();
        w.item(item);
    }
    w.out
}

struct Walker<'a, 'c> {
    cx: &'c Context<'a>,
    out: Vec<Occurrence>,
    /// Locals of the current item in source order (name, declaration span).
    locals: Vec<(String, Span)>,
}

impl Walker<'_, '_> {
    fn push(&mut self, id: &ast::Ident, target: Target, is_decl: bool) {
        self.out.push(Occurrence { span: id.span, target, is_decl, expr: None });
    }

    fn bind(&mut self, id: &ast::Ident) {
        self.locals.push((id.text.clone(), id.span));
        let t = Target::Local { file: self.cx.file, decl: id.span };
        self.push(id, t, true);
    }

    fn local(&self, name: &str) -> Option<Span> {
        self.locals.iter().rev().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    fn record_of_ty(&self, ty: &Ty) -> Option<String> {
        match ty.strip() {
            Ty::Record(r) => self.cx.pkg.record(*r).map(|d| d.name.clone()),
            Ty::List(t) => self.record_of_ty(t),
            _ => None,
        }
    }

    fn ty_at(&self, span: Span) -> Option<&Ty> {
        self.cx.types.get(&(self.cx.file, span.start, span.end))
    }

    fn type_ref(&mut self, t: &ast::TypeRef) {
        match t {
            ast::TypeRef::Named(id) => {
                if self.cx.items.contains_key(&id.text) {
                    self.push(id, Target::Item(id.text.clone()), false);
                }
            }
            ast::TypeRef::List(inner, _) | ast::TypeRef::Optional(inner, _) => self.type_ref(inner),
        }
    }

    /// The name of the record type a state holds.
    fn state_record(&self, state: &str) -> Option<String> {
        let (_, def) = self.cx.pkg.state_by_name(state)?;
        self.cx.pkg.record(def.record).map(|r| r.name.clone())
    }

    fn type_name(t: &ast::TypeRef) -> Option<&str> {
        match t {
            ast::TypeRef::Named(id) => Some(&id.text),
            ast::TypeRef::List(inner, _) | ast::TypeRef::Optional(inner, _) => Self::type_name(inner),
        }
    }

    fn item(&mut self, item: &ast::Item) {
        match item {
            ast::Item::Calendar(c) => {
                self.push(&c.name, Target::Item(c.name.text.clone()), true);
                for (k, vs) in &c.entries {
                    if k.text != "weekend" {
                        for v in vs {
                            self.push(v, Target::Item(v.text.clone()), false);
                        }
                    }
                }
            }
            ast::Item::Enum(e) => {
                self.push(&e.name, Target::Item(e.name.text.clone()), true);
                for v in &e.variants {
                    let t = Target::Variant { enum_name: e.name.text.clone(), variant: v.name.text.clone() };
                    self.push(&v.name, t, true);
                }
            }
            ast::Item::Record(r) => {
                self.push(&r.name, Target::Item(r.name.text.clone()), true);
                for f in &r.fields {
                    let t = Target::Field { record: r.name.text.clone(), field: f.name.text.clone() };
                    self.push(&f.name, t, true);
                    self.type_ref(&f.ty);
                }
            }
            ast::Item::Destination(d) => {
                self.push(&d.name, Target::Item(d.name.text.clone()), true);
                if let Some(i) = &d.index {
                    self.type_ref(i);
                }
                self.type_ref(&d.ty);
            }
            ast::Item::Table(t) => {
                self.push(&t.name, Target::Item(t.name.text.clone()), true);
                self.type_ref(&t.ty);
                if let Some(rec) = Self::type_name(&t.ty).map(str::to_string) {
                    for k in &t.keys {
                        self.push(k, Target::Field { record: rec.clone(), field: k.text.clone() }, false);
                    }
                    for k in t.effective.iter().flat_map(|e| std::iter::once(&e.from).chain(e.to.as_ref())) {
                        self.push(k, Target::Field { record: rec.clone(), field: k.text.clone() }, false);
                    }
                }
            }
            ast::Item::State(t) => {
                self.push(&t.name, Target::Item(t.name.text.clone()), true);
                self.type_ref(&t.ty);
                if let Some(rec) = Self::type_name(&t.ty).map(str::to_string) {
                    for k in &t.keys {
                        self.push(k, Target::Field { record: rec.clone(), field: k.text.clone() }, false);
                    }
                }
            }
            ast::Item::Metric(m) => {
                self.push(&m.name, Target::Item(m.name.text.clone()), true);
                self.dest(&m.state);
                self.bind(&m.param);
                self.expr(&m.body);
                if let Some(c) = &m.filter {
                    self.expr(c);
                }
                let rec = self.state_record(&m.state.text);
                if let Some(rec) = rec {
                    for b in &m.by {
                        self.push(b, Target::Field { record: rec.clone(), field: b.text.clone() }, false);
                    }
                    if let Some(a) = &m.age {
                        self.push(&a.field, Target::Field { record: rec.clone(), field: a.field.text.clone() }, false);
                    }
                }
            }
            ast::Item::Fn(f) => {
                self.push(&f.name, Target::Item(f.name.text.clone()), true);
                self.params(&f.params);
                self.type_ref(&f.ret);
                for l in &f.lets {
                    self.expr(&l.value);
                    self.bind(&l.name);
                }
                self.expr(&f.body);
            }
            ast::Item::Decision(d) => {
                self.push(&d.name, Target::Item(d.name.text.clone()), true);
                self.params(&d.params);
                self.type_ref(&d.ret);
                for i in &d.inputs {
                    if let Some(decl) = self.local(&i.text) {
                        self.push(i, Target::Local { file: self.cx.file, decl }, false);
                    }
                }
                if let Some(rec) =
                    Self::type_name(&d.ret).filter(|n| self.cx.items.contains_key(*n)).map(str::to_string)
                {
                    for o in &d.outputs {
                        self.push(o, Target::Field { record: rec.clone(), field: o.text.clone() }, false);
                    }
                }
                if let Some(e) = &d.default {
                    self.expr(e);
                }
                for row in &d.rows {
                    for c in &row.inputs {
                        self.cell(c);
                    }
                    for o in &row.outputs {
                        self.expr(o);
                    }
                }
            }
            ast::Item::Handler(h) => {
                if self.cx.items.contains_key(&h.event.text) {
                    self.push(&h.event, Target::Item(h.event.text.clone()), false);
                }
                self.bind(&h.binding);
                self.block(&h.body);
            }
            ast::Item::Test(t) => {
                for s in &t.stmts {
                    self.test_stmt(s);
                }
            }
        }
    }

    fn params(&mut self, params: &[ast::Param]) {
        for p in params {
            self.type_ref(&p.ty);
            self.bind(&p.name);
        }
    }

    fn cell(&mut self, c: &ast::Cell) {
        match &c.kind {
            ast::CellKind::Any => {}
            ast::CellKind::Values { values, .. } => {
                for v in values {
                    self.lit(v);
                }
            }
            ast::CellKind::Cmp(_, v) => self.bound(v),
            ast::CellKind::Range { lo, hi, .. } => {
                self.bound(lo);
                self.bound(hi);
            }
            ast::CellKind::AnyOf(items) => {
                for i in items {
                    self.cell(i);
                }
            }
        }
    }

    /// A comparison's operand: a parameter of the decision (`> limit`) or a constant.
    fn bound(&mut self, l: &ast::Lit) {
        if let ast::LitKind::Name(id) = &l.kind {
            if let Some(decl) = self.local(&id.text) {
                self.push(id, Target::Local { file: self.cx.file, decl }, false);
                return;
            }
        }
        self.lit(l);
    }

    fn lit(&mut self, l: &ast::Lit) {
        self.lit_kind(&l.kind);
    }

    fn lit_kind(&mut self, l: &ast::LitKind) {
        match l {
            ast::LitKind::Name(id) => self.bare_variant(id),
            ast::LitKind::Qualified(ty, v) => self.qualified(ty, v),
            _ => {}
        }
    }

    /// `emit d[V] R { ... }` of a test: the destination, the member's variant, the record.
    fn expected_emit(&mut self, e: &ast::ExpectedEmit) {
        self.dest(&e.dest);
        if let Some(m) = &e.member {
            self.bare_variant(m);
        }
        self.expr(&e.record);
    }

    fn bare_variant(&mut self, id: &ast::Ident) {
        if let Some(e) = self.cx.variants.get(&id.text).and_then(|v| v.first()).cloned() {
            self.push(id, Target::Variant { enum_name: e, variant: id.text.clone() }, false);
        }
    }

    fn qualified(&mut self, ty: &ast::Ident, v: &ast::Ident) {
        if self.cx.items.get(&ty.text) == Some(&ItemKind::Enum) {
            self.push(ty, Target::Item(ty.text.clone()), false);
            self.push(v, Target::Variant { enum_name: ty.text.clone(), variant: v.text.clone() }, false);
        }
    }

    fn block(&mut self, b: &ast::Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn rejection(&mut self, r: &ast::Rejection) {
        if let Some(m) = &r.message {
            self.expr(m);
        }
    }

    fn dest(&mut self, id: &ast::Ident) {
        if self.cx.items.contains_key(&id.text) {
            self.push(id, Target::Item(id.text.clone()), false);
        }
    }

    fn stmt(&mut self, s: &ast::Stmt) {
        match &s.kind {
            ast::StmtKind::Let(l) => {
                self.expr(&l.value);
                self.bind(&l.name);
            }
            ast::StmtKind::Check { cond, reject } | ast::StmtKind::Require { cond, reject } => {
                self.expr(cond);
                self.rejection(reject);
            }
            ast::StmtKind::Reject(r) => self.rejection(r),
            ast::StmtKind::Emit { dest, index, value } => {
                self.dest(dest);
                if let Some(i) = index {
                    self.expr(i);
                }
                self.expr(value);
            }
            ast::StmtKind::If { branches, otherwise } => {
                for (c, b) in branches {
                    self.expr(c);
                    self.block(b);
                }
                if let Some(b) = otherwise {
                    self.block(b);
                }
            }
            ast::StmtKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for a in arms {
                    self.patterns(&a.patterns);
                    self.block(&a.body);
                }
            }
            ast::StmtKind::For { index, var, iter, body } => {
                self.expr(iter);
                if let Some(i) = index {
                    self.bind(i);
                }
                self.bind(var);
                self.block(body);
            }
            ast::StmtKind::Put { state, value } => {
                self.dest(state);
                self.expr(value);
            }
            ast::StmtKind::Update { state, keys, fields } => {
                self.dest(state);
                for k in keys {
                    self.expr(k);
                }
                let rec = self.state_record(&state.text);
                for fi in fields {
                    if let Some(rec) = &rec {
                        self.push(&fi.name, Target::Field { record: rec.clone(), field: fi.name.text.clone() }, false);
                    }
                    self.expr(&fi.value);
                }
            }
            ast::StmtKind::Delete { state, keys } => {
                self.dest(state);
                for k in keys {
                    self.expr(k);
                }
            }
        }
    }

    fn patterns(&mut self, ps: &[ast::Pattern]) {
        for p in ps {
            if let ast::Pattern::Lit(l) = p {
                self.lit(l);
            }
        }
    }

    fn test_stmt(&mut self, s: &ast::TestStmt) {
        match &s.kind {
            ast::TestStmtKind::Given(e) | ast::TestStmtKind::Assert(e) => self.expr(e),
            ast::TestStmtKind::GivenFile(_)
            | ast::TestStmtKind::ExpectStatus(_)
            | ast::TestStmtKind::ExpectReject(_) => {}
            ast::TestStmtKind::With { table, rows } => {
                self.dest(table);
                for r in rows {
                    self.expr(r);
                }
            }
            ast::TestStmtKind::ExpectEmit(e) => self.expected_emit(e),
            ast::TestStmtKind::ExpectExactly(es) => {
                for e in es {
                    self.expected_emit(e);
                }
            }
            ast::TestStmtKind::ExpectNoEmit { dest, member } => {
                self.dest(dest);
                if let Some(m) = member {
                    self.bare_variant(m);
                }
            }
            ast::TestStmtKind::ExpectState { state, keys, record } => {
                self.dest(state);
                for k in keys {
                    self.expr(k);
                }
                if let Some(r) = record {
                    self.expr(r);
                }
            }
            ast::TestStmtKind::Let(l) => {
                self.expr(&l.value);
                self.bind(&l.name);
            }
        }
    }

    fn expr(&mut self, e: &ast::Expr) {
        match &e.kind {
            ast::ExprKind::Lit(l) => self.lit_kind(l),
            ast::ExprKind::Text(parts) => {
                for p in parts {
                    if let ast::StrPart::Expr(x) = p {
                        self.expr(x);
                    }
                }
            }
            ast::ExprKind::Name(id) => {
                let target = if let Some(decl) = self.local(&id.text) {
                    Some(Target::Local { file: self.cx.file, decl })
                } else if self.cx.items.contains_key(&id.text) {
                    Some(Target::Item(id.text.clone()))
                } else {
                    self.cx
                        .variants
                        .get(&id.text)
                        .and_then(|v| v.first())
                        .map(|en| Target::Variant { enum_name: en.clone(), variant: id.text.clone() })
                };
                if let Some(target) = target {
                    self.out.push(Occurrence { span: id.span, target, is_decl: false, expr: Some(e.span) });
                }
            }
            ast::ExprKind::Field { base, name, .. } => {
                if let ast::ExprKind::Name(tn) = &base.kind {
                    if self.local(&tn.text).is_none() && self.cx.items.get(&tn.text) == Some(&ItemKind::Enum) {
                        self.qualified(tn, name);
                        return;
                    }
                }
                self.expr(base);
                let record = self.ty_at(base.span).and_then(|t| self.record_of_ty(t));
                if let Some(record) = record {
                    let target = Target::Field { record, field: name.text.clone() };
                    self.out.push(Occurrence { span: name.span, target, is_decl: false, expr: Some(e.span) });
                }
            }
            ast::ExprKind::Call { callee, args } => {
                let builtin = canon_stdlib::functions::lookup(&callee.text).is_some()
                    || (calendar_function(&callee.text).is_some() && !self.cx.items.contains_key(&callee.text));
                if builtin && self.local(&callee.text).is_none() {
                    self.push(callee, Target::Builtin(callee.text.clone()), false);
                } else if self.cx.items.contains_key(&callee.text) {
                    self.push(callee, Target::Item(callee.text.clone()), false);
                }
                for a in args {
                    match a {
                        ast::Arg::Expr(x) => self.expr(x),
                        ast::Arg::Lambda { param, body, .. } => {
                            let mark = self.locals.len();
                            self.bind(param);
                            self.expr(body);
                            self.locals.truncate(mark);
                        }
                    }
                }
            }
            ast::ExprKind::BadCall { callee } => self.expr(callee),
            ast::ExprKind::Index { base, keys, as_of } => {
                match &base.kind {
                    // `state[k]` or `table[k]`: the name stands for the read (its type on hover).
                    ast::ExprKind::Name(id)
                        if self.local(&id.text).is_none() && self.cx.items.contains_key(&id.text) =>
                    {
                        let target = Target::Item(id.text.clone());
                        self.out.push(Occurrence { span: id.span, target, is_decl: false, expr: Some(e.span) });
                    }
                    _ => self.expr(base),
                }
                for k in keys {
                    self.expr(k);
                }
                if let Some(d) = as_of {
                    self.expr(d);
                }
            }
            ast::ExprKind::Unary { expr, .. } => self.expr(expr),
            ast::ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ast::ExprKind::If { cond, then, otherwise } => {
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ast::ExprKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for a in arms {
                    self.patterns(&a.patterns);
                    self.expr(&a.body);
                }
            }
            ast::ExprKind::Record { name, fields, .. } => {
                let known = self.cx.items.contains_key(&name.text);
                if known {
                    self.push(name, Target::Item(name.text.clone()), false);
                }
                for f in fields {
                    if known {
                        let t = Target::Field { record: name.text.clone(), field: f.name.text.clone() };
                        self.push(&f.name, t, false);
                    }
                    self.expr(&f.value);
                }
            }
            ast::ExprKind::List(items) => {
                for i in items {
                    self.expr(i);
                }
            }
            ast::ExprKind::Paren(inner) => self.expr(inner),
        }
    }
}
