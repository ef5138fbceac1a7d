//! Lowers the checked package's IR to Cranelift: one native function per
//! handler, function and decision table, computing on 32-byte cells (see
//! `cell.rs`). Int, Bool, Date, Timestamp and enum operations are inline;
//! decimal, Money and text operations call helpers from the single list in
//! `rt.rs`. Every faulting site branches to a cold block that records the
//! fault with its source line and returns, so nothing unwinds through JIT
//! frames.

mod arith;
mod cells;
mod decision;
mod expr;
mod lowering;
mod shapes;
mod stmt;

use cranelift_codegen::ir::types;

use lowering::BodyLowering;
pub use lowering::{body_sig, helper_sig, Compiled, Lowering};

const PTR: types::Type = types::I64;

/// Why a package cannot be compiled (yet); the engine falls back to the interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);
