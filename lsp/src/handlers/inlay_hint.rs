//! `textDocument/inlayHint`: inferred types of untyped `let`s and
//! `output`s, and a marker on values known only after apply, in the
//! requested range.

use orch_compiler::ide::{self, InlayHintKind as Kind};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    InlayHint, InlayHintKind, InlayHintLabel, InlayHintParams, InlayHintTooltip, MarkupContent,
    MarkupKind,
};

use crate::server::Server;
use crate::workspace::path_of;

pub(crate) async fn inlay_hint(
    server: &Server,
    params: InlayHintParams,
) -> Result<Option<Vec<InlayHint>>> {
    let path = path_of(&params.text_document.uri);
    let range = params.range;
    server
        .query("inlayHint", move |world| {
            let file = world.file(&path)?;
            let text = world.text(file)?;
            let (start, end) = (text.offset(range.start), text.offset(range.end));
            let hints = ide::inlay_hints(&world.analysis, file, start, end)
                .into_iter()
                .map(|hint| InlayHint {
                    position: text.position(hint.offset),
                    label: InlayHintLabel::String(hint.label),
                    kind: match hint.kind {
                        Kind::Type => Some(InlayHintKind::TYPE),
                        Kind::Phase => None,
                    },
                    text_edits: None,
                    tooltip: hint.tooltip.map(|value| {
                        InlayHintTooltip::MarkupContent(MarkupContent {
                            kind: MarkupKind::Markdown,
                            value,
                        })
                    }),
                    padding_left: Some(hint.kind == Kind::Phase),
                    padding_right: None,
                    data: None,
                })
                .collect();
            Some(hints)
        })
        .await
}
