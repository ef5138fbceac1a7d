//! Random well-typed Canon programs and events, for comparing the interpreter
//! (the reference) with the JIT byte for byte. One generator for two users:
//! `jit/tests/differential.rs` (`mod common;`, each case seeded by proptest)
//! and the fuzz target `fuzz/fuzz_targets/programs.rs` (by `#[path]`, each
//! choice one byte of the fuzz input). The package has an enum, a record list,
//! optionals, Money, Currency, Date and Timestamp fields, a function and
//! decision tables of every hit policy and input shape; handlers have lets,
//! checks and requires, loops and emits over expressions up to depth 3.

use std::fmt;
use std::path::PathBuf;

use canon_jit::JitEngine;
use canon_runtime::outcome::TraceEvent;
use canon_runtime::{package, Engine, Outcome, Tables};

/// The generator's choices: the bytes of `choices` first, one a choice (a fuzz
/// input), then a splitmix64 stream from `seed` mixed with those bytes
/// (generation ends anyway: the depth is bounded). With no choices the stream
/// is splitmix64 from `seed` alone (a proptest case).
pub struct Rng<'d> {
    choices: &'d [u8],
    state: u64,
}

impl<'d> Rng<'d> {
    pub fn new(seed: u64, choices: &'d [u8]) -> Rng<'d> {
        let state = choices.iter().fold(seed, |s, b| (s ^ u64::from(*b)).wrapping_mul(0x100_0000_01B3));
        Rng { choices, state }
    }
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// The next byte of the choices, while there are any.
    fn choice(&mut self) -> Option<u8> {
        let (b, rest) = self.choices.split_first()?;
        self.choices = rest;
        Some(*b)
    }
    pub fn gen_range(&mut self, r: std::ops::Range<usize>) -> usize {
        let n = r.end.saturating_sub(r.start).max(1);
        match self.choice() {
            Some(b) => r.start + usize::from(b) % n,
            None => r.start + (self.next() % n as u64) as usize,
        }
    }
    pub fn gen_bool(&mut self, p: f64) -> bool {
        match self.choice() {
            Some(b) => f64::from(b) / 256.0 < p,
            None => (self.next() % 10_000) as f64 / 10_000.0 < p,
        }
    }
}

/// The declarations every generated program starts with.
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
  ts: Timestamp
  ots: Timestamp?
  c: Currency
}
record Out { i: Int, d: Decimal, m: Money, t: Text, b: Bool, dt: Date, k: Kind, ts: Timestamp?, c: Currency }
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

/// A generator of programs ([`Gen::program`]) and of events for them ([`Gen::event`]).
pub struct Gen<'r, 'd> {
    rng: &'r mut Rng<'d>,
    depth: u32,
    /// The handler's `let`s so far, with their types.
    lets: Vec<(String, &'static str)>,
}

impl<'r, 'd> Gen<'r, 'd> {
    pub fn new(rng: &'r mut Rng<'d>) -> Gen<'r, 'd> {
        Gen { rng, depth: 0, lets: Vec::new() }
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        let i = self.rng.gen_range(0..xs.len());
        xs.get(i).copied().unwrap_or_default()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }
    fn var(&mut self, ty: &str) -> Option<String> {
        let vs: Vec<String> = self.lets.iter().filter(|(_, t)| *t == ty).map(|(n, _)| n.clone()).collect();
        if vs.is_empty() || !self.chance(0.3) {
            return None;
        }
        let i = self.rng.gen_range(0..vs.len());
        vs.get(i).cloned()
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
                .pick(&[
                    "v.i",
                    "v.j",
                    "3",
                    "0",
                    "-7",
                    "9223372036854775807",
                    "len(v.t)",
                    "len(v.items)",
                    "year(v.dt)",
                    "month(date(v.ts))",
                    "day(v.dt)",
                ])
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
            _ => {
                self.deeper(|g| format!("(match {} {{ Alpha => {}, Beta | Gamma => {} }})", g.kind(), g.int(), g.int()))
            }
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
            3 => self.deeper(|g| format!("money({}, {})", g.decimal(), g.pick(&["USD", "v.c", "currency(v.m)"]))),
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
            4 => self.deeper(|g| match g.rng.gen_range(0..3) {
                0 => format!("trim({})", g.text()),
                1 => format!("lower({})", g.text()),
                _ => "\"{v.ts} {v.c} {v.ots ?? v.ts} \\\"q\\\"\"".to_string(),
            }),
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
            _ => self.deeper(|g| match g.rng.gen_range(0..4) {
                0 => format!("contains({}, {})", g.text(), g.text()),
                1 => format!("starts_with({}, {})", g.text(), g.text()),
                2 => format!("all(v.items, x => x.qty >= {})", g.int()),
                _ => "(v.ots != none and v.ots == v.ts)".to_string(),
            }),
        }
    }

    fn date(&mut self) -> String {
        if self.leaf() || self.chance(0.4) {
            return self.pick(&["v.dt", "@\"2028-02-29\"", "date(v.ts)", "date(v.ots ?? v.ts)"]).to_string();
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

    /// A package: the prelude and one handler of `Ev`.
    pub fn program(&mut self) -> String {
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
            body.push_str("  for it in v.items {\n    emit side Out { i: it.qty, d: it.price, m: money(it.price, USD), t: \"item\", b: true, dt: v.dt, k: it.kind, ts: v.ots, c: v.c }\n  }\n");
        }
        let (i, d, m, t, b, dt, k) =
            (self.int(), self.decimal(), self.money(), self.text(), self.boolean(), self.date(), self.kind());
        body.push_str(&format!(
            "  emit out Out {{ i: {i}, d: {d}, m: {m}, t: {t}, b: {b}, dt: {dt}, k: {k}, ts: v.ts, c: v.c }}\n"
        ));
        format!("{PRELUDE}\non Ev as v {{\n{body}}}\n")
    }

    /// The `n`th event line for a program: an `ev` envelope, its `data` of
    /// every field, optionals absent, null or set, once in a while a field of
    /// the wrong type or value.
    pub fn event(&mut self, n: usize) -> String {
        let int = |g: &mut Self| -> String {
            g.pick(&["0", "1", "-3", "42", "9223372036854775807", "-9223372036854775808", "12"]).to_string()
        };
        let dec = |g: &mut Self| -> String {
            g.pick(&[
                "\"1.25\"",
                "\"0\"",
                "\"-0.00\"",
                "2.5",
                "\"79228162514264337593543950335\"",
                "\"0.0000001\"",
                "\"1.50E+3\"",
                "\"3\"",
            ])
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
            format!(
                "\"ts\":\"{}\"",
                self.pick(&["2026-10-05T09:00:00Z", "2026-10-05T09:00:00.50+02:00", "1999-12-31T23:59:59.123456789Z"])
            ),
            format!("\"c\":\"{}\"", self.pick(&["USD", "EUR", "GBP"])),
            format!("\"items\":[{}]", items.join(",")),
        ];
        let e = dec(self);
        let nn = money(self);
        let u = format!("\"{}\"", self.pick(&["x", "y"]));
        let ko = self.pick(&kinds).to_string();
        let ots = format!("\"{}\"", self.pick(&["2026-10-05T09:00:00Z", "2026-10-05T07:00:00Z"]));
        for (k, v) in [
            ("e", opt(self, e)),
            ("n", opt(self, nn)),
            ("u", opt(self, u)),
            ("ko", opt(self, ko)),
            ("ots", opt(self, ots)),
        ] {
            if let Some(v) = v {
                fields.push(format!("\"{k}\":{v}"));
            }
        }
        if self.chance(0.05) {
            let bad = self.pick(&[
                "\"i\":1.5",
                "\"d\":\"1e\"",
                "\"k\":\"beta \"",
                "\"ts\":\"2026-13-01T00:00:00Z\"",
                "\"items\":[{}]",
                "\"c\":\"usd\"",
            ]);
            fields.push(bad.into());
        }
        format!(
            "{{\"specversion\":\"1.0\",\"id\":\"e{n}\",\"source\":\"s\",\"type\":\"ev\",\"correlationid\":\"c{n}\",\"data\":{{{}}}}}",
            fields.join(",")
        )
    }
}

/// An outcome and its lineage as one text, for comparison.
pub fn traced((o, trace): &(Outcome, Vec<TraceEvent>)) -> String {
    let mut s = format!("{o:?}\n");
    for t in trace {
        t.write_json(&mut s);
        s.push('\n');
    }
    s
}

type Encoded = (Outcome, Vec<(canon_compiler::ir::DestId, String)>, Vec<TraceEvent>);

/// An outcome with its records as JSON text and its lineage, as one text.
fn encoded((o, records, trace): &Encoded) -> String {
    let mut s = traced(&(o.clone(), trace.clone()));
    for (d, r) in records {
        s.push_str(&format!("{} {r}\n", d.0));
    }
    s
}

/// The interpreter's traced outcome in the form of [`encoded`].
fn encoded_values(interp: &Engine, (mut o, trace): (Outcome, Vec<TraceEvent>)) -> String {
    let pkg = interp.package();
    let records = std::mem::take(&mut o.emits)
        .into_iter()
        .map(|(d, v)| {
            let mut r = String::new();
            if let Some(dest) = pkg.destinations.get(d.0 as usize) {
                canon_runtime::encode::value(&mut r, pkg, &canon_compiler::types::Ty::Record(dest.record), &v);
            }
            (d, r)
        })
        .collect();
    encoded(&(o, records, trace))
}

/// Why a comparison did not pass.
#[derive(Debug)]
pub enum Failure {
    /// The generated program has errors: the checker rejects it.
    DoesNotCheck(String),
    /// The JIT did not compile it, or an outcome differs between the engines.
    Diverges(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::DoesNotCheck(m) | Failure::Diverges(m) => f.write_str(m),
        }
    }
}

/// One input of the `programs` fuzz target: its bytes drive the generator (one
/// a choice) to a program, one to six events and whether lineage is compared
/// too (a quarter of the inputs); then [`compare`].
pub fn fuzz_input(data: &[u8]) -> Result<usize, Failure> {
    // Seeded with FNV-1a's offset basis: once the input's bytes are used up,
    // the stream is splitmix64 from FNV-1a of the input.
    let mut rng = Rng::new(0xCBF2_9CE4_8422_2325, data);
    let mut g = Gen::new(&mut rng);
    let source = g.program();
    let n_events = 1 + g.rng.gen_range(0..6);
    let events: Vec<String> = (0..n_events).map(|n| g.event(n)).collect();
    let with_lineage = g.rng.gen_range(0..4) == 0;
    compare(&source, &events, with_lineage)
}

/// Checks `source`, compiles it for both engines and runs every event line
/// through the interpreter and the JIT (its shared-decoder path and its
/// one-pass fast path; with `lineage`, also with lineage and with records
/// encoded from cells). Every outcome must be byte-identical. Returns how
/// many events were compared.
pub fn compare(source: &str, events: &[String], lineage: bool) -> Result<usize, Failure> {
    let pkg = package::from_sources(PathBuf::from("."), vec![("gen.canon".into(), source.to_string())]);
    if pkg.has_errors() {
        return Err(Failure::DoesNotCheck(format!(
            "generated program does not check: {:?}\n{source}",
            pkg.diagnostics().first()
        )));
    }
    let checked = pkg.package();
    let tables = Tables::empty(&checked);
    let interp = Engine::new(checked.clone(), tables.clone());
    let jit_failed = |e: canon_jit::Unsupported| Failure::Diverges(format!("JIT failed: {}\n{source}", e.0));
    let jit = JitEngine::new(checked.clone(), &tables).map_err(jit_failed)?;
    // Compiling is most of the time of a fuzz input (Cranelift instrumented
    // for coverage): the lineage engine only when asked.
    let lineage = if lineage { Some(JitEngine::with_lineage(checked, &tables).map_err(jit_failed)?) } else { None };
    let diverges = |what: &str, line: &str, a: &str, b: &str| {
        Failure::Diverges(format!("{what}\nprogram:\n{source}\nevent: {line}\ninterp: {a}\njit:    {b}"))
    };
    let mut compared = 0;
    for (n, line) in events.iter().enumerate() {
        let no = n as u64 + 1;
        let (mut sa, mut sb) = (String::new(), String::new());
        interp.write_outcome(&interp.evaluate(no, line), &mut sa);
        jit.write_outcome(&jit.evaluate(no, line), &mut sb);
        if sa != sb {
            return Err(diverges("divergence", line, &sa, &sb));
        }
        // The JIT's fast path (decoding into cells, encoding from cells) too.
        let mut sc = String::new();
        jit.evaluate_json(no, line, &mut sc);
        if sa != sc {
            return Err(diverges("fast-path divergence", line, &sa, &sc));
        }
        if let Some(lineage) = &lineage {
            // With lineage: the same outcome and the same trace.
            let (ta, tb) = (traced(&interp.evaluate_traced(no, line)), traced(&lineage.evaluate_traced(no, line)));
            if ta != tb {
                return Err(diverges("lineage divergence", line, &ta, &tb));
            }
            // And with the records encoded straight from cells.
            let te = encoded(&lineage.evaluate_traced_encoded(no, line));
            let ti = encoded_values(&interp, interp.evaluate_traced(no, line));
            if te != ti {
                return Err(diverges("encoded divergence", line, &ti, &te));
            }
        }
        compared += 1;
    }
    Ok(compared)
}
