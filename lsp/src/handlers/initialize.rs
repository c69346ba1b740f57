//! `initialize` and `initialized`: the capabilities, the workspace folders,
//! and the first reading of the workspace's files.

use std::path::PathBuf;

use tower_lsp_server::ls_types::*;

use crate::handlers;
use crate::server::Server;
use crate::stack::catching;
use crate::workspace::discover;

pub(crate) fn initialize(server: &Server, params: InitializeParams) -> InitializeResult {
    let mut folders: Vec<PathBuf> = params
        .workspace_folders
        .unwrap_or_default()
        .iter()
        .filter_map(|folder| folder.uri.to_file_path().map(|path| path.into_owned()))
        .collect();
    #[allow(deprecated, reason = "clients without workspace folders still send a root URI")]
    if folders.is_empty()
        && let Some(path) = params.root_uri.as_ref().and_then(|uri| uri.to_file_path())
    {
        folders.push(path.into_owned());
    }
    server.state().folders = folders;
    server.start_outbox();
    InitializeResult {
        capabilities: ServerCapabilities {
            position_encoding: Some(PositionEncodingKind::UTF16),
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    ..TextDocumentSyncOptions::default()
                },
            )),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            definition_provider: Some(OneOf::Left(true)),
            document_symbol_provider: Some(OneOf::Left(true)),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec![".".to_string(), ":".to_string()]),
                ..CompletionOptions::default()
            }),
            document_formatting_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            rename_provider: Some(OneOf::Right(RenameOptions {
                prepare_provider: Some(true),
                work_done_progress_options: WorkDoneProgressOptions::default(),
            })),
            workspace_symbol_provider: Some(OneOf::Left(true)),
            signature_help_provider: Some(handlers::signature_help::capability()),
            semantic_tokens_provider: Some(handlers::semantic_tokens::capability()),
            inlay_hint_provider: Some(OneOf::Left(true)),
            code_action_provider: Some(handlers::code_action::capability()),
            ..ServerCapabilities::default()
        },
        server_info: Some(ServerInfo {
            name: "orch-lsp".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
        offset_encoding: None,
    }
}

/// Reads the workspace folders (off the async threads), then analyses
/// their files with the open documents.
pub(crate) async fn initialized(server: &Server) {
    let folders = server.state().folders.clone();
    if folders.is_empty() {
        return;
    }
    let found = tokio::task::spawn_blocking(move || {
        catching(|| folders.iter().flat_map(|folder| discover(folder)).collect::<Vec<_>>())
    })
    .await;
    let files = match found {
        Ok(Ok(files)) => files,
        Ok(Err(failure)) => {
            server
                .client
                .log_message(MessageType::ERROR, format!("reading the workspace: {failure}"))
                .await;
            return;
        }
        Err(error) => {
            server
                .client
                .log_message(MessageType::ERROR, format!("reading the workspace: {error}"))
                .await;
            return;
        }
    };
    let mut state = server.state();
    state.workspace_files = files;
    server.schedule(&mut state);
}
