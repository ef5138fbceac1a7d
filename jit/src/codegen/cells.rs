//! Cell and helper-call primitives: frames, temporaries, loads and stores,
//! calls to helpers and compiled bodies, fault exits.

use canon_compiler::ir::Loc;
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind};
use cranelift_codegen::ir::{Block, BlockArg, FuncRef, Value as CValue};
use cranelift_module::{FuncId, Module};

use crate::cell::{Cell, CELL, TAG};
use crate::rt::{
    helpers, ArgsToCell, Aux, Effect, Helper, OneToCell, TakesOne, TakesOptional, TakesThree, ToCell, TwoToCell,
};

use super::{BodyLowering, PTR};

pub(super) fn flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// The cell arguments of a helper call: `a`, `b`, `c` and `dst`, null when absent.
#[derive(Clone, Copy)]
struct HelperCells {
    a: Option<CValue>,
    b: Option<CValue>,
    c: Option<CValue>,
    dst: Option<CValue>,
}

impl HelperCells {
    const NONE: HelperCells = HelperCells { a: None, b: None, c: None, dst: None };
}

impl BodyLowering<'_, '_, '_> {
    // ------------------------------------------------------------ cells

    /// The cell of local `slot`: a parameter's is the caller's argument
    /// cell itself (read, never written: see [`BodyLowering::params`]).
    pub(super) fn local(&mut self, slot: u32) -> CValue {
        let base = if slot < self.params { self.inputs } else { self.frame };
        self.builder.ins().iadd_imm_s(base, i64::from(slot) * CELL as i64)
    }

    pub(super) fn temp(&mut self) -> CValue {
        let slot =
            self.builder.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, CELL as u32, 3));
        self.builder.ins().stack_addr(PTR, slot, 0)
    }

    pub(super) fn temps(&mut self, n: usize) -> CValue {
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (n.max(1) * CELL) as u32,
            3,
        ));
        self.builder.ins().stack_addr(PTR, slot, 0)
    }

    pub(super) fn load(&mut self, ty: types::Type, p: CValue, off: i32) -> CValue {
        self.builder.ins().load(ty, flags(), p, off)
    }

    pub(super) fn store(&mut self, v: CValue, p: CValue, off: i32) {
        self.builder.ins().store(flags(), v, p, off);
    }

    pub(super) fn copy_cell(&mut self, from: CValue, to: CValue) {
        for w in 0..4 {
            let v = self.load(types::I64, from, w * 8);
            self.store(v, to, w * 8);
        }
    }

    pub(super) fn store_none(&mut self, p: CValue) {
        let z = self.zero;
        for w in 0..4 {
            self.store(z, p, w * 8);
        }
    }

    /// Writes a whole cell from words (word 3 holds the tag).
    pub(super) fn store_words(&mut self, p: CValue, w0: CValue, w1: Option<CValue>) {
        let (z, one) = (self.zero, self.one);
        self.store(w0, p, 0);
        self.store(w1.unwrap_or(z), p, 8);
        self.store(z, p, 16);
        self.store(one, p, 24);
    }

    pub(super) fn store_const_cell(&mut self, c: &Cell, p: CValue) {
        for w in 0..4 {
            let v = self.builder.ins().iconst(types::I64, i64::from_le_bytes(c.word(w * 8)));
            self.store(v, p, (w * 8) as i32);
        }
    }

    pub(super) fn tag(&mut self, p: CValue) -> CValue {
        self.load(types::I8, p, TAG as i32)
    }

    pub(super) fn word0(&mut self, p: CValue) -> CValue {
        self.load(types::I64, p, 0)
    }

    // ------------------------------------------------------------ calls

    pub(super) fn func_ref(&mut self, id: FuncId) -> FuncRef {
        if let Some(r) = self.funcs.get(&id) {
            return *r;
        }
        let r = self.lowering.module.declare_func_in_func(id, self.builder.func);
        self.funcs.insert(id, r);
        r
    }

    /// Emits a call of a helper with its six arguments (absent cells are
    /// null); returns its status. Only the typed calls below use it.
    fn call_helper(&mut self, h: Helper, cells: HelperCells, aux: i64) -> CValue {
        let auxv = self.builder.ins().iconst(PTR, aux);
        self.call_helper_with(h, cells, auxv)
    }

    /// [`Self::call_helper`] with `aux` a value computed at run time.
    fn call_helper_with(&mut self, h: Helper, cells: HelperCells, auxv: CValue) -> CValue {
        let id = self.lowering.helpers.get(&h).copied();
        let z = self.zero;
        let HelperCells { a, b, c, dst } = cells;
        let call_args = [self.ctx, a.unwrap_or(z), b.unwrap_or(z), c.unwrap_or(z), dst.unwrap_or(z), auxv];
        let Some(id) = id else { return self.builder.ins().iconst(types::I32, 1) };
        let fr = self.func_ref(id);
        let call = self.builder.ins().call(fr, &call_args);
        self.builder.inst_results(call).first().copied().unwrap_or(z)
    }

    // The typed calls, one per shape of `rt::helpers!`: each returns the status.

    pub(super) fn call_to_cell<A: Aux>(&mut self, h: ToCell<A>, dst: CValue, aux: A) -> CValue {
        self.call_helper(h.helper(), HelperCells { dst: Some(dst), ..HelperCells::NONE }, aux.encode())
    }

    pub(super) fn call_one_to_cell<A: Aux>(&mut self, h: OneToCell<A>, a: CValue, dst: CValue, aux: A) -> CValue {
        self.call_helper(h.helper(), HelperCells { a: Some(a), dst: Some(dst), ..HelperCells::NONE }, aux.encode())
    }

    pub(super) fn call_two_to_cell<A: Aux>(
        &mut self,
        h: TwoToCell<A>,
        a: CValue,
        b: CValue,
        dst: CValue,
        aux: A,
    ) -> CValue {
        let cells = HelperCells { a: Some(a), b: Some(b), c: None, dst: Some(dst) };
        self.call_helper(h.helper(), cells, aux.encode())
    }

    pub(super) fn call_args_to_cell<A: Aux>(
        &mut self,
        h: ArgsToCell<A>,
        args: [Option<CValue>; 3],
        dst: CValue,
        aux: A,
    ) -> CValue {
        let [a, b, c] = args;
        self.call_helper(h.helper(), HelperCells { a, b, c, dst: Some(dst) }, aux.encode())
    }

    pub(super) fn call_effect<A: Aux>(&mut self, h: Effect<A>, aux: A) -> CValue {
        self.call_helper(h.helper(), HelperCells::NONE, aux.encode())
    }

    pub(super) fn call_takes_one<A: Aux>(&mut self, h: TakesOne<A>, a: CValue, aux: A) -> CValue {
        self.call_helper(h.helper(), HelperCells { a: Some(a), ..HelperCells::NONE }, aux.encode())
    }

    pub(super) fn call_takes_optional<A: Aux>(&mut self, h: TakesOptional<A>, a: Option<CValue>, aux: A) -> CValue {
        self.call_helper(h.helper(), HelperCells { a, ..HelperCells::NONE }, aux.encode())
    }

    pub(super) fn call_takes_three<A: Aux>(&mut self, h: TakesThree<A>, args: [CValue; 3], aux: A) -> CValue {
        let [a, b, c] = args;
        self.call_helper(h.helper(), HelperCells { a: Some(a), b: Some(b), c: Some(c), dst: None }, aux.encode())
    }

    /// The location index of `loc` as a value: in a function shared by the
    /// rows of a shape, the row's own, read from its table; else a constant.
    pub(super) fn loc_value(&mut self, loc: Loc) -> CValue {
        if let Some((row, off)) = self.row_locs.as_ref().and_then(|r| r.offsets.get(&loc).map(|o| (r.row, *o))) {
            return self.load(types::I64, row, off);
        }
        let at = self.lowering.loc_id(loc);
        self.builder.ins().iconst(PTR, at.encode())
    }

    /// Finalises the pending fault at `loc` (`fault_at`, its `LocIndex`
    /// computed by [`Self::loc_value`]).
    fn fault_at(&mut self, loc: Loc) {
        let at = self.loc_value(loc);
        self.call_helper_with(helpers::fault_at.helper(), HelperCells::NONE, at);
    }

    /// Branches to a cold block that finalises the pending fault at `loc` and returns 2.
    /// Every check of a body with its locations known at compile time
    /// branches to one such block, the location its argument (see [`Exits`]).
    pub(super) fn check_status(&mut self, status: CValue, loc: Loc) {
        self.fault_branch(status, loc, Exit::Fault);
    }

    /// When `cond`, the fault `kind` (`Fault` or `Int`) at `loc`.
    fn fault_branch(&mut self, cond: CValue, loc: Loc, kind: Exit) {
        let cont = self.builder.create_block();
        if self.row_locs.is_some() {
            // The location is read from the row at run time: a block of its own.
            let fault = self.builder.create_block();
            self.builder.set_cold_block(fault);
            self.builder.ins().brif(cond, fault, &[], cont, &[]);
            self.builder.switch_to_block(fault);
            if kind == Exit::Int {
                self.call_effect(helpers::fault_int, ());
            }
            self.fault_at(loc);
            self.ret(2);
        } else {
            let at = self.builder.ins().iconst(PTR, self.lowering.loc_id(loc).encode());
            let fault = self.exit(kind);
            self.builder.ins().brif(cond, fault, &[BlockArg::Value(at)], cont, &[]);
        }
        self.builder.switch_to_block(cont);
    }

    /// A call to compiled code: a non-zero status means the fault is already final.
    pub(super) fn propagate(&mut self, status: CValue) {
        let out = self.exit(Exit::Out);
        let cont = self.builder.create_block();
        self.builder.ins().brif(status, out, &[], cont, &[]);
        self.builder.switch_to_block(cont);
    }

    /// The body's shared exit `e`, made when first asked for; its code is
    /// written by [`Self::finish_exits`] once the body is lowered.
    fn exit(&mut self, e: Exit) -> Block {
        let i = e as usize;
        if let Some(Some(b)) = self.exits.blocks.get(i) {
            return *b;
        }
        let b = self.builder.create_block();
        self.builder.set_cold_block(b);
        if e != Exit::Out {
            self.builder.append_block_param(b, PTR);
        }
        if let Some(slot) = self.exits.blocks.get_mut(i) {
            *slot = Some(b);
        }
        b
    }

    /// Writes the code of the shared exits the body branched to: finalise
    /// the fault at the location passed (`Fault`), an integer overflow's
    /// first (`Int`), and return 2.
    pub(super) fn finish_exits(&mut self) {
        for (i, b) in self.exits.blocks.into_iter().enumerate() {
            let Some(b) = b else { continue };
            self.builder.switch_to_block(b);
            if i != Exit::Out as usize {
                let at = self.builder.block_params(b).first().copied();
                if i == Exit::Int as usize {
                    self.call_effect(helpers::fault_int, ());
                }
                if let Some(at) = at {
                    self.call_helper_with(helpers::fault_at.helper(), HelperCells::NONE, at);
                }
            }
            self.ret(2);
        }
    }

    pub(super) fn ret(&mut self, code: i64) {
        let v = self.builder.ins().iconst(types::I32, code);
        self.builder.ins().return_(&[v]);
    }

    pub(super) fn int_overflow_check(&mut self, of: CValue, loc: Loc) {
        self.fault_branch(of, loc, Exit::Int);
    }
}

/// The exits a body's checks share: one cold block each, rather than a
/// block with its own call and return per check (less code for Cranelift
/// to compile and for the instruction cache to hold).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Exit {
    /// Finalise the pending fault at the location passed, return 2.
    Fault = 0,
    /// An integer overflow at the location passed.
    Int = 1,
    /// The fault is final already (a called body's): return 2.
    Out = 2,
}

/// The blocks of the [`Exit`]s a body has used, by `Exit as usize`.
#[derive(Default)]
pub(super) struct Exits {
    blocks: [Option<Block>; 3],
}
