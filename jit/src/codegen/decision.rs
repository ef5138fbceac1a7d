//! Decision tables: index lookups, scans of the rows, hit policies.

use std::collections::HashMap;

use canon_compiler::ir::{self, CellTest, CmpOp, Const, Hit};
use canon_compiler::types::Ty;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder};
use cranelift_codegen::ir::{Block, Value as CValue};

use crate::cell::CELL;
use crate::rt::Helper;

use super::{Fn, Unsupported, PTR};
use super::cells::flags;

impl Fn<'_, '_, '_> {
    // ------------------------------------------------------------ decisions

    pub(super) fn decision(&mut self, index: usize, d: &ir::DecisionDef) -> Result<(), Unsupported> {
        for i in 0..d.params.len() {
            let src = self.b.ins().iadd_imm_s(self.p1, (i * CELL) as i64);
            let dst = self.local(i as u32);
            self.copy_cell(src, dst);
        }
        let dst = self.p2;
        if let Some(index_plan) = IndexPlan::of(&self.l.shared.pkg, d) {
            // Columns that allow it (enums and Bools, with equality cells)
            // are looked up, not scanned; an out-of-range value (never
            // produced by the decoder) falls back to the scan below.
            let scan = self.b.create_block();
            self.indexed(index, d, &index_plan, dst, scan)?;
            self.b.switch_to_block(scan);
        } else if let Some(plan) = MixedPlan::of(&self.l.shared.pkg, d) {
            // Some columns are enums or Bools: they pick the rows that can
            // match, and only those are scanned, on the other columns.
            let scan = self.b.create_block();
            self.mixed(index, d, &plan, dst, scan)?;
            self.b.switch_to_block(scan);
        }
        let all: Vec<usize> = (0..d.rows.len()).collect();
        match d.hit {
            Hit::First | Hit::Unique => self.scan(index, d, &all, &[], dst)?,
            Hit::Collect => {
                let t = self.temp();
                self.helper(Helper::alloc, [None, None, None, Some(t)], d.rows.len() as i64);
                let base = self.word0(t);
                let n = self.b.declare_var(types::I64);
                let z = self.b.ins().iconst(types::I64, 0);
                self.b.def_var(n, z);
                for row in &d.rows {
                    let next = self.b.create_block();
                    self.row_test(d, row, &[], next)?;
                    let nv = self.b.use_var(n);
                    let off = self.b.ins().imul_imm_s(nv, CELL as i64);
                    let slot = self.b.ins().iadd(base, off);
                    self.row_output(index, d, row, slot)?;
                    let nv = self.b.use_var(n);
                    let n1 = self.b.ins().iadd_imm_s(nv, 1);
                    self.b.def_var(n, n1);
                    self.b.ins().jump(next, &[]);
                    self.b.switch_to_block(next);
                }
                let nv = self.b.use_var(n);
                self.store_words(dst, base, Some(nv));
                self.ret(0);
            }
        }
        Ok(())
    }

    /// Scans `rows` (indices into `d.rows`, in order) under `hit first` or
    /// `hit unique`, testing every column except those `skip` marks (already
    /// known to match), then writes the result or the fault.
    pub(super) fn scan(&mut self, index: usize, d: &ir::DecisionDef, rows: &[usize], skip: &[bool], dst: CValue) -> Result<(), Unsupported> {
        match d.hit {
            Hit::First => {
                for row in rows.iter().filter_map(|r| d.rows.get(*r)) {
                    let next = self.b.create_block();
                    self.row_test(d, row, skip, next)?;
                    self.row_output(index, d, row, dst)?;
                    self.ret(0);
                    self.b.switch_to_block(next);
                }
                self.no_row(index, d, dst);
            }
            _ => {
                let found = self.b.declare_var(types::I64);
                let m1 = self.b.ins().iconst(types::I64, -1);
                self.b.def_var(found, m1);
                for (ri, row) in rows.iter().filter_map(|r| d.rows.get(*r).map(|row| (*r, row))) {
                    let next = self.b.create_block();
                    self.row_test(d, row, skip, next)?;
                    let prev = self.b.use_var(found);
                    let dup = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, prev, 0);
                    let conflict = self.b.create_block();
                    let record = self.b.create_block();
                    self.b.set_cold_block(conflict);
                    self.b.ins().brif(dup, conflict, &[], record, &[]);
                    self.b.switch_to_block(conflict);
                    let a = self.temp();
                    self.store_words(a, prev, None);
                    let bcell = self.temp();
                    let riv = self.b.ins().iconst(types::I64, ri as i64);
                    self.store_words(bcell, riv, None);
                    let c = self.temp();
                    let site = self.site;
                    self.store_words(c, site, None);
                    self.helper(Helper::decision_conflict, [Some(a), Some(bcell), Some(c), None], index as i64);
                    self.ret(2);
                    self.b.switch_to_block(record);
                    let riv = self.b.ins().iconst(types::I64, ri as i64);
                    self.b.def_var(found, riv);
                    self.b.ins().jump(next, &[]);
                    self.b.switch_to_block(next);
                }
                for (ri, row) in rows.iter().filter_map(|r| d.rows.get(*r).map(|row| (*r, row))) {
                    let f = self.b.use_var(found);
                    let is = self.b.ins().icmp_imm_s(IntCC::Equal, f, ri as i64);
                    let yes = self.b.create_block();
                    let no = self.b.create_block();
                    self.b.ins().brif(is, yes, &[], no, &[]);
                    self.b.switch_to_block(yes);
                    self.row_output(index, d, row, dst)?;
                    self.ret(0);
                    self.b.switch_to_block(no);
                }
                self.no_row(index, d, dst);
            }
        }
        Ok(())
    }

    /// The entry of a decision's index for the values of the columns `cols`
    /// ((parameter, count of codes, optional), the first most significant):
    /// a u32 loaded from `table`. A value out of range jumps to `scan`.
    pub(super) fn entry(&mut self, d: &ir::DecisionDef, cols: &[(u32, u32, bool)], table: usize, scan: Block) -> CValue {
        let mut idx = self.b.ins().iconst(types::I64, 0);
        for &(col, size, optional) in cols {
            let v = self.local(col);
            let is_bool = d.params.get(col as usize).is_some_and(|(_, t)| matches!(t.strip(), Ty::Bool));
            let raw = self.load(if is_bool { types::I8 } else { types::I32 }, v, 0);
            let raw = self.b.ins().uextend(types::I64, raw);
            let code = if optional {
                // `none` is the last code of an optional column.
                let tag = self.tag(v);
                let none = self.b.ins().iconst(types::I64, i64::from(size - 1));
                self.b.ins().select(tag, raw, none)
            } else {
                raw
            };
            let out = self.b.ins().icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, code, i64::from(size));
            let ok = self.b.create_block();
            self.b.set_cold_block(scan);
            self.b.ins().brif(out, scan, &[], ok, &[]);
            self.b.switch_to_block(ok);
            let scaled = self.b.ins().imul_imm_s(idx, i64::from(size));
            idx = self.b.ins().iadd(scaled, code);
        }
        let base = self.b.ins().iconst(PTR, table as i64);
        let off = self.b.ins().ishl_imm_u(idx, 2);
        let at = self.b.ins().iadd(base, off);
        self.b.ins().load(types::I32, flags(), at, 0)
    }

    /// A decision with some enum or Bool columns: their values pick, through
    /// an index computed at compile time, the list of rows that can match,
    /// and only those are scanned, on the other columns.
    fn mixed(&mut self, index: usize, d: &ir::DecisionDef, plan: &MixedPlan, dst: CValue, scan: Block) -> Result<(), Unsupported> {
        let table = self.l.shared.store.keep_u32(plan.entries.clone());
        let entry = self.entry(d, &plan.cols, table, scan);
        let blocks: Vec<Block> = plan.lists.iter().map(|_| self.b.create_block()).collect();
        let targets: Vec<_> = blocks.iter().map(|b| self.b.func.dfg.block_call(*b, &[])).collect();
        let default = self.b.func.dfg.block_call(scan, &[]);
        let jt = self.b.create_jump_table(cranelift_codegen::ir::JumpTableData::new(default, &targets));
        self.b.ins().br_table(entry, jt);
        for (rows, blk) in plan.lists.iter().zip(blocks) {
            self.b.switch_to_block(blk);
            self.scan(index, d, rows, &plan.skip, dst)?;
        }
        Ok(())
    }

    /// The lookup of a decision whose matching row depends only on a small
    /// product of enum and Bool values: the row (or conflict) for each
    /// combination is computed here, once; at run time, one load and a jump.
    fn indexed(&mut self, index: usize, d: &ir::DecisionDef, plan: &IndexPlan, dst: CValue, scan: Block) -> Result<(), Unsupported> {
        let table = self.l.shared.store.keep_u32(plan.entries.clone());
        let cols: Vec<(u32, u32, bool)> =
            d.columns.iter().zip(plan.sizes.iter().zip(plan.optional.iter())).map(|(c, (s, o))| (*c, *s, *o)).collect();
        let entry = self.entry(d, &cols, table, scan);
        // Entry 0: no row; 1..=rows: that row; after: a conflict pair.
        let none_block = self.b.create_block();
        let row_blocks: Vec<Block> = d.rows.iter().map(|_| self.b.create_block()).collect();
        let conflict_blocks: Vec<Block> = plan.conflicts.iter().map(|_| self.b.create_block()).collect();
        let mut targets = vec![self.b.func.dfg.block_call(none_block, &[])];
        for blk in row_blocks.iter().chain(conflict_blocks.iter()) {
            targets.push(self.b.func.dfg.block_call(*blk, &[]));
        }
        let default = self.b.func.dfg.block_call(none_block, &[]);
        let jt = self.b.create_jump_table(cranelift_codegen::ir::JumpTableData::new(default, &targets));
        self.b.ins().br_table(entry, jt);
        for (row, blk) in d.rows.iter().zip(row_blocks) {
            self.b.switch_to_block(blk);
            self.row_output(index, d, row, dst)?;
            self.ret(0);
        }
        for (&(a, b), blk) in plan.conflicts.iter().zip(conflict_blocks) {
            self.b.switch_to_block(blk);
            self.b.set_cold_block(blk);
            let ca = self.temp();
            let av = self.b.ins().iconst(types::I64, i64::from(a));
            self.store_words(ca, av, None);
            let cb = self.temp();
            let bv = self.b.ins().iconst(types::I64, i64::from(b));
            self.store_words(cb, bv, None);
            let c = self.temp();
            let site = self.site;
            self.store_words(c, site, None);
            self.helper(Helper::decision_conflict, [Some(ca), Some(cb), Some(c), None], index as i64);
            self.ret(2);
        }
        self.b.switch_to_block(none_block);
        self.no_row(index, d, dst);
        Ok(())
    }

    pub(super) fn no_row(&mut self, index: usize, d: &ir::DecisionDef, dst: CValue) {
        if d.ret.is_optional() {
            self.store_none(dst);
            self.ret(0);
        } else {
            let c = self.temp();
            let site = self.site;
            self.store_words(c, site, None);
            self.helper(Helper::decision_no_row, [Some(c), None, None, None], index as i64);
            self.ret(2);
        }
    }

    /// Falls through when the row matches, else jumps to `next`.
    pub(super) fn row_test(&mut self, d: &ir::DecisionDef, row: &ir::DecisionRow, skip: &[bool], next: Block) -> Result<(), Unsupported> {
        for (i, (cell, col)) in row.cells.iter().zip(d.columns.iter()).enumerate() {
            if skip.get(i).copied().unwrap_or(false) {
                continue;
            }
            let ty = d.params.get(*col as usize).map(|(_, t)| t.clone()).unwrap_or(Ty::Error);
            let v = self.local(*col);
            let ok = match cell {
                CellTest::Any => continue,
                CellTest::In { values, negated } => {
                    let mut acc = self.b.ins().iconst(types::I8, 0);
                    for c in values {
                        let t = self.temp();
                        let cty = if matches!(c, Const::None) { Ty::NoneLit } else { ty.strip().clone() };
                        self.constant(c, &cty, t);
                        let m = self.equal(v, t, &ty, row.loc)?;
                        acc = self.b.ins().bor(acc, m);
                    }
                    if *negated {
                        let one = self.b.ins().iconst(types::I8, 1);
                        self.b.ins().bxor(acc, one)
                    } else {
                        acc
                    }
                }
                CellTest::Cmp { op, value, kind } => {
                    self.present_or(v, next);
                    let t = self.temp();
                    self.constant(value, ty.strip(), t);
                    self.compare(*op, *kind, v, t, row.loc)?
                }
                CellTest::Range { lo, lo_closed, hi, hi_closed, kind } => {
                    self.present_or(v, next);
                    let tl = self.temp();
                    self.constant(lo, ty.strip(), tl);
                    let lop = if *lo_closed { CmpOp::Ge } else { CmpOp::Gt };
                    let a = self.compare(lop, *kind, v, tl, row.loc)?;
                    let mid = self.b.create_block();
                    self.b.ins().brif(a, mid, &[], next, &[]);
                    self.b.switch_to_block(mid);
                    let th = self.temp();
                    self.constant(hi, ty.strip(), th);
                    let hop = if *hi_closed { CmpOp::Le } else { CmpOp::Lt };
                    self.compare(hop, *kind, v, th, row.loc)?
                }
            };
            let cont = self.b.create_block();
            self.b.ins().brif(ok, cont, &[], next, &[]);
            self.b.switch_to_block(cont);
        }
        Ok(())
    }

    /// Jumps to `next` when the cell is none (ordered tests never match none).
    pub(super) fn present_or(&mut self, v: CValue, next: Block) {
        let tag = self.tag(v);
        let cont = self.b.create_block();
        self.b.ins().brif(tag, cont, &[], next, &[]);
        self.b.switch_to_block(cont);
    }

    pub(super) fn row_output(&mut self, index: usize, d: &ir::DecisionDef, row: &ir::DecisionRow, dst: CValue) -> Result<(), Unsupported> {
        if self.l.shared.traced {
            let ri = d.rows.iter().position(|r| std::ptr::eq(r, row)).unwrap_or(0);
            self.helper(Helper::trace_row, [None, None, None, None], index as i64 | ((ri as i64) << 32));
        }
        if d.output_record.is_some() {
            let t = self.temp();
            self.helper(Helper::alloc, [None, None, None, Some(t)], row.outputs.len() as i64);
            let p = self.word0(t);
            for (i, o) in row.outputs.iter().enumerate() {
                let fp = self.b.ins().iadd_imm_s(p, (i * CELL) as i64);
                self.expr(o, fp)?;
            }
            self.store_words(dst, p, None);
        } else if let Some(o) = row.outputs.first() {
            self.expr(o, dst)?;
        } else {
            self.store_none(dst);
        }
        Ok(())
    }
}

/// How a decision table becomes an index lookup: every input column is an
/// enum or a Bool (optional or not) tested only by `-` and value lists, the
/// hit policy is `first` or `unique`, and the product of the columns' value
/// counts is small. Codes: an enum's variant index, a Bool's 0/1, then
/// `none` last for an optional column.
struct IndexPlan {
    sizes: Vec<u32>,
    optional: Vec<bool>,
    /// Per combination (the first column most significant): 0 for no row,
    /// `r + 1` for row `r`, `rows + 1 + k` for conflict `k`.
    entries: Vec<u32>,
    /// Under `hit unique`, the first two rows that both match.
    conflicts: Vec<(u32, u32)>,
}

/// Whether an equality cell (`-` or a value list) holds for the value of
/// code `code` of a column with `n` codes (`none` the last when `optional`).
fn cell_matches(cell: &CellTest, code: u32, n: u32, optional: bool) -> bool {
    let is_none = optional && code == n - 1;
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

/// The number of codes of an enum or Bool column (with `none` when
/// optional), if every row tests it by equality only.
fn index_column(pkg: &ir::Package, d: &ir::DecisionDef, pos: usize) -> Option<(u32, u32, bool)> {
    let col = *d.columns.get(pos)?;
    let (_, ty) = d.params.get(col as usize)?;
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
    equality.then_some((col, n + u32::from(ty.is_optional()), ty.is_optional()))
}

/// Index on some columns, scan on the others (see [`Fn::mixed`]): the
/// enum and Bool columns tested by equality only are indexed (while the
/// product of their codes stays within [`MAX_INDEX`]); at least one other
/// column must remain, or [`IndexPlan`] applies.
struct MixedPlan {
    /// The indexed columns: (parameter, count of codes, optional).
    cols: Vec<(u32, u32, bool)>,
    /// Per column of the table, whether it is indexed (its test is known).
    skip: Vec<bool>,
    /// Per combination of the indexed columns' codes: which list.
    entries: Vec<u32>,
    /// The distinct lists of rows that can match, in row order.
    lists: Vec<Vec<usize>>,
}

/// The most row tests the lists of a [`MixedPlan`] may hold in all.
const MAX_MIXED_TESTS: usize = 2048;

impl MixedPlan {
    fn of(pkg: &ir::Package, d: &ir::DecisionDef) -> Option<MixedPlan> {
        if !matches!(d.hit, Hit::First | Hit::Unique) || d.rows.is_empty() {
            return None;
        }
        // A row's cells are tested left to right and the first that fails
        // ends its test (§5), so a cell right of it raises no fault. The
        // only tests that can fault are ordered ones on Money (two
        // currencies): a row may be skipped on an indexed column only if
        // that column comes before every such cell.
        let faulting = (0..d.columns.len())
            .find(|&pos| {
                let money = d
                    .columns
                    .get(pos)
                    .and_then(|c| d.params.get(*c as usize))
                    .is_some_and(|(_, t)| matches!(t.strip(), Ty::Money));
                money
                    && d.rows.iter().any(|r| matches!(r.cells.get(pos), Some(CellTest::Cmp { .. } | CellTest::Range { .. })))
            })
            .unwrap_or(d.columns.len());
        let mut cols = Vec::new();
        let mut skip = Vec::new();
        let mut total = 1usize;
        for pos in 0..d.columns.len() {
            match index_column(pkg, d, pos).filter(|_| pos < faulting) {
                Some(c) if total.saturating_mul(c.1 as usize) <= MAX_INDEX => {
                    total *= c.1 as usize;
                    cols.push((pos, c));
                    skip.push(true);
                }
                _ => skip.push(false),
            }
        }
        if cols.is_empty() || skip.iter().all(|s| *s) {
            return None;
        }
        let mut entries = Vec::with_capacity(total);
        let mut lists: Vec<Vec<usize>> = Vec::new();
        let mut seen: HashMap<Vec<usize>, u32> = HashMap::new();
        let mut codes = vec![0u32; cols.len()];
        let mut tests = 0usize;
        for _ in 0..total {
            let rows: Vec<usize> = (0..d.rows.len())
                .filter(|r| {
                    let row = d.rows.get(*r);
                    cols.iter().zip(codes.iter()).all(|(&(pos, (_, n, opt)), &code)| {
                        row.and_then(|row| row.cells.get(pos)).is_none_or(|cell| cell_matches(cell, code, n, opt))
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
            for (c, (_, (_, n, _))) in codes.iter_mut().zip(cols.iter()).rev() {
                *c += 1;
                if *c < *n {
                    break;
                }
                *c = 0;
            }
        }
        Some(MixedPlan { cols: cols.into_iter().map(|(_, c)| c).collect(), skip, entries, lists })
    }
}

/// The largest index a decision gets (entries of 4 bytes).
const MAX_INDEX: usize = 4096;

impl IndexPlan {
    fn of(pkg: &ir::Package, d: &ir::DecisionDef) -> Option<IndexPlan> {
        if !matches!(d.hit, Hit::First | Hit::Unique) || d.columns.is_empty() || d.rows.len() >= 1 << 20 {
            return None;
        }
        let mut sizes = Vec::new();
        let mut optional = Vec::new();
        let mut total = 1usize;
        for pos in 0..d.columns.len() {
            let (_, n, opt) = index_column(pkg, d, pos)?;
            total = total.checked_mul(n as usize).filter(|t| *t <= MAX_INDEX)?;
            sizes.push(n);
            optional.push(opt);
        }
        let mut entries = Vec::with_capacity(total);
        let mut conflicts = Vec::new();
        let mut codes = vec![0u32; sizes.len()];
        for _ in 0..total {
            let matches = |row: &ir::DecisionRow| {
                row.cells
                    .iter()
                    .zip(codes.iter().zip(sizes.iter().zip(optional.iter())))
                    .all(|(cell, (&code, (&n, &opt)))| cell_matches(cell, code, n, opt))
            };
            let mut hits = d.rows.iter().enumerate().filter(|(_, r)| matches(r)).map(|(i, _)| i as u32);
            let entry = match (hits.next(), d.hit) {
                (None, _) => 0,
                (Some(r), Hit::First) => r + 1,
                (Some(r), _) => match hits.next() {
                    None => r + 1,
                    Some(s) => {
                        let k = match conflicts.iter().position(|c| *c == (r, s)) {
                            Some(k) => k,
                            None => {
                                conflicts.push((r, s));
                                conflicts.len() - 1
                            }
                        };
                        d.rows.len() as u32 + 1 + k as u32
                    }
                },
            };
            entries.push(entry);
            // The next combination, the last column fastest.
            for (c, n) in codes.iter_mut().zip(sizes.iter()).rev() {
                *c += 1;
                if *c < *n {
                    break;
                }
                *c = 0;
            }
        }
        Some(IndexPlan { sizes, optional, entries, conflicts })
    }
}
