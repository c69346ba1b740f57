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
use std::fmt;
use std::io::{self, Write};

use ariadne::{Color, IndexType, Label, Report, ReportKind, Source};
use orch_lang::{Diagnostic, FileId, Severity};
use yansi::Paint;

use super::excerpt::Excerpt;
use super::{Summary, clamp_to_chars};
use crate::files::SourceDb;

/// How to render for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    /// Whether to use ANSI colours; decided per output stream by
    /// [`crate::terminal::color_enabled`].
    pub(crate) color: bool,
}

/// Serves ariadne the excerpts of one report (see [`Excerpt`]).
struct Excerpts<'db> {
    db: &'db SourceDb,
    files: HashMap<FileId, (Excerpt, Source<String>)>,
}

impl ariadne::Cache<FileId> for Excerpts<'_> {
    type Storage = String;

    fn fetch(&mut self, id: &FileId) -> Result<&Source<String>, impl fmt::Debug> {
        self.files.get(id).map(|(_, source)| source).ok_or("no excerpt of this file")
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

/// The most diagnostics shown for one file; the rest are counted in one
/// note, so that one broken file cannot flood a terminal.
pub(crate) const MAX_PER_FILE: usize = 100;

/// Writes every diagnostic as an ariadne report, at most [`MAX_PER_FILE`]
/// for each file.
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
    let mut shown: HashMap<FileId, usize> = HashMap::new();
    let mut omitted: Vec<(FileId, usize)> = Vec::new();
    for diagnostic in diagnostics {
        let header = format!("{}[{}]", diagnostic.severity.as_str(), diagnostic.code.code);
        if let Some(place) = &diagnostic.detached {
            // About an object known only from the state: no source excerpt.
            write_detached(diagnostic, &header, place, config, &mut *out)?;
            continue;
        }
        let file = diagnostic.primary.span.file;
        let count = shown.entry(file).or_default();
        if *count == MAX_PER_FILE {
            match omitted.iter_mut().find(|(f, _)| *f == file) {
                Some((_, more)) => *more += 1,
                None => omitted.push((file, 1)),
            }
            continue;
        }
        *count += 1;
        let Drawn { report, mut excerpts, headers } = report(db, diagnostic, &header, config);
        let mut written = Vec::new();
        report.write(&mut excerpts, &mut written)?;
        let mut written = String::from_utf8_lossy(&written).into_owned();
        // On a cut line ariadne counts the column of a location header in
        // the text it shows; the header gives the file's column.
        for (shown, real) in headers {
            written = written.replacen(&shown, &real, 1);
        }
        out.write_all(written.as_bytes())?;
    }
    for (file, more) in omitted {
        writeln!(
            out,
            "{}: {more} more {} in {} not shown (at most {MAX_PER_FILE} per file; \
             `--format json` lists every one)",
            paint("note", Color::Cyan, config),
            if more == 1 { "diagnostic" } else { "diagnostics" },
            db.get(file).name
        )?;
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

/// The ariadne report of one diagnostic, the excerpts it shows, and the
/// location headers to correct (as ariadne writes them, as they should
/// read). Spans are clamped to character boundaries first.
///
/// Labels are given in file order and, within a file, in source order:
/// ariadne starts a new section (with a location header) whenever a label
/// comes before the one given ahead of it, and heads a second section of
/// the primary's file with the primary's location again.
fn report<'a, 'db>(
    db: &'db SourceDb,
    diagnostic: &'a Diagnostic,
    header: &'a str,
    config: Config,
) -> Drawn<'a, 'db> {
    let color = severity_color(diagnostic.severity);
    // ariadne underlines only labels that have a message; without one the
    // span would show only as colour, and not at all in plain text.
    let primary_message =
        if diagnostic.primary.message.is_empty() { "here" } else { &diagnostic.primary.message };
    let primary_file = diagnostic.primary.span.file;
    let mut labels: Vec<(orch_lang::Span, &str, bool)> =
        vec![(diagnostic.primary.span, primary_message, true)];
    labels.extend(diagnostic.labels.iter().map(|l| (l.span, l.message.as_str(), false)));
    let ranges: Vec<(FileId, std::ops::Range<usize>)> = labels
        .iter()
        .map(|(span, _, _)| (span.file, clamp_to_chars(&db.get(span.file).text, *span)))
        .collect();
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&i| (ranges[i].0 != primary_file, ranges[i].0.0, ranges[i].1.start));

    let mut places: HashMap<FileId, Vec<usize>> = HashMap::new();
    for (file, range) in &ranges {
        places.entry(*file).or_default().extend([range.start, range.end]);
    }
    let mut excerpts = Excerpts { db, files: HashMap::new() };
    for (file, places) in places {
        let source = db.get(file);
        let excerpt = Excerpt::new(&source.text, &source.line_index, &places);
        let shown = Source::from(excerpt.text.clone());
        excerpts.files.insert(file, (excerpt, shown));
    }
    let shown = |file: FileId, range: &std::ops::Range<usize>| {
        let (excerpt, _) = &excerpts.files[&file];
        let text = &db.get(file).text;
        (file, excerpt.map(text, range.start)..excerpt.map(text, range.end))
    };

    // The location headers of files whose excerpt is cut: the first label
    // of each file in `order` (the primary, for its file).
    let mut headers = Vec::new();
    let mut headed = Vec::new();
    for &i in &order {
        let (file, range) = &ranges[i];
        if headed.contains(file) {
            continue;
        }
        headed.push(*file);
        let (excerpt, _) = &excerpts.files[file];
        if !excerpt.cut {
            continue;
        }
        let source = db.get(*file);
        let place = if *file == primary_file { ranges[0].1.start } else { range.start };
        let real = source.line_index.line_col(&source.text, place as u32);
        let at = excerpt.map(&source.text, place);
        let before: String = excerpt.text.chars().take(at).collect();
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        if column as u32 != real.column {
            let name = &source.name;
            headers.push((
                format!("{name}:{}:{column} ]", real.line),
                format!("{name}:{}:{} ]", real.line, real.column),
            ));
        }
    }

    let mut builder =
        Report::build(ReportKind::Custom(header, color), shown(primary_file, &ranges[0].1))
            .with_config(
                ariadne::Config::default()
                    .with_index_type(IndexType::Char)
                    .with_color(config.color),
            )
            .with_message(&diagnostic.message);
    for i in order {
        let (span, message, primary) = labels[i];
        let label = Label::new(shown(span.file, &ranges[i].1)).with_message(message);
        builder = builder.with_label(if primary {
            label.with_color(color).with_priority(1)
        } else {
            label.with_color(Color::Blue)
        });
    }
    if let Some(help) = &diagnostic.help {
        builder = builder.with_help(help);
    }
    Drawn { report: builder.finish(), excerpts, headers }
}

/// A place in an excerpt, as ariadne takes it.
type Place = (FileId, std::ops::Range<usize>);

/// A report ready to write: see [`report`].
struct Drawn<'a, 'db> {
    report: Report<'a, Place>,
    excerpts: Excerpts<'db>,
    /// Location headers as ariadne writes them, and as they should read.
    headers: Vec<(String, String)>,
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
