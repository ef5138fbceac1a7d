//! The CloudEvents 1.0 envelope, structured JSON format (docs/spec/RUNTIME.md §1):
//! which lines are events, and the attributes Canon reads from them.
//!
//! Every rule is checked here once; the JIT's one-pass decoder uses the same
//! checks ([`check_string`], [`is_uri_reference`], [`json_media_type`],
//! [`is_attribute_name`], [`extension_integer`]) and leaves anything unusual
//! to this module, which words the error.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use serde::de::{self as sde, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::engine::{default_idempotency_key, Envelope};
use canon_stdlib::time;

/// Why an envelope is invalid, with whatever `id` and `type` could be read.
pub(crate) struct Invalid {
    pub id: Option<String>,
    pub event_type: Option<String>,
    pub message: String,
}

/// A line is blank, and no event, when it holds only JSON white space
/// (space, tab, line feed, carriage return).
pub fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// JSON white space at the start of `s` removed.
fn json_trim_start(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\n', '\r'])
}

/// A member name, borrowed from the line where it holds no escape.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: sde::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: sde::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_borrowed_bytes<E: sde::Error>(self, v: &'de [u8]) -> Result<Name<'de>, E> {
                match std::str::from_utf8(v) {
                    Ok(s) => Ok(Name(Cow::Borrowed(s))),
                    Err(_) => self.visit_bytes(v),
                }
            }
            // An unpaired surrogate escape: a name no attribute has.
            fn visit_bytes<E: sde::Error>(self, v: &[u8]) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(wtf8_shown(v))))
            }
        }
        // As bytes: serde_json keeps an unpaired surrogate instead of failing.
        d.deserialize_bytes(V)
    }
}

/// A name serde_json read as WTF-8 (an unpaired surrogate is three bytes
/// starting 0xED), shown with each surrogate as its JSON escape.
fn wtf8_shown(mut rest: &[u8]) -> String {
    let mut out = String::new();
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (ok, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(ok).unwrap_or_default());
                match bad {
                    [0xed, a @ 0xa0..=0xbf, b, ..] => {
                        let u = 0xd000 | (u32::from(a & 0x3f) << 6) | u32::from(b & 0x3f);
                        out.push_str(&format!("\\u{u:04x}"));
                        rest = bad.get(3..).unwrap_or_default();
                    }
                    _ => {
                        out.push('\u{fffd}');
                        rest = bad.get(1..).unwrap_or_default();
                    }
                }
            }
        }
    }
    out
}

/// The members of the line's object, in order, values as written.
struct Members<'de>(Vec<(Cow<'de, str>, &'de RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(10);
                while let Some(Name(k)) = map.next_key()? {
                    let v: &'de RawValue = map.next_value()?;
                    members.push((k, v));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// What a member's value is, for messages.
fn kind_of(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A string attribute's value.
enum Str {
    Absent,
    Value(String),
    /// A JSON string serde cannot hold: it has a lone surrogate escape.
    LoneSurrogate,
    /// Not a string.
    Other,
}

fn string_of(raw: Option<&RawValue>) -> Str {
    let Some(raw) = raw else { return Str::Absent };
    match raw.get().as_bytes().first() {
        Some(b'n') => Str::Absent,
        Some(b'"') => match serde_json::from_str::<String>(raw.get()) {
            Ok(s) => Str::Value(s),
            // The line is valid JSON, so a string serde refuses holds an
            // escape of half a surrogate pair.
            Err(_) => Str::LoneSurrogate,
        },
        _ => Str::Other,
    }
}

/// CloudEvents' String type (§ Type System): no control characters
/// (U+0000–U+001F, U+007F–U+009F), no noncharacters, no lone surrogates
/// (which a Rust string cannot hold). `Err` says which character.
pub fn check_string(s: &str) -> Result<(), String> {
    // ASCII without control characters, the common case, in one pass.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Ok(());
    }
    for c in s.chars() {
        let u = c as u32;
        if u < 0x20 || (0x7f..=0x9f).contains(&u) {
            return Err(format!("the control character U+{u:04X}"));
        }
        if (0xfdd0..=0xfdef).contains(&u) || u & 0xfffe == 0xfffe {
            return Err(format!("the noncharacter U+{u:04X}"));
        }
    }
    Ok(())
}

/// An RFC 3986 URI-reference (the type of `source`).
pub fn is_uri_reference(s: &str) -> bool {
    thread_local! {
        /// The last `source` found valid: a stream's events mostly share one.
        static LAST: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    if LAST.with(|last| last.try_borrow().is_ok_and(|last| !last.is_empty() && *last == s)) {
        return true;
    }
    let valid = fluent_uri::UriRef::parse(s).is_ok();
    if valid {
        LAST.with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                last.clear();
                last.push_str(s);
            }
        });
    }
    valid
}

/// An RFC 3986 §4.3 absolute URI: a scheme, and no fragment (the type URI
/// of `dataschema`).
pub fn is_absolute_uri(s: &str) -> bool {
    fluent_uri::Uri::parse(s).is_ok_and(|u| u.fragment().is_none())
}

/// Whether a media type (RFC 2046, as in HTTP: `type/subtype` then
/// `; name=value` parameters, case-insensitive names) is JSON
/// (`*/json` or `*/*+json`); `None` when `s` is no media type.
pub fn json_media_type(s: &str) -> Option<bool> {
    fn is_token(t: &str) -> bool {
        !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    }
    let (essence, mut params) = match s.find(';') {
        Some(i) => (s.get(..i)?, s.get(i..)?),
        None => (s, ""),
    };
    let (ty, subtype) = essence.trim_end_matches([' ', '\t']).split_once('/')?;
    if !is_token(ty) || !is_token(subtype) {
        return None;
    }
    // Parameters: `;` OWS name `=` (token or quoted string) OWS.
    while let Some(rest) = params.strip_prefix(';') {
        let rest = rest.trim_start_matches([' ', '\t']);
        let (name, rest) = rest.split_once('=')?;
        if !is_token(name) {
            return None;
        }
        let rest = if let Some(q) = rest.strip_prefix('"') {
            let bytes = q.as_bytes();
            let mut i = 0;
            loop {
                match bytes.get(i)? {
                    b'"' => break,
                    b'\\' => i += 2,
                    _ => i += 1,
                }
            }
            q.get(i + 1..)?
        } else {
            let end = rest.find([';', ' ', '\t']).unwrap_or(rest.len());
            if !is_token(rest.get(..end)?) {
                return None;
            }
            rest.get(end..)?
        };
        params = rest.trim_start_matches([' ', '\t']);
    }
    if !params.is_empty() {
        return None;
    }
    let subtype = subtype.to_ascii_lowercase();
    Some(subtype == "json" || subtype.ends_with("+json"))
}

/// A context attribute's name: lower-case ASCII letters and digits.
pub fn is_attribute_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// An extension attribute's JSON number as a CloudEvents Integer (a JSON
/// integer in -2,147,483,648..=2,147,483,647), or why not.
pub fn extension_integer(t: &str) -> Result<i32, &'static str> {
    if t.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        return Err("a number that is not an integer");
    }
    t.parse::<i32>().map_err(|_| "an integer outside the CloudEvents Integer range (-2147483648 to 2147483647)")
}

/// The attributes Canon knows, and the two data members, in this order
/// (the JIT's one-pass decoder reads them by these indices).
pub const MEMBERS: [&str; 12] = [
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "correlationid",
    "idempotencykey",
    "data",
    "dataschema",
    "data_base64",
];

/// Validates a line's envelope: the envelope, and the text of its `data`
/// (`None` when absent or `null`; decoded from `data_base64` when given).
pub(crate) fn parse(line: &str) -> Result<(Envelope, Option<Cow<'_, str>>), Invalid> {
    let not_object = || Invalid { id: None, event_type: None, message: "the line is not a JSON object".into() };
    if !json_trim_start(line).starts_with('{') {
        // serde would also read a JSON array positionally: only objects are events.
        return Err(not_object());
    }
    let members = match serde_json::from_str::<Members<'_>>(line) {
        Ok(m) => m.0,
        Err(e) => {
            return Err(Invalid {
                id: None,
                event_type: None,
                message: format!("the line is not a valid CloudEvents JSON object: {e}"),
            })
        }
    };
    // Each known member by its index in MEMBERS; the first repeated name.
    let mut known: [Option<&RawValue>; 12] = [None; 12];
    let mut repeated: Option<&str> = None;
    for (n, (name, value)) in members.iter().enumerate() {
        if repeated.is_none() && members.iter().take(n).any(|(other, _)| other == name) {
            repeated = Some(name);
        }
        if let Some(slot) = MEMBERS.iter().position(|k| k == name).and_then(|i| known.get_mut(i)) {
            slot.get_or_insert(value);
        }
    }
    let [specversion, id, source, ty, time, subject, content_type, correlationid, idempotencykey, data, dataschema, data_base64] =
        known;
    // `id` and `type` are given in the outcome wherever they are single strings.
    let single = |name: &str, raw: Option<&RawValue>| match (string_of(raw), repeated == Some(name)) {
        (Str::Value(s), false) => Some(s),
        _ => None,
    };
    let id_text = single("id", id);
    let type_text = single("type", ty);
    let bad = |message: String| Invalid { id: id_text.clone(), event_type: type_text.clone(), message };
    if let Some(name) = repeated {
        return Err(bad(format!("the member `{name}` appears more than once: an event gives each attribute once")));
    }
    match string_of(specversion) {
        Str::Value(v) if v == "1.0" => {}
        Str::Value(v) => return Err(bad(format!("`specversion` must be \"1.0\", got \"{v}\""))),
        _ => return Err(bad("`specversion` is missing or not a string".into())),
    }
    // A String attribute: `Ok(None)` when absent or null.
    let string = |name: &str, raw: Option<&RawValue>| -> Result<Option<String>, Invalid> {
        match string_of(raw) {
            Str::Absent => Ok(None),
            Str::Value(s) => match check_string(&s) {
                Ok(()) => Ok(Some(s)),
                Err(c) => Err(bad(format!("`{name}` contains {c}, which a CloudEvents String cannot hold"))),
            },
            Str::LoneSurrogate => Err(bad(format!(
                "`{name}` contains an unpaired surrogate escape (such as \\ud800), which a CloudEvents String cannot hold"
            ))),
            Str::Other => Err(bad(format!("`{name}` is not a string"))),
        }
    };
    let required = |name: &str, raw: Option<&RawValue>| -> Result<String, Invalid> {
        if let Str::Other = string_of(raw) {
            return Err(bad(format!("`{name}` is missing or not a string")));
        }
        match string(name, raw)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(bad(format!("`{name}` is empty"))),
            None => Err(bad(format!("`{name}` is missing or not a string"))),
        }
    };
    let non_empty = |name: &str, raw: Option<&RawValue>| -> Result<Option<String>, Invalid> {
        match string(name, raw)? {
            Some(s) if s.is_empty() => Err(bad(format!("`{name}` is empty: leave it out instead"))),
            other => Ok(other),
        }
    };
    let id = required("id", id)?;
    let source = required("source", source)?;
    if !is_uri_reference(&source) {
        return Err(bad(format!("`source` must be a URI-reference (RFC 3986), got \"{source}\"")));
    }
    let event_type = required("type", ty)?;
    let time = match string("time", time)? {
        None => None,
        Some(t) => match time::parse_timestamp(&t) {
            Some(ts) => Some(ts),
            None => return Err(bad(format!("`time` is not an RFC 3339 timestamp: \"{t}\""))),
        },
    };
    let subject = non_empty("subject", subject)?;
    let correlation_id = string("correlationid", correlationid)?;
    if let Some(ct) = non_empty("datacontenttype", content_type)? {
        match json_media_type(&ct) {
            Some(true) => {}
            Some(false) => {
                return Err(bad(format!(
                "Canon reads JSON data: `datacontenttype` \"{ct}\" is not a JSON media type (such as application/json)"
            )))
            }
            None => return Err(bad(format!("`datacontenttype` is not a media type (RFC 2046): \"{ct}\""))),
        }
    }
    if let Some(schema) = non_empty("dataschema", dataschema)? {
        if !is_absolute_uri(&schema) {
            return Err(bad(format!("`dataschema` must be an absolute URI (RFC 3986 §4.3), got \"{schema}\"")));
        }
    }
    let idempotency_key = match string("idempotencykey", idempotencykey)? {
        Some(k) if k.is_empty() => return Err(bad(
            "`idempotencykey` is empty: give a non-empty key, or leave it out to key the event by its source and id"
                .into(),
        )),
        Some(k) => k,
        None => default_idempotency_key(&source, &id),
    };
    for (name, value) in &members {
        if MEMBERS.contains(&name.as_ref()) {
            continue;
        }
        if !is_attribute_name(name) {
            return Err(bad(format!(
                "`{name}` is not a CloudEvents attribute name: names are lower-case letters a-z and digits 0-9"
            )));
        }
        let wrong = |what: &str| {
            bad(format!("the extension attribute `{name}` must be a string, a boolean or an integer, got {what}"))
        };
        match value.get().as_bytes().first() {
            Some(b'"') => {
                string(name, Some(value))?;
            }
            Some(b't' | b'f' | b'n') => {}
            Some(b'-' | b'0'..=b'9') => {
                extension_integer(value.get()).map_err(wrong)?;
            }
            _ => return Err(wrong(kind_of(value))),
        }
    }
    let data = data.filter(|d| d.get() != "null");
    let data_base64 = data_base64.filter(|d| d.get() != "null");
    let data = match (data, data_base64) {
        (Some(_), Some(_)) => return Err(bad("`data` and `data_base64` cannot both be given".into())),
        (Some(d), None) => Some(Cow::Borrowed(d.get())),
        (None, Some(b)) => Some(Cow::Owned(base64_data(b).map_err(bad)?)),
        (None, None) => None,
    };
    Ok((Envelope { id, source, event_type, time, subject, correlation_id, idempotency_key }, data))
}

/// The JSON text that `data_base64` holds (the content type is JSON, or
/// absent and so JSON, once the envelope got this far).
fn base64_data(raw: &RawValue) -> Result<String, String> {
    let Ok(text) = serde_json::from_str::<String>(raw.get()) else {
        return Err(format!("`data_base64` must be a string, got {}", kind_of(raw)));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| format!("`data_base64` is not valid base64 (RFC 4648): {e}"))?;
    let json = String::from_utf8(bytes).map_err(|_| "`data_base64` does not decode to UTF-8 JSON text".to_string())?;
    if serde_json::from_str::<sde::IgnoredAny>(&json).is_err() {
        return Err("`data_base64` does not decode to JSON text, and the content type is JSON".into());
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn media_types() {
        for json in [
            "application/json",
            "Application/Json; CharSet=UTF-8",
            "application/cloudevents+json",
            "text/json",
            "application/vnd.acme.timesheet+JSON;v=2",
            "application/json; charset=\"utf-8\"",
            "application/json ;charset=utf-8",
        ] {
            assert_eq!(json_media_type(json), Some(true), "{json}");
        }
        for other in ["text/plain", "application/xml", "application/jsonx", "image/png; q=1"] {
            assert_eq!(json_media_type(other), Some(false), "{other}");
        }
        for bad in [
            "json",
            "application/",
            "/json",
            "application json",
            "application/json;",
            "application/json; charset",
            "a/b c",
            "",
        ] {
            assert_eq!(json_media_type(bad), None, "{bad}");
        }
    }

    #[test]
    fn strings_and_names() {
        assert!(check_string("ts-4411-v2 é 😀").is_ok());
        for bad in
            ["a\u{0}", "\u{1f}", "\u{7f}", "x\u{85}", "\u{9f}", "\u{fdd0}", "\u{fffe}", "\u{1ffff}", "\u{10ffff}"]
        {
            assert!(check_string(bad).is_err(), "{bad:?}");
        }
        assert!(is_attribute_name("correlationid2"));
        for bad in ["", "Upper", "a-b", "a_b", "é"] {
            assert!(!is_attribute_name(bad), "{bad}");
        }
        assert_eq!(extension_integer("2147483647"), Ok(i32::MAX));
        assert_eq!(extension_integer("-2147483648"), Ok(i32::MIN));
        assert!(extension_integer("2147483648").is_err());
        assert!(extension_integer("1.0").is_err());
        assert!(extension_integer("1e2").is_err());
    }

    #[test]
    fn uris() {
        for ok in ["urn:acme:timetrack", "/relative/path", "https://x.example/a?b#c", "#frag", "a"] {
            assert!(is_uri_reference(ok), "{ok}");
        }
        for bad in ["a b", "http://[::1", "%zz", "é"] {
            assert!(!is_uri_reference(bad), "{bad}");
        }
        assert!(is_absolute_uri("https://schemas.example/ts.json"));
        for bad in ["/relative", "https://schemas.example/ts.json#v1", "schemas", ""] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }
}
