//! `upper`: Unicode default upper-casing of a Text.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::text;

pub static BUILTIN: Builtin = Builtin {
    name: "upper",
    overloads: &[Overload {
        params: &[Param { name: "text", ty: TypeRef::Text }],
        result: TypeRef::Text,
        target: Target::Op(Op::Upper),
    }],
    summary: "The Text in upper case (Unicode default case conversion).",
    docs: r#"`upper(t)` applies the Unicode default upper-case mapping to
every character, exactly as Rust's `str::to_uppercase`: it is not
locale-specific (no Turkish dotted I) and a character may become several
(`ß` becomes `SS`), so the length can change. Characters without case are
kept.

Never faults."#,
    examples: &[
        Example { expr: r#"upper("po-1")"#, json: r#""PO-1""# },
        Example { expr: r#"upper("straße")"#, json: r#""STRASSE""# },
        Example { expr: r#"upper("")"#, json: r#""""# },
    ],
};

/// `upper(t)`.
pub fn upper(s: &str) -> String {
    text::upper(s)
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
                (r#"upper("po-1")"#, j_text(&upper("po-1"))),
                (r#"upper("straße")"#, j_text(&upper("straße"))),
                (r#"upper("")"#, j_text(&upper(""))),
            ],
        );
    }
}
