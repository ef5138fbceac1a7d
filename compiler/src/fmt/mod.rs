//! `canon fmt`: one canonical layout for Canon source.
//!
//! The layout comes from the syntax tree, the comments from the token stream
//! (`syntax::lexer`), attached by byte position (see `printer.rs`):
//!
//! - two spaces per level; one item, field, variant, statement, match arm and
//!   decision row per line; at most one empty line where the source had any;
//! - decision tables with every cell padded so that the `|` line up and `||`
//!   between inputs and outputs;
//! - record literals with more than two fields, and lists, arguments and
//!   records that do not fit in 100 columns, one element per line with a
//!   trailing comma;
//! - `update s[k] { ... }` laid out as a record literal;
//! - a `metric` on one line when it fits, else its `where`, `by` and `age`
//!   clauses each on a line of its own, indented;
//! - `check`/`require` with `else reject` on the next line;
//! - strings, temporals and number literals as written.
//!
//! Formatting keeps the meaning: the result parses to the same tree (spans
//! aside) and keeps every comment; [`format`] checks both before it returns,
//! and a file with a syntax error is not formatted at all.

mod comments;
pub mod doc;
mod printer;

use crate::diagnostics::{FileId, LineIndex};
use crate::syntax::{ast, parse};

/// The line width the layout aims for.
pub const MAX_WIDTH: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The file does not parse; it is left as it is.
    #[error("{line}:{column}: syntax error: {message}")]
    Syntax { line: u32, column: u32, message: String },
    /// A bug in the formatter: its output would not have meant the same.
    #[error("the formatter would have changed this file's meaning ({0}); it was left unchanged")]
    Internal(String),
}

/// Formats one file. Never panics; a file with a syntax error is an error.
pub fn format(text: &str) -> Result<String, FormatError> {
    let parsed = parse(text, FileId(0));
    if let Some(d) = parsed.diagnostics.first() {
        let (line, column) = LineIndex::new(text).line_col(text, d.span.start);
        return Err(FormatError::Syntax { line, column, message: d.message.clone() });
    }
    let out = layout(text, &parsed.file);
    let before_comments = comment_texts(&comments::collect(text).comments);

    // The safety net: same tree, same comments.
    let again = parse(&out, FileId(0));
    if let Some(d) = again.diagnostics.first() {
        return Err(FormatError::Internal(format!("the result does not parse: {}", d.message)));
    }
    if fingerprint(&again.file) != fingerprint(&parsed.file) {
        return Err(FormatError::Internal("the result parses to a different tree".into()));
    }
    if comment_texts(&comments::collect(&out).comments) != before_comments {
        return Err(FormatError::Internal("a comment would have been lost".into()));
    }
    Ok(out)
}

/// The layout alone, without the checks [`format`] makes: for diagnosing
/// the formatter itself. `None` when the text does not parse.
#[doc(hidden)]
pub fn format_unchecked(text: &str) -> Option<String> {
    let parsed = parse(text, FileId(0));
    parsed.diagnostics.is_empty().then(|| layout(text, &parsed.file))
}

fn layout(text: &str, file: &ast::File) -> String {
    let mut printer = printer::Printer::new(text, comments::collect(text));
    let doc = printer.file(file);
    let mut out = doc::render(&doc, MAX_WIDTH);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn comment_texts(cs: &[comments::Comment]) -> Vec<String> {
    let mut v: Vec<String> = cs.iter().map(|c| c.text.clone()).collect();
    v.sort();
    v
}

/// A rendering of a syntax tree without its spans: two files that differ only
/// in layout and comments (other than doc comments) have the same fingerprint.
pub fn fingerprint(file: &ast::File) -> String {
    strip_spans(&format!("{file:?}"))
}

/// Removes every `Span { start: N, end: N }` from a debug rendering.
fn strip_spans(s: &str) -> String {
    const PAT: &str = "Span { start: ";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(PAT) {
        out.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i..).unwrap_or("");
        match after.find('}') {
            Some(j) => {
                out.push_str("Span");
                rest = after.get(j + 1..).unwrap_or("");
            }
            None => {
                rest = after;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_stripped() {
        assert_eq!(strip_spans("A { span: Span { start: 1, end: 2 }, x: 3 }"), "A { span: Span, x: 3 }");
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(format("record {"), Err(FormatError::Syntax { line: 1, .. })));
    }
}
