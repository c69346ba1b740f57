//! `--format github`: GitHub Actions workflow commands, one line per
//! diagnostic, which the runner turns into annotations on the pull request:
//!
//! ```text
//! ::error file=main.orch,line=1,col=29,endLine=1,endColumn=29,title=E0001 unexpected-token::expected expression, found `}`
//! ```
//!
//! Columns count characters and `endColumn` is exclusive, as in the JSON
//! format. GitHub takes columns only for a range on one line, so a range
//! over several lines gives `line` and `endLine` alone. Help follows the
//! message on a new line. An input that could not be read is an error
//! annotation on that path, titled with its code (`orchc::io`).

use std::io::{self, Write};

use orch_lang::{Diagnostic, Severity};

use super::{Unreadable, line_range};
use crate::files::SourceDb;

pub(crate) fn render(
    db: &SourceDb,
    diagnostics: &[Diagnostic],
    unreadable: &[Unreadable],
    out: &mut dyn Write,
) -> io::Result<()> {
    for problem in unreadable {
        writeln!(out, "{}", unreadable_command(problem))?;
    }
    for diagnostic in diagnostics {
        writeln!(out, "{}", command(db, diagnostic))?;
    }
    Ok(())
}

fn unreadable_command(problem: &Unreadable) -> String {
    let mut message = problem.message.clone();
    if let Some(help) = &problem.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    format!(
        "::error file={},title={}::{}",
        escape_property(&problem.path.display().to_string()),
        escape_property(&problem.code),
        escape_data(&message),
    )
}

fn command(db: &SourceDb, diagnostic: &Diagnostic) -> String {
    let file = db.get(diagnostic.primary.span.file);
    let range = line_range(file, diagnostic.primary.span);
    let name = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let title = format!("{} {}", diagnostic.code.code, diagnostic.code.name);
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let position = if range.start.line == range.end.line {
        format!(
            "line={},col={},endLine={},endColumn={}",
            range.start.line, range.start.column, range.end.line, range.end.column
        )
    } else {
        format!("line={},endLine={}", range.start.line, range.end.line)
    };
    format!(
        "::{name} file={},{position},title={}::{}",
        escape_property(&file.name),
        escape_property(&title),
        escape_data(&message),
    )
}

/// Escapes a command's message, as the Actions runner unescapes it.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a command property's value, where `:` and `,` also delimit.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50% done\r\nnext: a, b"), "50%25 done%0D%0Anext: a, b");
        assert_eq!(escape_property("C:\\a,b%.orch"), "C%3A\\a%2Cb%25.orch");
    }
}
