//! Operators: unary `-` and `not`, arithmetic, comparison, `and`/`or`, `??` and `in`.

use super::{facts, mk, unify, Env, OPTIONAL_HELP};
use crate::check::Checker;
use crate::diagnostics::{Code, Data};
use crate::ir::{self, BinaryOp, CmpOp, Const, ExprKind, UnaryOp};
use crate::syntax::ast::{self, BinOp, Span};
use crate::types::Ty;

impl<'a> Checker<'a> {
    pub(super) fn unary(&mut self, env: &mut Env, op: ast::UnOp, e: &ast::Expr, span: Span) -> ir::Expr {
        let loc = self.loc(span);
        match op {
            ast::UnOp::Not => {
                let x = self.expect(env, e, &Ty::Bool);
                mk(ExprKind::Unary { op: UnaryOp::Not, expr: Box::new(x) }, Ty::Bool, loc)
            }
            ast::UnOp::Neg => {
                let x = self.expr(env, e, None);
                let x = self.require_value(x, e.span);
                let (op, ty) = match x.ty {
                    Ty::Int => (UnaryOp::NegInt, Ty::Int),
                    Ty::Decimal => (UnaryOp::NegDecimal, Ty::Decimal),
                    Ty::Money => (UnaryOp::NegMoney, Ty::Money),
                    Ty::Error => return self.err_expr(span),
                    ref other => {
                        let shown = self.show(other);
                        self.error(Code::E0204, span, format!("`-` is not defined for `{shown}`"));
                        return self.err_expr(span);
                    }
                };
                mk(ExprKind::Unary { op, expr: Box::new(x) }, ty, loc)
            }
        }
    }

    /// True when an expression gets its meaning from the other operand (a bare variant or `none`).
    pub(super) fn is_contextual(&self, env: &Env, e: &ast::Expr) -> bool {
        match &e.kind {
            ast::ExprKind::Name(id) => {
                env.lookup(&id.text).is_none()
                    && id.text != "meta"
                    && (self.variant_owners.contains_key(&id.text)
                        || (!self.values.contains_key(&id.text) && !self.types.contains_key(&id.text)))
            }
            ast::ExprKind::Lit(ast::LitKind::None) | ast::ExprKind::List(_) => true,
            ast::ExprKind::Paren(i) => self.is_contextual(env, i),
            _ => false,
        }
    }

    pub(super) fn binary(
        &mut self,
        env: &mut Env,
        op: BinOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: Span,
        expected: Option<&Ty>,
    ) -> ir::Expr {
        let loc = self.loc(span);
        match op {
            BinOp::And | BinOp::Or => {
                let a = self.expect(env, lhs, &Ty::Bool);
                // LANGUAGE.md §7.3: only the rest of an `and` chain is a guarded region.
                let (t, f) = facts(&a);
                let m = env.mark();
                let u = self.unguarded_len();
                if op == BinOp::And {
                    env.narrow(t);
                } else {
                    self.unguard(f, super::Unguarded::Or);
                }
                let b = self.expect(env, rhs, &Ty::Bool);
                env.reset(&m);
                self.unguard_to(u);
                let op = if op == BinOp::And { BinaryOp::And } else { BinaryOp::Or };
                mk(ExprKind::Binary { op, lhs: Box::new(a), rhs: Box::new(b) }, Ty::Bool, loc)
            }
            BinOp::Coalesce => {
                let a = self.expr(env, lhs, expected.map(|t| Ty::optional(t.clone())).as_ref());
                let inner = a.ty.strip().clone();
                let hint =
                    if matches!(inner, Ty::NoneLit | Ty::Error) { expected.cloned() } else { Some(inner.clone()) };
                let b = self.expr(env, rhs, hint.as_ref());
                // `none ?? x` is `x`, whatever `x` is (unifying `none` with
                // `Int` would make it `Int?`).
                let unified = if matches!(inner, Ty::NoneLit) { Some(b.ty.clone()) } else { unify(&inner, &b.ty) };
                let ty = match unified {
                    Some(t) => t,
                    None => {
                        let (x, y) = (self.show(&inner), self.show(&b.ty));
                        self.error(Code::E0201, rhs.span, format!("the default is `{y}` but the value is `{x}`"));
                        return self.err_expr(span);
                    }
                };
                let a_target = Ty::optional(ty.strip().clone());
                let a = self.coerce(a, &a_target, lhs.span);
                let b = self.coerce(b, &ty, rhs.span);
                mk(ExprKind::Coalesce { lhs: Box::new(a), rhs: Box::new(b) }, ty, loc)
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (a, b) = if self.is_contextual(env, lhs) && !self.is_contextual(env, rhs) {
                    let b = self.expr(env, rhs, None);
                    let a = self.expr(env, lhs, Some(&b.ty));
                    (a, b)
                } else {
                    let a = self.expr(env, lhs, None);
                    let b = self.expr(env, rhs, Some(&a.ty));
                    (a, b)
                };
                self.comparison(op, a, b, lhs.span, rhs.span, span)
            }
            BinOp::In | BinOp::NotIn => {
                let a = self.expr(env, lhs, None);
                let list_ty = Ty::list(a.ty.strip().clone());
                // The value's type names bare variants in the list; numbers
                // and lists unify with the list's elements instead.
                let hint = !matches!(a.ty.strip(), Ty::Int | Ty::Decimal | Ty::List(_));
                let l = self.expr(env, rhs, hint.then_some(&list_ty));
                let elem = match &l.ty {
                    Ty::List(t) => (**t).clone(),
                    Ty::Error => Ty::Error,
                    other => {
                        let shown = self.show(other);
                        self.error(Code::E0201, rhs.span, format!("`in` needs a list on the right, found `{shown}`"));
                        Ty::Error
                    }
                };
                let a = match unify(&a.ty, &elem) {
                    Some(u) => {
                        // As for `==` (§3): an Int value meets Decimal
                        // elements as a Decimal, a `T?` may be looked for
                        // among `T`s; elements of another numeric type than
                        // the value's are compared by value, the list keeps
                        // its type (there is no List<Int> to List<Decimal>).
                        let a = if u.strip() == &Ty::Decimal {
                            let t = if a.ty.is_optional() { Ty::optional(Ty::Decimal) } else { Ty::Decimal };
                            self.coerce(a, &t, lhs.span)
                        } else {
                            a
                        };
                        return mk(
                            ExprKind::In { value: Box::new(a), list: Box::new(l), negated: op == BinOp::NotIn },
                            Ty::Bool,
                            loc,
                        );
                    }
                    None => a,
                };
                let (x, y) = (self.show(&a.ty), self.show(&elem));
                // `p.status in ["OPEN", "CLOSED"]`: the variants whose wire names these are.
                let variants = match (a.ty.strip(), &l.kind) {
                    (Ty::Enum(e), ExprKind::List(items)) if !items.is_empty() => items
                        .iter()
                        .map(|i| match &i.kind {
                            ExprKind::Const(Const::Text(t)) => self.variant_for_text(*e, t),
                            _ => None,
                        })
                        .collect::<Option<Vec<String>>>(),
                    _ => None,
                };
                let d = self.error(Code::E0201, span, format!("cannot look for a `{x}` in a list of `{y}`"));
                if let Some(vs) = variants {
                    let list = format!("[{}]", vs.join(", "));
                    d.help = Some(format!("an enum is looked for among its variants, not their wire names: `{list}`"));
                    d.data = Some(Data::Replace { span: rhs.span, with: vec![list] });
                }
                self.err_expr(span)
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let a = self.expr(env, lhs, None);
                let b = self.expr(env, rhs, None);
                self.arithmetic(op, a, b, lhs.span, rhs.span, span)
            }
        }
    }

    pub(super) fn comparison(
        &mut self,
        op: BinOp,
        a: ir::Expr,
        b: ir::Expr,
        ls: Span,
        rs: Span,
        span: Span,
    ) -> ir::Expr {
        let loc = self.loc(span);
        if a.ty.is_error() || b.ty.is_error() {
            return self.err_expr(span);
        }
        if matches!(op, BinOp::Eq | BinOp::Ne) {
            let Some(u) = unify(&a.ty, &b.ty) else {
                let (x, y) = (self.show(&a.ty), self.show(&b.ty));
                let text = match (a.ty.strip(), &b.kind, b.ty.strip(), &a.kind) {
                    (Ty::Enum(e), ExprKind::Const(Const::Text(t)), _, _) => Some((*e, t.clone(), rs)),
                    (_, _, Ty::Enum(e), ExprKind::Const(Const::Text(t))) => Some((*e, t.clone(), ls)),
                    _ => None,
                };
                let hint = text.map(|(e, t, at)| (self.text_as_variant(e, &t), at));
                let d = self.error(Code::E0201, span, format!("cannot compare `{x}` with `{y}`"));
                if let Some(((help, with), at)) = hint {
                    d.help = Some(help);
                    d.data = with.map(|w| Data::Replace { span: at, with: vec![w] });
                }
                return self.err_expr(span);
            };
            // Compare T? with T by value: convert numbers, keep the rest.
            let target = if u.strip() == &Ty::Decimal { Some(u.clone()) } else { None };
            let (a, b) = match target {
                Some(t) => {
                    let ta = if a.ty.is_optional() { t.clone() } else { t.strip().clone() };
                    let tb = if b.ty.is_optional() { t.clone() } else { t.strip().clone() };
                    (self.coerce(a, &ta, ls), self.coerce(b, &tb, rs))
                }
                None => (a, b),
            };
            let op = if op == BinOp::Eq { BinaryOp::Eq } else { BinaryOp::Ne };
            return mk(ExprKind::Binary { op, lhs: Box::new(a), rhs: Box::new(b) }, Ty::Bool, loc);
        }
        let a = self.require_value(a, ls);
        let b = self.require_value(b, rs);
        if a.ty.is_error() || b.ty.is_error() {
            return self.err_expr(span);
        }
        let u = unify(&a.ty, &b.ty);
        let kind = u.as_ref().and_then(Ty::ord_kind);
        let (Some(u), Some(kind)) = (u, kind) else {
            let (x, y) = (self.show(&a.ty), self.show(&b.ty));
            let msg = if a.ty == b.ty {
                format!("`{}` is not defined for `{x}`: it has no order", op.symbol())
            } else {
                format!("cannot compare `{x}` with `{y}`")
            };
            self.error(Code::E0204, span, msg);
            return self.err_expr(span);
        };
        let a = self.coerce(a, &u, ls);
        let b = self.coerce(b, &u, rs);
        let cop = match op {
            BinOp::Lt => CmpOp::Lt,
            BinOp::Le => CmpOp::Le,
            BinOp::Gt => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        mk(ExprKind::Binary { op: BinaryOp::Cmp(cop, kind), lhs: Box::new(a), rhs: Box::new(b) }, Ty::Bool, loc)
    }

    pub(super) fn arithmetic(
        &mut self,
        op: BinOp,
        a: ir::Expr,
        b: ir::Expr,
        ls: Span,
        rs: Span,
        span: Span,
    ) -> ir::Expr {
        let loc = self.loc(span);
        if a.ty.is_error() || b.ty.is_error() {
            return self.err_expr(span);
        }
        use Ty::*;
        let pick = |at: &Ty, bt: &Ty| -> Option<(BinaryOp, Ty, Option<Ty>, Option<Ty>)> {
            // (op, result, convert lhs to, convert rhs to)
            Some(match (op, at, bt) {
                (BinOp::Add, Int, Int) => (BinaryOp::AddInt, Int, None, None),
                (BinOp::Sub, Int, Int) => (BinaryOp::SubInt, Int, None, None),
                (BinOp::Mul, Int, Int) => (BinaryOp::MulInt, Int, None, None),
                (BinOp::Div, Int, Int) => (BinaryOp::DivInt, Decimal, None, None),
                (BinOp::Add, Int | Decimal, Int | Decimal) => {
                    (BinaryOp::AddDecimal, Decimal, Some(Decimal), Some(Decimal))
                }
                (BinOp::Sub, Int | Decimal, Int | Decimal) => {
                    (BinaryOp::SubDecimal, Decimal, Some(Decimal), Some(Decimal))
                }
                (BinOp::Mul, Int | Decimal, Int | Decimal) => {
                    (BinaryOp::MulDecimal, Decimal, Some(Decimal), Some(Decimal))
                }
                (BinOp::Div, Int | Decimal, Int | Decimal) => {
                    (BinaryOp::DivDecimal, Decimal, Some(Decimal), Some(Decimal))
                }
                (BinOp::Add, Money, Money) => (BinaryOp::AddMoney, Money, None, None),
                (BinOp::Sub, Money, Money) => (BinaryOp::SubMoney, Money, None, None),
                (BinOp::Mul, Money, Int | Decimal) => (BinaryOp::MulMoneyDecimal, Money, None, Some(Decimal)),
                (BinOp::Mul, Int | Decimal, Money) => (BinaryOp::MulDecimalMoney, Money, Some(Decimal), None),
                (BinOp::Div, Money, Int | Decimal) => (BinaryOp::DivMoneyDecimal, Money, None, Some(Decimal)),
                (BinOp::Div, Money, Money) => (BinaryOp::DivMoneyMoney, Decimal, None, None),
                (BinOp::Add, Text, Text) => (BinaryOp::Concat, Text, None, None),
                _ => return None,
            })
        };
        match pick(&a.ty, &b.ty) {
            Some((bop, ty, ca, cb)) => {
                let a = match ca {
                    Some(t) => self.coerce(a, &t, ls),
                    None => a,
                };
                let b = match cb {
                    Some(t) => self.coerce(b, &t, rs),
                    None => b,
                };
                mk(ExprKind::Binary { op: bop, lhs: Box::new(a), rhs: Box::new(b) }, ty, loc)
            }
            None => {
                let (x, y) = (self.show(&a.ty), self.show(&b.ty));
                if pick(a.ty.strip(), b.ty.strip()).is_some() {
                    let (which, x) = if a.ty.is_optional() { (ls, &a) } else { (rs, &b) };
                    self.error(
                        Code::E0202,
                        which,
                        format!("`{}` needs values, but this one is optional", op.symbol()),
                    )
                    .help = Some(OPTIONAL_HELP.into());
                    self.why_optional(x, which);
                } else {
                    let help = match (op, a.ty.strip(), b.ty.strip()) {
                        (BinOp::Mul, Money, Money) => Some("multiply Money by a Decimal or Int, not by Money"),
                        (BinOp::Add | BinOp::Sub, Money, Int | Decimal)
                        | (BinOp::Add | BinOp::Sub, Int | Decimal, Money) => {
                            Some("add Money to Money: `money(x, currency(m))` makes Money from a Decimal")
                        }
                        (BinOp::Sub, Text, Text) => Some("Text supports `+` (concatenation) only"),
                        _ => None,
                    };
                    self.error(Code::E0204, span, format!("`{}` is not defined for `{x}` and `{y}`", op.symbol()))
                        .help = help.map(String::from);
                }
                self.err_expr(span)
            }
        }
    }
}
