//! `textDocument/completion`: keywords, kinds, the fields of a body, the
//! members of a record, names in scope and functions.
//!
//! Completion answers at once from the latest analysis, even when the
//! edit that triggered it (a `.`, a letter) is still waiting for its own:
//! what the cursor is in comes from the document's newest text, the names
//! and types from that analysis, which has not seen the last keystrokes.
//! A name those keystrokes declared or renamed is missing until the next
//! request.
//!
//! In a large configuration an expression has thousands of names in
//! scope. Sending them all costs more than the analysis (serialising and
//! parsing megabytes of JSON), so a list longer than [`MAX_ITEMS`] keeps
//! the items that match the word before the cursor (its letters in order,
//! ignoring case, as editors filter), at most [`MAX_ITEMS`] of them, and is
//! marked incomplete: the editor asks again as the user types.

use orch_compiler::ide::{self, CompletionKind as Kind};
use orch_lang::{LineIndex, Span};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionList, CompletionParams, CompletionResponse,
    CompletionTextEdit, Documentation, MarkupContent, MarkupKind, TextEdit,
};

use crate::convert::Text;
use crate::server::Server;
use crate::workspace::path_of;

/// The most items one answer carries.
pub(crate) const MAX_ITEMS: usize = 200;

pub(crate) async fn completion(
    server: &Server,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let at = params.text_document_position;
    let path = path_of(&at.text_document.uri);
    // The text the position is in. It may be newer than the analysis the
    // answer comes from: completion does not wait for the analysis of the
    // edits just made (see `Server::query_early`).
    let newest = server.state().documents.get(&path).map(|document| document.text.clone());
    server
        .query_early("completion", path.clone(), move |world| {
            let file = world.file(&path)?;
            let analysed = world.text(file)?;
            let index;
            let text = match &newest {
                Some(newest) if **newest != *analysed.source => {
                    index = LineIndex::new(newest);
                    Text::new(newest, &index)
                }
                _ => analysed,
            };
            let offset = text.offset(at.position);
            let completions = ide::completions_in_text(&world.analysis, file, text.source, offset);
            let (completions, is_incomplete) = keep(completions, text.source);
            let items: Vec<CompletionItem> = completions
                .into_iter()
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
            Some(if is_incomplete {
                CompletionResponse::List(CompletionList { is_incomplete, items })
            } else {
                CompletionResponse::Array(items)
            })
        })
        .await
}

/// The completions to send, each with its index in the compiler's order,
/// and whether the list is incomplete. Up to [`MAX_ITEMS`], all of them;
/// beyond, those that match the text they replace, best matches first
/// (the text as a prefix, then ignoring case, then its letters in order),
/// then by rank, at most [`MAX_ITEMS`].
fn keep(completions: Vec<ide::Completion>, source: &str) -> (Vec<(usize, ide::Completion)>, bool) {
    if completions.len() <= MAX_ITEMS {
        return (completions.into_iter().enumerate().collect(), false);
    }
    let typed = |completion: &ide::Completion| {
        let (start, end) = completion.replace;
        source.get(start as usize..end.max(start) as usize).unwrap_or_default()
    };
    let mut kept: Vec<(u8, usize, ide::Completion)> = completions
        .into_iter()
        .enumerate()
        .filter_map(|(index, completion)| {
            let quality = matches(typed(&completion), &completion.label)?;
            Some((quality, index, completion))
        })
        .collect();
    kept.sort_by_key(|(quality, index, completion)| (*quality, completion.rank, *index));
    kept.truncate(MAX_ITEMS);
    kept.sort_by_key(|(_, index, _)| *index);
    (kept.into_iter().map(|(_, index, completion)| (index, completion)).collect(), true)
}

/// How well `label` matches the `typed` text: 0 when it starts with it,
/// 1 when it does ignoring case, 2 when it has its letters in order
/// (ignoring case), `None` otherwise.
fn matches(typed: &str, label: &str) -> Option<u8> {
    if label.starts_with(typed) {
        return Some(0);
    }
    let (typed, label) = (typed.to_lowercase(), label.to_lowercase());
    if label.starts_with(&typed) {
        return Some(1);
    }
    let mut letters = label.chars();
    typed.chars().all(|wanted| letters.any(|c| c == wanted)).then_some(2)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_matches_as_prefix_then_case_then_letters_in_order() {
        assert_eq!(matches("", "anything"), Some(0));
        assert_eq!(matches("con", "conf_1"), Some(0));
        assert_eq!(matches("Con", "conf_1"), Some(1));
        assert_eq!(matches("cf1", "conf_1"), Some(2));
        assert_eq!(matches("fs.f", "fs.file"), Some(0));
        assert_eq!(matches("xyz", "conf_1"), None);
        assert_eq!(matches("conf_12", "conf_1"), None);
    }

    #[test]
    fn long_lists_keep_the_best_matches_and_say_they_are_incomplete() {
        let source = "output o: string = co";
        let completion = |label: String, rank: u8| ide::Completion {
            label,
            kind: Kind::Variable,
            detail: None,
            documentation: None,
            insert_text: None,
            replace: (19, 21),
            rank,
        };
        let mut all: Vec<ide::Completion> =
            (0..MAX_ITEMS * 2).map(|i| completion(format!("x_c_o_{i}"), 0)).collect();
        all.push(completion("conf".to_string(), 1));
        all.push(completion("unrelated".to_string(), 0));
        let (kept, is_incomplete) = keep(all, source);
        assert!(is_incomplete);
        assert_eq!(kept.len(), MAX_ITEMS);
        // The prefix match comes through despite its rank, and stays last in
        // the compiler's order.
        assert_eq!(kept.last().map(|(_, c)| c.label.as_str()), Some("conf"));
        assert!(kept.iter().all(|(_, c)| c.label != "unrelated"));

        // Short lists go whole: the editor filters them.
        let short = vec![completion("conf".to_string(), 0), completion("other".to_string(), 0)];
        let (kept, is_incomplete) = keep(short, source);
        assert!(!is_incomplete);
        assert_eq!(kept.len(), 2);
    }
}
