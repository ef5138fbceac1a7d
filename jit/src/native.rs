//! The JIT's fast path in and out of native cells: a schema-directed JSON
//! decoder that writes `data` straight into cells in the event arena, and an
//! encoder that writes emitted records straight from cells.
//!
//! The decoder only answers "this is valid, here are the cells" or "no": on
//! "no" the engine takes the interpreter's decoding path, which words the
//! schema violation. So the fast path must be at least as strict as
//! `canon_runtime::decode` — never accept what it rejects — and its errors
//! need no messages. The encoder must write the bytes `encode::value` writes.

use std::borrow::Cow;
use std::fmt;

use bumpalo::Bump;
use canon_compiler::ir;
use canon_compiler::types::Ty;
use canon_runtime::encode::{json_plain, json_str, push_short, Names};
use canon_runtime::envelope;
use canon_stdlib::{num, time, Currency, Date, Timestamp};
use serde::de::{self as sde, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::cell::{text_cell, Cell};

/// Decodes JSON text as a value of type `ty` into cells, or `None` if it
/// does not fit. Text cells may point into `raw`: it must outlive them.
pub fn decode(pkg: &ir::Package, arena: &Bump, ty: &Ty, raw: &str) -> Option<Cell> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let c = Seed { pkg, arena, ty }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(c)
}

struct Seed<'a> {
    pkg: &'a ir::Package,
    arena: &'a Bump,
    ty: &'a Ty,
}

fn no<E: sde::Error>() -> E {
    E::custom("no")
}

/// The Int rule of the interpreter: digits with an optional leading `-`, in range.
fn int_text(t: &str) -> Option<i64> {
    let ok = !t.is_empty() && t.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'));
    if ok {
        t.parse().ok()
    } else {
        None
    }
}

/// The Decimal rule: a JSON number, or a string holding one.
fn decimal_text(t: &str) -> Option<canon_stdlib::Decimal> {
    if let Some(inner) = t.strip_prefix('"').and_then(|t| t.strip_suffix('"')).filter(|i| !i.contains(['\\', '"'])) {
        // A string without escapes: its text is its value.
        num::parse(inner)
    } else if t.starts_with('"') {
        let s: String = serde_json::from_str(t).ok()?;
        num::parse(&s)
    } else {
        num::parse(t)
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Cell;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cell, D::Error> {
        match self.ty.strip() {
            Ty::Int | Ty::Decimal => {
                let raw: &RawValue = sde::Deserialize::deserialize(d)?;
                let t = raw.get().trim();
                if t == "null" {
                    return if self.ty.is_optional() { Ok(Cell::none()) } else { Err(no()) };
                }
                match self.ty.strip() {
                    Ty::Int => int_text(t).map(Cell::from_i64).ok_or_else(no),
                    _ => decimal_text(t).map(Cell::from_decimal).ok_or_else(no),
                }
            }
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Cell;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<Cell, E> {
        if self.ty.is_optional() {
            Ok(Cell::none())
        } else {
            Err(no())
        }
    }
    fn visit_bool<E: sde::Error>(self, v: bool) -> Result<Cell, E> {
        match self.ty.strip() {
            Ty::Bool => Ok(Cell::from_bool(v)),
            _ => Err(no()),
        }
    }
    fn visit_borrowed_str<E: sde::Error>(self, v: &'de str) -> Result<Cell, E> {
        match self.ty.strip() {
            // Text borrowed from the input line needs no copy: the line
            // outlives the event's evaluation (see `decode`).
            Ty::Text => Ok(Cell::from_parts(v.as_ptr() as usize, v.len())),
            _ => self.visit_str(v),
        }
    }
    fn visit_str<E: sde::Error>(self, v: &str) -> Result<Cell, E> {
        match self.ty.strip() {
            Ty::Text => Ok(text_cell(self.arena, v)),
            Ty::Date => time::parse_date(v).map(|d| Cell::from_u32(d.0 as u32)).ok_or_else(no),
            Ty::Timestamp => time::parse_timestamp(v).map(|t| Cell::from_i64(t.0)).ok_or_else(no),
            Ty::Currency => Currency::parse(v).map(Cell::from_currency).ok_or_else(no),
            Ty::Enum(e) => self.pkg.enum_def(*e).and_then(|d| d.variant_by_wire(v)).map(Cell::from_u32).ok_or_else(no),
            _ => Err(no()),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cell, A::Error> {
        let Ty::List(elem) = self.ty.strip() else { return Err(no()) };
        let mut items: Vec<Cell> = Vec::new();
        while let Some(c) = seq.next_element_seed(Seed { pkg: self.pkg, arena: self.arena, ty: elem })? {
            items.push(c);
        }
        let cells = self.arena.alloc_slice_copy(&items);
        Ok(Cell::from_parts(cells.as_ptr() as usize, cells.len()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
        match self.ty.strip() {
            Ty::Money => {
                let (mut amount, mut currency) = (None, None);
                while let Some(k) = map.next_key_seed(Key(&["amount", "currency"]))? {
                    match k {
                        Some(0) => {
                            let raw: &RawValue = map.next_value()?;
                            amount = Some(decimal_text(raw.get().trim()).ok_or_else(no)?);
                        }
                        Some(_) => {
                            let s: Str<'de> = map.next_value()?;
                            currency = Some(Currency::parse(&s.0).ok_or_else(no)?);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                match (amount, currency) {
                    (Some(a), Some(c)) => Ok(Cell::from_money(a, c)),
                    _ => Err(no()),
                }
            }
            Ty::Record(r) => {
                let def = self.pkg.record(*r).ok_or_else(no)?;
                let cells = self.arena.alloc_slice_fill_default::<Cell>(def.fields.len());
                let mut seen = 0u64;
                while let Some(k) = map.next_key_seed(FieldKey(def))? {
                    let Some(i) = k else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    let f = def.fields.get(i as usize).ok_or_else(no)?;
                    let c = map.next_value_seed(Seed { pkg: self.pkg, arena: self.arena, ty: &f.ty })?;
                    if let Some(slot) = cells.get_mut(i as usize) {
                        *slot = c;
                    }
                    if i < 64 {
                        seen |= 1 << i;
                    }
                }
                for (i, f) in def.fields.iter().enumerate() {
                    let present = if i < 64 { seen & (1 << i) != 0 } else { false };
                    if !present && !f.ty.is_optional() {
                        return Err(no());
                    }
                }
                Ok(Cell::from_parts(cells.as_ptr() as usize, 0))
            }
            _ => Err(no()),
        }
    }
}

/// A JSON string, borrowed from the input where it holds no escape.
struct Str<'de>(Cow<'de, str>);

impl<'de> sde::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: sde::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: sde::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// An object key matched against fixed names without allocating: the
/// index of the name, or `None` for another key.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        // A key with an unpaired surrogate escape fails here, and the shared
        // decoder, which reads keys as bytes, takes it as an unknown key
        // (`canon_runtime::decode::KeyName`): the fast path stays fast.
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: sde::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == v))
    }
}

/// A record's field key by wire name, without allocating.
struct FieldKey<'a>(&'a ir::RecordDef);

impl<'de> DeserializeSeed<'de> for FieldKey<'_> {
    type Value = Option<u32>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldKey<'_> {
    type Value = Option<u32>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: sde::Error>(self, v: &str) -> Result<Option<u32>, E> {
        Ok(self.0.field_by_wire(v))
    }
}

/// The envelope attributes of a line, borrowed from it where they hold no
/// escape, with `data` decoded into cells for its handler.
pub struct Event<'l> {
    pub id: Cow<'l, str>,
    pub source: Cow<'l, str>,
    pub event_type: Cow<'l, str>,
    pub time: Option<Timestamp>,
    pub subject: Option<Cow<'l, str>>,
    pub correlation_id: Option<Cow<'l, str>>,
    pub idempotency_key: Option<Cow<'l, str>>,
    pub handler: usize,
    pub data: Cell,
    /// Bit `k` set when attribute `k` (`specversion` to `idempotencykey`)
    /// is a [plain](canon_runtime::encode::is_plain) text; 0 when not known.
    pub plain: u16,
}

/// The envelope's members by index, as `canon_runtime::envelope` knows them.
const ENVELOPE_KEYS: [&str; 12] = envelope::MEMBERS;
pub(crate) const DATA: usize = 9;

/// Decodes a whole input line in one pass: the envelope, and `data` straight
/// into cells as soon as the event type names a handler. `None` for anything
/// the shared path must word or decide (an invalid envelope, an ignored type,
/// a schema violation, a duplicate attribute, `dataschema` or `data_base64`):
/// this accepts only lines `canon_runtime::engine::envelope` accepts, with
/// the same values, through the same checks (`canon_runtime::envelope`).
/// Text cells may point into `line`: it must outlive them.
pub fn decode_event<'l>(pkg: &ir::Package, names: &Names, arena: &Bump, line: &'l str) -> Option<Event<'l>> {
    // The common line (no escapes, no extension attributes, data's keys
    // known) by hand; anything else through serde, as before.
    if let Some(ev) = crate::native_scan::decode_event(pkg, names, arena, line) {
        return Some(ev);
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let ev = sde::Deserializer::deserialize_map(&mut de, EventSeed { pkg, arena }).ok()?;
    de.end().ok()?;
    Some(ev)
}

struct EventSeed<'a> {
    pkg: &'a ir::Package,
    arena: &'a Bump,
}

/// An envelope member's name: a known attribute, or an extension attribute
/// named without escapes.
enum Member<'de> {
    Known(usize),
    Extension(&'de str),
}

struct MemberName;

impl<'de> DeserializeSeed<'de> for MemberName {
    type Value = Member<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MemberName {
    type Value = Member<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E: sde::Error>(self, v: &'de str) -> Result<Member<'de>, E> {
        match ENVELOPE_KEYS.iter().position(|k| *k == v) {
            Some(i) => Ok(Member::Known(i)),
            None if envelope::is_attribute_name(v) => Ok(Member::Extension(v)),
            None => Err(no()),
        }
    }
    fn visit_str<E: sde::Error>(self, v: &str) -> Result<Member<'de>, E> {
        // An escaped name: the shared path decides.
        match ENVELOPE_KEYS.iter().position(|k| *k == v) {
            Some(i) => Ok(Member::Known(i)),
            None => Err(no()),
        }
    }
}

/// An extension attribute's value, checked as `canon_runtime::envelope` does:
/// a String, a boolean, an Integer, or null.
struct Extension;

impl<'de> sde::Deserialize<'de> for Extension {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Extension)
    }
}

impl<'de> Visitor<'de> for Extension {
    type Value = Extension;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an extension attribute")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<Extension, E> {
        Ok(Extension)
    }
    fn visit_bool<E: sde::Error>(self, _: bool) -> Result<Extension, E> {
        Ok(Extension)
    }
    fn visit_i64<E: sde::Error>(self, v: i64) -> Result<Extension, E> {
        i32::try_from(v).map(|_| Extension).map_err(|_| no())
    }
    fn visit_u64<E: sde::Error>(self, v: u64) -> Result<Extension, E> {
        i32::try_from(v).map(|_| Extension).map_err(|_| no())
    }
    fn visit_str<E: sde::Error>(self, v: &str) -> Result<Extension, E> {
        envelope::check_string(v).map(|()| Extension).map_err(|_| no())
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = Event<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event<'de>, A::Error> {
        let mut attrs: [Option<Cow<'de, str>>; DATA] = Default::default();
        let mut seen = 0u16;
        let mut extensions: Vec<&'de str> = Vec::new();
        let mut data: Option<(usize, Cell)> = None;
        let mut raw_data: Option<&'de RawValue> = None;
        while let Some(k) = map.next_key_seed(MemberName)? {
            let k = match k {
                Member::Known(k) => k,
                Member::Extension(name) => {
                    if extensions.contains(&name) {
                        return Err(no());
                    }
                    extensions.push(name);
                    map.next_value::<Extension>()?;
                    continue;
                }
            };
            if seen & (1 << k) != 0 || k > DATA {
                return Err(no());
            }
            seen |= 1 << k;
            if k == DATA {
                match attrs.get(3).and_then(|t| t.as_deref()) {
                    Some(t) => {
                        let hi = *self.pkg.handler_by_type.get(t).ok_or_else(no)?;
                        let h = self.pkg.handlers.get(hi).ok_or_else(no)?;
                        let ty = Ty::Record(h.event);
                        data = Some((hi, map.next_value_seed(Seed { pkg: self.pkg, arena: self.arena, ty: &ty })?));
                    }
                    None => raw_data = Some(map.next_value()?),
                }
            } else if let Some(slot) = attrs.get_mut(k) {
                let v = map.next_value::<Option<Str<'de>>>()?.map(|s| s.0);
                // `specversion` (0) and `time` (4) are compared and parsed: no need.
                if k != 0 && k != 4 && v.as_deref().is_some_and(|v| envelope::check_string(v).is_err()) {
                    return Err(no());
                }
                *slot = v;
            }
        }
        let mut ev = checked(attrs).ok_or_else(no)?;
        (ev.handler, ev.data) = match (data, raw_data) {
            (Some(d), _) => d,
            (None, Some(raw)) => {
                let hi = *self.pkg.handler_by_type.get(ev.event_type.as_ref()).ok_or_else(no)?;
                let h = self.pkg.handlers.get(hi).ok_or_else(no)?;
                (hi, decode(self.pkg, self.arena, &Ty::Record(h.event), raw.get()).ok_or_else(no)?)
            }
            (None, None) => return Err(no()),
        };
        Ok(ev)
    }
}

/// The envelope's checks once its attributes are read (`specversion` to
/// `idempotencykey`, by index): the event without its data (`handler` 0 and
/// a none cell), or `None` when the shared path must word or decide.
pub(crate) fn checked<'l>(attrs: [Option<Cow<'l, str>>; DATA]) -> Option<Event<'l>> {
    let [specversion, id, source, event_type, time, subject, content_type, correlation_id, idempotency_key] = attrs;
    if specversion.as_deref() != Some("1.0") {
        return None;
    }
    let (Some(id), Some(source), Some(event_type)) = (id, source, event_type) else { return None };
    if id.is_empty() || source.is_empty() || event_type.is_empty() || !envelope::is_uri_reference(&source) {
        return None;
    }
    if subject.as_deref().is_some_and(str::is_empty) || idempotency_key.as_deref().is_some_and(str::is_empty) {
        return None;
    }
    let time = match time {
        None => None,
        Some(t) => Some(time::parse_timestamp(&t)?),
    };
    if content_type.is_some_and(|ct| envelope::json_media_type(&ct) != Some(true)) {
        return None;
    }
    Some(Event {
        id,
        source,
        event_type,
        time,
        subject,
        correlation_id,
        idempotency_key,
        handler: 0,
        data: Cell::none(),
        plain: 0,
    })
}

/// Writes a cell of type `ty` as JSON, byte for byte as `encode::value` writes its value.
///
/// # Safety
/// The cell and what it points to must be alive and of type `ty`.
pub unsafe fn encode(out: &mut String, pkg: &ir::Package, names: &Names, ty: &Ty, c: &Cell) {
    if c.is_none() {
        out.push_str("null");
        return;
    }
    match ty.strip() {
        Ty::Bool => out.push_str(if c.u8() != 0 { "true" } else { "false" }),
        Ty::Int => push_short(out, itoa::Buffer::new().format(c.i64())),
        Ty::Decimal => {
            out.push('"');
            num::format(&c.decimal(), out);
            out.push('"');
        }
        Ty::Money => {
            out.push_str("{\"amount\":\"");
            num::format(&c.decimal(), out);
            out.push_str("\",\"currency\":\"");
            c.currency_at(16).push_to(out);
            out.push_str("\"}");
        }
        Ty::Currency => {
            out.push('"');
            c.currency_at(0).push_to(out);
            out.push('"');
        }
        // SAFETY: forwarded from the caller.
        Ty::Text if c.is_plain_text() => json_plain(out, unsafe { c.text() }),
        // SAFETY: forwarded from the caller.
        Ty::Text => json_str(out, unsafe { c.text() }),
        Ty::Date => {
            out.push('"');
            time::format_date(Date(c.i32()), out);
            out.push('"');
        }
        Ty::Timestamp => {
            out.push('"');
            time::format_timestamp(Timestamp(c.i64()), out);
            out.push('"');
        }
        Ty::Enum(e) => push_short(out, names.variant(*e, c.u32())),
        Ty::Record(r) => {
            let keys = names.fields(*r);
            match pkg.record(*r) {
                Some(def) if !keys.is_empty() => {
                    // SAFETY: forwarded from the caller.
                    let cells = unsafe { c.cells(def.fields.len()) };
                    for ((f, key), fc) in def.fields.iter().zip(keys).zip(cells.iter()) {
                        push_short(out, key);
                        // SAFETY: forwarded from the caller.
                        unsafe { encode(out, pkg, names, &f.ty, fc) };
                    }
                    out.push('}');
                }
                _ => out.push_str("{}"),
            }
        }
        Ty::List(elem) => {
            out.push('[');
            // SAFETY: forwarded from the caller.
            let cells = unsafe { c.cells(c.len()) };
            for (i, x) in cells.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // SAFETY: forwarded from the caller.
                unsafe { encode(out, pkg, names, elem, x) };
            }
            out.push(']');
        }
        Ty::Optional(_) | Ty::NoneLit | Ty::Error => out.push_str("null"),
    }
}
