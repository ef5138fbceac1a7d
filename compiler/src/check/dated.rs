//! Effective-dated tables (LANGUAGE.md §5.1): the `effective` clause of a
//! table and lookups `table[keys as of at]`.

use super::expr::{mk, Env};
use super::Checker;
use crate::diagnostics::Code;
use crate::ir::{self, ExprKind, TableId};
use crate::syntax::ast::{self, Span};
use crate::types::{RecordId, Ty};

impl<'a> Checker<'a> {
    /// Resolves an `effective from [to to]` clause (E0623 when malformed).
    pub(super) fn effective(&mut self, record: RecordId, keys: &[u32], e: &ast::Effective) -> Option<ir::Effective> {
        let rec = self.pkg.record(record)?.clone();
        let mut column = |c: &ast::Ident, end: bool| -> Option<(u32, Ty)> {
            let Some(i) = rec.field_index(&c.text) else {
                self.error(Code::E0103, c.span, format!("`{}` has no field `{}`", rec.name, c.text));
                return None;
            };
            let fty = rec.fields.get(i as usize).map(|f| f.ty.clone()).unwrap_or(Ty::Error);
            if keys.contains(&i) {
                self.error(Code::E0623, c.span, format!("`{}` is a key field; it cannot also give the validity", c.text))
                    .help = Some("key the table by what the rows are about (a grade, a currency pair); the dates say when each row is in force".into());
                return None;
            }
            let base = fty.strip().clone();
            if !matches!(base, Ty::Date | Ty::Timestamp) {
                let shown = self.show(&fty);
                self.error(
                    Code::E0623,
                    c.span,
                    format!("validity column `{}` is `{shown}`, not a Date or a Timestamp", c.text),
                )
                .help = Some("an effective-dated table's `effective` clause names Date or Timestamp fields".into());
                return None;
            }
            if !end && fty.is_optional() {
                let shown = self.show(&fty);
                self.error(Code::E0623, c.span, format!("start column `{}` is optional (`{shown}`)", c.text)).help =
                    Some(
                        "every row needs its start; only the end column may be optional (an empty end is open-ended)"
                            .into(),
                    );
                return None;
            }
            Some((i, base))
        };
        let (from, fty) = column(&e.from, false)?;
        let to = match &e.to {
            Some(t) => {
                let (i, tty) = column(t, true)?;
                if tty != fty {
                    let (a, b) = (self.show(&fty), self.show(&tty));
                    self.error(
                        Code::E0623,
                        t.span,
                        format!("end column `{}` is a {b} but start column `{}` is a {a}", t.text, e.from.text),
                    )
                    .help = Some("the start and end of a validity are both Dates or both Timestamps".into());
                    return None;
                }
                Some(i)
            }
            None => None,
        };
        Some(ir::Effective { from, to, timestamp: fty == Ty::Timestamp })
    }

    /// The `as of` part of a table lookup, after its keys were checked: the
    /// lookup of an effective-dated table (E0621, E0622, E0624).
    pub(super) fn dated_lookup(
        &mut self,
        env: &mut Env,
        table: TableId,
        keys: Vec<ir::Expr>,
        ast_keys: &[ast::Expr],
        as_of: Option<&ast::Expr>,
        span: Span,
    ) -> ir::Expr {
        let loc = self.loc(span);
        let Some(def) = self.pkg.tables.get(table.0 as usize).cloned() else { return self.err_expr(span) };
        let ty = Ty::optional(Ty::Record(def.record));
        match (def.effective, as_of) {
            (None, None) => mk(ExprKind::Lookup { table, keys }, ty, loc),
            (None, Some(at)) => {
                self.expr(env, at, None);
                self.error(Code::E0622, at.span, format!("table `{}` is not effective-dated", def.name)).help =
                    Some(format!(
                        "drop `as of`, or give the table a validity: `table {}: ... key ... effective valid_from`",
                        def.name
                    ));
                self.err_expr(span)
            }
            (Some(eff), None) => {
                let (from, to) = self.validity_names(def.record, eff);
                let what = if eff.timestamp { "timestamp" } else { "date" };
                self.error(
                    Code::E0621,
                    span,
                    format!("table `{}` is effective-dated ({from}{to}): a lookup needs a {what}", def.name),
                )
                .help = Some(format!(
                    "say when: `{}[{} as of {what}]` gives the row in force then, or none",
                    def.name,
                    ast_keys.iter().map(|k| self.text_of(k.span)).collect::<Vec<_>>().join(", ")
                ));
                self.err_expr(span)
            }
            (Some(eff), Some(at)) => {
                let want = if eff.timestamp { Ty::Timestamp } else { Ty::Date };
                let x = self.expr(env, at, Some(&want));
                if matches!(x.ty, Ty::Error) {
                    return self.err_expr(span);
                }
                if x.ty != want {
                    let shown = self.show(&x.ty);
                    let help = match (&x.ty, eff.timestamp) {
                        (Ty::Timestamp, false) => "the table's validity is in Dates: use `date(...)` for the UTC date of a timestamp".to_string(),
                        (Ty::Date, true) => "the table's validity is in Timestamps: give a Timestamp (a Date does not say which instant of the day)".to_string(),
                        (Ty::Optional(_), _) => format!("check `{} != none` first, or give a default with `??`", self.text_of(at.span)),
                        _ => format!("`as of` takes a {}", self.show(&want)),
                    };
                    self.error(
                        Code::E0624,
                        at.span,
                        format!("`as of` a `{shown}`, but table `{}` is dated by {}", def.name, self.show(&want)),
                    )
                    .help = Some(help);
                    return self.err_expr(span);
                }
                mk(ExprKind::LookupAsOf { table, keys, at: Box::new(x) }, ty, loc)
            }
        }
    }

    fn validity_names(&self, record: RecordId, eff: ir::Effective) -> (String, String) {
        let name = |i: u32| {
            self.pkg.record(record).and_then(|r| r.fields.get(i as usize)).map(|f| f.name.clone()).unwrap_or_default()
        };
        let to = eff.to.map(|t| format!(" to {}", name(t))).unwrap_or_default();
        (format!("effective {}", name(eff.from)), to)
    }
}
