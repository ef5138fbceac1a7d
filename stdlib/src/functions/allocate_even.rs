//! `allocate_even`: splits a Money into `n` parts as equal as whole minor units allow.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::money::Money;
use crate::Fault;

pub static BUILTIN: Builtin = Builtin {
    name: "allocate_even",
    overloads: &[Overload {
        params: &[Param { name: "total", ty: TypeRef::Money }, Param { name: "n", ty: TypeRef::Int }],
        result: TypeRef::List(&TypeRef::Money),
        target: Target::Op(Op::AllocateEven),
    }],
    summary: "Splits a Money into `n` parts as equal as whole minor units allow; the parts sum to the total.",
    docs: r#"`allocate_even(total, n)` is `allocate(total, w)` with `n` equal
weights: every part is the total divided by `n` rounded toward zero to a
whole number of the currency's minor unit, and the units left over go one
each to the first parts. So the parts differ by at most one unit, the larger
ones first, and sum to `total` exactly. A negative total mirrors a positive
one; a total with more fractional digits than the currency's minor unit is
split in its own smallest unit (see `allocate`).

Faults (`INVALID_ARGUMENT`): `n` below 1 or above 1,000,000, a currency with
no ISO 4217 minor unit."#,
    examples: &[
        Example {
            expr: "allocate_even(100.00 USD, 3)",
            json: r#"[{"amount":"33.34","currency":"USD"},{"amount":"33.33","currency":"USD"},{"amount":"33.33","currency":"USD"}]"#,
        },
        Example {
            expr: "allocate_even(-5 JPY, 2)",
            json: r#"[{"amount":"-3","currency":"JPY"},{"amount":"-2","currency":"JPY"}]"#,
        },
    ],
};

/// `allocate_even(total, n)`; see [`super::allocate::allocate_even`].
pub fn allocate_even(total: Money, n: i64) -> Result<Vec<Money>, Fault> {
    super::allocate::allocate_even(total, n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    fn j_parts(parts: Vec<Money>) -> String {
        j_list(&parts.into_iter().map(j_money).collect::<Vec<_>>())
    }

    #[test]
    fn examples_hold() {
        assert_examples(
            &BUILTIN,
            &[
                ("allocate_even(100.00 USD, 3)", j_parts(allocate_even(money("100.00", "USD"), 3).unwrap())),
                ("allocate_even(-5 JPY, 2)", j_parts(allocate_even(money("-5", "JPY"), 2).unwrap())),
            ],
        );
    }
}
