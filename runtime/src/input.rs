//! The one reader of event input (RUNTIME.md §1), for `canon run` and
//! `canon process`: lines numbered from 1, a UTF-8 byte-order mark at the
//! start of the input dropped, line endings (`\n`, `\r\n`) cut off, and each
//! line classified as an event, a blank line (JSON white space only: no
//! outcome, but it keeps its number) or bytes that are not UTF-8 (an
//! `invalid` outcome, since JSON text is UTF-8).

use std::io::{BufRead, BufReader, Read};
use std::ops::Range;

use crate::engine::{Outcome, Status};
use crate::outcome::Rejection;

/// A UTF-8 byte-order mark, dropped at the start of the input.
pub const BYTE_ORDER_MARK: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Where `line`'s ending (every `\n` and `\r` at its end) starts: the line
/// as read is `line[..line_end(line)]`.
pub fn line_end(line: &[u8]) -> usize {
    let mut end = line.len();
    while end > 0 && matches!(line.get(end - 1), Some(b'\n' | b'\r')) {
        end -= 1;
    }
    end
}

/// A line read into the caller's buffer: its number and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLine {
    /// Numbered from 1, blank lines included.
    pub number: u64,
    /// The line in the buffer, without its line ending.
    pub range: Range<usize>,
}

/// Reads input lines into buffers the caller reuses, so that nothing is
/// allocated per line.
pub struct InputReader<R> {
    reader: BufReader<R>,
    line_no: u64,
    bytes: u64,
}

impl<R: Read> InputReader<R> {
    pub fn new(input: R) -> InputReader<R> {
        InputReader { reader: BufReader::with_capacity(1 << 16, input), line_no: 0, bytes: 0 }
    }

    /// Appends the next line to `buf` (without its line ending, and the
    /// first without a byte-order mark); `None` at the end of the input.
    pub fn read_line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<Option<ReadLine>> {
        let start = buf.len();
        let n = self.read_until_newline(buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.bytes += n as u64;
        self.line_no += 1;
        if self.line_no == 1 && buf.get(start..).is_some_and(|l| l.starts_with(BYTE_ORDER_MARK)) {
            buf.drain(start..start + BYTE_ORDER_MARK.len());
        }
        let end = start + buf.get(start..).map_or(0, line_end);
        Ok(Some(ReadLine { number: self.line_no, range: start..end }))
    }

    /// `BufRead::read_until(b'\n', buf)`, the newline found by the memchr
    /// crate's vector search: the standard library's (`core::slice::memchr`)
    /// reads two words at a time, and was 520 instructions of a 434-byte
    /// event (callgrind).
    fn read_until_newline(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        let mut read = 0;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let (done, used) = match memchr::memchr(b'\n', available) {
                Some(i) => (true, i + 1),
                None => (available.is_empty(), available.len()),
            };
            buf.extend_from_slice(available.get(..used).unwrap_or_default());
            self.reader.consume(used);
            read += used;
            if done {
                return Ok(read);
            }
        }
    }

    /// Input bytes read so far (the byte-order mark and line endings included).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Whether more input is already buffered: reading the next line will
    /// not wait for a slow writer (a pipe) unless the line is long.
    pub fn has_buffered(&self) -> bool {
        !self.reader.buffer().is_empty()
    }
}

/// What a line of input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// Text to evaluate as a CloudEvent.
    Event(&'a str),
    /// JSON white space only: no outcome.
    Blank,
    /// Bytes that are not UTF-8: an `invalid` outcome ([`not_utf8_outcome`]).
    NotUtf8,
}

impl<'a> Line<'a> {
    /// Classifies a line as [`InputReader::read_line`] gives it.
    pub fn of(bytes: &'a [u8]) -> Line<'a> {
        // simdutf8 checks sixteen or thirty-two bytes a step (the standard
        // library's check was 246 instructions of a 434-byte event).
        match simdutf8::basic::from_utf8(bytes) {
            Ok(text) if crate::envelope::is_blank(text) => Line::Blank,
            Ok(text) => Line::Event(text),
            Err(_) => Line::NotUtf8,
        }
    }
}

/// The outcome of line `line_no` whose bytes are not UTF-8.
pub fn not_utf8_outcome(line_no: u64) -> Outcome {
    Outcome {
        line: line_no,
        id: None,
        event_type: None,
        correlation_id: None,
        status: Status::Invalid,
        emits: Vec::new(),
        rejections: vec![Rejection::not_utf8()],
        writes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn lines(input: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut reader = InputReader::new(input);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(l) = reader.read_line(&mut buf).unwrap() {
            out.push((l.number, buf.get(l.range).unwrap().to_vec()));
            buf.clear();
        }
        assert_eq!(reader.bytes_read(), input.len() as u64);
        out
    }

    #[test]
    fn numbers_lines_and_cuts_line_endings_and_the_byte_order_mark() {
        let got = lines(b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n  \n{}\n\xEF\xBB\xBF{}");
        let want: Vec<(u64, Vec<u8>)> = vec![
            (1, b"{\"a\":1}".to_vec()),
            (2, b"".to_vec()),
            (3, b"  ".to_vec()),
            (4, b"{}".to_vec()),
            (5, b"\xEF\xBB\xBF{}".to_vec()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn classifies_lines() {
        assert_eq!(Line::of(b" \t"), Line::Blank);
        assert_eq!(Line::of(b""), Line::Blank);
        assert_eq!(Line::of(b"{}"), Line::Event("{}"));
        assert_eq!(Line::of(b"{\xFF}"), Line::NotUtf8);
        assert_eq!(
            not_utf8_outcome(7).rejections.first().map(|r| r.message.as_str()),
            Some("the line is not valid UTF-8")
        );
    }

    /// Gives its bytes a few at a time, and is interrupted now and then.
    struct Trickle<'a> {
        bytes: &'a [u8],
        sizes: Vec<usize>,
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            let size = self.sizes.get(self.calls % self.sizes.len().max(1)).copied().unwrap_or(1);
            if size == 0 {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let n = size.min(out.len()).min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    use proptest::prelude::*;

    proptest! {
        /// Lines as the standard library's `read_until` splits them, however
        /// the input arrives: in pieces, interrupted, lines longer than the
        /// buffer.
        #[test]
        fn lines_are_split_as_read_until_splits_them(
            parts in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(proptest::sample::select(vec![b'a', b'\n', b'\r', 0xEF, 0xBB, 0xBF]), 0..40),
                    (1usize..3).prop_map(|k| vec![b'x'; k * 50_000]),
                ],
                0..8,
            ),
            sizes in proptest::collection::vec(0usize..100_000, 1..6),
        ) {
            let input: Vec<u8> = parts.concat();
            let mut reader = InputReader::new(Trickle { bytes: &input, sizes, calls: 0 });
            let mut got = Vec::new();
            let mut buf = Vec::new();
            while let Some(l) = reader.read_line(&mut buf).unwrap() {
                got.push(buf.get(l.range).unwrap().to_vec());
                buf.clear();
            }
            prop_assert_eq!(reader.bytes_read(), input.len() as u64);
            let mut want = Vec::new();
            let mut std_reader = BufReader::new(&input[..]);
            loop {
                let mut line = Vec::new();
                if std_reader.read_until(b'\n', &mut line).unwrap() == 0 {
                    break;
                }
                if want.is_empty() && line.starts_with(BYTE_ORDER_MARK) {
                    line.drain(..BYTE_ORDER_MARK.len());
                }
                line.truncate(line_end(&line));
                want.push(line);
            }
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn appends_to_the_buffer() {
        let mut reader = InputReader::new(&b"x\ny\n"[..]);
        let mut buf = Vec::new();
        let a = reader.read_line(&mut buf).unwrap().unwrap();
        let b = reader.read_line(&mut buf).unwrap().unwrap();
        assert_eq!((a.range, b.range), (0..1, 2..3));
        assert!(reader.read_line(&mut buf).unwrap().is_none());
    }
}
