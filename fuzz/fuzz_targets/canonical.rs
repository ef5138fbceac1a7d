//! Fuzz target: the ledger's canonical JSON form (`canon_pipeline::canonical`).
//!
//! For every input serde_json accepts as JSON (any nesting depth):
//! - `canonical` is `Some`;
//! - the canonical form is UTF-8, JSON, and canonical itself (idempotent);
//! - it parses with serde_json to a value equal to the input's (where
//!   serde_json can represent the input as a `Value`);
//! - a variant of the input with other insignificant white space and other
//!   escapes of the same characters has the same canonical form, and the same
//!   `identity` (key and hash), for a valid and for an invalid envelope.
//!
//! With `CANON_FUZZ_STRICT=1`, also: `canonical` is `None` for what serde_json
//! rejects (its doc: "`None` when the text is not JSON").
#![no_main]
use std::sync::OnceLock;

use canon_pipeline::canonical::{canonical, identity, Scratch};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, IgnoredAny};

/// Deep nesting costs serde_json's (unlimited) recursion stack: inputs are
/// capped well below what the main thread's stack holds.
const MAX_LEN: usize = 8192;

fn serde_accepts(text: &str) -> bool {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    IgnoredAny::deserialize(&mut de).and_then(|_| de.end()).is_ok()
}

fn strict() -> bool {
    static S: OnceLock<bool> = OnceLock::new();
    *S.get_or_init(|| std::env::var("CANON_FUZZ_STRICT").is_ok_and(|v| v == "1"))
}

/// splitmix64, seeded from the input: the variant is a function of the input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ws(out: &mut String, rng: &mut Rng) {
    for _ in 0..rng.below(4).saturating_sub(1) {
        out.push([' ', '\t', '\n', '\r'][rng.below(4) as usize]);
    }
}

fn hex4(out: &mut String, u: u32, rng: &mut Rng) {
    let s = format!("{u:04x}");
    out.push_str("\\u");
    if rng.below(2) == 0 {
        out.push_str(&s);
    } else {
        out.push_str(&s.to_uppercase());
    }
}

/// One unit of a JSON string: a character, or a lone surrogate escape.
enum Unit {
    Char(char),
    Lone(u32),
}

fn hex_at(b: &[u8], at: usize) -> u32 {
    std::str::from_utf8(&b[at..at + 4]).ok().and_then(|h| u32::from_str_radix(h, 16).ok()).expect("valid JSON has 4 hex digits")
}

/// The units of the string literal `b[start..]` (valid JSON), and the index after it.
fn string_units(b: &[u8], start: usize) -> (Vec<Unit>, usize) {
    let s = std::str::from_utf8(b).expect("a str");
    let mut i = start + 1;
    let mut units = Vec::new();
    loop {
        match b[i] {
            b'"' => return (units, i + 1),
            b'\\' => {
                let e = b[i + 1];
                i += 2;
                let c = match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let u = hex_at(b, i);
                        i += 4;
                        if (0xD800..0xDC00).contains(&u) && b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                            let lo = hex_at(b, i + 2);
                            if (0xDC00..0xE000).contains(&lo) {
                                i += 6;
                                units.push(Unit::Char(char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)).expect("a pair")));
                                continue;
                            }
                        }
                        match char::from_u32(u) {
                            Some(c) => c,
                            None => {
                                units.push(Unit::Lone(u));
                                continue;
                            }
                        }
                    }
                    _ => unreachable!("valid JSON"),
                };
                units.push(Unit::Char(c));
            }
            _ => {
                let c = s[i..].chars().next().expect("a char");
                units.push(Unit::Char(c));
                i += c.len_utf8();
            }
        }
    }
}

fn emit_string(out: &mut String, units: &[Unit], rng: &mut Rng) {
    out.push('"');
    for u in units {
        match *u {
            Unit::Lone(u) => hex4(out, u, rng),
            Unit::Char(c) => {
                let short = match c {
                    '"' => Some("\\\""),
                    '\\' => Some("\\\\"),
                    '/' => Some("\\/"),
                    '\u{8}' => Some("\\b"),
                    '\u{c}' => Some("\\f"),
                    '\n' => Some("\\n"),
                    '\r' => Some("\\r"),
                    '\t' => Some("\\t"),
                    _ => None,
                };
                let literal_ok = c >= ' ' && c != '"' && c != '\\';
                match (rng.below(3), short) {
                    (0, Some(s)) => out.push_str(s),
                    (1, _) | (_, None) if literal_ok && rng.below(4) != 0 => out.push(c),
                    _ => {
                        let mut buf = [0u16; 2];
                        for u in c.encode_utf16(&mut buf) {
                            hex4(out, u32::from(*u), rng);
                        }
                    }
                }
            }
        }
    }
    out.push('"');
}

/// `text` (valid JSON) with other white space between tokens and other
/// escapes of the same characters; numbers and literals as written.
fn variant(text: &str, rng: &mut Rng) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    ws(&mut out, rng);
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'"' => {
                let (units, end) = string_units(b, i);
                emit_string(&mut out, &units, rng);
                i = end;
            }
            c @ (b'{' | b'}' | b'[' | b']' | b':' | b',') => {
                ws(&mut out, rng);
                out.push(char::from(c));
                ws(&mut out, rng);
                i += 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'{' | b'}' | b'[' | b']' | b':' | b',') {
                    i += 1;
                }
                out.push_str(&text[start..i]);
            }
        }
    }
    ws(&mut out, rng);
    out
}

fuzz_target!(|bytes: &[u8]| {
    if bytes.len() > MAX_LEN {
        return;
    }
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let canon = canonical(text);
    if !serde_accepts(text) {
        if strict() {
            assert!(canon.is_none(), "canonical accepts what serde_json rejects: {text:?}");
        }
        return;
    }
    let canon = canon.unwrap_or_else(|| panic!("serde_json accepts but canonical is None: {text:?}"));
    let ctext = std::str::from_utf8(&canon).unwrap_or_else(|e| panic!("canonical form is not UTF-8 ({e}): {text:?}"));
    assert!(serde_accepts(ctext), "canonical form {ctext:?} is not JSON, of {text:?}");
    assert_eq!(canonical(ctext).as_deref(), Some(&canon[..]), "canonical form of {text:?} is not canonical");
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let cv: serde_json::Value = serde_json::from_str(ctext).unwrap_or_else(|e| panic!("canonical form {ctext:?} of {text:?}: {e}"));
        assert_eq!(v, cv, "canonical form {ctext:?} is another value than {text:?}");
    }

    let mut seed = 0xCBF2_9CE4_8422_2325u64;
    for b in bytes {
        seed = (seed ^ u64::from(*b)).wrapping_mul(0x100_0000_01B3);
    }
    let mut rng = Rng(seed);
    let other = variant(text, &mut rng);
    assert!(serde_accepts(&other), "fuzz target bug: variant {other:?} of {text:?} is not JSON");
    assert_eq!(canonical(&other).as_deref(), Some(&canon[..]), "variant {other:?} of {text:?} has another canonical form");
    let mut scratch = Scratch::default();
    for valid in [true, false] {
        let a = identity(text, valid, &mut scratch);
        let b = identity(&other, valid, &mut scratch);
        assert_eq!(a, b, "identity (valid: {valid}) differs between {text:?} and its variant {other:?}");
        let c = identity(ctext, valid, &mut scratch);
        assert_eq!(a, c, "identity (valid: {valid}) differs between {text:?} and its canonical form {ctext:?}");
    }
});
