//! `weekday`: the day of the week of a Date, as the built-in enum `Weekday`.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::{time, Date, Weekday};

pub static BUILTIN: Builtin = Builtin {
    name: "weekday",
    overloads: &[Overload {
        params: &[Param { name: "date", ty: TypeRef::Date }],
        result: TypeRef::Weekday,
        target: Target::Op(Op::Weekday),
    }],
    summary: "The day of the week of a Date.",
    docs: r#"`weekday(d)` is a variant of the built-in enum
`Weekday { Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday }`;
its JSON output is the variant name (`"Friday"`). Weeks start on Monday, as
in ISO 8601. Compare with a bare variant (`weekday(d) == Saturday`) or test
membership (`weekday(d) in [Saturday, Sunday]`).

Never faults."#,
    examples: &[
        Example { expr: r#"weekday(@"2026-11-25")"#, json: r#""Wednesday""# },
        Example { expr: r#"weekday(@"2028-02-29")"#, json: r#""Tuesday""# },
        Example { expr: r#"weekday(@"2026-11-29") in [Saturday, Sunday]"#, json: "true" },
    ],
};

/// `weekday(d)`.
pub fn weekday(d: Date) -> Weekday {
    time::weekday(d)
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
                (r#"weekday(@"2026-11-25")"#, j_text(weekday(date("2026-11-25")).name())),
                (r#"weekday(@"2028-02-29")"#, j_text(weekday(date("2028-02-29")).name())),
                (
                    r#"weekday(@"2026-11-29") in [Saturday, Sunday]"#,
                    [Weekday::Saturday, Weekday::Sunday].contains(&weekday(date("2026-11-29"))).to_string(),
                ),
            ],
        );
    }
}
