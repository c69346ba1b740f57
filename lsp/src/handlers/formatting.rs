//! `textDocument/formatting`: the formatter of `orchc fmt`. A document
//! with syntax errors is left as it is.

use orch_lang::LineIndex;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{DocumentFormattingParams, TextEdit};

use crate::convert::Text;
use crate::server::Server;
use crate::stack::on_big_stack;
use crate::workspace::path_of;

pub(crate) async fn formatting(
    server: &Server,
    params: DocumentFormattingParams,
) -> Result<Option<Vec<TextEdit>>> {
    let path = path_of(&params.text_document.uri);
    let Some(source) = server.state().documents.get(&path).map(|d| d.text.clone()) else {
        return Ok(None);
    };
    let result = on_big_stack("orch-fmt", move || {
        let formatted = orch_lang::fmt::format(&source).ok()?;
        if formatted == *source {
            return Some(Vec::new());
        }
        let index = LineIndex::new(&source);
        let range = Text::new(&source, &index).full_range();
        Some(vec![TextEdit { range, new_text: formatted }])
    })
    .await;
    server.answer("formatting", result).await
}
