//! `orchc providers schema [ROOT]`: starts every plugin provider of the
//! configuration, asks it for its schema and writes the schema cache
//! (`.orch/schemas/NAME.json` beside the root module), so that `orchc check`
//! and the language server know the plugin's kinds without running it.

use std::path::PathBuf;

use orch_runtime::project::{LoadRequest, Project, Sources, root_folder};

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub(crate) struct ProvidersArgs {
    #[command(subcommand)]
    command: ProvidersCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ProvidersCommand {
    /// (Re)fetch and cache the schemas of the plugin providers.
    Schema {
        /// The root module: a file, or a folder of `.orch` files (default:
        /// the current folder).
        root: Option<PathBuf>,
    },
}

pub(crate) fn run(args: &ProvidersArgs) -> Outcome {
    match &args.command {
        ProvidersCommand::Schema { root } => {
            schema(root.clone().unwrap_or_else(|| PathBuf::from(".")))
        }
    }
}

fn schema(root: PathBuf) -> Outcome {
    let base_dir = root_folder(&root);
    let request = LoadRequest { root, ..LoadRequest::default() };
    // Loading fetches what is missing or stale; this command fetches
    // every schema again in any case.
    let project = match Project::load_offline(request, Sources::disk()) {
        Ok(project) => project,
        Err(error) => {
            super::run::report(error, None);
            return Outcome::Failure;
        }
    };
    let fetched = orch_runtime::plugin::fetch(&project.analysis, &base_dir);
    if fetched.is_empty() {
        println!("no plugin providers: nothing to fetch");
        return Outcome::Success;
    }
    let mut failed = false;
    for (spec, result) in fetched {
        match result {
            Ok(fetched) => {
                let kinds = fetched.schema.kinds.len();
                println!(
                    "{}: {kinds} kind{} cached in {}",
                    spec.name,
                    if kinds == 1 { "" } else { "s" },
                    fetched.cache.display()
                );
            }
            Err(error) => {
                eprintln!("error: {error}");
                failed = true;
            }
        }
    }
    if failed { Outcome::Failure } else { Outcome::Success }
}
