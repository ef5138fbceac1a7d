//! The comments of a file, from the token stream, in order, each with where it
//! sat: alone on its line or after code, and whether an empty line was before.

use crate::syntax::lexer::{lex, Token};

#[derive(Debug, Clone)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    /// The comment's text without trailing whitespace.
    pub text: String,
    /// Only whitespace before it on its line.
    pub own_line: bool,
    /// An empty line just before it.
    pub blank_before: bool,
    pub doc: bool,
}

/// The tokens the formatter looks at besides the tree: comments, and the other
/// tokens' spans (to spell number literals as written).
pub struct TokenInfo {
    pub comments: Vec<Comment>,
    /// Non-comment tokens: (start, end, token).
    pub tokens: Vec<(usize, usize, Token)>,
}

pub fn collect(text: &str) -> TokenInfo {
    let mut comments = Vec::new();
    let mut tokens = Vec::new();
    for l in lex(text) {
        match l.token {
            Some(t) if t.is_comment() => {
                let raw = text.get(l.start..l.end).unwrap_or("");
                let line_start = text.get(..l.start).and_then(|b| b.rfind('\n')).map(|i| i + 1).unwrap_or(0);
                let own_line = text.get(line_start..l.start).is_some_and(|s| s.trim().is_empty());
                comments.push(Comment {
                    start: l.start,
                    end: l.end,
                    text: raw.trim_end().to_string(),
                    own_line,
                    blank_before: blank_before(text, l.start),
                    doc: t == Token::DocComment,
                });
            }
            Some(t) => tokens.push((l.start, l.end, t)),
            None => {}
        }
    }
    TokenInfo { comments, tokens }
}

/// Whether the whitespace just before `pos` holds an empty line.
pub fn blank_before(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or("");
    let ws: &str = {
        let trimmed = before.trim_end_matches([' ', '\t', '\r', '\n']);
        before.get(trimmed.len()..).unwrap_or("")
    };
    ws.matches('\n').count() >= 2 && !before.trim().is_empty()
}
