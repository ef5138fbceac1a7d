//! Canon's standard library: exact decimal arithmetic, Money, dates, text and the built-in functions.
//!
//! Everything here is total: a bad input or an arithmetic fault is a [`Fault`]
//! (which the engines turn into a rejection, LANGUAGE.md §12), never a panic.
//! Both the tree-walking interpreter and the JIT call these functions, so the
//! two engines share one definition of every operation.
//!
//! ```
//! use canon_stdlib::{num, money, Currency, Rounding};
//!
//! let rate = (num::parse("99.99").unwrap(), Currency::parse("EUR").unwrap());
//! let hours = num::parse("1.333").unwrap();
//! let gross = money::mul(rate, hours).unwrap();           // 133.28667 EUR, exact
//! let gross = canon_stdlib::functions::round::round_money(gross, 2, Rounding::HalfEven).unwrap();
//! let mut text = String::new();
//! money::format(gross, &mut text);
//! assert_eq!(text, "133.29 EUR");
//! ```

pub mod currency;
pub mod functions;
pub mod money;
pub mod num;
pub mod text;
pub mod time;

pub use rust_decimal::Decimal;

use std::fmt;

/// A run-time fault; becomes a rejection with `code()` (LANGUAGE.md §12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Int `+ - *` (or `abs`, unary `-`, an Int `sum`) left the signed 64-bit range.
    IntegerOverflow,
    /// A Decimal result needs more than the 96-bit coefficient.
    DecimalOverflow,
    /// A division (Int, Decimal or Money) by zero.
    DivisionByZero,
    /// Two Money values of different currencies met where one currency is
    /// required: the operation and its operands, left to right.
    CurrencyMismatch { op: money::MoneyOp, left: money::Money, right: money::Money },
    /// A built-in was given a value outside its domain; the text says which and why
    /// (lowercase, no final period, user values in backticks).
    InvalidArgument(String),
}

impl Fault {
    /// The rejection code of LANGUAGE.md §12.
    pub fn code(&self) -> &'static str {
        match self {
            Fault::IntegerOverflow => "INTEGER_OVERFLOW",
            Fault::DecimalOverflow => "DECIMAL_OVERFLOW",
            Fault::DivisionByZero => "DIVISION_BY_ZERO",
            Fault::CurrencyMismatch { .. } => "CURRENCY_MISMATCH",
            Fault::InvalidArgument(_) => "INVALID_ARGUMENT",
        }
    }

    /// A lowercase human-readable text without a final period.
    pub fn message(&self) -> String {
        match self {
            Fault::IntegerOverflow => "integer overflow: the result does not fit a signed 64-bit Int".to_owned(),
            Fault::DecimalOverflow => "decimal overflow: the result does not fit a 96-bit coefficient".to_owned(),
            Fault::DivisionByZero => "division by zero".to_owned(),
            Fault::CurrencyMismatch { op, left, right } => money::mismatch_message(*op, *left, *right),
            Fault::InvalidArgument(detail) => format!("invalid argument: {detail}"),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Fault {}

/// A currency code: three upper-case ASCII letters (not checked against ISO 4217;
/// [`currency::minor_units`] knows the ISO codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(pub [u8; 3]);

impl Currency {
    /// Accepts exactly three ASCII letters `A`..=`Z`.
    pub fn parse(s: &str) -> Option<Currency> {
        match s.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Some(Currency([a, b, c])),
            _ => None,
        }
    }

    /// The code as text. A value built directly from bytes that are not
    /// ASCII shows as `???` rather than panicking.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Appends [`Currency::as_str`]: the three letters without validating
    /// them again as UTF-8 (writers of outcomes call it for every Money).
    pub fn push_to(&self, out: &mut String) {
        if self.0.is_ascii() {
            out.reserve(3);
            for b in self.0 {
                out.push(char::from(b));
            }
        } else {
            out.push_str(self.as_str());
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calendar date: days since 1970-01-01 in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(pub i32);

/// A UTC instant: microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

/// Built-in enum `Rounding`, variants in this order (index = discriminant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Rounding {
    /// Nearest; ties to the even neighbour (banker's rounding). The default.
    HalfEven,
    /// Nearest; ties away from zero.
    HalfUp,
    /// Nearest; ties toward zero.
    HalfDown,
    /// Away from zero.
    Up,
    /// Toward zero (truncation).
    Down,
    /// Toward positive infinity.
    Ceiling,
    /// Toward negative infinity.
    Floor,
}

impl Rounding {
    /// Variant names, indexed by discriminant (these are also the JSON wire names).
    pub const NAMES: [&'static str; 7] = ["HalfEven", "HalfUp", "HalfDown", "Up", "Down", "Ceiling", "Floor"];

    /// The variant with discriminant `i`.
    pub fn from_index(i: u32) -> Option<Rounding> {
        Some(match i {
            0 => Rounding::HalfEven,
            1 => Rounding::HalfUp,
            2 => Rounding::HalfDown,
            3 => Rounding::Up,
            4 => Rounding::Down,
            5 => Rounding::Ceiling,
            6 => Rounding::Floor,
            _ => return None,
        })
    }

    /// The variant's name (and wire name).
    pub fn name(self) -> &'static str {
        Self::NAMES.get(self as usize).copied().unwrap_or("HalfEven")
    }
}

/// Built-in enum `Weekday`, Monday = 0 ... Sunday = 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// Variant names, indexed by discriminant (these are also the JSON wire names).
    pub const NAMES: [&'static str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

    /// The variant with discriminant `i`.
    pub fn from_index(i: u32) -> Option<Weekday> {
        Some(match i {
            0 => Weekday::Monday,
            1 => Weekday::Tuesday,
            2 => Weekday::Wednesday,
            3 => Weekday::Thursday,
            4 => Weekday::Friday,
            5 => Weekday::Saturday,
            6 => Weekday::Sunday,
            _ => return None,
        })
    }

    /// The variant's name (and wire name).
    pub fn name(self) -> &'static str {
        Self::NAMES.get(self as usize).copied().unwrap_or("Monday")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn a_currency_is_pushed_as_its_text() {
        for bytes in [*b"EUR", *b"usd", [0xC3, 0xA9, b'X'], [0xFF, b'A', b'B'], [0, 1, 2]] {
            let c = Currency(bytes);
            let mut out = String::from("x");
            c.push_to(&mut out);
            assert_eq!(out, format!("x{}", c.as_str()), "{bytes:?}");
        }
    }

    #[test]
    fn currency_parse() {
        assert_eq!(Currency::parse("USD").unwrap().as_str(), "USD");
        for bad in ["usd", "US", "USDX", "", "U$D", "ÜSD", "US1"] {
            assert_eq!(Currency::parse(bad), None, "{bad}");
        }
        assert_eq!(Currency([0xff, 0, 0]).as_str(), "???");
    }

    #[test]
    fn fault_codes_and_messages() {
        let usd = Currency::parse("USD").unwrap();
        let eur = Currency::parse("EUR").unwrap();
        let mismatch = Fault::CurrencyMismatch {
            op: money::MoneyOp::Add,
            left: (num::parse("1500.00").unwrap(), usd),
            right: (num::parse("100").unwrap(), eur),
        };
        assert_eq!(mismatch.code(), "CURRENCY_MISMATCH");
        assert_eq!(mismatch.message(), "currency mismatch: `1500.00 USD + 100 EUR`");
        assert_eq!(Fault::IntegerOverflow.code(), "INTEGER_OVERFLOW");
        assert_eq!(Fault::DecimalOverflow.code(), "DECIMAL_OVERFLOW");
        assert_eq!(Fault::DivisionByZero.code(), "DIVISION_BY_ZERO");
        assert_eq!(Fault::DivisionByZero.message(), "division by zero");
        assert_eq!(Fault::InvalidArgument("x".into()).code(), "INVALID_ARGUMENT");
        for f in [Fault::IntegerOverflow, Fault::DecimalOverflow, Fault::DivisionByZero, mismatch] {
            let m = f.message();
            assert!(m.starts_with(|c: char| c.is_ascii_lowercase()) && !m.ends_with('.'), "{m}");
        }
    }

    #[test]
    fn enum_indices() {
        for (i, name) in Rounding::NAMES.iter().enumerate() {
            let r = Rounding::from_index(i as u32).unwrap();
            assert_eq!(r as usize, i);
            assert_eq!(r.name(), *name);
        }
        assert_eq!(Rounding::from_index(7), None);
        for (i, name) in Weekday::NAMES.iter().enumerate() {
            let w = Weekday::from_index(i as u32).unwrap();
            assert_eq!(w as usize, i);
            assert_eq!(w.name(), *name);
        }
        assert_eq!(Weekday::from_index(7), None);
    }
}
