//! Compiler diagnostics as protocol diagnostics: the same code, message,
//! labels and help as `orchc check`, with UTF-16 ranges.

use std::collections::{BTreeMap, HashSet};

use orch_lang::{Diagnostic, FileId, Severity};
use tower_lsp_server::ls_types::{
    self as lsp, DiagnosticRelatedInformation, DiagnosticSeverity, NumberOrString, Uri,
};

use crate::analyzer::World;

/// The most diagnostics published for one file (as `orchc check` shows);
/// one more, of severity information, counts the rest.
pub(crate) const MAX_PER_FILE: usize = 100;

/// What to publish for an analysis: every open document (possibly with no
/// diagnostics, so that fixed errors disappear), every file with
/// diagnostics, and every file `previously` published with some. Returns
/// the files published with diagnostics, for the next call.
#[allow(clippy::type_complexity, reason = "the shape of a publishDiagnostics batch")]
pub(crate) fn publications(
    world: &World,
    previously: &HashSet<Uri>,
) -> (Vec<(Uri, Option<i32>, Vec<lsp::Diagnostic>)>, HashSet<Uri>) {
    let mut by_file: BTreeMap<FileId, Vec<lsp::Diagnostic>> = BTreeMap::new();
    let mut omitted: BTreeMap<FileId, usize> = BTreeMap::new();
    for diagnostic in &world.analysis.diagnostics {
        let file = diagnostic.primary.span.file;
        let shown = by_file.entry(file).or_default();
        if shown.len() == MAX_PER_FILE {
            *omitted.entry(file).or_default() += 1;
        } else if let Some(converted) = to_protocol(world, diagnostic) {
            shown.push(converted);
        }
    }
    // One note at the start of the file counts the diagnostics left out.
    for (file, more) in omitted {
        let shown = by_file.entry(file).or_default();
        shown.push(lsp::Diagnostic {
            severity: Some(DiagnosticSeverity::INFORMATION),
            source: Some("orch".to_string()),
            message: format!(
                "and {more} more diagnostic{} in this file, not shown (at most {MAX_PER_FILE} per file)",
                if more == 1 { "" } else { "s" }
            ),
            ..lsp::Diagnostic::default()
        });
    }
    by_file.retain(|_, diagnostics| !diagnostics.is_empty());
    let mut out: Vec<(Uri, Option<i32>, Vec<lsp::Diagnostic>)> = Vec::new();
    let mut published = HashSet::new();
    for (file, diagnostics) in by_file {
        let Some(uri) = world.uri(file) else { continue };
        let version = world.snapshot.documents.get(&world.analysis.files.get(file).path);
        published.insert(uri.clone());
        out.push((uri, version.map(|d| d.version), diagnostics));
    }
    for document in world.snapshot.documents.values() {
        if !out.iter().any(|(uri, _, _)| *uri == document.uri) {
            out.push((document.uri.clone(), Some(document.version), Vec::new()));
        }
    }
    for uri in previously {
        if !out.iter().any(|(published, _, _)| published == uri) {
            out.push((uri.clone(), None, Vec::new()));
        }
    }
    (out, published)
}

/// One diagnostic in protocol form; `None` when its file is unknown.
pub(crate) fn to_protocol(world: &World, diagnostic: &Diagnostic) -> Option<lsp::Diagnostic> {
    let span = diagnostic.primary.span;
    let range = world.text(span.file)?.range(span);
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    // As in `orchc check --format json`: the primary label's message when
    // it has one, then the secondary labels.
    let primary = (!diagnostic.primary.message.is_empty()).then_some(&diagnostic.primary);
    let related: Vec<DiagnosticRelatedInformation> = primary
        .into_iter()
        .chain(&diagnostic.labels)
        .filter_map(|label| {
            Some(DiagnosticRelatedInformation {
                location: world.location(label.span)?,
                message: label.message.clone(),
            })
        })
        .collect();
    Some(lsp::Diagnostic {
        range,
        severity: Some(match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.code.to_string())),
        code_description: None,
        source: Some("orch".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    })
}
