//! `canon process`, `canon exceptions` and `canon status` end to end: their
//! output and exit statuses (RUNTIME.md §3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/timesheets");

fn canon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-pipeline-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn process_then_work_the_queue() {
    let state = temp("queue");
    let events = format!("{EXAMPLE}/events.jsonl");
    let out = canon(&["process", EXAMPLE, "--input", &events, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "quiet when not on a terminal: {}", text(&out.stderr));
    let outcomes: Vec<Json> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // The same outcome lines as `canon run`.
    let run = canon(&["run", EXAMPLE, "--input", &events]);
    assert_eq!(text(&out.stdout), text(&run.stdout));
    let rejected: Vec<&Json> = outcomes.iter().filter(|o| o["status"] == "rejected").collect();

    let list = canon(&["exceptions", "list", "--format", "json", "--state", p(&state)]);
    assert_eq!(list.status.code(), Some(0));
    let items: Vec<Json> = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(items.len(), rejected.len());
    for key in ["id", "event_id", "correlation_id", "status", "rejections", "package_version", "received_at"] {
        assert!(items[0].get(key).is_some(), "{key} in {}", items[0]);
    }
    let code = items[0]["rejections"][0]["code"].as_str().unwrap().to_string();
    let by_code = canon(&["exceptions", "list", "--code", &code, "--format", "json", "--state", p(&state)]);
    let filtered: Vec<Json> = serde_json::from_slice(&by_code.stdout).unwrap();
    assert!(!filtered.is_empty() && filtered.len() < items.len());
    assert!(filtered.iter().all(|i| i["rejections"].as_array().unwrap().iter().any(|r| r["code"] == code.as_str())));
    let human = canon(&["exceptions", "list", "--state", p(&state)]);
    assert!(text(&human.stdout).starts_with("ID"), "{}", text(&human.stdout));

    let id = items[0]["id"].to_string();
    let show = canon(&["exceptions", "show", &id, "--state", p(&state)]);
    assert_eq!(show.status.code(), Some(0));
    let shown = text(&show.stdout);
    for needle in [
        "rejections",
        "lineage",
        "lookup projects[",
        "posting.canon:",
        "package",
        items[0]["event_id"].as_str().unwrap(),
    ] {
        assert!(shown.contains(needle), "{needle} in\n{shown}");
    }
    let missing = canon(&["exceptions", "show", "999999", "--state", p(&state)]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("exception 999999 not found"));

    let resolve = canon(&["exceptions", "resolve", &id, "--note", "posted by hand", "--state", p(&state)]);
    assert_eq!(resolve.status.code(), Some(0), "{}", text(&resolve.stderr));
    let again = canon(&["exceptions", "resolve", &id, "--note", "again", "--state", p(&state)]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already resolved"));
    let open = canon(&["exceptions", "list", "--status", "open", "--format", "json", "--state", p(&state)]);
    assert_eq!(serde_json::from_slice::<Vec<Json>>(&open.stdout).unwrap().len(), rejected.len() - 1);

    // Nothing changed in the data: every open item stays open.
    let retry = canon(&["exceptions", "retry", "--all-open", "--state", p(&state)]);
    assert_eq!(retry.status.code(), Some(0), "{}", text(&retry.stderr));
    assert!(
        text(&retry.stdout).contains(&format!("0 resolved, {} still open", rejected.len() - 1)),
        "{}",
        text(&retry.stdout)
    );
    let retry_missing = canon(&["exceptions", "retry", "999999", EXAMPLE, "--state", p(&state)]);
    assert_eq!(retry_missing.status.code(), Some(1));

    let status = canon(&["status", "--format", "json", "--state", p(&state)]);
    assert_eq!(status.status.code(), Some(0));
    let s: Json = serde_json::from_slice(&status.stdout).unwrap();
    let by_type = &s["events"]["by_type"]["com.acme.timesheet.approved"];
    assert_eq!(by_type["rejected"].as_u64().unwrap() as usize, rejected.len());
    assert_eq!(s["exceptions"]["resolved_by_note"], 1);
    let emits: usize = outcomes.iter().map(|o| o["emits"].as_array().unwrap().len()).sum();
    let delivered: u64 =
        s["destinations"].as_object().unwrap().values().map(|d| d["delivered"].as_u64().unwrap()).sum();
    assert_eq!(delivered as usize, emits);
    let human = canon(&["status", "--state", p(&state)]);
    assert!(text(&human.stdout).contains("erp_posting"), "{}", text(&human.stdout));

    // Again: every outcome is a duplicate.
    let again = canon(&["process", EXAMPLE, "--input", &events, "--state", p(&state)]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).lines().all(|l| l.contains("\"status\":\"duplicate\"")));
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn exit_statuses_of_bad_states_packages_and_inputs() {
    let state = temp("bad");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("state.db"), "this is not a database, it is a shopping list\n".repeat(200)).unwrap();
    let events = format!("{EXAMPLE}/events.jsonl");
    let out = canon(&["process", EXAMPLE, "--input", &events, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("corrupt or not a SQLite database"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    for args in [vec!["status"], vec!["exceptions", "list"]] {
        let mut a = args.clone();
        a.extend(["--state", p(&state)]);
        let out = canon(&a);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains("corrupt"), "{}", text(&out.stderr));
    }
    let missing = canon(&["status", "--state", p(&state.join("nowhere"))]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("holds no canon state"), "{}", text(&missing.stderr));

    // A package with errors, and a data error, are 1 as for `canon run`.
    let pkg = temp("pkg");
    std::fs::create_dir_all(pkg.join("data")).unwrap();
    std::fs::write(
        pkg.join("a.canon"),
        "event E as \"e\" { n: Int }\non E as e { check e.n > \"x\" else reject BAD \"b\" }\n",
    )
    .unwrap();
    let fresh = temp("fresh");
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&fresh)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    std::fs::write(
        pkg.join("a.canon"),
        "event E as \"e\" { n: Int }\nrecord R { n: Int }\ndestination d: R\non E as e { emit d R { n: e.n } }\n",
    )
    .unwrap();
    std::fs::write(pkg.join("canon.toml"), "[sinks.nowhere]\ntype = \"file\"\n").unwrap();
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&fresh)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no destination `nowhere`"), "{}", text(&out.stderr));
    std::fs::remove_file(pkg.join("canon.toml")).unwrap();
    let out = canon(&["process", p(&pkg), "--input", p(&pkg.join("missing.jsonl")), "--state", p(&fresh)]);
    assert_eq!(out.status.code(), Some(2));
    // Stdin works, and an event type without a handler is `ignored`.
    let mut child = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["process", p(&pkg), "--input", "-", "--state", p(&fresh)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, r#"{{"specversion":"1.0","id":"1","source":"s","type":"e","data":{{"n":2}}}}"#).unwrap();
        writeln!(stdin, r#"{{"specversion":"1.0","id":"2","source":"s","type":"other"}}"#).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<Json> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["status"], "accepted");
    assert_eq!(lines[1]["status"], "ignored");
    let sink = std::fs::read_to_string(fresh.join("out/d.jsonl")).unwrap();
    assert!(sink.contains(r#""event_id":"1","correlation_id":null,"record":{"n":2}"#), "{sink}");
    for d in [state, pkg, fresh] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// `canon process` evaluates with the JIT compiled with lineage by default:
/// `--engine interp` (the reference) gives the same outcomes, the same
/// exception queue and the same lineage of every exception.
#[test]
fn both_engines_record_the_same_lineage() {
    let events = format!("{EXAMPLE}/events.jsonl");
    let mut seen = Vec::new();
    for engine in ["jit", "interp"] {
        let state = temp(&format!("engine-{engine}"));
        let out = canon(&["process", EXAMPLE, "--input", &events, "--state", p(&state), "--engine", engine]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let list = canon(&["exceptions", "list", "--format", "json", "--state", p(&state)]);
        let items: Vec<Json> = serde_json::from_slice(&list.stdout).unwrap();
        assert!(!items.is_empty(), "the example has rejected events");
        let mut shown = Vec::new();
        for item in &items {
            let id = item["id"].to_string();
            let show = canon(&["exceptions", "show", &id, "--format", "json", "--state", p(&state)]);
            assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
            let v: Json = serde_json::from_slice(&show.stdout).unwrap();
            assert!(!v["lineage"]["trace"].as_array().map(|a| a.is_empty()).unwrap_or(true), "{v}");
            // What was decided and why; not when (the clock differs from run to run).
            let l = &v["lineage"];
            shown.push(serde_json::json!([v["event"], v["rejections"], v["status"], l["trace"], l["outcome"], l["package_version"]]));
        }
        seen.push((text(&out.stdout), shown));
        let _ = std::fs::remove_dir_all(&state);
    }
    assert_eq!(seen[0].0, seen[1].0, "outcome lines");
    assert_eq!(seen[0].1, seen[1].1, "exceptions and their lineage");
}

/// The stored lineage names a lookup's enum key by the variant's wire name
/// (`UK01`, not the variant's index), whichever engine evaluated it.
#[test]
fn stored_lineage_names_enum_keys_by_wire_name() {
    let case = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/c161-lookup-enum-key");
    let events = format!("{case}/events.jsonl");
    for engine in ["jit", "interp"] {
        let state = temp(&format!("enum-key-{engine}"));
        let out = canon(&["process", case, "--input", &events, "--state", p(&state), "--engine", engine]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let list = canon(&["exceptions", "list", "--format", "json", "--state", p(&state)]);
        let items: Vec<Json> = serde_json::from_slice(&list.stdout).unwrap();
        let mut lookups = Vec::new();
        for item in &items {
            let id = item["id"].to_string();
            let show = canon(&["exceptions", "show", &id, "--format", "json", "--state", p(&state)]);
            assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
            let v: Json = serde_json::from_slice(&show.stdout).unwrap();
            for step in v["lineage"]["trace"].as_array().unwrap() {
                if step["kind"] == "lookup" {
                    lookups.push(format!("{}[{}]", step["table"].as_str().unwrap(), step["key"].as_str().unwrap()));
                }
            }
            let human = text(&canon(&["exceptions", "show", &id, "--state", p(&state)]).stdout);
            assert!(human.contains("lookup entities[") && !human.contains("variant "), "{human}");
        }
        assert_eq!(
            lookups,
            [
                "entities[UK01]",
                "limits[UK01, GBP]",
                "entities[UK01]",
                "limits[UK01, USD]",
                "entities[SG01]",
            ],
            "{engine}"
        );
        let _ = std::fs::remove_dir_all(&state);
    }
}
