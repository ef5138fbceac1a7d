//! File sinks: one JSONL file per destination, written exactly once.
//!
//! A batch's lines are appended and `fsync`ed *before* the transaction that
//! records them (ledger, outbox rows marked delivered, the file's new
//! committed length) commits. A crash before the commit leaves bytes past the
//! committed length: they are cut when the sink is next opened, and the
//! events, absent from the ledger, are processed again. A crash after it
//! leaves everything durable. So each record is in its file exactly once,
//! and a file sink needs no outbox rows: the file is its own outbox.
//!
//! Only our own uncommitted bytes are cut. Before a batch appends anything,
//! the length and a hash of each of its lines, per file, are written to the
//! state directory's [`INTENT_FILE`] and made durable. Bytes past a sink's
//! committed length are cut only when they are those lines (the last one
//! possibly torn) at the offset the intent names; anything else (an append
//! by someone else, a file shortened or rewritten outside canon) is refused
//! before any event is processed, and the file is left as it is. The state
//! also keeps the offset and hash of the last committed line, checked on
//! every open: the end of what was delivered must still be what canon wrote.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
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

/// The file in the state directory that names the lines a batch is about to
/// append to its file sinks, written and made durable before them.
pub const INTENT_FILE: &str = "sinks.pending";
const INTENT_MAGIC: &[u8; 8] = b"CNSINK1\n";
/// A test's way to crash between a batch's sink append and its commit:
/// `canon process` aborts after the N-th batch's lines are durable.
const CRASH_BEFORE_COMMIT: &str = "CANON_TEST_CRASH_BEFORE_COMMIT";

/// A fast 64-bit hash of a line (XXH3: not cryptographic; it tells canon's
/// own bytes from bytes someone else wrote, not from an adversary's).
pub(crate) fn line_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
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
    /// The length of each of the open batch's lines (newline included).
    pub pending_lines: Vec<u32>,
    /// The last committed line: its offset and hash.
    tail: Option<(u64, u64)>,
    /// The last line of the open batch, once written: its offset and hash.
    batch_tail: Option<(u64, u64)>,
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
    /// The state directory's [`INTENT_FILE`].
    intent: PathBuf,
    /// Batches written so far, and the one to crash at (tests only).
    batches: u64,
    crash_at: Option<u64>,
}

impl Sinks {
    /// Opens every file sink, cutting the uncommitted tail a crash left
    /// (and refusing any other bytes past its committed length).
    pub fn open(conn: &Connection, state_dir: &Path, config: &Config) -> Result<Sinks> {
        let intent_path = state_dir.join(INTENT_FILE);
        let intent = read_intent(&intent_path);
        let mut sinks = Sinks {
            routes: Vec::new(),
            files: Vec::new(),
            http: Vec::new(),
            intent: intent_path,
            batches: 0,
            crash_at: std::env::var(CRASH_BEFORE_COMMIT).ok().and_then(|v| v.parse().ok()),
        };
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
                    let mine = intent.iter().find(|i| i.key == key);
                    sinks.files.push(open_file(conn, dest, key, path, mine)?);
                }
                SinkConfig::Http(h) => {
                    sinks.routes.push(Route::Http(sinks.http.len()));
                    sinks.http.push((dest.clone(), h.clone()));
                }
            }
        }
        Ok(sinks)
    }

    /// Appends the open batch's lines to their files and makes them durable,
    /// after the intent naming them is durable. On failure every file is cut
    /// back to its committed length.
    pub fn write_pending(&mut self) -> Result<()> {
        if self.files.iter().all(|f| f.pending.is_empty()) {
            return Ok(());
        }
        if let Err(e) = self.write_intent() {
            self.rollback();
            return Err(e);
        }
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
            start_writeback(&f.file, f.committed, f.pending.len() as u64);
            f.unsynced = f.pending.len() as u64;
            f.pending.clear();
        }
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
        self.batches += 1;
        if self.crash_at == Some(self.batches) {
            eprintln!("{CRASH_BEFORE_COMMIT}: aborting after batch {} was appended, before its commit", self.batches);
            std::process::abort();
        }
        Ok(())
    }

    /// Writes the intent of the open batch: per file with lines to append,
    /// its path, the offset they go to, and each line's length and hash;
    /// then a hash of all of it. Durable before any of the lines is written.
    fn write_intent(&mut self) -> Result<()> {
        let mut buf = Vec::with_capacity(64 + self.files.iter().map(|f| 8 * f.pending_lines.len() + 64).sum::<usize>());
        buf.extend_from_slice(INTENT_MAGIC);
        buf.extend_from_slice(&0u64.to_le_bytes());
        let with_lines = self.files.iter().filter(|f| !f.pending.is_empty()).count() as u32;
        buf.extend_from_slice(&with_lines.to_le_bytes());
        for f in self.files.iter_mut().filter(|f| !f.pending.is_empty()) {
            buf.extend_from_slice(&(f.key.len() as u32).to_le_bytes());
            buf.extend_from_slice(f.key.as_bytes());
            buf.extend_from_slice(&f.committed.to_le_bytes());
            buf.extend_from_slice(&(f.pending_lines.len() as u32).to_le_bytes());
            let mut at = 0usize;
            let mut last = None;
            for &len in &f.pending_lines {
                let line = f.pending.get(at..at + len as usize).unwrap_or_default();
                let h = line_hash(line);
                buf.extend_from_slice(&len.to_le_bytes());
                buf.extend_from_slice(&(h as u32).to_le_bytes());
                last = Some((f.committed + at as u64, h));
                at += len as usize;
            }
            f.batch_tail = last;
        }
        // After the magic, the length of what follows it; at the end, a hash
        // of both. The file is never shortened: a shorter intent leaves the
        // longer one's bytes after it, ignored, and its size (so its inode)
        // changes only when an intent is longer than any before it.
        let body = (buf.len() - INTENT_MAGIC.len() - 8) as u64;
        if let Some(len) = buf.get_mut(INTENT_MAGIC.len()..INTENT_MAGIC.len() + 8) {
            len.copy_from_slice(&body.to_le_bytes());
        }
        let h = line_hash(&buf);
        buf.extend_from_slice(&h.to_le_bytes());
        let err = |e: std::io::Error| Error::IntentWrite { path: self.intent.clone(), source: e };
        let mut file =
            crate::private::open(&self.intent, std::fs::OpenOptions::new().write(true).create(true).truncate(false))
                .map_err(err)?;
        file.write_all(&buf).map_err(err)?;
        file.sync_data().map_err(err)
    }

    /// Records the new committed lengths in the open transaction.
    pub fn record(&self, conn: &Connection) -> Result<()> {
        let mut st = conn.prepare_cached(
            "UPDATE sink_files SET committed = ?1, records = records + ?2, tail_start = ?3, tail_hash = ?4
             WHERE path = ?5",
        )?;
        for f in self.files.iter().filter(|f| f.unsynced + f.pending.len() as u64 > 0) {
            let (start, hash) = match f.batch_tail.or(f.tail) {
                Some((s, h)) => (Some(s as i64), Some(h as i64)),
                None => (None, None),
            };
            st.execute(rusqlite::params![
                (f.committed + f.unsynced + f.pending.len() as u64) as i64,
                f.pending_records as i64,
                start,
                hash,
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
            f.pending_lines.clear();
            f.tail = f.batch_tail.take().or(f.tail);
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
            f.pending_lines.clear();
            f.batch_tail = None;
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

/// One file's part of an intent: the offset the batch's lines go to, and
/// each line's length and hash.
struct Intent {
    key: String,
    start: u64,
    lines: Vec<(u32, u32)>,
}

/// The intent the last batch that wrote file sinks left; none when there
/// is none or it is torn (then no line of its batch was written).
fn read_intent(path: &Path) -> Vec<Intent> {
    std::fs::read(path).ok().and_then(|b| parse_intent(&b)).unwrap_or_default()
}

fn parse_intent(bytes: &[u8]) -> Option<Vec<Intent>> {
    let mut r = Bytes(bytes);
    if r.take(INTENT_MAGIC.len())? != INTENT_MAGIC {
        return None;
    }
    let body_len = usize::try_from(r.u64()?).ok()?;
    let body = r.take(body_len)?;
    let sum = r.u64()?;
    let whole = bytes.get(..INTENT_MAGIC.len() + 8 + body_len)?;
    if sum != line_hash(whole) {
        return None;
    }
    let mut r = Bytes(body);
    let mut out = Vec::new();
    for _ in 0..r.u32()? {
        let key_len = r.u32()? as usize;
        let key = String::from_utf8(r.take(key_len)?.to_vec()).ok()?;
        let start = r.u64()?;
        let n = r.u32()? as usize;
        let mut lines = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            lines.push((r.u32()?, r.u32()?));
        }
        out.push(Intent { key, start, lines });
    }
    Some(out)
}

struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// How every delivery line begins.
const LINE_START: &[u8] = b"{\"delivery_id\":\"";

/// Whether the `len - committed` bytes past the committed length are the
/// lines the intent names (the last one possibly torn): else what they are.
fn check_tail(file: &mut File, committed: u64, len: u64, intent: Option<&Intent>) -> std::io::Result<Option<String>> {
    let extra = len - committed;
    let Some(intent) = intent.filter(|i| i.start == committed) else {
        return Ok(Some("canon was writing nothing there when it stopped".into()));
    };
    let total: u64 = intent.lines.iter().map(|&(l, _)| u64::from(l)).sum();
    if extra > total {
        return Ok(Some(format!("canon's last batch had only {total} bytes to write there")));
    }
    let mut tail = vec![0; extra as usize];
    file.seek(SeekFrom::Start(committed))?;
    file.read_exact(&mut tail)?;
    let mut rest = tail.as_slice();
    let mut at = committed;
    for &(len, hash) in &intent.lines {
        if rest.is_empty() {
            break;
        }
        let len = len as usize;
        if rest.len() < len {
            // A torn line: it can only be the start of the line canon was writing.
            let plausible =
                if rest.len() < LINE_START.len() { LINE_START.starts_with(rest) } else { rest.starts_with(LINE_START) };
            if !plausible || rest.contains(&b'\n') {
                return Ok(Some(format!("the bytes at offset {at} are not the line canon was writing there")));
            }
            break;
        }
        let (line, more) = rest.split_at(len);
        if line_hash(line) as u32 != hash {
            return Ok(Some(format!("the bytes at offset {at} are not the line canon was writing there")));
        }
        rest = more;
        at += len as u64;
    }
    Ok(None)
}

fn open_file(conn: &Connection, dest: &str, key: String, path: PathBuf, intent: Option<&Intent>) -> Result<FileSink> {
    let write_err =
        |e: std::io::Error| Error::SinkWrite { destination: dest.to_string(), path: path.clone(), source: e };
    let row: Option<(i64, Option<i64>, Option<i64>)> = conn
        .query_row("SELECT committed, tail_start, tail_hash FROM sink_files WHERE path = ?1", [&key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let len = match std::fs::metadata(&path) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(write_err(e)),
    };
    let mut tail = None;
    let committed = match (row, len) {
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
        (Some((c, start, hash)), len) => {
            let c = c.max(0) as u64;
            let len = len.unwrap_or(0);
            if len < c {
                return Err(Error::SinkShrunk { destination: dest.to_string(), path, len, committed: c });
            }
            if let (Some(s), Some(h)) = (start, hash) {
                tail = Some((s.max(0) as u64, h as u64));
            }
            c
        }
    };
    let created = len.is_none();
    if let Some(parent) = path.parent() {
        crate::private::create_dir_all(parent).map_err(write_err)?;
    }
    let mut file =
        crate::private::open(&path, std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false))
            .map_err(write_err)?;
    if let Some((start, hash)) = tail {
        // The last line delivered must still be the one canon wrote.
        let mut line = vec![0; committed.saturating_sub(start) as usize];
        file.seek(SeekFrom::Start(start)).and_then(|_| file.read_exact(&mut line)).map_err(write_err)?;
        if start >= committed || line_hash(&line) != hash {
            return Err(Error::SinkChanged { destination: dest.to_string(), path, start, end: committed });
        }
    }
    let len = len.unwrap_or(0);
    if len > committed {
        // A crash's uncommitted tail is cut; anything else is refused.
        if let Some(found) = check_tail(&mut file, committed, len, intent).map_err(write_err)? {
            return Err(Error::SinkAppended { destination: dest.to_string(), path, len, committed, found });
        }
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
        pending_lines: Vec::new(),
        tail,
        batch_tail: None,
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
