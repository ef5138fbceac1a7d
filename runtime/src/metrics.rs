//! Metrics (LANGUAGE.md §4.6): figures over a state, maintained on every
//! write by subtracting the old record's contribution and adding the new
//! one's, never by scanning the state.
//!
//! Each metric is a map of cells. A cell is a group (the `by` fields' values
//! as JSON text) and, for a metric with `age`, the instant its records are
//! aged from; it holds how many records contribute to it and their sum. A
//! cell no record contributes to is removed, so a group with no record is
//! not shown.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use canon_compiler::diagnostics::RuntimeCode;
use canon_compiler::ir::{self, MetricKind};
use canon_compiler::types::Ty;
use canon_stdlib::{num, Currency, Decimal, Timestamp};

use crate::encode;
use crate::interp::Interp;
use crate::outcome::Fault;
use crate::state::Write;
use crate::tables::Tables;
use crate::value::Value;

/// Where a record's contribution goes: its group, and its `age` instant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    /// The `by` fields' values, each as JSON text.
    pub group: Box<[String]>,
    /// The `age` field's instant in microseconds (metrics with `age` only).
    pub at: Option<i64>,
}

/// The sum of a cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Acc {
    Int(i128),
    Decimal(Decimal),
    /// One sum per currency, sorted by currency.
    Money(Vec<(Currency, Decimal)>),
    /// A count: the cell's number of records.
    Count,
}

/// One cell: how many records contribute, and their sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub records: i64,
    pub acc: Acc,
}

/// One record's contribution to a metric.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Int(i64),
    Decimal(Decimal),
    Money(Decimal, Currency),
    One,
}

/// Every metric of a package.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    cells: Vec<FxHashMap<CellKey, Cell>>,
    /// Reused by [`Metrics::apply`], so that a contribution to a cell that
    /// exists allocates nothing.
    scratch: Scratch,
}

/// The contributions of one [`Metrics::apply`]: their groups' texts one
/// after another in `text`, each part ending at its entry of `ends`.
#[derive(Debug, Clone, Default)]
struct Scratch {
    text: String,
    ends: Vec<usize>,
    deltas: Vec<Delta>,
}

/// One contribution to add (`sign` 1) or subtract (-1): its metric, its
/// group's parts (`ends[parts.0..parts.1]`), its `age` instant.
#[derive(Debug, Clone)]
struct Delta {
    metric: usize,
    parts: (usize, usize),
    at: Option<i64>,
    part: Part,
    sign: i64,
}

/// A cell's key as [`Metrics::apply`] has it, borrowed from its scratch
/// texts, to look a cell up without building a [`CellKey`].
struct Probe<'a> {
    text: &'a str,
    /// The ends of the group's parts in `text`; the first starts at `start`.
    start: usize,
    ends: &'a [usize],
    at: Option<i64>,
}

impl<'a> Probe<'a> {
    /// The key of delta `d`, its group's texts in `text` (their ends in `ends`).
    fn of(text: &'a str, ends: &'a [usize], d: &Delta) -> Probe<'a> {
        Probe {
            text,
            start: d.parts.0.checked_sub(1).and_then(|p| ends.get(p)).copied().unwrap_or(0),
            ends: ends.get(d.parts.0..d.parts.1).unwrap_or(&[]),
            at: d.at,
        }
    }

    fn part(&self, i: usize) -> &str {
        let from = if i == 0 { self.start } else { self.ends.get(i - 1).copied().unwrap_or(0) };
        let to = self.ends.get(i).copied().unwrap_or(from);
        self.text.get(from..to).unwrap_or("")
    }

    fn to_key(&self) -> CellKey {
        CellKey { group: (0..self.ends.len()).map(|i| self.part(i).to_string()).collect(), at: self.at }
    }
}

/// What a [`CellKey`] and a [`Probe`] both are, so that the cells' map
/// (keyed by `CellKey`) can be asked with either.
trait KeyView {
    fn parts(&self) -> usize;
    fn part(&self, i: usize) -> &str;
    fn at(&self) -> Option<i64>;
}

impl KeyView for CellKey {
    fn parts(&self) -> usize {
        self.group.len()
    }
    fn part(&self, i: usize) -> &str {
        self.group.get(i).map(String::as_str).unwrap_or("")
    }
    fn at(&self) -> Option<i64> {
        self.at
    }
}

impl KeyView for Probe<'_> {
    fn parts(&self) -> usize {
        self.ends.len()
    }
    fn part(&self, i: usize) -> &str {
        Probe::part(self, i)
    }
    fn at(&self) -> Option<i64> {
        self.at
    }
}

/// The same hash as `CellKey`'s derived one (a test checks it): the
/// group's length and texts as a `[String]` hashes them, then `at`.
impl std::hash::Hash for dyn KeyView + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.parts());
        for i in 0..self.parts() {
            self.part(i).hash(state);
        }
        self.at().hash(state);
    }
}

impl PartialEq for dyn KeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.at() == other.at()
            && self.parts() == other.parts()
            && (0..self.parts()).all(|i| self.part(i) == other.part(i))
    }
}

impl Eq for dyn KeyView + '_ {}

impl<'a> std::borrow::Borrow<dyn KeyView + 'a> for CellKey {
    fn borrow(&self) -> &(dyn KeyView + 'a) {
        self
    }
}

impl Acc {
    fn zero(kind: MetricKind) -> Acc {
        match kind {
            MetricKind::SumInt => Acc::Int(0),
            MetricKind::SumDecimal => Acc::Decimal(Decimal::ZERO),
            MetricKind::SumMoney => Acc::Money(Vec::new()),
            MetricKind::Count => Acc::Count,
        }
    }

    /// Adds (`sign` 1) or subtracts (`sign` -1) a contribution; `None` on overflow.
    fn add(&mut self, part: &Part, sign: i64) -> Option<()> {
        match (self, part) {
            (Acc::Int(a), Part::Int(i)) => *a = a.checked_add(i128::from(*i) * i128::from(sign))?,
            (Acc::Decimal(a), Part::Decimal(d)) => *a = signed_add(*a, *d, sign)?,
            (Acc::Money(sums), Part::Money(d, c)) => match sums.binary_search_by(|(x, _)| x.cmp(c)) {
                Ok(i) => {
                    let slot = sums.get_mut(i)?;
                    slot.1 = signed_add(slot.1, *d, sign)?;
                }
                Err(i) => sums.insert(i, (*c, signed_add(Decimal::ZERO, *d, sign)?)),
            },
            (Acc::Count, Part::One) => {}
            _ => {}
        }
        Some(())
    }

    /// The text form kept by a durable state (`i:5`, `d:12.50`, `m:EUR=3.00;USD=1.25`, `c`).
    pub fn to_text(&self) -> String {
        match self {
            Acc::Int(i) => format!("i:{i}"),
            Acc::Decimal(d) => format!("d:{d}"),
            Acc::Money(sums) => {
                let parts: Vec<String> = sums.iter().map(|(c, d)| format!("{}={d}", c.as_str())).collect();
                format!("m:{}", parts.join(";"))
            }
            Acc::Count => "c".into(),
        }
    }

    /// Reads [`Acc::to_text`].
    pub fn from_text(s: &str) -> Option<Acc> {
        if s == "c" {
            return Some(Acc::Count);
        }
        let (tag, rest) = s.split_once(':')?;
        match tag {
            "i" => rest.parse().ok().map(Acc::Int),
            "d" => rest.parse().ok().map(Acc::Decimal),
            "m" => {
                let mut sums = Vec::new();
                for p in rest.split(';').filter(|p| !p.is_empty()) {
                    let (c, d) = p.split_once('=')?;
                    sums.push((Currency::parse(c)?, d.parse().ok()?));
                }
                sums.sort_by_key(|a| a.0);
                Some(Acc::Money(sums))
            }
            _ => None,
        }
    }
}

fn signed_add(a: Decimal, b: Decimal, sign: i64) -> Option<Decimal> {
    if sign < 0 {
        num::sub(a, b).ok()
    } else {
        num::add(a, b).ok()
    }
}

/// A metric's value as shown: a Decimal without trailing zeros but with at
/// least two fractional digits (LANGUAGE.md §4.6).
pub fn show_decimal(d: Decimal) -> String {
    let mut n = num::normalize_zero(d.normalize());
    if n.scale() < 2 {
        n.rescale(2);
    }
    let mut s = String::new();
    num::format(&n, &mut s);
    s
}

impl Metrics {
    pub fn new(pkg: &ir::Package) -> Metrics {
        Metrics { cells: vec![FxHashMap::default(); pkg.metrics.len()], scratch: Scratch::default() }
    }

    /// The cells of metric `i`.
    pub fn cells(&self, i: usize) -> impl Iterator<Item = (&CellKey, &Cell)> {
        self.cells.get(i).into_iter().flat_map(|m| m.iter())
    }

    /// A cell as a durable state kept it (a state loading its metrics).
    pub fn set_cell(&mut self, i: usize, key: CellKey, cell: Cell) {
        if let Some(m) = self.cells.get_mut(i) {
            if cell.records == 0 {
                m.remove(&key);
            } else {
                m.insert(key, cell);
            }
        }
    }

    /// The cell of metric `i` at `key` (after [`Metrics::apply`], to write it through).
    pub fn cell(&self, i: usize, key: &CellKey) -> Option<&Cell> {
        self.cells.get(i)?.get(key)
    }

    /// Applies writes: every metric over each write's state loses the old
    /// record's contribution and gains the new one's. Returns, when
    /// `touched`, the cells it changed (metric index and key). On a fault
    /// nothing is changed.
    pub fn apply(
        &mut self,
        pkg: &ir::Package,
        tables: &Tables,
        writes: &[Write],
        touched: bool,
    ) -> Result<Vec<(usize, CellKey)>, Fault> {
        if pkg.metrics.is_empty() {
            return Ok(Vec::new());
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = self.apply_with(pkg, tables, writes, touched, &mut scratch);
        scratch.text.clear();
        scratch.ends.clear();
        scratch.deltas.clear();
        self.scratch = scratch;
        result
    }

    fn apply_with(
        &mut self,
        pkg: &ir::Package,
        tables: &Tables,
        writes: &[Write],
        touched: bool,
        scratch: &mut Scratch,
    ) -> Result<Vec<(usize, CellKey)>, Fault> {
        let Scratch { text, ends, deltas } = scratch;
        for w in writes {
            for (i, m) in pkg.metrics.iter().enumerate() {
                if m.state != w.state {
                    continue;
                }
                let (pushed, written) = (deltas.len(), text.len());
                for (record, sign) in [(&w.before, -1), (&w.after, 1)] {
                    let Some(record) = record else { continue };
                    let first = ends.len();
                    if let Some((at, part)) = contribution(pkg, tables, m, record, text, ends)? {
                        deltas.push(Delta { metric: i, parts: (first, ends.len()), at, part, sign });
                    }
                }
                // A write that leaves the record's contribution as it was
                // (its group, instant and part, to the scale) changes no
                // cell: its two deltas would cancel.
                let cancel = match deltas.get(pushed..) {
                    Some([old, new]) if unchanged(text, ends, old, new) => Some(old.parts.0),
                    _ => None,
                };
                if let Some(first) = cancel {
                    ends.truncate(first);
                    text.truncate(written);
                    deltas.truncate(pushed);
                }
            }
        }
        let probe = |d: &Delta| Probe::of(text, ends, d);
        for (n, d) in deltas.iter().enumerate() {
            let Some(m) = pkg.metrics.get(d.metric) else { continue };
            if self.step(d.metric, m.kind, &probe(d), &d.part, d.sign).is_none() {
                // Undo what was done, each delta with its own metric's kind.
                for u in deltas.get(..n).unwrap_or(&[]).iter().rev() {
                    let kind = pkg.metrics.get(u.metric).map(|d| d.kind).unwrap_or(m.kind);
                    let _ = self.step(u.metric, kind, &probe(u), &u.part, -u.sign);
                }
                let at = pkg.loc_string(m.loc);
                return Err(Fault {
                    code: RuntimeCode::DecimalOverflow,
                    message: format!("metric `{}` would not fit 96 bits at {at}", m.name),
                    loc: m.loc,
                });
            }
        }
        if !touched {
            return Ok(Vec::new());
        }
        let mut cells: Vec<(usize, CellKey)> = deltas.iter().map(|d| (d.metric, probe(d).to_key())).collect();
        cells.sort();
        cells.dedup();
        Ok(cells)
    }

    fn step(&mut self, i: usize, kind: MetricKind, key: &Probe<'_>, part: &Part, sign: i64) -> Option<()> {
        let map = self.cells.get_mut(i)?;
        let view: &dyn KeyView = key;
        let Some(cell) = map.get_mut(view) else {
            let mut cell = Cell { records: 0, acc: Acc::zero(kind) };
            cell.records = sign;
            cell.acc.add(part, sign)?;
            map.insert(key.to_key(), cell);
            return Some(());
        };
        let records = cell.records.checked_add(sign)?;
        if records == 0 {
            map.remove(view);
            return Some(());
        }
        // `add` changes nothing when it overflows, so the cell stays as it was.
        cell.acc.add(part, sign)?;
        cell.records = records;
        Some(())
    }

    /// Every metric's groups and values, aged against `as_of` (LANGUAGE.md §4.6).
    pub fn report(&self, pkg: &ir::Package, as_of: Option<Timestamp>) -> Vec<MetricReport> {
        let mut out = Vec::new();
        for (i, m) in pkg.metrics.iter().enumerate() {
            let rec = pkg.state(m.state).and_then(|s| pkg.record(s.record));
            let by: Vec<String> =
                m.by.iter()
                    .map(|f| rec.and_then(|r| r.fields.get(*f as usize)).map(|f| f.name.clone()).unwrap_or_default())
                    .collect();
            let needs_as_of = m.age.is_some() && as_of.is_none();
            let mut groups: HashMap<&[String], Cell> = HashMap::new();
            if !needs_as_of {
                let cutoff = match (m.age, as_of) {
                    (Some((_, age)), Some(t)) => Some(t.0.saturating_sub(age)),
                    _ => None,
                };
                for (k, c) in self.cells(i) {
                    if let (Some(cut), Some(at)) = (cutoff, k.at) {
                        if at >= cut {
                            continue;
                        }
                    }
                    let g = groups.entry(&k.group).or_insert_with(|| Cell { records: 0, acc: Acc::zero(m.kind) });
                    g.records += c.records;
                    merge(&mut g.acc, &c.acc);
                }
            }
            let mut groups: Vec<GroupReport> = groups
                .into_iter()
                .filter(|(_, c)| c.records > 0)
                .map(|(g, c)| GroupReport { by: g.to_vec(), value: Value_::of(m.kind, &c) })
                .collect();
            groups.sort_by(|a, b| a.by.cmp(&b.by));
            out.push(MetricReport { name: m.name.clone(), by, groups, needs_as_of });
        }
        out
    }
}

/// Whether two deltas of one metric, a record's contributions before and
/// after a write, are the same: the same group texts, instant and part
/// (decimals to the scale, so that the cell's text stays as it was).
fn unchanged(text: &str, ends: &[usize], old: &Delta, new: &Delta) -> bool {
    let same_decimal = |a: &Decimal, b: &Decimal| a.serialize() == b.serialize();
    let same_part = match (&old.part, &new.part) {
        (Part::Int(a), Part::Int(b)) => a == b,
        (Part::Decimal(a), Part::Decimal(b)) => same_decimal(a, b),
        (Part::Money(a, c), Part::Money(b, d)) => same_decimal(a, b) && c == d,
        (Part::One, Part::One) => true,
        _ => false,
    };
    let (old, new) = (Probe::of(text, ends, old), Probe::of(text, ends, new));
    same_part && (&old as &dyn KeyView) == (&new as &dyn KeyView)
}

fn merge(into: &mut Acc, from: &Acc) {
    match (into, from) {
        (Acc::Int(a), Acc::Int(b)) => *a = a.saturating_add(*b),
        (Acc::Decimal(a), Acc::Decimal(b)) => *a = num::add(*a, *b).unwrap_or(*a),
        (Acc::Money(a), Acc::Money(b)) => {
            for (c, d) in b {
                match a.binary_search_by(|(x, _)| x.cmp(c)) {
                    Ok(i) => {
                        if let Some(slot) = a.get_mut(i) {
                            slot.1 = num::add(slot.1, *d).unwrap_or(slot.1);
                        }
                    }
                    Err(i) => a.insert(i, (*c, *d)),
                }
            }
        }
        _ => {}
    }
}

/// A record's contribution to metric `m`: `None` when its filter (or, for a
/// count, its condition) is false, or its `age` field is none; else its
/// `age` instant and its part, its group's texts (the `by` fields' values as
/// JSON) appended to `text`, the end of each pushed on `ends`.
fn contribution(
    pkg: &ir::Package,
    tables: &Tables,
    m: &ir::MetricDef,
    record: &Value,
    text: &mut String,
    ends: &mut Vec<usize>,
) -> Result<Option<(Option<i64>, Part)>, Fault> {
    let meta = Value::None;
    let interp = Interp { pkg, tables, meta: &meta, trace: None, state: None, coverage: None, decisions: None };
    let mut frame: SmallVec<[Value; 4]> = smallvec::smallvec![Value::None; m.n_locals.max(1) as usize];
    if let Some(slot) = frame.first_mut() {
        *slot = record.clone();
    }
    if let Some(f) = &m.filter {
        if !matches!(interp.eval(f, &mut frame)?, Value::Bool(true)) {
            return Ok(None);
        }
    }
    let part = match (m.kind, interp.eval(&m.value, &mut frame)?) {
        (MetricKind::Count, Value::Bool(true)) => Part::One,
        (MetricKind::Count, _) => return Ok(None),
        (_, Value::Int(i)) if m.kind == MetricKind::SumDecimal => Part::Decimal(num::from_int(i)),
        (_, Value::Int(i)) => Part::Int(i),
        (_, Value::Decimal(d)) => Part::Decimal(d),
        (_, Value::Money(d, c)) => Part::Money(d, c),
        _ => return Ok(None),
    };
    let Value::Record(fields) = record else { return Ok(None) };
    let rec = pkg.state(m.state).and_then(|s| pkg.record(s.record));
    let at = match m.age {
        None => None,
        Some((f, _)) => match fields.get(f as usize) {
            Some(Value::Timestamp(t)) => Some(t.0),
            _ => return Ok(None),
        },
    };
    for f in &m.by {
        let ty = rec.and_then(|r| r.fields.get(*f as usize)).map(|d| &d.ty).unwrap_or(&Ty::Error);
        encode::value(text, pkg, ty, fields.get(*f as usize).unwrap_or(&Value::None));
        ends.push(text.len());
    }
    Ok(Some((at, part)))
}

/// A metric's groups as shown by `canon status`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricReport {
    pub name: String,
    /// The names of the `by` fields.
    pub by: Vec<String>,
    pub groups: Vec<GroupReport>,
    /// A metric with `age` asked for without an instant: no value.
    pub needs_as_of: bool,
}

/// One group of a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupReport {
    /// The `by` fields' values, each as JSON text, in `by` order.
    pub by: Vec<String>,
    pub value: Value_,
}

/// A metric's value.
#[derive(Debug, Clone, PartialEq)]
#[allow(non_camel_case_types)]
pub enum Value_ {
    Int(i128),
    Decimal(Decimal),
    Money(Vec<(Currency, Decimal)>),
}

impl Value_ {
    fn of(kind: MetricKind, c: &Cell) -> Value_ {
        match (&c.acc, kind) {
            (Acc::Int(i), _) => Value_::Int(*i),
            (Acc::Decimal(d), _) => Value_::Decimal(*d),
            (Acc::Money(m), _) => Value_::Money(m.iter().filter(|(_, d)| !d.is_zero()).cloned().collect()),
            (Acc::Count, _) => Value_::Int(i128::from(c.records)),
        }
    }

    /// The value as JSON text (RUNTIME.md §7.3).
    pub fn to_json(&self) -> String {
        match self {
            Value_::Int(i) => i.to_string(),
            Value_::Decimal(d) => format!("\"{}\"", show_decimal(*d)),
            Value_::Money(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(c, d)| format!("{{\"amount\":\"{}\",\"currency\":\"{}\"}}", show_decimal(*d), c.as_str()))
                    .collect();
                format!("[{}]", parts.join(","))
            }
        }
    }

    /// The value as text (`12.50`, `1,250.00 USD; 3.00 EUR` without separators).
    pub fn to_text(&self) -> String {
        match self {
            Value_::Int(i) => i.to_string(),
            Value_::Decimal(d) => show_decimal(*d),
            Value_::Money(m) if m.is_empty() => "0".into(),
            Value_::Money(m) => {
                m.iter().map(|(c, d)| format!("{} {}", show_decimal(*d), c.as_str())).collect::<Vec<_>>().join("; ")
            }
        }
    }
}

/// The report as the JSON array of RUNTIME.md §7.3.
pub fn report_json(reports: &[MetricReport]) -> String {
    let mut s = String::from("[");
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str("{\"name\":");
        encode::json_str(&mut s, &r.name);
        s.push_str(",\"groups\":");
        if r.needs_as_of {
            s.push_str("null}");
            continue;
        }
        s.push('[');
        for (j, g) in r.groups.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            s.push_str("{\"by\":{");
            for (k, (name, v)) in r.by.iter().zip(&g.by).enumerate() {
                if k > 0 {
                    s.push(',');
                }
                encode::json_str(&mut s, name);
                s.push(':');
                s.push_str(v);
            }
            s.push_str("},\"value\":");
            s.push_str(&g.value.to_json());
            s.push('}');
        }
        s.push_str("]}");
    }
    s.push(']');
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use std::path::PathBuf;
    use std::sync::Arc;

    use canon_compiler::ir::{self, StateId};

    use super::*;
    use crate::state::{key_of, Store, Write};

    const SRC: &str = r#"
        enum Status { Open, Closed }
        record Sheet { id: Text, entity: Text, status: Status, hours: Decimal, amount: Money, n: Int, at: Timestamp? }
        state sheets: Sheet key id
        metric hours = sum(sheets, s => s.hours) where s.status == Open by entity
        metric amounts = sum(sheets, s => s.amount) by entity
        metric ns = sum(sheets, s => s.n)
        metric closed = count(sheets, s => s.status == Closed)
        metric stale = sum(sheets, s => s.hours) by entity age at > 48 hours
    "#;

    fn pkg() -> Arc<ir::Package> {
        let p = crate::package::from_sources(PathBuf::from("."), vec![("m.canon".into(), SRC.into())]);
        assert!(!p.has_errors(), "{:?}", p.diagnostics());
        p.package()
    }

    fn sheet(id: &str, entity: &str, open: bool, hours: &str, amount: (&str, &str), n: i64, at: Option<i64>) -> Value {
        Value::Record(
            vec![
                Value::text(id),
                Value::text(entity),
                Value::Enum(u32::from(!open)),
                Value::Decimal(hours.parse().unwrap()),
                Value::Money(amount.0.parse().unwrap(), Currency::parse(amount.1).unwrap()),
                Value::Int(n),
                at.map(|t| Value::Timestamp(Timestamp(t))).unwrap_or(Value::None),
            ]
            .into(),
        )
    }

    fn put(store: &mut Store, pkg: &ir::Package, v: Value) {
        let def = pkg.state(StateId(0)).unwrap();
        let key = key_of(def, &v);
        let before = store.record(StateId(0), &key).cloned();
        let w = Write { state: StateId(0), key, before, after: Some(v), loc: Default::default() };
        store.apply(pkg, &Tables::empty(pkg), &[w]).unwrap();
    }

    fn delete(store: &mut Store, pkg: &ir::Package, id: &str) {
        let key: crate::state::Key = vec![crate::value::KeyPart::Text(id.into())].into_boxed_slice();
        let before = store.record(StateId(0), &key).cloned();
        let w = Write { state: StateId(0), key, before, after: None, loc: Default::default() };
        store.apply(pkg, &Tables::empty(pkg), &[w]).unwrap();
    }

    const HOUR: i64 = 3_600_000_000;

    /// A write that leaves a record's contribution to a metric as it was
    /// touches none of that metric's cells; one that changes it (its part,
    /// the part's scale only, or its group) touches the cells it moves
    /// between. The metrics read as those of the last record put afresh.
    #[test]
    fn a_write_that_leaves_a_contribution_as_it_was_touches_no_cell() {
        let pkg = pkg();
        let tables = Tables::empty(&pkg);
        let def = pkg.state(StateId(0)).unwrap();
        let write = |before: &Option<Value>, after: &Value| Write {
            state: StateId(0),
            key: key_of(def, after),
            before: before.clone(),
            after: Some(after.clone()),
            loc: Default::default(),
        };
        let mut m = Metrics::new(&pkg);
        let mut last = None;
        let b = sheet("b", "US01", true, "1", ("1", "USD"), 1, Some(0));
        m.apply(&pkg, &tables, &[write(&None, &b)], false).unwrap();
        // (the record, the metrics whose cells the write touches)
        let steps: [(Value, &[usize]); 5] = [
            (sheet("a", "US01", true, "7.50", ("100.00", "USD"), 2, Some(0)), &[0, 1, 2, 4]),
            (sheet("a", "US01", true, "7.50", ("100.00", "USD"), 5, Some(0)), &[2]),
            (sheet("a", "US01", true, "7.5", ("100.00", "USD"), 5, Some(0)), &[0, 4]),
            (sheet("a", "DE01", true, "7.5", ("100.00", "USD"), 5, Some(0)), &[0, 0, 1, 1, 4, 4]),
            (sheet("a", "DE01", true, "7.5", ("100.00", "USD"), 5, Some(0)), &[]),
        ];
        for (record, metrics) in steps {
            let touched = m.apply(&pkg, &tables, &[write(&last, &record)], true).unwrap();
            assert_eq!(touched.iter().map(|(i, _)| *i).collect::<Vec<_>>(), metrics, "{record:?}");
            let mut fresh = Metrics::new(&pkg);
            fresh.apply(&pkg, &tables, &[write(&None, &b), write(&None, &record)], false).unwrap();
            let as_of = Some(Timestamp(60 * HOUR));
            assert_eq!(report_json(&m.report(&pkg, as_of)), report_json(&fresh.report(&pkg, as_of)), "{record:?}");
            last = Some(record);
        }
    }

    #[test]
    fn metrics_follow_puts_updates_and_deletes() {
        let pkg = pkg();
        let mut store = Store::new(&pkg);
        put(&mut store, &pkg, sheet("a", "US01", true, "7.50", ("100.00", "USD"), 2, Some(0)));
        put(&mut store, &pkg, sheet("b", "US01", true, "0.125", ("5", "EUR"), 3, Some(10 * HOUR)));
        put(&mut store, &pkg, sheet("c", "DE01", false, "4", ("1", "USD"), -1, None));
        // An update: `b` moves from 0.125 to 0.5 hours.
        put(&mut store, &pkg, sheet("b", "US01", true, "0.5", ("5", "EUR"), 3, Some(10 * HOUR)));
        let as_of = Timestamp(60 * HOUR);
        let json = report_json(&store.metrics().report(&pkg, Some(as_of)));
        assert_eq!(
            json,
            concat!(
                r#"[{"name":"hours","groups":[{"by":{"entity":"US01"},"value":"8.00"}]},"#,
                r#"{"name":"amounts","groups":[{"by":{"entity":"DE01"},"value":[{"amount":"1.00","currency":"USD"}]},"#,
                r#"{"by":{"entity":"US01"},"value":[{"amount":"5.00","currency":"EUR"},{"amount":"100.00","currency":"USD"}]}]},"#,
                r#"{"name":"ns","groups":[{"by":{},"value":4}]},"#,
                r#"{"name":"closed","groups":[{"by":{},"value":1}]},"#,
                r#"{"name":"stale","groups":[{"by":{"entity":"US01"},"value":"8.00"}]}]"#
            )
        );
        // Without an instant, the aged metric has no value.
        let r = store.metrics().report(&pkg, None);
        assert!(r[4].needs_as_of && r[4].groups.is_empty());
        // Ageing is strict: 48 hours exactly is not yet stale.
        let r = store.metrics().report(&pkg, Some(Timestamp(48 * HOUR)));
        assert!(r[4].groups.is_empty(), "{:?}", r[4]);
        let r = store.metrics().report(&pkg, Some(Timestamp(48 * HOUR + 1)));
        assert_eq!(r[4].groups[0].value.to_text(), "7.50");
        // Deleting every record of a group removes the group.
        delete(&mut store, &pkg, "c");
        let r = store.metrics().report(&pkg, Some(as_of));
        assert_eq!(r[1].groups.len(), 1);
        assert!(r[3].groups.is_empty(), "no closed sheet is left: {:?}", r[3]);
        assert_eq!(r[2].groups[0].value, Value_::Int(5));
    }

    #[test]
    fn a_sum_that_overflows_changes_no_metric() {
        let pkg = pkg();
        let tables = Tables::empty(&pkg);
        let mut store = Store::new(&pkg);
        let max = "79228162514264337593543950335";
        put(&mut store, &pkg, sheet("a", "US01", true, max, ("1", "USD"), 1, Some(0)));
        let before = report_json(&store.metrics().report(&pkg, Some(Timestamp(60 * HOUR))));
        let def = pkg.state(StateId(0)).unwrap();
        let write = |v: Value| Write {
            state: StateId(0),
            key: key_of(def, &v),
            before: None,
            after: Some(v),
            loc: Default::default(),
        };
        // A new group, then a sheet whose hours overflow US01's sum: the
        // first write's cells are taken back too.
        let writes = [
            write(sheet("b", "DE01", true, "2", ("3", "EUR"), 4, Some(0))),
            write(sheet("c", "US01", true, "1", ("1", "USD"), 1, Some(0))),
        ];
        let fault = store.apply(&pkg, &tables, &writes).unwrap_err();
        assert!(fault.message.starts_with("metric `hours` would not fit 96 bits"), "{}", fault.message);
        assert_eq!(report_json(&store.metrics().report(&pkg, Some(Timestamp(60 * HOUR)))), before);
        // And a later apply still works (the scratch was left clean).
        put(&mut store, &pkg, sheet("d", "DE01", true, "2", ("3", "EUR"), 4, Some(0)));
        let r = store.metrics().report(&pkg, Some(Timestamp(60 * HOUR)));
        assert_eq!(r[0].groups.len(), 2, "{r:?}");
    }

    #[test]
    fn a_probe_hashes_and_compares_as_its_cell_key() {
        use std::hash::BuildHasher;
        let keys = [
            CellKey { group: Box::new([]), at: None },
            CellKey { group: Box::new(["\"US01\"".into()]), at: None },
            CellKey { group: Box::new(["\"US01\"".into()]), at: Some(7) },
            CellKey { group: Box::new(["\"US\"".into(), "\"01\"".into()]), at: Some(-1) },
            CellKey { group: Box::new(["".into(), "1".into(), "".into()]), at: None },
        ];
        let fx = rustc_hash::FxBuildHasher;
        let std_hash = std::collections::hash_map::RandomState::new();
        for key in &keys {
            // The probe's texts after another group's, as `apply` lays them out.
            let mut text = String::from("\"before\"");
            let start = text.len();
            let mut ends = Vec::new();
            for g in key.group.iter() {
                text.push_str(g);
                ends.push(text.len());
            }
            let probe = Probe { text: &text, start, ends: &ends, at: key.at };
            let view: &dyn KeyView = &probe;
            assert_eq!(fx.hash_one(key), fx.hash_one(view), "{key:?}");
            assert_eq!(std_hash.hash_one(key), std_hash.hash_one(view), "{key:?}");
            assert_eq!(&probe.to_key(), key);
            for other in &keys {
                let k: &dyn KeyView = other;
                assert_eq!(k == view, other == key, "{other:?} {key:?}");
            }
        }
    }

    #[test]
    fn values_are_shown_without_the_history_of_their_scale() {
        assert_eq!(show_decimal("12.5000".parse().unwrap()), "12.50");
        assert_eq!(show_decimal("0.125".parse().unwrap()), "0.125");
        assert_eq!(show_decimal("-0.000".parse().unwrap()), "0.00");
        assert_eq!(show_decimal("100".parse().unwrap()), "100.00");
    }

    #[test]
    fn cells_round_trip_through_their_text() {
        for acc in [
            Acc::Int(-12),
            Acc::Decimal("7.125".parse().unwrap()),
            Acc::Money(vec![(Currency::parse("EUR").unwrap(), "1.5".parse().unwrap())]),
            Acc::Count,
        ] {
            assert_eq!(Acc::from_text(&acc.to_text()), Some(acc));
        }
        assert_eq!(Acc::from_text("x:1"), None);
    }
}
