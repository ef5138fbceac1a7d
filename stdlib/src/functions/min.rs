//! `min`: the smaller of two values of one ordered type (Int, Decimal, Money, Date, Timestamp, Text).

use super::{pick, Builtin, Example, Op, OrdKind, Overload, Param, Target, TypeRef};
use crate::money::{self, Money};
use crate::{num, Date, Decimal, Fault, Timestamp};
use std::cmp::Ordering;

pub static BUILTIN: Builtin = Builtin {
    name: "min",
    overloads: &[
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Int }, Param { name: "b", ty: TypeRef::Int }],
            result: TypeRef::Int,
            target: Target::Op(Op::Min(OrdKind::Int)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Decimal }, Param { name: "b", ty: TypeRef::Decimal }],
            result: TypeRef::Decimal,
            target: Target::Op(Op::Min(OrdKind::Decimal)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Money }, Param { name: "b", ty: TypeRef::Money }],
            result: TypeRef::Money,
            target: Target::Op(Op::Min(OrdKind::Money)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Date }, Param { name: "b", ty: TypeRef::Date }],
            result: TypeRef::Date,
            target: Target::Op(Op::Min(OrdKind::Date)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Timestamp }, Param { name: "b", ty: TypeRef::Timestamp }],
            result: TypeRef::Timestamp,
            target: Target::Op(Op::Min(OrdKind::Timestamp)),
        },
        Overload {
            params: &[Param { name: "a", ty: TypeRef::Text }, Param { name: "b", ty: TypeRef::Text }],
            result: TypeRef::Text,
            target: Target::Op(Op::Min(OrdKind::Text)),
        },
    ],
    summary: "The smaller of two values of one ordered type.",
    docs: r#"`min(a, b)` is the smaller of `a` and `b`. Numbers and Money compare
by value, dates and timestamps chronologically, Text by Unicode code point
(so `"Z"` is smaller than `"a"`). When the two are equal by value the first
argument is returned, which matters for the scale of a Decimal:
`min(2.50, 2.5)` is `2.50`.

Faults: two Money values of different currencies reject with
`CURRENCY_MISMATCH`."#,
    examples: &[
        Example { expr: "min(3, 7)", json: "3" },
        Example { expr: "min(2.50, 2.5)", json: r#""2.50""# },
        Example { expr: "min(10.00 USD, 9.99 USD)", json: r#"{"amount":"9.99","currency":"USD"}"# },
        Example { expr: r#"min(@"2026-11-25", @"2026-01-31")"#, json: r#""2026-01-31""# },
        Example { expr: r#"min("apple", "Banana")"#, json: r#""Banana""# },
    ],
};

/// `min` on Ints.
pub fn min_int(a: i64, b: i64) -> i64 {
    pick(a, b, b < a)
}

/// `min` on Decimals, by value; the first on a tie.
pub fn min_decimal(a: Decimal, b: Decimal) -> Decimal {
    pick(a, b, num::cmp(&a, &b) == Ordering::Greater)
}

/// `min` on Money of one currency, by amount; the first on a tie.
pub fn min_money(a: Money, b: Money) -> Result<Money, Fault> {
    Ok(pick(a, b, money::cmp(a, b, money::MoneyOp::Min)? == Ordering::Greater))
}

/// `min` on Dates.
pub fn min_date(a: Date, b: Date) -> Date {
    pick(a, b, b < a)
}

/// `min` on Timestamps.
pub fn min_timestamp(a: Timestamp, b: Timestamp) -> Timestamp {
    pick(a, b, b < a)
}

/// `min` on Text, by code point.
pub fn min_text<'a>(a: &'a str, b: &'a str) -> &'a str {
    pick(a, b, b < a)
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
                ("min(3, 7)", min_int(3, 7).to_string()),
                ("min(2.50, 2.5)", j_dec(min_decimal(dec("2.50"), dec("2.5")))),
                ("min(10.00 USD, 9.99 USD)", j_money(min_money(money("10.00", "USD"), money("9.99", "USD")).unwrap())),
                (r#"min(@"2026-11-25", @"2026-01-31")"#, j_date(min_date(date("2026-11-25"), date("2026-01-31")))),
                (r#"min("apple", "Banana")"#, j_text(min_text("apple", "Banana"))),
            ],
        );
    }

    #[test]
    fn ties_and_faults() {
        assert_eq!(num::to_string(&min_decimal(dec("2.5"), dec("2.50"))), "2.5");
        assert_eq!(
            min_money(money("1", "USD"), money("1", "EUR")),
            Err(Fault::CurrencyMismatch { op: money::MoneyOp::Min, left: money("1", "USD"), right: money("1", "EUR") })
        );
        assert_eq!(
            min_timestamp(ts("2026-03-02T08:15:00+02:00"), ts("2026-03-02T07:00:00Z")),
            ts("2026-03-02T06:15:00Z")
        );
        assert_eq!(min_int(-1, -1), -1);
    }
}
