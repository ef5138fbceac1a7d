//! The language server's speed on a 10,000-line package (not a timed test:
//! it prints figures). Run with `cargo bench -p canon-lsp`.
//!
//! It writes a generated package (the module of `scripts/gen_package.py`,
//! about 70 lines, repeated over files of about 1,000 lines) to a temporary
//! directory, drives the server in process as `lsp/tests/lsp.rs` does, and
//! prints the median and 90th percentile of
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

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::LspService;

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

struct Client {
    service: LspService<canon_lsp::server::Backend>,
    notes: Arc<Mutex<Vec<(String, Value)>>>,
    /// Woken when a notification arrives.
    arrived: Arc<Notify>,
    next_id: i64,
    dir: tempfile::TempDir,
}

impl Client {
    fn uri(&self, name: &str) -> String {
        let path = if name.is_empty() {
            self.dir.path().to_path_buf()
        } else {
            self.dir.path().join(name)
        };
        Uri::from_file_path(path).expect("uri").as_str().to_string()
    }

    async fn request(&mut self, method: &'static str, params: Value) -> Value {
        let req = Request::build(method)
            .params(params)
            .id(self.next_id)
            .finish();
        self.next_id += 1;
        let resp = self
            .service
            .ready()
            .await
            .expect("ready")
            .call(req)
            .await
            .expect("call")
            .expect("response");
        resp.into_parts().1.expect("ok response")
    }

    async fn notify(&mut self, method: &'static str, params: Value) {
        let req = Request::build(method).params(params).finish();
        self.service
            .ready()
            .await
            .expect("ready")
            .call(req)
            .await
            .expect("call");
    }

    async fn change(&mut self, name: &str, version: i32, text: &str) {
        let uri = self.uri(name);
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        )
        .await;
    }

    /// How many diagnostics notifications were published, and the last
    /// diagnostics of `uri`.
    fn published(&self, uri: &str) -> (usize, Option<Vec<Value>>) {
        let notes = self.notes.lock().expect("lock");
        let all: Vec<&Value> = notes
            .iter()
            .filter(|(m, _)| m == "textDocument/publishDiagnostics")
            .map(|(_, p)| p)
            .collect();
        let last = all
            .iter()
            .rev()
            .find(|p| p["uri"] == json!(uri))
            .and_then(|p| p["diagnostics"].as_array().cloned());
        (all.len(), last)
    }

    /// Waits until `n` diagnostics notifications have been published.
    async fn await_published(&self, n: usize) {
        loop {
            let arrived = self.arrived.notified();
            if self.published("").0 >= n {
                return;
            }
            if tokio::time::timeout(Duration::from_secs(10), arrived)
                .await
                .is_err()
            {
                panic!("diagnostics were not published");
            }
        }
    }
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
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let (service, mut socket) = canon_lsp::service();
    let notes = Arc::new(Mutex::new(Vec::new()));
    let arrived = Arc::new(Notify::new());
    let (sink, wake) = (notes.clone(), arrived.clone());
    tokio::spawn(async move {
        while let Some(req) = socket.next().await {
            let (method, _, params) = req.into_parts();
            sink.lock()
                .expect("lock")
                .push((method.to_string(), params.unwrap_or(Value::Null)));
            wake.notify_waiters();
        }
    });
    let mut c = Client {
        service,
        notes,
        arrived,
        next_id: 1,
        dir,
    };
    let root = c.uri("");
    let t0 = Instant::now();
    c.request("initialize", json!({ "capabilities": {}, "rootUri": root }))
        .await;
    c.notify("initialized", json!({})).await;
    c.await_published(files.len()).await;
    println!(
        "canon lsp speed: {total} lines in {} files; initial load and check {:.1} ms",
        files.len(),
        t0.elapsed().as_secs_f64() * 1000.0
    );

    // Edit a file in the middle of the package.
    let (name, base) = files[files.len() / 2].clone();
    let uri = c.uri(&name);
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "canon", "version": 1, "text": base } }),
    )
    .await;
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
    let mut samples = Vec::new();
    for i in 0..runs + 2 {
        let at = handlers[i % handlers.len()];
        let mut text = base.clone();
        text.insert_str(at, "  let x = l.\n");
        let line = text[..at].matches('\n').count();
        let before = c.published("").0;
        c.change(&name, version, &text).await;
        c.await_published(before + files.len()).await;
        version += 1;
        let t = Instant::now();
        let r = c
            .request(
                "textDocument/completion",
                json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": 12 } }),
            )
            .await;
        let dt = t.elapsed();
        let labels: Vec<&str> = r
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["label"].as_str())
            .collect();
        assert_eq!(
            labels,
            ["role", "region", "project", "hours", "note", "day"]
        );
        if i >= 2 {
            samples.push(dt);
        }
    }
    let compl = stats("completion after `.`", samples);

    // (c) Completion by expected type: `check l.role == ` (the variants of
    // `Role<i>` first), on a line that is still being typed.
    let mut samples = Vec::new();
    for i in 0..runs + 2 {
        let at = handlers[i % handlers.len()];
        let mut text = base.clone();
        text.insert_str(at, "  check l.role == \n");
        let line = text[..at].matches('\n').count();
        let before = c.published("").0;
        c.change(&name, version, &text).await;
        c.await_published(before + files.len()).await;
        version += 1;
        let t = Instant::now();
        let r = c
            .request(
                "textDocument/completion",
                json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": 17 } }),
            )
            .await;
        let dt = t.elapsed();
        let labels: Vec<&str> = r
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["label"].as_str())
            .take(4)
            .collect();
        assert_eq!(labels, ["Associate", "Senior", "Principal", "Partner"]);
        if i >= 2 {
            samples.push(dt);
        }
    }
    stats("completion after `==`", samples);
    println!(
        "targets: diagnostics < 100 ms median ({}), completion < 50 ms median ({})",
        if diag.0 < 100.0 { "met" } else { "MISSED" },
        if compl.0 < 50.0 { "met" } else { "MISSED" }
    );
}
