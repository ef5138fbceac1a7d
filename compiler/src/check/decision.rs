//! Decision tables: typing of headers, cells and outputs, and the static
//! analysis of LANGUAGE.md §5.2 — completeness (E0302), overlap under
//! `hit unique` (E0303) and rows that can never match (W0304).
//!
//! The analysis splits every input column's domain into finitely many
//! *atoms* (enum variants, `true`/`false`, `none`, the constants written in
//! an ordered column and the open intervals between them, "any other" text)
//! and decides coverage over the product of the atoms, naming a witness.

use std::cmp::Ordering;
use std::collections::HashSet;

use canon_stdlib::{num, Currency, Date, Decimal, Timestamp};

use super::expr::{quote_list, Env};
use super::Checker;
use crate::diagnostics::{Code, Data, Diagnostic};
use crate::ir::{self, CellTest, CmpOp, Const, DecisionId, Hit};
use crate::syntax::ast;
use crate::types::{OrdKind, Ty};

/// A checked decision table, before it takes its place in the package.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DecisionBody {
    hit: Hit,
    columns: Vec<u32>,
    output_record: Option<crate::types::RecordId>,
    rows: Vec<ir::DecisionRow>,
    n_locals: u32,
}

impl DecisionBody {
    /// Writes the table into its declaration, in place.
    pub(super) fn apply(self, def: &mut ir::DecisionDef, place: &super::place::Place) {
        def.hit = self.hit;
        def.columns = self.columns;
        def.output_record = self.output_record;
        def.rows = self
            .rows
            .into_iter()
            .map(|r| ir::DecisionRow {
                cells: r.cells,
                outputs: r.outputs.into_iter().map(|e| place.expr(e)).collect(),
                loc: place.loc(r.loc),
            })
            .collect();
        def.n_locals = self.n_locals;
    }
}

/// The hit policy a decision names, if it is one.
pub(super) fn hit_policy(name: &str) -> Option<Hit> {
    match name {
        "first" => Some(Hit::First),
        "unique" => Some(Hit::Unique),
        "collect" => Some(Hit::Collect),
        _ => None,
    }
}

impl<'a> Checker<'a> {
    /// Checks a decision's table (and analyses it when it has no error).
    pub(super) fn check_decision(&mut self, id: DecisionId, d: &ast::DecisionDecl) -> Option<DecisionBody> {
        let def = self.pkg.decisions.get(id.0 as usize).cloned()?;
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let hit = match hit_policy(&d.hit.text) {
            Some(hit) => hit,
            None => {
                self.error(Code::E0001, d.hit.span, format!("unknown hit policy `{}`", d.hit.text)).help =
                    Some("write `hit first`, `hit unique` or `hit collect`".into());
                Hit::First
            }
        };
        // Header: inputs name parameters.
        let mut columns: Vec<u32> = Vec::new();
        for inp in &d.inputs {
            match def.params.iter().position(|(n, _)| *n == inp.text) {
                Some(i) if columns.contains(&(i as u32)) => {
                    self.error(Code::E0102, inp.span, format!("parameter `{}` has two columns", inp.text));
                }
                Some(i) => columns.push(i as u32),
                None => {
                    let names: Vec<String> = def.params.iter().map(|(n, _)| n.clone()).collect();
                    self.error(Code::E0101, inp.span, format!("`{}` is not a parameter of `{}`", inp.text, def.name))
                        .help = Some(format!("the parameters are {}", quote_list(&names)));
                }
            }
        }
        let missing: Vec<String> = def
            .params
            .iter()
            .enumerate()
            .filter(|(i, _)| !columns.contains(&(*i as u32)))
            .map(|(_, (n, _))| n.clone())
            .collect();
        if !missing.is_empty() && columns.len() + missing.len() == def.params.len() && d.inputs.len() == columns.len() {
            self.error(Code::E0305, d.header_span, format!("the header has no column for {}", quote_list(&missing)))
                .help = Some("the header names every parameter once, then `||`, then the outputs".into());
        }
        // Outputs.
        let out_ty = def.ret.strip().clone();
        let mut output_fields: Vec<(usize, Ty)> = Vec::new(); // (field index or 0, type) per output column
        let mut output_record = None;
        match &out_ty {
            Ty::Record(r) => {
                let rec = self.pkg.record(*r).cloned();
                if let Some(rec) = rec {
                    output_record = Some(*r);
                    let mut seen = Vec::new();
                    for o in &d.outputs {
                        match rec.field_index(&o.text) {
                            Some(i) if seen.contains(&i) => {
                                self.error(Code::E0102, o.span, format!("output `{}` appears twice", o.text));
                            }
                            Some(i) => {
                                seen.push(i);
                                let t = rec.fields.get(i as usize).map(|f| f.ty.clone()).unwrap_or(Ty::Error);
                                output_fields.push((i as usize, t));
                            }
                            None => {
                                self.error(Code::E0103, o.span, format!("`{}` has no field `{}`", rec.name, o.text));
                            }
                        }
                    }
                    let absent: Vec<String> = rec
                        .fields
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !seen.contains(&(*i as u32)))
                        .map(|(_, f)| f.name.clone())
                        .collect();
                    if !absent.is_empty() {
                        self.error(
                            Code::E0104,
                            d.header_span,
                            format!("the outputs lack {} of `{}`", quote_list(&absent), rec.name),
                        )
                        .help = Some("a record result needs one output column per field".into());
                    }
                }
            }
            Ty::Error => {}
            t => {
                if d.outputs.len() != 1 {
                    self.error(
                        Code::E0305,
                        d.header_span,
                        format!("a `{}` result has exactly one output column", self.show(t)),
                    );
                }
                output_fields.push((0, t.clone()));
            }
        }
        // Rows.
        let mut env = Env::default();
        for ((n, t), p) in def.params.iter().zip(&d.params) {
            self.note_type(p.name.span, t);
            env.bind(n, t.clone());
        }
        let mut rows = Vec::new();
        let mut bad_rows = false;
        for row in &d.rows {
            if row.inputs.len() != d.inputs.len() || row.outputs.len() != d.outputs.len() {
                self.error(
                    Code::E0305,
                    row.span,
                    format!(
                        "this row has {} input and {} output cell(s); the header has {} and {}",
                        row.inputs.len(),
                        row.outputs.len(),
                        d.inputs.len(),
                        d.outputs.len()
                    ),
                );
                bad_rows = true;
                continue;
            }
            let mut cells = Vec::new();
            for (cell, col) in row.inputs.iter().zip(d.inputs.iter()) {
                let pty = def.params.iter().find(|(n, _)| *n == col.text).map(|(_, t)| t.clone()).unwrap_or(Ty::Error);
                cells.push(self.cell(cell, &pty));
            }
            let mut outs: Vec<Option<ir::Expr>> = vec![None; output_fields.len().max(1)];
            let record_len = output_record.and_then(|r| self.pkg.record(r)).map(|r| r.fields.len());
            if let Some(n) = record_len {
                outs = vec![None; n];
            }
            for (e, (fi, t)) in row.outputs.iter().zip(output_fields.iter()) {
                let x = self.expect(&mut env, e, t);
                if let Some(slot) = outs.get_mut(*fi) {
                    *slot = Some(x);
                }
            }
            let loc = self.loc(row.span);
            let outputs: Vec<ir::Expr> = outs
                .into_iter()
                .map(|o| o.unwrap_or_else(|| super::expr::mk(ir::ExprKind::Error, Ty::Error, loc)))
                .collect();
            rows.push((ir::DecisionRow { cells, outputs, loc }, row.span));
        }
        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        let broken = self.broken_decisions.get(id.0 as usize).copied().unwrap_or(true);
        if errors_after == errors_before && !broken && !bad_rows {
            self.analyse(&def, hit, &columns, &rows, d);
        }
        Some(DecisionBody {
            hit,
            columns,
            output_record,
            rows: rows.into_iter().map(|(r, _)| r).collect(),
            n_locals: env.n_locals,
        })
    }

    fn cell(&mut self, cell: &ast::Cell, ty: &Ty) -> CellTest {
        if ty.is_error() {
            return CellTest::Any;
        }
        let ordered = |c: &mut Self, op_span: ast::Span| -> Option<OrdKind> {
            match ty.strip().ord_kind() {
                Some(OrdKind::Text) | None => {
                    let shown = c.show(ty);
                    c.error(
                        Code::E0204,
                        op_span,
                        format!("comparisons and ranges need an ordered column, not `{shown}`"),
                    )
                    .help = Some("ordered columns are numbers, Money, Date and Timestamp".into());
                    None
                }
                Some(k) => Some(k),
            }
        };
        match &cell.kind {
            ast::CellKind::Any => CellTest::Any,
            ast::CellKind::Values { negated, values } => {
                let vals = values.iter().filter_map(|v| self.cell_const(v, ty)).collect();
                CellTest::In { values: vals, negated: *negated }
            }
            ast::CellKind::Cmp(op, v) => {
                let Some(kind) = ordered(self, cell.span) else { return CellTest::Any };
                let Some(value) = self.cell_const(v, ty.strip()) else { return CellTest::Any };
                let op = match op {
                    ast::CmpOp::Lt => CmpOp::Lt,
                    ast::CmpOp::Le => CmpOp::Le,
                    ast::CmpOp::Gt => CmpOp::Gt,
                    ast::CmpOp::Ge => CmpOp::Ge,
                };
                CellTest::Cmp { op, value, kind }
            }
            ast::CellKind::Range { lo, lo_closed, hi, hi_closed } => {
                let Some(kind) = ordered(self, cell.span) else { return CellTest::Any };
                let (Some(l), Some(h)) = (self.cell_const(lo, ty.strip()), self.cell_const(hi, ty.strip())) else {
                    return CellTest::Any;
                };
                if let (Const::Money(_, a), Const::Money(_, b)) = (&l, &h) {
                    if a != b {
                        self.error(Code::E0201, cell.span, "the ends of a range must have one currency");
                    }
                }
                CellTest::Range { lo: l, lo_closed: *lo_closed, hi: h, hi_closed: *hi_closed, kind }
            }
        }
    }

    fn analyse(
        &mut self,
        def: &ir::DecisionDef,
        hit: Hit,
        columns: &[u32],
        rows: &[(ir::DecisionRow, ast::Span)],
        d: &ast::DecisionDecl,
    ) {
        let col_names: Vec<String> =
            columns.iter().map(|c| def.params.get(*c as usize).map(|(n, _)| n.clone()).unwrap_or_default()).collect();
        let mut domains = Vec::new();
        for (ci, c) in columns.iter().enumerate() {
            let ty = def.params.get(*c as usize).map(|(_, t)| t.clone()).unwrap_or(Ty::Error);
            let cells: Vec<&CellTest> = rows.iter().filter_map(|(r, _)| r.cells.get(ci)).collect();
            match self.domain(&ty, &cells) {
                Some(dom) => domains.push(dom),
                None => return, // cannot decide (e.g. Money in several currencies)
            }
        }
        // sets[row][col][atom]
        let sets: Vec<Vec<Vec<bool>>> = rows
            .iter()
            .map(|(r, _)| {
                r.cells
                    .iter()
                    .zip(domains.iter())
                    .map(|(cell, dom)| dom.iter().map(|a| cell_matches(cell, &a.rep)).collect())
                    .collect()
            })
            .collect();
        let describe = |w: &[usize]| -> String {
            w.iter()
                .zip(domains.iter())
                .zip(col_names.iter())
                .map(|((a, dom), n)| dom.get(*a).map(|at| at.describe(n)).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let all_rows: Vec<usize> = (0..rows.len()).collect();
        // Rows that can never match.
        if hit != Hit::Unique {
            for (i, (_, span)) in rows.iter().enumerate() {
                let Some(row_sets) = sets.get(i) else { continue };
                let empty = row_sets.iter().any(|s| !s.iter().any(|b| *b));
                let covered = !empty && hit == Hit::First && {
                    let earlier: Vec<usize> = (0..i).collect();
                    uncovered(&sets, &domains, &earlier, 0, Some(row_sets), &mut Vec::new()).is_none()
                };
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
                    self.diags.push(
                        Diagnostic::new(
                            Code::W0304,
                            self.file,
                            *span,
                            "this row can never match: earlier rows cover every input it matches",
                        )
                        .with_help("with `hit first` the first matching row wins; move this row up or remove it"),
                    );
                }
            }
        }
        // Overlaps under `hit unique`.
        if hit == Hit::Unique {
            'pairs: for j in 0..rows.len() {
                for i in 0..j {
                    let (Some(si), Some(sj)) = (sets.get(i), sets.get(j)) else { continue };
                    let mut witness = Vec::new();
                    let mut overlap = true;
                    for (ci, (a, b)) in si.iter().zip(sj.iter()).enumerate() {
                        match a.iter().zip(b.iter()).position(|(x, y)| *x && *y) {
                            Some(atom) => witness.push(atom),
                            None => {
                                overlap = false;
                                let _ = ci;
                                break;
                            }
                        }
                    }
                    if overlap {
                        let (Some((_, span_i)), Some((_, span_j))) = (rows.get(i), rows.get(j)) else { continue };
                        let line_i = self.loc(*span_i).line + self.line_base;
                        let msg = format!(
                            "rows {} and {} overlap under `hit unique`: both match {}",
                            i + 1,
                            j + 1,
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
        }
        // Completeness.
        if hit != Hit::Collect && !def.ret.is_optional() {
            if let Some(w) = uncovered(&sets, &domains, &all_rows, 0, None, &mut Vec::new()) {
                let msg =
                    format!("decision `{}` does not cover every input: no row matches {}", def.name, describe(&w));
                let ordered: Vec<bool> = columns
                    .iter()
                    .map(|c| {
                        let t = def.params.get(*c as usize).map(|(_, t)| t.strip().clone()).unwrap_or(Ty::Error);
                        t.ord_kind().is_some() && t != Ty::Text
                    })
                    .collect();
                let boxes = widen(&sets, &domains, &w);
                let cells = w
                    .iter()
                    .zip(domains.iter())
                    .zip(boxes.iter().zip(ordered.iter()))
                    .map(|((a, dom), (set, ord))| set_cell(dom, set, *a, *ord))
                    .collect();
                self.diags.push(
                    Diagnostic::new(Code::E0302, self.file, d.name.span, msg)
                        .with_help(format!(
                            "add a row for it (a last row of `-` cells catches everything), or make the result optional: `-> {}?`",
                            self.show(&def.ret)
                        ))
                        .with_data(Data::UncoveredInput(cells)),
                );
            }
        }
    }

    /// The atoms of one input column, or `None` when the analysis cannot decide.
    fn domain(&mut self, ty: &Ty, cells: &[&CellTest]) -> Option<Vec<Atom>> {
        let mut atoms = Vec::new();
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
                    match c {
                        CellTest::Any => {}
                        CellTest::In { values, .. } => {
                            consts.extend(values.iter().filter(|v| **v != Const::None).cloned())
                        }
                        CellTest::Cmp { value, .. } => consts.push(value.clone()),
                        CellTest::Range { lo, hi, .. } => {
                            consts.push(lo.clone());
                            consts.push(hi.clone());
                        }
                    }
                }
                if t.ord_kind().is_some() && *t != Ty::Text {
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
                        return Some(with_none(ty, atoms));
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
        Some(with_none(ty, atoms))
    }
}

fn with_none(ty: &Ty, mut atoms: Vec<Atom>) -> Vec<Atom> {
    if ty.is_optional() {
        atoms.push(Atom::point(Const::None, "none".into()));
    }
    atoms
}

#[derive(Debug, Clone)]
struct Atom {
    rep: Const,
    label: Label,
}

#[derive(Debug, Clone)]
enum Label {
    Eq(String),
    Below(String),
    Above(String),
    Between(String, String),
    Other,
    Any,
}

impl Atom {
    fn point(rep: Const, name: String) -> Atom {
        Atom { rep, label: Label::Eq(name) }
    }
    fn describe(&self, col: &str) -> String {
        match &self.label {
            Label::Eq(v) => format!("{col} = {v}"),
            Label::Below(v) => format!("{col} < {v}"),
            Label::Above(v) => format!("{col} > {v}"),
            Label::Between(a, b) => format!("{col} between {a} and {b} (exclusive)"),
            Label::Other => format!("{col} = any other value"),
            Label::Any => format!("{col} = any value"),
        }
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

/// The cell for a set of atoms of a column that contains `witness`: `-` for
/// all of them; in an ordered column the comparison or range of the run of
/// atoms around the witness; else the values (or `not` the others).
fn set_cell(dom: &[Atom], set: &[bool], witness: usize, ordered: bool) -> String {
    if set.iter().all(|b| *b) {
        return "-".into();
    }
    let is_none = |i: usize| dom.get(i).is_some_and(|a| a.rep == Const::None);
    let included = |i: usize| set.get(i).copied().unwrap_or(false);
    let lit = |i: usize| dom.get(i).map(|a| cell_literal(&a.rep, &a.label)).unwrap_or_default();
    if ordered {
        if is_none(witness) {
            return "none".into();
        }
        let (mut lo, mut hi) = (witness, witness);
        while lo > 0 && included(lo - 1) && !is_none(lo - 1) {
            lo -= 1;
        }
        while included(hi + 1) && !is_none(hi + 1) {
            hi += 1;
        }
        let values = dom.iter().filter(|a| a.rep != Const::None).count();
        if lo == 0 && hi + 1 == values {
            return "not none".into();
        }
        if lo == hi {
            return atom_cell(dom, lo);
        }
        let low = match dom.get(lo).map(|a| &a.label) {
            Some(Label::Eq(_)) => Some(("[", lit(lo))),
            Some(Label::Between(..) | Label::Above(_)) => Some(("(", lit(lo.saturating_sub(1)))),
            _ => None,
        };
        let high = match dom.get(hi).map(|a| &a.label) {
            Some(Label::Eq(_)) => Some(("]", lit(hi))),
            Some(Label::Between(..) | Label::Below(_)) => Some((")", lit(hi + 1))),
            _ => None,
        };
        return match (low, high) {
            (None, Some((")", b))) => format!("< {b}"),
            (None, Some((_, b))) => format!("<= {b}"),
            (Some(("(", a)), None) => format!("> {a}"),
            (Some((_, a)), None) => format!(">= {a}"),
            (Some((o, a)), Some((c, b))) => format!("{o}{a}..{b}{c}"),
            (None, None) => "-".into(),
        };
    }
    let chosen: Vec<usize> = (0..dom.len()).filter(|i| included(*i)).collect();
    let others: Vec<usize> = (0..dom.len()).filter(|i| !included(*i)).collect();
    let other_in = chosen.iter().any(|i| dom.get(*i).is_some_and(|a| matches!(a.label, Label::Other)));
    let other_out = others.iter().any(|i| dom.get(*i).is_some_and(|a| matches!(a.label, Label::Other)));
    if other_in || (!other_out && others.len() < chosen.len()) {
        format!("not {}", others.iter().map(|i| lit(*i)).collect::<Vec<_>>().join(", "))
    } else {
        chosen.iter().map(|i| lit(*i)).collect::<Vec<_>>().join(", ")
    }
}

/// A decision cell that matches exactly the atom `i` of a column's domain
/// (the ordered atoms sit between the constants around them).
fn atom_cell(dom: &[Atom], i: usize) -> String {
    let Some(atom) = dom.get(i) else { return "-".into() };
    let neighbour = |j: Option<usize>| j.and_then(|j| dom.get(j)).map(|a| cell_literal(&a.rep, &a.label));
    match &atom.label {
        Label::Eq(_) => cell_literal(&atom.rep, &atom.label),
        Label::Below(_) => neighbour(i.checked_add(1)).map(|v| format!("< {v}")).unwrap_or_else(|| "-".into()),
        Label::Above(_) => neighbour(i.checked_sub(1)).map(|v| format!("> {v}")).unwrap_or_else(|| "-".into()),
        Label::Between(_, _) => match (neighbour(i.checked_sub(1)), neighbour(i.checked_add(1))) {
            (Some(a), Some(b)) => format!("({a}..{b})"),
            _ => "-".into(),
        },
        Label::Other => {
            let listed: Vec<String> = dom
                .iter()
                .filter(|a| matches!(a.label, Label::Eq(_)) && a.rep != Const::None)
                .map(|a| cell_literal(&a.rep, &a.label))
                .collect();
            if listed.is_empty() {
                "-".into()
            } else {
                format!("not {}", listed.join(", "))
            }
        }
        Label::Any => "-".into(),
    }
}

/// A constant as it is written in a decision cell.
fn cell_literal(c: &Const, label: &Label) -> String {
    match (c, label) {
        (Const::Enum(..), Label::Eq(name)) => name.clone(),
        (Const::Text(t), _) => {
            let mut s = String::from("\"");
            for ch in t.chars() {
                match ch {
                    '"' | '\\' | '{' | '}' => {
                        s.push('\\');
                        s.push(ch);
                    }
                    '\n' => s.push_str("\\n"),
                    '\t' => s.push_str("\\t"),
                    _ => s.push(ch),
                }
            }
            s.push('"');
            s
        }
        (Const::Date(_) | Const::Timestamp(_), _) => format!("@\"{}\"", show_const(c)),
        _ => show_const(c),
    }
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

/// Orders two constants of one ordered type (None across currencies or types).
pub(crate) fn cmp_const(a: &Const, b: &Const) -> Option<Ordering> {
    Some(match (a, b) {
        (Const::Int(x), Const::Int(y)) => x.cmp(y),
        (Const::Decimal(x), Const::Decimal(y)) => num::cmp(x, y),
        (Const::Money(x, c), Const::Money(y, d)) if c == d => num::cmp(x, y),
        (Const::Date(x), Const::Date(y)) => x.cmp(y),
        (Const::Timestamp(x), Const::Timestamp(y)) => x.cmp(y),
        (Const::Text(x), Const::Text(y)) => x.cmp(y),
        _ => return None,
    })
}

fn const_eq(a: &Const, b: &Const) -> bool {
    match cmp_const(a, b) {
        Some(o) => o == Ordering::Equal,
        None => a == b,
    }
}

/// Whether a cell matches a constant (the compile-time mirror of the engines' test).
pub(crate) fn cell_matches(cell: &CellTest, v: &Const) -> bool {
    match cell {
        CellTest::Any => true,
        CellTest::In { values, negated } => values.iter().any(|x| const_eq(x, v)) != *negated,
        CellTest::Cmp { op, value, .. } => match cmp_const(v, value) {
            Some(o) => match op {
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
            },
            None => false,
        },
        CellTest::Range { lo, lo_closed, hi, hi_closed, .. } => {
            let (Some(a), Some(b)) = (cmp_const(v, lo), cmp_const(v, hi)) else { return false };
            let lo_ok = if *lo_closed { a != Ordering::Less } else { a == Ordering::Greater };
            let hi_ok = if *hi_closed { b != Ordering::Greater } else { b == Ordering::Less };
            lo_ok && hi_ok
        }
    }
}

fn zero_of(t: &Ty) -> Const {
    match t {
        Ty::Int => Const::Int(0),
        Ty::Decimal => Const::Decimal(Decimal::ZERO),
        Ty::Money => Const::Money(Decimal::ZERO, Currency(*b"XXX")),
        Ty::Date => Const::Date(Date(0)),
        Ty::Timestamp => Const::Timestamp(Timestamp(0)),
        _ => Const::Int(0),
    }
}

/// A value of the same type `delta` away (one unit below or above).
fn step(c: &Const, delta: i64) -> Option<Const> {
    let d = num::from_int(delta);
    Some(match c {
        Const::Int(i) => Const::Int(i.checked_add(delta)?),
        Const::Decimal(x) => Const::Decimal(num::add(*x, d).ok()?),
        Const::Money(x, cur) => Const::Money(num::add(*x, d).ok()?, *cur),
        Const::Date(x) => Const::Date(Date(x.0.checked_add(delta as i32)?)),
        Const::Timestamp(x) => Const::Timestamp(Timestamp(x.0.checked_add(delta)?)),
        _ => return None,
    })
}

/// A value strictly between two, if the type has one.
fn between(a: &Const, b: &Const) -> Option<Const> {
    let two = num::from_int(2);
    Some(match (a, b) {
        (Const::Int(x), Const::Int(y)) => Const::Int(x.checked_add(1).filter(|m| m < y)?),
        (Const::Decimal(x), Const::Decimal(y)) => Const::Decimal(num::div(num::add(*x, *y).ok()?, two).ok()?),
        (Const::Money(x, c), Const::Money(y, _)) => Const::Money(num::div(num::add(*x, *y).ok()?, two).ok()?, *c),
        (Const::Date(x), Const::Date(y)) => Const::Date(Date(x.0.checked_add(1).filter(|m| *m < y.0)?)),
        (Const::Timestamp(x), Const::Timestamp(y)) => {
            Const::Timestamp(Timestamp(x.0.checked_add(1).filter(|m| *m < y.0)?))
        }
        _ => return None,
    })
}

/// A value of type `t` unequal to every constant in `seen` ("any other value").
fn fresh_value(t: &Ty, seen: &[Const]) -> Option<Const> {
    match t {
        Ty::Text => {
            let mut s = String::from("\u{0}other");
            while seen.contains(&Const::Text(s.as_str().into())) {
                s.push('\u{0}');
            }
            Some(Const::Text(s.into()))
        }
        Ty::Currency => {
            for a in b'A'..=b'Z' {
                for b in b'A'..=b'Z' {
                    let c = Const::Currency(Currency([b'X', a, b]));
                    if !seen.contains(&c) {
                        return Some(c);
                    }
                }
            }
            None
        }
        _ => Some(Const::Int(i64::MIN)),
    }
}

pub(crate) fn show_const(c: &Const) -> String {
    let mut s = String::new();
    match c {
        Const::None => s.push_str("none"),
        Const::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Const::Int(i) => s.push_str(&i.to_string()),
        Const::Decimal(d) => num::format(d, &mut s),
        Const::Money(d, cur) => {
            num::format(d, &mut s);
            s.push(' ');
            s.push_str(cur.as_str());
        }
        Const::Currency(cur) => s.push_str(cur.as_str()),
        Const::Text(t) => s.push_str(&format!("{t:?}")),
        Const::Date(d) => canon_stdlib::time::format_date(*d, &mut s),
        Const::Timestamp(t) => canon_stdlib::time::format_timestamp(*t, &mut s),
        Const::Enum(_, i) => s.push_str(&format!("variant {i}")),
    }
    s
}
