//! Unused declarations (LANGUAGE.md §11.2): what no handler can reach.
//!
//! Run on a package without errors, after the checker: the roots are the
//! handlers and the metrics (what `canon run`, `canon process` and `canon
//! status` evaluate); from them the checked IR is walked through every
//! function and decision they call. A function, decision, table, calendar,
//! state or destination that the walk never meets is unused (W0701–W0704,
//! W0707, W0708), even when a test uses it (the message says so: a rule only
//! tests reach changes no outcome), except a function: tests share fixtures
//! through functions, so one that a test calls is used. An enum variant is unused (W0706) when
//! its enum can never come from outside (no event, table or state record
//! holds it) and no reachable code produces it: a comparison, a `match`
//! pattern or a decision's input cell only tests for it. A `let` or a
//! function's parameter that nothing reads is W0705; its scope is found on
//! the syntax tree, shadowing included. Names starting with `_` are never
//! reported.
//!
//! `canon check` reports these only with `--strict`; the language server
//! shows them as hints, greyed out.

use std::collections::HashSet;

use super::Input;
use crate::diagnostics::{Code, Diagnostic, FileId};
use crate::ir::{self, BinaryOp, Const, ExprKind, Stmt, TestStmt};
use crate::syntax::ast;
use crate::types::{EnumId, RecordId, Ty};

/// The codes this analysis reports: each marks code that can be deleted.
pub const CODES: &[Code] =
    &[Code::W0701, Code::W0702, Code::W0703, Code::W0704, Code::W0705, Code::W0706, Code::W0707, Code::W0708];

/// The unused declarations of a checked package, in file and position
/// order. `files` are the package's parsed files in [`FileId`] order, as
/// checked into `pkg`, which must have no error (the IR of a body in error
/// is incomplete, so uses would be missed).
pub fn unused(files: &[Input<'_>], pkg: &ir::Package) -> Vec<Diagnostic> {
    let mut live = Reach::new(pkg);
    for h in &pkg.handlers {
        live.block(&h.body);
    }
    for m in &pkg.metrics {
        live.state(m.state);
        live.expr(&m.value);
        if let Some(f) = &m.filter {
            live.expr(f);
        }
    }
    live.drain();
    // A calendar's declaration names its tables: they are used while it is
    // (an unused calendar is reported alone, W0708).
    for c in &pkg.calendars {
        live.tables.insert(c.holidays.0);
        live.tables.extend(c.periods.map(|p| p.0));
    }
    let mut tested = Reach::new(pkg);
    for t in &pkg.tests {
        for s in &t.stmts {
            tested.test_stmt(s);
        }
    }
    tested.drain();
    let from_input = input_enums(pkg);

    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let file = FileId(i as u32);
        for item in &f.ast.items {
            declaration(pkg, &live, &tested, &from_input, file, item, &mut out);
        }
        let mut lets = Lets { file, scopes: Vec::new(), out: &mut out };
        for item in &f.ast.items {
            lets.item(item);
        }
    }
    out.sort_by_key(|d| (d.file, d.span.start, d.code));
    out
}

/// What a walk of the IR from some roots met.
struct Reach<'p> {
    pkg: &'p ir::Package,
    fns: HashSet<u32>,
    decisions: HashSet<u32>,
    tables: HashSet<u32>,
    calendars: HashSet<u32>,
    states: HashSet<u32>,
    dests: HashSet<u32>,
    /// Variants a value of the program can be (not only tested for).
    produced: HashSet<(EnumId, u32)>,
    /// Functions and decisions met but not yet walked.
    todo: Vec<Callee>,
}

#[derive(Clone, Copy)]
enum Callee {
    Fn(u32),
    Decision(u32),
}

impl<'p> Reach<'p> {
    fn new(pkg: &'p ir::Package) -> Reach<'p> {
        Reach {
            pkg,
            fns: HashSet::new(),
            decisions: HashSet::new(),
            tables: HashSet::new(),
            calendars: HashSet::new(),
            states: HashSet::new(),
            dests: HashSet::new(),
            produced: HashSet::new(),
            todo: Vec::new(),
        }
    }

    /// Walks every function and decision met, and those they meet.
    fn drain(&mut self) {
        while let Some(c) = self.todo.pop() {
            let pkg = self.pkg;
            match c {
                Callee::Fn(i) => {
                    if let Some(f) = pkg.functions.get(i as usize) {
                        for (_, e) in &f.lets {
                            self.expr(e);
                        }
                        self.expr(&f.body);
                    }
                }
                Callee::Decision(i) => {
                    if let Some(d) = pkg.decisions.get(i as usize) {
                        for row in &d.rows {
                            for e in &row.outputs {
                                self.expr(e);
                            }
                        }
                        if let Some(e) = &d.default {
                            self.expr(e);
                        }
                    }
                }
            }
        }
    }

    fn state(&mut self, s: ir::StateId) {
        self.states.insert(s.0);
    }

    fn table(&mut self, t: ir::TableId) {
        self.tables.insert(t.0);
    }

    fn dest(&mut self, d: ir::DestId) {
        self.dests.insert(d.0);
        // A constant member index routes to that variant's member.
        let member = self.pkg.destinations.get(d.0 as usize).and_then(|d| d.member_of);
        if let Some((fam, variant)) = member {
            if let Some(f) = self.pkg.families.get(fam as usize) {
                self.produced.insert((f.index, variant));
            }
        }
    }

    fn block(&mut self, b: &ir::Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { value, .. } => self.expr(value),
            Stmt::Check { cond, reject } | Stmt::Require { cond, reject } => {
                self.expr(cond);
                self.reject(reject);
            }
            Stmt::Reject(r) => self.reject(r),
            Stmt::Emit { dest, value } => {
                self.dest(*dest);
                self.expr(value);
            }
            Stmt::If { branches, otherwise } => {
                for (c, b) in branches {
                    self.expr(c);
                    self.block(b);
                }
                if let Some(b) = otherwise {
                    self.block(b);
                }
            }
            Stmt::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for (_, b) in arms {
                    self.block(b);
                }
            }
            Stmt::For { list, body, .. } => {
                self.expr(list);
                self.block(body);
            }
            Stmt::Put { state, value, .. } => {
                self.state(*state);
                self.expr(value);
            }
            Stmt::Update { state, keys, fields, .. } => {
                self.state(*state);
                self.exprs(keys);
                for (_, e) in fields {
                    self.expr(e);
                }
            }
            Stmt::Delete { state, keys, .. } => {
                self.state(*state);
                self.exprs(keys);
            }
        }
    }

    fn reject(&mut self, r: &ir::RejectInfo) {
        if let Some(m) = &r.message {
            self.expr(m);
        }
    }

    fn test_stmt(&mut self, s: &TestStmt) {
        match s {
            TestStmt::Let { value, .. } => self.expr(value),
            TestStmt::Assert { cond, .. } => self.expr(cond),
            TestStmt::Given { data, .. } => self.expr(data),
            TestStmt::GivenFile { .. } | TestStmt::ExpectStatus { .. } | TestStmt::ExpectReject { .. } => {}
            TestStmt::With { table, rows } => {
                self.table(*table);
                self.exprs(rows);
            }
            TestStmt::WithState { state, rows } => {
                self.state(*state);
                self.exprs(rows);
            }
            TestStmt::ExpectState { state, keys, record, .. } => {
                self.state(*state);
                self.exprs(keys);
                for e in record.iter().flat_map(|(_, fields)| fields.iter().flatten()) {
                    self.expr(e);
                }
            }
            TestStmt::ExpectExactly { emits, .. } => {
                for e in emits {
                    self.dest(e.dest);
                    for f in e.fields.iter().flatten() {
                        self.expr(f);
                    }
                }
            }
            TestStmt::ExpectEmit { dest, fields, .. } => {
                self.dest(*dest);
                for f in fields.iter().flatten() {
                    self.expr(f);
                }
            }
            TestStmt::ExpectNoEmit { dests, .. } => {
                for d in dests {
                    self.dest(*d);
                }
            }
        }
    }

    fn exprs(&mut self, es: &[ir::Expr]) {
        for e in es {
            self.expr(e);
        }
    }

    /// An operand that is only compared with: a variant written there is
    /// tested for, not produced.
    fn compared(&mut self, e: &ir::Expr) {
        match &e.kind {
            ExprKind::Const(_) => {}
            ExprKind::List(items) => {
                for i in items {
                    self.compared(i);
                }
            }
            _ => self.expr(e),
        }
    }

    fn expr(&mut self, e: &ir::Expr) {
        match &e.kind {
            ExprKind::Const(c) => {
                if let Const::Enum(en, v) = c {
                    self.produced.insert((*en, *v));
                }
            }
            ExprKind::Local(_) | ExprKind::Meta | ExprKind::Error => {}
            ExprKind::Field { base, .. } | ExprKind::OptField { base, .. } => self.expr(base),
            ExprKind::Call { func, args } => {
                if self.fns.insert(func.0) {
                    self.todo.push(Callee::Fn(func.0));
                }
                self.exprs(args);
            }
            ExprKind::Decide { decision, args } => {
                if self.decisions.insert(decision.0) {
                    self.todo.push(Callee::Decision(decision.0));
                }
                self.exprs(args);
            }
            ExprKind::Builtin { args, .. } => self.exprs(args),
            ExprKind::Aggregate { list, body, .. } => {
                self.expr(list);
                self.expr(body);
            }
            ExprKind::Lookup { table, keys } => {
                self.table(*table);
                self.exprs(keys);
            }
            ExprKind::LookupAsOf { table, keys, at } => {
                self.table(*table);
                self.exprs(keys);
                self.expr(at);
            }
            ExprKind::Index { list, index } => {
                self.expr(list);
                self.expr(index);
            }
            ExprKind::Calendar { calendar, args, .. } => {
                self.calendars.insert(calendar.0);
                if let Some(c) = self.pkg.calendars.get(calendar.0 as usize) {
                    self.tables.insert(c.holidays.0);
                    if let Some(p) = c.periods {
                        self.tables.insert(p.0);
                    }
                }
                self.exprs(args);
            }
            ExprKind::StateGet { state, keys } => {
                self.state(*state);
                self.exprs(keys);
            }
            ExprKind::Unary { expr, .. } | ExprKind::IntToDecimal(expr) => self.expr(expr),
            ExprKind::Binary { op: BinaryOp::Eq | BinaryOp::Ne, lhs, rhs } => {
                self.compared(lhs);
                self.compared(rhs);
            }
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Coalesce { lhs, rhs } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::In { value, list, .. } => {
                self.compared(value);
                self.compared(list);
            }
            ExprKind::If { cond, then, otherwise } => {
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for (_, e) in arms {
                    self.expr(e);
                }
            }
            ExprKind::Record { fields, .. } => self.exprs(fields),
            ExprKind::List(items) => self.exprs(items),
            ExprKind::Interp(parts) => {
                for p in parts {
                    if let ir::InterpPart::Expr(e) = p {
                        self.expr(e);
                    }
                }
            }
        }
    }
}

/// The enums whose values can come from outside: those an event's, a
/// table's or a state's record holds, at any depth.
fn input_enums(pkg: &ir::Package) -> HashSet<EnumId> {
    let mut todo: Vec<RecordId> = pkg
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.event_type.is_some())
        .map(|(i, _)| RecordId(i as u32))
        .chain(pkg.tables.iter().map(|t| t.record))
        .chain(pkg.states.iter().map(|s| s.record))
        .collect();
    let mut seen = HashSet::new();
    let mut enums = HashSet::new();
    while let Some(r) = todo.pop() {
        if !seen.insert(r) {
            continue;
        }
        for f in pkg.record(r).iter().flat_map(|r| &r.fields) {
            let mut ty = &f.ty;
            while let Ty::List(t) | Ty::Optional(t) = ty {
                ty = t;
            }
            match ty {
                Ty::Enum(e) => {
                    enums.insert(*e);
                }
                Ty::Record(r) => todo.push(*r),
                _ => {}
            }
        }
    }
    enums
}

/// The diagnostic of one unused declaration, if `item` is one.
fn declaration(
    pkg: &ir::Package,
    live: &Reach<'_>,
    tested: &Reach<'_>,
    from_input: &HashSet<EnumId>,
    file: FileId,
    item: &ast::Item,
    out: &mut Vec<Diagnostic>,
) {
    fn index<'a>(mut names: impl Iterator<Item = &'a String>, name: &str) -> Option<usize> {
        names.position(|n| n == name)
    }
    // (code, kind, live, only tests use it, help)
    let found: Option<(Code, &str, bool, bool, &str)> = match item {
        ast::Item::Table(t) => pkg.table_by_name(&t.name.text).map(|(id, _)| {
            let help = "delete the table (and its data file), or look it up in a handler";
            (Code::W0701, "table", live.tables.contains(&id.0), tested.tables.contains(&id.0), help)
        }),
        ast::Item::Decision(d) => index(pkg.decisions.iter().map(|d| &d.name), &d.name.text).map(|i| {
            let i = i as u32;
            let help = "delete the decision, or call it from a handler or from a function a handler calls";
            (Code::W0702, "decision", live.decisions.contains(&i), tested.decisions.contains(&i), help)
        }),
        ast::Item::Fn(f) => index(pkg.functions.iter().map(|f| &f.name), &f.name.text).map(|i| {
            let i = i as u32;
            let help = "delete the function, or call it from a handler or from a function a handler calls";
            (Code::W0703, "function", live.fns.contains(&i), tested.fns.contains(&i), help)
        }),
        ast::Item::Destination(d) => {
            let members: Vec<u32> = match &d.index {
                None => pkg.destination_by_name(&d.name.text).map(|(id, _)| id.0).into_iter().collect(),
                Some(_) => pkg
                    .family_by_name(&d.name.text)
                    .map(|f| f.members.iter().map(|m| m.0).collect())
                    .unwrap_or_default(),
            };
            let help = "delete the destination (and its sink in canon.toml), or emit to it from a handler";
            (!members.is_empty()).then(|| {
                let any = |r: &Reach<'_>| members.iter().any(|m| r.dests.contains(m));
                (Code::W0704, "destination", any(live), any(tested), help)
            })
        }
        ast::Item::State(s) => pkg.state_by_name(&s.name.text).map(|(id, _)| {
            let help = "delete the state, or read or write it in a handler";
            (Code::W0707, "state", live.states.contains(&id.0), tested.states.contains(&id.0), help)
        }),
        ast::Item::Calendar(c) => index(pkg.calendars.iter().map(|c| &c.name), &c.name.text).map(|i| {
            let i = i as u32;
            let help = "delete the calendar, or use it with a calendar function in a handler";
            (Code::W0708, "calendar", live.calendars.contains(&i), tested.calendars.contains(&i), help)
        }),
        ast::Item::Enum(e) => {
            variants(pkg, live, from_input, file, e, out);
            None
        }
        _ => None,
    };
    let Some((code, kind, is_live, in_tests, help)) = found else { return };
    let Some(name) = item.name() else { return };
    // Functions are how tests share fixtures (an event built from a few
    // values): one that tests call is theirs, not dead code.
    if is_live || name.text.starts_with('_') || (code == Code::W0703 && in_tests) {
        return;
    }
    let verb = match code {
        Code::W0704 => "emitted to by a handler",
        Code::W0701 => "looked up by a handler",
        Code::W0703 => "used by a handler or a test",
        _ => "used by a handler",
    };
    let tail = if in_tests { " (only tests use it)" } else { "" };
    let message = format!("{kind} `{}` is never {verb}{tail}", name.text);
    out.push(Diagnostic::new(code, file, name.span, message).with_help(help));
}

/// W0706 for the variants of `e` no reachable code produces, when no input
/// can hold them; one diagnostic at the enum's name when none is produced.
fn variants(
    pkg: &ir::Package,
    live: &Reach<'_>,
    from_input: &HashSet<EnumId>,
    file: FileId,
    e: &ast::EnumDecl,
    out: &mut Vec<Diagnostic>,
) {
    let Some(id) = pkg.enums.iter().position(|d| d.name == e.name.text).map(|i| EnumId(i as u32)) else { return };
    let Some(def) = pkg.enum_def(id) else { return };
    if from_input.contains(&id) || e.name.text.starts_with('_') {
        return;
    }
    let unused: Vec<&ast::Variant> = e
        .variants
        .iter()
        .filter(|v| {
            let i = def.variants.iter().position(|d| d.name == v.name.text);
            i.is_some_and(|i| !live.produced.contains(&(id, i as u32))) && !v.name.text.starts_with('_')
        })
        .collect();
    if unused.is_empty() {
        return;
    }
    let input = "no event, table or state record holds the enum";
    if unused.len() == e.variants.len() && e.variants.len() > 1 {
        let message = format!("no variant of enum `{}` is ever produced by a handler", e.name.text);
        out.push(
            Diagnostic::new(Code::W0706, file, e.name.span, message)
                .with_help(format!("{input}, and no rule gives one of its values: delete the enum, or use it")),
        );
        return;
    }
    for v in unused {
        let message = format!("variant `{}` of `{}` is never produced by a handler", v.name.text, e.name.text);
        out.push(Diagnostic::new(Code::W0706, file, v.name.span, message).with_help(format!(
            "{input}, and no rule gives this value (a comparison, a `match` or a decision's input cell only tests \
             for it): delete the variant, or produce it"
        )));
    }
}

/// W0705: `let`s and function parameters nothing reads, on the syntax tree.
struct Lets<'o> {
    file: FileId,
    /// The names in scope, innermost last: (name, where, reported when unused, read).
    scopes: Vec<Vec<Binding>>,
    out: &'o mut Vec<Diagnostic>,
}

struct Binding {
    name: String,
    span: ast::Span,
    kind: Option<&'static str>,
    read: bool,
}

impl Lets<'_> {
    fn item(&mut self, item: &ast::Item) {
        match item {
            ast::Item::Fn(f) => {
                self.open();
                for p in &f.params {
                    self.bind(&p.name, Some("parameter"));
                }
                for l in &f.lets {
                    self.let_stmt(l);
                }
                self.expr(&f.body);
                self.close();
            }
            ast::Item::Handler(h) => {
                self.open();
                self.bind(&h.binding, None);
                self.block(&h.body);
                self.close();
            }
            ast::Item::Test(t) => {
                self.open();
                for s in &t.stmts {
                    self.test_stmt(&s.kind);
                }
                self.close();
            }
            _ => {}
        }
    }

    fn open(&mut self) {
        self.scopes.push(Vec::new());
    }

    fn close(&mut self) {
        let Some(scope) = self.scopes.pop() else { return };
        for b in scope {
            let Some(kind) = b.kind else { continue };
            if b.read || b.name.starts_with('_') {
                continue;
            }
            let message = format!("{kind} `{}` is never read", b.name);
            let help = if kind == "parameter" {
                format!("remove the parameter, or name it `_{}` if it must stay", b.name)
            } else {
                format!("remove the `let`, or name it `_{}` if it must stay", b.name)
            };
            self.out.push(Diagnostic::new(Code::W0705, self.file, b.span, message).with_help(help));
        }
    }

    fn bind(&mut self, name: &ast::Ident, kind: Option<&'static str>) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(Binding { name: name.text.clone(), span: name.span, kind, read: false });
        }
    }

    fn read(&mut self, name: &ast::Ident) {
        let found = self.scopes.iter_mut().rev().flat_map(|s| s.iter_mut().rev()).find(|b| b.name == name.text);
        if let Some(b) = found {
            b.read = true;
        }
    }

    fn let_stmt(&mut self, l: &ast::LetStmt) {
        self.expr(&l.value);
        self.bind(&l.name, Some("`let`"));
    }

    fn block(&mut self, b: &ast::Block) {
        self.open();
        for s in &b.stmts {
            self.stmt(&s.kind);
        }
        self.close();
    }

    fn rejection(&mut self, r: &ast::Rejection) {
        if let Some(m) = &r.message {
            self.expr(m);
        }
    }

    fn stmt(&mut self, s: &ast::StmtKind) {
        match s {
            ast::StmtKind::Let(l) => self.let_stmt(l),
            ast::StmtKind::Check { cond, reject } | ast::StmtKind::Require { cond, reject } => {
                self.expr(cond);
                self.rejection(reject);
            }
            ast::StmtKind::Reject(r) => self.rejection(r),
            ast::StmtKind::Emit { index, value, .. } => {
                if let Some(i) = index {
                    self.expr(i);
                }
                self.expr(value);
            }
            ast::StmtKind::If { branches, otherwise } => {
                for (c, b) in branches {
                    self.expr(c);
                    self.block(b);
                }
                if let Some(b) = otherwise {
                    self.block(b);
                }
            }
            ast::StmtKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for a in arms {
                    self.block(&a.body);
                }
            }
            ast::StmtKind::For { index, var, iter, body } => {
                self.expr(iter);
                self.open();
                if let Some(i) = index {
                    self.bind(i, None);
                }
                self.bind(var, None);
                self.block(body);
                self.close();
            }
            ast::StmtKind::Put { value, .. } => self.expr(value),
            ast::StmtKind::Update { keys, fields, .. } => {
                for k in keys {
                    self.expr(k);
                }
                for f in fields {
                    self.expr(&f.value);
                }
            }
            ast::StmtKind::Delete { keys, .. } => {
                for k in keys {
                    self.expr(k);
                }
            }
        }
    }

    fn test_stmt(&mut self, s: &ast::TestStmtKind) {
        match s {
            ast::TestStmtKind::Let(l) => self.let_stmt(l),
            ast::TestStmtKind::Given(e) | ast::TestStmtKind::Assert(e) => self.expr(e),
            ast::TestStmtKind::With { rows, .. } => {
                for r in rows {
                    self.expr(r);
                }
            }
            ast::TestStmtKind::ExpectEmit(e) => self.expr(&e.record),
            ast::TestStmtKind::ExpectExactly(es) => {
                for e in es {
                    self.expr(&e.record);
                }
            }
            ast::TestStmtKind::ExpectState { keys, record, .. } => {
                for k in keys {
                    self.expr(k);
                }
                if let Some(r) = record {
                    self.expr(r);
                }
            }
            ast::TestStmtKind::GivenFile(_)
            | ast::TestStmtKind::ExpectStatus(_)
            | ast::TestStmtKind::ExpectReject(_)
            | ast::TestStmtKind::ExpectNoEmit { .. } => {}
        }
    }

    fn expr(&mut self, e: &ast::Expr) {
        match &e.kind {
            ast::ExprKind::Lit(_) => {}
            ast::ExprKind::Name(n) => self.read(n),
            ast::ExprKind::Text(parts) => {
                for p in parts {
                    if let ast::StrPart::Expr(e) = p {
                        self.expr(e);
                    }
                }
            }
            ast::ExprKind::Field { base, .. } => self.expr(base),
            ast::ExprKind::Call { args, .. } => {
                for a in args {
                    match a {
                        ast::Arg::Expr(e) => self.expr(e),
                        ast::Arg::Lambda { param, body, .. } => {
                            self.open();
                            self.bind(param, None);
                            self.expr(body);
                            self.close();
                        }
                    }
                }
            }
            ast::ExprKind::BadCall { callee } => self.expr(callee),
            ast::ExprKind::Index { base, keys, as_of } => {
                self.expr(base);
                for k in keys {
                    self.expr(k);
                }
                if let Some(a) = as_of {
                    self.expr(a);
                }
            }
            ast::ExprKind::Unary { expr, .. } | ast::ExprKind::Paren(expr) => self.expr(expr),
            ast::ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ast::ExprKind::If { cond, then, otherwise } => {
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ast::ExprKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for a in arms {
                    self.expr(&a.body);
                }
            }
            ast::ExprKind::Record { fields, .. } => {
                for f in fields {
                    self.expr(&f.value);
                }
            }
            ast::ExprKind::List(items) => {
                for i in items {
                    self.expr(i);
                }
            }
        }
    }
}
