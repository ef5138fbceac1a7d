//! The hand-written reader of the common input line, in front of the serde
//! decoder of `native.rs`: one pass over the bytes, directed by the event's
//! schema, with no intermediate strings (text borrowed from the line,
//! numbers and decimals parsed from their bytes, a record's keys tried in
//! the schema's order first).
//!
//! It only accepts what it reads exactly as `native::decode_event`'s serde
//! path does, with the same cells: strings without escapes, numbers without
//! exponents, no extension attributes, no unknown or repeated keys in
//! `data`, `type` before `data`. Anything else is `None` and the serde path
//! reads the line (and gives it to the shared decoder when it too says no),
//! so an unusual line costs a second pass, never a different answer.

use std::borrow::Cow;

use bumpalo::Bump;
use canon_compiler::ir;
use canon_compiler::types::Ty;
use canon_runtime::encode::Names;
use canon_runtime::envelope;
use canon_stdlib::{num, time, Currency};

use crate::cell::Cell;
use crate::native::{checked, Event, DATA};

/// The string scan's sixteen-byte step.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
    };

    /// Of the sixteen bytes of `w`, a bit per lane: the lanes that end a
    /// plain string's scan (`"`, `\`, a control character below 0x20), and
    /// the lanes that are not plain ASCII (0x7F or above).
    #[target_feature(enable = "sse2")]
    pub(super) fn stops(w: &[u8]) -> (u32, u32) {
        let word = |i: usize| {
            let mut a = [0u8; 8];
            if let Some(b) = w.get(i..i + 8) {
                a.copy_from_slice(b);
            }
            i64::from_le_bytes(a)
        };
        let x: __m128i = _mm_set_epi64x(word(8), word(0));
        let eq = |b: u8| _mm_cmpeq_epi8(x, _mm_set1_epi8(b as i8));
        // A lane is at least 0x20 when the unsigned maximum of it and 0x20 is itself.
        let printable = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x20)), x)) as u32;
        let stop = _mm_movemask_epi8(_mm_or_si128(eq(b'"'), eq(b'\\'))) as u32 | (!printable & 0xFFFF);
        let wide = _mm_movemask_epi8(x) as u32 | _mm_movemask_epi8(eq(0x7F)) as u32;
        (stop, wide)
    }
}

/// A position in a line.
struct Scan<'l> {
    line: &'l str,
    at: usize,
}

impl<'l> Scan<'l> {
    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.at).copied()
    }

    /// Skips JSON white space.
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// White space, then `b`.
    fn eat(&mut self, b: u8) -> Option<()> {
        self.ws();
        if self.peek()? != b {
            return None;
        }
        self.at += 1;
        Some(())
    }

    /// `word` right here.
    fn lit(&mut self, word: &[u8]) -> bool {
        let end = self.at + word.len();
        if self.line.as_bytes().get(self.at..end).is_some_and(|here| same(here, word)) {
            self.at = end;
            true
        } else {
            false
        }
    }

    /// White space, then a string without escapes: its text (borrowed).
    /// A control character is invalid JSON, an escape is the serde path's.
    fn string(&mut self) -> Option<&'l str> {
        self.string_plain().map(|(t, _)| t)
    }

    /// [`Self::string`], and whether its text is plain
    /// (`canon_runtime::encode::is_plain`: every byte printable ASCII; `"`
    /// and `\\` cannot be in it). `false` may also mean "not known".
    fn string_plain(&mut self) -> Option<(&'l str, bool)> {
        self.eat(b'"')?;
        let bytes = self.line.as_bytes();
        let start = self.at;
        let mut end = start;
        // Eight bytes at a time: the first quote, backslash or control
        // character of a word is its lowest flagged lane (the word tests can
        // flag a lane falsely only above a true one).
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
        // Lanes of 0x7F or above: the top bit, or 0x7F itself (flagged
        // falsely only above a true lane, so never plainer than it is).
        let not_plain = |x: u64| (x | has_zero(x ^ (ONES * 0x7f))) & HIGHS;
        let mut odd = 0u64;
        // Sixteen bytes at a time where SSE2 is (every x86-64): most strings
        // of an event end in their first window (the line goes on after
        // them), where the words below take two or three rounds.
        #[cfg(target_arch = "x86_64")]
        while let Some(w) = bytes.get(end..end + 16) {
            // SAFETY: SSE2 is part of every x86-64 processor (the target's
            // baseline), so the function's feature is there.
            let (stop, wide) = unsafe { sse2::stops(w) };
            if stop != 0 {
                let lane = stop.trailing_zeros();
                end += lane as usize;
                if *bytes.get(end)? != b'"' {
                    return None;
                }
                let before = (1u32 << lane).wrapping_sub(1);
                self.at = end + 1;
                return Some((self.line.get(start..end)?, (odd as u32 | (wide & before)) == 0));
            }
            odd |= u64::from(wide);
            end += 16;
        }
        while let Some(w) = bytes.get(end..end + 8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            let x = u64::from_le_bytes(a);
            let hit = (x.wrapping_sub(ONES * 0x20) & !x & HIGHS)
                | has_zero(x ^ (ONES * u64::from(b'"')))
                | has_zero(x ^ (ONES * u64::from(b'\\')));
            if hit != 0 {
                let lane = hit.trailing_zeros() / 8;
                end += lane as usize;
                if *bytes.get(end)? != b'"' {
                    return None;
                }
                // The lanes before the quote (none when it is the first).
                odd |= not_plain(x) & (1u64 << (lane * 8)).wrapping_sub(1);
                self.at = end + 1;
                return Some((self.line.get(start..end)?, odd == 0));
            }
            odd |= not_plain(x);
            end += 8;
        }
        loop {
            match *bytes.get(end)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                b => {
                    odd |= u64::from(b >= 0x7f);
                    end += 1;
                }
            }
        }
        self.at = end + 1;
        // Both ends are at ASCII quotes: character boundaries.
        Some((self.line.get(start..end)?, odd == 0))
    }

    /// White space, then `quoted` (a JSON string, or a JSON string and its
    /// colon) exactly, read past; `false`, and nothing read, when the line
    /// has something else there. A string written with the same bytes is
    /// the same string, so this never reads a key differently from
    /// [`Self::string`]; one written otherwise goes that longer way.
    fn quoted(&mut self, quoted: &str) -> bool {
        self.ws();
        self.lit(quoted.as_bytes())
    }

    /// A JSON number without exponent: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`.
    fn number(&mut self) -> Option<&'l str> {
        let bytes = self.line.as_bytes();
        let start = self.at;
        let mut i = start;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let from = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - from
        };
        let first = i;
        let n = digits(&mut i);
        if n == 0 || (n > 1 && bytes.get(first) == Some(&b'0')) {
            return None;
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                return None;
            }
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            return None;
        }
        self.at = i;
        self.line.get(start..i)
    }

    /// After a member or element: `true` after a `,`, `false` after `close`.
    fn more(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.at += 1;
                Some(true)
            }
            b if b == close => {
                self.at += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// `{` and whether the object is empty (its `}` read).
    fn open(&mut self, open: u8, close: u8) -> Option<bool> {
        self.eat(open)?;
        self.ws();
        if self.peek()? == close {
            self.at += 1;
            return Some(true);
        }
        Some(false)
    }
}

/// `a == b` for two slices of one length, eight bytes at a time: keys and
/// wire names are short, and a call of `memcmp` costs more than comparing them.
fn same(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], i: usize| {
        let mut w = [0u8; 8];
        if let Some(x) = s.get(i..i + 8) {
            w.copy_from_slice(x);
        }
        u64::from_le_bytes(w)
    };
    let n = b.len();
    if a.len() != n {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 <= n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    // The last eight bytes, overlapping words already compared.
    i == n || word(a, n - 8) == word(b, n - 8)
}

/// What values are read into.
struct Reader<'a> {
    pkg: &'a ir::Package,
    arena: &'a Bump,
    /// Records' keys and enums' variants as JSON, escaped once.
    names: &'a Names,
}

impl Reader<'_> {
    /// A value of type `ty`, as `native::Seed` reads it.
    fn value(&self, s: &mut Scan<'_>, ty: &Ty) -> Option<Cell> {
        s.ws();
        if s.peek()? == b'n' {
            return (s.lit(b"null") && ty.is_optional()).then(Cell::none);
        }
        match ty.strip() {
            Ty::Int => {
                let t = s.number()?;
                if t.contains('.') {
                    return None;
                }
                t.parse().ok().map(Cell::from_i64)
            }
            Ty::Decimal => {
                let t = if s.peek()? == b'"' { s.string()? } else { s.number()? };
                num::parse(t).map(Cell::from_decimal)
            }
            Ty::Bool => {
                if s.lit(b"true") {
                    Some(Cell::from_bool(true))
                } else if s.lit(b"false") {
                    Some(Cell::from_bool(false))
                } else {
                    None
                }
            }
            Ty::Text => s.string_plain().map(|(t, plain)| Cell::from_text(t, plain)),
            Ty::Date => time::parse_date(s.string()?).map(|d| Cell::from_u32(d.0 as u32)),
            Ty::Timestamp => time::parse_timestamp(s.string()?).map(|t| Cell::from_i64(t.0)),
            Ty::Currency => Currency::parse(s.string()?).map(Cell::from_currency),
            Ty::Enum(e) => {
                // A variant's wire name as written when the package was
                // built; any other spelling by its text.
                s.ws();
                if let Some(i) = self.names.variants(*e).iter().position(|v| s.quoted(v)) {
                    return Some(Cell::from_u32(i as u32));
                }
                let t = s.string()?;
                self.pkg.enum_def(*e).and_then(|d| d.variant_by_wire(t)).map(Cell::from_u32)
            }
            Ty::Money => {
                let (mut amount, mut currency) = (None, None);
                if !s.open(b'{', b'}')? {
                    loop {
                        let k = s.string()?;
                        s.eat(b':')?;
                        s.ws();
                        match k {
                            "amount" if amount.is_none() => {
                                let t = if s.peek()? == b'"' { s.string()? } else { s.number()? };
                                amount = Some(num::parse(t)?);
                            }
                            "currency" if currency.is_none() => currency = Some(Currency::parse(s.string()?)?),
                            _ => return None,
                        }
                        if !s.more(b'}')? {
                            break;
                        }
                    }
                }
                Some(Cell::from_money(amount?, currency?))
            }
            Ty::Record(r) => self.record(s, self.pkg.record(*r)?, self.names.fields(*r)),
            Ty::List(elem) => {
                let mut items: Vec<Cell> = Vec::new();
                if !s.open(b'[', b']')? {
                    loop {
                        items.push(self.value(s, elem)?);
                        if !s.more(b']')? {
                            break;
                        }
                    }
                }
                let cells = self.arena.alloc_slice_copy(&items);
                Some(Cell::from_parts(cells.as_ptr() as usize, cells.len()))
            }
            _ => None,
        }
    }

    /// A record: its keys tried in the schema's order first, each at most
    /// once, none unknown; every field not optional present.
    /// `keys`: each field's `{"wire":` or `,"wire":` (`Names::fields`).
    fn record(&self, s: &mut Scan<'_>, def: &ir::RecordDef, keys: &[Box<str>]) -> Option<Cell> {
        if def.fields.len() > 64 {
            return None;
        }
        let cells = self.arena.alloc_slice_fill_default::<Cell>(def.fields.len());
        let mut seen = 0u64;
        if !s.open(b'{', b'}')? {
            let mut next = 0usize;
            loop {
                // The next field's `"wire":` as written when the package was
                // built, the common case; else the key read and looked up.
                let expected = keys.get(next).and_then(|k| k.get(1..));
                let i = if expected.is_some_and(|k| s.quoted(k)) {
                    next
                } else {
                    let k = s.string()?;
                    let i = match def.fields.get(next) {
                        Some(f) if f.wire == k => next,
                        _ => def.field_by_wire(k)? as usize,
                    };
                    s.eat(b':')?;
                    i
                };
                if seen & (1 << i) != 0 {
                    return None;
                }
                seen |= 1 << i;
                let f = def.fields.get(i)?;
                *cells.get_mut(i)? = self.value(s, &f.ty)?;
                next = i + 1;
                if !s.more(b'}')? {
                    break;
                }
            }
        }
        for (i, f) in def.fields.iter().enumerate() {
            if seen & (1 << i) == 0 && !f.ty.is_optional() {
                return None;
            }
        }
        Some(Cell::from_parts(cells.as_ptr() as usize, 0))
    }
}

/// Each member of [`member`]'s numbering as `"name":`.
const MEMBER_KEYS: [&str; DATA + 1] = [
    "\"specversion\":",
    "\"id\":",
    "\"source\":",
    "\"type\":",
    "\"time\":",
    "\"subject\":",
    "\"datacontenttype\":",
    "\"correlationid\":",
    "\"idempotencykey\":",
    "\"data\":",
];

/// The envelope member named `k` (extension attributes are the serde path's).
fn member(k: &str) -> Option<usize> {
    Some(match k {
        "specversion" => 0,
        "id" => 1,
        "source" => 2,
        "type" => 3,
        "time" => 4,
        "subject" => 5,
        "datacontenttype" => 6,
        "correlationid" => 7,
        "idempotencykey" => 8,
        "data" => DATA,
        _ => return None,
    })
}

/// The line as `native::decode_event` reads it, or `None` (see the module).
pub fn decode_event<'l>(pkg: &ir::Package, names: &Names, arena: &Bump, line: &'l str) -> Option<Event<'l>> {
    let mut s = Scan { line, at: 0 };
    let into = Reader { pkg, arena, names };
    let mut attrs: [Option<Cow<'l, str>>; DATA] = Default::default();
    let mut seen = 0u16;
    let mut plain = 0u16;
    let mut data = None;
    if s.open(b'{', b'}')? {
        return None;
    }
    let mut last = None;
    loop {
        // The members after the last one read, in the order CloudEvents
        // lists them (the common order of a line) as written; else the
        // key read and named.
        let from = last.map_or(0, |k: usize| k + 1);
        let k = match MEMBER_KEYS.get(from..).and_then(|keys| keys.iter().position(|q| s.quoted(q))) {
            Some(i) => from + i,
            None => {
                let k = member(s.string()?)?;
                s.eat(b':')?;
                k
            }
        };
        last = Some(k);
        if seen & (1 << k) != 0 {
            return None;
        }
        seen |= 1 << k;
        if k == DATA {
            let t = attrs.get(3)?.as_deref()?;
            let hi = *pkg.handler_by_type.get(t)?;
            let h = pkg.handlers.get(hi)?;
            data = Some((hi, into.record(&mut s, pkg.record(h.event)?, names.fields(h.event))?));
        } else {
            s.ws();
            let v = if s.lit(b"null") { None } else { Some(s.string_plain()?) };
            // `specversion` (0) and `time` (4) are compared and parsed: no
            // need; a plain text is a valid CloudEvents string.
            if k != 0 && k != 4 && v.is_some_and(|(v, p)| !p && envelope::check_string(v).is_err()) {
                return None;
            }
            if v.is_some_and(|(_, p)| p) {
                plain |= 1 << k;
            }
            *attrs.get_mut(k)? = v.map(|(v, _)| Cow::Borrowed(v));
        }
        if !s.more(b'}')? {
            break;
        }
    }
    s.ws();
    if s.at != line.len() {
        return None;
    }
    let mut ev = checked(attrs)?;
    (ev.handler, ev.data) = data?;
    ev.plain = plain;
    Some(ev)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::Scan;
    use proptest::prelude::*;

    /// `string_plain` as the grammar says, a byte at a time.
    fn reference(line: &str, at: usize) -> Option<(&str, bool)> {
        let bytes = line.as_bytes();
        let mut i = at;
        while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let start = i + 1;
        let mut end = start;
        let mut plain = true;
        loop {
            match *bytes.get(end)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                b => plain &= b < 0x7f,
            }
            end += 1;
        }
        Some((&line[start..end], plain))
    }

    proptest! {
        /// Every stop (quote, backslash, control character) and every
        /// byte that is not plain, at every place of the sixteen- and
        /// eight-byte windows and the last bytes of a line, read as the
        /// byte-at-a-time reading reads them, and the fast path taken.
        #[test]
        fn strings_are_read_as_byte_by_byte(
            before in 0usize..3,
            text in proptest::collection::vec(
                prop_oneof![
                    8 => proptest::sample::select(vec!['a', 'Z', '0', ' ', '-', ':']),
                    1 => proptest::sample::select(vec!['"', '\\', '\u{1}', '\u{1f}', '\u{7f}', 'é', '\u{2028}']),
                ],
                0..40,
            ),
            after in "[a-z\"}, ]{0,20}",
        ) {
            let text: String = text.into_iter().collect();
            let line = format!("{}\"{text}\"{after}", " ".repeat(before));
            let mut scan = Scan { line: &line, at: 0 };
            let got = scan.string_plain();
            let want = reference(&line, 0);
            prop_assert_eq!(got, want);
            if let Some((t, _)) = want {
                prop_assert_eq!(scan.at, before + 2 + t.len());
            }
        }
    }

    #[test]
    fn a_stop_in_the_upper_half_of_a_window_is_found_there() {
        // The closing quote at each of the sixteen lanes, the line going on after it.
        for n in 0..20 {
            let text = "x".repeat(n);
            let line = format!("\"{text}\",\"rest of the line\"");
            let mut scan = Scan { line: &line, at: 0 };
            assert_eq!(scan.string_plain(), Some((text.as_str(), true)), "{n}");
        }
    }
}
