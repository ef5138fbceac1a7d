//! `canon diff OLD NEW --events FILE` (RUNTIME.md §3.4): both packages
//! loaded and checked, the changes to their emitted records reported before
//! any event, then the events replayed through both (each with its own
//! state, in input order) and the report streamed as text or JSON. The
//! comparison itself is `canon_runtime::diff`.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use canon_compiler::ir;
use canon_jit::{Choice, Evaluator};
use canon_runtime::diff::{self, report, Comparer, Evaluate, Header, Side, Version};
use canon_runtime::input::InputReader;
use canon_runtime::state::StateView;
use canon_runtime::{package, Outcome, Tables};
use clap::ValueEnum;

use crate::EngineArg;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DiffFormat {
    /// For people: aligned columns, money with its currency.
    Text,
    /// One JSON document (RUNTIME.md §3.4).
    Json,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The package as it is (the old version).
    old: PathBuf,
    /// The package as changed (the new version).
    new: PathBuf,
    /// Events to replay, one CloudEvents JSON object per line (`-` for stdin).
    #[arg(long)]
    events: String,
    /// The reference-data directory of both packages (default: each one's `data/`).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The old package's reference data (over `--data`).
    #[arg(long)]
    old_data: Option<PathBuf>,
    /// The new package's reference data (over `--data`).
    #[arg(long)]
    new_data: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: DiffFormat,
    /// Exit 1 when any event changed or an emitted record's type breaks its consumers.
    #[arg(long)]
    fail_on_change: bool,
    /// Split the money delta by these fields of the emitted records (wire names, comma-separated).
    #[arg(long, value_delimiter = ',')]
    by: Vec<String>,
    #[arg(long, value_enum, default_value = "jit")]
    engine: EngineArg,
}

/// The JIT (or the interpreter) of the CLI as the comparison's engine, on
/// the path `canon run` takes.
struct Engine<'a>(&'a Evaluator);

impl Evaluate for Engine<'_> {
    fn package(&self) -> &ir::Package {
        self.0.package()
    }
    fn evaluate_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Outcome {
        self.0.evaluate_fast_in(line_no, line, state)
    }
}

/// One side loaded, checked, with its tables; `Err` is the exit code
/// (the problem printed, naming the side).
fn prepare(
    side: &str,
    path: &Path,
    data: Option<&Path>,
) -> Result<(package::LoadedPackage, Tables, PathBuf), ExitCode> {
    let pkg = package::load(path).map_err(|e| {
        eprintln!("error: the {side} package: {e}");
        ExitCode::from(2)
    })?;
    if pkg.has_errors() {
        crate::render::diagnostics(&pkg, pkg.diagnostics());
        eprintln!("error: the {side} package `{}` has errors; nothing was compared", path.display());
        return Err(ExitCode::from(1));
    }
    let data_dir = data.map(Path::to_path_buf).unwrap_or_else(|| pkg.data_dir());
    match Tables::load(&pkg.package(), &data_dir, false) {
        Ok(t) => Ok((pkg, t, data_dir)),
        Err(e) => {
            eprintln!("error: the {side} package's data: {e}");
            eprintln!("  help: fix the data file; nothing was compared");
            Err(ExitCode::from(1))
        }
    }
}

pub fn diff(args: DiffArgs) -> ExitCode {
    let old_data = args.old_data.as_deref().or(args.data.as_deref());
    let new_data = args.new_data.as_deref().or(args.data.as_deref());
    // Both sides are checked before either stops the command, so the
    // errors of both are shown at once.
    let old = prepare("old", &args.old, old_data);
    let new = prepare("new", &args.new, new_data);
    let ((old_pkg, old_tables, old_dir), (new_pkg, new_tables, new_dir)) = match (old, new) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    let (old_ir, new_ir) = (old_pkg.package(), new_pkg.package());
    let by: Vec<String> = args.by.iter().map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect();
    let mut comparer = match Comparer::new(old_ir.clone(), new_ir.clone(), &by) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            for (dest, fields) in &e.fields {
                eprintln!("  note: {dest} has {}", fields.join(", "));
            }
            eprintln!("  help: name a field of the emitted records, as the outcomes write it");
            return ExitCode::from(2);
        }
    };
    let input: Box<dyn Read> = if args.events == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(&args.events) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", args.events);
                return ExitCode::from(2);
            }
        }
    };
    let schema = diff::schema::changes(&old_ir, &new_ir);
    let hash = |p: &package::LoadedPackage, ir: &ir::Package, dir: &Path| {
        canon_pipeline::version::package_version(&p.sources, ir, dir, p.manifest.as_ref()).ok()
    };
    let header = Header {
        old: Version::of(&args.old.display().to_string(), old_pkg.manifest.as_ref(), hash(&old_pkg, &old_ir, &old_dir)),
        new: Version::of(&args.new.display().to_string(), new_pkg.manifest.as_ref(), hash(&new_pkg, &new_ir, &new_dir)),
        events_file: args.events.clone(),
        by,
    };
    let choice = Choice { backend: args.engine.backend(), lineage: false };
    let (old_eval, old_fallback) = Evaluator::new(old_ir, old_tables.clone(), choice);
    let (new_eval, new_fallback) = Evaluator::new(new_ir, new_tables.clone(), choice);
    for (side, why) in [("old", old_fallback), ("new", new_fallback)] {
        if let Some(why) = why {
            eprintln!("note: the JIT cannot compile the {side} package ({}); using the interpreter", why.0);
        }
    }
    let (old_engine, new_engine) = (Engine(&old_eval), Engine(&new_eval));
    let mut old_side = Side::new(&old_engine, &old_tables, None);
    let mut new_side = Side::new(&new_engine, &new_tables, None);
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut writer: Box<dyn report::Report> = match args.format {
        DiffFormat::Text => Box::<report::Text>::default(),
        DiffFormat::Json => Box::<report::Json>::default(),
    };
    let mut reader = InputReader::new(input);
    let written = writer.start(&mut out, &header, &schema);
    if let Err(e) = written {
        eprintln!("error: writing the report: {e}");
        return ExitCode::from(2);
    }
    // An error of the output is kept apart from one of the input.
    let mut write_error = None;
    let replayed = diff::replay(&mut comparer, &mut old_side, &mut new_side, &mut reader, &mut |change| {
        writer.event(&mut out, change).inspect_err(|e| write_error = Some(e.to_string()))
    });
    if let Err(e) = replayed {
        match write_error {
            Some(w) => eprintln!("error: writing the report: {w}"),
            None => eprintln!("error: reading `{}`: {e}", args.events),
        }
        return ExitCode::from(2);
    }
    let mut summary = comparer.summary();
    summary.breaking = schema.iter().filter(|c| c.breaking).count();
    if let Err(e) = writer.finish(&mut out, &schema, &summary).and_then(|()| out.flush()) {
        eprintln!("error: writing the report: {e}");
        return ExitCode::from(2);
    }
    let changed = diff::anything_changed(&schema, &summary);
    // The process ends here: the engines and states need not be freed one by one.
    std::mem::forget((old_side, new_side));
    if args.fail_on_change && changed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
