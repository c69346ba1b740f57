//! One file per subcommand. Each `run` reports its own problems and returns
//! an [`crate::Outcome`] for the exit code.

pub(crate) mod apply;
pub(crate) mod check;
pub(crate) mod explain;
pub(crate) mod fmt;
pub(crate) mod graph;
pub(crate) mod import;
pub(crate) mod lsp;
pub(crate) mod providers;
pub(crate) mod run;
pub(crate) mod state;
pub(crate) mod test;
