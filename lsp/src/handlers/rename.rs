//! `textDocument/rename`: one workspace edit that renames a declaration,
//! type, record field or loop variable in every file that names it. A
//! rename of a resource or module declaration also adds, at the end of
//! its file, the `moved` block that keeps its objects (an apply would
//! otherwise delete and create them again; once applied the block is
//! harmless, and may be deleted). A
//! refused rename is an error response whose message says why, which
//! editors show as it is.

use std::collections::HashMap;

use tower_lsp_server::jsonrpc::{self, ErrorCode, Result};
use tower_lsp_server::ls_types::{RenameParams, TextEdit, Uri, WorkspaceEdit};

use crate::analyzer::World;
use crate::server::Server;
use crate::workspace::path_of;

/// `RequestFailed`: the request was valid but could not be carried out.
const REQUEST_FAILED: i64 = -32803;

pub(crate) async fn rename(server: &Server, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
    let at = params.text_document_position;
    let new_name = params.new_name;
    let path = path_of(&at.text_document.uri);
    let answer = server
        .query("rename", move |world| {
            let file = world.file(&path)?;
            let offset = world.text(file)?.offset(at.position);
            let spans = orch_compiler::ide::rename(&world.analysis, file, offset, &new_name);
            Some(spans.and_then(|spans| {
                let moved =
                    orch_compiler::ide::moved_block_for_rename(&world.analysis, &spans, &new_name);
                let mut edit = edit(world, &spans, &new_name)?;
                if let Some(moved) = moved {
                    add_edit(world, &mut edit, &moved)?;
                }
                Ok(edit)
            }))
        })
        .await?;
    refused(answer)
}

/// The edit that replaces every span with `new_name`.
fn edit(
    world: &World,
    spans: &[orch_lang::Span],
    new_name: &str,
) -> std::result::Result<WorkspaceEdit, String> {
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for &span in spans {
        // A partial rename would leave the program broken: all or nothing.
        let location = world
            .location(span)
            .ok_or_else(|| format!("cannot edit `{}`", world.analysis.files.get(span.file).path))?;
        changes
            .entry(location.uri)
            .or_default()
            .push(TextEdit { range: location.range, new_text: new_name.to_string() });
    }
    Ok(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() })
}

/// Adds `moved` (the block that keeps the renamed resource's object) to
/// the rename's edit.
fn add_edit(
    world: &World,
    edit: &mut WorkspaceEdit,
    moved: &orch_compiler::ide::TextEdit,
) -> std::result::Result<(), String> {
    let location = world.location(moved.span).ok_or_else(|| {
        format!("cannot edit `{}`", world.analysis.files.get(moved.span.file).path)
    })?;
    edit.changes
        .get_or_insert_with(HashMap::new)
        .entry(location.uri)
        .or_default()
        .push(TextEdit { range: location.range, new_text: moved.new_text.clone() });
    Ok(())
}

/// A refusal from the compiler as an error response with its message.
pub(crate) fn refused<T>(answer: Option<std::result::Result<T, String>>) -> Result<Option<T>> {
    match answer {
        None => Ok(None),
        Some(Ok(value)) => Ok(Some(value)),
        Some(Err(message)) => Err(jsonrpc::Error {
            code: ErrorCode::ServerError(REQUEST_FAILED),
            message: message.into(),
            data: None,
        }),
    }
}
