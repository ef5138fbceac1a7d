//! Crash safety of `canon process` (RUNTIME.md §4): the timesheet workload is
//! processed while the process is killed with SIGKILL at random instants and
//! restarted until it finishes. Then every expected emit is in the sinks
//! exactly once, every rejected event is in the exception queue exactly
//! once, nothing else is anywhere, and running the input again adds nothing.
//!
//! CI runs 20,000 events and 5 kills. `scripts/crash_test.sh` runs more:
//! `CANON_CRASH_EVENTS` and `CANON_CRASH_KILLS` set the sizes,
//! `CANON_CRASH_SEED` replays a run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/timesheets");

/// The oracle's golden outputs for 3,000 timesheet events (`tests/golden`).
fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/timesheets")
}

/// `n` events and the oracle's outcome line for each: the golden events over
/// and over, each round after the first with its own event ids
/// (`evt-R.K`), which the outcomes of these stateless rules do not depend on.
fn workload(n: u64, dir: &Path) -> Vec<String> {
    let events = std::fs::read_to_string(golden().join("events.jsonl")).expect("the golden events (tests/golden)");
    let expected = std::fs::read_to_string(golden().join("expected.jsonl")).expect("the golden outputs (tests/golden)");
    let pairs: Vec<(&str, &str)> = events.lines().zip(expected.lines()).collect();
    assert_eq!(pairs.len(), 3000);
    let (mut input, mut outcomes) = (String::new(), Vec::new());
    for i in 0..n as usize {
        let (event, outcome) = pairs[i % pairs.len()];
        let round = i / pairs.len();
        let rename = |s: &str, key: &str| {
            if round == 0 {
                s.to_string()
            } else {
                s.replacen(&format!("\"{key}\":\"evt-"), &format!("\"{key}\":\"evt-{round}."), 1)
            }
        };
        input.push_str(&rename(event, "id"));
        input.push('\n');
        outcomes.push(rename(outcome, "id"));
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("events.jsonl"), input).unwrap();
    outcomes
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// xorshift64*: enough randomness for kill instants, replayable from its seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `canon process` on the workload; `batch` events a commit (small batches
/// put more commits, so more crash windows, under the kills).
fn process(dir: &Path, state: &Path, stdout: Stdio, batch: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_canon"));
    c.args(["process", EXAMPLE, "--batch", &batch.to_string(), "--input"])
        .arg(dir.join("events.jsonl"))
        .arg("--data")
        .arg(golden().join("data"))
        .arg("--state")
        .arg(state)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped());
    c
}

/// (event id, destination, record) → how many times, from a sink file.
fn delivered(state: &Path, dest: &str, ids: &mut HashSet<String>) -> HashMap<(String, String, String), usize> {
    let mut seen = HashMap::new();
    let Ok(text) = std::fs::read_to_string(state.join("out").join(format!("{dest}.jsonl"))) else { return seen };
    assert!(text.is_empty() || text.ends_with('\n'), "a torn line was left in {dest}");
    for line in text.lines() {
        let v: Json = serde_json::from_str(line).unwrap_or_else(|e| panic!("{dest}: {e}: {line}"));
        let id = v["delivery_id"].as_str().unwrap().to_string();
        assert!(ids.insert(id.clone()), "delivery id {id} twice");
        let key = (v["event_id"].as_str().unwrap().to_string(), dest.to_string(), v["record"].to_string());
        *seen.entry(key).or_default() += 1;
    }
    seen
}

#[test]
fn sigkill_at_random_instants_loses_nothing_and_duplicates_nothing() {
    let events = env_or("CANON_CRASH_EVENTS", 20_000);
    let kills = env_or("CANON_CRASH_KILLS", 5);
    let seed = env_or(
        "CANON_CRASH_SEED",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1,
    );
    eprintln!("crash test: {events} events, {kills} kills, CANON_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let tmp = std::env::temp_dir().join(format!("canon-crash-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let reference = workload(events, &tmp);
    let mut want: HashMap<(String, String, String), usize> = HashMap::new();
    // About how many bytes `erp_posting.jsonl` will hold in the end.
    let mut erp_bytes = 0u64;
    let mut want_rejected: HashSet<String> = HashSet::new();
    for line in &reference {
        let o: Json = serde_json::from_str(line).unwrap();
        let id = o["id"].as_str().unwrap().to_string();
        match o["status"].as_str().unwrap() {
            "accepted" => {
                for e in o["emits"].as_array().unwrap() {
                    if e["destination"] == "erp_posting" {
                        erp_bytes += e["record"].to_string().len() as u64 + 100;
                    }
                    let key = (id.clone(), e["destination"].as_str().unwrap().to_string(), e["record"].to_string());
                    *want.entry(key).or_default() += 1;
                }
            }
            "rejected" => {
                want_rejected.insert(id);
            }
            other => panic!("unexpected status {other} from the reference"),
        }
    }

    // Kill, restart, kill... each at a random instant once the run has
    // committed new events, the instants spread over the whole run (a
    // restart first re-reads the events already processed: duplicates).
    let state = tmp.join("state");
    let sink = state.join("out/erp_posting.jsonl");
    let size = || std::fs::metadata(&sink).map(|m| m.len()).unwrap_or(0);
    let start = Instant::now();
    let mut interrupted = 0;
    for k in 0..kills {
        let batch = [16, 64, 256, 8192][rng.below(4) as usize];
        let before = size();
        let step = 2 * erp_bytes.saturating_sub(before) / (kills - k + 1);
        let target = before + 1 + rng.below(step.max(1));
        let mut child = process(&tmp, &state, Stdio::null(), batch).spawn().unwrap();
        let waiting = Instant::now();
        while size() < target && waiting.elapsed() < Duration::from_secs(120) && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.below(20)));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        if std::env::var("CANON_CRASH_VERBOSE").is_ok() {
            eprintln!("batch {batch}: killed with {} bytes in the sink", size());
        }
    }
    let finish = process(&tmp, &state, Stdio::null(), 8192).output().unwrap();
    assert_eq!(finish.status.code(), Some(0), "{}", String::from_utf8_lossy(&finish.stderr));
    eprintln!("{interrupted} of {kills} kills interrupted a run; {:.1} s in all", start.elapsed().as_secs_f64());
    assert!(interrupted * 2 >= kills, "too few kills hit a running process ({interrupted} of {kills})");

    // Every expected emit exactly once, nothing else.
    let mut ids = HashSet::new();
    let mut got = delivered(&state, "erp_posting", &mut ids);
    for (k, v) in delivered(&state, "payroll_staging", &mut ids) {
        *got.entry(k).or_default() += v;
    }
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).take(3).collect();
    assert!(
        missing.is_empty(),
        "{} emits missing, e.g. {missing:?}",
        want.keys().filter(|k| !got.contains_key(*k)).count()
    );
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).take(3).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).take(3).collect();
    assert!(extra.is_empty(), "unexpected deliveries: {extra:?}");
    assert_eq!(got, want);

    // Every rejected event exactly once in the queue, nothing else.
    let list = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["exceptions", "list", "--format", "json", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(list.status.success());
    let items: Vec<Json> = serde_json::from_slice(&list.stdout).unwrap();
    let queued: Vec<String> = items.iter().map(|i| i["event_id"].as_str().unwrap().to_string()).collect();
    let unique: HashSet<String> = queued.iter().cloned().collect();
    assert_eq!(unique.len(), queued.len(), "an event is in the queue twice");
    assert_eq!(unique, want_rejected);

    // The ledger agrees, and no run is left pending.
    let status = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["status", "--format", "json", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let s: Json = serde_json::from_slice(&status.stdout).unwrap();
    let by_type = &s["events"]["by_type"]["com.acme.timesheet.approved"];
    assert_eq!(by_type["rejected"].as_u64().unwrap() as usize, want_rejected.len());
    assert_eq!(by_type["accepted"].as_u64().unwrap() + by_type["rejected"].as_u64().unwrap(), events);
    for d in s["destinations"].as_object().unwrap().values() {
        assert_eq!(d["pending"], 0);
        assert_eq!(d["accepted"], d["delivered"]);
    }

    // The same input again adds nothing: every outcome is a duplicate.
    let before: Vec<Vec<u8>> = ["erp_posting", "payroll_staging"]
        .iter()
        .map(|d| std::fs::read(state.join(format!("out/{d}.jsonl"))).unwrap())
        .collect();
    let again = process(&tmp, &state, Stdio::piped(), 8192).output().unwrap();
    assert!(again.status.success());
    let outcomes = String::from_utf8(again.stdout).unwrap();
    assert_eq!(outcomes.lines().count() as u64, events);
    assert!(outcomes.lines().all(|l| l.contains("\"status\":\"duplicate\"")));
    let after: Vec<Vec<u8>> = ["erp_posting", "payroll_staging"]
        .iter()
        .map(|d| std::fs::read(state.join(format!("out/{d}.jsonl"))).unwrap())
        .collect();
    assert!(before == after, "the sinks changed on a second run");
    let list = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["exceptions", "list", "--format", "json", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(serde_json::from_slice::<Vec<Json>>(&list.stdout).unwrap().len(), items.len());
    let _ = std::fs::remove_dir_all(&tmp);
}
