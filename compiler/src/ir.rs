//! The checked package: a typed, resolved tree that both engines run.
//!
//! Names are resolved to indices, implicit Int-to-Decimal conversions are
//! explicit nodes, operators are specialised by type, and every node that can
//! fault carries the source line it reports. The interpreter walks this tree;
//! the JIT lowers it.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use canon_stdlib::{Currency, Date, Decimal, Timestamp};

use crate::diagnostics::FileId;
use crate::syntax::ast::Span;
use crate::types::{EnumId, OrdKind, RecordId, Ty};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FnId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecisionId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DestId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateId(pub u32);

/// A source location for run-time messages (`file.canon:LINE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Loc {
    pub file: FileId,
    pub line: u32,
    /// The 1-based byte column on `line` (0 when unknown): coverage reports
    /// name `file:line:col`; run-time messages name the line alone.
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceInfo {
    /// Path relative to the package root, with `/` separators.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Package {
    pub files: Vec<SourceInfo>,
    pub enums: Vec<EnumDef>,
    pub records: Vec<RecordDef>,
    /// Every destination: the plain ones, then each family's members
    /// (LANGUAGE.md §4.3), in declaration and variant order.
    pub destinations: Vec<DestDef>,
    /// Destination families (`destination erp[Entity]: R`).
    pub families: Vec<FamilyDef>,
    pub tables: Vec<TableDef>,
    pub functions: Vec<FnDef>,
    pub decisions: Vec<DecisionDef>,
    pub handlers: Vec<HandlerDef>,
    pub tests: Vec<TestDef>,
    /// Keyed state across events (LANGUAGE.md §4.5).
    pub states: Vec<StateDef>,
    /// Figures over state (LANGUAGE.md §4.6).
    pub metrics: Vec<MetricDef>,
    /// Business-day calendars (LANGUAGE.md §5.3).
    pub calendars: Vec<CalendarDef>,
    /// Event wire type to handler index.
    /// (Fx-hashed: looked up once an event, where SipHash cost ~230
    /// instructions.)
    pub handler_by_type: FxHashMap<String, usize>,
    /// For the language server: the type of each name, field access, `let`
    /// name, call, table lookup, parenthesised, `if`, `match` and `??`
    /// expression the checker saw, with its file and span.
    pub types: Vec<(FileId, Span, Ty)>,
}

impl Package {
    pub fn loc_string(&self, loc: Loc) -> String {
        let path = self.files.get(loc.file.0 as usize).map(|f| f.path.as_str()).unwrap_or("?");
        // Called for every step of a lineage: no `format!` machinery.
        let mut s = String::with_capacity(path.len() + 6);
        s.push_str(path);
        s.push(':');
        s.push_str(itoa::Buffer::new().format(loc.line));
        s
    }
    pub fn enum_names(&self) -> Vec<String> {
        self.enums.iter().map(|e| e.name.clone()).collect()
    }
    pub fn record_names(&self) -> Vec<String> {
        self.records.iter().map(|r| r.name.clone()).collect()
    }
    pub fn record(&self, id: RecordId) -> Option<&RecordDef> {
        self.records.get(id.0 as usize)
    }
    pub fn enum_def(&self, id: EnumId) -> Option<&EnumDef> {
        self.enums.get(id.0 as usize)
    }
    pub fn table_by_name(&self, name: &str) -> Option<(TableId, &TableDef)> {
        self.tables.iter().enumerate().find(|(_, t)| t.name == name).map(|(i, t)| (TableId(i as u32), t))
    }
    pub fn state(&self, id: StateId) -> Option<&StateDef> {
        self.states.get(id.0 as usize)
    }
    pub fn state_by_name(&self, name: &str) -> Option<(StateId, &StateDef)> {
        self.states.iter().enumerate().find(|(_, t)| t.name == name).map(|(i, t)| (StateId(i as u32), t))
    }
    /// Whether any handler can read or write state (events then apply in order).
    pub fn has_state(&self) -> bool {
        !self.states.is_empty()
    }
    pub fn family_by_name(&self, name: &str) -> Option<&FamilyDef> {
        self.families.iter().find(|f| f.name == name)
    }
    pub fn destination_by_name(&self, name: &str) -> Option<(DestId, &DestDef)> {
        self.destinations.iter().enumerate().find(|(_, t)| t.name == name).map(|(i, t)| (DestId(i as u32), t))
    }
}

/// Where a declaration is, for the language server and related labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeclSite {
    pub file: FileId,
    pub span: Span,
    /// 1-based line of the span's start.
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumDef {
    pub name: String,
    pub docs: Option<String>,
    pub variants: Vec<VariantDef>,
    pub site: Option<DeclSite>,
    /// Wire name to variant index.
    pub by_wire: FxHashMap<String, u32>,
}

impl EnumDef {
    /// The variant with this wire name.
    pub fn variant_by_wire(&self, wire: &str) -> Option<u32> {
        if self.variants.len() <= 16 {
            self.variants.iter().position(|v| v.wire == wire).map(|i| i as u32)
        } else {
            self.by_wire.get(wire).copied()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantDef {
    pub name: String,
    pub wire: String,
    pub docs: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDef {
    pub name: String,
    pub docs: Option<String>,
    /// `Some(wire type)` for an `event`.
    pub event_type: Option<String>,
    pub fields: Vec<FieldDef>,
    pub site: Option<DeclSite>,
    /// Wire name to field index.
    pub by_wire: FxHashMap<String, u32>,
}

impl RecordDef {
    /// The field with this wire name (a short scan beats hashing for small records).
    pub fn field_by_wire(&self, wire: &str) -> Option<u32> {
        if self.fields.len() <= 16 {
            self.fields.iter().position(|f| f.wire == wire).map(|i| i as u32)
        } else {
            self.by_wire.get(wire).copied()
        }
    }
    pub fn field_index(&self, name: &str) -> Option<u32> {
        self.fields.iter().position(|f| f.name == name).map(|i| i as u32)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub name: String,
    pub wire: String,
    pub ty: Ty,
    pub docs: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestDef {
    /// The wire name: a plain destination's name, or `family.WIRE` for a
    /// member of a family (the variant's wire name after a dot).
    pub name: String,
    pub record: RecordId,
    /// For a member of a family: the family's index and the variant's.
    pub member_of: Option<(u32, u32)>,
}

/// A destination family: one member destination per variant of its index enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyDef {
    pub name: String,
    pub index: EnumId,
    pub record: RecordId,
    /// The member of each variant, in variant order.
    pub members: Vec<DestId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub name: String,
    pub record: RecordId,
    /// Indices of the key fields, in key order.
    pub keys: Vec<u32>,
    /// `effective from [to to]`: an effective-dated table (LANGUAGE.md §5.1).
    pub effective: Option<Effective>,
}

/// `calendar name { holidays: t, periods: p, weekend: ... }` (LANGUAGE.md §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDef {
    pub name: String,
    /// A table keyed by (who, date): a row is a holiday of `who`.
    pub holidays: TableId,
    /// An effective-dated table keyed by who, dated by Dates: the fiscal periods.
    pub periods: Option<TableId>,
    /// The weekend: bit `i` set for weekday `i` (Monday 0 … Sunday 6).
    pub weekend: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CalendarId(pub u32);

/// A calendar function (LANGUAGE.md §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarOp {
    /// `is_business_day(cal, who, d) -> Bool`
    IsBusinessDay,
    /// `add_business_days(cal, who, d, n) -> Date`
    AddBusinessDays,
    /// `fiscal_period(cal, who, d) -> Period?`
    FiscalPeriod,
}

/// The validity columns of an effective-dated table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    /// The start column (a required Date or Timestamp field).
    pub from: u32,
    /// The end column (of the start's type, optional: an empty cell is open-ended).
    pub to: Option<u32>,
    /// Whether the columns are Timestamps (else Dates). A Date end is
    /// inclusive, a Timestamp end exclusive.
    pub timestamp: bool,
}

/// The field index a `key` clause holds for a field its record does not
/// have (an E0103): the key keeps its declared length, so lookups are
/// checked against it. Never in a package without errors.
pub const NO_FIELD: u32 = u32::MAX;

/// `state name: Record key field` (LANGUAGE.md §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDef {
    pub name: String,
    pub record: RecordId,
    /// Indices of the key fields, in key order.
    pub keys: Vec<u32>,
    pub docs: Option<String>,
    pub site: Option<DeclSite>,
}

/// What a metric adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    SumInt,
    SumDecimal,
    /// One total per currency.
    SumMoney,
    Count,
}

/// `metric name = sum(state, x => e) where c by f age g > N unit` (LANGUAGE.md §4.6).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    pub name: String,
    pub docs: Option<String>,
    pub state: StateId,
    pub kind: MetricKind,
    /// Slot 0 is the record; the value (a Bool for `count`) and the filter read it.
    pub n_locals: u32,
    pub value: Expr,
    pub filter: Option<Expr>,
    /// Fields of the state's record to group by.
    pub by: Vec<u32>,
    /// `age field > micros`: the Timestamp field and the age in microseconds.
    pub age: Option<(u32, i64)>,
    pub site: Option<DeclSite>,
    pub loc: Loc,
}

/// A compile-time constant.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    None,
    Bool(bool),
    Int(i64),
    Decimal(Decimal),
    Money(Decimal, Currency),
    Currency(Currency),
    Text(Arc<str>),
    Date(Date),
    Timestamp(Timestamp),
    Enum(EnumId, u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    pub name: String,
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
    /// Slots: parameters first, then `let`s and lambda variables.
    pub n_locals: u32,
    pub lets: Vec<(u32, Expr)>,
    pub body: Expr,
    pub site: Option<DeclSite>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hit {
    First,
    Unique,
    /// Every matching row must give the same output (LANGUAGE.md §5.2).
    Any,
    Collect,
    /// `collect sum`, `collect count`, `collect min`, `collect max`.
    CollectAgg(CollectAgg),
}

/// The aggregation of a `collect` decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CollectAgg {
    Sum,
    Count,
    Min,
    Max,
}

impl DecisionDef {
    /// The type of a call of the decision: `List<Out>` under `collect`
    /// (and `output order`), the aggregation's type under `collect sum` and
    /// friends, else the declared result.
    pub fn call_ty(&self) -> Ty {
        let out = self.ret.strip().clone();
        match self.hit {
            Hit::Collect => Ty::list(out),
            Hit::CollectAgg(CollectAgg::Count) => Ty::Int,
            Hit::CollectAgg(CollectAgg::Sum) if out == Ty::Money => Ty::optional(out),
            Hit::CollectAgg(CollectAgg::Sum) => out,
            Hit::CollectAgg(CollectAgg::Min | CollectAgg::Max) => Ty::optional(out),
            _ => self.ret.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecisionDef {
    pub name: String,
    pub params: Vec<(String, Ty)>,
    /// The declared result (`Out` or `Out?`); with `collect` the call has type `List<Out>`.
    pub ret: Ty,
    pub hit: Hit,
    /// For each input column, the parameter it tests.
    pub columns: Vec<u32>,
    /// When the output is a record, its type; the row outputs are its fields in order.
    pub output_record: Option<RecordId>,
    pub rows: Vec<DecisionRow>,
    /// The `default` output: the result when no row matches.
    pub default: Option<Expr>,
    pub n_locals: u32,
    pub site: Option<DeclSite>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    pub cells: Vec<CellTest>,
    pub outputs: Vec<Expr>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CellTest {
    Any,
    /// Equal to one of the values (or, negated, to none of them).
    In {
        values: Vec<Const>,
        negated: bool,
    },
    Cmp {
        op: CmpOp,
        value: Const,
        kind: OrdKind,
    },
    Range {
        lo: Const,
        lo_closed: bool,
        hi: Const,
        hi_closed: bool,
        kind: OrdKind,
    },
    /// An ordered comparison with another parameter of the decision (its slot).
    CmpParam {
        op: CmpOp,
        param: u32,
        kind: OrdKind,
    },
    /// A list of tests, any of which matches (`< 18, >= 60`), tried left to right.
    AnyOf(Vec<CellTest>),
    /// Tests that must all match, left to right (a range with a parameter at an end).
    AllOf(Vec<CellTest>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The comparison as the Money operation a currency mismatch names.
    pub fn money_op(self) -> canon_stdlib::money::MoneyOp {
        use canon_stdlib::money::MoneyOp;
        match self {
            CmpOp::Lt => MoneyOp::Lt,
            CmpOp::Le => MoneyOp::Le,
            CmpOp::Gt => MoneyOp::Gt,
            CmpOp::Ge => MoneyOp::Ge,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandlerDef {
    pub event: RecordId,
    pub event_type: String,
    pub n_locals: u32,
    pub body: Block,
    pub site: Option<DeclSite>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    /// Where the block's `{` is (line 0 for a block the checker made, such
    /// as the arms of a family's `emit`, which coverage does not count).
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RejectInfo {
    pub code: Arc<str>,
    /// A Text expression.
    pub message: Option<Expr>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Let {
        slot: u32,
        value: Expr,
    },
    Check {
        cond: Expr,
        reject: RejectInfo,
    },
    Require {
        cond: Expr,
        reject: RejectInfo,
    },
    Reject(RejectInfo),
    Emit {
        dest: DestId,
        value: Expr,
    },
    If {
        branches: Vec<(Expr, Block)>,
        otherwise: Option<Block>,
    },
    Match {
        scrutinee: Expr,
        arms: Vec<(Vec<Pat>, Block)>,
    },
    /// `for x in xs` or `for i, x in xs` (`index`: the slot of the zero-based position, an Int).
    For {
        slot: u32,
        index: Option<u32>,
        list: Expr,
        body: Block,
    },
    /// `put state record`: the key is the record's key fields.
    Put {
        state: StateId,
        value: Expr,
        loc: Loc,
    },
    /// `update state[keys] { field: e, ... }`: `STATE_NOT_FOUND` when there is no record.
    Update {
        state: StateId,
        keys: Vec<Expr>,
        fields: Vec<(u32, Expr)>,
        loc: Loc,
    },
    /// `delete state[keys]`.
    Delete {
        state: StateId,
        keys: Vec<Expr>,
        loc: Loc,
    },
}

/// A `match` pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Pat {
    Wildcard,
    Const(Const),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    NegInt,
    NegDecimal,
    NegMoney,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    AddInt,
    SubInt,
    MulInt,
    /// Int / Int is Decimal division.
    DivInt,
    AddDecimal,
    SubDecimal,
    MulDecimal,
    DivDecimal,
    AddMoney,
    SubMoney,
    MulMoneyDecimal,
    MulDecimalMoney,
    DivMoneyDecimal,
    DivMoneyMoney,
    Concat,
    Eq,
    Ne,
    Cmp(CmpOp, OrdKind),
    And,
    Or,
}

/// An aggregate (`sum`, `count`, `any`, `all`) and a built-in function, each resolved to one
/// overload; declared with the built-ins in `canon_stdlib::functions`.
pub use canon_stdlib::functions::{Aggregate, Op as Builtin};

#[derive(Debug, Clone, PartialEq)]
pub enum InterpPart {
    Text(Arc<str>),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Const(Const),
    Local(u32),
    /// The event envelope (`meta`).
    Meta,
    /// A field of a record value.
    Field {
        base: Box<Expr>,
        index: u32,
    },
    /// `base?.field`: none when the base is none.
    OptField {
        base: Box<Expr>,
        index: u32,
    },
    Call {
        func: FnId,
        args: Vec<Expr>,
    },
    Decide {
        decision: DecisionId,
        args: Vec<Expr>,
    },
    Builtin {
        op: Builtin,
        args: Vec<Expr>,
    },
    Aggregate {
        op: Aggregate,
        list: Box<Expr>,
        slot: u32,
        body: Box<Expr>,
    },
    Lookup {
        table: TableId,
        keys: Vec<Expr>,
    },
    /// `xs[i]` on a list: the element at the zero-based Int `index`, or none out of range.
    Index {
        list: Box<Expr>,
        index: Box<Expr>,
    },
    /// A calendar function: `args` are who, the date and (for
    /// `add_business_days`) the number of days.
    Calendar {
        op: CalendarOp,
        calendar: CalendarId,
        args: Vec<Expr>,
    },
    /// `table[keys as of at]` on an effective-dated table: the row in force at
    /// `at` (a Date or Timestamp, the type of the table's columns), or none.
    LookupAsOf {
        table: TableId,
        keys: Vec<Expr>,
        at: Box<Expr>,
    },
    /// `state[keys]`: the record, or none (sees the event's own earlier writes).
    StateGet {
        state: StateId,
        keys: Vec<Expr>,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Coalesce {
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    In {
        value: Box<Expr>,
        list: Box<Expr>,
        negated: bool,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Match {
        scrutinee: Box<Expr>,
        arms: Vec<(Vec<Pat>, Expr)>,
    },
    Record {
        record: RecordId,
        fields: Vec<Expr>,
    },
    List(Vec<Expr>),
    Interp(Vec<InterpPart>),
    IntToDecimal(Box<Expr>),
    /// Stands where an error was reported; never run (the package does not run).
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestDef {
    pub name: String,
    pub loc: Loc,
    pub n_locals: u32,
    pub stmts: Vec<TestStmt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Accepted,
    Rejected,
    Ignored,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TestStmt {
    Let {
        slot: u32,
        value: Expr,
    },
    Assert {
        cond: Expr,
        loc: Loc,
        text: String,
    },
    /// The event's data, built in the test.
    Given {
        event: RecordId,
        data: Expr,
    },
    /// A CloudEvents JSON file, relative to the package root.
    GivenFile {
        path: String,
        loc: Loc,
    },
    With {
        table: TableId,
        rows: Vec<Expr>,
    },
    /// `with state [records]`: the state's records before the next events.
    WithState {
        state: StateId,
        rows: Vec<Expr>,
    },
    /// `expect state s[k] R { ... }` (`fields` as for `ExpectEmit`), or with
    /// `record` `None`, `expect no state s[k]`.
    ExpectState {
        state: StateId,
        keys: Vec<Expr>,
        record: Option<(RecordId, Vec<Option<Expr>>)>,
        loc: Loc,
        text: String,
    },
    ExpectStatus {
        status: Status,
        loc: Loc,
    },
    /// `expect reject CODE "message" times N`: without `times`, at least
    /// one rejection with the code (and a matching message); with it,
    /// exactly `N`.
    ExpectReject {
        code: String,
        message: Option<(MessageMatch, String)>,
        times: Option<u32>,
        loc: Loc,
    },
    /// `expect exactly { emit ... }`: the emits, all of them, in order.
    ExpectExactly {
        emits: Vec<ExpectedEmit>,
        loc: Loc,
    },
    /// Fields left out by `..` are `None`.
    ExpectEmit {
        dest: DestId,
        record: RecordId,
        fields: Vec<Option<Expr>>,
        loc: Loc,
        text: String,
    },
    /// `expect no emit d`: none to any of `dests` (a family's members, or one).
    ExpectNoEmit {
        dests: Vec<DestId>,
        name: String,
        loc: Loc,
    },
}

pub use crate::syntax::ast::MessageMatch;

/// One emit of `expect exactly`: fields left out by `..` are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedEmit {
    pub dest: DestId,
    pub record: RecordId,
    pub fields: Vec<Option<Expr>>,
    pub text: String,
}
