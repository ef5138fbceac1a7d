//! `end_of_month`: the last day of a Date's month.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{time, Date};

pub static BUILTIN: Builtin = Builtin {
    name: "end_of_month",
    overloads: &[Overload {
        params: &[Param { name: "date", ty: TypeRef::Date }],
        result: TypeRef::Date,
        target: Target::Op(Op::EndOfMonth),
    }],
    summary: "The last day of the Date's month.",
    docs: r#"`end_of_month(d)` is the last day of `d`'s month: the 28th, 29th,
30th or 31st. February has 29 days in leap years (divisible by 4, except
centuries not divisible by 400: 2000 and 2028 are leap years, 2100 is not).

Never faults."#,
    examples: &[
        Example { expr: r#"end_of_month(@"2028-02-10")"#, json: r#""2028-02-29""# },
        Example { expr: r#"end_of_month(@"2026-02-27")"#, json: r#""2026-02-28""# },
        Example { expr: r#"end_of_month(@"2100-02-01")"#, json: r#""2100-02-28""# },
        Example { expr: r#"end_of_month(@"2000-02-15")"#, json: r#""2000-02-29""# },
        Example { expr: r#"end_of_month(@"2026-12-31")"#, json: r#""2026-12-31""# },
    ],
};

/// `end_of_month(d)`.
pub fn end_of_month(d: Date) -> Date {
    time::end_of_month(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    #[test]
    fn examples_hold() {
        let e = |s: &str| j_date(end_of_month(date(s)));
        assert_examples(
            &BUILTIN,
            &[
                (r#"end_of_month(@"2028-02-10")"#, e("2028-02-10")),
                (r#"end_of_month(@"2026-02-27")"#, e("2026-02-27")),
                (r#"end_of_month(@"2100-02-01")"#, e("2100-02-01")),
                (r#"end_of_month(@"2000-02-15")"#, e("2000-02-15")),
                (r#"end_of_month(@"2026-12-31")"#, e("2026-12-31")),
            ],
        );
    }
}
