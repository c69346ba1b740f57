//! `--format sarif`: a SARIF 2.1.0 log with one run, valid against the
//! OASIS schema (vendored in `tests/data/sarif/`, checked by a test) and
//! meeting GitHub code scanning's requirements:
//!
//! - the driver has a non-empty `informationUri` (the project's home);
//! - one rule per code that occurs, with `shortDescription` (the first
//!   sentence of the code's page), `fullDescription` (its first paragraph),
//!   `helpUri` (the page online) and `help` as plain `text` and `markdown`;
//! - every result has `partialFingerprints` that stay the same when lines
//!   are added above it (code, file, the text of its line, its message);
//! - artifact URIs are relative to `%SRCROOT%`, the folder `orchc` ran in,
//!   which `originalUriBaseIds` gives as an absolute `file://` URI;
//! - secondary labels are related locations, each linked from the result's
//!   message (`[label](1)`), which is how code scanning shows them;
//! - `invocations[0]` says whether every input could be read
//!   (`executionSuccessful`) and lists each unreadable input as a
//!   `toolExecutionNotification`, so a missing file never gives an empty,
//!   clean-looking log.
//!
//! Columns count Unicode code points (`columnKind`), and `endColumn` is
//! exclusive, as SARIF defines it.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Component, Path};

use orch_lang::diagnostic::Code;
use orch_lang::{Diagnostic, Severity, Span};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Unreadable, line_range, short_description};
use crate::files::{SourceDb, SourceFile};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The base every relative artifact URI is resolved against.
const SRCROOT: &str = "SRCROOT";

/// The key of our fingerprint in `partialFingerprints`; the version goes up
/// when what goes into the hash changes.
const FINGERPRINT_KEY: &str = "orchcDiagnostic/v1";

/// Where the documentation of a diagnostic code is published.
pub(crate) fn help_uri(code: &Code) -> String {
    format!("{}/blob/main/docs/diagnostics/{}.md", env!("CARGO_PKG_REPOSITORY"), code.code)
}

/// What the log is made of: the sources, their diagnostics, the inputs that
/// could not be read, and the folder relative paths are relative to.
pub(crate) struct Input<'a> {
    pub(crate) db: &'a SourceDb,
    pub(crate) diagnostics: &'a [Diagnostic],
    pub(crate) unreadable: &'a [Unreadable],
    /// The current folder when `orchc` ran, absolute.
    pub(crate) root: &'a Path,
}

pub(crate) fn render(input: &Input<'_>, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &log(input))?;
    writeln!(out)
}

/// The whole log as JSON.
pub(crate) fn log(input: &Input<'_>) -> Value {
    let mut rules: Vec<&'static Code> = Vec::new();
    for diagnostic in input.diagnostics {
        if !rules.iter().any(|code| code.code == diagnostic.code.code) {
            rules.push(diagnostic.code);
        }
    }
    rules.sort_by_key(|code| code.code);
    let mut fingerprints = Fingerprints::default();
    let results: Vec<Value> = input
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let rule_index = rules.iter().position(|code| code.code == diagnostic.code.code);
            result(input, diagnostic, rule_index, &mut fingerprints)
        })
        .collect();
    let notifications: Vec<Value> =
        input.unreadable.iter().map(|problem| notification(input.root, problem)).collect();
    json!({
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
            "invocations": [{
                "executionSuccessful": input.unreadable.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "originalUriBaseIds": {
                SRCROOT: { "uri": directory_uri(input.root) },
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn rule(code: &Code) -> Value {
    let full = short_description(code);
    json!({
        "id": code.code,
        "name": code.name,
        "shortDescription": { "text": first_sentence(&full) },
        "fullDescription": { "text": full },
        "helpUri": help_uri(code),
        "help": { "text": plain_text(code.doc), "markdown": code.doc },
        "defaultConfiguration": { "level": level(code.severity) },
    })
}

/// The text up to and including the first `. ` (or all of it).
fn first_sentence(text: &str) -> String {
    match text.find(". ") {
        Some(end) => text[..=end].to_string(),
        None => text.to_string(),
    }
}

/// A Markdown page as plain text: no heading marks, code fences or
/// backticks; paragraphs and list items stay on their lines.
fn plain_text(markdown: &str) -> String {
    let mut lines = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            continue;
        }
        let line = line.trim_start_matches('#').trim_start_matches(' ');
        lines.push(line.replace('`', ""));
    }
    lines.join("\n").trim().to_string()
}

/// Escapes the characters that SARIF messages give a meaning to (`\`, `[`
/// and `]`, which form embedded links).
fn escape_message(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '[' | ']') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Counts results with the same fingerprint, so that two identical
/// diagnostics on identical lines still get different ones.
#[derive(Default)]
struct Fingerprints {
    seen: HashMap<String, usize>,
}

impl Fingerprints {
    fn next(&mut self, uri: &str, file: &SourceFile, diagnostic: &Diagnostic) -> String {
        let range = line_range(file, diagnostic.primary.span);
        let line = file.text.lines().nth(range.start.line.saturating_sub(1) as usize).unwrap_or("");
        let mut hasher = Sha256::new();
        for part in [diagnostic.code.code, uri, line.trim(), &diagnostic.message] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let hash: String =
            hasher.finalize().iter().take(16).map(|byte| format!("{byte:02x}")).collect();
        let count = self.seen.entry(hash.clone()).or_insert(0);
        *count += 1;
        format!("{hash}:{count}")
    }
}

fn result(
    input: &Input<'_>,
    diagnostic: &Diagnostic,
    rule_index: Option<usize>,
    fingerprints: &mut Fingerprints,
) -> Value {
    let mut text = escape_message(&diagnostic.message);
    let mut related = Vec::new();
    for (index, label) in diagnostic.labels.iter().enumerate() {
        // Ids start at 1: an embedded link `[text](0)` reads as odd.
        let id = index + 1;
        let mut location = location(input, label.span);
        location["id"] = json!(id);
        let shown =
            if label.message.is_empty() { "related".to_string() } else { label.message.clone() };
        location["message"] = json!({ "text": shown });
        text.push_str(&format!("\nsee [{}]({id})", escape_message(&shown)));
        related.push(location);
    }
    if let Some(help) = &diagnostic.help {
        text.push_str(&format!("\nhelp: {}", escape_message(help)));
    }
    let mut primary = location(input, diagnostic.primary.span);
    if !diagnostic.primary.message.is_empty() {
        primary["message"] = json!({ "text": diagnostic.primary.message });
    }
    let file = input.db.get(diagnostic.primary.span.file);
    let uri = primary["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap_or_default();
    let fingerprint = fingerprints.next(uri, file, diagnostic);
    let mut result = json!({
        "ruleId": diagnostic.code.code,
        "level": level(diagnostic.severity),
        "message": { "text": text },
        "locations": [primary],
        "partialFingerprints": { FINGERPRINT_KEY: fingerprint },
    });
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    if !related.is_empty() {
        result["relatedLocations"] = json!(related);
    }
    result
}

fn location(input: &Input<'_>, span: Span) -> Value {
    let file = input.db.get(span.file);
    let range = line_range(file, span);
    json!({
        "physicalLocation": {
            "artifactLocation": artifact_location(input.root, file.path.as_deref(), &file.name),
            "region": {
                "startLine": range.start.line,
                "startColumn": range.start.column,
                "endLine": range.end.line,
                "endColumn": range.end.column,
            },
        },
    })
}

/// A problem reading an input, as a notification of the invocation.
fn notification(root: &Path, problem: &Unreadable) -> Value {
    let name = problem.path.display().to_string();
    let mut text = problem.message.clone();
    if let Some(help) = &problem.help {
        text.push_str(&format!("\nhelp: {help}"));
    }
    json!({
        "level": "error",
        "descriptor": { "id": problem.code },
        "message": { "text": escape_message(&text) },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact_location(root, Some(&problem.path), &name),
            },
        }],
    })
}

/// A URI relative to `%SRCROOT%` for a path inside `root` (relative paths
/// are), an absolute `file://` URI for any other path.
fn artifact_location(root: &Path, path: Option<&Path>, name: &str) -> Value {
    let Some(path) = path else {
        return json!({ "uri": percent_encode(name), "uriBaseId": SRCROOT });
    };
    if path.is_relative() {
        return json!({ "uri": uri_path(path), "uriBaseId": SRCROOT });
    }
    match path.strip_prefix(root) {
        Ok(inside) if !inside.as_os_str().is_empty() => {
            json!({ "uri": uri_path(inside), "uriBaseId": SRCROOT })
        }
        _ => json!({ "uri": format!("file://{}", uri_path(path)) }),
    }
}

/// `file:///abs/folder/`: SARIF requires a base URI to end with `/`.
fn directory_uri(root: &Path) -> String {
    let path = uri_path(root);
    let path = if path.ends_with('/') { path } else { format!("{path}/") };
    format!("file://{path}")
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

    #[test]
    fn paths_inside_the_root_are_relative_to_srcroot() {
        let root = Path::new("/work/repo");
        assert_eq!(
            artifact_location(root, Some(Path::new("/work/repo/a b/m.orch")), ""),
            json!({"uri": "a%20b/m.orch", "uriBaseId": "SRCROOT"})
        );
        assert_eq!(
            artifact_location(root, Some(Path::new("infra/m.orch")), ""),
            json!({"uri": "infra/m.orch", "uriBaseId": "SRCROOT"})
        );
        assert_eq!(
            artifact_location(root, Some(Path::new("/srv/m.orch")), ""),
            json!({"uri": "file:///srv/m.orch"})
        );
        assert_eq!(directory_uri(root), "file:///work/repo/");
        assert_eq!(directory_uri(Path::new("/")), "file:///");
    }

    #[test]
    fn messages_escape_link_characters() {
        assert_eq!(escape_message(r"list [a] of \x"), r"list \[a\] of \\x");
    }

    #[test]
    fn descriptions_come_from_the_page() {
        assert_eq!(first_sentence("One thing. Then another."), "One thing.");
        assert_eq!(first_sentence("No end"), "No end");
        assert_eq!(
            plain_text("# E0001: title\n\nUse `x`.\n\n```orch\nlet a = 1\n```\n"),
            "E0001: title\n\nUse x.\n\nlet a = 1"
        );
    }
}
