//! `sort_by`: a list sorted by a key a lambda gives (stable), ascending or descending.

use std::cmp::Ordering;

use super::{Aggregate, Builtin, Example, OrdKind, Overload, Param, Target, TypeRef};
use crate::money::{self, Money, MoneyOp};
use crate::{num, text, Date, Decimal, Fault, Timestamp};

/// The variants of the built-in enum `SortOrder`, by index (also their wire names).
pub const SORT_ORDER_NAMES: [&str; 2] = ["Ascending", "Descending"];

pub static BUILTIN: Builtin = Builtin {
    name: "sort_by",
    overloads: &[
        Overload {
            params: &[
                Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
                Param { name: "key", ty: TypeRef::Lambda(&TypeRef::Key) },
            ],
            result: TypeRef::List(&TypeRef::Var),
            target: Target::Aggregate(Aggregate::SortBy { kind: OrdKind::Int, descending: false }),
        },
        Overload {
            params: &[
                Param { name: "items", ty: TypeRef::List(&TypeRef::Var) },
                Param { name: "key", ty: TypeRef::Lambda(&TypeRef::Key) },
                Param { name: "order", ty: TypeRef::SortOrder },
            ],
            result: TypeRef::List(&TypeRef::Var),
            target: Target::Aggregate(Aggregate::SortBy { kind: OrdKind::Int, descending: false }),
        },
    ],
    summary: "The list sorted by the key `x => k` (stable), ascending unless `Descending` is given.",
    docs: r#"`sort_by(xs, x => k)` evaluates the key `k` once for each element
`x` of `xs`, in list order, and gives the elements ordered by their keys,
smallest first. `sort_by(xs, x => k, Descending)` orders largest first;
the third argument is a variant of the built-in enum `SortOrder`
(`Ascending`, the default, or `Descending`), written as a variant.

The sort is stable in both orders: elements with equal keys keep their
order in `xs`. The key must be of an ordered type: Int, Decimal (by value:
`1.0` and `1.00` are equal keys), Money of one currency, Date, Timestamp or
Text (by Unicode scalar values, as `<`).

Faults: `CURRENCY_MISMATCH` when Money keys are not all of one currency
(the message names the first key and the first key of another currency);
a fault in `k` for any element rejects the event."#,
    examples: &[
        Example { expr: "sort_by([3, 1, 2], x => x)", json: "[1,2,3]" },
        Example { expr: r#"sort_by(["bb", "a", "cc"], s => len(s))"#, json: r#"["a","bb","cc"]"# },
        Example { expr: r#"sort_by(["b", "c", "a"], s => s, Descending)"#, json: r#"["c","b","a"]"# },
        Example {
            expr: "sort_by([2.50 USD, 1 USD], m => m)",
            json: r#"[{"amount":"1","currency":"USD"},{"amount":"2.50","currency":"USD"}]"#,
        },
    ],
};

/// One element's sort key, of the key's ordered kind.
#[derive(Debug, Clone, Copy)]
pub enum SortKey<'a> {
    Int(i64),
    Decimal(Decimal),
    Money(Money),
    Date(Date),
    Timestamp(Timestamp),
    Text(&'a str),
}

impl SortKey<'_> {
    /// Orders two keys of one kind (Money of one currency: [`order`] checks that first).
    fn cmp(&self, other: &SortKey<'_>) -> Ordering {
        match (self, other) {
            (SortKey::Int(a), SortKey::Int(b)) => a.cmp(b),
            (SortKey::Decimal(a), SortKey::Decimal(b)) => num::cmp(a, b),
            (SortKey::Money(a), SortKey::Money(b)) => num::cmp(&a.0, &b.0),
            (SortKey::Date(a), SortKey::Date(b)) => a.0.cmp(&b.0),
            (SortKey::Timestamp(a), SortKey::Timestamp(b)) => a.0.cmp(&b.0),
            (SortKey::Text(a), SortKey::Text(b)) => text::cmp(a, b),
            _ => Ordering::Equal,
        }
    }
}

/// The positions of the elements in sorted order, given their keys in list
/// order: stable, ascending or descending. Money keys must all have the
/// currency of the first (else `CurrencyMismatch` naming the first key and
/// the first of another currency), which both engines check the same way
/// before sorting, so the fault never depends on the sorting algorithm.
pub fn order(keys: &[SortKey<'_>], descending: bool) -> Result<Vec<usize>, Fault> {
    if let Some(SortKey::Money(first)) = keys.first() {
        for k in keys {
            if let SortKey::Money(m) = k {
                money::same_currency(MoneyOp::SortBy, *first, *m)?;
            }
        }
    }
    // Keys that are integers once read the same way (Int, Date, Timestamp,
    // and decimals or Money of one scale, by their coefficient) sort as
    // plain integers: the same order, without a comparison of decimals.
    let ints: Option<Vec<i128>> = match keys.first() {
        Some(SortKey::Decimal(d)) | Some(SortKey::Money((d, _))) => {
            let scale = d.scale();
            keys.iter()
                .map(|k| match k {
                    SortKey::Decimal(x) | SortKey::Money((x, _)) if x.scale() == scale => Some(x.mantissa()),
                    _ => None,
                })
                .collect()
        }
        _ => keys
            .iter()
            .map(|k| match k {
                SortKey::Int(i) | SortKey::Timestamp(Timestamp(i)) => Some(i128::from(*i)),
                SortKey::Date(Date(d)) => Some(i128::from(*d)),
                _ => None,
            })
            .collect(),
    };
    if let Some(ints) = ints {
        return Ok(order_ints(&ints, descending));
    }
    let mut idx: Vec<usize> = (0..keys.len()).collect();
    let at = |i: &usize| keys.get(*i).copied().unwrap_or(SortKey::Int(0));
    if descending {
        idx.sort_by(|a, b| at(b).cmp(&at(a)));
    } else {
        idx.sort_by(|a, b| at(a).cmp(&at(b)));
    }
    Ok(idx)
}

/// The stable order of integer keys (given in list order), ascending or
/// descending: [`order`]'s for keys that read as integers. Each key and its
/// position are packed into one machine integer (the key, order-preserving,
/// high; the position low) when they fit, so a plain integer sort is the
/// stable order in either direction.
pub fn order_ints(ints: &[i128], descending: bool) -> Vec<usize> {
    let n = ints.len();
    let fits = |lo: i128, hi: i128| ints.iter().all(|k| (lo..=hi).contains(k));
    if u32::try_from(n).is_ok() && fits(i128::from(i32::MIN), i128::from(i32::MAX)) {
        let mut packed: Vec<u64> = ints
            .iter()
            .zip(0u32..)
            .map(|(k, i)| {
                let biased = (*k as i32 as u32) ^ (1 << 31);
                let high = if descending { !biased } else { biased };
                (u64::from(high) << 32) | u64::from(i)
            })
            .collect();
        packed.sort_unstable();
        return packed.into_iter().map(|p| (p as u32) as usize).collect();
    }
    if fits(i128::from(i64::MIN), i128::from(i64::MAX)) {
        let mut packed: Vec<u128> = ints
            .iter()
            .zip(0u64..)
            .map(|(k, i)| {
                let biased = (*k as i64 as u64) ^ (1 << 63);
                let high = if descending { !biased } else { biased };
                (u128::from(high) << 64) | u128::from(i)
            })
            .collect();
        packed.sort_unstable();
        return packed.into_iter().map(|p| (p as u64) as usize).collect();
    }
    // (key, position) pairs: the position breaks ties, ascending in both orders.
    let mut pairs: Vec<(i128, usize)> = ints.iter().copied().zip(0..).collect();
    if descending {
        pairs.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    } else {
        pairs.sort_unstable();
    }
    pairs.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;

    #[test]
    fn examples_hold() {
        let ints = [3i64, 1, 2];
        let keys: Vec<SortKey> = ints.iter().map(|i| SortKey::Int(*i)).collect();
        let ints: Vec<String> = order(&keys, false).unwrap().iter().map(|&i| ints[i].to_string()).collect();
        let texts = ["bb", "a", "cc"];
        let keys: Vec<SortKey> = texts.iter().map(|s| SortKey::Int(crate::text::len(s))).collect();
        let by_len: Vec<String> = order(&keys, false).unwrap().iter().map(|&i| j_text(texts[i])).collect();
        let texts = ["b", "c", "a"];
        let keys: Vec<SortKey> = texts.iter().map(|s| SortKey::Text(s)).collect();
        let desc: Vec<String> = order(&keys, true).unwrap().iter().map(|&i| j_text(texts[i])).collect();
        let monies = [money("2.50", "USD"), money("1", "USD")];
        let keys: Vec<SortKey> = monies.iter().map(|m| SortKey::Money(*m)).collect();
        let monies: Vec<String> = order(&keys, false).unwrap().iter().map(|&i| j_money(monies[i])).collect();
        assert_examples(
            &BUILTIN,
            &[
                ("sort_by([3, 1, 2], x => x)", j_list(&ints)),
                (r#"sort_by(["bb", "a", "cc"], s => len(s))"#, j_list(&by_len)),
                (r#"sort_by(["b", "c", "a"], s => s, Descending)"#, j_list(&desc)),
                ("sort_by([2.50 USD, 1 USD], m => m)", j_list(&monies)),
            ],
        );
    }

    #[test]
    fn stable_both_ways_and_one_currency() {
        let keys: Vec<SortKey> = [2i64, 1, 2, 1].iter().map(|i| SortKey::Int(*i)).collect();
        assert_eq!(order(&keys, false).unwrap(), [1, 3, 0, 2]);
        assert_eq!(order(&keys, true).unwrap(), [0, 2, 1, 3]);
        let keys: Vec<SortKey> = ["1.0", "1.00", "0.5"].iter().map(|d| SortKey::Decimal(dec(d))).collect();
        assert_eq!(order(&keys, false).unwrap(), [2, 0, 1]);
        assert_eq!(order(&keys, true).unwrap(), [0, 1, 2]);
        // One scale: by coefficient, still stable.
        let keys: Vec<SortKey> = ["1.50", "-0.25", "1.50", "0.00"].iter().map(|d| SortKey::Decimal(dec(d))).collect();
        assert_eq!(order(&keys, false).unwrap(), [1, 3, 0, 2]);
        assert_eq!(order(&keys, true).unwrap(), [0, 2, 3, 1]);
        let keys: Vec<SortKey> = ["b", "a", "b", "A"].iter().map(|t| SortKey::Text(t)).collect();
        assert_eq!(order(&keys, false).unwrap(), [3, 1, 0, 2]);
        assert_eq!(order(&keys, true).unwrap(), [0, 2, 1, 3]);
        let keys =
            [SortKey::Money(money("1", "USD")), SortKey::Money(money("2", "USD")), SortKey::Money(money("3", "EUR"))];
        assert_eq!(
            order(&keys, false),
            Err(Fault::CurrencyMismatch { op: MoneyOp::SortBy, left: money("1", "USD"), right: money("3", "EUR") })
        );
        assert!(order(&[], true).unwrap().is_empty());
    }

    #[test]
    fn fast_paths_agree_with_a_plain_stable_sort() {
        let mut x: u64 = 7;
        let mut next = || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            x >> 33
        };
        for n in [0usize, 1, 2, 17, 500] {
            let ints: Vec<i64> = (0..n).map(|_| (next() % 50) as i64 - 25).collect();
            let ints = [ints, vec![i64::from(i32::MIN), i64::from(i32::MAX), 0]].concat();
            let wide: Vec<i128> = ints.iter().map(|i| i128::from(*i) << 40).chain([i128::MAX, i128::MIN]).collect();
            let decs: Vec<Decimal> = ints.iter().map(|i| Decimal::new(*i, 2)).collect();
            let mixed: Vec<Decimal> = ints.iter().enumerate().map(|(j, i)| Decimal::new(*i, (j % 3) as u32)).collect();
            for descending in [false, true] {
                let stable = |cmp: &dyn Fn(usize, usize) -> Ordering| {
                    let mut idx: Vec<usize> = (0..ints.len()).collect();
                    idx.sort_by(|a, b| if descending { cmp(*b, *a) } else { cmp(*a, *b) });
                    idx
                };
                let keys: Vec<SortKey> = ints.iter().map(|i| SortKey::Int(*i)).collect();
                assert_eq!(order(&keys, descending).unwrap(), stable(&|a, b| ints[a].cmp(&ints[b])));
                let big: Vec<i128> = ints.iter().map(|i| i128::from(*i) << 20).collect();
                assert_eq!(order_ints(&big, descending), stable(&|a, b| big[a].cmp(&big[b])));
                let mut idx: Vec<usize> = (0..wide.len()).collect();
                idx.sort_by(|a, b| if descending { wide[*b].cmp(&wide[*a]) } else { wide[*a].cmp(&wide[*b]) });
                assert_eq!(order_ints(&wide, descending), idx);
                let keys: Vec<SortKey> = decs.iter().map(|d| SortKey::Decimal(*d)).collect();
                assert_eq!(order(&keys, descending).unwrap(), stable(&|a, b| num::cmp(&decs[a], &decs[b])));
                let keys: Vec<SortKey> = mixed.iter().map(|d| SortKey::Decimal(*d)).collect();
                assert_eq!(order(&keys, descending).unwrap(), stable(&|a, b| num::cmp(&mixed[a], &mixed[b])));
            }
        }
    }
}
