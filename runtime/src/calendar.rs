//! Calendars (LANGUAGE.md §5.3): business days from a weekend and a holiday
//! table. Both engines call these with their own holiday lookup.

use canon_stdlib::{time, Date, Fault};

/// The most business days `add_business_days` moves (about 380 years): each
/// day is looked up, so the cost of a call is bounded.
pub const MAX_BUSINESS_DAYS: u64 = 100_000;

/// Whether `d` is a business day: not a weekend day (bit `i` of `weekend`
/// for weekday `i`, Monday 0) and not a holiday.
pub fn is_business_day(weekend: u8, d: Date, holiday: &dyn Fn(Date) -> bool) -> bool {
    let wd = time::weekday(d) as u32;
    weekend & (1u8 << wd) == 0 && !holiday(d)
}

/// `d` moved by `n` business days: forward for a positive `n`, back for a
/// negative one, each step to the next business day (`d` itself not
/// counted); `n` = 0 gives `d` when it is a business day, else the next one.
/// The result is always a business day. `n` outside ±[`MAX_BUSINESS_DAYS`],
/// or leaving the date range, is `INVALID_ARGUMENT`.
pub fn add_business_days(weekend: u8, d: Date, n: i64, holiday: &dyn Fn(Date) -> bool) -> Result<Date, Fault> {
    if n.unsigned_abs() > MAX_BUSINESS_DAYS {
        return Err(Fault::InvalidArgument(format!(
            "add_business_days: {n} business days is outside -{MAX_BUSINESS_DAYS}..={MAX_BUSINESS_DAYS}"
        )));
    }
    let mut cur = d;
    if n == 0 {
        while !is_business_day(weekend, cur, holiday) {
            cur = time::add_days(cur, 1)?;
        }
        return Ok(cur);
    }
    let step = if n < 0 { -1 } else { 1 };
    let mut left = n.unsigned_abs();
    while left > 0 {
        cur = time::add_days(cur, step)?;
        if is_business_day(weekend, cur, holiday) {
            left -= 1;
        }
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> Date {
        time::parse_date(s).unwrap()
    }

    #[test]
    fn weekends_and_holidays_are_skipped_both_ways() {
        let weekend = 0b110_0000;
        let xmas = |x: Date| x == d("2026-12-25");
        // Thursday 2026-12-24 + 1: Friday is a holiday, then the weekend: Monday.
        assert_eq!(add_business_days(weekend, d("2026-12-24"), 1, &xmas).unwrap(), d("2026-12-28"));
        assert_eq!(add_business_days(weekend, d("2026-12-28"), -1, &xmas).unwrap(), d("2026-12-24"));
        // Saturday + 0: the next business day.
        assert_eq!(add_business_days(weekend, d("2026-12-26"), 0, &xmas).unwrap(), d("2026-12-28"));
        assert!(!is_business_day(weekend, d("2026-12-25"), &xmas));
        assert!(is_business_day(weekend, d("2026-12-24"), &xmas));
        assert!(add_business_days(weekend, d("2026-12-24"), i64::MAX, &xmas).is_err());
        assert!(add_business_days(weekend, d("2026-12-24"), -100_001, &xmas).is_err());
        assert!(add_business_days(weekend, d("2026-12-24"), -100_000, &xmas).is_ok());
    }
}
