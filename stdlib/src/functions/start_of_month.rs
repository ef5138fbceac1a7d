//! `start_of_month`: the first day of a Date's month.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{time, Date};

pub static BUILTIN: Builtin = Builtin {
    name: "start_of_month",
    overloads: &[Overload {
        params: &[Param { name: "date", ty: TypeRef::Date }],
        result: TypeRef::Date,
        target: Target::Op(Op::StartOfMonth),
    }],
    summary: "The first day of the Date's month.",
    docs: r#"`start_of_month(d)` is the 1st of `d`'s month and year. The last
day of the previous month is `add_days(start_of_month(d), -1)`.

Never faults."#,
    examples: &[
        Example { expr: r#"start_of_month(@"2026-11-25")"#, json: r#""2026-11-01""# },
        Example { expr: r#"start_of_month(@"2026-03-01")"#, json: r#""2026-03-01""# },
        Example { expr: r#"add_days(start_of_month(@"2028-03-15"), -1)"#, json: r#""2028-02-29""# },
    ],
};

/// `start_of_month(d)`.
pub fn start_of_month(d: Date) -> Date {
    time::start_of_month(d)
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
                (r#"start_of_month(@"2026-11-25")"#, j_date(start_of_month(date("2026-11-25")))),
                (r#"start_of_month(@"2026-03-01")"#, j_date(start_of_month(date("2026-03-01")))),
                (
                    r#"add_days(start_of_month(@"2028-03-15"), -1)"#,
                    j_date(time::add_days(start_of_month(date("2028-03-15")), -1).unwrap()),
                ),
            ],
        );
    }
}
