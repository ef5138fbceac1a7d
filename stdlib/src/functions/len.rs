//! `len`: the length of a Text (in Unicode scalar values) or of a list.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::text;

pub static BUILTIN: Builtin = Builtin {
    name: "len",
    overloads: &[
        Overload {
            params: &[Param { name: "x", ty: TypeRef::Text }],
            result: TypeRef::Int,
            target: Target::Op(Op::LenText),
        },
        Overload {
            params: &[Param { name: "x", ty: TypeRef::List(&TypeRef::Var) }],
            result: TypeRef::Int,
            target: Target::Op(Op::LenList),
        },
    ],
    summary: "The number of characters (Unicode scalar values) in a Text, or of elements in a list.",
    docs: r#"`len(t)` counts the Unicode scalar values of a Text: not bytes
(`len("héllo")` is 5 although it is 6 bytes of UTF-8) and not user-perceived
characters (an `e` followed by a combining accent counts 2). `len(xs)`
counts the elements of a list.

Never faults."#,
    examples: &[
        Example { expr: r#"len("héllo")"#, json: "5" },
        Example { expr: r#"len("")"#, json: "0" },
        Example { expr: r#"len("🎉")"#, json: "1" },
        Example { expr: "len([10, 20, 30])", json: "3" },
    ],
};

/// `len` of a Text, in Unicode scalar values.
pub fn len_text(s: &str) -> i64 {
    text::len(s)
}

/// `len` of a list with `count` elements.
pub fn len_list(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
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
                (r#"len("héllo")"#, len_text("héllo").to_string()),
                (r#"len("")"#, len_text("").to_string()),
                (r#"len("🎉")"#, len_text("🎉").to_string()),
                ("len([10, 20, 30])", len_list([10, 20, 30].len()).to_string()),
            ],
        );
    }
}
