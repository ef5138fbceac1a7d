//! `canon fmt`: idempotent and meaning-preserving on every `.canon` file of the
//! repository and on generated programs; snapshots of a few layouts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use canon_compiler::diagnostics::FileId;
use canon_compiler::fmt::{fingerprint, format, FormatError};
use canon_compiler::syntax::lexer::{lex, Token};
use canon_compiler::syntax::parse;
use proptest::prelude::*;

fn canon_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            canon_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "canon") {
            out.push(p);
        }
    }
}

fn repo_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["examples", "tests/check", "tests/conformance", "compiler/tests/fmt"] {
        canon_files(&root.join(dir), &mut files);
    }
    files
}

/// `None` when `text` has a syntax error.
fn tree(text: &str) -> Option<String> {
    let p = parse(text, FileId(0));
    p.diagnostics.is_empty().then(|| fingerprint(&p.file))
}

/// Both properties for one text; `Err` describes the first that fails.
fn check_properties(text: &str) -> Result<(), String> {
    let Some(before) = tree(text) else { return Ok(()) };
    let once = format(text).map_err(|e| format!("format failed: {e}"))?;
    match tree(&once) {
        None => return Err(format!("the formatted text does not parse:\n{once}")),
        Some(after) if after != before => return Err(format!("the tree changed:\n{once}")),
        Some(_) => {}
    }
    let twice = format(&once).map_err(|e| format!("formatting again failed: {e}\n{once}"))?;
    if twice != once {
        return Err(format!("not idempotent:\n--- once\n{once}\n--- twice\n{twice}"));
    }
    Ok(())
}

#[test]
fn repo_files_are_formatted_idempotently_and_keep_their_meaning() {
    let files = repo_files();
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut failures = Vec::new();
    let mut formatted = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if tree(&text).is_none() {
            assert!(matches!(format(&text), Err(FormatError::Syntax { .. })), "{}", f.display());
            continue;
        }
        formatted += 1;
        if let Err(e) = check_properties(&text) {
            failures.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(formatted > 20, "formatted only {formatted} files");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn examples_are_already_formatted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files = Vec::new();
    canon_files(&root, &mut files);
    let unformatted: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            format(&text).map(|o| o != text).unwrap_or(true)
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(unformatted.is_empty(), "run `canon fmt` on: {}", unformatted.join(", "));
}

#[test]
fn snapshots() {
    insta::glob!("fmt/*.canon", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let out = format(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check_properties(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        insta::assert_snapshot!(out);
    });
}

#[test]
fn syntax_errors_leave_the_file_alone() {
    let err = format("record R {\n  a: Int\n\nfn f( -> Int = 1\n").unwrap_err();
    assert!(matches!(err, FormatError::Syntax { .. }), "{err}");
    assert!(format("on E as e { let = 1 }").is_err());
}

#[test]
fn odd_inputs_do_not_panic() {
    for text in [
        "",
        "\n\n",
        "// only a comment",
        "/// doc at the end",
        "\"unterminated",
        "@\"",
        "record",
        "enum E { A }\u{0}",
        "decision d(a: Int) -> Int hit first | a || b | | 1 || 2 |",
        "fn f() -> Int = 1 // c",
    ] {
        let _ = format(text);
    }
    assert_eq!(format("").unwrap(), "");
    assert_eq!(format("// only a comment").unwrap(), "// only a comment\n");
}

// ---------------------------------------------------------------- re-laid-out repository files

/// Separators between tokens; the first ones have no newline.
const SEPARATORS: &[&str] = &[
    " ",
    "  ",
    "\t",
    " ",
    "\n",
    "\n    ",
    "\n\n",
    "\n\n\n",
    " // note\n",
    "\n// own line\n",
    "\n/// doc line\n",
    "\n\n// after a blank\n\n",
    " /// trailing doc\n",
    "\n  //\n",
];
const FIRST_WITH_NEWLINE: usize = 4;

/// A tiny deterministic generator for choosing separators.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// The tokens of `text` joined again with random whitespace and comments,
/// keeping what must stay: a money literal's number and currency on one line,
/// a line break after each comment and before each decision row.
fn relayout(text: &str, seed: u64, keep_rate: usize) -> String {
    let mut rng = Rng(seed);
    let toks = lex(text);
    let mut out = String::new();
    let mut prev_end = 0usize;
    let mut prev: Option<Token> = None;
    for (i, l) in toks.iter().enumerate() {
        let piece = &text[l.start..l.end];
        let orig_sep = &text[prev_end..l.start];
        if i > 0 {
            let prev_is_number = matches!(prev, Some(Token::Int | Token::Decimal));
            let is_currency =
                l.token == Some(Token::Ident) && piece.len() == 3 && piece.bytes().all(|b| b.is_ascii_uppercase());
            let dotted = orig_sep.is_empty() && (l.token == Some(Token::Dot) || prev == Some(Token::Dot));
            let needs_newline =
                prev.is_some_and(|t| t.is_comment()) || (l.token == Some(Token::Pipe) && orig_sep.contains('\n'));
            let sep = if prev_is_number && is_currency && !orig_sep.contains('\n') {
                " ".to_string()
            } else if dotted {
                String::new()
            } else if rng.below(100) < keep_rate {
                if needs_newline && !orig_sep.contains('\n') {
                    "\n".to_string()
                } else {
                    orig_sep.to_string()
                }
            } else if needs_newline {
                SEPARATORS[FIRST_WITH_NEWLINE + rng.below(SEPARATORS.len() - FIRST_WITH_NEWLINE)].to_string()
            } else {
                SEPARATORS[rng.below(SEPARATORS.len())].to_string()
            };
            out.push_str(&sep);
        }
        out.push_str(piece);
        prev_end = l.end;
        prev = l.token;
    }
    if prev.is_some_and(|t| t.is_comment()) {
        out.push('\n');
    }
    out
}

fn parseable_repo_texts() -> &'static [(String, String)] {
    static TEXTS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    TEXTS.get_or_init(|| {
        repo_files()
            .into_iter()
            .filter_map(|f| {
                let text = std::fs::read_to_string(&f).ok()?;
                tree(&text)?;
                Some((f.display().to_string(), text))
            })
            .collect()
    })
}

proptest! {
    // `FMT_CASES=5000 cargo test --test fmt` for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("FMT_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(96),
        ..ProptestConfig::default()
    })]

    #[test]
    fn relaid_out_repo_files(index in any::<prop::sample::Index>(), seed in any::<u64>(), keep in 0usize..95) {
        let texts = parseable_repo_texts();
        let (name, text) = &texts[index.index(texts.len())];
        let mutated = relayout(text, seed, keep);
        // Mostly parseable; the rare mutation that is not says nothing.
        prop_assume!(tree(&mutated).is_some());
        if let Err(e) = check_properties(&mutated) {
            prop_assert!(false, "{name} (seed {seed}, keep {keep}):\n--- input\n{mutated}\n{e}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[a-zA-Z0-9_ {}()\\[\\]|,.:=<>!?+*/\"@\\\\\n\t-]{0,300}") {
        match format(&text) {
            Ok(_) => prop_assert!(check_properties(&text).is_ok()),
            Err(e) => prop_assert!(matches!(e, FormatError::Syntax { .. }), "{e}"),
        }
    }

    #[test]
    fn truncated_repo_files(index in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let texts = parseable_repo_texts();
        let (name, text) = &texts[index.index(texts.len())];
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let part = &text[..at];
        match format(part) {
            Ok(_) => {
                if let Err(e) = check_properties(part) {
                    prop_assert!(false, "{name} cut at {at}: {e}");
                }
            }
            Err(e) => prop_assert!(matches!(e, FormatError::Syntax { .. }), "{name} cut at {at}: {e}"),
        }
    }

    #[test]
    fn generated_programs(prog in program(), seed in any::<u64>(), keep in 0usize..100) {
        let text = prog.render(seed, keep);
        let parsed = parse(&text, FileId(0));
        prop_assert!(parsed.diagnostics.is_empty(), "generated text does not parse: {:?}\n{text}", parsed.diagnostics.first().map(|d| &d.message));
        if let Err(e) = check_properties(&text) {
            prop_assert!(false, "--- input\n{text}\n{e}");
        }
    }
}

// ---------------------------------------------------------------- a generator of programs

/// A token stream with the places where a newline is required.
#[derive(Debug, Clone, Default)]
struct Program {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Tok(String),
    /// A currency code right after its number, on the same line.
    Glued(String),
    /// The next token starts a line (a decision row).
    Newline,
}

impl Program {
    fn tok(mut self, s: &str) -> Program {
        self.pieces.push(Piece::Tok(s.to_string()));
        self
    }
    fn then(mut self, other: Program) -> Program {
        self.pieces.extend(other.pieces);
        self
    }
    fn render(&self, seed: u64, keep_plain: usize) -> String {
        let mut rng = Rng(seed);
        let mut out = String::new();
        let mut need_newline = false;
        for (i, p) in self.pieces.iter().enumerate() {
            match p {
                Piece::Newline => need_newline = true,
                Piece::Glued(s) => {
                    out.push(' ');
                    out.push_str(s);
                }
                Piece::Tok(s) => {
                    if i > 0 {
                        let sep = if need_newline {
                            SEPARATORS[FIRST_WITH_NEWLINE + rng.below(SEPARATORS.len() - FIRST_WITH_NEWLINE)]
                        } else if rng.below(100) < keep_plain {
                            " "
                        } else {
                            SEPARATORS[rng.below(SEPARATORS.len())]
                        };
                        out.push_str(sep);
                    }
                    need_newline = false;
                    out.push_str(s);
                }
            }
        }
        out.push('\n');
        out
    }
}

fn toks(ts: &[&str]) -> Program {
    ts.iter().fold(Program::default(), |p, t| p.tok(t))
}

fn join(parts: Vec<Program>, sep: &str, trailing: bool) -> Program {
    let n = parts.len();
    let mut out = Program::default();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 && !sep.is_empty() {
            out = out.tok(sep);
        }
        out = out.then(p);
    }
    if trailing && n > 0 && !sep.is_empty() {
        out = out.tok(sep);
    }
    out
}

fn ident() -> impl Strategy<Value = String> {
    // `state` and `by` are keywords only where they begin a declaration or a clause.
    prop::sample::select(vec!["a", "b", "amount", "x1", "total_hours", "rate", "state", "by"]).prop_map(str::to_string)
}

fn type_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["Int", "Decimal", "Money", "Text", "Bool", "Date", "Posting", "Kind"])
        .prop_map(str::to_string)
}

fn code() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["TOO_MANY", "NO_RATE", "E1"]).prop_map(str::to_string)
}

fn ty() -> impl Strategy<Value = Program> {
    let leaf = type_name().prop_map(|t| toks(&[&t]));
    leaf.prop_recursive(2, 4, 1, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| toks(&["List", "<"]).then(t).tok(">")),
            type_name().prop_map(|t| toks(&[&t, "?"])),
        ]
    })
}

fn number() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["0", "7", "1_000", "2.50", "0.075", "24"]).prop_map(str::to_string)
}

fn literal() -> impl Strategy<Value = Program> {
    prop_oneof![
        plain_literal(),
        prop::sample::select(vec![
            "\"a {x1} b\"",
            "\"esc \\\" \\{ {rate + 1} // not a comment\"",
            "\"nested {f(\"x\", R { a: 1 }.a)}\"",
        ])
        .prop_map(|s| toks(&[s])),
    ]
}

/// Literals allowed in decision cells and patterns (no interpolation).
fn plain_literal() -> impl Strategy<Value = Program> {
    prop_oneof![
        number().prop_map(|n| toks(&[&n])),
        (number(), prop::sample::select(vec!["EUR", "USD"])).prop_map(|(n, c)| {
            let mut p = toks(&[&n]);
            p.pieces.push(Piece::Glued(c.to_string()));
            p
        }),
        prop::sample::select(vec![
            "\"text\"",
            "\"esc \\\" \\{ // not a comment\"",
            "@\"2026-11-25\"",
            "@\"2026-11-25T09:00:00Z\"",
            "true",
            "false",
            "none",
        ])
        .prop_map(|s| toks(&[s])),
    ]
}

/// A pattern or decision-cell value.
fn cell_value() -> impl Strategy<Value = Program> {
    prop_oneof![
        plain_literal(),
        number().prop_map(|n| toks(&["-", &n])),
        prop::sample::select(vec!["Open", "Closed", "EU"]).prop_map(|s| toks(&[s])),
        prop::sample::select(vec!["Kind.Open", "Status.Closed"]).prop_map(|s| toks(&[s])),
    ]
}

fn patterns() -> impl Strategy<Value = Program> {
    prop_oneof![Just(toks(&["_"])), prop::collection::vec(cell_value(), 1..3).prop_map(|ps| join(ps, "|", false)),]
}

/// Expressions that can stand anywhere an operand can (postfix level).
fn atom() -> BoxedStrategy<Program> {
    let leaf = prop_oneof![literal(), ident().prop_map(|i| toks(&[&i]))];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let expr = expr_from(inner.clone());
        prop_oneof![
            (inner.clone(), ident(), any::<bool>()).prop_map(|(b, f, opt)| b.tok(if opt { "?." } else { "." }).tok(&f)),
            (ident(), prop::collection::vec(expr.clone(), 0..4), any::<bool>())
                .prop_map(|(f, args, tc)| { toks(&[&f, "("]).then(join(args, ",", tc)).tok(")") }),
            (ident(), ident(), expr.clone()).prop_map(|(f, x, body)| toks(&[&f, "(", &x, "=>"]).then(body).tok(")")),
            (inner.clone(), prop::collection::vec(expr.clone(), 1..3), any::<bool>())
                .prop_map(|(b, ks, tc)| b.tok("[").then(join(ks, ",", tc)).tok("]")),
            (
                prop::sample::select(vec!["Posting", "R"]),
                prop::collection::vec((ident(), expr.clone()), 0..5),
                any::<bool>(),
                any::<bool>()
            )
                .prop_map(|(t, fs, rest, tc)| {
                    let fields: Vec<Program> = fs.into_iter().map(|(n, v)| toks(&[&n, ":"]).then(v)).collect();
                    let mut body = join(fields.clone(), ",", tc && !rest);
                    if rest {
                        if !fields.is_empty() {
                            body = body.tok(",");
                        }
                        body = body.tok("..");
                    }
                    toks(&[t, "{"]).then(body).tok("}")
                }),
            (prop::collection::vec(expr.clone(), 0..5), any::<bool>())
                .prop_map(|(es, tc)| toks(&["["]).then(join(es, ",", tc)).tok("]")),
            expr.clone().prop_map(|e| toks(&["("]).then(e).tok(")")),
            (expr.clone(), prop::collection::vec((patterns(), expr.clone()), 1..4), any::<bool>()).prop_map(
                |(s, arms, tc)| {
                    let arms: Vec<Program> = arms.into_iter().map(|(p, e)| p.tok("=>").then(e)).collect();
                    toks(&["match", "("]).then(s).tok(")").tok("{").then(join(arms, ",", tc)).tok("}")
                }
            ),
        ]
    })
    .boxed()
}

fn expr_from(atom: impl Strategy<Value = Program> + Clone + 'static) -> BoxedStrategy<Program> {
    let operand = prop_oneof![4 => atom.clone(), 1 => atom.clone().prop_map(|a| toks(&["-"]).then(a))];
    prop_oneof![
        3 => atom.clone(),
        2 => (operand.clone(), prop::sample::select(vec!["+", "-", "*", "/"]), operand.clone(), prop::sample::select(vec!["+", "*"]), operand.clone())
            .prop_map(|(a, o1, b, o2, c)| a.tok(o1).then(b).tok(o2).then(c)),
        2 => (operand.clone(), prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">=", "in", "not in"]), operand.clone())
            .prop_map(|(a, op, b)| {
                let mut p = a;
                for t in op.split(' ') {
                    p = p.tok(t);
                }
                p.then(b)
            }),
        2 => (prop::collection::vec(atom.clone(), 2..5), prop::sample::select(vec!["and", "or", "??"]))
            .prop_map(|(xs, op)| join(xs, op, false)),
        1 => atom.clone().prop_map(|a| toks(&["not"]).then(a)),
        1 => (atom.clone(), atom.clone(), atom.clone())
            // The condition in parentheses: it may be a record literal, which
            // cannot stand directly in the head of an `if` (§7.1).
            .prop_map(|(c, t, e)| toks(&["if", "("]).then(c).tok(")").tok("then").then(t).tok("else").then(e)),
    ]
    .boxed()
}

fn expr() -> BoxedStrategy<Program> {
    expr_from(atom())
}

/// Conditions of `if` and `check`: no bare record literal before a block.
fn stmt() -> impl Strategy<Value = Program> {
    let simple = prop_oneof![
        (ident(), expr()).prop_map(|(n, e)| toks(&["let", &n, "="]).then(e)),
        (prop::sample::select(vec!["check", "require"]), expr(), code(), any::<bool>()).prop_map(
            |(kw, c, code, msg)| {
                let p = toks(&[kw, "("]).then(c).tok(")").tok("else").tok("reject").tok(&code);
                if msg {
                    p.tok("\"why {a}\"")
                } else {
                    p
                }
            }
        ),
        (code(), any::<bool>()).prop_map(|(c, msg)| {
            let p = toks(&["reject", &c]);
            if msg {
                p.tok("\"no\"")
            } else {
                p
            }
        }),
        (ident(), expr()).prop_map(|(d, e)| toks(&["emit", &d]).then(e)),
        // §8.1: the state statements.
        (ident(), expr()).prop_map(|(s, e)| toks(&["put", &s]).then(e)),
        (ident(), state_keys(), prop::collection::vec((ident(), expr()), 1..4), any::<bool>()).prop_map(
            |(s, keys, fs, tc)| {
                let fs: Vec<Program> = fs.into_iter().map(|(n, v)| toks(&[&n, ":"]).then(v)).collect();
                toks(&["update", &s]).then(keys).tok("{").then(join(fs, ",", tc)).tok("}")
            }
        ),
        (ident(), state_keys()).prop_map(|(s, keys)| toks(&["delete", &s]).then(keys)),
    ];
    simple.prop_recursive(2, 12, 3, |inner| {
        let block =
            prop::collection::vec(inner.clone(), 0..3).prop_map(|ss| toks(&["{"]).then(join(ss, "", false)).tok("}"));
        prop_oneof![
            (ident(), block.clone(), prop::option::of(block.clone())).prop_map(|(c, b, e)| {
                let p = toks(&["if", &c]).then(b);
                match e {
                    Some(e) => p.tok("else").then(e),
                    None => p,
                }
            }),
            (ident(), ident(), block.clone()).prop_map(|(c, c2, b)| toks(&["if", &c])
                .then(b.clone())
                .tok("else")
                .tok("if")
                .tok(&c2)
                .then(b)),
            (ident(), prop::collection::vec((patterns(), block.clone()), 1..3)).prop_map(|(s, arms)| {
                let arms: Vec<Program> = arms.into_iter().map(|(p, b)| p.tok("=>").then(b)).collect();
                toks(&["match", &s, "{"]).then(join(arms, "", false)).tok("}")
            }),
            (ident(), ident(), block).prop_map(|(v, l, b)| toks(&["for", &v, "in", &l]).then(b)),
        ]
    })
}

/// `[k, ...]` after a state's name.
fn state_keys() -> impl Strategy<Value = Program> {
    (prop::collection::vec(expr(), 1..3), any::<bool>())
        .prop_map(|(ks, tc)| toks(&["["]).then(join(ks, ",", tc)).tok("]"))
}

fn key_fields() -> impl Strategy<Value = Program> {
    (prop::collection::vec(ident(), 1..3), any::<bool>()).prop_map(|(ks, tc)| {
        if ks.len() == 1 {
            toks(&[&ks[0]])
        } else {
            toks(&["("]).then(join(ks.iter().map(|k| toks(&[k])).collect(), ",", tc)).tok(")")
        }
    })
}

/// `metric m = sum(s, x => e) [where c] [by a, b] [age f > N unit]` (§4.6).
fn metric() -> impl Strategy<Value = Program> {
    (
        (ident(), prop::sample::select(vec!["sum", "count"]), ident(), ident(), expr(), any::<bool>()),
        prop::option::of(expr()),
        prop::collection::vec(ident(), 0..3),
        prop::option::of((
            ident(),
            prop::sample::select(vec!["48", "1_000"]),
            prop::sample::select(vec!["hours", "days", "minutes"]),
        )),
    )
        .prop_map(|((n, agg, s, x, body, tc), filter, by, age)| {
            let mut p = toks(&["metric", &n, "=", agg, "(", &s, ",", &x, "=>"]).then(body);
            if tc {
                p = p.tok(",");
            }
            p = p.tok(")");
            if let Some(f) = filter {
                p = p.tok("where").then(f);
            }
            if !by.is_empty() {
                p = p.tok("by").then(join(by.iter().map(|b| toks(&[b])).collect(), ",", false));
            }
            if let Some((f, amount, unit)) = age {
                p = p.tok("age").tok(&f).tok(">").tok(amount).tok(unit);
            }
            p
        })
}

fn cell() -> impl Strategy<Value = Program> {
    prop_oneof![
        Just(toks(&["-"])),
        prop::collection::vec(cell_value(), 1..3).prop_map(|vs| join(vs, ",", false)),
        prop::collection::vec(cell_value(), 1..3).prop_map(|vs| toks(&["not"]).then(join(vs, ",", false))),
        (prop::sample::select(vec!["<", "<=", ">", ">="]), cell_value()).prop_map(|(op, v)| toks(&[op]).then(v)),
        (prop::sample::select(vec!["[", "("]), number(), number(), prop::sample::select(vec!["]", ")"]))
            .prop_map(|(o, a, b, c)| toks(&[o, &a, "..", &b, c])),
    ]
}

fn params() -> impl Strategy<Value = Program> {
    (prop::collection::vec((ident(), ty()), 0..4), any::<bool>()).prop_map(|(ps, tc)| {
        let ps: Vec<Program> = ps.into_iter().map(|(n, t)| toks(&[&n, ":"]).then(t)).collect();
        toks(&["("]).then(join(ps, ",", tc)).tok(")")
    })
}

fn item() -> impl Strategy<Value = Program> {
    prop_oneof![
        (
            type_name(),
            prop::collection::vec((prop::sample::select(vec!["A", "Open", "OnHold"]), any::<bool>()), 1..4),
            any::<bool>()
        )
            .prop_map(|(n, vs, commas)| {
                let vs: Vec<Program> =
                    vs.into_iter().map(|(v, w)| if w { toks(&[v, "=", "\"WIRE\""]) } else { toks(&[v]) }).collect();
                toks(&["enum", &n, "{"]).then(join(vs, if commas { "," } else { "" }, commas)).tok("}")
            }),
        (any::<bool>(), type_name(), prop::collection::vec((ident(), ty(), any::<bool>()), 0..4), any::<bool>())
            .prop_map(|(ev, n, fs, commas)| {
                let fs: Vec<Program> = fs
                    .into_iter()
                    .map(|(f, t, w)| {
                        let p = toks(&[&f, ":"]).then(t);
                        if w {
                            p.tok("as").tok("\"wireName\"")
                        } else {
                            p
                        }
                    })
                    .collect();
                let head = if ev { toks(&["event", &n, "as", "\"com.acme.x\""]) } else { toks(&["record", &n]) };
                head.tok("{").then(join(fs, if commas { "," } else { "" }, false)).tok("}")
            }),
        (ident(), ty()).prop_map(|(n, t)| toks(&["destination", &n, ":"]).then(t)),
        (ident(), type_name(), prop::collection::vec(ident(), 1..3)).prop_map(|(n, t, ks)| {
            let keys = if ks.len() == 1 {
                toks(&[&ks[0]])
            } else {
                toks(&["("]).then(join(ks.iter().map(|k| toks(&[k])).collect(), ",", false)).tok(")")
            };
            toks(&["table", &n, ":", &t, "key"]).then(keys)
        }),
        (ident(), params(), ty(), prop::collection::vec((ident(), expr()), 0..3), expr()).prop_map(
            |(n, ps, t, lets, body)| {
                let head = toks(&["fn", &n]).then(ps).tok("->").then(t);
                if lets.is_empty() {
                    head.tok("=").then(body)
                } else {
                    let lets: Vec<Program> = lets.into_iter().map(|(l, e)| toks(&["let", &l, "="]).then(e)).collect();
                    // The result must not start with `(`, `[` or `-`, which would continue the last `let`.
                    head.tok("{").then(join(lets, "", false)).tok("x1").tok("??").tok("(").then(body).tok(")").tok("}")
                }
            }
        ),
        (
            ident(),
            params(),
            ty(),
            1usize..3,
            1usize..3,
            prop::collection::vec((prop::collection::vec(cell(), 2), prop::collection::vec(expr(), 2)), 0..4)
        )
            .prop_map(|(n, ps, t, ni, no, rows)| {
                let mut p = toks(&["decision", &n]).then(ps).tok("->").then(t).tok("hit").tok("first");
                p.pieces.push(Piece::Newline);
                p = p.tok("|");
                for i in 0..ni {
                    p = p.tok(["role", "hours", "region"][i]).tok(if i + 1 == ni { "||" } else { "|" });
                }
                for o in 0..no {
                    p = p.tok(["rate", "flag"][o]).tok("|");
                }
                for (cells, outs) in rows {
                    p.pieces.push(Piece::Newline);
                    p = p.tok("|");
                    for (i, c) in cells.into_iter().take(ni).enumerate() {
                        p = p.then(c).tok(if i + 1 == ni { "||" } else { "|" });
                    }
                    for o in outs.into_iter().take(no) {
                        p = p.then(o).tok("|");
                    }
                }
                p
            }),
        (ident(), type_name(), key_fields()).prop_map(|(n, t, keys)| toks(&["state", &n, ":", &t, "key"]).then(keys)),
        metric(),
        (type_name(), ident(), prop::collection::vec(stmt(), 0..5)).prop_map(|(e, b, ss)| toks(&[
            "on", &e, "as", &b, "{"
        ])
        .then(join(ss, "", false))
        .tok("}")),
        prop::collection::vec(
            prop_oneof![
                expr().prop_map(|e| toks(&["given"]).then(e)),
                Just(toks(&["given", "file", "\"fixtures/x.json\""])),
                (ident(), prop::collection::vec(expr(), 0..3))
                    .prop_map(|(t, rs)| toks(&["with", &t, "["]).then(join(rs, ",", false)).tok("]")),
                Just(toks(&["expect", "accepted"])),
                code().prop_map(|c| toks(&["expect", "reject", &c])),
                (ident(), expr()).prop_map(|(d, e)| toks(&["expect", "emit", &d]).then(e)),
                ident().prop_map(|d| toks(&["expect", "no", "emit", &d])),
                (ident(), state_keys(), expr()).prop_map(|(s, k, e)| toks(&["expect", "state", &s]).then(k).then(e)),
                (ident(), state_keys()).prop_map(|(s, k)| toks(&["expect", "no", "state", &s]).then(k)),
                expr().prop_map(|e| toks(&["assert"]).then(e)),
            ],
            0..5,
        )
        .prop_map(|ss| toks(&["test", "\"a test\"", "{"]).then(join(ss, "", false)).tok("}")),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    prop::collection::vec(item(), 1..5).prop_map(|items| join(items, "", false))
}

/// Diagnoses one file: `FMT_DEBUG_FILE=x.canon cargo test --test fmt debug_one_file -- --ignored --nocapture`.
#[test]
#[ignore]
fn debug_one_file() {
    let Ok(path) = std::env::var("FMT_DEBUG_FILE") else { return };
    let text = std::fs::read_to_string(path).unwrap();
    let out = canon_compiler::fmt::format_unchecked(&text).expect("the file parses");
    println!("{out}");
    let again = parse(&out, FileId(0));
    for d in &again.diagnostics {
        println!("syntax error in the result: {}", d.message);
    }
    let (a, b) = (tree(&text).unwrap_or_default(), fingerprint(&again.file));
    if let Some((x, y)) = a.split(", ").zip(b.split(", ")).find(|(x, y)| x != y) {
        println!("the tree changed: `{x}` became `{y}`");
    }
    if let Some(o2) = canon_compiler::fmt::format_unchecked(&out) {
        if o2 != out {
            println!("not idempotent; formatted again:\n{o2}");
        }
    }
}

/// Times formatting one file: `FMT_TIME_FILE=x.canon cargo test --release --test fmt time_one_file -- --ignored --nocapture`.
#[test]
#[ignore]
fn time_one_file() {
    let Ok(path) = std::env::var("FMT_TIME_FILE") else { return };
    let text = std::fs::read_to_string(path).unwrap();
    let t = std::time::Instant::now();
    let out = format(&text).unwrap();
    println!("{} lines in {:?}", out.lines().count(), t.elapsed());
}
