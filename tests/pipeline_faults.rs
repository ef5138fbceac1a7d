//! Faults between and during runs of the real `canon` binary on real SQLite
//! states (docs/pipeline.md, "Guarantees"): a crash between a sink append and
//! its commit, sink files appended to, truncated or rewritten by someone
//! else, state databases truncated or overwritten, a state of a newer
//! schema, and a disk that fills up in the middle of a batch. A state or
//! sink that is not what canon left is refused (exit 2) with a message that
//! names the file, before any event is processed, and is left as it is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/timesheets");
const SINKS: [&str; 2] = ["erp_posting", "payroll_staging"];

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The example's events, `copies` times over with distinct ids.
fn events(dir: &Path, copies: usize) -> PathBuf {
    let sample = std::fs::read_to_string(Path::new(EXAMPLE).join("events.jsonl")).unwrap();
    let mut out = String::new();
    for copy in 0..copies {
        for line in sample.lines() {
            let mut e: Json = serde_json::from_str(line).unwrap();
            e["id"] = format!("{}-{copy}", e["id"].as_str().unwrap()).into();
            // Each copy its own timesheet: the example posts a timesheet's first approval only.
            if let Some(t) = e["data"]["timesheetId"].as_str().map(|t| format!("{t}-{copy}")) {
                e["data"]["timesheetId"] = t.into();
            }
            out.push_str(&format!("{e}\n"));
        }
    }
    let path = dir.join("events.jsonl");
    std::fs::write(&path, out).unwrap();
    path
}

fn canon(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_canon"));
    c.args(args).env("NO_COLOR", "1").stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn process(state: &Path, input: &Path, env: &[(&str, &str)]) -> Output {
    canon(
        &["process", EXAMPLE, "--batch", "64", "--input", input.to_str().unwrap(), "--state", state.to_str().unwrap()],
        env,
    )
}

/// Every file under the state directory with its bytes.
fn snapshot(state: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut dirs = vec![state.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.file_name().unwrap() != "lock"
                && !p.to_string_lossy().ends_with("-shm")
                && !(p.to_string_lossy().ends_with("-wal") && std::fs::metadata(&p).unwrap().len() == 0)
            {
                // (SQLite's shared-memory index, and an empty WAL, hold nothing.)
                files.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// The sinks' lines: each must be whole, and no delivery id twice.
fn sink_ids(state: &Path) -> HashSet<String> {
    let mut ids = HashSet::new();
    for d in SINKS {
        let text = std::fs::read_to_string(state.join(format!("out/{d}.jsonl"))).unwrap_or_default();
        assert!(text.is_empty() || text.ends_with('\n'), "a torn line left in {d}");
        for line in text.lines() {
            let v: Json = serde_json::from_str(line).unwrap_or_else(|e| panic!("{d}: {e}: {line}"));
            let id = v["delivery_id"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "delivery id {id} twice in {d}");
        }
    }
    ids
}

/// Emits the example's reference outcomes expect for `copies` copies.
fn expected_emits(copies: usize) -> usize {
    let per_copy: usize = std::fs::read_to_string(Path::new(EXAMPLE).join("expected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap()["emits"].as_array().unwrap().len())
        .sum();
    per_copy * copies
}

/// A checkpointed state (no WAL) of `copies` copies of the example.
fn processed_state(dir: &Path, copies: usize) -> (PathBuf, PathBuf) {
    let input = events(dir, copies);
    let state = dir.join("state");
    let out = process(&state, &input, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let c = rusqlite::Connection::open(state.join("state.db")).unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(c);
    (state, input)
}

/// Runs `canon process`, `status` and `exceptions list` on a state that must
/// be refused: each exits 2 with an error naming `names` and saying `says`,
/// prints nothing on stdout, and leaves every file of the state as it was.
fn refused_by_every_command(state: &Path, input: &Path, names: &Path, says: &str) {
    let before = snapshot(state);
    let s = state.to_str().unwrap();
    for (what, out) in [
        ("process", process(state, input, &[])),
        ("status", canon(&["status", "--state", s], &[])),
        ("exceptions list", canon(&["exceptions", "list", "--state", s], &[])),
    ] {
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(&format!("`{}`", names.display())), "{what} does not name {}: {err}", names.display());
        assert!(err.contains(says), "{what}: {err}");
        assert!(out.stdout.is_empty(), "{what} printed {}", text(&out.stdout));
        let after = snapshot(state);
        assert!(before == after, "{what} changed the state's files ({} before, {} after)", before.len(), after.len());
    }
}

#[test]
fn a_state_database_truncated_or_overwritten_is_refused_and_left_as_it_is() {
    let dir = temp("damaged");
    let (good, input) = processed_state(&dir, 20);
    let db_len = std::fs::metadata(good.join("state.db")).unwrap().len() as usize;
    assert!(db_len > 200_000, "a state of some size ({db_len} bytes)");
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 4] = [
        ("truncated to half", |b| b.truncate(b.len() / 2)),
        ("truncated to its first page", |b| b.truncate(16384)),
        ("overwritten in the middle", |b| {
            let at = b.len() * 2 / 5;
            b[at..at + 20_000].fill(0xab);
        }),
        ("zeroed near its end", |b| {
            let at = b.len() * 9 / 10;
            b[at..at + 16_384].fill(0);
        }),
    ];
    for (what, damage) in damages {
        let state = dir.join(what.replace(' ', "-"));
        std::fs::create_dir_all(state.join("out")).unwrap();
        for d in SINKS {
            let f = format!("out/{d}.jsonl");
            std::fs::copy(good.join(&f), state.join(&f)).unwrap();
        }
        let mut bytes = std::fs::read(good.join("state.db")).unwrap();
        damage(&mut bytes);
        std::fs::write(state.join("state.db"), &bytes).unwrap();
        eprintln!("state.db {what}");
        refused_by_every_command(&state, &input, &state.join("state.db"), "is corrupt or not a SQLite database");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_state_of_a_newer_schema_is_refused_and_left_as_it_is() {
    let dir = temp("newer");
    let (state, input) = processed_state(&dir, 2);
    // Some committed frames left in the WAL too, as a newer canon would.
    let c = rusqlite::Connection::open(state.join("state.db")).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = WAL; UPDATE canon_schema SET version = 99;
         CREATE TABLE from_the_future (x INTEGER); INSERT INTO from_the_future VALUES (1);",
    )
    .unwrap();
    c.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).unwrap();
    drop(c);
    assert!(std::fs::metadata(state.join("state.db-wal")).unwrap().len() > 0);
    refused_by_every_command(&state, &input, &state.join("state.db"), "has state schema version 99");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A crash between a batch's sink append and its commit: the next run cuts
/// exactly that tail (whole lines, and a torn one) and delivers it again.
#[test]
fn a_crash_between_the_sink_append_and_the_commit_leaves_a_tail_that_is_cut() {
    let dir = temp("crash");
    let input = events(&dir, 4);
    let state = dir.join("state");
    let crashed = process(&state, &input, &[("CANON_TEST_CRASH_BEFORE_COMMIT", "2")]);
    assert!(!crashed.status.success(), "the run was meant to crash");
    assert!(text(&crashed.stderr).contains("CANON_TEST_CRASH_BEFORE_COMMIT"), "{}", text(&crashed.stderr));
    let committed: i64 = rusqlite::Connection::open(state.join("state.db"))
        .unwrap()
        .query_row("SELECT committed FROM sink_files WHERE destination = 'erp_posting'", [], |r| r.get(0))
        .unwrap();
    let sink = state.join("out/erp_posting.jsonl");
    let len = std::fs::metadata(&sink).unwrap().len();
    let committed = committed as u64;
    assert!(len > committed + 200, "the crashed batch's lines are there ({len} > {committed})");
    // And a torn line: the crash cut the last write short.
    std::fs::OpenOptions::new().write(true).open(&sink).unwrap().set_len(len - 37).unwrap();
    let out = process(&state, &input, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sink_ids(&state).len(), expected_emits(4));
    let again = process(&state, &input, &[]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).lines().all(|l| l.contains("\"status\":\"duplicate\"")));
    assert_eq!(sink_ids(&state).len(), expected_emits(4));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sink file changed between runs is refused before any event is
/// processed: an exit status of 2, an error that names the file and what was
/// found, nothing acknowledged, and every file of the state as it was.
#[test]
fn a_sink_file_appended_to_truncated_or_rewritten_between_runs_is_refused() {
    type Change = fn(&mut Vec<u8>);
    let changes: [(&str, bool, Change, &str); 8] = [
        (
            "a line of its own appended again",
            false,
            |b| {
                let last = b[..b.len() - 1].iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
                let line = b[last..].to_vec();
                b.extend_from_slice(&line);
            },
            "not what canon was writing there (canon was writing nothing there",
        ),
        (
            "someone else's text appended",
            false,
            |b| b.extend_from_slice(b"hello\n"),
            "appended to or changed outside canon",
        ),
        ("truncated", false, |b| b.truncate(b.len() - 10), "were delivered to it: it was truncated"),
        (
            "its last line rewritten",
            false,
            |b| {
                let n = b.len();
                b[n - 5] = b'#';
            },
            "is not what canon wrote there",
        ),
        (
            "truncated, then appended to",
            false,
            |b| {
                b.truncate(b.len() - 10);
                b.extend_from_slice(b"0000000000, \"and more\": true}\n");
            },
            "is not what canon wrote there",
        ),
        ("a crash's tail, then appended to", true, |b| b.extend_from_slice(b"hello\n"), "canon's last batch had only"),
        (
            "a crash's tail, rewritten",
            true,
            |b| {
                let n = b.len();
                b[n - 5] = b'#';
            },
            "are not the line canon was writing there",
        ),
        (
            "a crash's tail, cut and appended to",
            true,
            |b| {
                b.truncate(b.len() - 100);
                b.extend_from_slice(b"hello\n");
            },
            "are not the line canon was writing there",
        ),
    ];
    let dir = temp("sinks");
    let input = events(&dir, 4);
    for (what, after_crash, change, says) in changes {
        eprintln!("sink file {what}");
        let state = dir.join(what.replace([' ', ',', '\''], "-"));
        if after_crash {
            let out = process(&state, &input, &[("CANON_TEST_CRASH_BEFORE_COMMIT", "2")]);
            assert!(!out.status.success());
        } else {
            let out = process(&state, &input, &[]);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        }
        let sink = state.join("out/erp_posting.jsonl");
        let mut bytes = std::fs::read(&sink).unwrap();
        change(&mut bytes);
        std::fs::write(&sink, &bytes).unwrap();
        let before = snapshot(&state);
        let out = process(&state, &input, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(&format!("`{}`", sink.display())), "{what}: the error does not name the sink: {err}");
        assert!(err.contains(says), "{what}: {err}");
        assert!(out.stdout.is_empty(), "{what}: acknowledged {}", text(&out.stdout));
        assert!(snapshot(&state) == before, "{what}: the state's files changed");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The disk under a file sink fills up in the middle of a batch (a real
/// tmpfs of 64 KiB in a mount namespace of its own): the batch is not
/// committed, nothing of it is acknowledged, its lines are cut; batches
/// before it stay; once there is room, everything is delivered once.
#[test]
fn a_disk_full_in_the_middle_of_a_batch_commits_and_acknowledges_nothing_of_it() {
    let probe = Command::new("unshare").args(["--user", "--map-root-user", "--mount", "true"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no unprivileged mount namespaces (unshare --user --map-root-user --mount)");
        return;
    }
    let dir = temp("full");
    let input = events(&dir, 20);
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for e in std::fs::read_dir(EXAMPLE).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "canon") {
            std::fs::copy(&p, pkg.join(p.file_name().unwrap())).unwrap();
        }
    }
    let mnt = dir.join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::write(
        pkg.join("canon.toml"),
        format!("[sinks.erp_posting]\ntype = \"file\"\npath = \"{}/erp.jsonl\"\n", mnt.display()),
    )
    .unwrap();
    let state = dir.join("state");
    // In one mount namespace: a 64 KiB disk, a run that fills it (its
    // outcomes, exit status and the sink as it left it copied out), room
    // made, a run that completes.
    let script = r#"set -u
mount -t tmpfs -o size=64k tmpfs "$MNT"
"$CANON" process "$PKG" --data "$DATA" --batch 100 --input "$INPUT" --state "$STATE" > "$DIR/first.out" 2> "$DIR/first.err"
echo $? > "$DIR/first.code"
cp "$MNT/erp.jsonl" "$DIR/first.sink"
mount -o remount,size=16m "$MNT"
"$CANON" process "$PKG" --data "$DATA" --batch 100 --input "$INPUT" --state "$STATE" > "$DIR/second.out" 2> "$DIR/second.err"
echo $? > "$DIR/second.code"
cp "$MNT/erp.jsonl" "$DIR/second.sink"
"#;
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .env("MNT", &mnt)
        .env("CANON", env!("CARGO_BIN_EXE_canon"))
        .env("PKG", &pkg)
        .env("DATA", Path::new(EXAMPLE).join("data"))
        .env("INPUT", &input)
        .env("STATE", &state)
        .env("DIR", &dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let err = read("first.err");
    assert_eq!(read("first.code").trim(), "2", "{err}");
    assert!(err.contains("erp_posting") && err.contains("No space left on device"), "{err}");
    assert!(err.contains("nothing of the current batch was committed"), "{err}");
    // What was acknowledged is what was committed: whole batches, whose
    // lines are exactly the sink's, and the sink ends with a whole line.
    let acknowledged: Vec<Json> = read("first.out").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!acknowledged.is_empty() && acknowledged.len() < 1000, "{} acknowledged", acknowledged.len());
    assert_eq!(acknowledged.len() % 100, 0, "whole batches only");
    let first_sink = read("first.sink");
    assert!(first_sink.ends_with('\n'));
    let erp_emits = |outcomes: &[Json]| {
        outcomes
            .iter()
            .flat_map(|o| o["emits"].as_array().cloned().unwrap_or_default())
            .filter(|e| e["destination"] == "erp_posting")
            .count()
    };
    assert_eq!(first_sink.lines().count(), erp_emits(&acknowledged));
    assert!(first_sink.len() > 32_000, "the disk was nearly full when the batch failed ({} bytes)", first_sink.len());
    // With room, everything once.
    assert_eq!(read("second.code").trim(), "0", "{}", read("second.err"));
    let second: Vec<Json> = read("second.out").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(second.len(), 1000);
    assert_eq!(second.iter().filter(|o| o["status"] == "duplicate").count(), acknowledged.len());
    let sink = read("second.sink");
    assert!(sink.starts_with(&first_sink));
    let ids: HashSet<String> = sink
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap()["delivery_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), sink.lines().count(), "no line twice");
    let all_erp = erp_emits(&second) + erp_emits(&acknowledged);
    assert_eq!(sink.lines().count(), all_erp);
    let _ = std::fs::remove_dir_all(&dir);
}
