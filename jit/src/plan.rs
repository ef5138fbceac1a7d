//! How a decision table is looked up rather than scanned: the index and
//! mixed plans, computed from the IR alone (no Cranelift here), once per
//! decision at compile time. `codegen/decision.rs` turns a plan into a load
//! from its entries and a jump.
//!
//! A column can be indexed when its parameter is an enum or a Bool (optional
//! or not) and every row tests it by equality only (`-` or a value list).
//! Its values get codes: an enum's variant index, a Bool's 0 or 1, then
//! `none` last for an optional column. A combination of codes is numbered
//! with the first column most significant.

use std::collections::HashMap;

use canon_compiler::ir::{self, CellTest, Const, Hit};
use canon_compiler::types::Ty;

/// The largest index a decision gets (entries of 4 bytes).
pub const MAX_INDEX: usize = 4096;

/// The most row tests the lists of a [`MixedPlan`] may hold in all.
pub const MAX_MIXED_TESTS: usize = 2048;

/// A column whose value is looked up in an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedColumn {
    /// The parameter the column tests.
    pub param: u32,
    /// How many codes its values have (`none` included when optional).
    pub codes: u32,
    /// Whether the parameter is optional (`none` is then the last code).
    pub optional: bool,
}

/// Two rows that both match under `hit unique`: a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflict {
    pub first_row: u32,
    pub second_row: u32,
}

/// Every input column is indexed, the hit policy is `first` or `unique`, and
/// the product of the columns' code counts is at most [`MAX_INDEX`]: the
/// matching row (or conflict) of each combination is known at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPlan {
    /// The decision's columns, in order.
    pub columns: Vec<IndexedColumn>,
    /// Per combination: 0 for no row, `r + 1` for row `r`, `rows + 1 + k`
    /// for conflict `k`.
    pub entries: Vec<u32>,
    /// Under `hit unique`, the first two rows that both match, distinct.
    pub conflicts: Vec<Conflict>,
}

/// Index on some columns, scan on the others: the enum and Bool columns
/// tested by equality only are indexed (while the product of their codes
/// stays within [`MAX_INDEX`]); at least one other column must remain, or
/// [`IndexPlan`] applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedPlan {
    /// The indexed columns, in order.
    pub columns: Vec<IndexedColumn>,
    /// Per column of the table, whether it is indexed (its test is then
    /// known to hold for the rows of a list, and the scan skips it).
    pub indexed: Vec<bool>,
    /// Per combination of the indexed columns' codes: which list.
    pub entries: Vec<u32>,
    /// The distinct lists of rows that can match, in row order.
    pub lists: Vec<Vec<usize>>,
}

/// Whether an equality cell (`-` or a value list) holds for the value of
/// code `code` of `column`.
fn cell_matches(cell: &CellTest, code: u32, column: &IndexedColumn) -> bool {
    let is_none = column.optional && code == column.codes - 1;
    match cell {
        CellTest::In { values, negated } => {
            let hit = values.iter().any(|v| match v {
                Const::None => is_none,
                Const::Enum(_, x) => !is_none && *x == code,
                Const::Bool(b) => !is_none && u32::from(*b) == code,
                _ => false,
            });
            hit != *negated
        }
        _ => true,
    }
}

/// The column at `pos` of `d`, if it can be indexed.
fn index_column(pkg: &ir::Package, d: &ir::DecisionDef, pos: usize) -> Option<IndexedColumn> {
    let param = *d.columns.get(pos)?;
    let (_, ty) = d.params.get(param as usize)?;
    let n = match ty.strip() {
        Ty::Bool => 2,
        Ty::Enum(e) => u32::try_from(pkg.enum_def(*e)?.variants.len()).ok()?,
        _ => return None,
    };
    let equality = d.rows.iter().all(|r| match r.cells.get(pos) {
        Some(CellTest::Any) => true,
        Some(CellTest::In { values, .. }) => {
            values.iter().all(|v| matches!(v, Const::None | Const::Enum(..) | Const::Bool(_)))
        }
        _ => false,
    });
    let optional = ty.is_optional();
    equality.then_some(IndexedColumn { param, codes: n + u32::from(optional), optional })
}

/// Steps `codes` to the next combination of `columns`, the last column fastest.
fn next_combination<'c>(codes: &mut [u32], columns: impl DoubleEndedIterator<Item = &'c IndexedColumn>) {
    for (c, column) in codes.iter_mut().rev().zip(columns.rev()) {
        *c += 1;
        if *c < column.codes {
            break;
        }
        *c = 0;
    }
}

impl IndexPlan {
    pub fn of(pkg: &ir::Package, d: &ir::DecisionDef) -> Option<IndexPlan> {
        if !matches!(d.hit, Hit::First | Hit::Unique) || d.columns.is_empty() || d.rows.len() >= 1 << 20 {
            return None;
        }
        let mut columns = Vec::new();
        let mut total = 1usize;
        for pos in 0..d.columns.len() {
            let column = index_column(pkg, d, pos)?;
            total = total.checked_mul(column.codes as usize).filter(|t| *t <= MAX_INDEX)?;
            columns.push(column);
        }
        let mut entries = Vec::with_capacity(total);
        let mut conflicts: Vec<Conflict> = Vec::new();
        let mut codes = vec![0u32; columns.len()];
        for _ in 0..total {
            let matches = |row: &ir::DecisionRow| {
                row.cells
                    .iter()
                    .zip(codes.iter().zip(columns.iter()))
                    .all(|(cell, (&code, column))| cell_matches(cell, code, column))
            };
            let mut hits = d.rows.iter().enumerate().filter(|(_, r)| matches(r)).map(|(i, _)| i as u32);
            let entry = match (hits.next(), d.hit) {
                (None, _) => 0,
                (Some(r), Hit::First) => r + 1,
                (Some(r), _) => match hits.next() {
                    None => r + 1,
                    Some(s) => {
                        let conflict = Conflict { first_row: r, second_row: s };
                        let k = match conflicts.iter().position(|c| *c == conflict) {
                            Some(k) => k,
                            None => {
                                conflicts.push(conflict);
                                conflicts.len() - 1
                            }
                        };
                        d.rows.len() as u32 + 1 + k as u32
                    }
                },
            };
            entries.push(entry);
            next_combination(&mut codes, columns.iter());
        }
        Some(IndexPlan { columns, entries, conflicts })
    }
}

impl MixedPlan {
    pub fn of(pkg: &ir::Package, d: &ir::DecisionDef) -> Option<MixedPlan> {
        if !matches!(d.hit, Hit::First | Hit::Unique) || d.rows.is_empty() {
            return None;
        }
        // A row's cells are tested left to right and the first that fails
        // ends its test (§5), so a cell right of it raises no fault. The
        // only tests that can fault are ordered ones on Money (two
        // currencies), against a constant or a parameter, alone or in a
        // list: a row may be skipped on an indexed column only if that
        // column comes before every such cell.
        let faulting = (0..d.columns.len())
            .find(|&pos| {
                let money = d
                    .columns
                    .get(pos)
                    .and_then(|c| d.params.get(*c as usize))
                    .is_some_and(|(_, t)| matches!(t.strip(), Ty::Money));
                d.rows.iter().any(|r| r.cells.get(pos).is_some_and(|c| canon_runtime::dindex::can_fault(c, money)))
            })
            .unwrap_or(d.columns.len());
        // The indexed columns with their positions in the table.
        let mut columns: Vec<(usize, IndexedColumn)> = Vec::new();
        let mut indexed = Vec::new();
        let mut total = 1usize;
        for pos in 0..d.columns.len() {
            match index_column(pkg, d, pos).filter(|_| pos < faulting) {
                Some(c) if total.saturating_mul(c.codes as usize) <= MAX_INDEX => {
                    total *= c.codes as usize;
                    columns.push((pos, c));
                    indexed.push(true);
                }
                _ => indexed.push(false),
            }
        }
        if columns.is_empty() || indexed.iter().all(|s| *s) {
            return None;
        }
        let mut entries = Vec::with_capacity(total);
        let mut lists: Vec<Vec<usize>> = Vec::new();
        let mut seen: HashMap<Vec<usize>, u32> = HashMap::new();
        let mut codes = vec![0u32; columns.len()];
        let mut tests = 0usize;
        for _ in 0..total {
            let rows: Vec<usize> = (0..d.rows.len())
                .filter(|r| {
                    let row = d.rows.get(*r);
                    columns.iter().zip(codes.iter()).all(|((pos, column), &code)| {
                        row.and_then(|row| row.cells.get(*pos)).is_none_or(|cell| cell_matches(cell, code, column))
                    })
                })
                .collect();
            let k = match seen.get(&rows) {
                Some(k) => *k,
                None => {
                    tests += rows.len();
                    if tests > MAX_MIXED_TESTS {
                        return None;
                    }
                    let k = lists.len() as u32;
                    seen.insert(rows.clone(), k);
                    lists.push(rows);
                    k
                }
            };
            entries.push(k);
            next_combination(&mut codes, columns.iter().map(|(_, c)| c));
        }
        Some(MixedPlan { columns: columns.into_iter().map(|(_, c)| c).collect(), indexed, entries, lists })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use canon_compiler::ir::{self, CellTest, CmpOp, Const, Hit, Loc};
    use canon_compiler::types::{EnumId, OrdKind, Ty};

    use super::*;

    const TIER: EnumId = EnumId(0);

    /// A package with one enum, `Tier` (bronze, silver, gold).
    fn package() -> ir::Package {
        let variants = ["bronze", "silver", "gold"]
            .iter()
            .map(|n| ir::VariantDef { name: n.to_string(), wire: n.to_string(), docs: None })
            .collect();
        ir::Package {
            enums: vec![ir::EnumDef {
                name: "Tier".into(),
                docs: None,
                variants,
                site: None,
                by_wire: Default::default(),
            }],
            ..ir::Package::default()
        }
    }

    /// A decision over `params`, each tested by the column of the same index.
    fn decision(hit: Hit, params: &[Ty], rows: Vec<Vec<CellTest>>) -> ir::DecisionDef {
        ir::DecisionDef {
            name: "d".into(),
            params: params.iter().enumerate().map(|(i, t)| (format!("p{i}"), t.clone())).collect(),
            ret: Ty::Int,
            hit,
            columns: (0..params.len() as u32).collect(),
            output_record: None,
            rows: rows
                .into_iter()
                .map(|cells| ir::DecisionRow { cells, outputs: Vec::new(), loc: Loc::default() })
                .collect(),
            default: None,
            n_locals: params.len() as u32,
            site: None,
            loc: Loc::default(),
        }
    }

    fn tier(variants: &[u32]) -> CellTest {
        CellTest::In { values: variants.iter().map(|v| Const::Enum(TIER, *v)).collect(), negated: false }
    }

    fn flag(b: bool) -> CellTest {
        CellTest::In { values: vec![Const::Bool(b)], negated: false }
    }

    fn at_least(n: i64) -> CellTest {
        CellTest::Cmp { op: CmpOp::Ge, value: Const::Int(n), kind: OrdKind::Int }
    }

    #[test]
    fn index_plan_of_an_enum_and_a_bool() {
        let d = decision(
            Hit::First,
            &[Ty::Enum(TIER), Ty::Bool],
            vec![vec![tier(&[2]), CellTest::Any], vec![CellTest::Any, flag(true)], vec![tier(&[0, 1]), flag(false)]],
        );
        let plan = IndexPlan::of(&package(), &d).unwrap();
        assert_eq!(
            plan.columns,
            vec![
                IndexedColumn { param: 0, codes: 3, optional: false },
                IndexedColumn { param: 1, codes: 2, optional: false }
            ]
        );
        // (bronze, false), (bronze, true), (silver, false), (silver, true), (gold, false), (gold, true).
        assert_eq!(plan.entries, vec![3, 2, 3, 2, 1, 1]);
        assert!(plan.conflicts.is_empty());
    }

    #[test]
    fn index_plan_of_an_optional_column_codes_none_last() {
        let none_or_gold = CellTest::In { values: vec![Const::None, Const::Enum(TIER, 2)], negated: false };
        let not_silver = CellTest::In { values: vec![Const::Enum(TIER, 1)], negated: true };
        let d = decision(Hit::First, &[Ty::optional(Ty::Enum(TIER))], vec![vec![none_or_gold], vec![not_silver]]);
        let plan = IndexPlan::of(&package(), &d).unwrap();
        assert_eq!(plan.columns, vec![IndexedColumn { param: 0, codes: 4, optional: true }]);
        // bronze, silver, gold, none: `not silver` also holds for none.
        assert_eq!(plan.entries, vec![2, 0, 1, 1]);
    }

    #[test]
    fn index_plan_under_hit_unique_numbers_each_conflict_once() {
        let d = decision(
            Hit::Unique,
            &[Ty::Enum(TIER)],
            vec![vec![tier(&[0, 1])], vec![tier(&[1, 2])], vec![CellTest::Any]],
        );
        let plan = IndexPlan::of(&package(), &d).unwrap();
        let conflict = |first_row, second_row| Conflict { first_row, second_row };
        // Bronze matches rows 0 and 2, silver 0 and 1, gold 1 and 2; with
        // three rows, conflict `k` is entry `4 + k`.
        assert_eq!(plan.conflicts, vec![conflict(0, 2), conflict(0, 1), conflict(1, 2)]);
        assert_eq!(plan.entries, vec![4, 5, 6]);
    }

    #[test]
    fn no_index_plan_for_ordered_tests_collect_or_too_many_codes() {
        let pkg = package();
        let ordered = decision(Hit::First, &[Ty::Int], vec![vec![at_least(3)]]);
        assert_eq!(IndexPlan::of(&pkg, &ordered), None);
        let collect = decision(Hit::Collect, &[Ty::Bool], vec![vec![flag(true)]]);
        assert_eq!(IndexPlan::of(&pkg, &collect), None);
        // 2^13 combinations of Bools exceed MAX_INDEX.
        let wide = decision(Hit::First, &vec![Ty::Bool; 13], vec![vec![CellTest::Any; 13]]);
        assert_eq!(IndexPlan::of(&pkg, &wide), None);
        let twelve = decision(Hit::First, &vec![Ty::Bool; 12], vec![vec![CellTest::Any; 12]]);
        assert_eq!(IndexPlan::of(&pkg, &twelve).map(|p| p.entries.len()), Some(4096));
    }

    #[test]
    fn mixed_plan_indexes_the_enum_and_scans_the_rest() {
        let d = decision(
            Hit::First,
            &[Ty::Enum(TIER), Ty::Int],
            vec![vec![tier(&[2]), at_least(10)], vec![tier(&[1, 2]), CellTest::Any], vec![CellTest::Any, at_least(0)]],
        );
        let pkg = package();
        assert_eq!(IndexPlan::of(&pkg, &d), None);
        let plan = MixedPlan::of(&pkg, &d).unwrap();
        assert_eq!(plan.columns, vec![IndexedColumn { param: 0, codes: 3, optional: false }]);
        assert_eq!(plan.indexed, vec![true, false]);
        assert_eq!(plan.lists, vec![vec![2], vec![1, 2], vec![0, 1, 2]]);
        assert_eq!(plan.entries, vec![0, 1, 2]);
    }

    #[test]
    fn mixed_plan_shares_equal_lists() {
        let d = decision(
            Hit::Unique,
            &[Ty::Enum(TIER), Ty::Int],
            vec![vec![tier(&[0, 1]), at_least(1)], vec![tier(&[2]), at_least(2)]],
        );
        let plan = MixedPlan::of(&package(), &d).unwrap();
        assert_eq!(plan.lists, vec![vec![0], vec![1]]);
        assert_eq!(plan.entries, vec![0, 0, 1]);
    }

    #[test]
    fn mixed_plan_indexes_no_column_after_an_ordered_money_test() {
        let money_cmp = CellTest::Cmp { op: CmpOp::Gt, value: Const::Int(0), kind: OrdKind::Money };
        let pkg = package();
        // The Money test comes first: a row skipped by the index would not
        // raise its currency fault, so nothing is indexed.
        let first = decision(Hit::First, &[Ty::Money, Ty::Enum(TIER)], vec![vec![money_cmp.clone(), tier(&[0])]]);
        assert_eq!(MixedPlan::of(&pkg, &first), None);
        let last = decision(Hit::First, &[Ty::Enum(TIER), Ty::Money], vec![vec![tier(&[0]), money_cmp]]);
        assert_eq!(MixedPlan::of(&pkg, &last).map(|p| p.indexed), Some(vec![true, false]));
    }

    #[test]
    fn no_mixed_plan_without_rows_or_without_an_unindexed_column() {
        let pkg = package();
        let empty = decision(Hit::First, &[Ty::Enum(TIER), Ty::Int], Vec::new());
        assert_eq!(MixedPlan::of(&pkg, &empty), None);
        let all_indexed = decision(Hit::First, &[Ty::Enum(TIER)], vec![vec![tier(&[0])]]);
        assert_eq!(MixedPlan::of(&pkg, &all_indexed), None);
    }
}
