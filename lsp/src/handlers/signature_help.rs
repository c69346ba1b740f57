//! `textDocument/signatureHelp`: the signature and documentation of the
//! built-in function whose arguments hold the cursor, with the parameter
//! being typed.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    Documentation, MarkupContent, MarkupKind, ParameterInformation, ParameterLabel, SignatureHelp,
    SignatureHelpOptions, SignatureHelpParams, SignatureInformation,
};

use crate::server::Server;
use crate::workspace::path_of;

pub(crate) fn capability() -> SignatureHelpOptions {
    SignatureHelpOptions {
        trigger_characters: Some(vec!["(".to_string(), ",".to_string()]),
        retrigger_characters: Some(vec![")".to_string()]),
        ..SignatureHelpOptions::default()
    }
}

pub(crate) async fn signature_help(
    server: &Server,
    params: SignatureHelpParams,
) -> Result<Option<SignatureHelp>> {
    let at = params.text_document_position_params;
    let path = path_of(&at.text_document.uri);
    server
        .query("signatureHelp", move |world| {
            let file = world.file(&path)?;
            let offset = world.text(file)?.offset(at.position);
            let help = orch_compiler::ide::signature_help(&world.analysis, file, offset)?;
            // Label offsets count UTF-16 units of the label.
            let units = |byte: u32| help.signature[..byte as usize].encode_utf16().count() as u32;
            let parameters: Vec<ParameterInformation> = help
                .parameters
                .iter()
                .map(|&(start, end)| ParameterInformation {
                    label: ParameterLabel::LabelOffsets([units(start), units(end)]),
                    documentation: None,
                })
                .collect();
            // Past the last parameter, an index out of range highlights none.
            let active = help.active_parameter.unwrap_or(parameters.len() as u32);
            Some(SignatureHelp {
                signatures: vec![SignatureInformation {
                    label: help.signature.to_string(),
                    documentation: Some(Documentation::MarkupContent(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: help.doc.to_string(),
                    })),
                    parameters: Some(parameters),
                    active_parameter: Some(active),
                }],
                active_signature: Some(0),
                active_parameter: Some(active),
            })
        })
        .await
}
