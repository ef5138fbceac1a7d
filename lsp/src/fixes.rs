//! Quick fixes (code actions) for diagnostics.

use canon_compiler::diagnostics::Code;
use canon_compiler::ir;
use canon_compiler::syntax::ast::Span;
use canon_compiler::types::Ty;

use crate::analysis::Workspace;
use crate::completion::given_fields;

impl Workspace {
    /// Quick fixes for the E0104s overlapping `start..end`: add the missing
    /// fields of a record literal, each with a placeholder of its type.
    /// Each fix is a title and its edits (a span to replace and the new text).
    pub fn missing_field_fixes(
        &self,
        key: &str,
        start: u32,
        end: u32,
    ) -> Vec<(String, Vec<(Span, String)>)> {
        let (Some(c), Some(fid), Some(text)) = (self.checked(), self.file_id(key), self.text(key))
        else {
            return Vec::new();
        };
        let pkg = &c.package;
        let mut out = Vec::new();
        for d in c.diagnostics.iter() {
            if d.file != fid || d.code != Code::E0104 || d.span.end < start || d.span.start > end {
                continue;
            }
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
                .map(|f| format!("{}: {}", f.name, placeholder(pkg, &f.ty)))
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
                let indent: String = before
                    .get(line_start..)
                    .unwrap_or("")
                    .chars()
                    .take_while(|c| *c == ' ')
                    .collect();
                if needs_comma {
                    edits.push((Span::new(last.len(), last.len()), ",".to_string()));
                }
                let lines: String = missing
                    .iter()
                    .map(|m| format!("{indent}  {m},\n"))
                    .collect();
                if before
                    .get(line_start..)
                    .is_some_and(|t| t.trim().is_empty())
                {
                    edits.push((Span::new(line_start, line_start), lines));
                } else {
                    edits.push((Span::new(last.len(), close), format!("\n{lines}{indent}")));
                }
            } else {
                let sep = if needs_comma { ", " } else { " " };
                edits.push((
                    Span::new(last.len(), close),
                    format!("{sep}{} ", missing.join(", ")),
                ));
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

/// A value of a type, to fill in for the author to replace.
fn placeholder(pkg: &ir::Package, ty: &Ty) -> String {
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
        Ty::Record(r) => pkg
            .record(*r)
            .map(|d| format!("{} {{}}", d.name))
            .unwrap_or_default(),
        Ty::List(_) => "[]".into(),
        Ty::Optional(_) | Ty::NoneLit | Ty::Error => "none".into(),
    }
}
