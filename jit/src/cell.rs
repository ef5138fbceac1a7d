//! The native value layout the JIT computes on: every value lives in a
//! 32-byte, 8-aligned `Cell`. Records and lists point to arrays of cells in a
//! per-event arena; text points to UTF-8 bytes in the arena or in constants.
//!
//! | type | layout |
//! | --- | --- |
//! | Bool | `u8` at 0 |
//! | Int, Timestamp | `i64` at 0 |
//! | Date | `i32` at 0 |
//! | Enum, Currency | `u32` at 0 (a currency is its three ASCII bytes) |
//! | Decimal | 16 bytes at 0 (`Decimal::serialize`) |
//! | Money | Decimal at 0, currency `u32` at 16 |
//! | Text | pointer at 0, byte length at 8 |
//! | List | pointer to the first element cell at 0, length at 8 |
//! | Record | pointer to its field cells at 0 |
//!
//! Byte 24 is the tag: 1 when a value is present, 0 for `none`. A Text
//! cell's word at 16 is [`PLAIN`] when its bytes are known to be
//! [plain](canon_runtime::encode::is_plain) (written as JSON without a look
//! at them), 0 when not known; nothing else reads it, and every cell that
//! makes a text writes 0 there unless it knows.

use std::sync::Arc;

use bumpalo::Bump;
use canon_compiler::ir;
use canon_compiler::types::Ty;
use canon_runtime::Value;
use canon_stdlib::{Currency, Date, Decimal, Timestamp};

pub const CELL: usize = 32;
pub const TAG: usize = 24;

#[repr(C, align(8))]
#[derive(Clone, Copy, Default)]
pub struct Cell {
    /// Four little-endian words; whole words are written so that stores and
    /// loads of the same cell always have the same width (no store-forwarding stalls).
    pub words: [u64; 4],
}

const PRESENT: u64 = 1;
/// The word at 16 of a Text cell whose bytes are plain.
pub const PLAIN: u64 = 1;

impl Cell {
    pub const NONE: Cell = Cell { words: [0; 4] };

    pub fn none() -> Cell {
        Cell::NONE
    }
    pub fn is_none(&self) -> bool {
        self.words[3] & 0xff == 0
    }
    pub fn u8(&self) -> u8 {
        self.words[0] as u8
    }
    pub fn u32(&self) -> u32 {
        self.words[0] as u32
    }
    pub fn i32(&self) -> i32 {
        self.u32() as i32
    }
    pub fn i64(&self) -> i64 {
        self.words[0] as i64
    }
    /// The 8 bytes at byte offset `at` (a multiple of 8; zeros past the end).
    pub fn word(&self, at: usize) -> [u8; 8] {
        self.words.get(at / 8).copied().unwrap_or(0).to_le_bytes()
    }
    pub fn usize_at(&self, at: usize) -> usize {
        self.words.get(at / 8).copied().unwrap_or(0) as usize
    }
    pub fn decimal(&self) -> Decimal {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.words[0].to_le_bytes());
        b[8..].copy_from_slice(&self.words[1].to_le_bytes());
        Decimal::deserialize(b)
    }
    /// The currency at byte offset 0 or 16.
    pub fn currency_at(&self, at: usize) -> Currency {
        let w = self.words.get(at / 8).copied().unwrap_or(0).to_le_bytes();
        Currency([w[0], w[1], w[2]])
    }
    pub fn ptr(&self) -> *const Cell {
        self.words[0] as usize as *const Cell
    }
    /// The length of a List or Text cell.
    pub fn len(&self) -> usize {
        self.words[1] as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The text of a Text cell.
    ///
    /// # Safety
    /// The cell must hold a Text whose bytes are alive (arena or constants).
    pub unsafe fn text<'a>(&self) -> &'a str {
        let p = self.words[0] as usize as *const u8;
        let n = self.words[1] as usize;
        if p.is_null() || n == 0 {
            return "";
        }
        // SAFETY: the JIT and the conversions below only ever store pointers to
        // valid UTF-8 of this length that outlive the event.
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(p, n)) }
    }
    /// The cells a Record or List points to.
    ///
    /// # Safety
    /// The cell must hold a record of `n` fields or a list, alive.
    pub unsafe fn cells<'a>(&self, n: usize) -> &'a [Cell] {
        let p = self.ptr();
        if p.is_null() || n == 0 {
            return &[];
        }
        // SAFETY: see `text`.
        unsafe { std::slice::from_raw_parts(p, n) }
    }

    pub fn from_bool(b: bool) -> Cell {
        Cell { words: [u64::from(b), 0, 0, PRESENT] }
    }
    pub fn from_i64(i: i64) -> Cell {
        Cell { words: [i as u64, 0, 0, PRESENT] }
    }
    pub fn from_u32(u: u32) -> Cell {
        Cell { words: [u64::from(u), 0, 0, PRESENT] }
    }
    pub fn from_decimal(d: Decimal) -> Cell {
        let b = d.serialize();
        let lo = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        let hi = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
        Cell { words: [lo, hi, 0, PRESENT] }
    }
    pub fn from_money(d: Decimal, cur: Currency) -> Cell {
        let mut c = Cell::from_decimal(d);
        c.words[2] = currency_word(cur);
        c
    }
    pub fn from_currency(cur: Currency) -> Cell {
        Cell { words: [currency_word(cur), 0, 0, PRESENT] }
    }
    pub fn from_parts(ptr: usize, len: usize) -> Cell {
        Cell { words: [ptr as u64, len as u64, 0, PRESENT] }
    }
    /// A Text cell of `s`, [`PLAIN`] when the caller knows it is.
    pub fn from_text(s: &str, plain: bool) -> Cell {
        Cell { words: [s.as_ptr() as usize as u64, s.len() as u64, if plain { PLAIN } else { 0 }, PRESENT] }
    }
    /// Whether a Text cell's bytes are known to be plain.
    pub fn is_plain_text(&self) -> bool {
        self.words[2] == PLAIN
    }
}

fn currency_word(c: Currency) -> u64 {
    u64::from(c.0[0]) | (u64::from(c.0[1]) << 8) | (u64::from(c.0[2]) << 16)
}

/// Text bytes in the arena.
pub fn text_cell(arena: &Bump, s: &str) -> Cell {
    let bytes = arena.alloc_slice_copy(s.as_bytes());
    Cell::from_parts(bytes.as_ptr() as usize, bytes.len())
}

/// Converts a value of type `ty` to a cell, allocating records, lists and text in `arena`.
pub fn to_cell(pkg: &ir::Package, arena: &Bump, ty: &Ty, v: &Value) -> Cell {
    build(pkg, arena, ty, v, false)
}

/// As [`to_cell`], but text cells point into `v`'s own text rather than
/// copies in `arena` (records and lists are still built in `arena`).
///
/// # Safety
/// The cell must not be read after `v` (every clone of its text) is dropped.
pub unsafe fn view_cell(pkg: &ir::Package, arena: &Bump, ty: &Ty, v: &Value) -> Cell {
    build(pkg, arena, ty, v, true)
}

fn build(pkg: &ir::Package, arena: &Bump, ty: &Ty, v: &Value, borrow_text: bool) -> Cell {
    match v {
        Value::None => Cell::none(),
        Value::Bool(b) => Cell::from_bool(*b),
        Value::Int(i) => match ty.strip() {
            Ty::Decimal => Cell::from_decimal(canon_stdlib::num::from_int(*i)),
            _ => Cell::from_i64(*i),
        },
        Value::Decimal(d) => Cell::from_decimal(*d),
        Value::Money(d, c) => Cell::from_money(*d, *c),
        Value::Currency(c) => Cell::from_currency(*c),
        Value::Text(t) if borrow_text => Cell::from_parts(t.as_ptr() as usize, t.len()),
        Value::Text(t) => text_cell(arena, t),
        Value::Date(d) => Cell::from_u32(d.0 as u32),
        Value::Timestamp(t) => Cell::from_i64(t.0),
        Value::Enum(i) => Cell::from_u32(*i),
        Value::Record(fields) => {
            let field_defs = match ty.strip() {
                Ty::Record(r) => pkg.record(*r).map(|d| d.fields.as_slice()).unwrap_or(&[]),
                _ => &[],
            };
            let cells = arena.alloc_slice_fill_default::<Cell>(fields.len());
            for (i, (slot, f)) in cells.iter_mut().zip(fields.iter()).enumerate() {
                let fty = field_defs.get(i).map(|d| &d.ty).unwrap_or(&Ty::Error);
                *slot = build(pkg, arena, fty, f, borrow_text);
            }
            Cell::from_parts(cells.as_ptr() as usize, 0)
        }
        Value::List(items) => {
            let elem = match ty.strip() {
                Ty::List(e) => &**e,
                _ => &Ty::Error,
            };
            let cells = arena.alloc_slice_fill_default::<Cell>(items.len());
            for (slot, it) in cells.iter_mut().zip(items.iter()) {
                *slot = build(pkg, arena, elem, it, borrow_text);
            }
            Cell::from_parts(cells.as_ptr() as usize, items.len())
        }
    }
}

/// Converts a cell of type `ty` back to a value.
///
/// # Safety
/// The cell (and what it points to) must be alive and of type `ty`.
pub unsafe fn from_cell(pkg: &ir::Package, ty: &Ty, c: &Cell) -> Value {
    if c.is_none() {
        return Value::None;
    }
    match ty.strip() {
        Ty::Bool => Value::Bool(c.u8() != 0),
        Ty::Int => Value::Int(c.i64()),
        Ty::Decimal => Value::Decimal(c.decimal()),
        Ty::Money => Value::Money(c.decimal(), c.currency_at(16)),
        Ty::Currency => Value::Currency(c.currency_at(0)),
        // SAFETY: forwarded from the caller.
        Ty::Text => Value::Text(Arc::from(unsafe { c.text() })),
        Ty::Date => Value::Date(Date(c.i32())),
        Ty::Timestamp => Value::Timestamp(Timestamp(c.i64())),
        Ty::Enum(_) => Value::Enum(c.u32()),
        Ty::Record(r) => {
            let Some(def) = pkg.record(*r) else { return Value::None };
            // SAFETY: forwarded from the caller.
            let cells = unsafe { c.cells(def.fields.len()) };
            // Collected straight into the `Arc` (one allocation: the iterator's length is known).
            Value::Record(
                def.fields.iter().zip(cells.iter()).map(|(f, fc)| unsafe { from_cell(pkg, &f.ty, fc) }).collect(),
            )
        }
        Ty::List(elem) => {
            // SAFETY: forwarded from the caller.
            let cells = unsafe { c.cells(c.len()) };
            Value::List(cells.iter().map(|x| unsafe { from_cell(pkg, elem, x) }).collect())
        }
        Ty::Optional(_) | Ty::NoneLit | Ty::Error => Value::None,
    }
}
