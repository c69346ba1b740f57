//! Whether to colour output: only on a terminal, and never when `NO_COLOR`
//! is set to a non-empty value (<https://no-color.org>).

use std::io::IsTerminal;

/// An output stream, for deciding colour per stream: `check` reports on
/// standard output, while `fmt` reports on standard error because its
/// standard output may carry formatted source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

pub(crate) fn color_enabled(stream: Stream) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    if no_color {
        return false;
    }
    match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    }
}
