//! Decision tables: index lookups, scans of the rows, hit policies.

use canon_compiler::ir::{self, CellTest, CmpOp, CollectAgg, Const, Hit};
use canon_compiler::types::OrdKind;
use canon_compiler::types::Ty;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder};
use cranelift_codegen::ir::{Block, Value as CValue};

use crate::cell::CELL;
use crate::plan::{IndexPlan, IndexedColumn, MixedPlan};
use crate::rt::{helpers, CellCount, DecisionIndex, MatchedRow};
use canon_compiler::ir::ExprKind;

use super::cells::flags;
use super::lowering::{RowLocs, SharedOutputs};
use super::{BodyLowering, Unsupported, PTR};

impl BodyLowering<'_, '_, '_> {
    // ------------------------------------------------------------ decisions

    pub(super) fn decision(&mut self, index: usize, d: &ir::DecisionDef) -> Result<(), Unsupported> {
        self.params = d.params.len() as u32;
        let dst = self.result_or_meta;
        if d.rows.len() >= self.lowering.shared.decisions.min_rows() {
            return self.large(index, d, dst);
        }
        if let Some(index_plan) = IndexPlan::of(&self.lowering.shared.pkg, d) {
            // Columns that allow it (enums and Bools, with equality cells)
            // are looked up, not scanned; an out-of-range value (never
            // produced by the decoder) falls back to the scan below.
            let scan = self.builder.create_block();
            self.indexed(index, d, &index_plan, dst, scan)?;
            self.builder.switch_to_block(scan);
        } else if let Some(plan) = MixedPlan::of(&self.lowering.shared.pkg, d) {
            // Some columns are enums or Bools: they pick the rows that can
            // match, and only those are scanned, on the other columns.
            let scan = self.builder.create_block();
            self.mixed(index, d, &plan, dst, scan)?;
            self.builder.switch_to_block(scan);
        }
        let all: Vec<usize> = (0..d.rows.len()).collect();
        match d.hit {
            Hit::First | Hit::Unique => self.scan(index, d, &all, &[], dst)?,
            Hit::Any => self.scan_any(index, d, dst)?,
            Hit::CollectAgg(agg) => self.collect_agg(index, d, agg, dst)?,
            Hit::Collect => {
                let t = self.temp();
                self.call_to_cell(helpers::alloc, t, CellCount(d.rows.len()));
                let base = self.word0(t);
                let n = self.builder.declare_var(types::I64);
                let z = self.builder.ins().iconst(types::I64, 0);
                self.builder.def_var(n, z);
                for (ri, row) in d.rows.iter().enumerate() {
                    let next = self.builder.create_block();
                    self.row_test(d, row, &[], next)?;
                    let nv = self.builder.use_var(n);
                    let off = self.builder.ins().imul_imm_s(nv, CELL as i64);
                    let slot = self.builder.ins().iadd(base, off);
                    self.row_output(index, d, ri, row, slot)?;
                    let nv = self.builder.use_var(n);
                    let n1 = self.builder.ins().iadd_imm_s(nv, 1);
                    self.builder.def_var(n, n1);
                    self.builder.ins().jump(next, &[]);
                    self.builder.switch_to_block(next);
                }
                let nv = self.builder.use_var(n);
                self.store_words(dst, base, Some(nv));
                self.ret(0);
            }
        }
        Ok(())
    }

    /// A large table: no code per row test. `decision_next` finds each
    /// matching row through the table's index (the interpreter's reading,
    /// shared), and the outputs come from a table of constant cells by row,
    /// or, for a row whose outputs are not all constants, from its output
    /// function (`lowering::DecisionOutputs`).
    fn large(&mut self, index: usize, d: &ir::DecisionDef, dst: CValue) -> Result<(), Unsupported> {
        let di = DecisionIndex(index as u32);
        let outputs = self.large_outputs(d);
        let zero = self.builder.ins().iconst(types::I64, 0);
        match d.hit {
            Hit::First | Hit::Unique | Hit::Any => {
                // The first matching row, or no row.
                let r = self.next_row(di, zero);
                let miss = self.builder.create_block();
                let hit = self.builder.create_block();
                let none = self.builder.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
                self.builder.ins().brif(none, miss, &[], hit, &[]);
                self.builder.switch_to_block(hit);
                match d.hit {
                    Hit::Unique => {
                        // A second matching row is a conflict.
                        let after = self.builder.ins().iadd_imm_s(r, 1);
                        let s = self.next_row(di, after);
                        let conflict = self.builder.create_block();
                        let single = self.builder.create_block();
                        self.builder.set_cold_block(conflict);
                        let two = self.builder.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, s, 0);
                        self.builder.ins().brif(two, conflict, &[], single, &[]);
                        self.builder.switch_to_block(conflict);
                        self.conflict(di, r, s);
                        self.builder.switch_to_block(single);
                        self.large_output(index, &outputs, r, dst)?;
                    }
                    Hit::Any => {
                        // Every later matching row must give the first's output.
                        let out_ty = match d.output_record {
                            Some(r) => Ty::Record(r),
                            None => d.ret.strip().clone(),
                        };
                        self.large_output(index, &outputs, r, dst)?;
                        let from = self.builder.declare_var(types::I64);
                        self.builder.def_var(from, r);
                        let head = self.builder.create_block();
                        self.builder.ins().jump(head, &[]);
                        self.builder.switch_to_block(head);
                        let f = self.builder.use_var(from);
                        let after = self.builder.ins().iadd_imm_s(f, 1);
                        let s = self.next_row(di, after);
                        let done = self.builder.create_block();
                        let more = self.builder.create_block();
                        let end = self.builder.ins().icmp_imm_s(IntCC::SignedLessThan, s, 0);
                        self.builder.ins().brif(end, done, &[], more, &[]);
                        self.builder.switch_to_block(more);
                        let t = self.temp();
                        self.large_output(index, &outputs, s, t)?;
                        let same = self.equal(dst, t, &out_ty, d.loc)?;
                        let conflict = self.builder.create_block();
                        let next = self.builder.create_block();
                        self.builder.set_cold_block(conflict);
                        self.builder.ins().brif(same, next, &[], conflict, &[]);
                        self.builder.switch_to_block(conflict);
                        self.conflict(di, r, s);
                        self.builder.switch_to_block(next);
                        self.builder.def_var(from, s);
                        self.builder.ins().jump(head, &[]);
                        self.builder.switch_to_block(done);
                    }
                    _ => self.large_output(index, &outputs, r, dst)?,
                }
                self.ret(0);
                self.builder.switch_to_block(miss);
                self.no_row(index, d, dst)?;
            }
            Hit::Collect | Hit::CollectAgg(_) => {
                // `collect`: a list with room for every candidate the index leaves.
                let mut list = None;
                if d.hit == Hit::Collect {
                    let args = self.local(0);
                    let n = self.temp();
                    let status = self.call_one_to_cell(helpers::decision_bound, args, n, di);
                    self.propagate(status);
                    let cells = self.temp();
                    self.call_one_to_cell(helpers::alloc_cells, n, cells, ());
                    list = Some(self.word0(cells));
                } else if let Hit::CollectAgg(agg) = d.hit {
                    match (agg, d.ret.strip()) {
                        (CollectAgg::Count, _) | (CollectAgg::Sum, Ty::Int) => self.store_words(dst, zero, None),
                        (CollectAgg::Sum, Ty::Decimal) => {
                            let zero = crate::cell::Cell::from_decimal(canon_stdlib::functions::sum::decimal_zero());
                            self.store_const_cell(&zero, dst);
                        }
                        _ => self.store_none(dst),
                    }
                }
                let from = self.builder.declare_var(types::I64);
                let count = self.builder.declare_var(types::I64);
                self.builder.def_var(from, zero);
                self.builder.def_var(count, zero);
                let head = self.builder.create_block();
                self.builder.ins().jump(head, &[]);
                self.builder.switch_to_block(head);
                let f = self.builder.use_var(from);
                let s = self.next_row(di, f);
                let done = self.builder.create_block();
                let more = self.builder.create_block();
                let end = self.builder.ins().icmp_imm_s(IntCC::SignedLessThan, s, 0);
                self.builder.ins().brif(end, done, &[], more, &[]);
                self.builder.switch_to_block(more);
                let k = self.builder.use_var(count);
                match list {
                    Some(base) => {
                        let off = self.builder.ins().imul_imm_s(k, CELL as i64);
                        let slot = self.builder.ins().iadd(base, off);
                        self.large_output(index, &outputs, s, slot)?;
                    }
                    None => {
                        let x = self.temp();
                        self.large_output(index, &outputs, s, x)?;
                        let rc = self.temp();
                        self.store_words(rc, s, None);
                        let status =
                            self.call_args_to_cell(helpers::decision_agg, [Some(dst), Some(x), Some(rc)], dst, di);
                        self.propagate(status);
                    }
                }
                let k1 = self.builder.ins().iadd_imm_s(k, 1);
                self.builder.def_var(count, k1);
                let s1 = self.builder.ins().iadd_imm_s(s, 1);
                self.builder.def_var(from, s1);
                self.builder.ins().jump(head, &[]);
                self.builder.switch_to_block(done);
                if let Some(base) = list {
                    let k = self.builder.use_var(count);
                    self.store_words(dst, base, Some(k));
                }
                self.ret(0);
            }
        }
        Ok(())
    }

    /// A chunk of a large decision's computed outputs: the row given in the
    /// fourth argument (in `rows`, where its slot in `slot_table` says)
    /// writes its output to the result cell.
    pub(super) fn decision_outputs(
        &mut self,
        index: usize,
        d: &ir::DecisionDef,
        rows: &[usize],
        slot_table: usize,
    ) -> Result<(), Unsupported> {
        self.output_prologue(d);
        let dst = self.result_or_meta;
        let r = self.site;
        let slot = self.row_entry(slot_table, r);
        let done = self.builder.create_block();
        let blocks: Vec<Block> = rows.iter().map(|_| self.builder.create_block()).collect();
        let done_call = self.builder.func.dfg.block_call(done, &[]);
        let targets: Vec<_> = blocks.iter().map(|b| self.builder.func.dfg.block_call(*b, &[])).collect();
        let jt = self.builder.create_jump_table(cranelift_codegen::ir::JumpTableData::new(done_call, &targets));
        self.builder.ins().br_table(slot, jt);
        for (ri, blk) in rows.iter().zip(blocks) {
            self.builder.switch_to_block(blk);
            if let Some(row) = d.rows.get(*ri) {
                self.row_output(index, d, *ri, row, dst)?;
            }
            self.ret(0);
        }
        self.builder.switch_to_block(done);
        self.ret(0);
        Ok(())
    }

    /// The outputs of the rows of one shape (`shared`): the row given in the
    /// fourth argument reads its constants that differ (into the locals the
    /// template reads) and its locations from its row of `shared.table`
    /// (its slot in `slot_table` says which).
    pub(super) fn decision_shared(
        &mut self,
        index: usize,
        d: &ir::DecisionDef,
        shared: &SharedOutputs,
        slot_table: usize,
    ) -> Result<(), Unsupported> {
        self.output_prologue(d);
        let dst = self.result_or_meta;
        let r = self.site;
        let slot = self.row_entry(slot_table, r);
        let slot = self.builder.ins().uextend(types::I64, slot);
        let off = self.builder.ins().imul_imm_s(slot, (shared.stride * CELL) as i64);
        let base = self.builder.ins().iconst(PTR, shared.table as i64);
        let row = self.builder.ins().iadd(base, off);
        for k in 0..shared.holes {
            let src = self.builder.ins().iadd_imm_s(row, (k * CELL) as i64);
            let local = self.local(shared.first_hole + k as u32);
            self.copy_cell(src, local);
        }
        self.row_locs = Some(RowLocs { row, offsets: shared.locs.clone() });
        if self.lowering.shared.traced {
            let rc = self.temp();
            self.store_words(rc, r, None);
            self.call_takes_one(helpers::trace_row_at, rc, DecisionIndex(index as u32));
        }
        let done = self.outputs(d, &shared.template, dst);
        self.row_locs = None;
        done?;
        self.ret(0);
        Ok(())
    }

    /// An output function's parameters into the decision's locals.
    fn output_prologue(&mut self, d: &ir::DecisionDef) {
        self.params = d.params.len() as u32;
    }

    /// The `u32` of row `r` in a table by row kept in the store (an i32).
    fn row_entry(&mut self, table: usize, r: CValue) -> CValue {
        let base = self.builder.ins().iconst(PTR, table as i64);
        let off = self.builder.ins().ishl_imm_u(r, 2);
        let at = self.builder.ins().iadd(base, off);
        self.builder.ins().load(types::I32, flags(), at, 0)
    }

    /// `decision_next` from row `from`: the matching row, or -1 (a fault returns).
    fn next_row(&mut self, di: DecisionIndex, from: CValue) -> CValue {
        let args = self.local(0);
        let fc = self.temp();
        self.store_words(fc, from, None);
        let out = self.temp();
        let status = self.call_two_to_cell(helpers::decision_next, args, fc, out, di);
        self.propagate(status);
        self.word0(out)
    }

    /// Reports the conflict of rows `r` and `s` and returns the fault.
    fn conflict(&mut self, di: DecisionIndex, r: CValue, s: CValue) {
        let a = self.temp();
        self.store_words(a, r, None);
        let b = self.temp();
        self.store_words(b, s, None);
        let c = self.temp();
        let site = self.site;
        self.store_words(c, site, None);
        self.call_takes_three(helpers::decision_conflict, [a, b, c], di);
        self.ret(2);
    }

    /// The rows' outputs as constant cells (one per row: the value, or a
    /// record of constants), kept in the store: its address. A row whose
    /// outputs are not all constants has a none cell, unused: its output
    /// comes from its output function (`Compiled::outputs`).
    fn large_outputs(&mut self, d: &ir::DecisionDef) -> LargeOutputs {
        let pkg = self.lowering.shared.pkg.clone();
        let out_ty = match d.output_record {
            Some(r) => Ty::Record(r),
            None => d.ret.clone(),
        };
        let mut cells = Vec::with_capacity(d.rows.len());
        for row in &d.rows {
            match constant_output(&pkg, d, row) {
                Some(v) => cells.push(self.lowering.shared.store.cell_of(&pkg, &out_ty, &v)),
                None => cells.push(crate::cell::Cell::none()),
            }
        }
        let table = self.lowering.shared.store.keep_cells(cells);
        LargeOutputs { table }
    }

    /// Writes the output of row `r` (a run-time row index) to `dst`.
    fn large_output(
        &mut self,
        index: usize,
        outputs: &LargeOutputs,
        r: CValue,
        dst: CValue,
    ) -> Result<(), Unsupported> {
        let join = self.builder.create_block();
        let constant = self.builder.create_block();
        let outs = self.lowering.compiled.outputs.get(&index).cloned().unwrap_or_default();
        if outs.funcs.is_empty() {
            self.builder.ins().jump(constant, &[]);
        } else {
            // A computed row's output comes from its function (the table by
            // row says which), given the parameter cells, the result cell
            // and the row.
            let f = self.row_entry(outs.func_table, r);
            let blocks: Vec<Block> = outs.funcs.iter().map(|_| self.builder.create_block()).collect();
            let const_call = self.builder.func.dfg.block_call(constant, &[]);
            let mut targets = vec![const_call];
            targets.extend(blocks.iter().map(|b| self.builder.func.dfg.block_call(*b, &[])));
            let jt = self.builder.create_jump_table(cranelift_codegen::ir::JumpTableData::new(const_call, &targets));
            self.builder.ins().br_table(f, jt);
            for (id, blk) in outs.funcs.iter().zip(blocks) {
                self.builder.switch_to_block(blk);
                let fr = self.func_ref(*id);
                let args = self.local(0);
                let call = self.builder.ins().call(fr, &[self.ctx, args, dst, r]);
                let z = self.builder.ins().iconst(types::I32, 0);
                let st = self.builder.inst_results(call).first().copied().unwrap_or(z);
                self.propagate(st);
                self.builder.ins().jump(join, &[]);
            }
        }
        self.builder.switch_to_block(constant);
        if self.lowering.shared.traced {
            let rc = self.temp();
            self.store_words(rc, r, None);
            self.call_takes_one(helpers::trace_row_at, rc, DecisionIndex(index as u32));
        }
        let base = self.builder.ins().iconst(PTR, outputs.table as i64);
        let off = self.builder.ins().imul_imm_s(r, CELL as i64);
        let at = self.builder.ins().iadd(base, off);
        self.copy_cell(at, dst);
        self.builder.ins().jump(join, &[]);
        self.builder.switch_to_block(join);
        Ok(())
    }

    /// `hit any`: the first matching row's output, compared with the output
    /// of every later matching row (a difference is a conflict).
    fn scan_any(&mut self, index: usize, d: &ir::DecisionDef, dst: CValue) -> Result<(), Unsupported> {
        let out_ty = match d.output_record {
            Some(r) => Ty::Record(r),
            None => d.ret.strip().clone(),
        };
        let found = self.builder.declare_var(types::I64);
        let m1 = self.builder.ins().iconst(types::I64, -1);
        self.builder.def_var(found, m1);
        for (ri, row) in d.rows.iter().enumerate() {
            let next = self.builder.create_block();
            self.row_test(d, row, &[], next)?;
            let prev = self.builder.use_var(found);
            let later = self.builder.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, prev, 0);
            let first = self.builder.create_block();
            let other = self.builder.create_block();
            self.builder.ins().brif(later, other, &[], first, &[]);
            self.builder.switch_to_block(first);
            self.row_output(index, d, ri, row, dst)?;
            let riv = self.builder.ins().iconst(types::I64, ri as i64);
            self.builder.def_var(found, riv);
            self.builder.ins().jump(next, &[]);
            self.builder.switch_to_block(other);
            let t = self.temp();
            self.row_output(index, d, ri, row, t)?;
            let same = self.equal(dst, t, &out_ty, row.loc)?;
            let conflict = self.builder.create_block();
            self.builder.set_cold_block(conflict);
            self.builder.ins().brif(same, next, &[], conflict, &[]);
            self.builder.switch_to_block(conflict);
            let a = self.temp();
            let prev = self.builder.use_var(found);
            self.store_words(a, prev, None);
            let bcell = self.temp();
            let riv = self.builder.ins().iconst(types::I64, ri as i64);
            self.store_words(bcell, riv, None);
            let c = self.temp();
            let site = self.site;
            self.store_words(c, site, None);
            self.call_takes_three(helpers::decision_conflict, [a, bcell, c], DecisionIndex(index as u32));
            self.ret(2);
            self.builder.switch_to_block(next);
        }
        let f = self.builder.use_var(found);
        let none = self.builder.ins().icmp_imm_s(IntCC::SignedLessThan, f, 0);
        let miss = self.builder.create_block();
        let hit = self.builder.create_block();
        self.builder.ins().brif(none, miss, &[], hit, &[]);
        self.builder.switch_to_block(hit);
        self.ret(0);
        self.builder.switch_to_block(miss);
        self.no_row(index, d, dst)?;
        Ok(())
    }

    /// `collect sum`, `count`, `min`, `max`: the matching rows' outputs,
    /// accumulated in `dst` as the interpreter does (faults at the row).
    fn collect_agg(
        &mut self,
        index: usize,
        d: &ir::DecisionDef,
        agg: CollectAgg,
        dst: CValue,
    ) -> Result<(), Unsupported> {
        let out = d.ret.strip().clone();
        match (agg, &out) {
            (CollectAgg::Count, _) | (CollectAgg::Sum, Ty::Int) => {
                let z = self.builder.ins().iconst(types::I64, 0);
                self.store_words(dst, z, None);
            }
            (CollectAgg::Sum, Ty::Decimal) => {
                let zero = crate::cell::Cell::from_decimal(canon_stdlib::functions::sum::decimal_zero());
                self.store_const_cell(&zero, dst);
            }
            _ => self.store_none(dst),
        }
        let x = self.temp();
        for (ri, row) in d.rows.iter().enumerate() {
            let next = self.builder.create_block();
            self.row_test(d, row, &[], next)?;
            self.row_output(index, d, ri, row, x)?;
            match (agg, &out) {
                (CollectAgg::Count, _) => {
                    let acc = self.word0(dst);
                    let r = self.builder.ins().iadd_imm_s(acc, 1);
                    self.store_words(dst, r, None);
                }
                (CollectAgg::Sum, Ty::Int) => {
                    let acc = self.word0(dst);
                    let v = self.word0(x);
                    let (r, of) = self.builder.ins().sadd_overflow(acc, v);
                    self.int_overflow_check(of, row.loc);
                    self.store_words(dst, r, None);
                }
                (CollectAgg::Sum, Ty::Decimal) => {
                    let status = self.call_two_to_cell(helpers::dec_add, dst, x, dst, ());
                    self.check_status(status, row.loc);
                }
                _ => {
                    let tag = self.tag(dst);
                    let have = self.builder.create_block();
                    let take = self.builder.create_block();
                    self.builder.ins().brif(tag, have, &[], take, &[]);
                    self.builder.switch_to_block(have);
                    if agg == CollectAgg::Sum {
                        let status = self.call_two_to_cell(helpers::money_sum_add, dst, x, dst, ());
                        self.check_status(status, row.loc);
                        self.builder.ins().jump(next, &[]);
                    } else {
                        let op = if agg == CollectAgg::Min { CmpOp::Lt } else { CmpOp::Gt };
                        let kind = out.ord_kind().unwrap_or(OrdKind::Int);
                        // A later value replaces the kept one only when strictly beyond it.
                        let beyond = self.compare(op, kind, x, dst, row.loc)?;
                        self.builder.ins().brif(beyond, take, &[], next, &[]);
                    }
                    self.builder.switch_to_block(take);
                    self.copy_cell(x, dst);
                }
            }
            self.builder.ins().jump(next, &[]);
            self.builder.switch_to_block(next);
        }
        self.ret(0);
        Ok(())
    }

    /// Scans `rows` (indices into `d.rows`, in order) under `hit first` or
    /// `hit unique`, testing every column except those `skip` marks (already
    /// known to match), then writes the result or the fault.
    pub(super) fn scan(
        &mut self,
        index: usize,
        d: &ir::DecisionDef,
        rows: &[usize],
        skip: &[bool],
        dst: CValue,
    ) -> Result<(), Unsupported> {
        match d.hit {
            Hit::First => {
                for (ri, row) in rows.iter().filter_map(|r| d.rows.get(*r).map(|row| (*r, row))) {
                    let next = self.builder.create_block();
                    self.row_test(d, row, skip, next)?;
                    self.row_output(index, d, ri, row, dst)?;
                    self.ret(0);
                    self.builder.switch_to_block(next);
                }
                self.no_row(index, d, dst)?;
            }
            _ => {
                let found = self.builder.declare_var(types::I64);
                let m1 = self.builder.ins().iconst(types::I64, -1);
                self.builder.def_var(found, m1);
                for (ri, row) in rows.iter().filter_map(|r| d.rows.get(*r).map(|row| (*r, row))) {
                    let next = self.builder.create_block();
                    self.row_test(d, row, skip, next)?;
                    let prev = self.builder.use_var(found);
                    let dup = self.builder.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, prev, 0);
                    let conflict = self.builder.create_block();
                    let record = self.builder.create_block();
                    self.builder.set_cold_block(conflict);
                    self.builder.ins().brif(dup, conflict, &[], record, &[]);
                    self.builder.switch_to_block(conflict);
                    let a = self.temp();
                    self.store_words(a, prev, None);
                    let bcell = self.temp();
                    let riv = self.builder.ins().iconst(types::I64, ri as i64);
                    self.store_words(bcell, riv, None);
                    let c = self.temp();
                    let site = self.site;
                    self.store_words(c, site, None);
                    self.call_takes_three(helpers::decision_conflict, [a, bcell, c], DecisionIndex(index as u32));
                    self.ret(2);
                    self.builder.switch_to_block(record);
                    let riv = self.builder.ins().iconst(types::I64, ri as i64);
                    self.builder.def_var(found, riv);
                    self.builder.ins().jump(next, &[]);
                    self.builder.switch_to_block(next);
                }
                for (ri, row) in rows.iter().filter_map(|r| d.rows.get(*r).map(|row| (*r, row))) {
                    let f = self.builder.use_var(found);
                    let is = self.builder.ins().icmp_imm_s(IntCC::Equal, f, ri as i64);
                    let yes = self.builder.create_block();
                    let no = self.builder.create_block();
                    self.builder.ins().brif(is, yes, &[], no, &[]);
                    self.builder.switch_to_block(yes);
                    self.row_output(index, d, ri, row, dst)?;
                    self.ret(0);
                    self.builder.switch_to_block(no);
                }
                self.no_row(index, d, dst)?;
            }
        }
        Ok(())
    }

    /// The entry of a decision's index for the values of the columns `cols`
    /// (the first most significant): a u32 loaded from `table`. A value out
    /// of range jumps to `scan`.
    fn entry(&mut self, d: &ir::DecisionDef, cols: &[IndexedColumn], table: usize, scan: Block) -> CValue {
        let mut idx = self.builder.ins().iconst(types::I64, 0);
        for &IndexedColumn { param: col, codes: size, optional } in cols {
            let v = self.local(col);
            let is_bool = d.params.get(col as usize).is_some_and(|(_, t)| matches!(t.strip(), Ty::Bool));
            let raw = self.load(if is_bool { types::I8 } else { types::I32 }, v, 0);
            let raw = self.builder.ins().uextend(types::I64, raw);
            let code = if optional {
                // `none` is the last code of an optional column.
                let tag = self.tag(v);
                let none = self.builder.ins().iconst(types::I64, i64::from(size - 1));
                self.builder.ins().select(tag, raw, none)
            } else {
                raw
            };
            let out = self.builder.ins().icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, code, i64::from(size));
            let ok = self.builder.create_block();
            self.builder.set_cold_block(scan);
            self.builder.ins().brif(out, scan, &[], ok, &[]);
            self.builder.switch_to_block(ok);
            let scaled = self.builder.ins().imul_imm_s(idx, i64::from(size));
            idx = self.builder.ins().iadd(scaled, code);
        }
        let base = self.builder.ins().iconst(PTR, table as i64);
        let off = self.builder.ins().ishl_imm_u(idx, 2);
        let at = self.builder.ins().iadd(base, off);
        self.builder.ins().load(types::I32, flags(), at, 0)
    }

    /// A decision with some enum or Bool columns: their values pick, through
    /// an index computed at compile time, the list of rows that can match,
    /// and only those are scanned, on the other columns.
    fn mixed(
        &mut self,
        index: usize,
        d: &ir::DecisionDef,
        plan: &MixedPlan,
        dst: CValue,
        scan: Block,
    ) -> Result<(), Unsupported> {
        let table = self.lowering.shared.store.keep_u32(plan.entries.clone());
        let entry = self.entry(d, &plan.columns, table, scan);
        let blocks: Vec<Block> = plan.lists.iter().map(|_| self.builder.create_block()).collect();
        let targets: Vec<_> = blocks.iter().map(|b| self.builder.func.dfg.block_call(*b, &[])).collect();
        let default = self.builder.func.dfg.block_call(scan, &[]);
        let jt = self.builder.create_jump_table(cranelift_codegen::ir::JumpTableData::new(default, &targets));
        self.builder.ins().br_table(entry, jt);
        for (rows, blk) in plan.lists.iter().zip(blocks) {
            self.builder.switch_to_block(blk);
            self.scan(index, d, rows, &plan.indexed, dst)?;
        }
        Ok(())
    }

    /// The lookup of a decision whose matching row depends only on a small
    /// product of enum and Bool values: the row (or conflict) for each
    /// combination is computed here, once; at run time, one load and a jump.
    fn indexed(
        &mut self,
        index: usize,
        d: &ir::DecisionDef,
        plan: &IndexPlan,
        dst: CValue,
        scan: Block,
    ) -> Result<(), Unsupported> {
        let table = self.lowering.shared.store.keep_u32(plan.entries.clone());
        let entry = self.entry(d, &plan.columns, table, scan);
        // Entry 0: no row; 1..=rows: that row; after: a conflict pair.
        let none_block = self.builder.create_block();
        let row_blocks: Vec<Block> = d.rows.iter().map(|_| self.builder.create_block()).collect();
        let conflict_blocks: Vec<Block> = plan.conflicts.iter().map(|_| self.builder.create_block()).collect();
        let mut targets = vec![self.builder.func.dfg.block_call(none_block, &[])];
        for blk in row_blocks.iter().chain(conflict_blocks.iter()) {
            targets.push(self.builder.func.dfg.block_call(*blk, &[]));
        }
        let default = self.builder.func.dfg.block_call(none_block, &[]);
        let jt = self.builder.create_jump_table(cranelift_codegen::ir::JumpTableData::new(default, &targets));
        self.builder.ins().br_table(entry, jt);
        for ((ri, row), blk) in d.rows.iter().enumerate().zip(row_blocks) {
            self.builder.switch_to_block(blk);
            self.row_output(index, d, ri, row, dst)?;
            self.ret(0);
        }
        for (conflict, blk) in plan.conflicts.iter().zip(conflict_blocks) {
            self.builder.switch_to_block(blk);
            self.builder.set_cold_block(blk);
            let ca = self.temp();
            let av = self.builder.ins().iconst(types::I64, i64::from(conflict.first_row));
            self.store_words(ca, av, None);
            let cb = self.temp();
            let bv = self.builder.ins().iconst(types::I64, i64::from(conflict.second_row));
            self.store_words(cb, bv, None);
            let c = self.temp();
            let site = self.site;
            self.store_words(c, site, None);
            self.call_takes_three(helpers::decision_conflict, [ca, cb, c], DecisionIndex(index as u32));
            self.ret(2);
        }
        self.builder.switch_to_block(none_block);
        self.no_row(index, d, dst)?;
        Ok(())
    }

    pub(super) fn no_row(&mut self, index: usize, d: &ir::DecisionDef, dst: CValue) -> Result<(), Unsupported> {
        if let Some(e) = &d.default {
            self.expr(e, dst)?;
            self.ret(0);
            return Ok(());
        }
        if d.ret.is_optional() {
            self.store_none(dst);
            self.ret(0);
        } else {
            let c = self.temp();
            let site = self.site;
            self.store_words(c, site, None);
            self.call_takes_one(helpers::decision_no_row, c, DecisionIndex(index as u32));
            self.ret(2);
        }
        Ok(())
    }

    /// Falls through when the row matches, else jumps to `next`.
    pub(super) fn row_test(
        &mut self,
        d: &ir::DecisionDef,
        row: &ir::DecisionRow,
        skip: &[bool],
        next: Block,
    ) -> Result<(), Unsupported> {
        for (i, (cell, col)) in row.cells.iter().zip(d.columns.iter()).enumerate() {
            if skip.get(i).copied().unwrap_or(false) {
                continue;
            }
            let ty = d.params.get(*col as usize).map(|(_, t)| t.clone()).unwrap_or(Ty::Error);
            let v = self.local(*col);
            self.cell_test(cell, v, &ty, row.loc, next)?;
        }
        Ok(())
    }

    /// Falls through when `cell` matches the value `v` (of type `ty`), else
    /// jumps to `next`; tests run left to right, as the interpreter's.
    fn cell_test(&mut self, cell: &CellTest, v: CValue, ty: &Ty, loc: ir::Loc, next: Block) -> Result<(), Unsupported> {
        let ok = match cell {
            CellTest::Any => return Ok(()),
            CellTest::In { values, negated } => {
                let mut acc = self.builder.ins().iconst(types::I8, 0);
                for c in values {
                    let cty = if matches!(c, Const::None) { Ty::NoneLit } else { ty.strip().clone() };
                    let t = self.const_operand(c, &cty);
                    let m = self.equal(v, t, ty, loc)?;
                    acc = self.builder.ins().bor(acc, m);
                }
                if *negated {
                    let one = self.builder.ins().iconst(types::I8, 1);
                    self.builder.ins().bxor(acc, one)
                } else {
                    acc
                }
            }
            CellTest::Cmp { op, value, kind } => {
                self.present_or(v, next);
                let t = self.const_operand(value, ty.strip());
                self.compare(*op, *kind, v, t, loc)?
            }
            CellTest::CmpParam { op, param, kind } => {
                self.present_or(v, next);
                let other = self.local(*param);
                self.present_or(other, next);
                self.compare(*op, *kind, v, other, loc)?
            }
            CellTest::Range { lo, lo_closed, hi, hi_closed, kind } => {
                self.present_or(v, next);
                let tl = self.const_operand(lo, ty.strip());
                let lop = if *lo_closed { CmpOp::Ge } else { CmpOp::Gt };
                let a = self.compare(lop, *kind, v, tl, loc)?;
                let mid = self.builder.create_block();
                self.builder.ins().brif(a, mid, &[], next, &[]);
                self.builder.switch_to_block(mid);
                let th = self.const_operand(hi, ty.strip());
                let hop = if *hi_closed { CmpOp::Le } else { CmpOp::Lt };
                self.compare(hop, *kind, v, th, loc)?
            }
            CellTest::AllOf(cs) => {
                for c in cs {
                    self.cell_test(c, v, ty, loc, next)?;
                }
                return Ok(());
            }
            CellTest::AnyOf(cs) => {
                let matched = self.builder.create_block();
                for (i, c) in cs.iter().enumerate() {
                    let fail = if i + 1 == cs.len() { next } else { self.builder.create_block() };
                    self.cell_test(c, v, ty, loc, fail)?;
                    self.builder.ins().jump(matched, &[]);
                    if fail != next {
                        self.builder.switch_to_block(fail);
                    }
                }
                if cs.is_empty() {
                    self.builder.ins().jump(next, &[]);
                }
                self.builder.switch_to_block(matched);
                return Ok(());
            }
        };
        let cont = self.builder.create_block();
        self.builder.ins().brif(ok, cont, &[], next, &[]);
        self.builder.switch_to_block(cont);
        Ok(())
    }

    /// Jumps to `next` when the cell is none (ordered tests never match none).
    pub(super) fn present_or(&mut self, v: CValue, next: Block) {
        let tag = self.tag(v);
        let cont = self.builder.create_block();
        self.builder.ins().brif(tag, cont, &[], next, &[]);
        self.builder.switch_to_block(cont);
    }

    pub(super) fn row_output(
        &mut self,
        index: usize,
        d: &ir::DecisionDef,
        ri: usize,
        row: &ir::DecisionRow,
        dst: CValue,
    ) -> Result<(), Unsupported> {
        if self.lowering.shared.traced {
            self.call_effect(helpers::trace_row, MatchedRow { decision: DecisionIndex(index as u32), row: ri as u32 });
        }
        self.outputs(d, &row.outputs, dst)
    }

    /// Writes a row's `outputs` to `dst`: the value, or a record of them.
    fn outputs(&mut self, d: &ir::DecisionDef, outputs: &[ir::Expr], dst: CValue) -> Result<(), Unsupported> {
        if d.output_record.is_some() {
            let t = self.temp();
            self.call_to_cell(helpers::alloc, t, CellCount(outputs.len()));
            let p = self.word0(t);
            for (i, o) in outputs.iter().enumerate() {
                let fp = self.builder.ins().iadd_imm_s(p, (i * CELL) as i64);
                self.expr(o, fp)?;
            }
            self.store_words(dst, p, None);
        } else if let Some(o) = outputs.first() {
            self.expr(o, dst)?;
        } else {
            self.store_none(dst);
        }
        Ok(())
    }
}

/// A large decision's outputs: constant cells by row.
pub(super) struct LargeOutputs {
    table: usize,
}

/// The output of a row of `d` when it is a constant (a record of constants
/// for a record output), as the interpreter would evaluate it.
pub(super) fn constant_output(
    pkg: &ir::Package,
    d: &ir::DecisionDef,
    row: &ir::DecisionRow,
) -> Option<canon_runtime::Value> {
    let consts: Option<Vec<canon_runtime::Value>> = row
        .outputs
        .iter()
        .map(|o| match &o.kind {
            ExprKind::Const(c) => Some(canon_runtime::interp::const_value(c)),
            _ => None,
        })
        .collect();
    let fields = d.output_record.and_then(|r| pkg.record(r)).map(|def| def.fields.len());
    match (consts, fields) {
        (Some(vs), Some(n)) if vs.len() == n => Some(canon_runtime::Value::Record(vs.into())),
        (Some(mut vs), None) if vs.len() == 1 => vs.pop(),
        _ => None,
    }
}
