//! The event: serde-derived structs that borrow from the input line (the
//! fast path every well-formed event takes), and the decoded form the rules
//! run on.
//!
//! The fast path is strict: anything it does not accept exactly as Canon
//! would (a missing or mistyped field, a duplicate key, an escaped string
//! where a borrow is needed, an unknown type) makes it give up, and the line
//! is decoded again by [`crate::fallback`], which reproduces Canon's own
//! envelope and schema checks and their messages.

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::de::{Deserialize, Deserializer, Visitor};
use serde::Deserialize as DeriveDeserialize;

use crate::values::{date_of, parse_date, parse_decimal, parse_timestamp, Date, Region, Role, WorkerKind};

/// The `type` the timesheet handler takes.
pub const EVENT_TYPE: &str = "com.acme.timesheet.approved";

/// What the outcome line needs from the envelope.
#[derive(Debug)]
pub struct Meta<'a> {
    pub id: Cow<'a, str>,
    pub event_type: Cow<'a, str>,
    pub correlation_id: Option<Cow<'a, str>>,
}

/// A decoded TimesheetApproved (only what the rules read).
#[derive(Debug)]
pub struct Timesheet<'a> {
    pub timesheet_id: Cow<'a, str>,
    pub employee_id: Cow<'a, str>,
    pub role: Role,
    pub region: Region,
    pub kind: WorkerKind,
    pub cost_center: Cow<'a, str>,
    pub project_code: Cow<'a, str>,
    pub has_task: bool,
    pub work_date: Date,
    pub hours: Decimal,
    /// The UTC date of `approvedAt`.
    pub approved_on: Date,
}

#[derive(DeriveDeserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    specversion: Cow<'a, str>,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    source: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    /// Checked to be a string (or null), not used.
    #[serde(borrow, rename = "subject")]
    _subject: Option<Cow<'a, str>>,
    #[serde(borrow)]
    datacontenttype: Option<Cow<'a, str>>,
    #[serde(borrow)]
    correlationid: Option<Cow<'a, str>>,
    /// Checked to be a string (or null), not used.
    #[serde(borrow, rename = "idempotencykey")]
    _idempotencykey: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "object")]
    data: Data<'a>,
}

#[derive(DeriveDeserialize)]
struct Data<'a> {
    #[serde(borrow, rename = "timesheetId")]
    timesheet_id: Cow<'a, str>,
    #[serde(borrow, deserialize_with = "object")]
    employee: Employee<'a>,
    #[serde(borrow, rename = "projectCode")]
    project_code: Cow<'a, str>,
    #[serde(borrow)]
    task: Option<Cow<'a, str>>,
    #[serde(rename = "workDate")]
    work_date: &'a str,
    hours: &'a str,
    /// Checked to be a string, not used.
    #[serde(borrow, rename = "approvedBy")]
    _approved_by: Cow<'a, str>,
    #[serde(rename = "approvedAt")]
    approved_at: &'a str,
}

#[derive(DeriveDeserialize)]
struct Employee<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    role: Role,
    region: Region,
    kind: WorkerKind,
    #[serde(borrow, rename = "costCenter")]
    cost_center: Cow<'a, str>,
}

/// Decodes one line on the fast path, or `None` to leave it to the fallback.
pub fn decode_fast(line: &str) -> Option<(Meta<'_>, Timesheet<'_>)> {
    if !line.trim_start().starts_with('{') {
        return None;
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let env = Envelope::deserialize(ObjectOnly(&mut de)).ok()?;
    de.end().ok()?;
    let valid_envelope = env.specversion == "1.0"
        && !env.id.is_empty()
        && !env.source.is_empty()
        && env.event_type == EVENT_TYPE
        && env.time.as_deref().is_none_or(|t| parse_timestamp(t).is_some())
        && env.datacontenttype.as_deref().is_none_or(crate::fallback::is_json_media_type);
    if !valid_envelope {
        return None;
    }
    let d = env.data;
    let ts = Timesheet {
        timesheet_id: d.timesheet_id,
        employee_id: d.employee.id,
        role: d.employee.role,
        region: d.employee.region,
        kind: d.employee.kind,
        cost_center: d.employee.cost_center,
        project_code: d.project_code,
        has_task: d.task.is_some(),
        work_date: parse_date(d.work_date)?,
        hours: parse_decimal(d.hours)?,
        approved_on: date_of(parse_timestamp(d.approved_at)?),
    };
    let meta = Meta { id: env.id, event_type: env.event_type, correlation_id: env.correlationid };
    Some((meta, ts))
}

/// `deserialize_with` for a nested struct that must be a JSON object: serde's
/// derived structs would also take an array, positionally, where Canon
/// reports a schema violation.
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    T::deserialize(ObjectOnly(d))
}

/// A deserializer that reads a struct only from a JSON object.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(v)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}
