//! `textDocument/completion`: keywords, kinds, the fields of a body, the
//! members of a record, names in scope and functions.

use orch_compiler::ide::{self, CompletionKind as Kind};
use orch_lang::Span;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, CompletionTextEdit,
    Documentation, MarkupContent, MarkupKind, TextEdit,
};

use crate::server::Server;
use crate::workspace::path_of;

pub(crate) async fn completion(
    server: &Server,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let at = params.text_document_position;
    let path = path_of(&at.text_document.uri);
    server
        .query("completion", move |world| {
            let file = world.file(&path)?;
            let text = world.text(file)?;
            let completions = ide::completions(&world.analysis, file, text.offset(at.position));
            let items = completions
                .into_iter()
                .enumerate()
                .map(|(index, completion)| {
                    let (start, end) = completion.replace;
                    let range = text.range(Span::new(file, start, end.max(start)));
                    let new_text =
                        completion.insert_text.clone().unwrap_or_else(|| completion.label.clone());
                    CompletionItem {
                        // Ranks first, then the order the compiler gave.
                        sort_text: Some(format!("{}{index:05}", completion.rank)),
                        filter_text: Some(completion.label.clone()),
                        kind: Some(kind(completion.kind)),
                        detail: completion.detail,
                        documentation: completion.documentation.map(|value| {
                            Documentation::MarkupContent(MarkupContent {
                                kind: MarkupKind::Markdown,
                                value,
                            })
                        }),
                        text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text })),
                        label: completion.label,
                        ..CompletionItem::default()
                    }
                })
                .collect();
            Some(CompletionResponse::Array(items))
        })
        .await
}

fn kind(kind: Kind) -> CompletionItemKind {
    match kind {
        Kind::Keyword => CompletionItemKind::KEYWORD,
        Kind::Variable => CompletionItemKind::VARIABLE,
        Kind::Declaration => CompletionItemKind::VALUE,
        Kind::Import => CompletionItemKind::MODULE,
        Kind::Kind => CompletionItemKind::CLASS,
        Kind::Field => CompletionItemKind::FIELD,
        Kind::Function => CompletionItemKind::FUNCTION,
        Kind::Type => CompletionItemKind::TYPE_PARAMETER,
        Kind::Constant => CompletionItemKind::CONSTANT,
    }
}
