//! Completion and signature help: what may come at the cursor, from the
//! text before it and the checked package.

use canon_compiler::check::{calendar_function, CALENDAR_FUNCTIONS};
use canon_compiler::ir;
use canon_compiler::syntax::keywords;
use canon_compiler::types::Ty;

use crate::analysis::{show_ty, TyNames, Workspace, CALENDAR_HOVER};
use crate::probe::item_chunk;

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
    /// `true`, `none`, a currency code.
    Constant,
}

#[derive(Debug, Clone)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    pub docs: Option<String>,
    /// Of the type expected at the cursor: listed (and ranked) first.
    pub expected: bool,
}

impl Completion {
    fn new(label: impl Into<String>, kind: CompletionKind, detail: Option<String>) -> Completion {
        Completion { label: label.into(), kind, detail, docs: None, expected: false }
    }
}

/// Currency codes offered where a Currency is expected, after those the
/// file already uses.
const CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "CNY", "HKD",
    "SGD", "INR", "BRL", "MXN", "ZAR", "KRW", "TRY", "ILS", "AED", "SAR",
];

// The keywords are declared once, in the compiler (`syntax::keywords`).

/// What `expect` may be followed by in a test (LANGUAGE.md §9).
const EXPECTATIONS: &[&str] = &["accepted", "rejected", "ignored", "reject", "emit", "no emit", "state", "no state"];

/// The units of a metric's `age` clause.
const AGE_UNITS: &[&str] = &["minutes", "hours", "days"];

/// The kind of top-level item the cursor is in, read from its first word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemContext {
    Handler,
    Test,
    Metric,
    /// A function or a decision: pure, no state.
    Pure,
    Other,
}

/// The item around `at` (see `probe::item_chunk`): its start and kind.
fn item_context(text: &str, at: usize) -> (usize, ItemContext) {
    let (start, _) = item_chunk(text, at);
    let chunk = text.get(start..at).unwrap_or("");
    let first = chunk
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with("//"))
        .map(ident_at_start)
        .unwrap_or("");
    let cx = match first {
        "on" => ItemContext::Handler,
        "test" => ItemContext::Test,
        "metric" => ItemContext::Metric,
        "fn" | "decision" => ItemContext::Pure,
        _ => ItemContext::Other,
    };
    (start, cx)
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
                .overloads
                .iter()
                .map(|o| (format!("{}{}", b.name, o.render()), o.params.iter().map(|p| p.ty.to_string()).collect()))
                .collect();
            return Some((sigs, commas));
        }
        if let Some(f) = calendar_function(&name) {
            let shadowed = self.checked().is_some_and(|c| is_item(&c.package, &name));
            if !shadowed {
                return Some((vec![(f.signature(), f.params.iter().map(|p| p.label()).collect())], commas));
            }
        }
        let c = self.checked()?;
        let pkg = &c.package;
        let (params, ret, kind) = if let Some(f) = pkg.functions.iter().find(|f| f.name == name) {
            (&f.params, &f.ret, "fn")
        } else {
            let d = pkg.decisions.iter().find(|d| d.name == name)?;
            (&d.params, &d.ret, "decision")
        };
        let ps: Vec<String> = params.iter().map(|(n, t)| format!("{n}: {}", show_ty(pkg, t))).collect();
        let label = format!("{kind} {name}({}) -> {}", ps.join(", "), show_ty(pkg, ret));
        Some((vec![(label, ps)], commas))
    }

    pub fn completion(&self, key: &str, offset: u32) -> Vec<Completion> {
        let Some(text) = self.text(key) else {
            return Vec::new();
        };
        let offset = (offset as usize).min(text.len());
        let before = text.get(..offset).unwrap_or("");
        let prefix_len =
            before.chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').map(char::len_utf8).sum::<usize>();
        let start = offset - prefix_len;
        let head = before.get(..start).unwrap_or("");
        if head.ends_with('.') {
            return self.member_completion(key, start, head);
        }
        let line = head.rsplit('\n').next().unwrap_or("");
        match decision_header(text, start) {
            // The parameters not yet a column, then everything else.
            Some(Header::Inputs(params)) => {
                let first: Vec<Completion> = params
                    .into_iter()
                    .map(|(name, ty)| Completion {
                        expected: true,
                        ..Completion::new(name, CompletionKind::Value, Some(ty))
                    })
                    .collect();
                return self.then_general(first, line, ItemContext::Pure);
            }
            // Any name is an output's: nothing known to offer first.
            Some(Header::Outputs) => return self.general_completion(line, ItemContext::Pure),
            None => {}
        }
        let (item_start, cx) = item_context(text, start);
        if let Some(found) = self.state_completion(head, line, cx) {
            return found;
        }
        if cx == ItemContext::Metric {
            if let Some(found) = self.metric_completion(text, item_start, start, head, line) {
                return found;
            }
        }
        let expected = self.expected_completion(key, text, start, head);
        if expected.is_none() {
            if let Some(fields) = self.record_literal_completion(head) {
                return fields;
            }
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.last() == Some(&"emit") {
            return self.destination_completion();
        }
        // After `hit` (LANGUAGE.md §5.2): the hit policies, and after `collect` its aggregations.
        match words.last() {
            Some(&"hit") => {
                return HIT_POLICIES
                    .iter()
                    .map(|p| Completion::new(p.to_string(), CompletionKind::Keyword, None))
                    .collect()
            }
            Some(&"collect") if words.len() >= 2 && words.get(words.len() - 2) == Some(&"hit") => {
                return ["sum", "count", "min", "max"]
                    .iter()
                    .map(|p| Completion::new(p.to_string(), CompletionKind::Keyword, None))
                    .collect()
            }
            _ => {}
        }
        self.then_general(expected.unwrap_or_default(), line, cx)
    }

    /// `first`, then the general completions (see `general_completion`)
    /// with a label not among them.
    fn then_general(&self, mut first: Vec<Completion>, line: &str, cx: ItemContext) -> Vec<Completion> {
        let general: Vec<Completion> = self
            .general_completion(line, cx)
            .into_iter()
            .filter(|g| !first.iter().any(|e| e.label == g.label))
            .collect();
        first.extend(general);
        first
    }

    /// The words that begin an item (at the start of a line) or a statement
    /// of the item the cursor is in.
    fn line_start_keywords(line: &str, cx: ItemContext) -> Vec<&'static str> {
        if line.is_empty() {
            return keywords::ITEM.iter().copied().chain(keywords::CONTEXTUAL_ITEM.iter().map(|(w, _)| *w)).collect();
        }
        match cx {
            ItemContext::Handler => keywords::STATEMENT.iter().chain(keywords::CONTEXTUAL_STATEMENT).copied().collect(),
            ItemContext::Test => keywords::TEST.iter().copied().chain(["let"]).collect(),
            ItemContext::Metric => Vec::new(),
            ItemContext::Pure | ItemContext::Other => {
                keywords::STATEMENT.iter().chain(keywords::TEST).copied().collect()
            }
        }
    }

    /// Keywords, built-ins and the package's items (and its states in a
    /// handler or a test, where a state can be read).
    fn general_completion(&self, line: &str, cx: ItemContext) -> Vec<Completion> {
        let mut out = Vec::new();
        if line.trim().is_empty() {
            for k in Self::line_start_keywords(line, cx) {
                out.push(Completion::new(k, CompletionKind::Keyword, None));
            }
        }
        for b in canon_stdlib::functions::ALL {
            let sigs: Vec<String> = b.signatures().map(|s| format!("{}{s}", b.name)).collect();
            out.push(Completion {
                docs: Some(b.summary.to_string()),
                ..Completion::new(b.name, CompletionKind::Function, Some(sigs.join(" | ")))
            });
        }
        for f in CALENDAR_FUNCTIONS {
            out.push(Completion {
                docs: Some(format!("{}\n\n{CALENDAR_HOVER}", f.summary)),
                ..Completion::new(f.name, CompletionKind::Function, Some(f.signature()))
            });
        }
        if let Some(c) = self.checked() {
            let pkg = &c.package;
            let names = TyNames::new(pkg);
            for e in pkg.enums.iter() {
                out.push(Completion {
                    docs: e.docs.clone(),
                    ..Completion::new(&e.name, CompletionKind::Type, Some("enum".into()))
                });
                for v in &e.variants {
                    out.push(variant_completion(&e.name, v));
                }
            }
            for r in pkg.records.iter().skip(1) {
                out.push(Completion {
                    docs: r.docs.clone(),
                    ..Completion::new(&r.name, CompletionKind::Type, Some("record".into()))
                });
            }
            for f in &pkg.functions {
                let params: Vec<String> = f.params.iter().map(|(n, t)| format!("{n}: {}", names.show(t))).collect();
                let detail = format!("fn {}({}) -> {}", f.name, params.join(", "), names.show(&f.ret));
                out.push(Completion::new(&f.name, CompletionKind::Function, Some(detail)));
            }
            for d in &pkg.decisions {
                let params: Vec<String> = d.params.iter().map(|(n, t)| format!("{n}: {}", names.show(t))).collect();
                let detail = format!("decision {}({}) -> {}", d.name, params.join(", "), names.show(&d.ret));
                out.push(Completion::new(&d.name, CompletionKind::Function, Some(detail)));
            }
            for t in &pkg.tables {
                out.push(Completion::new(&t.name, CompletionKind::Value, Some("table".into())));
            }
            for cal in &pkg.calendars {
                out.push(Completion::new(&cal.name, CompletionKind::Value, Some("calendar".into())));
            }
            if matches!(cx, ItemContext::Handler | ItemContext::Test) {
                out.extend(state_names(pkg));
            }
        }
        out
    }

    // ------------------------------------------------------------ state and metrics

    /// Where a state's name comes (LANGUAGE.md §8.1, §9): after `put`,
    /// `update` and `delete` at the start of a handler's statement, after
    /// `expect state`, `expect no state` and `with` in a test; after `put s`,
    /// the state's record type first; after `expect`, the expectations.
    fn state_completion(&self, head: &str, line: &str, cx: ItemContext) -> Option<Vec<Completion>> {
        // The statement being written: the line after the last brace on it.
        let stmt = line.rsplit(['{', '}']).next().unwrap_or(line);
        let words: Vec<&str> = stmt.split_whitespace().collect();
        let c = self.checked();
        let pkg = c.as_ref().map(|c| c.package.as_ref());
        match (cx, words.as_slice()) {
            (ItemContext::Handler, ["put" | "update" | "delete"])
            | (ItemContext::Test, ["expect", "state"] | ["expect", "no", "state"]) => {
                Some(pkg.map(state_names).unwrap_or_default())
            }
            (ItemContext::Test, ["with"]) => {
                let pkg = pkg?;
                let tables = pkg.tables.iter().map(|t| {
                    let rec = pkg.record(t.record).map(|r| format!("table {}: {}", t.name, r.name));
                    Completion::new(&t.name, CompletionKind::Value, rec)
                });
                Some(tables.chain(state_names(pkg)).collect())
            }
            (ItemContext::Test, ["expect"]) => {
                Some(EXPECTATIONS.iter().map(|w| Completion::new(*w, CompletionKind::Keyword, None)).collect())
            }
            (ItemContext::Handler, ["put", state]) if head.ends_with(char::is_whitespace) => {
                let pkg = pkg?;
                let (_, def) = pkg.state_by_name(state)?;
                let rec = pkg.record(def.record)?;
                let first = Completion {
                    expected: true,
                    docs: rec.docs.clone(),
                    ..Completion::new(&rec.name, CompletionKind::Type, Some("record".into()))
                };
                Some(self.then_general(vec![first], line, cx))
            }
            _ => None,
        }
    }

    /// In a metric (LANGUAGE.md §4.6): the states as the aggregate's first
    /// argument; after the aggregate, the clauses not given yet (`where`,
    /// `by`, `age`, in that order); after `by`, the fields a metric can group
    /// by; after `age`, the Timestamp fields, then the units. `None` where
    /// an expression is being written (the lambda's body, `where`'s condition).
    fn metric_completion(
        &self,
        text: &str,
        item_start: usize,
        start: usize,
        head: &str,
        line: &str,
    ) -> Option<Vec<Completion>> {
        if line.is_empty() {
            // Column 0: the next item begins.
            return None;
        }
        let code = blank_comments(text.get(item_start..start)?);
        let c = self.checked();
        let pkg = c.as_ref().map(|c| c.package.as_ref());
        // `metric name = agg(`: the aggregate's parenthesis.
        let eq = code.find('=')?;
        let open = eq + code.get(eq..)?.find('(')?;
        let Some(close) = closing_paren(code.get(open..)?).map(|i| open + i) else {
            // Inside the parentheses: the state comes first.
            let args = code.get(open + 1..)?;
            return (!args.contains(',')).then(|| pkg.map(state_names).unwrap_or_default());
        };
        let state = code.get(open + 1..close)?.split(',').next()?.trim().to_string();
        let record = pkg.and_then(|p| {
            let (_, def) = p.state_by_name(&state)?;
            p.record(def.record)
        });
        // The clauses after the aggregate, at depth 0, in order.
        let after = code.get(close + 1..)?;
        let mut clauses: Vec<(&str, usize)> = Vec::new();
        let mut depth = 0i32;
        let mut prev = ' ';
        let mut in_str = false;
        for (i, ch) in after.char_indices() {
            match ch {
                '"' if prev != '\\' => in_str = !in_str,
                _ if in_str => {}
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ if depth == 0 && prev != '.' && !(prev.is_alphanumeric() || prev == '_') => {
                    let w = ident_at_start(after.get(i..).unwrap_or(""));
                    if matches!(w, "where" | "by" | "age") {
                        clauses.push((w, i));
                    }
                }
                _ => {}
            }
            prev = ch;
        }
        let h = after.trim_end();
        let last_word = ident_before(h);
        let keyword_list = |from: usize| -> Vec<Completion> {
            keywords::CONTEXTUAL_CLAUSE
                .iter()
                .skip(from)
                .map(|w| Completion::new(*w, CompletionKind::Keyword, None))
                .collect()
        };
        let fields = |keep: &dyn Fn(&Ty) -> bool, given: &[&str]| -> Vec<Completion> {
            let (Some(pkg), Some(rec)) = (pkg, record) else { return Vec::new() };
            rec.fields
                .iter()
                .filter(|f| keep(&f.ty) && !given.contains(&f.name.as_str()))
                .map(|f| Completion {
                    docs: f.docs.clone(),
                    ..Completion::new(&f.name, CompletionKind::Field, Some(show_ty(pkg, &f.ty)))
                })
                .collect()
        };
        let position = |w: &str| keywords::CONTEXTUAL_CLAUSE.iter().position(|k| *k == w).unwrap_or(0);
        match clauses.last() {
            None => Some(keyword_list(0)),
            Some(("by", at)) => {
                let list = after.get(at + 2..)?;
                if last_word == "by" || h.ends_with(',') {
                    let given: Vec<&str> = list.split(',').map(str::trim).collect();
                    let groupable = |t: &Ty| !matches!(t.strip(), Ty::List(_) | Ty::Record(_));
                    Some(fields(&groupable, &given))
                } else {
                    Some(keyword_list(position("by") + 1))
                }
            }
            Some(("age", at)) => {
                let words: Vec<&str> = after.get(at + 3..)?.split_whitespace().collect();
                match words.as_slice() {
                    [] => Some(fields(&|t: &Ty| *t.strip() == Ty::Timestamp, &[])),
                    [_, ">", n]
                        if head.ends_with(char::is_whitespace) && n.starts_with(|c: char| c.is_ascii_digit()) =>
                    {
                        Some(AGE_UNITS.iter().map(|u| Completion::new(*u, CompletionKind::Keyword, None)).collect())
                    }
                    _ => Some(Vec::new()),
                }
            }
            Some((_, _)) => {
                // `where c`: once the condition has begun and may end here,
                // the next clauses, then what an expression may hold.
                let ended = h.ends_with(|c: char| c.is_alphanumeric() || matches!(c, '_' | ')' | ']' | '"'))
                    && !["where", "and", "or", "not", "in", "then", "else", "if"].contains(&last_word);
                if !ended {
                    return None;
                }
                Some(self.then_general(keyword_list(position("where") + 1), line, ItemContext::Metric))
            }
        }
    }

    /// In `Record { a: x, |`: the fields of `Record` not given yet.
    fn record_literal_completion(&self, head: &str) -> Option<Vec<Completion>> {
        let last = head.trim_end().chars().last()?;
        if last != '{' && last != ',' {
            return None;
        }
        let (open, kind, _) = unmatched_open(head)?;
        if kind != '{' {
            return None;
        }
        let c = self.checked()?;
        let pkg = &c.package;
        let (rec, keys) = record_before_brace(pkg, head.get(..open)?)?;
        let body = head.get(open + 1..)?;
        let given = given_fields(body);
        Some(
            rec.fields
                .iter()
                .filter(|f| !given.contains(&f.name) && !keys.contains(&f.name))
                .map(|f| Completion {
                    docs: f.docs.clone(),
                    ..Completion::new(&f.name, CompletionKind::Field, Some(show_ty(pkg, &f.ty)))
                })
                .collect(),
        )
    }

    fn destination_completion(&self) -> Vec<Completion> {
        let Some(c) = self.checked() else {
            return Vec::new();
        };
        let pkg = &c.package;
        // A family's members are reached as `family[variant]`: offer the family.
        let plain = pkg.destinations.iter().filter(|d| d.member_of.is_none()).map(|d| {
            Completion::new(
                &d.name,
                CompletionKind::Destination,
                pkg.record(d.record).map(|r| format!("destination {}: {}", d.name, r.name)),
            )
        });
        let families = pkg.families.iter().map(|f| {
            let index = pkg.enum_def(f.index).map(|e| e.name.as_str()).unwrap_or("?");
            Completion::new(
                &f.name,
                CompletionKind::Destination,
                pkg.record(f.record).map(|r| format!("destination {}[{index}]: {}", f.name, r.name)),
            )
        });
        plain.chain(families).collect()
    }

    /// Fields of the record before `.` (or `?.`), or variants after `Enum.`.
    fn member_completion(&self, key: &str, start: usize, head: &str) -> Vec<Completion> {
        let dot = head.len() - 1;
        let base_end = if head.ends_with("?.") { dot - 1 } else { dot };
        let word = ident_before(head.get(..base_end).unwrap_or(""));
        let Some(c) = self.checked() else {
            return Vec::new();
        };
        // `Enum.` lists the variants.
        if let Some(e) = c.package.enums.iter().find(|e| e.name == word) {
            return e.variants.iter().map(|v| variant_completion(&e.name, v)).collect();
        }
        if word == "Currency" {
            return self.currency_completion(key, false);
        }
        // Check the item around the cursor with a placeholder field name at
        // the cursor, so `t.` parses, and read the type of the expression
        // before the dot (a name, a field access, `projects[k]`, `f(x)`,
        // `(a ?? b)`...).
        let Some(probe) = self.probe(key, start) else {
            return Vec::new();
        };
        let base_ty = probe.type_ending_at(base_end);
        let Some(Ty::Record(r)) = base_ty.as_ref().map(Ty::strip) else {
            return Vec::new();
        };
        let Some(def) = probe.pkg.record(*r) else {
            return Vec::new();
        };
        def.fields
            .iter()
            .map(|f| Completion {
                docs: f.docs.clone(),
                ..Completion::new(&f.name, CompletionKind::Field, Some(show_ty(&probe.pkg, &f.ty)))
            })
            .collect()
    }

    // ------------------------------------------------------------ by expected type

    /// The values of the type the context expects at `start` (the start of
    /// the word being typed), marked `expected`; `None` where the context
    /// says nothing.
    fn expected_completion(&self, key: &str, text: &str, start: usize, head: &str) -> Option<Vec<Completion>> {
        let h = head.trim_end();
        // `12.50 |`: the currency of a Money literal.
        let number = h.chars().rev().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '_').count();
        let before_number = h.get(..h.len() - number).unwrap_or("");
        if number > 0
            && h.len() < head.len()
            && !head.get(h.len()..).unwrap_or("").contains('\n')
            && h.get(h.len() - number..).is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
            && !before_number.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.')
        {
            return Some(self.currency_completion(key, true));
        }
        // Contexts the text and the declarations decide.
        let c = self.checked()?;
        let pkg = &c.package;
        match calendar_argument(pkg, head) {
            Some(CalendarArg::Calendar) => return Some(calendar_names(pkg)),
            Some(CalendarArg::Value(ty)) => return self.values_of(key, pkg, &ty),
            None => {}
        }
        if let Some(ty) = self
            .field_value_type(pkg, head)
            .or_else(|| argument_type(pkg, head))
            .or_else(|| result_type(pkg, head))
            .or_else(|| decision_cell_type(pkg, text, head))
        {
            return self.values_of(key, pkg, &ty);
        }
        // Contexts that need the type of an expression before the cursor.
        if let Some((lhs_end, coalesce)) = comparison_lhs(head) {
            let probe = self.probe(key, start)?;
            let ty = probe.type_ending_at(lhs_end)?;
            let ty = if coalesce { ty.strip().clone() } else { ty };
            return self.values_of(key, &probe.pkg, &ty);
        }
        if let Some(brace) = match_brace(head) {
            let probe = self.probe_match(key, brace)?;
            let end = head.get(..brace)?.trim_end().len();
            let ty = probe.type_ending_at(end)?;
            return self.values_of(key, &probe.pkg, &ty);
        }
        None
    }

    /// `Record { field: |`: the type of `field`.
    fn field_value_type(&self, pkg: &ir::Package, head: &str) -> Option<Ty> {
        let h = head.trim_end().strip_suffix(':')?.trim_end();
        let field = ident_before(h);
        let (open, kind, _) = unmatched_open(head)?;
        if kind != '{' || field.is_empty() {
            return None;
        }
        let between = h.get(open + 1..h.len() - field.len())?.trim();
        if !(between.is_empty() || between.ends_with(',')) {
            return None;
        }
        let (rec, _) = record_before_brace(pkg, head.get(..open)?)?;
        rec.fields.iter().find(|f| f.name == field).map(|f| f.ty.clone())
    }

    /// The values of `ty`, marked expected (`None` when it has none to offer).
    fn values_of(&self, key: &str, pkg: &ir::Package, ty: &Ty) -> Option<Vec<Completion>> {
        let mut out = match ty.strip() {
            Ty::Enum(e) => {
                let def = pkg.enum_def(*e)?;
                def.variants.iter().map(|v| variant_completion(&def.name, v)).collect()
            }
            Ty::Currency => self.currency_completion(key, true),
            Ty::Bool => ["true", "false"]
                .iter()
                .map(|b| Completion::new(*b, CompletionKind::Constant, Some("Bool".into())))
                .collect(),
            _ if ty.is_optional() => Vec::new(),
            _ => return None,
        };
        if ty.is_optional() {
            out.push(Completion::new("none", CompletionKind::Constant, Some(show_ty(pkg, ty))));
        }
        for c in &mut out {
            c.expected = true;
        }
        Some(out)
    }

    /// Currency codes: those written in the file first, then common ones.
    fn currency_completion(&self, key: &str, bare: bool) -> Vec<Completion> {
        let text = self.text(key).unwrap_or("");
        let variants: Vec<String> = self
            .checked()
            .map(|c| c.package.enums.iter().flat_map(|e| e.variants.iter().map(|v| v.name.clone())).collect())
            .unwrap_or_default();
        // Three capitals standing alone, but a variant or a rejection code.
        let mut codes: Vec<String> = Vec::new();
        for (i, _) in text.match_indices(|c: char| c.is_ascii_uppercase()) {
            let before = text.get(..i).unwrap_or("");
            if before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let word = text.get(i..).map(ident_at_start).unwrap_or("");
            if word.len() == 3
                && word.chars().all(|c| c.is_ascii_uppercase())
                && !ends_with_word(before.trim_end(), "reject")
                && !variants.iter().any(|v| v == word)
                && !codes.iter().any(|c| c == word)
            {
                codes.push(word.to_string());
            }
        }
        for c in CURRENCIES {
            if !codes.iter().any(|x| x == c) {
                codes.push((*c).to_string());
            }
        }
        codes
            .into_iter()
            .map(|code| Completion {
                expected: bare,
                ..Completion::new(code.clone(), CompletionKind::Constant, Some(format!("Currency.{code}")))
            })
            .collect()
    }
}

/// The package's states, in declaration order.
fn state_names(pkg: &ir::Package) -> Vec<Completion> {
    pkg.states
        .iter()
        .map(|s| {
            let detail = pkg.record(s.record).map(|r| format!("state {}: {}", s.name, r.name));
            Completion { docs: s.docs.clone(), ..Completion::new(&s.name, CompletionKind::Value, detail) }
        })
        .collect()
}

/// The record whose fields a `{` opens, from the text before it: `Record {`
/// (a literal, not `record Record {`, which declares them) or `update
/// state[k] {`, with the fields that cannot be given there (the state's key).
fn record_before_brace<'p>(pkg: &'p ir::Package, before: &str) -> Option<(&'p ir::RecordDef, Vec<String>)> {
    let before = before.trim_end();
    let name = ident_before(before);
    if !name.is_empty() {
        let decl = before.get(..before.len() - name.len()).unwrap_or("").trim_end();
        if ends_with_word(decl, "record") || ends_with_word(decl, "event") {
            return None;
        }
        return pkg.records.iter().skip(1).find(|r| r.name == name).map(|r| (r, Vec::new()));
    }
    let (bracket, kind, _) = unmatched_open(before.strip_suffix(']')?)?;
    if kind != '[' {
        return None;
    }
    let lhs = before.get(..bracket)?.trim_end();
    let state = ident_before(lhs);
    if !ends_with_word(lhs.get(..lhs.len() - state.len())?.trim_end(), "update") {
        return None;
    }
    let (_, def) = pkg.state_by_name(state)?;
    let rec = pkg.record(def.record)?;
    let keys = def.keys.iter().filter_map(|i| rec.fields.get(*i as usize)).map(|f| f.name.clone()).collect();
    Some((rec, keys))
}

fn variant_completion(enum_name: &str, v: &ir::VariantDef) -> Completion {
    Completion {
        docs: v.docs.clone(),
        ..Completion::new(&v.name, CompletionKind::Variant, Some(format!("{enum_name}.{}", v.name)))
    }
}

/// The identifier at the start of `s`.
fn ident_at_start(s: &str) -> &str {
    let n: usize = s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').map(char::len_utf8).sum();
    s.get(..n).unwrap_or("")
}

/// The identifier at the end of `s`.
fn ident_before(s: &str) -> &str {
    let n: usize = s.chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').map(char::len_utf8).sum();
    s.get(s.len() - n..).unwrap_or("")
}

/// The last bracket of `head` left open: its offset, the bracket, and the
/// commas at its depth after it.
fn unmatched_open(head: &str) -> Option<(usize, char, u32)> {
    let (mut depth, mut commas) = (0i32, 0u32);
    for (i, ch) in head.char_indices().rev() {
        match ch {
            ')' | ']' | '}' => depth += 1,
            '(' | '[' | '{' if depth > 0 => depth -= 1,
            '(' | '[' | '{' => return Some((i, ch, commas)),
            ',' if depth == 0 => commas += 1,
            _ => {}
        }
    }
    None
}

/// Whether `s` ends with the keyword `kw`.
fn ends_with_word(s: &str, kw: &str) -> bool {
    s.strip_suffix(kw).is_some_and(|b| !b.ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// `f(a, |`: the type of the parameter being written.
fn argument_type(pkg: &ir::Package, head: &str) -> Option<Ty> {
    let h = head.trim_end();
    if !(h.ends_with('(') || h.ends_with(',')) {
        return None;
    }
    let (open, kind, commas) = unmatched_open(head)?;
    if kind != '(' {
        return None;
    }
    let name = ident_before(head.get(..open)?);
    let index = commas as usize;
    if let Some(f) = pkg.functions.iter().find(|f| f.name == name) {
        return f.params.get(index).map(|(_, t)| t.clone());
    }
    if let Some(d) = pkg.decisions.iter().find(|d| d.name == name) {
        return d.params.get(index).map(|(_, t)| t.clone());
    }
    // A built-in: the parameter's type when every signature that has it agrees.
    let b = canon_stdlib::functions::lookup(name)?;
    let mut found: Option<String> = None;
    for o in b.overloads {
        if let Some(p) = o.params.get(index).map(|p| p.ty.to_string()) {
            if found.as_ref().is_some_and(|f| *f != p) {
                return None;
            }
            found = Some(p);
        }
    }
    named_type(pkg, &found?)
}

/// Whether `name` is declared in the package (and so not a calendar function when called).
fn is_item(pkg: &ir::Package, name: &str) -> bool {
    pkg.functions.iter().any(|f| f.name == name)
        || pkg.decisions.iter().any(|d| d.name == name)
        || pkg.tables.iter().any(|t| t.name == name)
        || pkg.calendars.iter().any(|c| c.name == name)
}

/// What an argument of a calendar function is.
enum CalendarArg {
    /// The first: a declared calendar.
    Calendar,
    /// A value of a known type: who (the holiday table's first key), the date, `n`.
    Value(Ty),
}

/// `is_business_day(|`, `add_business_days(cal, |`: what the argument being written is (LANGUAGE.md §5.3).
fn calendar_argument(pkg: &ir::Package, head: &str) -> Option<CalendarArg> {
    let h = head.trim_end();
    if !(h.ends_with('(') || h.ends_with(',')) {
        return None;
    }
    let (open, kind, commas) = unmatched_open(head)?;
    let name = ident_before(head.get(..open)?);
    if kind != '(' || is_item(pkg, name) {
        return None;
    }
    let f = calendar_function(name)?;
    if commas == 0 {
        return Some(CalendarArg::Calendar);
    }
    let param = f.params.get(commas as usize)?;
    let ty = match param.ty {
        Some(t) => named_type(pkg, t)?,
        None => {
            // Who: the first key of the holiday table of the calendar written first.
            let first = head.get(open + 1..)?.split(',').next()?.trim();
            let cal = pkg.calendars.iter().find(|c| c.name == first)?;
            let table = pkg.tables.get(cal.holidays.0 as usize)?;
            let rec = pkg.record(table.record)?;
            rec.fields.get(*table.keys.first()? as usize)?.ty.clone()
        }
    };
    Some(CalendarArg::Value(ty))
}

/// The package's calendars, marked expected: the first argument of a calendar function.
fn calendar_names(pkg: &ir::Package) -> Vec<Completion> {
    pkg.calendars
        .iter()
        .map(|c| Completion {
            expected: true,
            ..Completion::new(&c.name, CompletionKind::Value, Some("calendar".into()))
        })
        .collect()
}

/// `fn f(...) -> T = |`: the declared result.
fn result_type(pkg: &ir::Package, head: &str) -> Option<Ty> {
    let h = head.trim_end().strip_suffix('=')?;
    if h.ends_with(['=', '!', '<', '>']) {
        return None;
    }
    let h = h.trim_end();
    let n: usize = h
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '?' | '<' | '>'))
        .map(char::len_utf8)
        .sum();
    let ty = h.get(h.len() - n..)?;
    if !h.get(..h.len() - n)?.trim_end().ends_with("->") {
        return None;
    }
    named_type(pkg, ty)
}

/// A type written as a name, with or without `?` (enums, Currency, Bool).
fn named_type(pkg: &ir::Package, name: &str) -> Option<Ty> {
    let (name, optional) = match name.strip_suffix('?') {
        Some(n) => (n, true),
        None => (name, false),
    };
    let ty = match name {
        "Currency" => Ty::Currency,
        "Bool" => Ty::Bool,
        _ => {
            let i = pkg.enums.iter().position(|e| e.name == name)?;
            Ty::Enum(canon_compiler::types::EnumId(i as u32))
        }
    };
    Some(if optional { Ty::optional(ty) } else { ty })
}

/// The hit policies of a decision (LANGUAGE.md §5.2), as completion offers them.
const HIT_POLICIES: &[&str] = &["first", "unique", "any", "priority", "output order", "collect"];

/// Where in a decision's header row (`| param | ... || out | ... |`, the
/// first after `hit`) the cursor is.
#[derive(Debug, PartialEq, Eq)]
enum Header {
    /// Left of `||`: the parameters (name and type as written) not yet a
    /// column, in declaration order.
    Inputs(Vec<(String, String)>),
    /// Right of `||`.
    Outputs,
}

/// The header row of a decision around `at`, read from the text alone (the
/// decision does not parse while its header is being written).
fn decision_header(text: &str, at: usize) -> Option<Header> {
    let (start, end) = item_chunk(text, at);
    let code = blank_comments(text.get(start..end)?);
    let at = at.checked_sub(start)?;
    let kw = find_word(&code, "decision")?;
    if !code.get(..kw)?.trim().is_empty() {
        return None;
    }
    let open = kw + code.get(kw..)?.find('(')?;
    let close = open + closing_paren(code.get(open..)?)?;
    let hit = close + find_word(code.get(close..)?, "hit")?;
    let bar = hit + code.get(hit..)?.find('|')?;
    let line_end = code.get(bar..)?.find('\n').map_or(code.len(), |i| bar + i);
    if at <= bar || at > line_end {
        return None;
    }
    // The header after its first `|`, and the cursor in it.
    let header = code.get(bar + 1..line_end)?;
    let cursor = at - bar - 1;
    if header.get(..cursor)?.contains("||") {
        return Some(Header::Outputs);
    }
    let inputs = header.get(..header.find("||").unwrap_or(header.len()))?;
    // The columns given, but the one the cursor is in.
    let mut used = Vec::new();
    let mut cell_start = 0;
    for cell in inputs.split('|') {
        let cell_end = cell_start + cell.len();
        if !(cell_start <= cursor && cursor <= cell_end) {
            used.push(cell.trim());
        }
        cell_start = cell_end + 1;
    }
    let params = signature_params(code.get(open + 1..close)?)
        .into_iter()
        .filter(|(name, _)| !used.contains(&name.as_str()))
        .collect();
    Some(Header::Inputs(params))
}

/// `text` with its `//` comments blanked out (offsets kept).
fn blank_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (code, comment) = match line.find("//") {
            Some(i) => line.split_at(i),
            None => (line, ""),
        };
        out.push_str(code);
        for c in comment.chars() {
            if c == '\n' {
                out.push(c);
            } else {
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
    }
    out
}

/// The offset of the first `word` in `s` standing alone.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    s.match_indices(word).map(|(i, _)| i).find(|&i| {
        !s.get(..i).is_some_and(|b| b.ends_with(ident))
            && !s.get(i + word.len()..).is_some_and(|a| a.starts_with(ident))
    })
}

/// The offset of the `)` closing the `(` that starts `s`.
fn closing_paren(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The names and types (as written) of `name: Type, ...`.
fn signature_params(params: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut from = 0;
    let mut push = |p: &str| {
        if let Some((n, t)) = p.split_once(':') {
            let (n, t) = (n.trim(), t.trim());
            if !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_') {
                out.push((n.to_string(), t.to_string()));
            }
        }
    };
    for (i, c) in params.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                push(params.get(from..i).unwrap_or(""));
                from = i + 1;
            }
            _ => {}
        }
    }
    push(params.get(from..).unwrap_or(""));
    out
}

/// In a decision row: the type of the cell being written (its input's
/// parameter, or its output column).
fn decision_cell_type(pkg: &ir::Package, text: &str, head: &str) -> Option<Ty> {
    let line = head.rsplit('\n').next().unwrap_or(head);
    if !line.trim_start().starts_with('|') {
        return None;
    }
    let (start, end) = item_chunk(text, head.len());
    let item = text.get(start..end)?;
    let decl = item.lines().find(|l| !l.trim_start().starts_with("//"))?.trim_start();
    let name = ident_before(
        decl.strip_prefix("decision")?.trim_start().split(|c: char| !(c.is_alphanumeric() || c == '_')).next()?,
    );
    let header_at = item.find("\n")? + 1;
    let header = item.get(header_at..)?.lines().find(|l| l.trim_start().starts_with('|'))?;
    let header_start = start + header_at + item.get(header_at..)?.find(header)?;
    if head.len() <= header_start + header.len() {
        return None;
    }
    let (ins, outs) = header.split_once("||")?;
    let columns =
        |s: &str| -> Vec<String> { s.split('|').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect() };
    // The signature: checked, or read from the text while the table does not parse.
    // (A result that is not an enum, Bool, Currency or record, such as
    // Money, is unknown then; the input columns still are.)
    let (params, ret) = match pkg.decisions.iter().find(|d| d.name == name) {
        Some(d) => (d.params.clone(), Some(d.ret.clone())),
        None => {
            let (ps, ret) = decl.split_once('(')?.1.split_once(')')?;
            let params = ps
                .split(',')
                .filter_map(|p| {
                    let (n, t) = p.split_once(':')?;
                    Some((n.trim().to_string(), named_type(pkg, t.trim())?))
                })
                .collect();
            let ret = ret.trim().strip_prefix("->")?.trim();
            let ret = named_type(pkg, ret).or_else(|| {
                let i = pkg.records.iter().position(|r| r.name == ret)?;
                Some(Ty::Record(canon_compiler::types::RecordId(i as u32)))
            });
            (params, ret)
        }
    };
    match line.split_once("||") {
        None => {
            let col = columns(ins).get(line.matches('|').count().checked_sub(1)?)?.clone();
            params.iter().find(|(n, _)| *n == col).map(|(_, t)| t.clone())
        }
        Some((_, after)) => {
            let col = columns(outs).get(after.matches('|').count())?.clone();
            match ret?.strip() {
                Ty::Record(r) => pkg.record(*r)?.fields.iter().find(|f| f.name == col).map(|f| f.ty.clone()),
                t => Some(t.clone()),
            }
        }
    }
}

/// `a == |`, `a != |`, `a ?? |`, `a in [x, |`: where the expression `a`
/// ends, and whether it is `??` (which expects `a` without its `?`).
fn comparison_lhs(head: &str) -> Option<(usize, bool)> {
    let h = head.trim_end();
    for op in ["==", "!=", "??"] {
        if let Some(lhs) = h.strip_suffix(op) {
            return Some((lhs.trim_end().len(), op == "??"));
        }
    }
    if !(h.ends_with('[') || h.ends_with(',')) {
        return None;
    }
    let (open, kind, _) = unmatched_open(head)?;
    let before = head.get(..open)?.trim_end();
    if kind != '[' || !ends_with_word(before, "in") {
        return None;
    }
    let mut lhs = before.get(..before.len() - 2)?.trim_end();
    if ends_with_word(lhs, "not") {
        lhs = lhs.get(..lhs.len() - 3)?.trim_end();
    }
    Some((lhs.len(), false))
}

/// Where a pattern of a `match` arm is being written: the offset of the
/// match's `{`.
fn match_brace(head: &str) -> Option<usize> {
    let h = head.trim_end();
    if !h.ends_with(['{', ',', '|', '}']) {
        return None;
    }
    // The arm being written has no `=>` yet: back to the previous arm's
    // end (a `,` or the `}` of a block) or the match's `{`.
    let mut depth = 0i32;
    let mut arrow = false;
    let mut segment_done = false;
    let mut prev = ' ';
    for (i, ch) in head.char_indices().rev() {
        match ch {
            '}' if depth == 0 && !segment_done => {
                segment_done = true;
                depth += 1;
            }
            ')' | ']' | '}' => depth += 1,
            '(' | '[' | '{' if depth > 0 => depth -= 1,
            '{' => {
                if arrow {
                    return None;
                }
                let before = head.get(..i)?.trim_end();
                // `match <expr> {`: the keyword starts a line or follows `=`, `(`...
                let kw = before.rfind("match")?;
                let scrutinee = before.get(kw + 5..)?;
                if !ends_with_word(before.get(..kw + 5)?, "match")
                    || !scrutinee.starts_with(char::is_whitespace)
                    || scrutinee.contains(['{', '}', '\n'])
                {
                    return None;
                }
                return Some(i);
            }
            '(' | '[' => return None,
            ',' if depth == 0 => segment_done = true,
            '=' if depth == 0 && !segment_done && prev == '>' => arrow = true,
            _ => {}
        }
        prev = ch;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header at the end of `head` (with `tail` after it).
    fn header(head: &str, tail: &str) -> Option<Header> {
        decision_header(&format!("{head}{tail}"), head.len())
    }

    fn inputs(names: &[(&str, &str)]) -> Option<Header> {
        Some(Header::Inputs(names.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()))
    }

    #[test]
    fn the_header_is_the_row_after_hit() {
        // A signature over lines, a `List<...>` type, comments (one naming `hit`).
        let sig = "/// A decision: hit | me.\ndecision d(\n  a: Int, // hit | a\n  b: List<Text>,\n  c: Bool\n) -> Int\n  hit first // the policy\n";
        assert_eq!(header(&format!("{sig}  | "), ""), inputs(&[("a", "Int"), ("b", "List<Text>"), ("c", "Bool")]));
        assert_eq!(
            header(&format!("{sig}  | c | "), " | a || v |\n  | 1 | - | - || 2 |\n"),
            inputs(&[("b", "List<Text>")])
        );
        assert_eq!(header(&format!("{sig}  | a | b | c || "), ""), Some(Header::Outputs));
        // Not the header: the rows, the signature, another item.
        assert_eq!(header(&format!("{sig}  | a | b | c || v |\n  | "), ""), None);
        assert_eq!(header("decision d(a: Int) -> Int\n  hit first\n  | a || v |\n  | ", ""), None);
        assert_eq!(header("decision d(", "a: Int) -> Int\n  hit first\n  | a || v |\n"), None);
        assert_eq!(header("fn f(a: Int) -> Int = match a {\n  1 | ", "2 => 3\n}\n"), None);
        // On one line with `hit`.
        assert_eq!(header("decision d(a: Int) -> Int hit first | ", ""), inputs(&[("a", "Int")]));
    }
}
