//! `any`: whether a condition holds for at least one element of a list (an aggregate with a lambda).

use super::{Aggregate, Builtin, Example, Overload, Param, Target, TypeRef};

pub static BUILTIN: Builtin = Builtin {
    name: "any",
    overloads: &[Overload {
        params: &[
            Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
            Param { name: "test", ty: TypeRef::Lambda(&TypeRef::Bool) },
        ],
        result: TypeRef::Bool,
        target: Target::Aggregate(Aggregate::Any),
    }],
    summary: "Whether the condition holds for at least one element; false for an empty list.",
    docs: r#"`any(xs, x => c)` is true when `c` is true for at least one
element `x` of `xs`. Elements are tested in list order and testing stops at
the first element for which `c` is true, so the later ones are not
evaluated and can raise no fault (as with `or`). `any` of an empty list is
false.

Faults: a fault while evaluating `c` for an element that is tested rejects
the event."#,
    examples: &[
        Example { expr: "any([1, 2, 3], x => x > 2)", json: "true" },
        Example { expr: "any([1, 2, 3], x => x > 5)", json: "false" },
        Example { expr: "any([], x => true)", json: "false" },
    ],
};

/// The result of `any` over an empty list.
pub const EMPTY: bool = false;

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
                ("any([1, 2, 3], x => x > 2)", [1, 2, 3].iter().any(|x| *x > 2).to_string()),
                ("any([1, 2, 3], x => x > 5)", [1, 2, 3].iter().any(|x| *x > 5).to_string()),
                ("any([], x => true)", EMPTY.to_string()),
            ],
        );
    }
}
