//! `allocate`: splits a Money into parts proportional to weights, exactly, each a whole number of minor units.

use super::{Builtin, Example, Op, Overload, Param, Target, TypeRef};
use crate::money::Money;
use crate::{currency, num, Currency, Decimal, Fault};

pub static BUILTIN: Builtin = Builtin {
    name: "allocate",
    overloads: &[
        Overload {
            params: &[
                Param { name: "total", ty: TypeRef::Money },
                Param { name: "weights", ty: TypeRef::List(&TypeRef::Decimal) },
            ],
            result: TypeRef::List(&TypeRef::Money),
            target: Target::Op(Op::Allocate),
        },
        Overload {
            params: &[
                Param { name: "total", ty: TypeRef::Money },
                Param { name: "weights", ty: TypeRef::List(&TypeRef::Int) },
            ],
            result: TypeRef::List(&TypeRef::Money),
            target: Target::Op(Op::AllocateInt),
        },
    ],
    summary: "Splits a Money into parts proportional to the weights; the parts sum to the total exactly.",
    docs: r#"`allocate(total, weights)` gives one part per weight, in order, each
a whole number of the currency's minor unit (ISO 4217: USD cents, JPY yen,
BHD fils), summing to `total` exactly:

1. each part is first its exact share `total × weight / sum(weights)`
   rounded toward zero to a whole number of units;
2. the units left over (fewer than the number of weights) go one each to the
   parts with the largest remainders; equal remainders go to the earlier
   position.

A negative total is split as its absolute value and every part negated, so
`allocate(-t, w)` is `allocate(t, w)` with each part's sign flipped. A total
that is not a whole number of minor units (`10.005 USD`) is split in its own
smallest unit (here `0.001`) rather than rounded: nothing is lost. Every part
has the unit's number of fractional digits (`3.33`, not `3.3300`). The
weights may be Int or Decimal; a weight of zero gets a zero part.

Faults (`INVALID_ARGUMENT`): an empty list, a negative weight, weights that
are all zero, a currency with no ISO 4217 minor unit (`XAU`, an unknown
code). `DECIMAL_OVERFLOW`: the weights written with one common number of
fractional digits, or their sum, need more than 128 bits, or a part does not
fit a Decimal."#,
    examples: &[
        Example {
            expr: "allocate(100.00 USD, [1, 1, 1])",
            json: r#"[{"amount":"33.34","currency":"USD"},{"amount":"33.33","currency":"USD"},{"amount":"33.33","currency":"USD"}]"#,
        },
        Example {
            expr: "allocate(1000 JPY, [7.5, 2.5, 1])",
            json: r#"[{"amount":"682","currency":"JPY"},{"amount":"227","currency":"JPY"},{"amount":"91","currency":"JPY"}]"#,
        },
        Example {
            expr: "allocate(-0.05 BHD, [1, 2])",
            json: r#"[{"amount":"-0.017","currency":"BHD"},{"amount":"-0.033","currency":"BHD"}]"#,
        },
        Example {
            expr: "allocate(0.05 USD, [3, 0, 1])",
            json: r#"[{"amount":"0.04","currency":"USD"},{"amount":"0.00","currency":"USD"},{"amount":"0.01","currency":"USD"}]"#,
        },
        Example {
            expr: "allocate(10.005 USD, [1, 1])",
            json: r#"[{"amount":"5.003","currency":"USD"},{"amount":"5.002","currency":"USD"}]"#,
        },
    ],
};

/// The most parts `allocate_even` makes (a guard against a list no event needs).
pub const MAX_EVEN_PARTS: i64 = 1_000_000;

/// `allocate(total, weights)` with Decimal weights.
pub fn allocate(total: Money, weights: &[Decimal]) -> Result<Vec<Money>, Fault> {
    for (i, w) in weights.iter().enumerate() {
        if w.is_sign_negative() && !w.is_zero() {
            return Err(Fault::InvalidArgument(format!(
                "`allocate` weights must not be negative, got `{}` at index {i}",
                num::to_string(w)
            )));
        }
    }
    if weights.is_empty() {
        return Err(Fault::InvalidArgument("`allocate` needs at least one weight, got an empty list".into()));
    }
    let (negative, units, scale) = in_units(total, "allocate")?;
    // Every weight as a whole number at one common scale.
    let common = weights.iter().map(Decimal::scale).max().unwrap_or(0);
    let mut scaled: Vec<u128> = Vec::with_capacity(weights.len());
    let mut sum: u128 = 0;
    for w in weights {
        let factor = num::pow10(common - w.scale()).ok_or(Fault::DecimalOverflow)?;
        let m = w.mantissa().unsigned_abs().checked_mul(factor).ok_or(Fault::DecimalOverflow)?;
        sum = sum.checked_add(m).ok_or(Fault::DecimalOverflow)?;
        scaled.push(m);
    }
    if sum == 0 {
        return Err(Fault::InvalidArgument("`allocate` weights are all zero".into()));
    }
    let mut parts: Vec<u128> = Vec::with_capacity(scaled.len());
    let mut remainders: Vec<u128> = Vec::with_capacity(scaled.len());
    let mut given: u128 = 0;
    for m in &scaled {
        let (q, r) = mul_div(units, *m, sum);
        given += q;
        parts.push(q);
        remainders.push(r);
    }
    // Fewer units are left than there are parts (each share lost less than one).
    let left = usize::try_from(units.saturating_sub(given)).unwrap_or(usize::MAX).min(parts.len());
    if left > 0 {
        // The `left` parts first in (largest remainder, earlier position) order: a total
        // order, so selecting them (linear time) picks the same parts as a sort would.
        let mut order: Vec<(u128, usize)> = remainders.iter().copied().zip(0..).collect();
        let first = |a: &(u128, usize), b: &(u128, usize)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        if left < order.len() {
            order.select_nth_unstable_by(left - 1, first);
        }
        for (_, i) in order.iter().take(left) {
            if let Some(p) = parts.get_mut(*i) {
                *p += 1;
            }
        }
    }
    build_parts(&parts, negative, scale, total.1)
}

/// `allocate(total, weights)` with Int weights (each widened to Decimal).
pub fn allocate_int(total: Money, weights: &[i64]) -> Result<Vec<Money>, Fault> {
    let weights: Vec<Decimal> = weights.iter().map(|w| num::from_int(*w)).collect();
    allocate(total, &weights)
}

/// `allocate_even(total, n)`: `n` parts as equal as whole units allow, the larger ones first.
pub fn allocate_even(total: Money, n: i64) -> Result<Vec<Money>, Fault> {
    if !(1..=MAX_EVEN_PARTS).contains(&n) {
        return Err(Fault::InvalidArgument(format!("`allocate_even` needs 1 to {MAX_EVEN_PARTS} parts, got `{n}`")));
    }
    let (negative, units, scale) = in_units(total, "allocate_even")?;
    let count = n.unsigned_abs() as u128;
    let (q, r) = (units / count, units % count);
    let parts: Vec<u128> = (0..count).map(|i| if i < r { q + 1 } else { q }).collect();
    build_parts(&parts, negative, scale, total.1)
}

/// The total as (negative, whole number of units, the unit's scale): the
/// currency's minor unit, or the total's own smallest unit when it has more
/// (non-zero) fractional digits.
fn in_units(total: Money, builtin: &str) -> Result<(bool, u128, u32), Fault> {
    let minor = currency::require_minor_units(total.1, builtin)?;
    let amount = total.0.normalize();
    let scale = minor.max(amount.scale());
    let factor = num::pow10(scale - amount.scale()).ok_or(Fault::DecimalOverflow)?;
    let units = amount.mantissa().unsigned_abs().checked_mul(factor).ok_or(Fault::DecimalOverflow)?;
    Ok((amount.is_sign_negative() && units != 0, units, scale))
}

fn build_parts(parts: &[u128], negative: bool, scale: u32, c: Currency) -> Result<Vec<Money>, Fault> {
    parts.iter().map(|p| Ok((num::build(negative && *p != 0, *p, scale)?, c))).collect()
}

/// `(a × b) / d` and its remainder, for `b <= d`, `d > 0` (so the quotient is at most `a`).
fn mul_div(a: u128, b: u128, d: u128) -> (u128, u128) {
    if let (Ok(a), Ok(b), Ok(d)) = (u64::try_from(a), u64::try_from(b), u64::try_from(d)) {
        // The common case (hours against a fee): one 128-bit product, a 128-by-64 division.
        let p = u128::from(a) * u128::from(b);
        if let Ok(p) = u64::try_from(p) {
            return (u128::from(p / d), u128::from(p % d));
        }
        return (p / u128::from(d), p % u128::from(d));
    }
    if let Some(p) = a.checked_mul(b) {
        return (p / d, p % d);
    }
    let (hi, lo) = mul_wide(a, b);
    div_wide(hi, lo, d)
}

/// The 256-bit product of two u128, as (high, low) halves.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let lo = (p00 & MASK) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// `(hi·2^128 + lo) / d` and its remainder, for `hi < d` (the quotient fits 128 bits).
fn div_wide(hi: u128, lo: u128, d: u128) -> (u128, u128) {
    let (mut r, mut q) = (hi, 0u128);
    for i in (0..128).rev() {
        let carry = r >> 127;
        r = (r << 1) | ((lo >> i) & 1);
        q <<= 1;
        if carry == 1 || r >= d {
            r = r.wrapping_sub(d);
            q |= 1;
        }
    }
    (q, r)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::functions::check::*;
    use proptest::prelude::*;

    fn j_parts(parts: Vec<Money>) -> String {
        j_list(&parts.into_iter().map(j_money).collect::<Vec<_>>())
    }
    fn decs(ws: &[&str]) -> Vec<Decimal> {
        ws.iter().map(|w| dec(w)).collect()
    }

    #[test]
    fn examples_hold() {
        assert_examples(
            &BUILTIN,
            &[
                ("allocate(100.00 USD, [1, 1, 1])", j_parts(allocate_int(money("100.00", "USD"), &[1, 1, 1]).unwrap())),
                (
                    "allocate(1000 JPY, [7.5, 2.5, 1])",
                    j_parts(allocate(money("1000", "JPY"), &decs(&["7.5", "2.5", "1"])).unwrap()),
                ),
                ("allocate(-0.05 BHD, [1, 2])", j_parts(allocate_int(money("-0.05", "BHD"), &[1, 2]).unwrap())),
                ("allocate(0.05 USD, [3, 0, 1])", j_parts(allocate_int(money("0.05", "USD"), &[3, 0, 1]).unwrap())),
                ("allocate(10.005 USD, [1, 1])", j_parts(allocate_int(money("10.005", "USD"), &[1, 1]).unwrap())),
            ],
        );
    }

    #[test]
    fn faults() {
        let usd = money("10.00", "USD");
        let code = |r: Result<Vec<Money>, Fault>| r.unwrap_err().code();
        assert_eq!(code(allocate(usd, &[])), "INVALID_ARGUMENT");
        assert_eq!(code(allocate(usd, &decs(&["0", "0.00"]))), "INVALID_ARGUMENT");
        assert_eq!(code(allocate(usd, &decs(&["1", "-0.5"]))), "INVALID_ARGUMENT");
        assert_eq!(
            allocate(usd, &decs(&["1", "-0.5"])).unwrap_err().message(),
            "invalid argument: `allocate` weights must not be negative, got `-0.5` at index 1"
        );
        assert_eq!(code(allocate(money("1", "XAU"), &decs(&["1"]))), "INVALID_ARGUMENT");
        assert_eq!(code(allocate_even(usd, 0)), "INVALID_ARGUMENT");
        assert_eq!(code(allocate_even(usd, -3)), "INVALID_ARGUMENT");
        assert_eq!(code(allocate_even(usd, MAX_EVEN_PARTS + 1)), "INVALID_ARGUMENT");
        // A weight at scale 28 next to a huge whole weight cannot share one scale in 128 bits.
        let wide = decs(&["79228162514264337593543950335", "0.0000000000000000000000000001"]);
        assert_eq!(allocate(usd, &wide), Err(Fault::DecimalOverflow));
        // The whole total raised to cents does not fit a Decimal.
        let big = money("79228162514264337593543950335", "USD");
        assert_eq!(allocate(big, &decs(&["1"])), Err(Fault::DecimalOverflow));
    }

    #[test]
    fn zero_weights_get_zero_and_a_zero_total_is_zeros() {
        let parts = allocate_int(money("0", "JPY"), &[1, 2]).unwrap();
        assert_eq!(j_parts(parts), r#"[{"amount":"0","currency":"JPY"},{"amount":"0","currency":"JPY"}]"#);
        let parts = allocate_int(money("-0.00", "USD"), &[1]).unwrap();
        assert_eq!(j_parts(parts), r#"[{"amount":"0.00","currency":"USD"}]"#);
    }

    #[test]
    fn ties_go_to_the_earlier_position() {
        let parts = allocate_int(money("0.02", "USD"), &[1, 1, 1]).unwrap();
        let shown: Vec<String> = parts.iter().map(|m| num::to_string(&m.0)).collect();
        assert_eq!(shown, ["0.01", "0.01", "0.00"]);
        let even = allocate_even(money("0.02", "USD"), 3).unwrap();
        assert_eq!(even, parts);
        let neg = allocate_even(money("-0.02", "USD"), 3).unwrap();
        let shown: Vec<String> = neg.iter().map(|m| num::to_string(&m.0)).collect();
        assert_eq!(shown, ["-0.01", "-0.01", "0.00"]);
    }

    #[test]
    fn wide_products_are_exact() {
        // Weights of 1/3 at scale 28 and a total of 10^14 USD: products past 128 bits.
        let third = dec("0.3333333333333333333333333333");
        let parts = allocate(money("100000000000000.00", "USD"), &[third, third, third]).unwrap();
        let shown: Vec<String> = parts.iter().map(|m| num::to_string(&m.0)).collect();
        assert_eq!(shown, ["33333333333333.34", "33333333333333.33", "33333333333333.33"]);
        for (a, b) in [(u128::MAX, u128::MAX), (1u128 << 100, 3), (12345678901234567890123, 98765432109876543210)] {
            let (hi, lo) = mul_wide(a, b);
            if hi == 0 {
                assert_eq!(Some(lo), a.checked_mul(b));
            }
            let d = a.max(b);
            let (q, r) = div_wide(hi, lo, d);
            assert_eq!(q, a.min(b));
            assert_eq!(r, 0);
        }
    }

    /// The exact share of part `i` in units, as (whole units, remainder, denominator).
    fn shares(units: u128, ws: &[u64]) -> Vec<(u128, u128, u128)> {
        let sum: u128 = ws.iter().map(|w| u128::from(*w)).sum();
        ws.iter().map(|w| (units * u128::from(*w) / sum, units * u128::from(*w) % sum, sum)).collect()
    }

    proptest! {
        #[test]
        fn parts_sum_to_the_total_each_within_one_unit(
            whole in -10_000_000i64..10_000_000,
            ws in proptest::collection::vec(0u64..1000, 1..20),
            cur in prop::sample::select(vec!["USD", "JPY", "BHD", "CLF"]),
        ) {
            prop_assume!(ws.iter().any(|w| *w > 0));
            let total = money(&whole.to_string(), cur);
            let weights: Vec<i64> = ws.iter().map(|w| *w as i64).collect();
            let parts = allocate_int(total, &weights).unwrap();
            prop_assert_eq!(parts.len(), ws.len());
            let mut sum = Decimal::ZERO;
            let unit_scale = crate::currency::minor_units(cur_of(cur)).unwrap();
            for p in &parts {
                prop_assert_eq!(p.0.scale(), unit_scale);
                prop_assert_eq!(p.1, cur_of(cur));
                sum += p.0;
            }
            prop_assert_eq!(sum, total.0);
            // Within one unit of the exact share: either the share rounded toward zero, or one more.
            let units = total.0.mantissa().unsigned_abs() * 10u128.pow(unit_scale);
            for (p, (q, r, _)) in parts.iter().zip(shares(units, &ws)) {
                let got = p.0.mantissa().unsigned_abs();
                prop_assert!(got == q || (got == q + 1 && r > 0));
            }
            // A negative total mirrors the positive one.
            let mirrored = allocate_int((-total.0, total.1), &weights).unwrap();
            for (a, b) in parts.iter().zip(&mirrored) {
                prop_assert_eq!(num::normalize_zero(-a.0), b.0);
            }
        }

        #[test]
        fn leftover_units_go_to_the_largest_remainders_then_earlier(
            units in 0u64..100_000,
            ws in proptest::collection::vec(0u64..50, 1..12),
        ) {
            prop_assume!(ws.iter().any(|w| *w > 0));
            let weights: Vec<i64> = ws.iter().map(|w| *w as i64).collect();
            let parts = allocate_int(money(&units.to_string(), "JPY"), &weights).unwrap();
            let sh = shares(u128::from(units), &ws);
            let bumped: Vec<bool> = parts.iter().zip(&sh).map(|(p, (q, _, _))| p.0.mantissa().unsigned_abs() > *q).collect();
            // Every bumped part's remainder beats (or ties from an earlier position) every part not bumped.
            for (i, bi) in bumped.iter().enumerate() {
                for (j, bj) in bumped.iter().enumerate() {
                    if *bi && !*bj {
                        prop_assert!(sh[i].1 > sh[j].1 || (sh[i].1 == sh[j].1 && i < j));
                    }
                }
            }
            // allocate_even is allocate with equal weights.
            let n = ws.len() as i64;
            prop_assert_eq!(
                allocate_even(money(&units.to_string(), "JPY"), n).unwrap(),
                allocate_int(money(&units.to_string(), "JPY"), &vec![1; ws.len()]).unwrap()
            );
        }
    }

    fn cur_of(s: &str) -> Currency {
        cur(s)
    }
}
