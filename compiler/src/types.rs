//! Canon's types (LANGUAGE.md §3) as the checker and both engines see them.

use std::fmt;
use std::sync::Arc;

/// Index of an enum in [`crate::ir::Package::enums`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnumId(pub u32);
/// Index of a record (or event) in [`crate::ir::Package::records`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u32);

/// The built-in enum `Rounding` (always enum 0).
pub const ROUNDING: EnumId = EnumId(0);
/// The built-in enum `Weekday` (always enum 1).
pub const WEEKDAY: EnumId = EnumId(1);
/// The built-in enum `SortOrder` (always enum 2): `sort_by`'s optional order.
pub const SORT_ORDER: EnumId = EnumId(2);
/// The built-in record `Envelope`, the type of `meta` (always record 0).
pub const ENVELOPE: RecordId = RecordId(0);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    Bool,
    Int,
    Decimal,
    Money,
    Currency,
    Text,
    Date,
    Timestamp,
    Enum(EnumId),
    Record(RecordId),
    List(Arc<Ty>),
    Optional(Arc<Ty>),
    /// The type of a bare `none` before a context gives it one.
    NoneLit,
    /// A type that could not be determined because of an error already
    /// reported; it fits everywhere, so one mistake is reported once.
    Error,
}

impl Ty {
    /// `T?`; optionals never nest (`T??` is `T?`).
    pub fn optional(t: Ty) -> Ty {
        match t {
            Ty::Optional(_) | Ty::NoneLit | Ty::Error => t,
            t => Ty::Optional(Arc::new(t)),
        }
    }
    pub fn list(t: Ty) -> Ty {
        Ty::List(Arc::new(t))
    }
    pub fn is_optional(&self) -> bool {
        matches!(self, Ty::Optional(_) | Ty::NoneLit)
    }
    /// The type without its `?`.
    pub fn strip(&self) -> &Ty {
        match self {
            Ty::Optional(t) => t,
            t => t,
        }
    }
    pub fn is_error(&self) -> bool {
        match self {
            Ty::Error => true,
            Ty::List(t) | Ty::Optional(t) => t.is_error(),
            _ => false,
        }
    }
    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Decimal)
    }
    /// The kind of ordering `<` uses on this type, if it has one.
    pub fn ord_kind(&self) -> Option<OrdKind> {
        Some(match self {
            Ty::Int => OrdKind::Int,
            Ty::Decimal => OrdKind::Decimal,
            Ty::Money => OrdKind::Money,
            Ty::Date => OrdKind::Date,
            Ty::Timestamp => OrdKind::Timestamp,
            Ty::Text => OrdKind::Text,
            _ => return None,
        })
    }
}

/// How two values of an ordered type compare (declared with the built-ins `min` and `max`).
pub use canon_stdlib::functions::OrdKind;

/// Names types for messages; needs the package for enum and record names.
pub struct TyDisplay<'a> {
    pub ty: &'a Ty,
    pub enums: &'a [String],
    pub records: &'a [String],
}

impl<'a> fmt::Display for TyDisplay<'a> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sub = |ty: &'a Ty| -> TyDisplay<'a> { TyDisplay { ty, enums: self.enums, records: self.records } };
        match self.ty {
            Ty::Bool => write!(f, "Bool"),
            Ty::Int => write!(f, "Int"),
            Ty::Decimal => write!(f, "Decimal"),
            Ty::Money => write!(f, "Money"),
            Ty::Currency => write!(f, "Currency"),
            Ty::Text => write!(f, "Text"),
            Ty::Date => write!(f, "Date"),
            Ty::Timestamp => write!(f, "Timestamp"),
            Ty::Enum(e) => write!(f, "{}", self.enums.get(e.0 as usize).map(String::as_str).unwrap_or("?")),
            Ty::Record(r) => write!(f, "{}", self.records.get(r.0 as usize).map(String::as_str).unwrap_or("?")),
            Ty::List(t) => write!(f, "List<{}>", sub(t)),
            Ty::Optional(t) => write!(f, "{}?", sub(t)),
            Ty::NoneLit => write!(f, "none"),
            Ty::Error => write!(f, "?"),
        }
    }
}
