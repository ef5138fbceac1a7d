//! Inlay hints: the type of every `let` after its name, and the result of
//! every decision call after the call.

use std::collections::HashSet;

use canon_compiler::ir;
use canon_compiler::syntax::ast::{self, Span};
use canon_compiler::types::Ty;

use crate::analysis::{types_of, TyNames, Workspace};
use crate::walk::{item_exprs, walk_block};

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
        let types = types_of(pkg, fid);
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
    for item in &file.items {
        match item {
            ast::Item::Fn(f) => out.extend(f.lets.iter().map(|l| (l.name.span, &l.value))),
            ast::Item::Handler(h) => walk_block(
                &h.body,
                &mut |s| {
                    if let ast::StmtKind::Let(l) = &s.kind {
                        out.push((l.name.span, &l.value));
                    }
                },
                &mut |_| {},
            ),
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
