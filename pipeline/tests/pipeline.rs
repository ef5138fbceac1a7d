//! The durable pipeline through its library API, on the timesheet example:
//! the idempotency ledger, the file and HTTP sinks, the exception queue,
//! reconciliation, and state directories that are not what they should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canon_pipeline::exceptions::{self, Filter, Selection};
use canon_pipeline::{process, Config, Error, Options, Rules, State};
use serde_json::Value as Json;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/timesheets");

/// A copy of the timesheet example (sources and data) in a temporary directory.
fn package(tmp: &Path) -> PathBuf {
    let dir = tmp.join("pkg");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    for entry in std::fs::read_dir(EXAMPLE).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "canon") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    for f in ["projects.csv", "fx.csv"] {
        std::fs::copy(Path::new(EXAMPLE).join("data").join(f), dir.join("data").join(f)).unwrap();
    }
    dir
}

fn rules(pkg: &Path) -> Rules {
    let loaded = canon_runtime::load(pkg).unwrap();
    assert!(!loaded.has_errors());
    let data = loaded.data_dir();
    let tables = canon_runtime::Tables::load(&loaded.package(), &data, false).unwrap();
    Rules::new(&loaded, tables, &data, canon_jit::Backend::Jit).unwrap()
}

fn opts() -> Options {
    Options { batch_events: 16, batch_latency: Duration::from_millis(50), input_name: "test".into(), workers: 2 }
}

/// Processes `input`; returns the summary and the outcome lines as JSON.
fn run(state: &mut State, rules: &Rules, input: &str) -> (canon_pipeline::Summary, Vec<Json>) {
    let mut out = Vec::new();
    let s = process(
        state,
        rules,
        Box::new(std::io::Cursor::new(input.to_string().into_bytes())),
        &mut out,
        &opts(),
        &mut |_| {},
    )
    .unwrap();
    let lines = String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (s, lines)
}

fn sample_events() -> String {
    std::fs::read_to_string(Path::new(EXAMPLE).join("events.jsonl")).unwrap()
}

fn sink_lines(state_dir: &Path, dest: &str) -> Vec<Json> {
    match std::fs::read_to_string(state_dir.join("out").join(format!("{dest}.jsonl"))) {
        Ok(t) => t.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Replaces the event `evt-N` line's `hours`.
fn with_hours(line: &str, hours: &str) -> String {
    let mut v: Json = serde_json::from_str(line).unwrap();
    v["data"]["hours"] = Json::String(hours.into());
    v.to_string()
}

#[test]
fn outcomes_match_the_interpreter_and_a_second_run_is_all_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    let mut state = State::open(&state_dir).unwrap();
    let events = sample_events();
    let (s, lines) = run(&mut state, &rules, &events);
    // The same lines `canon run` would print.
    let engine = rules.evaluator();
    for (i, (line, got)) in events.lines().zip(&lines).enumerate() {
        let mut want = String::new();
        engine.write_outcome(&engine.evaluate(i as u64 + 1, line), &mut want);
        assert_eq!(got, &serde_json::from_str::<Json>(&want).unwrap());
    }
    let expected: Vec<Json> = std::fs::read_to_string(Path::new(EXAMPLE).join("expected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let accepted = expected.iter().filter(|o| o["status"] == "accepted").count() as u64;
    assert_eq!(s.counts.accepted, accepted);
    assert_eq!(s.counts.rejected, expected.len() as u64 - accepted);
    let emits: usize = expected.iter().map(|o| o["emits"].as_array().unwrap().len()).sum();
    let delivered = sink_lines(&state_dir, "erp_posting").len() + sink_lines(&state_dir, "payroll_staging").len();
    assert_eq!(delivered, emits);

    let before = std::fs::read(state_dir.join("out/erp_posting.jsonl")).unwrap();
    let (s2, lines2) = run(&mut state, &rules, &events);
    assert_eq!(s2.counts.duplicate, expected.len() as u64);
    assert!(lines2.iter().all(|o| o["status"] == "duplicate" && o["emits"] == serde_json::json!([])));
    assert_eq!(std::fs::read(state_dir.join("out/erp_posting.jsonl")).unwrap(), before);
    let open = json_items(exceptions::list(&state, &Filter { status: Some("open".into()), code: None }).unwrap());
    assert_eq!(open.len() as u64, s.counts.rejected);
}

#[test]
fn blank_lines_crlf_and_bytes_that_are_not_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    let events = sample_events();
    let mut lines = events.lines();
    let (a, b) = (lines.next().unwrap(), lines.next().unwrap());
    let mut input = Vec::new();
    input.extend_from_slice(format!("{a}\r\n\n   \t\r\n").as_bytes());
    input.extend_from_slice(b"{\"id\": \"\xff\xfe\"}  \n");
    input.extend_from_slice(b.as_bytes()); // no final newline
    let go = |state: &mut State| {
        let mut out = Vec::new();
        let s = process(state, &rules, Box::new(std::io::Cursor::new(input.clone())), &mut out, &opts(), &mut |_| {})
            .unwrap();
        let lines: Vec<Json> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        (s, lines)
    };
    let (s, out) = go(&mut state);
    // Blank lines are skipped; the others keep their line numbers.
    assert_eq!(out.iter().map(|o| o["line"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 4, 5]);
    assert_eq!(out[1]["status"], "invalid");
    assert!(out[1]["rejections"][0]["message"].as_str().unwrap().contains("UTF-8"), "{}", out[1]);
    assert_ne!(out[0]["status"], "invalid");
    assert_ne!(out[2]["status"], "invalid");
    assert_eq!(s.counts.total(), 3);
    // Kept as read (lossily) in the queue, without its line ending.
    let open = json_items(exceptions::list(&state, &Filter { status: Some("open".into()), code: None }).unwrap());
    let invalid = open.iter().find(|i| i["event_id"].is_null()).unwrap();
    let shown = serde_json::to_value(exceptions::show(&state, invalid["id"].as_i64().unwrap()).unwrap()).unwrap();
    assert_eq!(shown["event"], serde_json::json!({"id": "\u{fffd}\u{fffd}"}));
    // Again: every line a duplicate, the invalid one too.
    let (s, out) = go(&mut state);
    assert_eq!(s.counts.duplicate, 3, "{out:?}");
}

#[test]
fn a_panic_in_the_progress_callback_ends_the_run() {
    // Every thread of the run ends, the checkpoint thread included: the
    // panic reaches the caller instead of a hang.
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut state = State::open(&state_dir).unwrap();
            let input = Box::new(std::io::Cursor::new(sample_events()));
            let _ = process(&mut state, &rules, input, &mut Vec::new(), &opts(), &mut |_| panic!("progress"));
        }));
        let _ = done_tx.send(result.is_err());
    });
    let panicked = done_rx.recv_timeout(Duration::from_secs(60)).expect("process() hung after a panic");
    assert!(panicked);
}

#[test]
fn same_key_other_payload_is_a_conflict_in_the_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    let mut state = State::open(&state_dir).unwrap();
    let first = sample_events().lines().next().unwrap().to_string();
    // Re-serialised with other key order and spacing: still the same payload.
    let reordered = {
        let v: Json = serde_json::from_str(&first).unwrap();
        let mut pairs: Vec<(String, Json)> = v.as_object().unwrap().clone().into_iter().collect();
        pairs.reverse();
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{} : {}", Json::String(k.clone()), v)).collect();
        format!("{{ {} }}", body.join(" , "))
    };
    let changed = with_hours(&first, "11.50");
    let input = format!("{first}\n{reordered}\n{changed}\n{changed}\n");
    let (s, lines) = run(&mut state, &rules, &input);
    let statuses: Vec<&str> = lines.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["accepted", "duplicate", "rejected", "duplicate"]);
    assert_eq!(lines[2]["rejections"][0]["code"], "IDEMPOTENCY_CONFLICT");
    assert_eq!(s.counts.accepted, 1);
    let items = json_items(
        exceptions::list(&state, &Filter { status: None, code: Some("IDEMPOTENCY_CONFLICT".into()) }).unwrap(),
    );
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["event_id"], "evt-1");
    // Only the first payload was delivered.
    let posted = sink_lines(&state_dir, "erp_posting");
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["record"]["hours"], "11.25");
    // A conflict cannot be retried into acceptance.
    let id = items[0]["id"].as_i64().unwrap();
    let r = exceptions::retry(&mut state, &rules, Selection::One(id)).unwrap();
    assert_eq!(r.results[0].outcome, "conflict");
    assert!(!r.results[0].resolved);
    assert_eq!(sink_lines(&state_dir, "erp_posting").len(), 1);
}

#[test]
fn idempotencykey_attribute_is_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    let first = sample_events().lines().next().unwrap().to_string();
    let mut a: Json = serde_json::from_str(&first).unwrap();
    a["idempotencykey"] = "K-1".into();
    let mut b = a.clone();
    b["id"] = "another-id".into();
    let mut c = b.clone();
    c["data"]["hours"] = "3.00".into();
    let input = format!("{a}\n{b}\n{c}\n");
    let (_, lines) = run(&mut state, &rules, &input);
    let statuses: Vec<&str> = lines.iter().map(|o| o["status"].as_str().unwrap()).collect();
    // `b` differs from `a` in its id, which is part of the payload.
    assert_eq!(statuses, ["accepted", "rejected", "rejected"]);
    assert!(lines[1]["rejections"][0]["message"].as_str().unwrap().contains("`K-1`"));
}

#[test]
fn bytes_past_the_committed_length_that_no_batch_was_writing_are_refused_not_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    let events: Vec<String> = sample_events().lines().map(String::from).collect();
    {
        let mut state = State::open(&state_dir).unwrap();
        run(&mut state, &rules, &(events[..20].join("\n") + "\n"));
    }
    let sink = state_dir.join("out/erp_posting.jsonl");
    let good = std::fs::read(&sink).unwrap();
    // Looks like a line torn by a crash, but the run ended cleanly: no batch
    // was writing there, so someone else wrote it (a real crash's tail is
    // cut: tests/pipeline_faults.rs).
    let mut torn = good.clone();
    torn.extend_from_slice(b"{\"delivery_id\":\"x-1\",\"event_id\":\"evt-99\",\"rec");
    std::fs::write(&sink, &torn).unwrap();
    let mut state = State::open(&state_dir).unwrap();
    let mut out = Vec::new();
    let input = Box::new(std::io::Cursor::new(events.join("\n") + "\n"));
    let err = process(&mut state, &rules, input, &mut out, &opts(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::SinkAppended { .. }), "{err}");
    assert!(err.to_string().contains("canon was writing nothing there"), "{err}");
    assert!(out.is_empty());
    assert_eq!(std::fs::read(&sink).unwrap(), torn, "left as it is");
}

#[test]
fn a_sink_file_changed_outside_canon_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    {
        let mut state = State::open(&state_dir).unwrap();
        run(&mut state, &rules, &sample_events());
    }
    let sink = state_dir.join("out/erp_posting.jsonl");
    let len = std::fs::metadata(&sink).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&sink).unwrap().set_len(len / 2).unwrap();
    let mut state = State::open(&state_dir).unwrap();
    let err =
        process(&mut state, &rules, Box::new(std::io::empty()), &mut Vec::new(), &opts(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::SinkShrunk { .. }), "{err}");
    assert!(err.to_string().contains("truncated or replaced outside canon"), "{err}");
}

fn expected_emits() -> usize {
    std::fs::read_to_string(Path::new(EXAMPLE).join("expected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap()["emits"].as_array().unwrap().len())
        .sum()
}

#[test]
fn a_full_disk_under_a_sink_commits_nothing_and_loses_nothing() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    let events = sample_events();
    drop(State::open(&state_dir).unwrap());
    // Every write to this sink fails with "no space left on device".
    std::fs::create_dir_all(state_dir.join("out")).unwrap();
    std::os::unix::fs::symlink("/dev/full", state_dir.join("out/payroll_staging.jsonl")).unwrap();
    let mut state = State::open(&state_dir).unwrap();
    let mut out = Vec::new();
    let err =
        process(&mut state, &rules, Box::new(std::io::Cursor::new(events.clone())), &mut out, &opts(), &mut |_| {})
            .unwrap_err();
    assert!(matches!(err, Error::SinkWrite { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("payroll_staging") && msg.contains("nothing of the current batch was committed"), "{msg}");
    assert!(out.is_empty(), "nothing is acknowledged");
    let status = serde_json::to_value(canon_pipeline::status::status(&state).unwrap()).unwrap();
    assert_eq!(status["events"]["by_type"], serde_json::json!({}));
    assert_eq!(std::fs::metadata(state_dir.join("out/erp_posting.jsonl")).unwrap().len(), 0, "cut back");
    drop(state);

    // Fixed: everything is processed and delivered, once.
    std::fs::remove_file(state_dir.join("out/payroll_staging.jsonl")).unwrap();
    let mut state = State::open(&state_dir).unwrap();
    let (s, _) = run(&mut state, &rules, &events);
    assert_eq!(s.counts.total(), events.lines().count() as u64);
    assert_eq!(s.counts.duplicate, 0);
    assert_eq!(
        sink_lines(&state_dir, "erp_posting").len() + sink_lines(&state_dir, "payroll_staging").len(),
        expected_emits()
    );
}

#[test]
fn a_full_state_disk_commits_nothing_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    // Enough events to need many more pages than the disk has room for.
    let mut events = String::new();
    for copy in 0..20 {
        for line in sample_events().lines() {
            let mut e: Json = serde_json::from_str(line).unwrap();
            e["id"] = format!("{}-{copy}", e["id"].as_str().unwrap()).into();
            // Each copy its own timesheet: the example posts a timesheet's first approval only.
            if let Some(t) = e["data"]["timesheetId"].as_str().map(|t| format!("{t}-{copy}")) {
                e["data"]["timesheetId"] = t.into();
            }
            events.push_str(&format!("{e}\n"));
        }
    }
    let mut state = State::open(&state_dir).unwrap();
    // SQLite's own "database or disk is full", a few pages from now.
    let pages: i64 = state.connection().query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    state.connection().pragma_update(None, "max_page_count", pages + 1).unwrap();
    let mut out = Vec::new();
    let err =
        process(&mut state, &rules, Box::new(std::io::Cursor::new(events.clone())), &mut out, &opts(), &mut |_| {})
            .unwrap_err();
    assert!(matches!(err, Error::DiskFull(_)), "{err}");
    assert!(err.to_string().contains("full"), "{err}");
    // What was acknowledged is exactly what was committed before the disk
    // filled up (the batches that fitted), and that is not everything.
    let acknowledged = String::from_utf8(out).unwrap().lines().count() as u64;
    let committed: i64 = state.connection().query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap();
    assert_eq!(acknowledged, committed as u64);
    assert!(acknowledged < events.lines().count() as u64);
    drop(state);
    let mut state = State::open(&state_dir).unwrap();
    let (s, _) = run(&mut state, &rules, &events);
    assert_eq!(s.counts.total(), events.lines().count() as u64);
    assert_eq!(s.counts.duplicate, acknowledged);
    assert_eq!(
        sink_lines(&state_dir, "erp_posting").len() + sink_lines(&state_dir, "payroll_staging").len(),
        20 * expected_emits()
    );
}

#[test]
fn a_file_in_the_way_of_a_sink_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    drop(State::open(&state_dir).unwrap());
    std::fs::create_dir_all(state_dir.join("out")).unwrap();
    std::fs::write(state_dir.join("out/erp_posting.jsonl"), "someone else's data\n").unwrap();
    let mut state = State::open(&state_dir).unwrap();
    let err =
        process(&mut state, &rules, Box::new(std::io::empty()), &mut Vec::new(), &opts(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::SinkForeign { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(state_dir.join("out/erp_posting.jsonl")).unwrap(), "someone else's data\n");
}

#[test]
fn retry_after_a_master_data_fix_delivers_and_resolves() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path());
    let state_dir = tmp.path().join("state");
    let first = sample_events().lines().next().unwrap().to_string();
    let mut unknown: Json = serde_json::from_str(&first).unwrap();
    unknown["id"] = "evt-new".into();
    unknown["data"]["projectCode"] = "P-7777".into();
    let before = rules(&pkg);
    let mut state = State::open(&state_dir).unwrap();
    let (_, lines) = run(&mut state, &before, &format!("{unknown}\n"));
    assert_eq!(lines[0]["rejections"][0]["code"], "UNKNOWN_PROJECT");
    let items = json_items(
        exceptions::list(&state, &Filter { status: Some("open".into()), code: Some("UNKNOWN_PROJECT".into()) })
            .unwrap(),
    );
    assert_eq!(items.len(), 1);
    let id = items[0]["id"].as_i64().unwrap();

    // Retrying without a fix changes nothing but the history.
    let r = exceptions::retry(&mut state, &before, Selection::One(id)).unwrap();
    assert_eq!(r.results[0].outcome, "rejected");
    assert!(sink_lines(&state_dir, "erp_posting").is_empty());

    // The fix: the project is added to the master data.
    let projects = pkg.join("data/projects.csv");
    let mut csv = std::fs::read_to_string(&projects).unwrap();
    csv.push_str("P-7777,OPEN,C-001,Standard,true,US01,USD\n");
    std::fs::write(&projects, csv).unwrap();
    let after = rules(&pkg);
    assert_ne!(after.version, before.version, "the data is part of the package version");
    let r = exceptions::retry(&mut state, &after, Selection::AllOpen).unwrap();
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].outcome, "accepted");
    assert!(r.results[0].resolved);
    let posted = sink_lines(&state_dir, "erp_posting");
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["event_id"], "evt-new");
    assert_eq!(posted[0]["record"]["project"], "P-7777");

    let item = serde_json::to_value(exceptions::show(&state, id).unwrap()).unwrap();
    assert_eq!(item["status"], "resolved");
    assert_eq!(item["resolution"], "retried");
    assert_eq!(item["lineage"]["package_version"], after.version.as_str());
    assert_eq!(item["history"].as_array().unwrap().len(), 2);
    assert_eq!(item["history"][0]["package_version"], before.version.as_str());
    assert_eq!(item["history"][0]["rejections"][0]["code"], "UNKNOWN_PROJECT");
    assert_eq!(item["deliveries"][0]["state"], "delivered");
    let trace = item["lineage"]["trace"].as_array().unwrap();
    assert!(trace.iter().any(|t| t["kind"] == "lookup" && t["key"] == "P-7777" && t["found"] == true), "{trace:?}");
    // Retried and resolved: retrying again is refused, and the event is a duplicate.
    assert!(matches!(exceptions::retry(&mut state, &after, Selection::One(id)), Err(Error::AlreadyResolved(_))));
    let (_, lines) = run(&mut state, &after, &format!("{unknown}\n"));
    assert_eq!(lines[0]["status"], "duplicate");
    assert_eq!(sink_lines(&state_dir, "erp_posting").len(), 1);
}

#[test]
fn resolve_show_and_status() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    let mut state = State::open(&state_dir).unwrap();
    let events = sample_events();
    let (s, _) = run(&mut state, &rules, &(events.clone() + "not json\n"));
    assert_eq!(s.counts.invalid, 1);
    let open = json_items(exceptions::list(&state, &Filter { status: Some("open".into()), code: None }).unwrap());
    let first = open[0]["id"].as_i64().unwrap();
    let shown = serde_json::to_value(exceptions::show(&state, first).unwrap()).unwrap();
    assert_eq!(shown["event"]["id"], shown["event_id"]);
    let at = shown["rejections"][0]["at"].as_str().unwrap();
    assert!(at.starts_with("posting.canon:"), "{at}");
    assert!(shown["lineage"]["trace"].as_array().unwrap().iter().any(|t| t["kind"] == "rejected"));

    exceptions::resolve(&state, first, "posted by hand in the ERP").unwrap();
    assert!(matches!(exceptions::resolve(&state, first, "again"), Err(Error::AlreadyResolved(_))));
    assert!(matches!(exceptions::resolve(&state, 999_999, "x"), Err(Error::NotFound(999_999))));
    assert!(matches!(exceptions::show(&state, 999_999), Err(Error::NotFound(_))));
    let shown = serde_json::to_value(exceptions::show(&state, first).unwrap()).unwrap();
    assert_eq!(shown["note"], "posted by hand in the ERP");

    let st = serde_json::to_value(canon_pipeline::status::status(&state).unwrap()).unwrap();
    let ty = &st["events"]["by_type"]["com.acme.timesheet.approved"];
    assert_eq!(ty["accepted"].as_u64().unwrap(), s.counts.accepted);
    assert_eq!(ty["rejected"].as_u64().unwrap(), s.counts.rejected);
    assert_eq!(st["events"]["by_type"]["(none)"]["invalid"], 1);
    assert_eq!(st["exceptions"]["open"].as_u64().unwrap(), s.counts.rejected + s.counts.invalid - 1);
    assert_eq!(st["exceptions"]["resolved_by_note"], 1);
    let by_code: u64 =
        st["exceptions"]["open_by_code"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert!(by_code >= st["exceptions"]["open"].as_u64().unwrap());
    let erp = &st["destinations"]["erp_posting"];
    assert_eq!(erp["delivered"], erp["accepted"]);
    assert_eq!(erp["pending"], 0);
    assert_eq!(erp["accepted"].as_u64().unwrap() as usize, sink_lines(&state_dir, "erp_posting").len());
    assert_eq!(st["runs"]["count"], 1);
    assert_eq!(st["runs"]["unfinished"], 0);
}

#[test]
fn a_state_of_schema_1_is_upgraded_and_its_traces_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    let events = sample_events();
    let mut lines = events.lines();
    let first_half: String = lines.by_ref().take(10).map(|l| format!("{l}\n")).collect();
    {
        let mut state = State::open(&state_dir).unwrap();
        run(&mut state, &rules, &first_half);
        // As schema 1 wrote it: no table of steps, every trace in full.
        let c = state.connection();
        let templates = canon_pipeline::lineage::Templates::load(c).unwrap();
        let rows: Vec<(i64, serde_json::Value)> = c
            .prepare("SELECT id, trace FROM events")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, templates.stored(r.get_ref(1)?))))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (id, trace) in rows {
            let full = templates.expand(&trace);
            c.execute("UPDATE events SET trace = ?2 WHERE id = ?1", rusqlite::params![id, full.to_string()]).unwrap();
        }
        c.execute_batch(
            "DROP TABLE trace_steps; DROP TABLE json_shapes; UPDATE canon_schema SET version = 1; DROP TABLE state_records;
             ALTER TABLE package_versions DROP COLUMN rules_recorded; ALTER TABLE package_versions DROP COLUMN rules_name;
             ALTER TABLE package_versions DROP COLUMN rules_version; ALTER TABLE package_versions DROP COLUMN rules_owner;
             ALTER TABLE package_versions DROP COLUMN rules_effective_from;
             DROP TABLE metric_cells; DROP TABLE state_packages; DROP TABLE state_names;
             ALTER TABLE sink_files DROP COLUMN tail_start; ALTER TABLE sink_files DROP COLUMN tail_hash;
             ALTER TABLE exceptions DROP COLUMN updated_by; ALTER TABLE exceptions DROP COLUMN resolved_by;
             ALTER TABLE exception_history DROP COLUMN by;",
        )
        .unwrap();
    }
    let old = State::open_existing(&state_dir).unwrap();
    let version: i64 = old.connection().query_row("SELECT version FROM canon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(version, canon_pipeline::state::SCHEMA_VERSION);
    drop(old);
    let mut state = State::open(&state_dir).unwrap();
    let (s, _) = run(&mut state, &rules, &events);
    assert_eq!(s.counts.duplicate, 10, "the ledger of schema 1 still counts");
    // Items from before and after the upgrade show the same kind of lineage.
    let open = json_items(exceptions::list(&state, &Filter { status: Some("open".into()), code: None }).unwrap());
    assert!(open.len() >= 2);
    let trace_of = |item: &Json| {
        let shown = serde_json::to_value(exceptions::show(&state, item["id"].as_i64().unwrap()).unwrap()).unwrap();
        shown["lineage"]["trace"].as_array().unwrap().clone()
    };
    for item in &open {
        let trace = trace_of(item);
        assert!(!trace.is_empty());
        for step in &trace {
            assert!(step["kind"].is_string(), "{step}");
            if step["kind"] == "lookup" || step["kind"] == "state_read" {
                assert!(step["key"].is_string() && step["found"].is_boolean(), "{step}");
            } else {
                assert!(step["at"].is_string(), "{step}");
            }
        }
    }
}

#[test]
fn a_state_of_schema_2_is_upgraded_and_its_sinks_checked_from_their_next_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    let events = sample_events();
    let first_half: String = events.lines().take(25).map(|l| format!("{l}\n")).collect();
    {
        let mut state = State::open(&state_dir).unwrap();
        run(&mut state, &rules, &first_half);
        // As schema 2 wrote it: no hash of the sinks' last lines.
        state
            .connection()
            .execute_batch(
                "ALTER TABLE sink_files DROP COLUMN tail_start; ALTER TABLE sink_files DROP COLUMN tail_hash;
                 ALTER TABLE exceptions DROP COLUMN updated_by; ALTER TABLE exceptions DROP COLUMN resolved_by;
                 ALTER TABLE exception_history DROP COLUMN by;
                 DROP TABLE state_records; DROP TABLE metric_cells; DROP TABLE state_packages; DROP TABLE state_names;
                 ALTER TABLE package_versions DROP COLUMN rules_recorded; ALTER TABLE package_versions DROP COLUMN rules_name;
                 ALTER TABLE package_versions DROP COLUMN rules_version; ALTER TABLE package_versions DROP COLUMN rules_owner;
                 ALTER TABLE package_versions DROP COLUMN rules_effective_from;
                 UPDATE canon_schema SET version = 2;",
            )
            .unwrap();
    }
    let mut state = State::open(&state_dir).unwrap();
    let version: i64 = state.connection().query_row("SELECT version FROM canon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(version, canon_pipeline::state::SCHEMA_VERSION);
    let (s, _) = run(&mut state, &rules, &events);
    assert_eq!(s.counts.duplicate, 25, "the ledger of schema 2 still counts");
    assert_eq!(
        sink_lines(&state_dir, "erp_posting").len() + sink_lines(&state_dir, "payroll_staging").len(),
        expected_emits()
    );
    drop(state);
    // The upgraded state now knows each sink's last line: changing it is found.
    let sink = state_dir.join("out/erp_posting.jsonl");
    let mut bytes = std::fs::read(&sink).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    std::fs::write(&sink, &bytes).unwrap();
    let mut state = State::open(&state_dir).unwrap();
    let err =
        process(&mut state, &rules, Box::new(std::io::empty()), &mut Vec::new(), &opts(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::SinkChanged { .. }), "{err}");
}

#[test]
fn state_directories_that_are_not_canon_states_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // Not empty, no state.db.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "hello").unwrap();
    assert!(matches!(State::open(&other), Err(Error::NotState(_))));
    assert!(matches!(State::open_existing(&tmp.path().join("missing")), Err(Error::NoState(_))));

    // A state.db that is not a database.
    let garbage = tmp.path().join("garbage");
    std::fs::create_dir_all(&garbage).unwrap();
    std::fs::write(garbage.join("state.db"), vec![0x5a; 8192]).unwrap();
    let err = State::open(&garbage).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("corrupt or not a SQLite database"), "{err}");

    // Someone else's SQLite database.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    {
        let c = rusqlite::Connection::open(foreign.join("state.db")).unwrap();
        c.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);").unwrap();
    }
    let err = State::open(&foreign).unwrap_err();
    assert!(matches!(err, Error::Foreign { .. }), "{err}");
    let err = State::open_existing(&foreign).unwrap_err();
    assert!(matches!(err, Error::Foreign { .. }), "{err}");

    // A state from a newer canon.
    let newer = tmp.path().join("newer");
    drop(State::open(&newer).unwrap());
    {
        let c = rusqlite::Connection::open(newer.join("state.db")).unwrap();
        c.execute("UPDATE canon_schema SET version = 99", []).unwrap();
    }
    assert!(matches!(State::open(&newer), Err(Error::NewerSchema { found: 99, .. })));

    // A canon state damaged in the middle: refused, never "repaired".
    let tmp2 = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp2.path()));
    let damaged = tmp.path().join("damaged");
    {
        let mut state = State::open(&damaged).unwrap();
        run(&mut state, &rules, &sample_events());
        state.connection().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    }
    let db = damaged.join("state.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    for b in bytes.iter_mut().skip(page) {
        *b = 0xff;
    }
    std::fs::write(&db, &bytes).unwrap();
    let result = State::open(&damaged).and_then(|mut s| {
        process(&mut s, &rules, Box::new(std::io::Cursor::new(sample_events())), &mut Vec::new(), &opts(), &mut |_| {})
    });
    let err = result.unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
}

#[test]
fn one_process_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let _first = State::open(&dir).unwrap();
    assert!(matches!(State::open(&dir), Err(Error::Locked(_))));
    // Readers need no lock.
    State::open_existing(&dir).unwrap();
}

/// A real HTTP server on 127.0.0.1 that fails each delivery id `fail_first`
/// times with 503 (or always with `always`), then accepts it.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<(String, Json, u16)>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(fail_first: usize, always: Option<u16>) -> Receiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let seen: Arc<Mutex<Vec<(String, Json, u16)>>> = Arc::default();
        let (srv, log) = (server.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let mut attempts: HashMap<String, usize> = HashMap::new();
            // Bounded: the test stops it, and it never serves more than this.
            for _ in 0..2000 {
                let Ok(Some(mut req)) = srv.recv_timeout(Duration::from_secs(20)) else { break };
                let id = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Canon-Delivery-Id"))
                    .map(|h| h.value.as_str().to_string())
                    .unwrap_or_default();
                let mut body = String::new();
                req.as_reader().read_to_string(&mut body).unwrap();
                let n = attempts.entry(id.clone()).or_default();
                *n += 1;
                let code = always.unwrap_or(if *n <= fail_first { 503 } else { 200 });
                log.lock().unwrap().push((id, serde_json::from_str(&body).unwrap_or(Json::Null), code));
                let _ = req.respond(tiny_http::Response::from_string("ok").with_status_code(code));
            }
        });
        Receiver { url: format!("http://127.0.0.1:{port}/postings"), seen, server, thread: Some(thread) }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn http_config(rules: &Rules, erp_url: &str, payroll_url: &str, max_attempts: u32) -> Config {
    let text = format!(
        r#"
        [sinks.erp_posting]
        type = "http"
        url = "{erp_url}"
        max_attempts = {max_attempts}
        initial_backoff_ms = 5
        max_backoff_ms = 40
        timeout_ms = 2000
        headers = {{ Authorization = "Bearer test" }}

        [sinks.payroll_staging]
        type = "http"
        url = "{payroll_url}"
        max_attempts = {max_attempts}
        initial_backoff_ms = 5
        max_backoff_ms = 40
        "#
    );
    Config::parse(&text, &rules.evaluator().package().clone()).unwrap()
}

#[test]
fn http_sink_retries_with_backoff_then_delivers_each_record_once() {
    let tmp = tempfile::tempdir().unwrap();
    let base = rules(&package(tmp.path()));
    let erp = Receiver::start(2, None);
    let payroll = Receiver::start(0, None);
    let config = http_config(&base, &erp.url, &payroll.url, 5);
    let rules = base.with_config(config);
    let state_dir = tmp.path().join("state");
    let mut state = State::open(&state_dir).unwrap();
    let (s, lines) = run(&mut state, &rules, &sample_events());
    let emits: Vec<&Json> = lines.iter().flat_map(|o| o["emits"].as_array().unwrap()).collect();
    let erp_emits = emits.iter().filter(|e| e["destination"] == "erp_posting").count();
    assert_eq!(s.http.dead, 0);
    assert_eq!(s.http.delivered as usize, emits.len());
    assert_eq!(s.http.retried as usize, 2 * erp_emits);
    let seen = erp.seen.lock().unwrap().clone();
    let ok: Vec<&(String, Json, u16)> = seen.iter().filter(|(_, _, c)| *c == 200).collect();
    assert_eq!(ok.len(), erp_emits);
    let ids: HashSet<&String> = ok.iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids.len(), erp_emits, "one success per delivery id");
    assert_eq!(seen.len(), 3 * erp_emits, "two failures and a success each");
    for (id, body, _) in &ok {
        assert_eq!(body["delivery_id"].as_str().unwrap(), id.as_str());
        assert!(body["record"]["journalId"].as_str().unwrap().starts_with("JE-"));
    }
    let st = serde_json::to_value(canon_pipeline::status::status(&state).unwrap()).unwrap();
    assert_eq!(st["destinations"]["erp_posting"]["delivered"].as_u64().unwrap() as usize, erp_emits);
    assert_eq!(st["destinations"]["erp_posting"]["pending"], 0);
    assert!(!state_dir.join("out/erp_posting.jsonl").exists());
}

#[test]
fn http_sink_dead_letters_after_its_attempts() {
    let tmp = tempfile::tempdir().unwrap();
    let base = rules(&package(tmp.path()));
    let down = Receiver::start(0, Some(500));
    let refuses = Receiver::start(0, Some(422));
    let config = http_config(&base, &down.url, &refuses.url, 3);
    let rules = base.with_config(config);
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    let (s, lines) = run(&mut state, &rules, &sample_events());
    let emits: Vec<&Json> = lines.iter().flat_map(|o| o["emits"].as_array().unwrap()).collect();
    let erp = emits.iter().filter(|e| e["destination"] == "erp_posting").count();
    let payroll = emits.len() - erp;
    assert_eq!(s.http.delivered, 0);
    assert_eq!(s.http.dead as usize, emits.len());
    // 500 is retried up to max_attempts; 422 is final at once.
    assert_eq!(down.seen.lock().unwrap().len(), 3 * erp);
    assert_eq!(refuses.seen.lock().unwrap().len(), payroll);
    let st = serde_json::to_value(canon_pipeline::status::status(&state).unwrap()).unwrap();
    assert_eq!(st["destinations"]["erp_posting"]["dead"].as_u64().unwrap() as usize, erp);
    assert_eq!(st["destinations"]["payroll_staging"]["dead"].as_u64().unwrap() as usize, payroll);
    // Dead letters are not exceptions: the events themselves were accepted.
    assert_eq!(st["exceptions"]["open"].as_u64().unwrap(), s.counts.rejected);
}

#[test]
fn canon_toml_errors_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let pkg = rules.evaluator().package().clone();
    let err = Config::parse("[sinks.nowhere]\ntype = \"file\"\n", &pkg).unwrap_err();
    assert!(err.to_string().contains("no destination `nowhere`"), "{err}");
    let err = Config::parse("[sinks.erp_posting]\ntype = \"http\"\n", &pkg).unwrap_err();
    assert!(err.to_string().contains("needs `url`"), "{err}");
    let err = Config::parse("[sinks.erp_posting]\ntype = \"ftp\"\n", &pkg).unwrap_err();
    assert!(err.to_string().contains("unknown sink type `ftp`"), "{err}");
    let err = Config::parse("[sinks.erp_posting]\nurl = 3\n", &pkg).unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    let ok = Config::parse("[sinks.payroll_staging]\npath = \"exports/payroll.jsonl\"\n", &pkg).unwrap();
    assert_eq!(ok.sinks.len(), 2);
}

#[test]
fn backoff_doubles_with_jitter_and_is_capped() {
    let cfg = canon_pipeline::config::HttpConfig {
        url: "http://127.0.0.1:1/".into(),
        shown_url: "http://127.0.0.1:1/".into(),
        max_attempts: 10,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(1000),
        timeout: Duration::from_secs(1),
        headers: Vec::new(),
        tls: Default::default(),
    };
    for _ in 0..50 {
        let b1 = canon_pipeline::http::backoff(&cfg, 1);
        assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100), "{b1:?}");
        let b3 = canon_pipeline::http::backoff(&cfg, 3);
        assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400), "{b3:?}");
        let b9 = canon_pipeline::http::backoff(&cfg, 9);
        assert!(b9 >= Duration::from_millis(500) && b9 <= Duration::from_millis(1000), "{b9:?}");
    }
}

#[test]
fn a_state_of_schema_3_is_upgraded_and_records_who_resolves() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let state_dir = tmp.path().join("state");
    {
        let mut state = State::open(&state_dir).unwrap();
        run(&mut state, &rules, &sample_events());
        exceptions::resolve(&state, 1, "before the upgrade").unwrap();
        // As schema 3 wrote it: nobody recorded.
        state
            .connection()
            .execute_batch(
                "ALTER TABLE exceptions DROP COLUMN updated_by; ALTER TABLE exceptions DROP COLUMN resolved_by;
                 ALTER TABLE exception_history DROP COLUMN by; UPDATE canon_schema SET version = 3;
                 ALTER TABLE package_versions DROP COLUMN rules_recorded; ALTER TABLE package_versions DROP COLUMN rules_name;
                 ALTER TABLE package_versions DROP COLUMN rules_version; ALTER TABLE package_versions DROP COLUMN rules_owner;
                 ALTER TABLE package_versions DROP COLUMN rules_effective_from;
                 DROP TABLE state_records; DROP TABLE metric_cells; DROP TABLE state_packages; DROP TABLE state_names;",
            )
            .unwrap();
    }
    let state = State::open_existing(&state_dir).unwrap();
    let version: i64 = state.connection().query_row("SELECT version FROM canon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(version, canon_pipeline::state::SCHEMA_VERSION);
    let before = serde_json::to_value(exceptions::show(&state, 1).unwrap()).unwrap();
    assert_eq!(before["status"], "resolved");
    assert_eq!(before["resolved_by"], Json::Null, "unknown before the upgrade");
    exceptions::resolve(&state, 2, "after the upgrade").unwrap();
    assert_eq!(
        serde_json::to_value(exceptions::show(&state, 2).unwrap()).unwrap()["resolved_by"],
        exceptions::operator().as_str()
    );
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn secrets_come_from_the_environment_or_a_file_and_print_as_stars() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = rules(&package(tmp.path())).evaluator().package().clone();
    // Each test has its own variables: tests run in parallel threads.
    std::env::set_var("CANON_TEST_SECRET_ENV_1", "tok-from-env-41");
    std::env::set_var("CANON_TEST_SECRET_URL_1", "http://127.0.0.1:9/in?key=url-secret-77");
    let file = tmp.path().join("erp.secret");
    std::fs::write(&file, "tok-from-file-42\n").unwrap();
    set_mode(&file, 0o600);
    let text = format!(
        r#"
        [sinks.erp_posting]
        type = "http"
        url = {{ env = "CANON_TEST_SECRET_URL_1" }}
        headers = {{ Authorization = {{ env = "CANON_TEST_SECRET_ENV_1", prefix = "Bearer " }}, X-Api-Key = {{ file = "{}" }}, X-Team = "payroll" }}
        "#,
        file.display()
    );
    let config = Config::parse(&text, &pkg).unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let canon_pipeline::config::SinkConfig::Http(h) = &config.sinks[0].1 else { panic!("{:?}", config.sinks) };
    assert_eq!(h.url.expose(), "http://127.0.0.1:9/in?key=url-secret-77");
    assert_eq!(h.shown_url, "$CANON_TEST_SECRET_URL_1");
    let headers: Vec<(&str, &str)> = h.headers.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
    assert_eq!(
        headers,
        [("Authorization", "Bearer tok-from-env-41"), ("X-Api-Key", "tok-from-file-42"), ("X-Team", "payroll")]
    );
    let debug = format!("{config:?} {h:?} {}", h.headers[0].1);
    for secret in ["tok-from-env-41", "tok-from-file-42", "url-secret-77", "payroll\""] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("***"));
}

#[test]
fn a_missing_secret_or_a_secret_file_others_may_read_is_an_error_naming_sink_and_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = rules(&package(tmp.path())).evaluator().package().clone();
    let err = Config::parse(
        "[sinks.erp_posting]\ntype = \"http\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { Authorization = { env = \"CANON_TEST_SECRET_UNSET_2\" } }\n",
        &pkg,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    let m = err.to_string();
    for needle in ["[sinks.erp_posting]", "header `Authorization`", "`CANON_TEST_SECRET_UNSET_2` is not set"] {
        assert!(m.contains(needle), "{needle} in {m}");
    }
    let err =
        Config::parse("[sinks.erp_posting]\ntype = \"http\"\nurl = { env = \"CANON_TEST_SECRET_UNSET_3\" }\n", &pkg)
            .unwrap_err();
    assert!(err.to_string().contains("`url`") && err.to_string().contains("is not set"), "{err}");

    let file = tmp.path().join("open.secret");
    std::fs::write(&file, "tok-world-readable-43\n").unwrap();
    set_mode(&file, 0o644);
    let text = format!(
        "[sinks.erp_posting]\ntype = \"http\"\nurl = \"http://127.0.0.1:9/\"\nheaders = {{ X-Api-Key = {{ file = \"{}\" }} }}\n",
        file.display()
    );
    let m = Config::parse(&text, &pkg).unwrap_err().to_string();
    for needle in ["[sinks.erp_posting]", "header `X-Api-Key`", &format!("chmod 600 {}", file.display())] {
        assert!(m.contains(needle), "{needle} in {m}");
    }
    assert!(!m.contains("tok-world-readable-43"), "{m}");
    set_mode(&file, 0o600);
    Config::parse(&text, &pkg).unwrap();
    let missing = text.replace("open.secret", "absent.secret");
    let m = Config::parse(&missing, &pkg).unwrap_err().to_string();
    assert!(m.contains("header `X-Api-Key`") && m.contains("absent.secret"), "{m}");
    let both = "[sinks.erp_posting]\ntype = \"http\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { A = { env = \"X\", file = \"y\" } }\n";
    assert!(Config::parse(both, &pkg).unwrap_err().to_string().contains("either"));
    let unknown =
        "[sinks.erp_posting]\ntype = \"http\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { A = { vault = \"X\" } }\n";
    let m = Config::parse(unknown, &pkg).unwrap_err().to_string();
    assert!(m.contains("env = ") && m.contains("file = "), "{m}");
}

#[test]
fn literal_secrets_in_canon_toml_are_warned_of_without_their_value() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = rules(&package(tmp.path())).evaluator().package().clone();
    let config = Config::parse(
        r#"
        [sinks.erp_posting]
        type = "http"
        url = "https://svc:pw-literal-44@erp.example.com/in"
        headers = { Authorization = "Bearer lit-45", Proxy-Authorization = "Basic lit-46", X-ERP-Token = "lit-47", x-apikey = "lit-48", X-Client-Secret = "lit-49", X-Team = "payroll" }
        "#,
        &pkg,
    )
    .unwrap();
    let all = config.warnings.join("\n");
    assert_eq!(config.warnings.len(), 6, "{all}");
    for needle in
        ["Authorization", "Proxy-Authorization", "X-ERP-Token", "x-apikey", "X-Client-Secret", "`url`", "env = "]
    {
        assert!(all.contains(needle), "{needle} in {all}");
    }
    assert!(!all.contains("X-Team"), "{all}");
    for secret in ["pw-literal-44", "lit-45", "lit-46", "lit-47", "lit-48", "lit-49"] {
        assert!(!all.contains(secret), "{secret} in {all}");
    }
    let canon_pipeline::config::SinkConfig::Http(h) = &config.sinks[0].1 else { panic!() };
    assert_eq!(h.shown_url, "https://svc:***@erp.example.com/in");
}

/// Items as `--format json` shows them.
fn json_items<T: serde::Serialize>(items: Vec<T>) -> Vec<serde_json::Value> {
    items.iter().map(|i| serde_json::to_value(i).unwrap()).collect()
}

/// A destination family in `canon.toml` (LANGUAGE.md §4.3): the family's
/// pattern fills `{member}` with each variant's wire name, a member bound on
/// its own keeps its binding, and a family bound in part is E0635.
#[test]
fn canon_toml_binds_family_members() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fam");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.canon"),
        "enum Entity { EU = \"eu\", US = \"us\", APAC = \"apac\" }\nrecord Line { amount: Decimal }\nevent E as \"e\" {\n  entity: Entity\n}\ndestination erp[Entity]: Line\ndestination log: Line\n\non E as e {\n  emit erp[e.entity] Line { amount: 1 }\n}\n",
    )
    .unwrap();
    let pkg = rules(&dir).evaluator().package().clone();
    let text = "[sinks.erp]\ntype = \"http\"\nurl = \"http://127.0.0.1:9/{member}/lines\"\n\n[sinks.\"erp.us\"]\npath = \"us.jsonl\"\n";
    let config = Config::parse(text, &pkg).unwrap();
    let by_name: HashMap<&str, &canon_pipeline::config::SinkConfig> =
        config.sinks.iter().map(|(n, s)| (n.as_str(), s)).collect();
    assert_eq!(by_name.len(), 4, "log and each member");
    match by_name["erp.eu"] {
        canon_pipeline::config::SinkConfig::Http(h) => {
            assert_eq!(h.url.expose(), "http://127.0.0.1:9/eu/lines");
            assert_eq!(h.shown_url, "http://127.0.0.1:9/eu/lines");
        }
        other => panic!("{other:?}"),
    }
    match by_name["erp.us"] {
        canon_pipeline::config::SinkConfig::File { path } => assert_eq!(path.as_deref(), Some(Path::new("us.jsonl"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(by_name["log"], &canon_pipeline::config::SinkConfig::File { path: None });
    let err = Config::parse("[sinks.\"erp.us\"]\npath = \"us.jsonl\"\n", &pkg).unwrap_err().to_string();
    assert!(err.contains("E0635") && err.contains("`erp.eu`, `erp.apac`"), "{err}");
    let err = Config::parse("[sinks.erp]\npath = \"all.jsonl\"\n", &pkg).unwrap_err().to_string();
    assert!(err.contains("{member}"), "{err}");
    let err = Config::parse("[sinks.erp_typo]\npath = \"x.jsonl\"\n", &pkg).unwrap_err().to_string();
    assert!(err.contains("no destination `erp_typo`") && err.contains("erp.eu"), "{err}");
}
