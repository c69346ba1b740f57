//! `orchc`, the Orch command line.
//!
//! This file only parses the command line and maps outcomes to exit codes;
//! each subcommand lives in `commands/`, and every output format in
//! `render/`. The contract it keeps is `docs/cli.md`.

mod commands;
mod errors;
mod files;
mod render;
mod terminal;

use std::process::ExitCode;

/// mimalloc: the compiler allocates many small, short-lived values, and
/// mimalloc serves them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

use crate::commands::{apply, check, explain, fmt, graph, lsp, state};

/// The Orch infrastructure language: check, plan and apply `.orch` configurations.
#[derive(Debug, Parser)]
#[command(name = "orchc", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report the problems in `.orch` files without running anything.
    Check(check::CheckArgs),
    /// Format `.orch` files in place, or standard input with `-`.
    Fmt(fmt::FmtArgs),
    /// Print the dependency graph of a configuration (dot, Mermaid or JSON).
    Graph(graph::GraphArgs),
    /// Show what `apply` would change, and why.
    Plan(apply::PlanArgs),
    /// Make the infrastructure match the configuration.
    Apply(apply::ApplyArgs),
    /// Delete every object recorded in the state, in reverse dependency order.
    Destroy(apply::ApplyArgs),
    /// List, show, forget or unprotect recorded instances.
    State(state::StateCommandArgs),
    /// Print the root module's outputs from the last apply.
    Output(state::OutputArgs),
    /// Print the documentation page of a diagnostic code.
    Explain(explain::ExplainArgs),
    /// Run the language server on standard input and output.
    Lsp(lsp::LspArgs),
}

/// What a command concluded; every failure has already been reported by the
/// time a command returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Failure,
    /// `plan --detailed-exitcode` found changes.
    Changes,
    /// Stopped by Ctrl-C.
    Interrupted,
}

impl Outcome {
    fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Success => ExitCode::SUCCESS,
            // 2 is reserved for `plan --detailed-exitcode`; every failure is 1.
            Outcome::Failure => ExitCode::from(1),
            Outcome::Changes => ExitCode::from(2),
            Outcome::Interrupted => ExitCode::from(130),
        }
    }
}

fn main() -> ExitCode {
    errors::install_miette_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` arrive as "errors" that go to stdout.
            // clap exits usage errors with 2, which `docs/cli.md` reserves
            // for `plan --detailed-exitcode`, so they exit with 1 here.
            let failed = error.use_stderr();
            if let Err(io_error) = error.print() {
                errors::report(errors::io_error("cannot write to the terminal", io_error));
            }
            return if failed { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    // The parser and the passes after it recurse over the tree, which can
    // be deep in a large file; they get the stack size the front end asks
    // for rather than the main thread's.
    let worker = std::thread::Builder::new()
        .name("orchc".to_string())
        .stack_size(orch_lang::ANALYSIS_STACK_SIZE)
        .spawn(move || run(cli.command));
    let outcome = match worker {
        Ok(worker) => {
            let joined = worker.join();
            // No command `orchc` started outlives it, whatever the way out.
            orch_runtime::children::terminate_all(orch_runtime::children::TERMINATE_GRACE);
            match joined {
                Ok(outcome) => outcome,
                // The panic message is already printed; keep Rust's exit status.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Err(error) => {
            errors::report(errors::io_error("cannot start a worker thread", error));
            Outcome::Failure
        }
    };
    outcome.exit_code()
}

fn run(command: Command) -> Outcome {
    match command {
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Plan(args) => apply::plan(&args),
        Command::Apply(args) => apply::apply(&args, false),
        Command::Destroy(args) => apply::apply(&args, true),
        Command::State(args) => state::state(&args),
        Command::Output(args) => state::output(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Lsp(args) => lsp::run(&args),
    }
}
