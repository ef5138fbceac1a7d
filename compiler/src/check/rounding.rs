//! W0611: an emitted Money that is not known to be rounded to its currency's minor unit (LANGUAGE.md §6.1).
//!
//! A small forward analysis over the checked IR of a handler: each Money
//! expression is *unrounded* when it comes from `convert`, `Money * Decimal`,
//! `Decimal * Money` or `Money / Decimal` without a `round(...)` after it;
//! `+ - abs min max if match ??` and `sum` pass it on. Locals are followed to
//! the `let` that bound them, and `for` variables to the list they run over.
//! Everything else (input fields, tables, state, decisions, literals, calls
//! of user functions) counts as rounded, so a warning is almost always real.

use std::collections::HashMap;

use super::Checker;
use crate::diagnostics::Code;
use crate::ir::{self, Aggregate, BinaryOp, Builtin, ExprKind, UnaryOp};
use crate::syntax::ast::{self, Span};
use crate::types::{OrdKind, Ty};

/// Where a local's value came from, for the analysis.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// `let x = e`.
    Let(ir::Expr),
    /// `for x in xs`: an element of `xs`.
    Element(ir::Expr),
}

/// The locals of one body the analysis can follow, by slot.
pub(crate) type Origins = HashMap<u32, Origin>;

/// Whether the analysis needs to remember a local of this type.
pub(crate) fn worth_keeping(ty: &Ty) -> bool {
    match ty {
        Ty::Money | Ty::Record(_) => true,
        Ty::Optional(t) | Ty::List(t) => worth_keeping(t),
        _ => false,
    }
}

/// Why a Money is unrounded: the operation that made it so.
fn cause(e: &ir::Expr, origins: &Origins, depth: u32) -> Option<&'static str> {
    if depth > 64 {
        return None;
    }
    let d = depth + 1;
    let any = |xs: &[&ir::Expr]| xs.iter().find_map(|x| cause(x, origins, d));
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs } => match op {
            BinaryOp::MulMoneyDecimal if whole(rhs) => cause(lhs, origins, d),
            BinaryOp::MulDecimalMoney if whole(lhs) => cause(rhs, origins, d),
            BinaryOp::MulMoneyDecimal | BinaryOp::MulDecimalMoney => Some("a `Money * Decimal`"),
            BinaryOp::DivMoneyDecimal => Some("a `Money / Decimal`"),
            BinaryOp::AddMoney | BinaryOp::SubMoney => any(&[lhs, rhs]),
            _ => None,
        },
        ExprKind::Unary { op: UnaryOp::NegMoney, expr } => cause(expr, origins, d),
        ExprKind::Builtin { op, args } => match op {
            Builtin::Convert => Some("`convert(...)`"),
            Builtin::AbsMoney | Builtin::Min(OrdKind::Money) | Builtin::Max(OrdKind::Money) => {
                args.iter().find_map(|x| cause(x, origins, d))
            }
            _ => None,
        },
        ExprKind::Aggregate { op: Aggregate::SumMoney, list, slot, body } => {
            let mut inner = origins.clone();
            inner.insert(*slot, Origin::Element((**list).clone()));
            cause(body, &inner, d)
        }
        ExprKind::If { then, otherwise, .. } => any(&[then, otherwise]),
        ExprKind::Coalesce { lhs, rhs } => any(&[lhs, rhs]),
        ExprKind::Match { arms, .. } => arms.iter().find_map(|(_, x)| cause(x, origins, d)),
        ExprKind::Local(slot) => match origins.get(slot) {
            Some(Origin::Let(x)) => cause(x, origins, d),
            Some(Origin::Element(list)) => element_cause(list, origins, d),
            None => None,
        },
        ExprKind::Field { base, index } | ExprKind::OptField { base, index } => record_literal(base, origins, d)
            .and_then(|fields| fields.get(*index as usize))
            .and_then(|x| cause(x, origins, d)),
        _ => None,
    }
}

/// Why the elements of a list of Money (or records) are unrounded.
fn element_cause(list: &ir::Expr, origins: &Origins, depth: u32) -> Option<&'static str> {
    if depth > 64 {
        return None;
    }
    let d = depth + 1;
    match &list.kind {
        ExprKind::List(items) => items.iter().find_map(|x| cause(x, origins, d)),
        ExprKind::Local(slot) => match origins.get(slot) {
            Some(Origin::Let(x)) => element_cause(x, origins, d),
            _ => None,
        },
        _ => None,
    }
}

/// The field expressions of the record literal `e` is, through locals.
fn record_literal<'e>(e: &'e ir::Expr, origins: &'e Origins, depth: u32) -> Option<&'e [ir::Expr]> {
    if depth > 64 {
        return None;
    }
    match &e.kind {
        ExprKind::Record { fields, .. } => Some(fields),
        ExprKind::Local(slot) => match origins.get(slot) {
            Some(Origin::Let(x)) => record_literal(x, origins, depth + 1),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a multiplier keeps whole minor units whole: an Int (widened), or a whole Decimal literal.
fn whole(e: &ir::Expr) -> bool {
    match &e.kind {
        ExprKind::IntToDecimal(_) => true,
        ExprKind::Const(ir::Const::Decimal(k)) => k.fract().is_zero(),
        _ => false,
    }
}

fn is_money(ty: &Ty) -> bool {
    matches!(ty.strip(), Ty::Money)
}

fn is_record(ty: &Ty) -> Option<crate::types::RecordId> {
    match ty.strip() {
        Ty::Record(r) => Some(*r),
        _ => None,
    }
}

impl<'a> Checker<'a> {
    /// Warns (W0611) about each Money field of an emitted record, at any depth, that is unrounded.
    pub(super) fn lint_unrounded_emit(&mut self, origins: &Origins, value: &ir::Expr, syntax: &ast::Expr) {
        let mut found: Vec<(Span, String, &'static str)> = Vec::new();
        self.unrounded_fields(origins, value, Some(syntax), syntax.span, "", &mut found);
        for (span, path, why) in found {
            self.error(
                Code::W0611,
                span,
                format!("the Money field `{path}` is not known to be rounded to its currency's minor unit"),
            )
            .help = Some(format!(
                "it comes from {why}; round it with `round(...)` (to the currency's minor unit) or split a total with `allocate`"
            ));
        }
    }

    fn unrounded_fields(
        &self,
        origins: &Origins,
        value: &ir::Expr,
        syntax: Option<&ast::Expr>,
        at: Span,
        prefix: &str,
        found: &mut Vec<(Span, String, &'static str)>,
    ) {
        let syntax = syntax.map(unparen);
        let Some(fields) = record_literal(value, origins, 0) else { return };
        let Some(def) = is_record(&value.ty).and_then(|r| self.pkg.record(r)) else { return };
        let inits: &[ast::FieldInit] = match syntax.map(|s| &s.kind) {
            Some(ast::ExprKind::Record { fields, .. }) => fields,
            _ => &[],
        };
        for (field, x) in def.fields.iter().zip(fields) {
            let init = inits.iter().find(|f| f.name.text == field.name);
            let span = init.map_or(at, |f| f.value.span);
            let path = if prefix.is_empty() { field.name.clone() } else { format!("{prefix}.{}", field.name) };
            if is_money(&field.ty) {
                if let Some(why) = cause(x, origins, 0) {
                    found.push((span, path, why));
                }
            } else if is_record(&field.ty).is_some() {
                self.unrounded_fields(origins, x, init.map(|f| &f.value), span, &path, found);
            }
        }
    }
}

fn unparen(e: &ast::Expr) -> &ast::Expr {
    match &e.kind {
        ast::ExprKind::Paren(inner) => unparen(inner),
        _ => e,
    }
}
