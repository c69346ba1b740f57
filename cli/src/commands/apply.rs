//! `orchc plan`, `orchc apply` and `orchc destroy`.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Duration;

use miette::miette;
use orch_runtime::apply::{ApplyOptions, ApplyReport, Interrupts};
use orch_runtime::error::RunError;
use orch_runtime::events::{Event, EventSink, Fanout, now};
use orch_runtime::location::StateLocation;
use orch_runtime::plan::{Plan, PlanKind};
use orch_runtime::project::{LoadRequest, Project, Sources};
use orch_runtime::session::{PlanOptions, SavedPlan, Session};
use orch_runtime::targeting::Targeting;

use crate::Outcome;
use crate::commands::check::EvaluationArgs;
use crate::commands::run::{self, Reporter, StateArgs};
use crate::errors;
use crate::files;
use crate::render::plan::{self as render, Style};
use crate::render::progress;
use crate::terminal::{self, Stream};

/// The flags that limit a run or force replacements.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct TargetArgs {
    /// Limit the run to ADDR (an instance such as `files["x"]`, a
    /// declaration, a module instance) and what it depends on. Repeatable.
    #[arg(long = "target", value_name = "ADDR")]
    target: Vec<String>,

    /// Leave ADDR and what depends on it out of the run. Repeatable.
    #[arg(long = "exclude", value_name = "ADDR")]
    exclude: Vec<String>,

    /// Replace the object of ADDR even if nothing changed. Repeatable.
    #[arg(long = "replace", value_name = "ADDR", conflicts_with = "refresh_only")]
    replace: Vec<String>,

    /// Only record in the state what refresh finds changed or gone; no
    /// object is changed.
    #[arg(long = "refresh-only")]
    refresh_only: bool,
}

impl TargetArgs {
    fn targeting(&self) -> Targeting {
        Targeting {
            targets: self.target.clone(),
            excludes: self.exclude.clone(),
            replace: self.replace.clone(),
        }
    }

    fn any(&self) -> bool {
        !self.target.is_empty()
            || !self.exclude.is_empty()
            || !self.replace.is_empty()
            || self.refresh_only
    }

    /// The plan kind: `--refresh-only` records drift only. `None` (after
    /// reporting) for flags that do not go together.
    fn kind(&self, destroy: bool, refresh: bool, command: &str) -> Option<PlanKind> {
        if destroy && (self.refresh_only || !self.replace.is_empty()) {
            errors::report(miette!(
                code = "orchc::usage",
                help = "limit a destroy with --target ADDR (or --exclude ADDR)",
                "`{command}` takes no {}",
                if self.refresh_only { "--refresh-only" } else { "--replace" }
            ));
            return None;
        }
        if self.refresh_only && !refresh {
            errors::report(miette!(
                code = "orchc::usage",
                "--refresh-only reads every object back: it cannot go with --refresh=false"
            ));
            return None;
        }
        Some(if destroy {
            PlanKind::Destroy
        } else if self.refresh_only {
            PlanKind::Refresh
        } else {
            PlanKind::Apply
        })
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// The root module: a file, or a folder whose `*.orch` files form one
    /// module. Default: the current folder.
    #[arg(value_name = "ROOT")]
    root: Option<PathBuf>,

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

    #[command(flatten)]
    targeting: TargetArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ApplyArgs {
    /// The root module (a file, or a folder whose `*.orch` files form one
    /// module), or a plan file saved by `orchc plan --out`. Default: the
    /// current folder.
    #[arg(value_name = "ROOT|PLANFILE")]
    root: Option<PathBuf>,

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

    #[command(flatten)]
    targeting: TargetArgs,
}

/// Reads the root module named on the command line and analyses it,
/// reporting what stops it.
pub(crate) fn load_project(
    root: &Path,
    evaluation: &EvaluationArgs,
) -> Option<(Project, Reporter)> {
    let mut sources = Sources::disk();
    match std::fs::metadata(root) {
        // A folder's files are listed and read by the compiler.
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => match files::read_source(root) {
            Ok(text) => sources.preload(&root.to_string_lossy(), text),
            Err(error) => {
                errors::report(error);
                return None;
            }
        },
        Err(error) => {
            errors::report(errors::path_error("read", root, &error));
            return None;
        }
    }
    let options = match evaluation.options() {
        Ok(options) => options,
        Err(error) => {
            errors::report(error);
            return None;
        }
    };
    let request = LoadRequest {
        root: root.to_path_buf(),
        params: options.params,
        param_origins: options.param_origins,
        policy_files: options.policy_files,
    };
    let project = match Project::load(request, sources) {
        Ok(project) => project,
        Err(error) => {
            run::report(error, None);
            return None;
        }
    };
    let reporter = Reporter::new(&project);
    let errors = project.errors();
    if !errors.is_empty() {
        run::report(RunError::Diagnostics(errors), Some(&reporter));
        return None;
    }
    Some((project, reporter))
}

/// `plan`.
pub(crate) fn plan(args: &PlanArgs) -> Outcome {
    let root = files::root_or_current(args.root.as_deref());
    let Some((project, reporter)) = load_project(&root, &args.evaluation) else {
        return Outcome::Failure;
    };
    let Some(kind) = args.targeting.kind(args.destroy, args.refresh, "plan --destroy") else {
        return Outcome::Failure;
    };
    let Some(runtime) = run::runtime() else { return Outcome::Failure };
    let options = PlanOptions {
        kind,
        refresh: args.refresh,
        parallelism: args.parallelism.max(1),
        targeting: args.targeting.targeting(),
    };
    let result = runtime.block_on(async {
        let location = StateLocation::resolve(args.state.state.as_deref(), &project.base_dir)?;
        let state = location.open().await?;
        let mut session = Session::start(&project, state, "plan", args.state.lock_timeout).await?;
        reporter.report(&session.warnings);
        let plan = match session.plan(&options).await {
            Ok(plan) => plan,
            Err(error) => {
                session.close().await;
                return Err(error);
            }
        };
        let saved = match &args.out {
            Some(_) if plan.errors.is_empty() => {
                Some(session.save_plan(&plan, args.state.state.as_deref()))
            }
            _ => None,
        };
        let key = session.close().await;
        Ok::<_, RunError>((plan, saved, key))
    });
    let (plan, saved, key) = match result {
        Ok(result) => result,
        Err(error) => {
            run::report(error, Some(&reporter));
            return Outcome::Failure;
        }
    };
    if args.json {
        let locate = |d: &orch_lang::Diagnostic| reporter.location(d);
        run::print(&format!("{}\n", render::json(&plan, &locate)));
    } else {
        run::print(&render::human(&plan, args.verbose, style()));
    }
    if !plan.errors.is_empty() {
        report_plan_errors(&reporter, &plan);
        return Outcome::Failure;
    }
    if let (Some(out), Some(saved)) = (&args.out, saved) {
        let text = match saved {
            Ok(text) => text,
            Err(error) => {
                run::report(error, Some(&reporter));
                return Outcome::Failure;
            }
        };
        if let Err(error) = write_private(out, &text) {
            errors::report(errors::path_error("write", out, &error));
            return Outcome::Failure;
        }
        if !args.json {
            eprintln!(
                "Saved the plan to {}; apply it with `orchc {} {}`.",
                out.display(),
                plan.operation,
                out.display()
            );
        }
        run::report_generated_key(key);
    }
    let outcome = if args.detailed_exitcode && plan.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Success
    };
    drop(reporter);
    run::release_at_exit((project, plan));
    outcome
}

fn style() -> Style {
    Style { color: terminal::color_enabled(Stream::Stdout) }
}

/// Reports the plan's errors at their declarations.
fn report_plan_errors(reporter: &Reporter, plan: &Plan) {
    reporter.report(&plan.errors);
    eprintln!(
        "error: the plan cannot be applied ({} error{}); nothing was changed",
        plan.errors.len(),
        if plan.errors.len() == 1 { "" } else { "s" }
    );
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

/// `apply` and `destroy`, of a root module or a saved plan.
pub(crate) fn apply(args: &ApplyArgs, destroy: bool) -> Outcome {
    let command = if destroy { "destroy" } else { "apply" };
    let Some(kind) = args.targeting.kind(destroy, args.refresh, command) else {
        return Outcome::Failure;
    };
    let root = files::root_or_current(args.root.as_deref());
    let saved = match SavedPlan::read(&root) {
        Ok(saved) => saved,
        Err(error) => {
            run::report(error, None);
            return Outcome::Failure;
        }
    };
    match saved {
        Some(saved) => apply_saved(args, &root, kind, saved),
        None => {
            let Some((project, reporter)) = load_project(&root, &args.evaluation) else {
                return Outcome::Failure;
            };
            let Some(runtime) = run::runtime() else { return Outcome::Failure };
            let result = runtime.block_on(async {
                let location =
                    StateLocation::resolve(args.state.state.as_deref(), &project.base_dir)?;
                let state = location.open().await?;
                let mut session =
                    Session::start(&project, state, kind.as_str(), args.state.lock_timeout).await?;
                reporter.report(&session.warnings);
                let options = PlanOptions {
                    kind,
                    refresh: args.refresh,
                    parallelism: args.parallelism.max(1),
                    targeting: args.targeting.targeting(),
                };
                let outcome = match session.plan(&options).await {
                    Ok(plan) => run_plan(args, &mut session, &reporter, plan, false).await,
                    Err(error) => Err(error),
                };
                run::report_generated_key(session.close().await);
                outcome
            });
            let outcome = finish(result, &reporter);
            drop(reporter);
            run::release_at_exit(project);
            outcome
        }
    }
}

/// Applies a saved plan, exactly as it was saved.
fn apply_saved(args: &ApplyArgs, file: &Path, kind: PlanKind, saved: SavedPlan) -> Outcome {
    if !args.evaluation.vars.is_empty()
        || args.evaluation.var_file.is_some()
        || !args.evaluation.policies.is_empty()
        || args.targeting.any()
    {
        errors::report(miette!(
            code = "orchc::plan_file",
            help = "make a new plan with those values: `orchc plan FILE --var K=V --target ADDR --out PLANFILE`",
            "{} is a saved plan: it is applied exactly as planned, so --var, --var-file, --policy, --target, --exclude, --replace and --refresh-only cannot change it",
            file.display()
        ));
        return Outcome::Failure;
    }
    // `destroy PLANFILE` takes only a destroy plan; `apply PLANFILE` either.
    if kind == PlanKind::Destroy && saved.file.operation != PlanKind::Destroy {
        let file = file.display().to_string();
        run::report(RunError::WrongPlanKind { file, kind: saved.file.operation }, None);
        return Outcome::Failure;
    }
    let Some(runtime) = run::runtime() else { return Outcome::Failure };
    let result = runtime.block_on(async {
        let location = saved.location(args.state.state.as_deref()).map_err(|e| (e, None))?;
        let state = location.open().await.map_err(|e| (e, None))?;
        let (plan, project) = saved.open(&state).map_err(|e| (e, None))?;
        let reporter = Reporter::new(&project);
        let errors = project.errors();
        if !errors.is_empty() {
            return Err((RunError::Diagnostics(errors), Some(reporter)));
        }
        let operation = saved.file.operation.as_str();
        let started = Session::start(&project, state, operation, args.state.lock_timeout).await;
        let mut session = started.map_err(|e| (e, None))?;
        let outcome = match session.accept_saved(plan) {
            Ok(plan) => run_plan(args, &mut session, &reporter, plan, true).await,
            Err(error) => Err(error),
        };
        run::report_generated_key(session.close().await);
        outcome.map_err(|e| (e, Some(reporter)))
    });
    match result {
        Ok(outcome) => outcome,
        Err((error, reporter)) => {
            run::report(error, reporter.as_ref());
            Outcome::Failure
        }
    }
}

fn finish(result: Result<Outcome, RunError>, reporter: &Reporter) -> Outcome {
    match result {
        Ok(outcome) => outcome,
        Err(error) => {
            run::report(error, Some(reporter));
            Outcome::Failure
        }
    }
}

/// Shows the plan, asks for confirmation, applies it and sums up.
async fn run_plan(
    args: &ApplyArgs,
    session: &mut Session<'_>,
    reporter: &Reporter,
    plan: Plan,
    saved_plan: bool,
) -> Result<Outcome, RunError> {
    if !args.json {
        run::print(&render::human(&plan, args.verbose, style()));
    }
    if !plan.errors.is_empty() {
        report_plan_errors(reporter, &plan);
        return Ok(Outcome::Failure);
    }
    session.check_secrets(&plan)?;
    // A saved plan was reviewed when it was made: it is applied without
    // asking again (as Terraform does).
    if plan.has_changes() && !args.auto_approve && !saved_plan && !approved(&plan)? {
        eprintln!("Nothing was changed.");
        return Ok(Outcome::Failure);
    }
    let mut human = progress::Human::new(style(), std::io::stdout().is_terminal() && !args.json);
    let mut json = progress::JsonLines;
    let mut audit = match &args.events {
        Some(path) => Some(progress::AuditLog::open(path).map_err(|e| RunError::Io {
            context: format!("cannot open {}", path.display()),
            message: e.to_string(),
        })?),
        None => None,
    };
    let info = orch_runtime::state::LockInfo::current(plan.operation.as_str());
    let started = Event::RunStarted {
        time: now(),
        operation: plan.operation,
        user: info.user,
        host: info.host,
        state: session.state.description.clone(),
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
    let stopping = interrupts.cancel_all.clone();
    let listener = tokio::spawn(listen_for_interrupts(interrupts.clone()));
    let options = ApplyOptions { parallelism: args.parallelism.max(1), fail_fast: args.fail_fast };
    let clock = std::time::Instant::now();
    let report = session.apply(&plan, &options, &mut sink, interrupts).await;
    if stopping.is_cancelled() {
        // A second interrupt or a signal stopped the run: the listener ends
        // the commands still running and exits with the signal's status.
        let _ = listener.await;
    } else {
        listener.abort();
    }
    let elapsed = clock.elapsed();
    let report = report?;
    drop(sink);
    drop(human);
    if !args.json {
        summarize(reporter, &plan, &report, elapsed);
    }
    Ok(if report.cancelled {
        Outcome::Interrupted
    } else if report.ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// First Ctrl-C: stop starting work. Second Ctrl-C, `SIGTERM` or
/// `SIGHUP`: cancel, end every command still running (with its process
/// group) and exit at once (the journal already holds every finished
/// operation).
async fn listen_for_interrupts(interrupts: Interrupts) {
    use tokio::signal::unix::{SignalKind, signal};
    // Without these listeners the signals keep their default action, which
    // ends `orchc` at once; `main` cannot clean up then.
    let (mut terminate, mut hangup) =
        match (signal(SignalKind::terminate()), signal(SignalKind::hangup())) {
            (Ok(terminate), Ok(hangup)) => (Some(terminate), Some(hangup)),
            _ => (None, None),
        };
    let mut count = 0;
    let (code, why) = loop {
        tokio::select! {
            interrupt = tokio::signal::ctrl_c() => {
                if interrupt.is_err() {
                    return;
                }
                count += 1;
                if count == 1 {
                    interrupts.first.notify_one();
                } else {
                    break (130, "second interrupt");
                }
            }
            Some(()) = recv(&mut terminate) => break (143, "terminated (SIGTERM)"),
            Some(()) = recv(&mut hangup) => break (129, "hung up (SIGHUP)"),
        }
    };
    interrupts.cancel_all.cancel();
    eprintln!(
        "\n{why}: stopping now; finished operations are saved, running ones are read back on the next run"
    );
    let _ = tokio::task::spawn_blocking(|| {
        orch_runtime::children::terminate_all(orch_runtime::children::TERMINATE_GRACE)
    })
    .await;
    std::process::exit(code);
}

/// The next signal of a listener, or never without one.
async fn recv(listener: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match listener {
        Some(listener) => listener.recv().await,
        None => std::future::pending().await,
    }
}

/// Asks for `yes` on a terminal; refuses without one.
fn approved(plan: &Plan) -> Result<bool, RunError> {
    if !std::io::stdin().is_terminal() {
        errors::report(miette!(
            code = "orchc::approval",
            help =
                "pass --auto-approve to apply without confirmation (for CI), or run on a terminal",
            "refusing to {} without confirmation: standard input is not a terminal",
            plan.operation
        ));
        return Ok(false);
    }
    let question = match plan.operation {
        PlanKind::Apply => "Do you want to apply these changes?",
        PlanKind::Destroy => "Do you want to destroy these objects?",
        PlanKind::Refresh => "Do you want to record these objects in the state as found?",
    };
    run::print(&format!("\n{question} Only `yes` is accepted: "));
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| RunError::Io {
        context: "cannot read the answer".into(),
        message: e.to_string(),
    })?;
    Ok(answer.trim() == "yes")
}

/// What a complete run did, by action: `2 created, 1 replaced`, then the
/// state-only steps: `0 operations, 1 moved`.
fn done_counts(plan: &Plan) -> String {
    let counts = plan.counts();
    let parts: Vec<String> = [
        (orch_runtime::plan::Action::Create, "created"),
        (orch_runtime::plan::Action::Update, "updated"),
        (orch_runtime::plan::Action::Replace, "replaced"),
        (orch_runtime::plan::Action::Delete, "deleted"),
        (orch_runtime::plan::Action::Read, "read"),
    ]
    .iter()
    .filter_map(|(action, word)| {
        counts.get(action).filter(|n| **n > 0).map(|n| format!("{n} {word}"))
    })
    .collect();
    let mut parts = parts;
    if parts.is_empty() {
        parts.push("0 operations".into());
    }
    let forgotten = counts.get(&orch_runtime::plan::Action::Forget).copied().unwrap_or(0);
    for (n, word) in
        [(plan.imports.len(), "imported"), (plan.moves.len(), "moved"), (forgotten, "forgotten")]
    {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(", ")
}

/// `0.4s`, `12.3s`, `2m 5s`.
fn format_elapsed(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = elapsed.as_secs();
        format!("{}m {}s", whole / 60, whole % 60)
    }
}

/// The closing lines: counts, failures at their declarations, outputs.
fn summarize(reporter: &Reporter, plan: &Plan, report: &ApplyReport, elapsed: Duration) {
    let style = style();
    reporter.report(&report.failures);
    let verb = match plan.operation {
        PlanKind::Destroy => "Destroy",
        PlanKind::Apply => "Apply",
        PlanKind::Refresh => "Refresh",
    };
    let line = if report.cancelled {
        format!(
            "{verb} interrupted: {} done, {} not started; the state is saved.",
            report.succeeded, report.interrupted
        )
    } else if report.ok() {
        if plan.operation == PlanKind::Refresh && plan.has_changes() {
            let n = plan.refreshed.len();
            format!(
                "{verb} complete: {n} object{} recorded as found, none changed.",
                if n == 1 { "" } else { "s" }
            )
        } else if plan.has_changes() {
            format!("{verb} complete: {} in {}.", done_counts(plan), format_elapsed(elapsed))
        } else {
            String::new()
        }
    } else {
        let next = match plan.operation {
            PlanKind::Apply | PlanKind::Refresh => "the next apply carries on",
            PlanKind::Destroy => "run `orchc destroy` again once the failures are fixed",
        };
        format!(
            "{verb} failed: {} done, {} failed, {} skipped; the state records what was done, and {next}.",
            report.succeeded,
            report.failures.len(),
            report.skipped
        )
    };
    if !line.is_empty() {
        run::print(&format!("{}\n", style.bold(&line)));
    }
    if !report.outputs.is_empty() && plan.operation != PlanKind::Destroy {
        let mut text = String::from("\nOutputs:\n");
        for (name, value) in &report.outputs {
            text.push_str(&format!("  {name} = {}\n", render::show(value)));
        }
        run::print(&text);
    }
}
