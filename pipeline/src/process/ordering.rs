//! Chunks back in input order, whichever worker finished first.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::chunks::Chunk;



/// A chunk of evaluated events, numbered in input order, with the input
/// bytes read so far and the worker that made it.
pub(super) enum Msg {
    Chunk(u64, Chunk, u64, usize),
    Failed(u64, std::io::Error),
}

/// Receives chunks in any order and hands them out in input order.
pub(super) struct InOrder {
    pub(super) rx: Receiver<Msg>,
    pub(super) next: u64,
    pub(super) early: std::collections::BTreeMap<u64, Msg>,
}

pub(super) enum Got {
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
            let seq = match &msg {
                Msg::Chunk(s, ..) | Msg::Failed(s, _) => *s,
            };
            self.early.insert(seq, msg);
        }
    }
}
