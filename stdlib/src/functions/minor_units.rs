//! `minor_units`: the number of fractional digits of a currency's ISO 4217 minor unit.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{currency, Currency, Fault};

pub static BUILTIN: Builtin = Builtin {
    name: "minor_units",
    overloads: &[Overload {
        params: &[Param { name: "c", ty: TypeRef::Currency }],
        result: TypeRef::Int,
        target: Target::Op(Op::MinorUnits),
    }],
    summary: "The number of fractional digits of the currency's ISO 4217 minor unit (USD 2, JPY 0, BHD 3).",
    docs: r#"`minor_units(c)` is the exponent of `c`'s minor unit in ISO 4217
List One: 2 for USD and EUR (cents), 0 for JPY and KRW, 3 for BHD, KWD and
TND, 4 for CLF and UYW. The table is built in and covers every current code.

Faults: a code with no minor unit in ISO 4217 — the precious metals (`XAU`,
`XAG`, `XPD`, `XPT`), special units such as `XDR` and `XXX`, withdrawn codes
(`HRK`) and codes that were never assigned — rejects with
`INVALID_ARGUMENT` rather than guess."#,
    examples: &[
        Example { expr: "minor_units(USD)", json: "2" },
        Example { expr: "minor_units(Currency.JPY)", json: "0" },
        Example { expr: "minor_units(currency(1.000 BHD))", json: "3" },
        Example { expr: "minor_units(CLF)", json: "4" },
    ],
};

/// `minor_units(c)`.
pub fn minor_units(c: Currency) -> Result<i64, Fault> {
    currency::require_minor_units(c, "minor_units").map(i64::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    #[test]
    fn examples_hold() {
        let n = |c: &str| minor_units(cur(c)).unwrap().to_string();
        assert_examples(
            &BUILTIN,
            &[
                ("minor_units(USD)", n("USD")),
                ("minor_units(Currency.JPY)", n("JPY")),
                ("minor_units(currency(1.000 BHD))", n("BHD")),
                ("minor_units(CLF)", n("CLF")),
            ],
        );
        assert_eq!(minor_units(cur("XAU")).unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
