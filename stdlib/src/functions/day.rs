//! `day`: the day of the month (1..=31) of a Date.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{time, Date};

pub static BUILTIN: Builtin = Builtin {
    name: "day",
    overloads: &[Overload {
        params: &[Param { name: "date", ty: TypeRef::Date }],
        result: TypeRef::Int,
        target: Target::Op(Op::Day),
    }],
    summary: "The day of the month of a Date, 1 to 31.",
    docs: r#"`day(d)` is the day of the month of `d` as an Int from 1 to 31.
`day(end_of_month(d))` is the number of days in `d`'s month.

Never faults."#,
    examples: &[
        Example { expr: r#"day(@"2026-11-25")"#, json: "25" },
        Example { expr: r#"day(end_of_month(@"2028-02-10"))"#, json: "29" },
        Example { expr: r#"day(@"2026-03-01")"#, json: "1" },
    ],
};

/// `day(d)`: 1..=31.
pub fn day(d: Date) -> i64 {
    i64::from(time::ymd(d).2)
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
                (r#"day(@"2026-11-25")"#, day(date("2026-11-25")).to_string()),
                (r#"day(end_of_month(@"2028-02-10"))"#, day(time::end_of_month(date("2028-02-10"))).to_string()),
                (r#"day(@"2026-03-01")"#, day(date("2026-03-01")).to_string()),
            ],
        );
    }
}
