//! `first`: the first element of a list, or none.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};

pub static BUILTIN: Builtin = Builtin {
    name: "first",
    overloads: &[Overload {
        params: &[Param { name: "items", ty: TypeRef::List(&TypeRef::Var) }],
        result: TypeRef::Optional(&TypeRef::Var),
        target: Target::Op(Op::First),
    }],
    summary: "The first element of a list, or `none` when it is empty.",
    docs: r#"`first(xs)` is `xs[0]`: the first element of `xs`, or `none` when
the list is empty (type `T?` for a `List<T>`).

Never faults."#,
    examples: &[
        Example { expr: "first([10, 20, 30])", json: "10" },
        Example { expr: "first(filter([1, 2], x => x > 5))", json: "null" },
    ],
};

/// The first of `items`, if any.
pub fn first<T>(items: &[T]) -> Option<&T> {
    items.first()
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
            &[("first([10, 20, 30])", j(first(&[10, 20, 30]))), ("first(filter([1, 2], x => x > 5))", j(first(&[])))],
        );
    }
}
