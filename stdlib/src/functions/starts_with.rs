//! `starts_with`: whether a Text begins with another.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::text;

pub static BUILTIN: Builtin = Builtin {
    name: "starts_with",
    overloads: &[Overload {
        params: &[Param { name: "text", ty: TypeRef::Text }, Param { name: "prefix", ty: TypeRef::Text }],
        result: TypeRef::Bool,
        target: Target::Op(Op::StartsWith),
    }],
    summary: "Whether the first Text begins with the second (case-sensitive).",
    docs: r#"`starts_with(t, prefix)` is true when `t` begins with `prefix`,
comparing code points exactly: case-sensitive and without Unicode
normalisation. Every Text starts with the empty Text.

Never faults."#,
    examples: &[
        Example { expr: r#"starts_with("T-100", "T-")"#, json: "true" },
        Example { expr: r#"starts_with("t-100", "T-")"#, json: "false" },
        Example { expr: r#"starts_with("abc", "")"#, json: "true" },
    ],
};

/// `starts_with(t, prefix)`.
pub fn starts_with(s: &str, prefix: &str) -> bool {
    text::starts_with(s, prefix)
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
                (r#"starts_with("T-100", "T-")"#, starts_with("T-100", "T-").to_string()),
                (r#"starts_with("t-100", "T-")"#, starts_with("t-100", "T-").to_string()),
                (r#"starts_with("abc", "")"#, starts_with("abc", "").to_string()),
            ],
        );
    }
}
