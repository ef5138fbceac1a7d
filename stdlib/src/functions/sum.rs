//! `sum`: the exact total of a number or Money computed for each element of a list (an aggregate with a lambda).

use super::{Aggregate, Builtin, Example, Overload, Param, Target, TypeRef};
use crate::money::{self, Money};
use crate::{num, Decimal, Fault};

pub static BUILTIN: Builtin = Builtin {
    name: "sum",
    overloads: &[
        Overload {
            params: &[
                Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
                Param { name: "value", ty: TypeRef::Lambda(&TypeRef::Int) },
            ],
            result: TypeRef::Int,
            target: Target::Aggregate(Aggregate::SumInt),
        },
        Overload {
            params: &[
                Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
                Param { name: "value", ty: TypeRef::Lambda(&TypeRef::Decimal) },
            ],
            result: TypeRef::Decimal,
            target: Target::Aggregate(Aggregate::SumDecimal),
        },
        Overload {
            params: &[
                Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
                Param { name: "value", ty: TypeRef::Lambda(&TypeRef::Money) },
            ],
            result: TypeRef::Optional(&TypeRef::Money),
            target: Target::Aggregate(Aggregate::SumMoney),
        },
    ],
    summary: "The total of `x => e` over the list's elements: exact, in list order.",
    docs: r#"`sum(xs, x => e)` evaluates `e` for each element `x` of `xs`, in
list order, and adds the results. The lambda form is allowed only as an
argument of the aggregates.

- Int: checked addition; an empty list sums to `0`.
- Decimal: exact addition, so the scale of the total is the largest scale
  among the values (`sum([1.5, 2.25], x => x)` is `3.75`); an empty list sums
  to `0` (scale 0). An Int-valued element widens to Decimal when the lambda's
  type is Decimal (`if c then x.hours else 0`).
- Money: every value must have one currency; the total keeps it. An empty
  list has no currency to total in, so the result is `none` (type `Money?`):
  handle it with `??`, e.g. `sum(lines, l => l.amount) ?? money(0, EUR)`.

Faults: `INTEGER_OVERFLOW` or `DECIMAL_OVERFLOW` when the total does not
fit; `CURRENCY_MISMATCH` when two values have different currencies (the
message names the total so far and the value that does not fit it). A fault
in `e` for any element rejects the whole sum."#,
    examples: &[
        Example { expr: "sum([1, 2, 3], x => x * 2)", json: "12" },
        Example { expr: "sum([1.5, 2.25, 0.125], x => x)", json: r#""3.875""# },
        Example { expr: "sum([10.00 USD, 2.5 USD], m => m)", json: r#"{"amount":"12.50","currency":"USD"}"# },
        Example { expr: "sum([], x => 1)", json: "0" },
        Example { expr: "sum([], x => 2.5)", json: r#""0""# },
        Example { expr: "sum([], x => 10.00 USD)", json: "null" },
    ],
};

/// The total of an empty Int sum.
pub const INT_ZERO: i64 = 0;

/// The total of an empty Decimal sum: `0` with scale 0.
pub fn decimal_zero() -> Decimal {
    Decimal::ZERO
}

/// One step of an Int sum.
pub fn add_int(total: i64, value: i64) -> Result<i64, Fault> {
    num::int_add(total, value)
}

/// One step of a Decimal sum (exact; scale = the larger scale).
pub fn add_decimal(total: Decimal, value: Decimal) -> Result<Decimal, Fault> {
    num::add(total, value)
}

/// One step of a Money sum: the total so far plus the next value, of one
/// currency (else `CurrencyMismatch` naming the two, as `sum`'s).
pub fn add_money(total: Money, value: Money) -> Result<Money, Fault> {
    money::same_currency(money::MoneyOp::Sum, total, value)?;
    money::add(total, value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    /// A Money sum as the engines run it: `none` until the first value, then [`add_money`].
    fn sum_money(values: impl IntoIterator<Item = Money>) -> Result<Option<Money>, Fault> {
        values.into_iter().try_fold(None, |total, value| {
            Ok(Some(match total {
                None => value,
                Some(total) => add_money(total, value)?,
            }))
        })
    }

    #[test]
    fn examples_hold() {
        let ints = [1i64, 2, 3].iter().try_fold(INT_ZERO, |t, x| add_int(t, x * 2)).unwrap();
        let decimals = ["1.5", "2.25", "0.125"].iter().try_fold(decimal_zero(), |t, x| add_decimal(t, dec(x))).unwrap();
        let monies = sum_money([money("10.00", "USD"), money("2.5", "USD")]).unwrap();
        assert_examples(
            &BUILTIN,
            &[
                ("sum([1, 2, 3], x => x * 2)", ints.to_string()),
                ("sum([1.5, 2.25, 0.125], x => x)", j_dec(decimals)),
                ("sum([10.00 USD, 2.5 USD], m => m)", j_opt_money(monies)),
                ("sum([], x => 1)", INT_ZERO.to_string()),
                ("sum([], x => 2.5)", j_dec(decimal_zero())),
                ("sum([], x => 10.00 USD)", j_opt_money(sum_money([]).unwrap())),
            ],
        );
    }

    #[test]
    fn faults() {
        assert_eq!(
            sum_money([money("1", "USD"), money("2", "USD"), money("3", "EUR")]),
            Err(Fault::CurrencyMismatch { op: money::MoneyOp::Sum, left: money("3", "USD"), right: money("3", "EUR") })
        );
        assert_eq!(add_int(i64::MAX, 1), Err(Fault::IntegerOverflow));
        assert_eq!(add_decimal(dec("79228162514264337593543950335"), dec("1")), Err(Fault::DecimalOverflow));
    }
}
