//! `--format sarif`: a SARIF 2.1.0 log with one run, as GitHub code
//! scanning and other SARIF viewers accept it.
//!
//! The driver lists one rule per code that occurs, carrying the code's
//! page as help; every result points at its rule, its message is the
//! diagnostic's message and help, the primary label's message sits on its
//! location, and secondary labels become related locations. Columns count Unicode code points
//! (`columnKind`), and `endColumn` is exclusive, as SARIF defines it.

use std::io::{self, Write};
use std::path::{Component, Path};

use orch_lang::diagnostic::Code;
use orch_lang::{Diagnostic, Severity, Span};
use serde_json::{Value, json};

use super::{line_range, short_description};
use crate::files::{SourceDb, SourceFile};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub(crate) fn render(
    db: &SourceDb,
    diagnostics: &[Diagnostic],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut rules: Vec<&'static Code> = Vec::new();
    for diagnostic in diagnostics {
        if !rules.iter().any(|code| code.code == diagnostic.code.code) {
            rules.push(diagnostic.code);
        }
    }
    rules.sort_by_key(|code| code.code);
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|diagnostic| {
            let rule_index = rules.iter().position(|code| code.code == diagnostic.code.code);
            result(db, diagnostic, rule_index)
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "orchc",
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules.iter().map(|code| rule(code)).collect::<Vec<_>>(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn rule(code: &Code) -> Value {
    json!({
        "id": code.code,
        "name": code.name,
        "shortDescription": { "text": short_description(code) },
        "help": { "text": code.doc, "markdown": code.doc },
        "defaultConfiguration": { "level": level(code.severity) },
    })
}

fn result(db: &SourceDb, diagnostic: &Diagnostic, rule_index: Option<usize>) -> Value {
    let mut text = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        text.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<Value> = diagnostic
        .labels
        .iter()
        .enumerate()
        .map(|(id, label)| {
            let mut location = location(db, label.span);
            location["id"] = json!(id);
            location["message"] = json!({ "text": label.message });
            location
        })
        .collect();
    let mut primary = location(db, diagnostic.primary.span);
    if !diagnostic.primary.message.is_empty() {
        primary["message"] = json!({ "text": diagnostic.primary.message });
    }
    let mut result = json!({
        "ruleId": diagnostic.code.code,
        "level": level(diagnostic.severity),
        "message": { "text": text },
        "locations": [primary],
    });
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    if !related.is_empty() {
        result["relatedLocations"] = json!(related);
    }
    result
}

fn location(db: &SourceDb, span: Span) -> Value {
    let file = db.get(span.file);
    let range = line_range(file, span);
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": artifact_uri(file) },
            "region": {
                "startLine": range.start.line,
                "startColumn": range.start.column,
                "endLine": range.end.line,
                "endColumn": range.end.column,
            },
        },
    })
}

/// A relative URI with forward slashes for a relative path (code scanning
/// resolves it against the repository root), a `file://` URI otherwise.
fn artifact_uri(file: &SourceFile) -> String {
    let Some(path) = &file.path else { return percent_encode(&file.name) };
    let relative = path.is_relative() || path.components().next().is_none();
    let joined = uri_path(path);
    if relative { joined } else { format!("file://{joined}") }
}

/// The components of `path` joined with `/` and percent-encoded.
fn uri_path(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::RootDir => parts.push(String::new()),
            Component::Prefix(prefix) => {
                parts.push(format!("/{}", prefix.as_os_str().to_string_lossy()))
            }
            Component::CurDir => {}
            Component::ParentDir => parts.push("..".to_string()),
            Component::Normal(name) => parts.push(percent_encode(&name.to_string_lossy())),
        }
    }
    if parts.len() == 1 && parts[0].is_empty() { "/".to_string() } else { parts.join("/") }
}

/// Encodes every byte outside RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn uris_use_forward_slashes_and_percent_encoding() {
        assert_eq!(uri_path(Path::new("infra/main.orch")), "infra/main.orch");
        assert_eq!(uri_path(Path::new("my files/ü.orch")), "my%20files/%C3%BC.orch");
        assert_eq!(uri_path(Path::new("../x.orch")), "../x.orch");
        assert_eq!(uri_path(&PathBuf::from("/srv/a.orch")), "/srv/a.orch");
    }
}
