//! Statements: bindings, checks, rejections, emits, branches and loops.

use canon_compiler::ir::{self, BinaryOp, Expr, ExprKind, Stmt, UnaryOp};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::Value as CValue;
use cranelift_codegen::ir::{types, BlockArg, InstBuilder};

use crate::cell::CELL;
use crate::rt::{helpers, EmitSite, RejectIndex, RejectSite, StateSite};

use super::{BodyLowering, Unsupported};

impl BodyLowering<'_, '_, '_> {
    pub(super) fn reject(&mut self, r: &ir::RejectInfo) -> Result<(), Unsupported> {
        let msg = match &r.message {
            Some(m) => Some(self.operand(m)?),
            None => None,
        };
        let id = RejectIndex(self.lowering.shared.rejects.len() as u32);
        self.lowering.shared.rejects.push(RejectSite { code: r.code.clone(), loc: r.loc });
        self.call_takes_optional(helpers::reject, msg, id);
        Ok(())
    }

    /// Evaluates a Bool expression to an i8 truth value.
    /// A comparison, `and`, `or` or `not` gives its value without writing
    /// it into a cell first.
    pub(super) fn truth(&mut self, e: &Expr) -> Result<CValue, Unsupported> {
        match &e.kind {
            ExprKind::Binary { op: op @ (BinaryOp::And | BinaryOp::Or), lhs, rhs } => {
                // As `binary` reads them: the right side only when the left does not decide.
                let a = self.truth(lhs)?;
                let rest = self.builder.create_block();
                let end = self.builder.create_block();
                let r = self.builder.append_block_param(end, types::I8);
                if *op == BinaryOp::And {
                    self.builder.ins().brif(a, rest, &[], end, &[BlockArg::Value(a)]);
                } else {
                    self.builder.ins().brif(a, end, &[BlockArg::Value(a)], rest, &[]);
                }
                self.builder.switch_to_block(rest);
                let b = self.truth(rhs)?;
                self.builder.ins().jump(end, &[BlockArg::Value(b)]);
                self.builder.switch_to_block(end);
                return Ok(r);
            }
            ExprKind::Binary { op, lhs, rhs } => {
                if let Some(r) = self.comparison(*op, lhs, rhs, e)? {
                    return Ok(r);
                }
            }
            ExprKind::Unary { op: UnaryOp::Not, expr } => {
                let v = self.truth(expr)?;
                let one = self.builder.ins().iconst(types::I8, 1);
                return Ok(self.builder.ins().bxor(v, one));
            }
            _ => {}
        }
        let t = self.operand(e)?;
        Ok(self.load(types::I8, t, 0))
    }

    pub(super) fn stmt(&mut self, s: &Stmt) -> Result<(), Unsupported> {
        match s {
            Stmt::Put { state, value, loc } => {
                let t = self.operand(value)?;
                let site = StateSite { state: *state, keys: Vec::new(), fields: Vec::new(), loc: *loc };
                let site = self.lowering.state_site(site);
                let status = self.call_takes_one(helpers::state_put, t, site);
                self.propagate(status);
            }
            Stmt::Update { state, keys, fields, loc } => {
                // The keys, then whether there is a record (else
                // `STATE_NOT_FOUND`, before any field), then the fields in
                // the order written, then the write.
                let arr = self.key_cells(keys)?;
                let site = StateSite {
                    state: *state,
                    keys: keys.iter().map(|k| k.ty.clone()).collect(),
                    fields: fields.iter().map(|(i, e)| (*i, e.ty.clone())).collect(),
                    loc: *loc,
                };
                let site = self.lowering.state_site(site);
                let status = self.call_takes_one(helpers::state_find, arr, site);
                self.propagate(status);
                let values = self.temps(fields.len());
                for (j, (_, e)) in fields.iter().enumerate() {
                    let p = self.builder.ins().iadd_imm_s(values, (j * CELL) as i64);
                    self.expr(e, p)?;
                }
                let status = self.call_takes_one(helpers::state_update, values, site);
                self.propagate(status);
            }
            Stmt::Delete { state, keys, loc } => {
                let arr = self.key_cells(keys)?;
                let site = StateSite {
                    state: *state,
                    keys: keys.iter().map(|k| k.ty.clone()).collect(),
                    fields: Vec::new(),
                    loc: *loc,
                };
                let site = self.lowering.state_site(site);
                let status = self.call_takes_one(helpers::state_delete, arr, site);
                self.propagate(status);
            }
            Stmt::Let { slot, value } => {
                let dst = self.local(*slot);
                self.expr(value, dst)?;
            }
            Stmt::Check { cond, reject } | Stmt::Require { cond, reject } => {
                let c = self.truth(cond)?;
                let fail = self.builder.create_block();
                let cont = self.builder.create_block();
                self.builder.ins().brif(c, cont, &[], fail, &[]);
                self.builder.switch_to_block(fail);
                self.reject(reject)?;
                if matches!(s, Stmt::Require { .. }) {
                    self.ret(1);
                } else {
                    self.builder.ins().jump(cont, &[]);
                }
                self.builder.switch_to_block(cont);
            }
            Stmt::Reject(r) => {
                self.reject(r)?;
                self.ret(1);
                let dead = self.builder.create_block();
                self.builder.switch_to_block(dead);
            }
            Stmt::Emit { dest, value } => {
                let t = self.operand(value)?;
                let value_at = self.lowering.loc_id(value.loc);
                self.call_takes_one(helpers::emit, t, EmitSite { destination: *dest, value_at });
            }
            Stmt::If { branches, otherwise } => {
                let end = self.builder.create_block();
                for (c, body) in branches {
                    let v = self.truth(c)?;
                    let yes = self.builder.create_block();
                    let no = self.builder.create_block();
                    self.builder.ins().brif(v, yes, &[], no, &[]);
                    self.builder.switch_to_block(yes);
                    self.block(body)?;
                    self.builder.ins().jump(end, &[]);
                    self.builder.switch_to_block(no);
                }
                if let Some(o) = otherwise {
                    self.block(o)?;
                }
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(end);
            }
            Stmt::Match { scrutinee, arms } => {
                let sv = self.operand(scrutinee)?;
                let end = self.builder.create_block();
                for (pats, body) in arms {
                    let m = self.pats_match(pats, sv, &scrutinee.ty)?;
                    let yes = self.builder.create_block();
                    let no = self.builder.create_block();
                    self.builder.ins().brif(m, yes, &[], no, &[]);
                    self.builder.switch_to_block(yes);
                    self.block(body)?;
                    self.builder.ins().jump(end, &[]);
                    self.builder.switch_to_block(no);
                }
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(end);
            }
            Stmt::For { slot, index, list, body } => {
                let lv = self.operand(list)?;
                let var = self.local(*slot);
                let at = index.map(|i| self.local(i));
                self.each_indexed(lv, var, at, |f| f.block(body))?;
            }
        }
        Ok(())
    }

    /// Loops over a list cell, copying each element into `var`.
    pub(super) fn each(
        &mut self,
        list: CValue,
        var: CValue,
        body: impl FnMut(&mut Self) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        self.each_indexed(list, var, None, body)
    }

    /// Loops over a list cell, copying each element into `var` and, with
    /// `index`, its zero-based position (an Int cell) into `index`.
    pub(super) fn each_indexed(
        &mut self,
        list: CValue,
        var: CValue,
        index: Option<CValue>,
        mut body: impl FnMut(&mut Self) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        let ptr = self.word0(list);
        let len = self.load(types::I64, list, 8);
        let i = self.builder.declare_var(types::I64);
        let z = self.builder.ins().iconst(types::I64, 0);
        self.builder.def_var(i, z);
        let head = self.builder.create_block();
        let body_b = self.builder.create_block();
        let end = self.builder.create_block();
        self.builder.ins().jump(head, &[]);
        self.builder.switch_to_block(head);
        let iv = self.builder.use_var(i);
        let more = self.builder.ins().icmp(IntCC::SignedLessThan, iv, len);
        self.builder.ins().brif(more, body_b, &[], end, &[]);
        self.builder.switch_to_block(body_b);
        let off = self.builder.ins().imul_imm_s(iv, CELL as i64);
        let elem = self.builder.ins().iadd(ptr, off);
        self.copy_cell(elem, var);
        if let Some(at) = index {
            self.store_words(at, iv, None);
        }
        body(self)?;
        let iv = self.builder.use_var(i);
        let next = self.builder.ins().iadd_imm_s(iv, 1);
        self.builder.def_var(i, next);
        self.builder.ins().jump(head, &[]);
        self.builder.switch_to_block(end);
        Ok(())
    }
}
