//! `orchc state list|show|rm|unprotect` and `orchc output`: reading and
//! editing recorded state without the configuration's providers.

use std::path::{Path, PathBuf};

use miette::miette;
use orch_runtime::codec::display_json;
use orch_runtime::error::RunError;
use orch_runtime::location::StateLocation;
use orch_runtime::session::{StateEdit, edit_state, read_state};
use orch_runtime::state::{InstanceState, State};

use crate::Outcome;
use crate::commands::run::{self, StateArgs};
use crate::errors;
use crate::files;
use crate::render::plan::{show, show_field};

#[derive(Debug, clap::Args)]
pub(crate) struct StateCommandArgs {
    #[command(subcommand)]
    command: StateCommand,

    #[command(flatten)]
    state: StateArgs,

    /// The root module (file or folder) whose default state (`.orch/` in
    /// its folder) to use; default: the current folder.
    #[arg(long, value_name = "ROOT", global = true)]
    root: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum StateCommand {
    /// List every recorded instance: address, kind and marks.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one recorded instance's fields (secrets hidden).
    Show {
        /// The instance address, e.g. 'conf["api"]'.
        address: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget an instance without deleting its object.
    Rm {
        /// The instance address.
        address: String,
    },
    /// Lift the @prevent_destroy mark recorded for an instance.
    Unprotect {
        /// The instance address.
        address: String,
    },
    /// Record an instance (or every instance of a declaration or module
    /// instance) at another address; its object is left as it is.
    Mv {
        /// The recorded address, e.g. 'conf["api"]' or a whole `conf`.
        from: String,
        /// The new address, e.g. api_conf or site.conf.
        to: String,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct OutputArgs {
    /// The root module (a file or a folder); default: the current folder.
    /// Given alone, an argument that is no file or folder is taken as
    /// NAME, so `orchc output url` works from the root's folder.
    #[arg(value_name = "ROOT")]
    root: Option<PathBuf>,

    /// One output's name; all of them without it.
    name: Option<String>,

    #[command(flatten)]
    state: StateArgs,

    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The state of the command: `--state`, `ORCH_STATE`, or `.orch/` in the
/// folder of `--root` (the current folder without it).
fn location(args: &StateArgs, root: Option<&Path>) -> Result<StateLocation, RunError> {
    let dir = match root {
        Some(root) => orch_runtime::project::root_folder(root),
        None => PathBuf::from("."),
    };
    StateLocation::resolve(args.state.as_deref(), &dir)
}

async fn load(args: &StateArgs, root: Option<&Path>) -> Result<State, RunError> {
    let (_, state) = read_state(&location(args, root)?).await?;
    Ok(state)
}

fn marks(instance: &InstanceState) -> String {
    let mut marks = Vec::new();
    if instance.tainted {
        marks.push("tainted");
    }
    if instance.protected {
        marks.push("protected");
    }
    if marks.is_empty() { String::new() } else { format!("  ({})", marks.join(", ")) }
}

pub(crate) fn state(args: &StateCommandArgs) -> Outcome {
    let Some(runtime) = run::runtime() else { return Outcome::Failure };
    let root = args.root.as_deref();
    let result: Result<Outcome, Failure> = runtime.block_on(async {
        match &args.command {
            StateCommand::List { json } => {
                let state = load(&args.state, root).await?;
                if *json {
                    let list: Vec<serde_json::Value> = state
                        .instances
                        .iter()
                        .map(|(address, i)| serde_json::json!({
                            "address": address, "kind": i.kind, "provider": i.provider,
                            "tainted": i.tainted, "protected": i.protected, "location": i.location,
                        }))
                        .collect();
                    run::print(&format!("{}\n", serde_json::json!({"serial": state.serial, "lineage": state.lineage, "instances": list})));
                } else {
                    let width = state.instances.keys().map(|a| a.chars().count()).max().unwrap_or(0);
                    let mut text = String::new();
                    for (address, instance) in &state.instances {
                        text.push_str(&format!("{address:width$}  {}{}\n", instance.kind, marks(instance)));
                    }
                    run::print(&text);
                }
                Ok(Outcome::Success)
            }
            StateCommand::Show { address, json } => {
                let state = load(&args.state, root).await?;
                let Some(instance) = state.instances.get(address) else {
                    return Err(Failure::Report(not_found(address, &state)));
                };
                if *json {
                    run::print(&format!(
                        "{}\n",
                        serde_json::json!({
                            "address": address, "kind": instance.kind, "provider": instance.provider,
                            "value": display_json(&instance.value), "depends_on": instance.depends_on,
                            "tainted": instance.tainted, "protected": instance.protected, "location": instance.location,
                        })
                    ));
                } else {
                    let mut text = format!("{address}: {}{}\n", instance.kind, marks(instance));
                    if let Some(location) = &instance.location {
                        text.push_str(&format!("  declared at {location}\n"));
                    }
                    if let orch_stdlib::Value::Map(fields) = &instance.value {
                        for (name, value) in fields.iter() {
                            let value = show_field(&instance.kind, name, value);
                            text.push_str(&format!("  {name} = {value}\n"));
                        }
                    }
                    if !instance.depends_on.is_empty() {
                        text.push_str(&format!("  depends on: {}\n", instance.depends_on.join(", ")));
                    }
                    run::print(&text);
                }
                Ok(Outcome::Success)
            }
            StateCommand::Rm { address } => edit(&args.state, root, address, StateEdit::Forget).await,
            StateCommand::Unprotect { address } => {
                edit(&args.state, root, address, StateEdit::Unprotect).await
            }
            StateCommand::Mv { from, to } => {
                edit(&args.state, root, from, StateEdit::Move { to: to.clone() }).await
            }
        }
    });
    finish(result)
}

/// `state rm`, `state unprotect` and `state mv`: one edit under the lock.
async fn edit(
    args: &StateArgs,
    root: Option<&Path>,
    address: &str,
    edit: StateEdit,
) -> Result<Outcome, Failure> {
    let location = location(args, root)?;
    match edit_state(&location, address, edit.clone(), args.lock_timeout).await {
        Err(RunError::NoSuchInstance { address, .. }) => {
            let (_, state) = read_state(&location).await?;
            Err(Failure::Report(not_found(&address, &state)))
        }
        Err(error) => Err(error.into()),
        Ok(()) => {
            run::print(&match edit {
                StateEdit::Forget => {
                    format!("Forgot {address}; its object was left as it is.\n")
                }
                StateEdit::Unprotect => {
                    format!("Lifted the @prevent_destroy mark of {address}.\n")
                }
                StateEdit::Move { to } => {
                    format!("Moved {address} to {to}; its object was left as it is.\n")
                }
            });
            Ok(Outcome::Success)
        }
    }
}

/// Why a state command failed: the runtime's error, or one of its own.
enum Failure {
    Run(RunError),
    Report(miette::Report),
}

impl From<RunError> for Failure {
    fn from(error: RunError) -> Failure {
        Failure::Run(error)
    }
}

impl From<miette::Report> for Failure {
    fn from(report: miette::Report) -> Failure {
        Failure::Report(report)
    }
}

fn not_found(address: &str, state: &State) -> miette::Report {
    let known: Vec<&str> = state.instances.keys().map(String::as_str).collect();
    match orch_compiler::suggest::closest(address, known.iter().copied()) {
        Some(close) => miette!(
            code = "orchc::state",
            help = format!("did you mean `{close}`?"),
            "there is no `{address}` in the state"
        ),
        None => miette!(
            code = "orchc::state",
            help = "`orchc state list` lists the addresses",
            "there is no `{address}` in the state"
        ),
    }
}

fn finish(result: Result<Outcome, Failure>) -> Outcome {
    match result {
        Ok(outcome) => outcome,
        Err(Failure::Run(error)) => {
            run::report(error, None);
            Outcome::Failure
        }
        Err(Failure::Report(report)) => {
            errors::report(report);
            Outcome::Failure
        }
    }
}

pub(crate) fn output(args: &OutputArgs) -> Outcome {
    let Some(runtime) = run::runtime() else { return Outcome::Failure };
    let result: Result<Outcome, Failure> = runtime.block_on(async {
        // `orchc output NAME`: one argument that names no file or folder.
        let (root, name) = match (&args.root, &args.name) {
            (Some(only), None) if !only.exists() => {
                (PathBuf::from("."), Some(only.to_string_lossy().into_owned()))
            }
            (root, name) => (files::root_or_current(root.as_deref()), name.clone()),
        };
        let state = load(&args.state, Some(&root)).await?;
        let outputs = &state.outputs;
        match &name {
            Some(name) => {
                let Some(value) = outputs.get(name) else {
                    let known: Vec<&str> = outputs.keys().map(String::as_str).collect();
                    return Err(Failure::Report(
                        match orch_compiler::suggest::closest(name, known.iter().copied()) {
                            Some(close) => miette!(
                                code = "orchc::output",
                                help = format!("did you mean `{close}`?"),
                                "there is no output `{name}`"
                            ),
                            None => miette!(code = "orchc::output", "there is no output `{name}`"),
                        },
                    ));
                };
                if args.json {
                    run::print(&format!("{}\n", display_json(value)));
                } else {
                    // One value alone prints raw, for scripts.
                    let text = match value {
                        orch_stdlib::Value::String(text) => text.to_string(),
                        other => show(other),
                    };
                    run::print(&format!("{text}\n"));
                }
            }
            None if args.json => {
                let map: serde_json::Map<String, serde_json::Value> =
                    outputs.iter().map(|(k, v)| (k.clone(), display_json(v))).collect();
                run::print(&format!("{}\n", serde_json::Value::Object(map)));
            }
            None => {
                let mut text = String::new();
                for (name, value) in outputs {
                    text.push_str(&format!("{name} = {}\n", show(value)));
                }
                run::print(&text);
            }
        }
        Ok(Outcome::Success)
    });
    finish(result)
}
