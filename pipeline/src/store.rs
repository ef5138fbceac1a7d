//! State across events in the state directory (RUNTIME.md §7.2): the
//! records of each state (`state_records`) and the cells of each metric
//! (`metric_cells`), kept per package name: each row refers to its state's
//! or metric's name (with the package's) in `state_names` by id.
//!
//! A run that writes (`canon process`, `canon exceptions retry`) loads them
//! once into a runtime [`Store`] in memory ([`Durable::open`]): the records
//! decoded by the package's types, the metric cells as they were kept (not
//! computed again), unless another package version maintained them, in
//! which case they are computed again from the records and written back
//! first. Events are then evaluated in input order against the `Store`,
//! each accepted event's writes applied to it at once (so the next event,
//! committed or not, sees them), and the records and cells a batch changed
//! are written, as they are at the batch's end, in the batch's transaction
//! ([`Durable::flush`]): with the ledger, the outbox and the exceptions, or
//! not at all.
//!
//! The readers (`canon state`, the metrics of `canon status`) read the
//! tables directly and change nothing.

use std::path::Path;

use canon_compiler::ir::{self, StateId};
use canon_runtime::metrics::{Acc, Cell, CellKey, MetricReport, Metrics};
use canon_runtime::state::{decode_record, key_json, key_of, record_json, Key, Store};
use canon_runtime::{Outcome, Tables, Value};
use canon_stdlib::Timestamp;
use rusqlite::{Connection, OptionalExtension};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Error, Result};
use crate::lineage::{Shapes, StepCache, Steps};

/// The name a package's state is kept under: its directory's name (the
/// parent directory's for a package of one file), so that a new version of
/// the package, in the same directory, reads the state the last one left.
pub fn package_name(root: &Path) -> String {
    let abs = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    abs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| abs.display().to_string())
}

/// A package's state, loaded from the state directory, with what has
/// changed since it was last written back.
pub struct Durable {
    /// The ids of the package's states' and metrics' names.
    names: NameIds,
    pub(crate) store: Store,
    tables: Tables,
    /// Per state, the records written since the last flush, each with its
    /// row in the database.
    dirty: Vec<FxHashMap<Key, Row>>,
    /// Per state, whether a key's text can change while the key stays the
    /// same (a Decimal or Money key field: `7.5` and `7.50`).
    rescalable: Vec<bool>,
    /// Metric cells changed since the last flush.
    cells: FxHashSet<(usize, CellKey)>,
    /// The writes of the last outcome applied, each with its ordinal among
    /// the outcome's writes (= its `write` step's among its trace's), until
    /// [`Durable::written_by`] names the event's row.
    pending: Vec<(StateId, Key, u32)>,
    /// Per state, the records written since the last flush whose text is
    /// the record after of a `write` step in the trace of a known event
    /// row: (event, ordinal). The next flush stores a reference to it.
    refs: Vec<FxHashMap<Key, (i64, u32)>>,
}

/// The database's row of a record written since the last flush.
#[derive(Debug, Clone)]
enum Row {
    /// None.
    Absent,
    /// The row of this record, as last written back (or loaded).
    Of(Value),
    /// A row whose key text is this one (loaded with a key text other than
    /// the package's: it is rewritten under the package's).
    Text(String),
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable").field("names", &self.names).finish_non_exhaustive()
    }
}

/// The `age_at` of a cell of a metric without `age` (the least BIGINT: a
/// key column is never NULL).
const NO_AGE: i64 = i64::MIN;

/// The ids of a package's state and metric names in `state_names`, by
/// [`StateId`] and by metric index.
#[derive(Debug, Clone, Default)]
struct NameIds {
    states: Vec<i64>,
    metrics: Vec<i64>,
}

impl NameIds {
    /// The ids of `pkg`'s names, given to those that have none yet.
    fn of(conn: &Connection, pkg: &ir::Package, package: &str) -> Result<NameIds> {
        let id = |kind: &str, name: &str| -> Result<i64> {
            conn.prepare_cached(
                "INSERT INTO state_names (package, kind, name) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?
            .execute([package, kind, name])?;
            Ok(conn
                .prepare_cached("SELECT id FROM state_names WHERE package = ?1 AND kind = ?2 AND name = ?3")?
                .query_row([package, kind, name], |r| r.get(0))?)
        };
        let states = pkg.states.iter().map(|s| id("state", &s.name)).collect::<Result<_>>()?;
        let metrics = pkg.metrics.iter().map(|m| id("metric", &m.name)).collect::<Result<_>>()?;
        Ok(NameIds { states, metrics })
    }
}

/// A record row that the package cannot read (RUNTIME.md §7.2).
fn misfit(state: &str, key: &str, message: impl std::fmt::Display) -> Error {
    Error::StateRecord { state: state.to_string(), key: key.to_string(), message: message.to_string() }
}

/// Reads the records of `package` into a store (without metrics). Records
/// of a state the package does not declare are left out (their count is
/// returned). A record whose key text is not the one the package gives it
/// now is noted in `rekey` (with its row's key text).
fn load_records(
    conn: &Connection,
    pkg: &ir::Package,
    package: &str,
    only: Option<StateId>,
    mut rekey: Option<&mut Vec<(StateId, Key, String)>>,
) -> Result<(Store, u64)> {
    let mut store = Store::new(pkg);
    let mut undeclared = 0u64;
    let shapes = Shapes::load(conn)?;
    let mut st = conn.prepare_cached(
        "SELECT n.name, r.key, r.record, e.trace FROM state_names n JOIN state_records r ON r.state = n.id
         LEFT JOIN events e ON e.id = r.writer
         WHERE n.package = ?1 AND n.kind = 'state'",
    )?;
    let mut rows = st.query([package])?;
    while let Some(r) = rows.next()? {
        let name = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        let key = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
        let Some((id, def)) = pkg.state_by_name(name) else {
            undeclared += 1;
            continue;
        };
        if only.is_some_and(|o| o != id) {
            continue;
        }
        let text = shapes
            .record(r.get_ref(2)?, r.get_ref(3)?)
            .ok_or_else(|| misfit(name, key, "its stored form cannot be read"))?;
        let value = decode_record(pkg, def, &text).map_err(|m| misfit(name, key, m))?;
        let k = key_of(def, &value);
        if store.record(id, &k).is_some() {
            return Err(misfit(name, key, "another row holds a record with the same key"));
        }
        let own = key_json(pkg, def, &value);
        if own != key {
            match rekey.as_deref_mut() {
                Some(rekey) => rekey.push((id, k, key.to_string())),
                None if !canon_runtime::state::same_key_text(&own, key) => {
                    return Err(misfit(name, key, format!("the record's key is {own} by the package's key fields")));
                }
                None => {}
            }
        }
        store.put_loaded(pkg, id, value);
    }
    Ok((store, undeclared))
}

/// The version that maintained `package`'s metric cells, if any.
fn metrics_version(conn: &Connection, package: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT metrics_version FROM state_packages WHERE package = ?1", [package], |r| r.get(0))
        .optional()?)
}

/// A cell's group as its JSON array text.
fn by_values(key: &CellKey) -> String {
    let mut s = String::with_capacity(2 + key.group.iter().map(|g| g.len() + 1).sum::<usize>());
    s.push('[');
    for (i, g) in key.group.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(g);
    }
    s.push(']');
    s
}

/// Loads `package`'s kept cells into `metrics` (by metric name).
fn load_cells(conn: &Connection, pkg: &ir::Package, package: &str, metrics: &mut Metrics) -> Result<()> {
    let mut st = conn.prepare(
        "SELECT n.name, c.by_values, c.age_at, c.records, c.acc FROM state_names n JOIN metric_cells c ON c.metric = n.id
         WHERE n.package = ?1 AND n.kind = 'metric'",
    )?;
    let mut rows = st.query([package])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let by: String = r.get(1)?;
        let at: i64 = r.get(2)?;
        let at = (at != NO_AGE).then_some(at);
        let records: i64 = r.get(3)?;
        let acc: String = r.get(4)?;
        let Some(i) = pkg.metrics.iter().position(|m| m.name == name) else { continue };
        let bad = || Error::CorruptDb(format!("metric `{name}` has a cell that cannot be read: {by} {acc}"));
        // Each value exactly as it was written (the group is compared as text).
        let parts: Vec<&serde_json::value::RawValue> = serde_json::from_str(&by).map_err(|_| bad())?;
        let group: Box<[String]> = parts.iter().map(|p| p.get().to_string()).collect();
        let acc = Acc::from_text(&acc).ok_or_else(bad)?;
        metrics.set_cell(i, CellKey { group, at }, Cell { records, acc });
    }
    Ok(())
}

/// Writes one cell as it is in `metrics` (deleted when it holds no record).
fn write_cell(conn: &Connection, names: &NameIds, metrics: &Metrics, i: usize, key: &CellKey) -> Result<()> {
    let Some(&metric) = names.metrics.get(i) else { return Ok(()) };
    let value = metrics.cell(i, key).map(|c| (c.records, c.acc.to_text()));
    write_cell_row(conn, metric, &by_values(key), key.at, value.as_ref().map(|(n, acc)| (*n, acc.as_str())))
}

/// Writes a cell of the metric whose name has the id `metric`: its number
/// of records and its sum, or, with `None`, its deletion.
fn write_cell_row(conn: &Connection, metric: i64, by: &str, at: Option<i64>, value: Option<(i64, &str)>) -> Result<()> {
    let at = at.unwrap_or(NO_AGE);
    match value {
        Some((records, acc)) => {
            conn.prepare_cached(
                "INSERT INTO metric_cells (metric, by_values, age_at, records, acc) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (metric, by_values, age_at) DO UPDATE SET records = excluded.records, acc = excluded.acc",
            )?
            .execute(rusqlite::params![metric, by, at, records, acc])?;
        }
        None => {
            conn.prepare_cached("DELETE FROM metric_cells WHERE metric = ?1 AND by_values = ?2 AND age_at = ?3")?
                .execute(rusqlite::params![metric, by, at])?;
        }
    }
    Ok(())
}

/// Replaces every cell of `package` with `metrics`', maintained by `version`.
fn write_all_cells(
    conn: &Connection,
    package: &str,
    names: &NameIds,
    pkg: &ir::Package,
    metrics: &Metrics,
    version: &str,
) -> Result<()> {
    conn.execute(
        "DELETE FROM metric_cells WHERE metric IN (SELECT id FROM state_names WHERE package = ?1 AND kind = 'metric')",
        [package],
    )?;
    for i in 0..pkg.metrics.len() {
        let keys: Vec<CellKey> = metrics.cells(i).map(|(k, _)| k.clone()).collect();
        for k in keys {
            write_cell(conn, names, metrics, i, &k)?;
        }
    }
    conn.execute(
        "INSERT INTO state_packages (package, metrics_version) VALUES (?1, ?2)
         ON CONFLICT (package) DO UPDATE SET metrics_version = excluded.metrics_version",
        [package, version],
    )?;
    Ok(())
}

/// A metric whose expressions fault on a kept record (a new package version).
fn metric_fault(pkg: &ir::Package, f: &canon_runtime::Fault) -> Error {
    Error::Other(format!(
        "the package's metrics cannot be computed over the state's records: {} ({} at {}); nothing was processed",
        f.message,
        f.code.as_str(),
        pkg.loc_string(f.loc)
    ))
}

impl Durable {
    /// Loads the state of the package `package` (version `version`) for a
    /// run that writes, under the state's lock: the records, and the
    /// metric cells as they were kept; when another version (or none)
    /// maintained the cells, they are computed from the records and written
    /// back, in a transaction of their own, before anything else.
    pub fn open(conn: &Connection, pkg: &ir::Package, tables: Tables, package: &str, version: &str) -> Result<Durable> {
        let mut rekey = Vec::new();
        let (mut store, _) = load_records(conn, pkg, package, None, Some(&mut rekey))?;
        let names = NameIds::of(conn, pkg, package)?;
        let mut dirty: Vec<FxHashMap<Key, Row>> = vec![FxHashMap::default(); pkg.states.len()];
        for (state, key, text) in rekey {
            if let Some(map) = dirty.get_mut(state.0 as usize) {
                map.insert(key, Row::Text(text));
            }
        }
        let rescalable = pkg
            .states
            .iter()
            .map(|def| {
                let fields = pkg.record(def.record).map(|r| r.fields.as_slice()).unwrap_or(&[]);
                def.keys.iter().filter_map(|i| fields.get(*i as usize)).any(|f| {
                    matches!(f.ty.strip(), canon_compiler::types::Ty::Decimal | canon_compiler::types::Ty::Money)
                })
            })
            .collect();
        if metrics_version(conn, package)?.as_deref() == Some(version) {
            load_cells(conn, pkg, package, store.metrics_mut())?;
        } else {
            store.rebuild_metrics(pkg, &tables).map_err(|f| metric_fault(pkg, &f))?;
            let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
            write_all_cells(&tx, package, &names, pkg, store.metrics(), version)?;
            tx.commit()?;
        }
        Ok(Durable {
            names,
            store,
            tables,
            dirty,
            rescalable,
            cells: FxHashSet::default(),
            pending: Vec::new(),
            refs: vec![FxHashMap::default(); pkg.states.len()],
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Applies an accepted outcome's writes to the store (a metric's fault
    /// rejects it instead, as in `canon run`), noting what the next flush
    /// writes back.
    pub fn apply(&mut self, pkg: &ir::Package, o: &mut Outcome) {
        self.apply_noting(pkg, o);
        // No trace to refer to: the records are stored whole.
        self.pending.clear();
    }

    /// [`Durable::apply`], noting its writes in `pending`.
    fn apply_noting(&mut self, pkg: &ir::Package, o: &mut Outcome) {
        let applied = self.store.apply_outcome(pkg, &self.tables, o, true);
        self.pending.clear();
        for (i, w) in applied.writes.iter().enumerate() {
            // What a key's record is now is this write's record after: no
            // earlier write's reference holds, and this one holds once the
            // event's row is known.
            if let Some(refs) = self.refs.get_mut(w.state.0 as usize) {
                refs.remove(&*w.key);
            }
            match w.after {
                Some(_) => self.pending.push((w.state, w.key.clone(), i as u32)),
                None => self.pending.retain(|(s, k, _)| !(*s == w.state && **k == *w.key)),
            }
            if w.before.is_none() && w.after.is_none() {
                continue;
            }
            // The first write since the last flush: its record before is the
            // one the database holds.
            let Some(map) = self.dirty.get_mut(w.state.0 as usize) else { continue };
            if !map.contains_key(&*w.key) {
                let row = w.before.clone().map(Row::Of).unwrap_or(Row::Absent);
                map.insert(w.key.clone(), row);
            }
        }
        self.cells.extend(applied.cells);
    }

    /// As [`Durable::apply`], for an outcome whose lineage is `trace`: its
    /// writes are referred to by their `write` steps there
    /// ([`Durable::written_by`]) only when the trace has one per write.
    pub fn apply_traced(&mut self, pkg: &ir::Package, o: &mut Outcome, trace: &[canon_runtime::TraceEvent]) {
        let writes = o.writes.len();
        let steps = trace.iter().filter(|t| matches!(t, canon_runtime::TraceEvent::Write { .. })).count();
        self.apply_noting(pkg, o);
        if writes != steps {
            self.pending.clear();
        }
    }

    /// Names the event row whose trace holds the writes of the outcome
    /// applied last (its lineage, stored): the records they left are
    /// stored as references to their `write` steps. Without it, they are
    /// stored whole.
    pub fn written_by(&mut self, event: i64) {
        for (state, key, ordinal) in self.pending.drain(..) {
            if let Some(refs) = self.refs.get_mut(state.0 as usize) {
                refs.insert(key, (event, ordinal));
            }
        }
    }

    /// What changed since the last delta was taken, as it is now: each
    /// record and metric cell once, encoded for [`write_delta`]. The next
    /// delta starts from here.
    pub fn take_delta(&mut self, delta: &mut Delta) {
        // The records as values (shared, not copied): the writer encodes them.
        for (i, map) in self.dirty.iter_mut().enumerate() {
            let state = StateId(i as u32);
            let rescalable = self.rescalable.get(i).copied().unwrap_or(true);
            let mut refs = self.refs.get_mut(i);
            for (key, row) in map.drain() {
                let writer = refs.as_deref_mut().and_then(|r| r.remove(&key));
                match (self.store.record(state, &key), row) {
                    // The same key: the same text, unless a decimal's scale changed it.
                    (Some(record), Row::Of(_)) if !rescalable => {
                        delta.rows.push(DeltaRow::Put { state, record: record.clone(), row: None, writer });
                    }
                    (Some(record), row) => {
                        delta.rows.push(DeltaRow::Put { state, record: record.clone(), row: Some(row), writer })
                    }
                    (None, Row::Absent) => {}
                    (None, row) => delta.rows.push(DeltaRow::Delete { state, row }),
                }
            }
        }
        let metrics = self.store.metrics();
        for (metric, key) in self.cells.drain() {
            let value = metrics.cell(metric, &key).map(|c| (c.records, c.acc.to_text()));
            delta.rows.push(DeltaRow::Cell { metric, by: by_values(&key), at: key.at, value });
        }
    }

    /// Writes the records and cells changed since the last flush, as they
    /// are now, in the caller's transaction.
    /// Records are packed by `packer` (the writer's, which knows their
    /// shapes' ids already), new shapes given ids by `steps`, which the
    /// caller saves in the same transaction.
    pub fn flush(&mut self, conn: &Connection, pkg: &ir::Package, steps: &Steps, packer: &mut StepCache) -> Result<()> {
        let mut delta = Delta::default();
        self.take_delta(&mut delta);
        write_delta(conn, &self.names, pkg, &delta, &mut |text, out| packer.pack(steps, text, out))
    }
}

/// Changes to a package's state, each record and cell as it is to be
/// written ([`Durable::take_delta`], [`write_delta`]).
#[derive(Debug, Default)]
pub struct Delta {
    rows: Vec<DeltaRow>,
}

impl Delta {
    pub fn clear(&mut self) {
        self.rows.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[derive(Debug)]
enum DeltaRow {
    /// A record, and its row (`None`: its row, if any, has its key text):
    /// a row with another key text (a key written with another scale) is
    /// replaced. With `writer`, the record is the record after of a `write`
    /// step in that event's trace: (event, ordinal).
    Put { state: StateId, record: Value, row: Option<Row>, writer: Option<(i64, u32)> },
    /// The row deleted.
    Delete { state: StateId, row: Row },
    /// A metric cell as it is now (`None`: no record contributes: deleted).
    Cell { metric: usize, by: String, at: Option<i64>, value: Option<(i64, String)> },
}

/// The key text of a record's row in the database.
fn row_key(pkg: &ir::Package, def: &ir::StateDef, row: &Row) -> Option<String> {
    match row {
        Row::Absent => None,
        Row::Of(record) => Some(key_json(pkg, def, record)),
        Row::Text(text) => Some(text.clone()),
    }
}

/// Writes a delta of a package's state (its names' ids `names`) in the
/// caller's transaction, each record packed by `pack` ([`crate::packed`]).
fn write_delta(
    conn: &Connection,
    names: &NameIds,
    pkg: &ir::Package,
    delta: &Delta,
    pack: &mut dyn FnMut(&str, &mut Vec<u8>),
) -> Result<()> {
    let mut packed = Vec::with_capacity(256);
    for row in &delta.rows {
        match row {
            DeltaRow::Put { state, record, row, writer } => {
                let (Some(def), Some(id)) = (pkg.state(*state), names.states.get(state.0 as usize)) else { continue };
                let key = key_json(pkg, def, record);
                if let Some(old) = row.as_ref().and_then(|r| row_key(pkg, def, r)).filter(|old| *old != key) {
                    conn.prepare_cached("DELETE FROM state_records WHERE state = ?1 AND key = ?2")?
                        .execute(rusqlite::params![id, old])?;
                }
                packed.clear();
                match writer {
                    Some((_, ordinal)) => crate::packed::put_ref(&mut packed, *ordinal),
                    None => pack(&record_json(pkg, def, record), &mut packed),
                }
                st_put(conn)?.execute(rusqlite::params![id, key, packed, writer.map(|w| w.0)])?;
            }
            DeltaRow::Delete { state, row } => {
                let (Some(def), Some(id)) = (pkg.state(*state), names.states.get(state.0 as usize)) else { continue };
                if let Some(key) = row_key(pkg, def, row) {
                    conn.prepare_cached("DELETE FROM state_records WHERE state = ?1 AND key = ?2")?
                        .execute(rusqlite::params![id, key])?;
                }
            }
            DeltaRow::Cell { metric, by, at, value } => {
                let Some(&id) = names.metrics.get(*metric) else { continue };
                write_cell_row(conn, id, by, *at, value.as_ref().map(|(n, acc)| (*n, acc.as_str())))?;
            }
        }
    }
    Ok(())
}

/// Writes a record row.
fn st_put(conn: &Connection) -> rusqlite::Result<rusqlite::CachedStatement<'_>> {
    conn.prepare_cached(
        "INSERT INTO state_records (state, key, record, writer) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (state, key) DO UPDATE SET record = excluded.record, writer = excluded.writer",
    )
}

/// A state and its number of records (`canon state list`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StateCount {
    pub state: String,
    pub records: i64,
    /// Whether the package declares it (records of a state it no longer
    /// declares are kept, and not read).
    pub declared: bool,
}

/// Every state of `package` with its number of records: those the package
/// declares, in declaration order, then any others the state directory holds.
pub fn list(conn: &Connection, pkg: &ir::Package, package: &str) -> Result<Vec<StateCount>> {
    let mut counts: Vec<StateCount> =
        pkg.states.iter().map(|s| StateCount { state: s.name.clone(), records: 0, declared: true }).collect();
    let mut st = conn.prepare(
        "SELECT n.name, count(*) FROM state_names n JOIN state_records r ON r.state = n.id
             WHERE n.package = ?1 AND n.kind = 'state' GROUP BY n.name ORDER BY n.name",
    )?;
    let mut rows = st.query([package])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let n: i64 = r.get(1)?;
        match counts.iter_mut().find(|c| c.state == name) {
            Some(c) => c.records = n,
            None => counts.push(StateCount { state: name, records: n, declared: false }),
        }
    }
    Ok(counts)
}

/// A state the package must declare.
fn declared<'p>(pkg: &'p ir::Package, name: &str) -> Result<(StateId, &'p ir::StateDef)> {
    pkg.state_by_name(name).ok_or_else(|| {
        let known: Vec<&str> = pkg.states.iter().map(|s| s.name.as_str()).collect();
        Error::NotFoundText(if known.is_empty() {
            format!("the package declares no state `{name}` (it declares none)")
        } else {
            format!("the package declares no state `{name}` (it has: {})", known.join(", "))
        })
    })
}

/// One record of a state, as a snapshot line's parts (`key`, `record`):
/// `key` holds the key fields' values, as JSON values or as text.
pub fn show(
    conn: &Connection,
    pkg: &ir::Package,
    package: &str,
    name: &str,
    key: &[String],
) -> Result<(String, String)> {
    let (id, def) = declared(pkg, name)?;
    let fields = pkg.record(def.record).map(|r| r.fields.as_slice()).unwrap_or(&[]);
    if key.len() != def.keys.len() {
        let names: Vec<&str> =
            def.keys.iter().filter_map(|i| fields.get(*i as usize)).map(|f| f.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "state `{name}` is keyed by {} field(s) ({}), and {} value(s) were given",
            def.keys.len(),
            names.join(", "),
            key.len()
        )));
    }
    // The key as the package writes it: each value read by its field's type,
    // as JSON (`5`, `"7.50"`) or else as text (`TS-1`).
    let mut parts = Vec::with_capacity(key.len());
    let mut text = String::from("[");
    for (n, (given, i)) in key.iter().zip(&def.keys).enumerate() {
        let Some(field) = fields.get(*i as usize) else { continue };
        let mut dec = canon_runtime::decode::Decoder::new(pkg, "");
        let quoted = {
            let mut q = String::new();
            canon_runtime::encode::json_str(&mut q, given);
            q
        };
        let value = match dec.decode(&field.ty, given) {
            Ok(v) => v,
            Err(_) => canon_runtime::decode::Decoder::new(pkg, "").decode(&field.ty, &quoted).map_err(|e| {
                Error::Usage(format!("`{given}` is not a value of the key field `{}`: {}", field.name, e.message))
            })?,
        };
        if n > 0 {
            text.push(',');
        }
        canon_runtime::encode::value(&mut text, pkg, &field.ty, &value);
        parts.push(canon_runtime::value::KeyPart::of(&value));
    }
    text.push(']');
    // One read transaction: the shapes and the rows of one commit.
    let tx = conn.unchecked_transaction()?;
    let conn: &Connection = &tx;
    let shapes = Shapes::load(conn)?;
    let row: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT r.key, r.record, e.trace FROM state_names n JOIN state_records r ON r.state = n.id
             LEFT JOIN events e ON e.id = r.writer
             WHERE n.package = ?1 AND n.kind = 'state' AND n.name = ?2 AND r.key = ?3",
            rusqlite::params![package, name, text],
            |r| Ok((r.get(0)?, shapes.record(r.get_ref(1)?, r.get_ref(2)?))),
        )
        .optional()?;
    let row = match row {
        Some((key, Some(record))) => Some((key, record)),
        Some((key, None)) => return Err(misfit(name, &key, "its stored form cannot be read")),
        None => None,
    };
    let found = match row {
        Some(row) => Some(row),
        // A decimal key written with another scale (`7.5` for `7.50`): by value.
        None => {
            let (store, _) = load_records(conn, pkg, package, Some(id), None)?;
            store.record(id, &parts).map(|r| (key_json(pkg, def, r), record_json(pkg, def, r)))
        }
    };
    let Some((key_text, record)) = found else {
        return Err(Error::NotFoundText(format!("state `{name}` has no record with key {text}")));
    };
    let value = decode_record(pkg, def, &record).map_err(|m| misfit(name, &key_text, m))?;
    Ok((key_json(pkg, def, &value), record_json(pkg, def, &value)))
}

/// The snapshot of `package`'s state (RUNTIME.md §7.1), of one state when
/// `only` names one: exactly what `canon run --state-out` writes and
/// `--state-in` reads. Returns how many rows of undeclared states were left out.
pub fn export(
    conn: &Connection,
    pkg: &ir::Package,
    package: &str,
    only: Option<&str>,
    out: &mut dyn std::io::Write,
) -> Result<u64> {
    let only = match only {
        Some(name) => Some(declared(pkg, name)?.0),
        None => None,
    };
    // One read transaction: the shapes and the rows of one commit.
    let tx = conn.unchecked_transaction()?;
    let (store, undeclared) = load_records(&tx, pkg, package, only, None)?;
    store.write_snapshot_of(pkg, only, out).map_err(Error::Output)?;
    Ok(if only.is_some() { 0 } else { undeclared })
}

/// The package's metrics (RUNTIME.md §7.3), from the kept cells; when the
/// package is not the version that maintained them (it changed since the
/// last run), computed from the records instead (then `true`).
pub fn metrics(
    conn: &Connection,
    pkg: &ir::Package,
    tables: &Tables,
    package: &str,
    version: &str,
    as_of: Option<Timestamp>,
) -> Result<(Vec<MetricReport>, bool)> {
    if pkg.metrics.is_empty() {
        return Ok((Vec::new(), false));
    }
    // One read transaction: the cells of one commit.
    let tx = conn.unchecked_transaction()?;
    let kept = metrics_version(&tx, package)?;
    if kept.as_deref() == Some(version) {
        let mut m = Metrics::new(pkg);
        load_cells(&tx, pkg, package, &mut m)?;
        return Ok((m.report(pkg, as_of), false));
    }
    let (mut store, _) = load_records(&tx, pkg, package, None, None)?;
    store.rebuild_metrics(pkg, tables).map_err(|f| metric_fault(pkg, &f))?;
    Ok((store.metrics().report(pkg, as_of), true))
}
