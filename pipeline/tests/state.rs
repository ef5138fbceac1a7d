//! State across events in the durable pipeline (RUNTIME.md §7.2): events
//! apply in input order, each against what every event before it left,
//! committed or not; a duplicate writes nothing; a retry is evaluated
//! against the state as it is now; metric cells are kept with the records
//! and equal a recomputation after a round trip through SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use canon_compiler::ir::StateId;
use canon_pipeline::exceptions::{self, Filter, Selection};
use canon_pipeline::store::{self, Durable};
use canon_pipeline::{process, Error, Options, Rules, State};
use canon_runtime::state::{key_of, Store, Write};
use canon_runtime::{LoadedPackage, Outcome, Status, Tables, Value};
use proptest::prelude::*;
use serde_json::Value as Json;

fn conformance(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance").join(case)
}

/// A package of one file, `source`, in the directory `name` under `tmp`
/// (the file named by the name's first letter: `c.canon` for `counters`).
fn package_dir(tmp: &Path, name: &str, source: &str) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{}.canon", &name[..1])), source).unwrap();
    dir
}

fn load(dir: &Path) -> (LoadedPackage, Tables) {
    let pkg = canon_runtime::load(dir).unwrap();
    assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics());
    let tables = Tables::load(&pkg.package(), &pkg.data_dir(), true).unwrap();
    (pkg, tables)
}

fn rules(dir: &Path) -> Rules {
    let (pkg, tables) = load(dir);
    Rules::new(&pkg, tables, &pkg.data_dir(), canon_jit::Backend::Jit).unwrap()
}

fn opts(batch: usize, workers: usize) -> Options {
    Options { batch_events: batch, batch_latency: Duration::from_millis(50), input_name: "test".into(), workers }
}

/// Processes `input`; the outcome lines.
fn run(state: &mut State, rules: &Rules, input: &str, opts: &Options) -> Vec<String> {
    let mut out = Vec::new();
    process(state, rules, Box::new(std::io::Cursor::new(input.as_bytes().to_vec())), &mut out, opts, &mut |_| {})
        .unwrap();
    String::from_utf8(out).unwrap().lines().map(str::to_string).collect()
}

/// What `canon run` gives: every event in order against one in-memory
/// store; the outcome lines and the snapshot.
fn reference(dir: &Path, input: &str) -> (Vec<String>, Vec<u8>) {
    let (pkg, tables) = load(dir);
    let ir = pkg.package();
    let engine = canon_runtime::Engine::new(ir.clone(), tables.clone());
    let mut store = Store::new(&ir);
    let mut lines = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let mut o = engine.evaluate_in(n as u64 + 1, line, &store);
        store.apply_outcome(&ir, &tables, &mut o, false);
        let mut s = String::new();
        canon_runtime::engine::write_outcome(&ir, &o, &mut s);
        lines.push(s);
    }
    let mut snapshot = Vec::new();
    store.write_snapshot(&ir, &mut snapshot).unwrap();
    (lines, snapshot)
}

/// The state directory's state of the package at `dir`, exported.
fn export(state: &State, dir: &Path) -> Vec<u8> {
    let (pkg, _) = load(dir);
    let mut out = Vec::new();
    store::export(state.connection(), &pkg.package(), &store::package_name(dir), None, &mut out).unwrap();
    out
}

#[test]
fn conformance_cases_give_their_outcomes_and_the_state_of_canon_run_whatever_the_batches() {
    for case in ["s01-state-sequence", "s02-state-update-delete", "s03-state-metric-fault"] {
        let dir = conformance(case);
        let input = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
        let expected: Vec<String> =
            std::fs::read_to_string(dir.join("expected.jsonl")).unwrap().lines().map(str::to_string).collect();
        let (lines, snapshot) = reference(&dir, &input);
        assert_eq!(lines, expected, "{case}: the reference is `canon run`'s");
        let rules = rules(&dir);
        // One event a batch; a few; all in one batch (none committed before the last).
        for (batch, workers) in [(1, 1), (2, 2), (3, 1), (1000, 2)] {
            let tmp = tempfile::tempdir().unwrap();
            let mut state = State::open(&tmp.path().join("state")).unwrap();
            let got = run(&mut state, &rules, &input, &opts(batch, workers));
            assert_eq!(got, expected, "{case}, batches of {batch}");
            assert_eq!(
                String::from_utf8(export(&state, &dir)).unwrap(),
                String::from_utf8(snapshot.clone()).unwrap(),
                "{case}, batches of {batch}"
            );
            // Again: every event a duplicate, and the state as it was.
            let again = run(&mut state, &rules, &input, &opts(batch, workers));
            assert!(again.iter().all(|l| l.contains("\"status\":\"duplicate\"")), "{case}: {again:?}");
            assert_eq!(export(&state, &dir), snapshot, "{case}: a duplicate wrote");
        }
    }
}

#[test]
fn the_lineage_of_a_queued_event_shows_its_reads_and_the_writes_that_were_dropped() {
    // s01: a negative bump is rejected after its put; its lineage shows the
    // read and the write its handler made, none of which was applied.
    let dir = conformance("s01-state-sequence");
    let input = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    run(&mut state, &rules(&dir), &input, &opts(2, 2));
    let items = exceptions::list(&state, &Filter { status: None, code: Some("NEGATIVE".into()) }).unwrap();
    let item = serde_json::to_value(exceptions::show(&state, items[0].id).unwrap()).unwrap();
    let trace = item["lineage"]["trace"].as_array().unwrap();
    let kinds: Vec<&str> = trace.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"state_read") && kinds.contains(&"write"), "{kinds:?}");
    let write = trace.iter().find(|t| t["kind"] == "write").unwrap();
    assert_eq!(write["state"], "counters");
    assert!(write["after"]["n"].is_i64(), "{write}");
    assert!(write["at"].as_str().unwrap().starts_with("ledger.canon:"), "{write}");
}

#[test]
fn an_event_again_in_the_same_batch_writes_nothing() {
    let dir = conformance("s01-state-sequence");
    let input = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let expected: Vec<&str> = input.lines().collect();
    let (lines, snapshot) = reference(&dir, &input);
    // Each event twice in a row (a duplicate), and a bump sent again with
    // another payload (a conflict), all in one batch.
    let mut doubled = String::new();
    for l in &expected {
        doubled.push_str(&format!("{l}\n{l}\n"));
        if l.contains("\"type\":\"bump\"") {
            doubled.push_str(&l.replace("\"name\":\"", "\"name\":\"other-"));
            doubled.push('\n');
        }
    }
    let rules = rules(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    let got = run(&mut state, &rules, &doubled, &opts(10_000, 2));
    let mut i = 0;
    for (n, l) in expected.iter().enumerate() {
        let first: Json = serde_json::from_str(&got[i]).unwrap();
        let want: Json = serde_json::from_str(&lines[n]).unwrap();
        assert_eq!(first["status"], want["status"], "{}", got[i]);
        assert_eq!(first["emits"], want["emits"], "{}", got[i]);
        assert!(got[i + 1].contains("\"status\":\"duplicate\""), "{}", got[i + 1]);
        i += 2;
        if l.contains("\"type\":\"bump\"") {
            assert!(got[i].contains("IDEMPOTENCY_CONFLICT"), "{}", got[i]);
            i += 1;
        }
    }
    assert_eq!(i, got.len());
    assert_eq!(export(&state, &dir), snapshot, "a duplicate or a conflict wrote");
}

#[test]
fn a_retry_is_evaluated_against_the_state_as_it_is_now_and_applies_its_writes() {
    // s02: `paid` before `opened` is STATE_NOT_FOUND; once the account is
    // open, its retry is accepted and its payment applied.
    let dir = conformance("s02-state-update-delete");
    let input = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let rules = rules(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    run(&mut state, &rules, &input, &opts(4, 2));
    let (pkg, _) = load(&dir);
    let ir = pkg.package();
    let name = store::package_name(&dir);
    let balance = |state: &State| -> Json {
        let (_, record) = store::show(state.connection(), &ir, &name, "accounts", &["US".into(), "1".into()]).unwrap();
        serde_json::from_str::<Json>(&record).unwrap()["balance"].clone()
    };
    let before = balance(&state);
    let items = exceptions::list(&state, &Filter { status: Some("open".into()), code: Some("STATE_NOT_FOUND".into()) })
        .unwrap();
    let first = items.iter().find(|i| i.event_id.as_deref() == Some("1")).expect("event 1 is queued");
    let summary = exceptions::retry(&mut state, &rules, Selection::One(first.id)).unwrap();
    assert_eq!(summary.results[0].outcome, "accepted", "{:?}", summary.results);
    assert!(summary.results[0].resolved);
    let after = balance(&state);
    let amount = |v: &Json| v["amount"].as_str().unwrap().parse::<f64>().unwrap();
    assert_eq!(amount(&after) - amount(&before), 5.0, "{before} then {after}");
    // The state the retry left is what the next run starts from.
    let more = r#"{"specversion":"1.0","id":"99","source":"t","type":"shown","data":{"entity":"US","number":1}}"#;
    let shown = run(&mut state, &rules, more, &opts(4, 1));
    let o: Json = serde_json::from_str(&shown[0]).unwrap();
    assert_eq!(o["emits"][0]["record"]["balance"], after, "{}", shown[0]);
}

const COUNTERS: &str = r#"
record Counter { name: Text, n: Int, team: Text }
event Bump as "bump" { name: Text, by: Int, team: Text }
destination seen: Counter
state counters: Counter key name
metric total = sum(counters, c => c.n) by team
on Bump as b {
  let old = counters[b.name]?.n ?? 0
  put counters Counter { name: b.name, n: old + b.by, team: b.team }
  emit seen Counter { name: b.name, n: old + b.by, team: b.team }
}
"#;

fn bump(id: u32, name: &str, by: i64, team: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"t","type":"bump","data":{{"name":"{name}","by":{by},"team":"{team}"}}}}"#
    ) + "\n"
}

fn metrics_json(state: &State, dir: &Path) -> (String, bool) {
    let (pkg, tables) = load(dir);
    let ir = pkg.package();
    let version =
        canon_pipeline::version::package_version(&pkg.sources, &ir, &pkg.data_dir(), pkg.manifest.as_ref()).unwrap();
    let (reports, recomputed) =
        store::metrics(state.connection(), &ir, &tables, &store::package_name(dir), &version, None).unwrap();
    (canon_runtime::metrics::report_json(&reports), recomputed)
}

#[test]
fn metric_cells_are_kept_and_computed_again_for_a_new_version_of_the_package() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = package_dir(tmp.path(), "counters", COUNTERS);
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    let input = [bump(1, "a", 2, "x"), bump(2, "b", 3, "y"), bump(3, "a", 5, "y"), bump(4, "c", 1, "x")].concat();
    run(&mut state, &rules(&dir), &input, &opts(2, 2));
    let (json, recomputed) = metrics_json(&state, &dir);
    assert!(!recomputed, "the cells the run kept are read");
    assert_eq!(json, r#"[{"name":"total","groups":[{"by":{"team":"x"},"value":1},{"by":{"team":"y"},"value":10}]}]"#);
    let cells: i64 = state.connection().query_row("SELECT count(*) FROM metric_cells", [], |r| r.get(0)).unwrap();
    assert_eq!(cells, 2, "a cell no record contributes to is deleted");

    // A new version groups by name: its first run computes the cells again.
    std::fs::write(dir.join("c.canon"), COUNTERS.replace("by team", "by name")).unwrap();
    let (json, recomputed) = metrics_json(&state, &dir);
    assert!(recomputed, "the cells are another version's: computed from the records");
    let want = r#"[{"name":"total","groups":[{"by":{"name":"a"},"value":7},{"by":{"name":"b"},"value":3},{"by":{"name":"c"},"value":1}]}]"#;
    assert_eq!(json, want);
    run(&mut state, &rules(&dir), "", &opts(2, 1));
    assert_eq!(metrics_json(&state, &dir), (want.to_string(), false));
    run(&mut state, &rules(&dir), &bump(5, "b", -3, "y"), &opts(2, 1));
    assert_eq!(
        metrics_json(&state, &dir).0,
        r#"[{"name":"total","groups":[{"by":{"name":"a"},"value":7},{"by":{"name":"b"},"value":0},{"by":{"name":"c"},"value":1}]}]"#
    );
}

#[test]
fn a_record_the_package_no_longer_reads_stops_process_and_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = package_dir(tmp.path(), "counters", COUNTERS);
    let state_dir = tmp.path().join("state");
    let mut state = State::open(&state_dir).unwrap();
    run(&mut state, &rules(&dir), &bump(1, "a", 2, "x"), &opts(2, 1));
    drop(state);
    // `n` becomes a Bool: the kept record `a` no longer fits.
    std::fs::write(
        dir.join("c.canon"),
        COUNTERS
            .replace("n: Int", "n: Bool")
            .replace("old + b.by", "true")
            .replace("?.n ?? 0", "?.n ?? false")
            .replace("sum(counters, c => c.n)", "count(counters, c => c.n)"),
    )
    .unwrap();
    let rules = rules(&dir);
    let mut state = State::open(&state_dir).unwrap();
    let before: i64 = state.connection().query_row("SELECT count(*) FROM runs", [], |r| r.get(0)).unwrap();
    let mut out = Vec::new();
    let err = process(
        &mut state,
        &rules,
        Box::new(std::io::Cursor::new(bump(2, "b", 1, "x").into_bytes())),
        &mut out,
        &opts(2, 1),
        &mut |_| {},
    )
    .unwrap_err();
    match &err {
        Error::StateRecord { state, key, message } => {
            assert_eq!((state.as_str(), key.as_str()), ("counters", r#"["a"]"#), "{err}");
            assert!(message.contains("/record/n"), "{err}");
        }
        e => panic!("{e}"),
    }
    assert!(out.is_empty(), "nothing was processed");
    let events: i64 = state.connection().query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap();
    assert_eq!(events, 1);
    let runs: i64 = state.connection().query_row("SELECT count(*) FROM runs", [], |r| r.get(0)).unwrap();
    assert_eq!(runs, before, "no run was recorded");
}

#[test]
fn a_state_of_schema_4_is_upgraded_and_keeps_state_from_then_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = package_dir(tmp.path(), "counters", COUNTERS);
    let state_dir = tmp.path().join("state");
    {
        let state = State::open(&state_dir).unwrap();
        // As schema 4 left it: no tables of state.
        state
            .connection()
            .execute_batch(
                "DROP TABLE state_records; DROP TABLE metric_cells; DROP TABLE state_packages; DROP TABLE state_names;
                 ALTER TABLE package_versions DROP COLUMN rules_recorded; ALTER TABLE package_versions DROP COLUMN rules_name;
                 ALTER TABLE package_versions DROP COLUMN rules_version; ALTER TABLE package_versions DROP COLUMN rules_owner;
                 ALTER TABLE package_versions DROP COLUMN rules_effective_from;
                 UPDATE canon_schema SET version = 4;",
            )
            .unwrap();
    }
    let mut state = State::open(&state_dir).unwrap();
    let version: i64 = state.connection().query_row("SELECT version FROM canon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(version, canon_pipeline::state::SCHEMA_VERSION);
    run(&mut state, &rules(&dir), &[bump(1, "a", 2, "x"), bump(2, "a", 3, "x")].concat(), &opts(1, 1));
    assert_eq!(
        String::from_utf8(export(&state, &dir)).unwrap(),
        "{\"state\":\"counters\",\"key\":[\"a\"],\"record\":{\"name\":\"a\",\"n\":5,\"team\":\"x\"}}\n"
    );
}

// The property: metric cells written through SQLite batch by batch, and
// read back, equal the metrics computed from the records read back.

const ITEMS: &str = r#"
enum Kind { A, B, C }
record Item { id: Int, grp: Text, kind: Kind, tag: Text?, n: Int, d: Decimal, m: Money, at: Timestamp? }
state items: Item key id
metric n_by_grp = sum(items, x => x.n) by grp
metric d_by_kind = sum(items, x => x.d) where x.kind != C by kind
metric m_by_grp_tag = sum(items, x => x.m) by grp, tag
metric count_b = count(items, x => x.kind == B) by tag
metric d_aged = sum(items, x => x.d) by grp age at > 2 hours
"#;

const HOUR: i64 = 3_600_000_000;

#[derive(Debug, Clone)]
enum Op {
    Put {
        id: i64,
        grp: u8,
        kind: u32,
        tag: u8,
        n: i64,
        d: (i64, u32),
        m: (i64, u32, u8),
        at: Option<i64>,
    },
    Delete(i64),
    /// The end of a batch: what it changed is written back.
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    let put = (0i64..10, 0u8..3, 0u32..3, 0u8..3, -500i64..500, (-100_000i64..100_000, 0u32..4)).prop_flat_map(
        |(id, grp, kind, tag, n, d)| {
            ((-100_000i64..100_000, 0u32..4, 0u8..3), prop::option::of(0i64..6)).prop_map(move |(m, at)| Op::Put {
                id,
                grp,
                kind,
                tag,
                n,
                d,
                m,
                at: at.map(|h| h * HOUR),
            })
        },
    );
    prop_oneof![6 => put, 2 => (0i64..10).prop_map(Op::Delete), 1 => Just(Op::Flush)]
}

/// An accepted outcome with one write to state 0.
fn accepted_write(key: canon_runtime::state::Key, before: Option<Value>, after: Option<Value>) -> Outcome {
    Outcome {
        line: 1,
        id: None,
        event_type: None,
        correlation_id: None,
        status: Status::Accepted,
        emits: Vec::new(),
        rejections: Vec::new(),
        writes: vec![Write { state: StateId(0), key, before, after, loc: Default::default() }],
    }
}

fn item(op: &Op) -> Option<Value> {
    let Op::Put { id, grp, kind, tag, n, d, m, at } = op else { return None };
    let currency = ["USD", "EUR", "GBP"][m.2 as usize];
    Some(Value::Record(
        vec![
            Value::Int(*id),
            Value::text(["g1", "g2", "g3"][*grp as usize]),
            Value::Enum(*kind),
            [None, Some("t1"), Some("t2")][*tag as usize].map(Value::text).unwrap_or(Value::None),
            Value::Int(*n),
            Value::Decimal(canon_stdlib::Decimal::new(d.0, d.1)),
            Value::Money(canon_stdlib::Decimal::new(m.0, m.1), canon_stdlib::Currency::parse(currency).unwrap()),
            at.map(|t| Value::Timestamp(canon_stdlib::Timestamp(t))).unwrap_or(Value::None),
        ]
        .into(),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn metric_cells_through_sqlite_equal_a_recomputation(ops in prop::collection::vec(op(), 1..80)) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = package_dir(tmp.path(), "items", ITEMS);
        let (pkg, tables) = load(&dir);
        let ir = pkg.package();
        let state = State::open(&tmp.path().join("state")).unwrap();
        let conn = state.connection();
        let mut durable = Durable::open(conn, &ir, tables.clone(), "items", "v1").unwrap();
        // Records are packed: their shapes are given ids and saved with them.
        let steps = canon_pipeline::lineage::Steps::load(conn).unwrap();
        let mut packer = canon_pipeline::lineage::StepCache::default();
        let def = ir.state(StateId(0)).unwrap();
        for op in &ops {
            let (key, after) = match op {
                Op::Flush => {
                    let tx = conn.unchecked_transaction().unwrap();
                    durable.flush(&tx, &ir, &steps, &mut packer).unwrap();
                    steps.save(&tx).unwrap();
                    tx.commit().unwrap();
                    continue;
                }
                Op::Delete(id) => (vec![canon_runtime::value::KeyPart::Int(*id)].into_boxed_slice(), None),
                Op::Put { .. } => {
                    let v = item(op).unwrap();
                    (key_of(def, &v), Some(v))
                }
            };
            let before = durable.store().record(StateId(0), &key).cloned();
            let mut o = accepted_write(key, before, after);
            durable.apply(&ir, &mut o);
            prop_assert_eq!(o.status, Status::Accepted);
        }
        let tx = conn.unchecked_transaction().unwrap();
        durable.flush(&tx, &ir, &steps, &mut packer).unwrap();
        steps.save(&tx).unwrap();
        tx.commit().unwrap();
        let as_of = Some(canon_stdlib::Timestamp(5 * HOUR + 1));
        let in_memory = durable.store().metrics().report(&ir, as_of);
        // Read back: the records and the cells as kept (the same version).
        let back = Durable::open(conn, &ir, tables.clone(), "items", "v1").unwrap();
        prop_assert_eq!(&back.store().metrics().report(&ir, as_of), &in_memory);
        let mut snapshot = Vec::new();
        back.store().write_snapshot(&ir, &mut snapshot).unwrap();
        let mut want = Vec::new();
        durable.store().write_snapshot(&ir, &mut want).unwrap();
        prop_assert_eq!(snapshot, want);
        // `canon status`'s reading of the cells, and a recomputation from the records read back.
        let (status, recomputed) = store::metrics(conn, &ir, &tables, "items", "v1", as_of).unwrap();
        prop_assert!(!recomputed);
        prop_assert_eq!(&status, &in_memory);
        let (again, recomputed) = store::metrics(conn, &ir, &tables, "items", "v2", as_of).unwrap();
        prop_assert!(recomputed);
        prop_assert_eq!(&again, &in_memory);
    }
}

/// The state tables as schemas 5 to 7 kept them: the package's, the state's
/// and the metric's names in every row, and NULL for no `age`.
const TO_SCHEMA_7: &str = "
ALTER TABLE state_records RENAME TO sr8; ALTER TABLE metric_cells RENAME TO mc8;
CREATE TABLE state_records (package TEXT NOT NULL, state TEXT NOT NULL, key TEXT NOT NULL, record BLOB NOT NULL,
  PRIMARY KEY (package, state, key)) WITHOUT ROWID;
CREATE TABLE metric_cells (package TEXT NOT NULL, metric TEXT NOT NULL, by_values TEXT NOT NULL, age_at BIGINT,
  records BIGINT NOT NULL, acc TEXT NOT NULL);
CREATE UNIQUE INDEX metric_cells_key ON metric_cells(package, metric, by_values, age_at);
INSERT INTO state_records SELECT n.package, n.name, r.key, r.record FROM sr8 r JOIN state_names n ON n.id = r.state;
INSERT INTO metric_cells SELECT n.package, n.name, c.by_values, nullif(c.age_at, -9223372036854775808), c.records, c.acc
  FROM mc8 c JOIN state_names n ON n.id = c.metric;
DROP TABLE sr8; DROP TABLE mc8; DROP TABLE state_names;
";

/// The ledger as schemas 1 to 7 kept it: the event type's name in every
/// row, the time received as RFC 3339 text (with every digit of the
/// milliseconds, which schema 7 left out when zero: both read the same).
const LEDGER_TO_SCHEMA_7: &str = "
CREATE TABLE events_7 (id INTEGER PRIMARY KEY, idem_key TEXT NOT NULL, payload_hash BLOB NOT NULL, event_id TEXT,
  event_type TEXT, correlation_id TEXT, status TEXT NOT NULL, package_version INTEGER NOT NULL, run INTEGER NOT NULL,
  line INTEGER NOT NULL, received_at TEXT NOT NULL, trace BLOB NOT NULL, event TEXT, head INTEGER NOT NULL);
INSERT INTO events_7 SELECT e.id, e.idem_key, e.payload_hash, e.event_id, t.name, e.correlation_id, e.status,
  e.package_version, e.run, e.line, strftime('%Y-%m-%dT%H:%M:%fZ', e.received_at / 1000.0, 'unixepoch'), e.trace,
  e.event, e.head FROM events e LEFT JOIN event_types t ON t.id = e.event_type;
DROP TABLE events; DROP TABLE event_types; ALTER TABLE events_7 RENAME TO events;
CREATE UNIQUE INDEX events_key ON events(idem_key) WHERE head = 1;
CREATE INDEX events_key_more ON events(idem_key) WHERE head = 0;
";

#[test]
fn a_state_of_schema_7_is_upgraded_to_names_by_id_and_reads_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = package_dir(tmp.path(), "items", ITEMS);
    let (pkg, tables) = load(&dir);
    let ir = pkg.package();
    let state_dir = tmp.path().join("state");
    let as_of = Some(canon_stdlib::Timestamp(5 * HOUR + 1));
    let (report, snapshot, cells) = {
        let state = State::open(&state_dir).unwrap();
        let conn = state.connection();
        let mut durable = Durable::open(conn, &ir, tables.clone(), "items", "v1").unwrap();
        let steps = canon_pipeline::lineage::Steps::load(conn).unwrap();
        let mut packer = canon_pipeline::lineage::StepCache::default();
        let def = ir.state(StateId(0)).unwrap();
        let puts = [
            Op::Put { id: 1, grp: 0, kind: 0, tag: 0, n: 5, d: (750, 2), m: (1000, 2, 0), at: Some(HOUR) },
            Op::Put { id: 2, grp: 1, kind: 1, tag: 1, n: -3, d: (12, 1), m: (5, 0, 1), at: None },
            Op::Put { id: 3, grp: 0, kind: 2, tag: 2, n: 7, d: (1, 0), m: (250, 2, 0), at: Some(2 * HOUR) },
        ];
        for op in &puts {
            let v = item(op).unwrap();
            let mut o = accepted_write(key_of(def, &v), None, Some(v));
            durable.apply(&ir, &mut o);
        }
        let tx = conn.unchecked_transaction().unwrap();
        durable.flush(&tx, &ir, &steps, &mut packer).unwrap();
        steps.save(&tx).unwrap();
        tx.commit().unwrap();
        let mut snapshot = Vec::new();
        durable.store().write_snapshot(&ir, &mut snapshot).unwrap();
        conn.execute_batch(TO_SCHEMA_7).unwrap();
        conn.execute_batch("UPDATE canon_schema SET version = 7;").unwrap();
        let cells: i64 =
            conn.query_row("SELECT count(*) FROM metric_cells WHERE age_at IS NULL", [], |r| r.get(0)).unwrap();
        assert!(cells > 0, "cells of metrics without `age` are kept with a NULL");
        let cells: i64 = conn.query_row("SELECT count(*) FROM metric_cells", [], |r| r.get(0)).unwrap();
        (durable.store().metrics().report(&ir, as_of), snapshot, cells)
    };
    let state = State::open(&state_dir).unwrap();
    let conn = state.connection();
    let version: i64 = conn.query_row("SELECT version FROM canon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(version, canon_pipeline::state::SCHEMA_VERSION);
    let after: i64 = conn.query_row("SELECT count(*) FROM metric_cells", [], |r| r.get(0)).unwrap();
    assert_eq!(after, cells);
    // The cells as kept (not computed again: the same version) and the records.
    let (status, recomputed) = store::metrics(conn, &ir, &tables, "items", "v1", as_of).unwrap();
    assert!(!recomputed);
    assert_eq!(status, report);
    let back = Durable::open(conn, &ir, tables.clone(), "items", "v1").unwrap();
    assert_eq!(back.store().metrics().report(&ir, as_of), report);
    let mut again = Vec::new();
    back.store().write_snapshot(&ir, &mut again).unwrap();
    assert_eq!(String::from_utf8(again).unwrap(), String::from_utf8(snapshot).unwrap());
}

/// Every item of the exception queue, shown (`canon exceptions show`).
fn shown(state: &State) -> Vec<Json> {
    exceptions::list(state, &Filter { status: None, code: None })
        .unwrap()
        .iter()
        .map(|i| serde_json::to_value(exceptions::show(state, i.id).unwrap()).unwrap())
        .collect()
}

#[test]
fn a_state_of_schema_6_is_read_as_it_was_and_packs_from_then_on() {
    // A state as schema 6 wrote it: traces and records as JSON text, no shapes.
    let dir = conformance("s01-state-sequence");
    let input = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let (lines, snapshot) = reference(&dir, &input);
    let half = input.lines().count() / 2;
    let first: String = input.lines().take(half).map(|l| format!("{l}\n")).collect();
    let rest: String = input.lines().skip(half).map(|l| format!("{l}\n")).collect();
    let rules = rules(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let state_dir = tmp.path().join("state");
    let packed_items;
    let packed_export;
    {
        let mut state = State::open(&state_dir).unwrap();
        run(&mut state, &rules, &first, &opts(2, 1));
        packed_items = shown(&state);
        assert!(!packed_items.is_empty(), "the first half queues an exception");
        packed_export = export(&state, &dir);
        let c = state.connection();
        let blobs: i64 =
            c.query_row("SELECT count(*) FROM events WHERE typeof(trace) = 'blob'", [], |r| r.get(0)).unwrap();
        assert!(blobs > 0);
        let packed: i64 =
            c.query_row("SELECT count(*) FROM state_records WHERE typeof(record) = 'blob'", [], |r| r.get(0)).unwrap();
        assert!(packed > 0);
        let shapes = canon_pipeline::lineage::Shapes::load(c).unwrap();
        // The records first (those stored as references read their writers' traces).
        let refs: i64 =
            c.query_row("SELECT count(*) FROM state_records WHERE writer IS NOT NULL", [], |r| r.get(0)).unwrap();
        assert!(refs > 0, "records are stored once, in their writers' lineage");
        let rows: Vec<(i64, String, String)> = c
            .prepare(
                "SELECT r.state, r.key, r.record, e.trace FROM state_records r LEFT JOIN events e ON e.id = r.writer",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, shapes.record(r.get_ref(2)?, r.get_ref(3)?).unwrap())))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (state, key, text) in rows {
            assert!(text.starts_with('{'), "{text}");
            c.execute(
                "UPDATE state_records SET record = ?3, writer = NULL WHERE state = ?1 AND key = ?2",
                rusqlite::params![state, key, text],
            )
            .unwrap();
        }
        let templates = canon_pipeline::lineage::Templates::load(c).unwrap();
        for table in ["events", "exception_history"] {
            let rows: Vec<(i64, String)> = c
                .prepare(&format!("SELECT id, trace FROM {table}"))
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, templates.stored(r.get_ref(1)?).to_string())))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            for (id, text) in rows {
                assert_ne!(text, "null");
                c.execute(&format!("UPDATE {table} SET trace = ?2 WHERE id = ?1"), rusqlite::params![id, text])
                    .unwrap();
            }
        }
        let kept: Vec<(i64, String)> = c
            .prepare("SELECT id, event FROM events WHERE event IS NOT NULL")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, shapes.text(r.get_ref(1)?).unwrap())))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(!kept.is_empty());
        for (id, text) in kept {
            c.execute("UPDATE events SET event = ?2 WHERE id = ?1", rusqlite::params![id, text]).unwrap();
        }
        c.execute_batch(TO_SCHEMA_7).unwrap();
        c.execute_batch(LEDGER_TO_SCHEMA_7).unwrap();
        c.execute_batch("DROP TABLE json_shapes; UPDATE canon_schema SET version = 6;").unwrap();
    }
    // A reader upgrades it, and reads the lineage and the records as they were.
    let old = State::open_existing(&state_dir).unwrap();
    let version: i64 = old.connection().query_row("SELECT version FROM canon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(version, canon_pipeline::state::SCHEMA_VERSION);
    let texts: i64 = old
        .connection()
        .query_row("SELECT count(*) FROM events WHERE typeof(trace) = 'text'", [], |r| r.get(0))
        .unwrap();
    assert!(texts > 0, "the traces of schema 6 are kept as they are");
    assert_eq!(shown(&old), packed_items, "the lineage reads the same from JSON text as packed");
    assert_eq!(export(&old, &dir), packed_export);
    drop(old);
    // The rest of the events: the outcomes and state of `canon run`, and the
    // records written again are packed.
    let mut state = State::open(&state_dir).unwrap();
    let got = run(&mut state, &rules, &rest, &opts(3, 2));
    // The outcomes of `canon run` (whose lines count from the first event).
    let unlined = |l: &String| {
        let mut v: Json = serde_json::from_str(l).unwrap();
        v.as_object_mut().unwrap().remove("line");
        v
    };
    assert_eq!(got.iter().map(unlined).collect::<Vec<_>>(), lines[half..].iter().map(unlined).collect::<Vec<_>>());
    assert_eq!(export(&state, &dir), snapshot);
    let items = shown(&state);
    assert_eq!(items[..packed_items.len()], packed_items[..], "the old items read as before");
    // Every event again: duplicates, whichever schema recorded them.
    let again = run(&mut state, &rules, &input, &opts(3, 2));
    assert!(again.iter().all(|l| l.contains("\"status\":\"duplicate\"")), "{again:?}");
}

// The property: records stored as references into their writers' lineage
// (schema 8) read back as `canon run` leaves them, whatever the writes
// (several to one key in one event, deletes, re-inserts, rejected events
// whose writes were dropped), the batches, a prune between two runs, and a
// retry that applies the writes of an event queued earlier.

const OPS: &str = r#"
record Item { k: Text, n: Int }
event Op as "op" { k: Text, k2: Text, n: Int, mode: Int }
destination seen: Item
state items: Item key k
metric total = sum(items, i => i.n) by k
on Op as o {
  if o.mode == 0 {
    put items Item { k: o.k, n: o.n }
  } else if o.mode == 1 {
    put items Item { k: o.k, n: o.n }
    update items[o.k] { n: o.n + 1 }
  } else if o.mode == 2 {
    put items Item { k: o.k, n: o.n }
    delete items[o.k]
  } else if o.mode == 3 {
    delete items[o.k]
  } else if o.mode == 4 {
    update items[o.k] { n: o.n }
  } else if o.mode == 5 {
    put items Item { k: o.k, n: o.n }
    put items Item { k: o.k2, n: o.n + 2 }
  } else if o.mode == 6 {
    delete items[o.k]
    put items Item { k: o.k, n: o.n }
    update items[o.k2] { n: o.n }
  } else {
    put items Item { k: o.k, n: o.n }
    reject DROPPED "its writes are not applied"
  }
  emit seen Item { k: o.k, n: o.n }
}
"#;

fn op_line(id: usize, (k, k2, n, mode): &(u8, u8, i64, i64)) -> String {
    let key = |i: u8| ["a", "b", "c", "d"][i as usize];
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"t","type":"op","data":{{"k":"{}","k2":"{}","n":{n},"mode":{mode}}}}}"#,
        key(*k),
        key(*k2)
    ) + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn records_kept_in_their_writers_lineage_read_back_as_canon_run_leaves_them(
        ops in prop::collection::vec((0u8..4, 0u8..4, -50i64..50, 0i64..8), 1..40),
        split in 0usize..40,
        batch in 1usize..6,
        prune_between in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = package_dir(tmp.path(), "ops", OPS);
        let input: String = ops.iter().enumerate().map(|(i, o)| op_line(i + 1, o)).collect();
        let split = split.min(ops.len());
        let first: String = input.lines().take(split).map(|l| format!("{l}\n")).collect();
        let rest: String = input.lines().skip(split).map(|l| format!("{l}\n")).collect();
        let rules = rules(&dir);
        let state_dir = tmp.path().join("state");
        let mut state = State::open(&state_dir).unwrap();
        run(&mut state, &rules, &first, &opts(batch, 2));
        if prune_between {
            canon_pipeline::retention::prune(&state, canon_stdlib::Timestamp(4_102_444_800_000_000), false).unwrap();
        }
        run(&mut state, &rules, &rest, &opts(batch, 1));
        let (_, snapshot) = reference(&dir, &input);
        prop_assert_eq!(String::from_utf8(export(&state, &dir)).unwrap(), String::from_utf8(snapshot).unwrap());
        let refs: i64 =
            state.connection().query_row("SELECT count(*) FROM state_records WHERE writer IS NOT NULL", [], |r| r.get(0)).unwrap();
        let rows: i64 = state.connection().query_row("SELECT count(*) FROM state_records", [], |r| r.get(0)).unwrap();
        prop_assert!(prune_between || refs == rows, "every record of this run is in its writer's lineage: {refs} of {rows}");

        // A retry of every queued event, against the state as it is now,
        // applies the writes of those accepted now, in the queue's order.
        let (pkg, tables) = load(&dir);
        let ir = pkg.package();
        let engine = canon_runtime::Engine::new(ir.clone(), tables.clone());
        let mut store = Store::new(&ir);
        let lines: Vec<&str> = input.lines().collect();
        let mut queued = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            let mut o = engine.evaluate_in(n as u64 + 1, line, &store);
            store.apply_outcome(&ir, &tables, &mut o, false);
            if o.status == Status::Rejected {
                queued.push(n);
            }
        }
        for n in queued {
            let line = lines[n];
            let mut o = engine.evaluate_in(n as u64 + 1, line, &store);
            store.apply_outcome(&ir, &tables, &mut o, false);
        }
        let mut want = Vec::new();
        store.write_snapshot(&ir, &mut want).unwrap();
        exceptions::retry(&mut state, &rules, Selection::AllOpen).unwrap();
        drop(state);
        let state = State::open(&state_dir).unwrap();
        prop_assert_eq!(String::from_utf8(export(&state, &dir)).unwrap(), String::from_utf8(want).unwrap());
    }
}
