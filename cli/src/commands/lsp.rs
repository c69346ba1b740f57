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
    match orch_lsp::serve_stdio(release_memory) {
        Ok(()) => Outcome::Success,
        Err(error) => {
            errors::report(errors::io_error("cannot start the language server", error));
            Outcome::Failure
        }
    }
}

/// Makes mimalloc (`orchc`'s allocator) return the pages it holds free to
/// the system at once, instead of after a delay that only later
/// allocations would notice: the server calls it when it is idle after
/// freeing an analysis, so its size follows the documents open now.
#[expect(unsafe_code, reason = "mimalloc's collection is a C function with no arguments to check")]
fn release_memory() {
    // SAFETY: `mi_collect` takes no pointers; mimalloc is the global
    // allocator (main.rs) and may be asked to collect from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
