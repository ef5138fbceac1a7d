//! `canon process`: evaluate a stream of events durably.
//!
//! Evaluation threads take chunks of lines from the input in turn, evaluate
//! each line (the JIT compiled with lineage, or the traced interpreter),
//! compute its idempotency key and payload hash, and encode its outcome,
//! records and compact trace into the chunk's buffers. The writing thread
//! (the caller's) takes the chunks in input order and batches them: in one
//! SQLite transaction per batch it checks the ledger, records each new event
//! with its lineage, its outbox rows and its exception; appends the file
//! sinks' lines and `fsync`s them; records their committed lengths; commits.
//! Only then does the output thread write the batch's outcome lines (the
//! acknowledgement) and give the chunks back to be reused. Checkpoints run
//! on a thread of their own; another thread delivers to HTTP sinks from the
//! outbox once rows are committed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use canon_compiler::ir::{DestId, Package};
use canon_jit::{Backend, Choice, Evaluator};
use canon_runtime::engine::{write_outcome_head, write_rejections, Outcome, OutcomeHead};
use canon_runtime::outcome::{Rejection, TraceEvent};
use canon_runtime::{encode, LoadedPackage, Status, Tables};
use rusqlite::{Connection, TransactionBehavior};
use sha2::{Digest, Sha256};

use crate::canonical::{self, Identity};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::{deliver, DeliveryCounts};
use crate::lineage::{StepCache, Steps};
use crate::sink::{delivery_json, Route, Sinks};
use crate::state::State;

/// A checked package with its tables, version and sinks, ready to process.
pub struct Rules {
    /// Evaluates with lineage: the JIT when it compiles the package and is
    /// asked for, else the reference interpreter.
    pub(crate) evaluator: Evaluator,
    /// The package version (hex SHA-256 of sources and data).
    pub version: String,
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub config: Config,
}

impl Rules {
    /// `pkg` must have no errors and `tables` must be loaded from `data_dir`;
    /// `backend` is `--engine`.
    pub fn new(pkg: &LoadedPackage, tables: Tables, data_dir: &Path, backend: Backend) -> Result<Rules> {
        let ir = pkg.package();
        let version = crate::version::package_version(&pkg.sources, &ir, data_dir)?;
        let config = Config::load(&pkg.root, &ir)?;
        let (evaluator, _) = Evaluator::new(ir, tables, Choice { backend, lineage: true });
        Ok(Rules { evaluator, version, root: pkg.root.clone(), data_dir: data_dir.to_path_buf(), config })
    }

    /// Replaces the sink configuration (tests and embedders).
    pub fn with_config(mut self, config: Config) -> Rules {
        self.config = config;
        self
    }

    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
    }

    /// One line's outcome and lineage: the same with either engine.
    pub fn evaluate_traced(&self, line_no: u64, line: &str) -> (Outcome, Vec<TraceEvent>) {
        self.evaluator.evaluate_traced(line_no, line)
    }
}

/// How `process` batches its commits.
#[derive(Debug, Clone)]
pub struct Options {
    /// Commit after this many events...
    pub batch_events: usize,
    /// ...or this long after the first event of a batch arrived.
    pub batch_latency: Duration,
    /// What the input is called in the `runs` table.
    pub input_name: String,
    /// Threads evaluating events (the ledger is written by one more).
    pub workers: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            batch_events: 8192,
            batch_latency: Duration::from_millis(200),
            input_name: "-".into(),
            workers: std::thread::available_parallelism().map(|n| n.get().min(4)).unwrap_or(1),
        }
    }
}

/// Outcomes by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub accepted: u64,
    pub rejected: u64,
    pub ignored: u64,
    pub invalid: u64,
    pub duplicate: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.accepted + self.rejected + self.ignored + self.invalid + self.duplicate
    }
    fn add(&mut self, status: Final) {
        match status {
            Final::Status(Status::Accepted) => self.accepted += 1,
            Final::Status(Status::Rejected) | Final::Conflict => self.rejected += 1,
            Final::Status(Status::Ignored) => self.ignored += 1,
            Final::Status(Status::Invalid) => self.invalid += 1,
            Final::Duplicate => self.duplicate += 1,
        }
    }
}

/// Where a run is, after each commit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub counts: Counts,
    /// Input bytes whose events are committed.
    pub bytes: u64,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub counts: Counts,
    /// Deliveries to HTTP sinks during the run.
    pub http: DeliveryCounts,
    pub elapsed: Duration,
    /// The row of the run in `runs`.
    pub run: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Final {
    Status(Status),
    Duplicate,
    Conflict,
}

/// A part of a chunk's buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn of(r: std::ops::Range<usize>) -> Span {
        Span { start: r.start, end: r.end }
    }
}

/// One emitted record: its delivered line (file sinks), and the delivery id
/// and record inside it (the outbox of HTTP sinks).
pub(crate) struct Emit {
    pub dest: usize,
    delivery: Span,
    delivery_id: Span,
    record: Span,
}

/// One event, evaluated and encoded, waiting for the ledger: its text
/// parts are spans of its chunk's buffers.
pub(crate) struct Prepared {
    pub line: u64,
    pub status: Status,
    /// The first 16 bytes of the payload's SHA-256.
    pub hash: [u8; 16],
    key: Span,
    id: Option<Span>,
    event_type: Option<Span>,
    correlation_id: Option<Span>,
    /// The outcome line (RUNTIME.md §2), without the newline.
    outcome: Span,
    /// The rejections as a JSON array (inside the outcome line).
    rejections: Span,
    /// The lineage as a JSON array.
    trace: Span,
    /// Its records, in the chunk's `emits`.
    emits: Span,
    /// The event as received, in the chunk's `input`.
    text: Span,
}

/// Events evaluated together, with everything the ledger writes for them
/// in a few buffers: the lines as read, the encoded text (keys, outcome
/// lines, lineage, deliveries) and the records. A chunk is reused once the
/// ledger has committed it, so that in a steady run nothing is allocated
/// or freed per event.
#[derive(Default)]
pub(crate) struct Chunk {
    input: Vec<u8>,
    buf: String,
    emits: Vec<Emit>,
    items: Vec<Prepared>,
}

impl Chunk {
    fn clear(&mut self) {
        self.input.clear();
        self.buf.clear();
        self.emits.clear();
        self.items.clear();
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Its events, in input order.
    pub fn events(&self) -> impl Iterator<Item = Ev<'_>> {
        self.items.iter().map(move |p| Ev { chunk: self, p })
    }

    /// Appends an event's line to `input`; its span.
    fn push_input(&mut self, text: &[u8]) -> Span {
        let start = self.input.len();
        self.input.extend_from_slice(text);
        Span { start, end: self.input.len() }
    }
}

/// One event of a chunk, with its text.
#[derive(Clone, Copy)]
pub(crate) struct Ev<'a> {
    chunk: &'a Chunk,
    p: &'a Prepared,
}

impl std::ops::Deref for Ev<'_> {
    type Target = Prepared;
    fn deref(&self) -> &Prepared {
        self.p
    }
}

impl<'a> Ev<'a> {
    fn get(&self, s: Span) -> &'a str {
        self.chunk.buf.get(s.start..s.end).unwrap_or_default()
    }
    /// The idempotency key.
    pub fn key(&self) -> &'a str {
        self.get(self.p.key)
    }
    pub fn id(&self) -> Option<&'a str> {
        self.p.id.map(|s| self.get(s))
    }
    pub fn event_type(&self) -> Option<&'a str> {
        self.p.event_type.map(|s| self.get(s))
    }
    pub fn correlation_id(&self) -> Option<&'a str> {
        self.p.correlation_id.map(|s| self.get(s))
    }
    pub fn outcome(&self) -> &'a str {
        self.get(self.p.outcome)
    }
    pub fn rejections(&self) -> &'a str {
        self.get(self.p.rejections)
    }
    pub fn trace(&self) -> &'a str {
        self.get(self.p.trace)
    }
    /// The event as received.
    pub fn text(&self) -> &'a str {
        let t = self.p.text;
        self.chunk.input.get(t.start..t.end).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default()
    }
    pub fn emits(&self) -> &'a [Emit] {
        self.chunk.emits.get(self.p.emits.start..self.p.emits.end).unwrap_or_default()
    }
    /// An emit's delivered line, without the newline.
    pub fn delivery(&self, e: &Emit) -> &'a str {
        self.get(e.delivery)
    }
    pub fn delivery_id(&self, e: &Emit) -> &'a str {
        self.get(e.delivery_id)
    }
    pub fn record(&self, e: &Emit) -> &'a str {
        self.get(e.record)
    }
}

/// How an evaluation thread writes lineage: the state's steps, and its
/// own cache of their ids.
pub(crate) struct Lineage<'a> {
    pub steps: &'a Steps,
    pub cache: StepCache,
}

/// Evaluates the line at `text` of the chunk's input with its lineage and
/// adds it, encoded for the ledger, to the chunk (a blank line is skipped).
fn prepare(
    rules: &Rules,
    line_no: u64,
    chunk: &mut Chunk,
    text: Span,
    scratch: &mut canonical::Scratch,
    lineage: &mut Lineage<'_>,
) {
    let line = chunk.input.get(text.start..text.end).unwrap_or_default();
    let line = match std::str::from_utf8(line) {
        Ok(line) if canon_runtime::engine::is_blank(line) => return,
        Ok(line) => line,
        Err(_) => {
            // Not UTF-8, so no JSON: keyed by its bytes, kept lossily.
            let identity = canonical::identity_of_bytes(line);
            let lossy = String::from_utf8_lossy(line.trim_ascii_end()).into_owned();
            let outcome = canon_runtime::engine::invalid_outcome(line_no, "the line is not valid UTF-8");
            let text = chunk.push_input(lossy.as_bytes());
            let p = prepared(rules.evaluator.package(), chunk, outcome, Vec::new(), identity, &[], text, lineage);
            chunk.items.push(p);
            return;
        }
    };
    let (outcome, records, trace) = rules.evaluator.evaluate_traced_encoded(line_no, line);
    let identity = canonical::identity(line, outcome.status != Status::Invalid, scratch);
    let p = prepared(rules.evaluator.package(), chunk, outcome, records, identity, &trace, text, lineage);
    chunk.items.push(p);
}

/// Evaluates an event again (a retry), keeping the identity it was recorded
/// with: a chunk of one event.
pub(crate) fn prepare_again(
    rules: &Rules,
    line_no: u64,
    text: &str,
    identity: Identity,
    lineage: &mut Lineage<'_>,
) -> Chunk {
    let mut chunk = Chunk::default();
    let span = chunk.push_input(text.as_bytes());
    let (outcome, records, trace) = rules.evaluator.evaluate_traced_encoded(line_no, text);
    let p = prepared(rules.evaluator.package(), &mut chunk, outcome, records, identity, &trace, span, lineage);
    chunk.items.push(p);
    chunk
}

/// A stored lineage step as the object `canon run --explain` prints.
pub fn trace_step(step: &serde_json::Value) -> serde_json::Value {
    use serde_json::json;
    let Some(a) = step.as_array() else { return step.clone() };
    let at = |i: usize| a.get(i).cloned().unwrap_or(serde_json::Value::Null);
    match a.first().and_then(|k| k.as_str()) {
        Some("lookup") => json!({"kind": "lookup", "table": at(1), "key": at(2), "found": at(3)}),
        Some("decision") => json!({"kind": "decision", "decision": at(1), "row": at(2), "at": at(3)}),
        Some("rejected") => json!({"kind": "rejected", "code": at(1), "at": at(2)}),
        Some("emit") => json!({"kind": "emit", "destination": at(1), "at": at(2)}),
        _ => step.clone(),
    }
}

/// Appends `s` to `buf`; where it is.
fn push(buf: &mut String, s: &str) -> Span {
    let start = buf.len();
    buf.push_str(s);
    Span { start, end: buf.len() }
}

#[allow(clippy::too_many_arguments)]
fn prepared(
    pkg: &Package,
    chunk: &mut Chunk,
    outcome: Outcome,
    records: Vec<(DestId, String)>,
    identity: Identity,
    trace: &[TraceEvent],
    text: Span,
    lineage: &mut Lineage<'_>,
) -> Prepared {
    let buf = &mut chunk.buf;
    let key = push(buf, &identity.key);
    let id = outcome.id.as_deref().map(|s| push(buf, s));
    let event_type = outcome.event_type.as_deref().map(|s| push(buf, s));
    let correlation_id = outcome.correlation_id.as_deref().map(|s| push(buf, s));
    let start = buf.len();
    lineage.cache.write(lineage.steps, trace, buf);
    let trace = Span { start, end: buf.len() };
    // The outcome line of RUNTIME.md §2, exactly as `canon run` writes it,
    // from the records encoded once; the rejections and the records are
    // read from inside it.
    let start = buf.len();
    let status = outcome.status.as_str();
    write_outcome_head(
        &OutcomeHead {
            line: outcome.line,
            id: outcome.id.as_deref(),
            event_type: outcome.event_type.as_deref(),
            correlation_id: outcome.correlation_id.as_deref(),
            status,
        },
        buf,
    );
    let first_emit = chunk.emits.len();
    for (i, (dest, record)) in records.iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        buf.push_str("{\"destination\":");
        encode::json_str(buf, pkg.destinations.get(dest.0 as usize).map(|d| d.name.as_str()).unwrap_or(""));
        buf.push_str(",\"record\":");
        let record = push(buf, record);
        buf.push('}');
        chunk.emits.push(Emit { dest: dest.0 as usize, delivery: Span::default(), delivery_id: Span::default(), record });
    }
    buf.push_str("],\"rejections\":");
    let rejections_start = buf.len();
    write_rejections(buf, &outcome.rejections);
    let rejections = Span { start: rejections_start, end: buf.len() };
    buf.push('}');
    let outcome_span = Span { start, end: buf.len() };
    if !records.is_empty() {
        let base = delivery_base(&identity);
        let mut delivery_id = String::with_capacity(base.len() + 4);
        for (n, (_, record)) in records.iter().enumerate() {
            delivery_id.clear();
            delivery_id.push_str(&base);
            delivery_id.push('-');
            delivery_id.push_str(itoa::Buffer::new().format(n + 1));
            let at = buf.len();
            let did =
                delivery_json(buf, &delivery_id, outcome.id.as_deref(), outcome.correlation_id.as_deref(), record);
            if let Some(e) = chunk.emits.get_mut(first_emit + n) {
                e.delivery = Span { start: at, end: buf.len() };
                e.delivery_id = Span::of(did);
            }
        }
    }
    Prepared {
        line: outcome.line,
        status: outcome.status,
        hash: identity.hash,
        key,
        id,
        event_type,
        correlation_id,
        outcome: outcome_span,
        rejections,
        trace,
        emits: Span { start: first_emit, end: chunk.emits.len() },
        text,
    }
}

/// The borrowed head of an outcome line (the runtime writes the format).
fn head_of<'a>(p: Ev<'a>, status: &'a str) -> OutcomeHead<'a> {
    OutcomeHead { line: p.line, id: p.id(), event_type: p.event_type(), correlation_id: p.correlation_id(), status }
}

/// The stable part of an event's delivery ids: its key and payload hashed,
/// so a delivery has the same id however often it is attempted.
pub(crate) fn delivery_base(identity: &Identity) -> String {
    let mut h = Sha256::new();
    h.update(identity.key.as_bytes());
    h.update([0u8]);
    h.update(identity.hash);
    let digest = h.finalize();
    canonical::hex(digest.get(..16).unwrap_or_default())
}

/// Rejections as the JSON array of an outcome line.
pub(crate) fn rejections_json(rejections: &[Rejection]) -> String {
    let mut out = String::new();
    write_rejections(&mut out, rejections);
    out
}

/// Appends an outcome line for a status decided by the ledger.
fn ledger_outcome(out: &mut String, p: Ev<'_>, status: &str, rejections: &str) {
    write_outcome_head(&head_of(p, status), out);
    out.push_str("],\"rejections\":");
    out.push_str(rejections);
    out.push('}');
}

/// A chunk of evaluated events, numbered in input order, with the input
/// bytes read so far and the worker that made it.
enum Msg {
    Chunk(u64, Chunk, u64, usize),
    Failed(u64, std::io::Error),
}

/// Chunks go back to the worker that made them once committed, to be
/// reused: nothing is allocated or freed per event, and no memory is freed
/// in another thread than the one that allocated it (slow with glibc).
type Garbage = Chunk;

const CHUNK: usize = 128;

/// The input, read a chunk at a time by whichever worker is free.
struct Source {
    reader: BufReader<Box<dyn Read + Send>>,
    line_no: u64,
    bytes: u64,
    seq: u64,
    done: bool,
    /// Lines a chunk (at most a batch).
    chunk: usize,
}

impl Source {
    /// Reads the next chunk's lines into `input`: up to `chunk` lines, fewer
    /// when the next read could block (a pipe), so slow input is committed
    /// and acknowledged promptly. Each line is numbered, without its line
    /// ending. `None` at the end of the input.
    fn next_into(
        &mut self,
        input: &mut Vec<u8>,
        lines: &mut Vec<(u64, Span)>,
    ) -> Option<(u64, std::result::Result<(), std::io::Error>, u64)> {
        if self.done {
            return None;
        }
        while lines.len() < self.chunk && (lines.is_empty() || !self.reader.buffer().is_empty()) {
            let start = input.len();
            match self.reader.read_until(b'\n', input) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(n) => {
                    self.bytes += n as u64;
                    self.line_no += 1;
                    let mut end = input.len();
                    while end > start && matches!(input.get(end - 1), Some(b'\n' | b'\r')) {
                        end -= 1;
                    }
                    lines.push((self.line_no, Span { start, end }));
                }
                Err(e) => {
                    self.done = true;
                    let seq = self.seq;
                    self.seq += 1;
                    return Some((seq, Err(e), self.bytes));
                }
            }
        }
        if lines.is_empty() {
            return None;
        }
        let seq = self.seq;
        self.seq += 1;
        Some((seq, Ok(()), self.bytes))
    }
}

/// Lowers the calling thread's priority a little. The single writing thread
/// is the pipeline's bottleneck: when the cores are busy it should run
/// first, and the evaluation threads take the time it leaves.
fn yield_to_the_writer() {
    #[cfg(target_os = "linux")]
    // SAFETY: `setpriority` takes no pointers; on Linux, `PRIO_PROCESS` with
    // id 0 changes the nice value of the calling thread only.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 5);
    }
}

/// One evaluation worker: takes chunks from the source until it is dry.
fn evaluate_chunks(
    rules: &Rules,
    steps: &Steps,
    source: &std::sync::Mutex<Source>,
    tx: SyncSender<Msg>,
    worker: usize,
    garbage: Receiver<Garbage>,
) {
    yield_to_the_writer();
    let mut scratch = canonical::Scratch::default();
    let mut lineage = Lineage { steps, cache: StepCache::default() };
    let mut pool: Vec<Chunk> = Vec::new();
    let mut lines = Vec::with_capacity(CHUNK);
    loop {
        while let Ok(mut done) = garbage.try_recv() {
            done.clear();
            pool.push(done);
        }
        let mut chunk = pool.pop().unwrap_or_default();
        lines.clear();
        let next = match source.lock() {
            Ok(mut s) => s.next_into(&mut chunk.input, &mut lines),
            Err(_) => return,
        };
        let Some((seq, read, bytes)) = next else { return };
        if let Err(e) = read {
            let _ = tx.send(Msg::Failed(seq, e));
            return;
        }
        for &(line_no, span) in &lines {
            prepare(rules, line_no, &mut chunk, span, &mut scratch, &mut lineage);
        }
        if tx.send(Msg::Chunk(seq, chunk, bytes, worker)).is_err() {
            return;
        }
    }
}

/// Receives chunks in any order and hands them out in input order.
struct InOrder {
    rx: Receiver<Msg>,
    next: u64,
    early: std::collections::BTreeMap<u64, Msg>,
}

enum Got {
    Chunk(Chunk, u64, usize),
    Failed(std::io::Error),
    Timeout,
    End,
}

impl InOrder {
    fn take_ready(&mut self) -> Option<Got> {
        let msg = self.early.remove(&self.next)?;
        self.next += 1;
        Some(match msg {
            Msg::Chunk(_, c, b, w) => Got::Chunk(c, b, w),
            Msg::Failed(_, e) => Got::Failed(e),
        })
    }

    /// Every worker is gone: the end, unless a chunk never came (a worker
    /// stopped early), which must not pass for the end of the input.
    fn end(&self) -> Got {
        if self.early.is_empty() {
            Got::End
        } else {
            Got::Failed(std::io::Error::other(format!("chunk {} of the input was never evaluated", self.next)))
        }
    }

    /// The next chunk in order, waiting at most `wait` (forever for `None`).
    fn recv(&mut self, wait: Option<Duration>) -> Got {
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            if let Some(g) = self.take_ready() {
                return g;
            }
            let msg = match deadline {
                None => match self.rx.recv() {
                    Ok(m) => m,
                    Err(_) => return self.end(),
                },
                Some(d) => match self.rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => return Got::Timeout,
                    Err(RecvTimeoutError::Disconnected) => return self.end(),
                },
            };
            let seq = match &msg {
                Msg::Chunk(s, ..) | Msg::Failed(s, _) => *s,
            };
            self.early.insert(seq, msg);
        }
    }
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
    insert_head: rusqlite::Statement<'c>,
    insert_more: rusqlite::Statement<'c>,
    lookup: rusqlite::Statement<'c>,
    exception: rusqlite::Statement<'c>,
    to_send: rusqlite::Statement<'c>,
}

const INSERT_EVENT: &str = "INSERT INTO events (idem_key, payload_hash, event_id, event_type, correlation_id, status,
    package_version, run, line, received_at, trace, event, head) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ";

impl<'c> Writer<'c> {
    pub fn new(conn: &'c Connection) -> Result<Writer<'c>> {
        Ok(Writer {
            conn,
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
        })
    }

    /// Inserts an event row: as the head of its key when `head`, and then
    /// `None` when that key already has one.
    #[allow(clippy::too_many_arguments)]
    fn insert_event(
        &mut self,
        ledger: &Ledger,
        p: Ev<'_>,
        status: &str,
        trace: &str,
        keep_text: bool,
        now: &str,
        head: bool,
    ) -> Result<Option<i64>> {
        let params = rusqlite::params![
            p.key(),
            &p.hash[..],
            p.id(),
            p.event_type(),
            p.correlation_id(),
            status,
            ledger.version_id,
            ledger.run_id,
            p.line as i64,
            now,
            trace,
            keep_text.then_some(p.text()),
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

/// A batch's acknowledgement: its events' outcome lines, as evaluated
/// except where the ledger decided otherwise (a duplicate, a conflict).
#[derive(Default)]
pub(crate) struct Ack {
    /// The batch's chunks, with the worker that made each.
    chunks: Vec<(usize, Chunk)>,
    /// (event number in the batch, outcome line) where the ledger decided.
    decided: Vec<(usize, String)>,
    /// Events recorded so far.
    next: usize,
}

impl Ack {
    /// The next event's outcome line is the one it was evaluated with.
    fn as_evaluated(&mut self) {
        self.next += 1;
    }

    /// The next event's outcome line is the ledger's.
    fn decided(&mut self, line: String) {
        self.decided.push((self.next, line));
        self.next += 1;
    }
}

/// Records one prepared event in the open transaction (ledger, lineage,
/// outbox, exception), queues its file-sink lines and notes its outcome
/// line in `ack`. Returns whether outbox rows were added.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    w: &mut Writer<'_>,
    ledger: &Ledger,
    sinks: &mut Sinks,
    p: Ev<'_>,
    now: &str,
    counts: &mut Counts,
    ack: &mut Ack,
) -> Result<bool> {
    let exception = matches!(p.status, Status::Rejected | Status::Invalid);
    // The common case, a key never seen: one insert.
    if let Some(event) = w.insert_event(ledger, p, p.status.as_str(), p.trace(), exception, now, true)? {
        ack.as_evaluated();
        return recorded(w, ledger, sinks, p, event, exception, now, counts);
    }
    // The key is known: a duplicate or a conflict.
    let mut first: Option<(i64, Option<String>, String)> = None;
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
        counts.add(Final::Duplicate);
        let mut line = String::with_capacity(160);
        ledger_outcome(&mut line, p, "duplicate", "[]");
        ack.decided(line);
        return Ok(false);
    }
    let Some((_, orig_id, orig_at)) = first else {
        return Err(Error::Other(format!("the ledger refused key `{}` but holds no row for it", p.key())));
    };
    let conflict = Rejection::idempotency_conflict(p.key(), &orig_at, orig_id.as_deref().unwrap_or_default());
    let rejections = rejections_json(&[conflict]);
    let event = w.insert_event(ledger, p, "rejected", "[]", true, now, false)?.unwrap_or(0);
    w.insert_exception(event, &rejections, now)?;
    counts.add(Final::Conflict);
    let mut line = String::with_capacity(160 + rejections.len());
    ledger_outcome(&mut line, p, "rejected", &rejections);
    ack.decided(line);
    Ok(false)
}

/// The rest of recording a new event: its exception or its outbox rows.
#[allow(clippy::too_many_arguments)]
fn recorded(
    w: &mut Writer<'_>,
    ledger: &Ledger,
    sinks: &mut Sinks,
    p: Ev<'_>,
    event: i64,
    exception: bool,
    now: &str,
    counts: &mut Counts,
) -> Result<bool> {
    if exception {
        w.insert_exception(event, p.rejections(), now)?;
    }
    let http_rows = insert_emits(w, ledger, sinks, event, p)?;
    counts.add(Final::Status(p.status));
    Ok(http_rows)
}

/// An accepted event's emits: lines queued for the file sinks (written at
/// this batch's commit), pending outbox rows for the HTTP sinks. Returns
/// whether any outbox row was added.
pub(crate) fn insert_emits(w: &mut Writer<'_>, ledger: &Ledger, sinks: &mut Sinks, event: i64, p: Ev<'_>) -> Result<bool> {
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

/// Processes every event of `input`: see the module documentation. Outcome
/// lines go to `out` once their batch is committed; `progress` is called
/// after each commit.
pub fn process(
    state: &mut State,
    rules: &Rules,
    input: Box<dyn Read + Send>,
    out: &mut (dyn Write + Send),
    opts: &Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary> {
    let start = Instant::now();
    let (sinks, ledger) = begin_run(state, rules, "process", &opts.input_name)?;
    let steps = Steps::load(&state.conn)?;
    let run_id = ledger.run_id;
    let http_sinks = sinks.http.clone();
    let http_conn = if http_sinks.is_empty() { None } else { Some(state.connect_again()?) };
    // Checkpoints run beside the writer, on a connection of their own: the
    // writer's commits signal when the WAL has grown past a threshold.
    let ckpt_conn = state.connect_again()?;
    let (ckpt_tx, ckpt_rx) = sync_channel::<()>(1);
    // The hook holds the sender weakly; the scope below owns it, so that
    // however the scope ends (a panic included) the checkpoint thread ends.
    let ckpt_tx = std::sync::Arc::new(ckpt_tx);
    let ckpt_weak = std::sync::Arc::downgrade(&ckpt_tx);
    let page_size: i64 = state.conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    // The same threshold as SQLite's own checkpoints on the state's other connections.
    let checkpoint_pages = (crate::state::AUTOCHECKPOINT_BYTES / page_size.max(512)) as std::ffi::c_int;
    state.conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
        if pages >= checkpoint_pages {
            if let Some(tx) = ckpt_weak.upgrade() {
                let _ = tx.try_send(());
            }
        }
        Ok(())
    }))?;
    let (chunk_tx, chunk_rx) = sync_channel::<Msg>(128);
    let (wake_tx, wake_rx) = sync_channel::<()>(1);
    let stop = AtomicBool::new(false);
    let source = std::sync::Mutex::new(Source {
        reader: BufReader::with_capacity(1 << 16, input),
        line_no: 0,
        bytes: 0,
        seq: 0,
        done: false,
        chunk: CHUNK.min(opts.batch_events.max(1)),
    });

    let (written, evaluated, delivered) = std::thread::scope(|s| {
        let ckpt_tx = ckpt_tx;
        let engine = rules;
        let steps = &steps;
        let mut workers = Vec::new();
        let mut garbage = Vec::new();
        for i in 0..opts.workers.max(1) {
            let tx = chunk_tx.clone();
            let source = &source;
            let (g_tx, g_rx) = std::sync::mpsc::channel::<Garbage>();
            garbage.push(g_tx);
            let w = std::thread::Builder::new()
                .name(format!("canon-evaluate-{i}"))
                .spawn_scoped(s, move || evaluate_chunks(engine, steps, source, tx, i, g_rx))
                .map_err(|e| Error::Other(format!("cannot start an evaluation thread: {e}")))?;
            workers.push(w);
        }
        drop(chunk_tx);
        let stop_ref = &stop;
        let http_sinks = &http_sinks;
        let deliverer = match http_conn {
            None => None,
            Some(conn) => Some(
                std::thread::Builder::new()
                    .name("canon-deliver".into())
                    .spawn_scoped(s, move || deliver(&conn, http_sinks, &wake_rx, stop_ref))
                    .map_err(|e| Error::Other(format!("cannot start the delivery thread: {e}")))?,
            ),
        };
        let (ack_tx, ack_rx) = sync_channel::<Ack>(2);
        let acknowledger = std::thread::Builder::new()
            .name("canon-acknowledge".into())
            .spawn_scoped(s, move || acknowledge(out, &ack_rx, garbage))
            .map_err(|e| Error::Other(format!("cannot start the output thread: {e}")))?;
        // Last: once it runs, nothing returns before the hook that feeds it
        // is removed below (else the scope would wait for it forever).
        std::thread::Builder::new()
            .name("canon-checkpoint".into())
            .spawn_scoped(s, move || checkpoints(&ckpt_conn, &ckpt_rx))
            .map_err(|e| Error::Other(format!("cannot start the checkpoint thread: {e}")))?;
        let rx = InOrder { rx: chunk_rx, next: 0, early: std::collections::BTreeMap::new() };
        let written = write_stream(state, &ledger, steps, sinks, rx, &ack_tx, opts, progress, wake_tx);
        drop(ack_tx);
        // Back to SQLite's own checkpoints (the hook and the pragma share a
        // slot); dropping the hook ends the checkpoint thread.
        let restored = state
            .conn
            .wal_hook(None::<fn(&mut rusqlite::hooks::Wal, std::ffi::c_int) -> rusqlite::Result<()>>)
            .and_then(|()| crate::state::autocheckpoint(&state.conn));
        drop(ckpt_tx);
        let acknowledged = acknowledger.join();
        let written = match (written, acknowledged) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(_)) => Err(Error::Other("internal error: the output thread panicked".into())),
            (Ok(_), Ok(Err(e))) => Err(Error::Output(e)),
            (Ok(c), Ok(Ok(()))) => restored.map(|()| c).map_err(Error::from),
        };
        if written.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        let evaluated: std::result::Result<Vec<()>, _> = workers.into_iter().map(|w| w.join()).collect();
        let delivered = deliverer.map(|d| d.join());
        Ok::<_, Error>((written, evaluated, delivered))
    })?;
    if evaluated.is_err() {
        return Err(Error::Other("internal error: the evaluation thread panicked".into()));
    }
    let counts = written?;
    let http = match delivered {
        None => DeliveryCounts::default(),
        Some(Ok(r)) => r?,
        Some(Err(_)) => return Err(Error::Other("internal error: the delivery thread panicked".into())),
    };
    state.conn.execute("UPDATE runs SET finished_at = ?2 WHERE id = ?1", rusqlite::params![run_id, crate::now()])?;
    Ok(Summary { counts, http, elapsed: start.elapsed(), run: run_id })
}

/// Starts a run of `command` on `input`: records the package version and
/// the run, opens the sinks; the ledger context of its batches.
pub(crate) fn begin_run(state: &State, rules: &Rules, command: &str, input: &str) -> Result<(Sinks, Ledger)> {
    // The sinks first: one changed outside canon stops the run before it
    // records anything.
    let sinks = Sinks::open(&state.conn, state.dir(), &rules.config)?;
    let version_id = state.package_version_id(&rules.version, &rules.root, &rules.data_dir)?;
    state.conn.execute(
        "INSERT INTO runs (command, input, package_version, started_at) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![command, input, version_id, crate::now()],
    )?;
    let ledger = Ledger {
        version_id,
        run_id: state.conn.last_insert_rowid(),
        routes: sinks.routes.clone(),
        dest_names: rules.config.sinks.iter().map(|(n, _)| n.clone()).collect(),
    };
    Ok((sinks, ledger))
}


/// Copies the WAL into the database whenever the writer asks, without
/// blocking it (`PASSIVE`). A checkpoint that fails loses nothing: the
/// frames stay in the WAL for the next one.
fn checkpoints(conn: &Connection, asked: &Receiver<()>) {
    while asked.recv().is_ok() {
        let _ = conn.wal_checkpoint_v2(None::<&str>, rusqlite::wal::CheckpointMode::PASSIVE);
    }
}

/// Writes each committed batch's outcome lines (the acknowledgement), in
/// order, on a thread of its own so that the writer can go on with the
/// next batch; then gives each chunk back to the worker that made it.
fn acknowledge(
    out: &mut (dyn Write + Send),
    batches: &Receiver<Ack>,
    garbage: Vec<std::sync::mpsc::Sender<Garbage>>,
) -> std::io::Result<()> {
    while let Ok(ack) = batches.recv() {
        let mut decided = ack.decided.iter().peekable();
        let mut n = 0;
        for (_, chunk) in &ack.chunks {
            for p in chunk.events() {
                match decided.next_if(|(i, _)| *i == n) {
                    Some((_, line)) => out.write_all(line.as_bytes())?,
                    None => out.write_all(p.outcome().as_bytes())?,
                }
                out.write_all(b"\n")?;
                n += 1;
            }
        }
        out.flush()?;
        for (worker, chunk) in ack.chunks {
            if let Some(g) = garbage.get(worker) {
                let _ = g.send(chunk);
            }
        }
    }
    Ok(())
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

#[allow(clippy::too_many_arguments)]
fn write_stream(
    state: &mut State,
    ledger: &Ledger,
    steps: &Steps,
    mut sinks: Sinks,
    mut rx: InOrder,
    out: &SyncSender<Ack>,
    opts: &Options,
    progress: &mut dyn FnMut(&Progress),
    wake: SyncSender<()>,
) -> Result<Counts> {
    let mut counts = Counts::default();
    // The batch: chunks with the worker that made each.
    let mut batch: Vec<(usize, Chunk)> = Vec::new();
    let mut size = 0usize;
    let mut bytes: u64;
    let mut done = false;
    while !done {
        let mut failed = None;
        match rx.recv(None) {
            Got::Chunk(c, b, w) => {
                size += c.len();
                batch.push((w, c));
                bytes = b;
            }
            Got::Failed(e) => return Err(Error::Input(e)),
            Got::Timeout | Got::End => break,
        }
        let deadline = Instant::now() + opts.batch_latency;
        while size < opts.batch_events {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv(Some(left)) {
                Got::Chunk(c, b, w) => {
                    size += c.len();
                    batch.push((w, c));
                    bytes = b;
                }
                Got::Failed(e) => {
                    failed = Some(e);
                    break;
                }
                Got::Timeout => break,
                Got::End => {
                    done = true;
                    break;
                }
            }
        }
        let now = crate::now();
        let mut batch_counts = Counts::default();
        let mut http_rows = false;
        let mut ack = Ack::default();
        let tx = state.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let recorded = (|| -> Result<()> {
            // First the lineage steps met so far: the batch's events refer to them.
            steps.save(&tx)?;
            let mut w = Writer::new(&tx)?;
            for (_, chunk) in &batch {
                for p in chunk.events() {
                    http_rows |= record(&mut w, ledger, &mut sinks, p, &now, &mut batch_counts, &mut ack)?;
                }
            }
            count_run(&tx, ledger.run_id, &batch_counts)
        })();
        if let Err(e) = recorded {
            sinks.rollback();
            return Err(e);
        }
        commit(tx, &mut sinks)?;
        // Durable: now acknowledge.
        if http_rows {
            let _ = wake.try_send(());
        }
        ack.chunks = std::mem::take(&mut batch);
        size = 0;
        if out.send(ack).is_err() {
            // The output thread stopped on a write error, which it returns.
            return Ok(counts);
        }
        counts.accepted += batch_counts.accepted;
        counts.rejected += batch_counts.rejected;
        counts.ignored += batch_counts.ignored;
        counts.invalid += batch_counts.invalid;
        counts.duplicate += batch_counts.duplicate;
        progress(&Progress { counts, bytes });
        if let Some(e) = failed {
            return Err(Error::Input(e));
        }
    }
    Ok(counts)
}

