//! The in-process LSP client of the tests (`lsp/tests/lsp.rs`) and the
//! speed bench (`lsp/benches/lsp_speed.rs`): drives `canon_lsp::service()`
//! with JSON-RPC requests over a package written to a temporary directory,
//! and keeps every notification the server sends.
// Each user takes the methods it needs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::{self, Request, Response};
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::LspService;

pub struct Client {
    service: LspService<canon_lsp::server::Backend>,
    /// The notifications from the server: method and params.
    notes: Arc<Mutex<Vec<(String, Value)>>>,
    /// Woken when a notification arrives.
    arrived: Arc<Notify>,
    /// How many diagnostics notifications `diagnostics` has seen, by URI.
    seen: HashMap<String, usize>,
    next_id: i64,
    /// The package's root.
    pub dir: tempfile::TempDir,
    /// The server's answer to `initialize`.
    pub init: Value,
}

impl Client {
    /// A server over a temporary package of `files` (name, text), initialized.
    pub async fn start<N: AsRef<Path>, T: AsRef<[u8]>>(files: &[(N, T)]) -> Client {
        let mut c = Client::new(files);
        c.initialize().await;
        c
    }

    /// A server over a temporary package of `files` (name, text), not yet
    /// initialized.
    pub fn new<N: AsRef<Path>, T: AsRef<[u8]>>(files: &[(N, T)]) -> Client {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let (service, mut socket) = canon_lsp::service();
        let notes = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (sink, wake) = (notes.clone(), arrived.clone());
        tokio::spawn(async move {
            while let Some(req) = socket.next().await {
                let (method, _, params) = req.into_parts();
                sink.lock().expect("lock").push((method.to_string(), params.unwrap_or(Value::Null)));
                wake.notify_waiters();
            }
        });
        Client { service, notes, arrived, seen: HashMap::new(), next_id: 1, dir, init: Value::Null }
    }

    /// `initialize` with the package's root (its answer kept in `init`), then `initialized`.
    pub async fn initialize(&mut self) {
        let root = self.uri("");
        let init = self.request("initialize", json!({ "capabilities": {}, "rootUri": root })).await;
        assert_eq!(init["capabilities"]["hoverProvider"], json!(true));
        self.init = init;
        self.notify("initialized", json!({})).await;
    }

    /// The URI of a file of the package (of the root for "").
    pub fn uri(&self, name: &str) -> String {
        let path = if name.is_empty() { self.dir.path().to_path_buf() } else { self.dir.path().join(name) };
        Uri::from_file_path(path).expect("uri").as_str().to_string()
    }

    /// The result of a request, which must succeed.
    pub async fn request(&mut self, method: &'static str, params: Value) -> Value {
        self.answer(method, params).await.expect("ok response")
    }

    /// The server's answer to a request: its result or its error.
    pub async fn answer(&mut self, method: &'static str, params: Value) -> Result<Value, jsonrpc::Error> {
        let req = Request::build(method).params(params).id(self.next_id).finish();
        self.next_id += 1;
        let resp = self.send(req).await.expect("response");
        let (_, body) = resp.into_parts();
        body
    }

    pub async fn notify(&mut self, method: &'static str, params: Value) {
        let req = Request::build(method).params(params).finish();
        assert!(self.send(req).await.is_none());
    }

    /// Hands a message to the server: its response (none for a notification).
    async fn send(&mut self, req: Request) -> Option<Response> {
        self.service.ready().await.expect("ready").call(req).await.expect("call")
    }

    pub async fn open(&mut self, name: &str, text: &str) {
        let uri = self.uri(name);
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "canon", "version": 1, "text": text } }),
        )
        .await;
    }

    pub async fn change(&mut self, name: &str, version: i32, text: &str) {
        let uri = self.uri(name);
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        )
        .await;
    }

    /// The next diagnostics published for a file (waits up to 5 s), but
    /// the hints (the greyed-out unused declarations).
    pub async fn diagnostics(&mut self, name: &str) -> Vec<Value> {
        let all = self.diagnostics_and_hints(name).await;
        all.into_iter().filter(|d| d["severity"] != json!(4)).collect()
    }

    /// The next diagnostics published for a file, hints included.
    pub async fn diagnostics_and_hints(&mut self, name: &str) -> Vec<Value> {
        let uri = self.uri(name);
        let seen = self.seen.get(&uri).copied().unwrap_or(0);
        for _ in 0..500 {
            let found: Vec<Value> = {
                let notes = self.notes.lock().expect("lock");
                notes
                    .iter()
                    .filter(|(m, p)| m == "textDocument/publishDiagnostics" && p["uri"] == json!(uri))
                    .map(|(_, p)| p["diagnostics"].clone())
                    .collect()
            };
            if found.len() > seen {
                self.seen.insert(uri.clone(), found.len());
                return found.last().and_then(Value::as_array).cloned().unwrap_or_default();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no diagnostics published for {name}");
    }

    /// How many diagnostics notifications were published, and the last
    /// diagnostics of `uri`.
    pub fn published(&self, uri: &str) -> (usize, Option<Vec<Value>>) {
        let notes = self.notes.lock().expect("lock");
        let all: Vec<&Value> =
            notes.iter().filter(|(m, _)| m == "textDocument/publishDiagnostics").map(|(_, p)| p).collect();
        let last = all.iter().rev().find(|p| p["uri"] == json!(uri)).and_then(|p| p["diagnostics"].as_array().cloned());
        (all.len(), last)
    }

    /// Waits until `n` diagnostics notifications have been published.
    pub async fn await_published(&self, n: usize) {
        loop {
            let arrived = self.arrived.notified();
            if self.published("").0 >= n {
                return;
            }
            if tokio::time::timeout(Duration::from_secs(10), arrived).await.is_err() {
                panic!("diagnostics were not published");
            }
        }
    }

    /// A request at a position of a file.
    pub async fn at(&mut self, method: &'static str, name: &str, position: Value) -> Value {
        let uri = self.uri(name);
        self.request(method, json!({ "textDocument": { "uri": uri }, "position": position })).await
    }

    pub async fn hover(&mut self, name: &str, position: Value) -> String {
        let h = self.at("textDocument/hover", name, position).await;
        h["contents"]["value"].as_str().unwrap_or("").to_string()
    }

    pub async fn completion_labels(&mut self, name: &str, position: Value) -> Vec<String> {
        let r = self.at("textDocument/completion", name, position).await;
        r.as_array()
            .map(|a| a.iter().filter_map(|i| i["label"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}
