//! Lowers the checked package's IR to Cranelift: one native function per
//! handler, function and decision table, computing on 32-byte cells (see
//! `cell.rs`). Int, Bool, Date, Timestamp and enum operations are inline;
//! decimal, Money and text operations call helpers from the single list in
//! `rt.rs`. Every faulting site branches to a cold block that records the
//! fault with its source line and returns, so nothing unwinds through JIT
//! frames.

use std::collections::HashMap;

use canon_compiler::ir::{
    self, Aggregate, BinaryOp, CellTest, CmpOp, Const, Expr, ExprKind, Hit, InterpPart, Loc, Pat, Stmt, UnaryOp,
};
use canon_compiler::types::{OrdKind, Ty};
use canon_runtime::Value;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, BlockArg, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind};
use cranelift_codegen::ir::{Block, FuncRef, Value as CValue};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};

use crate::cell::{Cell, CELL, TAG};
use crate::rt::{cmp_aux, Helper, Shared};

const PTR: types::Type = types::I64;

/// Why a package cannot be compiled (yet); the engine falls back to the interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

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
    type_ids: HashMap<Ty, i64>,
    loc_ids: HashMap<Loc, i64>,
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

    fn type_id(&mut self, ty: &Ty) -> i64 {
        if let Some(i) = self.type_ids.get(ty) {
            return *i;
        }
        let i = self.shared.types.len() as i64;
        self.shared.types.push(ty.clone());
        self.type_ids.insert(ty.clone(), i);
        i
    }

    fn loc_id(&mut self, loc: Loc) -> i64 {
        if let Some(i) = self.loc_ids.get(&loc) {
            return *i;
        }
        let i = self.shared.locs.len() as i64;
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
struct Fn<'l, 'm, 'b> {
    l: &'l mut Lowering<'m>,
    b: &'l mut FunctionBuilder<'b>,
    ctx: CValue,
    frame: CValue,
    /// The second and third parameters (event/args and meta/dst) and the site.
    p1: CValue,
    p2: CValue,
    site: CValue,
    funcs: HashMap<FuncId, FuncRef>,
}

fn flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl<'l, 'm, 'b> Fn<'l, 'm, 'b> {
    fn begin(l: &'l mut Lowering<'m>, b: &'l mut FunctionBuilder<'b>, n_locals: u32) -> Fn<'l, 'm, 'b> {
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

    // ------------------------------------------------------------ cells

    fn local(&mut self, slot: u32) -> CValue {
        self.b.ins().iadd_imm_s(self.frame, i64::from(slot) * CELL as i64)
    }

    fn temp(&mut self) -> CValue {
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, CELL as u32, 3));
        self.b.ins().stack_addr(PTR, slot, 0)
    }

    fn temps(&mut self, n: usize) -> CValue {
        let slot =
            self.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, (n.max(1) * CELL) as u32, 3));
        self.b.ins().stack_addr(PTR, slot, 0)
    }

    fn load(&mut self, ty: types::Type, p: CValue, off: i32) -> CValue {
        self.b.ins().load(ty, flags(), p, off)
    }

    fn store(&mut self, v: CValue, p: CValue, off: i32) {
        self.b.ins().store(flags(), v, p, off);
    }

    fn copy_cell(&mut self, from: CValue, to: CValue) {
        for w in 0..4 {
            let v = self.load(types::I64, from, w * 8);
            self.store(v, to, w * 8);
        }
    }

    fn store_none(&mut self, p: CValue) {
        let z = self.b.ins().iconst(types::I64, 0);
        for w in 0..4 {
            self.store(z, p, w * 8);
        }
    }

    /// Writes a whole cell from words (word 3 holds the tag).
    fn store_words(&mut self, p: CValue, w0: CValue, w1: Option<CValue>) {
        let z = self.b.ins().iconst(types::I64, 0);
        let one = self.b.ins().iconst(types::I64, 1);
        self.store(w0, p, 0);
        self.store(w1.unwrap_or(z), p, 8);
        self.store(z, p, 16);
        self.store(one, p, 24);
    }

    fn store_const_cell(&mut self, c: &Cell, p: CValue) {
        for w in 0..4 {
            let v = self.b.ins().iconst(types::I64, i64::from_le_bytes(c.word(w * 8)));
            self.store(v, p, (w * 8) as i32);
        }
    }

    fn tag(&mut self, p: CValue) -> CValue {
        self.load(types::I8, p, TAG as i32)
    }

    fn word0(&mut self, p: CValue) -> CValue {
        self.load(types::I64, p, 0)
    }

    // ------------------------------------------------------------ calls

    fn func_ref(&mut self, id: FuncId) -> FuncRef {
        if let Some(r) = self.funcs.get(&id) {
            return *r;
        }
        let r = self.l.module.declare_func_in_func(id, self.b.func);
        self.funcs.insert(id, r);
        r
    }

    /// Calls a helper; returns its status.
    fn helper(&mut self, h: Helper, args: [Option<CValue>; 4], aux: i64) -> CValue {
        let id = self.l.helpers.get(&h).copied();
        let z = self.b.ins().iconst(PTR, 0);
        let auxv = self.b.ins().iconst(PTR, aux);
        let [a, b, c, d] = args;
        let call_args = [self.ctx, a.unwrap_or(z), b.unwrap_or(z), c.unwrap_or(z), d.unwrap_or(z), auxv];
        let Some(id) = id else { return self.b.ins().iconst(types::I32, 1) };
        let fr = self.func_ref(id);
        let call = self.b.ins().call(fr, &call_args);
        self.b.inst_results(call).first().copied().unwrap_or(z)
    }

    /// Branches to a cold block that finalises the pending fault at `loc` and returns 2.
    fn check_status(&mut self, status: CValue, loc: Loc) {
        let fault = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(fault);
        self.b.ins().brif(status, fault, &[], cont, &[]);
        self.b.switch_to_block(fault);
        let lid = self.l.loc_id(loc);
        self.helper(Helper::fault_at, [None, None, None, None], lid);
        let two = self.b.ins().iconst(types::I32, 2);
        self.b.ins().return_(&[two]);
        self.b.switch_to_block(cont);
    }

    /// A call to compiled code: a non-zero status means the fault is already final.
    fn propagate(&mut self, status: CValue) {
        let out = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(out);
        self.b.ins().brif(status, out, &[], cont, &[]);
        self.b.switch_to_block(out);
        let two = self.b.ins().iconst(types::I32, 2);
        self.b.ins().return_(&[two]);
        self.b.switch_to_block(cont);
    }

    fn helper_checked(&mut self, h: Helper, args: [Option<CValue>; 4], aux: i64, loc: Loc) {
        let st = self.helper(h, args, aux);
        self.check_status(st, loc);
    }

    fn ret(&mut self, code: i64) {
        let v = self.b.ins().iconst(types::I32, code);
        self.b.ins().return_(&[v]);
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

    fn block(&mut self, b: &ir::Block) -> Result<(), Unsupported> {
        for s in &b.stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn reject(&mut self, r: &ir::RejectInfo) -> Result<(), Unsupported> {
        let msg = match &r.message {
            Some(m) => {
                let t = self.temp();
                self.expr(m, t)?;
                Some(t)
            }
            None => None,
        };
        let id = self.l.shared.rejects.len() as i64;
        self.l.shared.rejects.push((r.code.clone(), r.loc));
        self.helper(Helper::reject, [msg, None, None, None], id);
        Ok(())
    }

    /// Evaluates a Bool expression to an i8 truth value.
    fn truth(&mut self, e: &Expr) -> Result<CValue, Unsupported> {
        let t = self.temp();
        self.expr(e, t)?;
        Ok(self.load(types::I8, t, 0))
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), Unsupported> {
        match s {
            Stmt::Let { slot, value } => {
                let dst = self.local(*slot);
                self.expr(value, dst)?;
            }
            Stmt::Check { cond, reject } | Stmt::Require { cond, reject } => {
                let c = self.truth(cond)?;
                let fail = self.b.create_block();
                let cont = self.b.create_block();
                self.b.ins().brif(c, cont, &[], fail, &[]);
                self.b.switch_to_block(fail);
                self.reject(reject)?;
                if matches!(s, Stmt::Require { .. }) {
                    self.ret(1);
                } else {
                    self.b.ins().jump(cont, &[]);
                }
                self.b.switch_to_block(cont);
            }
            Stmt::Reject(r) => {
                self.reject(r)?;
                self.ret(1);
                let dead = self.b.create_block();
                self.b.switch_to_block(dead);
            }
            Stmt::Emit { dest, value } => {
                let t = self.temp();
                self.expr(value, t)?;
                let at = self.l.loc_id(value.loc);
                self.helper(Helper::emit, [Some(t), None, None, None], i64::from(dest.0) | (at << 32));
            }
            Stmt::If { branches, otherwise } => {
                let end = self.b.create_block();
                for (c, body) in branches {
                    let v = self.truth(c)?;
                    let yes = self.b.create_block();
                    let no = self.b.create_block();
                    self.b.ins().brif(v, yes, &[], no, &[]);
                    self.b.switch_to_block(yes);
                    self.block(body)?;
                    self.b.ins().jump(end, &[]);
                    self.b.switch_to_block(no);
                }
                if let Some(o) = otherwise {
                    self.block(o)?;
                }
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(end);
            }
            Stmt::Match { scrutinee, arms } => {
                let sv = self.temp();
                self.expr(scrutinee, sv)?;
                let end = self.b.create_block();
                for (pats, body) in arms {
                    let m = self.pats_match(pats, sv, &scrutinee.ty)?;
                    let yes = self.b.create_block();
                    let no = self.b.create_block();
                    self.b.ins().brif(m, yes, &[], no, &[]);
                    self.b.switch_to_block(yes);
                    self.block(body)?;
                    self.b.ins().jump(end, &[]);
                    self.b.switch_to_block(no);
                }
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(end);
            }
            Stmt::For { slot, list, body } => {
                let lv = self.temp();
                self.expr(list, lv)?;
                let var = self.local(*slot);
                self.each(lv, var, |f| f.block(body))?;
            }
        }
        Ok(())
    }

    /// Loops over a list cell, copying each element into `var`.
    fn each(
        &mut self,
        list: CValue,
        var: CValue,
        mut body: impl FnMut(&mut Self) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        let ptr = self.word0(list);
        let len = self.load(types::I64, list, 8);
        let i = self.b.declare_var(types::I64);
        let z = self.b.ins().iconst(types::I64, 0);
        self.b.def_var(i, z);
        let head = self.b.create_block();
        let body_b = self.b.create_block();
        let end = self.b.create_block();
        self.b.ins().jump(head, &[]);
        self.b.switch_to_block(head);
        let iv = self.b.use_var(i);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, iv, len);
        self.b.ins().brif(more, body_b, &[], end, &[]);
        self.b.switch_to_block(body_b);
        let off = self.b.ins().imul_imm_s(iv, CELL as i64);
        let elem = self.b.ins().iadd(ptr, off);
        self.copy_cell(elem, var);
        body(self)?;
        let iv = self.b.use_var(i);
        let next = self.b.ins().iadd_imm_s(iv, 1);
        self.b.def_var(i, next);
        self.b.ins().jump(head, &[]);
        self.b.switch_to_block(end);
        Ok(())
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self, e: &Expr, dst: CValue) -> Result<(), Unsupported> {
        match &e.kind {
            ExprKind::Const(c) => self.constant(c, &e.ty, dst),
            ExprKind::Local(s) => {
                let src = self.local(*s);
                self.copy_cell(src, dst);
            }
            ExprKind::Meta => {
                let p2 = self.p2;
                self.copy_cell(p2, dst);
            }
            ExprKind::Field { base, index } => {
                let t = self.temp();
                self.expr(base, t)?;
                let p = self.word0(t);
                let src = self.b.ins().iadd_imm_s(p, i64::from(*index) * CELL as i64);
                self.copy_cell(src, dst);
            }
            ExprKind::OptField { base, index } => {
                let t = self.temp();
                self.expr(base, t)?;
                let tag = self.tag(t);
                let some = self.b.create_block();
                let none = self.b.create_block();
                let end = self.b.create_block();
                self.b.ins().brif(tag, some, &[], none, &[]);
                self.b.switch_to_block(some);
                let p = self.word0(t);
                let src = self.b.ins().iadd_imm_s(p, i64::from(*index) * CELL as i64);
                self.copy_cell(src, dst);
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(none);
                self.store_none(dst);
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(end);
            }
            ExprKind::Call { func, args } => {
                let id = self.l.compiled.functions.get(func.0 as usize).copied();
                let id = id.ok_or_else(|| Unsupported("unknown function".into()))?;
                self.call_body(id, args, dst, e.loc)?;
            }
            ExprKind::Decide { decision, args } => {
                let id = self.l.compiled.decisions.get(decision.0 as usize).copied();
                let id = id.ok_or_else(|| Unsupported("unknown decision".into()))?;
                self.call_body(id, args, dst, e.loc)?;
            }
            ExprKind::Builtin { op, args } => {
                let mut cells = [None, None, None];
                for (i, a) in args.iter().enumerate().take(3) {
                    let t = self.temp();
                    self.expr(a, t)?;
                    if let Some(slot) = cells.get_mut(i) {
                        *slot = Some(t);
                    }
                }
                if self.inline_builtin(*op, cells, dst, e.loc) {
                    return Ok(());
                }
                let id = self.l.shared.builtins.len() as i64;
                self.l.shared.builtins.push((*op, args.iter().map(|a| a.ty.clone()).collect()));
                self.helper_checked(Helper::builtin, [cells[0], cells[1], cells[2], Some(dst)], id, e.loc);
            }
            ExprKind::Aggregate { op, list, slot, body } => self.aggregate(*op, list, *slot, body, dst, e)?,
            ExprKind::Lookup { table, keys } => {
                let arr = self.temps(keys.len());
                for (i, k) in keys.iter().enumerate() {
                    let p = self.b.ins().iadd_imm_s(arr, (i * CELL) as i64);
                    self.expr(k, p)?;
                }
                let aux = i64::from(table.0) | ((keys.len() as i64) << 32);
                self.helper_checked(Helper::lookup, [Some(arr), None, None, Some(dst)], aux, e.loc);
            }
            ExprKind::Unary { op, expr } => {
                let t = self.temp();
                self.expr(expr, t)?;
                match op {
                    UnaryOp::Not => {
                        let v = self.load(types::I8, t, 0);
                        let one = self.b.ins().iconst(types::I8, 1);
                        let r = self.b.ins().bxor(v, one);
                        let w = self.b.ins().uextend(types::I64, r);
                        self.store_words(dst, w, None);
                    }
                    UnaryOp::NegInt => {
                        let v = self.word0(t);
                        let z = self.b.ins().iconst(types::I64, 0);
                        let (r, of) = self.b.ins().ssub_overflow(z, v);
                        self.int_overflow_check(of, e.loc);
                        self.store_words(dst, r, None);
                    }
                    UnaryOp::NegDecimal => {
                        self.helper(Helper::neg_dec, [Some(t), None, None, Some(dst)], 0);
                    }
                    UnaryOp::NegMoney => {
                        self.helper(Helper::neg_money, [Some(t), None, None, Some(dst)], 0);
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, dst, e)?,
            ExprKind::Coalesce { lhs, rhs } => {
                self.expr(lhs, dst)?;
                let tag = self.tag(dst);
                let none = self.b.create_block();
                let end = self.b.create_block();
                self.b.ins().brif(tag, end, &[], none, &[]);
                self.b.switch_to_block(none);
                self.expr(rhs, dst)?;
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(end);
            }
            ExprKind::In { value, list, negated } => {
                let v = self.temp();
                self.expr(value, v)?;
                let l = self.temp();
                self.expr(list, l)?;
                let found = self.b.declare_var(types::I8);
                let z = self.b.ins().iconst(types::I8, 0);
                self.b.def_var(found, z);
                let elem_ty = match list.ty.strip() {
                    Ty::List(t) => (**t).clone(),
                    _ => value.ty.clone(),
                };
                let x = self.temp();
                let mixed = value.ty.strip() != elem_ty.strip() && !matches!(value.ty.strip(), Ty::NoneLit);
                let value_ty = value.ty.clone();
                self.each(l, x, |f| {
                    let eq = if mixed { f.equal_as(v, x, &value_ty, &elem_ty, e.loc) } else { f.equal(v, x, &elem_ty, e.loc)? };
                    let cur = f.b.use_var(found);
                    let n = f.b.ins().bor(cur, eq);
                    f.b.def_var(found, n);
                    Ok(())
                })?;
                let r = self.b.use_var(found);
                let r = if *negated {
                    let one = self.b.ins().iconst(types::I8, 1);
                    self.b.ins().bxor(r, one)
                } else {
                    r
                };
                let w = self.b.ins().uextend(types::I64, r);
                self.store_words(dst, w, None);
            }
            ExprKind::If { cond, then, otherwise } => {
                let c = self.truth(cond)?;
                let yes = self.b.create_block();
                let no = self.b.create_block();
                let end = self.b.create_block();
                self.b.ins().brif(c, yes, &[], no, &[]);
                self.b.switch_to_block(yes);
                self.expr(then, dst)?;
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(no);
                self.expr(otherwise, dst)?;
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(end);
            }
            ExprKind::Match { scrutinee, arms } => {
                let sv = self.temp();
                self.expr(scrutinee, sv)?;
                let end = self.b.create_block();
                for (pats, body) in arms {
                    let m = self.pats_match(pats, sv, &scrutinee.ty)?;
                    let yes = self.b.create_block();
                    let no = self.b.create_block();
                    self.b.ins().brif(m, yes, &[], no, &[]);
                    self.b.switch_to_block(yes);
                    self.expr(body, dst)?;
                    self.b.ins().jump(end, &[]);
                    self.b.switch_to_block(no);
                }
                self.store_none(dst);
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(end);
            }
            ExprKind::Record { fields, .. } => {
                let t = self.temp();
                self.helper(Helper::alloc, [None, None, None, Some(t)], fields.len() as i64);
                let p = self.word0(t);
                for (i, f) in fields.iter().enumerate() {
                    let fp = self.b.ins().iadd_imm_s(p, (i * CELL) as i64);
                    self.expr(f, fp)?;
                }
                self.store_words(dst, p, None);
            }
            ExprKind::List(items) => {
                let t = self.temp();
                self.helper(Helper::alloc, [None, None, None, Some(t)], items.len() as i64);
                let p = self.word0(t);
                for (i, f) in items.iter().enumerate() {
                    let fp = self.b.ins().iadd_imm_s(p, (i * CELL) as i64);
                    self.expr(f, fp)?;
                }
                let n = self.b.ins().iconst(types::I64, items.len() as i64);
                self.store_words(dst, p, Some(n));
            }
            ExprKind::Interp(parts) => {
                // Evaluate the parts first: a part may interpolate text itself.
                let mut cells = Vec::new();
                for p in parts {
                    match p {
                        InterpPart::Text(t) => {
                            let c = self.l.shared.store.cell_of(&self.l.shared.pkg.clone(), &Ty::Text, &Value::Text(t.clone()));
                            cells.push((c, None, Ty::Text));
                        }
                        InterpPart::Expr(x) => {
                            let t = self.temp();
                            self.expr(x, t)?;
                            cells.push((Cell::none(), Some(t), x.ty.clone()));
                        }
                    }
                }
                self.helper(Helper::text_begin, [None, None, None, None], 0);
                for (c, t, ty) in cells {
                    match t {
                        None => {
                            let tmp = self.temp();
                            self.store_const_cell(&c, tmp);
                            self.helper(Helper::text_lit, [Some(tmp), None, None, None], 0);
                        }
                        Some(t) => {
                            let id = self.l.type_id(&ty);
                            self.helper(Helper::text_value, [Some(t), None, None, None], id);
                        }
                    }
                }
                self.helper(Helper::text_end, [None, None, None, Some(dst)], 0);
            }
            ExprKind::IntToDecimal(x) => {
                let t = self.temp();
                self.expr(x, t)?;
                self.helper(Helper::int_to_dec, [Some(t), None, None, Some(dst)], 0);
            }
            ExprKind::Error => return Err(Unsupported("an expression with an error".into())),
        }
        Ok(())
    }

    fn constant(&mut self, c: &Const, ty: &Ty, dst: CValue) {
        let pkg = self.l.shared.pkg.clone();
        let v = canon_runtime::interp::const_value(c);
        let cell = self.l.shared.store.cell_of(&pkg, ty, &v);
        self.store_const_cell(&cell, dst);
    }

    fn call_body(&mut self, id: FuncId, args: &[Expr], dst: CValue, loc: Loc) -> Result<(), Unsupported> {
        let arr = self.temps(args.len());
        for (i, a) in args.iter().enumerate() {
            let p = self.b.ins().iadd_imm_s(arr, (i * CELL) as i64);
            self.expr(a, p)?;
        }
        let lid = self.l.loc_id(loc);
        let site = self.b.ins().iconst(PTR, lid);
        let fr = self.func_ref(id);
        let call = self.b.ins().call(fr, &[self.ctx, arr, dst, site]);
        let z = self.b.ins().iconst(types::I32, 0);
        let st = self.b.inst_results(call).first().copied().unwrap_or(z);
        self.propagate(st);
        Ok(())
    }

    fn int_overflow_check(&mut self, of: CValue, loc: Loc) {
        let fault = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(fault);
        self.b.ins().brif(of, fault, &[], cont, &[]);
        self.b.switch_to_block(fault);
        self.helper(Helper::fault_int, [None, None, None, None], 0);
        let lid = self.l.loc_id(loc);
        self.helper(Helper::fault_at, [None, None, None, None], lid);
        self.ret(2);
        self.b.switch_to_block(cont);
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, dst: CValue, e: &Expr) -> Result<(), Unsupported> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                self.expr(lhs, dst)?;
                let a = self.load(types::I8, dst, 0);
                let rest = self.b.create_block();
                let end = self.b.create_block();
                if op == BinaryOp::And {
                    self.b.ins().brif(a, rest, &[], end, &[]);
                } else {
                    self.b.ins().brif(a, end, &[], rest, &[]);
                }
                self.b.switch_to_block(rest);
                self.expr(rhs, dst)?;
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(end);
                return Ok(());
            }
            _ => {}
        }
        let a = self.temp();
        self.expr(lhs, a)?;
        let b = self.temp();
        self.expr(rhs, b)?;
        let helper = |h: Helper| Some(h);
        let h = match op {
            BinaryOp::AddInt | BinaryOp::SubInt | BinaryOp::MulInt => {
                let x = self.word0(a);
                let y = self.word0(b);
                let (r, of) = match op {
                    BinaryOp::AddInt => self.b.ins().sadd_overflow(x, y),
                    BinaryOp::SubInt => self.b.ins().ssub_overflow(x, y),
                    _ => self.b.ins().smul_overflow(x, y),
                };
                self.int_overflow_check(of, e.loc);
                self.store_words(dst, r, None);
                None
            }
            BinaryOp::DivInt => helper(Helper::int_div),
            BinaryOp::AddDecimal => helper(Helper::dec_add),
            BinaryOp::SubDecimal => helper(Helper::dec_sub),
            BinaryOp::MulDecimal | BinaryOp::MulMoneyDecimal | BinaryOp::MulDecimalMoney => {
                let h = match op {
                    BinaryOp::MulDecimal => Helper::dec_mul,
                    BinaryOp::MulMoneyDecimal => Helper::money_mul_dec,
                    _ => Helper::dec_mul_money,
                };
                let currency_of = match op {
                    BinaryOp::MulDecimal => None,
                    BinaryOp::MulMoneyDecimal => Some((a, 16)),
                    _ => Some((b, 16)),
                };
                self.small_mul(a, b, currency_of, dst, h, e.loc);
                None
            }
            BinaryOp::DivDecimal => helper(Helper::dec_div),
            BinaryOp::AddMoney => helper(Helper::money_add),
            BinaryOp::SubMoney => helper(Helper::money_sub),
            BinaryOp::DivMoneyDecimal => helper(Helper::money_div_dec),
            BinaryOp::DivMoneyMoney => helper(Helper::money_div_money),
            BinaryOp::Concat => helper(Helper::concat),
            BinaryOp::Eq | BinaryOp::Ne => {
                let ty = if lhs.ty.is_optional() { rhs.ty.clone() } else { lhs.ty.clone() };
                let ty = if matches!(ty, Ty::NoneLit) { lhs.ty.clone() } else { ty };
                let is_none = |x: &Expr| matches!(x.kind, ExprKind::Const(Const::None));
                let r = if is_none(lhs) || is_none(rhs) {
                    // `x == none`: only the tags matter.
                    let ta = self.tag(a);
                    let tb = self.tag(b);
                    self.b.ins().icmp(IntCC::Equal, ta, tb)
                } else if lhs.ty.strip() != rhs.ty.strip() && !matches!(ty.strip(), Ty::NoneLit) {
                    // Different types (an Int list against a Decimal list):
                    // compared by value, each side read as its own type.
                    let (lt, rt) = (lhs.ty.clone(), rhs.ty.clone());
                    self.equal_as(a, b, &lt, &rt, e.loc)
                } else {
                    self.equal(a, b, &ty, e.loc)?
                };
                let r = if op == BinaryOp::Ne {
                    let one = self.b.ins().iconst(types::I8, 1);
                    self.b.ins().bxor(r, one)
                } else {
                    r
                };
                let w = self.b.ins().uextend(types::I64, r);
                self.store_words(dst, w, None);
                None
            }
            BinaryOp::Cmp(cop, kind) => {
                let r = self.compare(cop, kind, a, b, e.loc)?;
                let w = self.b.ins().uextend(types::I64, r);
                self.store_words(dst, w, None);
                None
            }
            BinaryOp::And | BinaryOp::Or => None,
        };
        if let Some(h) = h {
            self.helper_checked(h, [Some(a), Some(b), None, Some(dst)], 0, e.loc);
        }
        Ok(())
    }

    /// Decimal (or Money) multiplication with an inline fast path: when both
    /// coefficients fit in 32 bits and the scales add up to at most 28, the
    /// product is exact and is built here, as `num::mul` builds it (a zero
    /// is never negative); otherwise the helper `h` computes it. `currency_of`
    /// is the cell and byte offset of the currency the result takes.
    fn small_mul(&mut self, a: CValue, b: CValue, currency_of: Option<(CValue, i32)>, dst: CValue, h: Helper, loc: Loc) {
        self.small_mul_with(a, b, currency_of, dst, h, 0, [Some(a), Some(b), None], loc);
    }

    /// [`Fn::small_mul`] whose slow path calls `h` with `slow_args` and `aux`.
    #[allow(clippy::too_many_arguments)]
    fn small_mul_with(
        &mut self,
        a: CValue,
        b: CValue,
        currency_of: Option<(CValue, i32)>,
        dst: CValue,
        h: Helper,
        aux: i64,
        slow_args: [Option<CValue>; 3],
        loc: Loc,
    ) {
        let x0 = self.load(types::I64, a, 0);
        let x1 = self.load(types::I64, a, 8);
        let y0 = self.load(types::I64, b, 0);
        let y1 = self.load(types::I64, b, 8);
        let hi = self.b.ins().bor(x1, y1);
        let small = self.b.ins().icmp_imm_s(IntCC::Equal, hi, 0);
        // Decimal::serialize: flags (scale in bits 16..24, sign in bit 31), then lo, mid, hi.
        let xs = self.b.ins().ushr_imm_u(x0, 16);
        let xs = self.b.ins().band_imm_s(xs, 0xff);
        let ys = self.b.ins().ushr_imm_u(y0, 16);
        let ys = self.b.ins().band_imm_s(ys, 0xff);
        let scale = self.b.ins().iadd(xs, ys);
        let fits = self.b.ins().icmp_imm_s(IntCC::UnsignedLessThanOrEqual, scale, 28);
        let ok = self.b.ins().band(small, fits);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let end = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(ok, fast, &[], slow, &[]);

        self.b.switch_to_block(fast);
        let xl = self.b.ins().ushr_imm_u(x0, 32);
        let yl = self.b.ins().ushr_imm_u(y0, 32);
        let p = self.b.ins().imul(xl, yl);
        let sign = self.b.ins().bxor(x0, y0);
        let sign = self.b.ins().ushr_imm_u(sign, 31);
        let sign = self.b.ins().band_imm_s(sign, 1);
        let nonzero = self.b.ins().icmp_imm_s(IntCC::NotEqual, p, 0);
        let nonzero = self.b.ins().uextend(types::I64, nonzero);
        let sign = self.b.ins().band(sign, nonzero);
        let sign = self.b.ins().ishl_imm_u(sign, 31);
        let flags = self.b.ins().ishl_imm_u(scale, 16);
        let flags = self.b.ins().bor(flags, sign);
        let lo = self.b.ins().ishl_imm_u(p, 32);
        let w0 = self.b.ins().bor(flags, lo);
        let w1 = self.b.ins().ushr_imm_u(p, 32);
        let w2 = match currency_of {
            Some((m, at)) => {
                let w = self.load(types::I64, m, at);
                self.b.ins().band_imm_s(w, 0xff_ffff)
            }
            None => self.b.ins().iconst(types::I64, 0),
        };
        let one = self.b.ins().iconst(types::I64, 1);
        self.store(w0, dst, 0);
        self.store(w1, dst, 8);
        self.store(w2, dst, 16);
        self.store(one, dst, 24);
        self.b.ins().jump(end, &[]);

        self.b.switch_to_block(slow);
        self.helper_checked(h, [slow_args[0], slow_args[1], slow_args[2], Some(dst)], aux, loc);
        self.b.ins().jump(end, &[]);
        self.b.switch_to_block(end);
    }

    /// The built-ins simple enough to need no helper; `false` for the others.
    /// Each writes exactly the cell its `rt::builtin` arm writes.
    fn inline_builtin(&mut self, op: ir::Builtin, args: [Option<CValue>; 3], dst: CValue, loc: Loc) -> bool {
        match (op, args) {
            // `currency(m)`: the currency word of a Money cell.
            (ir::Builtin::Currency, [Some(x), _, _]) => {
                let w = self.load(types::I64, x, 16);
                let w = self.b.ins().band_imm_s(w, 0xff_ffff);
                self.store_words(dst, w, None);
                true
            }
            // `amount(m)`: the decimal of a Money cell.
            (ir::Builtin::Amount, [Some(x), _, _]) => {
                let w0 = self.load(types::I64, x, 0);
                let w1 = self.load(types::I64, x, 8);
                self.store_words(dst, w0, Some(w1));
                true
            }
            // `date(t)`: the UTC day of a timestamp in microseconds, rounded down.
            (ir::Builtin::Date, [Some(x), _, _]) => {
                const MICROS_PER_DAY: i64 = 86_400_000_000;
                let t = self.word0(x);
                let q = self.b.ins().sdiv_imm_s(t, MICROS_PER_DAY);
                let r = self.b.ins().srem_imm_s(t, MICROS_PER_DAY);
                let neg = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
                let neg = self.b.ins().uextend(types::I64, neg);
                let q = self.b.ins().isub(q, neg);
                let d = self.b.ins().ireduce(types::I32, q);
                let w = self.b.ins().uextend(types::I64, d);
                self.store_words(dst, w, None);
                true
            }
            // `convert(m, currency, rate)`: `m`'s amount times `rate`, in `currency`.
            (ir::Builtin::Convert, [Some(x), Some(c), Some(r)]) => {
                let id = self.l.shared.builtins.len() as i64;
                self.l.shared.builtins.push((op, Vec::new()));
                self.small_mul_with(x, r, Some((c, 0)), dst, Helper::builtin, id, [Some(x), Some(c), Some(r)], loc);
                true
            }
            _ => false,
        }
    }

    /// Equality of two cells of type `ty` (optional or not); an i8.
    fn equal(&mut self, a: CValue, b: CValue, ty: &Ty, loc: Loc) -> Result<CValue, Unsupported> {
        match ty.strip() {
            Ty::Int | Ty::Bool | Ty::Enum(_) | Ty::Date | Ty::Timestamp | Ty::Currency | Ty::NoneLit => {
                // Cells are written whole, so equal values have equal words 0 and 3.
                let x0 = self.word0(a);
                let y0 = self.word0(b);
                let x3 = self.load(types::I64, a, 24);
                let y3 = self.load(types::I64, b, 24);
                let e0 = self.b.ins().icmp(IntCC::Equal, x0, y0);
                let e3 = self.b.ins().icmp(IntCC::Equal, x3, y3);
                Ok(self.b.ins().band(e0, e3))
            }
            _ => Ok(self.equal_as(a, b, ty, ty, loc)),
        }
    }

    /// Equality by value (the `eq` helper) of a cell of type `lty` and one
    /// of type `rty`; an i8.
    fn equal_as(&mut self, a: CValue, b: CValue, lty: &Ty, rty: &Ty, loc: Loc) -> CValue {
        let t = self.temp();
        let id = self.l.type_id(lty) | (self.l.type_id(rty) << 32);
        self.helper_checked(Helper::eq, [Some(a), Some(b), None, Some(t)], id, loc);
        self.load(types::I8, t, 0)
    }

    /// `a op b` for an ordered kind; an i8. Faults (currency mismatch) at `loc`.
    fn compare(&mut self, op: CmpOp, kind: OrdKind, a: CValue, b: CValue, loc: Loc) -> Result<CValue, Unsupported> {
        let (x, y) = match kind {
            OrdKind::Int | OrdKind::Timestamp => (self.word0(a), self.word0(b)),
            OrdKind::Date => (self.load(types::I32, a, 0), self.load(types::I32, b, 0)),
            OrdKind::Decimal => {
                // Inline when both have one scale and sign (the 96-bit
                // coefficients then order the values) or one side is zero;
                // else the helper.
                let fa = self.load(types::I32, a, 0);
                let fb = self.load(types::I32, b, 0);
                let ha = self.load(types::I64, a, 8);
                let hb = self.load(types::I64, b, 8);
                let la = self.load(types::I32, a, 4);
                let lb = self.load(types::I32, b, 4);
                let la64 = self.b.ins().uextend(types::I64, la);
                let lb64 = self.b.ins().uextend(types::I64, lb);
                let ma = self.b.ins().bor(ha, la64);
                let mb = self.b.ins().bor(hb, lb64);
                let az = self.b.ins().icmp_imm_s(IntCC::Equal, ma, 0);
                let bz = self.b.ins().icmp_imm_s(IntCC::Equal, mb, 0);
                let same = self.b.ins().icmp(IntCC::Equal, fa, fb);
                let any_zero = self.b.ins().bor(az, bz);
                let fast = self.b.ins().bor(same, any_zero);
                let inline = self.b.create_block();
                let slow = self.b.create_block();
                let merge = self.b.create_block();
                self.b.append_block_param(merge, types::I64);
                self.b.ins().brif(fast, inline, &[], slow, &[]);
                self.b.switch_to_block(inline);
                let m1 = self.b.ins().iconst(types::I64, -1);
                let p1 = self.b.ins().iconst(types::I64, 1);
                let z = self.b.ins().iconst(types::I64, 0);
                let lt_h = self.b.ins().icmp(IntCC::UnsignedLessThan, ha, hb);
                let gt_h = self.b.ins().icmp(IntCC::UnsignedGreaterThan, ha, hb);
                let lt_l = self.b.ins().icmp(IntCC::UnsignedLessThan, la, lb);
                let gt_l = self.b.ins().icmp(IntCC::UnsignedGreaterThan, la, lb);
                let oh_gt = self.b.ins().select(gt_h, p1, z);
                let oh = self.b.ins().select(lt_h, m1, oh_gt);
                let ol_gt = self.b.ins().select(gt_l, p1, z);
                let ol = self.b.ins().select(lt_l, m1, ol_gt);
                let heq = self.b.ins().icmp(IntCC::Equal, ha, hb);
                let o_mag = self.b.ins().select(heq, ol, oh);
                let neg_a = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, fa, 0);
                let neg_b = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, fb, 0);
                let o_neg = self.b.ins().ineg(o_mag);
                let o_same = self.b.ins().select(neg_a, o_neg, o_mag);
                // b is zero: the sign of a decides (0 when a is zero too).
                let sa = self.b.ins().select(neg_a, m1, p1);
                let o_bz = self.b.ins().select(az, z, sa);
                // a is zero, b is not: the opposite of b's sign.
                let o_az = self.b.ins().select(neg_b, p1, m1);
                let o_zero = self.b.ins().select(bz, o_bz, o_az);
                let o = self.b.ins().select(same, o_same, o_zero);
                self.b.ins().jump(merge, &[BlockArg::Value(o)]);
                self.b.switch_to_block(slow);
                let t = self.temp();
                self.helper_checked(Helper::cmp, [Some(a), Some(b), None, Some(t)], cmp_aux(kind, op), loc);
                let o = self.word0(t);
                self.b.ins().jump(merge, &[BlockArg::Value(o)]);
                self.b.switch_to_block(merge);
                let o = self.b.block_params(merge).first().copied().unwrap_or(z);
                let z2 = self.b.ins().iconst(types::I64, 0);
                (o, z2)
            }
            _ => {
                let t = self.temp();
                self.helper_checked(Helper::cmp, [Some(a), Some(b), None, Some(t)], cmp_aux(kind, op), loc);
                let o = self.word0(t);
                let z = self.b.ins().iconst(types::I64, 0);
                (o, z)
            }
        };
        let cc = match op {
            CmpOp::Lt => IntCC::SignedLessThan,
            CmpOp::Le => IntCC::SignedLessThanOrEqual,
            CmpOp::Gt => IntCC::SignedGreaterThan,
            CmpOp::Ge => IntCC::SignedGreaterThanOrEqual,
        };
        Ok(self.b.ins().icmp(cc, x, y))
    }

    fn pats_match(&mut self, pats: &[Pat], v: CValue, ty: &Ty) -> Result<CValue, Unsupported> {
        let mut acc = self.b.ins().iconst(types::I8, 0);
        for p in pats {
            let m = match p {
                Pat::Wildcard => self.b.ins().iconst(types::I8, 1),
                Pat::Const(c) => {
                    let t = self.temp();
                    let cty = if matches!(c, Const::None) { Ty::NoneLit } else { ty.strip().clone() };
                    self.constant(c, &cty, t);
                    self.equal(v, t, ty, Loc::default())?
                }
            };
            acc = self.b.ins().bor(acc, m);
        }
        Ok(acc)
    }

    fn aggregate(&mut self, op: Aggregate, list: &Expr, slot: u32, body: &Expr, dst: CValue, e: &Expr) -> Result<(), Unsupported> {
        let l = self.temp();
        self.expr(list, l)?;
        let var = self.local(slot);
        let x = self.temp();
        match op {
            Aggregate::SumInt => {
                let z = self.b.ins().iconst(types::I64, 0);
                self.store_words(dst, z, None);
                self.each(l, var, |f| {
                    f.expr(body, x)?;
                    let acc = f.word0(dst);
                    let v = f.word0(x);
                    let (r, of) = f.b.ins().sadd_overflow(acc, v);
                    f.int_overflow_check(of, e.loc);
                    f.store_words(dst, r, None);
                    Ok(())
                })?;
            }
            Aggregate::SumDecimal => {
                let zero = Cell::from_decimal(canon_stdlib::Decimal::ZERO);
                self.store_const_cell(&zero, dst);
                let body_is_int = body.ty == Ty::Int;
                self.each(l, var, |f| {
                    f.expr(body, x)?;
                    if body_is_int {
                        f.helper(Helper::int_to_dec, [Some(x), None, None, Some(x)], 0);
                    }
                    f.helper_checked(Helper::dec_add, [Some(dst), Some(x), None, Some(dst)], 0, e.loc);
                    Ok(())
                })?;
            }
            Aggregate::SumMoney => {
                self.store_none(dst);
                self.each(l, var, |f| {
                    f.expr(body, x)?;
                    let tag = f.tag(dst);
                    let add = f.b.create_block();
                    let first = f.b.create_block();
                    let end = f.b.create_block();
                    f.b.ins().brif(tag, add, &[], first, &[]);
                    f.b.switch_to_block(first);
                    f.copy_cell(x, dst);
                    f.b.ins().jump(end, &[]);
                    f.b.switch_to_block(add);
                    f.helper_checked(Helper::money_sum_add, [Some(dst), Some(x), None, Some(dst)], 0, e.loc);
                    f.b.ins().jump(end, &[]);
                    f.b.switch_to_block(end);
                    Ok(())
                })?;
            }
            Aggregate::Count => {
                let z = self.b.ins().iconst(types::I64, 0);
                self.store_words(dst, z, None);
                self.each(l, var, |f| {
                    f.expr(body, x)?;
                    let v = f.load(types::I8, x, 0);
                    let v = f.b.ins().uextend(types::I64, v);
                    let acc = f.word0(dst);
                    let r = f.b.ins().iadd(acc, v);
                    f.store_words(dst, r, None);
                    Ok(())
                })?;
            }
            Aggregate::Any | Aggregate::All => {
                // Stops at the first element that decides (as the interpreter does).
                let want = i64::from(op == Aggregate::Any);
                let init = self.b.ins().iconst(types::I64, 1 - want);
                self.store_words(dst, init, None);
                let ptr = self.word0(l);
                let len = self.load(types::I64, l, 8);
                let i = self.b.declare_var(types::I64);
                let z = self.b.ins().iconst(types::I64, 0);
                self.b.def_var(i, z);
                let head = self.b.create_block();
                let bodyb = self.b.create_block();
                let hit = self.b.create_block();
                let next = self.b.create_block();
                let end = self.b.create_block();
                self.b.ins().jump(head, &[]);
                self.b.switch_to_block(head);
                let iv = self.b.use_var(i);
                let more = self.b.ins().icmp(IntCC::SignedLessThan, iv, len);
                self.b.ins().brif(more, bodyb, &[], end, &[]);
                self.b.switch_to_block(bodyb);
                let off = self.b.ins().imul_imm_s(iv, CELL as i64);
                let elem = self.b.ins().iadd(ptr, off);
                self.copy_cell(elem, var);
                self.expr(body, x)?;
                let v = self.load(types::I8, x, 0);
                let v = self.b.ins().uextend(types::I64, v);
                let decided = self.b.ins().icmp_imm_s(IntCC::Equal, v, want);
                self.b.ins().brif(decided, hit, &[], next, &[]);
                self.b.switch_to_block(hit);
                let w = self.b.ins().iconst(types::I64, want);
                self.store_words(dst, w, None);
                self.b.ins().jump(end, &[]);
                self.b.switch_to_block(next);
                let iv = self.b.use_var(i);
                let n = self.b.ins().iadd_imm_s(iv, 1);
                self.b.def_var(i, n);
                self.b.ins().jump(head, &[]);
                self.b.switch_to_block(end);
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ decisions

    fn decision(&mut self, index: usize, d: &ir::DecisionDef) -> Result<(), Unsupported> {
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
    fn scan(&mut self, index: usize, d: &ir::DecisionDef, rows: &[usize], skip: &[bool], dst: CValue) -> Result<(), Unsupported> {
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
    fn entry(&mut self, d: &ir::DecisionDef, cols: &[(u32, u32, bool)], table: usize, scan: Block) -> CValue {
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

    fn no_row(&mut self, index: usize, d: &ir::DecisionDef, dst: CValue) {
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
    fn row_test(&mut self, d: &ir::DecisionDef, row: &ir::DecisionRow, skip: &[bool], next: Block) -> Result<(), Unsupported> {
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
    fn present_or(&mut self, v: CValue, next: Block) {
        let tag = self.tag(v);
        let cont = self.b.create_block();
        self.b.ins().brif(tag, cont, &[], next, &[]);
        self.b.switch_to_block(cont);
    }

    fn row_output(&mut self, index: usize, d: &ir::DecisionDef, row: &ir::DecisionRow, dst: CValue) -> Result<(), Unsupported> {
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

#[allow(dead_code)]
fn _unused(_: Variable) {}

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
