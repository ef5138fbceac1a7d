//! Reconciliation (`canon status`): what came in, what went out, what is open.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::state::{State, SCHEMA_VERSION};
use crate::version::{release_at, Release, RELEASE_COLUMNS};

/// The reconciliation of a state directory. `--format json` is its serde
/// form (object keys in alphabetical order, as `serde_json::Value` writes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The state directory.
    pub state: String,
    pub schema_version: i64,
    /// Paths other accounts can read or write (docs/pipeline.md, "Security").
    pub exposed: Vec<ExposedPath>,
    pub events: Events,
    pub exceptions: Exceptions,
    /// Per destination.
    pub destinations: BTreeMap<String, Destination>,
    pub runs: Runs,
    /// Each version seen, in order.
    pub package_versions: Vec<PackageVersion>,
    /// The package's metrics (RUNTIME.md §7.3), as a JSON array: each
    /// `{"name", "groups"}`; `null` when the package could not be read.
    /// [`status`] leaves it `None`: the caller, which knows the package, adds it.
    pub metrics: Option<serde_json::Value>,
}

/// A path of the state other accounts can read or write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExposedPath {
    pub path: String,
    /// The permission bits, four octal digits.
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Events {
    /// By event type (`(none)` when invalid), counts by current status (an
    /// event accepted on retry counts as accepted).
    pub by_type: BTreeMap<String, BTreeMap<String, i64>>,
    /// Duplicates seen over all runs.
    pub duplicates: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exceptions {
    pub open: i64,
    /// `retried` + `resolved_by_note`.
    pub resolved: i64,
    pub retried: i64,
    pub resolved_by_note: i64,
    /// Open items by code (an item with several codes counts under each).
    pub open_by_code: BTreeMap<String, i64>,
}

/// A destination's records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// Emitted.
    pub accepted: i64,
    pub delivered: i64,
    pub pending: i64,
    pub dead: i64,
    /// A file sink's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A file sink's committed bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_bytes: Option<i64>,
    /// Why the latest failed HTTP delivery still pending or dead failed
    /// (e.g. `certificate is not trusted: UnknownIssuer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Runs {
    pub count: i64,
    /// Runs that did not finish (interrupted, or running now).
    pub unfinished: i64,
    pub last: Option<Run>,
}

/// One run, as the `runs` table records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: i64,
    pub command: String,
    pub input: String,
    pub package_version: String,
    /// The rule authors' version it ran (canon.toml `[package]`).
    pub rules: Release,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub accepted: i64,
    pub rejected: i64,
    pub ignored: i64,
    pub invalid: i64,
    pub duplicate: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageVersion {
    pub version: String,
    /// The rule authors' version (canon.toml `[package]`).
    pub rules: Release,
    /// The package's root.
    pub package: String,
    pub first_seen: String,
}

/// The reconciliation counts of a state directory (see [`Status`]).
pub fn status(state: &State) -> Result<Status> {
    let conn = &state.conn;
    let mut by_type: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    {
        let mut st = conn.prepare(
            "SELECT coalesce(t.name, '(none)'), e.status, count(*) FROM events e LEFT JOIN event_types t ON t.id = e.event_type
             GROUP BY 1, 2 ORDER BY 1, 2",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let ty: String = r.get(0)?;
            let status: String = r.get(1)?;
            let n: i64 = r.get(2)?;
            by_type.entry(ty).or_default().insert(status, n);
        }
    }
    let duplicates: i64 = conn.query_row("SELECT coalesce(sum(duplicate), 0) FROM runs", [], |r| r.get(0))?;

    let (open, retried, by_note): (i64, i64, i64) = conn.query_row(
        "SELECT coalesce(sum(status = 'open'), 0), coalesce(sum(resolution = 'retried'), 0), coalesce(sum(resolution = 'note'), 0) FROM exceptions",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut open_by_code = BTreeMap::new();
    {
        let mut st = conn.prepare(
            "SELECT json_extract(j.value, '$.code') AS code, count(DISTINCT x.id)
             FROM exceptions x, json_each(x.rejections) j WHERE x.status = 'open' GROUP BY code ORDER BY code",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let code: Option<String> = r.get(0)?;
            let n: i64 = r.get(1)?;
            open_by_code.insert(code.unwrap_or_default(), n);
        }
    }

    let mut destinations: BTreeMap<String, Destination> = BTreeMap::new();
    {
        let mut st = conn.prepare("SELECT destination, state, count(*) FROM outbox GROUP BY 1, 2")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let d: String = r.get(0)?;
            let s: String = r.get(1)?;
            let n: i64 = r.get(2)?;
            let e = destinations.entry(d).or_default();
            e.accepted += n;
            match s.as_str() {
                "pending" => e.pending = n,
                "delivered" => e.delivered = n,
                "dead" => e.dead = n,
                _ => {}
            }
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
            destinations.entry(d).or_default().last_error = Some(why);
        }
        // A file sink's records are delivered in the commit that accepts them.
        let mut st = conn.prepare("SELECT destination, path, committed, records FROM sink_files")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let d: String = r.get(0)?;
            let path: String = r.get(1)?;
            let committed: i64 = r.get(2)?;
            let records: i64 = r.get(3)?;
            let e = destinations.entry(d).or_default();
            e.accepted += records;
            e.delivered += records;
            e.file = Some(path);
            e.file_bytes = Some(committed);
        }
    }

    let (runs, interrupted): (i64, i64) =
        conn.query_row("SELECT count(*), coalesce(sum(finished_at IS NULL), 0) FROM runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let last: Option<Run> = {
        let mut st = conn.prepare(&format!(
            "SELECT r.id, r.command, r.input, v.hash, r.started_at, r.finished_at, r.accepted, r.rejected, r.ignored,
                    r.invalid, r.duplicate, {RELEASE_COLUMNS}
             FROM runs r JOIN package_versions v ON v.id = r.package_version ORDER BY r.id DESC LIMIT 1"
        ))?;
        let mut rows = st.query([])?;
        match rows.next()? {
            None => None,
            Some(r) => Some(Run {
                id: r.get(0)?,
                command: r.get(1)?,
                input: r.get(2)?,
                package_version: r.get(3)?,
                rules: release_at(r, 11)?,
                started_at: r.get(4)?,
                finished_at: r.get(5)?,
                accepted: r.get(6)?,
                rejected: r.get(7)?,
                ignored: r.get(8)?,
                invalid: r.get(9)?,
                duplicate: r.get(10)?,
            }),
        }
    };
    let package_versions = {
        let mut st = conn.prepare(&format!(
            "SELECT v.hash, v.root, v.first_seen, {RELEASE_COLUMNS} FROM package_versions v ORDER BY v.id"
        ))?;
        let rows = st.query_map([], |r| {
            Ok(PackageVersion {
                version: r.get(0)?,
                rules: release_at(r, 3)?,
                package: r.get(1)?,
                first_seen: r.get(2)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };

    Ok(Status {
        state: state.dir().display().to_string(),
        schema_version: SCHEMA_VERSION,
        exposed: state
            .exposed()
            .iter()
            .map(|e| ExposedPath { path: e.path.display().to_string(), mode: format!("{:04o}", e.mode & 0o7777) })
            .collect(),
        events: Events { by_type, duplicates },
        exceptions: Exceptions { open, resolved: retried + by_note, retried, resolved_by_note: by_note, open_by_code },
        destinations,
        runs: Runs { count: runs, unfinished: interrupted, last },
        package_versions,
        metrics: None,
    })
}
