//! Money operations of LANGUAGE.md §6: decimal arithmetic on the amount plus currency checks.
//!
//! A Money is passed as `(amount, currency)`. Operations that combine two
//! Money values need one currency, else [`Fault::CurrencyMismatch`], which
//! names the operation and both operands (the left one first).

use crate::{num, Currency, Decimal, Fault};
use std::cmp::Ordering;

/// A Money value: an exact amount and its currency.
pub type Money = (Decimal, Currency);

/// The operation that met two currencies, for the message of a
/// `CURRENCY_MISMATCH` (see `docs/decisions.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MoneyOp {
    Add,
    Sub,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Min,
    Max,
    /// One step of `sum` over a list: the total so far plus the next value.
    Sum,
    /// `sort_by` over Money keys: the first key and the first of another currency.
    SortBy,
}

impl MoneyOp {
    /// The operator or function as written in Canon.
    pub fn as_str(self) -> &'static str {
        match self {
            MoneyOp::Add | MoneyOp::Sum => "+",
            MoneyOp::Sub => "-",
            MoneyOp::Div => "/",
            MoneyOp::Lt => "<",
            MoneyOp::Le => "<=",
            MoneyOp::Gt => ">",
            MoneyOp::Ge => ">=",
            MoneyOp::Min => "min",
            MoneyOp::Max => "max",
            MoneyOp::SortBy => "sort_by",
        }
    }
}

/// The message of a currency mismatch: the operation as it would be written,
/// with both operands (`currency mismatch: `1500.00 EUR + 100.00 USD``,
/// `` `max(1500.00 EUR, 100.00 USD)` ``; in a `sum`, the total so far and
/// the next value).
pub fn mismatch_message(op: MoneyOp, left: Money, right: Money) -> String {
    let mut a = String::new();
    format(left, &mut a);
    let mut b = String::new();
    format(right, &mut b);
    match op {
        MoneyOp::Min | MoneyOp::Max => {
            format!("currency mismatch: `{}({a}, {b})`", op.as_str())
        }
        MoneyOp::Sum => format!("currency mismatch in `sum`: `{a} + {b}` (the total so far, then the next value)"),
        MoneyOp::SortBy => {
            format!("currency mismatch in `sort_by`: keys `{a}` and `{b}` (the first key, then the first in another currency)")
        }
        _ => format!("currency mismatch: `{a} {} {b}`", op.as_str()),
    }
}

/// Checks that two Money values have one currency; `op` is the operation
/// that asks, for the fault.
pub fn same_currency(op: MoneyOp, left: Money, right: Money) -> Result<Currency, Fault> {
    if left.1 == right.1 {
        Ok(left.1)
    } else {
        Err(Fault::CurrencyMismatch { op, left, right })
    }
}

/// `Money + Money`: one currency, exact amount (scale = the larger scale).
pub fn add(a: Money, b: Money) -> Result<Money, Fault> {
    let currency = same_currency(MoneyOp::Add, a, b)?;
    Ok((num::add(a.0, b.0)?, currency))
}

/// `Money - Money`: one currency, exact amount (scale = the larger scale).
pub fn sub(a: Money, b: Money) -> Result<Money, Fault> {
    let currency = same_currency(MoneyOp::Sub, a, b)?;
    Ok((num::sub(a.0, b.0)?, currency))
}

/// `Money / Money`: one currency; the ratio is a Decimal.
pub fn div_money(a: Money, b: Money) -> Result<Decimal, Fault> {
    same_currency(MoneyOp::Div, a, b)?;
    num::div(a.0, b.0)
}

/// `Money * Decimal` and `Decimal * Money`: exact, scale = sum of scales.
pub fn mul(a: Money, k: Decimal) -> Result<Money, Fault> {
    Ok((num::mul(a.0, k)?, a.1))
}

/// `Money / Decimal`.
pub fn div(a: Money, k: Decimal) -> Result<Money, Fault> {
    Ok((num::div(a.0, k)?, a.1))
}

/// Unary `-` on Money.
pub fn neg(a: Money) -> Money {
    (num::neg(a.0), a.1)
}

/// Ordering of two Money values of one currency, by amount value; `op` is
/// the comparison (or `min`, `max`) that asks, for the fault.
pub fn cmp(a: Money, b: Money, op: MoneyOp) -> Result<Ordering, Fault> {
    same_currency(op, a, b)?;
    Ok(num::cmp(&a.0, &b.0))
}

/// Equality by value (`1.0 USD == 1.00 USD`); different currencies are simply
/// unequal (only ordering comparisons fault on a mismatch).
pub fn eq(a: Money, b: Money) -> bool {
    a.1 == b.1 && num::cmp(&a.0, &b.0) == Ordering::Equal
}

/// The text-interpolation form: amount, space, currency (`125.50 USD`).
pub fn format(m: Money, out: &mut String) {
    num::format(&m.0, out);
    out.push(' ');
    out.push_str(m.1.as_str());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn m(amount: &str, currency: &str) -> Money {
        (num::parse(amount).unwrap(), Currency::parse(currency).unwrap())
    }

    fn show(x: Money) -> String {
        let mut out = String::new();
        format(x, &mut out);
        out
    }

    #[test]
    fn same_currency_arithmetic() {
        assert_eq!(show(add(m("12.50", "USD"), m("0.5", "USD")).unwrap()), "13.00 USD");
        assert_eq!(show(sub(m("10", "EUR"), m("10.00", "EUR")).unwrap()), "0.00 EUR");
        assert_eq!(show(mul(m("180.00", "USD"), num::parse("7.5").unwrap()).unwrap()), "1350.000 USD");
        assert_eq!(show(mul(m("99.99", "EUR"), num::parse("1.333").unwrap()).unwrap()), "133.28667 EUR");
        assert_eq!(show(div(m("10.00", "USD"), num::parse("4").unwrap()).unwrap()), "2.50 USD");
        assert_eq!(num::to_string(&div_money(m("30.00", "USD"), m("120", "USD")).unwrap()), "0.25");
        assert_eq!(cmp(m("1.0", "USD"), m("1.00", "USD"), MoneyOp::Lt), Ok(Ordering::Equal));
        assert_eq!(cmp(m("2", "USD"), m("10", "USD"), MoneyOp::Lt), Ok(Ordering::Less));
        assert!(eq(m("1.0", "USD"), m("1.00", "USD")));
        assert!(!eq(m("1.0", "USD"), m("1.0", "EUR")));
        assert_eq!(show(neg(m("0.00", "USD"))), "0.00 USD");
        assert_eq!(show(neg(m("5.10", "USD"))), "-5.10 USD");
    }

    #[test]
    fn currency_mismatch_and_faults() {
        let (a, b) = (m("1500.00", "USD"), m("100", "EUR"));
        let message = |r: Result<(), Fault>| r.unwrap_err().message();
        assert_eq!(add(a, b), Err(Fault::CurrencyMismatch { op: MoneyOp::Add, left: a, right: b }));
        assert_eq!(message(add(a, b).map(drop)), "currency mismatch: `1500.00 USD + 100 EUR`");
        assert_eq!(message(sub(a, b).map(drop)), "currency mismatch: `1500.00 USD - 100 EUR`");
        assert_eq!(message(div_money(a, b).map(drop)), "currency mismatch: `1500.00 USD / 100 EUR`");
        assert_eq!(message(cmp(a, b, MoneyOp::Le).map(drop)), "currency mismatch: `1500.00 USD <= 100 EUR`");
        assert_eq!(message(cmp(a, b, MoneyOp::Max).map(drop)), "currency mismatch: `max(1500.00 USD, 100 EUR)`");
        assert_eq!(
            mismatch_message(MoneyOp::Sum, a, b),
            "currency mismatch in `sum`: `1500.00 USD + 100 EUR` (the total so far, then the next value)"
        );
        assert_eq!(div(m("1", "USD"), Decimal::ZERO), Err(Fault::DivisionByZero));
        assert_eq!(div_money(m("1", "USD"), m("0.00", "USD")), Err(Fault::DivisionByZero));
        assert_eq!(add(m("79228162514264337593543950335", "USD"), m("1", "USD")), Err(Fault::DecimalOverflow));
    }
}
