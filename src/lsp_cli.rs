//! `canon lsp`: the language server on stdin and stdout.

use std::process::ExitCode;

pub fn lsp() -> ExitCode {
    match canon_lsp::run_stdio() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
