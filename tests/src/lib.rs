//! Shared helpers for the corpus tests: finding test files and reading the
//! inline expectations written in them.
//!
//! An expectation is a comment on the offending line, `//~ error[E0001]`, or
//! on a later line pointing up, `//~^ error[E0001]` (one `^` per line up),
//! optionally followed by `: text` that the message must contain. The text
//! may be split by ` ... `: then its pieces must appear in that order (for
//! example a message and, later, one of its labels).

pub mod generate;

use std::path::{Path, PathBuf};

/// The repository root (the parent of this crate's folder).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Every file under `dir` (recursively) whose name ends with `suffix`,
/// sorted.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A diagnostic the test file says must be reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// 1-based line.
    pub line: u32,
    pub severity: String,
    pub code: String,
    pub message: Option<String>,
}

/// Reads the `//~` expectations of a source file.
pub fn expectations(source: &str) -> Result<Vec<Expectation>, String> {
    let mut out = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let Some(position) = line.find("//~") else { continue };
        let rest = &line[position + 3..];
        let carets = rest.chars().take_while(|&c| c == '^').count();
        let rest = rest[carets..].trim();
        let (head, message) = match rest.split_once(": ") {
            Some((head, message)) => (head, Some(message.trim().to_string())),
            None => (rest, None),
        };
        let (severity, code) = head
            .strip_suffix(']')
            .and_then(|head| head.split_once('['))
            .ok_or_else(|| format!("line {}: malformed expectation `{rest}`", index + 1))?;
        let line_number = (index + 1)
            .checked_sub(carets)
            .filter(|&n| n >= 1)
            .ok_or_else(|| format!("line {}: expectation points above the file", index + 1))?;
        out.push(Expectation {
            line: line_number as u32,
            severity: severity.trim().to_string(),
            code: code.to_string(),
            message,
        });
    }
    Ok(out)
}

/// Compares reported diagnostics, as expectations, with the expected ones.
/// Returns a readable description of every difference.
pub fn compare(expected: &[Expectation], actual: &[(Expectation, String)]) -> Result<(), String> {
    let mut unmatched: Vec<&(Expectation, String)> = actual.iter().collect();
    let mut problems = Vec::new();
    for want in expected {
        let found = unmatched.iter().position(|(got, message)| {
            got.line == want.line
                && got.code == want.code
                && got.severity == want.severity
                && want.message.as_ref().is_none_or(|m| contains_in_order(message, m))
        });
        match found {
            Some(index) => {
                unmatched.remove(index);
            }
            None => problems.push(format!(
                "missing: line {}: {}[{}]{}",
                want.line,
                want.severity,
                want.code,
                want.message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
            )),
        }
    }
    for (got, message) in unmatched {
        problems.push(format!(
            "unexpected: line {}: {}[{}]: {}",
            got.line, got.severity, got.code, message
        ));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

/// Whether the pieces of `pattern` separated by ` ... ` occur in `text` in
/// that order, without overlapping.
pub fn contains_in_order(text: &str, pattern: &str) -> bool {
    let mut rest = text;
    for piece in pattern.split(" ... ") {
        match rest.find(piece) {
            Some(position) => rest = &rest[position + piece.len()..],
            None => return false,
        }
    }
    true
}
