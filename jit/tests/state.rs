//! The JIT's reads and writes of state, node by node (`state[k]`, `put`,
//! `update`, `delete`): each test runs a few events in order through both
//! engines, each against its own state, asserts what the JIT gives (outcome,
//! writes, lineage, the state left) and that the interpreter gives exactly
//! the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use canon_jit::JitEngine;
use canon_runtime::outcome::TraceEvent;
use canon_runtime::state::Store;
use canon_runtime::{package, Engine, Outcome, Status, Tables};

const PRELUDE: &str = r#"
enum Tier { Gold, Silver }
record Owner { name: Text, tier: Tier }
record Acct {
  id: Text
  region: Text
  n: Int
  balance: Money
  owner: Owner
  tags: List<Text>
  note: Text?
}
state accts: Acct key id
state by_region: Acct key (region, n)
event Open as "open" { id: Text, region: Text, n: Int, note: Text? }
event Pay as "pay" { id: Text, by: Int }
event Drop as "drop" { id: Text }
event Show as "show" { id: Text }
record View { id: Text, n: Int, balance: Money, owner: Text, tier: Tier, tags: List<Text>, note: Text }
destination views: View
"#;

/// What one event gave: its outcome line, its outcome and its lineage.
struct Run {
    line: String,
    outcome: Outcome,
    trace: Vec<TraceEvent>,
}

/// Runs `events` (`type` and `data` pairs) in order through both engines,
/// each against its own state, the writes of accepted events applied; every
/// outcome line, every outcome (writes included) and lineage, and the state
/// left must be the same on both. Returns the JIT's runs and its state.
fn run(handlers: &str, events: &[(&str, &str)]) -> (Vec<Run>, Store, std::sync::Arc<canon_compiler::ir::Package>) {
    let source = format!("{PRELUDE}\n{handlers}");
    let pkg = package::from_sources(PathBuf::from("."), vec![("s.canon".into(), source.clone())]);
    assert!(!pkg.has_errors(), "{:?}\n{source}", pkg.diagnostics());
    let p = pkg.package();
    let tables = Tables::empty(&p);
    let interp = Engine::new(p.clone(), tables.clone());
    let jit = JitEngine::new(p.clone(), &tables).expect("the JIT compiles state");
    let lineage = JitEngine::with_lineage(p.clone(), &tables).expect("the JIT compiles state, with lineage");
    let (mut si, mut sj) = (Store::new(&p), Store::new(&p));
    let mut runs = Vec::new();
    for (n, (ty, data)) in events.iter().enumerate() {
        let no = n as u64 + 1;
        let line = format!(r#"{{"specversion":"1.0","id":"e{no}","source":"t","type":"{ty}","data":{data}}}"#);
        let a = interp.evaluate_in(no, &line, &si);
        let b = jit.evaluate_in(no, &line, &sj);
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "event {no}: {line}");
        let (ta, tb) = (interp.evaluate_traced_in(no, &line, &si), lineage.evaluate_traced_in(no, &line, &sj));
        assert_eq!(format!("{ta:?}"), format!("{tb:?}"), "event {no} with lineage: {line}");
        let mut fast = String::new();
        let writes = jit.evaluate_json_in(no, &line, &sj, &mut fast);
        assert_eq!(format!("{writes:?}"), format!("{:?}", b.writes), "event {no}: the fast path's writes");
        let mut shared = String::new();
        interp.write_outcome(&a, &mut shared);
        assert_eq!(shared, fast, "event {no}: the fast path's line");
        assert_eq!(si.apply(&p, &tables, &a.writes), sj.apply(&p, &tables, &b.writes), "event {no}: applying");
        runs.push(Run { line: fast, outcome: b, trace: tb.1 });
    }
    let (mut x, mut y) = (Vec::new(), Vec::new());
    si.write_snapshot(&p, &mut x).unwrap();
    sj.write_snapshot(&p, &mut y).unwrap();
    assert_eq!(String::from_utf8(x).unwrap(), String::from_utf8(y).unwrap(), "the state left");
    (runs, sj, p)
}

fn snapshot(store: &Store, pkg: &canon_compiler::ir::Package) -> String {
    let mut out = Vec::new();
    store.write_snapshot(pkg, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn steps(r: &Run) -> Vec<String> {
    r.trace.iter().map(TraceEvent::describe).collect()
}

const OPEN: &str = r#"
on Open as o {
  put accts Acct {
    id: o.id,
    region: o.region,
    n: o.n,
    balance: money(o.n, EUR),
    owner: Owner { name: upper(o.id), tier: if o.n > 10 then Gold else Silver },
    tags: [o.region, "new"],
    note: o.note,
  }
}
"#;

const SHOW: &str = r#"
on Show as s {
  let a = accts[s.id]
  require a != none else reject UNKNOWN "no account {s.id}"
  emit views View { id: a.id, n: a.n, balance: a.balance, owner: a.owner.name, tier: a.owner.tier, tags: a.tags, note: a.note ?? "-" }
}
"#;

#[test]
fn a_read_gives_the_record_or_none() {
    let (runs, _, _) = run(
        &format!("{OPEN}{SHOW}"),
        &[
            ("show", r#"{"id":"A"}"#),
            ("open", r#"{"id":"A","region":"EU","n":12,"note":"ÉtÉ \"q\""}"#),
            ("show", r#"{"id":"A"}"#),
            ("show", r#"{"id":"B"}"#),
        ],
    );
    assert_eq!(runs[0].outcome.status, Status::Rejected);
    assert_eq!(runs[0].outcome.rejections[0].message, "no account A");
    assert_eq!(steps(&runs[0])[0], "read accts[A]: not found");
    // Every kind of field comes back: Money, a nested record, an enum, a list, an optional.
    assert!(
        runs[2].line.contains(
            r#"{"destination":"views","record":{"id":"A","n":12,"balance":{"amount":"12","currency":"EUR"},"owner":"A","tier":"Gold","tags":["EU","new"],"note":"ÉtÉ \"q\""}}"#
        ),
        "{}",
        runs[2].line
    );
    assert_eq!(steps(&runs[2])[0], "read accts[A]: found");
    assert!(runs[2].outcome.writes.is_empty());
    assert_eq!(runs[3].outcome.status, Status::Rejected);
}

#[test]
fn a_read_sees_the_events_own_earlier_writes() {
    let handlers = r#"
on Open as o {
  let before = accts[o.id]?.n ?? -1
  put accts Acct { id: o.id, region: o.region, n: o.n, balance: 0 USD, owner: Owner { name: "x", tier: Silver }, tags: [] }
  let after = accts[o.id]
  require after != none else reject GONE "gone"
  emit views View { id: o.id, n: before, balance: after.balance, owner: after.owner.name, tier: after.owner.tier, tags: after.tags, note: "{after.n}" }
}
"#;
    let (runs, _, _) =
        run(handlers, &[("open", r#"{"id":"A","region":"EU","n":1}"#), ("open", r#"{"id":"A","region":"EU","n":2}"#)]);
    assert!(runs[0].line.contains(r#""n":-1,"#) && runs[0].line.contains(r#""note":"1""#), "{}", runs[0].line);
    assert!(runs[1].line.contains(r#""n":1,"#) && runs[1].line.contains(r#""note":"2""#), "{}", runs[1].line);
    assert_eq!(
        steps(&runs[1])[..3],
        [
            "read accts[A]: found".to_string(),
            "write accts[A] at s.canon:25: {\"id\":\"A\",\"region\":\"EU\",\"n\":1,\"balance\":{\"amount\":\"0\",\"currency\":\"USD\"},\"owner\":{\"name\":\"x\",\"tier\":\"Silver\"},\"tags\":[],\"note\":null} -> {\"id\":\"A\",\"region\":\"EU\",\"n\":2,\"balance\":{\"amount\":\"0\",\"currency\":\"USD\"},\"owner\":{\"name\":\"x\",\"tier\":\"Silver\"},\"tags\":[],\"note\":null}".to_string(),
            "read accts[A]: found".to_string(),
        ]
    );
}

#[test]
fn put_stores_under_the_records_key_and_replaces() {
    let handlers = r#"
on Open as o {
  put accts Acct { id: o.id, region: o.region, n: o.n, balance: 1.50 USD, owner: Owner { name: "x", tier: Silver }, tags: [] }
  put by_region Acct { id: o.id, region: o.region, n: o.n, balance: 1.50 USD, owner: Owner { name: "y", tier: Gold }, tags: ["t"] }
}
"#;
    let (runs, store, p) = run(
        handlers,
        &[
            ("open", r#"{"id":"A","region":"EU","n":1}"#),
            ("open", r#"{"id":"A","region":"US","n":2}"#),
            ("open", r#"{"id":"B","region":"EU","n":1}"#),
        ],
    );
    let w = &runs[1].outcome.writes;
    assert_eq!(w.len(), 2);
    assert!(w[0].before.is_some() && w[0].after.is_some(), "a put over a record replaces it");
    assert!(w[1].before.is_none(), "(US, 2) is a new key of by_region");
    assert!(runs[2].outcome.writes[1].before.is_some(), "(EU, 1) again");
    let snap = snapshot(&store, &p);
    assert_eq!(snap.lines().filter(|l| l.starts_with(r#"{"state":"accts""#)).count(), 2);
    assert!(snap.contains(r#"{"state":"accts","key":["A"],"record":{"id":"A","region":"US","n":2,"#), "{snap}");
    assert!(snap.contains(r#"{"state":"by_region","key":["EU",1],"record":{"id":"B","#), "{snap}");
    assert!(snap.contains(r#"{"state":"by_region","key":["US",2],"#), "{snap}");
}

#[test]
fn update_sets_the_named_fields_and_keeps_the_others() {
    let handlers = format!(
        r#"{OPEN}{SHOW}
on Pay as p {{
  update accts[p.id] {{ n: (accts[p.id]?.n ?? 0) + p.by, tags: ["paid"], note: none }}
}}
"#
    );
    let (runs, _, _) = run(
        &handlers,
        &[
            ("open", r#"{"id":"A","region":"EU","n":3,"note":"n"}"#),
            ("pay", r#"{"id":"A","by":4}"#),
            ("show", r#"{"id":"A"}"#),
        ],
    );
    assert_eq!(runs[1].outcome.status, Status::Accepted);
    assert!(
        runs[2].line.contains(
            r#""record":{"id":"A","n":7,"balance":{"amount":"3","currency":"EUR"},"owner":"A","tier":"Silver","tags":["paid"],"note":"-"}"#
        ),
        "{}",
        runs[2].line
    );
}

#[test]
fn update_of_a_missing_key_is_state_not_found_before_its_fields() {
    // The field's division by zero is never evaluated: the missing record
    // stops the handler first, with the interpreter's words.
    let handlers = r#"
on Pay as p {
  update accts[p.id] { balance: money(p.by / 0, USD) }
  emit views View { id: p.id, n: 0, balance: 0 USD, owner: "", tier: Gold, tags: [], note: "" }
}
"#;
    let (runs, _, _) = run(handlers, &[("pay", r#"{"id":"Z\"1","by":1}"#)]);
    let o = &runs[0].outcome;
    assert_eq!(o.status, Status::Rejected);
    assert_eq!(o.rejections.len(), 1);
    assert_eq!(&*o.rejections[0].code, "STATE_NOT_FOUND");
    assert_eq!(o.rejections[0].message, "update of accts[Z\"1]: there is no record with that key (at s.canon:24)");
    assert_eq!(o.rejections[0].at, "s.canon:24");
    assert!(o.writes.is_empty() && o.emits.is_empty());
    assert_eq!(steps(&runs[0]), ["rejected STATE_NOT_FOUND at s.canon:24"]);
}

#[test]
fn delete_removes_a_record_and_does_nothing_without_one() {
    let handlers = format!(
        r#"{OPEN}{SHOW}
on Drop as d {{
  delete accts[d.id]
  delete accts[d.id]
}}
"#
    );
    let (runs, store, p) = run(
        &handlers,
        &[
            ("drop", r#"{"id":"A"}"#),
            ("open", r#"{"id":"A","region":"EU","n":3}"#),
            ("drop", r#"{"id":"A"}"#),
            ("show", r#"{"id":"A"}"#),
        ],
    );
    assert_eq!(runs[0].outcome.status, Status::Accepted);
    assert!(runs[0].outcome.writes.is_empty() && runs[0].trace.is_empty(), "nothing to delete: no write");
    let w = &runs[2].outcome.writes;
    assert_eq!(w.len(), 1, "the second delete finds nothing");
    assert!(w[0].before.is_some() && w[0].after.is_none());
    assert_eq!(steps(&runs[2]).len(), 1);
    assert!(steps(&runs[2])[0].ends_with(" -> none"), "{:?}", steps(&runs[2]));
    assert_eq!(runs[3].outcome.status, Status::Rejected);
    assert_eq!(snapshot(&store, &p), "");
}

#[test]
fn a_rejected_event_writes_nothing_but_its_lineage_shows_the_writes() {
    let handlers = r#"
on Open as o {
  put accts Acct { id: o.id, region: o.region, n: o.n, balance: 0 USD, owner: Owner { name: "x", tier: Silver }, tags: [] }
  check o.n > 0 else reject NOT_POSITIVE "n is {o.n}"
  delete accts["other"]
}
"#;
    let (runs, store, p) =
        run(handlers, &[("open", r#"{"id":"A","region":"EU","n":0}"#), ("open", r#"{"id":"B","region":"EU","n":1}"#)]);
    assert_eq!(runs[0].outcome.status, Status::Rejected);
    assert!(runs[0].outcome.writes.is_empty());
    assert_eq!(steps(&runs[0]).len(), 2);
    assert!(steps(&runs[0])[0].starts_with("write accts[A] at s.canon:24: none -> {"));
    assert_eq!(steps(&runs[0])[1], "rejected NOT_POSITIVE at s.canon:25");
    assert!(!snapshot(&store, &p).contains(r#""key":["A"]"#));
    assert!(snapshot(&store, &p).contains(r#""key":["B"]"#));
}

#[test]
fn a_record_read_stays_readable_after_the_event_overwrites_it() {
    // The cells of a read borrow the record's text: a later put of the same
    // key (and, in `canon run`, the writes applied after the line is
    // written) must not free it under them.
    let handlers = r#"
on Open as o {
  let old = accts[o.id]
  put accts Acct { id: o.id, region: "{o.region}-{o.n}", n: o.n, balance: 0 USD, owner: Owner { name: "n{o.n}", tier: Silver }, tags: ["t{o.n}"] }
  delete accts[o.id]
  put accts Acct { id: o.id, region: "z", n: 0, balance: 0 USD, owner: Owner { name: "z", tier: Gold }, tags: [] }
  if old != none {
    emit views View { id: old.id, n: old.n, balance: old.balance, owner: old.owner.name, tier: old.owner.tier, tags: old.tags, note: old.region }
  }
}
"#;
    let (runs, _, _) =
        run(handlers, &[("open", r#"{"id":"A","region":"EU","n":1}"#), ("open", r#"{"id":"A","region":"US","n":2}"#)]);
    assert_eq!(runs[1].outcome.status, Status::Accepted);
    // `old` is what the first event left: its last put.
    assert!(runs[1].line.contains(r#""owner":"z","tier":"Gold","tags":[],"note":"z""#), "{}", runs[1].line);
    assert_eq!(runs[1].outcome.writes.len(), 3);
}
