//! `contains`: whether a Text occurs inside another.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::text;

pub static BUILTIN: Builtin = Builtin {
    name: "contains",
    overloads: &[Overload {
        params: &[Param { name: "text", ty: TypeRef::Text }, Param { name: "part", ty: TypeRef::Text }],
        result: TypeRef::Bool,
        target: Target::Op(Op::Contains),
    }],
    summary: "Whether the second Text occurs in the first (case-sensitive).",
    docs: r#"`contains(t, part)` is true when `part` occurs anywhere in `t`,
comparing code points exactly: case-sensitive and without Unicode
normalisation. Every Text contains the empty Text.

For membership in a list of values use `x in [A, B]` instead.

Never faults."#,
    examples: &[
        Example { expr: r#"contains("overtime", "time")"#, json: "true" },
        Example { expr: r#"contains("ABC", "b")"#, json: "false" },
        Example { expr: r#"contains("", "")"#, json: "true" },
    ],
};

/// `contains(t, part)`.
pub fn contains(s: &str, part: &str) -> bool {
    text::contains(s, part)
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
                (r#"contains("overtime", "time")"#, contains("overtime", "time").to_string()),
                (r#"contains("ABC", "b")"#, contains("ABC", "b").to_string()),
                (r#"contains("", "")"#, contains("", "").to_string()),
            ],
        );
    }
}
