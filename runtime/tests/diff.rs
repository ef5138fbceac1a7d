//! `canon_runtime::diff` without the CLI: schema changes of nested records,
//! lists of records and destination families; values compared as written;
//! the money of a replay summed exactly per group.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::sync::Arc;

use canon_compiler::ir;
use canon_runtime::diff::{self, compare::identical, ChangeKind, Comparer, Side};
use canon_runtime::input::InputReader;
use canon_runtime::{package, Engine, Tables, Value};

fn pkg(src: &str) -> Arc<ir::Package> {
    let p = package::from_sources(PathBuf::from("."), vec![("p.canon".into(), src.into())]);
    assert!(!p.has_errors(), "{:?}", p.diagnostics());
    p.package()
}

fn changes(old: &str, new: &str) -> Vec<(String, Option<String>, ChangeKind, bool)> {
    diff::schema::changes(&pkg(old), &pkg(new))
        .into_iter()
        .map(|c| (c.destination, c.field, c.change, c.breaking))
        .collect()
}

const NESTED: &str = r#"
enum Entity { US01, DE01 }
record Payable { who: Text, amount: Money }
record Line { id: Text, payable: Payable, parts: List<Payable> }
event E as "e" { id: Text }
destination erp[Entity]: Line
"#;

#[test]
fn nested_records_lists_and_families_are_compared_by_wire_name() {
    let new = NESTED
        .replace("enum Entity { US01, DE01 }", "enum Entity { US01, DE01, FR01 }")
        .replace("record Payable { who: Text, amount: Money }", "record Payable { who: Text, total: Decimal }");
    let found = changes(NESTED, &new);
    let expected = [
        ("erp.US01", Some("payable.amount"), ChangeKind::FieldRemoved, true),
        ("erp.US01", Some("parts[].amount"), ChangeKind::FieldRemoved, true),
        ("erp.US01", Some("payable.total"), ChangeKind::FieldAdded, false),
        ("erp.US01", Some("parts[].total"), ChangeKind::FieldAdded, false),
        ("erp.DE01", Some("payable.amount"), ChangeKind::FieldRemoved, true),
        ("erp.DE01", Some("parts[].amount"), ChangeKind::FieldRemoved, true),
        ("erp.DE01", Some("payable.total"), ChangeKind::FieldAdded, false),
        ("erp.DE01", Some("parts[].total"), ChangeKind::FieldAdded, false),
        ("erp.FR01", None, ChangeKind::DestinationAdded, false),
    ];
    let expected: Vec<_> = expected.iter().map(|(d, f, k, b)| (d.to_string(), f.map(str::to_string), *k, *b)).collect();
    assert_eq!(found, expected);
    // Canon names and declaration order are not what consumers see.
    let renamed = NESTED
        .replace("Payable", "Payment")
        .replace("{ id: Text, payable", "{ payable")
        .replace("parts: List<Payment> }", "parts: List<Payment>, id: Text }");
    assert_eq!(changes(NESTED, &renamed), vec![]);
}

#[test]
fn values_are_compared_as_written() {
    let d = |s: &str| Value::Decimal(canon_stdlib::num::parse(s).unwrap());
    assert!(identical(&d("7.50"), &d("7.50")));
    assert!(!identical(&d("7.5"), &d("7.50")), "equal numbers, different outputs");
    assert!(!identical(&Value::Int(7), &d("7")));
    assert!(identical(&Value::None, &Value::None));
}

#[test]
fn money_is_summed_exactly_per_group_over_the_whole_corpus() {
    let src = |rate: &str| {
        format!(
            "event H as \"h\" {{ entity: Text, n: Decimal }}\n\
             record L {{ entity: Text, amount: Money, fee: Money? }}\n\
             destination erp: L\n\
             on H as h {{ emit erp L {{ entity: h.entity, amount: round({rate} * h.n, 2), fee: none }} }}\n"
        )
    };
    let (old, new) = (pkg(&src("0.10 EUR")), pkg(&src("0.20 EUR")));
    let (eo, en) = (Engine::new(old.clone(), Tables::empty(&old)), Engine::new(new.clone(), Tables::empty(&new)));
    let mut events = String::new();
    // 0.1 does not exist in binary floating point: a float sum would drift.
    for (i, e) in ["A", "B", "A"].iter().cycle().take(3000).enumerate() {
        events.push_str(&format!(
            "{{\"specversion\":\"1.0\",\"id\":\"{i}\",\"source\":\"s\",\"type\":\"h\",\"data\":{{\"entity\":\"{e}\",\"n\":\"1\"}}}}\n"
        ));
    }
    let mut comparer = Comparer::new(old.clone(), new.clone(), &["entity".to_string()]).unwrap();
    let mut n = 0;
    diff::replay(
        &mut comparer,
        &mut Side::new(&eo, eo.tables(), None),
        &mut Side::new(&en, en.tables(), None),
        &mut InputReader::new(events.as_bytes()),
        &mut |_| {
            n += 1;
            Ok(())
        },
    )
    .unwrap();
    let s = comparer.summary();
    assert_eq!((s.events, s.changed, n), (3000, 3000, 3000));
    let groups: Vec<(String, &str, &str, &str, u64)> = s
        .money
        .iter()
        .map(|m| (m.by["entity"].get().to_string(), m.old.as_str(), m.new.as_str(), m.delta.as_str(), m.new_emits))
        .collect();
    assert_eq!(
        groups,
        vec![
            ("\"A\"".to_string(), "200.00", "400.00", "200.00", 2000),
            ("\"B\"".to_string(), "100.00", "200.00", "100.00", 1000),
        ]
    );
    // `fee` is Money? and always none: no group.
    assert!(s.money.iter().all(|m| m.field == "amount"));
}
