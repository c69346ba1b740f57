//! The executor: applies a plan on tokio, each operation as soon as the
//! last one it depends on has finished, at most `parallelism` provider
//! operations at once, recording every outcome in the state backend the
//! moment it is known.
//!
//! One [`Executor`] holds a run: the nodes and their edges, the ready
//! queue, the running tasks, the journal, the providers and the event
//! sink. An operation is journalled only when it really starts (it holds
//! one of the `parallelism` slots), so that after a crash only operations
//! that were running are treated as interrupted.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_compiler::eval::{InstanceOptions, InstanceRef};
use orch_lang::Diagnostic;
use orch_lang::diagnostic::codes;
use orch_stdlib::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::engine::{Config, DEPOSED, Planner, Providers};
use crate::events::{Event, EventSink, Outcome, Step, now};
use crate::plan::{Action, Change, Plan, PlanKind, Reason, inputs_known, mark_sensitive};
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

/// What an apply did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Not started or not finished because of an interrupt.
    pub interrupted: usize,
    /// Failed operations (E0901) and assertions or policies that failed on
    /// apply-time values, at their declarations.
    pub failures: Vec<Diagnostic>,
    /// How many of `failures` are assertions and policies.
    pub assertions: usize,
    /// The root module's outputs after the apply.
    pub outputs: BTreeMap<String, Value>,
    /// The run was interrupted with Ctrl-C.
    pub cancelled: bool,
}

impl ApplyReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && !self.cancelled
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

struct Node<'p> {
    /// The plan's change, copied only when apply-time evaluation changes
    /// it.
    change: NodeChange<'p>,
    dependents: Vec<usize>,
    waiting: usize,
    status: Status,
    /// The steps still to run (a replacement: delete then create; a
    /// create-before-destroy replacement: create, its old object being
    /// deleted by a cleanup node).
    steps: Vec<Step>,
    /// When its current step really started (holding a slot).
    started: Option<Instant>,
    /// Time spent in provider calls, over every step.
    busy: Duration,
    /// Deletes the old object of a create-before-destroy replacement once
    /// everything that depended on it has moved to the new one.
    cleanup: bool,
    /// Its configuration still holds values known only once what it
    /// depends on is applied.
    unresolved: bool,
}

/// A node's change: the plan's, borrowed, until apply-time evaluation
/// changes it (a `Cow` that keeps its copy boxed, so that the many nodes
/// that never change hold a pointer, not a whole `Change`).
#[derive(Clone)]
enum NodeChange<'p> {
    Planned(&'p Change),
    Changed(Box<Change>),
}

impl NodeChange<'_> {
    fn to_mut(&mut self) -> &mut Change {
        if let NodeChange::Planned(planned) = *self {
            *self = NodeChange::Changed(Box::new(planned.clone()));
        }
        match self {
            NodeChange::Changed(changed) => changed,
            NodeChange::Planned(_) => unreachable!("copied above"),
        }
    }
}

impl std::ops::Deref for NodeChange<'_> {
    type Target = Change;

    fn deref(&self) -> &Change {
        match self {
            NodeChange::Planned(planned) => planned,
            NodeChange::Changed(changed) => changed,
        }
    }
}

impl<'p> Node<'p> {
    fn new(change: &'p Change, cleanup: bool) -> Node<'p> {
        let steps = if cleanup { vec![Step::Delete] } else { steps_of(change) };
        let unresolved = !cleanup && needs_evaluation(change);
        Node {
            change: NodeChange::Planned(change),
            dependents: Vec::new(),
            waiting: 0,
            status: Status::Waiting,
            steps,
            started: None,
            busy: Duration::ZERO,
            cleanup,
            unresolved,
        }
    }

    /// The address events and messages give it: a cleanup node deletes
    /// the old, deposed object.
    fn shown_address(&self) -> String {
        if self.cleanup { deposed(&self.change.address) } else { self.change.address.clone() }
    }

    fn shown_action(&self) -> Action {
        if self.cleanup { Action::Delete } else { self.change.action }
    }

    /// Whether `step` acts on the deposed object of a create-before-destroy
    /// replacement.
    fn on_deposed(&self, step: Step) -> bool {
        step == Step::Delete && is_cbd_replace(&self.change)
    }
}

/// What a provider task sends back.
struct Finished {
    node: usize,
    step: Step,
    result: Result<Option<Value>, ProviderError>,
    timed_out: bool,
    elapsed: Duration,
}

/// A provider step, ready to be spawned.
type Task = std::pin::Pin<Box<dyn std::future::Future<Output = Finished> + Send>>;

/// What one run needs from outside: the configuration (for apply-time
/// evaluation), the state and its backend, the providers, and where
/// events go.
pub struct Run<'r> {
    pub config: Option<&'r Config<'r>>,
    pub state: &'r mut State,
    pub backend: &'r mut dyn Backend,
    pub providers: &'r Providers,
    pub sink: &'r mut dyn EventSink,
    pub interrupts: Interrupts,
}

/// One apply or destroy in progress.
pub struct Executor<'r, 'p> {
    run: Run<'r>,
    options: ApplyOptions,
    operation: PlanKind,
    nodes: Vec<Node<'p>>,
    /// Node by address (cleanup nodes excluded).
    index: HashMap<String, usize>,
    /// Nodes that became ready since the last round: the only ones the
    /// round's evaluation looks at.
    ready: VecDeque<usize>,
    /// Ready nodes already looked at, waiting for a parallelism slot, in
    /// the order they became ready. Kept apart from `ready` so that a
    /// round costs what it starts, not what waits: looking at every
    /// waiting node each round made a wide DAG quadratic.
    queued: VecDeque<usize>,
    tasks: JoinSet<Finished>,
    /// Journalled this round, to start once the journal is synced.
    starting: Vec<Task>,
    running: usize,
    events: mpsc::UnboundedSender<Event>,
    event_rx: mpsc::UnboundedReceiver<Event>,
    data_reads: BTreeMap<String, Value>,
    /// The data nodes the plan reads during apply, the only ones
    /// [`Executor::unread_data`] needs to look at.
    data_nodes: Vec<usize>,
    report: ApplyReport,
    stop: bool,
    /// Something was recorded since the last sync.
    recorded: bool,
    /// Assertions (and policy checks) still waiting for apply-time values.
    pending_assertions: usize,
    completed_since_check: usize,
    last_check: Instant,
    seen_assertions: HashSet<String>,
    handle: tokio::runtime::Handle,
    base_dir: std::path::PathBuf,
    /// How the plan is limited, when it is partial.
    partial: Option<crate::targeting::Partial>,
    /// The state in memory differs from the stored one by more than the
    /// operations record (see [`apply_changed`]).
    state_changed: bool,
    /// The state's serial when the run started.
    start_serial: u64,
}

/// Applies `plan`, recording every outcome through the run's backend.
pub async fn apply(
    plan: &Plan,
    run: Run<'_>,
    options: &ApplyOptions,
) -> Result<ApplyReport, StateError> {
    apply_changed(plan, run, options, false).await
}

/// [`apply`] of a state that planning changed in memory beyond what the
/// operations record (`state_changed`: refresh read objects back changed
/// or gone, see [`crate::engine::Prepared::state_changed`]): the state
/// written at the end then has a new serial even when no operation was
/// recorded, so that a serial never stands for two different states.
pub async fn apply_changed(
    plan: &Plan,
    run: Run<'_>,
    options: &ApplyOptions,
    state_changed: bool,
) -> Result<ApplyReport, StateError> {
    let mut run = run;
    state_steps(plan, &mut run).await?;
    let mut executor = Executor::new(plan, run, options.clone());
    executor.state_changed = state_changed;
    executor.run().await
}

/// The plan's changes to the state alone, made before any provider is
/// called: the moves of `moved` blocks and the instances `removed` blocks
/// forget. Each is one persisted step; no object is touched.
async fn state_steps(plan: &Plan, run: &mut Run<'_>) -> Result<(), StateError> {
    if plan.moves.is_empty()
        && plan.imports.is_empty()
        && plan.refreshed.is_empty()
        && !plan.changes.iter().any(|c| c.action == Action::Forget)
    {
        return Ok(());
    }
    let state = &mut *run.state;
    // A refresh-only plan records the objects as they were read.
    for refreshed in &plan.refreshed {
        let record = match (&refreshed.object, state.instances.get(&refreshed.address)) {
            (Some(object), Some(instance)) => {
                Some(InstanceState { value: object.clone(), ..instance.clone() })
            }
            (Some(_), None) => continue,
            (None, _) => None,
        };
        state.advance_serial()?;
        run.backend.record(&refreshed.address, record.as_ref(), state.serial).await?;
        match record {
            Some(record) => state.instances.insert(refreshed.address.clone(), record),
            None => state.instances.remove(&refreshed.address),
        };
    }
    for step in &plan.moves {
        let Some(instance) = state.instances.remove(&step.from) else { continue };
        if state.instances.contains_key(&step.to) {
            // Refused while planning; never overwrite an object's record.
            state.instances.insert(step.from.clone(), instance);
            continue;
        }
        state.advance_serial()?;
        run.backend.record(&step.to, Some(&instance), state.serial).await?;
        run.backend.record(&step.from, None, state.serial).await?;
        state.instances.insert(step.to.clone(), instance);
        for other in state.instances.values_mut() {
            for dep in &mut other.depends_on {
                if *dep == step.from {
                    dep.clone_from(&step.to);
                }
            }
        }
    }
    // Adopted objects, as read while planning; the changes that follow
    // bring them to the configuration.
    for import in &plan.imports {
        if state.instances.contains_key(&import.address) {
            continue; // recorded since: never overwrite an object's record
        }
        let mut record = import.record();
        // The dependencies of the instance that adopts it, so that a
        // destroy deletes it before what it uses.
        if let Some(change) = plan.changes.iter().find(|c| c.address == import.address) {
            record.depends_on.clone_from(&change.depends_on);
        }
        state.advance_serial()?;
        run.backend.record(&import.address, Some(&record), state.serial).await?;
        state.instances.insert(import.address.clone(), record);
    }
    for change in plan.changes.iter().filter(|c| c.action == Action::Forget) {
        if state.instances.remove(&change.address).is_some() {
            state.advance_serial()?;
            run.backend.record(&change.address, None, state.serial).await?;
        }
    }
    run.backend.sync().await
}

impl<'r, 'p> Executor<'r, 'p> {
    pub fn new(plan: &'p Plan, run: Run<'r>, options: ApplyOptions) -> Executor<'r, 'p> {
        let mut nodes: Vec<Node<'p>> =
            plan.changes.iter().map(|change| Node::new(change, false)).collect();
        let cleanups: Vec<Node<'p>> = plan
            .changes
            .iter()
            .filter(|change| is_cbd_replace(change))
            .map(|change| Node::new(change, true))
            .collect();
        nodes.extend(cleanups);
        let index = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.cleanup)
            .map(|(i, n)| (n.change.address.clone(), i))
            .collect();
        let data_nodes = (0..nodes.len())
            .filter(|&i| nodes[i].change.data && nodes[i].change.action == Action::Read)
            .collect();
        let (events, event_rx) = mpsc::unbounded_channel();
        let base_dir = run.config.map(|c| c.base_dir.clone()).unwrap_or_default();
        let mut executor = Executor {
            run,
            options,
            operation: plan.operation,
            nodes,
            index,
            ready: VecDeque::new(),
            queued: VecDeque::new(),
            tasks: JoinSet::new(),
            starting: Vec::new(),
            running: 0,
            events,
            event_rx,
            data_reads: plan.data_reads.clone(),
            data_nodes,
            report: ApplyReport::default(),
            stop: false,
            recorded: false,
            pending_assertions: 0,
            completed_since_check: 0,
            last_check: Instant::now(),
            seen_assertions: HashSet::new(),
            handle: tokio::runtime::Handle::current(),
            base_dir,
            partial: plan.partial.clone(),
            state_changed: false,
            start_serial: 0,
        };
        executor.start_serial = executor.run.state.serial;
        executor.link();
        executor.ready =
            (0..executor.nodes.len()).filter(|&i| executor.nodes[i].waiting == 0).collect();
        executor
    }

    /// Runs to the end: every node done, failed or skipped, or the run
    /// interrupted.
    pub async fn run(mut self) -> Result<ApplyReport, StateError> {
        let started = Instant::now();
        loop {
            if !self.stop {
                self.evaluate_ready();
                self.check_assertions_if_due();
                self.start_ready().await?;
            }
            // One sync makes the round's journal lines durable, then its
            // operations start.
            if !self.starting.is_empty() || self.recorded {
                self.run.backend.sync().await?;
                self.recorded = false;
            }
            for task in self.starting.drain(..) {
                self.tasks.spawn(task);
            }
            self.forward_events();
            if self.tasks.is_empty() {
                if (self.ready.is_empty() && self.queued.is_empty()) || self.stop {
                    break;
                }
                continue;
            }
            let finished = tokio::select! {
                joined = self.tasks.join_next() => joined,
                _ = self.run.interrupts.first.notified(), if !self.stop => {
                    self.interrupted();
                    continue;
                }
            };
            let Some(Ok(finished)) = finished else {
                // A provider task panicked: its slot is free again, and
                // its node failed.
                self.running = self.running.saturating_sub(1);
                continue;
            };
            // Settle this one and every other that finished meanwhile, so
            // that one journal sync covers them all.
            let mut batch = vec![finished];
            while let Some(joined) = self.tasks.try_join_next() {
                if let Ok(finished) = joined {
                    batch.push(finished);
                }
            }
            // The start of every operation in the batch is reported before
            // its end: its task sent it before finishing.
            self.forward_events();
            for finished in batch {
                self.running -= 1;
                self.completed_since_check += 1;
                self.recorded = true;
                self.settle(finished).await?;
            }
        }
        if self.recorded {
            self.run.backend.sync().await?;
        }
        self.forward_events();
        self.count_unfinished();
        let outputs_before = self.run.state.outputs.clone();
        self.finish_evaluation();
        // What is written differs from what is stored without any record
        // having counted it (objects refresh found changed or gone, new
        // outputs): one more serial, so a serial names one state.
        if self.run.state.serial == self.start_serial
            && (self.state_changed || self.run.state.outputs != outputs_before)
        {
            self.run.state.advance_serial()?;
        }
        self.run.backend.finish(self.run.state).await?;
        self.run.sink.event(&Event::RunFinished {
            time: now(),
            operation: self.operation,
            succeeded: self.report.succeeded,
            failed: self.report.failed + self.report.assertions,
            skipped: self.report.skipped,
            elapsed_ms: started.elapsed().as_millis() as u64,
            serial: self.run.state.serial,
        });
        Ok(self.report)
    }

    fn forward_events(&mut self) {
        while let Ok(event) = self.event_rx.try_recv() {
            self.run.sink.event(&event);
        }
    }

    fn interrupted(&mut self) {
        self.stop = true;
        self.report.cancelled = true;
        let running = self.tasks.len();
        self.run.sink.event(&Event::Interrupted {
            time: now(),
            message: format!(
                "interrupt received: starting nothing new, waiting for {running} running operation{} (press Ctrl-C again to stop at once)",
                if running == 1 { "" } else { "s" }
            ),
        });
    }

    /// The final value of an instance this run has finished with, for
    /// evaluation to take as it is.
    fn settled_value(&self, address: &str) -> Option<Value> {
        let &index = self.index.get(address)?;
        let node = &self.nodes[index];
        if node.status != Status::Done {
            return None;
        }
        if node.change.data {
            return self.data_reads.get(address).cloned();
        }
        self.run.state.instances.get(address).map(|i| i.value.clone())
    }

    /// A resolver over the state as it is now, answering instances this
    /// run is done with from what it did.
    fn evaluate_with(
        &mut self,
        deferred: HashSet<String>,
        evaluate: impl FnOnce(&Config<'_>, &mut Planner<'_>) -> orch_compiler::eval::Evaluation,
    ) -> Option<(Vec<Change>, orch_compiler::eval::Evaluation)> {
        let config = self.run.config?;
        let empty = HashMap::new();
        let data_reads = std::mem::take(&mut self.data_reads);
        let settled = |address: &str| self.settled_value(address);
        let mut planner = Planner {
            config,
            state: self.run.state,
            providers: self.run.providers,
            handle: self.handle.clone(),
            changes: Vec::new(),
            errors: Vec::new(),
            data_reads,
            read_data: true,
            drift_reasons: &empty,
            deferred,
            settled: Some(&settled),
            scope: None,
            left_out: Vec::new(),
        };
        let evaluation = evaluate(config, &mut planner);
        let Planner { changes, data_reads, .. } = planner;
        self.data_reads = data_reads;
        Some((changes, evaluation))
    }

    /// Evaluates again the ready nodes whose configuration waited for
    /// values known only now: only them, and what they read that this
    /// run has not finished with.
    fn evaluate_ready(&mut self) {
        let targets: Vec<(usize, InstanceRef)> = self
            .ready
            .iter()
            .filter(|&&i| self.nodes[i].unresolved && self.nodes[i].status == Status::Waiting)
            .filter_map(|&i| self.nodes[i].change.origin.clone().map(|origin| (i, origin)))
            .collect();
        if targets.is_empty() {
            return;
        }
        let deferred = self.unread_data();
        let refs: Vec<InstanceRef> = targets.iter().map(|(_, origin)| origin.clone()).collect();
        let Some((changes, evaluation)) = self
            .evaluate_with(deferred, |config, planner| config.evaluate_instances(planner, &refs))
        else {
            return;
        };
        for diagnostic in evaluation.diagnostics.into_iter().filter(Diagnostic::is_error) {
            self.report_assertion(diagnostic);
        }
        let mut fresh: HashMap<String, Change> =
            changes.into_iter().map(|c| (c.address.clone(), c)).collect();
        for (index, _) in targets {
            let node = &mut self.nodes[index];
            node.unresolved = false;
            match fresh.remove(&node.change.address) {
                Some(change) => {
                    // A replacement the plan forced (a tainted object, a
                    // field that cannot change in place) stays one, with
                    // the plan's reasons.
                    let planned = node.change.to_mut();
                    let forced = planned.reasons.iter().any(|r| r.forces_replacement());
                    planned.config = change.config;
                    planned.after = change.after;
                    // A replacement the user asked for stays one even when
                    // the values turn out unchanged.
                    let requested = planned.reasons.contains(&Reason::ReplaceRequested);
                    planned.action = if requested { Action::Replace } else { change.action };
                    planned.changed = change.changed;
                    if change.action == Action::Replace && !forced {
                        planned.reasons = change.reasons;
                    }
                    node.steps = steps_of(&node.change);
                }
                None => node.steps.clear(),
            }
        }
    }

    /// While assertions wait for apply-time values, evaluates them again
    /// at most every 250 ms, when something was applied since.
    fn check_assertions_if_due(&mut self) {
        if self.pending_assertions == 0
            || self.completed_since_check == 0
            || self.last_check.elapsed() < Duration::from_millis(250)
        {
            return;
        }
        let deferred = self.unread_data();
        let Some((_, evaluation)) =
            self.evaluate_with(deferred, |config, planner| config.evaluate(planner))
        else {
            return;
        };
        self.pending_assertions = evaluation.pending_assertions;
        self.last_check = Instant::now();
        self.completed_since_check = 0;
        for diagnostic in evaluation.diagnostics.into_iter().filter(Diagnostic::is_error) {
            self.report_assertion(diagnostic);
        }
    }

    /// Outputs and the assertions still waiting, against the final state.
    fn finish_evaluation(&mut self) {
        match self.operation {
            PlanKind::Apply if self.run.config.is_some() => {
                let deferred = self.unread_data();
                let Some((_, evaluation)) =
                    self.evaluate_with(deferred, |config, planner| config.evaluate(planner))
                else {
                    return;
                };
                for diagnostic in evaluation.diagnostics.into_iter().filter(Diagnostic::is_error) {
                    self.report_assertion(diagnostic);
                }
                let known: BTreeMap<String, Value> =
                    evaluation.outputs.into_iter().filter(|(_, v)| v.is_known()).collect();
                // A partial apply does not update the outputs that depend
                // on what it left out.
                self.report.outputs = match &self.partial {
                    Some(partial) => crate::engine::not_updated(
                        &known,
                        &evaluation.output_depends_on,
                        &partial.left_out,
                        &self.run.state.outputs,
                    ),
                    None => known,
                };
                self.run.state.outputs = self.report.outputs.clone();
            }
            PlanKind::Apply => {}
            PlanKind::Refresh => {
                if let Some(config) = self.run.config {
                    let outputs = crate::engine::recorded_outputs(config, self.run.state);
                    self.run.state.outputs = outputs;
                }
                self.report.outputs = self.run.state.outputs.clone();
            }
            // A partial destroy keeps the outputs that depend on none of the
            // objects it deleted.
            PlanKind::Destroy => match (&self.partial, self.run.config) {
                (Some(_), Some(config)) => {
                    let deleted: HashSet<&str> = self
                        .nodes
                        .iter()
                        .filter(|n| n.status == Status::Done)
                        .map(|n| n.change.address.as_str())
                        .collect();
                    let evaluation = config.evaluate(&mut orch_compiler::eval::ConfigOnly);
                    let keep = |name: &String| {
                        evaluation
                            .output_depends_on
                            .get(name)
                            .is_some_and(|deps| !deps.iter().any(|d| deleted.contains(d.as_str())))
                    };
                    self.run.state.outputs.retain(|name, _| keep(name));
                }
                _ => self.run.state.outputs.clear(),
            },
        }
    }

    fn report_assertion(&mut self, diagnostic: Diagnostic) {
        let location = match self.run.config {
            Some(config) => config.location(diagnostic.primary.span),
            None => String::new(),
        };
        if !self.seen_assertions.insert(format!("{location}:{}", diagnostic.message)) {
            return;
        }
        self.run.sink.event(&Event::AssertionFailed {
            time: now(),
            message: diagnostic.message.clone(),
            location,
        });
        self.report.assertions += 1;
        self.report.failures.push(diagnostic);
    }

    /// The data instances that must not be read now: those read during
    /// apply that are neither done nor ready (what they depend on is not
    /// applied yet, or failed). A waiting node is ready (queued in
    /// `ready`) exactly when it waits for nothing any more. This runs
    /// before every apply-time evaluation, so it looks only at the data
    /// nodes, not at every node.
    fn unread_data(&self) -> HashSet<String> {
        self.data_nodes
            .iter()
            .map(|&i| &self.nodes[i])
            .filter(|node| {
                node.change.action == Action::Read
                    && node.status != Status::Done
                    && !(node.status == Status::Waiting && node.waiting == 0)
            })
            .map(|node| node.change.address.clone())
            .collect()
    }

    /// Starts what is ready, as long as slots are free; journals each
    /// operation as it takes its slot. Nodes are taken in the order they
    /// became ready; the first one that needs a slot when none is free
    /// ends the round, so that a round costs what it starts.
    async fn start_ready(&mut self) -> Result<(), StateError> {
        // Nodes released now wait for the next round, whose evaluation may
        // have to resolve them first.
        self.queued.append(&mut self.ready);
        while let Some(index) = self.queued.pop_front() {
            if self.nodes[index].status != Status::Waiting {
                continue;
            }
            let node = &mut self.nodes[index];
            if node.change.data
                && node.steps.first() == Some(&Step::Read)
                && self.data_reads.contains_key(&node.change.address)
            {
                node.steps.clear();
            }
            let Some(&step) = node.steps.first() else {
                // Nothing to do (a no-op, or resolved to one).
                node.status = Status::Done;
                if node.change.action.is_change() && !node.change.data {
                    node.change.to_mut().action = Action::NoOp;
                }
                if !node.change.data {
                    self.record_marks(index).await?;
                }
                self.release(index);
                continue;
            };
            if self.running >= self.options.parallelism.max(1) {
                self.queued.push_front(index);
                break;
            }
            // Values that are still unknown cannot be applied.
            // Checked only once a slot is free, once per node.
            let node = &self.nodes[index];
            if matches!(step, Step::Create | Step::Update)
                && !inputs_known(&node.change.kind, &node.change.config)
            {
                let schema = orch_providers::lookup_kind(&node.change.kind);
                let missing = unknown_inputs(&provider::inputs_of(schema, &node.change.config));
                let message = format!(
                    "a value it needs is still unknown after its dependencies were applied{}",
                    if missing.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", missing.join(", "))
                    }
                );
                self.fail(index, message);
                continue;
            }
            let task = self.launch(index, step).await?;
            self.starting.push(task);
        }
        Ok(())
    }

    /// Records what the configuration now says about an object it leaves
    /// unchanged: its `@prevent_destroy` and `@create_before_destroy`
    /// marks, its dependencies and its place. A mark added to (or removed
    /// from) a declaration must reach the state even when nothing else
    /// changes, or deleting the declaration later would ignore it.
    async fn record_marks(&mut self, index: usize) -> Result<(), StateError> {
        let change = &self.nodes[index].change;
        let state = &mut *self.run.state;
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
        let serial = state.advance_serial()?;
        self.run.backend.record(&change.address, Some(&instance), serial).await?;
        state.instances.insert(change.address.clone(), instance);
        self.recorded = true;
        Ok(())
    }

    /// Journals one step and returns it, to be spawned once the journal is
    /// synced. The step holds a slot from now on.
    async fn launch(&mut self, index: usize, step: Step) -> Result<Task, StateError> {
        self.running += 1;
        let node = &mut self.nodes[index];
        node.status = Status::Running;
        node.started = Some(Instant::now());
        let on_deposed = node.on_deposed(step);
        let change = &node.change;
        let address = change.address.clone();
        let state = &mut *self.run.state;
        let prior = if on_deposed {
            state.instances.get(&deposed(&address)).map(|i| i.value.clone())
        } else {
            state.instances.get(&address).map(|i| i.value.clone()).or(change.before.clone())
        };
        let provider = match self.run.providers.get(&change.provider) {
            Ok(provider) => provider,
            Err(error) => {
                return Ok(Box::pin(async move {
                    Finished {
                        node: index,
                        step,
                        result: Err(error),
                        timed_out: false,
                        elapsed: Duration::ZERO,
                    }
                }));
            }
        };
        // A create-before-destroy replacement sets the old object aside
        // first, under its own address, so that no crash can lose track of
        // it.
        if is_cbd_replace(change)
            && step == Step::Create
            && let Some(old) = state.instances.remove(&address)
        {
            let key = deposed(&address);
            let serial = match state.advance_serial() {
                Ok(serial) => serial,
                Err(error) => {
                    state.instances.insert(address.clone(), old);
                    return Err(error);
                }
            };
            self.run.backend.record(&key, Some(&old), serial).await?;
            self.run.backend.record(&address, None, serial).await.ok();
            state.instances.insert(key, old);
        }
        if step != Step::Read {
            self.run
                .backend
                .begin(&Operation {
                    address: if on_deposed { deposed(&address) } else { address.clone() },
                    action: step,
                    kind: change.kind.clone(),
                    provider: change.provider.clone(),
                    planned: match step {
                        Step::Delete => prior.clone().unwrap_or(Value::None),
                        _ => change.config.clone(),
                    },
                })
                .await?;
        }
        let call = ProviderCall {
            provider,
            ctx: OpContext {
                base_dir: self.base_dir.clone(),
                address: address.clone(),
                cancel: self.run.interrupts.cancel_all.child_token(),
            },
            kind: change.kind.clone(),
            step,
            prior,
            config: change.config.clone(),
            options: change.options.clone(),
            events: self.events.clone(),
        };
        let shown = node.shown_address();
        let events = self.events.clone();
        Ok(Box::pin(async move {
            let _ = events.send(Event::OperationStarted {
                time: now(),
                address: shown,
                action: step,
                kind: call.kind.clone(),
            });
            let started = Instant::now();
            let (result, timed_out) = call.run().await;
            Finished { node: index, step, result, timed_out, elapsed: started.elapsed() }
        }))
    }

    /// Records a finished step and moves its node on.
    async fn settle(&mut self, finished: Finished) -> Result<(), StateError> {
        let Finished { node: index, step, result, timed_out, elapsed } = finished;
        self.nodes[index].busy += elapsed;
        let change = self.nodes[index].change.clone();
        let record_address = if self.nodes[index].on_deposed(step) {
            deposed(&change.address)
        } else {
            change.address.clone()
        };
        let error = match result {
            Ok(object) => {
                self.record_success(&change, step, &record_address, object).await?;
                None
            }
            Err(error) => {
                self.record_failure(&change, step, &record_address, &error, timed_out).await?;
                Some(error)
            }
        };
        if let Some(error) = error {
            let message = if timed_out {
                format!("{step} failed: {error}; the object is read back on the next run")
            } else {
                format!("{step} failed: {error}")
            };
            self.fail(index, message);
            return Ok(());
        }
        let stop = self.stop;
        let node = &mut self.nodes[index];
        node.steps.remove(0);
        if !node.steps.is_empty() && !stop {
            // The second step of a replacement: queue it at once.
            node.status = Status::Waiting;
            node.waiting = 0;
            self.ready.push_back(index);
            return Ok(());
        }
        if !node.steps.is_empty() {
            node.status = Status::Failed;
            self.report.interrupted += 1;
            return Ok(());
        }
        node.status = Status::Done;
        // A cleanup finishes the replacement counted already.
        if !node.cleanup {
            self.report.succeeded += 1;
        }
        self.run.sink.event(&Event::OperationFinished {
            time: now(),
            address: node.shown_address(),
            action: node.shown_action(),
            kind: change.kind.clone(),
            outcome: Outcome::Succeeded,
            elapsed_ms: node.busy.as_millis() as u64,
            error: None,
            location: None,
        });
        self.release(index);
        Ok(())
    }

    async fn record_success(
        &mut self,
        change: &Change,
        step: Step,
        address: &str,
        object: Option<Value>,
    ) -> Result<(), StateError> {
        let state = &mut *self.run.state;
        match step {
            Step::Read => {
                if let Some(value) = object {
                    self.data_reads
                        .insert(change.address.clone(), mark_sensitive(&change.kind, value));
                }
            }
            Step::Delete => {
                state.instances.remove(address);
                let serial = state.advance_serial()?;
                self.run.backend.record(address, None, serial).await?;
            }
            Step::Create | Step::Update => {
                let value = mark_sensitive(&change.kind, object.unwrap_or(Value::None));
                let instance = instance_state(change, value, false);
                let serial = state.advance_serial()?;
                self.run.backend.record(address, Some(&instance), serial).await?;
                state.instances.insert(address.to_string(), instance);
            }
        }
        Ok(())
    }

    /// Keeps what the provider says a failed step left behind.
    async fn record_failure(
        &mut self,
        change: &Change,
        step: Step,
        address: &str,
        error: &ProviderError,
        timed_out: bool,
    ) -> Result<(), StateError> {
        let state = &mut *self.run.state;
        let instance = match (step, error.partial.clone()) {
            (Step::Create, Some(partial)) => {
                instance_state(change, mark_sensitive(&change.kind, partial), true)
            }
            (Step::Update, Some(partial)) => {
                let mut instance =
                    instance_state(change, mark_sensitive(&change.kind, partial), false);
                if let Some(old) = state.instances.get(address) {
                    instance.tainted = old.tainted;
                }
                instance
            }
            // Whether the object exists is unknown: keep its configuration,
            // tainted, to be read back next time.
            (Step::Create, None) if timed_out => {
                instance_state(change, change.config.clone(), true)
            }
            _ => return Ok(()),
        };
        let serial = state.advance_serial()?;
        self.run.backend.record(address, Some(&instance), serial).await?;
        state.instances.insert(address.to_string(), instance);
        Ok(())
    }

    /// Marks `index` done and queues the dependents it was the last wait
    /// of.
    fn release(&mut self, index: usize) {
        let dependents = std::mem::take(&mut self.nodes[index].dependents);
        for &dependent in &dependents {
            let node = &mut self.nodes[dependent];
            node.waiting = node.waiting.saturating_sub(1);
            if node.waiting == 0 && node.status == Status::Waiting {
                self.ready.push_back(dependent);
            }
        }
        self.nodes[index].dependents = dependents;
    }

    /// Fails a node, and skips everything downstream without errors of
    /// its own.
    fn fail(&mut self, index: usize, message: String) {
        let node = &mut self.nodes[index];
        node.status = Status::Failed;
        self.report.failed += 1;
        self.run.sink.event(&Event::OperationFinished {
            time: now(),
            address: node.shown_address(),
            action: node.shown_action(),
            kind: node.change.kind.clone(),
            outcome: Outcome::Failed,
            elapsed_ms: node.busy.as_millis() as u64,
            error: Some(message.clone()),
            location: node.change.location.clone(),
        });
        let text = format!("{}: {message}", node.shown_address());
        let place = node.change.location.clone().unwrap_or_else(|| node.shown_address());
        let diagnostic = Diagnostic::at_or_detached(&codes::E0901, node.change.span, text, place)
            .with_primary_message("declared here");
        self.report.failures.push(diagnostic);
        if self.options.fail_fast {
            self.stop = true;
        }
        let mut stack = self.nodes[index].dependents.clone();
        while let Some(next) = stack.pop() {
            let node = &mut self.nodes[next];
            if node.status != Status::Waiting {
                continue;
            }
            node.status = Status::Skipped;
            self.report.skipped += 1;
            self.run.sink.event(&Event::OperationFinished {
                time: now(),
                address: node.shown_address(),
                action: node.shown_action(),
                kind: node.change.kind.clone(),
                outcome: Outcome::Skipped,
                elapsed_ms: 0,
                error: None,
                location: None,
            });
            stack.extend(node.dependents.iter().copied());
        }
    }

    /// What never ran: interrupted, or waiting on a dependency cycle (a
    /// hand-edited state or plan file), which is a failure, never a quiet
    /// success.
    fn count_unfinished(&mut self) {
        let mut blocked = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            match node.status {
                Status::Waiting | Status::Running if self.report.cancelled => {
                    self.report.interrupted += 1
                }
                Status::Waiting | Status::Running if !self.stop => blocked.push(index),
                Status::Waiting | Status::Running => self.report.skipped += 1,
                _ => {}
            }
        }
        for index in blocked {
            let waits: Vec<String> = self
                .nodes
                .iter()
                .filter(|other| {
                    other.dependents.contains(&index)
                        && matches!(other.status, Status::Waiting | Status::Running)
                })
                .map(Node::shown_address)
                .collect();
            let message = format!(
                "never started: it waits for {}, which wait{} for it in turn: the dependencies recorded in the state or plan file form a cycle",
                waits.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", "),
                if waits.len() == 1 { "s" } else { "" }
            );
            self.fail(index, message);
        }
    }

    /// Ordering edges: configuration dependencies, and deletions after
    /// whatever depended on the deleted object.
    fn link(&mut self) {
        let nodes = &self.nodes;
        let index = &self.index;
        let state = &*self.run.state;
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
                // After the new object, after everything that uses the
                // object in the configuration, and after deleting what used
                // the old one.
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
                || node.change.action == Action::Replace
                    && !node.change.options.create_before_destroy;
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
        // A deletion and a creation of the same object (the same path, the
        // same database name on one provider configuration) never run at
        // once: the creation waits, so that the object exists at the end.
        for (i, node) in nodes.iter().enumerate() {
            if node.cleanup {
                continue;
            }
            let Some(created) = crate::engine::created_identity(&node.change) else { continue };
            for (j, other) in nodes.iter().enumerate() {
                if j != i
                    && !other.cleanup
                    && other.change.action == Action::Delete
                    && crate::engine::deleted_identity(&other.change).as_ref() == Some(&created)
                {
                    edges.push((j, i));
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();
        for (from, to) in edges {
            self.nodes[from].dependents.push(to);
            self.nodes[to].waiting += 1;
        }
    }
}

/// One provider call with its timeout and retries, run on a worker.
struct ProviderCall {
    provider: Arc<dyn Provider>,
    ctx: OpContext,
    kind: String,
    step: Step,
    prior: Option<Value>,
    config: Value,
    options: InstanceOptions,
    events: mpsc::UnboundedSender<Event>,
}

impl ProviderCall {
    async fn once(&self) -> Result<Option<Value>, ProviderError> {
        let started = std::time::Instant::now();
        tracing::debug!(address = %self.ctx.address, kind = %self.kind, step = ?self.step, "provider call");
        let result = self.call().await;
        // Only the outcome: the values may hold secrets.
        tracing::debug!(
            address = %self.ctx.address,
            kind = %self.kind,
            step = ?self.step,
            ms = started.elapsed().as_millis() as u64,
            ok = result.is_ok(),
            error = result.as_ref().err().map(|e| e.message.as_str()),
            "provider call finished"
        );
        result
    }

    async fn call(&self) -> Result<Option<Value>, ProviderError> {
        let (provider, ctx, kind, config) = (&self.provider, &self.ctx, &self.kind, &self.config);
        match (self.step, &self.prior) {
            (Step::Create, _) | (Step::Update, None) => {
                provider.apply(ctx, kind, provider::Change::Create { config }).await
            }
            (Step::Update, Some(prior)) => {
                provider.apply(ctx, kind, provider::Change::Update { prior, config }).await
            }
            (Step::Delete, Some(prior)) => {
                provider.apply(ctx, kind, provider::Change::Delete { prior }).await
            }
            (Step::Delete, None) => Ok(None),
            (Step::Read, _) => provider.read(ctx, kind, config).await,
        }
    }

    /// The result, and whether it timed out.
    async fn run(&self) -> (Result<Option<Value>, ProviderError>, bool) {
        let attempts = self.options.retry.map_or(1, |(n, _)| n.max(1)) as u32;
        let backoff = self.options.retry.map_or(1000, |(_, ms)| ms.max(0)) as u64;
        let mut attempt = 1;
        loop {
            let result = match self.options.timeout_ms {
                Some(ms) => {
                    let limit = Duration::from_millis(ms.max(0) as u64);
                    match tokio::time::timeout(limit, self.once()).await {
                        Ok(result) => result,
                        Err(_) => {
                            self.ctx.cancel.cancel();
                            let message = format!(
                                "timed out after {}",
                                orch_stdlib::value::format_duration(ms)
                            );
                            return (Err(ProviderError::new(message)), true);
                        }
                    }
                }
                None => tokio::select! {
                    result = self.once() => result,
                    _ = self.ctx.cancel.cancelled() => Err(ProviderError::new("cancelled by a second interrupt")),
                },
            };
            match result {
                Err(error) if error.transient && error.partial.is_none() && attempt < attempts => {
                    // An error without a partial object guarantees that
                    // nothing was changed (the provider contract), so even a
                    // create may be repeated.
                    let base = backoff.saturating_mul(1 << (attempt - 1).min(16));
                    let jitter = rand::random_range(0.5..1.5);
                    let delay = (base as f64 * jitter) as u64;
                    let _ = self.events.send(Event::Retrying {
                        time: now(),
                        address: self.ctx.address.clone(),
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
}

fn deposed(address: &str) -> String {
    format!("{address}{DEPOSED}")
}

/// Whether a change's configuration waits for values known only during
/// apply.
fn needs_evaluation(change: &Change) -> bool {
    !change.data
        && matches!(change.action, Action::Create | Action::Update | Action::Replace)
        && !inputs_known(&change.kind, &change.config)
        || change.data && change.action == Action::Read
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
        // Done before the walk starts, with the moves (`state_steps`).
        Action::Forget => Vec::new(),
    }
}

/// The input fields of a configuration that are still unknown, for
/// messages (`env.PORT`, `content`).
fn unknown_inputs(config: &Value) -> Vec<String> {
    fn walk(value: &Value, path: String, out: &mut Vec<String>) {
        match value {
            Value::Unknown => out.push(if path.is_empty() { "its value".into() } else { path }),
            Value::Map(entries) => {
                for (name, value) in entries.iter() {
                    let next =
                        if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
                    walk(value, next, out);
                }
            }
            Value::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, format!("{path}[{index}]"), out);
                }
            }
            Value::Secret(inner) => walk(inner, path, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(config, String::new(), &mut out);
    out.into_iter().map(|p| format!("`{p}`")).collect()
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
