//! `canon state prune` (RUNTIME.md §7.2): retention of a state directory,
//! the lineage of final events before a cutoff removed, the ledger kept.

use std::path::PathBuf;
use std::process::ExitCode;

use canon_pipeline::progress::group;
use canon_pipeline::retention::Pruned;
use canon_pipeline::State;
use canon_stdlib::Timestamp;
use clap::Args;

use crate::pipeline_cli::{fail, print_json, say, warned};
use crate::Format;

#[derive(Args)]
pub struct PruneArgs {
    #[arg(long)]
    state: PathBuf,
    /// Events received before this instant: an RFC 3339 timestamp
    /// (2026-12-01T09:00:00Z) or a date (2026-12-01, its midnight UTC).
    #[arg(long, value_name = "TIMESTAMP|DATE")]
    before: String,
    /// Count what would be removed, and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

/// The cutoff: a timestamp, or a date's midnight UTC.
fn cutoff(text: &str) -> Option<Timestamp> {
    canon_stdlib::time::parse_timestamp(text)
        .or_else(|| canon_stdlib::time::parse_date(text).map(|d| Timestamp(i64::from(d.0) * 86_400_000_000)))
}

pub fn prune(args: &PruneArgs) -> ExitCode {
    let Some(before) = cutoff(&args.before) else {
        eprintln!(
            "error: --before `{}` is neither an RFC 3339 timestamp (2026-12-01T09:00:00Z) nor a date (2026-12-01)",
            args.before
        );
        return ExitCode::from(2);
    };
    let mut state = match State::open_existing(&args.state) {
        Ok(s) => warned(s),
        Err(e) => return fail(&e.in_state(&args.state)),
    };
    // No `canon process` may write while the database is rewritten.
    if let Err(e) = state.lock() {
        return fail(&e.in_state(&args.state));
    }
    match canon_pipeline::retention::prune(&state, before, args.dry_run) {
        Ok(p) => match args.format {
            Format::Json => print_json(&p),
            Format::Human => {
                print_human(&p);
                ExitCode::SUCCESS
            }
        },
        Err(e) => fail(&e.in_state(&args.state)),
    }
}

fn n(v: i64) -> String {
    group(u64::try_from(v).unwrap_or(0))
}

fn print_human(p: &Pruned) {
    let verb = if p.dry_run { "would remove" } else { "removed" };
    say(format!("events received before {}: {verb}", p.before));
    say(format!("  lineage of {} event(s)", n(p.events)));
    say(format!("  {} kept event text(s)", n(p.payloads)));
    say(format!("  {} delivered outbox record(s)", n(p.outbox_records)));
    say(format!(
        "  rejections of {} resolved exception(s), {} earlier evaluation(s)",
        n(p.exceptions),
        n(p.exception_history)
    ));
    say(format!("kept whole (an open exception or a record not delivered): {} event(s)", n(p.kept_unfinished)));
    if p.dry_run {
        say(format!("state.db: {} bytes (nothing changed: dry run)", group(p.bytes_before)));
    } else {
        say(format!("state.db: {} bytes before, {} after", group(p.bytes_before), group(p.bytes_after)));
    }
}
