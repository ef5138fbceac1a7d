//! `distinct`: a list without repeated values, first occurrences kept.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};

pub static BUILTIN: Builtin = Builtin {
    name: "distinct",
    overloads: &[Overload {
        params: &[Param { name: "items", ty: TypeRef::List(&TypeRef::Var) }],
        result: TypeRef::List(&TypeRef::Var),
        target: Target::Op(Op::Distinct),
    }],
    summary: "The list without repeats: the first occurrence of each value, in list order.",
    docs: r#"`distinct(xs)` keeps each element of `xs` that is not equal (as
`==`: numbers and Money by value, so `1.0` and `1.00` are one value;
records and lists field by field) to an element before it. The elements
kept are the first occurrences, in list order, unchanged (`distinct([1.0,
1.00])` is `[1.0]`).

Never faults. It compares every element with those kept before it, so it
costs up to n² comparisons for n distinct values."#,
    examples: &[
        Example { expr: "distinct([3, 1, 3, 2, 1])", json: "[3,1,2]" },
        Example { expr: "distinct([1.0, 1.00, 2])", json: r#"["1.0","2"]"# },
        Example { expr: r#"distinct(["b", "a", "b"])"#, json: r#"["b","a"]"# },
    ],
};

/// The positions of the elements `distinct` keeps: each one not `eq` to an
/// earlier kept one, in order.
pub fn keep<T>(items: &[T], eq: impl Fn(&T, &T) -> bool) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    for (i, x) in items.iter().enumerate() {
        if !kept.iter().any(|&k| items.get(k).is_some_and(|y| eq(y, x))) {
            kept.push(i);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;
    use crate::num;

    #[test]
    fn examples_hold() {
        let ints = [3, 1, 3, 2, 1];
        let ints: Vec<String> = keep(&ints, |a, b| a == b).iter().map(|&i| ints[i].to_string()).collect();
        let decs = [dec("1.0"), dec("1.00"), dec("2")];
        let decs: Vec<String> = keep(&decs, |a, b| num::cmp(a, b).is_eq()).iter().map(|&i| j_dec(decs[i])).collect();
        let texts = ["b", "a", "b"];
        let texts: Vec<String> = keep(&texts, |a, b| a == b).iter().map(|&i| j_text(texts[i])).collect();
        assert_examples(
            &BUILTIN,
            &[
                ("distinct([3, 1, 3, 2, 1])", j_list(&ints)),
                ("distinct([1.0, 1.00, 2])", j_list(&decs)),
                (r#"distinct(["b", "a", "b"])"#, j_list(&texts)),
            ],
        );
    }
}
