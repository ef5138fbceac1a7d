//! Chunks back in input order, whichever worker finished first.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::chunks::Chunk;

/// A chunk of evaluated events, with the input bytes read up to its end
/// and the worker that made it (which gets it back to reuse).
pub(super) struct Evaluated {
    pub(super) chunk: Chunk,
    pub(super) bytes_read: u64,
    pub(super) worker: usize,
}

/// What a worker sends: chunk `seq` (numbered in input order), or why it could not be read.
pub(super) enum Msg {
    Chunk { seq: u64, evaluated: Evaluated },
    Failed { seq: u64, error: std::io::Error },
}

impl Msg {
    fn seq(&self) -> u64 {
        match self {
            Msg::Chunk { seq, .. } | Msg::Failed { seq, .. } => *seq,
        }
    }
}

/// Receives chunks in any order and hands them out in input order.
pub(super) struct InOrder {
    rx: Receiver<Msg>,
    /// The number of the chunk to hand out next.
    next: u64,
    /// Chunks that came before their turn.
    early: std::collections::BTreeMap<u64, Msg>,
}

/// What [`InOrder::recv`] got.
pub(super) enum Got {
    Chunk(Evaluated),
    Failed(std::io::Error),
    Timeout,
    End,
}

impl InOrder {
    pub(super) fn new(rx: Receiver<Msg>) -> InOrder {
        InOrder { rx, next: 0, early: std::collections::BTreeMap::new() }
    }

    fn take_ready(&mut self) -> Option<Got> {
        let msg = self.early.remove(&self.next)?;
        self.next += 1;
        Some(match msg {
            Msg::Chunk { evaluated, .. } => Got::Chunk(evaluated),
            Msg::Failed { error, .. } => Got::Failed(error),
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
    pub(super) fn recv(&mut self, wait: Option<Duration>) -> Got {
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
            self.early.insert(msg.seq(), msg);
        }
    }
}
