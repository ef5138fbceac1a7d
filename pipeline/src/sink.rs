//! File sinks: one JSONL file per destination, written exactly once.
//!
//! A batch's lines are appended and `fsync`ed *before* the transaction that
//! records them (ledger, outbox rows marked delivered, the file's new
//! committed length) commits. A crash before the commit leaves bytes past the
//! committed length: they are cut when the sink is next opened, and the
//! events, absent from the ledger, are processed again. A crash after it
//! leaves everything durable. So each record is in its file exactly once,
//! and a file sink needs no outbox rows: the file is its own outbox.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use canon_runtime::encode::json_str;
use rusqlite::{Connection, OptionalExtension};

use crate::config::{Config, HttpConfig, SinkConfig};
use crate::error::{Error, Result};

/// Where a destination's records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    File(usize),
    Http(usize),
}

/// One open file sink.
pub(crate) struct FileSink {
    pub destination: String,
    pub path: PathBuf,
    /// The path as recorded in `sink_files` (relative to the state directory
    /// when it is inside it).
    key: String,
    file: File,
    /// Bytes known to be delivered (committed in the database).
    pub committed: u64,
    /// Lines of the open batch not yet written to the file.
    pub pending: Vec<u8>,
    /// How many lines the open batch has (written or not).
    pub pending_records: u64,
    /// Bytes of the open batch already written to the file (not yet
    /// committed).
    unsynced: u64,
    /// Whether the open batch has written to the file.
    written: bool,
}

/// The sinks of every destination of a package.
pub(crate) struct Sinks {
    /// By destination index.
    pub routes: Vec<Route>,
    pub files: Vec<FileSink>,
    pub http: Vec<(String, HttpConfig)>,
}

impl Sinks {
    /// Opens every file sink, cutting any tail past its committed length.
    pub fn open(conn: &Connection, state_dir: &Path, config: &Config) -> Result<Sinks> {
        let mut sinks = Sinks { routes: Vec::new(), files: Vec::new(), http: Vec::new() };
        for (dest, sink) in &config.sinks {
            match sink {
                SinkConfig::File { path } => {
                    let (key, path) = match path {
                        None => (format!("out/{dest}.jsonl"), state_dir.join("out").join(format!("{dest}.jsonl"))),
                        Some(p) if p.is_absolute() => (p.to_string_lossy().into_owned(), p.clone()),
                        Some(p) => (p.to_string_lossy().replace('\\', "/"), state_dir.join(p)),
                    };
                    if let Some(other) = sinks.files.iter().find(|f| f.key == key) {
                        return Err(Error::Other(format!(
                            "destinations `{}` and `{dest}` both write to `{}`: give each its own file",
                            other.destination,
                            path.display()
                        )));
                    }
                    sinks.routes.push(Route::File(sinks.files.len()));
                    sinks.files.push(open_file(conn, dest, key, path)?);
                }
                SinkConfig::Http(h) => {
                    sinks.routes.push(Route::Http(sinks.http.len()));
                    sinks.http.push((dest.clone(), h.clone()));
                }
            }
        }
        Ok(sinks)
    }

    /// Appends the open batch's lines queued so far to their files, and
    /// starts writing them to disk, so that the commit's `fsync` has little
    /// left to wait for (they count for nothing until the batch commits).
    /// On failure every file is cut back to its committed length.
    pub fn write_some(&mut self) -> Result<()> {
        for i in 0..self.files.len() {
            let Some(f) = self.files.get_mut(i) else { continue };
            if f.pending.is_empty() {
                continue;
            }
            f.written = true;
            if let Err(e) = f.file.write_all(&f.pending) {
                let err = Error::SinkWrite { destination: f.destination.clone(), path: f.path.clone(), source: e };
                self.rollback();
                return Err(err);
            }
            start_writeback(&f.file, f.committed + f.unsynced, f.pending.len() as u64);
            f.unsynced += f.pending.len() as u64;
            f.pending.clear();
        }
        Ok(())
    }

    /// Appends the open batch's lines to their files and makes them durable.
    /// On failure every file is cut back to its committed length.
    pub fn write_pending(&mut self) -> Result<()> {
        self.write_some()?;
        for i in 0..self.files.len() {
            let Some(f) = self.files.get_mut(i) else { continue };
            if f.unsynced == 0 {
                continue;
            }
            if let Err(e) = f.file.sync_data() {
                let err = Error::SinkWrite { destination: f.destination.clone(), path: f.path.clone(), source: e };
                self.rollback();
                return Err(err);
            }
        }
        Ok(())
    }

    /// Records the new committed lengths in the open transaction.
    pub fn record(&self, conn: &Connection) -> Result<()> {
        let mut st =
            conn.prepare_cached("UPDATE sink_files SET committed = ?1, records = records + ?2 WHERE path = ?3")?;
        for f in self.files.iter().filter(|f| f.unsynced + f.pending.len() as u64 > 0) {
            st.execute(rusqlite::params![
                (f.committed + f.unsynced + f.pending.len() as u64) as i64,
                f.pending_records as i64,
                f.key
            ])?;
        }
        Ok(())
    }

    /// The transaction committed: the written lines are delivered.
    pub fn committed(&mut self) {
        for f in &mut self.files {
            f.committed += f.unsynced + f.pending.len() as u64;
            f.unsynced = 0;
            f.pending.clear();
            f.pending_records = 0;
            f.written = false;
        }
    }

    /// The transaction did not commit: cut what was written, drop the batch.
    pub fn rollback(&mut self) {
        for f in &mut self.files {
            if f.written {
                // Best effort: whatever stays is cut when the sink is next opened.
                let _ = f.file.set_len(f.committed).and_then(|()| f.file.sync_data());
                let _ = f.file.seek(SeekFrom::Start(f.committed));
            }
            f.pending.clear();
            f.pending_records = 0;
            f.unsynced = 0;
            f.written = false;
        }
    }
}

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to
/// disk, without waiting (Linux's `sync_file_range`; elsewhere nothing: the
/// commit's `fsync` writes them).
fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor; the call only schedules writeback
        // of the given range and reads no memory of ours.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), offset as i64, len as i64, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

fn open_file(conn: &Connection, dest: &str, key: String, path: PathBuf) -> Result<FileSink> {
    let write_err =
        |e: std::io::Error| Error::SinkWrite { destination: dest.to_string(), path: path.clone(), source: e };
    let committed: Option<i64> =
        conn.query_row("SELECT committed FROM sink_files WHERE path = ?1", [&key], |r| r.get(0)).optional()?;
    let len = match std::fs::metadata(&path) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(write_err(e)),
    };
    let committed = match (committed, len) {
        (None, Some(len)) if len > 0 => {
            return Err(Error::SinkForeign { destination: dest.to_string(), path, len });
        }
        (None, _) => {
            conn.execute(
                "INSERT INTO sink_files (path, destination, committed, records) VALUES (?1, ?2, 0, 0)",
                rusqlite::params![key, dest],
            )?;
            0
        }
        (Some(c), len) => {
            let c = c.max(0) as u64;
            let len = len.unwrap_or(0);
            if len < c {
                return Err(Error::SinkShrunk { destination: dest.to_string(), path, len, committed: c });
            }
            c
        }
    };
    let created = len.is_none();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_err)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(write_err)?;
    if len.unwrap_or(0) > committed {
        // A torn or uncommitted tail from a crash: cut it.
        file.set_len(committed).and_then(|()| file.sync_data()).map_err(write_err)?;
    }
    file.seek(SeekFrom::Start(committed)).map_err(write_err)?;
    if created {
        if let Some(parent) = path.parent() {
            // Make the new file's directory entry durable too.
            let _ = File::open(parent).and_then(|d| d.sync_all());
        }
    }
    Ok(FileSink {
        destination: dest.to_string(),
        path,
        key,
        file,
        committed,
        pending: Vec::new(),
        pending_records: 0,
        unsynced: 0,
        written: false,
    })
}

/// One delivered line (file sinks) or request body (HTTP sinks), without
/// the newline; returns where the delivery id is in `out`.
pub(crate) fn delivery_json(
    out: &mut String,
    delivery_id: &str,
    event_id: Option<&str>,
    correlation_id: Option<&str>,
    record: &str,
) -> std::ops::Range<usize> {
    out.push_str("{\"delivery_id\":");
    let id_start = out.len() + 1;
    json_str(out, delivery_id);
    let id = id_start..out.len() - 1;
    out.push_str(",\"event_id\":");
    match event_id {
        Some(v) => json_str(out, v),
        None => out.push_str("null"),
    }
    out.push_str(",\"correlation_id\":");
    match correlation_id {
        Some(v) => json_str(out, v),
        None => out.push_str("null"),
    }
    out.push_str(",\"record\":");
    out.push_str(record);
    out.push('}');
    id
}
