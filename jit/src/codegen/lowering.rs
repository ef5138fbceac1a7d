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
use crate::rt::{Helper, LocIndex, Shared, TypeIndex};

use super::{Unsupported, PTR};

pub struct Compiled {
    pub handlers: Vec<FuncId>,
    pub functions: Vec<FuncId>,
    pub decisions: Vec<FuncId>,
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

    /// Compiles every body of the package.
    pub fn compile_all(&mut self) -> Result<(), Unsupported> {
        let pkg = self.shared.pkg.clone();
        let mut ctx = self.module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let cfg = self.module.target_config();
        for (i, h) in pkg.handlers.iter().enumerate() {
            ctx.func.signature = body_sig(self.module);
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let mut f = Fn::begin(self, &mut b, h.n_locals);
                f.handler(h)?;
                f.b.seal_all_blocks();
                drop(f);
                b.finalize(cfg);
            }
            let id = self.compiled.handlers.get(i).copied().ok_or_else(|| Unsupported("handler id".into()))?;
            self.define(id, &mut ctx)?;
        }
        for (i, d) in pkg.functions.iter().enumerate() {
            ctx.func.signature = body_sig(self.module);
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let mut f = Fn::begin(self, &mut b, d.n_locals);
                f.function(d)?;
                f.b.seal_all_blocks();
                drop(f);
                b.finalize(cfg);
            }
            let id = self.compiled.functions.get(i).copied().ok_or_else(|| Unsupported("fn id".into()))?;
            self.define(id, &mut ctx)?;
        }
        for (i, d) in pkg.decisions.iter().enumerate() {
            ctx.func.signature = body_sig(self.module);
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let mut f = Fn::begin(self, &mut b, d.n_locals.max(d.params.len() as u32));
                f.decision(i, d)?;
                f.b.seal_all_blocks();
                drop(f);
                b.finalize(cfg);
            }
            let id = self.compiled.decisions.get(i).copied().ok_or_else(|| Unsupported("decision id".into()))?;
            self.define(id, &mut ctx)?;
        }
        Ok(())
    }

    fn define(&mut self, id: FuncId, ctx: &mut cranelift_codegen::Context) -> Result<(), Unsupported> {
        // `CANON_JIT_CLIF=1` prints every body as lowered, before Cranelift
        // optimises it (to check that a change to lowering emits the same code).
        if std::env::var_os("CANON_JIT_CLIF").is_some() {
            eprintln!("{}", ctx.func.display());
        }
        if let Err(e) = self.module.define_function(id, ctx) {
            if std::env::var_os("CANON_JIT_DUMP").is_some() {
                eprintln!("{}", ctx.func.display());
            }
            return Err(Unsupported(format!("codegen: {e:?}")));
        }
        self.module.clear_context(ctx);
        Ok(())
    }
}

/// Lowering of one function body.
pub(super) struct Fn<'l, 'm, 'b> {
    pub(super) l: &'l mut Lowering<'m>,
    pub(super) b: &'l mut FunctionBuilder<'b>,
    pub(super) ctx: CValue,
    pub(super) frame: CValue,
    /// The second and third parameters (event/args and meta/dst) and the site.
    pub(super) p1: CValue,
    pub(super) p2: CValue,
    pub(super) site: CValue,
    pub(super) funcs: HashMap<FuncId, FuncRef>,
}

impl<'l, 'm, 'b> Fn<'l, 'm, 'b> {
    pub(super) fn begin(l: &'l mut Lowering<'m>, b: &'l mut FunctionBuilder<'b>, n_locals: u32) -> Fn<'l, 'm, 'b> {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let ctx = params.first().copied();
        let p1 = params.get(1).copied();
        let p2 = params.get(2).copied();
        let site = params.get(3).copied();
        let slot = b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (n_locals.max(1) as usize * CELL) as u32,
            3,
        ));
        let frame = b.ins().stack_addr(PTR, slot, 0);
        let zero = b.ins().iconst(PTR, 0);
        let mut f = Fn {
            l,
            b,
            ctx: ctx.unwrap_or(zero),
            frame,
            p1: p1.unwrap_or(zero),
            p2: p2.unwrap_or(zero),
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
        let l0 = self.local(0);
        let p1 = self.p1;
        self.copy_cell(p1, l0);
        self.block(&h.body)?;
        self.ret(0);
        Ok(())
    }

    fn function(&mut self, d: &ir::FnDef) -> Result<(), Unsupported> {
        for i in 0..d.params.len() {
            let src = self.b.ins().iadd_imm_s(self.p1, (i * CELL) as i64);
            let dst = self.local(i as u32);
            self.copy_cell(src, dst);
        }
        for (slot, e) in &d.lets {
            let dst = self.local(*slot);
            self.expr(e, dst)?;
        }
        let out = self.p2;
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
