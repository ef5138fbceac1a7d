//! A quick check of the package with a placeholder name at the cursor: how
//! completion learns the type of the expression before a `.`, a `==` or a
//! `match {` while the line being typed does not parse.
//!
//! Only the item around the cursor is parsed again (with the placeholder,
//! from the current text, so nothing on the edited line is stale) and
//! checked in full. Every other item comes from the cached parse as a
//! skeleton — declarations and signatures, without function bodies,
//! decision rows, handlers or tests — which salsa keeps per file, so the
//! check costs about the size of that one item.

use std::borrow::Cow;

use canon_compiler::check;
use canon_compiler::db::{parse_file, Db, SourceFile};
use canon_compiler::diagnostics::FileId;
use canon_compiler::ir;
use canon_compiler::syntax::{self, ast};
use canon_compiler::types::Ty;

use crate::analysis::Workspace;

/// The name put at the cursor so that `t.` and `a ==` parse.
pub(crate) const PLACEHOLDER: &str = "canon_completion_placeholder";

/// The declarations of a file without bodies (see the module docs).
#[salsa::tracked(returns(ref))]
pub(crate) fn skeleton(db: &dyn Db, file: SourceFile) -> ast::File {
    let parsed = parse_file(db, file);
    let mut broken = parsed.file.broken.clone();
    broken.push(NO_BODY.into());
    ast::File { items: parsed.file.items.iter().filter_map(skeleton_item).collect(), broken }
}

/// The name standing for a body left out: a broken item's name, so the
/// checker gives it the error type, which fits every type, and says nothing.
const NO_BODY: &str = "canon_skeleton_body";

/// `-canon_skeleton_body`: no expected type reaches the name (which would
/// make it a variant to look up), and the error type passes through.
fn no_body(span: ast::Span) -> ast::Expr {
    let name = ast::Expr { kind: ast::ExprKind::Name(ast::Ident { text: NO_BODY.into(), span }), span };
    ast::Expr { kind: ast::ExprKind::Unary { op: ast::UnOp::Neg, expr: Box::new(name) }, span }
}

fn skeleton_item(item: &ast::Item) -> Option<ast::Item> {
    Some(match item {
        ast::Item::Handler(_) | ast::Item::Test(_) => return None,
        ast::Item::Fn(f) => ast::Item::Fn(ast::FnDecl {
            docs: None,
            name: f.name.clone(),
            params: f.params.clone(),
            ret: f.ret.clone(),
            lets: Vec::new(),
            body: no_body(f.body.span),
            span: f.span,
        }),
        // One row of `-` cells: complete, and nothing to analyse.
        ast::Item::Decision(d) => ast::Item::Decision(ast::DecisionDecl {
            docs: None,
            name: d.name.clone(),
            params: d.params.clone(),
            ret: d.ret.clone(),
            hit: d.hit.clone(),
            default: None,
            inputs: d.inputs.clone(),
            outputs: d.outputs.clone(),
            header_span: d.header_span,
            rows: vec![ast::Row {
                inputs: d.inputs.iter().map(|i| ast::Cell { kind: ast::CellKind::Any, span: i.span }).collect(),
                outputs: d.outputs.iter().map(|o| no_body(o.span)).collect(),
                span: d.header_span,
            }],
            span: d.span,
        }),
        other => other.clone(),
    })
}

/// The byte range of the top-level item around `offset`, split as the
/// parser's error recovery splits a file (`syntax::parser::item_chunks`): at
/// lines that start (at column 0, or after `///` docs) with an item keyword,
/// or with `state name:` or `metric name =`.
pub(crate) fn item_chunk(text: &str, offset: usize) -> (usize, usize) {
    let chunks = syntax::parser::item_chunks(text);
    let i = chunks.partition_point(|(s, _)| *s <= offset).saturating_sub(1);
    chunks.get(i).copied().unwrap_or((0, text.len()))
}

/// `text` up to the end of the line of `cursor`, then `suffix`, with the
/// brackets still open there closed: an item being written whose end is
/// not typed yet.
fn closed_at_line(text: &str, cursor: usize, suffix: &str) -> String {
    let end = text.get(cursor..).and_then(|r| r.find('\n')).map(|i| cursor + i).unwrap_or(text.len());
    let mut out = text.get(..end).unwrap_or("").to_string();
    out.push_str(suffix);
    close_brackets(&mut out);
    out
}

/// Appends a line that closes the brackets `text` leaves open.
fn close_brackets(text: &mut String) {
    let mut stack = Vec::new();
    let mut chars = text.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_str => {
                chars.next();
            }
            '"' => in_str = !in_str,
            '/' if !in_str && chars.peek() == Some(&'/') => {
                // A comment runs to the end of its line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '{' | '(' | '[' if !in_str => stack.push(c),
            '}' | ')' | ']' if !in_str => {
                stack.pop();
            }
            '\n' => in_str = false,
            _ => {}
        }
    }
    if in_str {
        text.push('"');
    }
    text.push('\n');
    for open in stack.iter().rev() {
        text.push(match open {
            '{' => '}',
            '(' => ')',
            _ => ']',
        });
    }
    text.push('\n');
}

/// The package checked with the placeholder at the cursor.
pub(crate) struct Probe<'w> {
    /// The package's declarations (from salsa when only a handler or a test
    /// was checked, else the whole probe package).
    pub pkg: Cow<'w, ir::Package>,
    /// The types the checker noted in the item around the cursor, spans
    /// relative to `start`.
    types: Vec<(ast::Span, Ty)>,
    /// Where that item starts in the workspace text.
    start: usize,
}

impl Probe<'_> {
    /// The type of the widest expression the checker typed ending at `end`
    /// (a workspace offset before the cursor): a name, a field access, a
    /// call, a lookup, a parenthesised expression, an `if`, a `match` or a
    /// `??` (see `ir::Package::types`).
    pub fn type_ending_at(&self, end: usize) -> Option<Ty> {
        let end = end.checked_sub(self.start)? as u32;
        self.types
            .iter()
            .filter(|(s, t)| s.end == end && !t.is_error())
            .max_by_key(|(s, _)| s.end.saturating_sub(s.start))
            .map(|(_, t)| t.clone())
    }
}

impl Workspace {
    /// Checks the package with [`PLACEHOLDER`] inserted at `offset` of file
    /// `key`. When the item around it does not parse, it is cut after the
    /// cursor's line (and given a block or an `else reject`, for an `if` or
    /// `check` condition being written) and closed.
    pub(crate) fn probe(&self, key: &str, offset: usize) -> Option<Probe<'_>> {
        let text = self.text(key)?;
        let offset = offset.min(text.len());
        let (start, end) = item_chunk(text, offset);
        let mut chunk = String::with_capacity(end - start + PLACEHOLDER.len());
        chunk.push_str(text.get(start..offset)?);
        chunk.push_str(PLACEHOLDER);
        let cursor = chunk.len();
        chunk.push_str(text.get(offset..end)?);
        let mut parsed = syntax::parse(&chunk, FileId(0));
        let mut closed = None;
        for suffix in ["", " {}", " else reject CANON_PLACEHOLDER"] {
            if !parsed.file.items.is_empty() {
                break;
            }
            let text = closed_at_line(&chunk, cursor, suffix);
            parsed = syntax::parse(&text, FileId(0));
            closed = Some(text);
        }
        self.check_with(key, start, end, closed.as_deref().unwrap_or(&chunk), &parsed.file)
    }

    /// Checks the package with the `match` whose `{` is at `brace` cut
    /// there and given one arm, to learn the scrutinee's type.
    pub(crate) fn probe_match(&self, key: &str, brace: usize) -> Option<Probe<'_>> {
        let text = self.text(key)?;
        let (start, end) = item_chunk(text, brace);
        let head = text.get(start..brace)?;
        for arm in [" { _ => {} }", " { _ => 0 }"] {
            let mut chunk = format!("{head}{arm}");
            close_brackets(&mut chunk);
            let parsed = syntax::parse(&chunk, FileId(0));
            if !parsed.file.items.is_empty() {
                return self.check_with(key, start, end, &chunk, &parsed.file);
            }
        }
        None
    }

    /// Checks `item` (the text `chunk`, standing for `start..end` of file
    /// `key`). A handler or a test declares nothing, so it is checked alone
    /// against the package's signatures as salsa has them (`db::body_scope`);
    /// anything else with the skeletons of the package, in full.
    fn check_with(&self, key: &str, start: usize, end: usize, chunk: &str, item: &ast::File) -> Option<Probe<'_>> {
        let db = self.db();
        if let ([one @ (ast::Item::Handler(_) | ast::Item::Test(_))], Some(package)) =
            (item.items.as_slice(), self.package())
        {
            let span = one.span();
            let text = chunk.get(span.start as usize..span.end as usize)?;
            let scope = canon_compiler::db::body_scope(db, package);
            let rel = syntax::shift::relative(one, span.start);
            let result = check::check_item(scope, text, &rel, 0);
            return Some(Probe {
                pkg: Cow::Borrowed(scope.package()),
                types: result.types().to_vec(),
                start: start + span.start as usize,
            });
        }
        let keys = self.keys();
        let mut edited = None;
        let mut skeletons = Vec::with_capacity(keys.len());
        for k in &keys {
            let file = self.source(k)?;
            let sk = skeleton(db, file);
            if k == key {
                // The items of the edited file but the one around the cursor.
                edited = Some(ast::File {
                    items: sk
                        .items
                        .iter()
                        .filter(|i| {
                            let s = i.span().start as usize;
                            s < start || s >= end
                        })
                        .cloned()
                        .collect(),
                    broken: sk.broken.clone(),
                });
            }
            skeletons.push((k.as_str(), file.text(db).as_str(), sk));
        }
        let edited = edited?;
        let probe_path = format!("{key}#completion");
        let mut inputs: Vec<check::Input<'_>> = skeletons
            .iter()
            .map(|(path, text, sk)| check::Input { path, text, ast: if *path == key { &edited } else { sk } })
            .collect();
        inputs.push(check::Input { path: &probe_path, text: chunk, ast: item });
        let (pkg, _) = check::check(&inputs);
        let file = FileId(keys.len() as u32);
        let types = pkg.types.iter().filter(|(f, _, _)| *f == file).map(|(_, s, t)| (*s, t.clone())).collect();
        Some(Probe { pkg: Cow::Owned(pkg), types, start })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_at_items_with_their_docs() {
        let text = "enum A { X }\n\n/// Docs.\nfn f() -> Int = 1\n  fn g\non E as e {\n}\n";
        let f = text.find("fn f").unwrap_or(0);
        let docs = text.find("///").unwrap_or(0);
        let on = text.find("on E").unwrap_or(0);
        assert_eq!(item_chunk(text, 3), (0, docs));
        assert_eq!(item_chunk(text, f + 3), (docs, on));
        assert_eq!(item_chunk(text, text.len()), (on, text.len()));
        // `state` and `metric` begin items where they begin a declaration.
        let text = "fn f() -> Int = 1
state s: R key k
metric m = sum(s, x => x.a)
  by state
";
        let (st, me) = (text.find("state s").unwrap_or(0), text.find("metric").unwrap_or(0));
        assert_eq!(item_chunk(text, st + 3), (st, me));
        assert_eq!(item_chunk(text, text.len()), (me, text.len()));
    }

    #[test]
    fn unfinished_items_are_closed() {
        let text = "on E as e {\n  let x = f(e.\n  let y = 1\n";
        let cursor = text.find("e.").unwrap_or(0) + 2;
        assert_eq!(closed_at_line(text, cursor, ""), "on E as e {\n  let x = f(e.\n)}\n");
        assert_eq!(closed_at_line("on E as e {\n  if e.x", 20, " {}"), "on E as e {\n  if e.x {}\n}\n");
    }
}
#[cfg(test)]
mod workspace_tests {
    use crate::analysis::Workspace;

    /// The first labels offered at the end of `head`, with `tail` after it.
    fn first_labels(head: &str, tail: &str, n: usize) -> Vec<String> {
        let mut ws = Workspace::new();
        ws.set_text("a.canon", format!("{head}{tail}"));
        ws.completion("a.canon", head.len() as u32).into_iter().take(n).map(|c| c.label).collect()
    }

    #[test]
    fn a_condition_being_typed_is_completed_with_the_rest_of_the_item_below() {
        let head = "enum Role { A, B }\nevent L as \"l\" { role: Role }\non L as l {\n  let p = 1\n  check l.role == ";
        assert_eq!(first_labels(head, "\n  let rate = 2\n}\n", 2), ["A", "B"]);
        let head = head.replace("check", "if");
        assert_eq!(first_labels(&head, "\n  let rate = 2\n}\n", 2), ["A", "B"]);
        let head = head.replace("if l.role == ", "let x = l.");
        assert_eq!(first_labels(&head, "\n  let rate = 2\n}\n", 1), ["role"]);
    }
}
