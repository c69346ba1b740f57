//! `textDocument/didChange`: full or incremental edits, applied in order.

use tower_lsp_server::ls_types::{DidChangeTextDocumentParams, MessageType};

use crate::server::Server;
use crate::stack::catching;
use crate::workspace::path_of;

pub(crate) fn did_change(server: &Server, params: DidChangeTextDocumentParams) {
    let path = path_of(&params.text_document.uri);
    let version = params.text_document.version;
    // No `.await` between receiving the edit and applying it: the handlers
    // of later edits cannot run in between.
    let mut state = server.state();
    let applied = catching(|| state.documents.change(&path, version, &params.content_changes));
    match applied {
        Ok(true) => server.schedule(&mut state),
        Ok(false) => {}
        Err(failure) => {
            drop(state);
            let client = server.client.clone();
            let message = format!("didChange {path}: {failure}");
            eprintln!("orch-lsp: {message}");
            tokio::spawn(async move { client.log_message(MessageType::ERROR, message).await });
        }
    }
}
