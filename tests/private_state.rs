//! The state and the file sinks are private to their owner: created `0700`
//! and `0600` whatever the umask, and a state others can read is reported
//! by every command that opens it, and by `canon status`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/timesheets");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-private-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `canon ARGS` under a umask that takes nothing away.
fn canon_open_umask(args: &[&str]) -> Output {
    let mut script = String::from("umask 000; exec \"$0\"");
    for (i, _) in args.iter().enumerate() {
        script.push_str(&format!(" \"${}\"", i + 1));
    }
    Command::new("sh").arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_canon")).args(args).output().unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn all_paths(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

#[test]
fn state_and_sinks_are_private_whatever_the_umask() {
    let tmp = scratch("umask");
    let state = tmp.join("a/b/state");
    let events = format!("{EXAMPLE}/events.jsonl");
    let out = canon_open_umask(&["process", EXAMPLE, "--input", &events, "--state", state.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "{}", String::from_utf8_lossy(&out.stderr));
    let paths = all_paths(&state);
    for name in ["state.db", "state.db-wal", "state.db-shm", "lock", "sinks.pending", "out/erp_posting.jsonl"] {
        assert!(paths.contains(&state.join(name)), "{name} missing: {paths:?}");
    }
    for p in &paths {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(p), want, "{}", p.display());
    }
    // Each directory Canon made on the way too.
    assert_eq!(mode(&tmp.join("a")), 0o700);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_state_others_can_read_is_reported_with_the_fix() {
    let tmp = scratch("exposed");
    let state = tmp.join("state");
    let s = state.to_str().unwrap();
    let events = format!("{EXAMPLE}/events.jsonl");
    let canon = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_canon")).args(args).output().unwrap();
    assert!(canon(&["process", EXAMPLE, "--input", &events, "--state", s]).status.success());
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(state.join("state.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [
        vec!["status", "--state", s],
        vec!["exceptions", "list", "--state", s],
        vec!["process", EXAMPLE, "--input", &events, "--state", s],
    ] {
        let out = canon(&args);
        assert!(out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("warning: other accounts can read or write").count(), 1, "{args:?}: {err}");
        assert!(err.contains(&format!("{s} (0755)")), "{err}");
        assert!(err.contains(&format!("{s}/state.db (0644)")), "{err}");
        assert!(err.contains(&format!("chmod 700 {s}")), "{err}");
    }
    let status = canon(&["status", "--state", s]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("not private"));
    let json = canon(&["status", "--state", s, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let exposed: Vec<&str> = v["exposed"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(exposed, [s.to_string(), format!("{s}/state.db")]);
    // Fixed as the warning says: quiet again.
    assert!(Command::new("sh")
        .arg("-c")
        .arg(format!("chmod 700 {s} && chmod -R go-rwx {s}"))
        .status()
        .unwrap()
        .success());
    let out = canon(&["status", "--state", s, "--format", "json"]);
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exposed"], serde_json::json!([]));
    let _ = std::fs::remove_dir_all(&tmp);
}
