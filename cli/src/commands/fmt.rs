//! `orchc fmt`: formats `.orch` files in place, or standard input to
//! standard output with `-`.
//!
//! A file is written only when its formatting changes, through a temporary
//! file in the same folder that is renamed over it, so a crash or a full
//! disk never leaves a user's file truncated. A file with syntax errors is
//! reported and left untouched.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use miette::{Report, miette};
use orch_lang::{Diagnostic, FileId};

use crate::Outcome;
use crate::errors;
use crate::files::{self, SourceDb};
use crate::render::human;
use crate::terminal::{self, Stream};

/// The name standard input goes by in messages.
const STDIN_NAME: &str = "<stdin>";

#[derive(Debug, clap::Args)]
pub(crate) struct FmtArgs {
    /// Files or folders to format; a folder means every `*.orch` file below
    /// it; `-` formats standard input to standard output. Default: the
    /// current folder.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Write nothing; list the files whose formatting would change and fail
    /// if there are any.
    #[arg(long)]
    check: bool,
}

/// What happened to one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileOutcome {
    Unchanged,
    /// Rewritten, or, with `--check`, would be.
    Changed,
    /// Not formatted: syntax errors or an IO failure, already reported.
    Failed,
}

pub(crate) fn run(args: &FmtArgs) -> Outcome {
    let stdin = Path::new("-");
    if args.paths.iter().any(|path| path == stdin) {
        if args.paths.len() > 1 {
            errors::report(miette!(
                code = "orchc::usage",
                help = "run `orchc fmt -` on its own to format standard input",
                "`-` (standard input) cannot be combined with other paths"
            ));
            return Outcome::Failure;
        }
        return match format_stdin(args.check) {
            FileOutcome::Unchanged => Outcome::Success,
            FileOutcome::Changed if !args.check => Outcome::Success,
            FileOutcome::Changed | FileOutcome::Failed => Outcome::Failure,
        };
    }

    let discovery = files::discover(&args.paths);
    let mut failed = !discovery.errors.is_empty();
    for error in discovery.errors {
        errors::report(error.report);
    }
    let mut changed = 0;
    let mut broken = 0;
    for path in &discovery.files {
        match format_file(path, args.check) {
            FileOutcome::Unchanged => {}
            FileOutcome::Changed => changed += 1,
            FileOutcome::Failed => broken += 1,
        }
    }
    if broken > 0 {
        let files =
            if broken == 1 { "1 file was".to_string() } else { format!("{broken} files were") };
        errors::report(miette!("{files} not formatted because of the errors above"));
        failed = true;
    }
    if args.check && changed > 0 {
        failed = true;
    }
    if failed { Outcome::Failure } else { Outcome::Success }
}

/// Formats one file in place, or with `check`, prints its path when its
/// formatting would change.
fn format_file(path: &Path, check: bool) -> FileOutcome {
    let text = match files::read_source(path) {
        Ok(text) => text,
        Err(error) => {
            errors::report(error);
            return FileOutcome::Failed;
        }
    };
    let formatted = match orch_lang::fmt::format(&text) {
        Ok(formatted) => formatted,
        Err(diagnostics) => {
            let mut db = SourceDb::default();
            db.add_path(path.to_path_buf(), text);
            report_syntax_errors(&db, diagnostics);
            return FileOutcome::Failed;
        }
    };
    if formatted == text {
        return FileOutcome::Unchanged;
    }
    if check {
        println!("{}", path.display());
        return FileOutcome::Changed;
    }
    match write_atomically(path, &formatted) {
        Ok(()) => FileOutcome::Changed,
        Err(error) => {
            errors::report(error);
            FileOutcome::Failed
        }
    }
}

/// Formats standard input to standard output; with `check`, writes nothing
/// and prints `<stdin>` when the formatting would change. Input with syntax
/// errors produces no output at all (and exit status 1), so an editor that
/// pipes a buffer through `orchc fmt -` must check the status.
fn format_stdin(check: bool) -> FileOutcome {
    let mut bytes = Vec::new();
    if let Err(error) = io::stdin().read_to_end(&mut bytes) {
        errors::report(errors::io_error("cannot read standard input", error));
        return FileOutcome::Failed;
    }
    let Ok(text) = String::from_utf8(bytes) else {
        errors::report(miette!(code = "orchc::encoding", "standard input is not valid UTF-8"));
        return FileOutcome::Failed;
    };
    let formatted = match orch_lang::fmt::format(&text) {
        Ok(formatted) => formatted,
        Err(diagnostics) => {
            let mut db = SourceDb::default();
            db.add_unnamed(STDIN_NAME, text);
            report_syntax_errors(&db, diagnostics);
            return FileOutcome::Failed;
        }
    };
    let outcome = if formatted == text { FileOutcome::Unchanged } else { FileOutcome::Changed };
    let written = if check {
        if outcome == FileOutcome::Changed {
            let mut stdout = io::stdout().lock();
            writeln!(stdout, "{STDIN_NAME}").and_then(|()| stdout.flush())
        } else {
            Ok(())
        }
    } else {
        let mut stdout = io::stdout().lock();
        stdout.write_all(formatted.as_bytes()).and_then(|()| stdout.flush())
    };
    match written {
        Ok(()) => outcome,
        Err(error) => {
            errors::report(errors::io_error("cannot write standard output", error));
            FileOutcome::Failed
        }
    }
}

/// Prints the formatter's diagnostics for the only file of `db` to standard
/// error, where they cannot mix with formatted output.
fn report_syntax_errors(db: &SourceDb, mut diagnostics: Vec<Diagnostic>) {
    // The formatter parses the text on its own, with a file id of its
    // choosing; every span belongs to the one file in `db`.
    let file = FileId(0);
    for diagnostic in &mut diagnostics {
        diagnostic.primary.span.file = file;
        for label in &mut diagnostic.labels {
            label.span.file = file;
        }
    }
    let config = human::Config { color: terminal::color_enabled(Stream::Stderr) };
    let stderr = io::stderr();
    let mut out = stderr.lock();
    if let Err(error) = human::render_diagnostics(db, &diagnostics, config, &mut out) {
        errors::report(errors::io_error("cannot write to standard error", error));
    }
}

/// Replaces the contents of `path` with `text` by renaming a fully written
/// temporary file over it. A symbolic link stays a link: its target is
/// rewritten. The file keeps its permissions.
fn write_atomically(path: &Path, text: &str) -> Result<(), Report> {
    let target =
        fs::canonicalize(path).map_err(|error| errors::path_error("write", path, &error))?;
    let folder = target.parent().unwrap_or(Path::new("."));
    let permissions = fs::metadata(&target)
        .map_err(|error| errors::path_error("write", path, &error))?
        .permissions();
    let write = || -> io::Result<()> {
        let mut temporary =
            tempfile::Builder::new().prefix(".orchfmt-").suffix(".tmp").tempfile_in(folder)?;
        temporary.write_all(text.as_bytes())?;
        temporary.as_file().sync_all()?;
        fs::set_permissions(temporary.path(), permissions)?;
        temporary.persist(&target).map_err(|error| error.error)?;
        Ok(())
    };
    write().map_err(|error| errors::path_error("write", path, &error))
}
