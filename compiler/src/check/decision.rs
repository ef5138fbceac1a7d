//! Decision tables: typing of headers, cells and outputs, and the static
//! analysis of LANGUAGE.md §5.2 — completeness (E0302), overlap under
//! `hit unique` (E0303) and rows that can never match (W0304).
//!
//! The analysis splits every input column's domain into finitely many
//! *atoms* (enum variants, `true`/`false`, `none`, the constants written in
//! an ordered column and the open intervals between them, "any other" text)
//! and decides coverage over the product of the atoms, naming a witness.

mod sets;

#[cfg(test)]
mod reference;

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use canon_stdlib::{num, Currency, Date, Decimal, Timestamp};

use super::expr::{quote_list, Env};
use super::Checker;
use crate::diagnostics::{Code, Data, Diagnostic};
use crate::ir::{self, CellTest, CmpOp, CollectAgg, Const, DecisionId, Hit};
use crate::syntax::ast;
use crate::types::{OrdKind, Ty};

/// A checked decision table, before it takes its place in the package.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DecisionBody {
    hit: Hit,
    columns: Vec<u32>,
    output_record: Option<crate::types::RecordId>,
    rows: Vec<ir::DecisionRow>,
    default: Option<ir::Expr>,
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
        def.default = self.default.map(|e| place.expr(e));
        def.n_locals = self.n_locals;
    }
}

/// The hit policy a decision names, if it is one: the engines' policy and
/// whether the rows are first ordered by the output's declared order
/// (`priority` is `first`, `output order` is `collect`, over rows so sorted).
pub(super) fn hit_policy(name: &str) -> Option<(Hit, bool)> {
    Some(match name {
        "first" => (Hit::First, false),
        "unique" => (Hit::Unique, false),
        "any" => (Hit::Any, false),
        "priority" => (Hit::First, true),
        "output order" => (Hit::Collect, true),
        "collect" => (Hit::Collect, false),
        "collect sum" => (Hit::CollectAgg(CollectAgg::Sum), false),
        "collect count" => (Hit::CollectAgg(CollectAgg::Count), false),
        "collect min" => (Hit::CollectAgg(CollectAgg::Min), false),
        "collect max" => (Hit::CollectAgg(CollectAgg::Max), false),
        _ => return None,
    })
}

impl<'a> Checker<'a> {
    /// Checks a decision's table (and analyses it when it has no error).
    pub(super) fn check_decision(&mut self, id: DecisionId, d: &ast::DecisionDecl) -> Option<DecisionBody> {
        let def = self.pkg.decisions.get(id.0 as usize).cloned()?;
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let (hit, by_priority) = match hit_policy(&d.hit.text) {
            Some(hit) => hit,
            None => {
                self.error(Code::E0001, d.hit.span, format!("unknown hit policy `{}`", d.hit.text)).help = Some(
                    "write `hit first`, `unique`, `any`, `priority`, `output order`, `collect`, or `collect` with \
                     `sum`, `count`, `min` or `max`"
                        .into(),
                );
                (Hit::First, false)
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
                cells.push(self.cell(cell, &pty, &def.params));
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
        // The default output.
        let default = d.default.as_ref().map(|e| {
            if matches!(hit, Hit::Collect | Hit::CollectAgg(_)) {
                self.error(Code::E0308, d.hit.span, format!("`hit {}` has no default output", d.hit.text)).help = Some(
                    "a collecting decision gives an empty list (or its aggregation's empty value) when no row matches"
                        .into(),
                );
            }
            self.expect(&mut env, e, &out_ty)
        });
        self.policy_fits(hit, by_priority, &out_ty, &output_fields, d);
        let mut numbers: Vec<usize> = (0..rows.len()).collect();
        let enum_first = matches!(output_fields.first().map(|(_, t)| t.strip()), Some(Ty::Enum(_)));
        if by_priority && enum_first {
            // Rows in the order of the first output column's enum, stably.
            let key_field = output_fields.first().map(|(fi, _)| *fi).unwrap_or(0);
            let mut keyed = Vec::new();
            let mut all_const = true;
            for (r, span) in &rows {
                let key = match r.outputs.get(key_field).map(|o| &o.kind) {
                    Some(ir::ExprKind::Const(Const::Enum(_, v))) => *v,
                    _ => {
                        all_const = false;
                        self.error(
                            Code::E0308,
                            *span,
                            format!("under `hit {}` each row's first output is a variant written out", d.hit.text),
                        )
                        .help = Some("the rows are ordered by that variant's place in its enum".into());
                        u32::MAX
                    }
                };
                keyed.push(key);
            }
            if all_const {
                let mut order: Vec<usize> = (0..rows.len()).collect();
                order.sort_by_key(|i| keyed.get(*i).copied().unwrap_or(u32::MAX));
                let mut taken: Vec<Option<(ir::DecisionRow, ast::Span)>> = rows.into_iter().map(Some).collect();
                rows = order.iter().filter_map(|i| taken.get_mut(*i).and_then(Option::take)).collect();
                numbers = order;
            }
        }
        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        let broken = self.broken_decisions.get(id.0 as usize).copied().unwrap_or(true);
        if errors_after == errors_before && !broken && !bad_rows {
            self.analyse(&def, hit, &columns, &rows, &numbers, default.is_some(), d);
        }
        Some(DecisionBody {
            hit,
            columns,
            output_record,
            rows: rows.into_iter().map(|(r, _)| r).collect(),
            default,
            n_locals: env.n_locals,
        })
    }

    fn cell(&mut self, cell: &ast::Cell, ty: &Ty, params: &[(String, Ty)]) -> CellTest {
        if ty.is_error() {
            return CellTest::Any;
        }
        let ordered = |c: &mut Self, op_span: ast::Span| -> Option<OrdKind> {
            match ty.strip().ord_kind() {
                None => {
                    let shown = c.show(ty);
                    c.error(
                        Code::E0204,
                        op_span,
                        format!("comparisons and ranges need an ordered column, not `{shown}`"),
                    )
                    .help = Some("ordered columns are numbers, Money, Date, Timestamp and Text".into());
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
                let op = match op {
                    ast::CmpOp::Lt => CmpOp::Lt,
                    ast::CmpOp::Le => CmpOp::Le,
                    ast::CmpOp::Gt => CmpOp::Gt,
                    ast::CmpOp::Ge => CmpOp::Ge,
                };
                if let Some(param) = self.cell_param(v, ty, params) {
                    return match param {
                        Some(param) => CellTest::CmpParam { op, param, kind },
                        None => CellTest::Any,
                    };
                }
                let Some(value) = self.cell_const(v, ty.strip()) else { return CellTest::Any };
                CellTest::Cmp { op, value, kind }
            }
            ast::CellKind::Range { lo, lo_closed, hi, hi_closed } => {
                let Some(kind) = ordered(self, cell.span) else { return CellTest::Any };
                let (lp, hp) = (self.cell_param(lo, ty, params), self.cell_param(hi, ty, params));
                if lp.is_some() || hp.is_some() {
                    // A parameter at an end: the two comparisons, low end first.
                    let lop = if *lo_closed { CmpOp::Ge } else { CmpOp::Gt };
                    let hop = if *hi_closed { CmpOp::Le } else { CmpOp::Lt };
                    let end = |c: &mut Self, p: Option<Option<u32>>, l: &ast::Lit, op: CmpOp| match p {
                        Some(Some(param)) => Some(CellTest::CmpParam { op, param, kind }),
                        Some(None) => None,
                        None => c.cell_const(l, ty.strip()).map(|value| CellTest::Cmp { op, value, kind }),
                    };
                    let a = end(self, lp, lo, lop);
                    let b = end(self, hp, hi, hop);
                    return match (a, b) {
                        (Some(a), Some(b)) => CellTest::AllOf(vec![a, b]),
                        _ => CellTest::Any,
                    };
                }
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
            ast::CellKind::AnyOf(items) => CellTest::AnyOf(items.iter().map(|i| self.cell(i, ty, params)).collect()),
        }
    }

    /// When a comparison's operand names a parameter of the decision: its
    /// slot (`Some(None)` after an error: it has another type).
    fn cell_param(&mut self, l: &ast::Lit, ty: &Ty, params: &[(String, Ty)]) -> Option<Option<u32>> {
        let ast::LitKind::Name(name) = &l.kind else { return None };
        let i = params.iter().position(|(n, _)| *n == name.text)?;
        let pty = params.get(i).map(|(_, t)| t.strip().clone()).unwrap_or(Ty::Error);
        if pty != *ty.strip() && !pty.is_error() {
            let (a, b) = (self.show(ty.strip()), self.show(&pty));
            self.error(Code::E0201, l.span, format!("this column is `{a}`, but parameter `{}` is `{b}`", name.text))
                .help = Some("a cell compares its column with a parameter of the same type".into());
            return Some(None);
        }
        Some(Some(i as u32))
    }

    /// Whether the hit policy fits the result (E0308).
    fn policy_fits(&mut self, hit: Hit, by_priority: bool, out: &Ty, outputs: &[(usize, Ty)], d: &ast::DecisionDecl) {
        if out.is_error() {
            return;
        }
        let policy = d.hit.text.clone();
        if by_priority {
            let first = outputs.first().map(|(_, t)| t.strip().clone());
            if !matches!(first, Some(Ty::Enum(_)) | Some(Ty::Error)) {
                self.error(
                    Code::E0308,
                    d.hit.span,
                    format!("`hit {policy}` orders rows by the values of an enum: the first output must be an enum"),
                )
                .help = Some("the rows are ordered by the first output's variant, in the enum's declared order".into());
            }
            return;
        }
        let Hit::CollectAgg(agg) = hit else { return };
        let shown = self.show(out);
        let ok = match (agg, out.strip()) {
            (_, Ty::Record(_)) => false,
            (CollectAgg::Count, _) => true,
            (CollectAgg::Sum, Ty::Int | Ty::Decimal | Ty::Money) => true,
            (CollectAgg::Min | CollectAgg::Max, t) => t.ord_kind().is_some(),
            _ => false,
        };
        if !ok {
            self.error(Code::E0308, d.hit.span, format!("`hit {policy}` cannot aggregate `{shown}`")).help = Some(
                "`collect sum` needs Int, Decimal or Money; `collect min` and `max` an ordered type; \
                 aggregations need a single output column"
                    .into(),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn analyse(
        &mut self,
        def: &ir::DecisionDef,
        hit: Hit,
        columns: &[u32],
        rows: &[(ir::DecisionRow, ast::Span)],
        numbers: &[usize],
        has_default: bool,
        d: &ast::DecisionDecl,
    ) {
        #[cfg(test)]
        if reference::REFERENCE.with(|r| r.get()) {
            return self.analyse_reference(def, hit, columns, rows, numbers, has_default, d);
        }
        let col_names: Vec<String> =
            columns.iter().map(|c| def.params.get(*c as usize).map(|(n, _)| n.clone()).unwrap_or_default()).collect();
        let mut domains = Vec::new();
        let mut ordered_cols = Vec::new();
        for (ci, c) in columns.iter().enumerate() {
            let ty = def.params.get(*c as usize).map(|(_, t)| t.clone()).unwrap_or(Ty::Error);
            let cells: Vec<&CellTest> = rows.iter().filter_map(|(r, _)| r.cells.get(ci)).collect();
            match self.domain(&ty, &cells) {
                Some((dom, ordered)) => {
                    domains.push(dom);
                    ordered_cols.push(ordered);
                }
                None => return, // cannot decide (e.g. Money in several currencies)
            }
        }
        // Each cell as the set of atoms it matches: `lo` where it surely
        // matches, `hi` where it may (a cell that compares with a parameter
        // is unknown on every atom), so a claim of a gap, an overlap or a
        // shadowed row holds either way.
        let cols: Vec<Column<'_>> = domains.iter().zip(ordered_cols.iter()).map(|(d, o)| Column::new(d, *o)).collect();
        let n: Vec<u32> = cols.iter().map(|c| c.n).collect();
        let mut lo: Vec<sets::Row> = Vec::with_capacity(rows.len());
        let mut hi: Vec<sets::Row> = Vec::with_capacity(rows.len());
        for (r, _) in rows {
            let (l, h): (Vec<_>, Vec<_>) =
                r.cells.iter().zip(cols.iter()).map(|(cell, col)| col.cell_sets(cell)).unzip();
            lo.push(l);
            hi.push(h);
        }
        let describe = |w: &[u32]| -> String {
            w.iter()
                .zip(domains.iter())
                .zip(col_names.iter())
                .map(|((a, dom), n)| dom.get(*a as usize).map(|at| at.describe(n)).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let number = |i: usize| numbers.get(i).copied().unwrap_or(i) + 1;
        let line_of = |c: &Self, i: usize| rows.get(i).map(|(_, sp)| c.loc(*sp).line + c.line_base).unwrap_or(0);
        // Rows that can never match.
        if hit != Hit::Unique {
            let empty: Vec<bool> = hi.iter().map(|r| r.iter().any(Vec::is_empty)).collect();
            let uncovered = if hit == Hit::First {
                let check: Vec<bool> = empty.iter().map(|e| !e).collect();
                sets::uncovered_rows(&lo, &hi, &check, &n)
            } else {
                vec![true; rows.len()]
            };
            for (i, (_, span)) in rows.iter().enumerate() {
                let Some(row_hi) = hi.get(i) else { continue };
                if empty.get(i).copied().unwrap_or(false) {
                    self.diags.push(
                        Diagnostic::new(
                            Code::W0304,
                            self.file,
                            *span,
                            "this row can never match: a cell matches no value",
                        )
                        .with_help("check the cell's range or list of values"),
                    );
                } else if !uncovered.get(i).copied().unwrap_or(true) {
                    // The earlier row that covers it alone, else those that share inputs with it.
                    let alone = (0..i).find(|j| lo.get(*j).is_some_and(|sj| sets::holds(sj, row_hi)));
                    let shadows: Vec<usize> = match alone {
                        Some(j) => vec![j],
                        None => (0..i).filter(|j| lo.get(*j).is_some_and(|sj| sets::meets(sj, row_hi))).collect(),
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
        // Overlaps under `hit unique` and `hit any`: the first earlier row each row meets.
        if matches!(hit, Hit::Unique | Hit::Any) {
            let first = if hit == Hit::Any {
                // Rows that agree (or may: outputs that are not constants
                // are compared at run time) may overlap.
                let outs: Vec<Option<Vec<Const>>> = rows.iter().map(|(r, _)| const_outputs(&r.outputs)).collect();
                let differ = |x: &Vec<Const>, y: &Vec<Const>| {
                    x.len() == y.len() && x.iter().zip(y.iter()).any(|(p, q)| !const_eq(p, q))
                };
                sets::first_overlaps(&lo, &n, Some((&outs, &differ)))
            } else {
                sets::first_overlaps::<()>(&lo, &n, None)
            };
            for (j, i) in first.iter().enumerate() {
                let Some(i) = i.map(|i| i as usize) else { continue };
                let (Some(si), Some(sj)) = (lo.get(i), lo.get(j)) else { continue };
                let witness: Vec<u32> =
                    si.iter().zip(sj.iter()).map(|(a, b)| sets::first_common(a, b).unwrap_or(0)).collect();
                let (Some((_, span_i)), Some((_, span_j))) = (rows.get(i), rows.get(j)) else { continue };
                let line_i = line_of(self, i);
                if hit == Hit::Any {
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
                    continue;
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
            }
        }
        let collecting = matches!(hit, Hit::Collect | Hit::CollectAgg(_));
        // Completeness: a gap is claimed only where no row can match even
        // when every unknown cell matches.
        if !collecting && !has_default && !def.ret.is_optional() && sets::first_gap(&lo, &n).is_some() {
            if let Some(w) = sets::first_gap(&hi, &n) {
                let msg =
                    format!("decision `{}` does not cover every input: no row matches {}", def.name, describe(&w));
                let boxes = sets::widen(&hi, &n, &w);
                let cells = w
                    .iter()
                    .zip(domains.iter())
                    .zip(boxes.iter().zip(ordered_cols.iter()))
                    .map(|((a, dom), (set, ord))| set_cell(dom, set, *a as usize, *ord))
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
                let covered = sets::covered_atoms(&hi, ci, dom.len() as u32);
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
    fn domain(&mut self, ty: &Ty, cells: &[&CellTest]) -> Option<(Vec<Atom>, bool)> {
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
                    let mut keys: HashSet<Key> = HashSet::new();
                    for c in consts {
                        // `==` on constants with a key is equality of keys.
                        let new = match key(&c) {
                            Some(k) => keys.insert(k),
                            None => !seen.contains(&c),
                        };
                        if new {
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

/// Whether a column's atoms are intervals: an ordered type other than Text,
/// or Text that some cell compares or ranges over.
fn is_ordered_col(ty: &Ty, cells: &[&CellTest]) -> bool {
    fn orders(c: &CellTest) -> bool {
        match c {
            CellTest::Cmp { .. } | CellTest::Range { .. } | CellTest::CmpParam { .. } => true,
            CellTest::AnyOf(cs) | CellTest::AllOf(cs) => cs.iter().any(orders),
            CellTest::Any | CellTest::In { .. } => false,
        }
    }
    match ty.strip() {
        Ty::Text => cells.iter().any(|c| orders(c)),
        t => t.ord_kind().is_some(),
    }
}

/// The constants a cell names (not `none`).
fn cell_consts(c: &CellTest, out: &mut Vec<Const>) {
    match c {
        CellTest::Any | CellTest::CmpParam { .. } => {}
        CellTest::In { values, .. } => out.extend(values.iter().filter(|v| **v != Const::None).cloned()),
        CellTest::Cmp { value, .. } => out.push(value.clone()),
        CellTest::Range { lo, hi, .. } => {
            out.push(lo.clone());
            out.push(hi.clone());
        }
        CellTest::AnyOf(cs) | CellTest::AllOf(cs) => {
            for c in cs {
                cell_consts(c, out);
            }
        }
    }
}

/// "a", "a and b", "a, b and c".
fn join_and(items: &[String]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
/// Whether two rows' outputs are constants that differ (so the rows cannot
/// agree under `hit any`); outputs that are not all constants may agree.
fn outputs_differ(a: &[ir::Expr], b: &[ir::Expr]) -> bool {
    let consts = |xs: &[ir::Expr]| -> Option<Vec<Const>> {
        xs.iter()
            .map(|e| match &e.kind {
                ir::ExprKind::Const(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    };
    match (consts(a), consts(b)) {
        (Some(x), Some(y)) => x.len() == y.len() && x.iter().zip(y.iter()).any(|(p, q)| !const_eq(p, q)),
        _ => false,
    }
}

/// The constants of an unordered column by which atoms are found (equal
/// exactly when `const_eq` is: Text by its characters, the others by value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    None,
    Bool(bool),
    Text(std::sync::Arc<str>),
    Currency([u8; 3]),
    Enum(u32, u32),
}

fn key(c: &Const) -> Option<Key> {
    Some(match c {
        Const::None => Key::None,
        Const::Bool(b) => Key::Bool(*b),
        Const::Text(t) => Key::Text(t.clone()),
        Const::Currency(c) => Key::Currency(c.0),
        Const::Enum(e, v) => Key::Enum(e.0, *v),
        _ => return None,
    })
}

/// One input column's atoms, with what finds the atoms a cell matches
/// without testing every atom.
struct Column<'d> {
    dom: &'d [Atom],
    n: u32,
    /// The atoms before `none` (every atom of a column that is not optional).
    values: usize,
    /// Whether those atoms are sorted and of one comparable type (an ordered
    /// column): a comparison matches a run of them, found by binary search.
    sorted: bool,
    /// The atom of each constant (an unordered column).
    index: HashMap<Key, u32>,
}

impl<'d> Column<'d> {
    fn new(dom: &'d [Atom], ordered: bool) -> Column<'d> {
        let values = dom.iter().take_while(|a| a.rep != Const::None).count();
        let only_last_none = dom.iter().skip(values).count() <= 1;
        let head = dom.get(..values).unwrap_or(&[]);
        let sorted = ordered
            && only_last_none
            && head.windows(2).all(|w| match w {
                [a, b] => matches!(cmp_const(&a.rep, &b.rep), Some(Ordering::Less | Ordering::Equal)),
                _ => true,
            });
        let mut index = HashMap::new();
        if !ordered {
            for (i, a) in dom.iter().enumerate() {
                match key(&a.rep) {
                    Some(k) if !index.contains_key(&k) => {
                        index.insert(k, i as u32);
                    }
                    _ => {
                        // A constant without a key, or twice: test atoms one by one.
                        index.clear();
                        break;
                    }
                }
            }
        }
        Column { dom, n: dom.len() as u32, values, sorted, index }
    }

    /// Whether `v` compares with every value atom (the sorted path applies).
    fn comparable(&self, v: &Const) -> bool {
        self.sorted && self.values > 0 && self.dom.first().is_some_and(|a| cmp_const(&a.rep, v).is_some())
    }

    /// The first value atom for which `pred` is false (`pred` holds on a prefix).
    fn cut(&self, v: &Const, pred: impl Fn(Ordering) -> bool) -> u32 {
        let head = self.dom.get(..self.values).unwrap_or(&[]);
        head.partition_point(|a| cmp_const(&a.rep, v).is_some_and(&pred)) as u32
    }

    /// Where a comparison `atom OP v` holds: a run of value atoms.
    fn cmp_run(&self, op: CmpOp, v: &Const) -> (u32, u32) {
        let end = self.values as u32;
        match op {
            CmpOp::Lt => (0, self.cut(v, |o| o == Ordering::Less)),
            CmpOp::Le => (0, self.cut(v, |o| o != Ordering::Greater)),
            CmpOp::Gt => (self.cut(v, |o| o != Ordering::Greater), end),
            CmpOp::Ge => (self.cut(v, |o| o == Ordering::Less), end),
        }
    }

    /// The atoms equal to `v` (`const_eq`).
    fn equal(&self, v: &Const, out: &mut Vec<(u32, u32)>) {
        if *v == Const::None && self.sorted {
            // Only the last atom of a sorted column can be `none`.
            out.push((self.values as u32, self.n));
            return;
        }
        if *v != Const::None && self.comparable(v) {
            out.push((self.cut(v, |o| o == Ordering::Less), self.cut(v, |o| o != Ordering::Greater)));
            return;
        }
        if !self.index.is_empty() {
            if let Some(i) = key(v).and_then(|k| self.index.get(&k)) {
                out.push((*i, *i + 1));
                return;
            }
            if key(v).is_some() {
                return;
            }
        }
        for (i, a) in self.dom.iter().enumerate() {
            if const_eq(v, &a.rep) {
                out.push((i as u32, i as u32 + 1));
            }
        }
    }

    /// The atoms a cell (without parameters) matches, as `cell_matches` tests them.
    fn plain(&self, cell: &CellTest) -> sets::Set {
        match cell {
            CellTest::Any => sets::full(self.n),
            CellTest::In { values, negated } => {
                let mut runs = Vec::new();
                for v in values {
                    self.equal(v, &mut runs);
                }
                let s = sets::normalize(runs);
                if *negated {
                    sets::complement(&s, self.n)
                } else {
                    s
                }
            }
            CellTest::Cmp { op, value, .. } if self.comparable(value) => {
                sets::normalize(vec![self.cmp_run(*op, value)])
            }
            CellTest::Range { lo, lo_closed, hi, hi_closed, .. } if self.comparable(lo) && self.comparable(hi) => {
                let (a, _) = self.cmp_run(if *lo_closed { CmpOp::Ge } else { CmpOp::Gt }, lo);
                let (_, b) = self.cmp_run(if *hi_closed { CmpOp::Le } else { CmpOp::Lt }, hi);
                sets::normalize(vec![(a, b)])
            }
            _ => {
                let bits: Vec<bool> = self.dom.iter().map(|a| cell_matches(cell, &a.rep)).collect();
                sets::from_bools(&bits)
            }
        }
    }

    /// The atoms a cell surely matches and those it may match (`cell_matches3`
    /// true, and true or unknown).
    fn cell_sets(&self, cell: &CellTest) -> (sets::Set, sets::Set) {
        match cell {
            CellTest::CmpParam { .. } => (Vec::new(), sets::full(self.n)),
            CellTest::AnyOf(cs) => cs.iter().fold((Vec::new(), Vec::new()), |(lo, hi), c| {
                let (l, h) = self.cell_sets(c);
                (sets::union(&lo, &l), sets::union(&hi, &h))
            }),
            CellTest::AllOf(cs) => cs.iter().fold((sets::full(self.n), sets::full(self.n)), |(lo, hi), c| {
                let (l, h) = self.cell_sets(c);
                (sets::intersect(&lo, &l), sets::intersect(&hi, &h))
            }),
            _ => {
                let s = self.plain(cell);
                (s.clone(), s)
            }
        }
    }
}

/// A row's outputs when they are all constants.
fn const_outputs(xs: &[ir::Expr]) -> Option<Vec<Const>> {
    xs.iter()
        .map(|e| match &e.kind {
            ir::ExprKind::Const(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
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

#[cfg(test)]
/// Whether a cell matches a constant: `None` when it depends on another
/// parameter's value.
fn cell_matches3(cell: &CellTest, v: &Const) -> Option<bool> {
    match cell {
        CellTest::CmpParam { .. } => None,
        CellTest::AnyOf(cs) => {
            let mut unknown = false;
            for c in cs {
                match cell_matches3(c, v) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(false)
            }
        }
        CellTest::AllOf(cs) => {
            let mut unknown = false;
            for c in cs {
                match cell_matches3(c, v) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(true)
            }
        }
        _ => Some(cell_matches(cell, v)),
    }
}

/// Whether a cell matches a constant (the compile-time mirror of the engines'
/// test; a comparison with a parameter counts as no match).
pub(crate) fn cell_matches(cell: &CellTest, v: &Const) -> bool {
    match cell {
        CellTest::CmpParam { .. } => false,
        CellTest::AnyOf(cs) => cs.iter().any(|c| cell_matches(c, v)),
        CellTest::AllOf(cs) => cs.iter().all(|c| cell_matches(c, v)),
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
        Ty::Text => Const::Text(String::new().into()),
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
        // Text: "" is below every other text; `t` + U+0000 is the next text after `t`.
        Const::Text(t) if delta < 0 => {
            if t.is_empty() {
                return None;
            }
            Const::Text(String::new().into())
        }
        Const::Text(t) => Const::Text(format!("{t}\u{0}").into()),
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
        (Const::Text(x), Const::Text(y)) => {
            let next = format!("{x}\u{0}");
            if next.as_str() >= &**y {
                return None;
            }
            Const::Text(next.into())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn text(s: &str) -> Const {
        Const::Text(s.to_string().into())
    }

    #[test]
    fn text_atoms_are_exact() {
        // "" has nothing below; the next text after "a" is "a\0".
        assert_eq!(step(&text(""), -1), None);
        assert_eq!(step(&text("b"), -1), Some(text("")));
        assert_eq!(step(&text("a"), 1), Some(text("a\u{0}")));
        assert_eq!(between(&text("a"), &text("b")), Some(text("a\u{0}")));
        assert_eq!(between(&text("a"), &text("a\u{0}")), None);
    }

    #[test]
    fn a_parameter_cell_is_unknown_and_lists_combine() {
        let lt = |v: i64| CellTest::Cmp { op: CmpOp::Lt, value: Const::Int(v), kind: OrdKind::Int };
        let param = CellTest::CmpParam { op: CmpOp::Gt, param: 1, kind: OrdKind::Int };
        assert_eq!(cell_matches3(&param, &Const::Int(3)), None);
        let any = CellTest::AnyOf(vec![lt(0), param.clone()]);
        assert_eq!(cell_matches3(&any, &Const::Int(-1)), Some(true));
        assert_eq!(cell_matches3(&any, &Const::Int(5)), None);
        let all = CellTest::AllOf(vec![lt(0), param]);
        assert_eq!(cell_matches3(&all, &Const::Int(5)), Some(false));
        assert_eq!(cell_matches3(&all, &Const::Int(-5)), None);
        assert_eq!(cell_matches3(&CellTest::AnyOf(vec![lt(0), lt(9)]), &Const::Int(20)), Some(false));
    }

    #[test]
    fn rows_named_in_a_list() {
        assert_eq!(join_and(&["a".into()]), "a");
        assert_eq!(join_and(&["a".into(), "b".into(), "c".into()]), "a, b and c");
    }
}
