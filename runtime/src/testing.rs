//! `canon test`: runs a package's `test` blocks (LANGUAGE.md §9).

use std::path::Path;
use std::sync::Arc;

use canon_compiler::ir::{self, Status as TStatus, TestStmt};
use canon_compiler::types::Ty;

use crate::coverage::Recorder;
use crate::engine::{Engine, Envelope, Outcome, Status};
use crate::interp::Interp;
use crate::state::{Store, Txn};
use crate::tables::Tables;
use crate::value::Value;

/// The result of one test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    pub name: String,
    pub at: String,
    /// `None` when it passed, else why it failed.
    pub failure: Option<String>,
    /// How long it ran (JUnit reports show it).
    pub duration: std::time::Duration,
}

enum Given {
    None,
    Data(canon_compiler::types::RecordId, Value),
    File(String),
}

/// Runs every test of the package against `base` tables (from `data/`).
pub fn run_tests(pkg: &Arc<ir::Package>, base: &Tables, root: &Path) -> Vec<TestResult> {
    run_tests_covered(pkg, base, root, None)
}

/// As [`run_tests`]; with `coverage`, records the points of `pkg` the
/// tests reach (`canon test --coverage`, RUNTIME.md §3.2).
pub fn run_tests_covered(
    pkg: &Arc<ir::Package>,
    base: &Tables,
    root: &Path,
    coverage: Option<&Recorder>,
) -> Vec<TestResult> {
    pkg.tests.iter().map(|t| run_test(pkg, base, root, t, coverage)).collect()
}

fn run_test(
    pkg: &Arc<ir::Package>,
    base: &Tables,
    root: &Path,
    t: &ir::TestDef,
    coverage: Option<&Recorder>,
) -> TestResult {
    let at = pkg.loc_string(t.loc);
    let start = std::time::Instant::now();
    let failure = run_steps(pkg, base, root, t, coverage).err();
    TestResult { name: t.name.clone(), at, failure, duration: start.elapsed() }
}

fn run_steps(
    pkg: &Arc<ir::Package>,
    base: &Tables,
    root: &Path,
    t: &ir::TestDef,
    coverage: Option<&Recorder>,
) -> Result<(), String> {
    let mut tables = base.clone();
    let mut store = Store::new(pkg);
    let mut frame = vec![Value::None; t.n_locals.max(1) as usize];
    // The event of the last `given`, evaluated when an expectation (or the
    // next `given`) needs its outcome, so `with` may follow `given`.
    let mut given = Given::None;
    let mut outcome: Option<Outcome> = None;
    let meta = Value::None;
    let fail = |f: crate::outcome::Fault| format!("{}: {}", f.code.as_str(), f.message);
    for s in &t.stmts {
        if matches!(s, TestStmt::Given { .. } | TestStmt::GivenFile { .. }) {
            settle(pkg, &tables, &mut store, &mut given, &mut outcome, coverage)?;
        }
        let txn = Txn::new(&store);
        let interp =
            Interp { pkg, tables: &tables, meta: &meta, trace: None, state: Some(&txn), coverage, decisions: None };
        match s {
            TestStmt::Let { slot, value } => {
                let v = interp.eval(value, &mut frame).map_err(fail)?;
                if let Some(x) = frame.get_mut(*slot as usize) {
                    *x = v;
                }
            }
            TestStmt::Assert { cond, loc, text } => {
                settle(pkg, &tables, &mut store, &mut given, &mut outcome, coverage)?;
                let txn = Txn::new(&store);
                let interp = Interp {
                    pkg,
                    tables: &tables,
                    meta: &meta,
                    trace: None,
                    state: Some(&txn),
                    coverage,
                    decisions: None,
                };
                match interp.eval(cond, &mut frame) {
                    Ok(Value::Bool(true)) => {}
                    Ok(_) => return Err(format!("assertion failed at {}: {text}", pkg.loc_string(*loc))),
                    Err(f) => {
                        return Err(format!(
                            "assertion at {} rejected with {}: {}",
                            pkg.loc_string(*loc),
                            f.code.as_str(),
                            f.message
                        ))
                    }
                }
            }
            TestStmt::Given { event, data } => {
                let v = interp.eval(data, &mut frame).map_err(fail)?;
                given = Given::Data(*event, v);
                outcome = None;
            }
            TestStmt::GivenFile { path, loc } => {
                let p = root.join(path);
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| format!("cannot read `{}` (at {}): {e}", p.display(), pkg.loc_string(*loc)))?;
                given = Given::File(text);
                outcome = None;
            }
            TestStmt::With { table, rows } => {
                let mut vals = Vec::new();
                for r in rows {
                    vals.push(interp.eval(r, &mut frame).map_err(fail)?);
                }
                tables.set_rows(pkg, *table, vals)?;
                outcome = None;
            }
            TestStmt::WithState { state, rows } => {
                let mut vals = Vec::new();
                for r in rows {
                    vals.push(interp.eval(r, &mut frame).map_err(fail)?);
                }
                drop(txn);
                store.clear(pkg, &tables, *state).map_err(fail)?;
                for v in vals {
                    store.load_record(pkg, &tables, *state, v).map_err(fail)?;
                }
            }
            expectation => {
                drop(txn);
                settle(pkg, &tables, &mut store, &mut given, &mut outcome, coverage)?;
                if let TestStmt::ExpectState { .. } = expectation {
                    check_state(pkg, &tables, &store, expectation, &mut frame, coverage)?;
                    continue;
                }
                let Some(o) = &outcome else { return Err("an `expect` needs a `given` event first".into()) };
                check_expectation(pkg, o, expectation, &tables, &store, &mut frame, coverage)?;
            }
        }
    }
    Ok(())
}

/// Evaluates the pending `given` (if any) against the state, and applies its writes.
fn settle(
    pkg: &Arc<ir::Package>,
    tables: &Tables,
    store: &mut Store,
    given: &mut Given,
    outcome: &mut Option<Outcome>,
    coverage: Option<&Recorder>,
) -> Result<(), String> {
    if outcome.is_some() {
        return Ok(());
    }
    let engine = Engine::new(pkg.clone(), tables.clone());
    let mut o = match std::mem::replace(given, Given::None) {
        Given::None => return Ok(()),
        Given::File(text) => {
            let one_line: String = serde_json::from_str::<serde_json::Value>(&text)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| text.clone());
            match coverage {
                Some(c) => engine.evaluate_covered(1, &one_line, &*store, c),
                None => engine.evaluate_in(1, &one_line, &*store),
            }
        }
        Given::Data(event, v) => {
            let rec = pkg.record(event);
            let ty = rec.and_then(|r| r.event_type.clone()).unwrap_or_default();
            let env = Envelope::for_test(&ty);
            let mut data = String::new();
            crate::encode::value(&mut data, pkg, &Ty::Record(event), &v);
            match coverage {
                Some(c) => engine.evaluate_envelope_covered(1, &env, &data, &*store, c),
                None => engine.evaluate_envelope_in(1, &env, &data, &*store),
            }
        }
    };
    let writes = std::mem::take(&mut o.writes);
    if let Err(f) = store.apply(pkg, tables, &writes) {
        let at = pkg.loc_string(f.loc);
        o.status = Status::Rejected;
        o.emits.clear();
        o.rejections.push(f.into_rejection(at));
    }
    *outcome = Some(o);
    Ok(())
}

fn check_state(
    pkg: &Arc<ir::Package>,
    tables: &Tables,
    store: &Store,
    s: &TestStmt,
    frame: &mut [Value],
    coverage: Option<&Recorder>,
) -> Result<(), String> {
    let TestStmt::ExpectState { state, keys, record, loc, text } = s else { return Ok(()) };
    let meta = Value::None;
    let txn = Txn::new(store);
    let interp = Interp { pkg, tables, meta: &meta, trace: None, state: Some(&txn), coverage, decisions: None };
    let fail = |f: crate::outcome::Fault| format!("{}: {}", f.code.as_str(), f.message);
    let mut key = Vec::new();
    for k in keys {
        key.push(crate::value::KeyPart::of(&interp.eval(k, frame).map_err(fail)?));
    }
    let Some(def) = pkg.state(*state) else { return Ok(()) };
    let shown_key = crate::state::describe_key(pkg, def, &key);
    let actual = store.record(*state, &key);
    let at = pkg.loc_string(*loc);
    match (record, actual) {
        (None, None) => Ok(()),
        (None, Some(v)) => Err(format!(
            "expected no record at {}[{shown_key}] at {at}, found {}",
            def.name,
            crate::state::record_json(pkg, def, v)
        )),
        (Some(_), None) => {
            Err(format!("expected a record at {}[{shown_key}] matching {text} at {at}, found none", def.name))
        }
        (Some((_, fields)), Some(v)) => {
            let mut wanted = Vec::new();
            for f in fields {
                wanted.push(match f {
                    Some(e) => Some(interp.eval(e, frame).map_err(fail)?),
                    None => None,
                });
            }
            let ok = match v {
                Value::Record(actual) => {
                    wanted.iter().zip(actual.iter()).all(|(w, a)| w.as_ref().map(|w| w == a).unwrap_or(true))
                }
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "expected {}[{shown_key}] to match {text} at {at}, found {}",
                    def.name,
                    crate::state::record_json(pkg, def, v)
                ))
            }
        }
    }
}

/// The outcome in short, for a failed expectation: its status, then each
/// rejection and each emit on a line of its own.
fn describe(pkg: &ir::Package, o: &Outcome) -> String {
    let mut s = String::from(o.status.as_str());
    for r in &o.rejections {
        s.push_str(&format!("\n    rejection {} {}", r.code, quote(&r.message)));
        if !r.at.is_empty() {
            s.push_str(&format!(" at {}", r.at));
        }
    }
    for (d, v) in &o.emits {
        s.push_str(&format!("\n    emit {}", emit_text(pkg, *d, v)));
    }
    s
}

fn quote(text: &str) -> String {
    let mut s = String::new();
    crate::encode::json_str(&mut s, text);
    s
}

fn dest_name(pkg: &ir::Package, d: ir::DestId) -> &str {
    pkg.destinations.get(d.0 as usize).map(|d| d.name.as_str()).unwrap_or("")
}

/// `dest {json}`: an emit as it is delivered.
fn emit_text(pkg: &ir::Package, d: ir::DestId, v: &Value) -> String {
    let mut s = String::new();
    s.push_str(dest_name(pkg, d));
    s.push(' ');
    let ty = pkg.destinations.get(d.0 as usize).map(|x| Ty::Record(x.record)).unwrap_or(Ty::Error);
    crate::encode::value(&mut s, pkg, &ty, v);
    s
}

fn field_text(pkg: &ir::Package, ty: &Ty, v: &Value) -> String {
    let mut s = String::new();
    crate::encode::value(&mut s, pkg, ty, v);
    s
}

/// The fields of `actual` that differ from `wanted` (`None`: not checked),
/// each `field: expected X, got Y`.
fn field_diffs(
    pkg: &ir::Package,
    record: canon_compiler::types::RecordId,
    wanted: &[Option<Value>],
    actual: &Value,
) -> Vec<String> {
    let Value::Record(actual) = actual else { return vec!["not a record".into()] };
    let fields = pkg.record(record).map(|r| r.fields.as_slice()).unwrap_or(&[]);
    let mut out = Vec::new();
    for (i, (w, a)) in wanted.iter().zip(actual.iter()).enumerate() {
        let Some(w) = w else { continue };
        if w != a {
            let (name, ty) = fields.get(i).map(|f| (f.name.as_str(), f.ty.clone())).unwrap_or(("?", Ty::Error));
            out.push(format!("{name}: expected {}, got {}", field_text(pkg, &ty, w), field_text(pkg, &ty, a)));
        }
    }
    out
}

/// Evaluates an expected record's fields.
fn wanted_fields(
    interp: &Interp<'_>,
    fields: &[Option<ir::Expr>],
    frame: &mut [Value],
) -> Result<Vec<Option<Value>>, String> {
    let mut wanted = Vec::new();
    for f in fields {
        wanted.push(match f {
            Some(e) => Some(interp.eval(e, frame).map_err(|f| format!("{}: {}", f.code.as_str(), f.message))?),
            None => None,
        });
    }
    Ok(wanted)
}

fn message_matches(how: ir::MessageMatch, want: &str, got: &str) -> bool {
    match how {
        ir::MessageMatch::Exact => got == want,
        ir::MessageMatch::Prefix => got.starts_with(want),
        ir::MessageMatch::Suffix => got.ends_with(want),
        ir::MessageMatch::Contains => got.contains(want),
    }
}

fn describe_message(how: ir::MessageMatch, want: &str) -> String {
    let q = quote(want);
    match how {
        ir::MessageMatch::Exact => format!("message {q}"),
        ir::MessageMatch::Prefix => format!("a message starting {q}"),
        ir::MessageMatch::Suffix => format!("a message ending {q}"),
        ir::MessageMatch::Contains => format!("a message containing {q}"),
    }
}

fn check_expectation(
    pkg: &Arc<ir::Package>,
    o: &Outcome,
    s: &TestStmt,
    tables: &Tables,
    store: &Store,
    frame: &mut [Value],
    coverage: Option<&Recorder>,
) -> Result<(), String> {
    let meta = Value::None;
    let txn = Txn::new(store);
    let interp = Interp { pkg, tables, meta: &meta, trace: None, state: Some(&txn), coverage, decisions: None };
    match s {
        TestStmt::ExpectStatus { status, loc } => {
            let want = match status {
                TStatus::Accepted => Status::Accepted,
                TStatus::Rejected => Status::Rejected,
                TStatus::Ignored => Status::Ignored,
            };
            if o.status != want {
                return Err(format!(
                    "expected {} at {}, got {}",
                    want.as_str(),
                    pkg.loc_string(*loc),
                    describe(pkg, o)
                ));
            }
        }
        TestStmt::ExpectReject { code, message, times, loc } => {
            let same_code: Vec<_> = o.rejections.iter().filter(|r| &*r.code == code.as_str()).collect();
            let n = same_code
                .iter()
                .filter(|r| message.as_ref().map(|(how, m)| message_matches(*how, m, &r.message)).unwrap_or(true))
                .count();
            let ok = match times {
                Some(t) => n == *t as usize,
                None => n > 0,
            };
            if !ok {
                let what = match message {
                    Some((how, m)) => format!("{code} with {}", describe_message(*how, m)),
                    None => code.clone(),
                };
                let want = match times {
                    Some(1) | None => format!("a rejection {what}"),
                    Some(t) => format!("{t} rejections {what}"),
                };
                let got = match (n, same_code.len()) {
                    (0, 0) => format!("none with code {code}"),
                    (0, k) => format!("{k} with code {code} but not that message"),
                    (n, _) => n.to_string(),
                };
                return Err(format!(
                    "expected {want} at {}, got {got}; the event was {}",
                    pkg.loc_string(*loc),
                    describe(pkg, o)
                ));
            }
        }
        TestStmt::ExpectNoEmit { dests, name, loc } => {
            let found: Vec<String> =
                o.emits.iter().filter(|(d, _)| dests.contains(d)).map(|(d, v)| emit_text(pkg, *d, v)).collect();
            if !found.is_empty() {
                return Err(format!(
                    "expected no emit to {name} at {}, got {}:\n    {}",
                    pkg.loc_string(*loc),
                    found.len(),
                    found.join("\n    ")
                ));
            }
        }
        TestStmt::ExpectEmit { dest, record, fields, loc, text } => {
            let wanted = wanted_fields(&interp, fields, frame)?;
            let mut closest: Option<Vec<String>> = None;
            for (d, v) in &o.emits {
                if d != dest {
                    continue;
                }
                let diffs = field_diffs(pkg, *record, &wanted, v);
                if diffs.is_empty() {
                    return Ok(());
                }
                if closest.as_ref().map(|c| diffs.len() < c.len()).unwrap_or(true) {
                    closest = Some(diffs);
                }
            }
            let name = dest_name(pkg, *dest);
            let at = pkg.loc_string(*loc);
            return Err(match closest {
                Some(diffs) => format!(
                    "expected an emit to {name} matching {text} at {at}; the nearest emit to {name} differs:\n    {}",
                    diffs.join("\n    ")
                ),
                None => format!(
                    "expected an emit to {name} matching {text} at {at}, got none to {name}; the event was {}",
                    describe(pkg, o)
                ),
            });
        }
        TestStmt::ExpectExactly { emits, loc } => {
            let mut problems = Vec::new();
            for i in 0..emits.len().max(o.emits.len()) {
                match (emits.get(i), o.emits.get(i)) {
                    (Some(e), Some((d, v))) => {
                        if *d != e.dest {
                            problems.push(format!(
                                "emit {}: expected one to {} matching {}, got {}",
                                i + 1,
                                dest_name(pkg, e.dest),
                                e.text,
                                emit_text(pkg, *d, v)
                            ));
                            continue;
                        }
                        let wanted = wanted_fields(&interp, &e.fields, frame)?;
                        for diff in field_diffs(pkg, e.record, &wanted, v) {
                            problems.push(format!("emit {} to {}: {diff}", i + 1, dest_name(pkg, e.dest)));
                        }
                    }
                    (Some(e), None) => problems.push(format!(
                        "emit {}: missing, expected one to {} matching {}",
                        i + 1,
                        dest_name(pkg, e.dest),
                        e.text
                    )),
                    (None, Some((d, v))) => problems.push(format!("emit {}: extra, {}", i + 1, emit_text(pkg, *d, v))),
                    (None, None) => {}
                }
            }
            if !problems.is_empty() {
                let mut msg = format!(
                    "expected exactly {} emit{} at {}, got {}:",
                    emits.len(),
                    if emits.len() == 1 { "" } else { "s" },
                    pkg.loc_string(*loc),
                    o.emits.len()
                );
                if o.status != Status::Accepted {
                    msg = format!("{msg} (the event was {})", describe(pkg, o));
                }
                for p in problems {
                    msg.push_str("\n    ");
                    msg.push_str(&p);
                }
                return Err(msg);
            }
        }
        _ => {}
    }
    Ok(())
}
