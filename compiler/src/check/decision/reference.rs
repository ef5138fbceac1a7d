//! The analysis as it was first written, atom by atom (a row's cells as one
//! flag per atom, rows compared pairwise, coverage by enumerating atoms): the
//! reference the set-based analysis of [`super::sets`] must agree with,
//! diagnostic for diagnostic. Tests only.
#![allow(clippy::indexing_slicing)]

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashSet;

use super::*;

thread_local! {
    /// Whether [`Checker::analyse`] runs this reference instead.
    pub(crate) static REFERENCE: Cell<bool> = const { Cell::new(false) };
}

impl Checker<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn analyse_reference(
        &mut self,
        def: &ir::DecisionDef,
        hit: Hit,
        columns: &[u32],
        rows: &[(ir::DecisionRow, ast::Span)],
        numbers: &[usize],
        has_default: bool,
        d: &ast::DecisionDecl,
    ) {
        let col_names: Vec<String> =
            columns.iter().map(|c| def.params.get(*c as usize).map(|(n, _)| n.clone()).unwrap_or_default()).collect();
        let mut domains = Vec::new();
        let mut ordered_cols = Vec::new();
        for (ci, c) in columns.iter().enumerate() {
            let ty = def.params.get(*c as usize).map(|(_, t)| t.clone()).unwrap_or(Ty::Error);
            let cells: Vec<&CellTest> = rows.iter().filter_map(|(r, _)| r.cells.get(ci)).collect();
            match self.domain_reference(&ty, &cells) {
                Some((dom, ordered)) => {
                    domains.push(dom);
                    ordered_cols.push(ordered);
                }
                None => return, // cannot decide (e.g. Money in several currencies)
            }
        }
        // A cell that compares with a parameter is unknown on every atom:
        // `lo` counts it as matching nothing, `hi` as matching everything, so
        // a claim of a gap, an overlap or a shadowed row holds either way.
        let matrix = |definite: bool| -> Vec<Vec<Vec<bool>>> {
            rows.iter()
                .map(|(r, _)| {
                    r.cells
                        .iter()
                        .zip(domains.iter())
                        .map(|(cell, dom)| {
                            dom.iter()
                                .map(|a| match cell_matches3(cell, &a.rep) {
                                    Some(m) => m,
                                    None => !definite,
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect()
        };
        let lo = matrix(true);
        let hi = matrix(false);
        let describe = |w: &[usize]| -> String {
            w.iter()
                .zip(domains.iter())
                .zip(col_names.iter())
                .map(|((a, dom), n)| dom.get(*a).map(|at| at.describe(n)).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let number = |i: usize| numbers.get(i).copied().unwrap_or(i) + 1;
        let line_of = |c: &Self, i: usize| rows.get(i).map(|(_, sp)| c.loc(*sp).line + c.line_base).unwrap_or(0);
        let all_rows: Vec<usize> = (0..rows.len()).collect();
        // Rows that can never match.
        if hit != Hit::Unique {
            for (i, (_, span)) in rows.iter().enumerate() {
                let (Some(row_hi), Some(row_lo)) = (hi.get(i), lo.get(i)) else { continue };
                let empty = row_hi.iter().any(|s| !s.iter().any(|b| *b));
                let covered = !empty && hit == Hit::First && {
                    let earlier: Vec<usize> = (0..i).collect();
                    uncovered(&lo, &domains, &earlier, 0, Some(row_hi), &mut Vec::new()).is_none()
                };
                let _ = row_lo;
                if empty {
                    self.diags.push(
                        Diagnostic::new(
                            Code::W0304,
                            self.file,
                            *span,
                            "this row can never match: a cell matches no value",
                        )
                        .with_help("check the cell's range or list of values"),
                    );
                } else if covered {
                    // The earlier row that covers it alone, else those that share inputs with it.
                    let alone =
                        (0..i).find(|j| uncovered(&lo, &domains, &[*j], 0, Some(row_hi), &mut Vec::new()).is_none());
                    let shadows: Vec<usize> = match alone {
                        Some(j) => vec![j],
                        None => (0..i)
                            .filter(|j| {
                                lo.get(*j).is_some_and(|sj| {
                                    sj.iter()
                                        .zip(row_hi.iter())
                                        .all(|(a, b)| a.iter().zip(b.iter()).any(|(x, y)| *x && *y))
                                })
                            })
                            .collect(),
                    };
                    let named: Vec<String> =
                        shadows.iter().map(|j| format!("row {} (line {})", number(*j), line_of(self, *j))).collect();
                    let msg = if named.len() == 1 {
                        format!("this row can never match: {} covers every input it matches", named.join(""))
                    } else {
                        format!("this row can never match: {} together cover every input it matches", join_and(&named))
                    };
                    let mut diag = Diagnostic::new(Code::W0304, self.file, *span, msg)
                        .with_help("the first matching row wins; move this row up or remove it");
                    for j in &shadows {
                        if let Some((_, sp)) = rows.get(*j) {
                            diag = diag.with_label(self.file, *sp, format!("row {} matches first", number(*j)));
                        }
                    }
                    self.diags.push(diag);
                }
            }
        }
        // Overlaps under `hit unique` and `hit any`.
        if matches!(hit, Hit::Unique | Hit::Any) {
            'pairs: for j in 0..rows.len() {
                for i in 0..j {
                    let (Some(si), Some(sj)) = (lo.get(i), lo.get(j)) else { continue };
                    let mut witness = Vec::new();
                    let mut overlap = true;
                    for (a, b) in si.iter().zip(sj.iter()) {
                        match a.iter().zip(b.iter()).position(|(x, y)| *x && *y) {
                            Some(atom) => witness.push(atom),
                            None => {
                                overlap = false;
                                break;
                            }
                        }
                    }
                    if !overlap {
                        continue;
                    }
                    let (Some((ri, span_i)), Some((rj, span_j))) = (rows.get(i), rows.get(j)) else { continue };
                    let line_i = line_of(self, i);
                    if hit == Hit::Any {
                        // Rows that agree (or may: outputs that are not constants
                        // are compared at run time) may overlap.
                        if !outputs_differ(&ri.outputs, &rj.outputs) {
                            continue;
                        }
                        let msg = format!(
                            "rows {} and {} overlap under `hit any` with different outputs: both match {}",
                            number(i),
                            number(j),
                            describe(&witness)
                        );
                        self.diags.push(
                            Diagnostic::new(Code::E0307, self.file, *span_j, msg)
                                .with_label(self.file, *span_i, format!("this row (line {line_i}) matches it too"))
                                .with_help("rows that overlap under `hit any` must give the same output"),
                        );
                        continue 'pairs;
                    }
                    let msg = format!(
                        "rows {} and {} overlap under `hit unique`: both match {}",
                        number(i),
                        number(j),
                        describe(&witness)
                    );
                    self.diags.push(
                        Diagnostic::new(Code::E0303, self.file, *span_j, msg)
                            .with_label(self.file, *span_i, format!("this row (line {line_i}) matches it too"))
                            .with_help("make the rows exclusive, or use `hit first` if the first row should win"),
                    );
                    continue 'pairs;
                }
            }
        }
        let collecting = matches!(hit, Hit::Collect | Hit::CollectAgg(_));
        // Completeness: a gap is claimed only where no row can match even
        // when every unknown cell matches.
        if !collecting
            && !has_default
            && !def.ret.is_optional()
            && uncovered(&lo, &domains, &all_rows, 0, None, &mut Vec::new()).is_some()
        {
            if let Some(w) = uncovered(&hi, &domains, &all_rows, 0, None, &mut Vec::new()) {
                let msg =
                    format!("decision `{}` does not cover every input: no row matches {}", def.name, describe(&w));
                let boxes = widen(&hi, &domains, &w);
                let cells = w
                    .iter()
                    .zip(domains.iter())
                    .zip(boxes.iter().zip(ordered_cols.iter()))
                    .map(|((a, dom), (set, ord))| set_cell(dom, set, *a, *ord))
                    .collect();
                self.diags.push(
                        Diagnostic::new(Code::E0302, self.file, d.name.span, msg)
                            .with_help(format!(
                                "add a row for it (a last row of `-` cells catches everything), a `default`, or make the result optional: `-> {}?`",
                                self.show(&def.ret)
                            ))
                            .with_data(Data::UncoveredInput(cells)),
                    );
            }
        }
        // W0306: a date the ranges of an optional decision step over.
        if !collecting && !has_default && def.ret.is_optional() {
            for (ci, c) in columns.iter().enumerate() {
                let is_date =
                    def.params.get(*c as usize).is_some_and(|(_, t)| matches!(t.strip(), Ty::Date | Ty::Timestamp));
                let Some(dom) = domains.get(ci) else { continue };
                if !is_date || !ordered_cols.get(ci).copied().unwrap_or(false) {
                    continue;
                }
                let covered: Vec<bool> = (0..dom.len())
                    .map(|a| hi.iter().any(|r| r.get(ci).and_then(|s| s.get(a)).copied().unwrap_or(false)))
                    .collect();
                let values: Vec<usize> =
                    (0..dom.len()).filter(|a| dom.get(*a).is_some_and(|x| x.rep != Const::None)).collect();
                let gap = values.iter().position(|a| {
                    !covered.get(*a).copied().unwrap_or(true)
                        && matches!(dom.get(*a).map(|x| &x.label), Some(Label::Eq(_) | Label::Between(..)))
                });
                let Some(pos) = gap else { continue };
                let before =
                    values.get(..pos).is_some_and(|v| v.iter().any(|a| covered.get(*a).copied().unwrap_or(false)));
                let after =
                    values.get(pos + 1..).is_some_and(|v| v.iter().any(|a| covered.get(*a).copied().unwrap_or(false)));
                if !(before && after) {
                    continue;
                }
                let Some(atom) = values.get(pos).and_then(|a| dom.get(*a)) else { continue };
                let name = col_names.get(ci).cloned().unwrap_or_default();
                let what = match &atom.label {
                    Label::Between(a, b) => format!("`{name}` after {a} and before {b}"),
                    _ => format!("`{name}` = {}", show_const(&atom.rep)),
                };
                self.diags.push(
                    Diagnostic::new(
                        Code::W0306,
                        self.file,
                        d.name.span,
                        format!(
                            "decision `{}` leaves a gap between its date ranges: no row matches {what}, so the result is `none` there",
                            def.name
                        ),
                    )
                    .with_help("close the gap (a range's end is the day before the next one's start), or add a row for it"),
                );
            }
        }
    }

    /// The atoms of one input column, or `None` when the analysis cannot decide.
    fn domain_reference(&mut self, ty: &Ty, cells: &[&CellTest]) -> Option<(Vec<Atom>, bool)> {
        let mut atoms = Vec::new();
        let ordered = is_ordered_col(ty, cells);
        match ty.strip() {
            Ty::Enum(e) => {
                let def = self.pkg.enum_def(*e)?;
                for (i, v) in def.variants.iter().enumerate() {
                    atoms.push(Atom::point(Const::Enum(*e, i as u32), v.name.clone()));
                }
            }
            Ty::Bool => {
                atoms.push(Atom::point(Const::Bool(true), "true".into()));
                atoms.push(Atom::point(Const::Bool(false), "false".into()));
            }
            t => {
                let mut consts: Vec<Const> = Vec::new();
                for c in cells {
                    cell_consts(c, &mut consts);
                }
                if ordered {
                    if let Some(Const::Money(_, cur)) = consts.first() {
                        let cur = *cur;
                        if consts.iter().any(|c| !matches!(c, Const::Money(_, x) if *x == cur)) {
                            return None;
                        }
                    }
                    consts.sort_by(|a, b| cmp_const(a, b).unwrap_or(Ordering::Equal));
                    consts.dedup_by(|a, b| cmp_const(a, b) == Some(Ordering::Equal));
                    let zero = zero_of(t);
                    let Some(first) = consts.first().cloned() else {
                        atoms.push(Atom { rep: zero, label: Label::Any });
                        return Some((with_none(ty, atoms), ordered));
                    };
                    if let Some(b) = step(&first, -1) {
                        atoms.push(Atom { rep: b, label: Label::Below(show_const(&first)) });
                    }
                    for (i, c) in consts.iter().enumerate() {
                        atoms.push(Atom { rep: c.clone(), label: Label::Eq(show_const(c)) });
                        if let Some(next) = consts.get(i + 1) {
                            if let Some(mid) = between(c, next) {
                                atoms.push(Atom { rep: mid, label: Label::Between(show_const(c), show_const(next)) });
                            }
                        } else if let Some(a) = step(c, 1) {
                            atoms.push(Atom { rep: a, label: Label::Above(show_const(c)) });
                        }
                    }
                } else {
                    let mut seen: Vec<Const> = Vec::new();
                    for c in consts {
                        if !seen.contains(&c) {
                            atoms.push(Atom { rep: c.clone(), label: Label::Eq(show_const(&c)) });
                            seen.push(c);
                        }
                    }
                    if let Some(other) = fresh_value(t, &seen) {
                        atoms.push(Atom { rep: other, label: Label::Other });
                    }
                }
            }
        }
        Some((with_none(ty, atoms), ordered))
    }
}

/// Grows an uncovered input (one atom per column) to a box that no row
/// matches either: column by column, every atom that keeps the box clear of
/// every row joins it. (Atoms that are safe one by one are safe together,
/// as the other columns stay fixed.)
fn widen(sets: &[Vec<Vec<bool>>], domains: &[Vec<Atom>], w: &[usize]) -> Vec<Vec<bool>> {
    let mut boxes: Vec<Vec<bool>> =
        domains.iter().zip(w.iter()).map(|(d, a)| (0..d.len()).map(|i| i == *a).collect()).collect();
    let clear_elsewhere = |boxes: &[Vec<bool>], row: &[Vec<bool>], col: usize| {
        boxes
            .iter()
            .zip(row.iter())
            .enumerate()
            .any(|(c, (b, r))| c != col && !b.iter().zip(r.iter()).any(|(x, y)| *x && *y))
    };
    for col in 0..boxes.len() {
        let n = domains.get(col).map(Vec::len).unwrap_or(0);
        for atom in 0..n {
            let safe = sets.iter().all(|row| {
                !row.get(col).and_then(|r| r.get(atom)).copied().unwrap_or(false) || clear_elsewhere(&boxes, row, col)
            });
            if safe {
                if let Some(x) = boxes.get_mut(col).and_then(|b| b.get_mut(atom)) {
                    *x = true;
                }
            }
        }
    }
    boxes
}

/// Finds an input (one atom per column) that no row in `rows` matches, within
/// `restrict` (a row's own cell sets) if given.
fn uncovered(
    sets: &[Vec<Vec<bool>>],
    domains: &[Vec<Atom>],
    rows: &[usize],
    col: usize,
    restrict: Option<&Vec<Vec<bool>>>,
    chosen: &mut Vec<usize>,
) -> Option<Vec<usize>> {
    let Some(dom) = domains.get(col) else {
        return if rows.is_empty() { Some(chosen.clone()) } else { None };
    };
    let mut tried: HashSet<Vec<usize>> = HashSet::new();
    for atom in 0..dom.len() {
        if let Some(r) = restrict {
            if !r.get(col).and_then(|s| s.get(atom)).copied().unwrap_or(false) {
                continue;
            }
        }
        let sub: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|r| sets.get(*r).and_then(|s| s.get(col)).and_then(|s| s.get(atom)).copied().unwrap_or(false))
            .collect();
        if !tried.insert(sub.clone()) {
            continue;
        }
        chosen.push(atom);
        if let Some(w) = uncovered(sets, domains, &sub, col + 1, restrict, chosen) {
            return Some(w);
        }
        chosen.pop();
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use proptest::prelude::*;

    use super::super::sets::tests::CUT;
    use super::REFERENCE;
    use crate::diagnostics::Diagnostic;

    /// A small random generator (xorshift), so one seed is one table.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[(self.next() % xs.len() as u64) as usize]
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The column kinds: a name, its type, the cells a row may have.
    const COLUMNS: &[(&str, &str, &[&str])] = &[
        ("k", "Kind", &["-", "A", "B", "C", "A, C", "not B", "not A, C"]),
        (
            "n",
            "Int",
            &[
                "-",
                "< 3",
                "<= 5",
                "> 2",
                ">= 7",
                "[1..4]",
                "(2..6)",
                "[0..3)",
                "(4..9]",
                "5",
                "2, 4",
                "not 3",
                "< 2, > 6",
                "[1..2], 8",
                "> lim",
                "[0..lim]",
                "< 2, >= lim",
                "(lim..9]",
                "[9..1]",
            ],
        ),
        ("lim", "Int", &["-", "-", "< 5", ">= 5", "3"]),
        ("t", "Text", &["-", "\"x\"", "\"y\"", "\"x\", \"z\"", "not \"y\"", "not \"x\", \"y\""]),
        ("s", "Text", &["-", "< \"m\"", ">= \"m\"", "\"a\"", "[\"b\"..\"k\"]", "\"\"", "> \"\""]),
        ("b", "Bool", &["-", "true", "false"]),
        (
            "day",
            "Date",
            &[
                "-",
                "[@\"2026-01-01\"..@\"2026-01-31\"]",
                "[@\"2026-02-02\"..@\"2026-03-01\")",
                ">= @\"2026-02-02\"",
                "< @\"2026-01-05\"",
                "@\"2026-01-10\"",
                "> @\"2026-03-01\"",
            ],
        ),
        ("m", "Int?", &["-", "none", "1", "> 2", "not none", "none, 1", "not 1"]),
        ("x", "Decimal", &["-", "1.5", "1.50", "[1.5..2.50]", "> 2.5", "< 1.5", "(1.5..2.5)"]),
        ("ks", "Kind?", &["-", "A", "none", "not none", "B, C"]),
    ];

    /// A random decision table (valid, so the analysis runs).
    fn table(seed: u64) -> String {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let hits = ["first", "unique", "any", "priority", "collect", "output order", "collect count"];
        let hit = r.pick(&hits);
        let mut cols: Vec<usize> = (0..COLUMNS.len()).filter(|_| r.below(3) == 0).collect();
        if cols.is_empty() {
            cols.push(r.below(COLUMNS.len() as u64) as usize);
        }
        // `lim` is a column whenever `n` is (its cells may name it).
        if cols.contains(&1) && !cols.contains(&2) {
            cols.push(2);
        }
        let by_enum = matches!(hit, "priority" | "output order");
        let ret = if by_enum { "Kind" } else { r.pick(&["Int", "Int", "Int?", "Int"]) };
        let default = !by_enum && !hit.starts_with("collect") && !ret.ends_with('?') && r.below(5) == 0;
        let params: Vec<String> = cols.iter().map(|c| format!("{}: {}", COLUMNS[*c].0, COLUMNS[*c].1)).collect();
        let mut s = String::from("enum Kind { A, B, C }\n\n");
        s.push_str(&format!("decision d({}) -> {ret}\n  hit {hit}\n", params.join(", ")));
        if default {
            s.push_str("  default 0\n");
        }
        let names: Vec<&str> = cols.iter().map(|c| COLUMNS[*c].0).collect();
        s.push_str(&format!("  | {} || out |\n", names.join(" | ")));
        let most = if r.below(4) == 0 { 24 } else { 9 };
        let rows = 1 + r.below(most);
        for _ in 0..rows {
            let cells: Vec<&str> = cols.iter().map(|c| r.pick(COLUMNS[*c].2)).collect();
            let out = if by_enum {
                r.pick(&["A", "B", "C"]).to_string()
            } else if cols.contains(&1) && r.below(6) == 0 {
                "n".to_string()
            } else {
                r.below(3).to_string()
            };
            s.push_str(&format!("  | {} || {out} |\n", cells.join(" | ")));
        }
        if !by_enum && r.below(3) == 0 {
            let dashes: Vec<&str> = cols.iter().map(|_| "-").collect();
            s.push_str(&format!("  | {} || 7 |\n", dashes.join(" | ")));
        }
        s
    }

    fn diagnostics(text: &str, reference: bool) -> Vec<Diagnostic> {
        REFERENCE.with(|r| r.set(reference));
        let checked = crate::db::check_once(&[("t.canon".to_string(), text.to_string())]);
        REFERENCE.with(|r| r.set(false));
        checked.diagnostics.to_vec()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
        /// The set-based analysis gives the reference's diagnostics (codes,
        /// rows named, witnesses, wording, uncovered-input cells), table by table.
        #[test]
        fn the_analysis_agrees_with_the_reference(seed in any::<u64>()) {
            let text = table(seed);
            let slow = diagnostics(&text, true);
            // Cutting the table into segments, comparing rows pairwise, and the mix costs choose.
            for cut in [Some(true), Some(false), None] {
                CUT.with(|c| c.set(cut));
                let fast = diagnostics(&text, false);
                CUT.with(|c| c.set(None));
                prop_assert_eq!(&fast, &slow, "{:?}\n{}", cut, text);
            }
        }
    }

    /// The generator reaches every diagnostic of the analysis (so the test
    /// above compares them all), and mostly valid tables.
    #[test]
    fn the_random_tables_reach_every_diagnostic() {
        let mut seen = std::collections::BTreeMap::new();
        for seed in 0..3000u64 {
            for d in diagnostics(&table(seed), false) {
                *seen.entry(d.code.as_str().to_string()).or_insert(0) += 1;
            }
        }
        for code in ["E0302", "E0303", "E0307", "W0304", "W0306"] {
            assert!(seen.get(code).copied().unwrap_or(0) > 10, "{code} too rare: {seen:?}");
        }
        let errors: usize = seen
            .iter()
            .filter(|(c, _)| !["E0302", "E0303", "E0307", "W0304", "W0306"].contains(&c.as_str()))
            .map(|(_, n)| n)
            .sum();
        assert!(errors < 300, "too many tables that do not check: {seen:?}");
    }
}
