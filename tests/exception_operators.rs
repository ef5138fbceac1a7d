//! `exceptions retry` and `resolve` record who worked the item (the
//! operating-system user) and when; `exceptions show` shows it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/timesheets");

fn canon(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_canon")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn show(state: &str, id: &str) -> serde_json::Value {
    serde_json::from_slice(&canon(&["exceptions", "show", id, "--format", "json", "--state", state]).stdout).unwrap()
}

#[test]
fn retry_and_resolve_record_the_user_and_the_time() {
    let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().to_string();
    assert!(!me.is_empty());
    let dir = std::env::temp_dir().join(format!("canon-operators-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = dir.join("state");
    let s = state.to_str().unwrap();
    canon(&["process", EXAMPLE, "--input", &format!("{EXAMPLE}/events.jsonl"), "--state", s]);
    let fresh = show(s, "1");
    assert_eq!(fresh["updated_by"], serde_json::Value::Null);
    assert_eq!(fresh["resolved_by"], serde_json::Value::Null);

    canon(&["exceptions", "retry", "1", "--state", s]);
    let retried = show(s, "1");
    assert_eq!(retried["status"], "open");
    assert_eq!(retried["updated_by"], me.as_str());
    assert_eq!(retried["history"][0]["by"], serde_json::Value::Null, "the first evaluation was canon process's");

    canon(&["exceptions", "retry", "1", "--state", s]);
    assert_eq!(show(s, "1")["history"][1]["by"], me.as_str());

    canon(&["exceptions", "resolve", "1", "--note", "posted by hand", "--state", s]);
    let resolved = show(s, "1");
    assert_eq!(resolved["resolved_by"], me.as_str());
    assert_eq!(resolved["resolved_at"], resolved["updated_at"]);
    let text = String::from_utf8(canon(&["exceptions", "show", "1", "--state", s]).stdout).unwrap();
    assert!(text.contains(&format!("resolved     by {me} at ")), "{text}");
    assert!(text.contains(&format!("(retried by {me})")), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
