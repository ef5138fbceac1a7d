//! `canon run` with state (RUNTIME.md §7.1): events evaluated in input order,
//! each against the state the ones before it left, its writes applied when it
//! is accepted; `--state-in` and `--state-out` snapshots.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use canon_compiler::ir;
use canon_jit::Evaluator;
use canon_runtime::input::{not_utf8_outcome, InputReader, Line};
use canon_runtime::state::Store;
use canon_runtime::{Outcome, Tables};

/// `--state-in` and `--state-out`.
pub struct StateFiles {
    pub input: Option<PathBuf>,
    pub output: Option<PathBuf>,
}

impl StateFiles {
    /// The state to start from: the `--state-in` snapshot, else empty. A
    /// snapshot that cannot be read stops the run (exit 1) before any event.
    pub fn load(&self, pkg: &ir::Package, tables: &Tables) -> Result<Store, ExitCode> {
        let Some(path) = &self.input else { return Ok(Store::new(pkg)) };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                return Err(ExitCode::from(2));
            }
        };
        Store::read_snapshot(pkg, tables, &text).map_err(|e| {
            eprintln!("error: {}:{}: {}", path.display(), e.line, e.message);
            eprintln!(
                "  help: a snapshot is what `canon run --state-out` or `canon state export` writes; nothing was run"
            );
            ExitCode::from(1)
        })
    }

    /// Writes the snapshot next to its destination, then moves it there, so
    /// `--state-in` and `--state-out` may name one file.
    fn save(&self, pkg: &ir::Package, store: &Store) -> Result<(), ExitCode> {
        let Some(path) = &self.output else { return Ok(()) };
        let tmp = path.with_extension("canon-tmp");
        let written = std::fs::File::create(&tmp).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            store.write_snapshot(pkg, &mut w)?;
            w.flush()?;
            w.get_ref().sync_all()
        });
        match written.and_then(|()| std::fs::rename(&tmp, path)) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                eprintln!("error: cannot write `{}`: {e}", path.display());
                Err(ExitCode::from(2))
            }
        }
    }
}

/// Applies an accepted outcome's writes; a metric's fault rejects the event instead.
pub fn apply(pkg: &ir::Package, tables: &Tables, store: &mut Store, o: &mut Outcome) {
    store.apply_outcome(pkg, tables, o, false);
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    engine: &Evaluator,
    tables: &Tables,
    mut store: Store,
    reader: &mut InputReader<Box<dyn std::io::Read>>,
    writer: &mut dyn Write,
    input: &str,
    explain: bool,
    files: &StateFiles,
) -> ExitCode {
    let pkg = engine.package();
    let mut buf = Vec::new();
    let mut out = String::new();
    loop {
        buf.clear();
        let line = match reader.read_line(&mut buf) {
            Ok(None) => break,
            Ok(Some(line)) => line,
            Err(e) => {
                eprintln!("error: reading `{input}`: {e}");
                return ExitCode::from(2);
            }
        };
        buf.truncate(line.range.end);
        out.clear();
        match Line::of(&buf) {
            Line::Blank => continue,
            Line::NotUtf8 => engine.write_outcome(&not_utf8_outcome(line.number), &mut out),
            Line::Event(text) if explain => {
                let (mut o, trace) = engine.evaluate_traced_in(line.number, text, &store);
                apply(pkg, tables, &mut store, &mut o);
                engine.write_outcome(&o, &mut out);
                out.pop();
                out.push_str(",\"trace\":[");
                for (i, t) in trace.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    t.write_json(&mut out);
                }
                out.push_str("]}");
            }
            Line::Event(text) => {
                // The outcome line is written as the engine gives it, then
                // its writes applied. In the rare case where applying them
                // faults (a metric's expressions), nothing was applied: the
                // event is evaluated again against the same state and its
                // outcome goes through `apply`, which rejects it, as with
                // `--explain`.
                let writes = engine.evaluate_json_in(line.number, text, &store, &mut out);
                if !writes.is_empty() && store.apply_owned(pkg, tables, writes).is_err() {
                    out.clear();
                    let mut o = engine.evaluate_in(line.number, text, &store);
                    apply(pkg, tables, &mut store, &mut o);
                    engine.write_outcome(&o, &mut out);
                }
            }
        }
        out.push('\n');
        if let Err(e) = writer.write_all(out.as_bytes()) {
            eprintln!("error: writing outcomes: {e}");
            return ExitCode::from(2);
        }
    }
    if let Err(e) = writer.flush() {
        eprintln!("error: writing outcomes: {e}");
        return ExitCode::from(2);
    }
    let saved = files.save(pkg, &store);
    // The process ends here: freeing every record one by one (a hash table
    // of them, each its own allocations) would only cost time.
    std::mem::forget(store);
    match saved {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
