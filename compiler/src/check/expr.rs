//! Expressions: bidirectional type checking (an expected type flows in, an
//! inferred type flows out), enum-variant resolution, optional narrowing,
//! operators and built-in calls.

use std::sync::Arc;

use canon_stdlib::{Currency, Decimal};

use super::{closest, Callee, Checker, ValueName};
use crate::diagnostics::Code;
use crate::ir::{self, Aggregate, BinaryOp, Builtin, CmpOp, Const, ExprKind, Pat, UnaryOp};
use crate::syntax::ast::{self, BinOp, Span};
use crate::types::{EnumId, RecordId, Ty, ENVELOPE, ROUNDING, WEEKDAY};

/// A narrowable path: a local or `meta`, then field indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    root: Root,
    fields: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Local(u32),
    Meta,
}

/// The scope of one body (function, decision, handler, test).
#[derive(Debug, Default)]
pub(crate) struct Env {
    locals: Vec<(String, u32, Ty)>,
    pub(crate) n_locals: u32,
    narrowed: Vec<Path>,
    pub(crate) allow_meta: bool,
}

/// A mark to restore a scope to.
pub(crate) struct Mark(usize, usize);

impl Env {
    pub(crate) fn bind(&mut self, name: &str, ty: Ty) -> u32 {
        let slot = self.n_locals;
        self.n_locals += 1;
        self.locals.push((name.to_string(), slot, ty));
        slot
    }
    pub(crate) fn mark(&self) -> Mark {
        Mark(self.locals.len(), self.narrowed.len())
    }
    pub(crate) fn reset(&mut self, m: &Mark) {
        self.locals.truncate(m.0);
        self.narrowed.truncate(m.1);
    }
    fn lookup(&self, name: &str) -> Option<(u32, Ty)> {
        self.locals.iter().rev().find(|(n, _, _)| n == name).map(|(_, s, t)| (*s, t.clone()))
    }
    pub(crate) fn narrow(&mut self, paths: Vec<Path>) {
        self.narrowed.extend(paths);
    }
    fn is_narrowed(&self, p: &Path) -> bool {
        self.narrowed.contains(p)
    }
}

pub(crate) fn mk(kind: ExprKind, ty: Ty, loc: ir::Loc) -> ir::Expr {
    ir::Expr { kind, ty, loc }
}

fn path_of(e: &ir::Expr) -> Option<Path> {
    match &e.kind {
        ExprKind::Local(s) => Some(Path { root: Root::Local(*s), fields: Vec::new() }),
        ExprKind::Meta => Some(Path { root: Root::Meta, fields: Vec::new() }),
        ExprKind::Field { base, index } | ExprKind::OptField { base, index } => {
            let mut p = path_of(base)?;
            p.fields.push(*index);
            Some(p)
        }
        _ => None,
    }
}

/// What a condition proves about optional paths when it is true and when false.
pub(crate) fn facts(e: &ir::Expr) -> (Vec<Path>, Vec<Path>) {
    match &e.kind {
        ExprKind::Binary { op: op @ (BinaryOp::Eq | BinaryOp::Ne), lhs, rhs } => {
            let path = if matches!(rhs.kind, ExprKind::Const(Const::None)) {
                path_of(lhs)
            } else if matches!(lhs.kind, ExprKind::Const(Const::None)) {
                path_of(rhs)
            } else {
                None
            };
            match (path, op) {
                (Some(p), BinaryOp::Ne) => (vec![p], vec![]),
                (Some(p), _) => (vec![], vec![p]),
                (None, _) => (vec![], vec![]),
            }
        }
        ExprKind::Binary { op: BinaryOp::And, lhs, rhs } => {
            let (mut t, _) = facts(lhs);
            t.extend(facts(rhs).0);
            (t, vec![])
        }
        ExprKind::Binary { op: BinaryOp::Or, lhs, rhs } => {
            let (_, mut f) = facts(lhs);
            f.extend(facts(rhs).1);
            (vec![], f)
        }
        ExprKind::Unary { op: UnaryOp::Not, expr } => {
            let (t, f) = facts(expr);
            (f, t)
        }
        _ => (vec![], vec![]),
    }
}

/// The common type of two branches (if, ??, match arms, list elements).
pub(crate) fn unify(a: &Ty, b: &Ty) -> Option<Ty> {
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (Ty::Error, t) | (t, Ty::Error) => Some(t.clone()),
        (Ty::NoneLit, t) | (t, Ty::NoneLit) => Some(Ty::optional(t.clone())),
        (Ty::Int, Ty::Decimal) | (Ty::Decimal, Ty::Int) => Some(Ty::Decimal),
        (Ty::Optional(x), Ty::Optional(y)) => unify(x, y).map(Ty::optional),
        (Ty::Optional(x), y) | (y, Ty::Optional(x)) => unify(x, y).map(Ty::optional),
        (Ty::List(x), Ty::List(y)) => unify(x, y).map(Ty::list),
        _ => None,
    }
}

const OPTIONAL_HELP: &str = "handle `none` first: `x ?? default`, `x?.field`, or check `x != none`";

impl<'a> Checker<'a> {
    fn err_expr(&self, span: Span) -> ir::Expr {
        mk(ExprKind::Error, Ty::Error, self.loc(span))
    }

    /// Checks `e` and converts it to `target`, reporting a mismatch.
    pub(crate) fn expect(&mut self, env: &mut Env, e: &ast::Expr, target: &Ty) -> ir::Expr {
        let x = self.expr(env, e, Some(target));
        self.coerce(x, target, e.span)
    }

    /// Converts a checked expression to `target` (Int to Decimal, T to T?).
    pub(crate) fn coerce(&mut self, x: ir::Expr, target: &Ty, span: Span) -> ir::Expr {
        if x.ty == *target || x.ty.is_error() || target.is_error() {
            return x;
        }
        match (&x.ty, target) {
            (Ty::NoneLit, Ty::Optional(_)) => ir::Expr { ty: target.clone(), ..x },
            (Ty::Int, Ty::Decimal) => int_to_decimal(x),
            (Ty::Int, Ty::Optional(t)) if **t == Ty::Decimal => int_to_decimal(x),
            (Ty::Optional(a), Ty::Optional(t)) if **a == Ty::Int && **t == Ty::Decimal => {
                let loc = x.loc;
                mk(ExprKind::IntToDecimal(Box::new(x)), target.clone(), loc)
            }
            (a, Ty::Optional(t)) if *a == **t => x,
            (Ty::List(a), Ty::List(b)) if matches!(x.kind, ExprKind::List(_)) && unify(a, b).as_ref() == Some(&**b) => {
                let ir::Expr { kind, loc, .. } = x;
                let ExprKind::List(items) = kind else { return self.err_expr(span) };
                let items = items.into_iter().map(|i| self.coerce(i, b, span)).collect();
                mk(ExprKind::List(items), target.clone(), loc)
            }
            (Ty::Optional(a), t) if unify(a, t).as_ref() == Some(t) => {
                let (found, want) = (self.show(&x.ty), self.show(target));
                self.error(Code::E0202, span, format!("expected `{want}`, found optional `{found}`")).help =
                    Some(OPTIONAL_HELP.into());
                self.err_expr(span)
            }
            (Ty::NoneLit, t) => {
                let want = self.show(t);
                self.error(Code::E0201, span, format!("expected `{want}`, found `none`")).help =
                    Some(format!("only an optional type such as `{want}?` can be `none`"));
                self.err_expr(span)
            }
            _ => {
                let (found, want) = (self.show(&x.ty), self.show(target));
                let mut help = None;
                if matches!(x.ty, Ty::Decimal) && *target == Ty::Int {
                    help = Some("a Decimal never becomes an Int implicitly".to_string());
                } else if matches!((&x.ty, target), (Ty::Decimal | Ty::Int, Ty::Money)) {
                    help = Some("make Money with `money(amount, USD)` or a literal such as `12.50 USD`".to_string());
                }
                self.error(Code::E0201, span, format!("expected `{want}`, found `{found}`")).help = help;
                self.err_expr(span)
            }
        }
    }

    /// Requires a non-optional value of any type (reports E0202 for `T?`).
    fn require_value(&mut self, x: ir::Expr, span: Span) -> ir::Expr {
        if x.ty.is_optional() && !x.ty.is_error() {
            let found = self.show(&x.ty);
            self.error(Code::E0202, span, format!("this value is optional (`{found}`)")).help =
                Some(OPTIONAL_HELP.into());
            return self.err_expr(span);
        }
        x
    }

    // ------------------------------------------------------------ literals

    pub(crate) fn lit_const(&mut self, lit: &ast::LitKind, span: Span, expected: Option<&Ty>) -> Option<(Const, Ty)> {
        let want = expected.map(Ty::strip);
        Some(match lit {
            ast::LitKind::Int(t) => match t.parse::<i64>() {
                Ok(i) => {
                    if want == Some(&Ty::Decimal) {
                        (Const::Decimal(canon_stdlib::num::from_int(i)), Ty::Decimal)
                    } else {
                        (Const::Int(i), Ty::Int)
                    }
                }
                Err(_) => match canon_stdlib::num::parse(t) {
                    Some(d) if want == Some(&Ty::Decimal) => (Const::Decimal(d), Ty::Decimal),
                    _ => {
                        self.error(Code::E0201, span, format!("integer literal `{t}` does not fit in an Int")).help =
                            Some("an Int is a signed 64-bit number; write `.0` for a Decimal".into());
                        return None;
                    }
                },
            },
            ast::LitKind::Decimal(t) => match canon_stdlib::num::parse(t) {
                Some(d) => (Const::Decimal(d), Ty::Decimal),
                None => {
                    self.error(Code::E0201, span, format!("decimal literal `{t}` cannot be held exactly")).help =
                        Some("a Decimal has at most 28 fractional digits and 28-29 significant digits".into());
                    return None;
                }
            },
            ast::LitKind::Money(t, c) => {
                let amount = canon_stdlib::num::parse(t);
                let cur = Currency::parse(c);
                match (amount, cur) {
                    (Some(a), Some(c)) => (Const::Money(a, c), Ty::Money),
                    _ => {
                        self.error(Code::E0201, span, format!("money literal `{t} {c}` cannot be held exactly"));
                        return None;
                    }
                }
            }
            ast::LitKind::Text(s) => (Const::Text(Arc::from(s.as_str())), Ty::Text),
            ast::LitKind::Bool(b) => (Const::Bool(*b), Ty::Bool),
            ast::LitKind::None => (Const::None, Ty::NoneLit),
            ast::LitKind::Temporal(s) => {
                if want != Some(&Ty::Timestamp) && s.len() == 10 {
                    if let Some(d) = canon_stdlib::time::parse_date(s) {
                        return Some((Const::Date(d), Ty::Date));
                    }
                }
                if let Some(ts) = canon_stdlib::time::parse_timestamp(s) {
                    return Some((Const::Timestamp(ts), Ty::Timestamp));
                }
                self.error(Code::E0201, span, format!("`@\"{s}\"` is not a date or timestamp")).help = Some(
                    "write a date as `@\"2026-11-25\"` or a timestamp as `@\"2026-11-25T09:30:00Z\"`".into(),
                );
                return None;
            }
            ast::LitKind::Name(id) => return self.bare_variant(id, expected),
            ast::LitKind::Qualified(ty, v) => return self.qualified_variant(ty, v),
        })
    }

    /// A bare variant or currency code, resolved by the expected type.
    fn bare_variant(&mut self, id: &ast::Ident, expected: Option<&Ty>) -> Option<(Const, Ty)> {
        match expected.map(Ty::strip) {
            Some(Ty::Enum(e)) => {
                let e = *e;
                let def = self.pkg.enum_def(e)?;
                if let Some(i) = def.variants.iter().position(|v| v.name == id.text) {
                    return Some((Const::Enum(e, i as u32), Ty::Enum(e)));
                }
                let en = def.name.clone();
                let names: Vec<String> = def.variants.iter().map(|v| v.name.clone()).collect();
                let help = closest(&id.text, names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("the variants of `{en}` are {}", quote_list(&names)));
                self.error(Code::E0105, id.span, format!("`{}` is not a variant of `{en}`", id.text)).help = Some(help);
                None
            }
            Some(Ty::Currency) => match Currency::parse(&id.text) {
                Some(c) => Some((Const::Currency(c), Ty::Currency)),
                None => {
                    self.error(Code::E0201, id.span, format!("`{}` is not a currency code", id.text)).help =
                        Some("a currency code is three upper-case letters, such as `EUR`".into());
                    None
                }
            },
            _ => {
                let owners = self.variant_owners.get(&id.text).cloned().unwrap_or_default();
                if owners.is_empty() {
                    if Currency::parse(&id.text).is_some() {
                        self.error(Code::E0105, id.span, format!("cannot tell what `{}` is here", id.text)).help =
                            Some(format!("for a currency write `Currency.{}`", id.text));
                    } else {
                        self.error(Code::E0101, id.span, format!("unknown name `{}`", id.text));
                    }
                    return None;
                }
                let names: Vec<String> =
                    owners.iter().filter_map(|e| self.pkg.enum_def(*e)).map(|d| format!("{}.{}", d.name, id.text)).collect();
                let msg = if owners.len() > 1 {
                    format!("`{}` is a variant of several enums", id.text)
                } else {
                    format!("cannot tell which enum `{}` belongs to here", id.text)
                };
                self.error(Code::E0105, id.span, msg).help = Some(format!("write {}", quote_list_or(&names)));
                None
            }
        }
    }

    fn qualified_variant(&mut self, ty: &ast::Ident, v: &ast::Ident) -> Option<(Const, Ty)> {
        if ty.text == "Currency" {
            return match Currency::parse(&v.text) {
                Some(c) => Some((Const::Currency(c), Ty::Currency)),
                None => {
                    self.error(Code::E0201, v.span, format!("`{}` is not a currency code", v.text)).help =
                        Some("a currency code is three upper-case letters, such as `EUR`".into());
                    None
                }
            };
        }
        match self.types.get(&ty.text).copied() {
            Some(super::TypeName::Enum(e)) => {
                let def = self.pkg.enum_def(e)?;
                if let Some(i) = def.variants.iter().position(|x| x.name == v.text) {
                    return Some((Const::Enum(e, i as u32), Ty::Enum(e)));
                }
                let names: Vec<String> = def.variants.iter().map(|v| v.name.clone()).collect();
                let en = def.name.clone();
                self.error(Code::E0105, v.span, format!("`{en}` has no variant `{}`", v.text)).help =
                    Some(format!("the variants of `{en}` are {}", quote_list(&names)));
                None
            }
            _ => {
                self.error(Code::E0101, ty.span, format!("unknown enum `{}`", ty.text));
                None
            }
        }
    }

    // ------------------------------------------------------------ expressions

    pub(crate) fn expr(&mut self, env: &mut Env, e: &ast::Expr, expected: Option<&Ty>) -> ir::Expr {
        let loc = self.loc(e.span);
        match &e.kind {
            ast::ExprKind::Lit(l) => match self.lit_const(l, e.span, expected) {
                Some((c, t)) => mk(ExprKind::Const(c), t, loc),
                None => self.err_expr(e.span),
            },
            ast::ExprKind::Text(parts) => self.interpolation(env, parts, e.span),
            ast::ExprKind::Paren(inner) => {
                let x = self.expr(env, inner, expected);
                self.note_type(e.span, &x.ty);
                x
            }
            ast::ExprKind::Name(id) => {
                let x = self.name(env, id, expected);
                self.note_type(e.span, &x.ty);
                x
            }
            ast::ExprKind::Field { base, name, optional } => {
                let x = self.field(env, base, name, *optional, e.span, expected);
                self.note_type(e.span, &x.ty);
                x
            }
            ast::ExprKind::Call { callee, args } => {
                let x = self.call(env, callee, args, e.span, expected);
                self.note_type(e.span, &x.ty);
                x
            }
            ast::ExprKind::BadCall { callee } => {
                self.error(Code::E0201, callee.span, "only functions, decisions and built-ins can be called");
                self.err_expr(e.span)
            }
            ast::ExprKind::Index { base, keys } => {
                let x = self.lookup(env, base, keys, e.span);
                self.note_type(e.span, &x.ty);
                x
            }
            ast::ExprKind::Unary { op, expr } => self.unary(env, *op, expr, e.span),
            ast::ExprKind::Binary { op, lhs, rhs } => {
                let x = self.binary(env, *op, lhs, rhs, e.span, expected);
                if *op == ast::BinOp::Coalesce {
                    self.note_type(e.span, &x.ty);
                }
                x
            }
            ast::ExprKind::If { cond, then, otherwise } => {
                let c = self.expect(env, cond, &Ty::Bool);
                let (t_facts, f_facts) = facts(&c);
                let m = env.mark();
                env.narrow(t_facts);
                let a = self.expr(env, then, expected);
                env.reset(&m);
                env.narrow(f_facts);
                let b = self.expr(env, otherwise, expected);
                env.reset(&m);
                let Some(ty) = self.branch_type(&a.ty, &b.ty, expected, otherwise.span) else {
                    return self.err_expr(e.span);
                };
                let a = self.coerce(a, &ty, then.span);
                let b = self.coerce(b, &ty, otherwise.span);
                self.note_type(e.span, &ty);
                mk(ExprKind::If { cond: Box::new(c), then: Box::new(a), otherwise: Box::new(b) }, ty, loc)
            }
            ast::ExprKind::Match { scrutinee, arms } => {
                let s = self.expr(env, scrutinee, None);
                let sty = s.ty.clone();
                let mut out = Vec::new();
                let mut ty: Option<Ty> = expected.cloned().filter(|t| !matches!(t, Ty::Error));
                let mut inferred: Option<Ty> = None;
                let mut pats_all = Vec::new();
                for arm in arms {
                    let pats = self.patterns(&arm.patterns, &sty);
                    pats_all.push((pats.clone(), arm.span));
                    let body = self.expr(env, &arm.body, expected);
                    inferred = match inferred {
                        None => Some(body.ty.clone()),
                        Some(t) => match unify(&t, &body.ty) {
                            Some(u) => Some(u),
                            None => {
                                let (a, b) = (self.show(&t), self.show(&body.ty));
                                self.error(Code::E0201, arm.body.span, format!("this arm is `{b}` but earlier arms are `{a}`"));
                                Some(Ty::Error)
                            }
                        },
                    };
                    out.push((pats, body, arm.body.span));
                }
                self.check_exhaustive(&sty, &pats_all, e.span);
                if ty.is_none() {
                    ty = inferred;
                }
                let ty = ty.unwrap_or(Ty::Error);
                let arms = out.into_iter().map(|(p, b, sp)| (p, self.coerce(b, &ty, sp))).collect();
                self.note_type(e.span, &ty);
                mk(ExprKind::Match { scrutinee: Box::new(s), arms }, ty, loc)
            }
            ast::ExprKind::Record { name, fields, rest } => {
                if let Some(r) = rest {
                    self.error(Code::E0001, *r, "`..` is only allowed in `expect emit`");
                }
                self.record_literal(env, name, fields, e.span)
            }
            ast::ExprKind::List(items) => self.list_literal(env, items, e.span, expected),
        }
    }

    fn branch_type(&mut self, a: &Ty, b: &Ty, expected: Option<&Ty>, span: Span) -> Option<Ty> {
        match unify(a, b) {
            Some(t) => Some(t),
            None => {
                if let Some(t) = expected {
                    return Some(t.clone());
                }
                let (x, y) = (self.show(a), self.show(b));
                self.error(Code::E0201, span, format!("the branches have different types: `{x}` and `{y}`"));
                None
            }
        }
    }

    fn name(&mut self, env: &mut Env, id: &ast::Ident, expected: Option<&Ty>) -> ir::Expr {
        let loc = self.loc(id.span);
        if let Some((slot, ty)) = env.lookup(&id.text) {
            let e = mk(ExprKind::Local(slot), ty, loc);
            return self.narrowed(env, e);
        }
        if id.text == "meta" {
            if env.allow_meta {
                return mk(ExprKind::Meta, Ty::Record(ENVELOPE), loc);
            }
            self.error(Code::E0101, id.span, "`meta` is only available in handlers").help =
                Some("pass the envelope fields a function needs as parameters".into());
            return self.err_expr(id.span);
        }
        // A bare variant resolves from the expected type first: a record may
        // share its name with a variant (`record Employee`, `WorkerKind.Employee`).
        if let Some(Ty::Enum(e)) = expected.map(Ty::strip) {
            let has = self.pkg.enum_def(*e).map(|d| d.variants.iter().any(|v| v.name == id.text)).unwrap_or(false);
            if has {
                return match self.bare_variant(id, expected) {
                    Some((c, t)) => mk(ExprKind::Const(c), t, loc),
                    None => self.err_expr(id.span),
                };
            }
        }
        if let Some(v) = self.values.get(&id.text).copied() {
            let what = match v {
                ValueName::Fn(_) => "a function: call it with arguments",
                ValueName::Decision(_) => "a decision: call it with arguments",
                ValueName::Table(_) => "a table: look a row up with `table[key]`",
                ValueName::Destination(_) => "a destination: use it with `emit`",
            };
            self.error(Code::E0201, id.span, format!("`{}` is {what}", id.text));
            return self.err_expr(id.span);
        }
        if self.types.contains_key(&id.text) {
            self.error(Code::E0201, id.span, format!("`{}` is a type, not a value", id.text));
            return self.err_expr(id.span);
        }
        let known_variant = self.variant_owners.contains_key(&id.text) || Currency::parse(&id.text).is_some();
        if known_variant || matches!(expected.map(Ty::strip), Some(Ty::Enum(_)) | Some(Ty::Currency)) {
            return match self.bare_variant(id, expected) {
                Some((c, t)) => mk(ExprKind::Const(c), t, loc),
                None => self.err_expr(id.span),
            };
        }
        if self.is_broken(&id.text) {
            return self.err_expr(id.span);
        }
        let names: Vec<String> = env.locals.iter().map(|(n, _, _)| n.clone()).collect();
        let help = closest(&id.text, names.iter().map(String::as_str)).map(|s| format!("did you mean `{s}`?"));
        self.error(Code::E0101, id.span, format!("unknown name `{}`", id.text)).help = help;
        self.err_expr(id.span)
    }

    /// Strips the `?` of a path that a `!= none` check has narrowed.
    fn narrowed(&self, env: &Env, e: ir::Expr) -> ir::Expr {
        if let Ty::Optional(inner) = &e.ty {
            if let Some(p) = path_of(&e) {
                if env.is_narrowed(&p) {
                    let ty = (**inner).clone();
                    return ir::Expr { ty, ..e };
                }
            }
        }
        e
    }

    fn field(
        &mut self,
        env: &mut Env,
        base: &ast::Expr,
        name: &ast::Ident,
        optional: bool,
        span: Span,
        _expected: Option<&Ty>,
    ) -> ir::Expr {
        // `Type.Variant` and `Currency.EUR`.
        if let ast::ExprKind::Name(tn) = &base.kind {
            if env.lookup(&tn.text).is_none() && tn.text != "meta" && self.types.contains_key(&tn.text) {
                let loc = self.loc(span);
                return match self.qualified_variant(tn, name) {
                    Some((c, t)) => mk(ExprKind::Const(c), t, loc),
                    None => self.err_expr(span),
                };
            }
        }
        let b = self.expr(env, base, None);
        let loc = self.loc(span);
        if b.ty.is_error() {
            return self.err_expr(span);
        }
        let (rec, base_optional) = match &b.ty {
            Ty::Record(r) => (*r, false),
            Ty::Optional(t) => match &**t {
                Ty::Record(r) => (*r, true),
                other => {
                    let shown = self.show(other);
                    self.error(Code::E0103, name.span, format!("`{shown}` has no fields"));
                    return self.err_expr(span);
                }
            },
            other => {
                let shown = self.show(other);
                self.error(Code::E0103, name.span, format!("`{shown}` has no field `{}`", name.text)).help =
                    Some("only records have fields".into());
                return self.err_expr(span);
            }
        };
        let Some(def) = self.pkg.record(rec) else { return self.err_expr(span) };
        let Some(index) = def.field_index(&name.text) else {
            let rn = def.name.clone();
            let names: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
            let help = closest(&name.text, names.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("the fields of `{rn}` are {}", quote_list(&names)));
            self.error(Code::E0103, name.span, format!("`{rn}` has no field `{}`", name.text)).help = Some(help);
            return self.err_expr(span);
        };
        let fty = def.fields.get(index as usize).map(|f| f.ty.clone()).unwrap_or(Ty::Error);
        if base_optional && !optional {
            let shown = self.show(&b.ty);
            self.error(Code::E0202, base.span, format!("`{}` may be none (it is `{shown}`)", self.text_of(base.span)))
                .help = Some(format!(
                "use `?.{}` to get an optional result, or check `{} != none` first",
                name.text,
                self.text_of(base.span)
            ));
            return self.err_expr(span);
        }
        let e = if optional {
            mk(ExprKind::OptField { base: Box::new(b), index }, Ty::optional(fty), loc)
        } else {
            mk(ExprKind::Field { base: Box::new(b), index }, fty, loc)
        };
        self.narrowed(env, e)
    }

    fn lookup(&mut self, env: &mut Env, base: &ast::Expr, keys: &[ast::Expr], span: Span) -> ir::Expr {
        let loc = self.loc(span);
        let table = match &base.kind {
            ast::ExprKind::Name(id) if env.lookup(&id.text).is_none() => match self.values.get(&id.text).copied() {
                Some(ValueName::Table(t)) => t,
                _ => {
                    if !self.is_broken(&id.text) {
                        self.error(Code::E0101, id.span, format!("unknown table `{}`", id.text));
                    }
                    for k in keys {
                        self.expr(env, k, None);
                    }
                    return self.err_expr(span);
                }
            },
            _ => {
                self.error(Code::E0204, base.span, "`[...]` looks up a row of a table; only tables can be indexed");
                return self.err_expr(span);
            }
        };
        let Some(def) = self.pkg.tables.get(table.0 as usize).cloned() else { return self.err_expr(span) };
        let rec = self.pkg.record(def.record).cloned();
        let Some(rec) = rec else {
            for k in keys {
                self.expr(env, k, None);
            }
            return self.err_expr(span);
        };
        if keys.len() != def.keys.len() {
            self.error(
                Code::E0203,
                span,
                format!("table `{}` has {} key field(s) but {} were given", def.name, def.keys.len(), keys.len()),
            );
            return self.err_expr(span);
        }
        let mut out = Vec::new();
        for (k, fi) in keys.iter().zip(def.keys.iter()) {
            let kty = rec.fields.get(*fi as usize).map(|f| f.ty.strip().clone()).unwrap_or(Ty::Error);
            out.push(self.expect(env, k, &kty));
        }
        mk(ExprKind::Lookup { table, keys: out }, Ty::optional(Ty::Record(def.record)), loc)
    }

    fn unary(&mut self, env: &mut Env, op: ast::UnOp, e: &ast::Expr, span: Span) -> ir::Expr {
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
    fn is_contextual(&self, env: &Env, e: &ast::Expr) -> bool {
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

    fn binary(
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
                let (t, _) = facts(&a);
                let m = env.mark();
                if op == BinOp::And {
                    env.narrow(t);
                }
                let b = self.expect(env, rhs, &Ty::Bool);
                env.reset(&m);
                let op = if op == BinOp::And { BinaryOp::And } else { BinaryOp::Or };
                mk(ExprKind::Binary { op, lhs: Box::new(a), rhs: Box::new(b) }, Ty::Bool, loc)
            }
            BinOp::Coalesce => {
                let a = self.expr(env, lhs, expected.map(|t| Ty::optional(t.clone())).as_ref());
                let inner = a.ty.strip().clone();
                let hint = if matches!(inner, Ty::NoneLit | Ty::Error) { expected.cloned() } else { Some(inner.clone()) };
                let b = self.expr(env, rhs, hint.as_ref());
                let ty = match unify(&inner, &b.ty) {
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
                self.error(Code::E0201, span, format!("cannot look for a `{x}` in a list of `{y}`"));
                self.err_expr(span)
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let a = self.expr(env, lhs, None);
                let b = self.expr(env, rhs, None);
                self.arithmetic(op, a, b, lhs.span, rhs.span, span)
            }
        }
    }

    fn comparison(&mut self, op: BinOp, a: ir::Expr, b: ir::Expr, ls: Span, rs: Span, span: Span) -> ir::Expr {
        let loc = self.loc(span);
        if a.ty.is_error() || b.ty.is_error() {
            return self.err_expr(span);
        }
        if matches!(op, BinOp::Eq | BinOp::Ne) {
            let Some(u) = unify(&a.ty, &b.ty) else {
                let (x, y) = (self.show(&a.ty), self.show(&b.ty));
                self.error(Code::E0201, span, format!("cannot compare `{x}` with `{y}`"));
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

    fn arithmetic(&mut self, op: BinOp, a: ir::Expr, b: ir::Expr, ls: Span, rs: Span, span: Span) -> ir::Expr {
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
                (BinOp::Add, Int | Decimal, Int | Decimal) => (BinaryOp::AddDecimal, Decimal, Some(Decimal), Some(Decimal)),
                (BinOp::Sub, Int | Decimal, Int | Decimal) => (BinaryOp::SubDecimal, Decimal, Some(Decimal), Some(Decimal)),
                (BinOp::Mul, Int | Decimal, Int | Decimal) => (BinaryOp::MulDecimal, Decimal, Some(Decimal), Some(Decimal)),
                (BinOp::Div, Int | Decimal, Int | Decimal) => (BinaryOp::DivDecimal, Decimal, Some(Decimal), Some(Decimal)),
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
                    let which = if a.ty.is_optional() { ls } else { rs };
                    self.error(Code::E0202, which, format!("`{}` needs values, but this one is optional", op.symbol()))
                        .help = Some(OPTIONAL_HELP.into());
                } else {
                    let help = match (op, a.ty.strip(), b.ty.strip()) {
                        (BinOp::Mul, Money, Money) => Some("multiply Money by a Decimal or Int, not by Money"),
                        (BinOp::Add | BinOp::Sub, Money, Int | Decimal) | (BinOp::Add | BinOp::Sub, Int | Decimal, Money) => {
                            Some("add Money to Money: `money(x, currency(m))` makes Money from a Decimal")
                        }
                        (BinOp::Sub, Text, Text) => Some("Text supports `+` (concatenation) only"),
                        _ => None,
                    };
                    self.error(Code::E0204, span, format!("`{}` is not defined for `{x}` and `{y}`", op.symbol())).help =
                        help.map(String::from);
                }
                self.err_expr(span)
            }
        }
    }

    fn interpolation(&mut self, env: &mut Env, parts: &[ast::StrPart], span: Span) -> ir::Expr {
        let loc = self.loc(span);
        let mut out = Vec::new();
        for p in parts {
            match p {
                ast::StrPart::Text(t) => out.push(ir::InterpPart::Text(Arc::from(t.as_str()))),
                ast::StrPart::Expr(e) => {
                    let x = self.expr(env, e, None);
                    match &x.ty {
                        Ty::Error => {}
                        Ty::Optional(_) | Ty::NoneLit => {
                            let shown = self.show(&x.ty);
                            self.error(Code::E0202, e.span, format!("cannot insert an optional `{shown}` into text"))
                                .help = Some(format!("write `{{{} ?? \"...\"}}` or check it first", self.text_of(e.span)));
                        }
                        Ty::Record(_) | Ty::List(_) => {
                            let shown = self.show(&x.ty);
                            self.error(Code::E0201, e.span, format!("cannot insert a `{shown}` into text")).help =
                                Some("insert its fields one by one".into());
                        }
                        _ => out.push(ir::InterpPart::Expr(x)),
                    }
                }
            }
        }
        mk(ExprKind::Interp(out), Ty::Text, loc)
    }

    pub(crate) fn record_literal(
        &mut self,
        env: &mut Env,
        name: &ast::Ident,
        fields: &[ast::FieldInit],
        span: Span,
    ) -> ir::Expr {
        let loc = self.loc(span);
        match self.record_fields(env, name, fields, false) {
            Some((rec, values)) => {
                let values = values.into_iter().map(|v| v.unwrap_or_else(|| self.err_expr(span))).collect();
                mk(ExprKind::Record { record: rec, fields: values }, Ty::Record(rec), loc)
            }
            None => self.err_expr(span),
        }
    }

    /// Checks a record literal's fields; with `partial`, missing fields are `None`
    /// (for `expect emit ... { .., }`), else missing optional fields are `none`.
    pub(crate) fn record_fields(
        &mut self,
        env: &mut Env,
        name: &ast::Ident,
        fields: &[ast::FieldInit],
        partial: bool,
    ) -> Option<(RecordId, Vec<Option<ir::Expr>>)> {
        let rec = match self.types.get(&name.text).copied() {
            Some(super::TypeName::Record(r)) if r != ENVELOPE => r,
            Some(_) => {
                self.error(Code::E0201, name.span, format!("`{}` is not a record type", name.text));
                return None;
            }
            None if self.is_broken(&name.text) => return None,
            None => {
                let help =
                    closest(&name.text, self.types.keys().map(String::as_str)).map(|s| format!("did you mean `{s}`?"));
                self.error(Code::E0101, name.span, format!("unknown type `{}`", name.text)).help = help;
                for f in fields {
                    self.expr(env, &f.value, None);
                }
                return None;
            }
        };
        let def = self.pkg.record(rec)?.clone();
        let mut values: Vec<Option<ir::Expr>> = vec![None; def.fields.len()];
        for f in fields {
            let Some(i) = def.field_index(&f.name.text) else {
                let names: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
                let help = closest(&f.name.text, names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("the fields of `{}` are {}", def.name, quote_list(&names)));
                self.error(Code::E0103, f.name.span, format!("`{}` has no field `{}`", def.name, f.name.text)).help =
                    Some(help);
                self.expr(env, &f.value, None);
                continue;
            };
            let fty = def.fields.get(i as usize).map(|f| f.ty.clone()).unwrap_or(Ty::Error);
            let v = self.expect(env, &f.value, &fty);
            match values.get_mut(i as usize) {
                Some(slot @ None) => *slot = Some(v),
                _ => {
                    self.error(Code::E0102, f.name.span, format!("field `{}` is given twice", f.name.text));
                }
            }
        }
        if !partial {
            let mut missing = Vec::new();
            for (i, f) in def.fields.iter().enumerate() {
                if values.get(i).map(Option::is_none).unwrap_or(false) {
                    if f.ty.is_optional() {
                        let loc = self.loc(name.span);
                        if let Some(slot) = values.get_mut(i) {
                            *slot = Some(mk(ExprKind::Const(Const::None), f.ty.clone(), loc));
                        }
                    } else {
                        missing.push(f.name.clone());
                    }
                }
            }
            if !missing.is_empty() {
                let s = if missing.len() == 1 { "" } else { "s" };
                self.error(Code::E0104, name.span, format!("`{}` is missing field{s} {}", def.name, quote_list(&missing)))
                    .help = Some(format!("give every field that is not optional: {}", quote_list(&missing)));
                // Fill with error nodes so the record stays well-formed.
                for (i, _) in def.fields.iter().enumerate() {
                    if let Some(slot @ None) = values.get_mut(i) {
                        *slot = Some(self.err_expr(name.span));
                    }
                }
            }
        }
        Some((rec, values))
    }

    fn list_literal(&mut self, env: &mut Env, items: &[ast::Expr], span: Span, expected: Option<&Ty>) -> ir::Expr {
        let loc = self.loc(span);
        let elem_expected = match expected.map(Ty::strip) {
            Some(Ty::List(t)) => Some((**t).clone()),
            _ => None,
        };
        let mut out = Vec::new();
        let mut ty: Option<Ty> = None;
        for it in items {
            let x = self.expr(env, it, elem_expected.as_ref().or(ty.as_ref()));
            ty = match ty {
                None => Some(x.ty.clone()),
                Some(t) => match unify(&t, &x.ty) {
                    Some(u) => Some(u),
                    None => {
                        let (a, b) = (self.show(&t), self.show(&x.ty));
                        self.error(Code::E0201, it.span, format!("list elements must have one type: `{a}` and `{b}`"));
                        Some(Ty::Error)
                    }
                },
            };
            out.push((x, it.span));
        }
        let elem = match (ty, elem_expected) {
            (Some(t), Some(e)) if unify(&t, &e).as_ref() == Some(&e) => e,
            (Some(t), _) => t,
            (None, Some(e)) => e,
            (None, None) => Ty::Error,
        };
        let items = out.into_iter().map(|(x, sp)| self.coerce(x, &elem, sp)).collect();
        mk(ExprKind::List(items), Ty::list(elem), loc)
    }

    // ------------------------------------------------------------ match

    pub(crate) fn patterns(&mut self, pats: &[ast::Pattern], sty: &Ty) -> Vec<Pat> {
        let mut out = Vec::new();
        for p in pats {
            match p {
                ast::Pattern::Wildcard(_) => out.push(Pat::Wildcard),
                ast::Pattern::Lit(l) => {
                    if sty.is_error() {
                        continue;
                    }
                    if let Some(c) = self.cell_const(l, sty) {
                        out.push(Pat::Const(c));
                    }
                }
            }
        }
        out
    }

    /// A constant in a pattern or decision cell, typed by the column / scrutinee type.
    pub(crate) fn cell_const(&mut self, l: &ast::Lit, ty: &Ty) -> Option<Const> {
        let (c, cty) = self.lit_const(&l.kind, l.span, Some(ty))?;
        if matches!(c, Const::None) {
            if ty.is_optional() {
                return Some(c);
            }
            let shown = self.show(ty);
            self.error(Code::E0201, l.span, format!("`none` can never be a `{shown}`")).help =
                Some("only optional values can be none".into());
            return None;
        }
        let want = ty.strip();
        match (&c, want) {
            (Const::Int(i), Ty::Decimal) => return Some(Const::Decimal(canon_stdlib::num::from_int(*i))),
            _ if cty == *want => return Some(c),
            _ => {}
        }
        let (x, y) = (self.show(want), self.show(&cty));
        self.error(Code::E0201, l.span, format!("expected `{x}`, found `{y}`"));
        None
    }

    pub(crate) fn check_exhaustive(&mut self, sty: &Ty, arms: &[(Vec<Pat>, Span)], span: Span) {
        if sty.is_error() {
            return;
        }
        let all: Vec<&Pat> = arms.iter().flat_map(|(p, _)| p.iter()).collect();
        if all.iter().any(|p| matches!(p, Pat::Wildcard)) {
            return;
        }
        let has = |c: &Const| all.iter().any(|p| matches!(p, Pat::Const(x) if x == c));
        let mut missing: Vec<String> = Vec::new();
        match sty.strip() {
            Ty::Enum(e) => {
                if let Some(def) = self.pkg.enum_def(*e) {
                    for (i, v) in def.variants.iter().enumerate() {
                        if !has(&Const::Enum(*e, i as u32)) {
                            missing.push(v.name.clone());
                        }
                    }
                }
            }
            Ty::Bool => {
                for b in [true, false] {
                    if !has(&Const::Bool(b)) {
                        missing.push(b.to_string());
                    }
                }
            }
            other => {
                let shown = self.show(other);
                self.error(Code::E0301, span, format!("match on `{shown}` is not exhaustive")).help =
                    Some("add a `_ => ...` arm for the other values".into());
                return;
            }
        }
        if sty.is_optional() && !has(&Const::None) {
            missing.push("none".into());
        }
        if !missing.is_empty() {
            let s = if missing.len() == 1 { " is" } else { "s are" };
            let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
            self.error(Code::E0301, span, format!("match is not exhaustive: the case{s} not covered: {list}")).help =
                Some("add an arm for each missing case, or a `_ => ...` arm".into());
        }
    }

    // ------------------------------------------------------------ calls

    fn call(&mut self, env: &mut Env, callee: &ast::Ident, args: &[ast::Arg], span: Span, expected: Option<&Ty>) -> ir::Expr {
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
                    names.extend(super::BUILTIN_FUNCTIONS.iter().map(|s| s.to_string()));
                    let help =
                        closest(&callee.text, names.iter().map(String::as_str)).map(|s| format!("did you mean `{s}`?"));
                    self.error(Code::E0101, callee.span, format!("unknown function `{}`", callee.text)).help = help;
                    self.err_expr(span)
                }
            },
        }
    }

    fn args(&mut self, env: &mut Env, name: &str, args: &[ast::Arg], params: &[Ty], span: Span) -> Vec<ir::Expr> {
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

    fn lambda_misplaced(&mut self, span: Span) {
        self.error(Code::E0201, span, "a lambda `x => ...` is only allowed as an argument of sum, count, any and all");
    }

    fn arg_expr<'e>(&mut self, a: &'e ast::Arg) -> Option<&'e ast::Expr> {
        match a {
            ast::Arg::Expr(e) => Some(e),
            ast::Arg::Lambda { span, .. } => {
                self.lambda_misplaced(*span);
                None
            }
        }
    }

    /// Checks an argument with no expected type and requires a value (not optional).
    fn value_arg(&mut self, env: &mut Env, a: &ast::Arg) -> ir::Expr {
        match self.arg_expr(a) {
            Some(e) => {
                let x = self.expr(env, e, None);
                self.require_value(x, e.span)
            }
            None => mk(ExprKind::Error, Ty::Error, ir::Loc::default()),
        }
    }

    fn typed_arg(&mut self, env: &mut Env, a: &ast::Arg, t: &Ty) -> ir::Expr {
        match self.arg_expr(a) {
            Some(e) => self.expect(env, e, t),
            None => mk(ExprKind::Error, Ty::Error, ir::Loc::default()),
        }
    }

    fn wrong_arg(&mut self, name: &str, x: &ir::Expr, span: Span, wants: &str) {
        if x.ty.is_error() {
            return;
        }
        let shown = self.show(&x.ty);
        self.error(Code::E0201, span, format!("`{name}` takes {wants}, not `{shown}`"));
    }

    fn builtin(
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

    fn aggregate(&mut self, env: &mut Env, name: &str, args: &[ast::Arg], span: Span) -> ir::Expr {
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

fn int_to_decimal(x: ir::Expr) -> ir::Expr {
    if let ExprKind::Const(Const::Int(i)) = x.kind {
        return mk(ExprKind::Const(Const::Decimal(canon_stdlib::num::from_int(i))), Ty::Decimal, x.loc);
    }
    let loc = x.loc;
    let ty = if x.ty.is_optional() { Ty::optional(Ty::Decimal) } else { Ty::Decimal };
    mk(ExprKind::IntToDecimal(Box::new(x)), ty, loc)
}

pub(crate) fn quote_list(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

fn quote_list_or(names: &[String]) -> String {
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or `{last}`", quote_list(rest)),
        _ => quote_list(names),
    }
}

#[allow(dead_code)]
fn _unused(_: Decimal, _: EnumId) {}
