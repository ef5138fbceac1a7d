//! State across events (LANGUAGE.md §4.5, RUNTIME.md §7): the writes of one
//! event ([`Txn`], over a [`StateView`] of what the events before it left),
//! the in-memory [`Store`] that applies them with the package's metrics, and
//! the JSONL snapshot of `canon run --state-in/--state-out`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;

use canon_compiler::ir::{self, Loc, StateId};
use canon_compiler::types::Ty;
use rustc_hash::FxHashMap;

use crate::decode::Decoder;
use crate::encode;
use crate::metrics::Metrics;
use crate::outcome::Fault;
use crate::tables::Tables;
use crate::value::{KeyPart, Value};

/// A state key: the values of the key fields, in key order.
pub type Key = Box<[KeyPart]>;

/// One write of an event: the record at `key` of `state` before and after
/// (`None`: no record).
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub state: StateId,
    pub key: Key,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The statement that wrote.
    pub loc: Loc,
}

/// What an event reads state from: the state every earlier event left.
pub trait StateView: Sync {
    fn get(&self, state: StateId, key: &[KeyPart]) -> Option<Value>;
}

/// No state at all (a package without `state`, or an empty start).
pub struct NoState;

impl StateView for NoState {
    fn get(&self, _: StateId, _: &[KeyPart]) -> Option<Value> {
        None
    }
}

/// The writes of one event over a view: a read sees the event's own earlier
/// writes first.
pub struct Txn<'v> {
    base: &'v dyn StateView,
    writes: RefCell<Vec<Write>>,
}

impl<'v> Txn<'v> {
    pub fn new(base: &'v dyn StateView) -> Txn<'v> {
        Txn { base, writes: RefCell::new(Vec::new()) }
    }

    /// The record at `key`, after this event's writes so far.
    pub fn get(&self, state: StateId, key: &[KeyPart]) -> Option<Value> {
        let writes = self.writes.borrow();
        if let Some(w) = writes.iter().rev().find(|w| w.state == state && &*w.key == key) {
            return w.after.clone();
        }
        drop(writes);
        self.base.get(state, key)
    }

    /// Records a write (`after` `None` deletes); returns the record before it.
    pub fn write(&self, state: StateId, key: Key, after: Option<Value>, loc: Loc) -> Option<Value> {
        let before = self.get(state, &key);
        self.writes.borrow_mut().push(Write { state, key, before: before.clone(), after, loc });
        before
    }

    pub fn into_writes(self) -> Vec<Write> {
        self.writes.into_inner()
    }
}

/// The key of a record of `def`.
pub fn key_of(def: &ir::StateDef, record: &Value) -> Key {
    match record {
        Value::Record(fields) => def
            .keys
            .iter()
            .map(|i| fields.get(*i as usize).map(KeyPart::of).unwrap_or(KeyPart::None))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
        _ => Box::new([]),
    }
}

/// A key as text for traces and messages: its parts joined by `, `, enums by wire name.
pub fn describe_key(pkg: &ir::Package, def: &ir::StateDef, key: &[KeyPart]) -> String {
    KeyPart::describe_key_of(pkg, def.record, &def.keys, key)
}

/// A record of `def` as JSON text (as an event's data would carry it).
pub fn record_json(pkg: &ir::Package, def: &ir::StateDef, record: &Value) -> String {
    let mut s = String::with_capacity(256);
    encode::value(&mut s, pkg, &Ty::Record(def.record), record);
    s
}

/// [`record_json`] with the package's names escaped once (`encode::Names`).
pub fn record_json_named(pkg: &ir::Package, names: &encode::Names, def: &ir::StateDef, record: &Value) -> String {
    let mut s = String::with_capacity(512);
    encode::value_named(&mut s, pkg, names, &Ty::Record(def.record), record);
    s
}

/// A key as a JSON array of its fields' values (the snapshot's `key`).
pub fn key_json(pkg: &ir::Package, def: &ir::StateDef, record: &Value) -> String {
    let mut s = String::from("[");
    let fields = pkg.record(def.record).map(|r| r.fields.as_slice()).unwrap_or(&[]);
    if let Value::Record(vals) = record {
        for (n, i) in def.keys.iter().enumerate() {
            if n > 0 {
                s.push(',');
            }
            let ty = fields.get(*i as usize).map(|f| f.ty.clone()).unwrap_or(Ty::Error);
            encode::value(&mut s, pkg, &ty, vals.get(*i as usize).unwrap_or(&Value::None));
        }
    }
    s.push(']');
    s
}

/// Every state of a package in memory, with its metrics maintained on each write.
#[derive(Debug, Clone)]
pub struct Store {
    maps: Vec<FxHashMap<Key, Value>>,
    metrics: Metrics,
}

impl StateView for Store {
    fn get(&self, state: StateId, key: &[KeyPart]) -> Option<Value> {
        self.maps.get(state.0 as usize)?.get(key).cloned()
    }
}

impl Store {
    pub fn new(pkg: &ir::Package) -> Store {
        Store { maps: vec![FxHashMap::default(); pkg.states.len()], metrics: Metrics::new(pkg) }
    }

    /// The record at `key`, borrowed.
    pub fn record(&self, state: StateId, key: &[KeyPart]) -> Option<&Value> {
        self.maps.get(state.0 as usize)?.get(key)
    }

    /// The number of records of a state.
    pub fn len(&self, state: StateId) -> usize {
        self.maps.get(state.0 as usize).map(FxHashMap::len).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.maps.iter().all(FxHashMap::is_empty)
    }

    /// The records of a state, in no particular order.
    pub fn records(&self, state: StateId) -> impl Iterator<Item = (&Key, &Value)> {
        self.maps.get(state.0 as usize).into_iter().flat_map(|m| m.iter())
    }

    /// Removes every record of a state (a test's `with`), the metrics following.
    pub fn clear(&mut self, pkg: &ir::Package, tables: &Tables, state: StateId) -> Result<(), Fault> {
        let writes: Vec<Write> = self
            .records(state)
            .map(|(key, v)| Write {
                state,
                key: key.clone(),
                before: Some(v.clone()),
                after: None,
                loc: Loc::default(),
            })
            .collect();
        self.apply(pkg, tables, &writes)
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Applies an accepted event's writes, in order, with the metrics. A
    /// fault of a metric's expressions or sums applies none of them.
    pub fn apply(&mut self, pkg: &ir::Package, tables: &Tables, writes: &[Write]) -> Result<(), Fault> {
        self.metrics.apply(pkg, tables, writes, false)?;
        self.put_all(writes);
        Ok(())
    }

    /// Applies an accepted outcome's writes, its metrics with them. When a
    /// metric's expressions fault (LANGUAGE.md §4.6) the event is rejected
    /// instead: its emits are dropped, the fault is its rejection, and none
    /// of its writes is applied. With `touched`, what was applied says which
    /// metric cells changed (for a durable state to write through).
    pub fn apply_outcome(
        &mut self,
        pkg: &ir::Package,
        tables: &Tables,
        o: &mut crate::engine::Outcome,
        touched: bool,
    ) -> Applied {
        let writes = std::mem::take(&mut o.writes);
        if writes.is_empty() {
            return Applied::default();
        }
        match self.metrics.apply(pkg, tables, &writes, touched) {
            Ok(cells) => {
                self.put_all(&writes);
                Applied { writes, cells }
            }
            Err(f) => {
                let at = pkg.loc_string(f.loc);
                o.status = crate::engine::Status::Rejected;
                o.emits.clear();
                o.rejections.push(f.into_rejection(at));
                Applied::default()
            }
        }
    }

    /// Puts a record as a durable state kept it, leaving the metrics alone
    /// (they are kept too, and loaded with [`Store::metrics_mut`]); returns
    /// its key. A record there already is replaced.
    pub fn put_loaded(&mut self, pkg: &ir::Package, state: StateId, record: Value) -> Option<Key> {
        let def = pkg.state(state)?;
        let key = key_of(def, &record);
        let map = self.maps.get_mut(state.0 as usize)?;
        map.insert(key.clone(), record);
        Some(key)
    }

    /// The metrics, to load the cells a durable state kept.
    pub fn metrics_mut(&mut self) -> &mut Metrics {
        &mut self.metrics
    }

    /// Computes every metric again from the records (a durable state whose
    /// package changed: its metrics may be defined otherwise now). On a
    /// fault the metrics are left empty and the fault returned.
    pub fn rebuild_metrics(&mut self, pkg: &ir::Package, tables: &Tables) -> Result<(), Fault> {
        let mut metrics = Metrics::new(pkg);
        for (i, map) in self.maps.iter().enumerate() {
            let state = StateId(i as u32);
            if !pkg.metrics.iter().any(|m| m.state == state) {
                continue;
            }
            let writes: Vec<Write> = map
                .iter()
                .map(|(key, v)| Write {
                    state,
                    key: key.clone(),
                    before: None,
                    after: Some(v.clone()),
                    loc: Loc::default(),
                })
                .collect();
            if let Err(f) = metrics.apply(pkg, tables, &writes, false) {
                self.metrics = Metrics::new(pkg);
                return Err(f);
            }
        }
        self.metrics = metrics;
        Ok(())
    }

    /// As [`Store::apply`], taking the writes: their keys and records move
    /// into the store instead of being copied (`canon run`).
    pub fn apply_owned(&mut self, pkg: &ir::Package, tables: &Tables, writes: Vec<Write>) -> Result<(), Fault> {
        self.metrics.apply(pkg, tables, &writes, false)?;
        for w in writes {
            let Some(map) = self.maps.get_mut(w.state.0 as usize) else { continue };
            match w.after {
                Some(v) => {
                    map.insert(w.key, v);
                }
                None => {
                    map.remove(&w.key);
                }
            }
        }
        Ok(())
    }

    /// Applies writes to the records only (their metrics already applied).
    fn put_all(&mut self, writes: &[Write]) {
        for w in writes {
            let Some(map) = self.maps.get_mut(w.state.0 as usize) else { continue };
            match &w.after {
                Some(v) => {
                    map.insert(w.key.clone(), v.clone());
                }
                None => {
                    map.remove(&w.key);
                }
            }
        }
    }

    /// As [`Store::apply`], and the metric cells it touched (for a durable state to write through).
    pub fn apply_touched(
        &mut self,
        pkg: &ir::Package,
        tables: &Tables,
        writes: &[Write],
    ) -> Result<Vec<(usize, crate::metrics::CellKey)>, Fault> {
        let touched = self.metrics.apply(pkg, tables, writes, true)?;
        self.put_all(writes);
        Ok(touched)
    }

    /// Puts a record as it is read from a snapshot (the metrics follow).
    pub fn load_record(
        &mut self,
        pkg: &ir::Package,
        tables: &Tables,
        state: StateId,
        record: Value,
    ) -> Result<(), Fault> {
        let Some(def) = pkg.state(state) else { return Ok(()) };
        let key = key_of(def, &record);
        let before = self.record(state, &key).cloned();
        let w = Write { state, key, before, after: Some(record), loc: Loc::default() };
        self.apply(pkg, tables, std::slice::from_ref(&w))
    }

    /// The snapshot (RUNTIME.md §7.1): one line a record, sorted by state
    /// name, then by key as JSON text.
    pub fn write_snapshot(&self, pkg: &ir::Package, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.write_snapshot_of(pkg, None, out)
    }

    /// As [`Store::write_snapshot`], of one state only when `only` names it.
    pub fn write_snapshot_of(
        &self,
        pkg: &ir::Package,
        only: Option<StateId>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut order: Vec<(usize, &ir::StateDef)> =
            pkg.states.iter().enumerate().filter(|(i, _)| only.is_none_or(|s| s.0 as usize == *i)).collect();
        order.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        for (i, def) in order {
            let mut lines: Vec<(String, String)> = self
                .records(StateId(i as u32))
                .map(|(_, v)| (key_json(pkg, def, v), record_json(pkg, def, v)))
                .collect();
            lines.sort();
            for (key, record) in lines {
                let mut line = String::with_capacity(key.len() + record.len() + 48);
                line.push_str("{\"state\":");
                encode::json_str(&mut line, &def.name);
                let _ = write!(line, ",\"key\":{key},\"record\":{record}}}");
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Reads a snapshot; an error names the line and what is wrong with it.
    pub fn read_snapshot(pkg: &ir::Package, tables: &Tables, text: &str) -> Result<Store, SnapshotError> {
        let mut store = Store::new(pkg);
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (n, raw) in text.lines().enumerate() {
            let line = (n + 1) as u64;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.trim().is_empty() {
                continue;
            }
            let err = |message: String| SnapshotError { line, message };
            let obj: HashMap<Cow<'_, str>, &serde_json::value::RawValue> =
                serde_json::from_str(raw).map_err(|e| err(format!("not a JSON object: {e}")))?;
            let name: String = match obj.get("state") {
                Some(v) => serde_json::from_str(v.get()).map_err(|_| err("`state` is not a string".into()))?,
                None => return Err(err("no `state`".into())),
            };
            let Some((id, def)) = pkg.state_by_name(&name) else {
                return Err(err(format!("the package declares no state `{name}`")));
            };
            let Some(record) = obj.get("record") else { return Err(err("no `record`".into())) };
            let value = decode_record(pkg, def, record.get()).map_err(err)?;
            let key = key_json(pkg, def, &value);
            if let Some(k) = obj.get("key") {
                let given: serde_json::Value =
                    serde_json::from_str(k.get()).map_err(|e| err(format!("`key` is not JSON: {e}")))?;
                let own: serde_json::Value = serde_json::from_str(&key).unwrap_or(serde_json::Value::Null);
                if !same_key(&given, &own) {
                    return Err(err(format!("`key` {} is not the record's key {key}", k.get())));
                }
            }
            let k = key_of(def, &value);
            if store.record(id, &k).is_some() {
                return Err(err(format!("state `{name}` has key {key} twice")));
            }
            store.load_record(pkg, tables, id, value).map_err(|f| err(f.message))?;
        }
        Ok(store)
    }
}

/// Reads a record of `def` from its JSON text (a snapshot's `record`, a
/// durable state's row); an error gives the JSON Pointer (under `/record`)
/// and what is wrong.
pub fn decode_record(pkg: &ir::Package, def: &ir::StateDef, text: &str) -> Result<Value, String> {
    let mut dec = Decoder::new(pkg, "/record");
    dec.decode(&Ty::Record(def.record), text).map_err(|e| format!("{}: {}", e.path, e.message))
}

/// What [`Store::apply_outcome`] applied: the writes, and the metric cells
/// they changed (when asked for).
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub writes: Vec<Write>,
    pub cells: Vec<(usize, crate::metrics::CellKey)>,
}

/// Whether two key texts (JSON arrays, a snapshot's `key`) name the same
/// key: decimals by value (`7.5` and `"7.50"`).
pub fn same_key_text(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<serde_json::Value>(a), serde_json::from_str::<serde_json::Value>(b)) {
        (Ok(x), Ok(y)) => same_key(&x, &y),
        _ => a == b,
    }
}

/// Whether two keys in JSON are the same, numbers (decimals) by value.
fn same_key(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_key(p, q)),
        (J::String(x), J::Number(y)) | (J::Number(y), J::String(x)) => {
            x.parse::<canon_stdlib::Decimal>().ok() == y.to_string().parse::<canon_stdlib::Decimal>().ok()
        }
        (J::String(x), J::String(y)) => {
            x == y
                || matches!((x.parse::<canon_stdlib::Decimal>(), y.parse::<canon_stdlib::Decimal>()), (Ok(p), Ok(q)) if p == q)
        }
        _ => a == b,
    }
}

/// A snapshot line that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SnapshotError {
    pub line: u64,
    pub message: String,
}
