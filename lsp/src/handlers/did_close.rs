//! `textDocument/didClose`: the file on disk counts again, if there is one.

use tower_lsp_server::ls_types::DidCloseTextDocumentParams;

use crate::server::Server;
use crate::workspace::path_of;

pub(crate) fn did_close(server: &Server, params: DidCloseTextDocumentParams) {
    let path = path_of(&params.text_document.uri);
    let mut state = server.state();
    if state.documents.close(&path).is_some() {
        server.schedule(&mut state);
    }
}
