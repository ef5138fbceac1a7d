//! The ledger writer: each event recorded (ledger, lineage, outbox, exception) in the batch's transaction, then the commit.

use canon_runtime::engine::{write_outcome_head, OutcomeHead};
use canon_runtime::outcome::Rejection;
use canon_runtime::Status;
use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::lineage::{StepCache, Steps};
use crate::sink::{Route, Sinks};

use super::ack::Ack;
use super::chunks::{rejections_json, Ev};
use super::{Counts, Final};

/// The borrowed head of an outcome line (the runtime writes the format).
pub(super) fn head_of<'a>(p: Ev<'a>, status: &'a str) -> OutcomeHead<'a> {
    OutcomeHead {
        line: p.line,
        id: p.id(),
        event_type: p.event_type(),
        correlation_id: p.correlation_id(),
        status,
        plain: 0,
    }
}

/// Appends an outcome line for a status decided by the ledger.
pub(super) fn ledger_outcome(out: &mut String, p: Ev<'_>, status: &str, rejections: &str) {
    write_outcome_head(&head_of(p, status), out);
    out.push_str("],\"rejections\":");
    out.push_str(rejections);
    out.push('}');
}

/// The per-batch context of the writer.
pub(crate) struct Ledger {
    pub version_id: i64,
    pub run_id: i64,
    pub routes: Vec<Route>,
    pub dest_names: Vec<String>,
}

/// The statements of the writer, prepared once per transaction.
pub(crate) struct Writer<'c> {
    pub conn: &'c Connection,
    /// Packs the kept texts of events (their shapes given ids by `steps`,
    /// which the batch saves before it commits).
    steps: &'c Steps,
    packer: StepCache,
    packed: Vec<u8>,
    /// When the batch's events are received (milliseconds since the epoch).
    received_at: i64,
    /// The ids of event types in `event_types`, as met.
    types: rustc_hash::FxHashMap<String, i64>,
    insert_head: rusqlite::Statement<'c>,
    insert_more: rusqlite::Statement<'c>,
    lookup: rusqlite::Statement<'c>,
    exception: rusqlite::Statement<'c>,
    to_send: rusqlite::Statement<'c>,
    known: rusqlite::Statement<'c>,
}

pub(super) const INSERT_EVENT: &str = "INSERT INTO events (idem_key, payload_hash, event_id, event_type, correlation_id, status,
    package_version, run, line, received_at, trace, event, head) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ";

impl<'c> Writer<'c> {
    /// The writer of a batch whose events are received at `received_at`
    /// (milliseconds since the epoch).
    pub fn new(conn: &'c Connection, steps: &'c Steps, received_at: i64) -> Result<Writer<'c>> {
        Ok(Writer {
            conn,
            steps,
            packer: StepCache::default(),
            packed: Vec::new(),
            received_at,
            types: rustc_hash::FxHashMap::default(),
            insert_head: conn.prepare(&format!("{INSERT_EVENT}1) ON CONFLICT DO NOTHING"))?,
            insert_more: conn.prepare(&format!("{INSERT_EVENT}0)"))?,
            lookup: conn.prepare(
                "SELECT id, idem_key, payload_hash, event_id, received_at FROM events WHERE idem_key = ?1 AND head = 1
                 UNION ALL
                 SELECT id, idem_key, payload_hash, event_id, received_at FROM events WHERE idem_key = ?1 AND head = 0
                 ORDER BY 1",
            )?,
            exception: conn.prepare(
                "INSERT INTO exceptions (event, status, rejections, created_at, updated_at) VALUES (?1, 'open', ?2, ?3, ?3)",
            )?,
            to_send: conn.prepare(
                "INSERT INTO outbox (delivery_id, event, destination, record, state) VALUES (?1, ?2, ?3, ?4, 'pending')",
            )?,
            // A key's first row is its head; any conflict comes after it.
            known: conn.prepare("SELECT 1 FROM events WHERE idem_key = ?1 AND head = 1")?,
        })
    }

    /// Whether the ledger (its rows committed, and those of the open
    /// transaction) holds the key.
    pub fn known(&mut self, key: &str) -> Result<bool> {
        Ok(self.known.exists([key])?)
    }

    /// The id of an event type in `event_types`, given one when it has none.
    fn type_id(&mut self, name: &str) -> Result<i64> {
        if let Some(&id) = self.types.get(name) {
            return Ok(id);
        }
        self.conn
            .prepare_cached("INSERT INTO event_types (name) VALUES (?1) ON CONFLICT DO NOTHING")?
            .execute([name])?;
        let id: i64 =
            self.conn.prepare_cached("SELECT id FROM event_types WHERE name = ?1")?.query_row([name], |r| r.get(0))?;
        self.types.insert(name.to_string(), id);
        Ok(id)
    }

    /// Inserts an event row (see [`EventRow`]); `None` when it was to be
    /// the head of its key and that key already has one.
    fn insert_event(&mut self, ledger: &Ledger, p: Ev<'_>, row: EventRow<'_>) -> Result<Option<i64>> {
        let EventRow { status, trace, keep_text, head } = row;
        let event_type = match p.event_type() {
            Some(name) => Some(self.type_id(name)?),
            None => None,
        };
        self.packed.clear();
        if keep_text {
            self.packer.pack(self.steps, p.text(), &mut self.packed);
        }
        let params = rusqlite::params![
            p.key(),
            &p.hash[..],
            p.id(),
            event_type,
            p.correlation_id(),
            status,
            ledger.version_id,
            ledger.run_id,
            p.line as i64,
            self.received_at,
            trace,
            keep_text.then_some(&self.packed[..]),
        ];
        let st = if head { &mut self.insert_head } else { &mut self.insert_more };
        let n = st.execute(params)?;
        Ok((n == 1).then(|| self.conn.last_insert_rowid()))
    }

    fn insert_exception(&mut self, event: i64, rejections: &str, now: &str) -> Result<()> {
        self.exception.execute(rusqlite::params![event, rejections, now])?;
        Ok(())
    }
}

/// How an event's row goes into the ledger.
#[derive(Clone, Copy)]
struct EventRow<'a> {
    status: &'a str,
    /// Its lineage, as stored (a trace BLOB).
    trace: &'a [u8],
    /// Keep the event's text (an exception's, for a retry).
    keep_text: bool,
    /// As the head of its key (a key never seen), or as one more row of a known key.
    head: bool,
}

/// What the events of a batch recorded so far add up to.
#[derive(Default)]
pub(super) struct BatchRecord {
    pub(super) counts: Counts,
    /// The outcome lines to acknowledge once the batch is committed.
    pub(super) ack: Ack,
    /// Whether outbox rows were added (the delivery thread is woken).
    pub(super) http_rows: bool,
}

/// Records one prepared event in the open transaction (ledger, lineage,
/// outbox, exception), queues its file-sink lines and notes its outcome
/// line and its count in `batch`.
pub(super) fn record(
    w: &mut Writer<'_>,
    ledger: &Ledger,
    sinks: &mut Sinks,
    p: Ev<'_>,
    now: &str,
    batch: &mut BatchRecord,
) -> Result<()> {
    // The common case, a key never seen: one insert.
    if record_new(w, ledger, sinks, p, now, batch)?.is_some() {
        return Ok(());
    }
    record_known(w, ledger, p, now, batch)
}

/// Records an event as the head of its key: its row; `None` (and nothing
/// recorded) when the ledger already has the key.
pub(super) fn record_new(
    w: &mut Writer<'_>,
    ledger: &Ledger,
    sinks: &mut Sinks,
    p: Ev<'_>,
    now: &str,
    batch: &mut BatchRecord,
) -> Result<Option<i64>> {
    let exception = matches!(p.status, Status::Rejected | Status::Invalid);
    let row = EventRow { status: p.status.as_str(), trace: p.trace(), keep_text: exception, head: true };
    let Some(event) = w.insert_event(ledger, p, row)? else { return Ok(None) };
    batch.ack.as_evaluated();
    if exception {
        w.insert_exception(event, p.rejections(), now)?;
    }
    batch.http_rows |= insert_emits(w, ledger, sinks, event, p)?;
    batch.counts.add(Final::Status(p.status));
    Ok(Some(event))
}

/// Records an event whose key the ledger knows: a duplicate (the same
/// payload: nothing is recorded but its count) or a conflict (another
/// payload: a row of its own, in the exception queue).
pub(super) fn record_known(
    w: &mut Writer<'_>,
    ledger: &Ledger,
    p: Ev<'_>,
    now: &str,
    batch: &mut BatchRecord,
) -> Result<()> {
    let mut first: Option<(i64, Option<String>, i64)> = None;
    let mut same = false;
    {
        let mut rows = w.lookup.query([p.key()])?;
        while let Some(row) = rows.next()? {
            let key = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
            if key != p.key() {
                continue;
            }
            if first.is_none() {
                first = Some((row.get(0)?, row.get(3)?, row.get(4)?));
            }
            if row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)? == p.hash.as_slice() {
                same = true;
                break;
            }
        }
    }
    if same {
        batch.counts.add(Final::Duplicate);
        let mut line = String::with_capacity(160);
        ledger_outcome(&mut line, p, "duplicate", "[]");
        batch.ack.decided(line);
        return Ok(());
    }
    let Some((_, orig_id, orig_at)) = first else {
        return Err(Error::Other(format!("the ledger refused key `{}` but holds no row for it", p.key())));
    };
    let orig_at = crate::format_ms(orig_at);
    let conflict = Rejection::idempotency_conflict(p.key(), &orig_at, orig_id.as_deref().unwrap_or_default());
    let rejections = rejections_json(&[conflict]);
    let row = EventRow { status: "rejected", trace: &[crate::packed::TRACE_FORMAT], keep_text: true, head: false };
    let event = w.insert_event(ledger, p, row)?.unwrap_or(0);
    w.insert_exception(event, &rejections, now)?;
    batch.counts.add(Final::Conflict);
    let mut line = String::with_capacity(160 + rejections.len());
    ledger_outcome(&mut line, p, "rejected", &rejections);
    batch.ack.decided(line);
    Ok(())
}

/// An accepted event's emits: lines queued for the file sinks (written at
/// this batch's commit), pending outbox rows for the HTTP sinks. Returns
/// whether any outbox row was added.
pub(crate) fn insert_emits(
    w: &mut Writer<'_>,
    ledger: &Ledger,
    sinks: &mut Sinks,
    event: i64,
    p: Ev<'_>,
) -> Result<bool> {
    let mut http = false;
    for e in p.emits() {
        let name = ledger.dest_names.get(e.dest).map(String::as_str).unwrap_or("");
        match ledger.routes.get(e.dest) {
            Some(Route::File(i)) => {
                if let Some(f) = sinks.files.get_mut(*i) {
                    let line = p.delivery(e).as_bytes();
                    f.pending.extend_from_slice(line);
                    f.pending.push(b'\n');
                    f.pending_records += 1;
                    f.pending_lines.push(line.len() as u32 + 1);
                }
            }
            Some(Route::Http(_)) | None => {
                http = true;
                w.to_send.execute(rusqlite::params![p.delivery_id(e), event, name, p.record(e)])?;
            }
        }
    }
    Ok(http)
}

/// Appends the batch's file-sink lines durably, records their lengths and
/// commits; on any failure, rolls back and cuts the files back.
pub(crate) fn commit(tx: rusqlite::Transaction<'_>, sinks: &mut Sinks) -> Result<()> {
    sinks.write_pending()?;
    if let Err(e) = sinks.record(&tx) {
        sinks.rollback();
        return Err(e);
    }
    match tx.commit() {
        Ok(()) => {
            sinks.committed();
            Ok(())
        }
        Err(e) => {
            sinks.rollback();
            Err(e.into())
        }
    }
}

/// Adds a batch's counts to its run.
pub(crate) fn count_run(conn: &Connection, run: i64, c: &Counts) -> Result<()> {
    conn.execute(
        "UPDATE runs SET accepted = accepted + ?2, rejected = rejected + ?3, ignored = ignored + ?4,
         invalid = invalid + ?5, duplicate = duplicate + ?6 WHERE id = ?1",
        rusqlite::params![
            run,
            c.accepted as i64,
            c.rejected as i64,
            c.ignored as i64,
            c.invalid as i64,
            c.duplicate as i64
        ],
    )?;
    Ok(())
}
