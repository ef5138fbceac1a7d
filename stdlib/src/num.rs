//! Exact Int and Decimal arithmetic of LANGUAGE.md §6, plus exact parsing and formatting of decimals.
//!
//! rust_decimal is used as the *representation* (a 96-bit coefficient and a
//! scale of 0..=28), but not for `+ - *`: those round silently when a result
//! does not fit, where Canon requires the exact result or `DECIMAL_OVERFLOW`.
//! They are implemented here on the integer coefficients (`u128`, and a small
//! 256-bit path for products that need up to 192 bits).
//!
//! Every function that returns a Decimal returns a zero with a positive sign.

use crate::{Decimal, Fault, Rounding};
use std::cmp::Ordering;

/// The largest scale (fractional digits) a Decimal can have.
pub const MAX_SCALE: u32 = 28;

/// The largest coefficient magnitude: 2^96 − 1.
pub const MAX_COEFFICIENT: u128 = (1u128 << 96) - 1;

/// Powers of ten that fit a `u128` (10^0 ..= 10^38).
const POW10: [u128; 39] = {
    let mut table = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        #[expect(
            clippy::indexing_slicing,
            reason = "constant evaluation: an out-of-range index fails the build, not a run"
        )]
        {
            table[i] = table[i - 1] * 10;
        }
        i += 1;
    }
    table
};

/// 10^k, if it fits a `u128`.
fn pow10(k: u32) -> Option<u128> {
    POW10.get(usize::try_from(k).ok()?).copied()
}

// ---------------------------------------------------------------------------
// Int

/// Checked Int `+`.
pub fn int_add(a: i64, b: i64) -> Result<i64, Fault> {
    a.checked_add(b).ok_or(Fault::IntegerOverflow)
}

/// Checked Int `-`.
pub fn int_sub(a: i64, b: i64) -> Result<i64, Fault> {
    a.checked_sub(b).ok_or(Fault::IntegerOverflow)
}

/// Checked Int `*`.
pub fn int_mul(a: i64, b: i64) -> Result<i64, Fault> {
    a.checked_mul(b).ok_or(Fault::IntegerOverflow)
}

/// Checked Int unary `-` (only `i64::MIN` overflows).
pub fn int_neg(a: i64) -> Result<i64, Fault> {
    a.checked_neg().ok_or(Fault::IntegerOverflow)
}

/// Checked Int `abs` (only `i64::MIN` overflows).
pub fn int_abs(a: i64) -> Result<i64, Fault> {
    a.checked_abs().ok_or(Fault::IntegerOverflow)
}

/// `Int / Int`: Decimal division of the widened operands.
pub fn int_div(a: i64, b: i64) -> Result<Decimal, Fault> {
    div(from_int(a), from_int(b))
}

/// Widens an Int to a Decimal of scale 0 (every i64 fits 96 bits).
pub fn from_int(i: i64) -> Decimal {
    Decimal::from(i)
}

/// The Int value of `d` if it is a whole number in the i64 range (`3.00` gives 3).
pub fn to_i64_exact(d: &Decimal) -> Option<i64> {
    let m = d.mantissa();
    let unit = i128::try_from(pow10(d.scale())?).ok()?;
    if m % unit != 0 {
        return None;
    }
    i64::try_from(m / unit).ok()
}

// ---------------------------------------------------------------------------
// Decimal construction

/// Builds a Decimal from sign, magnitude and scale; `DecimalOverflow` if the
/// magnitude needs more than 96 bits. A zero is always positive.
fn build(negative: bool, magnitude: u128, scale: u32) -> Result<Decimal, Fault> {
    if magnitude > MAX_COEFFICIENT || scale > MAX_SCALE {
        return Err(Fault::DecimalOverflow);
    }
    let m = i128::try_from(magnitude).map_err(|_| Fault::DecimalOverflow)?;
    let m = if negative { -m } else { m };
    Decimal::try_from_i128_with_scale(m, scale).map_err(|_| Fault::DecimalOverflow)
}

/// Builds a Decimal from a signed coefficient and a scale (see [`build`]).
fn build_signed(m: i128, scale: u32) -> Result<Decimal, Fault> {
    build(m < 0, m.unsigned_abs(), scale)
}

/// Returns `d`, with a negative zero made positive.
pub fn normalize_zero(mut d: Decimal) -> Decimal {
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d
}

// ---------------------------------------------------------------------------
// Decimal arithmetic

/// Exact `a + b`; the scale is the larger of the two.
pub fn add(a: Decimal, b: Decimal) -> Result<Decimal, Fault> {
    add_coefficients(a.mantissa(), a.scale(), b.mantissa(), b.scale())
}

/// Exact `a - b`; the scale is the larger of the two.
pub fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Fault> {
    // Negating a coefficient of at most 96 bits cannot overflow i128.
    add_coefficients(a.mantissa(), a.scale(), -b.mantissa(), b.scale())
}

fn add_coefficients(ma: i128, sa: u32, mb: i128, sb: u32) -> Result<Decimal, Fault> {
    let scale = sa.max(sb);
    // Only the operand with the smaller scale is scaled up. If that overflows
    // i128 (> 1.7e38), the sum cannot come back under 2^96 because the other
    // operand is below 2^96: the result is an overflow either way.
    let ma = rescale_up(ma, scale.saturating_sub(sa))?;
    let mb = rescale_up(mb, scale.saturating_sub(sb))?;
    let sum = ma.checked_add(mb).ok_or(Fault::DecimalOverflow)?;
    build_signed(sum, scale)
}

fn rescale_up(m: i128, k: u32) -> Result<i128, Fault> {
    let factor = pow10(k)
        .and_then(|f| i128::try_from(f).ok())
        .ok_or(Fault::DecimalOverflow)?;
    m.checked_mul(factor).ok_or(Fault::DecimalOverflow)
}

/// Exact `a * b`; the scale is the sum of the scales. A scale above 28 is
/// rounded half-even to 28; a coefficient that then needs more than 96 bits
/// is `DecimalOverflow`.
pub fn mul(a: Decimal, b: Decimal) -> Result<Decimal, Fault> {
    let negative = a.is_sign_negative() != b.is_sign_negative();
    let ua = a.mantissa().unsigned_abs();
    let ub = b.mantissa().unsigned_abs();
    let scale = a.scale() + b.scale();
    let excess = scale.saturating_sub(MAX_SCALE);
    match ua.checked_mul(ub) {
        Some(product) if excess == 0 => build(negative, product, scale),
        Some(product) => {
            let divisor = pow10(excess).ok_or(Fault::DecimalOverflow)?;
            let q = div_rounded(product, divisor, Rounding::HalfEven, negative);
            build(negative, q, MAX_SCALE)
        }
        // The product is at least 2^128: far beyond 96 bits unless it is scaled down.
        None if excess == 0 => Err(Fault::DecimalOverflow),
        None => {
            let q = Wide::mul(ua, ub)
                .div_pow10_half_even(excess)
                .to_u128()
                .ok_or(Fault::DecimalOverflow)?;
            build(negative, q, MAX_SCALE)
        }
    }
}

/// `a / b`: the exact quotient when it fits, else rounded half-even to the
/// most fractional digits that fit (rust_decimal's division; `None` from it
/// is `DecimalOverflow`).
///
/// The language leaves the scale of a quotient open; this picks a
/// deterministic one, the "preferred scale" rule of IEEE 754 decimal
/// arithmetic and Java's `BigDecimal`: the value's shortest form, but at least
/// `scale(a) − scale(b)` digits when that fits (`7 / 2` is `3.5`,
/// `10.00 / 4` is `2.50`, `9 / 4.5` is `2`, `1 / 3` has 28 digits).
/// rust_decimal's own scales are erratic (`7 / 2` gives `3.50`).
pub fn div(a: Decimal, b: Decimal) -> Result<Decimal, Fault> {
    if b.is_zero() {
        return Err(Fault::DivisionByZero);
    }
    let quotient = a.checked_div(b).ok_or(Fault::DecimalOverflow)?.normalize();
    let preferred = a.scale().saturating_sub(b.scale());
    let negative = quotient.is_sign_negative();
    let mut magnitude = quotient.mantissa().unsigned_abs();
    let mut scale = quotient.scale();
    while scale < preferred {
        match magnitude.checked_mul(10).filter(|m| *m <= MAX_COEFFICIENT) {
            Some(raised) => {
                magnitude = raised;
                scale += 1;
            }
            None => break,
        }
    }
    build(negative, magnitude, scale)
}

/// Unary `-` (never fails: the coefficient range is symmetric).
pub fn neg(a: Decimal) -> Decimal {
    normalize_zero(-a)
}

/// Absolute value (never fails).
pub fn abs(a: Decimal) -> Decimal {
    normalize_zero(a.abs())
}

/// Comparison by value: `1.0 == 1.00`.
pub fn cmp(a: &Decimal, b: &Decimal) -> Ordering {
    a.cmp(b)
}

/// Rounds to exactly `places` fractional digits (0..=28, else
/// `InvalidArgument`). Raising the scale (`round(2.5, 2)` is `2.50`) can
/// overflow the coefficient: `DecimalOverflow`.
pub fn round(x: Decimal, places: i64, mode: Rounding) -> Result<Decimal, Fault> {
    let places = u32::try_from(places)
        .ok()
        .filter(|p| *p <= MAX_SCALE)
        .ok_or_else(|| {
            Fault::InvalidArgument(format!("`round` places must be in 0..=28, got `{places}`"))
        })?;
    let negative = x.is_sign_negative();
    let magnitude = x.mantissa().unsigned_abs();
    let scale = x.scale();
    if places >= scale {
        let factor = pow10(places - scale).ok_or(Fault::DecimalOverflow)?;
        let raised = magnitude
            .checked_mul(factor)
            .ok_or(Fault::DecimalOverflow)?;
        build(negative, raised, places)
    } else {
        let divisor = pow10(scale - places).ok_or(Fault::DecimalOverflow)?;
        build(
            negative,
            div_rounded(magnitude, divisor, mode, negative),
            places,
        )
    }
}

/// `magnitude / divisor` rounded by `mode`, for a value of the given sign.
fn div_rounded(magnitude: u128, divisor: u128, mode: Rounding, negative: bool) -> u128 {
    let (q, r) = match (
        magnitude.checked_div(divisor),
        magnitude.checked_rem(divisor),
    ) {
        (Some(q), Some(r)) => (q, r),
        _ => return magnitude,
    };
    // Compare the remainder with half the divisor without overflowing: 2r vs d  <=>  r vs d − r.
    let half = r.cmp(&(divisor - r));
    if rounds_away(mode, r != 0, half, q % 2 == 1, negative) {
        q + 1
    } else {
        q
    }
}

/// Whether a truncated quotient moves one unit away from zero.
/// `half` compares the discarded part with half a unit.
fn rounds_away(mode: Rounding, inexact: bool, half: Ordering, q_odd: bool, negative: bool) -> bool {
    if !inexact {
        return false;
    }
    match mode {
        Rounding::HalfEven => half == Ordering::Greater || (half == Ordering::Equal && q_odd),
        Rounding::HalfUp => half != Ordering::Less,
        Rounding::HalfDown => half == Ordering::Greater,
        Rounding::Up => true,
        Rounding::Down => false,
        Rounding::Ceiling => !negative,
        Rounding::Floor => negative,
    }
}

// ---------------------------------------------------------------------------
// 256-bit magnitudes for products of two 96-bit coefficients

/// An unsigned 256-bit integer as `hi * 2^128 + lo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wide {
    hi: u128,
    lo: u128,
}

const LOW64: u128 = u64::MAX as u128;

impl Wide {
    /// The full product of two `u128`s.
    fn mul(a: u128, b: u128) -> Wide {
        let (a1, a0) = (a >> 64, a & LOW64);
        let (b1, b0) = (b >> 64, b & LOW64);
        // Each partial product of two 64-bit halves fits a u128.
        let p00 = a0 * b0;
        let p01 = a0 * b1;
        let p10 = a1 * b0;
        let p11 = a1 * b1;
        // Middle column: high half of p00 plus the low halves of p01, p10 (at most 3 * 2^64).
        let mid = (p00 >> 64) + (p01 & LOW64) + (p10 & LOW64);
        let lo = (p00 & LOW64) | (mid << 64);
        let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
        Wide { hi, lo }
    }

    /// Long division by a nonzero `u64` divisor: quotient and remainder.
    fn div_rem_u64(self, d: u64) -> (Wide, u64) {
        let d = u128::from(d);
        if d == 0 {
            return (self, 0);
        }
        let mut rem: u128 = 0;
        let limbs = [
            self.hi >> 64,
            self.hi & LOW64,
            self.lo >> 64,
            self.lo & LOW64,
        ];
        // rem < d < 2^64, so (rem << 64) | limb fits a u128 and each quotient limb is < 2^64.
        let [q3, q2, q1, q0] = limbs.map(|limb| {
            let current = (rem << 64) | limb;
            rem = current % d;
            current / d
        });
        let rem = u64::try_from(rem).unwrap_or(0);
        (
            Wide {
                hi: (q3 << 64) | q2,
                lo: (q1 << 64) | q0,
            },
            rem,
        )
    }

    /// `self / 10^k` rounded half-even, for k >= 1.
    fn div_pow10_half_even(self, k: u32) -> Wide {
        if k == 0 {
            return self;
        }
        // Divide by 10^(k-1) in steps of at most 10^19 (fits a u64), remembering
        // whether anything nonzero was discarded, then by 10 for the last digit.
        let mut value = self;
        let mut sticky = false;
        let mut left = k - 1;
        while left > 0 {
            let step = left.min(19);
            let divisor = pow10(step).and_then(|p| u64::try_from(p).ok()).unwrap_or(1);
            let (q, r) = value.div_rem_u64(divisor);
            sticky |= r != 0;
            value = q;
            left -= step;
        }
        let (q, digit) = value.div_rem_u64(10);
        let half = match digit.cmp(&5) {
            Ordering::Equal if sticky => Ordering::Greater,
            other => other,
        };
        if rounds_away(
            Rounding::HalfEven,
            digit != 0 || sticky,
            half,
            q.lo % 2 == 1,
            false,
        ) {
            q.add_one()
        } else {
            q
        }
    }

    fn add_one(self) -> Wide {
        let (lo, carry) = self.lo.overflowing_add(1);
        Wide {
            hi: self.hi.wrapping_add(u128::from(carry)),
            lo,
        }
    }

    fn to_u128(self) -> Option<u128> {
        (self.hi == 0).then_some(self.lo)
    }
}

// ---------------------------------------------------------------------------
// Text

/// Exact parse of a JSON number's text or a numeric string's content:
/// `-? digits (. digits)? ([eE] [+-]? digits)?`. The scale is
/// max(0, fraction digits − exponent). `None` when the text is malformed or
/// the value cannot be held exactly with that scale.
pub fn parse(text: &str) -> Option<Decimal> {
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
            let e = digits.iter().fold(0i64, |e, d| {
                e.saturating_mul(10).saturating_add(i64::from(d - b'0'))
            });
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
    // value = coefficient * 10^shift
    let shift = exponent.saturating_sub(i64::try_from(frac_digits.len()).ok()?);
    let (coefficient, scale) = if shift >= 0 {
        if coefficient == 0 {
            (0, 0)
        } else {
            let factor = pow10(u32::try_from(shift).ok()?)?;
            (coefficient.checked_mul(factor)?, 0)
        }
    } else {
        (coefficient, u32::try_from(shift.checked_neg()?).ok()?)
    };
    build(negative, coefficient, scale).ok()
}

fn split_digits(bytes: &[u8]) -> (&[u8], &[u8]) {
    let n = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    bytes.split_at_checked(n).unwrap_or((bytes, &[]))
}

/// Plain notation keeping the scale (`1840.00`, `0.0200`, `-1.345`); never `-0`.
pub fn format(d: &Decimal, out: &mut String) {
    let m = d.mantissa();
    let digits = m.unsigned_abs().to_string();
    let scale = usize::try_from(d.scale()).unwrap_or(0);
    if m < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() <= scale {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    } else {
        let (int_part, frac_part) = digits
            .split_at_checked(digits.len() - scale)
            .unwrap_or((&digits, ""));
        out.push_str(int_part);
        out.push('.');
        out.push_str(frac_part);
    }
}

/// [`format`] into a new String.
pub fn to_string(d: &Decimal) -> String {
    let mut out = String::new();
    format(d, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        parse(s).unwrap_or_else(|| panic!("bad decimal {s}"))
    }

    fn s(x: Result<Decimal, Fault>) -> String {
        match x {
            Ok(x) => to_string(&x),
            Err(f) => f.code().to_owned(),
        }
    }

    const MAX: &str = "79228162514264337593543950335";

    #[test]
    fn int_ops() {
        assert_eq!(int_add(i64::MAX, 1), Err(Fault::IntegerOverflow));
        assert_eq!(int_add(i64::MAX - 1, 1), Ok(i64::MAX));
        assert_eq!(int_sub(i64::MIN, 1), Err(Fault::IntegerOverflow));
        assert_eq!(int_mul(i64::MAX / 2 + 1, 2), Err(Fault::IntegerOverflow));
        assert_eq!(int_mul(-3, 4), Ok(-12));
        assert_eq!(int_neg(i64::MIN), Err(Fault::IntegerOverflow));
        assert_eq!(int_neg(i64::MAX), Ok(-i64::MAX));
        assert_eq!(int_abs(i64::MIN), Err(Fault::IntegerOverflow));
        assert_eq!(int_abs(-7), Ok(7));
        assert_eq!(s(int_div(7, 2)), "3.5");
        assert_eq!(s(int_div(6, 3)), "2");
        assert_eq!(s(int_div(1, 0)), "DIVISION_BY_ZERO");
        assert_eq!(s(int_div(i64::MIN, -1)), "9223372036854775808");
        assert_eq!(s(int_div(2, 3)), "0.6666666666666666666666666667");
        assert_eq!(from_int(i64::MIN).scale(), 0);
        assert_eq!(to_string(&from_int(i64::MIN)), "-9223372036854775808");
        assert_eq!(to_i64_exact(&d("3.00")), Some(3));
        assert_eq!(to_i64_exact(&d("-3.50")), None);
        assert_eq!(to_i64_exact(&d("9223372036854775808")), None);
        assert_eq!(to_i64_exact(&d("-9223372036854775808")), Some(i64::MIN));
    }

    /// Every number of conformance case 002-decimal-rounding: a, b, a+b, a*b and
    /// the seven roundings of a*b to 2 places.
    #[test]
    fn conformance_002_table() {
        #[rustfmt::skip]
        let table: &[(&str, &str, &str, &str, [&str; 7])] = &[
            ("1.25", "0.5", "1.75", "0.625", ["0.62", "0.63", "0.62", "0.63", "0.62", "0.63", "0.62"]),
            ("-1.25", "0.5", "-0.75", "-0.625", ["-0.62", "-0.63", "-0.62", "-0.63", "-0.62", "-0.62", "-0.63"]),
            ("2.675", "1", "3.675", "2.675", ["2.68", "2.68", "2.67", "2.68", "2.67", "2.68", "2.67"]),
            ("0.10", "0.20", "0.30", "0.0200", ["0.02", "0.02", "0.02", "0.02", "0.02", "0.02", "0.02"]),
            ("1.005", "3", "4.005", "3.015", ["3.02", "3.02", "3.01", "3.02", "3.01", "3.02", "3.01"]),
            ("0.001", "0.001", "0.002", "0.000001", ["0.00", "0.00", "0.00", "0.01", "0.00", "0.01", "0.00"]),
            ("2.5", "1", "3.5", "2.5", ["2.50", "2.50", "2.50", "2.50", "2.50", "2.50", "2.50"]),
            ("-2.345", "1", "-1.345", "-2.345", ["-2.34", "-2.35", "-2.34", "-2.35", "-2.34", "-2.34", "-2.35"]),
        ];
        for (a, b, sum, product, rounded) in table {
            let (a, b) = (d(a), d(b));
            assert_eq!(s(add(a, b)), *sum, "{a} + {b}");
            let p = mul(a, b).unwrap();
            assert_eq!(to_string(&p), *product, "{a} * {b}");
            for (i, expected) in rounded.iter().enumerate() {
                let mode = Rounding::from_index(i as u32).unwrap();
                assert_eq!(s(round(p, 2, mode)), *expected, "round({p}, 2, {mode:?})");
            }
        }
    }

    #[test]
    fn spec_section_6_examples() {
        assert_eq!(s(round(d("2.5"), 2, Rounding::HalfEven)), "2.50");
        assert_eq!(s(round(d("-0.001"), 2, Rounding::HalfEven)), "0.00");
        assert_eq!(s(round(d("-0.001"), 2, Rounding::Floor)), "-0.01");
        assert_eq!(s(round(d("-0.001"), 2, Rounding::Up)), "-0.01");
        assert_eq!(s(round(d("-0.001"), 2, Rounding::Ceiling)), "0.00");
        assert_eq!(s(round(d("-0.001"), 2, Rounding::Down)), "0.00");
        assert_eq!(cmp(&d("1.0"), &d("1.00")), Ordering::Equal);
        assert_eq!(cmp(&d("-1.0"), &d("0.00")), Ordering::Less);
        assert_eq!(s(mul(d("1.50"), d("2.00"))), "3.0000");
        assert_eq!(s(add(d("12.50"), d("0.075"))), "12.575");
        assert_eq!(s(sub(d("1.00"), d("1"))), "0.00");
        assert_eq!(s(sub(d("-1.00"), d("-1"))), "0.00");
        assert_eq!(s(mul(d("-0.00"), d("5"))), "0.00");
        assert_eq!(s(mul(d("0.00"), d("-5"))), "0.00");
        assert_eq!(s(div(d("1"), d("0.00"))), "DIVISION_BY_ZERO");
        assert_eq!(s(div(d("-0.00"), d("3"))), "0.00");
        // Quotient scales: the shortest exact form, but at least scale(a) − scale(b).
        assert_eq!(s(div(d("7"), d("2"))), "3.5");
        assert_eq!(s(div(d("10.00"), d("4"))), "2.50");
        assert_eq!(s(div(d("9"), d("4.5"))), "2");
        assert_eq!(s(div(d("0.0001"), d("2"))), "0.00005");
        assert_eq!(s(div(d("1.00"), d("1"))), "1.00");
        assert_eq!(s(div(d("1"), d("1.00"))), "1");
        assert_eq!(s(div(d("-30.00"), d("120"))), "-0.25");
        assert_eq!(s(div(d("100"), d("7"))), "14.285714285714285714285714286");
        assert_eq!(s(div(d("-2"), d("3"))), "-0.6666666666666666666666666667");
        assert_eq!(
            s(div(d("7.9228162514264337593543950335"), d("1"))),
            "7.9228162514264337593543950335"
        );
        assert_eq!(s(div(d(MAX), d("-1"))), format!("-{MAX}"));
        assert_eq!(to_string(&neg(d("0.00"))), "0.00");
        assert_eq!(to_string(&neg(d("1.50"))), "-1.50");
        assert_eq!(to_string(&abs(d("-1.50"))), "1.50");
        assert!(neg(d("0.00")).is_sign_positive());
        // Division: exact when it fits, else half-even to the most digits that fit.
        assert_eq!(s(div(d("15.5"), d("25.0"))), "0.62");
        assert_eq!(s(div(d("1"), d("3"))), "0.3333333333333333333333333333");
        assert_eq!(s(div(d(MAX), d("0.1"))), "DECIMAL_OVERFLOW");
        assert_eq!(
            s(div(d("1"), d("0.0000000000000000000000000001"))),
            "10000000000000000000000000000"
        );
    }

    #[test]
    fn round_every_mode_on_ties_and_non_ties() {
        // (x, [HalfEven, HalfUp, HalfDown, Up, Down, Ceiling, Floor]) at 0 places
        #[rustfmt::skip]
        let table: &[(&str, [&str; 7])] = &[
            ("2.5", ["2", "3", "2", "3", "2", "3", "2"]),
            ("3.5", ["4", "4", "3", "4", "3", "4", "3"]),
            ("-2.5", ["-2", "-3", "-2", "-3", "-2", "-2", "-3"]),
            ("-3.5", ["-4", "-4", "-3", "-4", "-3", "-3", "-4"]),
            ("2.51", ["3", "3", "3", "3", "2", "3", "2"]),
            ("2.49", ["2", "2", "2", "3", "2", "3", "2"]),
            ("-2.49", ["-2", "-2", "-2", "-3", "-2", "-2", "-3"]),
            ("0.5", ["0", "1", "0", "1", "0", "1", "0"]),
            ("-0.5", ["0", "-1", "0", "-1", "0", "0", "-1"]),
            ("7", ["7", "7", "7", "7", "7", "7", "7"]),
            ("-7.000", ["-7", "-7", "-7", "-7", "-7", "-7", "-7"]),
        ];
        for (x, expected) in table {
            for (i, e) in expected.iter().enumerate() {
                let mode = Rounding::from_index(i as u32).unwrap();
                assert_eq!(s(round(d(x), 0, mode)), *e, "round({x}, 0, {mode:?})");
            }
        }
    }

    #[test]
    fn round_places_and_scale_raising() {
        assert_eq!(s(round(d("1"), -1, Rounding::HalfEven)), "INVALID_ARGUMENT");
        assert_eq!(s(round(d("1"), 29, Rounding::HalfEven)), "INVALID_ARGUMENT");
        assert_eq!(
            s(round(d("1"), i64::MAX, Rounding::HalfEven)),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            round(d("1"), 29, Rounding::HalfEven).unwrap_err().message(),
            "invalid argument: `round` places must be in 0..=28, got `29`"
        );
        assert_eq!(
            s(round(d("1"), 28, Rounding::HalfEven)),
            "1.0000000000000000000000000000"
        );
        assert_eq!(
            s(round(d("7.9"), 28, Rounding::HalfEven)),
            "7.9000000000000000000000000000"
        );
        assert_eq!(s(round(d("8"), 28, Rounding::HalfEven)), "DECIMAL_OVERFLOW");
        assert_eq!(s(round(d(MAX), 0, Rounding::Up)), MAX);
        assert_eq!(s(round(d(MAX), 1, Rounding::Up)), "DECIMAL_OVERFLOW");
        assert_eq!(
            s(round(d("7.9228162514264337593543950335"), 0, Rounding::Up)),
            "8"
        );
        assert_eq!(
            s(round(
                d("-7.9228162514264337593543950335"),
                27,
                Rounding::Floor
            )),
            "-7.922816251426433759354395034"
        );
        assert_eq!(
            s(round(
                d("0.0000000000000000000000000001"),
                0,
                Rounding::Ceiling
            )),
            "1"
        );
        assert_eq!(
            s(round(
                d("0.0000000000000000000000000005"),
                27,
                Rounding::HalfEven
            )),
            "0.000000000000000000000000000"
        );
        assert_eq!(
            s(round(
                d("0.0000000000000000000000000015"),
                27,
                Rounding::HalfEven
            )),
            "0.000000000000000000000000002"
        );
    }

    #[test]
    fn add_sub_overflow_edges() {
        assert_eq!(s(add(d(MAX), d("0"))), MAX);
        assert_eq!(s(add(d(MAX), d("1"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(sub(d(&format!("-{MAX}")), d("1"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(add(d(MAX), d(&format!("-{MAX}")))), "0");
        // rust_decimal would round this to 79228162514264337593543950335 silently.
        assert_eq!(s(add(d(MAX), d("0.1"))), "DECIMAL_OVERFLOW");
        // The scaled-up operand exceeds 96 bits but the exact sum fits.
        assert_eq!(
            s(add(d("7922816251426433759354395034"), d("-0.5"))),
            "7922816251426433759354395033.5"
        );
        // 28-digit scales.
        let tiny = d("0.0000000000000000000000000001");
        assert_eq!(s(add(tiny, tiny)), "0.0000000000000000000000000002");
        assert_eq!(s(add(d("1"), tiny)), "1.0000000000000000000000000001");
        assert_eq!(
            s(add(d("7.9228162514264337593543950335"), tiny)),
            "DECIMAL_OVERFLOW"
        );
        assert_eq!(s(add(d("10"), tiny)), "DECIMAL_OVERFLOW");
        assert_eq!(s(sub(tiny, tiny)), "0.0000000000000000000000000000");
        // A value needing an i128-overflowing rescale.
        assert_eq!(s(add(d(MAX), tiny)), "DECIMAL_OVERFLOW");
    }

    #[test]
    fn mul_overflow_and_rounding_edges() {
        assert_eq!(s(mul(d(MAX), d("1"))), MAX);
        assert_eq!(s(mul(d(MAX), d("-1"))), format!("-{MAX}"));
        assert_eq!(s(mul(d(MAX), d("1.0"))), "DECIMAL_OVERFLOW");
        assert_eq!(
            s(mul(d("39614081257132168796771975168"), d("2"))),
            "DECIMAL_OVERFLOW"
        );
        assert_eq!(
            s(mul(d("39614081257132168796771975167"), d("2"))),
            "79228162514264337593543950334"
        );
        // The product of two max coefficients needs 192 bits.
        assert_eq!(s(mul(d(MAX), d(MAX))), "DECIMAL_OVERFLOW");
        // Scale 56 rounded to 28 (fits i128 before rounding).
        let tiny = d("0.0000000000000000000000000001");
        assert_eq!(s(mul(tiny, tiny)), "0.0000000000000000000000000000");
        assert_eq!(
            s(mul(d("0.00000000000001"), d("0.000000000000015"))),
            "0.0000000000000000000000000002"
        );
        assert_eq!(
            s(mul(d("0.00000000000001"), d("0.000000000000025"))),
            "0.0000000000000000000000000002"
        );
        assert_eq!(
            s(mul(d("-0.00000000000001"), d("0.000000000000035"))),
            "-0.0000000000000000000000000004"
        );
        assert_eq!(
            s(mul(d("-0.00000000000001"), d("0.000000000000001"))),
            "0.0000000000000000000000000000"
        );
        // Needs 192 bits, rounds back into range.
        let one_plus = d("1.0000000000000000000000000001");
        assert_eq!(s(mul(one_plus, one_plus)), "1.0000000000000000000000000002");
        let half_plus = d("0.5000000000000000000000000001");
        assert_eq!(
            s(mul(half_plus, half_plus)),
            "0.2500000000000000000000000001"
        );
        assert_eq!(
            s(mul(
                d("7.9228162514264337593543950335"),
                d("1.0000000000000000000000000000")
            )),
            "7.9228162514264337593543950335"
        );
        assert_eq!(
            s(mul(
                d("-7.9228162514264337593543950335"),
                d("1.0000000000000000000000000000")
            )),
            "-7.9228162514264337593543950335"
        );
        // Needs 192 bits and overflows even after rounding to 28 places.
        assert_eq!(
            s(mul(
                d("7.9228162514264337593543950335"),
                d("7.9228162514264337593543950335")
            )),
            "DECIMAL_OVERFLOW"
        );
        assert_eq!(
            s(mul(
                d("7.9228162514264337593543950335"),
                d("1.0000000000000000000000000001")
            )),
            "DECIMAL_OVERFLOW"
        );
        // A tie in the 256-bit path: 5·10^16·3^46 / 10^17 = 3^46 / 2, rounded half-even.
        let three46 = 3u128.pow(46);
        let a = build(false, 10u128.pow(16) * 3u128.pow(20), 28).unwrap();
        let b = build(false, 5 * 3u128.pow(26), 17).unwrap();
        assert!((10u128.pow(16) * 3u128.pow(20))
            .checked_mul(5 * 3u128.pow(26))
            .is_none());
        let q = three46 / 2;
        let expected = if q % 2 == 1 { q + 1 } else { q };
        let product = mul(a, b).unwrap();
        assert_eq!(product.mantissa(), expected as i128);
        assert_eq!(product.scale(), 28);
        let product = mul(a, neg(b)).unwrap();
        assert_eq!(product.mantissa(), -(expected as i128));
    }

    /// The literal §6 rule (scale of `*` = sum of scales, of `+` = the larger
    /// scale, overflow instead of silent rounding) applied to a 28-digit
    /// quotient: these reject although the values are small. rust_decimal
    /// would round to 27 places instead. Kept visible on purpose: the
    /// language spec, not this crate, decides whether that should change.
    #[test]
    fn long_quotients_overflow_in_later_arithmetic() {
        let two_thirds = div(d("2"), d("3")).unwrap();
        assert_eq!(to_string(&two_thirds), "0.6666666666666666666666666667");
        assert_eq!(mul(two_thirds, d("100")), Err(Fault::DecimalOverflow));
        assert_eq!(add(two_thirds, d("10")), Err(Fault::DecimalOverflow));
        assert_eq!(
            s(mul(two_thirds, d("10"))),
            "6.6666666666666666666666666670"
        );
        assert_eq!(
            s(round(two_thirds, 4, Rounding::HalfEven).and_then(|r| mul(r, d("100")))),
            "66.6700"
        );
    }

    #[test]
    fn wide_arithmetic() {
        let w = Wide::mul(u128::MAX, u128::MAX);
        // (2^128 − 1)^2 = 2^256 − 2^129 + 1
        assert_eq!(
            w,
            Wide {
                hi: u128::MAX - 1,
                lo: 1
            }
        );
        let w = Wide::mul(1u128 << 100, 1u128 << 100);
        assert_eq!(
            w,
            Wide {
                hi: 1u128 << 72,
                lo: 0
            }
        );
        // (2^128 + 5) / 10 = 34028236692093846346337460743176821146 remainder 1
        let (q, r) = Wide { hi: 1, lo: 5 }.div_rem_u64(10);
        assert_eq!(q.to_u128(), Some(34028236692093846346337460743176821146));
        assert_eq!(r, 1);
        let x = MAX_COEFFICIENT * 12345;
        let (q, r) = Wide::mul(x, u128::from(u64::MAX)).div_rem_u64(u64::MAX);
        assert_eq!((q, r), (Wide { hi: 0, lo: x }, 0));
        let (q, r) = Wide::mul(x, u128::from(u64::MAX))
            .add_one()
            .div_rem_u64(u64::MAX);
        assert_eq!((q, r), (Wide { hi: 0, lo: x }, 1));
        assert_eq!(Wide { hi: 0, lo: 25 }.div_pow10_half_even(1).lo, 2);
        assert_eq!(Wide { hi: 0, lo: 35 }.div_pow10_half_even(1).lo, 4);
        assert_eq!(Wide { hi: 0, lo: 2501 }.div_pow10_half_even(2).lo, 25);
        assert_eq!(Wide { hi: 0, lo: 2550 }.div_pow10_half_even(2).lo, 26);
        assert_eq!(Wide { hi: 0, lo: 2450 }.div_pow10_half_even(2).lo, 24);
        assert_eq!(Wide { hi: 0, lo: 2450001 }.div_pow10_half_even(5).lo, 25);
        assert_eq!(
            Wide {
                hi: 0,
                lo: u128::MAX
            }
            .add_one(),
            Wide { hi: 1, lo: 0 }
        );
    }

    #[test]
    fn parse_accepts() {
        let cases: &[(&str, &str)] = &[
            ("0", "0"),
            ("-0", "0"),
            ("-0.00", "0.00"),
            ("12.50", "12.50"),
            ("0.075", "0.075"),
            ("007", "7"),
            ("1.50E+3", "1500"),
            ("1.5e-3", "0.0015"),
            ("1.5E3", "1500"),
            ("1e0", "1"),
            ("1.50e1", "15.0"),
            ("1.50e2", "150"),
            ("-2.5E-1", "-0.25"),
            ("0e999999999999999999999", "0"),
            ("0.0e1", "0"),
            ("5e-28", "0.0000000000000000000000000005"),
            ("1e28", "10000000000000000000000000000"),
            (MAX, MAX),
            (
                "7.9228162514264337593543950335",
                "7.9228162514264337593543950335",
            ),
            (
                "0.0000000000000000000000000001",
                "0.0000000000000000000000000001",
            ),
            ("0000000000000000000000000000000000000000001.5", "1.5"),
            ("-9223372036854775808", "-9223372036854775808"),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse(text).map(|x| to_string(&x)).as_deref(),
                Some(*expected),
                "{text}"
            );
        }
        assert!(parse("-0").unwrap().is_sign_positive());
        assert_eq!(parse("1.50E+3").unwrap().scale(), 0);
        assert_eq!(parse("1.5e-3").unwrap().scale(), 4);
    }

    #[test]
    fn parse_rejects() {
        for text in [
            "",
            "-",
            "+1",
            "1.",
            ".5",
            "-.5",
            " 1",
            "1 ",
            "1,5",
            "1_000",
            "NaN",
            "nan",
            "Infinity",
            "-Infinity",
            "inf",
            "1e",
            "1e+",
            "1e-",
            "1E+-3",
            "e5",
            "1.5.5",
            "0x10",
            "1e5.5",
            "--1",
            "١",
            "1d",
            // out of range: coefficient or scale
            "79228162514264337593543950336",
            "7.9228162514264337593543950336",
            "1e29",
            "0.00000000000000000000000000001",
            "1e-29",
            "0e-29",
            "1e-9999999999999999999999",
            "1e9999999999999999999999",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn format_never_negative_zero() {
        let z = -Decimal::new(0, 2);
        let mut out = String::new();
        format(&z, &mut out);
        assert_eq!(out, "0.00");
        assert_eq!(to_string(&Decimal::new(-5, 3)), "-0.005");
        assert_eq!(to_string(&Decimal::new(184000, 2)), "1840.00");
        assert_eq!(to_string(&Decimal::new(200, 4)), "0.0200");
    }

    // ---- property tests -------------------------------------------------

    /// Decimals across the whole range, with extra weight on small coefficients,
    /// coefficients near 2^96 and the scales 0 and 28.
    fn any_decimal() -> impl Strategy<Value = Decimal> {
        let magnitude = prop_oneof![
            0u128..1000,
            0u128..1_000_000_000_000,
            0u128..=MAX_COEFFICIENT,
            (MAX_COEFFICIENT - 1000)..=MAX_COEFFICIENT,
            (0u32..=28).prop_map(|k| POW10[k as usize]),
            (0u32..=28, 0u128..10).prop_map(|(k, x)| POW10[k as usize] * 5 + x),
        ];
        let scale = prop_oneof![0u32..=28, Just(0u32), Just(28u32), 0u32..=4];
        (any::<bool>(), magnitude, scale).prop_map(|(n, m, s)| build(n, m, s).unwrap())
    }

    /// An independent reference: multiplication and half-even rounding on decimal digit strings.
    fn reference_mul(a: &Decimal, b: &Decimal) -> String {
        let da: Vec<u32> = a
            .mantissa()
            .unsigned_abs()
            .to_string()
            .bytes()
            .map(|c| u32::from(c - b'0'))
            .collect();
        let db: Vec<u32> = b
            .mantissa()
            .unsigned_abs()
            .to_string()
            .bytes()
            .map(|c| u32::from(c - b'0'))
            .collect();
        let mut prod = vec![0u32; da.len() + db.len()];
        for (i, x) in da.iter().rev().enumerate() {
            for (j, y) in db.iter().rev().enumerate() {
                prod[i + j] += x * y;
            }
        }
        for i in 0..prod.len() - 1 {
            let carry = prod[i] / 10;
            prod[i] %= 10;
            prod[i + 1] += carry;
        }
        // prod is little-endian digits; pad so every dropped position exists
        let mut scale = (a.scale() + b.scale()) as usize;
        prod.resize(prod.len().max(scale + 1), 0);
        if scale > 28 {
            let k = scale - 28;
            let dropped: Vec<u32> = prod[..k.min(prod.len())].to_vec();
            let mut kept: Vec<u32> = if k < prod.len() {
                prod[k..].to_vec()
            } else {
                vec![0]
            };
            let first = *dropped.last().unwrap();
            let rest_nonzero = dropped[..dropped.len() - 1].iter().any(|x| *x != 0);
            let odd = kept[0] % 2 == 1;
            if first > 5 || (first == 5 && (rest_nonzero || odd)) {
                let mut i = 0;
                loop {
                    if i == kept.len() {
                        kept.push(1);
                        break;
                    }
                    kept[i] += 1;
                    if kept[i] < 10 {
                        break;
                    }
                    kept[i] = 0;
                    i += 1;
                }
            }
            prod = kept;
            scale = 28;
        }
        let mut digits: String = prod
            .iter()
            .rev()
            .map(|x| char::from(b'0' + *x as u8))
            .collect();
        let trimmed = digits.trim_start_matches('0').to_owned();
        digits = if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed
        };
        if digits.len() > MAX.len() || (digits.len() == MAX.len() && digits.as_str() > MAX) {
            return "DECIMAL_OVERFLOW".to_owned();
        }
        let m: u128 = digits.parse().unwrap();
        let negative = a.is_sign_negative() != b.is_sign_negative();
        to_string(&build(negative, m, scale as u32).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn format_parse_round_trip(x in any_decimal()) {
            let text = to_string(&x);
            let back = parse(&text).unwrap();
            prop_assert_eq!(back.mantissa(), x.mantissa());
            prop_assert_eq!(back.scale(), x.scale());
            prop_assert_eq!(to_string(&back), text);
        }

        #[test]
        fn parse_exponent_forms(x in any_decimal(), e in -40i64..40) {
            // Write x's coefficient with an exponent: the value is x·10^e and the
            // scale is max(0, fraction digits − exponent) = max(0, scale(x) − e).
            let m = x.mantissa();
            let text = format!("{m}e{}", e - i64::from(x.scale()));
            let text_with_fraction = format!("{}E{e:+}", to_string(&x));
            let expected_scale = (i64::from(x.scale()) - e).max(0);
            let shift = e - i64::from(x.scale());
            let fits = if expected_scale > 28 {
                false
            } else if shift <= 0 || m == 0 {
                true
            } else {
                10u128.checked_pow(shift as u32).and_then(|f| m.unsigned_abs().checked_mul(f)).is_some_and(|c| c <= MAX_COEFFICIENT)
            };
            for text in [&text, &text_with_fraction] {
                match parse(text) {
                    Some(y) => {
                        prop_assert!(fits, "{} parsed", text);
                        prop_assert_eq!(i64::from(y.scale()), expected_scale);
                        let expected_m = if shift <= 0 { m } else { m * POW10[shift as usize] as i128 };
                        prop_assert_eq!(y.mantissa(), expected_m);
                    }
                    None => prop_assert!(!fits, "{} rejected", text),
                }
            }
        }

        #[test]
        fn add_sub_agree_with_rust_decimal(a in any_decimal(), b in any_decimal()) {
            let scale = a.scale().max(b.scale());
            for (ours, theirs) in [(add(a, b), a.checked_add(b)), (sub(a, b), a.checked_sub(b))] {
                if let Some(t) = theirs.filter(|t| t.scale() == scale) {
                    let o = ours.clone().unwrap();
                    prop_assert_eq!(o.mantissa(), t.mantissa());
                    prop_assert_eq!(o.scale(), scale);
                }
                if let Ok(o) = ours {
                    prop_assert_eq!(o.scale(), scale);
                    prop_assert_eq!(Some(o), theirs);
                    prop_assert!(!(o.is_zero() && o.is_sign_negative()));
                }
            }
        }

        #[test]
        fn mul_agrees_with_rust_decimal(a in any_decimal(), b in any_decimal()) {
            let scale = a.scale() + b.scale();
            let ours = mul(a, b);
            if scale <= 28 {
                if let Some(t) = a.checked_mul(b).filter(|t| t.scale() == scale) {
                    let o = ours.clone().unwrap();
                    prop_assert_eq!(o.mantissa(), t.mantissa());
                    prop_assert_eq!(o.scale(), scale);
                }
            }
            if let Ok(o) = ours {
                prop_assert_eq!(o.scale(), scale.min(28));
                prop_assert!(!(o.is_zero() && o.is_sign_negative()));
            }
        }

        #[test]
        fn mul_matches_digit_reference(a in any_decimal(), b in any_decimal()) {
            prop_assert_eq!(s(mul(a, b)), reference_mul(&a, &b));
        }

        #[test]
        fn div_inverts_exact_mul(a in any_decimal(), b in any_decimal()) {
            if let Ok(p) = mul(a, b) {
                if a.scale() + b.scale() <= 28 && !b.is_zero() {
                    let q = div(p, b).unwrap();
                    prop_assert_eq!(cmp(&q, &a), Ordering::Equal);
                }
            }
        }

        #[test]
        fn div_scale_rule(a in any_decimal(), b in any_decimal()) {
            if let Ok(q) = div(a, b) {
                prop_assert!(!(q.is_zero() && q.is_sign_negative()));
                let theirs = a.checked_div(b).unwrap();
                prop_assert_eq!(cmp(&q, &theirs), Ordering::Equal);
                let preferred = a.scale().saturating_sub(b.scale());
                let minimal = theirs.normalize().scale();
                // at least the shortest form; more only up to the preferred scale
                prop_assert!(q.scale() >= minimal);
                prop_assert!(q.scale() <= minimal.max(preferred));
                if q.scale() < preferred {
                    prop_assert!(q.mantissa().unsigned_abs().checked_mul(10).is_none_or(|m| m > MAX_COEFFICIENT));
                }
            } else {
                prop_assert!(b.is_zero() || a.checked_div(b).is_none());
            }
        }

        #[test]
        fn round_has_exact_scale(x in any_decimal(), places in 0i64..=28, mode in 0u32..7) {
            let mode = Rounding::from_index(mode).unwrap();
            match round(x, places, mode) {
                Ok(r) => {
                    prop_assert_eq!(i64::from(r.scale()), places);
                    prop_assert!(!(r.is_zero() && r.is_sign_negative()));
                    if places < i64::from(x.scale()) {
                        use rust_decimal::RoundingStrategy as S;
                        let strategy = match mode {
                            Rounding::HalfEven => S::MidpointNearestEven,
                            Rounding::HalfUp => S::MidpointAwayFromZero,
                            Rounding::HalfDown => S::MidpointTowardZero,
                            Rounding::Up => S::AwayFromZero,
                            Rounding::Down => S::ToZero,
                            Rounding::Ceiling => S::ToPositiveInfinity,
                            Rounding::Floor => S::ToNegativeInfinity,
                        };
                        let theirs = x.round_dp_with_strategy(places as u32, strategy);
                        prop_assert_eq!(cmp(&r, &theirs), Ordering::Equal);
                    } else {
                        prop_assert_eq!(cmp(&r, &x), Ordering::Equal);
                    }
                }
                Err(f) => {
                    prop_assert_eq!(f, Fault::DecimalOverflow);
                    // Only raising the scale can overflow.
                    let raise = u32::try_from(places).unwrap().checked_sub(x.scale());
                    prop_assert!(raise.is_some_and(|k| x.mantissa().unsigned_abs().checked_mul(POW10[k as usize]).is_none_or(|m| m > MAX_COEFFICIENT)));
                }
            }
        }

        #[test]
        fn cmp_agrees_with_sub(a in any_decimal(), b in any_decimal()) {
            if let Ok(diff) = sub(a, b) {
                prop_assert_eq!(cmp(&a, &b), cmp(&diff, &Decimal::ZERO));
            }
            prop_assert_eq!(cmp(&a, &b), cmp(&b, &a).reverse());
        }

        #[test]
        fn neg_and_abs_normalise(x in any_decimal()) {
            prop_assert!(!(neg(x).is_zero() && neg(x).is_sign_negative()));
            prop_assert_eq!(neg(neg(x)), x);
            prop_assert_eq!(abs(x).scale(), x.scale());
            prop_assert!(abs(x).is_sign_positive());
        }

        #[test]
        fn parse_never_panics(text in "[-+0-9.eE]{0,40}") {
            let _ = parse(&text);
        }
    }
}
