//! `count`: how many elements of a list satisfy a condition (an aggregate with a lambda).

use super::{Aggregate, Builtin, Example, Overload, Param, Target, TypeRef};
use crate::{num, Fault};

pub static BUILTIN: Builtin = Builtin {
    name: "count",
    overloads: &[Overload {
        params: &[
            Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
            Param { name: "test", ty: TypeRef::Lambda(&TypeRef::Bool) },
        ],
        result: TypeRef::Int,
        target: Target::Aggregate(Aggregate::Count),
    }],
    summary: "The number of elements for which the condition holds.",
    docs: r#"`count(xs, x => c)` evaluates `c` for every element `x` of `xs`,
in list order, and counts those for which it is true. An empty list counts
0. For the length of a list regardless of a condition use `len(xs)`.

Faults: a fault while evaluating `c` for any element rejects the whole
count."#,
    examples: &[
        Example { expr: "count([1, 2, 3, 4], x => x > 2)", json: "2" },
        Example { expr: r#"count(["a", "", "b"], s => s == "")"#, json: "1" },
        Example { expr: "count([], x => true)", json: "0" },
    ],
};

/// One step of a count: `total + 1` when the condition held.
pub fn step(total: i64, holds: bool) -> Result<i64, Fault> {
    if holds {
        num::int_add(total, 1)
    } else {
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    #[test]
    fn examples_hold() {
        let gt2 = [1, 2, 3, 4].iter().try_fold(0, |t, x| step(t, *x > 2)).unwrap();
        let empty = ["a", "", "b"].iter().try_fold(0, |t, s| step(t, s.is_empty())).unwrap();
        let none = std::iter::empty::<i64>().try_fold(0, |t, _| step(t, true)).unwrap();
        assert_examples(
            &BUILTIN,
            &[
                ("count([1, 2, 3, 4], x => x > 2)", gt2.to_string()),
                (r#"count(["a", "", "b"], s => s == "")"#, empty.to_string()),
                ("count([], x => true)", none.to_string()),
            ],
        );
    }
}
