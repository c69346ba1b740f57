//! `textDocument/references`: every place that names the declaration, type,
//! record field or loop variable under the cursor, in every file.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{Location, ReferenceParams};

use crate::server::Server;
use crate::workspace::path_of;

pub(crate) async fn references(
    server: &Server,
    params: ReferenceParams,
) -> Result<Option<Vec<Location>>> {
    let at = params.text_document_position;
    let include_declaration = params.context.include_declaration;
    let path = path_of(&at.text_document.uri);
    server
        .query("references", move |world| {
            let file = world.file(&path)?;
            let offset = world.text(file)?.offset(at.position);
            let spans =
                orch_compiler::ide::references(&world.analysis, file, offset, include_declaration);
            Some(spans.into_iter().filter_map(|span| world.location(span)).collect())
        })
        .await
}
