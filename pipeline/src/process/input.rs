//! The input, read a chunk of lines at a time by whichever evaluation
//! worker is free, through the runtime's one input reader (numbering, the
//! byte-order mark and line endings are the same as `canon run`'s).

use std::io::Read;

use canon_runtime::input::{InputReader, ReadLine};

/// Lines a chunk, at most.
pub(super) const CHUNK: usize = 128;

/// The input, read a chunk at a time by whichever worker is free.
pub(super) struct Source {
    reader: InputReader<Box<dyn Read + Send>>,
    /// The next chunk's number in input order.
    seq: u64,
    done: bool,
    /// Lines a chunk (at most a batch).
    chunk_lines: usize,
}

/// What [`Source::next_into`] read.
pub(super) enum ChunkRead {
    /// Chunk `seq`'s lines, with the input bytes read up to their end.
    Lines { seq: u64, bytes_read: u64 },
    /// Reading chunk `seq` failed.
    Failed { seq: u64, error: std::io::Error },
}

impl Source {
    pub(super) fn new(input: Box<dyn Read + Send>, chunk_lines: usize) -> Source {
        Source { reader: InputReader::new(input), seq: 0, done: false, chunk_lines }
    }

    /// Reads the next chunk's lines into `input`: up to `chunk_lines`
    /// lines, fewer when the next read could block (a pipe), so slow input
    /// is committed and acknowledged promptly. `None` at the end of the input.
    pub(super) fn next_into(&mut self, input: &mut Vec<u8>, lines: &mut Vec<ReadLine>) -> Option<ChunkRead> {
        if self.done {
            return None;
        }
        while lines.len() < self.chunk_lines && (lines.is_empty() || self.reader.has_buffered()) {
            match self.reader.read_line(input) {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(error) => {
                    self.done = true;
                    return Some(ChunkRead::Failed { seq: self.next_seq(), error });
                }
            }
        }
        if lines.is_empty() {
            return None;
        }
        Some(ChunkRead::Lines { seq: self.next_seq(), bytes_read: self.reader.bytes_read() })
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        seq
    }
}
