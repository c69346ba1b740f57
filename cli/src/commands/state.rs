//! `orchc state list|show|rm|unprotect` and `orchc output`: reading and
//! editing recorded state without the configuration's providers.

use std::path::{Path, PathBuf};

use miette::miette;
use orch_runtime::codec::display_json;
use orch_runtime::state::{InstanceState, Loaded};

use crate::Outcome;
use crate::commands::run::{self, StateArgs};
use crate::errors;
use crate::render::plan::show;

#[derive(Debug, clap::Args)]
pub(crate) struct StateCommandArgs {
    #[command(subcommand)]
    command: StateCommand,

    #[command(flatten)]
    state: StateArgs,

    /// The root module whose default state (`.orch/` beside it) to use.
    #[arg(long, value_name = "FILE", global = true)]
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
}

#[derive(Debug, clap::Args)]
pub(crate) struct OutputArgs {
    /// The root module file.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// One output's name; all of them without it.
    name: Option<String>,

    #[command(flatten)]
    state: StateArgs,

    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn root_of(root: Option<&Path>) -> PathBuf {
    root.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("main.orch"))
}

async fn load(
    args: &StateArgs,
    root: &Path,
    lock_for: Option<&str>,
) -> Result<(run::OpenState, Loaded), miette::Report> {
    let location = run::state_location(args, root);
    let mut state = run::open_state(&location, root).await?;
    if let Some(operation) = lock_for {
        run::lock(&mut state, operation, args.lock_timeout).await?;
    }
    let loaded =
        state.backend.load().await.map_err(|e| run::state_error("cannot read the state", e))?;
    if loaded.created {
        if lock_for.is_some() {
            let _ = state.backend.unlock().await;
        }
        return Err(miette!(
            code = "orchc::state",
            help = "run `orchc apply` first, or pass --state (or --root) to name the state",
            "there is no state at {}",
            state.location
        ));
    }
    Ok((state, loaded))
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
    let root = root_of(args.root.as_deref());
    let result = runtime.block_on(async {
        match &args.command {
            StateCommand::List { json } => {
                let (_, loaded) = load(&args.state, &root, None).await?;
                if *json {
                    let list: Vec<serde_json::Value> = loaded
                        .state
                        .instances
                        .iter()
                        .map(|(address, i)| serde_json::json!({
                            "address": address, "kind": i.kind, "provider": i.provider,
                            "tainted": i.tainted, "protected": i.protected, "location": i.location,
                        }))
                        .collect();
                    run::print(&format!("{}\n", serde_json::json!({"serial": loaded.state.serial, "lineage": loaded.state.lineage, "instances": list})));
                } else {
                    let width = loaded.state.instances.keys().map(|a| a.chars().count()).max().unwrap_or(0);
                    let mut text = String::new();
                    for (address, instance) in &loaded.state.instances {
                        text.push_str(&format!("{address:width$}  {}{}\n", instance.kind, marks(instance)));
                    }
                    run::print(&text);
                }
                Ok(Outcome::Success)
            }
            StateCommand::Show { address, json } => {
                let (_, loaded) = load(&args.state, &root, None).await?;
                let Some(instance) = loaded.state.instances.get(address) else {
                    return Err(not_found(address, &loaded));
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
                            text.push_str(&format!("  {name} = {}\n", show(value)));
                        }
                    }
                    if !instance.depends_on.is_empty() {
                        text.push_str(&format!("  depends on: {}\n", instance.depends_on.join(", ")));
                    }
                    run::print(&text);
                }
                Ok(Outcome::Success)
            }
            StateCommand::Rm { address } | StateCommand::Unprotect { address } => {
                let rm = matches!(args.command, StateCommand::Rm { .. });
                let (mut state, mut loaded) =
                    load(&args.state, &root, Some(if rm { "state rm" } else { "state unprotect" })).await?;
                let result = match loaded.state.instances.get_mut(address) {
                    None => Err(not_found(address, &loaded)),
                    Some(instance) => {
                        if rm {
                            loaded.state.instances.remove(address);
                        } else {
                            instance.protected = false;
                        }
                        loaded.state.serial += 1;
                        match state.backend.finish(&loaded.state).await {
                            Ok(()) => {
                                run::print(&if rm {
                                    format!("Forgot {address}; its object was left as it is.\n")
                                } else {
                                    format!("Lifted the @prevent_destroy mark of {address}.\n")
                                });
                                Ok(Outcome::Success)
                            }
                            Err(error) => Err(run::state_error("cannot save the state", error)),
                        }
                    }
                };
                let _ = state.backend.unlock().await;
                result
            }
        }
    });
    finish(result)
}

fn not_found(address: &str, loaded: &Loaded) -> miette::Report {
    let known: Vec<&str> = loaded.state.instances.keys().map(String::as_str).collect();
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

fn finish(result: Result<Outcome, miette::Report>) -> Outcome {
    match result {
        Ok(outcome) => outcome,
        Err(error) => {
            errors::report(error);
            Outcome::Failure
        }
    }
}

pub(crate) fn output(args: &OutputArgs) -> Outcome {
    let Some(runtime) = run::runtime() else { return Outcome::Failure };
    let result = runtime.block_on(async {
        let (_, loaded) = load(&args.state, &args.file, None).await?;
        let outputs = &loaded.state.outputs;
        match &args.name {
            Some(name) => {
                let Some(value) = outputs.get(name) else {
                    let known: Vec<&str> = outputs.keys().map(String::as_str).collect();
                    return Err(
                        match orch_compiler::suggest::closest(name, known.iter().copied()) {
                            Some(close) => miette!(
                                code = "orchc::output",
                                help = format!("did you mean `{close}`?"),
                                "there is no output `{name}`"
                            ),
                            None => miette!(code = "orchc::output", "there is no output `{name}`"),
                        },
                    );
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
