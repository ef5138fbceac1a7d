//! Putting a checked body in place: a body is checked with spans relative to
//! its item, lines counted from the item's first line and [`FileId`] 0 (see
//! [`super::check_item`]); [`Place`] moves its diagnostics, types and IR to
//! where the item is.

use crate::diagnostics::{Data, Diagnostic, FileId};
use crate::ir::{Block, DeclSite, Expr, ExprKind, InterpPart, Loc, MetricDef, RejectInfo, Stmt, TestDef, TestStmt};
use crate::syntax::ast::Span;

/// Where an item is: its file, its first byte and the number of lines above it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    pub(super) file: FileId,
    pub(super) offset: u32,
    pub(super) lines: u32,
}

impl Place {
    pub(super) fn span(&self, s: Span) -> Span {
        Span { start: s.start + self.offset, end: s.end + self.offset }
    }

    pub(super) fn loc(&self, l: Loc) -> Loc {
        Loc { file: self.file, line: l.line + self.lines, col: l.col }
    }

    pub(super) fn diagnostic(&self, mut d: Diagnostic) -> Diagnostic {
        d.file = self.file;
        d.span = self.span(d.span);
        for l in &mut d.labels {
            l.file = self.file;
            l.span = self.span(l.span);
        }
        if let Some(Data::Replace { span, .. }) = &mut d.data {
            *span = self.span(*span);
        }
        d
    }

    pub(super) fn expr(&self, mut e: Expr) -> Expr {
        self.expr_mut(&mut e);
        e
    }

    pub(super) fn block(&self, mut b: Block) -> Block {
        self.block_mut(&mut b);
        b
    }

    pub(super) fn metric(&self, mut m: MetricDef, site: Option<DeclSite>) -> MetricDef {
        m.loc = self.loc(m.loc);
        m.site = site;
        self.expr_mut(&mut m.value);
        if let Some(f) = &mut m.filter {
            self.expr_mut(f);
        }
        m
    }

    pub(super) fn test(&self, mut t: TestDef) -> TestDef {
        t.loc = self.loc(t.loc);
        for s in &mut t.stmts {
            match s {
                TestStmt::Let { value: e, .. } | TestStmt::Given { data: e, .. } => self.expr_mut(e),
                TestStmt::Assert { cond, loc, .. } => {
                    self.expr_mut(cond);
                    *loc = self.loc(*loc);
                }
                TestStmt::GivenFile { loc, .. }
                | TestStmt::ExpectStatus { loc, .. }
                | TestStmt::ExpectReject { loc, .. }
                | TestStmt::ExpectNoEmit { loc, .. } => *loc = self.loc(*loc),
                TestStmt::With { rows, .. } | TestStmt::WithState { rows, .. } => {
                    rows.iter_mut().for_each(|r| self.expr_mut(r))
                }
                TestStmt::ExpectState { keys, record, loc, .. } => {
                    keys.iter_mut().for_each(|k| self.expr_mut(k));
                    if let Some((_, fields)) = record {
                        fields.iter_mut().flatten().for_each(|f| self.expr_mut(f));
                    }
                    *loc = self.loc(*loc);
                }
                TestStmt::ExpectEmit { fields, loc, .. } => {
                    fields.iter_mut().flatten().for_each(|f| self.expr_mut(f));
                    *loc = self.loc(*loc);
                }
                TestStmt::ExpectExactly { emits, loc } => {
                    emits.iter_mut().flat_map(|e| e.fields.iter_mut().flatten()).for_each(|f| self.expr_mut(f));
                    *loc = self.loc(*loc);
                }
            }
        }
        t
    }

    fn block_mut(&self, b: &mut Block) {
        if b.loc.line > 0 {
            b.loc = self.loc(b.loc);
        }
        for s in &mut b.stmts {
            match s {
                Stmt::Let { value, .. } => self.expr_mut(value),
                Stmt::Check { cond, reject } | Stmt::Require { cond, reject } => {
                    self.expr_mut(cond);
                    self.reject_mut(reject);
                }
                Stmt::Reject(r) => self.reject_mut(r),
                Stmt::Emit { value, .. } => self.expr_mut(value),
                Stmt::If { branches, otherwise } => {
                    for (c, b) in branches {
                        self.expr_mut(c);
                        self.block_mut(b);
                    }
                    if let Some(b) = otherwise {
                        self.block_mut(b);
                    }
                }
                Stmt::Match { scrutinee, arms } => {
                    self.expr_mut(scrutinee);
                    arms.iter_mut().for_each(|(_, b)| self.block_mut(b));
                }
                Stmt::For { list, body, .. } => {
                    self.expr_mut(list);
                    self.block_mut(body);
                }
                Stmt::Put { value, loc, .. } => {
                    self.expr_mut(value);
                    *loc = self.loc(*loc);
                }
                Stmt::Update { keys, fields, loc, .. } => {
                    keys.iter_mut().for_each(|k| self.expr_mut(k));
                    fields.iter_mut().for_each(|(_, f)| self.expr_mut(f));
                    *loc = self.loc(*loc);
                }
                Stmt::Delete { keys, loc, .. } => {
                    keys.iter_mut().for_each(|k| self.expr_mut(k));
                    *loc = self.loc(*loc);
                }
            }
        }
    }

    fn reject_mut(&self, r: &mut RejectInfo) {
        if let Some(m) = &mut r.message {
            self.expr_mut(m);
        }
        r.loc = self.loc(r.loc);
    }

    fn expr_mut(&self, e: &mut Expr) {
        e.loc = self.loc(e.loc);
        match &mut e.kind {
            ExprKind::Field { base: x, .. }
            | ExprKind::OptField { base: x, .. }
            | ExprKind::Unary { expr: x, .. }
            | ExprKind::IntToDecimal(x) => self.expr_mut(x),
            ExprKind::Call { args: xs, .. }
            | ExprKind::Decide { args: xs, .. }
            | ExprKind::Builtin { args: xs, .. }
            | ExprKind::Lookup { keys: xs, .. }
            | ExprKind::Calendar { args: xs, .. }
            | ExprKind::StateGet { keys: xs, .. }
            | ExprKind::Record { fields: xs, .. }
            | ExprKind::List(xs) => xs.iter_mut().for_each(|x| self.expr_mut(x)),
            ExprKind::LookupAsOf { keys, at, .. } => {
                keys.iter_mut().for_each(|x| self.expr_mut(x));
                self.expr_mut(at);
            }
            ExprKind::Aggregate { list: a, body: b, .. }
            | ExprKind::Binary { lhs: a, rhs: b, .. }
            | ExprKind::Coalesce { lhs: a, rhs: b }
            | ExprKind::In { value: a, list: b, .. }
            | ExprKind::Index { list: a, index: b } => {
                self.expr_mut(a);
                self.expr_mut(b);
            }
            ExprKind::If { cond, then, otherwise } => {
                self.expr_mut(cond);
                self.expr_mut(then);
                self.expr_mut(otherwise);
            }
            ExprKind::Match { scrutinee, arms } => {
                self.expr_mut(scrutinee);
                arms.iter_mut().for_each(|(_, x)| self.expr_mut(x));
            }
            ExprKind::Interp(parts) => {
                for p in parts {
                    if let InterpPart::Expr(x) = p {
                        self.expr_mut(x);
                    }
                }
            }
            ExprKind::Const(_) | ExprKind::Local(_) | ExprKind::Meta | ExprKind::Error => {}
        }
    }
}
