//! What Canon stores is what the business guards (pay rates, labour cost,
//! client billing): the state directory is created `0700` and every file
//! Canon creates in it or for a file sink `0600`, whatever the umask; a state
//! that other accounts can read or write is reported (docs/pipeline.md,
//! "Security").

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The mode of the directories Canon creates.
pub const DIR_MODE: u32 = 0o700;
/// The mode of the files Canon creates.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing parent, each `0700` (the umask may only
/// take bits away, so the last one is set explicitly too).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
}

/// Opens a file for writing as `options` says, creating it `0600` if it is
/// not there (an existing file keeps its mode: [`exposed`] reports it).
pub fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let existed = path.exists();
    let file = options.mode(FILE_MODE).open(path)?;
    if !existed {
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(file)
}

/// Creates an empty file `0600` if it is not there (so that SQLite, which
/// gives its WAL and shared-memory files the database's mode, makes them
/// `0600` too).
pub fn touch(path: &Path) -> io::Result<()> {
    open(path, OpenOptions::new().write(true).create(true).truncate(false)).map(drop)
}

/// A path other accounts can read or write, with its mode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Exposed {
    pub path: PathBuf,
    pub mode: u32,
}

impl std::fmt::Display for Exposed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:04o})", self.path.display(), self.mode & 0o7777)
    }
}

/// The state directory and the files Canon keeps in it (database, WAL,
/// shared memory, lock, sink intent, default sink files) that group or
/// others may read or write.
pub fn exposed(dir: &Path) -> Vec<Exposed> {
    let mut paths = vec![dir.to_path_buf()];
    for name in [crate::state::DB_FILE, "state.db-wal", "state.db-shm", "lock", crate::sink::INTENT_FILE] {
        paths.push(dir.join(name));
    }
    let out = dir.join("out");
    paths.push(out.clone());
    if let Ok(entries) = std::fs::read_dir(&out) {
        let mut sinks: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        sinks.sort();
        paths.extend(sinks);
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let meta = std::fs::symlink_metadata(&path).ok()?;
            let mode = meta.permissions().mode();
            (mode & 0o077 != 0).then_some(Exposed { path, mode })
        })
        .collect()
}

/// The warning for an exposed state: every path, and the fix.
pub fn warning(dir: &Path, exposed: &[Exposed]) -> String {
    let list: Vec<String> = exposed.iter().map(|e| format!("  {e}")).collect();
    format!(
        "warning: other accounts can read or write this state, which holds every event with its pay and cost data:\n{}\n  fix: chmod 700 {} && chmod -R go-rwx {}",
        list.join("\n"),
        dir.display(),
        dir.display()
    )
}
