//! Completion and signature help: what may come at the cursor, from the
//! text before it and the checked package.

use canon_compiler::check;
use canon_compiler::diagnostics::FileId;
use canon_compiler::types::Ty;

use crate::analysis::{show_ty, Workspace};

/// A signature's label and its parameters' labels.
pub type Signature = (String, Vec<String>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionKind {
    Field,
    Variant,
    Function,
    Keyword,
    Destination,
    Type,
    Value,
}

#[derive(Debug, Clone)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    pub docs: Option<String>,
}

const KEYWORDS_STMT: &[&str] = &[
    "let", "check", "require", "reject", "emit", "if", "match", "for",
];

const KEYWORDS_ITEM: &[&str] = &[
    "enum",
    "record",
    "event",
    "destination",
    "table",
    "fn",
    "decision",
    "on",
    "test",
];

const KEYWORDS_TEST: &[&str] = &["given", "with", "expect", "assert"];

const PLACEHOLDER: &str = "canon_completion_placeholder";

/// The parameter types of a built-in signature such as `(Decimal, Int) -> Decimal`.
fn split_params(sig: &str) -> Vec<String> {
    let inner = sig
        .split_once('(')
        .and_then(|(_, r)| r.rsplit_once(") ->"))
        .map(|(p, _)| p)
        .unwrap_or("");
    inner
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The field names given at depth 0 of a record literal's body (`name: value, ...`).
pub(crate) fn given_fields(body: &str) -> Vec<String> {
    let mut given = Vec::new();
    let mut depth = 0i32;
    for part in body.split_inclusive([',', '{', '}', '(', ')', '[', ']']) {
        if depth == 0 {
            if let Some((n, _)) = part.split_once(':') {
                given.push(n.trim().to_string());
            }
        }
        match part.chars().last() {
            Some('{' | '(' | '[') => depth += 1,
            Some('}' | ')' | ']') => depth -= 1,
            _ => {}
        }
    }
    given
}

impl Workspace {
    /// The signatures of the call around `offset` and the index of the argument being written.
    pub fn signature_help(&self, key: &str, offset: u32) -> Option<(Vec<Signature>, u32)> {
        let text = self.text(key)?;
        let before = text.get(..(offset as usize).min(text.len()))?;
        // Walk back to the unmatched `(`, counting commas at depth 0.
        let (mut depth, mut commas, mut open) = (0i32, 0u32, None);
        for (i, ch) in before.char_indices().rev() {
            match ch {
                ')' | ']' | '}' => depth += 1,
                '(' | '[' | '{' if depth > 0 => depth -= 1,
                '(' => {
                    open = Some(i);
                    break;
                }
                '[' | '{' => return None,
                ',' if depth == 0 => commas += 1,
                _ => {}
            }
        }
        let head = before.get(..open?)?;
        let name: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if let Some(b) = canon_stdlib::functions::lookup(&name) {
            let sigs = b
                .signatures
                .iter()
                .map(|s| (format!("{}{s}", b.name), split_params(s)))
                .collect();
            return Some((sigs, commas));
        }
        let c = self.checked()?;
        let pkg = &c.package;
        let (params, ret, kind) = if let Some(f) = pkg.functions.iter().find(|f| f.name == name) {
            (&f.params, &f.ret, "fn")
        } else {
            let d = pkg.decisions.iter().find(|d| d.name == name)?;
            (&d.params, &d.ret, "decision")
        };
        let ps: Vec<String> = params
            .iter()
            .map(|(n, t)| format!("{n}: {}", show_ty(pkg, t)))
            .collect();
        let label = format!("{kind} {name}({}) -> {}", ps.join(", "), show_ty(pkg, ret));
        Some((vec![(label, ps)], commas))
    }

    pub fn completion(&self, key: &str, offset: u32) -> Vec<Completion> {
        let Some(text) = self.text(key) else {
            return Vec::new();
        };
        let offset = (offset as usize).min(text.len());
        let before = text.get(..offset).unwrap_or("");
        let prefix_len = before
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .map(char::len_utf8)
            .sum::<usize>();
        let start = offset - prefix_len;
        let head = before.get(..start).unwrap_or("");
        if head.ends_with('.') {
            return self.member_completion(key, text, start, head);
        }
        if let Some(fields) = self.record_literal_completion(head) {
            return fields;
        }
        let line = head.rsplit('\n').next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.last() == Some(&"emit") {
            return self.destination_completion();
        }
        let mut out = Vec::new();
        if line.trim().is_empty() {
            let kws = if line.is_empty() {
                KEYWORDS_ITEM
            } else {
                KEYWORDS_STMT
            };
            for k in kws
                .iter()
                .chain(KEYWORDS_TEST.iter().filter(|_| !line.is_empty()))
            {
                out.push(Completion {
                    label: k.to_string(),
                    kind: CompletionKind::Keyword,
                    detail: None,
                    docs: None,
                });
            }
        }
        for b in canon_stdlib::functions::ALL {
            let sigs: Vec<String> = b
                .signatures
                .iter()
                .map(|s| format!("{}{s}", b.name))
                .collect();
            out.push(Completion {
                label: b.name.to_string(),
                kind: CompletionKind::Function,
                detail: Some(sigs.join(" | ")),
                docs: Some(b.summary.to_string()),
            });
        }
        if let Some(c) = self.checked() {
            let pkg = &c.package;
            for e in pkg.enums.iter() {
                out.push(Completion {
                    label: e.name.clone(),
                    kind: CompletionKind::Type,
                    detail: Some("enum".into()),
                    docs: e.docs.clone(),
                });
                for v in &e.variants {
                    out.push(Completion {
                        label: v.name.clone(),
                        kind: CompletionKind::Variant,
                        detail: Some(format!("{}.{}", e.name, v.name)),
                        docs: v.docs.clone(),
                    });
                }
            }
            for r in pkg.records.iter().skip(1) {
                out.push(Completion {
                    label: r.name.clone(),
                    kind: CompletionKind::Type,
                    detail: Some("record".into()),
                    docs: r.docs.clone(),
                });
            }
            for f in &pkg.functions {
                let params: Vec<String> = f
                    .params
                    .iter()
                    .map(|(n, t)| format!("{n}: {}", show_ty(pkg, t)))
                    .collect();
                let detail = format!(
                    "fn {}({}) -> {}",
                    f.name,
                    params.join(", "),
                    show_ty(pkg, &f.ret)
                );
                out.push(Completion {
                    label: f.name.clone(),
                    kind: CompletionKind::Function,
                    detail: Some(detail),
                    docs: None,
                });
            }
            for d in &pkg.decisions {
                let params: Vec<String> = d
                    .params
                    .iter()
                    .map(|(n, t)| format!("{n}: {}", show_ty(pkg, t)))
                    .collect();
                let detail = format!(
                    "decision {}({}) -> {}",
                    d.name,
                    params.join(", "),
                    show_ty(pkg, &d.ret)
                );
                out.push(Completion {
                    label: d.name.clone(),
                    kind: CompletionKind::Function,
                    detail: Some(detail),
                    docs: None,
                });
            }
            for t in &pkg.tables {
                out.push(Completion {
                    label: t.name.clone(),
                    kind: CompletionKind::Value,
                    detail: Some("table".into()),
                    docs: None,
                });
            }
        }
        out
    }

    /// In `Record { a: x, |`: the fields of `Record` not given yet.
    fn record_literal_completion(&self, head: &str) -> Option<Vec<Completion>> {
        let last = head.trim_end().chars().last()?;
        if last != '{' && last != ',' {
            return None;
        }
        // The unmatched `{` and the literal's text so far.
        let mut depth = 0i32;
        let mut open = None;
        for (i, ch) in head.char_indices().rev() {
            match ch {
                '}' | ')' | ']' => depth += 1,
                '(' | '[' if depth == 0 => return None,
                '{' | '(' | '[' if depth > 0 => depth -= 1,
                '{' => {
                    open = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let open = open?;
        let before = head.get(..open)?.trim_end();
        let name: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        // `record Name {` declares fields; it does not give them.
        let decl = before
            .get(..before.len() - name.len())
            .unwrap_or("")
            .trim_end();
        if decl.ends_with("record") || decl.ends_with("event") {
            return None;
        }
        let c = self.checked()?;
        let pkg = &c.package;
        let rec = pkg.records.iter().skip(1).find(|r| r.name == name)?;
        let body = head.get(open + 1..)?;
        let given = given_fields(body);
        Some(
            rec.fields
                .iter()
                .filter(|f| !given.contains(&f.name))
                .map(|f| Completion {
                    label: f.name.clone(),
                    kind: CompletionKind::Field,
                    detail: Some(show_ty(pkg, &f.ty)),
                    docs: f.docs.clone(),
                })
                .collect(),
        )
    }

    fn destination_completion(&self) -> Vec<Completion> {
        let Some(c) = self.checked() else {
            return Vec::new();
        };
        let pkg = &c.package;
        pkg.destinations
            .iter()
            .map(|d| Completion {
                label: d.name.clone(),
                kind: CompletionKind::Destination,
                detail: pkg
                    .record(d.record)
                    .map(|r| format!("destination {}: {}", d.name, r.name)),
                docs: None,
            })
            .collect()
    }

    /// Fields of the record before `.` (or `?.`), or variants after `Enum.`.
    fn member_completion(
        &self,
        key: &str,
        text: &str,
        start: usize,
        head: &str,
    ) -> Vec<Completion> {
        let dot = head.len() - 1;
        let base_end = if head.ends_with("?.") { dot - 1 } else { dot };
        let word: String = head
            .get(..base_end)
            .unwrap_or("")
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let Some(c) = self.checked() else {
            return Vec::new();
        };
        // `Enum.` lists the variants.
        if let Some(e) = c.package.enums.iter().find(|e| e.name == word) {
            return e
                .variants
                .iter()
                .map(|v| Completion {
                    label: v.name.clone(),
                    kind: CompletionKind::Variant,
                    detail: Some(format!("{}.{}", e.name, v.name)),
                    docs: v.docs.clone(),
                })
                .collect();
        }
        // Check the package with a placeholder field name at the cursor, so
        // `t.` parses, and read the type of the expression before the dot.
        let mut patched = String::with_capacity(text.len() + PLACEHOLDER.len());
        patched.push_str(text.get(..start).unwrap_or(""));
        patched.push_str(PLACEHOLDER);
        patched.push_str(text.get(start..).unwrap_or(""));
        let Some(fid) = self.file_id(key) else {
            return Vec::new();
        };
        let keys = self.keys();
        let texts: Vec<String> = keys
            .iter()
            .map(|k| {
                if k == key {
                    patched.clone()
                } else {
                    self.text(k).unwrap_or("").to_string()
                }
            })
            .collect();
        let parsed: Vec<_> = texts
            .iter()
            .map(|t| canon_compiler::syntax::parse(t, FileId(0)))
            .collect();
        let inputs: Vec<check::Input<'_>> = keys
            .iter()
            .zip(texts.iter())
            .zip(parsed.iter())
            .map(|((path, text), p)| check::Input {
                path,
                text,
                ast: &p.file,
            })
            .collect();
        let (pkg, _) = check::check(&inputs);
        let base_ty = pkg
            .types
            .iter()
            .filter(|(f, s, _)| *f == fid && s.end as usize == base_end)
            .max_by_key(|(_, s, _)| s.end.saturating_sub(s.start))
            .map(|(_, _, t)| t.clone());
        let Some(Ty::Record(r)) = base_ty.as_ref().map(Ty::strip) else {
            return Vec::new();
        };
        let Some(def) = pkg.record(*r) else {
            return Vec::new();
        };
        def.fields
            .iter()
            .map(|f| Completion {
                label: f.name.clone(),
                kind: CompletionKind::Field,
                detail: Some(show_ty(&pkg, &f.ty)),
                docs: f.docs.clone(),
            })
            .collect()
    }
}
