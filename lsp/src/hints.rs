//! Inlay hints: the type of every `let` after its name, and the result of
//! every decision call after the call.

use std::collections::HashSet;

use canon_compiler::syntax::ast::{self, Span};

use crate::analysis::{types_of, TyNames, Workspace};
use crate::walk::{item_exprs, walk_block};

impl Workspace {
    /// The inlay hints of a file at offsets `from..=to`, in order: where
    /// each goes and its label (`: Type`). A `let` gets its type after its
    /// name; a call of a decision its result after the `)`, unless it is the
    /// whole value of a `let` that shows the same type.
    pub fn inlay_hints(&self, key: &str, from: u32, to: u32) -> Vec<(u32, String)> {
        let (Some(c), Some(fid), Some(file)) = (self.checked(), self.file_id(key), self.ast(key)) else {
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
            // The call's type as the checker gave it (`List<Out>` under `hit collect`).
            let is_decision = pkg.decisions.iter().any(|d| d.name == name);
            if let Some(t) = types.get(&(span.start, span.end)).filter(|t| is_decision && !t.is_error()) {
                out.push((span.end, format!(": {}", names.show(t))));
            }
        }
        out.retain(|(at, _)| from <= *at && *at <= to);
        out.sort_by_key(|(at, _)| *at);
        out
    }
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
