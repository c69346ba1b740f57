//! Diagnostics for people: ariadne source excerpts, then one summary line.
//!
//! ```text
//! error[E0001]: expected expression, found `}`
//!    ╭─[ main.orch:1:29 ]
//!  1 │ resource x: fs.dir { path = }
//!    │                             ┬
//!    │                             ╰── expected expression
//! ───╯
//! error: 1 error (checked 1 file)
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::io::{self, Write};

use ariadne::{Color, IndexType, Label, Report, ReportKind, Source};
use orch_lang::{Diagnostic, FileId, Severity};
use yansi::Paint;

use super::{Summary, clamp_to_chars};
use crate::files::SourceDb;

/// How to render for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    /// Whether to use ANSI colours; decided per output stream by
    /// [`crate::terminal::color_enabled`].
    pub(crate) color: bool,
}

/// Serves file text to ariadne, building its line tables only for the
/// files that have diagnostics.
struct Sources<'db> {
    db: &'db SourceDb,
    cache: HashMap<FileId, Source<&'db str>>,
}

impl<'db> ariadne::Cache<FileId> for Sources<'db> {
    type Storage = &'db str;

    fn fetch(&mut self, id: &FileId) -> Result<&Source<&'db str>, impl fmt::Debug> {
        let db = self.db;
        Ok::<_, Infallible>(
            self.cache.entry(*id).or_insert_with(|| Source::from(db.get(*id).text.as_str())),
        )
    }

    fn display<'a>(&self, id: &'a FileId) -> Option<impl fmt::Display + 'a> {
        Some(self.db.get(*id).name.clone())
    }
}

fn severity_color(severity: Severity) -> Color {
    match severity {
        Severity::Error => Color::Red,
        Severity::Warning => Color::Yellow,
    }
}

/// Writes every diagnostic as an ariadne report.
pub(crate) fn render_diagnostics(
    db: &SourceDb,
    diagnostics: &[Diagnostic],
    config: Config,
    out: &mut dyn Write,
) -> io::Result<()> {
    // ariadne paints a custom report kind (our `error[E0001]` header)
    // whatever its `Config` says, through `yansi`; its global switch is
    // the only way to turn that colour off.
    if config.color {
        yansi::enable();
    } else {
        yansi::disable();
    }
    let mut sources = Sources { db, cache: HashMap::new() };
    for diagnostic in diagnostics {
        let header = format!("{}[{}]", diagnostic.severity.as_str(), diagnostic.code.code);
        if let Some(place) = &diagnostic.detached {
            // About an object known only from the state: no source excerpt.
            write_detached(diagnostic, &header, place, config, &mut *out)?;
            continue;
        }
        report(db, diagnostic, &header, config).write(&mut sources, &mut *out)?;
    }
    Ok(())
}

/// A diagnostic without a source span, at the place the state recorded.
fn write_detached(
    diagnostic: &Diagnostic,
    header: &str,
    place: &str,
    config: Config,
    out: &mut dyn Write,
) -> io::Result<()> {
    let color = severity_color(diagnostic.severity);
    let header =
        if config.color { header.fg(color).bold().to_string() } else { header.to_string() };
    writeln!(out, "{header}: {}", diagnostic.message)?;
    writeln!(out, "  --> {place}")?;
    if let Some(help) = &diagnostic.help {
        writeln!(out, "  help: {help}")?;
    }
    Ok(())
}

/// The ariadne report of one diagnostic. Spans are clamped to character
/// boundaries first: ariadne panics on a byte span that splits a character.
fn report<'a>(
    db: &SourceDb,
    diagnostic: &Diagnostic,
    header: &'a str,
    config: Config,
) -> Report<'a, (FileId, std::ops::Range<usize>)> {
    let located =
        |span: orch_lang::Span| (span.file, clamp_to_chars(&db.get(span.file).text, span));
    let color = severity_color(diagnostic.severity);
    // ariadne underlines only labels that have a message; without one the
    // span would show only as colour, and not at all in plain text.
    let primary_message =
        if diagnostic.primary.message.is_empty() { "here" } else { &diagnostic.primary.message };
    let primary = Label::new(located(diagnostic.primary.span))
        .with_message(primary_message)
        .with_color(color)
        .with_priority(1);
    let mut builder =
        Report::build(ReportKind::Custom(header, color), located(diagnostic.primary.span))
            .with_config(
                ariadne::Config::default()
                    .with_index_type(IndexType::Byte)
                    .with_color(config.color),
            )
            .with_message(&diagnostic.message)
            .with_label(primary);
    for label in &diagnostic.labels {
        builder = builder.with_label(
            Label::new(located(label.span)).with_message(&label.message).with_color(Color::Blue),
        );
    }
    if let Some(help) = &diagnostic.help {
        builder = builder.with_help(help);
    }
    builder.finish()
}

/// What one `check` run found, for its summary line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunSummary<'a> {
    /// Files read and checked.
    pub(crate) checked: usize,
    /// Paths that could not be read (reported on standard error).
    pub(crate) unreadable: usize,
    pub(crate) summary: Summary,
    /// The code of the first diagnostic, for the `orchc explain` hint.
    pub(crate) first_code: Option<&'a str>,
    pub(crate) deny_warnings: bool,
}

/// The last line: what was found in how many files, and where to read more.
pub(crate) fn render_summary(
    run: &RunSummary<'_>,
    config: Config,
    out: &mut dyn Write,
) -> io::Result<()> {
    let RunSummary { checked, unreadable, summary, first_code, deny_warnings } = *run;
    let files = plural(checked, "file");
    if summary.errors == 0 && summary.warnings == 0 && unreadable == 0 {
        return writeln!(out, "checked {files}: no problems");
    }
    let mut counts = Vec::new();
    if summary.errors > 0 {
        counts.push(plural(summary.errors, "error"));
    }
    if summary.warnings > 0 {
        let denied = if deny_warnings { " (denied by --deny-warnings)" } else { "" };
        counts.push(format!("{}{denied}", plural(summary.warnings, "warning")));
    }
    if unreadable > 0 {
        counts.push(format!("{} not read", plural(unreadable, "path")));
    }
    let counts = counts.join(", ");
    let failed = summary.errors > 0 || unreadable > 0 || deny_warnings;
    let (level, color) = if failed { ("error", Color::Red) } else { ("warning", Color::Yellow) };
    writeln!(out, "{}: {counts} (checked {files})", paint(level, color, config))?;
    if let Some(code) = first_code {
        writeln!(
            out,
            "{}: for more about a code, run `orchc explain {code}`",
            paint("note", Color::Cyan, config)
        )?;
    }
    Ok(())
}

fn paint(text: &str, color: Color, config: Config) -> String {
    if config.color { text.fg(color).bold().to_string() } else { text.to_string() }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

#[cfg(test)]
mod tests {
    use orch_lang::{FileId, Span, diagnostic::codes};

    use super::*;

    fn render_to_string(text: &str, diagnostics: &[Diagnostic]) -> String {
        let mut db = SourceDb::default();
        db.add_unnamed("test.orch", text.to_string());
        let mut out = Vec::new();
        render_diagnostics(&db, diagnostics, Config { color: false }, &mut out)
            .expect("writing to memory");
        String::from_utf8(out).expect("ariadne writes UTF-8")
    }

    #[test]
    fn header_names_severity_and_code() {
        let text = "let x = }\n";
        let diagnostic = Diagnostic::new(
            &codes::E0001,
            Span::new(FileId(0), 8, 9),
            "expected expression, found `}`",
        )
        .with_primary_message("expected expression")
        .with_help("write a value");
        let output = render_to_string(text, &[diagnostic]);
        assert!(output.starts_with("error[E0001]: expected expression, found `}`\n"), "{output}");
        assert!(output.contains("test.orch:1:9"), "{output}");
        assert!(output.contains("expected expression\n"), "{output}");
        assert!(output.contains("write a value"), "{output}");
        assert!(!output.contains('\u{1b}'), "no colour when disabled: {output}");
    }

    /// ariadne has panicked on byte spans inside multi-byte characters and
    /// at the end of input; every span over this text must render.
    #[test]
    fn any_span_in_non_ascii_text_renders() {
        let text = "é = \"ß😀\"\r\nx = 1\n\n名前 = 2";
        let len = text.len() as u32;
        for start in 0..=len + 1 {
            for end in start..=len + 2 {
                let diagnostic =
                    Diagnostic::new(&codes::E0001, Span::new(FileId(0), start, end), "problem")
                        .with_primary_message("here")
                        .with_label(Span::new(FileId(0), end.saturating_sub(1), end), "and here");
                let output = render_to_string(text, &[diagnostic]);
                assert!(output.starts_with("error[E0001]: problem"), "{start}..{end}: {output}");
            }
        }
    }

    #[test]
    fn summary_lines() {
        let render = |checked, unreadable, errors, warnings, deny_warnings| {
            let mut out = Vec::new();
            let run = RunSummary {
                checked,
                unreadable,
                summary: Summary { errors, warnings },
                first_code: Some("E0001"),
                deny_warnings,
            };
            render_summary(&run, Config { color: false }, &mut out).expect("writing to memory");
            String::from_utf8(out).expect("UTF-8")
        };
        assert_eq!(render(3, 0, 0, 0, false), "checked 3 files: no problems\n");
        assert!(
            render(3, 0, 2, 1, false).starts_with("error: 2 errors, 1 warning (checked 3 files)\n")
        );
        assert!(render(1, 0, 0, 1, false).starts_with("warning: 1 warning (checked 1 file)\n"));
        assert!(
            render(1, 0, 0, 1, true)
                .starts_with("error: 1 warning (denied by --deny-warnings) (checked 1 file)\n")
        );
        assert!(
            render(0, 1, 0, 0, false).starts_with("error: 1 path not read (checked 0 files)\n")
        );
    }
}
