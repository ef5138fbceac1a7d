//! What JIT code runs against: the per-event context and the `extern "C"`
//! helpers. Every helper has the same signature, and all of them are listed
//! once in [`helpers!`], from which both their Cranelift signatures and their
//! symbol registrations are generated (as wasmtime's builtin list does).
//!
//! A helper never panics or unwinds: it returns 0, or 1 after leaving a
//! pending fault in the context; the JIT code then calls `fault_at` with the
//! source location and returns.

use std::sync::Arc;

use bumpalo::Bump;
use canon_compiler::ir::{self, Builtin, CmpOp, Loc};
use canon_compiler::types::{OrdKind, Ty};
use canon_runtime::outcome::{Rejection, TraceEvent};
use canon_runtime::value::KeyPart;
use canon_runtime::{encode, Value};
use canon_stdlib::functions::sum;
use canon_stdlib::money::{self, MoneyOp};
use canon_stdlib::{num, text, time, Currency, Date, Fault, Rounding, Timestamp};

use crate::cell::{from_cell, text_cell, to_cell, Cell};

/// Everything compiled code refers to by index: types, locations, rejection
/// sites, builtins, and the tables as cells. Immutable after compilation.
pub struct Shared {
    pub pkg: Arc<ir::Package>,
    pub types: Vec<Ty>,
    pub locs: Vec<Loc>,
    pub rejects: Vec<(Arc<str>, Loc)>,
    pub builtins: Vec<(Builtin, Vec<Ty>)>,
    pub tables: Vec<TableIndex>,
    /// Compiled with lineage: decision rows report themselves, and helpers
    /// record lookups, rejections and emits in `Ctx::trace`.
    pub traced: bool,
    /// Memory behind constant and table cells (never freed while compiled code lives).
    pub store: Store,
}

/// A table's rows by key, as cells.
pub enum TableIndex {
    /// One Text key: looked up by the key's text, without building a key value.
    Text(rustc_hash::FxHashMap<Box<str>, Cell>),
    General(rustc_hash::FxHashMap<Vec<KeyPart>, Cell>),
}

/// Owned memory for long-lived cells and text.
#[derive(Default)]
pub struct Store {
    cells: Vec<Box<[Cell]>>,
    texts: Vec<Box<str>>,
    words: Vec<Box<[u32]>>,
}

impl Store {
    /// Keeps a constant array (a decision's index) alive; its address.
    pub fn keep_u32(&mut self, xs: Vec<u32>) -> usize {
        let b = xs.into_boxed_slice();
        let at = b.as_ptr() as usize;
        self.words.push(b);
        at
    }

    pub fn cell_of(&mut self, pkg: &ir::Package, ty: &Ty, v: &Value) -> Cell {
        // Build in a scratch arena, then copy into owned boxes.
        let arena = Bump::new();
        let c = to_cell(pkg, &arena, ty, v);
        self.own(pkg, ty, &c)
    }

    /// Deep-copies a cell (and what it points to) into owned memory.
    fn own(&mut self, pkg: &ir::Package, ty: &Ty, c: &Cell) -> Cell {
        if c.is_none() {
            return *c;
        }
        match ty.strip() {
            Ty::Text => {
                // SAFETY: `c` was just built by `to_cell` from a live value.
                let s: Box<str> = Box::from(unsafe { c.text() });
                let cell = Cell::from_parts(s.as_ptr() as usize, s.len());
                self.texts.push(s);
                cell
            }
            Ty::Record(r) => {
                let Some(def) = pkg.record(*r) else { return Cell::none() };
                // SAFETY: as above.
                let src = unsafe { c.cells(def.fields.len()) };
                let owned: Vec<Cell> = def.fields.iter().zip(src.iter()).map(|(f, x)| self.own(pkg, &f.ty, x)).collect();
                let b = owned.into_boxed_slice();
                let cell = Cell::from_parts(b.as_ptr() as usize, 0);
                self.cells.push(b);
                cell
            }
            Ty::List(elem) => {
                // SAFETY: as above.
                let src = unsafe { c.cells(c.len()) };
                let owned: Vec<Cell> = src.iter().map(|x| self.own(pkg, elem, x)).collect();
                let b = owned.into_boxed_slice();
                let cell = Cell::from_parts(b.as_ptr() as usize, b.len());
                self.cells.push(b);
                cell
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
}

/// The per-thread memory of a context, reused event after event.
#[derive(Default)]
struct Pooled {
    arena: Bump,
    emits: Vec<(u32, Cell)>,
    texts: Vec<String>,
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
        };
        p.arena.reset();
        p.emits.clear();
        let _ = POOL.try_with(|a| *a.borrow_mut() = Some(p));
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
        }
    }
}

pub type HelperFn = extern "C" fn(*mut Ctx<'_>, *const Cell, *const Cell, *const Cell, *mut Cell, i64) -> i32;

macro_rules! helpers {
    ($($name:ident),* $(,)?) => {
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
    };
}

helpers! {
    dec_add, dec_sub, dec_mul, dec_div, int_div, int_to_dec, neg_dec,
    money_add, money_sum_add, money_sub, money_mul_dec, dec_mul_money, money_div_dec, money_div_money, neg_money,
    concat, cmp, eq, builtin, lookup, alloc, text_begin, text_lit, text_value, text_end,
    reject, emit, trace_row, fault_int, fault_at, decision_conflict, decision_no_row,
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

fn rd<'c>(p: *const Cell) -> &'c Cell {
    // SAFETY: compiled code passes pointers to live cells, or null.
    unsafe { p.as_ref() }.unwrap_or(&Cell::NONE)
}

fn ty_of<'s>(ctx: &'s Ctx<'_>, aux: i64) -> &'s Ty {
    ctx.shared.types.get(aux as usize).unwrap_or(&Ty::Error)
}

fn money_of(c: &Cell) -> (canon_stdlib::Decimal, Currency) {
    (c.decimal(), c.currency_at(16))
}

// ------------------------------------------------------------------ arithmetic

macro_rules! dec2 {
    ($name:ident, $op:expr) => {
        extern "C" fn $name(ctx: *mut Ctx<'_>, a: *const Cell, b: *const Cell, _c: *const Cell, dst: *mut Cell, _aux: i64) -> i32 {
            guard(ctx, dst, |_| $op(rd(a), rd(b)))
        }
    };
}

dec2!(dec_add, |a: &Cell, b: &Cell| num::add(a.decimal(), b.decimal()).map(Cell::from_decimal));
dec2!(dec_sub, |a: &Cell, b: &Cell| num::sub(a.decimal(), b.decimal()).map(Cell::from_decimal));
dec2!(dec_mul, |a: &Cell, b: &Cell| num::mul(a.decimal(), b.decimal()).map(Cell::from_decimal));
dec2!(dec_div, |a: &Cell, b: &Cell| num::div(a.decimal(), b.decimal()).map(Cell::from_decimal));
dec2!(int_div, |a: &Cell, b: &Cell| num::int_div(a.i64(), b.i64()).map(Cell::from_decimal));
dec2!(int_to_dec, |a: &Cell, _b: &Cell| Ok(if a.is_none() { Cell::none() } else { Cell::from_decimal(num::from_int(a.i64())) }));
dec2!(neg_dec, |a: &Cell, _b: &Cell| Ok(Cell::from_decimal(num::neg(a.decimal()))));
dec2!(money_add, |a: &Cell, b: &Cell| money::add(money_of(a), money_of(b)).map(|m| Cell::from_money(m.0, m.1)));
dec2!(money_sum_add, |a: &Cell, b: &Cell| sum::add_money(money_of(a), money_of(b)).map(|m| Cell::from_money(m.0, m.1)));
dec2!(money_sub, |a: &Cell, b: &Cell| money::sub(money_of(a), money_of(b)).map(|m| Cell::from_money(m.0, m.1)));
dec2!(money_mul_dec, |a: &Cell, b: &Cell| money::mul(money_of(a), b.decimal()).map(|m| Cell::from_money(m.0, m.1)));
dec2!(dec_mul_money, |a: &Cell, b: &Cell| money::mul(money_of(b), a.decimal()).map(|m| Cell::from_money(m.0, m.1)));
dec2!(money_div_dec, |a: &Cell, b: &Cell| money::div(money_of(a), b.decimal()).map(|m| Cell::from_money(m.0, m.1)));
dec2!(money_div_money, |a: &Cell, b: &Cell| money::div_money(money_of(a), money_of(b)).map(Cell::from_decimal));
dec2!(neg_money, |a: &Cell, _b: &Cell| Ok({
    let (d, c) = money_of(a);
    Cell::from_money(num::neg(d), c)
}));

extern "C" fn concat(ctx: *mut Ctx<'_>, a: *const Cell, b: *const Cell, _c: *const Cell, dst: *mut Cell, _aux: i64) -> i32 {
    guard(ctx, dst, |ctx| {
        // SAFETY: Text cells point to live UTF-8.
        let (x, y) = unsafe { (rd(a).text(), rd(b).text()) };
        let mut s = String::with_capacity(x.len() + y.len());
        s.push_str(x);
        s.push_str(y);
        Ok(text_cell(&ctx.arena, &s))
    })
}

/// Orders two values of an ordered type; writes -1, 0 or 1 as an Int cell.
/// `aux` is [`cmp_aux`]: the [`OrdKind`] and the comparison that asks (which
/// a currency mismatch names).
extern "C" fn cmp(ctx: *mut Ctx<'_>, a: *const Cell, b: *const Cell, _c: *const Cell, dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, dst, |_| {
        let (x, y) = (rd(a), rd(b));
        let o = match ord_kind(aux & 0xff) {
            OrdKind::Int => x.i64().cmp(&y.i64()),
            OrdKind::Decimal => num::cmp(&x.decimal(), &y.decimal()),
            OrdKind::Money => money::cmp(money_of(x), money_of(y), cmp_op(aux >> 8).money_op())?,
            OrdKind::Date => x.i32().cmp(&y.i32()),
            OrdKind::Timestamp => x.i64().cmp(&y.i64()),
            // SAFETY: Text cells point to live UTF-8.
            OrdKind::Text => unsafe { text::cmp(x.text(), y.text()) },
        };
        Ok(Cell::from_i64(o as i64))
    })
}

/// The `aux` of the `cmp` helper for `op` on values of kind `k`.
pub fn cmp_aux(k: OrdKind, op: CmpOp) -> i64 {
    let op = match op {
        CmpOp::Lt => 0,
        CmpOp::Le => 1,
        CmpOp::Gt => 2,
        CmpOp::Ge => 3,
    };
    ord_code(k) | (op << 8)
}

fn cmp_op(code: i64) -> CmpOp {
    match code {
        1 => CmpOp::Le,
        2 => CmpOp::Gt,
        3 => CmpOp::Ge,
        _ => CmpOp::Lt,
    }
}

fn ord_code(k: OrdKind) -> i64 {
    match k {
        OrdKind::Int => 0,
        OrdKind::Decimal => 1,
        OrdKind::Money => 2,
        OrdKind::Date => 3,
        OrdKind::Timestamp => 4,
        OrdKind::Text => 5,
    }
}

fn ord_kind(code: i64) -> OrdKind {
    match code {
        1 => OrdKind::Decimal,
        2 => OrdKind::Money,
        3 => OrdKind::Date,
        4 => OrdKind::Timestamp,
        5 => OrdKind::Text,
        _ => OrdKind::Int,
    }
}

/// Equality of LANGUAGE.md §3 on values of type `types[aux]`; writes a Bool cell.
extern "C" fn eq(ctx: *mut Ctx<'_>, a: *const Cell, b: *const Cell, _c: *const Cell, dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, dst, |ctx| {
        // `aux`: the type ids of the left and the right cell.
        let ty = ty_of(ctx, aux & 0xffff_ffff).clone();
        let rty = ty_of(ctx, aux >> 32).clone();
        let (x, y) = (rd(a), rd(b));
        let same = if x.is_none() || y.is_none() {
            x.is_none() && y.is_none()
        } else if ty.strip() != rty.strip() {
            let pkg = &ctx.shared.pkg;
            // SAFETY: each cell is a live value of its own type.
            unsafe { from_cell(pkg, &ty, x) == from_cell(pkg, &rty, y) }
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
                    unsafe { from_cell(pkg, &ty, x) == from_cell(pkg, &ty, y) }
                }
            }
        };
        Ok(Cell::from_bool(same))
    })
}

// ------------------------------------------------------------------ built-ins

fn rounding(c: &Cell) -> Rounding {
    Rounding::from_index(c.u32()).unwrap_or(Rounding::HalfEven)
}

/// A built-in function; `aux` indexes `Shared::builtins`.
extern "C" fn builtin(ctx: *mut Ctx<'_>, a: *const Cell, b: *const Cell, c: *const Cell, dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, dst, |ctx| {
        let Some((op, _)) = ctx.shared.builtins.get(aux as usize) else {
            return Err(Fault::InvalidArgument("unknown built-in".into()));
        };
        let (x, y, z) = (rd(a), rd(b), rd(c));
        // SAFETY (text reads below): Text cells point to live UTF-8.
        Ok(match op {
            Builtin::RoundDecimal => Cell::from_decimal(num::round(x.decimal(), y.i64(), rounding(z))?),
            Builtin::RoundMoney => {
                let (d, cur) = money_of(x);
                Cell::from_money(num::round(d, y.i64(), rounding(z))?, cur)
            }
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

// ------------------------------------------------------------------ tables, memory, text

/// Looks a row up: `a` points to `aux >> 32` key cells, `aux & 0xffff_ffff` is the table.
extern "C" fn lookup(ctx: *mut Ctx<'_>, a: *const Cell, _b: *const Cell, _c: *const Cell, dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, dst, |ctx| {
        let table = (aux & 0xffff_ffff) as usize;
        let n = (aux >> 32) as usize;
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
        let mut key: smallvec::SmallVec<[KeyPart; 4]> = smallvec::SmallVec::with_capacity(n);
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

/// Allocates `aux` zeroed cells in the event arena; writes (pointer, aux).
extern "C" fn alloc(ctx: *mut Ctx<'_>, _a: *const Cell, _b: *const Cell, _c: *const Cell, dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, dst, |ctx| {
        let n = aux.max(0) as usize;
        let cells = ctx.arena.alloc_slice_fill_default::<Cell>(n.max(1));
        Ok(Cell::from_parts(cells.as_ptr() as usize, n))
    })
}

extern "C" fn text_begin(ctx: *mut Ctx<'_>, _a: *const Cell, _b: *const Cell, _c: *const Cell, _dst: *mut Cell, _aux: i64) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        match ctx.texts.get_mut(ctx.text_depth) {
            Some(t) => t.clear(),
            None => ctx.texts.push(String::new()),
        }
        ctx.text_depth += 1;
        Ok(Cell::none())
    })
}

extern "C" fn text_lit(ctx: *mut Ctx<'_>, a: *const Cell, _b: *const Cell, _c: *const Cell, _dst: *mut Cell, _aux: i64) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        // SAFETY: a constant Text cell.
        let s = unsafe { rd(a).text() };
        if let Some(t) = ctx.text_depth.checked_sub(1).and_then(|d| ctx.texts.get_mut(d)) {
            t.push_str(s);
        }
        Ok(Cell::none())
    })
}

/// Appends the interpolation text of a value of type `types[aux]`.
extern "C" fn text_value(ctx: *mut Ctx<'_>, a: *const Cell, _b: *const Cell, _c: *const Cell, _dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        let c = rd(a);
        let shared = ctx.shared;
        let ty = shared.types.get(aux as usize).unwrap_or(&Ty::Error);
        let Some(t) = ctx.text_depth.checked_sub(1).and_then(|d| ctx.texts.get_mut(d)) else { return Ok(Cell::none()) };
        match ty {
            // SAFETY: a Text cell.
            Ty::Text => t.push_str(unsafe { c.text() }),
            Ty::Int => t.push_str(itoa_i64(c.i64()).as_str()),
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

extern "C" fn text_end(ctx: *mut Ctx<'_>, _a: *const Cell, _b: *const Cell, _c: *const Cell, dst: *mut Cell, _aux: i64) -> i32 {
    guard(ctx, dst, |ctx| {
        let Some(d) = ctx.text_depth.checked_sub(1) else { return Ok(Cell::none()) };
        ctx.text_depth = d;
        Ok(ctx.texts.get(d).map(|s| text_cell(&ctx.arena, s)).unwrap_or_default())
    })
}

// ------------------------------------------------------------------ outcomes

/// Records a rejection; `aux` indexes `Shared::rejects`, `a` is the message (or null).
extern "C" fn reject(ctx: *mut Ctx<'_>, a: *const Cell, _b: *const Cell, _c: *const Cell, _dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        let Some((code, loc)) = ctx.shared.rejects.get(aux as usize).cloned() else { return Ok(Cell::none()) };
        let message = if a.is_null() {
            code.to_string()
        } else {
            // SAFETY: a Text cell.
            unsafe { rd(a).text() }.to_string()
        };
        let at = ctx.shared.pkg.loc_string(loc);
        if let Some(t) = ctx.trace.as_mut() {
            t.push(TraceEvent::Rejected { code: code.to_string(), at: at.clone() });
        }
        ctx.rejections.push(Rejection { code, message, at, path: None });
        Ok(Cell::none())
    })
}

/// Queues an emit to destination `aux & 0xffff_ffff`; the emitted value's
/// location is `locs[aux >> 32]` (for the lineage).
extern "C" fn emit(ctx: *mut Ctx<'_>, a: *const Cell, _b: *const Cell, _c: *const Cell, _dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        let dest = (aux & 0xffff_ffff) as u32;
        if let Some(t) = ctx.trace.as_mut() {
            let pkg = &ctx.shared.pkg;
            let loc = ctx.shared.locs.get((aux >> 32) as usize).copied().unwrap_or_default();
            let destination = pkg.destinations.get(dest as usize).map(|d| d.name.clone()).unwrap_or_default();
            t.push(TraceEvent::Emit { destination, at: pkg.loc_string(loc) });
        }
        ctx.emits.push((dest, *rd(a)));
        Ok(Cell::none())
    })
}

/// Lineage: row `aux >> 32` (0-based) of decision `aux & 0xffff_ffff` matched.
extern "C" fn trace_row(ctx: *mut Ctx<'_>, _a: *const Cell, _b: *const Cell, _c: *const Cell, _dst: *mut Cell, aux: i64) -> i32 {
    guard(ctx, std::ptr::null_mut(), |ctx| {
        let pkg = &ctx.shared.pkg;
        let (di, ri) = ((aux & 0xffff_ffff) as usize, (aux >> 32) as usize);
        if let (Some(t), Some(d)) = (ctx.trace.as_mut(), pkg.decisions.get(di)) {
            let at = d.rows.get(ri).map(|r| pkg.loc_string(r.loc)).unwrap_or_default();
            t.push(TraceEvent::DecisionRow { decision: d.name.clone(), row: ri + 1, at });
        }
        Ok(Cell::none())
    })
}

/// Leaves an `INTEGER_OVERFLOW` pending (inline Int arithmetic overflowed).
extern "C" fn fault_int(ctx: *mut Ctx<'_>, _a: *const Cell, _b: *const Cell, _c: *const Cell, _dst: *mut Cell, _aux: i64) -> i32 {
    // SAFETY: the live context.
    if let Some(ctx) = unsafe { ctx.as_mut() } {
        ctx.pending = Some(Fault::IntegerOverflow);
    }
    1
}

/// Turns the pending fault into the final one, at location `locs[aux]`.
extern "C" fn fault_at(ctx: *mut Ctx<'_>, _a: *const Cell, _b: *const Cell, _c: *const Cell, _dst: *mut Cell, aux: i64) -> i32 {
    // SAFETY: the live context.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else { return 1 };
    let loc = ctx.shared.locs.get(aux as usize).copied().unwrap_or_default();
    let f = ctx.pending.take().unwrap_or(Fault::InvalidArgument("unknown fault".into()));
    ctx.fault = Some(canon_runtime::outcome::Fault::from_stdlib(&f, loc, &ctx.shared.pkg.loc_string(loc)));
    1
}

/// `hit unique` matched two rows: `a`, `b` hold the row indices, `c` the call's
/// location index, `aux` the decision.
extern "C" fn decision_conflict(ctx: *mut Ctx<'_>, a: *const Cell, b: *const Cell, c: *const Cell, _dst: *mut Cell, aux: i64) -> i32 {
    // SAFETY: the live context.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else { return 1 };
    let pkg = ctx.shared.pkg.clone();
    let Some(d) = pkg.decisions.get(aux as usize) else { return 1 };
    let row_loc = |c: &Cell| d.rows.get(c.i64() as usize).map(|r| pkg.loc_string(r.loc)).unwrap_or_default();
    let loc = ctx.shared.locs.get(rd(c).i64() as usize).copied().unwrap_or_default();
    let fault = canon_runtime::outcome::Fault::rows_conflict(&d.name, &row_loc(rd(a)), &row_loc(rd(b)), loc, &pkg.loc_string(loc));
    ctx.fault = Some(fault);
    1
}

/// No row matched a decision with a required result; `a` holds the call's location index.
extern "C" fn decision_no_row(ctx: *mut Ctx<'_>, a: *const Cell, _b: *const Cell, _c: *const Cell, _dst: *mut Cell, aux: i64) -> i32 {
    // SAFETY: the live context.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else { return 1 };
    let pkg = ctx.shared.pkg.clone();
    let Some(d) = pkg.decisions.get(aux as usize) else { return 1 };
    let loc = ctx.shared.locs.get(rd(a).i64() as usize).copied().unwrap_or_default();
    ctx.fault = Some(canon_runtime::outcome::Fault::no_row(&d.name, loc, &pkg.loc_string(loc)));
    1
}

fn itoa_i64(i: i64) -> String {
    i.to_string()
}
