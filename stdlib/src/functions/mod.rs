//! The built-in functions of LANGUAGE.md §10: one file per function with its signatures, docs, examples and native code.
//!
//! Each `functions/<name>.rs` is the one place a built-in is declared: a
//! `pub static BUILTIN: Builtin` with its typed overloads (which the checker
//! resolves calls against, each naming the [`Op`] or [`Aggregate`] it lowers
//! to), docs and examples (which hover, completion and signature help show,
//! and which jit/tests/builtin_examples.rs runs through both engines), next to
//! the native functions the interpreter calls. The aggregates `sum`, `count`,
//! `any` and `all` take a lambda; their files hold the accumulation steps. The
//! list functions `map`, `filter`, `find` and `sort_by` take a lambda too;
//! `distinct`, `first` and `last` take the list alone.

use std::fmt;

pub mod abs;
pub mod add_days;
pub mod all;
pub mod allocate;
pub mod allocate_even;
pub mod amount;
pub mod any;
pub mod contains;
pub mod convert;
pub mod count;
pub mod currency;
pub mod date;
pub mod day;
pub mod days_between;
pub mod distinct;
pub mod end_of_month;
pub mod ends_with;
pub mod filter;
pub mod find;
pub mod first;
pub mod last;
pub mod len;
pub mod lower;
pub mod map;
pub mod max;
pub mod min;
pub mod minor_units;
pub mod money;
pub mod month;
pub mod round;
pub mod sort_by;
pub mod start_of_month;
pub mod starts_with;
pub mod sum;
pub mod trim;
pub mod upper;
pub mod weekday;
pub mod year;

/// The description of one built-in function: everything the checker, both
/// engines and the language server know about it.
#[derive(Debug)]
pub struct Builtin {
    /// The name it is called by.
    pub name: &'static str,
    /// Every accepted signature, in the order messages and signature help list them.
    pub overloads: &'static [Overload],
    /// One sentence for completion lists and hover headers.
    pub summary: &'static str,
    /// Longer Markdown: behaviour, edge cases and faults.
    pub docs: &'static str,
    /// Canon expressions with the JSON output of their value (LANGUAGE.md §3); run as tests.
    pub examples: &'static [Example],
}

/// One accepted signature of a built-in and the operation it resolves to.
#[derive(Debug)]
pub struct Overload {
    pub params: &'static [Param],
    pub result: TypeRef,
    pub target: Target,
}

/// A parameter of an overload.
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: TypeRef,
}

/// A type a built-in takes or returns, in terms the standard library can name
/// (the compiler maps it to its own types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeRef {
    Int,
    Decimal,
    Money,
    Text,
    Bool,
    Date,
    Timestamp,
    Currency,
    /// The built-in enum `Rounding`.
    Rounding,
    /// The built-in enum `Weekday`.
    Weekday,
    /// The built-in enum `SortOrder` (`Ascending`, `Descending`).
    SortOrder,
    /// Any type `T` (the elements of a list).
    Var,
    /// Any type `U` a lambda gives (`map`'s result elements).
    Out,
    /// An ordered type `K` a lambda gives (`sort_by`'s key): Int, Decimal, Money, Date, Timestamp or Text.
    Key,
    /// `List<T>`.
    List(&'static TypeRef),
    /// `T?`.
    Optional(&'static TypeRef),
    /// A lambda `x => U` whose parameter is bound to the elements of the list argument before it.
    Lambda(&'static TypeRef),
}

impl TypeRef {
    /// The name of the type's outermost constructor (`List` for `List<T>`).
    pub fn name(self) -> &'static str {
        match self {
            TypeRef::Int => "Int",
            TypeRef::Decimal => "Decimal",
            TypeRef::Money => "Money",
            TypeRef::Text => "Text",
            TypeRef::Bool => "Bool",
            TypeRef::Date => "Date",
            TypeRef::Timestamp => "Timestamp",
            TypeRef::Currency => "Currency",
            TypeRef::Rounding => "Rounding",
            TypeRef::Weekday => "Weekday",
            TypeRef::SortOrder => "SortOrder",
            TypeRef::Var => "T",
            TypeRef::Out => "U",
            TypeRef::Key => "K",
            TypeRef::List(_) => "List",
            TypeRef::Optional(t) => t.name(),
            TypeRef::Lambda(_) => "lambda",
        }
    }
}

/// The type in Canon syntax: `Int`, `List<T>`, `Money?`, `x => Bool`.
impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::List(t) => write!(f, "List<{t}>"),
            TypeRef::Optional(t) => write!(f, "{t}?"),
            TypeRef::Lambda(t) => write!(f, "x => {t}"),
            named => f.write_str(named.name()),
        }
    }
}

impl Overload {
    /// The signature in Canon type syntax: `(Decimal, Int) -> Decimal`.
    pub fn render(&self) -> String {
        let params: Vec<String> = self.params.iter().map(|p| p.ty.to_string()).collect();
        format!("({}) -> {}", params.join(", "), self.result)
    }
}

impl Builtin {
    /// Every signature, rendered (see [`Overload::render`]).
    pub fn signatures(&self) -> impl Iterator<Item = String> + '_ {
        self.overloads.iter().map(Overload::render)
    }
}

/// What a call resolves to: an operation on evaluated arguments, or an
/// aggregate that evaluates its lambda once per list element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Op(Op),
    Aggregate(Aggregate),
}

/// A built-in function, resolved to one overload (the compiler's `ir::Builtin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    RoundDecimal,
    RoundMoney,
    /// `round(m[, mode])`: a Money to its currency's minor unit.
    RoundMoneyToUnit,
    AbsInt,
    AbsDecimal,
    AbsMoney,
    Min(OrdKind),
    Max(OrdKind),
    Money,
    Amount,
    Currency,
    Convert,
    LenText,
    LenList,
    Upper,
    Lower,
    Trim,
    StartsWith,
    EndsWith,
    Contains,
    Date,
    Year,
    Month,
    Day,
    Weekday,
    AddDays,
    DaysBetween,
    StartOfMonth,
    EndOfMonth,
    MinorUnits,
    /// `allocate` with `List<Decimal>` weights.
    Allocate,
    /// `allocate` with `List<Int>` weights.
    AllocateInt,
    AllocateEven,
    /// `first(xs)`: the first element, or none.
    First,
    /// `last(xs)`: the last element, or none.
    Last,
    /// `distinct(xs)`: the first occurrence of each value, in order.
    Distinct,
}

/// An aggregate over a list, resolved to one overload (the compiler's `ir::Aggregate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    SumInt,
    SumDecimal,
    SumMoney,
    Count,
    Any,
    All,
    /// `map(xs, x => e)`: a list of the values of `e`.
    Map,
    /// `filter(xs, x => c)`: the elements for which `c` holds.
    Filter,
    /// `find(xs, x => c)`: the first element for which `c` holds, or none.
    Find,
    /// `sort_by(xs, x => k)` (stable): by the key's kind, ascending or descending
    /// (the checker fills in both from the lambda's type and the order argument).
    SortBy {
        kind: OrdKind,
        descending: bool,
    },
}

/// How two values of an ordered type compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrdKind {
    Int,
    Decimal,
    Money,
    Date,
    Timestamp,
    Text,
}

/// A Canon expression and the exact JSON (compact, LANGUAGE.md §3) of its value.
#[derive(Debug)]
pub struct Example {
    pub expr: &'static str,
    pub json: &'static str,
}

/// Every built-in, sorted by name.
pub static ALL: &[&Builtin] = &[
    &abs::BUILTIN,
    &add_days::BUILTIN,
    &all::BUILTIN,
    &allocate::BUILTIN,
    &allocate_even::BUILTIN,
    &amount::BUILTIN,
    &any::BUILTIN,
    &contains::BUILTIN,
    &convert::BUILTIN,
    &count::BUILTIN,
    &currency::BUILTIN,
    &date::BUILTIN,
    &day::BUILTIN,
    &days_between::BUILTIN,
    &distinct::BUILTIN,
    &end_of_month::BUILTIN,
    &ends_with::BUILTIN,
    &filter::BUILTIN,
    &find::BUILTIN,
    &first::BUILTIN,
    &last::BUILTIN,
    &len::BUILTIN,
    &lower::BUILTIN,
    &map::BUILTIN,
    &max::BUILTIN,
    &min::BUILTIN,
    &minor_units::BUILTIN,
    &money::BUILTIN,
    &month::BUILTIN,
    &round::BUILTIN,
    &sort_by::BUILTIN,
    &start_of_month::BUILTIN,
    &starts_with::BUILTIN,
    &sum::BUILTIN,
    &trim::BUILTIN,
    &upper::BUILTIN,
    &weekday::BUILTIN,
    &year::BUILTIN,
];

/// The built-in called `name`, if any.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    let index = ALL.binary_search_by(|b| b.name.cmp(name)).ok()?;
    ALL.get(index).copied()
}

/// Keeps the first of two equal values (shared tie rule of `min` and `max`).
fn pick<T>(a: T, b: T, take_b: bool) -> T {
    if take_b {
        b
    } else {
        a
    }
}

#[cfg(test)]
pub(crate) mod check {
    //! Test support: builds values and their JSON output so each built-in's
    //! examples can be re-derived from its native code.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::Builtin;
    use crate::money::Money;
    use crate::{num, time, Currency, Date, Decimal, Timestamp};

    pub fn dec(s: &str) -> Decimal {
        num::parse(s).unwrap_or_else(|| panic!("bad decimal {s}"))
    }
    pub fn cur(s: &str) -> Currency {
        Currency::parse(s).unwrap()
    }
    pub fn money(amount: &str, currency: &str) -> Money {
        (dec(amount), cur(currency))
    }
    pub fn date(s: &str) -> Date {
        time::parse_date(s).unwrap_or_else(|| panic!("bad date {s}"))
    }
    pub fn ts(s: &str) -> Timestamp {
        time::parse_timestamp(s).unwrap_or_else(|| panic!("bad timestamp {s}"))
    }
    pub fn j_dec(d: Decimal) -> String {
        format!("\"{}\"", num::to_string(&d))
    }
    pub fn j_money(m: Money) -> String {
        format!("{{\"amount\":\"{}\",\"currency\":\"{}\"}}", num::to_string(&m.0), m.1.as_str())
    }
    pub fn j_opt_money(m: Option<Money>) -> String {
        m.map_or_else(|| "null".to_owned(), j_money)
    }
    pub fn j_date(d: Date) -> String {
        let mut out = String::from("\"");
        time::format_date(d, &mut out);
        out.push('"');
        out
    }
    pub fn j_ts(t: Timestamp) -> String {
        let mut out = String::from("\"");
        time::format_timestamp(t, &mut out);
        out.push('"');
        out
    }
    pub fn j_text(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
    pub fn j_list(items: &[String]) -> String {
        format!("[{}]", items.join(","))
    }

    /// The builtin's examples are exactly `expected`, in order.
    pub fn assert_examples(b: &Builtin, expected: &[(&str, String)]) {
        let actual: Vec<(&str, &str)> = b.examples.iter().map(|e| (e.expr, e.json)).collect();
        let expected: Vec<(&str, &str)> = expected.iter().map(|(e, j)| (*e, j.as_str())).collect();
        assert_eq!(actual, expected, "examples of `{}`", b.name);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn registry_is_sorted_complete_and_documented() {
        let names: Vec<&str> = ALL.iter().map(|b| b.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "ALL must be sorted and unique");
        let spec = [
            "round",
            "abs",
            "min",
            "max",
            "money",
            "amount",
            "currency",
            "convert",
            "len",
            "upper",
            "lower",
            "trim",
            "starts_with",
            "ends_with",
            "contains",
            "date",
            "year",
            "month",
            "day",
            "weekday",
            "add_days",
            "days_between",
            "start_of_month",
            "end_of_month",
            "sum",
            "count",
            "any",
            "all",
            "minor_units",
            "allocate",
            "allocate_even",
            "map",
            "filter",
            "find",
            "sort_by",
            "distinct",
            "first",
            "last",
        ];
        assert_eq!(names.len(), spec.len());
        for name in spec {
            let b = lookup(name).unwrap_or_else(|| panic!("missing built-in {name}"));
            assert_eq!(b.name, name);
            assert!(!b.overloads.is_empty(), "{name}: overloads");
            assert!(b.summary.ends_with('.') && !b.summary.is_empty(), "{name}: summary");
            assert!(b.docs.len() > 40, "{name}: docs");
            assert!(b.examples.len() >= 2, "{name}: at least two examples");
            for e in b.examples {
                assert!(e.expr.contains(name), "{name}: example `{}` does not call it", e.expr);
                assert!(!e.json.contains(": ") && !e.json.contains(", "), "{name}: JSON must be compact: {}", e.json);
            }
            for s in b.signatures() {
                assert!(s.starts_with('(') && s.contains(") -> "), "{name}: signature {s}");
            }
        }
        assert!(lookup("nope").is_none());
        assert!(lookup("").is_none());
    }

    #[test]
    fn overloads_are_distinct_and_render_as_canon_types() {
        for b in ALL {
            for (i, o) in b.overloads.iter().enumerate() {
                assert!(o.params.iter().all(|p| !p.name.is_empty()), "{}: parameter names", b.name);
                let same = b.overloads.iter().skip(i + 1).any(|q| q.render() == o.render());
                assert!(!same, "{}: overload {} twice", b.name, o.render());
            }
        }
        let round: Vec<String> = lookup("round").unwrap().signatures().collect();
        assert_eq!(round[1], "(Decimal, Int, Rounding) -> Decimal");
        let sum: Vec<String> = lookup("sum").unwrap().signatures().collect();
        assert_eq!(sum[2], "(List<T>, x => Money) -> Money?");
        assert_eq!(lookup("len").unwrap().overloads[1].target, Target::Op(Op::LenList));
    }

    #[test]
    fn pick_keeps_first_on_ties() {
        assert_eq!(pick(1, 2, false), 1);
        assert_eq!(pick(1, 2, true), 2);
    }
}
