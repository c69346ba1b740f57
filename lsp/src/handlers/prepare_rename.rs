//! `textDocument/prepareRename`: the name a rename at the cursor would
//! change, or why nothing there can be renamed (a keyword, a built-in
//! function, a kind or one of its fields).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{PrepareRenameResponse, TextDocumentPositionParams};

use crate::handlers::rename::refused;
use crate::server::Server;
use crate::workspace::path_of;

pub(crate) async fn prepare_rename(
    server: &Server,
    params: TextDocumentPositionParams,
) -> Result<Option<PrepareRenameResponse>> {
    let path = path_of(&params.text_document.uri);
    let answer = server
        .query("prepareRename", move |world| {
            let file = world.file(&path)?;
            let text = world.text(file)?;
            let offset = text.offset(params.position);
            let name = orch_compiler::ide::prepare_rename(&world.analysis, file, offset);
            Some(name.map(|span| PrepareRenameResponse::Range(text.range(span))))
        })
        .await?;
    refused(answer)
}
