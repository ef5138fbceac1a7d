//! Inlay hints: the type of every `let` after its name, and the result of
//! every decision call after the call.

use std::collections::{HashMap, HashSet};

use canon_compiler::ir;
use canon_compiler::syntax::ast::{self, Span};
use canon_compiler::types::Ty;

use crate::analysis::{TyNames, Workspace};

impl Workspace {
    /// The inlay hints of a file at offsets `from..=to`, in order: where
    /// each goes and its label (`: Type`). A `let` gets its type after its
    /// name; a call of a decision its result after the `)`, unless it is the
    /// whole value of a `let` that shows the same type.
    pub fn inlay_hints(&self, key: &str, from: u32, to: u32) -> Vec<(u32, String)> {
        let (Some(c), Some(fid), Some(file)) = (self.checked(), self.file_id(key), self.ast(key))
        else {
            return Vec::new();
        };
        let pkg = &c.package;
        let names = TyNames::new(pkg);
        let types: HashMap<(u32, u32), &Ty> = pkg
            .types
            .iter()
            .filter(|(f, _, _)| *f == fid)
            .map(|(_, s, t)| ((s.start, s.end), t))
            .collect();
        let mut out = Vec::new();
        // The values of the `let`s that show their type.
        let mut shown = HashSet::new();
        let mut lets = Vec::new();
        collect_lets(file, &mut lets);
        for (name, value) in lets {
            if let Some(t) = types.get(&(name.start, name.end)).filter(|t| !t.is_error()) {
                shown.insert(unparen(value).span);
                out.push((name.end, format!(": {}", names.show(t))));
            }
        }
        let mut calls = Vec::new();
        for item in &file.items {
            item_exprs(item, &mut |e| {
                if let ast::ExprKind::Call { callee, .. } = &e.kind {
                    calls.push((callee.text.as_str(), e.span));
                }
            });
        }
        for (name, span) in calls {
            if shown.contains(&span) {
                continue;
            }
            if let Some(t) = decision_result(pkg, name) {
                out.push((span.end, format!(": {}", names.show(&t))));
            }
        }
        out.retain(|(at, _)| from <= *at && *at <= to);
        out.sort_by_key(|(at, _)| *at);
        out
    }
}

/// The type a call of the decision `name` has (`List<Out>` under `hit
/// collect`), as the checker gives it; `None` when `name` is not a
/// decision. Top-level names are unique, so a decision's name is not also a
/// function's; built-ins cannot be declared.
fn decision_result(pkg: &ir::Package, name: &str) -> Option<Ty> {
    let d = pkg.decisions.iter().find(|d| d.name == name)?;
    let ty = if d.hit == ir::Hit::Collect {
        Ty::list(d.ret.strip().clone())
    } else {
        d.ret.clone()
    };
    (!ty.is_error()).then_some(ty)
}

fn unparen(e: &ast::Expr) -> &ast::Expr {
    match &e.kind {
        ast::ExprKind::Paren(inner) => unparen(inner),
        _ => e,
    }
}

/// The name span and value of every `let` of a file.
fn collect_lets<'a>(file: &'a ast::File, out: &mut Vec<(Span, &'a ast::Expr)>) {
    fn block<'a>(b: &'a ast::Block, out: &mut Vec<(Span, &'a ast::Expr)>) {
        for s in &b.stmts {
            match &s.kind {
                ast::StmtKind::Let(l) => out.push((l.name.span, &l.value)),
                ast::StmtKind::If {
                    branches,
                    otherwise,
                } => {
                    for (_, b) in branches {
                        block(b, out);
                    }
                    if let Some(b) = otherwise {
                        block(b, out);
                    }
                }
                ast::StmtKind::Match { arms, .. } => {
                    for a in arms {
                        block(&a.body, out);
                    }
                }
                ast::StmtKind::For { body, .. } => block(body, out),
                _ => {}
            }
        }
    }
    for item in &file.items {
        match item {
            ast::Item::Fn(f) => out.extend(f.lets.iter().map(|l| (l.name.span, &l.value))),
            ast::Item::Handler(h) => block(&h.body, out),
            ast::Item::Test(t) => {
                for s in &t.stmts {
                    if let ast::TestStmtKind::Let(l) = &s.kind {
                        out.push((l.name.span, &l.value));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Calls `f` on every expression of an item, outer ones first.
fn item_exprs<'a>(item: &'a ast::Item, f: &mut dyn FnMut(&'a ast::Expr)) {
    match item {
        ast::Item::Fn(d) => {
            for l in &d.lets {
                expr(&l.value, f);
            }
            expr(&d.body, f);
        }
        ast::Item::Decision(d) => {
            for row in &d.rows {
                for o in &row.outputs {
                    expr(o, f);
                }
            }
        }
        ast::Item::Handler(h) => block(&h.body, f),
        ast::Item::Test(t) => {
            for s in &t.stmts {
                match &s.kind {
                    ast::TestStmtKind::Given(e) | ast::TestStmtKind::Assert(e) => expr(e, f),
                    ast::TestStmtKind::With { rows, .. } => {
                        for r in rows {
                            expr(r, f);
                        }
                    }
                    ast::TestStmtKind::ExpectEmit { record, .. } => expr(record, f),
                    ast::TestStmtKind::Let(l) => expr(&l.value, f),
                    ast::TestStmtKind::GivenFile(_)
                    | ast::TestStmtKind::ExpectStatus(_)
                    | ast::TestStmtKind::ExpectReject(_)
                    | ast::TestStmtKind::ExpectNoEmit { .. } => {}
                }
            }
        }
        ast::Item::Enum(_)
        | ast::Item::Record(_)
        | ast::Item::Destination(_)
        | ast::Item::Table(_) => {}
    }
}

fn block<'a>(b: &'a ast::Block, f: &mut dyn FnMut(&'a ast::Expr)) {
    for s in &b.stmts {
        match &s.kind {
            ast::StmtKind::Let(l) => expr(&l.value, f),
            ast::StmtKind::Check { cond, reject } | ast::StmtKind::Require { cond, reject } => {
                expr(cond, f);
                rejection(reject, f);
            }
            ast::StmtKind::Reject(r) => rejection(r, f),
            ast::StmtKind::Emit { value, .. } => expr(value, f),
            ast::StmtKind::If {
                branches,
                otherwise,
            } => {
                for (c, b) in branches {
                    expr(c, f);
                    block(b, f);
                }
                if let Some(b) = otherwise {
                    block(b, f);
                }
            }
            ast::StmtKind::Match { scrutinee, arms } => {
                expr(scrutinee, f);
                for a in arms {
                    block(&a.body, f);
                }
            }
            ast::StmtKind::For { iter, body, .. } => {
                expr(iter, f);
                block(body, f);
            }
        }
    }
}

fn rejection<'a>(r: &'a ast::Rejection, f: &mut dyn FnMut(&'a ast::Expr)) {
    if let Some(m) = &r.message {
        expr(m, f);
    }
}

fn expr<'a>(e: &'a ast::Expr, f: &mut dyn FnMut(&'a ast::Expr)) {
    f(e);
    match &e.kind {
        ast::ExprKind::Lit(_) | ast::ExprKind::Name(_) => {}
        ast::ExprKind::Text(parts) => {
            for p in parts {
                if let ast::StrPart::Expr(x) = p {
                    expr(x, f);
                }
            }
        }
        ast::ExprKind::Field { base, .. } => expr(base, f),
        ast::ExprKind::Call { args, .. } => {
            for a in args {
                match a {
                    ast::Arg::Expr(x) => expr(x, f),
                    ast::Arg::Lambda { body, .. } => expr(body, f),
                }
            }
        }
        ast::ExprKind::BadCall { callee } => expr(callee, f),
        ast::ExprKind::Index { base, keys } => {
            expr(base, f);
            for k in keys {
                expr(k, f);
            }
        }
        ast::ExprKind::Unary { expr: x, .. } | ast::ExprKind::Paren(x) => expr(x, f),
        ast::ExprKind::Binary { lhs, rhs, .. } => {
            expr(lhs, f);
            expr(rhs, f);
        }
        ast::ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            expr(cond, f);
            expr(then, f);
            expr(otherwise, f);
        }
        ast::ExprKind::Match { scrutinee, arms } => {
            expr(scrutinee, f);
            for a in arms {
                expr(&a.body, f);
            }
        }
        ast::ExprKind::Record { fields, .. } => {
            for x in fields {
                expr(&x.value, f);
            }
        }
        ast::ExprKind::List(items) => {
            for x in items {
                expr(x, f);
            }
        }
    }
}
