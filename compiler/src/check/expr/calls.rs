//! Calls: user functions, decisions, built-ins and the aggregates `sum`, `count`, `any` and `all`.

use canon_stdlib::functions::{self, Builtin, Overload, Target, TypeRef};

use super::{mk, unify, Env};
use crate::check::{suggest, Callee, Checker, ValueName};
use crate::diagnostics::Code;
use crate::ir::{self, Const, ExprKind};
use crate::syntax::ast::{self, Span};
use crate::types::{OrdKind, Ty, ROUNDING, SORT_ORDER, WEEKDAY};

impl<'a> Checker<'a> {
    pub(super) fn call(&mut self, env: &mut Env, callee: &ast::Ident, args: &[ast::Arg], span: Span) -> ir::Expr {
        let loc = self.loc(span);
        if let Some(op) = super::super::calendar::calendar_op(&callee.text) {
            if self.values.get(&callee.text).is_none() {
                return self.calendar_call(env, op, callee, args, span);
            }
        }
        let value = self.values.get(&callee.text).copied();
        // A table, destination, state or metric may share a built-in function's name; a call is the built-in.
        let value = value.filter(|v| {
            matches!(v, ValueName::Fn(_) | ValueName::Decision(_)) || functions::lookup(&callee.text).is_none()
        });
        match value {
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
                let ret = def.call_ty();
                let args = self.args(env, &callee.text, args, &params, span);
                mk(ExprKind::Decide { decision: id, args }, ret, loc)
            }
            Some(ValueName::Table(_)) => {
                self.error(Code::E0201, callee.span, format!("`{}` is a table", callee.text)).help =
                    Some(format!("look a row up with `{}[key]`", callee.text));
                self.err_expr(span)
            }
            Some(ValueName::State(_)) | Some(ValueName::Metric) | Some(ValueName::Calendar(_)) => {
                self.error(Code::E0201, callee.span, format!("`{}` is not a function", callee.text));
                self.err_expr(span)
            }
            Some(ValueName::Destination(_) | ValueName::Family(_)) => {
                self.error(Code::E0201, callee.span, format!("`{}` is a destination", callee.text)).help =
                    Some(format!("send a record to it with `emit {} Record {{ ... }}`", callee.text));
                self.err_expr(span)
            }
            None => match self.builtin(env, callee, args, span) {
                Some(e) => e,
                None if self.is_broken(&callee.text) => self.err_expr(span),
                None => {
                    let mut names: Vec<String> = self.values.keys().cloned().collect();
                    names.extend(canon_stdlib::functions::ALL.iter().map(|b| b.name.to_string()));
                    let d = self.error(Code::E0101, callee.span, format!("unknown function `{}`", callee.text));
                    suggest(d, &callee.text, callee.span, names.iter().map(String::as_str), None);
                    self.err_expr(span)
                }
            },
        }
    }

    pub(super) fn args(
        &mut self,
        env: &mut Env,
        name: &str,
        args: &[ast::Arg],
        params: &[Ty],
        span: Span,
    ) -> Vec<ir::Expr> {
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
        self.error(
            Code::E0201,
            span,
            "a lambda `x => ...` is only allowed as an argument of sum, count, any, all, map, filter, find and sort_by",
        );
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

    /// A call of a built-in, resolved against the overloads its stdlib file declares.
    pub(super) fn builtin(
        &mut self,
        env: &mut Env,
        callee: &ast::Ident,
        args: &[ast::Arg],
        span: Span,
    ) -> Option<ir::Expr> {
        let name = callee.text.as_str();
        let decl = functions::lookup(name)?;
        let mut arities: Vec<usize> = decl.overloads.iter().map(|o| o.params.len()).collect();
        arities.sort_unstable();
        arities.dedup();
        if !arities.contains(&args.len()) {
            let want = or_list(&arities.iter().map(|n| n.to_string()).collect::<Vec<_>>());
            self.error(Code::E0203, span, format!("`{name}` takes {want} arguments but {} were given", args.len()))
                .help = Some(format!("`{name}{}`", decl.signatures().collect::<Vec<_>>().join("`, `")));
            return Some(self.err_expr(span));
        }
        let cands: Vec<&Overload> = decl.overloads.iter().filter(|o| o.params.len() == args.len()).collect();
        if cands.iter().any(|o| o.params.iter().any(|p| matches!(p.ty, TypeRef::Lambda(_)))) {
            return Some(self.aggregate(env, name, &cands, args, span));
        }
        // When the overloads of this arity take fewer first-argument types than the others
        // (`round(m)` takes only Money), the first argument's own type says whether the call
        // has the wrong number of arguments (`round(1.5)`) rather than the wrong type.
        let firsts = |os: &mut dyn Iterator<Item = &Overload>| {
            let mut v: Vec<TypeRef> = os.filter_map(|o| o.params.first().map(|p| p.ty)).collect();
            v.sort_by_key(|t| t.to_string());
            v.dedup();
            v
        };
        let mut pre = None;
        if let Some(a0) = args.first() {
            if firsts(&mut cands.iter().copied()) != firsts(&mut decl.overloads.iter()) {
                let x0 = self.value_arg(env, a0);
                let takes = |o: &Overload| {
                    o.params
                        .first()
                        .is_some_and(|p| fits(p.ty, &x0.ty) || (x0.ty == Ty::Int && p.ty == TypeRef::Decimal))
                };
                if !x0.ty.is_error() && !cands.iter().any(|o| takes(o)) {
                    let other: Vec<&Overload> = decl.overloads.iter().filter(|o| takes(o)).collect();
                    if !other.is_empty() {
                        let mut n: Vec<String> = other.iter().map(|o| o.params.len().to_string()).collect();
                        n.dedup();
                        let shown = self.show(&x0.ty);
                        let sigs: Vec<String> = other.iter().map(|o| o.render()).collect();
                        let given = args.len();
                        let article = if shown.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
                        self.error(
                            Code::E0203,
                            span,
                            format!(
                                "`{name}` of {article} `{shown}` takes {} arguments but {given} were given",
                                or_list(&n)
                            ),
                        )
                        .help = Some(format!("`{name}{}`", sigs.join("`, `")));
                        return Some(self.err_expr(span));
                    }
                }
                pre = Some(x0);
            }
        }
        Some(self.overload(env, decl, &cands, args, pre, span))
    }

    /// Checks the arguments of a built-in that takes values and picks the overload: a position
    /// where all candidates agree is checked against that type; the positions where they differ
    /// decide, by the argument's own type (an Int widening to Decimal when nothing takes it as
    /// is), and positions that share one type in every candidate must unify.
    fn overload(
        &mut self,
        env: &mut Env,
        decl: &Builtin,
        cands: &[&Overload],
        args: &[ast::Arg],
        mut pre: Option<ir::Expr>,
        span: Span,
    ) -> ir::Expr {
        let (all, name) = (decl.overloads, decl.name);
        let loc = self.loc(span);
        let param = |o: &Overload, i: usize| o.params.get(i).map(|p| p.ty);
        let first = cands.first().copied();
        let varies = |i: usize| cands.iter().any(|o| param(o, i) != first.and_then(|f| param(f, i)));
        let mut vals: Vec<ir::Expr> = Vec::new();
        let mut deciding: Vec<usize> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            // The first argument, when the caller checked it already.
            let checked = if i == 0 { pre.take() } else { None };
            let x = if let Some(x) = checked {
                match first.and_then(|f| param(f, i)).and_then(ty_of).filter(|_| !varies(i)) {
                    Some(t) => self.coerce(x, &t, a.span()),
                    None => x,
                }
            } else if !varies(i) {
                match first.and_then(|f| param(f, i)).and_then(ty_of) {
                    Some(t) => self.typed_arg(env, a, &t),
                    None => {
                        let x = self.value_arg(env, a);
                        if let Some(p) = first.and_then(|f| param(f, i)) {
                            if !fits(p, &x.ty) && !x.ty.is_error() {
                                self.wrong_arg(name, &x, a.span(), &one_of(&[p]));
                            }
                        }
                        x
                    }
                }
            } else {
                let linked = deciding.first().copied().filter(|&j| cands.iter().all(|o| param(o, i) == param(o, j)));
                match linked.and_then(|j| vals.get(j)).map(|x| x.ty.clone()) {
                    Some(t) => match self.arg_expr(a) {
                        Some(e) => {
                            let y = self.expr(env, e, Some(&t));
                            self.require_value(y, e.span)
                        }
                        None => self.err_expr(span),
                    },
                    // A bare variant (`round(m, HalfUp)`) resolves from the one enum a candidate takes here.
                    None => match enum_hint(cands.iter().filter_map(|o| param(o, i))) {
                        Some(t) => match self.arg_expr(a) {
                            Some(e) => {
                                let y = self.expr(env, e, Some(&t));
                                self.require_value(y, e.span)
                            }
                            None => self.err_expr(span),
                        },
                        None => self.value_arg(env, a),
                    },
                }
            };
            if varies(i) {
                deciding.push(i);
            }
            vals.push(x);
        }
        let chosen = match deciding.as_slice() {
            [] => first,
            [i] => {
                let i = *i;
                let (Some(x), Some(a)) = (vals.get(i), args.get(i)) else { return self.err_expr(span) };
                if x.ty.is_error() {
                    return self.err_expr(span);
                }
                let exact = cands.iter().copied().find(|o| param(o, i).is_some_and(|t| fits(t, &x.ty)));
                let widened =
                    || cands.iter().copied().find(|o| x.ty == Ty::Int && param(o, i) == Some(TypeRef::Decimal));
                match exact.or_else(widened) {
                    Some(o) => {
                        if let (Some(t), Some(slot)) = (param(o, i).and_then(ty_of), vals.get_mut(i)) {
                            let x = std::mem::replace(slot, mk(ExprKind::Error, Ty::Error, loc));
                            *slot = self.coerce(x, &t, a.span());
                        }
                        Some(o)
                    }
                    None => {
                        let mut types: Vec<TypeRef> = Vec::new();
                        for t in cands.iter().filter_map(|o| param(o, i)) {
                            if !types.contains(&t) {
                                types.push(t);
                            }
                        }
                        self.wrong_arg(name, x, a.span(), &one_of(&types));
                        return self.err_expr(span);
                    }
                }
            }
            many => {
                let tys: Vec<Ty> = many.iter().filter_map(|&j| vals.get(j)).map(|x| x.ty.clone()).collect();
                if tys.iter().any(Ty::is_error) {
                    return self.err_expr(span);
                }
                // An overload that takes each argument as it is (an Int widening to Decimal):
                // `round(m, 2)`, `round(m, HalfUp)`, `round(x, 2)`.
                let takes = |o: &Overload, widen: bool| {
                    many.iter().zip(&tys).all(|(&j, t)| {
                        param(o, j).is_some_and(|p| fits(p, t) || (widen && *t == Ty::Int && p == TypeRef::Decimal))
                    })
                };
                let direct = cands.iter().copied().find(|o| takes(o, false)).or_else(|| {
                    cands.iter().copied().find(|o| takes(o, true)).filter(|_| !linked_positions(cands, many))
                });
                if let Some(o) = direct {
                    for &j in many {
                        if let (Some(t), Some(slot), Some(a)) =
                            (param(o, j).and_then(ty_of), vals.get_mut(j), args.get(j))
                        {
                            let x = std::mem::replace(slot, mk(ExprKind::Error, Ty::Error, loc));
                            *slot = self.coerce(x, &t, a.span());
                        }
                    }
                    return self.finish_overload(all, o, vals, loc, span);
                }
                if !linked_positions(cands, many) {
                    // Name the first argument no overload takes; else the combination.
                    for (&j, t) in many.iter().zip(&tys) {
                        let accepted = |p: TypeRef| fits(p, t) || (*t == Ty::Int && p == TypeRef::Decimal);
                        if cands.iter().any(|o| param(o, j).is_some_and(accepted)) {
                            continue;
                        }
                        let mut types: Vec<TypeRef> = Vec::new();
                        for p in cands.iter().filter_map(|o| param(o, j)) {
                            if !types.contains(&p) {
                                types.push(p);
                            }
                        }
                        if let (Some(x), Some(a)) = (vals.get(j), args.get(j)) {
                            let x = x.clone();
                            self.wrong_arg(name, &x, a.span(), &one_of(&types));
                        }
                        return self.err_expr(span);
                    }
                    let shown: Vec<String> = tys.iter().map(|t| self.show(t)).collect();
                    let sigs: Vec<String> = cands.iter().map(|o| o.render()).collect();
                    self.error(
                        Code::E0201,
                        span,
                        format!("`{name}` does not take `{}` together", shown.join("` and `")),
                    )
                    .help = Some(format!("`{name}{}`", sigs.join("`, `")));
                    return self.err_expr(span);
                }
                let u = tys.iter().skip(1).try_fold(tys.first().cloned().unwrap_or(Ty::Error), |u, t| unify(&u, t));
                let found = u.as_ref().and_then(|u| {
                    cands.iter().copied().find(|o| many.iter().all(|&j| param(o, j).is_some_and(|t| fits(t, u))))
                });
                let (Some(o), Some(u)) = (found, u) else {
                    let shown: Vec<String> = tys.iter().map(|t| format!("`{}`", self.show(t))).collect();
                    let n = ["no", "one", "two", "three"].get(tys.len()).copied().unwrap_or("several");
                    let msg = format!("`{name}` needs {n} values of one ordered type, not {}", shown.join(" and "));
                    self.error(Code::E0201, span, msg);
                    return self.err_expr(span);
                };
                for &j in many {
                    if let (Some(slot), Some(a)) = (vals.get_mut(j), args.get(j)) {
                        let x = std::mem::replace(slot, mk(ExprKind::Error, Ty::Error, loc));
                        *slot = self.coerce(x, &u, a.span());
                    }
                }
                Some(o)
            }
        };
        let Some(o) = chosen else { return self.err_expr(span) };
        self.finish_overload(all, o, vals, loc, span)
    }

    /// The call of the chosen overload, its left-out trailing arguments given their defaults.
    fn finish_overload(
        &mut self,
        all: &[Overload],
        o: &Overload,
        mut vals: Vec<ir::Expr>,
        loc: ir::Loc,
        span: Span,
    ) -> ir::Expr {
        // A result in terms of `T` (`first`, `distinct`) takes the element type of the list argument.
        let elem = match vals.first().map(|x| &x.ty) {
            Some(Ty::List(t)) => (**t).clone(),
            _ => Ty::Error,
        };
        let (Target::Op(op), Some(ty)) = (o.target, subst(o.result, &elem, &Ty::Error)) else {
            return self.err_expr(span);
        };
        // A left-out trailing argument (round's mode) takes its type's default.
        if let Some(full) = all.iter().filter(|f| f.target == o.target).max_by_key(|f| f.params.len()) {
            for p in full.params.iter().skip(vals.len()) {
                if let Some((c, t)) = default_of(p.ty) {
                    vals.push(mk(ExprKind::Const(c), t, loc));
                }
            }
        }
        mk(ExprKind::Builtin { op, args: vals }, ty, loc)
    }

    /// `sum`, `count`, `any`, `all`, `map`, `filter`, `find` and `sort_by`: a list and a lambda
    /// over its elements (and `sort_by`'s order); the lambda's result type picks the overload.
    fn aggregate(&mut self, env: &mut Env, name: &str, cands: &[&Overload], args: &[ast::Arg], span: Span) -> ir::Expr {
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
        let lambda = |o: &Overload| match o.params.get(1).map(|p| p.ty) {
            Some(TypeRef::Lambda(t)) => Some(*t),
            _ => None,
        };
        let results: Vec<TypeRef> = cands.iter().filter_map(|o| lambda(o)).collect();
        let m = env.mark();
        let slot = env.bind(&param.text, elem.clone());
        let mut key_kind = None;
        let (chosen, body) = match (results.as_slice(), cands.first()) {
            ([one], Some(o)) if ty_of(*one).is_some() => {
                let t = ty_of(*one).unwrap_or(Ty::Error);
                (Some(*o), self.expect(env, body, &t))
            }
            ([TypeRef::Out], Some(o)) => {
                let x = self.expr(env, body, None);
                (Some(*o), self.require_value(x, body.span))
            }
            ([TypeRef::Key], Some(o)) => {
                let x = self.expr(env, body, None);
                let x = self.require_value(x, body.span);
                key_kind = ord_kind(&x.ty);
                if key_kind.is_none() && !x.ty.is_error() {
                    let shown = self.show(&x.ty);
                    self.error(
                        Code::E0601,
                        body.span,
                        format!("`{name}` sorts by a key of an ordered type, not `{shown}`"),
                    )
                    .help = Some("give a key that is an Int, Decimal, Money, Date, Timestamp or Text".into());
                }
                (Some(*o), x)
            }
            _ => {
                let x = self.expr(env, body, None);
                let x = self.require_value(x, body.span);
                let found = cands.iter().copied().find(|o| lambda(o).is_some_and(|t| fits(t, &x.ty)));
                if found.is_none() && !x.ty.is_error() {
                    let shown = self.show(&x.ty);
                    let names: Vec<&str> = results.iter().map(|t| t.name()).collect();
                    self.error(Code::E0201, body.span, format!("`{name}` adds {}, not `{shown}`", or_list(&names)));
                }
                (found, x)
            }
        };
        env.reset(&m);
        // `sort_by`'s order: a variant of `SortOrder`, written as such.
        let mut descending = false;
        if let Some(a) = args.get(2) {
            let order = self.typed_arg(env, a, &Ty::Enum(SORT_ORDER));
            match order.kind {
                ExprKind::Const(Const::Enum(_, v)) => descending = v == 1,
                ExprKind::Error => {}
                _ => {
                    self.error(Code::E0602, a.span(), format!("the order of `{name}` must be written as a variant"))
                        .help = Some("write `Ascending` or `Descending` (or `SortOrder.Descending`)".into());
                }
            }
        }
        let out = body.ty.clone();
        let fallback = cands.first().map(|o| o.target);
        let (op, ty) = match chosen.map(|o| (o.target, subst(o.result, &elem, &out))) {
            Some((Target::Aggregate(op), Some(ty))) => (op, ty),
            _ => match fallback {
                Some(Target::Aggregate(op)) => (op, Ty::Error),
                _ => return self.err_expr(span),
            },
        };
        let op = match op {
            ir::Aggregate::SortBy { .. } => {
                ir::Aggregate::SortBy { kind: key_kind.unwrap_or(OrdKind::Int), descending }
            }
            op => op,
        };
        mk(ExprKind::Aggregate { op, list: Box::new(list), slot, body: Box::new(body) }, ty, loc)
    }
}

/// The ordered kind of a sort key's type, if it is one.
fn ord_kind(t: &Ty) -> Option<OrdKind> {
    Some(match t {
        Ty::Int => OrdKind::Int,
        Ty::Decimal => OrdKind::Decimal,
        Ty::Money => OrdKind::Money,
        Ty::Date => OrdKind::Date,
        Ty::Timestamp => OrdKind::Timestamp,
        Ty::Text => OrdKind::Text,
        _ => return None,
    })
}

/// A declared result type with `T` the list's element type and `U`/`K` the lambda's type.
fn subst(t: TypeRef, elem: &Ty, out: &Ty) -> Option<Ty> {
    Some(match t {
        TypeRef::Var => elem.clone(),
        TypeRef::Out | TypeRef::Key => out.clone(),
        TypeRef::List(e) => Ty::list(subst(*e, elem, out)?),
        TypeRef::Optional(e) => Ty::optional(subst(*e, elem, out)?),
        t => ty_of(t)?,
    })
}

/// The checker's type for a declared parameter or result type; `None` for `T` and lambdas,
/// which only [`fits`] can compare.
fn ty_of(t: TypeRef) -> Option<Ty> {
    Some(match t {
        TypeRef::Int => Ty::Int,
        TypeRef::Decimal => Ty::Decimal,
        TypeRef::Money => Ty::Money,
        TypeRef::Text => Ty::Text,
        TypeRef::Bool => Ty::Bool,
        TypeRef::Date => Ty::Date,
        TypeRef::Timestamp => Ty::Timestamp,
        TypeRef::Currency => Ty::Currency,
        TypeRef::Rounding => Ty::Enum(ROUNDING),
        TypeRef::Weekday => Ty::Enum(WEEKDAY),
        TypeRef::SortOrder => Ty::Enum(SORT_ORDER),
        TypeRef::List(t) => Ty::list(ty_of(*t)?),
        TypeRef::Optional(t) => Ty::optional(ty_of(*t)?),
        TypeRef::Var | TypeRef::Out | TypeRef::Key | TypeRef::Lambda(_) => return None,
    })
}

/// Whether a value of type `ty` is exactly a `t` (`T` is any type, so `List<T>` takes every list).
fn fits(t: TypeRef, ty: &Ty) -> bool {
    match (t, ty) {
        (TypeRef::Var | TypeRef::Out, _) => true,
        (TypeRef::List(e), Ty::List(x)) => fits(*e, x),
        (TypeRef::Optional(e), Ty::Optional(x)) => fits(*e, x),
        _ => ty_of(t).as_ref() == Some(ty),
    }
}

/// Whether the deciding positions take one type together in every candidate (`min`, `max`):
/// then mixed arguments unify (`min(1, 2.5)` is a Decimal `min`) rather than widen one by one.
fn linked_positions(cands: &[&Overload], positions: &[usize]) -> bool {
    cands.iter().all(|o| {
        let tys: Vec<Option<TypeRef>> = positions.iter().map(|&j| o.params.get(j).map(|p| p.ty)).collect();
        tys.windows(2).all(|w| w.first() == w.get(1))
    })
}

/// The one built-in enum among a position's candidate types, if exactly one: the expected
/// type that resolves a bare variant there.
fn enum_hint(types: impl Iterator<Item = TypeRef>) -> Option<Ty> {
    let mut found: Option<TypeRef> = None;
    for t in types {
        if matches!(t, TypeRef::Rounding | TypeRef::Weekday) {
            if found.is_some_and(|f| f != t) {
                return None;
            }
            found = Some(t);
        }
    }
    found.and_then(ty_of)
}

/// The value a left-out trailing parameter takes: `Rounding.HalfEven` for a rounding mode.
fn default_of(t: TypeRef) -> Option<(Const, Ty)> {
    match t {
        TypeRef::Rounding => Some((Const::Enum(ROUNDING, 0), Ty::Enum(ROUNDING))),
        _ => None,
    }
}

/// "a Decimal or Money", "an Int, Decimal or Money", "a Text or a List".
fn one_of(types: &[TypeRef]) -> String {
    let words: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let name = match t {
                TypeRef::List(e) if **e != TypeRef::Var => t.to_string(),
                _ => t.name().to_string(),
            };
            if i == 0 || matches!(t, TypeRef::List(_)) {
                let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
                format!("{article} {name}")
            } else {
                name.to_string()
            }
        })
        .collect();
    or_list(&words)
}

/// `a, b or c`.
fn or_list<S: AsRef<str>>(words: &[S]) -> String {
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} or {}", rest.join(", "), last.as_ref())
        }
        _ => words.iter().map(AsRef::as_ref).collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use crate::check::{check, Input};
    use crate::diagnostics::FileId;
    use crate::ir::{Builtin, ExprKind};
    use crate::syntax::parser::parse;
    use crate::types::OrdKind;

    /// The diagnostics of `fn f(<params>) -> <ret> = <body>`, as `code message [help]`, and f's body.
    fn check_fn(params: &str, ret: &str, body: &str) -> (Vec<String>, Option<ExprKind>) {
        let text = format!("fn f({params}) -> {ret} = {body}\n");
        let parsed = parse(&text, FileId(0));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let (pkg, diags) = check(&[Input { path: "a.canon", text: &text, ast: &parsed.file }]);
        let shown = diags
            .iter()
            .map(|d| match &d.help {
                Some(h) => format!("{:?} {} [{h}]", d.code, d.message),
                None => format!("{:?} {}", d.code, d.message),
            })
            .collect();
        (shown, pkg.functions.first().map(|f| f.body.kind.clone()))
    }

    fn errors(params: &str, ret: &str, body: &str) -> Vec<String> {
        check_fn(params, ret, body).0
    }

    #[test]
    fn overloads_pick_the_operation() {
        let (d, body) = check_fn("x: Int", "Decimal", "round(x, 2)");
        assert!(d.is_empty(), "{d:?}");
        let Some(ExprKind::Builtin { op, args }) = body else { panic!("{body:?}") };
        assert_eq!(op, Builtin::RoundDecimal);
        assert_eq!(args.len(), 3, "the mode defaults to HalfEven");
        assert!(matches!(args[0].kind, ExprKind::IntToDecimal(_)));
        let (_, body) = check_fn("x: Int", "Int", "abs(x)");
        assert!(matches!(body, Some(ExprKind::Builtin { op: Builtin::AbsInt, .. })));
        let (_, body) = check_fn("x: Int, y: Decimal", "Decimal", "max(x, y)");
        assert!(matches!(body, Some(ExprKind::Builtin { op: Builtin::Max(OrdKind::Decimal), .. })));
        let (_, body) = check_fn("xs: List<Text>", "Int", "len(xs)");
        assert!(matches!(body, Some(ExprKind::Builtin { op: Builtin::LenList, .. })));
        let (d, _) = check_fn("xs: List<Int>", "Money?", "sum(xs, x => 1.00 USD)");
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn money_overloads() {
        let op = |params: &str, ret: &str, body: &str| {
            let (d, body) = check_fn(params, ret, body);
            assert!(d.is_empty(), "{d:?}");
            match body {
                Some(ExprKind::Builtin { op, args }) => (op, args.len()),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(op("m: Money", "Money", "round(m)"), (Builtin::RoundMoneyToUnit, 2));
        assert_eq!(op("m: Money", "Money", "round(m, HalfUp)"), (Builtin::RoundMoneyToUnit, 2));
        assert_eq!(op("m: Money", "Money", "round(m, Rounding.Floor)"), (Builtin::RoundMoneyToUnit, 2));
        assert_eq!(op("m: Money", "Money", "round(m, 2)"), (Builtin::RoundMoney, 3));
        assert_eq!(op("m: Money, p: Int", "Money", "round(m, p, Up)"), (Builtin::RoundMoney, 3));
        assert_eq!(op("x: Int", "Decimal", "round(x, 2)"), (Builtin::RoundDecimal, 3));
        assert_eq!(op("m: Money", "List<Money>", "allocate(m, [1, 2])"), (Builtin::AllocateInt, 2));
        assert_eq!(op("m: Money", "List<Money>", "allocate(m, [1, 2.5])"), (Builtin::Allocate, 2));
        assert_eq!(op("m: Money, w: List<Decimal>", "List<Money>", "allocate(m, w)"), (Builtin::Allocate, 2));
        assert_eq!(op("m: Money", "List<Money>", "allocate_even(m, 3)"), (Builtin::AllocateEven, 2));
        assert_eq!(op("c: Currency", "Int", "minor_units(c)"), (Builtin::MinorUnits, 1));
        assert_eq!(
            errors("x: Decimal", "Decimal", "round(x, HalfUp)"),
            ["E0201 `round` does not take `Decimal` and `Rounding` together [`round(Decimal, Int) -> Decimal`, \
              `(Money, Int) -> Money`, `(Money, Rounding) -> Money`]"]
        );
        assert_eq!(
            errors("x: Decimal", "Decimal", "round(x)"),
            ["E0203 `round` of a `Decimal` takes 2 or 3 arguments but 1 were given \
              [`round(Decimal, Int) -> Decimal`, `(Decimal, Int, Rounding) -> Decimal`]"]
        );
        assert_eq!(
            errors("x: Int", "Decimal", "round(x)"),
            ["E0203 `round` of an `Int` takes 2 or 3 arguments but 1 were given \
              [`round(Decimal, Int) -> Decimal`, `(Decimal, Int, Rounding) -> Decimal`]"]
        );
        assert_eq!(errors("x: Text", "Money", "round(x)"), ["E0201 expected `Money`, found `Text`"]);
        assert_eq!(
            errors("m: Money, w: List<Text>", "List<Money>", "allocate(m, w)"),
            ["E0201 `allocate` takes a List<Decimal> or a List<Int>, not `List<Text>`"]
        );
    }

    #[test]
    fn wrong_calls_are_reported_as_before() {
        assert_eq!(errors("x: Text", "Decimal", "round(x, 2)"), ["E0201 `round` takes a Decimal or Money, not `Text`"]);
        assert_eq!(errors("x: Bool", "Int", "abs(x)"), ["E0201 `abs` takes an Int, Decimal or Money, not `Bool`"]);
        assert_eq!(errors("x: Bool", "Int", "len(x)"), ["E0201 `len` takes a Text or a List, not `Bool`"]);
        assert_eq!(
            errors("x: Int, y: Text", "Int", "min(x, y)"),
            ["E0201 `min` needs two values of one ordered type, not `Int` and `Text`"]
        );
        assert_eq!(
            errors("x: Int", "Int", "min(x)"),
            ["E0203 `min` takes 2 arguments but 1 were given [`min(Int, Int) -> Int`, `(Decimal, Decimal) -> Decimal`, \
              `(Money, Money) -> Money`, `(Date, Date) -> Date`, `(Timestamp, Timestamp) -> Timestamp`, `(Text, Text) -> Text`]"]
        );
        assert_eq!(errors("x: Int", "Decimal", "round(x, 2, 3)"), ["E0201 expected `Rounding`, found `Int`"]);
        assert_eq!(
            errors("xs: List<Int>", "Int", "sum(xs, x => \"a\")"),
            ["E0201 `sum` adds Int, Decimal or Money, not `Text`"]
        );
        assert_eq!(errors("xs: List<Int>", "Int", "count(xs, x => 1)"), ["E0201 expected `Bool`, found `Int`"]);
        assert_eq!(errors("x: Int", "Int", "sum(x, y => 1)"), ["E0201 `sum` takes a List, not `Int`"]);
        assert_eq!(
            errors("xs: List<Int>", "Int", "sum(xs, 1)"),
            ["E0201 `sum` takes a lambda as its second argument [write `sum(items, x => ...)`]"]
        );
        assert_eq!(
            errors("x: Int", "Int", "min(x, y => 1)"),
            ["E0201 a lambda `x => ...` is only allowed as an argument of sum, count, any, all, map, filter, find and sort_by"]
        );
        assert_eq!(errors("x: Int", "Text", "upper(x)"), ["E0201 expected `Text`, found `Int`"]);
    }
}
