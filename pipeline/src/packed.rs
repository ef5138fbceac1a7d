//! The compact form of what the state stores as JSON (schema 7): records
//! (of state, and in a trace's `write` steps) and traces.
//!
//! A JSON text is split into its *shape* — the text with each value that is
//! a string or a number replaced by a placeholder (`"\u{1}"`, `\u{1}`): the
//! field names, the punctuation, `true`, `false` and `null` — and its
//! *scalars*, those values' texts in order (a string's without its quotes,
//! escapes as written). Shapes are stored once, in `json_shapes` (given ids
//! as lineage steps are, [`crate::lineage::Steps`]); a record is its shape's
//! id and its scalars. Joining the two gives back the very text, byte for
//! byte, so whatever read the JSON text reads the same thing.
//!
//! A packed value starts with a tag:
//! - [`NULL`]: none (a `write` step's record before a first write);
//! - [`RAW`]: the text as it is (a varint length, the bytes): a text that is
//!   not JSON as this splitter reads it (control characters, bytes outside
//!   strings that are not ASCII), or whose shape is too long, or when the
//!   state has [`MAX_SHAPES`] shapes already;
//! - [`PACKED`]: the shape's id (varint), then each scalar: a varint `len << 1`
//!   and its bytes, or `i << 1 | 1` for the same text as the record's scalar `i`
//!   (an id or a date that a nested record repeats: found by a small table of
//!   the last scalar of each length and first and last byte, so not always);
//! - [`PACKED_FORMS`] (schema 8; what is written now): as [`PACKED`], each
//!   scalar a varint whose low two bits say how it is written: as text, as
//!   an earlier scalar of the record, as a decimal (scale and mantissa) or
//!   as a date or a timestamp (days or seconds). A scalar is written as a
//!   number only when formatting the number gives back its very bytes, so
//!   the text is still returned byte for byte;
//! - [`DIFF`]: the shape and the scalars of the value before it (a `write`
//!   step's record after, against its record before), but for the scalars
//!   that changed: their count, then each one's distance from the last
//!   (varint), length and bytes.
//!
//! - [`REF`] (a state record only, schema 8): the record after of the
//!   `write` step whose ordinal follows, in the trace of the event named by
//!   the row's `writer`: the record is stored once, in the lineage.
//!
//! A trace ([`write_trace`]) is a BLOB: the byte [`TRACE_FORMAT`], then each
//! step as a varint `id << 2 | kind` (its static part's id, in
//! `trace_steps`): kind 0 the static part alone, 1 with a key (a lookup, a
//! state read), 2 with a key and the records before and after (a write).
//! Read back ([`trace_json`]) it is the JSON form of schemas 2 to 6 (`id`,
//! `[id, key]`, `[id, key, before, after]`), which [`crate::lineage::Templates`]
//! spells out as ever.

use canon_compiler::ir;
use canon_compiler::types::Ty;
use canon_runtime::encode::{self, Names};
use canon_runtime::Value;
use serde_json::Value as Json;

/// None.
pub const NULL: u8 = 0;
/// The text as it is.
pub const RAW: u8 = 1;
/// A shape and its scalars.
pub const PACKED: u8 = 2;
/// The scalars that differ from the value before.
pub const DIFF: u8 = 3;
/// A state record that is the record after of a `write` step in the trace
/// of the event that wrote it last (`state_records.writer`): the step's
/// ordinal among the trace's `write` steps follows (varint).
pub const REF: u8 = 4;
/// A shape and its scalars, each as text, as an earlier one, or, when it is
/// a decimal, a date or a timestamp written the one way this reads it back,
/// as a number (schema 8; see [`put_packed`]).
pub const PACKED_FORMS: u8 = 5;

/// The kinds of a [`PACKED_FORMS`] scalar: the low two bits of its varint.
/// Text: `len << 2`, then the bytes.
const S_TEXT: u64 = 0;
/// The same text as the record's scalar `i`: `i << 2 | 1`.
const S_SAME: u64 = 1;
/// A decimal `-?(0|[1-9][0-9]*)(\.[0-9]+)?` of at most 18 digits:
/// `scale << 2 | 2`, then the mantissa (zigzag varint).
const S_DECIMAL: u64 = 2;
/// A date `YYYY-MM-DD` (days since 1970-01-01) or a timestamp
/// `YYYY-MM-DDTHH:MM:SSZ` (seconds since the epoch):
/// `(zigzag(n) << 1 | timestamp) << 2 | 3`.
const S_TIME: u64 = 3;
/// The first byte of a trace BLOB.
pub const TRACE_FORMAT: u8 = 1;
/// Shapes a state holds at most; texts of new shapes past it are kept raw.
pub const MAX_SHAPES: usize = 10_000;
/// A longer shape (a record with long lists, say) is not stored: the text is kept raw.
pub const MAX_SHAPE_BYTES: usize = 2048;

/// The placeholder of a scalar in a shape (a control character: never in JSON text).
const HOLE: char = '\u{1}';
/// A string's placeholder.
const STRING_HOLE: &str = "\"\u{1}\"";

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn get_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = *b.get(*pos)?;
        *pos += 1;
        if shift > 63 {
            return None;
        }
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
        shift += 7;
    }
}

/// A scalar's bytes.
fn scalar<'t>(text: &'t str, r: &(usize, usize)) -> &'t [u8] {
    text.as_bytes().get(r.0..r.1).unwrap_or_default()
}

fn put_bytes(out: &mut Vec<u8>, s: &[u8]) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn get_bytes<'b>(b: &'b [u8], pos: &mut usize) -> Option<&'b [u8]> {
    let len = usize::try_from(get_varint(b, pos)?).ok()?;
    let end = pos.checked_add(len)?;
    let s = b.get(*pos..end)?;
    *pos = end;
    Some(s)
}

fn get_str<'b>(b: &'b [u8], pos: &mut usize) -> Option<&'b str> {
    std::str::from_utf8(get_bytes(b, pos)?).ok()
}

/// A JSON text split into its shape and scalars (byte ranges of the text).
#[derive(Debug, Default, Clone)]
pub struct Split {
    pub shape: String,
    pub scalars: Vec<(usize, usize)>,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// The first `"` or `\\` of `b` at or after `j` (`b.len()` when there is
/// none). Strings are short, as a rule, so not memchr's setup: eight bytes
/// at a time in a word (a byte equal to `c` is a zero byte of `x ^ c…c`,
/// and the lowest lane `(y - 0x01…01) & !y & 0x80…80` marks is the first
/// zero byte: its false positives are only above a true one).
fn string_stop(b: &[u8], mut j: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while let Some(w) = b.get(j..j + 8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let x = u64::from_le_bytes(a);
        let q = x ^ (LO * u64::from(b'"'));
        let s = x ^ (LO * u64::from(b'\\'));
        let m = ((q.wrapping_sub(LO) & !q) | (s.wrapping_sub(LO) & !s)) & HI;
        if m != 0 {
            return j + (m.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    while let Some(&c) = b.get(j) {
        if c == b'"' || c == b'\\' {
            return j;
        }
        j += 1;
    }
    j
}

impl Split {
    /// Splits `text`; `false` when it cannot be (see the module's documentation).
    pub fn split(&mut self, text: &str) -> bool {
        self.shape.clear();
        self.scalars.clear();
        let b = text.as_bytes();
        let n = b.len();
        // Bytes of the shape not yet copied start at `run` (copied in one go).
        let mut run = 0;
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            if c == b'"' {
                let start = i + 1;
                let mut j = start;
                loop {
                    j = string_stop(b, j);
                    match b.get(j) {
                        None => return false,
                        Some(b'"') => break,
                        Some(_) => j += 2,
                    }
                }
                let mut k = j + 1;
                while b.get(k).is_some_and(|&x| is_ws(x)) {
                    k += 1;
                }
                if b.get(k) == Some(&b':') {
                    // A field name: part of the shape (never with a placeholder in it).
                    if b.get(start..j).is_some_and(|name| name.iter().any(|&x| x < 0x20)) {
                        return false;
                    }
                } else {
                    self.shape.push_str(text.get(run..i).unwrap_or_default());
                    self.shape.push_str(STRING_HOLE);
                    self.scalars.push((start, j));
                    run = j + 1;
                }
                i = j + 1;
            } else if c == b'-' || c.is_ascii_digit() {
                let mut j = i + 1;
                while b.get(j).is_some_and(|&x| x.is_ascii_digit() || matches!(x, b'-' | b'+' | b'.' | b'e' | b'E')) {
                    j += 1;
                }
                self.shape.push_str(text.get(run..i).unwrap_or_default());
                self.shape.push(HOLE);
                self.scalars.push((i, j));
                run = j;
                i = j;
            } else if c >= 0x80 || (c < 0x20 && !is_ws(c)) {
                return false;
            } else {
                i += 1;
            }
        }
        self.shape.push_str(text.get(run..n).unwrap_or_default());
        self.shape.len() <= MAX_SHAPE_BYTES
    }
}

/// The changed scalars of `after` against `before` (one shape): a [`DIFF`].
fn put_diff(before: &str, bs: &[(usize, usize)], after: &str, as_: &[(usize, usize)], out: &mut Vec<u8>) {
    out.push(DIFF);
    // The indexes of the scalars that changed, and their ranges in `after`.
    let changed = || {
        bs.iter()
            .zip(as_.iter())
            .enumerate()
            .filter(|(_, (x, y))| scalar(before, x) != scalar(after, y))
            .map(|(i, (_, y))| (i, y))
    };
    put_varint(out, changed().count() as u64);
    let mut next = 0usize;
    for (i, r) in changed() {
        put_varint(out, (i - next) as u64);
        next = i + 1;
        put_bytes(out, scalar(after, r));
    }
}

/// Packs JSON texts, with scratch space kept between calls. (Remembering
/// the texts packed lately, so that a write's record after, which is the
/// next write's record before and the record written back at the batch's
/// end, is split once, cost more in allocations than the splits it saved.)
#[derive(Debug, Default)]
pub struct Packer {
    a: Split,
    b: Split,
}

impl Packer {
    /// Appends `text` packed ([`PACKED`], else [`RAW`]); `shape` gives a
    /// shape's id (`None`: not stored, so the text is kept raw).
    pub fn pack(&mut self, text: &str, shape: &mut dyn FnMut(&str) -> Option<i64>, out: &mut Vec<u8>) {
        let id = if self.a.split(text) { shape(&self.a.shape) } else { None };
        put_packed(&self.a, id, text, out);
    }

    /// Appends a `write` step's records: `before`, then `after` (as a
    /// [`DIFF`] against `before` when both have one shape).
    pub fn pack_pair(
        &mut self,
        before: Option<&str>,
        after: Option<&str>,
        shape: &mut dyn FnMut(&str) -> Option<i64>,
        out: &mut Vec<u8>,
    ) {
        let mut before_id = None;
        match before {
            None => out.push(NULL),
            Some(text) => {
                before_id = if self.a.split(text) { shape(&self.a.shape) } else { None };
                put_packed(&self.a, before_id, text, out);
            }
        }
        let Some(after) = after else {
            out.push(NULL);
            return;
        };
        let split = self.b.split(after);
        if let (Some(_), Some(before), true) = (before_id, before, split) {
            if self.a.shape == self.b.shape && self.a.scalars.len() == self.b.scalars.len() {
                return put_diff(before, &self.a.scalars, after, &self.b.scalars, out);
            }
        }
        let id = if split { shape(&self.b.shape) } else { None };
        put_packed(&self.b, id, after, out);
    }
}

/// A value split as [`Split::split`] splits the JSON text
/// `encode::value_named` writes of it, without writing that text: the same
/// shape, and the same scalars, each a range of `text`, which holds them
/// (with whatever lies between: only the ranges are read).
#[derive(Debug, Default)]
pub struct ValueSplit {
    split: Split,
    text: String,
}

impl ValueSplit {
    /// Splits `v`, of type `ty`; `false` when its text would not be split
    /// (a shape longer than [`MAX_SHAPE_BYTES`]).
    pub fn of(&mut self, pkg: &ir::Package, names: &Names, ty: &Ty, v: &Value) -> bool {
        self.split.shape.clear();
        self.split.scalars.clear();
        self.text.clear();
        encode::value_to(self, pkg, Some(names), ty, v);
        self.split.shape.len() <= MAX_SHAPE_BYTES
    }

    /// A scalar: its placeholder in the shape, its text in `text`.
    fn scalar(&mut self, hole: &str, write: impl FnOnce(&mut String)) {
        self.split.shape.push_str(hole);
        let start = self.text.len();
        write(&mut self.text);
        self.split.scalars.push((start, self.text.len()));
    }
}

/// The JSON text's structure is the shape; its strings' and numbers' texts
/// are the scalars.
impl encode::JsonOut for ValueSplit {
    fn structure(&mut self, s: &str) {
        self.split.shape.push_str(s);
    }
    fn key(&mut self, wire: &str) {
        encode::json_str(&mut self.split.shape, wire);
    }
    fn string(&mut self, write: impl FnOnce(&mut String)) {
        self.scalar(STRING_HOLE, write);
    }
    fn number(&mut self, write: impl FnOnce(&mut String)) {
        let mut hole = [0u8; 4];
        self.scalar(HOLE.encode_utf8(&mut hole), write);
    }
}

/// Packs records from their values, as [`Packer`] packs their JSON text,
/// byte for byte, without writing or splitting that text.
#[derive(Debug, Default)]
pub struct ValuePacker {
    a: ValueSplit,
    b: ValueSplit,
    /// The JSON text of a record kept raw.
    raw: String,
}

impl ValuePacker {
    /// [`Packer::pack_pair`] of the JSON texts of `before` and `after`
    /// (records of type `ty`, as `encode::value_named` writes them).
    #[allow(clippy::too_many_arguments)]
    pub fn pack_pair(
        &mut self,
        pkg: &ir::Package,
        names: &Names,
        ty: &Ty,
        before: Option<&Value>,
        after: Option<&Value>,
        shape: &mut dyn FnMut(&str) -> Option<i64>,
        out: &mut Vec<u8>,
    ) {
        let mut before_id = None;
        match before {
            None => out.push(NULL),
            Some(v) => {
                before_id = if self.a.of(pkg, names, ty, v) { shape(&self.a.split.shape) } else { None };
                self.put(pkg, names, ty, v, before_id, true, out);
            }
        }
        let Some(after) = after else {
            out.push(NULL);
            return;
        };
        let split = self.b.of(pkg, names, ty, after);
        if before_id.is_some()
            && split
            && self.a.split.shape == self.b.split.shape
            && self.a.split.scalars.len() == self.b.split.scalars.len()
        {
            return put_diff(&self.a.text, &self.a.split.scalars, &self.b.text, &self.b.split.scalars, out);
        }
        let id = if split { shape(&self.b.split.shape) } else { None };
        self.put(pkg, names, ty, after, id, false, out);
    }

    /// `put_packed` of the split in `a` (`first`) or `b`; kept raw, the text itself.
    #[allow(clippy::too_many_arguments)]
    fn put(
        &mut self,
        pkg: &ir::Package,
        names: &Names,
        ty: &Ty,
        v: &Value,
        id: Option<i64>,
        first: bool,
        out: &mut Vec<u8>,
    ) {
        let s = if first { &self.a } else { &self.b };
        if id.is_some() {
            return put_packed(&s.split, id, &s.text, out);
        }
        self.raw.clear();
        encode::value_named(&mut self.raw, pkg, names, ty, v);
        put_packed(&s.split, None, &self.raw, out);
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// A decimal written `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 18
/// digits, not a negative zero: its mantissa and scale, which
/// [`format_decimal`] writes back as these very bytes.
fn decimal_form(s: &[u8]) -> Option<(i64, u64)> {
    let (neg, digits) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, s),
    };
    let (int, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(d) => (digits.get(..d)?, Some(digits.get(d + 1..)?)),
        None => (digits, None),
    };
    if int.is_empty() || (int.len() > 1 && int.first() == Some(&b'0')) || frac.is_some_and(<[u8]>::is_empty) {
        return None;
    }
    let frac = frac.unwrap_or_default();
    if int.len() + frac.len() > 18 {
        return None;
    }
    let mut m = 0i64;
    for &c in int.iter().chain(frac) {
        if !c.is_ascii_digit() {
            return None;
        }
        m = m * 10 + i64::from(c - b'0');
    }
    if neg && m == 0 {
        return None;
    }
    Some((if neg { -m } else { m }, frac.len() as u64))
}

/// The text of a decimal from [`decimal_form`].
fn format_decimal(m: i64, scale: u64, out: &mut String) -> Option<()> {
    let scale = usize::try_from(scale).ok().filter(|&s| s <= 18)?;
    let digits = itoa::Buffer::new().format(m.unsigned_abs()).to_string();
    if m < 0 {
        out.push('-');
    }
    if digits.len() <= scale {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        if scale > 0 {
            out.push('.');
            out.push_str(frac);
        }
    }
    Some(())
}

/// A date `YYYY-MM-DD` (`false`, days) or a whole-second timestamp
/// `YYYY-MM-DDTHH:MM:SSZ` (`true`, seconds) that [`format_time`] writes
/// back as these very bytes.
fn time_form(s: &[u8], scratch: &mut String) -> Option<(bool, i64)> {
    let text = std::str::from_utf8(s).ok()?;
    scratch.clear();
    match s.len() {
        10 if s.get(4) == Some(&b'-') => {
            let d = canon_stdlib::time::parse_date(text)?;
            canon_stdlib::time::format_date(d, scratch);
            (scratch.as_str() == text).then_some((false, i64::from(d.0)))
        }
        20 if s.get(10) == Some(&b'T') && s.get(19) == Some(&b'Z') => {
            let t = canon_stdlib::time::parse_timestamp(text)?;
            if t.0 % 1_000_000 != 0 {
                return None;
            }
            canon_stdlib::time::format_timestamp(t, scratch);
            (scratch.as_str() == text).then_some((true, t.0 / 1_000_000))
        }
        _ => None,
    }
}

/// The text of a date or timestamp from [`time_form`].
fn format_time(timestamp: bool, n: i64, out: &mut String) -> Option<()> {
    if timestamp {
        canon_stdlib::time::format_timestamp(canon_stdlib::Timestamp(n.checked_mul(1_000_000)?), out);
    } else {
        canon_stdlib::time::format_date(canon_stdlib::Date(i32::try_from(n).ok()?), out);
    }
    Some(())
}

fn put_packed(split: &Split, id: Option<i64>, text: &str, out: &mut Vec<u8>) {
    match id {
        Some(id) => {
            out.push(PACKED_FORMS);
            put_varint(out, id as u64);
            let b = text.as_bytes();
            let scalar = |r: &(usize, usize)| b.get(r.0..r.1).unwrap_or(&[]);
            // The last scalar seen of each (length, first byte, last byte), plus one.
            let mut seen = [0u32; 64];
            let mut scratch = String::new();
            for (i, r) in split.scalars.iter().enumerate() {
                let s = scalar(r);
                // A value met before in the record (an id, a date, a currency
                // repeated in a nested record) is the index of the last with its text.
                let len = r.1 - r.0;
                let earlier = if len > 2 {
                    let first = s.first().copied().unwrap_or(0) as usize;
                    let last = s.last().copied().unwrap_or(0) as usize;
                    let slot = (len.wrapping_mul(31) ^ first.wrapping_mul(7) ^ last) & 63;
                    let at = seen.get(slot).copied().unwrap_or(0) as usize;
                    if let Some(x) = seen.get_mut(slot) {
                        *x = i as u32 + 1;
                    }
                    at.checked_sub(1).filter(|&j| split.scalars.get(j).is_some_and(|q| scalar(q) == s))
                } else {
                    None
                };
                if let Some(j) = earlier {
                    put_varint(out, ((j as u64) << 2) | S_SAME);
                    continue;
                }
                let lead = s.first().copied().unwrap_or(0);
                if lead == b'-' || lead.is_ascii_digit() {
                    if let Some((m, scale)) = decimal_form(s) {
                        put_varint(out, (scale << 2) | S_DECIMAL);
                        put_varint(out, zigzag(m));
                        continue;
                    }
                    if let Some((timestamp, n)) = time_form(s, &mut scratch) {
                        put_varint(out, (((zigzag(n) << 1) | u64::from(timestamp)) << 2) | S_TIME);
                        continue;
                    }
                }
                put_varint(out, ((s.len() as u64) << 2) | S_TEXT);
                out.extend_from_slice(s);
            }
        }
        None => {
            out.push(RAW);
            put_bytes(out, text.as_bytes());
        }
    }
}

/// Joins a shape with its scalars.
fn join<'s>(shape: &str, scalars: impl Iterator<Item = &'s str>, out: &mut String) -> Option<()> {
    let mut scalars = scalars;
    for (i, part) in shape.split(HOLE).enumerate() {
        if i > 0 {
            out.push_str(scalars.next()?);
        }
        out.push_str(part);
    }
    scalars.next().is_none().then_some(())
}

/// Reads one packed value at `pos` (`None` inside: [`NULL`]); `before` is
/// the value a [`DIFF`] is against. `None`: not a packed value, or a shape
/// the state does not hold.
pub fn unpack(
    b: &[u8],
    pos: &mut usize,
    before: Option<&str>,
    shapes: &dyn Fn(i64) -> Option<String>,
) -> Option<Option<String>> {
    let tag = *b.get(*pos)?;
    *pos += 1;
    match tag {
        NULL => Some(None),
        RAW => Some(Some(get_str(b, pos)?.to_string())),
        // Schema 7's scalars are text (`len << 1`) or an earlier one
        // (`i << 1 | 1`); schema 8's say their form in two bits.
        PACKED | PACKED_FORMS => {
            let id = i64::try_from(get_varint(b, pos)?).ok()?;
            let shape = shapes(id)?;
            let holes = shape.matches(HOLE).count();
            let mut parts: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(holes);
            for _ in 0..holes {
                let v = get_varint(b, pos)?;
                let (kind, arg) = match tag {
                    PACKED if v & 1 == 1 => (S_SAME, v >> 1),
                    PACKED => (S_TEXT, v >> 1),
                    _ => (v & 3, v >> 2),
                };
                let part = match kind {
                    S_TEXT => {
                        let len = usize::try_from(arg).ok()?;
                        let end = pos.checked_add(len)?;
                        let s = std::str::from_utf8(b.get(*pos..end)?).ok()?;
                        *pos = end;
                        std::borrow::Cow::Borrowed(s)
                    }
                    S_SAME => parts.get(usize::try_from(arg).ok()?)?.clone(),
                    S_DECIMAL => {
                        let mut t = String::new();
                        format_decimal(unzigzag(get_varint(b, pos)?), arg, &mut t)?;
                        std::borrow::Cow::Owned(t)
                    }
                    _ => {
                        let mut t = String::new();
                        format_time(arg & 1 == 1, unzigzag(arg >> 1), &mut t)?;
                        std::borrow::Cow::Owned(t)
                    }
                };
                parts.push(part);
            }
            let mut out = String::with_capacity(shape.len() + parts.iter().map(|p| p.len()).sum::<usize>());
            join(&shape, parts.iter().map(|p| p.as_ref()), &mut out)?;
            Some(Some(out))
        }
        DIFF => {
            let before = before?;
            let mut split = Split::default();
            if !split.split(before) {
                return None;
            }
            let mut parts: Vec<&str> = split.scalars.iter().map(|&(s, e)| before.get(s..e).unwrap_or("")).collect();
            let count = get_varint(b, pos)?;
            let mut next = 0usize;
            for _ in 0..count {
                let i = next.checked_add(usize::try_from(get_varint(b, pos)?).ok()?)?;
                *parts.get_mut(i)? = get_str(b, pos)?;
                next = i + 1;
            }
            let mut out = String::with_capacity(before.len());
            join(&split.shape, parts.into_iter(), &mut out)?;
            Some(Some(out))
        }
        _ => None,
    }
}

/// Reads a whole packed value (a state record's column).
pub fn unpack_all(b: &[u8], shapes: &dyn Fn(i64) -> Option<String>) -> Option<String> {
    let mut pos = 0;
    let v = unpack(b, &mut pos, None, shapes)??;
    (pos == b.len()).then_some(v)
}

/// Step kinds of a trace BLOB.
pub const STEP: u64 = 0;
pub const STEP_KEY: u64 = 1;
pub const STEP_WRITE: u64 = 2;

/// Appends a step's head.
pub fn put_step(out: &mut Vec<u8>, id: i64, kind: u64) {
    put_varint(out, ((id as u64) << 2) | kind);
}

pub fn put_key(out: &mut Vec<u8>, key: &str) {
    put_bytes(out, key.as_bytes());
}

/// Appends a [`REF`] to the `ordinal`-th `write` step of the writer's trace.
pub fn put_ref(out: &mut Vec<u8>, ordinal: u32) {
    out.push(REF);
    put_varint(out, u64::from(ordinal));
}

/// The ordinal of a [`REF`] value; `None` for any other value.
pub fn ref_ordinal(b: &[u8]) -> Option<u64> {
    if b.first() != Some(&REF) {
        return None;
    }
    let mut pos = 1;
    let n = get_varint(b, &mut pos)?;
    (pos == b.len()).then_some(n)
}

/// The record after of the `ordinal`-th `write` step (from 0) of a trace
/// BLOB; `None` when the trace has no such step, or it cannot be read, or
/// its record after is none.
pub fn write_after(b: &[u8], ordinal: u64, shapes: &dyn Fn(i64) -> Option<String>) -> Option<String> {
    if b.first() != Some(&TRACE_FORMAT) {
        return None;
    }
    let mut pos = 1;
    let mut n = 0u64;
    while pos < b.len() {
        let head = get_varint(b, &mut pos)?;
        match head & 3 {
            STEP => {}
            STEP_KEY => {
                get_bytes(b, &mut pos)?;
            }
            STEP_WRITE => {
                get_bytes(b, &mut pos)?;
                let before = unpack(b, &mut pos, None, shapes)?;
                if n == ordinal {
                    return unpack(b, &mut pos, before.as_deref(), shapes)?;
                }
                unpack(b, &mut pos, before.as_deref(), shapes)?;
                n += 1;
            }
            _ => return None,
        }
    }
    None
}

/// A trace BLOB in the JSON form of schemas 2 to 6; `None` when it is not one.
pub fn trace_json(b: &[u8], shapes: &dyn Fn(i64) -> Option<String>) -> Option<Json> {
    if b.first() != Some(&TRACE_FORMAT) {
        return None;
    }
    let mut pos = 1;
    let mut steps = Vec::new();
    while pos < b.len() {
        let head = get_varint(b, &mut pos)?;
        let id = Json::from(head >> 2);
        match head & 3 {
            STEP => steps.push(id),
            STEP_KEY => steps.push(Json::Array(vec![id, Json::String(get_str(b, &mut pos)?.to_string())])),
            STEP_WRITE => {
                let key = Json::String(get_str(b, &mut pos)?.to_string());
                let before = unpack(b, &mut pos, None, shapes)?;
                let after = unpack(b, &mut pos, before.as_deref(), shapes)?;
                let json = |t: Option<String>| match t {
                    None => Some(Json::Null),
                    Some(t) => serde_json::from_str(&t).ok(),
                };
                steps.push(Json::Array(vec![id, key, json(before)?, json(after)?]));
            }
            _ => return None,
        }
    }
    Some(Json::Array(steps))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::strategy::{Just, Strategy};
    use std::collections::HashMap;

    type Known = std::rc::Rc<std::cell::RefCell<HashMap<i64, String>>>;

    fn shapes() -> (impl FnMut(&str) -> Option<i64>, Known) {
        let map = std::rc::Rc::new(std::cell::RefCell::new(HashMap::<i64, String>::new()));
        let m = map.clone();
        let give = move |s: &str| {
            let mut m = m.borrow_mut();
            if let Some((id, _)) = m.iter().find(|(_, v)| v.as_str() == s) {
                return Some(*id);
            }
            let id = m.len() as i64 + 1;
            m.insert(id, s.to_string());
            Some(id)
        };
        (give, map)
    }

    #[test]
    fn texts_round_trip_byte_for_byte() {
        let (mut give, map) = shapes();
        let read = |id: i64| map.borrow().get(&id).cloned();
        let mut p = Packer::default();
        for text in [
            r#"{"a":"x","b":12.50,"c":null,"d":true,"e":[1,2,{"f":"\"q\\"}],"g":-1e5}"#,
            r#"{ "spaced" : "yes" , "n" : 0 }"#,
            r#"{"id":"TS-1","at":"2026-11-01","line":{"id":"TS-1","at":"2026-11-01","n":1,"m":1}}"#,
            r#"{"ünï":"cödé","k":"\u0001"}"#,
            "\"just a string\"",
            "42",
            "[]",
            "not json at all: {",
            "{\"a\":\"unterminated",
            "{\"ctl\":\"a\u{1}b\"}",
            "é outside",
            "",
        ] {
            let mut out = Vec::new();
            p.pack(text, &mut give, &mut out);
            assert_eq!(unpack_all(&out, &read).as_deref(), Some(text), "{text}");
        }
        // Records of one shape share it.
        let known = map.borrow().len();
        let mut out = Vec::new();
        p.pack(r#"{"a":"y","b":1,"c":null,"d":true,"e":[1,2,{"f":"z"}],"g":0}"#, &mut give, &mut out);
        assert_eq!(out[0], PACKED_FORMS);
        assert_eq!(map.borrow().len(), known, "{:?}", map.borrow());
    }

    /// What schema 7 wrote: [`PACKED`], each scalar as text (no repeats).
    fn packed_7(text: &str, give: &mut dyn FnMut(&str) -> Option<i64>) -> Vec<u8> {
        let mut split = Split::default();
        assert!(split.split(text));
        let mut out = vec![PACKED];
        put_varint(&mut out, give(&split.shape).unwrap() as u64);
        for r in &split.scalars {
            let s = &text.as_bytes()[r.0..r.1];
            put_varint(&mut out, (s.len() as u64) << 1);
            out.extend_from_slice(s);
        }
        out
    }

    const FORMS: &str = r#"{"d":"11.25","e":"0.00","f":"-0.5","g":"-0","h":"007","i":"1.","j":".5","k":"1e5","l":"123456789012345678","m":"1234567890123456789","n":"2026-10-19","o":"2026-02-30","p":"2026-10-21T12:42:00Z","q":"2026-10-21T12:42:00.5Z","r":"1969-12-31T23:59:59Z","s":"0000-01-01","t":-3,"u":10,"v":"9999-12-31T23:59:59Z","w":"2026-1-01","x":0,"y":"-","z":"2026-10-21t12:42:00Z","n2":"2026-10-19","p2":"1709.19","q2":"1709.19"}"#;

    #[test]
    fn decimals_dates_and_timestamps_are_numbers_and_read_back_as_written() {
        let (mut give, map) = shapes();
        let read = |id: i64| map.borrow().get(&id).cloned();
        let mut p = Packer::default();
        let mut out = Vec::new();
        p.pack(FORMS, &mut give, &mut out);
        assert_eq!(unpack_all(&out, &read).as_deref(), Some(FORMS));
        let old = packed_7(FORMS, &mut give);
        assert_eq!(unpack_all(&old, &read).as_deref(), Some(FORMS), "schema 7's form still reads");
        assert!(out.len() + 40 < old.len(), "{} against {}", out.len(), old.len());
        // Each form on its own: a timestamp is 5 bytes, a date 3, a decimal 1 + its mantissa, text 1 + its bytes.
        for (scalar, size) in [("2026-10-21T12:42:00Z", 5), ("2026-10-19", 3), ("1709.19", 4), ("0", 2), ("TS-1", 5)] {
            let text = format!("{{\"v\":\"{scalar}\"}}");
            let mut out = Vec::new();
            p.pack(&text, &mut give, &mut out);
            assert_eq!(out.len() - 2, size, "{scalar}: {out:?}");
            assert_eq!(unpack_all(&out, &read).as_deref(), Some(text.as_str()));
        }
    }

    proptest::proptest! {
        #[test]
        fn a_string_stops_where_a_byte_at_a_time_scan_stops(
            b in proptest::collection::vec(proptest::prop_oneof![
                Just(b'"'), Just(b'\\'), Just(0x80u8), Just(0x01u8), Just(0xFFu8), proptest::num::u8::ANY
            ], 0..40),
            from in 0usize..42,
        ) {
            let want = b.iter().enumerate().skip(from).find(|(_, &c)| c == b'"' || c == b'\\').map(|(i, _)| i);
            let got = string_stop(&b, from);
            proptest::prop_assert_eq!(want.unwrap_or(b.len().max(from)), got);
        }

        #[test]
        fn scalars_near_the_forms_read_back_byte_for_byte(
            a in "-?[0-9]{0,20}(\\.[0-9]{0,20})?",
            b in "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z)?",
            c in "-?(0|[1-9][0-9]{0,19})(\\.[0-9]{1,19})?",
        ) {
            let (mut give, map) = shapes();
            let read = |id: i64| map.borrow().get(&id).cloned();
            let mut p = Packer::default();
            for text in [
                format!(r#"{{"a":"{a}","b":"{b}","c":"{c}","d":{c},"e":"{b}"}}"#),
                format!(r#"[{c},"{a}",{c}]"#),
            ] {
                let mut out = Vec::new();
                p.pack(&text, &mut give, &mut out);
                let back = unpack_all(&out, &read);
                proptest::prop_assert_eq!(back.as_deref(), Some(text.as_str()));
            }
        }
    }

    /// A package whose record has a field of every kind a record packs.
    fn every_kind() -> std::sync::Arc<ir::Package> {
        let src = "enum Kind {\n  A = \"a-1\"\n  B\n}\n\
                   record Inner {\n  code: Text\n  amt: Money\n}\n\
                   record R {\n  t: Text as \"t\\\"q\"\n  i: Int\n  d: Decimal\n  od: Decimal?\n  m: Money\n  c: Currency\n  \
                   day: Date\n  at: Timestamp\n  k: Kind\n  b: Bool\n  o: Text?\n  xs: List<Int>\n  inner: Inner\n  \
                   ys: List<Inner>\n}\n";
        let loaded = canon_runtime::package::from_sources(".".into(), vec![("t.canon".into(), src.to_string())]);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
        loaded.package()
    }

    fn text_of() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            "[a-zA-Z0-9 _-]{0,12}",
            "[0-9]{1,6}(\\.[0-9]{1,4})?",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            proptest::string::string_regex("(.|\"|\\\\|\n|\u{85}|\u{2028}|\u{1}){0,10}").unwrap(),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn records_pack_from_values_as_from_their_text(
            t in text_of(), code in text_of(), o in proptest::option::of(text_of()),
            i in proptest::num::i64::ANY, mant in -10_000_000_000i64..10_000_000_000, scale in 0u32..6,
            od in proptest::option::of(-1_000_000i64..1_000_000), day in -30_000i32..60_000,
            at in proptest::prop_oneof![(-2_000_000_000i64..4_000_000_000).prop_map(|s| s * 1_000_000),
                proptest::num::i64::ANY.prop_map(|u| u / 4)],
            k in 0u32..3, b in proptest::bool::ANY, xs in proptest::collection::vec(-5i64..1_000, 0..4),
            n in 0usize..3, same in proptest::bool::ANY, changed in 0usize..14,
        ) {
            use canon_stdlib::{Currency, Date, Decimal, Timestamp};
            let pkg = every_kind();
            let names = Names::new(&pkg);
            let r = pkg.records.iter().position(|r| r.name == "R").unwrap();
            let ty = Ty::Record(canon_compiler::types::RecordId(r as u32));
            let usd = Currency::parse("USD").unwrap();
            let dec = Decimal::new(mant, scale);
            let inner = |c: &str| Value::Record(vec![Value::text(c), Value::Money(dec, usd)].into());
            let record = |t: &str| Value::Record(vec![
                Value::text(t),
                Value::Int(i),
                Value::Decimal(dec),
                od.map(|x| Value::Decimal(Decimal::new(x, 2))).unwrap_or(Value::None),
                Value::Money(dec, Currency::parse("EUR").unwrap()),
                Value::Currency(usd),
                Value::Date(Date(day)),
                Value::Timestamp(Timestamp(at)),
                Value::Enum(k),
                Value::Bool(b),
                o.as_deref().map(Value::text).unwrap_or(Value::None),
                Value::List(xs.iter().map(|x| Value::Int(*x)).collect::<Vec<_>>().into()),
                inner(&code),
                Value::List((0..n).map(|j| inner(if same { &code } else if j == 0 { t } else { "x" })).collect::<Vec<_>>().into()),
            ].into());
            let before = record(&t);
            // The record after: one field changed (or none), or the same shape with a list grown.
            let after = match &before {
                Value::Record(f) => {
                    let mut f = f.to_vec();
                    if let Some(v) = f.get_mut(changed) {
                        *v = match v { Value::Int(x) => Value::Int(x.wrapping_add(1)), Value::Bool(x) => Value::Bool(!*x),
                            Value::None => Value::text("now"), Value::Text(_) => Value::text(&code), _ => v.clone() };
                    }
                    Value::Record(f.into())
                }
                v => v.clone(),
            };
            let text = |v: &Value| { let mut s = String::new(); encode::value_named(&mut s, &pkg, &names, &ty, v); s };
            let (mut give_a, _) = shapes();
            let (mut give_b, _) = shapes();
            for (x, y) in [(None, Some(&before)), (Some(&before), Some(&after)), (Some(&after), None), (Some(&before), Some(&before))] {
                let mut want = Vec::new();
                Packer::default().pack_pair(x.map(&text).as_deref(), y.map(&text).as_deref(), &mut give_a, &mut want);
                let mut got = Vec::new();
                ValuePacker::default().pack_pair(&pkg, &names, &ty, x, y, &mut give_b, &mut got);
                proptest::prop_assert_eq!(&want, &got, "{:?} -> {:?}", x.map(&text), y.map(&text));
            }
        }
    }

    #[test]
    fn a_write_is_kept_as_its_changes() {
        let (mut give, map) = shapes();
        let read = |id: i64| map.borrow().get(&id).cloned();
        let mut p = Packer::default();
        let before = r#"{"id":"TS-1","hours":"8.00","state":"submitted","note":"a long note that stays the same"}"#;
        let after = r#"{"id":"TS-1","hours":"8.00","state":"approved","note":"a long note that stays the same"}"#;
        let other = r#"{"id":"TS-1","hours":"8.00","state":"approved","extra":1}"#;
        for (b, a) in [
            (Some(before), Some(after)),
            (None, Some(after)),
            (Some(before), None),
            (Some(before), Some(other)),
            (Some(before), Some(before)),
            (None, None),
            (Some("not json"), Some(after)),
        ] {
            let mut out = Vec::new();
            p.pack_pair(b, a, &mut give, &mut out);
            let mut pos = 0;
            let got_b = unpack(&out, &mut pos, None, &read).unwrap();
            let got_a = unpack(&out, &mut pos, got_b.as_deref(), &read).unwrap();
            assert_eq!((got_b.as_deref(), got_a.as_deref()), (b, a));
            assert_eq!(pos, out.len());
        }
        let mut alone = Vec::new();
        p.pack(before, &mut give, &mut alone);
        let mut out = Vec::new();
        p.pack_pair(Some(before), Some(after), &mut give, &mut out);
        // The record after is the one value that changed: tag, count, index, length, "approved".
        assert_eq!(out.len(), alone.len() + 4 + "approved".len(), "{out:?}");
        assert_eq!(out[alone.len()], DIFF);
    }

    #[test]
    fn a_reference_reads_the_record_after_of_its_write_step() {
        let (mut give, map) = shapes();
        let read = |id: i64| map.borrow().get(&id).cloned();
        let mut p = Packer::default();
        let r1 = r#"{"id":"TS-1","hours":"8.00"}"#;
        let r2 = r#"{"id":"TS-1","hours":"7.50"}"#;
        let r3 = r#"{"id":"JE-1","acked":false}"#;
        // A lookup, a write (insert), a plain step, a write (update), a write (delete), a write (insert).
        let mut t = vec![TRACE_FORMAT];
        put_step(&mut t, 7, STEP_KEY);
        put_key(&mut t, "P-1");
        for (i, (b, a)) in
            [(None, Some(r1)), (Some(r1), Some(r2)), (Some(r2), None), (None, Some(r3))].iter().enumerate()
        {
            if i == 1 {
                put_step(&mut t, 3, STEP);
            }
            put_step(&mut t, 9, STEP_WRITE);
            put_key(&mut t, "TS-1");
            p.pack_pair(*b, *a, &mut give, &mut t);
        }
        assert_eq!(write_after(&t, 0, &read).as_deref(), Some(r1));
        assert_eq!(write_after(&t, 1, &read).as_deref(), Some(r2), "a DIFF, read against its record before");
        assert_eq!(write_after(&t, 2, &read), None, "deleted");
        assert_eq!(write_after(&t, 3, &read).as_deref(), Some(r3));
        assert_eq!(write_after(&t, 4, &read), None, "no such step");
        assert_eq!(write_after(&t[..t.len() - 1], 3, &read), None, "cut short");
        let mut r = Vec::new();
        put_ref(&mut r, 300);
        assert_eq!(ref_ordinal(&r), Some(300));
        assert_eq!(ref_ordinal(&r[..1]), None);
        assert_eq!(ref_ordinal(&[PACKED, 1]), None);
    }

    #[test]
    fn damaged_values_are_refused_not_misread() {
        let read = |_: i64| None;
        assert_eq!(unpack_all(&[9], &read), None);
        assert_eq!(unpack_all(&[PACKED, 1], &read), None);
        assert_eq!(unpack_all(&[RAW, 5, b'a'], &read), None);
        assert_eq!(trace_json(&[0], &read), None);
        assert_eq!(trace_json(&[TRACE_FORMAT, 0x80], &read), None);
        let read1 = |_: i64| Some("{\"a\":\u{1}}".to_string());
        assert_eq!(unpack_all(&[PACKED, 1, 2, b'7'], &read1).as_deref(), Some("{\"a\":7}"));
        assert_eq!(unpack_all(&[PACKED, 1], &read1), None);
        assert_eq!(unpack_all(&[PACKED, 1, 2, b'7', 0], &read1), None);
        // A reference to a scalar not read yet.
        assert_eq!(unpack_all(&[PACKED, 1, 1], &read1), None);
    }
}
