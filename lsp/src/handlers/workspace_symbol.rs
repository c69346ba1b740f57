//! `workspace/symbol`: the declarations of every file whose name matches
//! the query.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    OneOf, WorkspaceSymbol, WorkspaceSymbolParams, WorkspaceSymbolResponse,
};

use crate::handlers::document_symbol::symbol_kind;
use crate::server::Server;

pub(crate) async fn symbol(
    server: &Server,
    params: WorkspaceSymbolParams,
) -> Result<Option<WorkspaceSymbolResponse>> {
    let query = params.query;
    server
        .query("workspace/symbol", move |world| {
            let symbols = orch_compiler::ide::workspace_symbols(&world.analysis, &query);
            let symbols = symbols
                .into_iter()
                .filter_map(|symbol| {
                    Some(WorkspaceSymbol {
                        location: OneOf::Left(world.location(symbol.name_span)?),
                        name: symbol.name,
                        kind: symbol_kind(symbol.kind),
                        tags: None,
                        container_name: symbol.container,
                        data: None,
                    })
                })
                .collect();
            Some(WorkspaceSymbolResponse::Nested(symbols))
        })
        .await
}
