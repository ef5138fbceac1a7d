//! Fuzz target: the JIT's one-pass native decoder (`canon_jit::native`)
//! against the shared schema-directed decoder (`canon_runtime::decode`), for
//! an event type with every scalar type, optionals, lists, nested records and
//! lists of records.
//!
//! The input is the JSON text of `data`. What `native.rs` promises (its module
//! doc): it answers "valid, here are the cells" or "no", and on "no" the engine
//! takes the shared path, so it must never accept what the shared decoder
//! rejects, and what it accepts must have the same value. Checked:
//!
//! - `native::decode` is `Some` ⇒ `Decoder::decode` is `Ok`, and the two
//!   values encode to the same bytes (`native::encode` of the cells,
//!   `encode::value` of the value: the two encoders are byte-identical by
//!   contract, and this also checks that).
//! - `native` `None` while shared `Ok` is allowed (a slower path, not a
//!   divergence); with `CANON_FUZZ_SAME_VERDICT=1` it fails too, to find them.
//! - End to end: the input wrapped as `data` in an envelope, and the input
//!   itself as a whole line, give byte-identical outcome lines from the
//!   interpreter (`Engine::evaluate`) and from the JIT, through its fast path
//!   (`evaluate_json`) and its shared-decoder path (`evaluate`).
#![no_main]
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use bumpalo::Bump;
use canon_compiler::ir;
use canon_compiler::types::Ty;
use canon_jit::JitEngine;
use canon_runtime::decode::Decoder;
use canon_runtime::{Engine, Tables};
use libfuzzer_sys::fuzz_target;

/// The package: keep in step with `fuzz/seeds/native_decode`.
pub const SOURCE: &str = r#"
enum St { Open = "OPEN", Held = "on-hold", Closed }
record Line { qty: Int, price: Decimal as "unit-price", note: Text?, st: St? }
record Addr { city: Text, zip: Text?, geo: List<Decimal>?, line: Line? }
event Ev as "ev" {
  i: Int
  oi: Int?
  d: Decimal
  od: Decimal?
  m: Money
  om: Money? as "o-m"
  t: Text
  ot: Text?
  b: Bool
  ob: Bool?
  day: Date
  oday: Date?
  ts: Timestamp
  ots: Timestamp?
  c: Currency
  oc: Currency?
  st: St
  ost: St?
  ints: List<Int>
  texts: List<Text?>
  lines: List<Line>
  olines: List<Line?>?
  addr: Addr
  oaddr: Addr?
  nested: List<List<Money>>
}
destination out: Ev
on Ev as e {
  emit out e
}
"#;

struct Fixture {
    pkg: Arc<ir::Package>,
    ty: Ty,
    interp: Engine,
    jit: JitEngine,
    /// The package's keys and variants as JSON, as the JIT's encoder writes them.
    names: canon_runtime::encode::Names,
    same_verdict: bool,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let loaded = canon_runtime::package::from_sources(PathBuf::from("."), vec![("nd.canon".into(), SOURCE.into())]);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
        let pkg = loaded.package();
        let tables = Tables::empty(&pkg);
        let handler = pkg.handlers.first().expect("one handler");
        let ty = Ty::Record(handler.event);
        let jit = JitEngine::new(pkg.clone(), &tables).expect("the JIT compiles the package");
        let interp = Engine::new(pkg.clone(), tables);
        let same_verdict = std::env::var("CANON_FUZZ_SAME_VERDICT").is_ok_and(|v| v == "1");
        let names = canon_runtime::encode::Names::new(&pkg);
        Fixture { pkg, ty, interp, jit, names, same_verdict }
    })
}

fn lines_agree(f: &Fixture, line: &str) {
    let mut a = String::new();
    f.interp.write_outcome(&f.interp.evaluate(1, line), &mut a);
    let mut b = String::new();
    f.jit.evaluate_json(1, line, &mut b);
    assert_eq!(a, b, "interpreter and JIT fast path differ on line {line:?}");
    let mut c = String::new();
    f.jit.write_outcome(&f.jit.evaluate(1, line), &mut c);
    assert_eq!(a, c, "interpreter and JIT differ on line {line:?}");
}

fuzz_target!(|bytes: &[u8]| {
    let f = fixture();
    let data = String::from_utf8_lossy(bytes);
    let data: &str = &data;

    let arena = Bump::new();
    let native = canon_jit::native::decode(&f.pkg, &arena, &f.ty, data);
    let shared = Decoder::new(&f.pkg, "/data").decode(&f.ty, data);
    match (&native, &shared) {
        (Some(cell), Ok(value)) => {
            let mut a = String::new();
            // SAFETY: the cell was just decoded as `ty`; its text points into
            // `data` or `arena`, both alive.
            unsafe { canon_jit::native::encode(&mut a, &f.pkg, &f.names, &f.ty, cell) };
            let mut b = String::new();
            canon_runtime::encode::value(&mut b, &f.pkg, &f.ty, value);
            assert_eq!(a, b, "native and shared decoders give different values for {data:?}");
        }
        (Some(_), Err(e)) => panic!("native decoder accepts what the shared one rejects ({e:?}): {data:?}"),
        (None, Ok(_)) if f.same_verdict => panic!("native decoder rejects what the shared one accepts: {data:?}"),
        _ => {}
    }

    let line = format!(r#"{{"specversion":"1.0","id":"x","source":"s","type":"ev","data":{data}}}"#);
    lines_agree(f, &line);
    lines_agree(f, data);
});
