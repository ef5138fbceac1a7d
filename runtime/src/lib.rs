//! Canon's runtime: values, schema-directed decoding of CloudEvents,
//! reference tables, the reference interpreter and outcome encoding.
//!
//! Embedding (RUNTIME.md §6): load and check a package, load its tables,
//! build an engine and evaluate events.
//!
//! ```
//! use std::path::PathBuf;
//! use canon_runtime::{package, Engine, Status, Tables};
//!
//! let source = r#"
//!     event Ping as "ping" { n: Int }
//!     record Pong { doubled: Int }
//!     destination out: Pong
//!     on Ping as p { emit out Pong { doubled: p.n * 2 } }
//! "#;
//! let pkg = package::from_sources(PathBuf::from("."), vec![("ping.canon".into(), source.into())]);
//! assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics());
//! let checked = pkg.package();
//! let tables = Tables::empty(&checked);
//! let engine = Engine::new(checked, tables);
//!
//! let event = r#"{"specversion":"1.0","id":"e1","source":"test","type":"ping","data":{"n":21}}"#;
//! let outcome = engine.evaluate(1, event);
//! assert_eq!(outcome.status, Status::Accepted);
//! let mut json = String::new();
//! engine.write_outcome(&outcome, &mut json);
//! assert!(json.contains(r#""record":{"doubled":42}"#));
//! ```

pub mod calendar;
pub mod coverage;
pub mod decode;
pub mod diff;
pub mod dindex;
pub mod encode;
pub mod engine;
pub mod envelope;
pub mod input;
pub mod interp;
pub mod manifest;
pub mod metrics;
pub mod outcome;
pub mod package;
pub mod state;
pub mod tables;
pub mod testing;
pub mod value;

pub use engine::{Engine, Envelope, Outcome, Status};
pub use outcome::{Fault, Rejection, TraceEvent, WriteRecords};
pub use package::{load, LoadError, LoadedPackage};
pub use tables::{DataError, Tables};
pub use value::Value;

/// The engine is shared by threads: it must stay `Send + Sync`.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};
