//! Quick fixes (code actions) for diagnostics: the missing fields of a
//! record literal (E0104), the missing arms of a `match` (E0301) and the
//! decision row that completeness asks for (E0302). Each inserts values of
//! the right type to replace (`0`, `""`, `Status.Open`, ...), so the result
//! checks as it is. A diagnostic that names the likely slip
//! ([`Data::Replace`]: `==` for `=`, `USD` for `usd`, `Open` for `"OPEN"`,
//! the close names of an unknown one) gets one fix per replacement, best
//! first.

use canon_compiler::db::Checked;
use canon_compiler::diagnostics::{Code, Data, Diagnostic, FileId};
use canon_compiler::ir;
use canon_compiler::syntax::ast::{self, Span};
use canon_compiler::types::Ty;

use crate::analysis::{types_of, Workspace};
use crate::completion::given_fields;
use crate::walk::walk_item;

/// A fix: its title and its edits (a span to replace and the new text).
pub type Fix = (String, Vec<(Span, String)>);

/// What the quick fixes of a file read: the checked package and the
/// file's number, text and syntax tree.
struct Site<'a> {
    c: Checked,
    fid: FileId,
    text: &'a str,
    file: &'a ast::File,
}

impl Site<'_> {
    /// The file's diagnostics with `code` that overlap `start..end`.
    fn diagnostics(&self, code: Code, start: u32, end: u32) -> impl Iterator<Item = &Diagnostic> {
        self.c
            .diagnostics
            .iter()
            .filter(move |d| d.file == self.fid && d.code == code && d.span.end >= start && d.span.start <= end)
    }
}

impl Workspace {
    /// The file `key` as its quick fixes read it; `None` while it or the
    /// package is not known.
    fn site(&self, key: &str) -> Option<Site<'_>> {
        Some(Site { c: self.checked()?, fid: self.file_id(key)?, text: self.text(key)?, file: self.ast(key)? })
    }

    /// Every quick fix for the diagnostics of file `key` overlapping `start..end`.
    pub fn quick_fixes(&self, key: &str, start: u32, end: u32) -> Vec<Fix> {
        let mut out = self.missing_field_fixes(key, start, end);
        out.extend(self.missing_arm_fixes(key, start, end));
        out.extend(self.missing_row_fixes(key, start, end));
        out.extend(self.replacement_fixes(key, start, end));
        out
    }

    /// Quick fixes for the diagnostics overlapping `start..end` that carry
    /// [`Data::Replace`]: one per replacement, in the checker's order (best
    /// first). Equally good candidates each get their own fix, so the
    /// author chooses (a misspelt `erp_eu` may mean `erp_us` or `erp_emea`).
    pub fn replacement_fixes(&self, key: &str, start: u32, end: u32) -> Vec<Fix> {
        let Some(site) = self.site(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let near =
            site.c.diagnostics.iter().filter(|d| d.file == site.fid && d.span.end >= start && d.span.start <= end);
        for d in near {
            let Some(Data::Replace { span, with }) = &d.data else {
                continue;
            };
            let Some(old) = site.text.get(span.start as usize..span.end as usize) else {
                continue;
            };
            for new in with {
                let title = if old.is_empty() && new.trim().is_empty() {
                    "Add a space".to_string()
                } else if old.is_empty() {
                    format!("Insert `{new}`")
                } else if new.is_empty() {
                    format!("Remove `{}`", old.trim_end())
                } else {
                    format!("Replace `{old}` with `{new}`")
                };
                out.push((title, vec![(*span, new.clone())]));
            }
        }
        out
    }

    /// Quick fixes for the E0104s overlapping `start..end`: add the missing
    /// fields of a record literal, each with a placeholder of its type.
    /// Each fix is a title and its edits (a span to replace and the new text).
    pub fn missing_field_fixes(&self, key: &str, start: u32, end: u32) -> Vec<Fix> {
        let Some(site) = self.site(key) else {
            return Vec::new();
        };
        let (pkg, text) = (&site.c.package, site.text);
        let mut out = Vec::new();
        for d in site.diagnostics(Code::E0104, start, end) {
            let Some(name) = text.get(d.span.start as usize..d.span.end as usize) else {
                continue;
            };
            let Some(rec) = pkg.records.iter().find(|r| r.name == name) else {
                continue;
            };
            let Some((open, close)) = braces_after(text, d.span.end as usize) else {
                continue;
            };
            let body = text.get(open + 1..close).unwrap_or("");
            let given = given_fields(body);
            let missing: Vec<String> = rec
                .fields
                .iter()
                .filter(|f| !given.contains(&f.name) && !f.ty.is_optional())
                .map(|f| format!("{}: {}", f.name, placeholder(pkg, &f.ty, 0)))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let before = text.get(..close).unwrap_or("");
            let last = before.trim_end();
            let needs_comma = !last.ends_with(',') && !last.ends_with('{');
            let mut edits = Vec::new();
            if body.contains('\n') {
                // One field a line, before the line of the closing brace.
                let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
                let indent: String = before.get(line_start..).unwrap_or("").chars().take_while(|c| *c == ' ').collect();
                if needs_comma {
                    edits.push((Span::new(last.len(), last.len()), ",".to_string()));
                }
                let lines: String = missing.iter().map(|m| format!("{indent}  {m},\n")).collect();
                if before.get(line_start..).is_some_and(|t| t.trim().is_empty()) {
                    edits.push((Span::new(line_start, line_start), lines));
                } else {
                    edits.push((Span::new(last.len(), close), format!("\n{lines}{indent}")));
                }
            } else {
                let sep = if needs_comma { ", " } else { " " };
                edits.push((Span::new(last.len(), close), format!("{sep}{} ", missing.join(", "))));
            }
            out.push((format!("Add the missing fields of `{name}`"), edits));
        }
        out
    }
}

/// The byte offsets of the `{` after `from` and of its matching `}`.
fn braces_after(text: &str, from: usize) -> Option<(usize, usize)> {
    let rest = text.get(from..)?;
    let open = from + rest.find('{')?;
    if !text.get(from..open)?.trim().is_empty() {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in text.get(open..)?.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((open, open + i));
                }
            }
            _ => {}
        }
    }
    None
}

/// A value of a type, to fill in for the author to replace: one that
/// type-checks (a record literal gives its required fields, to a depth).
pub(crate) fn placeholder(pkg: &ir::Package, ty: &Ty, depth: usize) -> String {
    match ty {
        Ty::Bool => "false".into(),
        Ty::Int => "0".into(),
        Ty::Decimal => "0.0".into(),
        Ty::Money => "0.00 USD".into(),
        Ty::Currency => "Currency.USD".into(),
        Ty::Text => "\"\"".into(),
        Ty::Date => "@\"2000-01-01\"".into(),
        Ty::Timestamp => "@\"2000-01-01T00:00:00Z\"".into(),
        Ty::Enum(e) => pkg
            .enum_def(*e)
            .and_then(|d| d.variants.first().map(|v| format!("{}.{}", d.name, v.name)))
            .unwrap_or_default(),
        Ty::Record(r) => {
            let Some(d) = pkg.record(*r) else {
                return String::new();
            };
            let fields: Vec<String> = d
                .fields
                .iter()
                .filter(|f| !f.ty.is_optional())
                .map(|f| format!("{}: {}", f.name, placeholder(pkg, &f.ty, depth + 1)))
                .collect();
            if fields.is_empty() || depth >= 2 {
                format!("{} {{}}", d.name)
            } else {
                format!("{} {{ {} }}", d.name, fields.join(", "))
            }
        }
        Ty::List(_) => "[]".into(),
        Ty::Optional(_) | Ty::NoneLit | Ty::Error => "none".into(),
    }
}

// ---------------------------------------------------------------- match arms

/// A `match` in the syntax tree.
enum MatchAt<'a> {
    /// A statement: its arms are blocks.
    Stmt(&'a [ast::StmtArm]),
    /// An expression: its arms are expressions, separated by commas.
    Expr(&'a [ast::ExprArm]),
}

impl Workspace {
    /// Quick fixes for the E0301s overlapping `start..end`: one arm for each
    /// case the diagnostic names (`_` for a match on a type with no cases),
    /// with an empty block or a value of the match's type to replace.
    pub fn missing_arm_fixes(&self, key: &str, start: u32, end: u32) -> Vec<Fix> {
        let Some(site) = self.site(key) else {
            return Vec::new();
        };
        let (pkg, text, file) = (&site.c.package, site.text, site.file);
        let types = types_of(pkg, site.fid);
        let mut out = Vec::new();
        for d in site.diagnostics(Code::E0301, start, end) {
            let Some(m) = find_match(file, d.span) else {
                continue;
            };
            // The cases named between backquotes after "not covered:".
            let cases: Vec<String> = match d.message.split_once("not covered:") {
                Some((_, list)) => list.split('`').skip(1).step_by(2).map(str::to_string).collect(),
                None => vec!["_".to_string()],
            };
            if cases.is_empty() {
                continue;
            }
            let body = match m {
                MatchAt::Stmt(_) => "{}".to_string(),
                MatchAt::Expr(arms) => {
                    // The checker's type of the whole `match` (the function's
                    // result, the type expected there, or its arms' joined).
                    let guess = types.get(&(d.span.start, d.span.end)).filter(|t| !t.is_error()).map(|t| (*t).clone());
                    match guess {
                        Some(t) => placeholder(pkg, &t, 0),
                        // A copy of the first arm's body (arms bind nothing).
                        None => arms
                            .first()
                            .and_then(|a| text.get(a.body.span.start as usize..a.body.span.end as usize))
                            .unwrap_or("none")
                            .to_string(),
                    }
                }
            };
            let Some(edits) = arm_edits(text, d.span, &m, &cases, &body) else {
                continue;
            };
            let title = if cases.len() == 1 {
                format!("Add the missing arm `{}`", cases.join(""))
            } else {
                format!("Add the missing arms {}", quoted(&cases))
            };
            out.push((title, edits));
        }
        out
    }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The edit that adds one arm per case after the last arm of a match.
fn arm_edits(text: &str, span: Span, m: &MatchAt<'_>, cases: &[String], body: &str) -> Option<Vec<(Span, String)>> {
    let close = (span.end as usize).checked_sub(1)?;
    if text.get(close..close + 1)? != "}" {
        return None;
    }
    let (is_expr, first, last) = match m {
        MatchAt::Stmt(arms) => (false, arms.first().map(|a| a.span), arms.last().map(|a| a.span)),
        MatchAt::Expr(arms) => (true, arms.first().map(|a| a.span), arms.last().map(|a| a.span)),
    };
    let arms: Vec<String> = cases.iter().map(|c| format!("{c} => {body}")).collect();
    let indent_of = |at: usize| -> String {
        let start = text.get(..at).and_then(|t| t.rfind('\n')).map(|i| i + 1).unwrap_or(0);
        text.get(start..at).unwrap_or("").chars().take_while(|c| *c == ' ' || *c == '\t').collect()
    };
    // After the last arm (and its comma), or after the `{`.
    let mut lead = String::new();
    let at = match last {
        Some(l) => {
            let rest = text.get(l.end as usize..close)?;
            match rest.find(',').filter(|i| rest.get(..*i).is_some_and(|t| t.trim().is_empty())) {
                Some(i) => l.end as usize + i + 1,
                None => {
                    if is_expr {
                        lead.push(',');
                    }
                    l.end as usize
                }
            }
        }
        None => span.start as usize + text.get(span.start as usize..close)?.rfind('{')? + 1,
    };
    if text.get(span.start as usize..close)?.contains('\n') {
        // One arm a line, indented as the first arm (or one level in).
        let indent = match first {
            Some(f) => indent_of(f.start as usize),
            None => format!("{}  ", indent_of(span.start as usize)),
        };
        for a in &arms {
            lead.push_str(&format!("\n{indent}{a}{}", if is_expr { "," } else { "" }));
        }
    } else {
        lead.push(' ');
        lead.push_str(&arms.join(if is_expr { ", " } else { " " }));
        if last.is_none() {
            lead.push(' ');
        }
    }
    Some(vec![(Span::new(at, at), lead)])
}

/// The `match` with this span.
fn find_match(file: &ast::File, span: Span) -> Option<MatchAt<'_>> {
    for item in &file.items {
        // A statement and an expression never have the same span.
        let (mut stmt, mut expr) = (None, None);
        walk_item(
            item,
            &mut |s| match &s.kind {
                ast::StmtKind::Match { arms, .. } if s.span == span => {
                    stmt.get_or_insert(MatchAt::Stmt(arms));
                }
                _ => {}
            },
            &mut |e| match &e.kind {
                ast::ExprKind::Match { arms, .. } if e.span == span => {
                    expr.get_or_insert(MatchAt::Expr(arms));
                }
                _ => {}
            },
        );
        if let Some(m) = stmt.or(expr) {
            return Some(m);
        }
    }
    None
}

// ---------------------------------------------------------------- decision rows

impl Workspace {
    /// Quick fixes for the E0302s overlapping `start..end`: a row that
    /// covers the input the diagnostic names, with placeholder outputs,
    /// the table laid out again as `canon fmt` does.
    pub fn missing_row_fixes(&self, key: &str, start: u32, end: u32) -> Vec<Fix> {
        let Some(site) = self.site(key) else {
            return Vec::new();
        };
        let (pkg, text, file) = (&site.c.package, site.text, site.file);
        let mut out = Vec::new();
        for d in site.diagnostics(Code::E0302, start, end) {
            let Some(Data::UncoveredInput(cells)) = &d.data else {
                continue;
            };
            let Some(decl) = file.items.iter().find_map(|i| match i {
                ast::Item::Decision(x) if x.name.span == d.span => Some(x),
                _ => None,
            }) else {
                continue;
            };
            let Some(def) = pkg.decisions.iter().find(|x| x.name == decl.name.text) else {
                continue;
            };
            if let Some(edit) = row_edit(pkg, text, decl, def, cells) {
                let input = d.message.split_once("no row matches ").map(|(_, w)| w);
                out.push((format!("Add a row for {}", input.unwrap_or("the missing input")), vec![edit]));
            }
        }
        out
    }
}

/// The edit that adds the row after the last one and lays the table out again.
fn row_edit(
    pkg: &ir::Package,
    text: &str,
    decl: &ast::DecisionDecl,
    def: &ir::DecisionDef,
    cells: &[String],
) -> Option<(Span, String)> {
    if cells.len() != decl.inputs.len() {
        return None;
    }
    let outputs: Vec<String> = decl
        .outputs
        .iter()
        .map(|o| {
            let ty = match def.ret.strip() {
                Ty::Record(r) => pkg
                    .record(*r)
                    .and_then(|rec| rec.fields.iter().find(|f| f.name == o.text))
                    .map(|f| f.ty.clone())
                    .unwrap_or(Ty::Error),
                t => t.clone(),
            };
            placeholder(pkg, &ty, 0)
        })
        .collect();
    let row = format!("| {} || {} |", cells.join(" | "), outputs.join(" | "));
    // The table runs to the end of the line of its last row (a comment there stays).
    let last = decl.rows.last().map(|r| r.span).unwrap_or(decl.header_span);
    let start = decl.span.start as usize;
    let end =
        text.get(last.end as usize..).and_then(|r| r.find('\n')).map(|i| last.end as usize + i).unwrap_or(text.len());
    let line_start = text.get(..last.start as usize)?.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let indent = text.get(line_start..last.start as usize)?;
    let indent = if indent.trim().is_empty() { indent } else { "  " };
    let table = format!("{}\n{indent}{row}", text.get(start..end)?);
    let laid_out = canon_compiler::fmt::format(&table).map(|t| t.trim_end().to_string()).unwrap_or(table);
    Some((Span::new(start, end), laid_out))
}
