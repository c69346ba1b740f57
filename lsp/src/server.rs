//! The [`LanguageServer`] implementation: state shared by the handlers,
//! and dispatch to one handler per request under `handlers/`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tower_lsp_server::jsonrpc::{self, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use crate::analyzer::{Analyzer, Outgoing, Snapshot, World};
use crate::documents::Documents;
use crate::handlers;
use crate::stack::Failure;

/// The server's mutable state. It is only locked for short, synchronous
/// sections: never across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) documents: Documents,
    /// The workspace folders the client named.
    pub(crate) folders: Vec<PathBuf>,
    /// The `.orch` files found in the folders.
    pub(crate) workspace_files: Vec<String>,
    /// The generation of the newest snapshot.
    generation: u64,
    params: HashMap<String, String>,
}

/// The Orch language server.
pub struct Server {
    pub(crate) client: Client,
    state: Mutex<State>,
    latest: Arc<AtomicU64>,
    analyzer: Analyzer,
    /// Taken by `initialize`, which starts the task that sends what the
    /// analysis thread produces.
    outbox: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Outgoing>>>,
}

impl Server {
    pub(crate) fn new(client: Client, release: crate::ReleaseMemory) -> Server {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let latest = Arc::new(AtomicU64::new(0));
        // Like `orchc check`, params may come from `ORCH_VAR_NAME`.
        let params = std::env::vars()
            .filter_map(|(name, value)| {
                let param = name.strip_prefix("ORCH_VAR_").filter(|p| !p.is_empty())?;
                Some((param.to_string(), value))
            })
            .collect();
        Server {
            client,
            state: Mutex::new(State { params, ..State::default() }),
            analyzer: Analyzer::start(sender, latest.clone(), release),
            latest,
            outbox: Mutex::new(Some(receiver)),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held left the documents as they were
        // before or after one edit; serving on is better than stopping.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends a snapshot of `state` for analysis. Called with the lock held,
    /// right after an edit, so snapshots leave in the order of the edits.
    pub(crate) fn schedule(&self, state: &mut State) {
        state.generation += 1;
        self.latest.store(state.generation, Ordering::SeqCst);
        let documents: HashMap<_, _> =
            state.documents.iter().map(|(path, d)| (path.clone(), d.clone())).collect();
        let mut roots = state.workspace_files.clone();
        let mut open: Vec<&String> = documents.keys().filter(|p| !roots.contains(p)).collect();
        open.sort();
        roots.extend(open.into_iter().cloned());
        self.analyzer.analyze(Snapshot {
            generation: state.generation,
            documents,
            roots,
            params: state.params.clone(),
        });
    }

    /// Answers a request from the analysis of every edit received so far.
    /// A panic or a time-out becomes an error response and a log message.
    pub(crate) async fn query<T, F>(&self, request: &str, query: F) -> Result<Option<T>>
    where
        T: Send + 'static,
        F: FnOnce(&World) -> Option<T> + Send + 'static,
    {
        let result = self.analyzer.query(query).await;
        self.answer(request, result).await
    }

    /// Answers a request about the document at `path` at once, from the
    /// latest analysis that has it, even if newer edits wait for theirs
    /// (completion, which editors ask for along with the edit that
    /// triggers it). The query takes the document's newest text from the
    /// state; see `Analyzer::query_early`.
    pub(crate) async fn query_early<T, F>(
        &self,
        request: &str,
        path: String,
        query: F,
    ) -> Result<Option<T>>
    where
        T: Send + 'static,
        F: FnOnce(&World) -> Option<T> + Send + 'static,
    {
        let result = self.analyzer.query_early(path, query).await;
        self.answer(request, result).await
    }

    /// Turns a failure into an error response, and logs it.
    pub(crate) async fn answer<T>(
        &self,
        request: &str,
        result: std::result::Result<Option<T>, Failure>,
    ) -> Result<Option<T>> {
        match result {
            Ok(value) => Ok(value),
            Err(failure) => {
                let message = format!("{request}: {failure}");
                eprintln!("orch-lsp: {message}");
                self.client.log_message(MessageType::ERROR, &message).await;
                Err(jsonrpc::Error { message: message.into(), ..jsonrpc::Error::internal_error() })
            }
        }
    }

    /// Starts sending diagnostics and log messages from the analysis
    /// thread, once.
    pub(crate) fn start_outbox(&self) {
        let Some(mut receiver) = self.outbox.lock().unwrap_or_else(PoisonError::into_inner).take()
        else {
            return;
        };
        let client = self.client.clone();
        let latest = self.latest.clone();
        tokio::spawn(async move {
            while let Some(message) = receiver.recv().await {
                match message {
                    Outgoing::Diagnostics { generation, files } => {
                        // Results for an older snapshot are stale.
                        if generation < latest.load(Ordering::SeqCst) {
                            continue;
                        }
                        for (uri, version, diagnostics) in files {
                            client.publish_diagnostics(uri, diagnostics, version).await;
                        }
                    }
                    Outgoing::Log(kind, message) => client.log_message(kind, message).await,
                }
            }
        });
    }
}

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        Ok(handlers::initialize::initialize(self, params))
    }

    async fn initialized(&self, _: InitializedParams) {
        handlers::initialize::initialized(self).await
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::did_open::did_open(self, params)
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::did_change::did_change(self, params)
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::did_close::did_close(self, params)
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        handlers::hover::hover(self, params).await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        handlers::definition::definition(self, params).await
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        handlers::document_symbol::document_symbol(self, params).await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        handlers::completion::completion(self, params).await
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        handlers::formatting::formatting(self, params).await
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        handlers::semantic_tokens::semantic_tokens_full(self, params).await
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        handlers::semantic_tokens::semantic_tokens_range(self, params).await
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        handlers::inlay_hint::inlay_hint(self, params).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        handlers::code_action::code_action(self, params).await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        handlers::references::references(self, params).await
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        handlers::prepare_rename::prepare_rename(self, params).await
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        handlers::rename::rename(self, params).await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        handlers::workspace_symbol::symbol(self, params).await
    }

    async fn signature_help(&self, params: SignatureHelpParams) -> Result<Option<SignatureHelp>> {
        handlers::signature_help::signature_help(self, params).await
    }
}
