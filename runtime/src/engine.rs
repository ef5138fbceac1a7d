//! The engine: turns one input line into one outcome (RUNTIME.md §1–2).

use std::sync::Arc;

use canon_compiler::ir::{self, DestId, Loc};
use canon_compiler::types::{Ty, ENVELOPE};
use std::borrow::Cow;

use crate::coverage::Recorder;
use crate::decode::Decoder;
use crate::dindex::DecisionIndexes;
use crate::encode;
use std::cell::RefCell;

use crate::interp::Interp;
use crate::outcome::{Rejection, TraceEvent};
use crate::state::{NoState, StateView, Txn, Write};
use crate::tables::Tables;
use crate::value::Value;

/// The status of an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Accepted,
    Rejected,
    Ignored,
    Invalid,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Ignored => "ignored",
            Status::Invalid => "invalid",
        }
    }
}

/// The outcome of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub line: u64,
    pub id: Option<String>,
    pub event_type: Option<String>,
    pub correlation_id: Option<String>,
    pub status: Status,
    pub emits: Vec<(DestId, Value)>,
    pub rejections: Vec<Rejection>,
    /// The writes of state an accepted event applies, in order (LANGUAGE.md
    /// §4.5); empty for any other status. The caller applies them.
    pub writes: Vec<Write>,
}

/// A checked package with its tables, ready to evaluate events. `Send + Sync`;
/// evaluation takes `&self`.
#[derive(Debug, Clone)]
pub struct Engine {
    pkg: Arc<ir::Package>,
    tables: Arc<Tables>,
    /// The indexes of the package's large decision tables, built once here.
    decisions: Arc<DecisionIndexes>,
}

pub type Trace = RefCell<Vec<TraceEvent>>;

/// [`default_idempotency_key`] of a source and an id that are plain
/// (`encode::is_plain`: nothing to escape), piece by piece, for a writer
/// that assembles it elsewhere (the JIT, in its arena).
pub fn plain_idempotency_key_parts<'a>(source: &'a str, id: &'a str) -> [&'a str; 5] {
    ["[\"", source, "\",\"", id, "\"]"]
}

/// The idempotency key of an event without `idempotencykey` (RUNTIME.md §1):
/// the JSON array text `["<source>","<id>"]`.
pub fn default_idempotency_key(source: &str, id: &str) -> String {
    let mut k = String::with_capacity(source.len() + id.len() + 7);
    k.push('[');
    encode::json_str(&mut k, source);
    k.push(',');
    encode::json_str(&mut k, id);
    k.push(']');
    k
}

/// The envelope of an event, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: String,
    pub source: String,
    pub event_type: String,
    pub time: Option<canon_stdlib::Timestamp>,
    pub subject: Option<String>,
    pub correlation_id: Option<String>,
    pub idempotency_key: String,
}

impl Envelope {
    /// The default envelope of a test's `given Type { ... }`.
    pub fn for_test(event_type: &str) -> Envelope {
        Envelope {
            id: "test".into(),
            source: "test".into(),
            event_type: event_type.into(),
            time: None,
            subject: None,
            correlation_id: None,
            idempotency_key: "[\"test\",\"test\"]".into(),
        }
    }

    /// `meta` as a value of the built-in `Envelope` record.
    pub fn to_value(&self) -> Value {
        let opt = |s: &Option<String>| s.as_deref().map(Value::text).unwrap_or(Value::None);
        Value::Record(
            vec![
                Value::text(&self.id),
                Value::text(&self.source),
                Value::text(&self.event_type),
                self.time.map(Value::Timestamp).unwrap_or(Value::None),
                opt(&self.subject),
                opt(&self.correlation_id),
                Value::text(&self.idempotency_key),
            ]
            .into(),
        )
    }
}

/// The envelope of a valid CloudEvent line and the text of its `data`
/// (absent or `null`: `None`), or `None` when the line is `invalid` (then
/// [`decode_line`] gives its outcome).
pub fn envelope(line: &str) -> Option<(Envelope, Option<Cow<'_, str>>)> {
    crate::envelope::parse(line).ok()
}

impl Engine {
    pub fn new(pkg: Arc<ir::Package>, tables: Tables) -> Engine {
        Engine::with_min_index_rows(pkg, tables, crate::dindex::DEFAULT_MIN_ROWS)
    }

    /// As [`Engine::new`], indexing the decision tables of at least
    /// `min_rows` rows (`usize::MAX`: none, every table read row by row).
    /// The answers are the same either way; tests compare them.
    pub fn with_min_index_rows(pkg: Arc<ir::Package>, tables: Tables, min_rows: usize) -> Engine {
        let decisions = Arc::new(DecisionIndexes::build(&pkg, min_rows));
        Engine { pkg, tables: Arc::new(tables), decisions }
    }

    /// The indexes of the package's decision tables.
    pub fn decision_indexes(&self) -> &Arc<DecisionIndexes> {
        &self.decisions
    }

    pub fn package(&self) -> &ir::Package {
        &self.pkg
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Evaluates one input line (RUNTIME.md §1) into its outcome, against no
    /// state (a package without `state`, or the first event of an empty one).
    pub fn evaluate(&self, line_no: u64, line: &str) -> Outcome {
        self.evaluate_with(line_no, line, None, &NoState)
    }

    /// Evaluates one input line against `state`, the state the events before
    /// it left; the outcome's `writes` are what it applies when accepted.
    pub fn evaluate_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Outcome {
        self.evaluate_with(line_no, line, None, state)
    }

    /// Evaluates one line and returns its outcome with its lineage: the
    /// rejections, decision rows, table lookups and emits that decided it.
    pub fn evaluate_traced(&self, line_no: u64, line: &str) -> (Outcome, Vec<TraceEvent>) {
        self.evaluate_traced_in(line_no, line, &NoState)
    }

    /// As [`Engine::evaluate_traced`], against `state`.
    pub fn evaluate_traced_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> (Outcome, Vec<TraceEvent>) {
        let trace = RefCell::new(Vec::new());
        let o = self.evaluate_with(line_no, line, Some(&trace), state);
        (o, trace.into_inner())
    }

    fn evaluate_with(&self, line_no: u64, line: &str, trace: Option<&Trace>, state: &dyn StateView) -> Outcome {
        match decode_line(&self.pkg, line_no, line) {
            Decoded::Done(o) => o,
            Decoded::Ready(r) => self.run_ready(r, trace, state, None),
        }
    }

    /// As [`Engine::evaluate_in`], recording the coverage points reached
    /// (`canon test --coverage`; the engine's package must be the one whose
    /// points `coverage` counts).
    pub fn evaluate_covered(&self, line_no: u64, line: &str, state: &dyn StateView, coverage: &Recorder) -> Outcome {
        match decode_line(&self.pkg, line_no, line) {
            Decoded::Done(o) => o,
            Decoded::Ready(r) => self.run_ready(r, None, state, Some(coverage)),
        }
    }

    /// As [`Engine::evaluate_envelope_in`], recording coverage (see [`Engine::evaluate_covered`]).
    pub fn evaluate_envelope_covered(
        &self,
        line_no: u64,
        env: &Envelope,
        data: &str,
        state: &dyn StateView,
        coverage: &Recorder,
    ) -> Outcome {
        match decode_event(&self.pkg, line_no, env, data) {
            Decoded::Done(o) => o,
            Decoded::Ready(r) => self.run_ready(r, None, state, Some(coverage)),
        }
    }

    /// Evaluates an event whose envelope is known and whose data is JSON text.
    pub fn evaluate_envelope(&self, line_no: u64, env: &Envelope, data: &str) -> Outcome {
        self.evaluate_envelope_in(line_no, env, data, &NoState)
    }

    /// As [`Engine::evaluate_envelope`], against `state`.
    pub fn evaluate_envelope_in(&self, line_no: u64, env: &Envelope, data: &str, state: &dyn StateView) -> Outcome {
        match decode_event(&self.pkg, line_no, env, data) {
            Decoded::Done(o) => o,
            Decoded::Ready(r) => self.run_ready(r, None, state, None),
        }
    }

    /// Runs the handler of an already decoded event (see [`decode_line`]).
    pub fn run_decoded(&self, r: Ready) -> Outcome {
        self.run_ready(r, None, &NoState, None)
    }

    /// As [`Engine::run_decoded`], against `state`, with lineage when `trace` is given.
    pub fn run_decoded_in(&self, r: Ready, trace: Option<&Trace>, state: &dyn StateView) -> Outcome {
        self.run_ready(r, trace, state, None)
    }

    fn run_ready(
        &self,
        r: Ready,
        trace: Option<&Trace>,
        state: &dyn StateView,
        coverage: Option<&Recorder>,
    ) -> Outcome {
        let Ready { mut outcome, handler, meta, event } = r;
        let Some(h) = self.pkg.handlers.get(handler) else { return outcome };
        let txn = Txn::new(state);
        let txn_ref = if self.pkg.has_state() { Some(&txn) } else { None };
        let interp = Interp {
            pkg: &self.pkg,
            tables: &self.tables,
            meta: &meta,
            trace,
            state: txn_ref,
            coverage,
            decisions: Some(&self.decisions),
        };
        let result = interp.run_handler(h, event);
        outcome.status = if result.rejections.is_empty() { Status::Accepted } else { Status::Rejected };
        outcome.emits = result.emits;
        outcome.rejections = result.rejections;
        if outcome.status == Status::Accepted {
            outcome.writes = txn.into_writes();
        }
        outcome
    }

    /// Appends the outcome as one JSON line (without the newline).
    pub fn write_outcome(&self, o: &Outcome, out: &mut String) {
        write_outcome(&self.pkg, o, out);
    }
}

/// Appends the outcome as one JSON line (without the newline).
pub fn write_outcome(pkg: &ir::Package, o: &Outcome, out: &mut String) {
    write_outcome_with(pkg, o, out, None);
}

/// As [`write_outcome`]; `emits`, when given, writes the inside of the
/// `emits` array instead of `o.emits` (an engine with its own value layout).
pub fn write_outcome_with(pkg: &ir::Package, o: &Outcome, out: &mut String, emits: Option<&dyn Fn(&mut String)>) {
    let head = OutcomeHead {
        line: o.line,
        id: o.id.as_deref(),
        event_type: o.event_type.as_deref(),
        correlation_id: o.correlation_id.as_deref(),
        status: o.status.as_str(),
        plain: 0,
    };
    let own = |out: &mut String| {
        for (i, (dest, v)) in o.emits.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let def = pkg.destinations.get(dest.0 as usize);
            out.push_str("{\"destination\":");
            encode::json_str(out, def.map(|d| d.name.as_str()).unwrap_or(""));
            out.push_str(",\"record\":");
            let ty = def.map(|d| Ty::Record(d.record)).unwrap_or(Ty::Record(ENVELOPE));
            encode::value(out, pkg, &ty, v);
            out.push('}');
        }
    };
    write_outcome_parts(&head, emits.unwrap_or(&own), &o.rejections, out);
}

/// The scalar parts of an outcome line, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct OutcomeHead<'a> {
    pub line: u64,
    pub id: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub correlation_id: Option<&'a str>,
    /// `Status::as_str`, or a status the pipeline's ledger decides (`duplicate`).
    pub status: &'a str,
    /// Which of `id`, `type` and `correlation_id` the caller knows to be
    /// [plain](encode::is_plain) texts ([`Self::PLAIN_ID`] …), written
    /// without a look at their bytes; 0 when it does not know.
    pub plain: u8,
}

impl OutcomeHead<'_> {
    pub const PLAIN_ID: u8 = 1;
    pub const PLAIN_TYPE: u8 = 2;
    pub const PLAIN_CORRELATION_ID: u8 = 4;
}

/// Appends an outcome line (without the newline) from its parts: the one
/// writer of the outcome format, for every engine and the pipeline. `emits`
/// writes the inside of the `emits` array.
pub fn write_outcome_parts(
    head: &OutcomeHead<'_>,
    emits: &dyn Fn(&mut String),
    rejections: &[Rejection],
    out: &mut String,
) {
    write_outcome_head(head, out);
    emits(out);
    out.push_str("],\"rejections\":");
    write_rejections(out, rejections);
    out.push('}');
}

/// An outcome line up to the opening of its `emits` array.
pub fn write_outcome_head(head: &OutcomeHead<'_>, out: &mut String) {
    let opt = |out: &mut String, s: Option<&str>, plain: u8| match s {
        Some(s) if head.plain & plain != 0 => encode::json_plain(out, s),
        Some(s) => encode::json_str(out, s),
        None => out.push_str("null"),
    };
    out.push_str("{\"line\":");
    encode::push_short(out, itoa::Buffer::new().format(head.line));
    out.push_str(",\"id\":");
    opt(out, head.id, OutcomeHead::PLAIN_ID);
    out.push_str(",\"type\":");
    opt(out, head.event_type, OutcomeHead::PLAIN_TYPE);
    out.push_str(",\"correlation_id\":");
    opt(out, head.correlation_id, OutcomeHead::PLAIN_CORRELATION_ID);
    out.push_str(",\"status\":\"");
    encode::push_short(out, head.status);
    out.push_str("\",\"emits\":[");
}

/// Appends the JSON array of an outcome's rejections.
pub fn write_rejections(out: &mut String, rejections: &[Rejection]) {
    out.push('[');
    for (i, r) in rejections.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"code\":");
        encode::json_str(out, &r.code);
        out.push_str(",\"message\":");
        encode::json_str(out, &r.message);
        out.push_str(",\"at\":");
        if r.at.is_empty() {
            out.push_str("null");
        } else {
            encode::json_str(out, &r.at);
        }
        if let Some(p) = &r.path {
            out.push_str(",\"path\":");
            encode::json_str(out, p);
        }
        out.push('}');
    }
    out.push(']');
}

/// An event decoded and ready for its handler, or already decided.
pub enum Decoded {
    /// Invalid, ignored or a schema violation: the outcome is final.
    Done(Outcome),
    Ready(Ready),
}

/// A decoded event and the handler it goes to. Every engine starts here, so
/// envelope and schema errors are the same whatever runs the handler.
#[derive(Clone)]
pub struct Ready {
    /// The outcome so far (line, id, type, correlation id).
    pub outcome: Outcome,
    /// Index into `Package::handlers`.
    pub handler: usize,
    /// `meta`.
    pub meta: Value,
    /// The event's data.
    pub event: Value,
}

/// Validates the envelope of one input line and decodes its data (RUNTIME.md §1).
pub fn decode_line(pkg: &ir::Package, line_no: u64, line: &str) -> Decoded {
    let (env, data) = match crate::envelope::parse(line) {
        Ok(x) => x,
        Err(inv) => {
            return Decoded::Done(Outcome {
                line: line_no,
                id: inv.id,
                event_type: inv.event_type,
                correlation_id: None,
                status: Status::Invalid,
                emits: Vec::new(),
                rejections: vec![Rejection::invalid_envelope(inv.message)],
                writes: Vec::new(),
            });
        }
    };
    decode_event(pkg, line_no, &env, data.as_deref().unwrap_or("{}"))
}

/// Decodes an event's data for the handler of its type.
pub fn decode_event(pkg: &ir::Package, line_no: u64, env: &Envelope, data: &str) -> Decoded {
    let mut outcome = Outcome {
        line: line_no,
        id: Some(env.id.clone()),
        event_type: Some(env.event_type.clone()),
        correlation_id: env.correlation_id.clone(),
        status: Status::Ignored,
        emits: Vec::new(),
        rejections: Vec::new(),
        writes: Vec::new(),
    };
    let Some(handler) = pkg.handler_by_type.get(&env.event_type).copied() else {
        return Decoded::Done(outcome);
    };
    let Some(h) = pkg.handlers.get(handler) else { return Decoded::Done(outcome) };
    let mut dec = Decoder::new(pkg, "/data");
    match dec.decode(&Ty::Record(h.event), data) {
        Ok(event) => Decoded::Ready(Ready { outcome, handler, meta: env.to_value(), event }),
        Err(e) => {
            let at = pkg
                .record(h.event)
                .and_then(|r| r.site)
                .map(|s| pkg.loc_string(Loc { file: s.file, line: s.line, col: 0 }))
                .unwrap_or_default();
            outcome.status = Status::Rejected;
            outcome.rejections.push(Rejection::schema_violation(e.path, &e.message, at));
            Decoded::Done(outcome)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_plain_key_parts_are_the_default_key() {
        for (source, id) in [("urn:acme:timetrack", "evt-1"), ("", ""), ("a b", "x~y{1}"), ("t", "9")] {
            assert!(encode::is_plain(source) && encode::is_plain(id));
            assert_eq!(plain_idempotency_key_parts(source, id).concat(), default_idempotency_key(source, id));
        }
    }
}
