//! Schema-directed decoding of JSON into typed values (LANGUAGE.md §3).
//!
//! Works on the raw JSON text of each value, so decimals are read exactly
//! from their digits and never through a binary float. Keys are checked in
//! input order, then missing required fields in declaration order; the first
//! violation is reported with its JSON Pointer.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use canon_compiler::ir;
use canon_compiler::types::Ty;
use canon_stdlib::{num, time, Currency};
use serde::de::{self as sde, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::value::Value;

/// A schema violation: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// JSON Pointer with wire names, such as `/data/hours`.
    pub path: String,
    pub message: String,
}

fn push_key(path: &mut String, key: &str) {
    path.push('/');
    if !key.contains(['~', '/']) {
        path.push_str(key);
        return;
    }
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

fn shown(raw: &str) -> String {
    let t = raw.trim();
    let mut s: String = t.chars().take(40).collect();
    if t.chars().count() > 40 {
        s.push('…');
    }
    s
}

fn kind_of(raw: &str) -> &'static str {
    match raw.trim_start().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't') | Some(b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

fn string_of(raw: &str) -> Option<Cow<'_, str>> {
    if raw.trim_start().starts_with('"') {
        serde_json::from_str::<Cow<'_, str>>(raw).ok()
    } else {
        None
    }
}

/// An object key as read: its text, or `None` when it holds an unpaired
/// surrogate escape, which JSON allows and no name Canon declares can match
/// (such a key is unknown, so ignored, like any other).
pub struct KeyName<'de>(pub Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for KeyName<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // As bytes: serde_json then keeps an unpaired surrogate (as WTF-8)
        // instead of failing, and borrows a key without escapes.
        d.deserialize_bytes(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = KeyName<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: sde::Error>(self, v: &'de str) -> Result<KeyName<'de>, E> {
        Ok(KeyName(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: sde::Error>(self, v: &str) -> Result<KeyName<'de>, E> {
        Ok(KeyName(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_borrowed_bytes<E: sde::Error>(self, v: &'de [u8]) -> Result<KeyName<'de>, E> {
        Ok(KeyName(std::str::from_utf8(v).ok().map(Cow::Borrowed)))
    }
    fn visit_bytes<E: sde::Error>(self, v: &[u8]) -> Result<KeyName<'de>, E> {
        Ok(KeyName(std::str::from_utf8(v).ok().map(|s| Cow::Owned(s.to_owned()))))
    }
}

/// The decoding context: the package (for type definitions) and the JSON path so far.
pub struct Decoder<'p> {
    pub pkg: &'p ir::Package,
    path: String,
    /// The violation that stopped decoding (serde carries only a message).
    error: Option<SchemaError>,
}

impl<'p> Decoder<'p> {
    pub fn new(pkg: &'p ir::Package, root: &str) -> Decoder<'p> {
        Decoder { pkg, path: root.to_string(), error: None }
    }

    fn fail<T>(&self, message: String) -> Result<T, SchemaError> {
        Err(SchemaError { path: if self.path.is_empty() { "/".into() } else { self.path.clone() }, message })
    }

    fn expected<T>(&self, what: &str, raw: &str) -> Result<T, SchemaError> {
        if raw.trim() == "null" {
            return self.fail(format!("expected {what}, found null"));
        }
        self.fail(format!("expected {what}, found {} `{}`", kind_of(raw), shown(raw)))
    }

    /// Decodes the JSON text `raw` as a value of type `ty`, in one pass over
    /// the text (objects and arrays are visited, scalars read from their text).
    pub fn decode(&mut self, ty: &Ty, raw: &str) -> Result<Value, SchemaError> {
        self.error = None;
        let mut de = serde_json::Deserializer::from_str(raw);
        let result = (Seed { dec: &mut *self, ty }).deserialize(&mut de).and_then(|v| de.end().map(|()| v));
        match result {
            Ok(v) => Ok(v),
            Err(e) => match self.error.take() {
                Some(err) => Err(err),
                None => self.fail(format!("invalid JSON: {e}")),
            },
        }
    }

    /// Decodes a scalar (or `null`) from its JSON text.
    fn leaf(&mut self, ty: &Ty, raw: &str) -> Result<Value, SchemaError> {
        let t = raw.trim();
        if t == "null" {
            return if ty.is_optional() { Ok(Value::None) } else { self.expected(&self.describe(ty), t) };
        }
        match ty.strip() {
            Ty::Bool => match t {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => self.expected("true or false", t),
            },
            Ty::Int => {
                let ok = t.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'));
                match (ok, t.parse::<i64>()) {
                    (true, Ok(i)) => Ok(Value::Int(i)),
                    (true, Err(_)) if t.len() > 1 => {
                        self.fail(format!("the number `{}` does not fit an Int", shown(t)))
                    }
                    _ => self.expected("an integer", t),
                }
            }
            Ty::Decimal => match self.decimal(t) {
                Some(d) => Ok(Value::Decimal(d)),
                None => self.expected("a decimal number", t),
            },
            Ty::Currency => match string_of(t).as_deref().and_then(Currency::parse) {
                Some(c) => Ok(Value::Currency(c)),
                None => self.expected("a currency code such as \"USD\"", t),
            },
            Ty::Text => match string_of(t) {
                Some(s) => Ok(Value::Text(Arc::from(s.as_ref()))),
                None => self.expected("a string", t),
            },
            Ty::Date => match string_of(t).as_deref().and_then(time::parse_date) {
                Some(d) => Ok(Value::Date(d)),
                None => self.expected("a date such as \"2026-11-25\"", t),
            },
            Ty::Timestamp => match string_of(t).as_deref().and_then(time::parse_timestamp) {
                Some(d) => Ok(Value::Timestamp(d)),
                None => self.expected("an RFC 3339 timestamp such as \"2026-11-25T09:30:00Z\"", t),
            },
            Ty::Enum(e) => {
                let def = self.pkg.enum_def(*e);
                let s = string_of(t);
                match (def, s) {
                    (Some(def), Some(s)) => match def.variant_by_wire(s.as_ref()) {
                        Some(i) => Ok(Value::Enum(i)),
                        None => {
                            let names: Vec<String> = def.variants.iter().map(|v| format!("\"{}\"", v.wire)).collect();
                            self.fail(format!(
                                "`{}` is not a {}: expected one of {}",
                                shown(t),
                                def.name,
                                names.join(", ")
                            ))
                        }
                    },
                    (Some(def), None) => self.expected(&format!("a {} (a string)", def.name), t),
                    _ => self.expected("an enum value", t),
                }
            }
            Ty::Record(_) | Ty::List(_) | Ty::Money => self.expected(&self.describe(ty), t),
            Ty::Optional(_) | Ty::NoneLit | Ty::Error => self.expected("a value", t),
        }
    }

    fn describe(&self, ty: &Ty) -> String {
        let enums = self.pkg.enum_names();
        let records = self.pkg.record_names();
        let name = canon_compiler::types::TyDisplay { ty, enums: &enums, records: &records }.to_string();
        {
            let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
            format!("{article} {name}")
        }
    }

    fn decimal(&self, t: &str) -> Option<canon_stdlib::Decimal> {
        match string_of(t) {
            Some(s) => num::parse(&s),
            None if t.starts_with('"') => None,
            None => num::parse(t),
        }
    }
}

/// Decodes one value of a type straight from the deserializer.
struct Seed<'a, 'p> {
    dec: &'a mut Decoder<'p>,
    ty: &'a Ty,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.ty.strip() {
            Ty::Int | Ty::Decimal => {
                let raw: &RawValue = Deserialize::deserialize(d)?;
                self.dec.leaf(self.ty, raw.get()).map_err(|e| {
                    self.dec.error = Some(e);
                    sde::Error::custom("schema violation")
                })
            }
            _ => d.deserialize_any(Container { dec: self.dec, ty: self.ty }),
        }
    }
}

/// Visits a JSON object or array for a record, Money or list type.
struct Container<'a, 'p> {
    dec: &'a mut Decoder<'p>,
    ty: &'a Ty,
}

impl Container<'_, '_> {
    fn wrong<E: sde::Error>(self, found: String) -> Result<Value, E> {
        let what = match self.ty.strip() {
            Ty::Money => "Money: {\"amount\": \"12.50\", \"currency\": \"USD\"}".to_string(),
            Ty::List(_) => "an array".to_string(),
            Ty::Record(_) => "an object".to_string(),
            Ty::Bool => "true or false".to_string(),
            Ty::Date => "a date such as \"2026-11-25\"".to_string(),
            Ty::Timestamp => "an RFC 3339 timestamp such as \"2026-11-25T09:30:00Z\"".to_string(),
            Ty::Currency => "a currency code such as \"USD\"".to_string(),
            _ => self.dec.describe(self.ty.strip()),
        };
        let err = self.dec.fail::<()>(format!("expected {what}, found {found}"));
        self.dec.error = err.err();
        Err(E::custom("schema violation"))
    }
}

impl<'de> Visitor<'de> for Container<'_, '_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<Value, E> {
        if self.ty.is_optional() {
            Ok(Value::None)
        } else {
            self.wrong("null".into())
        }
    }
    fn visit_bool<E: sde::Error>(self, v: bool) -> Result<Value, E> {
        if self.ty.strip() == &Ty::Bool {
            return Ok(Value::Bool(v));
        }
        self.wrong(format!("a boolean `{v}`"))
    }
    fn visit_i64<E: sde::Error>(self, v: i64) -> Result<Value, E> {
        self.wrong(format!("a number `{v}`"))
    }
    fn visit_u64<E: sde::Error>(self, v: u64) -> Result<Value, E> {
        self.wrong(format!("a number `{v}`"))
    }
    fn visit_f64<E: sde::Error>(self, v: f64) -> Result<Value, E> {
        self.wrong(format!("a number `{v}`"))
    }
    fn visit_str<E: sde::Error>(self, v: &str) -> Result<Value, E> {
        match self.ty.strip() {
            Ty::Text => return Ok(Value::Text(Arc::from(v))),
            Ty::Date => {
                if let Some(d) = time::parse_date(v) {
                    return Ok(Value::Date(d));
                }
            }
            Ty::Timestamp => {
                if let Some(t) = time::parse_timestamp(v) {
                    return Ok(Value::Timestamp(t));
                }
            }
            Ty::Currency => {
                if let Some(c) = Currency::parse(v) {
                    return Ok(Value::Currency(c));
                }
            }
            Ty::Enum(e) => {
                if let Some(i) = self.dec.pkg.enum_def(*e).and_then(|d| d.variant_by_wire(v)) {
                    return Ok(Value::Enum(i));
                }
            }
            _ => {}
        }
        // Not a valid value of the type: `leaf` words the error from the JSON text.
        if !matches!(self.ty.strip(), Ty::Record(_) | Ty::List(_) | Ty::Money | Ty::Bool) {
            let mut quoted = String::with_capacity(v.len() + 2);
            crate::encode::json_str(&mut quoted, v);
            let err = self.dec.leaf(self.ty, &quoted).err();
            self.dec.error = err;
            return Err(E::custom("schema violation"));
        }
        self.wrong(format!("a string `{}`", shown(&format!("{v:?}"))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let Ty::List(elem) = self.ty.strip() else { return self.wrong("an array".into()) };
        let mut out = Vec::new();
        loop {
            let len = self.dec.path.len();
            self.dec.path.push('/');
            self.dec.path.push_str(&out.len().to_string());
            let next = seq.next_element_seed(Seed { dec: &mut *self.dec, ty: elem })?;
            self.dec.path.truncate(len);
            match next {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::List(out.into()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        match self.ty.strip() {
            Ty::Money => {
                let mut amount = None;
                let mut currency = None;
                while let Some(KeyName(k)) = map.next_key()? {
                    let Some(k) = k else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    let len = self.dec.path.len();
                    push_key(&mut self.dec.path, &k);
                    let parsed: Result<(), SchemaError> = match k.as_ref() {
                        "amount" => {
                            let raw: &RawValue = map.next_value()?;
                            match self.dec.decimal(raw.get().trim()) {
                                Some(d) => {
                                    amount = Some(d);
                                    Ok(())
                                }
                                None => self.dec.expected("a decimal amount", raw.get()),
                            }
                        }
                        "currency" => {
                            let raw: &RawValue = map.next_value()?;
                            match string_of(raw.get()).as_deref().and_then(Currency::parse) {
                                Some(c) => {
                                    currency = Some(c);
                                    Ok(())
                                }
                                None => self.dec.expected("a currency code such as \"USD\"", raw.get()),
                            }
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            Ok(())
                        }
                    };
                    if let Err(e) = parsed {
                        self.dec.error = Some(e);
                        return Err(sde::Error::custom("schema violation"));
                    }
                    self.dec.path.truncate(len);
                }
                match (amount, currency) {
                    (Some(a), Some(c)) => Ok(Value::Money(a, c)),
                    (a, _) => {
                        push_key(&mut self.dec.path, if a.is_none() { "amount" } else { "currency" });
                        let name = if a.is_none() { "amount" } else { "currency" };
                        self.dec.error = self.dec.fail::<()>(format!("missing `{name}`")).err();
                        Err(sde::Error::custom("schema violation"))
                    }
                }
            }
            Ty::Record(r) => {
                let pkg = self.dec.pkg;
                let Some(def) = pkg.record(*r) else { return self.wrong("an object".into()) };
                let mut fields: Vec<Option<Value>> = vec![None; def.fields.len()];
                while let Some(KeyName(k)) = map.next_key()? {
                    let Some((k, i)) = k.and_then(|k| def.field_by_wire(k.as_ref()).map(|i| (k, i))) else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    let Some(f) = def.fields.get(i as usize) else { continue };
                    let len = self.dec.path.len();
                    push_key(&mut self.dec.path, &k);
                    let v = map.next_value_seed(Seed { dec: &mut *self.dec, ty: &f.ty })?;
                    self.dec.path.truncate(len);
                    if let Some(slot) = fields.get_mut(i as usize) {
                        *slot = Some(v);
                    }
                }
                let mut out = Vec::with_capacity(fields.len());
                for (f, v) in def.fields.iter().zip(fields) {
                    match v {
                        Some(v) => out.push(v),
                        None if f.ty.is_optional() => out.push(Value::None),
                        None => {
                            push_key(&mut self.dec.path, &f.wire);
                            let what = self.dec.describe(&f.ty);
                            self.dec.error =
                                self.dec.fail::<()>(format!("missing required field `{}` ({what})", f.wire)).err();
                            return Err(sde::Error::custom("schema violation"));
                        }
                    }
                }
                Ok(Value::Record(out.into()))
            }
            _ => self.wrong("an object".into()),
        }
    }
}
