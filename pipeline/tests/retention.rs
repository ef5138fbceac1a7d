//! Retention (`canon_pipeline::retention::prune`, `canon state prune`) on a
//! real state: the timesheet example through two HTTP sinks, one that takes
//! every record and one that refuses them all (dead letters), with exceptions
//! open, retried and resolved. What a prune keeps is asserted row by row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canon_pipeline::exceptions::{self, Filter, Selection};
use canon_pipeline::retention::{prune, Pruned};
use canon_pipeline::{process, Config, Options, Rules, State};
use canon_stdlib::Timestamp;
use serde_json::Value as Json;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/timesheets");

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

fn run(state: &mut State, rules: &Rules, input: &str) -> Vec<Json> {
    let opts =
        Options { batch_events: 16, batch_latency: Duration::from_millis(50), input_name: "test".into(), workers: 2 };
    let mut out = Vec::new();
    let input = Box::new(std::io::Cursor::new(input.to_string().into_bytes()));
    process(state, rules, input, &mut out, &opts, &mut |_| {}).unwrap();
    String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// An HTTP server on 127.0.0.1 answering every request with `code`; counts them.
struct Receiver {
    url: String,
    seen: Arc<Mutex<usize>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(code: u16) -> Receiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let seen: Arc<Mutex<usize>> = Arc::default();
        let (srv, log) = (server.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            for _ in 0..2000 {
                let Ok(Some(mut req)) = srv.recv_timeout(Duration::from_secs(20)) else { break };
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                *log.lock().unwrap() += 1;
                let _ = req.respond(tiny_http::Response::from_string("ok").with_status_code(code));
            }
        });
        Receiver { url: format!("http://127.0.0.1:{port}/in"), seen, server, thread: Some(thread) }
    }
    fn seen(&self) -> usize {
        *self.seen.lock().unwrap()
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

/// Every row of every table, as text, by table: what the state holds.
fn dump(state: &State) -> BTreeMap<String, Vec<String>> {
    let conn = state.connection();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut all = BTreeMap::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let rows: Vec<String> = st
            .query_map([], |r| {
                let cells: Vec<String> = (0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect();
                Ok(cells.join("|"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        all.insert(t, rows);
    }
    all
}

/// The state's records as `canon state export` writes them.
fn records(state: &State, rules: &Rules) -> String {
    let mut out = Vec::new();
    let pkg = rules.evaluator().package();
    canon_pipeline::store::export(state.connection(), pkg, "pkg", None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.lines().count() > 10, "{text}");
    text
}

fn column(state: &State, sql: &str) -> Vec<String> {
    let mut st = state.connection().prepare(sql).unwrap();
    st.query_map([], |r| Ok(format!("{:?}", r.get_ref(0)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

fn status(state: &State) -> Json {
    serde_json::to_value(canon_pipeline::status::status(state).unwrap()).unwrap()
}

const FUTURE: Timestamp = Timestamp(4_102_444_800_000_000); // 2100-01-01
const PAST: Timestamp = Timestamp(946_684_800_000_000); // 2000-01-01

#[test]
fn prune_keeps_the_ledger_the_counts_and_everything_unfinished() {
    let tmp = tempfile::tempdir().unwrap();
    let base = rules(&package(tmp.path()));
    let erp = Receiver::start(200);
    let payroll = Receiver::start(422);
    let config = Config::parse(
        &format!(
            "[sinks.erp_posting]\ntype = \"http\"\nurl = \"{}\"\n\n[sinks.payroll_staging]\ntype = \"http\"\nurl = \"{}\"\nmax_attempts = 1\n",
            erp.url, payroll.url
        ),
        &base.evaluator().package().clone(),
    )
    .unwrap();
    let rules = base.with_config(config);
    let state_dir = tmp.path().join("state");
    let mut state = State::open(&state_dir).unwrap();
    let events = std::fs::read_to_string(Path::new(EXAMPLE).join("events.jsonl")).unwrap();
    let input = events.clone() + "not json\n";
    let lines = run(&mut state, &rules, &input);
    let status_of = |s: &str| lines.iter().filter(|o| o["status"] == s).count();
    let dead_only = |o: &Json| o["emits"].as_array().unwrap().iter().any(|e| e["destination"] == "payroll_staging");
    let accepted_with_dead = lines.iter().filter(|o| o["status"] == "accepted" && dead_only(o)).count();
    let accepted = status_of("accepted");
    let (rejected, invalid) = (status_of("rejected"), status_of("invalid"));
    assert_eq!((accepted, accepted_with_dead, rejected, invalid), (35, 7, 15, 1), "the example changed");

    // Two exceptions resolved (one retried first: an earlier evaluation), the rest open.
    let open =
        serde_json::to_value(exceptions::list(&state, &Filter { status: Some("open".into()), code: None }).unwrap())
            .unwrap();
    let invalid_item = open.as_array().unwrap().iter().find(|i| i["event_type"].is_null()).unwrap()["id"].as_i64();
    let rejected_item = open.as_array().unwrap().iter().find(|i| !i["event_type"].is_null()).unwrap()["id"].as_i64();
    let (invalid_item, rejected_item) = (invalid_item.unwrap(), rejected_item.unwrap());
    let r = exceptions::retry(&mut state, &rules, Selection::One(rejected_item)).unwrap();
    assert_eq!(r.results[0].outcome, "rejected");
    exceptions::resolve(&state, rejected_item, "fixed in the ERP").unwrap();
    exceptions::resolve(&state, invalid_item, "not an event").unwrap();

    let before = dump(&state);
    let status_before = status(&state);
    let records_before = records(&state, &rules);
    let refs = column(&state, "SELECT count(*) FROM state_records WHERE writer IS NOT NULL");
    assert_ne!(refs, ["Integer(0)"], "records stored once, in their writers' lineage");
    let keys_before = column(&state, "SELECT idem_key || ':' || hex(payload_hash) FROM events ORDER BY id");

    // A cutoff before any event: nothing.
    let none = prune(&state, PAST, false).unwrap();
    assert_eq!((none.events, none.payloads, none.outbox_records, none.kept_unfinished), (0, 0, 0, 0));
    assert_eq!(dump(&state), before);

    // A dry run counts what the prune removes, and changes nothing.
    let dry = prune(&state, FUTURE, true).unwrap();
    assert_eq!(dump(&state), before);
    let wet = prune(&state, FUTURE, false).unwrap();
    assert_eq!(Pruned { dry_run: true, bytes_after: wet.bytes_before, ..wet.clone() }, dry);
    let final_events = (accepted - accepted_with_dead + 2) as i64;
    assert_eq!(wet.events, final_events);
    assert_eq!(wet.payloads, 2, "the resolved items' kept texts");
    assert_eq!(wet.outbox_records, (accepted - accepted_with_dead) as i64, "the delivered erp records");
    assert_eq!((wet.exceptions, wet.exception_history), (2, 1));
    assert_eq!(wet.kept_unfinished, (accepted_with_dead + rejected + invalid - 2) as i64);
    assert!(wet.bytes_after < wet.bytes_before, "{wet:?}");

    // What remains: every row, the ledger's keys and hashes, the counts.
    let after = dump(&state);
    for t in ["events", "outbox", "exceptions", "runs", "package_versions", "sink_files", "trace_steps"] {
        assert_eq!(after[t].len(), before[t].len(), "{t}: rows are kept");
    }
    for t in ["metric_cells", "state_packages", "runs", "package_versions", "trace_steps"] {
        assert_eq!(after[t], before[t], "{t} is untouched");
    }
    // The records read the same; those whose writer's lineage was pruned are in their rows now.
    assert_eq!(after["state_records"].len(), before["state_records"].len());
    assert_eq!(records(&state, &rules), records_before);
    let dangling =
        column(&state, "SELECT count(*) FROM state_records r JOIN events e ON e.id = r.writer WHERE e.trace = ''");
    assert_eq!(dangling, ["Integer(0)"]);
    assert_eq!(after["exception_history"].len(), before["exception_history"].len() - 1);
    assert_eq!(column(&state, "SELECT idem_key || ':' || hex(payload_hash) FROM events ORDER BY id"), keys_before);
    assert_eq!(status(&state), status_before, "canon status is the same");
    // Pruned: exactly the final events; the others keep their lineage and texts.
    let pruned = column(&state, "SELECT count(*) FROM events WHERE trace = ''");
    assert_eq!(pruned, [format!("Integer({final_events})")]);
    let unfinished = column(
        &state,
        "SELECT count(*) FROM events e WHERE trace <> '' AND (
           e.id IN (SELECT event FROM outbox WHERE state = 'dead')
           OR e.id IN (SELECT event FROM exceptions WHERE status = 'open'))",
    );
    assert_eq!(unfinished, [format!("Integer({})", wet.kept_unfinished)]);
    let open_texts = column(
        &state,
        "SELECT count(*) FROM exceptions x JOIN events e ON e.id = x.event WHERE x.status = 'open' AND e.event IS NOT NULL AND x.rejections <> '[]'",
    );
    assert_eq!(open_texts, [format!("Integer({})", rejected + invalid - 2)]);
    let bodies = column(&state, "SELECT count(*) FROM outbox WHERE state = 'dead' AND record = ''");
    assert_eq!(bodies, ["Integer(0)"], "dead letters keep their records");
    // A pruned item still shows, without its lineage.
    let shown = serde_json::to_value(exceptions::show(&state, rejected_item).unwrap()).unwrap();
    assert_eq!(shown["status"], "resolved");
    assert_eq!(shown["note"], "fixed in the ERP");
    assert_eq!(shown["lineage"]["trace"], Json::Array(vec![]));
    assert_eq!(shown["history"], Json::Array(vec![]));
    assert!(shown["event"].is_null());

    // A second prune finds nothing more.
    let again = prune(&state, FUTURE, false).unwrap();
    assert_eq!((again.events, again.payloads, again.outbox_records, again.exceptions), (0, 0, 0, 0));

    // The same input again: all duplicates, nothing delivered twice.
    let (erp_seen, payroll_seen) = (erp.seen(), payroll.seen());
    let replay = run(&mut state, &rules, &events);
    assert!(replay.iter().all(|o| o["status"] == "duplicate"), "{replay:?}");
    assert_eq!((erp.seen(), payroll.seen()), (erp_seen, payroll_seen));
    // A pruned event's key with another payload: a conflict naming the original.
    let first = events.lines().next().unwrap();
    let mut changed: Json = serde_json::from_str(first).unwrap();
    changed["data"]["hours"] = Json::String("1.25".into());
    let conflict = run(&mut state, &rules, &format!("{changed}\n"));
    assert_eq!(conflict[0]["status"], "rejected");
    assert_eq!(conflict[0]["rejections"][0]["code"], "IDEMPOTENCY_CONFLICT");
    assert!(conflict[0]["rejections"][0]["message"].as_str().unwrap().contains(changed["id"].as_str().unwrap()));
}

/// The cutoff is exact to the microsecond although the ledger keeps
/// milliseconds: an event received at the cutoff itself is not before it,
/// one microsecond later it is.
#[test]
fn the_cutoff_is_exact_against_the_times_received_in_milliseconds() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = rules(&package(tmp.path()));
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    let events = std::fs::read_to_string(Path::new(EXAMPLE).join("events.jsonl")).unwrap();
    let first: String = events.lines().next().map(|l| format!("{l}\n")).unwrap();
    let lines = run(&mut state, &rules, &first);
    assert_eq!(lines[0]["status"], "accepted", "the example's first event is accepted");
    let ms: i64 = state.connection().query_row("SELECT received_at FROM events", [], |r| r.get(0)).unwrap();
    let at = prune(&state, Timestamp(ms * 1000), true).unwrap();
    assert_eq!(at.events, 0, "received at the cutoff: not before it");
    let after = prune(&state, Timestamp(ms * 1000 + 1), true).unwrap();
    assert_eq!(after.events, 1, "received a microsecond before the cutoff");
    let mut text = String::new();
    canon_stdlib::time::format_timestamp(Timestamp(ms * 1000 + 1), &mut text);
    assert_eq!(after.before, text);
}
