//! What `plan`, `apply`, `destroy`, `state` and `output` share on the
//! command line: the state flags, and rendering what the runtime answers
//! (diagnostics with source excerpts, run errors with their code and
//! help). Every decision is the runtime's (`orch_runtime::session`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use miette::miette;
use orch_lang::{Diagnostic, LineIndex};
use orch_runtime::error::RunError;
use orch_runtime::project::Project;
use orch_runtime::secrets::KeySource;

use crate::errors;
use crate::files::SourceDb;
use crate::render::human;
use crate::terminal::{self, Stream};

/// Flags that say where the state is.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StateArgs {
    /// Where the state is: a folder (local backend) or a `postgres://` URL
    /// (shared backend). Default: `ORCH_STATE`, else `.orch/` beside the
    /// root module.
    // Global, so that `orchc state list --state LOC` works as the CLI
    // contract writes it, after the subcommand as well as before it.
    #[arg(long = "state", value_name = "LOC", global = true)]
    pub(crate) state: Option<String>,

    /// How long to wait for the state's lock when another run holds it
    /// (e.g. `30s`, `2m`); by default, do not wait.
    #[arg(long = "lock-timeout", value_name = "DURATION", value_parser = parse_duration, default_value = "0s", global = true)]
    pub(crate) lock_timeout: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration: {e}"))
}

/// Renders diagnostics of one configuration with source excerpts.
pub(crate) struct Reporter {
    db: SourceDb,
}

impl Reporter {
    pub(crate) fn new(project: &Project) -> Reporter {
        let mut db = SourceDb::default();
        for source in project.analysis.files.iter() {
            db.add_path(PathBuf::from(&source.path), source.source.to_string());
        }
        Reporter { db }
    }

    /// Prints diagnostics on standard error.
    pub(crate) fn report(&self, diagnostics: &[Diagnostic]) {
        if diagnostics.is_empty() {
            return;
        }
        let config = human::Config { color: terminal::color_enabled(Stream::Stderr) };
        let stderr = std::io::stderr();
        let mut out = stderr.lock();
        if let Err(error) = human::render_diagnostics(&self.db, diagnostics, config, &mut out) {
            errors::report(errors::io_error("cannot write the report", error));
        }
    }

    /// `main.orch:3:10`, or the recorded place of a detached diagnostic.
    pub(crate) fn location(&self, diagnostic: &Diagnostic) -> String {
        if let Some(place) = &diagnostic.detached {
            return place.clone();
        }
        let span = diagnostic.primary.span;
        if (span.file.0 as usize) >= self.db.len() {
            return String::new();
        }
        let file = self.db.get(span.file);
        let at = LineIndex::new(&file.text).line_col(&file.text, span.start);
        format!("{}:{}:{}", file.name, at.line, at.column)
    }
}

/// Reports a run error: diagnostics with excerpts (when there is a
/// configuration to show them in), anything else with its code and help.
pub(crate) fn report(error: RunError, reporter: Option<&Reporter>) {
    match error {
        RunError::Diagnostics(diagnostics) => {
            match reporter {
                Some(reporter) => reporter.report(&diagnostics),
                None => {
                    for diagnostic in &diagnostics {
                        errors::report(miette!(
                            code = diagnostic.code.code,
                            "{}",
                            diagnostic.message
                        ));
                    }
                }
            }
            let n = diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "error: {n} error{} in the configuration; nothing was planned or changed",
                if n == 1 { "" } else { "s" }
            );
        }
        other => {
            let code = other.code();
            let report = match other.help() {
                Some(help) => miette!(code = code, help = help, "{other}"),
                None => miette!(code = code, "{other}"),
            };
            errors::report(report);
        }
    }
}

/// Leaves `value` to the operating system, which takes the whole process
/// back at exit, instead of freeing it piece by piece: for what a command
/// holds until it ends (the analysed configuration, a plan), whose
/// hundreds of thousands of allocations at 100,000 resources take a
/// tenth of a second or more to free and are never used again. Only for
/// plain data: nothing whose `Drop` releases a lock, a file or a process.
pub(crate) fn release_at_exit<T>(value: T) {
    std::mem::forget(value);
}

/// A runtime for a command: worker threads for provider operations; the
/// command's own thread evaluates.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            errors::report(errors::io_error("cannot start the runtime", error));
            None
        }
    }
}

/// Says where a key was generated, once.
pub(crate) fn report_generated_key(source: Option<KeySource>) {
    if let Some(source) = source {
        eprintln!("note: secrets in the state are encrypted with {source}");
    }
}

/// Writes `text` to standard output, ignoring a closed pipe.
pub(crate) fn print(text: &str) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
