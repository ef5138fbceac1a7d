//! Canon's durable pipeline (RUNTIME.md §4): `canon process` and the
//! exception queue, over a SQLite state directory.
//!
//! - `state.rs`: the state directory, its schema and version checks.
//! - `canonical.rs`: idempotency keys and payload hashes.
//! - `lineage.rs`: traces in compact form, their steps stored once.
//! - `version.rs`: the package version, a content hash of sources and data.
//! - `config.rs`: `canon.toml`, binding destinations to sinks.
//! - `sink.rs`: exactly-once JSONL file sinks; `http.rs`: HTTP sinks.
//! - `process/`: evaluating a stream of events durably, in batches: the input, chunks, their ordering, the ledger writer, the acknowledgement and the orchestration (`mod.rs`).
//! - `store.rs`: state across events (records and metric cells) in the state directory.
//! - `exceptions.rs`: list, show, retry and resolve; `status.rs`: reconciliation.
//! - `retention.rs`: `canon state prune`, the lineage of final events removed, the ledger kept.
//!
//! ```no_run
//! use std::path::Path;
//! use canon_pipeline::{process, Options, Rules, State};
//!
//! let pkg = canon_runtime::load(Path::new("examples/timesheets")).unwrap();
//! let data = pkg.data_dir();
//! let tables = canon_runtime::Tables::load(&pkg.package(), &data, false).unwrap();
//! let rules = Rules::new(&pkg, tables, &data, canon_jit::Backend::Jit).unwrap();
//! let mut state = State::open(Path::new("/tmp/state")).unwrap();
//! let input = std::fs::File::open("events.jsonl").unwrap();
//! let summary = process(&mut state, &rules, Box::new(input), &mut std::io::sink(), &Options::default(), &mut |_| {}).unwrap();
//! println!("{} accepted", summary.counts.accepted);
//! ```

pub mod canonical;
pub mod config;
pub mod error;
pub mod exceptions;
pub mod http;
pub mod lineage;
pub mod packed;
pub mod private;
pub mod process;
pub mod progress;
pub mod retention;
pub(crate) mod sink;
pub mod state;
pub mod status;
pub mod store;
pub mod version;

pub use config::Config;
pub use error::{Error, Result};
pub use process::{process, Counts, Options, Rules, Summary};
pub use state::State;

/// Now as RFC 3339 UTC with milliseconds.
pub(crate) fn now() -> String {
    format_ms(now_ms())
}

/// An instant in milliseconds since the Unix epoch as [`now`] writes it
/// (RFC 3339, UTC, the fraction without trailing zeros).
pub(crate) fn format_ms(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    canon_stdlib::time::format_timestamp(canon_stdlib::Timestamp(ms.saturating_mul(1000)), &mut s);
    s
}

/// Now in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
