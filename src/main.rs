//! The `canon` command line (RUNTIME.md §3): run and explain here (the loop
//! of a stateless run in `run_loop`, with state in `run_state`); check in
//! `check_cli`, test in `test_cli` (JUnit in `junit`), process, status and
//! exceptions in `pipeline_cli`, fmt in `fmt_cli`, lsp in `lsp_cli`, diff in
//! `diff_cli`, doc in `doc`, diagnostics rendered by `render`.

mod check_cli;
mod diff_cli;
mod doc;
mod fmt_cli;
mod junit;
mod lsp_cli;
mod pipeline_cli;
mod prune_cli;
mod render;
mod run_loop;
mod run_state;
mod test_cli;

use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use canon_compiler::diagnostics::{Code, RuntimeCode};
use canon_jit::{Backend, Choice, Evaluator};
use canon_runtime::input::InputReader;
use canon_runtime::{package, Tables};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "canon", version, about = "Canon: a compiled rules language for time tracking and ERP integration")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum EngineArg {
    /// The Cranelift JIT (the default).
    Jit,
    /// The reference interpreter.
    Interp,
}

impl EngineArg {
    pub(crate) fn backend(self) -> Backend {
        match self {
            EngineArg::Jit => Backend::Jit,
            EngineArg::Interp => Backend::Interp,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check a package.
    Check(check_cli::CheckArgs),
    /// Evaluate every event of a JSONL file and write one outcome per line.
    Run {
        #[arg(default_value = ".")]
        package: PathBuf,
        /// Events, one CloudEvents JSON object per line (`-` for stdin).
        #[arg(long)]
        input: String,
        /// Where outcomes go (`-` for stdout, the default).
        #[arg(long, default_value = "-")]
        output: String,
        /// The reference-data directory (default: `data/` in the package).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "jit")]
        engine: EngineArg,
        /// Add each outcome's lineage as a `trace` array: the rejections,
        /// decision rows, table lookups and emits that decided it.
        #[arg(long)]
        explain: bool,
        /// Evaluate on this many threads; outcomes keep the input order. A
        /// package with state evaluates its events in input order.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Start from this state snapshot (JSONL, as `--state-out` writes it).
        #[arg(long)]
        state_in: Option<PathBuf>,
        /// Write the state after the last event to this snapshot.
        #[arg(long)]
        state_out: Option<PathBuf>,
    },
    /// Run the package's test blocks (`--coverage`: what they reach).
    Test(test_cli::TestArgs),
    /// Print the long explanation of a diagnostic code or a run-time rejection code.
    Explain {
        /// A code such as E0302 or CURRENCY_MISMATCH.
        code: String,
    },
    /// Format .canon files in place (`--check`: list those that would change).
    Fmt {
        /// Package directories or .canon files (default: the current directory).
        package: Vec<PathBuf>,
        /// Change nothing: list the files that would change; exit 1 if any.
        #[arg(long)]
        check: bool,
    },
    /// Evaluate events durably: idempotency ledger, sinks, exception queue, lineage.
    Process(pipeline_cli::ProcessArgs),
    /// Work the exception queue of a state directory.
    #[command(subcommand)]
    Exceptions(pipeline_cli::ExceptionsCommand),
    /// Reconciliation counts and metrics of a state directory.
    Status(pipeline_cli::StatusArgs),
    /// The state records a state directory holds (`list`, `show`, `export`).
    #[command(subcommand)]
    State(pipeline_cli::StateCommand),
    /// The language server, on stdin and stdout.
    Lsp,
    /// Write a package's documentation as static HTML (`DIR/index.html`).
    Doc(doc::DocArgs),
    /// What a new version of a package changes: its emitted records, then events replayed through both.
    Diff(diff_cli::DiffArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `canon explain E0302 | head`: a reader that stops early ends the
    // command quietly, as for any Unix filter, rather than a panic of
    // `println!`. The pipeline and the language server keep the default
    // (an error on writing), which they handle.
    #[cfg(unix)]
    if !matches!(cli.command, Command::Process(_) | Command::Lsp) {
        // SAFETY: restoring the default action of a signal, before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match cli.command {
        Command::Check(args) => check_cli::check(args),
        Command::Run { package, input, output, data, engine, explain, threads, state_in, state_out } => {
            let state = run_state::StateFiles { input: state_in, output: state_out };
            run(&package, &input, &output, data.as_deref(), engine, explain, threads, state)
        }
        Command::Test(args) => test_cli::test(args),
        Command::Explain { code } => explain(&code),
        Command::Fmt { package, check } => fmt_cli::fmt(&package, check),
        Command::Process(args) => pipeline_cli::process(args),
        Command::Exceptions(cmd) => pipeline_cli::exceptions(cmd),
        Command::Status(args) => pipeline_cli::status(args),
        Command::State(cmd) => pipeline_cli::state(cmd),
        Command::Lsp => lsp_cli::lsp(),
        Command::Doc(args) => doc::doc(args),
        Command::Diff(args) => diff_cli::diff(args),
    }
}

fn load(path: &Path) -> Result<package::LoadedPackage, ExitCode> {
    package::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

/// Loads, checks and loads data; prints problems. `Err` carries the exit code.
pub(crate) fn prepare(
    path: &Path,
    data: Option<&Path>,
    allow_missing: bool,
) -> Result<(package::LoadedPackage, Tables), ExitCode> {
    let pkg = load(path)?;
    if pkg.has_errors() {
        render::diagnostics(&pkg, pkg.diagnostics());
        eprintln!("error: the package has errors; nothing was run");
        return Err(ExitCode::from(1));
    }
    let data_dir = data.map(Path::to_path_buf).unwrap_or_else(|| pkg.data_dir());
    let checked = pkg.package();
    match Tables::load(&checked, &data_dir, allow_missing) {
        Ok(t) => Ok((pkg, t)),
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("  help: fix the data file; nothing was run");
            Err(ExitCode::from(1))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    path: &Path,
    input: &str,
    output: &str,
    data: Option<&Path>,
    kind: EngineArg,
    explain: bool,
    threads: usize,
    state: run_state::StateFiles,
) -> ExitCode {
    let (pkg, tables) = match prepare(path, data, false) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let checked = pkg.package();
    // A package with state (or a run asked to carry state) evaluates its
    // events one after another, each against what the ones before it left.
    let store = if checked.has_state() || state.input.is_some() || state.output.is_some() {
        match state.load(&checked, &tables) {
            Ok(store) => Some(store),
            Err(code) => return code,
        }
    } else {
        None
    };
    let state_tables = store.as_ref().map(|_| tables.clone());
    // `--explain` needs code compiled with lineage (the same trace as the
    // interpreter's, which the differential tests check).
    let (engine, fallback) =
        Evaluator::new(pkg.package(), tables, Choice { backend: kind.backend(), lineage: explain });
    if let Some(why) = fallback {
        eprintln!("note: the JIT cannot compile this package ({}); using the interpreter", why.0);
    }
    let reader = if input == "-" {
        run_loop::Input::Stdin
    } else {
        match std::fs::File::open(input) {
            Ok(f) => run_loop::Input::File(f),
            Err(e) => {
                eprintln!("error: cannot read `{input}`: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let writer = if output == "-" {
        run_loop::Output::Stdout
    } else {
        match std::fs::File::create(output) {
            Ok(f) => run_loop::Output::File(f),
            Err(e) => {
                eprintln!("error: cannot write `{output}`: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let code = if let (Some(store), Some(tables)) = (store, state_tables) {
        let mut writer = BufWriter::with_capacity(1 << 16, writer.into_writer());
        let mut reader = InputReader::new(reader.into_reader() as Box<dyn Read>);
        run_state::run(&engine, &tables, store, &mut reader, &mut writer, input, explain, &state)
    } else {
        run_loop::stateless(&engine, reader, writer, input, explain, threads.max(1))
    };
    // The process ends here: freeing the syntax trees, the IR and the
    // compiled code one allocation at a time would only delay the exit (the
    // system takes the memory back at once). With a 100,000-row decision
    // table that was some 800 M instructions and 9 M cache misses
    // (callgrind), most of a second.
    std::mem::forget(engine);
    std::mem::forget(pkg);
    code
}

/// The long text of a diagnostic code or a built-in run-time code.
fn explain(code: &str) -> ExitCode {
    match canon_compiler::diagnostics::explanation(code) {
        Some(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: unknown diagnostic code `{code}`");
            let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            let runtime: Vec<&str> = RuntimeCode::ALL.iter().map(|c| c.as_str()).collect();
            eprintln!("  help: the codes are {}", all.join(", "));
            eprintln!("  help: the run-time rejection codes are {}", runtime.join(", "));
            eprintln!(
                "  note: a code that a package's own `reject` gives is explained by its message and that package"
            );
            ExitCode::from(2)
        }
    }
}
