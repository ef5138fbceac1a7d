//! Walks over a file's syntax tree: the statements and expressions of an
//! item, each where it stands in the text, outer ones first.

use canon_compiler::syntax::ast;

/// Calls `f` on every expression of an item, outer ones first.
pub(crate) fn item_exprs<'a>(item: &'a ast::Item, f: &mut dyn FnMut(&'a ast::Expr)) {
    walk_item(item, &mut |_| {}, f);
}

/// Calls `stmt` on every statement of an item (a handler's, nested ones
/// included) and `f` on every expression, outer ones first, each where it
/// stands in the text.
pub(crate) fn walk_item<'a>(
    item: &'a ast::Item,
    stmt: &mut dyn FnMut(&'a ast::Stmt),
    f: &mut dyn FnMut(&'a ast::Expr),
) {
    match item {
        ast::Item::Fn(d) => {
            for l in &d.lets {
                expr(&l.value, f);
            }
            expr(&d.body, f);
        }
        ast::Item::Decision(d) => {
            if let Some(e) = &d.default {
                expr(e, f);
            }
            for row in &d.rows {
                for o in &row.outputs {
                    expr(o, f);
                }
            }
        }
        ast::Item::Handler(h) => walk_block(&h.body, stmt, &mut |e| expr(e, f)),
        ast::Item::Test(t) => {
            for s in &t.stmts {
                match &s.kind {
                    ast::TestStmtKind::Given(e) | ast::TestStmtKind::Assert(e) => expr(e, f),
                    ast::TestStmtKind::With { rows, .. } => {
                        for r in rows {
                            expr(r, f);
                        }
                    }
                    ast::TestStmtKind::ExpectEmit(e) => expr(&e.record, f),
                    ast::TestStmtKind::ExpectExactly(es) => {
                        for e in es {
                            expr(&e.record, f);
                        }
                    }
                    ast::TestStmtKind::ExpectState { keys, record, .. } => {
                        for k in keys {
                            expr(k, f);
                        }
                        if let Some(r) = record {
                            expr(r, f);
                        }
                    }
                    ast::TestStmtKind::Let(l) => expr(&l.value, f),
                    ast::TestStmtKind::GivenFile(_)
                    | ast::TestStmtKind::ExpectStatus(_)
                    | ast::TestStmtKind::ExpectReject(_)
                    | ast::TestStmtKind::ExpectNoEmit { .. } => {}
                }
            }
        }
        ast::Item::Metric(m) => {
            expr(&m.body, f);
            if let Some(c) = &m.filter {
                expr(c, f);
            }
        }
        ast::Item::Enum(_)
        | ast::Item::Record(_)
        | ast::Item::Destination(_)
        | ast::Item::Table(_)
        | ast::Item::Calendar(_)
        | ast::Item::State(_) => {}
    }
}

/// Walks the statements of a block in order, nested blocks included: calls
/// `stmt` on each statement, then `top` on each expression it holds itself
/// (a condition, a value, a rejection's message) and walks its blocks,
/// each where it stands in the text.
pub(crate) fn walk_block<'a>(
    b: &'a ast::Block,
    stmt: &mut dyn FnMut(&'a ast::Stmt),
    top: &mut dyn FnMut(&'a ast::Expr),
) {
    for s in &b.stmts {
        stmt(s);
        match &s.kind {
            ast::StmtKind::Let(l) => top(&l.value),
            ast::StmtKind::Check { cond, reject } | ast::StmtKind::Require { cond, reject } => {
                top(cond);
                if let Some(m) = &reject.message {
                    top(m);
                }
            }
            ast::StmtKind::Reject(r) => {
                if let Some(m) = &r.message {
                    top(m);
                }
            }
            ast::StmtKind::Emit { index, value, .. } => {
                if let Some(i) = index {
                    top(i);
                }
                top(value)
            }
            ast::StmtKind::If { branches, otherwise } => {
                for (c, b) in branches {
                    top(c);
                    walk_block(b, stmt, top);
                }
                if let Some(b) = otherwise {
                    walk_block(b, stmt, top);
                }
            }
            ast::StmtKind::Match { scrutinee, arms } => {
                top(scrutinee);
                for a in arms {
                    walk_block(&a.body, stmt, top);
                }
            }
            ast::StmtKind::For { iter, body, .. } => {
                top(iter);
                walk_block(body, stmt, top);
            }
            ast::StmtKind::Put { value, .. } => top(value),
            ast::StmtKind::Update { keys, fields, .. } => {
                for k in keys {
                    top(k);
                }
                for fi in fields {
                    top(&fi.value);
                }
            }
            ast::StmtKind::Delete { keys, .. } => {
                for k in keys {
                    top(k);
                }
            }
        }
    }
}

/// Calls `f` on an expression and on every expression within it, outer
/// ones first.
fn expr<'a>(e: &'a ast::Expr, f: &mut dyn FnMut(&'a ast::Expr)) {
    f(e);
    e.for_each_child(&mut |x| expr(x, f));
}

/// Where the contextual keywords of a file stand (LANGUAGE.md §2): the start
/// of each `state`, `metric`, `where`, `by`, `age`, `put`, `update`,
/// `delete`, `no` and `file` that is a keyword where it is (they lex as
/// names, and are names everywhere else).
pub(crate) fn contextual_keywords(file: &ast::File, text: &str) -> Vec<u32> {
    use canon_compiler::syntax::lexer::lex;
    let tokens: Vec<(usize, usize)> =
        lex(text).into_iter().filter(|l| !l.token.is_some_and(|t| t.is_comment())).map(|l| (l.start, l.end)).collect();
    let word = |i: usize| tokens.get(i).and_then(|(s, e)| text.get(*s..*e)).unwrap_or("");
    // The index of the first token at or after `pos`.
    let at = |pos: u32| tokens.partition_point(|(s, _)| *s < pos as usize);
    let mut out = Vec::new();
    let mut mark = |i: usize, w: &str| {
        if word(i) == w {
            if let Some((s, _)) = tokens.get(i) {
                out.push(*s as u32);
            }
        }
    };
    for item in &file.items {
        // `as of` in a lookup of an effective-dated table (LANGUAGE.md §5.1).
        let mut dated = Vec::new();
        walk_item(item, &mut |_| {}, &mut |e| {
            if let ast::ExprKind::Index { as_of: Some(d), .. } = &e.kind {
                dated.push(d.span.start);
            }
        });
        for s in dated {
            if let Some(i) = at(s).checked_sub(1) {
                mark(i, "of");
            }
        }
        match item {
            ast::Item::Table(t) => {
                if let Some(e) = &t.effective {
                    if let Some(i) = at(e.from.span.start).checked_sub(1) {
                        mark(i, "effective");
                    }
                    if let Some(i) = e.to.as_ref().and_then(|to| at(to.span.start).checked_sub(1)) {
                        mark(i, "to");
                    }
                }
            }
            ast::Item::State(d) => mark(at(d.span.start), "state"),
            ast::Item::Calendar(d) => mark(at(d.span.start), "calendar"),
            ast::Item::Metric(m) => {
                mark(at(m.span.start), "metric");
                if let Some(f) = &m.filter {
                    if let Some(i) = at(f.span.start).checked_sub(1) {
                        mark(i, "where");
                    }
                }
                if let Some(i) = m.by.first().and_then(|b| at(b.span.start).checked_sub(1)) {
                    mark(i, "by");
                }
                if let Some(a) = &m.age {
                    mark(at(a.span.start), "age");
                }
            }
            ast::Item::Handler(h) => {
                let mut starts = Vec::new();
                walk_block(
                    &h.body,
                    &mut |s| {
                        if matches!(
                            s.kind,
                            ast::StmtKind::Put { .. } | ast::StmtKind::Update { .. } | ast::StmtKind::Delete { .. }
                        ) {
                            starts.push(s.span.start);
                        }
                    },
                    &mut |_| {},
                );
                for s in starts {
                    let i = at(s);
                    for w in ["put", "update", "delete"] {
                        mark(i, w);
                    }
                }
            }
            ast::Item::Test(t) => {
                for s in &t.stmts {
                    let i = at(s.span.start);
                    match &s.kind {
                        ast::TestStmtKind::ExpectState { record: Some(_), .. } => mark(i + 1, "state"),
                        ast::TestStmtKind::ExpectState { record: None, .. } => {
                            mark(i + 1, "no");
                            mark(i + 2, "state");
                        }
                        ast::TestStmtKind::ExpectNoEmit { .. } => mark(i + 1, "no"),
                        ast::TestStmtKind::ExpectExactly(_) => mark(i + 1, "exactly"),
                        ast::TestStmtKind::ExpectReject(r) => {
                            if let Some((_, sp)) = r.times {
                                mark(at(sp.start).saturating_sub(1), "times");
                            }
                        }
                        ast::TestStmtKind::GivenFile(_) => mark(i + 1, "file"),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out.sort_unstable();
    out
}
