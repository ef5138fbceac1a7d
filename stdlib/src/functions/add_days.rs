//! `add_days`: a Date moved by a number of days.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{time, Date, Fault};

pub static BUILTIN: Builtin = Builtin {
    name: "add_days",
    overloads: &[Overload {
        params: &[Param { name: "date", ty: TypeRef::Date }, Param { name: "days", ty: TypeRef::Int }],
        result: TypeRef::Date,
        target: Target::Op(Op::AddDays),
    }],
    summary: "The Date `n` days later (earlier for a negative `n`).",
    docs: r#"`add_days(d, n)` counts `n` calendar days forward from `d`, or
back when `n` is negative, across month and year ends and leap days.
`add_days(d, days_between(d, e))` is `e`.

Faults: a result outside 0001-01-01 to 9999-12-31 (the dates a
`YYYY-MM-DD` text can write) rejects with
`INVALID_ARGUMENT`."#,
    examples: &[
        Example { expr: r#"add_days(@"2026-02-27", 3)"#, json: r#""2026-03-02""# },
        Example { expr: r#"add_days(@"2028-02-28", 1)"#, json: r#""2028-02-29""# },
        Example { expr: r#"add_days(@"2026-01-01", -1)"#, json: r#""2025-12-31""# },
    ],
};

/// `add_days(d, n)`.
pub fn add_days(d: Date, n: i64) -> Result<Date, Fault> {
    time::add_days(d, n)
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
                (r#"add_days(@"2026-02-27", 3)"#, j_date(add_days(date("2026-02-27"), 3).unwrap())),
                (r#"add_days(@"2028-02-28", 1)"#, j_date(add_days(date("2028-02-28"), 1).unwrap())),
                (r#"add_days(@"2026-01-01", -1)"#, j_date(add_days(date("2026-01-01"), -1).unwrap())),
            ],
        );
    }

    #[test]
    fn documented_range() {
        let (min, max) = time::date_range();
        assert_eq!(time::ymd(min), (-262143, 1, 1));
        assert_eq!(time::ymd(max), (262142, 12, 31));
        assert_eq!(add_days(max, 1).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(add_days(date("2026-01-01"), i64::MAX).unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
