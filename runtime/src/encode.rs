//! Writes values and outcomes as JSON (LANGUAGE.md §3, RUNTIME.md §2),
//! directed by the value's type: decimals as strings keeping their scale,
//! Money as `{"amount","currency"}`, enums by wire name, fields by wire name.

use canon_compiler::ir;
use canon_compiler::types::Ty;
use canon_stdlib::{num, time};

use crate::value::Value;

/// The bytes after which a string may need an escape: controls, `"`, `\`,
/// and the lead bytes of U+0085 (0xC2) and U+2028/U+2029 (0xE2).
fn needs_look(b: u8) -> bool {
    matches!(b, 0..=0x1f | b'"' | b'\\' | 0xC2 | 0xE2)
}

/// Whether any byte of `b` [`needs_look`], eight bytes at a time (most
/// strings written are plain ASCII and need no escape).
fn any_needs_look(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero iff the lane's high bit is set in `has_zero(x)`
    // (the classic test: exact for "is any lane zero").
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        // A control byte (< 0x20): its lane minus 0x20 borrows, the top bit set
        // where the lane had it clear. Bytes >= 0x80 are checked for 0xC2/0xE2 below.
        let controls = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
        let hit = controls
            | has_zero(x ^ (ONES * u64::from(b'"')))
            | has_zero(x ^ (ONES * u64::from(b'\\')))
            | has_zero(x ^ (ONES * 0xC2))
            | has_zero(x ^ (ONES * 0xE2));
        if hit != 0 {
            // The word tests can report a lane falsely after a borrow: decide exactly.
            if c.iter().any(|&b| needs_look(b)) {
                return true;
            }
        }
    }
    chunks.remainder().iter().any(|&b| needs_look(b))
}

/// Appends a JSON string literal.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    // U+0085, U+2028 and U+2029 are escaped too: some line readers split on them.
    if !any_needs_look(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends the JSON form of `v`, a value of type `ty`.
pub fn value(out: &mut String, pkg: &ir::Package, ty: &Ty, v: &Value) {
    match (v, ty) {
        (Value::None, _) => out.push_str("null"),
        (Value::Bool(b), _) => out.push_str(if *b { "true" } else { "false" }),
        (Value::Int(i), Ty::Decimal) | (Value::Int(i), Ty::Optional(_)) if ty.strip() == &Ty::Decimal => {
            out.push('"');
            out.push_str(itoa::Buffer::new().format(*i));
            out.push('"');
        }
        (Value::Int(i), _) => out.push_str(itoa::Buffer::new().format(*i)),
        (Value::Decimal(d), _) => {
            out.push('"');
            num::format(d, out);
            out.push('"');
        }
        (Value::Money(d, c), _) => {
            out.push_str("{\"amount\":\"");
            num::format(d, out);
            out.push_str("\",\"currency\":\"");
            out.push_str(c.as_str());
            out.push_str("\"}");
        }
        (Value::Currency(c), _) => {
            out.push('"');
            out.push_str(c.as_str());
            out.push('"');
        }
        (Value::Text(t), _) => json_str(out, t),
        (Value::Date(d), _) => {
            out.push('"');
            time::format_date(*d, out);
            out.push('"');
        }
        (Value::Timestamp(t), _) => {
            out.push('"');
            time::format_timestamp(*t, out);
            out.push('"');
        }
        (Value::Enum(i), t) => {
            let wire = match t.strip() {
                Ty::Enum(e) => pkg.enum_def(*e).and_then(|d| d.variants.get(*i as usize)).map(|v| v.wire.as_str()),
                _ => None,
            };
            json_str(out, wire.unwrap_or(""));
        }
        (Value::Record(fields), t) => {
            let def = match t.strip() {
                Ty::Record(r) => pkg.record(*r),
                _ => None,
            };
            out.push('{');
            if let Some(def) = def {
                for (i, (f, v)) in def.fields.iter().zip(fields.iter()).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json_str(out, &f.wire);
                    out.push(':');
                    value(out, pkg, &f.ty, v);
                }
            }
            out.push('}');
        }
        (Value::List(items), t) => {
            let elem = match t.strip() {
                Ty::List(e) => (**e).clone(),
                _ => Ty::Error,
            };
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(out, pkg, &elem, v);
            }
            out.push(']');
        }
    }
}

/// The text form used by string interpolation (LANGUAGE.md §2).
pub fn interpolate(out: &mut String, pkg: &ir::Package, ty: &Ty, v: &Value) {
    match v {
        Value::Text(t) => out.push_str(t),
        Value::Money(d, c) => canon_stdlib::money::format((*d, *c), out),
        Value::Decimal(d) => num::format(d, out),
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Currency(c) => out.push_str(c.as_str()),
        Value::Date(d) => time::format_date(*d, out),
        Value::Timestamp(t) => time::format_timestamp(*t, out),
        Value::Enum(i) => {
            if let Ty::Enum(e) = ty.strip() {
                if let Some(var) = pkg.enum_def(*e).and_then(|d| d.variants.get(*i as usize)) {
                    out.push_str(&var.wire);
                }
            }
        }
        Value::None => out.push_str("none"),
        Value::Record(_) | Value::List(_) => value(out, pkg, ty, v),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_word_test_finds_what_the_byte_test_finds() {
        // Every byte that needs a look, at every position of strings of
        // lengths around the word size, among bytes that do not.
        let looks: Vec<u8> = (0u8..=255).filter(|b| needs_look(*b)).collect();
        let plain = [b'a', b' ', b'~', 0x7f, 0x80, 0xC3, 0xE1, 0xFF, 0x21, 0x5B, 0x5D];
        for len in 0..20 {
            for fill in plain {
                let base = vec![fill; len];
                assert!(!any_needs_look(&base), "{base:?}");
                for at in 0..len {
                    for &b in &looks {
                        let mut s = base.clone();
                        s[at] = b;
                        assert!(any_needs_look(&s), "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn strings_are_escaped_as_before() {
        let mut out = String::new();
        json_str(&mut out, "plain text over eight bytes");
        json_str(&mut out, "a\"b\\c\n\u{1}\u{85}\u{2028}\u{2029}é\u{2030}x");
        assert_eq!(out, "\"plain text over eight bytes\"\"a\\\"b\\\\c\\n\\u0001\\u0085\\u2028\\u2029é\u{2030}x\"");
    }
}
