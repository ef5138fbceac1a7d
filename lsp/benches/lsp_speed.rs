//! The language server's speed on a 10,000-line package (not a timed test:
//! it prints figures). Run with `cargo bench -p canon-lsp`.
//!
//! It writes a generated package (the module of `scripts/gen_package.py`,
//! about 70 lines, repeated over files of about 1,000 lines) to a temporary
//! directory, drives the server in process with the client of the tests
//! (`lsp/tests/common/mod.rs`), and prints the median and 90th percentile of
//!
//! - diagnostics: from a one-character edit (`didChange`, full text) until
//!   the diagnostics of every file are published, alternating between an
//!   edit that makes an error and one that fixes it;
//! - completion after `.`: a `completion` request right after the edit that
//!   typed `let x = l.` on a new line of a handler (the server has published
//!   that text's diagnostics already, as an editor would see it);
//! - completion by expected type: the same after `check l.role == `.
//!
//! `CANON_BENCH_LINES` changes the size (default 10000), `CANON_BENCH_RUNS`
//! the number of samples (default 40).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use serde_json::json;

#[path = "../tests/common/mod.rs"]
mod common;
use common::Client;

/// One module of the package (as in scripts/gen_package.py); `{i}` is its number.
const MODULE: &str = r#"/// Module {i}: seniority used for rate cards.
enum Role{i} { Associate, Senior, Principal, Partner }
enum Region{i} { NA, EU = "eu", UK, APAC }

record Project{i} {
  code: Text
  billable: Bool
  currency: Currency
  budget: Decimal?
}

event Logged{i} as "logged.{i}" {
  role: Role{i}
  region: Region{i}
  project: Text
  hours: Decimal
  note: Text?
  day: Date
}

record Line{i} {
  project: Text
  amount: Money
  label: Text
  period: Date
}

destination out{i}: Line{i}
table projects{i}: Project{i} key code

fn cap{i}(h: Decimal) -> Decimal = if h > 12 then 12 else h
fn label{i}(r: Role{i}) -> Text = match r { Associate => "a", Senior => "s", Principal => "p", Partner => "x" }

decision rate{i}(role: Role{i}, region: Region{i}, hours: Decimal) -> Money
  hit first
  | role      | region  | hours   || rate       |
  | Partner   | -       | -       || 450.00 USD |
  | Senior    | EU, UK  | > 8     || 210.00 EUR |
  | Senior    | -       | -       || 200.00 USD |
  | Principal | not NA  | [0..40] || 300.00 EUR |
  | -         | -       | -       || 120.00 USD |

decision band{i}(hours: Decimal) -> Text
  hit unique
  | hours    || band    |
  | < 4      || "short" |
  | [4..8]   || "day"   |
  | > 8      || "long"  |

on Logged{i} as l {
  check l.hours > 0 and l.hours <= 24 else reject HOURS "bad hours {l.hours}"
  let p = projects{i}[l.project]
  require p != none else reject UNKNOWN "no project {l.project}"
  let rate = rate{i}(l.role, l.region, l.hours)
  let amount = round(rate * cap{i}(l.hours), 2)
  check p.budget == none or l.hours <= (p.budget ?? 0) else reject BUDGET "over budget"
  emit out{i} Line{i} {
    project: p.code,
    amount: amount,
    label: "{label{i}(l.role)}-{band{i}(l.hours)}-{l.note ?? "none"}",
    period: start_of_month(l.day),
  }
}
"#;

/// The files of a package of about `lines` lines: (name, text).
fn generate(lines: usize) -> Vec<(String, String)> {
    let per = MODULE.lines().count() + 1;
    let n = (lines / per).max(1);
    let mut files = Vec::new();
    let (mut buf, mut count) = (Vec::new(), 0);
    for i in 0..n {
        buf.push(MODULE.replace("{i}", &i.to_string()));
        count += per;
        if count >= 1000 || i == n - 1 {
            files.push((format!("part{:03}.canon", files.len()), buf.join("\n")));
            buf.clear();
            count = 0;
        }
    }
    files
}

fn stats(name: &str, mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = ms(samples[samples.len() / 2]);
    let p90 = ms(samples[(samples.len() * 9 / 10).min(samples.len() - 1)]);
    println!(
        "{name:<28} median {median:7.2} ms   p90 {p90:7.2} ms   ({} samples)",
        samples.len()
    );
    (median, p90)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would too: run either way.
    let lines: usize = std::env::var("CANON_BENCH_LINES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let runs: usize = std::env::var("CANON_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(lines, runs));
}

async fn run(lines: usize, runs: usize) {
    let files = generate(lines);
    let total: usize = files.iter().map(|(_, t)| t.lines().count()).sum();
    let mut c = Client::new(files.as_slice());
    let t0 = Instant::now();
    c.initialize().await;
    c.await_published(files.len()).await;
    println!(
        "canon lsp speed: {total} lines in {} files; initial load and check {:.1} ms",
        files.len(),
        t0.elapsed().as_secs_f64() * 1000.0
    );

    // Edit a file in the middle of the package.
    let (name, base) = files[files.len() / 2].clone();
    let uri = c.uri(&name);
    c.open(&name, &base).await;
    let mut version = 2;

    // (a) Diagnostics after a one-character edit: `l.hours` <-> `l.hourz`
    // in the middle of the file.
    let at = base.len() / 2 + base[base.len() / 2..].find("l.hours").expect("l.hours") + 6;
    let mut broken = base.clone();
    broken.replace_range(at..at + 1, "z");
    let mut samples = Vec::new();
    for i in 0..runs + 2 {
        let (text, errors) = if i % 2 == 0 { (&broken, 1) } else { (&base, 0) };
        let before = c.published("").0;
        let t = Instant::now();
        c.change(&name, version, text).await;
        c.await_published(before + files.len()).await;
        let dt = t.elapsed();
        version += 1;
        let diags = c.published(&uri).1.unwrap_or_default();
        assert_eq!(diags.len(), errors, "{diags:?}");
        if i >= 2 {
            samples.push(dt);
        }
    }
    let diag = stats("diagnostics after an edit", samples);

    // (b) Completion after `.`: a new line `  let x = l.` in a handler in
    // the middle of the file, typed at a different handler each time.
    let handlers: Vec<usize> = base
        .match_indices("  let rate = ")
        .map(|(i, _)| i)
        .collect();
    let mut file = Edited {
        name: &name,
        base: &base,
        handlers: &handlers,
        files: files.len(),
        version,
    };
    let samples = completion_samples(
        &mut c,
        &mut file,
        runs,
        Typed {
            line: "  let x = l.",
            character: 12,
            first: &["role", "region", "project", "hours", "note", "day"],
            only: true,
        },
    )
    .await;
    let compl = stats("completion after `.`", samples);

    // (c) Completion by expected type: `check l.role == ` (the variants of
    // `Role<i>` first), on a line that is still being typed.
    let samples = completion_samples(
        &mut c,
        &mut file,
        runs,
        Typed {
            line: "  check l.role == ",
            character: 17,
            first: &["Associate", "Senior", "Principal", "Partner"],
            only: false,
        },
    )
    .await;
    stats("completion after `==`", samples);
    println!(
        "targets: diagnostics < 100 ms median ({}), completion < 50 ms median ({})",
        if diag.0 < 100.0 { "met" } else { "MISSED" },
        if compl.0 < 50.0 { "met" } else { "MISSED" }
    );
}

/// The file the completion figures edit.
struct Edited<'a> {
    name: &'a str,
    /// Its text before each edit.
    base: &'a str,
    /// The offsets of the lines that begin `let rate = ` in `base`.
    handlers: &'a [usize],
    /// How many files the package has (each edit publishes diagnostics for each).
    files: usize,
    /// The version of the next edit.
    version: i32,
}

/// What a completion figure types, and the labels it must be offered.
struct Typed<'a> {
    /// The new line.
    line: &'a str,
    /// The cursor's column in it.
    character: usize,
    /// The labels offered first.
    first: &'a [&'a str],
    /// Whether no other labels are offered.
    only: bool,
}

/// Completion timed `runs` times (after two more to warm up): `typed.line`
/// inserted before a different handler of `file` each time, the completion
/// asked at its cursor once the server has published that text's
/// diagnostics (as an editor would see it).
async fn completion_samples(
    c: &mut Client,
    file: &mut Edited<'_>,
    runs: usize,
    typed: Typed<'_>,
) -> Vec<Duration> {
    let uri = c.uri(file.name);
    let take = if typed.only {
        usize::MAX
    } else {
        typed.first.len()
    };
    let mut samples = Vec::new();
    for i in 0..runs + 2 {
        let at = file.handlers[i % file.handlers.len()];
        let mut text = file.base.to_string();
        text.insert_str(at, &format!("{}\n", typed.line));
        let line = text[..at].matches('\n').count();
        let before = c.published("").0;
        c.change(file.name, file.version, &text).await;
        c.await_published(before + file.files).await;
        file.version += 1;
        let t = Instant::now();
        let r = c
            .request(
                "textDocument/completion",
                json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": typed.character } }),
            )
            .await;
        let dt = t.elapsed();
        let labels: Vec<&str> = r
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["label"].as_str())
            .take(take)
            .collect();
        assert_eq!(labels, typed.first);
        if i >= 2 {
            samples.push(dt);
        }
    }
    samples
}
