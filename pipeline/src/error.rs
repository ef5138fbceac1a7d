//! The pipeline's errors: each says what went wrong, where, and what was kept.

use std::path::PathBuf;

/// Why a pipeline operation failed. Nothing that was acknowledged is ever lost:
/// a failed batch is rolled back and its events are processed again next time.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot create the state directory `{path}`: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("`{0}` is not a canon state directory: it is not empty and has no `state.db`")]
    NotState(PathBuf),
    #[error("`{0}` holds no canon state (no `state.db`); run `canon process` with this --state first")]
    NoState(PathBuf),
    #[error("`{path}` is corrupt or not a SQLite database ({detail}); restore it from a backup or use another --state directory")]
    Corrupt { path: PathBuf, detail: String },
    #[error("`{path}` is a SQLite database but not a canon state ({detail})")]
    Foreign { path: PathBuf, detail: String },
    #[error("`{path}` has state schema version {found}, but this canon knows only version {known}: use a newer canon")]
    NewerSchema { path: PathBuf, found: i64, known: i64 },
    #[error("the state directory `{0}` is in use by another canon process")]
    Locked(PathBuf),
    #[error("the state database is corrupt ({0}); restore it from a backup or use another --state directory")]
    CorruptDb(String),
    #[error("the disk holding the state is full ({0}); nothing of the current batch was committed, run again when there is space")]
    DiskFull(String),
    #[error("state database: {0}")]
    Db(rusqlite::Error),
    #[error("sink `{destination}`: cannot write `{path}`: {source}; nothing of the current batch was committed, run again once it is fixed")]
    SinkWrite { destination: String, path: PathBuf, source: std::io::Error },
    #[error("sink `{destination}`: `{path}` has {len} bytes but {committed} were delivered to it: it was truncated or replaced outside canon")]
    SinkShrunk { destination: String, path: PathBuf, len: u64, committed: u64 },
    #[error("cannot write `{path}` (the file sinks' intent): {source}; nothing of the current batch was committed, run again once it is fixed")]
    IntentWrite { path: PathBuf, source: std::io::Error },
    #[error("sink `{destination}`: `{path}` has {len} bytes, of which canon delivered the first {committed}, but the rest is not what canon was writing there ({found}): it was appended to or changed outside canon. Nothing was processed and the file was left as it is; move those bytes away (keep the first {committed}) and run again")]
    SinkAppended { destination: String, path: PathBuf, len: u64, committed: u64, found: String },
    #[error("sink `{destination}`: the last line canon delivered to `{path}` (bytes {start} to {end}) is not what canon wrote there: the file was changed outside canon. Nothing was processed and the file was left as it is; restore it from a backup")]
    SinkChanged { destination: String, path: PathBuf, start: u64, end: u64 },
    #[error("sink `{destination}`: `{path}` already holds {len} bytes that this state did not write; move it away or use another --state directory")]
    SinkForeign { destination: String, path: PathBuf, len: u64 },
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("reading the input: {0}")]
    Input(std::io::Error),
    #[error("writing outcomes: {0}")]
    Output(std::io::Error),
    #[error("`{path}`: {message}")]
    Config { path: PathBuf, message: String },
    #[error("exception {0} not found")]
    NotFound(i64),
    #[error("exception {0} is already resolved")]
    AlreadyResolved(i64),
    #[error("state `{state}`, key {key}: {message}: the package no longer reads a record its state holds; change the package (or its record type) so that it does, then run again")]
    StateRecord { state: String, key: String, message: String },
    #[error("{0}")]
    NotFoundText(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Other(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                Error::CorruptDb(e.to_string())
            }
            Some(rusqlite::ErrorCode::DiskFull) => Error::DiskFull(e.to_string()),
            _ => Error::Db(e),
        }
    }
}

impl Error {
    /// Damage a query ran into ([`Error::CorruptDb`]) as the damage of the
    /// state directory `dir`'s database, which the message then names.
    pub fn in_state(self, dir: &std::path::Path) -> Error {
        match self {
            Error::CorruptDb(detail) => Error::Corrupt { path: dir.join(crate::state::DB_FILE), detail },
            e => e,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
