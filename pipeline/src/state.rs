//! The state directory: `state.db` (SQLite in WAL mode, synchronous commits),
//! `out/` (the default file sinks) and `lock` (one writer at a time).
//!
//! The schema is versioned by the `canon_schema` table and SQLite's
//! `application_id`; a directory that is not a canon state, a database
//! written by a newer canon, or a corrupt file is refused with an error
//! before anything is written.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{Error, Result};

/// The schema this canon writes and reads. Versions 1 (traces spelled out in
/// full), 2 (no hash of a file sink's last line), 3 (no names of who works
/// the queue), 4 (no state records, no metric cells) and 5 (no rule authors'
/// versions), 6 (lineage and state records as JSON text) and 7 (the names
/// of states and metrics in every row) are upgraded when opened.
pub const SCHEMA_VERSION: i64 = 8;
/// SQLite's `application_id` of a canon state ("Cann").
pub const APPLICATION_ID: i64 = 0x4361_6e6e;
/// SQLite's automatic checkpoints: every 64 MiB of WAL rather than every 4,
/// so that index pages that many batches touch are copied into the database
/// once, not per batch. (`canon process` checkpoints on a thread of its own.)
pub(crate) const AUTOCHECKPOINT_BYTES: i64 = 64 << 20;

/// Sets SQLite's automatic checkpoints to every [`AUTOCHECKPOINT_BYTES`]
/// (the pragma counts pages, whose size depends on the state).
pub(crate) fn autocheckpoint(conn: &Connection) -> rusqlite::Result<()> {
    let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    conn.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_BYTES / page.max(512))
}
/// The page size of a new state's database.
const PAGE_SIZE: i64 = 16384;
/// The database file in the state directory.
pub const DB_FILE: &str = "state.db";

const SCHEMA: &str = r#"
CREATE TABLE canon_schema (
  app        TEXT NOT NULL,
  version    INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
-- Every package version that decided an outcome: the content hash of its
-- sources, data and `[package]` table, where they were read from, and the
-- rule authors' version (canon.toml `[package]`, RUNTIME.md §3.1; every
-- `rules_` column NULL but `rules_recorded` for an unversioned package;
-- `rules_recorded` 0 for a version recorded before schema 6).
CREATE TABLE package_versions (
  id         INTEGER PRIMARY KEY,
  hash       TEXT NOT NULL UNIQUE,
  root       TEXT NOT NULL,
  data_dir   TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  rules_recorded       INTEGER NOT NULL DEFAULT 0,
  rules_name           TEXT,
  rules_version        TEXT,  -- a semantic version
  rules_owner          TEXT,
  rules_effective_from TEXT   -- YYYY-MM-DD
);
-- One row per `canon process` or `canon exceptions retry`.
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,
  command         TEXT NOT NULL,
  input           TEXT NOT NULL,
  package_version INTEGER NOT NULL REFERENCES package_versions(id),
  started_at      TEXT NOT NULL,
  finished_at     TEXT,
  accepted        INTEGER NOT NULL DEFAULT 0,
  rejected        INTEGER NOT NULL DEFAULT 0,
  ignored         INTEGER NOT NULL DEFAULT 0,
  invalid         INTEGER NOT NULL DEFAULT 0,
  duplicate       INTEGER NOT NULL DEFAULT 0
);
-- The static part of each lineage step, stored once: ["lookup", table,
-- found], ["decision", decision, row, at], ["rejected", code, at] or
-- ["emit", destination, at]. A trace's steps are ids of these, or [id, key]
-- for a lookup (traces of schema 1 spell their steps out in full).
CREATE TABLE trace_steps (
  id   INTEGER PRIMARY KEY,
  step TEXT NOT NULL UNIQUE
);
-- The shapes of the JSON texts stored packed (schema 7): a record's text
-- with each string and number value replaced by the character U+0001, stored
-- once; a packed record is its shape's id and those values.
CREATE TABLE json_shapes (
  id    INTEGER PRIMARY KEY,
  shape TEXT NOT NULL UNIQUE
);
-- The outbox of the sinks that deliver after the commit (HTTP): every
-- record with its stable delivery id; `state` is pending, delivered or dead
-- (dead-lettered after its sink's attempts). A file sink needs no outbox
-- row: its lines are appended and made durable before the transaction that
-- records its new committed length commits, so the file is its own outbox.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  delivery_id     TEXT NOT NULL,
  event           INTEGER NOT NULL REFERENCES events(id),
  destination     TEXT NOT NULL,
  record          TEXT NOT NULL,
  state           TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  delivered_at    TEXT
);
CREATE INDEX outbox_event ON outbox(event);
CREATE INDEX outbox_pending ON outbox(destination, id) WHERE state = 'pending';
-- The committed length of each file sink: bytes past it are a torn or
-- uncommitted tail, cut before anything else is written when they are the
-- lines `sinks.pending` says the last batch was writing (else refused). The
-- last committed line's offset and hash (`sink::line_hash`) are checked on
-- every open (NULL until a batch of schema 3 writes the file).
CREATE TABLE sink_files (
  path        TEXT PRIMARY KEY,
  destination TEXT NOT NULL,
  committed   INTEGER NOT NULL, -- bytes
  records     INTEGER NOT NULL, -- lines
  tail_start  INTEGER,
  tail_hash   INTEGER
);
-- The exception queue: one item per rejected or invalid event, with the
-- rejections of its latest evaluation.
CREATE TABLE exceptions (
  id          INTEGER PRIMARY KEY,
  event       INTEGER NOT NULL REFERENCES events(id),
  status      TEXT NOT NULL,
  resolution  TEXT,
  note        TEXT,
  rejections  TEXT NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  resolved_at TEXT,
  -- Who retried or resolved it last, and who resolved it: the operating-system user.
  updated_by  TEXT,
  resolved_by TEXT
);
-- Earlier evaluations of an exception's event, kept when it is retried.
CREATE TABLE exception_history (
  id              INTEGER PRIMARY KEY,
  exception       INTEGER NOT NULL REFERENCES exceptions(id),
  attempt         INTEGER NOT NULL,
  at              TEXT NOT NULL,
  package_version INTEGER NOT NULL REFERENCES package_versions(id),
  status          TEXT NOT NULL,
  rejections      TEXT NOT NULL,
  trace           BLOB NOT NULL,  -- as events.trace
  -- Who asked for that evaluation (a retry's user; null for canon process).
  by              TEXT
);
"#;

/// The event types of the ledger, stored once (schema 8).
const EVENT_TYPES: &str = r#"
CREATE TABLE event_types (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE  -- a CloudEvents `type`
);
"#;

/// The ledger's table (its name replaced to copy a ledger of schema 7).
const EVENTS_TABLE: &str = r#"
-- The idempotency ledger and the lineage of each event's current outcome.
-- A key has one row, or more when it came again with other payloads (each
-- such conflict is a row of its own, in the exception queue). `trace` is the
-- lineage in compact form: a BLOB (since schema 7: pipeline/src/packed.rs) whose
-- steps are ids of `trace_steps` and whose records are packed by
-- `json_shapes`, or the JSON text schemas 1 to 6 wrote (read as it is), or
-- '' once pruned. `event` (the line as received) is kept for events that
-- may be evaluated again: those in the exception queue.
CREATE TABLE events (
  id              INTEGER PRIMARY KEY,
  idem_key        TEXT NOT NULL,
  payload_hash    BLOB NOT NULL,    -- first 16 bytes of SHA-256(canonical event)
  event_id        TEXT,
  event_type      BIGINT REFERENCES event_types(id),  -- NULL when it has none
  correlation_id  TEXT,
  status          TEXT NOT NULL,
  package_version INTEGER NOT NULL REFERENCES package_versions(id),
  run             INTEGER NOT NULL REFERENCES runs(id),
  line            INTEGER NOT NULL,
  received_at     BIGINT NOT NULL,  -- milliseconds since 1970-01-01T00:00:00Z (schema 8; TEXT, RFC 3339, before)
  trace           BLOB NOT NULL,
  event           TEXT,
  head            INTEGER NOT NULL  -- 1 for the first row of its key
);
"#;

/// The ledger's indexes.
const EVENTS_INDEXES: &str = r#"
-- A new key costs one insert (the unique index refuses a key seen before);
-- a key's later rows (its conflicts) are found through the second index.
-- (Keys are indexed as text, not hashed: ids that grow, as most do, then
-- insert next to each other, and a batch dirties few index pages.)
CREATE UNIQUE INDEX events_key ON events(idem_key) WHERE head = 1;
CREATE INDEX events_key_more ON events(idem_key) WHERE head = 0;
"#;

/// Schema 7 (or older) to 8: the ledger copied with its event types by id
/// and its `received_at` in milliseconds (the text it was, read by
/// `julianday`: exact to the millisecond it was written with). Ids stay, so
/// the rows that refer to events still do.
const EVENTS_ROWS_7_TO_8: &str = r#"
INSERT INTO event_types (name) SELECT DISTINCT event_type FROM events WHERE event_type IS NOT NULL ORDER BY 1;
INSERT INTO events_8 (id, idem_key, payload_hash, event_id, event_type, correlation_id, status, package_version, run,
                      line, received_at, trace, event, head)
  SELECT e.id, e.idem_key, e.payload_hash, e.event_id, t.id, e.correlation_id, e.status, e.package_version, e.run,
         e.line, CAST(round((julianday(e.received_at) - 2440587.5) * 86400000.0) AS INTEGER), e.trace, e.event, e.head
  FROM events e LEFT JOIN event_types t ON t.name = e.event_type;
DROP TABLE events;
ALTER TABLE events_8 RENAME TO events;
"#;

/// The tables of state across events (schema 5; names by id since schema 8),
/// created by a new state and by the upgrade from 4 alike. Plain SQL types, keyed by the package's name
/// (not its version), so that PostgreSQL can hold the same tables and a new
/// version of a package reads the state the last one left.
const STATE_SCHEMA: &str = r#"
-- The names of each package's states and metrics, stored once (schema 8):
-- the rows of `state_records` and `metric_cells` refer to them by id.
CREATE TABLE state_names (
  id      INTEGER PRIMARY KEY,
  package TEXT NOT NULL,  -- the package's name (its directory's)
  kind    TEXT NOT NULL,  -- 'state' or 'metric'
  name    TEXT NOT NULL,  -- the state's or the metric's name
  UNIQUE (package, kind, name)
);
-- The records of each state (LANGUAGE.md §4.5): one row per key, written in
-- the transaction of the batch whose accepted events wrote it. `key` and
-- `record` are a snapshot line's (RUNTIME.md §7.1): the key fields' values
-- as a JSON array, and the record as an event's data would carry it
-- (packed by `json_shapes` in a BLOB since schema 7; JSON text before).
-- Since schema 8 a record written by an event whose lineage is kept is
-- stored once, in that lineage: `writer` is the event, `record` a reference
-- to the `write` step in its trace whose record after it is
-- (pipeline/src/packed.rs, REF); a prune that empties the trace writes the
-- record into the row first.
CREATE TABLE state_records (
  state   BIGINT NOT NULL REFERENCES state_names(id),  -- kind 'state'
  key     TEXT NOT NULL,
  record  BLOB NOT NULL,
  writer  BIGINT REFERENCES events(id),  -- NULL: the record is in `record`
  PRIMARY KEY (state, key)
) WITHOUT ROWID;
-- The cells of each metric (LANGUAGE.md §4.6), maintained with the records
-- in the same transaction: a cell is a group (the `by` fields' values as a
-- JSON array) and, for a metric with `age`, the instant its records are aged
-- from; it holds how many records contribute and their sum. A cell no
-- record contributes to is deleted. (The key is the table: no second copy
-- of it in an index.)
CREATE TABLE metric_cells (
  metric    BIGINT NOT NULL REFERENCES state_names(id),  -- kind 'metric'
  by_values TEXT NOT NULL,
  age_at    BIGINT NOT NULL, -- microseconds since 1970-01-01T00:00:00Z; -9223372036854775808 (the least BIGINT) without `age`
  records   BIGINT NOT NULL,
  acc       TEXT NOT NULL,   -- the sum: `i:5`, `d:12.50`, `m:EUR=3.00;USD=1.25`, `c` for a count
  PRIMARY KEY (metric, by_values, age_at)
) WITHOUT ROWID;
"#;

/// Which package version maintained each package's metric cells (schema 5,
/// unchanged since).
const STATE_PACKAGES: &str = r#"
-- Which package version the cells of each package were maintained by: the
-- first run of another version computes them again from the records (its
-- metrics, or the functions and tables they use, may differ).
CREATE TABLE state_packages (
  package         TEXT PRIMARY KEY,
  metrics_version TEXT NOT NULL  -- a package_versions.hash
);
"#;

/// Schema 7 (or 5, 6) to 8: the state tables with names by id. Every row is
/// copied; a cell of a metric without `age` gets the least BIGINT for its
/// `age_at` (NULL before).
const STATE_NAMES_7_TO_8: &str = r#"
DROP INDEX metric_cells_key;
ALTER TABLE state_records RENAME TO state_records_7;
ALTER TABLE metric_cells RENAME TO metric_cells_7;
"#;

/// After [`STATE_NAMES_7_TO_8`] and the new tables: the rows copied.
const STATE_ROWS_7_TO_8: &str = r#"
INSERT INTO state_names (package, kind, name)
  SELECT DISTINCT package, 'state', state FROM state_records_7;
INSERT OR IGNORE INTO state_names (package, kind, name)
  SELECT DISTINCT package, 'metric', metric FROM metric_cells_7;
INSERT INTO state_records (state, key, record)
  SELECT n.id, r.key, r.record FROM state_records_7 r
  JOIN state_names n ON n.package = r.package AND n.kind = 'state' AND n.name = r.state;
INSERT OR REPLACE INTO metric_cells (metric, by_values, age_at, records, acc)
  SELECT n.id, c.by_values, coalesce(c.age_at, -9223372036854775808), c.records, c.acc FROM metric_cells_7 c
  JOIN state_names n ON n.package = c.package AND n.kind = 'metric' AND n.name = c.metric;
DROP TABLE state_records_7;
DROP TABLE metric_cells_7;
"#;

/// An open state directory.
pub struct State {
    pub(crate) conn: Connection,
    dir: PathBuf,
    /// Held while this process may write sink files.
    lock_file: Option<File>,
    /// What other accounts can read or write, as found on opening.
    exposed: Vec<crate::private::Exposed>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("dir", &self.dir).finish()
    }
}

impl State {
    /// Opens a state directory for processing, creating it when it does not
    /// exist (or is empty), and takes its lock.
    pub fn open(dir: &Path) -> Result<State> {
        if !dir.exists() {
            crate::private::create_dir_all(dir).map_err(|e| Error::CreateDir { path: dir.to_path_buf(), source: e })?;
        }
        let db_path = dir.join(DB_FILE);
        if !db_path.exists() {
            let empty = std::fs::read_dir(dir)
                .map_err(|e| Error::Read { path: dir.to_path_buf(), source: e })?
                .filter_map(|e| e.ok())
                .all(|e| e.file_name() == "lock");
            if !empty {
                return Err(Error::NotState(dir.to_path_buf()));
            }
        }
        let lock = lock(dir)?;
        if !db_path.exists() {
            // Created 0600 first: SQLite gives its WAL and shared memory the database's mode.
            crate::private::touch(&db_path).map_err(|e| Error::Read { path: db_path.clone(), source: e })?;
        }
        let conn = connect(&db_path, true)?;
        init_or_check(&conn, &db_path)?;
        configure(&conn, &db_path)?;
        let exposed = crate::private::exposed(dir);
        Ok(State { conn, dir: dir.to_path_buf(), lock_file: Some(lock), exposed })
    }

    /// Opens an existing state without its lock, for reading the queue and
    /// the reconciliation counts (and updates that touch no sink) while a
    /// `canon process` may be running.
    pub fn open_existing(dir: &Path) -> Result<State> {
        let db_path = dir.join(DB_FILE);
        if !db_path.is_file() {
            return Err(Error::NoState(dir.to_path_buf()));
        }
        let conn = connect(&db_path, false)?;
        let old = check(&conn, &db_path)?;
        verify(&conn, &db_path)?;
        if old {
            // Upgraded only when no `canon process` is writing it; another
            // reader may be upgrading it just now: wait a little for it.
            let mut waited = 0;
            let _lock = loop {
                match lock(dir) {
                    Ok(l) => break Some(l),
                    Err(Error::Locked(_)) if waited < 50 => {
                        std::thread::sleep(Duration::from_millis(100));
                        waited += 1;
                        if !check(&conn, &db_path)? {
                            break None;
                        }
                    }
                    Err(e) => return Err(e),
                }
            };
            upgrade(&conn, &db_path)?;
        }
        configure(&conn, &db_path)?;
        let exposed = crate::private::exposed(dir);
        Ok(State { conn, dir: dir.to_path_buf(), lock_file: None, exposed })
    }

    /// Takes the lock of a state opened with [`State::open_existing`] (needed
    /// before delivering to sinks).
    pub fn lock(&mut self) -> Result<()> {
        if self.lock_file.is_none() {
            self.lock_file = Some(lock(&self.dir)?);
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The state's paths that other accounts can read or write (empty when
    /// it is private, as Canon creates it).
    pub fn exposed(&self) -> &[crate::private::Exposed] {
        &self.exposed
    }

    /// The connection (for tools and tests that read the state directly).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A second connection to the same database (for the delivery thread).
    pub(crate) fn connect_again(&self) -> Result<Connection> {
        let path = self.dir.join(DB_FILE);
        let conn = connect(&path, false)?;
        configure(&conn, &path)?;
        Ok(conn)
    }

    /// The row id of a package version, recorded on first sight with its
    /// release (the hash covers the `[package]` table, so a hash has one
    /// release; a row recorded before schema 6 learns it here).
    pub fn package_version_id(
        &self,
        hash: &str,
        root: &Path,
        data_dir: &Path,
        release: &crate::version::Release,
    ) -> Result<i64> {
        let now = crate::now();
        self.conn.execute(
            "INSERT INTO package_versions (hash, root, data_dir, first_seen, rules_recorded, rules_name, rules_version,
                                           rules_owner, rules_effective_from)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8)
             ON CONFLICT (hash) DO UPDATE SET root = excluded.root, data_dir = excluded.data_dir,
               rules_recorded = 1, rules_name = excluded.rules_name, rules_version = excluded.rules_version,
               rules_owner = excluded.rules_owner, rules_effective_from = excluded.rules_effective_from",
            rusqlite::params![
                hash,
                absolute(root),
                absolute(data_dir),
                now,
                release.name,
                release.version,
                release.owner,
                release.effective_from
            ],
        )?;
        Ok(self.conn.query_row("SELECT id FROM package_versions WHERE hash = ?1", [hash], |r| r.get(0))?)
    }
}

fn absolute(p: &Path) -> String {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).to_string_lossy().into_owned()
}

fn lock(dir: &Path) -> Result<File> {
    let path = dir.join("lock");
    let file = crate::private::open(&path, std::fs::OpenOptions::new().create(true).truncate(false).write(true))
        .map_err(|e| Error::Read { path: path.clone(), source: e })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Read { path, source: e }),
    }
}

fn corrupt(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            Error::Corrupt { path: path.to_path_buf(), detail: e.to_string() }
        }
        _ => Error::from(e),
    }
}

fn connect(path: &Path, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| corrupt(path, e))?;
    // Closing must not checkpoint a WAL into a database that is then
    // refused (newer, damaged): a refused state is left as it was.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(|e| corrupt(path, e))?;
    conn.busy_timeout(Duration::from_secs(30)).map_err(|e| corrupt(path, e))?;
    // Reading the header first turns "not a database" into a clear error.
    conn.pragma_query_value(None, "application_id", |r| r.get::<_, i64>(0)).map_err(|e| corrupt(path, e))?;
    conn.set_prepared_statement_cache_capacity(64);
    // SQLite's default, which rusqlite's bundled build turns around: the
    // ledger writes every referenced row itself, before the rows that
    // refer to it, and checking each reference again would cost two index
    // lookups per event.
    conn.pragma_update(None, "foreign_keys", false).map_err(|e| corrupt(path, e))?;
    // Plans must not depend on bound values: else SQLite prepares the
    // ledger lookup again for every key.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(|e| corrupt(path, e))?;
    Ok(conn)
}

/// WAL mode and synchronous commits, set once the database is known to be ours.
fn configure(conn: &Connection, path: &Path) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| corrupt(path, e))?;
    // Every commit is on disk before its events are acknowledged.
    conn.pragma_update(None, "synchronous", "FULL").map_err(|e| corrupt(path, e))?;
    // 64 MiB of page cache: the ledger's key index stays in memory.
    conn.pragma_update(None, "cache_size", -65536).map_err(|e| corrupt(path, e))?;
    autocheckpoint(conn).map_err(|e| corrupt(path, e))?;
    // Closing leaves the WAL to the next checkpoint instead of copying it
    // into the database on the way out: committed frames are as durable in
    // the WAL, and a run's end need not wait for a copy of its last batches.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(|e| corrupt(path, e))?;
    Ok(())
}

fn init_or_check(conn: &Connection, path: &Path) -> Result<()> {
    let app: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| corrupt(path, e))?;
    let tables: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(|e| corrupt(path, e))?;
    if app == 0 && tables == 0 {
        // 16 KiB pages: a ledger row is some 400 bytes, and appending to
        // pages that hold dozens of them splits a page a quarter as often
        // (and writes fewer WAL frames) as SQLite's default 4 KiB would.
        conn.pragma_update(None, "page_size", PAGE_SIZE).map_err(|e| corrupt(path, e))?;
        let tx = conn.unchecked_transaction().map_err(|e| corrupt(path, e))?;
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(EVENT_TYPES)?;
        tx.execute_batch(EVENTS_TABLE)?;
        tx.execute_batch(EVENTS_INDEXES)?;
        tx.execute_batch(STATE_SCHEMA)?;
        tx.execute_batch(STATE_PACKAGES)?;
        tx.execute(
            "INSERT INTO canon_schema (app, version, created_at) VALUES ('canon', ?1, ?2)",
            rusqlite::params![SCHEMA_VERSION, crate::now()],
        )?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
        return Ok(());
    }
    let old = check(conn, path)?;
    verify(conn, path)?;
    if old {
        upgrade(conn, path)?;
    }
    Ok(())
}

/// Reads every page of the database (`PRAGMA quick_check`), so that damage
/// anywhere in it (bytes overwritten, a truncated file) refuses the state
/// before anything is read from it or written to it, rather than when some
/// later query happens on the damaged page.
fn verify(conn: &Connection, path: &Path) -> Result<()> {
    let first: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0)).map_err(|e| corrupt_any(path, e))?;
    if first != "ok" {
        return Err(Error::Corrupt { path: path.to_path_buf(), detail: first });
    }
    Ok(())
}

/// Any error of an integrity check says the database is damaged.
fn corrupt_any(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => Error::from(e),
        _ => Error::Corrupt { path: path.to_path_buf(), detail: e.to_string() },
    }
}

/// Checks that the database is a canon state this canon can read; whether
/// it must be upgraded first (which takes the state's lock).
fn check(conn: &Connection, path: &Path) -> Result<bool> {
    let app: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| corrupt(path, e))?;
    if app != APPLICATION_ID {
        return Err(Error::Foreign { path: path.to_path_buf(), detail: format!("its application id is {app:#x}") });
    }
    let version: Option<i64> = conn
        .query_row("SELECT version FROM canon_schema WHERE app = 'canon'", [], |r| r.get(0))
        .optional()
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => corrupt(path, e),
            _ => Error::Foreign { path: path.to_path_buf(), detail: e.to_string() },
        })?;
    match version {
        None => Err(Error::Foreign { path: path.to_path_buf(), detail: "no schema version".into() }),
        Some(v) if v > SCHEMA_VERSION => {
            Err(Error::NewerSchema { path: path.to_path_buf(), found: v, known: SCHEMA_VERSION })
        }
        Some(1..=7) => Ok(true),
        Some(v) if v < SCHEMA_VERSION => Err(Error::Foreign {
            path: path.to_path_buf(),
            detail: format!("schema version {v} is older than {SCHEMA_VERSION} and cannot be upgraded"),
        }),
        Some(_) => Ok(false),
    }
}

/// Schema 1 to 2: the table of lineage steps (traces already written stay
/// as they are: they are read in either form). 2 to 3: the offset and hash
/// of each file sink's last committed line (unknown, so unchecked, until the
/// sink is next written). 3 to 4: who retried and resolved exceptions
/// (unknown before). 4 to 5: the tables of state records and metric cells
/// (empty: no package kept state before). 5 to 6: the rule authors' version
/// of each package version (`rules_recorded` 0: not known for those seen
/// before, until one is seen again). 6 to 7: the table of shapes of packed
/// JSON texts (the traces and state records already written stay JSON text,
/// read as they are; a record is packed when it is next written). 7 to 8:
/// the names of states and metrics in `state_names`, the rows of
/// `state_records` and `metric_cells` copied with their ids
/// ([`STATE_NAMES_7_TO_8`]); the ledger's event types by id and its times
/// as integers ([`EVENTS_ROWS_7_TO_8`]).
fn upgrade(conn: &Connection, path: &Path) -> Result<()> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| corrupt(path, e))?;
    // Another canon may have upgraded it since it was read.
    let version: i64 = tx.query_row("SELECT version FROM canon_schema WHERE app = 'canon'", [], |r| r.get(0))?;
    if version == 1 {
        tx.execute_batch("CREATE TABLE trace_steps (id INTEGER PRIMARY KEY, step TEXT NOT NULL UNIQUE);")?;
    }
    if version <= 2 {
        tx.execute_batch(
            "ALTER TABLE sink_files ADD COLUMN tail_start INTEGER;
             ALTER TABLE sink_files ADD COLUMN tail_hash INTEGER;",
        )?;
    }
    if version <= 3 {
        tx.execute_batch(
            "ALTER TABLE exceptions ADD COLUMN updated_by TEXT;
             ALTER TABLE exceptions ADD COLUMN resolved_by TEXT;
             ALTER TABLE exception_history ADD COLUMN by TEXT;",
        )?;
    }
    if version <= 4 {
        tx.execute_batch(STATE_SCHEMA)?;
        tx.execute_batch(STATE_PACKAGES)?;
    }
    if version <= 5 {
        tx.execute_batch(
            "ALTER TABLE package_versions ADD COLUMN rules_recorded INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE package_versions ADD COLUMN rules_name TEXT;
             ALTER TABLE package_versions ADD COLUMN rules_version TEXT;
             ALTER TABLE package_versions ADD COLUMN rules_owner TEXT;
             ALTER TABLE package_versions ADD COLUMN rules_effective_from TEXT;",
        )?;
    }
    if version <= 6 {
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS json_shapes (id INTEGER PRIMARY KEY, shape TEXT NOT NULL UNIQUE);",
        )?;
    }
    let typed: i64 = tx.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'event_types'", [], |r| r.get(0))?;
    if typed == 0 {
        tx.execute_batch(EVENT_TYPES)?;
        tx.execute_batch(&EVENTS_TABLE.replace("CREATE TABLE events (", "CREATE TABLE events_8 ("))?;
        tx.execute_batch(EVENTS_ROWS_7_TO_8)?;
        tx.execute_batch(EVENTS_INDEXES)?;
    }
    // (Tables of the old form: a state of schema 5 to 7 has them.)
    let named: i64 =
        tx.query_row("SELECT count(*) FROM pragma_table_info('state_records') WHERE name = 'package'", [], |r| {
            r.get(0)
        })?;
    if (5..=7).contains(&version) && named > 0 {
        tx.execute_batch(STATE_NAMES_7_TO_8)?;
        tx.execute_batch(STATE_SCHEMA)?;
        tx.execute_batch(STATE_ROWS_7_TO_8)?;
    }
    if version < SCHEMA_VERSION {
        tx.execute("UPDATE canon_schema SET version = ?1 WHERE app = 'canon'", [SCHEMA_VERSION])?;
        tx.commit()?;
    }
    Ok(())
}
