//! Builds the syntax tree from the pest grammar in `grammar/canon.pest`.
//!
//! Parsing never fails: a syntax error becomes an E0001 diagnostic, and the
//! parser recovers item by item, so the rest of the file is still checked.

use pest::iterators::Pair;
use pest::Parser as _;

use super::ast::*;
use super::nesting;
use crate::diagnostics::{Code, Data, Diagnostic, FileId};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/canon.pest"]
struct CanonParser;

/// The result of parsing one file: always a tree, plus its syntax errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a whole file.
pub fn parse(text: &str, file_id: FileId) -> Parsed {
    let mut b = Builder { text, file: file_id, diagnostics: Vec::new(), too_deep: Vec::new() };
    let whole = nesting::on_stack(text, || match CanonParser::parse(Rule::file, text) {
        Ok(mut pairs) => Some(pairs.next().map(|file| b.items(file, 0)).unwrap_or_default()),
        Err(_) => None,
    });
    if let Ok(Some(items)) = whole {
        let broken = std::mem::take(&mut b.too_deep);
        return Parsed { file: File { items, broken }, diagnostics: b.diagnostics };
    }
    // Recover: re-parse each top-level item on its own.
    let mut items = Vec::new();
    let mut broken = Vec::new();
    for (start, end) in item_chunks(text) {
        let Some(chunk) = text.get(start..end) else { continue };
        if chunk.trim().is_empty() || CanonParser::parse(Rule::blank, chunk).is_ok() {
            continue;
        }
        let parsed = nesting::on_stack(chunk, || match CanonParser::parse(Rule::item_alone, chunk) {
            Ok(mut pairs) => {
                if let Some(p) = pairs.next() {
                    items.extend(b.items(p, start));
                }
                true
            }
            Err(e) => {
                b.syntax_error(&e, start, chunk);
                false
            }
        });
        match parsed {
            Ok(true) => {}
            Ok(false) => broken.extend(declared_name(chunk)),
            Err(deep) => {
                b.nested_too_deeply(start + deep.at);
                broken.extend(declared_name(chunk));
            }
        }
    }
    if b.diagnostics.is_empty() {
        // The chunks parse alone but not together: report the whole-file error.
        match nesting::on_stack(text, || CanonParser::parse(Rule::file, text).err()) {
            Ok(Some(e)) => b.syntax_error(&e, 0, text),
            Ok(None) => {}
            Err(deep) => b.nested_too_deeply(deep.at),
        }
    }
    broken.append(&mut b.too_deep);
    Parsed { file: File { items, broken }, diagnostics: b.diagnostics }
}

/// The whole file's parse and tree, on the stack it is called on (the tests
/// of syntax/nesting.rs run it on stacks of the size `nesting::scan` gives).
#[cfg(test)]
pub(crate) fn parse_here(text: &str) -> Option<Parsed> {
    let mut b = Builder { text, file: FileId(0), diagnostics: Vec::new(), too_deep: Vec::new() };
    let items = CanonParser::parse(Rule::file, text).ok()?.next().map(|file| b.items(file, 0)).unwrap_or_default();
    Some(Parsed { file: File { items, broken: b.too_deep }, diagnostics: b.diagnostics })
}

/// Parses one chunk of [`item_chunks`] (a top-level item, the docs before
/// it and the comments after it) as a file of its own, spans relative to its
/// start: `None` when it does not parse alone. When every chunk of a file
/// parses, the file's tree is theirs, moved to where each chunk starts (the
/// salsa `parse_file` re-parses only the chunks an edit touched).
pub fn parse_chunk(chunk: &str) -> Option<Parsed> {
    let mut b = Builder { text: chunk, file: FileId(0), diagnostics: Vec::new(), too_deep: Vec::new() };
    let items = nesting::on_stack(chunk, || {
        let mut pairs = CanonParser::parse(Rule::file, chunk).ok()?;
        Some(pairs.next().map(|p| b.items(p, 0)).unwrap_or_default())
    })
    .ok()??;
    // A tree nested too deeply is reported by the whole file's parse.
    if !b.too_deep.is_empty() {
        return None;
    }
    Some(Parsed { file: File { items, broken: Vec::new() }, diagnostics: b.diagnostics })
}

/// The name an item declares, read from its first words (`record Line {` gives `Line`).
fn declared_name(chunk: &str) -> Option<String> {
    let code: String = chunk.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut words = code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
    let kw = words.next()?;
    if ["enum", "record", "event", "destination", "table", "fn", "decision", "state", "metric"].contains(&kw) {
        words.next().map(str::to_string)
    } else {
        None
    }
}

/// Splits a file at lines that start a top-level item (a line starting with an
/// item keyword, or a `///` doc comment before one).
pub fn item_chunks(text: &str) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    let mut offset = 0usize;
    let mut doc_start: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let word_end = trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(trimmed.len());
        let first_word = trimmed.get(..word_end).unwrap_or("");
        if trimmed.starts_with("///") {
            if doc_start.is_none() {
                doc_start = Some(offset + indent);
            }
        } else if (super::keywords::ITEM.contains(&first_word) || contextual_item(first_word, trimmed))
            && (indent == 0 || doc_start.is_some())
        {
            starts.push(doc_start.unwrap_or(offset + indent));
            doc_start = None;
        } else if !trimmed.trim().is_empty() {
            doc_start = None;
        }
        offset += line.len();
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let mut chunks = Vec::new();
    for (i, s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).copied().unwrap_or(text.len());
        chunks.push((*s, e));
    }
    chunks
}

/// Whether a line starting with `word` begins a `state` or `metric`
/// declaration (`state name:`, `metric name =`): those words are keywords
/// only there (LANGUAGE.md §2).
fn contextual_item(word: &str, line: &str) -> bool {
    let Some(punct) = super::keywords::CONTEXTUAL_ITEM.iter().find(|(w, _)| *w == word).map(|(_, p)| *p) else {
        return false;
    };
    let rest = line.get(word.len()..).unwrap_or("").trim_start();
    let name_end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    name_end > 0 && rest.get(name_end..).unwrap_or("").trim_start().starts_with(punct)
}

/// `s` without the whitespace and whole-line comments at its end.
fn trim_trivia(mut s: &str) -> &str {
    loop {
        s = s.trim_end();
        let last_line = s.rfind('\n').and_then(|nl| s.get(nl + 1..).map(|l| (nl, l)));
        match last_line {
            Some((nl, line)) if line.trim_start().starts_with("//") => s = s.get(..nl).unwrap_or(""),
            _ => return s,
        }
    }
}

struct Builder<'t> {
    text: &'t str,
    file: FileId,
    diagnostics: Vec<Diagnostic>,
    /// The names of items left out because their trees nest too deeply.
    too_deep: Vec<String>,
}

fn rule_name(r: &Rule) -> Option<&'static str> {
    Some(match r {
        Rule::EOI => "end of file",
        Rule::ident | Rule::name => "a name",
        Rule::type_name => "a type name",
        r if is_expression_rule(*r) => "an expression",
        Rule::ty | Rule::ty_base | Rule::path_ty | Rule::list_ty => "a type",
        Rule::string => "a string",
        Rule::code => "a rejection code such as `PROJECT_CLOSED`",
        Rule::in_cell
        | Rule::multi_cell
        | Rule::any_cell
        | Rule::cmp_cell
        | Rule::range_cell
        | Rule::not_cell
        | Rule::values_cell => "a decision cell",
        Rule::cell_value => "a value",
        Rule::row | Rule::header_row => "a decision row",
        Rule::enum_decl
        | Rule::record_decl
        | Rule::event_decl
        | Rule::destination_decl
        | Rule::table_decl
        | Rule::fn_decl
        | Rule::decision_decl
        | Rule::handler
        | Rule::test_decl => "a declaration",
        Rule::let_stmt
        | Rule::check_stmt
        | Rule::require_stmt
        | Rule::reject_stmt
        | Rule::emit_stmt
        | Rule::if_stmt
        | Rule::match_stmt
        | Rule::for_stmt => "a statement",
        Rule::given | Rule::given_file | Rule::with_rows | Rule::expect_stmt | Rule::assert_stmt => "a test statement",
        Rule::field => "a field",
        Rule::variant => "a variant",
        Rule::param => "a parameter",
        Rule::field_init => "a field",
        Rule::pattern | Rule::patterns => "a pattern",
        Rule::call_args => "`(`",
        Rule::dot_field => "`.`",
        Rule::opt_field => "`?.`",
        Rule::index => "`[`",
        Rule::cmp_op => "a comparison",
        Rule::add_op => "`+` or `-`",
        Rule::mul_op => "`*` or `/`",
        Rule::op_and => "`and`",
        Rule::op_or => "`or`",
        Rule::op_coalesce => "`??`",
        Rule::opt_mark => "`?`",
        Rule::expectation | Rule::expect_status => "`accepted`, `rejected`, `reject CODE` or `emit`",
        Rule::hit_policy => "a hit policy (`first`, `unique`, `any`, `priority`, `output order`, `collect`)",
        Rule::default_clause => "`default`",
        Rule::kw_default => "`default`",
        Rule::lambda => "a lambda",
        Rule::rest => "`..`",
        Rule::currency => "a currency code",
        Rule::kw_and => "`and`",
        Rule::kw_assert => "`assert`",
        Rule::kw_as => "`as`",
        Rule::kw_check => "`check`",
        Rule::kw_decision => "`decision`",
        Rule::kw_destination => "`destination`",
        Rule::kw_else => "`else`",
        Rule::kw_emit => "`emit`",
        Rule::kw_enum => "`enum`",
        Rule::kw_event => "`event`",
        Rule::kw_expect => "`expect`",
        Rule::kw_fn => "`fn`",
        Rule::kw_for => "`for`",
        Rule::kw_given => "`given`",
        Rule::kw_hit => "`hit`",
        Rule::kw_if => "`if`",
        Rule::kw_in => "`in`",
        Rule::kw_key => "`key`",
        Rule::kw_let => "`let`",
        Rule::kw_match => "`match`",
        Rule::kw_not => "`not`",
        Rule::kw_on => "`on`",
        Rule::kw_record => "`record`",
        Rule::kw_reject => "`reject`",
        Rule::kw_require => "`require`",
        Rule::kw_table => "`table`",
        Rule::kw_test => "`test`",
        Rule::kw_then => "`then`",
        Rule::kw_with => "`with`",
        Rule::kw_no => "`no`",
        Rule::kw_file => "`file`",
        Rule::kw_times => "`times`",
        Rule::kw_exactly => "`exactly`",
        Rule::dest_index | Rule::emit_index | Rule::member => "`[`",
        Rule::reject_message => "a message",
        Rule::reject_times => "`times`",
        Rule::expect_exactly | Rule::exact_emit => "`emit`",
        Rule::kw_state => "`state`",
        Rule::kw_metric => "`metric`",
        Rule::kw_put => "`put`",
        Rule::kw_update => "`update`",
        Rule::kw_delete => "`delete`",
        Rule::kw_where => "`where`",
        Rule::kw_by => "`by`",
        Rule::kw_effective => "`effective`",
        Rule::kw_to => "`to`",
        Rule::kw_of => "`of`",
        Rule::kw_calendar => "`calendar`",
        Rule::calendar_decl => "a declaration",
        Rule::calendar_entry => "a calendar entry",
        Rule::as_of => "`as of`",
        Rule::table_effective => "`effective`",
        Rule::kw_age => "`age`",
        Rule::state_keys => "`[`",
        Rule::put_stmt | Rule::update_stmt | Rule::delete_stmt => "a statement",
        Rule::state_decl | Rule::metric_decl => "a declaration",
        Rule::metric_where => "`where`",
        Rule::metric_by => "`by`",
        Rule::metric_age => "`age`",
        Rule::expect_state | Rule::expect_no_state => "`state`",
        _ => return None,
    })
}

impl<'t> Builder<'t> {
    fn syntax_error(&mut self, e: &pest::error::Error<Rule>, base: usize, chunk: &str) {
        let pos = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let found = describe_at(self.text, base + pos);
        let message = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => {
                let mut names: Vec<&str> = positives.iter().filter_map(rule_name).collect();
                names.sort_unstable();
                names.dedup();
                match names.len() {
                    0 => format!("unexpected {found}"),
                    1 => format!("expected {}, found {found}", names.join("")),
                    _ => {
                        let (last, rest) = names.split_last().map(|(l, r)| (*l, r.to_vec())).unwrap_or(("", vec![]));
                        format!("expected {} or {last}, found {found}", rest.join(", "))
                    }
                }
            }
            pest::error::ErrorVariant::CustomError { message } => message.clone(),
        };
        let at = base + pos;
        let end = (at + found_len(self.text, at)).min(self.text.len()).max(at);
        let positives = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => positives.as_slice(),
            pest::error::ErrorVariant::CustomError { .. } => &[],
        };
        if let Some(d) = self.likely_slip(at, positives) {
            self.diagnostics.push(d);
            return;
        }
        let mut d = Diagnostic::new(Code::E0001, self.file, Span::new(at, end), message);
        if let Some(h) = syntax_help(chunk, pos) {
            d = d.with_help(h);
        }
        self.diagnostics.push(d);
    }

    /// A syntax error with a likely cause, said plainly with the one edit
    /// that fixes it (LANGUAGE.md §11) rather than as every token the
    /// grammar would take: `=` where a comparison was meant, a currency
    /// code in lower case, a Money literal without the space before its code.
    fn likely_slip(&self, at: usize, positives: &[Rule]) -> Option<Diagnostic> {
        let rest = self.text.get(at..)?;
        let before = self.text.get(..at)?;
        let word: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let replace = |span: Span, with: &str| Data::Replace { span, with: vec![with.to_string()] };
        let in_cell = positives.iter().any(is_cell_rule);
        let lone_eq = rest.starts_with('=') && !rest.starts_with("==") && !rest.starts_with("=>");
        if (lone_eq && positives.contains(&Rule::cmp_op)) || (in_cell && rest.starts_with('=')) {
            let eq = if rest.starts_with("==") { 2 } else { 1 };
            let span = Span::new(at, at + eq);
            let d = if !in_cell {
                Diagnostic::new(Code::E0001, self.file, span, "`=` does not compare: use `==` to compare")
                    .with_help("`=` gives a `let` its value; `==` tests whether two values are equal")
                    .with_data(replace(span, "=="))
            } else {
                // The `=` and the spaces after it go.
                let blank = rest.get(eq..).map(|r| r.len() - r.trim_start_matches([' ', '\t']).len()).unwrap_or(0);
                let eqs = if eq == 2 { "==" } else { "=" };
                Diagnostic::new(Code::E0001, self.file, span, format!("a decision cell does not start with `{eqs}`"))
                    .with_help("a cell that tests equality is the value alone: `Open`, `\"EU\"`, `12`")
                    .with_data(replace(Span::new(at, at + eq + blank), ""))
            };
            return Some(d);
        }
        let is_code = word.len() == 3 && word.chars().all(|c| c.is_ascii_alphabetic());
        if is_code && positives.contains(&Rule::currency) && word.chars().any(|c| c.is_ascii_lowercase()) {
            let upper = word.to_ascii_uppercase();
            let span = Span::new(at, at + 3);
            return Some(
                Diagnostic::new(
                    Code::E0001,
                    self.file,
                    span,
                    format!("currency codes are upper case: write `{upper}`"),
                )
                .with_help(format!(
                    "a Money literal is an amount, a space and a three-letter ISO 4217 code in capitals, \
                         such as `12.50 {upper}`"
                ))
                .with_data(replace(span, &upper)),
            );
        }
        let after_digit = before.chars().next_back().is_some_and(|c| c.is_ascii_digit());
        if is_code && after_digit && word.chars().all(|c| c.is_ascii_uppercase()) {
            let span = Span::new(at, at + 3);
            return Some(
                Diagnostic::new(Code::E0001, self.file, span, "a Money literal needs a space before its currency code")
                    .with_help(format!("write the amount, a space, then the code: `{} {word}`", number_before(before)))
                    .with_data(replace(Span::new(at, at), " ")),
            );
        }
        None
    }

    fn err(&mut self, code: Code, span: Span, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::new(code, self.file, span, message));
    }

    fn span(&self, p: &Pair<Rule>, base: usize) -> Span {
        // Pest spans can end in the implicit whitespace and comments after
        // the last token (up to the next item's docs).
        let s = p.as_span();
        let trimmed = trim_trivia(p.as_str()).len();
        Span::new(base + s.start(), base + s.start() + trimmed)
    }

    fn ident(&self, p: Pair<'t, Rule>, base: usize) -> Ident {
        Ident { text: p.as_str().to_string(), span: self.span(&p, base) }
    }

    /// Doc comment lines (`///`) directly above `start`.
    fn docs_before(&self, start: u32) -> Option<String> {
        let before = self.text.get(..start as usize)?;
        let mut lines: Vec<&str> = Vec::new();
        let mut rest = before;
        // Drop the part of the current line before the item.
        if let Some(nl) = rest.rfind('\n') {
            if !rest.get(nl + 1..).map(|s| s.trim().is_empty()).unwrap_or(true) {
                return None;
            }
            rest = rest.get(..nl).unwrap_or("");
        } else {
            return None;
        }
        loop {
            let (head, line) = match rest.rfind('\n') {
                Some(nl) => (rest.get(..nl).unwrap_or(""), rest.get(nl + 1..).unwrap_or("")),
                None => ("", rest),
            };
            let t = line.trim();
            if let Some(doc) = t.strip_prefix("///") {
                lines.push(doc.strip_prefix(' ').unwrap_or(doc));
            } else {
                break;
            }
            if head.is_empty() && rest.find('\n').is_none() {
                break;
            }
            rest = head;
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    fn items(&mut self, file: Pair<'t, Rule>, base: usize) -> Vec<Item> {
        let mut items = Vec::new();
        for p in file.into_inner() {
            if let Some(item) = self.item(p, base) {
                match nesting::too_deep(&item) {
                    None => items.push(item),
                    Some(at) => {
                        // Left out, like an item with a syntax error: what
                        // reads the tree afterwards recurses at most
                        // `MAX_DEPTH` levels.
                        self.nested_too_deeply(at.start as usize);
                        self.too_deep.extend(item.name().map(|n| n.text.clone()));
                        nesting::dismantle(item);
                    }
                }
            }
        }
        items
    }

    /// E0001 for a text nested deeper than the parser reads (at `at`).
    fn nested_too_deeply(&mut self, at: usize) {
        let end = self.text.get(at..).and_then(|r| r.chars().next()).map_or(at, |c| at + c.len_utf8());
        let message = format!("this nests more than {} levels deep", nesting::MAX_DEPTH);
        let help = "Canon reads expressions, statements and types nested at most that deep (LANGUAGE.md §2, \
                    \"Nesting\"): name a part with `let`, or move it into a function or a decision table";
        self.diagnostics.push(Diagnostic::new(Code::E0001, self.file, Span::new(at, end), message).with_help(help));
    }

    fn item(&mut self, p: Pair<'t, Rule>, base: usize) -> Option<Item> {
        let span = self.span(&p, base);
        let docs = self.docs_before(span.start);
        let rule = p.as_rule();
        let mut it = inner(p);
        Some(match rule {
            Rule::enum_decl => {
                let name = self.ident(it.next()?, base);
                let variants = it
                    .filter(|v| v.as_rule() == Rule::variant)
                    .filter_map(|v| {
                        let vspan = self.span(&v, base);
                        let mut vi = inner(v);
                        let name = self.ident(vi.next()?, base);
                        let wire = vi.next().map(|s| self.str_lit(s, base));
                        Some(Variant { docs: self.docs_before(vspan.start), name, wire })
                    })
                    .collect();
                Item::Enum(EnumDecl { docs, name, variants, span })
            }
            Rule::record_decl | Rule::event_decl => {
                let is_event = rule == Rule::event_decl;
                let name = self.ident(it.next()?, base);
                let mut wire_type = None;
                let mut fields = Vec::new();
                for q in it {
                    match q.as_rule() {
                        Rule::string => wire_type = Some(self.str_lit(q, base)),
                        Rule::fields_body => {
                            for f in inner(q) {
                                let fspan = self.span(&f, base);
                                let mut fi = inner(f);
                                let (Some(n), Some(t)) = (fi.next(), fi.next()) else { continue };
                                let name = self.ident(n, base);
                                let ty = self.ty(t, base);
                                let wire = fi.next().map(|s| self.str_lit(s, base));
                                fields.push(FieldDecl { docs: self.docs_before(fspan.start), name, ty, wire });
                            }
                        }
                        _ => {}
                    }
                }
                Item::Record(RecordDecl { docs, name, is_event, wire_type, fields, span })
            }
            Rule::destination_decl => {
                let name = self.ident(it.next()?, base);
                let mut next = it.next()?;
                let mut index = None;
                if next.as_rule() == Rule::dest_index {
                    index = Some(self.ty(inner(next).next()?, base));
                    next = it.next()?;
                }
                let ty = self.ty(next, base);
                Item::Destination(DestinationDecl { docs, name, index, ty, span })
            }
            Rule::table_decl => {
                let name = self.ident(it.next()?, base);
                let ty = self.ty(it.next()?, base);
                let keys = inner(it.next()?).map(|k| self.ident(k, base)).collect();
                let effective = it.next().map(|e| {
                    let mut ids = inner(e).map(|k| self.ident(k, base));
                    let from = ids.next().unwrap_or_else(|| Ident { text: String::new(), span });
                    Effective { from, to: ids.next() }
                });
                Item::Table(TableDecl { docs, name, ty, keys, effective, span })
            }
            Rule::fn_decl => {
                let name = self.ident(it.next()?, base);
                let params = self.params(it.next()?, base);
                let ret = self.ty(it.next()?, base);
                let body = it.next()?;
                let mut lets = Vec::new();
                let mut result = None;
                for q in inner(body) {
                    match q.as_rule() {
                        Rule::let_stmt => lets.push(self.let_stmt(q, base)?),
                        _ => result = Some(self.expr(q, base)),
                    }
                }
                Item::Fn(FnDecl { docs, name, params, ret, lets, body: result?, span })
            }
            Rule::decision_decl => {
                let name = self.ident(it.next()?, base);
                let params = self.params(it.next()?, base);
                let ret = self.ty(it.next()?, base);
                let hp = it.next()?;
                let hspan = self.span(&hp, base);
                let words: Vec<&str> = inner(hp).map(|w| w.as_str()).collect();
                let hit = Ident { text: words.join(" "), span: hspan };
                let mut header = it.next()?;
                let mut default = None;
                if header.as_rule() == Rule::default_clause {
                    default = inner(header).find(|q| q.as_rule() == Rule::expr).map(|e| self.expr(e, base));
                    header = it.next()?;
                }
                let header_span = self.span(&header, base);
                let (inputs, outputs) = self.header(header, base);
                let mut rows = Vec::new();
                let mut last_line_end: Option<u32> = Some(header_span.end);
                for r in it {
                    let row = self.row(r, base);
                    if let Some(prev_end) = last_line_end {
                        let between = self.text.get(prev_end as usize..row.span.start as usize).unwrap_or("\n");
                        if !between.contains('\n') {
                            self.err(Code::E0001, row.span, "each decision row must start on its own line");
                        }
                    }
                    last_line_end = Some(row.span.end);
                    rows.push(row);
                }
                Item::Decision(DecisionDecl {
                    docs,
                    name,
                    params,
                    ret,
                    hit,
                    default,
                    inputs,
                    outputs,
                    header_span,
                    rows,
                    span,
                })
            }
            Rule::handler => {
                let event = self.ident(it.next()?, base);
                let binding = self.ident(it.next()?, base);
                let body = self.block(it.next()?, base);
                Item::Handler(Handler { docs, event, binding, body, span })
            }
            Rule::test_decl => {
                let name = self.str_lit(it.next()?, base);
                let stmts = it.filter_map(|s| self.test_stmt(s, base)).collect();
                Item::Test(TestDecl { name, stmts, span })
            }
            Rule::state_decl => {
                let name = self.ident(it.next()?, base);
                let ty = self.ty(it.next()?, base);
                let keys = inner(it.next()?).map(|k| self.ident(k, base)).collect();
                Item::State(StateDecl { docs, name, ty, keys, span })
            }
            Rule::metric_decl => {
                let name = self.ident(it.next()?, base);
                let aggregate = self.ident(it.next()?, base);
                let state = self.ident(it.next()?, base);
                let param = self.ident(it.next()?, base);
                let body = self.expr(it.next()?, base);
                let (mut filter, mut by, mut age) = (None, Vec::new(), None);
                for q in it {
                    match q.as_rule() {
                        Rule::metric_where => filter = inner(q).next().map(|e| self.expr(e, base)),
                        Rule::metric_by => by = inner(q).map(|i| self.ident(i, base)).collect(),
                        Rule::metric_age => {
                            let aspan = self.span(&q, base);
                            let mut ai = inner(q);
                            let field = self.ident(ai.next()?, base);
                            let n = ai.next()?;
                            let amount_span = self.span(&n, base);
                            let amount = n.as_str().replace('_', "");
                            let unit = self.ident(ai.next()?, base);
                            age = Some(AgeClause { field, amount, amount_span, unit, span: aspan });
                        }
                        _ => {}
                    }
                }
                Item::Metric(Box::new(MetricDecl { docs, name, aggregate, state, param, body, filter, by, age, span }))
            }
            Rule::calendar_decl => {
                let name = self.ident(it.next()?, base);
                let mut entries = Vec::new();
                for e in it {
                    let mut ids = inner(e).map(|i| self.ident(i, base));
                    if let Some(key) = ids.next() {
                        entries.push((key, ids.collect()));
                    }
                }
                Item::Calendar(CalendarDecl { docs, name, entries, span })
            }
            _ => return None,
        })
    }

    fn header(&mut self, p: Pair<'t, Rule>, base: usize) -> (Vec<Ident>, Vec<Ident>) {
        // Inputs come before `||`, which pest does not emit; split by position.
        let text = p.as_str();
        let start = p.as_span().start();
        let split = text.find("||").map(|i| start + i).unwrap_or(usize::MAX);
        let mut ins = Vec::new();
        let mut outs = Vec::new();
        for q in inner(p) {
            let at = q.as_span().start();
            let id = self.ident(q, base);
            if at < split {
                ins.push(id);
            } else {
                outs.push(id);
            }
        }
        (ins, outs)
    }

    fn row(&mut self, p: Pair<'t, Rule>, base: usize) -> Row {
        let span = self.span(&p, base);
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for q in inner(p) {
            match q.as_rule() {
                Rule::in_cell => {
                    let cspan = self.span(&q, base);
                    if let Some(c) = inner(q).next() {
                        inputs.push(Cell { kind: self.cell(c, base), span: cspan });
                    }
                }
                Rule::out_cell => {
                    if let Some(e) = inner(q).next() {
                        outputs.push(self.expr(e, base));
                    }
                }
                _ => {}
            }
        }
        Row { inputs, outputs, span }
    }

    fn cell(&mut self, p: Pair<'t, Rule>, base: usize) -> CellKind {
        match p.as_rule() {
            Rule::any_cell => CellKind::Any,
            Rule::cmp_cell => {
                let mut it = inner(p);
                let op = match it.next().map(|o| o.as_str()) {
                    Some("<=") => CmpOp::Le,
                    Some(">=") => CmpOp::Ge,
                    Some("<") => CmpOp::Lt,
                    _ => CmpOp::Gt,
                };
                match it.next() {
                    Some(v) => CellKind::Cmp(op, self.lit(v, base)),
                    None => CellKind::Any,
                }
            }
            Rule::range_cell => {
                let parts: Vec<Pair<Rule>> = inner(p).collect();
                let lo_closed = parts.first().map(|p| p.as_str() == "[").unwrap_or(true);
                let hi_closed = parts.get(3).map(|p| p.as_str() == "]").unwrap_or(true);
                let mut vals = parts.into_iter().filter(|q| q.as_rule() == Rule::cell_value);
                match (vals.next(), vals.next()) {
                    (Some(lo), Some(hi)) => {
                        CellKind::Range { lo: self.lit(lo, base), lo_closed, hi: self.lit(hi, base), hi_closed }
                    }
                    _ => CellKind::Any,
                }
            }
            Rule::multi_cell => {
                let items: Vec<Cell> = inner(p)
                    .map(|q| {
                        let span = self.span(&q, base);
                        let kind = match q.as_rule() {
                            Rule::cell_value => CellKind::Values { negated: false, values: vec![self.lit(q, base)] },
                            _ => self.cell(q, base),
                        };
                        Cell { kind, span }
                    })
                    .collect();
                if items.iter().all(|c| matches!(c.kind, CellKind::Values { .. })) {
                    let values = items
                        .into_iter()
                        .flat_map(|c| match c.kind {
                            CellKind::Values { values, .. } => values,
                            _ => Vec::new(),
                        })
                        .collect();
                    CellKind::Values { negated: false, values }
                } else {
                    CellKind::AnyOf(items)
                }
            }
            Rule::not_cell => CellKind::Values {
                negated: true,
                values: inner(p).filter(|q| q.as_rule() == Rule::cell_value).map(|v| self.lit(v, base)).collect(),
            },
            _ => CellKind::Values { negated: false, values: inner(p).map(|v| self.lit(v, base)).collect() },
        }
    }

    /// A `cell_value` pair (also used by patterns).
    fn lit(&mut self, p: Pair<'t, Rule>, base: usize) -> Lit {
        let span = self.span(&p, base);
        let mut neg = false;
        let mut kind = LitKind::None;
        for q in inner(p) {
            match q.as_rule() {
                Rule::neg_mark => neg = true,
                Rule::qualified => {
                    let mut qi = inner(q);
                    let (Some(a), Some(b)) = (qi.next(), qi.next()) else { continue };
                    kind = LitKind::Qualified(self.ident(a, base), self.ident(b, base));
                }
                Rule::name => {
                    if let Some(i) = inner(q).next() {
                        kind = LitKind::Name(self.ident(i, base));
                    }
                }
                _ => kind = self.lit_kind(q, base).unwrap_or(LitKind::None),
            }
        }
        if neg {
            kind = match kind {
                LitKind::Int(s) => LitKind::Int(format!("-{s}")),
                LitKind::Decimal(s) => LitKind::Decimal(format!("-{s}")),
                LitKind::Money(s, c) => LitKind::Money(format!("-{s}"), c),
                k => k,
            };
        }
        Lit { kind, span }
    }

    fn lit_kind(&mut self, q: Pair<'t, Rule>, base: usize) -> Option<LitKind> {
        Some(match q.as_rule() {
            Rule::int_lit => LitKind::Int(q.as_str().replace('_', "")),
            Rule::dec_lit => LitKind::Decimal(q.as_str().replace('_', "")),
            Rule::money_lit => {
                let mut it = inner(q);
                let n = it.next()?.as_str().replace('_', "");
                let c = it.next()?.as_str().to_string();
                LitKind::Money(n, c)
            }
            Rule::true_lit => LitKind::Bool(true),
            Rule::false_lit => LitKind::Bool(false),
            Rule::none_lit => LitKind::None,
            Rule::temporal => LitKind::Temporal(inner(q).next().map(|b| b.as_str().to_string()).unwrap_or_default()),
            Rule::string => LitKind::Text(self.str_lit(q, base).value),
            _ => return None,
        })
    }

    fn str_lit(&mut self, p: Pair<'t, Rule>, base: usize) -> StrLit {
        let span = self.span(&p, base);
        let mut value = String::new();
        for q in inner(p) {
            match q.as_rule() {
                Rule::str_text => value.push_str(q.as_str()),
                Rule::str_escape => value.push_str(&self.unescape(&q, base)),
                Rule::interp => {
                    let s = self.span(&q, base);
                    self.err(Code::E0001, s, "interpolation is not allowed here");
                }
                _ => {}
            }
        }
        StrLit { value, span }
    }

    fn unescape(&mut self, q: &Pair<'t, Rule>, base: usize) -> String {
        match q.as_str() {
            "\\\"" => "\"".into(),
            "\\\\" => "\\".into(),
            "\\n" => "\n".into(),
            "\\t" => "\t".into(),
            "\\{" => "{".into(),
            "\\}" => "}".into(),
            other => {
                let s = self.span(q, base);
                self.err(Code::E0001, s, format!("unknown escape `{other}`"));
                String::new()
            }
        }
        .to_string()
    }

    fn ty(&mut self, p: Pair<'t, Rule>, base: usize) -> TypeRef {
        let span = self.span(&p, base);
        let mut it = inner(p);
        let Some(b) = it.next() else {
            return TypeRef::Named(Ident { text: String::new(), span });
        };
        let base_ty = match inner(b).next() {
            Some(q) if q.as_rule() == Rule::list_ty => {
                let lspan = self.span(&q, base);
                match inner(q).next() {
                    Some(t) => TypeRef::List(Box::new(self.ty(t, base)), lspan),
                    None => TypeRef::Named(Ident { text: String::new(), span: lspan }),
                }
            }
            Some(q) => match inner(q).next() {
                Some(i) => TypeRef::Named(self.ident(i, base)),
                None => TypeRef::Named(Ident { text: String::new(), span }),
            },
            None => TypeRef::Named(Ident { text: String::new(), span }),
        };
        if it.next().is_some() {
            TypeRef::Optional(Box::new(base_ty), span)
        } else {
            base_ty
        }
    }

    fn params(&mut self, p: Pair<'t, Rule>, base: usize) -> Vec<Param> {
        inner(p)
            .filter_map(|q| {
                let mut it = inner(q);
                let name = self.ident(it.next()?, base);
                let ty = self.ty(it.next()?, base);
                Some(Param { name, ty })
            })
            .collect()
    }

    fn let_stmt(&mut self, p: Pair<'t, Rule>, base: usize) -> Option<LetStmt> {
        let span = self.span(&p, base);
        let mut it = inner(p);
        let name = self.ident(it.next()?, base);
        let value = self.expr(it.next()?, base);
        Some(LetStmt { name, value, span })
    }

    fn block(&mut self, p: Pair<'t, Rule>, base: usize) -> Block {
        let span = self.span(&p, base);
        let stmts = inner(p).filter_map(|s| self.stmt(s, base)).collect();
        Block { stmts, span }
    }

    fn rejection(&mut self, it: &mut dyn Iterator<Item = Pair<'t, Rule>>, base: usize) -> Option<Rejection> {
        let code = self.ident(it.next()?, base);
        let message = it.next().map(|m| self.expr_string(m, base));
        Some(Rejection { code, message })
    }

    fn stmt(&mut self, p: Pair<'t, Rule>, base: usize) -> Option<Stmt> {
        let span = self.span(&p, base);
        let rule = p.as_rule();
        let mut it = inner(p);
        let kind = match rule {
            Rule::let_stmt => {
                let name = self.ident(it.next()?, base);
                let value = self.expr(it.next()?, base);
                StmtKind::Let(LetStmt { name, value, span })
            }
            Rule::check_stmt | Rule::require_stmt => {
                let cond = self.expr(it.next()?, base);
                let reject = self.rejection(&mut it, base)?;
                if rule == Rule::check_stmt {
                    StmtKind::Check { cond, reject }
                } else {
                    StmtKind::Require { cond, reject }
                }
            }
            Rule::reject_stmt => StmtKind::Reject(self.rejection(&mut it, base)?),
            Rule::emit_stmt => {
                let dest = self.ident(it.next()?, base);
                let mut next = it.next()?;
                let mut index = None;
                if next.as_rule() == Rule::emit_index {
                    index = Some(self.expr(inner(next).next()?, base));
                    next = it.next()?;
                }
                let value = self.expr(next, base);
                StmtKind::Emit { dest, index, value }
            }
            Rule::if_stmt => {
                let parts: Vec<Pair<Rule>> = it.collect();
                let mut branches = Vec::new();
                let mut otherwise = None;
                let mut i = 0;
                while let Some(q) = parts.get(i) {
                    if q.as_rule() == Rule::head {
                        let cond = self.expr(q.clone(), base);
                        let body = parts.get(i + 1).map(|b| self.block(b.clone(), base))?;
                        branches.push((cond, body));
                        i += 2;
                    } else {
                        otherwise = Some(self.block(q.clone(), base));
                        i += 1;
                    }
                }
                StmtKind::If { branches, otherwise }
            }
            Rule::match_stmt => {
                let scrutinee = self.expr(it.next()?, base);
                let arms = it
                    .filter_map(|a| {
                        let aspan = self.span(&a, base);
                        let mut ai = inner(a);
                        let patterns = self.patterns(ai.next()?, base);
                        let body = self.block(ai.next()?, base);
                        Some(StmtArm { patterns, body, span: aspan })
                    })
                    .collect();
                StmtKind::Match { scrutinee, arms }
            }
            Rule::for_stmt => {
                let first = self.ident(it.next()?, base);
                let next = it.next()?;
                let (index, var, iter) = if next.as_rule() == Rule::ident {
                    (Some(first), self.ident(next, base), self.expr(it.next()?, base))
                } else {
                    (None, first, self.expr(next, base))
                };
                let body = self.block(it.next()?, base);
                StmtKind::For { index, var, iter, body }
            }
            Rule::put_stmt => {
                let state = self.ident(it.next()?, base);
                let value = self.expr(it.next()?, base);
                StmtKind::Put { state, value }
            }
            Rule::update_stmt => {
                let state = self.ident(it.next()?, base);
                let keys = self.state_keys(it.next()?, base);
                let fields = it.filter_map(|f| self.field_init(f, base)).collect();
                StmtKind::Update { state, keys, fields }
            }
            Rule::delete_stmt => {
                let state = self.ident(it.next()?, base);
                let keys = self.state_keys(it.next()?, base);
                StmtKind::Delete { state, keys }
            }
            _ => return None,
        };
        Some(Stmt { kind, span })
    }

    /// `emit dest[member]? Record { ... }` in `expect emit` and `expect exactly`.
    fn expected_emit(&mut self, p: Pair<'t, Rule>, base: usize) -> Option<ExpectedEmit> {
        let span = self.span(&p, base);
        let mut ei = inner(p);
        let dest = self.ident(ei.next()?, base);
        let mut next = ei.next()?;
        let mut member = None;
        if next.as_rule() == Rule::member {
            member = Some(self.ident(inner(next).next()?, base));
            next = ei.next()?;
        }
        let record = self.expr(next, base);
        Some(ExpectedEmit { dest, member, record, span })
    }

    fn test_stmt(&mut self, p: Pair<'t, Rule>, base: usize) -> Option<TestStmt> {
        let span = self.span(&p, base);
        let rule = p.as_rule();
        let mut it = inner(p);
        let kind = match rule {
            Rule::given_file => TestStmtKind::GivenFile(self.str_lit(it.next()?, base)),
            Rule::given => TestStmtKind::Given(self.expr(it.next()?, base)),
            Rule::with_rows => {
                let table = self.ident(it.next()?, base);
                let rows = it.map(|e| self.expr(e, base)).collect();
                TestStmtKind::With { table, rows }
            }
            Rule::assert_stmt => TestStmtKind::Assert(self.expr(it.next()?, base)),
            Rule::let_stmt => {
                let name = self.ident(it.next()?, base);
                let value = self.expr(it.next()?, base);
                TestStmtKind::Let(LetStmt { name, value, span })
            }
            Rule::expect_stmt => {
                let e = it.next()?;
                let erule = e.as_rule();
                let mut ei = inner(e.clone());
                match erule {
                    Rule::expect_no_emit => {
                        let dest = self.ident(ei.next()?, base);
                        let member = ei.next().and_then(|m| inner(m).next()).map(|m| self.ident(m, base));
                        TestStmtKind::ExpectNoEmit { dest, member }
                    }
                    Rule::expect_emit => TestStmtKind::ExpectEmit(self.expected_emit(e, base)?),
                    Rule::expect_exactly => {
                        let mut emits = Vec::new();
                        for x in ei {
                            emits.push(self.expected_emit(x, base)?);
                        }
                        TestStmtKind::ExpectExactly(emits)
                    }
                    Rule::expect_reject => {
                        let code = self.ident(ei.next()?, base);
                        let mut message = None;
                        let mut times = None;
                        for part in ei {
                            match part.as_rule() {
                                Rule::reject_message => {
                                    let mut before = false;
                                    let mut after = false;
                                    let mut text = None;
                                    for q in inner(part) {
                                        match q.as_rule() {
                                            Rule::msg_rest if text.is_none() => before = true,
                                            Rule::msg_rest => after = true,
                                            _ => text = Some(self.str_lit(q, base)),
                                        }
                                    }
                                    let text = text?;
                                    let how = match (before, after) {
                                        (false, false) => MessageMatch::Exact,
                                        (false, true) => MessageMatch::Prefix,
                                        (true, false) => MessageMatch::Suffix,
                                        (true, true) => MessageMatch::Contains,
                                    };
                                    message = Some((how, text));
                                }
                                Rule::reject_times => {
                                    let n = inner(part).next()?;
                                    let sp = self.span(&n, base);
                                    let value = n.as_str().replace('_', "").parse::<u32>().unwrap_or(u32::MAX);
                                    times = Some((value, sp));
                                }
                                _ => {}
                            }
                        }
                        TestStmtKind::ExpectReject(ExpectReject { code, message, times })
                    }
                    Rule::expect_state | Rule::expect_no_state => {
                        let state = self.ident(ei.next()?, base);
                        let keys = self.state_keys(ei.next()?, base);
                        let record = ei.next().map(|e| self.expr(e, base));
                        TestStmtKind::ExpectState { state, keys, record }
                    }
                    _ => TestStmtKind::ExpectStatus(self.ident(ei.next()?, base)),
                }
            }
            _ => return None,
        };
        Some(TestStmt { kind, span })
    }

    fn field_init(&mut self, p: Pair<'t, Rule>, base: usize) -> Option<FieldInit> {
        let mut fi = inner(p);
        let name = self.ident(fi.next()?, base);
        let value = self.expr(fi.next()?, base);
        Some(FieldInit { name, value })
    }

    fn state_keys(&mut self, p: Pair<'t, Rule>, base: usize) -> Vec<Expr> {
        inner(p).map(|e| self.expr(e, base)).collect()
    }

    fn patterns(&mut self, p: Pair<'t, Rule>, base: usize) -> Vec<Pattern> {
        inner(p)
            .filter_map(|q| {
                let c = inner(q).next()?;
                Some(match c.as_rule() {
                    Rule::wildcard => Pattern::Wildcard(self.span(&c, base)),
                    _ => Pattern::Lit(self.lit(c, base)),
                })
            })
            .collect()
    }

    /// A string literal used as an expression (it may interpolate).
    fn expr_string(&mut self, p: Pair<'t, Rule>, base: usize) -> Expr {
        let span = self.span(&p, base);
        let mut parts: Vec<StrPart> = Vec::new();
        for q in inner(p) {
            match q.as_rule() {
                Rule::str_text | Rule::str_escape => {
                    let s =
                        if q.as_rule() == Rule::str_text { q.as_str().to_string() } else { self.unescape(&q, base) };
                    if let Some(StrPart::Text(t)) = parts.last_mut() {
                        t.push_str(&s);
                    } else {
                        parts.push(StrPart::Text(s));
                    }
                }
                Rule::interp => {
                    if let Some(e) = inner(q).next() {
                        parts.push(StrPart::Expr(self.expr(e, base)));
                    }
                }
                _ => {}
            }
        }
        if parts.iter().all(|p| matches!(p, StrPart::Text(_))) {
            let text = parts.into_iter().map(|p| if let StrPart::Text(t) = p { t } else { String::new() }).collect();
            return Expr { kind: ExprKind::Lit(LitKind::Text(text)), span };
        }
        Expr { kind: ExprKind::Text(parts), span }
    }

    fn error_expr(span: Span) -> Expr {
        Expr { kind: ExprKind::Lit(LitKind::None), span }
    }

    fn expr(&mut self, mut p: Pair<'t, Rule>, base: usize) -> Expr {
        // A rule that only wraps its one child (an `expr` that is a
        // `coalesce` that is an `or_expr` … that is a `postfix` that is a
        // `paren`) builds what its child builds: go down to the child here
        // rather than by a call, so a bracket costs the builder two frames,
        // not eleven (syntax/nesting.rs bounds the stack per bracket).
        while is_expression_rule(p.as_rule()) {
            let mut it = inner(p.clone());
            match (it.next(), it.next()) {
                (Some(only), None) => p = only,
                _ => break,
            }
        }
        let span = self.span(&p, base);
        match p.as_rule() {
            Rule::expr | Rule::head | Rule::out_cell => match inner(p).next() {
                Some(q) => self.expr(q, base),
                None => Self::error_expr(span),
            },
            Rule::if_expr => {
                let mut it = inner(p);
                let (Some(c), Some(t), Some(e)) = (it.next(), it.next(), it.next()) else {
                    return Self::error_expr(span);
                };
                let cond = Box::new(self.expr(c, base));
                let then = Box::new(self.expr(t, base));
                let otherwise = Box::new(self.expr(e, base));
                Expr { kind: ExprKind::If { cond, then, otherwise }, span }
            }
            Rule::coalesce | Rule::coalesce_h => {
                let mut it = inner(p);
                let Some(first) = it.next() else { return Self::error_expr(span) };
                let lhs = self.expr(first, base);
                let _op = it.next();
                match it.next() {
                    Some(r) => {
                        let rhs = self.expr(r, base);
                        Expr {
                            kind: ExprKind::Binary { op: BinOp::Coalesce, lhs: Box::new(lhs), rhs: Box::new(rhs) },
                            span,
                        }
                    }
                    None => lhs,
                }
            }
            Rule::or_expr
            | Rule::and_expr
            | Rule::add_expr
            | Rule::mul_expr
            | Rule::cmp_expr
            | Rule::or_h
            | Rule::and_h
            | Rule::add_h
            | Rule::mul_h
            | Rule::cmp_h => {
                let mut it = inner(p);
                let Some(first) = it.next() else { return Self::error_expr(span) };
                let mut lhs = self.expr(first, base);
                while let (Some(op), Some(r)) = (it.next(), it.next()) {
                    let op = match op.as_str().split_whitespace().collect::<Vec<_>>().join(" ").as_str() {
                        "or" => BinOp::Or,
                        "and" => BinOp::And,
                        "+" => BinOp::Add,
                        "-" => BinOp::Sub,
                        "*" => BinOp::Mul,
                        "/" => BinOp::Div,
                        "==" => BinOp::Eq,
                        "!=" => BinOp::Ne,
                        "<" => BinOp::Lt,
                        "<=" => BinOp::Le,
                        ">" => BinOp::Gt,
                        ">=" => BinOp::Ge,
                        "in" => BinOp::In,
                        _ => BinOp::NotIn,
                    };
                    let rhs = self.expr(r, base);
                    let s = lhs.span.to(rhs.span);
                    lhs = Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span: s };
                }
                lhs
            }
            Rule::not_expr | Rule::not_h => {
                let mut it = inner(p);
                let Some(first) = it.next() else { return Self::error_expr(span) };
                if first.as_rule() == Rule::op_not {
                    match it.next() {
                        Some(e) => {
                            let e = self.expr(e, base);
                            Expr { kind: ExprKind::Unary { op: UnOp::Not, expr: Box::new(e) }, span }
                        }
                        None => Self::error_expr(span),
                    }
                } else {
                    self.expr(first, base)
                }
            }
            Rule::unary | Rule::unary_h => {
                let parts: Vec<Pair<Rule>> = inner(p).collect();
                let mut negs = Vec::new();
                let mut result = None;
                for q in parts {
                    if q.as_rule() == Rule::neg_op {
                        negs.push(self.span(&q, base));
                    } else {
                        result = Some(self.expr(q, base));
                    }
                }
                let mut e = result.unwrap_or_else(|| Self::error_expr(span));
                for s in negs.into_iter().rev() {
                    // Fold `-` into a numeric literal so `-5` is a constant.
                    e = match e.kind {
                        ExprKind::Lit(LitKind::Int(t)) if !t.starts_with('-') => {
                            Expr { kind: ExprKind::Lit(LitKind::Int(format!("-{t}"))), span: s.to(e.span) }
                        }
                        ExprKind::Lit(LitKind::Decimal(t)) if !t.starts_with('-') => {
                            Expr { kind: ExprKind::Lit(LitKind::Decimal(format!("-{t}"))), span: s.to(e.span) }
                        }
                        ExprKind::Lit(LitKind::Money(t, c)) if !t.starts_with('-') => {
                            Expr { kind: ExprKind::Lit(LitKind::Money(format!("-{t}"), c)), span: s.to(e.span) }
                        }
                        kind => {
                            let inner_e = Expr { kind, span: e.span };
                            Expr {
                                kind: ExprKind::Unary { op: UnOp::Neg, expr: Box::new(inner_e) },
                                span: s.to(e.span),
                            }
                        }
                    };
                }
                e
            }
            Rule::postfix | Rule::postfix_h => {
                let mut it = inner(p);
                let Some(first) = it.next() else { return Self::error_expr(span) };
                let mut e = self.expr(first, base);
                for op in it {
                    let ospan = self.span(&op, base);
                    let s = e.span.to(ospan);
                    e = match op.as_rule() {
                        Rule::dot_field | Rule::opt_field => {
                            let optional = op.as_rule() == Rule::opt_field;
                            match inner(op).next() {
                                Some(n) => Expr {
                                    kind: ExprKind::Field { base: Box::new(e), name: self.ident(n, base), optional },
                                    span: s,
                                },
                                None => e,
                            }
                        }
                        Rule::index => {
                            let mut keys = Vec::new();
                            let mut as_of = None;
                            for k in inner(op) {
                                if k.as_rule() == Rule::as_of {
                                    as_of = inner(k).next().map(|x| Box::new(self.expr(x, base)));
                                } else {
                                    keys.push(self.expr(k, base));
                                }
                            }
                            Expr { kind: ExprKind::Index { base: Box::new(e), keys, as_of }, span: s }
                        }
                        _ => {
                            let args: Vec<Arg> = inner(op).filter_map(|a| self.arg(a, base)).collect();
                            match e.kind {
                                ExprKind::Name(callee) => Expr { kind: ExprKind::Call { callee, args }, span: s },
                                _ => Expr { kind: ExprKind::BadCall { callee: Box::new(e) }, span: s },
                            }
                        }
                    };
                }
                e
            }
            Rule::name => match inner(p).next() {
                Some(i) => Expr { kind: ExprKind::Name(self.ident(i, base)), span },
                None => Self::error_expr(span),
            },
            Rule::paren => match inner(p).next() {
                Some(q) => {
                    let e = self.expr(q, base);
                    Expr { kind: ExprKind::Paren(Box::new(e)), span }
                }
                None => Self::error_expr(span),
            },
            Rule::list_lit => {
                let items = inner(p).map(|q| self.expr(q, base)).collect();
                Expr { kind: ExprKind::List(items), span }
            }
            Rule::record_lit => {
                let mut it = inner(p);
                let Some(n) = it.next() else { return Self::error_expr(span) };
                let name = self.ident(n, base);
                let mut fields = Vec::new();
                let mut rest = None;
                for q in it {
                    match q.as_rule() {
                        Rule::rest => rest = Some(self.span(&q, base)),
                        _ => {
                            let mut fi = inner(q);
                            if let (Some(fname), Some(v)) = (fi.next(), fi.next()) {
                                let name = self.ident(fname, base);
                                let value = self.expr(v, base);
                                fields.push(FieldInit { name, value });
                            }
                        }
                    }
                }
                Expr { kind: ExprKind::Record { name, fields, rest }, span }
            }
            Rule::match_expr => {
                let mut it = inner(p);
                let Some(s) = it.next() else { return Self::error_expr(span) };
                let scrutinee = Box::new(self.expr(s, base));
                let arms = it
                    .filter_map(|a| {
                        let aspan = self.span(&a, base);
                        let mut ai = inner(a);
                        let patterns = self.patterns(ai.next()?, base);
                        let body = self.expr(ai.next()?, base);
                        Some(ExprArm { patterns, body, span: aspan })
                    })
                    .collect();
                Expr { kind: ExprKind::Match { scrutinee, arms }, span }
            }
            Rule::string => self.expr_string(p, base),
            _ => match self.lit_kind(p, base) {
                Some(k) => Expr { kind: ExprKind::Lit(k), span },
                None => Self::error_expr(span),
            },
        }
    }

    fn arg(&mut self, p: Pair<'t, Rule>, base: usize) -> Option<Arg> {
        let q = inner(p).next()?;
        if q.as_rule() == Rule::lambda {
            let span = self.span(&q, base);
            let mut it = inner(q);
            let param = self.ident(it.next()?, base);
            let body = self.expr(it.next()?, base);
            Some(Arg::Lambda { param, body, span })
        } else {
            Some(Arg::Expr(self.expr(q, base)))
        }
    }
}

/// Children of a pair without keyword tokens.
fn inner(p: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    p.into_inner().filter(|q| !is_keyword_rule(q.as_rule()))
}

fn is_keyword_rule(r: Rule) -> bool {
    matches!(
        r,
        Rule::kw_and
            | Rule::kw_assert
            | Rule::kw_as
            | Rule::kw_check
            | Rule::kw_decision
            | Rule::kw_destination
            | Rule::kw_else
            | Rule::kw_emit
            | Rule::kw_enum
            | Rule::kw_event
            | Rule::kw_expect
            | Rule::kw_false
            | Rule::kw_fn
            | Rule::kw_for
            | Rule::kw_given
            | Rule::kw_hit
            | Rule::kw_if
            | Rule::kw_in
            | Rule::kw_key
            | Rule::kw_let
            | Rule::kw_match
            | Rule::kw_none
            | Rule::kw_not
            | Rule::kw_on
            | Rule::kw_or
            | Rule::kw_record
            | Rule::kw_reject
            | Rule::kw_require
            | Rule::kw_table
            | Rule::kw_test
            | Rule::kw_then
            | Rule::kw_true
            | Rule::kw_with
            | Rule::kw_no
            | Rule::kw_file
            | Rule::kw_times
            | Rule::kw_exactly
            | Rule::kw_state
            | Rule::kw_metric
            | Rule::kw_put
            | Rule::kw_update
            | Rule::kw_delete
            | Rule::kw_where
            | Rule::kw_by
            | Rule::kw_age
            | Rule::kw_effective
            | Rule::kw_to
            | Rule::kw_of
            | Rule::kw_calendar
    )
}

fn describe_at(text: &str, pos: usize) -> String {
    let rest = text.get(pos..).unwrap_or("");
    let Some(c) = rest.chars().next() else { return "end of file".into() };
    if c == '\n' || c == '\r' {
        return "end of line".into();
    }
    let tok: String = if c.is_alphanumeric() || c == '_' {
        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
    } else {
        c.to_string()
    };
    format!("`{tok}`")
}

/// The rules of an expression's precedence levels (both sets: a head's and
/// the rest's): each wraps its one child when it has no operator.
fn is_expression_rule(r: Rule) -> bool {
    matches!(
        r,
        Rule::expr
            | Rule::head
            | Rule::out_cell
            | Rule::coalesce
            | Rule::coalesce_h
            | Rule::or_expr
            | Rule::or_h
            | Rule::and_expr
            | Rule::and_h
            | Rule::not_expr
            | Rule::not_h
            | Rule::cmp_expr
            | Rule::cmp_h
            | Rule::add_expr
            | Rule::add_h
            | Rule::mul_expr
            | Rule::mul_h
            | Rule::unary
            | Rule::unary_h
            | Rule::postfix
            | Rule::postfix_h
    )
}

fn is_cell_rule(r: &Rule) -> bool {
    matches!(
        r,
        Rule::in_cell
            | Rule::any_cell
            | Rule::cmp_cell
            | Rule::range_cell
            | Rule::not_cell
            | Rule::values_cell
            | Rule::cell_cmp_op
    )
}

/// The number literal that ends `before` (`1.5` in `... = 1.5`).
fn number_before(before: &str) -> &str {
    let start = before.rfind(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).map(|i| i + 1).unwrap_or(0);
    before.get(start..).unwrap_or("")
}

fn found_len(text: &str, pos: usize) -> usize {
    let rest = text.get(pos..).unwrap_or("");
    match rest.chars().next() {
        None | Some('\n') => 0,
        Some(c) if c.is_alphanumeric() || c == '_' => {
            rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').map(char::len_utf8).sum()
        }
        Some(c) => c.len_utf8(),
    }
}

fn syntax_help(text: &str, pos: usize) -> Option<String> {
    let rest = text.get(pos..).unwrap_or("");
    let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if [
        "and",
        "or",
        "not",
        "in",
        "if",
        "then",
        "else",
        "match",
        "let",
        "emit",
        "none",
        "true",
        "false",
        "key",
        "on",
        "as",
        "with",
        "test",
        "table",
        "event",
        "record",
        "enum",
        "hit",
        "for",
        "fn",
        "given",
        "expect",
        "check",
        "require",
        "reject",
        "decision",
        "destination",
        "assert",
    ]
    .contains(&word.as_str())
    {
        return Some(format!("`{word}` is a keyword and cannot be used as a name"));
    }
    if rest.starts_with("&&") || rest.starts_with("||") {
        return Some("Canon writes `and` and `or` instead of `&&` and `||`".into());
    }
    if rest.starts_with('!') && !rest.starts_with("!=") {
        return Some("Canon writes `not` instead of `!`".into());
    }
    if rest.starts_with('}')
        && text.get(..pos).map(|b| b.matches('{').count() < b.matches('}').count() + 1).unwrap_or(false)
    {
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    /// The one diagnostic of `src`: its message and what its replacement makes of `src`.
    fn slip(src: &str) -> (String, String) {
        let p = parse(src, FileId(0));
        assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
        let d = &p.diagnostics[0];
        let Some(Data::Replace { span, with }) = &d.data else { panic!("no replacement in {d:?}") };
        let fixed = format!("{}{}{}", &src[..span.start as usize], with[0], &src[span.end as usize..]);
        (d.message.clone(), fixed)
    }

    /// §7.1: no record literal directly in the head of an `if`, `for` or
    /// `match` (statement or expression); in the head's brackets, an
    /// interpolation, an `if`'s branches and a `match`'s arms, one is
    /// allowed again.
    #[test]
    fn a_record_literal_in_a_head() {
        let handler = |body: &str| {
            format!("record R {{ a: Int }}\nevent E {{ a: Int }}\nfn f(r: R) -> Int = r.a\non E as e {{\n{body}\n}}\n")
        };
        let parses = |body: &str| {
            let p = parse(&handler(body), FileId(0));
            assert!(p.diagnostics.is_empty(), "{body}: {:?}", p.diagnostics);
            p
        };
        let refused = |body: &str| {
            let p = parse(&handler(body), FileId(0));
            assert!(p.diagnostics.iter().any(|d| d.code == Code::E0001), "{body}: parsed");
        };
        // `A { … }` after `==` in a head is a variant and a block.
        let p = parses("if e.a == A { reject X }");
        let Some(Item::Handler(h)) = p.file.items.last() else { panic!("no handler") };
        let Some(StmtKind::If { branches, .. }) = h.body.stmts.first().map(|s| &s.kind) else { panic!("no if") };
        assert!(matches!(&branches[0].0.kind, ExprKind::Binary { rhs, .. } if matches!(rhs.kind, ExprKind::Name(_))));
        parses("if f(R { a: 1 }) == 1 { reject X }");
        parses("if (R { a: 1 }).a == 1 { reject X }");
        parses("if [R { a: 1 }] == [] { reject X }");
        parses("if \"{R { a: 1 }}\" == \"\" { reject X }");
        parses("for r in [R { a: 1 }] { reject X }");
        parses("match f(R { a: 1 }) { _ => { reject X } }");
        parses("let r = if e.a > 1 then R { a: 1 } else R { a: 2 }");
        parses("let r = match e.a { _ => R { a: 1 } }");
        parses("if if e.a > 1 then true else false { reject X }");
        parses("if e.a == match e.a { _ => 1 } { reject X }");
        parses("let r = none ?? R { a: 1 }");
        refused("if R { a: 1 } == R { a: 1 } { reject X }");
        refused("if e.a == 1 ?? R { a: 1 } { reject X }");
        refused("for r in R { a: 1 } { reject X }");
        refused("match R { a: 1 } { _ => { reject X } }");
        refused("let r = match R { a: 1 } { _ => 1 }");
        refused("let r = if R { a: 1 } == R { a: 1 } then 1 else 2");
        refused("if e.a > 1 { reject X } else if R { a: 1 } == R { a: 2 } { reject Y }");
    }

    #[test]
    fn an_equals_sign_where_a_comparison_was_meant() {
        for (src, want) in [
            ("fn f(x: Int) -> Bool = x = 5\n", "x == 5"),
            ("fn f(x: Int) -> Bool = x != 5 and x = 3\n", "x == 3"),
            ("event E as \"e\" { n: Int }\non E as e {\n  require e.n = 2 else reject X\n}\n", "e.n == 2"),
            ("event E as \"e\" { n: Int }\non E as e {\n  if e.n = 2 {\n    reject X\n  }\n}\n", "e.n == 2 {"),
        ] {
            let (message, fixed) = slip(src);
            assert_eq!(message, "`=` does not compare: use `==` to compare");
            assert!(fixed.contains(want), "{fixed}");
            assert!(parse(&fixed, FileId(0)).diagnostics.is_empty(), "{fixed}");
        }
    }

    #[test]
    fn an_equals_sign_at_the_start_of_a_decision_cell() {
        for eq in ["=", "=="] {
            let src = format!("enum K {{ A, B }}\ndecision d(k: K) -> Int\n  hit first\n  | k || v |\n  | {eq} A || 1 |\n  | - || 2 |\n");
            let (message, fixed) = slip(&src);
            assert_eq!(message, format!("a decision cell does not start with `{eq}`"));
            assert!(fixed.contains("| A || 1 |"), "{fixed}");
            assert!(parse(&fixed, FileId(0)).diagnostics.is_empty(), "{fixed}");
        }
    }

    #[test]
    fn currency_codes_in_the_wrong_case_or_without_their_space() {
        let (message, fixed) = slip("fn fee(h: Decimal) -> Money = h * 12.50 usd\n");
        assert_eq!(message, "currency codes are upper case: write `USD`");
        assert!(fixed.contains("12.50 USD"), "{fixed}");
        let (message, fixed) = slip("fn c() -> Money = 100 Eur\n");
        assert_eq!(message, "currency codes are upper case: write `EUR`");
        assert!(fixed.contains("100 EUR"), "{fixed}");
        let (message, fixed) = slip("fn a() -> Money = 1.5USD\n");
        assert_eq!(message, "a Money literal needs a space before its currency code");
        assert!(fixed.contains("1.5 USD"), "{fixed}");
        // A four-letter word is no currency code: the grammar's own message.
        let p = parse("fn b() -> Money = 100 usdx\n", FileId(0));
        assert!(p.diagnostics.iter().all(|d| d.data.is_none()), "{:?}", p.diagnostics);
    }

    #[test]
    fn row_spans() {
        let src = "decision d(a: Int) -> Int\n  hit first\n  | a || v |\n  | 1 || 2 |\n  | - || 3 |\n";
        let p = parse(src, FileId(0));
        let Item::Decision(d) = &p.file.items[0] else { unreachable!() };
        let spans: Vec<&str> = d.rows.iter().map(|r| &src[r.span.start as usize..r.span.end as usize]).collect();
        assert_eq!(spans, vec!["| 1 || 2 |", "| - || 3 |"], "{:?} {:?}", d.header_span, p.diagnostics);
    }
}
