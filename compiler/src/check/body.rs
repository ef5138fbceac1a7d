//! Bodies: functions, handlers and their statements, and test blocks.

use std::sync::Arc;

use super::expr::{facts, Env};
use super::{rounding, Checker, TypeName, ValueName};
use crate::diagnostics::Code;
use crate::ir::{self, FnId, Stmt};
use crate::syntax::ast;
use crate::types::{RecordId, Ty};

/// A checked handler body, before it takes its place in the package.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HandlerBody {
    pub(super) event: RecordId,
    pub(super) event_type: String,
    pub(super) n_locals: u32,
    pub(super) body: ir::Block,
}

impl<'a> Checker<'a> {
    /// Checks a function's body: its `let`s, its result and its number of locals.
    pub(super) fn check_fn(&mut self, id: FnId, f: &ast::FnDecl) -> (Vec<(u32, ir::Expr)>, ir::Expr, u32) {
        let (params, ret) = match self.pkg.functions.get(id.0 as usize) {
            Some(def) => (def.params.clone(), def.ret.clone()),
            None => (Vec::new(), Ty::Error),
        };
        let mut env = Env::default();
        for ((n, t), p) in params.iter().zip(&f.params) {
            self.note_type(p.name.span, t);
            env.bind(n, t.clone());
        }
        let mut lets = Vec::new();
        for l in &f.lets {
            let v = self.expr(&mut env, &l.value, None);
            self.note_type(l.name.span, &v.ty);
            let slot = env.bind(&l.name.text, v.ty.clone());
            lets.push((slot, v));
        }
        let body = self.expect(&mut env, &f.body, &ret);
        (lets, body, env.n_locals)
    }

    /// Checks a handler's body. Whether another handler already takes its
    /// event is for [`super::assemble`] to say.
    pub(super) fn check_handler(&mut self, h: &ast::Handler) -> Option<HandlerBody> {
        let event = match self.types.get(&h.event.text).copied() {
            Some(TypeName::Record(r)) => r,
            _ => {
                if !self.is_broken(&h.event.text) {
                    let names: Vec<String> =
                        self.pkg.records.iter().filter(|r| r.event_type.is_some()).map(|r| r.name.clone()).collect();
                    let d = self.error(Code::E0101, h.event.span, format!("unknown event `{}`", h.event.text));
                    super::suggest(d, &h.event.text, h.event.span, names.iter().map(String::as_str), None);
                }
                return None;
            }
        };
        let def = self.pkg.record(event)?;
        let Some(event_type) = def.event_type.clone() else {
            self.error(Code::E0201, h.event.span, format!("`{}` is a record, not an event", h.event.text)).help =
                Some(format!("declare it with `event {} as \"...\" {{ ... }}` to handle it", h.event.text));
            return None;
        };
        let mut env = Env::default();
        env.allow_meta = true;
        env.allow_state = true;
        self.note_type(h.binding.span, &Ty::Record(event));
        env.bind(&h.binding.text, Ty::Record(event));
        let body = self.block(&mut env, &h.body);
        Some(HandlerBody { event, event_type, n_locals: env.n_locals, body })
    }

    fn block(&mut self, env: &mut Env, b: &ast::Block) -> ir::Block {
        let m = env.mark();
        let u = self.unguarded_len();
        let mut stmts = Vec::new();
        for s in &b.stmts {
            if let Some(s) = self.stmt(env, s) {
                stmts.push(s);
            }
        }
        env.reset(&m);
        self.unguard_to(u);
        ir::Block { stmts }
    }

    fn rejection(&mut self, env: &mut Env, r: &ast::Rejection, span: ast::Span) -> ir::RejectInfo {
        let message = r.message.as_ref().map(|m| self.expect(env, m, &Ty::Text));
        ir::RejectInfo { code: Arc::from(r.code.text.as_str()), message, loc: self.loc(span) }
    }

    fn stmt(&mut self, env: &mut Env, s: &ast::Stmt) -> Option<Stmt> {
        Some(match &s.kind {
            ast::StmtKind::Let(l) => {
                let v = self.expr(env, &l.value, None);
                self.note_type(l.name.span, &v.ty);
                let slot = env.bind(&l.name.text, v.ty.clone());
                if rounding::worth_keeping(&v.ty) {
                    env.origins.insert(slot, rounding::Origin::Let(v.clone()));
                }
                Stmt::Let { slot, value: v }
            }
            ast::StmtKind::Check { cond, reject } => {
                let c = self.expect(env, cond, &Ty::Bool);
                // A failed check does not stop, so the message sees no narrowing,
                // nor does the rest of the block; an E0202 there says why.
                let r = self.rejection(env, reject, s.span);
                self.unguard(facts(&c).0, super::expr::Unguarded::Check);
                Stmt::Check { cond: c, reject: r }
            }
            ast::StmtKind::Require { cond, reject } => {
                let c = self.expect(env, cond, &Ty::Bool);
                let (t, f) = facts(&c);
                let m = env.mark();
                env.narrow(f);
                let r = self.rejection(env, reject, s.span);
                env.reset(&m);
                // The rest of the block runs only when the condition held.
                env.narrow(t);
                Stmt::Require { cond: c, reject: r }
            }
            ast::StmtKind::Reject(r) => Stmt::Reject(self.rejection(env, r, s.span)),
            ast::StmtKind::Emit { dest, value } => {
                let target = match self.values.get(&dest.text).copied() {
                    Some(ValueName::Destination(d)) => self.pkg.destinations.get(d.0 as usize).map(|x| (d, x.record)),
                    _ if self.is_broken(&dest.text) => None,
                    _ => {
                        let names: Vec<String> = self.pkg.destinations.iter().map(|d| d.name.clone()).collect();
                        let d = self.error(Code::E0101, dest.span, format!("unknown destination `{}`", dest.text));
                        let fallback = Some("declare it with `destination name: RecordType`".into());
                        super::suggest(d, &dest.text, dest.span, names.iter().map(String::as_str), fallback);
                        None
                    }
                };
                match target {
                    Some((d, rec)) if rec.0 != u32::MAX => {
                        let v = self.expect(env, value, &Ty::Record(rec));
                        let origins = std::mem::take(&mut env.origins);
                        self.lint_unrounded_emit(&origins, &v, value);
                        env.origins = origins;
                        Stmt::Emit { dest: d, value: v }
                    }
                    _ => {
                        self.expr(env, value, None);
                        return None;
                    }
                }
            }
            ast::StmtKind::If { branches, otherwise } => {
                let m = env.mark();
                let mut out = Vec::new();
                for (cond, body) in branches {
                    let c = self.expect(env, cond, &Ty::Bool);
                    let (t, f) = facts(&c);
                    let inner = env.mark();
                    env.narrow(t);
                    let b = self.block(env, body);
                    env.reset(&inner);
                    // Later branches run only when this condition was false.
                    env.narrow(f);
                    out.push((c, b));
                }
                let otherwise = otherwise.as_ref().map(|b| self.block(env, b));
                env.reset(&m);
                Stmt::If { branches: out, otherwise }
            }
            ast::StmtKind::Match { scrutinee, arms } => {
                let sc = self.expr(env, scrutinee, None);
                let sty = sc.ty.clone();
                let mut out = Vec::new();
                let mut pats_all = Vec::new();
                for arm in arms {
                    let pats = self.patterns(&arm.patterns, &sty);
                    pats_all.push((pats.clone(), arm.span));
                    let b = self.block(env, &arm.body);
                    out.push((pats, b));
                }
                self.check_exhaustive(&sty, &pats_all, s.span);
                Stmt::Match { scrutinee: sc, arms: out }
            }
            ast::StmtKind::For { index, var, iter, body } => {
                let l = self.expr(env, iter, None);
                let elem = match &l.ty {
                    Ty::List(t) => (**t).clone(),
                    Ty::Error => Ty::Error,
                    Ty::Optional(t) if matches!(**t, Ty::List(_)) => {
                        self.error(Code::E0202, iter.span, "this list is optional").help =
                            Some("loop over `xs ?? []`, or check `xs != none` first".into());
                        Ty::Error
                    }
                    other => {
                        let shown = self.show(other);
                        self.error(Code::E0201, iter.span, format!("`for` loops over a List, not `{shown}`"));
                        Ty::Error
                    }
                };
                let m = env.mark();
                let index = index.as_ref().map(|i| env.bind(&i.text, Ty::Int));
                let slot = env.bind(&var.text, elem.clone());
                if rounding::worth_keeping(&elem) {
                    env.origins.insert(slot, rounding::Origin::Element(l.clone()));
                }
                let b = self.block(env, body);
                env.reset(&m);
                Stmt::For { slot, index, list: l, body: b }
            }
            ast::StmtKind::Put { .. } | ast::StmtKind::Update { .. } | ast::StmtKind::Delete { .. } => {
                return self.state_stmt(env, s)
            }
        })
    }

    pub(super) fn check_test(&mut self, t: &ast::TestDecl) -> ir::TestDef {
        let mut env = Env::default();
        env.allow_state = true;
        let mut stmts = Vec::new();
        for s in &t.stmts {
            let loc = self.loc(s.span);
            let st = match &s.kind {
                ast::TestStmtKind::Let(l) => {
                    let v = self.expr(&mut env, &l.value, None);
                    self.note_type(l.name.span, &v.ty);
                    let slot = env.bind(&l.name.text, v.ty.clone());
                    ir::TestStmt::Let { slot, value: v }
                }
                ast::TestStmtKind::Assert(e) => {
                    let c = self.expect(&mut env, e, &Ty::Bool);
                    ir::TestStmt::Assert { cond: c, loc, text: self.text_of(e.span) }
                }
                ast::TestStmtKind::Given(e) => {
                    let data = self.expr(&mut env, e, None);
                    match data.ty {
                        Ty::Record(r) if self.pkg.record(r).map(|d| d.event_type.is_some()).unwrap_or(false) => {
                            ir::TestStmt::Given { event: r, data }
                        }
                        Ty::Error => continue,
                        ref other => {
                            let shown = self.show(other);
                            self.error(Code::E0201, e.span, format!("`given` takes an event, not `{shown}`")).help =
                                Some("write `given EventName { field: value, ... }`".into());
                            continue;
                        }
                    }
                }
                ast::TestStmtKind::GivenFile(p) => ir::TestStmt::GivenFile { path: p.value.clone(), loc },
                ast::TestStmtKind::With { table, rows } => {
                    let tid = match self.values.get(&table.text).copied() {
                        Some(ValueName::Table(tid)) => tid,
                        Some(ValueName::State(sid)) => match self.with_state(&mut env, sid, rows) {
                            Some(st) => {
                                stmts.push(st);
                                continue;
                            }
                            None => continue,
                        },
                        _ => {
                            let mut names: Vec<String> = self.pkg.tables.iter().map(|t| t.name.clone()).collect();
                            names.extend(self.pkg.states.iter().map(|s| s.name.clone()));
                            let d =
                                self.error(Code::E0101, table.span, format!("unknown table or state `{}`", table.text));
                            super::suggest(d, &table.text, table.span, names.iter().map(String::as_str), None);
                            continue;
                        }
                    };
                    let rec = self.pkg.tables.get(tid.0 as usize).map(|t| t.record).unwrap_or(RecordId(u32::MAX));
                    if rec.0 == u32::MAX {
                        continue;
                    }
                    let rows = rows.iter().map(|r| self.expect(&mut env, r, &Ty::Record(rec))).collect();
                    ir::TestStmt::With { table: tid, rows }
                }
                ast::TestStmtKind::ExpectStatus(id) => {
                    let status = match id.text.as_str() {
                        "accepted" => ir::Status::Accepted,
                        "rejected" => ir::Status::Rejected,
                        "ignored" => ir::Status::Ignored,
                        other => {
                            self.error(Code::E0001, id.span, format!("unknown expectation `{other}`")).help = Some(
                                "expect `accepted`, `rejected`, `ignored`, `reject CODE`, `emit dest Record {...}` or `no emit dest`"
                                    .into(),
                            );
                            continue;
                        }
                    };
                    ir::TestStmt::ExpectStatus { status, loc }
                }
                ast::TestStmtKind::ExpectState { state, keys, record } => {
                    match self.expect_state(&mut env, state, keys, record.as_ref(), s.span) {
                        Some(st) => st,
                        None => continue,
                    }
                }
                ast::TestStmtKind::ExpectReject(code) => ir::TestStmt::ExpectReject { code: code.text.clone(), loc },
                ast::TestStmtKind::ExpectNoEmit { dest } => match self.values.get(&dest.text).copied() {
                    Some(ValueName::Destination(d)) => ir::TestStmt::ExpectNoEmit { dest: d, loc },
                    _ => {
                        self.error(Code::E0101, dest.span, format!("unknown destination `{}`", dest.text));
                        continue;
                    }
                },
                ast::TestStmtKind::ExpectEmit { dest, record } => {
                    let d = match self.values.get(&dest.text).copied() {
                        Some(ValueName::Destination(d)) => d,
                        _ => {
                            self.error(Code::E0101, dest.span, format!("unknown destination `{}`", dest.text));
                            continue;
                        }
                    };
                    let dest_rec =
                        self.pkg.destinations.get(d.0 as usize).map(|x| x.record).unwrap_or(RecordId(u32::MAX));
                    let ast::ExprKind::Record { name, fields, rest } = &record.kind else {
                        self.error(Code::E0201, record.span, "`expect emit` takes a record literal").help =
                            Some("write `expect emit dest Record { field: value, .. }`".into());
                        continue;
                    };
                    let Some((rec, values)) = self.record_fields(&mut env, name, fields, rest.is_some()) else {
                        continue;
                    };
                    if rec != dest_rec && dest_rec.0 != u32::MAX {
                        let (a, b) = (self.show(&Ty::Record(dest_rec)), self.show(&Ty::Record(rec)));
                        self.error(Code::E0201, name.span, format!("`{}` carries `{a}`, not `{b}`", dest.text));
                        continue;
                    }
                    ir::TestStmt::ExpectEmit {
                        dest: d,
                        record: rec,
                        fields: values,
                        loc,
                        text: self.text_of(record.span),
                    }
                }
            };
            stmts.push(st);
        }
        let loc = self.loc(t.name.span);
        ir::TestDef { name: t.name.value.clone(), loc, n_locals: env.n_locals, stmts }
    }
}
