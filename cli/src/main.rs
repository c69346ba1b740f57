//! `orchc`, the Orch command line.
//!
//! This file only parses the command line and maps outcomes to exit codes;
//! each subcommand lives in `commands/`, and every output format in
//! `render/`. The contract it keeps is `docs/cli.md`.

mod commands;
mod errors;
mod files;
mod logging;
mod render;
mod terminal;

use std::process::ExitCode;

/// mimalloc: the compiler allocates many small, short-lived values, and
/// mimalloc serves them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

use crate::commands::{apply, check, explain, fmt, graph, import, lsp, providers, state, test};

/// The Orch infrastructure language: check, plan and apply `.orch` configurations.
#[derive(Debug, Parser)]
#[command(name = "orchc", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Write the debug log to FILE (appending) instead of standard error.
    /// `ORCH_LOG` picks what is logged (`debug` without it); secret values
    /// are never logged.
    #[arg(long, value_name = "FILE", global = true)]
    log_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report the problems in `.orch` files without running anything.
    #[command(after_help = "Examples:
  orchc check                          check every .orch file below the current folder
  orchc check infra --deny-warnings    fail on warnings too
  orchc check --format sarif > orch.sarif   a log for GitHub code scanning")]
    Check(check::CheckArgs),
    /// Format `.orch` files in place, or standard input with `-`.
    #[command(after_help = "Examples:
  orchc fmt                  format every .orch file below the current folder
  orchc fmt --check infra    list the files whose layout would change (CI)
  orchc fmt - < main.orch    format standard input to standard output")]
    Fmt(fmt::FmtArgs),
    /// Print the dependency graph of a configuration (dot, Mermaid or JSON).
    #[command(after_help = "Examples:
  orchc graph main.orch | dot -Tsvg > graph.svg      draw the declarations
  orchc graph --expanded --format mermaid main.orch  every instance, as Mermaid")]
    Graph(graph::GraphArgs),
    /// Show what `apply` would change, and why.
    #[command(after_help = "Examples:
  orchc plan main.orch                    what apply would change
  orchc plan -v main.orch                 every field, and diffs of multi-line text
  orchc plan --out plan.bin main.orch     save the plan for `orchc apply plan.bin`")]
    Plan(apply::PlanArgs),
    /// Make the infrastructure match the configuration.
    #[command(after_help = "Examples:
  orchc apply main.orch                   show the plan, ask for `yes`, then apply it
  orchc apply --auto-approve main.orch    apply without asking (CI)
  orchc apply plan.bin                    apply a plan saved by `orchc plan --out`")]
    Apply(apply::ApplyArgs),
    /// Delete every object recorded in the state, in reverse dependency order.
    #[command(after_help = "Examples:
  orchc destroy main.orch                 show what would be deleted, ask, then delete it
  orchc destroy --auto-approve main.orch  delete without asking")]
    Destroy(apply::ApplyArgs),
    /// Adopt an existing object into the state, or print its declaration.
    #[command(after_help = "Examples:
  orchc import db app main.orch           record the database `app` as `db`
  orchc import 'dir[\"a\"]' srv/a          record the folder srv/a as dir[\"a\"]
  orchc import --print db app main.orch   print the declaration that matches it")]
    Import(import::ImportArgs),
    /// List, show, forget or unprotect recorded instances.
    #[command(after_help = "Examples:
  orchc state list                          every instance recorded in ./.orch/
  orchc state show 'conf[\"api\"]'            one instance's recorded fields
  orchc state rm old_file --root infra/main.orch   forget an object, keep it on disk")]
    State(state::StateCommandArgs),
    /// Print the root module's outputs from the last apply.
    #[command(after_help = "Examples:
  orchc output main.orch                  every output, in full
  orchc output main.orch url              one output, raw, for scripts
  orchc output --json main.orch           every output as one JSON object")]
    Output(state::OutputArgs),
    /// Run the tests of `*.test.orch` files against their modules.
    #[command(after_help = "Examples:
  orchc test                          every test file below the current folder
  orchc test examples --filter prod   only the tests whose name contains `prod`
  orchc test --format json            one JSON document, for scripts")]
    Test(test::TestArgs),
    /// Print the documentation page of a diagnostic code.
    #[command(after_help = "Examples:
  orchc explain E0101                 the page of a code
  orchc explain undefined-name        the same page, by the code's name")]
    Explain(explain::ExplainArgs),
    /// Plugin providers: fetch and cache their schemas.
    #[command(after_help = "Examples:
  orchc providers schema                  start every plugin of ./ and cache its schema
  orchc providers schema infra/main.orch  the same for another root module")]
    Providers(providers::ProvidersArgs),
    /// Run the language server on standard input and output.
    #[command(after_help = "Examples:
  orchc lsp                           started by an editor, which talks to it over stdio")]
    Lsp(lsp::LspArgs),
    /// Print a completion script for a shell.
    #[command(after_help = "Examples:
  orchc completions bash > ~/.local/share/bash-completion/completions/orchc
  orchc completions zsh > \"${fpath[1]}/_orchc\"
  orchc completions fish > ~/.config/fish/completions/orchc.fish")]
    Completions(CompletionsArgs),
}

#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Writes the completion script of `shell` to standard output.
fn completions(args: &CompletionsArgs) -> Outcome {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "orchc", &mut script);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match std::io::Write::write_all(&mut out, &script)
        .and_then(|()| std::io::Write::flush(&mut out))
    {
        Ok(()) => Outcome::Success,
        Err(error) => {
            errors::report(errors::io_error("cannot write the completion script", error));
            Outcome::Failure
        }
    }
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
    if let Err(error) = logging::init(cli.log_file.as_deref()) {
        errors::report(error);
        return ExitCode::from(1);
    }
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
        Command::Import(args) => import::run(&args),
        Command::State(args) => state::state(&args),
        Command::Output(args) => state::output(&args),
        Command::Test(args) => test::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Providers(args) => providers::run(&args),
        Command::Lsp(args) => lsp::run(&args),
        Command::Completions(args) => completions(&args),
    }
}
