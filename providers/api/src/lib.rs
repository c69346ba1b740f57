//! The provider interface that built-in and plugin providers share:
//! `schema`, `configure`, `validate`, `read`, `plan`, `apply`, `import`
//! (the operations the plugin protocol carries, PROVIDERS.md), and what a
//! provider needs from its host: the [`Builtin`] descriptor each built-in
//! provider crate exposes, the child-process registry ([`children`]),
//! object helpers ([`object_fields`]), the text shown for a secret
//! ([`REDACTED`]) and the user running the process ([`current_user`]).
//!
//! Values cross this interface as [`Value`]s: an object is a map of the
//! kind's input and output fields. Secrets arrive marked
//! ([`Value::Secret`]); a provider reveals what it must use and returns
//! sensitive outputs marked secret (the runtime marks the schema's
//! sensitive fields again in any case).

pub mod children;
pub mod object_fields;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use async_trait::async_trait;
use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use tokio_util::sync::CancellationToken;

/// The text shown in place of a secret.
pub const REDACTED: &str = "(secret)";

/// One built-in provider, as its crate describes it: its name, its kinds
/// and how to make an instance. The `orch-providers` crate lists them all.
pub struct Builtin {
    /// The provider's name: the first part of its kinds' names.
    pub name: &'static str,
    /// Its resource and data kinds.
    pub kinds: &'static KindTable,
    /// A new, not yet configured instance.
    pub new: fn() -> Box<dyn Provider>,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builtin").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The kinds of one built-in provider, built on first use and kept for the
/// whole process, sorted by name.
pub struct KindTable {
    build: fn() -> Vec<KindSchema>,
    kinds: OnceLock<Vec<KindSchema>>,
}

impl KindTable {
    /// The table of the kinds `build` makes.
    pub const fn new(build: fn() -> Vec<KindSchema>) -> KindTable {
        KindTable { build, kinds: OnceLock::new() }
    }

    /// Every kind, sorted by name.
    pub fn all(&'static self) -> &'static [KindSchema] {
        self.kinds.get_or_init(|| {
            let mut kinds = (self.build)();
            kinds.sort_by_key(|kind| kind.name);
            kinds
        })
    }

    /// The kind `name`.
    pub fn get(&'static self, name: &str) -> Option<&'static KindSchema> {
        let kinds = self.all();
        kinds.binary_search_by(|kind| kind.name.cmp(name)).ok().map(|at| &kinds[at])
    }
}

/// Who runs this process: the name of its user id in the system's user
/// database, else `$USER` or `$LOGNAME`, else `uid N` (a user id with no
/// name, as in some containers). Never a made-up `unknown`.
pub fn current_user() -> String {
    uzers::get_current_username()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|name| !name.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|name| !name.is_empty()))
        .unwrap_or_else(|| format!("uid {}", rustix::process::getuid().as_raw()))
}

/// What a provider operation knows about where it runs.
#[derive(Debug, Clone)]
pub struct OpContext {
    /// The root module's folder: relative `fs.*` paths and the working
    /// folder of `exec.run` are resolved against it.
    pub base_dir: PathBuf,
    /// The instance's address, for messages.
    pub address: String,
    /// Cancelled on a second Ctrl-C or at the operation's `@timeout`: a
    /// provider stops what it is doing (kills a child process, drops a
    /// request) and returns an error.
    pub cancel: CancellationToken,
}

impl OpContext {
    pub fn new(base_dir: impl Into<PathBuf>, address: impl Into<String>) -> OpContext {
        OpContext {
            base_dir: base_dir.into(),
            address: address.into(),
            cancel: CancellationToken::new(),
        }
    }

    /// `path` resolved against the root module's folder.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() { path.to_path_buf() } else { self.base_dir.join(path) }
    }
}

/// A failed provider operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    /// What went wrong, in the provider's words (a server's message, an
    /// OS error with the path). Never holds a secret's value.
    pub message: String,
    /// Worth retrying (`@retry`): a timeout, a refused connection, a 5xx.
    pub transient: bool,
    /// The object as far as the operation got, when it changed something
    /// before failing (a created object that could not be configured).
    /// `None` guarantees that nothing was changed.
    pub partial: Option<Value>,
}

impl ProviderError {
    pub fn new(message: impl Into<String>) -> ProviderError {
        ProviderError { message: message.into(), transient: false, partial: None }
    }

    pub fn transient(message: impl Into<String>) -> ProviderError {
        ProviderError { message: message.into(), transient: true, partial: None }
    }

    pub fn with_partial(mut self, object: Value) -> ProviderError {
        self.partial = Some(object);
        self
    }
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One change to apply.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// Make a new object from `config` (inputs; outputs unknown).
    Create { config: &'a Value },
    /// Bring the object `prior` to `config` in place.
    Update { prior: &'a Value, config: &'a Value },
    /// Delete the object `prior`.
    Delete { prior: &'a Value },
}

/// A provider's view of a planned change.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The object as it will be after the change: the configured inputs,
    /// with the outputs the provider can predict (a file's `sha256`, a
    /// `core.value`'s `output`) and [`Value::Unknown`] for the others.
    pub value: Value,
    /// Changed fields that cannot be changed in place: the object must be
    /// replaced. Empty for a create.
    pub requires_replace: Vec<String>,
}

/// A provider of one or more kinds (`fs` provides `fs.file`, `fs.dir`,
/// `fs.read`).
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name: the first part of its kinds' names.
    fn name(&self) -> &'static str;

    /// The schema of one of its kinds (`None` for a kind that is not its
    /// own). A built-in provider answers from its [`KindTable`].
    fn schema(&self, kind: &str) -> Option<&'static KindSchema>;

    /// Takes the provider's configuration (the fields of a `provider NAME
    /// { ... }` block; an empty map when there is none).
    async fn configure(&mut self, _config: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    /// A cheap check that the configuration reaches what it names (a
    /// server answers, the credentials work), made while refreshing for a
    /// provider that manages objects, so that `plan` reports a wrong URL
    /// rather than `apply`. Nothing to check by default.
    async fn probe(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Problems with a configuration that the type checker cannot see
    /// (`length = 0` for a password), as messages.
    fn validate(&self, _kind: &str, _config: &Value) -> Vec<String> {
        Vec::new()
    }

    /// The object as it is now. For a resource, `prior` is the object as
    /// recorded in state, and `Ok(None)` means it is gone; for a data kind,
    /// `prior` is its configuration and the result is the looked-up value.
    async fn read(
        &self,
        ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError>;

    /// What applying `config` to `prior` (`None` for a new object) will
    /// give. The default keeps the prior outputs when no input changed,
    /// marks the outputs unknown otherwise, and asks for a replacement when
    /// a field the schema marks `replace` changed.
    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        default_plan(self.schema(kind), prior, config)
    }

    /// Creates, updates or deletes one object. Create and update return
    /// the object as it now is (inputs and outputs); delete returns `None`.
    async fn apply(
        &self,
        ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError>;

    /// Why objects of `kind` cannot be imported (`import` blocks, `orchc
    /// import`), in words for the user; `None` when they can. Asked before
    /// [`Provider::import`], so that a refusal is told apart from a failed
    /// read without reading any message.
    fn import_refusal(&self, kind: &str) -> Option<String> {
        Some(format!("the {} provider cannot look {kind} objects up by an id", self.name()))
    }

    /// Adopts an existing object, named by its provider-specific id (a
    /// path, a role name): the object as it is, or `None` if there is none.
    async fn import(
        &self,
        _ctx: &OpContext,
        kind: &str,
        _id: &str,
    ) -> Result<Option<Value>, ProviderError> {
        Err(ProviderError::new(format!("{kind} objects cannot be imported")))
    }

    /// Whether creating an object twice with the same configuration is
    /// harmless, so that a failed or interrupted create may be retried
    /// without reading first.
    fn create_is_idempotent(&self, _kind: &str) -> bool {
        false
    }

    /// Ends the provider at the end of a run (a plugin's process is told
    /// to shut down and exits). Nothing to do by default.
    async fn shutdown(&self) {}
}

/// The inputs of an object: its fields that are not outputs.
pub fn inputs_of(schema: Option<&KindSchema>, value: &Value) -> Value {
    let Value::Map(entries) = value else { return value.clone() };
    let Some(schema) = schema else { return value.clone() };
    Value::map(
        entries
            .iter()
            .filter(|(name, _)| schema.field(name).is_none_or(|f| !f.output))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Whether two objects have the same inputs, looking through secret
/// marks: `inputs_of(schema, a)` against `inputs_of(schema, b)`, without
/// building either.
pub fn same_inputs(schema: Option<&KindSchema>, a: &Value, b: &Value) -> bool {
    let (Some(schema), Value::Map(a_entries), Value::Map(b_entries)) = (schema, a, b) else {
        return inputs_of(schema, a).same_revealed(&inputs_of(schema, b));
    };
    let is_input =
        |entry: &(&smol_str::SmolStr, &Value)| schema.field(entry.0).is_none_or(|f| !f.output);
    let mut a_inputs = a_entries.iter().filter(is_input);
    let mut b_inputs = b_entries.iter().filter(is_input);
    loop {
        match (a_inputs.next(), b_inputs.next()) {
            (None, None) => return true,
            (Some((ka, va)), Some((kb, vb))) if ka == kb && va.same_revealed(vb) => {}
            _ => return false,
        }
    }
}

/// A field of an object map, or `none`.
pub fn field<'v>(value: &'v Value, name: &str) -> &'v Value {
    match value {
        Value::Map(entries) => entries.get(name).unwrap_or(&Value::None),
        _ => &Value::None,
    }
}

/// The plan every provider gets unless it knows better: see
/// [`Provider::plan`].
pub fn default_plan(schema: Option<&KindSchema>, prior: Option<&Value>, config: &Value) -> Planned {
    let Some(schema) = schema else {
        return Planned { value: config.clone(), requires_replace: Vec::new() };
    };
    let mut requires_replace = Vec::new();
    let mut changed = false;
    if let Some(prior) = prior {
        for input in schema.inputs() {
            let (before, after) = (field(prior, input.name), field(config, input.name));
            if !before.same_revealed(after) {
                changed = true;
                if input.forces_replacement {
                    requires_replace.push(input.name.to_string());
                }
            }
        }
    }
    let mut entries = match config {
        Value::Map(entries) => entries.to_map(),
        _ => Default::default(),
    };
    for output in schema.outputs() {
        let value = match prior {
            Some(prior) if !changed => field(prior, output.name).clone(),
            _ => Value::Unknown,
        };
        entries.insert(output.name.into(), value);
    }
    Planned { value: Value::map(entries), requires_replace }
}
