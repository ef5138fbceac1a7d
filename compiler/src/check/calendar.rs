//! Calendars (LANGUAGE.md §5.3): the `calendar` declaration, which names its
//! holiday and fiscal-period tables, and the calendar functions.

use super::expr::{mk, Env};
use super::{Checker, ValueName};
use crate::diagnostics::Code;
use crate::ir::{self, CalendarOp, ExprKind, TableId};
use crate::syntax::ast::{self, Span};
use crate::types::Ty;

/// A parameter of a calendar function: its name and, when it is fixed, its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarParam {
    pub name: &'static str,
    /// `None` for the calendar (a name, not a value) and for who (the holiday table's key type).
    pub ty: Option<&'static str>,
}

impl CalendarParam {
    /// `date: Date`, or the bare name when the type depends on the calendar.
    pub fn label(&self) -> String {
        match self.ty {
            Some(t) => format!("{}: {t}", self.name),
            None => self.name.to_string(),
        }
    }
}

/// A calendar function's signature and documentation: the one source the
/// checker's messages and the language server's hover, signature help and
/// completion read (LANGUAGE.md §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarFn {
    pub op: CalendarOp,
    pub name: &'static str,
    pub params: &'static [CalendarParam],
    /// The result; `Period?` is the row type of the calendar's periods table, optional.
    pub ret: &'static str,
    /// One line, as a built-in's summary.
    pub summary: &'static str,
}

impl CalendarFn {
    /// `is_business_day(calendar, who, date: Date) -> Bool`
    pub fn signature(&self) -> String {
        let ps: Vec<String> = self.params.iter().map(CalendarParam::label).collect();
        format!("{}({}) -> {}", self.name, ps.join(", "), self.ret)
    }

    /// `is_business_day(calendar, who, date)`: how it is called, for messages.
    pub fn usage(&self) -> String {
        let ps: Vec<&str> = self.params.iter().map(|p| p.name).collect();
        format!("{}({})", self.name, ps.join(", "))
    }
}

const CALENDAR: CalendarParam = CalendarParam { name: "calendar", ty: None };
const WHO: CalendarParam = CalendarParam { name: "who", ty: None };
const DATE: CalendarParam = CalendarParam { name: "date", ty: Some("Date") };

/// The calendar functions. They are resolved from their first argument, a
/// declared calendar, so they have no stdlib overloads; who has the type of
/// the first key of the calendar's holiday table (a Text or an enum).
pub const CALENDAR_FUNCTIONS: &[CalendarFn] = &[
    CalendarFn {
        op: CalendarOp::IsBusinessDay,
        name: "is_business_day",
        params: &[CALENDAR, WHO, DATE],
        ret: "Bool",
        summary: "Whether `date` is a business day of `who`: not a weekend day of the calendar and not a holiday of `who`.",
    },
    CalendarFn {
        op: CalendarOp::AddBusinessDays,
        name: "add_business_days",
        params: &[CALENDAR, WHO, DATE, CalendarParam { name: "n", ty: Some("Int") }],
        ret: "Date",
        summary: "The business day `n` business days after `date` (before it for a negative `n`), the start not counted; `n` = 0 gives `date` when it is a business day, else the next one.",
    },
    CalendarFn {
        op: CalendarOp::FiscalPeriod,
        name: "fiscal_period",
        params: &[CALENDAR, WHO, DATE],
        ret: "Period?",
        summary: "The row of the calendar's periods table in force for `who` on `date` (its fields as declared), `none` outside the data.",
    },
];

/// The calendar function called `name`, if it is one.
pub fn calendar_function(name: &str) -> Option<&'static CalendarFn> {
    CALENDAR_FUNCTIONS.iter().find(|f| f.name == name)
}

/// The calendar function a name calls, if it is one.
pub(super) fn calendar_op(name: &str) -> Option<CalendarOp> {
    calendar_function(name).map(|f| f.op)
}

impl<'a> Checker<'a> {
    /// Resolves a calendar's entries (E0625 when malformed).
    pub(super) fn define_calendar(&mut self, d: &ast::CalendarDecl) {
        let Some(ValueName::Calendar(id)) = self.values.get(&d.name.text).copied() else { return };
        if self.declared.get(&d.name.text).map(|(f, s)| (*f, *s)) != Some((self.file, d.name.span)) {
            return;
        }
        let mut holidays = None;
        let mut periods = None;
        let mut weekend: Option<u8> = None;
        let mut selector: Option<Ty> = None;
        for (key, values) in &d.entries {
            match key.text.as_str() {
                "holidays" | "periods" => {
                    let [t] = values.as_slice() else {
                        self.error(Code::E0625, key.span, format!("`{}` names one table", key.text));
                        continue;
                    };
                    let Some(ValueName::Table(tid)) = self.values.get(&t.text).copied() else {
                        self.error(Code::E0101, t.span, format!("unknown table `{}`", t.text));
                        continue;
                    };
                    if key.text == "holidays" {
                        if let Some(sel) = self.holiday_table(tid, t) {
                            holidays = Some(tid);
                            selector = Some(sel);
                        }
                    } else if let Some(sel) = self.period_table(tid, t) {
                        periods = Some((tid, sel, t.span));
                    }
                }
                "weekend" => {
                    let mut mask = 0u8;
                    for v in values {
                        match canon_stdlib::Weekday::NAMES.iter().position(|n| *n == v.text) {
                            Some(i) => mask |= 1 << i,
                            None => {
                                self.error(Code::E0625, v.span, format!("`{}` is not a weekday", v.text)).help =
                                    Some("the weekend lists days such as `Saturday, Sunday` (Monday … Sunday)".into());
                            }
                        }
                    }
                    if mask == 0b111_1111 {
                        self.error(Code::E0625, key.span, "every day of the week is a weekend day").help =
                            Some("a calendar needs at least one business day in a week".into());
                        mask = 0b110_0000;
                    }
                    weekend = Some(mask);
                }
                other => {
                    self.error(Code::E0625, key.span, format!("a calendar has no entry `{other}`")).help =
                        Some("a calendar's entries are `holidays: table`, `periods: table` and `weekend: days`".into());
                }
            }
        }
        if holidays.is_none() && !d.entries.iter().any(|(k, _)| k.text == "holidays") {
            self.error(Code::E0625, d.name.span, format!("calendar `{}` names no holiday table", d.name.text)).help =
                Some("add `holidays: t`, a table keyed by (who, date)".into());
        }
        if let (Some(sel), Some((_, psel, span))) = (&selector, &periods) {
            if sel != psel {
                let (a, b) = (self.show(sel), self.show(psel));
                self.error(Code::E0625, *span, format!("the periods are kept per `{b}` but the holidays per `{a}`"))
                    .help = Some("key both tables by the same kind of value (a country or entity code)".into());
            }
        }
        if let Some(def) = self.pkg.to_mut().calendars.get_mut(id.0 as usize) {
            def.holidays = holidays.unwrap_or(TableId(u32::MAX));
            def.periods = periods.map(|(t, _, _)| t);
            if let Some(w) = weekend {
                def.weekend = w;
            }
        }
    }

    /// The type of who a holiday table is keyed by: its key is (who, date), who a Text or an enum.
    fn holiday_table(&mut self, t: TableId, name: &ast::Ident) -> Option<Ty> {
        let def = self.pkg.tables.get(t.0 as usize)?.clone();
        let rec = self.pkg.record(def.record)?.clone();
        let ty = |i: &u32| rec.fields.get(*i as usize).map(|f| f.ty.clone());
        let ok = match def.keys.as_slice() {
            [who, date] if def.effective.is_none() => match (ty(who), ty(date)) {
                (Some(w @ (Ty::Text | Ty::Enum(_))), Some(Ty::Date)) => Some(w),
                _ => None,
            },
            _ => None,
        };
        if ok.is_none() {
            self.error(Code::E0625, name.span, format!("holiday table `{}` is not keyed by (who, date)", def.name))
                .help =
                Some("key it by a Text or enum field (a country or entity) and a Date: `key (country, date)`".into());
        }
        ok
    }

    /// The type of who a period table is keyed by: one key field (a Text or an enum), effective-dated by Dates.
    fn period_table(&mut self, t: TableId, name: &ast::Ident) -> Option<Ty> {
        let def = self.pkg.tables.get(t.0 as usize)?.clone();
        let rec = self.pkg.record(def.record)?.clone();
        let ok = match (def.keys.as_slice(), def.effective) {
            ([who], Some(e)) if !e.timestamp => match rec.fields.get(*who as usize).map(|f| f.ty.clone()) {
                Some(w @ (Ty::Text | Ty::Enum(_))) => Some(w),
                _ => None,
            },
            _ => None,
        };
        if ok.is_none() {
            self.error(
                Code::E0625,
                name.span,
                format!("period table `{}` is not keyed by who and dated by Dates", def.name),
            )
            .help = Some("declare it `key entity effective start to end` with Date columns".into());
        }
        ok
    }

    /// `is_business_day(cal, who, d)`, `add_business_days(cal, who, d, n)`, `fiscal_period(cal, who, d)`.
    pub(super) fn calendar_call(
        &mut self,
        env: &mut Env,
        op: CalendarOp,
        callee: &ast::Ident,
        args: &[ast::Arg],
        span: Span,
    ) -> ir::Expr {
        let loc = self.loc(span);
        let Some(sig) = CALENDAR_FUNCTIONS.iter().find(|f| f.op == op) else { return self.err_expr(span) };
        let want = sig.params.len();
        let exprs: Vec<&ast::Expr> = args
            .iter()
            .filter_map(|a| match a {
                ast::Arg::Expr(e) => Some(e),
                ast::Arg::Lambda { .. } => None,
            })
            .collect();
        let usage = sig.usage();
        if exprs.len() != want || exprs.len() != args.len() {
            self.error(Code::E0203, span, format!("`{}` takes {want} arguments: `{usage}`", callee.text));
            return self.err_expr(span);
        }
        let Some(first) = exprs.first() else { return self.err_expr(span) };
        let cal = match &first.kind {
            ast::ExprKind::Name(id) if env.lookup(&id.text).is_none() => match self.values.get(&id.text).copied() {
                Some(ValueName::Calendar(c)) => Some(c),
                _ => None,
            },
            _ => None,
        };
        let Some(cal) = cal else {
            let names: Vec<String> = self.pkg.calendars.iter().map(|c| format!("`{}`", c.name)).collect();
            self.error(Code::E0626, first.span, format!("the first argument of `{}` is a calendar", callee.text))
                .help = Some(if names.is_empty() {
                "declare one: `calendar business { holidays: holidays }`".to_string()
            } else {
                format!("`{usage}`; the calendars are {}", names.join(", "))
            });
            return self.err_expr(span);
        };
        let Some(def) = self.pkg.calendars.get(cal.0 as usize).cloned() else { return self.err_expr(span) };
        let selector = self
            .pkg
            .tables
            .get(def.holidays.0 as usize)
            .and_then(|t| {
                let rec = self.pkg.record(t.record)?;
                t.keys.first().and_then(|k| rec.fields.get(*k as usize)).map(|f| f.ty.clone())
            })
            .unwrap_or(Ty::Error);
        let mut out = Vec::new();
        let rest = exprs.get(1..).unwrap_or(&[]);
        for (e, p) in rest.iter().zip(sig.params.iter().skip(1)) {
            let ty = match p.ty {
                None => selector.clone(),
                Some("Date") => Ty::Date,
                Some("Int") => Ty::Int,
                Some(_) => Ty::Error,
            };
            out.push(self.expect(env, e, &ty));
        }
        let ty = match op {
            CalendarOp::IsBusinessDay => Ty::Bool,
            CalendarOp::AddBusinessDays => Ty::Date,
            CalendarOp::FiscalPeriod => {
                let Some(p) = def.periods.and_then(|p| self.pkg.tables.get(p.0 as usize)) else {
                    self.error(Code::E0626, callee.span, format!("calendar `{}` has no fiscal periods", def.name))
                        .help = Some("name its table in the calendar: `periods: fiscal_periods`".into());
                    return self.err_expr(span);
                };
                Ty::optional(Ty::Record(p.record))
            }
        };
        mk(ExprKind::Calendar { op, calendar: cal, args: out }, ty, loc)
    }
}
