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

use canon_runtime::encode::json_str;
use canon_runtime::outcome::TraceEvent;
use rusqlite::Connection;
use serde_json::Value as Json;

use crate::error::Result;

/// The steps a state has stored: (id, static part).
fn stored(conn: &Connection) -> Result<Vec<(i64, String)>> {
    let mut st = conn.prepare("SELECT id, step FROM trace_steps")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The static parts of the steps known to a state, shared by the threads
/// of a run.
#[derive(Debug, Default)]
pub struct Steps {
    inner: Mutex<Known>,
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
        let mut known = Known { next: 1, ..Known::default() };
        for (id, step) in stored(conn)? {
            known.next = known.next.max(id + 1);
            known.ids.insert(step, id);
        }
        Ok(Steps { inner: Mutex::new(known) })
    }

    /// The id of a static part, given out now if it is new.
    fn id(&self, step: &str) -> i64 {
        let mut k = match self.inner.lock() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(&id) = k.ids.get(step) {
            return id;
        }
        let id = k.next;
        k.next += 1;
        k.ids.insert(step.to_string(), id);
        k.unsaved.push((id, step.to_string()));
        id
    }

    /// Saves the steps given out since the last save, in the caller's
    /// transaction.
    pub(crate) fn save(&self, conn: &Connection) -> Result<()> {
        let unsaved = match self.inner.lock() {
            Ok(mut k) => std::mem::take(&mut k.unsaved),
            Err(poisoned) => std::mem::take(&mut poisoned.into_inner().unsaved),
        };
        if unsaved.is_empty() {
            return Ok(());
        }
        let mut st = conn.prepare_cached("INSERT INTO trace_steps (id, step) VALUES (?1, ?2)")?;
        for (id, step) in &unsaved {
            st.execute(rusqlite::params![id, step])?;
        }
        Ok(())
    }
}

/// One evaluation thread's view of [`Steps`]: ids it has already looked up
/// need no lock.
#[derive(Debug, Default)]
pub struct StepCache {
    ids: rustc_hash::FxHashMap<String, i64>,
    scratch: String,
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

    /// Appends the compact form of `trace` to `out`.
    pub fn write(&mut self, steps: &Steps, trace: &[TraceEvent], out: &mut String) {
        out.push('[');
        for (i, t) in trace.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.scratch.clear();
            let s = &mut self.scratch;
            match t {
                TraceEvent::Lookup { table, key, found } => {
                    s.push_str("[\"lookup\",");
                    json_str(s, table);
                    s.push_str(if *found { ",true]" } else { ",false]" });
                    let id = self.id(steps);
                    out.push('[');
                    out.push_str(itoa::Buffer::new().format(id));
                    out.push(',');
                    json_str(out, key);
                    out.push(']');
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
                    out.push('[');
                    out.push_str(itoa::Buffer::new().format(id));
                    out.push(',');
                    json_str(out, key);
                    out.push(']');
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
                    out.push('[');
                    out.push_str(itoa::Buffer::new().format(id));
                    out.push(',');
                    json_str(out, key);
                    out.push(',');
                    out.push_str(before.as_deref().unwrap_or("null"));
                    out.push(',');
                    out.push_str(after.as_deref().unwrap_or("null"));
                    out.push(']');
                    continue;
                }
            }
            let id = self.id(steps);
            out.push_str(itoa::Buffer::new().format(id));
        }
        out.push(']');
    }
}

/// The static parts of a state's steps, by id, for reading traces.
#[derive(Debug, Default)]
pub struct Templates(HashMap<i64, Json>);

impl Templates {
    pub fn load(conn: &Connection) -> Result<Templates> {
        let mut map = HashMap::new();
        for (id, step) in stored(conn)? {
            map.insert(id, serde_json::from_str(&step).unwrap_or(Json::String(step)));
        }
        Ok(Templates(map))
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn compact_traces_expand_to_the_full_steps() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE trace_steps (id INTEGER PRIMARY KEY, step TEXT NOT NULL UNIQUE)").unwrap();
        let steps = Steps::load(&conn).unwrap();
        let mut cache = StepCache::default();
        let trace = vec![
            TraceEvent::Lookup { table: "projects".into(), key: "P-1\"".into(), found: true },
            TraceEvent::DecisionRow { decision: "bill_rate".into(), row: 12, at: "rates.canon:25".into() },
            TraceEvent::Lookup { table: "projects".into(), key: "P-2".into(), found: true },
            TraceEvent::Rejected { code: "NOPE".into(), at: "a.canon:3".into() },
            TraceEvent::Emit { destination: "erp".into(), at: "b.canon:9".into() },
        ];
        let mut out = String::new();
        cache.write(&steps, &trace, &mut out);
        assert_eq!(out, r#"[[1,"P-1\""],2,[1,"P-2"],3,4]"#);
        steps.save(&conn).unwrap();
        // A second run knows the steps saved by the first.
        let again = Steps::load(&conn).unwrap();
        let mut out2 = String::new();
        StepCache::default().write(&again, &trace, &mut out2);
        assert_eq!(out, out2);
        let full = Templates::load(&conn).unwrap().expand(&serde_json::from_str(&out).unwrap());
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
}
