//! Moving a syntax tree's spans: the per-item queries check an item with
//! spans relative to its start, so an edit above it leaves its result equal.

use super::ast::*;

/// Subtracts `by` from every span of `item` (which must start at or after `by`).
pub fn relative(item: &Item, by: u32) -> Item {
    let mut item = item.clone();
    Shift { by, back: true }.item(&mut item);
    item
}

/// Adds `by` to every span of `item`.
pub fn moved(item: &Item, by: u32) -> Item {
    let mut item = item.clone();
    Shift { by, back: false }.item(&mut item);
    item
}

/// Adds or (`back`) subtracts `by`.
struct Shift {
    by: u32,
    back: bool,
}

impl Shift {
    fn span(&mut self, s: &mut Span) {
        if self.back {
            s.start = s.start.saturating_sub(self.by);
            s.end = s.end.saturating_sub(self.by);
        } else {
            s.start = s.start.saturating_add(self.by);
            s.end = s.end.saturating_add(self.by);
        }
    }
    fn ident(&mut self, i: &mut Ident) {
        self.span(&mut i.span);
    }
    fn str_lit(&mut self, s: &mut StrLit) {
        self.span(&mut s.span);
    }
    fn ty(&mut self, t: &mut TypeRef) {
        match t {
            TypeRef::Named(i) => self.ident(i),
            TypeRef::List(inner, s) | TypeRef::Optional(inner, s) => {
                self.ty(inner);
                self.span(s);
            }
        }
    }
    fn params(&mut self, ps: &mut [Param]) {
        for p in ps {
            self.ident(&mut p.name);
            self.ty(&mut p.ty);
        }
    }
    fn item(&mut self, item: &mut Item) {
        match item {
            Item::Enum(e) => {
                self.ident(&mut e.name);
                for v in &mut e.variants {
                    self.ident(&mut v.name);
                    if let Some(w) = &mut v.wire {
                        self.str_lit(w);
                    }
                }
                self.span(&mut e.span);
            }
            Item::Record(r) => {
                self.ident(&mut r.name);
                if let Some(w) = &mut r.wire_type {
                    self.str_lit(w);
                }
                for f in &mut r.fields {
                    self.ident(&mut f.name);
                    self.ty(&mut f.ty);
                    if let Some(w) = &mut f.wire {
                        self.str_lit(w);
                    }
                }
                self.span(&mut r.span);
            }
            Item::Destination(d) => {
                self.ident(&mut d.name);
                if let Some(i) = &mut d.index {
                    self.ty(i);
                }
                self.ty(&mut d.ty);
                self.span(&mut d.span);
            }
            Item::Table(t) => {
                self.ident(&mut t.name);
                self.ty(&mut t.ty);
                for k in &mut t.keys {
                    self.ident(k);
                }
                if let Some(e) = &mut t.effective {
                    self.ident(&mut e.from);
                    if let Some(to) = &mut e.to {
                        self.ident(to);
                    }
                }
                self.span(&mut t.span);
            }
            Item::Fn(f) => {
                self.ident(&mut f.name);
                self.params(&mut f.params);
                self.ty(&mut f.ret);
                for l in &mut f.lets {
                    self.let_stmt(l);
                }
                self.expr(&mut f.body);
                self.span(&mut f.span);
            }
            Item::Decision(d) => {
                self.ident(&mut d.name);
                self.params(&mut d.params);
                self.ty(&mut d.ret);
                self.ident(&mut d.hit);
                if let Some(e) = &mut d.default {
                    self.expr(e);
                }
                for i in d.inputs.iter_mut().chain(d.outputs.iter_mut()) {
                    self.ident(i);
                }
                self.span(&mut d.header_span);
                for r in &mut d.rows {
                    for c in &mut r.inputs {
                        self.cell(c);
                    }
                    for e in &mut r.outputs {
                        self.expr(e);
                    }
                    self.span(&mut r.span);
                }
                self.span(&mut d.span);
            }
            Item::Handler(h) => {
                self.ident(&mut h.event);
                self.ident(&mut h.binding);
                self.block(&mut h.body);
                self.span(&mut h.span);
            }
            Item::Test(t) => {
                self.str_lit(&mut t.name);
                for s in &mut t.stmts {
                    self.test_stmt(s);
                }
                self.span(&mut t.span);
            }
            Item::State(d) => {
                self.ident(&mut d.name);
                self.ty(&mut d.ty);
                for k in &mut d.keys {
                    self.ident(k);
                }
                self.span(&mut d.span);
            }
            Item::Calendar(d) => {
                self.ident(&mut d.name);
                for (k, vs) in &mut d.entries {
                    self.ident(k);
                    for v in vs {
                        self.ident(v);
                    }
                }
                self.span(&mut d.span);
            }
            Item::Metric(m) => {
                self.ident(&mut m.name);
                self.ident(&mut m.aggregate);
                self.ident(&mut m.state);
                self.ident(&mut m.param);
                self.expr(&mut m.body);
                if let Some(f) = &mut m.filter {
                    self.expr(f);
                }
                for b in &mut m.by {
                    self.ident(b);
                }
                if let Some(a) = &mut m.age {
                    self.ident(&mut a.field);
                    self.span(&mut a.amount_span);
                    self.ident(&mut a.unit);
                    self.span(&mut a.span);
                }
                self.span(&mut m.span);
            }
        }
    }
    fn cell(&mut self, c: &mut Cell) {
        match &mut c.kind {
            CellKind::Any => {}
            CellKind::Values { values, .. } => {
                for v in values {
                    self.lit(v);
                }
            }
            CellKind::Cmp(_, l) => self.lit(l),
            CellKind::Range { lo, hi, .. } => {
                self.lit(lo);
                self.lit(hi);
            }
            CellKind::AnyOf(items) => {
                for i in items {
                    self.cell(i);
                }
            }
        }
        self.span(&mut c.span);
    }
    fn lit(&mut self, l: &mut Lit) {
        self.lit_kind(&mut l.kind);
        self.span(&mut l.span);
    }
    fn lit_kind(&mut self, k: &mut LitKind) {
        match k {
            LitKind::Name(i) => self.ident(i),
            LitKind::Qualified(a, b) => {
                self.ident(a);
                self.ident(b);
            }
            LitKind::Int(_)
            | LitKind::Decimal(_)
            | LitKind::Money(..)
            | LitKind::Text(_)
            | LitKind::Bool(_)
            | LitKind::None
            | LitKind::Temporal(_) => {}
        }
    }
    fn pattern(&mut self, p: &mut Pattern) {
        match p {
            Pattern::Wildcard(s) => self.span(s),
            Pattern::Lit(l) => self.lit(l),
        }
    }
    fn block(&mut self, b: &mut Block) {
        for s in &mut b.stmts {
            self.stmt(s);
        }
        self.span(&mut b.span);
    }
    fn let_stmt(&mut self, l: &mut LetStmt) {
        self.ident(&mut l.name);
        self.expr(&mut l.value);
        self.span(&mut l.span);
    }
    fn rejection(&mut self, r: &mut Rejection) {
        self.ident(&mut r.code);
        if let Some(m) = &mut r.message {
            self.expr(m);
        }
    }
    fn stmt(&mut self, s: &mut Stmt) {
        match &mut s.kind {
            StmtKind::Let(l) => self.let_stmt(l),
            StmtKind::Check { cond, reject } | StmtKind::Require { cond, reject } => {
                self.expr(cond);
                self.rejection(reject);
            }
            StmtKind::Reject(r) => self.rejection(r),
            StmtKind::Emit { dest, index, value } => {
                self.ident(dest);
                if let Some(i) = index {
                    self.expr(i);
                }
                self.expr(value);
            }
            StmtKind::If { branches, otherwise } => {
                for (c, b) in branches {
                    self.expr(c);
                    self.block(b);
                }
                if let Some(b) = otherwise {
                    self.block(b);
                }
            }
            StmtKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for a in arms {
                    for p in &mut a.patterns {
                        self.pattern(p);
                    }
                    self.block(&mut a.body);
                    self.span(&mut a.span);
                }
            }
            StmtKind::For { index, var, iter, body } => {
                if let Some(i) = index {
                    self.ident(i);
                }
                self.ident(var);
                self.expr(iter);
                self.block(body);
            }
            StmtKind::Put { state, value } => {
                self.ident(state);
                self.expr(value);
            }
            StmtKind::Update { state, keys, fields } => {
                self.ident(state);
                for k in keys {
                    self.expr(k);
                }
                for f in fields {
                    self.ident(&mut f.name);
                    self.expr(&mut f.value);
                }
            }
            StmtKind::Delete { state, keys } => {
                self.ident(state);
                for k in keys {
                    self.expr(k);
                }
            }
        }
        self.span(&mut s.span);
    }
    fn expected_emit(&mut self, e: &mut ExpectedEmit) {
        self.ident(&mut e.dest);
        if let Some(m) = &mut e.member {
            self.ident(m);
        }
        self.expr(&mut e.record);
        self.span(&mut e.span);
    }
    fn test_stmt(&mut self, s: &mut TestStmt) {
        match &mut s.kind {
            TestStmtKind::Given(e) | TestStmtKind::Assert(e) => self.expr(e),
            TestStmtKind::GivenFile(p) => self.str_lit(p),
            TestStmtKind::With { table, rows } => {
                self.ident(table);
                for r in rows {
                    self.expr(r);
                }
            }
            TestStmtKind::ExpectStatus(i) => self.ident(i),
            TestStmtKind::ExpectReject(r) => {
                self.ident(&mut r.code);
                if let Some((_, m)) = &mut r.message {
                    self.str_lit(m);
                }
                if let Some((_, sp)) = &mut r.times {
                    self.span(sp);
                }
            }
            TestStmtKind::ExpectEmit(e) => self.expected_emit(e),
            TestStmtKind::ExpectExactly(es) => {
                for e in es {
                    self.expected_emit(e);
                }
            }
            TestStmtKind::ExpectNoEmit { dest, member } => {
                self.ident(dest);
                if let Some(m) = member {
                    self.ident(m);
                }
            }
            TestStmtKind::ExpectState { state, keys, record } => {
                self.ident(state);
                for k in keys {
                    self.expr(k);
                }
                if let Some(r) = record {
                    self.expr(r);
                }
            }
            TestStmtKind::Let(l) => self.let_stmt(l),
        }
        self.span(&mut s.span);
    }
    fn expr(&mut self, e: &mut Expr) {
        match &mut e.kind {
            ExprKind::Lit(k) => self.lit_kind(k),
            ExprKind::Text(parts) => {
                for p in parts {
                    if let StrPart::Expr(x) = p {
                        self.expr(x);
                    }
                }
            }
            ExprKind::Name(i) => self.ident(i),
            ExprKind::Field { base, name, .. } => {
                self.expr(base);
                self.ident(name);
            }
            ExprKind::Call { callee, args } => {
                self.ident(callee);
                for a in args {
                    match a {
                        Arg::Expr(x) => self.expr(x),
                        Arg::Lambda { param, body, span } => {
                            self.ident(param);
                            self.expr(body);
                            self.span(span);
                        }
                    }
                }
            }
            ExprKind::BadCall { callee } => self.expr(callee),
            ExprKind::Index { base, keys, as_of } => {
                self.expr(base);
                for k in keys {
                    self.expr(k);
                }
                if let Some(d) = as_of {
                    self.expr(d);
                }
            }
            ExprKind::Unary { expr, .. } | ExprKind::Paren(expr) => self.expr(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::If { cond, then, otherwise } => {
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for a in arms {
                    for p in &mut a.patterns {
                        self.pattern(p);
                    }
                    self.expr(&mut a.body);
                    self.span(&mut a.span);
                }
            }
            ExprKind::Record { name, fields, rest } => {
                self.ident(name);
                for f in fields {
                    self.ident(&mut f.name);
                    self.expr(&mut f.value);
                }
                if let Some(r) = rest {
                    self.span(r);
                }
            }
            ExprKind::List(xs) => {
                for x in xs {
                    self.expr(x);
                }
            }
        }
        self.span(&mut e.span);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use crate::diagnostics::FileId;

    #[test]
    fn an_item_moved_down_has_the_same_relative_tree() {
        let body = "on Paid as p {\n  check p.amount > 0\n    else reject BAD \"x {p.amount}\"\n}\n";
        let a = super::super::parse(body, FileId(0));
        let moved = format!("record X {{ a: Int }}\n\n{body}");
        let b = super::super::parse(&moved, FileId(0));
        let ia = a.file.items.first().unwrap();
        let ib = b.file.items.last().unwrap();
        assert_ne!(ia, ib);
        assert_eq!(super::relative(ia, ia.span().start), super::relative(ib, ib.span().start));
    }
}
