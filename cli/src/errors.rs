//! Errors of the command line itself (unreadable files, bad paths), as
//! opposed to diagnostics about Orch source. They are `miette` reports with
//! a code and, where a fix is likely, help; they always go to standard error.

use std::fmt::Display;
use std::io;
use std::path::Path;

use miette::{MietteHandlerOpts, Report, miette};

use crate::terminal::{self, Stream};

/// Sets up `miette` to colour only when standard error is a terminal and
/// `NO_COLOR` is unset, like the rest of the output.
pub(crate) fn install_miette_hook() {
    let color = terminal::color_enabled(Stream::Stderr);
    // Setting the hook fails only if it was already set; the first one wins.
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            MietteHandlerOpts::new()
                .force_graphical(true)
                .color(color)
                .unicode(color)
                .terminal_links(false)
                // Scripts match on messages: no wrapping off a terminal.
                .wrap_lines(color)
                .build(),
        )
    }));
}

/// Prints a command-line error to standard error.
pub(crate) fn report(error: Report) {
    eprintln!("{error:?}");
}

/// A failure to read or write `path`.
pub(crate) fn path_error(action: &str, path: &Path, error: &io::Error) -> Report {
    let help = match error.kind() {
        io::ErrorKind::NotFound => Some("check the path; a PATH is a `.orch` file or a folder"),
        io::ErrorKind::PermissionDenied => Some("check the file's permissions"),
        _ => None,
    };
    match help {
        Some(help) => miette!(
            code = "orchc::io",
            help = help,
            "cannot {action} `{}`: {error}",
            path.display()
        ),
        None => miette!(code = "orchc::io", "cannot {action} `{}`: {error}", path.display()),
    }
}

/// A failure of standard input or output.
pub(crate) fn io_error(what: impl Display, error: io::Error) -> Report {
    miette!(code = "orchc::io", "{what}: {error}")
}
