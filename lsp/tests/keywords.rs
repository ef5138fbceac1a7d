//! The keywords are declared once (`canon_compiler::syntax::keywords`); this
//! checks that the pest grammar, the VS Code TextMate grammar and the
//! language server's completion agree with that declaration: the reserved
//! words everywhere, the contextual ones (LANGUAGE.md §2) only in their places.
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

/// The words of `keyword = @{ ( "a" ~ ("nd" | "s") | "given" ... ) ~ !ident_char }`:
/// one alternative a line, a first word alone or a prefix and its endings.
#[test]
fn the_pest_grammar_reserves_the_declared_keywords() {
    let pest = read("grammar/canon.pest");
    let start = pest.find("\nkeyword = @{").expect("a `keyword` rule");
    let end = start + pest[start..].find("\n}").expect("its end");
    let mut words = BTreeSet::new();
    for line in pest[start..end].lines() {
        let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        match quoted.split_first() {
            Some((prefix, endings)) if line.contains("~ (") || line.contains("~ \"") => {
                assert!(!endings.is_empty(), "{line}");
                words.extend(endings.iter().map(|e| format!("{prefix}{e}")));
            }
            Some((word, [])) => {
                words.insert(word.to_string());
            }
            _ => assert!(quoted.is_empty(), "one alternative a line: {line}"),
        }
    }
    assert_eq!(words, declared());
    // Each keyword has its token rule `kw_<word>`.
    for w in keywords::all() {
        assert!(pest.contains(&format!("\nkw_{w} = @{{ \"{w}\" ~ !ident_char }}")), "no `kw_{w}` rule in canon.pest");
    }
}

/// Every `kw_<word>` token rule of the pest grammar is a reserved or a
/// contextual word; the contextual ones are not in `keyword` (so `ident`
/// accepts them) and each is used by a rule of its place.
#[test]
fn the_pest_grammar_has_the_declared_contextual_words() {
    let pest = read("grammar/canon.pest");
    let rules: BTreeSet<String> =
        pest.lines().filter_map(|l| l.strip_prefix("kw_")?.split_once(" = @{").map(|(w, _)| w.to_string())).collect();
    let contextual: BTreeSet<String> = keywords::contextual().map(str::to_string).collect();
    let all: BTreeSet<String> = declared().union(&contextual).cloned().collect();
    assert_eq!(rules, all);
    assert!(declared().is_disjoint(&contextual));
    let rule = |name: &str| -> String {
        let start = pest.find(&format!("\n{name} ")).unwrap_or_else(|| panic!("no rule `{name}`"));
        // To the next line that does not continue it (an indented one does).
        let rest = &pest[start + 1..];
        let end = rest.match_indices('\n').map(|(i, _)| i).find(|&i| !rest[i + 1..].starts_with(' ')).unwrap();
        rest[..end].to_string()
    };
    for (w, punct) in keywords::CONTEXTUAL_ITEM {
        let r = rule(&format!("{w}_decl"));
        assert!(r.contains(&format!("kw_{w} ~ ident ~ \"{punct}\"")), "{r}");
    }
    let stmt = rule("stmt");
    for w in keywords::CONTEXTUAL_STATEMENT {
        assert!(stmt.contains(&format!("{w}_stmt")), "{stmt}");
        assert!(rule(&format!("{w}_stmt")).contains(&format!("kw_{w} ~ ident")), "`{w}` begins its statement");
    }
    for w in keywords::CONTEXTUAL_CLAUSE {
        assert!(rule(&format!("metric_{w}")).contains(&format!("{{ kw_{w} ~")), "`{w}` begins its clause");
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
    // The contextual words are highlighted by rules of their places, not as
    // keywords everywhere: each is an alternative of a regex outside `keywords`.
    let mut places = json["repository"].clone();
    places.as_object_mut().unwrap().remove("keywords");
    let mut regexes = Vec::new();
    collect_regexes(&places, &mut regexes);
    for w in keywords::contextual() {
        let found = regexes.iter().any(|r| {
            [format!("({w})"), format!("({w}|"), format!("|{w})"), format!("|{w}|")].iter().any(|p| r.contains(p))
        });
        assert!(found, "`{w}` is highlighted nowhere");
    }
}

fn collect_regexes(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x.as_str()) {
                    ("match" | "begin", Some(r)) => out.push(r.to_string()),
                    _ => collect_regexes(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_regexes(x, out)),
        _ => {}
    }
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
    // At the start of a line: the item keywords, then `state` and `metric`.
    let items: Vec<&str> =
        keywords::ITEM.iter().copied().chain(keywords::CONTEXTUAL_ITEM.iter().map(|(w, _)| *w)).collect();
    assert_eq!(kws(text.len()), items);
    // Inside a handler: statement keywords, then `put`, `update`, `delete`.
    let in_handler = text.find("{\n  \n}").unwrap() + 4;
    let statements: Vec<&str> = keywords::STATEMENT.iter().chain(keywords::CONTEXTUAL_STATEMENT).copied().collect();
    assert_eq!(kws(in_handler), statements);
    // Inside a test: its own words, and no state statement.
    let in_test = text.rfind("{\n  \n}").unwrap() + 4;
    let got = kws(in_test);
    for w in keywords::TEST {
        assert!(got.iter().any(|g| g == w), "`{w}` not offered in a test: {got:?}");
    }
    for w in keywords::CONTEXTUAL_STATEMENT {
        assert!(!got.iter().any(|g| g == w), "`{w}` offered in a test: {got:?}");
    }
    // After a metric's aggregate: its clauses, in order.
    let metric = "record R {\n  k: Text\n  n: Int\n}\nstate s: R key k\nmetric m = sum(s, x => x.n) ";
    std::fs::write(dir.join("a.canon"), metric).unwrap();
    let mut ws = Workspace::new();
    ws.load_root(dir);
    let got: Vec<String> = ws
        .completion(&key, metric.len() as u32)
        .into_iter()
        .filter(|c| c.kind == CompletionKind::Keyword)
        .map(|c| c.label)
        .collect();
    assert_eq!(got, keywords::CONTEXTUAL_CLAUSE);
}

#[test]
fn completion_offers_the_hit_policies_after_hit() {
    use canon_lsp::analysis::Workspace;
    use canon_lsp::completion::CompletionKind;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key_of = |ws: &Workspace| ws.key_of(&dir.join("a.canon"));
    let offered = |text: &str| -> Vec<String> {
        std::fs::write(dir.join("a.canon"), text).unwrap();
        let mut ws = Workspace::new();
        ws.load_root(dir);
        let key = key_of(&ws);
        ws.completion(&key, text.len() as u32)
            .into_iter()
            .filter(|c| c.kind == CompletionKind::Keyword)
            .map(|c| c.label)
            .collect()
    };
    let policies = offered("decision d(a: Int) -> Int\n  hit ");
    for p in ["first", "unique", "any", "priority", "output order", "collect"] {
        assert!(policies.iter().any(|x| x == p), "`{p}` not offered: {policies:?}");
    }
    assert_eq!(offered("decision d(a: Int) -> Int\n  hit collect "), ["sum", "count", "min", "max"]);
}
