//! Canon's Cranelift JIT: native code for handlers, functions and decision
//! tables, giving byte-identical outcomes to the reference interpreter.
//!
//! - `cell.rs`: the native value layout (32-byte cells).
//! - `rt.rs`: the per-event context and the single, typed list of `extern "C"` helpers.
//! - `codegen/`: lowering of the checked IR to Cranelift, by responsibility
//!   (`lowering`, `cells`, `stmt`, `expr`, `arith`, `decision`).
//! - `plan.rs`: the index and mixed plans of decision tables (no Cranelift).
//! - `native.rs`: the one-pass decoder of events into cells, and the encoder of records from cells;
//!   `native_scan.rs`: its hand-written reader of the common line.
//! - `engine.rs`: compiling a package and evaluating events.
//! - `evaluator.rs`: the one evaluator over the JIT and the interpreter, where the engine is chosen.

pub mod cell;
pub mod codegen;
pub mod engine;
pub mod evaluator;
pub mod native;
mod native_scan;
pub mod plan;
pub mod rt;

pub use codegen::Unsupported;
pub use engine::JitEngine;
pub use evaluator::{Backend, Choice, Evaluator};

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JitEngine>();
    assert_send_sync::<Evaluator>();
};
