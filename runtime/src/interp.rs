//! The reference interpreter: walks the checked package's typed tree. Its
//! behaviour defines Canon's semantics; the JIT is tested against it.

use std::cell::RefCell;
use std::sync::Arc;

use canon_compiler::ir::{
    self, Aggregate, BinaryOp, Builtin, CalendarOp, CellTest, Const, DestId, Expr, ExprKind, Hit, InterpPart, Loc, Pat,
    Stmt, UnaryOp,
};
use canon_stdlib::money;
use canon_stdlib::{num, Rounding};
use smallvec::SmallVec;

use crate::coverage::{Key, Recorder, DEFAULT_TAG};
use crate::dindex::{self, cmp_holds, eq_const, DecisionIndexes};
use crate::encode;
use crate::outcome::{Fault, Rejection, TraceEvent};
use crate::state::{self, Txn};
use crate::tables::Tables;
use crate::value::{KeyPart, Value};

/// What a handler did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HandlerResult {
    pub emits: Vec<(DestId, Value)>,
    pub rejections: Vec<Rejection>,
}

pub struct Interp<'a> {
    pub pkg: &'a ir::Package,
    pub tables: &'a Tables,
    pub meta: &'a Value,
    /// When set, records which rules, decision rows and lookups decided the outcome.
    pub trace: Option<&'a RefCell<Vec<TraceEvent>>>,
    /// The event's reads and writes of state (a package with `state`).
    pub state: Option<&'a Txn<'a>>,
    /// When set (`canon test --coverage`), records the points reached
    /// (`coverage.rs`); when not, each point costs one test of `None`.
    pub coverage: Option<&'a Recorder>,
    /// The indexes of large decision tables (`dindex.rs`); without them
    /// every table is read row by row (the same answers, more slowly).
    pub decisions: Option<&'a DecisionIndexes>,
}

enum Flow {
    Go,
    Stop,
}

pub fn const_value(c: &Const) -> Value {
    match c {
        Const::None => Value::None,
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(i) => Value::Int(*i),
        Const::Decimal(d) => Value::Decimal(*d),
        Const::Money(d, c) => Value::Money(*d, *c),
        Const::Currency(c) => Value::Currency(*c),
        Const::Text(t) => Value::Text(t.clone()),
        Const::Date(d) => Value::Date(*d),
        Const::Timestamp(t) => Value::Timestamp(*t),
        Const::Enum(_, i) => Value::Enum(*i),
    }
}

impl<'a> Interp<'a> {
    fn note(&self, e: impl FnOnce() -> TraceEvent) {
        if let Some(t) = self.trace {
            t.borrow_mut().push(e());
        }
    }

    /// Records a point reached (coverage).
    #[inline]
    fn hit<T: crate::coverage::Node>(&self, node: &T, tag: u32) {
        if let Some(c) = self.coverage {
            c.hit(Key::of(node, tag));
        }
    }

    fn fault(&self, f: canon_stdlib::Fault, loc: Loc) -> Fault {
        Fault::from_stdlib(&f, loc, &self.pkg.loc_string(loc))
    }

    /// Runs a handler on a decoded event.
    pub fn run_handler(&self, h: &ir::HandlerDef, event: Value) -> HandlerResult {
        let mut frame = vec![Value::None; h.n_locals.max(1) as usize];
        if let Some(slot) = frame.first_mut() {
            *slot = event;
        }
        let mut out = HandlerResult::default();
        self.hit(h, 0);
        if let Err(f) = self.block(&h.body, &mut frame, &mut out) {
            let at = self.pkg.loc_string(f.loc);
            self.note(|| TraceEvent::Rejected { code: f.code.as_str().to_string(), at: at.clone() });
            out.rejections.push(f.into_rejection(at));
        }
        if !out.rejections.is_empty() {
            out.emits.clear();
        }
        out
    }

    fn block(&self, b: &ir::Block, frame: &mut [Value], out: &mut HandlerResult) -> Result<Flow, Fault> {
        for s in &b.stmts {
            if let Flow::Stop = self.stmt(s, frame, out)? {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Go)
    }

    fn reject(&self, r: &ir::RejectInfo, frame: &mut [Value], out: &mut HandlerResult) -> Result<(), Fault> {
        let message = match &r.message {
            Some(m) => match self.eval(m, frame)? {
                Value::Text(t) => t.to_string(),
                _ => String::new(),
            },
            None => r.code.to_string(),
        };
        let at = self.pkg.loc_string(r.loc);
        self.note(|| TraceEvent::Rejected { code: r.code.to_string(), at: at.clone() });
        out.rejections.push(Rejection { code: r.code.clone(), message, at, path: None });
        Ok(())
    }

    fn stmt(&self, s: &Stmt, frame: &mut [Value], out: &mut HandlerResult) -> Result<Flow, Fault> {
        match s {
            Stmt::Let { slot, value } => {
                let v = self.eval(value, frame)?;
                set(frame, *slot, v);
            }
            Stmt::Check { cond, reject } => {
                if !self.truth(cond, frame)? {
                    self.hit(s, 0);
                    self.reject(reject, frame, out)?;
                }
            }
            Stmt::Require { cond, reject } => {
                if !self.truth(cond, frame)? {
                    self.hit(s, 0);
                    self.reject(reject, frame, out)?;
                    return Ok(Flow::Stop);
                }
            }
            Stmt::Reject(r) => {
                self.hit(s, 0);
                self.reject(r, frame, out)?;
                return Ok(Flow::Stop);
            }
            Stmt::Emit { dest, value } => {
                let v = self.eval(value, frame)?;
                self.note(|| TraceEvent::Emit {
                    destination: self.pkg.destinations.get(dest.0 as usize).map(|d| d.name.clone()).unwrap_or_default(),
                    at: self.pkg.loc_string(value.loc),
                });
                out.emits.push((*dest, v));
            }
            Stmt::If { branches, otherwise } => {
                for (i, (c, b)) in branches.iter().enumerate() {
                    if self.truth(c, frame)? {
                        self.hit(s, i as u32);
                        return self.block(b, frame, out);
                    }
                }
                self.hit(s, branches.len() as u32);
                if let Some(b) = otherwise {
                    return self.block(b, frame, out);
                }
            }
            Stmt::Match { scrutinee, arms } => {
                let v = self.eval(scrutinee, frame)?;
                for (i, (pats, b)) in arms.iter().enumerate() {
                    if pats.iter().any(|p| pat_matches(p, &v)) {
                        self.hit(s, i as u32);
                        return self.block(b, frame, out);
                    }
                }
            }
            Stmt::For { slot, index, list, body } => {
                if let Value::List(items) = self.eval(list, frame)? {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(ix) = index {
                            set(frame, *ix, Value::Int(i as i64));
                        }
                        set(frame, *slot, item.clone());
                        if let Flow::Stop = self.block(body, frame, out)? {
                            return Ok(Flow::Stop);
                        }
                    }
                }
            }
            Stmt::Put { state: id, value, loc } => {
                let v = self.eval(value, frame)?;
                let Some(def) = self.pkg.state(*id) else { return Ok(Flow::Go) };
                let key = state::key_of(def, &v);
                self.write(*id, key, Some(v), *loc);
            }
            Stmt::Update { state: id, keys, fields, loc } => {
                let key = self.state_key(keys, frame)?;
                let Some(def) = self.pkg.state(*id) else { return Ok(Flow::Go) };
                let current = self.state.and_then(|t| t.get(*id, &key));
                let Some(Value::Record(current)) = current else {
                    let at = self.pkg.loc_string(*loc);
                    return Err(Fault::state_not_found(
                        &def.name,
                        &state::describe_key(self.pkg, def, &key),
                        *loc,
                        &at,
                    ));
                };
                let mut next: Vec<Value> = current.to_vec();
                for (i, e) in fields {
                    let v = self.eval(e, frame)?;
                    if let Some(slot) = next.get_mut(*i as usize) {
                        *slot = v;
                    }
                }
                self.write(*id, key, Some(Value::Record(next.into())), *loc);
            }
            Stmt::Delete { state: id, keys, loc } => {
                let key = self.state_key(keys, frame)?;
                if self.state.and_then(|t| t.get(*id, &key)).is_some() {
                    self.write(*id, key, None, *loc);
                }
            }
        }
        Ok(Flow::Go)
    }

    fn state_key(&self, keys: &[Expr], frame: &mut [Value]) -> Result<state::Key, Fault> {
        let mut key: Vec<KeyPart> = Vec::with_capacity(keys.len());
        for k in keys {
            key.push(KeyPart::of(&self.eval(k, frame)?));
        }
        Ok(key.into_boxed_slice())
    }

    /// Records a write in the event's transaction (and its lineage).
    fn write(&self, id: ir::StateId, key: state::Key, after: Option<Value>, loc: Loc) {
        let Some(txn) = self.state else { return };
        let traced = self.trace.map(|_| (key.clone(), after.clone()));
        let before = txn.write(id, key, after, loc);
        if let (Some((key, after)), Some(def)) = (traced, self.pkg.state(id)) {
            self.note(|| TraceEvent::Write {
                state: def.name.clone(),
                key: state::describe_key(self.pkg, def, &key),
                before: before.as_ref().map(|v| state::record_json(self.pkg, def, v)),
                after: after.as_ref().map(|v| state::record_json(self.pkg, def, v)),
                at: self.pkg.loc_string(loc),
            });
        }
    }

    fn truth(&self, e: &Expr, frame: &mut [Value]) -> Result<bool, Fault> {
        Ok(matches!(self.eval(e, frame)?, Value::Bool(true)))
    }

    /// Evaluates an expression in a frame of locals.
    pub fn eval(&self, e: &Expr, frame: &mut [Value]) -> Result<Value, Fault> {
        Ok(match &e.kind {
            ExprKind::Const(c) => const_value(c),
            ExprKind::Local(s) => frame.get(*s as usize).cloned().unwrap_or(Value::None),
            ExprKind::Meta => self.meta.clone(),
            ExprKind::Field { base, index } => match self.path_ref(base, frame) {
                // A path (`t.employee.role`) is read in place, without cloning the records on the way.
                Some(Value::Record(fields)) => fields.get(*index as usize).cloned().unwrap_or(Value::None),
                Some(_) => Value::None,
                None => field(self.eval(base, frame)?, *index),
            },
            ExprKind::OptField { base, index } => match self.eval(base, frame)? {
                Value::None => Value::None,
                v => field(v, *index),
            },
            ExprKind::Call { func, args } => {
                let Some(f) = self.pkg.functions.get(func.0 as usize) else { return Ok(Value::None) };
                let mut callee: SmallVec<[Value; 8]> = smallvec::smallvec![Value::None; f.n_locals.max(1) as usize];
                for (i, a) in args.iter().enumerate() {
                    let v = self.eval(a, frame)?;
                    set(&mut callee, i as u32, v);
                }
                for (slot, l) in &f.lets {
                    let v = self.eval(l, &mut callee)?;
                    set(&mut callee, *slot, v);
                }
                self.eval(&f.body, &mut callee)?
            }
            ExprKind::Decide { decision, args } => {
                let Some(d) = self.pkg.decisions.get(decision.0 as usize) else { return Ok(Value::None) };
                let n = d.n_locals.max(args.len() as u32).max(1) as usize;
                let mut callee: SmallVec<[Value; 8]> = smallvec::smallvec![Value::None; n];
                for (i, a) in args.iter().enumerate() {
                    let v = self.eval(a, frame)?;
                    set(&mut callee, i as u32, v);
                }
                self.decide(decision.0 as usize, d, &mut callee, e.loc)?
            }
            ExprKind::Builtin { op, args } => self.builtin(*op, args, frame, e.loc)?,
            ExprKind::Aggregate { op, list, slot, body } => self.aggregate(*op, list, *slot, body, frame, e.loc)?,
            ExprKind::Index { list, index } => {
                let l = self.eval(list, frame)?;
                let i = self.eval(index, frame)?;
                match (l, i) {
                    (Value::List(items), Value::Int(i)) => {
                        usize::try_from(i).ok().and_then(|i| items.get(i)).cloned().unwrap_or(Value::None)
                    }
                    _ => Value::None,
                }
            }
            ExprKind::Lookup { table, keys } => {
                let mut key: SmallVec<[KeyPart; 2]> = SmallVec::new();
                for k in keys {
                    key.push(KeyPart::of(&self.eval(k, frame)?));
                }
                let found = self.tables.get(*table, &key).cloned();
                self.note(|| match self.pkg.tables.get(table.0 as usize) {
                    Some(def) => TraceEvent::Lookup {
                        table: def.name.clone(),
                        key: KeyPart::describe_key(self.pkg, def, &key),
                        found: found.is_some(),
                    },
                    None => TraceEvent::Lookup { table: String::new(), key: String::new(), found: found.is_some() },
                });
                found.unwrap_or(Value::None)
            }
            ExprKind::Calendar { op, calendar, args } => {
                let Some(cal) = self.pkg.calendars.get(calendar.0 as usize) else { return Ok(Value::None) };
                let Some(who) = args.first() else { return Ok(Value::None) };
                let who = KeyPart::of(&self.eval(who, frame)?);
                let day = match args.get(1).map(|a| self.eval(a, frame)).transpose()? {
                    Some(Value::Date(d)) => d,
                    _ => return Ok(Value::None),
                };
                let holiday = |d: canon_stdlib::Date| -> bool {
                    self.tables.get(cal.holidays, &[who.clone(), KeyPart::Date(d.0)]).is_some()
                };
                match op {
                    CalendarOp::IsBusinessDay => {
                        Value::Bool(crate::calendar::is_business_day(cal.weekend, day, &holiday))
                    }
                    CalendarOp::AddBusinessDays => {
                        let n = match args.get(2).map(|a| self.eval(a, frame)).transpose()? {
                            Some(Value::Int(n)) => n,
                            _ => 0,
                        };
                        crate::calendar::add_business_days(cal.weekend, day, n, &holiday)
                            .map(Value::Date)
                            .map_err(|f| self.fault(f, e.loc))?
                    }
                    CalendarOp::FiscalPeriod => cal
                        .periods
                        .and_then(|p| self.tables.get_as_of(p, std::slice::from_ref(&who), i64::from(day.0)))
                        .cloned()
                        .unwrap_or(Value::None),
                }
            }
            ExprKind::LookupAsOf { table, keys, at } => {
                let mut key: SmallVec<[KeyPart; 2]> = SmallVec::new();
                for k in keys {
                    key.push(KeyPart::of(&self.eval(k, frame)?));
                }
                let at = crate::tables::instant(&self.eval(at, frame)?).unwrap_or(i64::MIN);
                let found = self.tables.get_as_of(*table, &key, at).cloned();
                self.note(|| match self.pkg.tables.get(table.0 as usize) {
                    Some(def) => TraceEvent::Lookup {
                        table: def.name.clone(),
                        key: crate::tables::describe_as_of(
                            &KeyPart::describe_key(self.pkg, def, &key),
                            at,
                            def.effective.is_some_and(|e| e.timestamp),
                        ),
                        found: found.is_some(),
                    },
                    None => TraceEvent::Lookup { table: String::new(), key: String::new(), found: found.is_some() },
                });
                found.unwrap_or(Value::None)
            }
            ExprKind::StateGet { state: id, keys } => {
                let key = self.state_key(keys, frame)?;
                let found = self.state.and_then(|t| t.get(*id, &key));
                if let Some(def) = self.pkg.state(*id) {
                    self.note(|| TraceEvent::StateRead {
                        state: def.name.clone(),
                        key: state::describe_key(self.pkg, def, &key),
                        found: found.is_some(),
                    });
                }
                found.unwrap_or(Value::None)
            }
            ExprKind::Unary { op, expr } => {
                let v = self.eval(expr, frame)?;
                match (op, v) {
                    (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnaryOp::NegInt, Value::Int(i)) => Value::Int(num::int_neg(i).map_err(|f| self.fault(f, e.loc))?),
                    (UnaryOp::NegDecimal, Value::Decimal(d)) => Value::Decimal(num::neg(d)),
                    (UnaryOp::NegMoney, Value::Money(d, c)) => Value::Money(num::neg(d), c),
                    _ => Value::None,
                }
            }
            ExprKind::Binary { op, lhs, rhs } => match op {
                BinaryOp::And => Value::Bool(self.truth(lhs, frame)? && self.truth(rhs, frame)?),
                BinaryOp::Or => Value::Bool(self.truth(lhs, frame)? || self.truth(rhs, frame)?),
                _ => {
                    let a = self.eval(lhs, frame)?;
                    let b = self.eval(rhs, frame)?;
                    self.binary(*op, a, b, e.loc)?
                }
            },
            ExprKind::Coalesce { lhs, rhs } => match self.eval(lhs, frame)? {
                Value::None => self.eval(rhs, frame)?,
                v => v,
            },
            ExprKind::In { value, list, negated } => {
                let v = self.eval(value, frame)?;
                let found = match self.eval(list, frame)? {
                    Value::List(items) => items.contains(&v),
                    _ => false,
                };
                Value::Bool(found != *negated)
            }
            ExprKind::If { cond, then, otherwise } => {
                if self.truth(cond, frame)? {
                    self.hit(e, 0);
                    self.eval(then, frame)?
                } else {
                    self.hit(e, 1);
                    self.eval(otherwise, frame)?
                }
            }
            ExprKind::Match { scrutinee, arms } => {
                let v = self.eval(scrutinee, frame)?;
                for (i, (pats, body)) in arms.iter().enumerate() {
                    if pats.iter().any(|p| pat_matches(p, &v)) {
                        self.hit(e, i as u32);
                        return self.eval(body, frame);
                    }
                }
                Value::None
            }
            ExprKind::Record { fields, .. } => {
                let mut out = Vec::with_capacity(fields.len());
                for f in fields {
                    out.push(self.eval(f, frame)?);
                }
                Value::Record(out.into())
            }
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for f in items {
                    out.push(self.eval(f, frame)?);
                }
                Value::List(out.into())
            }
            ExprKind::Interp(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        InterpPart::Text(t) => s.push_str(t),
                        InterpPart::Expr(x) => {
                            let v = self.eval(x, frame)?;
                            encode::interpolate(&mut s, self.pkg, &x.ty, &v);
                        }
                    }
                }
                Value::Text(Arc::from(s))
            }
            ExprKind::IntToDecimal(x) => match self.eval(x, frame)? {
                Value::Int(i) => Value::Decimal(num::from_int(i)),
                v => v,
            },
            ExprKind::Error => Value::None,
        })
    }

    /// The value of a local, `meta` or a field path of them, borrowed.
    fn path_ref<'f>(&'f self, e: &Expr, frame: &'f [Value]) -> Option<&'f Value> {
        match &e.kind {
            ExprKind::Local(s) => frame.get(*s as usize),
            ExprKind::Meta => Some(self.meta),
            ExprKind::Field { base, index } => match self.path_ref(base, frame)? {
                Value::Record(fields) => fields.get(*index as usize),
                _ => None,
            },
            _ => None,
        }
    }

    fn binary(&self, op: BinaryOp, a: Value, b: Value, loc: Loc) -> Result<Value, Fault> {
        let f = |r: Result<Value, canon_stdlib::Fault>| r.map_err(|x| self.fault(x, loc));
        Ok(match (op, a, b) {
            (BinaryOp::AddInt, Value::Int(x), Value::Int(y)) => f(num::int_add(x, y).map(Value::Int))?,
            (BinaryOp::SubInt, Value::Int(x), Value::Int(y)) => f(num::int_sub(x, y).map(Value::Int))?,
            (BinaryOp::MulInt, Value::Int(x), Value::Int(y)) => f(num::int_mul(x, y).map(Value::Int))?,
            (BinaryOp::DivInt, Value::Int(x), Value::Int(y)) => f(num::int_div(x, y).map(Value::Decimal))?,
            (BinaryOp::AddDecimal, Value::Decimal(x), Value::Decimal(y)) => f(num::add(x, y).map(Value::Decimal))?,
            (BinaryOp::SubDecimal, Value::Decimal(x), Value::Decimal(y)) => f(num::sub(x, y).map(Value::Decimal))?,
            (BinaryOp::MulDecimal, Value::Decimal(x), Value::Decimal(y)) => f(num::mul(x, y).map(Value::Decimal))?,
            (BinaryOp::DivDecimal, Value::Decimal(x), Value::Decimal(y)) => f(num::div(x, y).map(Value::Decimal))?,
            (BinaryOp::AddMoney, Value::Money(x, c), Value::Money(y, d)) => f(money::add((x, c), (y, d)).map(mv))?,
            (BinaryOp::SubMoney, Value::Money(x, c), Value::Money(y, d)) => f(money::sub((x, c), (y, d)).map(mv))?,
            (BinaryOp::MulMoneyDecimal, Value::Money(x, c), Value::Decimal(k))
            | (BinaryOp::MulDecimalMoney, Value::Decimal(k), Value::Money(x, c)) => f(money::mul((x, c), k).map(mv))?,
            (BinaryOp::DivMoneyDecimal, Value::Money(x, c), Value::Decimal(k)) => f(money::div((x, c), k).map(mv))?,
            (BinaryOp::DivMoneyMoney, Value::Money(x, c), Value::Money(y, d)) => {
                f(money::div_money((x, c), (y, d)).map(Value::Decimal))?
            }
            (BinaryOp::Concat, Value::Text(x), Value::Text(y)) => {
                let mut s = String::with_capacity(x.len() + y.len());
                s.push_str(&x);
                s.push_str(&y);
                Value::Text(Arc::from(s))
            }
            (BinaryOp::Eq, x, y) => Value::Bool(x == y),
            (BinaryOp::Ne, x, y) => Value::Bool(x != y),
            (BinaryOp::Cmp(op, _), x, y) => {
                let o = dindex::order(self.pkg, &x, &y, op.money_op(), loc)?;
                Value::Bool(cmp_holds(op, o))
            }
            _ => Value::None,
        })
    }

    fn decide(&self, di: usize, d: &ir::DecisionDef, frame: &mut [Value], loc: Loc) -> Result<Value, Fault> {
        if let Some(c) = self.coverage {
            self.cover_cells(c, d, frame);
        }
        // The rows worth testing (all of them, or an index's candidates),
        // read in table order as the row-by-row reading does (dindex.rs).
        let index = self.decisions.and_then(|i| i.get(di));
        let candidates = dindex::candidates(d, index, frame);
        // A row the index knows to match (every cell judged: it holds and
        // cannot fault) is not read again.
        let rows = candidates.from(0).filter_map(|(r, known)| d.rows.get(r).map(|row| (r, row, known)));
        match d.hit {
            Hit::First => {
                for (ri, row, known) in rows {
                    if known || self.row_matches(d, row, frame)? {
                        return self.row_output(d, ri, row, frame);
                    }
                }
                self.no_row(d, frame, loc)
            }
            Hit::Unique => {
                let mut found: Option<(usize, &ir::DecisionRow)> = None;
                for (ri, row, known) in rows {
                    if known || self.row_matches(d, row, frame)? {
                        if let Some((_, first)) = found {
                            let (first, second) = (self.pkg.loc_string(first.loc), self.pkg.loc_string(row.loc));
                            return Err(Fault::rows_conflict(&d.name, &first, &second, loc, &self.pkg.loc_string(loc)));
                        }
                        found = Some((ri, row));
                    }
                }
                match found {
                    Some((ri, row)) => self.row_output(d, ri, row, frame),
                    None => self.no_row(d, frame, loc),
                }
            }
            Hit::Any => {
                // Every matching row must give an output equal to the first's.
                let mut found: Option<(&ir::DecisionRow, Value)> = None;
                for (ri, row, known) in rows {
                    if known || self.row_matches(d, row, frame)? {
                        let v = self.row_output(d, ri, row, frame)?;
                        match &found {
                            Some((first, fv)) => {
                                if *fv != v {
                                    let (a, b) = (self.pkg.loc_string(first.loc), self.pkg.loc_string(row.loc));
                                    return Err(Fault::outputs_conflict(
                                        &d.name,
                                        &a,
                                        &b,
                                        loc,
                                        &self.pkg.loc_string(loc),
                                    ));
                                }
                            }
                            None => found = Some((row, v)),
                        }
                    }
                }
                match found {
                    Some((_, v)) => Ok(v),
                    None => self.no_row(d, frame, loc),
                }
            }
            Hit::Collect => {
                let mut out = Vec::new();
                for (ri, row, known) in rows {
                    if known || self.row_matches(d, row, frame)? {
                        out.push(self.row_output(d, ri, row, frame)?);
                    }
                }
                Ok(Value::List(out.into()))
            }
            Hit::CollectAgg(agg) => {
                let mut acc = dindex::collect_start(d, agg);
                for (ri, row, known) in rows {
                    if !known && !self.row_matches(d, row, frame)? {
                        continue;
                    }
                    let v = self.row_output(d, ri, row, frame)?;
                    acc = dindex::collect_step(self.pkg, agg, acc, v, row.loc)?;
                }
                Ok(acc)
            }
        }
    }

    /// Coverage of a decision call: which cells of each row hold for these
    /// inputs (a cell that faults counts as not holding; nothing else changes).
    fn cover_cells(&self, c: &Recorder, d: &ir::DecisionDef, frame: &[Value]) {
        let mut held: SmallVec<[bool; 8]> = SmallVec::new();
        for row in &d.rows {
            held.clear();
            for (cell, col) in row.cells.iter().zip(d.columns.iter()) {
                let v = frame.get(*col as usize).unwrap_or(&Value::None);
                held.push(self.cell_matches(cell, v, frame, row.loc).unwrap_or(false));
            }
            c.row_cells(row, &held);
        }
    }

    fn no_row(&self, d: &ir::DecisionDef, frame: &mut [Value], loc: Loc) -> Result<Value, Fault> {
        if let Some(e) = &d.default {
            self.hit(d, DEFAULT_TAG);
            return self.eval(e, frame);
        }
        if d.ret.is_optional() {
            return Ok(Value::None);
        }
        Err(Fault::no_row(&d.name, loc, &self.pkg.loc_string(loc)))
    }

    fn row_output(
        &self,
        d: &ir::DecisionDef,
        ri: usize,
        row: &ir::DecisionRow,
        frame: &mut [Value],
    ) -> Result<Value, Fault> {
        self.hit(row, 0);
        self.note(|| TraceEvent::DecisionRow {
            decision: d.name.clone(),
            row: ri + 1,
            at: self.pkg.loc_string(row.loc),
        });
        if d.output_record.is_some() {
            let mut out = Vec::with_capacity(row.outputs.len());
            for o in &row.outputs {
                out.push(self.eval(o, frame)?);
            }
            return Ok(Value::Record(out.into()));
        }
        match row.outputs.first() {
            Some(o) => self.eval(o, frame),
            None => Ok(Value::None),
        }
    }

    fn row_matches(&self, d: &ir::DecisionDef, row: &ir::DecisionRow, frame: &[Value]) -> Result<bool, Fault> {
        dindex::row_matches(self.pkg, d, row, frame)
    }

    fn cell_matches(&self, cell: &CellTest, v: &Value, frame: &[Value], loc: Loc) -> Result<bool, Fault> {
        dindex::cell_matches(self.pkg, cell, v, frame, loc)
    }

    /// An aggregate: the accumulation steps its stdlib file declares.
    fn aggregate(
        &self,
        op: Aggregate,
        list: &Expr,
        slot: u32,
        body: &Expr,
        frame: &mut [Value],
        loc: Loc,
    ) -> Result<Value, Fault> {
        use canon_stdlib::functions::{count, sum};
        let items = match self.eval(list, frame)? {
            Value::List(items) => items,
            _ => return Ok(Value::None),
        };
        let f = |r: canon_stdlib::Fault| self.fault(r, loc);
        match op {
            Aggregate::SumInt => {
                let mut acc = sum::INT_ZERO;
                for it in items.iter() {
                    set(frame, slot, it.clone());
                    if let Value::Int(i) = self.eval(body, frame)? {
                        acc = sum::add_int(acc, i).map_err(f)?;
                    }
                }
                Ok(Value::Int(acc))
            }
            Aggregate::SumDecimal => {
                let mut acc = sum::decimal_zero();
                for it in items.iter() {
                    set(frame, slot, it.clone());
                    match self.eval(body, frame)? {
                        Value::Decimal(d) => acc = sum::add_decimal(acc, d).map_err(f)?,
                        Value::Int(i) => acc = sum::add_decimal(acc, num::from_int(i)).map_err(f)?,
                        _ => {}
                    }
                }
                Ok(Value::Decimal(acc))
            }
            Aggregate::SumMoney => {
                let mut acc: Option<(canon_stdlib::Decimal, canon_stdlib::Currency)> = None;
                for it in items.iter() {
                    set(frame, slot, it.clone());
                    if let Value::Money(d, c) = self.eval(body, frame)? {
                        acc = Some(match acc {
                            None => (d, c),
                            Some(a) => sum::add_money(a, (d, c)).map_err(f)?,
                        });
                    }
                }
                Ok(acc.map(mv).unwrap_or(Value::None))
            }
            Aggregate::Count => {
                let mut n = 0i64;
                for it in items.iter() {
                    set(frame, slot, it.clone());
                    n = count::step(n, self.truth(body, frame)?).map_err(f)?;
                }
                Ok(Value::Int(n))
            }
            Aggregate::Any | Aggregate::All => {
                let want = op == Aggregate::Any;
                for it in items.iter() {
                    set(frame, slot, it.clone());
                    if self.truth(body, frame)? == want {
                        return Ok(Value::Bool(want));
                    }
                }
                Ok(Value::Bool(!want))
            }
            Aggregate::Map => {
                let mut out = Vec::with_capacity(items.len());
                for it in items.iter() {
                    set(frame, slot, it.clone());
                    out.push(self.eval(body, frame)?);
                }
                Ok(Value::List(out.into()))
            }
            Aggregate::Filter => {
                let mut out = Vec::new();
                for it in items.iter() {
                    set(frame, slot, it.clone());
                    if self.truth(body, frame)? {
                        out.push(it.clone());
                    }
                }
                Ok(Value::List(out.into()))
            }
            Aggregate::Find => {
                for it in items.iter() {
                    set(frame, slot, it.clone());
                    if self.truth(body, frame)? {
                        return Ok(it.clone());
                    }
                }
                Ok(Value::None)
            }
            Aggregate::SortBy { descending, .. } => {
                use canon_stdlib::functions::sort_by::{self, SortKey};
                let mut keys = Vec::with_capacity(items.len());
                for it in items.iter() {
                    set(frame, slot, it.clone());
                    keys.push(self.eval(body, frame)?);
                }
                let sort_keys: Vec<SortKey<'_>> = keys
                    .iter()
                    .map(|k| match k {
                        Value::Int(i) => SortKey::Int(*i),
                        Value::Decimal(d) => SortKey::Decimal(*d),
                        Value::Money(d, c) => SortKey::Money((*d, *c)),
                        Value::Date(d) => SortKey::Date(*d),
                        Value::Timestamp(t) => SortKey::Timestamp(*t),
                        Value::Text(t) => SortKey::Text(t),
                        _ => SortKey::Int(0),
                    })
                    .collect();
                let order = sort_by::order(&sort_keys, descending).map_err(f)?;
                Ok(Value::List(order.iter().filter_map(|&i| items.get(i).cloned()).collect()))
            }
        }
    }

    /// A built-in call: each overload runs the native function its stdlib file declares.
    fn builtin(&self, op: Builtin, args: &[Expr], frame: &mut [Value], loc: Loc) -> Result<Value, Fault> {
        use canon_stdlib::functions::{
            abs, add_days, allocate, allocate_even, amount, contains, convert, currency, date, day, days_between,
            distinct, end_of_month, ends_with, first, last, len, lower, max, min, minor_units, money, month, round,
            start_of_month, starts_with, trim, upper, weekday, year,
        };
        let mut vals: SmallVec<[Value; 3]> = SmallVec::new();
        for a in args {
            vals.push(self.eval(a, frame)?);
        }
        let f = |r: canon_stdlib::Fault| self.fault(r, loc);
        let arg = |i: usize| vals.get(i).cloned().unwrap_or(Value::None);
        let rounding = |v: Value| match v {
            Value::Enum(i) => Rounding::from_index(i).unwrap_or(Rounding::HalfEven),
            _ => Rounding::HalfEven,
        };
        // The first of two texts unless the native function picked the second.
        let text = |a: Arc<str>, b: Arc<str>, picked: &str| Value::Text(if std::ptr::eq(picked, &*b) { b } else { a });
        Ok(match (op, arg(0), arg(1)) {
            (Builtin::RoundDecimal, Value::Decimal(x), Value::Int(p)) => {
                Value::Decimal(round::round_decimal(x, p, rounding(arg(2))).map_err(f)?)
            }
            (Builtin::RoundMoney, Value::Money(x, c), Value::Int(p)) => {
                mv(round::round_money((x, c), p, rounding(arg(2))).map_err(f)?)
            }
            (Builtin::RoundMoneyToUnit, Value::Money(x, c), mode) => {
                mv(round::round_money_to_unit((x, c), rounding(mode)).map_err(f)?)
            }
            (Builtin::MinorUnits, Value::Currency(c), _) => Value::Int(minor_units::minor_units(c).map_err(f)?),
            (Builtin::Allocate, Value::Money(x, c), Value::List(ws)) => {
                let ws: Vec<canon_stdlib::Decimal> =
                    ws.iter().map(|w| if let Value::Decimal(d) = w { *d } else { Default::default() }).collect();
                money_list(allocate::allocate((x, c), &ws).map_err(f)?)
            }
            (Builtin::AllocateInt, Value::Money(x, c), Value::List(ws)) => {
                let ws: Vec<i64> = ws.iter().map(|w| if let Value::Int(i) = w { *i } else { 0 }).collect();
                money_list(allocate::allocate_int((x, c), &ws).map_err(f)?)
            }
            (Builtin::AllocateEven, Value::Money(x, c), Value::Int(n)) => {
                money_list(allocate_even::allocate_even((x, c), n).map_err(f)?)
            }
            (Builtin::AbsInt, Value::Int(i), _) => Value::Int(abs::abs_int(i).map_err(f)?),
            (Builtin::AbsDecimal, Value::Decimal(d), _) => Value::Decimal(abs::abs_decimal(d)),
            (Builtin::AbsMoney, Value::Money(d, c), _) => mv(abs::abs_money((d, c))),
            (Builtin::Min(_), Value::Int(a), Value::Int(b)) => Value::Int(min::min_int(a, b)),
            (Builtin::Min(_), Value::Decimal(a), Value::Decimal(b)) => Value::Decimal(min::min_decimal(a, b)),
            (Builtin::Min(_), Value::Money(a, c), Value::Money(b, d)) => mv(min::min_money((a, c), (b, d)).map_err(f)?),
            (Builtin::Min(_), Value::Date(a), Value::Date(b)) => Value::Date(min::min_date(a, b)),
            (Builtin::Min(_), Value::Timestamp(a), Value::Timestamp(b)) => Value::Timestamp(min::min_timestamp(a, b)),
            (Builtin::Min(_), Value::Text(a), Value::Text(b)) => {
                let picked = min::min_text(&a, &b);
                text(a.clone(), b.clone(), picked)
            }
            (Builtin::Max(_), Value::Int(a), Value::Int(b)) => Value::Int(max::max_int(a, b)),
            (Builtin::Max(_), Value::Decimal(a), Value::Decimal(b)) => Value::Decimal(max::max_decimal(a, b)),
            (Builtin::Max(_), Value::Money(a, c), Value::Money(b, d)) => mv(max::max_money((a, c), (b, d)).map_err(f)?),
            (Builtin::Max(_), Value::Date(a), Value::Date(b)) => Value::Date(max::max_date(a, b)),
            (Builtin::Max(_), Value::Timestamp(a), Value::Timestamp(b)) => Value::Timestamp(max::max_timestamp(a, b)),
            (Builtin::Max(_), Value::Text(a), Value::Text(b)) => {
                let picked = max::max_text(&a, &b);
                text(a.clone(), b.clone(), picked)
            }
            (Builtin::Money, Value::Decimal(d), Value::Currency(c)) => mv(money::money(d, c)),
            (Builtin::Amount, Value::Money(d, c), _) => Value::Decimal(amount::amount((d, c))),
            (Builtin::Currency, Value::Money(d, c), _) => Value::Currency(currency::currency((d, c))),
            (Builtin::Convert, Value::Money(d, c), Value::Currency(to)) => match arg(2) {
                Value::Decimal(rate) => mv(convert::convert((d, c), to, rate).map_err(f)?),
                _ => Value::None,
            },
            (Builtin::LenText, Value::Text(t), _) => Value::Int(len::len_text(&t)),
            (Builtin::LenList, Value::List(l), _) => Value::Int(len::len_list(l.len())),
            (Builtin::First, Value::List(l), _) => first::first(&l).cloned().unwrap_or(Value::None),
            (Builtin::Last, Value::List(l), _) => last::last(&l).cloned().unwrap_or(Value::None),
            (Builtin::Distinct, Value::List(l), _) => {
                Value::List(distinct::keep(&l, |a, b| a == b).iter().filter_map(|&i| l.get(i).cloned()).collect())
            }
            (Builtin::Upper, Value::Text(t), _) => Value::Text(Arc::from(upper::upper(&t))),
            (Builtin::Lower, Value::Text(t), _) => Value::Text(Arc::from(lower::lower(&t))),
            (Builtin::Trim, Value::Text(t), _) => Value::Text(Arc::from(trim::trim(&t))),
            (Builtin::StartsWith, Value::Text(a), Value::Text(b)) => Value::Bool(starts_with::starts_with(&a, &b)),
            (Builtin::EndsWith, Value::Text(a), Value::Text(b)) => Value::Bool(ends_with::ends_with(&a, &b)),
            (Builtin::Contains, Value::Text(a), Value::Text(b)) => Value::Bool(contains::contains(&a, &b)),
            (Builtin::Date, Value::Timestamp(t), _) => Value::Date(date::date(t)),
            (Builtin::Year, Value::Date(d), _) => Value::Int(year::year(d)),
            (Builtin::Month, Value::Date(d), _) => Value::Int(month::month(d)),
            (Builtin::Day, Value::Date(d), _) => Value::Int(day::day(d)),
            (Builtin::Weekday, Value::Date(d), _) => Value::Enum(weekday::weekday(d) as u32),
            (Builtin::AddDays, Value::Date(d), Value::Int(n)) => Value::Date(add_days::add_days(d, n).map_err(f)?),
            (Builtin::DaysBetween, Value::Date(a), Value::Date(b)) => Value::Int(days_between::days_between(a, b)),
            (Builtin::StartOfMonth, Value::Date(d), _) => Value::Date(start_of_month::start_of_month(d)),
            (Builtin::EndOfMonth, Value::Date(d), _) => Value::Date(end_of_month::end_of_month(d)),
            _ => Value::None,
        })
    }
}

fn mv(m: (canon_stdlib::Decimal, canon_stdlib::Currency)) -> Value {
    Value::Money(m.0, m.1)
}

fn money_list(parts: Vec<(canon_stdlib::Decimal, canon_stdlib::Currency)>) -> Value {
    Value::List(parts.into_iter().map(mv).collect())
}

fn set(frame: &mut [Value], slot: u32, v: Value) {
    if let Some(s) = frame.get_mut(slot as usize) {
        *s = v;
    }
}

fn field(v: Value, index: u32) -> Value {
    match v {
        Value::Record(fields) => fields.get(index as usize).cloned().unwrap_or(Value::None),
        _ => Value::None,
    }
}

fn pat_matches(p: &Pat, v: &Value) -> bool {
    match p {
        Pat::Wildcard => true,
        Pat::Const(c) => eq_const(v, c),
    }
}
