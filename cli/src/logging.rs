//! The debug log, through `tracing`: what the runtime does (provider calls
//! and their timings, refresh reads, lock waits), never a value, so no
//! secret can reach it.
//!
//! `ORCH_LOG` is a filter in `tracing-subscriber`'s `EnvFilter` syntax
//! (`debug`, `orch_runtime=debug`); unset, nothing is logged, unless
//! `--log-file` asks for a log, which then gets `debug`. The log goes to
//! standard error, or appended to the `--log-file`.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use miette::{Report, miette};
use tracing_subscriber::EnvFilter;

use crate::errors;
use crate::terminal::{self, Stream};

/// The variable that sets the log filter.
const VARIABLE: &str = "ORCH_LOG";

/// Installs the log for this process, or nothing when no log is asked for.
pub(crate) fn init(log_file: Option<&Path>) -> Result<(), Report> {
    let filter = match std::env::var(VARIABLE) {
        Ok(text) if !text.trim().is_empty() => EnvFilter::try_new(&text).map_err(|error| {
            miette!(
                code = "orchc::log",
                help = "write a level (`debug`, `info`) or targets with levels, such as `orch_runtime=debug,warn`",
                "{VARIABLE}=`{text}` is not a log filter: {error}"
            )
        })?,
        _ if log_file.is_some() => EnvFilter::new("debug"),
        _ => return Ok(()),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
    let result = match log_file {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|error| errors::path_error("open the log file", path, &error))?;
            builder.with_ansi(false).with_writer(Mutex::new(file)).try_init()
        }
        None => builder
            .with_ansi(terminal::color_enabled(Stream::Stderr))
            .with_writer(std::io::stderr)
            .try_init(),
    };
    result.map_err(|error| miette!(code = "orchc::log", "cannot start the log: {error}"))
}
