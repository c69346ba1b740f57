//! `--format json`: one JSON document in exactly the shape of LANGUAGE.md
//! §10. Lines and columns are 1-based, columns count characters, and a
//! range's end is exclusive.
//!
//! `labels` holds the primary label first when it has a message (the primary
//! range is also the diagnostic's `range`), then the secondary labels.
//! `help` is always present, `null` when there is none, so consumers never
//! need to test for a missing key.

use std::io::{self, Write};

use orch_lang::Diagnostic;
use serde::Serialize;

use super::{LineRange, Summary, line_range};
use crate::files::SourceDb;

/// The version of this document's shape; it changes only when a field
/// changes meaning or disappears.
const VERSION: u32 = 1;

#[derive(Debug, Serialize)]
struct Document<'a> {
    version: u32,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: JsonSummary,
}

#[derive(Debug, Serialize)]
struct JsonDiagnostic<'a> {
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    file: &'a str,
    range: Range,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct JsonLabel<'a> {
    message: &'a str,
    range: Range,
}

#[derive(Debug, Serialize)]
struct Range {
    start: Position,
    end: Position,
}

#[derive(Debug, Serialize)]
struct Position {
    line: u32,
    column: u32,
}

#[derive(Debug, Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
}

impl From<LineRange> for Range {
    fn from(range: LineRange) -> Range {
        Range {
            start: Position { line: range.start.line, column: range.start.column },
            end: Position { line: range.end.line, column: range.end.column },
        }
    }
}

pub(crate) fn render(
    db: &SourceDb,
    diagnostics: &[Diagnostic],
    out: &mut dyn Write,
) -> io::Result<()> {
    let summary = Summary::of(diagnostics);
    let document = Document {
        version: VERSION,
        diagnostics: diagnostics.iter().map(|diagnostic| json_diagnostic(db, diagnostic)).collect(),
        summary: JsonSummary { errors: summary.errors, warnings: summary.warnings },
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

fn json_diagnostic<'a>(db: &'a SourceDb, diagnostic: &'a Diagnostic) -> JsonDiagnostic<'a> {
    let file = db.get(diagnostic.primary.span.file);
    let primary = (!diagnostic.primary.message.is_empty()).then_some(&diagnostic.primary);
    let labels = primary
        .into_iter()
        .chain(&diagnostic.labels)
        .map(|label| JsonLabel {
            message: &label.message,
            range: line_range(db.get(label.span.file), label.span).into(),
        })
        .collect();
    JsonDiagnostic {
        severity: diagnostic.severity.as_str(),
        code: diagnostic.code.code,
        message: &diagnostic.message,
        file: &file.name,
        range: line_range(file, diagnostic.primary.span).into(),
        labels,
        help: diagnostic.help.as_deref(),
    }
}
