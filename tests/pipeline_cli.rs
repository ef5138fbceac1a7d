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
            shown.push(serde_json::json!([
                v["event"],
                v["rejections"],
                v["status"],
                l["trace"],
                l["outcome"],
                l["package_version"]
            ]));
        }
        seen.push((text(&out.stdout), shown));
        let _ = std::fs::remove_dir_all(&state);
    }
    assert_eq!(seen[0].0, seen[1].0, "outcome lines");
    assert_eq!(seen[0].1, seen[1].1, "exceptions and their lineage");
}

/// `run` and `process` read input alike (one reader): a byte-order mark,
/// CRLF line endings, blank lines and a line that is not UTF-8.
#[test]
fn run_and_process_read_input_alike() {
    let dir = temp("input");
    std::fs::create_dir_all(&dir).unwrap();
    let events = std::fs::read(format!("{EXAMPLE}/events.jsonl")).unwrap();
    let mut input = b"\xEF\xBB\xBF".to_vec();
    for (i, line) in events.split(|b| *b == b'\n').filter(|l| !l.is_empty()).take(6).enumerate() {
        input.extend_from_slice(line);
        input.extend_from_slice(if i % 2 == 0 { b"\r\n" } else { b"\n" });
        if i == 2 {
            input.extend_from_slice(b" \t\r\n\n{\"id\":\"\xFF\"}\n");
        }
    }
    let file = dir.join("events.jsonl");
    std::fs::write(&file, &input).unwrap();
    for engine in ["jit", "interp"] {
        let run = canon(&["run", EXAMPLE, "--input", p(&file), "--engine", engine]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        let state = dir.join(format!("state-{engine}"));
        let out = canon(&["process", EXAMPLE, "--input", p(&file), "--state", p(&state), "--engine", engine]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), text(&run.stdout));
        let outcomes: Vec<Json> = text(&run.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let lines: Vec<u64> = outcomes.iter().map(|o| o["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, [1, 2, 3, 6, 7, 8, 9], "blank lines keep their numbers");
        assert_ne!(outcomes[0]["status"], "invalid", "the byte-order mark is not part of the first event");
        assert_eq!(outcomes[3]["rejections"][0]["message"], "the line is not valid UTF-8");
    }
    let _ = std::fs::remove_dir_all(&dir);
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
            ["entities[UK01]", "limits[UK01, GBP]", "entities[UK01]", "limits[UK01, USD]", "entities[SG01]",],
            "{engine}"
        );
        let _ = std::fs::remove_dir_all(&state);
    }
}

/// `canon` with extra environment variables.
fn canon_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A copy of the timesheet example's sources and data in `dir`, with `toml`
/// as its canon.toml.
fn package_with(dir: &Path, toml: &str) {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    for entry in std::fs::read_dir(EXAMPLE).unwrap() {
        let f = entry.unwrap().path();
        if f.extension().is_some_and(|x| x == "canon") {
            std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
        }
    }
    for f in ["projects.csv", "fx.csv"] {
        std::fs::copy(Path::new(EXAMPLE).join("data").join(f), dir.join("data").join(f)).unwrap();
    }
    std::fs::write(dir.join("canon.toml"), toml).unwrap();
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Each request's headers (name, value), in order.
type Requests = Vec<Vec<(String, String)>>;

/// A local server that answers every request 500, keeping each request's headers.
fn failing_server() -> (String, std::sync::Arc<tiny_http::Server>, std::thread::JoinHandle<Requests>) {
    let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let port = server.server_addr().to_ip().unwrap().port();
    let srv = server.clone();
    let thread = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..500 {
            let Ok(Some(req)) = srv.recv_timeout(std::time::Duration::from_secs(30)) else { break };
            seen.push(req.headers().iter().map(|h| (h.field.to_string(), h.value.to_string())).collect());
            let _ = req.respond(tiny_http::Response::from_string("down").with_status_code(500));
        }
        seen
    });
    (format!("http://127.0.0.1:{port}/postings"), server, thread)
}

/// A port on 127.0.0.1 where nothing listens (connections are refused).
fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/payables?key=")
}

/// Secrets from the environment and from a file reach the server, and no
/// output of any command, nor any byte of the state directory, holds them,
/// though the server fails (500) and the other sink refuses connections.
#[test]
fn secrets_are_sent_and_never_printed_or_stored() {
    let root = temp("secrets");
    let pkg = root.join("pkg");
    let env_token = format!("env-tok-{}-q7Zx", std::process::id());
    let file_token = format!("file-tok-{}-W3rk", std::process::id());
    let url_token = format!("url-tok-{}-Pm4v", std::process::id());
    let secret_file = root.join("payroll.secret");
    let (erp_url, server, thread) = failing_server();
    let payroll_url = format!("{}{url_token}", refused_url());
    package_with(
        &pkg,
        &format!(
            r#"
[sinks.erp_posting]
type = "http"
url = "{erp_url}"
max_attempts = 2
initial_backoff_ms = 5
max_backoff_ms = 10
timeout_ms = 5000
headers = {{ Authorization = {{ env = "CANON_TEST_ERP_TOKEN", prefix = "Bearer " }} }}

[sinks.payroll_staging]
type = "http"
url = {{ env = "CANON_TEST_PAYROLL_URL" }}
max_attempts = 2
initial_backoff_ms = 5
max_backoff_ms = 10
timeout_ms = 5000
headers = {{ X-Api-Key = {{ file = "{}" }} }}
"#,
            secret_file.display()
        ),
    );
    std::fs::write(&secret_file, format!("{file_token}\n")).unwrap();
    set_mode(&secret_file, 0o600);
    let env = [("CANON_TEST_ERP_TOKEN", env_token.as_str()), ("CANON_TEST_PAYROLL_URL", payroll_url.as_str())];
    let state = root.join("state");
    let events = format!("{EXAMPLE}/events.jsonl");
    let mut outputs = Vec::new();
    let out = canon_env(&["process", p(&pkg), "--input", &events, "--state", p(&state)], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("dead-lettered"), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("warning: `"), "no literal secret: {}", text(&out.stderr));
    outputs.push(out);
    server.unblock();
    let requests = thread.join().unwrap();
    assert!(!requests.is_empty());
    for headers in &requests {
        let auth = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("Authorization"));
        assert_eq!(auth.map(|(_, v)| v.as_str()), Some(format!("Bearer {env_token}").as_str()), "{headers:?}");
    }
    // The errors kept name the headers sent, not their values.
    let db = rusqlite::Connection::open(state.join("state.db")).unwrap();
    let errors: Vec<String> = db
        .prepare("SELECT last_error FROM outbox WHERE state = 'dead'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(db);
    assert!(errors.iter().any(|e| e.contains("HTTP 500") && e.contains("Authorization")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("$CANON_TEST_PAYROLL_URL") && e.contains("X-Api-Key")), "{errors:?}");

    let list = canon_env(&["exceptions", "list", "--format", "json", "--state", p(&state)], &env);
    let items: Vec<Json> = serde_json::from_slice(&list.stdout).unwrap();
    assert!(!items.is_empty(), "the example has rejected events");
    let id = items[0]["id"].to_string();
    outputs.push(list);
    for args in [
        vec!["status"],
        vec!["status", "--format", "json"],
        vec!["exceptions", "list"],
        vec!["exceptions", "show", &id],
        vec!["exceptions", "show", &id, "--format", "json"],
        vec!["exceptions", "retry", "--all-open"],
        vec!["exceptions", "retry", "--all-open", "--format", "json"],
    ] {
        let mut a = args.clone();
        a.extend(["--state", p(&state)]);
        let out = canon_env(&a, &env);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        outputs.push(out);
    }
    // Again: all duplicates, and one more delivery-free run.
    let again = canon_env(&["process", p(&pkg), "--input", &events, "--state", p(&state)], &env);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    outputs.push(again);
    for secret in [&env_token, &file_token, &url_token] {
        for out in &outputs {
            assert!(!text(&out.stdout).contains(secret.as_str()), "{secret} in stdout:\n{}", text(&out.stdout));
            assert!(!text(&out.stderr).contains(secret.as_str()), "{secret} in stderr:\n{}", text(&out.stderr));
        }
        for file in files_under(&state) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} in {}", file.display());
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// A secret that cannot be had, or a secret file that others may read, is a
/// canon.toml error (1) naming the sink and the setting, before any event.
#[test]
fn missing_or_exposed_secrets_stop_before_any_event() {
    let root = temp("secrets-missing");
    let pkg = root.join("pkg");
    let state = root.join("state");
    let events = format!("{EXAMPLE}/events.jsonl");
    package_with(
        &pkg,
        "[sinks.erp_posting]\ntype = \"http\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { Authorization = { env = \"CANON_TEST_NOT_SET_ANYWHERE\" } }\n",
    );
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    for needle in
        ["canon.toml", "[sinks.erp_posting]", "header `Authorization`", "`CANON_TEST_NOT_SET_ANYWHERE` is not set"]
    {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    assert!(out.stdout.is_empty() && !state.exists(), "no event was processed");

    let secret_file = root.join("erp.secret");
    std::fs::write(&secret_file, "tok-readable-by-all\n").unwrap();
    set_mode(&secret_file, 0o644);
    package_with(
        &pkg,
        &format!(
            "[sinks.erp_posting]\ntype = \"http\"\nurl = \"http://127.0.0.1:9/\"\nheaders = {{ X-Api-Key = {{ file = \"{}\" }} }}\n",
            secret_file.display()
        ),
    );
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    for needle in ["[sinks.erp_posting]", "header `X-Api-Key`", &format!("chmod 600 {}", secret_file.display())] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    assert!(!err.contains("tok-readable-by-all"), "{err}");
    assert!(out.stdout.is_empty() && !state.exists(), "no event was processed");
    let _ = std::fs::remove_dir_all(&root);
}

/// A literal `Authorization` header is a warning, printed once, naming the
/// file, the sink and the header, and an error under --strict-secrets.
#[test]
fn a_literal_authorization_header_warns_and_is_refused_under_strict_secrets() {
    let root = temp("secrets-literal");
    let pkg = root.join("pkg");
    let state = root.join("state");
    let events = format!("{EXAMPLE}/events.jsonl");
    package_with(
        &pkg,
        &format!(
            "[sinks.erp_posting]\ntype = \"http\"\nurl = \"{}\"\nmax_attempts = 1\nheaders = {{ Authorization = \"Bearer literal-tok-5521\" }}\n",
            refused_url()
        ),
    );
    let strict = canon(&["process", p(&pkg), "--input", &events, "--state", p(&state), "--strict-secrets"]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stderr));
    let err = text(&strict.stderr);
    assert!(err.contains("error: ") && err.contains("--strict-secrets"), "{err}");
    assert!(strict.stdout.is_empty() && !state.exists(), "no event was processed");

    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("header `Authorization`")).collect();
    assert_eq!(warnings.len(), 1, "once: {err}");
    for needle in ["warning: ", "canon.toml", "[sinks.erp_posting]", "env = \"ERP_POSTING_AUTHORIZATION\""] {
        assert!(warnings[0].contains(needle), "{needle} in {err}");
    }
    assert!(!err.contains("literal-tok-5521"), "{err}");
    let retry = canon(&["exceptions", "retry", "--all-open", "--strict-secrets", "--state", p(&state)]);
    assert_eq!(retry.status.code(), Some(1), "{}", text(&retry.stderr));
    let retry = canon(&["exceptions", "retry", "--all-open", "--state", p(&state)]);
    assert_eq!(retry.status.code(), Some(0), "{}", text(&retry.stderr));
    assert!(text(&retry.stderr).contains("warning: "), "{}", text(&retry.stderr));
    let _ = std::fs::remove_dir_all(&root);
}

/// A package with state over the timesheet events (`tests/pipeline_state`).
const STATEFUL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pipeline_state");
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/timesheets/events.jsonl");

/// The metrics part of `canon status`'s text (after the counts).
fn metrics_text(out: &Output) -> String {
    let t = text(&out.stdout);
    t.lines().skip_while(|l| !l.starts_with("metric ")).map(|l| format!("{l}\n")).collect()
}

#[test]
fn state_list_show_and_export_of_a_package_with_state() {
    let tmp = temp("state");
    std::fs::create_dir_all(&tmp).unwrap();
    let state = tmp.join("state");
    let first: String = std::fs::read_to_string(GOLDEN).unwrap().lines().take(2000).map(|l| format!("{l}\n")).collect();
    let rest: String = std::fs::read_to_string(GOLDEN).unwrap().lines().skip(2000).map(|l| format!("{l}\n")).collect();
    std::fs::write(tmp.join("first.jsonl"), &first).unwrap();
    std::fs::write(tmp.join("rest.jsonl"), &rest).unwrap();
    let out = canon(&["process", STATEFUL, "--input", p(&tmp.join("first.jsonl")), "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The outcomes of `canon run`, and its state.
    let run_state = tmp.join("run-state.jsonl");
    let run = canon(&["run", STATEFUL, "--input", p(&tmp.join("first.jsonl")), "--state-out", p(&run_state)]);
    assert_eq!(text(&out.stdout), text(&run.stdout));

    let list = canon(&["state", "list", "--state", p(&state)]);
    assert_eq!(list.status.code(), Some(0), "{}", text(&list.stderr));
    assert_eq!(text(&list.stdout), "people  1,620 record(s)\nsheets  2,000 record(s)\n");
    let list = canon(&["state", "list", "--format", "json", "--state", p(&state)]);
    let counts: Json = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(counts[1], serde_json::json!({"state": "sheets", "records": 2000, "declared": true}));

    let show = canon(&["state", "show", "sheets", "TS-00000001", "--format", "json", "--state", p(&state)]);
    assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
    let line = text(&show.stdout);
    assert!(
        std::fs::read_to_string(&run_state).unwrap().lines().any(|l| format!("{l}\n") == line),
        "a snapshot line: {line}"
    );
    let human = canon(&["state", "show", "people", "E01858", "--state", p(&state)]);
    assert!(text(&human.stdout).starts_with("people [\"E01858\"]\n{"), "{}", text(&human.stdout));
    for (args, code, message) in [
        (vec!["show", "sheets", "TS-nope"], 1, "state `sheets` has no record with key [\"TS-nope\"]"),
        (
            vec!["show", "sheets", "TS-1", "two"],
            2,
            "state `sheets` is keyed by 1 field(s) (id), and 2 value(s) were given",
        ),
        (vec!["show", "nope", "x"], 1, "the package declares no state `nope` (it has: people, sheets)"),
        (vec!["export", "nope"], 1, "the package declares no state `nope`"),
    ] {
        let mut all = vec!["state"];
        all.extend(args.iter());
        all.extend(["--state", p(&state)]);
        let out = canon(&all);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(message), "{args:?}: {}", text(&out.stderr));
    }

    // `export` prints what `canon run --state-out` writes...
    let export = canon(&["state", "export", "--state", p(&state)]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    assert_eq!(text(&export.stdout), std::fs::read_to_string(&run_state).unwrap());
    let only = canon(&["state", "export", "sheets", "--state", p(&state)]);
    let sheets: String =
        text(&export.stdout).lines().filter(|l| l.contains("\"state\":\"sheets\"")).map(|l| format!("{l}\n")).collect();
    assert_eq!(text(&only.stdout), sheets);
    // ...which `canon run --state-in` reads: continuing there gives what
    // `canon process` gives when it goes on.
    let exported = tmp.join("exported.jsonl");
    std::fs::write(&exported, &export.stdout).unwrap();
    let after_run = tmp.join("after-run.jsonl");
    let run = canon(&[
        "run",
        STATEFUL,
        "--input",
        p(&tmp.join("rest.jsonl")),
        "--state-in",
        p(&exported),
        "--state-out",
        p(&after_run),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let more = canon(&["process", STATEFUL, "--input", p(&tmp.join("rest.jsonl")), "--state", p(&state)]);
    assert_eq!(more.status.code(), Some(0), "{}", text(&more.stderr));
    let renumbered = |s: &str| -> Vec<Json> {
        s.lines()
            .map(|l| {
                let mut v: Json = serde_json::from_str(l).unwrap();
                v["line"] = Json::Null;
                v
            })
            .collect()
    };
    assert_eq!(renumbered(&text(&more.stdout)), renumbered(&text(&run.stdout)));
    let export = canon(&["state", "export", "--state", p(&state)]);
    assert_eq!(text(&export.stdout), std::fs::read_to_string(&after_run).unwrap());
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn status_shows_the_metrics_of_a_package_with_state() {
    let tmp = temp("metrics");
    let state = tmp.join("state");
    let out = canon(&["process", STATEFUL, "--input", GOLDEN, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let at = "2026-11-20T00:00:00Z";
    let human = canon(&["status", "--as-of", at, "--state", p(&state)]);
    assert_eq!(human.status.code(), Some(0), "{}", text(&human.stderr));
    insta::assert_snapshot!("status_metrics_as_of", metrics_text(&human));
    // Without an instant, the aged metric has no value.
    let human = canon(&["status", "--state", p(&state)]);
    assert!(metrics_text(&human).ends_with("metric stale_hours\n  needs --as-of\n"), "{}", metrics_text(&human));
    let json = canon(&["status", "--format", "json", "--state", p(&state)]);
    let s: Json = serde_json::from_slice(&json.stdout).unwrap();
    let metrics = s["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 6);
    assert_eq!(metrics[5], serde_json::json!({"name": "stale_hours", "groups": null}));
    assert_eq!(metrics[3], serde_json::json!({"name": "sheet_count", "groups": [{"by": {}, "value": 3000}]}));
    let json = canon(&["status", "--format", "json", "--as-of", at, "--state", p(&state)]);
    let s: Json = serde_json::from_slice(&json.stdout).unwrap();
    insta::assert_snapshot!("status_metrics_json", serde_json::to_string_pretty(&s["metrics"]).unwrap());
    // A Money sum: one amount per currency, sorted by currency.
    let pay = &s["metrics"][1]["groups"][0];
    assert_eq!(pay["by"], serde_json::json!({"role": "Associate"}));
    let currencies: Vec<&str> =
        pay["value"].as_array().unwrap().iter().map(|m| m["currency"].as_str().unwrap()).collect();
    assert_eq!(currencies, ["EUR", "GBP", "USD"]);

    // A bad instant is a usage error.
    for bad in ["yesterday", "2026-11-20", "2026-13-01T00:00:00Z"] {
        let out = canon(&["status", "--as-of", bad, "--state", p(&state)]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(text(&out.stderr).contains("is not an RFC 3339 timestamp"), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty());
    }
    // A stateless package's state has no metrics.
    let plain = tmp.join("plain");
    let out =
        canon(&["process", "examples/expenses", "--input", "examples/expenses/events.jsonl", "--state", p(&plain)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = canon(&["status", "--format", "json", "--state", p(&plain)]);
    let s: Json = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(s["metrics"], serde_json::json!([]));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn status_without_its_package_shows_the_counts_and_says_why_there_are_no_metrics() {
    let tmp = temp("no-package");
    let pkg = tmp.join("hours");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::copy(format!("{STATEFUL}/hours.canon"), pkg.join("hours.canon")).unwrap();
    let state = tmp.join("state");
    let events: String = std::fs::read_to_string(GOLDEN).unwrap().lines().take(20).map(|l| format!("{l}\n")).collect();
    std::fs::write(tmp.join("events.jsonl"), events).unwrap();
    let out = canon(&["process", p(&pkg), "--input", p(&tmp.join("events.jsonl")), "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The package now has an error: `canon state` refuses, status warns.
    std::fs::write(pkg.join("broken.canon"), "record {").unwrap();
    let list = canon(&["state", "list", "--state", p(&state)]);
    assert_eq!(list.status.code(), Some(1));
    assert!(text(&list.stderr).contains("has errors"), "{}", text(&list.stderr));
    let status = canon(&["status", "--format", "json", "--state", p(&state)]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    let s: Json = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["metrics"], Json::Null);
    assert_eq!(s["runs"]["count"], 1);
    assert!(text(&status.stderr).contains("its metrics are not shown"), "{}", text(&status.stderr));
    // Gone: the same, and `--package` names another copy.
    std::fs::remove_dir_all(&pkg).unwrap();
    let status = canon(&["status", "--state", p(&state)]);
    assert_eq!(status.status.code(), Some(0));
    assert!(text(&status.stderr).contains("give it with --package PKG"), "{}", text(&status.stderr));
    let elsewhere = tmp.join("elsewhere").join("hours");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::copy(format!("{STATEFUL}/hours.canon"), elsewhere.join("hours.canon")).unwrap();
    let list = canon(&["state", "list", "--package", p(&elsewhere), "--state", p(&state)]);
    assert_eq!(list.status.code(), Some(0), "{}", text(&list.stderr));
    assert_eq!(text(&list.stdout), "people  20 record(s)\nsheets  20 record(s)\n");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A destination family (LANGUAGE.md §4.3): each member its own sink, its own
/// file by default, bound by a family pattern or on its own in `canon.toml`,
/// its own line in `canon status`; binding some members and not the others
/// is refused before any event is read (E0635).
#[test]
fn destination_family_members_are_sinks_of_their_own() {
    let case = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/r01-route-family-run");
    let pkg = temp("family-pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::copy(format!("{case}/posting.canon"), pkg.join("posting.canon")).unwrap();
    let events = format!("{case}/events.jsonl");
    let lines = |path: &Path| -> Vec<Json> {
        std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };

    // No canon.toml: every member to `out/<member>.jsonl`.
    let state = temp("family-default");
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let eu = lines(&state.join("out/erp.eu.jsonl"));
    assert_eq!(eu.len(), 1);
    assert_eq!(eu[0]["record"]["entity"], "eu");
    assert_eq!(lines(&state.join("out/erp.apac.jsonl")).len(), 2, "one routed by value, one to the literal member");
    assert_eq!(lines(&state.join("out/audit.Fixed.jsonl")).len(), 1);
    assert!(!state.join("out/erp.jsonl").exists());
    let status = canon(&["status", "--state", p(&state), "--format", "json"]);
    let status: Json = serde_json::from_slice(&status.stdout).unwrap();
    for (member, accepted) in [("erp.eu", 1), ("erp.us", 1), ("erp.apac", 2), ("audit.Fixed", 1), ("log", 2)] {
        assert_eq!(status["destinations"][member]["delivered"], accepted, "{member}: {status}");
    }

    // A family pattern and a member bound on its own.
    std::fs::write(
        pkg.join("canon.toml"),
        "[sinks.erp]\npath = \"ledgers/{member}.jsonl\"\n\n[sinks.\"erp.us\"]\npath = \"us-ledger.jsonl\"\n",
    )
    .unwrap();
    let state = temp("family-bound");
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&state)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(lines(&state.join("ledgers/eu.jsonl")).len(), 1);
    assert_eq!(lines(&state.join("ledgers/apac.jsonl")).len(), 2);
    assert_eq!(lines(&state.join("us-ledger.jsonl")).len(), 1);
    assert!(!state.join("ledgers/us.jsonl").exists());

    // Some members bound, the others not, no family binding: refused.
    std::fs::write(pkg.join("canon.toml"), "[sinks.\"erp.eu\"]\npath = \"eu.jsonl\"\n").unwrap();
    let state = temp("family-partial");
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&state)]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("E0635") && err.contains("`erp.us`, `erp.apac`"), "{err}");
    assert!(out.stdout.is_empty(), "nothing is read: {}", text(&out.stdout));

    // A family's file pattern must tell the members apart.
    std::fs::write(pkg.join("canon.toml"), "[sinks.erp]\npath = \"all.jsonl\"\n").unwrap();
    let out = canon(&["process", p(&pkg), "--input", &events, "--state", p(&temp("family-same"))]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("{member}"), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&pkg);
}
