//! The workload's value types and their strict text forms: currencies, the
//! enumerations, decimals (read exactly from their digits), dates and
//! RFC 3339 timestamps. The grammars are Canon's (LANGUAGE.md §3), so a value
//! this program accepts is one `canon run` accepts, and the other way round.

use rust_decimal::Decimal;
use serde::de::{self, Deserialize, Deserializer, Visitor};

// ---------------------------------------------------------------------------
// Currency

/// A currency code: three ASCII letters `A`..=`Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const GBP: Currency = Currency(*b"GBP");

    pub fn parse(s: &str) -> Option<Currency> {
        match *s.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Some(Currency([a, b, c])),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

// ---------------------------------------------------------------------------
// Enumerations (wire names as in types.canon)

/// Defines a string-only enum: `Deserialize` accepts exactly the wire names
/// as JSON strings (not serde's `{"Variant": null}` form, which Canon rejects).
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        #[allow(dead_code, reason = "generated for every enum; each uses what it needs")]
        impl $name {
            pub const NAME: &'static str = stringify!($name);
            pub const WIRE: &'static [&'static str] = &[$($wire),+];

            pub fn from_wire(s: &str) -> Option<$name> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }

            pub fn wire(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name)))
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$name, E> {
                        $name::from_wire(s).ok_or_else(|| E::custom(concat!("not a ", stringify!($name))))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

wire_enum!(Role { Associate = "Associate", Senior = "Senior", Principal = "Principal", Partner = "Partner" });
wire_enum!(
    #[allow(clippy::upper_case_acronyms, reason = "the variants are the wire names")]
    Region { NA = "NA", EU = "EU", UK = "UK", APAC = "APAC" }
);
wire_enum!(WorkerKind { Employee = "Employee", Contractor = "Contractor" });
wire_enum!(ProjectStatus { Open = "OPEN", Closed = "CLOSED", OnHold = "ON_HOLD" });
wire_enum!(Tier { Standard = "Standard", Strategic = "Strategic" });

// ---------------------------------------------------------------------------
// Decimals

/// The largest coefficient a Decimal holds: 2^96 − 1.
const MAX_COEFFICIENT: u128 = (1u128 << 96) - 1;

/// Exact parse of `-? digits (. digits)? ([eE] [+-]? digits)?`: the scale is
/// max(0, fraction digits − exponent). `None` when malformed or when the value
/// cannot be held exactly at that scale (coefficient over 96 bits, scale over
/// 28). A zero is always positive.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let (int_digits, rest) = split_digits(rest);
    if int_digits.is_empty() {
        return None;
    }
    let (frac_digits, rest) = match rest.split_first() {
        Some((b'.', after)) => {
            let (frac, rest) = split_digits(after);
            if frac.is_empty() {
                return None;
            }
            (frac, rest)
        }
        _ => (&[][..], rest),
    };
    let exponent: i64 = match rest.split_first() {
        None => 0,
        Some((b'e' | b'E', after)) => {
            let (exp_negative, digits) = match after.split_first() {
                Some((b'+', digits)) => (false, digits),
                Some((b'-', digits)) => (true, digits),
                _ => (false, after),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let e = digits.iter().fold(0i64, |e, d| e.saturating_mul(10).saturating_add(i64::from(d - b'0')));
            if exp_negative {
                -e
            } else {
                e
            }
        }
        Some(_) => return None,
    };
    let mut coefficient: u128 = 0;
    for d in int_digits.iter().chain(frac_digits) {
        coefficient = coefficient * 10 + u128::from(d - b'0');
        if coefficient > MAX_COEFFICIENT {
            return None;
        }
    }
    let shift = exponent.saturating_sub(i64::try_from(frac_digits.len()).ok()?);
    let (coefficient, scale) = if shift >= 0 {
        if coefficient == 0 {
            (0, 0)
        } else {
            (coefficient.checked_mul(10u128.checked_pow(u32::try_from(shift).ok()?)?)?, 0)
        }
    } else {
        (coefficient, u32::try_from(shift.checked_neg()?).ok()?)
    };
    if coefficient > MAX_COEFFICIENT || scale > 28 {
        return None;
    }
    let signed = i128::try_from(coefficient).ok()?;
    let signed = if negative { -signed } else { signed };
    Decimal::try_from_i128_with_scale(signed, scale).ok()
}

fn split_digits(bytes: &[u8]) -> (&[u8], &[u8]) {
    let n = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    bytes.split_at_checked(n).unwrap_or((bytes, &[]))
}

// ---------------------------------------------------------------------------
// Dates and timestamps

/// A calendar date: days since 1970-01-01 (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub i32);

/// Days since 1970-01-01 of (y, m, d) (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day number (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400)) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(i64::from(self.0))
    }

    /// The first day of the date's month.
    pub fn start_of_month(self) -> Date {
        let (_, _, day) = self.ymd();
        Date(self.0 - i32::try_from(day).unwrap_or(1) + 1)
    }
}

/// A byte cursor for the fixed-width formats.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.byte()? == wanted).then_some(())
    }

    fn digits(&mut self, n: usize) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..n {
            let b = self.byte()?;
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        Some(value)
    }

    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }
}

/// `YYYY-MM-DD` naming a real day (years 0000..=9999, as four digits allow).
fn date_part(c: &mut Cursor<'_>) -> Option<Date> {
    let y = c.digits(4)?;
    c.expect(b'-')?;
    let m = c.digits(2)?;
    c.expect(b'-')?;
    let d = c.digits(2)?;
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    i32::try_from(days_from_civil(i64::from(y), m, d)).ok().map(Date)
}

/// Strict `YYYY-MM-DD`: `2026-02-30` and `2026-1-01` are `None`.
pub fn parse_date(s: &str) -> Option<Date> {
    let mut c = Cursor(s.as_bytes());
    let date = date_part(&mut c)?;
    c.0.is_empty().then_some(date)
}

/// Microseconds per day.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// RFC 3339 (`T` or `t`, optional fraction, `Z`/`z` or `±HH:MM`) as
/// microseconds since 1970-01-01T00:00:00Z; digits beyond microseconds are
/// dropped; a leap second (`:60`) is `None`.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let mut c = Cursor(s.as_bytes());
    let date = date_part(&mut c)?;
    if !matches!(c.byte()?, b'T' | b't') {
        return None;
    }
    let hour = c.digits(2)?;
    c.expect(b':')?;
    let minute = c.digits(2)?;
    c.expect(b':')?;
    let second = c.digits(2)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut micros: i64 = 0;
    if c.peek() == Some(b'.') {
        c.byte()?;
        let mut count = 0usize;
        while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
            c.byte()?;
            if count < 6 {
                micros = micros * 10 + i64::from(b - b'0');
            }
            count += 1;
        }
        if count == 0 {
            return None;
        }
        for _ in count..6 {
            micros *= 10;
        }
    }
    let offset_seconds: i64 = match c.byte()? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let oh = c.digits(2)?;
            c.expect(b':')?;
            let om = c.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let seconds = i64::from(oh * 3600 + om * 60);
            if sign == b'+' {
                seconds
            } else {
                -seconds
            }
        }
        _ => return None,
    };
    if !c.0.is_empty() {
        return None;
    }
    let local = i64::from(date.0) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let ts = local.checked_sub(offset_seconds)?.checked_mul(1_000_000)?.checked_add(micros)?;
    // As Canon: an instant whose UTC year has no four-digit form is no timestamp.
    let day = 86_400 * 1_000_000;
    (days_from_civil(0, 1, 1) * day..days_from_civil(10_000, 1, 1) * day).contains(&ts).then_some(ts)
}

/// The UTC date of an instant.
pub fn date_of(micros: i64) -> Date {
    Date(i32::try_from(micros.div_euclid(MICROS_PER_DAY)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn decimals_parse_exactly() {
        let s = |t: &str| parse_decimal(t).map(|d| d.to_string());
        assert_eq!(s("7.50").as_deref(), Some("7.50"));
        assert_eq!(s("007.50").as_deref(), Some("7.50"));
        assert_eq!(s("1e1").as_deref(), Some("10"));
        assert_eq!(s("7.5e-1").as_deref(), Some("0.75"));
        assert_eq!(s("-0.00").as_deref(), Some("0.00"));
        assert_eq!(parse_decimal("-0.00").map(|d| d.is_sign_negative()), Some(false));
        assert_eq!(s("79228162514264337593543950336"), None);
        assert_eq!(s("0.00000000000000000000000000001"), None);
        for bad in ["", ".5", "5.", "+1", "1_0", "abc", "1e", " 1"] {
            assert_eq!(s(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_and_timestamps() {
        let d = parse_date("2026-10-19").unwrap();
        assert_eq!(d.ymd(), (2026, 10, 19));
        assert_eq!(d.start_of_month().ymd(), (2026, 10, 1));
        assert_eq!(parse_date("0000-02-29").map(Date::ymd), Some((0, 2, 29)));
        for bad in ["2026-02-30", "2026-1-01", "2026-10-19 ", "2026-10-19T"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        let t = parse_timestamp("2026-10-19T01:00:00+05:00").unwrap();
        assert_eq!(date_of(t).ymd(), (2026, 10, 18));
        assert_eq!(parse_timestamp("2026-10-21T12:42:60Z"), None);
        assert_eq!(parse_timestamp("2026-10-21 12:42:00Z"), None);
        let t = parse_timestamp("0001-01-01T00:00:00+01:00").unwrap();
        assert_eq!(date_of(t).ymd(), (0, 12, 31));
    }
}
