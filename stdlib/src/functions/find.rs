//! `find`: the first element of a list for which a condition holds, or none.

use super::{Aggregate, Builtin, Example, Overload, Param, Target, TypeRef};

pub static BUILTIN: Builtin = Builtin {
    name: "find",
    overloads: &[Overload {
        params: &[
            Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
            Param { name: "test", ty: TypeRef::Lambda(&TypeRef::Bool) },
        ],
        result: TypeRef::Optional(&TypeRef::Var),
        target: Target::Aggregate(Aggregate::Find),
    }],
    summary: "The first element for which the condition holds, or `none`.",
    docs: r#"`find(xs, x => c)` tests the elements of `xs` in list order and
gives the first for which `c` is true, or `none` when there is none (type
`T?` for a `List<T>`: handle it as any optional, e.g. with `??` or
`require w != none else ...`). Testing stops at the first match, so later
elements are not evaluated and can raise no fault (as with `any`).

Faults: a fault in `c` for an element that is tested rejects the event."#,
    examples: &[
        Example { expr: "find([1, 5, 7], x => x > 2)", json: "5" },
        Example { expr: "find([1, 2], x => x > 5)", json: "null" },
    ],
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    #[test]
    fn examples_hold() {
        let j = |x: Option<&i64>| x.map_or_else(|| "null".to_owned(), |x| x.to_string());
        assert_examples(
            &BUILTIN,
            &[
                ("find([1, 5, 7], x => x > 2)", j([1i64, 5, 7].iter().find(|x| **x > 2))),
                ("find([1, 2], x => x > 5)", j([1i64, 2].iter().find(|x| **x > 5))),
            ],
        );
    }
}
