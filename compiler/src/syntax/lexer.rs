//! Canon's tokens (logos): for the formatter and semantic highlighting.
//!
//! The parser does not use this lexer; it parses with the pest grammar
//! (`grammar/canon.pest`). The tokens here follow that grammar's lexical rules:
//!
//! - whitespace (space, tab, CR, LF) is skipped; `//` comments and `///` doc
//!   comments are tokens, so tools can see them;
//! - a string literal is one token, interpolations included (`"a {f("}")} b"`
//!   is one `Str`), and so is a temporal literal (`@"2026-01-31"`);
//! - a money literal is two tokens: a number (`Int` or `Decimal`) and the
//!   currency code, an `Ident`;
//! - type names, enum variants, rejection codes and currency codes are all
//!   `Ident`s: only their position tells them apart. `no` and `file` are
//!   keywords only in `expect no emit` and `given file`, so they lex as `Ident`.

use logos::Logos;

/// One token of Canon.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[logos(skip r"[ \t\r\n]+")]
pub enum Token {
    /// `/// text` to the end of the line (`////` too).
    #[regex(r"///[^\n]*", allow_greedy = true)]
    DocComment,
    /// `// text` to the end of the line.
    #[regex(r"//[^\n]*", allow_greedy = true)]
    LineComment,

    #[token("and")]
    And,
    #[token("assert")]
    Assert,
    #[token("as")]
    As,
    #[token("check")]
    Check,
    #[token("decision")]
    Decision,
    #[token("destination")]
    Destination,
    #[token("else")]
    Else,
    #[token("emit")]
    Emit,
    #[token("enum")]
    Enum,
    #[token("event")]
    Event,
    #[token("expect")]
    Expect,
    #[token("false")]
    False,
    #[token("fn")]
    Fn,
    #[token("for")]
    For,
    #[token("given")]
    Given,
    #[token("hit")]
    Hit,
    #[token("if")]
    If,
    #[token("in")]
    In,
    #[token("key")]
    Key,
    #[token("let")]
    Let,
    #[token("match")]
    Match,
    #[token("none")]
    None,
    #[token("not")]
    Not,
    #[token("on")]
    On,
    #[token("or")]
    Or,
    #[token("record")]
    Record,
    #[token("reject")]
    Reject,
    #[token("require")]
    Require,
    #[token("table")]
    Table,
    #[token("test")]
    Test,
    #[token("then")]
    Then,
    #[token("true")]
    True,
    #[token("with")]
    With,

    /// A name: values, functions, types, variants, codes, currencies.
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident,
    /// `_` alone: the wildcard pattern.
    #[token("_", priority = 3)]
    Underscore,
    /// `42`, `1_000`.
    #[regex(r"[0-9](_?[0-9])*")]
    Int,
    /// `12.50`.
    #[regex(r"[0-9](_?[0-9])*\.[0-9]+")]
    Decimal,
    /// `"text {interpolation} text"`, as one token.
    #[token("\"", string_rest)]
    Str,
    /// `@"2026-11-25"`.
    #[regex(r#"@"[^"]*""#)]
    Temporal,

    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token("?.")]
    QuestionDot,
    #[token("?")]
    Question,
    #[token("??")]
    QuestionQuestion,
    #[token("=")]
    Eq,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("->")]
    Arrow,
    #[token("=>")]
    FatArrow,
    #[token("|")]
    Pipe,
    #[token("||")]
    PipePipe,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
}

impl Token {
    /// Comments and doc comments.
    pub fn is_comment(self) -> bool {
        matches!(self, Token::LineComment | Token::DocComment)
    }

    /// Reserved words (LANGUAGE.md §2).
    pub fn is_keyword(self) -> bool {
        matches!(
            self,
            Token::And
                | Token::Assert
                | Token::As
                | Token::Check
                | Token::Decision
                | Token::Destination
                | Token::Else
                | Token::Emit
                | Token::Enum
                | Token::Event
                | Token::Expect
                | Token::False
                | Token::Fn
                | Token::For
                | Token::Given
                | Token::Hit
                | Token::If
                | Token::In
                | Token::Key
                | Token::Let
                | Token::Match
                | Token::None
                | Token::Not
                | Token::On
                | Token::Or
                | Token::Record
                | Token::Reject
                | Token::Require
                | Token::Table
                | Token::Test
                | Token::Then
                | Token::True
                | Token::With
        )
    }

    /// Literals: numbers, strings, temporals, `true`, `false`, `none`.
    pub fn is_literal(self) -> bool {
        matches!(
            self,
            Token::Int | Token::Decimal | Token::Str | Token::Temporal | Token::True | Token::False | Token::None
        )
    }
}

/// A token and its byte range; `token` is `None` for text that is no token of
/// Canon (a stray character, an unterminated string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexeme {
    pub token: Option<Token>,
    pub start: usize,
    pub end: usize,
}

/// All tokens of `text`, in order, comments included. Never fails: text that
/// is no token becomes a lexeme with `token: None`.
pub fn lex(text: &str) -> Vec<Lexeme> {
    let mut lexer = Token::lexer(text);
    let mut out = Vec::new();
    while let Some(t) = lexer.next() {
        let span = lexer.span();
        out.push(Lexeme { token: t.ok(), start: span.start, end: span.end });
    }
    out
}

/// The rest of a string after its opening `"`: text, escapes and
/// interpolations up to the closing `"`. Returns false (an error token) when
/// the string is not closed.
fn string_rest(lex: &mut logos::Lexer<'_, Token>) -> bool {
    let rest = lex.remainder().as_bytes();
    match scan_string(rest, 0) {
        Ok(end) => {
            lex.bump(end);
            true
        }
        Err(stop) => {
            // The error token runs to where the scan stopped: the end of the
            // line of a string not closed on it, or the end of the text for
            // an interpolation not closed. Lexing goes on from there, so no
            // text is scanned twice (a file of lines `"{` each lexed to its
            // end from every line was quadratic).
            lex.bump(stop.min(rest.len()));
            false
        }
    }
}

/// Scans string content starting at `i` (just after the opening quote);
/// returns the index just after the closing quote, or where the string
/// cannot go on (a line break in its text, the end of the text). An interpolation's
/// expression may nest braces, strings, temporals and comments, and span
/// lines; a string in an interpolation in a string … is followed with a list
/// of what encloses the position, not by recursion, so no depth of nesting
/// overflows the stack (the language server lexes every edit, whether or
/// not it parses).
fn scan_string(s: &[u8], mut i: usize) -> Result<usize, usize> {
    enum In {
        Str,
        /// An interpolation, and the braces open in it.
        Interp(usize),
    }
    let mut stack = vec![In::Str];
    loop {
        let Some(&b) = s.get(i) else { return Err(s.len()) };
        match stack.last_mut().ok_or(i)? {
            In::Str => match b {
                b'"' => {
                    stack.pop();
                    i += 1;
                    if stack.is_empty() {
                        return Ok(i);
                    }
                }
                b'\\' => i += 2,
                b'\n' => return Err(i),
                b'{' => {
                    stack.push(In::Interp(0));
                    i += 1;
                }
                _ => i += 1,
            },
            In::Interp(depth) => match b {
                b'"' => {
                    stack.push(In::Str);
                    i += 1;
                }
                b'@' if s.get(i + 1) == Some(&b'"') => {
                    let close = s.get(i + 2..).and_then(|r| r.iter().position(|&b| b == b'"')).ok_or(s.len())?;
                    i += 2 + close + 1;
                }
                b'/' if s.get(i + 1) == Some(&b'/') => {
                    i += s.get(i..).and_then(|r| r.iter().position(|&b| b == b'\n')).ok_or(s.len())?;
                }
                b'{' => {
                    *depth += 1;
                    i += 1;
                }
                b'}' => {
                    if *depth == 0 {
                        stack.pop();
                    } else {
                        *depth -= 1;
                    }
                    i += 1;
                }
                _ => i += 1,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn kinds(src: &str) -> Vec<Option<Token>> {
        lex(src).into_iter().map(|l| l.token).collect()
    }

    #[test]
    fn ranges_and_numbers() {
        use Token::*;
        assert_eq!(
            kinds("[1..5) 12.50 1_000 - 3"),
            vec![
                Some(LBracket),
                Some(Int),
                Some(DotDot),
                Some(Int),
                Some(RParen),
                Some(Decimal),
                Some(Int),
                Some(Minus),
                Some(Int)
            ]
        );
    }

    #[test]
    fn strings_with_interpolation_are_one_token() {
        let src = r#"x = "a {f("}")} {r { b: 1 }.b} \" c" // done"#;
        let l = lex(src);
        let toks: Vec<_> = l.iter().map(|l| (l.token, &src[l.start..l.end])).collect();
        assert_eq!(
            toks,
            vec![
                (Some(Token::Ident), "x"),
                (Some(Token::Eq), "="),
                (Some(Token::Str), r#""a {f("}")} {r { b: 1 }.b} \" c""#),
                (Some(Token::LineComment), "// done"),
            ]
        );
    }

    #[test]
    fn comments_keywords_and_money() {
        use Token::*;
        assert_eq!(
            kinds("/// doc\n// c\nlet x = 10.00 EUR ?? @\"2026-01-01\" | _ || a?.b"),
            vec![
                Some(DocComment),
                Some(LineComment),
                Some(Let),
                Some(Ident),
                Some(Eq),
                Some(Decimal),
                Some(Ident),
                Some(QuestionQuestion),
                Some(Temporal),
                Some(Pipe),
                Some(Underscore),
                Some(PipePipe),
                Some(Ident),
                Some(QuestionDot),
                Some(Ident)
            ]
        );
        assert_eq!(kinds("android notable"), vec![Some(Ident), Some(Ident)]);
    }

    #[test]
    fn unterminated_string_is_an_error_token() {
        let k = kinds("\"abc\nlet");
        assert_eq!(k, vec![None, Some(Token::Let)]);
    }

    /// A string nested in its own interpolation a hundred thousand deep is
    /// one token, and one that is not closed an error token: no recursion.
    #[test]
    fn strings_nested_in_interpolations_lex_at_any_depth() {
        let n = 100_000;
        let deep = format!("{}1{} x", "\"{".repeat(n), "}\"".repeat(n));
        assert_eq!(kinds(&deep), vec![Some(Token::Str), Some(Token::Ident)]);
        // Not closed: inside the outer interpolation to the end of the text.
        let open = format!("{}1{}\nlet", "\"{".repeat(n), "}\"".repeat(n - 1));
        assert_eq!(kinds(&open), vec![None]);
    }

    /// An error token runs to where its string stopped, so nothing is
    /// scanned twice: a string not closed on its line ends there, and an
    /// interpolation not closed takes the rest of the text (lines of `"{`
    /// each scanned to the end from every line were quadratic).
    #[test]
    fn an_unclosed_string_is_one_error_token_to_where_it_stopped() {
        assert_eq!(kinds("\"a {b} c\nlet"), vec![None, Some(Token::Let)]);
        assert_eq!(kinds("\"a {\n b \"c\nlet"), vec![None, Some(Token::Let)]);
        assert_eq!(kinds(&"\"{\n".repeat(40_000)), vec![None]);
        assert_eq!(kinds("x \"{ @\"2026"), vec![Some(Token::Ident), None]);
        assert_eq!(kinds("\"{ // c"), vec![None]);
    }
}
