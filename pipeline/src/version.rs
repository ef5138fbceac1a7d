//! The package version: a content hash of a package's sources, the data
//! files its tables load and its `canon.toml` `[package]` table, so every
//! outcome names exactly what decided it. The rule authors' version
//! (`name@version`, RUNTIME.md §3.1) is kept beside it ([`Release`]).

use std::path::{Path, PathBuf};

use canon_compiler::ir;
use canon_runtime::manifest::Manifest;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// SHA-256 (hex) over every source file (path and text, in path order) and
/// every table's data file (`<table>.csv`, else `<table>.jsonl`, in table
/// name order; a missing file counts as absent), then the `[package]` table
/// when there is one: a new `version` (or owner, or effective date) with
/// the same sources is another package version. An unversioned package's
/// hash is what it was before `[package]` existed.
pub fn package_version(
    sources: &[(String, String)],
    pkg: &ir::Package,
    data_dir: &Path,
    manifest: Option<&Manifest>,
) -> Result<String> {
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
    if let Some(m) = manifest {
        part(&mut h, b"package", m.name.as_bytes(), m.version.to_string().as_bytes());
        part(&mut h, b"owner", m.owner.as_deref().unwrap_or("").as_bytes(), b"");
        let from = m.effective_from.map(|d| d.to_string()).unwrap_or_default();
        part(&mut h, b"effective_from", from.as_bytes(), b"");
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

/// The rule authors' version of a package version, as the state recorded it
/// (RUNTIME.md §3.1, §4): `label` is `name@version`, `unversioned` (no
/// `[package]` table) or `unrecorded` (recorded before schema 6, when the
/// pipeline did not keep it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub label: String,
    pub name: Option<String>,
    pub version: Option<String>,
    pub owner: Option<String>,
    /// `YYYY-MM-DD`.
    pub effective_from: Option<String>,
}

/// The label of a package without `[package]`.
pub const UNVERSIONED: &str = "unversioned";
/// The label of a package version recorded before the state kept releases.
pub const UNRECORDED: &str = "unrecorded";

impl Release {
    /// A package's release, from its manifest.
    pub fn of(manifest: Option<&Manifest>) -> Release {
        match manifest {
            Some(m) => Release {
                label: m.label(),
                name: Some(m.name.clone()),
                version: Some(m.version.to_string()),
                owner: m.owner.clone(),
                effective_from: m.effective_from.map(|d| d.to_string()),
            },
            None => Release::unversioned(),
        }
    }

    pub fn unversioned() -> Release {
        Release { label: UNVERSIONED.into(), name: None, version: None, owner: None, effective_from: None }
    }

    /// From the columns of `package_versions` (`rules_recorded`,
    /// `rules_name`, `rules_version`, `rules_owner`, `rules_effective_from`).
    pub fn from_columns(
        recorded: bool,
        name: Option<String>,
        version: Option<String>,
        owner: Option<String>,
        effective_from: Option<String>,
    ) -> Release {
        let label = match (&name, &version) {
            _ if !recorded => UNRECORDED.to_string(),
            (Some(n), Some(v)) => format!("{n}@{v}"),
            _ => UNVERSIONED.to_string(),
        };
        Release { label, name, version, owner, effective_from }
    }

    /// The label with its owner and effective date, for people:
    /// `timesheets@1.4.0 (owner fin@example.com, effective from 2026-12-01)`.
    pub fn describe(&self) -> String {
        let mut more = Vec::new();
        if let Some(o) = &self.owner {
            more.push(format!("owner {o}"));
        }
        if let Some(d) = &self.effective_from {
            more.push(format!("effective from {d}"));
        }
        if more.is_empty() {
            self.label.clone()
        } else {
            format!("{} ({})", self.label, more.join(", "))
        }
    }
}

/// The warning of a run that writes (`canon process`, `canon exceptions
/// retry`) with rules whose `effective_from` is after today's date (UTC):
/// the date is when the authors meant the release to be in force, and a
/// release put into production early is most likely a mistake. It is only
/// a warning: which events a rule applies to is the rules' business
/// (effective-dated tables, LANGUAGE.md), and a replay of old events with
/// new rules, or a test run before the date, are legitimate.
pub fn not_yet_effective(release: &Release) -> Option<String> {
    not_yet_effective_on(release, crate::now().get(..10).unwrap_or(""))
}

/// [`not_yet_effective`] on `today` (`YYYY-MM-DD`).
pub fn not_yet_effective_on(release: &Release, today: &str) -> Option<String> {
    let from = release.effective_from.as_deref()?;
    // Both YYYY-MM-DD: their order as text is their order as dates.
    (today < from).then(|| {
        format!(
            "the rules {} take effect on {from} and today is {today}: they are being run before their effective date",
            release.label
        )
    })
}

/// The columns of `package_versions` a [`Release`] is read from, for a
/// query's select list (`v` is the table's alias).
pub(crate) const RELEASE_COLUMNS: &str =
    "v.rules_recorded, v.rules_name, v.rules_version, v.rules_owner, v.rules_effective_from";

/// Reads a [`Release`] from the five columns starting at `at`.
pub(crate) fn release_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Release> {
    Ok(Release::from_columns(r.get::<_, i64>(at)? != 0, r.get(at + 1)?, r.get(at + 2)?, r.get(at + 3)?, r.get(at + 4)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_package_table_is_part_of_the_hash_and_its_absence_changes_nothing() {
        let sources = vec![("a.canon".to_string(), "// a\n".to_string())];
        let pkg = ir::Package::default();
        let dir = Path::new("/nonexistent");
        let plain = package_version(&sources, &pkg, dir, None).unwrap();
        let m = |v: &str| {
            canon_runtime::manifest::parse(
                &format!("[package]\nname = \"t\"\nversion = \"{v}\"\n"),
                Path::new("canon.toml"),
            )
            .unwrap()
            .unwrap()
        };
        let one = package_version(&sources, &pkg, dir, Some(&m("1.0.0"))).unwrap();
        let two = package_version(&sources, &pkg, dir, Some(&m("1.0.1"))).unwrap();
        assert_ne!(plain, one);
        assert_ne!(one, two);
        assert_eq!(one, package_version(&sources, &pkg, dir, Some(&m("1.0.0"))).unwrap());
        assert_eq!(Release::of(Some(&m("1.0.0"))).label, "t@1.0.0");
        assert_eq!(Release::of(None).describe(), "unversioned");
        assert_eq!(Release::from_columns(false, None, None, None, None).label, "unrecorded");
        let dated = canon_runtime::manifest::parse(
            "[package]\nname = \"t\"\nversion = \"1.0.0\"\neffective_from = 2027-01-01\n",
            Path::new("canon.toml"),
        )
        .unwrap();
        let dated = Release::of(dated.as_ref());
        assert_eq!(
            not_yet_effective_on(&dated, "2026-12-31").unwrap(),
            "the rules t@1.0.0 take effect on 2027-01-01 and today is 2026-12-31: they are being run before their effective date"
        );
        assert_eq!(not_yet_effective_on(&dated, "2027-01-01"), None);
        assert_eq!(not_yet_effective_on(&Release::of(Some(&m("1.0.0"))), "2000-01-01"), None);
    }
}
