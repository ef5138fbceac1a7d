//! `canon lsp` end to end through a real neovim: `nvim --headless --clean`
//! runs `tests/nvim/lsp_e2e.lua` on a small package written here. The script
//! sets neovim up as `docs/editors.md` says, then checks the diagnostics of a
//! file with a type error, hover on identifiers and completion after a `.`;
//! it writes a JSON report and exits non-zero on any failure. This test checks
//! the exit status and the report again.
//!
//! Without `nvim` on PATH the test prints a note and passes, unless `CI` is
//! set (`.ci/run` installs neovim), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The package the script opens. Its expectations (lines, columns, names) are
/// in `tests/nvim/lsp_e2e.lua`: change both together.
const TYPES: &str = r#"/// A project from the master data.
record Project {
  code: Text
  hours: Decimal
  rate: Money
}

/// Time logged against a project.
event TimeLogged as "com.example.time.logged" {
  project: Project
  note: Text?
}

destination ledger: Project
"#;

const HANDLER: &str = r#"on TimeLogged as t {
  let worked = t.project.hours
  check worked > 0 else reject NO_HOURS "no hours on {t.project.code}"
  emit ledger t.project
}
"#;

/// Returns Text where it declares Decimal: E0201 at line 2, column 44.
const BAD: &str = r#"// A function whose body has the wrong type.
fn billable_hours(p: Project) -> Decimal = p.code
"#;

/// How long the whole neovim run may take before it is killed.
const DEADLINE: Duration = Duration::from_secs(120);

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// `nvim` as found on PATH, if it runs.
fn nvim() -> Option<String> {
    let ok = Command::new("nvim")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| "nvim".to_string())
}

fn write_package(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    for (name, body) in [("types.canon", TYPES), ("handler.canon", HANDLER), ("bad.canon", BAD)] {
        std::fs::write(dir.join(name), body).unwrap();
    }
}

fn read_to_string(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

/// The last lines of neovim's LSP log (under the test's XDG directories).
fn lsp_log(xdg: &Path) -> String {
    let mut out = String::new();
    for p in [xdg.join("state/nvim/lsp.log"), xdg.join("cache/nvim/lsp.log")] {
        if let Ok(s) = std::fs::read_to_string(&p) {
            let lines: Vec<&str> = s.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            out.push_str(&format!("--- {}\n{tail}\n", p.display()));
        }
    }
    out
}

#[test]
fn neovim_diagnostics_hover_and_completion() {
    let Some(nvim) = nvim() else {
        if on_ci() {
            panic!("nvim is not on PATH and CI is set: install neovim (apt-get install neovim) to run this test");
        }
        eprintln!("note: nvim is not on PATH; skipping the neovim end-to-end test (it fails instead when CI is set)");
        return;
    };

    let base = std::env::temp_dir().join(format!("canon-nvim-e2e-{}", std::process::id()));
    let pkg = base.join("pkg");
    let xdg = base.join("xdg");
    let report_path = base.join("report.json");
    write_package(&pkg);
    std::fs::create_dir_all(&xdg).unwrap();
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvim/lsp_e2e.lua");

    let mut child = Command::new(&nvim)
        .args(["--headless", "--clean", "-n", "-i", "NONE", "-c"])
        .arg(format!("luafile {}", script.display()))
        .current_dir(&pkg)
        .env("CANON_BIN", env!("CARGO_BIN_EXE_canon"))
        .env("CANON_PKG", &pkg)
        .env("CANON_REPORT", &report_path)
        .env("XDG_CONFIG_HOME", xdg.join("config"))
        .env("XDG_DATA_HOME", xdg.join("data"))
        .env("XDG_STATE_HOME", xdg.join("state"))
        .env("XDG_CACHE_HOME", xdg.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = read_to_string(child.stdout.take().unwrap());
    let stderr = read_to_string(child.stderr.take().unwrap());
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
    let stderr = stderr.join().unwrap_or_default();
    let report_text = std::fs::read_to_string(&report_path).unwrap_or_default();
    let context =
        format!("status: {status:?}\nreport: {report_text}\nstdout:\n{stdout}\nstderr:\n{stderr}\n{}", lsp_log(&xdg));

    let status = status.unwrap_or_else(|| panic!("neovim did not finish in {DEADLINE:?}\n{context}"));
    assert!(status.success(), "the neovim script failed\n{context}");
    let report: serde_json::Value =
        serde_json::from_str(&report_text).unwrap_or_else(|e| panic!("no JSON report ({e})\n{context}"));

    // The script checked all of this; check the essentials again from its
    // report, so that a script that stops checking cannot pass.
    assert_eq!(report["failures"], serde_json::json!([]), "{context}");
    assert!(report["checks"].as_array().is_some_and(|c| c.len() >= 15), "{context}");
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert!(
        diagnostics.iter().any(|d| d["code"] == "E0201"
            && d["message"].as_str().unwrap_or("").contains("expected `Decimal`, found `Text`")),
        "an E0201 diagnostic on bad.canon\n{context}"
    );
    assert!(report["hover"]["worked"].as_str().unwrap_or("").contains("Decimal"), "{context}");
    assert!(report["hover"]["project.hours"].as_str().unwrap_or("").contains("Project"), "{context}");
    let labels: Vec<&str> = report["completion"].as_array().unwrap().iter().filter_map(|l| l.as_str()).collect();
    assert_eq!(labels, ["code", "hours", "rate"], "{context}");

    let _ = std::fs::remove_dir_all(&base);
}
