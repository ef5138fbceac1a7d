//! Builds the document for a parsed file: the tree gives the layout, the
//! token stream gives the comments and how number literals were spelled.
//!
//! Comments are placed at *break points*: the places where the layout may put
//! a newline before a node (between items, fields, statements, list elements,
//! arguments, decision rows, before `then`/`else`/`and`/`or`/`??`) and before
//! closing brackets. At a break point every comment that starts before the
//! node is written: the first one, if it followed code on its line, at the end
//! of the previous line; the others on lines of their own, with an empty line
//! kept before those that had one. A comment inside a construct that has no
//! break point (a decision row, `let x = // c`) moves to the next break point.
//! Because a written comment sits right before the break point that wrote it,
//! formatting again writes it at the same place: the layout is a fixed point.

use super::comments::{blank_before, Comment, TokenInfo};
use super::doc::{render, width, Doc};
use crate::syntax::ast::*;
use crate::syntax::lexer::Token;

/// Records with more fields than this are written one field per line.
pub const RECORD_INLINE_MAX_FIELDS: usize = 2;

/// What a break point stands before, for `///` comments: the parser reads
/// `///` lines right above an item, field or variant as its docs, so the
/// layout must neither make nor break that adjacency.
#[derive(Clone, Copy)]
enum Anchor {
    Plain,
    /// The break point is before a keyword or operator that comes before
    /// the node (`then`, `else`, `and` ...): an empty line before the node
    /// is not kept, as it would not be before the node after formatting.
    Operator,
    /// An item, field or variant; `true` when it has docs.
    Docs(bool),
}

pub struct Printer<'a> {
    text: &'a str,
    comments: Vec<Comment>,
    /// Comments already written (at a break point or inside verbatim text).
    done: Vec<bool>,
    /// Every comment before this index is done.
    next: usize,
    tokens: Vec<(usize, usize, Token)>,
    /// Inside a decision row: everything flat, no comments written.
    no_breaks: usize,
}

impl<'a> Printer<'a> {
    pub fn new(text: &'a str, info: TokenInfo) -> Printer<'a> {
        let done = vec![false; info.comments.len()];
        Printer { text, comments: info.comments, done, next: 0, tokens: info.tokens, no_breaks: 0 }
    }

    // ------------------------------------------------------------ comments

    fn slice(&self, span: Span) -> &'a str {
        self.text.get(span.start as usize..span.end as usize).unwrap_or("")
    }

    /// Verbatim source text; comments inside it are written with it.
    fn verbatim(&mut self, span: Span) -> Doc {
        Doc::text(self.verbatim_str(span))
    }

    fn verbatim_str(&mut self, span: Span) -> String {
        let (a, b) = (span.start as usize, span.end as usize);
        let first = self.comments.partition_point(|c| c.start < a);
        let last = self.comments.partition_point(|c| c.start < b);
        for d in self.done.get_mut(first..last).unwrap_or(&mut []) {
            *d = true;
        }
        self.slice(span).to_string()
    }

    /// Takes the comments that start before `pos` and are not yet written.
    fn take_before(&mut self, pos: usize) -> Vec<Comment> {
        let mut out = Vec::new();
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            if !self.done.get(self.next).copied().unwrap_or(true) {
                out.push(c.clone());
            }
            if let Some(d) = self.done.get_mut(self.next) {
                *d = true;
            }
            self.next += 1;
        }
        out
    }

    fn has_comments_before(&self, pos: usize) -> bool {
        self.comments
            .iter()
            .enumerate()
            .skip(self.next)
            .take_while(|(_, c)| c.start < pos)
            .any(|(i, _)| !self.done.get(i).copied().unwrap_or(true))
    }

    fn adjacent(&self, a: &Comment, b: &Comment) -> bool {
        self.text.get(a.end..b.start).is_some_and(|s| s.trim().is_empty())
    }

    /// Own-line comments, each on its own line.
    fn own_lines(&self, parts: &mut Vec<Doc>, comments: &[Comment]) -> Option<Comment> {
        let mut prev: Option<&Comment> = None;
        for c in comments {
            parts.push(Doc::HardLine);
            let separate = match prev {
                // `///` lines that were not one doc block must not become one.
                Some(p) => p.doc && c.doc && !(p.own_line && c.own_line && self.adjacent(p, c)),
                None => false,
            };
            if (c.own_line && c.blank_before) || separate {
                parts.push(Doc::Blank);
            }
            parts.push(Doc::text(c.text.clone()));
            parts.push(Doc::HardLine);
            prev = Some(c);
        }
        prev.cloned()
    }

    /// A break point before the node at `pos`: pending comments, then `sep`.
    fn point(&mut self, pos: usize, sep: Doc, anchor: Anchor) -> Doc {
        if self.no_breaks > 0 {
            return sep;
        }
        let pending = self.take_before(pos);
        let mut parts = Vec::new();
        let mut rest: &[Comment] = &pending;
        if let Some((first, tail)) = pending.split_first() {
            if !first.own_line {
                parts.push(Doc::LineSuffix(format!(" {}", first.text)));
                parts.push(Doc::BreakParent);
                rest = tail;
            }
        }
        parts.push(sep);
        let last = self.own_lines(&mut parts, rest);
        if !matches!(anchor, Anchor::Operator) && blank_before(self.text, pos) {
            parts.push(Doc::Blank);
        } else if let (Anchor::Docs(false), Some(c)) = (anchor, &last) {
            if c.doc {
                parts.push(Doc::Blank);
            }
        }
        Doc::concat(parts)
    }

    /// Comments before a closing bracket at `pos`, to go inside the indented
    /// part (the caller writes the newline and the bracket).
    fn close(&mut self, pos: usize) -> Doc {
        if self.no_breaks > 0 {
            return Doc::empty();
        }
        let pending = self.take_before(pos);
        let mut parts = Vec::new();
        let mut rest: &[Comment] = &pending;
        if let Some((first, tail)) = pending.split_first() {
            if !first.own_line {
                parts.push(Doc::LineSuffix(format!(" {}", first.text)));
                parts.push(Doc::BreakParent);
                rest = tail;
            }
        }
        self.own_lines(&mut parts, rest);
        Doc::concat(parts)
    }

    /// The start of the last token before `pos`.
    fn token_before(&self, pos: usize) -> Option<usize> {
        let i = self.tokens.partition_point(|(s, _, _)| *s < pos);
        self.tokens.get(i.checked_sub(1)?).map(|(s, _, _)| *s)
    }

    /// The first token `tok` at or after `pos`.
    fn token_after(&self, pos: usize, tok: Token) -> Option<usize> {
        let i = self.tokens.partition_point(|(s, _, _)| *s < pos);
        self.tokens.get(i..)?.iter().find(|(_, _, t)| *t == tok).map(|(s, _, _)| *s)
    }

    // ------------------------------------------------------------ file and items

    pub fn file(&mut self, file: &File) -> Doc {
        let mut parts = Vec::new();
        for item in &file.items {
            let anchor = match item {
                Item::Test(_) => Anchor::Plain,
                Item::Enum(d) => Anchor::Docs(d.docs.is_some()),
                Item::Record(d) => Anchor::Docs(d.docs.is_some()),
                Item::Destination(d) => Anchor::Docs(d.docs.is_some()),
                Item::Table(d) => Anchor::Docs(d.docs.is_some()),
                Item::Fn(d) => Anchor::Docs(d.docs.is_some()),
                Item::Decision(d) => Anchor::Docs(d.docs.is_some()),
                Item::Handler(d) => Anchor::Docs(d.docs.is_some()),
                Item::State(d) => Anchor::Docs(d.docs.is_some()),
                Item::Metric(d) => Anchor::Docs(d.docs.is_some()),
                Item::Calendar(d) => Anchor::Docs(d.docs.is_some()),
            };
            parts.push(self.point(item.span().start as usize, Doc::HardLine, anchor));
            parts.push(self.item(item));
        }
        parts.push(self.close(usize::MAX));
        parts.push(Doc::HardLine);
        Doc::concat(parts)
    }

    fn item(&mut self, item: &Item) -> Doc {
        match item {
            Item::Enum(d) => self.enum_decl(d),
            Item::Record(d) => self.record_decl(d),
            Item::Destination(d) => match &d.index {
                Some(i) => Doc::text(format!("destination {}[{}]: {}", d.name.text, ty(i), ty(&d.ty))),
                None => Doc::text(format!("destination {}: {}", d.name.text, ty(&d.ty))),
            },
            Item::Table(d) => {
                let effective = match &d.effective {
                    Some(Effective { from, to: Some(to) }) => format!(" effective {} to {}", from.text, to.text),
                    Some(Effective { from, to: None }) => format!(" effective {}", from.text),
                    None => String::new(),
                };
                Doc::text(format!("table {}: {} key {}{effective}", d.name.text, ty(&d.ty), key_fields(&d.keys)))
            }
            Item::State(d) => Doc::text(format!("state {}: {} key {}", d.name.text, ty(&d.ty), key_fields(&d.keys))),
            Item::Metric(d) => self.metric(d),
            Item::Calendar(d) => {
                let mut parts = vec![Doc::text(format!("calendar {} {{", d.name.text))];
                let mut body = Vec::new();
                for (k, vs) in &d.entries {
                    let vs: Vec<&str> = vs.iter().map(|v| v.text.as_str()).collect();
                    body.push(Doc::HardLine);
                    body.push(Doc::text(format!("{}: {}", k.text, vs.join(", "))));
                }
                parts.push(Doc::indent(Doc::concat(body)));
                parts.push(Doc::HardLine);
                parts.push(Doc::text("}"));
                Doc::concat(parts)
            }
            Item::Fn(d) => self.fn_decl(d),
            Item::Decision(d) => self.decision(d),
            Item::Handler(h) => {
                let body = self.block(&h.body);
                Doc::concat(vec![Doc::text(format!("on {} as {} ", h.event.text, h.binding.text)), body])
            }
            Item::Test(t) => {
                let head = self.verbatim(t.name.span);
                let close = (t.span.end as usize).saturating_sub(1);
                let body = self.braced(&t.stmts, |s| s.span.start as usize, Self::test_stmt, close);
                Doc::concat(vec![Doc::text("test "), head, Doc::text(" "), body])
            }
        }
    }

    /// `{`, one element per line, `}`; `{}` when empty.
    fn braced<E>(
        &mut self,
        elems: &[E],
        start: impl Fn(&E) -> usize,
        mut f: impl FnMut(&mut Self, &E) -> Doc,
        close: usize,
    ) -> Doc {
        if elems.is_empty() && !self.has_comments_before(close) {
            return Doc::text("{}");
        }
        let mut inner = Vec::new();
        for e in elems {
            inner.push(self.point(start(e), Doc::HardLine, Anchor::Plain));
            inner.push(f(self, e));
        }
        inner.push(self.close(close));
        Doc::concat(vec![Doc::text("{"), Doc::indent(Doc::concat(inner)), Doc::HardLine, Doc::text("}")])
    }

    fn enum_decl(&mut self, d: &EnumDecl) -> Doc {
        let close = (d.span.end as usize).saturating_sub(1);
        let mut inner = Vec::new();
        for v in &d.variants {
            inner.push(self.point(v.name.span.start as usize, Doc::HardLine, Anchor::Docs(v.docs.is_some())));
            inner.push(Doc::text(v.name.text.clone()));
            if let Some(w) = &v.wire {
                inner.push(Doc::text(" = "));
                inner.push(self.verbatim(w.span));
            }
        }
        inner.push(self.close(close));
        Doc::concat(vec![
            Doc::text(format!("enum {} {{", d.name.text)),
            Doc::indent(Doc::concat(inner)),
            Doc::HardLine,
            Doc::text("}"),
        ])
    }

    fn record_decl(&mut self, d: &RecordDecl) -> Doc {
        let mut head = vec![Doc::text(format!("{} {}", if d.is_event { "event" } else { "record" }, d.name.text))];
        if let Some(w) = &d.wire_type {
            head.push(Doc::text(" as "));
            head.push(self.verbatim(w.span));
        }
        head.push(Doc::text(" "));
        let close = (d.span.end as usize).saturating_sub(1);
        if d.fields.is_empty() && !self.has_comments_before(close) {
            head.push(Doc::text("{}"));
            return Doc::concat(head);
        }
        let mut inner = Vec::new();
        for f in &d.fields {
            inner.push(self.point(f.name.span.start as usize, Doc::HardLine, Anchor::Docs(f.docs.is_some())));
            inner.push(Doc::text(format!("{}: {}", f.name.text, ty(&f.ty))));
            if let Some(w) = &f.wire {
                inner.push(Doc::text(" as "));
                inner.push(self.verbatim(w.span));
            }
        }
        inner.push(self.close(close));
        head.extend([Doc::text("{"), Doc::indent(Doc::concat(inner)), Doc::HardLine, Doc::text("}")]);
        Doc::concat(head)
    }

    /// `metric name = sum(state, x => e)`, then its clauses: on the same
    /// line when the whole fits, else each on a line of its own.
    fn metric(&mut self, d: &MetricDecl) -> Doc {
        let after = d.body.span.end as usize;
        let close = self.token_after(after, Token::RParen).unwrap_or(after);
        let args = [MetricArg::State(&d.state), MetricArg::Lambda(&d.param, &d.body)];
        let call = self.seq(
            "(",
            ")",
            &args,
            |a| match a {
                MetricArg::State(s) => s.span.start as usize,
                MetricArg::Lambda(p, _) => p.span.start as usize,
            },
            |p, a| match a {
                MetricArg::State(s) => Doc::text(s.text.clone()),
                MetricArg::Lambda(param, body) => {
                    let b = p.expr(body);
                    Doc::concat(vec![Doc::text(format!("{} => ", param.text)), b])
                }
            },
            SeqStyle { line: Doc::SoftLine, trailing_comma: true, force: false },
            close,
        );
        let head = Doc::concat(vec![Doc::text(format!("metric {} = {}", d.name.text, d.aggregate.text)), call]);
        let mut clauses = Vec::new();
        if let Some(f) = &d.filter {
            let at = self.token_before(f.span.start as usize).unwrap_or(f.span.start as usize);
            clauses.push(self.point(at, Doc::Line, Anchor::Operator));
            clauses.push(Doc::text("where "));
            clauses.push(self.expr(f));
        }
        if let Some(first) = d.by.first() {
            let at = self.token_before(first.span.start as usize).unwrap_or(first.span.start as usize);
            clauses.push(self.point(at, Doc::Line, Anchor::Operator));
            let names: Vec<&str> = d.by.iter().map(|b| b.text.as_str()).collect();
            clauses.push(Doc::text(format!("by {}", names.join(", "))));
        }
        if let Some(a) = &d.age {
            clauses.push(self.point(a.span.start as usize, Doc::Line, Anchor::Operator));
            let n = self.number(a.amount_span);
            let n = if n.is_empty() { a.amount.clone() } else { n };
            clauses.push(Doc::text(format!("age {} > {n} {}", a.field.text, a.unit.text)));
        }
        if clauses.is_empty() {
            return head;
        }
        Doc::group(Doc::concat(vec![head, Doc::indent(Doc::concat(clauses))]))
    }

    fn params(&mut self, name: &Ident, params: &[Param]) -> Doc {
        let after = params.last().map(|p| p.ty.span().end).unwrap_or(name.span.end) as usize;
        let close = self.token_after(after, Token::RParen).unwrap_or(after);
        self.seq(
            "(",
            ")",
            params,
            |p| p.name.span.start as usize,
            |_, p| Doc::text(format!("{}: {}", p.name.text, ty(&p.ty))),
            SeqStyle { line: Doc::SoftLine, trailing_comma: true, force: false },
            close,
        )
    }

    fn fn_decl(&mut self, d: &FnDecl) -> Doc {
        let mut parts = vec![Doc::text(format!("fn {}", d.name.text))];
        parts.push(self.params(&d.name, &d.params));
        parts.push(Doc::text(format!(" -> {}", ty(&d.ret))));
        if d.lets.is_empty() {
            if matches!(d.body.kind, ExprKind::If { .. }) {
                // `= if c` ... on the next line when the whole does not fit.
                let sep = self.point(d.body.span.start as usize, Doc::Line, Anchor::Plain);
                let body = self.expr(&d.body);
                parts.push(Doc::text(" ="));
                parts.push(Doc::group(Doc::indent(Doc::concat(vec![sep, body]))));
            } else {
                parts.push(Doc::text(" = "));
                parts.push(self.expr(&d.body));
            }
            return Doc::concat(parts);
        }
        let mut inner = Vec::new();
        for l in &d.lets {
            inner.push(self.point(l.span.start as usize, Doc::HardLine, Anchor::Plain));
            inner.push(self.let_stmt(l));
        }
        inner.push(self.point(d.body.span.start as usize, Doc::HardLine, Anchor::Plain));
        inner.push(self.expr(&d.body));
        inner.push(self.close((d.span.end as usize).saturating_sub(1)));
        parts.extend([Doc::text(" {"), Doc::indent(Doc::concat(inner)), Doc::HardLine, Doc::text("}")]);
        Doc::concat(parts)
    }

    fn decision(&mut self, d: &DecisionDecl) -> Doc {
        let mut parts = vec![Doc::text(format!("decision {}", d.name.text))];
        parts.push(self.params(&d.name, &d.params));
        parts.push(Doc::text(format!(" -> {}", ty(&d.ret))));

        // The cells, flat, then the column widths.
        let header: (Vec<String>, Vec<String>) =
            (d.inputs.iter().map(|i| i.text.clone()).collect(), d.outputs.iter().map(|i| i.text.clone()).collect());
        let mut rows: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for r in &d.rows {
            let ins = r.inputs.iter().map(|c| self.cell(c)).collect();
            let outs = r.outputs.iter().map(|e| self.flat_expr(e)).collect();
            rows.push((ins, outs));
        }
        let mut in_w: Vec<usize> = Vec::new();
        let mut out_w: Vec<usize> = Vec::new();
        for (ins, outs) in std::iter::once(&header).chain(rows.iter()) {
            widen(&mut in_w, ins);
            widen(&mut out_w, outs);
        }

        let mut inner = Vec::new();
        inner.push(self.point(d.hit.span.start as usize, Doc::HardLine, Anchor::Operator));
        inner.push(Doc::text(format!("hit {}", d.hit.text)));
        if let Some(e) = &d.default {
            // The line starts at the `default` keyword, not at its expression (a blank line or a
            // comment between the two moves before the keyword, once).
            let at = e.span.start as usize;
            let kw = self.text.get(..at).and_then(|t| t.rfind("default")).unwrap_or(at);
            inner.push(self.point(kw, Doc::HardLine, Anchor::Plain));
            let shown = self.flat_expr(e);
            inner.push(Doc::text(format!("default {shown}")));
        }
        inner.push(self.point(d.header_span.start as usize, Doc::HardLine, Anchor::Plain));
        inner.push(Doc::text(table_line(&header.0, &header.1, &in_w, &out_w)));
        for (r, (ins, outs)) in d.rows.iter().zip(rows.iter()) {
            inner.push(self.point(r.span.start as usize, Doc::HardLine, Anchor::Plain));
            inner.push(Doc::text(table_line(ins, outs, &in_w, &out_w)));
        }
        parts.push(Doc::indent(Doc::concat(inner)));
        Doc::concat(parts)
    }

    fn cell(&mut self, c: &Cell) -> String {
        match &c.kind {
            CellKind::Any => "-".into(),
            CellKind::Values { negated, values } => {
                let vs: Vec<String> = values.iter().map(|v| self.lit(v)).collect();
                format!("{}{}", if *negated { "not " } else { "" }, vs.join(", "))
            }
            CellKind::Cmp(op, v) => {
                let op = match op {
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                format!("{op} {}", self.lit(v))
            }
            CellKind::Range { lo, lo_closed, hi, hi_closed } => format!(
                "{}{}..{}{}",
                if *lo_closed { "[" } else { "(" },
                self.lit(lo),
                self.lit(hi),
                if *hi_closed { "]" } else { ")" }
            ),
            CellKind::AnyOf(items) => items.iter().map(|i| self.cell(i)).collect::<Vec<_>>().join(", "),
        }
    }

    /// An expression laid out on one line, comments left for later.
    fn flat_expr(&mut self, e: &Expr) -> String {
        self.no_breaks += 1;
        let d = self.expr(e);
        self.no_breaks -= 1;
        render(&d, usize::MAX / 4)
    }

    // ------------------------------------------------------------ literals

    /// A number or money literal as written (underscores kept, whitespace
    /// normalised): the tokens of its span.
    fn number(&self, span: Span) -> String {
        let (a, b) = (span.start as usize, span.end as usize);
        let i = self.tokens.partition_point(|(s, _, _)| *s < a);
        let mut out = String::new();
        for (s, e, t) in self.tokens.get(i..).unwrap_or(&[]) {
            if *e > b {
                break;
            }
            let piece = self.text.get(*s..*e).unwrap_or("");
            if *t == Token::Ident && !out.is_empty() {
                out.push(' ');
            }
            out.push_str(piece);
        }
        out
    }

    fn lit_kind(&mut self, kind: &LitKind, span: Span) -> String {
        match kind {
            LitKind::Int(s) | LitKind::Decimal(s) => {
                let n = self.number(span);
                if n.is_empty() {
                    s.clone()
                } else {
                    n
                }
            }
            LitKind::Money(n, c) => {
                let m = self.number(span);
                if m.is_empty() {
                    format!("{n} {c}")
                } else {
                    m
                }
            }
            LitKind::Text(_) | LitKind::Temporal(_) => self.verbatim_str(span),
            LitKind::Bool(b) => b.to_string(),
            LitKind::None => "none".into(),
            LitKind::Name(i) => i.text.clone(),
            LitKind::Qualified(a, b) => format!("{}.{}", a.text, b.text),
        }
    }

    fn lit(&mut self, l: &Lit) -> String {
        self.lit_kind(&l.kind, l.span)
    }

    fn patterns(&mut self, ps: &[Pattern]) -> String {
        let parts: Vec<String> = ps
            .iter()
            .map(|p| match p {
                Pattern::Wildcard(_) => "_".to_string(),
                Pattern::Lit(l) => self.lit(l),
            })
            .collect();
        parts.join(" | ")
    }

    // ------------------------------------------------------------ statements

    /// `emit dest[member]? Record { ... }` of `expect emit` and `expect exactly`.
    fn expected_emit(&mut self, e: &ExpectedEmit) -> Doc {
        let head = match &e.member {
            Some(m) => format!("emit {}[{}] ", e.dest.text, m.text),
            None => format!("emit {} ", e.dest.text),
        };
        Doc::concat(vec![Doc::text(head), self.expr(&e.record)])
    }

    fn block(&mut self, b: &Block) -> Doc {
        let close = (b.span.end as usize).saturating_sub(1);
        self.braced(&b.stmts, |s| s.span.start as usize, Self::stmt, close)
    }

    fn let_stmt(&mut self, l: &LetStmt) -> Doc {
        Doc::concat(vec![Doc::text(format!("let {} = ", l.name.text)), self.expr(&l.value)])
    }

    fn rejection(&mut self, r: &Rejection) -> Doc {
        let mut parts = vec![Doc::text(format!("reject {}", r.code.text))];
        if let Some(m) = &r.message {
            parts.push(Doc::text(" "));
            parts.push(self.expr(m));
        }
        Doc::concat(parts)
    }

    fn guard(&mut self, kw: &str, cond: &Expr, r: &Rejection) -> Doc {
        let c = self.expr(cond);
        let sep = self.point(r.code.span.start as usize, Doc::HardLine, Anchor::Operator);
        let rej = self.rejection(r);
        Doc::concat(vec![Doc::text(format!("{kw} ")), c, Doc::indent(Doc::concat(vec![sep, Doc::text("else "), rej]))])
    }

    fn stmt(&mut self, s: &Stmt) -> Doc {
        match &s.kind {
            StmtKind::Let(l) => self.let_stmt(l),
            StmtKind::Check { cond, reject } => self.guard("check", cond, reject),
            StmtKind::Require { cond, reject } => self.guard("require", cond, reject),
            StmtKind::Reject(r) => self.rejection(r),
            StmtKind::Emit { dest, index: None, value } => {
                Doc::concat(vec![Doc::text(format!("emit {} ", dest.text)), self.expr(value)])
            }
            StmtKind::Emit { dest, index: Some(i), value } => Doc::concat(vec![
                Doc::text(format!("emit {}[", dest.text)),
                self.expr(i),
                Doc::text("] "),
                self.expr(value),
            ]),
            StmtKind::If { branches, otherwise } => {
                let mut parts = Vec::new();
                for (i, (cond, body)) in branches.iter().enumerate() {
                    parts.push(Doc::text(if i == 0 { "if " } else { " else if " }));
                    parts.push(self.expr(cond));
                    parts.push(Doc::text(" "));
                    parts.push(self.block(body));
                }
                if let Some(b) = otherwise {
                    parts.push(Doc::text(" else "));
                    parts.push(self.block(b));
                }
                Doc::concat(parts)
            }
            StmtKind::Match { scrutinee, arms } => {
                let head = self.expr(scrutinee);
                let close = (s.span.end as usize).saturating_sub(1);
                let body = self.braced(arms, |a| a.span.start as usize, Self::stmt_arm, close);
                Doc::concat(vec![Doc::text("match "), head, Doc::text(" "), body])
            }
            StmtKind::For { index, var, iter, body } => {
                let it = self.expr(iter);
                let b = self.block(body);
                let head = match index {
                    Some(i) => format!("for {}, {} in ", i.text, var.text),
                    None => format!("for {} in ", var.text),
                };
                Doc::concat(vec![Doc::text(head), it, Doc::text(" "), b])
            }
            StmtKind::Put { state, value } => {
                Doc::concat(vec![Doc::text(format!("put {} ", state.text)), self.expr(value)])
            }
            StmtKind::Update { state, keys, fields } => {
                let k = self.state_keys(state, keys, None);
                let close = (s.span.end as usize).saturating_sub(1);
                let body = self.seq(
                    "{",
                    "}",
                    fields,
                    |f| f.name.span.start as usize,
                    Self::field_init,
                    SeqStyle { line: Doc::Line, trailing_comma: true, force: fields.len() > RECORD_INLINE_MAX_FIELDS },
                    close,
                );
                Doc::concat(vec![Doc::text(format!("update {}", state.text)), k, Doc::text(" "), body])
            }
            StmtKind::Delete { state, keys } => {
                let k = self.state_keys(state, keys, Some((s.span.end as usize).saturating_sub(1)));
                Doc::concat(vec![Doc::text(format!("delete {}", state.text)), k])
            }
        }
    }

    /// The `[k, ...]` of a state (`close`: where its `]` is, when known).
    fn state_keys(&mut self, state: &Ident, keys: &[Expr], close: Option<usize>) -> Doc {
        let after = keys.last().map(|k| k.span.end).unwrap_or(state.span.end) as usize;
        let close = close.or_else(|| self.token_after(after, Token::RBracket)).unwrap_or(after);
        self.seq(
            "[",
            "]",
            keys,
            |k| k.span.start as usize,
            |p, k| p.expr(k),
            SeqStyle { line: Doc::SoftLine, trailing_comma: true, force: false },
            close,
        )
    }

    /// `name: value` in a record literal or an `update`.
    fn field_init(&mut self, f: &FieldInit) -> Doc {
        let v = self.expr(&f.value);
        Doc::concat(vec![Doc::text(format!("{}: ", f.name.text)), v])
    }

    fn stmt_arm(&mut self, a: &StmtArm) -> Doc {
        let pats = self.patterns(&a.patterns);
        let body = self.block(&a.body);
        Doc::concat(vec![Doc::text(format!("{pats} => ")), body])
    }

    fn test_stmt(&mut self, s: &TestStmt) -> Doc {
        match &s.kind {
            TestStmtKind::Given(e) => Doc::concat(vec![Doc::text("given "), self.expr(e)]),
            TestStmtKind::GivenFile(f) => Doc::concat(vec![Doc::text("given file "), self.verbatim(f.span)]),
            TestStmtKind::With { table, rows } => {
                let close = (s.span.end as usize).saturating_sub(1);
                let list = self.seq(
                    "[",
                    "]",
                    rows,
                    |e| e.span.start as usize,
                    |p, e| p.expr(e),
                    SeqStyle { line: Doc::SoftLine, trailing_comma: true, force: false },
                    close,
                );
                Doc::concat(vec![Doc::text(format!("with {} ", table.text)), list])
            }
            TestStmtKind::ExpectStatus(i) => Doc::text(format!("expect {}", i.text)),
            TestStmtKind::ExpectState { state, keys, record: None } => {
                let k = self.state_keys(state, keys, Some((s.span.end as usize).saturating_sub(1)));
                Doc::concat(vec![Doc::text(format!("expect no state {}", state.text)), k])
            }
            TestStmtKind::ExpectState { state, keys, record: Some(r) } => {
                let k = self.state_keys(state, keys, None);
                let r = self.expr(r);
                Doc::concat(vec![Doc::text(format!("expect state {}", state.text)), k, Doc::text(" "), r])
            }
            TestStmtKind::ExpectReject(r) => {
                let mut parts = vec![Doc::text(format!("expect reject {}", r.code.text))];
                if let Some((how, m)) = &r.message {
                    let before = matches!(how, MessageMatch::Suffix | MessageMatch::Contains);
                    let after = matches!(how, MessageMatch::Prefix | MessageMatch::Contains);
                    parts.push(Doc::text(if before { " .. " } else { " " }));
                    parts.push(self.verbatim(m.span));
                    if after {
                        parts.push(Doc::text(" .."));
                    }
                }
                if let Some((n, _)) = r.times {
                    parts.push(Doc::text(format!(" times {n}")));
                }
                Doc::concat(parts)
            }
            TestStmtKind::ExpectEmit(e) => Doc::concat(vec![Doc::text("expect "), self.expected_emit(e)]),
            TestStmtKind::ExpectExactly(es) => {
                let close = (s.span.end as usize).saturating_sub(1);
                let body = self.braced(es, |e| e.span.start as usize, Self::expected_emit, close);
                Doc::concat(vec![Doc::text("expect exactly "), body])
            }
            TestStmtKind::ExpectNoEmit { dest, member: None } => Doc::text(format!("expect no emit {}", dest.text)),
            TestStmtKind::ExpectNoEmit { dest, member: Some(m) } => {
                Doc::text(format!("expect no emit {}[{}]", dest.text, m.text))
            }
            TestStmtKind::Assert(e) => Doc::concat(vec![Doc::text("assert "), self.expr(e)]),
            TestStmtKind::Let(l) => self.let_stmt(l),
        }
    }

    // ------------------------------------------------------------ expressions

    /// `open`, elements separated by commas, `close`: flat when it fits,
    /// else one element per line with a trailing comma.
    #[allow(clippy::too_many_arguments)]
    fn seq<E>(
        &mut self,
        open: &str,
        close: &str,
        elems: &[E],
        start: impl Fn(&E) -> usize,
        mut f: impl FnMut(&mut Self, &E) -> Doc,
        style: SeqStyle,
        close_pos: usize,
    ) -> Doc {
        if elems.is_empty() && (self.no_breaks > 0 || !self.has_comments_before(close_pos)) {
            return Doc::text(format!("{open}{close}"));
        }
        let mut inner = Vec::new();
        for (i, e) in elems.iter().enumerate() {
            let sep = if i == 0 {
                style.line.clone()
            } else {
                inner.push(Doc::text(","));
                Doc::Line
            };
            inner.push(self.point(start(e), sep, Anchor::Plain));
            inner.push(f(self, e));
        }
        if style.trailing_comma && !elems.is_empty() {
            inner.push(Doc::if_break(Doc::text(","), Doc::empty()));
        }
        inner.push(self.close(close_pos));
        let mut parts = vec![Doc::text(open), Doc::indent(Doc::concat(inner)), style.line, Doc::text(close)];
        if style.force && self.no_breaks == 0 {
            parts.push(Doc::BreakParent);
        }
        Doc::group(Doc::concat(parts))
    }

    fn expr(&mut self, e: &Expr) -> Doc {
        match &e.kind {
            ExprKind::Lit(k) => Doc::text(self.lit_kind(k, e.span)),
            ExprKind::Text(_) | ExprKind::BadCall { .. } => self.verbatim(e.span),
            ExprKind::Name(i) => Doc::text(i.text.clone()),
            ExprKind::Field { base, name, optional } => {
                let b = self.expr(base);
                Doc::concat(vec![b, Doc::text(format!("{}{}", if *optional { "?." } else { "." }, name.text))])
            }
            ExprKind::Call { callee, args } => {
                if let [Arg::Expr(only)] = args.as_slice() {
                    if matches!(only.kind, ExprKind::Record { .. } | ExprKind::List(_)) {
                        // `f(Record {` ... `})`: a sole record or list hugs the parentheses.
                        let a = self.expr(only);
                        return Doc::concat(vec![Doc::text(format!("{}(", callee.text)), a, Doc::text(")")]);
                    }
                }
                let close = (e.span.end as usize).saturating_sub(1);
                let a = self.seq(
                    "(",
                    ")",
                    args,
                    |a| a.span().start as usize,
                    Self::arg,
                    SeqStyle { line: Doc::SoftLine, trailing_comma: true, force: false },
                    close,
                );
                Doc::concat(vec![Doc::text(callee.text.clone()), a])
            }
            ExprKind::Index { base, keys, as_of: Some(d) } => {
                let mut parts = vec![self.expr(base), Doc::text("[")];
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        parts.push(Doc::text(", "));
                    }
                    parts.push(self.expr(k));
                }
                parts.push(Doc::text(" as of "));
                parts.push(self.expr(d));
                parts.push(Doc::text("]"));
                Doc::concat(parts)
            }
            ExprKind::Index { base, keys, as_of: None } => {
                let b = self.expr(base);
                let close = (e.span.end as usize).saturating_sub(1);
                let k = self.seq(
                    "[",
                    "]",
                    keys,
                    |k| k.span.start as usize,
                    |p, k| p.expr(k),
                    SeqStyle { line: Doc::SoftLine, trailing_comma: true, force: false },
                    close,
                );
                Doc::concat(vec![b, k])
            }
            ExprKind::Unary { op, expr } => {
                let inner = self.expr(expr);
                let op = match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "not ",
                };
                Doc::concat(vec![Doc::text(op), inner])
            }
            ExprKind::Binary { op, lhs, rhs } => match op {
                BinOp::And | BinOp::Or => {
                    let mut operands = vec![rhs.as_ref()];
                    let mut first = lhs.as_ref();
                    while let ExprKind::Binary { op: o, lhs: l, rhs: r } = &first.kind {
                        if o != op {
                            break;
                        }
                        operands.push(r.as_ref());
                        first = l.as_ref();
                    }
                    operands.push(first);
                    operands.reverse();
                    self.chain(*op, &operands)
                }
                BinOp::Coalesce => {
                    let mut operands = vec![lhs.as_ref()];
                    let mut last = rhs.as_ref();
                    while let ExprKind::Binary { op: BinOp::Coalesce, lhs: l, rhs: r } = &last.kind {
                        operands.push(l.as_ref());
                        last = r.as_ref();
                    }
                    operands.push(last);
                    self.chain(*op, &operands)
                }
                _ => {
                    let l = self.expr(lhs);
                    let r = self.expr(rhs);
                    Doc::concat(vec![l, Doc::text(format!(" {} ", op.symbol())), r])
                }
            },
            ExprKind::If { cond, then, otherwise } => {
                let c = self.expr(cond);
                let p1 = self.point(then.span.start as usize, Doc::Line, Anchor::Operator);
                let t = self.expr(then);
                let p2 = self.point(otherwise.span.start as usize, Doc::Line, Anchor::Operator);
                let o = self.expr(otherwise);
                Doc::group(Doc::concat(vec![
                    Doc::text("if "),
                    c,
                    Doc::indent(Doc::concat(vec![p1, Doc::text("then "), t, p2, Doc::text("else "), o])),
                ]))
            }
            ExprKind::Match { scrutinee, arms } => {
                let s = self.expr(scrutinee);
                let close = (e.span.end as usize).saturating_sub(1);
                let body = self.seq(
                    "{",
                    "}",
                    arms,
                    |a| a.span.start as usize,
                    |p, a| {
                        let pats = p.patterns(&a.patterns);
                        let body = p.expr(&a.body);
                        Doc::concat(vec![Doc::text(format!("{pats} => ")), body])
                    },
                    SeqStyle { line: Doc::Line, trailing_comma: true, force: true },
                    close,
                );
                Doc::concat(vec![Doc::text("match "), s, Doc::text(" "), body])
            }
            ExprKind::Record { name, fields, rest } => {
                let close = (e.span.end as usize).saturating_sub(1);
                let mut elems: Vec<RecElem> = fields.iter().map(RecElem::Field).collect();
                if let Some(r) = rest {
                    elems.push(RecElem::Rest(*r));
                }
                let body = self.seq(
                    "{",
                    "}",
                    &elems,
                    |el| match el {
                        RecElem::Field(f) => f.name.span.start as usize,
                        RecElem::Rest(s) => s.start as usize,
                    },
                    |p, el| match el {
                        RecElem::Field(f) => p.field_init(f),
                        RecElem::Rest(_) => Doc::text(".."),
                    },
                    SeqStyle {
                        line: Doc::Line,
                        trailing_comma: rest.is_none(),
                        force: fields.len() > RECORD_INLINE_MAX_FIELDS,
                    },
                    close,
                );
                Doc::concat(vec![Doc::text(format!("{} ", name.text)), body])
            }
            ExprKind::List(items) => {
                let close = (e.span.end as usize).saturating_sub(1);
                self.seq(
                    "[",
                    "]",
                    items,
                    |i| i.span.start as usize,
                    |p, i| p.expr(i),
                    SeqStyle { line: Doc::SoftLine, trailing_comma: true, force: false },
                    close,
                )
            }
            ExprKind::Paren(inner) => {
                let i = self.expr(inner);
                Doc::concat(vec![Doc::text("("), i, Doc::text(")")])
            }
        }
    }

    /// `a and b and c`: flat, or broken before each operator.
    fn chain(&mut self, op: BinOp, operands: &[&Expr]) -> Doc {
        let mut parts = Vec::new();
        let mut rest = Vec::new();
        for (i, o) in operands.iter().enumerate() {
            if i == 0 {
                parts.push(self.expr(o));
            } else {
                rest.push(self.point(o.span.start as usize, Doc::Line, Anchor::Operator));
                rest.push(Doc::text(format!("{} ", op.symbol())));
                rest.push(self.expr(o));
            }
        }
        parts.push(Doc::indent(Doc::concat(rest)));
        Doc::group(Doc::concat(parts))
    }

    fn arg(&mut self, a: &Arg) -> Doc {
        match a {
            Arg::Expr(e) => self.expr(e),
            Arg::Lambda { param, body, .. } => {
                let b = self.expr(body);
                Doc::concat(vec![Doc::text(format!("{} => ", param.text)), b])
            }
        }
    }
}

struct SeqStyle {
    /// The break after the opening bracket: `SoftLine` for `[a]`, `Line` for `{ a }`.
    line: Doc,
    trailing_comma: bool,
    /// Always one element per line.
    force: bool,
}

/// The arguments of a metric's aggregate: the state, then the lambda.
enum MetricArg<'e> {
    State(&'e Ident),
    Lambda(&'e Ident, &'e Expr),
}

enum RecElem<'e> {
    Field(&'e FieldInit),
    Rest(Span),
}

/// `k`, or `(a, b)` for a composite key.
fn key_fields(keys: &[Ident]) -> String {
    match keys {
        [k] => k.text.clone(),
        ks => format!("({})", ks.iter().map(|k| k.text.as_str()).collect::<Vec<_>>().join(", ")),
    }
}

fn ty(t: &TypeRef) -> String {
    match t {
        TypeRef::Named(i) => i.text.clone(),
        TypeRef::List(inner, _) => format!("List<{}>", ty(inner)),
        TypeRef::Optional(inner, _) => format!("{}?", ty(inner)),
    }
}

/// The width a cell takes in its column (its last line, for the rare cell
/// with a multi-line string in it).
fn cell_width(s: &str) -> usize {
    width(s.rsplit('\n').next().unwrap_or(s))
}

fn widen(widths: &mut Vec<usize>, cells: &[String]) {
    for (i, c) in cells.iter().enumerate() {
        let w = cell_width(c);
        match widths.get_mut(i) {
            Some(x) => *x = (*x).max(w),
            None => widths.push(w),
        }
    }
}

fn pad(s: &str, w: usize) -> String {
    let n = w.saturating_sub(cell_width(s));
    format!("{s}{}", " ".repeat(n))
}

/// `| a | b || c |` with every cell padded to its column.
fn table_line(ins: &[String], outs: &[String], in_w: &[usize], out_w: &[usize]) -> String {
    let cells = |v: &[String], w: &[usize]| -> String {
        v.iter().enumerate().map(|(i, c)| pad(c, w.get(i).copied().unwrap_or(0))).collect::<Vec<_>>().join(" | ")
    };
    format!("| {} || {} |", cells(ins, in_w), cells(outs, out_w))
}
