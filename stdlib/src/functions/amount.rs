//! `amount`: the Decimal amount of a Money.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::money::Money;
use crate::Decimal;

pub static BUILTIN: Builtin = Builtin {
    name: "amount",
    overloads: &[Overload {
        params: &[Param { name: "m", ty: TypeRef::Money }],
        result: TypeRef::Decimal,
        target: Target::Op(Op::Amount),
    }],
    summary: "The amount of a Money, as a Decimal with its scale.",
    docs: r#"`amount(m)` is the amount of `m` without its currency, keeping
its scale (`amount(100 EUR)` is `100`, `amount(125.50 USD)` is `125.50`).
Use it to compare or compute across currencies deliberately, or to put an
amount into a Decimal field.

Never faults."#,
    examples: &[
        Example { expr: "amount(125.50 USD)", json: r#""125.50""# },
        Example { expr: "amount(100 EUR)", json: r#""100""# },
        Example { expr: "amount(round(10 USD / 3, 2))", json: r#""3.33""# },
    ],
};

/// `amount(m)`.
pub fn amount(m: Money) -> Decimal {
    m.0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;
    use crate::{money as m, num, Rounding};

    #[test]
    fn examples_hold() {
        let third = m::div(money("10", "USD"), num::from_int(3)).unwrap();
        let third = crate::functions::round::round_money(third, 2, Rounding::HalfEven).unwrap();
        assert_examples(
            &BUILTIN,
            &[
                ("amount(125.50 USD)", j_dec(amount(money("125.50", "USD")))),
                ("amount(100 EUR)", j_dec(amount(money("100", "EUR")))),
                ("amount(round(10 USD / 3, 2))", j_dec(amount(third))),
            ],
        );
    }
}
