//! Calls: user functions, decisions, built-ins and the aggregates `sum`, `count`, `any` and `all`.

use super::{mk, unify, Env};
use crate::check::{closest, Callee, Checker, ValueName};
use crate::diagnostics::Code;
use crate::ir::{self, Aggregate, Builtin, Const, ExprKind};
use crate::syntax::ast::{self, Span};
use crate::types::{Ty, ROUNDING, WEEKDAY};

impl<'a> Checker<'a> {
    pub(super) fn call(&mut self, env: &mut Env, callee: &ast::Ident, args: &[ast::Arg], span: Span, expected: Option<&Ty>) -> ir::Expr {
        let loc = self.loc(span);
        match self.values.get(&callee.text).copied() {
            Some(ValueName::Fn(id)) => {
                self.record_call(Callee::Fn(id.0), callee.span);
                let params: Vec<Ty> = self
                    .pkg
                    .functions
                    .get(id.0 as usize)
                    .map(|f| f.params.iter().map(|(_, t)| t.clone()).collect())
                    .unwrap_or_default();
                let ret = self.pkg.functions.get(id.0 as usize).map(|f| f.ret.clone()).unwrap_or(Ty::Error);
                let args = self.args(env, &callee.text, args, &params, span);
                mk(ExprKind::Call { func: id, args }, ret, loc)
            }
            Some(ValueName::Decision(id)) => {
                self.record_call(Callee::Decision(id.0), callee.span);
                let Some(def) = self.pkg.decisions.get(id.0 as usize) else { return self.err_expr(span) };
                let params: Vec<Ty> = def.params.iter().map(|(_, t)| t.clone()).collect();
                let ret = if def.hit == ir::Hit::Collect { Ty::list(def.ret.strip().clone()) } else { def.ret.clone() };
                let args = self.args(env, &callee.text, args, &params, span);
                mk(ExprKind::Decide { decision: id, args }, ret, loc)
            }
            Some(ValueName::Table(_)) => {
                self.error(Code::E0201, callee.span, format!("`{}` is a table", callee.text)).help =
                    Some(format!("look a row up with `{}[key]`", callee.text));
                self.err_expr(span)
            }
            Some(ValueName::Destination(_)) => {
                self.error(Code::E0201, callee.span, format!("`{}` is a destination", callee.text)).help =
                    Some(format!("send a record to it with `emit {} Record {{ ... }}`", callee.text));
                self.err_expr(span)
            }
            None => match self.builtin(env, callee, args, span, expected) {
                Some(e) => e,
                None if self.is_broken(&callee.text) => self.err_expr(span),
                None => {
                    let mut names: Vec<String> = self.values.keys().cloned().collect();
                    names.extend(crate::check::BUILTIN_FUNCTIONS.iter().map(|s| s.to_string()));
                    let help =
                        closest(&callee.text, names.iter().map(String::as_str)).map(|s| format!("did you mean `{s}`?"));
                    self.error(Code::E0101, callee.span, format!("unknown function `{}`", callee.text)).help = help;
                    self.err_expr(span)
                }
            },
        }
    }

    pub(super) fn args(&mut self, env: &mut Env, name: &str, args: &[ast::Arg], params: &[Ty], span: Span) -> Vec<ir::Expr> {
        if args.len() != params.len() {
            let s = if params.len() == 1 { "" } else { "s" };
            self.error(
                Code::E0203,
                span,
                format!("`{name}` takes {} argument{s} but {} were given", params.len(), args.len()),
            );
        }
        let mut out = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let x = match (a, params.get(i)) {
                (ast::Arg::Expr(e), Some(t)) => self.expect(env, e, t),
                (ast::Arg::Expr(e), None) => self.expr(env, e, None),
                (ast::Arg::Lambda { span, .. }, _) => {
                    self.lambda_misplaced(*span);
                    self.err_expr(*span)
                }
            };
            out.push(x);
        }
        out
    }

    pub(super) fn lambda_misplaced(&mut self, span: Span) {
        self.error(Code::E0201, span, "a lambda `x => ...` is only allowed as an argument of sum, count, any and all");
    }

    pub(super) fn arg_expr<'e>(&mut self, a: &'e ast::Arg) -> Option<&'e ast::Expr> {
        match a {
            ast::Arg::Expr(e) => Some(e),
            ast::Arg::Lambda { span, .. } => {
                self.lambda_misplaced(*span);
                None
            }
        }
    }

    /// Checks an argument with no expected type and requires a value (not optional).
    pub(super) fn value_arg(&mut self, env: &mut Env, a: &ast::Arg) -> ir::Expr {
        match self.arg_expr(a) {
            Some(e) => {
                let x = self.expr(env, e, None);
                self.require_value(x, e.span)
            }
            None => mk(ExprKind::Error, Ty::Error, ir::Loc::default()),
        }
    }

    pub(super) fn typed_arg(&mut self, env: &mut Env, a: &ast::Arg, t: &Ty) -> ir::Expr {
        match self.arg_expr(a) {
            Some(e) => self.expect(env, e, t),
            None => mk(ExprKind::Error, Ty::Error, ir::Loc::default()),
        }
    }

    pub(super) fn wrong_arg(&mut self, name: &str, x: &ir::Expr, span: Span, wants: &str) {
        if x.ty.is_error() {
            return;
        }
        let shown = self.show(&x.ty);
        self.error(Code::E0201, span, format!("`{name}` takes {wants}, not `{shown}`"));
    }

    pub(super) fn builtin(
        &mut self,
        env: &mut Env,
        callee: &ast::Ident,
        args: &[ast::Arg],
        span: Span,
        _expected: Option<&Ty>,
    ) -> Option<ir::Expr> {
        let name = callee.text.as_str();
        let arity: &[usize] = match name {
            "round" => &[2, 3],
            "abs" | "amount" | "currency" | "len" | "upper" | "lower" | "trim" | "date" | "year" | "month" | "day"
            | "weekday" | "start_of_month" | "end_of_month" => &[1],
            "min" | "max" | "money" | "starts_with" | "ends_with" | "contains" | "add_days" | "days_between" | "sum"
            | "count" | "any" | "all" => &[2],
            "convert" => &[3],
            _ => return None,
        };
        let loc = self.loc(span);
        if !arity.contains(&args.len()) {
            let want = arity.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" or ");
            self.error(Code::E0203, span, format!("`{name}` takes {want} arguments but {} were given", args.len()))
                .help = canon_stdlib::functions::lookup(name).map(|b| format!("`{name}{}`", b.signatures.join("`, `")));
            return Some(self.err_expr(span));
        }
        let a0 = args.first().map(ast::Arg::span).unwrap_or(span);
        let b = |op: Builtin, args: Vec<ir::Expr>, ty: Ty| mk(ExprKind::Builtin { op, args }, ty, loc);
        let e = |c: &mut Self| c.err_expr(span);
        Some(match name {
            "sum" | "count" | "any" | "all" => return Some(self.aggregate(env, name, args, span)),
            "round" => {
                let (Some(x0), Some(p0)) = (args.first(), args.get(1)) else { return Some(e(self)) };
                let x = self.value_arg(env, x0);
                let places = self.typed_arg(env, p0, &Ty::Int);
                let mode = match args.get(2) {
                    Some(m) => self.typed_arg(env, m, &Ty::Enum(ROUNDING)),
                    None => mk(ExprKind::Const(Const::Enum(ROUNDING, 0)), Ty::Enum(ROUNDING), loc),
                };
                match x.ty {
                    Ty::Int | Ty::Decimal => {
                        let x = self.coerce(x, &Ty::Decimal, a0);
                        b(Builtin::RoundDecimal, vec![x, places, mode], Ty::Decimal)
                    }
                    Ty::Money => b(Builtin::RoundMoney, vec![x, places, mode], Ty::Money),
                    _ => {
                        self.wrong_arg(name, &x, a0, "a Decimal or Money");
                        e(self)
                    }
                }
            }
            "abs" => {
                let x = args.first().map(|a| self.value_arg(env, a));
                let Some(x) = x else { return Some(e(self)) };
                match x.ty {
                    Ty::Int => b(Builtin::AbsInt, vec![x], Ty::Int),
                    Ty::Decimal => b(Builtin::AbsDecimal, vec![x], Ty::Decimal),
                    Ty::Money => b(Builtin::AbsMoney, vec![x], Ty::Money),
                    _ => {
                        self.wrong_arg(name, &x, a0, "an Int, Decimal or Money");
                        e(self)
                    }
                }
            }
            "min" | "max" => {
                let (Some(x0), Some(y0)) = (args.first(), args.get(1)) else { return Some(e(self)) };
                let x = self.value_arg(env, x0);
                let y = match self.arg_expr(y0) {
                    Some(ye) => {
                        let y = self.expr(env, ye, Some(&x.ty));
                        self.require_value(y, ye.span)
                    }
                    None => e(self),
                };
                if x.ty.is_error() || y.ty.is_error() {
                    return Some(e(self));
                }
                let u = unify(&x.ty, &y.ty);
                match u.as_ref().and_then(Ty::ord_kind) {
                    Some(k) => {
                        let Some(u) = u else { return Some(e(self)) };
                        let x = self.coerce(x, &u, a0);
                        let y = self.coerce(y, &u, y0.span());
                        let op = if name == "min" { Builtin::Min(k) } else { Builtin::Max(k) };
                        b(op, vec![x, y], u)
                    }
                    None => {
                        let (s1, s2) = (self.show(&x.ty), self.show(&y.ty));
                        self.error(Code::E0201, span, format!("`{name}` needs two values of one ordered type, not `{s1}` and `{s2}`"));
                        e(self)
                    }
                }
            }
            "money" => {
                let (Some(x0), Some(c0)) = (args.first(), args.get(1)) else { return Some(e(self)) };
                let x = self.typed_arg(env, x0, &Ty::Decimal);
                let c = self.typed_arg(env, c0, &Ty::Currency);
                b(Builtin::Money, vec![x, c], Ty::Money)
            }
            "amount" | "currency" => {
                let Some(x0) = args.first() else { return Some(e(self)) };
                let x = self.typed_arg(env, x0, &Ty::Money);
                if name == "amount" {
                    b(Builtin::Amount, vec![x], Ty::Decimal)
                } else {
                    b(Builtin::Currency, vec![x], Ty::Currency)
                }
            }
            "convert" => {
                let (Some(m0), Some(c0), Some(r0)) = (args.first(), args.get(1), args.get(2)) else { return Some(e(self)) };
                let m = self.typed_arg(env, m0, &Ty::Money);
                let c = self.typed_arg(env, c0, &Ty::Currency);
                let r = self.typed_arg(env, r0, &Ty::Decimal);
                b(Builtin::Convert, vec![m, c, r], Ty::Money)
            }
            "len" => {
                let Some(x0) = args.first() else { return Some(e(self)) };
                let x = self.value_arg(env, x0);
                match x.ty {
                    Ty::Text => b(Builtin::LenText, vec![x], Ty::Int),
                    Ty::List(_) => b(Builtin::LenList, vec![x], Ty::Int),
                    _ => {
                        self.wrong_arg(name, &x, a0, "a Text or a List");
                        e(self)
                    }
                }
            }
            "upper" | "lower" | "trim" => {
                let Some(x0) = args.first() else { return Some(e(self)) };
                let x = self.typed_arg(env, x0, &Ty::Text);
                let op = match name {
                    "upper" => Builtin::Upper,
                    "lower" => Builtin::Lower,
                    _ => Builtin::Trim,
                };
                b(op, vec![x], Ty::Text)
            }
            "starts_with" | "ends_with" | "contains" => {
                let (Some(x0), Some(y0)) = (args.first(), args.get(1)) else { return Some(e(self)) };
                let x = self.typed_arg(env, x0, &Ty::Text);
                let y = self.typed_arg(env, y0, &Ty::Text);
                let op = match name {
                    "starts_with" => Builtin::StartsWith,
                    "ends_with" => Builtin::EndsWith,
                    _ => Builtin::Contains,
                };
                b(op, vec![x, y], Ty::Bool)
            }
            "date" => {
                let Some(x0) = args.first() else { return Some(e(self)) };
                let x = self.typed_arg(env, x0, &Ty::Timestamp);
                b(Builtin::Date, vec![x], Ty::Date)
            }
            "year" | "month" | "day" | "weekday" | "start_of_month" | "end_of_month" => {
                let Some(x0) = args.first() else { return Some(e(self)) };
                let x = self.typed_arg(env, x0, &Ty::Date);
                let (op, ty) = match name {
                    "year" => (Builtin::Year, Ty::Int),
                    "month" => (Builtin::Month, Ty::Int),
                    "day" => (Builtin::Day, Ty::Int),
                    "weekday" => (Builtin::Weekday, Ty::Enum(WEEKDAY)),
                    "start_of_month" => (Builtin::StartOfMonth, Ty::Date),
                    _ => (Builtin::EndOfMonth, Ty::Date),
                };
                b(op, vec![x], ty)
            }
            "add_days" => {
                let (Some(x0), Some(n0)) = (args.first(), args.get(1)) else { return Some(e(self)) };
                let x = self.typed_arg(env, x0, &Ty::Date);
                let n = self.typed_arg(env, n0, &Ty::Int);
                b(Builtin::AddDays, vec![x, n], Ty::Date)
            }
            "days_between" => {
                let (Some(x0), Some(y0)) = (args.first(), args.get(1)) else { return Some(e(self)) };
                let x = self.typed_arg(env, x0, &Ty::Date);
                let y = self.typed_arg(env, y0, &Ty::Date);
                b(Builtin::DaysBetween, vec![x, y], Ty::Int)
            }
            _ => return None,
        })
    }

    pub(super) fn aggregate(&mut self, env: &mut Env, name: &str, args: &[ast::Arg], span: Span) -> ir::Expr {
        let loc = self.loc(span);
        let (Some(l0), Some(f0)) = (args.first(), args.get(1)) else { return self.err_expr(span) };
        let list = self.value_arg(env, l0);
        let elem = match &list.ty {
            Ty::List(t) => (**t).clone(),
            Ty::Error => Ty::Error,
            other => {
                let shown = self.show(other);
                self.error(Code::E0201, l0.span(), format!("`{name}` takes a List, not `{shown}`"));
                Ty::Error
            }
        };
        let ast::Arg::Lambda { param, body, .. } = f0 else {
            self.error(Code::E0201, f0.span(), format!("`{name}` takes a lambda as its second argument")).help =
                Some(format!("write `{name}(items, x => ...)`"));
            return self.err_expr(span);
        };
        let m = env.mark();
        let slot = env.bind(&param.text, elem);
        let (op, body, ty) = match name {
            "sum" => {
                let x = self.expr(env, body, None);
                let x = self.require_value(x, body.span);
                match x.ty {
                    Ty::Int => (Aggregate::SumInt, x, Ty::Int),
                    Ty::Decimal => (Aggregate::SumDecimal, x, Ty::Decimal),
                    Ty::Money => (Aggregate::SumMoney, x, Ty::optional(Ty::Money)),
                    Ty::Error => (Aggregate::SumDecimal, x, Ty::Error),
                    ref other => {
                        let shown = self.show(other);
                        self.error(Code::E0201, body.span, format!("`sum` adds Int, Decimal or Money, not `{shown}`"));
                        (Aggregate::SumDecimal, x, Ty::Error)
                    }
                }
            }
            _ => {
                let x = self.expect(env, body, &Ty::Bool);
                let (op, ty) = match name {
                    "count" => (Aggregate::Count, Ty::Int),
                    "any" => (Aggregate::Any, Ty::Bool),
                    _ => (Aggregate::All, Ty::Bool),
                };
                (op, x, ty)
            }
        };
        env.reset(&m);
        mk(ExprKind::Aggregate { op, list: Box::new(list), slot, body: Box::new(body) }, ty, loc)
    }
}
