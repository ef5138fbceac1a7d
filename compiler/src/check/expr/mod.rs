//! Expressions: bidirectional type checking (an expected type flows in, an
//! inferred type flows out), enum-variant resolution, optional narrowing,
//! operators and built-in calls.

mod calls;
mod literals;
mod operators;

use canon_stdlib::Currency;

use super::{suggest, Checker, ValueName};
use crate::diagnostics::{Code, Data};
use crate::ir::{self, BinaryOp, Const, ExprKind, Pat, UnaryOp};
use crate::syntax::ast::{self, Span};
use crate::types::{Ty, ENVELOPE};

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
    /// Handlers and tests may read state; functions, decisions and metrics may not (E0501).
    pub(crate) allow_state: bool,
    /// What `let` and `for` bound each Money-bearing local to, for W0611.
    pub(crate) origins: super::rounding::Origins,
}

/// Why a path tested against `none` is still optional (LANGUAGE.md §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unguarded {
    /// `check x != none else ...`: a failed check does not stop the handler.
    Check,
    /// `x == none or ...`: the right side of an `or` is not a guarded region.
    Or,
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
    pub(crate) fn lookup(&self, name: &str) -> Option<(u32, Ty)> {
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
    pub(super) fn err_expr(&self, span: Span) -> ir::Expr {
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
                self.why_optional(&x, span);
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

    /// Marks `paths` as tested against `none` without being narrowed, until [`Self::unguard_to`].
    pub(crate) fn unguard(&mut self, paths: Vec<Path>, why: Unguarded) {
        self.unguarded.extend(paths.into_iter().map(|p| (p, why)));
    }

    /// Forgets the marks of [`Self::unguard`] after the first `len`.
    pub(crate) fn unguard_to(&mut self, len: usize) {
        self.unguarded.truncate(len);
    }

    pub(crate) fn unguarded_len(&self) -> usize {
        self.unguarded.len()
    }

    /// After an E0202 about `x` (written at `span`): when `x` was tested
    /// against `none` by a test that does not narrow, the message says why
    /// and the help says what would narrow.
    pub(crate) fn why_optional(&mut self, x: &ir::Expr, span: Span) {
        let Some(p) = path_of(x) else { return };
        let Some(why) = self.unguarded.iter().rev().find(|(q, _)| *q == p).map(|(_, w)| *w) else { return };
        let name = self.text_of(span);
        let (reason, help) = match why {
            Unguarded::Check => (
                format!("a `check` does not stop the handler, so `check {name} != none` does not narrow `{name}`"),
                format!(
                    "use `require {name} != none else ...` to stop when it is none, or test it with `if {name} != none {{ ... }}` or `{name} != none and ...`"
                ),
            ),
            Unguarded::Or => (
                format!("`or` does not narrow `{name}`: only the rest of an `and` chain is guarded"),
                format!(
                    "write the test with `and` (`{name} != none and ...`), test it with `if` or `require`, or read it with `?.` and `??`"
                ),
            ),
        };
        if let Some(d) = self.diags.last_mut().filter(|d| d.code == Code::E0202) {
            d.message = format!("{}; {reason}", d.message);
            d.help = Some(help);
        }
    }

    /// Requires a non-optional value of any type (reports E0202 for `T?`).
    pub(super) fn require_value(&mut self, x: ir::Expr, span: Span) -> ir::Expr {
        if x.ty.is_optional() && !x.ty.is_error() {
            let found = self.show(&x.ty);
            self.error(Code::E0202, span, format!("this value is optional (`{found}`)")).help =
                Some(OPTIONAL_HELP.into());
            self.why_optional(&x, span);
            return self.err_expr(span);
        }
        x
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
                let x = self.call(env, callee, args, e.span);
                self.note_type(e.span, &x.ty);
                x
            }
            ast::ExprKind::BadCall { callee } => {
                self.error(Code::E0201, callee.span, "only functions, decisions and built-ins can be called");
                self.err_expr(e.span)
            }
            ast::ExprKind::Index { base, keys, as_of } => {
                let x = self.lookup(env, base, keys, as_of.as_deref(), e.span);
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
                                self.error(
                                    Code::E0201,
                                    arm.body.span,
                                    format!("this arm is `{b}` but earlier arms are `{a}`"),
                                );
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

    pub(super) fn branch_type(&mut self, a: &Ty, b: &Ty, expected: Option<&Ty>, span: Span) -> Option<Ty> {
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

    pub(super) fn name(&mut self, env: &mut Env, id: &ast::Ident, expected: Option<&Ty>) -> ir::Expr {
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
                ValueName::Family(_) => "a destination family: use it with `emit name[variant]`",
                ValueName::State(_) => "a state: read a record with `state[key]`",
                ValueName::Metric => "a metric: `canon status` shows it",
                ValueName::Calendar(_) => {
                    "a calendar: give it to `is_business_day`, `add_business_days` or `fiscal_period`"
                }
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
        let d = self.error(Code::E0101, id.span, format!("unknown name `{}`", id.text));
        suggest(d, &id.text, id.span, names.iter().map(String::as_str), None);
        // `eur`: an ISO 4217 code in the wrong case is offered too, after the
        // close local names (a local `per` may be what `pen` meant).
        if let Some(upper) = literals::lower_case_currency(&id.text) {
            let code = format!("Currency.{upper}");
            let currency = format!("currency codes are upper case: for the currency write `{code}`");
            d.help = Some(match d.help.take() {
                Some(h) => {
                    format!("{h} {}{}", currency.get(..1).unwrap_or("").to_uppercase(), currency.get(1..).unwrap_or(""))
                }
                None => currency,
            });
            match &mut d.data {
                Some(Data::Replace { with, .. }) => with.push(code),
                _ => d.data = Some(Data::Replace { span: id.span, with: vec![code] }),
            }
        }
        self.err_expr(id.span)
    }

    /// Strips the `?` of a path that a `!= none` check has narrowed.
    pub(super) fn narrowed(&self, env: &Env, e: ir::Expr) -> ir::Expr {
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

    pub(super) fn field(
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
            let fallback = Some(format!("the fields of `{rn}` are {}", quote_list(&names)));
            let d = self.error(Code::E0103, name.span, format!("`{rn}` has no field `{}`", name.text));
            suggest(d, &name.text, name.span, names.iter().map(String::as_str), fallback);
            return self.err_expr(span);
        };
        let fty = def.fields.get(index as usize).map(|f| f.ty.clone()).unwrap_or(Ty::Error);
        if base_optional && !optional {
            let shown = self.show(&b.ty);
            self.error(
                Code::E0202,
                base.span,
                format!("`{}` may be none (it is `{shown}`)", self.text_of(base.span)),
            )
            .help = Some(format!(
                "use `?.{}` to get an optional result, or check `{} != none` first",
                name.text,
                self.text_of(base.span)
            ));
            self.why_optional(&b, base.span);
            return self.err_expr(span);
        }
        let e = if optional {
            mk(ExprKind::OptField { base: Box::new(b), index }, Ty::optional(fty), loc)
        } else {
            mk(ExprKind::Field { base: Box::new(b), index }, fty, loc)
        };
        self.narrowed(env, e)
    }

    pub(super) fn lookup(
        &mut self,
        env: &mut Env,
        base: &ast::Expr,
        keys: &[ast::Expr],
        as_of: Option<&ast::Expr>,
        span: Span,
    ) -> ir::Expr {
        let table = match &base.kind {
            ast::ExprKind::Name(id) if env.lookup(&id.text).is_none() => match self.values.get(&id.text).copied() {
                Some(ValueName::Table(t)) => t,
                Some(ValueName::State(s)) => {
                    if let Some(at) = as_of {
                        self.error(
                            Code::E0622,
                            at.span,
                            format!("`{}` is a state, not an effective-dated table", id.text),
                        )
                        .help = Some("a state holds one record per key: drop `as of`".into());
                    }
                    return self.state_get(env, s, id, keys, span);
                }
                _ => {
                    if !self.is_broken(&id.text) {
                        let mut names: Vec<String> = self.pkg.tables.iter().map(|t| t.name.clone()).collect();
                        names.extend(self.pkg.states.iter().map(|s| s.name.clone()));
                        let d = self.error(Code::E0101, id.span, format!("unknown table `{}`", id.text));
                        suggest(d, &id.text, id.span, names.iter().map(String::as_str), None);
                    }
                    for k in keys {
                        self.expr(env, k, None);
                    }
                    return self.err_expr(span);
                }
            },
            _ => return self.index(env, base, keys, span),
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
        self.dated_lookup(env, table, out, keys, as_of, span)
    }

    /// `xs[i]` on a list: the element at the zero-based position `i`, `T?` (none out of range).
    fn index(&mut self, env: &mut Env, base: &ast::Expr, keys: &[ast::Expr], span: Span) -> ir::Expr {
        let loc = self.loc(span);
        let b = self.expr(env, base, None);
        let b = self.require_value(b, base.span);
        let elem = match &b.ty {
            Ty::List(t) => (**t).clone(),
            Ty::Error => Ty::Error,
            other => {
                let shown = self.show(other);
                self.error(
                    Code::E0204,
                    base.span,
                    format!("`[...]` indexes a List or looks up a row of a table, not a `{shown}`"),
                );
                Ty::Error
            }
        };
        let [k] = keys else {
            if !elem.is_error() {
                self.error(Code::E0203, span, format!("a list takes one index but {} were given", keys.len())).help =
                    Some("write `xs[i]` with one Int".into());
            }
            for k in keys {
                self.expr(env, k, None);
            }
            return self.err_expr(span);
        };
        let i = self.expect(env, k, &Ty::Int);
        if elem.is_error() {
            return self.err_expr(span);
        }
        mk(ExprKind::Index { list: Box::new(b), index: Box::new(i) }, Ty::optional(elem), loc)
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
                    match self.cell_const(l, sty) {
                        Some(c) => out.push(Pat::Const(c)),
                        // Reported; the arm counts as covering, so the match
                        // is not also reported as not exhaustive (one mistake,
                        // one diagnostic).
                        None => out.push(Pat::Wildcard),
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
        let hint = match (&c, want) {
            (Const::Text(t), Ty::Enum(e)) => Some(self.text_as_variant(*e, t)),
            _ => None,
        };
        let d = self.error(Code::E0201, l.span, format!("expected `{x}`, found `{y}`"));
        if let Some((help, with)) = hint {
            d.help = Some(help);
            d.data = with.map(|w| Data::Replace { span: l.span, with: vec![w] });
        }
        None
    }

    /// The variant of enum `e` a text literal names: the one whose wire
    /// name it is, else the one whose name or wire name it spells ignoring
    /// case, `_` and `-` (`"in-progress"` for `InProgress`).
    pub(crate) fn variant_for_text(&self, e: crate::types::EnumId, text: &str) -> Option<String> {
        let def = self.pkg.enum_def(e)?;
        let loose =
            |s: &str| s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
        let found =
            def.variants.iter().find(|v| v.wire == text).or_else(|| def.variants.iter().find(|v| v.name == text));
        let found = found.or_else(|| {
            let t = loose(text);
            def.variants.iter().find(|v| loose(&v.wire) == t || loose(&v.name) == t)
        });
        found.map(|v| v.name.clone())
    }

    /// The help for a text literal where enum `e` was meant (LANGUAGE.md
    /// §11), and the variant to write instead when one fits.
    pub(crate) fn text_as_variant(&self, e: crate::types::EnumId, text: &str) -> (String, Option<String>) {
        let Some(def) = self.pkg.enum_def(e) else { return (String::new(), None) };
        let en = def.name.clone();
        match self.variant_for_text(e, text) {
            Some(v) => {
                let wire = def.variants.iter().find(|x| x.name == v).map(|x| x.wire.as_str()).unwrap_or("");
                let why = if wire == text { "is the wire name of" } else { "looks like" };
                (
                    format!(
                        "an enum compares with its variants, not with text: `\"{text}\"` {why} `{en}.{v}`, write `{v}`"
                    ),
                    Some(v),
                )
            }
            None => {
                let names: Vec<String> = def.variants.iter().map(|v| v.name.clone()).collect();
                (
                    format!(
                        "an enum compares with its variants, not with text: the variants of `{en}` are {}",
                        quote_list(&names)
                    ),
                    None,
                )
            }
        }
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

pub(crate) fn quote_list_or(names: &[String]) -> String {
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or `{last}`", quote_list(rest)),
        _ => quote_list(names),
    }
}
