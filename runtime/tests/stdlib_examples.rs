//! Every built-in's documented examples (`stdlib/src/functions/*.rs`) run
//! through the checker and the interpreter and must print the documented JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use canon_compiler::ir::TestStmt;
use canon_runtime::interp::Interp;
use canon_runtime::{encode, package, Tables, Value};

fn eval_example(expr: &str) -> Result<String, String> {
    let src = format!("test \"example\" {{\n  let v = {expr}\n}}\n");
    let pkg = package::from_sources(PathBuf::from("."), vec![("example.canon".into(), src)]);
    if pkg.has_errors() {
        return Err(format!("does not check: {:?}", pkg.diagnostics()));
    }
    let checked = pkg.package();
    let test = checked.tests.first().ok_or("no test")?;
    let Some(TestStmt::Let { value, .. }) = test.stmts.first() else { return Err("no let".into()) };
    let tables = Tables::empty(&checked);
    let meta = Value::None;
    let interp = Interp {
        pkg: &checked,
        tables: &tables,
        meta: &meta,
        trace: None,
        state: None,
        coverage: None,
        decisions: None,
    };
    let mut frame = vec![Value::None; test.n_locals.max(1) as usize];
    let v = interp.eval(value, &mut frame).map_err(|f| format!("{}: {}", f.code.as_str(), f.message))?;
    let mut out = String::new();
    encode::value(&mut out, &checked, &value.ty, &v);
    Ok(out)
}

#[test]
fn builtin_examples_print_their_documented_json() {
    let mut failures = Vec::new();
    let mut count = 0;
    for b in canon_stdlib::functions::ALL {
        assert!(!b.examples.is_empty(), "`{}` has no examples", b.name);
        for ex in b.examples {
            count += 1;
            let want: serde_json::Value = serde_json::from_str(ex.json).unwrap();
            match eval_example(ex.expr) {
                Ok(got) => {
                    let got_v: serde_json::Value = serde_json::from_str(&got).unwrap();
                    if got_v != want {
                        failures.push(format!("{}: `{}` gave {got}, documented {}", b.name, ex.expr, ex.json));
                    }
                }
                Err(e) => failures.push(format!("{}: `{}`: {e}", b.name, ex.expr)),
            }
        }
    }
    assert!(count > 50, "only {count} examples");
    assert!(failures.is_empty(), "{} of {count} examples failed:\n{}", failures.len(), failures.join("\n"));
}
