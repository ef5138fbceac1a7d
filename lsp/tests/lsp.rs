//! An in-process LSP client: drives `canon_lsp::service()` with JSON-RPC
//! requests and asserts on the responses and published diagnostics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::LspService;

const TYPES: &str = r#"/// The state of a project.
enum Status {
  /// Time can be booked.
  Open
  Closed
}

/// A project from the master data.
record Project {
  /// The project's code, as the ERP knows it.
  code: Text
  status: Status
}

event TimesheetApproved as "com.acme.timesheet.approved" {
  hours: Decimal
  project_code: Text as "projectCode"
}

record Posting { project: Text, hours: Decimal }

/// Journal lines for the ERP.
destination erp_posting: Posting
table projects: Project key code
"#;

const RULES: &str = r#"/// Doubles the hours.
fn double(h: Decimal) -> Decimal = h * 2

on TimesheetApproved as t {
  let project = projects[t.project_code]
  require project != none else reject UNKNOWN_PROJECT "no project {t.project_code}"
  check project.status == Open else reject CLOSED "clos€d 𝄞 {t.project_code}"
  let hours = double(round(t.hours, 2))
  emit erp_posting Posting { project: t.project_code, hours: hours }
}
"#;

struct Client {
    service: LspService<canon_lsp::server::Backend>,
    notes: Arc<Mutex<Vec<(String, Value)>>>,
    seen: HashMap<String, usize>,
    next_id: i64,
    dir: tempfile::TempDir,
    /// The server's answer to `initialize`.
    init: Value,
}

/// The 0-based line and UTF-16 column of the `nth` occurrence of `needle`, plus `delta` characters.
fn pos(text: &str, needle: &str, nth: usize, delta: usize) -> Value {
    let mut at = 0;
    let mut found = None;
    for _ in 0..=nth {
        let i = text[at..].find(needle).expect("needle in text") + at;
        found = Some(i);
        at = i + 1;
    }
    let off = found.expect("found");
    let line_start = text[..off].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = text[..off].matches('\n').count();
    let col: usize = text[line_start..off]
        .chars()
        .map(char::len_utf16)
        .sum::<usize>()
        + delta;
    json!({ "line": line, "character": col })
}

impl Client {
    async fn start(files: &[(&str, &str)]) -> Client {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let (service, mut socket) = canon_lsp::service();
        let notes = Arc::new(Mutex::new(Vec::new()));
        let sink = notes.clone();
        tokio::spawn(async move {
            while let Some(req) = socket.next().await {
                let (method, _, params) = req.into_parts();
                sink.lock()
                    .expect("lock")
                    .push((method.to_string(), params.unwrap_or(Value::Null)));
            }
        });
        let mut c = Client {
            service,
            notes,
            seen: HashMap::new(),
            next_id: 1,
            dir,
            init: Value::Null,
        };
        let root = c.uri("");
        let init = c
            .request("initialize", json!({ "capabilities": {}, "rootUri": root }))
            .await;
        assert_eq!(init["capabilities"]["hoverProvider"], json!(true));
        c.init = init;
        c.notify("initialized", json!({})).await;
        c
    }

    fn uri(&self, name: &str) -> String {
        let path = if name.is_empty() {
            self.dir.path().to_path_buf()
        } else {
            self.dir.path().join(name)
        };
        Uri::from_file_path(path).expect("uri").as_str().to_string()
    }

    async fn request(&mut self, method: &'static str, params: Value) -> Value {
        let req = Request::build(method)
            .params(params)
            .id(self.next_id)
            .finish();
        self.next_id += 1;
        let resp = self
            .service
            .ready()
            .await
            .expect("ready")
            .call(req)
            .await
            .expect("call")
            .expect("response");
        let (_, body) = resp.into_parts();
        body.expect("ok response")
    }

    async fn notify(&mut self, method: &'static str, params: Value) {
        let req = Request::build(method).params(params).finish();
        let resp = self
            .service
            .ready()
            .await
            .expect("ready")
            .call(req)
            .await
            .expect("call");
        assert!(resp.is_none());
    }

    async fn open(&mut self, name: &str, text: &str) {
        let uri = self.uri(name);
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "canon", "version": 1, "text": text } }),
        )
        .await;
    }

    async fn change(&mut self, name: &str, version: i32, text: &str) {
        let uri = self.uri(name);
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        )
        .await;
    }

    /// The next diagnostics published for a file (waits up to 5 s).
    async fn diagnostics(&mut self, name: &str) -> Vec<Value> {
        let uri = self.uri(name);
        let seen = self.seen.get(&uri).copied().unwrap_or(0);
        for _ in 0..500 {
            let found: Vec<Value> = {
                let notes = self.notes.lock().expect("lock");
                notes
                    .iter()
                    .filter(|(m, p)| {
                        m == "textDocument/publishDiagnostics" && p["uri"] == json!(uri)
                    })
                    .map(|(_, p)| p["diagnostics"].clone())
                    .collect()
            };
            if found.len() > seen {
                self.seen.insert(uri.clone(), found.len());
                return found
                    .last()
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no diagnostics published for {name}");
    }

    async fn at(&mut self, method: &'static str, name: &str, position: Value) -> Value {
        let uri = self.uri(name);
        self.request(
            method,
            json!({ "textDocument": { "uri": uri }, "position": position }),
        )
        .await
    }

    async fn hover(&mut self, name: &str, position: Value) -> String {
        let h = self.at("textDocument/hover", name, position).await;
        h["contents"]["value"].as_str().unwrap_or("").to_string()
    }

    async fn completion_labels(&mut self, name: &str, position: Value) -> Vec<String> {
        let r = self.at("textDocument/completion", name, position).await;
        r.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["label"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn package() -> Client {
    let mut c = Client::start(&[("types.canon", TYPES), ("rules.canon", RULES)]).await;
    c.open("rules.canon", RULES).await;
    c
}

#[tokio::test]
async fn clean_package_publishes_empty_diagnostics_for_every_file() {
    let mut c = package().await;
    assert_eq!(c.diagnostics("rules.canon").await, Vec::<Value>::new());
    assert_eq!(c.diagnostics("types.canon").await, Vec::<Value>::new());
}

#[tokio::test]
async fn diagnostics_as_you_type_with_code_help_and_utf16_range() {
    let mut c = package().await;
    c.diagnostics("rules.canon").await;
    let broken = RULES.replace("t.hours, 2", "t.hourz, 2");
    c.change("rules.canon", 2, &broken).await;
    let d = c.diagnostics("rules.canon").await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["code"], json!("E0103"));
    assert_eq!(d[0]["severity"], json!(1));
    let msg = d[0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("no field `hourz`") && msg.contains("help: did you mean `hours`?"),
        "{msg}"
    );
    let start = pos(&broken, "hourz", 0, 0);
    assert_eq!(d[0]["range"]["start"], start);
    // Fixing it clears the list.
    c.change("rules.canon", 3, RULES).await;
    assert_eq!(c.diagnostics("rules.canon").await, Vec::<Value>::new());
}

#[tokio::test]
async fn diagnostics_of_other_files_and_related_information() {
    let mut c = package().await;
    c.diagnostics("types.canon").await;
    // A second `double` in the open file is a duplicate of the one in rules.canon...
    let dup = format!("{TYPES}\nfn double(x: Int) -> Int = x\n");
    c.open("types.canon", &dup).await;
    let d = c.diagnostics("types.canon").await;
    let e = d
        .iter()
        .find(|d| d["code"] == json!("E0102"))
        .expect("E0102");
    let related = &e["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], json!(c.uri("rules.canon")));
    assert_eq!(related["message"], json!("first defined here"));
    assert_eq!(
        related["location"]["range"]["start"],
        pos(RULES, "double", 0, 0)
    );
}

#[tokio::test]
async fn hover_shows_builtin_docs_and_examples() {
    let mut c = package().await;
    let h = c.hover("rules.canon", pos(RULES, "round", 0, 1)).await;
    assert!(h.contains("round(Decimal, Int) -> Decimal"), "{h}");
    assert!(h.contains("half-even"), "{h}");
    assert!(
        h.contains("Examples:") && h.contains("round(2.675, 2)"),
        "{h}"
    );
}

#[tokio::test]
async fn hover_shows_declarations_with_docs() {
    let mut c = package().await;
    let h = c.hover("rules.canon", pos(RULES, "double", 1, 2)).await;
    assert!(h.contains("fn double(h: Decimal) -> Decimal"), "{h}");
    assert!(h.contains("Doubles the hours."), "{h}");
    let h = c
        .hover("rules.canon", pos(RULES, "erp_posting", 0, 0))
        .await;
    assert!(
        h.contains("destination erp_posting: Posting") && h.contains("Journal lines for the ERP."),
        "{h}"
    );
    let h = c.hover("rules.canon", pos(RULES, "Open", 0, 0)).await;
    assert!(
        h.contains("Status.Open") && h.contains("Time can be booked."),
        "{h}"
    );
    let h = c
        .hover("rules.canon", pos(RULES, "TimesheetApproved", 0, 0))
        .await;
    assert!(h.contains("event TimesheetApproved as"), "{h}");
}

#[tokio::test]
async fn hover_shows_types_of_lets_params_and_fields() {
    let mut c = package().await;
    let h = c.hover("rules.canon", pos(RULES, "project =", 0, 1)).await;
    assert!(h.contains("project: Project?"), "{h}");
    let h = c.hover("rules.canon", pos(RULES, "status ==", 0, 1)).await;
    assert!(h.contains("Project.status: Status"), "{h}");
    let h = c.hover("rules.canon", pos(RULES, "h: Decimal", 0, 0)).await;
    assert!(h.contains("h: Decimal"), "{h}");
    let h = c.hover("rules.canon", pos(RULES, "h * 2", 0, 0)).await;
    assert!(h.contains("h: Decimal"), "{h}");
    // A field after non-ASCII text on the same line (UTF-16 columns).
    let h = c
        .hover("rules.canon", pos(RULES, "project_code}\"\n  let", 0, 2))
        .await;
    assert!(h.contains("TimesheetApproved.project_code: Text"), "{h}");
    // Field docs.
    let h = c
        .hover("rules.canon", pos(RULES, "project: t.project_code", 0, 0))
        .await;
    assert!(h.contains("Posting.project"), "{h}");
}

#[tokio::test]
async fn go_to_definition_across_files() {
    let mut c = package().await;
    let types = c.uri("types.canon");
    let r = c
        .at(
            "textDocument/definition",
            "rules.canon",
            pos(RULES, "projects[", 0, 1),
        )
        .await;
    assert_eq!(r["uri"], json!(types));
    assert_eq!(r["range"]["start"], pos(TYPES, "projects", 0, 0));
    let r = c
        .at(
            "textDocument/definition",
            "rules.canon",
            pos(RULES, "status ==", 0, 0),
        )
        .await;
    assert_eq!(r["range"]["start"], pos(TYPES, "status: Status", 0, 0));
    let r = c
        .at(
            "textDocument/definition",
            "rules.canon",
            pos(RULES, "Open", 0, 0),
        )
        .await;
    assert_eq!(r["range"]["start"], pos(TYPES, "Open", 0, 0));
    let r = c
        .at(
            "textDocument/definition",
            "rules.canon",
            pos(RULES, "Posting {", 0, 0),
        )
        .await;
    assert_eq!(r["range"]["start"], pos(TYPES, "Posting {", 0, 0));
    // A local goes to its `let`.
    let r = c
        .at(
            "textDocument/definition",
            "rules.canon",
            pos(RULES, "hours: hours", 0, 7),
        )
        .await;
    assert_eq!(r["uri"], json!(c.uri("rules.canon")));
    assert_eq!(r["range"]["start"], pos(RULES, "hours = double", 0, 0));
}

#[tokio::test]
async fn find_references_of_fields_and_types() {
    let mut c = package().await;
    let uri = c.uri("types.canon");
    let r = c
        .request(
            "textDocument/references",
            json!({ "textDocument": { "uri": uri }, "position": pos(TYPES, "project_code", 0, 0),
                    "context": { "includeDeclaration": true } }),
        )
        .await;
    let locs = r.as_array().cloned().unwrap_or_default();
    // The declaration and four uses in rules.canon.
    assert_eq!(locs.len(), 5, "{locs:?}");
    let in_rules = locs
        .iter()
        .filter(|l| l["uri"] == json!(c.uri("rules.canon")))
        .count();
    assert_eq!(in_rules, 4);
    let r = c
        .request(
            "textDocument/references",
            json!({ "textDocument": { "uri": uri }, "position": pos(TYPES, "Project {", 0, 0),
                    "context": { "includeDeclaration": false } }),
        )
        .await;
    // `table projects: Project`.
    assert_eq!(r.as_array().map(Vec::len), Some(1), "{r}");
}

#[tokio::test]
async fn document_and_workspace_symbols() {
    let mut c = package().await;
    let uri = c.uri("types.canon");
    let r = c
        .request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
    let names: Vec<&str> = r
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Status",
            "Project",
            "TimesheetApproved",
            "Posting",
            "erp_posting",
            "projects"
        ]
    );
    let project = &r[1];
    let fields: Vec<&str> = project["children"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(fields, ["code", "status"]);
    let r = c
        .request("workspace/symbol", json!({ "query": "doub" }))
        .await;
    assert_eq!(r[0]["name"], json!("double"));
    assert_eq!(r[0]["location"]["uri"], json!(c.uri("rules.canon")));
}

#[tokio::test]
async fn completion_after_dot_lists_record_fields() {
    let mut c = package().await;
    let editing = RULES.replace(
        "  let hours = double",
        "  let x = project.\n  let hours = double",
    );
    c.change("rules.canon", 2, &editing).await;
    let labels = c
        .completion_labels("rules.canon", pos(&editing, "project.\n", 0, 8))
        .await;
    assert_eq!(labels, ["code", "status"]);
    let editing = RULES.replace(
        "  let hours = double",
        "  let x = t.pro\n  let hours = double",
    );
    c.change("rules.canon", 3, &editing).await;
    let labels = c
        .completion_labels("rules.canon", pos(&editing, "t.pro\n", 0, 5))
        .await;
    assert_eq!(labels, ["hours", "project_code"]);
    let editing = RULES.replace(
        "  require project",
        "  let y = project?.\n  require project",
    );
    c.change("rules.canon", 5, &editing).await;
    let labels = c
        .completion_labels("rules.canon", pos(&editing, "project?.\n", 0, 9))
        .await;
    assert_eq!(labels, ["code", "status"]);
    let editing = RULES.replace(
        "  let hours = double",
        "  let x = Status.\n  let hours = double",
    );
    c.change("rules.canon", 4, &editing).await;
    let labels = c
        .completion_labels("rules.canon", pos(&editing, "Status.\n", 0, 7))
        .await;
    assert_eq!(labels, ["Open", "Closed"]);
}

#[tokio::test]
async fn completion_of_keywords_builtins_variants_and_destinations() {
    let mut c = package().await;
    let editing = RULES.replace(
        "  emit erp_posting Posting",
        "  \n  emit erp_posting Posting",
    );
    c.change("rules.canon", 2, &editing).await;
    let labels = c
        .completion_labels("rules.canon", pos(&editing, "  \n  emit", 0, 2))
        .await;
    for want in [
        "let", "check", "require", "emit", "round", "Open", "double", "projects",
    ] {
        assert!(
            labels.iter().any(|l| l == want),
            "{want} missing from {labels:?}"
        );
    }
    let r = c
        .at(
            "textDocument/completion",
            "rules.canon",
            pos(&editing, "  \n  emit", 0, 2),
        )
        .await;
    let round = r
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["label"] == json!("round"))
        .cloned()
        .unwrap_or_default();
    assert!(
        round["detail"]
            .as_str()
            .unwrap_or("")
            .contains("round(Decimal, Int) -> Decimal"),
        "{round}"
    );
    let labels = c
        .completion_labels("rules.canon", pos(&editing, "erp_posting Posting", 0, 0))
        .await;
    assert_eq!(labels, ["erp_posting"]);
}

#[tokio::test]
async fn formatting_returns_the_canonical_layout() {
    let messy = "record   Posting {project: Text,hours: Decimal}\n";
    let mut c = Client::start(&[("a.canon", messy)]).await;
    c.open("a.canon", messy).await;
    let uri = c.uri("a.canon");
    let r = c
        .request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
        )
        .await;
    let expected = canon_compiler::fmt::format(messy).expect("formats");
    assert_eq!(r[0]["newText"], json!(expected));
    assert_eq!(r[0]["range"]["start"], json!({ "line": 0, "character": 0 }));
}

#[tokio::test]
async fn the_server_survives_garbage() {
    let mut c = package().await;
    c.diagnostics("rules.canon").await;
    let garbage = "}}}{{ on on on fn ( -> => |||| \"unterminated \u{0}\u{feff} é𝄞 @@@ decision | - || \n\t\r\n.?.?..";
    c.change("rules.canon", 2, garbage).await;
    let d = c.diagnostics("rules.canon").await;
    assert!(d.iter().any(|d| d["code"] == json!("E0001")), "{d:?}");
    for line in 0..3 {
        for character in [0, 1, 5, 40, 200] {
            let p = json!({ "line": line, "character": character });
            c.at("textDocument/hover", "rules.canon", p.clone()).await;
            c.at("textDocument/definition", "rules.canon", p.clone())
                .await;
            c.at("textDocument/completion", "rules.canon", p).await;
        }
    }
    let uri = c.uri("rules.canon");
    c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    )
    .await;
    c.request("textDocument/formatting", json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }))
        .await;
    // Half a file: the items that parse still get hover.
    let half = format!("{}\non TimesheetApproved as t {{\n  let x = t.\n", RULES);
    c.change("rules.canon", 3, &half).await;
    let h = c.hover("rules.canon", pos(&half, "round", 0, 1)).await;
    assert!(h.contains("round(Decimal, Int) -> Decimal"), "{h}");
    // And it still answers when the file is whole again.
    c.change("rules.canon", 4, RULES).await;
    assert_eq!(c.diagnostics("rules.canon").await, Vec::<Value>::new());
}

#[tokio::test]
async fn files_not_open_are_read_from_disk_and_watched() {
    let mut c = package().await;
    c.diagnostics("rules.canon").await;
    // A file created on disk joins the package...
    let extra = "fn triple(h: Decimal) -> Decimal = h * nope\n";
    std::fs::write(c.dir.path().join("extra.canon"), extra).expect("write");
    let uri = c.uri("extra.canon");
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri, "type": 1 }] }),
    )
    .await;
    let d = c.diagnostics("extra.canon").await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["code"], json!("E0101"));
    // ...and its declarations are visible from the others.
    let r = c
        .request("workspace/symbol", json!({ "query": "triple" }))
        .await;
    assert_eq!(r[0]["location"]["uri"], json!(uri));
    // Deleted, it leaves the package.
    std::fs::remove_file(c.dir.path().join("extra.canon")).expect("remove");
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri, "type": 3 }] }),
    )
    .await;
    c.diagnostics("rules.canon").await;
    let r = c
        .request("workspace/symbol", json!({ "query": "triple" }))
        .await;
    assert_eq!(r, json!([]));
}

#[tokio::test]
async fn closing_a_file_goes_back_to_the_disk_text() {
    let mut c = package().await;
    c.diagnostics("rules.canon").await;
    c.change("rules.canon", 2, "fn broken(").await;
    assert!(!c.diagnostics("rules.canon").await.is_empty());
    let uri = c.uri("rules.canon");
    c.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    )
    .await;
    assert_eq!(c.diagnostics("rules.canon").await, Vec::<Value>::new());
}

#[tokio::test]
async fn rename_changes_every_reference_across_files() {
    let mut c = package().await;
    let uri = c.uri("rules.canon");
    let r = c
        .request(
            "textDocument/rename",
            json!({ "textDocument": { "uri": uri }, "position": pos(RULES, "project_code}\"\n  check", 0, 0), "newName": "code_of_project" }),
        )
        .await;
    let changes = r["changes"].as_object().cloned().unwrap_or_default();
    assert_eq!(
        changes[&c.uri("rules.canon")].as_array().map(Vec::len),
        Some(4),
        "{r}"
    );
    let decl = &changes[&c.uri("types.canon")][0];
    assert_eq!(decl["range"]["start"], pos(TYPES, "project_code", 0, 0));
    assert_eq!(decl["newText"], json!("code_of_project"));
    // A local, within its item only.
    let r = c
        .request(
            "textDocument/rename",
            json!({ "textDocument": { "uri": uri }, "position": pos(RULES, "t.hours, 2", 0, 0), "newName": "ts" }),
        )
        .await;
    let edits = r["changes"][&uri].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 6, "{edits:?}");
    // A keyword is not a name.
    let req = tower_lsp_server::jsonrpc::Request::build("textDocument/rename")
        .params(json!({ "textDocument": { "uri": uri }, "position": pos(RULES, "double", 1, 0), "newName": "match" }))
        .id(999)
        .finish();
    let resp = c
        .service
        .ready()
        .await
        .expect("ready")
        .call(req)
        .await
        .expect("call")
        .expect("response");
    assert!(resp.into_parts().1.is_err());
}

#[tokio::test]
async fn signature_help_for_builtins_and_functions() {
    let mut c = package().await;
    let r = c
        .at(
            "textDocument/signatureHelp",
            "rules.canon",
            pos(RULES, "t.hours, 2", 0, 9),
        )
        .await;
    assert_eq!(
        r["signatures"][0]["label"],
        json!("round(Decimal, Int) -> Decimal")
    );
    assert_eq!(r["activeParameter"], json!(1));
    let r = c
        .at(
            "textDocument/signatureHelp",
            "rules.canon",
            pos(RULES, "round(", 0, 0),
        )
        .await;
    assert_eq!(
        r["signatures"][0]["label"],
        json!("fn double(h: Decimal) -> Decimal")
    );
    assert_eq!(r["activeParameter"], json!(0));
}

#[tokio::test]
async fn completion_of_record_literal_fields_not_yet_given() {
    let mut c = package().await;
    let editing = RULES.replace(
        "Posting { project: t.project_code, hours: hours }",
        "Posting { project: t.project_code, ",
    );
    c.change("rules.canon", 2, &editing).await;
    let labels = c
        .completion_labels("rules.canon", pos(&editing, "project_code, ", 0, 14))
        .await;
    assert_eq!(labels, ["hours"]);
    let editing = RULES.replace(
        "Posting { project: t.project_code, hours: hours }",
        "Posting {",
    );
    c.change("rules.canon", 3, &editing).await;
    let labels = c
        .completion_labels("rules.canon", pos(&editing, "Posting {", 0, 9))
        .await;
    assert_eq!(labels, ["project", "hours"]);
}

#[tokio::test]
async fn inlay_hints_and_folding_ranges() {
    let mut c = package().await;
    let uri = c.uri("rules.canon");
    let range =
        json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 99, "character": 0 } });
    let r = c
        .request(
            "textDocument/inlayHint",
            json!({ "textDocument": { "uri": uri }, "range": range }),
        )
        .await;
    let hints: Vec<(Value, Value)> = r
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| (h["position"].clone(), h["label"].clone()))
        .collect();
    assert_eq!(
        hints,
        [
            (pos(RULES, "project =", 0, 7), json!(": Project?")),
            (pos(RULES, "hours = double", 0, 5), json!(": Decimal")),
        ]
    );
    let r = c
        .request(
            "textDocument/foldingRange",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
    assert_eq!(r.as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r[0]["startLine"], json!(3));
    assert_eq!(r[0]["endLine"], json!(9));
}

/// Decodes semantic tokens to (line, column, length, type name).
fn decode_tokens(legend: &[String], data: &[Value]) -> Vec<(u64, u64, u64, String)> {
    let nums: Vec<u64> = data.iter().filter_map(Value::as_u64).collect();
    let (mut line, mut col) = (0, 0);
    let mut out = Vec::new();
    for t in nums.chunks(5) {
        if t[0] > 0 {
            line += t[0];
            col = t[1];
        } else {
            col += t[1];
        }
        out.push((line, col, t[2], legend[t[3] as usize].clone()));
    }
    out
}

#[tokio::test]
async fn semantic_tokens_full_and_range() {
    let mut c = package().await;
    let legend: Vec<String> = c.init["capabilities"]["semanticTokensProvider"]["legend"]
        ["tokenTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    let uri = c.uri("rules.canon");
    let r = c
        .request(
            "textDocument/semanticTokens/full",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
    let toks = decode_tokens(
        &legend,
        r["data"].as_array().map(Vec::as_slice).unwrap_or(&[]),
    );
    let at = |needle: &str, nth: usize| {
        let p = pos(RULES, needle, nth, 0);
        (
            p["line"].as_u64().unwrap_or(0),
            p["character"].as_u64().unwrap_or(0),
        )
    };
    let kind_at = |(l, col): (u64, u64)| {
        toks.iter()
            .find(|t| t.0 == l && t.1 == col)
            .map(|t| t.3.clone())
    };
    assert_eq!(kind_at(at("/// Doubles", 0)), Some("comment".into()));
    assert_eq!(kind_at(at("fn double", 0)), Some("keyword".into()));
    assert_eq!(kind_at(at("double", 0)), Some("function".into()));
    assert_eq!(kind_at(at("h: Decimal", 0)), Some("parameter".into()));
    assert_eq!(kind_at(at("TimesheetApproved", 0)), Some("type".into()));
    assert_eq!(kind_at(at("project_code", 0)), Some("property".into()));
    assert_eq!(kind_at(at("Open", 0)), Some("enumMember".into()));
    assert_eq!(kind_at(at("round", 0)), Some("function".into()));
    assert_eq!(kind_at(at("2))", 0)), Some("number".into()));
    assert_eq!(kind_at(at("\"no project", 0)), Some("string".into()));
    assert_eq!(kind_at(at("projects[", 0)), Some("variable".into()));
    // After the multi-byte characters of the string on its line, columns are UTF-16.
    let check_line = at("check project", 0).0;
    assert!(toks.iter().any(|t| t.0 == check_line && t.3 == "string"));
    let range =
        json!({ "start": { "line": 1, "character": 0 }, "end": { "line": 1, "character": 99 } });
    let r = c
        .request(
            "textDocument/semanticTokens/range",
            json!({ "textDocument": { "uri": uri }, "range": range }),
        )
        .await;
    let toks = decode_tokens(
        &legend,
        r["data"].as_array().map(Vec::as_slice).unwrap_or(&[]),
    );
    assert!(toks.iter().all(|t| t.0 == 1) && toks.len() >= 5, "{toks:?}");
}

/// Applies LSP text edits (UTF-16 positions) to a text.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let (line, ch) = (
            p["line"].as_u64().unwrap() as usize,
            p["character"].as_u64().unwrap() as usize,
        );
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= ch {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (a, b, t) in spans {
        out.replace_range(a..b, &t);
    }
    out
}

#[tokio::test]
async fn code_action_adds_missing_record_literal_fields() {
    let mut c = package().await;
    c.diagnostics("rules.canon").await;
    let uri = c.uri("rules.canon");
    for (version, (from, to)) in [
        (
            "Posting { project: t.project_code, hours: hours }",
            "Posting { project: t.project_code }",
        ),
        (
            "Posting { project: t.project_code, hours: hours }",
            "Posting {\n    project: t.project_code\n  }",
        ),
        (
            "Posting { project: t.project_code, hours: hours }",
            "Posting {}",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let broken = RULES.replace(from, to);
        c.change("rules.canon", version as i32 + 2, &broken).await;
        let d = c.diagnostics("rules.canon").await;
        assert_eq!(d[0]["code"], json!("E0104"), "{d:?}");
        let r = c
            .request(
                "textDocument/codeAction",
                json!({ "textDocument": { "uri": uri }, "range": d[0]["range"], "context": { "diagnostics": [] } }),
            )
            .await;
        assert_eq!(r[0]["title"], json!("Add the missing fields of `Posting`"));
        assert_eq!(r[0]["kind"], json!("quickfix"));
        let fixed = apply(&broken, r[0]["edit"]["changes"][&uri].as_array().unwrap());
        assert!(fixed.contains("hours: 0.0"), "{fixed}");
        c.change("rules.canon", version as i32 + 20, &fixed).await;
        assert_eq!(
            c.diagnostics("rules.canon").await,
            Vec::<Value>::new(),
            "{fixed}"
        );
    }
}
