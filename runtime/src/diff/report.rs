//! The report of `canon diff`, streamed as it is found (the header and the
//! schema changes, then each changed event, then the summary), as text for
//! people or as one JSON document (RUNTIME.md §3.4 gives its shape).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::value::RawValue;

use super::compare::EventChange;
use super::{Header, MoneyGroup, SchemaChange, Summary};

/// The version of the JSON document's shape (`"format"`).
pub const FORMAT: &str = "canon-diff/1";

/// Writes the report as text or JSON, piece by piece.
pub trait Report {
    fn start(&mut self, out: &mut dyn Write, header: &Header, schema: &[SchemaChange]) -> io::Result<()>;
    fn event(&mut self, out: &mut dyn Write, change: &EventChange) -> io::Result<()>;
    fn finish(&mut self, out: &mut dyn Write, schema: &[SchemaChange], summary: &Summary) -> io::Result<()>;
}

/// The JSON document: `{"format", "header", "breaking", "additive",
/// "events": [...], "summary", "changed"}`, one event a line.
#[derive(Default)]
pub struct Json {
    events: u64,
}

fn to_json<T: Serialize>(v: &T) -> io::Result<String> {
    serde_json::to_string(v).map_err(io::Error::other)
}

impl Report for Json {
    fn start(&mut self, out: &mut dyn Write, header: &Header, schema: &[SchemaChange]) -> io::Result<()> {
        let breaking: Vec<&SchemaChange> = schema.iter().filter(|c| c.breaking).collect();
        let additive: Vec<&SchemaChange> = schema.iter().filter(|c| !c.breaking).collect();
        writeln!(out, "{{\"format\":{},", to_json(&FORMAT)?)?;
        writeln!(out, "\"header\":{},", to_json(header)?)?;
        writeln!(out, "\"breaking\":{},", to_json(&breaking)?)?;
        writeln!(out, "\"additive\":{},", to_json(&additive)?)?;
        write!(out, "\"events\":[")
    }

    fn event(&mut self, out: &mut dyn Write, change: &EventChange) -> io::Result<()> {
        let sep = if self.events == 0 { "\n" } else { ",\n" };
        self.events += 1;
        write!(out, "{sep}{}", to_json(change)?)
    }

    fn finish(&mut self, out: &mut dyn Write, schema: &[SchemaChange], summary: &Summary) -> io::Result<()> {
        if self.events > 0 {
            writeln!(out)?;
        }
        writeln!(out, "],")?;
        writeln!(out, "\"summary\":{},", to_json(summary)?)?;
        writeln!(out, "\"changed\":{}}}", super::anything_changed(schema, summary))
    }
}

/// The text report.
#[derive(Default)]
pub struct Text {
    events: u64,
    /// The `--by` fields (from the header).
    by: Vec<String>,
}

/// Lays out rows of cells in columns: each column as wide as its widest
/// cell, numbers (`right`) aligned on the right.
fn table(out: &mut dyn Write, indent: &str, rows: &[Vec<String>], right: &[bool]) -> io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    for r in rows {
        let mut line = String::from(indent);
        for (c, cell) in r.iter().enumerate() {
            let w = widths.get(c).copied().unwrap_or(0);
            let pad = w.saturating_sub(cell.chars().count());
            if c > 0 {
                line.push_str("  ");
            }
            if right.get(c).copied().unwrap_or(false) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if c + 1 < r.len() {
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn side_line(v: &super::Version) -> Vec<String> {
    let mut label = v.label.clone().unwrap_or_else(|| "unversioned".into());
    if let Some(d) = &v.effective_from {
        label.push_str(&format!(", effective {d}"));
    }
    let hash = v.content_hash.as_ref().map(|h| format!("sha256:{}", h.get(..12).unwrap_or(h))).unwrap_or_default();
    vec![v.path.clone(), label, hash]
}

fn schema_line(c: &SchemaChange) -> Vec<String> {
    let mark = if c.breaking { "BREAKING" } else { "" };
    let place = match &c.field {
        Some(f) => format!("{}.{f}", c.destination),
        None => c.destination.clone(),
    };
    let old = c.old.clone().unwrap_or_default();
    let new = c.new.clone().unwrap_or_default();
    let what = match c.change {
        super::ChangeKind::DestinationRemoved => format!("destination removed (was {old})"),
        super::ChangeKind::DestinationRenamed => {
            format!("destination removed, renamed? to `{}` ({new})", c.renamed_to.as_deref().unwrap_or("?"))
        }
        super::ChangeKind::DestinationAdded => format!("destination added ({new})"),
        super::ChangeKind::FieldRemoved => format!("field removed (was {old})"),
        super::ChangeKind::FieldAdded => format!("field added ({new})"),
        super::ChangeKind::FieldRenamed => {
            format!("field removed, renamed? to `{}` ({new})", c.renamed_to.as_deref().unwrap_or("?"))
        }
        super::ChangeKind::TypeChanged => format!("type changed: {old} → {new}"),
        super::ChangeKind::NowOptional => format!("may now be none: {old} → {new}"),
        super::ChangeKind::NowRequired => format!("now always present: {old} → {new}"),
        super::ChangeKind::VariantsChanged => {
            let mut parts = Vec::new();
            if !c.variants_removed.is_empty() {
                parts.push(format!("removed {}", c.variants_removed.join(", ")));
            }
            if !c.variants_added.is_empty() {
                parts.push(format!("added {}", c.variants_added.join(", ")));
            }
            format!("enum variants changed ({new}): {}", parts.join("; "))
        }
    };
    vec![mark.to_string(), place, what]
}

/// A `--by` value for people: text without its quotes, `none` for null.
fn bare(v: &RawValue) -> String {
    match serde_json::from_str::<serde_json::Value>(v.get()) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => "none".into(),
        _ => v.get().to_string(),
    }
}

/// `+63.20 USD` from a delta's amount (as the JSON writes it, unsigned when positive).
fn plus(amount: &str) -> String {
    if amount.starts_with('-') || amount.trim_start_matches(['0', '.']).is_empty() {
        amount.to_string()
    } else {
        format!("+{amount}")
    }
}

impl Report for Text {
    fn start(&mut self, out: &mut dyn Write, header: &Header, schema: &[SchemaChange]) -> io::Result<()> {
        self.by = header.by.clone();
        writeln!(out, "canon diff")?;
        let mut old = vec!["old".to_string()];
        old.extend(side_line(&header.old));
        let mut new = vec!["new".to_string()];
        new.extend(side_line(&header.new));
        table(out, "  ", &[old, new, vec!["events".into(), header.events_file.clone()]], &[])?;
        writeln!(out)?;
        let breaking: Vec<Vec<String>> = schema.iter().filter(|c| c.breaking).map(schema_line).collect();
        let other: Vec<Vec<String>> = schema.iter().filter(|c| !c.breaking).map(schema_line).collect();
        if breaking.is_empty() {
            writeln!(out, "Breaking changes: none")?;
        } else {
            writeln!(out, "Breaking changes ({})", breaking.len())?;
            table(out, "  ", &breaking, &[])?;
        }
        if !other.is_empty() {
            writeln!(out, "Other changes to emitted records ({}, not breaking)", other.len())?;
            let rows: Vec<Vec<String>> = other.into_iter().map(|r| r.into_iter().skip(1).collect()).collect();
            table(out, "  ", &rows, &[])?;
        }
        Ok(())
    }

    fn event(&mut self, out: &mut dyn Write, c: &EventChange) -> io::Result<()> {
        if self.events == 0 {
            writeln!(out)?;
            writeln!(out, "Changed events")?;
        }
        self.events += 1;
        writeln!(out)?;
        writeln!(
            out,
            "line {}  {}  {}",
            c.line,
            c.id.as_deref().unwrap_or("(no id)"),
            c.event_type.as_deref().unwrap_or("(no type)")
        )?;
        let mut rows: Vec<Vec<String>> = Vec::new();
        if let Some(s) = &c.status {
            rows.push(vec!["status".into(), format!("{} → {}", s.old, s.new)]);
        }
        if let Some(r) = &c.rejections {
            let codes = |v: &[super::compare::RejectionText]| {
                if v.is_empty() {
                    "(none)".to_string()
                } else {
                    v.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(", ")
                }
            };
            rows.push(vec!["rejections".into(), format!("{} → {}", codes(&r.old), codes(&r.new))]);
        }
        table(out, "  ", &rows, &[])?;
        if let Some(r) = &c.rejections {
            let mut lines = Vec::new();
            for x in &r.old {
                if !r.new.contains(x) {
                    lines.push(vec!["-".to_string(), x.code.clone(), x.message.clone()]);
                }
            }
            for x in &r.new {
                if !r.old.contains(x) {
                    lines.push(vec!["+".to_string(), x.code.clone(), x.message.clone()]);
                }
            }
            table(out, "    ", &lines, &[])?;
        }
        for e in &c.emits {
            let mut at = format!("{} #{}  {}", e.destination, e.index + 1, e.change);
            if !e.by.is_empty() {
                let by: Vec<String> = e.by.iter().map(|(k, v)| format!("{k} {}", bare(v))).collect();
                at.push_str(&format!("  ({})", by.join(", ")));
            }
            match &e.record {
                Some(record) => writeln!(out, "  {at}  {}", record.get())?,
                None => {
                    writeln!(out, "  {at}")?;
                    let rows: Vec<Vec<String>> = e
                        .fields
                        .iter()
                        .map(|f| {
                            let delta = f
                                .delta
                                .as_ref()
                                .map(|d| format!("({} {})", plus(&d.amount), d.currency))
                                .unwrap_or_default();
                            vec![f.field.clone(), f.old_text.clone(), "→".into(), f.new_text.clone(), delta]
                        })
                        .collect();
                    table(out, "    ", &rows, &[])?;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, schema: &[SchemaChange], s: &Summary) -> io::Result<()> {
        writeln!(out)?;
        writeln!(out, "Summary")?;
        let breaking = schema.iter().filter(|c| c.breaking).count();
        if !super::anything_changed(schema, s) {
            writeln!(
                out,
                "  No change: the {} event(s) have the same outcomes with both packages, and no emitted record breaks.",
                s.events
            )?;
        } else {
            writeln!(
                out,
                "  {} event(s): {} changed, {} unchanged; {} breaking change(s)",
                s.events, s.changed, s.unchanged, breaking
            )?;
        }
        if s.changed > 0 {
            writeln!(out)?;
            let mut rows = vec![vec!["event type".to_string(), "events".into(), "changed".into()]];
            for t in &s.by_type {
                let name = t.event_type.clone().unwrap_or_else(|| "(not a CloudEvent)".into());
                rows.push(vec![name, t.events.to_string(), t.changed.to_string()]);
            }
            table(out, "  ", &rows, &[false, true, true])?;
            writeln!(out)?;
            let mut rows = vec![vec!["kind of change".to_string(), "events".into()]];
            for (name, n) in s.by_change.entries() {
                if n > 0 {
                    rows.push(vec![name.replace('_', " "), n.to_string()]);
                }
            }
            for sc in &s.status_changes {
                rows.push(vec![format!("  {} → {}", sc.old, sc.new), sc.events.to_string()]);
            }
            table(out, "  ", &rows, &[false, true])?;
        }
        let changed: Vec<&MoneyGroup> = s.money.iter().filter(|m| m.changed()).collect();
        writeln!(out)?;
        let by_fields = &self.by;
        let mut title = String::from("Money by destination, field, currency");
        for f in by_fields {
            title.push_str(", ");
            title.push_str(f);
        }
        if s.money.is_empty() {
            writeln!(out, "{title}: no Money field was emitted")?;
        } else if changed.is_empty() {
            writeln!(out, "{title}: no change ({} group(s))", s.money.len())?;
        } else {
            writeln!(out, "{title}")?;
            let mut head = vec!["destination".to_string(), "field".into(), "currency".into()];
            head.extend(by_fields.iter().cloned());
            head.extend(["old".to_string(), "new".into(), "delta".into(), "records".into()]);
            let mut right = vec![false; 3 + by_fields.len()];
            right.extend([true, true, true, true]);
            let mut rows = vec![head];
            for m in &changed {
                let mut row = vec![m.destination.clone(), m.field.clone(), m.currency.clone()];
                for f in by_fields {
                    row.push(m.by.get(f).map(|v| bare(v)).unwrap_or_else(|| "-".to_string()));
                }
                let mark = if m.overflow { " (overflow)" } else { "" };
                row.extend([
                    m.old.clone(),
                    m.new.clone(),
                    format!("{}{mark}", plus(&m.delta)),
                    format!("{} → {}", m.old_emits, m.new_emits),
                ]);
                rows.push(row);
            }
            table(out, "  ", &rows, &right)?;
            let same = s.money.len() - changed.len();
            if same > 0 {
                writeln!(out, "  ({same} other group(s) unchanged)")?;
            }
        }
        for b in &s.by_missing {
            writeln!(
                out,
                "  note: {} {} no field `{}`: {} money is not split by it (shown as -)",
                b.destinations.join(", "),
                if b.destinations.len() == 1 { "has" } else { "have" },
                b.field,
                if b.destinations.len() == 1 { "its" } else { "their" },
            )?;
        }
        Ok(())
    }
}
