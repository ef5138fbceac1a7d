//! `canon diff` (RUNTIME.md §3.4): what a new version of a package changes,
//! first in the records it emits ([`schema::changes`], before any event),
//! then on a corpus of events replayed through both versions
//! ([`replay`]), each side with its own state in input order, as `canon run`
//! keeps it; and a summary with the money delta per destination, Money
//! field, currency and `--by` group, in exact decimals.
//!
//! The engines are behind [`Evaluate`], so the comparison runs with the
//! interpreter here and with the JIT in the CLI; the report is written as
//! text for people or as one JSON document ([`report`]).
//!
//! ```
//! use std::path::PathBuf;
//! use std::sync::Arc;
//! use canon_runtime::diff::{self, Comparer, Side};
//! use canon_runtime::input::InputReader;
//! use canon_runtime::{package, Engine, Tables};
//!
//! let pkg = |rate: &str| {
//!     let src = format!(
//!         "event Hours as \"hours\" {{ n: Decimal }}\n\
//!          record Line {{ entity: Text, amount: Money }}\n\
//!          destination erp: Line\n\
//!          on Hours as h {{ emit erp Line {{ entity: \"US01\", amount: round({rate} USD * h.n, 2) }} }}\n"
//!     );
//!     let p = package::from_sources(PathBuf::from("."), vec![("p.canon".into(), src)]);
//!     assert!(!p.has_errors(), "{:?}", p.diagnostics());
//!     p.package()
//! };
//! let (old, new) = (pkg("100.00"), pkg("110.00"));
//! let old_engine = Engine::new(old.clone(), Tables::empty(&old));
//! let new_engine = Engine::new(new.clone(), Tables::empty(&new));
//! let mut comparer = Comparer::new(old.clone(), new.clone(), &["entity".to_string()]).unwrap();
//! let events = "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"t\",\"type\":\"hours\",\"data\":{\"n\":\"2\"}}\n";
//! let mut changed = Vec::new();
//! diff::replay(
//!     &mut comparer,
//!     &mut Side::new(&old_engine, old_engine.tables(), None),
//!     &mut Side::new(&new_engine, new_engine.tables(), None),
//!     &mut InputReader::new(events.as_bytes()),
//!     &mut |c| { changed.push(c.clone()); Ok(()) },
//! ).unwrap();
//! let summary = comparer.summary();
//! assert_eq!(changed.len(), 1);
//! assert_eq!(summary.money[0].delta, "20.00");
//! assert_eq!(summary.money[0].by["entity"].get(), "\"US01\"");
//! ```

pub mod compare;
pub mod report;
pub mod schema;

use std::collections::BTreeMap;
use std::io::Read;

use canon_stdlib::num;
use serde::Serialize;
use serde_json::value::RawValue;

pub use compare::{ChangeCounts, Comparer, EmitChange, EventChange, FieldChange, UnknownByField};
pub use schema::{ChangeKind, SchemaChange};

use crate::engine::Outcome;
use crate::input::{not_utf8_outcome, InputReader, Line};
use crate::state::{NoState, StateView, Store};
use crate::tables::Tables;

/// An engine that evaluates one line of input against a state: the
/// interpreter's [`crate::Engine`], or the CLI's evaluator (the JIT).
pub trait Evaluate {
    fn package(&self) -> &canon_compiler::ir::Package;
    /// The outcome of one input line against `state` (its writes not applied).
    fn evaluate_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Outcome;
}

impl Evaluate for crate::Engine {
    fn package(&self) -> &canon_compiler::ir::Package {
        crate::Engine::package(self)
    }
    fn evaluate_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Outcome {
        crate::Engine::evaluate_in(self, line_no, line, state)
    }
}

/// One side of the comparison: its engine, its tables and, for a package
/// with state, the state its events have left so far.
pub struct Side<'a> {
    engine: &'a dyn Evaluate,
    tables: &'a Tables,
    store: Option<Store>,
}

impl<'a> Side<'a> {
    /// A side starting from `store`, or from an empty state when its package
    /// has state and none is given.
    pub fn new(engine: &'a dyn Evaluate, tables: &'a Tables, store: Option<Store>) -> Side<'a> {
        let pkg = engine.package();
        let store = store.or_else(|| pkg.has_state().then(|| Store::new(pkg)));
        Side { engine, tables, store }
    }

    /// The outcome of one line, its writes applied to this side's state
    /// (a metric's fault rejects the event instead, as in `canon run`).
    fn evaluate(&mut self, line_no: u64, line: &str) -> Outcome {
        match &mut self.store {
            None => self.engine.evaluate_in(line_no, line, &NoState),
            Some(store) => {
                let mut o = self.engine.evaluate_in(line_no, line, store);
                store.apply_outcome(self.engine.package(), self.tables, &mut o, false);
                o
            }
        }
    }

    /// The state this side has reached (for a package with state).
    pub fn into_store(self) -> Option<Store> {
        self.store
    }
}

/// Replays every line of `input` through both sides, in input order, and
/// hands each changed event to `on_change` as soon as it is known (a long
/// corpus is never held in memory). Blank lines are skipped; a line that is
/// not UTF-8 or not a CloudEvent gets its `invalid` outcome on both sides,
/// as `canon run` writes it. An error reading the input or from
/// `on_change` stops the replay.
pub fn replay<R: Read>(
    comparer: &mut Comparer,
    old: &mut Side<'_>,
    new: &mut Side<'_>,
    input: &mut InputReader<R>,
    on_change: &mut dyn FnMut(&EventChange) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let Some(line) = input.read_line(&mut buf)? else { break };
        buf.truncate(line.range.end);
        let (a, b) = match Line::of(&buf) {
            Line::Blank => continue,
            Line::NotUtf8 => (not_utf8_outcome(line.number), not_utf8_outcome(line.number)),
            Line::Event(text) => (old.evaluate(line.number, text), new.evaluate(line.number, text)),
        };
        if let Some(change) = comparer.compare(&a, &b) {
            on_change(&change)?;
        }
    }
    Ok(())
}

/// The identity of one side, for the report's header.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Version {
    /// The package directory as given.
    pub path: String,
    /// `name@version` from `canon.toml`'s `[package]`; `None`: unversioned.
    pub label: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub owner: Option<String>,
    pub effective_from: Option<String>,
    /// SHA-256 of the sources and data files (the pipeline's package version), when it could be read.
    pub content_hash: Option<String>,
}

impl Version {
    /// The header's side for a package at `path` with its manifest.
    pub fn of(path: &str, manifest: Option<&crate::manifest::Manifest>, content_hash: Option<String>) -> Version {
        Version {
            path: path.to_string(),
            label: manifest.map(|m| m.label()),
            name: manifest.map(|m| m.name.clone()),
            version: manifest.map(|m| m.version.to_string()),
            owner: manifest.and_then(|m| m.owner.clone()),
            effective_from: manifest.and_then(|m| m.effective_from.map(|d| d.to_string())),
            content_hash,
        }
    }
}

/// The report's header.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Header {
    pub old: Version,
    pub new: Version,
    /// The events file as given.
    pub events_file: String,
    /// The `--by` fields.
    pub by: Vec<String>,
}

/// The summary of a replay.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Events compared (every line but blank ones).
    pub events: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Breaking changes of the destinations' records.
    pub breaking: usize,
    /// Per event type (`null`: lines that were not CloudEvents), sorted by type.
    pub by_type: Vec<TypeCount>,
    /// How many changed events show each kind of change.
    pub by_change: ChangeCounts,
    /// Status transitions (`accepted` → `rejected` …), sorted.
    pub status_changes: Vec<StatusChange>,
    /// The money groups: every Money field of every emitted record, summed
    /// on each side per destination, field, currency and `--by` values.
    pub money: Vec<MoneyGroup>,
    /// `--by` fields that some destinations with Money fields lack (their
    /// groups show the field as absent), with those destinations.
    pub by_missing: Vec<ByMissing>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeCount {
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub events: u64,
    pub changed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub old: &'static str,
    pub new: &'static str,
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ByMissing {
    pub field: String,
    pub destinations: Vec<String>,
}

/// One money group: the sums of old and new, exact.
#[derive(Debug, Clone, Serialize)]
pub struct MoneyGroup {
    pub destination: String,
    /// The Money field's wire name.
    pub field: String,
    pub currency: String,
    /// Each `--by` field's value as JSON; a field the destination's record
    /// lacks is left out.
    pub by: BTreeMap<String, Box<RawValue>>,
    pub old: String,
    pub new: String,
    /// New minus old.
    pub delta: String,
    /// How many emitted records the sums add up, on each side.
    pub old_emits: u64,
    pub new_emits: u64,
    /// A sum went past the range of a decimal: the figures are not exact.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub overflow: bool,
}

impl MoneyGroup {
    /// Whether the group's total or its number of records changed.
    pub fn changed(&self) -> bool {
        self.old_emits != self.new_emits || self.old != self.new || self.overflow
    }
}

impl Comparer {
    /// The summary of what has been compared so far (`breaking` is 0: the
    /// caller sets it from [`schema::changes`]).
    pub fn summary(&self) -> Summary {
        let mut by_type: Vec<TypeCount> = self
            .by_type
            .iter()
            .map(|(t, (events, changed))| TypeCount { event_type: Some(t.clone()), events: *events, changed: *changed })
            .collect();
        if self.untyped.0 > 0 {
            by_type.push(TypeCount { event_type: None, events: self.untyped.0, changed: self.untyped.1 });
        }
        by_type.sort_by(|a, b| a.event_type.cmp(&b.event_type));
        let mut status_changes: Vec<StatusChange> =
            self.status_changes.iter().map(|((a, b), n)| StatusChange { old: a, new: b, events: *n }).collect();
        status_changes.sort_by(|a, b| (a.old, a.new).cmp(&(b.old, b.new)));
        let mut money: Vec<MoneyGroup> = self
            .money
            .iter()
            .flat_map(|(key, groups)| groups.iter().map(move |(group, t)| (key, group, t)))
            .map(|((dest, field, currency), group, t)| {
                let by = self
                    .by
                    .iter()
                    .zip(group)
                    .filter_map(|(name, v)| {
                        let v = v.as_ref()?;
                        Some((name.clone(), RawValue::from_string(v.clone()).ok()?))
                    })
                    .collect();
                // A side with no record of the group shows zero at the other side's scale.
                let zero = |d: &canon_stdlib::Decimal| canon_stdlib::Decimal::new(0, d.scale());
                let old = if t.old_emits == 0 { zero(&t.new) } else { t.old };
                let new = if t.new_emits == 0 { zero(&t.old) } else { t.new };
                let delta = num::sub(new, old).unwrap_or_default();
                MoneyGroup {
                    destination: self.dest_name(*dest).to_string(),
                    field: self.money_field(*dest, *field).to_string(),
                    currency: currency.as_str().to_string(),
                    by,
                    old: num::to_string(&old),
                    new: num::to_string(&new),
                    delta: num::to_string(&delta),
                    old_emits: t.old_emits,
                    new_emits: t.new_emits,
                    overflow: t.overflow,
                }
            })
            .collect();
        money.sort_by(|a, b| {
            let key = |m: &MoneyGroup| {
                let by: Vec<(String, String)> = m.by.iter().map(|(k, v)| (k.clone(), v.get().to_string())).collect();
                (m.destination.clone(), m.field.clone(), m.currency.clone(), by)
            };
            key(a).cmp(&key(b))
        });
        Summary {
            events: self.events,
            changed: self.changed,
            unchanged: self.events - self.changed,
            breaking: 0,
            by_type,
            by_change: self.counts.clone(),
            status_changes,
            money,
            by_missing: self
                .by_missing()
                .into_iter()
                .map(|(field, destinations)| ByMissing { field, destinations })
                .collect(),
        }
    }
}

/// Whether anything differs: a breaking change or a changed event (what
/// `--fail-on-change` fails on; a non-breaking schema change alone does not).
pub fn anything_changed(breaking: &[SchemaChange], summary: &Summary) -> bool {
    breaking.iter().any(|c| c.breaking) || summary.changed > 0
}
