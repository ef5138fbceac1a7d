//! `date`: the UTC calendar date of a Timestamp.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{time, Date, Timestamp};

pub static BUILTIN: Builtin = Builtin {
    name: "date",
    overloads: &[Overload {
        params: &[Param { name: "ts", ty: TypeRef::Timestamp }],
        result: TypeRef::Date,
        target: Target::Op(Op::Date),
    }],
    summary: "The calendar date of a Timestamp in UTC.",
    docs: r#"`date(ts)` is the date on which the instant `ts` falls in UTC.
Timestamps are normalised to UTC when they are read, so a local offset in
the input does not count: `@"2026-03-01T23:30:00-05:00"` is
`2026-03-02T04:30:00Z`, whose date is 2026-03-02.

Never faults."#,
    examples: &[
        Example { expr: r#"date(@"2026-11-25T09:30:00Z")"#, json: r#""2026-11-25""# },
        Example { expr: r#"date(@"2026-03-01T23:30:00-05:00")"#, json: r#""2026-03-02""# },
        Example { expr: r#"date(@"2026-03-02T01:15:00+02:00")"#, json: r#""2026-03-01""# },
    ],
};

/// `date(ts)`: the UTC date.
pub fn date(ts: Timestamp) -> Date {
    time::date_of(ts)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::date;
    use super::BUILTIN;
    use crate::functions::check::{assert_examples, j_date, ts};

    #[test]
    fn examples_hold() {
        assert_examples(
            &BUILTIN,
            &[
                (r#"date(@"2026-11-25T09:30:00Z")"#, j_date(date(ts("2026-11-25T09:30:00Z")))),
                (r#"date(@"2026-03-01T23:30:00-05:00")"#, j_date(date(ts("2026-03-01T23:30:00-05:00")))),
                (r#"date(@"2026-03-02T01:15:00+02:00")"#, j_date(date(ts("2026-03-02T01:15:00+02:00")))),
            ],
        );
    }
}
