//! Large decision tables read through their index (runtime/src/dindex.rs)
//! give the answers and faults of the row-by-row reading, in both engines.
//!
//! Random tables (overlapping rows, `none` cells and inputs, Money cells
//! whose currencies can mismatch, cells comparing with a parameter, every
//! hit policy, constant and computed outputs) are run four ways on random
//! events: the interpreter reading row by row (the reference, index off),
//! the interpreter through the index (forced on from one row), the JIT with
//! inline per-row code (index off) and the JIT's large-table path (index
//! forced on), with lineage too. Every outcome line and lineage must be
//! byte-identical.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/rng.rs"]
mod rng;
use rng::{traced, Rng};

use std::path::PathBuf;
use std::sync::Arc;

use canon_compiler::ir;
use canon_jit::JitEngine;
use canon_runtime::{package, Engine, Tables};

const PRELUDE: &str = r#"
enum Role { Junior, Senior, Lead }
enum Prio { High, Mid, Low }
record Pay { code: Text, price: Money }
"#;

/// A parameter of the generated decisions: name, type, and how to make a cell.
#[derive(Clone, Copy, PartialEq)]
enum P {
    Client,
    Role,
    Day,
    Hours,
    Amount,
    Limit,
    N,
}

const PARAMS: [P; 7] = [P::Client, P::Role, P::Day, P::Hours, P::Amount, P::Limit, P::N];

impl P {
    fn name(self) -> &'static str {
        match self {
            P::Client => "client",
            P::Role => "role",
            P::Day => "day",
            P::Hours => "hours",
            P::Amount => "amount",
            P::Limit => "limit",
            P::N => "n",
        }
    }
    fn ty(self) -> &'static str {
        match self {
            P::Client => "Text?",
            P::Role => "Role?",
            P::Day => "Date",
            P::Hours => "Decimal?",
            P::Amount => "Money",
            P::Limit => "Money",
            P::N => "Int",
        }
    }
}

fn pick<'a>(rng: &mut Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.gen_range(0..xs.len())]
}

fn money(rng: &mut Rng) -> String {
    let cur = if rng.chance(0.8) { "EUR" } else { "USD" };
    format!("{}.{:02} {cur}", rng.gen_range(0..800), rng.gen_range(0..100))
}

fn date(rng: &mut Rng) -> String {
    format!("@\"2026-{:02}-{:02}\"", 1 + rng.gen_range(0..12), 1 + rng.gen_range(0..28))
}

/// A random cell for a column of `p`; `text_ordered` lets Text cells order.
fn cell(rng: &mut Rng, p: P, text_ordered: bool) -> String {
    if rng.chance(0.3) {
        return "-".into();
    }
    let client = |rng: &mut Rng| format!("\"c{}\"", rng.gen_range(0..8));
    match p {
        P::Client => match rng.gen_range(0..6) {
            0 => format!("{}, {}", client(rng), client(rng)),
            1 => format!("not {}", client(rng)),
            2 => "none".into(),
            3 if text_ordered => format!("< {}", client(rng)),
            4 if text_ordered => format!("[{}..{}]", client(rng), client(rng)),
            _ => client(rng),
        },
        P::Role => pick(rng, &["Junior", "Senior", "Lead", "Junior, Lead", "not Lead", "none", "Senior, none"]).into(),
        P::Day => match rng.gen_range(0..5) {
            0 => format!("< {}", date(rng)),
            1 => format!(">= {}", date(rng)),
            2 => date(rng),
            3 => format!("< {}, > {}", date(rng), date(rng)),
            _ => {
                let (a, b) = (date(rng), date(rng));
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                format!("[{a}..{b})")
            }
        },
        P::Hours => match rng.gen_range(0..7) {
            0 => format!("< {}", rng.gen_range(0..16)),
            1 => format!("[{}..{})", rng.gen_range(0..8), 8 + rng.gen_range(0..8)),
            2 => format!("(2.5..{}.5]", 3 + rng.gen_range(0..10)),
            3 => format!("< {}, > {}", rng.gen_range(0..6), 8 + rng.gen_range(0..6)),
            4 => "none".into(),
            5 => format!("{}.0", rng.gen_range(0..12)),
            _ => format!(">= {}", rng.gen_range(0..16)),
        },
        P::Amount => match rng.gen_range(0..5) {
            0 => format!("< {}", money(rng)),
            1 => "> limit".into(),
            2 => "<= limit".into(),
            3 => money(rng),
            _ => format!("[0.00 EUR..{}.00 EUR)", 1 + rng.gen_range(0..800)),
        },
        P::Limit => match rng.gen_range(0..3) {
            0 => format!("< {}", money(rng)),
            _ => "-".into(),
        },
        P::N => match rng.gen_range(0..4) {
            0 => format!("< {}", rng.gen_range(0..10)),
            1 => format!("{}, {}", rng.gen_range(0..10), rng.gen_range(0..10)),
            2 => format!("[{}..{}]", rng.gen_range(0..5), 5 + rng.gen_range(0..5)),
            _ => format!("{}", rng.gen_range(0..10)),
        },
    }
}

/// The hit policies, with their result type and an output cell maker.
const POLICIES: [&str; 10] = [
    "first",
    "unique",
    "any",
    "priority",
    "output order",
    "collect",
    "collect sum",
    "collect count",
    "collect min",
    "collect max",
];

/// One generated decision: its source, and the handler that calls it.
fn decision(rng: &mut Rng, k: usize, rows: usize) -> (String, String) {
    let policy = POLICIES[k % POLICIES.len()];
    let mut params: Vec<P> = PARAMS.iter().copied().filter(|_| rng.chance(0.7)).collect();
    if !params.contains(&P::N) {
        params.push(P::N);
    }
    if params.contains(&P::Amount) && !params.contains(&P::Limit) {
        params.push(P::Limit);
    }
    // Shuffle the columns: where a Money column stands decides what may be pruned.
    for i in (1..params.len()).rev() {
        let j = rng.gen_range(0..i + 1);
        params.swap(i, j);
    }
    let text_ordered = rng.chance(0.5);
    let keyed = matches!(policy, "unique" | "any");
    let (ret, out_col) = match policy {
        "priority" => ("Prio?".to_string(), "p".to_string()),
        "output order" => ("Prio".to_string(), "p".to_string()),
        "collect sum" | "collect min" => ("Money".to_string(), "m".to_string()),
        "collect max" => ("Decimal".to_string(), "x".to_string()),
        "collect" | "collect count" => ("Text".to_string(), "t".to_string()),
        _ if rng.chance(0.3) => ("Pay?".to_string(), "code | price".to_string()),
        _ => ("Text?".to_string(), "t".to_string()),
    };
    let name = format!("d{k}");
    let sig: Vec<String> = params.iter().map(|p| format!("{}: {}", p.name(), p.ty())).collect();
    let mut src = format!("decision {name}({}) -> {ret}\n  hit {policy}\n", sig.join(", "));
    let head: Vec<&str> = params.iter().map(|p| p.name()).collect();
    src.push_str(&format!("  | {} || {out_col} |\n", head.join(" | ")));
    for r in 0..rows {
        // Under `unique` and `any`, rows are told apart by `n` (or a cell
        // comparing with a parameter, which the compiler leaves to run time).
        let param_row = keyed && rng.chance(0.2) && params.contains(&P::Amount);
        let cells: Vec<String> = params
            .iter()
            .map(|p| match (keyed, *p) {
                (true, P::N) if param_row => "-".into(),
                (true, P::N) => format!("{r}"),
                (true, P::Amount) if param_row => pick(rng, &["> limit", "<= limit"]).into(),
                (true, P::Limit | P::Amount) => "-".into(),
                _ => cell(rng, *p, text_ordered),
            })
            .collect();
        let out = match ret.as_str() {
            "Prio?" | "Prio" => pick(rng, &["High", "Mid", "Low"]).to_string(),
            "Money" => {
                if rng.chance(0.2) && params.contains(&P::Amount) {
                    "amount".into()
                } else {
                    money(rng)
                }
            }
            "Decimal" => format!("{}.{}", rng.gen_range(0..50), rng.gen_range(0..10)),
            "Pay?" => {
                let price = if rng.chance(0.2) && params.contains(&P::Amount) { "amount".into() } else { money(rng) };
                format!("\"p{}\" | {price}", rng.gen_range(0..6))
            }
            _ => {
                if rng.chance(0.2) {
                    format!("\"r{r}-{{n}}\"")
                } else if policy == "any" {
                    format!("\"v{}\"", rng.gen_range(0..2))
                } else {
                    format!("\"r{r}\"")
                }
            }
        };
        src.push_str(&format!("  | {} || {out} |\n", cells.join(" | ")));
    }
    let args: Vec<String> = params.iter().map(|p| format!("e.{}", p.name())).collect();
    let call = format!("{name}({})", args.join(", "));
    let dest = match (policy, ret.as_str()) {
        ("collect", _) => "outl",
        ("output order", _) => "outpl",
        ("priority", _) => "outp",
        ("collect count", _) => "outc",
        ("collect sum" | "collect min", _) => "outm",
        ("collect max", _) => "outx",
        (_, "Pay?") => "outpay",
        _ => "outt",
    };
    let handler = format!(
        "event E{k} as \"e{k}\" {{\n  client: Text?\n  role: Role?\n  day: Date\n  hours: Decimal?\n  amount: Money\n  limit: Money\n  n: Int\n}}\n\
         on E{k} as e {{ emit {dest} R{dest} {{ r: {call} }} }}\n"
    );
    (src, handler)
}

fn event(rng: &mut Rng, no: usize, k: usize) -> String {
    let opt = |rng: &mut Rng, v: String| if rng.chance(0.15) { "null".to_string() } else { v };
    let m = |rng: &mut Rng| {
        let cur = if rng.chance(0.85) { "EUR" } else { "USD" };
        format!("{{\"amount\":\"{}.{:02}\",\"currency\":\"{cur}\"}}", rng.gen_range(0..800), rng.gen_range(0..100))
    };
    let client = format!("\"c{}\"", rng.gen_range(0..9));
    let client = opt(rng, client);
    let role = format!("\"{}\"", ["Junior", "Senior", "Lead"][rng.gen_range(0..3)]);
    let role = opt(rng, role);
    let hours = format!("\"{}.{}\"", rng.gen_range(0..16), rng.gen_range(0..10));
    let hours = opt(rng, hours);
    let (amount, limit) = (m(rng), m(rng));
    format!(
        "{{\"specversion\":\"1.0\",\"id\":\"{no}\",\"source\":\"s\",\"type\":\"e{k}\",\"data\":{{\"client\":{client},\"role\":{role},\"day\":\"2026-{:02}-{:02}\",\"hours\":{hours},\"amount\":{amount},\"limit\":{limit},\"n\":{}}}}}",
        1 + rng.gen_range(0..12),
        1 + rng.gen_range(0..28),
        rng.gen_range(0..12),
    )
}

/// Runs `events` through the four readings; every outcome (with lineage) must agree.
fn compare_readings(pkg: Arc<ir::Package>, events: &[String], what: &str) -> usize {
    let tables = Tables::empty(&pkg);
    let reference = Engine::with_min_index_rows(pkg.clone(), tables.clone(), usize::MAX);
    let indexed = Engine::with_min_index_rows(pkg.clone(), tables.clone(), 1);
    let jit_rows = JitEngine::with_options(pkg.clone(), &tables, true, usize::MAX).unwrap();
    let jit_index = JitEngine::with_options(pkg.clone(), &tables, true, 1).unwrap();
    let jit_plain = JitEngine::with_options(pkg.clone(), &tables, false, 1).unwrap();
    let used = (0..pkg.decisions.len()).filter(|d| indexed.decision_indexes().get(*d).is_some()).count();
    for (n, line) in events.iter().enumerate() {
        let no = n as u64 + 1;
        let want = traced(&reference.evaluate_traced(no, line));
        for (who, got) in [
            ("interpreter, indexed", traced(&indexed.evaluate_traced(no, line))),
            ("jit, row by row", traced(&jit_rows.evaluate_traced(no, line))),
            ("jit, indexed", traced(&jit_index.evaluate_traced(no, line))),
        ] {
            assert_eq!(want, got, "{who} differs from the row-by-row reading\n{what}\nevent: {line}");
        }
        let mut fast = String::new();
        jit_plain.evaluate_json_in(no, line, &canon_runtime::state::NoState, &mut fast);
        let mut slow = String::new();
        reference.write_outcome(&reference.evaluate(no, line), &mut slow);
        assert_eq!(slow, fast, "jit fast path, indexed\n{what}\nevent: {line}");
    }
    used
}

#[test]
fn indexed_tables_read_as_row_by_row() {
    let mut checked = 0;
    let mut indexed = 0;
    let mut faults = 0;
    for seed in 0..12u64 {
        let mut rng = Rng::new(seed);
        let mut src = String::from(PRELUDE);
        for (dest, ty) in [
            ("outt", "Text?"),
            ("outl", "List<Text>"),
            ("outp", "Prio?"),
            ("outpl", "List<Prio>"),
            ("outm", "Money?"),
            ("outx", "Decimal?"),
            ("outc", "Int"),
            ("outpay", "Pay?"),
        ] {
            src.push_str(&format!("record R{dest} {{ r: {ty} }}\ndestination {dest}: R{dest}\n"));
        }
        let n = POLICIES.len();
        for k in 0..n {
            let rows = 12 + rng.gen_range(0..40);
            let (d, h) = decision(&mut rng, k + (seed as usize % 3) * n, rows);
            src.push_str(&d);
            src.push_str(&h);
        }
        let pkg = package::from_sources(PathBuf::from("."), vec![("gen.canon".into(), src.clone())]);
        if pkg.has_errors() {
            eprintln!("seed {seed} does not check: {:?}", pkg.diagnostics().iter().find(|d| d.is_error()));
            continue;
        }
        let checked_pkg = pkg.package();
        let events: Vec<String> = (0..120)
            .map(|i| {
                let k = i % n;
                let kk = k + (seed as usize % 3) * n;
                event(&mut rng, i, kk)
            })
            .collect();
        indexed += compare_readings(checked_pkg.clone(), &events, &src);
        let reference = Engine::with_min_index_rows(checked_pkg, Tables::empty(&pkg.package()), usize::MAX);
        faults += events
            .iter()
            .enumerate()
            .filter(|(i, l)| {
                let o = reference.evaluate(*i as u64 + 1, l);
                o.rejections.iter().any(|r| r.code.contains("CURRENCY_MISMATCH") || r.code.contains("DECISION"))
            })
            .count();
        checked += 1;
    }
    eprintln!("{checked} packages, {indexed} indexed decisions, {faults} events faulted");
    assert!(checked >= 10, "only {checked} generated packages check");
    assert!(indexed >= checked * 5, "only {indexed} decisions got an index");
    assert!(faults > 20, "only {faults} events faulted: the faults are not exercised");
}

/// A small table (the JIT's enum index on `k`, no shared index): a row whose
/// Money cell compares with a parameter faults before its enum cell is
/// read, so it cannot be skipped on the enum (it was: the JIT answered "b"
/// where the interpreter rejects with `CURRENCY_MISMATCH`).
#[test]
fn money_parameter_cell_before_an_enum_is_not_skipped() {
    let src = r#"
enum Kind { Alpha, Beta }
event E as "e" { amount: Money, limit: Money, k: Kind }
record R { r: Text? }
destination out: R
decision d(amount: Money, limit: Money, k: Kind) -> Text?
  hit first
  | amount  | limit | k     || r   |
  | > limit | -     | Alpha || "a" |
  | -       | -     | Beta  || "b" |
on E as e { emit out R { r: d(e.amount, e.limit, e.k) } }
"#;
    let pkg = package::from_sources(PathBuf::from("."), vec![("m.canon".into(), src.into())]);
    assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics());
    let line = r#"{"specversion":"1.0","id":"1","source":"s","type":"e","data":{"amount":{"amount":"5","currency":"EUR"},"limit":{"amount":"1","currency":"USD"},"k":"Beta"}}"#;
    let checked = pkg.package();
    let tables = Tables::empty(&checked);
    for min_rows in [usize::MAX, 1] {
        let interp = Engine::with_min_index_rows(checked.clone(), tables.clone(), min_rows);
        let o = interp.evaluate(1, line);
        assert_eq!(o.rejections.first().map(|r| &*r.code), Some("CURRENCY_MISMATCH"), "{o:?}");
        let jit = JitEngine::with_options(checked.clone(), &tables, false, min_rows).unwrap();
        let mut want = String::new();
        interp.write_outcome(&o, &mut want);
        let mut got = String::new();
        jit.evaluate_json_in(1, line, &canon_runtime::state::NoState, &mut got);
        assert_eq!(want, got, "min_rows {min_rows}");
    }
}

/// A large table whose outputs are computed: the JIT compiles them in
/// functions of 128 rows; rows of every chunk (and constant rows between
/// them) give the interpreter's outputs, under `first` and `collect`.
#[test]
fn computed_outputs_across_chunks() {
    let mut src =
        String::from("event E as \"e\" { n: Int }\nrecord R { first: Text?, all: List<Text> }\ndestination out: R\n");
    for (name, hit, ret) in [("one", "first", "Text?"), ("every", "collect", "Text")] {
        src.push_str(&format!("decision {name}(n: Int) -> {ret}\n  hit {hit}\n  | n || r |\n"));
        for i in 0..300 {
            let out = if i % 7 == 3 { format!("\"c{i}\"") } else { format!("\"r{i}-{{n}}\"") };
            src.push_str(&format!("  | [{i}..{}] || {out} |\n", i + 2));
        }
    }
    src.push_str("on E as e { emit out R { first: one(e.n), all: every(e.n) } }\n");
    let pkg = package::from_sources(PathBuf::from("."), vec![("c.canon".into(), src.clone())]);
    assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics().iter().find(|d| d.is_error()));
    let checked = pkg.package();
    let tables = Tables::empty(&checked);
    let reference = Engine::with_min_index_rows(checked.clone(), tables.clone(), usize::MAX);
    let jit = JitEngine::with_options(checked.clone(), &tables, true, 64).unwrap();
    for n in -1..305 {
        let line = format!(r#"{{"specversion":"1.0","id":"{n}","source":"s","type":"e","data":{{"n":{n}}}}}"#);
        let want = traced(&reference.evaluate_traced(1, &line));
        assert_eq!(want, traced(&jit.evaluate_traced(1, &line)), "n = {n}");
    }
}
