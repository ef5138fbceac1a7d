//! Arithmetic and comparison: inline Int operations and fast paths, helpers otherwise.

use canon_compiler::ir::{BinaryOp, CmpOp, Const, Expr, ExprKind, Loc};
use canon_compiler::types::{OrdKind, Ty};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::Value as CValue;
use cranelift_codegen::ir::{types, BlockArg, InstBuilder};

use crate::rt::{helpers, Comparison, TwoToCell, TypePair};

use super::{BodyLowering, Unsupported};

impl BodyLowering<'_, '_, '_> {
    pub(super) fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        dst: CValue,
        e: &Expr,
    ) -> Result<(), Unsupported> {
        if matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Cmp(..)) {
            // A truth value (`truth` short-circuits `and` and `or`), as a Bool cell.
            let r = self.truth(e)?;
            let w = self.builder.ins().uextend(types::I64, r);
            self.store_words(dst, w, None);
            return Ok(());
        }
        let a = self.operand(lhs)?;
        let b = self.operand(rhs)?;
        let h: Option<TwoToCell> = match op {
            BinaryOp::AddInt | BinaryOp::SubInt | BinaryOp::MulInt => {
                let x = self.word0(a);
                let y = self.word0(b);
                let (r, of) = match op {
                    BinaryOp::AddInt => self.builder.ins().sadd_overflow(x, y),
                    BinaryOp::SubInt => self.builder.ins().ssub_overflow(x, y),
                    _ => self.builder.ins().smul_overflow(x, y),
                };
                self.int_overflow_check(of, e.loc);
                self.store_words(dst, r, None);
                None
            }
            BinaryOp::DivInt => Some(helpers::int_div),
            BinaryOp::AddDecimal | BinaryOp::SubDecimal | BinaryOp::AddMoney | BinaryOp::SubMoney => {
                let (h, sub, money) = match op {
                    BinaryOp::AddDecimal => (helpers::dec_add, false, false),
                    BinaryOp::SubDecimal => (helpers::dec_sub, true, false),
                    BinaryOp::AddMoney => (helpers::money_add, false, true),
                    _ => (helpers::money_sub, true, true),
                };
                self.small_add_with(a, b, (sub, money), dst, |f| f.call_two_to_cell(h, a, b, dst, ()), e.loc);
                None
            }
            BinaryOp::MulDecimal | BinaryOp::MulMoneyDecimal | BinaryOp::MulDecimalMoney => {
                let h = match op {
                    BinaryOp::MulDecimal => helpers::dec_mul,
                    BinaryOp::MulMoneyDecimal => helpers::money_mul_dec,
                    _ => helpers::dec_mul_money,
                };
                let currency_of = match op {
                    BinaryOp::MulDecimal => None,
                    BinaryOp::MulMoneyDecimal => Some((a, 16)),
                    _ => Some((b, 16)),
                };
                self.small_mul(a, b, currency_of, dst, h, e.loc);
                None
            }
            BinaryOp::DivDecimal => Some(helpers::dec_div),
            BinaryOp::DivMoneyDecimal => Some(helpers::money_div_dec),
            BinaryOp::DivMoneyMoney => Some(helpers::money_div_money),
            BinaryOp::Concat => Some(helpers::concat),
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Cmp(..) => None,
            BinaryOp::And | BinaryOp::Or => None,
        };
        if let Some(h) = h {
            let status = self.call_two_to_cell(h, a, b, dst, ());
            self.check_status(status, e.loc);
        }
        Ok(())
    }

    /// `lhs op rhs` for an equality or comparison `op`: the i8 truth value
    /// (`None`, and nothing emitted, for any other operator).
    pub(super) fn comparison(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        e: &Expr,
    ) -> Result<Option<CValue>, Unsupported> {
        match op {
            BinaryOp::Eq | BinaryOp::Ne => {
                let a = self.operand(lhs)?;
                let b = self.operand(rhs)?;
                let ty = if lhs.ty.is_optional() { rhs.ty.clone() } else { lhs.ty.clone() };
                let ty = if matches!(ty, Ty::NoneLit) { lhs.ty.clone() } else { ty };
                let is_none = |x: &Expr| matches!(x.kind, ExprKind::Const(Const::None));
                let r = if is_none(lhs) || is_none(rhs) {
                    // `x == none`: only the tags matter.
                    let ta = self.tag(a);
                    let tb = self.tag(b);
                    self.builder.ins().icmp(IntCC::Equal, ta, tb)
                } else if lhs.ty.strip() != rhs.ty.strip() && !matches!(ty.strip(), Ty::NoneLit) {
                    // Different types (an Int list against a Decimal list):
                    // compared by value, each side read as its own type.
                    let (lt, rt) = (lhs.ty.clone(), rhs.ty.clone());
                    self.equal_as(a, b, &lt, &rt, e.loc)
                } else {
                    self.equal(a, b, &ty, e.loc)?
                };
                Ok(Some(if op == BinaryOp::Ne {
                    let one = self.builder.ins().iconst(types::I8, 1);
                    self.builder.ins().bxor(r, one)
                } else {
                    r
                }))
            }
            BinaryOp::Cmp(cop, kind) => {
                let a = self.operand(lhs)?;
                let b = self.operand(rhs)?;
                Ok(Some(self.compare(cop, kind, a, b, e.loc)?))
            }
            _ => Ok(None),
        }
    }

    /// Decimal (or Money) multiplication with an inline fast path: when both
    /// coefficients fit in 32 bits and the scales add up to at most 28, the
    /// product is exact and is built here, as `num::mul` builds it (a zero
    /// is never negative); otherwise the helper `h` computes it. `currency_of`
    /// is the cell and byte offset of the currency the result takes.
    pub(super) fn small_mul(
        &mut self,
        a: CValue,
        b: CValue,
        currency_of: Option<(CValue, i32)>,
        dst: CValue,
        h: TwoToCell,
        loc: Loc,
    ) {
        self.small_mul_with(a, b, currency_of, dst, |f| f.call_two_to_cell(h, a, b, dst, ()), loc);
    }

    /// [`BodyLowering::small_mul`] whose slow path is the helper call `slow_call` emits
    /// (it returns the status).
    pub(super) fn small_mul_with(
        &mut self,
        a: CValue,
        b: CValue,
        currency_of: Option<(CValue, i32)>,
        dst: CValue,
        slow_call: impl FnOnce(&mut Self) -> CValue,
        loc: Loc,
    ) {
        let x0 = self.load(types::I64, a, 0);
        let x1 = self.load(types::I64, a, 8);
        let y0 = self.load(types::I64, b, 0);
        let y1 = self.load(types::I64, b, 8);
        let hi = self.builder.ins().bor(x1, y1);
        let small = self.builder.ins().icmp_imm_s(IntCC::Equal, hi, 0);
        // Decimal::serialize: flags (scale in bits 16..24, sign in bit 31), then lo, mid, hi.
        let xs = self.builder.ins().ushr_imm_u(x0, 16);
        let xs = self.builder.ins().band_imm_s(xs, 0xff);
        let ys = self.builder.ins().ushr_imm_u(y0, 16);
        let ys = self.builder.ins().band_imm_s(ys, 0xff);
        let scale = self.builder.ins().iadd(xs, ys);
        let fits = self.builder.ins().icmp_imm_s(IntCC::UnsignedLessThanOrEqual, scale, 28);
        let ok = self.builder.ins().band(small, fits);
        let fast = self.builder.create_block();
        let slow = self.builder.create_block();
        let end = self.builder.create_block();
        self.builder.set_cold_block(slow);
        self.builder.ins().brif(ok, fast, &[], slow, &[]);

        self.builder.switch_to_block(fast);
        let xl = self.builder.ins().ushr_imm_u(x0, 32);
        let yl = self.builder.ins().ushr_imm_u(y0, 32);
        let p = self.builder.ins().imul(xl, yl);
        let sign = self.builder.ins().bxor(x0, y0);
        let sign = self.builder.ins().ushr_imm_u(sign, 31);
        let sign = self.builder.ins().band_imm_s(sign, 1);
        let nonzero = self.builder.ins().icmp_imm_s(IntCC::NotEqual, p, 0);
        let nonzero = self.builder.ins().uextend(types::I64, nonzero);
        let sign = self.builder.ins().band(sign, nonzero);
        let sign = self.builder.ins().ishl_imm_u(sign, 31);
        let flags = self.builder.ins().ishl_imm_u(scale, 16);
        let flags = self.builder.ins().bor(flags, sign);
        let w2 = match currency_of {
            Some((m, at)) => {
                let w = self.load(types::I64, m, at);
                self.builder.ins().band_imm_s(w, 0xff_ffff)
            }
            None => self.builder.ins().iconst(types::I64, 0),
        };
        self.inline_decimal_tail(flags, p, w2, dst, end, slow, slow_call, loc);
    }

    /// Decimal (or Money, `money`) addition, or subtraction (`sub`), with an
    /// inline fast path: when both coefficients fit in 32 bits, the scales
    /// are equal (and, for Money, the currencies), the exact result is built
    /// here as `num::add` builds it (the common scale; a zero is never
    /// negative); otherwise `slow_call` emits the helper call (it returns the
    /// status). `dst` may be `a` or `b`: both are read before it is written.
    pub(super) fn small_add_with(
        &mut self,
        a: CValue,
        b: CValue,
        (sub, money): (bool, bool),
        dst: CValue,
        slow_call: impl FnOnce(&mut Self) -> CValue,
        loc: Loc,
    ) {
        let x0 = self.load(types::I64, a, 0);
        let x1 = self.load(types::I64, a, 8);
        let y0 = self.load(types::I64, b, 0);
        let y1 = self.load(types::I64, b, 8);
        let hi = self.builder.ins().bor(x1, y1);
        let small = self.builder.ins().icmp_imm_s(IntCC::Equal, hi, 0);
        // Decimal::serialize: flags (scale in bits 16..24, sign in bit 31), then lo, mid, hi.
        let xs = self.builder.ins().band_imm_s(x0, 0xff_0000);
        let ys = self.builder.ins().band_imm_s(y0, 0xff_0000);
        let same_scale = self.builder.ins().icmp(IntCC::Equal, xs, ys);
        let ok = self.builder.ins().band(small, same_scale);
        let (ok, cur) = if money {
            let ca = self.load(types::I64, a, 16);
            let ca = self.builder.ins().band_imm_s(ca, 0xff_ffff);
            let cb = self.load(types::I64, b, 16);
            let cb = self.builder.ins().band_imm_s(cb, 0xff_ffff);
            let same = self.builder.ins().icmp(IntCC::Equal, ca, cb);
            (self.builder.ins().band(ok, same), Some(ca))
        } else {
            (ok, None)
        };
        let fast = self.builder.create_block();
        let slow = self.builder.create_block();
        let end = self.builder.create_block();
        self.builder.set_cold_block(slow);
        self.builder.ins().brif(ok, fast, &[], slow, &[]);

        self.builder.switch_to_block(fast);
        // Signed coefficients (below 2^32 in magnitude): their sum cannot overflow.
        let ma = self.builder.ins().ushr_imm_u(x0, 32);
        let mb = self.builder.ins().ushr_imm_u(y0, 32);
        let na = self.builder.ins().ushr_imm_u(x0, 31);
        let na = self.builder.ins().band_imm_s(na, 1);
        let nb = self.builder.ins().ushr_imm_u(y0, 31);
        let nb = self.builder.ins().band_imm_s(nb, 1);
        let nb = if sub { self.builder.ins().bxor_imm_s(nb, 1) } else { nb };
        let neg_ma = self.builder.ins().ineg(ma);
        let neg_mb = self.builder.ins().ineg(mb);
        let va = self.builder.ins().select(na, neg_ma, ma);
        let vb = self.builder.ins().select(nb, neg_mb, mb);
        let s = self.builder.ins().iadd(va, vb);
        let negative = self.builder.ins().icmp_imm_s(IntCC::SignedLessThan, s, 0);
        let mag = self.builder.ins().iabs(s);
        let sign = self.builder.ins().uextend(types::I64, negative);
        let sign = self.builder.ins().ishl_imm_u(sign, 31);
        let flags = self.builder.ins().bor(xs, sign);
        let w2 = match cur {
            Some(c) => c,
            None => self.builder.ins().iconst(types::I64, 0),
        };
        self.inline_decimal_tail(flags, mag, w2, dst, end, slow, slow_call, loc);
    }

    /// The common end of the inline Decimal fast paths: the result (flags,
    /// a magnitude below 2^64, the currency word `w2`) is stored in `dst`'s
    /// cell and joins `end`; then the `slow` block calls the helper and
    /// joins `end` too, where building continues.
    #[allow(clippy::too_many_arguments)]
    fn inline_decimal_tail(
        &mut self,
        flags: CValue,
        mag: CValue,
        w2: CValue,
        dst: CValue,
        end: cranelift_codegen::ir::Block,
        slow: cranelift_codegen::ir::Block,
        slow_call: impl FnOnce(&mut Self) -> CValue,
        loc: Loc,
    ) {
        let lo = self.builder.ins().ishl_imm_u(mag, 32);
        let w0 = self.builder.ins().bor(flags, lo);
        let w1 = self.builder.ins().ushr_imm_u(mag, 32);
        let one = self.builder.ins().iconst(types::I64, 1);
        self.store(w0, dst, 0);
        self.store(w1, dst, 8);
        self.store(w2, dst, 16);
        self.store(one, dst, 24);
        self.builder.ins().jump(end, &[]);

        self.builder.switch_to_block(slow);
        let status = slow_call(self);
        self.check_status(status, loc);
        self.builder.ins().jump(end, &[]);
        self.builder.switch_to_block(end);
    }

    /// Equality of two Decimal (or Money, `money`) cells of type `ty`
    /// (optional or not), inline when both are present and have one scale
    /// and sign (equal exactly when the coefficients are), or one is zero,
    /// or (Money) the currencies differ (never equal); else the `eq` helper.
    /// An i8.
    fn decimal_equal(&mut self, a: CValue, b: CValue, ty: &Ty, money: bool, loc: Loc) -> CValue {
        let x0 = self.load(types::I64, a, 0);
        let x1 = self.load(types::I64, a, 8);
        let y0 = self.load(types::I64, b, 0);
        let y1 = self.load(types::I64, b, 8);
        let fa = self.builder.ins().ireduce(types::I32, x0);
        let fb = self.builder.ins().ireduce(types::I32, y0);
        let same_flags = self.builder.ins().icmp(IntCC::Equal, fa, fb);
        let ma = self.builder.ins().ushr_imm_u(x0, 32);
        let ma = self.builder.ins().bor(ma, x1);
        let mb = self.builder.ins().ushr_imm_u(y0, 32);
        let mb = self.builder.ins().bor(mb, y1);
        let az = self.builder.ins().icmp_imm_s(IntCC::Equal, ma, 0);
        let bz = self.builder.ins().icmp_imm_s(IntCC::Equal, mb, 0);
        let e0 = self.builder.ins().icmp(IntCC::Equal, x0, y0);
        let e1 = self.builder.ins().icmp(IntCC::Equal, x1, y1);
        let words_equal = self.builder.ins().band(e0, e1);
        let both_zero = self.builder.ins().band(az, bz);
        let value_equal = self.builder.ins().select(same_flags, words_equal, both_zero);
        let any_zero = self.builder.ins().bor(az, bz);
        let mut fast = self.builder.ins().bor(same_flags, any_zero);
        let mut r = value_equal;
        if money {
            let ca = self.load(types::I64, a, 16);
            let ca = self.builder.ins().band_imm_s(ca, 0xff_ffff);
            let cb = self.load(types::I64, b, 16);
            let cb = self.builder.ins().band_imm_s(cb, 0xff_ffff);
            let same = self.builder.ins().icmp(IntCC::Equal, ca, cb);
            let differ = self.builder.ins().icmp(IntCC::NotEqual, ca, cb);
            fast = self.builder.ins().bor(fast, differ);
            r = self.builder.ins().band(r, same);
        }
        if ty.is_optional() {
            // `none` equals only `none`.
            let ta = self.tag(a);
            let tb = self.tag(b);
            let pa = self.builder.ins().icmp_imm_s(IntCC::NotEqual, ta, 0);
            let pb = self.builder.ins().icmp_imm_s(IntCC::NotEqual, tb, 0);
            let both = self.builder.ins().band(pa, pb);
            let same_tag = self.builder.ins().icmp(IntCC::Equal, pa, pb);
            let not_both = self.builder.ins().icmp_imm_s(IntCC::Equal, both, 0);
            fast = self.builder.ins().bor(fast, not_both);
            r = self.builder.ins().select(both, r, same_tag);
        }
        let inline = self.builder.create_block();
        let slow = self.builder.create_block();
        let merge = self.builder.create_block();
        self.builder.append_block_param(merge, types::I8);
        self.builder.set_cold_block(slow);
        self.builder.ins().brif(fast, inline, &[], slow, &[]);
        self.builder.switch_to_block(inline);
        self.builder.ins().jump(merge, &[BlockArg::Value(r)]);
        self.builder.switch_to_block(slow);
        let o = self.equal_as(a, b, ty, ty, loc);
        self.builder.ins().jump(merge, &[BlockArg::Value(o)]);
        self.builder.switch_to_block(merge);
        match self.builder.block_params(merge).first().copied() {
            Some(v) => v,
            None => self.builder.ins().iconst(types::I8, 0),
        }
    }

    /// Equality of two cells of type `ty` (optional or not); an i8.
    pub(super) fn equal(&mut self, a: CValue, b: CValue, ty: &Ty, loc: Loc) -> Result<CValue, Unsupported> {
        match ty.strip() {
            Ty::Int | Ty::Bool | Ty::Enum(_) | Ty::Date | Ty::Timestamp | Ty::Currency | Ty::NoneLit => {
                // Cells are written whole, so equal values have equal words 0 and 3.
                let x0 = self.word0(a);
                let y0 = self.word0(b);
                let x3 = self.load(types::I64, a, 24);
                let y3 = self.load(types::I64, b, 24);
                let e0 = self.builder.ins().icmp(IntCC::Equal, x0, y0);
                let e3 = self.builder.ins().icmp(IntCC::Equal, x3, y3);
                Ok(self.builder.ins().band(e0, e3))
            }
            Ty::Decimal => Ok(self.decimal_equal(a, b, ty, false, loc)),
            Ty::Money => Ok(self.decimal_equal(a, b, ty, true, loc)),
            _ => Ok(self.equal_as(a, b, ty, ty, loc)),
        }
    }

    /// Equality by value (the `eq` helper) of a cell of type `lty` and one
    /// of type `rty`; an i8.
    pub(super) fn equal_as(&mut self, a: CValue, b: CValue, lty: &Ty, rty: &Ty, loc: Loc) -> CValue {
        let t = self.temp();
        let types = TypePair { left: self.lowering.type_id(lty), right: self.lowering.type_id(rty) };
        let status = self.call_two_to_cell(helpers::eq, a, b, t, types);
        self.check_status(status, loc);
        self.load(types::I8, t, 0)
    }

    /// `a op b` for an ordered kind; an i8. Faults (currency mismatch) at `loc`.
    pub(super) fn compare(
        &mut self,
        op: CmpOp,
        kind: OrdKind,
        a: CValue,
        b: CValue,
        loc: Loc,
    ) -> Result<CValue, Unsupported> {
        let (x, y) = match kind {
            OrdKind::Int | OrdKind::Timestamp => (self.word0(a), self.word0(b)),
            OrdKind::Date => (self.load(types::I32, a, 0), self.load(types::I32, b, 0)),
            OrdKind::Decimal | OrdKind::Money => {
                // Inline when both have one scale and sign (the 96-bit
                // coefficients then order the values) or one side is zero,
                // and (Money) one currency; else the helper (which faults
                // on a currency mismatch).
                let fa = self.load(types::I32, a, 0);
                let fb = self.load(types::I32, b, 0);
                let ha = self.load(types::I64, a, 8);
                let hb = self.load(types::I64, b, 8);
                let la = self.load(types::I32, a, 4);
                let lb = self.load(types::I32, b, 4);
                let la64 = self.builder.ins().uextend(types::I64, la);
                let lb64 = self.builder.ins().uextend(types::I64, lb);
                let ma = self.builder.ins().bor(ha, la64);
                let mb = self.builder.ins().bor(hb, lb64);
                let az = self.builder.ins().icmp_imm_s(IntCC::Equal, ma, 0);
                let bz = self.builder.ins().icmp_imm_s(IntCC::Equal, mb, 0);
                let same = self.builder.ins().icmp(IntCC::Equal, fa, fb);
                let any_zero = self.builder.ins().bor(az, bz);
                let fast = self.builder.ins().bor(same, any_zero);
                let fast = if kind == OrdKind::Money {
                    let ca = self.load(types::I64, a, 16);
                    let ca = self.builder.ins().band_imm_s(ca, 0xff_ffff);
                    let cb = self.load(types::I64, b, 16);
                    let cb = self.builder.ins().band_imm_s(cb, 0xff_ffff);
                    let one_currency = self.builder.ins().icmp(IntCC::Equal, ca, cb);
                    self.builder.ins().band(fast, one_currency)
                } else {
                    fast
                };
                let inline = self.builder.create_block();
                let slow = self.builder.create_block();
                let merge = self.builder.create_block();
                self.builder.append_block_param(merge, types::I64);
                self.builder.ins().brif(fast, inline, &[], slow, &[]);
                self.builder.switch_to_block(inline);
                let m1 = self.builder.ins().iconst(types::I64, -1);
                let p1 = self.builder.ins().iconst(types::I64, 1);
                let z = self.builder.ins().iconst(types::I64, 0);
                let lt_h = self.builder.ins().icmp(IntCC::UnsignedLessThan, ha, hb);
                let gt_h = self.builder.ins().icmp(IntCC::UnsignedGreaterThan, ha, hb);
                let lt_l = self.builder.ins().icmp(IntCC::UnsignedLessThan, la, lb);
                let gt_l = self.builder.ins().icmp(IntCC::UnsignedGreaterThan, la, lb);
                let oh_gt = self.builder.ins().select(gt_h, p1, z);
                let oh = self.builder.ins().select(lt_h, m1, oh_gt);
                let ol_gt = self.builder.ins().select(gt_l, p1, z);
                let ol = self.builder.ins().select(lt_l, m1, ol_gt);
                let heq = self.builder.ins().icmp(IntCC::Equal, ha, hb);
                let o_mag = self.builder.ins().select(heq, ol, oh);
                let neg_a = self.builder.ins().icmp_imm_s(IntCC::SignedLessThan, fa, 0);
                let neg_b = self.builder.ins().icmp_imm_s(IntCC::SignedLessThan, fb, 0);
                let o_neg = self.builder.ins().ineg(o_mag);
                let o_same = self.builder.ins().select(neg_a, o_neg, o_mag);
                // b is zero: the sign of a decides (0 when a is zero too).
                let sa = self.builder.ins().select(neg_a, m1, p1);
                let o_bz = self.builder.ins().select(az, z, sa);
                // a is zero, b is not: the opposite of b's sign.
                let o_az = self.builder.ins().select(neg_b, p1, m1);
                let o_zero = self.builder.ins().select(bz, o_bz, o_az);
                let o = self.builder.ins().select(same, o_same, o_zero);
                self.builder.ins().jump(merge, &[BlockArg::Value(o)]);
                self.builder.switch_to_block(slow);
                let t = self.temp();
                let status = self.call_two_to_cell(helpers::cmp, a, b, t, Comparison { kind, op });
                self.check_status(status, loc);
                let o = self.word0(t);
                self.builder.ins().jump(merge, &[BlockArg::Value(o)]);
                self.builder.switch_to_block(merge);
                let o = self.builder.block_params(merge).first().copied().unwrap_or(z);
                let z2 = self.builder.ins().iconst(types::I64, 0);
                (o, z2)
            }
            _ => {
                let t = self.temp();
                let status = self.call_two_to_cell(helpers::cmp, a, b, t, Comparison { kind, op });
                self.check_status(status, loc);
                let o = self.word0(t);
                let z = self.builder.ins().iconst(types::I64, 0);
                (o, z)
            }
        };
        let cc = match op {
            CmpOp::Lt => IntCC::SignedLessThan,
            CmpOp::Le => IntCC::SignedLessThanOrEqual,
            CmpOp::Gt => IntCC::SignedGreaterThan,
            CmpOp::Ge => IntCC::SignedGreaterThanOrEqual,
        };
        Ok(self.builder.ins().icmp(cc, x, y))
    }
}
