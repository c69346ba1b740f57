//! `textDocument/didOpen`: the document's text replaces the file's on disk
//! for every analysis until it is closed.

use tower_lsp_server::ls_types::DidOpenTextDocumentParams;

use crate::server::Server;
use crate::workspace::path_of;

pub(crate) fn did_open(server: &Server, params: DidOpenTextDocumentParams) {
    let document = params.text_document;
    let path = path_of(&document.uri);
    // No `.await` between receiving the text and recording it, so edits
    // are applied in the order they arrive.
    let mut state = server.state();
    state.documents.open(path, document.uri, document.version, document.text);
    server.schedule(&mut state);
}
