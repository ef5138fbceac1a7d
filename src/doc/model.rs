//! What `canon doc` shows, read from a checked package's syntax trees: each
//! declaration with its file, line, `///` docs and source text, and per handler
//! its rules, its emits (with the conditions that guard them) and the
//! decisions, tables, state and functions it uses. Items keep source order
//! (files sorted by path), so the same package gives the same page.

use std::collections::BTreeSet;

use canon_compiler::diagnostics::{FileId, LineIndex};
use canon_compiler::syntax::ast::{self, Arg, Block, Expr, ExprKind, Item, StmtKind, StrPart};
use canon_compiler::syntax::parser;
use canon_runtime::manifest::Manifest;
use canon_runtime::package::LoadedPackage;

/// Where a declaration is: its file (relative to the package) and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub file: String,
    pub line: u32,
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One source file: its path, text and line index.
struct Source<'a> {
    path: &'a str,
    text: &'a str,
    lines: LineIndex,
}

impl Source<'_> {
    fn loc(&self, span: ast::Span) -> Loc {
        Loc { file: self.path.to_string(), line: self.lines.line_col(self.text, span.start).0 }
    }
    /// The text of a span, as written.
    fn slice(&self, span: ast::Span) -> String {
        self.text.get(span.start as usize..span.end as usize).unwrap_or("").to_string()
    }
}

/// A declaration with where it is.
pub struct Decl<T> {
    pub item: T,
    pub loc: Loc,
    /// The declaration's source text, as written (functions and metrics show it).
    pub source: String,
}

/// A `check`, `require` or `reject` of a handler.
pub struct Rule {
    /// `check`, `require` or `reject`.
    pub kind: &'static str,
    pub code: String,
    /// The message: its text and, as written, the expressions it interpolates.
    pub message: Option<Vec<MessagePart>>,
    /// The condition that must hold (`check` and `require`).
    pub condition: Option<String>,
    /// The `if`/`match` conditions under which the rule is reached.
    pub guards: Vec<String>,
    pub loc: Loc,
}

/// A piece of a rejection message.
pub enum MessagePart {
    Text(String),
    /// `{expr}`: the expression as written.
    Interpolated(String),
}

/// An `emit` of a handler.
pub struct Emit {
    pub dest: String,
    /// `erp[e]`: the member expression, as written.
    pub member: Option<String>,
    /// The record type when the emitted value is a record literal.
    pub record: Option<String>,
    pub guards: Vec<String>,
    pub loc: Loc,
}

/// A handler and what it does.
pub struct HandlerDoc {
    pub handler: ast::Handler,
    pub loc: Loc,
    pub rules: Vec<Rule>,
    pub emits: Vec<Emit>,
    /// Names used, directly or through the functions it calls, by kind.
    pub decisions: Vec<String>,
    pub tables: Vec<String>,
    pub states: Vec<String>,
    pub functions: Vec<String>,
}

/// Everything the page shows.
pub struct Model {
    /// The directory's name, used when there is no manifest.
    pub dir_name: String,
    pub manifest: Option<Manifest>,
    pub files: Vec<String>,
    pub events: Vec<Decl<ast::RecordDecl>>,
    pub records: Vec<Decl<ast::RecordDecl>>,
    pub enums: Vec<Decl<ast::EnumDecl>>,
    pub destinations: Vec<Decl<ast::DestinationDecl>>,
    pub tables: Vec<Decl<ast::TableDecl>>,
    pub decisions: Vec<Decl<ast::DecisionDecl>>,
    pub functions: Vec<Decl<ast::FnDecl>>,
    pub states: Vec<Decl<ast::StateDecl>>,
    pub metrics: Vec<Decl<ast::MetricDecl>>,
    pub calendars: Vec<Decl<ast::CalendarDecl>>,
    pub handlers: Vec<HandlerDoc>,
    pub tests: usize,
}

impl Model {
    pub fn read(pkg: &LoadedPackage) -> Model {
        let sources: Vec<Source> =
            pkg.sources.iter().map(|(path, text)| Source { path, text, lines: LineIndex::new(text) }).collect();
        let parsed: Vec<ast::File> =
            sources.iter().zip(0u32..).map(|(s, i)| parser::parse(s.text, FileId(i)).file).collect();
        let dir_name = std::fs::canonicalize(&pkg.root)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| pkg.root.display().to_string());
        let mut m = Model {
            dir_name,
            manifest: pkg.manifest.clone(),
            files: sources.iter().map(|s| s.path.to_string()).collect(),
            events: Vec::new(),
            records: Vec::new(),
            enums: Vec::new(),
            destinations: Vec::new(),
            tables: Vec::new(),
            decisions: Vec::new(),
            functions: Vec::new(),
            states: Vec::new(),
            metrics: Vec::new(),
            calendars: Vec::new(),
            handlers: Vec::new(),
            tests: 0,
        };
        let names = Names::of(&parsed);
        for (src, file) in sources.iter().zip(&parsed) {
            for item in &file.items {
                let loc = src.loc(item.span());
                let source = src.slice(item.span());
                match item {
                    Item::Record(r) if r.is_event => m.events.push(Decl { item: r.clone(), loc, source }),
                    Item::Record(r) => m.records.push(Decl { item: r.clone(), loc, source }),
                    Item::Enum(e) => m.enums.push(Decl { item: e.clone(), loc, source }),
                    Item::Destination(d) => m.destinations.push(Decl { item: d.clone(), loc, source }),
                    Item::Table(t) => m.tables.push(Decl { item: t.clone(), loc, source }),
                    Item::Decision(d) => m.decisions.push(Decl { item: d.clone(), loc, source }),
                    Item::Fn(f) => m.functions.push(Decl { item: f.clone(), loc, source }),
                    Item::State(s) => m.states.push(Decl { item: s.clone(), loc, source }),
                    Item::Metric(x) => m.metrics.push(Decl { item: (**x).clone(), loc, source }),
                    Item::Calendar(c) => m.calendars.push(Decl { item: c.clone(), loc, source }),
                    Item::Test(_) => m.tests += 1,
                    Item::Handler(h) => {
                        let mut w = Walker::new(src, &names, &parsed, &sources);
                        w.block(&h.body, &mut Vec::new());
                        m.handlers.push(HandlerDoc {
                            handler: h.clone(),
                            loc,
                            rules: w.rules,
                            emits: w.emits,
                            decisions: w.decisions.into_iter().collect(),
                            tables: w.tables.into_iter().collect(),
                            states: w.states.into_iter().collect(),
                            functions: w.functions.into_iter().collect(),
                        });
                    }
                }
            }
        }
        m
    }

    /// The package's title: its manifest name, else the directory's name.
    pub fn name(&self) -> &str {
        self.manifest.as_ref().map(|m| m.name.as_str()).unwrap_or(&self.dir_name)
    }
}

/// The names the package declares, by kind, to classify calls and lookups.
#[derive(Default)]
struct Names {
    decisions: BTreeSet<String>,
    functions: BTreeSet<String>,
    tables: BTreeSet<String>,
    states: BTreeSet<String>,
}

impl Names {
    fn of(files: &[ast::File]) -> Names {
        let mut n = Names::default();
        for item in files.iter().flat_map(|f| &f.items) {
            match item {
                Item::Decision(d) => n.decisions.insert(d.name.text.clone()),
                Item::Fn(f) => n.functions.insert(f.name.text.clone()),
                Item::Table(t) => n.tables.insert(t.name.text.clone()),
                Item::State(s) => n.states.insert(s.name.text.clone()),
                _ => false,
            };
        }
        n
    }
}

/// Collects a handler's rules, emits and uses; follows the functions it calls.
struct Walker<'a> {
    /// The file of what is being read (a called function's, while in it).
    src: &'a Source<'a>,
    names: &'a Names,
    parsed: &'a [ast::File],
    sources: &'a [Source<'a>],
    rules: Vec<Rule>,
    emits: Vec<Emit>,
    decisions: BTreeSet<String>,
    tables: BTreeSet<String>,
    states: BTreeSet<String>,
    functions: BTreeSet<String>,
}

impl<'a> Walker<'a> {
    fn new(src: &'a Source<'a>, names: &'a Names, parsed: &'a [ast::File], sources: &'a [Source<'a>]) -> Self {
        Walker {
            src,
            names,
            parsed,
            sources,
            rules: Vec::new(),
            emits: Vec::new(),
            decisions: BTreeSet::new(),
            tables: BTreeSet::new(),
            states: BTreeSet::new(),
            functions: BTreeSet::new(),
        }
    }
    fn slice(&self, span: ast::Span) -> String {
        self.src.slice(span)
    }
    fn loc(&self, span: ast::Span) -> Loc {
        self.src.loc(span)
    }

    fn block(&mut self, block: &Block, guards: &mut Vec<String>) {
        for stmt in &block.stmts {
            match &stmt.kind {
                StmtKind::Let(l) => self.expr(&l.value),
                StmtKind::Check { cond, reject } | StmtKind::Require { cond, reject } => {
                    self.expr(cond);
                    let kind = if matches!(stmt.kind, StmtKind::Check { .. }) { "check" } else { "require" };
                    self.rule(kind, Some(cond), reject, guards, stmt.span);
                }
                StmtKind::Reject(reject) => self.rule("reject", None, reject, guards, stmt.span),
                StmtKind::Emit { dest, index, value } => {
                    if let Some(i) = index {
                        self.expr(i);
                    }
                    self.expr(value);
                    let record = match &value.kind {
                        ExprKind::Record { name, .. } => Some(name.text.clone()),
                        _ => None,
                    };
                    self.emits.push(Emit {
                        dest: dest.text.clone(),
                        member: index.as_ref().map(|i| self.slice(i.span)),
                        record,
                        guards: guards.clone(),
                        loc: self.loc(stmt.span),
                    });
                }
                StmtKind::If { branches, otherwise } => {
                    let mut before: Vec<String> = Vec::new();
                    for (cond, body) in branches {
                        self.expr(cond);
                        let text = self.slice(cond.span);
                        let depth = guards.len();
                        guards.extend(before.iter().map(|b| format!("not ({b})")));
                        guards.push(text.clone());
                        self.block(body, guards);
                        guards.truncate(depth);
                        before.push(text);
                    }
                    if let Some(body) = otherwise {
                        let depth = guards.len();
                        guards.extend(before.iter().map(|b| format!("not ({b})")));
                        self.block(body, guards);
                        guards.truncate(depth);
                    }
                }
                StmtKind::Match { scrutinee, arms } => {
                    self.expr(scrutinee);
                    let on = self.slice(scrutinee.span);
                    for arm in arms {
                        let pats: Vec<String> = arm.patterns.iter().map(|p| self.slice(p.span())).collect();
                        guards.push(format!("{on} is {}", pats.join(" or ")));
                        self.block(&arm.body, guards);
                        guards.pop();
                    }
                }
                StmtKind::For { var, iter, body, .. } => {
                    self.expr(iter);
                    guards.push(format!("for each {} in {}", var.text, self.slice(iter.span)));
                    self.block(body, guards);
                    guards.pop();
                }
                StmtKind::Put { state, value } => {
                    self.states.insert(state.text.clone());
                    self.expr(value);
                }
                StmtKind::Update { state, keys, fields } => {
                    self.states.insert(state.text.clone());
                    keys.iter().for_each(|k| self.expr(k));
                    fields.iter().for_each(|f| self.expr(&f.value));
                }
                StmtKind::Delete { state, keys } => {
                    self.states.insert(state.text.clone());
                    keys.iter().for_each(|k| self.expr(k));
                }
            }
        }
    }

    fn rule(
        &mut self,
        kind: &'static str,
        cond: Option<&Expr>,
        reject: &ast::Rejection,
        guards: &[String],
        span: ast::Span,
    ) {
        if let Some(m) = &reject.message {
            self.expr(m);
        }
        let message = reject.message.as_ref().map(|m| match &m.kind {
            ExprKind::Lit(ast::LitKind::Text(t)) => vec![MessagePart::Text(t.clone())],
            ExprKind::Text(parts) => parts
                .iter()
                .map(|p| match p {
                    StrPart::Text(t) => MessagePart::Text(t.clone()),
                    StrPart::Expr(x) => MessagePart::Interpolated(self.slice(x.span)),
                })
                .collect(),
            _ => vec![MessagePart::Interpolated(self.slice(m.span))],
        });
        self.rules.push(Rule {
            kind,
            code: reject.code.text.clone(),
            message,
            condition: cond.map(|c| self.slice(c.span)),
            guards: guards.to_vec(),
            loc: self.loc(span),
        });
    }

    /// Records the decisions, functions, tables and state an expression uses.
    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Name(_) => {}
            ExprKind::Text(parts) => {
                for p in parts {
                    if let StrPart::Expr(x) = p {
                        self.expr(x);
                    }
                }
            }
            ExprKind::Field { base, .. } => self.expr(base),
            ExprKind::Call { callee, args } => {
                self.call(&callee.text);
                for a in args {
                    match a {
                        Arg::Expr(x) => self.expr(x),
                        Arg::Lambda { body, .. } => self.expr(body),
                    }
                }
            }
            ExprKind::BadCall { callee } => self.expr(callee),
            ExprKind::Index { base, keys, as_of } => {
                if let ExprKind::Name(n) = &base.kind {
                    if self.names.tables.contains(&n.text) {
                        self.tables.insert(n.text.clone());
                    } else if self.names.states.contains(&n.text) {
                        self.states.insert(n.text.clone());
                    }
                }
                self.expr(base);
                keys.iter().for_each(|k| self.expr(k));
                if let Some(a) = as_of {
                    self.expr(a);
                }
            }
            ExprKind::Unary { expr, .. } | ExprKind::Paren(expr) => self.expr(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::If { cond, then, otherwise } => {
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                arms.iter().for_each(|a| self.expr(&a.body));
            }
            ExprKind::Record { fields, .. } => fields.iter().for_each(|f| self.expr(&f.value)),
            ExprKind::List(items) => items.iter().for_each(|x| self.expr(x)),
        }
    }

    /// A call: a decision or function of the package (a function's body is
    /// followed once, so what it uses counts for the handler); built-ins are
    /// not listed.
    fn call(&mut self, name: &str) {
        let names = self.names;
        if names.decisions.contains(name) {
            self.decisions.insert(name.to_string());
        } else if names.functions.contains(name) && self.functions.insert(name.to_string()) {
            let found = self.parsed.iter().zip(self.sources).find_map(|(f, s)| {
                f.items.iter().find_map(|it| match it {
                    Item::Fn(d) if d.name.text == name => Some((d, s)),
                    _ => None,
                })
            });
            if let Some((decl, src)) = found {
                // The function's expressions are read in its own file; its
                // rules and emits are none (a function has neither).
                let saved = std::mem::replace(&mut self.src, src);
                decl.lets.iter().for_each(|l| self.expr(&l.value));
                self.expr(&decl.body);
                self.src = saved;
            }
        }
    }
}
