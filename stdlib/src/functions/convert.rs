//! `convert`: converts a Money to another currency at a given rate, exactly and without rounding.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::money::Money;
use crate::{num, Currency, Decimal, Fault};

pub static BUILTIN: Builtin = Builtin {
    name: "convert",
    overloads: &[Overload {
        params: &[
            Param { name: "m", ty: TypeRef::Money },
            Param { name: "to", ty: TypeRef::Currency },
            Param { name: "rate", ty: TypeRef::Decimal },
        ],
        result: TypeRef::Money,
        target: Target::Op(Op::Convert),
    }],
    summary: "Converts a Money to another currency: amount × rate, not rounded.",
    docs: r#"`convert(m, to, rate)` is `amount(m) * rate` in currency `to`.
The multiplication is exact, so the scale is the sum of the two scales
(`convert(100.00 USD, EUR, 0.92)` is `92.0000 EUR`); nothing is rounded, so
round the result to the target currency's minor units yourself. The rate is
taken as given: no check that it is positive or that `to` differs from the
money's currency. Rates usually come from a reference table
(`fx_rates[currency(m), EUR]`).

Faults: a product whose scale would exceed 28 is rounded half-even to 28
(LANGUAGE.md §6); one that still needs more than a 96-bit coefficient rejects
with `DECIMAL_OVERFLOW`."#,
    examples: &[
        Example { expr: "convert(100.00 USD, EUR, 0.92)", json: r#"{"amount":"92.0000","currency":"EUR"}"# },
        Example { expr: "convert(10 USD, JPY, 151.237)", json: r#"{"amount":"1512.370","currency":"JPY"}"# },
        Example { expr: "round(convert(19.99 EUR, USD, 1.0843), 2)", json: r#"{"amount":"21.68","currency":"USD"}"# },
    ],
};

/// `convert(m, to, rate)`: `m.amount × rate` via exact [`num::mul`], in currency `to`.
pub fn convert(m: Money, to: Currency, rate: Decimal) -> Result<Money, Fault> {
    Ok((num::mul(m.0, rate)?, to))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;
    use crate::Rounding;

    #[test]
    fn examples_hold() {
        let usd = convert(money("19.99", "EUR"), cur("USD"), dec("1.0843")).unwrap();
        assert_examples(
            &BUILTIN,
            &[
                (
                    "convert(100.00 USD, EUR, 0.92)",
                    j_money(convert(money("100.00", "USD"), cur("EUR"), dec("0.92")).unwrap()),
                ),
                (
                    "convert(10 USD, JPY, 151.237)",
                    j_money(convert(money("10", "USD"), cur("JPY"), dec("151.237")).unwrap()),
                ),
                (
                    "round(convert(19.99 EUR, USD, 1.0843), 2)",
                    j_money(crate::functions::round::round_money(usd, 2, Rounding::HalfEven).unwrap()),
                ),
            ],
        );
    }

    #[test]
    fn overflow() {
        let big = money("79228162514264337593543950335", "USD");
        assert_eq!(convert(big, cur("EUR"), dec("1.1")), Err(Fault::DecimalOverflow));
    }
}
