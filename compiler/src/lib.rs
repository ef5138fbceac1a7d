//! Canon's front end: parse, resolve, type-check and analyse a package.
//!
//! The front end never fails on user input: every query returns a value plus
//! diagnostics. See ARCHITECTURE.md for the layers.

// pest without `std` (Cargo.toml) derives a parser that names `alloc`.
extern crate alloc;

pub mod check;
pub mod db;
pub mod diagnostics;
pub mod fmt;
pub mod ir;
pub mod package;
pub mod syntax;
pub mod types;
