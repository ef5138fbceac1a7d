//! Rule versions in the pipeline (RUNTIME.md §3.1, §4): the `[package]`
//! table of `canon.toml` stamped into every outcome's lineage, each
//! exception and its earlier evaluations, and the reconciliation; a state
//! of schema 5 upgraded. Real SQLite state directories, on the timesheet
//! example.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use canon_pipeline::exceptions::{self, Filter, Selection};
use canon_pipeline::{process, Options, Rules, State};
use serde_json::Value as Json;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/timesheets");

/// A copy of the timesheet example's sources and data, with `canon_toml`
/// as its `canon.toml` (none for `None`).
fn package(tmp: &Path, canon_toml: Option<&str>) -> PathBuf {
    let dir = tmp.join("pkg");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    for entry in std::fs::read_dir(EXAMPLE).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "canon") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    for f in ["projects.csv", "fx.csv"] {
        std::fs::copy(Path::new(EXAMPLE).join("data").join(f), dir.join("data").join(f)).unwrap();
    }
    set_manifest(&dir, canon_toml);
    dir
}

fn set_manifest(dir: &Path, canon_toml: Option<&str>) {
    match canon_toml {
        Some(text) => std::fs::write(dir.join("canon.toml"), text).unwrap(),
        None => {
            let _ = std::fs::remove_file(dir.join("canon.toml"));
        }
    }
}

fn manifest(version: &str) -> String {
    format!(
        "[package]\nname = \"timesheets\"\nversion = \"{version}\"\nowner = \"finance-systems@example.com\"\neffective_from = 2026-01-01\n"
    )
}

fn rules(pkg: &Path) -> Rules {
    let loaded = canon_runtime::load(pkg).unwrap();
    assert!(!loaded.has_errors());
    let data = loaded.data_dir();
    let tables = canon_runtime::Tables::load(&loaded.package(), &data, false).unwrap();
    Rules::new(&loaded, tables, &data, canon_jit::Backend::Jit).unwrap()
}

fn run(state: &mut State, rules: &Rules, input: &str) -> canon_pipeline::Summary {
    let opts =
        Options { batch_events: 16, batch_latency: Duration::from_millis(50), input_name: "test".into(), workers: 2 };
    let input = Box::new(std::io::Cursor::new(input.to_string().into_bytes()));
    process(state, rules, input, &mut Vec::new(), &opts, &mut |_| {}).unwrap()
}

fn sample_events() -> String {
    std::fs::read_to_string(Path::new(EXAMPLE).join("events.jsonl")).unwrap()
}

fn json(v: impl serde::Serialize) -> Json {
    serde_json::to_value(v).unwrap()
}

/// The label of the rules that decided each recorded outcome, through the
/// ledger's reference to its package version.
fn labels_of_events(state: &State) -> Vec<(String, Option<String>, i64)> {
    state
        .connection()
        .prepare(
            "SELECT e.status, v.rules_name || '@' || v.rules_version, v.rules_recorded
             FROM events e JOIN package_versions v ON v.id = e.package_version ORDER BY e.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn the_version_is_in_every_outcomes_lineage_the_exceptions_and_the_status() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path(), Some(&manifest("1.0.0")));
    let v1 = rules(&pkg);
    assert_eq!(v1.release.label, "timesheets@1.0.0");
    let mut state = State::open(&tmp.path().join("state")).unwrap();
    let s = run(&mut state, &v1, &sample_events());
    assert!(s.counts.accepted > 0 && s.counts.rejected > 0, "{:?}", s.counts);

    let events = labels_of_events(&state);
    assert_eq!(events.len() as u64, s.counts.total() - s.counts.duplicate);
    for (status, label, recorded) in &events {
        assert_eq!((label.as_deref(), *recorded), (Some("timesheets@1.0.0"), 1), "a {status} event");
    }

    let items = exceptions::list(&state, &Filter::default()).unwrap();
    assert_eq!(items.len() as u64, s.counts.rejected + s.counts.invalid);
    let first = json(&items[0]);
    assert_eq!(
        first["rules"],
        serde_json::json!({
            "label": "timesheets@1.0.0",
            "name": "timesheets",
            "version": "1.0.0",
            "owner": "finance-systems@example.com",
            "effective_from": "2026-01-01"
        })
    );
    assert_eq!(first["package_version"].as_str().unwrap(), v1.version);
    let shown = json(exceptions::show(&state, items[0].id).unwrap());
    assert_eq!(shown["lineage"]["rules"], first["rules"]);
    assert_eq!(shown["lineage"]["package_version"].as_str().unwrap(), v1.version);

    // A new version of the same sources: another package version, and a
    // retry's earlier evaluation keeps the version that decided it.
    set_manifest(&pkg, Some(&manifest("1.1.0")));
    let v2 = rules(&pkg);
    assert_ne!(v2.version, v1.version, "[package] is part of the content hash");
    drop(state);
    let mut state = State::open_existing(&tmp.path().join("state")).unwrap();
    exceptions::retry(&mut state, &v2, Selection::One(items[0].id)).unwrap();
    let shown = json(exceptions::show(&state, items[0].id).unwrap());
    assert_eq!(shown["lineage"]["rules"]["label"], "timesheets@1.1.0");
    assert_eq!(shown["lineage"]["package_version"].as_str().unwrap(), v2.version);
    assert_eq!(shown["history"][0]["rules"]["label"], "timesheets@1.0.0");
    assert_eq!(shown["history"][0]["package_version"].as_str().unwrap(), v1.version);
    // The other items were not evaluated again.
    assert_eq!(json(&exceptions::list(&state, &Filter::default()).unwrap()[1])["rules"]["label"], "timesheets@1.0.0");

    let st = json(canon_pipeline::status::status(&state).unwrap());
    let seen: Vec<&str> =
        st["package_versions"].as_array().unwrap().iter().map(|v| v["rules"]["label"].as_str().unwrap()).collect();
    assert_eq!(seen, ["timesheets@1.0.0", "timesheets@1.1.0"]);
    assert_eq!(st["runs"]["last"]["rules"]["label"], "timesheets@1.1.0");
    assert_eq!(st["schema_version"], canon_pipeline::state::SCHEMA_VERSION);
}

#[test]
fn an_unversioned_package_says_so_and_keeps_its_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path(), None);
    let plain = rules(&pkg);
    assert_eq!(plain.release.label, "unversioned");
    // The hash of a package without [package] is what it was before [package] existed.
    let loaded = canon_runtime::load(&pkg).unwrap();
    let data = loaded.data_dir();
    let without = canon_pipeline::version::package_version(&loaded.sources, &loaded.package(), &data, None).unwrap();
    assert_eq!(plain.version, without);
    // A canon.toml with sinks and no [package] is unversioned too.
    set_manifest(&pkg, Some("[sinks.erp_posting]\npath = \"out/erp.jsonl\"\n"));
    assert_eq!(rules(&pkg).release.label, "unversioned");
    set_manifest(&pkg, None);

    let mut state = State::open(&tmp.path().join("state")).unwrap();
    run(&mut state, &plain, &sample_events());
    for (_, label, recorded) in labels_of_events(&state) {
        assert_eq!((label, recorded), (None, 1));
    }
    let items = exceptions::list(&state, &Filter::default()).unwrap();
    assert!(!items.is_empty());
    assert_eq!(
        json(&items[0])["rules"],
        serde_json::json!({"label": "unversioned", "name": null, "version": null, "owner": null, "effective_from": null})
    );
}

#[test]
fn a_state_of_schema_5_is_upgraded_and_its_old_versions_are_unrecorded_until_seen_again() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path(), Some(&manifest("1.0.0")));
    let v1 = rules(&pkg);
    let state_dir = tmp.path().join("state");
    let events = sample_events();
    let first_half: String = events.lines().take(25).map(|l| format!("{l}\n")).collect();
    {
        let mut state = State::open(&state_dir).unwrap();
        run(&mut state, &v1, &first_half);
        // As schema 5 wrote it: no rule authors' versions.
        state
            .connection()
            .execute_batch(
                "ALTER TABLE package_versions DROP COLUMN rules_recorded;
                 ALTER TABLE package_versions DROP COLUMN rules_name;
                 ALTER TABLE package_versions DROP COLUMN rules_version;
                 ALTER TABLE package_versions DROP COLUMN rules_owner;
                 ALTER TABLE package_versions DROP COLUMN rules_effective_from;
                 UPDATE canon_schema SET version = 5;",
            )
            .unwrap();
    }
    let state = State::open_existing(&state_dir).unwrap();
    let version: i64 = state.connection().query_row("SELECT version FROM canon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(version, canon_pipeline::state::SCHEMA_VERSION);
    let before = exceptions::list(&state, &Filter::default()).unwrap();
    assert!(!before.is_empty());
    for item in &before {
        assert_eq!(json(item)["rules"]["label"], "unrecorded", "not known before the upgrade");
    }
    assert_eq!(json(exceptions::show(&state, before[0].id).unwrap())["lineage"]["rules"]["label"], "unrecorded");
    drop(state);

    // The same package version seen again learns its release; a new one has it from the start.
    let mut state = State::open(&state_dir).unwrap();
    let s = run(&mut state, &v1, &events);
    assert_eq!(s.counts.duplicate, 25, "the ledger of schema 5 still counts");
    for (_, label, _) in labels_of_events(&state) {
        assert_eq!(label.as_deref(), Some("timesheets@1.0.0"));
    }
    let after = exceptions::list(&state, &Filter::default()).unwrap();
    assert!(after.len() > before.len());
    assert!(after.iter().all(|i| i.rules.label == "timesheets@1.0.0"));
}
