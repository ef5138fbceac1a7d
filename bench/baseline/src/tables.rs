//! The reference data: `projects.csv` keyed by code and `fx.csv` keyed by
//! (from, to), loaded once into hash maps. Columns are found by their
//! (trimmed) header; text cells are taken as they are, the other cells
//! trimmed, as Canon reads them. Any bad cell or repeated key stops the run.

use std::collections::HashMap;
use std::path::Path;

use rust_decimal::Decimal;

use crate::values::{parse_decimal, Currency, ProjectStatus, Tier};

/// One row of `projects.csv`.
#[derive(Debug, Clone)]
pub struct Project {
    pub code: String,
    pub status: ProjectStatus,
    pub tier: Tier,
    pub billable: bool,
    pub entity: String,
    pub currency: Currency,
}

/// Both tables.
#[derive(Debug, Default)]
pub struct Tables {
    pub projects: HashMap<String, Project>,
    pub fx: HashMap<(Currency, Currency), Decimal>,
}

/// A load error, with the file and line.
#[derive(Debug)]
pub struct DataError(pub String);

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Tables {
    pub fn load(dir: &Path) -> Result<Tables, DataError> {
        let mut projects = HashMap::new();
        read_csv(
            &dir.join("projects.csv"),
            &["code", "status", "client", "tier", "billable", "entity", "currency"],
            |cells, at| {
                let [code, status, _client, tier, billable, entity, currency] = cells;
                let bad =
                    |column: &str, what: &str, cell: &str| format!("{at}: column `{column}`: `{cell}` is not {what}");
                let project = Project {
                    code: code.to_string(),
                    status: ProjectStatus::from_wire(status.trim())
                        .ok_or_else(|| bad("status", "a ProjectStatus", status))?,
                    tier: Tier::from_wire(tier.trim()).ok_or_else(|| bad("tier", "a Tier", tier))?,
                    billable: match billable.trim() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad("billable", "`true` or `false`", billable)),
                    },
                    entity: entity.to_string(),
                    currency: Currency::parse(currency.trim())
                        .ok_or_else(|| bad("currency", "a currency code", currency))?,
                };
                if projects.insert(project.code.clone(), project).is_some() {
                    return Err(format!("{at}: duplicate key in table `projects`"));
                }
                Ok(())
            },
        )?;
        let mut fx = HashMap::new();
        read_csv(&dir.join("fx.csv"), &["from", "to", "rate"], |cells, at| {
            let [from, to, rate] = cells;
            let bad = |column: &str, what: &str, cell: &str| format!("{at}: column `{column}`: `{cell}` is not {what}");
            let from = Currency::parse(from.trim()).ok_or_else(|| bad("from", "a currency code", from))?;
            let to = Currency::parse(to.trim()).ok_or_else(|| bad("to", "a currency code", to))?;
            let rate = parse_decimal(rate.trim()).ok_or_else(|| bad("rate", "a decimal number", rate))?;
            if fx.insert((from, to), rate).is_some() {
                return Err(format!("{at}: duplicate key in table `fx`"));
            }
            Ok(())
        })?;
        Ok(Tables { projects, fx })
    }
}

/// Reads a CSV file with a header row, handing each row's cells (in the
/// order of `columns`, all required and non-empty) to `row`.
fn read_csv<const N: usize>(
    path: &Path,
    columns: &[&str; N],
    mut row: impl FnMut(&[&str; N], &str) -> Result<(), String>,
) -> Result<(), DataError> {
    let shown = path.display().to_string();
    let err = |m: String| DataError(m);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(path)
        .map_err(|e| err(format!("{shown}: cannot read the file: {e}")))?;
    let headers = reader.headers().map_err(|e| err(format!("{shown}:1: cannot read the header row: {e}")))?.clone();
    let mut positions = [0usize; N];
    for (slot, name) in positions.iter_mut().zip(columns) {
        *slot = headers
            .iter()
            .position(|h| h.trim() == *name)
            .ok_or_else(|| err(format!("{shown}:1: missing column `{name}`")))?;
    }
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(err(format!("{shown}: malformed CSV: {e}"))),
        }
        let at = format!("{shown}:{}", record.position().map(|p| p.line()).unwrap_or(0));
        let mut cells = [""; N];
        for ((cell, &pos), name) in cells.iter_mut().zip(&positions).zip(columns) {
            *cell = record.get(pos).unwrap_or("");
            if cell.is_empty() {
                return Err(err(format!("{at}: column `{name}`: empty cell for a required field")));
            }
        }
        row(&cells, &at).map_err(err)?;
    }
    Ok(())
}
