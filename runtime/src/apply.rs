//! The executor: applies a plan on tokio, each operation as soon as the
//! last one it depends on has finished, at most `parallelism` provider
//! operations at once, recording every outcome in the state backend the
//! moment it is known.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_compiler::eval::InstanceOptions;
use orch_lang::Diagnostic;
use orch_stdlib::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::engine::{Config, DEPOSED, Planner, Providers};
use crate::events::{Event, EventSink, Outcome, now};
use crate::plan::{Action, Change, inputs_known, mark_sensitive};
use crate::provider::{self, OpContext, Provider, ProviderError};
use crate::state::{Backend, InstanceState, Operation, State, StateError};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// At most this many provider operations at once.
    pub parallelism: usize,
    /// Stop starting new operations after the first failure.
    pub fail_fast: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { parallelism: 10, fail_fast: false }
    }
}

/// An operation that failed, with where its declaration is.
#[derive(Debug, Clone)]
pub struct Failure {
    pub address: String,
    pub message: String,
    pub location: Option<String>,
    pub span: Option<orch_lang::Span>,
}

/// What an apply did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Not started or not finished because of an interrupt.
    pub interrupted: usize,
    pub failures: Vec<Failure>,
    /// Assertions and policies that failed on apply-time values.
    pub assertions: Vec<Diagnostic>,
    /// The root module's outputs after the apply.
    pub outputs: BTreeMap<String, Value>,
    /// The run was interrupted with Ctrl-C.
    pub cancelled: bool,
}

impl ApplyReport {
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.assertions.is_empty() && !self.cancelled
    }
}

/// Interrupts from the user: the first one stops new work, the second
/// cancels what runs.
#[derive(Clone)]
pub struct Interrupts {
    pub first: Arc<tokio::sync::Notify>,
    pub cancel_all: CancellationToken,
}

impl Default for Interrupts {
    fn default() -> Self {
        Interrupts {
            first: Arc::new(tokio::sync::Notify::new()),
            cancel_all: CancellationToken::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// One step of a node: a replacement is two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Update,
    Delete,
    Read,
}

struct Node {
    change: Change,
    dependents: Vec<usize>,
    waiting: usize,
    status: Status,
    /// The steps still to run (a replacement: delete then create; a
    /// create-before-destroy replacement: create, its old object being
    /// deleted by a cleanup node).
    steps: Vec<Step>,
    started: Option<Instant>,
    /// Deletes the old object of a create-before-destroy replacement once
    /// everything that depended on it has moved to the new one.
    cleanup: bool,
}

/// What a provider task sends back.
struct Finished {
    node: usize,
    step: Step,
    result: Result<Option<Value>, ProviderError>,
    timed_out: bool,
}

/// Applies `plan` to `state`, recording every outcome through `backend`.
#[allow(clippy::too_many_arguments, reason = "the parts of a run")]
pub async fn apply(
    config: Option<&Config<'_>>,
    plan: &crate::plan::Plan,
    state: &mut State,
    backend: &mut dyn Backend,
    providers: &Providers,
    options: &ApplyOptions,
    sink: &mut dyn EventSink,
    interrupts: Interrupts,
) -> Result<ApplyReport, StateError> {
    let started = Instant::now();
    let mut report = ApplyReport::default();
    let base_dir = config.map(|c| c.base_dir.clone()).unwrap_or_default();
    let mut nodes: Vec<Node> = plan
        .changes
        .iter()
        .map(|change| Node {
            steps: steps_of(change),
            change: change.clone(),
            dependents: Vec::new(),
            waiting: 0,
            status: Status::Waiting,
            started: None,
            cleanup: false,
        })
        .collect();
    let cleanups: Vec<Node> = nodes
        .iter()
        .filter(|node| is_cbd_replace(&node.change))
        .map(|node| Node {
            steps: vec![Step::Delete],
            change: node.change.clone(),
            dependents: Vec::new(),
            waiting: 0,
            status: Status::Waiting,
            started: None,
            cleanup: true,
        })
        .collect();
    nodes.extend(cleanups);
    link(&mut nodes, state);
    let mut data_reads = plan.data_reads.clone();
    let semaphore = Arc::new(Semaphore::new(options.parallelism.max(1)));
    let (event_tx, mut event_rx) = mpsc::unbounded_channel::<Event>();
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut ready: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].waiting == 0).collect();
    let mut stop = false;
    let mut seen_assertions: HashSet<String> = HashSet::new();
    let mut pending_assertions = 0usize;
    let mut last_check = Instant::now();
    let mut completed_since_check = 0usize;
    let handle = tokio::runtime::Handle::current();
    let mut starting: Vec<Task> = Vec::new();
    let mut recorded = false;

    loop {
        // Nodes whose configuration still holds values known only now:
        // evaluate once for all of them.
        if !stop && let Some(config) = config {
            let unresolved = ready.iter().any(|&i| needs_evaluation(&nodes[i]));
            let assertions_due = pending_assertions > 0
                && completed_since_check > 0
                && last_check.elapsed() >= Duration::from_millis(250);
            if unresolved || assertions_due {
                let deferred = unread_data(&nodes, &ready);
                let (changes, pending, failures, _) =
                    evaluate_full(config, state, providers, &handle, &mut data_reads, deferred);
                pending_assertions = pending;
                last_check = Instant::now();
                completed_since_check = 0;
                for diagnostic in failures {
                    report_assertion(config, diagnostic, &mut seen_assertions, &mut report, sink);
                }
                let fresh: HashMap<String, Change> =
                    changes.into_iter().map(|c| (c.address.clone(), c)).collect();
                for &index in &ready {
                    if !needs_evaluation(&nodes[index]) {
                        continue;
                    }
                    let node = &mut nodes[index];
                    match fresh.get(&node.change.address) {
                        Some(change) => {
                            let keep_reasons = node.change.reasons.clone();
                            node.change.config = change.config.clone();
                            node.change.after = change.after.clone();
                            node.change.action = change.action;
                            node.change.changed = change.changed.clone();
                            if change.action == Action::Replace
                                && !keep_reasons.iter().any(|r| r.contains("forces"))
                            {
                                node.change.reasons = change.reasons.clone();
                            }
                            node.steps = steps_of(&node.change);
                        }
                        None => node.steps.clear(),
                    }
                }
            }
        }
        // Start what is ready.
        if !stop {
            for index in std::mem::take(&mut ready) {
                if nodes[index].status != Status::Waiting {
                    continue;
                }
                let node = &mut nodes[index];
                // Values that are still unknown cannot be applied.
                if matches!(node.steps.first(), Some(Step::Create | Step::Update))
                    && !inputs_known(&node.change.kind, &node.change.config)
                {
                    let message =
                        "a value it needs is still unknown after its dependencies were applied"
                            .to_string();
                    fail(&mut nodes, index, message, &mut report, sink, &mut stop, options);
                    continue;
                }
                if node.change.data
                    && node.steps.first() == Some(&Step::Read)
                    && data_reads.contains_key(&node.change.address)
                {
                    node.steps.clear();
                }
                let Some(&step) = node.steps.first() else {
                    // Nothing to do (a no-op, or resolved to one).
                    node.status = Status::Done;
                    if node.change.action.is_change() && !node.change.data {
                        node.change.action = Action::NoOp;
                    }
                    if !node.change.data {
                        record_marks(&node.change, state, backend).await?;
                        recorded = true;
                    }
                    release(&mut nodes, index, &mut ready);
                    continue;
                };
                node.status = Status::Running;
                node.started = Some(Instant::now());
                let task = launch(
                    index,
                    step,
                    &nodes,
                    state,
                    backend,
                    providers,
                    &base_dir,
                    &semaphore,
                    &event_tx,
                    &interrupts,
                )
                .await?;
                starting.push(task);
            }
        }
        // One sync makes the round's journal lines durable, then its
        // operations start.
        if !starting.is_empty() || recorded {
            backend.sync().await?;
            recorded = false;
        }
        for task in starting.drain(..) {
            tasks.spawn(task);
        }
        while let Ok(event) = event_rx.try_recv() {
            sink.event(&event);
        }
        if tasks.is_empty() {
            if ready.is_empty() || stop {
                break;
            }
            continue;
        }
        let finished = tokio::select! {
            joined = tasks.join_next() => joined,
            _ = interrupts.first.notified(), if !stop => {
                stop = true;
                report.cancelled = true;
                sink.event(&Event::Interrupted {
                    time: now(),
                    message: format!(
                        "interrupt received: starting nothing new, waiting for {} running operation{} (press Ctrl-C again to stop at once)",
                        tasks.len(),
                        if tasks.len() == 1 { "" } else { "s" }
                    ),
                });
                continue;
            }
        };
        while let Ok(event) = event_rx.try_recv() {
            sink.event(&event);
        }
        let Some(Ok(finished)) = finished else { continue };
        // Settle this one and every other that finished meanwhile, so that
        // one journal sync covers them all.
        let mut batch = vec![finished];
        while let Some(joined) = tasks.try_join_next() {
            if let Ok(finished) = joined {
                batch.push(finished);
            }
        }
        // The start of every operation in the batch is reported before its
        // end: its task sent it before finishing.
        while let Ok(event) = event_rx.try_recv() {
            sink.event(&event);
        }
        for finished in batch {
            completed_since_check += 1;
            recorded = true;
            settle(
                finished,
                &mut nodes,
                state,
                backend,
                &mut data_reads,
                &mut report,
                sink,
                &mut ready,
                &mut stop,
                options,
            )
            .await?;
        }
    }
    if recorded {
        backend.sync().await?;
    }
    while let Ok(event) = event_rx.try_recv() {
        sink.event(&event);
    }
    // What never ran.
    for node in &nodes {
        match node.status {
            Status::Waiting | Status::Running if report.cancelled => report.interrupted += 1,
            Status::Waiting | Status::Running => {
                report.skipped += 1;
            }
            _ => {}
        }
    }
    // Outputs and the assertions still waiting, against the final state.
    if let Some(config) = config
        && plan.operation == "apply"
    {
        let deferred = unread_data(&nodes, &[]);
        let (_, _, diagnostics, outputs) =
            evaluate_full(config, state, providers, &handle, &mut data_reads, deferred);
        for diagnostic in diagnostics {
            report_assertion(config, diagnostic, &mut seen_assertions, &mut report, sink);
        }
        report.outputs = outputs.into_iter().filter(|(_, v)| v.is_known()).collect();
        state.outputs = report.outputs.clone();
    } else if plan.operation == "destroy" {
        state.outputs.clear();
    }
    backend.finish(state).await?;
    sink.event(&Event::RunFinished {
        time: now(),
        operation: plan.operation.clone(),
        succeeded: report.succeeded,
        failed: report.failed + report.assertions.len(),
        skipped: report.skipped,
        elapsed_ms: started.elapsed().as_millis() as u64,
        serial: state.serial,
    });
    Ok(report)
}

/// The data instances that must not be read now: those read during apply
/// that are neither done nor among `ready` (what they depend on is not
/// applied yet, or failed).
fn unread_data(nodes: &[Node], ready: &[usize]) -> HashSet<String> {
    nodes
        .iter()
        .enumerate()
        .filter(|(i, node)| {
            node.change.data
                && node.change.action == Action::Read
                && node.status != Status::Done
                && !(node.status == Status::Waiting && ready.contains(i))
        })
        .map(|(_, node)| node.change.address.clone())
        .collect()
}

/// Records what the configuration now says about an object it leaves
/// unchanged: its `@prevent_destroy` and `@create_before_destroy` marks,
/// its dependencies and its place. A mark added to (or removed from) a
/// declaration must reach the state even when nothing else changes, or
/// deleting the declaration later would ignore it.
async fn record_marks(
    change: &Change,
    state: &mut State,
    backend: &mut dyn Backend,
) -> Result<(), StateError> {
    let Some(recorded) = state.instances.get(&change.address) else { return Ok(()) };
    let location = change.location.clone().or_else(|| recorded.location.clone());
    if recorded.protected == change.options.prevent_destroy
        && recorded.create_before_destroy == change.options.create_before_destroy
        && recorded.depends_on == change.depends_on
        && recorded.location == location
    {
        return Ok(());
    }
    let mut instance = recorded.clone();
    instance.protected = change.options.prevent_destroy;
    instance.create_before_destroy = change.options.create_before_destroy;
    instance.depends_on = change.depends_on.clone();
    instance.location = location;
    state.serial += 1;
    backend.record(&change.address, Some(&instance), state.serial).await?;
    state.instances.insert(change.address.clone(), instance);
    Ok(())
}

fn needs_evaluation(node: &Node) -> bool {
    !node.cleanup
        && node.status == Status::Waiting
        && !node.change.data
        && matches!(node.change.action, Action::Create | Action::Update | Action::Replace)
        && !inputs_known(&node.change.kind, &node.change.config)
        || node.change.data && node.change.action == Action::Read
}

fn is_cbd_replace(change: &Change) -> bool {
    change.action == Action::Replace && change.options.create_before_destroy
}

/// The steps of a change's node. A create-before-destroy replacement's
/// node only creates: its cleanup node deletes the old object.
fn steps_of(change: &Change) -> Vec<Step> {
    match change.action {
        Action::NoOp => Vec::new(),
        Action::Create => vec![Step::Create],
        Action::Update => vec![Step::Update],
        Action::Replace if change.options.create_before_destroy => vec![Step::Create],
        Action::Replace => vec![Step::Delete, Step::Create],
        Action::Delete => vec![Step::Delete],
        Action::Read => vec![Step::Read],
    }
}

/// Ordering edges: configuration dependencies, and deletions after
/// whatever depended on the deleted object.
fn link(nodes: &mut [Node], state: &State) {
    let index: HashMap<String, usize> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.cleanup)
        .map(|(i, n)| (n.change.address.clone(), i))
        .collect();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if node.change.action != Action::Delete && !node.cleanup {
            for dep in &node.change.depends_on {
                if let Some(&j) = index.get(dep) {
                    edges.push((j, i));
                }
            }
        }
    }
    // Deleting an object waits for everything that depended on it, as
    // recorded in state.
    let mut dependents_in_state: HashMap<&str, Vec<&str>> = HashMap::new();
    for (address, instance) in &state.instances {
        for dep in &instance.depends_on {
            dependents_in_state.entry(dep.as_str()).or_default().push(address.as_str());
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        if node.cleanup {
            // After the new object, after everything that uses the object
            // in the configuration, and after deleting what used the old
            // one.
            let Some(&new) = index.get(&node.change.address) else { continue };
            edges.push((new, i));
            for (j, other) in nodes.iter().enumerate() {
                if !other.cleanup
                    && other.change.action != Action::Delete
                    && other.change.depends_on.contains(&node.change.address)
                {
                    edges.push((j, i));
                }
            }
            for dependent in
                dependents_in_state.get(node.change.address.as_str()).into_iter().flatten()
            {
                if let Some(&j) = index.get(*dependent)
                    && nodes[j].change.action == Action::Delete
                {
                    edges.push((j, i));
                }
            }
            continue;
        }
        let deletes_first = node.change.action == Action::Delete
            || node.change.action == Action::Replace && !node.change.options.create_before_destroy;
        if !deletes_first {
            continue;
        }
        let address = node.change.address.trim_end_matches(DEPOSED);
        for dependent in dependents_in_state.get(address).into_iter().flatten() {
            if let Some(&j) = index.get(*dependent)
                && j != i
                && (node.change.action == Action::Delete
                    || nodes[j].change.action == Action::Delete)
            {
                edges.push((j, i));
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    for (from, to) in edges {
        nodes[from].dependents.push(to);
        nodes[to].waiting += 1;
    }
}

/// Marks `index` done and queues the dependents it was the last wait of.
fn release(nodes: &mut [Node], index: usize, ready: &mut Vec<usize>) {
    let dependents = nodes[index].dependents.clone();
    for dependent in dependents {
        let node = &mut nodes[dependent];
        node.waiting = node.waiting.saturating_sub(1);
        if node.waiting == 0 && node.status == Status::Waiting {
            ready.push(dependent);
        }
    }
}

fn fail(
    nodes: &mut [Node],
    index: usize,
    message: String,
    report: &mut ApplyReport,
    sink: &mut dyn EventSink,
    stop: &mut bool,
    options: &ApplyOptions,
) {
    let node = &mut nodes[index];
    node.status = Status::Failed;
    report.failed += 1;
    sink.event(&Event::OperationFinished {
        time: now(),
        address: shown_address(node),
        action: shown_action(node).to_string(),
        kind: node.change.kind.clone(),
        outcome: Outcome::Failed,
        elapsed_ms: node.started.map_or(0, |s| s.elapsed().as_millis() as u64),
        error: Some(message.clone()),
        location: node.change.location.clone(),
    });
    report.failures.push(Failure {
        address: shown_address(node),
        message,
        location: node.change.location.clone(),
        span: node.change.span,
    });
    if options.fail_fast {
        *stop = true;
    }
    // Everything downstream is skipped, without errors of its own.
    let mut stack = nodes[index].dependents.clone();
    while let Some(next) = stack.pop() {
        if nodes[next].status != Status::Waiting {
            continue;
        }
        nodes[next].status = Status::Skipped;
        report.skipped += 1;
        sink.event(&Event::OperationFinished {
            time: now(),
            address: shown_address(&nodes[next]),
            action: shown_action(&nodes[next]).to_string(),
            kind: nodes[next].change.kind.clone(),
            outcome: Outcome::Skipped,
            elapsed_ms: 0,
            error: None,
            location: None,
        });
        stack.extend(nodes[next].dependents.iter().copied());
    }
}

/// A provider step, ready to be spawned.
type Task = std::pin::Pin<Box<dyn std::future::Future<Output = Finished> + Send>>;

/// Journals one step and returns it, to be spawned once the journal is
/// synced.
#[allow(clippy::too_many_arguments, reason = "the parts of a run")]
async fn launch(
    index: usize,
    step: Step,
    nodes: &[Node],
    state: &mut State,
    backend: &mut dyn Backend,
    providers: &Providers,
    base_dir: &std::path::Path,
    semaphore: &Arc<Semaphore>,
    events: &mpsc::UnboundedSender<Event>,
    interrupts: &Interrupts,
) -> Result<Task, StateError> {
    let change = &nodes[index].change;
    let address = change.address.clone();
    let prior = match change.action {
        Action::Replace if change.options.create_before_destroy && step == Step::Delete => {
            state.instances.get(&deposed(&address)).map(|i| i.value.clone())
        }
        _ => state.instances.get(&address).map(|i| i.value.clone()).or(change.before.clone()),
    };
    let provider = match providers.get(&change.provider) {
        Ok(provider) => provider,
        Err(error) => {
            return Ok(Box::pin(async move {
                Finished { node: index, step, result: Err(error), timed_out: false }
            }));
        }
    };
    // A create-before-destroy replacement sets the old object aside first,
    // under its own address, so that no crash can lose track of it.
    if change.action == Action::Replace
        && change.options.create_before_destroy
        && step == Step::Create
        && let Some(old) = state.instances.remove(&address)
    {
        let key = deposed(&address);
        state.serial += 1;
        backend.record(&key, Some(&old), state.serial).await?;
        backend.record(&address, None, state.serial).await.ok();
        state.instances.insert(key, old);
    }
    let action = match step {
        Step::Create => "create",
        Step::Update => "update",
        Step::Delete => "delete",
        Step::Read => "read",
    };
    if step != Step::Read {
        backend
            .begin(&Operation {
                address: if step == Step::Delete
                    && change.options.create_before_destroy
                    && change.action == Action::Replace
                {
                    deposed(&address)
                } else {
                    address.clone()
                },
                action: action.to_string(),
                kind: change.kind.clone(),
                provider: change.provider.clone(),
                planned: match step {
                    Step::Delete => prior.clone().unwrap_or(Value::None),
                    _ => change.config.clone(),
                },
            })
            .await?;
    }
    let ctx = OpContext {
        base_dir: base_dir.to_path_buf(),
        address: address.clone(),
        cancel: interrupts.cancel_all.child_token(),
    };
    let kind = change.kind.clone();
    let config = change.config.clone();
    let options = change.options.clone();
    let semaphore = semaphore.clone();
    let events = events.clone();
    let shown = shown_address(&nodes[index]);
    Ok(Box::pin(async move {
        let _permit = semaphore.acquire_owned().await;
        let _ = events.send(Event::OperationStarted {
            time: now(),
            address: shown,
            action: action.to_string(),
            kind: kind.clone(),
        });
        let (result, timed_out) =
            run_step(provider, &ctx, &kind, step, prior, config, &options, &events).await;
        Finished { node: index, step, result, timed_out }
    }))
}

fn deposed(address: &str) -> String {
    format!("{address}{DEPOSED}")
}

/// The address events and messages give a node: a cleanup node deletes
/// the old, deposed object.
fn shown_address(node: &Node) -> String {
    if node.cleanup { deposed(&node.change.address) } else { node.change.address.clone() }
}

/// The action events give a node.
fn shown_action(node: &Node) -> &'static str {
    if node.cleanup { Action::Delete.as_str() } else { node.change.action.as_str() }
}

/// One step with its timeout and retries.
#[allow(clippy::too_many_arguments, reason = "the parts of an operation")]
async fn run_step(
    provider: Arc<dyn Provider>,
    ctx: &OpContext,
    kind: &str,
    step: Step,
    prior: Option<Value>,
    config: Value,
    options: &InstanceOptions,
    events: &mpsc::UnboundedSender<Event>,
) -> (Result<Option<Value>, ProviderError>, bool) {
    let attempts = options.retry.map_or(1, |(n, _)| n.max(1)) as u32;
    let backoff = options.retry.map_or(1000, |(_, ms)| ms.max(0)) as u64;
    let mut attempt = 1;
    loop {
        let call = async {
            match step {
                Step::Create => {
                    provider.apply(ctx, kind, provider::Change::Create { config: &config }).await
                }
                Step::Update => match &prior {
                    Some(prior) => {
                        provider
                            .apply(ctx, kind, provider::Change::Update { prior, config: &config })
                            .await
                    }
                    None => {
                        provider
                            .apply(ctx, kind, provider::Change::Create { config: &config })
                            .await
                    }
                },
                Step::Delete => match &prior {
                    Some(prior) => {
                        provider.apply(ctx, kind, provider::Change::Delete { prior }).await
                    }
                    None => Ok(None),
                },
                Step::Read => provider.read(ctx, kind, &config).await,
            }
        };
        let result = match options.timeout_ms {
            Some(ms) => {
                let limit = Duration::from_millis(ms.max(0) as u64);
                match tokio::time::timeout(limit, call).await {
                    Ok(result) => result,
                    Err(_) => {
                        ctx.cancel.cancel();
                        return (
                            Err(ProviderError::new(format!(
                                "timed out after {}",
                                orch_stdlib::value::format_duration(ms)
                            ))),
                            true,
                        );
                    }
                }
            }
            None => {
                tokio::select! {
                    result = call => result,
                    _ = ctx.cancel.cancelled() => Err(ProviderError::new("cancelled by a second interrupt")),
                }
            }
        };
        match result {
            Err(error) if error.transient && error.partial.is_none() && attempt < attempts => {
                // An error without a partial object guarantees that nothing
                // was changed (the provider contract), so even a create may
                // be repeated.
                let base = backoff.saturating_mul(1 << (attempt - 1).min(16));
                let jitter = rand::random_range(0.5..1.5);
                let delay = (base as f64 * jitter) as u64;
                let _ = events.send(Event::Retrying {
                    time: now(),
                    address: ctx.address.clone(),
                    attempt,
                    delay_ms: delay,
                    error: error.message.clone(),
                });
                tokio::time::sleep(Duration::from_millis(delay)).await;
                attempt += 1;
            }
            other => return (other, false),
        }
    }
}

/// Records a finished step and moves its node on.
#[allow(clippy::too_many_arguments, reason = "the parts of a run")]
async fn settle(
    finished: Finished,
    nodes: &mut [Node],
    state: &mut State,
    backend: &mut dyn Backend,
    data_reads: &mut BTreeMap<String, Value>,
    report: &mut ApplyReport,
    sink: &mut dyn EventSink,
    ready: &mut Vec<usize>,
    stop: &mut bool,
    options: &ApplyOptions,
) -> Result<(), StateError> {
    let Finished { node: index, step, result, timed_out } = finished;
    let change = nodes[index].change.clone();
    let cbd_delete = change.action == Action::Replace
        && change.options.create_before_destroy
        && step == Step::Delete;
    let record_address = if cbd_delete { deposed(&change.address) } else { change.address.clone() };
    match result {
        Ok(object) => {
            match step {
                Step::Read => {
                    if let Some(value) = object {
                        data_reads
                            .insert(change.address.clone(), mark_sensitive(&change.kind, value));
                    }
                }
                Step::Delete => {
                    state.instances.remove(&record_address);
                    state.serial += 1;
                    backend.record(&record_address, None, state.serial).await?;
                }
                Step::Create | Step::Update => {
                    let value = mark_sensitive(&change.kind, object.unwrap_or(Value::None));
                    let instance = instance_state(&change, value, false);
                    state.serial += 1;
                    backend.record(&record_address, Some(&instance), state.serial).await?;
                    state.instances.insert(record_address, instance);
                }
            }
            let node = &mut nodes[index];
            node.steps.remove(0);
            if !node.steps.is_empty() && !*stop {
                // The second step of a replacement: queue it at once.
                node.status = Status::Waiting;
                node.waiting = 0;
                ready.push(index);
                return Ok(());
            }
            if !node.steps.is_empty() {
                node.status = Status::Failed;
                report.interrupted += 1;
                return Ok(());
            }
            node.status = Status::Done;
            // A cleanup finishes the replacement counted already.
            if !node.cleanup {
                report.succeeded += 1;
            }
            sink.event(&Event::OperationFinished {
                time: now(),
                address: shown_address(node),
                action: shown_action(node).to_string(),
                kind: change.kind.clone(),
                outcome: Outcome::Succeeded,
                elapsed_ms: node.started.map_or(0, |s| s.elapsed().as_millis() as u64),
                error: None,
                location: None,
            });
            release(nodes, index, ready);
        }
        Err(error) => {
            // Keep what the provider says it left behind.
            match (step, error.partial.clone()) {
                (Step::Create, Some(partial)) => {
                    let instance =
                        instance_state(&change, mark_sensitive(&change.kind, partial), true);
                    state.serial += 1;
                    backend.record(&record_address, Some(&instance), state.serial).await?;
                    state.instances.insert(record_address, instance);
                }
                (Step::Update, Some(partial)) => {
                    let mut instance =
                        instance_state(&change, mark_sensitive(&change.kind, partial), false);
                    if let Some(old) = state.instances.get(&record_address) {
                        instance.tainted = old.tainted;
                    }
                    state.serial += 1;
                    backend.record(&record_address, Some(&instance), state.serial).await?;
                    state.instances.insert(record_address, instance);
                }
                (Step::Create, None) if timed_out => {
                    // Whether the object exists is unknown: keep its
                    // configuration, tainted, to be read back next time.
                    let instance = instance_state(&change, change.config.clone(), true);
                    state.serial += 1;
                    backend.record(&record_address, Some(&instance), state.serial).await?;
                    state.instances.insert(record_address, instance);
                }
                _ => {}
            }
            let prefix = match step {
                Step::Create => "create failed",
                Step::Update => "update failed",
                Step::Delete => "delete failed",
                Step::Read => "read failed",
            };
            let message = if timed_out {
                format!("{prefix}: {error}; the object is read back on the next run")
            } else {
                format!("{prefix}: {error}")
            };
            fail(nodes, index, message, report, sink, stop, options);
        }
    }
    Ok(())
}

fn instance_state(change: &Change, value: Value, tainted: bool) -> InstanceState {
    InstanceState {
        kind: change.kind.clone(),
        provider: change.provider.clone(),
        value,
        depends_on: change.depends_on.clone(),
        tainted,
        protected: change.options.prevent_destroy,
        create_before_destroy: change.options.create_before_destroy,
        location: change.location.clone(),
    }
}

/// What evaluating against the current state gives: the changes with
/// their now-known configurations, how many assertions still wait, the new
/// failures, and the outputs.
type Evaluated = (Vec<Change>, usize, Vec<Diagnostic>, BTreeMap<String, Value>);

fn evaluate_full(
    config: &Config<'_>,
    state: &State,
    providers: &Providers,
    handle: &tokio::runtime::Handle,
    data_reads: &mut BTreeMap<String, Value>,
    deferred: HashSet<String>,
) -> Evaluated {
    let empty = HashMap::new();
    let mut planner = Planner {
        config,
        state,
        providers,
        handle: handle.clone(),
        changes: Vec::new(),
        errors: Vec::new(),
        data_reads: std::mem::take(data_reads),
        read_data: true,
        drift_reasons: &empty,
        deferred,
    };
    let evaluation = config.evaluate(&mut planner);
    *data_reads = std::mem::take(&mut planner.data_reads);
    let diagnostics: Vec<Diagnostic> =
        evaluation.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    (planner.changes, evaluation.pending_assertions, diagnostics, evaluation.outputs)
}

fn report_assertion(
    config: &Config<'_>,
    diagnostic: Diagnostic,
    seen: &mut HashSet<String>,
    report: &mut ApplyReport,
    sink: &mut dyn EventSink,
) {
    let location = config.location(diagnostic.primary.span);
    let key = format!("{location}:{}", diagnostic.message);
    if !seen.insert(key) {
        return;
    }
    sink.event(&Event::AssertionFailed {
        time: now(),
        message: diagnostic.message.clone(),
        location,
    });
    report.assertions.push(diagnostic);
}
