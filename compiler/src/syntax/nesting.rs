//! How deep a text can make the parser recurse, read before it is parsed,
//! and the stack it is parsed on.
//!
//! pest recurses once per rule, and the grammar's rules nest through a few
//! cycles (an expression in brackets, a block in braces, `not`, `??`,
//! `if … then … else`, `match`, `=>`, `List<…>`). pest's own guard probes the
//! stack pointer on every rule entry, a fifth of `canon check`'s
//! instructions, so the compiler builds pest without it (no `std` feature)
//! and bounds the recursion here instead (docs/performance.md, "canon check").
//!
//! [`scan`] reads the text once, as the grammar does: comments, strings with
//! their interpolations, temporals. Every cycle the parser goes through
//! consumes a token that opens it, and a rule still running at some position
//! consumed its opener before that position, so the rules on the stack there
//! are bounded by
//! - the brackets open there (each rule that consumed an opener and is still
//!   running holds one unclosed opener; the rules that have ended consumed as
//!   many closers as openers), and
//! - in each open bracket, the chain words (`not`, `??`, `if`, `then`, `else`,
//!   `match`, `=>`, `List`, `as`) since the bracket opened or since the last
//!   reserved word that starts a statement or an item (`let`, `check`,
//!   `emit`, …) or `|` (a decision cell, a pattern's alternative): no rule
//!   that chains expressions can be running where one is read.
//!
//! A position the parser cannot get past (an unterminated string, a stray
//! closer) ends the scan: nothing after it is parsed. [`on_stack`] runs the
//! parse where it is if the stack left is enough for that bound, and on a
//! stack of its own (`stacker`) otherwise, and refuses a text past
//! [`MAX_OPEN`] brackets or [`MAX_STACK`]. The syntax tree is then limited
//! to [`MAX_DEPTH`] levels ([`too_deep`]), so that what reads it afterwards
//! (the checker, the interpreter, the JIT, the formatter) recurses a
//! bounded depth.

/// Frames are several times larger in a debug build, and under the
/// fuzzers' AddressSanitizer (cargo-fuzz builds release code with
/// `--cfg fuzzing`).
const LARGE_FRAMES: bool = cfg!(any(debug_assertions, fuzzing));

/// Stack, in bytes, that one bracket costs the parser and the tree builder
/// at most: the ~12 rules from `expr` to `paren` and back, each a few pest
/// closures, and the builder's frames. The test
/// `the_bound_covers_the_deepest_texts` measures it (`CANON_NESTING_MEASURE=1`;
/// at 2,048 levels, before `MAX_OPEN` refused so many brackets): at most
/// 3.5 KiB a level in a release build (a call or a lambda), 17.8 KiB in a
/// debug one; these are more than twice that.
const BRACKET: usize = if LARGE_FRAMES { 48 * 1024 } else { 8 * 1024 };
/// Stack one chain word costs at most: `not not x` and `a ?? b ?? c` cost
/// 2.2 KiB a level (release; 12.9 KiB in debug), `if … then … else` less per
/// word.
const CHAIN: usize = if LARGE_FRAMES { 32 * 1024 } else { 6 * 1024 };
/// What the parse needs beyond the cycles: the file, an item, a statement
/// (measured: under 80 KiB).
const BASE: usize = if LARGE_FRAMES { 512 * 1024 } else { 256 * 1024 };
/// The largest stack the parser is given. A text that needs more is not
/// parsed. Its brackets cannot get there (see [`MAX_OPEN`]); only chain
/// words can, some 40,000 of them (release) read in one bracket with no
/// statement between them.
pub const MAX_STACK: usize = 256 << 20;

/// The most brackets open at once in a text whose tree can be within
/// [`MAX_DEPTH`]: a level of the tree opens at most two (a string and its
/// interpolation; a `match` statement's braces and its arm's block), and
/// the brackets that are no level (an item's body, a test's, `with t [`,
/// `expect exactly {`) do not nest. Past it the text is reported as
/// nested too deeply before it is parsed: its tree would be too deep, or
/// it does not parse.
pub const MAX_OPEN: usize = 2 * MAX_DEPTH + 16;

/// How deep a syntax tree may nest: expressions in expressions, statements
/// in blocks (LANGUAGE.md §2, "Nesting").
pub const MAX_DEPTH: usize = 256;

/// What [`scan`] found: the stack the parse needs, and where that first
/// exceeded [`MAX_STACK`], if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub stack: usize,
    pub too_deep_at: Option<usize>,
}

#[derive(Clone, Copy)]
enum Level {
    /// `(`, `[`, `{`, or `{` in a string: the chain words read in it since it
    /// opened or since the last statement's start.
    Open { chain: usize, interp: bool },
    /// Inside a string literal.
    Str,
}

/// Words that start a statement or an item: where one is read, no rule that
/// chains expressions is running in the same bracket. (Only reserved
/// words: `put`, `update`, `state` … are names inside expressions.)
const RESETS: &[&[u8]] = &[
    b"let",
    b"check",
    b"require",
    b"reject",
    b"emit",
    b"for",
    b"given",
    b"assert",
    b"expect",
    b"with",
    b"fn",
    b"on",
    b"record",
    b"event",
    b"enum",
    b"table",
    b"decision",
    b"test",
    b"destination",
];
/// Words through which an expression or a type nests without a bracket.
const CHAINS: &[&[u8]] = &[b"not", b"if", b"then", b"else", b"match", b"List", b"as"];

/// Reads `text` as the grammar does and bounds the stack its parse needs.
pub fn scan(text: &str) -> Bound {
    let s = text.as_bytes();
    let mut levels: Vec<Level> = Vec::new();
    // The chain words outside any bracket.
    let mut top_chain = 0usize;
    let mut cost = BASE;
    let mut bound = Bound { stack: BASE, too_deep_at: None };
    let mut i = 0usize;
    while let Some(&b) = s.get(i) {
        if let Some(Level::Str) = levels.last() {
            match b {
                b'"' => {
                    levels.pop();
                    cost -= BRACKET;
                    i += 1;
                }
                b'\\' => i += 2,
                b'{' => {
                    if !open(&mut levels, Level::Open { chain: 0, interp: true }, &mut cost, &mut bound, i) {
                        break;
                    }
                    i += 1;
                }
                // The string cannot go on: the parse stops here.
                b'\n' | b'}' => break,
                _ => i += 1,
            }
            continue;
        }
        match b {
            b'/' if s.get(i + 1) == Some(&b'/') => {
                i = s.get(i..).and_then(|r| r.iter().position(|&c| c == b'\n')).map_or(s.len(), |n| i + n);
            }
            // The string rule, its part and the interpolation: one more bracket.
            b'"' => {
                if !open(&mut levels, Level::Str, &mut cost, &mut bound, i) {
                    break;
                }
                i += 1;
            }
            b'@' if s.get(i + 1) == Some(&b'"') => {
                match s.get(i + 2..).and_then(|r| r.iter().position(|&c| c == b'"')) {
                    Some(n) => i += 2 + n + 1,
                    None => break,
                }
            }
            b'(' | b'[' | b'{' => {
                if !open(&mut levels, Level::Open { chain: 0, interp: false }, &mut cost, &mut bound, i) {
                    break;
                }
                i += 1;
            }
            b')' | b']' | b'}' => {
                match levels.pop() {
                    // An interpolation ends only at `}`; the string goes on.
                    Some(Level::Open { chain, interp }) if b == b'}' || !interp => cost -= BRACKET + chain * CHAIN,
                    // A closer with nothing open: the parse stops here.
                    _ => break,
                }
                i += 1;
            }
            // A decision row's cell, or a pattern's alternative: no rule
            // that chains expressions spans one.
            b'|' => {
                reset(&mut levels, &mut top_chain, &mut cost);
                i += 1;
            }
            b'?' if s.get(i + 1) == Some(&b'?') => {
                chain_word(&mut levels, &mut top_chain, &mut cost);
                note(cost, i, &mut bound);
                i += 2;
            }
            b'=' if s.get(i + 1) == Some(&b'>') => {
                chain_word(&mut levels, &mut top_chain, &mut cost);
                note(cost, i, &mut bound);
                i += 2;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let end = s
                    .get(i..)
                    .and_then(|r| r.iter().position(|c| !(c.is_ascii_alphanumeric() || *c == b'_')))
                    .map_or(s.len(), |n| i + n);
                let word = s.get(i..end).unwrap_or(&[]);
                if CHAINS.contains(&word) {
                    chain_word(&mut levels, &mut top_chain, &mut cost);
                    note(cost, i, &mut bound);
                } else if RESETS.contains(&word) {
                    reset(&mut levels, &mut top_chain, &mut cost);
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    bound
}

/// Notes the stack needed at `at`, and where it first passed [`MAX_STACK`].
fn note(cost: usize, at: usize, bound: &mut Bound) {
    if cost > bound.stack {
        bound.stack = cost;
        if cost > MAX_STACK && bound.too_deep_at.is_none() {
            bound.too_deep_at = Some(at);
        }
    }
}

/// Opens a bracket or a string at `at`; false (and `too_deep_at` set) past
/// [`MAX_OPEN`].
fn open(levels: &mut Vec<Level>, level: Level, cost: &mut usize, bound: &mut Bound, at: usize) -> bool {
    levels.push(level);
    *cost += BRACKET;
    note(*cost, at, bound);
    if levels.len() > MAX_OPEN {
        bound.too_deep_at = Some(at);
        return false;
    }
    true
}

/// A word or a `|` after which no chain word read before in the same
/// bracket is still being parsed.
fn reset(levels: &mut [Level], top_chain: &mut usize, cost: &mut usize) {
    let chain = match levels.last_mut() {
        Some(Level::Open { chain, .. }) => chain,
        _ => top_chain,
    };
    *cost -= *chain * CHAIN;
    *chain = 0;
}

fn chain_word(levels: &mut [Level], top_chain: &mut usize, cost: &mut usize) {
    match levels.last_mut() {
        Some(Level::Open { chain, .. }) => *chain += 1,
        _ => *top_chain += 1,
    }
    *cost += CHAIN;
}

/// The text nests deeper than any stack the parser is given: where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    pub at: usize,
}

/// Runs `parse` (the parse of `text`) here if the stack left is enough for
/// what [`scan`] bounds, on a stack of its own if not, and not at all if the
/// bound exceeds [`MAX_STACK`].
pub fn on_stack<T>(text: &str, parse: impl FnOnce() -> T) -> Result<T, TooDeep> {
    let bound = scan(text);
    if let Some(at) = bound.too_deep_at {
        return Err(TooDeep { at });
    }
    match stacker::remaining_stack() {
        Some(left) if left >= bound.stack => Ok(parse()),
        _ => Ok(stacker::grow(bound.stack, parse)),
    }
}

use super::ast::{Arg, Block, Expr, ExprKind, Item, Span, StmtKind, StrPart, TestStmtKind, TypeRef};

enum Node<'a> {
    Expr(&'a Expr),
    Stmt(&'a super::ast::Stmt),
    Test(&'a super::ast::TestStmt),
    Ty(&'a TypeRef),
}

/// Where `item`'s tree nests deeper than [`MAX_DEPTH`] (each expression,
/// statement and type counts one level), if it does: the span of the first
/// node found below the limit. Read with a stack of its own, never by
/// recursion, so a tree of any depth is read.
pub fn too_deep(item: &Item) -> Option<Span> {
    let mut todo: Vec<(Node<'_>, usize)> = Vec::new();
    match item {
        Item::Enum(_) | Item::Calendar(_) => {}
        Item::Record(d) => todo.extend(d.fields.iter().map(|f| (Node::Ty(&f.ty), 1))),
        Item::Destination(d) => todo.extend(d.index.iter().chain([&d.ty]).map(|t| (Node::Ty(t), 1))),
        Item::Table(d) => todo.push((Node::Ty(&d.ty), 1)),
        Item::State(d) => todo.push((Node::Ty(&d.ty), 1)),
        Item::Fn(d) => {
            todo.extend(d.params.iter().map(|p| (Node::Ty(&p.ty), 1)));
            todo.push((Node::Ty(&d.ret), 1));
            todo.extend(d.lets.iter().map(|l| &l.value).chain([&d.body]).map(|e| (Node::Expr(e), 1)));
        }
        Item::Decision(d) => {
            todo.extend(d.params.iter().map(|p| (Node::Ty(&p.ty), 1)));
            todo.push((Node::Ty(&d.ret), 1));
            todo.extend(d.default.iter().map(|e| (Node::Expr(e), 1)));
            todo.extend(d.rows.iter().flat_map(|r| r.outputs.iter()).map(|e| (Node::Expr(e), 1)));
        }
        Item::Handler(h) => block(&mut todo, &h.body, 1),
        Item::Test(t) => todo.extend(t.stmts.iter().map(|s| (Node::Test(s), 1))),
        Item::Metric(m) => {
            todo.extend([&m.body].into_iter().chain(m.filter.as_ref()).map(|e| (Node::Expr(e), 1)));
        }
    }
    while let Some((node, depth)) = todo.pop() {
        if depth > MAX_DEPTH {
            return Some(match node {
                Node::Expr(e) => e.span,
                Node::Stmt(s) => s.span,
                Node::Test(s) => s.span,
                Node::Ty(t) => t.span(),
            });
        }
        let d = depth + 1;
        let push = |e| (Node::Expr(e), d);
        match node {
            Node::Ty(TypeRef::Named(_)) => {}
            Node::Ty(TypeRef::List(t, _) | TypeRef::Optional(t, _)) => todo.push((Node::Ty(t), d)),
            Node::Expr(e) => e.for_each_child(&mut |x| todo.push(push(x))),
            Node::Stmt(s) => match &s.kind {
                StmtKind::Let(l) => todo.push(push(&l.value)),
                StmtKind::Check { cond, reject } | StmtKind::Require { cond, reject } => {
                    todo.push(push(cond));
                    todo.extend(reject.message.iter().map(push));
                }
                StmtKind::Reject(r) => todo.extend(r.message.iter().map(push)),
                StmtKind::Emit { index, value, .. } => {
                    todo.extend(index.iter().map(push));
                    todo.push(push(value));
                }
                StmtKind::If { branches, otherwise } => {
                    for (c, b) in branches {
                        todo.push(push(c));
                        block(&mut todo, b, d);
                    }
                    if let Some(b) = otherwise {
                        block(&mut todo, b, d);
                    }
                }
                StmtKind::Match { scrutinee, arms } => {
                    todo.push(push(scrutinee));
                    for a in arms {
                        block(&mut todo, &a.body, d);
                    }
                }
                StmtKind::For { iter, body, .. } => {
                    todo.push(push(iter));
                    block(&mut todo, body, d);
                }
                StmtKind::Put { value, .. } => todo.push(push(value)),
                StmtKind::Update { keys, fields, .. } => {
                    todo.extend(keys.iter().map(push));
                    todo.extend(fields.iter().map(|f| push(&f.value)));
                }
                StmtKind::Delete { keys, .. } => todo.extend(keys.iter().map(push)),
            },
            Node::Test(t) => match &t.kind {
                TestStmtKind::Given(e) | TestStmtKind::Assert(e) => todo.push(push(e)),
                TestStmtKind::Let(l) => todo.push(push(&l.value)),
                TestStmtKind::With { rows, .. } => todo.extend(rows.iter().map(push)),
                TestStmtKind::ExpectEmit(ee) => todo.push(push(&ee.record)),
                TestStmtKind::ExpectExactly(ees) => todo.extend(ees.iter().map(|ee| push(&ee.record))),
                TestStmtKind::ExpectState { keys, record, .. } => {
                    todo.extend(keys.iter().chain(record.iter()).map(push));
                }
                TestStmtKind::GivenFile(_)
                | TestStmtKind::ExpectStatus(_)
                | TestStmtKind::ExpectReject(_)
                | TestStmtKind::ExpectNoEmit { .. } => {}
            },
        }
    }
    None
}

fn block<'a>(todo: &mut Vec<(Node<'a>, usize)>, b: &'a Block, depth: usize) {
    todo.extend(b.stmts.iter().map(|s| (Node::Stmt(s), depth)));
}

/// Drops a tree of any depth without recursing: each node's children are
/// moved out onto a list before the node itself is dropped (the derived
/// `Drop` of a chain nested a million deep would overflow any stack).
pub fn dismantle(item: Item) {
    let mut exprs: Vec<Expr> = Vec::new();
    let mut stmts: Vec<super::ast::Stmt> = Vec::new();
    let mut types: Vec<TypeRef> = Vec::new();
    let mut tests: Vec<super::ast::TestStmt> = Vec::new();
    match item {
        Item::Enum(_) | Item::Calendar(_) => {}
        Item::Record(d) => types.extend(d.fields.into_iter().map(|f| f.ty)),
        Item::Destination(d) => types.extend(d.index.into_iter().chain([d.ty])),
        Item::Table(d) => types.push(d.ty),
        Item::State(d) => types.push(d.ty),
        Item::Fn(d) => {
            types.extend(d.params.into_iter().map(|p| p.ty).chain([d.ret]));
            exprs.extend(d.lets.into_iter().map(|l| l.value).chain([d.body]));
        }
        Item::Decision(d) => {
            types.extend(d.params.into_iter().map(|p| p.ty).chain([d.ret]));
            exprs.extend(d.default.into_iter().chain(d.rows.into_iter().flat_map(|r| r.outputs)));
        }
        Item::Handler(h) => stmts.extend(h.body.stmts),
        Item::Test(t) => tests.extend(t.stmts),
        Item::Metric(m) => {
            let m = *m;
            exprs.extend([m.body].into_iter().chain(m.filter));
        }
    }
    loop {
        if let Some(t) = types.pop() {
            if let TypeRef::List(inner, _) | TypeRef::Optional(inner, _) = t {
                types.push(*inner);
            }
        } else if let Some(t) = tests.pop() {
            match t.kind {
                TestStmtKind::Given(e) | TestStmtKind::Assert(e) => exprs.push(e),
                TestStmtKind::Let(l) => exprs.push(l.value),
                TestStmtKind::With { rows, .. } => exprs.extend(rows),
                TestStmtKind::ExpectEmit(ee) => exprs.push(ee.record),
                TestStmtKind::ExpectExactly(ees) => exprs.extend(ees.into_iter().map(|ee| ee.record)),
                TestStmtKind::ExpectState { keys, record, .. } => exprs.extend(keys.into_iter().chain(record)),
                TestStmtKind::GivenFile(_)
                | TestStmtKind::ExpectStatus(_)
                | TestStmtKind::ExpectReject(_)
                | TestStmtKind::ExpectNoEmit { .. } => {}
            }
        } else if let Some(s) = stmts.pop() {
            match s.kind {
                StmtKind::Let(l) => exprs.push(l.value),
                StmtKind::Check { cond, reject } | StmtKind::Require { cond, reject } => {
                    exprs.extend([cond].into_iter().chain(reject.message));
                }
                StmtKind::Reject(r) => exprs.extend(r.message),
                StmtKind::Emit { index, value, .. } => exprs.extend(index.into_iter().chain([value])),
                StmtKind::If { branches, otherwise } => {
                    for (c, b) in branches {
                        exprs.push(c);
                        stmts.extend(b.stmts);
                    }
                    stmts.extend(otherwise.into_iter().flat_map(|b| b.stmts));
                }
                StmtKind::Match { scrutinee, arms } => {
                    exprs.push(scrutinee);
                    stmts.extend(arms.into_iter().flat_map(|a| a.body.stmts));
                }
                StmtKind::For { iter, body, .. } => {
                    exprs.push(iter);
                    stmts.extend(body.stmts);
                }
                StmtKind::Put { value, .. } => exprs.push(value),
                StmtKind::Update { keys, fields, .. } => {
                    exprs.extend(keys.into_iter().chain(fields.into_iter().map(|f| f.value)));
                }
                StmtKind::Delete { keys, .. } => exprs.extend(keys),
            }
        } else if let Some(e) = exprs.pop() {
            match e.kind {
                ExprKind::Lit(_) | ExprKind::Name(_) => {}
                ExprKind::Text(parts) => exprs.extend(parts.into_iter().filter_map(|p| match p {
                    StrPart::Expr(e) => Some(e),
                    StrPart::Text(_) => None,
                })),
                ExprKind::Field { base, .. } | ExprKind::BadCall { callee: base } => exprs.push(*base),
                ExprKind::Call { args, .. } => exprs.extend(args.into_iter().map(|a| match a {
                    Arg::Expr(e) | Arg::Lambda { body: e, .. } => e,
                })),
                ExprKind::Index { base, keys, as_of } => {
                    exprs.push(*base);
                    exprs.extend(keys.into_iter().chain(as_of.map(|e| *e)));
                }
                ExprKind::Unary { expr, .. } | ExprKind::Paren(expr) => exprs.push(*expr),
                ExprKind::Binary { lhs, rhs, .. } => exprs.extend([*lhs, *rhs]),
                ExprKind::If { cond, then, otherwise } => exprs.extend([*cond, *then, *otherwise]),
                ExprKind::Match { scrutinee, arms } => {
                    exprs.push(*scrutinee);
                    exprs.extend(arms.into_iter().map(|a| a.body));
                }
                ExprKind::Record { fields, .. } => exprs.extend(fields.into_iter().map(|f| f.value)),
                ExprKind::List(items) => exprs.extend(items),
            }
        } else {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::diagnostics::{Code, FileId};

    fn fn_of(ret: &str, body: &str) -> String {
        format!("fn f(x: Int) -> Int = x\nrecord R {{ a: Int? }}\nfn g(xs: List<Int>, r: R) -> {ret} = {body}\n")
    }

    /// A text nesting `n` levels deep in each way the grammar nests.
    pub(crate) fn deep(kind: &str, n: usize) -> String {
        let r = |s: &str, k: usize| s.repeat(k);
        match kind {
            "paren" => fn_of("Int", &format!("{}1{}", r("(", n), r(")", n))),
            "list" => fn_of("Int", &format!("{}1{}", r("[", n), r("]", n))),
            "call" => fn_of("Int", &format!("{}1{}", r("f(", n), r(")", n))),
            "index" => fn_of("Int", &format!("{}1{}", r("xs[", n), r("]", n))),
            "not" => fn_of("Bool", &format!("{}true", r("not ", n))),
            "coalesce" => fn_of("Int", &format!("{}1", r("none ?? ", n))),
            "ifelse" => fn_of("Int", &format!("{}2", r("if true then 1 else ", n))),
            "ifthen" => fn_of("Int", &format!("{}1{}", r("if true then ", n), r(" else 2", n))),
            "ifcond" => fn_of("Int", &format!("{}true{}", r("if ", n), r(" then true else false", n))),
            "neg" => fn_of("Int", &format!("{}x", r("-", n))),
            "add" => fn_of("Int", &vec!["x"; n + 1].join(" + ")),
            "dot" => fn_of("Int?", &format!("r{}", r(".a", n))),
            "interp" => fn_of("Text", &format!("{}1{}", r("\"{", n), r("}\"", n))),
            "record" => fn_of("R", &format!("{}1{}", r("R { a: ", n), r(" }", n))),
            "match" => fn_of("Int", &format!("{}1{}", r("match x { _ => ", n), r(" }", n))),
            "lambda" => fn_of("Int", &format!("{}1{}", r("sum(xs, y => ", n), r(")", n))),
            "type" => format!("record Q {{ a: {}Int{} }}\n", r("List<", n), r(">", n)),
            "block" => {
                format!("event E {{ a: Int }}\non E as e {{\n{}reject X\n{}}}\n", r("if true {\n", n), r("}\n", n))
            }
            "for" => format!(
                "event E {{ a: List<Int> }}\non E as e {{\n{}reject X\n{}}}\n",
                r("for x in e.a {\n", n),
                r("}\n", n)
            ),
            "matchstmt" => format!(
                "event E {{ a: Int }}\non E as e {{\n{}reject X\n{}}}\n",
                r("match e.a { _ => {\n", n),
                r("} }\n", n)
            ),
            "test" => format!("test \"t\" {{\n  assert {}true{}\n}}\n", r("(", n), r(")", n)),
            _ => panic!("no such kind {kind}"),
        }
    }

    const KINDS: &[&str] = &[
        "paren",
        "list",
        "call",
        "index",
        "not",
        "coalesce",
        "ifelse",
        "ifthen",
        "ifcond",
        "neg",
        "add",
        "dot",
        "interp",
        "record",
        "match",
        "lambda",
        "type",
        "block",
        "for",
        "matchstmt",
        "test",
    ];

    /// Every way of nesting: up to `MAX_DEPTH` levels the file parses as
    /// before; one more and the item is left out with one E0001 at the
    /// level past the limit; a thousand times deeper and the same, however
    /// the text is read (the bound, the stack, the tree's depth).
    #[test]
    fn a_tree_nests_at_most_max_depth_levels() {
        for kind in KINDS {
            // The item's own root counts one level: `MAX_DEPTH - 1` brackets
            // and the literal in them make `MAX_DEPTH` for most kinds.
            let ok = crate::syntax::parse(&deep(kind, MAX_DEPTH - 3), FileId(0));
            assert!(
                ok.diagnostics.iter().all(|d| d.code != Code::E0001),
                "{kind} at {}: {:?}",
                MAX_DEPTH - 3,
                ok.diagnostics.first()
            );
            for n in [MAX_DEPTH + 1, 20 * MAX_DEPTH, 400 * MAX_DEPTH] {
                let text = deep(kind, n);
                let parsed = crate::syntax::parse(&text, FileId(0));
                let errors: Vec<_> = parsed.diagnostics.iter().filter(|d| d.code == Code::E0001).collect();
                assert_eq!(errors.len(), 1, "{kind} at {n}: {:?}", parsed.diagnostics);
                assert!(errors[0].message.contains("levels deep"), "{kind} at {n}: {}", errors[0].message);
                assert!(errors[0].help.as_deref().unwrap_or("").contains("`let`"));
            }
        }
    }

    /// Child mode of the test below: parse `kind` at depth `n` with no
    /// guard, on a thread of `stack` bytes; exit 0 if it parsed.
    fn child(spec: &str) -> ! {
        let mut parts = spec.split(':');
        let (kind, n, stack) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let text = match kind {
            "text" => std::env::var("CANON_NESTING_TEXT").unwrap(),
            _ => deep(kind, n.parse().unwrap()),
        };
        let stack: usize = stack.parse().unwrap();
        let parsed = std::thread::Builder::new()
            .stack_size(stack)
            .spawn(move || crate::syntax::parser::parse_here(&text).is_some())
            .unwrap()
            .join()
            .unwrap();
        std::process::exit(if parsed { 0 } else { 3 })
    }

    fn runs_in(kind: &str, n: usize, stack: usize) -> bool {
        runs_text_in(kind, n, "", stack)
    }

    fn runs_text_in(kind: &str, n: usize, text: &str, stack: usize) -> bool {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args(["--exact", "syntax::nesting::tests::the_bound_covers_the_deepest_texts", "--nocapture"])
            .env("CANON_NESTING_CHILD", format!("{kind}:{n}:{stack}"))
            .env("CANON_NESTING_TEXT", text)
            .output()
            .unwrap();
        match out.status.code() {
            Some(0) => true,
            Some(3) => panic!("{kind} at {n} did not parse"),
            _ => false,
        }
    }

    /// The stack `scan` gives is enough: each kind, parsed with no guard in
    /// a process of its own on a thread of exactly that stack, parses (an
    /// overflow would kill the child). `CANON_NESTING_MEASURE=1` also prints
    /// the least stack that parses, found by halving (docs/performance.md).
    #[test]
    fn the_bound_covers_the_deepest_texts() {
        if let Ok(spec) = std::env::var("CANON_NESTING_CHILD") {
            child(&spec);
        }
        let measure = std::env::var("CANON_NESTING_MEASURE").is_ok();
        for kind in KINDS {
            for n in [MAX_DEPTH + 1, 8 * MAX_DEPTH] {
                let bound = scan(&deep(kind, n));
                if n > MAX_DEPTH + 1 && bound.too_deep_at.is_some() {
                    // Too many brackets open: refused before the parse.
                    continue;
                }
                assert!(bound.too_deep_at.is_none(), "{kind} at {n}");
                assert!(runs_in(kind, n, bound.stack), "{kind} at {n} overflowed {} bytes", bound.stack);
                if measure {
                    let (mut lo, mut hi) = (64 * 1024, bound.stack);
                    while hi - lo > 16 * 1024 {
                        let mid = (lo + hi) / 2;
                        if runs_in(kind, n, mid) {
                            hi = mid;
                        } else {
                            lo = mid;
                        }
                    }
                    eprintln!("{kind:>10} at {n:>5}: needs ~{:>6} KiB, bound {:>7} KiB", hi / 1024, bound.stack / 1024);
                }
            }
        }
    }

    /// What the scan reads as the grammar does: brackets in comments,
    /// strings and temporals do not count; interpolations do; a statement's
    /// first word ends the chain of the one before.
    #[test]
    fn the_scan_reads_comments_strings_and_statements() {
        let base = scan("").stack;
        assert_eq!(scan("// ((((((\n\"((((\" @\"((((\"").stack, base + BRACKET);
        assert_eq!(scan("\"{ ( }\"").stack, base + 3 * BRACKET);
        assert_eq!(scan("not not not x").stack, base + 3 * CHAIN);
        assert_eq!(scan("{ let a = not x\n let b = not y }").stack, base + BRACKET + CHAIN);
        assert_eq!(scan("( ) ( ) ( )").stack, base + BRACKET);
        // A string that cannot go on ends the scan: what follows is never parsed.
        assert_eq!(scan("\"a\n((((((").stack, base + BRACKET);
        assert_eq!(scan(") ((((").stack, base);
        // Cells and pattern alternatives end chains.
        assert_eq!(scan("| not a | not b || not c |").stack, base + CHAIN);
        // Past `MAX_OPEN` brackets, or a stack of `MAX_STACK`, nothing is parsed.
        let brackets = "([{\"{".repeat(MAX_OPEN);
        let at = scan(&brackets).too_deep_at.expect("past the most brackets");
        assert_eq!(at, MAX_OPEN);
        assert_eq!(on_stack(&brackets, || ()), Err(TooDeep { at }));
        assert_eq!(scan(&brackets[..MAX_OPEN]).too_deep_at, None);
        let chain = "not ".repeat(MAX_STACK / CHAIN + 1);
        let at = scan(&chain).too_deep_at.expect("past the largest stack");
        assert!(at > 0 && at < chain.len());
        assert_eq!(on_stack(&chain, || ()), Err(TooDeep { at }));
    }

    /// Every way of nesting, mixed at random up to the limit: the
    /// bound's stack is enough (each case in a child process, as above).
    #[test]
    fn the_bound_covers_mixed_nesting() {
        use proptest::prelude::*;
        // Each way takes any expression inside (brackets where the grammar
        // would take less: `not` a comparison, `-` a primary, an `if` or
        // `match` head no bare record literal).
        const WAYS: &[(&str, &str)] = &[
            ("(", ")"),
            ("[", "]"),
            ("f(", ")"),
            ("xs[", "]"),
            ("xs[1 as of ", "]"),
            ("not (", ")"),
            ("not not (", ")"),
            ("none ?? ", ""),
            ("if true then ", " else 2"),
            ("if true then 1 else ", ""),
            ("if (", ") then 1 else 2"),
            ("\"a{", "}b\""),
            ("R { a: ", " }"),
            ("match x { _ => ", " }"),
            ("match (", ") { _ => 1 }"),
            ("sum(xs, y => ", ")"),
            ("-(", ")"),
            ("1 + (", ")"),
            ("(", ") * 2"),
            ("(", ").a"),
        ];
        let mut runner =
            proptest::test_runner::TestRunner::new(ProptestConfig { cases: 24, ..ProptestConfig::default() });
        runner
            .run(&proptest::collection::vec(0..WAYS.len(), 1..MAX_DEPTH), |ways| {
                let open: String = ways.iter().map(|&w| WAYS[w].0).collect();
                let close: String = ways.iter().rev().map(|&w| WAYS[w].1).collect();
                let text = fn_of("Int", &format!("{open}1{close}"));
                let bound = scan(&text);
                prop_assert!(bound.too_deep_at.is_none());
                prop_assert!(runs_text_in("text", 0, &text, bound.stack), "overflowed {} bytes: {text}", bound.stack);
                Ok(())
            })
            .unwrap();
    }
}
