//! Differential testing: random well-typed programs and random events run
//! through the interpreter (the reference) and the JIT; every outcome line
//! must be byte-identical. A few seconds in CI; `PROPTEST_CASES=2000` for
//! minutes. Every divergence ever found stays in `tests/regressions/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use canon_jit::JitEngine;
use canon_runtime::{package, Engine, Tables};
use proptest::prelude::*;

/// A small deterministic generator (splitmix64), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn gen_range(&mut self, r: std::ops::Range<usize>) -> usize {
        r.start + (self.next() % (r.end - r.start).max(1) as u64) as usize
    }
    fn gen_bool(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
}

const PRELUDE: &str = r#"
enum Kind { Alpha, Beta = "beta", Gamma }
record Item { qty: Int, price: Decimal, kind: Kind }
event Ev as "ev" {
  i: Int
  j: Int
  d: Decimal
  e: Decimal?
  m: Money
  n: Money?
  t: Text
  u: Text?
  b: Bool
  dt: Date
  k: Kind
  ko: Kind?
  items: List<Item>
}
record Out { i: Int, d: Decimal, m: Money, t: Text, b: Bool, dt: Date, k: Kind }
destination out: Out
destination side: Out

fn bump(x: Int, y: Decimal) -> Decimal = x * y + 1

decision tier(k: Kind, n: Int) -> Text
  hit first
  | k           | n        || label  |
  | Alpha       | < 0      || "neg"  |
  | Alpha, Beta | [0..10]  || "low"  |
  | not Gamma   | > 10     || "high" |
  | -           | -        || "other" |

decision route(k: Kind, b: Bool, ko: Kind?) -> Text?
  hit unique
  | k         | b     | ko          || r    |
  | Alpha     | true  | -           || "a1" |
  | Alpha     | false | none        || "a2" |
  | Alpha     | false | Alpha, Beta || "a3" |
  | not Alpha | -     | Gamma       || "g"  |
  | Beta      | true  | not Gamma   || "b"  |

decision band(k: Kind?, d: Decimal, b: Bool) -> Text?
  hit unique
  | k          | d       | b     || r    |
  | Alpha      | < 0     | -     || "an" |
  | Alpha      | >= 0    | true  || "ap" |
  | Beta, none | [0..10] | -     || "b"  |
  | Gamma      | -       | false || "g"  |

decision pick(b: Bool, k: Kind) -> Text
  hit first
  | b     | k           || p   |
  | true  | Alpha, Beta || "x" |
  | false | not Gamma   || "y" |
  | -     | -           || "z" |

decision score(k: Kind?) -> Decimal?
  hit unique
  | k     || s    |
  | Alpha || 1.5  |
  | Beta  || 2.25 |
  | none  || 0    |
"#;

struct Gen<'r> {
    rng: &'r mut Rng,
    depth: u32,
    lets: Vec<(String, &'static str)>,
}

impl<'r> Gen<'r> {
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.gen_range(0..xs.len())]
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }
    fn var(&mut self, ty: &str) -> Option<String> {
        let vs: Vec<String> = self.lets.iter().filter(|(_, t)| *t == ty).map(|(n, _)| n.clone()).collect();
        if vs.is_empty() || !self.chance(0.3) {
            None
        } else {
            Some(vs[self.rng.gen_range(0..vs.len())].clone())
        }
    }
    fn deeper(&mut self, f: impl FnOnce(&mut Self) -> String) -> String {
        self.depth += 1;
        let s = f(self);
        self.depth -= 1;
        s
    }
    fn leaf(&self) -> bool {
        self.depth >= 3
    }

    fn int(&mut self) -> String {
        if let Some(v) = self.var("Int") {
            return v;
        }
        if self.leaf() || self.chance(0.3) {
            return self
                .pick(&["v.i", "v.j", "3", "0", "-7", "9223372036854775807", "len(v.t)", "len(v.items)", "year(v.dt)"])
                .to_string();
        }
        match self.rng.gen_range(0..9) {
            0 => self.deeper(|g| format!("({} + {})", g.int(), g.int())),
            1 => self.deeper(|g| format!("({} - {})", g.int(), g.int())),
            2 => self.deeper(|g| format!("({} * {})", g.int(), g.int())),
            3 => self.deeper(|g| format!("count(v.items, x => x.qty > {})", g.int())),
            4 => self.deeper(|g| format!("(if {} then {} else {})", g.boolean(), g.int(), g.int())),
            5 => self.deeper(|g| format!("days_between(v.dt, {})", g.date())),
            6 => self.deeper(|g| format!("abs({})", g.int())),
            7 => self.deeper(|g| format!("max({}, {})", g.int(), g.int())),
            _ => self.deeper(|g| {
                format!("(match {} {{ Alpha => {}, Beta | Gamma => {} }})", g.kind(), g.int(), g.int())
            }),
        }
    }

    fn decimal(&mut self) -> String {
        if let Some(v) = self.var("Decimal") {
            return v;
        }
        if self.leaf() || self.chance(0.3) {
            return self.pick(&["v.d", "1.50", "0.005", "-2.675", "(v.e ?? 0)", "amount(v.m)", "100"]).to_string();
        }
        match self.rng.gen_range(0..10) {
            0 => self.deeper(|g| format!("({} + {})", g.decimal(), g.decimal())),
            1 => self.deeper(|g| format!("({} - {})", g.decimal(), g.int())),
            2 => self.deeper(|g| format!("({} * {})", g.decimal(), g.decimal())),
            3 => self.deeper(|g| format!("({} / {})", g.decimal(), g.decimal())),
            4 => {
                let mode = self.pick(&["", ", HalfUp", ", Down", ", Ceiling", ", Floor", ", HalfDown", ", Up"]);
                let places = self.pick(&["0", "1", "2", "3", "29"]);
                self.deeper(|g| format!("round({}, {places}{mode})", g.decimal()))
            }
            5 => self.deeper(|g| format!("({} / {})", g.int(), g.int())),
            6 => self.deeper(|g| format!("sum(v.items, x => x.price * {})", g.int())),
            7 => self.deeper(|g| format!("bump({}, {})", g.int(), g.decimal())),
            8 => self.deeper(|g| format!("(score({}) ?? {})", g.kind_opt(), g.decimal())),
            _ => self.deeper(|g| format!("min({}, {})", g.decimal(), g.decimal())),
        }
    }

    fn money(&mut self) -> String {
        if let Some(v) = self.var("Money") {
            return v;
        }
        if self.leaf() || self.chance(0.3) {
            return self.pick(&["v.m", "12.50 USD", "(v.n ?? 0 USD)", "0.10 EUR"]).to_string();
        }
        match self.rng.gen_range(0..6) {
            0 => self.deeper(|g| format!("({} + {})", g.money(), g.money())),
            1 => self.deeper(|g| format!("({} * {})", g.money(), g.decimal())),
            2 => self.deeper(|g| format!("round({}, 2)", g.money())),
            3 => self.deeper(|g| format!("money({}, USD)", g.decimal())),
            4 => self.deeper(|g| format!("convert({}, EUR, {})", g.money(), g.decimal())),
            _ => self.deeper(|g| format!("({} - {})", g.money(), g.money())),
        }
    }

    fn text(&mut self) -> String {
        if let Some(v) = self.var("Text") {
            return v;
        }
        if self.leaf() || self.chance(0.3) {
            return self.pick(&["v.t", "\"a\\{b\\}\"", "(v.u ?? \"none\")", "\"ÉtÉ ß\""]).to_string();
        }
        match self.rng.gen_range(0..6) {
            0 => self.deeper(|g| format!("({} + {})", g.text(), g.text())),
            1 => self.deeper(|g| format!("upper({})", g.text())),
            2 => self.deeper(|g| {
                format!("\"{{{}}}|{{{}}}|{{{}}}|{{{}}}|{{{}}}\"", g.int(), g.decimal(), g.money(), g.date(), g.kind())
            }),
            3 => self.deeper(|g| match g.rng.gen_range(0..3) {
                0 => format!("tier({}, {})", g.kind(), g.int()),
                1 => match g.rng.gen_range(0..2) {
                    0 => format!("(route({}, {}, {}) ?? \"-\")", g.kind(), g.boolean(), g.kind_opt()),
                    _ => format!("(band({}, {}, {}) ?? \"-\")", g.kind_opt(), g.decimal(), g.boolean()),
                },
                _ => format!("pick({}, {})", g.boolean(), g.kind()),
            }),
            4 => self.deeper(|g| format!("trim({})", g.text())),
            _ => self.deeper(|g| format!("(if {} then {} else {})", g.boolean(), g.text(), g.text())),
        }
    }

    fn boolean(&mut self) -> String {
        if let Some(v) = self.var("Bool") {
            return v;
        }
        if self.leaf() || self.chance(0.25) {
            return self.pick(&["v.b", "true", "v.e != none", "v.ko == none", "v.u != none"]).to_string();
        }
        match self.rng.gen_range(0..10) {
            0 => self.deeper(|g| format!("({} < {})", g.int(), g.int())),
            1 => self.deeper(|g| format!("({} >= {})", g.decimal(), g.decimal())),
            2 => self.deeper(|g| format!("({} > {})", g.money(), g.money())),
            3 => self.deeper(|g| format!("({} and {})", g.boolean(), g.boolean())),
            4 => self.deeper(|g| format!("({} or not {})", g.boolean(), g.boolean())),
            5 => self.deeper(|g| format!("({} == {})", g.text(), g.text())),
            6 => self.deeper(|g| format!("({} in [Alpha, Gamma])", g.kind())),
            7 => self.deeper(|g| format!("any(v.items, x => x.price > {})", g.decimal())),
            8 => self.deeper(|g| format!("({} <= {})", g.date(), g.date())),
            _ => self.deeper(|g| format!("contains({}, {})", g.text(), g.text())),
        }
    }

    fn date(&mut self) -> String {
        if self.leaf() || self.chance(0.4) {
            return self.pick(&["v.dt", "@\"2028-02-29\""]).to_string();
        }
        match self.rng.gen_range(0..3) {
            0 => self.deeper(|g| format!("add_days({}, {})", g.date(), g.pick(&["1", "-40", "400"]))),
            1 => self.deeper(|g| format!("start_of_month({})", g.date())),
            _ => self.deeper(|g| format!("end_of_month({})", g.date())),
        }
    }

    fn kind(&mut self) -> String {
        self.pick(&["v.k", "Kind.Beta", "(v.ko ?? Gamma)"]).to_string()
    }

    fn kind_opt(&mut self) -> String {
        self.pick(&["v.ko", "v.k"]).to_string()
    }

    fn program(&mut self) -> String {
        let mut body = String::new();
        let n = self.rng.gen_range(0..5);
        for i in 0..n {
            let (ty, e): (&'static str, String) = match self.rng.gen_range(0..5) {
                0 => ("Int", self.int()),
                1 => ("Decimal", self.decimal()),
                2 => ("Money", self.money()),
                3 => ("Text", self.text()),
                _ => ("Bool", self.boolean()),
            };
            body.push_str(&format!("  let l{i} = {e}\n"));
            self.lets.push((format!("l{i}"), ty));
        }
        for _ in 0..self.rng.gen_range(0..3) {
            let kw = if self.chance(0.3) { "require" } else { "check" };
            let c = self.boolean();
            let msg = self.text();
            body.push_str(&format!("  {kw} {c} else reject FAILED_{} \"{{{msg}}}\"\n", self.rng.gen_range(0..3)));
        }
        if self.chance(0.3) {
            body.push_str("  for it in v.items {\n    emit side Out { i: it.qty, d: it.price, m: money(it.price, USD), t: \"item\", b: true, dt: v.dt, k: it.kind }\n  }\n");
        }
        let (i, d, m, t, b, dt, k) =
            (self.int(), self.decimal(), self.money(), self.text(), self.boolean(), self.date(), self.kind());
        body.push_str(&format!("  emit out Out {{ i: {i}, d: {d}, m: {m}, t: {t}, b: {b}, dt: {dt}, k: {k} }}\n"));
        format!("{PRELUDE}\non Ev as v {{\n{body}}}\n")
    }

    fn event(&mut self, n: usize) -> String {
        let int = |g: &mut Self| -> String {
            g.pick(&["0", "1", "-3", "42", "9223372036854775807", "-9223372036854775808", "12"]).to_string()
        };
        let dec = |g: &mut Self| -> String {
            g.pick(&["\"1.25\"", "\"0\"", "\"-0.00\"", "2.5", "\"79228162514264337593543950335\"", "\"0.0000001\"", "\"1.50E+3\"", "\"3\""])
                .to_string()
        };
        let money = |g: &mut Self| -> String {
            let a = dec(g);
            let c = g.pick(&["USD", "USD", "EUR"]);
            format!("{{\"amount\":{a},\"currency\":\"{c}\"}}")
        };
        let kinds = ["\"Alpha\"", "\"beta\"", "\"Gamma\""];
        let mut items = Vec::new();
        for _ in 0..self.rng.gen_range(0..4) {
            let (q, p, k) = (int(self), dec(self), self.pick(&kinds));
            items.push(format!("{{\"qty\":{q},\"price\":{p},\"kind\":{k}}}"));
        }
        let opt = |g: &mut Self, v: String| -> Option<String> {
            match g.rng.gen_range(0..3) {
                0 => None,
                1 => Some("null".into()),
                _ => Some(v),
            }
        };
        let mut fields = vec![
            format!("\"i\":{}", int(self)),
            format!("\"j\":{}", int(self)),
            format!("\"d\":{}", dec(self)),
            format!("\"m\":{}", money(self)),
            format!("\"t\":\"{}\"", self.pick(&["hello", "ÉtÉ", "  pad  ", ""])),
            format!("\"b\":{}", self.pick(&["true", "false"])),
            format!("\"dt\":\"{}\"", self.pick(&["2026-01-31", "2024-02-29", "1999-12-31"])),
            format!("\"k\":{}", self.pick(&kinds)),
            format!("\"items\":[{}]", items.join(",")),
        ];
        let e = dec(self);
        let nn = money(self);
        let u = format!("\"{}\"", self.pick(&["x", "y"]));
        let ko = self.pick(&kinds).to_string();
        for (k, v) in [("e", opt(self, e)), ("n", opt(self, nn)), ("u", opt(self, u)), ("ko", opt(self, ko))] {
            if let Some(v) = v {
                fields.push(format!("\"{k}\":{v}"));
            }
        }
        if self.chance(0.05) {
            fields.push("\"i\":1.5".into());
        }
        format!(
            "{{\"specversion\":\"1.0\",\"id\":\"e{n}\",\"source\":\"s\",\"type\":\"ev\",\"correlationid\":\"c{n}\",\"data\":{{{}}}}}",
            fields.join(",")
        )
    }
}

/// An outcome and its lineage as one text, for comparison.
fn traced((o, trace): &(canon_runtime::Outcome, Vec<canon_runtime::outcome::TraceEvent>)) -> String {
    let mut s = format!("{o:?}\n");
    for t in trace {
        t.write_json(&mut s);
        s.push('\n');
    }
    s
}

type Encoded = (canon_runtime::Outcome, Vec<(canon_compiler::ir::DestId, String)>, Vec<canon_runtime::outcome::TraceEvent>);

/// An outcome with its records as JSON text and its lineage, as one text.
fn encoded((o, records, trace): &Encoded) -> String {
    let mut s = traced(&(o.clone(), trace.clone()));
    for (d, r) in records {
        s.push_str(&format!("{} {r}\n", d.0));
    }
    s
}

/// The interpreter's traced outcome in the form of [`encoded`].
fn encoded_values(interp: &Engine, (mut o, trace): (canon_runtime::Outcome, Vec<canon_runtime::outcome::TraceEvent>)) -> String {
    let pkg = interp.package();
    let records = std::mem::take(&mut o.emits)
        .into_iter()
        .map(|(d, v)| {
            let mut r = String::new();
            let rec = pkg.destinations[d.0 as usize].record;
            canon_runtime::encode::value(&mut r, pkg, &canon_compiler::types::Ty::Record(rec), &v);
            (d, r)
        })
        .collect();
    encoded(&(o, records, trace))
}

/// `PROPTEST_CASES` when set, else `default` (for minutes-long runs on demand).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn compare(source: &str, events: &[String]) -> Result<usize, String> {
    let pkg = package::from_sources(PathBuf::from("."), vec![("gen.canon".into(), source.to_string())]);
    if pkg.has_errors() {
        return Err(format!("generated program does not check: {:?}\n{source}", pkg.diagnostics().first()));
    }
    let checked = pkg.package();
    let tables = Tables::empty(&checked);
    let interp = Engine::new(checked.clone(), tables.clone());
    let jit = JitEngine::new(checked.clone(), &tables).map_err(|e| format!("JIT failed: {}\n{source}", e.0))?;
    let lineage = JitEngine::with_lineage(checked, &tables).map_err(|e| format!("JIT failed: {}\n{source}", e.0))?;
    let mut compared = 0;
    for (n, line) in events.iter().enumerate() {
        let a = interp.evaluate(n as u64 + 1, line);
        let b = jit.evaluate(n as u64 + 1, line);
        let (mut sa, mut sb) = (String::new(), String::new());
        interp.write_outcome(&a, &mut sa);
        jit.write_outcome(&b, &mut sb);
        if sa != sb {
            return Err(format!("divergence\nprogram:\n{source}\nevent: {line}\ninterp: {sa}\njit:    {sb}"));
        }
        // The JIT's fast path (decoding into cells, encoding from cells) too.
        let mut sc = String::new();
        jit.evaluate_json(n as u64 + 1, line, &mut sc);
        if sa != sc {
            return Err(format!("fast-path divergence\nprogram:\n{source}\nevent: {line}\ninterp: {sa}\njit:    {sc}"));
        }
        // And with lineage: the same outcome and the same trace.
        let (ta, tb) = (traced(&interp.evaluate_traced(n as u64 + 1, line)), traced(&lineage.evaluate_traced(n as u64 + 1, line)));
        if ta != tb {
            return Err(format!("lineage divergence\nprogram:\n{source}\nevent: {line}\ninterp: {ta}\njit:    {tb}"));
        }
        // And with the records encoded straight from cells.
        let te = encoded(&lineage.evaluate_traced_encoded(n as u64 + 1, line));
        let ti = encoded_values(&interp, interp.evaluate_traced(n as u64 + 1, line));
        if te != ti {
            return Err(format!("encoded divergence\nprogram:\n{source}\nevent: {line}\ninterp: {ti}\njit:    {te}"));
        }
        compared += 1;
    }
    Ok(compared)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), .. ProptestConfig::default() })]

    #[test]
    fn jit_matches_interpreter(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let mut g = Gen { rng: &mut rng, depth: 0, lets: Vec::new() };
        let src = g.program();
        let events: Vec<String> = (0..12).map(|n| g.event(n)).collect();
        if let Err(e) = compare(&src, &events) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// Every divergence the property test ever found, kept as a regression case.
#[test]
fn regressions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let Ok(rd) = std::fs::read_dir(&dir) else { return };
    let mut n = 0;
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "canon") {
            let src = std::fs::read_to_string(&p).unwrap();
            let events: Vec<String> =
                std::fs::read_to_string(p.with_extension("jsonl")).unwrap().lines().map(String::from).collect();
            compare(&src, &events).unwrap();
            n += 1;
        }
    }
    assert!(n > 0, "no regression cases in {}", dir.display());
}

/// The shared conformance cases and the examples run identically on both engines.
#[test]
fn conformance_and_examples_match() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = Vec::new();
    for base in ["tests/conformance/shared", "tests/conformance"] {
        if let Ok(rd) = std::fs::read_dir(root.join(base)) {
            dirs.extend(rd.flatten().map(|e| e.path()));
        }
    }
    dirs.push(root.join("examples/timesheets"));
    dirs.push(root.join("examples/expenses"));
    dirs.push(root.join("examples/leave-routing"));
    let mut checked = 0;
    for d in dirs {
        let events = d.join("events.jsonl");
        if !events.exists() {
            continue;
        }
        let Ok(pkg) = canon_runtime::load(&d) else { continue };
        if pkg.has_errors() {
            continue;
        }
        let p = pkg.package();
        let Ok(tables) = Tables::load(&p, &pkg.data_dir(), false) else { continue };
        let interp = Engine::new(p.clone(), tables.clone());
        let jit = JitEngine::new(p.clone(), &tables).unwrap_or_else(|e| panic!("{}: {}", d.display(), e.0));
        let lineage = JitEngine::with_lineage(p, &tables).unwrap_or_else(|e| panic!("{}: {}", d.display(), e.0));
        for (n, line) in std::fs::read_to_string(&events).unwrap().lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (mut a, mut b) = (String::new(), String::new());
            interp.write_outcome(&interp.evaluate(n as u64 + 1, line), &mut a);
            jit.write_outcome(&jit.evaluate(n as u64 + 1, line), &mut b);
            assert_eq!(a, b, "{} line {}", d.display(), n + 1);
            let mut c = String::new();
            jit.evaluate_json(n as u64 + 1, line, &mut c);
            assert_eq!(a, c, "{} line {} (fast path)", d.display(), n + 1);
            let (ta, tb) = (traced(&interp.evaluate_traced(n as u64 + 1, line)), traced(&lineage.evaluate_traced(n as u64 + 1, line)));
            assert_eq!(ta, tb, "{} line {} (lineage)", d.display(), n + 1);
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} packages compared");
}

const TS_EVENT: &str = r#"{"specversion":"1.0","id":"evt-1","source":"urn:acme:timetrack","type":"com.acme.timesheet.approved","time":"2026-10-05T09:00:00Z","correlationid":"corr-1","data":{"timesheetId":"TS-1","employee":{"id":"E1","role":"Senior","region":"EU","kind":"Contractor","costCenter":"CC-1"},"projectCode":"P-0001","task":"T-1","workDate":"2026-10-01","hours":"7.50","approvedBy":"M-1","approvedAt":"2026-10-05T09:00:00Z"}}"#;

fn timesheet_engines() -> &'static (Engine, JitEngine, JitEngine) {
    static E: std::sync::OnceLock<(Engine, JitEngine, JitEngine)> = std::sync::OnceLock::new();
    E.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/timesheets");
        let pkg = canon_runtime::load(&root).unwrap();
        let p = pkg.package();
        let tables = Tables::load(&p, &root.join("data"), false).unwrap();
        let jit = JitEngine::new(p.clone(), &tables).unwrap();
        let lineage = JitEngine::with_lineage(p.clone(), &tables).unwrap();
        (Engine::new(p, tables), jit, lineage)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), .. ProptestConfig::default() })]

    /// Mutated event lines (broken JSON, wrong types, odd values) give the same
    /// outcome on both engines, through the JIT's fast path and its fallback.
    #[test]
    fn mutated_events_match(at in 0usize..TS_EVENT.len(), len in 0usize..12, insert in "[\\[\\]{}\",:0-9a-zA-Z.\\\\ -]{0,8}") {
        let (interp, jit, lineage) = timesheet_engines();
        let bytes = TS_EVENT.as_bytes();
        let end = (at + len).min(bytes.len());
        let mut v = bytes[..at].to_vec();
        v.extend_from_slice(insert.as_bytes());
        v.extend_from_slice(&bytes[end..]);
        let line = String::from_utf8_lossy(&v).into_owned();
        let mut a = String::new();
        interp.write_outcome(&interp.evaluate(1, &line), &mut a);
        let mut b = String::new();
        jit.evaluate_json(1, &line, &mut b);
        prop_assert_eq!(a, b, "line: {}", line);
        prop_assert_eq!(traced(&interp.evaluate_traced(1, &line)), traced(&lineage.evaluate_traced(1, &line)), "line: {}", line);
    }
}

const META_PROGRAM: &str = r#"
event Ping as "com.example.meta" {
  note: Text?
  n: Int?
}
record Out {
  id: Text
  source: Text
  type: Text
  time: Timestamp?
  subject: Text?
  corr: Text?
  idem: Text
  note: Text
}
destination out: Out
on Ping as p {
  emit out Out {
    id: meta.id,
    source: meta.source,
    type: meta.type,
    time: meta.time,
    subject: meta.subject,
    corr: meta.correlation_id,
    idem: meta.idempotency_key,
    note: p.note ?? "-",
  }
}
"#;

/// An envelope attribute: absent, or one of a few JSON texts (valid,
/// escaped, empty, null, of the wrong type).
fn attr(rng: &mut Rng, name: &str, values: &[&str]) -> Option<String> {
    let i = rng.gen_range(0..values.len() + 1);
    values.get(i).map(|v| format!("\"{name}\":{v}"))
}

/// A random envelope around a random `data`, attributes in a random order.
fn envelope_line(rng: &mut Rng) -> String {
    let s = |xs: &[&'static str]| xs.to_vec();
    let text = s(&["\"a\"", "\"a\\u0062\\\"c\"", "\"\"", "null", "7", "\"ÉtÉ \\u2028\""]);
    let mut attrs: Vec<Option<String>> = vec![
        attr(rng, "specversion", &["\"1.0\"", "\"1.0\"", "\"1.0\"", "\"0.3\"", "1.0", "\"1\\u002e0\""]),
        attr(rng, "id", &text),
        attr(rng, "id", &["\"e1\"", "\"e1\""]),
        attr(rng, "source", &text),
        attr(rng, "source", &["\"s\"", "\"urn:x\""]),
        attr(rng, "type", &["\"com.example.meta\"", "\"com.example.meta\"", "\"com.example.other\"", "\"com.example.\\u006deta\"", "null"]),
        attr(rng, "time", &["\"2026-10-05T09:00:00Z\"", "\"2026-10-05T09:00:00+02:00\"", "\"yesterday\"", "null", "3"]),
        attr(rng, "subject", &text),
        attr(rng, "correlationid", &text),
        attr(rng, "datacontenttype", &["\"application/json\"", "\"text/plain\"", "null", "1"]),
        attr(rng, "idempotencykey", &text),
        attr(rng, "extra", &["{\"id\":1}", "[1,2]", "\"x\""]),
        attr(rng, "data", &["{}", "null", "{\"note\":\"hi\"}", "{\"note\":\"\\u00e9\\\"q\"}", "{\"note\":5}", "{\"n\":1,\"n\":2}", "{\"n\":-0}", "[]"]),
        attr(rng, "data", &["{\"note\":\"x\"}"]),
    ];
    // The common case most of the time: exactly one of each required attribute.
    if rng.gen_bool(0.6) {
        attrs[0] = Some("\"specversion\":\"1.0\"".into());
        attrs[1] = None;
        attrs[2] = Some("\"id\":\"e1\"".into());
        attrs[3] = None;
        attrs[4] = Some("\"source\":\"s\"".into());
        if attrs[5].is_none() {
            attrs[5] = Some("\"type\":\"com.example.meta\"".into());
        }
        attrs[13] = None;
    }
    let mut fields: Vec<String> = attrs.into_iter().flatten().collect();
    for i in (1..fields.len()).rev() {
        let j = rng.gen_range(0..i + 1);
        fields.swap(i, j);
    }
    let ws = if rng.gen_bool(0.2) { " " } else { "" };
    format!("{ws}{{{}}}{ws}", fields.join(&format!(",{ws}")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), .. ProptestConfig::default() })]

    /// Envelopes in every order and shape (escapes, duplicates, `data` before
    /// `type`, missing or wrong attributes) give the same outcome through the
    /// JIT's one-pass decoder as through the shared envelope decoder.
    #[test]
    fn envelope_variants_match(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let events: Vec<String> = (0..8).map(|_| envelope_line(&mut rng)).collect();
        if let Err(e) = compare(META_PROGRAM, &events) {
            prop_assert!(false, "{}", e);
        }
    }
}
