//! The JIT engine: compiles a checked package with Cranelift and evaluates
//! events with the native code. Envelope validation and schema-directed
//! decoding are shared with the interpreter (`canon_runtime::engine::decode_line`),
//! so invalid events, ignored types and schema violations are identical by
//! construction; handlers, functions and decisions run natively.

use std::sync::Arc;
use std::time::Instant;

use canon_compiler::ir;
use canon_compiler::types::{Ty, ENVELOPE};
use canon_runtime::engine::{decode_line, Decoded, OutcomeHead, Ready};
use canon_runtime::outcome::{TraceEvent, WriteRecords};
use canon_runtime::state::{NoState, StateView, Txn, Write};
use canon_runtime::{Outcome, Status, Tables};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;

use crate::cell::{from_cell, to_cell, Cell};
use crate::codegen::{Lowering, Unsupported};
use crate::rt::{Ctx, DatedCell, Helper, Shared, Store, TableIndex};

/// An outcome, its emitted records as JSON text, and its lineage.
pub type Traced = (Outcome, Vec<(ir::DestId, String)>, Vec<TraceEvent>);

type BodyFn = unsafe extern "C" fn(*mut Ctx<'_>, *const Cell, *const Cell, i64) -> i32;

/// Owns the JIT code memory, freed on drop, and the entry of each handler in it.
struct Code {
    module: Option<JITModule>,
    /// The address of each handler's finalized body, by handler index.
    handlers: Vec<usize>,
}

// SAFETY: after `finalize_definitions` the module is only read (its code is
// executed, never modified), and it is freed only on drop.
unsafe impl Send for Code {}
// SAFETY: as above.
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: the engine that owns `Code` holds the only function
            // pointers into it, and they die with it.
            unsafe { m.free_memory() };
        }
    }
}

/// A compiled package ready to evaluate events; `Send + Sync`, evaluation takes `&self`.
pub struct JitEngine {
    // Field order matters: the code is dropped before the data it points into.
    code: Code,
    shared: Box<Shared>,
    /// How long compilation took.
    pub compile_time: std::time::Duration,
}

// SAFETY: `Shared` holds only owned, immutable-after-build data (cells point
// into its own store); the handler pointers are plain addresses of finalized code.
unsafe impl Send for JitEngine {}
// SAFETY: as above; evaluation allocates a fresh context per event.
unsafe impl Sync for JitEngine {}

impl JitEngine {
    /// Compiles a checked package (without errors) and its loaded tables.
    pub fn new(pkg: Arc<ir::Package>, tables: &Tables) -> Result<JitEngine, Unsupported> {
        JitEngine::build(pkg, tables, false, canon_runtime::dindex::DEFAULT_MIN_ROWS)
    }

    /// As [`JitEngine::new`], compiled to record lineage: use
    /// [`JitEngine::evaluate_traced`]. A little slower than untraced code.
    pub fn with_lineage(pkg: Arc<ir::Package>, tables: &Tables) -> Result<JitEngine, Unsupported> {
        JitEngine::build(pkg, tables, true, canon_runtime::dindex::DEFAULT_MIN_ROWS)
    }

    /// As [`JitEngine::new`] (or [`JitEngine::with_lineage`]), with the
    /// decision tables of at least `min_index_rows` rows matched through
    /// their index by a helper instead of inline code (`usize::MAX`: none).
    /// Tests use a low threshold to compare the two readings.
    pub fn with_options(
        pkg: Arc<ir::Package>,
        tables: &Tables,
        lineage: bool,
        min_index_rows: usize,
    ) -> Result<JitEngine, Unsupported> {
        JitEngine::build(pkg, tables, lineage, min_index_rows)
    }

    fn build(
        pkg: Arc<ir::Package>,
        tables: &Tables,
        traced: bool,
        min_index_rows: usize,
    ) -> Result<JitEngine, Unsupported> {
        let start = Instant::now();
        let mut store = Store::default();
        let mut native_tables = Vec::new();
        for (i, def) in pkg.tables.iter().enumerate() {
            let ty = Ty::Record(def.record);
            let one_text_key = def.keys.len() == 1
                && pkg
                    .record(def.record)
                    .and_then(|r| def.keys.first().and_then(|k| r.fields.get(*k as usize)))
                    .map(|f| f.ty.strip() == &Ty::Text)
                    .unwrap_or(false);
            let rows = tables.rows(ir::TableId(i as u32));
            if def.effective.is_some() {
                let dated = |h: &[canon_runtime::tables::DatedRow], store: &mut Store| -> Vec<DatedCell> {
                    h.iter()
                        .map(|r| DatedCell { from: r.from, until: r.until, row: store.cell_of(&pkg, &ty, &r.row) })
                        .collect()
                };
                let histories = tables.histories(ir::TableId(i as u32));
                native_tables.push(if one_text_key {
                    let mut map = rustc_hash::FxHashMap::default();
                    for (key, h) in histories {
                        if let [canon_runtime::value::KeyPart::Text(k)] = key {
                            map.insert(Box::from(&**k), dated(h, &mut store));
                        }
                    }
                    TableIndex::DatedText(map)
                } else {
                    let mut map = rustc_hash::FxHashMap::default();
                    for (key, h) in histories {
                        map.insert(key.to_vec(), dated(h, &mut store));
                    }
                    TableIndex::Dated(map)
                });
                continue;
            }
            native_tables.push(if one_text_key {
                let mut map = rustc_hash::FxHashMap::default();
                for (key, row) in rows {
                    if let [canon_runtime::value::KeyPart::Text(k)] = key {
                        map.insert(Box::from(&**k), store.cell_of(&pkg, &ty, row));
                    }
                }
                TableIndex::Text(map)
            } else {
                let mut map = rustc_hash::FxHashMap::default();
                for (key, row) in rows {
                    map.insert(key.to_vec(), store.cell_of(&pkg, &ty, row));
                }
                TableIndex::General(map)
            });
        }
        let mut shared = Box::new(Shared {
            pkg: pkg.clone(),
            types: Vec::new(),
            locs: Vec::new(),
            rejects: Vec::new(),
            builtins: Vec::new(),
            tables: native_tables,
            state_sites: Vec::new(),
            has_state: pkg.has_state(),
            traced,
            store,
            decisions: Arc::new(canon_runtime::dindex::DecisionIndexes::build(&pkg, min_index_rows)),
            names: canon_runtime::encode::Names::new(&pkg),
        });

        let mut flags = settings::builder();
        let set = |f: &mut settings::Builder, k: &str, v: &str| {
            f.set(k, v).map_err(|e| Unsupported(format!("flag {k}: {e}")))
        };
        // No e-graph pass: the lowering's code is loads, stores and calls of
        // cells it leaves little to simplify, and at "speed" the pass cost 9 %
        // of the start-up of the timesheet example (227.8 M → 206.9 M
        // instructions, callgrind) for the same instructions an event
        // (docs/performance.md, "Fourth pass").
        set(&mut flags, "opt_level", "none")?;
        // Cranelift's IR verifier checks the lowering's output: in debug
        // builds (every test), not in release, where it was half of the
        // compile time of the timesheet example (callgrind).
        set(&mut flags, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
        set(&mut flags, "use_colocated_libcalls", "false")?;
        set(&mut flags, "is_pic", "false")?;
        let isa = cranelift_native::builder()
            .map_err(|e| Unsupported(format!("host not supported: {e}")))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| Unsupported(format!("isa: {e}")))?;
        let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
        for h in Helper::ALL {
            builder.symbol(h.symbol(), h.address());
        }
        let mut module = JITModule::new(builder);
        let compiled = {
            let mut lowering = Lowering::new(&mut module, &mut shared)?;
            lowering.compile_all()?;
            lowering.compiled
        };
        module.finalize_definitions().map_err(|e| Unsupported(format!("finalize: {e}")))?;
        let handlers = compiled.handlers.iter().map(|id| module.get_finalized_function(*id) as usize).collect();
        Ok(JitEngine { code: Code { module: Some(module), handlers }, shared, compile_time: start.elapsed() })
    }

    pub fn package(&self) -> &ir::Package {
        &self.shared.pkg
    }

    /// Evaluates one input line into its outcome (identical to the
    /// interpreter's), against no state.
    pub fn evaluate(&self, line_no: u64, line: &str) -> Outcome {
        self.evaluate_in(line_no, line, &NoState)
    }

    /// Evaluates one input line against `state`, the state the events before
    /// it left; the outcome's `writes` are what it applies when accepted
    /// (identical to `canon_runtime::Engine::evaluate_in`).
    pub fn evaluate_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Outcome {
        match decode_line(&self.shared.pkg, line_no, line) {
            Decoded::Done(o) => o,
            Decoded::Ready(r) => self.run_with(r, None, state),
        }
    }

    /// Runs the handler of an already decoded event natively.
    pub fn run_decoded(&self, r: Ready) -> Outcome {
        self.run_with(r, None, &NoState)
    }

    /// As [`JitEngine::run_decoded`], against `state`.
    pub fn run_decoded_in(&self, r: Ready, state: &dyn StateView) -> Outcome {
        self.run_with(r, None, state)
    }

    /// Evaluates one input line into its outcome and its lineage, identical
    /// to `canon_runtime::Engine::evaluate_traced`. The engine must have been
    /// built [`JitEngine::with_lineage`]; otherwise the lineage has no
    /// decision rows.
    pub fn evaluate_traced(&self, line_no: u64, line: &str) -> (Outcome, Vec<TraceEvent>) {
        self.evaluate_traced_in(line_no, line, &NoState)
    }

    /// As [`JitEngine::evaluate_traced`], against `state` (the lineage shows
    /// its reads and writes).
    pub fn evaluate_traced_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> (Outcome, Vec<TraceEvent>) {
        if let Some((o, _, t)) = self.fast_traced(line_no, line, false, true, state, None) {
            return (o, t);
        }
        match decode_line(&self.shared.pkg, line_no, line) {
            Decoded::Done(o) => (o, Vec::new()),
            Decoded::Ready(r) => {
                let mut trace = Vec::new();
                let o = self.run_with(r, Some(&mut trace), state);
                (o, trace)
            }
        }
    }

    /// The package's field keys, variants and destinations as JSON text.
    pub fn names(&self) -> &canon_runtime::encode::Names {
        &self.shared.names
    }

    /// As [`JitEngine::evaluate_traced_in`], the records of the lineage's
    /// `write` steps as values, one per step (`WriteRecords`; the steps
    /// then carry no JSON text), for a caller that packs them itself. A line
    /// the one-pass decoder does not read is evaluated as
    /// `evaluate_traced_in` evaluates it: its steps carry the text, and
    /// there are no values.
    pub fn evaluate_lineage_in(
        &self,
        line_no: u64,
        line: &str,
        state: &dyn StateView,
    ) -> (Outcome, Vec<TraceEvent>, Vec<WriteRecords>) {
        let mut records = Vec::new();
        if let Some((o, _, t)) = self.fast_traced(line_no, line, false, true, state, Some(&mut records)) {
            return (o, t, records);
        }
        let (o, t) = self.evaluate_traced_in(line_no, line, state);
        (o, t, Vec::new())
    }

    /// Runs handler `handler` on an event and meta already in native cells,
    /// in a fresh context; returns the status and the number of emits and
    /// rejections (for benchmarks of evaluation alone).
    pub fn run_cells(&self, handler: usize, event: &Cell, meta: &Cell) -> (i32, usize, usize) {
        let Some(&fptr) = self.code.handlers.get(handler) else { return (-1, 0, 0) };
        let mut ctx = Ctx::new(&self.shared);
        // SAFETY: as in `run_with`.
        let f: BodyFn = unsafe { std::mem::transmute::<usize, BodyFn>(fptr) };
        // SAFETY: the caller's cells are alive for the call.
        let status = unsafe { f(&mut ctx, event, meta, 0) };
        (status, ctx.emits.len(), ctx.rejections.len())
    }

    /// As [`JitEngine::evaluate_traced`], with the emitted records as JSON
    /// text (`encode::value`'s bytes) rather than values: the outcome's
    /// `emits` is empty and the records come second, in emit order.
    pub fn evaluate_traced_encoded(&self, line_no: u64, line: &str) -> Traced {
        self.evaluate_traced_encoded_in(line_no, line, &NoState)
    }

    /// As [`JitEngine::evaluate_traced_encoded`], against `state`.
    pub fn evaluate_traced_encoded_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Traced {
        if let Some(r) = self.fast_traced(line_no, line, true, true, state, None) {
            return r;
        }
        let (mut o, t) = self.evaluate_traced_in(line_no, line, state);
        let pkg = &self.shared.pkg;
        let records = std::mem::take(&mut o.emits)
            .into_iter()
            .map(|(dest, v)| {
                let mut s = String::with_capacity(512);
                if let Some(d) = pkg.destinations.get(dest.0 as usize) {
                    canon_runtime::encode::value(&mut s, pkg, &Ty::Record(d.record), &v);
                }
                (dest, s)
            })
            .collect();
        (o, records, t)
    }

    /// As [`JitEngine::evaluate_in`] (the same outcome), through the
    /// one-pass decoder into cells that `canon run` takes, when the line
    /// allows it: what `canon diff` compares, without encoding the records.
    pub fn evaluate_fast_in(&self, line_no: u64, line: &str, state: &dyn StateView) -> Outcome {
        if let Some((o, _, _)) = self.fast_traced(line_no, line, false, false, state, None) {
            return o;
        }
        self.evaluate_in(line_no, line, state)
    }

    /// [`JitEngine::evaluate_traced`] through the one-pass decoder into
    /// cells, the records as values or (`encoded`) as JSON text, the
    /// lineage when `traced` (the records of its writes as values into
    /// `records`, when given); `None` sends the line to the shared decoder.
    fn fast_traced(
        &self,
        line_no: u64,
        line: &str,
        encoded: bool,
        traced: bool,
        state: &dyn StateView,
        records_out: Option<&mut Vec<WriteRecords>>,
    ) -> Option<Traced> {
        let pkg = &self.shared.pkg;
        // Declared before the context, which borrows it.
        let txn = Txn::new(state);
        let mut ctx = self.context(&txn);
        ctx.trace = traced.then(Vec::new);
        ctx.write_records = (traced && records_out.is_some()).then(Vec::new);
        // Text cells of `ev` may point into `line`, which outlives `ctx`.
        let ev = crate::native::decode_event(pkg, &self.shared.names, &ctx.arena, line)?;
        let fptr = *self.code.handlers.get(ev.handler)?;
        let mc = meta_cell(&ctx.arena, &ev);
        // SAFETY: as in `run_with`.
        let f: BodyFn = unsafe { std::mem::transmute::<usize, BodyFn>(fptr) };
        // SAFETY: the context, event and meta cells outlive the call.
        let status = unsafe { f(&mut ctx, &ev.data, &mc, 0) };
        finish(&mut ctx, status);
        let accepted = ctx.rejections.is_empty();
        let mut emits = Vec::new();
        let mut records = Vec::new();
        if accepted {
            for (dest, cell) in &ctx.emits {
                let ty = pkg.destinations.get(*dest as usize).map(|d| Ty::Record(d.record)).unwrap_or(Ty::Error);
                if encoded {
                    let mut s = String::with_capacity(512);
                    // SAFETY: emitted cells live in this event's arena (or in `line`), still alive.
                    unsafe { crate::native::encode(&mut s, pkg, &self.shared.names, &ty, cell) };
                    records.push((ir::DestId(*dest), s));
                } else {
                    // SAFETY: as above.
                    emits.push((ir::DestId(*dest), unsafe { from_cell(pkg, &ty, cell) }));
                }
            }
        }
        let rejections = std::mem::take(&mut ctx.rejections);
        let trace = ctx.trace.take().unwrap_or_default();
        if let (Some(out), Some(r)) = (records_out, ctx.write_records.take()) {
            *out = r;
        }
        drop(ctx);
        let outcome = Outcome {
            line: line_no,
            id: Some(ev.id.into_owned()),
            event_type: Some(ev.event_type.into_owned()),
            correlation_id: ev.correlation_id.map(|c| c.into_owned()),
            status: if accepted { Status::Accepted } else { Status::Rejected },
            emits,
            rejections,
            writes: if accepted { txn.into_writes() } else { Vec::new() },
        };
        Some((outcome, records, trace))
    }

    /// A fresh context for one event; a package with state reads and writes through `txn`.
    fn context<'a>(&'a self, txn: &'a Txn<'a>) -> Ctx<'a> {
        let mut ctx = Ctx::new(&self.shared);
        if self.shared.has_state {
            ctx.txn = Some(txn);
        }
        ctx
    }

    fn run_with(&self, r: Ready, trace: Option<&mut Vec<TraceEvent>>, state: &dyn StateView) -> Outcome {
        let Ready { mut outcome, handler, meta, event } = r;
        let pkg = &self.shared.pkg;
        let (Some(h), Some(&fptr)) = (pkg.handlers.get(handler), self.code.handlers.get(handler)) else {
            return outcome;
        };
        let txn = Txn::new(state);
        let mut ctx = self.context(&txn);
        if trace.is_some() {
            ctx.trace = Some(Vec::new());
        }
        let ev = to_cell(pkg, &ctx.arena, &Ty::Record(h.event), &event);
        let mc = to_cell(pkg, &ctx.arena, &Ty::Record(ENVELOPE), &meta);
        // SAFETY: `fptr` is the finalized handler compiled with `body_sig`, alive as long as `self`.
        let f: BodyFn = unsafe { std::mem::transmute::<usize, BodyFn>(fptr) };
        // SAFETY: the context, event and meta cells outlive the call.
        let status = unsafe { f(&mut ctx, &ev, &mc, 0) };
        finish(&mut ctx, status);
        if let (Some(out), Some(t)) = (trace, ctx.trace.take()) {
            *out = t;
        }
        if ctx.rejections.is_empty() {
            outcome.status = Status::Accepted;
            for (dest, cell) in &ctx.emits {
                let ty = pkg.destinations.get(*dest as usize).map(|d| Ty::Record(d.record)).unwrap_or(Ty::Error);
                // SAFETY: emitted cells live in this event's arena, still alive.
                let v = unsafe { from_cell(pkg, &ty, cell) };
                outcome.emits.push((ir::DestId(*dest), v));
            }
            drop(ctx);
            outcome.writes = txn.into_writes();
        } else {
            outcome.status = Status::Rejected;
            outcome.rejections = std::mem::take(&mut ctx.rejections);
        }
        outcome
    }

    /// Evaluates one input line and appends its outcome as one JSON line
    /// (without the newline): the fast path decodes `data` straight into
    /// cells and writes emits straight from them; anything unusual (an
    /// invalid envelope, an ignored type, a schema violation) takes the
    /// shared path of [`JitEngine::evaluate`], so the bytes are the same.
    pub fn evaluate_json(&self, line_no: u64, line: &str, out: &mut String) {
        self.evaluate_json_in(line_no, line, &NoState, out);
    }

    /// As [`JitEngine::evaluate_json`], against `state`; returns the writes
    /// the event applies (empty unless it is accepted). The line is written
    /// as if they will be applied: when applying them faults (a metric's
    /// expressions, LANGUAGE.md §4.6), the caller must write the event as
    /// rejected instead (see `canon run`).
    pub fn evaluate_json_in(&self, line_no: u64, line: &str, state: &dyn StateView, out: &mut String) -> Vec<Write> {
        if let Some(writes) = self.fast(line_no, line, state, out) {
            return writes;
        }
        let mut o = self.evaluate_in(line_no, line, state);
        self.write_outcome(&o, out);
        std::mem::take(&mut o.writes)
    }

    fn fast(&self, line_no: u64, line: &str, state: &dyn StateView, out: &mut String) -> Option<Vec<Write>> {
        let pkg = &self.shared.pkg;
        let txn = Txn::new(state);
        let mut ctx = self.context(&txn);
        // Text cells of `ev` may point into `line`, which outlives `ctx`.
        let ev = crate::native::decode_event(pkg, &self.shared.names, &ctx.arena, line)?;
        let fptr = *self.code.handlers.get(ev.handler)?;
        let mc = meta_cell(&ctx.arena, &ev);
        // SAFETY: as in `run_with`.
        let f: BodyFn = unsafe { std::mem::transmute::<usize, BodyFn>(fptr) };
        // SAFETY: the context, event and meta cells outlive the call.
        let status = unsafe { f(&mut ctx, &ev.data, &mc, 0) };
        finish(&mut ctx, status);
        let accepted = ctx.rejections.is_empty();
        let head = OutcomeHead {
            line: line_no,
            id: Some(&ev.id),
            event_type: Some(&ev.event_type),
            correlation_id: ev.correlation_id.as_deref(),
            status: if accepted { Status::Accepted } else { Status::Rejected }.as_str(),
            plain: head_plain(ev.plain),
        };
        let emits = &ctx.emits;
        let names = &self.shared.names;
        let write_emits = |out: &mut String| {
            if !accepted {
                return;
            }
            for (i, (dest, cell)) in emits.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let def = pkg.destinations.get(*dest as usize);
                out.push_str(names.destination(ir::DestId(*dest)));
                let ty = def.map(|d| Ty::Record(d.record)).unwrap_or(Ty::Error);
                // SAFETY: emitted cells live in this event's arena (or in
                // `line`, or in records of state the context keeps), alive
                // until `ctx` drops.
                unsafe { crate::native::encode(out, pkg, names, &ty, cell) };
                out.push('}');
            }
        };
        canon_runtime::engine::write_outcome_parts(&head, &write_emits, &ctx.rejections, out);
        drop(ctx);
        Some(if accepted { txn.into_writes() } else { Vec::new() })
    }

    /// Appends the outcome as one JSON line (without the newline).
    pub fn write_outcome(&self, o: &Outcome, out: &mut String) {
        canon_runtime::engine::write_outcome(&self.shared.pkg, o, out);
    }
}

/// An event's plain attributes (`native::Event::plain`) as
/// `OutcomeHead::plain` names them.
fn head_plain(attrs: u16) -> u8 {
    let bit = |k: u16, to: u8| if attrs & (1 << k) != 0 { to } else { 0 };
    bit(1, OutcomeHead::PLAIN_ID) | bit(3, OutcomeHead::PLAIN_TYPE) | bit(7, OutcomeHead::PLAIN_CORRELATION_ID)
}

/// `meta` as cells of the built-in `Envelope` record (text borrowed from the
/// line stays there; the default idempotency key is built in the arena).
fn meta_cell(arena: &bumpalo::Bump, ev: &crate::native::Event<'_>) -> Cell {
    use std::borrow::Cow;
    // Attribute `k`'s text, plain when the reader found it so.
    let text = |s: &Cow<'_, str>, k: usize| match s {
        Cow::Borrowed(b) => Cell::from_text(b, ev.plain & (1 << k) != 0),
        Cow::Owned(o) => crate::cell::text_cell(arena, o),
    };
    let opt = |s: &Option<Cow<'_, str>>, k: usize| s.as_ref().map(|s| text(s, k)).unwrap_or_default();
    let key = match &ev.idempotency_key {
        Some(k) => text(k, 8),
        // Built in the arena when both are plain (the runtime's pieces of
        // `default_idempotency_key`; not plain itself: it has quotes).
        None if ev.plain & 0b110 == 0b110 => {
            let parts = canon_runtime::engine::plain_idempotency_key_parts(&ev.source, &ev.id);
            let buf = arena.alloc_slice_fill_copy(parts.iter().map(|p| p.len()).sum(), 0u8);
            let mut at = 0;
            for p in parts {
                if let Some(to) = buf.get_mut(at..at + p.len()) {
                    to.copy_from_slice(p.as_bytes());
                }
                at += p.len();
            }
            // SAFETY: whole UTF-8 texts and ASCII punctuation, end to end.
            Cell::from_text(unsafe { std::str::from_utf8_unchecked(buf) }, false)
        }
        None => crate::cell::text_cell(arena, &canon_runtime::engine::default_idempotency_key(&ev.source, &ev.id)),
    };
    let fields = [
        text(&ev.id, 1),
        text(&ev.source, 2),
        text(&ev.event_type, 3),
        ev.time.map(|t| Cell::from_i64(t.0)).unwrap_or_default(),
        opt(&ev.subject, 5),
        opt(&ev.correlation_id, 7),
        key,
    ];
    let cells = arena.alloc_slice_copy(&fields);
    Cell::from_parts(cells.as_ptr() as usize, 0)
}

/// After a body returned `status`: a fault that stopped it (status 2)
/// becomes its rejection, and a step of the lineage when it is traced.
fn finish(ctx: &mut Ctx<'_>, status: i32) {
    if status != 2 {
        return;
    }
    let Some(fault) = ctx.fault.take() else { return };
    let at = ctx.shared.pkg.loc_string(fault.loc);
    if let Some(t) = ctx.trace.as_mut() {
        t.push(TraceEvent::Rejected { code: fault.code.as_str().to_string(), at: at.clone() });
    }
    ctx.rejections.push(fault.into_rejection(at));
}
