//! The outcome model shared by every engine: a [`Rejection`], a step of
//! lineage ([`TraceEvent`]) and a run-time [`Fault`] with its typed code.
//! Every message that more than one engine (or the pipeline) must word the
//! same is built here, once.

use std::sync::Arc;

use canon_compiler::diagnostics::RuntimeCode;
use canon_compiler::ir::Loc;

/// One recorded rejection.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// A run-time code ([`RuntimeCode`]) or the code a package's own `reject` gives.
    pub code: Arc<str>,
    pub message: String,
    /// Where in the package (`file:line`); empty when the rejection is not the package's (an invalid envelope).
    pub at: String,
    /// JSON Pointer of a schema violation.
    pub path: Option<String>,
}

impl Rejection {
    /// `INVALID_ENVELOPE`: the line is not a CloudEvent; `message` names the rule it breaks.
    pub fn invalid_envelope(message: impl Into<String>) -> Rejection {
        Rejection {
            code: Arc::from(RuntimeCode::InvalidEnvelope.as_str()),
            message: message.into(),
            at: String::new(),
            path: None,
        }
    }

    /// `INVALID_ENVELOPE` for a line whose bytes are not UTF-8 (so no JSON).
    pub fn not_utf8() -> Rejection {
        Rejection::invalid_envelope("the line is not valid UTF-8")
    }

    /// `SCHEMA_VIOLATION` at JSON Pointer `path` of the event; `at` is the event type's declaration.
    pub fn schema_violation(path: String, message: &str, at: String) -> Rejection {
        Rejection {
            code: Arc::from(RuntimeCode::SchemaViolation.as_str()),
            message: format!("{path}: {message}"),
            at,
            path: Some(path),
        }
    }

    /// `IDEMPOTENCY_CONFLICT`: `key` came again with another payload; the first
    /// event (`first_id`, recorded at `first_at`) stands.
    pub fn idempotency_conflict(key: &str, first_at: &str, first_id: &str) -> Rejection {
        Rejection {
            code: Arc::from(RuntimeCode::IdempotencyConflict.as_str()),
            message: format!(
                "idempotency key `{key}` was processed at {first_at} (event `{first_id}`) with a different payload; the first one stands"
            ),
            at: String::new(),
            path: None,
        }
    }
}

/// A run-time fault: a rejection that stops the handler (LANGUAGE.md §8),
/// with its final message (which ends with where it happened).
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub code: RuntimeCode,
    pub message: String,
    pub loc: Loc,
}

impl Fault {
    /// A fault of the standard library (overflow, division by zero, a
    /// currency mismatch, an invalid argument) at `loc`, written `at`.
    pub fn from_stdlib(f: &canon_stdlib::Fault, loc: Loc, at: &str) -> Fault {
        let code = match f {
            canon_stdlib::Fault::IntegerOverflow => RuntimeCode::IntegerOverflow,
            canon_stdlib::Fault::DecimalOverflow => RuntimeCode::DecimalOverflow,
            canon_stdlib::Fault::DivisionByZero => RuntimeCode::DivisionByZero,
            canon_stdlib::Fault::CurrencyMismatch { .. } => RuntimeCode::CurrencyMismatch,
            canon_stdlib::Fault::InvalidArgument(_) => RuntimeCode::InvalidArgument,
        };
        Fault { code, message: format!("{} at {at}", f.message()), loc }
    }

    /// `DECISION_CONFLICT`: two rows (at `first_row` and `second_row`) of
    /// `decision` matched under `hit unique`, called at `loc` (written `at`).
    pub fn rows_conflict(decision: &str, first_row: &str, second_row: &str, loc: Loc, at: &str) -> Fault {
        Fault {
            code: RuntimeCode::DecisionConflict,
            message: format!(
                "decision `{decision}`: rows at {first_row} and {second_row} both match under `hit unique` (at {at})"
            ),
            loc,
        }
    }

    /// `DECISION_CONFLICT`: two rows of `decision` matched under `hit any`
    /// with different outputs, called at `loc` (written `at`).
    pub fn outputs_conflict(decision: &str, first_row: &str, second_row: &str, loc: Loc, at: &str) -> Fault {
        Fault {
            code: RuntimeCode::DecisionConflict,
            message: format!(
                "decision `{decision}`: rows at {first_row} and {second_row} both match under `hit any` with different outputs (at {at})"
            ),
            loc,
        }
    }

    /// `DECISION_CONFLICT`: no row of `decision` (with a required result) matched, called at `loc` (written `at`).
    pub fn no_row(decision: &str, loc: Loc, at: &str) -> Fault {
        Fault {
            code: RuntimeCode::DecisionConflict,
            message: format!("no row of decision `{decision}` matches (at {at})"),
            loc,
        }
    }

    /// `STATE_NOT_FOUND`: an `update` of `state[key]` found no record, at `loc` (written `at`).
    pub fn state_not_found(state: &str, key: &str, loc: Loc, at: &str) -> Fault {
        Fault {
            code: RuntimeCode::StateNotFound,
            message: format!("update of {state}[{key}]: there is no record with that key (at {at})"),
            loc,
        }
    }

    /// The fault as the rejection it records; `at` is where it happened.
    pub fn into_rejection(self, at: String) -> Rejection {
        Rejection { code: Arc::from(self.code.as_str()), message: self.message, at, path: None }
    }
}

/// The records of a traced state write as values, for a reader that packs
/// them itself (the pipeline's lineage) rather than read them as JSON text:
/// an evaluator asked for them gives one per [`TraceEvent::Write`] step, in
/// order, and leaves that step's `before` and `after` text out (`None`).
#[derive(Debug, Clone)]
pub struct WriteRecords {
    pub state: canon_compiler::ir::StateId,
    pub before: Option<crate::value::Value>,
    pub after: Option<crate::value::Value>,
}

/// One step of an outcome's lineage (RUNTIME.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent {
    /// A `check`, `require` or `reject` recorded a rejection (or a fault did).
    Rejected { code: String, at: String },
    /// A decision row matched.
    DecisionRow { decision: String, row: usize, at: String },
    /// A table lookup, and whether it found a row.
    Lookup { table: String, key: String, found: bool },
    /// An emit was queued.
    Emit { destination: String, at: String },
    /// A read of state, and whether it found a record.
    StateRead { state: String, key: String, found: bool },
    /// A write of state: the record before and after, as JSON text (`None`: no record).
    Write { state: String, key: String, before: Option<String>, after: Option<String>, at: String },
}

impl TraceEvent {
    /// The event as a JSON object (the `trace` of `canon run --explain`).
    pub fn write_json(&self, out: &mut String) {
        let field = |out: &mut String, k: &str, v: &str| {
            out.push(',');
            crate::encode::json_str(out, k);
            out.push(':');
            crate::encode::json_str(out, v);
        };
        match self {
            TraceEvent::Rejected { code, at } => {
                out.push_str("{\"kind\":\"rejected\"");
                field(out, "code", code);
                field(out, "at", at);
            }
            TraceEvent::DecisionRow { decision, row, at } => {
                out.push_str("{\"kind\":\"decision\"");
                field(out, "decision", decision);
                out.push_str(&format!(",\"row\":{row}"));
                field(out, "at", at);
            }
            TraceEvent::Lookup { table, key, found } => {
                out.push_str("{\"kind\":\"lookup\"");
                field(out, "table", table);
                field(out, "key", key);
                out.push_str(if *found { ",\"found\":true" } else { ",\"found\":false" });
            }
            TraceEvent::Emit { destination, at } => {
                out.push_str("{\"kind\":\"emit\"");
                field(out, "destination", destination);
                field(out, "at", at);
            }
            TraceEvent::StateRead { state, key, found } => {
                out.push_str("{\"kind\":\"state_read\"");
                field(out, "state", state);
                field(out, "key", key);
                out.push_str(if *found { ",\"found\":true" } else { ",\"found\":false" });
            }
            TraceEvent::Write { state, key, before, after, at } => {
                out.push_str("{\"kind\":\"write\"");
                field(out, "state", state);
                field(out, "key", key);
                out.push_str(",\"before\":");
                out.push_str(before.as_deref().unwrap_or("null"));
                out.push_str(",\"after\":");
                out.push_str(after.as_deref().unwrap_or("null"));
                field(out, "at", at);
            }
        }
        out.push('}');
    }

    /// One line of text.
    pub fn describe(&self) -> String {
        match self {
            TraceEvent::Rejected { code, at } => format!("rejected {code} at {at}"),
            TraceEvent::DecisionRow { decision, row, at } => format!("decision {decision}: row {row} matched ({at})"),
            TraceEvent::Lookup { table, key, found } => {
                format!("lookup {table}[{key}]: {}", if *found { "found" } else { "not found" })
            }
            TraceEvent::Emit { destination, at } => format!("emit {destination} at {at}"),
            TraceEvent::StateRead { state, key, found } => {
                format!("read {state}[{key}]: {}", if *found { "found" } else { "not found" })
            }
            TraceEvent::Write { state, key, before, after, at } => format!(
                "write {state}[{key}] at {at}: {} -> {}",
                before.as_deref().unwrap_or("none"),
                after.as_deref().unwrap_or("none")
            ),
        }
    }
}

/// The objects of [`TraceEvent::write_json`], for serde (`canon exceptions show --format json`).
impl serde::Serialize for TraceEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        match self {
            TraceEvent::Rejected { code, at } => {
                map.serialize_entry("kind", "rejected")?;
                map.serialize_entry("code", code)?;
                map.serialize_entry("at", at)?;
            }
            TraceEvent::DecisionRow { decision, row, at } => {
                map.serialize_entry("kind", "decision")?;
                map.serialize_entry("decision", decision)?;
                map.serialize_entry("row", row)?;
                map.serialize_entry("at", at)?;
            }
            TraceEvent::Lookup { table, key, found } => {
                map.serialize_entry("kind", "lookup")?;
                map.serialize_entry("table", table)?;
                map.serialize_entry("key", key)?;
                map.serialize_entry("found", found)?;
            }
            TraceEvent::Emit { destination, at } => {
                map.serialize_entry("kind", "emit")?;
                map.serialize_entry("destination", destination)?;
                map.serialize_entry("at", at)?;
            }
            TraceEvent::StateRead { state, key, found } => {
                map.serialize_entry("kind", "state_read")?;
                map.serialize_entry("state", state)?;
                map.serialize_entry("key", key)?;
                map.serialize_entry("found", found)?;
            }
            TraceEvent::Write { state, key, before, after, at } => {
                let json = |s: &Option<String>| {
                    s.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()).unwrap_or_default()
                };
                map.serialize_entry("kind", "write")?;
                map.serialize_entry("state", state)?;
                map.serialize_entry("key", key)?;
                map.serialize_entry("before", &json(before))?;
                map.serialize_entry("after", &json(after))?;
                map.serialize_entry("at", at)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_faults_keep_their_code_and_wording() {
        let f = Fault::from_stdlib(&canon_stdlib::Fault::DivisionByZero, Loc::default(), "a.canon:3");
        assert_eq!(f.code, RuntimeCode::DivisionByZero);
        assert_eq!(f.message, "division by zero at a.canon:3");
        let r = f.into_rejection("a.canon:3".into());
        assert_eq!(&*r.code, "DIVISION_BY_ZERO");
    }

    #[test]
    fn trace_events_serialize_as_they_write() {
        let events = [
            TraceEvent::Rejected { code: "C".into(), at: "a:1".into() },
            TraceEvent::DecisionRow { decision: "d".into(), row: 2, at: "a:2".into() },
            TraceEvent::Lookup { table: "t".into(), key: "k".into(), found: true },
            TraceEvent::Emit { destination: "out".into(), at: "a:3".into() },
        ];
        for e in &events {
            let mut written = String::new();
            e.write_json(&mut written);
            let written: serde_json::Value = serde_json::from_str(&written).unwrap_or_default();
            assert_eq!(serde_json::to_value(e).ok(), Some(written));
        }
    }

    #[test]
    fn decision_faults_are_conflicts() {
        let f = Fault::no_row("rate", Loc::default(), "a.canon:9");
        assert_eq!(f.code, RuntimeCode::DecisionConflict);
        assert_eq!(f.message, "no row of decision `rate` matches (at a.canon:9)");
        let f = Fault::rows_conflict("rate", "a.canon:1", "a.canon:2", Loc::default(), "a.canon:9");
        assert_eq!(
            f.message,
            "decision `rate`: rows at a.canon:1 and a.canon:2 both match under `hit unique` (at a.canon:9)"
        );
    }
}
