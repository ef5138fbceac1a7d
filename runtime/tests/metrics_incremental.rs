//! Metrics maintained on every write (LANGUAGE.md §4.6) equal a full
//! recomputation from the final records: random workloads of puts, updates
//! and deletes on random keys, with random Int, Decimal and Money values,
//! groups (optional ones too) and `age` instants. The recomputation here is
//! independent of `metrics.rs`: it folds the final records in plain Rust.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use canon_compiler::ir::{self, StateId};
use canon_runtime::metrics::{show_decimal, MetricReport};
use canon_runtime::state::{key_of, Store, Write};
use canon_runtime::{Tables, Value};
use canon_stdlib::{Currency, Decimal, Timestamp};
use proptest::prelude::*;

const SRC: &str = r#"
enum Kind { A, B, C }
record Item { id: Int, grp: Text, kind: Kind, tag: Text?, n: Int, d: Decimal, m: Money, at: Timestamp? }
state items: Item key id
metric n_by_grp = sum(items, x => x.n) by grp
metric d_by_kind = sum(items, x => x.d) where x.kind != C by kind
metric m_by_grp = sum(items, x => x.m) by grp
metric count_b = count(items, x => x.kind == B) by tag
metric d_aged = sum(items, x => x.d) by grp age at > 2 hours
metric m_by_grp_tag = sum(items, x => x.m) by grp, tag
metric n_all = sum(items, x => x.n)
"#;

const HOUR: i64 = 3_600_000_000;
const GROUPS: [&str; 3] = ["g1", "g2", "g\"3"];
const TAGS: [Option<&str>; 3] = [None, Some("t1"), Some("t2")];
const CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];

fn pkg() -> Arc<ir::Package> {
    let p = canon_runtime::package::from_sources(PathBuf::from("."), vec![("m.canon".into(), SRC.into())]);
    assert!(!p.has_errors(), "{:?}", p.diagnostics());
    p.package()
}

/// One item, as plain Rust values.
#[derive(Debug, Clone)]
struct Item {
    id: i64,
    grp: usize,
    kind: u32,
    tag: usize,
    n: i64,
    d: Decimal,
    m: (Decimal, usize),
    at: Option<i64>,
}

impl Item {
    fn value(&self) -> Value {
        Value::Record(
            vec![
                Value::Int(self.id),
                Value::text(GROUPS[self.grp]),
                Value::Enum(self.kind),
                TAGS[self.tag].map(Value::text).unwrap_or(Value::None),
                Value::Int(self.n),
                Value::Decimal(self.d),
                Value::Money(self.m.0, Currency::parse(CURRENCIES[self.m.1]).unwrap()),
                self.at.map(|t| Value::Timestamp(Timestamp(t))).unwrap_or(Value::None),
            ]
            .into(),
        )
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A put (an update when the key holds a record).
    Put(Item),
    Delete(i64),
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (-1_000_000i64..1_000_000, 0u32..5).prop_map(|(m, s)| Decimal::new(m, s))
}

fn item() -> impl Strategy<Value = Item> {
    (
        0i64..12,
        0usize..3,
        0u32..3,
        0usize..3,
        -1000i64..1000,
        decimal(),
        (decimal(), 0usize..3),
        prop::option::of(0i64..6),
    )
        .prop_map(|(id, grp, kind, tag, n, d, m, at)| Item {
            id,
            grp,
            kind,
            tag,
            n,
            d,
            m,
            at: at.map(|h| h * HOUR),
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![4 => item().prop_map(Op::Put), 1 => (0i64..12).prop_map(Op::Delete)]
}

/// The write an op makes against the store's records.
fn write_of(pkg: &ir::Package, store: &Store, op: &Op) -> Write {
    let def = pkg.state(StateId(0)).unwrap();
    let (key, after) = match op {
        Op::Put(item) => {
            let v = item.value();
            (key_of(def, &v), Some(v))
        }
        Op::Delete(id) => (vec![canon_runtime::value::KeyPart::Int(*id)].into_boxed_slice(), None),
    };
    let before = store.record(StateId(0), &key).cloned();
    Write { state: StateId(0), key, before, after, loc: Default::default() }
}

/// A metric's groups as text: `by` values (JSON) → value as shown.
type Shown = BTreeMap<Vec<String>, String>;

fn shown(reports: &[MetricReport]) -> Vec<(String, Option<Shown>)> {
    reports
        .iter()
        .map(|r| {
            let groups = (!r.needs_as_of).then(|| r.groups.iter().map(|g| (g.by.clone(), g.value.to_text())).collect());
            (r.name.clone(), groups)
        })
        .collect()
}

fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn tag_json(tag: usize) -> String {
    TAGS[tag].map(json).unwrap_or_else(|| "null".into())
}

/// Adds per group; shows each group as `canon status` does.
fn fold_decimal(items: &[&Item], by: impl Fn(&Item) -> Vec<String>, val: impl Fn(&Item) -> Decimal) -> Shown {
    let mut sums: BTreeMap<Vec<String>, Decimal> = BTreeMap::new();
    for i in items {
        *sums.entry(by(i)).or_default() += val(i);
    }
    sums.into_iter().map(|(k, v)| (k, show_decimal(v))).collect()
}

fn fold_money(items: &[&Item], by: impl Fn(&Item) -> Vec<String>) -> Shown {
    let mut sums: BTreeMap<Vec<String>, BTreeMap<&str, Decimal>> = BTreeMap::new();
    for i in items {
        *sums.entry(by(i)).or_default().entry(CURRENCIES[i.m.1]).or_default() += i.m.0;
    }
    sums.into_iter()
        .map(|(k, per)| {
            let parts: Vec<String> =
                per.iter().filter(|(_, d)| !d.is_zero()).map(|(c, d)| format!("{} {c}", show_decimal(*d))).collect();
            (k, if parts.is_empty() { "0".into() } else { parts.join("; ") })
        })
        .collect()
}

fn fold_int(items: &[&Item], by: impl Fn(&Item) -> Vec<String>, val: impl Fn(&Item) -> i64) -> Shown {
    let mut sums: BTreeMap<Vec<String>, i64> = BTreeMap::new();
    for i in items {
        *sums.entry(by(i)).or_default() += val(i);
    }
    sums.into_iter().map(|(k, v)| (k, v.to_string())).collect()
}

/// The metrics of SRC over the final records, computed from scratch.
fn recomputed(items: &[&Item], as_of: Option<i64>) -> Vec<(String, Option<Shown>)> {
    let grp = |i: &Item| vec![json(GROUPS[i.grp])];
    let kinds = ["A", "B", "C"];
    let not_c: Vec<&Item> = items.iter().copied().filter(|i| i.kind != 2).collect();
    let b: Vec<&Item> = items.iter().copied().filter(|i| i.kind == 1).collect();
    let aged = as_of.map(|t| {
        let old: Vec<&Item> = items.iter().copied().filter(|i| i.at.is_some_and(|at| at < t - 2 * HOUR)).collect();
        fold_decimal(&old, grp, |i| i.d)
    });
    vec![
        ("n_by_grp".into(), Some(fold_int(items, grp, |i| i.n))),
        ("d_by_kind".into(), Some(fold_decimal(&not_c, |i| vec![json(kinds[i.kind as usize])], |i| i.d))),
        ("m_by_grp".into(), Some(fold_money(items, grp))),
        ("count_b".into(), Some(fold_int(&b, |i| vec![tag_json(i.tag)], |_| 1))),
        ("d_aged".into(), aged),
        ("m_by_grp_tag".into(), Some(fold_money(items, |i| vec![json(GROUPS[i.grp]), tag_json(i.tag)]))),
        ("n_all".into(), Some(fold_int(items, |_| Vec::new(), |i| i.n))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn incremental_metrics_equal_a_recomputation(ops in prop::collection::vec(op(), 1..150), as_of in prop::option::of(0i64..9)) {
        let pkg = pkg();
        let tables = Tables::empty(&pkg);
        let mut store = Store::new(&pkg);
        let mut last: BTreeMap<i64, Item> = BTreeMap::new();
        // Writes applied one by one, and some several at a time (one event's).
        let mut pending: Vec<Write> = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            let mut w = write_of(&pkg, &store, op);
            if let Some(p) = pending.iter().rev().find(|p| p.key == w.key) {
                w.before = p.after.clone();
            }
            pending.push(w);
            if n % 3 != 1 {
                store.apply(&pkg, &tables, &pending).unwrap();
                pending.clear();
            }
            match op {
                Op::Put(i) => { last.insert(i.id, i.clone()); }
                Op::Delete(id) => { last.remove(id); }
            }
        }
        store.apply(&pkg, &tables, &pending).unwrap();
        let items: Vec<&Item> = last.values().collect();
        let as_of = as_of.map(|h| h * HOUR + 1);
        let incremental = shown(&store.metrics().report(&pkg, as_of.map(Timestamp)));
        prop_assert_eq!(&incremental, &recomputed(&items, as_of));
        // And what a store computes from the records alone.
        let mut again = store.clone();
        again.rebuild_metrics(&pkg, &tables).unwrap();
        prop_assert_eq!(&incremental, &shown(&again.metrics().report(&pkg, as_of.map(Timestamp))));
    }
}
