//! Reconciliation (`canon status`): what came in, what went out, what is open.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::error::Result;
use crate::state::{State, SCHEMA_VERSION};

/// The reconciliation counts of a state directory:
/// - `events`: by event type, counts by current status (an event accepted
///   on retry counts as accepted), and `duplicates` seen over all runs;
/// - `exceptions`: `open`, `resolved` (`retried` and `by_note`), and
///   `open_by_code` (an item with several codes counts under each);
/// - `destinations`: per destination, records `accepted` (emitted),
///   `delivered`, `pending` and `dead`, and the file sinks' committed bytes;
///   `last_error`: why the latest failed HTTP delivery still pending or dead
///   failed (e.g. `certificate is not trusted: UnknownIssuer`), when there is one;
/// - `runs`: how many, how many did not finish (interrupted, or running now), and the last one;
/// - `package_versions`: each version seen, in order.
pub fn status(state: &State) -> Result<Json> {
    let conn = &state.conn;
    let mut events: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    {
        let mut st = conn.prepare(
            "SELECT coalesce(event_type, '(none)'), status, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let ty: String = r.get(0)?;
            let status: String = r.get(1)?;
            let n: i64 = r.get(2)?;
            events.entry(ty).or_default().insert(status, json!(n));
        }
    }
    let duplicates: i64 = conn.query_row("SELECT coalesce(sum(duplicate), 0) FROM runs", [], |r| r.get(0))?;

    let (open, retried, by_note): (i64, i64, i64) = conn.query_row(
        "SELECT coalesce(sum(status = 'open'), 0), coalesce(sum(resolution = 'retried'), 0), coalesce(sum(resolution = 'note'), 0) FROM exceptions",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut by_code = Map::new();
    {
        let mut st = conn.prepare(
            "SELECT json_extract(j.value, '$.code') AS code, count(DISTINCT x.id)
             FROM exceptions x, json_each(x.rejections) j WHERE x.status = 'open' GROUP BY code ORDER BY code",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let code: Option<String> = r.get(0)?;
            let n: i64 = r.get(1)?;
            by_code.insert(code.unwrap_or_default(), json!(n));
        }
    }

    let mut dests: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    {
        let mut st = conn.prepare("SELECT destination, state, count(*) FROM outbox GROUP BY 1, 2")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let d: String = r.get(0)?;
            let s: String = r.get(1)?;
            let n: i64 = r.get(2)?;
            let e = dests.entry(d).or_default();
            let total = e.get("accepted").and_then(Json::as_i64).unwrap_or(0);
            e.insert("accepted".into(), json!(total + n));
            e.insert(s, json!(n));
        }
        // SQLite takes the bare column from the row of max(id).
        let mut st = conn.prepare(
            "SELECT destination, last_error, max(id) FROM outbox
             WHERE state IN ('pending', 'dead') AND last_error IS NOT NULL GROUP BY destination",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let d: String = r.get(0)?;
            let why: String = r.get(1)?;
            dests.entry(d).or_default().insert("last_error".into(), json!(why));
        }
        // A file sink's records are delivered in the commit that accepts them.
        let mut st = conn.prepare("SELECT destination, path, committed, records FROM sink_files")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let d: String = r.get(0)?;
            let path: String = r.get(1)?;
            let committed: i64 = r.get(2)?;
            let records: i64 = r.get(3)?;
            let e = dests.entry(d).or_default();
            for k in ["accepted", "delivered"] {
                let n = e.get(k).and_then(Json::as_i64).unwrap_or(0);
                e.insert(k.into(), json!(n + records));
            }
            e.insert("file".into(), json!(path));
            e.insert("file_bytes".into(), json!(committed));
        }
        for e in dests.values_mut() {
            for k in ["accepted", "delivered", "pending", "dead"] {
                e.entry(k).or_insert(json!(0));
            }
        }
    }

    let (runs, interrupted): (i64, i64) =
        conn.query_row("SELECT count(*), coalesce(sum(finished_at IS NULL), 0) FROM runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let last_run: Option<Json> = {
        let mut st = conn.prepare(
            "SELECT r.id, r.command, r.input, v.hash, r.started_at, r.finished_at, r.accepted, r.rejected, r.ignored, r.invalid, r.duplicate
             FROM runs r JOIN package_versions v ON v.id = r.package_version ORDER BY r.id DESC LIMIT 1",
        )?;
        let mut rows = st.query([])?;
        match rows.next()? {
            None => None,
            Some(r) => Some(json!({
                "id": r.get::<_, i64>(0)?,
                "command": r.get::<_, String>(1)?,
                "input": r.get::<_, String>(2)?,
                "package_version": r.get::<_, String>(3)?,
                "started_at": r.get::<_, String>(4)?,
                "finished_at": r.get::<_, Option<String>>(5)?,
                "accepted": r.get::<_, i64>(6)?,
                "rejected": r.get::<_, i64>(7)?,
                "ignored": r.get::<_, i64>(8)?,
                "invalid": r.get::<_, i64>(9)?,
                "duplicate": r.get::<_, i64>(10)?,
            })),
        }
    };
    let versions = {
        let mut st = conn.prepare("SELECT hash, root, first_seen FROM package_versions ORDER BY id")?;
        let rows = st.query_map([], |r| {
            Ok(json!({"version": r.get::<_, String>(0)?, "package": r.get::<_, String>(1)?, "first_seen": r.get::<_, String>(2)?}))
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };

    Ok(json!({
        "state": state.dir().display().to_string(),
        "schema_version": SCHEMA_VERSION,
        // Paths other accounts can read or write (docs/pipeline.md, "Security").
        "exposed": state.exposed().iter().map(|e| json!({"path": e.path.display().to_string(), "mode": format!("{:04o}", e.mode & 0o7777)})).collect::<Vec<_>>(),
        "events": {
            "by_type": events,
            "duplicates": duplicates,
        },
        "exceptions": {
            "open": open,
            "resolved": retried + by_note,
            "retried": retried,
            "resolved_by_note": by_note,
            "open_by_code": by_code,
        },
        "destinations": dests,
        "runs": {
            "count": runs,
            "unfinished": interrupted,
            "last": last_run,
        },
        "package_versions": versions,
    }))
}
