//! One event's two outcomes compared (RUNTIME.md §3.4): the status, the
//! rejections, and each destination's emits in order, record field by field
//! (by wire name, with the delta of a Money field); and the tallies the
//! summary is made of, Money summed exactly per destination, field,
//! currency and `--by` group.

use std::collections::BTreeMap;
use std::sync::Arc;

use canon_compiler::ir;
use canon_compiler::types::{RecordId, Ty};
use canon_stdlib::{num, Currency, Decimal};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::value::RawValue;

use super::schema::same_wire_type;
use crate::encode;
use crate::engine::Outcome;
use crate::value::Value;

/// The two sides of a pair of values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair<T> {
    pub old: T,
    pub new: T,
}

/// What changed for one event. Only events that changed are reported.
#[derive(Debug, Clone, Serialize)]
pub struct EventChange {
    pub line: u64,
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// The kinds of change, in the order of [`ChangeCounts`]'s fields.
    pub changes: Vec<&'static str>,
    /// `accepted`, `rejected`, `ignored` or `invalid` on each side, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Pair<&'static str>>,
    /// Every rejection on each side, when their codes or messages changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejections: Option<Pair<Vec<RejectionText>>>,
    /// The emits that changed, were added or removed, by destination in the
    /// order the new package's (then the old one's) outcome names them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emits: Vec<EmitChange>,
}

/// A rejection as the report shows it (its place in the package is left
/// out: it moves with every edit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectionText {
    pub code: String,
    pub message: String,
}

/// One emit of an event that differs.
#[derive(Debug, Clone, Serialize)]
pub struct EmitChange {
    pub destination: String,
    /// Its place among the event's emits to that destination, from 0.
    pub index: usize,
    /// `changed`, `added` (only the new package emits it) or `removed`.
    pub change: &'static str,
    /// The record's `--by` fields (of the new record; of the old one when
    /// removed), so a reader sees whose posting it is; a field the record
    /// lacks is left out.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by: BTreeMap<String, Box<RawValue>>,
    /// The whole record, for an emit added or removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Box<RawValue>>,
    /// The fields that differ, for a changed emit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// A field of a record that differs: its wire path and both values as the
/// outcome writes them (absent on the side whose record has no such field).
#[derive(Debug, Clone, Serialize)]
pub struct FieldChange {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Box<RawValue>>,
    /// New minus old, for Money in one currency on both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<MoneyText>,
    /// The values as the text report shows them (`1036.80 USD`, `"US01"`,
    /// `(absent)`).
    #[serde(skip)]
    pub old_text: String,
    #[serde(skip)]
    pub new_text: String,
}

/// An amount of money as the JSON report writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoneyText {
    pub amount: String,
    pub currency: String,
}

/// How many changed events show each kind of change (an event may show
/// several: one newly rejected shows `status`, `rejection_codes` and
/// `emits_removed`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeCounts {
    pub status: u64,
    pub rejection_codes: u64,
    pub rejection_messages: u64,
    pub records_changed: u64,
    pub emits_added: u64,
    pub emits_removed: u64,
}

impl ChangeCounts {
    /// Each kind's name (as in the JSON) and count, in order.
    pub fn entries(&self) -> [(&'static str, u64); 6] {
        [
            ("status", self.status),
            ("rejection_codes", self.rejection_codes),
            ("rejection_messages", self.rejection_messages),
            ("records_changed", self.records_changed),
            ("emits_added", self.emits_added),
            ("emits_removed", self.emits_removed),
        ]
    }
}

/// One destination as both packages see it, matched by wire name.
struct Dest {
    name: String,
    old: Option<RecordId>,
    new: Option<RecordId>,
    /// The two records are read and written alike: values compare directly.
    same_type: bool,
    /// Its Money fields (of either side), by wire name.
    money: Vec<FieldAt>,
    /// Each `--by` field's place in either record.
    by: Vec<FieldAt>,
}

/// A field of a destination's record by wire name: its index and type on each side.
struct FieldAt {
    wire: String,
    old: Option<(usize, Ty)>,
    new: Option<(usize, Ty)>,
}

impl FieldAt {
    fn of(wire: &str, old: Option<(&ir::Package, RecordId)>, new: Option<(&ir::Package, RecordId)>) -> FieldAt {
        let at = |side: Option<(&ir::Package, RecordId)>| {
            let (pkg, rec) = side?;
            let def = pkg.record(rec)?;
            let i = def.field_by_wire(wire)? as usize;
            Some((i, def.fields.get(i)?.ty.clone()))
        };
        FieldAt { wire: wire.to_string(), old: at(old), new: at(new) }
    }
}

/// Which outcome a tally counts for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Old,
    New,
    /// An unchanged emit: the same on both sides.
    Both,
}

/// The running totals of one money group.
#[derive(Debug, Clone, Default)]
pub(crate) struct Totals {
    pub old: Decimal,
    pub new: Decimal,
    pub old_emits: u64,
    pub new_emits: u64,
    /// A sum went past what a decimal holds (about 7.9e28).
    pub overflow: bool,
}

/// The money groups of one destination, Money field and currency, by the
/// `--by` values as JSON text (`None` where the record has no such field).
pub(crate) type Groups = FxHashMap<Vec<Option<String>>, Totals>;

/// A `--by` field that no destination of either package has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--by `{field}`: no destination's record has a field `{field}`")]
pub struct UnknownByField {
    pub field: String,
    /// Every destination with the wire names of its record's fields.
    pub fields: Vec<(String, Vec<String>)>,
}

/// Compares outcomes of the two packages event after event and keeps the
/// summary's tallies.
pub struct Comparer {
    old: Arc<ir::Package>,
    new: Arc<ir::Package>,
    dests: Vec<Dest>,
    /// Each package's `DestId` to its index in `dests`.
    old_dest: Vec<u32>,
    new_dest: Vec<u32>,
    pub(crate) by: Vec<String>,
    pub(crate) events: u64,
    pub(crate) changed: u64,
    /// Per event type: events and changed events.
    pub(crate) by_type: FxHashMap<String, (u64, u64)>,
    /// The same for lines without a type (not CloudEvents).
    pub(crate) untyped: (u64, u64),
    pub(crate) counts: ChangeCounts,
    pub(crate) status_changes: FxHashMap<(&'static str, &'static str), u64>,
    pub(crate) money: FxHashMap<(u32, u32, Currency), Groups>,
    /// The `--by` values of the record being tallied (reused: a group
    /// already seen costs no allocation).
    scratch: Vec<Option<String>>,
}

impl Comparer {
    /// A comparer of outcomes of `old` and `new`, the money grouped by the
    /// `by` fields (wire names of emitted records). A field that no
    /// destination of either package has is an error; one that only some
    /// have groups those, and the others show it as absent.
    pub fn new(old: Arc<ir::Package>, new: Arc<ir::Package>, by: &[String]) -> Result<Comparer, UnknownByField> {
        let mut dests: Vec<Dest> = Vec::new();
        let mut old_dest = Vec::new();
        let mut new_dest = Vec::new();
        for d in &old.destinations {
            old_dest.push(dests.len() as u32);
            dests.push(Dest {
                name: d.name.clone(),
                old: Some(d.record),
                new: None,
                same_type: false,
                money: Vec::new(),
                by: Vec::new(),
            });
        }
        for d in &new.destinations {
            match dests.iter().position(|x| x.name == d.name) {
                Some(i) => {
                    new_dest.push(i as u32);
                    if let Some(x) = dests.get_mut(i) {
                        x.new = Some(d.record);
                    }
                }
                None => {
                    new_dest.push(dests.len() as u32);
                    dests.push(Dest {
                        name: d.name.clone(),
                        old: None,
                        new: Some(d.record),
                        same_type: false,
                        money: Vec::new(),
                        by: Vec::new(),
                    });
                }
            }
        }
        for d in &mut dests {
            let old_side = d.old.map(|r| (&*old, r));
            let new_side = d.new.map(|r| (&*new, r));
            d.same_type = match (d.old, d.new) {
                (Some(a), Some(b)) => same_wire_type(&old, &Ty::Record(a), &new, &Ty::Record(b)),
                _ => false,
            };
            let mut money: Vec<String> = Vec::new();
            for (pkg, rec) in [old_side, new_side].into_iter().flatten() {
                for f in pkg.record(rec).map(|r| r.fields.as_slice()).unwrap_or(&[]) {
                    if f.ty.strip() == &Ty::Money && !money.contains(&f.wire) {
                        money.push(f.wire.clone());
                    }
                }
            }
            d.money = money
                .iter()
                .map(|w| {
                    let mut f = FieldAt::of(w, old_side, new_side);
                    // Only a Money field counts (a field of the name but another type does not).
                    f.old = f.old.filter(|(_, t)| t.strip() == &Ty::Money);
                    f.new = f.new.filter(|(_, t)| t.strip() == &Ty::Money);
                    f
                })
                .collect();
            d.by = by.iter().map(|w| FieldAt::of(w, old_side, new_side)).collect();
        }
        for (i, field) in by.iter().enumerate() {
            let known = dests.iter().any(|d| d.by.get(i).is_some_and(|f| f.old.is_some() || f.new.is_some()));
            if !known {
                let mut fields = Vec::new();
                for d in &dests {
                    let rec = d.new.map(|r| (&*new, r)).or(d.old.map(|r| (&*old, r)));
                    let names = rec
                        .and_then(|(p, r)| p.record(r))
                        .map(|r| r.fields.iter().map(|f| f.wire.clone()).collect())
                        .unwrap_or_default();
                    fields.push((d.name.clone(), names));
                }
                return Err(UnknownByField { field: field.clone(), fields });
            }
        }
        Ok(Comparer {
            old,
            new,
            dests,
            old_dest,
            new_dest,
            by: by.to_vec(),
            events: 0,
            changed: 0,
            by_type: FxHashMap::default(),
            untyped: (0, 0),
            counts: ChangeCounts::default(),
            status_changes: FxHashMap::default(),
            money: FxHashMap::default(),
            scratch: Vec::new(),
        })
    }

    pub fn old_package(&self) -> &ir::Package {
        &self.old
    }

    pub fn new_package(&self) -> &ir::Package {
        &self.new
    }

    /// Destinations (of either package) that lack a `--by` field, per field.
    pub fn by_missing(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for (i, field) in self.by.iter().enumerate() {
            let lacking: Vec<String> = self
                .dests
                .iter()
                .filter(|d| !d.money.is_empty())
                .filter(|d| d.by.get(i).is_some_and(|f| f.old.is_none() && f.new.is_none()))
                .map(|d| d.name.clone())
                .collect();
            if !lacking.is_empty() {
                out.push((field.clone(), lacking));
            }
        }
        out
    }

    pub(crate) fn dest_name(&self, i: u32) -> &str {
        self.dests.get(i as usize).map(|d| d.name.as_str()).unwrap_or("?")
    }

    pub(crate) fn money_field(&self, dest: u32, field: u32) -> &str {
        self.dests.get(dest as usize).and_then(|d| d.money.get(field as usize)).map(|f| f.wire.as_str()).unwrap_or("?")
    }

    /// Compares the outcomes of one event (`old` by the old package, `new`
    /// by the new one), counts it, and returns what changed, if anything.
    pub fn compare(&mut self, old: &Outcome, new: &Outcome) -> Option<EventChange> {
        self.events += 1;
        let event_type = new.event_type.as_ref().or(old.event_type.as_ref());
        let unchanged = self.same(old, new);
        self.count_type(event_type, false);
        if unchanged {
            for (dest, record) in &old.emits {
                let d = self.old_dest.get(dest.0 as usize).copied().unwrap_or(u32::MAX);
                self.tally(Side::Both, d, record);
            }
            return None;
        }
        for (dest, record) in &old.emits {
            let d = self.old_dest.get(dest.0 as usize).copied().unwrap_or(u32::MAX);
            self.tally(Side::Old, d, record);
        }
        for (dest, record) in &new.emits {
            let d = self.new_dest.get(dest.0 as usize).copied().unwrap_or(u32::MAX);
            self.tally(Side::New, d, record);
        }
        let change = self.describe(old, new);
        if change.changes.is_empty() {
            // Equal after all (values that differ in representation only).
            return None;
        }
        self.changed += 1;
        self.count_type(event_type, true);
        Some(change)
    }

    /// Counts an event (or, `changed`, a changed one) of its type.
    fn count_type(&mut self, event_type: Option<&String>, changed: bool) {
        let n = match event_type {
            None => &mut self.untyped,
            Some(t) => match self.by_type.get_mut(t.as_str()) {
                Some(n) => n,
                None => self.by_type.entry(t.clone()).or_default(),
            },
        };
        if changed {
            n.1 += 1;
        } else {
            n.0 += 1;
        }
    }

    /// Whether the two outcomes are the same, the quick way: status,
    /// rejections' codes and messages, and emits compared as values.
    fn same(&self, old: &Outcome, new: &Outcome) -> bool {
        if old.status != new.status
            || old.emits.len() != new.emits.len()
            || old.rejections.len() != new.rejections.len()
        {
            return false;
        }
        if !old.rejections.iter().zip(&new.rejections).all(|(a, b)| a.code == b.code && a.message == b.message) {
            return false;
        }
        old.emits.iter().zip(&new.emits).all(|((da, a), (db, b))| {
            let (Some(&ia), Some(&ib)) = (self.old_dest.get(da.0 as usize), self.new_dest.get(db.0 as usize)) else {
                return false;
            };
            ia == ib && self.dests.get(ia as usize).is_some_and(|d| d.same_type) && identical(a, b)
        })
    }

    /// Adds the Money fields of one emitted record to its groups.
    fn tally(&mut self, side: Side, dest: u32, record: &Value) {
        let Some(d) = self.dests.get(dest as usize) else { return };
        if d.money.is_empty() {
            return;
        }
        let Value::Record(fields) = record else { return };
        let (pkg, new_side) = match side {
            Side::Old | Side::Both => (&*self.old, false),
            Side::New => (&*self.new, true),
        };
        fn pick(f: &FieldAt, new_side: bool) -> Option<&(usize, Ty)> {
            if new_side {
                f.new.as_ref()
            } else {
                f.old.as_ref()
            }
        }
        let mut grouped = false;
        for (mi, mf) in d.money.iter().enumerate() {
            let Some((i, _)) = pick(mf, new_side) else { continue };
            let Some(Value::Money(amount, currency)) = fields.get(*i) else { continue };
            if !grouped {
                grouped = true;
                self.scratch.resize(d.by.len(), None);
                for (slot, bf) in self.scratch.iter_mut().zip(&d.by) {
                    match pick(bf, new_side).and_then(|(i, ty)| Some((fields.get(*i)?, ty))) {
                        Some((v, ty)) => {
                            let text = slot.get_or_insert_with(String::new);
                            text.clear();
                            encode::value(text, pkg, ty, v);
                        }
                        None => *slot = None,
                    }
                }
            }
            let groups = self.money.entry((dest, mi as u32, *currency)).or_default();
            let t = match groups.get_mut(self.scratch.as_slice()) {
                Some(t) => t,
                None => groups.entry(self.scratch.clone()).or_default(),
            };
            if matches!(side, Side::Old | Side::Both) {
                add(&mut t.old, *amount, &mut t.overflow);
                t.old_emits += 1;
            }
            if matches!(side, Side::New | Side::Both) {
                add(&mut t.new, *amount, &mut t.overflow);
                t.new_emits += 1;
            }
        }
    }

    /// The `--by` fields of a record of `dest`, from the new package's side or the old one's.
    fn context(&self, dest: &Dest, new_side: bool, record: &Value) -> BTreeMap<String, Box<RawValue>> {
        let Value::Record(fields) = record else { return BTreeMap::new() };
        let pkg = if new_side { &*self.new } else { &*self.old };
        dest.by
            .iter()
            .filter_map(|f| {
                let (i, ty) = if new_side { f.new.as_ref()? } else { f.old.as_ref()? };
                Some((f.wire.clone(), raw(pkg, ty, fields.get(*i)?)))
            })
            .collect()
    }

    /// The full comparison of two outcomes that differ.
    fn describe(&mut self, old: &Outcome, new: &Outcome) -> EventChange {
        let mut change = EventChange {
            line: new.line,
            id: new.id.clone().or(old.id.clone()),
            event_type: new.event_type.clone().or(old.event_type.clone()),
            changes: Vec::new(),
            status: None,
            rejections: None,
            emits: Vec::new(),
        };
        if old.status != new.status {
            change.status = Some(Pair { old: old.status.as_str(), new: new.status.as_str() });
            *self.status_changes.entry((old.status.as_str(), new.status.as_str())).or_default() += 1;
        }
        let codes_differ = old.rejections.len() != new.rejections.len()
            || old.rejections.iter().zip(&new.rejections).any(|(a, b)| a.code != b.code);
        let messages_differ =
            !codes_differ && old.rejections.iter().zip(&new.rejections).any(|(a, b)| a.message != b.message);
        if codes_differ || messages_differ {
            let texts = |o: &Outcome| {
                o.rejections
                    .iter()
                    .map(|r| RejectionText { code: r.code.to_string(), message: r.message.clone() })
                    .collect()
            };
            change.rejections = Some(Pair { old: texts(old), new: texts(new) });
        }
        // Each destination's emits, in order on each side, paired by position.
        let mut order: Vec<u32> = Vec::new();
        let new_by = per_destination(&new.emits, &self.new_dest, &mut order);
        let old_by = per_destination(&old.emits, &self.old_dest, &mut order);
        let (mut records_changed, mut added, mut removed) = (false, false, false);
        for d in order {
            let Some(dest) = self.dests.get(d as usize) else { continue };
            let empty = Vec::new();
            let olds = old_by.iter().find(|(x, _)| *x == d).map(|(_, v)| v).unwrap_or(&empty);
            let news = new_by.iter().find(|(x, _)| *x == d).map(|(_, v)| v).unwrap_or(&empty);
            for i in 0..olds.len().max(news.len()) {
                match (olds.get(i), news.get(i)) {
                    (Some(a), Some(b)) => {
                        if dest.same_type && identical(a, b) {
                            continue;
                        }
                        let mut fields = Vec::new();
                        if let (Some(ra), Some(rb)) = (dest.old, dest.new) {
                            let sides = Sides { old: &self.old, new: &self.new };
                            sides.values("", &Ty::Record(ra), a, &Ty::Record(rb), b, &mut fields);
                        }
                        if !fields.is_empty() {
                            records_changed = true;
                            change.emits.push(EmitChange {
                                destination: dest.name.clone(),
                                index: i,
                                change: "changed",
                                by: self.context(dest, true, b),
                                record: None,
                                fields,
                            });
                        }
                    }
                    (Some(a), None) => {
                        removed = true;
                        let record = dest.old.map(|r| raw(&self.old, &Ty::Record(r), a));
                        change.emits.push(EmitChange {
                            destination: dest.name.clone(),
                            index: i,
                            change: "removed",
                            by: self.context(dest, false, a),
                            record,
                            fields: Vec::new(),
                        });
                    }
                    (None, Some(b)) => {
                        added = true;
                        let record = dest.new.map(|r| raw(&self.new, &Ty::Record(r), b));
                        change.emits.push(EmitChange {
                            destination: dest.name.clone(),
                            index: i,
                            change: "added",
                            by: self.context(dest, true, b),
                            record,
                            fields: Vec::new(),
                        });
                    }
                    (None, None) => {}
                }
            }
        }
        let kinds = [
            (change.status.is_some(), "status"),
            (codes_differ, "rejection_codes"),
            (messages_differ, "rejection_messages"),
            (records_changed, "records_changed"),
            (added, "emits_added"),
            (removed, "emits_removed"),
        ];
        for (on, name) in kinds {
            if on {
                change.changes.push(name);
            }
        }
        let c = &mut self.counts;
        for (on, n) in [
            (change.status.is_some(), &mut c.status),
            (codes_differ, &mut c.rejection_codes),
            (messages_differ, &mut c.rejection_messages),
            (records_changed, &mut c.records_changed),
            (added, &mut c.emits_added),
            (removed, &mut c.emits_removed),
        ] {
            if on {
                *n += 1;
            }
        }
        change
    }
}

/// An outcome's emits by destination (its index in the comparer), each
/// destination's in emit order; `order` gains the destinations not yet in it.
fn per_destination<'v>(
    emits: &'v [(ir::DestId, Value)],
    map: &[u32],
    order: &mut Vec<u32>,
) -> Vec<(u32, Vec<&'v Value>)> {
    let mut by: Vec<(u32, Vec<&Value>)> = Vec::new();
    for (dest, v) in emits {
        let d = map.get(dest.0 as usize).copied().unwrap_or(u32::MAX);
        match by.iter_mut().find(|(x, _)| *x == d) {
            Some((_, vs)) => vs.push(v),
            None => by.push((d, vec![v])),
        }
        if !order.contains(&d) {
            order.push(d);
        }
    }
    by
}

fn add(sum: &mut Decimal, amount: Decimal, overflow: &mut bool) {
    match num::add(*sum, amount) {
        Ok(s) => *sum = s,
        Err(_) => *overflow = true,
    }
}

/// Equal and written alike: decimals of the same scale (`7.5` and `7.50`
/// are equal numbers but different outputs), values of the same kind.
pub fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Decimal(x), Value::Decimal(y)) => x.serialize() == y.serialize(),
        (Value::Money(x, c), Value::Money(y, d)) => c == d && x.serialize() == y.serialize(),
        (Value::Record(x), Value::Record(y)) | (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| identical(p, q))
        }
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::None, Value::None) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Currency(x), Value::Currency(y)) => x == y,
        (Value::Date(x), Value::Date(y)) => x == y,
        (Value::Timestamp(x), Value::Timestamp(y)) => x == y,
        (Value::Enum(x), Value::Enum(y)) => x == y,
        _ => false,
    }
}

fn json(pkg: &ir::Package, ty: &Ty, v: &Value) -> String {
    let mut s = String::new();
    encode::value(&mut s, pkg, ty, v);
    s
}

fn raw(pkg: &ir::Package, ty: &Ty, v: &Value) -> Box<RawValue> {
    let s = json(pkg, ty, v);
    RawValue::from_string(s).unwrap_or_else(|_| null())
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_string()).unwrap_or_default()
}

/// A value as the text report shows it: Money as `1036.80 USD`, decimals,
/// dates and enums bare, text quoted, records and lists as JSON.
pub fn human(pkg: &ir::Package, ty: &Ty, v: &Value) -> String {
    let mut s = String::new();
    match v {
        Value::Text(t) => encode::json_str(&mut s, t),
        Value::Record(_) | Value::List(_) => encode::value(&mut s, pkg, ty, v),
        _ => encode::interpolate(&mut s, pkg, ty, v),
    }
    s
}

/// A signed amount for people: `+63.20`, `-5.00`, `0.00`.
pub fn signed(d: &Decimal) -> String {
    let mut s = String::new();
    if d.is_sign_positive() && !d.is_zero() {
        s.push('+');
    }
    num::format(d, &mut s);
    s
}

struct Sides<'a> {
    old: &'a ir::Package,
    new: &'a ir::Package,
}

impl Sides<'_> {
    /// The fields that differ between two values, recursing into records
    /// present on both sides; `path` is the value's wire path.
    fn values(&self, path: &str, ta: &Ty, a: &Value, tb: &Ty, b: &Value, out: &mut Vec<FieldChange>) {
        if let (Value::Record(fa), Value::Record(fb), Ty::Record(ra), Ty::Record(rb)) = (a, b, ta.strip(), tb.strip()) {
            let (Some(da), Some(db)) = (self.old.record(*ra), self.new.record(*rb)) else { return };
            let sub = |wire: &str| if path.is_empty() { wire.to_string() } else { format!("{path}.{wire}") };
            for (i, f) in da.fields.iter().enumerate() {
                let va = fa.get(i).unwrap_or(&Value::None);
                match db.field_by_wire(&f.wire) {
                    Some(j) => {
                        let (Some(g), Some(vb)) = (db.fields.get(j as usize), fb.get(j as usize)) else { continue };
                        self.values(&sub(&f.wire), &f.ty, va, &g.ty, vb, out);
                    }
                    None => out.push(FieldChange {
                        field: sub(&f.wire),
                        old: Some(raw(self.old, &f.ty, va)),
                        new: None,
                        delta: None,
                        old_text: human(self.old, &f.ty, va),
                        new_text: "(absent)".into(),
                    }),
                }
            }
            for (j, g) in db.fields.iter().enumerate() {
                if da.field_by_wire(&g.wire).is_none() {
                    let vb = fb.get(j).unwrap_or(&Value::None);
                    out.push(FieldChange {
                        field: sub(&g.wire),
                        old: None,
                        new: Some(raw(self.new, &g.ty, vb)),
                        delta: None,
                        old_text: "(absent)".into(),
                        new_text: human(self.new, &g.ty, vb),
                    });
                }
            }
            return;
        }
        let same = (same_wire_type(self.old, ta, self.new, tb) && identical(a, b))
            || json(self.old, ta, a) == json(self.new, tb, b);
        if same {
            return;
        }
        let delta = match (a, b) {
            (Value::Money(x, c), Value::Money(y, d)) if c == d => num::sub(*y, *x)
                .ok()
                .map(|d| MoneyText { amount: num::to_string(&d), currency: c.as_str().to_string() }),
            _ => None,
        };
        out.push(FieldChange {
            field: path.to_string(),
            old: Some(raw(self.old, ta, a)),
            new: Some(raw(self.new, tb, b)),
            delta,
            old_text: human(self.old, ta, a),
            new_text: human(self.new, tb, b),
        });
    }
}
