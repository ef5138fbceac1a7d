//! The acknowledgement: committed batches' outcome lines, written in order, and the chunks given back.

use std::io::Write;
use std::sync::mpsc::Receiver;

use super::chunks::Chunk;

/// A batch's acknowledgement: its events' outcome lines, as evaluated
/// except where the ledger decided otherwise (a duplicate, a conflict).
#[derive(Default)]
pub(crate) struct Ack {
    /// The batch's chunks, with the worker that made each.
    pub(super) chunks: Vec<(usize, Chunk)>,
    /// (event number in the batch, outcome line) where the ledger decided.
    decided: Vec<(usize, String)>,
    /// Events recorded so far.
    next: usize,
}

impl Ack {
    /// The next event's outcome line is the one it was evaluated with.
    pub(super) fn as_evaluated(&mut self) {
        self.next += 1;
    }

    /// The next event's outcome line is the ledger's.
    pub(super) fn decided(&mut self, line: String) {
        self.decided.push((self.next, line));
        self.next += 1;
    }
}

/// Writes each committed batch's outcome lines (the acknowledgement), in
/// order, on a thread of its own so that the writer can go on with the
/// next batch; then gives each chunk back to the worker that made it.
pub(super) fn acknowledge(
    out: &mut (dyn Write + Send),
    batches: &Receiver<Ack>,
    garbage: Vec<std::sync::mpsc::Sender<Chunk>>,
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
