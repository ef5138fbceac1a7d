//! Exact Int and Decimal arithmetic of LANGUAGE.md §6, plus exact parsing and formatting of decimals.
//!
//! rust_decimal is used as the *representation* (a 96-bit coefficient and a
//! scale of 0..=28), but `+ - *` are computed here on the integer
//! coefficients, so that the rule below holds by construction and is tested
//! against a digit-string reference. (rust_decimal 1.43's `checked_*` agree
//! in value and in when they overflow; the property tests check that too.)
//!
//! # Decimal `+ - *`: exact when it fits, else one half-even rounding
//!
//! The *natural scale* of a result is the larger of the two scales for `+`
//! and `-` and the sum of the scales for `*`. The exact result is computed at
//! that scale, in 256 bits when it does not fit a `u128` (aligned addends are
//! below 2^190, products of two coefficients below 2^192). Then:
//!
//! - if its coefficient fits (at most 2^96 − 1) and the natural scale is at
//!   most 28, that is the result, unrounded (`1.50 * 2.00` is `3.0000`);
//! - otherwise it is rounded half-even to the *most fractional digits that
//!   fit*: the exact coefficient is divided by 10^k for the smallest k that
//!   gives scale ≤ 28 and a coefficient ≤ 2^96 − 1 after rounding. The
//!   rounding is done once, from the exact value (never digit by digit, never
//!   first to 28 places and then again), so there is no double rounding;
//! - only when even the value rounded to a whole number (scale 0) needs more
//!   than 96 bits, i.e. its magnitude is at least 2^96 after rounding, the
//!   result is `DECIMAL_OVERFLOW`.
//!
//! This is the rule LANGUAGE.md §6 gives for division, applied to `+ - *` as
//! well (a project decision, docs/decisions.md): a finance user expects
//! `2 / 3 * 100` to be 66.66666666666666666666666667 (written
//! `66.666666666666666666666666670`: 27 places fit, and the exact product
//! `66.6666666666666666666666666700` loses only zeros) and `1 / 3 + 10` to be
//! `10.333333333333333333333333333`, not a rejection. The result's scale is
//! therefore not always the natural one: round results to the places you
//! need before output. Only a genuinely too-large magnitude rejects
//! (`79228162514264337593543950335 * 2`).
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
pub(crate) fn pow10(k: u32) -> Option<u128> {
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
pub(crate) fn build(negative: bool, magnitude: u128, scale: u32) -> Result<Decimal, Fault> {
    if magnitude > MAX_COEFFICIENT || scale > MAX_SCALE {
        return Err(Fault::DecimalOverflow);
    }
    let m = i128::try_from(magnitude).map_err(|_| Fault::DecimalOverflow)?;
    let m = if negative { -m } else { m };
    Decimal::try_from_i128_with_scale(m, scale).map_err(|_| Fault::DecimalOverflow)
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

/// `a + b`: the exact sum when it fits, with the larger of the two scales;
/// otherwise the exact sum rounded once, half-even, to the most fractional
/// digits that fit (see the module docs). `DecimalOverflow` only when the
/// sum rounded to a whole number still needs more than 96 bits
/// (`79228162514264337593543950335 + 0.1` is `79228162514264337593543950335`,
/// `… + 0.5` rounds to 2^96 and overflows).
pub fn add(a: Decimal, b: Decimal) -> Result<Decimal, Fault> {
    add_parts(
        (a.is_sign_negative(), a.mantissa().unsigned_abs(), a.scale()),
        (b.is_sign_negative(), b.mantissa().unsigned_abs(), b.scale()),
    )
}

/// `a - b`, by the same rule as [`add`].
pub fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Fault> {
    add_parts(
        (a.is_sign_negative(), a.mantissa().unsigned_abs(), a.scale()),
        (!b.is_sign_negative(), b.mantissa().unsigned_abs(), b.scale()),
    )
}

/// A decimal taken apart: sign (`true` is negative), coefficient magnitude, scale.
type Parts = (bool, u128, u32);

/// The sum of two signed decimals, exact or rounded once to fit.
fn add_parts((na, ua, sa): Parts, (nb, ub, sb): Parts) -> Result<Decimal, Fault> {
    let scale = sa.max(sb);
    // Only the operand with the smaller scale is scaled up (by at most 10^28).
    let fa = pow10(scale - sa).ok_or(Fault::DecimalOverflow)?;
    let fb = pow10(scale - sb).ok_or(Fault::DecimalOverflow)?;
    // Fast path: everything in u128 and the exact sum fits as it is.
    if let (Some(wa), Some(wb)) = (ua.checked_mul(fa), ub.checked_mul(fb)) {
        let exact = if na == nb {
            wa.checked_add(wb).map(|sum| (na, sum))
        } else if wa >= wb {
            Some((na, wa - wb))
        } else {
            Some((nb, wb - wa))
        };
        if let Some((negative, magnitude)) = exact {
            if magnitude <= MAX_COEFFICIENT {
                return build(negative, magnitude, scale);
            }
        }
    }
    // The aligned operands are below 2^96 · 10^28 < 2^190: their exact sum
    // fits 256 bits comfortably.
    let wa = Wide::mul(ua, fa);
    let wb = Wide::mul(ub, fb);
    let (negative, magnitude) = if na == nb {
        (na, wa.checked_add(wb).ok_or(Fault::DecimalOverflow)?)
    } else if wa >= wb {
        (na, wa.wrapping_sub(wb))
    } else {
        (nb, wb.wrapping_sub(wa))
    };
    fit(negative, magnitude, scale)
}

/// `a * b`: the exact product when it fits, with the sum of the scales as its
/// scale; otherwise the exact product (up to 192 bits, scale up to 56)
/// rounded once, half-even, to the most fractional digits that fit, so never
/// more than 28 (`0.3333333333333333333333333333 * 1000` is
/// `333.33333333333333333333333330`, scale 26: 29 digits fit, 30 do not).
/// `DecimalOverflow` only when the product rounded to a whole number still
/// needs more than 96 bits (`79228162514264337593543950335 * 2`).
pub fn mul(a: Decimal, b: Decimal) -> Result<Decimal, Fault> {
    let negative = a.is_sign_negative() != b.is_sign_negative();
    let ua = a.mantissa().unsigned_abs();
    let ub = b.mantissa().unsigned_abs();
    let scale = a.scale() + b.scale();
    match ua.checked_mul(ub) {
        Some(product) if product <= MAX_COEFFICIENT && scale <= MAX_SCALE => build(negative, product, scale),
        Some(product) => fit(negative, Wide { hi: 0, lo: product }, scale),
        None => fit(negative, Wide::mul(ua, ub), scale),
    }
}

/// The exact value `magnitude · 10^−scale` (with the given sign) as a
/// Decimal: unchanged when it fits (scale ≤ 28, coefficient ≤ 2^96 − 1), else
/// divided by 10^k, rounding half-even once from the exact value, for the
/// smallest k that makes it fit. `DecimalOverflow` when no k ≤ scale does,
/// i.e. when the value rounded to a whole number is at least 2^96.
fn fit(negative: bool, magnitude: Wide, scale: u32) -> Result<Decimal, Fault> {
    let limit = Wide { hi: 0, lo: MAX_COEFFICIENT };
    // The smallest k whose truncated quotient fits (truncation composes
    // exactly, so it can be found digit by digit) ...
    let mut k = scale.saturating_sub(MAX_SCALE);
    let mut truncated = magnitude.div_pow10_sticky(k).0;
    while truncated > limit {
        if k >= scale {
            return Err(Fault::DecimalOverflow);
        }
        truncated = truncated.div_rem_u64(10).0;
        k += 1;
    }
    // ... then one rounding of the exact value. Rounding up can carry the
    // coefficient to 2^96 only when the truncated quotient was 2^96 − 1; one
    // digit fewer then fits, again rounded once from the exact value.
    let mut rounded = magnitude.div_pow10_half_even(k);
    if rounded > limit {
        if k >= scale {
            return Err(Fault::DecimalOverflow);
        }
        k += 1;
        rounded = magnitude.div_pow10_half_even(k);
    }
    let coefficient = rounded.to_u128().ok_or(Fault::DecimalOverflow)?;
    build(negative, coefficient, scale - k)
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
        .ok_or_else(|| Fault::InvalidArgument(format!("`round` places must be in 0..=28, got `{places}`")))?;
    let negative = x.is_sign_negative();
    let magnitude = x.mantissa().unsigned_abs();
    let scale = x.scale();
    if places >= scale {
        let factor = pow10(places - scale).ok_or(Fault::DecimalOverflow)?;
        let raised = magnitude.checked_mul(factor).ok_or(Fault::DecimalOverflow)?;
        build(negative, raised, places)
    } else {
        let divisor = pow10(scale - places).ok_or(Fault::DecimalOverflow)?;
        build(negative, div_rounded(magnitude, divisor, mode, negative), places)
    }
}

/// `magnitude / divisor` rounded by `mode`, for a value of the given sign.
fn div_rounded(magnitude: u128, divisor: u128, mode: Rounding, negative: bool) -> u128 {
    let (q, r) = match (magnitude.checked_div(divisor), magnitude.checked_rem(divisor)) {
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
// 256-bit magnitudes for exact sums and products before rounding

/// An unsigned 256-bit integer as `hi * 2^128 + lo` (the derived ordering,
/// `hi` first, is the numeric one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
        let limbs = [self.hi >> 64, self.hi & LOW64, self.lo >> 64, self.lo & LOW64];
        // rem < d < 2^64, so (rem << 64) | limb fits a u128 and each quotient limb is < 2^64.
        let [q3, q2, q1, q0] = limbs.map(|limb| {
            let current = (rem << 64) | limb;
            rem = current % d;
            current / d
        });
        let rem = u64::try_from(rem).unwrap_or(0);
        (Wide { hi: (q3 << 64) | q2, lo: (q1 << 64) | q0 }, rem)
    }

    /// `self / 10^k` truncated, and whether the discarded part was nonzero.
    fn div_pow10_sticky(self, k: u32) -> (Wide, bool) {
        // Steps of at most 10^19 (fits a u64); truncation composes exactly.
        let mut value = self;
        let mut sticky = false;
        let mut left = k;
        while left > 0 {
            let step = left.min(19);
            let divisor = pow10(step).and_then(|p| u64::try_from(p).ok()).unwrap_or(1);
            let (q, r) = value.div_rem_u64(divisor);
            sticky |= r != 0;
            value = q;
            left -= step;
        }
        (value, sticky)
    }

    /// `self / 10^k` rounded half-even (a single rounding of the exact quotient).
    fn div_pow10_half_even(self, k: u32) -> Wide {
        if k == 0 {
            return self;
        }
        // Divide by 10^(k-1), remembering whether anything nonzero was
        // discarded, then by 10 for the last digit.
        let (value, sticky) = self.div_pow10_sticky(k - 1);
        let (q, digit) = value.div_rem_u64(10);
        let half = match digit.cmp(&5) {
            Ordering::Equal if sticky => Ordering::Greater,
            other => other,
        };
        if rounds_away(Rounding::HalfEven, digit != 0 || sticky, half, q.lo % 2 == 1, false) {
            q.add_one()
        } else {
            q
        }
    }

    /// `self + other`, `None` past 2^256 − 1.
    fn checked_add(self, other: Wide) -> Option<Wide> {
        let (lo, carry) = self.lo.overflowing_add(other.lo);
        let hi = self.hi.checked_add(other.hi)?.checked_add(u128::from(carry))?;
        Some(Wide { hi, lo })
    }

    /// `self − other` modulo 2^256 (callers ensure `self >= other`).
    fn wrapping_sub(self, other: Wide) -> Wide {
        let (lo, borrow) = self.lo.overflowing_sub(other.lo);
        let hi = self.hi.wrapping_sub(other.hi).wrapping_sub(u128::from(borrow));
        Wide { hi, lo }
    }

    fn add_one(self) -> Wide {
        let (lo, carry) = self.lo.overflowing_add(1);
        Wide { hi: self.hi.wrapping_add(u128::from(carry)), lo }
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
    // The digits on the stack (itoa, the same digits as `to_string`): a
    // String per decimal written was most of an outcome's decimals.
    let mut buf = itoa::Buffer::new();
    let abs = m.unsigned_abs();
    let digits: &str = match u64::try_from(abs) {
        Ok(small) => buf.format(small),
        Err(_) => buf.format(abs),
    };
    let scale = usize::try_from(d.scale()).unwrap_or(0);
    if m < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(digits);
    } else if digits.len() <= scale {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(digits);
    } else {
        let (int_part, frac_part) = digits.split_at_checked(digits.len() - scale).unwrap_or((digits, ""));
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
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
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
        assert_eq!(s(div(d("7.9228162514264337593543950335"), d("1"))), "7.9228162514264337593543950335");
        assert_eq!(s(div(d(MAX), d("-1"))), format!("-{MAX}"));
        assert_eq!(to_string(&neg(d("0.00"))), "0.00");
        assert_eq!(to_string(&neg(d("1.50"))), "-1.50");
        assert_eq!(to_string(&abs(d("-1.50"))), "1.50");
        assert!(neg(d("0.00")).is_sign_positive());
        // Division: exact when it fits, else half-even to the most digits that fit.
        assert_eq!(s(div(d("15.5"), d("25.0"))), "0.62");
        assert_eq!(s(div(d("1"), d("3"))), "0.3333333333333333333333333333");
        assert_eq!(s(div(d(MAX), d("0.1"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(div(d("1"), d("0.0000000000000000000000000001"))), "10000000000000000000000000000");
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
        assert_eq!(s(round(d("1"), i64::MAX, Rounding::HalfEven)), "INVALID_ARGUMENT");
        assert_eq!(
            round(d("1"), 29, Rounding::HalfEven).unwrap_err().message(),
            "invalid argument: `round` places must be in 0..=28, got `29`"
        );
        assert_eq!(s(round(d("1"), 28, Rounding::HalfEven)), "1.0000000000000000000000000000");
        assert_eq!(s(round(d("7.9"), 28, Rounding::HalfEven)), "7.9000000000000000000000000000");
        assert_eq!(s(round(d("8"), 28, Rounding::HalfEven)), "DECIMAL_OVERFLOW");
        assert_eq!(s(round(d(MAX), 0, Rounding::Up)), MAX);
        assert_eq!(s(round(d(MAX), 1, Rounding::Up)), "DECIMAL_OVERFLOW");
        assert_eq!(s(round(d("7.9228162514264337593543950335"), 0, Rounding::Up)), "8");
        assert_eq!(
            s(round(d("-7.9228162514264337593543950335"), 27, Rounding::Floor)),
            "-7.922816251426433759354395034"
        );
        assert_eq!(s(round(d("0.0000000000000000000000000001"), 0, Rounding::Ceiling)), "1");
        assert_eq!(
            s(round(d("0.0000000000000000000000000005"), 27, Rounding::HalfEven)),
            "0.000000000000000000000000000"
        );
        assert_eq!(
            s(round(d("0.0000000000000000000000000015"), 27, Rounding::HalfEven)),
            "0.000000000000000000000000002"
        );
    }

    #[test]
    fn add_sub_overflow_edges() {
        assert_eq!(s(add(d(MAX), d("0"))), MAX);
        assert_eq!(s(add(d(MAX), d("1"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(sub(d(&format!("-{MAX}")), d("1"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(add(d(MAX), d(&format!("-{MAX}")))), "0");
        // The exact sum needs more than 96 bits at the natural scale: rounded
        // half-even to the most fractional digits that fit (here none).
        assert_eq!(s(add(d(MAX), d("0.1"))), MAX);
        assert_eq!(s(add(d(MAX), d("0.0000000000000000000000000001"))), MAX);
        // ... unless the rounded whole number is 2^96 or more.
        assert_eq!(s(add(d(MAX), d("0.5"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(sub(d(&format!("-{MAX}")), d("0.5"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(add(d("79228162514264337593543950334"), d("0.5"))), "79228162514264337593543950334");
        assert_eq!(s(sub(d("-79228162514264337593543950334"), d("0.5"))), "-79228162514264337593543950334");
        assert_eq!(s(sub(d(MAX), d("0.5"))), "79228162514264337593543950334");
        // One rounding of the exact sum: 333.46 is 333, where rounding digit
        // by digit (333.5, then 334) would not be.
        assert_eq!(s(add(d("79228162514264337593543950333"), d("0.46"))), "79228162514264337593543950333");
        // 7922816251426433759354395033.55: one digit fewer is the tie
        // 79228162514264337593543950335|5, which rounds up past 2^96 − 1, so
        // two digits fewer, rounded again from the exact sum.
        assert_eq!(s(add(d("7922816251426433759354395033.5"), d("0.05"))), "7922816251426433759354395034");
        // The scaled-up operand exceeds 96 bits but the exact sum fits.
        assert_eq!(s(add(d("7922816251426433759354395034"), d("-0.5"))), "7922816251426433759354395033.5");
        // 28-digit scales.
        let tiny = d("0.0000000000000000000000000001");
        assert_eq!(s(add(tiny, tiny)), "0.0000000000000000000000000002");
        assert_eq!(s(add(d("1"), tiny)), "1.0000000000000000000000000001");
        assert_eq!(s(add(d("7.9228162514264337593543950335"), tiny)), "7.922816251426433759354395034");
        assert_eq!(s(add(d("10"), tiny)), "10.000000000000000000000000000");
        assert_eq!(s(sub(d("10"), tiny)), "10.000000000000000000000000000");
        assert_eq!(s(sub(tiny, d("10"))), "-10.000000000000000000000000000");
        assert_eq!(s(sub(tiny, tiny)), "0.0000000000000000000000000000");
        assert!(sub(neg(tiny), neg(tiny)).unwrap().is_sign_positive());
        assert!(add(neg(tiny), tiny).unwrap().is_sign_positive());
    }

    #[test]
    fn mul_overflow_and_rounding_edges() {
        assert_eq!(s(mul(d(MAX), d("1"))), MAX);
        assert_eq!(s(mul(d(MAX), d("-1"))), format!("-{MAX}"));
        // Exact at scale 0 (the natural scale 1 does not fit).
        assert_eq!(s(mul(d(MAX), d("1.0"))), MAX);
        // True overflows: the magnitude is at least 2^96.
        assert_eq!(s(mul(d(MAX), d("2"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(mul(d(MAX), d("-2"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(mul(d("39614081257132168796771975168"), d("2"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(mul(d("39614081257132168796771975167"), d("2"))), "79228162514264337593543950334");
        // 39614081257132168796771975167.5 rounds half-even to …168.
        assert_eq!(s(mul(d(MAX), d("-0.5"))), "-39614081257132168796771975168");
        // (2^97 − 1) / 2 = 79228162514264337593543950335.5 rounds half-even to
        // 2^96 (2^97 − 1 = 11447 · 13842607235828485645766393).
        assert_eq!(s(mul(d("13842607235828485645766393"), d("5723.5"))), "DECIMAL_OVERFLOW");
        assert_eq!(s(mul(d("13842607235828485645766393"), d("5723.4"))), "79226778253540754744979373696");
        // The product of two max coefficients needs 192 bits.
        assert_eq!(s(mul(d(MAX), d(MAX))), "DECIMAL_OVERFLOW");
        // Scale 56 rounded to 28 (fits i128 before rounding).
        let tiny = d("0.0000000000000000000000000001");
        assert_eq!(s(mul(tiny, tiny)), "0.0000000000000000000000000000");
        assert_eq!(s(mul(d("0.00000000000001"), d("0.000000000000015"))), "0.0000000000000000000000000002");
        assert_eq!(s(mul(d("0.00000000000001"), d("0.000000000000025"))), "0.0000000000000000000000000002");
        assert_eq!(s(mul(d("-0.00000000000001"), d("0.000000000000035"))), "-0.0000000000000000000000000004");
        assert_eq!(s(mul(d("-0.00000000000001"), d("0.000000000000001"))), "0.0000000000000000000000000000");
        // Needs 192 bits, rounds back into range.
        let one_plus = d("1.0000000000000000000000000001");
        assert_eq!(s(mul(one_plus, one_plus)), "1.0000000000000000000000000002");
        let half_plus = d("0.5000000000000000000000000001");
        assert_eq!(s(mul(half_plus, half_plus)), "0.2500000000000000000000000001");
        assert_eq!(
            s(mul(d("7.9228162514264337593543950335"), d("1.0000000000000000000000000000"))),
            "7.9228162514264337593543950335"
        );
        assert_eq!(
            s(mul(d("-7.9228162514264337593543950335"), d("1.0000000000000000000000000000"))),
            "-7.9228162514264337593543950335"
        );
        // Needs 192 bits and a scale below 28.
        assert_eq!(
            s(mul(d("7.9228162514264337593543950335"), d("7.9228162514264337593543950335"))),
            "62.771017353866807638357894230"
        );
        assert_eq!(
            s(mul(d("7.9228162514264337593543950335"), d("1.0000000000000000000000000001"))),
            "7.922816251426433759354395034"
        );
        // Scale reductions below 28: 333.3333333333333333333333333000 (scale
        // 31) keeps 26 digits (29 significant digits fit, 30 do not) ...
        let third = d("0.3333333333333333333333333333");
        let p = mul(third, d("1000")).unwrap();
        assert_eq!(to_string(&p), "333.33333333333333333333333330");
        assert_eq!(p.scale(), 26);
        assert_eq!(cmp(&p, &d("333.3333333333333333333333333")), Ordering::Equal);
        // ... and 411.3333333333333333333333332922 rounds to 26 digits.
        assert_eq!(s(mul(third, d("1234"))), "411.33333333333333333333333329");
        assert_eq!(s(mul(neg(third), d("1234"))), "-411.33333333333333333333333329");
        // One rounding of the exact 8.166813773702676378854678043465 to 27
        // places; rounding to 28 places first (…0435) and then to 27 would give …044.
        assert_eq!(s(mul(d("7.7779178797168346465282648033"), d("1.05"))), "8.166813773702676378854678043");
        // A tie in the 256-bit path: 5·10^16·3^46 / 10^17 = 3^46 / 2, rounded half-even.
        let three46 = 3u128.pow(46);
        let a = build(false, 10u128.pow(16) * 3u128.pow(20), 28).unwrap();
        let b = build(false, 5 * 3u128.pow(26), 17).unwrap();
        assert!((10u128.pow(16) * 3u128.pow(20)).checked_mul(5 * 3u128.pow(26)).is_none());
        let q = three46 / 2;
        let expected = if q % 2 == 1 { q + 1 } else { q };
        let product = mul(a, b).unwrap();
        assert_eq!(product.mantissa(), expected as i128);
        assert_eq!(product.scale(), 28);
        let product = mul(a, neg(b)).unwrap();
        assert_eq!(product.mantissa(), -(expected as i128));
    }

    /// A 28-digit quotient in later arithmetic: `+` and `*` keep the most
    /// fractional digits that fit instead of rejecting.
    #[test]
    fn long_quotients_in_later_arithmetic() {
        let two_thirds = div(d("2"), d("3")).unwrap();
        assert_eq!(to_string(&two_thirds), "0.6666666666666666666666666667");
        // Exact: 66.6666666666666666666666666700 (scale 30); 27 places fit.
        let p = mul(two_thirds, d("100")).unwrap();
        assert_eq!(to_string(&p), "66.666666666666666666666666670");
        assert_eq!(p.scale(), 27);
        assert_eq!(cmp(&p, &d("66.66666666666666666666666667")), Ordering::Equal);
        assert_eq!(s(round(p, 1, Rounding::HalfEven)), "66.7");
        assert_eq!(s(round(p, 2, Rounding::HalfEven)), "66.67");
        assert_eq!(s(mul(neg(two_thirds), d("100"))), "-66.666666666666666666666666670");
        assert_eq!(s(add(two_thirds, d("10"))), "10.666666666666666666666666667");
        let third = div(d("1"), d("3")).unwrap();
        assert_eq!(s(add(third, d("10"))), "10.333333333333333333333333333");
        assert_eq!(s(sub(third, d("10"))), "-9.666666666666666666666666667");
        assert_eq!(s(sub(d("10"), third)), "9.666666666666666666666666667");
        assert_eq!(s(mul(two_thirds, d("10"))), "6.6666666666666666666666666670");
        assert_eq!(s(round(two_thirds, 4, Rounding::HalfEven).and_then(|r| mul(r, d("100")))), "66.6700");
    }

    #[test]
    fn wide_arithmetic() {
        let w = Wide::mul(u128::MAX, u128::MAX);
        // (2^128 − 1)^2 = 2^256 − 2^129 + 1
        assert_eq!(w, Wide { hi: u128::MAX - 1, lo: 1 });
        let w = Wide::mul(1u128 << 100, 1u128 << 100);
        assert_eq!(w, Wide { hi: 1u128 << 72, lo: 0 });
        // (2^128 + 5) / 10 = 34028236692093846346337460743176821146 remainder 1
        let (q, r) = Wide { hi: 1, lo: 5 }.div_rem_u64(10);
        assert_eq!(q.to_u128(), Some(34028236692093846346337460743176821146));
        assert_eq!(r, 1);
        let x = MAX_COEFFICIENT * 12345;
        let (q, r) = Wide::mul(x, u128::from(u64::MAX)).div_rem_u64(u64::MAX);
        assert_eq!((q, r), (Wide { hi: 0, lo: x }, 0));
        let (q, r) = Wide::mul(x, u128::from(u64::MAX)).add_one().div_rem_u64(u64::MAX);
        assert_eq!((q, r), (Wide { hi: 0, lo: x }, 1));
        assert_eq!(Wide { hi: 0, lo: 25 }.div_pow10_half_even(1).lo, 2);
        assert_eq!(Wide { hi: 0, lo: 35 }.div_pow10_half_even(1).lo, 4);
        assert_eq!(Wide { hi: 0, lo: 2501 }.div_pow10_half_even(2).lo, 25);
        assert_eq!(Wide { hi: 0, lo: 2550 }.div_pow10_half_even(2).lo, 26);
        assert_eq!(Wide { hi: 0, lo: 2450 }.div_pow10_half_even(2).lo, 24);
        assert_eq!(Wide { hi: 0, lo: 2450001 }.div_pow10_half_even(5).lo, 25);
        assert_eq!(Wide { hi: 0, lo: u128::MAX }.add_one(), Wide { hi: 1, lo: 0 });
        // Wide sums, differences and truncating division for `+ -`.
        let a = Wide::mul(MAX_COEFFICIENT, POW10[28]);
        let b = Wide { hi: 0, lo: u128::MAX };
        let sum = a.checked_add(b).unwrap();
        assert_eq!(sum.wrapping_sub(b), a);
        assert_eq!(sum.wrapping_sub(a), b);
        assert_eq!(b.checked_add(Wide { hi: 0, lo: 1 }), Some(Wide { hi: 1, lo: 0 }));
        assert_eq!(Wide { hi: 1, lo: 0 }.wrapping_sub(Wide { hi: 0, lo: 1 }), b);
        assert_eq!(Wide { hi: u128::MAX, lo: u128::MAX }.checked_add(Wide { hi: 0, lo: 1 }), None);
        assert!(Wide { hi: 1, lo: 0 } > Wide { hi: 0, lo: u128::MAX });
        assert!(a > sum.wrapping_sub(a));
        assert_eq!(a.div_pow10_sticky(28), (Wide { hi: 0, lo: MAX_COEFFICIENT }, false));
        assert_eq!(a.add_one().div_pow10_sticky(28), (Wide { hi: 0, lo: MAX_COEFFICIENT }, true));
        assert_eq!(a.div_pow10_sticky(0), (a, false));
        assert_eq!(a.div_pow10_sticky(60), (Wide { hi: 0, lo: 0 }, true));
        assert_eq!(a.div_pow10_half_even(28).lo, MAX_COEFFICIENT);
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
            ("7.9228162514264337593543950335", "7.9228162514264337593543950335"),
            ("0.0000000000000000000000000001", "0.0000000000000000000000000001"),
            ("0000000000000000000000000000000000000000001.5", "1.5"),
            ("-9223372036854775808", "-9223372036854775808"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).map(|x| to_string(&x)).as_deref(), Some(*expected), "{text}");
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

    /// Little-endian decimal digits of a coefficient's magnitude.
    fn digits_of(x: &Decimal) -> Vec<u32> {
        x.mantissa().unsigned_abs().to_string().bytes().rev().map(|c| u32::from(c - b'0')).collect()
    }

    /// Resolves carries in little-endian digits (each entry may exceed 9).
    fn carry(mut v: Vec<u32>) -> Vec<u32> {
        let mut i = 0;
        while i < v.len() {
            let c = v[i] / 10;
            v[i] %= 10;
            if c > 0 {
                if i + 1 == v.len() {
                    v.push(0);
                }
                v[i + 1] += c;
            }
            i += 1;
        }
        v
    }

    /// Compares two little-endian digit strings by value.
    fn cmp_digits(a: &[u32], b: &[u32]) -> Ordering {
        let n = a.len().max(b.len());
        for i in (0..n).rev() {
            let (x, y) = (a.get(i).unwrap_or(&0), b.get(i).unwrap_or(&0));
            if x != y {
                return x.cmp(y);
            }
        }
        Ordering::Equal
    }

    /// An independent reference for the rounding rule, on decimal digit
    /// strings: the exact value (sign, little-endian digits, scale) rounded
    /// half-even, each time from the exact digits, to the largest scale
    /// ≤ min(scale, 28) whose coefficient fits 96 bits; else `DECIMAL_OVERFLOW`.
    fn reference_fit(negative: bool, digits: &[u32], scale: usize) -> String {
        for k in scale.saturating_sub(28)..=scale {
            // Drop the k lowest digits: the first dropped one decides, the
            // rest only matter for a tie.
            let mut kept: Vec<u32> = digits.get(k..).map(<[u32]>::to_vec).unwrap_or_default();
            let first = if k == 0 { 0 } else { digits.get(k - 1).copied().unwrap_or(0) };
            let rest_nonzero = digits.iter().take(k.saturating_sub(1)).any(|x| *x != 0);
            let odd = kept.first().is_some_and(|x| x % 2 == 1);
            if first > 5 || (first == 5 && (rest_nonzero || odd)) {
                if kept.is_empty() {
                    kept.push(0);
                }
                kept[0] += 1;
                kept = carry(kept);
            }
            let text: String = kept.iter().rev().map(|x| char::from(b'0' + *x as u8)).collect();
            let text = text.trim_start_matches('0');
            let text = if text.is_empty() { "0" } else { text };
            if text.len() < MAX.len() || (text.len() == MAX.len() && text <= MAX) {
                let m: u128 = text.parse().unwrap();
                return to_string(&build(negative, m, (scale - k) as u32).unwrap());
            }
        }
        "DECIMAL_OVERFLOW".to_owned()
    }

    /// The digit-string reference for `a * b`.
    fn reference_mul(a: &Decimal, b: &Decimal) -> String {
        let (da, db) = (digits_of(a), digits_of(b));
        let mut prod = vec![0u32; da.len() + db.len()];
        for (i, x) in da.iter().enumerate() {
            for (j, y) in db.iter().enumerate() {
                prod[i + j] += x * y;
            }
        }
        let negative = a.is_sign_negative() != b.is_sign_negative();
        reference_fit(negative, &carry(prod), (a.scale() + b.scale()) as usize)
    }

    /// The digit-string reference for `a + b`, or `a - b` when `subtract`.
    fn reference_add(a: &Decimal, b: &Decimal, subtract: bool) -> String {
        let scale = a.scale().max(b.scale());
        let align = |x: &Decimal| {
            let mut v = vec![0u32; (scale - x.scale()) as usize];
            v.extend(digits_of(x));
            v
        };
        let (da, db) = (align(a), align(b));
        let (na, nb) = (a.is_sign_negative(), b.is_sign_negative() != subtract);
        let (negative, digits) = if na == nb {
            let n = da.len().max(db.len());
            let sum = (0..n).map(|i| da.get(i).unwrap_or(&0) + db.get(i).unwrap_or(&0)).collect();
            (na, carry(sum))
        } else {
            let (negative, big, small) =
                if cmp_digits(&da, &db) == Ordering::Less { (nb, db, da) } else { (na, da, db) };
            let mut borrow = 0;
            let diff = big
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let y = small.get(i).unwrap_or(&0) + borrow;
                    if *x >= y {
                        borrow = 0;
                        x - y
                    } else {
                        borrow = 1;
                        x + 10 - y
                    }
                })
                .collect::<Vec<u32>>();
            (negative, diff)
        };
        reference_fit(negative, &digits, scale as usize)
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
        fn add_sub_match_digit_reference(a in any_decimal(), b in any_decimal()) {
            prop_assert_eq!(s(add(a, b)), reference_add(&a, &b, false));
            prop_assert_eq!(s(sub(a, b)), reference_add(&a, &b, true));
        }

        #[test]
        fn add_sub_agree_with_rust_decimal(a in any_decimal(), b in any_decimal()) {
            let natural = a.scale().max(b.scale());
            for (ours, theirs) in [(add(a, b), a.checked_add(b)), (sub(a, b), a.checked_sub(b))] {
                // rust_decimal also rounds to fit: whenever it has a result,
                // ours has the same value.
                match theirs {
                    Some(t) => prop_assert_eq!(ours.clone().map(|o| cmp(&o, &t)), Ok(Ordering::Equal), "{} vs {}", s(ours.clone()), t),
                    // ... and it overflows exactly when ours does.
                    None => prop_assert_eq!(ours.clone(), Err(Fault::DecimalOverflow)),
                }
                if let Ok(o) = ours {
                    prop_assert!(o.scale() <= natural);
                    prop_assert!(!(o.is_zero() && o.is_sign_negative()));
                }
            }
        }

        #[test]
        fn mul_agrees_with_rust_decimal(a in any_decimal(), b in any_decimal()) {
            let natural = a.scale() + b.scale();
            let ours = mul(a, b);
            match a.checked_mul(b) {
                Some(t) => prop_assert_eq!(ours.clone().map(|o| cmp(&o, &t)), Ok(Ordering::Equal), "{} vs {}", s(ours.clone()), t),
                None => prop_assert_eq!(ours.clone(), Err(Fault::DecimalOverflow)),
            }
            if let Ok(o) = ours {
                prop_assert!(o.scale() <= natural.min(28));
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
                // Only an unrounded product (kept at its natural scale) is exact.
                if p.scale() == a.scale() + b.scale() && !b.is_zero() {
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
