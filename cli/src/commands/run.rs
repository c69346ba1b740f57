//! What `plan`, `apply`, `destroy`, `state` and `output` share: loading
//! the configuration, opening and locking the state, configuring the
//! providers, and reporting runtime errors at the `.orch` line of the
//! declaration.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use miette::miette;
use orch_compiler::Analysis;
use orch_compiler::eval::{ConfigOnly, Evaluation, ParamInput};
use orch_lang::{Diagnostic, FileId};
use orch_runtime::codec::Sealer;
use orch_runtime::engine::{Config, Providers};
use orch_runtime::keys::LazyKey;
use orch_runtime::plan::PlanError;
use orch_runtime::secrets::KeyEnv;
use orch_runtime::state::local::{LocalBackend, LocalOptions};
use orch_runtime::state::postgres::{PostgresBackend, PostgresOptions};
use orch_runtime::state::{Backend, LockInfo, StateError};

use crate::commands::check::EvaluationArgs;
use crate::errors;
use crate::files::{self, SourceDb};
use crate::render::human;
use crate::terminal::{self, Stream};

/// Flags that say where the state is.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StateArgs {
    /// Where the state is: a folder (local backend) or a `postgres://` URL
    /// (shared backend). Default: `ORCH_STATE`, else `.orch/` beside the
    /// root module.
    // Global, so that `orchc state list --state LOC` works as the CLI
    // contract writes it, after the subcommand as well as before it.
    #[arg(long = "state", value_name = "LOC", global = true)]
    pub(crate) state: Option<String>,

    /// How long to wait for the state's lock when another run holds it
    /// (e.g. `30s`, `2m`); by default, do not wait.
    #[arg(long = "lock-timeout", value_name = "DURATION", value_parser = parse_duration, default_value = "0s", global = true)]
    pub(crate) lock_timeout: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration: {e}"))
}

/// Sources served from memory (a plan file), then the file system.
#[derive(Default)]
pub(crate) struct Sources {
    pub(crate) memory: std::collections::HashMap<String, String>,
    pub(crate) fs: files::FsSources,
}

impl orch_compiler::SourceDb for Sources {
    fn read(&self, path: &str) -> Result<String, String> {
        match self.memory.get(path) {
            Some(text) => Ok(text.clone()),
            None => self.fs.read(path),
        }
    }
}

/// A configuration, analysed without errors.
pub(crate) struct Workspace {
    pub(crate) sources: Sources,
    pub(crate) analysis: Analysis,
    pub(crate) root: FileId,
    pub(crate) root_path: String,
    pub(crate) base_dir: PathBuf,
    pub(crate) params: std::collections::HashMap<String, ParamInput>,
    pub(crate) db: SourceDb,
}

impl Workspace {
    pub(crate) fn config(&self) -> Config<'_> {
        Config::new(
            &self.analysis,
            &self.sources,
            self.root,
            self.params.clone(),
            self.base_dir.clone(),
        )
    }

    /// Every source file, by path (for plan files).
    pub(crate) fn source_map(&self) -> BTreeMap<String, String> {
        self.analysis.files.iter().map(|f| (f.path.clone(), f.source.to_string())).collect()
    }

    /// Prints diagnostics with source excerpts on standard error.
    pub(crate) fn report(&self, diagnostics: &[Diagnostic]) {
        let config = human::Config { color: terminal::color_enabled(Stream::Stderr) };
        let stderr = std::io::stderr();
        let mut out = stderr.lock();
        if let Err(error) = human::render_diagnostics(&self.db, diagnostics, config, &mut out) {
            errors::report(errors::io_error("cannot write the report", error));
        }
    }

    /// Prints plan errors: with a source excerpt when the declaration is
    /// in the configuration, with its recorded place otherwise.
    pub(crate) fn report_plan_errors(&self, errors: &[PlanError]) {
        for error in errors {
            let code = error.code;
            match error.span {
                Some(span) => {
                    let mut diagnostic = Diagnostic::new(code, span, error.message.clone());
                    if let Some(help) = &error.help {
                        diagnostic = diagnostic.with_help(help.clone());
                    }
                    self.report(&[diagnostic]);
                }
                None => {
                    let mut text = format!("error[{}]: {}", code.code, error.message);
                    if let Some(location) = &error.location {
                        text.push_str(&format!("\n  --> {location}"));
                    }
                    if let Some(help) = &error.help {
                        text.push_str(&format!("\n  help: {help}"));
                    }
                    eprintln!("{text}");
                }
            }
        }
    }
}

/// What a plan file carries to load its configuration from: the sources
/// by path, the params, the policy files.
pub(crate) type SavedSources =
    (BTreeMap<String, String>, std::collections::HashMap<String, ParamInput>, Vec<String>);

/// Reads and analyses the root module `file` (or the sources of a plan
/// file), reporting diagnostics. `None` when it has errors.
pub(crate) fn load_workspace(
    file: &Path,
    evaluation: &EvaluationArgs,
    memory: Option<SavedSources>,
) -> Option<Workspace> {
    let mut sources = Sources::default();
    let (root_path, params, policy_files) = match memory {
        Some((map, params, policies)) => {
            sources.memory = map.into_iter().collect();
            (file.to_string_lossy().into_owned(), params, policies)
        }
        None => {
            let text = match files::read_source(file) {
                Ok(text) => text,
                Err(error) => {
                    errors::report(error);
                    return None;
                }
            };
            let root = sources.fs.preload(file, text);
            let options = match evaluation.options() {
                Ok(options) => options,
                Err(error) => {
                    errors::report(error);
                    return None;
                }
            };
            (root, options.params, options.policy_files)
        }
    };
    let options = orch_compiler::Options { params: params.clone(), policy_files, evaluate: false };
    let analysis = orch_compiler::analyze(&sources, std::slice::from_ref(&root_path), &options);
    let mut db = SourceDb::default();
    for source in analysis.files.iter() {
        db.add_path(PathBuf::from(&source.path), source.source.to_string());
    }
    let root = *analysis.roots.first()?;
    let base_dir = std::path::absolute(file)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let workspace = Workspace { sources, analysis, root, root_path, base_dir, params, db };
    let errors: Vec<Diagnostic> =
        workspace.analysis.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    if !errors.is_empty() {
        workspace.report(&errors);
        eprintln!(
            "error: {} error{} in the configuration; nothing was planned",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        return None;
    }
    Some(workspace)
}

/// Evaluates the configuration on its own (no state) for its provider
/// blocks, and reports what stops planning: evaluation errors, a missing
/// required param.
pub(crate) fn first_evaluation(workspace: &Workspace) -> Option<Evaluation> {
    let evaluation = workspace.config().evaluate(&mut ConfigOnly);
    let errors: Vec<Diagnostic> =
        evaluation.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    let warnings: Vec<Diagnostic> =
        evaluation.diagnostics.iter().filter(|d| !d.is_error()).cloned().collect();
    workspace.report(&warnings);
    if !evaluation.notes.is_empty() {
        for note in &evaluation.notes {
            eprintln!("error: cannot plan: {}", note.replace("evaluation skipped: ", ""));
        }
        return None;
    }
    if !errors.is_empty() {
        workspace.report(&errors);
        return None;
    }
    Some(evaluation)
}

/// An opened state backend and the key of its secrets.
pub(crate) struct OpenState {
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) key: Arc<LazyKey>,
    pub(crate) location: String,
}

/// Where the state is: `--state`, `ORCH_STATE`, or `.orch/` beside the
/// root module.
pub(crate) fn state_location(args: &StateArgs, root: &Path) -> String {
    if let Some(state) = &args.state {
        return state.clone();
    }
    if let Ok(state) = std::env::var("ORCH_STATE")
        && !state.is_empty()
    {
        return state;
    }
    let dir = root.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(".orch").to_string_lossy().into_owned()
}

/// The name of a state in a shared backend when the URL names none: the
/// root module's folder and file name.
fn default_state_name(root: &Path) -> String {
    let absolute = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let file = absolute.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    match absolute.parent().and_then(|p| p.file_name()) {
        Some(dir) => format!("{}/{file}", dir.to_string_lossy()),
        None => file,
    }
}

/// Opens the state backend at `location`.
pub(crate) async fn open_state(location: &str, root: &Path) -> Result<OpenState, miette::Report> {
    let shared = location.starts_with("postgres://") || location.starts_with("postgresql://");
    let key = Arc::new(LazyKey::new(KeyEnv::from_process(), !shared));
    let sealer: Arc<dyn Sealer> = key.clone();
    let backend: Box<dyn Backend> = if shared {
        // Commits are asynchronous and made durable once per scheduling
        // round (`Backend::sync`), as for the local backend.
        let backend = PostgresBackend::connect_with_options(
            location,
            &default_state_name(root),
            Some(sealer),
            PostgresOptions { sync: false },
        )
        .await
        .map_err(|e| miette!(code = "orchc::state", "cannot open the state: {e}"))?;
        Box::new(backend)
    } else {
        // Journal lines are written one by one (durable against a crash of
        // the process) and synced once per scheduling round by the executor
        // (`Backend::sync`), not one `fdatasync` per line.
        Box::new(LocalBackend::with_options(
            PathBuf::from(location),
            Some(sealer),
            LocalOptions { sync: false, background: true },
        ))
    };
    let location = backend.describe();
    Ok(OpenState { backend, key, location })
}

/// Takes the state's lock for `operation`, or says who holds it.
pub(crate) async fn lock(
    state: &mut OpenState,
    operation: &str,
    wait: Duration,
) -> Result<(), miette::Report> {
    match state.backend.lock(&LockInfo::current(operation), wait).await {
        Ok(()) => Ok(()),
        Err(StateError::Locked(holder)) => Err(miette!(
            code = "orchc::state_locked",
            help = "wait for that run to finish (or pass --lock-timeout to wait); a run that died releases the lock by itself",
            "the state at {} is locked: {holder}",
            state.location
        )),
        Err(error) => Err(miette!(
            code = "orchc::state",
            "cannot lock the state at {}: {error}",
            state.location
        )),
    }
}

/// Configures the providers from the configuration's provider blocks.
pub(crate) async fn providers(evaluation: &Evaluation) -> Option<Providers> {
    match Providers::configure(&evaluation.providers).await {
        Ok(providers) => Some(providers),
        Err(errors) => {
            for error in errors {
                errors::report(miette!(code = "orchc::provider", "{error}"));
            }
            None
        }
    }
}

/// A runtime for a command: worker threads for provider operations; the
/// command's own thread evaluates.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            errors::report(errors::io_error("cannot start the runtime", error));
            None
        }
    }
}

/// Says where a key was generated, once.
pub(crate) fn report_generated_key(key: &LazyKey) {
    if let Some(source) = key.generated() {
        eprintln!("note: secrets in the state are encrypted with {source}");
    }
}

/// Writes `text` to standard output, ignoring a closed pipe.
pub(crate) fn print(text: &str) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// A state backend failure as a command-line error.
pub(crate) fn state_error(context: &str, error: StateError) -> miette::Report {
    miette!(code = "orchc::state", "{context}: {error}")
}
