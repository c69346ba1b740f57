//! `orchc lsp`: the language server, over standard input and output. The
//! server itself is the `orch-lsp` crate; editors start this command.

use crate::Outcome;
use crate::errors;

#[derive(Debug, clap::Args)]
pub(crate) struct LspArgs {
    /// Talk over standard input and output (the default and only
    /// transport; accepted because editors pass it).
    #[arg(long)]
    stdio: bool,
}

pub(crate) fn run(args: &LspArgs) -> Outcome {
    let _ = args.stdio;
    match orch_lsp::serve_stdio() {
        Ok(()) => Outcome::Success,
        Err(error) => {
            errors::report(errors::io_error("cannot start the language server", error));
            Outcome::Failure
        }
    }
}
