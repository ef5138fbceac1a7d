//! `lower`: Unicode default lower-casing of a Text.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::text;

pub static BUILTIN: Builtin = Builtin {
    name: "lower",
    overloads: &[Overload {
        params: &[Param { name: "text", ty: TypeRef::Text }],
        result: TypeRef::Text,
        target: Target::Op(Op::Lower),
    }],
    summary: "The Text in lower case (Unicode default case conversion).",
    docs: r#"`lower(t)` applies the Unicode default lower-case mapping, exactly
as Rust's `str::to_lowercase`: not locale-specific, and a Greek capital
sigma becomes a final `ς` at the end of a word and `σ` elsewhere. Characters
without case are kept.

Never faults."#,
    examples: &[
        Example { expr: r#"lower("HELLO World")"#, json: r#""hello world""# },
        Example { expr: r#"lower("ÀB")"#, json: r#""àb""# },
        Example { expr: r#"lower("ΟΔΟΣ")"#, json: r#""οδος""# },
    ],
};

/// `lower(t)`.
pub fn lower(s: &str) -> String {
    text::lower(s)
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
                (r#"lower("HELLO World")"#, j_text(&lower("HELLO World"))),
                (r#"lower("ÀB")"#, j_text(&lower("ÀB"))),
                (r#"lower("ΟΔΟΣ")"#, j_text(&lower("ΟΔΟΣ"))),
            ],
        );
    }
}
