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
/// A package with state over the same events.
const STATEFUL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pipeline_state");

/// The oracle's golden outputs for 3,000 timesheet events (`tests/golden`).
fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/timesheets")
}

/// `n` events and the oracle's outcome line for each: the golden events over
/// and over, each round after the first with its own event ids
/// (`evt-R.K`) and timesheet ids (`TS-R.K`, so every approval is a first one).
fn workload(n: u64, dir: &Path) -> Vec<String> {
    let events = std::fs::read_to_string(golden().join("events.jsonl")).expect("the golden events (tests/golden)");
    let expected = std::fs::read_to_string(golden().join("expected.jsonl")).expect("the golden outputs (tests/golden)");
    let pairs: Vec<(&str, &str)> = events.lines().zip(expected.lines()).collect();
    assert_eq!(pairs.len(), 3000);
    let (mut input, mut outcomes) = (String::new(), Vec::new());
    for i in 0..n as usize {
        let (event, outcome) = pairs[i % pairs.len()];
        let round = i / pairs.len();
        // Each round its own timesheets too: the example posts a timesheet's first approval only.
        input.push_str(&rename(&rename(event, "id", "evt-", round), "timesheetId", "TS-", round));
        input.push('\n');
        outcomes.push(rename(&rename(outcome, "id", "evt-", round), "journalId", "JE-TS-", round));
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("events.jsonl"), input).unwrap();
    outcomes
}

/// `s` with the value of `key` that starts with `prefix` given round `round`'s prefix (`evt-R.`).
fn rename(s: &str, key: &str, prefix: &str, round: usize) -> String {
    if round == 0 {
        s.to_string()
    } else {
        s.replacen(&format!("\"{key}\":\"{prefix}"), &format!("\"{key}\":\"{prefix}{round}."), 1)
    }
}

/// `n` events for the package with state (`tests/pipeline_state`): the golden
/// events over and over, each round with its own event ids; the timesheets
/// of rounds 3k are approved again by rounds 3k+1 (counted) and 3k+2
/// (rejected: their writes dropped).
fn stateful_workload(n: u64, dir: &Path) {
    let events = std::fs::read_to_string(golden().join("events.jsonl")).expect("the golden events (tests/golden)");
    let lines: Vec<&str> = events.lines().collect();
    let mut input = String::new();
    for i in 0..n as usize {
        let round = i / lines.len();
        let sheets = round - round % 3;
        let event = rename(lines[i % lines.len()], "id", "evt-", round);
        input.push_str(&rename(&event, "timesheetId", "TS-", sheets));
        input.push('\n');
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("events.jsonl"), input).unwrap();
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

/// `canon process` of `package` on the workload; `batch` events a commit
/// (small batches put more commits, so more crash windows, under the kills).
fn process(package: &str, dir: &Path, state: &Path, stdout: Stdio, batch: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_canon"));
    c.args(["process", package, "--batch", &batch.to_string(), "--input"])
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

/// The emits and rejected events that outcome lines expect: (event id,
/// destination, record) → how many times; the ids of rejected events; about
/// how many bytes `sink`'s file will hold.
type Expected = (HashMap<(String, String, String), usize>, HashSet<String>, u64);

fn expected(outcomes: &[String], sink: &str) -> Expected {
    let mut want: HashMap<(String, String, String), usize> = HashMap::new();
    let mut sink_bytes = 0u64;
    let mut want_rejected: HashSet<String> = HashSet::new();
    for line in outcomes {
        let o: Json = serde_json::from_str(line).unwrap();
        let id = o["id"].as_str().unwrap().to_string();
        match o["status"].as_str().unwrap() {
            "accepted" => {
                for e in o["emits"].as_array().unwrap() {
                    if e["destination"] == sink {
                        sink_bytes += e["record"].to_string().len() as u64 + 100;
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
    (want, want_rejected, sink_bytes)
}

/// Runs `canon process` of `package` on `tmp/events.jsonl` into `state`,
/// killing it with SIGKILL `kills` times at random instants once it has
/// committed new events (watching `sink`'s file grow towards about
/// `sink_bytes`), each run with a batch size drawn from `batches`, then lets
/// it finish.
#[allow(clippy::too_many_arguments)]
fn kill_and_restart(
    package: &str,
    tmp: &Path,
    state: &Path,
    sink: &str,
    sink_bytes: u64,
    kills: u64,
    batches: &[u64],
    rng: &mut Rng,
) {
    // Kill, restart, kill... each at a random instant once the run has
    // committed new events, the instants spread over the whole run (a
    // restart first re-reads the events already processed: duplicates).
    let sink = state.join(format!("out/{sink}.jsonl"));
    let size = || std::fs::metadata(&sink).map(|m| m.len()).unwrap_or(0);
    let start = Instant::now();
    let mut interrupted = 0;
    for k in 0..kills {
        let batch = batches[rng.below(batches.len() as u64) as usize];
        let before = size();
        let step = 2 * sink_bytes.saturating_sub(before) / (kills - k + 1);
        let target = before + 1 + rng.below(step.max(1));
        let mut child = process(package, tmp, state, Stdio::null(), batch).spawn().unwrap();
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
    let finish = process(package, tmp, state, Stdio::null(), 8192).output().unwrap();
    assert_eq!(finish.status.code(), Some(0), "{}", String::from_utf8_lossy(&finish.stderr));
    eprintln!("{interrupted} of {kills} kills interrupted a run; {:.1} s in all", start.elapsed().as_secs_f64());
    assert!(interrupted * 2 >= kills, "too few kills hit a running process ({interrupted} of {kills})");
}

/// Every expected emit is in the sinks exactly once and nothing else is,
/// every rejected event is in the exception queue exactly once and nothing
/// else is, the ledger agrees, and the same input again adds nothing.
fn check_exactly_once(package: &str, tmp: &Path, state: &Path, sinks: &[&str], expected: &Expected, events: u64) {
    let (want, want_rejected, _) = expected;
    // Every expected emit exactly once, nothing else.
    let mut ids = HashSet::new();
    let mut got: HashMap<(String, String, String), usize> = HashMap::new();
    for sink in sinks {
        for (k, v) in delivered(state, sink, &mut ids) {
            *got.entry(k).or_default() += v;
        }
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
    assert_eq!(&got, want);

    // Every rejected event exactly once in the queue, nothing else.
    let list = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["exceptions", "list", "--format", "json", "--state"])
        .arg(state)
        .output()
        .unwrap();
    assert!(list.status.success());
    let items: Vec<Json> = serde_json::from_slice(&list.stdout).unwrap();
    let queued: Vec<String> = items.iter().map(|i| i["event_id"].as_str().unwrap().to_string()).collect();
    let unique: HashSet<String> = queued.iter().cloned().collect();
    assert_eq!(unique.len(), queued.len(), "an event is in the queue twice");
    assert_eq!(&unique, want_rejected);

    // The ledger agrees, and no run is left pending.
    let status = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["status", "--format", "json", "--state"])
        .arg(state)
        .output()
        .unwrap();
    let s: Json = serde_json::from_slice(&status.stdout).unwrap();
    let by_type = &s["events"]["by_type"]["com.acme.timesheet.approved"];
    assert_eq!(by_type["rejected"].as_u64().unwrap_or(0) as usize, want_rejected.len());
    assert_eq!(by_type["accepted"].as_u64().unwrap_or(0) + by_type["rejected"].as_u64().unwrap_or(0), events);
    for d in s["destinations"].as_object().unwrap().values() {
        assert_eq!(d["pending"], 0);
        assert_eq!(d["accepted"], d["delivered"]);
    }

    // The same input again adds nothing: every outcome is a duplicate.
    let sink_bytes = || -> Vec<Vec<u8>> {
        sinks.iter().map(|d| std::fs::read(state.join(format!("out/{d}.jsonl"))).unwrap_or_default()).collect()
    };
    let before = sink_bytes();
    let again = process(package, tmp, state, Stdio::piped(), 8192).output().unwrap();
    assert!(again.status.success());
    let outcomes = String::from_utf8(again.stdout).unwrap();
    assert_eq!(outcomes.lines().count() as u64, events);
    assert!(outcomes.lines().all(|l| l.contains("\"status\":\"duplicate\"")));
    assert!(before == sink_bytes(), "the sinks changed on a second run");
    let list = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["exceptions", "list", "--format", "json", "--state"])
        .arg(state)
        .output()
        .unwrap();
    assert_eq!(serde_json::from_slice::<Vec<Json>>(&list.stdout).unwrap().len(), items.len());
}

fn seed_and_sizes() -> (u64, u64, u64) {
    let events = env_or("CANON_CRASH_EVENTS", 20_000);
    let kills = env_or("CANON_CRASH_KILLS", 5);
    let seed = env_or(
        "CANON_CRASH_SEED",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1,
    );
    (events, kills, seed)
}

#[test]
fn sigkill_at_random_instants_loses_nothing_and_duplicates_nothing() {
    let (events, kills, seed) = seed_and_sizes();
    eprintln!("crash test: {events} events, {kills} kills, CANON_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let tmp = std::env::temp_dir().join(format!("canon-crash-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let reference = workload(events, &tmp);
    let expected = expected(&reference, "erp_posting");
    let state = tmp.join("state");
    kill_and_restart(EXAMPLE, &tmp, &state, "erp_posting", expected.2, kills, &[16, 64, 256, 8192], &mut rng);
    check_exactly_once(EXAMPLE, &tmp, &state, &["erp_posting", "payroll_staging"], &expected, events);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The package with state (`tests/pipeline_state`): killed at random
/// instants and restarted, `canon process` applies every accepted event's
/// writes exactly once, in input order: its outcomes and emits are those of
/// `canon run`, and its state, exported, is byte for byte what `canon run
/// --state-out` writes of the same events; the metric cells it kept equal
/// those computed again from the records.
#[test]
fn sigkill_with_state_applies_every_write_once_in_order() {
    let (events, kills, seed) = seed_and_sizes();
    // The interpreter evaluates a package with state, one event after another.
    let events = (events / 2).max(1);
    eprintln!("crash test with state: {events} events, {kills} kills, CANON_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let tmp = std::env::temp_dir().join(format!("canon-crash-state-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    stateful_workload(events, &tmp);
    let run = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["run", STATEFUL, "--input"])
        .arg(tmp.join("events.jsonl"))
        .arg("--state-out")
        .arg(tmp.join("run-state.jsonl"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let reference: Vec<String> = String::from_utf8(run.stdout).unwrap().lines().map(str::to_string).collect();
    let expected = expected(&reference, "totals");
    assert!(!expected.1.is_empty() && expected.0.len() > expected.1.len(), "the workload accepts and rejects");
    let state = tmp.join("state");
    // Half as many events: batches small enough that a run commits often.
    kill_and_restart(STATEFUL, &tmp, &state, "totals", expected.2, kills, &[16, 64, 256, 1024], &mut rng);
    check_exactly_once(STATEFUL, &tmp, &state, &["totals"], &expected, events);

    // The state: what `canon run --state-out` wrote, byte for byte.
    let export =
        Command::new(env!("CARGO_BIN_EXE_canon")).args(["state", "export", "--state"]).arg(&state).output().unwrap();
    assert_eq!(export.status.code(), Some(0), "{}", String::from_utf8_lossy(&export.stderr));
    let want = std::fs::read(tmp.join("run-state.jsonl")).unwrap();
    assert!(!want.is_empty());
    assert!(export.stdout == want, "the state after the kills is not the state of `canon run`");

    // The metric cells kept through the kills equal the metrics computed
    // again from the records (a state whose cells another version kept).
    let status = |dir: &Path| -> Json {
        let out = Command::new(env!("CARGO_BIN_EXE_canon"))
            .args(["status", "--format", "json", "--as-of", "2026-11-20T00:00:00Z", "--state"])
            .arg(dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Json>(&out.stdout).unwrap()["metrics"].clone()
    };
    let kept = status(&state);
    assert!(kept.as_array().is_some_and(|m| m.len() == 6), "{kept}");
    let copy = tmp.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["state.db", "state.db-wal"] {
        if state.join(f).exists() {
            std::fs::copy(state.join(f), copy.join(f)).unwrap();
        }
    }
    let conn = rusqlite::Connection::open(copy.join("state.db")).unwrap();
    assert_eq!(conn.execute("UPDATE state_packages SET metrics_version = 'another'", []).unwrap(), 1);
    drop(conn);
    assert_eq!(kept, status(&copy));
    let _ = std::fs::remove_dir_all(&tmp);
}
