//! `ends_with`: whether a Text ends with another.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::text;

pub static BUILTIN: Builtin = Builtin {
    name: "ends_with",
    overloads: &[Overload {
        params: &[Param { name: "text", ty: TypeRef::Text }, Param { name: "suffix", ty: TypeRef::Text }],
        result: TypeRef::Bool,
        target: Target::Op(Op::EndsWith),
    }],
    summary: "Whether the first Text ends with the second (case-sensitive).",
    docs: r#"`ends_with(t, suffix)` is true when `t` ends with `suffix`,
comparing code points exactly: case-sensitive and without Unicode
normalisation. Every Text ends with the empty Text.

Never faults."#,
    examples: &[
        Example { expr: r#"ends_with("report.csv", ".csv")"#, json: "true" },
        Example { expr: r#"ends_with("report.CSV", ".csv")"#, json: "false" },
        Example { expr: r#"ends_with("a", "abc")"#, json: "false" },
    ],
};

/// `ends_with(t, suffix)`.
pub fn ends_with(s: &str, suffix: &str) -> bool {
    text::ends_with(s, suffix)
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
                (r#"ends_with("report.csv", ".csv")"#, ends_with("report.csv", ".csv").to_string()),
                (r#"ends_with("report.CSV", ".csv")"#, ends_with("report.CSV", ".csv").to_string()),
                (r#"ends_with("a", "abc")"#, ends_with("a", "abc").to_string()),
            ],
        );
    }
}
