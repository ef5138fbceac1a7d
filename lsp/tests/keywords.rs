//! The keywords are declared once (`canon_compiler::syntax::keywords`); this
//! checks that the pest grammar, the VS Code TextMate grammar and the
//! language server's completion agree with that declaration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use canon_compiler::syntax::keywords;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn declared() -> BTreeSet<String> {
    keywords::all().map(str::to_string).collect()
}

/// The quoted alternatives of `rule = @{ ( "a" | "b" ... ) ~ !ident_char }`.
#[test]
fn the_pest_grammar_reserves_the_declared_keywords() {
    let pest = read("grammar/canon.pest");
    let start = pest.find("\nkeyword = @{").expect("a `keyword` rule");
    let end = start + pest[start..].find("\n}").expect("its end");
    let words: BTreeSet<String> = pest[start..end].split('"').skip(1).step_by(2).map(str::to_string).collect();
    assert_eq!(words, declared());
    // Each keyword has its token rule `kw_<word>`.
    for w in keywords::all() {
        assert!(pest.contains(&format!("\nkw_{w} = @{{ \"{w}\" ~ !ident_char }}")), "no `kw_{w}` rule in canon.pest");
    }
}

#[test]
fn the_vscode_grammar_highlights_the_declared_keywords() {
    let json: serde_json::Value = serde_json::from_str(&read("editors/vscode/syntaxes/canon.tmLanguage.json")).unwrap();
    let patterns = json["repository"]["keywords"]["patterns"].as_array().expect("a `keywords` repository entry");
    let mut words = BTreeSet::new();
    for p in patterns {
        let m = p["match"].as_str().expect("a match");
        let inner =
            m.split_once("(?<![A-Za-z0-9_])(").and_then(|(_, r)| r.split_once(")(?![A-Za-z0-9_])")).expect("(a|b|c)");
        words.extend(inner.0.split('|').map(str::to_string));
    }
    assert_eq!(words, declared());
    // Item keywords are declarations there.
    let decl = patterns.iter().find(|p| p["name"] == "keyword.declaration.$1.canon").expect("declarations");
    let items: BTreeSet<&str> = keywords::ITEM.iter().copied().collect();
    let listed: BTreeSet<&str> =
        decl["match"].as_str().unwrap().split(['(', ')', '|']).filter(|w| items.contains(w)).collect();
    assert_eq!(listed, items);
}

#[test]
fn completion_offers_the_declared_keywords_by_place() {
    use canon_lsp::analysis::Workspace;
    use canon_lsp::completion::CompletionKind;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let text = "event E as \"e\" {\n  a: Int\n}\n\non E as e {\n  \n}\n\ntest \"t\" {\n  \n}\n\n";
    std::fs::write(dir.join("a.canon"), text).unwrap();
    let mut ws = Workspace::new();
    ws.load_root(dir);
    let key = ws.key_of(&dir.join("a.canon"));
    let kws = |offset: usize| -> Vec<String> {
        ws.completion(&key, offset as u32)
            .into_iter()
            .filter(|c| c.kind == CompletionKind::Keyword)
            .map(|c| c.label)
            .collect()
    };
    // At the start of a line: the item keywords.
    assert_eq!(kws(text.len()), keywords::ITEM);
    // Inside a handler: statement keywords (test ones after them).
    let in_handler = text.find("{\n  \n}").unwrap() + 4;
    let got = kws(in_handler);
    assert_eq!(&got[..keywords::STATEMENT.len()], keywords::STATEMENT);
    let in_test = text.rfind("{\n  \n}").unwrap() + 4;
    let got = kws(in_test);
    for w in keywords::TEST {
        assert!(got.iter().any(|g| g == w), "`{w}` not offered in a test: {got:?}");
    }
}
