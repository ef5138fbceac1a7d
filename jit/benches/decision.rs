//! Large decision tables (docs/performance.md, "Performance: large decision
//! tables"): for each package directory in `DECISION_DIRS` (colon-separated;
//! made by scripts/gen_decision.py), the check time, then per engine the
//! events/s of `events.jsonl` (outcome lines written, best of `RUNS`), and
//! the JIT's compile time and the peak memory its compilation adds.
//! `BEFORE=1` also measures the row-by-row readings (the interpreter
//! without the index, the JIT with code per row) where `BEFORE_MAX_ROWS`
//! (default 10,000) allows. Every engine's outcome lines are compared with
//! the row-by-row interpreter's on the first `REFERENCE` events (default 200).
//! Run it through scripts/bench_decision.sh.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use canon_jit::JitEngine;
use canon_runtime::state::NoState;
use canon_runtime::{Engine, Tables};

/// Counts the heap: bytes live now and at the peak since the last reset.
struct Counting;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        use std::sync::atomic::Ordering::Relaxed;
        let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        // SAFETY: as the caller's.
        unsafe { std::alloc::System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        LIVE.fetch_sub(l.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: as the caller's.
        unsafe { std::alloc::System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// A field of /proc/self/status in KB.
fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak resident size (VmHWM) to the current one.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn interp_lines(e: &Engine, lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut s = String::new();
            e.write_outcome(&e.evaluate(i as u64 + 1, l), &mut s);
            s
        })
        .collect()
}

fn jit_lines(e: &JitEngine, lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut s = String::new();
            e.evaluate_json_in(i as u64 + 1, l, &NoState, &mut s);
            s
        })
        .collect()
}

fn main() {
    let dirs = std::env::var("DECISION_DIRS").expect("DECISION_DIRS: directories made by scripts/gen_decision.py");
    let runs = env_num("RUNS", 3);
    let reference_n = env_num("REFERENCE", 200);
    let before = std::env::var("BEFORE").is_ok_and(|v| v == "1");
    let before_max = env_num("BEFORE_MAX_ROWS", 10_000);
    println!(
        "{:>8} {:>8} {:>14} {:>14} {:>12} {:>12}",
        "rows", "check s", "engine", "events/s", "compile ms", "compile MB"
    );
    let spread: std::cell::RefCell<Vec<(String, f64)>> = std::cell::RefCell::new(Vec::new());
    for dir in dirs.split(':').filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        let t = Instant::now();
        let loaded = canon_runtime::load(&dir).expect("load");
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics().first());
        let check = t.elapsed();
        let pkg = loaded.package();
        let rows = pkg.decisions.iter().map(|d| d.rows.len()).max().unwrap_or(0);
        let tables = Tables::empty(&pkg);
        let lines: Vec<String> = std::fs::read_to_string(dir.join("events.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect();
        let n = lines.len();
        let reference = Engine::with_min_index_rows(pkg.clone(), tables.clone(), usize::MAX);
        let sample = &lines[..reference_n.min(n)];
        let want = interp_lines(&reference, sample);

        let interp = Engine::new(pkg.clone(), tables.clone());
        assert_eq!(want, interp_lines(&interp, sample), "the indexed interpreter differs");
        let t = best(runs, || {
            std::hint::black_box(interp_lines(&interp, &lines));
        });
        let row = |engine: &str, t: Duration, compile: Option<(Duration, u64)>| {
            let (ms, mb) = match compile {
                Some((c, kb)) => (format!("{:.1}", c.as_secs_f64() * 1e3), format!("{:.1}", kb as f64 / 1024.0)),
                None => ("-".into(), "-".into()),
            };
            spread.borrow_mut().push((engine.to_string(), n as f64 / t.as_secs_f64()));
            println!(
                "{:>8} {:>8.2} {:>14} {:>14.0} {:>12} {:>12}",
                rows,
                check.as_secs_f64(),
                engine,
                n as f64 / t.as_secs_f64(),
                ms,
                mb
            );
        };
        row("interp", t, None);

        // The memory compiling adds at its peak: heap (counted) plus the
        // growth of the resident set (the JIT's code is mapped, not allocated).
        let compile = |min_rows: usize| {
            use std::sync::atomic::Ordering::Relaxed;
            reset_peak();
            let base = status_kb("VmRSS:");
            let live = LIVE.load(Relaxed);
            PEAK.store(live, Relaxed);
            let t = Instant::now();
            let jit = JitEngine::with_options(pkg.clone(), &tables, false, min_rows).expect("jit");
            let c = t.elapsed();
            let heap = (PEAK.load(Relaxed).saturating_sub(live) / 1024) as u64;
            let rss = status_kb("VmHWM:").saturating_sub(base);
            (jit, c, heap.max(rss))
        };
        let (jit, c, peak) = compile(canon_runtime::dindex::DEFAULT_MIN_ROWS);
        assert_eq!(want, jit_lines(&jit, sample), "the JIT differs");
        let t = best(runs, || {
            std::hint::black_box(jit_lines(&jit, &lines));
        });
        row("jit", t, Some((c, peak)));
        drop(jit);

        if before && rows <= before_max {
            let t = best(runs, || {
                std::hint::black_box(interp_lines(&reference, &lines));
            });
            row("interp (rows)", t, None);
            let (jit, c, peak) = compile(usize::MAX);
            assert_eq!(want, jit_lines(&jit, sample), "the row-by-row JIT differs");
            let t = best(runs, || {
                std::hint::black_box(jit_lines(&jit, &lines));
            });
            row("jit (rows)", t, Some((c, peak)));
        }
    }
    // The spread of each engine's events/s over the sizes (target: within 2x).
    let spread = spread.into_inner();
    for engine in ["interp", "jit"] {
        let eps: Vec<f64> = spread.iter().filter(|(e, _)| e == engine).map(|(_, x)| *x).collect();
        let (lo, hi) = eps.iter().fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        if eps.len() > 1 {
            println!("{engine}: fastest/slowest events/s over the sizes = {:.2}x (target <= 2x)", hi / lo);
        }
    }
}
