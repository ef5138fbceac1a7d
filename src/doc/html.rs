//! The page of `canon doc`: one self-contained `index.html` (inline CSS, no
//! script, nothing fetched), every piece of package text escaped by [`esc`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use canon_compiler::syntax::ast::{self, TypeRef};

use super::graph;
use super::model::{Decl, HandlerDoc, Loc, MessagePart, Model};

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

/// Text made safe for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bg:#f4f6f9;--navy:#102a43;--accent:#1f4e79;--soft:#e8eef5;--out:#fdf3e1;--warn:#9b1c1c;--warnsoft:#fdecec;--amber:#8a5300}
*{box-sizing:border-box}
body{margin:0;font:14px/1.55 "Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",sans-serif;color:var(--ink);background:var(--bg)}
code,pre,.mono{font-family:"SFMono-Regular",Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace;font-size:12.5px}
a{color:var(--accent)}
header.top{background:var(--navy);color:#fff;padding:28px 48px 24px}
header.top .kicker{font-size:11px;letter-spacing:.14em;text-transform:uppercase;color:#9fb3c8}
header.top h1{margin:4px 0 14px;font-size:28px;font-weight:600}
dl.meta{display:flex;flex-wrap:wrap;gap:10px 40px;margin:0}
dl.meta div{min-width:120px}
dl.meta dt{font-size:11px;letter-spacing:.08em;text-transform:uppercase;color:#9fb3c8}
dl.meta dd{margin:0;font-size:15px}
nav.toc{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid var(--line);padding:9px 48px;display:flex;flex-wrap:wrap;gap:4px 20px}
nav.toc a{text-decoration:none;font-weight:600;font-size:13px}
main{max-width:1240px;margin:0 auto;padding:8px 48px 72px}
section{margin-top:34px}
h2{font-size:20px;font-weight:600;margin:0 0 12px;padding-bottom:6px;border-bottom:2px solid var(--accent)}
h3{margin:0;font-size:16px;font-weight:600}
h3 code{font-size:15px}
table.fields th:nth-child(1),table.fields th:nth-child(2){width:19%}
table.fields th:nth-child(3){width:15%}
table.fields th:nth-child(4){width:9%}
table.variants th:nth-child(1),table.variants th:nth-child(2){width:25%}
h4{margin:14px 0 4px;font-size:12px;letter-spacing:.06em;text-transform:uppercase;color:var(--muted)}
.lead{color:var(--muted);margin:0 0 12px}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:14px 20px 16px;margin:12px 0}
.card .head{display:flex;justify-content:space-between;align-items:baseline;gap:16px}
.loc{color:var(--muted);font-size:12px;white-space:nowrap}
.sig{color:var(--muted);margin:2px 0 6px}
.docs p{margin:6px 0}
td .docs p,td p{margin:0}
td p+p{margin-top:4px}
.docs code,td code{background:var(--soft);padding:0 3px;border-radius:3px}
.none{color:var(--muted);font-style:italic}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:10px;margin:16px 0}
.stat{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 14px}
.stat b{display:block;font-size:24px;font-weight:600;color:var(--navy)}
.stat span{font-size:12px;color:var(--muted)}
.graph{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px;overflow-x:auto}
.graph svg{display:block;max-width:100%;height:auto;margin:0 auto}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px;background:#fff}
th,td{border:1px solid var(--line);padding:5px 9px;text-align:left;vertical-align:top}
thead th{background:var(--soft);font-weight:600}
tbody tr:nth-child(even) td{background:#fafbfc}
table.dt{width:auto;min-width:50%}
table.dt th.out{background:var(--out)}
table.dt td.out{background:#fffaf0}
table.dt th.sep,table.dt td.sep{border-left:3px double #9fb3c8}
table.dt td.n{color:var(--muted);text-align:right}
table.dt td.any{color:var(--muted);text-align:center}
table.dt tr.default td{border-top:2px solid #9fb3c8;font-style:italic}
.badge{display:inline-block;padding:0 8px;border-radius:9px;font-size:11px;font-weight:600;letter-spacing:.03em;text-transform:uppercase}
.badge.check{background:#fff2d6;color:var(--amber)}
.badge.require{background:var(--warnsoft);color:var(--warn)}
.badge.reject{background:var(--warn);color:#fff}
.badge.hit{background:var(--soft);color:var(--accent)}
.rc{font-weight:600;color:var(--warn)}
code.ph{color:var(--accent);background:var(--soft);padding:0 2px;border-radius:3px}
.opt{color:var(--muted)}
.guard{color:var(--muted);font-size:12px}
pre{background:#f8fafc;border:1px solid var(--line);border-radius:4px;padding:10px 12px;overflow-x:auto;margin:6px 0}
footer{color:var(--muted);font-size:12px;text-align:center;padding:20px}
@media print{nav.toc{display:none}body{background:#fff}.card{break-inside:avoid}}
"#;

/// The whole page.
pub fn page(m: &Model) -> String {
    let mut p = Page { m, out: String::with_capacity(64 * 1024), anchors: anchors(m) };
    p.render();
    p.out
}

/// The anchor of each declared type, to link a field's type to it.
fn anchors(m: &Model) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    for d in &m.events {
        a.insert(d.item.name.text.clone(), format!("event-{}", d.item.name.text));
    }
    for d in &m.records {
        a.insert(d.item.name.text.clone(), format!("record-{}", d.item.name.text));
    }
    for d in &m.enums {
        a.insert(d.item.name.text.clone(), format!("enum-{}", d.item.name.text));
    }
    a
}

struct Page<'a> {
    m: &'a Model,
    out: String,
    anchors: BTreeMap<String, String>,
}

impl Page<'_> {
    fn render(&mut self) {
        let m = self.m;
        let title = esc(m.name());
        w!(self.out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        w!(self.out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        w!(self.out, "<meta name=\"generator\" content=\"canon doc\">\n");
        w!(self.out, "<title>{title} — Canon rules</title>\n<style>{CSS}</style>\n</head>\n<body>\n");
        self.header();
        self.nav();
        w!(self.out, "<main>\n");
        self.overview();
        self.events();
        self.handlers();
        self.codes();
        self.decisions();
        self.destinations();
        self.records();
        self.enums();
        self.tables();
        self.states();
        self.metrics();
        self.calendars();
        self.functions();
        w!(
            self.out,
            "</main>\n<footer>Generated by <code>canon doc</code> from {} source file(s).</footer>\n",
            m.files.len()
        );
        w!(self.out, "</body>\n</html>\n");
    }

    fn header(&mut self) {
        let m = self.m;
        w!(self.out, "<header class=\"top\">\n<div class=\"kicker\">Canon rules package</div>\n");
        w!(self.out, "<h1 id=\"package\">{}</h1>\n<dl class=\"meta\">\n", esc(m.name()));
        let (version, owner, from) = match &m.manifest {
            Some(man) => (
                man.version.to_string(),
                man.owner.clone().unwrap_or_else(|| "—".to_string()),
                man.effective_from.map(|d| d.to_string()).unwrap_or_else(|| "—".to_string()),
            ),
            None => ("unversioned".to_string(), "—".to_string(), "—".to_string()),
        };
        for (k, v, class) in
            [("Version", version, "version"), ("Owner", owner, "owner"), ("Effective from", from, "effective-from")]
        {
            w!(self.out, "<div><dt>{k}</dt><dd class=\"{class}\">{}</dd></div>\n", esc(&v));
        }
        w!(self.out, "<div><dt>Source files</dt><dd>{}</dd></div>\n", esc(&m.files.join(", ")));
        w!(self.out, "</dl>\n</header>\n");
    }

    fn nav(&mut self) {
        let m = self.m;
        let mut links = vec![("overview", "Overview"), ("events", "Events"), ("handlers", "Handlers & rules")];
        let optional: [(bool, &str, &str); 10] = [
            (!m.handlers.iter().all(|h| h.rules.is_empty()), "codes", "Rejection codes"),
            (!m.decisions.is_empty(), "decisions", "Decisions"),
            (!m.destinations.is_empty(), "destinations", "Destinations"),
            (!m.records.is_empty(), "records", "Records"),
            (!m.enums.is_empty(), "enums", "Enums"),
            (!m.tables.is_empty(), "tables", "Tables"),
            (!m.states.is_empty(), "state", "State"),
            (!m.metrics.is_empty(), "metrics", "Metrics"),
            (!m.calendars.is_empty(), "calendars", "Calendars"),
            (!m.functions.is_empty(), "functions", "Functions"),
        ];
        links.extend(optional.iter().filter(|(on, _, _)| *on).map(|(_, id, label)| (*id, *label)));
        w!(self.out, "<nav class=\"toc\">");
        for (id, label) in links {
            w!(self.out, "<a href=\"#{id}\">{}</a>", esc(label));
        }
        w!(self.out, "</nav>\n");
    }

    fn overview(&mut self) {
        let m = self.m;
        let rules: usize = m.handlers.iter().map(|h| h.rules.len()).sum();
        let codes: BTreeSet<&str> = m.handlers.iter().flat_map(|h| h.rules.iter().map(|r| r.code.as_str())).collect();
        w!(self.out, "<section id=\"overview\">\n<h2>Overview</h2>\n<div class=\"stats\">\n");
        for (n, label) in [
            (m.events.len(), "events"),
            (m.handlers.len(), "handlers"),
            (rules, "rules"),
            (codes.len(), "rejection codes"),
            (m.decisions.len(), "decision tables"),
            (m.destinations.len(), "destinations"),
            (m.tests, "tests"),
        ] {
            w!(self.out, "<div class=\"stat\"><b>{n}</b><span>{label}</span></div>\n");
        }
        w!(self.out, "</div>\n<h3 id=\"routing\">Routing</h3>\n");
        w!(
            self.out,
            "<p class=\"lead\">Which handler each event goes to, the decision tables, tables and state it uses, \
             and where its records go. A dashed arrow is an emit under a condition; red arrows lead to the \
             rejections its rules can give.</p>\n"
        );
        if m.events.is_empty() && m.handlers.is_empty() && m.destinations.is_empty() {
            w!(self.out, "<p class=\"none\">No events, handlers or destinations: nothing to draw.</p>\n</section>\n");
        } else {
            w!(self.out, "<div class=\"graph\">\n{}</div>\n</section>\n", graph::svg(m));
        }
    }

    fn docs(&mut self, docs: Option<&str>) {
        if let Some(d) = docs {
            w!(self.out, "<div class=\"docs\">{}</div>\n", doc_html(d));
        }
    }

    fn card_head(&mut self, id: &str, title: &str, loc: &Loc) {
        w!(
            self.out,
            "<div class=\"card\" id=\"{}\">\n<div class=\"head\"><h3>{title}</h3><span class=\"loc\">{}</span></div>\n",
            esc(id),
            esc(&loc.to_string())
        );
    }

    fn ty(&self, t: &TypeRef) -> String {
        match t {
            TypeRef::Named(n) => match self.anchors.get(&n.text) {
                Some(a) => format!("<a href=\"#{}\"><code>{}</code></a>", esc(a), esc(&n.text)),
                None => format!("<code>{}</code>", esc(&n.text)),
            },
            TypeRef::List(inner, _) => format!("<code>List&lt;</code>{}<code>&gt;</code>", self.ty(inner)),
            TypeRef::Optional(inner, _) => self.ty(inner),
        }
    }

    fn fields(&mut self, fields: &[ast::FieldDecl]) {
        if fields.is_empty() {
            w!(self.out, "<p class=\"none\">No fields.</p>\n");
            return;
        }
        w!(
            self.out,
            "<table class=\"fields\"><thead><tr><th>Field</th><th>JSON name</th><th>Type</th><th>Required</th>\
             <th>Description</th></tr></thead><tbody>\n"
        );
        for f in fields {
            let wire = f.wire.as_ref().map(|s| s.value.as_str()).unwrap_or(&f.name.text);
            let required =
                if matches!(f.ty, TypeRef::Optional(..)) { "<span class=\"opt\">optional</span>" } else { "required" };
            let docs = f.docs.as_deref().map(doc_html).unwrap_or_default();
            w!(
                self.out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{required}</td><td>{docs}</td></tr>\n",
                esc(&f.name.text),
                esc(wire),
                self.ty(&f.ty)
            );
        }
        w!(self.out, "</tbody></table>\n");
    }

    fn events(&mut self) {
        let m = self.m;
        w!(self.out, "<section id=\"events\">\n<h2>Events</h2>\n");
        w!(self.out, "<p class=\"lead\">What arrives: each event's CloudEvents type and the fields of its <code>data</code>.</p>\n");
        if m.events.is_empty() {
            w!(self.out, "<p class=\"none\">The package declares no events.</p>\n");
        }
        for d in &m.events {
            let e = &d.item;
            self.card_head(
                &format!("event-{}", e.name.text),
                &format!("event <code>{}</code>", esc(&e.name.text)),
                &d.loc,
            );
            if let Some(t) = &e.wire_type {
                w!(self.out, "<div class=\"sig\">CloudEvents type <code>{}</code></div>\n", esc(&t.value));
            }
            self.docs(e.docs.as_deref());
            self.fields(&e.fields);
            let handlers: Vec<String> = m
                .handlers
                .iter()
                .enumerate()
                .filter(|(_, h)| h.handler.event.text == e.name.text)
                .map(|(i, h)| {
                    format!("<a href=\"#handler-{}\">on {}</a> ({})", i + 1, esc(&e.name.text), esc(&h.loc.to_string()))
                })
                .collect();
            if handlers.is_empty() {
                w!(self.out, "<p class=\"none\">No handler: this event is accepted and emits nothing.</p>\n");
            } else {
                w!(self.out, "<p>Handled by {}.</p>\n", handlers.join(", "));
            }
            w!(self.out, "</div>\n");
        }
        w!(self.out, "</section>\n");
    }

    fn handlers(&mut self) {
        let m = self.m;
        w!(self.out, "<section id=\"handlers\">\n<h2>Handlers &amp; rules</h2>\n");
        w!(
            self.out,
            "<p class=\"lead\">A <span class=\"badge check\">check</span> records a rejection and carries on; a \
             <span class=\"badge require\">require</span> records it and stops; a <span class=\"badge reject\">reject</span> \
             always rejects where it is reached. Any rejection drops every emit of the event.</p>\n"
        );
        if m.handlers.is_empty() {
            w!(self.out, "<p class=\"none\">The package declares no handlers.</p>\n");
        }
        for (i, h) in m.handlers.iter().enumerate() {
            self.handler(i, h);
        }
        w!(self.out, "</section>\n");
    }

    fn handler(&mut self, i: usize, h: &HandlerDoc) {
        let ev = &h.handler.event.text;
        let title = format!(
            "on <a href=\"#event-{}\"><code>{}</code></a> as <code>{}</code>",
            esc(ev),
            esc(ev),
            esc(&h.handler.binding.text)
        );
        self.card_head(&format!("handler-{}", i + 1), &title, &h.loc);
        self.docs(h.handler.docs.as_deref());
        let uses: Vec<(&str, &str, &[String])> = vec![
            ("Decision tables", "decision-", &h.decisions),
            ("Tables", "table-", &h.tables),
            ("State", "state-", &h.states),
            ("Functions", "fn-", &h.functions),
        ];
        let used: Vec<String> = uses
            .iter()
            .filter(|(_, _, names)| !names.is_empty())
            .map(|(label, prefix, names)| {
                let links: Vec<String> = names
                    .iter()
                    .map(|n| format!("<a href=\"#{prefix}{}\"><code>{}</code></a>", esc(n), esc(n)))
                    .collect();
                format!("{label}: {}", links.join(", "))
            })
            .collect();
        if !used.is_empty() {
            w!(self.out, "<p class=\"uses\">Uses — {}.</p>\n", used.join("; "));
        }
        w!(self.out, "<h4>Rules</h4>\n");
        if h.rules.is_empty() {
            w!(self.out, "<p class=\"none\">No rules: every event of this type is accepted.</p>\n");
        } else {
            w!(
                self.out,
                "<table class=\"rules\"><thead><tr><th>#</th><th>Kind</th><th>Rejection code</th><th>Message</th>\
                 <th>Must hold</th><th>Where</th></tr></thead><tbody>\n"
            );
            for (n, r) in h.rules.iter().enumerate() {
                let cond = r.condition.as_deref().map(|c| format!("<code>{}</code>", esc(c))).unwrap_or_default();
                let guards = guards_html(&r.guards);
                let msg = r.message.as_deref().map(message_html).unwrap_or_default();
                w!(
                    self.out,
                    "<tr><td>{}</td><td><span class=\"badge {}\">{}</span></td><td><span class=\"rc\" id=\"rule-{}-{}\">{}</span></td>\
                     <td>{msg}</td><td>{cond}{guards}</td><td class=\"loc\">{}</td></tr>\n",
                    n + 1,
                    r.kind,
                    r.kind,
                    i + 1,
                    n + 1,
                    esc(&r.code),
                    esc(&r.loc.to_string())
                );
            }
            w!(self.out, "</tbody></table>\n");
        }
        w!(self.out, "<h4>Emits</h4>\n");
        if h.emits.is_empty() {
            w!(self.out, "<p class=\"none\">Emits nothing.</p>\n");
        } else {
            w!(
                self.out,
                "<table class=\"emits\"><thead><tr><th>Destination</th><th>Record</th><th>When</th><th>Where</th></tr></thead><tbody>\n"
            );
            for e in &h.emits {
                let dest = match &e.member {
                    Some(mem) => format!("{}[{}]", e.dest, mem),
                    None => e.dest.clone(),
                };
                // A record literal names its type; any other value has the destination's.
                let record = match &e.record {
                    Some(r) => self.ty(&TypeRef::Named(ast::Ident { text: r.clone(), span: ast::Span::default() })),
                    None => self
                        .m
                        .destinations
                        .iter()
                        .find(|d| d.item.name.text == e.dest)
                        .map(|d| self.ty(&d.item.ty))
                        .unwrap_or_default(),
                };
                let when = if e.guards.is_empty() { "always".to_string() } else { guards_html(&e.guards) };
                w!(
                    self.out,
                    "<tr><td><a href=\"#destination-{}\"><code>{}</code></a></td><td>{record}</td><td>{when}</td><td class=\"loc\">{}</td></tr>\n",
                    esc(&e.dest),
                    esc(&dest),
                    esc(&e.loc.to_string())
                );
            }
            w!(self.out, "</tbody></table>\n");
        }
        w!(self.out, "</div>\n");
    }

    fn codes(&mut self) {
        let m = self.m;
        let mut by_code: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
        for (i, h) in m.handlers.iter().enumerate() {
            for (n, r) in h.rules.iter().enumerate() {
                by_code.entry(r.code.as_str()).or_default().push((i, n));
            }
        }
        if by_code.is_empty() {
            return;
        }
        w!(self.out, "<section id=\"codes\">\n<h2>Rejection codes</h2>\n");
        w!(self.out, "<p class=\"lead\">Every code an event can be rejected with, and the rules that give it.</p>\n");
        w!(
            self.out,
            "<table class=\"codes\"><thead><tr><th>Code</th><th>Event</th><th>Kind</th><th>Message</th><th>Where</th></tr></thead><tbody>\n"
        );
        for (code, uses) in &by_code {
            for (k, (i, n)) in uses.iter().enumerate() {
                let Some(h) = m.handlers.get(*i) else { continue };
                let Some(r) = h.rules.get(*n) else { continue };
                let first = if k == 0 {
                    format!("<td rowspan=\"{}\"><span class=\"rc\">{}</span></td>", uses.len(), esc(code))
                } else {
                    String::new()
                };
                w!(
                    self.out,
                    "<tr>{first}<td><a href=\"#rule-{}-{}\"><code>{}</code></a></td><td><span class=\"badge {}\">{}</span></td><td>{}</td><td class=\"loc\">{}</td></tr>\n",
                    i + 1,
                    n + 1,
                    esc(&h.handler.event.text),
                    r.kind,
                    r.kind,
                    r.message.as_deref().map(message_html).unwrap_or_default(),
                    esc(&r.loc.to_string())
                );
            }
        }
        w!(self.out, "</tbody></table>\n</section>\n");
    }

    fn decisions(&mut self) {
        let m = self.m;
        if m.decisions.is_empty() {
            return;
        }
        w!(self.out, "<section id=\"decisions\">\n<h2>Decisions</h2>\n");
        w!(
            self.out,
            "<p class=\"lead\">Each decision table as written: input columns, then (after the double rule) output \
             columns; <span class=\"mono\">–</span> matches any value.</p>\n"
        );
        for d in &m.decisions {
            self.decision(d);
        }
        w!(self.out, "</section>\n");
    }

    fn decision(&mut self, d: &Decl<ast::DecisionDecl>) {
        let x = &d.item;
        let params: Vec<String> =
            x.params.iter().map(|p| format!("{}: {}", esc(&p.name.text), self.ty(&p.ty))).collect();
        let title = format!("decision <code>{}</code>", esc(&x.name.text));
        self.card_head(&format!("decision-{}", x.name.text), &title, &d.loc);
        w!(
            self.out,
            "<div class=\"sig\"><code>{}</code>({}) → {} &nbsp; <span class=\"badge hit\">hit {}</span> {}</div>\n",
            esc(&x.name.text),
            params.join(", "),
            self.ty(&x.ret),
            esc(&x.hit.text),
            esc(hit_meaning(&x.hit.text))
        );
        self.docs(x.docs.as_deref());
        w!(self.out, "<table class=\"dt\"><thead><tr><th>#</th>");
        for input in &x.inputs {
            let ty = x.params.iter().find(|p| p.name.text == input.text).map(|p| self.ty(&p.ty)).unwrap_or_default();
            w!(self.out, "<th class=\"in\">{}<br><span class=\"opt\">{ty}</span></th>", esc(&input.text));
        }
        for (k, out) in x.outputs.iter().enumerate() {
            let sep = if k == 0 { " sep" } else { "" };
            w!(self.out, "<th class=\"out{sep}\">{}</th>", esc(&out.text));
        }
        w!(self.out, "</tr></thead><tbody>\n");
        for (n, row) in x.rows.iter().enumerate() {
            w!(self.out, "<tr><td class=\"n\">{}</td>", n + 1);
            for cell in &row.inputs {
                let text = slice(&d.source, d.item.span, cell.span);
                if matches!(cell.kind, ast::CellKind::Any) {
                    w!(self.out, "<td class=\"any\">–</td>");
                } else {
                    w!(self.out, "<td><code>{}</code></td>", esc(&text));
                }
            }
            for (k, out) in row.outputs.iter().enumerate() {
                let sep = if k == 0 { " sep" } else { "" };
                w!(
                    self.out,
                    "<td class=\"out{sep}\"><code>{}</code></td>",
                    esc(&slice(&d.source, d.item.span, out.span))
                );
            }
            w!(self.out, "</tr>\n");
        }
        if let Some(def) = &x.default {
            w!(
                self.out,
                "<tr class=\"default\"><td class=\"n\"></td><td colspan=\"{}\">default (no row matches)</td><td class=\"out sep\" colspan=\"{}\"><code>{}</code></td></tr>\n",
                x.inputs.len().max(1),
                x.outputs.len().max(1),
                esc(&slice(&d.source, d.item.span, def.span))
            );
        }
        w!(self.out, "</tbody></table>\n");
        self.used_by(|h| h.decisions.contains(&x.name.text));
        w!(self.out, "</div>\n");
    }

    /// "Used by" the handlers that satisfy `uses`.
    fn used_by(&mut self, uses: impl Fn(&HandlerDoc) -> bool) {
        let links: Vec<String> = self
            .m
            .handlers
            .iter()
            .enumerate()
            .filter(|(_, h)| uses(h))
            .map(|(i, h)| format!("<a href=\"#handler-{}\">on {}</a>", i + 1, esc(&h.handler.event.text)))
            .collect();
        if links.is_empty() {
            w!(self.out, "<p class=\"none\">Used by no handler.</p>\n");
        } else {
            w!(self.out, "<p>Used by {}.</p>\n", links.join(", "));
        }
    }

    fn destinations(&mut self) {
        let m = self.m;
        if m.destinations.is_empty() {
            return;
        }
        w!(self.out, "<section id=\"destinations\">\n<h2>Destinations</h2>\n");
        w!(self.out, "<p class=\"lead\">Where accepted events' records go, and which handlers send them.</p>\n");
        for d in &m.destinations {
            let x = &d.item;
            let title = format!("destination <code>{}</code>", esc(&x.name.text));
            self.card_head(&format!("destination-{}", x.name.text), &title, &d.loc);
            w!(self.out, "<div class=\"sig\">Record {}", self.ty(&x.ty));
            if let Some(index) = &x.index {
                w!(self.out, " · a family: one member per variant of {}", self.ty(index));
                if let TypeRef::Named(n) = index {
                    if let Some(e) = m.enums.iter().find(|e| e.item.name.text == n.text) {
                        let members: Vec<String> = e
                            .item
                            .variants
                            .iter()
                            .map(|v| format!("<code>{}.{}</code>", esc(&x.name.text), esc(&v.name.text)))
                            .collect();
                        w!(self.out, " ({})", members.join(", "));
                    }
                }
            }
            w!(self.out, "</div>\n");
            self.docs(x.docs.as_deref());
            let mut rows = Vec::new();
            for (i, h) in m.handlers.iter().enumerate() {
                for e in h.emits.iter().filter(|e| e.dest == x.name.text) {
                    let when = if e.guards.is_empty() { "always".to_string() } else { guards_html(&e.guards) };
                    let member = e.member.as_deref().map(|s| format!("[<code>{}</code>]", esc(s))).unwrap_or_default();
                    rows.push(format!(
                        "<tr><td><a href=\"#handler-{}\">on {}</a>{member}</td><td>{when}</td><td class=\"loc\">{}</td></tr>\n",
                        i + 1,
                        esc(&h.handler.event.text),
                        esc(&e.loc.to_string())
                    ));
                }
            }
            if rows.is_empty() {
                w!(self.out, "<p class=\"none\">No handler emits to it.</p>\n");
            } else {
                w!(self.out, "<table class=\"emits\"><thead><tr><th>Emitted by</th><th>When</th><th>Where</th></tr></thead><tbody>\n");
                for r in rows {
                    self.out.push_str(&r);
                }
                w!(self.out, "</tbody></table>\n");
            }
            w!(self.out, "</div>\n");
        }
        w!(self.out, "</section>\n");
    }

    fn records(&mut self) {
        let m = self.m;
        if m.records.is_empty() {
            return;
        }
        w!(self.out, "<section id=\"records\">\n<h2>Records</h2>\n");
        for d in &m.records {
            let x = &d.item;
            self.card_head(
                &format!("record-{}", x.name.text),
                &format!("record <code>{}</code>", esc(&x.name.text)),
                &d.loc,
            );
            self.docs(x.docs.as_deref());
            self.fields(&x.fields);
            w!(self.out, "</div>\n");
        }
        w!(self.out, "</section>\n");
    }

    fn enums(&mut self) {
        let m = self.m;
        if m.enums.is_empty() {
            return;
        }
        w!(self.out, "<section id=\"enums\">\n<h2>Enums</h2>\n");
        for d in &m.enums {
            let x = &d.item;
            self.card_head(
                &format!("enum-{}", x.name.text),
                &format!("enum <code>{}</code>", esc(&x.name.text)),
                &d.loc,
            );
            self.docs(x.docs.as_deref());
            w!(self.out, "<table class=\"variants\"><thead><tr><th>Variant</th><th>JSON / CSV value</th><th>Description</th></tr></thead><tbody>\n");
            for v in &x.variants {
                let wire = v.wire.as_ref().map(|s| s.value.as_str()).unwrap_or(&v.name.text);
                let docs = v.docs.as_deref().map(doc_html).unwrap_or_default();
                w!(
                    self.out,
                    "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{docs}</td></tr>\n",
                    esc(&v.name.text),
                    esc(wire)
                );
            }
            w!(self.out, "</tbody></table>\n</div>\n");
        }
        w!(self.out, "</section>\n");
    }

    fn tables(&mut self) {
        let m = self.m;
        if m.tables.is_empty() {
            return;
        }
        w!(self.out, "<section id=\"tables\">\n<h2>Tables</h2>\n");
        w!(self.out, "<p class=\"lead\">Reference data the rules look up.</p>\n");
        for d in &m.tables {
            let x = &d.item;
            self.card_head(
                &format!("table-{}", x.name.text),
                &format!("table <code>{}</code>", esc(&x.name.text)),
                &d.loc,
            );
            let keys: Vec<String> = x.keys.iter().map(|k| format!("<code>{}</code>", esc(&k.text))).collect();
            w!(
                self.out,
                "<div class=\"sig\">Rows of {} keyed by {}, read from <code>data/{}.csv</code> or <code>.jsonl</code>",
                self.ty(&x.ty),
                keys.join(", "),
                esc(&x.name.text)
            );
            if let Some(eff) = &x.effective {
                w!(self.out, " · effective-dated from <code>{}</code>", esc(&eff.from.text));
                if let Some(to) = &eff.to {
                    w!(self.out, " to <code>{}</code>", esc(&to.text));
                }
            }
            w!(self.out, "</div>\n");
            self.docs(x.docs.as_deref());
            self.used_by(|h| h.tables.contains(&x.name.text));
            w!(self.out, "</div>\n");
        }
        w!(self.out, "</section>\n");
    }

    fn states(&mut self) {
        let m = self.m;
        if m.states.is_empty() {
            return;
        }
        w!(self.out, "<section id=\"state\">\n<h2>State</h2>\n");
        w!(self.out, "<p class=\"lead\">Records kept from one event to the next.</p>\n");
        for d in &m.states {
            let x = &d.item;
            self.card_head(
                &format!("state-{}", x.name.text),
                &format!("state <code>{}</code>", esc(&x.name.text)),
                &d.loc,
            );
            let keys: Vec<String> = x.keys.iter().map(|k| format!("<code>{}</code>", esc(&k.text))).collect();
            w!(self.out, "<div class=\"sig\">Records of {} keyed by {}</div>\n", self.ty(&x.ty), keys.join(", "));
            self.docs(x.docs.as_deref());
            self.used_by(|h| h.states.contains(&x.name.text));
            w!(self.out, "</div>\n");
        }
        w!(self.out, "</section>\n");
    }

    /// Declarations shown with their source text: metrics, calendars, functions.
    fn source_cards<T>(
        &mut self,
        id: &str,
        heading: &str,
        kind: &str,
        decls: &[Decl<T>],
        name_docs: impl Fn(&T) -> (&str, Option<&str>),
    ) {
        if decls.is_empty() {
            return;
        }
        w!(self.out, "<section id=\"{id}\">\n<h2>{heading}</h2>\n");
        for d in decls {
            let (name, docs) = name_docs(&d.item);
            let anchor = if kind == "fn" { format!("fn-{name}") } else { format!("{id}-{name}") };
            self.card_head(&anchor, &format!("{kind} <code>{}</code>", esc(name)), &d.loc);
            self.docs(docs);
            w!(self.out, "<pre>{}</pre>\n</div>\n", esc(&d.source));
        }
        w!(self.out, "</section>\n");
    }

    fn metrics(&mut self) {
        let m = self.m;
        self.source_cards("metrics", "Metrics", "metric", &m.metrics, |x| (&x.name.text, x.docs.as_deref()));
    }

    fn calendars(&mut self) {
        let m = self.m;
        self.source_cards("calendars", "Calendars", "calendar", &m.calendars, |x| (&x.name.text, x.docs.as_deref()));
    }

    fn functions(&mut self) {
        let m = self.m;
        self.source_cards("functions", "Functions", "fn", &m.functions, |x| (&x.name.text, x.docs.as_deref()));
    }
}

/// The text of `inner` inside a declaration whose source is `source` and whose span is `outer`.
fn slice(source: &str, outer: ast::Span, inner: ast::Span) -> String {
    let start = inner.start.saturating_sub(outer.start) as usize;
    let end = inner.end.saturating_sub(outer.start) as usize;
    source.get(start..end).unwrap_or("").to_string()
}

/// The conditions that guard a rule or an emit, one per line.
fn guards_html(guards: &[String]) -> String {
    guards
        .iter()
        .enumerate()
        .map(|(k, g)| {
            format!("<div class=\"guard\">{} <code>{}</code></div>", if k == 0 { "when" } else { "and" }, esc(g))
        })
        .collect()
}

/// A rejection message, its interpolated expressions set apart.
fn message_html(message: &[MessagePart]) -> String {
    let mut out = String::new();
    for part in message {
        match part {
            MessagePart::Text(t) => out.push_str(&esc(t)),
            MessagePart::Interpolated(x) => {
                w!(out, "<code class=\"ph\">{{{}}}</code>", esc(x));
            }
        }
    }
    out
}

/// What a hit policy means, in one sentence (LANGUAGE.md §5.2).
fn hit_meaning(hit: &str) -> &'static str {
    match hit {
        "first" => "the first matching row, top to bottom, gives the result",
        "unique" => "at most one row matches any input",
        "any" => "matching rows must agree; the first gives the result",
        "priority" => "the matching row whose first output comes first in its enum's order",
        "output order" => "every matching row, ordered by the first output",
        "collect" => "every matching row, in table order",
        "collect sum" => "the sum of the matching rows' outputs",
        "collect count" => "the number of matching rows",
        "collect min" => "the least of the matching rows' outputs",
        "collect max" => "the greatest of the matching rows' outputs",
        _ => "",
    }
}

/// A `///` comment as HTML: paragraphs at blank lines, `code` in backticks.
pub fn doc_html(docs: &str) -> String {
    let mut out = String::new();
    for para in docs.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        out.push_str("<p>");
        let parts: Vec<&str> = para.split('`').collect();
        let unclosed = parts.len().is_multiple_of(2);
        for (k, part) in parts.iter().enumerate() {
            // Odd parts are inside backticks; after an unclosed one, text.
            if unclosed && k + 1 == parts.len() {
                w!(out, "`{}", esc(part));
            } else if k % 2 == 1 {
                w!(out, "<code>{}</code>", esc(part));
            } else {
                out.push_str(&esc(part));
            }
        }
        out.push_str("</p>");
    }
    out
}
