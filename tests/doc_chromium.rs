//! `canon doc`'s page in a real headless Chromium: the documentation of
//! `examples/timesheets` is loaded from disk, its DOM as Chromium parsed it
//! is checked for the sections, tables and routing graph, and a screenshot is
//! checked for its size, for not being blank, and for the page's own colours
//! (its structure, not its pixels).
//!
//! Without `chromium` on PATH the test prints a note and passes, unless `CI` is
//! set (`.ci/run` installs Debian's chromium), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one Chromium run may take before it is killed.
const DEADLINE: Duration = Duration::from_secs(120);
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1800;

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The Chromium binary on PATH, if one runs.
fn chromium() -> Option<String> {
    ["chromium", "chromium-browser"].into_iter().map(str::to_string).find(|name| {
        Command::new(name)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn read_to_end(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = r.read_to_end(&mut s);
        s
    })
}

/// Runs headless Chromium with `args` after the flags every run needs (a
/// fresh profile, no sandbox for root, nothing fetched); returns its stdout.
fn run_chromium(chromium: &str, profile: &Path, args: &[String]) -> Vec<u8> {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Containers often give /dev/shm a few megabytes.
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = read_to_end(child.stdout.take().unwrap());
    let stderr = read_to_end(child.stderr.take().unwrap());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    let status = status.unwrap_or_else(|| panic!("chromium did not finish in {DEADLINE:?}\nstderr:\n{stderr}"));
    assert!(status.success(), "chromium failed: {status}\nstderr:\n{stderr}");
    stdout
}

/// The part of `dom` from `start` to the next `end` after it.
fn between<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    let from = dom.find(start).unwrap_or_else(|| panic!("`{start}` is not in the DOM"));
    let rest = &dom[from..];
    let to = rest[start.len()..].find(end).map(|i| i + start.len()).unwrap_or(rest.len());
    &rest[..to]
}

#[test]
fn timesheets_doc_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        if on_ci() {
            panic!("chromium is not on PATH and CI is set: install it (apt-get install chromium chromium-driver)");
        }
        eprintln!("note: chromium is not on PATH; skipping the Chromium test of `canon doc` (it fails instead when CI is set)");
        return;
    };
    let base = std::env::temp_dir().join(format!("canon-doc-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let out = base.join("doc");
    let o = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["doc", "examples/timesheets", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "canon doc failed: {}", String::from_utf8_lossy(&o.stderr));
    let index: PathBuf = out.join("index.html").canonicalize().unwrap();
    let url = format!("file://{}", index.display());

    // The DOM as Chromium built it from the file.
    let dom = run_chromium(&chromium, &base.join("profile-dom"), &["--dump-dom".to_string(), url.clone()]);
    let dom = String::from_utf8(dom).unwrap();
    assert!(dom.contains("<h1 id=\"package\">timesheets</h1>"), "{}", &dom[..dom.len().min(2000)]);
    for id in [
        "overview",
        "events",
        "handlers",
        "codes",
        "decisions",
        "destinations",
        "records",
        "enums",
        "tables",
        "state",
        "metrics",
        "functions",
    ] {
        assert!(dom.contains(&format!("<section id=\"{id}\">")), "section {id}");
    }
    // The routing graph: an inline SVG with a node per event, handler and
    // destination, the rejections, and an arrow per edge.
    let svg = between(&dom, "<svg", "</svg>");
    assert_eq!(svg.matches("class=\"node event\"").count(), 7, "event nodes");
    assert_eq!(svg.matches("class=\"node handler\"").count(), 7, "handler nodes");
    assert_eq!(svg.matches("class=\"node destination\"").count(), 2, "destination nodes");
    assert_eq!(svg.matches("class=\"node rejected\"").count(), 1);
    assert!(svg.matches("class=\"edge\"").count() >= 7 + 6 + 7, "edges");
    assert!(svg.contains("decisions: bill_rate, cost_rate"));
    // Every event's schema, the decision tables row by row, the rules.
    assert_eq!(dom.matches("<table class=\"fields\">").count(), 7 + 7, "events' and records' field tables");
    assert_eq!(dom.matches("<table class=\"dt\">").count(), 2, "decision tables");
    let bill_rate = between(&dom, "id=\"decision-bill_rate\"", "class=\"card\"");
    assert_eq!(bill_rate.matches("<td class=\"n\">").count(), 15, "bill_rate rows");
    assert!(bill_rate.contains("<span class=\"badge hit\">hit first</span>"));
    assert!(bill_rate.contains("<code>520.00 USD</code>"));
    let approved = between(&dom, "id=\"handler-7\"", "</section>");
    assert!(approved.contains("on <a href=\"#event-TimesheetApproved\">"), "the approval handler is the last");
    assert_eq!(approved.matches("<span class=\"rc\"").count(), 7, "its rules");
    assert!(approved.contains("HOURS_OUT_OF_RANGE") && approved.contains("NO_FX_RATE"));
    assert!(dom.contains("Seniority of the person who booked the time; drives both rate cards."), "/// docs");

    // A screenshot: the asked size, not blank, the header's navy at the top
    // and the page's light background below it.
    let shot = base.join("shot.png");
    run_chromium(
        &chromium,
        &base.join("profile-shot"),
        &[format!("--window-size={WIDTH},{HEIGHT}"), format!("--screenshot={}", shot.display()), url],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    let channels = info.color_type.samples();
    assert!(channels >= 3, "an RGB screenshot");
    let pixel = |x: u32, y: u32| {
        let i = ((y * info.width + x) as usize) * channels;
        (buf[i], buf[i + 1], buf[i + 2])
    };
    let mut colours = std::collections::BTreeSet::new();
    for y in (0..HEIGHT).step_by(7) {
        for x in (0..WIDTH).step_by(7) {
            colours.insert(pixel(x, y));
        }
    }
    assert!(colours.len() > 50, "a page, not a blank screen: {} colours", colours.len());
    assert_eq!(pixel(4, 4), (0x10, 0x2a, 0x43), "the header's navy");
    assert_eq!(pixel(4, HEIGHT - 4), (0xf4, 0xf6, 0xf9), "the page's background");
    let _ = std::fs::remove_dir_all(&base);
}
