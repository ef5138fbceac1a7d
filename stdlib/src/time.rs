//! Dates and timestamps: strict parsing and formatting, the proleptic Gregorian calendar, UTC instants.
//!
//! A [`Date`] counts days from 1970-01-01 and a [`Timestamp`] microseconds
//! from 1970-01-01T00:00:00Z. The calendar arithmetic is done here on plain
//! integers (Howard Hinnant's `days_from_civil` / `civil_from_days`), which is
//! total for every `i32` day number; the range of *valid* dates produced by
//! [`add_days`] and [`from_ymd`] is chrono's (`NaiveDate::MIN..=NaiveDate::MAX`),
//! so every Date Canon makes converts to chrono and back.

use crate::{Date, Fault, Timestamp, Weekday};
use std::fmt::Write as _;

/// Microseconds per day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_SECOND: i64 = 1_000_000;

/// Days from 0001-01-01 (chrono's "days from CE", day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The first and last valid day numbers (chrono's supported range).
pub fn date_range() -> (Date, Date) {
    use chrono::Datelike;
    let to_date = |d: chrono::NaiveDate| {
        let days = i64::from(d.num_days_from_ce()) - EPOCH_DAYS_FROM_CE;
        Date(i32::try_from(days).unwrap_or(0))
    };
    (to_date(chrono::NaiveDate::MIN), to_date(chrono::NaiveDate::MAX))
}

fn in_range(days: i64) -> Option<Date> {
    let (min, max) = date_range();
    if (i64::from(min.0)..=i64::from(max.0)).contains(&days) {
        i32::try_from(days).ok().map(Date)
    } else {
        None
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (any year; `m` 1..=12, `d` 1..=31).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day number since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

fn is_leap_year(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Number of days in month `m` (1..=12) of year `y`.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(i64::from(y)) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The (year, month 1..=12, day 1..=31) of a date.
pub fn ymd(d: Date) -> (i32, u32, u32) {
    let (y, m, day) = civil_from_days(i64::from(d.0));
    // An i32 day count spans about ±5.9 million years: the year always fits.
    (i32::try_from(y).unwrap_or(if y < 0 { i32::MIN } else { i32::MAX }), m, day)
}

/// The date of a real calendar day within chrono's range, else `None`.
pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    in_range(days_from_civil(i64::from(y), m, d))
}

/// The day of the week (1970-01-01 was a Thursday).
pub fn weekday(d: Date) -> Weekday {
    let index = (i64::from(d.0) + 3).rem_euclid(7);
    Weekday::from_index(u32::try_from(index).unwrap_or(0)).unwrap_or(Weekday::Monday)
}

/// `d` plus `days` (negative goes back); outside chrono's date range is `InvalidArgument`.
pub fn add_days(d: Date, days: i64) -> Result<Date, Fault> {
    // A result must stay writable as `YYYY-MM-DD` (LANGUAGE.md §3): years 0001..=9999.
    let (lo, hi) = (days_from_civil(1, 1, 1), days_from_civil(9999, 12, 31));
    i64::from(d.0).checked_add(days).filter(|x| (lo..=hi).contains(x)).and_then(in_range).ok_or_else(|| {
        Fault::InvalidArgument(format!("`add_days` result is outside the supported date range (adding `{days}` days)"))
    })
}

/// `b − a` in days.
pub fn days_between(a: Date, b: Date) -> i64 {
    i64::from(b.0) - i64::from(a.0)
}

/// The first day of the date's month.
pub fn start_of_month(d: Date) -> Date {
    let (_, _, day) = ymd(d);
    Date(d.0.saturating_sub(i32::try_from(day).unwrap_or(1) - 1))
}

/// The last day of the date's month (February 29 in a leap year).
pub fn end_of_month(d: Date) -> Date {
    let (y, m, day) = ymd(d);
    let last = days_in_month(y, m);
    Date(d.0.saturating_add(i32::try_from(last.saturating_sub(day)).unwrap_or(0)))
}

/// The UTC date of an instant.
pub fn date_of(ts: Timestamp) -> Date {
    // |i64| / 86_400_000_000 < 1.1e8: always fits an i32.
    Date(i32::try_from(ts.0.div_euclid(MICROS_PER_DAY)).unwrap_or(0))
}

// ---------------------------------------------------------------------------
// Text forms

/// A small byte cursor for the strict fixed-width formats.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.byte()? == wanted).then_some(())
    }

    /// Exactly `n` ASCII digits.
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
        self.rest.first().copied()
    }
}

/// The number the ASCII digits of `b` write; `None` when one is not a digit.
fn digits_of(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |v, &x| {
        let d = x.wrapping_sub(b'0');
        (d < 10).then(|| v * 10 + u32::from(d))
    })
}

fn parse_date_part(c: &mut Cursor<'_>) -> Option<Date> {
    let y = c.digits(4)?;
    c.expect(b'-')?;
    let m = c.digits(2)?;
    c.expect(b'-')?;
    let d = c.digits(2)?;
    from_ymd(i32::try_from(y).ok()?, m, d)
}

/// Strict `YYYY-MM-DD` (4-digit year, 2-digit month and day) naming a real
/// calendar date: `2026-02-30` is `None`.
pub fn parse_date(s: &str) -> Option<Date> {
    // The whole form with its dashes in place: the digits read where they are.
    if let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = s.as_bytes() {
        return from_ymd(
            i32::try_from(digits_of(&[y0, y1, y2, y3])?).ok()?,
            digits_of(&[m0, m1])?,
            digits_of(&[d0, d1])?,
        );
    }
    parse_date_general(s)
}

/// [`parse_date`] of any text, by the cursor.
fn parse_date_general(s: &str) -> Option<Date> {
    let mut c = Cursor { rest: s.as_bytes() };
    let date = parse_date_part(&mut c)?;
    c.rest.is_empty().then_some(date)
}

/// `YYYY-MM-DD`; years outside 0..=9999 as chrono writes them (`+12345-01-01`, `-0001-12-31`).
pub fn format_date(d: Date, out: &mut String) {
    let (y, m, day) = ymd(d);
    match u32::try_from(y) {
        // The usual years without `fmt`: ten digits and two dashes.
        Ok(y) if y <= 9999 => {
            let digit = |n: u32| b'0' + (n % 10) as u8;
            let (d1, d2) = (digit(day / 10), digit(day));
            let text =
                [digit(y / 1000), digit(y / 100), digit(y / 10), digit(y), b'-', digit(m / 10), digit(m), b'-', d1, d2];
            // Ten ASCII bytes, room made once (`from_utf8` of them cost more than the pushes).
            out.reserve(text.len());
            for b in text {
                out.push(char::from(b));
            }
        }
        _ => {
            let _ = write!(out, "{y:+05}-{m:02}-{day:02}");
        }
    }
}

/// Two decimal digits of `n` (below 100).
fn push2(out: &mut String, n: i64) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// RFC 3339: `YYYY-MM-DD` `T`/`t` `HH:MM:SS` optional `.fraction`, then `Z`/`z`
/// or `±HH:MM`. The offset is normalised to UTC; fractional digits beyond
/// microseconds are dropped (toward the past). A leap second (`23:59:60` in
/// UTC) reads as `23:59:59.999999`; `:60` at any other UTC time is `None`.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    // The common form, `YYYY-MM-DDTHH:MM:SSZ`, its digits read where they are
    // (the same answer as below: no fraction, no offset, no leap second, a
    // four-digit year in UTC always in range); anything else below.
    if let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, t, h0, h1, b':', i0, i1, b':', s0, s1, z] = s.as_bytes() {
        let second = digits_of(&[s0, s1])?;
        if matches!(t, b'T' | b't') && matches!(z, b'Z' | b'z') && second < 60 {
            let (hour, minute) = (digits_of(&[h0, h1])?, digits_of(&[i0, i1])?);
            if hour > 23 || minute > 59 {
                return None;
            }
            let y = i32::try_from(digits_of(&[y0, y1, y2, y3])?).ok()?;
            let date = from_ymd(y, digits_of(&[m0, m1])?, digits_of(&[d0, d1])?)?;
            let seconds = i64::from(date.0) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
            return Some(Timestamp(seconds * MICROS_PER_SECOND));
        }
    }
    parse_timestamp_general(s)
}

/// [`parse_timestamp`] of any text, by the cursor.
fn parse_timestamp_general(s: &str) -> Option<Timestamp> {
    let mut c = Cursor { rest: s.as_bytes() };
    let date = parse_date_part(&mut c)?;
    if !matches!(c.byte()?, b'T' | b't') {
        return None;
    }
    let hour = c.digits(2)?;
    c.expect(b':')?;
    let minute = c.digits(2)?;
    c.expect(b':')?;
    let second = c.digits(2)?;
    // RFC 3339 allows a leap second, `:60`, which a Timestamp (microseconds
    // of a day of 86,400 seconds) cannot hold: it reads as the last
    // microsecond of its minute (docs/spec/RUNTIME.md §1), so it keeps its
    // date and its order with the instants around it.
    let leap = second == 60;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let second = if leap { 59 } else { second };
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
    if !c.rest.is_empty() {
        return None;
    }
    let local_seconds = i64::from(date.0) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let utc_seconds = local_seconds.checked_sub(offset_seconds)?;
    // Only 23:59:60 in UTC is a leap second (whatever the offset it is written with).
    if leap && utc_seconds.rem_euclid(86_400) != 86_399 {
        return None;
    }
    let micros = if leap { MICROS_PER_SECOND - 1 } else { micros };
    let ts = utc_seconds.checked_mul(MICROS_PER_SECOND)?.checked_add(micros)?;
    // Output is RFC 3339 in UTC, whose year has four digits: an offset that
    // moves the instant out of 0000..=9999 leaves no way to write it back
    // ("9999-12-31T23:59:59-01:00" is in year 10000), so it is no Timestamp.
    let first = days_from_civil(0, 1, 1) * MICROS_PER_DAY;
    let end = days_from_civil(10_000, 1, 1) * MICROS_PER_DAY;
    (first..end).contains(&ts).then_some(Timestamp(ts))
}

/// RFC 3339 in UTC with `Z`; fractional seconds only when non-zero, without
/// trailing zeros (`2026-01-01T00:00:00.25Z`).
pub fn format_timestamp(ts: Timestamp, out: &mut String) {
    format_date(date_of(ts), out);
    let micros_of_day = ts.0.rem_euclid(MICROS_PER_DAY);
    let seconds = micros_of_day / MICROS_PER_SECOND;
    let fraction = micros_of_day % MICROS_PER_SECOND;
    out.push('T');
    push2(out, seconds / 3600);
    out.push(':');
    push2(out, seconds / 60 % 60);
    out.push(':');
    push2(out, seconds % 60);
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use chrono::{Datelike, NaiveDate};
    use proptest::prelude::*;

    fn date(s: &str) -> Date {
        parse_date(s).unwrap_or_else(|| panic!("bad date {s}"))
    }

    fn show_date(d: Date) -> String {
        let mut out = String::new();
        format_date(d, &mut out);
        out
    }

    fn show_ts(t: Timestamp) -> String {
        let mut out = String::new();
        format_timestamp(t, &mut out);
        out
    }

    fn to_chrono(d: Date) -> NaiveDate {
        NaiveDate::from_num_days_from_ce_opt(d.0 + EPOCH_DAYS_FROM_CE as i32).unwrap()
    }

    #[test]
    fn parse_date_strict() {
        assert_eq!(date("1970-01-01"), Date(0));
        assert_eq!(date("1970-01-02"), Date(1));
        assert_eq!(date("1969-12-31"), Date(-1));
        assert_eq!(show_date(date("2028-02-29")), "2028-02-29");
        assert_eq!(show_date(date("0000-01-01")), "0000-01-01");
        assert_eq!(show_date(date("9999-12-31")), "9999-12-31");
        for bad in [
            "2026-02-30",
            "2026-02-29",
            "2100-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-04-31",
            "26-01-01",
            "2026-1-01",
            "2026-01-1",
            "+2026-01-01",
            "2026-01-01 ",
            " 2026-01-01",
            "2026/01/01",
            "2026-01-01T00:00:00Z",
            "",
            "２０２６-01-01",
            "20260101",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn calendar_helpers() {
        assert_eq!(weekday(date("1970-01-01")), Weekday::Thursday);
        assert_eq!(weekday(date("2026-11-25")), Weekday::Wednesday);
        assert_eq!(weekday(date("2026-02-27")), Weekday::Friday);
        assert_eq!(weekday(date("2028-02-10")), Weekday::Thursday);
        assert_eq!(weekday(date("1969-12-29")), Weekday::Monday);
        assert_eq!(end_of_month(date("2028-02-10")), date("2028-02-29"));
        assert_eq!(end_of_month(date("2026-02-27")), date("2026-02-28"));
        assert_eq!(end_of_month(date("2000-02-01")), date("2000-02-29"));
        assert_eq!(end_of_month(date("2100-02-01")), date("2100-02-28"));
        assert_eq!(end_of_month(date("2026-12-31")), date("2026-12-31"));
        assert_eq!(start_of_month(date("2026-11-25")), date("2026-11-01"));
        assert_eq!(start_of_month(date("2026-11-01")), date("2026-11-01"));
        assert_eq!(add_days(date("2026-02-27"), 3), Ok(date("2026-03-02")));
        assert_eq!(add_days(date("2026-01-01"), -1), Ok(date("2025-12-31")));
        assert_eq!(days_between(date("2026-01-15"), date("2026-03-02")), 46);
        assert_eq!(days_between(date("2026-03-02"), date("2026-02-27")), -3);
        assert_eq!(ymd(date("2026-11-25")), (2026, 11, 25));
        assert_eq!(from_ymd(2026, 2, 29), None);
        assert_eq!(from_ymd(2026, 0, 1), None);
        assert_eq!(from_ymd(2026, 13, 1), None);
        assert_eq!(from_ymd(2026, 1, 0), None);
    }

    #[test]
    fn add_days_range() {
        let (min, max) = date_range();
        assert_eq!(to_chrono(min), NaiveDate::MIN);
        assert_eq!(to_chrono(max), NaiveDate::MAX);
        // add_days stays within 0001..=9999, what `YYYY-MM-DD` can write.
        let last = from_ymd(9999, 12, 31).unwrap();
        let first = from_ymd(1, 1, 1).unwrap();
        assert_eq!(add_days(last, 0), Ok(last));
        assert_eq!(add_days(last, 1).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(add_days(first, -1).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(add_days(max, 1).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(add_days(min, -1).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(add_days(min, i64::MIN).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(add_days(max, i64::MAX).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(show_date(max), NaiveDate::MAX.to_string());
        assert_eq!(show_date(min), NaiveDate::MIN.to_string());
        // Out-of-range values built directly stay total.
        let _ =
            (ymd(Date(i32::MIN)), ymd(Date(i32::MAX)), end_of_month(Date(i32::MAX)), start_of_month(Date(i32::MIN)));
        let _ = show_date(Date(i32::MIN));
    }

    #[test]
    fn timestamps() {
        let ts = |s: &str| parse_timestamp(s).unwrap_or_else(|| panic!("bad timestamp {s}"));
        assert_eq!(ts("1970-01-01T00:00:00Z"), Timestamp(0));
        assert_eq!(ts("1970-01-01t00:00:01z"), Timestamp(1_000_000));
        assert_eq!(show_ts(ts("2026-11-25T09:30:00Z")), "2026-11-25T09:30:00Z");
        assert_eq!(show_ts(ts("2026-03-02T08:15:00+02:00")), "2026-03-02T06:15:00Z");
        assert_eq!(show_ts(ts("2026-03-01T23:30:00-05:00")), "2026-03-02T04:30:00Z");
        assert_eq!(show_ts(ts("2026-01-01T00:00:00.250Z")), "2026-01-01T00:00:00.25Z");
        assert_eq!(show_ts(ts("2026-01-01T00:00:00.000Z")), "2026-01-01T00:00:00Z");
        assert_eq!(show_ts(ts("2026-01-01T00:00:00.123456789Z")), "2026-01-01T00:00:00.123456Z");
        assert_eq!(show_ts(ts("2026-01-01T00:00:00.000000999Z")), "2026-01-01T00:00:00Z");
        assert_eq!(ts("1969-12-31T23:59:59.9999999Z"), Timestamp(-1));
        assert_eq!(show_ts(Timestamp(-1)), "1969-12-31T23:59:59.999999Z");
        // Its UTC instant is in year -1, which RFC 3339 cannot write.
        assert_eq!(parse_timestamp("0000-01-01T00:30:00+01:00"), None);
        assert_eq!(date_of(ts("2026-03-01T23:30:00-05:00")), date("2026-03-02"));
        assert_eq!(date_of(ts("2026-03-02T01:00:00+02:00")), date("2026-03-01"));
        assert_eq!(date_of(Timestamp(-1)), date("1969-12-31"));
        assert_eq!(ts("2026-03-02T08:15:00-00:00"), ts("2026-03-02T08:15:00Z"));
        for bad in [
            "2026-11-25",
            "2026-11-25T09:30:00",
            "2026-11-25 09:30:00Z",
            "2026-11-25T09:30Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T23:60:00Z",
            // A leap second is 23:59:60 in UTC, and only that.
            "2026-11-25T12:00:60Z",
            "2026-12-31T23:58:60Z",
            "2016-12-31T23:59:60+01:00",
            "2016-12-31T23:59:61Z",
            "2026-11-25T09:30:00.Z",
            "2026-11-25T09:30:00+0200",
            "2026-11-25T09:30:00+02",
            "2026-11-25T09:30:00+24:00",
            "2026-11-25T09:30:00+02:60",
            "2026-02-30T00:00:00Z",
            "2026-11-25T09:30:00ZZ",
            "2026-11-25T9:30:00Z",
            "",
            "2026-11-25T09:30:00.1234567890x",
            // Instants whose UTC year has no four-digit form.
            "9999-12-31T23:59:59-01:00",
            "0000-01-01T00:00:00+01:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        for (good, utc) in [
            ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
            ("9999-12-31T23:59:59+01:00", "9999-12-31T22:59:59Z"),
            ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),
            ("0000-01-01T00:00:00-01:00", "0000-01-01T01:00:00Z"),
            // A leap second reads as the last microsecond of its minute.
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999Z"),
            ("2016-12-31T23:59:60.5Z", "2016-12-31T23:59:59.999999Z"),
            ("1990-12-31T15:59:60-08:00", "1990-12-31T23:59:59.999999Z"),
            ("2017-01-01T05:29:60+05:30", "2016-12-31T23:59:59.999999Z"),
        ] {
            assert_eq!(parse_timestamp(good).map(show_ts).as_deref(), Some(utc), "{good}");
        }
        // Extremes stay total.
        let _ = (show_ts(Timestamp(i64::MIN)), show_ts(Timestamp(i64::MAX)), date_of(Timestamp(i64::MIN)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn dates_agree_with_chrono(days in date_range().0 .0..=date_range().1 .0) {
            let d = Date(days);
            let c = to_chrono(d);
            prop_assert_eq!(ymd(d), (c.year(), c.month(), c.day()));
            prop_assert_eq!(weekday(d) as u32, c.weekday().num_days_from_monday());
            prop_assert_eq!(show_date(d), c.to_string());
            let last = c.with_day(1).unwrap().checked_add_months(chrono::Months::new(1)).map(|n| n.pred_opt().unwrap());
            if let Some(last) = last {
                prop_assert_eq!(to_chrono(end_of_month(d)), last);
            }
            prop_assert_eq!(to_chrono(start_of_month(d)), c.with_day(1).unwrap());
            prop_assert_eq!(from_ymd(c.year(), c.month(), c.day()), Some(d));
        }

        #[test]
        fn date_text_round_trip(days in -719_528i32..=2_932_896) {
            // 0000-01-01 ..= 9999-12-31
            let d = Date(days);
            let text = show_date(d);
            prop_assert_eq!(text.len(), 10);
            prop_assert_eq!(parse_date(&text), Some(d));
        }

        #[test]
        fn timestamp_text_round_trip(micros in -62_167_219_200_000_000i64..=253_402_300_799_999_999) {
            let t = Timestamp(micros);
            let text = show_ts(t);
            prop_assert_eq!(parse_timestamp(&text), Some(t));
            let c = chrono::DateTime::from_timestamp_micros(micros).unwrap();
            prop_assert_eq!(chrono::DateTime::parse_from_rfc3339(&text).unwrap(), c);
            prop_assert_eq!(date_of(t), Date((c.date_naive().num_days_from_ce() as i64 - EPOCH_DAYS_FROM_CE) as i32));
        }

        #[test]
        fn timestamp_offsets_agree_with_chrono(
            micros in 0i64..=253_402_214_400_000_000,
            offset_minutes in -(23 * 60 + 59)..=(23 * 60 + 59i32),
        ) {
            let utc = chrono::DateTime::from_timestamp_micros(micros).unwrap();
            let zone = chrono::FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let text = utc.with_timezone(&zone).to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
            prop_assert_eq!(parse_timestamp(&text), Some(Timestamp(micros)), "{}", text);
        }

        #[test]
        fn the_common_forms_read_as_the_cursor_reads_them(
            y in "[0-9]{4}|[0-9x]{4}", m in "[0-9]{2}", d in "[0-9]{2}|3[0-9]|0x",
            h in "[0-9]{2}", i in "[0-9]{2}", sec in "[0-9]{2}|60|61",
            t in "[Tt ]", z in "[Zz+]", dash in "[-/]",
        ) {
            let date = format!("{y}{dash}{m}-{d}");
            prop_assert_eq!(parse_date(&date), parse_date_general(&date), "{}", date);
            let ts = format!("{date}{t}{h}:{i}:{sec}{z}");
            prop_assert_eq!(parse_timestamp(&ts), parse_timestamp_general(&ts), "{}", ts);
        }

        #[test]
        fn parse_never_panics(text in "[0-9T:Zz.+-]{0,40}") {
            let _ = parse_timestamp(&text);
            let _ = parse_date(&text);
        }
    }
}
