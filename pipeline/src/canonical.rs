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

/// The reference canonicaliser's depth limit (the one above has none).
#[cfg(test)]
const MAX_DEPTH: usize = 128;

/// Buffers reused from one line to the next.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Strings rebuilt from their escapes, and empty containers written with white space.
    out: Vec<u8>,
    /// The members (or elements) of the containers being read, innermost last.
    pending: Vec<Member>,
    /// The members of the containers already read, each container's contiguous.
    kids: Vec<Member>,
    /// The containers being read, innermost last.
    open: Vec<Open>,
    /// The canonical form of a document that was not canonical as written.
    doc: Vec<u8>,
    /// The containers being written, innermost last.
    writing: Vec<Writing>,
}

/// The identity of a line. `valid` says whether the engine found a valid
/// envelope; only then are `source` and `id` (or `idempotencykey`) the key.
pub fn identity(line: &str, valid: bool, scratch: &mut Scratch) -> Identity {
    let mut top = Top::default();
    let digest = match canonical_into(line, &mut top, scratch) {
        Some(bytes) => Sha256::digest(bytes),
        None => Sha256::digest(line.trim_matches(is_json_space).as_bytes()),
    };
    let hash = first_16(&digest);
    let key = match (valid, top) {
        (true, Top { key: Some(k), .. }) => k,
        (true, Top { id: Some(id), source: Some(source), .. }) => {
            canon_runtime::engine::default_idempotency_key(&source, &id)
        }
        // A valid envelope always has its key: the canonicaliser reads every
        // JSON text the envelope check accepts, and its strings as serde_json does.
        _ => format!("invalid:{}", hex(&hash)),
    };
    Identity { key, hash }
}

/// The identity of a line that is not UTF-8 (so no JSON, and no event):
/// keyed and hashed by its bytes, so lines that differ in one byte differ.
pub fn identity_of_bytes(line: &[u8]) -> Identity {
    let hash = first_16(&Sha256::digest(line.trim_ascii()));
    Identity { key: format!("invalid:{}", hex(&hash)), hash }
}

fn first_16(digest: &[u8]) -> [u8; 16] {
    let mut hash = [0u8; 16];
    for (h, d) in hash.iter_mut().zip(digest.iter()) {
        *h = *d;
    }
    hash
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// The canonical form of a JSON text (the form whose hash is the payload
/// hash), or `None` when the text is not JSON.
pub fn canonical(text: &str) -> Option<Vec<u8>> {
    let mut scratch = Scratch::default();
    canonical_into(text, &mut Top::default(), &mut scratch).map(<[u8]>::to_vec)
}

/// The canonical form of `text`, borrowed from it when it is canonical as
/// written, else from `scratch`.
fn canonical_into<'a>(text: &'a str, top: &mut Top, scratch: &'a mut Scratch) -> Option<&'a [u8]> {
    scratch.out.clear();
    scratch.pending.clear();
    scratch.kids.clear();
    scratch.open.clear();
    let s = text.as_bytes();
    let mut p = Parser {
        s,
        i: 0,
        out: &mut scratch.out,
        pending: &mut scratch.pending,
        kids: &mut scratch.kids,
        open: &mut scratch.open,
    };
    let root = p.document(top)?;
    match root {
        Node::Raw(a, b) => s.get(a..b),
        _ => {
            scratch.doc.clear();
            write(root, s, &scratch.out, &scratch.kids, &mut scratch.writing, &mut scratch.doc);
            Some(&scratch.doc)
        }
    }
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

/// A value read, by where its canonical form is.
#[derive(Debug, Clone, Copy)]
enum Node {
    /// The input itself, canonical as written (no white space, no escapes,
    /// keys in order: the common case for everything below the top level).
    Raw(usize, usize),
    /// These bytes of the output buffer (a string rebuilt from its escapes).
    Built(usize, usize),
    /// An array whose elements are these `kids` (their values).
    Array(usize, usize),
    /// An object whose members are these `kids`, sorted by key.
    Object(usize, usize),
}

/// An object member (or an array element, whose key is unused).
#[derive(Debug, Clone, Copy)]
struct Member {
    key: Node,
    value: Node,
}

const NO_KEY: Node = Node::Raw(0, 0);

/// A container being read.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// Where it starts in the input.
    start: usize,
    /// Where its members start in `pending`.
    first: usize,
    /// Whether it is canonical as written so far.
    raw: bool,
    object: bool,
    /// The document's own object, whose `id`, `source` and `idempotencykey` are read.
    top: bool,
    /// The key of the member whose value is being read.
    key: Node,
}

/// A container being written: its next member and its end in `kids`.
#[derive(Debug, Clone, Copy)]
struct Writing {
    next: usize,
    start: usize,
    end: usize,
    object: bool,
}

/// The bytes of a string or raw value.
fn bytes_of<'b>(s: &'b [u8], out: &'b [u8], v: Node) -> &'b [u8] {
    match v {
        Node::Raw(a, b) => s.get(a..b).unwrap_or_default(),
        Node::Built(a, b) => out.get(a..b).unwrap_or_default(),
        Node::Array(..) | Node::Object(..) => &[],
    }
}

/// Writes the canonical form of `root`, a container, without recursion.
fn write(root: Node, s: &[u8], out: &[u8], kids: &[Member], stack: &mut Vec<Writing>, doc: &mut Vec<u8>) {
    stack.clear();
    let open = |v: Node, stack: &mut Vec<Writing>, doc: &mut Vec<u8>| match v {
        Node::Array(a, b) => {
            doc.push(b'[');
            stack.push(Writing { next: a, start: a, end: b, object: false });
        }
        Node::Object(a, b) => {
            doc.push(b'{');
            stack.push(Writing { next: a, start: a, end: b, object: true });
        }
        v => doc.extend_from_slice(bytes_of(s, out, v)),
    };
    open(root, stack, doc);
    while let Some(w) = stack.last_mut() {
        if w.next >= w.end {
            doc.push(if w.object { b'}' } else { b']' });
            stack.pop();
            continue;
        }
        if w.next > w.start {
            doc.push(b',');
        }
        let Some(m) = kids.get(w.next).copied() else {
            stack.pop();
            continue;
        };
        w.next += 1;
        if w.object {
            doc.extend_from_slice(bytes_of(s, out, m.key));
            doc.push(b':');
        }
        open(m.value, stack, doc);
    }
}

/// The bytes a string's scan stops at: `"`, `\`, control characters (not
/// JSON), and 0xC2 and 0xE2, which start U+0085, U+2028 and U+2029.
#[allow(clippy::indexing_slicing)] // a constant, evaluated at compile time
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i < 0x20 || i == b'"' as usize || i == b'\\' as usize || i == 0xc2 || i == 0xe2;
        i += 1;
    }
    t
};

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    out: &'a mut Vec<u8>,
    pending: &'a mut Vec<Member>,
    kids: &'a mut Vec<Member>,
    open: &'a mut Vec<Open>,
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

    fn bytes(&self, v: Node) -> &[u8] {
        bytes_of(self.s, self.out, v)
    }

    fn document(&mut self, top: &mut Top) -> Option<Node> {
        self.ws();
        let v = self.value(top)?;
        self.ws();
        (self.i == self.s.len()).then_some(v)
    }

    /// Reads one value, containers with an explicit stack (any depth).
    fn value(&mut self, top: &mut Top) -> Option<Node> {
        'value: loop {
            let mut node = match self.peek()? {
                c @ (b'{' | b'[') => {
                    let object = c == b'{';
                    let start = self.i;
                    self.i += 1;
                    let raw = !self.ws();
                    if self.peek() == Some(if object { b'}' } else { b']' }) {
                        self.i += 1;
                        if raw {
                            Node::Raw(start, self.i)
                        } else {
                            let at = self.out.len();
                            self.out.extend_from_slice(if object { b"{}" } else { b"[]" });
                            Node::Built(at, self.out.len())
                        }
                    } else {
                        let top = object && self.open.is_empty();
                        let mut f = Open { start, first: self.pending.len(), raw, object, top, key: NO_KEY };
                        if object {
                            f.key = self.key(&mut f.raw)?;
                        }
                        self.open.push(f);
                        continue 'value;
                    }
                }
                b'"' => self.string()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            };
            // A value is complete: add it to its container, and close every
            // container that ends after it.
            loop {
                let Some(mut f) = self.open.last().copied() else { return Some(node) };
                if f.top {
                    self.top_member(top, f.key, node);
                }
                f.raw &= matches!((f.key, node), (Node::Raw(..), Node::Raw(..)));
                if f.raw && f.object {
                    // Still canonical only while the keys ascend strictly.
                    if let Some(prev) = self.pending.get(f.first..).and_then(|m| m.last()) {
                        f.raw = self.bytes(prev.key) < self.bytes(f.key);
                    }
                }
                self.pending.push(Member { key: f.key, value: node });
                f.raw &= !self.ws();
                let close = if f.object { b'}' } else { b']' };
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        f.raw &= !self.ws();
                        if f.object {
                            f.key = self.key(&mut f.raw)?;
                        }
                        *self.open.last_mut()? = f;
                        continue 'value;
                    }
                    c if c == close => {
                        self.i += 1;
                        self.open.pop();
                        node = self.close(f);
                    }
                    _ => return None,
                }
            }
        }
    }

    /// An object member's key and its colon.
    fn key(&mut self, raw: &mut bool) -> Option<Node> {
        if self.peek()? != b'"' {
            return None;
        }
        let key = self.string()?;
        *raw &= !self.ws();
        if self.peek()? != b':' {
            return None;
        }
        self.i += 1;
        *raw &= !self.ws();
        Some(key)
    }

    /// The node of a container just closed.
    fn close(&mut self, f: Open) -> Node {
        if f.raw {
            self.pending.truncate(f.first);
            return Node::Raw(f.start, self.i);
        }
        let a = self.kids.len();
        self.kids.extend(self.pending.drain(f.first..));
        let b = self.kids.len();
        if !f.object {
            return Node::Array(a, b);
        }
        // Members are ordered by their key's canonical encoding.
        let (s, out) = (self.s, &*self.out);
        if let Some(m) = self.kids.get_mut(a..b) {
            m.sort_by(|x, y| bytes_of(s, out, x.key).cmp(bytes_of(s, out, y.key)));
        }
        Node::Object(a, b)
    }

    fn literal(&mut self, word: &[u8]) -> Option<Node> {
        let start = self.i;
        if self.s.get(start..start + word.len())? == word {
            self.i += word.len();
            Some(Node::Raw(start, self.i))
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<Node> {
        let start = self.i;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        // Exactly as written, once it is a JSON number.
        is_number(self.s.get(start..self.i)?).then_some(Node::Raw(start, self.i))
    }

    /// A string: as written when it has no escapes, else decoded and
    /// re-escaped minimally (a lone surrogate is kept as its escape).
    fn string(&mut self) -> Option<Node> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            // Skip the bytes that need no look, one table lookup each.
            let rest = self.s.get(self.i..)?;
            self.i += rest.iter().position(|b| STOP.get(usize::from(*b)).copied().unwrap_or(true))?;
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                // A raw control character is not JSON.
                0..=0x1f => return None,
                // U+0085, U+2028 and U+2029 are escaped in the canonical
                // form, whether they were written raw or as escapes.
                0xc2 if self.s.get(self.i + 1) == Some(&0x85) => {
                    escaped = true;
                    self.i += 2;
                }
                0xe2 if matches!(self.s.get(self.i + 1..self.i + 3), Some([0x80, 0xa8 | 0xa9])) => {
                    escaped = true;
                    self.i += 3;
                }
                _ => self.i += 1,
            }
        }
        self.i += 1;
        if !escaped {
            return Some(Node::Raw(start, self.i));
        }
        let body = self.s.get(start + 1..self.i - 1)?;
        let at = self.out.len();
        self.out.push(b'"');
        unescape(body, self.out)?;
        self.out.push(b'"');
        Some(Node::Built(at, self.out.len()))
    }

    /// Reads the top-level `id`, `source` and `idempotencykey`, as serde_json
    /// reads strings (so a lone surrogate makes no string).
    fn top_member(&self, top: &mut Top, key: Node, value: Node) {
        let key_bytes = self.bytes(key);
        let decoded;
        let name = match key {
            Node::Raw(..) => key_bytes.get(1..key_bytes.len().saturating_sub(1)).unwrap_or_default(),
            _ => {
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
            (Node::Raw(..), Some(b'"')) => {
                std::str::from_utf8(v.get(1..v.len().saturating_sub(1)).unwrap_or_default()).ok().map(str::to_string)
            }
            (Node::Built(..), Some(b'"')) => serde_json::from_slice::<String>(v).ok(),
            _ => None,
        };
    }
}

/// Decodes the escapes of a string's body into `out`, re-escaped minimally:
/// `\"`, `\\`, `\n`, `\r`, `\t`, other control characters and U+0085,
/// U+2028, U+2029 as `\u00XX` (lower-case, as the outcome writer does), a
/// lone surrogate as its `\uXXXX` escape in lower case, everything else as
/// the character itself. `None` for an invalid escape.
fn unescape(body: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut j = 0;
    while let Some(&b) = body.get(j) {
        if b != b'\\' {
            // Copy the run up to the next escape as written (valid UTF-8:
            // the input is a `str`, and a run ends only before a backslash).
            let run = body.get(j..)?;
            let n = memchr::memchr(b'\\', run).unwrap_or(run.len());
            push_text(out, run.get(..n)?);
            j += n;
            continue;
        }
        let e = *body.get(j + 1)?;
        j += 2;
        let c = match e {
            b'"' => 0x22,
            b'\\' => 0x5c,
            b'/' => 0x2f,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => 0x0a,
            b'r' => 0x0d,
            b't' => 0x09,
            b'u' => {
                let u = hex4(body.get(j..j + 4)?)?;
                j += 4;
                if (0xd800..0xdc00).contains(&u) {
                    let low = match (body.get(j..j + 2), body.get(j + 2..j + 6).and_then(hex4)) {
                        (Some(b"\\u"), Some(lo)) if (0xdc00..0xe000).contains(&lo) => Some(lo),
                        _ => None,
                    };
                    match low {
                        Some(lo) => {
                            j += 6;
                            0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00)
                        }
                        None => {
                            push_u_escape(out, u);
                            continue;
                        }
                    }
                } else if (0xdc00..0xe000).contains(&u) {
                    push_u_escape(out, u);
                    continue;
                } else {
                    u
                }
            }
            _ => return None,
        };
        let c = char::from_u32(c)?;
        let mut buf = [0u8; 4];
        push_char(out, c, c.encode_utf8(&mut buf).as_bytes());
    }
    Some(())
}

/// Appends text that needs no decoding, escaping what the canonical form escapes.
fn push_text(out: &mut Vec<u8>, text: &[u8]) {
    let needs = |b: &u8| *b < 0x20 || *b == b'"' || *b == 0xc2 || *b == 0xe2;
    if !text.iter().any(needs) {
        out.extend_from_slice(text);
        return;
    }
    for c in String::from_utf8_lossy(text).chars() {
        let mut buf = [0u8; 4];
        push_char(out, c, c.encode_utf8(&mut buf).as_bytes());
    }
}

fn push_char(out: &mut Vec<u8>, c: char, utf8: &[u8]) {
    match c {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        c if (c as u32) < 0x20 || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') => push_u_escape(out, c as u32),
        _ => out.extend_from_slice(utf8),
    }
}

fn push_u_escape(out: &mut Vec<u8>, u: u32) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(DIGITS.get(((u >> shift) & 15) as usize).copied().unwrap_or(b'0'));
    }
}

fn hex4(h: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &b in h.get(..4)? {
        v = v * 16 + char::from(b).to_digit(16)?;
    }
    Some(v)
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
        canonical(s).map(|b| String::from_utf8(b).unwrap())
    }

    fn reference(s: &str) -> Option<String> {
        let (mut out, mut members, mut tmp) = (Vec::new(), Vec::new(), Vec::new());
        let mut top = Top::default();
        let ok =
            super::reference::Parser { s: s.as_bytes(), i: 0, out: &mut out, members: &mut members, tmp: &mut tmp }
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
        for bad in ["\"\t\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "[\"a\"", "{\"a\" 1}", "{1:2}", "[1 2]"] {
            assert!(canon(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn any_depth_without_recursion() {
        for n in [129, 1000, 1_000_000] {
            let deep = "[".repeat(n) + &"]".repeat(n);
            assert_eq!(canon(&deep).unwrap(), deep);
            // With white space at every level, each level is rebuilt, in linear time.
            let spaced = "[ ".repeat(n) + &" ]".repeat(n);
            assert_eq!(canon(&spaced).unwrap(), deep);
            let objects = "{\"b\":1, \"a\":".repeat(n) + "0" + &"}".repeat(n);
            let sorted = "{\"a\":".repeat(n) + "0" + &",\"b\":1}".repeat(n);
            assert_eq!(canon(&objects).unwrap(), sorted);
        }
        assert!(canon(&("[".repeat(1000) + &"]".repeat(999))).is_none());
    }

    #[test]
    fn lone_surrogates_are_kept_as_escapes() {
        assert_eq!(canon(r#"{"n":"\uD800"}"#).unwrap(), r#"{"n":"\ud800"}"#);
        assert_eq!(canon(r#"["\udc00x\ud800","\ud800\ud800"]"#).unwrap(), r#"["\udc00x\ud800","\ud800\ud800"]"#);
        // A pair is one character, however it is written.
        assert_eq!(canon(r#"["\ud83d\ude00"]"#).unwrap(), "[\"\u{1F600}\"]");
        // Keys sort by their canonical bytes: the escape's backslash before `a`.
        assert_eq!(canon(r#"{"a":2,"\ud800":1}"#).unwrap(), r#"{"\ud800":1,"a":2}"#);
    }

    #[test]
    fn line_separators_are_escaped_however_written() {
        let raw = canon("[\"a\u{2028}b\u{85}\u{2029}\"]").unwrap();
        assert_eq!(raw, r#"["a\u2028b\u0085\u2029"]"#);
        assert_eq!(canon(r#"["a\u2028b\u0085\u2029"]"#).unwrap(), raw);
        assert_eq!(canon(r#"["a\u2028b\u0085\u2029\/"]"#).unwrap(), r#"["a\u2028b\u0085\u2029/"]"#);
    }

    #[test]
    fn valid_events_are_keyed_whatever_their_payload() {
        let mut s = Scratch::default();
        let surrogate = identity(r#"{"id":"e1","source":"s","type":"t","data":{"note":"\ud800"}}"#, true, &mut s);
        assert_eq!(surrogate.key, r#"["s","e1"]"#);
        let spaced = identity(r#"{"id":"e1", "source":"s","type":"t","data":{"note":"\uD800"}}"#, true, &mut s);
        assert_eq!(surrogate, spaced);
        let deep =
            format!(r#"{{"id":"e1","source":"s","type":"t","data":{{"x":{}1{}}}}}"#, "[".repeat(200), "]".repeat(200));
        let d = identity(&deep, true, &mut s);
        assert_eq!(d.key, r#"["s","e1"]"#);
        assert_ne!(d.hash, surrogate.hash);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_told_apart() {
        let a = identity_of_bytes(b"{\"id\":\"\xff\"}");
        let b = identity_of_bytes(b"{\"id\":\"\xfe\"}");
        assert_ne!(a.key, b.key);
        assert!(a.key.starts_with("invalid:"));
        assert_eq!(a, identity_of_bytes(b"{\"id\":\"\xff\"}\r"));
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
                    c if noisy && c.len_utf16() == 1 && rng.u8(0..8) == 0 => {
                        out.push_str(&format!("\\u{:04X}", c as u32))
                    }
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
