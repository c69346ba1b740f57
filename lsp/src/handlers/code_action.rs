//! `textDocument/codeAction`: quick fixes for the diagnostics in the
//! requested range (did-you-mean replacements, missing required fields,
//! `?.` and `??` for values that may be none). Each action carries the
//! diagnostics it fixes: the client's copy when it sent one with the same
//! code and range, otherwise the server's.
//!
//! Identity conflicts (`E0906`) are found by `orchc plan`, against the
//! state, not by the analysis: when the client sends one (from a plan run
//! in a task, with a problem matcher), the fix is the `moved` block that
//! keeps the object, added at the end of the file. The two addresses come
//! from the diagnostic's `data` (`{"from": …, "to": …}`) when it has them,
//! else from the message, whose form is stable: "`FROM` would be deleted
//! and `TO` created, …".

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
            let quick_fix = |action: ide::CodeAction, diagnostics: Vec<lsp::Diagnostic>| {
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
            };
            let mut response: Vec<CodeActionOrCommand> = actions
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
                    quick_fix(action, diagnostics)
                })
                .collect();
            for diagnostic in &sent {
                let Some((from, to)) = identity_conflict(diagnostic) else { continue };
                if let Some(action) = ide::identity_conflict_fix(&world.analysis, file, &from, &to)
                {
                    response.push(quick_fix(action, vec![diagnostic.clone()]));
                }
            }
            Some(response)
        })
        .await
}

/// The addresses of an identity conflict (`E0906`) the client sent: the
/// instance the plan would delete and the one it would create.
fn identity_conflict(diagnostic: &lsp::Diagnostic) -> Option<(String, String)> {
    let code = match diagnostic.code.as_ref()? {
        lsp::NumberOrString::String(code) => code.as_str(),
        lsp::NumberOrString::Number(_) => return None,
    };
    if code != "E0906" {
        return None;
    }
    if let Some(data) = &diagnostic.data
        && let (Some(from), Some(to)) = (data["from"].as_str(), data["to"].as_str())
    {
        return Some((from.to_string(), to.to_string()));
    }
    let mut quoted = diagnostic.message.split('`').skip(1).step_by(2);
    let (from, to) = (quoted.next()?, quoted.next()?);
    diagnostic
        .message
        .contains(" would be deleted and ")
        .then(|| (from.to_string(), to.to_string()))
}
