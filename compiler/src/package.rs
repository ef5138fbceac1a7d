//! Which files make a package: every `.canon` file under its root, except
//! in hidden directories, `target` and `node_modules`. The CLI's loader and
//! the language server both read a package this way.

use std::path::{Path, PathBuf};

/// A source file: its path relative to the root with `/` separators (its
/// name in diagnostics), and its path on disk.
pub type Source = (String, PathBuf);

/// A directory that could not be read, and why.
pub type Unreadable = (PathBuf, std::io::Error);

/// The `.canon` files under `root`, sorted by relative path, and the
/// directories that could not be read (what could be read is still listed).
pub fn source_files(root: &Path) -> (Vec<Source>, Vec<Unreadable>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    visit(root, root, &mut files, &mut errors);
    files.sort();
    (files, errors)
}

fn visit(dir: &Path, root: &Path, files: &mut Vec<Source>, errors: &mut Vec<Unreadable>) {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push((dir.to_path_buf(), e));
            return;
        }
    };
    for entry in rd {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                errors.push((dir.to_path_buf(), e));
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            visit(&path, root, files, errors);
        } else if path.extension().is_some_and(|x| x == "canon") {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect::<Vec<_>>()
                .join("/");
            files.push((rel, path));
        }
    }
}
