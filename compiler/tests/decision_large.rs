//! A 10,000-row rate card is analysed (LANGUAGE.md §5.2) with the diagnostics
//! of a small one: an overlap, a covered row, a gap, a date gap. Not timed
//! (scripts/bench_decision_check.sh measures); the set-based analysis makes
//! this quick where comparing rows pairwise took seconds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use canon_compiler::db::check_once;

const ROLES: [&str; 4] = ["Junior", "Senior", "Principal", "Partner"];
const REGIONS: [&str; 4] = ["EU", "US", "UK", "APAC"];
const BANDS: [&str; 3] = ["[0..40)", "[40..60)", ">= 60"];

/// The rows of scripts/gen_decision_check.py: client, role, region, day, hours, rate.
fn rate_card(n: usize, day_gap: bool) -> Vec<[String; 6]> {
    let mut out = Vec::new();
    let mut client = 0;
    while out.len() < n {
        for (ri, role) in ROLES.iter().enumerate() {
            for (pi, (a, b)) in [("2025-01-01", "2025-12-31"), ("2026-01-01", "2026-12-31")].iter().enumerate() {
                let a = if day_gap && pi == 1 { "2026-01-02" } else { a };
                for (bi, band) in BANDS.iter().enumerate() {
                    let rate = 100 + (client * 7 + ri * 50 + pi * 10 + bi * 25) % 400;
                    out.push([
                        format!("\"c{client:06}\""),
                        role.to_string(),
                        format!("\"{}\"", REGIONS[client % 4]),
                        format!("[@\"{a}\"..@\"{b}\"]"),
                        band.to_string(),
                        format!("{rate}.00 USD"),
                    ]);
                    if out.len() == n {
                        return out;
                    }
                }
            }
        }
        client += 1;
    }
    out
}

fn package(hit: &str, ret: &str, rows: &[[String; 6]], last: Option<&str>) -> String {
    let mut s = String::from("enum Role { Junior, Senior, Principal, Partner }\n\n");
    s.push_str(&format!(
        "decision rate(client: Text, role: Role, region: Text, day: Date, hours: Decimal) -> {ret}\n  hit {hit}\n"
    ));
    s.push_str("  | client | role | region | day | hours || rate |\n");
    for r in rows {
        s.push_str(&format!("  | {} | {} | {} | {} | {} || {} |\n", r[0], r[1], r[2], r[3], r[4], r[5]));
    }
    if let Some(l) = last {
        s.push_str(l);
    }
    s
}

/// The diagnostics as `code line: message` (lines of the package's text).
fn check(text: &str) -> Vec<String> {
    let checked = check_once(&[("rates.canon".to_string(), text.to_string())]);
    checked
        .diagnostics
        .iter()
        .map(|d| {
            let line = text[..d.span.start as usize].matches('\n').count() + 1;
            let labels: Vec<String> = d.labels.iter().map(|l| l.message.clone()).collect();
            format!("{} {line}: {} [{}]", d.code.as_str(), d.message, labels.join("; "))
        })
        .collect()
}

const N: usize = 10_000;
// Row k of a table is on line k + 5.

#[test]
fn a_clean_10000_row_table_has_no_diagnostics() {
    let rows = rate_card(N, false);
    assert_eq!(
        check(&package("first", "Money", &rows, Some("  | - | - | - | - | - || 90.00 USD |\n"))),
        Vec::<String>::new()
    );
    assert_eq!(check(&package("unique", "Money?", &rows, None)), Vec::<String>::new());
    assert_eq!(check(&package("collect", "Money", &rows, None)), Vec::<String>::new());
}

#[test]
fn an_overlap_in_a_10000_row_table_names_both_rows_and_an_input() {
    let mut rows = rate_card(N, false);
    let mut again = rows[0].clone();
    again[5] = "1.00 USD".into();
    rows.push(again);
    assert_eq!(
        check(&package("unique", "Money?", &rows, None)),
        vec![
            "E0303 10006: rows 1 and 10001 overlap under `hit unique`: both match client = \"c000000\", role = Junior, \
             region = \"EU\", day = 2025-01-01, hours = 0 [this row (line 6) matches it too]"
        ]
    );
    assert_eq!(
        check(&package("any", "Money?", &rows, None)),
        vec![
            "E0307 10006: rows 1 and 10001 overlap under `hit any` with different outputs: both match client = \
             \"c000000\", role = Junior, region = \"EU\", day = 2025-01-01, hours = 0 [this row (line 6) matches it too]"
        ]
    );
}

#[test]
fn a_covered_row_in_a_10000_row_table_names_the_row_before() {
    let mut rows = rate_card(N, false);
    let mut again = rows[5000].clone();
    again[5] = "2.00 USD".into();
    rows.push(again);
    assert_eq!(
        check(&package("first", "Money", &rows, Some("  | - | - | - | - | - || 90.00 USD |\n"))),
        vec!["W0304 10006: this row can never match: row 5001 (line 5006) covers every input it matches [row 5001 matches first]"]
    );
}

#[test]
fn a_gap_in_a_10000_row_table_names_an_input() {
    let rows = rate_card(N, false);
    let out = check(&package("first", "Money", &rows, None));
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].starts_with(
            "E0302 3: decision `rate` does not cover every input: no row matches client = \"c000000\", role = Junior, \
             region = \"EU\", day < 2025-01-01, hours < 0"
        ),
        "{out:?}"
    );
    let gap = check(&package("unique", "Money?", &rate_card(N, true), None));
    assert_eq!(gap.len(), 1, "{gap:?}");
    assert!(gap[0].starts_with("W0306 3: decision `rate` leaves a gap between its date ranges"), "{gap:?}");
}
