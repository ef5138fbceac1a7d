//! `last`: the last element of a list, or none.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};

pub static BUILTIN: Builtin = Builtin {
    name: "last",
    overloads: &[Overload {
        params: &[Param { name: "items", ty: TypeRef::List(&TypeRef::Var) }],
        result: TypeRef::Optional(&TypeRef::Var),
        target: Target::Op(Op::Last),
    }],
    summary: "The last element of a list, or `none` when it is empty.",
    docs: r#"`last(xs)` is `xs[len(xs) - 1]`: the last element of `xs`, or
`none` when the list is empty (type `T?` for a `List<T>`).

Never faults."#,
    examples: &[
        Example { expr: "last([10, 20, 30])", json: "30" },
        Example { expr: "last(filter([1, 2], x => x > 5))", json: "null" },
    ],
};

/// The last of `items`, if any.
pub fn last<T>(items: &[T]) -> Option<&T> {
    items.last()
}

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
            &[("last([10, 20, 30])", j(last(&[10, 20, 30]))), ("last(filter([1, 2], x => x > 5))", j(last(&[])))],
        );
    }
}
