//! The configuration meets the state: provider configurations, recovery
//! of interrupted operations, refresh, and planning.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use orch_compiler::eval::{Evaluation, Instance, ParamInput, ProviderBlock, Resolver};
use orch_compiler::model::DeclKind;
use orch_compiler::{Analysis, SourceDb};
use orch_lang::diagnostic::codes;
use orch_lang::{FileId, LineIndex, Span};
use orch_providers::lookup_kind;
use orch_stdlib::Value;
use orch_stdlib::kinds::provider_of;
use tokio::task::JoinSet;

use orch_lang::Diagnostic;

use orch_compiler::lifecycle::Move;

use crate::plan::{
    Action, Change, Drift, Plan, PlanKind, Reason, StateMove, StateRefresh, changed_inputs,
    drifted_fields, inputs_known, mark_sensitive, with_ignored,
};
use crate::provider::{OpContext, Provider, ProviderError, inputs_of};
use crate::providers;
use crate::state::{InstanceState, Loaded, State};
use crate::targeting::Scope;

/// Marks the address of an object that a create-before-destroy
/// replacement set aside, until it is deleted.
pub const DEPOSED: &str = " (deposed)";

/// The configuration to plan and apply.
pub struct Config<'a> {
    pub analysis: &'a Analysis,
    pub db: &'a dyn SourceDb,
    pub root: FileId,
    pub params: std::collections::HashMap<String, ParamInput>,
    /// The root module's folder.
    pub base_dir: PathBuf,
    line_indexes: HashMap<FileId, LineIndex>,
}

impl<'a> Config<'a> {
    pub fn new(
        analysis: &'a Analysis,
        db: &'a dyn SourceDb,
        root: FileId,
        params: std::collections::HashMap<String, ParamInput>,
        base_dir: PathBuf,
    ) -> Config<'a> {
        let line_indexes =
            analysis.files.iter().map(|f| (f.id, LineIndex::new(&f.source))).collect();
        Config { analysis, db, root, params, base_dir, line_indexes }
    }

    /// `main.orch:3:10` for a span.
    pub fn location(&self, span: Span) -> String {
        let file = self.analysis.files.get(span.file);
        let at = match self.line_indexes.get(&span.file) {
            Some(index) => index.line_col(&file.source, span.start),
            None => LineIndex::new(&file.source).line_col(&file.source, span.start),
        };
        format!("{}:{}:{}", file.path, at.line, at.column)
    }

    /// Evaluates the configuration with `resolver`.
    pub fn evaluate(&self, resolver: &mut dyn Resolver) -> Evaluation {
        self.analysis.evaluate(self.db, self.root, &self.params, resolver)
    }

    /// Evaluates only the instances `targets` (and what they read) with
    /// `resolver`.
    pub fn evaluate_instances(
        &self,
        resolver: &mut dyn Resolver,
        targets: &[orch_compiler::eval::InstanceRef],
    ) -> Evaluation {
        self.analysis.evaluate_instances(self.db, self.root, &self.params, resolver, targets)
    }
}

/// The key of a provider configuration: `fs`, `pg`, `pg.admin`.
pub fn provider_key(kind: &str, alias: Option<&str>) -> String {
    match alias {
        Some(alias) => format!("{}.{alias}", provider_of(kind)),
        None => provider_of(kind).to_string(),
    }
}

/// The configured providers of a run, by key.
#[derive(Clone, Default)]
pub struct Providers {
    map: HashMap<String, Arc<dyn Provider>>,
}

impl Providers {
    /// Configures every built-in provider with its `provider` block (an
    /// empty configuration when there is none), and one more instance per
    /// aliased block. A failure is a diagnostic at the block (E0904).
    pub async fn configure(
        blocks: &[ProviderBlock],
        plugins: &[crate::plugin::PluginSpec],
    ) -> Result<Providers, Vec<Diagnostic>> {
        let mut map: HashMap<String, Arc<dyn Provider>> = HashMap::new();
        let mut errors = Vec::new();
        let failed = |block: Option<&ProviderBlock>, name: &str, error: ProviderError| {
            let message = format!("the provider `{name}` cannot be configured: {error}");
            match block {
                Some(block) => Diagnostic::new(&codes::E0904, block.span, message)
                    .with_primary_message("configured here"),
                None => Diagnostic::detached(&codes::E0904, message, format!("provider {name}")),
            }
        };
        for builtin in providers::BUILTIN {
            let name = builtin.name;
            let mut provider = (builtin.new)();
            let block = blocks.iter().find(|b| b.name == name && b.alias.is_none());
            let config = block.map_or_else(|| Value::map(BTreeMap::new()), |b| b.config.clone());
            let started = std::time::Instant::now();
            let result = provider.configure(&config).await;
            tracing::debug!(
                provider = name,
                ms = started.elapsed().as_millis() as u64,
                ok = result.is_ok(),
                "provider configured"
            );
            match result {
                Ok(()) => {
                    map.insert(name.to_string(), Arc::from(provider));
                }
                Err(error) => errors.push(failed(block, name, error)),
            }
        }
        for spec in plugins {
            let block = blocks
                .iter()
                .find(|b| b.name == spec.name && b.alias.as_deref() == spec.alias.as_deref());
            let key = match &spec.alias {
                Some(alias) => format!("{}.{alias}", spec.name),
                None => spec.name.clone(),
            };
            let name = key.replacen('.', " as ", 1);
            let started = std::time::Instant::now();
            let started_plugin = {
                let spec = spec.clone();
                tokio::task::spawn_blocking(move || crate::plugin::PluginProvider::start(&spec))
                    .await
                    .unwrap_or_else(|e| Err(format!("the plugin could not be started: {e}")))
            };
            let mut provider = match started_plugin {
                Ok(provider) => provider,
                Err(error) => {
                    errors.push(failed(block, &name, ProviderError::new(error)));
                    continue;
                }
            };
            let config = block.map_or_else(|| Value::map(BTreeMap::new()), |b| b.config.clone());
            let result = provider.configure(&config).await;
            tracing::debug!(provider = %key, ms = started.elapsed().as_millis() as u64, ok = result.is_ok(), "plugin configured");
            match result {
                Ok(()) => {
                    map.insert(key, Arc::new(provider));
                }
                Err(error) => errors.push(failed(block, &name, error)),
            }
        }
        let is_plugin = |block: &ProviderBlock| {
            plugins.iter().any(|s| s.name == block.name && s.alias == block.alias)
        };
        for block in blocks {
            let Some(alias) = &block.alias else { continue };
            if is_plugin(block) {
                continue;
            }
            let Some(mut provider) = providers::builtin(&block.name) else {
                errors.push(unknown_provider(block));
                continue;
            };
            match provider.configure(&block.config).await {
                Ok(()) => {
                    map.insert(format!("{}.{alias}", block.name), Arc::from(provider));
                }
                Err(error) => {
                    errors.push(failed(Some(block), &format!("{} as {alias}", block.name), error))
                }
            }
        }
        for block in blocks {
            if providers::builtin(&block.name).is_none()
                && block.alias.is_none()
                && !is_plugin(block)
            {
                errors.push(unknown_provider(block));
            }
        }
        if errors.is_empty() { Ok(Providers { map }) } else { Err(errors) }
    }

    /// Providers given as they are, by key (`fs`, `pg.admin`): for tests
    /// with fake providers, and for drivers that configure their own.
    pub fn from_map(map: HashMap<String, Arc<dyn Provider>>) -> Providers {
        Providers { map }
    }

    /// Ends every provider (plugins' processes exit), at the end of a run.
    pub async fn shutdown(&self) {
        for provider in self.map.values() {
            provider.shutdown().await;
        }
    }

    /// The provider configuration `key`.
    pub fn get(&self, key: &str) -> Result<Arc<dyn Provider>, ProviderError> {
        self.map.get(key).cloned().ok_or_else(|| {
            ProviderError::new(format!(
                "there is no configuration for the provider `{key}`: declare it with `provider {}`",
                key.replacen('.', " as ", 1)
            ))
        })
    }
}

impl Providers {
    /// Probes the providers `keys` (those that manage objects of this run),
    /// each once; a failure is an `E0904` diagnostic at its `provider` block,
    /// or about the provider when it has none.
    pub async fn probe(
        &self,
        keys: &BTreeSet<String>,
        blocks: &[ProviderBlock],
    ) -> Vec<Diagnostic> {
        let mut errors = Vec::new();
        for key in keys {
            let Some(provider) = self.map.get(key) else { continue };
            let started = std::time::Instant::now();
            let result = provider.probe().await;
            tracing::debug!(provider = %key, ms = started.elapsed().as_millis() as u64, ok = result.is_ok(), "provider probe");
            let Err(error) = result else { continue };
            let (name, alias) = match key.split_once('.') {
                Some((name, alias)) => (name, Some(alias)),
                None => (key.as_str(), None),
            };
            let block = blocks.iter().find(|b| b.name == name && b.alias.as_deref() == alias);
            let message =
                format!("the provider `{key}` cannot reach what it is configured for: {error}");
            let help = "check the provider's settings (its URL, host, user and password) and that the server runs; nothing was changed";
            errors.push(match block {
                Some(block) => Diagnostic::new(&codes::E0904, block.span, message)
                    .with_primary_message("configured here")
                    .with_help(help),
                None => Diagnostic::detached(&codes::E0904, message, format!("provider {key}"))
                    .with_help(help),
            });
        }
        errors
    }
}

fn unknown_provider(block: &ProviderBlock) -> Diagnostic {
    Diagnostic::new(&codes::E0904, block.span, format!("there is no provider `{}`", block.name))
        .with_help(format!(
            "the built-in providers are {}",
            providers::builtin_names().collect::<Vec<_>>().join(", ")
        ))
}

/// Runs a future on the runtime's worker threads and waits for it from
/// synchronous code (evaluation asks for data look-ups).
fn wait_for<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    handle.spawn(async move {
        let _ = sender.send(future.await);
    });
    receiver.recv().ok()
}

/// Reads a data instance through its provider.
fn read_data(
    handle: &tokio::runtime::Handle,
    provider: Arc<dyn Provider>,
    ctx: OpContext,
    kind: &str,
    config: Value,
) -> Result<Value, ProviderError> {
    let kind_owned = kind.to_string();
    let started = std::time::Instant::now();
    tracing::debug!(address = %ctx.address, kind, "data read");
    let result = wait_for(handle, async move { provider.read(&ctx, &kind_owned, &config).await });
    tracing::debug!(kind, ms = started.elapsed().as_millis() as u64, "data read finished");
    let result = result.unwrap_or_else(|| Err(ProviderError::new("the read was abandoned")))?;
    let value = result.ok_or_else(|| ProviderError::new("the look-up found nothing"))?;
    Ok(mark_sensitive(kind, value))
}

/// What the executor answers for instances it is done with.
pub(crate) type Settled<'s> = dyn Fn(&str) -> Option<Value> + 's;

/// The resolver of planning: decides each instance's action against the
/// state and gives dependents the values they may rely on.
pub(crate) struct Planner<'p> {
    pub(crate) config: &'p Config<'p>,
    pub(crate) state: &'p State,
    pub(crate) providers: &'p Providers,
    pub(crate) handle: tokio::runtime::Handle,
    pub(crate) changes: Vec<Change>,
    pub(crate) errors: Vec<Diagnostic>,
    /// Data look-ups, done or to be reused.
    pub(crate) data_reads: BTreeMap<String, Value>,
    /// Data look-ups are made (otherwise only reused).
    pub(crate) read_data: bool,
    /// The fields found drifted by refresh, by address: they make reasons
    /// such as "changed outside Orch".
    pub(crate) drift_reasons: &'p HashMap<String, Vec<String>>,
    /// Data instances that must not be read yet: they depend on objects
    /// that the plan changes, so a read now would see the old ones.
    pub(crate) deferred: HashSet<String>,
    /// The final values of instances already applied (or left
    /// unchanged) during apply: evaluation takes them as they are.
    pub(crate) settled: Option<&'p Settled<'p>>,
    /// What the plan is limited to and must replace (`None`: everything,
    /// nothing forced).
    pub(crate) scope: Option<&'p Scope>,
    /// The changes of instances outside the scope: planned (for what the
    /// plan says it leaves out), not applied.
    pub(crate) left_out: Vec<Change>,
}

impl Planner<'_> {
    fn error(&mut self, instance: &Instance, message: String) {
        self.errors.push(Diagnostic::new(
            &codes::E0903,
            instance.span,
            format!("{}: {message}", instance.address),
        ));
    }

    fn base_change(&self, instance: &Instance, provider: String) -> Change {
        Change {
            address: instance.address.clone(),
            kind: instance.resource_kind.clone(),
            provider,
            action: Action::NoOp,
            reasons: Vec::new(),
            changed: Vec::new(),
            forces_replacement: Vec::new(),
            before: None,
            after: Value::None,
            config: instance.value.clone(),
            depends_on: Vec::new(),
            options: instance.options.clone(),
            data: instance.kind == DeclKind::Data,
            location: Some(self.config.location(instance.span)),
            span: Some(instance.span),
            origin: Some(instance.origin.clone()),
        }
    }

    fn resolve_data(&mut self, instance: &Instance, key: String) -> Value {
        if let Some(value) = self.data_reads.get(&instance.address) {
            return value.clone();
        }
        let mut change = self.base_change(instance, key.clone());
        if self.deferred.contains(&instance.address) {
            change.action = Action::Read;
            change.reasons.push(Reason::ReadAfterChanges);
            change.after = instance.value.clone();
            self.changes.push(change);
            return instance.value.clone();
        }
        if !inputs_known(&instance.resource_kind, &instance.value) || !self.read_data {
            change.action = Action::Read;
            change.reasons.push(Reason::ReadInputsUnknown);
            change.after = instance.value.clone();
            self.changes.push(change);
            return instance.value.clone();
        }
        let provider = match self.providers.get(&key) {
            Ok(provider) => provider,
            Err(error) => {
                self.error(instance, error.message);
                return instance.value.clone();
            }
        };
        let ctx = OpContext::new(&self.config.base_dir, &instance.address);
        match read_data(
            &self.handle,
            provider,
            ctx,
            &instance.resource_kind,
            instance.value.clone(),
        ) {
            Ok(value) => {
                self.data_reads.insert(instance.address.clone(), value.clone());
                change.after = value.clone();
                self.changes.push(change);
                value
            }
            Err(error) => {
                self.error(instance, format!("cannot read {}: {}", instance.resource_kind, error));
                instance.value.clone()
            }
        }
    }
}

impl Resolver for Planner<'_> {
    fn settled(&mut self, address: &str) -> Option<Value> {
        self.settled.and_then(|settled| settled(address))
    }

    fn resolve(&mut self, instance: &Instance) -> Value {
        let included = self.scope.is_none_or(|scope| scope.includes(&instance.address));
        if included {
            return self.resolve_in_scope(instance);
        }
        if instance.kind == DeclKind::Data {
            // Not read: nothing in the run needs it.
            if let Some(value) = self.data_reads.get(&instance.address) {
                return value.clone();
            }
            let mut change = self.base_change(instance, String::new());
            change.action = Action::Read;
            self.left_out.push(change);
            return instance.value.clone();
        }
        // Planned as usual, for what the plan says it leaves out; its
        // errors are not this run's.
        let (errors, changes) = (self.errors.len(), self.changes.len());
        let value = self.resolve_in_scope(instance);
        self.errors.truncate(errors);
        let left: Vec<Change> = self.changes.drain(changes..).collect();
        self.left_out.extend(left.into_iter().filter(|c| c.action.is_change()));
        value
    }
}

impl Planner<'_> {
    fn resolve_in_scope(&mut self, instance: &Instance) -> Value {
        let key = provider_key(&instance.resource_kind, instance.options.provider_alias.as_deref());
        if instance.kind == DeclKind::Data {
            return self.resolve_data(instance, key);
        }
        let schema = lookup_kind(&instance.resource_kind);
        let provider = match self.providers.get(&key) {
            Ok(provider) => provider,
            Err(error) => {
                self.error(instance, error.message);
                return instance.value.clone();
            }
        };
        for problem in provider.validate(&instance.resource_kind, &instance.value) {
            self.error(instance, problem);
        }
        let mut change = self.base_change(instance, key);
        let ignored = &instance.options.ignore_changes;
        let prior = self.state.instances.get(&instance.address);
        let value = match prior {
            None => {
                change.action = Action::Create;
                change.reasons.push(match self.drift_reasons.get(&instance.address) {
                    Some(_) => Reason::DeletedOutside,
                    None => Reason::New,
                });
                provider.plan(&instance.resource_kind, None, &instance.value).value
            }
            Some(prior) => {
                let current = &prior.value;
                let config = with_ignored(&instance.value, current, ignored);
                change.config = config.clone();
                change.before = Some(current.clone());
                let planned = provider.plan(&instance.resource_kind, Some(current), &config);
                // The provider's view decides what changes: it may know
                // that two spellings are the same (`utf8` and `UTF8`).
                let changed = changed_inputs(schema, current, &planned.value, ignored);
                let drifted = self.drift_reasons.get(&instance.address);
                if prior.tainted {
                    change.action = Action::Replace;
                    change.reasons.push(Reason::Tainted);
                } else if !planned.requires_replace.is_empty() {
                    change.action = Action::Replace;
                    for name in &planned.requires_replace {
                        change.reasons.push(Reason::ForcesReplacement(name.clone()));
                    }
                    change.forces_replacement = planned.requires_replace.clone();
                } else if !changed.is_empty() {
                    change.action = Action::Update;
                    for name in &changed {
                        let by_hand = drifted.is_some_and(|fields| fields.contains(name));
                        change.reasons.push(if by_hand {
                            Reason::ChangedOutside(name.clone())
                        } else {
                            Reason::Changed(name.clone())
                        });
                    }
                }
                change.changed = changed;
                let requested = self.scope.is_some_and(|scope| scope.replaces(&instance.address));
                if requested {
                    // Replaced as it would be created: outputs anew. The
                    // reason says so even when a change forces it too, so
                    // that it stays a replacement whatever apply-time
                    // values turn out to be.
                    change.reasons.insert(0, Reason::ReplaceRequested);
                    if change.action == Action::Replace {
                        planned.value
                    } else {
                        change.action = Action::Replace;
                        provider.plan(&instance.resource_kind, None, &config).value
                    }
                } else if change.action == Action::NoOp {
                    current.clone()
                } else {
                    planned.value
                }
            }
        };
        let value = mark_sensitive(&instance.resource_kind, value);
        change.after = value.clone();
        if matches!(change.action, Action::Replace)
            && (instance.options.prevent_destroy || prior.is_some_and(|p| p.protected))
        {
            self.errors.push(
                Diagnostic::new(
                    &codes::E0902,
                    instance.span,
                    format!(
                        "`{}` is protected by @prevent_destroy, but this plan replaces it ({})",
                        instance.address,
                        crate::plan::join_reasons(&change.reasons)
                    ),
                )
                .with_help(if prior.is_some_and(|p| p.tainted) {
                    "the object is tainted (its create failed or was interrupted), so it must be \
                     replaced: remove @prevent_destroy and apply once to lift the protection"
                } else {
                    "undo the change that forces the replacement, or remove @prevent_destroy and \
                     apply once to lift the protection"
                }),
            );
        }
        self.changes.push(change);
        value
    }
}

/// What a run must do before planning: objects of interrupted operations
/// read back, and every recorded object refreshed.
pub struct Prepared {
    pub warnings: Vec<String>,
    pub errors: Vec<Diagnostic>,
    /// Recorded objects that could not be read back: the address and
    /// why. Planning reports each at its declaration when the
    /// configuration still has one, else at its recorded place.
    pub failed_refreshes: Vec<FailedRefresh>,
    pub drift: Vec<Drift>,
    /// The fields that drifted, by address.
    pub drift_fields: HashMap<String, Vec<String>>,
    /// The objects found drifted, as recorded before refresh replaced
    /// them: a drifted field whose configuration differs from what was
    /// recorded is a change of configuration, not only drift to undo.
    pub recorded_before_drift: HashMap<String, Value>,
    /// The state in memory now differs from the stored one (an object
    /// read back, changed or gone): the end of a run that records no
    /// operation still writes it under a new serial.
    pub state_changed: bool,
}

/// A recorded object that refresh could not read back.
#[derive(Debug, Clone)]
pub struct FailedRefresh {
    pub address: String,
    /// `conf: cannot refresh fs.file: ...`.
    pub message: String,
    /// Where the state recorded the declaration (`main.orch:3:10`).
    pub location: Option<String>,
}

impl FailedRefresh {
    /// The diagnostic at `span` (the declaration, when the configuration
    /// has it), else at the recorded place.
    fn diagnostic(&self, span: Option<Span>) -> Diagnostic {
        let place = recorded_place(&self.address, self.location.as_deref());
        Diagnostic::at_or_detached(&codes::E0903, span, self.message.clone(), place)
    }
}

/// Reads the objects of interrupted operations back and adopts or drops
/// them, then refreshes every recorded object through its provider
/// (unless `refresh` is false). The state is updated in memory: refreshed
/// objects replace recorded ones, objects found gone are removed.
pub async fn prepare(
    config: &Config<'_>,
    loaded: &mut Loaded,
    providers: &Providers,
    refresh: bool,
    parallelism: usize,
) -> Prepared {
    prepare_in(config, loaded, providers, refresh, parallelism, &|_| true).await
}

/// [`prepare`], refreshing only the recorded objects `included` accepts
/// (those a partial plan may touch).
pub async fn prepare_in(
    config: &Config<'_>,
    loaded: &mut Loaded,
    providers: &Providers,
    refresh: bool,
    parallelism: usize,
    included: &(dyn Fn(&str) -> bool + Sync),
) -> Prepared {
    let mut prepared = Prepared {
        warnings: Vec::new(),
        errors: Vec::new(),
        failed_refreshes: Vec::new(),
        drift: Vec::new(),
        drift_fields: HashMap::new(),
        recorded_before_drift: HashMap::new(),
        state_changed: false,
    };
    // Interrupted operations: a create may have made an object the state
    // does not know; read it back by its planned configuration.
    if !loaded.interrupted.is_empty() {
        let list: Vec<String> =
            loaded.interrupted.iter().map(|op| format!("{} {}", op.action, op.address)).collect();
        prepared.warnings.push(format!(
            "the previous run was interrupted during {} operation{}: {}; their objects are read back",
            list.len(),
            if list.len() == 1 { "" } else { "s" },
            list.join(", ")
        ));
        for op in std::mem::take(&mut loaded.interrupted) {
            if loaded.state.instances.contains_key(&op.address)
                || op.action == crate::events::Step::Delete
            {
                continue; // recorded already: refreshed below
            }
            let Ok(provider) = providers.get(&op.provider) else { continue };
            let ctx = OpContext::new(&config.base_dir, &op.address);
            match provider.read(&ctx, &op.kind, &op.planned).await {
                Ok(Some(object)) => {
                    let schema = lookup_kind(&op.kind);
                    let clean = object.is_known()
                        && inputs_known(&op.kind, &op.planned)
                        && changed_inputs(schema, &object, &inputs_of(schema, &op.planned), &[])
                            .is_empty();
                    prepared.state_changed = true;
                    loaded.state.instances.insert(
                        op.address.clone(),
                        InstanceState {
                            kind: op.kind.clone(),
                            provider: op.provider.clone(),
                            value: mark_sensitive(&op.kind, object),
                            depends_on: Vec::new(),
                            tainted: !clean,
                            protected: false,
                            create_before_destroy: false,
                            location: None,
                        },
                    );
                }
                Ok(None) => {}
                Err(error) => prepared.warnings.push(format!(
                    "{}: the object of the interrupted create could not be read back: {error}",
                    op.address
                )),
            }
        }
    }
    if !refresh {
        return prepared;
    }
    let semaphore = Arc::new(tokio::sync::Semaphore::new(parallelism.max(1)));
    let mut reads = JoinSet::new();
    for (address, instance) in &loaded.state.instances {
        if !included(address) {
            continue;
        }
        let provider = match providers.get(&instance.provider) {
            Ok(provider) => provider,
            Err(error) => {
                prepared.failed_refreshes.push(FailedRefresh {
                    address: address.clone(),
                    message: format!("{address}: cannot refresh: {error}"),
                    location: instance.location.clone(),
                });
                continue;
            }
        };
        let ctx = OpContext::new(&config.base_dir, address);
        let (kind, prior, address) =
            (instance.kind.clone(), instance.value.clone(), address.clone());
        let semaphore = semaphore.clone();
        reads.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let started = std::time::Instant::now();
            let result = provider.read(&ctx, &kind, &prior).await;
            tracing::debug!(
                address = %address,
                kind = %kind,
                ms = started.elapsed().as_millis() as u64,
                ok = result.is_ok(),
                "refresh read"
            );
            (address, result)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = reads.join_next().await {
        if let Ok(result) = joined {
            results.push(result);
        }
    }
    results.sort_by(|a, b| a.0.cmp(&b.0));
    for (address, result) in results {
        let Some(instance) = loaded.state.instances.get_mut(&address) else { continue };
        match result {
            Ok(Some(current)) => {
                let current = mark_sensitive(&instance.kind, current);
                let fields = drifted_fields(&instance.value, &current, &[]);
                if !fields.is_empty() {
                    prepared.drift.push(Drift {
                        address: address.clone(),
                        kind: instance.kind.clone(),
                        deleted: false,
                        fields: fields.clone(),
                        location: instance.location.clone(),
                    });
                    prepared.drift_fields.insert(address.clone(), fields);
                    prepared.recorded_before_drift.insert(address.clone(), instance.value.clone());
                }
                // Outputs the provider could not read back stay as recorded.
                let merged = merge_known(&instance.value, current);
                if merged != instance.value {
                    prepared.state_changed = true;
                    instance.value = merged;
                }
            }
            Ok(None) => {
                prepared.drift.push(Drift {
                    address: address.clone(),
                    kind: instance.kind.clone(),
                    deleted: true,
                    fields: Vec::new(),
                    location: instance.location.clone(),
                });
                prepared.drift_fields.insert(address.clone(), Vec::new());
                prepared.state_changed = true;
                loaded.state.instances.remove(&address);
            }
            Err(error) => prepared.failed_refreshes.push(FailedRefresh {
                message: format!("{address}: cannot refresh {}: {error}", instance.kind),
                location: instance.location.clone(),
                address,
            }),
        }
    }
    prepared
}

/// A diagnostic about a recorded object that the configuration no longer
/// declares, at its recorded place.
fn recorded_error(
    code: &'static orch_lang::diagnostic::Code,
    message: String,
    address: &str,
    instance: &InstanceState,
) -> Diagnostic {
    Diagnostic::detached(code, message, recorded_place(address, instance.location.as_deref()))
}

/// Where a recorded object was declared, for a message about it:
/// `main.orch:3:10 (`conf`, as recorded in the state)`.
fn recorded_place(address: &str, location: Option<&str>) -> String {
    match location {
        Some(location) => format!("{location} (`{address}`, as recorded in the state)"),
        None => format!("`{address}` (as recorded in the state)"),
    }
}

/// `current` with the fields it does not know taken from `recorded`.
fn merge_known(recorded: &Value, current: Value) -> Value {
    let (Value::Map(old), Value::Map(new)) = (recorded, &current) else { return current };
    let mut fields = new.to_map();
    for (name, value) in old.iter() {
        match fields.get(name) {
            Some(v) if v.is_known() => {}
            _ => {
                fields.insert(name.clone(), value.clone());
            }
        }
    }
    Value::map(fields)
}

/// Plans `apply`: evaluates the configuration against the (refreshed)
/// state.
///
/// A data instance that depends on an object the plan changes is read
/// during apply, once that change is made, as Terraform does: read now,
/// it would see the old object (or none). Which ones those are is known
/// only after evaluating, so the configuration is evaluated again, with
/// them deferred, until no new one turns up.
pub fn plan_apply(
    config: &Config<'_>,
    state: &State,
    providers: &Providers,
    prepared: Prepared,
    handle: tokio::runtime::Handle,
) -> (Plan, Evaluation) {
    plan_apply_in(config, state, providers, prepared, handle, &Scope::full())
}

/// [`plan_apply`] limited to `scope`, with its forced replacements: the
/// instances outside it are left as they are, and the plan says so
/// ([`Plan::partial`]).
pub fn plan_apply_in(
    config: &Config<'_>,
    state: &State,
    providers: &Providers,
    prepared: Prepared,
    handle: tokio::runtime::Handle,
    scope: &Scope,
) -> (Plan, Evaluation) {
    let mut deferred = HashSet::new();
    // Each data source is read once per plan: a pass reuses the reads of
    // the passes before it, except those it defers.
    let mut data_reads = BTreeMap::new();
    loop {
        let (plan, evaluation) = plan_once(
            config,
            state,
            providers,
            &prepared,
            handle.clone(),
            Pass { deferred: deferred.clone(), data_reads: std::mem::take(&mut data_reads), scope },
        );
        let more = data_to_defer(&plan, &evaluation);
        if more.is_subset(&deferred) {
            return (plan, evaluation);
        }
        data_reads = plan.data_reads.clone();
        data_reads.retain(|address, _| !more.contains(address));
        deferred.extend(more);
    }
}

/// The data instances of `plan` that depend, directly or through other
/// instances, on an object the plan creates, updates or replaces, or on
/// data read during apply.
fn data_to_defer(plan: &Plan, evaluation: &Evaluation) -> HashSet<String> {
    let pending: HashSet<&str> = plan
        .changes
        .iter()
        .filter(|c| {
            matches!(c.action, Action::Create | Action::Update | Action::Replace | Action::Read)
        })
        .map(|c| c.address.as_str())
        .collect();
    let depends: HashMap<&str, &Vec<String>> =
        evaluation.instances.iter().map(|i| (i.address.as_str(), &i.depends_on)).collect();
    // Whether an instance waits for something pending, memoised.
    fn waits<'a>(
        address: &'a str,
        depends: &HashMap<&'a str, &'a Vec<String>>,
        pending: &HashSet<&str>,
        memo: &mut HashMap<&'a str, bool>,
    ) -> bool {
        if let Some(&known) = memo.get(address) {
            return known;
        }
        memo.insert(address, false); // a cycle cannot make it true
        let result = depends.get(address).is_some_and(|list| {
            list.iter().any(|dep| {
                pending.contains(dep.as_str()) || waits(dep.as_str(), depends, pending, memo)
            })
        });
        memo.insert(address, result);
        result
    }
    let mut memo = HashMap::new();
    evaluation
        .instances
        .iter()
        .filter(|i| i.kind == DeclKind::Data)
        .filter(|i| waits(i.address.as_str(), &depends, &pending, &mut memo))
        .map(|i| i.address.clone())
        .collect()
}

/// What one planning pass starts from.
struct Pass<'s> {
    deferred: HashSet<String>,
    data_reads: BTreeMap<String, Value>,
    scope: &'s Scope,
}

fn plan_once(
    config: &Config<'_>,
    state: &State,
    providers: &Providers,
    prepared: &Prepared,
    handle: tokio::runtime::Handle,
    pass: Pass<'_>,
) -> (Plan, Evaluation) {
    let Pass { deferred, data_reads, scope } = pass;
    let mut planner = Planner {
        config,
        state,
        providers,
        handle,
        changes: Vec::new(),
        errors: prepared.errors.clone(),
        data_reads,
        read_data: true,
        drift_reasons: &prepared.drift_fields,
        deferred,
        settled: None,
        scope: Some(scope),
        left_out: Vec::new(),
    };
    let evaluation = config.evaluate(&mut planner);
    let Planner { mut changes, mut errors, data_reads, mut left_out, .. } = planner;
    for change in &mut changes {
        if let Some(recorded) = prepared.recorded_before_drift.get(&change.address) {
            configured_over_drift(change, recorded);
        }
    }
    // Dependencies are known once every instance is evaluated.
    let depends: HashMap<&str, &Vec<String>> =
        evaluation.instances.iter().map(|i| (i.address.as_str(), &i.depends_on)).collect();
    for change in &mut changes {
        if let Some(list) = depends.get(change.address.as_str()) {
            change.depends_on = (*list).clone();
        }
    }
    let declared: HashMap<&str, &Instance> =
        evaluation.instances.iter().map(|i| (i.address.as_str(), i)).collect();
    let refresh_errors = prepared
        .failed_refreshes
        .iter()
        .map(|failed| failed.diagnostic(declared.get(failed.address.as_str()).map(|i| i.span)));
    errors.splice(0..0, refresh_errors);
    let in_config: std::collections::HashSet<&str> = declared.keys().copied().collect();
    for (address, instance) in &state.instances {
        if in_config.contains(address.as_str()) {
            continue;
        }
        if !scope.includes(address) {
            left_out.push(deletion(address, instance, Reason::NoLongerInConfiguration));
            continue;
        }
        let deposed = address.ends_with(DEPOSED);
        let kept =
            !deposed && evaluation.removals.iter().any(|r| !r.destroy && covers(&r.from, address));
        if kept {
            let mut change = deletion(address, instance, Reason::RemovedKeepObject);
            change.action = Action::Forget;
            changes.push(change);
            continue;
        }
        let change = deletion(
            address,
            instance,
            if deposed { Reason::Deposed } else { Reason::NoLongerInConfiguration },
        );
        if instance.protected && !deposed {
            errors.push(recorded_error(
                &codes::E0902,
                format!(
                    "`{address}` is protected by @prevent_destroy and is no longer in the configuration"
                ),
                address,
                instance,
            ).with_help(format!(
                "put its declaration back, or lift the protection with `orchc state unprotect '{address}'` (or forget the object with `orchc state rm '{address}'`)"
            )));
        }
        changes.push(change);
    }
    // A rename without `moved` is refused even when one half of it is left
    // out: applying the other half alone would lose the object too.
    let all: Vec<Change> = changes.iter().chain(&left_out).cloned().collect();
    errors.extend(identity_conflicts(&all));
    // Evaluation errors (an `assert` on recorded values, an expression
    // that fails on them) make the plan unappliable too.
    errors.extend(evaluation.diagnostics.iter().filter(|d| d.is_error()).cloned());
    let partial = scope.partial.clone().map(|mut partial| {
        partial.left_out = left_out.iter().map(|c| c.address.clone()).collect();
        partial.left_out.sort();
        partial
    });
    let outputs = match &partial {
        Some(partial) => not_updated(
            &evaluation.outputs,
            &evaluation.output_depends_on,
            &partial.left_out,
            &state.outputs,
        ),
        None => evaluation.outputs.clone(),
    };
    let plan = Plan {
        operation: PlanKind::Apply,
        lineage: state.lineage.clone(),
        serial: state.serial,
        changes,
        drift: without_ignored(&prepared.drift, &declared),
        errors,
        warnings: prepared.warnings.clone(),
        outputs,
        outputs_before: state.outputs.clone(),
        data_reads,
        moves: Vec::new(),
        imports: Vec::new(),
        partial,
        refreshed: Vec::new(),
    };
    (plan, evaluation)
}

/// The outputs of a partial run: those that depend on an instance it left
/// out keep the value of the last apply (or stay absent); the others take
/// their new value.
pub fn not_updated(
    outputs: &BTreeMap<String, Value>,
    depends_on: &BTreeMap<String, Vec<String>>,
    left_out: &[String],
    before: &BTreeMap<String, Value>,
) -> BTreeMap<String, Value> {
    let left_out: HashSet<&str> = left_out.iter().map(String::as_str).collect();
    let mut result = BTreeMap::new();
    for (name, value) in outputs {
        let stale = depends_on
            .get(name)
            .is_some_and(|deps| deps.iter().any(|d| left_out.contains(d.as_str())));
        let value = if stale { before.get(name).cloned() } else { Some(value.clone()) };
        if let Some(value) = value {
            result.insert(name.clone(), value);
        }
    }
    result
}

/// The resolver of a refresh-only run: every instance stands as recorded
/// (an instance with no object, as configured, its outputs unknown); data
/// is not read.
struct AsRecorded<'s> {
    state: &'s State,
}

impl Resolver for AsRecorded<'_> {
    fn resolve(&mut self, instance: &Instance) -> Value {
        match self.state.instances.get(&instance.address) {
            Some(recorded) if instance.kind == DeclKind::Resource => recorded.value.clone(),
            _ => instance.value.clone(),
        }
    }
}

/// The root module's outputs against the objects as recorded in `state`
/// (after a refresh-only run): those known from them take their value;
/// the others keep the value of the last apply.
pub fn recorded_outputs(config: &Config<'_>, state: &State) -> BTreeMap<String, Value> {
    let evaluation = config.evaluate(&mut AsRecorded { state });
    let mut outputs = state.outputs.clone();
    for (name, value) in evaluation.outputs {
        if value.is_known() {
            outputs.insert(name, value);
        }
    }
    outputs.retain(|name, _| evaluation.output_depends_on.contains_key(name));
    outputs
}

/// Plans `--refresh-only`: the objects refresh found changed or gone,
/// recorded as found; no object changes.
pub fn plan_refresh(config: &Config<'_>, state: &State, prepared: Prepared, scope: &Scope) -> Plan {
    let mut errors: Vec<Diagnostic> =
        prepared.failed_refreshes.iter().map(|failed| failed.diagnostic(None)).collect();
    errors.extend(prepared.errors);
    let refreshed = prepared
        .drift
        .iter()
        .filter(|drift| scope.includes(&drift.address))
        .map(|drift| StateRefresh {
            address: drift.address.clone(),
            object: state.instances.get(&drift.address).map(|i| i.value.clone()),
        })
        .collect();
    Plan {
        operation: PlanKind::Refresh,
        lineage: state.lineage.clone(),
        serial: state.serial,
        changes: Vec::new(),
        drift: prepared.drift,
        errors,
        warnings: prepared.warnings,
        outputs: recorded_outputs(config, state),
        outputs_before: state.outputs.clone(),
        data_reads: BTreeMap::new(),
        moves: Vec::new(),
        imports: Vec::new(),
        partial: scope.partial.clone(),
        refreshed,
    }
}

/// Makes "`f` changed outside Orch" "`f` changed" where the configuration
/// of `f` differs from what was recorded before the drift: the update
/// then follows a change of configuration, whatever happened outside.
fn configured_over_drift(change: &mut Change, recorded: &Value) {
    for reason in &mut change.reasons {
        if let Reason::ChangedOutside(name) = reason
            && crate::plan::differs(
                crate::provider::field(recorded, name),
                crate::provider::field(&change.config, name),
            )
        {
            *reason = Reason::Changed(name.clone());
        }
    }
}

/// The drift found by refresh, less the fields each declaration's
/// `@ignore_changes` hides (refresh runs before evaluation, so it cannot
/// know them); an object whose every drifted field is ignored has no drift.
fn without_ignored(drift: &[Drift], declared: &HashMap<&str, &Instance>) -> Vec<Drift> {
    drift
        .iter()
        .filter_map(|entry| {
            let ignored = match declared.get(entry.address.as_str()) {
                Some(instance) if !entry.deleted => &instance.options.ignore_changes,
                _ => return Some(entry.clone()),
            };
            let fields: Vec<String> =
                entry.fields.iter().filter(|f| !ignored.contains(f)).cloned().collect();
            (!fields.is_empty()).then(|| Drift { fields, ..entry.clone() })
        })
        .collect()
}

fn deletion(address: &str, instance: &InstanceState, reason: Reason) -> Change {
    Change {
        address: address.to_string(),
        kind: instance.kind.clone(),
        provider: instance.provider.clone(),
        action: Action::Delete,
        reasons: vec![reason],
        changed: Vec::new(),
        forces_replacement: Vec::new(),
        before: Some(instance.value.clone()),
        after: Value::None,
        config: Value::None,
        depends_on: instance.depends_on.clone(),
        options: orch_compiler::eval::InstanceOptions {
            prevent_destroy: instance.protected,
            create_before_destroy: instance.create_before_destroy,
            ..Default::default()
        },
        data: false,
        location: instance.location.clone(),
        span: None,
        origin: None,
    }
}

/// Plans `destroy`: every recorded object, in reverse dependency order.
pub fn plan_destroy(state: &State, prepared: Prepared) -> Plan {
    plan_destroy_in(state, prepared, &Scope::full())
}

/// [`plan_destroy`] of the recorded objects in `scope` only.
pub fn plan_destroy_in(state: &State, prepared: Prepared, scope: &Scope) -> Plan {
    let mut errors: Vec<Diagnostic> =
        prepared.failed_refreshes.iter().map(|failed| failed.diagnostic(None)).collect();
    errors.extend(prepared.errors);
    let mut changes = Vec::new();
    let mut partial = scope.partial.clone();
    for (address, instance) in &state.instances {
        if !scope.includes(address) {
            if let Some(partial) = partial.as_mut() {
                partial.left_out.push(address.clone());
            }
            continue;
        }
        if instance.protected {
            errors.push(recorded_error(
                &codes::E0902,
                format!("`{address}` is protected by @prevent_destroy"),
                address,
                instance,
            ).with_help(format!(
                "remove @prevent_destroy and apply, or lift the protection with `orchc state unprotect '{address}'`"
            )));
        }
        changes.push(deletion(address, instance, Reason::Destroy));
    }
    Plan {
        operation: PlanKind::Destroy,
        lineage: state.lineage.clone(),
        serial: state.serial,
        changes,
        drift: prepared.drift,
        errors,
        warnings: prepared.warnings,
        outputs: BTreeMap::new(),
        outputs_before: state.outputs.clone(),
        data_reads: BTreeMap::new(),
        moves: Vec::new(),
        imports: Vec::new(),
        partial,
        refreshed: Vec::new(),
    }
}

/// Whether the address `pattern` of a lifecycle block covers the
/// instance `address`: the same instance, or one inside it (`conf` covers
/// `conf["api"]`, `site` covers `site.page`).
pub fn covers(pattern: &str, address: &str) -> bool {
    match address.strip_prefix(pattern) {
        Some("") => true,
        Some(rest) => rest.starts_with('[') || rest.starts_with('.'),
        None => false,
    }
}

/// Where the `moved` blocks send the instance recorded at `address`,
/// following chains; `None` when no block covers it.
fn destination(address: &str, moves: &[Move]) -> Option<(String, Span)> {
    let mut current = address.to_string();
    let mut found = None;
    // The checker refuses cycles; the bound keeps a bad input finite.
    for _ in 0..=moves.len() {
        let Some(step) = moves.iter().find(|m| covers(&m.from, &current)) else { break };
        current = format!("{}{}", step.to, &current[step.from.len()..]);
        found = Some(step.span);
    }
    found.map(|span| (current, span))
}

/// The moves of `moved` blocks applied to a copy of `state`, for
/// planning: the moved state (`state` itself when nothing moves), the
/// moves to persist, and the moves that cannot be made (onto an address
/// with an object of its own).
pub fn plan_moves<'s>(
    state: &'s State,
    moves: &[Move],
) -> (Cow<'s, State>, Vec<StateMove>, Vec<Diagnostic>) {
    let mut planned: Vec<(String, String, Span)> = Vec::new();
    for address in state.instances.keys() {
        if let Some((to, span)) = destination(address, moves) {
            planned.push((address.clone(), to, span));
        }
    }
    let leaving: HashSet<&str> = planned.iter().map(|(from, _, _)| from.as_str()).collect();
    let mut errors = Vec::new();
    let mut taken: HashMap<String, String> = HashMap::new();
    let mut steps = Vec::new();
    for (from, to, span) in &planned {
        let occupied = state.instances.contains_key(to) && !leaving.contains(to.as_str());
        if occupied || taken.contains_key(to) {
            let other =
                taken.get(to).map_or(to.clone(), |first| format!("`{first}`, moved there too"));
            errors.push(
                Diagnostic::new(
                    &codes::E0905,
                    *span,
                    format!("`{from}` cannot move to `{to}`: `{to}` has an object of its own in the state ({other})"),
                )
                .with_help(format!(
                    "move it to a free address, or forget the object at the destination first (`orchc state rm '{to}'`)"
                )),
            );
            continue;
        }
        taken.insert(to.clone(), from.clone());
        steps.push(StateMove { from: from.clone(), to: to.clone() });
    }
    if steps.is_empty() {
        return (Cow::Borrowed(state), steps, errors);
    }
    let mut moved = state.clone();
    let renamed: HashMap<&str, &str> =
        steps.iter().map(|s| (s.from.as_str(), s.to.as_str())).collect();
    let mut instances = BTreeMap::new();
    for (address, instance) in std::mem::take(&mut moved.instances) {
        let mut instance = instance;
        for dep in &mut instance.depends_on {
            if let Some(to) = renamed.get(dep.as_str()) {
                *dep = (*to).to_string();
            }
        }
        let address = renamed.get(address.as_str()).map_or(address, |to| (*to).to_string());
        instances.insert(address, instance);
    }
    moved.instances = instances.into_iter().collect();
    (Cow::Owned(moved), steps, errors)
}

/// The identity of the object a change creates or deletes: its kind, its
/// provider configuration and the values of its identity fields, when all
/// are known. A field left out (none) is part of the identity: a grant on a
/// database has no `schema`, and two such grants are still the same.
fn identity(change: &Change, value: &Value) -> Option<(String, String, Vec<Value>)> {
    if change.data {
        return None;
    }
    object_identity(&change.kind, &change.provider, value)
}

/// The identity of an object of `kind` managed by the provider
/// configuration `provider`: see [`identity`].
fn object_identity(
    kind: &str,
    provider: &str,
    value: &Value,
) -> Option<(String, String, Vec<Value>)> {
    let schema = lookup_kind(kind)?;
    if schema.identity.is_empty() {
        return None;
    }
    let mut values = Vec::new();
    for name in schema.identity {
        // A field missing from an object recorded before the kind had it
        // holds its default.
        let value = match crate::provider::field(value, name) {
            Value::None => {
                schema.field(name).and_then(|field| field.default.as_ref()).unwrap_or(&Value::None)
            }
            value => value,
        };
        if !value.is_known() {
            return None;
        }
        // A list of names (a grant's `objects`) names a set: in any order,
        // the same objects.
        let value = match value.reveal_all() {
            Value::List(items) => {
                let mut items = items.to_vec();
                items.sort_by_key(Value::to_string);
                items.dedup();
                Value::list(items)
            }
            value => value,
        };
        values.push(value);
    }
    Some((kind.to_string(), provider.to_string(), values))
}

/// The identity of what a change deletes and of what it creates, for
/// deletions and creations of whole objects.
pub fn deleted_identity(change: &Change) -> Option<(String, String, Vec<Value>)> {
    match change.action {
        Action::Delete | Action::Replace => identity(change, change.before.as_ref()?),
        _ => None,
    }
}

pub fn created_identity(change: &Change) -> Option<(String, String, Vec<Value>)> {
    match change.action {
        Action::Create | Action::Replace => identity(change, &change.config),
        _ => None,
    }
}

pub use orch_compiler::lifecycle::declaration_move;

/// A deletion of an instance that left the configuration and a creation
/// of another instance that is the same object: a rename without a
/// `moved` block. Applying it would destroy the object being renamed.
fn identity_conflicts(changes: &[Change]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for deleted in changes.iter().filter(|c| c.action == Action::Delete) {
        if deleted.reasons.contains(&Reason::Deposed) {
            continue;
        }
        let Some(old) = deleted_identity(deleted) else { continue };
        for created in changes.iter().filter(|c| c.action == Action::Create) {
            if created_identity(created).as_ref() != Some(&old) {
                continue;
            }
            let (from, to) = (&deleted.address, &created.address);
            let what = old.2.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ");
            let message = format!(
                "`{from}` would be deleted and `{to}` created, but both are the {} {what}",
                deleted.kind
            );
            let (block_from, block_to) = declaration_move(from, to);
            let help = format!(
                "if `{from}` was renamed to `{to}`, say so, and the object is kept:\n\nmoved {{\n  from = {block_from}\n  to   = {block_to}\n}}"
            );
            let diagnostic = match created.span {
                Some(span) => Diagnostic::new(&codes::E0906, span, message),
                None => Diagnostic::detached(&codes::E0906, message, to.clone()),
            };
            errors.push(diagnostic.with_help(help));
        }
    }
    errors
}

/// The `import` blocks of the configuration applied to a copy of `state`,
/// for planning: each object is read through its provider by its id and
/// recorded at the block's address, so that the plan shows only the
/// difference to the configuration. A block whose address is already in
/// the state is a no-op. Returns the state with the imports (`state`
/// itself when nothing is imported), the imports to persist on apply, and
/// the blocks that cannot be planned.
pub async fn plan_imports<'s>(
    config: &Config<'_>,
    state: &'s State,
    providers: &Providers,
    evaluation: &Evaluation,
) -> (Cow<'s, State>, Vec<crate::plan::StateImport>, Vec<Diagnostic>) {
    let mut imported = Cow::Borrowed(state);
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for block in &evaluation.imports {
        if let Some(first) = seen.insert(block.to.as_str(), block.span) {
            errors.push(
                Diagnostic::new(
                    &codes::E0907,
                    block.span,
                    format!("`{}` is imported twice", block.to),
                )
                .with_label(first, "first imported here")
                .with_help("an address holds one object: keep one of the two `import` blocks"),
            );
            continue;
        }
        if state.instances.contains_key(&block.to) {
            continue; // adopted already: the block is harmless
        }
        let target = ImportTarget { address: &block.to, id: block.id.as_deref(), span: block.span };
        match import_one(config, &imported, providers, &evaluation.instances, target).await {
            Ok(step) => {
                imported.to_mut().instances.insert(step.address.clone(), step.record());
                steps.push(step);
            }
            // A read that found nothing points at the id as well.
            Err(error) if *error.code == codes::E0908 => {
                errors.push(error.with_label(block.id_span, "no object has this id"))
            }
            Err(error) => errors.push(error),
        }
    }
    (imported, steps, errors)
}

/// `object` with every field that the configuration sets to a secret
/// marked secret too: a file whose configured content is secret holds a
/// secret, and its content read back must not reach the plan or the state
/// in plaintext (a refresh keeps the marks of the recorded object; an
/// import has no record to take them from).
fn secret_as_configured(kind: &str, object: Value, config: &Value) -> Value {
    let (Value::Map(fields), Value::Map(configured)) = (&object, config) else { return object };
    let schema = lookup_kind(kind);
    // What a provider computes from a secret it keeps (a file's hash and
    // size from secret content) is secret too.
    let derived_secret = schema.is_some_and(|schema| {
        schema
            .fields
            .iter()
            .any(|f| f.keeps_secrets && configured.get(f.name).is_some_and(Value::contains_secret))
    });
    let mut fields = fields.to_map();
    for (name, value) in fields.iter_mut() {
        let output = schema.and_then(|s| s.field(name)).is_some_and(|f| f.output);
        let secret =
            configured.get(name).is_some_and(Value::contains_secret) || output && derived_secret;
        if secret && !value.is_secret() {
            *value = Value::secret(value.clone());
        }
    }
    Value::map(fields)
}

/// One object to import: the address that adopts it, its id, and the
/// `import` block (or nothing, for `orchc import`).
#[derive(Debug, Clone, Copy)]
pub struct ImportTarget<'t> {
    pub address: &'t str,
    /// `None` when the id is not a string known at plan time.
    pub id: Option<&'t str>,
    /// The `import` block; `Span::default()` for `orchc import`.
    pub span: Span,
}

impl crate::plan::StateImport {
    /// The state record of the object imported.
    pub fn record(&self) -> InstanceState {
        InstanceState {
            kind: self.kind.clone(),
            provider: self.provider.clone(),
            value: self.object.clone(),
            depends_on: Vec::new(),
            tainted: false,
            protected: false,
            create_before_destroy: false,
            location: self.location.clone(),
        }
    }
}

/// Reads the object `target` names through the provider of the instance
/// that adopts it. Errors are `E0907` (no such instance, no usable id, or
/// the object is managed at another address already), `E0908` (no object
/// with that id), `E0909` (the kind cannot be imported) and `E0903` (the
/// provider could not read it).
pub async fn import_one(
    config: &Config<'_>,
    state: &State,
    providers: &Providers,
    instances: &[Instance],
    target: ImportTarget<'_>,
) -> Result<crate::plan::StateImport, Diagnostic> {
    let error = |code: &'static orch_lang::diagnostic::Code, message: String| {
        if target.span == Span::default() {
            Diagnostic::detached(code, message, format!("`{}`", target.address))
        } else {
            Diagnostic::new(code, target.span, message)
        }
    };
    let address = target.address;
    let Some(instance) =
        instances.iter().find(|i| i.address == address && i.kind == DeclKind::Resource)
    else {
        let mut diagnostic = error(
            &codes::E0907,
            format!(
                "the `import` adopts into `{address}`, which the configuration does not declare"
            ),
        );
        // The instances of the same declaration, to choose from.
        let name = address.split(['[', '.']).next().unwrap_or(address);
        let mut similar: Vec<&str> = instances
            .iter()
            .filter(|i| i.kind == DeclKind::Resource)
            .map(|i| i.address.as_str())
            .filter(|a| a.split(['[', '.']).next() == Some(name))
            .collect();
        similar.sort();
        if !similar.is_empty() {
            let list: Vec<String> = similar.iter().take(5).map(|a| format!("`{a}`")).collect();
            diagnostic = diagnostic.with_help(format!(
                "the configuration declares {}{}",
                list.join(", "),
                if similar.len() > 5 { ", ..." } else { "" }
            ));
        }
        return Err(diagnostic);
    };
    let Some(id) = target.id else {
        return Err(error(
            &codes::E0907,
            format!("the id of the `import` into `{address}` is not a string known at plan time"),
        ));
    };
    let kind = instance.resource_kind.as_str();
    let key = provider_key(kind, instance.options.provider_alias.as_deref());
    let provider = providers.get(&key).map_err(|e| error(&codes::E0903, e.message))?;
    if let Some(why) = provider.import_refusal(kind) {
        return Err(error(&codes::E0909, format!("`{address}` cannot be imported: {why}"))
            .with_help("remove the `import`: applying the configuration makes the resource"));
    }
    let ctx = OpContext::new(&config.base_dir, address);
    let started = std::time::Instant::now();
    let result = provider.import(&ctx, kind, id).await;
    tracing::debug!(
        address,
        kind,
        ms = started.elapsed().as_millis() as u64,
        ok = result.is_ok(),
        "import read"
    );
    let object = match result {
        Ok(Some(object)) => {
            secret_as_configured(kind, mark_sensitive(kind, object), &instance.value)
        }
        Ok(None) => {
            return Err(error(
                &codes::E0908,
                format!("there is no {kind} with the id {id:?} to import into `{address}`"),
            )
            .with_help(
                "check the id (a path for fs kinds, a name for pg kinds), or remove the `import` to have Orch create the object",
            ));
        }
        Err(failure) => {
            return Err(error(
                &codes::E0903,
                format!("{address}: cannot import {kind} {id:?}: {failure}"),
            ));
        }
    };
    let step = crate::plan::StateImport {
        address: address.to_string(),
        kind: kind.to_string(),
        provider: key,
        id: id.to_string(),
        object,
        location: Some(config.location(instance.span)),
    };
    // One object, one address: an object the state manages elsewhere is
    // moved, not imported again.
    if let Some(identity) = object_identity(&step.kind, &step.provider, &step.object) {
        for (other, recorded) in &state.instances {
            if object_identity(&recorded.kind, &recorded.provider, &recorded.value).as_ref()
                == Some(&identity)
            {
                let (from, to) = declaration_move(other, address);
                return Err(error(
                    &codes::E0907,
                    format!("the object {id:?} is already in the state as `{other}`: importing it into `{address}` would make two addresses manage one object"),
                )
                .with_help(format!("to give it the new address, move it:\n\nmoved {{\n  from = {from}\n  to   = {to}\n}}")));
            }
        }
    }
    Ok(step)
}
