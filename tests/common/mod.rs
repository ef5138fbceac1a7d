//! Helpers the CLI tests share (each test crate includes this module).

use std::process::{Command, Output};

/// Runs the `canon` binary with `args` from the repository's root, colours off.
pub fn canon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}
