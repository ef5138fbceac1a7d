//! The package version: a content hash of a package's sources and the data
//! files its tables load, so every outcome names exactly what decided it.

use std::path::{Path, PathBuf};

use canon_compiler::ir;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// SHA-256 (hex) over every source file (path and text, in path order) and
/// every table's data file (`<table>.csv`, else `<table>.jsonl`, in table
/// name order; a missing file counts as absent).
pub fn package_version(sources: &[(String, String)], pkg: &ir::Package, data_dir: &Path) -> Result<String> {
    let mut h = Sha256::new();
    h.update(b"canon-package-version-1\0");
    let mut sources: Vec<&(String, String)> = sources.iter().collect();
    sources.sort();
    for (path, text) in sources {
        part(&mut h, b"source", path.as_bytes(), text.as_bytes());
    }
    let mut tables: Vec<&str> = pkg.tables.iter().map(|t| t.name.as_str()).collect();
    tables.sort_unstable();
    for name in tables {
        let file = data_file(data_dir, name);
        match file {
            Some(path) => {
                let bytes = std::fs::read(&path).map_err(|e| Error::Read { path: path.clone(), source: e })?;
                let shown = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                part(&mut h, b"data", shown.as_bytes(), &bytes);
            }
            None => part(&mut h, b"no-data", name.as_bytes(), b""),
        }
    }
    Ok(crate::canonical::hex(&h.finalize()))
}

/// The data file `Tables::load` reads for a table.
fn data_file(dir: &Path, table: &str) -> Option<PathBuf> {
    [format!("{table}.csv"), format!("{table}.jsonl")].into_iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

fn part(h: &mut Sha256, kind: &[u8], name: &[u8], body: &[u8]) {
    for piece in [kind, name] {
        h.update((piece.len() as u64).to_le_bytes());
        h.update(piece);
    }
    h.update((body.len() as u64).to_le_bytes());
    h.update(body);
}

/// The short form shown to people (the first 12 hex digits).
pub fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}
