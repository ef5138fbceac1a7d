//! Test coverage (RUNTIME.md §3.2): the points of a package a test can
//! reach, the hits the reference interpreter records while `canon test
//! --coverage` runs, and the report (text, JSON, lcov).
//!
//! A point is a handler, a `check`, `require` or `reject`, a branch of an
//! `if` or `match` (a statement's or an expression's; an `if` without `else`
//! has an implicit one), a decision row or a decision's `default`. While the
//! package runs, a point is named by a [`Key`]: the address of its node in
//! the checked package (which lives, unmoved, for the whole test run) and a
//! tag (which branch). [`points`] walks the same package to list every point
//! with its location and words; [`Report::new`] joins the two.

use std::cell::RefCell;
use std::fmt::Write as _;

use canon_compiler::ir::{self, Block, Expr, ExprKind, InterpPart, Loc, Pat, Stmt};
use canon_compiler::types::Ty;
use rustc_hash::FxHashMap;

/// A point while the package runs: the address of its node, the node's
/// class (a node may begin where the one holding it begins) and a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    node: usize,
    class: u8,
    tag: u32,
}

/// A node of the checked package that holds points.
pub trait Node {
    const CLASS: u8;
}
impl Node for ir::HandlerDef {
    const CLASS: u8 = 0;
}
impl Node for Stmt {
    const CLASS: u8 = 1;
}
impl Node for Expr {
    const CLASS: u8 = 2;
}
impl Node for ir::DecisionDef {
    const CLASS: u8 = 3;
}
impl Node for ir::DecisionRow {
    const CLASS: u8 = 4;
}

impl Key {
    /// The point `tag` of `node` (which must be inside the package run).
    pub fn of<T: Node>(node: &T, tag: u32) -> Key {
        Key { node: node as *const T as usize, class: T::CLASS, tag }
    }
}

/// The tag of a decision's `default` (its node is the decision).
pub const DEFAULT_TAG: u32 = u32::MAX;

/// The bit of a row's input mask saying that all its cells held for one
/// input (the row matched, whether or not it was chosen).
const MATCHED: u64 = 1 << 63;

/// What the interpreter records while tests run (`Interp::coverage`).
/// Single-threaded, as `canon test` is.
#[derive(Debug, Default)]
pub struct Recorder {
    hits: RefCell<FxHashMap<Key, u64>>,
    /// For each decision row (by address): bit `i` set when cell `i` held for
    /// some input the decision was called with, [`MATCHED`] when all did.
    /// A row of a decision never called has no entry.
    cells: RefCell<FxHashMap<usize, u64>>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// One more hit of a point.
    pub fn hit(&self, key: Key) {
        *self.hits.borrow_mut().entry(key).or_insert(0) += 1;
    }

    /// The cells of `row` that held for one call (`mask`, with [`MATCHED`]
    /// when the row matched).
    pub fn row_cells(&self, row: &ir::DecisionRow, held: &[bool]) {
        let mut mask = 0u64;
        for (i, h) in held.iter().enumerate().take(63) {
            if *h {
                mask |= 1 << i;
            }
        }
        if held.iter().all(|h| *h) {
            mask |= MATCHED;
        }
        *self.cells.borrow_mut().entry(Key::of(row, 0).node).or_insert(0) |= mask;
    }

    fn count(&self, key: Key) -> u64 {
        self.hits.borrow().get(&key).copied().unwrap_or(0)
    }
}

/// The kind of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Handler,
    Check,
    Require,
    Reject,
    Branch,
    Row,
    Default,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Handler => "handler",
            Kind::Check => "check",
            Kind::Require => "require",
            Kind::Reject => "reject",
            Kind::Branch => "branch",
            Kind::Row => "row",
            Kind::Default => "default",
        }
    }

    /// The group a point is counted in, in the summary.
    fn group(self) -> usize {
        match self {
            Kind::Handler => 0,
            Kind::Check | Kind::Require | Kind::Reject => 1,
            Kind::Branch => 2,
            Kind::Row | Kind::Default => 3,
        }
    }
}

const GROUPS: [&str; 4] = ["handlers", "rules", "branches", "rows"];

/// One point of a package, and how often tests reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub kind: Kind,
    /// Path relative to the package root.
    pub file: String,
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    /// What it is: "row 4 of `bill_rate`", "check (HOURS_OUT_OF_RANGE)".
    pub what: String,
    /// Why no test reached it, where that can be said.
    pub reason: String,
    pub hits: u64,
    /// For lcov's branch records: the point's block (an `if`, `match`,
    /// decision or rule, numbered in the package) and its index there.
    pub branch: Option<(u32, u32)>,
    key: Key,
    /// For a row: its cells' phrases (`role = Partner`; `None` for `-`),
    /// and the decision's hit policy, to explain a row no test chose.
    row: Option<RowInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RowInfo {
    node: usize,
    cells: Vec<Option<String>>,
    first: bool,
    decision: String,
}

/// The source files of a package: path relative to the root and text.
pub type Sources<'a> = &'a [(String, String)];

/// Every point of a package, in file and position order, not yet hit.
pub fn points(pkg: &ir::Package, sources: Sources<'_>) -> Vec<Point> {
    let mut w = Walker { pkg, sources, out: Vec::new(), block: 0 };
    for h in &pkg.handlers {
        let name = pkg.record(h.event).map(|r| r.name.as_str()).unwrap_or("?");
        if let Some(site) = h.site {
            let loc = w.span_loc(site.file, site.span.start);
            w.push(
                Kind::Handler,
                loc,
                format!("handler `on {name}`"),
                format!("no test gave a `{name}` event"),
                Key::of(h, 0),
                None,
            );
        }
        w.block_points(&h.body);
    }
    for f in &pkg.functions {
        for (_, e) in &f.lets {
            w.expr(e);
        }
        w.expr(&f.body);
    }
    for d in &pkg.decisions {
        w.decision(d);
    }
    let mut out = w.out;
    out.sort_by(|a, b| (&a.file, a.line, a.column, a.kind).cmp(&(&b.file, b.line, b.column, b.kind)));
    out
}

struct Walker<'a> {
    pkg: &'a ir::Package,
    sources: Sources<'a>,
    out: Vec<Point>,
    /// The next lcov block number.
    block: u32,
}

impl Walker<'_> {
    fn text_of(&self, file: canon_compiler::diagnostics::FileId) -> (&str, &str) {
        let path = self.pkg.files.get(file.0 as usize).map(|f| f.path.as_str()).unwrap_or("?");
        let text = self.sources.iter().find(|(p, _)| p == path).map(|(_, t)| t.as_str()).unwrap_or("");
        (path, text)
    }

    /// A location from a byte offset of a file.
    fn span_loc(&self, file: canon_compiler::diagnostics::FileId, offset: u32) -> Loc {
        let (_, text) = self.text_of(file);
        let before = text.get(..offset as usize).unwrap_or("");
        let line = before.matches('\n').count() as u32 + 1;
        let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        Loc { file, line, col: (offset as usize - start.min(offset as usize)) as u32 + 1 }
    }

    /// The source from `loc` on, up to where `stop` says, on one line of words.
    fn snippet(&self, loc: Loc, stop: Stop) -> String {
        let (_, text) = self.text_of(loc.file);
        snippet(text, loc, stop)
    }

    fn next_block(&mut self) -> u32 {
        self.block += 1;
        self.block - 1
    }

    fn push(&mut self, kind: Kind, loc: Loc, what: String, reason: String, key: Key, branch: Option<(u32, u32)>) {
        let (path, text) = self.text_of(loc.file);
        let column = char_column(text, loc);
        self.out.push(Point {
            kind,
            file: path.to_string(),
            line: loc.line,
            column,
            what,
            reason,
            hits: 0,
            branch,
            key,
            row: None,
        });
    }

    fn block_points(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { value, .. } | Stmt::Emit { value, .. } | Stmt::Put { value, .. } => self.expr(value),
            Stmt::Check { cond, reject } | Stmt::Require { cond, reject } => {
                let (kind, word) =
                    if matches!(s, Stmt::Check { .. }) { (Kind::Check, "check") } else { (Kind::Require, "require") };
                let c = self.snippet(cond.loc, Stop::Else);
                let block = self.next_block();
                self.push(
                    kind,
                    reject.loc,
                    format!("{word} ({})", reject.code),
                    format!("no test made `{c}` false"),
                    Key::of(s, 0),
                    Some((block, 0)),
                );
                self.expr(cond);
                self.reject_message(reject);
            }
            Stmt::Reject(r) => {
                self.push(
                    Kind::Reject,
                    r.loc,
                    format!("reject ({})", r.code),
                    "no test reached it".into(),
                    Key::of(s, 0),
                    None,
                );
                self.reject_message(r);
            }
            Stmt::If { branches, otherwise } => {
                let block = self.next_block();
                let mut conds = Vec::new();
                for (i, (c, b)) in branches.iter().enumerate() {
                    let text = self.snippet(c.loc, Stop::Brace);
                    let (what, reason) = if i == 0 {
                        (format!("branch `if {text}`"), format!("no test made `{text}` true"))
                    } else {
                        (
                            format!("branch `else if {text}`"),
                            format!("no test made `{text}` true with the conditions before it false"),
                        )
                    };
                    self.push(Kind::Branch, c.loc, what, reason, Key::of(s, i as u32), Some((block, i as u32)));
                    conds.push(text);
                    self.expr(c);
                    self.block_points(b);
                }
                let n = branches.len() as u32;
                let reason = match conds.as_slice() {
                    [one] => format!("no test made `{one}` false"),
                    _ => "no test made every condition false".to_string(),
                };
                let first = branches.first().map(|(c, _)| c.loc).unwrap_or_default();
                let cond = conds.first().cloned().unwrap_or_default();
                match otherwise {
                    Some(b) => {
                        let loc = if b.loc.line > 0 { b.loc } else { first };
                        self.push(Kind::Branch, loc, "branch `else`".into(), reason, Key::of(s, n), Some((block, n)));
                        self.block_points(b);
                    }
                    None => self.push(
                        Kind::Branch,
                        first,
                        format!("implicit `else` of `if {cond}`"),
                        reason,
                        Key::of(s, n),
                        Some((block, n)),
                    ),
                }
            }
            Stmt::Match { scrutinee, arms } => {
                // The match the checker makes for a family's `emit` has no place in the source.
                let made = arms.iter().all(|(_, b)| b.loc.line == 0);
                self.expr(scrutinee);
                if made {
                    arms.iter().for_each(|(_, b)| self.block_points(b));
                    return;
                }
                let block = self.next_block();
                let sc = self.snippet(scrutinee.loc, Stop::Brace);
                for (i, (pats, b)) in arms.iter().enumerate() {
                    let (what, reason) = self.arm_words(&sc, pats);
                    let loc = if b.loc.line > 0 { b.loc } else { scrutinee.loc };
                    self.push(Kind::Branch, loc, what, reason, Key::of(s, i as u32), Some((block, i as u32)));
                    self.block_points(b);
                }
            }
            Stmt::For { list, body, .. } => {
                self.expr(list);
                self.block_points(body);
            }
            Stmt::Update { keys, fields, .. } => {
                keys.iter().for_each(|k| self.expr(k));
                fields.iter().for_each(|(_, f)| self.expr(f));
            }
            Stmt::Delete { keys, .. } => keys.iter().for_each(|k| self.expr(k)),
        }
    }

    fn reject_message(&mut self, r: &ir::RejectInfo) {
        if let Some(m) = &r.message {
            self.expr(m);
        }
    }

    fn arm_words(&self, scrutinee: &str, pats: &[Pat]) -> (String, String) {
        let shown: Vec<String> = pats.iter().map(|p| self.pat_text(p)).collect();
        let shown = shown.join(" | ");
        let what = format!("arm `{shown}` of `match {scrutinee}`");
        let reason = if pats.iter().any(|p| matches!(p, Pat::Wildcard)) {
            format!("no test gave `{scrutinee}` a value the arms before it do not take")
        } else {
            format!("no test gave `{scrutinee}` = {shown}")
        };
        (what, reason)
    }

    fn pat_text(&self, p: &Pat) -> String {
        match p {
            Pat::Wildcard => "_".into(),
            Pat::Const(c) => const_text(self.pkg, c),
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::If { cond, then, otherwise } => {
                let block = self.next_block();
                let c = self.snippet(cond.loc, Stop::Then);
                self.push(
                    Kind::Branch,
                    then.loc,
                    format!("`then` of `if {c}`"),
                    format!("no test made `{c}` true"),
                    Key::of(e, 0),
                    Some((block, 0)),
                );
                self.push(
                    Kind::Branch,
                    otherwise.loc,
                    format!("`else` of `if {c}`"),
                    format!("no test made `{c}` false"),
                    Key::of(e, 1),
                    Some((block, 1)),
                );
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::Match { scrutinee, arms } => {
                let block = self.next_block();
                let sc = self.snippet(scrutinee.loc, Stop::Brace);
                self.expr(scrutinee);
                for (i, (pats, body)) in arms.iter().enumerate() {
                    let (what, reason) = self.arm_words(&sc, pats);
                    self.push(Kind::Branch, body.loc, what, reason, Key::of(e, i as u32), Some((block, i as u32)));
                    self.expr(body);
                }
            }
            ExprKind::Const(_) | ExprKind::Local(_) | ExprKind::Meta | ExprKind::Error => {}
            ExprKind::Field { base, .. } | ExprKind::OptField { base, .. } => self.expr(base),
            ExprKind::Call { args, .. }
            | ExprKind::Decide { args, .. }
            | ExprKind::Builtin { args, .. }
            | ExprKind::Calendar { args, .. } => args.iter().for_each(|a| self.expr(a)),
            ExprKind::Lookup { keys, .. } | ExprKind::StateGet { keys, .. } => keys.iter().for_each(|a| self.expr(a)),
            ExprKind::LookupAsOf { keys, at, .. } => {
                keys.iter().for_each(|a| self.expr(a));
                self.expr(at);
            }
            ExprKind::Aggregate { list, body, .. } => {
                self.expr(list);
                self.expr(body);
            }
            ExprKind::Index { list, index } => {
                self.expr(list);
                self.expr(index);
            }
            ExprKind::Unary { expr, .. } | ExprKind::IntToDecimal(expr) => self.expr(expr),
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Coalesce { lhs, rhs } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::In { value, list, .. } => {
                self.expr(value);
                self.expr(list);
            }
            ExprKind::Record { fields, .. } | ExprKind::List(fields) => fields.iter().for_each(|a| self.expr(a)),
            ExprKind::Interp(parts) => {
                for p in parts {
                    if let InterpPart::Expr(x) = p {
                        self.expr(x);
                    }
                }
            }
        }
    }

    fn decision(&mut self, d: &ir::DecisionDef) {
        let block = self.next_block();
        let first = d.hit == ir::Hit::First;
        for (i, row) in d.rows.iter().enumerate() {
            let (_, text) = self.text_of(row.loc.file);
            let line = text.lines().nth(row.loc.line.saturating_sub(1) as usize).unwrap_or("");
            let cells: Vec<Option<String>> = row_cells(line)
                .into_iter()
                .enumerate()
                .map(|(ci, cell)| {
                    let param =
                        d.columns.get(ci).and_then(|c| d.params.get(*c as usize)).map(|p| p.0.as_str()).unwrap_or("?");
                    cell_phrase(param, &cell)
                })
                .collect();
            let n = self.out.len();
            self.push(
                Kind::Row,
                row.loc,
                format!("row {} of `{}`", i + 1, d.name),
                String::new(),
                Key::of(row, 0),
                Some((block, i as u32)),
            );
            if let Some(p) = self.out.get_mut(n) {
                p.row = Some(RowInfo { node: Key::of(row, 0).node, cells, first, decision: d.name.clone() });
            }
            row.outputs.iter().for_each(|o| self.expr(o));
        }
        if let Some(def) = &d.default {
            let n = d.rows.len() as u32;
            self.push(
                Kind::Default,
                def.loc,
                format!("default of `{}`", d.name),
                format!("every test that called `{}` matched a row", d.name),
                Key::of(d, DEFAULT_TAG),
                Some((block, n)),
            );
            self.expr(def);
        }
    }
}

/// The text of a constant in a pattern.
fn const_text(pkg: &ir::Package, c: &ir::Const) -> String {
    use ir::Const;
    match c {
        Const::None => "none".into(),
        Const::Bool(b) => b.to_string(),
        Const::Int(i) => i.to_string(),
        Const::Decimal(d) => d.to_string(),
        Const::Money(d, c) => format!("{d} {}", c.as_str()),
        Const::Currency(c) => c.as_str().to_string(),
        Const::Text(t) => format!("{t:?}"),
        Const::Date(_) | Const::Timestamp(_) => {
            let ty = if matches!(c, Const::Date(_)) { Ty::Date } else { Ty::Timestamp };
            let mut s = String::from("@\"");
            crate::encode::interpolate(&mut s, pkg, &ty, &crate::interp::const_value(c));
            s.push('"');
            s
        }
        Const::Enum(e, i) => {
            pkg.enum_def(*e).and_then(|e| e.variants.get(*i as usize)).map(|v| v.name.clone()).unwrap_or_default()
        }
    }
}

/// The input cells of a decision row's line (`| a | b || out |`), trimmed.
fn row_cells(line: &str) -> Vec<String> {
    let line = line.trim();
    let line = line.strip_prefix('|').unwrap_or(line);
    let inputs = line.split("||").next().unwrap_or("");
    inputs.split('|').map(|c| c.trim().to_string()).collect()
}

/// How a cell reads as a condition on its column: `role = Partner`,
/// `hours > 8`; `None` for `-`, which every value passes.
fn cell_phrase(param: &str, cell: &str) -> Option<String> {
    let cell = cell.trim();
    if cell == "-" || cell.is_empty() {
        return None;
    }
    let starts_op = ["<", ">", "[", "(", "]", "not ", "in "].iter().any(|p| cell.starts_with(p));
    if starts_op {
        Some(format!("{param} {cell}"))
    } else if cell.contains('"') {
        Some(format!("{param} = {cell}"))
    } else {
        Some(format!("{param} = {}", cell.replace(", ", " or ")))
    }
}

/// Where a snippet of source ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// At the word `else` (a `check` or `require` condition).
    Else,
    /// At a `{` (an `if` condition, a `match` scrutinee).
    Brace,
    /// At the word `then` (the condition of an `if` expression).
    Then,
}

/// The longest a snippet is shown.
const SNIPPET_CHARS: usize = 60;

/// The source from `loc` to where `stop` says, at nesting depth 0, outside
/// strings; white space runs become one space; a long text is cut with `…`.
fn snippet(text: &str, loc: Loc, stop: Stop) -> String {
    let Some(line_start) = line_offset(text, loc.line) else { return String::new() };
    let start = line_start + loc.col.saturating_sub(1) as usize;
    let Some(rest) = text.get(start..) else { return String::new() };
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    let mut end = rest.len();
    let bytes = rest.as_bytes();
    let word_at = |i: usize, w: &str| -> bool {
        rest.get(i..).is_some_and(|r| r.starts_with(w))
            && (i == 0 || !is_word(bytes.get(i - 1).copied()))
            && !is_word(bytes.get(i + w.len()).copied())
    };
    for (i, ch) in rest.char_indices() {
        if in_str {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth < 0 {
                    end = i;
                    break;
                }
            }
            '{' if depth == 0 && stop == Stop::Brace => {
                end = i;
                break;
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth < 0 {
                    end = i;
                    break;
                }
            }
            'e' if depth == 0 && stop == Stop::Else && word_at(i, "else") => {
                end = i;
                break;
            }
            't' if depth == 0 && stop == Stop::Then && word_at(i, "then") => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let raw = rest.get(..end).unwrap_or("");
    // Comments are not part of the condition.
    let words: Vec<&str> =
        raw.lines().map(|l| l.split("//").next().unwrap_or("")).flat_map(|l| l.split_whitespace()).collect();
    let joined = words.join(" ");
    if joined.chars().count() > SNIPPET_CHARS {
        let cut: String = joined.chars().take(SNIPPET_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        joined
    }
}

fn is_word(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The byte offset where 1-based `line` starts.
fn line_offset(text: &str, line: u32) -> Option<usize> {
    if line == 0 {
        return None;
    }
    if line == 1 {
        return Some(0);
    }
    text.match_indices('\n').nth(line as usize - 2).map(|(i, _)| i + 1)
}

/// The 1-based character column of a location (its `col` counts bytes).
fn char_column(text: &str, loc: Loc) -> u32 {
    let Some(start) = line_offset(text, loc.line) else { return loc.col };
    let end = start + loc.col.saturating_sub(1) as usize;
    text.get(start..end).map(|s| s.chars().count() as u32 + 1).unwrap_or(loc.col)
}

/// The points of a package with their hits, and the figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub points: Vec<Point>,
}

impl Report {
    /// Joins the points of a package with what a run recorded.
    pub fn new(mut points: Vec<Point>, rec: &Recorder) -> Report {
        for p in &mut points {
            p.hits = rec.count(p.key);
            if p.hits > 0 {
                p.reason.clear();
            } else if let Some(row) = &p.row {
                p.reason = row_reason(row, rec);
            }
        }
        Report { points }
    }

    pub fn total(&self) -> usize {
        self.points.len()
    }

    pub fn covered(&self) -> usize {
        self.points.iter().filter(|p| p.hits > 0).count()
    }

    /// The share of points reached, in percent (100 for a package with none).
    pub fn percent(&self) -> f64 {
        if self.total() == 0 {
            100.0
        } else {
            self.covered() as f64 * 100.0 / self.total() as f64
        }
    }

    /// Whether the coverage is at least `threshold` percent (compared exactly,
    /// not after rounding for display).
    pub fn meets(&self, threshold: f64) -> bool {
        self.covered() as f64 * 100.0 >= threshold * self.total() as f64
    }

    /// `87.5%`: one decimal, rounded down so a shown figure is never above the real one.
    pub fn percent_text(&self) -> String {
        percent_text(self.percent())
    }

    /// The summary line and each point no test reached, as text.
    pub fn write_text(&self, out: &mut String) {
        let mut per = [(0usize, 0usize); 4];
        for p in &self.points {
            if let Some(g) = per.get_mut(p.kind.group()) {
                g.1 += 1;
                if p.hits > 0 {
                    g.0 += 1;
                }
            }
        }
        let groups: Vec<String> =
            GROUPS.iter().zip(per.iter()).map(|(name, (c, t))| format!("{name} {c}/{t}")).collect();
        let _ = writeln!(
            out,
            "coverage {} ({} of {} points: {})",
            self.percent_text(),
            self.covered(),
            self.total(),
            groups.join(", ")
        );
        let missed: Vec<&Point> = self.points.iter().filter(|p| p.hits == 0).collect();
        if !missed.is_empty() {
            let _ = writeln!(out, "not reached by any test:");
        }
        for p in missed {
            let _ = write!(out, "  {}:{}:{}  {}", p.file, p.line, p.column, p.what);
            if !p.reason.is_empty() {
                let _ = write!(out, ": {}", p.reason);
            }
            out.push('\n');
        }
    }

    /// The report as JSON: the figures and every point.
    pub fn to_json(&self, threshold: Option<f64>) -> serde_json::Value {
        let points: Vec<serde_json::Value> = self
            .points
            .iter()
            .map(|p| {
                serde_json::json!({
                    "kind": p.kind.as_str(),
                    "file": p.file,
                    "line": p.line,
                    "column": p.column,
                    "what": p.what,
                    "hits": p.hits,
                    "reason": if p.hits == 0 && !p.reason.is_empty() { Some(&p.reason) } else { None },
                })
            })
            .collect();
        serde_json::json!({
            "percent": (self.percent() * 100.0).floor() / 100.0,
            "covered": self.covered(),
            "total": self.total(),
            "threshold": threshold,
            "points": points,
        })
    }

    /// An lcov tracefile (the format of `geninfo`, read by `genhtml` and
    /// coverage services): one record per source file holding points, its
    /// path `prefix` joined to the file's path. Handlers are functions
    /// (`FN`), every point's line is a line (`DA`, the most hits of the
    /// points on it), and branches, rows and rules are branches (`BRDA`).
    pub fn write_lcov(&self, prefix: &str, out: &mut String) {
        let mut files: Vec<&str> = self.points.iter().map(|p| p.file.as_str()).collect();
        files.dedup();
        let _ = writeln!(out, "TN:");
        for file in files {
            let here: Vec<&Point> = self.points.iter().filter(|p| p.file == file).collect();
            let path = if prefix.is_empty() { file.to_string() } else { format!("{prefix}/{file}") };
            let _ = writeln!(out, "SF:{path}");
            let handlers: Vec<&&Point> = here.iter().filter(|p| p.kind == Kind::Handler).collect();
            for h in &handlers {
                let _ = writeln!(out, "FN:{},{}", h.line, lcov_name(h));
            }
            for h in &handlers {
                let _ = writeln!(out, "FNDA:{},{}", h.hits, lcov_name(h));
            }
            let _ = writeln!(out, "FNF:{}", handlers.len());
            let _ = writeln!(out, "FNH:{}", handlers.iter().filter(|h| h.hits > 0).count());
            let mut branches = 0;
            let mut taken = 0;
            for p in &here {
                let Some((block, branch)) = p.branch else { continue };
                // `-` (never reached) only for a block of several branches
                // (an `if`, a `match`, a decision): a rule's one branch, its
                // rejection, may well have been reached without being taken.
                let in_block = here.iter().filter(|q| q.branch.map(|b| b.0) == Some(block));
                let (size, reached) = in_block.fold((0, false), |(n, r), q| (n + 1, r || q.hits > 0));
                let reached = reached || size < 2;
                branches += 1;
                if p.hits > 0 {
                    taken += 1;
                }
                let count = if reached { p.hits.to_string() } else { "-".to_string() };
                let _ = writeln!(out, "BRDA:{},{block},{branch},{count}", p.line);
            }
            let _ = writeln!(out, "BRF:{branches}");
            let _ = writeln!(out, "BRH:{taken}");
            let mut lines: Vec<(u32, u64)> = Vec::new();
            for p in &here {
                match lines.iter_mut().find(|(l, _)| *l == p.line) {
                    Some((_, h)) => *h = (*h).max(p.hits),
                    None => lines.push((p.line, p.hits)),
                }
            }
            lines.sort_unstable();
            for (l, h) in &lines {
                let _ = writeln!(out, "DA:{l},{h}");
            }
            let _ = writeln!(out, "LF:{}", lines.len());
            let _ = writeln!(out, "LH:{}", lines.iter().filter(|(_, h)| *h > 0).count());
            let _ = writeln!(out, "end_of_record");
        }
    }
}

/// A percentage with one decimal, rounded down.
pub fn percent_text(p: f64) -> String {
    let tenths = (p * 10.0 + 1e-9).floor() / 10.0;
    format!("{tenths:.1}%")
}

/// A handler's function name in lcov, `on_Approved` (no commas or spaces).
fn lcov_name(p: &Point) -> String {
    p.what.trim_start_matches("handler ").replace(['`', ','], "").replace(' ', "_")
}

/// Why no test chose a row, from the cells that held for some input.
fn row_reason(row: &RowInfo, rec: &Recorder) -> String {
    let Some(mask) = rec.cells.borrow().get(&row.node).copied() else {
        return format!("no test called `{}`", row.decision);
    };
    let never: Vec<&str> = row
        .cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_deref().filter(|_| i >= 63 || mask & (1 << i) == 0))
        .collect();
    if !never.is_empty() {
        return format!("no test gave {}", never.join(", nor "));
    }
    if mask & MATCHED != 0 {
        return if row.first {
            "every input that matched it matched an earlier row first (`hit first`)".into()
        } else {
            "it matched, but the decision stopped on a fault".into()
        };
    }
    let tested: Vec<&str> = row.cells.iter().filter_map(|c| c.as_deref()).collect();
    match tested.as_slice() {
        [] => "every input matched an earlier row first".into(),
        [one] => format!("no test gave {one}"),
        _ => format!("no test gave {} together", tested.join(" and ")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;
    use canon_compiler::diagnostics::FileId;

    fn reject() -> ir::RejectInfo {
        ir::RejectInfo { code: "X".into(), message: None, loc: loc(1, 1) }
    }

    fn loc(line: u32, col: u32) -> Loc {
        Loc { file: FileId(0), line, col }
    }

    #[test]
    fn snippets_stop_where_the_condition_ends() {
        let src = "on E as e {\n  check e.a > (1 + 2) and e.b == \"else {\" else reject X\n}\n";
        assert_eq!(snippet(src, loc(2, 9), Stop::Else), "e.a > (1 + 2) and e.b == \"else {\"");
        let src = "  if t.hours > 8 // long day\n    and t.billable { emit x }";
        assert_eq!(snippet(src, loc(1, 6), Stop::Brace), "t.hours > 8 and t.billable");
        let src = "fn f(x: Int) -> Int = if x > 0 then 1 else 2";
        assert_eq!(snippet(src, loc(1, 26), Stop::Then), "x > 0");
        let long = format!("check {} else reject X", "a + ".repeat(30) + "a");
        let s = snippet(&long, loc(1, 7), Stop::Else);
        assert_eq!(s.chars().count(), SNIPPET_CHARS);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn columns_count_characters() {
        let src = "// é\n  «x» check";
        assert_eq!(char_column(src, loc(2, 3)), 3);
        assert_eq!(char_column(src, loc(2, 9)), 7);
    }

    #[test]
    fn cells_read_as_conditions() {
        assert_eq!(row_cells("  | Senior, Principal | EU || 230.00 EUR |"), vec!["Senior, Principal", "EU"]);
        assert_eq!(cell_phrase("role", "Senior, Principal").as_deref(), Some("role = Senior or Principal"));
        assert_eq!(cell_phrase("hours", "> 8").as_deref(), Some("hours > 8"));
        assert_eq!(cell_phrase("hours", "[0..8]").as_deref(), Some("hours [0..8]"));
        assert_eq!(cell_phrase("region", "-"), None);
        assert_eq!(cell_phrase("name", "\"a, b\"").as_deref(), Some("name = \"a, b\""));
    }

    #[test]
    fn percentages_round_down_and_thresholds_compare_exactly() {
        let rec = Recorder::new();
        let nodes = [Stmt::Reject(reject()), Stmt::Reject(reject()), Stmt::Reject(reject())];
        let mk = |i: usize| Point {
            kind: Kind::Check,
            file: "a.canon".into(),
            line: i as u32 + 1,
            column: 3,
            what: format!("check {i}"),
            reason: "no test made `x` false".into(),
            hits: 0,
            branch: None,
            key: Key::of(&nodes[i], 0),
            row: None,
        };
        rec.hit(Key::of(&nodes[0], 0));
        rec.hit(Key::of(&nodes[0], 0));
        rec.hit(Key::of(&nodes[1], 0));
        let r = Report::new((0..3).map(mk).collect(), &rec);
        assert_eq!((r.covered(), r.total()), (2, 3));
        assert_eq!(r.percent_text(), "66.6%");
        assert!(r.meets(66.0) && !r.meets(66.7));
        assert_eq!(r.points[0].hits, 2);
        assert!(r.points[0].reason.is_empty());
        assert_eq!(r.points[2].reason, "no test made `x` false");
        let empty = Report::new(Vec::new(), &rec);
        assert_eq!(empty.percent_text(), "100.0%");
        assert!(empty.meets(100.0));
    }

    #[test]
    fn row_reasons_name_the_cells_no_input_passed() {
        let rec = Recorder::new();
        let rows: Vec<ir::DecisionRow> =
            (0..4).map(|_| ir::DecisionRow { cells: Vec::new(), outputs: Vec::new(), loc: loc(1, 1) }).collect();
        let info = |i: usize, cells: Vec<Option<&str>>| RowInfo {
            node: Key::of(&rows[i], 0).node,
            cells: cells.into_iter().map(|c| c.map(String::from)).collect(),
            first: true,
            decision: "bill_rate".into(),
        };
        // Row 0: never called. Row 1: role never Partner. Row 2: both
        // held, never together. Row 3: matched, taken by an earlier row.
        rec.cells.borrow_mut().insert(Key::of(&rows[1], 0).node, 0b10);
        rec.cells.borrow_mut().insert(Key::of(&rows[2], 0).node, 0b11);
        rec.cells.borrow_mut().insert(Key::of(&rows[3], 0).node, 0b11 | MATCHED);
        let cells = || vec![Some("role = Partner"), Some("region = EU")];
        assert_eq!(row_reason(&info(0, cells()), &rec), "no test called `bill_rate`");
        assert_eq!(row_reason(&info(1, cells()), &rec), "no test gave role = Partner");
        assert_eq!(row_reason(&info(2, cells()), &rec), "no test gave role = Partner and region = EU together");
        assert!(row_reason(&info(3, cells()), &rec).contains("earlier row"));
    }
}
