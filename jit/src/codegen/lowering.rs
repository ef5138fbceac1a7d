//! The entry of lowering: the package's bodies, each one's frame and blocks.

use std::collections::HashMap;

use canon_compiler::ir::{self, Loc};
use canon_compiler::types::Ty;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, StackSlotData, StackSlotKind};
use cranelift_codegen::ir::{FuncRef, Value as CValue};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};

use crate::cell::CELL;
use crate::rt::{Helper, LocIndex, Shared, StateSite, StateSiteIndex, TypeIndex};

use super::{Unsupported, PTR};

pub struct Compiled {
    pub handlers: Vec<FuncId>,
    pub functions: Vec<FuncId>,
    pub decisions: Vec<FuncId>,
    /// Per decision read through the runtime's index, the functions that
    /// compute its rows' non-constant outputs (see [`DecisionOutputs`]).
    pub outputs: HashMap<usize, DecisionOutputs>,
}

/// The functions that compute a large decision's non-constant outputs:
/// one per shape that several rows share (`decision{i}_shape{k}`, its
/// constants and locations read from a table by row), and for the other
/// rows, functions of [`OUTPUT_CHUNK`] rows with a block each
/// (`decision{i}_out{k}`): one huge body would cost Cranelift more than
/// linear time and memory. Each is called with the row in its fourth
/// argument; two tables of a `u32` per row (kept in the store) say which
/// function computes a row (0: none, a constant; else 1 + its index in
/// `funcs`) and the row's slot in it.
#[derive(Clone, Default)]
pub struct DecisionOutputs {
    pub funcs: Vec<FuncId>,
    pub func_table: usize,
    pub slot_table: usize,
}

/// How many computed rows of a large decision one output function holds.
pub const OUTPUT_CHUNK: usize = 128;

/// A function shared by the rows of one shape: the template of their
/// outputs (the constants that differ read from locals `first_hole..`),
/// and the table of each row's constant cells and location indices.
pub(super) struct SharedOutputs {
    pub template: Vec<ir::Expr>,
    pub first_hole: u32,
    pub holes: usize,
    /// Cells per row.
    pub stride: usize,
    pub table: usize,
    /// Where in a row of `table` the location of each of the template's
    /// locations is (a byte offset).
    pub locs: HashMap<Loc, i32>,
}

/// Signature of every compiled body: (ctx, args or event, dst or meta, site) -> status.
pub fn body_sig(module: &JITModule) -> Signature {
    let mut sig = module.make_signature();
    for _ in 0..4 {
        sig.params.push(AbiParam::new(PTR));
    }
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

/// Signature of every helper: (ctx, a, b, c, dst, aux) -> status.
pub fn helper_sig(module: &JITModule) -> Signature {
    let mut sig = module.make_signature();
    for _ in 0..6 {
        sig.params.push(AbiParam::new(PTR));
    }
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

pub struct Lowering<'m> {
    pub module: &'m mut JITModule,
    pub shared: &'m mut Shared,
    pub helpers: HashMap<Helper, FuncId>,
    pub compiled: Compiled,
    type_ids: HashMap<Ty, TypeIndex>,
    loc_ids: HashMap<Loc, LocIndex>,
    /// Constant cells kept in the store, by their words: their addresses.
    consts: HashMap<[u64; 4], usize>,
}

impl<'m> Lowering<'m> {
    pub fn new(module: &'m mut JITModule, shared: &'m mut Shared) -> Result<Lowering<'m>, Unsupported> {
        let hsig = helper_sig(module);
        let mut helpers = HashMap::new();
        for h in Helper::ALL {
            let id = module
                .declare_function(h.symbol(), Linkage::Import, &hsig)
                .map_err(|e| Unsupported(format!("declare helper: {e}")))?;
            helpers.insert(*h, id);
        }
        let bsig = body_sig(module);
        let pkg = shared.pkg.clone();
        let mut declare = |prefix: &str, n: usize| -> Result<Vec<FuncId>, Unsupported> {
            (0..n)
                .map(|i| {
                    module
                        .declare_function(&format!("{prefix}{i}"), Linkage::Local, &bsig)
                        .map_err(|e| Unsupported(format!("declare: {e}")))
                })
                .collect()
        };
        let compiled = Compiled {
            handlers: declare("handler", pkg.handlers.len())?,
            functions: declare("fn", pkg.functions.len())?,
            decisions: declare("decision", pkg.decisions.len())?,
            outputs: HashMap::new(),
        };
        Ok(Lowering {
            module,
            shared,
            helpers,
            compiled,
            type_ids: HashMap::new(),
            loc_ids: HashMap::new(),
            consts: HashMap::new(),
        })
    }

    pub(super) fn type_id(&mut self, ty: &Ty) -> TypeIndex {
        if let Some(i) = self.type_ids.get(ty) {
            return *i;
        }
        let i = TypeIndex(self.shared.types.len() as u32);
        self.shared.types.push(ty.clone());
        self.type_ids.insert(ty.clone(), i);
        i
    }

    /// The address of a constant cell kept in the store (one per distinct
    /// cell): code that only reads a constant reads it there.
    pub(super) fn const_cell(&mut self, cell: crate::cell::Cell) -> usize {
        if let Some(at) = self.consts.get(&cell.words) {
            return *at;
        }
        let at = self.shared.store.keep_cells(vec![cell]);
        self.consts.insert(cell.words, at);
        at
    }

    pub(super) fn loc_id(&mut self, loc: Loc) -> LocIndex {
        if let Some(i) = self.loc_ids.get(&loc) {
            return *i;
        }
        let i = LocIndex(self.shared.locs.len() as u32);
        self.shared.locs.push(loc);
        self.loc_ids.insert(loc, i);
        i
    }

    /// Registers a read or write of state; its index is the helper's `aux`.
    pub(super) fn state_site(&mut self, site: StateSite) -> StateSiteIndex {
        let i = StateSiteIndex(self.shared.state_sites.len() as u32);
        self.shared.state_sites.push(site);
        i
    }

    /// Compiles every body of the package.
    pub fn compile_all(&mut self) -> Result<(), Unsupported> {
        let pkg = self.shared.pkg.clone();
        let mut contexts = Contexts { code: self.module.make_context(), builder: FunctionBuilderContext::new() };
        for (i, h) in pkg.handlers.iter().enumerate() {
            let id = self.compiled.handlers.get(i).copied().ok_or_else(|| Unsupported("handler id".into()))?;
            self.compile_body(&mut contexts, id, h.n_locals, |f| f.handler(h))?;
        }
        for (i, d) in pkg.functions.iter().enumerate() {
            let id = self.compiled.functions.get(i).copied().ok_or_else(|| Unsupported("fn id".into()))?;
            self.compile_body(&mut contexts, id, d.n_locals, |f| f.function(d))?;
        }
        for (i, d) in pkg.decisions.iter().enumerate() {
            let id = self.compiled.decisions.get(i).copied().ok_or_else(|| Unsupported("decision id".into()))?;
            let n = d.n_locals.max(d.params.len() as u32);
            let large = d.rows.len() >= self.shared.decisions.min_rows();
            let plan = if large { Some(self.plan_outputs(i, d)?) } else { None };
            self.compile_body(&mut contexts, id, n, |f| f.decision(i, d))?;
            let Some(plan) = plan else { continue };
            let ids = self.compiled.outputs.get(&i).map(|o| o.funcs.clone()).unwrap_or_default();
            let slot_table = self.compiled.outputs.get(&i).map_or(0, |o| o.slot_table);
            for (f, id) in plan.funcs.iter().zip(ids) {
                match f {
                    super::shapes::OutputFn::Rows(rows) => {
                        self.compile_body(&mut contexts, id, n, |b| b.decision_outputs(i, d, rows, slot_table))?;
                    }
                    super::shapes::OutputFn::Shared(group) => {
                        let shared = self.shared_outputs(d, group, n)?;
                        let frame = n + shared.holes as u32;
                        self.compile_body(&mut contexts, id, frame, |b| b.decision_shared(i, d, &shared, slot_table))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Plans a large decision's computed outputs (`shapes::plan`), declares
    /// their functions and keeps the tables by row: `compiled.outputs`.
    fn plan_outputs(&mut self, i: usize, d: &ir::DecisionDef) -> Result<super::shapes::OutputPlan, Unsupported> {
        let pkg = self.shared.pkg.clone();
        let plan = super::shapes::plan(d, |r| super::decision::constant_output(&pkg, d, r).is_none(), OUTPUT_CHUNK);
        if plan.funcs.is_empty() {
            return Ok(plan);
        }
        let bsig = body_sig(self.module);
        let (mut shapes, mut chunks) = (0, 0);
        let mut funcs = Vec::with_capacity(plan.funcs.len());
        for f in &plan.funcs {
            let name = match f {
                super::shapes::OutputFn::Shared(_) => {
                    shapes += 1;
                    format!("decision{i}_shape{}", shapes - 1)
                }
                super::shapes::OutputFn::Rows(_) => {
                    chunks += 1;
                    format!("decision{i}_out{}", chunks - 1)
                }
            };
            let id = self
                .module
                .declare_function(&name, Linkage::Local, &bsig)
                .map_err(|e| Unsupported(format!("declare: {e}")))?;
            funcs.push(id);
        }
        let func_table = self.shared.store.keep_u32(plan.func_of_row.clone());
        let slot_table = self.shared.store.keep_u32(plan.slot_of_row.clone());
        self.compiled.outputs.insert(i, DecisionOutputs { funcs, func_table, slot_table });
        Ok(plan)
    }

    /// The template and table of the rows of one shape (`group`, at least
    /// one row): a constant equal in every row (the same cell) stays in the
    /// template; the others become locals from `first_hole` on, filled from
    /// the row's cells of the table, which then holds the row's location
    /// indices (four a cell), one per location of the shape.
    fn shared_outputs(
        &mut self,
        d: &ir::DecisionDef,
        group: &super::shapes::Group,
        first_hole: u32,
    ) -> Result<SharedOutputs, Unsupported> {
        let pkg = self.shared.pkg.clone();
        let first = group.rows.first().ok_or_else(|| Unsupported("an empty shape".into()))?;
        let row = d.rows.get(*first).ok_or_else(|| Unsupported("shape row".into()))?;
        // The constants' cells, `h` a row.
        let h = group.tys.len();
        let mut cells: Vec<crate::cell::Cell> = Vec::with_capacity(group.consts.len());
        for (j, c) in group.consts.iter().enumerate() {
            let ty = group.tys.get(j % h.max(1)).ok_or_else(|| Unsupported("shape type".into()))?;
            cells.push(self.shared.store.cell_of(&pkg, ty, &canon_runtime::interp::const_value(c)));
        }
        let rows = group.rows.len();
        let cell = |k: usize, j: usize| cells.get(k * h + j).map(|c| c.words);
        let varying: Vec<usize> = (0..h).filter(|j| (1..rows).any(|k| cell(k, *j) != cell(0, *j))).collect();
        let slots: HashMap<usize, u32> = varying.iter().enumerate().map(|(k, j)| (*j, first_hole + k as u32)).collect();
        let template = super::shapes::template(&row.outputs, &slots);
        let holes = varying.len();
        let stride = holes + group.n_locs.div_ceil(4);
        let mut table = Vec::with_capacity(stride * rows);
        for k in 0..rows {
            table.extend(varying.iter().map(|j| cells.get(k * h + j).copied().unwrap_or_default()));
            for four in group.locs_of(k).chunks(4) {
                let mut c = crate::cell::Cell::none();
                for (w, loc) in c.words.iter_mut().zip(four) {
                    *w = u64::from(self.loc_id(*loc).0);
                }
                table.push(c);
            }
        }
        drop(cells);
        let table = self.shared.store.keep_cells(table);
        let locs = group.locs_of(0).iter().enumerate().map(|(k, loc)| (*loc, (holes * CELL + k * 8) as i32)).collect();
        Ok(SharedOutputs { template, first_hole, holes, stride, table, locs })
    }

    /// Lowers one body with `lower` into a frame of `n_locals` cells, and defines it as `id`.
    fn compile_body(
        &mut self,
        contexts: &mut Contexts,
        id: FuncId,
        n_locals: u32,
        lower: impl FnOnce(&mut BodyLowering<'_, 'm, '_>) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        contexts.code.func.signature = body_sig(self.module);
        let target = self.module.target_config();
        let mut builder = FunctionBuilder::new(&mut contexts.code.func, &mut contexts.builder);
        let mut body = BodyLowering::begin(self, &mut builder, n_locals);
        lower(&mut body)?;
        body.finish_exits();
        body.builder.seal_all_blocks();
        builder.finalize(target);
        self.define(id, &mut contexts.code)
    }

    fn define(&mut self, id: FuncId, ctx: &mut cranelift_codegen::Context) -> Result<(), Unsupported> {
        // `CANON_JIT_DUMP` prints the CLIF of a body Cranelift rejects;
        // `CANON_JIT_DUMP=all` prints every body as lowered, before Cranelift
        // optimises it (to check that a change to lowering emits the same code).
        let dump = std::env::var("CANON_JIT_DUMP").ok();
        if dump.as_deref() == Some("all") {
            eprintln!("{}", ctx.func.display());
        }
        if let Err(e) = self.module.define_function(id, ctx) {
            if dump.is_some() {
                eprintln!("{}", ctx.func.display());
            }
            return Err(Unsupported(format!("codegen: {e:?}")));
        }
        self.module.clear_context(ctx);
        Ok(())
    }
}

/// The memory Cranelift reuses from body to body.
struct Contexts {
    code: cranelift_codegen::Context,
    builder: FunctionBuilderContext,
}

/// Lowering of one body (handler, function or decision), whose parameters
/// are those of [`body_sig`].
pub(super) struct BodyLowering<'l, 'm, 'b> {
    pub(super) lowering: &'l mut Lowering<'m>,
    pub(super) builder: &'l mut FunctionBuilder<'b>,
    /// The per-event context.
    pub(super) ctx: CValue,
    /// The locals, one cell each.
    pub(super) frame: CValue,
    /// The event cell (a handler) or the argument cells (a function or decision).
    pub(super) inputs: CValue,
    /// The envelope's meta cell (a handler) or the result cell (a function or decision).
    pub(super) result_or_meta: CValue,
    /// The location index of the call (a decision's faults name it).
    pub(super) site: CValue,
    /// The bodies and helpers this body calls, declared in it.
    pub(super) funcs: HashMap<FuncId, FuncRef>,
    /// In a function shared by the rows of a shape: the row's locations,
    /// read at run time (see [`RowLocs`]).
    pub(super) row_locs: Option<RowLocs>,
    /// The exits its checks share.
    pub(super) exits: super::cells::Exits,
    /// Locals `0..params` are the body's inputs (a handler's event, a
    /// function's or decision's arguments), read where the caller put them:
    /// nothing writes a parameter, and the caller's cells outlive the call.
    pub(super) params: u32,
    /// The 64-bit 0 and 1, made once in the entry block (Cranelift emits a
    /// constant where it is used, so sharing them costs no register).
    pub(super) zero: CValue,
    pub(super) one: CValue,
}

/// Where the locations of the row being computed are: a fault (or a
/// decision's call site) at one of the template's locations names the
/// row's own, the `u64` location index at `row + offset`.
pub(super) struct RowLocs {
    pub row: CValue,
    pub offsets: HashMap<Loc, i32>,
}

impl<'l, 'm, 'b> BodyLowering<'l, 'm, 'b> {
    pub(super) fn begin(
        lowering: &'l mut Lowering<'m>,
        builder: &'l mut FunctionBuilder<'b>,
        n_locals: u32,
    ) -> BodyLowering<'l, 'm, 'b> {
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        let params = builder.block_params(entry).to_vec();
        let ctx = params.first().copied();
        let inputs = params.get(1).copied();
        let result_or_meta = params.get(2).copied();
        let site = params.get(3).copied();
        let slot = builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (n_locals.max(1) as usize * CELL) as u32,
            3,
        ));
        let frame = builder.ins().stack_addr(PTR, slot, 0);
        let zero = builder.ins().iconst(PTR, 0);
        let one = builder.ins().iconst(PTR, 1);
        let mut f = BodyLowering {
            lowering,
            builder,
            ctx: ctx.unwrap_or(zero),
            frame,
            inputs: inputs.unwrap_or(zero),
            result_or_meta: result_or_meta.unwrap_or(zero),
            site: site.unwrap_or(zero),
            funcs: HashMap::new(),
            row_locs: None,
            exits: Default::default(),
            params: 0,
            zero,
            one,
        };
        // Locals start as none. `params` is still 0 here, so this writes
        // the frame, never the caller's argument cells.
        debug_assert_eq!(f.params, 0);
        for i in 0..n_locals.max(1) {
            let a = f.local(i);
            f.store_none(a);
        }
        f
    }

    // ------------------------------------------------------------ bodies

    fn handler(&mut self, h: &ir::HandlerDef) -> Result<(), Unsupported> {
        // The event is local 0.
        self.params = 1;
        self.block(&h.body)?;
        self.ret(0);
        Ok(())
    }

    fn function(&mut self, d: &ir::FnDef) -> Result<(), Unsupported> {
        self.params = d.params.len() as u32;
        for (slot, e) in &d.lets {
            let dst = self.local(*slot);
            self.expr(e, dst)?;
        }
        let out = self.result_or_meta;
        self.expr(&d.body, out)?;
        self.ret(0);
        Ok(())
    }

    pub(super) fn block(&mut self, b: &ir::Block) -> Result<(), Unsupported> {
        for s in &b.stmts {
            self.stmt(s)?;
        }
        Ok(())
    }
}
