//! State across events in the state directory (RUNTIME.md §7.2): the
//! records of each state (`state_records`) and the cells of each metric
//! (`metric_cells`), kept per package name.
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
use canon_runtime::{Outcome, Tables};
use canon_stdlib::Timestamp;
use rusqlite::{Connection, OptionalExtension};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Error, Result};

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
    /// The package name the rows are kept under.
    pub(crate) package: String,
    pub(crate) store: Store,
    tables: Tables,
    /// Records written since the last flush, each with the key text of its
    /// row in the database (`None`: no row).
    dirty: FxHashMap<(StateId, Key), Option<String>>,
    /// Metric cells changed since the last flush.
    cells: FxHashSet<(usize, CellKey)>,
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable").field("package", &self.package).finish()
    }
}

/// A record row that the package cannot read (RUNTIME.md §7.2).
fn misfit(state: &str, key: &str, message: impl std::fmt::Display) -> Error {
    Error::StateRecord { state: state.to_string(), key: key.to_string(), message: message.to_string() }
}

/// Reads the records of `package` into a store (without metrics). Records
/// of a state the package does not declare are left out (their count is
/// returned). A record whose key text is not the one the package gives it
/// now is noted in `rekey` (its row's key text).
fn load_records(
    conn: &Connection,
    pkg: &ir::Package,
    package: &str,
    only: Option<StateId>,
    mut rekey: Option<&mut FxHashMap<(StateId, Key), Option<String>>>,
) -> Result<(Store, u64)> {
    let mut store = Store::new(pkg);
    let mut undeclared = 0u64;
    let mut st = conn.prepare_cached("SELECT state, key, record FROM state_records WHERE package = ?1")?;
    let mut rows = st.query([package])?;
    while let Some(r) = rows.next()? {
        let name = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        let key = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
        let text = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
        let Some((id, def)) = pkg.state_by_name(name) else {
            undeclared += 1;
            continue;
        };
        if only.is_some_and(|o| o != id) {
            continue;
        }
        let value = decode_record(pkg, def, text).map_err(|m| misfit(name, key, m))?;
        let k = key_of(def, &value);
        if store.record(id, &k).is_some() {
            return Err(misfit(name, key, "another row holds a record with the same key"));
        }
        let own = key_json(pkg, def, &value);
        if own != key {
            match rekey.as_deref_mut() {
                Some(rekey) => {
                    rekey.insert((id, k), Some(key.to_string()));
                }
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
    let mut st = conn.prepare("SELECT metric, by_values, age_at, records, acc FROM metric_cells WHERE package = ?1")?;
    let mut rows = st.query([package])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let by: String = r.get(1)?;
        let at: Option<i64> = r.get(2)?;
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
fn write_cell(
    conn: &Connection,
    package: &str,
    pkg: &ir::Package,
    metrics: &Metrics,
    i: usize,
    key: &CellKey,
) -> Result<()> {
    let Some(m) = pkg.metrics.get(i) else { return Ok(()) };
    let by = by_values(key);
    match metrics.cell(i, key) {
        Some(cell) => {
            let acc = cell.acc.to_text();
            let n = conn
                .prepare_cached(
                    "UPDATE metric_cells SET records = ?5, acc = ?6
                     WHERE package = ?1 AND metric = ?2 AND by_values = ?3 AND age_at IS NOT DISTINCT FROM ?4",
                )?
                .execute(rusqlite::params![package, m.name, by, key.at, cell.records, acc])?;
            if n == 0 {
                conn.prepare_cached(
                    "INSERT INTO metric_cells (package, metric, by_values, age_at, records, acc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(rusqlite::params![package, m.name, by, key.at, cell.records, acc])?;
            }
        }
        None => {
            conn.prepare_cached(
                "DELETE FROM metric_cells
                 WHERE package = ?1 AND metric = ?2 AND by_values = ?3 AND age_at IS NOT DISTINCT FROM ?4",
            )?
            .execute(rusqlite::params![package, m.name, by, key.at])?;
        }
    }
    Ok(())
}

/// Replaces every cell of `package` with `metrics`', maintained by `version`.
fn write_all_cells(
    conn: &Connection,
    package: &str,
    pkg: &ir::Package,
    metrics: &Metrics,
    version: &str,
) -> Result<()> {
    conn.execute("DELETE FROM metric_cells WHERE package = ?1", [package])?;
    for i in 0..pkg.metrics.len() {
        let keys: Vec<CellKey> = metrics.cells(i).map(|(k, _)| k.clone()).collect();
        for k in keys {
            write_cell(conn, package, pkg, metrics, i, &k)?;
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
        let mut dirty = FxHashMap::default();
        let (mut store, _) = load_records(conn, pkg, package, None, Some(&mut dirty))?;
        if metrics_version(conn, package)?.as_deref() == Some(version) {
            load_cells(conn, pkg, package, store.metrics_mut())?;
        } else {
            store.rebuild_metrics(pkg, &tables).map_err(|f| metric_fault(pkg, &f))?;
            let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
            write_all_cells(&tx, package, pkg, store.metrics(), version)?;
            tx.commit()?;
        }
        Ok(Durable { package: package.to_string(), store, tables, dirty, cells: FxHashSet::default() })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Applies an accepted outcome's writes to the store (a metric's fault
    /// rejects it instead, as in `canon run`), noting what the next flush
    /// writes back.
    pub fn apply(&mut self, pkg: &ir::Package, o: &mut Outcome) {
        let applied = self.store.apply_outcome(pkg, &self.tables, o, true);
        for w in &applied.writes {
            if w.before.is_none() && w.after.is_none() {
                continue;
            }
            // The first write since the last flush: its record before is the
            // one the database holds.
            self.dirty.entry((w.state, w.key.clone())).or_insert_with(|| match (&w.before, pkg.state(w.state)) {
                (Some(before), Some(def)) => Some(key_json(pkg, def, before)),
                _ => None,
            });
        }
        self.cells.extend(applied.cells);
    }

    /// Writes the records and cells changed since the last flush, as they
    /// are now, in the caller's transaction.
    pub fn flush(&mut self, conn: &Connection, pkg: &ir::Package) -> Result<()> {
        for ((state, key), row) in self.dirty.drain() {
            let Some(def) = pkg.state(state) else { continue };
            match self.store.record(state, &key) {
                Some(record) => {
                    let key_text = key_json(pkg, def, record);
                    if let Some(old) = row.filter(|old| *old != key_text) {
                        conn.prepare_cached(
                            "DELETE FROM state_records WHERE package = ?1 AND state = ?2 AND key = ?3",
                        )?
                        .execute(rusqlite::params![self.package, def.name, old])?;
                    }
                    conn.prepare_cached(
                        "INSERT INTO state_records (package, state, key, record) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (package, state, key) DO UPDATE SET record = excluded.record",
                    )?
                    .execute(rusqlite::params![
                        self.package,
                        def.name,
                        key_text,
                        record_json(pkg, def, record)
                    ])?;
                }
                None => {
                    if let Some(old) = row {
                        conn.prepare_cached(
                            "DELETE FROM state_records WHERE package = ?1 AND state = ?2 AND key = ?3",
                        )?
                        .execute(rusqlite::params![self.package, def.name, old])?;
                    }
                }
            }
        }
        for (i, key) in self.cells.drain() {
            write_cell(conn, &self.package, pkg, self.store.metrics(), i, &key)?;
        }
        Ok(())
    }
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
    let mut st =
        conn.prepare("SELECT state, count(*) FROM state_records WHERE package = ?1 GROUP BY state ORDER BY state")?;
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
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT key, record FROM state_records WHERE package = ?1 AND state = ?2 AND key = ?3",
            rusqlite::params![package, name, text],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
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
    let (store, undeclared) = load_records(conn, pkg, package, only, None)?;
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
