//! Chunks: events evaluated together, encoded for the ledger into a few reused buffers.

use canon_compiler::ir::{DestId, Package};
use canon_runtime::engine::{write_outcome_head, write_rejections, Outcome, OutcomeHead};
use canon_runtime::input::{not_utf8_outcome, Line, ReadLine};
use canon_runtime::outcome::{Rejection, TraceEvent};
use canon_runtime::{encode, Status};
use sha2::{Digest, Sha256};

use crate::canonical::{self, Identity};
use crate::lineage::{StepCache, Steps, Values};
use crate::sink::delivery_json;
use crate::store::Durable;

use super::Rules;

/// A part of a chunk's buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Span {
    fn of(r: std::ops::Range<usize>) -> Span {
        Span { start: r.start, end: r.end }
    }
}

/// One emitted record: its delivered line (file sinks), and the delivery id
/// and record inside it (the outbox of HTTP sinks).
pub(crate) struct Emit {
    pub dest: usize,
    delivery: Span,
    delivery_id: Span,
    record: Span,
}

/// One event, evaluated and encoded, waiting for the ledger: its text
/// parts are spans of its chunk's buffers.
pub(crate) struct Prepared {
    pub line: u64,
    pub status: Status,
    /// The first 16 bytes of the payload's SHA-256.
    pub hash: [u8; 16],
    key: Span,
    id: Option<Span>,
    event_type: Option<Span>,
    correlation_id: Option<Span>,
    /// The outcome line (RUNTIME.md §2), without the newline.
    outcome: Span,
    /// The rejections as a JSON array (inside the outcome line).
    rejections: Span,
    /// The lineage, a trace BLOB (`crate::packed`), in the chunk's `traces`.
    trace: Span,
    /// Its records, in the chunk's `emits`.
    emits: Span,
    /// The event as received, in the chunk's `input`.
    text: Span,
}

/// Events evaluated together, with everything the ledger writes for them
/// in a few buffers: the lines as read, the encoded text (keys, outcome
/// lines, lineage, deliveries) and the records. A chunk is reused once the
/// ledger has committed it, so that in a steady run nothing is allocated
/// or freed per event.
#[derive(Default)]
pub(crate) struct Chunk {
    pub(super) input: Vec<u8>,
    buf: String,
    /// The events' traces (BLOBs).
    traces: Vec<u8>,
    emits: Vec<Emit>,
    items: Vec<Prepared>,
    /// A package with state: lines read and hashed, to be evaluated by the
    /// writer in input order (see [`Deferred`]).
    pub(super) deferred: Vec<Deferred>,
}

/// A line of a package with state, as an evaluation thread leaves it: read,
/// its payload hashed and its key found, but not evaluated, since it must be
/// evaluated against the state every event before it left, committed or not
/// (the writer does it, in input order).
pub(crate) struct Deferred {
    line: u64,
    /// The line in the chunk's `input` (a line that is not UTF-8: as kept, lossily).
    text: Span,
    /// Its identity should its envelope be valid (an invalid event's key is
    /// made of its hash alone).
    identity: Identity,
    not_utf8: bool,
}

impl Chunk {
    pub(super) fn clear(&mut self) {
        self.input.clear();
        self.buf.clear();
        self.traces.clear();
        self.emits.clear();
        self.items.clear();
        self.deferred.clear();
    }

    /// Its events (those yet to be evaluated included).
    pub fn len(&self) -> usize {
        self.items.len().max(self.deferred.len())
    }

    /// Its events, in input order.
    pub fn events(&self) -> impl Iterator<Item = Ev<'_>> {
        self.items.iter().map(move |p| Ev { chunk: self, p })
    }

    /// The event prepared last.
    pub fn last(&self) -> Option<Ev<'_>> {
        self.items.last().map(|p| Ev { chunk: self, p })
    }

    /// Lines read but not yet evaluated (a package with state).
    pub fn deferred_len(&self) -> usize {
        self.deferred.len()
    }

    /// Appends an event's line to `input`; its span.
    fn push_input(&mut self, text: &[u8]) -> Span {
        let start = self.input.len();
        self.input.extend_from_slice(text);
        Span { start, end: self.input.len() }
    }
}

/// One event of a chunk, with its text.
#[derive(Clone, Copy)]
pub(crate) struct Ev<'a> {
    chunk: &'a Chunk,
    p: &'a Prepared,
}

impl std::ops::Deref for Ev<'_> {
    type Target = Prepared;
    fn deref(&self) -> &Prepared {
        self.p
    }
}

impl<'a> Ev<'a> {
    fn get(&self, s: Span) -> &'a str {
        self.chunk.buf.get(s.start..s.end).unwrap_or_default()
    }
    /// The idempotency key.
    pub fn key(&self) -> &'a str {
        self.get(self.p.key)
    }
    pub fn id(&self) -> Option<&'a str> {
        self.p.id.map(|s| self.get(s))
    }
    pub fn event_type(&self) -> Option<&'a str> {
        self.p.event_type.map(|s| self.get(s))
    }
    pub fn correlation_id(&self) -> Option<&'a str> {
        self.p.correlation_id.map(|s| self.get(s))
    }
    pub fn outcome(&self) -> &'a str {
        self.get(self.p.outcome)
    }
    pub fn rejections(&self) -> &'a str {
        self.get(self.p.rejections)
    }
    pub fn trace(&self) -> &'a [u8] {
        self.chunk.traces.get(self.p.trace.start..self.p.trace.end).unwrap_or_default()
    }
    /// The event as received.
    pub fn text(&self) -> &'a str {
        let t = self.p.text;
        self.chunk.input.get(t.start..t.end).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default()
    }
    pub fn emits(&self) -> &'a [Emit] {
        self.chunk.emits.get(self.p.emits.start..self.p.emits.end).unwrap_or_default()
    }
    /// An emit's delivered line, without the newline.
    pub fn delivery(&self, e: &Emit) -> &'a str {
        self.get(e.delivery)
    }
    pub fn delivery_id(&self, e: &Emit) -> &'a str {
        self.get(e.delivery_id)
    }
    pub fn record(&self, e: &Emit) -> &'a str {
        self.get(e.record)
    }
}

/// How an evaluation thread writes lineage: the state's steps, and its
/// own cache of their ids.
pub(crate) struct Lineage<'a> {
    pub steps: &'a Steps,
    pub cache: StepCache,
}

/// Evaluates the line at `text` of the chunk's input with its lineage and
/// adds it, encoded for the ledger, to the chunk (a blank line is skipped).
pub(super) fn prepare(
    rules: &Rules,
    line: &ReadLine,
    chunk: &mut Chunk,
    scratch: &mut canonical::Scratch,
    lineage: &mut Lineage<'_>,
) {
    let text = Span::of(line.range.clone());
    let bytes = chunk.input.get(line.range.clone()).unwrap_or_default();
    let pkg = rules.evaluator.package();
    let event = match Line::of(bytes) {
        Line::Blank => return,
        Line::Event(event) => event,
        Line::NotUtf8 => {
            // Not UTF-8, so no JSON: keyed by its bytes, kept lossily.
            let identity = canonical::identity_of_bytes(bytes);
            let lossy = String::from_utf8_lossy(bytes.trim_ascii_end()).into_owned();
            let text = chunk.push_input(lossy.as_bytes());
            let p =
                prepared(pkg, chunk, not_utf8_outcome(line.number), Vec::new(), identity, (&[], None), text, lineage);
            chunk.items.push(p);
            return;
        }
    };
    let (outcome, records, trace) = rules.evaluator.evaluate_traced_encoded(line.number, event);
    let identity = canonical::identity(event, outcome.status != Status::Invalid, scratch);
    let p = prepared(pkg, chunk, outcome, records, identity, (&trace, None), text, lineage);
    chunk.items.push(p);
}

/// Reads a line of a package with state into the chunk, to be evaluated by
/// the writer ([`evaluate_deferred`]): its identity (the canonical payload
/// hash, the costly part) is computed here, by the evaluation threads.
pub(super) fn defer(line: &ReadLine, chunk: &mut Chunk, scratch: &mut canonical::Scratch) {
    let text = Span::of(line.range.clone());
    let bytes = chunk.input.get(line.range.clone()).unwrap_or_default();
    let d = match Line::of(bytes) {
        Line::Blank => return,
        Line::Event(event) => {
            Deferred { line: line.number, text, identity: canonical::identity(event, true, scratch), not_utf8: false }
        }
        Line::NotUtf8 => {
            let identity = canonical::identity_of_bytes(bytes);
            let lossy = String::from_utf8_lossy(bytes.trim_ascii_end()).into_owned();
            let text = chunk.push_input(lossy.as_bytes());
            Deferred { line: line.number, text, identity, not_utf8: true }
        }
    };
    chunk.deferred.push(d);
}

/// What the writer does with an evaluated event of a package with state,
/// before its writes are applied: `Ok(true)` when its key is new (apply
/// them), `Ok(false)` when the ledger knows it (a duplicate or a conflict:
/// apply nothing).
pub(super) type KeyIsNew<'a> = dyn FnMut(&str) -> crate::error::Result<bool> + 'a;

/// Evaluates the chunk's `n`th deferred line against the state, in input
/// order: its key is checked first (`is_new`), its writes are applied to the
/// state only when it is new and accepted, and it is then encoded as any
/// event is. Returns whether it was new.
pub(super) fn evaluate_deferred(
    rules: &Rules,
    durable: &mut Durable,
    chunk: &mut Chunk,
    n: usize,
    lineage: &mut Lineage<'_>,
    is_new: &mut KeyIsNew<'_>,
) -> crate::error::Result<bool> {
    let pkg = rules.evaluator.package();
    let Some(d) = chunk.deferred.get(n) else { return Ok(false) };
    let (line, text_span, not_utf8) = (d.line, d.text, d.not_utf8);
    let mut identity = Identity { key: d.identity.key.clone(), hash: d.identity.hash };
    // The records of its writes as values, packed from them (not written
    // as JSON text and split again).
    let (mut outcome, trace, records) = if not_utf8 {
        (not_utf8_outcome(line), Vec::new(), Vec::new())
    } else {
        let text = chunk
            .input
            .get(text_span.start..text_span.end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default();
        rules.evaluator.evaluate_lineage_in(line, text, &durable.store)
    };
    if outcome.status == Status::Invalid && !not_utf8 {
        identity.key = format!("invalid:{}", canonical::hex(&identity.hash));
    }
    let new = is_new(&identity.key)?;
    if new {
        durable.apply_traced(pkg, &mut outcome, &trace);
    } else {
        outcome.writes.clear();
    }
    let emitted = encode_emits(pkg, &mut outcome);
    let values = match (rules.evaluator.names(), records.is_empty()) {
        (Some(names), false) => Some(Values { pkg, names, records: &records }),
        _ => None,
    };
    let p = prepared(pkg, chunk, outcome, emitted, identity, (&trace, values), text_span, lineage);
    chunk.items.push(p);
    Ok(new)
}

/// The emitted records of an outcome encoded as JSON text and taken out of
/// it, in emit order.
fn encode_emits(pkg: &Package, o: &mut Outcome) -> Vec<(DestId, String)> {
    std::mem::take(&mut o.emits)
        .into_iter()
        .map(|(dest, value)| {
            let mut record = String::with_capacity(512);
            if let Some(def) = pkg.destinations.get(dest.0 as usize) {
                encode::value(&mut record, pkg, &canon_compiler::types::Ty::Record(def.record), &value);
            }
            (dest, record)
        })
        .collect()
}

/// Evaluates an event again (a retry), keeping the identity it was recorded
/// with: a chunk of one event. A package with state evaluates it against
/// the state as it is now, and applies its writes when it is accepted.
pub(crate) fn prepare_again(
    rules: &Rules,
    line_no: u64,
    text: &str,
    identity: Identity,
    lineage: &mut Lineage<'_>,
    durable: Option<&mut Durable>,
) -> Chunk {
    let mut chunk = Chunk::default();
    let span = chunk.push_input(text.as_bytes());
    let pkg = rules.evaluator.package();
    let (outcome, records, trace) = match durable {
        None => rules.evaluator.evaluate_traced_encoded(line_no, text),
        Some(durable) => {
            let (mut outcome, trace) = rules.evaluator.evaluate_traced_in(line_no, text, &durable.store);
            durable.apply_traced(pkg, &mut outcome, &trace);
            let records = encode_emits(pkg, &mut outcome);
            (outcome, records, trace)
        }
    };
    let p = prepared(pkg, &mut chunk, outcome, records, identity, (&trace, None), span, lineage);
    chunk.items.push(p);
    chunk
}

/// A stored lineage step, spelled out (`Templates::expand`), as the step of
/// lineage it records; `None` for anything else.
pub fn trace_event(step: &serde_json::Value) -> Option<TraceEvent> {
    let a = step.as_array()?;
    let text = |i: usize| a.get(i).and_then(serde_json::Value::as_str).map(str::to_string);
    Some(match a.first()?.as_str()? {
        "lookup" => TraceEvent::Lookup { table: text(1)?, key: text(2)?, found: a.get(3)?.as_bool()? },
        "decision" => TraceEvent::DecisionRow {
            decision: text(1)?,
            row: usize::try_from(a.get(2)?.as_u64()?).ok()?,
            at: text(3)?,
        },
        "rejected" => TraceEvent::Rejected { code: text(1)?, at: text(2)? },
        "emit" => TraceEvent::Emit { destination: text(1)?, at: text(2)? },
        "state_read" => TraceEvent::StateRead { state: text(1)?, key: text(2)?, found: a.get(3)?.as_bool()? },
        "write" => {
            let record = |i: usize| a.get(i).filter(|v| !v.is_null()).map(|v| v.to_string());
            TraceEvent::Write { state: text(1)?, key: text(2)?, before: record(3), after: record(4), at: text(5)? }
        }
        _ => return None,
    })
}

/// Appends `s` to `buf`; where it is.
pub(super) fn push(buf: &mut String, s: &str) -> Span {
    let start = buf.len();
    buf.push_str(s);
    Span { start, end: buf.len() }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn prepared(
    pkg: &Package,
    chunk: &mut Chunk,
    outcome: Outcome,
    records: Vec<(DestId, String)>,
    identity: Identity,
    (trace, values): (&[TraceEvent], Option<Values<'_>>),
    text: Span,
    lineage: &mut Lineage<'_>,
) -> Prepared {
    let buf = &mut chunk.buf;
    let key = push(buf, &identity.key);
    let id = outcome.id.as_deref().map(|s| push(buf, s));
    let event_type = outcome.event_type.as_deref().map(|s| push(buf, s));
    let correlation_id = outcome.correlation_id.as_deref().map(|s| push(buf, s));
    let start = chunk.traces.len();
    lineage.cache.write(lineage.steps, trace, values, &mut chunk.traces);
    let trace = Span { start, end: chunk.traces.len() };
    // The outcome line of RUNTIME.md §2, exactly as `canon run` writes it,
    // from the records encoded once; the rejections and the records are
    // read from inside it.
    let start = buf.len();
    let status = outcome.status.as_str();
    write_outcome_head(
        &OutcomeHead {
            line: outcome.line,
            id: outcome.id.as_deref(),
            event_type: outcome.event_type.as_deref(),
            correlation_id: outcome.correlation_id.as_deref(),
            status,
            plain: 0,
        },
        buf,
    );
    let first_emit = chunk.emits.len();
    for (i, (dest, record)) in records.iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        buf.push_str("{\"destination\":");
        encode::json_str(buf, pkg.destinations.get(dest.0 as usize).map(|d| d.name.as_str()).unwrap_or(""));
        buf.push_str(",\"record\":");
        let record = push(buf, record);
        buf.push('}');
        chunk.emits.push(Emit {
            dest: dest.0 as usize,
            delivery: Span::default(),
            delivery_id: Span::default(),
            record,
        });
    }
    buf.push_str("],\"rejections\":");
    let rejections_start = buf.len();
    write_rejections(buf, &outcome.rejections);
    let rejections = Span { start: rejections_start, end: buf.len() };
    buf.push('}');
    let outcome_span = Span { start, end: buf.len() };
    if !records.is_empty() {
        let base = delivery_base(&identity);
        let mut delivery_id = String::with_capacity(base.len() + 4);
        for (n, (_, record)) in records.iter().enumerate() {
            delivery_id.clear();
            delivery_id.push_str(&base);
            delivery_id.push('-');
            delivery_id.push_str(itoa::Buffer::new().format(n + 1));
            let at = buf.len();
            let did =
                delivery_json(buf, &delivery_id, outcome.id.as_deref(), outcome.correlation_id.as_deref(), record);
            if let Some(e) = chunk.emits.get_mut(first_emit + n) {
                e.delivery = Span { start: at, end: buf.len() };
                e.delivery_id = Span::of(did);
            }
        }
    }
    Prepared {
        line: outcome.line,
        status: outcome.status,
        hash: identity.hash,
        key,
        id,
        event_type,
        correlation_id,
        outcome: outcome_span,
        rejections,
        trace,
        emits: Span { start: first_emit, end: chunk.emits.len() },
        text,
    }
}

/// The stable part of an event's delivery ids: its key and payload hashed,
/// so a delivery has the same id however often it is attempted.
pub(crate) fn delivery_base(identity: &Identity) -> String {
    let mut h = Sha256::new();
    h.update(identity.key.as_bytes());
    h.update([0u8]);
    h.update(identity.hash);
    let digest = h.finalize();
    canonical::hex(digest.get(..16).unwrap_or_default())
}

/// Rejections as the JSON array of an outcome line.
pub(crate) fn rejections_json(rejections: &[Rejection]) -> String {
    let mut out = String::new();
    write_rejections(&mut out, rejections);
    out
}
