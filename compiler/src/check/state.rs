//! State and metrics (LANGUAGE.md §4.5, §4.6, §8.1): declarations, reads,
//! the `put`/`update`/`delete` statements, metrics and the test statements
//! that give and check state.

use super::expr::{mk, Env};
use super::{suggest, Checker, ValueName};
use crate::diagnostics::Code;
use crate::ir::{self, ExprKind, MetricKind, StateId, Stmt};
use crate::syntax::ast::{self, Span};
use crate::types::{RecordId, Ty};

/// Microseconds in one `unit` of an `age` clause.
fn unit_micros(unit: &str) -> Option<i64> {
    match unit {
        "minutes" | "minute" => Some(60_000_000),
        "hours" | "hour" => Some(3_600_000_000),
        "days" | "day" => Some(86_400_000_000),
        _ => None,
    }
}

impl<'a> Checker<'a> {
    /// Resolves a state's record type and key fields (E0504 for a field that cannot be a key).
    pub(super) fn define_state(&mut self, t: &ast::StateDecl) {
        let ty = self.resolve_type(&t.ty);
        let mut keys = Vec::new();
        let record = match ty {
            Ty::Record(r) => {
                for k in &t.keys {
                    let Some(rec) = self.pkg.record(r) else { continue };
                    match rec.field_index(&k.text) {
                        Some(i) => {
                            let fty = rec.fields.get(i as usize).map(|f| f.ty.clone()).unwrap_or(Ty::Error);
                            let bad = match &fty {
                                Ty::Optional(_) => Some("optional"),
                                Ty::List(_) => Some("a list"),
                                Ty::Record(_) => Some("a record"),
                                _ => None,
                            };
                            if let Some(what) = bad {
                                let shown = self.show(&fty);
                                self.error(
                                    Code::E0504,
                                    k.span,
                                    format!("key field `{}` is {what} (`{shown}`)", k.text),
                                )
                                .help = Some("a key field always has a value that compares by value: make it required, or key by other fields".into());
                            }
                            keys.push(i);
                        }
                        None => {
                            let rn = rec.name.clone();
                            let names: Vec<String> = rec.fields.iter().map(|f| f.name.clone()).collect();
                            let d = self.error(Code::E0103, k.span, format!("`{rn}` has no field `{}`", k.text));
                            suggest(d, &k.text, k.span, names.iter().map(String::as_str), None);
                            // The state keeps the key it declared: lookups are checked against its arity.
                            keys.push(ir::NO_FIELD);
                        }
                    }
                }
                r
            }
            Ty::Error => RecordId(u32::MAX),
            other => {
                let shown = self.show(&other);
                self.error(Code::E0201, t.ty.span(), format!("a state holds records, not `{shown}`"));
                RecordId(u32::MAX)
            }
        };
        if let Some(ValueName::State(id)) = self.values.get(&t.name.text).copied() {
            if let Some(def) = self.pkg.to_mut().states.get_mut(id.0 as usize) {
                def.record = record;
                def.keys = keys;
            }
        }
    }

    /// `state[keys]` (the caller knows `id` names a state).
    pub(super) fn state_get(
        &mut self,
        env: &mut Env,
        id: StateId,
        name: &ast::Ident,
        keys: &[ast::Expr],
        span: Span,
    ) -> ir::Expr {
        let Some(out) = self.state_keys(env, id, name, keys, span) else { return self.err_expr(span) };
        let record = self.pkg.state(id).map(|d| d.record).unwrap_or(RecordId(u32::MAX));
        mk(ExprKind::StateGet { state: id, keys: out }, Ty::optional(Ty::Record(record)), self.loc(span))
    }

    /// The key expressions of `state[keys]`, each checked against its key field;
    /// `None` after an error (reported).
    fn state_keys(
        &mut self,
        env: &mut Env,
        id: StateId,
        name: &ast::Ident,
        keys: &[ast::Expr],
        span: Span,
    ) -> Option<Vec<ir::Expr>> {
        if !env.allow_state {
            self.error(
                Code::E0501,
                name.span,
                format!("state `{}` can only be used in a handler or a test", name.text),
            )
            .help = Some("read the record in the handler and pass what is needed as an argument".into());
            for k in keys {
                self.expr(env, k, None);
            }
            return None;
        }
        let def = self.pkg.state(id)?.clone();
        let rec = self.pkg.record(def.record).cloned();
        let Some(rec) = rec else {
            for k in keys {
                self.expr(env, k, None);
            }
            return None;
        };
        if keys.len() != def.keys.len() {
            self.error(
                Code::E0203,
                span,
                format!("state `{}` has {} key field(s) but {} were given", def.name, def.keys.len(), keys.len()),
            );
            return None;
        }
        let mut out = Vec::new();
        for (k, fi) in keys.iter().zip(def.keys.iter()) {
            let kty = rec.fields.get(*fi as usize).map(|f| f.ty.strip().clone()).unwrap_or(Ty::Error);
            out.push(self.expect(env, k, &kty));
        }
        Some(out)
    }

    /// The state a statement names, or `None` after reporting E0101.
    fn state_named(&mut self, name: &ast::Ident) -> Option<StateId> {
        match self.values.get(&name.text).copied() {
            Some(ValueName::State(id)) => Some(id),
            _ if self.is_broken(&name.text) => None,
            _ => {
                let names: Vec<String> = self.pkg.states.iter().map(|d| d.name.clone()).collect();
                let d = self.error(Code::E0101, name.span, format!("unknown state `{}`", name.text));
                let fallback = Some("declare it with `state name: Record key field`".into());
                suggest(d, &name.text, name.span, names.iter().map(String::as_str), fallback);
                None
            }
        }
    }

    fn state_record(&self, id: StateId) -> Option<RecordId> {
        self.pkg.state(id).map(|d| d.record).filter(|r| r.0 != u32::MAX)
    }

    /// `put`, `update` and `delete` (LANGUAGE.md §8.1).
    pub(super) fn state_stmt(&mut self, env: &mut Env, s: &ast::Stmt) -> Option<Stmt> {
        let loc = self.loc(s.span);
        match &s.kind {
            ast::StmtKind::Put { state, value } => {
                let Some(id) = self.state_named(state) else {
                    self.expr(env, value, None);
                    return None;
                };
                let Some(rec) = self.state_record(id) else {
                    self.expr(env, value, None);
                    return None;
                };
                let v = self.expect(env, value, &Ty::Record(rec));
                Some(Stmt::Put { state: id, value: v, loc })
            }
            ast::StmtKind::Update { state, keys, fields } => {
                let check_values = |c: &mut Self, env: &mut Env| {
                    for f in fields {
                        c.expr(env, &f.value, None);
                    }
                };
                let Some(id) = self.state_named(state) else {
                    check_values(self, env);
                    return None;
                };
                let Some(keys) = self.state_keys(env, id, state, keys, s.span) else {
                    check_values(self, env);
                    return None;
                };
                let def = self.pkg.state(id)?.clone();
                let rec = self.pkg.record(def.record)?.clone();
                let mut out: Vec<(u32, ir::Expr)> = Vec::new();
                for f in fields {
                    let Some(i) = rec.field_index(&f.name.text) else {
                        let names: Vec<String> = rec.fields.iter().map(|f| f.name.clone()).collect();
                        let d = self.error(
                            Code::E0103,
                            f.name.span,
                            format!("`{}` has no field `{}`", rec.name, f.name.text),
                        );
                        suggest(d, &f.name.text, f.name.span, names.iter().map(String::as_str), None);
                        self.expr(env, &f.value, None);
                        continue;
                    };
                    if def.keys.contains(&i) {
                        self.error(
                            Code::E0502,
                            f.name.span,
                            format!("`{}` is a key field of state `{}`", f.name.text, def.name),
                        )
                        .help = Some("to move a record to another key, `delete` it and `put` the new record".into());
                        self.expr(env, &f.value, None);
                        continue;
                    }
                    if out.iter().any(|(j, _)| *j == i) {
                        self.error(Code::E0102, f.name.span, format!("field `{}` is set twice", f.name.text));
                    }
                    let fty = rec.fields.get(i as usize).map(|f| f.ty.clone()).unwrap_or(Ty::Error);
                    let v = self.expect(env, &f.value, &fty);
                    out.push((i, v));
                }
                Some(Stmt::Update { state: id, keys, fields: out, loc })
            }
            ast::StmtKind::Delete { state, keys } => {
                let id = self.state_named(state)?;
                let keys = self.state_keys(env, id, state, keys, s.span)?;
                Some(Stmt::Delete { state: id, keys, loc })
            }
            _ => None,
        }
    }

    /// `with state [records]` in a test.
    pub(super) fn with_state(&mut self, env: &mut Env, id: StateId, rows: &[ast::Expr]) -> Option<ir::TestStmt> {
        let rec = self.state_record(id)?;
        let rows = rows.iter().map(|r| self.expect(env, r, &Ty::Record(rec))).collect();
        Some(ir::TestStmt::WithState { state: id, rows })
    }

    /// `expect state s[k] R { ... }` and `expect no state s[k]` in a test.
    pub(super) fn expect_state(
        &mut self,
        env: &mut Env,
        state: &ast::Ident,
        keys: &[ast::Expr],
        record: Option<&ast::Expr>,
        span: Span,
    ) -> Option<ir::TestStmt> {
        let loc = self.loc(span);
        let id = self.state_named(state)?;
        let keys = self.state_keys(env, id, state, keys, span)?;
        let rec = self.state_record(id)?;
        let record = match record {
            None => None,
            Some(e) => {
                let ast::ExprKind::Record { name, fields, rest } = &e.kind else {
                    self.error(Code::E0201, e.span, "`expect state` takes a record literal").help =
                        Some("write `expect state name[key] Record { field: value, .. }`".into());
                    return None;
                };
                let (r, values) = self.record_fields(env, name, fields, rest.is_some())?;
                if r != rec {
                    let (a, b) = (self.show(&Ty::Record(rec)), self.show(&Ty::Record(r)));
                    self.error(Code::E0201, name.span, format!("`{}` holds `{a}`, not `{b}`", state.text));
                    return None;
                }
                Some((r, values))
            }
        };
        let text = record.as_ref().map(|_| self.text_of(span)).unwrap_or_default();
        Some(ir::TestStmt::ExpectState { state: id, keys, record, loc, text })
    }

    /// A metric's declaration and expressions (LANGUAGE.md §4.6).
    pub(super) fn check_metric(&mut self, m: &ast::MetricDecl) -> Option<ir::MetricDef> {
        let loc = self.loc(m.name.span);
        let kind_word = m.aggregate.text.as_str();
        if !matches!(kind_word, "sum" | "count") {
            self.error(Code::E0503, m.aggregate.span, format!("a metric is a `sum` or a `count`, not `{kind_word}`"))
                .help = Some("write `metric name = sum(state, x => x.field)` or `count(state, x => condition)`".into());
            return None;
        }
        let id = match self.values.get(&m.state.text).copied() {
            Some(ValueName::State(id)) => id,
            _ if self.is_broken(&m.state.text) => return None,
            _ => {
                self.error(Code::E0503, m.state.span, format!("`{}` is not a state", m.state.text)).help =
                    Some("a metric adds up the records of a `state`".into());
                return None;
            }
        };
        let rec_id = self.state_record(id)?;
        let rec = self.pkg.record(rec_id)?.clone();
        let mut env = Env::default();
        self.note_type(m.param.span, &Ty::Record(rec_id));
        env.bind(&m.param.text, Ty::Record(rec_id));
        let (kind, value) = if kind_word == "count" {
            (MetricKind::Count, self.expect(&mut env, &m.body, &Ty::Bool))
        } else {
            let v = self.expr(&mut env, &m.body, None);
            let kind = match v.ty.strip() {
                _ if v.ty.is_optional() && !v.ty.is_error() => {
                    self.error(Code::E0202, m.body.span, "the value a metric adds up is optional").help =
                        Some("give a default with `??`, or leave those records out with `where`".into());
                    return None;
                }
                Ty::Int => MetricKind::SumInt,
                Ty::Decimal => MetricKind::SumDecimal,
                Ty::Money => MetricKind::SumMoney,
                Ty::Error => return None,
                other => {
                    let shown = self.show(other);
                    self.error(Code::E0201, m.body.span, format!("`sum` adds Int, Decimal or Money, not `{shown}`"));
                    return None;
                }
            };
            (kind, v)
        };
        let filter = m.filter.as_ref().map(|f| self.expect(&mut env, f, &Ty::Bool));
        let mut by = Vec::new();
        for b in &m.by {
            match rec.field_index(&b.text) {
                Some(i) => {
                    let fty = rec.fields.get(i as usize).map(|f| f.ty.strip().clone()).unwrap_or(Ty::Error);
                    if matches!(fty, Ty::List(_) | Ty::Record(_)) {
                        let shown = self.show(&fty);
                        self.error(
                            Code::E0503,
                            b.span,
                            format!("a metric cannot be grouped by `{}` (`{shown}`)", b.text),
                        );
                    }
                    if by.contains(&i) {
                        self.error(Code::E0102, b.span, format!("`{}` is named twice", b.text));
                    }
                    by.push(i);
                }
                None => {
                    self.error(Code::E0103, b.span, format!("`{}` has no field `{}`", rec.name, b.text));
                }
            }
        }
        let mut age = None;
        if let Some(a) = &m.age {
            let field = match rec.field_index(&a.field.text) {
                Some(i) => {
                    let fty = rec.fields.get(i as usize).map(|f| f.ty.strip().clone()).unwrap_or(Ty::Error);
                    if fty != Ty::Timestamp && !fty.is_error() {
                        let shown = self.show(&fty);
                        self.error(Code::E0201, a.field.span, format!("`age` measures a Timestamp, not `{shown}`"));
                    }
                    Some(i)
                }
                None => {
                    self.error(Code::E0103, a.field.span, format!("`{}` has no field `{}`", rec.name, a.field.text));
                    None
                }
            };
            let micros = match unit_micros(&a.unit.text) {
                Some(u) => a.amount.parse::<i64>().ok().and_then(|n| n.checked_mul(u)),
                None => {
                    self.error(Code::E0503, a.unit.span, format!("unknown unit `{}`", a.unit.text)).help =
                        Some("write `minutes`, `hours` or `days`".into());
                    return None;
                }
            };
            let Some(micros) = micros else {
                self.error(Code::E0503, a.amount_span, "this age is too long");
                return None;
            };
            age = field.map(|f| (f, micros));
        }
        Some(ir::MetricDef {
            name: m.name.text.clone(),
            docs: m.docs.clone(),
            state: id,
            kind,
            n_locals: env.n_locals,
            value,
            filter,
            by,
            age,
            site: None,
            loc,
        })
    }
}
