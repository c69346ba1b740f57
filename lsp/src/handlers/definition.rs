//! `textDocument/definition`: where a name is declared, in this file or in
//! a module or imported file.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{GotoDefinitionParams, GotoDefinitionResponse};

use crate::server::Server;
use crate::workspace::path_of;

pub(crate) async fn definition(
    server: &Server,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>> {
    let at = params.text_document_position_params;
    let path = path_of(&at.text_document.uri);
    server
        .query("definition", move |world| {
            let file = world.file(&path)?;
            let offset = world.text(file)?.offset(at.position);
            let target = orch_compiler::ide::definition(&world.analysis, file, offset)?;
            Some(GotoDefinitionResponse::Scalar(world.location(target)?))
        })
        .await
}
