//! `textDocument/semanticTokens/full` and `/range`: the compiler's tokens
//! (byte ranges, one line each) encoded as the protocol's relative
//! positions in UTF-16 units. The legend is the order of
//! `orch_compiler::ide::TokenType::ALL` and `TokenModifier::ALL`; the
//! table of what gets which type is in `compiler/src/ide/semantic_tokens.rs`.

use orch_compiler::ide::{self, TokenModifier, TokenType};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokens,
    SemanticTokensFullOptions, SemanticTokensLegend, SemanticTokensOptions, SemanticTokensParams,
    SemanticTokensRangeParams, SemanticTokensRangeResult, SemanticTokensResult,
    SemanticTokensServerCapabilities,
};

use crate::convert::Text;
use crate::server::Server;
use crate::workspace::path_of;

/// The capability, with the legend.
pub(crate) fn capability() -> SemanticTokensServerCapabilities {
    SemanticTokensServerCapabilities::SemanticTokensOptions(SemanticTokensOptions {
        legend: SemanticTokensLegend {
            token_types: TokenType::ALL
                .iter()
                .map(|ty| SemanticTokenType::new(ty.name()))
                .collect(),
            token_modifiers: TokenModifier::ALL
                .iter()
                .map(|modifier| SemanticTokenModifier::new(modifier.name()))
                .collect(),
        },
        range: Some(true),
        full: Some(SemanticTokensFullOptions::Bool(true)),
        ..SemanticTokensOptions::default()
    })
}

pub(crate) async fn semantic_tokens_full(
    server: &Server,
    params: SemanticTokensParams,
) -> Result<Option<SemanticTokensResult>> {
    let path = path_of(&params.text_document.uri);
    server
        .query("semanticTokens/full", move |world| {
            let file = world.file(&path)?;
            let text = world.text(file)?;
            let tokens = ide::semantic_tokens(&world.analysis, file);
            Some(SemanticTokensResult::Tokens(encode(&text, &tokens)))
        })
        .await
}

pub(crate) async fn semantic_tokens_range(
    server: &Server,
    params: SemanticTokensRangeParams,
) -> Result<Option<SemanticTokensRangeResult>> {
    let path = path_of(&params.text_document.uri);
    let range = params.range;
    server
        .query("semanticTokens/range", move |world| {
            let file = world.file(&path)?;
            let text = world.text(file)?;
            let (start, end) = (text.offset(range.start), text.offset(range.end));
            let tokens = ide::semantic_tokens_in(&world.analysis, file, start, end);
            Some(SemanticTokensRangeResult::Tokens(encode(&text, &tokens)))
        })
        .await
}

/// Each token relative to the one before: lines, then UTF-16 columns on
/// the same line. The tokens are sorted and each lies on one line.
fn encode(text: &Text<'_>, tokens: &[ide::SemanticToken]) -> SemanticTokens {
    let mut data = Vec::with_capacity(tokens.len());
    let (mut line, mut character) = (0, 0);
    for token in tokens {
        let start = text.position(token.start);
        let length = text
            .source
            .get(token.start as usize..token.end as usize)
            .map_or(0, |s| s.encode_utf16().count() as u32);
        if length == 0 {
            continue;
        }
        let delta_line = start.line - line;
        let delta_start =
            if delta_line == 0 { start.character - character } else { start.character };
        data.push(SemanticToken {
            delta_line,
            delta_start,
            length,
            token_type: token.ty.index(),
            token_modifiers_bitset: token.modifiers,
        });
        (line, character) = (start.line, start.character);
    }
    SemanticTokens { result_id: None, data }
}

#[cfg(test)]
mod tests {
    use orch_lang::LineIndex;

    use super::*;

    #[test]
    fn positions_are_relative_and_in_utf16() {
        // `é` is one UTF-16 unit and two bytes, `😀` two units and four bytes.
        let source = "let s = \"é😀\" // x\nlet t = 1\n";
        let index = LineIndex::new(source);
        let text = Text::new(source, &index);
        let at = |needle: &str| source.find(needle).unwrap() as u32;
        let token = |start: u32, end: u32, ty| ide::SemanticToken { start, end, ty, modifiers: 0 };
        let tokens = [
            token(at("\"é"), at(" //"), TokenType::String),
            token(at("// x"), at("\nlet t"), TokenType::Comment),
            token(at("t ="), at("t =") + 1, TokenType::Variable),
        ];
        let encoded = encode(&text, &tokens).data;
        let rows: Vec<[u32; 4]> =
            encoded.iter().map(|t| [t.delta_line, t.delta_start, t.length, t.token_type]).collect();
        assert_eq!(
            rows,
            [
                [0, 8, 5, TokenType::String.index()],
                [0, 6, 4, TokenType::Comment.index()],
                [1, 4, 1, TokenType::Variable.index()],
            ]
        );
    }
}
