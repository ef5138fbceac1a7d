//! The hand-written reader of `data` (jit/src/native_scan.rs) against the
//! interpreter: random `data` objects of a schema with every wire type,
//! built from valid and invalid member texts (numbers with leading zeros,
//! exponents and signs, escapes, control characters, nulls, white space,
//! repeated and unknown keys, nested records in any key order, lists), must
//! give byte-identical outcome lines through `canon run`'s fast path and the
//! interpreter (each value is emitted back, so a wrong cell shows).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

use std::path::PathBuf;

use canon_jit::JitEngine;
use canon_runtime::{package, Engine, Tables};
use proptest::prelude::*;

const SOURCE: &str = r#"
enum Color {
  Red
  Dark = "DARK_BLUE"
}
record Inner {
  code: Text
  n: Int?
}
event E as "com.example.e" {
  i: Int
  d: Decimal
  b: Bool
  t: Text
  day: Date
  at: Timestamp
  cur: Currency
  color: Color
  m: Money
  inner: Inner
  xs: List<Int>
  o: Decimal?
}
record Out {
  i: Int
  d: Decimal
  b: Bool
  t: Text
  day: Date
  at: Timestamp
  cur: Currency
  color: Color
  m: Money
  code: Text
  n: Int?
  xs: List<Int>
  o: Decimal?
  id: Text
  src: Text
  kind: Text
  subject: Text?
  corr: Text?
  idem: Text
}
destination out: Out
on E as e {
  emit out Out {
    i: e.i, d: e.d, b: e.b, t: e.t, day: e.day, at: e.at, cur: e.cur, color: e.color, m: e.m,
    code: e.inner.code, n: e.inner.n, xs: e.xs, o: e.o,
    id: meta.id, src: meta.source, kind: meta.type, subject: meta.subject, corr: meta.correlation_id,
    idem: meta.idempotency_key,
  }
}
"#;

/// Candidate texts of each member of `data`, the first one valid.
const FIELDS: &[(&str, &[&str])] = &[
    (
        "i",
        &["7", "-3", "0", "-0", "01", "1.0", "1e2", "\"7\"", "9223372036854775807", "9223372036854775808", "null", "-"],
    ),
    (
        "d",
        &[
            "\"7.50\"",
            "12.25",
            "-0.5",
            "0",
            "00.5",
            "1.",
            ".5",
            "1e3",
            "\"1e3\"",
            "\"\\u0037.5\"",
            "\" 7\"",
            "true",
            "null",
            "\"-0.00\"",
            "79228162514264337593543950336",
        ],
    ),
    ("b", &["true", "false", "null", "1", "\"true\"", "tru"]),
    (
        "t",
        &[
            "\"plain\"",
            "\"\"",
            "\"é😀\"",
            "\"a\\\"b\"",
            "\"a\\nb\"",
            "\"\\u2028\"",
            "\"tab\there\"",
            "5",
            "null",
            // Raw bytes a plain text has none of (U+2028, U+0085, DEL), at
            // every place of an eight-byte word and in the tail.
            "\"a\u{2028}b\"",
            "\"0123456\u{2028}89abcdef\"",
            "\"0123456789abcdef\u{85}\"",
            "\"\u{7f}\"",
            "\"0123456789\u{7f}bcdef0\"",
            "\"01234567~}|{ plain, over two words\"",
        ],
    ),
    ("day", &["\"2026-10-19\"", "\"2026-02-30\"", "\"2026-1-1\"", "\"\\u0032026-10-19\"", "null"]),
    ("at", &["\"2026-10-21T12:42:00Z\"", "\"2026-10-21T12:42:00.123+02:00\"", "\"2026-10-21\"", "1"]),
    ("cur", &["\"EUR\"", "\"eur\"", "\"EURO\"", "null"]),
    ("color", &["\"Red\"", "\"DARK_BLUE\"", "\"Dark\"", "\"red\"", "0"]),
    (
        "m",
        &[
            "{\"amount\":\"10.00\",\"currency\":\"USD\"}",
            "{\"currency\":\"USD\",\"amount\":3.5}",
            "{ \"amount\" : \"1\" , \"currency\" : \"GBP\" }",
            "{\"amount\":\"1\"}",
            "{\"amount\":\"1\",\"currency\":\"USD\",\"x\":1}",
            "{\"amount\":\"1\",\"amount\":\"2\",\"currency\":\"USD\"}",
            "{}",
            "[]",
        ],
    ),
    (
        "inner",
        &[
            "{\"code\":\"C1\",\"n\":1}",
            "{\"n\":2,\"code\":\"C2\"}",
            "{\"code\":\"C3\"}",
            "{\"code\":\"C4\",\"n\":null}",
            "{\"n\":3}",
            "{\"code\":\"C5\",\"extra\":[1,{\"a\":null}]}",
            "{\"code\":\"C6\",\"code\":\"C7\"}",
            "{\"co\\u0064e\":\"C8\"}",
            "{}",
            "null",
        ],
    ),
    ("xs", &["[1,2,3]", "[]", "[ 1 , 2 ]", "[1,]", "[1,\"2\"]", "{}", "null", "[-0,10]"]),
    ("o", &["\"1.5\"", "null", "2", "\"x\""]),
];

/// White space JSON allows, sometimes.
fn ws(rng: &mut Rng) -> &'static str {
    [" ", "", "", "", "\t", "\r\n "][rng.below(6)]
}

/// A random event line: valid members most of the time, mostly in schema order.
fn line(rng: &mut Rng) -> String {
    let mut members: Vec<String> = Vec::new();
    for (name, values) in FIELDS {
        if rng.below(60) == 0 {
            continue;
        }
        let v = if rng.below(8) != 0 { values[0] } else { values[rng.below(values.len())] };
        members.push(format!("{}\"{name}\"{}:{}{v}", ws(rng), ws(rng), ws(rng)));
    }
    if rng.below(10) == 0 {
        members.push("\"unknown\":{\"a\":[true,null,1.5e3]}".into());
    }
    if rng.below(12) == 0 {
        let again = members[rng.below(members.len())].clone();
        members.push(again);
    }
    if rng.below(4) == 0 {
        for i in (1..members.len()).rev() {
            members.swap(i, rng.below(i + 1));
        }
    }
    let data = format!("{{{}}}", members.join(","));
    let tail = ["", "", "", "", " ", "x", ",", "}"][rng.below(8)];
    let mut head: Vec<String> = Vec::new();
    for (name, values) in ENVELOPE {
        let keep = match *name {
            "id" | "source" | "type" => rng.below(40) != 0,
            n if n.contains('\\') => rng.below(10) == 0,
            _ => rng.below(4) != 0,
        };
        if !keep {
            continue;
        }
        let v = if rng.below(3) != 0 { values[0] } else { values[rng.below(values.len())] };
        let v = v.replace("{n}", &rng.below(100).to_string());
        head.push(format!("{}\"{name}\"{}:{}{v}", ws(rng), ws(rng), ws(rng)));
    }
    if head.len() > 1 && rng.below(8) == 0 {
        let j = rng.below(head.len());
        head.swap(0, j);
    }
    let head = head.join(",");
    format!("{{\"specversion\":\"1.0\",{head},\"data\":{data}}}{tail}")
}

/// Candidate texts of the envelope's other members, the first one the common
/// one (`{n}` a number); keys written with an escape go the serde way.
const ENVELOPE: &[(&str, &[&str])] = &[
    ("id", &["\"e{n}\"", "\"é{n}\"", "\"e\u{2028}{n}\"", "\"e\u{7f}\"", "\"e\\u0041{n}\"", "\"\"", "null", "7"]),
    ("source", &["\"urn:s\"", "\"urn:é\"", "\"urn:s:0123456789\"", "\"urn:s\\\"q\""]),
    ("type", &["\"com.example.e\"", "\"com.example.\\u0065\""]),
    ("time", &["\"2026-10-21T12:42:00Z\"", "null", "\"2026-10-21\""]),
    ("subject", &["\"s{n}\"", "\"\"", "\"s\u{85}\""]),
    ("correlationid", &["\"c{n}\"", "\"c\u{2028}\"", "null", "\"c\\n\""]),
    ("idempotencykey", &["\"k{n}\"", "\"k\u{85}{n}\"", "\"\"", "\"k\\u00e9\""]),
    ("c\\u006frrelationid", &["\"c{n}\""]),
];

fn engines() -> (Engine, JitEngine) {
    let pkg = package::from_sources(PathBuf::from("."), vec![("e.canon".into(), SOURCE.to_string())]);
    assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics());
    let checked = pkg.package();
    let tables = Tables::empty(&checked);
    (Engine::new(checked.clone(), tables.clone()), JitEngine::new(checked, &tables).unwrap())
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), .. ProptestConfig::default() })]

    #[test]
    fn data_read_by_hand_matches_the_interpreter(seed in any::<u64>()) {
        let (interp, jit) = engines();
        let mut rng = Rng(seed);
        for n in 0..64u64 {
            let l = line(&mut rng);
            let mut want = String::new();
            interp.write_outcome(&interp.evaluate(n, &l), &mut want);
            let mut fast = String::new();
            jit.evaluate_json(n, &l, &mut fast);
            prop_assert_eq!(&want, &fast, "{}", l);
        }
    }
}

#[test]
fn the_generator_reaches_accepted_and_invalid_events() {
    let (interp, _) = engines();
    let mut rng = Rng(11);
    let statuses: Vec<_> = (0..2000).map(|n| interp.evaluate(n, &line(&mut rng)).status).collect();
    let accepted = statuses.iter().filter(|s| **s == canon_runtime::Status::Accepted).count();
    assert!(accepted > 200, "{accepted} accepted of 2000");
    assert!(accepted < 1900, "{accepted} accepted of 2000");
}

#[test]
fn edge_lines() {
    let (interp, jit) = engines();
    let data = r#""i":1,"d":"2.50","b":true,"t":"x","day":"2026-01-02","at":"2026-01-02T03:04:05Z","cur":"EUR","color":"Red","m":{"amount":"1","currency":"EUR"},"inner":{"code":"c"},"xs":[1]"#;
    let head = r#""specversion":"1.0","id":"e","source":"urn:s","type":"com.example.e""#;
    for l in [
        format!("{{{head},\"data\":{{{data}}}}}"),
        format!(" {{ {head} , \"data\" : {{ {data} }} }} "),
        format!("{{\"data\":{{{data}}},{head}}}"),
        format!("{{{head},\"data\":{{{data}}}}}  x"),
        format!("{{{head},\"data\":{{{data}}},\"data\":{{{data}}}}}"),
        format!("{{{head},\"ext\":\"v\",\"data\":{{{data}}}}}"),
        format!("{{{head},\"data\":{{{data},\"t\":\"long text over eight bytes \\\" quoted\"}}}}"),
        format!("{{{head},\"data\":{{{data}}}"),
        format!("{{{head},\"data\":{{{data}"),
        format!("{{{head},\"data\":{{{data},\"t\":\"0123456789abcdef\u{1}\"}}}}"),
        // Texts within the line's last eight bytes (read byte by byte).
        format!("{{{head},\"data\":{{{data},\"t\":\"\u{85}\"}}}}"),
        format!("{{{head},\"data\":{{{data},\"t\":\"\u{7f}\"}}}}"),
        format!("{{{head},\"data\":{{{data},\"t\":\"ok\"}}}}"),
        format!("{{{head},\"data\":{{{data}}},\"subject\":\"\u{2028}\"}}"),
    ] {
        let mut want = String::new();
        interp.write_outcome(&interp.evaluate(1, &l), &mut want);
        let mut fast = String::new();
        jit.evaluate_json(1, &l, &mut fast);
        assert_eq!(want, fast, "{l}");
    }
}
