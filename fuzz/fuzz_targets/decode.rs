//! Fuzz target: any line through envelope validation, schema-directed decoding
//! and the timesheet example's handler must give one valid outcome, never panic.
#![no_main]
use std::sync::OnceLock;

use canon_runtime::{Engine, Tables};
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/timesheets");
        let pkg = canon_runtime::load(&root).expect("the example loads");
        let checked = pkg.package();
        let tables = Tables::load(&checked, &root.join("data"), false).expect("the example's data loads");
        Engine::new(checked, tables)
    })
}

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let o = engine().evaluate(1, &line);
    let mut out = String::new();
    engine().write_outcome(&o, &mut out);
    assert!(out.starts_with("{\"line\":1"));
});
