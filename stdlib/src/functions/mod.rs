//! The built-in functions of LANGUAGE.md §10: one file per function with its signatures, docs, examples and native code.
//!
//! Each `functions/<name>.rs` holds a `pub static BUILTIN: Builtin` (what the
//! compiler, `canon explain`-style docs and the language server's hover show,
//! and whose examples the interpreter runs as tests) next to the native
//! functions the engines call. The aggregates `sum`, `count`, `any` and `all`
//! take a lambda that only the interpreter can evaluate; their files hold
//! the docs, examples and the accumulation helpers.

pub mod abs;
pub mod add_days;
pub mod all;
pub mod amount;
pub mod any;
pub mod contains;
pub mod convert;
pub mod count;
pub mod currency;
pub mod date;
pub mod day;
pub mod days_between;
pub mod end_of_month;
pub mod ends_with;
pub mod len;
pub mod lower;
pub mod max;
pub mod min;
pub mod money;
pub mod month;
pub mod round;
pub mod start_of_month;
pub mod starts_with;
pub mod sum;
pub mod trim;
pub mod upper;
pub mod weekday;
pub mod year;

/// The description of one built-in function.
#[derive(Debug)]
pub struct Builtin {
    /// The name it is called by.
    pub name: &'static str,
    /// Every accepted signature, in Canon type syntax (`(Decimal, Int) -> Decimal`).
    pub signatures: &'static [&'static str],
    /// One sentence for completion lists and hover headers.
    pub summary: &'static str,
    /// Longer Markdown: behaviour, edge cases and faults.
    pub docs: &'static str,
    /// Canon expressions with the JSON output of their value (LANGUAGE.md §3); run as tests.
    pub examples: &'static [Example],
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
    &amount::BUILTIN,
    &any::BUILTIN,
    &contains::BUILTIN,
    &convert::BUILTIN,
    &count::BUILTIN,
    &currency::BUILTIN,
    &date::BUILTIN,
    &day::BUILTIN,
    &days_between::BUILTIN,
    &end_of_month::BUILTIN,
    &ends_with::BUILTIN,
    &len::BUILTIN,
    &lower::BUILTIN,
    &max::BUILTIN,
    &min::BUILTIN,
    &money::BUILTIN,
    &month::BUILTIN,
    &round::BUILTIN,
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
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]
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
        format!(
            "{{\"amount\":\"{}\",\"currency\":\"{}\"}}",
            num::to_string(&m.0),
            m.1.as_str()
        )
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
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]
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
        ];
        assert_eq!(names.len(), spec.len());
        for name in spec {
            let b = lookup(name).unwrap_or_else(|| panic!("missing built-in {name}"));
            assert_eq!(b.name, name);
            assert!(!b.signatures.is_empty(), "{name}: signatures");
            assert!(
                b.summary.ends_with('.') && !b.summary.is_empty(),
                "{name}: summary"
            );
            assert!(b.docs.len() > 40, "{name}: docs");
            assert!(b.examples.len() >= 2, "{name}: at least two examples");
            for e in b.examples {
                assert!(
                    e.expr.contains(name),
                    "{name}: example `{}` does not call it",
                    e.expr
                );
                assert!(
                    !e.json.contains(": ") && !e.json.contains(", "),
                    "{name}: JSON must be compact: {}",
                    e.json
                );
            }
            for s in b.signatures {
                assert!(
                    s.starts_with('(') && s.contains(") -> "),
                    "{name}: signature {s}"
                );
            }
        }
        assert!(lookup("nope").is_none());
        assert!(lookup("").is_none());
    }

    #[test]
    fn pick_keeps_first_on_ties() {
        assert_eq!(pick(1, 2, false), 1);
        assert_eq!(pick(1, 2, true), 2);
    }
}
