//! The durable pipeline's commands (RUNTIME.md §3–4): `canon process`,
//! `canon exceptions list|show|retry|resolve` and `canon status`.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use canon_pipeline::exceptions::{self, Filter, Item, ItemSummary, Selection, StoredRejection};
use canon_pipeline::progress::{self, group, Bar};
use canon_pipeline::status::Status;
use canon_pipeline::{Error, Options, Rules, State};
use clap::{Args, Subcommand, ValueEnum};

use crate::Format;

#[derive(Args)]
pub struct ProcessArgs {
    /// The package directory.
    #[arg(default_value = ".")]
    package: PathBuf,
    /// Events, one CloudEvents JSON object per line (`-` for stdin).
    #[arg(long)]
    input: String,
    /// The state directory (created when missing): `state.db` and `out/`.
    #[arg(long)]
    state: PathBuf,
    /// The reference-data directory (default: `data/` in the package).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where outcome lines go once committed (`-` for stdout, the default).
    #[arg(long, default_value = "-")]
    output: String,
    /// Evaluate on this many threads (default: one per core, at most 4); one
    /// more thread writes the ledger. Outcomes keep the input order.
    #[arg(long)]
    threads: Option<usize>,
    /// Commit after this many events (or 200 ms after a batch's first event).
    #[arg(long, default_value_t = 8192, hide = true)]
    batch: usize,
    /// The engine: `jit` (compiled with lineage; the default) or `interp`
    /// (the reference interpreter). Outcomes and lineage are the same.
    #[arg(long, value_enum, default_value = "jit")]
    engine: crate::EngineArg,
    /// Refuse a literal secret in canon.toml (an `Authorization` header, a
    /// header named like a token, secret, password or API key, a URL with a
    /// password) rather than warn: give it as `{ env = "VAR" }` or `{ file = "PATH" }`.
    #[arg(long)]
    strict_secrets: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ItemStatus {
    Open,
    Resolved,
}

#[derive(Subcommand)]
pub enum ExceptionsCommand {
    /// List the items of the exception queue, oldest first.
    List {
        #[arg(long, value_enum)]
        status: Option<ItemStatus>,
        /// Only items with a rejection of this code.
        #[arg(long)]
        code: Option<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        #[arg(long)]
        state: PathBuf,
    },
    /// Show one item: the event, its rejections with their rule locations, its lineage.
    Show {
        id: i64,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        #[arg(long)]
        state: PathBuf,
    },
    /// Evaluate items again with the current package and data (`retry ID [PKG]`
    /// or `retry --all-open [PKG]`); the package defaults to the last one processed.
    Retry {
        /// The item's id, then optionally the package directory.
        #[arg(value_name = "ID|PKG")]
        args: Vec<String>,
        /// Retry every open item.
        #[arg(long)]
        all_open: bool,
        /// The reference-data directory (default: the package's, or the last one used).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        #[arg(long)]
        state: PathBuf,
        /// Refuse a literal secret in canon.toml rather than warn (see `canon process`).
        #[arg(long)]
        strict_secrets: bool,
    },
    /// Close an item with a note.
    Resolve {
        id: i64,
        #[arg(long)]
        note: String,
        #[arg(long)]
        state: PathBuf,
    },
}

#[derive(Args)]
pub struct StatusArgs {
    #[arg(long)]
    state: PathBuf,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// The instant that `age` clauses of metrics measure against (RFC 3339,
    /// e.g. 2026-12-01T09:00:00Z); without it an aged metric has no value.
    #[arg(long, value_name = "TIMESTAMP")]
    as_of: Option<String>,
    #[command(flatten)]
    package: PackageArgs,
}

/// Which package reads a state directory's state (`canon status`, `canon state`).
#[derive(Args)]
pub struct PackageArgs {
    /// The package whose state and metrics these are (default: the package
    /// directory of the last run recorded in the state).
    #[arg(long, value_name = "PKG")]
    package: Option<PathBuf>,
    /// Its reference-data directory (default: the package's, or the last one used).
    #[arg(long)]
    data: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum StateCommand {
    /// Each state of the package with its number of records.
    List {
        #[arg(long)]
        state: PathBuf,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        #[command(flatten)]
        package: PackageArgs,
    },
    /// One record: `show NAME KEY...`, a value for each key field (exit 1 when there is none).
    Show {
        /// The state's name.
        name: String,
        /// The key fields' values, in key order (`TS-1`, `5`, `"7.50"`).
        #[arg(required = true)]
        key: Vec<String>,
        #[arg(long)]
        state: PathBuf,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        #[command(flatten)]
        package: PackageArgs,
    },
    /// The state as a snapshot (RUNTIME.md §7.1), which `canon run --state-in` reads.
    Export {
        /// Only this state.
        name: Option<String>,
        #[arg(long)]
        state: PathBuf,
        #[command(flatten)]
        package: PackageArgs,
    },
    /// Removes the lineage, kept payloads and delivered record bodies of
    /// final events received before a cutoff; keeps the ledger and the counts.
    Prune(crate::prune_cli::PruneArgs),
}

/// Prints the error; 1 for a missing item or record, a bad `canon.toml` or
/// a state record the package cannot read, else 2.
pub(crate) fn fail(e: &Error) -> ExitCode {
    eprintln!("error: {e}");
    match e {
        Error::NotFound(_)
        | Error::AlreadyResolved(_)
        | Error::Config { .. }
        | Error::StateRecord { .. }
        | Error::NotFoundText(_) => ExitCode::from(1),
        _ => ExitCode::from(2),
    }
}

/// Loads and checks the package and its data (1 on errors), then its
/// pipeline rules; warns once of each literal secret in canon.toml (an error,
/// 1, under `strict_secrets`).
fn rules(
    package: &Path,
    data: Option<&Path>,
    strict_secrets: bool,
    engine: crate::EngineArg,
) -> Result<Rules, ExitCode> {
    let (pkg, tables) = crate::prepare(package, data, false)?;
    let data_dir = data.map(Path::to_path_buf).unwrap_or_else(|| pkg.data_dir());
    let rules = Rules::new(&pkg, tables, &data_dir, engine.backend()).map_err(|e| fail(&e))?;
    // The rules hold what they need (the IR, the compiled code); the syntax
    // trees are not freed one allocation at a time (a 100,000-row decision
    // table's take most of a second): the system takes them back at exit.
    std::mem::forget(pkg);
    if strict_secrets && !rules.config.warnings.is_empty() {
        for w in &rules.config.warnings {
            eprintln!("error: {w} (refused under --strict-secrets)");
        }
        return Err(ExitCode::from(1));
    }
    for w in &rules.config.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(w) = canon_pipeline::version::not_yet_effective(&rules.release) {
        eprintln!("warning: {w}");
    }
    Ok(rules)
}

pub fn process(args: ProcessArgs) -> ExitCode {
    let rules = match rules(&args.package, args.data.as_deref(), args.strict_secrets, args.engine) {
        Ok(r) => r,
        Err(c) => return c,
    };
    let (input, size): (Box<dyn Read + Send>, Option<u64>) = if args.input == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        match std::fs::File::open(&args.input) {
            Ok(f) => {
                let size = f.metadata().ok().map(|m| m.len());
                (Box::new(f), size)
            }
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", args.input);
                return ExitCode::from(2);
            }
        }
    };
    let writer: Box<dyn Write + Send> = if args.output == "-" {
        Box::new(std::io::stdout())
    } else {
        match std::fs::File::create(&args.output) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: cannot write `{}`: {e}", args.output);
                return ExitCode::from(2);
            }
        }
    };
    let mut out = BufWriter::with_capacity(1 << 16, writer);
    let mut state = match State::open(&args.state) {
        Ok(s) => warned(s),
        Err(e) => return fail(&e.in_state(&args.state)),
    };
    let mut opts = Options { batch_events: args.batch.max(1), input_name: args.input.clone(), ..Options::default() };
    if let Some(n) = args.threads {
        opts.workers = n.max(1);
    }
    let bar = Bar::new(size);
    let result = canon_pipeline::process(&mut state, &rules, input, &mut out, &opts, &mut |p| {
        if let Some(b) = &bar {
            b.update(p);
        }
    });
    if let Some(b) = &bar {
        b.finish();
    }
    match result {
        Ok(s) => {
            if s.http.dead > 0 {
                eprintln!(
                    "warning: {} deliveries to HTTP sinks were dead-lettered (see `canon status --state {}`)",
                    s.http.dead,
                    args.state.display()
                );
            }
            if bar.is_some() {
                let secs = s.elapsed.as_secs_f64().max(1e-3);
                eprintln!(
                    "processed {} events in {secs:.1} s ({}/s): {}",
                    group(s.counts.total()),
                    group((s.counts.total() as f64 / secs) as u64),
                    progress::counts(&s.counts)
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.in_state(&args.state)),
    }
}

pub fn exceptions(cmd: ExceptionsCommand) -> ExitCode {
    match cmd {
        ExceptionsCommand::List { status, code, format, state: dir } => {
            let state = match State::open_existing(&dir) {
                Ok(s) => warned(s),
                Err(e) => return fail(&e.in_state(&dir)),
            };
            let status = status.map(|s| match s {
                ItemStatus::Open => "open".to_string(),
                ItemStatus::Resolved => "resolved".to_string(),
            });
            match exceptions::list(&state, &Filter { status, code }) {
                Ok(items) => {
                    match format {
                        Format::Json => return print_json(&items),
                        Format::Human => print_list(&items),
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.in_state(&dir)),
            }
        }
        ExceptionsCommand::Show { id, format, state: dir } => {
            let state = match State::open_existing(&dir) {
                Ok(s) => warned(s),
                Err(e) => return fail(&e.in_state(&dir)),
            };
            match exceptions::show(&state, id) {
                Ok(item) => {
                    match format {
                        Format::Json => return print_json(&item),
                        Format::Human => print_item(&item),
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.in_state(&dir)),
            }
        }
        ExceptionsCommand::Retry { args, all_open, data, format, state, strict_secrets } => {
            retry(args, all_open, data, format, &state, strict_secrets)
        }
        ExceptionsCommand::Resolve { id, note, state: dir } => {
            let state = match State::open_existing(&dir) {
                Ok(s) => warned(s),
                Err(e) => return fail(&e.in_state(&dir)),
            };
            match exceptions::resolve(&state, id, &note) {
                Ok(()) => {
                    say(format!("exception {id} resolved"));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.in_state(&dir)),
            }
        }
    }
}

fn retry(
    args: Vec<String>,
    all_open: bool,
    data: Option<PathBuf>,
    format: Format,
    state_dir: &Path,
    strict_secrets: bool,
) -> ExitCode {
    let (selection, package) = match (all_open, args.as_slice()) {
        (true, []) => (Selection::AllOpen, None),
        (true, [pkg]) => (Selection::AllOpen, Some(PathBuf::from(pkg))),
        (false, [id, rest @ ..]) if rest.len() <= 1 => match id.parse::<i64>() {
            Ok(id) => (Selection::One(id), rest.first().map(PathBuf::from)),
            Err(_) => {
                eprintln!("error: `{id}` is not an exception id");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("error: give `retry ID [PKG]` or `retry --all-open [PKG]`");
            return ExitCode::from(2);
        }
    };
    let mut state = match State::open_existing(state_dir) {
        Ok(s) => warned(s),
        Err(e) => return fail(&e.in_state(state_dir)),
    };
    let (package, data) = match package {
        Some(p) => (p, data),
        None => match exceptions::last_package(&state) {
            Ok(Some((root, last_data))) => (root, data.or(Some(last_data))),
            Ok(None) => {
                eprintln!("error: the state records no package; give one: `canon exceptions retry ID PKG`");
                return ExitCode::from(2);
            }
            Err(e) => return fail(&e.in_state(state_dir)),
        },
    };
    let rules = match rules(&package, data.as_deref(), strict_secrets, crate::EngineArg::Jit) {
        Ok(r) => r,
        Err(c) => return c,
    };
    let summary = match exceptions::retry(&mut state, &rules, selection) {
        Ok(s) => s,
        Err(e) => return fail(&e.in_state(state_dir)),
    };
    match format {
        Format::Json => {
            let printed = print_json(&summary.results);
            if printed != ExitCode::SUCCESS {
                return printed;
            }
        }
        Format::Human => {
            for r in &summary.results {
                let event = r.event_id.as_deref().unwrap_or("?");
                if r.resolved {
                    say(format!("exception {} ({event}): {}, resolved", r.id, r.outcome));
                } else if r.outcome == "conflict" {
                    say(format!(
                        "exception {} ({event}): an idempotency conflict cannot be retried; resolve it with a note",
                        r.id
                    ));
                } else {
                    say(format!("exception {} ({event}): still {}: {}", r.id, r.outcome, codes(&r.rejections)));
                }
            }
            let resolved = summary.results.iter().filter(|r| r.resolved).count();
            say(format!(
                "retried {}: {resolved} resolved, {} still open",
                summary.results.len(),
                summary.results.len() - resolved
            ));
        }
    }
    if summary.http.dead > 0 {
        eprintln!("warning: {} deliveries to HTTP sinks were dead-lettered", summary.http.dead);
    }
    ExitCode::SUCCESS
}

pub fn status(args: StatusArgs) -> ExitCode {
    let as_of = match args.as_of.as_deref().map(|t| (t, canon_stdlib::time::parse_timestamp(t))) {
        None => None,
        Some((_, Some(t))) => Some(t),
        Some((t, None)) => {
            eprintln!("error: --as-of `{t}` is not an RFC 3339 timestamp (e.g. 2026-12-01T09:00:00Z)");
            return ExitCode::from(2);
        }
    };
    let state = match State::open_existing(&args.state) {
        Ok(s) => warned(s),
        Err(e) => return fail(&e.in_state(&args.state)),
    };
    let mut s = match canon_pipeline::status::status(&state) {
        Ok(s) => s,
        Err(e) => return fail(&e.in_state(&args.state)),
    };
    let reports = metrics(&state, &args.package, as_of);
    s.metrics = match &reports {
        Some(r) => serde_json::from_str(&canon_runtime::metrics::report_json(r)).ok(),
        None => None,
    };
    match args.format {
        Format::Json => print_json(&s),
        Format::Human => {
            print_status(&s);
            if let Some(r) = &reports {
                print_metrics(r);
            }
            ExitCode::SUCCESS
        }
    }
}

/// The package that reads a state: `--package` (and `--data`), else the
/// package and data directories of the last run. `None` when the state
/// records no run and none is given; an error is its message and exit status.
fn state_package(
    state: &State,
    args: &PackageArgs,
) -> Result<Option<(canon_runtime::LoadedPackage, PathBuf)>, (String, u8)> {
    let (root, data) = match &args.package {
        Some(p) => (p.clone(), args.data.clone()),
        None => match exceptions::last_package(state) {
            Ok(Some((root, last_data))) => (root, args.data.clone().or(Some(last_data))),
            Ok(None) => return Ok(None),
            Err(e) => return Err((e.in_state(state.dir()).to_string(), 2)),
        },
    };
    let pkg = canon_runtime::load(&root).map_err(|e| {
        (format!("cannot read the package of the state, `{}`: {e} (give it with --package PKG)", root.display()), 2)
    })?;
    if pkg.has_errors() {
        return Err((format!("the package `{}` has errors (see `canon check {}`)", root.display(), root.display()), 1));
    }
    let data = data.unwrap_or_else(|| pkg.data_dir());
    Ok(Some((pkg, data)))
}

/// The package's metrics, from the state's cells (`None`: the state records
/// no package, or it cannot be read, which is said on stderr).
fn metrics(
    state: &State,
    args: &PackageArgs,
    as_of: Option<canon_stdlib::Timestamp>,
) -> Option<Vec<canon_runtime::metrics::MetricReport>> {
    let (pkg, data) = match state_package(state, args) {
        Ok(Some(p)) => p,
        Ok(None) => return Some(Vec::new()),
        Err((message, _)) => {
            eprintln!("warning: {message}; its metrics are not shown");
            return None;
        }
    };
    let ir = pkg.package();
    if ir.metrics.is_empty() {
        return Some(Vec::new());
    }
    let tables = match canon_runtime::Tables::load(&ir, &data, false) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("warning: {e}; the package's metrics are not shown");
            return None;
        }
    };
    let version = match canon_pipeline::version::package_version(&pkg.sources, &ir, &data, pkg.manifest.as_ref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("warning: {e}; the package's metrics are not shown");
            return None;
        }
    };
    let name = canon_pipeline::store::package_name(&pkg.root);
    match canon_pipeline::store::metrics(state.connection(), &ir, &tables, &name, &version, as_of) {
        Ok((reports, recomputed)) => {
            if recomputed {
                eprintln!(
                    "note: the package changed since the state's metrics were last maintained: they were computed from its records"
                );
            }
            Some(reports)
        }
        Err(e) => {
            eprintln!("warning: {}; the package's metrics are not shown", e.in_state(state.dir()));
            None
        }
    }
}

/// A `by` value as shown: text without its quotes, `none` for none.
fn shown_by(json: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => "none".into(),
        _ => json.to_string(),
    }
}

/// The metrics after the counts (RUNTIME.md §7.3): each group on a line.
fn print_metrics(reports: &[canon_runtime::metrics::MetricReport]) {
    for r in reports {
        say(format!("metric {}", r.name));
        if r.needs_as_of {
            say("  needs --as-of");
            continue;
        }
        if r.groups.is_empty() {
            say("  no records");
        }
        for g in &r.groups {
            let by: Vec<String> = r.by.iter().zip(&g.by).map(|(n, v)| format!("{n}={}", shown_by(v))).collect();
            if by.is_empty() {
                say(format!("  {}", g.value.to_text()));
            } else {
                say(format!("  {}  {}", by.join(" "), g.value.to_text()));
            }
        }
    }
}

/// `canon state list|show|export|prune` (RUNTIME.md §7.2).
pub fn state(cmd: StateCommand) -> ExitCode {
    let (dir, args) = match &cmd {
        StateCommand::List { state, package, .. }
        | StateCommand::Show { state, package, .. }
        | StateCommand::Export { state, package, .. } => (state.clone(), package),
        // It needs no package.
        StateCommand::Prune(args) => return crate::prune_cli::prune(args),
    };
    let state = match State::open_existing(&dir) {
        Ok(s) => warned(s),
        Err(e) => return fail(&e.in_state(&dir)),
    };
    let pkg = match state_package(&state, args) {
        Ok(Some((pkg, _))) => pkg,
        Ok(None) => {
            eprintln!("error: the state records no package; give one with --package PKG");
            return ExitCode::from(2);
        }
        Err((message, code)) => {
            eprintln!("error: {message}");
            return ExitCode::from(code);
        }
    };
    let ir = pkg.package();
    let name = canon_pipeline::store::package_name(&pkg.root);
    let conn = state.connection();
    match cmd {
        StateCommand::List { format, .. } => match canon_pipeline::store::list(conn, &ir, &name) {
            Ok(counts) => match format {
                Format::Json => print_json(&counts),
                Format::Human => {
                    if counts.is_empty() {
                        say("the package declares no state");
                    }
                    let width = counts.iter().map(|c| c.state.chars().count()).max().unwrap_or(0);
                    for c in &counts {
                        let note = if c.declared { "" } else { "  (not declared by the package: not read)" };
                        say(format!("{:<width$}  {} record(s){note}", c.state, group(count(c.records))));
                    }
                    ExitCode::SUCCESS
                }
            },
            Err(e) => fail(&e.in_state(&dir)),
        },
        StateCommand::Show { name: state_name, key, format, .. } => {
            match canon_pipeline::store::show(conn, &ir, &name, &state_name, &key) {
                Ok((key, record)) => {
                    match format {
                        Format::Json => {
                            let mut line = String::from("{\"state\":");
                            canon_runtime::encode::json_str(&mut line, &state_name);
                            line.push_str(&format!(",\"key\":{key},\"record\":{record}}}"));
                            say(line);
                        }
                        Format::Human => {
                            // The record as the package writes it (fields in their order).
                            say(format!("{state_name} {key}"));
                            say(record);
                        }
                    }
                    ExitCode::SUCCESS
                }
                Err(Error::Usage(m)) => {
                    eprintln!("error: {m}");
                    ExitCode::from(2)
                }
                Err(e) => fail(&e.in_state(&dir)),
            }
        }
        StateCommand::Export { name: only, .. } => {
            let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            let written = canon_pipeline::store::export(conn, &ir, &name, only.as_deref(), &mut out);
            let flushed = out.flush();
            match (written, flushed) {
                (Ok(undeclared), Ok(())) => {
                    if undeclared > 0 {
                        eprintln!(
                            "warning: {undeclared} record(s) of states the package does not declare were left out"
                        );
                    }
                    ExitCode::SUCCESS
                }
                (Err(e), _) => fail(&e.in_state(&dir)),
                (_, Err(e)) => fail(&Error::Output(e)),
            }
        }
        StateCommand::Prune(args) => crate::prune_cli::prune(&args),
    }
}

/// The state, after warning (once, on stderr) when other accounts can read
/// or write it.
pub(crate) fn warned(state: State) -> State {
    if !state.exposed().is_empty() {
        eprintln!("{}", canon_pipeline::private::warning(state.dir(), state.exposed()));
    }
    state
}

/// Writes a line to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_ref().as_bytes()).and_then(|()| out.write_all(b"\n"));
}

fn say_part(text: impl AsRef<str>) {
    let _ = std::io::stdout().lock().write_all(text.as_ref().as_bytes());
}

/// `CODE, CODE` of rejections.
fn codes(rejections: &[StoredRejection]) -> String {
    let list: Vec<&str> = rejections.iter().map(|r| r.code.as_str()).collect();
    list.join(", ")
}

/// An optional text, `-` when absent.
fn or_dash(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn print_list(items: &[ItemSummary]) {
    if items.is_empty() {
        say("no exceptions");
        return;
    }
    let rows: Vec<[String; 7]> = items
        .iter()
        .map(|i| {
            [
                i.id.to_string(),
                i.status.clone(),
                codes(&i.rejections),
                or_dash(&i.event_id).to_string(),
                or_dash(&i.correlation_id).to_string(),
                i.rules.label.clone(),
                i.received_at.clone(),
            ]
        })
        .collect();
    let header = ["ID", "STATUS", "CODES", "EVENT", "CORRELATION", "RULES", "RECEIVED"];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths.iter()).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        say(s.trim_end());
    };
    line(&header);
    for r in &rows {
        line(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    say(format!("{} item(s)", rows.len()));
}

fn print_item(i: &Item) {
    say(format!(
        "exception {} · {}{} · {} evaluation(s)",
        i.id,
        i.status,
        i.resolution.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
        i.attempts
    ));
    say(format!("event        {} ({})", or_dash(&i.event_id), or_dash(&i.event_type)));
    say(format!("correlation  {}", or_dash(&i.correlation_id)));
    say(format!("key          {}", i.idempotency_key));
    say(format!("received     {}", i.received_at));
    if let Some(note) = &i.note {
        say(format!("note         {note}"));
    }
    if let Some(by) = &i.resolved_by {
        say(format!("resolved     by {by} at {}", or_dash(&i.resolved_at)));
    } else if let Some(by) = &i.updated_by {
        say(format!("retried      by {by} at {}", i.updated_at));
    }
    let lineage = &i.lineage;
    say(format!("rules        {}", lineage.rules.describe()));
    say(format!("package      {} ({}, data {})", lineage.package_version, lineage.package, lineage.data));
    say(format!("outcome      {}", lineage.outcome));
    if !i.rejections.is_empty() {
        say("rejections");
        for r in &i.rejections {
            say(format!("  {} at {}: {}", r.code, r.at.as_deref().unwrap_or("(no rule)"), r.message));
        }
    }
    say("lineage");
    if lineage.trace.is_empty() {
        say("  (no rule ran)");
    }
    for t in &lineage.trace {
        say(format!("  {}", t.describe()));
    }
    if !i.history.is_empty() {
        say("earlier evaluations");
        for h in &i.history {
            let by = h.by.as_ref().map(|b| format!(" (retried by {b})")).unwrap_or_default();
            say(format!(
                "  #{} at {}{by} with {} ({}): {} {}",
                h.attempt,
                h.at,
                h.rules.label,
                canon_pipeline::version::short(&h.package_version),
                h.outcome,
                codes(&h.rejections)
            ));
        }
    }
    if !i.deliveries.is_empty() {
        say("deliveries");
        for d in &i.deliveries {
            say(format!("  {} {} {}", d.destination(), d.delivery_id(), d.state()));
        }
    }
    if let Some(event) = i.event.as_ref().filter(|e| !e.is_null()) {
        say("event");
        let pretty = serde_json::to_string_pretty(event).unwrap_or_default();
        for l in pretty.lines() {
            say(format!("  {l}"));
        }
    }
}

/// Prints a value as one line of JSON, its object keys in alphabetical order (`--format json`).
pub(crate) fn print_json(v: &impl serde::Serialize) -> ExitCode {
    match serde_json::to_value(v) {
        Ok(json) => {
            say(json.to_string());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn print_status(s: &Status) {
    say(format!("state {} (schema {})", s.state, s.schema_version));
    if !s.exposed.is_empty() {
        say("  not private: other accounts can read or write");
        for e in &s.exposed {
            say(format!("    {} ({})", e.path, e.mode));
        }
    }
    say("events");
    if s.events.by_type.is_empty() {
        say("  none yet");
    }
    for (ty, counts) in &s.events.by_type {
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{} {k}", group(count(*n)))).collect();
        say(format!("  {ty}: {}", parts.join(" · ")));
    }
    say(format!("  duplicates seen: {}", group(count(s.events.duplicates))));
    let x = &s.exceptions;
    say("exceptions");
    say(format!(
        "  {} open · {} resolved ({} by retry, {} by note)",
        group(count(x.open)),
        group(count(x.resolved)),
        group(count(x.retried)),
        group(count(x.resolved_by_note))
    ));
    for (code, n) in &x.open_by_code {
        say(format!("    {code}: {}", group(count(*n))));
    }
    say("destinations          accepted   delivered     pending        dead");
    for (name, d) in &s.destinations {
        say(format!(
            "  {name:<18} {:>10}  {:>10}  {:>10}  {:>10}{}",
            group(count(d.accepted)),
            group(count(d.delivered)),
            group(count(d.pending)),
            group(count(d.dead)),
            d.file.as_ref().map(|f| format!("  ({f})")).unwrap_or_default()
        ));
        if let Some(why) = &d.last_error {
            say(format!("    last error: {why}"));
        }
    }
    let runs = &s.runs;
    say_part(format!("runs: {} ({} unfinished)", runs.count, runs.unfinished));
    match &runs.last {
        Some(last) => say(format!(
            "; last: {} {} with {} ({}) started {}, {}",
            last.command,
            last.input,
            last.rules.label,
            canon_pipeline::version::short(&last.package_version),
            last.started_at,
            match &last.finished_at {
                Some(f) => format!("finished {f}"),
                None => "not finished".into(),
            }
        )),
        None => say(""),
    }
}

/// A count from the state (never negative) for [`group`].
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
