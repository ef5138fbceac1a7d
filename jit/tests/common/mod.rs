//! Test support shared by the jit crate's integration tests (and, by `#[path]`, the fuzz targets).

pub mod programs;
