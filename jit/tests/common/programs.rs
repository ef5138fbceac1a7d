//! Random well-typed Canon programs and events, for comparing the interpreter
//! (the reference) with the JIT byte for byte. One generator for two users:
//! `jit/tests/differential.rs` (`mod common;`, each case seeded by proptest)
//! and the fuzz target `fuzz/fuzz_targets/programs.rs` (by `#[path]`, each
//! choice one byte of the fuzz input). The package has an enum, a record list,
//! optionals, Money, Currency, Date and Timestamp fields, a function and
//! decision tables of every hit policy (DMN's `any`, `priority`, `output
//! order`, the `collect` aggregations) and input shape (list cells, Text
//! ranges, cells compared with parameters, a `default`); handlers have lets,
//! checks and requires, loops and emits (to a destination family by value too)
//! over expressions up to depth 3. Most
//! programs also have state (a Text-keyed and a composite-keyed state, with
//! metrics over them): reads anywhere an expression may be, `put`,
//! `update` (guarded or not) and `delete` among the statements; the events
//! of a run share that state, and the engines are compared event by event on
//! their outcomes, writes, lineage and the state and metrics they leave.
//! Expressions also look up effective-dated tables (`rates`, dated by Dates
//! with an inclusive end, keyed by an enum; `spots`, by Timestamps, keyed by
//! a Text), whose rows [`dated_tables`] gives: gaps, single days, before the
//! first row and after the last; and the calendar functions over a calendar
//! whose holidays and periods it gives too.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use canon_compiler::ir;
use canon_jit::JitEngine;
use canon_runtime::outcome::TraceEvent;
use canon_runtime::state::Store;
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
destination routed[Kind]: Out

fn bump(x: Int, y: Decimal) -> Decimal = x * y + 1

record Rate { k: Kind, from: Date, until: Date?, price: Decimal }
table rates: Rate key k effective from to until
record Spot { name: Text, at: Timestamp, rate: Decimal }
table spots: Spot key name effective at
record Hol { k: Kind, day: Date }
table hols: Hol key (k, day)
record Per { k: Kind, name: Text, start: Date, end: Date? }
table pers: Per key k effective start to end
calendar cal { holidays: hols, periods: pers, weekend: Friday, Sunday }

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

decision dmn_any(n: Int, lim: Int, t: Text) -> Text
  hit any
  default "dflt"
  | n          | lim | t      || r      |
  | < 0, > 100 | -   | -      || "edge" |
  | > lim      | -   | -      || t      |
  | [0..lim]   | -   | < "m"  || "low"  |

decision dmn_prio(n: Int, k: Kind) -> Kind
  hit priority
  | n         | k           || r     |
  | -         | -           || Gamma |
  | > 5       | Alpha, Beta || Beta  |
  | < 0, > 50 | -           || Alpha |

decision dmn_order(n: Int, k: Kind) -> Kind
  hit output order
  | n         | k           || r     |
  | -         | -           || Gamma |
  | > 5       | Alpha, Beta || Beta  |
  | < 0, > 50 | -           || Alpha |

decision dmn_sum(n: Int, d: Decimal) -> Decimal
  hit collect sum
  | n         | d   || v     |
  | > 0       | -   || d     |
  | > 10      | > 1 || d * n |
  | < 0, > 20 | -   || 1.5   |

decision dmn_isum(n: Int, j: Int) -> Int
  hit collect sum
  | n     | j     || v |
  | -     | -     || n |
  | > j   | -     || j |
  | -     | < 0   || n |

decision dmn_msum(n: Int, m: Money, cap: Money) -> Money
  hit collect sum
  | n   | m     | cap || v        |
  | > 0 | -     | -   || m        |
  | > 3 | > cap | -   || cap      |
  | > 7 | -     | -   || 1.00 EUR |

decision dmn_count(n: Int, t: Text) -> Int
  hit collect count
  | n    | t            || v |
  | > 0  | -            || 1 |
  | -    | ["a".."n")   || 1 |
  | < 5  | >= "n", < "" || 1 |

decision dmn_min(n: Int, d: Decimal, e: Decimal) -> Decimal
  hit collect min
  | n     | d     | e || v    |
  | > 0   | -     | - || d    |
  | > 2   | < e   | - || e    |
  | -     | -     | - || 1.50 |
  | < 10  | -     | - || 1.5  |

decision dmn_max(t: Text, u: Text) -> Text
  hit collect max
  | t        | u       || v       |
  | -        | -       || u       |
  | < u      | -       || t       |
  | ["b".."x"] | -     || "mid"   |

decision dmn_window(d: Decimal, lo: Decimal, hi: Decimal) -> Text
  hit unique
  default "out"
  | d        | lo | hi || r     |
  | [lo..hi) | -  | -  || "in"  |
  | (hi..lo] | -  | -  || "rev" |
"#;

/// The declarations of a program with state: records keyed by Text and by
/// (Kind, Int), and metrics over them (an Int sum by kind, which a large
/// `n` overflows, a Money sum per currency, a filtered count, and a sum that
/// divides by `n`, which may be 0: a fault applying an event's writes); and
/// a `Seed` event whose handler puts plain records, so that the state fills
/// up whatever the generated handler rejects.
const STATE_PRELUDE: &str = r#"
record Acc {
  id: Text
  k: Kind
  n: Int
  d: Decimal
  m: Money?
  t: Text?
  items: List<Item>
  at: Timestamp?
}
state accs: Acc key id

record Pair { k: Kind, j: Int, count: Int, last: Date }
state pairs: Pair key (k, j)

metric acc_n = sum(accs, a => a.n) by k
metric acc_m = sum(accs, a => a.m ?? 0 USD) where a.t != none
metric busy_pairs = count(pairs, p => p.count > 1) by k
metric per_n = sum(accs, a => a.d / a.n) where a.t == none

event Seed as "seed" { id: Text, k: Kind, n: Int, d: Decimal, m: Money?, t: Text? }
on Seed as s {
  put accs Acc { id: s.id, k: s.k, n: s.n, d: s.d, m: s.m, t: s.t, items: [], at: none }
  put pairs Pair { k: s.k, j: s.n, count: s.n, last: @"2026-01-01" }
}
"#;

/// A generator of expressions of one type.
type ExprGen<'r, 'd> = fn(&mut Gen<'r, 'd>) -> String;

/// A generator of programs ([`Gen::program`]) and of events for them ([`Gen::event`]).
pub struct Gen<'r, 'd> {
    rng: &'r mut Rng<'d>,
    depth: u32,
    /// The handler's `let`s so far, with their types.
    lets: Vec<(String, &'static str)>,
    /// The program declares state: expressions may read it.
    stateful: bool,
}

impl<'r, 'd> Gen<'r, 'd> {
    pub fn new(rng: &'r mut Rng<'d>) -> Gen<'r, 'd> {
        Gen { rng, depth: 0, lets: Vec::new(), stateful: false }
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
        if self.stateful && self.chance(0.1) {
            return match self.rng.gen_range(0..3) {
                0 => format!("(accs[{}]?.n ?? 0)", self.acc_key()),
                1 => format!("(pairs[{}, {}]?.count ?? -1)", self.kind(), self.pair_j()),
                _ => format!("len(accs[{}]?.items ?? [])", self.acc_key()),
            };
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
        match self.rng.gen_range(0..13) {
            9 => {
                let c = self.pick(&["v.c", "currency(v.m)"]);
                format!("minor_units({c})")
            }
            10 => self.deeper(|g| format!("len(allocate_even({}, min({}, 30)))", g.money(), g.int())),
            11 => {
                self.deeper(|g| format!("count(allocate({}, [{}, 1]), p => p > {})", g.money(), g.decimal(), g.money()))
            }
            12 => self.deeper(|g| g.list_int()),
            0 => self.deeper(|g| format!("({} + {})", g.int(), g.int())),
            1 => self.deeper(|g| format!("({} - {})", g.int(), g.int())),
            2 => self.deeper(|g| format!("({} * {})", g.int(), g.int())),
            3 => self.deeper(|g| format!("count(v.items, x => x.qty > {})", g.int())),
            4 => self.deeper(|g| format!("(if {} then {} else {})", g.boolean(), g.int(), g.int())),
            5 => self.deeper(|g| format!("days_between(v.dt, {})", g.date())),
            6 => self.deeper(|g| format!("abs({})", g.int())),
            7 => self.deeper(|g| match g.rng.gen_range(0..4) {
                0 => format!("max({}, {})", g.int(), g.int()),
                1 => format!("dmn_isum({}, {})", g.int(), g.int()),
                2 => format!("dmn_count({}, {})", g.int(), g.text()),
                _ => format!("len(dmn_order({}, {}))", g.int(), g.kind()),
            }),
            _ => {
                self.deeper(|g| format!("(match {} {{ Alpha => {}, Beta | Gamma => {} }})", g.kind(), g.int(), g.int()))
            }
        }
    }

    fn decimal(&mut self) -> String {
        if let Some(v) = self.var("Decimal") {
            return v;
        }
        if self.stateful && self.chance(0.1) {
            return format!("(accs[{}]?.d ?? 0.5)", self.acc_key());
        }
        if self.chance(0.08) {
            let (k, d) = (self.kind(), self.date());
            return format!("(rates[{k} as of {d}]?.price ?? 0)");
        }
        if self.chance(0.05) {
            let (t, ts) = (self.text(), self.pick(&["v.ts", "(v.ots ?? v.ts)", "@\"2026-10-05T08:00:00Z\""]));
            return format!("(spots[{t} as of {ts}]?.rate ?? 1)");
        }
        if self.leaf() || self.chance(0.3) {
            return self.pick(&["v.d", "1.50", "0.005", "-2.675", "(v.e ?? 0)", "amount(v.m)", "100"]).to_string();
        }
        match self.rng.gen_range(0..11) {
            10 => self.deeper(|g| match g.rng.gen_range(0..3) {
                0 => format!("sum(map(v.items, x => x.price * {}), y => y)", g.decimal()),
                1 => format!("(sort_by(map(v.items, x => x.price), p => p)[{}] ?? {})", g.int(), g.decimal()),
                _ => {
                    format!("(find(sort_by(v.items, x => x.price, Descending), x => x.qty > {})?.price ?? 0)", g.int())
                }
            }),
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
            _ => self.deeper(|g| match g.rng.gen_range(0..3) {
                0 => format!("min({}, {})", g.decimal(), g.decimal()),
                1 => format!("dmn_sum({}, {})", g.int(), g.decimal()),
                _ => format!("(dmn_min({}, {}, {}) ?? -1)", g.int(), g.decimal(), g.decimal()),
            }),
        }
    }

    fn money(&mut self) -> String {
        if let Some(v) = self.var("Money") {
            return v;
        }
        if self.stateful && self.chance(0.1) {
            return format!("(accs[{}]?.m ?? 1 USD)", self.acc_key());
        }
        if self.leaf() || self.chance(0.3) {
            return self.pick(&["v.m", "12.50 USD", "(v.n ?? 0 USD)", "0.10 EUR"]).to_string();
        }
        match self.rng.gen_range(0..12) {
            6 => self.deeper(|g| format!("round({})", g.money())),
            7 => {
                let mode = self.pick(&["HalfEven", "HalfUp", "HalfDown", "Up", "Down", "Ceiling", "Floor"]);
                self.deeper(|g| format!("round({}, {mode})", g.money()))
            }
            8 => self.deeper(|g| {
                format!("(sum(allocate({}, [{}, {}, 1]), p => p) ?? 0 USD)", g.money(), g.decimal(), g.decimal())
            }),
            9 => self.deeper(|g| {
                format!(
                    "(sum(allocate({}, [{}, 2]), p => round(p * {})) ?? {})",
                    g.money(),
                    g.int(),
                    g.decimal(),
                    g.money()
                )
            }),
            10 => self.deeper(|g| {
                format!("(sum(allocate_even({}, min({}, 40)), p => p - {}) ?? 1 USD)", g.money(), g.int(), g.money())
            }),
            11 => self.deeper(|g| {
                // Money keys of one currency, or of two (CURRENCY_MISMATCH).
                let cur = g.pick(&["USD", "v.c", "(if x.qty > 0 then USD else EUR)"]);
                let order = g.pick(&["", ", Descending", ", Ascending"]);
                format!("(first(sort_by(map(v.items, x => money(x.price, {cur})), m => m{order})) ?? {})", g.money())
            }),
            0 => self.deeper(|g| format!("({} + {})", g.money(), g.money())),
            1 => self.deeper(|g| format!("({} * {})", g.money(), g.decimal())),
            2 => self.deeper(|g| format!("round({}, 2)", g.money())),
            3 => self.deeper(|g| format!("money({}, {})", g.decimal(), g.pick(&["USD", "v.c", "currency(v.m)"]))),
            4 => self.deeper(|g| match g.rng.gen_range(0..2) {
                0 => format!("convert({}, EUR, {})", g.money(), g.decimal()),
                _ => format!("(dmn_msum({}, {}, {}) ?? 0 USD)", g.int(), g.money(), g.money()),
            }),
            _ => self.deeper(|g| format!("({} - {})", g.money(), g.money())),
        }
    }

    fn text(&mut self) -> String {
        if let Some(v) = self.var("Text") {
            return v;
        }
        if self.stateful && self.chance(0.1) {
            return format!("(accs[{}]?.t ?? \"-\")", self.acc_key());
        }
        if self.chance(0.04) {
            return self.deeper(|g| format!("(fiscal_period(cal, {}, {})?.name ?? \"-\")", g.kind(), g.date()));
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
                _ => match g.rng.gen_range(0..6) {
                    0 => format!("dmn_any({}, {}, {})", g.int(), g.int(), g.text()),
                    1 => format!("\"{{dmn_prio({}, {})}}\"", g.int(), g.kind()),
                    2 => format!("(dmn_max({}, {}) ?? \"-\")", g.text(), g.text()),
                    3 => format!("dmn_window({}, {}, {})", g.decimal(), g.decimal(), g.decimal()),
                    _ => format!("pick({}, {})", g.boolean(), g.kind()),
                },
            }),
            4 => self.deeper(|g| match g.rng.gen_range(0..5) {
                3 => {
                    let order = g.pick(&["", ", Descending"]);
                    format!(
                        "(last(sort_by(map(v.items, x => \"{{x.kind}}{{x.qty}}\"), s => s{order})) ?? {})",
                        g.text()
                    )
                }
                4 => "(first(distinct(map(v.items, x => \"{x.kind}\"))) ?? \"-\")".to_string(),
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
        if self.chance(0.05) {
            return self.deeper(|g| format!("is_business_day(cal, {}, {})", g.kind(), g.date()));
        }
        if self.stateful && self.chance(0.1) {
            return match self.rng.gen_range(0..2) {
                0 => format!("(accs[{}] != none)", self.acc_key()),
                _ => format!("(pairs[{}, {}] == none)", self.kind(), self.pair_j()),
            };
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

    /// An Int from the list functions and indexing over `v.items`.
    fn list_int(&mut self) -> String {
        match self.rng.gen_range(0..7) {
            0 => format!("len(filter(v.items, x => x.qty > {}))", self.int()),
            1 => format!("(v.items[{}]?.qty ?? -1)", self.int()),
            2 => "(first(sort_by(v.items, x => x.price))?.qty ?? 0)".to_string(),
            3 => format!("(find(v.items, x => x.qty > {})?.qty ?? 0)", self.int()),
            4 => "len(distinct(map(v.items, x => x.kind)))".to_string(),
            5 => format!("(last(sort_by(v.items, x => x.qty * {}, Descending))?.qty ?? 7)", self.int()),
            _ => format!("sum(map(v.items, x => count(v.items, y => y.qty > x.qty)), n => n * {})", self.int()),
        }
    }

    fn date(&mut self) -> String {
        if self.chance(0.06) {
            let n = self.pick(&["1", "-3", "0", "10", "v.i"]);
            return self.deeper(|g| format!("add_business_days(cal, {}, {}, {n})", g.kind(), g.date()));
        }
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
        if self.stateful && self.chance(0.15) {
            return format!("accs[{}]?.k", self.acc_key());
        }
        self.pick(&["v.ko", "v.k"]).to_string()
    }

    /// A key of `accs`: a few texts, so that the events of a run meet.
    fn acc_key(&mut self) -> String {
        self.pick(&["v.t", "\"k\"", "(v.u ?? \"x\")", "upper(v.t)"]).to_string()
    }

    /// The Int part of a key of `pairs`.
    fn pair_j(&mut self) -> String {
        self.pick(&["v.j", "1", "len(v.t)", "(v.i - v.j)"]).to_string()
    }

    /// One statement writing state: a `put`, an `update` (guarded by a
    /// read, or not: `STATE_NOT_FOUND`), a `delete`, of either state;
    /// sometimes a read bound to a local and used under narrowing.
    fn state_stmt(&mut self, i: usize) -> String {
        // Values written are shallow expressions, which fault less often, so
        // that more events are accepted and the state fills up.
        let shallow = |g: &mut Self, f: fn(&mut Self) -> String| g.deeper(|g| g.deeper(f));
        match self.rng.gen_range(0..9) {
            0..=2 => {
                let key = self.acc_key();
                let (k, n, d) = (self.kind(), shallow(self, Self::int), shallow(self, Self::decimal));
                let mut fields = vec![format!("id: {key}"), format!("k: {k}"), format!("n: {n}"), format!("d: {d}")];
                if self.chance(0.6) {
                    fields.push(format!("m: {}", shallow(self, Self::money)));
                }
                if self.chance(0.6) {
                    fields.push(format!("t: {}", shallow(self, Self::text)));
                }
                fields.push(format!("items: {}", self.pick(&["v.items", "[]"])));
                if self.chance(0.5) {
                    fields.push(format!("at: {}", self.pick(&["v.ots", "v.ts", "none"])));
                }
                format!("  put accs Acc {{ {} }}\n", fields.join(", "))
            }
            3 => {
                let (k, j) = (self.kind(), self.pair_j());
                let last = self.date();
                format!(
                    "  put pairs Pair {{ k: {k}, j: {j}, count: (pairs[{k}, {j}]?.count ?? 0) + 1, last: {last} }}\n"
                )
            }
            4 | 5 => {
                let key = self.acc_key();
                let mut sets = Vec::new();
                let fields: [(&str, ExprGen<'r, 'd>, f64); 4] =
                    [("n", Self::int, 0.6), ("d", Self::decimal, 0.5), ("t", Self::text, 0.3), ("m", Self::money, 0.3)];
                for (f, gen, p) in fields {
                    if self.chance(p) {
                        let e = shallow(self, gen);
                        sets.push(format!("{f}: {e}"));
                    }
                }
                if sets.is_empty() || self.chance(0.2) {
                    sets.push(format!("k: {}", self.kind()));
                }
                let update = format!("update accs[{key}] {{ {} }}", sets.join(", "));
                // Unguarded, a missing record is STATE_NOT_FOUND.
                if self.chance(0.75) {
                    format!("  if accs[{key}] != none {{\n    {update}\n  }}\n")
                } else {
                    format!("  {update}\n")
                }
            }
            6 => {
                let (k, j) = (self.kind(), self.pair_j());
                let last = self.date();
                let update =
                    format!("update pairs[{k}, {j}] {{ last: {last}, count: (pairs[{k}, {j}]?.count ?? 0) * 2 }}");
                if self.chance(0.75) {
                    format!("  if pairs[{k}, {j}] != none {{\n    {update}\n  }}\n")
                } else {
                    format!("  {update}\n")
                }
            }
            7 => match self.rng.gen_range(0..2) {
                0 => format!("  delete accs[{}]\n", self.acc_key()),
                _ => format!("  delete pairs[{}, {}]\n", self.kind(), self.pair_j()),
            },
            _ => {
                let key = self.acc_key();
                let n = shallow(self, Self::int);
                format!(
                    "  let r{i} = accs[{key}]\n  if r{i} != none {{\n    update accs[r{i}.id] {{ n: r{i}.n + {n}, items: r{i}.items }}\n    emit side Out {{ i: r{i}.n, d: r{i}.d, m: r{i}.m ?? 0 EUR, t: r{i}.t ?? r{i}.id, b: r{i}.at == none, dt: v.dt, k: r{i}.k, ts: r{i}.at, c: v.c }}\n  }}\n"
                )
            }
        }
    }

    /// A package: the prelude (with state, most of the time) and one handler of `Ev`.
    pub fn program(&mut self) -> String {
        self.stateful = self.chance(0.7);
        // Half the programs with state have shallow expressions, which fault
        // less often: their events are accepted more often, so the state
        // they share fills up and is read back.
        let shallow = self.stateful && self.chance(0.5);
        if shallow {
            self.depth = 2;
        }
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
        let writes = if self.stateful { 1 + self.rng.gen_range(0..4) } else { 0 };
        let checks = self.rng.gen_range(0..3);
        // The checks and the writes of state, interleaved: a write before a
        // failing `require` is dropped with the event, one after is never made.
        let (mut c_left, mut w_left) = (checks, writes);
        while c_left + w_left > 0 {
            if w_left > 0 && (c_left == 0 || self.chance(0.5)) {
                let stmt = self.state_stmt(w_left);
                body.push_str(&stmt);
                w_left -= 1;
            } else {
                let kw = if self.chance(0.3) { "require" } else { "check" };
                let c = self.boolean();
                let msg = self.text();
                body.push_str(&format!("  {kw} {c} else reject FAILED_{} \"{{{msg}}}\"\n", self.rng.gen_range(0..3)));
                c_left -= 1;
            }
        }
        if self.chance(0.2) {
            let key = self.pick(&["x.qty", "x.price", "\"{x.kind}\"", "money(x.price, v.c)"]);
            let order = self.pick(&["", ", Descending"]);
            body.push_str(&format!("  let sorted = sort_by(v.items, x => {key}{order})\n"));
            body.push_str("  for n, it in sorted {\n    emit side Out { i: n, d: it.price, m: money(it.price, USD), t: \"{(v.items[n]?.qty ?? -1)}\", b: it.kind == (sorted[n + 1]?.kind ?? Alpha), dt: v.dt, k: it.kind, ts: v.ots, c: v.c }\n  }\n");
        }
        if self.chance(0.3) {
            body.push_str("  for it in v.items {\n    emit side Out { i: it.qty, d: it.price, m: money(it.price, USD), t: \"item\", b: true, dt: v.dt, k: it.kind, ts: v.ots, c: v.c }\n  }\n");
        }
        if self.chance(0.2) {
            let (total, w) = (self.money(), self.decimal());
            body.push_str(&format!(
                "  for p in allocate({total}, [{w}, 1, {w}]) {{\n    emit side Out {{ i: minor_units(currency(p)), d: amount(p), m: round(p, Up), t: \"part\", b: p > 0 USD, dt: v.dt, k: v.k, ts: v.ots, c: currency(p) }}\n  }}\n"
            ));
        }
        if self.chance(0.4) {
            // Routing by value (LANGUAGE.md §4.3): the index, then the record.
            let (member, i, d, k) = (self.kind(), self.int(), self.decimal(), self.kind());
            body.push_str(&format!(
                "  emit routed[{member}] Out {{ i: {i}, d: {d}, m: 0 EUR, t: \"r\", b: false, dt: v.dt, k: {k}, ts: v.ts, c: v.c }}\n"
            ));
        }
        let (i, d, m, t, b, dt, k) =
            (self.int(), self.decimal(), self.money(), self.text(), self.boolean(), self.date(), self.kind());
        body.push_str(&format!(
            "  emit out Out {{ i: {i}, d: {d}, m: {m}, t: {t}, b: {b}, dt: {dt}, k: {k}, ts: v.ts, c: v.c }}\n"
        ));
        if shallow {
            self.depth = 0;
        }
        let state = if self.stateful { STATE_PRELUDE } else { "" };
        format!("{PRELUDE}{state}\non Ev as v {{\n{body}}}\n")
    }

    /// A `seed` event: a record under a key the handler's reads and writes use.
    fn seed_event(&mut self, n: usize) -> String {
        let id = self.pick(&["hello", "ÉtÉ", "  pad  ", "", "k", "x", "y", "HELLO", "ÉTÉ", "  PAD  "]);
        let k = self.pick(&["Alpha", "beta", "Gamma"]);
        let nn = self.pick(&["0", "1", "3", "5", "7", "12", "42", "9223372036854775807"]);
        let d = self.pick(&["\"1.25\"", "\"0\"", "\"-7.5\"", "3"]);
        let mut fields =
            vec![format!("\"id\":\"{id}\""), format!("\"k\":\"{k}\""), format!("\"n\":{nn}"), format!("\"d\":{d}")];
        if self.chance(0.6) {
            let c = self.pick(&["USD", "EUR"]);
            fields.push(format!("\"m\":{{\"amount\":\"2.50\",\"currency\":\"{c}\"}}"));
        }
        if self.chance(0.5) {
            fields.push(format!("\"t\":\"{}\"", self.pick(&["note", "ÉtÉ"])));
        }
        format!(
            "{{\"specversion\":\"1.0\",\"id\":\"e{n}\",\"source\":\"s\",\"type\":\"seed\",\"data\":{{{}}}}}",
            fields.join(",")
        )
    }

    /// The `n`th event line for a program: an `ev` envelope, its `data` of
    /// every field, optionals absent, null or set, once in a while a field of
    /// the wrong type or value.
    pub fn event(&mut self, n: usize) -> String {
        if self.stateful && self.chance(0.3) {
            return self.seed_event(n);
        }
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
            let c = g.pick(&["USD", "USD", "EUR", "JPY", "BHD"]);
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
            format!("\"c\":\"{}\"", self.pick(&["USD", "EUR", "GBP", "JPY", "XAU"])),
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

/// Checks `source`, compiles it for both engines and runs the event lines
/// in order through the interpreter and the JIT, each engine with its own
/// state (see [`compare_package`]). Returns how many events were compared.
pub fn compare(source: &str, events: &[String], lineage: bool) -> Result<usize, Failure> {
    let pkg = package::from_sources(PathBuf::from("."), vec![("gen.canon".into(), source.to_string())]);
    if pkg.has_errors() {
        return Err(Failure::DoesNotCheck(format!(
            "generated program does not check: {:?}\n{source}",
            pkg.diagnostics().first()
        )));
    }
    let checked = pkg.package();
    let tables = dated_tables(&checked);
    compare_package(checked, tables, events, lineage, &format!("program:\n{source}"))
}

/// The rows of the prelude's effective-dated tables (every other table is empty).
pub fn dated_tables(pkg: &ir::Package) -> Tables {
    use canon_runtime::value::Value;
    use canon_stdlib::{num, time};
    let mut tables = Tables::empty(pkg);
    let date = |s: &str| time::parse_date(s).map(Value::Date).unwrap_or(Value::None);
    let ts = |s: &str| time::parse_timestamp(s).map(Value::Timestamp).unwrap_or(Value::None);
    let dec = |s: &str| num::parse(s).map(Value::Decimal).unwrap_or(Value::None);
    let rec = |vs: Vec<Value>| Value::Record(vs.into());
    if let Some((id, _)) = pkg.table_by_name("rates") {
        // Kind: Alpha 0, Beta 1, Gamma 2 (Gamma has no rows).
        let rows = vec![
            rec(vec![Value::Enum(0), date("2026-01-01"), Value::None, dec("2.5")]),
            rec(vec![Value::Enum(0), date("2000-01-01"), date("2024-12-31"), dec("1.5")]),
            rec(vec![Value::Enum(1), date("2024-02-29"), date("2024-02-29"), dec("3")]),
            rec(vec![Value::Enum(1), date("2026-01-31"), date("2026-01-31"), dec("4")]),
            rec(vec![Value::Enum(1), date("2028-02-01"), date("2028-02-28"), dec("5")]),
        ];
        let _ = tables.set_rows(pkg, id, rows);
    }
    if let Some((id, _)) = pkg.table_by_name("hols") {
        let rows = ["2026-01-30", "2026-02-02", "2024-02-29", "2024-03-01", "1999-12-31", "2028-02-29"]
            .iter()
            .enumerate()
            .map(|(i, d)| rec(vec![Value::Enum((i % 2) as u32), date(d)]))
            .collect();
        let _ = tables.set_rows(pkg, id, rows);
    }
    if let Some((id, _)) = pkg.table_by_name("pers") {
        let text = |s: &str| Value::Text(s.into());
        let rows = vec![
            rec(vec![Value::Enum(0), text("P1"), date("2026-01-01"), date("2026-01-31")]),
            rec(vec![Value::Enum(0), text("P2"), date("2026-02-01"), Value::None]),
            rec(vec![Value::Enum(1), text("FY24"), date("2024-01-01"), date("2024-12-31")]),
        ];
        let _ = tables.set_rows(pkg, id, rows);
    }
    if let Some((id, _)) = pkg.table_by_name("spots") {
        let rows = vec![
            rec(vec![Value::Text("hello".into()), ts("2026-10-05T09:00:00Z"), dec("1.2")]),
            rec(vec![Value::Text("hello".into()), ts("2026-10-05T08:00:00Z"), dec("1.1")]),
            rec(vec![Value::Text("".into()), ts("1990-01-01T00:00:00Z"), dec("0.9")]),
            rec(vec![Value::Text("x".into()), ts("2026-10-05T07:00:00Z"), dec("7")]),
        ];
        let _ = tables.set_rows(pkg, id, rows);
    }
    tables
}

/// The outcome line of an outcome, and its writes.
fn outcome_text(pkg: &ir::Package, o: &Outcome) -> String {
    let mut s = String::new();
    canon_runtime::engine::write_outcome(pkg, o, &mut s);
    s.push_str(&format!("\nwrites: {:?}", o.writes));
    s
}

/// The state a store holds and its metrics, as text.
fn state_text(pkg: &ir::Package, store: &Store) -> String {
    let mut snapshot = Vec::new();
    let _ = store.write_snapshot(pkg, &mut snapshot);
    let metrics = canon_runtime::metrics::report_json(&store.metrics().report(pkg, None));
    format!("{}\nmetrics: {metrics}", String::from_utf8_lossy(&snapshot))
}

/// Compiles a checked package for both engines and runs every event line,
/// in order, through the interpreter and the JIT (its shared-decoder path
/// and its one-pass fast path; with `lineage`, also with lineage and with
/// records encoded from cells), each engine against its own state, which
/// an accepted event's writes then change (as `canon run` does). Every
/// outcome line, every event's writes and lineage, whether applying them
/// faults, and the state and metrics after each event must be
/// byte-identical. `what` names the package in a failure. Returns how many
/// events were compared.
pub fn compare_package(
    checked: Arc<ir::Package>,
    tables: Tables,
    events: &[String],
    lineage: bool,
    what: &str,
) -> Result<usize, Failure> {
    let interp = Engine::new(checked.clone(), tables.clone());
    let jit_failed = |e: canon_jit::Unsupported| Failure::Diverges(format!("JIT failed: {}\n{what}", e.0));
    let jit = JitEngine::new(checked.clone(), &tables).map_err(jit_failed)?;
    // Compiling is most of the time of a fuzz input (Cranelift instrumented
    // for coverage): the lineage engine only when asked.
    let lineage =
        if lineage { Some(JitEngine::with_lineage(checked.clone(), &tables).map_err(jit_failed)?) } else { None };
    let pkg = &*checked;
    let diverges = |what_: &str, line: &str, a: &str, b: &str| {
        Failure::Diverges(format!("{what_}\n{what}\nevent: {line}\ninterp: {a}\njit:    {b}"))
    };
    // The state each engine's events have left.
    let (mut sa, mut sb) = (Store::new(pkg), Store::new(pkg));
    let mut compared = 0;
    for (n, line) in events.iter().enumerate() {
        let no = n as u64 + 1;
        let a = interp.evaluate_in(no, line, &sa);
        let b = jit.evaluate_in(no, line, &sb);
        let (ta, tb) = (outcome_text(pkg, &a), outcome_text(pkg, &b));
        if ta != tb {
            return Err(diverges("divergence", line, &ta, &tb));
        }
        // The JIT's fast path (decoding into cells, encoding from cells) too.
        let mut sc = String::new();
        let wc = jit.evaluate_json_in(no, line, &sb, &mut sc);
        let tc = format!("{sc}\nwrites: {wc:?}");
        if ta != tc {
            return Err(diverges("fast-path divergence", line, &ta, &tc));
        }
        if let Some(lineage) = &lineage {
            // With lineage: the same outcome and the same trace.
            let (la, lb) =
                (traced(&interp.evaluate_traced_in(no, line, &sa)), traced(&lineage.evaluate_traced_in(no, line, &sb)));
            if la != lb {
                return Err(diverges("lineage divergence", line, &la, &lb));
            }
            // And with the records encoded straight from cells.
            let te = encoded(&lineage.evaluate_traced_encoded_in(no, line, &sb));
            let ti = encoded_values(&interp, interp.evaluate_traced_in(no, line, &sa));
            if te != ti {
                return Err(diverges("encoded divergence", line, &ti, &te));
            }
        }
        // The writes applied (a metric's fault rejects the event instead).
        let (ra, rb) = (sa.apply(pkg, &tables, &a.writes), sb.apply(pkg, &tables, &b.writes));
        let (ra, rb) = (format!("{ra:?}"), format!("{rb:?}"));
        if ra != rb {
            return Err(diverges("divergence applying the writes", line, &ra, &rb));
        }
        if !a.writes.is_empty() {
            let (xa, xb) = (state_text(pkg, &sa), state_text(pkg, &sb));
            if xa != xb {
                return Err(diverges("state divergence", line, &xa, &xb));
            }
        }
        compared += 1;
    }
    Ok(compared)
}
