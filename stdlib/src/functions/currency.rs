//! `currency`: the Currency of a Money.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::money::Money;
use crate::Currency;

pub static BUILTIN: Builtin = Builtin {
    name: "currency",
    overloads: &[Overload {
        params: &[Param { name: "m", ty: TypeRef::Money }],
        result: TypeRef::Currency,
        target: Target::Op(Op::Currency),
    }],
    summary: "The currency of a Money.",
    docs: r#"`currency(m)` is the currency code of `m`. Its JSON output is
the code as a string (`"USD"`). A typical use is a zero in the currency of
another amount: `money(0, currency(gross))`.

Never faults."#,
    examples: &[
        Example { expr: "currency(125.50 USD)", json: r#""USD""# },
        Example { expr: "currency(convert(10 USD, EUR, 0.9))", json: r#""EUR""# },
        Example { expr: "currency(money(5, CHF)) == CHF", json: "true" },
    ],
};

/// `currency(m)`.
pub fn currency(m: Money) -> Currency {
    m.1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;
    use crate::functions::convert::convert;

    #[test]
    fn examples_hold() {
        let converted = convert(money("10", "USD"), cur("EUR"), dec("0.9")).unwrap();
        assert_examples(
            &BUILTIN,
            &[
                ("currency(125.50 USD)", j_text(currency(money("125.50", "USD")).as_str())),
                ("currency(convert(10 USD, EUR, 0.9))", j_text(currency(converted).as_str())),
                ("currency(money(5, CHF)) == CHF", (currency(money("5", "CHF")) == cur("CHF")).to_string()),
            ],
        );
    }
}
