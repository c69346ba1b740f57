//! Plugin providers (PROVIDERS.md): providers that are not built in, run
//! as processes that speak JSON-RPC over their standard input and output.
//!
//! - [`rpc`]: the channel (framing, requests in flight, cancellation, the
//!   process group and its guard).
//! - [`wire`]: values on the wire (`$unknown`, `$secret`, durations).
//! - [`schema`]: SCHEMA into kind schemas; the schema cache.
//! - here: which plugins a configuration declares ([`PluginSpec`]), the
//!   cache installed for the checker ([`install_cached`], [`prepare`]),
//!   fetching schemas ([`fetch`]), and [`PluginProvider`], the
//!   [`Provider`] that forwards every call to its plugin.

pub mod rpc;
pub mod schema;
pub mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use orch_compiler::Analysis;
use orch_compiler::db::parent_folder;
use orch_lang::Span;
use orch_providers::lookup_kind;
use orch_providers::plugins::{PluginSchema, SchemaProblem, install_plugin, intern, plugin_schema};
use orch_stdlib::{KindSchema, Value};
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use crate::provider::{Change, OpContext, Planned, Provider, ProviderError, default_plan};
use rpc::{Connection, METHOD_NOT_FOUND, RpcError};

/// The protocol version this host speaks.
pub const PROTOCOL: u64 = 1;
/// How long a plugin may take to answer `initialize` (and `shutdown`).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long synchronous requests (`validate`, `plan`) may take.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a plugin has to answer a cancelled request with -32800.
pub const CANCEL_GRACE: Duration = Duration::from_secs(2);
/// How long a plugin has to exit after `shutdown`.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A `provider` block with `@plugin(...)`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSpec {
    pub name: String,
    pub alias: Option<String>,
    /// The command; relative paths are relative to `dir`.
    pub argv: Vec<String>,
    /// The declaring module's folder: the command's working folder.
    pub dir: PathBuf,
    pub span: Span,
}

impl PluginSpec {
    /// Names the plugin in messages.
    pub fn label(&self) -> String {
        match &self.alias {
            Some(alias) => format!("the plugin provider `{} as {alias}`", self.name),
            None => format!("the plugin provider `{}`", self.name),
        }
    }

    /// The file whose sha256 keys the schema cache: the first argument
    /// after the command that names an existing file (`./acme.py` in
    /// `["python3", "./acme.py"]`), otherwise the command itself (a path
    /// relative to `dir`, or a name looked up on `PATH`).
    pub fn plugin_file(&self) -> Option<PathBuf> {
        for arg in self.argv.iter().skip(1) {
            if arg.starts_with('-') {
                continue;
            }
            let path = self.dir.join(arg);
            if path.is_file() {
                return Some(path);
            }
        }
        let command = self.argv.first()?;
        if command.contains('/') {
            let path = self.dir.join(command);
            return path.is_file().then_some(path);
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths).map(|p| p.join(command)).find(|p| p.is_file())
        })
    }

    /// The command with a relative program path made absolute (a bare name
    /// is looked up on `PATH` as usual).
    fn command(&self) -> Vec<String> {
        let mut argv = self.argv.clone();
        if let Some(first) = argv.first_mut()
            && first.contains('/')
            && !Path::new(first.as_str()).is_absolute()
        {
            *first = self.dir.join(first.as_str()).to_string_lossy().into_owned();
        }
        argv
    }
}

/// The plugin providers an analysis declares, in file order.
pub fn specs(analysis: &Analysis) -> Vec<PluginSpec> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut out = Vec::new();
    for file in analysis.files.iter() {
        for declared in orch_compiler::plugin::declared_plugins(&file.parsed.file) {
            let Some(argv) = declared.argv else { continue };
            let folder = parent_folder(&file.path);
            out.push(PluginSpec {
                name: declared.name.to_string(),
                alias: declared.alias.map(|a| a.to_string()),
                argv,
                dir: cwd.join(folder),
                span: declared.span,
            });
        }
    }
    out
}

/// The unaliased spec of each plugin provider, by name (aliased blocks
/// share their plugin's schema).
fn by_name(specs: &[PluginSpec]) -> BTreeMap<String, PluginSpec> {
    let mut out = BTreeMap::new();
    for spec in specs {
        out.entry(spec.name.clone()).or_insert_with(|| spec.clone());
    }
    out
}

/// What the cache holds for `spec`, checked against its plugin file: the
/// cache beside the root module (`base_dir`), or else the nearest one in
/// the declaring module's folder or above it (for `orchc check` of a tree
/// of configurations).
fn cached(spec: &PluginSpec, base_dir: &Path) -> PluginSchema {
    let mut entry = None;
    for dir in std::iter::once(base_dir).chain(spec.dir.ancestors()) {
        match schema::read_cache(dir, &spec.name) {
            Ok(Some(found)) => {
                entry = Some(found);
                break;
            }
            Ok(None) => {}
            Err(error) => return PluginSchema::Unavailable(SchemaProblem::Unreadable(error)),
        }
    }
    let Some(entry) = entry else {
        return PluginSchema::Unavailable(SchemaProblem::NotCached);
    };
    let Some(file) = spec.plugin_file() else {
        return PluginSchema::Unavailable(SchemaProblem::Unreadable(format!(
            "the plugin `{}` cannot be found from {}",
            spec.argv.join(" "),
            spec.dir.display()
        )));
    };
    match schema::sha256_file(&file) {
        Ok(sha) if sha == entry.sha256 => {}
        Ok(_) => return PluginSchema::Unavailable(SchemaProblem::Stale),
        Err(error) => return PluginSchema::Unavailable(SchemaProblem::Unreadable(error)),
    }
    match schema::convert(&spec.name, &entry.schema) {
        Ok(loaded) => PluginSchema::Loaded(Arc::new(loaded)),
        Err(error) => PluginSchema::Unavailable(SchemaProblem::Unreadable(error)),
    }
}

fn same(a: Option<&PluginSchema>, b: &PluginSchema) -> bool {
    match (a, b) {
        (Some(PluginSchema::Loaded(x)), PluginSchema::Loaded(y)) => {
            x.kinds.len() == y.kinds.len()
                && x.kinds
                    .iter()
                    .zip(&y.kinds)
                    .all(|(k, l)| k.name == l.name && format!("{k:?}") == format!("{l:?}"))
                && format!("{:?}", x.provider) == format!("{:?}", y.provider)
        }
        (Some(PluginSchema::Unavailable(x)), PluginSchema::Unavailable(y)) => x == y,
        _ => false,
    }
}

/// Installs the cached schema of every plugin `analysis` declares (for
/// `orchc check` and the language server: nothing is started). Returns
/// whether anything changed, so that the caller analyses again.
pub fn install_cached(analysis: &Analysis, base_dir: &Path) -> bool {
    let mut changed = false;
    for (name, spec) in by_name(&specs(analysis)) {
        let schema = cached(&spec, base_dir);
        if !same(plugin_schema(&name).as_ref(), &schema) {
            install_plugin(&name, schema);
            changed = true;
        }
    }
    changed
}

/// Like [`install_cached`], but a plugin whose schema is not cached (or
/// stale) is started and asked for it, and the cache written (for `plan`,
/// `apply`, `destroy`). The started plugin is kept for the run.
pub fn prepare(analysis: &Analysis, base_dir: &Path) -> bool {
    let mut changed = false;
    for (name, spec) in by_name(&specs(analysis)) {
        let mut schema = cached(&spec, base_dir);
        if let PluginSchema::Unavailable(problem) = &schema {
            schema = match fetch_one(&spec, base_dir, true) {
                Ok(fetched) => PluginSchema::Loaded(fetched.schema),
                Err(error) => {
                    tracing::warn!(provider = %name, ?problem, %error, "cannot fetch a plugin schema");
                    PluginSchema::Unavailable(SchemaProblem::Unreadable(error))
                }
            };
        }
        if !same(plugin_schema(&name).as_ref(), &schema) {
            install_plugin(&name, schema);
            changed = true;
        }
    }
    changed
}

/// One fetched schema.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub name: String,
    pub cache: PathBuf,
    pub schema: Arc<orch_providers::plugins::LoadedSchema>,
}

/// Starts every plugin `analysis` declares, asks it for its schema, writes
/// the cache and stops it again (`orchc providers schema`).
pub fn fetch(analysis: &Analysis, base_dir: &Path) -> Vec<(PluginSpec, Result<Fetched, String>)> {
    by_name(&specs(analysis))
        .into_values()
        .map(|spec| {
            let result = fetch_one(&spec, base_dir, false);
            if let Ok(fetched) = &result {
                install_plugin(&spec.name, PluginSchema::Loaded(Arc::clone(&fetched.schema)));
            }
            (spec, result)
        })
        .collect()
}

fn fetch_one(spec: &PluginSpec, base_dir: &Path, keep: bool) -> Result<Fetched, String> {
    let file = spec.plugin_file().ok_or_else(|| {
        format!(
            "{}: `{}` cannot be found from {}",
            spec.label(),
            spec.argv.join(" "),
            spec.dir.display()
        )
    })?;
    let sha256 = schema::sha256_file(&file)?;
    let (connection, raw) = start(spec)?;
    let converted = schema::convert(&spec.name, &raw)
        .map_err(|e| format!("{} sent a schema that cannot be used: {e}", spec.label()));
    let converted = match converted {
        Ok(converted) => converted,
        Err(error) => {
            connection.shutdown(SHUTDOWN_GRACE);
            return Err(error);
        }
    };
    let entry = schema::CacheEntry {
        provider: spec.name.clone(),
        sha256,
        // Relative to the root module's folder when inside it, so that a
        // committed cache names no machine's paths.
        plugin: file.strip_prefix(base_dir).unwrap_or(&file).to_string_lossy().into_owned(),
        protocol: PROTOCOL,
        schema: raw,
    };
    let cache = schema::write_cache(base_dir, &entry);
    if keep {
        lock_pool().push((spec.clone(), connection));
    } else {
        connection.shutdown(SHUTDOWN_GRACE);
    }
    Ok(Fetched { name: spec.name.clone(), cache: cache?, schema: Arc::new(converted) })
}

/// Plugins started (and initialized) to fetch their schema, kept for the
/// run that wanted it, so that a run starts each plugin once.
static POOL: Mutex<Vec<(PluginSpec, Connection)>> = Mutex::new(Vec::new());

fn lock_pool() -> std::sync::MutexGuard<'static, Vec<(PluginSpec, Connection)>> {
    POOL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts a plugin and initializes it: the connection and the SCHEMA it
/// sent.
fn start(spec: &PluginSpec) -> Result<(Connection, Json), String> {
    let label = spec.label();
    let connection = Connection::start(&label, &spec.command(), &spec.dir)?;
    let params = json!({"protocol": PROTOCOL, "orch_version": env!("CARGO_PKG_VERSION")});
    let result = connection
        .call_blocking("initialize", params, START_TIMEOUT)
        .map_err(|e| format!("{label} cannot be initialized: {}", describe(&e)))?;
    let protocol = result.get("protocol").and_then(Json::as_u64);
    if protocol != Some(PROTOCOL) {
        connection.shutdown(SHUTDOWN_GRACE);
        return Err(format!(
            "{label} speaks protocol {}, but orchc speaks protocol {PROTOCOL}",
            protocol.map_or_else(|| "(none)".to_string(), |p| p.to_string())
        ));
    }
    if let Some(name) = result.get("name").and_then(Json::as_str)
        && name != spec.name
    {
        tracing::warn!(provider = %spec.name, plugin_name = name, "the plugin calls itself by another name");
    }
    let schema = result.get("schema").cloned().unwrap_or(Json::Null);
    Ok((connection, schema))
}

/// A started plugin for `spec`: one kept from fetching its schema, or a
/// new one.
fn connect(spec: &PluginSpec) -> Result<Connection, String> {
    {
        let mut pool = lock_pool();
        if let Some(index) = pool.iter().position(|(s, c)| s == spec && c.is_running()) {
            return Ok(pool.swap_remove(index).1);
        }
    }
    start(spec).map(|(connection, _)| connection)
}

fn describe(error: &RpcError) -> String {
    match error {
        RpcError::Remote { code, message, .. } => format!("{message} (error {code})"),
        RpcError::Broken(reason) => reason.clone(),
        RpcError::Cancelled => "the request was cancelled".into(),
    }
}

/// A plugin provider configuration: every call goes to its process.
pub struct PluginProvider {
    name: &'static str,
    label: String,
    connection: Arc<Connection>,
    /// Whether the plugin implements `plan` (until it answers -32601).
    plans: AtomicBool,
    /// Whether the plugin implements `validate`.
    validates: AtomicBool,
}

impl PluginProvider {
    /// Starts (or takes the already started) plugin of `spec`.
    pub fn start(spec: &PluginSpec) -> Result<PluginProvider, String> {
        Ok(PluginProvider {
            name: intern(&spec.name),
            label: spec.label(),
            connection: Arc::new(connect(spec)?),
            plans: AtomicBool::new(true),
            validates: AtomicBool::new(true),
        })
    }

    fn encode(&self, value: &Value) -> Json {
        let mut secrets = Vec::new();
        let json = wire::encode(value, &mut secrets);
        self.connection.add_secrets(secrets);
        json
    }

    fn error(&self, error: RpcError, kind: &str) -> ProviderError {
        match error {
            RpcError::Remote { message, data, .. } => {
                let data = data.unwrap_or(Json::Null);
                let transient = data.get("transient").and_then(Json::as_bool).unwrap_or(false);
                let mut out = ProviderError { message, transient, partial: None };
                if let Some(partial) = data.get("partial").filter(|p| !p.is_null()) {
                    match wire::decode_object(partial, lookup_kind(kind)) {
                        Ok(object) => out.partial = Some(object),
                        Err(problem) => {
                            out.message = format!(
                                "{}; its partial object is unreadable: {problem}",
                                out.message
                            )
                        }
                    }
                }
                out
            }
            RpcError::Broken(reason) => ProviderError::new(reason),
            RpcError::Cancelled => {
                ProviderError::new(format!("{}: the request was cancelled", self.label))
            }
        }
    }

    async fn request(
        &self,
        ctx: &OpContext,
        method: &str,
        params: Json,
        kind: &str,
    ) -> Result<Json, ProviderError> {
        self.connection
            .call(method, params, &ctx.cancel, CANCEL_GRACE)
            .await
            .map_err(|e| self.error(e, kind))
    }

    /// `result.object` as an object of `kind` (`None` for `null`).
    fn object(
        &self,
        result: &Json,
        kind: &str,
        method: &str,
    ) -> Result<Option<Value>, ProviderError> {
        match result.get("object") {
            None => Err(ProviderError::new(format!(
                "{} answered `{method}` without an `object`",
                self.label
            ))),
            Some(Json::Null) => Ok(None),
            Some(object) => wire::decode_object(object, lookup_kind(kind)).map(Some).map_err(|e| {
                ProviderError::new(format!(
                    "{} answered `{method}` with a bad object: {e}",
                    self.label
                ))
            }),
        }
    }

    fn some_object(
        &self,
        result: &Json,
        kind: &str,
        method: &str,
    ) -> Result<Option<Value>, ProviderError> {
        match self.object(result, kind, method)? {
            Some(object) => Ok(Some(object)),
            None => Err(ProviderError::new(format!(
                "{} answered `{method}` with no object",
                self.label
            ))),
        }
    }
}

#[async_trait]
impl Provider for PluginProvider {
    fn name(&self) -> &'static str {
        self.name
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        lookup_kind(kind).filter(|k| k.provider() == self.name)
    }

    async fn configure(&mut self, config: &Value) -> Result<(), ProviderError> {
        let params = json!({"config": self.encode(config)});
        let cancel = CancellationToken::new();
        self.connection
            .call("configure", params, &cancel, CANCEL_GRACE)
            .await
            .map(|_| ())
            .map_err(|e| self.error(e, ""))
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        if !self.validates.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let params = json!({"kind": kind, "config": self.encode(config)});
        match self.connection.call_blocking("validate", params, SYNC_TIMEOUT) {
            Ok(result) => {
                let errors =
                    result.get("errors").and_then(Json::as_array).cloned().unwrap_or_default();
                errors
                    .iter()
                    .map(|error| {
                        let message =
                            error.get("message").and_then(Json::as_str).unwrap_or("invalid");
                        let message = self.connection.mask(message);
                        match error.get("field").and_then(Json::as_str) {
                            Some(field) => format!("`{field}`: {message}"),
                            None => message,
                        }
                    })
                    .collect()
            }
            Err(RpcError::Remote { code: METHOD_NOT_FOUND, .. }) => {
                self.validates.store(false, Ordering::Relaxed);
                Vec::new()
            }
            Err(error) => vec![format!("cannot be validated: {}", describe(&error))],
        }
    }

    async fn read(
        &self,
        ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        let data = lookup_kind(kind).is_some_and(|k| k.data);
        if data {
            let params = json!({"kind": kind, "config": self.encode(prior)});
            let result = self.request(ctx, "read_data", params, kind).await?;
            return self.object(&result, kind, "read_data");
        }
        let params = json!({"kind": kind, "prior": self.encode(prior)});
        let result = self.request(ctx, "read", params, kind).await?;
        self.object(&result, kind, "read")
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let fallback = || default_plan(self.schema(kind), prior, config);
        if !self.plans.load(Ordering::Relaxed) {
            return fallback();
        }
        let mut params = json!({"kind": kind, "config": self.encode(config)});
        if let Some(prior) = prior {
            params["prior"] = self.encode(prior);
        }
        match self.connection.call_blocking("plan", params, SYNC_TIMEOUT) {
            Ok(result) => {
                let planned =
                    result.get("planned").map(|p| wire::decode_object(p, lookup_kind(kind)));
                match planned {
                    Some(Ok(value)) => Planned {
                        value,
                        requires_replace: result
                            .get("requires_replace")
                            .and_then(Json::as_array)
                            .map(|fields| {
                                fields.iter().filter_map(Json::as_str).map(str::to_string).collect()
                            })
                            .unwrap_or_default(),
                    },
                    _ => {
                        tracing::warn!(plugin = %self.label, kind, "a plan without a readable `planned` object; using the default plan");
                        fallback()
                    }
                }
            }
            Err(RpcError::Remote { code: METHOD_NOT_FOUND, .. }) => {
                self.plans.store(false, Ordering::Relaxed);
                fallback()
            }
            Err(error) => {
                tracing::warn!(plugin = %self.label, kind, error = %describe(&error), "plan failed; using the default plan");
                fallback()
            }
        }
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        match change {
            Change::Create { config } => {
                let params = json!({"kind": kind, "planned": self.encode(config)});
                let result = self.request(ctx, "create", params, kind).await?;
                self.some_object(&result, kind, "create")
            }
            Change::Update { prior, config } => {
                let params = json!({"kind": kind, "prior": self.encode(prior), "planned": self.encode(config)});
                let result = self.request(ctx, "update", params, kind).await?;
                self.some_object(&result, kind, "update")
            }
            Change::Delete { prior } => {
                let params = json!({"kind": kind, "prior": self.encode(prior)});
                self.request(ctx, "delete", params, kind).await?;
                Ok(None)
            }
        }
    }

    async fn import(
        &self,
        ctx: &OpContext,
        kind: &str,
        id: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let params = json!({"kind": kind, "id": id});
        let result = self.request(ctx, "import", params, kind).await?;
        self.object(&result, kind, "import")
    }

    async fn shutdown(&self) {
        // `shutdown` blocks for a bounded time: on a thread of its own.
        let connection = Arc::clone(&self.connection);
        let (done, finished) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            connection.shutdown(SHUTDOWN_GRACE);
            let _ = done.send(());
        });
        let _ = finished.await;
    }
}
