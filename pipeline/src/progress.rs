//! The progress bar of long runs: on a terminal only (stderr), quiet otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::process::{Counts, Progress};

/// A progress bar over the input's bytes (a spinner when the size is unknown).
pub struct Bar {
    bar: ProgressBar,
    start: Instant,
}

impl Bar {
    /// A bar when stderr is a terminal, else `None`.
    pub fn new(total_bytes: Option<u64>) -> Option<Bar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = match total_bytes {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr_with_hz(8)),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8)),
        };
        let template = if total_bytes.is_some() {
            "{spinner} {elapsed_precise} [{bar:24}] {percent:>3}% {msg}"
        } else {
            "{spinner} {elapsed_precise} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        Some(Bar { bar, start: Instant::now() })
    }

    pub fn update(&self, p: &Progress) {
        self.bar.set_position(p.bytes);
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let rate = p.counts.total() as f64 / secs;
        self.bar.set_message(format!(
            "{} events ({}/s) · {}",
            group(p.counts.total()),
            group(rate as u64),
            counts(&p.counts)
        ));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `12,345 accepted · 20 rejected · ...` (statuses with a count only).
pub fn counts(c: &Counts) -> String {
    let parts: Vec<String> = [
        (c.accepted, "accepted"),
        (c.rejected, "rejected"),
        (c.duplicate, "duplicate"),
        (c.ignored, "ignored"),
        (c.invalid, "invalid"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, s)| format!("{} {s}", group(*n)))
    .collect();
    if parts.is_empty() {
        "nothing yet".into()
    } else {
        parts.join(" · ")
    }
}

/// A number with thousands separators.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
