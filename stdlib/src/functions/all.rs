//! `all`: whether a condition holds for every element of a list (an aggregate with a lambda).

use super::{Aggregate, Builtin, Example, Overload, Param, Target, TypeRef};

pub static BUILTIN: Builtin = Builtin {
    name: "all",
    overloads: &[Overload {
        params: &[
            Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
            Param { name: "test", ty: TypeRef::Lambda(&TypeRef::Bool) },
        ],
        result: TypeRef::Bool,
        target: Target::Aggregate(Aggregate::All),
    }],
    summary: "Whether the condition holds for every element; true for an empty list.",
    docs: r#"`all(xs, x => c)` is true when `c` is true for every element `x`
of `xs`. Elements are tested in list order and testing stops at the first
element for which `c` is false, so the later ones are not evaluated and can
raise no fault (as with `and`). `all` of an empty list is true.

Faults: a fault while evaluating `c` for an element that is tested rejects
the event."#,
    examples: &[
        Example { expr: "all([2, 4, 6], x => x > 0)", json: "true" },
        Example { expr: "all([2, -4, 6], x => x > 0)", json: "false" },
        Example { expr: "all([], x => false)", json: "true" },
    ],
};

/// The result of `all` over an empty list.
pub const EMPTY: bool = true;

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
                ("all([2, 4, 6], x => x > 0)", [2, 4, 6].iter().all(|x| *x > 0).to_string()),
                ("all([2, -4, 6], x => x > 0)", [2, -4, 6].iter().all(|x| *x > 0).to_string()),
                ("all([], x => false)", EMPTY.to_string()),
            ],
        );
    }
}
