//! `orchc plan`, `orchc apply` and `orchc destroy`.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use miette::miette;
use orch_lang::diagnostic::codes;
use orch_runtime::apply::{ApplyOptions, ApplyReport, Interrupts};
use orch_runtime::engine::{Prepared, plan_apply, plan_destroy, prepare};
use orch_runtime::events::{Event, EventSink, Fanout, now};
use orch_runtime::plan::Plan;
use orch_runtime::planfile::{self, PlanFile};

use crate::Outcome;
use crate::commands::check::EvaluationArgs;
use crate::commands::run::{self, StateArgs, Workspace};
use crate::errors;
use crate::render::plan::{self as render, Style};
use crate::render::progress;
use crate::terminal::{self, Stream};

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// The root module file.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    #[command(flatten)]
    evaluation: EvaluationArgs,

    #[command(flatten)]
    state: StateArgs,

    /// Save the plan to apply it later, exactly, with `orchc apply FILE`.
    #[arg(long, value_name = "PLANFILE")]
    out: Option<PathBuf>,

    /// Read every recorded object back first to find drift (default true).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    refresh: bool,

    /// Print the plan as one JSON document.
    #[arg(long)]
    json: bool,

    /// Show every field of every change.
    #[arg(long, short)]
    verbose: bool,

    /// Exit 2 when the plan has changes, 0 when it has none.
    #[arg(long)]
    detailed_exitcode: bool,

    /// Plan the destruction of everything in the state.
    #[arg(long)]
    destroy: bool,

    /// At most N provider reads at once while refreshing.
    #[arg(long, value_name = "N", default_value_t = 10)]
    parallelism: usize,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ApplyArgs {
    /// The root module file, or a plan file saved by `orchc plan --out`.
    #[arg(value_name = "FILE|PLANFILE")]
    file: PathBuf,

    #[command(flatten)]
    evaluation: EvaluationArgs,

    #[command(flatten)]
    state: StateArgs,

    /// Apply without asking for confirmation.
    #[arg(long)]
    auto_approve: bool,

    /// At most N provider operations at once.
    #[arg(long, value_name = "N", default_value_t = 10)]
    parallelism: usize,

    /// Stop starting new operations after the first failure.
    #[arg(long)]
    fail_fast: bool,

    /// Print events as JSON lines instead of progress.
    #[arg(long)]
    json: bool,

    /// Also append every event as a JSON line to FILE (an audit log).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,

    /// Read every recorded object back first to find drift (default true).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    refresh: bool,

    /// Show every field of every change in the plan.
    #[arg(long, short)]
    verbose: bool,
}

/// `plan`.
pub(crate) fn plan(args: &PlanArgs) -> Outcome {
    let Some(workspace) = run::load_workspace(&args.file, &args.evaluation, None) else {
        return Outcome::Failure;
    };
    let Some(runtime) = run::runtime() else { return Outcome::Failure };
    let location = run::state_location(&args.state, &args.file);
    let result = runtime.block_on(async {
        let Some(evaluation) = run::first_evaluation(&workspace) else {
            return Ok(Outcome::Failure);
        };
        let Some(providers) = run::providers(&evaluation).await else {
            return Ok(Outcome::Failure);
        };
        let mut state = run::open_state(&location, &args.file).await?;
        run::lock(&mut state, "plan", args.state.lock_timeout).await?;
        let mut loaded =
            state.backend.load().await.map_err(|e| run::state_error("cannot read the state", e))?;
        let config = workspace.config();
        let prepared =
            prepare(&config, &mut loaded, &providers, args.refresh, args.parallelism).await;
        let (plan, failed) = if args.destroy {
            (plan_destroy(&loaded.state, prepared), Vec::new())
        } else {
            let (mut plan, evaluation) = plan_apply(
                &config,
                &loaded.state,
                &providers,
                prepared,
                tokio::runtime::Handle::current(),
            );
            let failed = evaluation_errors(&config, &mut plan, &evaluation);
            (plan, failed)
        };
        let _ = state.backend.unlock().await;
        if args.json {
            run::print(&format!("{}\n", render::json(&plan)));
        } else {
            run::print(&render::human(&plan, args.verbose, style()));
        }
        if !plan.errors.is_empty() {
            report_plan_errors(&workspace, &plan, &failed);
            return Ok(Outcome::Failure);
        }
        if let Some(out) = &args.out {
            save_plan(&workspace, &plan, &args.state, state.key.as_ref(), out)?;
            if !args.json {
                eprintln!(
                    "Saved the plan to {}; apply it with `orchc apply {}`.",
                    out.display(),
                    out.display()
                );
            }
            run::report_generated_key(&state.key);
        }
        Ok::<_, miette::Report>(if args.detailed_exitcode && plan.has_changes() {
            Outcome::Changes
        } else {
            Outcome::Success
        })
    });
    finish(result)
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

fn style() -> Style {
    Style { color: terminal::color_enabled(Stream::Stdout) }
}

/// Errors of evaluating the configuration against the state (an
/// `assert` on recorded values, an expression that fails on them): they
/// are added to the plan's errors, so that the plan cannot be applied, and
/// returned as diagnostics to report with their own codes.
fn evaluation_errors(
    config: &orch_runtime::engine::Config<'_>,
    plan: &mut Plan,
    evaluation: &orch_compiler::eval::Evaluation,
) -> Vec<orch_lang::Diagnostic> {
    let failed: Vec<orch_lang::Diagnostic> =
        evaluation.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    for diagnostic in &failed {
        plan.errors.push(orch_runtime::plan::PlanError {
            code: diagnostic.code,
            message: diagnostic.message.clone(),
            help: diagnostic.help.clone(),
            span: Some(diagnostic.primary.span),
            location: Some(config.location(diagnostic.primary.span)),
        });
    }
    failed
}

/// Reports the plan's errors; the last `evaluation.len()` of them are
/// `evaluation`'s diagnostics.
fn report_plan_errors(workspace: &Workspace, plan: &Plan, evaluation: &[orch_lang::Diagnostic]) {
    let own = plan.errors.len().saturating_sub(evaluation.len());
    workspace.report_plan_errors(&plan.errors[..own]);
    workspace.report(evaluation);
    eprintln!(
        "error: the plan cannot be applied ({} error{}); nothing was changed",
        plan.errors.len(),
        if plan.errors.len() == 1 { "" } else { "s" }
    );
}

fn save_plan(
    workspace: &Workspace,
    plan: &Plan,
    state: &StateArgs,
    key: &orch_runtime::keys::LazyKey,
    out: &Path,
) -> Result<(), miette::Report> {
    let origin = planfile::Origin {
        root: &workspace.root_path,
        base_dir: &workspace.base_dir.to_string_lossy(),
        state: state.state.as_deref(),
        sources: workspace.source_map(),
        policy_files: workspace
            .analysis
            .policy_files
            .iter()
            .map(|f| workspace.analysis.files.get(*f).path.clone())
            .collect(),
        params: &workspace.params,
    };
    let stored = planfile::save(plan, origin, Some(key))
        .map_err(|e| miette!(code = "orchc::plan_file", "cannot save the plan: {e}"))?;
    let text = serde_json::to_string_pretty(&stored)
        .map_err(|e| miette!(code = "orchc::plan_file", "cannot save the plan: {e}"))?;
    write_private(out, &text).map_err(|e| errors::path_error("write", out, &e))
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Whether `path` holds a saved plan rather than a module.
fn read_plan_file(path: &Path) -> Option<Result<PlanFile, miette::Report>> {
    if path.extension().is_some_and(|e| e == "orch") {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    if !text.trim_start().starts_with('{') {
        return None;
    }
    Some(serde_json::from_str::<PlanFile>(&text).map_err(|e| {
        miette!(code = "orchc::plan_file", "{} is not a readable plan file: {e}", path.display())
    }))
}

/// `apply` and `destroy`.
pub(crate) fn apply(args: &ApplyArgs, destroy: bool) -> Outcome {
    let saved = if destroy { None } else { read_plan_file(&args.file) };
    let saved = match saved {
        Some(Ok(_))
            if !args.evaluation.vars.is_empty()
                || args.evaluation.var_file.is_some()
                || !args.evaluation.policies.is_empty() =>
        {
            errors::report(miette!(
                code = "orchc::plan_file",
                help =
                    "make a new plan with those values: `orchc plan FILE --var K=V --out PLANFILE`",
                "{} is a saved plan: it is applied exactly as planned, so --var, --var-file and --policy cannot change it",
                args.file.display()
            ));
            return Outcome::Failure;
        }
        Some(Ok(saved)) => Some(saved),
        Some(Err(error)) => {
            errors::report(error);
            return Outcome::Failure;
        }
        None => None,
    };
    let Some(runtime) = run::runtime() else { return Outcome::Failure };
    let result = runtime.block_on(async {
        // A saved plan carries its configuration and where its state is.
        let (root, state_args) = match &saved {
            Some(saved) => {
                let mut state_args = args.state.clone();
                if state_args.state.is_none() {
                    state_args.state = saved.state.clone();
                }
                (PathBuf::from(&saved.root), state_args)
            }
            None => (args.file.clone(), args.state.clone()),
        };
        let location = match (&saved, &state_args.state) {
            (Some(saved), None) => {
                // The default place beside the root module the plan was
                // made for.
                let root_name =
                    Path::new(&saved.root).file_name().map(PathBuf::from).unwrap_or_default();
                run::state_location(&state_args, &Path::new(&saved.base_dir).join(root_name))
            }
            _ => run::state_location(&state_args, &root),
        };
        let mut state = run::open_state(&location, &root).await?;
        let (workspace, plan_from_file) = match &saved {
            Some(saved) => {
                let (plan, params) = planfile::load(saved, Some(state.key.as_ref()))
                    .map_err(|e| miette!(code = "orchc::plan_file", "cannot read the plan: {e}"))?;
                let Some(mut workspace) = run::load_workspace(
                    &root,
                    &args.evaluation,
                    Some((saved.sources.clone(), params, saved.policy_files.clone())),
                ) else {
                    return Ok(Outcome::Failure);
                };
                workspace.base_dir = PathBuf::from(&saved.base_dir);
                (workspace, Some(plan))
            }
            None => {
                let Some(workspace) = run::load_workspace(&root, &args.evaluation, None) else {
                    return Ok(Outcome::Failure);
                };
                (workspace, None)
            }
        };
        let Some(evaluation) = run::first_evaluation(&workspace) else {
            return Ok(Outcome::Failure);
        };
        let Some(providers) = run::providers(&evaluation).await else {
            return Ok(Outcome::Failure);
        };
        let operation = if destroy { "destroy" } else { "apply" };
        run::lock(&mut state, operation, state_args.lock_timeout).await?;
        let outcome =
            locked_apply(args, destroy, &workspace, &mut state, &providers, plan_from_file).await;
        let _ = state.backend.unlock().await;
        run::report_generated_key(&state.key);
        outcome
    });
    finish(result)
}

async fn locked_apply(
    args: &ApplyArgs,
    destroy: bool,
    workspace: &Workspace,
    state: &mut run::OpenState,
    providers: &orch_runtime::engine::Providers,
    plan_from_file: Option<Plan>,
) -> Result<Outcome, miette::Report> {
    let mut loaded =
        state.backend.load().await.map_err(|e| run::state_error("cannot read the state", e))?;
    let config = workspace.config();
    let mut failed = Vec::new();
    // A saved plan was reviewed when it was made: it is applied without
    // asking again (as Terraform does).
    let saved_plan = plan_from_file.is_some();
    let plan = match plan_from_file {
        Some(plan) => {
            if plan.lineage != loaded.state.lineage && !(loaded.created && plan.serial == 0)
                || plan.serial != loaded.state.serial
            {
                return Err(miette!(
                    code = "orchc::stale_plan",
                    help = "make a new plan with `orchc plan --out FILE`",
                    "the plan is stale: it was made against the state at serial {} (lineage {}), and the state is now at serial {} (lineage {})",
                    plan.serial,
                    plan.lineage,
                    loaded.state.serial,
                    loaded.state.lineage
                ));
            }
            if loaded.created {
                loaded.state.lineage = plan.lineage.clone();
            }
            if !loaded.interrupted.is_empty() {
                return Err(miette!(
                    code = "orchc::stale_plan",
                    help = "make a new plan with `orchc plan --out FILE`",
                    "the plan is stale: a run was interrupted since it was made"
                ));
            }
            plan
        }
        None => {
            let prepared: Prepared =
                prepare(&config, &mut loaded, providers, args.refresh, args.parallelism).await;
            if destroy {
                plan_destroy(&loaded.state, prepared)
            } else {
                let (mut plan, evaluation) = plan_apply(
                    &config,
                    &loaded.state,
                    providers,
                    prepared,
                    tokio::runtime::Handle::current(),
                );
                failed = evaluation_errors(&config, &mut plan, &evaluation);
                plan
            }
        }
    };
    if !args.json {
        run::print(&render::human(&plan, args.verbose, style()));
    }
    if !plan.errors.is_empty() {
        report_plan_errors(workspace, &plan, &failed);
        return Ok(Outcome::Failure);
    }
    if plan.has_changes() && !args.auto_approve && !saved_plan && !approved(&plan)? {
        eprintln!("Nothing was changed.");
        return Ok(Outcome::Failure);
    }
    let mut human = progress::Human::new(style(), std::io::stdout().is_terminal() && !args.json);
    let mut json = progress::JsonLines;
    let mut audit = match &args.events {
        Some(path) => {
            Some(progress::AuditLog::open(path).map_err(|e| errors::path_error("open", path, &e))?)
        }
        None => None,
    };
    let info = orch_runtime::state::LockInfo::current(&plan.operation);
    let started = Event::RunStarted {
        time: now(),
        operation: plan.operation.clone(),
        user: info.user,
        host: info.host,
        state: state.location.clone(),
        changes: plan.effective().count(),
    };
    let warnings: Vec<Event> =
        plan.warnings.iter().map(|w| Event::Warning { time: now(), message: w.clone() }).collect();
    // The plan printed above lists its warnings already: only the JSON
    // lines and the audit log get them as events.
    if args.json {
        json.event(&started);
        warnings.iter().for_each(|w| json.event(w));
    } else {
        human.event(&started);
    }
    if let Some(audit) = audit.as_mut() {
        audit.event(&started);
        warnings.iter().for_each(|w| audit.event(w));
    }
    let mut sinks: Vec<&mut dyn EventSink> = Vec::new();
    if args.json {
        sinks.push(&mut json);
    } else {
        sinks.push(&mut human);
    }
    if let Some(audit) = audit.as_mut() {
        sinks.push(audit);
    }
    let mut sink = Fanout(sinks);
    let interrupts = Interrupts::default();
    let listener = tokio::spawn(listen_for_interrupts(interrupts.clone()));
    let options = ApplyOptions { parallelism: args.parallelism.max(1), fail_fast: args.fail_fast };
    let report = orch_runtime::apply::apply(
        Some(&config),
        &plan,
        &mut loaded.state,
        state.backend.as_mut(),
        providers,
        &options,
        &mut sink,
        interrupts,
    )
    .await
    .map_err(|e| run::state_error("the state could not be saved", e))?;
    listener.abort();
    drop(sink);
    drop(human);
    if !args.json {
        summarize(workspace, &plan, &report);
    }
    Ok(if report.cancelled {
        Outcome::Interrupted
    } else if report.ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// First Ctrl-C: stop starting work; second: cancel and exit at once (the
/// journal already holds every finished operation).
async fn listen_for_interrupts(interrupts: Interrupts) {
    let mut count = 0;
    while tokio::signal::ctrl_c().await.is_ok() {
        count += 1;
        if count == 1 {
            interrupts.first.notify_one();
        } else {
            interrupts.cancel_all.cancel();
            eprintln!(
                "\nsecond interrupt: stopping now; finished operations are saved, running ones are read back on the next run"
            );
            std::process::exit(130);
        }
    }
}

/// Asks for `yes` on a terminal; refuses without one.
fn approved(plan: &Plan) -> Result<bool, miette::Report> {
    if !std::io::stdin().is_terminal() {
        return Err(miette!(
            code = "orchc::approval",
            help =
                "pass --auto-approve to apply without confirmation (for CI), or run on a terminal",
            "refusing to {} without confirmation: standard input is not a terminal",
            plan.operation
        ));
    }
    run::print(&format!(
        "\nDo you want to {} these changes? Only `yes` is accepted: ",
        plan.operation
    ));
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| errors::io_error("cannot read the answer", e))?;
    Ok(answer.trim() == "yes")
}

/// The closing lines: counts, failures at their declarations, outputs.
fn summarize(workspace: &Workspace, plan: &Plan, report: &ApplyReport) {
    let style = style();
    for failure in &report.failures {
        match failure.span {
            Some(span) => {
                let diagnostic = orch_lang::Diagnostic::new(
                    &codes::E0901,
                    span,
                    format!("{}: {}", failure.address, failure.message),
                )
                .with_primary_message("declared here");
                workspace.report(&[diagnostic]);
            }
            None => {
                let place =
                    failure.location.as_deref().map(|l| format!("\n  --> {l}")).unwrap_or_default();
                eprintln!("error[E0901]: {}: {}{place}", failure.address, failure.message);
            }
        }
    }
    if !report.assertions.is_empty() {
        workspace.report(&report.assertions);
    }
    let verb = if plan.operation == "destroy" { "Destroy" } else { "Apply" };
    let line = if report.cancelled {
        format!(
            "{verb} interrupted: {} done, {} not started; the state is saved.",
            report.succeeded, report.interrupted
        )
    } else if report.ok() {
        if plan.has_changes() {
            format!(
                "{verb} complete: {} operation{} done.",
                report.succeeded,
                if report.succeeded == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    } else {
        format!(
            "{verb} failed: {} done, {} failed, {} skipped; the state records what was done, and the next apply carries on.",
            report.succeeded,
            report.failed + report.assertions.len(),
            report.skipped
        )
    };
    if !line.is_empty() {
        run::print(&format!("{}\n", style.bold(&line)));
    }
    if !report.outputs.is_empty() && plan.operation == "apply" {
        let mut text = String::from("\nOutputs:\n");
        for (name, value) in &report.outputs {
            text.push_str(&format!("  {name} = {}\n", render::show(value)));
        }
        run::print(&text);
    }
}
