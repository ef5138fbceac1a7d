//! `canon test` (RUNTIME.md §3, §3.2): runs a package's test blocks on the
//! reference interpreter, with coverage on request, and reports in text,
//! JSON, lcov or JUnit XML.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use canon_runtime::coverage::{self, Recorder, Report};
use canon_runtime::testing::{run_tests_covered, TestResult};
use clap::ValueEnum;

/// What `canon test` prints on stdout.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum TestFormat {
    /// A line a test, the totals, then the coverage when asked.
    Text,
    /// One JSON object: the tests and the coverage.
    Json,
    /// The coverage as an lcov tracefile (implies `--coverage`).
    Lcov,
    /// JUnit XML, as CI systems read test reports.
    Junit,
}

#[derive(clap::Args)]
pub(crate) struct TestArgs {
    /// The package directory (or one .canon file).
    #[arg(default_value = ".")]
    package: PathBuf,
    /// Count the handlers, rules, branches and decision rows the tests reach,
    /// and list the ones none reaches.
    #[arg(long)]
    coverage: bool,
    /// Exit 1 when the coverage is below PERCENT (0 to 100; implies `--coverage`).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    threshold: Option<f64>,
    #[arg(long, value_enum, default_value = "text")]
    format: TestFormat,
    /// Also write the coverage as an lcov tracefile to FILE (implies `--coverage`).
    #[arg(long, value_name = "FILE")]
    coverage_out: Option<PathBuf>,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is not a percentage from 0 to 100")),
    }
}

pub(crate) fn test(args: TestArgs) -> ExitCode {
    let (pkg, tables) = match crate::prepare(&args.package, None, true) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let checked = pkg.package();
    let want_coverage =
        args.coverage || args.threshold.is_some() || args.coverage_out.is_some() || args.format == TestFormat::Lcov;
    let recorder = want_coverage.then(Recorder::new);
    let results = run_tests_covered(&checked, &tables, &pkg.root, recorder.as_ref());
    let report = recorder.as_ref().map(|r| Report::new(coverage::points(&checked, &pkg.sources), r));
    let prefix = path_prefix(&pkg.root);
    let failed = results.iter().filter(|r| r.failure.is_some()).count();

    let human = human_lines(&results);
    let mut out = String::new();
    match args.format {
        TestFormat::Text => {
            out.push_str(&human);
            if let Some(r) = &report {
                r.write_text(&mut out);
            }
        }
        TestFormat::Json => {
            let v = serde_json::json!({
                "tests": results.iter().map(test_json).collect::<Vec<_>>(),
                "passed": results.len() - failed,
                "failed": failed,
                "coverage": report.as_ref().map(|r| r.to_json(args.threshold)),
            });
            out.push_str(&v.to_string());
            out.push('\n');
        }
        TestFormat::Lcov | TestFormat::Junit => {
            // stdout carries the machine format; what a person reads goes to stderr.
            let mut side = human;
            if let Some(r) = &report {
                r.write_text(&mut side);
            }
            eprint!("{side}");
            if args.format == TestFormat::Lcov {
                if let Some(r) = &report {
                    r.write_lcov(&prefix, &mut out);
                }
            } else {
                out.push_str(&crate::junit::report(&suite_name(&pkg), &prefix, &results));
            }
        }
    }
    print!("{out}");

    if let (Some(file), Some(r)) = (&args.coverage_out, &report) {
        let mut lcov = String::new();
        r.write_lcov(&prefix, &mut lcov);
        if let Err(e) = std::fs::write(file, lcov) {
            eprintln!("error: cannot write `{}`: {e}", file.display());
            return ExitCode::from(2);
        }
    }
    let mut code = if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS };
    if let (Some(t), Some(r)) = (args.threshold, &report) {
        if !r.meets(t) {
            eprintln!("error: coverage {} is below the threshold {}", r.percent_text(), threshold_text(t));
            code = ExitCode::from(1);
        }
    }
    std::mem::forget(pkg);
    code
}

/// `80%`, `87.5%`: the threshold as given.
fn threshold_text(t: f64) -> String {
    let mut s = format!("{t}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    s.push('%');
    s
}

/// One line a test (a failure's differences on indented lines after it),
/// then `N passed, N failed` (RUNTIME.md §3).
fn human_lines(results: &[TestResult]) -> String {
    let mut out = String::new();
    let mut failed = 0;
    for r in results {
        match &r.failure {
            None => {
                let _ = writeln!(out, "ok   {} ({})", r.name, r.at);
            }
            Some(why) => {
                failed += 1;
                let mut lines = why.lines();
                let _ = writeln!(out, "FAIL {} ({}): {}", r.name, r.at, lines.next().unwrap_or(""));
                for l in lines {
                    let _ = writeln!(out, "    {}", l.trim_start());
                }
            }
        }
    }
    let _ = writeln!(out, "{} passed, {failed} failed", results.len() - failed);
    out
}

/// `tests.canon:12` as file and line.
pub(crate) fn split_at(at: &str) -> (&str, u32) {
    match at.rsplit_once(':') {
        Some((file, line)) => (file, line.parse().unwrap_or(0)),
        None => (at, 0),
    }
}

fn test_json(r: &TestResult) -> serde_json::Value {
    let (file, line) = split_at(&r.at);
    serde_json::json!({
        "name": r.name,
        "file": file,
        "line": line,
        "passed": r.failure.is_none(),
        "failure": r.failure,
    })
}

/// What goes before a package file's path in reports read from the working
/// directory (lcov's `SF`, JUnit's `file`): the package path as given.
fn path_prefix(root: &Path) -> String {
    let s = root.to_string_lossy().replace('\\', "/");
    let s = s.trim_end_matches('/');
    if s.is_empty() || s == "." {
        String::new()
    } else {
        s.to_string()
    }
}

/// The package's name: `canon.toml`'s, else its directory's.
fn suite_name(pkg: &canon_runtime::LoadedPackage) -> String {
    if let Some(m) = &pkg.manifest {
        return m.name.clone();
    }
    let dir = std::fs::canonicalize(&pkg.root).unwrap_or_else(|_| pkg.root.clone());
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "package".into())
}
