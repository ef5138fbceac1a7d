//! Fuzz target: any bytes through the parser and the checker must not panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let pkg = canon_runtime::package::from_sources(std::path::PathBuf::from("."), vec![("fuzz.canon".into(), text)]);
    let _ = pkg.diagnostics();
});
