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
            if let ast::StmtKind::Emit { dest, index, value } = &s.kind {
                self.emit(env, dest, index.as_ref(), value, &mut stmts);
            } else if let Some(s) = self.stmt(env, s) {
                stmts.push(s);
            }
        }
        env.reset(&m);
        self.unguard_to(u);
        ir::Block { stmts, loc: self.loc(b.span) }
    }

    /// Every destination and family name, for suggestions.
    fn destination_names(&self) -> Vec<String> {
        let plain = self.pkg.destinations.iter().filter(|d| d.member_of.is_none()).map(|d| d.name.clone());
        plain.chain(self.pkg.families.iter().map(|f| f.name.clone())).collect()
    }

    fn unknown_destination(&mut self, dest: &ast::Ident) {
        if self.is_broken(&dest.text) {
            return;
        }
        let names = self.destination_names();
        let d = self.error(Code::E0101, dest.span, format!("unknown destination `{}`", dest.text));
        let fallback = Some("declare it with `destination name: RecordType`".into());
        super::suggest(d, &dest.text, dest.span, names.iter().map(String::as_str), fallback);
    }

    /// `emit dest v` and `emit family[index] v` (LANGUAGE.md §4.3, §8). To a
    /// family, the index is evaluated first, then the record, then the
    /// record goes to the index's member: `let`s and a `match` over the
    /// index's variants, so both engines run it as they run those.
    fn emit(
        &mut self,
        env: &mut Env,
        dest: &ast::Ident,
        index: Option<&ast::Expr>,
        value: &ast::Expr,
        out: &mut Vec<Stmt>,
    ) {
        if let Some(s) = self.emit_stmts(env, dest, index, value, out) {
            out.push(s);
        }
    }

    fn emit_stmts(
        &mut self,
        env: &mut Env,
        dest: &ast::Ident,
        index: Option<&ast::Expr>,
        value: &ast::Expr,
        out: &mut Vec<Stmt>,
    ) -> Option<Stmt> {
        match (self.values.get(&dest.text).copied(), index) {
            (Some(ValueName::Destination(d)), None) => {
                let rec = self.pkg.destinations.get(d.0 as usize).map(|x| x.record)?;
                if rec.0 == u32::MAX {
                    self.expr(env, value, None);
                    return None;
                }
                let v = self.expect(env, value, &Ty::Record(rec));
                let origins = std::mem::take(&mut env.origins);
                self.lint_unrounded_emit(&origins, &v, value);
                env.origins = origins;
                Some(Stmt::Emit { dest: d, value: v })
            }
            (Some(ValueName::Destination(_)), Some(i)) => {
                self.error(Code::E0633, i.span, format!("`{}` is a destination, not a family", dest.text)).help =
                    Some(format!(
                        "emit to it with `emit {} record`, or declare a family with `destination {}[Enum]: RecordType`",
                        dest.text, dest.text
                    ));
                self.expr(env, i, None);
                self.expr(env, value, None);
                None
            }
            (Some(ValueName::Family(f)), None) => {
                let fam = self.pkg.families.get(f as usize)?;
                let en = self.show(&Ty::Enum(fam.index));
                let example = self
                    .pkg
                    .enum_def(fam.index)
                    .and_then(|e| e.variants.first())
                    .map(|v| v.name.clone())
                    .unwrap_or_else(|| "Variant".into());
                self.error(
                    Code::E0632,
                    dest.span,
                    format!("`{}` is a destination family: say which member, by a value of `{en}`", dest.text),
                )
                .help = Some(format!(
                    "write `emit {}[e] record` with `e: {en}`, e.g. `emit {}[{example}] ...`",
                    dest.text, dest.text
                ));
                self.expr(env, value, None);
                None
            }
            (Some(ValueName::Family(f)), Some(i)) => {
                let fam = self.pkg.families.get(f as usize)?.clone();
                if fam.record.0 == u32::MAX || fam.members.is_empty() {
                    self.expr(env, i, None);
                    self.expr(env, value, None);
                    return None;
                }
                let want = Ty::Enum(fam.index);
                let idx = self.expr(env, i, Some(&want));
                if idx.ty != want && idx.ty != Ty::Error {
                    let (a, b) = (self.show(&want), self.show(&idx.ty));
                    let msg = format!("`{}` is indexed by `{a}`, not `{b}`", dest.text);
                    let help = match &idx.ty {
                        Ty::Optional(_) => {
                            "the member cannot be none: check it first, e.g. `require x != none else reject ...`"
                                .to_string()
                        }
                        _ => format!("give a value of `{a}`"),
                    };
                    self.error(Code::E0634, i.span, msg).help = Some(help);
                    self.expr(env, value, None);
                    return None;
                }
                let v = self.expect(env, value, &Ty::Record(fam.record));
                let origins = std::mem::take(&mut env.origins);
                self.lint_unrounded_emit(&origins, &v, value);
                env.origins = origins;
                if let ir::ExprKind::Const(ir::Const::Enum(_, variant)) = idx.kind {
                    let d = fam.members.get(variant as usize).copied()?;
                    return Some(Stmt::Emit { dest: d, value: v });
                }
                let (loc, vloc) = (idx.loc, v.loc);
                let ity = idx.ty.clone();
                let vty = v.ty.clone();
                let islot = env.bind("", ity.clone());
                let vslot = env.bind("", vty.clone());
                let arms = fam
                    .members
                    .iter()
                    .enumerate()
                    .map(|(k, d)| {
                        // Lineage names the record's line, as for a plain emit.
                        let value = ir::Expr { kind: ir::ExprKind::Local(vslot), ty: vty.clone(), loc: vloc };
                        let pat = ir::Pat::Const(ir::Const::Enum(fam.index, k as u32));
                        (vec![pat], ir::Block { stmts: vec![Stmt::Emit { dest: *d, value }], loc: ir::Loc::default() })
                    })
                    .collect();
                let scrutinee = ir::Expr { kind: ir::ExprKind::Local(islot), ty: ity, loc };
                out.push(Stmt::Let { slot: islot, value: idx });
                out.push(Stmt::Let { slot: vslot, value: v });
                Some(Stmt::Match { scrutinee, arms })
            }
            _ => {
                self.unknown_destination(dest);
                if let Some(i) = index {
                    self.expr(env, i, None);
                }
                self.expr(env, value, None);
                None
            }
        }
    }

    /// The destination a test's `emit d` or `emit d[V]` names, and its record.
    fn test_destination(&mut self, dest: &ast::Ident, member: Option<&ast::Ident>) -> Option<(ir::DestId, RecordId)> {
        match (self.values.get(&dest.text).copied(), member) {
            (Some(ValueName::Destination(d)), None) => {
                Some((d, self.pkg.destinations.get(d.0 as usize).map(|x| x.record).unwrap_or(RecordId(u32::MAX))))
            }
            (Some(ValueName::Destination(_)), Some(m)) => {
                self.error(Code::E0633, m.span, format!("`{}` is a destination, not a family", dest.text)).help =
                    Some(format!("write `emit {} Record {{ ... }}`", dest.text));
                None
            }
            (Some(ValueName::Family(f)), None) => {
                let en = self.pkg.families.get(f as usize).map(|f| self.show(&Ty::Enum(f.index))).unwrap_or_default();
                self.error(
                    Code::E0632,
                    dest.span,
                    format!("`{}` is a destination family: say which member, by a variant of `{en}`", dest.text),
                )
                .help = Some(format!("write `{}[Variant]`", dest.text));
                None
            }
            (Some(ValueName::Family(f)), Some(m)) => {
                let fam = self.pkg.families.get(f as usize)?.clone();
                let def = self.pkg.enum_def(fam.index)?;
                match def.variants.iter().position(|v| v.name == m.text) {
                    Some(i) => Some((fam.members.get(i).copied()?, fam.record)),
                    None => {
                        let names: Vec<String> = def.variants.iter().map(|v| v.name.clone()).collect();
                        let en = def.name.clone();
                        let fallback = Some(format!("the members are {}", names.join(", ")));
                        let d = self.error(
                            Code::E0634,
                            m.span,
                            format!("`{}` is indexed by `{en}`, which has no variant `{}`", dest.text, m.text),
                        );
                        super::suggest(d, &m.text, m.span, names.iter().map(String::as_str), fallback);
                        None
                    }
                }
            }
            _ => {
                self.unknown_destination(dest);
                None
            }
        }
    }

    /// An `emit d[V]? Record { ... }` of `expect emit` or `expect exactly`.
    fn expected_emit(&mut self, env: &mut Env, e: &ast::ExpectedEmit) -> Option<ir::ExpectedEmit> {
        let (d, dest_rec) = self.test_destination(&e.dest, e.member.as_ref())?;
        let ast::ExprKind::Record { name, fields, rest } = &e.record.kind else {
            self.error(Code::E0201, e.record.span, "an expected emit is a record literal").help =
                Some("write `emit dest Record { field: value, .. }`".into());
            return None;
        };
        let (rec, values) = self.record_fields(env, name, fields, rest.is_some())?;
        if rec != dest_rec && dest_rec.0 != u32::MAX {
            let (a, b) = (self.show(&Ty::Record(dest_rec)), self.show(&Ty::Record(rec)));
            self.error(Code::E0201, name.span, format!("`{}` carries `{a}`, not `{b}`", e.dest.text));
            return None;
        }
        Some(ir::ExpectedEmit { dest: d, record: rec, fields: values, text: self.text_of(e.record.span) })
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
            ast::StmtKind::Emit { .. } => return None,
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
                ast::TestStmtKind::ExpectReject(r) => {
                    if let Some((n, sp)) = r.times {
                        if n == 0 || n == u32::MAX {
                            self.error(Code::E0636, sp, "`times` counts rejections: give a number from 1").help =
                                Some("to say there is none, expect `accepted` or another code".into());
                            continue;
                        }
                    }
                    ir::TestStmt::ExpectReject {
                        code: r.code.text.clone(),
                        message: r.message.as_ref().map(|(how, m)| (*how, m.value.clone())),
                        times: r.times.map(|(n, _)| n),
                        loc,
                    }
                }
                ast::TestStmtKind::ExpectNoEmit { dest, member } => {
                    match (self.values.get(&dest.text).copied(), member) {
                        (Some(ValueName::Destination(d)), None) => {
                            ir::TestStmt::ExpectNoEmit { dests: vec![d], name: dest.text.clone(), loc }
                        }
                        (Some(ValueName::Family(f)), None) => {
                            let dests =
                                self.pkg.families.get(f as usize).map(|f| f.members.clone()).unwrap_or_default();
                            ir::TestStmt::ExpectNoEmit { dests, name: dest.text.clone(), loc }
                        }
                        (_, Some(m)) => match self.test_destination(dest, Some(m)) {
                            Some((d, _)) => ir::TestStmt::ExpectNoEmit {
                                dests: vec![d],
                                name: self
                                    .pkg
                                    .destinations
                                    .get(d.0 as usize)
                                    .map(|x| x.name.clone())
                                    .unwrap_or_default(),
                                loc,
                            },
                            None => continue,
                        },
                        _ => {
                            self.unknown_destination(dest);
                            continue;
                        }
                    }
                }
                ast::TestStmtKind::ExpectEmit(e) => match self.expected_emit(&mut env, e) {
                    Some(x) => {
                        ir::TestStmt::ExpectEmit { dest: x.dest, record: x.record, fields: x.fields, loc, text: x.text }
                    }
                    None => continue,
                },
                ast::TestStmtKind::ExpectExactly(es) => {
                    let mut emits = Vec::new();
                    let mut ok = true;
                    for e in es {
                        match self.expected_emit(&mut env, e) {
                            Some(x) => emits.push(x),
                            None => ok = false,
                        }
                    }
                    if !ok {
                        continue;
                    }
                    ir::TestStmt::ExpectExactly { emits, loc }
                }
            };
            stmts.push(st);
        }
        let loc = self.loc(t.name.span);
        ir::TestDef { name: t.name.value.clone(), loc, n_locals: env.n_locals, stmts }
    }
}
