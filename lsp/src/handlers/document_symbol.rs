//! `textDocument/documentSymbol`: the outline of a file.

use orch_compiler::ide::{self, SymbolKind as Kind};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, SymbolKind,
};

use crate::convert::Text;
use crate::server::Server;
use crate::workspace::path_of;

pub(crate) async fn document_symbol(
    server: &Server,
    params: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>> {
    let path = path_of(&params.text_document.uri);
    server
        .query("documentSymbol", move |world| {
            let file = world.file(&path)?;
            let text = world.text(file)?;
            let source = world.analysis.files.get(file);
            let symbols = ide::document_symbols(&source.parsed.file, &source.source);
            Some(DocumentSymbolResponse::Nested(
                symbols.iter().map(|symbol| convert(&text, symbol)).collect(),
            ))
        })
        .await
}

fn convert(text: &Text<'_>, symbol: &ide::Symbol) -> DocumentSymbol {
    #[allow(deprecated, reason = "the field is deprecated but must be written")]
    DocumentSymbol {
        name: symbol.name.clone(),
        detail: symbol.detail.clone(),
        kind: symbol_kind(symbol.kind),
        tags: None,
        deprecated: None,
        range: text.range(symbol.span),
        selection_range: text.range(symbol.name_span),
        children: (!symbol.children.is_empty())
            .then(|| symbol.children.iter().map(|child| convert(text, child)).collect()),
    }
}

/// The protocol's kind of a symbol (also for `workspace/symbol`).
pub(crate) fn symbol_kind(kind: Kind) -> SymbolKind {
    match kind {
        Kind::Param => SymbolKind::PROPERTY,
        Kind::Let => SymbolKind::VARIABLE,
        Kind::Type => SymbolKind::STRUCT,
        Kind::Resource => SymbolKind::OBJECT,
        Kind::Data => SymbolKind::OBJECT,
        Kind::Output => SymbolKind::FIELD,
        Kind::Module => SymbolKind::MODULE,
        Kind::Import => SymbolKind::NAMESPACE,
        Kind::Provider => SymbolKind::PACKAGE,
        Kind::Policy => SymbolKind::INTERFACE,
        Kind::Block => SymbolKind::NAMESPACE,
    }
}
