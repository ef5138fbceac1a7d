//! Retention (`canon state prune`, RUNTIME.md §7.2): the lineage, payloads
//! and outcome bodies of events whose effects are final, removed from the
//! state once they are older than a cutoff.
//!
//! An event is final when every outbox row of it is `delivered` (a file
//! sink's records are delivered in the commit that accepted them) and no
//! exception of it is open. For those received before the cutoff, the
//! prune empties the event's `trace` (`''`: pruned, as against `[]`, no
//! step) and its kept text (`event`), the bodies (`record`) of its
//! delivered outbox rows, the rejections of its resolved exceptions and
//! their earlier evaluations (`exception_history`).
//!
//! What `canon status` counts, and what the ledger needs, stays: every
//! `events` row (its idempotency key, payload hash, event id, type, status,
//! run and time), every outbox row (destination, delivery id, state,
//! times), every exception row (status, resolution, note, who and when),
//! the runs, the package versions, the file sinks' lengths, and all state
//! records and metric cells (a record stored as a reference into its
//! writer's trace, [`crate::packed::REF`], is written into its row, packed,
//! before the trace is emptied). So a replayed event is still a duplicate, a
//! changed payload still an `IDEMPOTENCY_CONFLICT`, and the reconciliation
//! figures do not move.
//!
//! Everything is removed in one transaction (a dry run rolls it back, so
//! its figures are exactly what the prune would remove); then `VACUUM`
//! rewrites the database without the freed space, and a checkpoint moves it
//! out of the WAL.

use std::path::Path;

use canon_stdlib::Timestamp;
use serde::Serialize;

use crate::error::Result;
use crate::state::{State, DB_FILE};

/// What a prune removed (or, in a dry run, would remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// The cutoff: events received before it (RFC 3339).
    pub before: String,
    pub dry_run: bool,
    /// Events whose lineage (and kept text) was removed.
    pub events: i64,
    /// Kept event texts removed (events that had been in the exception queue).
    pub payloads: i64,
    /// Bodies of delivered outbox records removed.
    pub outbox_records: i64,
    /// Resolved exceptions whose rejections were removed.
    pub exceptions: i64,
    /// Earlier evaluations of resolved exceptions removed.
    pub exception_history: i64,
    /// Events received before the cutoff and kept whole: an open exception,
    /// or a record not delivered (pending or dead-lettered).
    pub kept_unfinished: i64,
    /// Bytes of `state.db` with its WAL, before and after (the same in a dry run).
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Bytes of the database and its WAL.
fn db_bytes(dir: &Path) -> u64 {
    let len = |name: String| std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
    len(DB_FILE.to_string()) + len(format!("{DB_FILE}-wal"))
}

/// Writes into their rows the state records whose one copy is in a trace
/// about to be pruned (`prune_final`): each as its writer's `write` step
/// has it, packed. (`state_records` has no index on `writer`: a prune reads
/// the table once, which is less than an index would cost every batch.)
fn keep_records(tx: &rusqlite::Connection) -> Result<()> {
    let shapes = crate::lineage::Shapes::load(tx)?;
    let steps = crate::lineage::Steps::load(tx)?;
    let mut packer = crate::lineage::StepCache::default();
    let rows: Vec<(i64, String, Option<String>)> = tx
        .prepare(
            "SELECT r.state, r.key, r.record, e.trace FROM state_records r JOIN events e ON e.id = r.writer
             WHERE r.writer IN (SELECT id FROM prune_final)",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, shapes.record(r.get_ref(2)?, r.get_ref(3)?))))?
        .collect::<rusqlite::Result<_>>()?;
    let mut packed = Vec::with_capacity(256);
    for (state, key, text) in rows {
        let text = text.ok_or_else(|| {
            crate::error::Error::CorruptDb(format!("the state record {key} refers to a write its writer's trace lacks"))
        })?;
        packed.clear();
        packer.pack(&steps, &text, &mut packed);
        tx.prepare_cached("UPDATE state_records SET record = ?3, writer = NULL WHERE state = ?1 AND key = ?2")?
            .execute(rusqlite::params![state, key, packed])?;
    }
    steps.save(tx)?;
    Ok(())
}

/// Prunes what is final among the events received before `before` (see the
/// module's documentation). The state must be locked ([`State::lock`]): no
/// `canon process` may write it meanwhile.
pub fn prune(state: &State, before: Timestamp, dry_run: bool) -> Result<Pruned> {
    // `received_at` is in milliseconds: before the cutoff is below it
    // rounded up to the next whole millisecond.
    let cutoff = before.0.div_euclid(1000) + i64::from(before.0.rem_euclid(1000) != 0);
    let bytes_before = db_bytes(state.dir());
    let conn = &state.conn;
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TEMP TABLE IF NOT EXISTS prune_final (id INTEGER PRIMARY KEY); DELETE FROM prune_final;")?;
    // `NOT IN` over the unfinished: one pass each (exceptions has no index on `event`).
    tx.execute(
        "INSERT INTO prune_final (id)
         SELECT e.id FROM events e
         WHERE e.received_at < ?1
           AND e.id NOT IN (SELECT event FROM outbox WHERE state <> 'delivered')
           AND e.id NOT IN (SELECT event FROM exceptions WHERE status = 'open')",
        [cutoff],
    )?;
    let kept_unfinished: i64 = tx.query_row(
        "SELECT count(*) FROM events WHERE received_at < ?1
           AND id NOT IN (SELECT id FROM prune_final)",
        [cutoff],
        |r| r.get(0),
    )?;
    let payloads = tx
        .execute("UPDATE events SET event = NULL WHERE id IN (SELECT id FROM prune_final) AND event IS NOT NULL", [])?
        as i64;
    keep_records(&tx)?;
    let events =
        tx.execute("UPDATE events SET trace = '' WHERE id IN (SELECT id FROM prune_final) AND trace <> ''", [])? as i64;
    let outbox_records = tx
        .execute("UPDATE outbox SET record = '' WHERE event IN (SELECT id FROM prune_final) AND record <> ''", [])?
        as i64;
    let exception_history = tx.execute(
        "DELETE FROM exception_history WHERE exception IN
           (SELECT x.id FROM exceptions x WHERE x.event IN (SELECT id FROM prune_final))",
        [],
    )? as i64;
    let exceptions = tx.execute(
        "UPDATE exceptions SET rejections = '[]' WHERE event IN (SELECT id FROM prune_final) AND rejections <> '[]'",
        [],
    )? as i64;
    tx.execute_batch("DROP TABLE temp.prune_final")?;
    let changed = payloads + events + outbox_records + exception_history + exceptions > 0;
    if dry_run {
        tx.rollback()?;
    } else {
        tx.commit()?;
        if changed {
            // The whole file rewritten: see docs/decisions.md, "Performance: retention".
            conn.execute_batch("VACUUM")?;
        }
        // The rewritten pages out of the WAL, and the WAL emptied.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    let mut text = String::new();
    canon_stdlib::time::format_timestamp(before, &mut text);
    Ok(Pruned {
        before: text,
        dry_run,
        events,
        payloads,
        outbox_records,
        exceptions,
        exception_history,
        kept_unfinished,
        bytes_before,
        bytes_after: if dry_run { bytes_before } else { db_bytes(state.dir()) },
    })
}
