//! `abs`: the absolute value of an Int, Decimal or Money.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::money::Money;
use crate::{num, Decimal, Fault};

pub static BUILTIN: Builtin = Builtin {
    name: "abs",
    overloads: &[
        Overload {
            params: &[Param { name: "x", ty: TypeRef::Int }],
            result: TypeRef::Int,
            target: Target::Op(Op::AbsInt),
        },
        Overload {
            params: &[Param { name: "x", ty: TypeRef::Decimal }],
            result: TypeRef::Decimal,
            target: Target::Op(Op::AbsDecimal),
        },
        Overload {
            params: &[Param { name: "x", ty: TypeRef::Money }],
            result: TypeRef::Money,
            target: Target::Op(Op::AbsMoney),
        },
    ],
    summary: "The absolute value, keeping a Decimal's scale and a Money's currency.",
    docs: r#"`abs(x)` is `x` without its sign. A Decimal keeps its scale
(`abs(-1.50)` is `1.50`) and a Money keeps its currency.

Faults: the smallest Int, `-9223372036854775808`, has no positive Int
counterpart; `abs` of it rejects with `INTEGER_OVERFLOW`."#,
    examples: &[
        Example { expr: "abs(-5)", json: "5" },
        Example { expr: "abs(-1.50)", json: r#""1.50""# },
        Example { expr: "abs(money(-12.50, USD))", json: r#"{"amount":"12.50","currency":"USD"}"# },
        Example { expr: "abs(0.00)", json: r#""0.00""# },
    ],
};

/// `abs` on an Int; `i64::MIN` is `IntegerOverflow`.
pub fn abs_int(x: i64) -> Result<i64, Fault> {
    num::int_abs(x)
}

/// `abs` on a Decimal (keeps the scale).
pub fn abs_decimal(x: Decimal) -> Decimal {
    num::abs(x)
}

/// `abs` on Money (keeps scale and currency).
pub fn abs_money(m: Money) -> Money {
    (num::abs(m.0), m.1)
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
                ("abs(-5)", abs_int(-5).unwrap().to_string()),
                ("abs(-1.50)", j_dec(abs_decimal(dec("-1.50")))),
                ("abs(money(-12.50, USD))", j_money(abs_money(money("-12.50", "USD")))),
                ("abs(0.00)", j_dec(abs_decimal(dec("0.00")))),
            ],
        );
        assert_eq!(abs_int(i64::MIN), Err(Fault::IntegerOverflow));
    }
}
