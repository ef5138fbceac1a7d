//! `max`: the larger of two values of one ordered type (Int, Decimal, Money, Date, Timestamp, Text).

use super::{pick, Builtin, Example, Op, OrdKind, Overload, Param, Target, TypeRef};
use crate::money::{self, Money};
use crate::{num, Date, Decimal, Fault, Timestamp};
use std::cmp::Ordering;

pub static BUILTIN: Builtin = Builtin {
    name: "max",
    overloads: &[
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Int }, Param { name: "b", ty: TypeRef::Int }],
            result: TypeRef::Int,
            target: Target::Op(Op::Max(OrdKind::Int)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Decimal }, Param { name: "b", ty: TypeRef::Decimal }],
            result: TypeRef::Decimal,
            target: Target::Op(Op::Max(OrdKind::Decimal)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Money }, Param { name: "b", ty: TypeRef::Money }],
            result: TypeRef::Money,
            target: Target::Op(Op::Max(OrdKind::Money)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Date }, Param { name: "b", ty: TypeRef::Date }],
            result: TypeRef::Date,
            target: Target::Op(Op::Max(OrdKind::Date)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Timestamp }, Param { name: "b", ty: TypeRef::Timestamp }],
            result: TypeRef::Timestamp,
            target: Target::Op(Op::Max(OrdKind::Timestamp)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Text }, Param { name: "b", ty: TypeRef::Text }],
            result: TypeRef::Text,
            target: Target::Op(Op::Max(OrdKind::Text)),
        },
    ],
    summary: "The larger of two values of one ordered type.",
    docs: r#"`max(a, b)` is the larger of `a` and `b`. Numbers and Money compare
by value, dates and timestamps chronologically (timestamps as UTC instants),
Text by Unicode code point. When the two are equal by value the first
argument is returned, which matters for the scale of a Decimal:
`max(2.5, 2.50)` is `2.5`.

Faults: two Money values of different currencies reject with
`CURRENCY_MISMATCH`."#,
    examples: &[
        Example { expr: "max(3, 7)", json: "7" },
        Example { expr: "max(2.5, 2.50)", json: r#""2.5""# },
        Example { expr: "max(10.00 USD, 9.99 USD)", json: r#"{"amount":"10.00","currency":"USD"}"# },
        Example {
            expr: r#"max(@"2026-03-02T08:15:00+02:00", @"2026-03-02T07:00:00Z")"#,
            json: r#""2026-03-02T07:00:00Z""#,
        },
        Example { expr: r#"max("apple", "Banana")"#, json: r#""apple""# },
    ],
};

/// `max` on Ints.
pub fn max_int(a: i64, b: i64) -> i64 {
    pick(a, b, b > a)
}

/// `max` on Decimals, by value; the first on a tie.
pub fn max_decimal(a: Decimal, b: Decimal) -> Decimal {
    pick(a, b, num::cmp(&a, &b) == Ordering::Less)
}

/// `max` on Money of one currency, by amount; the first on a tie.
pub fn max_money(a: Money, b: Money) -> Result<Money, Fault> {
    Ok(pick(a, b, money::cmp(a, b, money::MoneyOp::Max)? == Ordering::Less))
}

/// `max` on Dates.
pub fn max_date(a: Date, b: Date) -> Date {
    pick(a, b, b > a)
}

/// `max` on Timestamps.
pub fn max_timestamp(a: Timestamp, b: Timestamp) -> Timestamp {
    pick(a, b, b > a)
}

/// `max` on Text, by code point.
pub fn max_text<'a>(a: &'a str, b: &'a str) -> &'a str {
    pick(a, b, b > a)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    #[test]
    fn examples_hold() {
        assert_examples(
            &BUILTIN,
            &[
                ("max(3, 7)", max_int(3, 7).to_string()),
                ("max(2.5, 2.50)", j_dec(max_decimal(dec("2.5"), dec("2.50")))),
                ("max(10.00 USD, 9.99 USD)", j_money(max_money(money("10.00", "USD"), money("9.99", "USD")).unwrap())),
                (
                    r#"max(@"2026-03-02T08:15:00+02:00", @"2026-03-02T07:00:00Z")"#,
                    j_ts(max_timestamp(ts("2026-03-02T08:15:00+02:00"), ts("2026-03-02T07:00:00Z"))),
                ),
                (r#"max("apple", "Banana")"#, j_text(max_text("apple", "Banana"))),
            ],
        );
    }

    #[test]
    fn ties_and_faults() {
        assert_eq!(num::to_string(&max_decimal(dec("2.50"), dec("2.5"))), "2.50");
        assert_eq!(
            max_money(money("1", "USD"), money("1", "EUR")),
            Err(Fault::CurrencyMismatch { op: money::MoneyOp::Max, left: money("1", "USD"), right: money("1", "EUR") })
        );
        assert_eq!(max_date(date("2026-01-01"), date("2025-12-31")), date("2026-01-01"));
        assert_eq!(max_int(i64::MIN, i64::MAX), i64::MAX);
    }
}
