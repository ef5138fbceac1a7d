//! `filter`: the elements of a list for which a condition holds.

use super::{Aggregate, Builtin, Example, Overload, Param, Target, TypeRef};

pub static BUILTIN: Builtin = Builtin {
    name: "filter",
    overloads: &[Overload {
        params: &[
            Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
            Param { name: "test", ty: TypeRef::Lambda(&TypeRef::Bool) },
        ],
        result: TypeRef::List(&TypeRef::Var),
        target: Target::Aggregate(Aggregate::Filter),
    }],
    summary: "The elements for which the condition holds, in list order.",
    docs: r#"`filter(xs, x => c)` evaluates `c` for every element `x` of `xs`,
in list order, and keeps the elements for which it is true, in their
order. The result has the type of `xs`; it is empty when no element
passes.

Faults: a fault in `c` for any element rejects the event."#,
    examples: &[
        Example { expr: "filter([1, 2, 3, 4], x => x > 2)", json: "[3,4]" },
        Example { expr: r#"filter(["a", "", "b"], s => s != "")"#, json: r#"["a","b"]"# },
        Example { expr: "filter([1, 2], x => x > 5)", json: "[]" },
    ],
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    #[test]
    fn examples_hold() {
        let big: Vec<String> = [1, 2, 3, 4].iter().filter(|x| **x > 2).map(|x| x.to_string()).collect();
        let full: Vec<String> = ["a", "", "b"].iter().filter(|s| !s.is_empty()).map(|s| j_text(s)).collect();
        let none: Vec<String> = [1, 2].iter().filter(|x| **x > 5).map(|x| x.to_string()).collect();
        assert_examples(
            &BUILTIN,
            &[
                ("filter([1, 2, 3, 4], x => x > 2)", j_list(&big)),
                (r#"filter(["a", "", "b"], s => s != "")"#, j_list(&full)),
                ("filter([1, 2], x => x > 5)", j_list(&none)),
            ],
        );
    }
}
