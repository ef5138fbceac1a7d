//! The slow path, for lines the fast path does not take: CloudEvents envelope
//! validation (RUNTIME.md §1) and schema-directed decoding of `data` with
//! Canon's rules and wording, so that invalid envelopes, other event types and
//! schema violations get the same outcome as from `canon run`: keys checked in
//! input order (a repeated key: the last one wins), then missing required
//! fields in declaration order; the first violation is reported with its JSON
//! Pointer.

use std::borrow::Cow;
use std::fmt;

use rust_decimal::Decimal;
use serde::de::{self as sde, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as DeriveDeserialize;
use serde_json::value::RawValue;

use crate::event::{Meta, Timesheet, EVENT_TYPE};
use crate::values::{date_of, parse_date, parse_decimal, parse_timestamp, Date, Region, Role, WorkerKind};

/// What the fallback made of a line.
pub enum Decoded<'a> {
    /// The envelope is not a valid CloudEvent: `id` and `type` where readable.
    Invalid {
        id: Option<String>,
        event_type: Option<String>,
        message: String,
    },
    /// No handler for the event's type.
    Ignored(Meta<'a>),
    /// `data` does not fit the event type.
    Violation(Meta<'a>, SchemaError),
    Ready(Meta<'a>, Timesheet<'a>),
}

// ---------------------------------------------------------------------------
// Envelope

#[derive(DeriveDeserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    specversion: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    source: Option<&'a RawValue>,
    #[serde(borrow, rename = "type")]
    ty: Option<&'a RawValue>,
    #[serde(borrow)]
    time: Option<&'a RawValue>,
    #[serde(borrow)]
    subject: Option<&'a RawValue>,
    #[serde(borrow)]
    datacontenttype: Option<&'a RawValue>,
    #[serde(borrow)]
    correlationid: Option<&'a RawValue>,
    #[serde(borrow)]
    idempotencykey: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

/// A JSON string's value: `Ok(None)` for absent or null, `Err` for another type.
fn opt_string(raw: Option<&RawValue>) -> Result<Option<String>, ()> {
    match raw.map(|r| r.get().trim()) {
        None | Some("null") => Ok(None),
        Some(t) => serde_json::from_str::<String>(t).map(Some).map_err(|_| ()),
    }
}

/// A media type whose subtype is `json` or ends in `+json`.
pub fn is_json_media_type(ct: &str) -> bool {
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some((ty, sub)) => !ty.is_empty() && (sub == "json" || sub.ends_with("+json")),
        None => false,
    }
}

/// The outcome of an object with a repeated member: invalid, with `id` and
/// `type` where each appears once as a string.
fn repeated_member(line: &str) -> Option<Decoded<'static>> {
    let members: Vec<(String, &RawValue)> = serde_json::from_str::<Members<'_>>(line).ok()?.0;
    let count = |name: &str| members.iter().filter(|(k, _)| k == name).count();
    let repeated =
        members.iter().enumerate().find(|(i, (k, _))| members.iter().take(*i).any(|(o, _)| o == k))?.1 .0.clone();
    let once = |name: &str| {
        let raw = members.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
        if count(name) == 1 {
            opt_string(raw).ok().flatten()
        } else {
            None
        }
    };
    Some(Decoded::Invalid {
        id: once("id"),
        event_type: once("type"),
        message: format!("the member `{repeated}` appears more than once: an event gives each attribute once"),
    })
}

/// An object's members in order, values as written.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Decodes one line the fast path did not take.
pub fn decode(line: &str) -> Decoded<'static> {
    if !line.trim_start().starts_with('{') {
        return Decoded::Invalid { id: None, event_type: None, message: "the line is not a JSON object".to_string() };
    }
    let raw: RawEnvelope<'_> = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => {
            if let Some(invalid) = repeated_member(line) {
                return invalid;
            }
            let message = if line.trim_start().starts_with('{') {
                format!("the line is not a valid CloudEvents JSON object: {e}")
            } else {
                "the line is not a JSON object".to_string()
            };
            return Decoded::Invalid { id: None, event_type: None, message };
        }
    };
    let id = opt_string(raw.id).ok().flatten();
    let event_type = opt_string(raw.ty).ok().flatten();
    let invalid = |message: String| Decoded::Invalid { id: id.clone(), event_type: event_type.clone(), message };
    match opt_string(raw.specversion) {
        Ok(Some(v)) if v == "1.0" => {}
        Ok(Some(v)) => return invalid(format!("`specversion` must be \"1.0\", got \"{v}\"")),
        _ => return invalid("`specversion` is missing or not a string".into()),
    }
    let required = |name: &str, raw: Option<&RawValue>| -> Result<String, String> {
        match opt_string(raw) {
            Ok(Some(s)) if !s.is_empty() => Ok(s),
            Ok(Some(_)) => Err(format!("`{name}` is empty")),
            _ => Err(format!("`{name}` is missing or not a string")),
        }
    };
    let checked = (|| -> Result<(String, String, Option<String>), String> {
        let id = required("id", raw.id)?;
        required("source", raw.source)?;
        let ty = required("type", raw.ty)?;
        match opt_string(raw.time) {
            Ok(None) => {}
            Ok(Some(t)) if parse_timestamp(&t).is_some() => {}
            Ok(Some(t)) => return Err(format!("`time` is not an RFC 3339 timestamp: \"{t}\"")),
            Err(()) => return Err("`time` is not a string".into()),
        }
        opt_string(raw.subject).map_err(|_| "`subject` is not a string".to_string())?;
        let correlation_id =
            opt_string(raw.correlationid).map_err(|_| "`correlationid` is not a string".to_string())?;
        match opt_string(raw.datacontenttype) {
            Ok(None) => {}
            Ok(Some(ct)) if is_json_media_type(&ct) => {}
            Ok(Some(ct)) => {
                return Err(format!(
                "Canon reads JSON data: `datacontenttype` \"{ct}\" is not a JSON media type (such as application/json)"
            ))
            }
            Err(()) => return Err("`datacontenttype` is not a string".into()),
        }
        opt_string(raw.idempotencykey).map_err(|_| "`idempotencykey` is not a string".to_string())?;
        Ok((id, ty, correlation_id))
    })();
    let (id, ty, correlation_id) = match checked {
        Ok(x) => x,
        Err(message) => return invalid(message),
    };
    let is_ours = ty == EVENT_TYPE;
    let meta = Meta { id: Cow::Owned(id), event_type: Cow::Owned(ty), correlation_id: correlation_id.map(Cow::Owned) };
    if !is_ours {
        return Decoded::Ignored(meta);
    }
    let data = raw.data.map(RawValue::get).unwrap_or("{}");
    let data = if data.trim() == "null" { "{}" } else { data };
    match Decoder::new("/data").decode(&Ty::Record(&TIMESHEET), data) {
        Ok(v) => match timesheet(v) {
            Some(ts) => Decoded::Ready(meta, ts),
            None => Decoded::Violation(
                meta,
                SchemaError { path: "/data".into(), message: "internal: decoded value has the wrong shape".into() },
            ),
        },
        Err(e) => Decoded::Violation(meta, e),
    }
}

// ---------------------------------------------------------------------------
// The schema of TimesheetApproved (types.canon)

#[derive(Clone, Copy)]
enum Ty {
    Text,
    OptText,
    Date,
    Decimal,
    Timestamp,
    Enum(&'static EnumDef),
    Record(&'static RecordDef),
}

struct EnumDef {
    name: &'static str,
    variants: &'static [&'static str],
}

struct RecordDef {
    name: &'static str,
    fields: &'static [(&'static str, Ty)],
}

static ROLE: EnumDef = EnumDef { name: Role::NAME, variants: Role::WIRE };
static REGION: EnumDef = EnumDef { name: Region::NAME, variants: Region::WIRE };
static KIND: EnumDef = EnumDef { name: WorkerKind::NAME, variants: WorkerKind::WIRE };

static EMPLOYEE: RecordDef = RecordDef {
    name: "Employee",
    fields: &[
        ("id", Ty::Text),
        ("role", Ty::Enum(&ROLE)),
        ("region", Ty::Enum(&REGION)),
        ("kind", Ty::Enum(&KIND)),
        ("costCenter", Ty::Text),
    ],
};

static TIMESHEET: RecordDef = RecordDef {
    name: "TimesheetApproved",
    fields: &[
        ("timesheetId", Ty::Text),
        ("employee", Ty::Record(&EMPLOYEE)),
        ("projectCode", Ty::Text),
        ("task", Ty::OptText),
        ("workDate", Ty::Date),
        ("hours", Ty::Decimal),
        ("approvedBy", Ty::Text),
        ("approvedAt", Ty::Timestamp),
    ],
};

impl Ty {
    fn is_optional(self) -> bool {
        matches!(self, Ty::OptText)
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Text => "Text",
            Ty::OptText => "Text?",
            Ty::Date => "Date",
            Ty::Decimal => "Decimal",
            Ty::Timestamp => "Timestamp",
            Ty::Enum(e) => e.name,
            Ty::Record(r) => r.name,
        }
    }

    /// `a Text`, `an Employee`.
    fn describe(self) -> String {
        let name = self.name();
        let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
        format!("{article} {name}")
    }
}

/// A decoded value.
enum Val {
    None,
    Text(String),
    Date(Date),
    Decimal(Decimal),
    Timestamp(i64),
    Enum(usize),
    Record(Vec<Val>),
}

fn timesheet(v: Val) -> Option<Timesheet<'static>> {
    let Val::Record(fields) = v else { return None };
    let mut it = fields.into_iter();
    let mut next = || it.next();
    let text = |v: Option<Val>| match v {
        Some(Val::Text(t)) => Some(Cow::Owned(t)),
        _ => None,
    };
    let timesheet_id = text(next())?;
    let Some(Val::Record(employee)) = next() else {
        return None;
    };
    let project_code = text(next())?;
    let has_task = match next()? {
        Val::None => false,
        Val::Text(_) => true,
        _ => return None,
    };
    let Some(Val::Date(work_date)) = next() else {
        return None;
    };
    let Some(Val::Decimal(hours)) = next() else {
        return None;
    };
    text(next())?;
    let Some(Val::Timestamp(approved_at)) = next() else {
        return None;
    };

    let mut e = employee.into_iter();
    let employee_id = text(e.next())?;
    let variant = |v: Option<Val>, wire: &'static [&'static str]| match v {
        Some(Val::Enum(i)) => wire.get(i).copied(),
        _ => None,
    };
    let role = Role::from_wire(variant(e.next(), Role::WIRE)?)?;
    let region = Region::from_wire(variant(e.next(), Region::WIRE)?)?;
    let kind = WorkerKind::from_wire(variant(e.next(), WorkerKind::WIRE)?)?;
    let cost_center = text(e.next())?;
    Some(Timesheet {
        timesheet_id,
        employee_id,
        role,
        region,
        kind,
        cost_center,
        project_code,
        has_task,
        work_date,
        hours,
        approved_on: date_of(approved_at),
    })
}

// ---------------------------------------------------------------------------
// The decoder

/// A schema violation: where (a JSON Pointer with wire names), and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub path: String,
    pub message: String,
}

fn push_key(path: &mut String, key: &str) {
    path.push('/');
    if !key.contains(['~', '/']) {
        path.push_str(key);
        return;
    }
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// The first 40 characters of a value's JSON text, `…` when cut.
fn shown(raw: &str) -> String {
    let t = raw.trim();
    let mut s: String = t.chars().take(40).collect();
    if t.chars().count() > 40 {
        s.push('…');
    }
    s
}

fn kind_of(raw: &str) -> &'static str {
    match raw.trim_start().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't') | Some(b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

fn string_of(raw: &str) -> Option<Cow<'_, str>> {
    if raw.trim_start().starts_with('"') {
        serde_json::from_str::<Cow<'_, str>>(raw).ok()
    } else {
        None
    }
}

/// The JSON form of a string, escaped as Canon escapes it.
fn quoted(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    crate::json::string(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

struct Decoder {
    path: String,
    /// The violation that stopped decoding (serde carries only a message).
    error: Option<SchemaError>,
}

impl Decoder {
    fn new(root: &str) -> Decoder {
        Decoder { path: root.to_string(), error: None }
    }

    fn fail<T>(&self, message: String) -> Result<T, SchemaError> {
        Err(SchemaError { path: if self.path.is_empty() { "/".into() } else { self.path.clone() }, message })
    }

    fn expected<T>(&self, what: &str, raw: &str) -> Result<T, SchemaError> {
        if raw.trim() == "null" {
            return self.fail(format!("expected {what}, found null"));
        }
        self.fail(format!("expected {what}, found {} `{}`", kind_of(raw), shown(raw)))
    }

    fn decode(&mut self, ty: &Ty, raw: &str) -> Result<Val, SchemaError> {
        self.error = None;
        let mut de = serde_json::Deserializer::from_str(raw);
        let result = (Seed { dec: &mut *self, ty: *ty }).deserialize(&mut de).and_then(|v| de.end().map(|()| v));
        match result {
            Ok(v) => Ok(v),
            Err(e) => match self.error.take() {
                Some(err) => Err(err),
                None => self.fail(format!("invalid JSON: {e}")),
            },
        }
    }

    /// A scalar (or `null`) from its JSON text.
    fn leaf(&mut self, ty: Ty, raw: &str) -> Result<Val, SchemaError> {
        let t = raw.trim();
        if t == "null" {
            return if ty.is_optional() { Ok(Val::None) } else { self.expected(&ty.describe(), t) };
        }
        match ty {
            Ty::Decimal => match decimal(t) {
                Some(d) => Ok(Val::Decimal(d)),
                None => self.expected("a decimal number", t),
            },
            Ty::Text | Ty::OptText => match string_of(t) {
                Some(s) => Ok(Val::Text(s.into_owned())),
                None => self.expected("a string", t),
            },
            Ty::Date => match string_of(t).as_deref().and_then(parse_date) {
                Some(d) => Ok(Val::Date(d)),
                None => self.expected("a date such as \"2026-11-25\"", t),
            },
            Ty::Timestamp => match string_of(t).as_deref().and_then(parse_timestamp) {
                Some(ts) => Ok(Val::Timestamp(ts)),
                None => self.expected("an RFC 3339 timestamp such as \"2026-11-25T09:30:00Z\"", t),
            },
            Ty::Enum(def) => match string_of(t) {
                Some(s) => match def.variants.iter().position(|v| *v == s.as_ref()) {
                    Some(i) => Ok(Val::Enum(i)),
                    None => {
                        let names: Vec<String> = def.variants.iter().map(|v| format!("\"{v}\"")).collect();
                        self.fail(format!("`{}` is not a {}: expected one of {}", shown(t), def.name, names.join(", ")))
                    }
                },
                None => self.expected(&format!("a {} (a string)", def.name), t),
            },
            Ty::Record(_) => self.expected(&ty.describe(), t),
        }
    }
}

fn decimal(t: &str) -> Option<Decimal> {
    match string_of(t) {
        Some(s) => parse_decimal(&s),
        None if t.starts_with('"') => None,
        None => parse_decimal(t),
    }
}

/// Decodes one value of a type straight from the deserializer.
struct Seed<'a> {
    dec: &'a mut Decoder,
    ty: Ty,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Val;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Val, D::Error> {
        match self.ty {
            Ty::Decimal => {
                let raw: &RawValue = Deserialize::deserialize(d)?;
                self.dec.leaf(self.ty, raw.get()).map_err(|e| {
                    self.dec.error = Some(e);
                    sde::Error::custom("schema violation")
                })
            }
            _ => d.deserialize_any(Container { dec: self.dec, ty: self.ty }),
        }
    }
}

/// Visits any JSON value for the expected type.
struct Container<'a> {
    dec: &'a mut Decoder,
    ty: Ty,
}

impl Container<'_> {
    /// Canon names the expected type of the field.
    fn wrong<E: sde::Error>(self, found: String) -> Result<Val, E> {
        let what = match self.ty {
            Ty::Record(_) => "an object".to_string(),
            Ty::Date => "a date such as \"2026-11-25\"".to_string(),
            Ty::Timestamp => "an RFC 3339 timestamp such as \"2026-11-25T09:30:00Z\"".to_string(),
            Ty::Text | Ty::OptText => "a Text".to_string(),
            Ty::Decimal => "a Decimal".to_string(),
            Ty::Enum(def) => {
                let article = if def.name.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
                format!("{article} {}", def.name)
            }
        };
        let err = self.dec.fail::<()>(format!("expected {what}, found {found}"));
        self.dec.error = err.err();
        Err(E::custom("schema violation"))
    }
}

impl<'de> Visitor<'de> for Container<'_> {
    type Value = Val;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<Val, E> {
        if self.ty.is_optional() {
            Ok(Val::None)
        } else {
            self.wrong("null".into())
        }
    }
    fn visit_bool<E: sde::Error>(self, v: bool) -> Result<Val, E> {
        self.wrong(format!("a boolean `{v}`"))
    }
    fn visit_i64<E: sde::Error>(self, v: i64) -> Result<Val, E> {
        self.wrong(format!("a number `{v}`"))
    }
    fn visit_u64<E: sde::Error>(self, v: u64) -> Result<Val, E> {
        self.wrong(format!("a number `{v}`"))
    }
    fn visit_f64<E: sde::Error>(self, v: f64) -> Result<Val, E> {
        self.wrong(format!("a number `{v}`"))
    }
    fn visit_str<E: sde::Error>(self, v: &str) -> Result<Val, E> {
        match self.ty {
            Ty::Text | Ty::OptText => return Ok(Val::Text(v.to_string())),
            Ty::Date => {
                if let Some(d) = parse_date(v) {
                    return Ok(Val::Date(d));
                }
            }
            Ty::Timestamp => {
                if let Some(t) = parse_timestamp(v) {
                    return Ok(Val::Timestamp(t));
                }
            }
            Ty::Enum(def) => {
                if let Some(i) = def.variants.iter().position(|w| *w == v) {
                    return Ok(Val::Enum(i));
                }
            }
            Ty::Decimal | Ty::Record(_) => {}
        }
        if !matches!(self.ty, Ty::Record(_)) {
            // Not a valid value of the type: `leaf` words the error from the JSON text.
            let err = self.dec.leaf(self.ty, &quoted(v)).err();
            self.dec.error = err;
            return Err(E::custom("schema violation"));
        }
        self.wrong(format!("a string `{}`", shown(&format!("{v:?}"))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Val, A::Error> {
        self.wrong("an array".into())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val, A::Error> {
        let Ty::Record(def) = self.ty else {
            return self.wrong("an object".into());
        };
        let mut fields: Vec<Option<Val>> = def.fields.iter().map(|_| None).collect();
        while let Some(k) = map.next_key::<Cow<'de, str>>()? {
            let Some(i) = def.fields.iter().position(|(wire, _)| *wire == k.as_ref()) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let Some(&(_, ty)) = def.fields.get(i) else {
                continue;
            };
            let len = self.dec.path.len();
            push_key(&mut self.dec.path, &k);
            let v = map.next_value_seed(Seed { dec: &mut *self.dec, ty })?;
            self.dec.path.truncate(len);
            if let Some(slot) = fields.get_mut(i) {
                *slot = Some(v);
            }
        }
        let mut out = Vec::with_capacity(fields.len());
        for (&(wire, ty), v) in def.fields.iter().zip(fields) {
            match v {
                Some(v) => out.push(v),
                None if ty.is_optional() => out.push(Val::None),
                None => {
                    push_key(&mut self.dec.path, wire);
                    let message = format!("missing required field `{wire}` ({})", ty.describe());
                    self.dec.error = self.dec.fail::<()>(message).err();
                    return Err(sde::Error::custom("schema violation"));
                }
            }
        }
        Ok(Val::Record(out))
    }
}
