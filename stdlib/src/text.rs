//! Text helpers behind the Text built-ins: length in scalar values, Unicode case and White_Space.

/// Length in Unicode scalar values (not bytes, not grapheme clusters).
pub fn len(s: &str) -> i64 {
    i64::try_from(s.chars().count()).unwrap_or(i64::MAX)
}

/// Unicode default upper-casing (`straße` → `STRASSE`), as Rust's `to_uppercase`.
pub fn upper(s: &str) -> String {
    s.to_uppercase()
}

/// Unicode default lower-casing, as Rust's `to_lowercase` (final sigma aware).
pub fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// Removes leading and trailing Unicode White_Space (Rust's `str::trim`).
pub fn trim(s: &str) -> &str {
    s.trim()
}

/// Whether `s` begins with `prefix` (by code points; the empty prefix always matches).
pub fn starts_with(s: &str, prefix: &str) -> bool {
    s.starts_with(prefix)
}

/// Whether `s` ends with `suffix` (the empty suffix always matches).
pub fn ends_with(s: &str, suffix: &str) -> bool {
    s.ends_with(suffix)
}

/// Whether `needle` occurs in `s` (the empty needle always does).
pub fn contains(s: &str, needle: &str) -> bool {
    s.contains(needle)
}

/// Ordering of Text by Unicode code point (LANGUAGE.md §3); for UTF-8 this is byte order.
pub fn cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.cmp(b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn helpers() {
        assert_eq!(len(""), 0);
        assert_eq!(len("héllo"), 5);
        assert_eq!(len("🎉"), 1);
        assert_eq!(len("e\u{301}"), 2);
        assert_eq!(upper("straße"), "STRASSE");
        assert_eq!(lower("ÀB"), "àb");
        assert_eq!(lower("ΟΔΟΣ"), "οδος");
        assert_eq!(trim("\u{3000}\u{a0} x y\t\n\u{2029}"), "x y");
        assert_eq!(trim("\u{200b}x"), "\u{200b}x"); // zero-width space is not White_Space
        assert!(starts_with("T-100", "T-"));
        assert!(!starts_with("t-100", "T-"));
        assert!(starts_with("x", ""));
        assert!(ends_with("a.csv", ".csv"));
        assert!(!ends_with("a", "abc"));
        assert!(contains("overtime", "time"));
        assert!(contains("", ""));
        assert!(!contains("ABC", "b"));
        assert_eq!(cmp("Z", "a"), Ordering::Less);
        assert_eq!(cmp("\u{ffff}", "\u{10000}"), Ordering::Less);
    }
}
