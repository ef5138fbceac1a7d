//! `year`: the year of a Date.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{time, Date};

pub static BUILTIN: Builtin = Builtin {
    name: "year",
    overloads: &[Overload {
        params: &[Param { name: "date", ty: TypeRef::Date }],
        result: TypeRef::Int,
        target: Target::Op(Op::Year),
    }],
    summary: "The year of a Date.",
    docs: r#"`year(d)` is the (proleptic Gregorian) year of `d` as an Int. For
a Timestamp take its UTC date first: `year(date(ts))`. In text interpolation
it is written without padding or separators (`"{year(d)}"` gives `2026`).

Never faults."#,
    examples: &[
        Example { expr: r#"year(@"2026-11-25")"#, json: "2026" },
        Example { expr: r#"year(date(@"2026-12-31T23:30:00-01:00"))"#, json: "2027" },
        Example { expr: r#"year(add_days(@"2026-12-31", 1))"#, json: "2027" },
    ],
};

/// `year(d)`.
pub fn year(d: Date) -> i64 {
    i64::from(time::ymd(d).0)
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
                (r#"year(@"2026-11-25")"#, year(date("2026-11-25")).to_string()),
                (
                    r#"year(date(@"2026-12-31T23:30:00-01:00"))"#,
                    year(time::date_of(ts("2026-12-31T23:30:00-01:00"))).to_string(),
                ),
                (
                    r#"year(add_days(@"2026-12-31", 1))"#,
                    year(time::add_days(date("2026-12-31"), 1).unwrap()).to_string(),
                ),
            ],
        );
    }
}
