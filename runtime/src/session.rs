//! The runtime's API: what `plan`, `apply`, `destroy`, `state` and
//! `output` do, for the command line or any other driver (a server, the
//! language server). A [`Session`] is one run against one state: the
//! configuration checked and its providers configured, the state opened,
//! locked and loaded; it plans, applies a plan (its own or a saved one,
//! checked against the state), and releases the lock when closed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use orch_compiler::eval::Evaluation;
use orch_lang::Diagnostic;
use orch_stdlib::Value;

use crate::apply::{ApplyOptions, ApplyReport, Interrupts, Run};
use crate::engine::{
    ImportTarget, Providers, import_one, plan_apply_in, plan_destroy_in, plan_imports, plan_moves,
    plan_refresh, prepare_in,
};
use crate::error::{RunError, StaleReason};
use crate::events::EventSink;
use crate::location::{OpenState, StateLocation};
use crate::plan::{Action, Plan, PlanKind};
use crate::planfile::{self, PlanFile};
use crate::project::Project;
use crate::secrets::KeySource;
use crate::state::{Loaded, State};
use crate::targeting::{Scope, Targeting};

/// What a plan is for, what it reads first and what it is limited to.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Apply, destroy, or record drift only ([`PlanKind::Refresh`], which
    /// always refreshes).
    pub kind: PlanKind,
    /// Read every recorded object back first (drift).
    pub refresh: bool,
    /// At most this many reads at once while refreshing.
    pub parallelism: usize,
    /// `--target`, `--exclude`, `--replace`.
    pub targeting: Targeting,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            kind: PlanKind::Apply,
            refresh: true,
            parallelism: 10,
            targeting: Targeting::default(),
        }
    }
}

/// One run against one state, holding its lock.
pub struct Session<'p> {
    pub project: &'p Project,
    pub state: OpenState,
    pub loaded: Loaded,
    providers: Providers,
    /// The configuration evaluated on its own (provider blocks,
    /// instances), for saved plans to find their places in.
    evaluation: Evaluation,
    /// Warnings of that evaluation, for the user.
    pub warnings: Vec<Diagnostic>,
    /// Planning changed the loaded state in memory (refresh): see
    /// [`crate::apply::apply_changed`].
    state_changed: bool,
}

impl<'p> Session<'p> {
    /// Checks the configuration, configures its providers, then locks
    /// and loads the state `state` for `operation` (`plan`, `apply`,
    /// `destroy`), waiting up to `lock_timeout` for another run's lock.
    pub async fn start(
        project: &'p Project,
        mut state: OpenState,
        operation: &str,
        lock_timeout: Duration,
    ) -> Result<Session<'p>, RunError> {
        let preflight = project.preflight()?;
        let plugins = crate::plugin::specs(&project.analysis);
        let providers = Providers::configure(&preflight.evaluation.providers, &plugins)
            .await
            .map_err(RunError::Diagnostics)?;
        state.lock(operation, lock_timeout).await?;
        let loaded = match state.backend.load().await {
            Ok(loaded) => loaded,
            Err(error) => {
                state.unlock().await;
                return Err(RunError::State { context: "cannot read the state", error });
            }
        };
        Ok(Session {
            project,
            state,
            loaded,
            providers,
            evaluation: preflight.evaluation,
            warnings: preflight.warnings,
            state_changed: false,
        })
    }

    /// Refreshes (reads interrupted operations' objects back, then every
    /// recorded object the run may touch) and plans. The plan's `errors`
    /// say why it cannot be applied; an address of `options.targeting`
    /// that matches nothing is an error before anything is read.
    pub async fn plan(&mut self, options: &PlanOptions) -> Result<Plan, RunError> {
        // Planning evaluates the configuration again, against the state:
        // the instance values of the evaluation at the start are dropped
        // first (but those the `import` blocks read), so that a large
        // configuration is not held twice.
        let imported: std::collections::HashSet<String> =
            self.evaluation.imports.iter().map(|block| block.to.clone()).collect();
        self.evaluation.forget_values(|instance| imported.contains(&instance.address));
        let config = self.project.config();
        let refresh = options.refresh || options.kind == PlanKind::Refresh;
        // The addresses are those of the configuration and of the state as
        // the `moved` blocks leave it (a refresh-only plan moves nothing).
        let moves = match options.kind {
            PlanKind::Apply => self.evaluation.moves.as_slice(),
            PlanKind::Destroy | PlanKind::Refresh => &[],
        };
        let (scope, renamed) = {
            let (moved, steps, _) = plan_moves(&self.loaded.state, moves);
            let scope = Scope::resolve(
                &options.targeting,
                options.kind,
                &self.evaluation.instances,
                &moved,
            )?;
            // A recorded object is refreshed when the run may touch it,
            // under the address the moves give it.
            let renamed: std::collections::HashMap<String, String> =
                steps.into_iter().map(|m| (m.from, m.to)).collect();
            (scope, renamed)
        };
        let included =
            |address: &str| scope.includes(renamed.get(address).map_or(address, String::as_str));
        // The providers that manage objects of this run answer first, so
        // that a wrong server is a plan error at its `provider` block.
        let probe_errors = if refresh {
            let mut keys: std::collections::BTreeSet<String> = self
                .evaluation
                .instances
                .iter()
                .filter(|i| i.kind == orch_compiler::model::DeclKind::Resource)
                .filter(|i| options.kind == PlanKind::Apply && scope.includes(&i.address))
                .map(|i| {
                    crate::engine::provider_key(
                        &i.resource_kind,
                        i.options.provider_alias.as_deref(),
                    )
                })
                .collect();
            keys.extend(
                self.loaded
                    .state
                    .instances
                    .iter()
                    .filter(|(address, _)| included(address))
                    .map(|(_, i)| i.provider.clone()),
            );
            self.providers.probe(&keys, &self.evaluation.providers).await
        } else {
            Vec::new()
        };
        let mut prepared = prepare_in(
            &config,
            &mut self.loaded,
            &self.providers,
            refresh,
            options.parallelism,
            &included,
        )
        .await;
        self.state_changed |= prepared.state_changed;
        prepared.errors.extend(probe_errors);
        Ok(match options.kind {
            PlanKind::Destroy => plan_destroy_in(&self.loaded.state, prepared, &scope),
            PlanKind::Refresh => plan_refresh(&config, &self.loaded.state, prepared, &scope),
            PlanKind::Apply => {
                let handle = tokio::runtime::Handle::current();
                // Planned against the state as the `moved` blocks leave
                // it; the moves themselves are applied first (those of the
                // instances the run may touch).
                let (moved, mut moves, mut errors) =
                    plan_moves(&self.loaded.state, &self.evaluation.moves);
                moves.retain(|m| scope.includes(&m.to));
                // Then against the objects the `import` blocks adopt (those
                // the run may touch), read now and recorded after the moves.
                let (imported, mut imports, import_errors) =
                    plan_imports(&config, &moved, &self.providers, &self.evaluation).await;
                imports.retain(|i| scope.includes(&i.address));
                errors.extend(import_errors);
                let mut plan =
                    plan_apply_in(&config, &imported, &self.providers, prepared, handle, &scope).0;
                plan.moves = moves;
                plan.imports = imports;
                plan.errors.extend(errors);
                plan
            }
        })
    }

    /// Reads the object `id` through the provider of the resource instance
    /// `address` of the configuration (`orchc import ADDR ID`), without
    /// changing anything: the object as it would be recorded.
    pub async fn read_import(
        &mut self,
        address: &str,
        id: &str,
    ) -> Result<crate::plan::StateImport, RunError> {
        if self.loaded.state.instances.contains_key(address) {
            return Err(RunError::AlreadyManaged {
                address: address.to_string(),
                location: self.state.description.clone(),
            });
        }
        let config = self.project.config();
        let target = ImportTarget { address, id: Some(id), span: orch_lang::Span::default() };
        import_one(&config, &self.loaded.state, &self.providers, &self.evaluation.instances, target)
            .await
            .map_err(|diagnostic| RunError::Diagnostics(vec![diagnostic]))
    }

    /// Records an object read by [`Session::read_import`] in the state,
    /// as one persisted step: the next plan shows only its difference to
    /// the configuration.
    pub async fn record_import(
        &mut self,
        import: &crate::plan::StateImport,
    ) -> Result<(), RunError> {
        self.check_secrets_of(&import.kind, &import.address, &import.object)?;
        let saving = |error| RunError::State { context: "cannot save the state", error };
        let mut record = import.record();
        // The dependencies of the instance that adopts it, so that a destroy
        // right after the import deletes it before what it uses.
        if let Some(instance) =
            self.evaluation.instances.iter().find(|i| i.address == import.address)
        {
            record.depends_on.clone_from(&instance.depends_on);
        }
        let state = &mut self.loaded.state;
        state.advance_serial().map_err(saving)?;
        state.instances.insert(import.address.clone(), record);
        self.state.backend.finish(state).await.map_err(saving)
    }

    fn check_secrets_of(&self, kind: &str, address: &str, value: &Value) -> Result<(), RunError> {
        if self.state.can_store_secrets() || !stores_secret(kind, value) {
            return Ok(());
        }
        Err(RunError::NoKeyForSecrets {
            location: self.state.description.clone(),
            addresses: vec![address.to_string()],
        })
    }

    /// Takes a saved plan to apply: refused when the state changed since it
    /// was made, or a run was interrupted since.
    pub fn accept_saved(&mut self, mut plan: Plan) -> Result<Plan, RunError> {
        let state = &self.loaded.state;
        let new_state = self.loaded.created && plan.serial == 0;
        if plan.lineage != state.lineage && !new_state || plan.serial != state.serial {
            return Err(RunError::StalePlan(StaleReason::Serial {
                planned: plan.serial,
                lineage: plan.lineage.clone(),
                found: state.serial,
                found_lineage: state.lineage.clone(),
            }));
        }
        if !self.loaded.interrupted.is_empty() {
            return Err(RunError::StalePlan(StaleReason::Interrupted));
        }
        if self.loaded.created {
            self.loaded.state.lineage = plan.lineage.clone();
            self.state.backend.adopt_lineage(&plan.lineage).map_err(|error| RunError::State {
                context: "cannot start the state the plan was made for",
                error,
            })?;
        }
        plan.attach(&self.evaluation);
        Ok(plan)
    }

    /// Refuses, before anything changes, a plan that would store a secret
    /// in a shared state without `ORCH_STATE_KEY`.
    pub fn check_secrets(&self, plan: &Plan) -> Result<(), RunError> {
        if self.state.can_store_secrets() {
            return Ok(());
        }
        let addresses: Vec<String> = plan
            .effective()
            .filter(|c| matches!(c.action, Action::Create | Action::Update | Action::Replace))
            .filter(|c| stores_secret(&c.kind, &c.after) || stores_secret(&c.kind, &c.config))
            .map(|c| c.address.clone())
            .collect();
        let mut addresses = addresses;
        addresses.extend(
            plan.imports
                .iter()
                .filter(|i| stores_secret(&i.kind, &i.object))
                .map(|i| i.address.clone()),
        );
        if addresses.is_empty() {
            return Ok(());
        }
        Err(RunError::NoKeyForSecrets { location: self.state.description.clone(), addresses })
    }

    /// Applies `plan` (made by [`Session::plan`] or accepted by
    /// [`Session::accept_saved`]), recording every outcome as it comes.
    pub async fn apply(
        &mut self,
        plan: &Plan,
        options: &ApplyOptions,
        sink: &mut dyn EventSink,
        interrupts: Interrupts,
    ) -> Result<ApplyReport, RunError> {
        self.check_secrets(plan)?;
        let config = self.project.config();
        let run = Run {
            config: Some(&config),
            state: &mut self.loaded.state,
            backend: self.state.backend.as_mut(),
            providers: &self.providers,
            sink,
            interrupts,
        };
        crate::apply::apply_changed(plan, run, options, self.state_changed)
            .await
            .map_err(|error| RunError::State { context: "the state could not be saved", error })
    }

    /// Saves `plan` to a plan file, with the configuration it was made
    /// from and where its state is (`explicit`, the `--state` given).
    pub fn save_plan(&self, plan: &Plan, explicit_state: Option<&str>) -> Result<String, RunError> {
        let project = self.project;
        let origin = planfile::Origin {
            root: &project.root_path,
            base_dir: &project.base_dir.to_string_lossy(),
            state: explicit_state,
            sources: project.source_map(),
            policy_files: project.policy_paths(),
            params: &project.params,
        };
        let mut stored = planfile::save(plan, origin, Some(self.state.key.as_ref()))
            .map_err(|e| RunError::PlanFile(format!("cannot save the plan: {e}")))?;
        // Bound to its content, and authenticated with the state's key: a
        // local state gets one now if it has none; a shared state has one
        // only when ORCH_STATE_KEY is set.
        let key = if self.state.shared {
            self.state.key.existing()
        } else {
            Some(
                self.state
                    .key
                    .obtain()
                    .map_err(|e| RunError::PlanFile(format!("cannot save the plan: {e}")))?,
            )
        };
        stored.bind(key.as_deref());
        serde_json::to_string_pretty(&stored)
            .map_err(|e| RunError::PlanFile(format!("cannot save the plan: {e}")))
    }

    /// Releases the lock; the key this run generated, if it did.
    pub async fn close(mut self) -> Option<KeySource> {
        self.providers.shutdown().await;
        self.state.unlock().await;
        self.state.key.generated()
    }
}

/// Whether recording `value` of `kind` stores a secret: a secret in it,
/// or a sensitive field with something in it (known now, or computed on
/// apply), as [`crate::plan::mark_sensitive`] would mark it.
fn stores_secret(kind: &str, value: &Value) -> bool {
    if crate::plan::mark_sensitive(kind, value.clone()).contains_secret() {
        return true;
    }
    // A sensitive output the provider computes on apply (a generated
    // password) is a secret once known.
    let (Some(schema), Value::Map(fields)) = (orch_providers::lookup_kind(kind), value) else {
        return false;
    };
    schema.fields.iter().any(|f| f.sensitive && matches!(fields.get(f.name), Some(Value::Unknown)))
}

/// A saved plan read from disk, before its state is opened.
pub struct SavedPlan {
    pub file: PlanFile,
    pub path: PathBuf,
}

impl SavedPlan {
    /// Reads `path` as a saved plan: `None` when it is not one (an `.orch`
    /// file or folder, or text that is not JSON).
    pub fn read(path: &Path) -> Result<Option<SavedPlan>, RunError> {
        if path.extension().is_some_and(|e| e == "orch") || path.is_dir() {
            return Ok(None);
        }
        let Ok(text) = std::fs::read_to_string(path) else { return Ok(None) };
        if !text.trim_start().starts_with('{') {
            return Ok(None);
        }
        let file = serde_json::from_str::<PlanFile>(&text).map_err(|e| {
            RunError::PlanFile(format!("{} is not a readable plan file: {e}", path.display()))
        })?;
        Ok(Some(SavedPlan { file, path: path.to_path_buf() }))
    }

    /// Where its state is: `explicit` (`--state`), else where the plan was
    /// made against.
    pub fn location(&self, explicit: Option<&str>) -> Result<StateLocation, RunError> {
        let given = explicit.map(str::to_string).or_else(|| self.file.state.clone());
        StateLocation::resolve(given.as_deref(), Path::new(&self.file.base_dir))
    }

    /// The plan and the configuration it carries, opened with the state's
    /// key (its secrets and params are sealed with it).
    pub fn open(&self, state: &OpenState) -> Result<(Plan, Project), RunError> {
        self.file
            .verify(state.key.existing().as_deref())
            .map_err(|how| RunError::TamperedPlan { file: self.path.display().to_string(), how })?;
        let (plan, params) = planfile::load(&self.file, Some(state.key.as_ref()))
            .map_err(|e| RunError::PlanFile(format!("cannot read the plan: {e}")))?;
        let project = Project::from_saved(
            self.file.root.clone(),
            PathBuf::from(&self.file.base_dir),
            self.file.sources.clone(),
            params,
            self.file.policy_files.clone(),
        )?;
        Ok((plan, project))
    }
}

/// Reads a state without locking it, for `state list|show` and `output`;
/// a shared state needs no key for it (its secrets read as `(secret)`).
pub async fn read_state(location: &StateLocation) -> Result<(OpenState, State), RunError> {
    let mut state = location.open_to_list().await?;
    let loaded = load_existing(&mut state).await?;
    Ok((state, loaded.state))
}

/// The state's records, or [`RunError::NoState`] when there are none yet.
async fn load_existing(state: &mut OpenState) -> Result<Loaded, RunError> {
    let loaded = state
        .backend
        .load()
        .await
        .map_err(|error| RunError::State { context: "cannot read the state", error })?;
    if loaded.created {
        return Err(RunError::NoState { location: state.description.clone() });
    }
    Ok(loaded)
}

/// A change to one recorded instance that needs no provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateEdit {
    /// Forget the instance, leaving its object as it is (`state rm`).
    Forget,
    /// Lift its recorded `@prevent_destroy` mark (`state unprotect`).
    Unprotect,
    /// Record it (and, for a declaration or module instance, everything
    /// inside: `conf` moves `conf["api"]`) at another address, as a
    /// `moved` block would (`state mv`).
    Move { to: String },
}

impl StateEdit {
    fn operation(&self) -> &'static str {
        match self {
            StateEdit::Forget => "state rm",
            StateEdit::Unprotect => "state unprotect",
            StateEdit::Move { .. } => "state mv",
        }
    }
}

/// Edits the instance `address` of the state at `location`, under its
/// lock.
pub async fn edit_state(
    location: &StateLocation,
    address: &str,
    edit: StateEdit,
    lock_timeout: Duration,
) -> Result<(), RunError> {
    let mut state = location.open().await?;
    state.lock(edit.operation(), lock_timeout).await?;
    let result = edit_locked(&mut state, address, &edit).await;
    state.unlock().await;
    result
}

async fn edit_locked(
    state: &mut OpenState,
    address: &str,
    edit: &StateEdit,
) -> Result<(), RunError> {
    let mut loaded = load_existing(state).await?;
    if let StateEdit::Move { to } = edit {
        let moves = [orch_compiler::lifecycle::Move {
            from: address.to_string(),
            to: to.clone(),
            span: orch_lang::Span::default(),
        }];
        let (moved, steps, errors) = crate::engine::plan_moves(&loaded.state, &moves);
        if steps.is_empty() && errors.is_empty() {
            return Err(RunError::NoSuchInstance {
                address: address.to_string(),
                location: state.description.clone(),
            });
        }
        if !errors.is_empty() {
            return Err(RunError::MoveTargetTaken { from: address.to_string(), to: to.clone() });
        }
        loaded.state.instances = moved.into_owned().instances;
    } else {
        let Some(instance) = loaded.state.instances.get_mut(address) else {
            return Err(RunError::NoSuchInstance {
                address: address.to_string(),
                location: state.description.clone(),
            });
        };
        match edit {
            StateEdit::Forget => {
                loaded.state.instances.remove(address);
            }
            StateEdit::Unprotect => instance.protected = false,
            StateEdit::Move { .. } => {}
        }
    }
    loaded
        .state
        .advance_serial()
        .map_err(|error| RunError::State { context: "cannot save the state", error })?;
    state
        .backend
        .finish(&loaded.state)
        .await
        .map_err(|error| RunError::State { context: "cannot save the state", error })
}
