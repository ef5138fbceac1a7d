//! `money`: builds a Money from a Decimal amount and a Currency.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::money::Money;
use crate::{num, Currency, Decimal};

pub static BUILTIN: Builtin = Builtin {
    name: "money",
    overloads: &[Overload {
        params: &[Param { name: "amount", ty: TypeRef::Decimal }, Param { name: "currency", ty: TypeRef::Currency }],
        result: TypeRef::Money,
        target: Target::Op(Op::Money),
    }],
    summary: "Makes a Money from an amount and a currency.",
    docs: r#"`money(amount, currency)` pairs an amount with a currency; the
amount keeps its scale (`money(12.5, USD)` is `12.5 USD`, not `12.50 USD`:
round it if the currency's minor units matter). An Int amount is widened to
Decimal. The currency is usually a bare code where a Currency is expected
(`USD`), `Currency.USD`, or taken from another Money with `currency(m)`.

Never faults."#,
    examples: &[
        Example { expr: "money(12.5, USD)", json: r#"{"amount":"12.5","currency":"USD"}"# },
        Example { expr: "money(100, Currency.EUR)", json: r#"{"amount":"100","currency":"EUR"}"# },
        Example { expr: "money(0, currency(125.50 USD))", json: r#"{"amount":"0","currency":"USD"}"# },
        Example { expr: "money(-0.00, GBP)", json: r#"{"amount":"0.00","currency":"GBP"}"# },
    ],
};

/// `money(amount, currency)`; a negative zero amount is made positive.
pub fn money(amount: Decimal, currency: Currency) -> Money {
    (num::normalize_zero(amount), currency)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::{self, cur, dec, j_money};
    use crate::functions::currency::currency;

    #[test]
    fn examples_hold() {
        assert_examples_of_money();
    }

    fn assert_examples_of_money() {
        check::assert_examples(
            &BUILTIN,
            &[
                ("money(12.5, USD)", j_money(money(dec("12.5"), cur("USD")))),
                ("money(100, Currency.EUR)", j_money(money(num::from_int(100), cur("EUR")))),
                (
                    "money(0, currency(125.50 USD))",
                    j_money(money(num::from_int(0), currency(check::money("125.50", "USD")))),
                ),
                ("money(-0.00, GBP)", j_money(money(num::neg(dec("0.00")), cur("GBP")))),
            ],
        );
        assert!(money(-dec("0.00"), cur("GBP")).0.is_sign_positive());
    }
}
