//! JUnit XML for `canon test --format junit` (RUNTIME.md §3.2): the
//! de-facto schema GitHub, GitLab and Jenkins read. One `<testsuite>` for the
//! package, one `<testcase>` a test, a `<failure>` for each that failed.

use std::fmt::Write as _;

use canon_runtime::testing::TestResult;

/// The report of one package's tests. `suite` names the package; `prefix`
/// goes before each test file's path (the package path as given).
pub(crate) fn report(suite: &str, prefix: &str, results: &[TestResult]) -> String {
    let failures = results.iter().filter(|r| r.failure.is_some()).count();
    let total: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"canon test\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{total:.6}\">",
        results.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{total:.6}\">",
        escape(suite, true),
        results.len()
    );
    for r in results {
        let (file, line) = crate::test_cli::split_at(&r.at);
        let path = if prefix.is_empty() { file.to_string() } else { format!("{prefix}/{file}") };
        let stem = file.strip_suffix(".canon").unwrap_or(file).replace('/', ".");
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{line}\" time=\"{:.6}\"",
            escape(&r.name, true),
            escape(&format!("{suite}.{stem}"), true),
            escape(&path, true),
            r.duration.as_secs_f64()
        );
        match &r.failure {
            None => out.push_str("/>\n"),
            Some(why) => {
                let first = why.lines().next().unwrap_or("");
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"expectation\">{}</failure>\n    </testcase>",
                    escape(first, true),
                    escape(why, false)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Text as XML 1.0 character data (`attr`: inside a double-quoted
/// attribute, where line breaks and tabs are kept as references). A
/// character XML 1.0 cannot carry at all (a control character other than
/// tab, line feed and carriage return; U+FFFE, U+FFFF) is written as the
/// text `\u{..}`.
pub(crate) fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\'' if attr => out.push_str("&apos;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_quotes_breaks_and_what_xml_cannot_carry() {
        assert_eq!(escape("a<b & \"c\" 'd'>", true), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
        assert_eq!(escape("a<b & \"c\"", false), "a&lt;b &amp; \"c\"");
        assert_eq!(escape("x\ny\tz\r", true), "x&#10;y&#9;z&#13;");
        assert_eq!(escape("x\ny", false), "x\ny");
        assert_eq!(escape("bell\u{7} é ✓", false), "bell\\u{7} é ✓");
    }
}
