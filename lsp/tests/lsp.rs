//! The server end to end: an in-process LSP client (`common`) drives
//! `canon_lsp::service()` with JSON-RPC requests, and the tests assert on
//! the responses and published diagnostics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{json, Value};

mod common;
use common::Client;

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
    let col: usize = text[line_start..off].chars().map(char::len_utf16).sum::<usize>() + delta;
    json!({ "line": line, "character": col })
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
    assert!(msg.contains("no field `hourz`") && msg.contains("help: did you mean `hours`?"), "{msg}");
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
    let e = d.iter().find(|d| d["code"] == json!("E0102")).expect("E0102");
    let related = &e["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], json!(c.uri("rules.canon")));
    assert_eq!(related["message"], json!("first defined here"));
    assert_eq!(related["location"]["range"]["start"], pos(RULES, "double", 0, 0));
}

#[tokio::test]
async fn hover_shows_builtin_docs_and_examples() {
    let mut c = package().await;
    let h = c.hover("rules.canon", pos(RULES, "round", 0, 1)).await;
    assert!(h.contains("round(Decimal, Int) -> Decimal"), "{h}");
    assert!(h.contains("half-even"), "{h}");
    assert!(h.contains("Examples:") && h.contains("round(2.675, 2)"), "{h}");
}

#[tokio::test]
async fn hover_shows_declarations_with_docs() {
    let mut c = package().await;
    let h = c.hover("rules.canon", pos(RULES, "double", 1, 2)).await;
    assert!(h.contains("fn double(h: Decimal) -> Decimal"), "{h}");
    assert!(h.contains("Doubles the hours."), "{h}");
    let h = c.hover("rules.canon", pos(RULES, "erp_posting", 0, 0)).await;
    assert!(h.contains("destination erp_posting: Posting") && h.contains("Journal lines for the ERP."), "{h}");
    let h = c.hover("rules.canon", pos(RULES, "Open", 0, 0)).await;
    assert!(h.contains("Status.Open") && h.contains("Time can be booked."), "{h}");
    let h = c.hover("rules.canon", pos(RULES, "TimesheetApproved", 0, 0)).await;
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
    let h = c.hover("rules.canon", pos(RULES, "project_code}\"\n  let", 0, 2)).await;
    assert!(h.contains("TimesheetApproved.project_code: Text"), "{h}");
    // Field docs.
    let h = c.hover("rules.canon", pos(RULES, "project: t.project_code", 0, 0)).await;
    assert!(h.contains("Posting.project"), "{h}");
}

#[tokio::test]
async fn go_to_definition_across_files() {
    let mut c = package().await;
    let types = c.uri("types.canon");
    let r = c.at("textDocument/definition", "rules.canon", pos(RULES, "projects[", 0, 1)).await;
    assert_eq!(r["uri"], json!(types));
    assert_eq!(r["range"]["start"], pos(TYPES, "projects", 0, 0));
    let r = c.at("textDocument/definition", "rules.canon", pos(RULES, "status ==", 0, 0)).await;
    assert_eq!(r["range"]["start"], pos(TYPES, "status: Status", 0, 0));
    let r = c.at("textDocument/definition", "rules.canon", pos(RULES, "Open", 0, 0)).await;
    assert_eq!(r["range"]["start"], pos(TYPES, "Open", 0, 0));
    let r = c.at("textDocument/definition", "rules.canon", pos(RULES, "Posting {", 0, 0)).await;
    assert_eq!(r["range"]["start"], pos(TYPES, "Posting {", 0, 0));
    // A local goes to its `let`.
    let r = c.at("textDocument/definition", "rules.canon", pos(RULES, "hours: hours", 0, 7)).await;
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
    let in_rules = locs.iter().filter(|l| l["uri"] == json!(c.uri("rules.canon"))).count();
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
    let r = c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } })).await;
    let names: Vec<&str> = r.as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["Status", "Project", "TimesheetApproved", "Posting", "erp_posting", "projects"]);
    let project = &r[1];
    let fields: Vec<&str> =
        project["children"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(fields, ["code", "status"]);
    let r = c.request("workspace/symbol", json!({ "query": "doub" })).await;
    assert_eq!(r[0]["name"], json!("double"));
    assert_eq!(r[0]["location"]["uri"], json!(c.uri("rules.canon")));
}

#[tokio::test]
async fn completion_after_dot_lists_record_fields() {
    let mut c = package().await;
    let editing = RULES.replace("  let hours = double", "  let x = project.\n  let hours = double");
    c.change("rules.canon", 2, &editing).await;
    let labels = c.completion_labels("rules.canon", pos(&editing, "project.\n", 0, 8)).await;
    assert_eq!(labels, ["code", "status"]);
    let editing = RULES.replace("  let hours = double", "  let x = t.pro\n  let hours = double");
    c.change("rules.canon", 3, &editing).await;
    let labels = c.completion_labels("rules.canon", pos(&editing, "t.pro\n", 0, 5)).await;
    assert_eq!(labels, ["hours", "project_code"]);
    let editing = RULES.replace("  require project", "  let y = project?.\n  require project");
    c.change("rules.canon", 5, &editing).await;
    let labels = c.completion_labels("rules.canon", pos(&editing, "project?.\n", 0, 9)).await;
    assert_eq!(labels, ["code", "status"]);
    let editing = RULES.replace("  let hours = double", "  let x = Status.\n  let hours = double");
    c.change("rules.canon", 4, &editing).await;
    let labels = c.completion_labels("rules.canon", pos(&editing, "Status.\n", 0, 7)).await;
    assert_eq!(labels, ["Open", "Closed"]);
}

#[tokio::test]
async fn completion_of_keywords_builtins_variants_and_destinations() {
    let mut c = package().await;
    let editing = RULES.replace("  emit erp_posting Posting", "  \n  emit erp_posting Posting");
    c.change("rules.canon", 2, &editing).await;
    let labels = c.completion_labels("rules.canon", pos(&editing, "  \n  emit", 0, 2)).await;
    for want in ["let", "check", "require", "emit", "round", "Open", "double", "projects"] {
        assert!(labels.iter().any(|l| l == want), "{want} missing from {labels:?}");
    }
    let r = c.at("textDocument/completion", "rules.canon", pos(&editing, "  \n  emit", 0, 2)).await;
    let round = r.as_array().into_iter().flatten().find(|i| i["label"] == json!("round")).cloned().unwrap_or_default();
    assert!(round["detail"].as_str().unwrap_or("").contains("round(Decimal, Int) -> Decimal"), "{round}");
    let labels = c.completion_labels("rules.canon", pos(&editing, "erp_posting Posting", 0, 0)).await;
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
            c.at("textDocument/definition", "rules.canon", p.clone()).await;
            c.at("textDocument/completion", "rules.canon", p).await;
        }
    }
    let uri = c.uri("rules.canon");
    c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } })).await;
    c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    )
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
    c.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": uri, "type": 1 }] })).await;
    let d = c.diagnostics("extra.canon").await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["code"], json!("E0101"));
    // ...and its declarations are visible from the others.
    let r = c.request("workspace/symbol", json!({ "query": "triple" })).await;
    assert_eq!(r[0]["location"]["uri"], json!(uri));
    // Deleted, it leaves the package.
    std::fs::remove_file(c.dir.path().join("extra.canon")).expect("remove");
    c.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": uri, "type": 3 }] })).await;
    c.diagnostics("rules.canon").await;
    let r = c.request("workspace/symbol", json!({ "query": "triple" })).await;
    assert_eq!(r, json!([]));
}

#[tokio::test]
async fn closing_a_file_goes_back_to_the_disk_text() {
    let mut c = package().await;
    c.diagnostics("rules.canon").await;
    c.change("rules.canon", 2, "fn broken(").await;
    assert!(!c.diagnostics("rules.canon").await.is_empty());
    let uri = c.uri("rules.canon");
    c.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } })).await;
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
    assert_eq!(changes[&c.uri("rules.canon")].as_array().map(Vec::len), Some(4), "{r}");
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
    let resp = c
        .answer(
            "textDocument/rename",
            json!({ "textDocument": { "uri": uri }, "position": pos(RULES, "double", 1, 0), "newName": "match" }),
        )
        .await;
    assert!(resp.is_err());
}

#[tokio::test]
async fn signature_help_for_builtins_and_functions() {
    let mut c = package().await;
    let r = c.at("textDocument/signatureHelp", "rules.canon", pos(RULES, "t.hours, 2", 0, 9)).await;
    assert_eq!(r["signatures"][0]["label"], json!("round(Decimal, Int) -> Decimal"));
    assert_eq!(r["activeParameter"], json!(1));
    let r = c.at("textDocument/signatureHelp", "rules.canon", pos(RULES, "round(", 0, 0)).await;
    assert_eq!(r["signatures"][0]["label"], json!("fn double(h: Decimal) -> Decimal"));
    assert_eq!(r["activeParameter"], json!(0));
}

#[tokio::test]
async fn completion_of_record_literal_fields_not_yet_given() {
    let mut c = package().await;
    let editing =
        RULES.replace("Posting { project: t.project_code, hours: hours }", "Posting { project: t.project_code, ");
    c.change("rules.canon", 2, &editing).await;
    let labels = c.completion_labels("rules.canon", pos(&editing, "project_code, ", 0, 14)).await;
    assert_eq!(labels, ["hours"]);
    let editing = RULES.replace("Posting { project: t.project_code, hours: hours }", "Posting {");
    c.change("rules.canon", 3, &editing).await;
    let labels = c.completion_labels("rules.canon", pos(&editing, "Posting {", 0, 9)).await;
    assert_eq!(labels, ["project", "hours"]);
}

#[tokio::test]
async fn inlay_hints_and_folding_ranges() {
    let mut c = package().await;
    let uri = c.uri("rules.canon");
    let range = json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 99, "character": 0 } });
    let r = c.request("textDocument/inlayHint", json!({ "textDocument": { "uri": uri }, "range": range })).await;
    let hints: Vec<(Value, Value)> =
        r.as_array().into_iter().flatten().map(|h| (h["position"].clone(), h["label"].clone())).collect();
    assert_eq!(
        hints,
        [
            (pos(RULES, "project =", 0, 7), json!(": Project?")),
            (pos(RULES, "hours = double", 0, 5), json!(": Decimal")),
        ]
    );
    let r = c.request("textDocument/foldingRange", json!({ "textDocument": { "uri": uri } })).await;
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
    let legend: Vec<String> = c.init["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    let uri = c.uri("rules.canon");
    let r = c.request("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": uri } })).await;
    let toks = decode_tokens(&legend, r["data"].as_array().map(Vec::as_slice).unwrap_or(&[]));
    let at = |needle: &str, nth: usize| {
        let p = pos(RULES, needle, nth, 0);
        (p["line"].as_u64().unwrap_or(0), p["character"].as_u64().unwrap_or(0))
    };
    let kind_at = |(l, col): (u64, u64)| toks.iter().find(|t| t.0 == l && t.1 == col).map(|t| t.3.clone());
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
    let range = json!({ "start": { "line": 1, "character": 0 }, "end": { "line": 1, "character": 99 } });
    let r =
        c.request("textDocument/semanticTokens/range", json!({ "textDocument": { "uri": uri }, "range": range })).await;
    let toks = decode_tokens(&legend, r["data"].as_array().map(Vec::as_slice).unwrap_or(&[]));
    assert!(toks.iter().all(|t| t.0 == 1) && toks.len() >= 5, "{toks:?}");
}

/// Applies LSP text edits (UTF-16 positions) to a text.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let (line, ch) = (p["line"].as_u64().unwrap() as usize, p["character"].as_u64().unwrap() as usize);
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
        .map(|e| (offset(&e["range"]["start"]), offset(&e["range"]["end"]), e["newText"].as_str().unwrap().to_string()))
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
        ("Posting { project: t.project_code, hours: hours }", "Posting { project: t.project_code }"),
        ("Posting { project: t.project_code, hours: hours }", "Posting {\n    project: t.project_code\n  }"),
        ("Posting { project: t.project_code, hours: hours }", "Posting {}"),
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
        assert_eq!(c.diagnostics("rules.canon").await, Vec::<Value>::new(), "{fixed}");
    }
}

// ------------------------------------------------------------ quick fixes

/// Starts a server on one file `a.canon` holding `text`, open in the editor.
async fn single(text: &str) -> Client {
    let mut c = Client::start(&[("a.canon", text)]).await;
    c.open("a.canon", text).await;
    c
}

/// Asks for the code actions at the line of the first diagnostic with
/// `code` in `a.canon` (whose current text is `text`), that diagnostic in
/// the context, and applies the first action.
async fn apply_fix(c: &mut Client, text: &str, code: &str) -> (String, String) {
    let d = c.diagnostics("a.canon").await;
    let diag =
        d.iter().find(|d| d["code"] == json!(code)).unwrap_or_else(|| panic!("no {code} in {d:?} for\n{text}")).clone();
    let uri = c.uri("a.canon");
    // The cursor at the start of the diagnostic's line, as an editor asks.
    let line = diag["range"]["start"]["line"].clone();
    let cursor = json!({ "start": { "line": line, "character": 0 }, "end": { "line": line, "character": 0 } });
    let r = c
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": cursor, "context": { "diagnostics": [diag] } }),
        )
        .await;
    assert_eq!(r[0]["kind"], json!("quickfix"), "{r}");
    let title = r[0]["title"].as_str().unwrap_or("").to_string();
    let fixed = apply(text, r[0]["edit"]["changes"][&uri].as_array().unwrap());
    (title, fixed)
}

/// Codes of the diagnostics published for `a.canon` after changing it to `text`.
async fn codes_after(c: &mut Client, version: i32, text: &str) -> Vec<String> {
    c.change("a.canon", version, text).await;
    c.diagnostics("a.canon").await.iter().filter_map(|d| d["code"].as_str().map(str::to_string)).collect()
}

#[tokio::test]
async fn code_action_adds_missing_record_fields_of_every_type() {
    let text = r#"enum Status { Open, Closed }
record Address { city: Text, zip: Text }
record Everything {
  n: Int
  ok: Bool
  price: Money
  cur: Currency
  day: Date
  at: Timestamp
  tags: List<Text>
  status: Status
  address: Address
  note: Text?
}
fn make() -> Everything = Everything { n: 1 }
"#;
    let mut c = single(text).await;
    let (title, fixed) = apply_fix(&mut c, text, "E0104").await;
    assert_eq!(title, "Add the missing fields of `Everything`");
    assert!(
        fixed.contains("status: Status.Open") && fixed.contains("address: Address { city: \"\", zip: \"\" }"),
        "{fixed}"
    );
    assert!(!fixed.contains("note: none"), "{fixed}");
    assert_eq!(codes_after(&mut c, 2, &fixed).await, Vec::<String>::new(), "{fixed}");
}

#[tokio::test]
async fn code_action_adds_missing_match_arms() {
    let cases: &[(&str, &str, &str)] = &[
        // An expression match on one line, in a function.
        (
            "enum Role { Associate, Senior, Partner }\nfn label(r: Role) -> Text = match r { Associate => \"a\" }\n",
            "Add the missing arms `Senior`, `Partner`",
            "match r { Associate => \"a\", Senior => \"\", Partner => \"\" }",
        ),
        // One arm a line, the last without its comma.
        (
            "enum Kind { Employee, Contractor, Agency }\n\nfn code(k: Kind) -> Text = match k {\n  Employee => \"EMP\",\n  Contractor => \"CTR\"\n}\n",
            "Add the missing arm `Agency`",
            "  Contractor => \"CTR\",\n  Agency => \"\",\n}",
        ),
        // Bool.
        (
            "fn account(billable: Bool) -> Text = match billable {\n  true => \"4000-REVENUE\",\n}\n",
            "Add the missing arm `false`",
            "  false => \"\",\n}",
        ),
        // An optional, in a `let` of a handler: the arms' type comes from their bodies.
        (
            "enum Tier { Standard, Strategic }\nevent E as \"e\" {\n  tier: Tier?\n}\nrecord Out { label: Decimal }\ndestination out: Out\non E as e {\n  let label = match e.tier {\n    Standard => 1.5,\n    Strategic => 2.5,\n  }\n  emit out Out { label: label }\n}\n",
            "Add the missing arm `none`",
            "    none => 0.0,\n  }",
        ),
        // Text needs `_`.
        (
            "fn region(country: Text) -> Text = match country {\n  \"US\" => \"NA\",\n  \"DE\" => \"EU\",\n}\n",
            "Add the missing arm `_`",
            "  _ => \"\",\n}",
        ),
        // A match statement: the arms are blocks.
        (
            "enum Status { Open, Closed, Archived }\nevent E as \"e\" {\n  status: Status\n}\non E as e {\n  match e.status {\n    Open => {\n      reject OPEN \"open\"\n    }\n  }\n}\n",
            "Add the missing arms `Closed`, `Archived`",
            "    }\n    Closed => {}\n    Archived => {}\n  }",
        ),
    ];
    for (text, title, expect) in cases {
        let mut c = single(text).await;
        let (t, fixed) = apply_fix(&mut c, text, "E0301").await;
        assert_eq!(t, *title);
        assert!(fixed.contains(expect), "{fixed}");
        assert_eq!(codes_after(&mut c, 2, &fixed).await, Vec::<String>::new(), "{fixed}");
    }
}

/// Whether every line of the table that holds `marker` has its `|` at the same columns.
fn aligned(text: &str, marker: &str) -> bool {
    let start = text.find(marker).unwrap_or(0);
    let rows: Vec<Vec<usize>> = text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.trim_start().starts_with('|') || l.trim_start().starts_with("hit"))
        .filter(|l| l.trim_start().starts_with('|'))
        .map(|l| l.char_indices().filter(|(_, c)| *c == '|').map(|(i, _)| i).collect())
        .collect();
    rows.len() > 1 && rows.windows(2).all(|w| w[0] == w[1])
}

#[tokio::test]
async fn code_action_adds_the_missing_decision_row() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/check");
    let mut texts: Vec<String> = [
        "decision_gap_in_ranges",
        "decision_incomplete_bool",
        "decision_incomplete_combination",
        "decision_incomplete_enum",
    ]
    .iter()
    .map(|n| std::fs::read_to_string(dir.join(format!("{n}.canon"))).expect("corpus file"))
    .collect();
    // Text and Date columns under `hit unique`, a record result, a comment after the last row.
    texts.push(
        r#"record Route { region: Text, weight: Int }

decision route(country: Text, day: Date) -> Route
  hit unique
  | country    | day             || region | weight |
  | "US"       | -               || "NA"   | 1      |
  | "DE", "FR" | < @"2024-01-01" || "EU"   | 2      | // old rates
"#
        .to_string(),
    );
    for text in texts {
        let mut c = single(&text).await;
        let mut text = text;
        let mut version = 2;
        loop {
            let (title, fixed) = apply_fix(&mut c, &text, "E0302").await;
            assert!(title.starts_with("Add a row for "), "{title}");
            assert!(aligned(&fixed, "decision"), "{fixed}");
            assert!(fixed.contains("// old rates") || !text.contains("// old rates"), "{fixed}");
            let codes = codes_after(&mut c, version, &fixed).await;
            version += 1;
            text = fixed;
            assert!(codes.iter().all(|c| c == "E0302"), "{codes:?}\n{text}");
            if codes.is_empty() {
                break;
            }
            // Re-publish for the next round.
            assert!(version < 20, "{text}");
            c.change("a.canon", version, &text).await;
            version += 1;
        }
    }
}

#[tokio::test]
async fn the_missing_decision_row_uses_wildcards_where_no_row_interferes() {
    let text = r#"enum Role { Associate, Senior, Partner }
enum Region { NA, EU }

decision rate(role: Role, region: Region, hours: Decimal) -> Money
  hit unique
  | role      | region | hours || rate     |
  | Associate | NA     | -     || 1.00 USD |
  | Partner   | -      | < 8   || 2.00 USD |
  | Partner   | -      | >= 8  || 3.00 USD |
"#;
    let mut c = single(text).await;
    let (title, fixed) = apply_fix(&mut c, text, "E0302").await;
    assert_eq!(title, "Add a row for role = Associate, region = EU, hours < 8");
    assert!(fixed.contains("  | not Partner | EU     | -     || 0.00 USD |\n"), "{fixed}");
    assert!(aligned(&fixed, "decision"), "{fixed}");
    let (_, fixed) = {
        c.change("a.canon", 2, &fixed).await;
        apply_fix(&mut c, &fixed, "E0302").await
    };
    assert!(fixed.contains("  | Senior      | NA     | -     || 0.00 USD |\n"), "{fixed}");
    assert_eq!(codes_after(&mut c, 3, &fixed).await, Vec::<String>::new(), "{fixed}");
}

// ------------------------------------------------------------ completion by type

const TYPED: &str = r#"enum Status { Open, Closed }
enum Tier { Standard, Strategic }

record Project {
  code: Text
  status: Status
  tier: Tier?
  price: Money
}

record Assignment { project: Text, status: Status, currency: Currency }

event Booked as "booked" {
  project: Text
  hours: Decimal
  amount: Money
}

destination out: Assignment
table projects: Project key code

fn is_open(s: Status, c: Currency) -> Bool = s == Open and c == EUR

decision band(status: Status, hours: Decimal) -> Tier
  hit first
  | status | hours || band      |
  | Open   | < 8   || Standard  |
  | -      | -     || Strategic |
"#;

/// The labels offered at the end of `head` (appended to `TYPED`, with
/// `tail` after the cursor) and how many are of the expected type.
async fn typed_labels(head: &str, tail: &str) -> (Vec<String>, usize) {
    let items = completed(TYPED, &format!("{TYPED}{head}"), tail).await;
    let labels: Vec<String> = items.iter().filter_map(|i| i["label"].as_str().map(str::to_string)).collect();
    let expected = items.iter().take_while(|i| i["kind"] == json!(20) || i["kind"] == json!(21)).count();
    if expected > 0 {
        assert_eq!(items[0]["preselect"], json!(true), "{}", json!(items));
    }
    (labels, expected)
}

/// The completion items offered at the end of `head` in `a.canon`, open
/// with `head` and then `tail` (on disk: `disk`), in the server's order,
/// which sortText follows.
async fn completed(disk: &str, head: &str, tail: &str) -> Vec<Value> {
    let text = format!("{head}{tail}");
    let mut c = Client::start(&[("a.canon", disk)]).await;
    c.open("a.canon", &text).await;
    let line = head.matches('\n').count();
    let character: usize = head.rsplit('\n').next().unwrap_or("").chars().map(char::len_utf16).sum();
    let r = c.at("textDocument/completion", "a.canon", json!({ "line": line, "character": character })).await;
    let items = r.as_array().cloned().unwrap_or_default();
    let sorted: Vec<&str> = items.iter().filter_map(|i| i["sortText"].as_str()).collect();
    let mut by_sort = sorted.clone();
    by_sort.sort();
    assert_eq!(sorted, by_sort);
    items
}

#[tokio::test]
async fn completion_ranks_values_of_the_expected_type_first() {
    let on = "on Booked as b {\n  let p = projects[b.project]\n  require p != none else reject UNKNOWN \"no\"\n";
    let cases: &[(String, &str, &[&str])] = &[
        // The other side of a comparison.
        (format!("{on}  check p.status == "), " else reject CLOSED \"closed\"\n}\n", &["Open", "Closed"]),
        (format!("{on}  check p.status != Cl"), " else reject CLOSED \"closed\"\n}\n", &["Open", "Closed"]),
        // ...while the line is still being written (no `else`, no `}` yet).
        (format!("{on}  if p.status == "), "", &["Open", "Closed"]),
        // `in [...]` and `??`.
        (format!("{on}  check p.status in [Open, "), "] else reject X \"x\"\n}\n", &["Open", "Closed"]),
        (format!("{on}  let t = p.tier ?? "), "\n}\n", &["Standard", "Strategic"]),
        // A record literal's field.
        (format!("{on}  emit out Assignment {{ project: b.project, status: "), " }\n}\n", &["Open", "Closed"]),
        // A function's argument, a built-in's (`round(x, 2, Rounding)`) and a Currency.
        (format!("{on}  check is_open("), ") else reject X \"x\"\n}\n", &["Open", "Closed"]),
        (format!("{on}  check is_open(Open, "), ") else reject X \"x\"\n}\n", &["EUR", "USD"]),
        (format!("{on}  let r = round(b.hours, 2, "), ")\n}\n", &["HalfEven", "HalfUp"]),
        // The currency of a Money literal.
        (format!("{on}  let m = 12.50 "), "\n}\n", &["EUR", "USD"]),
        // The arms of a match.
        (format!("{on}  let n = match p.status {{\n    "), "\n  }\n}\n", &["Open", "Closed"]),
        (
            format!("{on}  let n = match p.tier {{\n    Standard => 1,\n    "),
            "\n  }\n}\n",
            &["Standard", "Strategic", "none"],
        ),
        (format!("{on}  match p.status {{\n    Open => {{}}\n    "), "\n  }\n}\n", &["Open", "Closed"]),
        // A function's result.
        ("fn default_tier() -> Tier? = ".to_string(), "\n", &["Standard", "Strategic", "none"]),
        // A decision cell: an input column, then an output column.
        (
            "decision again(status: Status) -> Tier\n  hit first\n  | status || band |\n  | ".to_string(),
            "\n",
            &["Open", "Closed"],
        ),
        (
            "decision again(status: Status) -> Tier\n  hit first\n  | status || band |\n  | - || ".to_string(),
            "\n",
            &["Standard", "Strategic"],
        ),
    ];
    for (head, tail, want) in cases {
        let (labels, expected) = typed_labels(head, tail).await;
        assert!(
            labels.len() >= want.len()
                && labels[..want.len()] == want.iter().map(|w| w.to_string()).collect::<Vec<_>>()[..],
            "{head}|{tail}: {labels:?}"
        );
        assert!(expected >= want.len(), "{head}: {labels:?}");
        // The rest follows: built-ins and the package's names.
        assert!(labels.iter().any(|l| l == "round"), "{head}: {labels:?}");
    }
    // No expected type: no ranking.
    let (labels, expected) = typed_labels(&format!("{on}  let x = "), "\n}\n").await;
    assert_eq!(expected, 0, "{labels:?}");
}

#[tokio::test]
async fn completion_after_dot_in_an_unfinished_item() {
    // The handler has no closing brace yet.
    let (labels, _) = typed_labels("on Booked as b {\n  let p = projects[b.project]\n  let x = b.", "").await;
    assert_eq!(labels, ["project", "hours", "amount"]);
    let (labels, _) = typed_labels("on Booked as b {\n  let p = projects[b.project]\n  if p?.", "").await;
    assert_eq!(labels, ["code", "status", "tier", "price"]);
    let (labels, _) = typed_labels("fn f(p: Project) -> Bool = p.", "").await;
    assert_eq!(labels, ["code", "status", "tier", "price"]);
}

/// Items returning records and enums, appended to `TYPED` for completion
/// on the result of a lookup, a call or a parenthesised expression.
const RESULTS: &str = r#"
record Line { code: Text, rate: Money }

fn project_of(code: Text) -> Project? = projects[code]

fn fallback() -> Project = Project { code: "x", status: Open, tier: none, price: 0.00 EUR }

decision line_of(status: Status) -> Line
  hit first
  | status || code | rate     |
  | -      || "a"  | 1.00 EUR |

"#;

#[tokio::test]
async fn completion_after_dot_on_lookups_calls_and_parentheses() {
    let on = format!("{RESULTS}on Booked as b {{\n  let p = projects[b.project]\n");
    let project: &[&str] = &["code", "status", "tier", "price"];
    let line: &[&str] = &["code", "rate"];
    let cases: &[(String, &str, &[&str])] = &[
        // A table lookup, with `?.` and with `.` (which the checker rejects
        // on an optional, but the fields are still what is meant).
        (format!("{on}  let r = projects[b.project]?."), "\n}\n", project),
        (format!("{on}  let r = projects[b.project]."), "\n}\n", project),
        (format!("{on}  let r = projects[b.project]?.pr"), "\n}\n", project),
        // ...in a handler not closed yet, and inside a call being written.
        (format!("{on}  let r = projects[b.project]?."), "", project),
        (format!("{on}  let r = len(projects[b.project]?."), "", project),
        // A function call and a decision call.
        (format!("{on}  let r = project_of(b.project)?."), "\n}\n", project),
        (format!("{on}  let r = line_of(Open)."), "\n}\n", line),
        (format!("{on}  check line_of(p?.status ?? Open)."), "", line),
        // Parenthesised: `??`, `if`, `match`.
        (format!("{on}  let r = (p ?? fallback())."), "\n}\n", project),
        (format!("{on}  let r = (if b.hours > 8 then fallback() else fallback())."), "\n}\n", project),
        (format!("{on}  let r = (match b.hours {{ 1 => line_of(Open), _ => line_of(Closed) }})."), "\n}\n", line),
        // In a function's body.
        (format!("{RESULTS}fn rate(c: Text) -> Money? = project_of(c)?."), "", project),
    ];
    for (head, tail, want) in cases {
        let (labels, _) = typed_labels(head, tail).await;
        assert_eq!(labels, *want, "{head}|{tail}");
    }
}

#[tokio::test]
async fn completion_by_type_after_calls_lookups_and_parentheses() {
    let on = format!("{RESULTS}on Booked as b {{\n  let p = projects[b.project]\n");
    let tier: &[&str] = &["Standard", "Strategic"];
    let status: &[&str] = &["Open", "Closed"];
    let cases: &[(String, &str, &[&str])] = &[
        // A decision call returning an enum, on the left of `==`, `!=`, `in`.
        (format!("{on}  check band(Open, b.hours) == "), " else reject X \"x\"\n}\n", tier),
        (format!("{on}  if band(Open, b.hours) != "), "", tier),
        (format!("{on}  check band(Open, b.hours) in [Standard, "), "] else reject X \"x\"\n}\n", tier),
        // Parenthesised: `??` and `if`.
        (format!("{on}  check (p?.tier ?? Standard) == "), " else reject X \"x\"\n}\n", tier),
        (format!("{on}  if (if b.hours > 8 then Status.Open else Status.Closed) != "), "", status),
        // A match on a call.
        (format!("{on}  let n = match band(Open, b.hours) {{\n    "), "\n  }\n}\n", tier),
    ];
    for (head, tail, want) in cases {
        let (labels, expected) = typed_labels(head, tail).await;
        assert!(labels.len() >= want.len() && labels[..want.len()] == **want, "{head}|{tail}: {labels:?}");
        assert!(expected >= want.len(), "{head}: {labels:?}");
    }
}

#[tokio::test]
async fn fields_after_a_lookup_or_call_are_references() {
    let text = format!(
        "{TYPED}{RESULTS}fn c(k: Text) -> Status? = projects[k]?.status\nfn d(k: Text) -> Text? = project_of(k)?.code\n"
    );
    let mut c = Client::start(&[("a.canon", text.as_str())]).await;
    c.open("a.canon", &text).await;
    let r = c.at("textDocument/definition", "a.canon", pos(&text, "]?.status", 0, 4)).await;
    assert_eq!(r["range"]["start"], pos(&text, "status: Status", 0, 0), "{r}");
    let r = c.at("textDocument/definition", "a.canon", pos(&text, ")?.code", 0, 4)).await;
    assert_eq!(r["range"]["start"], pos(&text, "code: Text", 0, 0), "{r}");
}

// ------------------------------------------------------------ decisions

const DECISIONS: &str = r#"enum Role { Associate, Partner }
enum Region { EU, US }
record Line { code: Text, rate: Money }
event Booked as "booked" { role: Role }

decision bill_rate(role: Role, region: Region) -> Money
  hit first
  | role    | region || rate       |
  | Partner | -      || 450.00 USD |
  | -       | -      || 200.00 USD |

decision label(role: Role) -> Text?
  hit first
  | role    || label |
  | Partner || "P"   |

decision lines(role: Role) -> Line
  hit collect
  | role || code | rate                |
  | -    || "a"  | bill_rate(role, EU) |

fn total(r: Role) -> Money = bill_rate(r, EU) + (bill_rate(r, US))

on Booked as b {
  let rate = bill_rate(b.role, EU)
  let all = (lines(b.role))
  let name = label(b.role) ?? "none"
  check bill_rate(b.role, US) > 0.00 USD else reject LOW "low"
  check len(lines(b.role)) > 0 else reject NONE "none"
}

test "rates" {
  assert bill_rate(Partner, EU) == 450.00 USD
}
"#;

/// The inlay hints of a file in `range`: position, label and kind.
async fn inlay_hints(c: &mut Client, name: &str, range: Value) -> Vec<(Value, Value, Value)> {
    let uri = c.uri(name);
    let r = c.request("textDocument/inlayHint", json!({ "textDocument": { "uri": uri }, "range": range })).await;
    r.as_array().into_iter().flatten().map(|h| (h["position"].clone(), h["label"].clone(), h["kind"].clone())).collect()
}

#[tokio::test]
async fn inlay_hints_show_the_result_of_decision_calls() {
    let mut c = Client::start(&[("d.canon", DECISIONS)]).await;
    c.open("d.canon", DECISIONS).await;
    assert_eq!(c.diagnostics("d.canon").await, Vec::<Value>::new());
    let end = |needle: &str, nth: usize| pos(DECISIONS, needle, nth, needle.len());
    let ty = |k: &str| -> (Value, Value) { (json!(k), json!(1)) };
    let want = [
        // In a decision's output cell (and no hints naming the columns).
        (end("bill_rate(role, EU)", 0), ty(": Money")),
        (end("bill_rate(r, EU)", 0), ty(": Money")),
        // In parentheses: after the call.
        (end("bill_rate(r, US)", 0), ty(": Money")),
        // The whole value of a `let`: the `let` alone shows the type, also
        // in parentheses.
        (end("let rate", 0), ty(": Money")),
        (end("let all", 0), ty(": List<Line>")),
        (end("let name", 0), ty(": Text")),
        // Part of a `let`'s value: the call shows its own type.
        (end("label(b.role)", 0), ty(": Text?")),
        (end("bill_rate(b.role, US)", 0), ty(": Money")),
        (end("lines(b.role)", 1), ty(": List<Line>")),
        (end("bill_rate(Partner, EU)", 0), ty(": Money")),
    ];
    let all = json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 99, "character": 0 } });
    let hints = inlay_hints(&mut c, "d.canon", all).await;
    let got: Vec<(Value, (Value, Value))> = hints.into_iter().map(|(p, l, k)| (p, (l, k))).collect();
    assert_eq!(got, want);
    // Only the hints in the range asked for: the handler's lines.
    let handler = pos(DECISIONS, "on Booked", 0, 0);
    let test = pos(DECISIONS, "test \"rates\"", 0, 0);
    let range = json!({ "start": handler, "end": test });
    let hints = inlay_hints(&mut c, "d.canon", range).await;
    let labels: Vec<Value> = hints.into_iter().map(|(_, l, _)| l).collect();
    assert_eq!(labels, [": Money", ": List<Line>", ": Text", ": Text?", ": Money", ": List<Line>"]);
    // A decision table alone: no hints in its rows.
    let table =
        json!({ "start": pos(DECISIONS, "decision bill_rate", 0, 0), "end": pos(DECISIONS, "decision lines", 0, 0) });
    assert_eq!(inlay_hints(&mut c, "d.canon", table).await, []);
}

/// The completion items (label, detail, preselect) at the end of `head`,
/// with `tail` after the cursor, in the server's order.
async fn completion_items(head: &str, tail: &str) -> Vec<(String, Value, Value)> {
    completed(&format!("{head}{tail}"), head, tail)
        .await
        .iter()
        .map(|i| (i["label"].as_str().unwrap_or("").to_string(), i["detail"].clone(), i["preselect"].clone()))
        .collect()
}

#[tokio::test]
async fn completion_of_parameter_names_in_a_decision_header() {
    let types = "enum Role { Associate, Partner }\nenum Region { EU, US }\nenum Tier { Standard, Gold }\n\n";
    let sig = format!(
        "{types}/// The rate.\ndecision bill_rate(role: Role, region: Region, tier: Tier) -> Money\n  hit first\n"
    );
    let after = "\n\nfn f() -> Int = 1\n";
    let params = ["role", "region", "tier"];
    // The text before and after the cursor, and the parameters offered first.
    type Case<'a> = (String, &'a str, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        // The header being typed: the file does not parse.
        (format!("{sig}  | "), after, &[("role", "Role"), ("region", "Region"), ("tier", "Tier")]),
        (format!("{sig}  | role | "), after, &[("region", "Region"), ("tier", "Tier")]),
        (format!("{sig}  | tier | re"), after, &[("role", "Role"), ("region", "Region")]),
        // A column to the right counts too; the one at the cursor does not.
        (format!("{sig}  | role | "), " | tier || rate |\n  | - | - | - || 1.00 USD |\n", &[("region", "Region")]),
        (
            format!("{sig}  | role | region"),
            " | tier || rate |\n  | - | - | - || 1.00 USD |\n",
            &[("region", "Region")],
        ),
        // At the end of the file, every column given.
        (format!("{sig}  | role | region | tier | "), "", &[]),
    ];
    for (head, tail, want) in cases {
        let items = completion_items(head, tail).await;
        let first: Vec<(&str, &str)> = items
            .iter()
            .take_while(|(l, _, _)| params.contains(&l.as_str()))
            .map(|(l, d, _)| (l.as_str(), d.as_str().unwrap_or("")))
            .collect();
        assert_eq!(first, *want, "{head}|{tail}: {items:?}");
        // No parameter further down; everything else follows.
        assert!(!items[want.len()..].iter().any(|(l, _, _)| params.contains(&l.as_str())), "{head}: {items:?}");
        assert!(items.iter().any(|(l, _, _)| l == "round"), "{head}: {items:?}");
        if !want.is_empty() {
            assert_eq!(items[0].2, json!(true), "{head}: {items:?}");
        }
    }
    // Right of `||` (output names) and in the rows: no parameter names.
    for (head, tail) in [
        (format!("{sig}  | role || "), after),
        (format!("{sig}  | role | region | tier || "), after),
        (format!("{sig}  | role | region | tier || ra"), after),
        (format!("{sig}  | role | region | tier || rate |\n  | "), after),
    ] {
        let items = completion_items(&head, tail).await;
        assert!(!items.iter().any(|(l, _, _)| params.contains(&l.as_str())), "{head}: {items:?}");
    }
    // A row, not the header: the values of the column, as before.
    let items = completion_items(&format!("{sig}  | role | region | tier || rate |\n  | "), after).await;
    assert_eq!(items[0].0, "Associate", "{items:?}");
}

// ---------------------------------------------------------------- state and metrics (LANGUAGE.md §4.5, §4.6, §8.1, §9)

const SHEETS: &str = r#"enum SheetStatus { Submitted, Approved, Reversed }

/// A timesheet as the lifecycle sees it.
record TimesheetState {
  /// The timesheet's id.
  timesheet_id: Text
  entity: Text
  status: SheetStatus
  hours: Decimal
  posted_hours: Decimal
  approved_at: Timestamp?
  tags: List<Text>
}

event Submitted as "submitted" { timesheet_id: Text, entity: Text, hours: Decimal }
event Approved as "approved" { timesheet_id: Text }
event Purged as "purged" { timesheet_id: Text }

/// Where each timesheet is in its lifecycle.
state timesheets: TimesheetState key timesheet_id

/// Hours approved but not yet posted, per entity.
metric approved_not_posted = sum(timesheets, s => s.hours - s.posted_hours)
  where s.status == Approved
  by entity
  age approved_at > 48 hours

metric open_sheets = count(timesheets, s => s.status != Reversed) by entity, status
"#;

const LIFECYCLE: &str = r#"on Submitted as t {
  put timesheets TimesheetState { timesheet_id: t.timesheet_id, entity: t.entity, status: Submitted, hours: t.hours, posted_hours: 0, approved_at: meta.time, tags: [] }
}

on Approved as a {
  let s = timesheets[a.timesheet_id]
  require s != none else reject UNKNOWN "no timesheet {a.timesheet_id}"
  update timesheets[a.timesheet_id] { status: Approved, hours: s.hours }
}

on Purged as p {
  delete timesheets[p.timesheet_id]
}

test "approval" {
  with timesheets [TimesheetState { timesheet_id: "T1", entity: "E", status: Submitted, hours: 8, posted_hours: 0, approved_at: none, tags: [] }]
  given Approved { timesheet_id: "T1" }
  expect state timesheets["T1"] TimesheetState { status: Approved, .. }
  expect no state timesheets["T2"]
}
"#;

async fn lifecycle() -> Client {
    let mut c = Client::start(&[("sheets.canon", SHEETS), ("lifecycle.canon", LIFECYCLE)]).await;
    c.open("lifecycle.canon", LIFECYCLE).await;
    c.open("sheets.canon", SHEETS).await;
    c
}

/// The places (file, start) of a references or rename answer, sorted.
fn places(c: &Client, locs: &[Value]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = locs
        .iter()
        .map(|l| {
            let uri = l["uri"].as_str().unwrap_or("");
            let file = ["sheets.canon", "lifecycle.canon"].into_iter().find(|f| c.uri(f) == uri).unwrap_or("?");
            (file.to_string(), l["range"]["start"].clone())
        })
        .collect();
    out.sort_by_key(|(f, p)| (f.clone(), p["line"].as_u64(), p["character"].as_u64()));
    out
}

/// `(file, position)` for each needle, sorted as `places` sorts.
fn expected_places(want: &[(&str, &str, usize)]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = want
        .iter()
        .map(|(file, needle, nth)| {
            let text = if *file == "sheets.canon" { SHEETS } else { LIFECYCLE };
            (file.to_string(), pos(text, needle, *nth, 0))
        })
        .collect();
    out.sort_by_key(|(f, p)| (f.clone(), p["line"].as_u64(), p["character"].as_u64()));
    out
}

async fn references(c: &mut Client, file: &str, position: Value) -> Vec<(String, Value)> {
    let uri = c.uri(file);
    let r = c
        .request(
            "textDocument/references",
            json!({ "textDocument": { "uri": uri }, "position": position, "context": { "includeDeclaration": true } }),
        )
        .await;
    places(c, r.as_array().map(Vec::as_slice).unwrap_or(&[]))
}

async fn rename(c: &mut Client, file: &str, position: Value, new_name: &str) -> Vec<(String, Value)> {
    let uri = c.uri(file);
    let r = c
        .request(
            "textDocument/rename",
            json!({ "textDocument": { "uri": uri }, "position": position, "newName": new_name }),
        )
        .await;
    let mut locs = Vec::new();
    for (uri, edits) in r["changes"].as_object().cloned().unwrap_or_default() {
        for e in edits.as_array().cloned().unwrap_or_default() {
            assert_eq!(e["newText"], json!(new_name));
            locs.push(json!({ "uri": uri, "range": e["range"] }));
        }
    }
    places(c, &locs)
}

#[tokio::test]
async fn a_package_with_state_and_metrics_is_clean() {
    let mut c = lifecycle().await;
    assert_eq!(c.diagnostics("sheets.canon").await, Vec::<Value>::new());
    assert_eq!(c.diagnostics("lifecycle.canon").await, Vec::<Value>::new());
}

#[tokio::test]
async fn hover_on_states_metrics_and_their_names() {
    let mut c = lifecycle().await;
    // A state: its declaration, docs and record type.
    let h = c.hover("sheets.canon", pos(SHEETS, "timesheets:", 0, 2)).await;
    assert!(h.contains("state timesheets: TimesheetState key timesheet_id"), "{h}");
    assert!(h.contains("Where each timesheet is in its lifecycle."), "{h}");
    assert!(h.contains("record TimesheetState {") && h.contains("posted_hours: Decimal"), "{h}");
    // A read is an optional record.
    let h = c.hover("lifecycle.canon", pos(LIFECYCLE, "timesheets[a.", 0, 3)).await;
    assert!(h.contains("timesheets[a.timesheet_id]: TimesheetState?"), "{h}");
    assert!(h.contains("state timesheets: TimesheetState key timesheet_id"), "{h}");
    // The name after `put`, `update`, `delete`, `with` and `expect state` is the state too.
    for (needle, nth) in [("timesheets TimesheetState", 0), ("timesheets[a.", 1), ("timesheets[p.", 0)] {
        let h = c.hover("lifecycle.canon", pos(LIFECYCLE, needle, nth, 1)).await;
        assert!(h.contains("state timesheets: TimesheetState"), "{needle}: {h}");
    }
    for needle in ["timesheets [", "timesheets[\"T1", "timesheets[\"T2"] {
        let h = c.hover("lifecycle.canon", pos(LIFECYCLE, needle, 0, 1)).await;
        assert!(h.contains("state timesheets: TimesheetState"), "{needle}: {h}");
    }
    // A metric: its declaration, docs and what it adds up.
    let h = c.hover("sheets.canon", pos(SHEETS, "approved_not_posted", 0, 1)).await;
    assert!(h.contains("metric approved_not_posted = sum(timesheets, s => s.hours - s.posted_hours)"), "{h}");
    assert!(h.contains("by entity") && h.contains("age approved_at > 48 hours"), "{h}");
    assert!(h.contains("Hours approved but not yet posted, per entity."), "{h}");
    assert!(h.contains("a sum of Decimal"), "{h}");
    let h = c.hover("sheets.canon", pos(SHEETS, "open_sheets", 0, 1)).await;
    assert!(h.contains("a count"), "{h}");
    // The lambda's parameter, the fields of `by` and `age`, an update's field.
    let h = c.hover("sheets.canon", pos(SHEETS, "s =>", 0, 0)).await;
    assert!(h.contains("s: TimesheetState"), "{h}");
    let h = c.hover("sheets.canon", pos(SHEETS, "s.status ==", 0, 0)).await;
    assert!(h.contains("s: TimesheetState"), "{h}");
    let h = c.hover("sheets.canon", pos(SHEETS, "entity\n", 0, 1)).await;
    assert!(h.contains("TimesheetState.entity: Text"), "{h}");
    let h = c.hover("sheets.canon", pos(SHEETS, "approved_at >", 0, 1)).await;
    assert!(h.contains("TimesheetState.approved_at: Timestamp?"), "{h}");
    let h = c.hover("lifecycle.canon", pos(LIFECYCLE, "status: Approved, hours", 0, 1)).await;
    assert!(h.contains("TimesheetState.status: SheetStatus"), "{h}");
}

#[tokio::test]
async fn go_to_definition_of_states_metrics_and_their_names() {
    let mut c = lifecycle().await;
    let sheets = c.uri("sheets.canon");
    let state_decl = pos(SHEETS, "timesheets:", 0, 0);
    for (needle, nth) in [
        ("timesheets TimesheetState", 0),
        ("timesheets[a.", 0),
        ("timesheets[a.", 1),
        ("timesheets[p.", 0),
        ("timesheets [", 0),
        ("timesheets[\"T1", 0),
        ("timesheets[\"T2", 0),
    ] {
        let r = c.at("textDocument/definition", "lifecycle.canon", pos(LIFECYCLE, needle, nth, 2)).await;
        assert_eq!((&r["uri"], &r["range"]["start"]), (&json!(sheets), &state_decl), "{needle}");
    }
    // In a metric: the state, the parameter, the fields.
    let r = c.at("textDocument/definition", "sheets.canon", pos(SHEETS, "timesheets, s", 0, 0)).await;
    assert_eq!(r["range"]["start"], state_decl);
    let r = c.at("textDocument/definition", "sheets.canon", pos(SHEETS, "s.posted_hours", 0, 0)).await;
    assert_eq!(r["range"]["start"], pos(SHEETS, "s =>", 0, 0));
    let r = c.at("textDocument/definition", "sheets.canon", pos(SHEETS, "entity\n", 0, 0)).await;
    assert_eq!(r["range"]["start"], pos(SHEETS, "entity: Text\n", 0, 0));
    let r = c.at("textDocument/definition", "sheets.canon", pos(SHEETS, "approved_at >", 0, 0)).await;
    assert_eq!(r["range"]["start"], pos(SHEETS, "approved_at: Timestamp?", 0, 0));
    let r = c.at("textDocument/definition", "sheets.canon", pos(SHEETS, "status\n", 0, 0)).await;
    assert_eq!(r["range"]["start"], pos(SHEETS, "status: SheetStatus", 0, 0));
    // An update's field and the state's key.
    let r = c.at("textDocument/definition", "lifecycle.canon", pos(LIFECYCLE, "hours: s.hours", 0, 0)).await;
    assert_eq!((&r["uri"], &r["range"]["start"]), (&json!(sheets), &pos(SHEETS, "hours: Decimal", 0, 0)));
    let r = c.at("textDocument/definition", "sheets.canon", pos(SHEETS, "key timesheet_id", 0, 4)).await;
    assert_eq!(r["range"]["start"], pos(SHEETS, "timesheet_id: Text", 0, 0));
    // A metric is its own declaration.
    let r = c.at("textDocument/definition", "sheets.canon", pos(SHEETS, "open_sheets", 0, 0)).await;
    assert_eq!(r["range"]["start"], pos(SHEETS, "open_sheets", 0, 0));
}

#[tokio::test]
async fn references_and_rename_of_a_state() {
    let mut c = lifecycle().await;
    let want = expected_places(&[
        ("sheets.canon", "timesheets:", 0),
        ("sheets.canon", "timesheets, s", 0),
        ("sheets.canon", "timesheets, s", 1),
        ("lifecycle.canon", "timesheets TimesheetState", 0),
        ("lifecycle.canon", "timesheets[a.", 0),
        ("lifecycle.canon", "timesheets[a.", 1),
        ("lifecycle.canon", "timesheets[p.", 0),
        ("lifecycle.canon", "timesheets [", 0),
        ("lifecycle.canon", "timesheets[\"T1", 0),
        ("lifecycle.canon", "timesheets[\"T2", 0),
    ]);
    assert_eq!(references(&mut c, "lifecycle.canon", pos(LIFECYCLE, "timesheets[p.", 0, 0)).await, want);
    assert_eq!(rename(&mut c, "sheets.canon", pos(SHEETS, "timesheets:", 0, 0), "sheets").await, want);
    // A contextual keyword is a name; a reserved one is not.
    assert_eq!(rename(&mut c, "sheets.canon", pos(SHEETS, "timesheets:", 0, 0), "state").await, want);
    let uri = c.uri("sheets.canon");
    let resp = c
        .answer(
            "textDocument/rename",
            json!({ "textDocument": { "uri": uri }, "position": pos(SHEETS, "timesheets:", 0, 0), "newName": "table" }),
        )
        .await;
    assert!(resp.is_err());
}

#[tokio::test]
async fn references_and_rename_of_metrics_and_their_parameter() {
    let mut c = lifecycle().await;
    // A metric is named only where it is declared.
    let want = expected_places(&[("sheets.canon", "approved_not_posted", 0)]);
    assert_eq!(references(&mut c, "sheets.canon", pos(SHEETS, "approved_not_posted", 0, 3)).await, want);
    assert_eq!(rename(&mut c, "sheets.canon", pos(SHEETS, "approved_not_posted", 0, 3), "unposted").await, want);
    // The lambda's parameter, within its metric (the body and `where`).
    let want = expected_places(&[
        ("sheets.canon", "s =>", 0),
        ("sheets.canon", "s.hours", 0),
        ("sheets.canon", "s.posted_hours", 0),
        ("sheets.canon", "s.status ==", 0),
    ]);
    assert_eq!(rename(&mut c, "sheets.canon", pos(SHEETS, "s.status ==", 0, 0), "sheet").await, want);
    let want = expected_places(&[("sheets.canon", "s =>", 1), ("sheets.canon", "s.status !=", 0)]);
    assert_eq!(references(&mut c, "sheets.canon", pos(SHEETS, "s =>", 1, 0)).await, want);
}

#[tokio::test]
async fn by_age_and_update_fields_rename_with_the_record_field() {
    let mut c = lifecycle().await;
    // `entity`: the field, the put's literal, the `by` of both metrics, the with's row.
    let want = expected_places(&[
        ("sheets.canon", "entity: Text\n", 0),
        ("sheets.canon", "entity\n", 0),
        ("sheets.canon", "entity, status", 0),
        ("lifecycle.canon", "entity: t.entity", 0),
        ("lifecycle.canon", "entity: \"E\"", 0),
    ]);
    assert_eq!(references(&mut c, "sheets.canon", pos(SHEETS, "entity\n", 0, 0)).await, want);
    assert_eq!(rename(&mut c, "sheets.canon", pos(SHEETS, "entity, status", 0, 0), "legal_entity").await, want);
    // `approved_at`: the field, `age`, the put and the with.
    let want = expected_places(&[
        ("sheets.canon", "approved_at: Timestamp?", 0),
        ("sheets.canon", "approved_at >", 0),
        ("lifecycle.canon", "approved_at: meta", 0),
        ("lifecycle.canon", "approved_at: none", 0),
    ]);
    assert_eq!(rename(&mut c, "sheets.canon", pos(SHEETS, "approved_at >", 0, 0), "approved_on").await, want);
    // `status`: the field, the metrics (`s.status`, `by status`), the put, the update, the with and the expect state.
    let want = expected_places(&[
        ("sheets.canon", "status: SheetStatus", 0),
        ("sheets.canon", "status == Approved", 0),
        ("sheets.canon", "status != Reversed", 0),
        ("sheets.canon", "status\n", 0),
        ("lifecycle.canon", "status: Submitted", 0),
        ("lifecycle.canon", "status: Approved, hours", 0),
        ("lifecycle.canon", "status: Submitted", 1),
        ("lifecycle.canon", "status: Approved, ..", 0),
    ]);
    assert_eq!(rename(&mut c, "lifecycle.canon", pos(LIFECYCLE, "status: Approved, hours", 0, 0), "phase").await, want);
}

/// `SHEETS` with a second state and a table, for completion.
fn complete_base() -> String {
    format!(
        "{SHEETS}\nstate by_entity: TimesheetState key (entity, timesheet_id)\nrecord Rate {{ code: Text, rate: Decimal }}\ntable rates: Rate key code\n\n"
    )
}

/// The labels offered at the end of `complete_base() + head`, `tail` after it.
async fn state_labels(head: &str, tail: &str) -> Vec<(String, Value)> {
    let base = complete_base();
    completed(&base, &format!("{base}{head}"), tail)
        .await
        .iter()
        .map(|i| (i["label"].as_str().unwrap_or("").to_string(), i["kind"].clone()))
        .collect()
}

fn labels_of(items: &[(String, Value)]) -> Vec<&str> {
    items.iter().map(|(l, _)| l.as_str()).collect()
}

#[tokio::test]
async fn completion_of_state_names() {
    let states = ["timesheets", "by_entity"];
    let on = "on Approved as a {\n";
    let test = "test \"t\" {\n  given Approved { timesheet_id: \"T\" }\n";
    let cases: &[(String, &str)] = &[
        (format!("{on}  put "), "\n}\n"),
        (format!("{on}  put time"), "\n}\n"),
        (format!("{on}  update "), "\n}\n"),
        (format!("{on}  delete "), "[a.timesheet_id]\n}\n"),
        (format!("{on}  if true {{\n    delete "), "\n  }\n}\n"),
        (format!("{on}  if true {{ delete "), " }\n}\n"),
        (format!("{test}  expect state "), "\n}\n"),
        (format!("{test}  expect no state "), "\n}\n"),
        ("metric m = sum(".to_string(), ""),
        ("metric m = count(".to_string(), "\n"),
    ];
    for (head, tail) in cases {
        let items = state_labels(head, tail).await;
        assert_eq!(labels_of(&items), states, "{head}|{tail}");
        assert!(items.iter().all(|(_, k)| *k == json!(6)), "{head}: {items:?}");
    }
    // `with` gives a table or a state.
    let items = state_labels(&format!("{test}  with "), "\n}\n").await;
    assert_eq!(labels_of(&items), ["rates", "timesheets", "by_entity"]);
    // After `put s`: the state's record type first.
    let items = state_labels(&format!("{on}  put timesheets "), "\n}\n").await;
    assert_eq!(items[0].0, "TimesheetState", "{items:?}");
    // In an expression of a handler or a test a state can be read...
    for (head, tail) in [(format!("{on}  let x = "), "\n}\n"), (format!("{test}  assert "), "\n}\n")] {
        let items = state_labels(&head, tail).await;
        for s in states {
            assert!(labels_of(&items).contains(&s), "{s} missing after {head}: {items:?}");
        }
        assert!(labels_of(&items).contains(&"rates") && labels_of(&items).contains(&"round"), "{items:?}");
    }
    // ...but not in a function, a decision or a metric (E0501).
    for (head, tail) in [
        ("fn f(k: Text) -> Bool = ".to_string(), "\n"),
        ("metric m = sum(timesheets, s => s.hours) where ".to_string(), "\n"),
        ("metric m = sum(timesheets, s => ".to_string(), ")\n"),
    ] {
        let items = state_labels(&head, tail).await;
        assert!(!labels_of(&items).contains(&"timesheets"), "{head}: {items:?}");
        assert!(labels_of(&items).contains(&"round"), "{head}: {items:?}");
    }
}

#[tokio::test]
async fn completion_of_update_fields_and_values() {
    let on = "on Approved as a {\n  update timesheets[a.timesheet_id] { ";
    let unkeyed = ["entity", "status", "hours", "posted_hours", "approved_at", "tags"];
    // The fields not given yet, but the key.
    let items = state_labels(on, " }\n}\n").await;
    assert_eq!(labels_of(&items), unkeyed);
    assert!(items.iter().all(|(_, k)| *k == json!(5)), "{items:?}");
    let items = state_labels(&format!("{on}status: Approved, "), " }\n}\n").await;
    assert_eq!(labels_of(&items), ["entity", "hours", "posted_hours", "approved_at", "tags"]);
    let items =
        state_labels("on Approved as a {\n  update by_entity[\"E\", a.timesheet_id] {\n    ", "\n  }\n}\n").await;
    assert_eq!(labels_of(&items), ["status", "hours", "posted_hours", "approved_at", "tags"]);
    // A field's value: the values of its type first.
    let items = state_labels(&format!("{on}status: "), " }\n}\n").await;
    assert_eq!(labels_of(&items)[..3], ["Submitted", "Approved", "Reversed"], "{items:?}");
    // Fields after a read and in a metric's lambda.
    let items = state_labels("on Approved as a {\n  let h = timesheets[a.timesheet_id]?.", "\n}\n").await;
    assert_eq!(labels_of(&items)[..2], ["timesheet_id", "entity"], "{items:?}");
    let items = state_labels("metric m = sum(timesheets, s => s.", ")\n").await;
    assert_eq!(labels_of(&items)[..2], ["timesheet_id", "entity"], "{items:?}");
    let items = state_labels("metric m = sum(timesheets, s => s.hours) where s.", "\n").await;
    assert_eq!(labels_of(&items)[..2], ["timesheet_id", "entity"], "{items:?}");
    // A comparison in `where`: the values of the left side first.
    let items = state_labels("metric m = sum(timesheets, s => s.hours)\n  where s.status == ", "\n").await;
    assert_eq!(labels_of(&items)[..3], ["Submitted", "Approved", "Reversed"], "{items:?}");
}

#[tokio::test]
async fn completion_of_contextual_keywords_and_metric_clauses() {
    let keywords = |items: &[(String, Value)]| -> Vec<String> {
        items.iter().filter(|(_, k)| *k == json!(14)).map(|(l, _)| l.clone()).collect()
    };
    // At the start of an item.
    let items = state_labels("", "").await;
    let kws = keywords(&items);
    assert!(kws.contains(&"state".to_string()) && kws.contains(&"metric".to_string()), "{kws:?}");
    // At the start of a handler's statement, not of a test's.
    let items = state_labels("on Approved as a {\n  ", "\n}\n").await;
    let kws = keywords(&items);
    for w in ["put", "update", "delete", "let", "emit"] {
        assert!(kws.contains(&w.to_string()), "{w}: {kws:?}");
    }
    let items = state_labels("test \"t\" {\n  ", "\n}\n").await;
    let kws = keywords(&items);
    assert!(kws.contains(&"expect".to_string()) && !kws.contains(&"put".to_string()), "{kws:?}");
    // After `expect`: `state` and `no state` among the expectations.
    let items = state_labels("test \"t\" {\n  expect ", "\n}\n").await;
    let labels = labels_of(&items);
    for w in ["state", "no state", "emit", "no emit", "reject", "accepted"] {
        assert!(labels.contains(&w), "{w}: {labels:?}");
    }
    // A metric's clauses, in their order, each once.
    let metric = "metric m = sum(timesheets, s => s.hours)";
    for (head, want) in [
        (format!("{metric} "), vec!["where", "by", "age"]),
        (format!("{metric}\n  "), vec!["where", "by", "age"]),
        (format!("{metric}\n  where s.hours > 0\n  "), vec!["by", "age"]),
        (format!("{metric} where s.hours > 0 by entity\n  "), vec!["age"]),
        (format!("{metric} age approved_at > 2 days\n  "), vec![]),
        // A `by` in a string is no clause; at column 0 the next item begins.
        (format!("{metric} where s.entity != \"by\" "), vec!["by", "age"]),
    ] {
        let items = state_labels(&head, "\n").await;
        assert_eq!(keywords(&items), want, "{head}: {items:?}");
    }
    let items = state_labels(&format!("{metric} by entity\n"), "").await;
    let kws = keywords(&items);
    assert!(kws.contains(&"metric".to_string()) && !kws.contains(&"age".to_string()), "{kws:?}");
    // The fields `by` can group by (not a list), those `age` can measure, the units.
    let items = state_labels(&format!("{metric}\n  by "), "\n").await;
    assert_eq!(labels_of(&items), ["timesheet_id", "entity", "status", "hours", "posted_hours", "approved_at"]);
    let items = state_labels(&format!("{metric}\n  by entity, "), "\n").await;
    assert_eq!(labels_of(&items), ["timesheet_id", "status", "hours", "posted_hours", "approved_at"]);
    let items = state_labels(&format!("{metric}\n  by entity\n  age "), "\n").await;
    assert_eq!(labels_of(&items), ["approved_at"]);
    let items = state_labels(&format!("{metric}\n  age approved_at > 48 "), "\n").await;
    assert_eq!(labels_of(&items), ["minutes", "hours", "days"]);
}

#[tokio::test]
async fn semantic_tokens_of_contextual_keywords() {
    let extra = "record Contextual { state: Text, by: Int }\nfn pick(c: Contextual) -> Text = c.state\n";
    let mut c =
        Client::start(&[("sheets.canon", SHEETS), ("lifecycle.canon", LIFECYCLE), ("extra.canon", extra)]).await;
    c.open("lifecycle.canon", LIFECYCLE).await;
    let legend: Vec<String> = c.init["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    for (file, text, checks) in [
        (
            "sheets.canon",
            SHEETS,
            vec![
                ("state timesheets", 0, "keyword"),
                ("timesheets:", 0, "variable"),
                ("metric approved", 0, "keyword"),
                ("approved_not_posted", 0, "variable"),
                ("where", 0, "keyword"),
                ("by entity\n", 0, "keyword"),
                ("by entity,", 0, "keyword"),
                ("entity\n", 0, "property"),
                ("status\n", 0, "property"),
                ("age", 0, "keyword"),
                ("approved_at >", 0, "property"),
                ("s =>", 0, "variable"),
            ],
        ),
        (
            "lifecycle.canon",
            LIFECYCLE,
            vec![
                ("put", 0, "keyword"),
                ("timesheets TimesheetState", 0, "variable"),
                ("update", 0, "keyword"),
                ("delete", 0, "keyword"),
                ("with", 0, "keyword"),
                ("state timesheets[\"T1", 0, "keyword"),
                ("no state", 0, "keyword"),
                ("state timesheets[\"T2", 0, "keyword"),
                ("status: Approved, hours", 0, "property"),
            ],
        ),
        (
            "extra.canon",
            extra,
            vec![("state: Text", 0, "property"), ("by: Int", 0, "property"), ("state\n", 0, "property")],
        ),
    ] {
        let uri = c.uri(file);
        let r = c.request("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": uri } })).await;
        let toks = decode_tokens(&legend, r["data"].as_array().map(Vec::as_slice).unwrap_or(&[]));
        for (needle, nth, want) in checks {
            let p = pos(text, needle, nth, 0);
            let (l, col) = (p["line"].as_u64().unwrap_or(0), p["character"].as_u64().unwrap_or(0));
            let got = toks.iter().find(|t| t.0 == l && t.1 == col).map(|t| t.3.clone());
            assert_eq!(got.as_deref(), Some(want), "{file}: `{needle}`");
        }
    }
}

#[tokio::test]
async fn document_symbols_list_states_and_metrics() {
    let mut c = lifecycle().await;
    let uri = c.uri("sheets.canon");
    let r = c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } })).await;
    let syms: Vec<(&str, u64)> =
        r.as_array().into_iter().flatten().filter_map(|s| Some((s["name"].as_str()?, s["kind"].as_u64()?))).collect();
    assert!(syms.contains(&("timesheets", 13)), "{syms:?}");
    assert!(syms.contains(&("approved_not_posted", 14)), "{syms:?}");
    assert!(syms.contains(&("open_sheets", 14)), "{syms:?}");
    let r = c.request("workspace/symbol", json!({ "query": "not_posted" })).await;
    assert_eq!(r[0]["name"], json!("approved_not_posted"));
}

/// Every quick fix offered at the line of the first diagnostic with `code`:
/// (title, the text with that fix applied).
async fn all_fixes(c: &mut Client, text: &str, code: &str) -> Vec<(String, String)> {
    let d = c.diagnostics("a.canon").await;
    let diag =
        d.iter().find(|d| d["code"] == json!(code)).unwrap_or_else(|| panic!("no {code} in {d:?} for\n{text}")).clone();
    let uri = c.uri("a.canon");
    let r = c
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": diag["range"], "context": { "diagnostics": [diag] } }),
        )
        .await;
    r.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let title = a["title"].as_str().unwrap_or("").to_string();
            (title, apply(text, a["edit"]["changes"][&uri].as_array().unwrap()))
        })
        .collect()
}

#[tokio::test]
async fn code_action_replaces_the_likely_slip() {
    // (text, code, title of the first fix, text after it); the fixed text checks clean.
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "event E as \"e\" {\n  hours: Decimal\n}\non E as e {\n  check e.hours = 0 else reject ZERO\n}\n",
            "E0001",
            "Replace `=` with `==`",
            "check e.hours == 0 else",
        ),
        ("fn fee(h: Decimal) -> Money = h * 12.50 usd\n", "E0001", "Replace `usd` with `USD`", "12.50 USD"),
        ("fn fee() -> Money = 12.50USD\n", "E0001", "Add a space", "12.50 USD"),
        ("fn home() -> Currency = Currency.eur\n", "E0201", "Replace `eur` with `EUR`", "Currency.EUR"),
        (
            "event E as \"e\" {\n  n: Int\n}\non E as e {\n  let c = eur\n}\n",
            "E0101",
            "Replace `eur` with `Currency.EUR`",
            "let c = Currency.EUR",
        ),
        (
            "enum Kind { Employee, Contractor }\ndecision rate(kind: Kind) -> Int\n  hit unique\n  | kind || rate |\n  | = Employee || 100 |\n  | Contractor || 120 |\n",
            "E0001",
            "Remove `=`",
            "| Employee || 100 |",
        ),
        (
            "enum Status { Open = \"OPEN\", Closed = \"CLOSED\" }\nfn open(s: Status) -> Bool = s == \"OPEN\"\n",
            "E0201",
            "Replace `\"OPEN\"` with `Open`",
            "s == Open",
        ),
        (
            "enum Status { Open = \"OPEN\", OnHold = \"ON_HOLD\", Closed = \"CLOSED\" }\nfn active(s: Status) -> Bool = s in [\"OPEN\", \"ON_HOLD\"]\n",
            "E0201",
            "Replace `[\"OPEN\", \"ON_HOLD\"]` with `[Open, OnHold]`",
            "s in [Open, OnHold]",
        ),
        (
            "enum Status { Open = \"OPEN\", Closed = \"CLOSED\" }\nfn code(s: Status) -> Int = match s { \"OPEN\" => 1, Closed => 2 }\n",
            "E0201",
            "Replace `\"OPEN\"` with `Open`",
            "match s { Open => 1",
        ),
    ];
    for (text, code, title, expect) in cases {
        let mut c = single(text).await;
        let fixes = all_fixes(&mut c, text, code).await;
        let (t, fixed) = fixes.first().cloned().unwrap_or_default();
        assert_eq!(t, *title, "{text}");
        assert!(fixed.contains(expect), "{fixed}");
        assert_eq!(codes_after(&mut c, 2, &fixed).await, Vec::<String>::new(), "{fixed}");
    }
}

#[tokio::test]
async fn code_action_offers_every_close_name() {
    let text = "record Line {\n  amount: Money\n}\ndestination erp_us: Line\ndestination erp_emea: Line\nevent E as \"e\" {\n  amount: Money\n}\non E as e {\n  emit erp_eu Line { amount: e.amount }\n}\n";
    let mut c = single(text).await;
    let fixes = all_fixes(&mut c, text, "E0101").await;
    let titles: Vec<&str> = fixes.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, vec!["Replace `erp_eu` with `erp_us`", "Replace `erp_eu` with `erp_emea`"]);
    let emea = &fixes[1].1;
    assert!(emea.contains("emit erp_emea Line"), "{emea}");
    assert_eq!(codes_after(&mut c, 2, emea).await, Vec::<String>::new(), "{emea}");
}

#[tokio::test]
async fn a_key_typo_is_one_diagnostic_and_its_fix_clears_the_lookup() {
    let text = "record Rate {\n  grade: Text\n  region: Text\n  rate: Money\n}\ntable rates: Rate key (grade, regoin)\nfn rate(g: Text, r: Text) -> Money? = rates[g, r]?.rate\n";
    let mut c = single(text).await;
    let fixes = all_fixes(&mut c, text, "E0103").await;
    assert_eq!(codes_after(&mut c, 2, text).await, vec!["E0103".to_string()]);
    let (t, fixed) = fixes.first().cloned().unwrap_or_default();
    assert_eq!(t, "Replace `regoin` with `region`");
    assert_eq!(codes_after(&mut c, 3, &fixed).await, Vec::<String>::new(), "{fixed}");
}

// ------------------------------------------------------------ lists (issue 13)

#[tokio::test]
async fn list_functions_have_hover_signature_help_and_typed_lets() {
    let text = "record W { name: Text, hours: Decimal }\n\
                fn top(ws: List<W>) -> Text? {\n  let sorted = sort_by(ws, w => w.hours, Descending)\n  let names = map(sorted, w => w.name)\n  names[0]\n}\n";
    let mut c = Client::start(&[("a.canon", text)]).await;
    c.open("a.canon", text).await;
    let h = c.hover("a.canon", pos(text, "sort_by", 0, 1)).await;
    assert!(h.contains("sort_by(List<T>, x => K, SortOrder) -> List<T>") && h.contains("stable"), "{h}");
    let h = c.hover("a.canon", pos(text, "names =", 0, 1)).await;
    assert!(h.contains("names: List<Text>"), "{h}");
    let h = c.hover("a.canon", pos(text, "sorted =", 0, 1)).await;
    assert!(h.contains("sorted: List<W>"), "{h}");
    let r = c.at("textDocument/signatureHelp", "a.canon", pos(text, "w => w.name", 0, 0)).await;
    assert_eq!(r["signatures"][0]["label"], json!("map(List<T>, x => U) -> List<U>"));
    assert_eq!(r["activeParameter"], json!(1));
}

const DATED: &str = "record Rate { grade: Text, valid_from: Date, valid_to: Date?, rate: Money }
table rates: Rate key grade effective valid_from to valid_to

fn rate_on(grade: Text, day: Date) -> Money? = rates[grade as of day]?.rate
";

#[tokio::test]
async fn effective_dated_tables_highlight_and_hover() {
    let mut c = Client::start(&[("dated.canon", DATED)]).await;
    c.open("dated.canon", DATED).await;
    let legend: Vec<String> = c.init["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    let uri = c.uri("dated.canon");
    let r = c.request("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": uri } })).await;
    let toks = decode_tokens(&legend, r["data"].as_array().map(Vec::as_slice).unwrap_or(&[]));
    for (needle, want) in [
        ("effective", "keyword"),
        ("valid_from to", "property"),
        ("to valid_to", "keyword"),
        ("valid_to\n", "property"),
        ("of day", "keyword"),
        ("as of", "keyword"),
    ] {
        let p = pos(DATED, needle, 0, 0);
        let (l, col) = (p["line"].as_u64().unwrap_or(0), p["character"].as_u64().unwrap_or(0));
        let got = toks.iter().find(|t| t.0 == l && t.1 == col).map(|t| t.3.clone());
        assert_eq!(got.as_deref(), Some(want), "`{needle}`");
    }
    // The lookup is an optional record; the table shows its declaration.
    let h = c.hover("dated.canon", pos(DATED, "rates[grade", 0, 1)).await;
    assert!(h.contains("rates[grade as of day]: Rate?"), "{h}");
    let h = c.hover("dated.canon", pos(DATED, "valid_from to", 0, 1)).await;
    assert!(h.contains("Rate.valid_from: Date"), "{h}");
}

const CALENDARS: &str = "enum Entity { US, DE }
record Holiday { entity: Entity, day: Date, name: Text }
table holidays: Holiday key (entity, day)
record Period { entity: Entity, name: Text, number: Int, year: Int, start: Date, end: Date }
table fiscal_periods: Period key entity effective start to end

calendar business {
  holidays: holidays
  periods: fiscal_periods
}

fn due(d: Date) -> Date = add_business_days(business, US, d, 5)
fn open_on(d: Date) -> Bool = is_business_day(business, DE, d)
fn period_name(d: Date) -> Text? = fiscal_period(business, US, d)?.name
";

#[tokio::test]
async fn calendar_functions_have_completion_hover_and_signature_help() {
    let mut c = Client::start(&[("cal.canon", CALENDARS)]).await;
    c.open("cal.canon", CALENDARS).await;
    assert!(c.diagnostics("cal.canon").await.is_empty());
    // Hover on each name: the signature and its one line.
    let h = c.hover("cal.canon", pos(CALENDARS, "add_business_days", 0, 1)).await;
    assert!(h.contains("add_business_days(calendar, who, date: Date, n: Int) -> Date"), "{h}");
    assert!(h.contains("business days after"), "{h}");
    let h = c.hover("cal.canon", pos(CALENDARS, "is_business_day", 0, 1)).await;
    assert!(h.contains("is_business_day(calendar, who, date: Date) -> Bool") && h.contains("holiday"), "{h}");
    let h = c.hover("cal.canon", pos(CALENDARS, "fiscal_period(", 0, 1)).await;
    assert!(h.contains("fiscal_period(calendar, who, date: Date) -> Period?"), "{h}");
    // Signature help with the active parameter.
    let r = c.at("textDocument/signatureHelp", "cal.canon", pos(CALENDARS, "d, 5)", 0, 3)).await;
    assert_eq!(r["signatures"][0]["label"], json!("add_business_days(calendar, who, date: Date, n: Int) -> Date"));
    assert_eq!(r["activeParameter"], json!(3));
    let r = c.at("textDocument/signatureHelp", "cal.canon", pos(CALENDARS, "business, DE", 0, 0)).await;
    assert_eq!(r["signatures"][0]["label"], json!("is_business_day(calendar, who, date: Date) -> Bool"));
    assert_eq!(r["activeParameter"], json!(0));
    // The names are completed with the built-ins, with their signature as detail.
    let editing = format!("{CALENDARS}fn f(d: Date) -> Bool = is_\n");
    c.change("cal.canon", 2, &editing).await;
    let r = c.at("textDocument/completion", "cal.canon", pos(&editing, "is_\n", 0, 3)).await;
    let items = r.as_array().cloned().unwrap_or_default();
    for name in ["is_business_day", "add_business_days", "fiscal_period", "round"] {
        assert!(items.iter().any(|i| i["label"] == json!(name)), "{name} in {items:?}");
    }
    let item = items.iter().find(|i| i["label"] == json!("fiscal_period")).cloned().unwrap_or_default();
    assert_eq!(item["detail"], json!("fiscal_period(calendar, who, date: Date) -> Period?"));
    // The first argument: the declared calendars first; then who, of the holiday table's key type.
    let editing = format!("{CALENDARS}fn f(d: Date) -> Bool = is_business_day(\n");
    c.change("cal.canon", 3, &editing).await;
    let labels = c.completion_labels("cal.canon", pos(&editing, "is_business_day(\n", 0, 16)).await;
    assert_eq!(labels.first().map(String::as_str), Some("business"), "{labels:?}");
    let editing = format!("{CALENDARS}fn f(d: Date) -> Bool = is_business_day(business, \n");
    c.change("cal.canon", 4, &editing).await;
    let labels = c.completion_labels("cal.canon", pos(&editing, "business, \n", 0, 10)).await;
    assert_eq!(labels.get(..2), Some(&["US".to_string(), "DE".to_string()][..]), "{labels:?}");
    // A calendar call checks as the table says: the arity message uses its usage.
    let editing = format!("{CALENDARS}fn g(d: Date) -> Bool = is_business_day(business, US)\n");
    c.change("cal.canon", 5, &editing).await;
    let diags = c.diagnostics("cal.canon").await;
    assert!(
        diags
            .iter()
            .any(|d| d["message"].as_str().is_some_and(|m| m.contains("`is_business_day(calendar, who, date)`"))),
        "{diags:?}"
    );
}

/// Unused declarations are hints tagged unnecessary, so the editor greys
/// them out (`canon check --strict` reports them as W0701–W0708); they go
/// away once used, and a package with errors has none.
#[tokio::test]
async fn unused_declarations_are_greyed_out() {
    let text = "event E as \"e\" { n: Int }\nrecord L { n: Int }\ndestination out: L\n\
                fn twice(n: Int) -> Int = n * 2\n\
                on E as e {\n  let extra = e.n\n  emit out L { n: e.n }\n}\n";
    let mut c = single(text).await;
    let d = c.diagnostics_and_hints("a.canon").await;
    let hints: Vec<(&str, &str, u64)> = d
        .iter()
        .map(|d| (d["code"].as_str().unwrap(), d["message"].as_str().unwrap(), d["severity"].as_u64().unwrap()))
        .collect();
    assert_eq!(hints.len(), 2, "{d:?}");
    assert!(hints[0].0 == "W0703" && hints[0].1.starts_with("function `twice` is never used"), "{hints:?}");
    assert!(hints[1].0 == "W0705" && hints[1].1.starts_with("`let` `extra` is never read"), "{hints:?}");
    assert!(d.iter().all(|d| d["severity"] == json!(4) && d["tags"] == json!([1])), "{d:?}");
    assert_eq!(d[0]["range"]["start"], pos(text, "twice", 0, 0));
    // Used: no hint left.
    let used = text.replace("emit out L { n: e.n }", "emit out L { n: twice(extra) }");
    c.change("a.canon", 2, &used).await;
    assert_eq!(c.diagnostics_and_hints("a.canon").await, Vec::<Value>::new());
    // An error hides them (what is unused cannot be told in a broken package).
    let broken = text.replace("e.n }", "e.nn }");
    c.change("a.canon", 3, &broken).await;
    let d = c.diagnostics_and_hints("a.canon").await;
    assert!(d.iter().all(|d| d["code"] == json!("E0103")), "{d:?}");
}

/// Text nested past the limit (LANGUAGE.md §2, "Nesting") — brackets, a
/// string in its own interpolation, a `not` chain, a long sum — is an E0001
/// the server publishes; highlighting, formatting and hover go on answering.
#[tokio::test]
async fn deep_nesting_is_a_diagnostic_and_the_server_goes_on() {
    let mut c = package().await;
    c.diagnostics("rules.canon").await;
    let deep = format!(
        "fn a() -> Int = {}1{}\nfn b() -> Text = {}1{}\nfn c() -> Bool = {}true\nfn d(x: Int) -> Int = {}\n",
        "(".repeat(50_000),
        ")".repeat(50_000),
        "\"{".repeat(20_000),
        "}\"".repeat(20_000),
        "not ".repeat(300),
        vec!["x"; 300].join(" + ")
    );
    c.open("deep.canon", &deep).await;
    let d = c.diagnostics("deep.canon").await;
    let deep_ones = d.iter().filter(|d| d["code"] == json!("E0001")).count();
    assert_eq!(deep_ones, 4, "{d:?}");
    assert!(d.iter().all(|d| d["message"].as_str().unwrap_or("").contains("levels deep")), "{d:?}");
    let uri = c.uri("deep.canon");
    let r = c.request("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": uri } })).await;
    assert!(r["data"].as_array().is_some_and(|t| !t.is_empty()), "{r}");
    let f = c
        .answer(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
        )
        .await;
    assert!(f.is_ok(), "{f:?}");
    let h = c.hover("rules.canon", pos(RULES, "round", 0, 1)).await;
    assert!(h.contains("round(Decimal, Int) -> Decimal"), "{h}");
}
