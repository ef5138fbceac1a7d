//! `month`: the month (1..=12) of a Date.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{time, Date};

pub static BUILTIN: Builtin = Builtin {
    name: "month",
    overloads: &[Overload {
        params: &[Param { name: "date", ty: TypeRef::Date }],
        result: TypeRef::Int,
        target: Target::Op(Op::Month),
    }],
    summary: "The month of a Date, 1 (January) to 12 (December).",
    docs: r#"`month(d)` is the month of `d` as an Int from 1 to 12 (not
zero-based). Being an Int, it has no leading zero in text interpolation:
`"{year(d)}-{month(d)}"` gives `2026-2` for a date in February 2026.

Never faults."#,
    examples: &[
        Example { expr: r#"month(@"2026-11-25")"#, json: "11" },
        Example { expr: r#"month(@"2026-01-31")"#, json: "1" },
        Example { expr: r#"month(add_days(@"2026-12-31", 1))"#, json: "1" },
    ],
};

/// `month(d)`: 1..=12.
pub fn month(d: Date) -> i64 {
    i64::from(time::ymd(d).1)
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
                (r#"month(@"2026-11-25")"#, month(date("2026-11-25")).to_string()),
                (r#"month(@"2026-01-31")"#, month(date("2026-01-31")).to_string()),
                (
                    r#"month(add_days(@"2026-12-31", 1))"#,
                    month(time::add_days(date("2026-12-31"), 1).unwrap()).to_string(),
                ),
            ],
        );
    }
}
