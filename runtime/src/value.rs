//! Run-time values. A value carries no type: the checked package's types say
//! how to read it (an enum value is its variant index, a record its fields in
//! declaration order, an optional either `None` or the value itself).

use std::cmp::Ordering;
use std::sync::Arc;

use canon_compiler::ir;
use canon_compiler::types::{RecordId, Ty};
use canon_stdlib::{num, Currency, Date, Decimal, Timestamp};

#[derive(Debug, Clone)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Decimal(Decimal),
    Money(Decimal, Currency),
    Currency(Currency),
    Text(Arc<str>),
    Date(Date),
    Timestamp(Timestamp),
    Enum(u32),
    Record(Arc<[Value]>),
    List(Arc<[Value]>),
}

impl Value {
    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }
    pub fn text(s: &str) -> Value {
        Value::Text(Arc::from(s))
    }
}

/// Equality of LANGUAGE.md §3: structural, numbers and Money by value.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::None, Value::None) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Decimal(a), Value::Decimal(b)) => num::cmp(a, b) == Ordering::Equal,
            (Value::Int(a), Value::Decimal(b)) | (Value::Decimal(b), Value::Int(a)) => {
                num::cmp(&num::from_int(*a), b) == Ordering::Equal
            }
            (Value::Money(a, c), Value::Money(b, d)) => c == d && num::cmp(a, b) == Ordering::Equal,
            (Value::Currency(a), Value::Currency(b)) => a == b,
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Date(a), Value::Date(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            (Value::Enum(a), Value::Enum(b)) => a == b,
            (Value::Record(a), Value::Record(b)) | (Value::List(a), Value::List(b)) => a == b,
            _ => false,
        }
    }
}

/// A hashable table key part (decimals normalised so `1.0` and `1.00` meet).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyPart {
    None,
    Bool(bool),
    Int(i64),
    Decimal(Decimal),
    Money(Decimal, Currency),
    Currency(Currency),
    Text(Arc<str>),
    Date(i32),
    Timestamp(i64),
    Enum(u32),
    Other(String),
}

impl KeyPart {
    /// The key part as text, for traces: an enum variant by its wire name
    /// (as events and data files write it), given the enum.
    pub fn describe(&self, variants: Option<&ir::EnumDef>) -> String {
        let mut s = String::new();
        self.describe_into(variants, &mut s);
        s
    }

    /// [`KeyPart::describe`], appended to `s`.
    pub fn describe_into(&self, variants: Option<&ir::EnumDef>, s: &mut String) {
        match self {
            KeyPart::None => s.push_str("none"),
            KeyPart::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            KeyPart::Int(i) => s.push_str(itoa::Buffer::new().format(*i)),
            KeyPart::Decimal(d) => num::format(d, s),
            KeyPart::Money(d, c) => canon_stdlib::money::format((*d, *c), s),
            KeyPart::Currency(c) => s.push_str(c.as_str()),
            KeyPart::Text(t) => s.push_str(t),
            KeyPart::Date(d) => canon_stdlib::time::format_date(Date(*d), s),
            KeyPart::Timestamp(t) => canon_stdlib::time::format_timestamp(Timestamp(*t), s),
            KeyPart::Enum(e) => match variants.and_then(|d| d.variants.get(*e as usize)) {
                Some(v) => s.push_str(&v.wire),
                None => {
                    s.push_str("variant ");
                    s.push_str(itoa::Buffer::new().format(*e));
                }
            },
            KeyPart::Other(o) => s.push_str(o),
        }
    }

    /// A lookup's key as text, for traces: its parts joined by `, `, each
    /// read as the type of its key field of `table`.
    pub fn describe_key(pkg: &ir::Package, table: &ir::TableDef, key: &[KeyPart]) -> String {
        KeyPart::describe_key_of(pkg, table.record, &table.keys, key)
    }

    /// [`KeyPart::describe_key`] of a key of record `record` whose parts are its fields `keys`.
    pub fn describe_key_of(pkg: &ir::Package, record: RecordId, keys: &[u32], key: &[KeyPart]) -> String {
        let fields = pkg.record(record).map(|r| r.fields.as_slice()).unwrap_or(&[]);
        let mut s = String::with_capacity(24);
        for (i, part) in key.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let ty = keys.get(i).and_then(|f| fields.get(*f as usize)).map(|f| f.ty.strip());
            let variants = match ty {
                Some(Ty::Enum(e)) => pkg.enum_def(*e),
                _ => None,
            };
            part.describe_into(variants, &mut s);
        }
        s
    }

    pub fn of(v: &Value) -> KeyPart {
        match v {
            Value::None => KeyPart::None,
            Value::Bool(b) => KeyPart::Bool(*b),
            Value::Int(i) => KeyPart::Int(*i),
            Value::Decimal(d) => KeyPart::Decimal(d.normalize()),
            Value::Money(d, c) => KeyPart::Money(d.normalize(), *c),
            Value::Currency(c) => KeyPart::Currency(*c),
            Value::Text(t) => KeyPart::Text(t.clone()),
            Value::Date(d) => KeyPart::Date(d.0),
            Value::Timestamp(t) => KeyPart::Timestamp(t.0),
            Value::Enum(e) => KeyPart::Enum(*e),
            other => KeyPart::Other(format!("{other:?}")),
        }
    }
}
