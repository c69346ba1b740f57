//! Renderers for diagnostics: `human` (ariadne), `json` (the shape of
//! LANGUAGE.md §10), `sarif` (SARIF 2.1.0 for code scanning) and `github`
//! (workflow commands that annotate a pull request).
//!
//! They all read the same data: a [`crate::files::SourceDb`] and diagnostics whose spans
//! are byte offsets into its files. This module turns those offsets into
//! 1-based lines and character columns once, for every renderer.

mod excerpt;
pub(crate) mod github;
pub(crate) mod graph;
pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod plan;
pub(crate) mod progress;
pub(crate) mod sarif;

use orch_lang::diagnostic::Code;
use orch_lang::{Diagnostic, LineCol, Severity, Span};

use crate::files::SourceFile;

/// A 1-based range of lines and character columns; `end` is exclusive (the
/// position just after the last character), so an empty span has
/// `start == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineRange {
    pub(crate) start: LineCol,
    pub(crate) end: LineCol,
}

/// The byte range of `span` in `text`, clamped to the text and widened to
/// character boundaries, so that a span from a faulty pass can neither
/// panic a renderer nor cut a character in two.
pub(crate) fn clamp_to_chars(text: &str, span: Span) -> std::ops::Range<usize> {
    let mut start = (span.start as usize).min(text.len());
    let mut end = (span.end as usize).clamp(start, text.len());
    let empty = start == end;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    if empty {
        return start..start;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

pub(crate) fn line_range(file: &SourceFile, span: Span) -> LineRange {
    let range = clamp_to_chars(&file.text, span);
    LineRange {
        start: file.line_index.line_col(&file.text, range.start as u32),
        end: file.line_index.line_col(&file.text, range.end as u32),
    }
}

/// An input that `check` could not read, for the formats that report it
/// beside the diagnostics (SARIF notifications, GitHub annotations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    pub(crate) path: std::path::PathBuf,
    /// The error's stable code (`orchc::io`, `orchc::encoding`).
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
}

impl Unreadable {
    pub(crate) fn new(path: &std::path::Path, report: &miette::Report) -> Unreadable {
        Unreadable {
            path: path.to_path_buf(),
            code: report.code().map_or_else(|| "orchc::io".to_string(), |code| code.to_string()),
            message: report.to_string(),
            help: report.help().map(|help| help.to_string()),
        }
    }
}

/// How many errors and warnings a run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) errors: usize,
    pub(crate) warnings: usize,
}

impl Summary {
    pub(crate) fn of(diagnostics: &[Diagnostic]) -> Summary {
        let mut summary = Summary::default();
        for diagnostic in diagnostics {
            match diagnostic.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
            }
        }
        summary
    }
}

/// The first paragraph of a code's page after its title, on one line.
pub(crate) fn short_description(code: &Code) -> String {
    let paragraph: Vec<&str> = code
        .doc
        .lines()
        .skip_while(|line| line.starts_with('#') || line.trim().is_empty())
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    if paragraph.is_empty() { code.name.to_string() } else { paragraph.join(" ") }
}

/// The output formats of `orchc check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Source excerpts with labels, for people.
    Human,
    /// One JSON document (LANGUAGE.md §10).
    Json,
    /// SARIF 2.1.0, for code scanning tools.
    Sarif,
    /// GitHub Actions workflow commands, which annotate pull requests.
    Github,
}

#[cfg(test)]
mod tests {
    use orch_lang::FileId;

    use super::*;

    #[test]
    fn clamping_widens_to_character_boundaries() {
        let text = "é=😀";
        let span = |start, end| Span::new(FileId(0), start, end);
        // `é` is bytes 0..2, `=` 2..3 and `😀` 3..7.
        assert_eq!(clamp_to_chars(text, span(1, 1)), 0..0);
        assert_eq!(clamp_to_chars(text, span(1, 4)), 0..7);
        assert_eq!(clamp_to_chars(text, span(2, 3)), 2..3);
        assert_eq!(clamp_to_chars(text, span(5, 100)), 3..7);
        assert_eq!(clamp_to_chars(text, span(100, 200)), 7..7);
    }

    #[test]
    fn short_description_is_the_first_paragraph() {
        for code in orch_lang::diagnostic::CODES {
            let description = short_description(code);
            assert!(!description.is_empty());
            assert!(!description.starts_with('#'), "{}: {description}", code.code);
            assert!(!description.contains('\n'));
        }
    }
}
