//! The payload hash of the idempotency ledger: SHA-256 of an event's canonical
//! JSON (object keys sorted, no insignificant white space, strings re-escaped
//! minimally, numbers exactly as written), so that the same event sent again
//! with other formatting is a `duplicate`, and any change of a value is a
//! conflict. `1.5` and `1.50` differ: Canon keeps a decimal's scale.
//!
//! The same pass reads the top-level `id`, `source` and `idempotencykey`,
//! from which the idempotency key is formed (RUNTIME.md §1).

use sha2::{Digest, Sha256};

/// The ledger's view of one input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The idempotency key: `idempotencykey`, else `["<source>","<id>"]`;
    /// for a line that is not a valid event, `invalid:` and its hash.
    pub key: String,
    /// The first 16 bytes of the SHA-256 of the canonical form (of the raw
    /// bytes when the line is not JSON).
    pub hash: [u8; 16],
}

/// Top-level string members read while canonicalising.
#[derive(Default)]
struct Top {
    id: Option<String>,
    source: Option<String>,
    key: Option<String>,
}

const MAX_DEPTH: usize = 128;

/// Buffers reused from one line to the next.
#[derive(Debug, Default)]
pub struct Scratch {
    out: Vec<u8>,
    members: Vec<Member>,
}

/// The identity of a line. `valid` says whether the engine found a valid
/// envelope; only then are `source` and `id` (or `idempotencykey`) the key.
pub fn identity(line: &str, valid: bool, scratch: &mut Scratch) -> Identity {
    scratch.out.clear();
    scratch.members.clear();
    let mut top = Top::default();
    let mut p = Parser { s: line.as_bytes(), i: 0, out: &mut scratch.out, members: &mut scratch.members };
    let canonical = p.document(&mut top).map(|v| p.bytes(v));
    let parsed = canonical.is_some();
    let digest = match canonical {
        Some(bytes) => Sha256::digest(bytes),
        None => Sha256::digest(line.trim().as_bytes()),
    };
    let mut hash = [0u8; 16];
    for (h, d) in hash.iter_mut().zip(digest.iter()) {
        *h = *d;
    }
    let key = match (valid && parsed, top) {
        (true, Top { key: Some(k), .. }) => k,
        (true, Top { id: Some(id), source: Some(source), .. }) => {
            canon_runtime::engine::default_idempotency_key(&source, &id)
        }
        _ => format!("invalid:{}", hex(&hash)),
    };
    Identity { key, hash }
}

/// The canonical form of a JSON text (the form whose hash is the payload
/// hash), or `None` when the text is not JSON.
pub fn canonical(text: &str) -> Option<Vec<u8>> {
    let mut scratch = Scratch::default();
    let mut top = Top::default();
    let mut p = Parser { s: text.as_bytes(), i: 0, out: &mut scratch.out, members: &mut scratch.members };
    let v = p.document(&mut top)?;
    Some(p.bytes(v).to_vec())
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0')));
        s.push(char::from(DIGITS.get(usize::from(b & 15)).copied().unwrap_or(b'0')));
    }
    s
}

/// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_number(t: &[u8]) -> bool {
    let digits = |t: &[u8]| t.iter().take_while(|b| b.is_ascii_digit()).count();
    let t = t.strip_prefix(b"-").unwrap_or(t);
    let n = digits(t);
    if n == 0 || (n > 1 && t.first() == Some(&b'0')) {
        return false;
    }
    let mut rest = t.get(n..).unwrap_or_default();
    if let Some(r) = rest.strip_prefix(b".") {
        let n = digits(r);
        if n == 0 {
            return false;
        }
        rest = r.get(n..).unwrap_or_default();
    }
    if let Some(r) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let r = r.strip_prefix(b"+").or_else(|| r.strip_prefix(b"-")).unwrap_or(r);
        let n = digits(r);
        if n == 0 {
            return false;
        }
        rest = r.get(n..).unwrap_or_default();
    }
    rest.is_empty()
}

/// Where a value's canonical form is: the input itself, when it is already
/// canonical (no white space, no escapes, keys in order: the common case
/// for everything below the top level), or the output buffer.
#[derive(Debug, Clone, Copy)]
enum Val {
    Raw(usize, usize),
    Built(usize, usize),
}

/// An object member being read: its key and its value.
#[derive(Debug, Clone, Copy)]
struct Member {
    key: Val,
    value: Val,
}

/// The bytes of a value read from `s` into `out`.
fn bytes_of<'b>(s: &'b [u8], out: &'b [u8], v: Val) -> &'b [u8] {
    match v {
        Val::Raw(a, b) => s.get(a..b).unwrap_or_default(),
        Val::Built(a, b) => out.get(a..b).unwrap_or_default(),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    out: &'a mut Vec<u8>,
    /// The members of the objects being read, innermost last.
    members: &'a mut Vec<Member>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips white space; whether there was any.
    fn ws(&mut self) -> bool {
        let start = self.i;
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
        self.i != start
    }

    fn bytes(&self, v: Val) -> &[u8] {
        bytes_of(self.s, self.out, v)
    }

    /// Appends a value's canonical form to the output.
    fn emit(&mut self, v: Val) {
        match v {
            Val::Raw(a, b) => self.out.extend_from_slice(self.s.get(a..b).unwrap_or_default()),
            Val::Built(a, b) => self.out.extend_from_within(a..b),
        }
    }

    fn document(&mut self, top: &mut Top) -> Option<Val> {
        self.ws();
        let v = if self.peek() == Some(b'{') { self.object(0, Some(top))? } else { self.value(0)? };
        self.ws();
        (self.i == self.s.len()).then_some(v)
    }

    fn value(&mut self, depth: usize) -> Option<Val> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => self.object(depth, None),
            b'[' => self.array(depth),
            b'"' => self.string(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<Val> {
        let start = self.i;
        if self.s.get(start..start + word.len())? == word {
            self.i += word.len();
            Some(Val::Raw(start, self.i))
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<Val> {
        let start = self.i;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        // Exactly as written, once it is a JSON number.
        is_number(self.s.get(start..self.i)?).then_some(Val::Raw(start, self.i))
    }

    /// A string: as written when it has no escapes, else decoded and
    /// re-escaped minimally.
    fn string(&mut self) -> Option<Val> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
        self.i += 1;
        if !escaped {
            return Some(Val::Raw(start, self.i));
        }
        let value: String = serde_json::from_slice(self.s.get(start..self.i)?).ok()?;
        let mut enc = String::with_capacity(value.len() + 2);
        canon_runtime::encode::json_str(&mut enc, &value);
        let at = self.out.len();
        self.out.extend_from_slice(enc.as_bytes());
        Some(Val::Built(at, self.out.len()))
    }

    fn array(&mut self, depth: usize) -> Option<Val> {
        let start = self.i;
        self.i += 1;
        let mut raw = !self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Some(if raw { Val::Raw(start, self.i) } else { Val::Built(self.push(b"[]"), self.out.len()) });
        }
        // Elements are kept on the member stack (as values without keys)
        // until it is known whether the array was canonical as written.
        let first = self.members.len();
        loop {
            let v = self.value(depth + 1)?;
            raw &= matches!(v, Val::Raw(..));
            self.members.push(Member { key: Val::Raw(0, 0), value: v });
            raw &= !self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    raw &= !self.ws();
                }
                b']' => {
                    self.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        if raw {
            self.members.truncate(first);
            return Some(Val::Raw(start, self.i));
        }
        let at = self.out.len();
        self.out.push(b'[');
        for n in first..self.members.len() {
            if n > first {
                self.out.push(b',');
            }
            let v = self.members.get(n)?.value;
            self.emit(v);
        }
        self.out.push(b']');
        self.members.truncate(first);
        Some(Val::Built(at, self.out.len()))
    }

    fn push(&mut self, b: &[u8]) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(b);
        at
    }

    fn object(&mut self, depth: usize, mut top: Option<&mut Top>) -> Option<Val> {
        if depth > MAX_DEPTH {
            return None;
        }
        let start = self.i;
        self.i += 1;
        let mut raw = !self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(if raw { Val::Raw(start, self.i) } else { Val::Built(self.push(b"{}"), self.out.len()) });
        }
        // Members are ordered by their key's canonical encoding.
        let first = self.members.len();
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            raw &= !self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            raw &= !self.ws();
            let value = self.value(depth + 1)?;
            if let Some(top) = top.as_deref_mut() {
                self.top_member(top, key, value);
            }
            raw &= matches!((key, value), (Val::Raw(..), Val::Raw(..)));
            if raw {
                // Still canonical only while the keys ascend strictly.
                if let Some(prev) = self.members.get(first..).and_then(|m| m.last()) {
                    raw = self.bytes(prev.key) < self.bytes(key);
                }
            }
            self.members.push(Member { key, value });
            raw &= !self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    raw &= !self.ws();
                }
                b'}' => {
                    self.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        if raw {
            self.members.truncate(first);
            return Some(Val::Raw(start, self.i));
        }
        let mut members = std::mem::take(self.members);
        let (s, out) = (self.s, &*self.out);
        if let Some(m) = members.get_mut(first..) {
            m.sort_by(|a, b| bytes_of(s, out, a.key).cmp(bytes_of(s, out, b.key)));
        }
        let at = self.out.len();
        self.out.push(b'{');
        for (n, m) in members.get(first..).unwrap_or_default().iter().enumerate() {
            if n > 0 {
                self.out.push(b',');
            }
            self.emit(m.key);
            self.out.push(b':');
            self.emit(m.value);
        }
        self.out.push(b'}');
        members.truncate(first);
        *self.members = members;
        Some(Val::Built(at, self.out.len()))
    }

    /// Reads the top-level `id`, `source` and `idempotencykey`.
    fn top_member(&self, top: &mut Top, key: Val, value: Val) {
        let key_bytes = self.bytes(key);
        let decoded;
        let name = match key {
            Val::Raw(..) => key_bytes.get(1..key_bytes.len().saturating_sub(1)).unwrap_or_default(),
            Val::Built(..) => {
                decoded = serde_json::from_slice::<String>(key_bytes).unwrap_or_default();
                decoded.as_bytes()
            }
        };
        let slot = match name {
            b"id" => &mut top.id,
            b"source" => &mut top.source,
            b"idempotencykey" => &mut top.key,
            _ => return,
        };
        let v = self.bytes(value);
        *slot = match (value, v.first()) {
            // As serde_json reads it: a raw control character makes no string.
            (Val::Raw(..), Some(b'"')) => {
                let inner = v.get(1..v.len().saturating_sub(1)).unwrap_or_default();
                if inner.iter().any(|b| *b < 0x20) {
                    None
                } else {
                    std::str::from_utf8(inner).ok().map(str::to_string)
                }
            }
            _ => serde_json::from_slice::<Option<String>>(v).ok().flatten(),
        };
    }
}

#[cfg(test)]
mod reference {
    //! The first canonicaliser, kept as the oracle of the one above.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::{is_number, Top, MAX_DEPTH};

    pub(super) struct Parser<'a> {
        pub(super) s: &'a [u8],
        pub(super) i: usize,
        pub(super) out: &'a mut Vec<u8>,
        /// (key start, key end, value end) in `out` of the members of the
        /// objects being read, innermost last.
        pub(super) members: &'a mut Vec<(usize, usize, usize)>,
        pub(super) tmp: &'a mut Vec<u8>,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }

        fn ws(&mut self) {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
                self.i += 1;
            }
        }

        pub(super) fn document(&mut self, top: &mut Top) -> Option<()> {
            self.ws();
            if self.peek() == Some(b'{') {
                self.object(0, Some(top))?;
            } else {
                self.value(0)?;
            }
            self.ws();
            (self.i == self.s.len()).then_some(())
        }

        fn value(&mut self, depth: usize) -> Option<()> {
            if depth > MAX_DEPTH {
                return None;
            }
            self.ws();
            match self.peek()? {
                b'{' => self.object(depth, None),
                b'[' => self.array(depth),
                b'"' => self.string().map(|_| ()),
                b't' => self.literal(b"true"),
                b'f' => self.literal(b"false"),
                b'n' => self.literal(b"null"),
                b'-' | b'0'..=b'9' => self.number(),
                _ => None,
            }
        }

        fn literal(&mut self, word: &[u8]) -> Option<()> {
            if self.s.get(self.i..self.i + word.len())? == word {
                self.i += word.len();
                self.out.extend_from_slice(word);
                Some(())
            } else {
                None
            }
        }

        fn number(&mut self) -> Option<()> {
            let start = self.i;
            while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
                self.i += 1;
            }
            let text = self.s.get(start..self.i)?;
            // Exactly as written, once it is a JSON number.
            if !is_number(text) {
                return None;
            }
            self.out.extend_from_slice(text);
            Some(())
        }

        /// Writes the string's canonical form; returns its value when escapes
        /// had to be decoded (else the caller may read the raw text).
        fn string(&mut self) -> Option<Option<String>> {
            let start = self.i;
            self.i += 1;
            let mut escaped = false;
            loop {
                let rest = self.s.get(self.i..)?;
                let at = memchr::memchr2(b'"', b'\\', rest)?;
                self.i += at;
                if self.peek()? == b'"' {
                    break;
                }
                escaped = true;
                self.i += 2;
            }
            self.i += 1;
            let raw = self.s.get(start..self.i)?;
            if !escaped {
                self.out.extend_from_slice(raw);
                return Some(None);
            }
            let value: String = serde_json::from_slice(raw).ok()?;
            let mut enc = String::with_capacity(value.len() + 2);
            canon_runtime::encode::json_str(&mut enc, &value);
            self.out.extend_from_slice(enc.as_bytes());
            Some(Some(value))
        }

        fn array(&mut self, depth: usize) -> Option<()> {
            self.i += 1;
            self.out.push(b'[');
            self.ws();
            if self.peek() == Some(b']') {
                self.i += 1;
                self.out.push(b']');
                return Some(());
            }
            loop {
                self.value(depth + 1)?;
                self.ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.out.push(b',');
                    }
                    b']' => {
                        self.i += 1;
                        self.out.push(b']');
                        return Some(());
                    }
                    _ => return None,
                }
            }
        }

        fn object(&mut self, depth: usize, mut top: Option<&mut Top>) -> Option<()> {
            if depth > MAX_DEPTH {
                return None;
            }
            self.i += 1;
            let start = self.out.len();
            self.out.push(b'{');
            // Members are ordered by their key's canonical encoding.
            let first = self.members.len();
            self.ws();
            if self.peek() == Some(b'}') {
                self.i += 1;
                self.out.push(b'}');
                return Some(());
            }
            loop {
                self.ws();
                if self.peek()? != b'"' {
                    return None;
                }
                let key_start = self.out.len();
                let key_raw_start = self.i;
                let decoded = self.string()?;
                let key_end = self.out.len();
                let key_raw = self.s.get(key_raw_start + 1..self.i - 1)?;
                self.ws();
                if self.peek()? != b':' {
                    return None;
                }
                self.i += 1;
                self.out.push(b':');
                self.ws();
                let value_raw_start = self.i;
                self.value(depth + 1)?;
                if let Some(top) = top.as_deref_mut() {
                    let name = decoded.as_deref().map(str::as_bytes).unwrap_or(key_raw);
                    let slot = match name {
                        b"id" => Some(&mut top.id),
                        b"source" => Some(&mut top.source),
                        b"idempotencykey" => Some(&mut top.key),
                        _ => None,
                    };
                    if let Some(slot) = slot {
                        let raw = self.s.get(value_raw_start..self.i)?;
                        *slot = serde_json::from_slice::<Option<String>>(raw).ok().flatten();
                    }
                }
                self.members.push((key_start, key_end, self.out.len()));
                self.ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                    }
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
            let offset = start + 1;
            self.tmp.clear();
            self.tmp.extend_from_slice(self.out.get(offset..)?);
            self.out.truncate(offset);
            let body = &*self.tmp;
            let members = self.members.get_mut(first..)?;
            let key_of = |m: &(usize, usize, usize)| body.get(m.0 - offset..m.1 - offset).unwrap_or_default();
            members.sort_by(|a, b| key_of(a).cmp(key_of(b)));
            for (n, m) in members.iter().enumerate() {
                if n > 0 {
                    self.out.push(b',');
                }
                self.out.extend_from_slice(body.get(m.0 - offset..m.2 - offset)?);
            }
            self.members.truncate(first);
            self.out.push(b'}');
            Some(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn canon(s: &str) -> Option<String> {
        let (mut out, mut members) = (Vec::new(), Vec::new());
        let mut top = Top::default();
        let mut p = Parser { s: s.as_bytes(), i: 0, out: &mut out, members: &mut members };
        let v = p.document(&mut top)?;
        Some(String::from_utf8(p.bytes(v).to_vec()).unwrap())
    }

    fn reference(s: &str) -> Option<String> {
        let (mut out, mut members, mut tmp) = (Vec::new(), Vec::new(), Vec::new());
        let mut top = Top::default();
        let ok = super::reference::Parser { s: s.as_bytes(), i: 0, out: &mut out, members: &mut members, tmp: &mut tmp }
            .document(&mut top)
            .is_some();
        ok.then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn sorts_keys_and_drops_white_space() {
        assert_eq!(
            canon(r#" { "b" : [1, 2.50 ,{"z":null,"a":true}], "a":"x" } "#).unwrap(),
            r#"{"a":"x","b":[1,2.50,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn numbers_stay_as_written() {
        assert_eq!(canon("[0,-1.50,2e10,3E-2,1e+400]").unwrap(), "[0,-1.50,2e10,3E-2,1e+400]");
    }

    #[test]
    fn re_escapes_strings() {
        assert_eq!(canon(r#"{"k":"\u0041\/\n"}"#).unwrap(), r#"{"k":"A/\n"}"#);
        assert_eq!(canon(r#"{"\u0061":1}"#), canon(r#"{"a":1}"#));
    }

    #[test]
    fn rejects_what_is_not_json() {
        for bad in ["{", "{\"a\":}", "[1,]", "{\"a\":1} x", "{'a':1}", "{\"a\":01}", "[1.]", "[-]", "[1e]", "nul"] {
            assert!(canon(bad).is_none(), "{bad}");
        }
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(canon(&deep).is_none());
    }

    /// JSON text for `v` in random key order, with random white space and
    /// escapes when `noisy`.
    fn print(v: &serde_json::Value, rng: &mut fastrand::Rng, noisy: bool, out: &mut String) {
        let ws = |rng: &mut fastrand::Rng, out: &mut String| {
            if !noisy {
                return;
            }
            for _ in 0..rng.usize(0..3).saturating_sub(1) {
                out.push([' ', '\n', '\t', '\r'][rng.usize(0..4)]);
            }
        };
        let string = |rng: &mut fastrand::Rng, s: &str, out: &mut String| {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str(if !noisy || rng.bool() { "\\\\" } else { "\\u005c" }),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c if noisy && c.len_utf16() == 1 && rng.u8(0..8) == 0 => out.push_str(&format!("\\u{:04X}", c as u32)),
                    '/' if noisy && rng.bool() => out.push_str("\\/"),
                    c => out.push(c),
                }
            }
            out.push('"');
        };
        ws(rng, out);
        match v {
            serde_json::Value::Object(m) => {
                out.push('{');
                let mut keys: Vec<&String> = m.keys().collect();
                rng.shuffle(&mut keys);
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    ws(rng, out);
                    string(rng, k, out);
                    ws(rng, out);
                    out.push(':');
                    print(&m[k.as_str()], rng, noisy, out);
                }
                ws(rng, out);
                out.push('}');
            }
            serde_json::Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    print(x, rng, noisy, out);
                }
                ws(rng, out);
                out.push(']');
            }
            serde_json::Value::String(s) => string(rng, s, out),
            other => out.push_str(&other.to_string()),
        }
        ws(rng, out);
    }

    fn json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            "[-]?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?"
                .prop_map(|t| serde_json::from_str::<serde_json::Value>(&t).unwrap_or(serde_json::Value::Null)),
            "[a-c\"\\\\/\u{0}-\u{1f}é€😀 ]{0,6}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map("[a-c\"\\\\é]{0,3}", inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The canonical form is the first canonicaliser's, byte for byte
        /// (payload hashes already in ledgers must not change), and does
        /// not depend on white space, key order or escapes.
        #[test]
        fn same_as_the_reference(v in json(), seed in proptest::prelude::any::<u64>()) {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut a = String::new();
            print(&v, &mut rng, true, &mut a);
            let mut b = String::new();
            print(&v, &mut rng, true, &mut b);
            let mut compact = String::new();
            print(&v, &mut rng, false, &mut compact);
            proptest::prop_assert_eq!(canon(&a), reference(&a));
            proptest::prop_assert_eq!(canon(&compact), reference(&compact));
            proptest::prop_assert_eq!(canon(&a), canon(&b));
            proptest::prop_assert_eq!(canon(&a), canon(&compact));
            proptest::prop_assert!(canon(&a).is_some());
            // Broken texts are refused by both.
            let cut = &a[..a.floor_char_boundary(rng.usize(0..=a.len()))];
            proptest::prop_assert_eq!(canon(cut).is_some(), reference(cut).is_some());
            if canon(cut).is_some() {
                proptest::prop_assert_eq!(canon(cut), reference(cut));
            }
        }
    }

    #[test]
    fn keys_and_hashes() {
        let mut s = Scratch::default();
        let a = identity(r#"{"id":"e1","source":"s","type":"t","data":{"h":"1.50"}}"#, true, &mut s);
        let b = identity(r#"{ "data": {"h":"1.50"}, "type":"t", "source":"s", "id":"e1" }"#, true, &mut s);
        let c = identity(r#"{"id":"e1","source":"s","type":"t","data":{"h":"1.5"}}"#, true, &mut s);
        assert_eq!(a.key, r#"["s","e1"]"#);
        assert_eq!(a, b);
        assert_eq!(a.key, c.key);
        assert_ne!(a.hash, c.hash);
        let k = identity(r#"{"id":"e1","source":"s","idempotencykey":"K-1"}"#, true, &mut s);
        assert_eq!(k.key, "K-1");
        let n = identity(r#"{"id":"e1","source":"s","idempotencykey":null}"#, true, &mut s);
        assert_eq!(n.key, r#"["s","e1"]"#);
        // A raw control character makes no id (as serde_json reads it).
        let tab = identity("{\"id\":\"e\t1\",\"source\":\"s\"}", true, &mut s);
        assert!(tab.key.starts_with("invalid:"), "{}", tab.key);
        let bad = identity("not json", false, &mut s);
        assert!(bad.key.starts_with("invalid:"));
        assert_eq!(bad, identity("not json", false, &mut s));
    }
}
