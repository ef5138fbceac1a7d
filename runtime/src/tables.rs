//! Reference tables (LANGUAGE.md §5.1): rows loaded from `data/<name>.csv` or
//! `data/<name>.jsonl`, keyed for lookup. A load error names the file, line
//! and column, and nothing runs on partial data.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;
use std::sync::Arc;

use canon_compiler::ir::{self, TableId};
use canon_compiler::types::Ty;
use canon_stdlib::{num, time, Currency};

use crate::decode::Decoder;
use crate::value::{KeyPart, Value};

/// A data error: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct DataError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

/// The loaded rows of every table of a package.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    tables: Vec<HashMap<Vec<KeyPart>, Value>>,
    /// Effective-dated tables (LANGUAGE.md §5.1): per key, its history sorted by start.
    dated: Vec<HashMap<Vec<KeyPart>, Vec<DatedRow>>>,
}

/// One row of an effective-dated table's history. `from` and `until` are
/// days (a Date's day number) or microseconds (a Timestamp), `until`
/// exclusive (a Date end column's day plus one) and `None` open-ended.
#[derive(Debug, Clone)]
pub struct DatedRow {
    pub from: i64,
    pub until: Option<i64>,
    pub row: Value,
}

/// The row of a sorted history in force at `at`, by binary search:
/// the last row that starts at or before `at`, if it has not ended by then.
pub fn in_force<T>(history: &[T], at: i64, span: impl Fn(&T) -> (i64, Option<i64>)) -> Option<&T> {
    let i = history.partition_point(|r| span(r).0 <= at);
    let r = history.get(i.checked_sub(1)?)?;
    match span(r).1 {
        Some(until) if at >= until => None,
        _ => Some(r),
    }
}

/// A value of a validity column, or of an `as of`, as the number a history is sorted by.
pub fn instant(v: &Value) -> Option<i64> {
    match v {
        Value::Date(d) => Some(i64::from(d.0)),
        Value::Timestamp(t) => Some(t.0),
        _ => None,
    }
}

/// An `as of` lookup's key for traces: the key, then ` as of ` and the date or timestamp.
pub fn describe_as_of(key: &str, at: i64, timestamp: bool) -> String {
    let mut s = format!("{key} as of ");
    if timestamp {
        time::format_timestamp(canon_stdlib::Timestamp(at), &mut s);
    } else {
        let day = i32::try_from(at).unwrap_or(if at < 0 { i32::MIN } else { i32::MAX });
        time::format_date(canon_stdlib::Date(day), &mut s);
    }
    s
}

/// Where a row came from, for overlap errors: `file:line` of a data file, or
/// `row N` of a test's `with`.
struct Source {
    file: String,
    line: u64,
    shown: String,
}

/// Builds the histories of an effective-dated table: rows of one key sorted
/// by start; two rows of one key in force at the same time are an error
/// naming both (at the later row).
fn histories(
    pkg: &ir::Package,
    def: &ir::TableDef,
    eff: ir::Effective,
    rows: Vec<(Source, Value)>,
) -> Result<HashMap<Vec<KeyPart>, Vec<DatedRow>>, (Source, String)> {
    let mut groups: HashMap<Vec<KeyPart>, Vec<(Source, DatedRow)>> = HashMap::default();
    for (src, row) in rows {
        let Value::Record(fields) = &row else { continue };
        let from = fields.get(eff.from as usize).and_then(instant);
        let until = eff.to.and_then(|t| fields.get(t as usize)).and_then(instant);
        let Some(from) = from else {
            return Err((src, format!("a row of table `{}` has no start", def.name)));
        };
        // A Date end is inclusive: the row is in force until the next day.
        let until = match (until, eff.timestamp) {
            (Some(u), false) => Some(u.saturating_add(1)),
            (u, _) => u,
        };
        if let Some(u) = until {
            if u <= from {
                let what = if eff.timestamp { "at or before" } else { "before" };
                return Err((src, format!("in table `{}`, a row ends {what} it starts", def.name)));
            }
        }
        groups.entry(key_of(def, &row)).or_default().push((src, DatedRow { from, until, row }));
    }
    let mut out = HashMap::with_capacity_and_hasher(groups.len(), Default::default());
    let mut first: Option<(Source, String)> = None;
    for (key, mut rows) in groups {
        rows.sort_by_key(|(_, r)| r.from);
        for pair in rows.windows(2) {
            let [(a_src, a), (b_src, b)] = pair else { continue };
            // Without an end column a row ends where the next begins: only an equal start overlaps.
            let overlaps = a.from == b.from || (eff.to.is_some() && a.until.is_none_or(|u| u > b.from));
            if overlaps {
                let when = describe_as_of("", b.from, eff.timestamp);
                let when = when.trim_start_matches(" as of ");
                let same = if eff.timestamp { "at the same time" } else { "on the same day" };
                let message = format!(
                    "two rows of key `{}` in table `{}` are in force {same} ({when}): {} and {}",
                    KeyPart::describe_key(pkg, def, &key),
                    def.name,
                    a_src.shown,
                    b_src.shown
                );
                let src = Source { file: b_src.file.clone(), line: b_src.line, shown: b_src.shown.clone() };
                // The first in the file, whatever the order of the keys.
                if first.as_ref().is_none_or(|(s, _)| (&src.file, src.line) < (&s.file, s.line)) {
                    first = Some((src, message));
                }
                break;
            }
        }
        out.insert(key, rows.into_iter().map(|(_, r)| r).collect());
    }
    match first {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

impl Tables {
    pub fn empty(pkg: &ir::Package) -> Tables {
        Tables { tables: vec![HashMap::default(); pkg.tables.len()], dated: vec![HashMap::default(); pkg.tables.len()] }
    }

    /// The row of an effective-dated table in force at `at` (days or microseconds, see [`DatedRow`]).
    pub fn get_as_of(&self, t: TableId, key: &[KeyPart], at: i64) -> Option<&Value> {
        let history = self.dated.get(t.0 as usize)?.get(key)?;
        in_force(history, at, |r| (r.from, r.until)).map(|r| &r.row)
    }

    /// The histories of an effective-dated table with their keys, in no particular order.
    pub fn histories(&self, t: TableId) -> impl Iterator<Item = (&[KeyPart], &[DatedRow])> {
        self.dated.get(t.0 as usize).into_iter().flat_map(|m| m.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
    }

    pub fn get(&self, t: TableId, key: &[KeyPart]) -> Option<&Value> {
        self.tables.get(t.0 as usize)?.get(key)
    }

    /// The rows of a table with their keys, in no particular order.
    pub fn rows(&self, t: TableId) -> impl Iterator<Item = (&[KeyPart], &Value)> {
        self.tables.get(t.0 as usize).into_iter().flat_map(|m| m.iter().map(|(k, v)| (k.as_slice(), v)))
    }

    pub fn len(&self, t: TableId) -> usize {
        let dated = self.dated.get(t.0 as usize).map(|m| m.values().map(Vec::len).sum()).unwrap_or(0);
        self.tables.get(t.0 as usize).map(HashMap::len).unwrap_or(0) + dated
    }

    /// Replaces a table's rows (tests use this for `with`). Returns the first duplicate key
    /// (of an effective-dated table, the first two rows of one key in force at once).
    pub fn set_rows(&mut self, pkg: &ir::Package, t: TableId, rows: Vec<Value>) -> Result<(), String> {
        let Some(def) = pkg.tables.get(t.0 as usize) else { return Ok(()) };
        if let Some(eff) = def.effective {
            let rows = rows
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    let shown = format!("row {} of `with {}`", i + 1, def.name);
                    (Source { file: String::new(), line: i as u64 + 1, shown }, r)
                })
                .collect();
            let map = histories(pkg, def, eff, rows).map_err(|(_, m)| m)?;
            if let Some(slot) = self.dated.get_mut(t.0 as usize) {
                *slot = map;
            }
            return Ok(());
        }
        let mut map = HashMap::default();
        for (i, r) in rows.into_iter().enumerate() {
            let key = key_of(def, &r);
            if map.insert(key, r).is_some() {
                return Err(format!("row {} repeats a key of table `{}`", i + 1, def.name));
            }
        }
        if let Some(slot) = self.tables.get_mut(t.0 as usize) {
            *slot = map;
        }
        Ok(())
    }

    /// Loads every table from `data_dir`. A table without a data file is
    /// empty when `allow_missing`, else an error.
    pub fn load(pkg: &ir::Package, data_dir: &Path, allow_missing: bool) -> Result<Tables, DataError> {
        let mut tables = Tables::empty(pkg);
        for (i, def) in pkg.tables.iter().enumerate() {
            let csv_path = data_dir.join(format!("{}.csv", def.name));
            let jsonl_path = data_dir.join(format!("{}.jsonl", def.name));
            let shown = |p: &Path| p.display().to_string();
            let (rows, file) = if csv_path.is_file() {
                let file = shown(&csv_path);
                (load_csv(pkg, def, &csv_path, &file)?, file)
            } else if jsonl_path.is_file() {
                let file = shown(&jsonl_path);
                (load_jsonl(pkg, def, &jsonl_path, &file)?, file)
            } else if allow_missing {
                (Vec::new(), String::new())
            } else {
                return Err(DataError {
                    file: shown(&csv_path),
                    line: 0,
                    column: 0,
                    message: format!(
                        "no data for table `{}`: expected {} or {}",
                        def.name,
                        shown(&csv_path),
                        shown(&jsonl_path)
                    ),
                });
            };
            if let Some(eff) = def.effective {
                let rows = rows
                    .into_iter()
                    .map(|(line, r)| (Source { shown: format!("{file}:{line}"), file: file.clone(), line }, r))
                    .collect();
                let map = histories(pkg, def, eff, rows).map_err(|(src, message)| DataError {
                    file: src.file,
                    line: src.line,
                    column: 1,
                    message,
                })?;
                if let Some(slot) = tables.dated.get_mut(i) {
                    *slot = map;
                }
                continue;
            }
            let mut map = HashMap::with_capacity_and_hasher(rows.len(), Default::default());
            for (line, r) in rows {
                let key = key_of(def, &r);
                if map.insert(key, r).is_some() {
                    return Err(DataError {
                        file,
                        line,
                        column: 1,
                        message: format!("duplicate key in table `{}`", def.name),
                    });
                }
            }
            if let Some(slot) = tables.tables.get_mut(i) {
                *slot = map;
            }
        }
        Ok(tables)
    }
}

fn key_of(def: &ir::TableDef, row: &Value) -> Vec<KeyPart> {
    let Value::Record(fields) = row else { return Vec::new() };
    def.keys.iter().map(|k| KeyPart::of(fields.get(*k as usize).unwrap_or(&Value::None))).collect()
}

/// A table file's rows with their line numbers.
type Rows = Vec<(u64, Value)>;

fn load_csv(pkg: &ir::Package, def: &ir::TableDef, path: &Path, shown: &str) -> Result<Rows, DataError> {
    let err = |line: u64, column: u64, message: String| DataError { file: shown.to_string(), line, column, message };
    let rec = pkg.record(def.record).ok_or_else(|| err(0, 0, "table has no record type".into()))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(path)
        .map_err(|e| err(0, 0, format!("cannot read the file: {e}")))?;
    let headers = reader.headers().map_err(|e| err(1, 1, format!("cannot read the header row: {e}")))?.clone();
    let mut columns = Vec::new();
    for f in &rec.fields {
        match headers.iter().position(|h| h.trim() == f.wire) {
            Some(c) => columns.push(Some(c)),
            None => {
                let optional = if f.ty.is_optional() {
                    " (an optional field still needs its column; leave its cells empty)"
                } else {
                    ""
                };
                return Err(err(
                    1,
                    1,
                    format!("missing column `{}` for field `{}` of `{}`{optional}", f.wire, f.name, rec.name),
                ));
            }
        }
    }
    let mut rows = Vec::new();
    // One record read into again and again: the csv crate's fast way.
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(err(line, 1, format!("malformed CSV: {e}")));
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let mut values = Vec::with_capacity(rec.fields.len());
        for (f, col) in rec.fields.iter().zip(columns.iter()) {
            let cell = col.and_then(|c| record.get(c)).unwrap_or("");
            let column = col.map(|c| c as u64 + 1).unwrap_or(0);
            let v = csv_cell(pkg, &f.ty, cell).map_err(|m| err(line, column, format!("column `{}`: {m}", f.wire)))?;
            values.push(v);
        }
        rows.push((line, Value::Record(values.into())));
    }
    Ok(rows)
}

fn csv_cell(pkg: &ir::Package, ty: &Ty, cell: &str) -> Result<Value, String> {
    if cell.is_empty() {
        return if ty.is_optional() { Ok(Value::None) } else { Err("empty cell for a required field".into()) };
    }
    let bad = |what: &str| Err(format!("`{cell}` is not {what}"));
    match ty.strip() {
        Ty::Text => Ok(Value::Text(Arc::from(cell))),
        Ty::Bool => match cell.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => bad("`true` or `false`"),
        },
        Ty::Int => cell.trim().parse::<i64>().map(Value::Int).or_else(|_| bad("an Int")),
        Ty::Decimal => num::parse(cell.trim()).map(Value::Decimal).map_or_else(|| bad("a decimal number"), Ok),
        Ty::Money => {
            let mut parts = cell.split_whitespace();
            match (parts.next().and_then(num::parse), parts.next().and_then(Currency::parse), parts.next()) {
                (Some(a), Some(c), None) => Ok(Value::Money(a, c)),
                _ => bad("Money such as `12.50 USD`"),
            }
        }
        Ty::Currency => Currency::parse(cell.trim()).map(Value::Currency).map_or_else(|| bad("a currency code"), Ok),
        Ty::Date => time::parse_date(cell.trim()).map(Value::Date).map_or_else(|| bad("a date (YYYY-MM-DD)"), Ok),
        Ty::Timestamp => {
            time::parse_timestamp(cell.trim()).map(Value::Timestamp).map_or_else(|| bad("an RFC 3339 timestamp"), Ok)
        }
        Ty::Enum(e) => {
            let def = pkg.enum_def(*e).ok_or_else(|| "unknown enum".to_string())?;
            match def.by_wire.get(cell.trim()) {
                Some(i) => Ok(Value::Enum(*i)),
                None => {
                    let names: Vec<&str> = def.variants.iter().map(|v| v.wire.as_str()).collect();
                    Err(format!("`{cell}` is not a {}: expected one of {}", def.name, names.join(", ")))
                }
            }
        }
        Ty::Record(_) | Ty::List(_) => Err("records and lists cannot be read from CSV; use a .jsonl file".into()),
        _ => bad("a value"),
    }
}

fn load_jsonl(pkg: &ir::Package, def: &ir::TableDef, path: &Path, shown: &str) -> Result<Rows, DataError> {
    let err = |line: u64, column: u64, message: String| DataError { file: shown.to_string(), line, column, message };
    let text = std::fs::read_to_string(path).map_err(|e| err(0, 0, format!("cannot read the file: {e}")))?;
    let ty = Ty::Record(def.record);
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(line) {
            return Err(err(n, e.column() as u64, format!("invalid JSON: {e}")));
        }
        let mut dec = Decoder::new(pkg, "");
        let v = dec.decode(&ty, line).map_err(|e| {
            let column = e.path.split('/').nth(1).and_then(|k| line.find(&format!("\"{k}\""))).map(|c| c as u64 + 1);
            err(n, column.unwrap_or(1), format!("{} (at {})", e.message, e.path))
        })?;
        rows.push((n, v));
    }
    Ok(rows)
}
