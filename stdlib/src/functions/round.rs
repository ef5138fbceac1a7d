//! `round`: rounds a Decimal or Money to a number of fractional digits, half-even or by a `Rounding` mode.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::money::Money;
use crate::{num, Decimal, Fault, Rounding};

pub static BUILTIN: Builtin = Builtin {
    name: "round",
    overloads: &[
        Overload {
            params: &[Param { name: "x", ty: TypeRef::Decimal }, Param { name: "places", ty: TypeRef::Int }],
            result: TypeRef::Decimal,
            target: Target::Op(Op::RoundDecimal),
        },
        Overload {
            params: &[
                Param { name: "x", ty: TypeRef::Decimal },
                Param { name: "places", ty: TypeRef::Int },
                Param { name: "mode", ty: TypeRef::Rounding },
            ],
            result: TypeRef::Decimal,
            target: Target::Op(Op::RoundDecimal),
        },
        Overload {
            params: &[Param { name: "x", ty: TypeRef::Money }, Param { name: "places", ty: TypeRef::Int }],
            result: TypeRef::Money,
            target: Target::Op(Op::RoundMoney),
        },
        Overload {
            params: &[
                Param { name: "x", ty: TypeRef::Money },
                Param { name: "places", ty: TypeRef::Int },
                Param { name: "mode", ty: TypeRef::Rounding },
            ],
            result: TypeRef::Money,
            target: Target::Op(Op::RoundMoney),
        },
        Overload {
            params: &[Param { name: "m", ty: TypeRef::Money }],
            result: TypeRef::Money,
            target: Target::Op(Op::RoundMoneyToUnit),
        },
        Overload {
            params: &[Param { name: "m", ty: TypeRef::Money }, Param { name: "mode", ty: TypeRef::Rounding }],
            result: TypeRef::Money,
            target: Target::Op(Op::RoundMoneyToUnit),
        },
    ],
    summary: "Rounds to `places` fractional digits (a Money without `places`: to its currency's minor unit), half-even unless a `Rounding` mode is given.",
    docs: r#"`round(x, places)` rounds `x` to `places` fractional digits using
half-even (banker's) rounding; `round(x, places, mode)` uses a variant of the
built-in enum `Rounding`:

| mode | rule | 2.5 | -2.5 | 2.51 |
| --- | --- | --- | --- | --- |
| `HalfEven` | nearest, ties to the even digit | 2 | -2 | 3 |
| `HalfUp` | nearest, ties away from zero | 3 | -3 | 3 |
| `HalfDown` | nearest, ties toward zero | 2 | -2 | 3 |
| `Up` | away from zero | 3 | -3 | 3 |
| `Down` | toward zero (truncate) | 2 | -2 | 2 |
| `Ceiling` | toward +infinity | 3 | -2 | 3 |
| `Floor` | toward -infinity | 2 | -3 | 2 |

The result always has exactly `places` fractional digits: rounding never
removes digits it does not have to, and a value with fewer digits gains
trailing zeros (`round(2.5, 2)` is `2.50`). A zero result is never negative
(`round(-0.001, 2)` is `0.00`). On Money the amount is rounded and the
currency kept. An Int `x` is widened to Decimal first.

`round(m)` and `round(m, mode)` round a Money to its currency's minor unit
in ISO 4217 (`minor_units`): cents for USD, whole yen for JPY, three places
for BHD. `round(1234.5 JPY)` is `1234 JPY` (half-even), `round(0.0125 BHD,
HalfUp)` is `0.013 BHD`.

Faults: `places` outside `0..=28` rejects with `INVALID_ARGUMENT`, and so does
`round(m)` of a currency with no ISO 4217 minor unit (`XAU`); adding
trailing zeros to a value whose coefficient would then need more than 96 bits
rejects with `DECIMAL_OVERFLOW`."#,
    examples: &[
        Example { expr: "round(2.675, 2)", json: r#""2.68""# },
        Example { expr: "round(2.5, 2)", json: r#""2.50""# },
        Example { expr: "round(-0.001, 2)", json: r#""0.00""# },
        Example { expr: "round(125.555 USD, 2)", json: r#"{"amount":"125.56","currency":"USD"}"# },
        Example { expr: "round(2.345, 2, Rounding.HalfUp)", json: r#""2.35""# },
        Example {
            expr: "[round(2.5, 0, HalfEven), round(2.5, 0, HalfUp), round(2.5, 0, HalfDown), round(2.5, 0, Up), round(2.5, 0, Down), round(2.5, 0, Ceiling), round(2.5, 0, Floor)]",
            json: r#"["2","3","2","3","2","3","2"]"#,
        },
        Example {
            expr: "[round(-2.5, 0, HalfEven), round(-2.5, 0, HalfUp), round(-2.5, 0, HalfDown), round(-2.5, 0, Up), round(-2.5, 0, Down), round(-2.5, 0, Ceiling), round(-2.5, 0, Floor)]",
            json: r#"["-2","-3","-2","-3","-2","-2","-3"]"#,
        },
        Example { expr: "round(1234.5 JPY)", json: r#"{"amount":"1234","currency":"JPY"}"# },
        Example { expr: "round(0.0125 BHD, HalfUp)", json: r#"{"amount":"0.013","currency":"BHD"}"# },
        Example { expr: "round(19.9 USD)", json: r#"{"amount":"19.90","currency":"USD"}"# },
    ],
};

/// `round(x, places[, mode])` on a Decimal (the default mode is `HalfEven`).
pub fn round_decimal(x: Decimal, places: i64, mode: Rounding) -> Result<Decimal, Fault> {
    num::round(x, places, mode)
}

/// `round(m, places[, mode])` on Money: the amount is rounded, the currency kept.
pub fn round_money(m: Money, places: i64, mode: Rounding) -> Result<Money, Fault> {
    Ok((num::round(m.0, places, mode)?, m.1))
}

/// `round(m[, mode])` on Money: the amount rounded to the currency's minor unit (LANGUAGE.md §6.1).
pub fn round_money_to_unit(m: Money, mode: Rounding) -> Result<Money, Fault> {
    let places = crate::currency::require_minor_units(m.1, "round")?;
    Ok((num::round(m.0, i64::from(places), mode)?, m.1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    fn modes(x: &str) -> String {
        let all: Vec<String> =
            (0..7).map(|i| j_dec(round_decimal(dec(x), 0, Rounding::from_index(i).unwrap()).unwrap())).collect();
        j_list(&all)
    }

    #[test]
    fn examples_hold() {
        let e = &BUILTIN.examples;
        assert_examples(
            &BUILTIN,
            &[
                ("round(2.675, 2)", j_dec(round_decimal(dec("2.675"), 2, Rounding::HalfEven).unwrap())),
                ("round(2.5, 2)", j_dec(round_decimal(dec("2.5"), 2, Rounding::HalfEven).unwrap())),
                ("round(-0.001, 2)", j_dec(round_decimal(dec("-0.001"), 2, Rounding::HalfEven).unwrap())),
                (
                    "round(125.555 USD, 2)",
                    j_money(round_money(money("125.555", "USD"), 2, Rounding::HalfEven).unwrap()),
                ),
                ("round(2.345, 2, Rounding.HalfUp)", j_dec(round_decimal(dec("2.345"), 2, Rounding::HalfUp).unwrap())),
                (e[5].expr, modes("2.5")),
                (e[6].expr, modes("-2.5")),
                (
                    "round(1234.5 JPY)",
                    j_money(round_money_to_unit(money("1234.5", "JPY"), Rounding::HalfEven).unwrap()),
                ),
                (
                    "round(0.0125 BHD, HalfUp)",
                    j_money(round_money_to_unit(money("0.0125", "BHD"), Rounding::HalfUp).unwrap()),
                ),
                ("round(19.9 USD)", j_money(round_money_to_unit(money("19.9", "USD"), Rounding::HalfEven).unwrap())),
            ],
        );
    }

    #[test]
    fn faults() {
        assert_eq!(round_money(money("1", "USD"), 29, Rounding::HalfEven).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(round_decimal(dec("1"), -1, Rounding::HalfEven).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(round_decimal(dec("10"), 28, Rounding::HalfEven), Err(Fault::DecimalOverflow));
        let gold = round_money_to_unit(money("1.5", "XAU"), Rounding::HalfEven).unwrap_err();
        assert_eq!(gold.message(), "invalid argument: `round` needs a minor unit, and `XAU` has none in ISO 4217");
    }
}
