//! The one evaluator over both engines, for the CLI and the pipeline: the
//! choice of engine (`--engine jit|interp`, and the interpreter when the JIT
//! cannot compile a package) is made here and nowhere else.

use std::sync::Arc;

use canon_compiler::ir;
use canon_compiler::types::Ty;
use canon_runtime::outcome::{TraceEvent, WriteRecords};
use canon_runtime::state::{NoState, StateView, Write};
use canon_runtime::{encode, Engine, Outcome, Tables};

use crate::engine::Traced;
use crate::{JitEngine, Unsupported};

/// Which engine evaluates handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The Cranelift JIT (the interpreter when it cannot compile the package).
    #[default]
    Jit,
    /// The reference interpreter.
    Interp,
}

/// How to build an [`Evaluator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Choice {
    pub backend: Backend,
    /// Compile the JIT to record lineage (`--explain`, the pipeline's
    /// ledger); the interpreter always can.
    pub lineage: bool,
}

/// A checked package with its tables, evaluated by the JIT or the
/// interpreter (byte-identical outcomes). `Send + Sync`; evaluation takes `&self`.
pub enum Evaluator {
    Interp(Engine),
    Jit(Box<JitEngine>),
}

impl Evaluator {
    /// The evaluator `choice` asks for; when that is the JIT and it cannot
    /// compile the package, the interpreter, with the reason.
    pub fn new(pkg: Arc<ir::Package>, tables: Tables, choice: Choice) -> (Evaluator, Option<Unsupported>) {
        if choice.backend == Backend::Interp {
            return (Evaluator::Interp(Engine::new(pkg, tables)), None);
        }
        let compiled = if choice.lineage {
            JitEngine::with_lineage(pkg.clone(), &tables)
        } else {
            JitEngine::new(pkg.clone(), &tables)
        };
        match compiled {
            Ok(jit) => (Evaluator::Jit(Box::new(jit)), None),
            Err(why) => (Evaluator::Interp(Engine::new(pkg, tables)), Some(why)),
        }
    }

    pub fn package(&self) -> &ir::Package {
        match self {
            Evaluator::Interp(e) => e.package(),
            Evaluator::Jit(j) => j.package(),
        }
    }

    /// Whether events are evaluated by compiled code.
    pub fn compiled(&self) -> bool {
        matches!(self, Evaluator::Jit(_))
    }

    /// Evaluates one input line into its outcome.
    pub fn evaluate(&self, line_no: u64, line: &str) -> Outcome {
        match self {
            Evaluator::Interp(e) => e.evaluate(line_no, line),
            Evaluator::Jit(j) => j.evaluate(line_no, line),
        }
    }

    /// Evaluates one input line against `state` (the state the events before
    /// it left); the outcome's `writes` are what it applies when accepted.
    pub fn evaluate_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Outcome {
        match self {
            Evaluator::Interp(e) => e.evaluate_in(line_no, line, state),
            Evaluator::Jit(j) => j.evaluate_in(line_no, line, state),
        }
    }

    /// As [`Evaluator::evaluate_in`] (the same outcome); the JIT takes its
    /// one-pass decoder into cells, as `canon run` does (`canon diff`).
    pub fn evaluate_fast_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Outcome {
        match self {
            Evaluator::Interp(e) => e.evaluate_in(line_no, line, state),
            Evaluator::Jit(j) => j.evaluate_fast_in(line_no, line, state),
        }
    }

    /// As [`Evaluator::evaluate_in`], with the outcome's lineage.
    pub fn evaluate_traced_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> (Outcome, Vec<TraceEvent>) {
        match self {
            Evaluator::Interp(e) => e.evaluate_traced_in(line_no, line, state),
            Evaluator::Jit(j) => j.evaluate_traced_in(line_no, line, state),
        }
    }

    /// As [`Evaluator::evaluate_traced_in`], the records of the lineage's
    /// `write` steps as values when the engine gives them
    /// (`JitEngine::evaluate_lineage_in`): one per step, the steps without
    /// their text. Empty when the steps carry the text (the interpreter).
    pub fn evaluate_lineage_in(
        &self,
        line_no: u64,
        line: &str,
        state: &dyn StateView,
    ) -> (Outcome, Vec<TraceEvent>, Vec<WriteRecords>) {
        match self {
            Evaluator::Interp(e) => {
                let (o, t) = e.evaluate_traced_in(line_no, line, state);
                (o, t, Vec::new())
            }
            Evaluator::Jit(j) => j.evaluate_lineage_in(line_no, line, state),
        }
    }

    /// The package's names as JSON text, escaped once, when the engine keeps them (the JIT).
    pub fn names(&self) -> Option<&encode::Names> {
        match self {
            Evaluator::Interp(_) => None,
            Evaluator::Jit(j) => Some(j.names()),
        }
    }

    /// Evaluates one input line and appends its outcome line (without the newline).
    pub fn evaluate_json(&self, line_no: u64, line: &str, out: &mut String) {
        match self {
            Evaluator::Interp(e) => e.write_outcome(&e.evaluate(line_no, line), out),
            Evaluator::Jit(j) => j.evaluate_json(line_no, line, out),
        }
    }

    /// As [`Evaluator::evaluate_json`], against `state`; returns the writes
    /// the event applies (empty unless it is accepted). The line is written
    /// as accepted: when applying the writes faults (a metric), the caller
    /// writes the event as rejected instead.
    pub fn evaluate_json_in(&self, line_no: u64, line: &str, state: &dyn StateView, out: &mut String) -> Vec<Write> {
        match self {
            Evaluator::Interp(e) => {
                let mut o = e.evaluate_in(line_no, line, state);
                e.write_outcome(&o, out);
                std::mem::take(&mut o.writes)
            }
            Evaluator::Jit(j) => j.evaluate_json_in(line_no, line, state, out),
        }
    }

    /// One line's outcome and its lineage: the same with either engine (the
    /// JIT's has decision rows only when built with `lineage`).
    pub fn evaluate_traced(&self, line_no: u64, line: &str) -> (Outcome, Vec<TraceEvent>) {
        match self {
            Evaluator::Interp(e) => e.evaluate_traced(line_no, line),
            Evaluator::Jit(j) => j.evaluate_traced(line_no, line),
        }
    }

    /// As [`Evaluator::evaluate_traced`], the emitted records encoded as
    /// JSON text and taken out of the outcome, in emit order.
    pub fn evaluate_traced_encoded(&self, line_no: u64, line: &str) -> Traced {
        self.evaluate_traced_encoded_in(line_no, line, &NoState)
    }

    /// As [`Evaluator::evaluate_traced_encoded`], against `state`.
    pub fn evaluate_traced_encoded_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Traced {
        match self {
            Evaluator::Jit(j) => j.evaluate_traced_encoded_in(line_no, line, state),
            Evaluator::Interp(e) => {
                let (mut o, trace) = e.evaluate_traced_in(line_no, line, state);
                let pkg = e.package();
                let records = std::mem::take(&mut o.emits)
                    .into_iter()
                    .map(|(dest, value)| {
                        let mut record = String::with_capacity(512);
                        if let Some(def) = pkg.destinations.get(dest.0 as usize) {
                            encode::value(&mut record, pkg, &Ty::Record(def.record), &value);
                        }
                        (dest, record)
                    })
                    .collect();
                (o, records, trace)
            }
        }
    }

    /// Appends the outcome as one JSON line (without the newline).
    pub fn write_outcome(&self, o: &Outcome, out: &mut String) {
        canon_runtime::engine::write_outcome(self.package(), o, out);
    }
}
