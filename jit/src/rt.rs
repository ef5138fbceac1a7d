//! What JIT code runs against: the per-event context and the `extern "C"`
//! helpers. Every helper has the same ABI ([`HelperFn`]), and all of them
//! are listed once in [`helpers!`], each with its shape (the cells it reads
//! and writes) and the type of its `aux`; the list generates their symbol
//! registrations and the typed constants of [`helpers`] the code generator
//! calls them through (as wasmtime's builtin list does).
//!
//! A helper never panics or unwinds: it returns 0, or 1 after leaving a
//! pending fault in the context; the JIT code then calls `fault_at` with the
//! source location and returns.

use std::sync::Arc;

use bumpalo::Bump;
use canon_compiler::ir::{self, Builtin, CmpOp, Loc};
use canon_compiler::types::{OrdKind, Ty};
use canon_runtime::dindex::{self, DecisionIndexes};
use canon_runtime::outcome::{Rejection, TraceEvent, WriteRecords};
use canon_runtime::state::{self, Txn};
use canon_runtime::value::KeyPart;
use canon_runtime::{encode, Value};
use canon_stdlib::functions::sort_by::{self, SortKey};
use canon_stdlib::functions::{allocate, distinct as distinct_fn, first, last, minor_units, round, sum};
use canon_stdlib::money::{self, MoneyOp};
use canon_stdlib::{num, text, time, Currency, Date, Fault, Rounding, Timestamp};

use crate::cell::{from_cell, text_cell, to_cell, view_cell, Cell};

/// Everything compiled code refers to by index: types, locations, rejection
/// sites, builtins, and the tables as cells. Immutable after compilation.
pub struct Shared {
    pub pkg: Arc<ir::Package>,
    pub types: Vec<Ty>,
    pub locs: Vec<Loc>,
    pub rejects: Vec<RejectSite>,
    pub builtins: Vec<Builtin>,
    pub tables: Vec<TableIndex>,
    /// Every read and write of state in the package's bodies.
    pub state_sites: Vec<StateSite>,
    /// The package declares state: each event reads and writes it through a `Txn`.
    pub has_state: bool,
    /// Compiled with lineage: decision rows report themselves, and helpers
    /// record lookups, rejections and emits in `Ctx::trace`.
    pub traced: bool,
    /// Memory behind constant and table cells (never freed while compiled code lives).
    pub store: Store,
    /// The indexes of the large decision tables, shared with the
    /// interpreter's code (`canon_runtime::dindex`): a table of at least
    /// `min_rows()` rows is matched by `decision_next`, not by inline code.
    pub decisions: Arc<DecisionIndexes>,
    /// The package's field keys, variants and destinations as JSON text,
    /// escaped once (`native::encode`).
    pub names: canon_runtime::encode::Names,
}

/// A `reject` (or failed `check`/`require`) in the source: its code and location.
#[derive(Clone)]
pub struct RejectSite {
    pub code: Arc<str>,
    pub loc: Loc,
}

/// A read or write of state in the source: what the helper needs beyond its cells.
#[derive(Clone, Debug)]
pub struct StateSite {
    pub state: ir::StateId,
    /// The types of the key expressions, in key order (a `put` has none: its
    /// key is the record's).
    pub keys: Vec<Ty>,
    /// An `update`: the fields it sets, with the types of their expressions,
    /// in the order written.
    pub fields: Vec<(u32, Ty)>,
    /// The statement or expression.
    pub loc: Loc,
}

/// A table's rows by key, as cells.
pub enum TableIndex {
    /// One Text key: looked up by the key's text, without building a key value.
    Text(rustc_hash::FxHashMap<Box<str>, Cell>),
    General(rustc_hash::FxHashMap<Vec<KeyPart>, Cell>),
    /// An effective-dated table with one Text key: each key's history sorted by start.
    DatedText(rustc_hash::FxHashMap<Box<str>, Vec<DatedCell>>),
    /// An effective-dated table: each key's history sorted by start.
    Dated(rustc_hash::FxHashMap<Vec<KeyPart>, Vec<DatedCell>>),
}

/// A row of an effective-dated table's history (as `canon_runtime::tables::DatedRow`).
#[derive(Clone, Copy)]
pub struct DatedCell {
    pub from: i64,
    pub until: Option<i64>,
    pub row: Cell,
}

/// Owned memory for long-lived cells and text.
#[derive(Default)]
pub struct Store {
    cells: Vec<Box<[Cell]>>,
    words: Vec<Box<[u32]>>,
    /// The texts and record and list cells of owned values (a table's
    /// rows, constants): never reset, so what it holds stays where it is.
    owned: Bump,
    /// Where `cell_of` builds a value before owning it, reset each time.
    scratch: Bump,
}

impl Store {
    /// Keeps constant cells (a large decision's outputs, by row) alive; their address.
    pub fn keep_cells(&mut self, xs: Vec<Cell>) -> usize {
        let b = xs.into_boxed_slice();
        let at = b.as_ptr() as usize;
        self.cells.push(b);
        at
    }

    /// Keeps a constant array (a decision's index) alive; its address.
    pub fn keep_u32(&mut self, xs: Vec<u32>) -> usize {
        let b = xs.into_boxed_slice();
        let at = b.as_ptr() as usize;
        self.words.push(b);
        at
    }

    pub fn cell_of(&mut self, pkg: &ir::Package, ty: &Ty, v: &Value) -> Cell {
        // Build in the scratch arena, then copy into the owned one (a
        // 2,000-row table cost a fresh arena and a box per text and row).
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.reset();
        let c = to_cell(pkg, &scratch, ty, v);
        let owned = self.own(pkg, ty, &c);
        self.scratch = scratch;
        owned
    }

    /// Deep-copies a cell (and what it points to) into owned memory.
    fn own(&mut self, pkg: &ir::Package, ty: &Ty, c: &Cell) -> Cell {
        if c.is_none() {
            return *c;
        }
        match ty.strip() {
            Ty::Text => {
                // SAFETY: `c` was just built by `to_cell` from a live value.
                let s: &str = self.owned.alloc_str(unsafe { c.text() });
                Cell::from_text(s, canon_runtime::encode::is_plain(s))
            }
            Ty::Record(r) => {
                let Some(def) = pkg.record(*r) else { return Cell::none() };
                // SAFETY: as above.
                let src = unsafe { c.cells(def.fields.len()) };
                let owned: Vec<Cell> =
                    def.fields.iter().zip(src.iter()).map(|(f, x)| self.own(pkg, &f.ty, x)).collect();
                let b = self.owned.alloc_slice_copy(&owned);
                Cell::from_parts(b.as_ptr() as usize, 0)
            }
            Ty::List(elem) => {
                // SAFETY: as above.
                let src = unsafe { c.cells(c.len()) };
                let owned: Vec<Cell> = src.iter().map(|x| self.own(pkg, elem, x)).collect();
                let b = self.owned.alloc_slice_copy(&owned);
                Cell::from_parts(b.as_ptr() as usize, b.len())
            }
            _ => *c,
        }
    }
}

/// The per-event context passed to compiled code.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub arena: Bump,
    pub emits: Vec<(u32, Cell)>,
    pub rejections: Vec<Rejection>,
    pub pending: Option<Fault>,
    pub fault: Option<canon_runtime::outcome::Fault>,
    /// The interpolations being built, innermost last: `texts[..text_depth]`
    /// (the strings past it are kept for their capacity).
    pub texts: Vec<String>,
    pub text_depth: usize,
    /// The lineage of the event, when it is being traced.
    pub trace: Option<Vec<TraceEvent>>,
    /// Traced, the records of its `write` steps as values (their steps
    /// without the JSON text), when the caller packs them itself.
    pub write_records: Option<Vec<WriteRecords>>,
    /// The event's reads and writes of state (a package with `state`).
    pub txn: Option<&'a Txn<'a>>,
    /// Records read from state, kept alive for the event: the cells they
    /// were read into borrow their text.
    pub kept: Vec<Value>,
    /// The key and record an `update` found, until it writes.
    pub found: Option<(state::Key, Arc<[Value]>)>,
}

/// The per-thread memory of a context, reused event after event.
#[derive(Default)]
struct Pooled {
    arena: Bump,
    emits: Vec<(u32, Cell)>,
    texts: Vec<String>,
    kept: Vec<Value>,
}

thread_local! {
    static POOL: std::cell::RefCell<Option<Pooled>> = const { std::cell::RefCell::new(None) };
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        let mut p = Pooled {
            arena: std::mem::take(&mut self.arena),
            emits: std::mem::take(&mut self.emits),
            texts: std::mem::take(&mut self.texts),
            kept: std::mem::take(&mut self.kept),
        };
        p.arena.reset();
        p.emits.clear();
        p.kept.clear();
        // While the thread exits, the pool is gone: the memory is simply freed.
        POOL.try_with(|a| *a.borrow_mut() = Some(p)).ok();
    }
}

impl<'a> Ctx<'a> {
    pub fn new(shared: &'a Shared) -> Ctx<'a> {
        let p = POOL.try_with(|a| a.borrow_mut().take()).ok().flatten().unwrap_or_default();
        Ctx {
            shared,
            arena: p.arena,
            emits: p.emits,
            rejections: Vec::new(),
            pending: None,
            fault: None,
            texts: p.texts,
            text_depth: 0,
            trace: None,
            write_records: None,
            txn: None,
            kept: p.kept,
            found: None,
        }
    }
}

/// The one ABI of every helper: `(ctx, a, b, c, dst, aux) -> status`. `a`,
/// `b`, `c` point to argument cells (or are null), `dst` to the result cell
/// (or is null), and `aux` is a compile-time constant whose meaning the
/// helper's [`Aux`] type gives. The status is 0, or 1 with a pending fault.
pub type HelperFn = extern "C" fn(*mut Ctx<'_>, *const Cell, *const Cell, *const Cell, *mut Cell, i64) -> i32;

/// What a helper's `aux` argument means, and how it is packed into the
/// `i64` the helper receives: the code generator encodes, the helper
/// decodes, both through this one impl.
pub trait Aux: Copy {
    fn encode(self) -> i64;
    fn decode(raw: i64) -> Self;
}

/// No `aux` (0 is passed).
impl Aux for () {
    fn encode(self) -> i64 {
        0
    }
    fn decode(_: i64) -> Self {}
}

/// Defines `u32` index types into the tables of [`Shared`] and the package.
macro_rules! index_aux {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub u32);

        impl Aux for $name {
            fn encode(self) -> i64 {
                i64::from(self.0)
            }
            fn decode(raw: i64) -> Self {
                $name(raw as u32)
            }
        }

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

index_aux! {
    /// An index into [`Shared::types`].
    TypeIndex,
    /// An index into [`Shared::locs`].
    LocIndex,
    /// An index into [`Shared::rejects`].
    RejectIndex,
    /// An index into [`Shared::builtins`].
    BuiltinIndex,
    /// An index into the package's decisions.
    DecisionIndex,
    /// An index into [`Shared::state_sites`].
    StateSiteIndex,
}

/// How many cells to allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellCount(pub usize);

impl Aux for CellCount {
    fn encode(self) -> i64 {
        self.0 as i64
    }
    fn decode(raw: i64) -> Self {
        CellCount(raw.max(0) as usize)
    }
}

/// An ordering comparison: the kind of values ordered, and the operator
/// that asks (which a currency mismatch names). Packed as the kind's code
/// in bits 0..8 and the operator's in bits 8..16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub kind: OrdKind,
    pub op: CmpOp,
}

impl Aux for Comparison {
    fn encode(self) -> i64 {
        let op = match self.op {
            CmpOp::Lt => 0,
            CmpOp::Le => 1,
            CmpOp::Gt => 2,
            CmpOp::Ge => 3,
        };
        let kind = match self.kind {
            OrdKind::Int => 0,
            OrdKind::Decimal => 1,
            OrdKind::Money => 2,
            OrdKind::Date => 3,
            OrdKind::Timestamp => 4,
            OrdKind::Text => 5,
        };
        kind | (op << 8)
    }
    fn decode(raw: i64) -> Self {
        let kind = match raw & 0xff {
            1 => OrdKind::Decimal,
            2 => OrdKind::Money,
            3 => OrdKind::Date,
            4 => OrdKind::Timestamp,
            5 => OrdKind::Text,
            _ => OrdKind::Int,
        };
        let op = match raw >> 8 {
            1 => CmpOp::Le,
            2 => CmpOp::Gt,
            3 => CmpOp::Ge,
            _ => CmpOp::Lt,
        };
        Comparison { kind, op }
    }
}

/// How `sort_by` orders: the kind of its keys and the direction. Packed as
/// the kind's code (as [`Comparison`]'s) in bits 0..8 and 1 for descending in bit 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortSpec {
    pub kind: OrdKind,
    pub descending: bool,
}

impl Aux for SortSpec {
    fn encode(self) -> i64 {
        Comparison { kind: self.kind, op: CmpOp::Lt }.encode() | (i64::from(self.descending) << 8)
    }
    fn decode(raw: i64) -> Self {
        SortSpec { kind: Comparison::decode(raw & 0xff).kind, descending: raw & 0x100 != 0 }
    }
}

/// Two `u32` halves of an `aux`: the first in the low 32 bits.
fn pack(low: u32, high: u32) -> i64 {
    i64::from(low) | (i64::from(high) << 32)
}

fn unpack(raw: i64) -> (u32, u32) {
    ((raw & 0xffff_ffff) as u32, (raw >> 32) as u32)
}

/// The types of the two cells an equality compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypePair {
    pub left: TypeIndex,
    pub right: TypeIndex,
}

impl Aux for TypePair {
    fn encode(self) -> i64 {
        pack(self.left.0, self.right.0)
    }
    fn decode(raw: i64) -> Self {
        let (left, right) = unpack(raw);
        TypePair { left: TypeIndex(left), right: TypeIndex(right) }
    }
}

/// A table lookup: the table, and how many key cells `a` points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableLookup {
    pub table: ir::TableId,
    pub keys: u32,
}

impl Aux for TableLookup {
    fn encode(self) -> i64 {
        pack(self.table.0, self.keys)
    }
    fn decode(raw: i64) -> Self {
        let (table, keys) = unpack(raw);
        TableLookup { table: ir::TableId(table), keys }
    }
}

/// A calendar function (LANGUAGE.md §5.3): which, of which calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalendarCall {
    pub calendar: ir::CalendarId,
    pub op: ir::CalendarOp,
}

impl Aux for CalendarCall {
    fn encode(self) -> i64 {
        let op = match self.op {
            ir::CalendarOp::IsBusinessDay => 0,
            ir::CalendarOp::AddBusinessDays => 1,
            ir::CalendarOp::FiscalPeriod => 2,
        };
        pack(self.calendar.0, op)
    }
    fn decode(raw: i64) -> Self {
        let (calendar, op) = unpack(raw);
        let op = match op {
            0 => ir::CalendarOp::IsBusinessDay,
            1 => ir::CalendarOp::AddBusinessDays,
            _ => ir::CalendarOp::FiscalPeriod,
        };
        CalendarCall { calendar: ir::CalendarId(calendar), op }
    }
}

/// An emit: its destination, and the location of the emitted value (for the lineage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmitSite {
    pub destination: ir::DestId,
    pub value_at: LocIndex,
}

impl Aux for EmitSite {
    fn encode(self) -> i64 {
        pack(self.destination.0, self.value_at.0)
    }
    fn decode(raw: i64) -> Self {
        let (destination, value_at) = unpack(raw);
        EmitSite { destination: ir::DestId(destination), value_at: LocIndex(value_at) }
    }
}

/// A decision row that matched (0-based), for the lineage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchedRow {
    pub decision: DecisionIndex,
    pub row: u32,
}

impl Aux for MatchedRow {
    fn encode(self) -> i64 {
        pack(self.decision.0, self.row)
    }
    fn decode(raw: i64) -> Self {
        let (decision, row) = unpack(raw);
        MatchedRow { decision: DecisionIndex(decision), row }
    }
}

/// Defines the shapes of helper calls: which of `a`, `b`, `c` and `dst` a
/// helper reads or writes, each a type parameterised by the helper's
/// [`Aux`]. A helper of a shape can only be called through that shape's
/// call in the code generator (`codegen/cells.rs`), with that many cells
/// and that `aux`.
macro_rules! shapes {
    ($($(#[$doc:meta])* $shape:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $shape<A: Aux = ()>(Helper, std::marker::PhantomData<A>);

        impl<A: Aux> Clone for $shape<A> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<A: Aux> Copy for $shape<A> {}

        impl<A: Aux> $shape<A> {
            const fn new(helper: Helper) -> Self {
                $shape(helper, std::marker::PhantomData)
            }
            pub fn helper(self) -> Helper {
                self.0
            }
        }
    )*};
}

shapes! {
    /// Reads no cell, writes `dst`.
    ToCell,
    /// Reads `a`, writes `dst`.
    OneToCell,
    /// Reads `a` and `b`, writes `dst`.
    TwoToCell,
    /// Reads those of `a`, `b` and `c` that are not null, writes `dst`.
    ArgsToCell,
    /// Reads nothing, writes nothing (an effect on the context).
    Effect,
    /// Reads `a`, writes nothing.
    TakesOne,
    /// Reads `a` when it is not null, writes nothing.
    TakesOptional,
    /// Reads `a`, `b` and `c`, writes nothing.
    TakesThree,
}

/// The single list of helpers: each with its shape (which cells it reads
/// and writes) and the type of its `aux`. From it come the [`Helper`] enum,
/// the symbols and addresses registered with the JIT, and the typed
/// constants of [`helpers`] through which the code generator calls them.
macro_rules! helpers {
    ($($(#[$doc:meta])* $name:ident: $shape:ident $(<$aux:ty>)?),* $(,)?) => {
        /// Every runtime helper JIT code may call.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types)]
        pub enum Helper { $($name),* }

        impl Helper {
            pub const ALL: &'static [Helper] = &[$(Helper::$name),*];
            /// The symbol it is registered under.
            pub fn symbol(self) -> &'static str {
                match self { $(Helper::$name => concat!("canon_", stringify!($name))),* }
            }
            /// Its address.
            pub fn address(self) -> *const u8 {
                match self { $(Helper::$name => { let f: HelperFn = $name; f as *const u8 }),* }
            }
        }

        /// Each helper as a typed value: its shape and its `aux`.
        #[allow(non_upper_case_globals)]
        pub mod helpers {
            use super::*;
            $(
                $(#[$doc])*
                pub const $name: $shape $(<$aux>)? = $shape::new(Helper::$name);
            )*
        }
    };
}

helpers! {
    /// Decimal `a + b`.
    dec_add: TwoToCell,
    /// Decimal `a - b`.
    dec_sub: TwoToCell,
    /// Decimal `a * b`.
    dec_mul: TwoToCell,
    /// Decimal `a / b`.
    dec_div: TwoToCell,
    /// Int `a / b`, a Decimal.
    int_div: TwoToCell,
    /// The Int `a` as a Decimal (none stays none).
    int_to_dec: OneToCell,
    /// Decimal `-a`.
    neg_dec: OneToCell,
    /// Money `a + b`.
    money_add: TwoToCell,
    /// Money `a + b` within a `sum` (its own currency-mismatch fault).
    money_sum_add: TwoToCell,
    /// Money `a - b`.
    money_sub: TwoToCell,
    /// Money `a` times Decimal `b`.
    money_mul_dec: TwoToCell,
    /// Decimal `a` times Money `b`.
    dec_mul_money: TwoToCell,
    /// Money `a` divided by Decimal `b`.
    money_div_dec: TwoToCell,
    /// Money `a` divided by Money `b`: a Decimal.
    money_div_money: TwoToCell,
    /// Money `-a`.
    neg_money: OneToCell,
    /// Text `a ++ b`.
    concat: TwoToCell,
    /// Orders `a` and `b`: -1, 0 or 1 as an Int cell.
    cmp: TwoToCell<Comparison>,
    /// Equality of `a` and `b`, each read as its own type: a Bool cell.
    eq: TwoToCell<TypePair>,
    /// A built-in function on up to three arguments.
    builtin: ArgsToCell<BuiltinIndex>,
    /// Looks a row up; `a` points to the key cells.
    lookup: OneToCell<TableLookup>,
    /// Looks up the row of an effective-dated table in force at `b` (a
    /// Date or Timestamp); `a` points to the key cells.
    lookup_as_of: TwoToCell<TableLookup>,
    /// A calendar function: `a` who, `b` the date, `c` the number of days.
    calendar: ArgsToCell<CalendarCall>,
    /// Allocates zeroed cells in the event arena: (pointer, count).
    alloc: ToCell<CellCount>,
    /// Allocates as many zeroed cells as the Int `a` says (a list being built): (pointer, count).
    alloc_cells: OneToCell,
    /// `sort_by`: the list `a` ordered by the keys `b` (a list as long, in list order); a new list.
    sort_by: TwoToCell<SortSpec>,
    /// `distinct`: the list `a` (of elements of the given type) without repeats; a new list.
    distinct: OneToCell<TypeIndex>,
    /// Begins an interpolation.
    text_begin: Effect,
    /// Appends the constant Text `a` to the interpolation.
    text_lit: TakesOne,
    /// Appends the interpolation text of `a`, a value of the given type.
    text_value: TakesOne<TypeIndex>,
    /// Ends the interpolation: its Text.
    text_end: ToCell,
    /// Records a rejection; `a` is its message, or null for the code.
    reject: TakesOptional<RejectIndex>,
    /// Queues an emit of `a`.
    emit: TakesOne<EmitSite>,
    /// Lineage: a decision row matched.
    trace_row: Effect<MatchedRow>,
    /// Leaves an `INTEGER_OVERFLOW` pending (inline Int arithmetic overflowed).
    fault_int: Effect,
    /// Turns the pending fault into the final one, at the location.
    fault_at: Effect<LocIndex>,
    /// `hit unique` matched two rows: `a`, `b` hold the row indices, `c` the call's location index.
    decision_conflict: TakesThree<DecisionIndex>,
    /// No row matched a decision with a required result; `a` holds the call's location index.
    decision_no_row: TakesOne<DecisionIndex>,
    /// A large decision: the first row at or after the Int `b` that matches
    /// the parameter cells `a` points to (an Int, -1 for none), read through
    /// its index as the interpreter reads it; a fault of a cell is final.
    decision_next: TwoToCell<DecisionIndex>,
    /// A large decision: how many rows its index leaves to test for the
    /// parameter cells `a` points to (at least as many as can match).
    decision_bound: OneToCell<DecisionIndex>,
    /// A large decision under `collect sum/count/min/max`: the output `b` of
    /// the row whose index the Int `c` holds, accumulated into `a`; a fault is
    /// final, at the row.
    decision_agg: ArgsToCell<DecisionIndex>,
    /// Lineage: the row of a large decision whose index `a` holds matched.
    trace_row_at: TakesOne<DecisionIndex>,
    /// Reads state: `a` points to the key cells; the record, or none.
    state_get: OneToCell<StateSiteIndex>,
    /// `put`: writes the record `a` under its key.
    state_put: TakesOne<StateSiteIndex>,
    /// `update`, first half: finds the record at the keys `a` points to; a
    /// final `STATE_NOT_FOUND` fault when there is none.
    state_find: TakesOne<StateSiteIndex>,
    /// `update`, second half: writes the record found with its fields set
    /// to the cells `a` points to.
    state_update: TakesOne<StateSiteIndex>,
    /// `delete`: removes the record at the keys `a` points to, if any.
    state_delete: TakesOne<StateSiteIndex>,
}

// ------------------------------------------------------------------ plumbing

/// Runs a helper body, turning a stdlib fault into a pending fault and a
/// status, and a panic (a bug) into a fault rather than an unwind.
fn guard(ctx: *mut Ctx<'_>, dst: *mut Cell, f: impl FnOnce(&mut Ctx<'_>) -> Result<Cell, Fault>) -> i32 {
    // SAFETY: compiled code always passes the live context of this event.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else { return 1 };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(ctx)));
    match r {
        Ok(Ok(c)) => {
            if !dst.is_null() {
                // SAFETY: `dst` is a cell of the caller's frame or arena.
                unsafe { *dst = c };
            }
            0
        }
        Ok(Err(fault)) => {
            ctx.pending = Some(fault);
            1
        }
        Err(_) => {
            ctx.pending = Some(Fault::InvalidArgument("internal error in a JIT helper".into()));
            1
        }
    }
}

/// The cell an argument points to (none when null).
fn cell_arg<'c>(p: *const Cell) -> &'c Cell {
    // SAFETY: compiled code passes pointers to live cells, or null.
    unsafe { p.as_ref() }.unwrap_or(&Cell::NONE)
}

fn ty_of<'s>(ctx: &'s Ctx<'_>, ty: TypeIndex) -> &'s Ty {
    ctx.shared.types.get(ty.index()).unwrap_or(&Ty::Error)
}

fn money_of(c: &Cell) -> (canon_stdlib::Decimal, Currency) {
    (c.decimal(), c.currency_at(16))
}

// ------------------------------------------------------------------ arithmetic

macro_rules! two_cell_helper {
    ($name:ident, $op:expr) => {
        extern "C" fn $name(
            ctx: *mut Ctx<'_>,
            a: *const Cell,
            b: *const Cell,
            _c: *const Cell,
            dst: *mut Cell,
            _aux: i64,
        ) -> i32 {
            guard(ctx, dst, |_| $op(cell_arg(a), cell_arg(b)))
        }
    };
}

two_cell_helper!(dec_add, |a: &Cell, b: &Cell| num::add(a.decimal(), b.decimal()).map(Cell::from_decimal));
two_cell_helper!(dec_sub, |a: &Cell, b: &Cell| num::sub(a.decimal(), b.decimal()).map(Cell::from_decimal));
two_cell_helper!(dec_mul, |a: &Cell, b: &Cell| num::mul(a.decimal(), b.decimal()).map(Cell::from_decimal));
two_cell_helper!(dec_div, |a: &Cell, b: &Cell| num::div(a.decimal(), b.decimal()).map(Cell::from_decimal));
two_cell_helper!(int_div, |a: &Cell, b: &Cell| num::int_div(a.i64(), b.i64()).map(Cell::from_decimal));
two_cell_helper!(int_to_dec, |a: &Cell, _b: &Cell| Ok(if a.is_none() {
    Cell::none()
} else {
    Cell::from_decimal(num::from_int(a.i64()))
}));
two_cell_helper!(neg_dec, |a: &Cell, _b: &Cell| Ok(Cell::from_decimal(num::neg(a.decimal()))));
two_cell_helper!(money_add, |a: &Cell, b: &Cell| money::add(money_of(a), money_of(b))
    .map(|m| Cell::from_money(m.0, m.1)));
two_cell_helper!(money_sum_add, |a: &Cell, b: &Cell| sum::add_money(money_of(a), money_of(b))
    .map(|m| Cell::from_money(m.0, m.1)));
two_cell_helper!(money_sub, |a: &Cell, b: &Cell| money::sub(money_of(a), money_of(b))
    .map(|m| Cell::from_money(m.0, m.1)));
two_cell_helper!(money_mul_dec, |a: &Cell, b: &Cell| money::mul(money_of(a), b.decimal())
    .map(|m| Cell::from_money(m.0, m.1)));
two_cell_helper!(dec_mul_money, |a: &Cell, b: &Cell| money::mul(money_of(b), a.decimal())
    .map(|m| Cell::from_money(m.0, m.1)));
two_cell_helper!(money_div_dec, |a: &Cell, b: &Cell| money::div(money_of(a), b.decimal())
    .map(|m| Cell::from_money(m.0, m.1)));
two_cell_helper!(money_div_money, |a: &Cell, b: &Cell| money::div_money(money_of(a), money_of(b))
    .map(Cell::from_decimal));
two_cell_helper!(neg_money, |a: &Cell, _b: &Cell| Ok({
    let (d, c) = money_of(a);
    Cell::from_money(num::neg(d), c)
}));

extern "C" fn concat(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    _aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        // SAFETY: Text cells point to live UTF-8.
        let (x, y) = unsafe { (cell_arg(a).text(), cell_arg(b).text()) };
        let mut s = String::with_capacity(x.len() + y.len());
        s.push_str(x);
        s.push_str(y);
        Ok(text_cell(&ctx.arena, &s))
    })
}

/// Orders two values of an ordered type; writes -1, 0 or 1 as an Int cell.
extern "C" fn cmp(ctx: *mut Ctx<'_>, a: *const Cell, b: *const Cell, _c: *const Cell, dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, dst, |_| {
        let (x, y) = (cell_arg(a), cell_arg(b));
        let comparison = Comparison::decode(aux);
        let o = match comparison.kind {
            OrdKind::Int => x.i64().cmp(&y.i64()),
            OrdKind::Decimal => num::cmp(&x.decimal(), &y.decimal()),
            OrdKind::Money => money::cmp(money_of(x), money_of(y), comparison.op.money_op())?,
            OrdKind::Date => x.i32().cmp(&y.i32()),
            OrdKind::Timestamp => x.i64().cmp(&y.i64()),
            // SAFETY: Text cells point to live UTF-8.
            OrdKind::Text => unsafe { text::cmp(x.text(), y.text()) },
        };
        Ok(Cell::from_i64(o as i64))
    })
}

/// Equality of LANGUAGE.md §3 of a value of one type and one of another; writes a Bool cell.
extern "C" fn eq(ctx: *mut Ctx<'_>, a: *const Cell, b: *const Cell, _c: *const Cell, dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, dst, |ctx| {
        let types = TypePair::decode(aux);
        let ty = ty_of(ctx, types.left).clone();
        let rty = ty_of(ctx, types.right).clone();
        Ok(Cell::from_bool(cells_equal(ctx, &ty, &rty, cell_arg(a), cell_arg(b))))
    })
}

/// Equality of LANGUAGE.md §3 of the cell `x`, of type `ty`, and `y`, of type `rty`.
fn cells_equal(ctx: &Ctx<'_>, ty: &Ty, rty: &Ty, x: &Cell, y: &Cell) -> bool {
    {
        if x.is_none() || y.is_none() {
            x.is_none() && y.is_none()
        } else if ty.strip() != rty.strip() {
            let pkg = &ctx.shared.pkg;
            // SAFETY: each cell is a live value of its own type.
            unsafe { from_cell(pkg, ty, x) == from_cell(pkg, rty, y) }
        } else {
            match ty.strip() {
                // SAFETY: Text cells point to live UTF-8.
                Ty::Text => unsafe { x.text() == y.text() },
                Ty::Decimal => num::cmp(&x.decimal(), &y.decimal()).is_eq(),
                Ty::Money => money::eq(money_of(x), money_of(y)),
                Ty::Bool => x.u8() == y.u8(),
                Ty::Int | Ty::Timestamp => x.i64() == y.i64(),
                Ty::Date | Ty::Enum(_) | Ty::Currency => x.u32() == y.u32(),
                _ => {
                    let pkg = &ctx.shared.pkg;
                    // SAFETY: both cells are live values of `ty`.
                    unsafe { from_cell(pkg, ty, x) == from_cell(pkg, ty, y) }
                }
            }
        }
    }
}

// ------------------------------------------------------------------ built-ins

fn rounding(c: &Cell) -> Rounding {
    Rounding::from_index(c.u32()).unwrap_or(Rounding::HalfEven)
}

/// A built-in function.
extern "C" fn builtin(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    b: *const Cell,
    c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        let Some(op) = ctx.shared.builtins.get(BuiltinIndex::decode(aux).index()) else {
            return Err(Fault::InvalidArgument("unknown built-in".into()));
        };
        let (x, y, z) = (cell_arg(a), cell_arg(b), cell_arg(c));
        // SAFETY (text reads below): Text cells point to live UTF-8.
        Ok(match op {
            Builtin::RoundDecimal => Cell::from_decimal(num::round(x.decimal(), y.i64(), rounding(z))?),
            Builtin::RoundMoney => {
                let (d, cur) = money_of(x);
                Cell::from_money(num::round(d, y.i64(), rounding(z))?, cur)
            }
            Builtin::RoundMoneyToUnit => {
                let (d, cur) = round::round_money_to_unit(money_of(x), rounding(y))?;
                Cell::from_money(d, cur)
            }
            Builtin::MinorUnits => Cell::from_i64(minor_units::minor_units(x.currency_at(0))?),
            Builtin::Allocate => {
                // SAFETY: a List<Decimal> cell points to `len` live Decimal cells.
                let ws: Vec<canon_stdlib::Decimal> = unsafe { y.cells(y.len()) }.iter().map(Cell::decimal).collect();
                money_cells(&ctx.arena, allocate::allocate(money_of(x), &ws)?)
            }
            Builtin::AllocateInt => {
                // SAFETY: a List<Int> cell points to `len` live Int cells.
                let ws: Vec<i64> = unsafe { y.cells(y.len()) }.iter().map(Cell::i64).collect();
                money_cells(&ctx.arena, allocate::allocate_int(money_of(x), &ws)?)
            }
            Builtin::AllocateEven => money_cells(&ctx.arena, allocate::allocate_even(money_of(x), y.i64())?),
            Builtin::AbsInt => Cell::from_i64(num::int_abs(x.i64())?),
            Builtin::AbsDecimal => Cell::from_decimal(num::abs(x.decimal())),
            Builtin::AbsMoney => {
                let (d, cur) = money_of(x);
                Cell::from_money(num::abs(d), cur)
            }
            Builtin::Min(k) | Builtin::Max(k) => {
                let o = match k {
                    OrdKind::Int | OrdKind::Timestamp => x.i64().cmp(&y.i64()),
                    OrdKind::Date => x.i32().cmp(&y.i32()),
                    OrdKind::Decimal => num::cmp(&x.decimal(), &y.decimal()),
                    OrdKind::Money => {
                        let op = if matches!(op, Builtin::Min(_)) { MoneyOp::Min } else { MoneyOp::Max };
                        money::cmp(money_of(x), money_of(y), op)?
                    }
                    OrdKind::Text => unsafe { text::cmp(x.text(), y.text()) },
                };
                let first = if matches!(op, Builtin::Min(_)) { o.is_le() } else { o.is_ge() };
                if first {
                    *x
                } else {
                    *y
                }
            }
            Builtin::Money => Cell::from_money(num::normalize_zero(x.decimal()), y.currency_at(0)),
            Builtin::Amount => Cell::from_decimal(x.decimal()),
            Builtin::Currency => Cell::from_currency(x.currency_at(16)),
            Builtin::Convert => Cell::from_money(num::mul(x.decimal(), z.decimal())?, y.currency_at(0)),
            Builtin::LenText => Cell::from_i64(text::len(unsafe { x.text() })),
            Builtin::LenList => Cell::from_i64(x.len() as i64),
            // SAFETY: a List cell points to its `len` live cells.
            Builtin::First => first::first(unsafe { x.cells(x.len()) }).copied().unwrap_or_else(Cell::none),
            Builtin::Last => last::last(unsafe { x.cells(x.len()) }).copied().unwrap_or_else(Cell::none),
            // Lowered to the `distinct` helper, which knows the element type.
            Builtin::Distinct => return Err(Fault::InvalidArgument("distinct without its element type".into())),
            Builtin::Upper => text_cell(&ctx.arena, &text::upper(unsafe { x.text() })),
            Builtin::Lower => text_cell(&ctx.arena, &text::lower(unsafe { x.text() })),
            Builtin::Trim => text_cell(&ctx.arena, text::trim(unsafe { x.text() })),
            Builtin::StartsWith => Cell::from_bool(text::starts_with(unsafe { x.text() }, unsafe { y.text() })),
            Builtin::EndsWith => Cell::from_bool(text::ends_with(unsafe { x.text() }, unsafe { y.text() })),
            Builtin::Contains => Cell::from_bool(text::contains(unsafe { x.text() }, unsafe { y.text() })),
            Builtin::Date => Cell::from_u32(time::date_of(Timestamp(x.i64())).0 as u32),
            Builtin::Year => Cell::from_i64(i64::from(time::ymd(Date(x.i32())).0)),
            Builtin::Month => Cell::from_i64(i64::from(time::ymd(Date(x.i32())).1)),
            Builtin::Day => Cell::from_i64(i64::from(time::ymd(Date(x.i32())).2)),
            Builtin::Weekday => Cell::from_u32(time::weekday(Date(x.i32())) as u32),
            Builtin::AddDays => Cell::from_u32(time::add_days(Date(x.i32()), y.i64())?.0 as u32),
            Builtin::DaysBetween => Cell::from_i64(time::days_between(Date(x.i32()), Date(y.i32()))),
            Builtin::StartOfMonth => Cell::from_u32(time::start_of_month(Date(x.i32())).0 as u32),
            Builtin::EndOfMonth => Cell::from_u32(time::end_of_month(Date(x.i32())).0 as u32),
        })
    })
}

/// A `List<Money>` in the event arena.
fn money_cells(arena: &Bump, parts: Vec<canon_stdlib::money::Money>) -> Cell {
    let n = parts.len();
    let cells = arena.alloc_slice_fill_iter(parts.into_iter().map(|(d, c)| Cell::from_money(d, c)));
    Cell::from_parts(cells.as_ptr() as usize, n)
}

// ------------------------------------------------------------------ tables, memory, text

/// Looks a row up: `a` points to the key cells.
extern "C" fn lookup(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        let lookup = TableLookup::decode(aux);
        let table = lookup.table.0 as usize;
        let n = lookup.keys as usize;
        let pkg = &ctx.shared.pkg;
        let Some(def) = pkg.tables.get(table) else { return Ok(Cell::none()) };
        let Some(rec) = pkg.record(def.record) else { return Ok(Cell::none()) };
        // SAFETY: compiled code passes `n` contiguous key cells.
        let keys: &[Cell] = if a.is_null() || n == 0 { &[] } else { unsafe { std::slice::from_raw_parts(a, n) } };
        let index = ctx.shared.tables.get(table);
        if let (Some(TableIndex::Text(map)), [k]) = (index, keys) {
            // SAFETY: a Text key cell.
            let text = unsafe { k.text() };
            let found = map.get(text).copied();
            if let Some(t) = ctx.trace.as_mut() {
                t.push(TraceEvent::Lookup { table: def.name.clone(), key: text.to_string(), found: found.is_some() });
            }
            return Ok(found.unwrap_or_else(Cell::none));
        }
        let key = key_parts(pkg, def, rec, keys);
        let found = match index {
            Some(TableIndex::General(map)) => map.get(key.as_slice()).copied(),
            _ => None,
        };
        if let Some(t) = ctx.trace.as_mut() {
            let key = KeyPart::describe_key(pkg, def, &key);
            t.push(TraceEvent::Lookup { table: def.name.clone(), key, found: found.is_some() });
        }
        Ok(found.unwrap_or_else(Cell::none))
    })
}

/// A lookup's key cells as the key parts of the table's key fields.
fn key_parts(
    pkg: &ir::Package,
    def: &ir::TableDef,
    rec: &ir::RecordDef,
    keys: &[Cell],
) -> smallvec::SmallVec<[KeyPart; 4]> {
    let mut key: smallvec::SmallVec<[KeyPart; 4]> = smallvec::SmallVec::with_capacity(keys.len());
    for (k, fi) in keys.iter().zip(def.keys.iter()) {
        let kty = rec.fields.get(*fi as usize).map(|f| f.ty.strip()).unwrap_or(&Ty::Error);
        key.push(match kty {
            Ty::Currency => KeyPart::Currency(k.currency_at(0)),
            Ty::Int => KeyPart::Int(k.i64()),
            Ty::Enum(_) => KeyPart::Enum(k.u32()),
            Ty::Date => KeyPart::Date(k.i32()),
            // SAFETY: key cells are live values of the key field's type.
            _ => KeyPart::of(&unsafe { from_cell(pkg, kty, k) }),
        });
    }
    key
}

/// Looks up the row of an effective-dated table in force at `b`: `a` points to the key cells.
extern "C" fn lookup_as_of(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        let lookup = TableLookup::decode(aux);
        let table = lookup.table.0 as usize;
        let n = lookup.keys as usize;
        let pkg = &ctx.shared.pkg;
        let Some(def) = pkg.tables.get(table) else { return Ok(Cell::none()) };
        let Some(rec) = pkg.record(def.record) else { return Ok(Cell::none()) };
        let timestamp = def.effective.is_some_and(|e| e.timestamp);
        let at = if timestamp { cell_arg(b).i64() } else { i64::from(cell_arg(b).i32()) };
        // SAFETY: compiled code passes `n` contiguous key cells.
        let keys: &[Cell] = if a.is_null() || n == 0 { &[] } else { unsafe { std::slice::from_raw_parts(a, n) } };
        let index = ctx.shared.tables.get(table);
        let in_force = |h: &[DatedCell]| canon_runtime::tables::in_force(h, at, |r| (r.from, r.until)).map(|r| r.row);
        if let (Some(TableIndex::DatedText(map)), [k]) = (index, keys) {
            // SAFETY: a Text key cell.
            let text = unsafe { k.text() };
            let found = map.get(text).and_then(|h| in_force(h));
            if let Some(t) = ctx.trace.as_mut() {
                let key = canon_runtime::tables::describe_as_of(text, at, timestamp);
                t.push(TraceEvent::Lookup { table: def.name.clone(), key, found: found.is_some() });
            }
            return Ok(found.unwrap_or_else(Cell::none));
        }
        let key = key_parts(pkg, def, rec, keys);
        let found = match index {
            Some(TableIndex::Dated(map)) => map.get(key.as_slice()).and_then(|h| in_force(h)),
            _ => None,
        };
        if let Some(t) = ctx.trace.as_mut() {
            let key = canon_runtime::tables::describe_as_of(&KeyPart::describe_key(pkg, def, &key), at, timestamp);
            t.push(TraceEvent::Lookup { table: def.name.clone(), key, found: found.is_some() });
        }
        Ok(found.unwrap_or_else(Cell::none))
    })
}

/// A calendar function: `a` is who (a Text or enum cell), `b` the date, `c` (for `add_business_days`) n.
extern "C" fn calendar(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    b: *const Cell,
    c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        let call = CalendarCall::decode(aux);
        let pkg = &ctx.shared.pkg;
        let Some(cal) = pkg.calendars.get(call.calendar.0 as usize) else { return Ok(Cell::none()) };
        let who_ty = pkg
            .tables
            .get(cal.holidays.0 as usize)
            .and_then(|t| pkg.record(t.record).and_then(|r| t.keys.first().and_then(|k| r.fields.get(*k as usize))))
            .map(|f| f.ty.strip().clone())
            .unwrap_or(Ty::Error);
        let (w, day) = (cell_arg(a), canon_stdlib::Date(cell_arg(b).i32()));
        let who = match who_ty {
            Ty::Enum(_) => KeyPart::Enum(w.u32()),
            // SAFETY: a Text cell.
            _ => KeyPart::Text(std::sync::Arc::from(unsafe { w.text() })),
        };
        let holidays = ctx.shared.tables.get(cal.holidays.0 as usize);
        let holiday = |d: canon_stdlib::Date| -> bool {
            let key = [who.clone(), KeyPart::Date(d.0)];
            matches!(holidays, Some(TableIndex::General(map)) if map.contains_key(&key[..]))
        };
        Ok(match call.op {
            ir::CalendarOp::IsBusinessDay => {
                Cell::from_bool(canon_runtime::calendar::is_business_day(cal.weekend, day, &holiday))
            }
            ir::CalendarOp::AddBusinessDays => {
                let d = canon_runtime::calendar::add_business_days(cal.weekend, day, cell_arg(c).i64(), &holiday)?;
                Cell::from_u32(d.0 as u32)
            }
            ir::CalendarOp::FiscalPeriod => {
                let at = i64::from(day.0);
                let pick =
                    |h: &[DatedCell]| canon_runtime::tables::in_force(h, at, |r| (r.from, r.until)).map(|r| r.row);
                let found = match (cal.periods.and_then(|p| ctx.shared.tables.get(p.0 as usize)), &who) {
                    (Some(TableIndex::DatedText(map)), KeyPart::Text(t)) => map.get(&**t).and_then(|h| pick(h)),
                    (Some(TableIndex::Dated(map)), _) => map.get(std::slice::from_ref(&who)).and_then(|h| pick(h)),
                    _ => None,
                };
                found.unwrap_or_else(Cell::none)
            }
        })
    })
}

/// Allocates zeroed cells in the event arena; writes (pointer, count).
extern "C" fn alloc(
    ctx: *mut Ctx<'_>,
    _a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        let CellCount(n) = CellCount::decode(aux);
        let cells = ctx.arena.alloc_slice_fill_default::<Cell>(n.max(1));
        Ok(Cell::from_parts(cells.as_ptr() as usize, n))
    })
}

/// Allocates as many zeroed cells as the Int `a` says; writes (pointer, count).
extern "C" fn alloc_cells(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    _aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        let n = usize::try_from(cell_arg(a).i64()).unwrap_or(0);
        let cells = ctx.arena.alloc_slice_fill_default::<Cell>(n.max(1));
        Ok(Cell::from_parts(cells.as_ptr() as usize, n))
    })
}

/// `sort_by`: the list `a` ordered by the keys in the list `b` (one per
/// element, in list order), stably, by the stdlib's `sort_by::order`.
extern "C" fn sort_by(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        let spec = SortSpec::decode(aux);
        let (list, keys) = (cell_arg(a), cell_arg(b));
        // SAFETY: List cells point to their `len` live cells.
        let (items, keys) = unsafe { (list.cells(list.len()), keys.cells(keys.len())) };
        // Integer keys straight from their cells (the stdlib's `order` reads them the same way).
        let ints: Option<Vec<i128>> = match spec.kind {
            OrdKind::Int | OrdKind::Timestamp => Some(keys.iter().map(|k| i128::from(k.i64())).collect()),
            OrdKind::Date => Some(keys.iter().map(|k| i128::from(k.i32())).collect()),
            OrdKind::Decimal => {
                let scale = keys.first().map(|k| k.decimal().scale());
                keys.iter()
                    .map(|k| {
                        let d = k.decimal();
                        (Some(d.scale()) == scale).then(|| d.mantissa())
                    })
                    .collect()
            }
            OrdKind::Money | OrdKind::Text => None,
        };
        let order = match ints {
            Some(ints) => sort_by::order_ints(&ints, spec.descending),
            None => sort_by::order(&sort_keys(spec.kind, keys), spec.descending)?,
        };
        let out = ctx.arena.alloc_slice_fill_default::<Cell>(order.len().max(1));
        for (slot, i) in out.iter_mut().zip(order.iter()) {
            *slot = items.get(*i).copied().unwrap_or_else(Cell::none);
        }
        Ok(Cell::from_parts(out.as_ptr() as usize, order.len()))
    })
}

/// The sort keys of key cells of one ordered kind.
fn sort_keys(kind: OrdKind, keys: &[Cell]) -> Vec<SortKey<'_>> {
    keys.iter()
        .map(|k| match kind {
            OrdKind::Int => SortKey::Int(k.i64()),
            OrdKind::Decimal => SortKey::Decimal(k.decimal()),
            OrdKind::Money => SortKey::Money(money_of(k)),
            OrdKind::Date => SortKey::Date(Date(k.i32())),
            OrdKind::Timestamp => SortKey::Timestamp(Timestamp(k.i64())),
            // SAFETY: Text cells point to live UTF-8.
            OrdKind::Text => SortKey::Text(unsafe { k.text() }),
        })
        .collect()
}

/// `distinct`: the first occurrence of each value of the list `a`, in order.
extern "C" fn distinct(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        let ty = ty_of(ctx, TypeIndex::decode(aux)).clone();
        let list = cell_arg(a);
        // SAFETY: a List cell points to its `len` live cells.
        let items = unsafe { list.cells(list.len()) };
        let kept = distinct_fn::keep(items, |x, y| cells_equal(ctx, &ty, &ty, x, y));
        let out = ctx.arena.alloc_slice_fill_default::<Cell>(kept.len().max(1));
        for (slot, i) in out.iter_mut().zip(kept.iter()) {
            *slot = items.get(*i).copied().unwrap_or_else(Cell::none);
        }
        Ok(Cell::from_parts(out.as_ptr() as usize, kept.len()))
    })
}

extern "C" fn text_begin(
    ctx: *mut Ctx<'_>,
    _a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    _aux: i64,
) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        match ctx.texts.get_mut(ctx.text_depth) {
            Some(t) => t.clear(),
            None => ctx.texts.push(String::new()),
        }
        ctx.text_depth += 1;
        Ok(Cell::none())
    })
}

extern "C" fn text_lit(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    _aux: i64,
) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        // SAFETY: a constant Text cell.
        let s = unsafe { cell_arg(a).text() };
        if let Some(t) = ctx.text_depth.checked_sub(1).and_then(|d| ctx.texts.get_mut(d)) {
            t.push_str(s);
        }
        Ok(Cell::none())
    })
}

/// Appends the interpolation text of a value of the given type.
extern "C" fn text_value(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        let c = cell_arg(a);
        let shared = ctx.shared;
        let ty = shared.types.get(TypeIndex::decode(aux).index()).unwrap_or(&Ty::Error);
        let Some(t) = ctx.text_depth.checked_sub(1).and_then(|d| ctx.texts.get_mut(d)) else { return Ok(Cell::none()) };
        match ty {
            // SAFETY: a Text cell.
            Ty::Text => t.push_str(unsafe { c.text() }),
            Ty::Int => t.push_str(itoa::Buffer::new().format(c.i64())),
            Ty::Decimal => num::format(&c.decimal(), t),
            Ty::Date => time::format_date(Date(c.i32()), t),
            _ => {
                // SAFETY: a live value of `ty`.
                let v = unsafe { from_cell(&shared.pkg, ty, c) };
                encode::interpolate(t, &shared.pkg, ty, &v);
            }
        }
        Ok(Cell::none())
    })
}

extern "C" fn text_end(
    ctx: *mut Ctx<'_>,
    _a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    _aux: i64,
) -> i32 {
    guard(ctx, dst, |ctx| {
        let Some(d) = ctx.text_depth.checked_sub(1) else { return Ok(Cell::none()) };
        ctx.text_depth = d;
        Ok(ctx.texts.get(d).map(|s| text_cell(&ctx.arena, s)).unwrap_or_default())
    })
}

// ------------------------------------------------------------------ outcomes

/// Records a rejection; `a` is the message (or null).
extern "C" fn reject(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        let Some(RejectSite { code, loc }) = ctx.shared.rejects.get(RejectIndex::decode(aux).index()).cloned() else {
            return Ok(Cell::none());
        };
        let message = if a.is_null() {
            code.to_string()
        } else {
            // SAFETY: a Text cell.
            unsafe { cell_arg(a).text() }.to_string()
        };
        let at = ctx.shared.pkg.loc_string(loc);
        if let Some(t) = ctx.trace.as_mut() {
            t.push(TraceEvent::Rejected { code: code.to_string(), at: at.clone() });
        }
        ctx.rejections.push(Rejection { code, message, at, path: None });
        Ok(Cell::none())
    })
}

/// Queues an emit; the emitted value's location is for the lineage.
extern "C" fn emit(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        let site = EmitSite::decode(aux);
        let dest = site.destination.0;
        if let Some(t) = ctx.trace.as_mut() {
            let pkg = &ctx.shared.pkg;
            let loc = ctx.shared.locs.get(site.value_at.index()).copied().unwrap_or_default();
            let destination = pkg.destinations.get(dest as usize).map(|d| d.name.clone()).unwrap_or_default();
            t.push(TraceEvent::Emit { destination, at: pkg.loc_string(loc) });
        }
        ctx.emits.push((dest, *cell_arg(a)));
        Ok(Cell::none())
    })
}

/// Lineage: a row of a decision matched.
extern "C" fn trace_row(
    ctx: *mut Ctx<'_>,
    _a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        let pkg = &ctx.shared.pkg;
        let matched = MatchedRow::decode(aux);
        let (di, ri) = (matched.decision.index(), matched.row as usize);
        if let (Some(t), Some(d)) = (ctx.trace.as_mut(), pkg.decisions.get(di)) {
            let at = d.rows.get(ri).map(|r| pkg.loc_string(r.loc)).unwrap_or_default();
            t.push(TraceEvent::DecisionRow { decision: d.name.clone(), row: ri + 1, at });
        }
        Ok(Cell::none())
    })
}

/// Leaves an `INTEGER_OVERFLOW` pending (inline Int arithmetic overflowed).
extern "C" fn fault_int(
    ctx: *mut Ctx<'_>,
    _a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    _aux: i64,
) -> i32 {
    // SAFETY: the live context.
    if let Some(ctx) = unsafe { ctx.as_mut() } {
        ctx.pending = Some(Fault::IntegerOverflow);
    }
    1
}

/// Turns the pending fault into the final one, at the given location.
extern "C" fn fault_at(
    ctx: *mut Ctx<'_>,
    _a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    // SAFETY: the live context.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else { return 1 };
    let loc = ctx.shared.locs.get(LocIndex::decode(aux).index()).copied().unwrap_or_default();
    let f = ctx.pending.take().unwrap_or(Fault::InvalidArgument("unknown fault".into()));
    ctx.fault = Some(canon_runtime::outcome::Fault::from_stdlib(&f, loc, &ctx.shared.pkg.loc_string(loc)));
    1
}

/// `hit unique` matched two rows: `a`, `b` hold the row indices, `c` the call's
/// location index.
extern "C" fn decision_conflict(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    b: *const Cell,
    c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    // SAFETY: the live context.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else { return 1 };
    let pkg = ctx.shared.pkg.clone();
    let Some(d) = pkg.decisions.get(DecisionIndex::decode(aux).index()) else { return 1 };
    let row_loc = |c: &Cell| d.rows.get(c.i64() as usize).map(|r| pkg.loc_string(r.loc)).unwrap_or_default();
    let loc = ctx.shared.locs.get(cell_arg(c).i64() as usize).copied().unwrap_or_default();
    // Under `hit any` the rows disagree on the output; under `hit unique` they both match.
    let conflict = if d.hit == canon_compiler::ir::Hit::Any {
        canon_runtime::outcome::Fault::outputs_conflict
    } else {
        canon_runtime::outcome::Fault::rows_conflict
    };
    let fault = conflict(&d.name, &row_loc(cell_arg(a)), &row_loc(cell_arg(b)), loc, &pkg.loc_string(loc));
    ctx.fault = Some(fault);
    1
}

/// No row matched a decision with a required result; `a` holds the call's location index.
extern "C" fn decision_no_row(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    // SAFETY: the live context.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else { return 1 };
    let pkg = ctx.shared.pkg.clone();
    let Some(d) = pkg.decisions.get(DecisionIndex::decode(aux).index()) else { return 1 };
    let loc = ctx.shared.locs.get(cell_arg(a).i64() as usize).copied().unwrap_or_default();
    ctx.fault = Some(canon_runtime::outcome::Fault::no_row(&d.name, loc, &pkg.loc_string(loc)));
    1
}

// ------------------------------------------------------------------ large decisions

/// The parameter values of decision `d` from the cells `a` points to (one
/// per parameter); records and lists, which no cell tests, stay none.
fn decision_frame(pkg: &ir::Package, d: &ir::DecisionDef, a: *const Cell) -> smallvec::SmallVec<[Value; 8]> {
    let n = d.params.len();
    // SAFETY: compiled code passes the decision's parameter cells, in order.
    let cells: &[Cell] = if a.is_null() || n == 0 { &[] } else { unsafe { std::slice::from_raw_parts(a, n) } };
    d.params
        .iter()
        .zip(cells)
        .map(|((_, ty), c)| match ty.strip() {
            Ty::Record(_) | Ty::List(_) => Value::None,
            // SAFETY: a live cell of the parameter's type.
            _ => unsafe { from_cell(pkg, ty, c) },
        })
        .collect()
}

/// Runs a large-decision helper: its faults are final (a cell's
/// `CURRENCY_MISMATCH` names the row, as the interpreter's), and so is a panic.
fn guard_decision(
    ctx: *mut Ctx<'_>,
    dst: *mut Cell,
    aux: i64,
    f: impl FnOnce(&mut Ctx<'_>, &ir::DecisionDef, Option<&dindex::RowIndex>) -> Result<Cell, canon_runtime::outcome::Fault>,
) -> i32 {
    // SAFETY: compiled code always passes the live context of this event.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else { return 1 };
    let shared = ctx.shared;
    let di = DecisionIndex::decode(aux).index();
    let Some(d) = shared.pkg.decisions.get(di) else { return 1 };
    let index = shared.decisions.get(di);
    guard_final(ctx, dst, d.loc, |ctx| f(ctx, d, index))
}

/// Runs a helper whose faults are final (located, as the interpreter's):
/// the result into `dst` and status 0, or the fault (a panic, a bug,
/// becomes an internal fault at `loc`) kept in the context and status 1.
fn guard_final(
    ctx: &mut Ctx<'_>,
    dst: *mut Cell,
    loc: Loc,
    f: impl FnOnce(&mut Ctx<'_>) -> Result<Cell, canon_runtime::outcome::Fault>,
) -> i32 {
    let fault = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(ctx))) {
        Ok(Ok(c)) => {
            if !dst.is_null() {
                // SAFETY: `dst` is a cell of the caller's frame or arena.
                unsafe { *dst = c };
            }
            return 0;
        }
        Ok(Err(fault)) => fault,
        Err(_) => internal_fault(&ctx.shared.pkg, loc),
    };
    ctx.fault = Some(fault);
    1
}

/// The fault of a helper that failed where it cannot (a bug), at `loc`.
fn internal_fault(pkg: &ir::Package, loc: Loc) -> canon_runtime::outcome::Fault {
    let internal = Fault::InvalidArgument("internal error in a JIT helper".into());
    canon_runtime::outcome::Fault::from_stdlib(&internal, loc, &pkg.loc_string(loc))
}

extern "C" fn decision_next(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard_decision(ctx, dst, aux, |ctx, d, index| {
        let pkg = &ctx.shared.pkg;
        let frame = decision_frame(pkg, d, a);
        let from = cell_arg(b).i64().max(0) as usize;
        let found = dindex::next_match(pkg, d, index, &frame, from)?;
        Ok(Cell::from_i64(found.map_or(-1, |r| r as i64)))
    })
}

extern "C" fn decision_bound(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard_decision(ctx, dst, aux, |ctx, d, index| {
        let frame = decision_frame(&ctx.shared.pkg, d, a);
        Ok(Cell::from_i64(dindex::candidates(d, index, &frame).len() as i64))
    })
}

extern "C" fn decision_agg(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    b: *const Cell,
    c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard_decision(ctx, dst, aux, |ctx, d, _| {
        let pkg = &ctx.shared.pkg;
        let ir::Hit::CollectAgg(agg) = d.hit else { return Ok(*cell_arg(a)) };
        let out = d.ret.strip().clone();
        let acc_ty = if agg == ir::CollectAgg::Count { Ty::Int } else { out.clone() };
        let loc = d.rows.get(cell_arg(c).i64().max(0) as usize).map(|r| r.loc).unwrap_or(d.loc);
        // SAFETY: the accumulator and the row's output, live cells of these types.
        let (acc, v) = unsafe { (from_cell(pkg, &acc_ty, cell_arg(a)), from_cell(pkg, &out, cell_arg(b))) };
        let r = dindex::collect_step(pkg, agg, acc, v, loc)?;
        Ok(to_cell(pkg, &ctx.arena, &acc_ty, &r))
    })
}

extern "C" fn trace_row_at(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        let pkg = &ctx.shared.pkg;
        let (di, ri) = (DecisionIndex::decode(aux).index(), cell_arg(a).i64().max(0) as usize);
        if let (Some(t), Some(d)) = (ctx.trace.as_mut(), pkg.decisions.get(di)) {
            let at = d.rows.get(ri).map(|r| pkg.loc_string(r.loc)).unwrap_or_default();
            t.push(TraceEvent::DecisionRow { decision: d.name.clone(), row: ri + 1, at });
        }
        Ok(Cell::none())
    })
}

// ------------------------------------------------------------------ state

/// Runs a state helper. Its faults are final (with their location: the
/// only one, `STATE_NOT_FOUND`, is worded as the interpreter words it), and
/// so is a panic (a bug): compiled code only propagates the status.
fn guard_state(
    ctx: *mut Ctx<'_>,
    dst: *mut Cell,
    aux: i64,
    f: impl FnOnce(&mut Ctx<'_>, &StateSite) -> Result<Cell, canon_runtime::outcome::Fault>,
) -> i32 {
    // SAFETY: compiled code always passes the live context of this event.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else { return 1 };
    let shared = ctx.shared;
    match shared.state_sites.get(StateSiteIndex::decode(aux).index()) {
        Some(site) => guard_final(ctx, dst, site.loc, |ctx| f(ctx, site)),
        None => {
            ctx.fault = Some(internal_fault(&shared.pkg, Loc::default()));
            1
        }
    }
}

/// The key whose cells `a` points to, each cell read as the type of its key
/// expression (as the interpreter keys the values of those expressions).
fn key_at(pkg: &ir::Package, types: &[Ty], a: *const Cell) -> state::Key {
    // SAFETY: compiled code passes one key cell per key expression.
    let cells: &[Cell] =
        if a.is_null() || types.is_empty() { &[] } else { unsafe { std::slice::from_raw_parts(a, types.len()) } };
    cells.iter().zip(types).map(|(c, ty)| key_part(pkg, ty, c)).collect()
}

/// `KeyPart::of` the value of a cell of type `ty`, without the value for the common key types.
fn key_part(pkg: &ir::Package, ty: &Ty, c: &Cell) -> KeyPart {
    if c.is_none() {
        return KeyPart::None;
    }
    match ty.strip() {
        // SAFETY: a Text cell points to live UTF-8.
        Ty::Text => KeyPart::Text(Arc::from(unsafe { c.text() })),
        Ty::Int => KeyPart::Int(c.i64()),
        Ty::Enum(_) => KeyPart::Enum(c.u32()),
        Ty::Date => KeyPart::Date(c.i32()),
        Ty::Currency => KeyPart::Currency(c.currency_at(0)),
        // SAFETY: a live value of `ty`.
        _ => KeyPart::of(&unsafe { from_cell(pkg, ty, c) }),
    }
}

/// The cells `a` points to: `n` of them.
fn cells_at<'c>(a: *const Cell, n: usize) -> &'c [Cell] {
    if a.is_null() || n == 0 {
        return &[];
    }
    // SAFETY: compiled code passes `n` contiguous live cells.
    unsafe { std::slice::from_raw_parts(a, n) }
}

/// Records a write in the event's transaction and, traced, its step of the
/// lineage (the interpreter's `Interp::write`).
fn write_state(ctx: &mut Ctx<'_>, id: ir::StateId, key: state::Key, after: Option<Value>, loc: Loc) {
    let Some(txn) = ctx.txn else { return };
    let shared = ctx.shared;
    let pkg = &shared.pkg;
    let traced = ctx.trace.is_some().then(|| (key.clone(), after.clone()));
    let before = txn.write(id, key, after, loc);
    if let (Some((key, after)), Some(def), Some(t)) = (traced, pkg.state(id), ctx.trace.as_mut()) {
        let (before, after) = match ctx.write_records.as_mut() {
            Some(records) => {
                records.push(WriteRecords { state: id, before, after });
                (None, None)
            }
            None => (
                before.as_ref().map(|v| state::record_json_named(pkg, &shared.names, def, v)),
                after.as_ref().map(|v| state::record_json_named(pkg, &shared.names, def, v)),
            ),
        };
        t.push(TraceEvent::Write {
            state: def.name.clone(),
            key: state::describe_key(pkg, def, &key),
            before,
            after,
            at: pkg.loc_string(loc),
        });
    }
}

/// `state[keys]`: the record (its text borrowed from the record, which the
/// context keeps for the event), or none.
extern "C" fn state_get(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard_state(ctx, dst, aux, |ctx, site| {
        let shared = ctx.shared;
        let pkg = &shared.pkg;
        let key = key_at(pkg, &site.keys, a);
        let found = ctx.txn.and_then(|t| t.get(site.state, &key));
        let Some(def) = pkg.state(site.state) else { return Ok(Cell::none()) };
        if let Some(t) = ctx.trace.as_mut() {
            let key = state::describe_key(pkg, def, &key);
            t.push(TraceEvent::StateRead { state: def.name.clone(), key, found: found.is_some() });
        }
        let Some(record) = found else { return Ok(Cell::none()) };
        // SAFETY: `record` is kept in the context, alive as long as the event's cells.
        let c = unsafe { view_cell(pkg, &ctx.arena, &Ty::Record(def.record), &record) };
        ctx.kept.push(record);
        Ok(c)
    })
}

/// `put state e`: `a` is the record.
extern "C" fn state_put(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard_state(ctx, std::ptr::null_mut(), aux, |ctx, site| {
        let shared = ctx.shared;
        let pkg = &shared.pkg;
        let Some(def) = pkg.state(site.state) else { return Ok(Cell::none()) };
        // SAFETY: a live record of the state's type.
        let record = unsafe { from_cell(pkg, &Ty::Record(def.record), cell_arg(a)) };
        let key = state::key_of(def, &record);
        write_state(ctx, site.state, key, Some(record), site.loc);
        Ok(Cell::none())
    })
}

/// `update state[keys] { ... }`, before its fields are evaluated: the
/// record at the keys `a` points to, kept for [`state_update`], or
/// `STATE_NOT_FOUND`.
extern "C" fn state_find(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard_state(ctx, std::ptr::null_mut(), aux, |ctx, site| {
        let shared = ctx.shared;
        let pkg = &shared.pkg;
        let key = key_at(pkg, &site.keys, a);
        let Some(def) = pkg.state(site.state) else { return Ok(Cell::none()) };
        match ctx.txn.and_then(|t| t.get(site.state, &key)) {
            Some(Value::Record(fields)) => {
                ctx.found = Some((key, fields));
                Ok(Cell::none())
            }
            _ => Err(canon_runtime::outcome::Fault::state_not_found(
                &def.name,
                &state::describe_key(pkg, def, &key),
                site.loc,
                &pkg.loc_string(site.loc),
            )),
        }
    })
}

/// `update state[keys] { ... }`, its fields evaluated into the cells `a`
/// points to (in the order written): writes the record [`state_find`] found
/// with those fields replaced.
extern "C" fn state_update(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard_state(ctx, std::ptr::null_mut(), aux, |ctx, site| {
        let shared = ctx.shared;
        let pkg = &shared.pkg;
        let Some((key, current)) = ctx.found.take() else { return Ok(Cell::none()) };
        let mut set: smallvec::SmallVec<[Option<Value>; 16]> = smallvec::smallvec![None; current.len()];
        for ((i, ty), c) in site.fields.iter().zip(cells_at(a, site.fields.len())) {
            if let Some(slot) = set.get_mut(*i as usize) {
                // SAFETY: a live value of its expression's type.
                *slot = Some(unsafe { from_cell(pkg, ty, c) });
            }
        }
        // The fields set, the others as they were: one allocation, the length known.
        let next: Arc<[Value]> = current
            .iter()
            .enumerate()
            .map(|(i, old)| set.get_mut(i).and_then(Option::take).unwrap_or_else(|| old.clone()))
            .collect();
        write_state(ctx, site.state, key, Some(Value::Record(next)), site.loc);
        Ok(Cell::none())
    })
}

/// `delete state[keys]`: removes the record at the keys `a` points to; none there, nothing.
extern "C" fn state_delete(
    ctx: *mut Ctx<'_>,
    a: *const Cell,
    _b: *const Cell,
    _c: *const Cell,
    _dst: *mut Cell,
    aux: i64,
) -> i32 {
    guard_state(ctx, std::ptr::null_mut(), aux, |ctx, site| {
        let shared = ctx.shared;
        let key = key_at(&shared.pkg, &site.keys, a);
        if ctx.txn.and_then(|t| t.get(site.state, &key)).is_some() {
            write_state(ctx, site.state, key, None, site.loc);
        }
        Ok(Cell::none())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    fn round_trip<A: Aux + PartialEq + std::fmt::Debug>(aux: A) {
        assert_eq!(A::decode(aux.encode()), aux);
    }

    #[test]
    fn every_aux_decodes_what_it_encodes() {
        for kind in [OrdKind::Int, OrdKind::Decimal, OrdKind::Money, OrdKind::Date, OrdKind::Timestamp, OrdKind::Text] {
            for op in [CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge] {
                round_trip(Comparison { kind, op });
            }
        }
        round_trip(TypePair { left: TypeIndex(7), right: TypeIndex(u32::MAX) });
        round_trip(TableLookup { table: ir::TableId(3), keys: 2 });
        round_trip(EmitSite { destination: ir::DestId(1), value_at: LocIndex(40_000) });
        round_trip(MatchedRow { decision: DecisionIndex(2), row: 1 << 20 });
        round_trip(CellCount(12));
        round_trip(LocIndex(9));
    }

    #[test]
    fn aux_encodings_are_those_compiled_code_was_built_with() {
        // The packing is part of the generated code: it must not drift.
        assert_eq!(Comparison { kind: OrdKind::Money, op: CmpOp::Ge }.encode(), 2 | (3 << 8));
        assert_eq!(EmitSite { destination: ir::DestId(5), value_at: LocIndex(6) }.encode(), 5 | (6 << 32));
        assert_eq!(CellCount::decode(-1), CellCount(0));
    }

    #[test]
    fn every_helper_has_a_distinct_symbol() {
        let mut symbols: Vec<&str> = Helper::ALL.iter().map(|h| h.symbol()).collect();
        symbols.sort_unstable();
        symbols.dedup();
        assert_eq!(symbols.len(), Helper::ALL.len());
        assert_eq!(helpers::cmp.helper(), Helper::cmp);
    }
}
