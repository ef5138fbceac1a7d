//! Diagnostics: every problem the front end finds, with a stable code, a
//! primary span, related labels and help. Plain data; rendering (miette,
//! JSON, LSP) happens at the edges.

use crate::syntax::ast::Span;

/// Index of a source file in its package (files sorted by path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($(#[$doc:meta])* $ty:ident { $($name:ident = $text:literal, $title:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $ty { $($name),* }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$name),*];
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$name => $text),* }
            }
            /// One line saying what the code means.
            pub fn title(self) -> &'static str {
                match self { $($ty::$name => $title),* }
            }
            /// The long text of `canon explain`.
            pub fn explanation(self) -> &'static str {
                match self { $($ty::$name => include_str!(concat!("explain/", $text, ".md"))),* }
            }
            pub fn parse(s: &str) -> Option<$ty> {
                let s = s.trim().to_ascii_uppercase();
                match s.as_str() { $($text => Some($ty::$name),)* _ => None }
            }
        }
    };
}

codes! {
    /// Every diagnostic code of LANGUAGE.md §11. Codes are stable and never reused.
    Code {
        E0001 = "E0001", "syntax error";
        E0101 = "E0101", "unknown name";
        E0102 = "E0102", "duplicate definition";
        E0103 = "E0103", "unknown field";
        E0104 = "E0104", "record literal is missing fields";
        E0105 = "E0105", "ambiguous or unresolvable enum variant";
        E0201 = "E0201", "type mismatch";
        E0202 = "E0202", "optional value used where a value is required";
        E0203 = "E0203", "wrong number of arguments";
        E0204 = "E0204", "operator not defined for these types";
        E0301 = "E0301", "match is not exhaustive";
        E0302 = "E0302", "decision may not match every input";
        E0303 = "E0303", "decision rows overlap under `hit unique`";
        W0304 = "W0304", "decision row can never match";
        E0305 = "E0305", "decision row has the wrong number of cells";
        W0306 = "W0306", "a gap between the date ranges of a decision whose result is optional";
        E0307 = "E0307", "decision rows overlap under `hit any` with different outputs";
        E0308 = "E0308", "hit policy does not fit the decision's result";
        E0401 = "E0401", "recursion";
        E0402 = "E0402", "a second handler for the same event type";
        E0501 = "E0501", "state named outside a handler";
        E0502 = "E0502", "`update` sets a key field";
        E0503 = "E0503", "a malformed metric";
        E0504 = "E0504", "a state key field that cannot be a key";
        W0611 = "W0611", "an emitted Money is not known to be rounded to its currency's minor unit";
        E0601 = "E0601", "`sort_by` key of a type that has no order";
        E0602 = "E0602", "`sort_by` order not written as a variant";
        E0621 = "E0621", "an effective-dated table looked up without `as of`";
        E0622 = "E0622", "`as of` on a table that is not effective-dated";
        E0623 = "E0623", "a malformed `effective` clause";
        E0624 = "E0624", "`as of` a value of the wrong type";
        E0625 = "E0625", "a malformed calendar declaration";
        E0626 = "E0626", "a calendar function without a calendar, or its wrong use";
        E0631 = "E0631", "a destination family indexed by something other than an enum";
        E0632 = "E0632", "a destination family used without a member";
        E0633 = "E0633", "a member of a destination that is not a family";
        E0634 = "E0634", "a member index of the wrong type";
        E0635 = "E0635", "canon.toml binds some members of a family and not the others";
        E0636 = "E0636", "a malformed `expect reject`";
        W0701 = "W0701", "a table no handler looks up";
        W0702 = "W0702", "a decision no handler uses";
        W0703 = "W0703", "a function no handler or test uses";
        W0704 = "W0704", "a destination no handler emits to";
        W0705 = "W0705", "a `let` or parameter that is never read";
        W0706 = "W0706", "an enum variant that is never produced";
        W0707 = "W0707", "a state no handler or metric uses";
        W0708 = "W0708", "a calendar no handler uses";
    }
}

codes! {
    /// Every rejection code the runtime raises itself (LANGUAGE.md §12,
    /// RUNTIME.md §2 and §4), as opposed to a package's own `reject CODE`.
    /// The engines and the pipeline write them from here.
    RuntimeCode {
        SchemaViolation = "SCHEMA_VIOLATION", "the event does not fit its declared type";
        IntegerOverflow = "INTEGER_OVERFLOW", "an Int result does not fit 64 bits";
        DecimalOverflow = "DECIMAL_OVERFLOW", "a Decimal result does not fit 96 bits";
        DivisionByZero = "DIVISION_BY_ZERO", "division by zero";
        CurrencyMismatch = "CURRENCY_MISMATCH", "two Money values of different currencies met";
        DecisionConflict = "DECISION_CONFLICT", "a decision found no row, or two rows under `hit unique`";
        InvalidArgument = "INVALID_ARGUMENT", "a built-in was given a value outside its domain";
        InvalidEnvelope = "INVALID_ENVELOPE", "the line is not a valid CloudEvent";
        IdempotencyConflict = "IDEMPOTENCY_CONFLICT", "an idempotency key came again with a different payload";
        StateNotFound = "STATE_NOT_FOUND", "an `update` of a key that has no record";
    }
}

/// The long text of `canon explain` for a diagnostic or run-time code
/// (any case).
pub fn explanation(code: &str) -> Option<&'static str> {
    Code::parse(code).map(Code::explanation).or_else(|| RuntimeCode::parse(code).map(RuntimeCode::explanation))
}

impl Code {
    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub file: FileId,
    pub span: Span,
    /// Related locations (the other row of an overlap, the first definition...).
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// Facts for tools (the language server's quick fixes); never rendered.
    pub data: Option<Data>,
}

/// What a diagnostic found, as data rather than text, for quick fixes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Data {
    /// E0302: the input no row matches, as one decision cell per input
    /// column in header order (`Open`, `< 4`, `(4..8)`, `not "a", "b"`, `-`):
    /// a row with these cells covers it, and only inputs no row covers.
    UncoveredInput(Vec<String>),
    /// A replacement that fixes the diagnostic: the text at `span` (in the
    /// diagnostic's file) replaced by any one of `with`, best first (the
    /// language server offers a quick fix for each): `==` for a `=` that
    /// meant to compare, `USD` for `usd`, `Status.Open` for `"OPEN"`, the
    /// close names for an unknown one.
    Replace { span: Span, with: Vec<String> },
}

impl Diagnostic {
    pub fn new(code: Code, file: FileId, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            file,
            span,
            labels: Vec::new(),
            help: None,
            data: None,
        }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
    pub fn with_label(mut self, file: FileId, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { file, span, message: message.into() });
        self
    }
    pub fn with_data(mut self, data: Data) -> Diagnostic {
        self.data = Some(data);
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Maps byte offsets to 1-based lines and columns (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0u32];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i as u32 + 1);
            }
        }
        LineIndex { starts }
    }
    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, text: &str, offset: u32) -> (u32, u32) {
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0) as usize;
        let end = (offset as usize).min(text.len());
        let col = text.get(start..end).map(|s| s.chars().count()).unwrap_or(0);
        (line as u32 + 1, col as u32 + 1)
    }
    pub fn line(&self, offset: u32) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }
    /// Byte offset of the start of a 1-based line.
    pub fn line_start(&self, line: u32) -> Option<u32> {
        self.starts.get(line.checked_sub(1)? as usize).copied()
    }
}
