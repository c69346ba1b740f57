//! `textDocument/codeAction`: quick fixes for the diagnostics in the
//! requested range (did-you-mean replacements, missing required fields,
//! `?.` and `??` for values that may be none). Each action carries the
//! diagnostics it fixes: the client's copy when it sent one with the same
//! code and range, otherwise the server's.

use std::collections::HashMap;

use orch_compiler::ide;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    self as lsp, CodeAction, CodeActionKind, CodeActionOptions, CodeActionOrCommand,
    CodeActionParams, CodeActionProviderCapability, CodeActionResponse, TextEdit, WorkspaceEdit,
};

use crate::diagnostics::to_protocol;
use crate::server::Server;
use crate::workspace::path_of;

pub(crate) fn capability() -> CodeActionProviderCapability {
    CodeActionProviderCapability::Options(CodeActionOptions {
        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
        ..CodeActionOptions::default()
    })
}

pub(crate) async fn code_action(
    server: &Server,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    // Every action is a quick fix.
    if let Some(only) = &params.context.only
        && !only.iter().any(|kind| CodeActionKind::QUICKFIX.as_str().starts_with(kind.as_str()))
    {
        return Ok(None);
    }
    let path = path_of(&params.text_document.uri);
    let range = params.range;
    let sent = params.context.diagnostics;
    server
        .query("codeAction", move |world| {
            let file = world.file(&path)?;
            let text = world.text(file)?;
            let uri = world.uri(file)?;
            let (start, end) = (text.offset(range.start), text.offset(range.end));
            let actions = ide::code_actions(&world.analysis, file, start, end);
            let response = actions
                .into_iter()
                .map(|action| {
                    let diagnostics: Vec<lsp::Diagnostic> = action
                        .diagnostics
                        .iter()
                        .filter_map(|&index| {
                            let converted =
                                to_protocol(world, world.analysis.diagnostics.get(index)?)?;
                            let theirs = sent
                                .iter()
                                .find(|d| d.range == converted.range && d.code == converted.code);
                            Some(theirs.cloned().unwrap_or(converted))
                        })
                        .collect();
                    let edits: Vec<TextEdit> = action
                        .edits
                        .iter()
                        .map(|edit| TextEdit {
                            range: text.range(edit.span),
                            new_text: edit.new_text.clone(),
                        })
                        .collect();
                    CodeActionOrCommand::CodeAction(CodeAction {
                        title: action.title,
                        kind: Some(CodeActionKind::QUICKFIX),
                        diagnostics: (!diagnostics.is_empty()).then_some(diagnostics),
                        edit: Some(WorkspaceEdit {
                            changes: Some(HashMap::from([(uri.clone(), edits)])),
                            ..WorkspaceEdit::default()
                        }),
                        is_preferred: action.preferred.then_some(true),
                        ..CodeAction::default()
                    })
                })
                .collect();
            Some(response)
        })
        .await
}
