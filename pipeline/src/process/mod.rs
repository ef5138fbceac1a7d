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

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};

use canon_jit::{Backend, Choice, Evaluator};
use canon_runtime::input::ReadLine;
use canon_runtime::{LoadedPackage, Status, Tables};
use rusqlite::{Connection, TransactionBehavior};

use crate::canonical;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::{deliver, DeliveryCounts};
use crate::lineage::{StepCache, Steps};
use crate::sink::Sinks;
use crate::state::State;
use crate::store::Durable;

mod ack;
mod chunks;
mod input;
mod ledger;
mod ordering;

pub use chunks::trace_event;
pub(crate) use chunks::{delivery_base, prepare_again, Lineage};
pub(crate) use ledger::{commit, count_run, insert_emits, Ledger, Writer};

use ack::{acknowledge, Ack};
use chunks::{defer, evaluate_deferred, prepare, Chunk};
use input::{ChunkRead, Source, CHUNK};
use ledger::{record, record_known, record_new, BatchRecord};
use ordering::{Evaluated, Got, InOrder, Msg};

/// A checked package with its tables, version and sinks, ready to process.
pub struct Rules {
    /// Evaluates with lineage: the JIT when it compiles the package and is
    /// asked for, else the reference interpreter.
    pub(crate) evaluator: Evaluator,
    /// The package version (hex SHA-256 of sources, data and `[package]`).
    pub version: String,
    /// The rule authors' version (canon.toml `[package]`), stamped with
    /// the package version into every outcome's lineage.
    pub release: crate::version::Release,
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub config: Config,
    /// The name the package's state is kept under (`store::package_name`).
    pub package_name: String,
    /// The tables again, for the metrics of a package with state.
    pub(crate) state_tables: Option<Tables>,
}

impl Rules {
    /// `pkg` must have no errors and `tables` must be loaded from `data_dir`;
    /// `backend` is `--engine`.
    pub fn new(pkg: &LoadedPackage, tables: Tables, data_dir: &Path, backend: Backend) -> Result<Rules> {
        let ir = pkg.package();
        let version = crate::version::package_version(&pkg.sources, &ir, data_dir, pkg.manifest.as_ref())?;
        let release = crate::version::Release::of(pkg.manifest.as_ref());
        let config = Config::load(&pkg.root, &ir)?;
        let state_tables = ir.has_state().then(|| tables.clone());
        let (evaluator, _) = Evaluator::new(ir, tables, Choice { backend, lineage: true });
        Ok(Rules {
            evaluator,
            version,
            release,
            root: pkg.root.clone(),
            data_dir: data_dir.to_path_buf(),
            config,
            package_name: crate::store::package_name(&pkg.root),
            state_tables,
        })
    }

    /// Loads the package's state for a run that writes (`None` for a
    /// package without state), under the state directory's lock.
    pub(crate) fn open_state(&self, conn: &Connection) -> Result<Option<Durable>> {
        match &self.state_tables {
            None => Ok(None),
            Some(tables) => {
                Durable::open(conn, self.evaluator.package(), tables.clone(), &self.package_name, &self.version)
                    .map(Some)
            }
        }
    }

    /// Replaces the sink configuration (tests and embedders).
    pub fn with_config(mut self, config: Config) -> Rules {
        self.config = config;
        self
    }

    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
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
    /// Adds another count, status by status.
    fn add_all(&mut self, other: &Counts) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.ignored += other.ignored;
        self.invalid += other.invalid;
        self.duplicate += other.duplicate;
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
    garbage: Receiver<Chunk>,
) {
    yield_to_the_writer();
    // A package with state is evaluated by the writer, in input order: here
    // its lines are only read and hashed.
    let stateful = rules.state_tables.is_some();
    let mut scratch = canonical::Scratch::default();
    let mut lineage = Lineage { steps, cache: StepCache::default() };
    let mut pool: Vec<Chunk> = Vec::new();
    let mut lines: Vec<ReadLine> = Vec::with_capacity(CHUNK);
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
        let (seq, bytes_read) = match next {
            None => return,
            Some(ChunkRead::Lines { seq, bytes_read }) => (seq, bytes_read),
            Some(ChunkRead::Failed { seq, error }) => {
                // The writer stops on it; if the writer is gone, so is the run.
                tx.send(Msg::Failed { seq, error }).ok();
                return;
            }
        };
        for line in &lines {
            if stateful {
                defer(line, &mut chunk, &mut scratch);
            } else {
                prepare(rules, line, &mut chunk, &mut scratch, &mut lineage);
            }
        }
        if tx.send(Msg::Chunk { seq, evaluated: Evaluated { chunk, bytes_read, worker } }).is_err() {
            return;
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
    // The package's state first: a record it cannot read stops the run
    // before anything is recorded.
    let mut durable = rules.open_state(&state.conn)?;
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
    let source = std::sync::Mutex::new(Source::new(input, CHUNK.min(opts.batch_events.max(1))));

    let (written, evaluated, delivered) = std::thread::scope(|s| {
        let ckpt_tx = ckpt_tx;
        let engine = rules;
        let steps = &steps;
        let mut workers = Vec::new();
        let mut garbage = Vec::new();
        for i in 0..opts.workers.max(1) {
            let tx = chunk_tx.clone();
            let source = &source;
            // Chunks go back to the worker that made them once committed, to
            // be reused: nothing is allocated or freed per event, and no memory
            // is freed in another thread than the one that allocated it (slow with glibc).
            let (g_tx, g_rx) = std::sync::mpsc::channel::<Chunk>();
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
        let rx = InOrder::new(chunk_rx);
        let ctx = Batches { ledger: &ledger, steps, rules, durable: durable.as_mut() };
        let written = write_stream(state, ctx, sinks, rx, &ack_tx, opts, progress, wake_tx);
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
    let version_id = state.package_version_id(&rules.version, &rules.root, &rules.data_dir, &rules.release)?;
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

/// What the writer records batches with.
struct Batches<'a> {
    ledger: &'a Ledger,
    steps: &'a Steps,
    rules: &'a Rules,
    /// The package's state (a package with state), whose events the writer
    /// evaluates in input order.
    durable: Option<&'a mut Durable>,
}

#[allow(clippy::too_many_arguments)]
fn write_stream(
    state: &mut State,
    ctx: Batches<'_>,
    mut sinks: Sinks,
    mut rx: InOrder,
    out: &SyncSender<Ack>,
    opts: &Options,
    progress: &mut dyn FnMut(&Progress),
    wake: SyncSender<()>,
) -> Result<Counts> {
    let Batches { ledger, steps, rules, mut durable } = ctx;
    // The writer's own lineage ids (a package with state is evaluated here).
    let mut lineage = Lineage { steps, cache: StepCache::default() };
    let mut counts = Counts::default();
    // The batch: chunks with the worker that made each.
    let mut batch: Vec<(usize, Chunk)> = Vec::new();
    let mut size = 0usize;
    let mut bytes: u64;
    let mut done = false;
    while !done {
        let mut failed = None;
        match rx.recv(None) {
            Got::Chunk(Evaluated { chunk, bytes_read, worker }) => {
                size += chunk.len();
                batch.push((worker, chunk));
                bytes = bytes_read;
            }
            Got::Failed(e) => return Err(Error::Input(e)),
            Got::Timeout | Got::End => break,
        }
        let deadline = Instant::now() + opts.batch_latency;
        while size < opts.batch_events {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv(Some(left)) {
                Got::Chunk(Evaluated { chunk, bytes_read, worker }) => {
                    size += chunk.len();
                    batch.push((worker, chunk));
                    bytes = bytes_read;
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
        let now_ms = crate::now_ms();
        let now = crate::format_ms(now_ms);
        let mut recorded_batch = BatchRecord::default();
        let tx = state.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let recorded = (|| -> Result<()> {
            // First the lineage steps met so far: the batch's events refer to them.
            steps.save(&tx)?;
            let mut w = Writer::new(&tx, steps, now_ms)?;
            for (_, chunk) in &mut batch {
                match durable.as_deref_mut() {
                    None => {
                        for p in chunk.events() {
                            record(&mut w, ledger, &mut sinks, p, &now, &mut recorded_batch)?;
                        }
                    }
                    Some(d) => {
                        for n in 0..chunk.deferred_len() {
                            let new =
                                evaluate_deferred(rules, d, chunk, n, &mut lineage, &mut |key| Ok(!w.known(key)?))?;
                            let Some(p) = chunk.last() else { continue };
                            if !new {
                                record_known(&mut w, ledger, p, &now, &mut recorded_batch)?;
                                continue;
                            }
                            let Some(event) = record_new(&mut w, ledger, &mut sinks, p, &now, &mut recorded_batch)?
                            else {
                                return Err(Error::Other(format!(
                                    "internal error: the ledger refused key `{}`, which it did not hold",
                                    p.key()
                                )));
                            };
                            // The records its writes left are those of the trace in its row.
                            d.written_by(event);
                        }
                    }
                }
            }
            if let Some(d) = durable.as_deref_mut() {
                // The records and metric cells as this batch left them.
                d.flush(&tx, rules.evaluator.package(), steps, &mut lineage.cache)?;
            }
            // The lineage steps the writer met, and the shapes of what it packed.
            steps.save(&tx)?;
            count_run(&tx, ledger.run_id, &recorded_batch.counts)
        })();
        if let Err(e) = recorded {
            sinks.rollback();
            return Err(e);
        }
        commit(tx, &mut sinks)?;
        // Durable: now acknowledge.
        let BatchRecord { counts: batch_counts, mut ack, http_rows } = recorded_batch;
        if http_rows {
            let _ = wake.try_send(());
        }
        ack.chunks = std::mem::take(&mut batch);
        size = 0;
        if out.send(ack).is_err() {
            // The output thread stopped on a write error, which it returns.
            return Ok(counts);
        }
        counts.add_all(&batch_counts);
        progress(&Progress { counts, bytes });
        if let Some(e) = failed {
            return Err(Error::Input(e));
        }
    }
    Ok(counts)
}
