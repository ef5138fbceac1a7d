//! `canon fmt [PATH...] [--check]`: format `.canon` files in place, or list
//! the files that are not formatted.
//!
//! Each PATH is a package directory (every `.canon` file below it) or one
//! `.canon` file; the default is the current directory. Exit codes: 0 when
//! every file is formatted (or was formatted now); 1 when `--check` found files
//! that would change, or a file has a syntax error (such files are left as
//! they are); 2 when a file or directory cannot be read or written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use canon_compiler::fmt::{format, FormatError};

/// Runs `canon fmt`.
pub fn fmt(paths: &[PathBuf], check: bool) -> ExitCode {
    ExitCode::from(run(paths, check))
}

/// `canon fmt`'s work; returns the exit code.
fn run(paths: &[PathBuf], check: bool) -> u8 {
    let default = [PathBuf::from(".")];
    let roots: &[PathBuf] = if paths.is_empty() { &default } else { paths };
    let mut files = Vec::new();
    let mut io_error = false;
    for root in roots {
        if root.is_dir() {
            if let Err(e) = collect(root, &mut files) {
                eprintln!("error: cannot read `{}`: {e}", root.display());
                io_error = true;
            }
        } else if root.is_file() {
            files.push(root.clone());
        } else {
            eprintln!("error: `{}` is neither a directory nor a file", root.display());
            io_error = true;
        }
    }
    files.sort();
    files.dedup();

    let mut unformatted = 0usize;
    let mut broken = 0usize;
    let mut changed = 0usize;
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", file.display());
                io_error = true;
                continue;
            }
        };
        match format(&text) {
            Ok(out) if out == text => {}
            Ok(out) => {
                if check {
                    println!("{}", file.display());
                    unformatted += 1;
                } else if let Err(e) = std::fs::write(file, out) {
                    eprintln!("error: cannot write `{}`: {e}", file.display());
                    io_error = true;
                } else {
                    changed += 1;
                }
            }
            Err(e @ FormatError::Syntax { .. }) => {
                eprintln!("{}:{e}; not formatted", file.display());
                broken += 1;
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                broken += 1;
            }
        }
    }

    if check && unformatted > 0 {
        eprintln!("{unformatted} of {} file(s) would be reformatted; run `canon fmt`", files.len());
    } else if !check && changed > 0 {
        eprintln!("formatted {changed} of {} file(s)", files.len());
    }
    if io_error {
        2
    } else if unformatted > 0 || broken > 0 {
        1
    } else {
        0
    }
}

/// Every `.canon` file below `dir`, as `canon check` loads a package (hidden
/// entries, `target/` and `node_modules/` are skipped).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "canon") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn check_lists_then_fmt_writes_and_syntax_errors_are_left_alone() {
        let dir = std::env::temp_dir().join(format!("canon-fmt-cli-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let messy = dir.join("sub/a.canon");
        let tidy = dir.join("b.canon");
        let broken = dir.join("c.canon");
        std::fs::write(&messy, "record R { a: Int, b: Int }").unwrap();
        std::fs::write(&tidy, "record S {\n  a: Int\n}\n").unwrap();
        std::fs::write(&broken, "record {").unwrap();
        let paths = [dir.clone()];

        assert_eq!(run(&paths, true), 1);
        assert_eq!(std::fs::read_to_string(&messy).unwrap(), "record R { a: Int, b: Int }");
        assert_eq!(run(std::slice::from_ref(&tidy), true), 0);

        assert_eq!(run(&paths, false), 1, "the syntax error is still reported");
        assert_eq!(std::fs::read_to_string(&messy).unwrap(), "record R {\n  a: Int\n  b: Int\n}\n");
        assert_eq!(std::fs::read_to_string(&broken).unwrap(), "record {");

        std::fs::remove_file(&broken).unwrap();
        assert_eq!(run(&paths, true), 0);
        assert_eq!(run(&[dir.join("no-such-dir")], true), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
