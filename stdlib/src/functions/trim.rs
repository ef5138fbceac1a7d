//! `trim`: removes leading and trailing Unicode White_Space from a Text.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::text;

pub static BUILTIN: Builtin = Builtin {
    name: "trim",
    overloads: &[Overload {
        params: &[Param { name: "text", ty: TypeRef::Text }],
        result: TypeRef::Text,
        target: Target::Op(Op::Trim),
    }],
    summary: "The Text without leading and trailing white space.",
    docs: r#"`trim(t)` removes every leading and trailing character with the
Unicode White_Space property: spaces, tabs, line breaks, the no-break space
U+00A0, the ideographic space U+3000 and the like. White space inside the
text is kept. Zero-width characters such as U+200B are not White_Space and
stay.

Never faults."#,
    examples: &[
        Example { expr: r#"trim("  a  b ")"#, json: r#""a  b""# },
        Example { expr: r#"trim("\t x \n")"#, json: r#""x""# },
        Example { expr: "trim(\"\u{3000}x\u{a0}\")", json: r#""x""# },
        Example { expr: r#"trim("   ")"#, json: r#""""# },
    ],
};

/// `trim(t)`.
pub fn trim(s: &str) -> &str {
    text::trim(s)
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
                (r#"trim("  a  b ")"#, j_text(trim("  a  b "))),
                // the Canon escapes \t and \n stand for a tab and a line feed
                (r#"trim("\t x \n")"#, j_text(trim("\t x \n"))),
                ("trim(\"\u{3000}x\u{a0}\")", j_text(trim("\u{3000}x\u{a0}"))),
                (r#"trim("   ")"#, j_text(trim("   "))),
            ],
        );
    }
}
