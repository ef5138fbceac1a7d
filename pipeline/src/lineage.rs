//! The lineage the ledger stores with each outcome, in compact form.
//!
//! A step of a trace has a static part, the same for every event that takes
//! that path through the rules (`["decision","bill_rate",12,"rates.canon:25"]`,
//! `["lookup","projects",true]`, `["emit","erp_posting","posting.canon:50"]`,
//! `["rejected","PROJECT_NOT_OPEN","posting.canon:27"]`), and, for a table
//! lookup, a dynamic part: the key. The static parts are stored once, in
//! `trace_steps`; an event's `trace` is a JSON array whose steps are the id
//! of a static part, or `[id, key]` for a lookup. A trace of four steps is
//! some 40 bytes rather than 160.
//!
//! Ids are given out by the evaluation threads as they meet new steps, and
//! every step given out is saved by the writer in the transaction of the
//! next batch it commits: before any event that refers to it can be
//! committed, since that event was evaluated after the id was given out.
//!
//! Traces written by the first schema (steps spelled out in full) are read
//! as they are.

use std::collections::HashMap;
use std::sync::Mutex;

use canon_compiler::types::Ty;
use canon_runtime::encode::json_str;
use canon_runtime::outcome::{TraceEvent, WriteRecords};
use rusqlite::Connection;
use serde_json::Value as Json;

use crate::error::Result;

/// The steps a state has stored: (id, static part).
fn stored(conn: &Connection) -> Result<Vec<(i64, String)>> {
    let mut st = conn.prepare("SELECT id, step FROM trace_steps")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The shapes of packed JSON texts a state has stored (`json_shapes`,
/// schema 7; none before).
fn stored_shapes(conn: &Connection) -> Result<Vec<(i64, String)>> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'json_shapes'",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare("SELECT id, shape FROM json_shapes")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The shapes a state has stored, by id, for reading packed texts.
#[derive(Debug, Default, Clone)]
pub struct Shapes(HashMap<i64, String>);

impl Shapes {
    pub fn load(conn: &Connection) -> Result<Shapes> {
        Ok(Shapes(stored_shapes(conn)?.into_iter().collect()))
    }

    pub fn get(&self, id: i64) -> Option<String> {
        self.0.get(&id).cloned()
    }

    /// A state record's column: a [`crate::packed::REF`] to the record
    /// after of a `write` step in `trace`, its writer's (schema 8), or else
    /// as [`Shapes::text`] reads it; `None` when it cannot be read.
    pub fn record(
        &self,
        record: rusqlite::types::ValueRef<'_>,
        trace: rusqlite::types::ValueRef<'_>,
    ) -> Option<String> {
        if let rusqlite::types::ValueRef::Blob(b) = record {
            if let Some(n) = crate::packed::ref_ordinal(b) {
                let rusqlite::types::ValueRef::Blob(t) = trace else { return None };
                return crate::packed::write_after(t, n, &|id| self.get(id));
            }
        }
        self.text(record)
    }

    /// A stored JSON text (a state record's column): TEXT as it is (schema
    /// 6 and before), a BLOB packed; `None` when it cannot be read.
    pub fn text(&self, value: rusqlite::types::ValueRef<'_>) -> Option<String> {
        match value {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_string),
            rusqlite::types::ValueRef::Blob(b) => crate::packed::unpack_all(b, &|id| self.get(id)),
            _ => None,
        }
    }
}

/// The static parts of the steps known to a state, shared by the threads
/// of a run.
#[derive(Debug, Default)]
pub struct Steps {
    inner: Mutex<Known>,
    /// The shapes of packed JSON texts ([`crate::packed`]), given out alike.
    shapes: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    ids: HashMap<String, i64>,
    next: i64,
    /// Given out and not yet saved.
    unsaved: Vec<(i64, String)>,
}

impl Steps {
    /// The steps a state knows.
    pub fn load(conn: &Connection) -> Result<Steps> {
        let known = |rows: Vec<(i64, String)>| {
            let mut known = Known { next: 1, ..Known::default() };
            for (id, step) in rows {
                known.next = known.next.max(id + 1);
                known.ids.insert(step, id);
            }
            Mutex::new(known)
        };
        Ok(Steps { inner: known(stored(conn)?), shapes: known(stored_shapes(conn)?) })
    }

    /// The id of a static part, given out now if it is new.
    fn id(&self, step: &str) -> i64 {
        give(&self.inner, step, usize::MAX).unwrap_or(0)
    }

    /// The id of a shape, given out now if it is new and the state holds
    /// fewer than [`crate::packed::MAX_SHAPES`].
    pub(crate) fn shape(&self, shape: &str) -> Option<i64> {
        give(&self.shapes, shape, crate::packed::MAX_SHAPES)
    }

    /// Saves the steps and shapes given out since the last save, in the
    /// caller's transaction.
    pub fn save(&self, conn: &Connection) -> Result<()> {
        let take = |m: &Mutex<Known>| match m.lock() {
            Ok(mut k) => std::mem::take(&mut k.unsaved),
            Err(poisoned) => std::mem::take(&mut poisoned.into_inner().unsaved),
        };
        let unsaved = take(&self.inner);
        if !unsaved.is_empty() {
            let mut st = conn.prepare_cached("INSERT INTO trace_steps (id, step) VALUES (?1, ?2)")?;
            for (id, step) in &unsaved {
                st.execute(rusqlite::params![id, step])?;
            }
        }
        let unsaved = take(&self.shapes);
        if !unsaved.is_empty() {
            let mut st = conn.prepare_cached("INSERT INTO json_shapes (id, shape) VALUES (?1, ?2)")?;
            for (id, shape) in &unsaved {
                st.execute(rusqlite::params![id, shape])?;
            }
        }
        Ok(())
    }
}

/// The id of `s` in `known`, given out now if it is new and fewer than `cap` are known.
fn give(known: &Mutex<Known>, s: &str, cap: usize) -> Option<i64> {
    let mut k = match known.lock() {
        Ok(k) => k,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(&id) = k.ids.get(s) {
        return Some(id);
    }
    if k.ids.len() >= cap {
        return None;
    }
    let id = k.next;
    k.next += 1;
    k.ids.insert(s.to_string(), id);
    k.unsaved.push((id, s.to_string()));
    Some(id)
}

/// One evaluation thread's view of [`Steps`]: ids it has already looked up
/// need no lock.
#[derive(Debug, Default)]
pub struct StepCache {
    ids: rustc_hash::FxHashMap<String, i64>,
    shapes: rustc_hash::FxHashMap<String, Option<i64>>,
    scratch: String,
    packer: crate::packed::Packer,
    values: crate::packed::ValuePacker,
}

/// The records of a trace's `write` steps as values ([`StepCache::write`]),
/// with what packs them.
#[derive(Clone, Copy)]
pub struct Values<'a> {
    pub pkg: &'a canon_compiler::ir::Package,
    pub names: &'a canon_runtime::encode::Names,
    pub records: &'a [WriteRecords],
}

impl StepCache {
    fn id(&mut self, steps: &Steps) -> i64 {
        if let Some(&id) = self.ids.get(self.scratch.as_str()) {
            return id;
        }
        let id = steps.id(&self.scratch);
        self.ids.insert(self.scratch.clone(), id);
        id
    }

    /// Appends `text` packed ([`crate::packed`]), its shape given an id by `steps`.
    pub fn pack(&mut self, steps: &Steps, text: &str, out: &mut Vec<u8>) {
        let shapes = &mut self.shapes;
        self.packer.pack(text, &mut |s| shape_id(shapes, steps, s), out);
    }

    /// Appends the compact form of `trace` to `out` (a trace BLOB, [`crate::packed`]).
    /// With `values`, the records of its `write` steps are those values, one
    /// per step in order (`WriteRecords`, the steps without their text),
    /// packed from the values: the same bytes as from their text.
    pub fn write(&mut self, steps: &Steps, trace: &[TraceEvent], values: Option<Values<'_>>, out: &mut Vec<u8>) {
        use crate::packed::{put_key, put_step, STEP, STEP_KEY, STEP_WRITE};
        out.push(crate::packed::TRACE_FORMAT);
        let mut records = values.map(|v| v.records.iter());
        for t in trace {
            self.scratch.clear();
            let s = &mut self.scratch;
            match t {
                TraceEvent::Lookup { table, key, found } => {
                    s.push_str("[\"lookup\",");
                    json_str(s, table);
                    s.push_str(if *found { ",true]" } else { ",false]" });
                    let id = self.id(steps);
                    put_step(out, id, STEP_KEY);
                    put_key(out, key);
                    continue;
                }
                TraceEvent::DecisionRow { decision, row, at } => {
                    s.push_str("[\"decision\",");
                    json_str(s, decision);
                    s.push(',');
                    s.push_str(itoa::Buffer::new().format(*row));
                    s.push(',');
                    json_str(s, at);
                    s.push(']');
                }
                TraceEvent::Rejected { code, at } => {
                    s.push_str("[\"rejected\",");
                    json_str(s, code);
                    s.push(',');
                    json_str(s, at);
                    s.push(']');
                }
                TraceEvent::Emit { destination, at } => {
                    s.push_str("[\"emit\",");
                    json_str(s, destination);
                    s.push(',');
                    json_str(s, at);
                    s.push(']');
                }
                TraceEvent::StateRead { state, key, found } => {
                    s.push_str("[\"state_read\",");
                    json_str(s, state);
                    s.push_str(if *found { ",true]" } else { ",false]" });
                    let id = self.id(steps);
                    put_step(out, id, STEP_KEY);
                    put_key(out, key);
                    continue;
                }
                TraceEvent::Write { state, key, before, after, at } => {
                    // ["write", state, at] once; the key and the records with each step.
                    s.push_str("[\"write\",");
                    json_str(s, state);
                    s.push(',');
                    json_str(s, at);
                    s.push(']');
                    let id = self.id(steps);
                    put_step(out, id, STEP_WRITE);
                    put_key(out, key);
                    let shapes = &mut self.shapes;
                    let record = records.as_mut().and_then(|r| r.next());
                    let def = record.and_then(|r| values.and_then(|v| v.pkg.state(r.state)));
                    match (values, record, def) {
                        (Some(v), Some(r), Some(def)) => self.values.pack_pair(
                            v.pkg,
                            v.names,
                            &Ty::Record(def.record),
                            r.before.as_ref(),
                            r.after.as_ref(),
                            &mut |s| shape_id(shapes, steps, s),
                            out,
                        ),
                        _ => self.packer.pack_pair(
                            before.as_deref(),
                            after.as_deref(),
                            &mut |s| shape_id(shapes, steps, s),
                            out,
                        ),
                    }
                    continue;
                }
            }
            let id = self.id(steps);
            put_step(out, id, STEP);
        }
    }
}

/// A shape's id, from the thread's cache or else from `steps`.
fn shape_id(cache: &mut rustc_hash::FxHashMap<String, Option<i64>>, steps: &Steps, shape: &str) -> Option<i64> {
    if let Some(&id) = cache.get(shape) {
        return id;
    }
    let id = steps.shape(shape);
    cache.insert(shape.to_string(), id);
    id
}

/// The static parts of a state's steps, by id, for reading traces.
#[derive(Debug, Default)]
pub struct Templates(HashMap<i64, Json>, Shapes);

impl Templates {
    pub fn load(conn: &Connection) -> Result<Templates> {
        let mut map = HashMap::new();
        for (id, step) in stored(conn)? {
            map.insert(id, serde_json::from_str(&step).unwrap_or(Json::String(step)));
        }
        Ok(Templates(map, Shapes::load(conn)?))
    }

    /// The shapes of packed JSON texts.
    pub fn shapes(&self) -> &Shapes {
        &self.1
    }

    /// A stored trace (a BLOB of schema 7, or the JSON text of those
    /// before; `''` pruned) in its JSON form, its steps not yet spelled
    /// out: `null` when it cannot be read.
    pub fn stored(&self, trace: rusqlite::types::ValueRef<'_>) -> Json {
        match trace {
            rusqlite::types::ValueRef::Text(t) => serde_json::from_slice(t).unwrap_or(Json::Null),
            rusqlite::types::ValueRef::Blob(b) => {
                crate::packed::trace_json(b, &|id| self.1.get(id)).unwrap_or(Json::Null)
            }
            _ => Json::Null,
        }
    }

    /// A stored trace with every step spelled out (`["lookup", table, key,
    /// found]`, `["decision", decision, row, at]`, `["rejected", code, at]`,
    /// `["emit", destination, at]`), whichever schema wrote it.
    pub fn expand(&self, trace: &Json) -> Json {
        let Some(steps) = trace.as_array() else { return trace.clone() };
        Json::Array(steps.iter().map(|s| self.step(s)).collect())
    }

    fn step(&self, step: &Json) -> Json {
        let template = |id: &Json| id.as_i64().and_then(|id| self.0.get(&id));
        match step {
            Json::Number(_) => template(step).cloned().unwrap_or_else(|| step.clone()),
            Json::Array(a) => match (a.first().and_then(template), a.get(1..)) {
                (Some(Json::Array(t)), Some(parts)) if !parts.is_empty() => {
                    // ["lookup", table, found] with its key: ["lookup", table, key, found];
                    // ["write", state, at] with key, before, after: ["write", state, key, before, after, at].
                    let mut full = t.clone();
                    let at = full.len().saturating_sub(1);
                    for (i, p) in parts.iter().enumerate() {
                        full.insert(at + i, p.clone());
                    }
                    Json::Array(full)
                }
                _ => step.clone(),
            },
            _ => step.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn compact_traces_expand_to_the_full_steps() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE trace_steps (id INTEGER PRIMARY KEY, step TEXT NOT NULL UNIQUE);
             CREATE TABLE json_shapes (id INTEGER PRIMARY KEY, shape TEXT NOT NULL UNIQUE);",
        )
        .unwrap();
        let steps = Steps::load(&conn).unwrap();
        let mut cache = StepCache::default();
        let trace = vec![
            TraceEvent::Lookup { table: "projects".into(), key: "P-1\"".into(), found: true },
            TraceEvent::DecisionRow { decision: "bill_rate".into(), row: 12, at: "rates.canon:25".into() },
            TraceEvent::Lookup { table: "projects".into(), key: "P-2".into(), found: true },
            TraceEvent::Rejected { code: "NOPE".into(), at: "a.canon:3".into() },
            TraceEvent::Emit { destination: "erp".into(), at: "b.canon:9".into() },
        ];
        let mut blob = Vec::new();
        cache.write(&steps, &trace, None, &mut blob);
        steps.save(&conn).unwrap();
        let templates = Templates::load(&conn).unwrap();
        let out = templates.stored(rusqlite::types::ValueRef::Blob(&blob));
        assert_eq!(out, serde_json::json!([[1, "P-1\""], 2, [1, "P-2"], 3, 4]));
        // A second run knows the steps saved by the first.
        let again = Steps::load(&conn).unwrap();
        let mut blob2 = Vec::new();
        StepCache::default().write(&again, &trace, None, &mut blob2);
        assert_eq!(blob, blob2);
        let full = templates.expand(&out);
        assert_eq!(
            full,
            serde_json::json!([
                ["lookup", "projects", "P-1\"", true],
                ["decision", "bill_rate", 12, "rates.canon:25"],
                ["lookup", "projects", "P-2", true],
                ["rejected", "NOPE", "a.canon:3"],
                ["emit", "erp", "b.canon:9"]
            ])
        );
        // A trace of the first schema is read as it is.
        let old = serde_json::json!([["lookup", "projects", "P-1", true], ["emit", "erp", "b.canon:9"]]);
        assert_eq!(Templates::load(&conn).unwrap().expand(&old), old);
    }

    #[test]
    fn write_steps_read_back_as_the_json_form_of_schema_6() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE trace_steps (id INTEGER PRIMARY KEY, step TEXT NOT NULL UNIQUE);
             CREATE TABLE json_shapes (id INTEGER PRIMARY KEY, shape TEXT NOT NULL UNIQUE);",
        )
        .unwrap();
        let steps = Steps::load(&conn).unwrap();
        let before = r#"{"id":"TS-1","hours":"8.00","state":"submitted","at":null}"#;
        let after = r#"{"id":"TS-1","hours":"8.00","state":"approved","at":"2026-11-01T17:00:00Z"}"#;
        let trace = vec![
            TraceEvent::StateRead { state: "timesheets".into(), key: "[\"TS-1\"]".into(), found: true },
            TraceEvent::Write {
                state: "timesheets".into(),
                key: "[\"TS-1\"]".into(),
                before: Some(before.into()),
                after: Some(after.into()),
                at: "l.canon:9".into(),
            },
            TraceEvent::Write {
                state: "timesheets".into(),
                key: "[\"TS-2\"]".into(),
                before: None,
                after: Some(before.into()),
                at: "l.canon:9".into(),
            },
        ];
        let mut blob = Vec::new();
        StepCache::default().write(&steps, &trace, None, &mut blob);
        steps.save(&conn).unwrap();
        // The JSON form schema 6 stored.
        let mut text = String::from("[[1,\"[\\\"TS-1\\\"]\"],[2,\"[\\\"TS-1\\\"]\",");
        text.push_str(before);
        text.push(',');
        text.push_str(after);
        text.push_str("],[2,\"[\\\"TS-2\\\"]\",null,");
        text.push_str(before);
        text.push_str("]]");
        let templates = Templates::load(&conn).unwrap();
        let old = templates.stored(rusqlite::types::ValueRef::Text(text.as_bytes()));
        let new = templates.stored(rusqlite::types::ValueRef::Blob(&blob));
        assert_eq!(new, old);
        let steps: Vec<TraceEvent> = match templates.expand(&new) {
            Json::Array(a) => a.iter().filter_map(crate::process::trace_event).collect(),
            _ => Vec::new(),
        };
        assert_eq!(steps.len(), trace.len());
        assert!(matches!(&steps[2], TraceEvent::Write { before: None, after: Some(_), .. }), "{steps:?}");
        assert!(blob.len() * 2 < text.len(), "{} bytes against {}", blob.len(), text.len());
    }
}
