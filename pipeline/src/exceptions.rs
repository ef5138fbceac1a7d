//! The exception queue: every rejected or invalid event (and every
//! idempotency conflict) with its business context, to list, show, retry
//! after a fix, or resolve with a note.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use rusqlite::{OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::canonical::Identity;
use crate::error::{Error, Result};
use crate::http::{deliver, DeliveryCounts};
use crate::lineage::{Shapes, StepCache, Steps, Templates};
use crate::process::{
    begin_run, commit, count_run, insert_emits, prepare_again, Counts, Ledger, Lineage, Rules, Writer,
};
use crate::sink::Sinks;
use crate::state::State;
use crate::store::Durable;
use crate::version::{release_at, Release, RELEASE_COLUMNS};
use canon_runtime::{Status, TraceEvent};

/// Which items `list` returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `open` or `resolved`.
    pub status: Option<String>,
    /// Items with a rejection of this code.
    pub code: Option<String>,
}

/// A rejection as an item stores it (the `rejections` of an outcome line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRejection {
    pub code: String,
    pub message: String,
    /// Where in the package; `None` for a rejection that is not the package's.
    pub at: Option<String>,
    /// The JSON Pointer of a schema violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// One item of the queue, as `list` gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemSummary {
    pub id: i64,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub correlation_id: Option<String>,
    /// `open` or `resolved`.
    pub status: String,
    /// `retried` or `note`.
    pub resolution: Option<String>,
    pub rejections: Vec<StoredRejection>,
    pub package_version: String,
    /// The rule authors' version that decided it (canon.toml `[package]`).
    pub rules: Release,
    pub received_at: String,
    pub attempts: i64,
}

/// One item in full, as `show` gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub id: i64,
    pub status: String,
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub attempts: i64,
    pub rejections: Vec<StoredRejection>,
    pub created_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
    pub updated_by: Option<String>,
    pub resolved_by: Option<String>,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub correlation_id: Option<String>,
    pub idempotency_key: String,
    pub received_at: String,
    /// The event as received (JSON), when it is kept.
    pub event: Option<Json>,
    pub lineage: ItemLineage,
    /// Earlier evaluations, oldest first.
    pub history: Vec<Attempt>,
    pub deliveries: Vec<Delivery>,
}

/// What decided an item's latest evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemLineage {
    pub package_version: String,
    /// The rule authors' version (canon.toml `[package]`).
    pub rules: Release,
    /// The package's root.
    pub package: String,
    /// Its data directory.
    pub data: String,
    /// The status it was evaluated to.
    pub outcome: String,
    /// The steps (their serde form is the objects of `canon run --explain`).
    pub trace: Vec<TraceEvent>,
}

/// An earlier evaluation of an item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub attempt: i64,
    pub at: String,
    pub package_version: String,
    pub rules: Release,
    pub outcome: String,
    pub rejections: Vec<StoredRejection>,
    pub trace: Vec<TraceEvent>,
    /// Who retried it.
    pub by: Option<String>,
}

/// A delivery of an accepted event's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "sink", rename_all = "lowercase")]
pub enum Delivery {
    /// To an HTTP sink, from its outbox row.
    Http {
        destination: String,
        delivery_id: String,
        state: String,
        attempts: i64,
        last_error: Option<String>,
        delivered_at: Option<String>,
    },
    /// To a file sink: delivered in the commit that accepted the event.
    File { destination: String, delivery_id: String, state: String },
}

impl Delivery {
    pub fn destination(&self) -> &str {
        match self {
            Delivery::Http { destination, .. } | Delivery::File { destination, .. } => destination,
        }
    }
    pub fn delivery_id(&self) -> &str {
        match self {
            Delivery::Http { delivery_id, .. } | Delivery::File { delivery_id, .. } => delivery_id,
        }
    }
    pub fn state(&self) -> &str {
        match self {
            Delivery::Http { state, .. } | Delivery::File { state, .. } => state,
        }
    }
}

/// Stored rejections (a JSON array written by the pipeline; nothing for anything else).
fn rejections(text: &str) -> Vec<StoredRejection> {
    serde_json::from_str(text).unwrap_or_default()
}

/// An event's kept text (a BLOB packed since schema 7, TEXT before; NULL none).
fn kept_text(templates: &Templates, value: rusqlite::types::ValueRef<'_>) -> Option<String> {
    match value {
        rusqlite::types::ValueRef::Null => None,
        v => templates.shapes().text(v),
    }
}

/// The event's text as JSON (a line that is not JSON as a string).
fn event_json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_string()))
}

/// A stored lineage, its steps spelled out (a step that is none is left out).
fn steps(templates: &Templates, stored: rusqlite::types::ValueRef<'_>) -> Vec<TraceEvent> {
    let trace = templates.stored(stored);
    match templates.expand(&trace) {
        Json::Array(a) => a.iter().filter_map(crate::process::trace_event).collect(),
        _ => Vec::new(),
    }
}

/// The queue's items, oldest first.
pub fn list(state: &State, filter: &Filter) -> Result<Vec<ItemSummary>> {
    let mut st = state.conn.prepare(&format!(
        "SELECT x.id, e.event_id, (SELECT name FROM event_types t WHERE t.id = e.event_type), e.correlation_id,
                x.status, x.resolution, x.rejections,
                v.hash, e.received_at, x.attempts, {RELEASE_COLUMNS}
         FROM exceptions x JOIN events e ON e.id = x.event JOIN package_versions v ON v.id = e.package_version
         WHERE (?1 IS NULL OR x.status = ?1)
           AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(x.rejections) j WHERE json_extract(j.value, '$.code') = ?2))
         ORDER BY x.id"
    ))?;
    let rows = st.query_map(rusqlite::params![filter.status, filter.code], |r| {
        Ok(ItemSummary {
            id: r.get(0)?,
            event_id: r.get(1)?,
            event_type: r.get(2)?,
            correlation_id: r.get(3)?,
            status: r.get(4)?,
            resolution: r.get(5)?,
            rejections: rejections(&r.get::<_, String>(6)?),
            package_version: r.get(7)?,
            rules: release_at(r, 10)?,
            received_at: crate::format_ms(r.get(8)?),
            attempts: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One item in full: the event, each rejection with its rule location, the
/// lineage (package version and trace), earlier attempts, deliveries.
pub fn show(state: &State, id: i64) -> Result<Item> {
    // One read transaction: the lineage steps read are those the item's
    // trace refers to, whatever `canon process` commits meanwhile.
    let tx = state.conn.unchecked_transaction()?;
    let conn: &rusqlite::Connection = &tx;
    let templates = Templates::load(conn)?;
    let item = conn
        .query_row(
            &format!(
                "SELECT x.id, x.status, x.resolution, x.note, x.attempts, x.rejections, x.created_at, x.updated_at,
                    x.resolved_at, e.id, e.event_id, (SELECT name FROM event_types t WHERE t.id = e.event_type),
                    e.correlation_id, e.idem_key, e.received_at,
                    e.event, e.trace, e.status, v.hash, v.root, v.data_dir, x.updated_by, x.resolved_by,
                    {RELEASE_COLUMNS}
             FROM exceptions x JOIN events e ON e.id = x.event JOIN package_versions v ON v.id = e.package_version
             WHERE x.id = ?1"
            ),
            [id],
            |r| {
                Ok((
                    r.get::<_, i64>(9)?,
                    Item {
                        id: r.get(0)?,
                        status: r.get(1)?,
                        resolution: r.get(2)?,
                        note: r.get(3)?,
                        attempts: r.get(4)?,
                        rejections: rejections(&r.get::<_, String>(5)?),
                        created_at: r.get(6)?,
                        updated_at: r.get(7)?,
                        resolved_at: r.get(8)?,
                        updated_by: r.get(21)?,
                        resolved_by: r.get(22)?,
                        event_id: r.get(10)?,
                        event_type: r.get(11)?,
                        correlation_id: r.get(12)?,
                        idempotency_key: r.get(13)?,
                        received_at: crate::format_ms(r.get(14)?),
                        event: kept_text(&templates, r.get_ref(15)?).map(|t| event_json(&t)),
                        lineage: ItemLineage {
                            package_version: r.get(18)?,
                            rules: release_at(r, 23)?,
                            package: r.get(19)?,
                            data: r.get(20)?,
                            outcome: r.get(17)?,
                            trace: steps(&templates, r.get_ref(16)?),
                        },
                        history: Vec::new(),
                        deliveries: Vec::new(),
                    },
                ))
            },
        )
        .optional()?;
    let Some((event, mut item)) = item else { return Err(Error::NotFound(id)) };
    let mut st = conn.prepare(&format!(
        "SELECT h.attempt, h.at, v.hash, h.status, h.rejections, h.trace, h.by, {RELEASE_COLUMNS}
         FROM exception_history h JOIN package_versions v ON v.id = h.package_version
         WHERE h.exception = ?1 ORDER BY h.attempt"
    ))?;
    let history = st
        .query_map([id], |r| {
            Ok(Attempt {
                attempt: r.get(0)?,
                at: r.get(1)?,
                package_version: r.get(2)?,
                rules: release_at(r, 7)?,
                outcome: r.get(3)?,
                rejections: rejections(&r.get::<_, String>(4)?),
                trace: steps(&templates, r.get_ref(5)?),
                by: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    item.deliveries = deliveries(conn, event, &item.lineage)?;
    item.history = history;
    Ok(item)
}

/// The deliveries of an accepted event, in emit order: an HTTP sink's from
/// its outbox row; a file sink's (which has none) from the lineage's emits
/// and the delivery id they were written with.
fn deliveries(conn: &rusqlite::Connection, event: i64, lineage: &ItemLineage) -> Result<Vec<Delivery>> {
    if lineage.outcome != "accepted" {
        return Ok(Vec::new());
    }
    let (key, hash): (String, Vec<u8>) =
        conn.query_row("SELECT idem_key, payload_hash FROM events WHERE id = ?1", [event], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let mut h = [0u8; 16];
    for (a, b) in h.iter_mut().zip(&hash) {
        *a = *b;
    }
    let base = crate::process::delivery_base(&Identity { key, hash: h });
    let mut st = conn.prepare(
        "SELECT destination, delivery_id, state, attempts, last_error, delivered_at FROM outbox WHERE event = ?1 ORDER BY id",
    )?;
    let mut outbox: Vec<Delivery> = st
        .query_map([event], |r| {
            Ok(Delivery::Http {
                destination: r.get(0)?,
                delivery_id: r.get(1)?,
                state: r.get(2)?,
                attempts: r.get(3)?,
                last_error: r.get(4)?,
                delivered_at: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let emits = lineage.trace.iter().filter_map(|t| match t {
        TraceEvent::Emit { destination, .. } => Some(destination),
        _ => None,
    });
    let mut out = Vec::new();
    for (n, destination) in emits.enumerate() {
        let id = format!("{base}-{}", n + 1);
        match outbox.iter().position(|o| o.delivery_id() == id) {
            Some(i) => out.push(outbox.remove(i)),
            None => out.push(Delivery::File {
                destination: destination.clone(),
                delivery_id: id,
                state: "delivered".into(),
            }),
        }
    }
    out.extend(outbox);
    Ok(out)
}

/// Closes an open item with a note.
pub fn resolve(state: &State, id: i64, note: &str) -> Result<()> {
    let now = crate::now();
    let who = operator();
    let n = state.conn.execute(
        "UPDATE exceptions SET status = 'resolved', resolution = 'note', note = ?2, resolved_at = ?3, updated_at = ?3,
         resolved_by = ?4, updated_by = ?4
         WHERE id = ?1 AND status = 'open'",
        rusqlite::params![id, note, now, who],
    )?;
    if n == 1 {
        return Ok(());
    }
    let status: Option<String> =
        state.conn.query_row("SELECT status FROM exceptions WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    match status {
        None => Err(Error::NotFound(id)),
        Some(_) => Err(Error::AlreadyResolved(id)),
    }
}

/// Who is working the queue: the operating-system user's name (from the
/// password database, else `$USER`), with the uid when no name is known.
pub fn operator() -> String {
    // SAFETY: getuid cannot fail; getpwuid_r writes only into the buffers
    // given, and the name is read only when it reported success.
    let uid = unsafe { libc::getuid() };
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: a NUL-terminated string inside `buf`, which is alive.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) }.to_string_lossy().into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    match std::env::var("USER") {
        Ok(name) if !name.is_empty() => format!("{name} (uid {uid})"),
        _ => format!("uid {uid}"),
    }
}

/// The package directory and data directory of the latest run, which
/// `retry` uses when no package is given.
pub fn last_package(state: &State) -> Result<Option<(PathBuf, PathBuf)>> {
    let row: Option<(String, String)> = state
        .conn
        .query_row(
            "SELECT v.root, v.data_dir FROM runs r JOIN package_versions v ON v.id = r.package_version ORDER BY r.id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.map(|(a, b)| (PathBuf::from(a), PathBuf::from(b))))
}

/// Which items to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    One(i64),
    AllOpen,
}

/// What retrying one item gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryResult {
    pub id: i64,
    pub event_id: Option<String>,
    /// `accepted`, `ignored`, `rejected`, `invalid`, or `conflict` (an
    /// idempotency conflict cannot be retried: resolve it with a note).
    pub outcome: String,
    /// The rejections of this evaluation.
    pub rejections: Vec<StoredRejection>,
    pub resolved: bool,
}

/// What a retry did.
#[derive(Debug, Clone, Default)]
pub struct RetrySummary {
    pub results: Vec<RetryResult>,
    pub http: DeliveryCounts,
}

/// An item as a retry loads it.
struct RetryItem {
    id: i64,
    event: i64,
    attempts: i64,
    rejections: String,
    updated_at: String,
    updated_by: Option<String>,
    key: String,
    hash: Vec<u8>,
    text: Option<String>,
    status: String,
    version: i64,
    /// As stored (a BLOB, or the JSON text of schema 6 and before).
    trace: rusqlite::types::Value,
    line: i64,
    event_id: Option<String>,
}

fn load_item(conn: &rusqlite::Connection, id: i64, shapes: &Shapes) -> Result<Option<(String, RetryItem)>> {
    Ok(conn
        .query_row(
            "SELECT x.status, x.id, x.event, x.attempts, x.rejections, x.updated_at, e.idem_key, e.payload_hash,
                    e.event, e.status, e.package_version, e.trace, e.line, e.event_id, x.updated_by
             FROM exceptions x JOIN events e ON e.id = x.event WHERE x.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    RetryItem {
                        id: r.get(1)?,
                        event: r.get(2)?,
                        attempts: r.get(3)?,
                        rejections: r.get(4)?,
                        updated_at: r.get(5)?,
                        key: r.get(6)?,
                        hash: r.get(7)?,
                        text: match r.get_ref(8)? {
                            rusqlite::types::ValueRef::Null => None,
                            // Unreadable: left out, as a pruned text (a retry says it cannot).
                            v => shapes.text(v),
                        },
                        status: r.get(9)?,
                        version: r.get(10)?,
                        trace: r.get(11)?,
                        line: r.get(12)?,
                        event_id: r.get(13)?,
                        updated_by: r.get(14)?,
                    },
                ))
            },
        )
        .optional()?)
}

/// Evaluates open items again with `rules` (the current package and data):
/// an item now accepted has its records delivered to the sinks and is
/// resolved; one still rejected stays open with its new rejections. Every
/// earlier evaluation is kept in the item's history.
pub fn retry(state: &mut State, rules: &Rules, selection: Selection) -> Result<RetrySummary> {
    // The shapes of the kept texts (a retry packs none).
    let shapes = Shapes::load(&state.conn)?;
    let ids: Vec<i64> = match selection {
        Selection::One(id) => match load_item(&state.conn, id, &shapes)? {
            None => return Err(Error::NotFound(id)),
            Some((status, _)) if status != "open" => return Err(Error::AlreadyResolved(id)),
            Some(_) => vec![id],
        },
        Selection::AllOpen => {
            let mut st = state.conn.prepare("SELECT id FROM exceptions WHERE status = 'open' ORDER BY id")?;
            let ids = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
            ids
        }
    };
    state.lock()?;
    // A package with state: each item is evaluated against the state as it
    // is now, and an accepted one's writes are applied with its emits.
    let mut durable = rules.open_state(&state.conn)?;
    let (mut sinks, ledger) = begin_run(state, rules, "retry", "exceptions")?;
    let run_id = ledger.run_id;
    let steps = Steps::load(&state.conn)?;
    let mut lineage = Lineage { steps: &steps, cache: StepCache::default() };
    let mut summary = RetrySummary::default();
    let who = operator();
    for chunk in ids.chunks(1000) {
        let now = crate::now();
        let tx = state.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut counts = Counts::default();
        let mut results = Vec::new();
        let done = (|| -> Result<()> {
            let mut w = Writer::new(&tx, &steps, crate::now_ms())?;
            for &id in chunk {
                let Some((status, item)) = load_item(&tx, id, &shapes)? else { continue };
                if status != "open" {
                    continue;
                }
                let act = Act { now: &now, who: &who };
                let d = durable.as_mut();
                results.push(retry_one(&mut w, rules, &ledger, &mut sinks, item, &act, &mut counts, &mut lineage, d)?);
            }
            if let Some(d) = durable.as_mut() {
                d.flush(&tx, rules.evaluator.package(), &steps, &mut lineage.cache)?;
            }
            steps.save(&tx)?;
            count_run(&tx, run_id, &counts)
        })();
        if let Err(e) = done {
            sinks.rollback();
            return Err(e);
        }
        commit(tx, &mut sinks)?;
        summary.results.extend(results);
    }
    if !sinks.http.is_empty() {
        let conn = state.connect_again()?;
        let (wake_tx, wake_rx) = std::sync::mpsc::sync_channel::<()>(1);
        drop(wake_tx);
        summary.http = deliver(&conn, &sinks.http, &wake_rx, &AtomicBool::new(false))?;
    }
    state.conn.execute("UPDATE runs SET finished_at = ?2 WHERE id = ?1", rusqlite::params![run_id, crate::now()])?;
    Ok(summary)
}

/// When, and by whom, the queue is being worked.
struct Act<'a> {
    now: &'a str,
    who: &'a str,
}

#[allow(clippy::too_many_arguments)]
fn retry_one(
    w: &mut Writer<'_>,
    rules: &Rules,
    ledger: &Ledger,
    sinks: &mut Sinks,
    item: RetryItem,
    act: &Act<'_>,
    counts: &mut Counts,
    lineage: &mut Lineage<'_>,
    durable: Option<&mut Durable>,
) -> Result<RetryResult> {
    let conn = w.conn;
    // An event whose key was first seen with another payload stays a conflict.
    let earlier: i64 = conn
        .prepare_cached(
            // Through the ledger's two partial indexes on the key.
            "SELECT (SELECT count(*) FROM events WHERE idem_key = ?1 AND head = 1 AND id < ?2)
                  + (SELECT count(*) FROM events WHERE idem_key = ?1 AND head = 0 AND id < ?2)",
        )?
        .query_row(rusqlite::params![item.key, item.event], |r| r.get(0))?;
    let text = match (&item.text, earlier) {
        (Some(t), 0) => t.clone(),
        _ => {
            return Ok(RetryResult {
                id: item.id,
                event_id: item.event_id,
                outcome: "conflict".into(),
                rejections: rejections(&item.rejections),
                resolved: false,
            })
        }
    };
    let mut hash = [0u8; 16];
    for (h, b) in hash.iter_mut().zip(&item.hash) {
        *h = *b;
    }
    let identity = Identity { key: item.key.clone(), hash };
    let mut durable = durable;
    let chunk = prepare_again(rules, item.line.max(0) as u64, &text, identity, lineage, durable.as_deref_mut());
    let Some(p) = chunk.events().next() else {
        return Err(Error::Other(format!("internal error: exception {} was not evaluated again", item.id)));
    };
    conn.prepare_cached(
        "INSERT INTO exception_history (exception, attempt, at, package_version, status, rejections, trace, by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(rusqlite::params![
        item.id,
        item.attempts,
        item.updated_at,
        item.version,
        item.status,
        item.rejections,
        item.trace,
        item.updated_by
    ])?;
    conn.prepare_cached("UPDATE events SET status = ?2, package_version = ?3, trace = ?4 WHERE id = ?1")?
        .execute(rusqlite::params![item.event, p.status.as_str(), ledger.version_id, p.trace()])?;
    if let Some(d) = durable {
        // The records its writes left are those of this trace.
        d.written_by(item.event);
    }
    let resolved = matches!(p.status, Status::Accepted | Status::Ignored);
    if resolved {
        conn.prepare_cached(
            "UPDATE exceptions SET status = 'resolved', resolution = 'retried', rejections = '[]',
             attempts = attempts + 1, updated_at = ?2, resolved_at = ?2, updated_by = ?3, resolved_by = ?3 WHERE id = ?1",
        )?
        .execute(rusqlite::params![item.id, act.now, act.who])?;
        insert_emits(w, ledger, sinks, item.event, p)?;
    } else {
        conn.prepare_cached(
            "UPDATE exceptions SET rejections = ?2, attempts = attempts + 1, updated_at = ?3, updated_by = ?4 WHERE id = ?1",
        )?
        .execute(rusqlite::params![item.id, p.rejections(), act.now, act.who])?;
    }
    match p.status {
        Status::Accepted => counts.accepted += 1,
        Status::Rejected => counts.rejected += 1,
        Status::Ignored => counts.ignored += 1,
        Status::Invalid => counts.invalid += 1,
    }
    Ok(RetryResult {
        id: item.id,
        event_id: item.event_id,
        outcome: p.status.as_str().into(),
        rejections: rejections(p.rejections()),
        resolved,
    })
}
