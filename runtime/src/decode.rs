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
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::value::Value;

/// A schema violation: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// JSON Pointer with wire names, such as `/data/hours`.
    pub path: String,
    pub message: String,
}

/// An object's members in input order, borrowed from the input.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                    let v: &'de RawValue = m.next_value()?;
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads the members of a JSON object, or `None` if the text is not one.
pub(crate) fn members(raw: &str) -> Option<Vec<(Cow<'_, str>, &RawValue)>> {
    serde_json::from_str::<Members<'_>>(raw).ok().map(|m| m.0)
}

fn push_key(path: &mut String, key: &str) {
    path.push('/');
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

/// The decoding context: the package (for type definitions) and the JSON path so far.
pub struct Decoder<'p> {
    pub pkg: &'p ir::Package,
    path: String,
}

impl<'p> Decoder<'p> {
    pub fn new(pkg: &'p ir::Package, root: &str) -> Decoder<'p> {
        Decoder { pkg, path: root.to_string() }
    }

    fn fail<T>(&self, message: String) -> Result<T, SchemaError> {
        Err(SchemaError { path: if self.path.is_empty() { "/".into() } else { self.path.clone() }, message })
    }

    fn expected<T>(&self, what: &str, raw: &str) -> Result<T, SchemaError> {
        self.fail(format!("expected {what}, found {} `{}`", kind_of(raw), shown(raw)))
    }

    /// Decodes the JSON text `raw` as a value of type `ty`.
    pub fn decode(&mut self, ty: &Ty, raw: &str) -> Result<Value, SchemaError> {
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
                    (true, Err(_)) if t.len() > 1 => self.fail(format!("the number `{}` does not fit an Int", shown(t))),
                    _ => self.expected("an integer", t),
                }
            }
            Ty::Decimal => match self.decimal(t) {
                Some(d) => Ok(Value::Decimal(d)),
                None => self.expected("a decimal number", t),
            },
            Ty::Money => self.money(t),
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
                    (Some(def), Some(s)) => match def.by_wire.get(s.as_ref()) {
                        Some(i) => Ok(Value::Enum(*i)),
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
            Ty::Record(r) => self.record(*r, t),
            Ty::List(elem) => {
                let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(t) else { return self.expected("an array", t) };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = self.path.len();
                    self.path.push('/');
                    self.path.push_str(&i.to_string());
                    out.push(self.decode(elem, item.get())?);
                    self.path.truncate(len);
                }
                Ok(Value::List(out.into()))
            }
            Ty::Optional(_) | Ty::NoneLit | Ty::Error => self.expected("a value", t),
        }
    }

    fn describe(&self, ty: &Ty) -> String {
        let enums = self.pkg.enum_names();
        let records = self.pkg.record_names();
        let name = canon_compiler::types::TyDisplay { ty, enums: &enums, records: &records }.to_string();
        format!("a {name}")
    }

    fn decimal(&self, t: &str) -> Option<canon_stdlib::Decimal> {
        match string_of(t) {
            Some(s) => num::parse(&s),
            None if t.starts_with('"') => None,
            None => num::parse(t),
        }
    }

    fn money(&mut self, t: &str) -> Result<Value, SchemaError> {
        let Some(members) = members(t) else { return self.expected("Money: {\"amount\": \"12.50\", \"currency\": \"USD\"}", t) };
        let mut amount = None;
        let mut currency = None;
        for (k, v) in &members {
            let len = self.path.len();
            push_key(&mut self.path, k);
            match k.as_ref() {
                "amount" => match self.decimal(v.get().trim()) {
                    Some(d) => amount = Some(d),
                    None => return self.expected("a decimal amount", v.get()),
                },
                "currency" => match string_of(v.get()).as_deref().and_then(Currency::parse) {
                    Some(c) => currency = Some(c),
                    None => return self.expected("a currency code such as \"USD\"", v.get()),
                },
                _ => {}
            }
            self.path.truncate(len);
        }
        for (name, missing) in [("amount", amount.is_none()), ("currency", currency.is_none())] {
            if missing {
                push_key(&mut self.path, name);
                return self.fail(format!("missing `{name}`"));
            }
        }
        match (amount, currency) {
            (Some(a), Some(c)) => Ok(Value::Money(a, c)),
            _ => self.fail("invalid Money".into()),
        }
    }

    fn record(&mut self, r: canon_compiler::types::RecordId, t: &str) -> Result<Value, SchemaError> {
        let pkg = self.pkg;
        let Some(def) = pkg.record(r) else { return self.expected("an object", t) };
        let Some(members) = members(t) else { return self.expected("an object", t) };
        let mut fields: Vec<Option<Value>> = vec![None; def.fields.len()];
        for (k, v) in &members {
            let Some(&i) = def.by_wire.get(k.as_ref()) else { continue };
            let Some(f) = def.fields.get(i as usize) else { continue };
            let len = self.path.len();
            push_key(&mut self.path, k);
            let value = self.decode(&f.ty, v.get())?;
            self.path.truncate(len);
            if let Some(slot) = fields.get_mut(i as usize) {
                *slot = Some(value);
            }
        }
        let mut out = Vec::with_capacity(fields.len());
        for (f, v) in def.fields.iter().zip(fields) {
            match v {
                Some(v) => out.push(v),
                None if f.ty.is_optional() => out.push(Value::None),
                None => {
                    push_key(&mut self.path, &f.wire);
                    let what = self.describe(&f.ty);
                    return self.fail(format!("missing required field `{}` ({what})", f.wire));
                }
            }
        }
        Ok(Value::Record(out.into()))
    }
}
