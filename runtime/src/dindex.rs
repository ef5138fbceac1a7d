//! Large decision tables, looked up through an index (LANGUAGE.md §5.2,
//! "Lookups"). Both engines share it: the interpreter, and the JIT's
//! `decision_next` helper for a table with at least [`DEFAULT_MIN_ROWS`] rows.
//!
//! The index never decides a row: it only narrows the rows worth testing,
//! and the candidates are then tested cell by cell, in table order, exactly
//! as the row-by-row reading does (this module's [`row_matches`] is that
//! reading). A row may be left out only when the reading would have found,
//! without a fault, that it does not match: one of its cells is false and
//! no cell before it (nor the cell itself) can fault. Cells that can fault
//! are the ordered tests of a Money column (two currencies give
//! `CURRENCY_MISMATCH`); from a row's first such cell on, the row is kept
//! as a candidate on every column (it is "wild" there).
//!
//! Per indexed column:
//! - an equality column (cells `-` and value lists, any type) is a hash map
//!   from each value to the rows listing it;
//! - an ordered column (Int, Decimal, Date, Timestamp, Text with `<`,
//!   ranges, lists of them) cuts the line at the sorted distinct boundaries
//!   of its cells into segments (each boundary, and the open stretch
//!   between two), each with the rows whose cell holds there; a value is
//!   placed by binary search.
//!
//! Rows whose cell cannot be indexed (`-`, `not`, a parameter in the cell,
//! an earlier cell that can fault) are the column's wild rows, candidates
//! for every value. A lookup asks every indexed column and keeps the
//! smallest candidate list (its rows merged with the column's wild rows).

use std::cmp::Ordering;

use canon_compiler::ir::{self, CellTest, CmpOp, CollectAgg, Const, Loc};
use canon_compiler::types::{OrdKind, Ty};
use canon_stdlib::money::{self, MoneyOp};
use canon_stdlib::{num, text};
use rustc_hash::FxHashMap;

use crate::interp::const_value;
use crate::outcome::Fault;
use crate::value::{KeyPart, Value};

/// Tables with at least this many rows are indexed (smaller ones are read
/// row by row; the JIT compiles them inline).
pub const DEFAULT_MIN_ROWS: usize = 64;

/// An ordered column whose segment lists would hold more than this many
/// entries per row (wide, overlapping ranges with many distinct ends) is
/// not indexed: its lists would grow with the square of the rows.
const MAX_SEGMENT_ENTRIES_PER_ROW: usize = 16;

/// The indexes of a package's decisions, built once when an engine is made.
#[derive(Debug, Default)]
pub struct DecisionIndexes {
    min_rows: usize,
    by_decision: Vec<Option<RowIndex>>,
}

impl DecisionIndexes {
    /// Indexes every decision with at least `min_rows` rows (and a column
    /// worth indexing). `usize::MAX` indexes none: the row-by-row reading.
    pub fn build(pkg: &ir::Package, min_rows: usize) -> DecisionIndexes {
        let by_decision =
            pkg.decisions.iter().map(|d| if d.rows.len() >= min_rows { RowIndex::build(d) } else { None }).collect();
        DecisionIndexes { min_rows, by_decision }
    }

    /// The index of decision `d`, when it has one.
    pub fn get(&self, d: usize) -> Option<&RowIndex> {
        self.by_decision.get(d).and_then(|i| i.as_ref())
    }

    /// The threshold the indexes were built with.
    pub fn min_rows(&self) -> usize {
        self.min_rows
    }
}

/// The index of one decision table.
#[derive(Debug)]
pub struct RowIndex {
    rows: usize,
    columns: Vec<Column>,
    /// Every column of the table is indexed (rows can be known to match).
    complete: bool,
    /// Per row, what its cell of each indexed column holds for (row by
    /// row: a row's passes share a cache line, so judging a candidate
    /// touches one line, not one per column).
    passes: Passes,
}

/// The rows' [`Pass`]es, `columns.len()` a row, in four bytes each when
/// every pass fits ([`narrow`]), else as they are.
#[derive(Debug)]
enum Passes {
    Narrow(Vec<u32>),
    Wide(Vec<Pass>),
}

impl Passes {
    /// From each column's passes, by row.
    fn new(columns: &[Vec<Pass>], rows: usize, wide: bool) -> Passes {
        let at = |r: usize| columns.iter().map(move |c| c.get(r).copied().unwrap_or(Pass::Any));
        let all = || (0..rows).flat_map(at);
        match all().map(narrow).collect::<Option<Vec<u32>>>() {
            Some(n) if !wide => Passes::Narrow(n),
            _ => Passes::Wide(all().collect()),
        }
    }

    /// The pass at position `i` (a row's first, plus the column's place).
    fn get(&self, i: usize) -> Pass {
        match self {
            Passes::Narrow(v) => v.get(i).map_or(Pass::Any, |n| widen(*n)),
            Passes::Wide(v) => v.get(i).copied().unwrap_or(Pass::Any),
        }
    }
}

const NARROW_ANY: u32 = u32::MAX;
const NARROW_ALL: u32 = u32::MAX - 1;
const NARROW_SEGS: u32 = 1 << 31;
/// Segment numbers a narrow `Segs` holds: 15 bits each.
const NARROW_SEG_LIMIT: u32 = (1 << 15) - 1;

/// A pass in four bytes: `Any` and `All` the two largest values, a key id
/// below 2^31, segments `lo..=hi` as the top bit with 15 bits each (so no
/// `Segs` reaches the two largest values). `None` when it does not fit.
fn narrow(p: Pass) -> Option<u32> {
    match p {
        Pass::Any => Some(NARROW_ANY),
        Pass::All => Some(NARROW_ALL),
        Pass::Key(id) if id < NARROW_SEGS => Some(id),
        Pass::Segs(lo, hi) if lo < NARROW_SEG_LIMIT && hi < NARROW_SEG_LIMIT => Some(NARROW_SEGS | lo << 15 | hi),
        _ => None,
    }
}

fn widen(n: u32) -> Pass {
    match n {
        NARROW_ANY => Pass::Any,
        NARROW_ALL => Pass::All,
        n if n & NARROW_SEGS == 0 => Pass::Key(n),
        n => Pass::Segs((n >> 15) & NARROW_SEG_LIMIT, n & NARROW_SEG_LIMIT),
    }
}

#[derive(Debug)]
struct Column {
    /// The parameter the column tests.
    param: u32,
    /// Its type without `?`: an input of another shape is not looked up.
    ty: Ty,
    /// Rows that stay candidates whatever the value, in order.
    wild: Vec<u32>,
    lookup: Lookup,
}

/// What one row's cell of an indexed column holds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Not judged here (wild, or several values or intervals): the row passes.
    Any,
    /// `-`: holds for every value (and cannot fault).
    All,
    /// Exactly the value with this id (a hash column).
    Key(u32),
    /// The segments `lo..=hi` (an ordered column; empty when `lo > hi`).
    Segs(u32, u32),
}

/// Where the input falls in one column, to test rows' [`Pass`]es.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// No test (a `none` in an ordered column, a value of another shape).
    Skip,
    /// The value's id, or `None` when no row lists it.
    Key(Option<u32>),
    Seg(u32),
}

impl Probe {
    fn admits(self, pass: Pass) -> bool {
        match (self, pass) {
            (Probe::Skip, _) | (_, Pass::Any | Pass::All) => true,
            (Probe::Key(id), Pass::Key(k)) => id == Some(k),
            (Probe::Seg(s), Pass::Segs(lo, hi)) => lo <= s && s <= hi,
            _ => true,
        }
    }

    /// Whether [`Probe::admits`] is the cell's own answer (it holds, without a fault).
    fn exact(self, pass: Pass) -> bool {
        matches!((self, pass), (_, Pass::All) | (Probe::Key(_), Pass::Key(_)) | (Probe::Seg(_), Pass::Segs(..)))
    }
}

#[derive(Debug)]
enum Lookup {
    /// Value (`none` included) to its id, and by id the rows whose cell lists it, in order.
    Hash(FxHashMap<KeyPart, u32>, Vec<Vec<u32>>),
    Ordered {
        /// The distinct boundaries, sorted.
        bounds: Vec<Value>,
        /// Segment `2i` is below `bounds[i]` (above `bounds[i-1]`), segment
        /// `2i+1` is `bounds[i]` itself; segment `2 * bounds.len()` is above all.
        segs: Vec<Vec<u32>>,
        /// Rows whose cell matches `none` (a list naming it).
        none_rows: Vec<u32>,
    },
}

/// The rows to test for one input, in table order: a list (or every row),
/// less the rows another indexed column's cell rules out.
#[derive(Debug, Clone)]
pub struct Candidates<'i> {
    /// Two disjoint sorted lists to merge, or `None` for every row.
    lists: Option<(&'i [u32], &'i [u32])>,
    rows: usize,
    /// The rows' passes, `width` a row.
    passes: &'i Passes,
    width: usize,
    /// The columns (places in a row's passes) to test each listed row's
    /// [`Pass`] against, with the input's probe.
    probes: smallvec::SmallVec<[(usize, Probe); 6]>,
    /// Every column of the table has a probe: a row whose passes are all
    /// exact matches without being read.
    complete: bool,
}

impl<'i> Candidates<'i> {
    /// Every row of a table of `rows`.
    pub fn all(rows: usize) -> Candidates<'i> {
        static NONE: Passes = Passes::Narrow(Vec::new());
        Candidates { lists: None, rows, passes: &NONE, width: 0, probes: smallvec::SmallVec::new(), complete: false }
    }

    /// At most how many rows it holds.
    pub fn len(&self) -> usize {
        match self.lists {
            None => self.rows,
            Some((a, b)) => a.len() + b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The candidates from row `from` on, in table order, each with
    /// whether it is known to match (its every cell judged by the index:
    /// it holds, and cannot fault). The others must be read.
    pub fn from<'s>(&'s self, from: usize) -> impl Iterator<Item = (usize, bool)> + use<'s, 'i> {
        let rows = match self.lists {
            None => CandidateIter::Range(from, self.rows),
            Some((a, b)) => {
                let at = |l: &'i [u32]| l.get(l.partition_point(|r| (*r as usize) < from)..).unwrap_or(&[]);
                CandidateIter::Merge(at(a), at(b))
            }
        };
        rows.filter_map(move |r| {
            let mut exact = self.complete;
            let first = r.saturating_mul(self.width);
            for (at, probe) in &self.probes {
                let p = self.passes.get(first.saturating_add(*at));
                if !probe.admits(p) {
                    return None;
                }
                exact &= probe.exact(p);
            }
            Some((r, exact))
        })
    }
}

/// The rows of [`Candidates::from`] before the other columns' tests.
enum CandidateIter<'i> {
    Range(usize, usize),
    Merge(&'i [u32], &'i [u32]),
}

impl Iterator for CandidateIter<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match self {
            CandidateIter::Range(i, n) => {
                if *i < *n {
                    *i += 1;
                    Some(*i - 1)
                } else {
                    None
                }
            }
            CandidateIter::Merge(a, b) => {
                let take_a = match (a.first(), b.first()) {
                    (Some(x), Some(y)) => x < y,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => return None,
                };
                let l = if take_a { a } else { b };
                let (first, rest) = l.split_first()?;
                *l = rest;
                Some(*first as usize)
            }
        }
    }
}

impl RowIndex {
    /// The index of `d`, when some column narrows its rows.
    pub fn build(d: &ir::DecisionDef) -> Option<RowIndex> {
        RowIndex::build_passes(d, false)
    }

    /// [`RowIndex::build`], the passes kept wide when `wide` (tests).
    fn build_passes(d: &ir::DecisionDef, wide: bool) -> Option<RowIndex> {
        let rows = d.rows.len();
        if rows == 0 || rows > u32::MAX as usize {
            return None;
        }
        // Per row, the first cell that can fault: cells from there on cannot prune it.
        let first_fault: Vec<usize> = d
            .rows
            .iter()
            .map(|r| {
                r.cells
                    .iter()
                    .zip(d.columns.iter())
                    .position(|(c, col)| can_fault(c, money_column(d, *col)))
                    .unwrap_or(usize::MAX)
            })
            .collect();
        let mut columns = Vec::new();
        let mut passes = Vec::new();
        let mut complete = true;
        for pos in 0..d.columns.len() {
            match Column::build(d, pos, &first_fault) {
                // Kept to narrow, or for its passes alone (`-` everywhere, say).
                Some((c, pass)) if c.wild.len() < rows || pass.iter().all(|p| *p != Pass::Any) => {
                    columns.push(c);
                    passes.push(pass);
                }
                _ => complete = false,
            }
        }
        let narrows = columns.iter().any(|c| c.wild.len() < rows);
        if !narrows {
            return None;
        }
        let passes = Passes::new(&passes, rows, wide);
        Some(RowIndex { rows, columns, complete, passes })
    }

    /// The rows worth testing for the inputs in `frame` (the decision's
    /// parameters by slot): the smallest list any column gives.
    pub fn candidates<'i>(&'i self, frame: &[Value]) -> Candidates<'i> {
        let mut best: Option<(&'i [u32], &'i [u32])> = None;
        let mut best_len = self.rows;
        let mut probes = smallvec::SmallVec::new();
        for (at, c) in self.columns.iter().enumerate() {
            let v = frame.get(c.param as usize).unwrap_or(&Value::None);
            if let Some((list, probe)) = c.rows_for(v) {
                let len = list.len() + c.wild.len();
                if len < best_len {
                    best = Some((list, &c.wild));
                    best_len = len;
                }
                if probe != Probe::Skip {
                    probes.push((at, probe));
                }
            }
        }
        let complete = self.complete && probes.len() == self.columns.len();
        Candidates { lists: best, rows: self.rows, passes: &self.passes, width: self.columns.len(), probes, complete }
    }
}

impl Column {
    /// The column at `pos` and, per row, what its cell holds for,
    /// compactly: a candidate of another column's list is skipped when this
    /// column's cell cannot hold (the lists intersected row by row, without
    /// reading the rows; [`RowIndex::passes`]).
    fn build(d: &ir::DecisionDef, pos: usize, first_fault: &[usize]) -> Option<(Column, Vec<Pass>)> {
        let param = *d.columns.get(pos)?;
        let ty = d.params.get(param as usize)?.1.strip().clone();
        // Ordered when some cell orders (else a hash of the listed values).
        let ordered = matches!(ty, Ty::Int | Ty::Decimal | Ty::Date | Ty::Timestamp | Ty::Text)
            && d.rows.iter().any(|r| {
                matches!(r.cells.get(pos), Some(CellTest::Cmp { .. } | CellTest::Range { .. } | CellTest::AnyOf(_)))
            });
        let cell = |r: usize| -> Option<&CellTest> {
            let usable = first_fault.get(r).is_some_and(|f| pos < *f);
            d.rows.get(r).and_then(|row| row.cells.get(pos)).filter(|_| usable)
        };
        let mut wild = Vec::new();
        let mut pass = vec![Pass::Any; d.rows.len()];
        if !ordered {
            let mut ids: FxHashMap<KeyPart, u32> = FxHashMap::default();
            let mut lists: Vec<Vec<u32>> = Vec::new();
            for r in 0..d.rows.len() {
                match cell(r) {
                    Some(CellTest::In { values, negated: false }) if values.iter().all(|c| const_fits(&ty, c)) => {
                        for c in values {
                            let next = lists.len() as u32;
                            let id = *ids.entry(KeyPart::of(&const_value(c))).or_insert(next);
                            if id == next {
                                lists.push(Vec::new());
                            }
                            if let [_] = values.as_slice() {
                                if let Some(p) = pass.get_mut(r) {
                                    *p = Pass::Key(id);
                                }
                            }
                            if let Some(list) = lists.get_mut(id as usize) {
                                if list.last() != Some(&(r as u32)) {
                                    list.push(r as u32);
                                }
                            }
                        }
                    }
                    other => {
                        if let (Some(CellTest::Any), Some(p)) = (other, pass.get_mut(r)) {
                            *p = Pass::All;
                        }
                        wild.push(r as u32)
                    }
                }
            }
            return Some((Column { param, ty, wild, lookup: Lookup::Hash(ids, lists) }, pass));
        }
        // An ordered column: each indexed cell as a union of intervals.
        let mut specs: Vec<(u32, Spec)> = Vec::new();
        for r in 0..d.rows.len() {
            match cell(r).and_then(|c| spec(&ty, c)) {
                Some(s) => specs.push((r as u32, s)),
                None => {
                    if let (Some(CellTest::Any), Some(p)) = (cell(r), pass.get_mut(r)) {
                        *p = Pass::All;
                    }
                    wild.push(r as u32)
                }
            }
        }
        let mut bounds: Vec<Value> = Vec::new();
        for (_, s) in &specs {
            for (lo, hi) in &s.ranges {
                bounds.extend(lo.iter().chain(hi.iter()).map(|(v, _)| v.clone()));
            }
        }
        bounds.sort_by(|a, b| cmp_plain(a, b).unwrap_or(Ordering::Equal));
        bounds.dedup_by(|a, b| cmp_plain(a, b) == Some(Ordering::Equal));
        let place = |v: &Value| bounds.partition_point(|b| cmp_plain(b, v) == Some(Ordering::Less));
        let top = 2 * bounds.len();
        let mut segs: Vec<Vec<u32>> = vec![Vec::new(); top + 1];
        let mut none_rows = Vec::new();
        let budget = d.rows.len().saturating_mul(MAX_SEGMENT_ENTRIES_PER_ROW).saturating_add(4096);
        let mut used = 0usize;
        let mut mine: Vec<usize> = Vec::new();
        for (r, s) in &specs {
            if s.none {
                none_rows.push(*r);
            }
            mine.clear();
            for (lo, hi) in &s.ranges {
                let start = match lo {
                    None => 0,
                    Some((v, closed)) => 2 * place(v) + if *closed { 1 } else { 2 },
                };
                let end = match hi {
                    None => top,
                    Some((v, closed)) => 2 * place(v) + usize::from(*closed),
                };
                if start <= end {
                    mine.extend(start..=end);
                }
            }
            mine.sort_unstable();
            mine.dedup();
            if let (Some(p), Some(first), Some(last)) = (pass.get_mut(*r as usize), mine.first(), mine.last()) {
                // One run of segments: the prefilter is exact; gaps: not judged.
                if last - first + 1 == mine.len() {
                    *p = Pass::Segs(*first as u32, *last as u32);
                }
            } else if let Some(p) = pass.get_mut(*r as usize) {
                *p = Pass::Segs(1, 0);
            }
            used += mine.len();
            if used > budget {
                return None;
            }
            for s in &mine {
                if let Some(l) = segs.get_mut(*s) {
                    l.push(*r);
                }
            }
        }
        Some((Column { param, ty, wild, lookup: Lookup::Ordered { bounds, segs, none_rows } }, pass))
    }

    /// The rows (besides the wild ones) whose cell can match `v`, and the
    /// probe to test rows' [`Pass`]es with; `None` when the value is not of
    /// the column's type (no narrowing).
    fn rows_for(&self, v: &Value) -> Option<(&[u32], Probe)> {
        if !v.is_none() && !value_fits(&self.ty, v) {
            return None;
        }
        Some(match &self.lookup {
            Lookup::Hash(ids, lists) => match ids.get(&KeyPart::of(v)) {
                Some(id) => (lists.get(*id as usize).map(|l| l.as_slice()).unwrap_or(&[]), Probe::Key(Some(*id))),
                None => (&[], Probe::Key(None)),
            },
            Lookup::Ordered { bounds, segs, none_rows } => {
                if v.is_none() {
                    return Some((none_rows, Probe::Skip));
                }
                let i = bounds.partition_point(|b| cmp_plain(b, v) == Some(Ordering::Less));
                let at = bounds.get(i).is_some_and(|b| cmp_plain(b, v) == Some(Ordering::Equal));
                let seg = 2 * i + usize::from(at);
                (segs.get(seg).map(|l| l.as_slice()).unwrap_or(&[]), Probe::Seg(seg as u32))
            }
        })
    }
}

/// An interval end: the value and whether it is included.
type End = Option<(Value, bool)>;

/// What an indexable cell of an ordered column matches: a union of
/// intervals (a listed value is `[v..v]`), and whether `none` matches.
struct Spec {
    ranges: Vec<(End, End)>,
    none: bool,
}

/// The cell as a [`Spec`], or `None` when it cannot be indexed.
fn spec(ty: &Ty, cell: &CellTest) -> Option<Spec> {
    let fits = |c: &Const| const_fits(ty, c) && !matches!(c, Const::None);
    Some(match cell {
        CellTest::In { values, negated: false } => {
            let mut s = Spec { ranges: Vec::new(), none: false };
            for c in values {
                if matches!(c, Const::None) {
                    s.none = true;
                } else if fits(c) {
                    let v = const_value(c);
                    s.ranges.push((Some((v.clone(), true)), Some((v, true))));
                } else {
                    return None;
                }
            }
            s
        }
        CellTest::Cmp { op, value, .. } if fits(value) => {
            let v = Some((const_value(value), matches!(op, CmpOp::Le | CmpOp::Ge)));
            let range = match op {
                CmpOp::Lt | CmpOp::Le => (None, v),
                CmpOp::Gt | CmpOp::Ge => (v, None),
            };
            Spec { ranges: vec![range], none: false }
        }
        CellTest::Range { lo, lo_closed, hi, hi_closed, .. } if fits(lo) && fits(hi) => Spec {
            ranges: vec![(Some((const_value(lo), *lo_closed)), Some((const_value(hi), *hi_closed)))],
            none: false,
        },
        CellTest::AnyOf(cs) => {
            let mut s = Spec { ranges: Vec::new(), none: false };
            for c in cs {
                let sub = spec(ty, c)?;
                s.none |= sub.none;
                s.ranges.extend(sub.ranges);
            }
            s
        }
        _ => return None,
    })
}

/// Whether the decision's column testing parameter `col` is Money.
fn money_column(d: &ir::DecisionDef, col: u32) -> bool {
    d.params.get(col as usize).is_some_and(|(_, t)| matches!(t.strip(), Ty::Money))
}

/// Whether testing the cell can fault: an ordered test on Money (two
/// currencies are `CURRENCY_MISMATCH`). Equality never faults.
pub fn can_fault(cell: &CellTest, money_column: bool) -> bool {
    match cell {
        CellTest::Any | CellTest::In { .. } => false,
        CellTest::Cmp { kind, value, .. } => {
            money_column || *kind == OrdKind::Money || matches!(value, Const::Money(..))
        }
        CellTest::Range { kind, lo, hi, .. } => {
            money_column || *kind == OrdKind::Money || matches!(lo, Const::Money(..)) || matches!(hi, Const::Money(..))
        }
        CellTest::CmpParam { kind, .. } => money_column || *kind == OrdKind::Money,
        CellTest::AnyOf(cs) | CellTest::AllOf(cs) => cs.iter().any(|c| can_fault(c, money_column)),
    }
}

/// Whether a constant is a value of type `ty` (or `none`), as the index reads it.
fn const_fits(ty: &Ty, c: &Const) -> bool {
    matches!(
        (ty, c),
        (_, Const::None)
            | (Ty::Bool, Const::Bool(_))
            | (Ty::Int, Const::Int(_))
            | (Ty::Decimal, Const::Decimal(_))
            | (Ty::Money, Const::Money(..))
            | (Ty::Currency, Const::Currency(_))
            | (Ty::Text, Const::Text(_))
            | (Ty::Date, Const::Date(_))
            | (Ty::Timestamp, Const::Timestamp(_))
            | (Ty::Enum(_), Const::Enum(..))
    )
}

/// Whether a (non-`none`) value is of type `ty`.
fn value_fits(ty: &Ty, v: &Value) -> bool {
    matches!(
        (ty, v),
        (Ty::Bool, Value::Bool(_))
            | (Ty::Int, Value::Int(_))
            | (Ty::Decimal, Value::Decimal(_))
            | (Ty::Money, Value::Money(..))
            | (Ty::Currency, Value::Currency(_))
            | (Ty::Text, Value::Text(_))
            | (Ty::Date, Value::Date(_))
            | (Ty::Timestamp, Value::Timestamp(_))
            | (Ty::Enum(_), Value::Enum(_))
    )
}

/// The order of two values of one ordered type that cannot fault (not Money).
fn cmp_plain(a: &Value, b: &Value) -> Option<Ordering> {
    Some(match (a, b) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (Value::Decimal(a), Value::Decimal(b)) => num::cmp(a, b),
        (Value::Date(a), Value::Date(b)) => a.cmp(b),
        (Value::Timestamp(a), Value::Timestamp(b)) => a.cmp(b),
        (Value::Text(a), Value::Text(b)) => text::cmp(a, b),
        _ => return None,
    })
}

// ------------------------------------------------------------ the reading

fn fault(pkg: &ir::Package, f: canon_stdlib::Fault, loc: Loc) -> Fault {
    Fault::from_stdlib(&f, loc, &pkg.loc_string(loc))
}

/// Orders two values; `op` is what asks, named by a currency mismatch.
pub fn order(pkg: &ir::Package, x: &Value, y: &Value, op: MoneyOp, loc: Loc) -> Result<Ordering, Fault> {
    Ok(match (x, y) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (Value::Decimal(a), Value::Decimal(b)) => num::cmp(a, b),
        (Value::Money(a, c), Value::Money(b, d)) => {
            money::cmp((*a, *c), (*b, *d), op).map_err(|f| fault(pkg, f, loc))?
        }
        (Value::Date(a), Value::Date(b)) => a.cmp(b),
        (Value::Timestamp(a), Value::Timestamp(b)) => a.cmp(b),
        (Value::Text(a), Value::Text(b)) => text::cmp(a, b),
        _ => Ordering::Equal,
    })
}

pub fn cmp_holds(op: CmpOp, o: Ordering) -> bool {
    match op {
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}

pub fn eq_const(v: &Value, c: &Const) -> bool {
    match (v, c) {
        (Value::Enum(a), Const::Enum(_, b)) => a == b,
        (Value::None, Const::None) => true,
        (Value::Bool(a), Const::Bool(b)) => a == b,
        (Value::Text(a), Const::Text(b)) => **a == **b,
        (v, c) => *v == const_value(c),
    }
}

/// The row-by-row reading of one row (§5.2): its cells left to right, the
/// first that does not match ends the test.
pub fn row_matches(
    pkg: &ir::Package,
    d: &ir::DecisionDef,
    row: &ir::DecisionRow,
    frame: &[Value],
) -> Result<bool, Fault> {
    for (cell, col) in row.cells.iter().zip(d.columns.iter()) {
        let v = frame.get(*col as usize).unwrap_or(&Value::None);
        if !cell_matches(pkg, cell, v, frame, row.loc)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `cell` holds for the value `v` (a list's tests left to right).
pub fn cell_matches(pkg: &ir::Package, cell: &CellTest, v: &Value, frame: &[Value], loc: Loc) -> Result<bool, Fault> {
    Ok(match cell {
        CellTest::CmpParam { op, param, .. } => {
            let other = frame.get(*param as usize).unwrap_or(&Value::None);
            if v.is_none() || other.is_none() {
                return Ok(false);
            }
            let o = order(pkg, v, other, op.money_op(), loc)?;
            cmp_holds(*op, o)
        }
        CellTest::AnyOf(cs) => {
            for c in cs {
                if cell_matches(pkg, c, v, frame, loc)? {
                    return Ok(true);
                }
            }
            false
        }
        CellTest::AllOf(cs) => {
            for c in cs {
                if !cell_matches(pkg, c, v, frame, loc)? {
                    return Ok(false);
                }
            }
            true
        }
        CellTest::Any => true,
        CellTest::In { values, negated } => values.iter().any(|c| eq_const(v, c)) != *negated,
        CellTest::Cmp { op, value, .. } => {
            if v.is_none() {
                return Ok(false);
            }
            let o = order(pkg, v, &const_value(value), op.money_op(), loc)?;
            cmp_holds(*op, o)
        }
        CellTest::Range { lo, lo_closed, hi, hi_closed, .. } => {
            if v.is_none() {
                return Ok(false);
            }
            let lo_op = if *lo_closed { MoneyOp::Ge } else { MoneyOp::Gt };
            let a = order(pkg, v, &const_value(lo), lo_op, loc)?;
            if !(if *lo_closed { a != Ordering::Less } else { a == Ordering::Greater }) {
                return Ok(false);
            }
            let hi_op = if *hi_closed { MoneyOp::Le } else { MoneyOp::Lt };
            let b = order(pkg, v, &const_value(hi), hi_op, loc)?;
            if *hi_closed {
                b != Ordering::Greater
            } else {
                b == Ordering::Less
            }
        }
    })
}

/// The rows of `d` to test for `frame`, in table order: the index's
/// candidates, or every row.
pub fn candidates<'i>(d: &ir::DecisionDef, index: Option<&'i RowIndex>, frame: &[Value]) -> Candidates<'i> {
    match index {
        Some(i) => i.candidates(frame),
        None => Candidates::all(d.rows.len()),
    }
}

/// The first row at or after `from` that matches, reading the candidates
/// in table order as the row-by-row reading does (the JIT's `decision_next`).
pub fn next_match(
    pkg: &ir::Package,
    d: &ir::DecisionDef,
    index: Option<&RowIndex>,
    frame: &[Value],
    from: usize,
) -> Result<Option<usize>, Fault> {
    for (r, known) in candidates(d, index, frame).from(from) {
        if known {
            return Ok(Some(r));
        }
        if let Some(row) = d.rows.get(r) {
            if row_matches(pkg, d, row, frame)? {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

/// The accumulator of `collect sum/count/min/max` before any row.
pub fn collect_start(d: &ir::DecisionDef, agg: CollectAgg) -> Value {
    use canon_stdlib::functions::sum;
    match (agg, d.ret.strip()) {
        (CollectAgg::Count, _) => Value::Int(0),
        (CollectAgg::Sum, Ty::Int) => Value::Int(sum::INT_ZERO),
        (CollectAgg::Sum, Ty::Decimal) => Value::Decimal(sum::decimal_zero()),
        _ => Value::None,
    }
}

/// One step of `collect sum/count/min/max`: the output `v` of the row at
/// `row_loc` into `acc` (a fault names the row).
pub fn collect_step(pkg: &ir::Package, agg: CollectAgg, acc: Value, v: Value, row_loc: Loc) -> Result<Value, Fault> {
    use canon_stdlib::functions::sum;
    let f = |r: canon_stdlib::Fault| fault(pkg, r, row_loc);
    Ok(match (agg, acc, v) {
        (CollectAgg::Count, Value::Int(n), _) => Value::Int(n.saturating_add(1)),
        (_, Value::None, v) => v,
        (CollectAgg::Sum, Value::Int(a), Value::Int(b)) => Value::Int(sum::add_int(a, b).map_err(f)?),
        (CollectAgg::Sum, Value::Decimal(a), Value::Decimal(b)) => Value::Decimal(sum::add_decimal(a, b).map_err(f)?),
        (CollectAgg::Sum, Value::Money(a, c), Value::Money(b, e)) => {
            let (x, cur) = sum::add_money((a, c), (b, e)).map_err(f)?;
            Value::Money(x, cur)
        }
        (CollectAgg::Min | CollectAgg::Max, a, b) => {
            let (op, want) =
                if agg == CollectAgg::Min { (MoneyOp::Lt, Ordering::Less) } else { (MoneyOp::Gt, Ordering::Greater) };
            // A later value replaces the kept one only when strictly beyond it.
            if order(pkg, &b, &a, op, row_loc)? == want {
                b
            } else {
                a
            }
        }
        (_, a, _) => a,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn narrow_passes_read_back_as_they_were() {
        let fits = [
            Pass::Any,
            Pass::All,
            Pass::Key(0),
            Pass::Key(7),
            Pass::Key((1 << 31) - 1),
            Pass::Segs(0, 0),
            Pass::Segs(1, 0),
            Pass::Segs(3, 9),
            Pass::Segs(NARROW_SEG_LIMIT - 1, NARROW_SEG_LIMIT - 1),
        ];
        for p in fits {
            assert_eq!(narrow(p).map(widen), Some(p), "{p:?}");
        }
        for p in [Pass::Key(1 << 31), Pass::Key(u32::MAX), Pass::Segs(NARROW_SEG_LIMIT, 0), Pass::Segs(0, 1 << 20)] {
            assert_eq!(narrow(p), None, "{p:?}");
        }
    }

    /// splitmix64.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn cell(rng: &mut Rng, col: usize) -> String {
        let client = |rng: &mut Rng| format!("\"{}\"", ["A", "B", "C", "D", "E", "F"][rng.below(6)]);
        let role = |rng: &mut Rng| ["Junior", "Senior", "Lead"][rng.below(3)].to_string();
        let day = |rng: &mut Rng| format!("@\"2026-0{}-1{}\"", 1 + rng.below(9), rng.below(10));
        let hours = |rng: &mut Rng| format!("{}.{}", rng.below(12), rng.below(100));
        let value = |rng: &mut Rng| match col {
            0 => client(rng),
            1 => role(rng),
            2 => day(rng),
            _ => hours(rng),
        };
        match rng.below(8) {
            0 => "-".to_string(),
            1 => format!("{}, {}", value(rng), value(rng)),
            2 if col != 1 => format!("{} {}", ["<", "<=", ">", ">="][rng.below(4)], value(rng)),
            3 if col != 1 => {
                let (a, b) = (value(rng), value(rng));
                format!("{}{a}..{b}{}", ["[", "("][rng.below(2)], ["]", ")"][rng.below(2)])
            }
            4 => format!("not {}", value(rng)),
            5 if col != 1 => format!("< {}, >= {}", value(rng), value(rng)),
            _ => value(rng),
        }
    }

    /// Constants a column's cells name: the inputs worth trying.
    fn consts(cell: &CellTest, out: &mut Vec<Value>) {
        match cell {
            CellTest::In { values, .. } => out.extend(values.iter().map(const_value)),
            CellTest::Cmp { value, .. } => out.push(const_value(value)),
            CellTest::Range { lo, hi, .. } => out.extend([const_value(lo), const_value(hi)]),
            CellTest::AnyOf(cs) | CellTest::AllOf(cs) => cs.iter().for_each(|c| consts(c, out)),
            CellTest::Any | CellTest::CmpParam { .. } => {}
        }
    }

    /// The candidates (and whether each is known to match) are the same
    /// whether the passes are packed in four bytes or kept wide.
    #[test]
    fn narrow_and_wide_passes_give_the_same_candidates() {
        let mut indexed = 0;
        for seed in 0..40u64 {
            let mut rng = Rng(seed);
            let rows = 64 + rng.below(300);
            let mut src = String::from(
                "enum Role { Junior, Senior, Lead }\n\
                 decision d(client: Text, role: Role, day: Date, hours: Decimal) -> Int\n  hit collect\n  \
                 | client | role | day | hours || n |\n",
            );
            for r in 0..rows {
                let cells: Vec<String> = (0..4).map(|c| cell(&mut rng, c)).collect();
                src.push_str(&format!("  | {} || {r} |\n", cells.join(" | ")));
            }
            let loaded =
                crate::package::from_sources(std::path::PathBuf::from("."), vec![("t.canon".into(), src.clone())]);
            assert!(!loaded.has_errors(), "seed {seed}: {:?}\n{src}", loaded.diagnostics());
            let pkg = loaded.package();
            let d = pkg.decisions.first().unwrap();
            let (Some(n), Some(w)) = (RowIndex::build_passes(d, false), RowIndex::build_passes(d, true)) else {
                continue;
            };
            assert!(matches!(n.passes, Passes::Narrow(_)) && matches!(w.passes, Passes::Wide(_)));
            indexed += 1;
            let mut seen: Vec<Vec<Value>> = vec![vec![Value::None]; 4];
            for row in &d.rows {
                for (pos, c) in row.cells.iter().enumerate() {
                    let col = d.columns[pos] as usize;
                    consts(c, &mut seen[col]);
                }
            }
            for _ in 0..200 {
                let frame: Vec<Value> = seen.iter().map(|vs| vs[rng.below(vs.len())].clone()).collect();
                let from = rng.below(rows);
                let a: Vec<(usize, bool)> = n.candidates(&frame).from(from).collect();
                let b: Vec<(usize, bool)> = w.candidates(&frame).from(from).collect();
                assert_eq!(a, b, "seed {seed}, frame {frame:?}, from {from}");
            }
        }
        assert!(indexed >= 30, "only {indexed} of 40 tables were indexed");
    }
}
