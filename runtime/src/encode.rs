//! Writes values and outcomes as JSON (LANGUAGE.md §3, RUNTIME.md §2),
//! directed by the value's type: decimals as strings keeping their scale,
//! Money as `{"amount","currency"}`, enums by wire name, fields by wire name.

use canon_compiler::ir;
use canon_compiler::types::{EnumId, RecordId, Ty};
use canon_stdlib::{num, time};

use crate::value::Value;

/// The bytes after which a string may need an escape: controls, `"`, `\\`,
/// and the lead bytes of U+0085 (0xC2) and U+2028/U+2029 (0xE2).
const fn needs_look(b: u8) -> bool {
    matches!(b, 0..=0x1f | b'"' | b'\\' | 0xC2 | 0xE2)
}

/// [`needs_look`] of every byte, a table.
#[allow(clippy::indexing_slicing)] // evaluated when compiling: an index out of range fails the build
static LOOK: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = needs_look(i as u8);
        i += 1;
    }
    t
};

fn look(b: u8) -> bool {
    LOOK.get(usize::from(b)).copied().unwrap_or(true)
}

/// Whether any byte of `b` [`needs_look`], eight bytes at a time (most
/// strings written are plain ASCII and need no escape); a string shorter
/// than a word byte by byte through the table.
fn any_needs_look(b: &[u8]) -> bool {
    if b.len() < 8 {
        return b.iter().any(|&x| look(x));
    }
    let mut chunks = b.chunks_exact(8);
    if chunks.by_ref().any(word_needs_look) {
        return true;
    }
    // The last eight bytes, overlapping words already tested: an answer
    // for any byte, so testing one twice changes nothing.
    !chunks.remainder().is_empty() && b.get(b.len() - 8..).is_some_and(word_needs_look)
}

/// [`any_needs_look`] of eight bytes.
fn word_needs_look(c: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut w = [0u8; 8];
    w.copy_from_slice(c);
    let x = u64::from_le_bytes(w);
    if x & HIGHS != 0 {
        // A byte of U+0080 or above: decide byte by byte (0xC2, 0xE2).
        return c.iter().any(|&b| look(b));
    }
    // Every lane below 0x80, where these tests are exact for "is there a
    // lane": below 0x20 (a lane minus 0x20 borrows, its top bit set where
    // the lane had it clear), equal to `"`, equal to `\\` (zero after xor).
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGHS;
    (below(x, 0x20) | below(x ^ (ONES * u64::from(b'"')), 1) | below(x ^ (ONES * u64::from(b'\\')), 1)) != 0
}

/// Whether every byte of `s` is printable ASCII (0x20 to 0x7E) other than
/// `"` and `\\`: a *plain* text, written as JSON between two quotes as it
/// is, and a valid CloudEvents string. Readers that already looked at every
/// byte (`canon-jit`'s line scanner) carry the answer with the text, so the
/// writer need not look again ([`json_plain`]).
pub fn is_plain(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, 0x20..=0x7e) && b != b'"' && b != b'\\')
}

/// Appends a [plain](is_plain) text as a JSON string literal: the same
/// bytes [`json_str`] writes for it, without looking at them.
pub fn json_plain(out: &mut String, s: &str) {
    debug_assert!(is_plain(s), "json_plain of a text that needs a look: {s:?}");
    out.reserve(s.len() + 2);
    out.push('"');
    push_short(out, s);
    out.push('"');
}

/// `out.push_str(s)`, but a text of at most 16 bytes is copied by a few
/// fixed-size moves rather than a call of `memcpy`: most of what an outcome
/// line holds (keys, ids, codes, digits) is that short, and the call, its
/// size dispatch and its branch mispredictions cost more than the copy.
#[inline]
pub fn push_short(out: &mut String, s: &str) {
    let n = s.len();
    if n > 16 {
        out.push_str(s);
        return;
    }
    out.reserve(16);
    let src = s.as_ptr();
    // SAFETY: `reserve(16)` leaves at least 16 bytes of capacity after the
    // length; every write is within `len..len + n` (n <= 16) and reads
    // within `s`; `set_len` then covers exactly the `n` bytes copied from
    // `s`, valid UTF-8 appended after valid UTF-8.
    unsafe {
        let v = out.as_mut_vec();
        let len = v.len();
        let dst = v.as_mut_ptr().add(len);
        if n >= 8 {
            let (head, tail) = (src.cast::<u64>().read_unaligned(), src.add(n - 8).cast::<u64>().read_unaligned());
            dst.cast::<u64>().write_unaligned(head);
            dst.add(n - 8).cast::<u64>().write_unaligned(tail);
        } else if n >= 4 {
            let (head, tail) = (src.cast::<u32>().read_unaligned(), src.add(n - 4).cast::<u32>().read_unaligned());
            dst.cast::<u32>().write_unaligned(head);
            dst.add(n - 4).cast::<u32>().write_unaligned(tail);
        } else if n > 0 {
            // 1 to 3 bytes: the first, the middle and the last.
            *dst = *src;
            *dst.add(n / 2) = *src.add(n / 2);
            *dst.add(n - 1) = *src.add(n - 1);
        }
        v.set_len(len + n);
    }
}

/// Appends a JSON string literal.
pub fn json_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    json_escaped(out, s);
    out.push('"');
}

/// Appends `s` as it is written between the quotes of a JSON string literal.
pub fn json_escaped(out: &mut String, s: &str) {
    // U+0085, U+2028 and U+2029 are escaped too: some line readers split on them.
    if !any_needs_look(s.as_bytes()) {
        out.push_str(s);
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
}

/// The JSON texts of a package's names, escaped once when an engine is
/// built rather than at every write: record fields' keys with their
/// separators, enum variants' wire names, destinations' heads.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// By record: each field's `"wire":`, preceded by `{` for the first and
    /// by `,` for the others.
    fields: Vec<Box<[Box<str>]>>,
    /// By enum: each variant's wire name as a JSON string.
    variants: Vec<Box<[Box<str>]>>,
    /// By destination: `{"destination":"name","record":`.
    destinations: Vec<Box<str>>,
}

impl Names {
    pub fn new(pkg: &ir::Package) -> Names {
        let quoted = |s: &str| {
            let mut out = String::with_capacity(s.len() + 2);
            json_str(&mut out, s);
            out
        };
        let fields = pkg
            .records
            .iter()
            .map(|r| {
                r.fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let mut k = String::from(if i == 0 { "{" } else { "," });
                        k.push_str(&quoted(&f.wire));
                        k.push(':');
                        k.into_boxed_str()
                    })
                    .collect()
            })
            .collect();
        let variants =
            pkg.enums.iter().map(|e| e.variants.iter().map(|v| quoted(&v.wire).into_boxed_str()).collect()).collect();
        let destinations = pkg
            .destinations
            .iter()
            .map(|d| {
                let mut h = String::from("{\"destination\":");
                h.push_str(&quoted(&d.name));
                h.push_str(",\"record\":");
                h.into_boxed_str()
            })
            .collect();
        Names { fields, variants, destinations }
    }

    /// The keys of record `r`'s fields, in order, each with what precedes it
    /// (`{` or `,`); empty for a record without fields (written `{}`).
    pub fn fields(&self, r: RecordId) -> &[Box<str>] {
        self.fields.get(r.0 as usize).map(|f| &f[..]).unwrap_or(&[])
    }

    /// Every variant of enum `e` as a JSON string, in order.
    pub fn variants(&self, e: EnumId) -> &[Box<str>] {
        self.variants.get(e.0 as usize).map(|v| &v[..]).unwrap_or(&[])
    }

    /// Variant `i` of enum `e` as a JSON string (`""` when there is none, as
    /// [`value`] writes it).
    pub fn variant(&self, e: EnumId, i: u32) -> &str {
        self.variants.get(e.0 as usize).and_then(|v| v.get(i as usize)).map(|v| &**v).unwrap_or("\"\"")
    }

    /// `{"destination":"name","record":` of destination `d` (an unknown one
    /// has the empty name, as [`crate::engine::write_outcome`] writes it).
    pub fn destination(&self, d: ir::DestId) -> &str {
        self.destinations.get(d.0 as usize).map(|d| &**d).unwrap_or("{\"destination\":\"\",\"record\":")
    }
}

/// Appends the JSON form of `v`, a value of type `ty`.
pub fn value(out: &mut String, pkg: &ir::Package, ty: &Ty, v: &Value) {
    value_to(out, pkg, None, ty, v)
}

/// [`value`], the keys of records and the wire names of enums taken from
/// `names` (escaped once) rather than escaped at each write: the same text.
pub fn value_named(out: &mut String, pkg: &ir::Package, names: &Names, ty: &Ty, v: &Value) {
    value_to(out, pkg, Some(names), ty, v)
}

/// Where [`value_to`] writes a value's JSON text: as text (`String`), or as
/// its structure and its scalar values apart (the pipeline's packer, which
/// stores them apart).
pub trait JsonOut {
    /// Text of the structure: punctuation, `null`, `true`, `false`, keys.
    fn structure(&mut self, s: &str);
    /// A record's key `wire` as a JSON string (the `:` follows as structure).
    fn key(&mut self, wire: &str);
    /// A string value: `write` appends what goes between its quotes, escaped.
    fn string(&mut self, write: impl FnOnce(&mut String));
    /// A number value: `write` appends its text.
    fn number(&mut self, write: impl FnOnce(&mut String));
}

impl JsonOut for String {
    fn structure(&mut self, s: &str) {
        self.push_str(s);
    }
    fn key(&mut self, wire: &str) {
        json_str(self, wire);
    }
    fn string(&mut self, write: impl FnOnce(&mut String)) {
        self.push('"');
        write(self);
        self.push('"');
    }
    fn number(&mut self, write: impl FnOnce(&mut String)) {
        write(self);
    }
}

/// [`value`] (`names`: [`value_named`]) into any [`JsonOut`].
pub fn value_to<O: JsonOut>(out: &mut O, pkg: &ir::Package, names: Option<&Names>, ty: &Ty, v: &Value) {
    match (v, ty) {
        (Value::None, _) => out.structure("null"),
        (Value::Bool(b), _) => out.structure(if *b { "true" } else { "false" }),
        (Value::Int(i), Ty::Decimal) | (Value::Int(i), Ty::Optional(_)) if ty.strip() == &Ty::Decimal => {
            out.string(|t| t.push_str(itoa::Buffer::new().format(*i)))
        }
        (Value::Int(i), _) => out.number(|t| t.push_str(itoa::Buffer::new().format(*i))),
        (Value::Decimal(d), _) => out.string(|t| num::format(d, t)),
        (Value::Money(d, c), _) => {
            out.structure("{\"amount\":");
            out.string(|t| num::format(d, t));
            out.structure(",\"currency\":");
            out.string(|t| c.push_to(t));
            out.structure("}");
        }
        (Value::Currency(c), _) => out.string(|t| c.push_to(t)),
        (Value::Text(s), _) => out.string(|t| json_escaped(t, s)),
        (Value::Date(d), _) => out.string(|t| time::format_date(*d, t)),
        (Value::Timestamp(x), _) => out.string(|t| time::format_timestamp(*x, t)),
        (Value::Enum(i), t) => {
            let e = match t.strip() {
                Ty::Enum(e) => Some(*e),
                _ => None,
            };
            match (names, e) {
                // The variant as a JSON string, escaped once: what lies between its quotes.
                (Some(names), Some(e)) => {
                    let q = names.variant(e, *i);
                    out.string(|t| t.push_str(q.strip_prefix('"').and_then(|q| q.strip_suffix('"')).unwrap_or("")))
                }
                _ => {
                    let wire = e.and_then(|e| pkg.enum_def(e)).and_then(|d| d.variants.get(*i as usize));
                    out.string(|t| json_escaped(t, wire.map(|v| v.wire.as_str()).unwrap_or("")));
                }
            }
        }
        (Value::Record(fields), t) => {
            let (def, keys) = match t.strip() {
                Ty::Record(r) => (pkg.record(*r), names.map(|n| n.fields(*r))),
                _ => (None, None),
            };
            match def {
                Some(def) => {
                    let keys = keys.filter(|k| k.len() == def.fields.len());
                    for (i, (f, v)) in def.fields.iter().zip(fields.iter()).enumerate() {
                        match keys.and_then(|k| k.get(i)) {
                            Some(key) => out.structure(key),
                            None => {
                                out.structure(if i > 0 { "," } else { "{" });
                                out.key(&f.wire);
                                out.structure(":");
                            }
                        }
                        value_to(out, pkg, names, &f.ty, v);
                    }
                    if def.fields.is_empty() || fields.is_empty() {
                        out.structure("{");
                    }
                }
                None => out.structure("{"),
            }
            out.structure("}");
        }
        (Value::List(items), t) => {
            let elem = match t.strip() {
                Ty::List(e) => &**e,
                _ => &Ty::Error,
            };
            out.structure("[");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.structure(",");
                }
                value_to(out, pkg, names, elem, v);
            }
            out.structure("]");
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
    fn plain_texts_are_written_as_json_str_writes_them() {
        for b in 0u8..=0x7f {
            let s = format!("ab{}cd", b as char);
            let (mut a, mut p) = (String::new(), String::new());
            json_str(&mut a, &s);
            assert_eq!(is_plain(&s), matches!(b, 0x20..=0x7e) && b != b'"' && b != b'\\', "{b:#x}");
            if is_plain(&s) {
                json_plain(&mut p, &s);
                assert_eq!(a, p);
            }
        }
        assert!(!is_plain("caf\u{e9}") && !is_plain("\u{2028}") && is_plain(""));
    }

    #[test]
    fn short_pushes_append_what_push_str_appends() {
        let text = "0123456789abcdefghijé😀xyz";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let Some(s) = text.get(start..end) else { continue };
                for prefix in ["", "a", "0123456789abcdef0"] {
                    let (mut a, mut b) = (String::from(prefix), String::from(prefix));
                    a.push_str(s);
                    push_short(&mut b, s);
                    assert_eq!(a, b, "{s:?} after {prefix:?}");
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
