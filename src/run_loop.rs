//! `canon run` for a package without state (RUNTIME.md §7.1): every input
//! line's outcome, in input order.
//!
//! One thread reads a line, evaluates it and writes its outcome
//! ([`serial`]). With `--threads N` ([`parallel`]) N workers share the
//! work and nothing else: a worker takes the next chunk of raw input bytes
//! (whole lines, about [`CHUNK_BYTES`]), splits it into lines, evaluates
//! them into the chunk's own outcome buffer, and hands the chunk to the
//! writer, which writes chunks in input order. Reading (one `read` into
//! the chunk, a count of its line feeds for the next chunk's first line
//! number) and writing (one `write` of the chunk's outcomes) are the only
//! serial parts, short next to evaluating a chunk; a fixed set of chunks
//! circulates between the reader and the writer, so memory stays flat
//! however long the input and however slow one chunk.
//!
//! Lines are the runtime's `InputReader` lines: numbered from 1, blank
//! lines included; a byte-order mark at the start of the input dropped;
//! line endings (`\n`, and any `\r` before it) cut off; a last line without
//! a line feed is a line. The tests below check that both loops see the
//! same lines.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, MutexGuard, PoisonError};

use canon_jit::Evaluator;
use canon_runtime::input::{not_utf8_outcome, InputReader, Line};

/// Input bytes a chunk takes, about (whole lines: a longer line makes a
/// longer chunk). Some 300 timesheet events: far more work than the
/// chunk's `read` and `write`, small enough that the workers finish
/// together.
const CHUNK_BYTES: usize = 128 << 10;

const BYTE_ORDER_MARK: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Evaluates every line of `reader` on `threads` threads, writing the
/// outcomes to `writer` in input order.
pub(crate) fn stateless(
    engine: &Evaluator,
    reader: Box<dyn Read + Send>,
    writer: Box<dyn Write + Send>,
    input: &str,
    explain: bool,
    threads: usize,
) -> ExitCode {
    let status = if threads > 1 {
        parallel(engine, reader, writer, explain, threads)
    } else {
        serial(engine, reader, writer, explain)
    };
    match status {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Read(e)) => {
            eprintln!("error: reading `{input}`: {e}");
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

/// A run of whole input lines and, once evaluated, their outcomes.
struct Chunk {
    /// Its place in input order, from 0.
    seq: u64,
    /// The number of its first line.
    first_line: u64,
    input: Vec<u8>,
    out: String,
}

/// The input, read a chunk at a time by whichever worker is free.
struct Source {
    reader: Box<dyn Read + Send>,
    /// Chunks the writer has written, to fill again.
    free: Receiver<Chunk>,
    /// The bytes read after the last line feed of the chunk before.
    carry: Vec<u8>,
    seq: u64,
    next_line: u64,
    done: bool,
    error: Option<std::io::Error>,
}

impl Source {
    /// The next chunk of whole lines; `None` at the end of the input, after
    /// a read error (the lines before it are in the last chunk) or when the
    /// writer has failed.
    fn next(&mut self) -> Option<Chunk> {
        if self.done {
            return None;
        }
        let mut chunk = self.free.recv().ok()?;
        chunk.input.clear();
        chunk.input.append(&mut self.carry);
        // Bytes of `chunk.input` known to hold no line feed.
        let mut searched = 0;
        let mut eof = false;
        loop {
            let want = CHUNK_BYTES.saturating_sub(chunk.input.len()).max(CHUNK_BYTES / 4);
            chunk.input.reserve(want);
            match (&mut self.reader).take(want as u64).read_to_end(&mut chunk.input) {
                Ok(n) if n < want => {
                    eof = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    // As one thread does: the whole lines before the error
                    // are evaluated, a line cut short is not.
                    self.error = Some(e);
                    let whole = chunk.input.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                    chunk.input.truncate(whole);
                    eof = true;
                    break;
                }
            }
            if chunk.input.len() >= CHUNK_BYTES && chunk.input.get(searched..).is_some_and(|new| new.contains(&b'\n')) {
                break;
            }
            searched = chunk.input.len();
        }
        if eof {
            self.done = true;
        } else if let Some(last) = chunk.input.iter().rposition(|&b| b == b'\n') {
            // The bytes after the last line feed start the next chunk.
            self.carry.extend_from_slice(chunk.input.get(last + 1..).unwrap_or_default());
            chunk.input.truncate(last + 1);
        }
        if chunk.input.is_empty() {
            self.done = true;
            return None;
        }
        chunk.seq = self.seq;
        chunk.first_line = self.next_line;
        self.seq += 1;
        self.next_line += count_line_feeds(&chunk.input);
        Some(chunk)
    }
}

/// The output: evaluated chunks, written in input order.
struct Sink<'a> {
    writer: Box<dyn Write + Send>,
    /// Where written chunks go back to the reader; dropped when writing
    /// fails, which ends a reader waiting for a chunk.
    free: Option<Sender<Chunk>>,
    /// The next chunk to write.
    next: u64,
    /// Evaluated chunks waiting for the ones before them.
    pending: BTreeMap<u64, Chunk>,
    error: Option<std::io::Error>,
    stop: &'a AtomicBool,
}

impl Sink<'_> {
    /// Takes an evaluated chunk; writes it and the ones after it that are
    /// waiting, if its turn has come.
    fn put(&mut self, chunk: Chunk) {
        if self.error.is_some() {
            return;
        }
        self.pending.insert(chunk.seq, chunk);
        while let Some(chunk) = self.pending.remove(&self.next) {
            if let Err(e) = self.writer.write_all(chunk.out.as_bytes()) {
                self.error = Some(e);
                self.stop.store(true, Ordering::Relaxed);
                self.free = None;
                self.pending.clear();
                return;
            }
            self.next += 1;
            if let Some(free) = &self.free {
                // The reader holds the receiver until every worker is done.
                let _ = free.send(chunk);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `threads` workers, each reading, evaluating and handing on one chunk at
/// a time.
fn parallel(
    engine: &Evaluator,
    reader: Box<dyn Read + Send>,
    writer: Box<dyn Write + Send>,
    explain: bool,
    threads: usize,
) -> Result<(), Failure> {
    // Two chunks a worker: one it evaluates, one read or written meanwhile.
    let (free_tx, free_rx) = channel();
    for _ in 0..2 * threads + 1 {
        let _ = free_tx.send(Chunk { seq: 0, first_line: 0, input: Vec::new(), out: String::new() });
    }
    let stop = AtomicBool::new(false);
    let source =
        Mutex::new(Source { reader, free: free_rx, carry: Vec::new(), seq: 0, next_line: 1, done: false, error: None });
    let sink =
        Mutex::new(Sink { writer, free: Some(free_tx), next: 0, pending: BTreeMap::new(), error: None, stop: &stop });
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let _guard = PanicGuard { sink: &sink, stop: &stop };
                while !stop.load(Ordering::Relaxed) {
                    let Some(mut chunk) = lock(&source).next() else { break };
                    evaluate_chunk(engine, explain, &mut chunk);
                    lock(&sink).put(chunk);
                }
            });
        }
    });
    let mut sink = sink.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some(e) = sink.error.take() {
        return Err(Failure::Write(e));
    }
    sink.writer.flush().map_err(Failure::Write)?;
    match source.into_inner().unwrap_or_else(PoisonError::into_inner).error {
        Some(e) => Err(Failure::Read(e)),
        None => Ok(()),
    }
}

/// Stops the other workers when one panics (a bug), so that the run ends
/// with the panic rather than waiting for a chunk that never comes back.
struct PanicGuard<'a, 'b> {
    sink: &'a Mutex<Sink<'b>>,
    stop: &'a AtomicBool,
}

impl Drop for PanicGuard<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stop.store(true, Ordering::Relaxed);
            lock(self.sink).free = None;
        }
    }
}

/// The outcomes of a chunk's lines into its `out`.
fn evaluate_chunk(engine: &Evaluator, explain: bool, chunk: &mut Chunk) {
    chunk.out.clear();
    for (line_no, line) in numbered_lines(chunk.seq, chunk.first_line, &chunk.input) {
        outcome_line(engine, line_no, line, explain, &mut chunk.out);
    }
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
        let mut end = line.len();
        while end > 0 && line.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        Some(line.get(..end).unwrap_or_default())
    })
}

/// How many `\n` `bytes` holds. Counted while the input is locked, so in
/// blocks of 64 bytes that the compiler turns into vector compares (a plain
/// `filter().count()` took 4 instructions a byte, 7% of the run serial).
fn count_line_feeds(bytes: &[u8]) -> u64 {
    let mut blocks = bytes.chunks_exact(64);
    let mut n = 0;
    for block in &mut blocks {
        let mut k = 0u8;
        for &b in block {
            k += u8::from(b == b'\n');
        }
        n += u64::from(k);
    }
    n + blocks.remainder().iter().filter(|&&b| b == b'\n').count() as u64
}

/// The first `\n` in `bytes`, eight bytes at a time (an event line is a
/// few hundred bytes).
fn find_line_feed(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const LINE_FEEDS: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) ^ LINE_FEEDS;
        // The lowest byte of `w` that is zero sets its high bit here
        // (bytes above it may too, never bytes below).
        let zeros = w.wrapping_sub(ONES) & !w & HIGHS;
        if zeros != 0 {
            return Some(at + (zeros.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words.remainder().iter().position(|&b| b == b'\n').map(|i| at + i)
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

    /// The lines the chunks of [`Source`] hold, numbered as its chunks.
    fn chunk_lines(input: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let (tx, rx) = channel();
        let mut source = Source {
            reader: Box::new(std::io::Cursor::new(input.to_vec())),
            free: rx,
            carry: Vec::new(),
            seq: 0,
            next_line: 1,
            done: false,
            error: None,
        };
        let mut out = Vec::new();
        let mut seq = 0;
        tx.send(Chunk { seq: 0, first_line: 0, input: Vec::new(), out: String::new() }).unwrap();
        while let Some(chunk) = source.next() {
            assert_eq!(chunk.seq, seq);
            seq += 1;
            assert!(chunk.input.is_empty() || chunk.input.ends_with(b"\n") || source.done);
            for (no, line) in numbered_lines(chunk.seq, chunk.first_line, &chunk.input) {
                out.push((no, line.to_vec()));
            }
            tx.send(chunk).unwrap();
        }
        assert!(source.error.is_none());
        out
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
        for case in cases {
            let want = reader_lines(&case);
            let got = chunk_lines(&case);
            assert_eq!(got.len(), want.len());
            assert!(got == want, "input of {} bytes", case.len());
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
        let mut source = Source {
            reader: Box::new(Failing(Some(b"a\nb\nc".to_vec()))),
            free: rx,
            carry: Vec::new(),
            seq: 0,
            next_line: 1,
            done: false,
            error: None,
        };
        tx.send(Chunk { seq: 0, first_line: 0, input: Vec::new(), out: String::new() }).unwrap();
        let chunk = source.next().unwrap();
        assert_eq!(chunk.input, b"a\nb\n");
        assert!(source.error.is_some());
        assert!(source.next().is_none());
    }
}
