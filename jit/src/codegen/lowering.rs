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
    /// compute its rows' non-constant outputs, [`OUTPUT_CHUNK`] rows each
    /// (in the order of those rows): one huge body would cost Cranelift
    /// more than linear time and memory.
    pub outputs: HashMap<usize, Vec<(Vec<usize>, FuncId)>>,
}

/// How many computed rows of a large decision one output function holds.
pub const OUTPUT_CHUNK: usize = 128;

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
        Ok(Lowering { module, shared, helpers, compiled, type_ids: HashMap::new(), loc_ids: HashMap::new() })
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
        let bsig = body_sig(self.module);
        for (i, d) in pkg.decisions.iter().enumerate() {
            if d.rows.len() < self.shared.decisions.min_rows() {
                continue;
            }
            let computed: Vec<usize> = d
                .rows
                .iter()
                .enumerate()
                .filter(|(_, r)| super::decision::constant_output(&pkg, d, r).is_none())
                .map(|(ri, _)| ri)
                .collect();
            let mut chunks = Vec::new();
            for (k, rows) in computed.chunks(OUTPUT_CHUNK).enumerate() {
                let id = self
                    .module
                    .declare_function(&format!("decision{i}_out{k}"), Linkage::Local, &bsig)
                    .map_err(|e| Unsupported(format!("declare: {e}")))?;
                chunks.push((rows.to_vec(), id));
            }
            if !chunks.is_empty() {
                self.compiled.outputs.insert(i, chunks);
            }
        }
        for (i, d) in pkg.decisions.iter().enumerate() {
            let id = self.compiled.decisions.get(i).copied().ok_or_else(|| Unsupported("decision id".into()))?;
            let n = d.n_locals.max(d.params.len() as u32);
            self.compile_body(&mut contexts, id, n, |f| f.decision(i, d))?;
            for (rows, id) in self.compiled.outputs.get(&i).cloned().unwrap_or_default() {
                self.compile_body(&mut contexts, id, n, |f| f.decision_outputs(i, d, &rows))?;
            }
        }
        Ok(())
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
        let mut f = BodyLowering {
            lowering,
            builder,
            ctx: ctx.unwrap_or(zero),
            frame,
            inputs: inputs.unwrap_or(zero),
            result_or_meta: result_or_meta.unwrap_or(zero),
            site: site.unwrap_or(zero),
            funcs: HashMap::new(),
        };
        // Locals start as none.
        for i in 0..n_locals.max(1) {
            let a = f.local(i);
            f.store_none(a);
        }
        f
    }

    // ------------------------------------------------------------ bodies

    fn handler(&mut self, h: &ir::HandlerDef) -> Result<(), Unsupported> {
        // The event is local 0.
        let event = self.local(0);
        let inputs = self.inputs;
        self.copy_cell(inputs, event);
        self.block(&h.body)?;
        self.ret(0);
        Ok(())
    }

    fn function(&mut self, d: &ir::FnDef) -> Result<(), Unsupported> {
        for i in 0..d.params.len() {
            let src = self.builder.ins().iadd_imm_s(self.inputs, (i * CELL) as i64);
            let dst = self.local(i as u32);
            self.copy_cell(src, dst);
        }
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
