//! `textDocument/hover`: types, doc comments and standard-library docs.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::server::Server;
use crate::workspace::path_of;

pub(crate) async fn hover(server: &Server, params: HoverParams) -> Result<Option<Hover>> {
    let at = params.text_document_position_params;
    let path = path_of(&at.text_document.uri);
    server
        .query("hover", move |world| {
            let file = world.file(&path)?;
            let text = world.text(file)?;
            let hover = orch_compiler::ide::hover(&world.analysis, file, text.offset(at.position))?;
            Some(Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: hover.markdown,
                }),
                range: Some(text.range(hover.span)),
            })
        })
        .await
}
