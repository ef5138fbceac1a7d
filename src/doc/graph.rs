//! The routing graph of `canon doc` as an inline SVG, laid out in three
//! layers: events → handlers (with the decision tables, tables and state each
//! uses) → destinations, beside them a node for the rejections the rules can give.
//! Positions are whole pixels computed from the package alone, so the same
//! package gives the same picture.

use std::fmt::Write as _;

use super::html::esc;
use super::model::Model;

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

const TOP: i64 = 40;
const GAP: i64 = 16;
const LINE: i64 = 16;
const PAD: i64 = 10;
const EVENT_X: i64 = 12;
const EVENT_W: i64 = 236;
const HANDLER_X: i64 = 348;
const HANDLER_W: i64 = 292;
const DEST_X: i64 = 740;
const DEST_W: i64 = 236;
const WIDTH: i64 = 988;
/// The distance between two arrows meeting a node on the same side.
const PORT: i64 = 12;
/// Average advance of a character, in tenths of a pixel, for the title
/// (13px, semibold) and detail (11.5px) fonts: enough to cut text to a box.
const TITLE_ADVANCE: i64 = 76;
const DETAIL_ADVANCE: i64 = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Event,
    Handler,
    Destination,
    Rejected,
}

struct Node {
    kind: Kind,
    /// The page anchor the node links to.
    href: String,
    title: String,
    details: Vec<String>,
    x: i64,
    y: i64,
    w: i64,
    /// Room for the arrows that meet the node, each at its own height.
    min_h: i64,
}

impl Node {
    fn h(&self) -> i64 {
        (PAD * 2 + LINE + 2 + LINE * self.details.len() as i64).max(self.min_h)
    }
    fn mid(&self) -> i64 {
        self.y + self.h() / 2
    }
}

struct Edge {
    from: usize,
    to: usize,
    /// An emit under a condition.
    dashed: bool,
    rejection: bool,
}

/// The SVG element.
pub fn svg(m: &Model) -> String {
    let mut nodes: Vec<Node> = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    let detail_chars = ((HANDLER_W - 2 * PAD) * 10 / DETAIL_ADVANCE) as usize;

    let events: Vec<usize> = m
        .events
        .iter()
        .map(|d| {
            let e = &d.item;
            let details = e.wire_type.iter().map(|t| t.value.clone()).collect();
            push(
                &mut nodes,
                Kind::Event,
                format!("#event-{}", e.name.text),
                e.name.text.clone(),
                details,
                EVENT_X,
                EVENT_W,
            )
        })
        .collect();

    // Handlers in the order of their events, so arrows from events do not cross.
    let mut order: Vec<(usize, usize)> = m
        .handlers
        .iter()
        .enumerate()
        .map(|(i, h)| (m.events.iter().position(|e| e.item.name.text == h.handler.event.text).unwrap_or(usize::MAX), i))
        .collect();
    order.sort();
    let mut handler_node = vec![0usize; m.handlers.len()];
    for (ev, i) in order {
        let Some(h) = m.handlers.get(i) else { continue };
        let rules = h.rules.len();
        let emits = h.emits.len();
        let mut details = vec![format!(
            "{rules} rule{} · {emits} emit{}",
            if rules == 1 { "" } else { "s" },
            if emits == 1 { "" } else { "s" }
        )];
        for (label, names) in [("decisions", &h.decisions), ("tables", &h.tables), ("state", &h.states)] {
            if !names.is_empty() {
                details.extend(wrap(&format!("{label}: "), names, detail_chars));
            }
        }
        let n = push(
            &mut nodes,
            Kind::Handler,
            format!("#handler-{}", i + 1),
            format!("on {}", h.handler.event.text),
            details,
            HANDLER_X,
            HANDLER_W,
        );
        if let Some(slot) = handler_node.get_mut(i) {
            *slot = n;
        }
        if let Some(&from) = events.get(ev) {
            edges.push(Edge { from, to: n, dashed: false, rejection: false });
        }
    }

    // Destinations by the mean position of the handlers that emit to them
    // (ties and unused ones in source order), then the rejections.
    let rank = |dest: &str| -> Option<i64> {
        let pos: Vec<i64> = m
            .handlers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.emits.iter().any(|e| e.dest == dest))
            .filter_map(|(i, _)| handler_node.get(i).map(|&n| n as i64))
            .collect();
        (!pos.is_empty()).then(|| pos.iter().sum::<i64>() * 1000 / pos.len() as i64)
    };
    let mut dests: Vec<(i64, usize)> =
        m.destinations.iter().enumerate().map(|(i, d)| (rank(&d.item.name.text).unwrap_or(i64::MAX), i)).collect();
    dests.sort();
    let mut dest_node: Vec<(String, usize)> = Vec::new();
    for (_, i) in dests {
        let Some(d) = m.destinations.get(i) else { continue };
        let x = &d.item;
        let mut detail = type_text(&x.ty);
        if let Some(index) = &x.index {
            detail = format!("{detail} · one per {}", type_text(index));
        }
        let n = push(
            &mut nodes,
            Kind::Destination,
            format!("#destination-{}", x.name.text),
            x.name.text.clone(),
            vec![detail],
            DEST_X,
            DEST_W,
        );
        dest_node.push((x.name.text.clone(), n));
    }
    let codes: std::collections::BTreeSet<&str> =
        m.handlers.iter().flat_map(|h| h.rules.iter().map(|r| r.code.as_str())).collect();
    let rejected = (!codes.is_empty()).then(|| {
        let detail = format!("{} code{} · exception queue", codes.len(), if codes.len() == 1 { "" } else { "s" });
        push(&mut nodes, Kind::Rejected, "#codes".to_string(), "Rejected".to_string(), vec![detail], DEST_X, DEST_W)
    });

    for (i, h) in m.handlers.iter().enumerate() {
        let Some(&from) = handler_node.get(i) else { continue };
        for (dest, to) in &dest_node {
            let mut emits = h.emits.iter().filter(|e| &e.dest == dest).peekable();
            if emits.peek().is_some() {
                let dashed = emits.all(|e| !e.guards.is_empty());
                edges.push(Edge { from, to: *to, dashed, rejection: false });
            }
        }
        if let (Some(to), false) = (rejected, h.rules.is_empty()) {
            edges.push(Edge { from, to, dashed: true, rejection: true });
        }
    }

    for (k, n) in nodes.iter_mut().enumerate() {
        let into = edges.iter().filter(|e| e.to == k).count() as i64;
        let out = edges.iter().filter(|e| e.from == k).count() as i64;
        n.min_h = PORT * into.max(out) + 16;
    }
    let height = layout(&mut nodes, &edges);
    draw(&nodes, &edges, height)
}

fn push(nodes: &mut Vec<Node>, kind: Kind, href: String, title: String, details: Vec<String>, x: i64, w: i64) -> usize {
    nodes.push(Node { kind, href, title, details, x, y: 0, w, min_h: 0 });
    nodes.len() - 1
}

/// `label: a, b, c` cut into lines of at most `width` characters.
fn wrap(label: &str, names: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = label.to_string();
    let mut first = true;
    for (k, n) in names.iter().enumerate() {
        let piece = if k + 1 == names.len() { n.clone() } else { format!("{n},") };
        if !first && line.chars().count() + 1 + piece.chars().count() > width {
            lines.push(line);
            line = format!("  {piece}");
        } else {
            if !first {
                line.push(' ');
            }
            line.push_str(&piece);
        }
        first = false;
    }
    lines.push(line);
    lines
}

fn type_text(t: &canon_compiler::syntax::ast::TypeRef) -> String {
    use canon_compiler::syntax::ast::TypeRef;
    match t {
        TypeRef::Named(n) => n.text.clone(),
        TypeRef::List(inner, _) => format!("List<{}>", type_text(inner)),
        TypeRef::Optional(inner, _) => format!("{}?", type_text(inner)),
    }
}

/// Places the handlers top to bottom, then each event and destination level
/// with the handlers its arrows meet (the mean of their middles), pushed down
/// as far as the node above it needs; returns the picture's height.
fn layout(nodes: &mut [Node], edges: &[Edge]) -> i64 {
    let mut y = TOP;
    for n in nodes.iter_mut().filter(|n| n.kind == Kind::Handler) {
        n.y = y;
        y += n.h() + GAP;
    }
    // Where each other node would be level with the handlers it meets.
    let targets: Vec<Option<i64>> = (0..nodes.len())
        .map(|k| {
            let mids: Vec<i64> = edges
                .iter()
                .filter_map(|e| {
                    if e.from == k {
                        nodes.get(e.to).map(Node::mid)
                    } else if e.to == k {
                        nodes.get(e.from).map(Node::mid)
                    } else {
                        None
                    }
                })
                .collect();
            let h = nodes.get(k).map(Node::h).unwrap_or(0);
            (!mids.is_empty()).then(|| mids.iter().sum::<i64>() / mids.len() as i64 - h / 2)
        })
        .collect();
    // Events keep source order; destinations and the rejections are ordered
    // by that height (ties in their order), so arrows cross less.
    for side in [Kind::Event, Kind::Destination] {
        let mut order: Vec<(i64, usize)> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| match side {
                Kind::Event => n.kind == Kind::Event,
                _ => matches!(n.kind, Kind::Destination | Kind::Rejected),
            })
            .map(|(k, _)| {
                (if side == Kind::Event { 0 } else { targets.get(k).copied().flatten().unwrap_or(i64::MAX) }, k)
            })
            .collect();
        order.sort();
        let mut next = TOP;
        for (_, k) in order {
            let target = targets.get(k).copied().flatten();
            let Some(n) = nodes.get_mut(k) else { continue };
            n.y = target.unwrap_or(next).max(next);
            next = n.y + n.h() + GAP;
        }
    }
    nodes.iter().map(|n| n.y + n.h()).max().unwrap_or(TOP) + 12
}

/// Cuts `text` to what fits in `width` pixels at `advance` tenths of a pixel a character.
fn fit(text: &str, width: i64, advance: i64) -> String {
    let max = (width * 10 / advance).max(1) as usize;
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn draw(nodes: &[Node], edges: &[Edge], height: i64) -> String {
    let mut s = String::new();
    w!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"routing\" role=\"img\" aria-labelledby=\"routing-title\" \
         width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" \
         font-family=\"Segoe UI, Roboto, Helvetica Neue, Arial, Liberation Sans, sans-serif\">\n"
    );
    w!(s, "<title id=\"routing-title\">Routing: events, handlers, destinations</title>\n");
    w!(
        s,
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
         orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#52606d\"/></marker>\
         <marker id=\"arrow-red\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
         orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#c53030\"/></marker></defs>\n"
    );
    for (x, label) in [(EVENT_X, "EVENTS"), (HANDLER_X, "HANDLERS"), (DEST_X, "DESTINATIONS")] {
        w!(
            s,
            "<text x=\"{x}\" y=\"20\" font-size=\"11\" font-weight=\"600\" letter-spacing=\"1.5\" fill=\"#616e7c\">{label}</text>\n"
        );
    }
    // Each edge leaves and enters its node at its own height, ordered by the
    // other end's height, so arrows sharing a node do not overlap.
    let ports = |node: usize, outgoing: bool| -> Vec<usize> {
        let mut ids: Vec<usize> = (0..edges.len())
            .filter(|&k| edges.get(k).is_some_and(|e| if outgoing { e.from } else { e.to } == node))
            .collect();
        ids.sort_by_key(|&k| {
            let other = edges.get(k).map(|e| if outgoing { e.to } else { e.from }).unwrap_or(0);
            (nodes.get(other).map(Node::mid).unwrap_or(0), k)
        });
        ids
    };
    let port_y = |node: usize, edge: usize, outgoing: bool| -> i64 {
        let ids = ports(node, outgoing);
        let Some(n) = nodes.get(node) else { return 0 };
        let k = ids.iter().position(|&e| e == edge).unwrap_or(0) as i64;
        let count = ids.len() as i64;
        let span = (n.h() - 16).min(PORT * (count - 1));
        if count <= 1 {
            n.mid()
        } else {
            n.mid() - span / 2 + span * k / (count - 1)
        }
    };
    w!(s, "<g class=\"edges\" fill=\"none\">\n");
    for (k, e) in edges.iter().enumerate() {
        let (Some(a), Some(b)) = (nodes.get(e.from), nodes.get(e.to)) else { continue };
        let (x1, y1) = (a.x + a.w, port_y(e.from, k, true));
        let (x2, y2) = (b.x - 2, port_y(e.to, k, false));
        let bend = (x2 - x1) / 2;
        let (stroke, marker, opacity) =
            if e.rejection { ("#c53030", "arrow-red", " stroke-opacity=\"0.6\"") } else { ("#52606d", "arrow", "") };
        let dash = if e.dashed { " stroke-dasharray=\"5 4\"" } else { "" };
        w!(
            s,
            "<path class=\"edge\" d=\"M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}\" stroke=\"{stroke}\" stroke-width=\"1.4\"{opacity}{dash} marker-end=\"url(#{marker})\"/>\n",
            x1 + bend,
            x2 - bend
        );
    }
    w!(s, "</g>\n<g class=\"nodes\">\n");
    for n in nodes {
        let (fill, stroke, class) = match n.kind {
            Kind::Event => ("#e8eef5", "#1f4e79", "event"),
            Kind::Handler => ("#ffffff", "#102a43", "handler"),
            Kind::Destination => ("#fdf3e1", "#b7791f", "destination"),
            Kind::Rejected => ("#fdecec", "#c53030", "rejected"),
        };
        w!(s, "<a href=\"{}\"><g class=\"node {class}\">", esc(&n.href));
        w!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.3\"/>",
            n.x,
            n.y,
            n.w,
            n.h()
        );
        let inner = n.w - 2 * PAD;
        w!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"600\" fill=\"#102a43\">{}</text>",
            n.x + PAD,
            n.y + PAD + 13,
            esc(&fit(&n.title, inner, TITLE_ADVANCE))
        );
        for (k, d) in n.details.iter().enumerate() {
            w!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"11.5\" fill=\"#3e4c59\">{}</text>",
                n.x + PAD,
                n.y + PAD + 13 + 2 + LINE * (k as i64 + 1),
                esc(&fit(d, inner, DETAIL_ADVANCE))
            );
        }
        w!(s, "</g></a>\n");
    }
    w!(s, "</g>\n</svg>\n");
    s
}
