//! The protocol edge: the only module that knows LSP and JSON-RPC types.
//! It converts requests to byte offsets for [`Workspace`], its answers back
//! to UTF-16 positions, and keeps the server alive when an analysis panics.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use canon_compiler::diagnostics::{Diagnostic as CanonDiagnostic, Severity};
use canon_compiler::syntax::ast::Span;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, ClientSocket, LanguageServer, LspService, Server};

use crate::analysis::{self, Completion, CompletionKind, Place, Symbol, TokenClass, Workspace};
use crate::text::{Pos, Positions};

/// The language server.
pub struct Backend {
    client: Client,
    workspace: Mutex<Workspace>,
    /// Whether the client lets us register a file watcher.
    can_watch: AtomicBool,
}

/// The service and its client socket, for stdio or an in-process client.
pub fn service() -> (LspService<Backend>, ClientSocket) {
    LspService::new(|client| Backend {
        client,
        workspace: Mutex::new(Workspace::new()),
        can_watch: AtomicBool::new(false),
    })
}

/// Serves the protocol on stdin and stdout until the client exits.
pub fn run_stdio() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let (service, socket) = service();
        Server::new(tokio::io::stdin(), tokio::io::stdout(), socket).serve(service).await;
    });
    Ok(())
}

fn uri_path(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|p| p.into_owned())
}

fn range(text: &str, span: Span) -> Range {
    let p = Positions::new(text);
    let (a, b) = (p.pos(span.start), p.pos(span.end));
    Range { start: Position::new(a.line, a.col16), end: Position::new(b.line, b.col16) }
}

fn offset(text: &str, pos: Position) -> u32 {
    Positions::new(text).offset(Pos { line: pos.line, col16: pos.character })
}

impl Backend {
    /// Runs an analysis under the lock, catching (and logging) a panic.
    pub async fn with<T>(&self, what: &str, f: impl FnOnce(&mut Workspace) -> T) -> Option<T> {
        let result = {
            let mut ws = self.lock();
            catch_unwind(AssertUnwindSafe(|| f(&mut ws)))
        };
        match result {
            Ok(v) => Some(v),
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                self.client.log_message(MessageType::ERROR, format!("canon lsp: {what} panicked: {msg}")).await;
                None
            }
        }
    }

    /// The key and a byte offset of a document position.
    fn locate(ws: &Workspace, uri: &Uri, pos: Position) -> Option<(String, u32)> {
        let key = ws.key_of(&uri_path(uri)?);
        let off = offset(ws.text(&key)?, pos);
        Some((key, off))
    }

    fn location(ws: &Workspace, place: &Place) -> Option<Location> {
        let uri = Uri::from_file_path(ws.path_of(&place.file))?;
        Some(Location { uri, range: range(ws.text(&place.file)?, place.span) })
    }

    fn to_diagnostic(ws: &Workspace, text: &str, d: &CanonDiagnostic) -> Diagnostic {
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        let related: Vec<DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .filter_map(|l| {
                let key = ws.key_of_id(l.file)?;
                let location = Self::location(ws, &Place { file: key, span: l.span })?;
                Some(DiagnosticRelatedInformation { location, message: l.message.clone() })
            })
            .collect();
        // Unused code is greyed out, as rust-analyzer does: a hint, tagged
        // unnecessary (`canon check --strict` reports it).
        let unused = canon_compiler::check::unused::CODES.contains(&d.code);
        Diagnostic {
            range: range(text, d.span),
            severity: Some(match d.severity {
                _ if unused => DiagnosticSeverity::HINT,
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            tags: unused.then(|| vec![DiagnosticTag::UNNECESSARY]),
            code: Some(NumberOrString::String(d.code.as_str().to_string())),
            source: Some("canon".into()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..Diagnostic::default()
        }
    }

    /// Publishes the diagnostics of every file of the package.
    async fn publish(&self) {
        let all = self
            .with("diagnostics", |ws| {
                let mut out = Vec::new();
                for (key, diags) in ws.diagnostics() {
                    let Some(uri) = Uri::from_file_path(ws.path_of(&key)) else {
                        continue;
                    };
                    let text = ws.text(&key).unwrap_or("");
                    out.push((uri, diags.iter().map(|d| Self::to_diagnostic(ws, text, d)).collect::<Vec<_>>()));
                }
                out
            })
            .await
            .unwrap_or_default();
        for (uri, diags) in all {
            self.client.publish_diagnostics(uri, diags, None).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Workspace> {
        match self.workspace.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn set_document(&self, uri: &Uri, text: String) -> Option<()> {
        let path = uri_path(uri)?;
        let mut ws = self.lock();
        if ws.root().is_none() {
            if let Some(dir) = path.parent() {
                ws.load_root(dir);
            }
        }
        let key = ws.key_of(&path);
        ws.set_text(&key, text);
        ws.set_open(&key, true);
        Some(())
    }
}

fn token_type(c: TokenClass) -> SemanticTokenType {
    match c {
        TokenClass::Keyword => SemanticTokenType::KEYWORD,
        TokenClass::Comment => SemanticTokenType::COMMENT,
        TokenClass::String => SemanticTokenType::STRING,
        TokenClass::Number => SemanticTokenType::NUMBER,
        TokenClass::Type => SemanticTokenType::TYPE,
        TokenClass::Enum => SemanticTokenType::ENUM,
        TokenClass::Function => SemanticTokenType::FUNCTION,
        TokenClass::Property => SemanticTokenType::PROPERTY,
        TokenClass::EnumMember => SemanticTokenType::ENUM_MEMBER,
        TokenClass::Variable => SemanticTokenType::VARIABLE,
        TokenClass::Parameter => SemanticTokenType::PARAMETER,
    }
}

/// Semantic tokens of a file (within `only`, when given), delta-encoded.
fn semantic_tokens(ws: &Workspace, key: &str, only: Option<Range>) -> Option<Vec<SemanticToken>> {
    let text = ws.text(key)?;
    let p = Positions::new(text);
    let (mut prev_line, mut prev_col) = (0u32, 0u32);
    let mut out = Vec::new();
    for (span, class) in ws.semantic_tokens(key) {
        let (a, b) = (p.pos(span.start), p.pos(span.end));
        if let Some(r) = only {
            if a.line < r.start.line || a.line > r.end.line {
                continue;
            }
        }
        let delta_line = a.line - prev_line;
        let delta_start = if delta_line == 0 { a.col16 - prev_col } else { a.col16 };
        let index = TokenClass::ALL.iter().position(|c| *c == class).unwrap_or(0) as u32;
        out.push(SemanticToken {
            delta_line,
            delta_start,
            length: b.col16.saturating_sub(a.col16),
            token_type: index,
            token_modifiers_bitset: 0,
        });
        (prev_line, prev_col) = (a.line, a.col16);
    }
    Some(out)
}

fn symbol_kind(k: analysis::SymbolKind) -> SymbolKind {
    match k {
        analysis::SymbolKind::Record => SymbolKind::STRUCT,
        analysis::SymbolKind::Event => SymbolKind::EVENT,
        analysis::SymbolKind::Enum => SymbolKind::ENUM,
        analysis::SymbolKind::Function => SymbolKind::FUNCTION,
        analysis::SymbolKind::Decision => SymbolKind::FUNCTION,
        analysis::SymbolKind::Table => SymbolKind::VARIABLE,
        analysis::SymbolKind::Destination => SymbolKind::INTERFACE,
        analysis::SymbolKind::State => SymbolKind::VARIABLE,
        analysis::SymbolKind::Metric => SymbolKind::CONSTANT,
        analysis::SymbolKind::Handler => SymbolKind::METHOD,
        analysis::SymbolKind::Test => SymbolKind::METHOD,
        analysis::SymbolKind::Field => SymbolKind::FIELD,
        analysis::SymbolKind::Variant => SymbolKind::ENUM_MEMBER,
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must still be written
fn document_symbol(text: &str, s: &Symbol) -> DocumentSymbol {
    let children: Vec<DocumentSymbol> = s.children.iter().map(|c| document_symbol(text, c)).collect();
    DocumentSymbol {
        name: s.name.clone(),
        detail: None,
        kind: symbol_kind(s.kind),
        tags: None,
        deprecated: None,
        range: range(text, s.span),
        selection_range: range(text, s.name_span),
        children: (!children.is_empty()).then_some(children),
    }
}

fn completion_item(index: usize, c: Completion) -> CompletionItem {
    let kind = match c.kind {
        CompletionKind::Field => CompletionItemKind::FIELD,
        CompletionKind::Variant => CompletionItemKind::ENUM_MEMBER,
        CompletionKind::Function => CompletionItemKind::FUNCTION,
        CompletionKind::Keyword => CompletionItemKind::KEYWORD,
        CompletionKind::Destination => CompletionItemKind::INTERFACE,
        CompletionKind::Type => CompletionItemKind::STRUCT,
        CompletionKind::Value => CompletionItemKind::VARIABLE,
        CompletionKind::Constant => CompletionItemKind::CONSTANT,
    };
    CompletionItem {
        label: c.label,
        kind: Some(kind),
        detail: c.detail,
        // The analysis lists values of the expected type first: keep its order.
        sort_text: Some(format!("{index:05}")),
        preselect: (c.expected && index == 0).then_some(true),
        documentation: c
            .docs
            .map(|d| Documentation::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value: d })),
        ..CompletionItem::default()
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let root =
            params.workspace_folders.as_ref().and_then(|f| f.first()).and_then(|f| uri_path(&f.uri)).or_else(|| {
                #[allow(deprecated)]
                params.root_uri.as_ref().and_then(uri_path)
            });
        let watch = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        self.can_watch.store(watch, Ordering::Relaxed);
        if let Some(root) = root {
            self.with("loading the workspace", |ws| ws.load_root(&root)).await;
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(PositionEncodingKind::UTF16),
                text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                inlay_hint_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
                    SemanticTokensOptions {
                        legend: SemanticTokensLegend {
                            token_types: TokenClass::ALL.iter().map(|c| token_type(*c)).collect(),
                            token_modifiers: Vec::new(),
                        },
                        range: Some(true),
                        full: Some(SemanticTokensFullOptions::Bool(true)),
                        ..SemanticTokensOptions::default()
                    },
                )),
                signature_help_provider: Some(SignatureHelpOptions {
                    trigger_characters: Some(vec!["(".into(), ",".into()]),
                    ..SignatureHelpOptions::default()
                }),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![".".into()]),
                    ..CompletionOptions::default()
                }),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo { name: "canon".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
            ..InitializeResult::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        if self.can_watch.load(Ordering::Relaxed) {
            // Files that are not open are watched on disk. The client answers
            // the registration later; do not wait for it here.
            let client = self.client.clone();
            tokio::spawn(async move {
                let options = DidChangeWatchedFilesRegistrationOptions {
                    watchers: vec![FileSystemWatcher {
                        glob_pattern: GlobPattern::String("**/*.canon".into()),
                        kind: None,
                    }],
                };
                let registration = Registration {
                    id: "canon-watch".into(),
                    method: "workspace/didChangeWatchedFiles".into(),
                    register_options: serde_json::to_value(options).ok(),
                };
                let _ = client.register_capability(vec![registration]).await;
            });
        }
        self.publish().await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        {
            let mut ws = self.lock();
            for change in &params.changes {
                if let Some(path) = uri_path(&change.uri) {
                    let key = ws.key_of(&path);
                    ws.reload(&key);
                }
            }
        }
        self.publish().await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        self.set_document(&params.text_document.uri, params.text_document.text);
        self.publish().await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // Full sync: the last change holds the whole text.
        if let Some(change) = params.content_changes.into_iter().last() {
            self.set_document(&params.text_document.uri, change.text);
            self.publish().await;
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        // The file on disk is the truth again.
        if let Some(path) = uri_path(&params.text_document.uri) {
            {
                let mut ws = self.lock();
                let key = ws.key_of(&path);
                ws.set_open(&key, false);
                ws.reload(&key);
            }
            self.publish().await;
        }
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        Ok(self
            .with("hover", |ws| {
                let (key, off) = Self::locate(ws, &p.text_document.uri, p.position)?;
                let (value, span) = ws.hover(&key, off)?;
                Some(Hover {
                    contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
                    range: Some(range(ws.text(&key)?, span)),
                })
            })
            .await
            .flatten())
    }

    async fn goto_definition(&self, params: GotoDefinitionParams) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        Ok(self
            .with("definition", |ws| {
                let (key, off) = Self::locate(ws, &p.text_document.uri, p.position)?;
                let place = ws.definition(&key, off)?;
                Some(GotoDefinitionResponse::Scalar(Self::location(ws, &place)?))
            })
            .await
            .flatten())
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let p = params.text_document_position;
        let include = params.context.include_declaration;
        Ok(self
            .with("references", |ws| {
                let (key, off) = Self::locate(ws, &p.text_document.uri, p.position)?;
                let places = ws.references(&key, off, include);
                Some(places.iter().filter_map(|pl| Self::location(ws, pl)).collect())
            })
            .await
            .flatten())
    }

    async fn document_symbol(&self, params: DocumentSymbolParams) -> Result<Option<DocumentSymbolResponse>> {
        Ok(self
            .with("document symbols", |ws| {
                let key = ws.key_of(&uri_path(&params.text_document.uri)?);
                let text = ws.text(&key)?;
                let syms = ws.document_symbols(&key).iter().map(|s| document_symbol(text, s)).collect();
                Some(DocumentSymbolResponse::Nested(syms))
            })
            .await
            .flatten())
    }

    async fn symbol(&self, params: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        Ok(self
            .with("workspace symbols", |ws| {
                let syms = ws
                    .workspace_symbols(&params.query)
                    .into_iter()
                    .filter_map(|(key, s)| {
                        let location = Self::location(ws, &Place { file: key, span: s.name_span })?;
                        Some(WorkspaceSymbol {
                            name: s.name,
                            kind: symbol_kind(s.kind),
                            tags: None,
                            container_name: None,
                            location: OneOf::Left(location),
                            data: None,
                        })
                    })
                    .collect();
                Some(WorkspaceSymbolResponse::Nested(syms))
            })
            .await
            .flatten())
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let p = params.text_document_position;
        Ok(self
            .with("completion", |ws| {
                let (key, off) = Self::locate(ws, &p.text_document.uri, p.position)?;
                let items =
                    ws.completion(&key, off).into_iter().enumerate().map(|(i, c)| completion_item(i, c)).collect();
                Some(CompletionResponse::Array(items))
            })
            .await
            .flatten())
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let p = params.text_document_position;
        let new_name = params.new_name;
        let answer = self
            .with("rename", |ws| {
                let (key, off) = Self::locate(ws, &p.text_document.uri, p.position).ok_or("no such file")?;
                let places = ws.rename(&key, off, &new_name)?;
                let mut changes: std::collections::HashMap<Uri, Vec<TextEdit>> = std::collections::HashMap::new();
                for place in &places {
                    if let Some(loc) = Self::location(ws, place) {
                        changes
                            .entry(loc.uri)
                            .or_default()
                            .push(TextEdit { range: loc.range, new_text: new_name.clone() });
                    }
                }
                Ok::<_, String>(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() })
            })
            .await;
        match answer {
            Some(Ok(edit)) => Ok(Some(edit)),
            Some(Err(why)) => Err(tower_lsp_server::jsonrpc::Error::invalid_params(why)),
            None => Ok(None),
        }
    }

    async fn signature_help(&self, params: SignatureHelpParams) -> Result<Option<SignatureHelp>> {
        let p = params.text_document_position_params;
        Ok(self
            .with("signature help", |ws| {
                let (key, off) = Self::locate(ws, &p.text_document.uri, p.position)?;
                let (sigs, active) = ws.signature_help(&key, off)?;
                let signatures = sigs
                    .into_iter()
                    .map(|(label, params)| SignatureInformation {
                        label,
                        documentation: None,
                        parameters: Some(
                            params
                                .into_iter()
                                .map(|p| ParameterInformation { label: ParameterLabel::Simple(p), documentation: None })
                                .collect(),
                        ),
                        active_parameter: None,
                    })
                    .collect();
                Some(SignatureHelp { signatures, active_signature: Some(0), active_parameter: Some(active) })
            })
            .await
            .flatten())
    }

    async fn semantic_tokens_full(&self, params: SemanticTokensParams) -> Result<Option<SemanticTokensResult>> {
        Ok(self
            .with("semantic tokens", |ws| {
                let key = ws.key_of(&uri_path(&params.text_document.uri)?);
                let data = semantic_tokens(ws, &key, None)?;
                Some(SemanticTokensResult::Tokens(SemanticTokens { result_id: None, data }))
            })
            .await
            .flatten())
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        Ok(self
            .with("semantic tokens", |ws| {
                let key = ws.key_of(&uri_path(&params.text_document.uri)?);
                let data = semantic_tokens(ws, &key, Some(params.range))?;
                Some(SemanticTokensRangeResult::Tokens(SemanticTokens { result_id: None, data }))
            })
            .await
            .flatten())
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        Ok(self
            .with("code actions", |ws| {
                let uri = params.text_document.uri.clone();
                let key = ws.key_of(&uri_path(&uri)?);
                let text = ws.text(&key)?;
                // The range asked about, widened to the diagnostics the
                // client says are there (a cursor on the line of one).
                let (mut start, mut end) = (offset(text, params.range.start), offset(text, params.range.end));
                for d in &params.context.diagnostics {
                    start = start.min(offset(text, d.range.start));
                    end = end.max(offset(text, d.range.end));
                }
                let actions = ws
                    .quick_fixes(&key, start, end)
                    .into_iter()
                    .map(|(title, edits)| {
                        let edits = edits
                            .into_iter()
                            .map(|(span, new_text)| TextEdit { range: range(text, span), new_text })
                            .collect();
                        let changes = std::collections::HashMap::from([(uri.clone(), edits)]);
                        CodeActionOrCommand::CodeAction(CodeAction {
                            title,
                            kind: Some(CodeActionKind::QUICKFIX),
                            edit: Some(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() }),
                            ..CodeAction::default()
                        })
                    })
                    .collect();
                Some(actions)
            })
            .await
            .flatten())
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        Ok(self
            .with("folding ranges", |ws| {
                let key = ws.key_of(&uri_path(&params.text_document.uri)?);
                let text = ws.text(&key)?;
                let ranges = ws
                    .folding_ranges(&key)
                    .into_iter()
                    .map(|s| {
                        let r = range(text, s);
                        FoldingRange { start_line: r.start.line, end_line: r.end.line, ..FoldingRange::default() }
                    })
                    .collect();
                Some(ranges)
            })
            .await
            .flatten())
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        Ok(self
            .with("inlay hints", |ws| {
                let key = ws.key_of(&uri_path(&params.text_document.uri)?);
                let text = ws.text(&key)?;
                let p = Positions::new(text);
                let from = offset(text, params.range.start);
                let to = offset(text, params.range.end);
                let hints = ws
                    .inlay_hints(&key, from, to)
                    .into_iter()
                    .map(|(off, label)| {
                        let at = p.pos(off);
                        InlayHint {
                            position: Position::new(at.line, at.col16),
                            label: InlayHintLabel::String(label),
                            kind: Some(InlayHintKind::TYPE),
                            text_edits: None,
                            tooltip: None,
                            padding_left: None,
                            padding_right: None,
                            data: None,
                        }
                    })
                    .collect();
                Some(hints)
            })
            .await
            .flatten())
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        Ok(self
            .with("formatting", |ws| {
                let key = ws.key_of(&uri_path(&params.text_document.uri)?);
                let text = ws.text(&key)?;
                let formatted = ws.format(&key)?;
                if formatted == text {
                    return Some(Vec::new());
                }
                let whole = range(text, Span::new(0, text.len()));
                Some(vec![TextEdit { range: whole, new_text: formatted }])
            })
            .await
            .flatten())
    }
}

#[cfg(test)]
#[allow(clippy::panic, clippy::expect_used)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_panic_in_an_analysis_is_caught_and_logged() {
        let (service, mut socket) = service();
        let logs = tokio::spawn(async move {
            let mut logs = Vec::new();
            while let Some(req) = socket.next().await {
                let (method, _, params) = req.into_parts();
                if method == "window/logMessage" {
                    logs.push(params.map(|p| p.to_string()).unwrap_or_default());
                    break;
                }
            }
            logs
        });
        let backend = service.inner();
        let r: Option<()> = backend.with("hover", |_| panic!("boom")).await;
        assert_eq!(r, None);
        // The workspace is still usable afterwards.
        assert_eq!(backend.with("keys", |ws| ws.keys().len()).await, Some(0));
        let logs = logs.await.expect("join");
        assert!(logs.iter().any(|l| l.contains("hover panicked: boom")), "{logs:?}");
    }
}
