//! `map`: a list of the values a lambda gives for each element of a list.

use super::{Aggregate, Builtin, Example, Overload, Param, Target, TypeRef};

pub static BUILTIN: Builtin = Builtin {
    name: "map",
    overloads: &[Overload {
        params: &[
            Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
            Param { name: "value", ty: TypeRef::Lambda(&TypeRef::Out) },
        ],
        result: TypeRef::List(&TypeRef::Out),
        target: Target::Aggregate(Aggregate::Map),
    }],
    summary: "The list of the values of `x => e` for each element, in list order.",
    docs: r#"`map(xs, x => e)` evaluates `e` for each element `x` of `xs`, in
list order, and gives the list of the results: as long as `xs`, of the
lambda's type (`List<U>` for an `e` of type `U`). The lambda may use the
parameters and `let`s around it and may itself call `map`, `sum` and the
other list functions.

Faults: a fault in `e` for any element rejects the event."#,
    examples: &[
        Example { expr: "map([1, 2, 3], x => x * 10)", json: "[10,20,30]" },
        Example { expr: r#"map(["a", "bc"], s => len(s))"#, json: "[1,2]" },
        Example {
            expr: "map([1.5, 2], x => x * 2.00 USD)",
            json: r#"[{"amount":"3.000","currency":"USD"},{"amount":"4.00","currency":"USD"}]"#,
        },
    ],
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;
    use crate::{money, num};

    #[test]
    fn examples_hold() {
        let tens: Vec<String> = [1, 2, 3].iter().map(|x| (x * 10).to_string()).collect();
        let lens: Vec<String> = ["a", "bc"].iter().map(|s| crate::text::len(s).to_string()).collect();
        let monies: Vec<String> = [dec("1.5"), num::from_int(2)]
            .iter()
            .map(|x| j_money(money::mul(money("2.00", "USD"), *x).unwrap()))
            .collect();
        assert_examples(
            &BUILTIN,
            &[
                ("map([1, 2, 3], x => x * 10)", j_list(&tens)),
                (r#"map(["a", "bc"], s => len(s))"#, j_list(&lens)),
                ("map([1.5, 2], x => x * 2.00 USD)", j_list(&monies)),
            ],
        );
    }
}
