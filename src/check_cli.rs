//! `canon check` (RUNTIME.md §3, §3.3): a package's diagnostics for people
//! (miette, on stderr), as JSON, as SARIF 2.1.0 for code-scanning tools, or
//! as GitHub workflow commands that annotate a pull request. `--strict`
//! adds the unused declarations (W0701–W0708) and counts every warning as
//! an error.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use canon_compiler::check::unused;
use canon_compiler::diagnostics::{Code, Diagnostic, LineIndex, Severity};
use canon_runtime::{package, LoadedPackage};
use clap::{Args, ValueEnum};
use fluent_uri::pct_enc::{encoder, EString};
use serde_json::{json, Value};

use crate::render;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum CheckFormat {
    /// Rendered with source snippets, on stderr.
    Human,
    /// A JSON array of diagnostics on stdout.
    Json,
    /// A SARIF 2.1.0 log on stdout (code scanning).
    Sarif,
    /// GitHub workflow commands on stdout, one line a diagnostic.
    Github,
}

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// The package directory (or one .canon file).
    #[arg(default_value = ".")]
    package: PathBuf,
    #[arg(long, value_enum, default_value = "human")]
    format: CheckFormat,
    /// Report unused declarations too (W0701–W0708), and count every
    /// warning as an error (exit status 1).
    #[arg(long)]
    strict: bool,
}

/// The environment variable GitHub Actions sets to the checkout: paths in
/// `sarif` and `github` output are relative to it when it is set.
const WORKSPACE_VAR: &str = "GITHUB_WORKSPACE";
/// The SARIF base id paths are relative to (`originalUriBaseIds` says where it is).
const SRCROOT: &str = "%SRCROOT%";
const SARIF_SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub(crate) fn check(args: CheckArgs) -> ExitCode {
    let pkg = match package::load(&args.package) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            let message = e.to_string();
            match args.format {
                CheckFormat::Human => {}
                CheckFormat::Json => println!("[]"),
                CheckFormat::Sarif => println!("{:#}", sarif_log(&[], &[], Some(&message))),
                CheckFormat::Github => println!("::error::{}", escape_data(&message)),
            }
            return ExitCode::from(2);
        }
    };
    let mut diags = pkg.diagnostics().to_vec();
    if args.strict {
        diags.extend(canon_compiler::db::unused_once(&pkg.sources, pkg.checked()).iter().cloned());
        diags.sort_by_key(|d| (d.file, d.span.start, d.code));
        for d in &mut diags {
            d.severity = Severity::Error;
        }
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    match args.format {
        CheckFormat::Human => {
            render::diagnostics(&pkg, &diags);
            let warnings = diags.len() - errors;
            let strict = if args.strict { " (--strict: warnings count as errors)" } else { "" };
            if errors == 0 {
                eprintln!("checked {} file(s): no errors, {warnings} warning(s){strict}", pkg.sources.len());
            } else {
                eprintln!("checked {} file(s): {errors} error(s), {warnings} warning(s){strict}", pkg.sources.len());
            }
        }
        CheckFormat::Json => {
            let items: Vec<Value> = located(&pkg, &diags, None)
                .iter()
                .map(|l| {
                    json!({
                        "severity": l.diag.severity.as_str(),
                        "code": l.diag.code.as_str(),
                        "message": l.diag.message,
                        "file": l.file,
                        "line": l.start.0,
                        "column": l.start.1,
                    })
                })
                .collect();
            println!("{}", Value::Array(items));
        }
        CheckFormat::Sarif => {
            let base = display_base();
            let items = located(&pkg, &diags, base.as_deref());
            let base_uri = base.as_deref().and_then(|b| file_uri(b, true));
            let bases: Vec<(&str, String)> = base_uri.into_iter().map(|u| (SRCROOT, u)).collect();
            println!("{:#}", sarif_log(&items, &bases, None));
        }
        CheckFormat::Github => {
            let base = display_base();
            for l in located(&pkg, &diags, base.as_deref()) {
                println!("{}", github_line(&l));
            }
        }
    }
    let code = if errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS };
    // The process ends here: freeing every memoised tree one by one would
    // only delay the exit (the system takes the memory back at once).
    std::mem::forget(pkg);
    code
}

/// A diagnostic with its file and its 1-based line and column (in Unicode
/// code points) of start and end, the end exclusive.
struct Located<'a> {
    diag: &'a Diagnostic,
    /// The path relative to the package root (the JSON format's `file`).
    file: &'a str,
    /// Where the file is for review tools (see [`Place`]).
    place: Place,
    start: (u32, u32),
    end: (u32, u32),
    labels: Vec<Related<'a>>,
}

/// A related location of a diagnostic (its label).
struct Related<'a> {
    place: Place,
    start: (u32, u32),
    end: (u32, u32),
    message: &'a str,
}

/// A file's path as review tools want it: relative to the base (the
/// checkout or the current directory), with `/`, when the file is below
/// it; else absolute.
#[derive(Clone, Debug)]
enum Place {
    Relative(String),
    Absolute(PathBuf),
}

/// Where review paths start: `$GITHUB_WORKSPACE` when set, else the
/// current directory (made canonical, so it compares with the package's).
fn display_base() -> Option<PathBuf> {
    let dir = match std::env::var_os(WORKSPACE_VAR).filter(|v| !v.is_empty()) {
        Some(w) => PathBuf::from(w),
        None => std::env::current_dir().ok()?,
    };
    Some(dir.canonicalize().unwrap_or(dir))
}

fn place_of(root: &Path, rel: &str, base: Option<&Path>) -> Place {
    let path = root.join(rel);
    let abs = path.canonicalize().unwrap_or_else(|_| std::path::absolute(&path).unwrap_or(path));
    match base.and_then(|b| abs.strip_prefix(b).ok()) {
        Some(r) => Place::Relative(
            r.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/"),
        ),
        None => Place::Absolute(abs),
    }
}

fn located<'a>(pkg: &'a LoadedPackage, diags: &'a [Diagnostic], base: Option<&Path>) -> Vec<Located<'a>> {
    let indices: Vec<LineIndex> = pkg.sources.iter().map(|(_, text)| LineIndex::new(text)).collect();
    let places: Vec<Place> = pkg.sources.iter().map(|(rel, _)| place_of(&pkg.root, rel, base)).collect();
    let pos = |file: usize, start: u32, end: u32| {
        let text = pkg.sources.get(file).map(|(_, t)| t.as_str()).unwrap_or("");
        let idx = indices.get(file)?;
        Some((idx.line_col(text, start), idx.line_col(text, end.max(start))))
    };
    diags
        .iter()
        .filter_map(|d| {
            let f = d.file.0 as usize;
            let (start, end) = pos(f, d.span.start, d.span.end)?;
            let labels = d
                .labels
                .iter()
                .filter_map(|l| {
                    let lf = l.file.0 as usize;
                    let (s, e) = pos(lf, l.span.start, l.span.end)?;
                    Some(Related { place: places.get(lf)?.clone(), start: s, end: e, message: l.message.as_str() })
                })
                .collect();
            Some(Located {
                diag: d,
                file: pkg.sources.get(f).map(|(p, _)| p.as_str())?,
                place: places.get(f)?.clone(),
                start,
                end,
                labels,
            })
        })
        .collect()
}

/// A diagnostic's message with its help after it, on a line of its own.
fn full_message(d: &Diagnostic) -> String {
    match &d.help {
        Some(h) => format!("{}\nhelp: {h}", d.message),
        None => d.message.clone(),
    }
}

// ------------------------------------------------------------------ SARIF

/// A `file:` URI of an absolute path (a directory's ends in `/`).
fn file_uri(path: &Path, dir: bool) -> Option<String> {
    let text = path.to_str()?;
    let mut s = EString::<encoder::Path>::new();
    s.encode_str::<encoder::Path>(text.strip_prefix('/').unwrap_or(text));
    let slash = if dir && !text.ends_with('/') { "/" } else { "" };
    Some(format!("file:///{}{slash}", s.as_str()))
}

/// A relative path as a URI reference (percent-encoded; `./` before a
/// first segment with a `:`, which would read as a scheme).
fn relative_uri(rel: &str) -> String {
    let mut s = EString::<encoder::Path>::new();
    s.encode_str::<encoder::Path>(rel);
    let first = s.as_str().split('/').next().unwrap_or("");
    if first.contains(':') {
        format!("./{}", s.as_str())
    } else {
        s.as_str().to_string()
    }
}

fn artifact_location(place: &Place) -> Value {
    match place {
        Place::Relative(rel) => json!({ "uri": relative_uri(rel), "uriBaseId": SRCROOT }),
        Place::Absolute(p) => json!({ "uri": file_uri(p, false).unwrap_or_else(|| p.to_string_lossy().into_owned()) }),
    }
}

fn region(start: (u32, u32), end: (u32, u32)) -> Value {
    json!({ "startLine": start.0, "startColumn": start.1, "endLine": end.0, "endColumn": end.1 })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The first paragraph of a code's explanation (after its `# CODE: title` line).
fn first_paragraph(text: &str) -> String {
    let body = text.lines().skip_while(|l| l.starts_with('#') || l.trim().is_empty());
    body.take_while(|l| !l.trim().is_empty()).collect::<Vec<_>>().join(" ")
}

/// A SARIF 2.1.0 log of one run. `bases` are the `originalUriBaseIds`;
/// `failure` says why the package could not be read (then there are no
/// results, and the invocation did not succeed).
fn sarif_log(items: &[Located<'_>], bases: &[(&str, String)], failure: Option<&str>) -> Value {
    let codes: Vec<Code> = items.iter().map(|l| l.diag.code).collect::<BTreeSet<_>>().into_iter().collect();
    let rules: Vec<Value> = codes
        .iter()
        .map(|c| {
            let text = c.explanation();
            let mut rule = json!({
                "id": c.as_str(),
                "shortDescription": { "text": c.title() },
                "fullDescription": { "text": first_paragraph(text) },
                "help": { "text": text, "markdown": text },
                "defaultConfiguration": { "level": level(c.severity()) },
            });
            if unused::CODES.contains(c) {
                rule["properties"] = json!({ "tags": ["unused"] });
            }
            rule
        })
        .collect();
    let results: Vec<Value> = items
        .iter()
        .map(|l| {
            let mut result = json!({
                "ruleId": l.diag.code.as_str(),
                "ruleIndex": codes.iter().position(|c| *c == l.diag.code).unwrap_or(0),
                "level": level(l.diag.severity),
                "message": { "text": full_message(l.diag) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact_location(&l.place),
                        "region": region(l.start, l.end),
                    }
                }],
            });
            if !l.labels.is_empty() {
                result["relatedLocations"] = l
                    .labels
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        json!({
                            "id": i,
                            "message": { "text": r.message },
                            "physicalLocation": {
                                "artifactLocation": artifact_location(&r.place),
                                "region": region(r.start, r.end),
                            }
                        })
                    })
                    .collect();
            }
            result
        })
        .collect();
    let mut driver = json!({
        "name": "canon",
        "fullName": "Canon checker (canon check)",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    if !env!("CARGO_PKG_HOMEPAGE").is_empty() {
        driver["informationUri"] = json!(env!("CARGO_PKG_HOMEPAGE"));
    }
    let mut invocation = json!({ "executionSuccessful": failure.is_none() });
    if let Some(why) = failure {
        invocation["toolExecutionNotifications"] = json!([{ "level": "error", "message": { "text": why } }]);
    }
    let mut run = json!({
        "tool": { "driver": driver },
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if !bases.is_empty() {
        run["originalUriBaseIds"] = bases.iter().map(|(id, uri)| (id.to_string(), json!({ "uri": uri }))).collect();
    }
    json!({ "$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run] })
}

// ----------------------------------------------------------------- GitHub

/// A workflow command's message: `%`, CR and LF escaped (as `@actions/core`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `::error file=F,line=L,col=C,endLine=L,endColumn=C,title=CODE::message`.
/// Columns are given only for a one-line span (GitHub ignores them
/// otherwise); `endColumn` is the last character's column, inclusive.
fn github_line(l: &Located<'_>) -> String {
    let file = match &l.place {
        Place::Relative(r) => r.clone(),
        Place::Absolute(p) => p.to_string_lossy().into_owned(),
    };
    let mut props = vec![format!("file={}", escape_property(&file)), format!("line={}", l.start.0)];
    if l.start.0 == l.end.0 {
        props.push(format!("col={}", l.start.1));
        props.push(format!("endLine={}", l.end.0));
        props.push(format!("endColumn={}", l.end.1.saturating_sub(1).max(l.start.1)));
    } else {
        props.push(format!("endLine={}", l.end.0));
    }
    props.push(format!("title={}", escape_property(l.diag.code.as_str())));
    format!("::{} {}::{}", level(l.diag.severity), props.join(","), escape_data(&full_message(l.diag)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escapes() {
        assert_eq!(escape_data("50% off\r\nnext"), "50%25 off%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(relative_uri("dir name/a b.canon"), "dir%20name/a%20b.canon");
        assert_eq!(relative_uri("a:b/c.canon"), "./a:b/c.canon");
        assert_eq!(file_uri(Path::new("/work/x y"), true).as_deref(), Some("file:///work/x%20y/"));
    }
}
