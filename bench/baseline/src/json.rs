//! Writing outcome JSON into a byte buffer: strings escaped exactly as Canon
//! escapes them, decimals in plain notation keeping their scale, dates.

use rust_decimal::Decimal;

use crate::values::Date;

/// Appends `s` JSON-escaped, without the quotes. Canon escapes `"`, `\`,
/// the control characters below U+0020 (`\n`, `\r`, `\t` by name, the others
/// as `\u00xx`) and U+0085, U+2028 and U+2029 (some line readers split on
/// them); nothing else.
pub fn escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // 0xC2 and 0xE2 lead the UTF-8 forms of U+0085 and U+2028/U+2029.
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\' || b == 0xC2 || b == 0xE2) {
        out.extend_from_slice(bytes);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') => {
                out.extend_from_slice(b"\\u");
                let n = c as u32;
                for shift in [12, 8, 4, 0] {
                    out.extend(HEX.get(((n >> shift) & 0xf) as usize).copied());
                }
            }
            c => {
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escaped(out, s);
    out.push(b'"');
}

/// Appends an optional string: the literal, or `null`.
pub fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends an unsigned integer.
pub fn uint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a decimal in plain notation keeping its scale (`7.50`, `0.0200`);
/// never `-0` (a zero's mantissa has no sign).
pub fn decimal(out: &mut Vec<u8>, d: &Decimal) {
    let m = d.mantissa();
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(m.unsigned_abs()).as_bytes();
    let scale = d.scale() as usize;
    if m < 0 {
        out.push(b'-');
    }
    if scale == 0 {
        out.extend_from_slice(digits);
    } else if digits.len() <= scale {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits);
    } else {
        let (int_part, frac_part) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int_part);
        out.push(b'.');
        out.extend_from_slice(frac_part);
    }
}

/// Appends a date as `YYYY-MM-DD` (years outside 0..=9999 with a sign and at
/// least five digits, as Canon writes them).
pub fn date(out: &mut Vec<u8>, d: Date) {
    let (y, m, day) = d.ymd();
    match u32::try_from(y) {
        Ok(y) if y <= 9999 => {
            let digit = |n: u32| b'0' + (n % 10) as u8;
            out.extend_from_slice(&[
                digit(y / 1000),
                digit(y / 100),
                digit(y / 10),
                digit(y),
                b'-',
                digit(m / 10),
                digit(m),
                b'-',
                digit(day / 10),
                digit(day),
            ]);
        }
        _ => {
            use std::io::Write as _;
            let _ = write!(out, "{y:+05}-{m:02}-{day:02}");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> String {
        let mut out = Vec::new();
        decimal(&mut out, &Decimal::from_str(s).unwrap());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decimals_keep_their_scale() {
        assert_eq!(dec("7.50"), "7.50");
        assert_eq!(dec("8"), "8");
        assert_eq!(dec("0.0200"), "0.0200");
        assert_eq!(dec("-1.345"), "-1.345");
        assert_eq!(dec("-0.00"), "0.00");
    }

    #[test]
    fn dates() {
        let mut out = Vec::new();
        for d in ["2026-10-19", "0000-12-31", "0999-01-01", "9999-12-31"] {
            out.clear();
            date(&mut out, crate::values::parse_date(d).unwrap());
            assert_eq!(String::from_utf8(out.clone()).unwrap(), d);
        }
        out.clear();
        date(&mut out, Date(crate::values::parse_date("9999-12-31").unwrap().0 + 1));
        assert_eq!(String::from_utf8(out).unwrap(), "+10000-01-01");
    }

    #[test]
    fn strings_escape_like_canon() {
        let mut out = Vec::new();
        string(&mut out, "a\"b\\c\n\t\u{1}\u{8}\u{7f}\u{85}\u{2028}\u{2029}\u{2030}é");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\t\\u0001\\u0008\u{7f}\\u0085\\u2028\\u2029\u{2030}é\""
        );
    }
}
