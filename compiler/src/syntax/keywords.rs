//! Canon's reserved words (LANGUAGE.md §2), each once, grouped by the place
//! it begins or belongs to. The parser's item recovery, the language server's
//! completion and rename read these lists; a test of the language server
//! checks that grammar/canon.pest, the lexer and the VS Code grammar agree.

/// Words that begin a top-level item, in the order completion offers them.
pub const ITEM: &[&str] = &["enum", "record", "event", "destination", "table", "fn", "decision", "on", "test"];

/// Words that begin a statement of a handler (`if` and `match` are also expressions).
pub const STATEMENT: &[&str] = &["let", "check", "require", "reject", "emit", "if", "match", "for"];

/// Words that begin a statement of a test (besides `let`).
pub const TEST: &[&str] = &["given", "with", "expect", "assert"];

/// Words inside expressions: operators, the rest of `if`, and the literals.
pub const EXPRESSION: &[&str] = &["and", "or", "not", "in", "then", "else", "true", "false", "none"];

/// Words inside a declaration: `event X as "..."`, `on X as x`, `table t: T key k`, `hit first`.
pub const CLAUSE: &[&str] = &["as", "key", "hit"];

/// Contextual words that begin a top-level item, each with what follows its
/// name (`state name:`, `metric name =`); they are not reserved.
pub const CONTEXTUAL_ITEM: &[(&str, &str)] = &[("state", ":"), ("metric", "="), ("calendar", "{")];

/// Contextual words that begin a statement of a handler (LANGUAGE.md §8.1).
pub const CONTEXTUAL_STATEMENT: &[&str] = &["put", "update", "delete"];

/// Contextual words of a `metric` declaration's clauses.
pub const CONTEXTUAL_CLAUSE: &[&str] = &["where", "by", "age"];

/// Contextual words of an effective-dated table (LANGUAGE.md §5.1):
/// `table t: T key k effective from to to` and `t[k as of d]`.
pub const CONTEXTUAL_DATED: &[&str] = &["effective", "to", "of"];
/// Contextual words of a decision table: `default expr` after the hit policy (LANGUAGE.md §5.2).
pub const CONTEXTUAL_DECISION: &[&str] = &["default"];

/// Contextual words inside a test's statements: `expect no emit`, `expect no
/// state`, `given file`, `expect reject C times 2`, `expect exactly { ... }`
/// (`expect state` reuses `state`).
pub const CONTEXTUAL_TEST: &[&str] = &["no", "file", "times", "exactly"];

/// Every contextual word (LANGUAGE.md §2): a keyword only in its places, a
/// name everywhere else; each once.
pub fn contextual() -> impl Iterator<Item = &'static str> {
    CONTEXTUAL_ITEM
        .iter()
        .map(|(w, _)| *w)
        .chain(CONTEXTUAL_STATEMENT.iter().copied())
        .chain(CONTEXTUAL_CLAUSE.iter().copied())
        .chain(CONTEXTUAL_TEST.iter().copied())
        .chain(CONTEXTUAL_DATED.iter().copied())
        .chain(CONTEXTUAL_DECISION.iter().copied())
}

/// Every group, each word in exactly one.
pub const ALL: &[&[&str]] = &[ITEM, STATEMENT, TEST, EXPRESSION, CLAUSE];

/// Whether `word` is reserved.
pub fn is_keyword(word: &str) -> bool {
    ALL.iter().any(|g| g.contains(&word))
}

/// Every reserved word.
pub fn all() -> impl Iterator<Item = &'static str> {
    ALL.iter().flat_map(|g| g.iter().copied())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use std::collections::HashSet;

    use crate::syntax::lexer;

    #[test]
    fn each_keyword_is_declared_once_and_lexes_as_a_keyword() {
        let words: Vec<&str> = super::all().collect();
        let unique: HashSet<&str> = words.iter().copied().collect();
        assert_eq!(words.len(), unique.len(), "a keyword is in two groups");
        for w in &words {
            let toks = lexer::lex(w);
            assert!(
                toks.len() == 1 && toks[0].token.is_some_and(|t| t.is_keyword()),
                "`{w}` does not lex as a keyword"
            );
        }
    }

    #[test]
    fn contextual_words_are_names_once_each() {
        let words: Vec<&str> = super::contextual().collect();
        let unique: HashSet<&str> = words.iter().copied().collect();
        assert_eq!(words.len(), unique.len(), "a contextual word is in two groups");
        for w in &words {
            assert!(!super::is_keyword(w), "`{w}` is reserved");
            let toks = lexer::lex(w);
            assert!(toks.len() == 1 && toks[0].token == Some(lexer::Token::Ident), "`{w}` does not lex as a name");
        }
        // Each is a name where it does not begin its declaration, statement or clause.
        let fields: Vec<String> = words.iter().map(|w| format!("{w}: Int")).collect();
        let text = format!("record R {{ {} }}\nfn f(r: R) -> Int = r.{}\n", fields.join(", "), words.join(" + r."));
        let parsed = crate::syntax::parse(&text, crate::diagnostics::FileId(0));
        assert!(parsed.diagnostics.is_empty(), "{text}: {:?}", parsed.diagnostics);
    }
}
