//! Literals: numbers, money, text and temporals, enum variants and currency codes, interpolation, lists and records.

use std::sync::Arc;

use canon_stdlib::Currency;

use super::{mk, quote_list, quote_list_or, unify, Env};
use crate::check::{suggest, Checker};
use crate::diagnostics::{Code, Data};
use crate::ir::{self, Const, ExprKind};
use crate::syntax::ast::{self, Span};
use crate::types::{RecordId, Ty, ENVELOPE};

impl<'a> Checker<'a> {
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
                self.error(Code::E0201, span, format!("`@\"{s}\"` is not a date or timestamp")).help =
                    Some("write a date as `@\"2026-11-25\"` or a timestamp as `@\"2026-11-25T09:30:00Z\"`".into());
                return None;
            }
            ast::LitKind::Name(id) => return self.bare_variant(id, expected),
            ast::LitKind::Qualified(ty, v) => return self.qualified_variant(ty, v),
        })
    }

    /// A bare variant or currency code, resolved by the expected type.
    pub(super) fn bare_variant(&mut self, id: &ast::Ident, expected: Option<&Ty>) -> Option<(Const, Ty)> {
        match expected.map(Ty::strip) {
            Some(Ty::Enum(e)) => {
                let e = *e;
                let def = self.pkg.enum_def(e)?;
                if let Some(i) = def.variants.iter().position(|v| v.name == id.text) {
                    return Some((Const::Enum(e, i as u32), Ty::Enum(e)));
                }
                let en = def.name.clone();
                let names: Vec<String> = def.variants.iter().map(|v| v.name.clone()).collect();
                let fallback = Some(format!("the variants of `{en}` are {}", quote_list(&names)));
                let d = self.error(Code::E0105, id.span, format!("`{}` is not a variant of `{en}`", id.text));
                suggest(d, &id.text, id.span, names.iter().map(String::as_str), fallback);
                None
            }
            Some(Ty::Currency) => match Currency::parse(&id.text) {
                Some(c) => Some((Const::Currency(c), Ty::Currency)),
                None => {
                    self.not_a_currency(&id.text, id.span, "");
                    None
                }
            },
            _ => {
                let owners = self.variant_owners.get(&id.text).cloned().unwrap_or_default();
                if owners.is_empty() {
                    if Currency::parse(&id.text).is_some() {
                        self.error(Code::E0105, id.span, format!("cannot tell what `{}` is here", id.text)).help =
                            Some(format!("for a currency write `Currency.{}`", id.text));
                    } else if lower_case_currency(&id.text).is_some() {
                        self.not_a_currency(&id.text, id.span, "Currency.");
                    } else {
                        self.error(Code::E0101, id.span, format!("unknown name `{}`", id.text));
                    }
                    return None;
                }
                let names: Vec<String> = owners
                    .iter()
                    .filter_map(|e| self.pkg.enum_def(*e))
                    .map(|d| format!("{}.{}", d.name, id.text))
                    .collect();
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

    /// E0201 for a name that is no currency code where one is expected;
    /// a code in the wrong case (`usd`) is offered in capitals, written
    /// after `prefix` (`Currency.` where no type says it is a currency).
    pub(super) fn not_a_currency(&mut self, text: &str, span: Span, prefix: &str) {
        let upper = text.to_ascii_uppercase();
        let wrong_case = (upper != text && Currency::parse(&upper).is_some()).then_some(upper);
        match wrong_case {
            Some(upper) => {
                let with = format!("{prefix}{upper}");
                let d = self.error(Code::E0201, span, format!("currency codes are upper case: write `{with}`"));
                d.help = Some(if ISO_4217.contains(&upper.as_str()) {
                    format!("`{upper}` is the ISO 4217 code; Canon spells currency codes in capitals")
                } else {
                    "a currency code is three upper-case letters, such as `EUR`".to_string()
                });
                d.data = Some(Data::Replace { span, with: vec![with] });
            }
            None => {
                self.error(Code::E0201, span, format!("`{text}` is not a currency code")).help =
                    Some("a currency code is three upper-case letters, such as `EUR`".into());
            }
        }
    }

    pub(super) fn qualified_variant(&mut self, ty: &ast::Ident, v: &ast::Ident) -> Option<(Const, Ty)> {
        if ty.text == "Currency" {
            return match Currency::parse(&v.text) {
                Some(c) => Some((Const::Currency(c), Ty::Currency)),
                None => {
                    self.not_a_currency(&v.text, v.span, "");
                    None
                }
            };
        }
        match self.types.get(&ty.text).copied() {
            Some(crate::check::TypeName::Enum(e)) => {
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

    pub(super) fn interpolation(&mut self, env: &mut Env, parts: &[ast::StrPart], span: Span) -> ir::Expr {
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
                                .help =
                                Some(format!("write `{{{} ?? \"...\"}}` or check it first", self.text_of(e.span)));
                            self.why_optional(&x, e.span);
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
            Some(crate::check::TypeName::Record(r)) if r != ENVELOPE => r,
            Some(_) => {
                self.error(Code::E0201, name.span, format!("`{}` is not a record type", name.text));
                return None;
            }
            None if self.is_broken(&name.text) => return None,
            None => {
                let names: Vec<String> = self.types.keys().cloned().collect();
                let d = self.error(Code::E0101, name.span, format!("unknown type `{}`", name.text));
                suggest(d, &name.text, name.span, names.iter().map(String::as_str), None);
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
                let fallback = Some(format!("the fields of `{}` are {}", def.name, quote_list(&names)));
                let d = self.error(Code::E0103, f.name.span, format!("`{}` has no field `{}`", def.name, f.name.text));
                suggest(d, &f.name.text, f.name.span, names.iter().map(String::as_str), fallback);
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
                self.error(
                    Code::E0104,
                    name.span,
                    format!("`{}` is missing field{s} {}", def.name, quote_list(&missing)),
                )
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

    pub(super) fn list_literal(
        &mut self,
        env: &mut Env,
        items: &[ast::Expr],
        span: Span,
        expected: Option<&Ty>,
    ) -> ir::Expr {
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
}

/// `USD` for `usd` or `Usd`: an ISO 4217 currency code written in the wrong case.
pub(crate) fn lower_case_currency(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    (upper != text && Currency::parse(&upper).is_some() && ISO_4217.contains(&upper.as_str())).then_some(upper)
}

/// The active ISO 4217 codes (and the precious metals and SDR), to tell a
/// currency written in lower case (`usd`) from any three-letter name (`zzz`).
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC",
    "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XCD", "XDR", "XOF", "XPD", "XPF", "XPT", "YER", "ZAR", "ZMW",
    "ZWL",
];
