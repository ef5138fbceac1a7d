//! Large decision tables whose outputs are computed: the JIT compiles the
//! rows whose outputs are the same expression up to their constants into one
//! function per shape (codegen/shapes.rs), the constants that differ and the
//! rows' locations read from a table by row. Random tables (several shapes,
//! constants equal and differing across rows, constant rows among them,
//! record outputs, every hit policy, faults: overflow, currency mismatch,
//! division by zero, a nested decision without a row, `any` rows that disagree) must give the
//! row-by-row interpreter's outcomes and lineage byte for byte, traced and
//! untraced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/rng.rs"]
mod rng;
use rng::{traced, Rng};

use std::path::PathBuf;
use std::sync::Arc;

use canon_compiler::ir;
use canon_jit::JitEngine;
use canon_runtime::{package, Engine, Outcome, Tables};

const PRELUDE: &str = r#"
enum Prio { High, Mid, Low }
record Pay { code: Text, price: Money }
record Ranked { p: Prio, m: Money }
decision pick(n: Int, lim: Int) -> Text
  hit first
  | n     | lim || r     |
  | < 3   | -   || "low" |
  | < lim | -   || "mid" |
"#;

const FIELDS: &str = "n: Int, k: Int, hours: Decimal, amount: Money, dv: Decimal";

/// A Money constant: few distinct values (so some constants repeat), EUR
/// mostly.
fn money(rng: &mut Rng) -> String {
    let cur = if rng.chance(0.85) { "EUR" } else { "USD" };
    format!("{}.{:02} {cur}", rng.below(40), rng.pick(&["00", "50", "25", "5"]))
}

/// A computed (or, now and then, constant) output of type `ret`. The
/// shapes repeat; their constants differ or not.
fn output(rng: &mut Rng, ret: &str, r: usize) -> String {
    let m = money(rng);
    let i = rng.below(6);
    match ret {
        "Money" => match rng.below(8) {
            0 => m,
            1 => format!("amount + {m}"),
            2 => format!("amount / {}.{}", rng.below(3), rng.below(10)),
            3 => format!("hours * 1.50 EUR + {m}"),
            4 => format!("if k > {i} then hours * {m} else {}", money(rng)),
            5 => "hours * 2.00 EUR".into(),
            _ => format!("hours * {m}"),
        },
        "Text" => match rng.below(6) {
            0 => format!("\"t{i}\""),
            1 => format!("pick(n + {i}, 6)"),
            2 => format!("if k > {i} then \"a{}\" else pick(k, 6)", rng.below(3)),
            3 => format!("\"r{r}-{{k}}\""),
            _ => format!("pick(k - {i}, 6)"),
        },
        "Int" => match rng.below(5) {
            0 => format!("{i}"),
            1 => format!("k + {}", rng.below(3)),
            _ => format!("k * {}", 1 + rng.below(4)),
        },
        "Decimal" => match rng.below(5) {
            0 => format!("{i}.5"),
            1 => format!("dv / {}.{}", rng.below(2), rng.below(10)),
            2 => format!("dv * {}", i),
            _ => format!("dv * {}.{}", i, rng.below(100)),
        },
        // Under `priority` and `output order` the first output is a variant written out.
        "Ranked" => format!("{} | {}", rng.pick(&["High", "Mid", "Low"]), output(rng, "Money", r)),
        "Pay" => match rng.below(4) {
            0 => format!("\"p{i}\" | {m}"),
            1 => format!("\"p{i}\" | amount + {m}"),
            _ => format!("\"p{}\" | hours * {m}", rng.below(2)),
        },
        _ => unreachable!("{ret}"),
    }
}

/// The policies: hit, declared result, output column(s), the kind of output,
/// the destination.
const POLICIES: [(&str, &str, &str, &str, &str); 12] = [
    ("first", "Money?", "r", "Money", "outm"),
    ("first", "Pay?", "code | price", "Pay", "outpay"),
    ("first", "Text?", "r", "Text", "outt"),
    ("unique", "Money?", "r", "Money", "outm"),
    ("any", "Money?", "r", "Money", "outm"),
    ("priority", "Ranked?", "p | m", "Ranked", "outp"),
    ("output order", "Ranked", "p | m", "Ranked", "outpl"),
    ("collect", "Text", "r", "Text", "outl"),
    ("collect sum", "Money", "r", "Money", "outm"),
    ("collect count", "Money", "r", "Money", "outc"),
    ("collect min", "Int", "r", "Int", "outi"),
    ("collect max", "Decimal", "r", "Decimal", "outx"),
];

/// Decision `k` of the policy `POLICIES[k % len]`, with `rows` rows, and its handler.
fn decision(rng: &mut Rng, k: usize, rows: usize) -> String {
    let (hit, ret, cols, kind, dest) = POLICIES[k % POLICIES.len()];
    let keyed = matches!(hit, "unique" | "any");
    let mut src =
        format!("decision d{k}({FIELDS}) -> {ret}\n  hit {hit}\n  | n | k | hours | amount | dv || {cols} |\n");
    for r in 0..rows {
        let (n, kc) = if keyed {
            // Told apart by `n`: under `any`, pairs of rows share it and
            // their outputs (computed: never compared at check time) must agree.
            let n = if hit == "any" { r / 2 } else { r };
            (format!("{n}"), "-".to_string())
        } else {
            let a = rng.below(rows);
            let n = match rng.below(4) {
                0 => "-".to_string(),
                1 => format!("< {a}"),
                _ => format!("[{a}..{}]", a + rng.below(12)),
            };
            let kc = if rng.chance(0.3) { format!("> {}", rng.below(8)) } else { "-".into() };
            (n, kc)
        };
        let out = if hit == "any" && r % 2 == 1 && rng.chance(0.7) {
            // The same output as the row before (same shape and constants).
            String::new()
        } else {
            // Under `any`, a computed output (two constants that differ
            // would be a conflict found at check time).
            let mut out = output(rng, kind, r);
            while hit == "any" && !["hours", "amount", "k "].iter().any(|x| out.contains(x)) {
                out = output(rng, kind, r);
            }
            out
        };
        if out.is_empty() {
            let prev = src.lines().last().unwrap().rsplit("||").next().unwrap().trim_end_matches(" |").to_string();
            src.push_str(&format!("  | {n} | {kc} | - | - | - ||{prev} |\n"));
        } else {
            src.push_str(&format!("  | {n} | {kc} | - | - | - || {out} |\n"));
        }
    }
    src.push_str(&format!(
        "event E{k} as \"e{k}\" {{ n: Int, k: Int, hours: Decimal, amount: Money, dv: Decimal }}\n\
         on E{k} as e {{ emit {dest} R{dest} {{ r: d{k}(e.n, e.k, e.hours, e.amount, e.dv) }} }}\n"
    ));
    src
}

fn event(rng: &mut Rng, no: usize, k: usize, rows: usize) -> String {
    let n = rng.below(rows + 4) as i64 - 2;
    let kv: i64 = match rng.below(10) {
        0 => i64::MAX - rng.below(3) as i64,
        1 => i64::MIN + 1,
        _ => rng.below(12) as i64 - 2,
    };
    let cur = if rng.chance(0.85) { "EUR" } else { "USD" };
    format!(
        "{{\"specversion\":\"1.0\",\"id\":\"{no}\",\"source\":\"s\",\"type\":\"e{k}\",\"data\":{{\"n\":{n},\"k\":{kv},\"hours\":\"{}.{}\",\"amount\":{{\"amount\":\"{}.{:02}\",\"currency\":\"{cur}\"}},\"dv\":\"{}.{}\"}}}}",
        rng.below(14),
        rng.below(100),
        rng.below(900),
        rng.below(100),
        rng.below(50),
        rng.below(1000),
    )
}

/// Every event through the row-by-row interpreter (the reference), the
/// JIT's large-table path traced, and its untraced fast path: all agree.
fn compare(pkg: Arc<ir::Package>, events: &[String], what: &str) -> Vec<Outcome> {
    let tables = Tables::empty(&pkg);
    let reference = Engine::with_min_index_rows(pkg.clone(), tables.clone(), usize::MAX);
    let jit_traced = JitEngine::with_options(pkg.clone(), &tables, true, 64).unwrap();
    let jit_plain = JitEngine::with_options(pkg.clone(), &tables, false, 64).unwrap();
    let mut outcomes = Vec::new();
    for (n, line) in events.iter().enumerate() {
        let no = n as u64 + 1;
        let want = reference.evaluate_traced(no, line);
        assert_eq!(traced(&want), traced(&jit_traced.evaluate_traced(no, line)), "traced JIT\n{what}\nevent: {line}");
        assert_eq!(
            format!("{:?}", want.0),
            format!("{:?}", jit_plain.evaluate(no, line)),
            "JIT\n{what}\nevent: {line}"
        );
        let mut fast = String::new();
        jit_plain.evaluate_json_in(no, line, &canon_runtime::state::NoState, &mut fast);
        let mut slow = String::new();
        reference.write_outcome(&want.0, &mut slow);
        assert_eq!(slow, fast, "JIT fast path\n{what}\nevent: {line}");
        outcomes.push(want.0);
    }
    outcomes
}

#[test]
fn shared_outputs_read_as_row_by_row() {
    let mut checked = 0;
    let mut codes: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for seed in 0..6u64 {
        let mut rng = Rng::new(seed);
        let mut src = String::from(PRELUDE);
        for (dest, ty) in [
            ("outt", "Text?"),
            ("outl", "List<Text>"),
            ("outp", "Ranked?"),
            ("outpl", "List<Ranked>"),
            ("outm", "Money?"),
            ("outx", "Decimal?"),
            ("outi", "Int?"),
            ("outc", "Int"),
            ("outpay", "Pay?"),
        ] {
            src.push_str(&format!("record R{dest} {{ r: {ty} }}\ndestination {dest}: R{dest}\n"));
        }
        let rows: Vec<usize> = (0..POLICIES.len()).map(|_| 64 + rng.below(150)).collect();
        for (k, r) in rows.iter().enumerate() {
            src.push_str(&decision(&mut rng, k, *r));
        }
        let pkg = package::from_sources(PathBuf::from("."), vec![("gen.canon".into(), src.clone())]);
        if pkg.has_errors() {
            panic!("seed {seed} does not check: {:?}\n{src}", pkg.diagnostics().iter().find(|d| d.is_error()));
        }
        let events: Vec<String> = (0..600)
            .map(|i| {
                let k = i % POLICIES.len();
                event(&mut rng, i, k, rows[k])
            })
            .collect();
        for o in compare(pkg.package(), &events, &src) {
            for r in &o.rejections {
                // A nested decision without a row names its call in the row.
                let code = if r.message.contains("no row of decision `pick`") { "no row of pick" } else { &r.code };
                *codes.entry(code.to_string()).or_default() += 1;
            }
        }
        checked += 1;
    }
    eprintln!("{checked} packages; rejections: {codes:?}");
    for code in ["INTEGER_OVERFLOW", "CURRENCY_MISMATCH", "DIVISION_BY_ZERO", "no row of pick", "DECISION_CONFLICT"] {
        assert!(codes.get(code).copied().unwrap_or(0) >= 3, "{code} is not exercised: {codes:?}");
    }
}

/// One shape, 200 rows: faults name each row's own line, the nested
/// decision's fault names its call in the row, and lineage its row.
#[test]
fn one_shape_names_each_rows_line() {
    let mut src = String::from(PRELUDE);
    src.push_str("record R { m: Money?, t: Text? }\ndestination out: R\n");
    src.push_str("decision m(n: Int, k: Int, amount: Money) -> Money?\n  hit first\n  | n | k | amount || r |\n");
    for i in 0..200 {
        let cur = if i % 5 == 0 { "USD" } else { "EUR" };
        src.push_str(&format!("  | {i} | - | - || amount + {i}.25 {cur} |\n"));
    }
    src.push_str("decision t(n: Int, k: Int, amount: Money) -> Text?\n  hit first\n  | n | k | amount || r |\n");
    for i in 0..200 {
        src.push_str(&format!("  | {i} | - | - || pick(k * {}, 6) |\n", i % 7));
    }
    src.push_str(
        "event E as \"e\" { n: Int, k: Int, amount: Money }\n\
         on E as e { emit out R { m: m(e.n, e.k, e.amount), t: t(e.n, e.k, e.amount) } }\n",
    );
    let pkg = package::from_sources(PathBuf::from("."), vec![("one.canon".into(), src.clone())]);
    assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics().iter().find(|d| d.is_error()));
    let mut events = Vec::new();
    for n in -1..202 {
        for (k, cur) in [(1, "EUR"), (2, "USD"), (i64::MAX, "EUR")] {
            events.push(format!(
                "{{\"specversion\":\"1.0\",\"id\":\"{n}\",\"source\":\"s\",\"type\":\"e\",\"data\":{{\"n\":{n},\"k\":{k},\"amount\":{{\"amount\":\"1.5\",\"currency\":\"{cur}\"}}}}}}"
            ));
        }
    }
    let outcomes = compare(pkg.package(), &events, &src);
    let lines: std::collections::BTreeSet<String> =
        outcomes.iter().flat_map(|o| o.rejections.iter().map(|r| r.at.clone())).collect();
    assert!(lines.len() > 190, "faults name few distinct places: {}", lines.len());
}
