//! The input, read a chunk of lines at a time by whichever evaluation worker is free.

use std::io::{BufRead, BufReader, Read};

use super::chunks::Span;



pub(super) const CHUNK: usize = 128;

/// The input, read a chunk at a time by whichever worker is free.
pub(super) struct Source {
    pub(super) reader: BufReader<Box<dyn Read + Send>>,
    pub(super) line_no: u64,
    pub(super) bytes: u64,
    pub(super) seq: u64,
    pub(super) done: bool,
    /// Lines a chunk (at most a batch).
    pub(super) chunk: usize,
}

impl Source {
    /// Reads the next chunk's lines into `input`: up to `chunk` lines, fewer
    /// when the next read could block (a pipe), so slow input is committed
    /// and acknowledged promptly. Each line is numbered, without its line
    /// ending. `None` at the end of the input.
    pub(super) fn next_into(
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
