//! `canon run` with state (RUNTIME.md §7.1), end to end through the binary,
//! on both engines: a run continues from its snapshot, `--threads` changes
//! nothing, `--explain` shows reads and writes, and a bad snapshot stops the
//! run before any event with the file and line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::Output;

mod common;
use common::canon;

const PKG: &str = "tests/conformance/s01-state-sequence";
const ENGINES: [&str; 2] = ["interp", "jit"];

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-state-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` events of the s01 package on `keys` counters: bumps (some negative,
/// so rejected), peeks, and now and then an invalid line, deterministic.
fn events(n: usize, keys: usize) -> String {
    let mut s = String::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = format!("k{}", x % keys as u64);
        let line = match (x >> 8) % 10 {
            0..=5 => {
                let by = ((x >> 16) % 7) as i64 - 1;
                format!(
                    r#"{{"specversion":"1.0","id":"e{i}","source":"t","type":"bump","data":{{"name":"{key}","by":{by}}}}}"#
                )
            }
            6..=8 => {
                format!(r#"{{"specversion":"1.0","id":"e{i}","source":"t","type":"peek","data":{{"name":"{key}"}}}}"#)
            }
            _ => "{\"not\": \"an event\"}".to_string(),
        };
        s.push_str(&line);
        s.push('\n');
    }
    s
}

fn run(engine: &str, input: &std::path::Path, extra: &[&str]) -> Output {
    let mut args = vec!["run", PKG, "--engine", engine, "--input", input.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = canon(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The outcome lines without their line numbers.
fn without_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("line");
            v
        })
        .collect()
}

#[test]
fn a_run_continues_from_its_snapshot() {
    let dir = temp("continue");
    let all = events(600, 40);
    let lines: Vec<&str> = all.lines().collect();
    let (a, b) = lines.split_at(250);
    let (whole, first, second) = (dir.join("all.jsonl"), dir.join("a.jsonl"), dir.join("b.jsonl"));
    std::fs::write(&whole, all.as_bytes()).unwrap();
    std::fs::write(&first, a.join("\n") + "\n").unwrap();
    std::fs::write(&second, b.join("\n") + "\n").unwrap();
    for engine in ENGINES {
        let (s_all, s1, s2) = (dir.join("s-all.jsonl"), dir.join("s1.jsonl"), dir.join("s2.jsonl"));
        let full = run(engine, &whole, &["--state-out", s_all.to_str().unwrap()]);
        let one = run(engine, &first, &["--state-out", s1.to_str().unwrap()]);
        let two = run(engine, &second, &["--state-in", s1.to_str().unwrap(), "--state-out", s2.to_str().unwrap()]);
        let mut split = without_lines(&one.stdout);
        split.extend(without_lines(&two.stdout));
        assert_eq!(without_lines(&full.stdout), split, "{engine}: outcomes");
        let (sa, sb) = (std::fs::read_to_string(&s_all).unwrap(), std::fs::read_to_string(&s2).unwrap());
        assert_eq!(sa, sb, "{engine}: the snapshot after both halves is the snapshot after one run");
        assert!(sa.lines().count() > 10, "the workload leaves state: {sa}");
        // The snapshot is sorted by key, one record a line.
        let keys: Vec<String> = sa.lines().map(|l| l.split("\"record\"").next().unwrap().to_string()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        // --state-in and --state-out may name one file.
        std::fs::copy(&s1, dir.join("same.jsonl")).unwrap();
        let same = dir.join("same.jsonl");
        run(engine, &second, &["--state-in", same.to_str().unwrap(), "--state-out", same.to_str().unwrap()]);
        assert_eq!(std::fs::read_to_string(&same).unwrap(), sa, "{engine}: in place");
    }
}

#[test]
fn threads_change_nothing() {
    let dir = temp("threads");
    let input = dir.join("events.jsonl");
    std::fs::write(&input, events(5000, 25)).unwrap();
    for engine in ENGINES {
        let (s1, s4) = (dir.join("s1.jsonl"), dir.join("s4.jsonl"));
        let one = run(engine, &input, &["--threads", "1", "--state-out", s1.to_str().unwrap()]);
        let four = run(engine, &input, &["--threads", "4", "--state-out", s4.to_str().unwrap()]);
        assert!(one.stdout == four.stdout, "{engine}: outcomes differ with --threads 4");
        assert_eq!(std::fs::read(&s1).unwrap(), std::fs::read(&s4).unwrap(), "{engine}: snapshots differ");
    }
    // And both engines agree.
    let i = run("interp", &input, &[]);
    let j = run("jit", &input, &[]);
    assert!(i.stdout == j.stdout, "the engines differ");
}

#[test]
fn explain_shows_reads_and_writes() {
    let dir = temp("explain");
    let input = dir.join("events.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"specversion":"1.0","id":"e1","source":"t","type":"bump","data":{"name":"a","by":2}}"#,
            "\n",
            r#"{"specversion":"1.0","id":"e2","source":"t","type":"bump","data":{"name":"a","by":-1}}"#,
            "\n"
        ),
    )
    .unwrap();
    for engine in ENGINES {
        let out = run(engine, &input, &["--explain"]);
        let lines: Vec<serde_json::Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let trace = lines[0]["trace"].as_array().unwrap();
        assert_eq!(trace[0], serde_json::json!({"kind":"state_read","state":"counters","key":"a","found":false}));
        assert_eq!(
            trace[1],
            serde_json::json!({"kind":"write","state":"counters","key":"a","before":null,
                "after":{"name":"a","n":2,"last":"e1"},"at":"ledger.canon:13"})
        );
        // The rejected event's trace shows the write it made; none was applied.
        assert_eq!(lines[1]["status"], "rejected");
        let w = lines[1]["trace"].as_array().unwrap().iter().find(|t| t["kind"] == "write").unwrap().clone();
        assert_eq!(w["before"], serde_json::json!({"name":"a","n":2,"last":"e1"}));
        assert_eq!(w["after"], serde_json::json!({"name":"a","n":1,"last":"e2"}));
    }
}

#[test]
fn a_bad_snapshot_stops_the_run_before_any_event() {
    let dir = temp("bad");
    let input = dir.join("events.jsonl");
    std::fs::write(&input, events(5, 2)).unwrap();
    let good = r#"{"state":"counters","key":["a"],"record":{"name":"a","n":1,"last":null}}"#;
    let cases = [
        ("not json", "line 2: not a JSON object"),
        (r#"{"state":"nope","key":["a"],"record":{}}"#, "line 2: the package declares no state `nope`"),
        (r#"{"state":"counters","key":["b"],"record":{"name":"b","n":"x"}}"#, "line 2: /record/n"),
        (
            r#"{"state":"counters","key":["z"],"record":{"name":"b","n":1}}"#,
            "line 2: `key` [\"z\"] is not the record's key",
        ),
        (good, "line 2: state `counters` has key [\"a\"] twice"),
        (r#"{"key":["b"],"record":{}}"#, "line 2: no `state`"),
    ];
    for (bad, why) in cases {
        let snap = dir.join("snap.jsonl");
        std::fs::write(&snap, format!("{good}\n{bad}\n")).unwrap();
        for engine in ENGINES {
            let out = canon(&[
                "run",
                PKG,
                "--engine",
                engine,
                "--input",
                input.to_str().unwrap(),
                "--state-in",
                snap.to_str().unwrap(),
            ]);
            assert_eq!(out.status.code(), Some(1), "{bad}");
            assert!(out.stdout.is_empty(), "no event ran: {}", String::from_utf8_lossy(&out.stdout));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(&format!("snap.jsonl:{}", &why[5..])), "{bad}: {err}");
        }
    }
    // A missing snapshot file is an I/O error (exit 2).
    let out = canon(&["run", PKG, "--input", input.to_str().unwrap(), "--state-in", "/nonexistent/snap.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_snapshot_round_trips_every_kind_of_value() {
    let pkg = "tests/conformance/s02-state-update-delete";
    let dir = temp("roundtrip");
    let input = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(pkg).join("events.jsonl");
    for engine in ENGINES {
        let (s1, s2) = (dir.join("s1.jsonl"), dir.join("s2.jsonl"));
        let out = canon(&[
            "run",
            pkg,
            "--engine",
            engine,
            "--input",
            input.to_str().unwrap(),
            "--state-out",
            s1.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0));
        let empty = dir.join("empty.jsonl");
        std::fs::write(&empty, "").unwrap();
        let out = canon(&[
            "run",
            pkg,
            "--engine",
            engine,
            "--input",
            empty.to_str().unwrap(),
            "--state-in",
            s1.to_str().unwrap(),
            "--state-out",
            s2.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&s1).unwrap();
        assert_eq!(text, std::fs::read_to_string(&s2).unwrap());
        assert_eq!(
            text,
            "{\"state\":\"accounts\",\"key\":[\"US\",1],\"record\":{\"entity\":\"US\",\"number\":1,\"owner\":{\"name\":\"Ann\",\"tier\":\"Gold\"},\"balance\":{\"amount\":\"120.50\",\"currency\":\"USD\"},\"tags\":[],\"closed_on\":null}}\n"
        );
    }
}
