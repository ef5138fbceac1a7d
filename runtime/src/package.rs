//! Loading a package from disk: every `*.canon` file below the root, checked
//! once by the checker's steps the language server's salsa queries run too
//! ([`db::check_once`]: the CLI edits nothing, so it memoises nothing).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use canon_compiler::db::{self, Checked};
use canon_compiler::diagnostics::Diagnostic;
use canon_compiler::ir;

/// Why a package could not be read at all (user mistakes in the source are
/// diagnostics, not errors).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("`{0}` does not exist")]
    NotFound(PathBuf),
    #[error("cannot read `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("`{0}` holds no .canon files")]
    Empty(PathBuf),
    #[error("{0}")]
    Manifest(#[from] crate::manifest::ManifestError),
}

/// A loaded and checked package.
pub struct LoadedPackage {
    /// The package directory (the parent directory when a single file was given).
    pub root: PathBuf,
    /// Source files: path relative to the root (with `/`) and text.
    pub sources: Vec<(String, String)>,
    /// `canon.toml`'s `[package]` table, when it has one.
    pub manifest: Option<crate::manifest::Manifest>,
    checked: Checked,
}

impl LoadedPackage {
    pub fn checked(&self) -> &Checked {
        &self.checked
    }
    pub fn package(&self) -> Arc<ir::Package> {
        self.checked().package.clone()
    }
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.checked().diagnostics
    }
    pub fn has_errors(&self) -> bool {
        self.checked().has_errors()
    }
    /// The default data directory, `data/` beside the sources.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
}

/// Loads a package directory (or a single `.canon` file) and prepares it for checking.
pub fn load(path: &Path) -> Result<LoadedPackage, LoadError> {
    if !path.exists() {
        return Err(LoadError::NotFound(path.to_path_buf()));
    }
    let (root, files) = if path.is_file() {
        let root = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        (root, vec![(name, path.to_path_buf())])
    } else {
        let (files, mut errors) = canon_compiler::package::source_files(path);
        if let Some((dir, source)) = errors.pop() {
            return Err(LoadError::Io { path: dir, source });
        }
        (path.to_path_buf(), files)
    };
    let mut files = files;
    files.sort();
    if files.is_empty() {
        return Err(LoadError::Empty(path.to_path_buf()));
    }
    let mut sources = Vec::new();
    for (rel, p) in files {
        let bytes = std::fs::read(&p).map_err(|e| LoadError::Io { path: p.clone(), source: e })?;
        // Invalid UTF-8 is replaced so it is reported as a syntax error, not a crash.
        sources.push((rel, String::from_utf8_lossy(&bytes).into_owned()));
    }
    let manifest = crate::manifest::load(&root)?;
    let mut pkg = from_sources(root, sources);
    pkg.manifest = manifest;
    Ok(pkg)
}

/// Builds a package from in-memory sources (paths relative to `root`).
pub fn from_sources(root: PathBuf, mut sources: Vec<(String, String)>) -> LoadedPackage {
    sources.sort();
    let checked = db::check_once(&sources);
    LoadedPackage { root, sources, manifest: None, checked }
}
