//! Expressions: values, calls, built-ins, aggregates, records, lists and text.

use canon_compiler::ir::{self, Aggregate, Const, Expr, ExprKind, InterpPart, Loc, Pat, UnaryOp};
use canon_compiler::types::Ty;
use canon_runtime::Value;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::Value as CValue;
use cranelift_codegen::ir::{types, InstBuilder};
use cranelift_module::FuncId;

use crate::cell::{Cell, CELL};
use crate::rt::{helpers, BuiltinIndex, CalendarCall, CellCount, SortSpec, StateSite, TableLookup};

use super::{BodyLowering, Unsupported, PTR};

impl BodyLowering<'_, '_, '_> {
    // ------------------------------------------------------------ expressions

    /// The address of a cell that holds `e`'s value already, when `e` is a
    /// local, `meta` or a field of one (a chain of fields): nothing is
    /// copied. `None`, and nothing emitted, for any other expression.
    ///
    /// The cell stays as it is while an expression that reads it is
    /// evaluated: a local is written only by the statement or binding that
    /// makes it (slots are never reused), and records are never changed
    /// once built.
    pub(super) fn place(&mut self, e: &Expr) -> Option<CValue> {
        match &e.kind {
            ExprKind::Local(s) => Some(self.local(*s)),
            ExprKind::Meta => Some(self.result_or_meta),
            ExprKind::Field { base, index } => {
                let b = self.place(base)?;
                Some(self.field_of(b, *index))
            }
            _ => None,
        }
    }

    /// The cell of field `index` of the record in cell `rec`.
    fn field_of(&mut self, rec: CValue, index: u32) -> CValue {
        let p = self.word0(rec);
        self.builder.ins().iadd_imm_s(p, i64::from(index) * CELL as i64)
    }

    /// A cell holding `e`'s value, for code that only reads it: its
    /// [`Self::place`], or a temporary it is evaluated into.
    pub(super) fn operand(&mut self, e: &Expr) -> Result<CValue, Unsupported> {
        if let Some(p) = self.place(e) {
            return Ok(p);
        }
        if let ExprKind::Const(c) = &e.kind {
            return Ok(self.const_operand(c, &e.ty));
        }
        let t = self.temp();
        self.expr(e, t)?;
        Ok(t)
    }

    pub(super) fn expr(&mut self, e: &Expr, dst: CValue) -> Result<(), Unsupported> {
        match &e.kind {
            ExprKind::Const(c) => self.constant(c, &e.ty, dst),
            ExprKind::Local(s) => {
                let src = self.local(*s);
                self.copy_cell(src, dst);
            }
            ExprKind::Meta => {
                let p2 = self.result_or_meta;
                self.copy_cell(p2, dst);
            }
            ExprKind::Field { base, index } => {
                let t = self.operand(base)?;
                let src = self.field_of(t, *index);
                self.copy_cell(src, dst);
            }
            ExprKind::OptField { base, index } => {
                let t = self.operand(base)?;
                let tag = self.tag(t);
                let some = self.builder.create_block();
                let none = self.builder.create_block();
                let end = self.builder.create_block();
                self.builder.ins().brif(tag, some, &[], none, &[]);
                self.builder.switch_to_block(some);
                let src = self.field_of(t, *index);
                self.copy_cell(src, dst);
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(none);
                self.store_none(dst);
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(end);
            }
            ExprKind::Call { func, args } => {
                let id = self.lowering.compiled.functions.get(func.0 as usize).copied();
                let id = id.ok_or_else(|| Unsupported("unknown function".into()))?;
                self.call_body(id, args, dst, e.loc)?;
            }
            ExprKind::Decide { decision, args } => {
                let id = self.lowering.compiled.decisions.get(decision.0 as usize).copied();
                let id = id.ok_or_else(|| Unsupported("unknown decision".into()))?;
                self.call_body(id, args, dst, e.loc)?;
            }
            ExprKind::Builtin { op: ir::Builtin::Distinct, args } => {
                let t = match args.first() {
                    Some(a) => self.operand(a)?,
                    None => self.temp(),
                };
                let elem = match e.ty.strip() {
                    Ty::List(t) => (**t).clone(),
                    _ => Ty::Error,
                };
                let id = self.lowering.type_id(&elem);
                let status = self.call_one_to_cell(helpers::distinct, t, dst, id);
                self.check_status(status, e.loc);
            }
            ExprKind::Builtin { op, args } => {
                let mut cells = [None, None, None];
                for (i, a) in args.iter().enumerate().take(3) {
                    let t = self.operand(a)?;
                    if let Some(slot) = cells.get_mut(i) {
                        *slot = Some(t);
                    }
                }
                if self.inline_builtin(*op, cells, dst, e.loc) {
                    return Ok(());
                }
                let id = BuiltinIndex(self.lowering.shared.builtins.len() as u32);
                self.lowering.shared.builtins.push(*op);
                let status = self.call_args_to_cell(helpers::builtin, cells, dst, id);
                self.check_status(status, e.loc);
            }
            ExprKind::Aggregate { op, list, slot, body } => self.aggregate(*op, list, *slot, body, dst, e)?,
            ExprKind::Index { list, index } => {
                // Inline: the element when 0 <= i < len (one unsigned comparison), else none.
                let l = self.operand(list)?;
                let i = self.operand(index)?;
                let ptr = self.word0(l);
                let len = self.load(types::I64, l, 8);
                let iv = self.word0(i);
                let inside = self.builder.ins().icmp(IntCC::UnsignedLessThan, iv, len);
                let yes = self.builder.create_block();
                let no = self.builder.create_block();
                let end = self.builder.create_block();
                self.builder.ins().brif(inside, yes, &[], no, &[]);
                self.builder.switch_to_block(yes);
                let off = self.builder.ins().imul_imm_s(iv, CELL as i64);
                let src = self.builder.ins().iadd(ptr, off);
                self.copy_cell(src, dst);
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(no);
                self.store_none(dst);
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(end);
            }
            ExprKind::Lookup { table, keys } => {
                let arr = self.key_cells(keys)?;
                let lookup = TableLookup { table: *table, keys: keys.len() as u32 };
                let status = self.call_one_to_cell(helpers::lookup, arr, dst, lookup);
                self.check_status(status, e.loc);
            }
            ExprKind::Calendar { op, calendar, args } => {
                let mut cells = [None, None, None];
                for (i, a) in args.iter().enumerate().take(3) {
                    let t = self.operand(a)?;
                    if let Some(slot) = cells.get_mut(i) {
                        *slot = Some(t);
                    }
                }
                let call = CalendarCall { calendar: *calendar, op: *op };
                let status = self.call_args_to_cell(helpers::calendar, cells, dst, call);
                self.check_status(status, e.loc);
            }
            ExprKind::LookupAsOf { table, keys, at } => {
                let arr = self.key_cells(keys)?;
                let t = self.operand(at)?;
                let lookup = TableLookup { table: *table, keys: keys.len() as u32 };
                let status = self.call_two_to_cell(helpers::lookup_as_of, arr, t, dst, lookup);
                self.check_status(status, e.loc);
            }
            ExprKind::Unary { op, expr } => {
                let t = self.operand(expr)?;
                match op {
                    UnaryOp::Not => {
                        let v = self.load(types::I8, t, 0);
                        let one = self.builder.ins().iconst(types::I8, 1);
                        let r = self.builder.ins().bxor(v, one);
                        let w = self.builder.ins().uextend(types::I64, r);
                        self.store_words(dst, w, None);
                    }
                    UnaryOp::NegInt => {
                        let v = self.word0(t);
                        let z = self.builder.ins().iconst(types::I64, 0);
                        let (r, of) = self.builder.ins().ssub_overflow(z, v);
                        self.int_overflow_check(of, e.loc);
                        self.store_words(dst, r, None);
                    }
                    UnaryOp::NegDecimal => {
                        self.call_one_to_cell(helpers::neg_dec, t, dst, ());
                    }
                    UnaryOp::NegMoney => {
                        self.call_one_to_cell(helpers::neg_money, t, dst, ());
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, dst, e)?,
            ExprKind::Coalesce { lhs, rhs } => {
                self.expr(lhs, dst)?;
                let tag = self.tag(dst);
                let none = self.builder.create_block();
                let end = self.builder.create_block();
                self.builder.ins().brif(tag, end, &[], none, &[]);
                self.builder.switch_to_block(none);
                self.expr(rhs, dst)?;
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(end);
            }
            ExprKind::In { value, list, negated } => {
                let v = self.operand(value)?;
                let l = self.operand(list)?;
                let found = self.builder.declare_var(types::I8);
                let z = self.builder.ins().iconst(types::I8, 0);
                self.builder.def_var(found, z);
                let elem_ty = match list.ty.strip() {
                    Ty::List(t) => (**t).clone(),
                    _ => value.ty.clone(),
                };
                let x = self.temp();
                let mixed = value.ty.strip() != elem_ty.strip() && !matches!(value.ty.strip(), Ty::NoneLit);
                let value_ty = value.ty.clone();
                self.each(l, x, |f| {
                    let eq = if mixed {
                        f.equal_as(v, x, &value_ty, &elem_ty, e.loc)
                    } else {
                        f.equal(v, x, &elem_ty, e.loc)?
                    };
                    let cur = f.builder.use_var(found);
                    let n = f.builder.ins().bor(cur, eq);
                    f.builder.def_var(found, n);
                    Ok(())
                })?;
                let r = self.builder.use_var(found);
                let r = if *negated {
                    let one = self.builder.ins().iconst(types::I8, 1);
                    self.builder.ins().bxor(r, one)
                } else {
                    r
                };
                let w = self.builder.ins().uextend(types::I64, r);
                self.store_words(dst, w, None);
            }
            ExprKind::If { cond, then, otherwise } => {
                let c = self.truth(cond)?;
                let yes = self.builder.create_block();
                let no = self.builder.create_block();
                let end = self.builder.create_block();
                self.builder.ins().brif(c, yes, &[], no, &[]);
                self.builder.switch_to_block(yes);
                self.expr(then, dst)?;
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(no);
                self.expr(otherwise, dst)?;
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(end);
            }
            ExprKind::Match { scrutinee, arms } => {
                let sv = self.operand(scrutinee)?;
                let end = self.builder.create_block();
                for (pats, body) in arms {
                    let m = self.pats_match(pats, sv, &scrutinee.ty)?;
                    let yes = self.builder.create_block();
                    let no = self.builder.create_block();
                    self.builder.ins().brif(m, yes, &[], no, &[]);
                    self.builder.switch_to_block(yes);
                    self.expr(body, dst)?;
                    self.builder.ins().jump(end, &[]);
                    self.builder.switch_to_block(no);
                }
                self.store_none(dst);
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(end);
            }
            ExprKind::Record { fields, .. } => {
                let t = self.temp();
                self.call_to_cell(helpers::alloc, t, CellCount(fields.len()));
                let p = self.word0(t);
                for (i, f) in fields.iter().enumerate() {
                    let fp = self.builder.ins().iadd_imm_s(p, (i * CELL) as i64);
                    self.expr(f, fp)?;
                }
                self.store_words(dst, p, None);
            }
            ExprKind::List(items) => {
                let t = self.temp();
                self.call_to_cell(helpers::alloc, t, CellCount(items.len()));
                let p = self.word0(t);
                for (i, f) in items.iter().enumerate() {
                    let fp = self.builder.ins().iadd_imm_s(p, (i * CELL) as i64);
                    self.expr(f, fp)?;
                }
                let n = self.builder.ins().iconst(types::I64, items.len() as i64);
                self.store_words(dst, p, Some(n));
            }
            ExprKind::Interp(parts) => {
                // Evaluate the parts first: a part may interpolate text itself.
                let mut cells = Vec::new();
                for p in parts {
                    match p {
                        InterpPart::Text(t) => {
                            let c = self.lowering.shared.store.cell_of(
                                &self.lowering.shared.pkg.clone(),
                                &Ty::Text,
                                &Value::Text(t.clone()),
                            );
                            cells.push((c, None, Ty::Text));
                        }
                        InterpPart::Expr(x) => {
                            let t = self.operand(x)?;
                            cells.push((Cell::none(), Some(t), x.ty.clone()));
                        }
                    }
                }
                self.call_effect(helpers::text_begin, ());
                for (c, t, ty) in cells {
                    match t {
                        None => {
                            let tmp = self.temp();
                            self.store_const_cell(&c, tmp);
                            self.call_takes_one(helpers::text_lit, tmp, ());
                        }
                        Some(t) => {
                            let id = self.lowering.type_id(&ty);
                            self.call_takes_one(helpers::text_value, t, id);
                        }
                    }
                }
                self.call_to_cell(helpers::text_end, dst, ());
            }
            ExprKind::IntToDecimal(x) => {
                let t = self.operand(x)?;
                self.call_one_to_cell(helpers::int_to_dec, t, dst, ());
            }
            ExprKind::Error => return Err(Unsupported("an expression with an error".into())),
            ExprKind::StateGet { state, keys } => {
                let arr = self.key_cells(keys)?;
                let site = StateSite {
                    state: *state,
                    keys: keys.iter().map(|k| k.ty.clone()).collect(),
                    fields: Vec::new(),
                    loc: e.loc,
                };
                let site = self.lowering.state_site(site);
                let status = self.call_one_to_cell(helpers::state_get, arr, dst, site);
                self.propagate(status);
            }
        }
        Ok(())
    }

    /// Evaluates the keys of a lookup or of a read or write of state into
    /// consecutive cells; their address.
    pub(super) fn key_cells(&mut self, keys: &[Expr]) -> Result<CValue, Unsupported> {
        let arr = self.temps(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let p = self.builder.ins().iadd_imm_s(arr, (i * CELL) as i64);
            self.expr(k, p)?;
        }
        Ok(arr)
    }

    /// A constant cell for code that only reads it: kept once in the store,
    /// its address (no stores to a temporary).
    pub(super) fn const_operand(&mut self, c: &Const, ty: &Ty) -> CValue {
        let pkg = self.lowering.shared.pkg.clone();
        let v = canon_runtime::interp::const_value(c);
        let cell = self.lowering.shared.store.cell_of(&pkg, ty, &v);
        let at = self.lowering.const_cell(cell);
        self.builder.ins().iconst(PTR, at as i64)
    }

    pub(super) fn constant(&mut self, c: &Const, ty: &Ty, dst: CValue) {
        let pkg = self.lowering.shared.pkg.clone();
        let v = canon_runtime::interp::const_value(c);
        let cell = self.lowering.shared.store.cell_of(&pkg, ty, &v);
        self.store_const_cell(&cell, dst);
    }

    pub(super) fn call_body(&mut self, id: FuncId, args: &[Expr], dst: CValue, loc: Loc) -> Result<(), Unsupported> {
        let arr = self.temps(args.len());
        for (i, a) in args.iter().enumerate() {
            let p = self.builder.ins().iadd_imm_s(arr, (i * CELL) as i64);
            self.expr(a, p)?;
        }
        let site = self.loc_value(loc);
        let fr = self.func_ref(id);
        let call = self.builder.ins().call(fr, &[self.ctx, arr, dst, site]);
        let z = self.builder.ins().iconst(types::I32, 0);
        let st = self.builder.inst_results(call).first().copied().unwrap_or(z);
        self.propagate(st);
        Ok(())
    }

    /// The built-ins simple enough to need no helper; `false` for the others.
    /// Each writes exactly the cell its `rt::builtin` arm writes.
    pub(super) fn inline_builtin(&mut self, op: ir::Builtin, args: [Option<CValue>; 3], dst: CValue, loc: Loc) -> bool {
        match (op, args) {
            // `currency(m)`: the currency word of a Money cell.
            (ir::Builtin::Currency, [Some(x), _, _]) => {
                let w = self.load(types::I64, x, 16);
                let w = self.builder.ins().band_imm_s(w, 0xff_ffff);
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
                let q = self.builder.ins().sdiv_imm_s(t, MICROS_PER_DAY);
                let r = self.builder.ins().srem_imm_s(t, MICROS_PER_DAY);
                let neg = self.builder.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
                let neg = self.builder.ins().uextend(types::I64, neg);
                let q = self.builder.ins().isub(q, neg);
                let d = self.builder.ins().ireduce(types::I32, q);
                let w = self.builder.ins().uextend(types::I64, d);
                self.store_words(dst, w, None);
                true
            }
            // `convert(m, currency, rate)`: `m`'s amount times `rate`, in `currency`.
            (ir::Builtin::Convert, [Some(x), Some(c), Some(r)]) => {
                let id = BuiltinIndex(self.lowering.shared.builtins.len() as u32);
                self.lowering.shared.builtins.push(op);
                let args = [Some(x), Some(c), Some(r)];
                self.small_mul_with(
                    x,
                    r,
                    Some((c, 0)),
                    dst,
                    |f| f.call_args_to_cell(helpers::builtin, args, dst, id),
                    loc,
                );
                true
            }
            _ => false,
        }
    }

    pub(super) fn pats_match(&mut self, pats: &[Pat], v: CValue, ty: &Ty) -> Result<CValue, Unsupported> {
        let mut acc = self.builder.ins().iconst(types::I8, 0);
        for p in pats {
            let m = match p {
                Pat::Wildcard => self.builder.ins().iconst(types::I8, 1),
                Pat::Const(c) => {
                    let cty = if matches!(c, Const::None) { Ty::NoneLit } else { ty.strip().clone() };
                    let t = self.const_operand(c, &cty);
                    self.equal(v, t, ty, Loc::default())?
                }
            };
            acc = self.builder.ins().bor(acc, m);
        }
        Ok(acc)
    }

    pub(super) fn aggregate(
        &mut self,
        op: Aggregate,
        list: &Expr,
        slot: u32,
        body: &Expr,
        dst: CValue,
        e: &Expr,
    ) -> Result<(), Unsupported> {
        let l = self.operand(list)?;
        let var = self.local(slot);
        let x = self.temp();
        match op {
            Aggregate::SumInt => {
                let z = self.builder.ins().iconst(types::I64, 0);
                self.store_words(dst, z, None);
                self.each(l, var, |f| {
                    f.expr(body, x)?;
                    let acc = f.word0(dst);
                    let v = f.word0(x);
                    let (r, of) = f.builder.ins().sadd_overflow(acc, v);
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
                        f.call_one_to_cell(helpers::int_to_dec, x, x, ());
                    }
                    let status = f.call_two_to_cell(helpers::dec_add, dst, x, dst, ());
                    f.check_status(status, e.loc);
                    Ok(())
                })?;
            }
            Aggregate::SumMoney => {
                self.store_none(dst);
                self.each(l, var, |f| {
                    f.expr(body, x)?;
                    let tag = f.tag(dst);
                    let add = f.builder.create_block();
                    let first = f.builder.create_block();
                    let end = f.builder.create_block();
                    f.builder.ins().brif(tag, add, &[], first, &[]);
                    f.builder.switch_to_block(first);
                    f.copy_cell(x, dst);
                    f.builder.ins().jump(end, &[]);
                    f.builder.switch_to_block(add);
                    f.small_add_with(
                        dst,
                        x,
                        (false, true),
                        dst,
                        |f| f.call_two_to_cell(helpers::money_sum_add, dst, x, dst, ()),
                        e.loc,
                    );
                    f.builder.ins().jump(end, &[]);
                    f.builder.switch_to_block(end);
                    Ok(())
                })?;
            }
            Aggregate::Count => {
                let z = self.builder.ins().iconst(types::I64, 0);
                self.store_words(dst, z, None);
                self.each(l, var, |f| {
                    f.expr(body, x)?;
                    let v = f.load(types::I8, x, 0);
                    let v = f.builder.ins().uextend(types::I64, v);
                    let acc = f.word0(dst);
                    let r = f.builder.ins().iadd(acc, v);
                    f.store_words(dst, r, None);
                    Ok(())
                })?;
            }
            Aggregate::Map | Aggregate::SortBy { .. } => {
                // Each value straight into its cell of a new list as long as `list`;
                // `sort_by` then orders the elements by these keys in a helper.
                let len = self.load(types::I64, l, 8);
                let n = self.temp();
                self.store_words(n, len, None);
                let out = self.temp();
                self.call_one_to_cell(helpers::alloc_cells, n, out, ());
                let base = self.word0(out);
                let k = self.builder.declare_var(types::I64);
                let z = self.builder.ins().iconst(types::I64, 0);
                self.builder.def_var(k, z);
                self.each(l, var, |f| {
                    let kv = f.builder.use_var(k);
                    let off = f.builder.ins().imul_imm_s(kv, CELL as i64);
                    let slot = f.builder.ins().iadd(base, off);
                    f.expr(body, slot)?;
                    let next = f.builder.ins().iadd_imm_s(kv, 1);
                    f.builder.def_var(k, next);
                    Ok(())
                })?;
                match op {
                    Aggregate::SortBy { kind, descending } => {
                        let spec = SortSpec { kind, descending };
                        let status = self.call_two_to_cell(helpers::sort_by, l, out, dst, spec);
                        self.check_status(status, e.loc);
                    }
                    _ => self.copy_cell(out, dst),
                }
            }
            Aggregate::Filter => {
                let len = self.load(types::I64, l, 8);
                let n = self.temp();
                self.store_words(n, len, None);
                let out = self.temp();
                self.call_one_to_cell(helpers::alloc_cells, n, out, ());
                let base = self.word0(out);
                let k = self.builder.declare_var(types::I64);
                let z = self.builder.ins().iconst(types::I64, 0);
                self.builder.def_var(k, z);
                self.each(l, var, |f| {
                    let c = f.truth(body)?;
                    let keep = f.builder.create_block();
                    let next = f.builder.create_block();
                    f.builder.ins().brif(c, keep, &[], next, &[]);
                    f.builder.switch_to_block(keep);
                    let kv = f.builder.use_var(k);
                    let off = f.builder.ins().imul_imm_s(kv, CELL as i64);
                    let slot = f.builder.ins().iadd(base, off);
                    f.copy_cell(var, slot);
                    let k1 = f.builder.ins().iadd_imm_s(kv, 1);
                    f.builder.def_var(k, k1);
                    f.builder.ins().jump(next, &[]);
                    f.builder.switch_to_block(next);
                    Ok(())
                })?;
                let kv = self.builder.use_var(k);
                self.store_words(dst, base, Some(kv));
            }
            Aggregate::Find => {
                // Stops at the first element that passes (as the interpreter does).
                self.store_none(x);
                let ptr = self.word0(l);
                let len = self.load(types::I64, l, 8);
                let i = self.builder.declare_var(types::I64);
                let z = self.builder.ins().iconst(types::I64, 0);
                self.builder.def_var(i, z);
                let head = self.builder.create_block();
                let bodyb = self.builder.create_block();
                let hit = self.builder.create_block();
                let next = self.builder.create_block();
                let end = self.builder.create_block();
                self.builder.ins().jump(head, &[]);
                self.builder.switch_to_block(head);
                let iv = self.builder.use_var(i);
                let more = self.builder.ins().icmp(IntCC::SignedLessThan, iv, len);
                self.builder.ins().brif(more, bodyb, &[], end, &[]);
                self.builder.switch_to_block(bodyb);
                let off = self.builder.ins().imul_imm_s(iv, CELL as i64);
                let elem = self.builder.ins().iadd(ptr, off);
                self.copy_cell(elem, var);
                let c = self.truth(body)?;
                self.builder.ins().brif(c, hit, &[], next, &[]);
                self.builder.switch_to_block(hit);
                self.copy_cell(var, x);
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(next);
                let iv = self.builder.use_var(i);
                let n = self.builder.ins().iadd_imm_s(iv, 1);
                self.builder.def_var(i, n);
                self.builder.ins().jump(head, &[]);
                self.builder.switch_to_block(end);
                self.copy_cell(x, dst);
            }
            Aggregate::Any | Aggregate::All => {
                // Stops at the first element that decides (as the interpreter does).
                let want = i64::from(op == Aggregate::Any);
                let init = self.builder.ins().iconst(types::I64, 1 - want);
                self.store_words(dst, init, None);
                let ptr = self.word0(l);
                let len = self.load(types::I64, l, 8);
                let i = self.builder.declare_var(types::I64);
                let z = self.builder.ins().iconst(types::I64, 0);
                self.builder.def_var(i, z);
                let head = self.builder.create_block();
                let bodyb = self.builder.create_block();
                let hit = self.builder.create_block();
                let next = self.builder.create_block();
                let end = self.builder.create_block();
                self.builder.ins().jump(head, &[]);
                self.builder.switch_to_block(head);
                let iv = self.builder.use_var(i);
                let more = self.builder.ins().icmp(IntCC::SignedLessThan, iv, len);
                self.builder.ins().brif(more, bodyb, &[], end, &[]);
                self.builder.switch_to_block(bodyb);
                let off = self.builder.ins().imul_imm_s(iv, CELL as i64);
                let elem = self.builder.ins().iadd(ptr, off);
                self.copy_cell(elem, var);
                self.expr(body, x)?;
                let v = self.load(types::I8, x, 0);
                let v = self.builder.ins().uextend(types::I64, v);
                let decided = self.builder.ins().icmp_imm_s(IntCC::Equal, v, want);
                self.builder.ins().brif(decided, hit, &[], next, &[]);
                self.builder.switch_to_block(hit);
                let w = self.builder.ins().iconst(types::I64, want);
                self.store_words(dst, w, None);
                self.builder.ins().jump(end, &[]);
                self.builder.switch_to_block(next);
                let iv = self.builder.use_var(i);
                let n = self.builder.ins().iadd_imm_s(iv, 1);
                self.builder.def_var(i, n);
                self.builder.ins().jump(head, &[]);
                self.builder.switch_to_block(end);
            }
        }
        Ok(())
    }
}
