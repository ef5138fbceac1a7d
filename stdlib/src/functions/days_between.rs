//! `days_between`: the number of days from one Date to another.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{time, Date};

pub static BUILTIN: Builtin = Builtin {
    name: "days_between",
    overloads: &[Overload {
        params: &[Param { name: "from", ty: TypeRef::Date }, Param { name: "to", ty: TypeRef::Date }],
        result: TypeRef::Int,
        target: Target::Op(Op::DaysBetween),
    }],
    summary: "The second Date minus the first, in days.",
    docs: r#"`days_between(a, b)` is the number of days from `a` to `b`:
positive when `b` is later, negative when it is earlier, 0 on the same day.
It counts calendar days, so a leap year has 366. To compare a Timestamp,
take its UTC date first with `date(ts)`.

Never faults."#,
    examples: &[
        Example { expr: r#"days_between(@"2026-02-27", @"2026-03-02")"#, json: "3" },
        Example { expr: r#"days_between(@"2026-03-02", @"2026-02-27")"#, json: "-3" },
        Example { expr: r#"days_between(@"2026-01-15", date(@"2026-03-01T23:30:00-05:00"))"#, json: "46" },
        Example { expr: r#"days_between(@"2028-01-01", @"2029-01-01")"#, json: "366" },
    ],
};

/// `days_between(a, b)`: `b − a`.
pub fn days_between(a: Date, b: Date) -> i64 {
    time::days_between(a, b)
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
                (
                    r#"days_between(@"2026-02-27", @"2026-03-02")"#,
                    days_between(date("2026-02-27"), date("2026-03-02")).to_string(),
                ),
                (
                    r#"days_between(@"2026-03-02", @"2026-02-27")"#,
                    days_between(date("2026-03-02"), date("2026-02-27")).to_string(),
                ),
                (
                    r#"days_between(@"2026-01-15", date(@"2026-03-01T23:30:00-05:00"))"#,
                    days_between(date("2026-01-15"), time::date_of(ts("2026-03-01T23:30:00-05:00"))).to_string(),
                ),
                (
                    r#"days_between(@"2028-01-01", @"2029-01-01")"#,
                    days_between(date("2028-01-01"), date("2029-01-01")).to_string(),
                ),
            ],
        );
    }
}
