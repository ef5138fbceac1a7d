//! `canon run` for a package without state (RUNTIME.md §7.1): every input
//! line's outcome, in input order.
//!
//! One thread reads a line, evaluates it and writes its outcome
//! ([`serial`]). With `--threads N` ([`parallel`]) N workers share the
//! work and nothing else: a worker takes the next chunk of input (whole
//! lines, about [`CHUNK_BYTES`]), splits it into lines, evaluates them into
//! the chunk's own outcome buffer, and hands the chunk on to be written in
//! input order. A regular file is read and written by the workers at
//! positions of their own, in parallel: the source only hands out byte
//! ranges, [`Numbering`] gives each chunk its first line number once the
//! chunks before it are counted, the sink gives each chunk its offset in
//! the output. A stream (stdin, a pipe, a device) is read and written
//! under the source's and the sink's locks. A fixed set of chunks
//! circulates, so memory stays flat however long the input and however
//! slow one chunk.
//!
//! Lines are the runtime's `InputReader` lines: numbered from 1, blank
//! lines included; a byte-order mark at the start of the input dropped;
//! line endings (`\n`, and any `\r` before it) cut off; a last line without
//! a line feed is a line. The tests below check that both loops see the
//! same lines.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::ops::Range;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use canon_jit::Evaluator;
use canon_runtime::input::{line_end, not_utf8_outcome, InputReader, Line, BYTE_ORDER_MARK};

/// Input bytes a chunk takes, about (whole lines: a longer line makes a
/// longer chunk). Some 300 timesheet events, about 0.75 ms of work: far
/// more than handing a chunk on, small enough that the workers finish
/// together.
const CHUNK_BYTES: usize = 128 << 10;

/// Evaluates every line of `input` on `threads` threads, writing the
/// outcomes to `output` in input order; `name` names the input in errors.
pub(crate) fn stateless(
    engine: &Evaluator,
    input: Input,
    output: Output,
    name: &str,
    explain: bool,
    threads: usize,
) -> ExitCode {
    let status = if threads > 1 {
        parallel(engine, input, output, explain, threads)
    } else {
        serial(engine, input.into_reader(), output.into_writer(), explain)
    };
    match status {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Read(e)) => {
            eprintln!("error: reading `{name}`: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Write(e)) => {
            eprintln!("error: writing outcomes: {e}");
            ExitCode::from(2)
        }
    }
}

/// Why a run stopped early. Outcomes of the lines read before a read error
/// are written first.
#[derive(Debug)]
enum Failure {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// One line at a time: read, evaluate, write.
fn serial(
    engine: &Evaluator,
    reader: Box<dyn Read + Send>,
    writer: Box<dyn Write + Send>,
    explain: bool,
) -> Result<(), Failure> {
    let mut writer = BufWriter::with_capacity(1 << 16, writer);
    let mut reader = InputReader::new(reader);
    let mut buf = Vec::new();
    let mut out = String::new();
    loop {
        buf.clear();
        match reader.read_line(&mut buf) {
            Ok(None) => break,
            Ok(Some(line)) => {
                out.clear();
                outcome_line(engine, line.number, buf.get(line.range).unwrap_or_default(), explain, &mut out);
                writer.write_all(out.as_bytes()).map_err(Failure::Write)?;
            }
            Err(e) => {
                // The outcomes of the lines before go out first (the read
                // error is the one reported).
                let _ = writer.flush();
                return Err(Failure::Read(e));
            }
        }
    }
    writer.flush().map_err(Failure::Write)
}

/// Appends the outcome line of one input line to `out` (nothing for a
/// blank line).
pub(crate) fn outcome_line(engine: &Evaluator, line_no: u64, bytes: &[u8], explain: bool, out: &mut String) {
    let line = match Line::of(bytes) {
        Line::Blank => return,
        Line::NotUtf8 => {
            engine.write_outcome(&not_utf8_outcome(line_no), out);
            out.push('\n');
            return;
        }
        Line::Event(line) => line,
    };
    if explain {
        let (outcome, trace) = engine.evaluate_traced(line_no, line);
        engine.write_outcome(&outcome, out);
        out.pop();
        out.push_str(",\"trace\":[");
        for (i, t) in trace.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            t.write_json(out);
        }
        out.push_str("]}");
    } else {
        engine.evaluate_json(line_no, line, out);
    }
    out.push('\n');
}

/// Where the input comes from.
pub(crate) enum Input {
    Stdin,
    File(File),
}

impl Input {
    /// The input as a stream.
    pub(crate) fn into_reader(self) -> Box<dyn Read + Send> {
        match self {
            Input::Stdin => Box::new(std::io::stdin()),
            Input::File(f) => Box::new(f),
        }
    }
}

/// Where the outcomes go.
pub(crate) enum Output {
    Stdout,
    File(File),
}

impl Output {
    /// The output as a stream.
    pub(crate) fn into_writer(self) -> Box<dyn Write + Send> {
        match self {
            Output::Stdout => Box::new(std::io::stdout()),
            Output::File(f) => Box::new(f),
        }
    }
}

/// A regular file, which workers read and write at positions of their own,
/// in parallel (the copy from and to the page cache is a sixth of a run).
fn regular(file: File) -> Result<File, File> {
    if cfg!(unix) && file.metadata().is_ok_and(|m| m.is_file()) {
        Ok(file)
    } else {
        Err(file)
    }
}

/// A run of whole input lines and, once evaluated, their outcomes.
struct Chunk {
    /// Its place in input order, from 0.
    seq: u64,
    /// The number of its first line.
    first_line: u64,
    /// Read from a file: where its part of the file starts.
    offset: u64,
    input: Vec<u8>,
    /// Where its lines are in `input`.
    lines: Range<usize>,
    out: String,
    /// Evaluated before its first line's number was known
    /// ([`evaluate_unnumbered`]): where each outcome line starts in `out`,
    /// and its line's place in the chunk.
    marks: Vec<(usize, u64)>,
    /// The buffer [`renumber`] writes into, then swaps with `out`.
    spare: String,
}

impl Chunk {
    fn new() -> Chunk {
        Chunk {
            seq: 0,
            first_line: 0,
            offset: 0,
            input: Vec::new(),
            lines: 0..0,
            out: String::new(),
            marks: Vec::new(),
            spare: String::new(),
        }
    }
}

/// How the input is read.
enum Reading {
    /// A stream (a pipe, a terminal): read under the source's lock.
    Stream { reader: Box<dyn Read + Send>, carry: Vec<u8>, next_line: u64 },
    /// A regular file: the source hands out byte ranges, each worker reads
    /// its own ([`read_file_chunk`]) and numbers its lines ([`Numbering`]).
    File { next_offset: u64 },
}

/// The input, a chunk at a time to whichever worker is free.
struct Source {
    reading: Reading,
    /// Chunks the writer has written, to fill again.
    free: Receiver<Chunk>,
    seq: u64,
    done: bool,
    /// A stream's read error.
    error: Option<std::io::Error>,
}

impl Source {
    /// The next chunk: of a stream, filled with whole lines; of a file, its
    /// byte range. `None` at the end of the input, after a read error (the
    /// lines before it are in the last chunk) or when the writer has failed.
    fn next(&mut self, file_ended: &AtomicBool) -> Option<Chunk> {
        if self.done || file_ended.load(Ordering::Relaxed) {
            return None;
        }
        let mut chunk = self.free.recv().ok()?;
        match &mut self.reading {
            Reading::File { next_offset } => {
                chunk.offset = *next_offset;
                *next_offset += CHUNK_BYTES as u64;
            }
            Reading::Stream { reader, carry, next_line } => {
                let (eof, error) = fill_from_stream(reader, carry, &mut chunk.input);
                self.done = eof;
                self.error = error;
                if chunk.input.is_empty() {
                    self.done = true;
                    return None;
                }
                chunk.lines = 0..chunk.input.len();
                chunk.first_line = *next_line;
                *next_line += count_line_feeds(&chunk.input);
            }
        }
        chunk.seq = self.seq;
        self.seq += 1;
        Some(chunk)
    }
}

/// Fills `input` with the carried bytes and whole lines read after them
/// (about [`CHUNK_BYTES`]); the bytes after the last line feed are carried
/// to the next chunk. Returns whether the stream ended, and its error.
fn fill_from_stream(
    reader: &mut Box<dyn Read + Send>,
    carry: &mut Vec<u8>,
    input: &mut Vec<u8>,
) -> (bool, Option<std::io::Error>) {
    input.clear();
    input.append(carry);
    // Bytes of `input` known to hold no line feed.
    let mut searched = 0;
    loop {
        let want = CHUNK_BYTES.saturating_sub(input.len()).max(CHUNK_BYTES / 4);
        input.reserve(want);
        match reader.take(want as u64).read_to_end(input) {
            Ok(n) if n < want => return (true, None),
            Ok(_) => {}
            Err(e) => {
                // As one thread does: the whole lines before the error are
                // evaluated, a line cut short is not.
                input.truncate(input.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1));
                return (true, Some(e));
            }
        }
        if input.len() >= CHUNK_BYTES && input.get(searched..).is_some_and(|new| new.contains(&b'\n')) {
            break;
        }
        searched = input.len();
    }
    if let Some(last) = input.iter().rposition(|&b| b == b'\n') {
        carry.extend_from_slice(input.get(last + 1..).unwrap_or_default());
        input.truncate(last + 1);
    }
    (false, None)
}

/// Reads the lines of a file chunk: those that start in its byte range
/// (the first only where the byte before the range is a line feed, the
/// last up to its own line feed, past the range). Returns whether the file
/// ends with the chunk's lines (no later chunk has any), and the read error
/// that cut it short.
#[cfg(unix)]
fn read_file_chunk(file: &File, chunk: &mut Chunk) -> (bool, Option<std::io::Error>) {
    chunk.input.clear();
    let start = chunk.offset.saturating_sub(1);
    let end = (chunk.offset + CHUNK_BYTES as u64 - start) as usize;
    let (mut eof, mut error) = match read_at_most(file, start, end, &mut chunk.input) {
        Ok(eof) => (eof, None),
        Err(e) => (true, Some(e)),
    };
    // The line the range's last byte is in ends at the first line feed
    // from there on.
    let mut searched = end.saturating_sub(1);
    let mut last_end = None;
    while last_end.is_none() {
        last_end = chunk.input.get(searched..).and_then(find_line_feed).map(|i| searched + i + 1);
        if last_end.is_some() || eof {
            break;
        }
        searched = chunk.input.len();
        let at = start + searched as u64;
        match read_at_most(file, at, CHUNK_BYTES / 4, &mut chunk.input) {
            Ok(e) => eof = e,
            Err(e) => {
                eof = true;
                error = Some(e);
            }
        }
    }
    let first = if chunk.offset == 0 { 0 } else { find_line_feed(&chunk.input).map_or(usize::MAX, |i| i + 1) };
    let mut last = match (last_end, &error) {
        (Some(e), _) => e,
        // A read error: only whole lines.
        (None, Some(_)) => chunk.input.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1),
        (None, None) => chunk.input.len(),
    };
    if first >= end || first > last {
        last = first.min(chunk.input.len());
    }
    chunk.lines = first.min(last)..last;
    // The end of the file met while reading the last line's end is the
    // input's end only when no byte follows that line: lines after it
    // start in the next chunk's range, which must still be handed out
    // (after a read error nothing more is read, as before).
    (eof && (error.is_some() || last >= chunk.input.len()), error)
}

#[cfg(not(unix))]
fn read_file_chunk(_: &File, chunk: &mut Chunk) -> (bool, Option<std::io::Error>) {
    chunk.lines = 0..0;
    (true, None)
}

/// Appends up to `len` bytes of `file` from `at`; whether the file ended.
#[cfg(unix)]
fn read_at_most(file: &File, at: u64, len: usize, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let old = buf.len();
    buf.resize(old + len, 0);
    let mut got = 0;
    let result = loop {
        if got == len {
            break Ok(false);
        }
        match file.read_at(buf.get_mut(old + got..).unwrap_or_default(), at + got as u64) {
            Ok(0) => break Ok(true),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    buf.truncate(old + got);
    result
}

/// The first line numbers of file chunks: each worker counts its chunk's
/// lines and learns its first line's number once the chunks before it are
/// counted (they were handed out before it, so their workers are reading).
struct Numbering {
    state: Mutex<NumberingState>,
    counted: Condvar,
}

struct NumberingState {
    /// The first chunk not counted yet, and its first line's number.
    next: u64,
    line: u64,
    /// Lines of the chunks counted out of order.
    lines: BTreeMap<u64, u64>,
    /// First line numbers not yet taken.
    firsts: BTreeMap<u64, u64>,
    stopped: bool,
}

impl Numbering {
    fn new() -> Numbering {
        let state =
            NumberingState { next: 0, line: 1, lines: BTreeMap::new(), firsts: BTreeMap::new(), stopped: false };
        Numbering { state: Mutex::new(state), counted: Condvar::new() }
    }

    /// Chunk `seq` holds `lines` lines: the number of its first line, when
    /// the chunks before it are counted (`None` when the run stops).
    #[cfg(test)]
    fn first_line(&self, seq: u64, lines: u64) -> Option<u64> {
        match self.count(seq, lines) {
            Some(first) => Some(first),
            None => self.wait_first_line(seq),
        }
    }

    /// Chunk `seq` holds `lines` lines: the number of its first line if
    /// the chunks before it are counted already (else [`Self::wait_first_line`]
    /// gives it later).
    fn count(&self, seq: u64, lines: u64) -> Option<u64> {
        let mut s = lock(&self.state);
        s.lines.insert(seq, lines);
        let mut counted = false;
        loop {
            let (next, line) = (s.next, s.line);
            let Some(n) = s.lines.remove(&next) else { break };
            s.firsts.insert(next, line);
            s.next += 1;
            s.line += n;
            counted = true;
        }
        if counted {
            self.counted.notify_all();
        }
        s.firsts.remove(&seq)
    }

    /// The number of the first line of chunk `seq`, counted, once the
    /// chunks before it are (`None` when the run stops).
    fn wait_first_line(&self, seq: u64) -> Option<u64> {
        let mut s = lock(&self.state);
        loop {
            if let Some(first) = s.firsts.remove(&seq) {
                return Some(first);
            }
            if s.stopped {
                return None;
            }
            s = self.counted.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn stop(&self) {
        lock(&self.state).stopped = true;
        self.counted.notify_all();
    }
}

/// How outcomes are written.
enum Writing {
    /// A stream (stdout, a pipe, a device): written under the sink's lock.
    Stream(Box<dyn Write + Send>),
    /// A regular file: the sink gives each chunk its offset in input order,
    /// its worker writes it there.
    File { next_offset: u64 },
}

/// The output: evaluated chunks, in input order.
struct Sink {
    writing: Writing,
    /// Where written chunks go back to the reader; dropped when writing
    /// fails, which ends a reader waiting for a chunk.
    free: Option<Sender<Chunk>>,
    /// The next chunk to write.
    next: u64,
    /// Evaluated chunks waiting for the ones before them.
    pending: BTreeMap<u64, Chunk>,
    error: Option<std::io::Error>,
}

impl Sink {
    /// Takes an evaluated chunk. When its turn has come, it and the waiting
    /// ones after it are written (a stream) or returned with their offsets,
    /// for the caller to write (a file). Chunks after `last` (a read error's)
    /// are dropped.
    fn put(&mut self, chunk: Chunk, last: u64) -> Vec<(u64, Chunk)> {
        let mut at = Vec::new();
        if self.error.is_some() {
            return at;
        }
        self.pending.insert(chunk.seq, chunk);
        while let Some(chunk) = self.pending.remove(&self.next) {
            self.next += 1;
            if chunk.seq > last {
                continue;
            }
            match &mut self.writing {
                Writing::Stream(writer) => {
                    if let Err(e) = writer.write_all(chunk.out.as_bytes()) {
                        self.fail(e);
                        return Vec::new();
                    }
                    self.recycle(chunk);
                }
                Writing::File { next_offset } => {
                    let offset = *next_offset;
                    *next_offset += chunk.out.len() as u64;
                    at.push((offset, chunk));
                }
            }
        }
        at
    }

    fn recycle(&self, chunk: Chunk) {
        if let Some(free) = &self.free {
            // The source holds the receiver until every worker is done.
            let _ = free.send(chunk);
        }
    }

    fn fail(&mut self, e: std::io::Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.free = None;
        self.pending.clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the workers share.
struct Shared<'a> {
    engine: &'a Evaluator,
    explain: bool,
    source: Mutex<Source>,
    /// The input, when it is a regular file.
    input: Option<File>,
    numbering: Numbering,
    sink: Mutex<Sink>,
    /// The output, when it is a regular file.
    output: Option<File>,
    /// Set when writing fails or a worker panics.
    stop: AtomicBool,
    /// Set when a worker reads the end of the input file.
    file_ended: AtomicBool,
    /// The input file's read error and the chunk it cut short.
    read_error: Mutex<Option<(u64, std::io::Error)>>,
    last: AtomicU64,
}

impl Shared<'_> {
    /// One worker: takes, reads, evaluates and hands on chunks until none is left.
    fn work(&self) {
        let _guard = PanicGuard(self);
        while !self.stop.load(Ordering::Relaxed) {
            let Some(mut chunk) = lock(&self.source).next(&self.file_ended) else { break };
            if let Some(file) = &self.input {
                let (eof, error) = read_file_chunk(file, &mut chunk);
                if let Some(e) = error {
                    let mut first = lock(&self.read_error);
                    if first.as_ref().is_none_or(|(seq, _)| chunk.seq < *seq) {
                        self.last.store(chunk.seq, Ordering::Relaxed);
                        *first = Some((chunk.seq, e));
                    }
                }
                if eof {
                    self.file_ended.store(true, Ordering::Relaxed);
                }
                let lines = chunk.input.get(chunk.lines.clone()).map_or(0, count_line_feeds);
                if !evaluate_file_chunk(&self.numbering, self.engine, self.explain, &mut chunk, lines) {
                    break;
                }
            } else {
                evaluate_chunk(self.engine, self.explain, &mut chunk);
            }
            let at = lock(&self.sink).put(chunk, self.last.load(Ordering::Relaxed));
            if at.is_empty() {
                continue;
            }
            let mut failed = None;
            #[cfg(unix)]
            if let Some(file) = &self.output {
                use std::os::unix::fs::FileExt;
                for (offset, chunk) in &at {
                    if let Err(e) = file.write_all_at(chunk.out.as_bytes(), *offset) {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let mut sink = lock(&self.sink);
            if let Some(e) = failed {
                self.stop.store(true, Ordering::Relaxed);
                sink.fail(e);
            }
            for (_, chunk) in at {
                sink.recycle(chunk);
            }
        }
    }
}

/// Stops the other workers when one panics (a bug), so that the run ends
/// with the panic rather than waiting for a chunk that never comes back.
struct PanicGuard<'a, 'b>(&'a Shared<'b>);

impl Drop for PanicGuard<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop.store(true, Ordering::Relaxed);
            lock(&self.0.sink).free = None;
            self.0.numbering.stop();
        }
    }
}

/// `threads` workers, each reading, evaluating and handing on one chunk at
/// a time.
fn parallel(engine: &Evaluator, input: Input, output: Output, explain: bool, threads: usize) -> Result<(), Failure> {
    // Two chunks a worker: one it evaluates, one read or written meanwhile.
    let (free_tx, free_rx) = channel();
    for _ in 0..2 * threads + 1 {
        let _ = free_tx.send(Chunk::new());
    }
    let (reading, input) = match input {
        Input::File(f) => match regular(f) {
            Ok(f) => (Reading::File { next_offset: 0 }, Some(f)),
            Err(f) => (Reading::Stream { reader: Box::new(f), carry: Vec::new(), next_line: 1 }, None),
        },
        Input::Stdin => (Reading::Stream { reader: Input::Stdin.into_reader(), carry: Vec::new(), next_line: 1 }, None),
    };
    let (writing, output) = match output {
        Output::File(f) => match regular(f) {
            Ok(f) => (Writing::File { next_offset: 0 }, Some(f)),
            Err(f) => (Writing::Stream(Box::new(f)), None),
        },
        Output::Stdout => (Writing::Stream(Output::Stdout.into_writer()), None),
    };
    let shared = Shared {
        engine,
        explain,
        source: Mutex::new(Source { reading, free: free_rx, seq: 0, done: false, error: None }),
        input,
        numbering: Numbering::new(),
        sink: Mutex::new(Sink { writing, free: Some(free_tx), next: 0, pending: BTreeMap::new(), error: None }),
        output,
        stop: AtomicBool::new(false),
        file_ended: AtomicBool::new(false),
        read_error: Mutex::new(None),
        last: AtomicU64::new(u64::MAX),
    };
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| shared.work());
        }
    });
    let mut sink = shared.sink.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some(e) = sink.error.take() {
        return Err(Failure::Write(e));
    }
    if let Writing::Stream(writer) = &mut sink.writing {
        writer.flush().map_err(Failure::Write)?;
    }
    let source = shared.source.into_inner().unwrap_or_else(PoisonError::into_inner);
    let file_error = shared.read_error.into_inner().unwrap_or_else(PoisonError::into_inner);
    match source.error.or(file_error.map(|(_, e)| e)) {
        Some(e) => Err(Failure::Read(e)),
        None => Ok(()),
    }
}

/// The outcomes of a chunk's lines into its `out`.
fn evaluate_chunk(engine: &Evaluator, explain: bool, chunk: &mut Chunk) {
    chunk.out.clear();
    let input = chunk.input.get(chunk.lines.clone()).unwrap_or_default();
    for (line_no, line) in numbered_lines(chunk.seq, chunk.first_line, input) {
        outcome_line(engine, line_no, line, explain, &mut chunk.out);
    }
}

/// Evaluates a chunk of a file that holds `lines` lines: numbered, if the
/// chunks before it are counted; else (they are still being read) at once,
/// numbered 0, and renumbered when they are. False when the run stops
/// before its number is known.
fn evaluate_file_chunk(
    numbering: &Numbering,
    engine: &Evaluator,
    explain: bool,
    chunk: &mut Chunk,
    lines: u64,
) -> bool {
    if let Some(first) = numbering.count(chunk.seq, lines) {
        chunk.first_line = first;
        evaluate_chunk(engine, explain, chunk);
        return true;
    }
    evaluate_unnumbered(engine, explain, chunk);
    let Some(first) = numbering.wait_first_line(chunk.seq) else { return false };
    chunk.first_line = first;
    if !renumber(chunk) {
        evaluate_chunk(engine, explain, chunk);
    }
    true
}

/// The outcomes of a chunk's lines into its `out`, each numbered 0, and
/// where each starts into its `marks`, for [`renumber`].
fn evaluate_unnumbered(engine: &Evaluator, explain: bool, chunk: &mut Chunk) {
    chunk.out.clear();
    chunk.marks.clear();
    let input = chunk.input.get(chunk.lines.clone()).unwrap_or_default();
    for (i, line) in numbered_lines(chunk.seq, 0, input) {
        let at = chunk.out.len();
        outcome_line(engine, UNNUMBERED, line, explain, &mut chunk.out);
        if chunk.out.len() > at {
            chunk.marks.push((at, i));
        }
    }
}

/// The line number [`evaluate_unnumbered`] writes: an outcome line begins
/// `{"line":0` then.
const UNNUMBERED: u64 = 0;

/// Writes the line numbers into the outcomes of a chunk evaluated by
/// [`evaluate_unnumbered`], its `first_line` now known: each outcome line's
/// `{"line":0` becomes its line's number. The line number is written there
/// and nowhere else in an outcome; false (and `out` as it was) if an
/// outcome line does not begin so, for the caller to evaluate the chunk
/// again with its numbers.
fn renumber(chunk: &mut Chunk) -> bool {
    const HEAD: &str = "{\"line\":0,";
    let mut dst = std::mem::take(&mut chunk.spare);
    dst.clear();
    dst.reserve(chunk.out.len() + 8 * chunk.marks.len());
    let mut number = itoa::Buffer::new();
    let whole = chunk.marks.first().map_or(chunk.out.is_empty(), |&(at, _)| at == 0)
        && chunk.marks.iter().enumerate().all(|(k, &(at, i))| {
            let end = chunk.marks.get(k + 1).map_or(chunk.out.len(), |&(next, _)| next);
            let Some(rest) = chunk.out.get(at..end).and_then(|line| line.strip_prefix(HEAD)) else {
                return false;
            };
            dst.push_str("{\"line\":");
            dst.push_str(number.format(chunk.first_line + i));
            dst.push(',');
            dst.push_str(rest);
            true
        });
    if whole {
        chunk.spare = std::mem::replace(&mut chunk.out, dst);
    } else {
        chunk.spare = dst;
    }
    whole
}

/// A chunk's lines with their numbers, the input's byte-order mark dropped.
fn numbered_lines(seq: u64, first_line: u64, input: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    lines(input).enumerate().map(move |(i, line)| {
        let line = match (seq, i) {
            (0, 0) => line.strip_prefix(BYTE_ORDER_MARK).unwrap_or(line),
            _ => line,
        };
        (first_line + i as u64, line)
    })
}

/// The lines of whole-line input bytes, without their line endings.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = (!bytes.is_empty()).then_some(bytes);
    std::iter::from_fn(move || {
        let text = rest?;
        let line = match find_line_feed(text) {
            Some(i) => {
                // A line feed that ends the input ends the last line.
                rest = text.get(i + 1..).filter(|r| !r.is_empty());
                text.get(..i).unwrap_or_default()
            }
            None => {
                rest = None;
                text
            }
        };
        Some(line.get(..line_end(line)).unwrap_or_default())
    })
}

/// How many `\n` `bytes` holds (counted while the input is locked).
fn count_line_feeds(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// The first `\n` in `bytes`.
fn find_line_feed(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// The lines `InputReader` reads.
    fn reader_lines(input: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut reader = InputReader::new(input);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(l) = reader.read_line(&mut buf).unwrap() {
            out.push((l.number, buf[l.range].to_vec()));
            buf.clear();
        }
        out
    }

    /// The lines the chunks of a stream hold, numbered as its chunks.
    fn stream_lines(input: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let (tx, rx) = channel();
        let reader = Box::new(std::io::Cursor::new(input.to_vec()));
        let reading = Reading::Stream { reader, carry: Vec::new(), next_line: 1 };
        let mut source = Source { reading, free: rx, seq: 0, done: false, error: None };
        let mut out = Vec::new();
        let mut seq = 0;
        tx.send(Chunk::new()).unwrap();
        while let Some(chunk) = source.next(&AtomicBool::new(false)) {
            assert_eq!(chunk.seq, seq);
            seq += 1;
            assert!(chunk.input.is_empty() || chunk.input.ends_with(b"\n") || source.done);
            for (no, line) in numbered_lines(chunk.seq, chunk.first_line, &chunk.input[chunk.lines.clone()]) {
                out.push((no, line.to_vec()));
            }
            tx.send(chunk).unwrap();
        }
        assert!(source.error.is_none());
        out
    }

    /// The lines the chunks of a file hold, numbered as the workers do.
    fn file_lines(input: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let path = std::env::temp_dir().join(format!("canon-run-loop-{}-{}", std::process::id(), input.len()));
        std::fs::write(&path, input).unwrap();
        let file = File::open(&path).unwrap();
        let (tx, rx) = channel();
        let reading = Reading::File { next_offset: 0 };
        let mut source = Source { reading, free: rx, seq: 0, done: false, error: None };
        let numbering = Numbering::new();
        let ended = AtomicBool::new(false);
        let mut out = Vec::new();
        tx.send(Chunk::new()).unwrap();
        while let Some(mut chunk) = source.next(&ended) {
            let (eof, error) = read_file_chunk(&file, &mut chunk);
            assert!(error.is_none());
            ended.store(eof, Ordering::Relaxed);
            let n = count_line_feeds(&chunk.input[chunk.lines.clone()]);
            chunk.first_line = numbering.first_line(chunk.seq, n).unwrap();
            for (no, line) in numbered_lines(chunk.seq, chunk.first_line, &chunk.input[chunk.lines.clone()]) {
                out.push((no, line.to_vec()));
            }
            tx.send(chunk).unwrap();
        }
        std::fs::remove_file(&path).unwrap();
        out
    }

    /// A chunk with the example's events and every other kind of line
    /// (blank, not JSON, not UTF-8, `\r\n`), `seq` in input order.
    fn chunk_of(seq: u64, first_line: u64) -> Chunk {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/global-posting");
        let events = std::fs::read(root.join("events.jsonl")).unwrap();
        let mut input = b"\xEF\xBB\xBF".to_vec();
        for (i, event) in events.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
            input.extend_from_slice(event);
            input.extend_from_slice(match i % 5 {
                0 => b"\r\n",
                1 => b"\n\n",
                2 => b"\nnot json\n",
                3 => b"\n{\"id\":\"\xFF\"}\n",
                _ => b"\n",
            });
        }
        let mut chunk = Chunk::new();
        chunk.seq = seq;
        chunk.first_line = first_line;
        chunk.lines = 0..input.len();
        chunk.input = input;
        chunk
    }

    /// A chunk evaluated before its first line's number is known, then
    /// renumbered, holds the bytes of the chunk evaluated with its numbers:
    /// both engines, with and without `--explain`, numbers that cross a
    /// power of ten.
    #[test]
    fn a_chunk_renumbered_holds_what_it_holds_evaluated_numbered() {
        use canon_jit::{Backend, Choice};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/global-posting");
        let Ok((pkg, tables)) = crate::prepare(&root, None, false) else { panic!("the example loads") };
        for backend in [Backend::Jit, Backend::Interp] {
            for explain in [false, true] {
                let (engine, _) = Evaluator::new(pkg.package(), tables.clone(), Choice { backend, lineage: explain });
                for (seq, first) in [(0, 1), (3, 95), (7, 999_990), (9, u64::from(u32::MAX))] {
                    let mut numbered = chunk_of(seq, first);
                    evaluate_chunk(&engine, explain, &mut numbered);
                    let mut late = chunk_of(seq, 0);
                    evaluate_unnumbered(&engine, explain, &mut late);
                    assert!(late.out.starts_with("{\"line\":0,"));
                    late.first_line = first;
                    assert!(renumber(&mut late));
                    assert_eq!(late.out, numbered.out, "{backend:?}, explain {explain}, from line {first}");
                    assert!(late.out.starts_with(&format!("{{\"line\":{first},")));
                    assert!(late.out.lines().count() > 20);
                }
                let mut numbered = chunk_of(7, 999_990);
                evaluate_chunk(&engine, explain, &mut numbered);
                // Six-digit numbers and seven-digit ones.
                assert!(numbered.out.contains("\n{\"line\":99999") && numbered.out.contains("\n{\"line\":100000"));
            }
        }
    }

    /// A worker whose chunk is read before the chunk ahead of it is counted
    /// evaluates it at once and numbers it when that count comes; numbered
    /// as if it had waited.
    #[test]
    fn a_chunk_read_before_the_one_ahead_is_counted_is_numbered_after() {
        use canon_jit::{Backend, Choice};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/global-posting");
        let Ok((pkg, tables)) = crate::prepare(&root, None, false) else { panic!("the example loads") };
        let (engine, _) = Evaluator::new(pkg.package(), tables, Choice { backend: Backend::Jit, lineage: false });
        let mut expected = chunk_of(1, 1_000);
        evaluate_chunk(&engine, false, &mut expected);
        let numbering = Numbering::new();
        let mut late = chunk_of(1, 0);
        let lines = count_line_feeds(&late.input);
        std::thread::scope(|s| {
            let worker = s.spawn(|| evaluate_file_chunk(&numbering, &engine, false, &mut late, lines));
            // Chunk 0 is counted only once the worker has found chunk 1's
            // number unknown.
            while !lock(&numbering.state).lines.contains_key(&1) {
                std::thread::yield_now();
            }
            assert_eq!(numbering.count(0, 999), Some(1));
            assert!(worker.join().unwrap());
        });
        assert!(!late.marks.is_empty(), "evaluated before its number was known");
        assert_eq!(late.first_line, 1_000);
        assert_eq!(late.out, expected.out);
        // A run that stops while a chunk waits for its number.
        let numbering = Numbering::new();
        let mut orphan = chunk_of(2, 0);
        std::thread::scope(|s| {
            let worker = s.spawn(|| evaluate_file_chunk(&numbering, &engine, false, &mut orphan, 5));
            while !lock(&numbering.state).lines.contains_key(&2) {
                std::thread::yield_now();
            }
            numbering.stop();
            assert!(!worker.join().unwrap());
        });
    }

    /// An outcome line that does not begin as `evaluate_unnumbered` writes
    /// it is not renumbered: the chunk is left as it was.
    #[test]
    fn renumber_leaves_a_chunk_it_cannot_read() {
        for (out, marks) in [
            ("{\"line\":0,\"id\":null}\n{\"line\":7,\"id\":null}\n", vec![(0, 0), (21, 1)]),
            ("x{\"line\":0,\"id\":null}\n", vec![(1, 0)]),
            ("{\"line\":0,\"id\":null}\n", vec![]),
        ] {
            let mut chunk = Chunk::new();
            chunk.out = out.to_string();
            chunk.marks = marks;
            chunk.first_line = 5;
            assert!(!renumber(&mut chunk));
            assert_eq!(chunk.out, out);
        }
        let mut chunk = Chunk::new();
        chunk.out = "{\"line\":0,\"id\":null}\n{\"line\":0,\"id\":\"a\"}\n".to_string();
        chunk.marks = vec![(0, 0), (21, 3)];
        chunk.first_line = 9;
        assert!(renumber(&mut chunk));
        assert_eq!(chunk.out, "{\"line\":9,\"id\":null}\n{\"line\":12,\"id\":\"a\"}\n");
    }

    #[test]
    fn chunks_hold_the_lines_the_input_reader_reads() {
        let long = vec![b'x'; 3 * CHUNK_BYTES + 17];
        let mut many = Vec::new();
        for i in 0..40_000 {
            many.extend_from_slice(format!("{{\"n\":{i}}}").as_bytes());
            many.extend_from_slice(match i % 7 {
                0 => b"\r\n",
                1 => b"\n\n",
                2 => b"\r\r\n",
                _ => b"\n",
            });
        }
        let mut with_long = many.clone();
        with_long.extend_from_slice(&long);
        with_long.extend_from_slice(b"\n\xFF\xFE\n");
        with_long.extend_from_slice(&many);
        // Every chunk starts with a line that starts with a byte-order mark:
        // only the input's first is dropped.
        let marks = b"\xEF\xBB\xBFx\n".repeat(100_000);
        let cases: Vec<Vec<u8>> = vec![
            marks,
            b"".to_vec(),
            b"\n".to_vec(),
            b"\n\n".to_vec(),
            b"a".to_vec(),
            b"a\n".to_vec(),
            b"a\nb".to_vec(),
            b"\r".to_vec(),
            b"a\r\n\r\n  \n".to_vec(),
            b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n  \n{}\n\xEF\xBB\xBF{}".to_vec(),
            b"\xEF\xBB\xBF".to_vec(),
            b"\xEF\xBB\xBF\n".to_vec(),
            b"\xEF\xBB".to_vec(),
            long.clone(),
            [&long[..], b"\n", &long[..]].concat(),
            many.clone(),
            [b"\xEF\xBB\xBF", &many[..]].concat(),
            with_long,
        ];
        // Line feeds just before, at and after the ends of chunks.
        let mut cases = cases;
        for d in [-2i64, -1, 0, 1, 2] {
            let x = |n: i64| vec![b'x'; n as usize];
            let c = CHUNK_BYTES as i64;
            cases.push([x(c + d), b"\n".to_vec(), x(c - 1), b"\nab\n\n".to_vec(), x(c + d - 1)].concat());
            cases.push([x(c + d - 1), b"\n\n".to_vec(), x(2 * c - 2), b"\n".to_vec()].concat());
            // A line across a chunk's end, and short lines after it where
            // the file ends: reading the first line's end meets the end of
            // the file, and the lines after it are the next chunk's.
            cases.push([x(c + d - 5), b"\n".to_vec(), x(20), b"\nab\ncd\n".to_vec()].concat());
            cases.push([x(c + d - 5), b"\n".to_vec(), x(20), b"\nab\ncd".to_vec()].concat());
        }
        for case in cases {
            let want = reader_lines(&case);
            let got = stream_lines(&case);
            assert_eq!(got.len(), want.len());
            assert!(got == want, "stream of {} bytes", case.len());
            let got = file_lines(&case);
            assert_eq!(got.len(), want.len(), "file of {} bytes", case.len());
            assert!(got == want, "file of {} bytes", case.len());
        }
    }

    #[test]
    fn counts_line_feeds() {
        for len in [0, 1, 63, 64, 65, 200, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| if i % 3 == 0 || i % 7 == 0 { b'\n' } else { b'a' }).collect();
            let want = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(count_line_feeds(&bytes), want, "{len}");
        }
        assert_eq!(count_line_feeds(&[b'\n'; 640]), 640);
    }

    #[test]
    fn finds_the_first_line_feed() {
        for len in 0..40 {
            for at in 0..=len {
                let mut bytes = vec![b'a'; len];
                let mut want = None;
                if at < len {
                    bytes[at] = b'\n';
                    want = Some(at);
                    // Line feeds and bytes that borrow after it change nothing.
                    for b in bytes.iter_mut().skip(at + 1).step_by(3) {
                        *b = b'\n';
                    }
                    if at + 1 < len {
                        bytes[at + 1] = 0x0B;
                    }
                }
                if at > 0 {
                    bytes[at - 1] = 0x0B;
                }
                assert_eq!(find_line_feed(&bytes), want, "{bytes:?}");
            }
        }
        assert_eq!(find_line_feed("é\n".as_bytes()), Some(2));
        assert_eq!(find_line_feed(&[0x8A, 0x0A]), Some(1));
    }

    /// A reader that fails after its first bytes.
    struct Failing(Option<Vec<u8>>);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.take() {
                Some(b) => {
                    buf[..b.len()].copy_from_slice(&b);
                    Ok(b.len())
                }
                None => Err(std::io::Error::other("disk on fire")),
            }
        }
    }

    #[test]
    fn a_read_error_keeps_the_whole_lines_before_it() {
        let (tx, rx) = channel();
        let reader = Box::new(Failing(Some(b"a\nb\nc".to_vec())));
        let reading = Reading::Stream { reader, carry: Vec::new(), next_line: 1 };
        let mut source = Source { reading, free: rx, seq: 0, done: false, error: None };
        tx.send(Chunk::new()).unwrap();
        let chunk = source.next(&AtomicBool::new(false)).unwrap();
        assert_eq!(chunk.input, b"a\nb\n");
        assert!(source.error.is_some());
        assert!(source.next(&AtomicBool::new(false)).is_none());
    }
}
