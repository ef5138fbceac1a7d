//! The `[package]` table of `canon.toml`: a package's name, semantic version,
//! owner and effective-from date (RUNTIME.md §3.1). Only that table is read
//! here; `[sinks]` belongs to the pipeline (`canon_pipeline::config`).
//!
//! ```toml
//! [package]
//! name = "timesheets"
//! version = "1.4.0"              # semantic version (semver.org)
//! owner = "finance-systems@example.com"
//! effective_from = 2026-12-01    # a TOML date, or the same as a string
//! ```
//!
//! A package with no `canon.toml`, or one without `[package]`, has no
//! manifest: its rules are unversioned and say so where a version is shown.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The file's name, in the package directory.
pub const FILE_NAME: &str = "canon.toml";

/// A package's declared identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub version: semver::Version,
    pub owner: Option<String>,
    /// `YYYY-MM-DD`.
    pub effective_from: Option<chrono::NaiveDate>,
}

impl Manifest {
    /// `name@version`, as stamped into lineage and shown by `canon diff`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// Why `canon.toml`'s `[package]` table could not be read: the file and what
/// is wrong, with the TOML parser's line and column where it has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ManifestError {}

#[derive(Deserialize)]
struct Raw {
    package: Option<RawPackage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackage {
    name: String,
    version: String,
    owner: Option<String>,
    effective_from: Option<toml::Value>,
}

/// Reads `root/canon.toml`; `Ok(None)` when there is no file or no `[package]`.
pub fn load(root: &Path) -> Result<Option<Manifest>, ManifestError> {
    let path = root.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ManifestError { path, message: format!("cannot read: {e}") }),
    }
}

/// Parses the text of a `canon.toml` (`path` names it in errors).
pub fn parse(text: &str, path: &Path) -> Result<Option<Manifest>, ManifestError> {
    let err = |message: String| ManifestError { path: path.to_path_buf(), message };
    let raw: Raw = toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
    let Some(p) = raw.package else { return Ok(None) };
    let name = p.name.trim().to_string();
    if name.is_empty() {
        return Err(err("[package] name is empty".into()));
    }
    let version = semver::Version::parse(p.version.trim()).map_err(|e| {
        err(format!(
            "[package] version `{}` is not a semantic version ({e}); write MAJOR.MINOR.PATCH, e.g. \"1.4.0\"",
            p.version
        ))
    })?;
    let effective_from = match p.effective_from {
        None => None,
        Some(v) => {
            let text = match &v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Datetime(d) => d.to_string(),
                other => other.type_str().to_string(),
            };
            let d = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                err(format!("[package] effective_from `{text}` is not a date; write YYYY-MM-DD, e.g. 2026-12-01"))
            })?;
            Some(d)
        }
    };
    let owner = p.owner.map(|o| o.trim().to_string()).filter(|o| !o.is_empty());
    Ok(Some(Manifest { name, version, owner, effective_from }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn p(text: &str) -> Result<Option<Manifest>, String> {
        parse(text, Path::new("canon.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_package_table() {
        let m =
            p("[package]\nname = \"timesheets\"\nversion = \"1.4.0\"\nowner = \"fin\"\neffective_from = 2026-12-01\n")
                .unwrap()
                .unwrap();
        assert_eq!(m.label(), "timesheets@1.4.0");
        assert_eq!(m.owner.as_deref(), Some("fin"));
        assert_eq!(m.effective_from.unwrap().to_string(), "2026-12-01");
        let s =
            p("[package]\nname = \"t\"\nversion = \"2.0.0-rc.1\"\neffective_from = \"2027-01-01\"\n").unwrap().unwrap();
        assert_eq!(s.version.to_string(), "2.0.0-rc.1");
    }

    #[test]
    fn no_file_or_no_table_is_no_manifest() {
        assert_eq!(p("[sinks.erp]\npath = \"x\"\n").unwrap(), None);
        assert_eq!(load(Path::new("/nonexistent/dir")).unwrap(), None);
    }

    #[test]
    fn mistakes_are_named() {
        assert!(p("[package]\nname = \"t\"\nversion = \"1.4\"\n").unwrap_err().contains("not a semantic version"));
        assert!(p("[package]\nname = \"t\"\nversion = \"1.0.0\"\neffective_from = \"Dec 1\"\n")
            .unwrap_err()
            .contains("not a date"));
        assert!(p("[package]\nname = \"t\"\nversion = \"1.0.0\"\nownr = \"x\"\n").unwrap_err().contains("ownr"));
        assert!(p("[package]\nversion = \"1.0.0\"\n").unwrap_err().contains("name"));
        assert!(p("[package\n").unwrap_err().contains("canon.toml"));
    }
}
