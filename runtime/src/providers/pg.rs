//! The `pg` provider: PostgreSQL databases, roles, schemas and grants, with
//! the semantics of Terraform's PostgreSQL provider (cyrilgdn).
//!
//! - `pg.database`: `CREATE DATABASE` (a statement of its own: PostgreSQL
//!   refuses it in a transaction), `ALTER DATABASE … RENAME TO / OWNER TO /
//!   WITH CONNECTION LIMIT, ALLOW_CONNECTIONS, IS_TEMPLATE` in one transaction,
//!   and `DROP DATABASE … WITH (FORCE)`, which ends open sessions first (after
//!   clearing `IS_TEMPLATE`, which would block the drop). Read from
//!   `pg_database`. `template` is not recorded by PostgreSQL, so it keeps the
//!   value it was created with.
//! - `pg.role`: `CREATE ROLE` with its attributes, memberships (`GRANT group
//!   TO role`) and `search_path` in one transaction; updates compare with
//!   `pg_roles` and change only what differs, in one transaction; delete runs
//!   `REASSIGN OWNED BY … TO CURRENT_USER` and `DROP OWNED BY …` in every
//!   database where the role owns objects or holds privileges (`pg_shdepend`;
//!   Terraform only does the provider's database, so a role used in two
//!   databases cannot be deleted there), then `DROP ROLE`.
//! - `pg.schema`: created in its `database` (a connection to that database),
//!   adopted when it exists and `if_not_exists` is set; renamed and re-owned in
//!   one transaction; dropped with `CASCADE` only when `drop_cascade` is set.
//!   Read from that database's `pg_namespace`.
//! - `pg.grant`: create and update both run, in one transaction under an
//!   advisory lock, `REVOKE ALL PRIVILEGES` then `GRANT` of the configured set,
//!   so the set is exact and the role never loses a privilege it keeps. Read
//!   expands the ACLs (`aclexplode` over `datacl`, `nspacl`, `relacl`,
//!   `proacl`, with `acldefault` where they are unset), so privileges narrowed
//!   or widened by hand show as drift. For "every object in the schema"
//!   (`objects = []`), an object whose privileges differ from the configured
//!   set (a table created later, say) shows as drift; the update grants on it.
//!
//! Names are the identity: a changed `name` is renamed in place (the plan
//! never replaces for it); `read` finds objects by name, so an object renamed
//! by hand reads as gone. Every identifier is quoted ([`quote_ident`]); values
//! go as parameters where PostgreSQL accepts them, otherwise as literals
//! ([`quote_literal`]).
//!
//! Passwords: PostgreSQL stores only a hash, so `read` cannot see a password
//! and returns the prior one (a change made by hand is not drift). A password
//! is turned into a SCRAM-SHA-256 verifier here, as psql's `\password` does,
//! and only the verifier goes to the server, so the password cannot appear in
//! the server's log, `pg_stat_activity` or `pg_stat_statements`. Passwords that
//! are not ASCII must go as they are (the server normalises them with SASLprep
//! before hashing, which is not done here); for them, statement logging is
//! switched off for the transaction when the provider's role may do it. Error
//! messages never contain a password: they are scrubbed in any case.
//!
//! Connections: one small pool per database (the provider's database, and the
//! databases of schemas and grants), opened lazily; each connection's driver is
//! a tokio task. A connection that was abandoned mid-operation (cancelled) is
//! closed, after asking the server to cancel its statement.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use smol_str::SmolStr;
use tokio_postgres::{Client, GenericClient, NoTls};

use crate::provider::{Change, OpContext, Planned, Provider, ProviderError, default_plan, field};

/// The `pg` provider. Configured by `provider pg { url = "postgres://…" }`.
#[derive(Default)]
pub struct PgProvider {
    /// The connection settings from [`Provider::configure`], or why they are
    /// unusable. `None` until configured: the environment is then read at
    /// first use.
    settings: Option<Result<Settings, String>>,
    pool: Arc<Pool>,
}

impl std::fmt::Debug for PgProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The settings may hold a password: only where they point is shown.
        let target = match &self.settings {
            Some(Ok(settings)) => settings.describe(&settings.database),
            Some(Err(_)) => "(invalid settings)".to_string(),
            None => "(not configured)".to_string(),
        };
        f.debug_struct("PgProvider").field("target", &target).finish_non_exhaustive()
    }
}

/// Where and how to connect.
#[derive(Clone)]
struct Settings {
    config: tokio_postgres::Config,
    /// The database the provider connects to; `pg.schema`s without a
    /// `database` live there.
    database: String,
}

impl Settings {
    /// Settings from a `provider pg { … }` block: `url` first (or the
    /// `PGURL` or `DATABASE_URL` environment variable), then `host`, `port`,
    /// `database`, `username` and `password` override its parts.
    fn from_config(block: &Value) -> Result<Settings, String> {
        let text = |name: &str| -> Result<Option<String>, String> {
            match field(block, name).reveal().0 {
                Value::None => Ok(None),
                Value::String(text) => Ok(Some(text.to_string())),
                other => Err(format!(
                    "the pg provider's `{name}` must be a string, not {}",
                    other.kind_name()
                )),
            }
        };
        let host = text("host")?;
        let url = match text("url")? {
            Some(url) => Some((url, "`url`")),
            None => std::env::var("PGURL")
                .ok()
                .map(|url| (url, "PGURL"))
                .or_else(|| std::env::var("DATABASE_URL").ok().map(|url| (url, "DATABASE_URL")))
                .filter(|(url, _)| !url.is_empty()),
        };
        let mut config = match (url, &host) {
            (Some((url, source)), _) => tokio_postgres::Config::from_str(&url).map_err(|err| {
                format!("the pg provider's {source} is not a PostgreSQL connection URL: {err}")
            })?,
            (None, Some(_)) => tokio_postgres::Config::new(),
            (None, None) => {
                return Err("the pg provider has no server to connect to: set `url` in \
                            `provider pg { url = \"postgres://USER@HOST:5432/DATABASE\" }`, \
                            or the PGURL or DATABASE_URL environment variable"
                    .to_string());
            }
        };
        if let Some(host) = host {
            config.host(&host);
        }
        match field(block, "port").reveal().0 {
            Value::None => {}
            Value::Int(port) => {
                let port = u16::try_from(*port)
                    .map_err(|_| format!("the pg provider's `port` {port} is not a TCP port"))?;
                config.port(port);
            }
            other => {
                return Err(format!(
                    "the pg provider's `port` must be an int, not {}",
                    other.kind_name()
                ));
            }
        }
        if let Some(database) = text("database")? {
            config.dbname(&database);
        }
        if let Some(username) = text("username")? {
            config.user(&username);
        }
        if let Some(password) = text("password")? {
            config.password(password);
        }
        let Some(user) = config.get_user().map(str::to_string) else {
            return Err("the pg provider has no user to connect as: put it in the URL \
                        (postgres://USER@HOST/DATABASE) or set `username`"
                .to_string());
        };
        if config.get_hosts().is_empty() {
            config.host("127.0.0.1");
        }
        if config.get_application_name().is_none() {
            config.application_name("orch");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(30));
        }
        // As libpq does, the database defaults to the user's name.
        let database = config.get_dbname().map_or(user, str::to_string);
        Ok(Settings { config, database })
    }

    /// `PostgreSQL at HOST:PORT as USER (database DB)`, for messages; never
    /// the password.
    fn describe(&self, database: &str) -> String {
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "?".to_string(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let user = self.config.get_user().unwrap_or("?");
        format!("PostgreSQL at {host}:{port} as {user} (database {database})")
    }
}

/// Idle connections by database name.
#[derive(Default)]
struct Pool {
    idle: Mutex<HashMap<String, Vec<Client>>>,
}

/// Idle connections kept per database; more are opened when operations run
/// in parallel, and closed when they end.
const MAX_IDLE_PER_DATABASE: usize = 4;

impl Pool {
    fn idle(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Client>>> {
        // A panic elsewhere cannot leave the map inconsistent: every change
        // to it is a single push, pop or removal.
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take(&self, database: &str) -> Option<Client> {
        let mut idle = self.idle();
        let clients = idle.get_mut(database)?;
        while let Some(client) = clients.pop() {
            if !client.is_closed() {
                return Some(client);
            }
        }
        None
    }

    fn put(&self, database: &str, client: Client) {
        let mut idle = self.idle();
        let clients = idle.entry(database.to_string()).or_default();
        if clients.len() < MAX_IDLE_PER_DATABASE {
            clients.push(client);
        }
    }

    /// Closes the idle connections to `database`, which would stop it from
    /// being renamed or dropped.
    fn forget(&self, database: &str) {
        self.idle().remove(database);
    }
}

/// A connection checked out of the pool for one operation.
struct Session {
    client: Option<Client>,
    database: String,
    pool: Arc<Pool>,
    /// Set when the operation ran to its end: the connection goes back to
    /// the pool. A session dropped without it was abandoned mid-operation.
    finished: bool,
}

impl Session {
    fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("a session holds its client until it is dropped")
    }

    /// Ends the operation and hands back its result.
    fn finish<T>(mut self, result: Result<T, ProviderError>) -> Result<T, ProviderError> {
        self.finished = true;
        result
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        if client.is_closed() {
            return;
        }
        if self.finished {
            self.pool.put(&self.database, client);
            return;
        }
        // Abandoned (cancelled or timed out): ask the server to stop the
        // statement, and close the connection, which rolls back an open
        // transaction.
        let token = client.cancel_token();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = token.cancel_query(NoTls).await;
            });
        }
    }
}

impl PgProvider {
    fn settings(&self) -> Result<Settings, ProviderError> {
        match &self.settings {
            Some(Ok(settings)) => Ok(settings.clone()),
            Some(Err(message)) => Err(ProviderError::new(message.clone())),
            None => Settings::from_config(&Value::None).map_err(ProviderError::new),
        }
    }

    /// The provider's database, when its settings are usable.
    fn default_database(&self) -> Option<String> {
        self.settings().ok().map(|settings| settings.database)
    }

    /// A connection to `database` (the provider's by default), or `None`
    /// when that database does not exist.
    async fn open(&self, database: Option<&str>) -> Result<Option<Session>, ProviderError> {
        let settings = self.settings()?;
        let database = database.unwrap_or(&settings.database).to_string();
        let session = |client| Session {
            client: Some(client),
            database: database.clone(),
            pool: self.pool.clone(),
            finished: false,
        };
        if let Some(client) = self.pool.take(&database) {
            return Ok(Some(session(client)));
        }
        let mut config = settings.config.clone();
        config.dbname(&database);
        match config.connect(NoTls).await {
            Ok((client, connection)) => {
                // The driver ends when the client is dropped or the server
                // goes away; requests on the client then fail with "connection
                // closed", which is reported where it happens.
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(Some(session(client)))
            }
            Err(err) if sql_state(&err) == Some("3D000") => Ok(None),
            Err(err) => Err(pg_error(&format!("connecting to {}", settings.describe(&database)), &err)),
        }
    }

    /// A connection to the provider's database.
    async fn maintenance(&self) -> Result<Session, ProviderError> {
        let settings = self.settings()?;
        self.open(None).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "connecting to {}: the database does not exist",
                settings.describe(&settings.database)
            ))
        })
    }

    /// A connection to `database`, which must exist.
    async fn open_existing(&self, database: &str, action: &str) -> Result<Session, ProviderError> {
        self.open(Some(database))
            .await?
            .ok_or_else(|| ProviderError::new(format!("{action}: database {database} does not exist")))
    }
}

// ---------------------------------------------------------------------------
// Errors.

/// The SQLSTATE of a server error.
fn sql_state(err: &tokio_postgres::Error) -> Option<&str> {
    err.as_db_error().map(|db| db.code().code())
}

/// A provider error for a failed `action` ("creating role app"): the
/// server's message, detail and hint; transient when the connection failed
/// or the server asked to try again.
fn pg_error(action: &str, err: &tokio_postgres::Error) -> ProviderError {
    let (message, transient) = match err.as_db_error() {
        Some(db) => {
            let mut message = format!("{action}: {}", db.message());
            if let Some(detail) = db.detail() {
                let _ = write!(message, " ({detail})");
            }
            if let Some(hint) = db.hint() {
                let _ = write!(message, "; hint: {hint}");
            }
            let code = db.code().code();
            // Connection exceptions, insufficient resources (too many
            // connections), shutdowns, serialization failures, deadlocks,
            // lock timeouts and objects in use by other sessions.
            let transient = code.starts_with("08")
                || code.starts_with("53")
                || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "55P03" | "55006");
            (message, transient)
        }
        None => {
            let io = std::error::Error::source(err).is_some_and(|source| source.is::<std::io::Error>());
            let transient = io || err.is_closed() || err.to_string().starts_with("timeout");
            (format!("{action}: {err}"), transient)
        }
    };
    ProviderError { message, transient, partial: None }
}

/// `err` with every occurrence of `secret` in its message replaced.
fn scrub(mut err: ProviderError, secret: Option<&str>) -> ProviderError {
    if let Some(secret) = secret.filter(|secret| !secret.is_empty()) {
        err.message = err.message.replace(secret, "(secret)");
    }
    err
}

/// Runs `work` unless the operation is cancelled first (a second Ctrl-C or
/// its `@timeout`). Dropping the work drops its session, which cancels the
/// statement on the server.
async fn until_cancelled<T>(
    ctx: &OpContext,
    work: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    tokio::select! {
        biased;
        () = ctx.cancel.cancelled() => Err(ProviderError::new(format!("{}: cancelled", ctx.address))),
        result = work => result,
    }
}

// ---------------------------------------------------------------------------
// SQL text.

/// `name` as a quoted SQL identifier: `"name"`, with `"` doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a SQL string literal, correct whatever
/// `standard_conforming_strings` is: as PostgreSQL's own `quote_literal`,
/// `'…'` with `'` doubled, or `E'…'` with `\` doubled too when the text has a
/// backslash.
pub fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') { format!("E'{}'", quoted.replace('\\', "\\\\")) } else { format!("'{quoted}'") }
}

/// `"a", "b"`.
fn quote_idents(names: &[String]) -> String {
    names.iter().map(|name| quote_ident(name)).collect::<Vec<_>>().join(", ")
}

/// Runs `statements` in one transaction.
async fn in_transaction(client: &mut Client, statements: &[String]) -> Result<(), tokio_postgres::Error> {
    let transaction = client.transaction().await?;
    for statement in statements {
        transaction.batch_execute(statement).await?;
    }
    transaction.commit().await
}

// ---------------------------------------------------------------------------
// Objects.

/// An object's fields, with the kind's defaults for those it lacks.
#[derive(Clone, Copy)]
struct Fields<'v> {
    schema: &'static KindSchema,
    value: &'v Value,
}

impl<'v> Fields<'v> {
    fn get(&self, name: &str) -> &'v Value {
        match field(self.value, name) {
            Value::None => self
                .schema
                .field(name)
                .and_then(|f| f.default.as_ref())
                .unwrap_or(&Value::None),
            value => value,
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        self.get(name).as_str().map(str::to_string)
    }

    fn required_text(&self, name: &str) -> Result<String, ProviderError> {
        self.text(name).ok_or_else(|| {
            ProviderError::new(format!("{}: `{name}` must be a known string", self.schema.name))
        })
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name).as_bool().unwrap_or(false)
    }

    fn number(&self, name: &str) -> i64 {
        self.get(name).as_int().unwrap_or(-1)
    }

    fn texts(&self, name: &str) -> Vec<String> {
        match self.get(name).reveal().0 {
            Value::List(items) => items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    }
}

fn object(entries: Vec<(&str, Value)>) -> Value {
    Value::map(entries.into_iter().map(|(name, value)| (SmolStr::new(name), value)).collect())
}

fn strings(items: &[String]) -> Value {
    Value::list(items.iter().map(|item| Value::string(item.as_str())).collect())
}

/// `actual`, in the order of `like` for the items both have (so that a list
/// read back equals the configured one when only the order differs), then the
/// others.
fn ordered_like(actual: &[String], like: &[String]) -> Vec<String> {
    let actual_set: BTreeSet<&String> = actual.iter().collect();
    let mut seen = BTreeSet::new();
    let mut ordered = Vec::new();
    for item in like.iter().filter(|item| actual_set.contains(item)).chain(actual) {
        if seen.insert(item) {
            ordered.push(item.clone());
        }
    }
    ordered
}

/// `wanted` when it names the same thing as `actual` (by `same`), otherwise
/// `actual`: read-back values keep the configuration's spelling.
fn spelled_like(wanted: Option<String>, actual: &str, same: fn(&str, &str) -> bool) -> Value {
    match wanted {
        Some(wanted) if same(&wanted, actual) => Value::string(wanted),
        _ => Value::string(actual),
    }
}

/// `UTF8`, `utf-8` and `Utf_8` are the same encoding.
fn same_encoding(a: &str, b: &str) -> bool {
    let normal = |s: &str| s.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_uppercase();
    normal(a) == normal(b)
}

/// `en_US.UTF-8` and `en_US.utf8` are the same locale.
fn same_locale(a: &str, b: &str) -> bool {
    let normal = |s: &str| s.chars().filter(|c| *c != '-').collect::<String>().to_lowercase();
    normal(a) == normal(b)
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

fn list_of(value: &Value) -> Option<Vec<String>> {
    match value.reveal().0 {
        Value::List(items) => items.iter().map(|item| item.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// The provider.

#[async_trait]
impl Provider for PgProvider {
    fn name(&self) -> &'static str {
        "pg"
    }

    async fn configure(&mut self, config: &Value) -> Result<(), ProviderError> {
        // An unusable configuration fails at first use, so that `plan` of a
        // configuration without pg resources never needs a server.
        self.settings = Some(Settings::from_config(config));
        self.pool = Arc::default();
        Ok(())
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        let Some(schema) = self.schema(kind) else { return Vec::new() };
        validate(Fields { schema, value: config })
    }

    async fn read(&self, ctx: &OpContext, kind: &str, prior: &Value) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        let prior = Fields { schema, value: prior };
        until_cancelled(ctx, async {
            match kind {
                "pg.database" => self.read_database(prior).await,
                "pg.role" => self.read_role(prior).await,
                "pg.schema" => self.read_schema(prior).await,
                _ => self.read_grant(prior).await,
            }
        })
        .await
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let (Some(schema), Some(prior)) = (self.schema(kind), prior) else {
            return default_plan(self.schema(kind), prior, config);
        };
        self.plan_update(schema, prior, config)
    }

    async fn apply(&self, ctx: &OpContext, kind: &str, change: Change<'_>) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        let fields = |value| Fields { schema, value };
        until_cancelled(ctx, async {
            match (kind, change) {
                ("pg.database", Change::Create { config }) => self.create_database(fields(config)).await.map(Some),
                ("pg.database", Change::Update { prior, config }) => {
                    self.update_database(fields(prior), fields(config)).await.map(Some)
                }
                ("pg.database", Change::Delete { prior }) => self.delete_database(fields(prior)).await.map(|()| None),
                ("pg.role", Change::Create { config }) => self.create_role(fields(config)).await.map(Some),
                ("pg.role", Change::Update { prior, config }) => {
                    self.update_role(fields(prior), fields(config)).await.map(Some)
                }
                ("pg.role", Change::Delete { prior }) => self.delete_role(fields(prior)).await.map(|()| None),
                ("pg.schema", Change::Create { config }) => self.create_schema(fields(config)).await.map(Some),
                ("pg.schema", Change::Update { prior, config }) => {
                    self.update_schema(fields(prior), fields(config)).await.map(Some)
                }
                ("pg.schema", Change::Delete { prior }) => self.delete_schema(fields(prior)).await.map(|()| None),
                (_, Change::Create { config } | Change::Update { config, .. }) => {
                    self.apply_grant(fields(config)).await.map(Some)
                }
                (_, Change::Delete { prior }) => self.revoke_grant(fields(prior)).await.map(|()| None),
            }
        })
        .await
    }

    async fn import(&self, ctx: &OpContext, kind: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        let mut entries: BTreeMap<SmolStr, Value> = schema
            .inputs()
            .filter_map(|f| Some((SmolStr::new(f.name), f.default.clone()?)))
            .collect();
        match kind {
            "pg.database" | "pg.role" => {
                entries.insert("name".into(), Value::string(id));
            }
            "pg.schema" => {
                // `DATABASE.SCHEMA`, or `SCHEMA` in the provider's database.
                let (database, name) = match id.split_once('.') {
                    Some((database, name)) => (Some(database), name),
                    None => (None, id),
                };
                entries.insert("name".into(), Value::string(name));
                if let Some(database) = database {
                    entries.insert("database".into(), Value::string(database));
                }
            }
            _ => {
                return Err(ProviderError::new(
                    "pg.grant objects cannot be imported: declare the grant and apply it; \
                     applying revokes and grants, so it adopts the privileges as they are",
                ));
            }
        }
        self.read(ctx, kind, &Value::map(entries)).await
    }

    fn create_is_idempotent(&self, kind: &str) -> bool {
        // Applying a grant revokes and grants the whole set again.
        kind == "pg.grant"
    }
}

impl PgProvider {
    fn kind_schema(&self, kind: &str) -> Result<&'static KindSchema, ProviderError> {
        self.schema(kind).ok_or_else(|| ProviderError::new(format!("the pg provider has no kind {kind}")))
    }

    /// The plan of an update: like [`default_plan`], but a `name` is renamed
    /// in place, optional fields the server fills in (a database's owner and
    /// encoding, a schema's owner) keep their value when the configuration
    /// leaves them out, and values that mean the same thing (lists in another
    /// order, `utf-8` for `UTF8`, `["ALL"]` for every privilege) are no change.
    fn plan_update(&self, schema: &'static KindSchema, prior: &Value, config: &Value) -> Planned {
        let mut entries = match config {
            Value::Map(entries) => (**entries).clone(),
            _ => BTreeMap::new(),
        };
        let mut requires_replace = Vec::new();
        let mut changed = false;
        for input in schema.inputs() {
            let (before, after) = (field(prior, input.name), field(config, input.name));
            let same = if matches!(after, Value::None) && filled_by_server(schema.name, input.name) {
                true
            } else {
                self.same_input(schema.name, input.name, before, after, config)
            };
            if same {
                entries.insert(input.name.into(), before.clone());
                continue;
            }
            changed = true;
            if input.forces_replacement {
                requires_replace.push(input.name.to_string());
            }
        }
        for output in schema.outputs() {
            let value = if changed { Value::Unknown } else { field(prior, output.name).clone() };
            entries.insert(output.name.into(), value);
        }
        Planned { value: Value::map(entries), requires_replace }
    }

    fn same_input(&self, kind: &str, name: &str, before: &Value, after: &Value, config: &Value) -> bool {
        if !before.is_known() || !after.is_known() {
            return false;
        }
        let texts = || before.as_str().zip(after.as_str());
        match (kind, name) {
            ("pg.database", "encoding") => texts().is_some_and(|(a, b)| same_encoding(a, b)),
            ("pg.database", "lc_collate" | "lc_ctype") => texts().is_some_and(|(a, b)| same_locale(a, b)),
            ("pg.role", "roles") | ("pg.grant", "objects") => {
                list_of(before).zip(list_of(after)).is_some_and(|(a, b)| same_set(&a, &b))
            }
            ("pg.grant", "privileges") => {
                let on = field(config, "object_type").as_str().and_then(GrantOn::parse);
                match (on, list_of(before), list_of(after)) {
                    (Some(on), Some(a), Some(b)) => on.expand(&a) == on.expand(&b),
                    _ => before.reveal_all() == after.reveal_all(),
                }
            }
            ("pg.schema", "database") => {
                let default = self.default_database();
                let effective = |value: &Value| value.as_str().map(str::to_string).or_else(|| default.clone());
                effective(before) == effective(after)
            }
            _ => before.reveal_all() == after.reveal_all(),
        }
    }
}

/// Optional inputs that the server fills in when the configuration leaves
/// them out: the configuration then does not care about their value.
fn filled_by_server(kind: &str, name: &str) -> bool {
    matches!(
        (kind, name),
        ("pg.database", "owner" | "template" | "encoding" | "lc_collate" | "lc_ctype") | ("pg.schema", "owner")
    )
}

// ---------------------------------------------------------------------------
// Validation.

/// PostgreSQL cuts longer names short (with a mere notice), which would make
/// the object unreadable by its configured name.
const MAX_NAME_BYTES: usize = 63;

fn validate(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut name = |field_name: &str, value: &str| {
        if value.is_empty() {
            problems.push(format!("`{field_name}` must not be empty"));
        } else if value.len() > MAX_NAME_BYTES {
            problems.push(format!(
                "`{field_name}` is {} bytes long, but PostgreSQL names are at most {MAX_NAME_BYTES} \
                 bytes (longer ones are cut short)",
                value.len()
            ));
        } else if value.contains('\0') {
            problems.push(format!("`{field_name}` must not contain a NUL character"));
        }
    };
    let name_fields: &[&str] = match config.schema.name {
        "pg.database" => &["name", "owner", "template"],
        "pg.role" => &["name"],
        "pg.schema" => &["name", "database", "owner"],
        _ => &["role", "database", "schema"],
    };
    for field_name in name_fields {
        if let Some(value) = config.text(field_name) {
            name(field_name, &value);
        }
    }
    for list in ["roles", "search_path"] {
        if config.schema.name == "pg.role" {
            for value in config.texts(list) {
                name(list, &value);
            }
        }
    }
    let limit = config.get("connection_limit");
    if limit.is_known()
        && let Some(limit) = limit.as_int()
        && !(-1..=i64::from(i32::MAX)).contains(&limit)
    {
        problems.push(format!("`connection_limit` must be -1 (no limit) or more, not {limit}"));
    }
    match config.schema.name {
        "pg.role" => {
            if let Some(password) = config.text("password") {
                if password.is_empty() {
                    problems.push(
                        "`password` must not be empty: leave it out for a role without a password".to_string(),
                    );
                } else if password.contains('\0') {
                    problems.push("`password` must not contain a NUL character".to_string());
                }
            }
        }
        "pg.schema" => {
            if let Some(name) = config.text("name")
                && name.starts_with("pg_")
            {
                problems.push(format!("schema name `{name}`: the prefix `pg_` is reserved for system schemas"));
            }
        }
        "pg.grant" => problems.extend(validate_grant(config)),
        _ => {}
    }
    problems
}

fn validate_grant(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(kind) = config.text("object_type") else { return problems };
    let Some(on) = GrantOn::parse(&kind) else {
        problems.push(format!(
            "`object_type` must be \"database\", \"schema\", \"table\", \"sequence\" or \"function\", not {kind:?}"
        ));
        return problems;
    };
    let schema = config.get("schema");
    match on {
        GrantOn::Database if schema.is_known() && !matches!(schema, Value::None) => {
            problems.push("`schema` must be left out when `object_type` is \"database\"".to_string());
        }
        GrantOn::Database => {}
        _ if matches!(schema, Value::None) => {
            problems.push(format!("`schema` is required when `object_type` is {kind:?}"));
        }
        _ => {}
    }
    let objects = config.get("objects");
    if matches!(on, GrantOn::Database | GrantOn::Schema) && objects.is_known() && !config.texts("objects").is_empty() {
        problems.push(format!("`objects` must be empty when `object_type` is {kind:?}"));
    }
    if config.get("privileges").is_known() {
        for privilege in config.texts("privileges") {
            if let Err(message) = on.privilege_sql(&privilege) {
                problems.push(message);
            }
        }
    }
    if config.text("role").as_deref() == Some("public") && config.flag("with_grant_option") {
        problems.push("`with_grant_option` cannot be set for `public`: grant options go to roles only".to_string());
    }
    problems
}

// ---------------------------------------------------------------------------
// pg.database

struct DatabaseState {
    owner: String,
    encoding: String,
    lc_collate: String,
    lc_ctype: String,
    connection_limit: i64,
    allow_connections: bool,
    is_template: bool,
}

async fn database_state(client: &Client, name: &str) -> Result<Option<DatabaseState>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT pg_get_userbyid(d.datdba)::text, pg_encoding_to_char(d.encoding)::text, \
             d.datcollate::text, d.datctype::text, d.datconnlimit, d.datallowconn, d.datistemplate \
             FROM pg_database d WHERE d.datname = $1",
            &[&name],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(DatabaseState {
        owner: row.try_get(0)?,
        encoding: row.try_get(1)?,
        lc_collate: row.try_get(2)?,
        lc_ctype: row.try_get(3)?,
        connection_limit: i64::from(row.try_get::<_, i32>(4)?),
        allow_connections: row.try_get(5)?,
        is_template: row.try_get(6)?,
    }))
}

/// The object for the database `name` as it is, spelled like `like` (the
/// prior object or the configuration) where that means the same.
fn database_object(name: &str, state: &DatabaseState, like: Fields<'_>) -> Value {
    object(vec![
        ("name", Value::string(name)),
        ("owner", Value::string(state.owner.as_str())),
        // PostgreSQL does not record the template a database was copied from.
        ("template", like.get("template").clone()),
        ("encoding", spelled_like(like.text("encoding"), &state.encoding, same_encoding)),
        ("lc_collate", spelled_like(like.text("lc_collate"), &state.lc_collate, same_locale)),
        ("lc_ctype", spelled_like(like.text("lc_ctype"), &state.lc_ctype, same_locale)),
        ("connection_limit", Value::Int(state.connection_limit)),
        ("allow_connections", Value::Bool(state.allow_connections)),
        ("is_template", Value::Bool(state.is_template)),
    ])
}

impl PgProvider {
    async fn read_database(&self, prior: Fields<'_>) -> Result<Option<Value>, ProviderError> {
        let name = prior.required_text("name")?;
        let mut session = self.maintenance().await?;
        let result = database_state(session.client(), &name)
            .await
            .map_err(|err| pg_error(&format!("reading database {name}"), &err))
            .map(|state| state.map(|state| database_object(&name, &state, prior)));
        session.finish(result)
    }

    async fn create_database(&self, config: Fields<'_>) -> Result<Value, ProviderError> {
        let name = config.required_text("name")?;
        let mut sql = format!("CREATE DATABASE {}", quote_ident(&name));
        if let Some(owner) = config.text("owner") {
            let _ = write!(sql, " OWNER {}", quote_ident(&owner));
        }
        if let Some(template) = config.text("template") {
            let _ = write!(sql, " TEMPLATE {}", quote_ident(&template));
        }
        for (option, field_name) in [("ENCODING", "encoding"), ("LC_COLLATE", "lc_collate"), ("LC_CTYPE", "lc_ctype")] {
            if let Some(value) = config.text(field_name) {
                let _ = write!(sql, " {option} {}", quote_literal(&value));
            }
        }
        let _ = write!(
            sql,
            " CONNECTION LIMIT {} ALLOW_CONNECTIONS {} IS_TEMPLATE {}",
            config.number("connection_limit"),
            config.flag("allow_connections"),
            config.flag("is_template"),
        );
        let mut session = self.maintenance().await?;
        let client = session.client();
        // A statement of its own: CREATE DATABASE cannot run in a transaction.
        let created = client.batch_execute(&sql).await.map_err(|err| pg_error(&format!("creating database {name}"), &err));
        let result = match created {
            Err(err) => Err(err),
            Ok(()) => read_back_database(client, &name, config).await,
        };
        session.finish(result)
    }

    async fn update_database(&self, prior: Fields<'_>, config: Fields<'_>) -> Result<Value, ProviderError> {
        let (old, new) = (prior.required_text("name")?, config.required_text("name")?);
        let action = format!("updating database {old}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let current = database_state(client, &old)
                .await
                .map_err(|err| pg_error(&action, &err))?
                .ok_or_else(|| ProviderError::new(format!("{action}: it no longer exists")))?;
            let mut statements = Vec::new();
            if old != new {
                // Renaming needs every session to the database closed, ours too.
                self.pool.forget(&old);
                statements.push(format!("ALTER DATABASE {} RENAME TO {}", quote_ident(&old), quote_ident(&new)));
            }
            if let Some(owner) = config.text("owner")
                && owner != current.owner
            {
                statements.push(format!("ALTER DATABASE {} OWNER TO {}", quote_ident(&new), quote_ident(&owner)));
            }
            let mut options = String::new();
            if config.number("connection_limit") != current.connection_limit {
                let _ = write!(options, " CONNECTION LIMIT {}", config.number("connection_limit"));
            }
            if config.flag("allow_connections") != current.allow_connections {
                let _ = write!(options, " ALLOW_CONNECTIONS {}", config.flag("allow_connections"));
            }
            if config.flag("is_template") != current.is_template {
                let _ = write!(options, " IS_TEMPLATE {}", config.flag("is_template"));
            }
            if !options.is_empty() {
                statements.push(format!("ALTER DATABASE {} WITH{options}", quote_ident(&new)));
            }
            in_transaction(client, &statements).await.map_err(|err| pg_error(&action, &err))?;
            read_back_database(client, &new, config).await
        }
        .await;
        session.finish(result)
    }

    async fn delete_database(&self, prior: Fields<'_>) -> Result<(), ProviderError> {
        let name = prior.required_text("name")?;
        let action = format!("deleting database {name}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let Some(current) = database_state(client, &name).await.map_err(failed)? else {
                return Ok(());
            };
            if current.is_template {
                // A template database cannot be dropped.
                let sql = format!("ALTER DATABASE {} WITH IS_TEMPLATE false", quote_ident(&name));
                client.batch_execute(&sql).await.map_err(failed)?;
            }
            self.pool.forget(&name);
            let version: i32 = client
                .query_one("SELECT current_setting('server_version_num')::int", &[])
                .await
                .and_then(|row| row.try_get(0))
                .map_err(failed)?;
            let sql = if version >= 130_000 {
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&name))
            } else {
                client
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&name],
                    )
                    .await
                    .map_err(failed)?;
                format!("DROP DATABASE IF EXISTS {}", quote_ident(&name))
            };
            client.batch_execute(&sql).await.map_err(|err| {
                let partial = if current.is_template {
                    let mut object = database_object(&name, &current, prior);
                    if let Value::Map(entries) = &mut object {
                        Arc::make_mut(entries).insert("is_template".into(), Value::Bool(false));
                    }
                    Some(object)
                } else {
                    None
                };
                let err = failed(err);
                match partial {
                    Some(object) => err.with_partial(object),
                    None => err,
                }
            })
        }
        .await;
        session.finish(result)
    }
}

/// The database `name` after a change: it exists, so a failure to read it
/// says so with the configuration as the partial object.
async fn read_back_database(client: &Client, name: &str, config: Fields<'_>) -> Result<Value, ProviderError> {
    match database_state(client, name).await {
        Ok(Some(state)) => Ok(database_object(name, &state, config)),
        Ok(None) => Err(ProviderError::new(format!("reading database {name} back: it does not exist"))),
        Err(err) => Err(pg_error(&format!("reading database {name} back"), &err).with_partial(config.value.clone())),
    }
}

// ---------------------------------------------------------------------------
// pg.role

#[derive(Debug)]
struct RoleState {
    login: bool,
    superuser: bool,
    create_database: bool,
    create_role: bool,
    inherit: bool,
    replication: bool,
    connection_limit: i64,
    /// `infinity`, or `YYYY-MM-DD HH:MM:SS+00`.
    valid_until: String,
    roles: Vec<String>,
    search_path: Vec<String>,
}

/// The role attributes as (field, keyword when true, keyword when false).
const ROLE_FLAGS: &[(&str, &str, &str)] = &[
    ("login", "LOGIN", "NOLOGIN"),
    ("superuser", "SUPERUSER", "NOSUPERUSER"),
    ("create_database", "CREATEDB", "NOCREATEDB"),
    ("create_role", "CREATEROLE", "NOCREATEROLE"),
    ("inherit", "INHERIT", "NOINHERIT"),
    ("replication", "REPLICATION", "NOREPLICATION"),
];

impl RoleState {
    fn flag(&self, name: &str) -> bool {
        match name {
            "login" => self.login,
            "superuser" => self.superuser,
            "create_database" => self.create_database,
            "create_role" => self.create_role,
            "inherit" => self.inherit,
            _ => self.replication,
        }
    }
}

async fn role_state(client: &impl GenericClient, name: &str) -> Result<Option<RoleState>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolinherit, \
             r.rolreplication, r.rolconnlimit, \
             CASE WHEN r.rolvaliduntil IS NULL OR r.rolvaliduntil = 'infinity' THEN 'infinity' \
             ELSE to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00' END, \
             ARRAY(SELECT DISTINCT g.rolname::text FROM pg_auth_members m \
                   JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1), \
             COALESCE(r.rolconfig, '{}'::text[]) \
             FROM pg_roles r WHERE r.rolname = $1",
            &[&name],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let settings: Vec<String> = row.try_get(9)?;
    let search_path = settings
        .iter()
        .find_map(|setting| setting.strip_prefix("search_path="))
        .map(parse_search_path)
        .unwrap_or_default();
    Ok(Some(RoleState {
        login: row.try_get(0)?,
        superuser: row.try_get(1)?,
        create_database: row.try_get(2)?,
        create_role: row.try_get(3)?,
        inherit: row.try_get(4)?,
        replication: row.try_get(5)?,
        connection_limit: i64::from(row.try_get::<_, i32>(6)?),
        valid_until: row.try_get(7)?,
        roles: row.try_get(8)?,
        search_path,
    }))
}

/// The schemas of a `search_path=` role setting as PostgreSQL stores it:
/// `"a b", "$user", public`.
fn parse_search_path(value: &str) -> Vec<String> {
    let mut schemas = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        let Some(&first) = chars.peek() else { break };
        let mut schema = String::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' && chars.next_if_eq(&'"').is_none() {
                    break;
                }
                schema.push(c);
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                schema.push(c);
            }
            schema = schema.trim().to_string();
        }
        schemas.push(schema);
    }
    schemas
}

/// Whether the role's expiry is the moment `valid_until` names (spelled
/// differently: `2030-01-01` for `2030-01-01 00:00:00+00`).
async fn same_valid_until(client: &impl GenericClient, name: &str, valid_until: &str) -> bool {
    let same = client
        .query_opt(
            "SELECT COALESCE(rolvaliduntil, 'infinity') = $2::text::timestamptz FROM pg_roles WHERE rolname = $1",
            &[&name, &valid_until],
        )
        .await;
    matches!(same, Ok(Some(row)) if row.try_get::<_, bool>(0).unwrap_or(false))
}

async fn role_object(client: &impl GenericClient, name: &str, state: &RoleState, like: Fields<'_>) -> Value {
    let valid_until = match like.text("valid_until") {
        Some(wanted) if wanted == state.valid_until || same_valid_until(client, name, &wanted).await => wanted,
        _ => state.valid_until.clone(),
    };
    // PostgreSQL keeps only a hash of the password: the prior one stands.
    let password = match like.get("password") {
        Value::None => Value::None,
        password => Value::secret(password.clone()),
    };
    let mut entries = vec![("name", Value::string(name)), ("password", password)];
    for (flag, _, _) in ROLE_FLAGS {
        entries.push((flag, Value::Bool(state.flag(flag))));
    }
    entries.extend([
        ("connection_limit", Value::Int(state.connection_limit)),
        ("valid_until", Value::string(valid_until)),
        ("roles", strings(&ordered_like(&state.roles, &like.texts("roles")))),
        ("search_path", strings(&state.search_path)),
    ]);
    object(entries)
}

/// The `PASSWORD …` clause for `password`, and whether it carries the
/// password itself rather than a SCRAM verifier.
fn password_clause(password: Option<&str>) -> (String, bool) {
    match password {
        None | Some("") => ("PASSWORD NULL".to_string(), false),
        Some(password) if password.is_ascii() => {
            // SASLprep leaves ASCII as it is (or, with control characters,
            // fails, and the server then also hashes the bytes as they are).
            let salt: [u8; 16] = rand::random();
            let verifier = scram_sha_256_verifier(password, &salt, SCRAM_ITERATIONS);
            (format!("PASSWORD {}", quote_literal(&verifier)), false)
        }
        Some(password) => (format!("PASSWORD {}", quote_literal(password)), true),
    }
}

/// Keeps the statements that follow in the transaction out of the server's
/// log, when the provider's role may change these settings (a superuser).
async fn unlogged(transaction: &tokio_postgres::Transaction<'_>) -> Result<(), tokio_postgres::Error> {
    let row = transaction.query_one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", &[]).await?;
    if row.try_get::<_, bool>(0)? {
        transaction
            .batch_execute(
                "SET LOCAL log_statement = 'none'; SET LOCAL log_min_error_statement = 'panic'; \
                 SET LOCAL log_min_duration_statement = -1",
            )
            .await?;
    }
    Ok(())
}

fn role_flags_sql(config: Fields<'_>, current: Option<&RoleState>) -> String {
    let mut sql = String::new();
    for (flag, yes, no) in ROLE_FLAGS {
        let wanted = config.flag(flag);
        if current.is_none_or(|current| current.flag(flag) != wanted) {
            let _ = write!(sql, " {}", if wanted { yes } else { no });
        }
    }
    let limit = config.number("connection_limit");
    if current.is_none_or(|current| current.connection_limit != limit) {
        let _ = write!(sql, " CONNECTION LIMIT {limit}");
    }
    sql
}

fn search_path_sql(name: &str, search_path: &[String]) -> String {
    if search_path.is_empty() {
        format!("ALTER ROLE {} RESET search_path", quote_ident(name))
    } else {
        format!("ALTER ROLE {} SET search_path TO {}", quote_ident(name), quote_idents(search_path))
    }
}

impl PgProvider {
    async fn read_role(&self, prior: Fields<'_>) -> Result<Option<Value>, ProviderError> {
        let name = prior.required_text("name")?;
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = match role_state(client, &name).await {
            Ok(Some(state)) => Ok(Some(role_object(client, &name, &state, prior).await)),
            Ok(None) => Ok(None),
            Err(err) => Err(pg_error(&format!("reading role {name}"), &err)),
        };
        session.finish(result)
    }

    async fn create_role(&self, config: Fields<'_>) -> Result<Value, ProviderError> {
        let name = config.required_text("name")?;
        let password = config.text("password");
        let action = format!("creating role {name}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let (password_sql, plain) = password_clause(password.as_deref());
            let valid_until = config.text("valid_until").unwrap_or_else(|| "infinity".to_string());
            let mut statements = vec![format!(
                "CREATE ROLE {} WITH{} VALID UNTIL {} {password_sql}",
                quote_ident(&name),
                role_flags_sql(config, None),
                quote_literal(&valid_until),
            )];
            let roles = config.texts("roles");
            if !roles.is_empty() {
                statements.push(format!("GRANT {} TO {}", quote_idents(&roles), quote_ident(&name)));
            }
            let search_path = config.texts("search_path");
            if !search_path.is_empty() {
                statements.push(search_path_sql(&name, &search_path));
            }
            let transaction = client.transaction().await.map_err(failed)?;
            if plain {
                unlogged(&transaction).await.map_err(failed)?;
            }
            for statement in &statements {
                transaction.batch_execute(statement).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)?;
            read_back_role(client, &name, config).await
        }
        .await;
        session.finish(result.map_err(|err| scrub(err, password.as_deref())))
    }

    async fn update_role(&self, prior: Fields<'_>, config: Fields<'_>) -> Result<Value, ProviderError> {
        let (old, new) = (prior.required_text("name")?, config.required_text("name")?);
        let password = config.text("password");
        let action = format!("updating role {old}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            let current = role_state(&transaction, &old)
                .await
                .map_err(failed)?
                .ok_or_else(|| ProviderError::new(format!("{action}: it no longer exists")))?;
            let mut statements = Vec::new();
            let renamed = old != new;
            if renamed {
                statements.push(format!("ALTER ROLE {} RENAME TO {}", quote_ident(&old), quote_ident(&new)));
            }
            let mut attributes = role_flags_sql(config, Some(&current));
            let valid_until = config.text("valid_until").unwrap_or_else(|| "infinity".to_string());
            if valid_until != current.valid_until && !same_valid_until(&transaction, &old, &valid_until).await {
                let _ = write!(attributes, " VALID UNTIL {}", quote_literal(&valid_until));
            }
            if !attributes.is_empty() {
                statements.push(format!("ALTER ROLE {} WITH{attributes}", quote_ident(&new)));
            }
            // Renaming clears an MD5 password (its hash includes the name):
            // a configured password is set again.
            let mut plain = false;
            if password != prior.text("password") || (renamed && password.is_some()) {
                let (password_sql, is_plain) = password_clause(password.as_deref());
                plain = is_plain;
                statements.push(format!("ALTER ROLE {} WITH {password_sql}", quote_ident(&new)));
            }
            let roles = config.texts("roles");
            let grant: Vec<String> = roles.iter().filter(|role| !current.roles.contains(role)).cloned().collect();
            let revoke: Vec<String> = current.roles.iter().filter(|role| !roles.contains(role)).cloned().collect();
            if !grant.is_empty() {
                statements.push(format!("GRANT {} TO {}", quote_idents(&grant), quote_ident(&new)));
            }
            if !revoke.is_empty() {
                statements.push(format!("REVOKE {} FROM {}", quote_idents(&revoke), quote_ident(&new)));
            }
            let search_path = config.texts("search_path");
            if search_path != current.search_path {
                statements.push(search_path_sql(&new, &search_path));
            }
            if plain {
                unlogged(&transaction).await.map_err(failed)?;
            }
            for statement in &statements {
                transaction.batch_execute(statement).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)?;
            read_back_role(client, &new, config).await
        }
        .await;
        session.finish(result.map_err(|err| scrub(err, password.as_deref())))
    }

    async fn delete_role(&self, prior: Fields<'_>) -> Result<(), ProviderError> {
        let name = prior.required_text("name")?;
        let action = format!("deleting role {name}");
        let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
        let disown = format!(
            "REASSIGN OWNED BY {0} TO CURRENT_USER; DROP OWNED BY {0}",
            quote_ident(&name)
        );
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            if role_state(client, &name).await.map_err(failed)?.is_none() {
                return Ok(());
            }
            // REASSIGN OWNED and DROP OWNED act on the connected database
            // only: first the other databases that hold the role's objects
            // or privileges.
            let others = client
                .query(
                    "SELECT DISTINCT d.datname::text FROM pg_shdepend s \
                     JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.refobjid \
                     WHERE s.refclassid = 'pg_authid'::regclass AND r.rolname = $1 \
                     AND d.datname <> current_database() AND d.datallowconn ORDER BY 1",
                    &[&name],
                )
                .await
                .map_err(failed)?;
            for row in others {
                let database: String = row.try_get(0).map_err(failed)?;
                let Some(mut other) = self.open(Some(&database)).await? else { continue };
                let done = in_transaction(other.client(), std::slice::from_ref(&disown))
                    .await
                    .map_err(|err| pg_error(&format!("{action} (its objects in database {database})"), &err));
                other.finish(done)?;
            }
            let drop = format!("{disown}; DROP ROLE {}", quote_ident(&name));
            in_transaction(client, &[drop]).await.map_err(failed)
        }
        .await;
        session.finish(result)
    }
}

async fn read_back_role(client: &Client, name: &str, config: Fields<'_>) -> Result<Value, ProviderError> {
    match role_state(client, name).await {
        Ok(Some(state)) => Ok(role_object(client, name, &state, config).await),
        Ok(None) => Err(ProviderError::new(format!("reading role {name} back: it does not exist"))),
        Err(err) => Err(pg_error(&format!("reading role {name} back"), &err).with_partial(config.value.clone())),
    }
}

// ---------------------------------------------------------------------------
// pg.schema

/// The owner of schema `name`, or `None` when there is no such schema.
async fn schema_owner(client: &impl GenericClient, name: &str) -> Result<Option<String>, tokio_postgres::Error> {
    let row = client
        .query_opt("SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = $1", &[&name])
        .await?;
    row.map(|row| row.try_get(0)).transpose()
}

fn schema_object(name: &str, owner: &str, like: Fields<'_>) -> Value {
    object(vec![
        ("name", Value::string(name)),
        ("database", like.get("database").clone()),
        ("owner", Value::string(owner)),
        ("if_not_exists", Value::Bool(like.flag("if_not_exists"))),
        ("drop_cascade", Value::Bool(like.flag("drop_cascade"))),
    ])
}

impl PgProvider {
    /// The database of a schema and its name, for messages.
    fn schema_place(&self, fields: Fields<'_>) -> Result<(String, String), ProviderError> {
        let name = fields.required_text("name")?;
        let database = match fields.text("database") {
            Some(database) => database,
            None => self.settings()?.database,
        };
        Ok((database, name))
    }

    async fn read_schema(&self, prior: Fields<'_>) -> Result<Option<Value>, ProviderError> {
        let (database, name) = self.schema_place(prior)?;
        let Some(mut session) = self.open(Some(&database)).await? else { return Ok(None) };
        let result = schema_owner(session.client(), &name)
            .await
            .map(|owner| owner.map(|owner| schema_object(&name, &owner, prior)))
            .map_err(|err| pg_error(&format!("reading schema {name} in database {database}"), &err));
        session.finish(result)
    }

    async fn create_schema(&self, config: Fields<'_>) -> Result<Value, ProviderError> {
        let (database, name) = self.schema_place(config)?;
        let action = format!("creating schema {name} in database {database}");
        let mut session = self.open_existing(&database, &action).await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            let owner = config.text("owner");
            let statement = match schema_owner(&transaction, &name).await.map_err(failed)? {
                // Adopted: only its owner may need to change.
                Some(current) if config.flag("if_not_exists") => owner
                    .filter(|owner| *owner != current)
                    .map(|owner| format!("ALTER SCHEMA {} OWNER TO {}", quote_ident(&name), quote_ident(&owner))),
                // When it exists without `if_not_exists`, the server says so.
                _ => Some(match &owner {
                    Some(owner) => format!("CREATE SCHEMA {} AUTHORIZATION {}", quote_ident(&name), quote_ident(owner)),
                    None => format!("CREATE SCHEMA {}", quote_ident(&name)),
                }),
            };
            if let Some(statement) = statement {
                transaction.batch_execute(&statement).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)?;
            read_back_schema(client, &name, config).await
        }
        .await;
        session.finish(result)
    }

    async fn update_schema(&self, prior: Fields<'_>, config: Fields<'_>) -> Result<Value, ProviderError> {
        let (database, old) = self.schema_place(prior)?;
        let new = config.required_text("name")?;
        let action = format!("updating schema {old} in database {database}");
        let mut session = self.open_existing(&database, &action).await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            let current = schema_owner(&transaction, &old)
                .await
                .map_err(failed)?
                .ok_or_else(|| ProviderError::new(format!("{action}: it no longer exists")))?;
            if old != new {
                let sql = format!("ALTER SCHEMA {} RENAME TO {}", quote_ident(&old), quote_ident(&new));
                transaction.batch_execute(&sql).await.map_err(failed)?;
            }
            if let Some(owner) = config.text("owner")
                && owner != current
            {
                let sql = format!("ALTER SCHEMA {} OWNER TO {}", quote_ident(&new), quote_ident(&owner));
                transaction.batch_execute(&sql).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)?;
            read_back_schema(client, &new, config).await
        }
        .await;
        session.finish(result)
    }

    async fn delete_schema(&self, prior: Fields<'_>) -> Result<(), ProviderError> {
        let (database, name) = self.schema_place(prior)?;
        // Gone with its database.
        let Some(mut session) = self.open(Some(&database)).await? else { return Ok(()) };
        let mode = if prior.flag("drop_cascade") { "CASCADE" } else { "RESTRICT" };
        let sql = format!("DROP SCHEMA IF EXISTS {} {mode}", quote_ident(&name));
        let result = session
            .client()
            .batch_execute(&sql)
            .await
            .map_err(|err| pg_error(&format!("deleting schema {name} in database {database}"), &err));
        session.finish(result)
    }
}

async fn read_back_schema(client: &Client, name: &str, config: Fields<'_>) -> Result<Value, ProviderError> {
    match schema_owner(client, name).await {
        Ok(Some(owner)) => Ok(schema_object(name, &owner, config)),
        Ok(None) => Err(ProviderError::new(format!("reading schema {name} back: it does not exist"))),
        Err(err) => Err(pg_error(&format!("reading schema {name} back"), &err).with_partial(config.value.clone())),
    }
}

// ---------------------------------------------------------------------------
// pg.grant

/// What a grant is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GrantOn {
    Database,
    Schema,
    Table,
    Sequence,
    Function,
}

impl GrantOn {
    fn parse(object_type: &str) -> Option<GrantOn> {
        Some(match object_type {
            "database" => GrantOn::Database,
            "schema" => GrantOn::Schema,
            "table" => GrantOn::Table,
            "sequence" => GrantOn::Sequence,
            "function" => GrantOn::Function,
            _ => return None,
        })
    }

    /// The privileges PostgreSQL knows on such objects.
    fn known(self) -> &'static [&'static str] {
        match self {
            GrantOn::Database => &["CREATE", "CONNECT", "TEMPORARY"],
            GrantOn::Schema => &["CREATE", "USAGE"],
            GrantOn::Table => {
                &["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"]
            }
            GrantOn::Sequence => &["USAGE", "SELECT", "UPDATE"],
            GrantOn::Function => &["EXECUTE"],
        }
    }

    /// What `ALL` grants on every supported server (PostgreSQL 17 adds
    /// `MAINTAIN` on tables).
    fn all(self) -> &'static [&'static str] {
        match self {
            GrantOn::Table => &self.known()[..7],
            _ => self.known(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            GrantOn::Database => "database",
            GrantOn::Schema => "schema",
            GrantOn::Table => "table",
            GrantOn::Sequence => "sequence",
            GrantOn::Function => "function",
        }
    }

    /// A privilege as written in GRANT: upper case, `TEMPORARY` for `TEMP`,
    /// `ALL PRIVILEGES` for `ALL`; an error for one the object type lacks.
    fn privilege_sql(self, privilege: &str) -> Result<&'static str, String> {
        let upper = privilege.trim().to_uppercase();
        let upper = match upper.as_str() {
            "TEMP" => "TEMPORARY",
            "ALL" | "ALL PRIVILEGES" => return Ok("ALL PRIVILEGES"),
            other => other,
        };
        self.known().iter().find(|known| **known == upper).copied().ok_or_else(|| {
            format!(
                "{privilege:?} is not a privilege on a {}; valid ones are {}, or ALL",
                self.name(),
                self.known().join(", ")
            )
        })
    }

    /// The privileges a list names, with `ALL` spelled out.
    fn expand(self, privileges: &[String]) -> BTreeSet<&'static str> {
        let mut set = BTreeSet::new();
        for privilege in privileges {
            match self.privilege_sql(privilege) {
                Ok("ALL PRIVILEGES") => set.extend(self.all()),
                Ok(privilege) => {
                    set.insert(privilege);
                }
                Err(_) => {}
            }
        }
        set
    }

    /// Whether an object's privileges `held` are exactly those `wanted`.
    fn satisfies(self, wanted: &[String], held: &BTreeSet<String>) -> bool {
        let wants_all = wanted.iter().any(|privilege| self.privilege_sql(privilege) == Ok("ALL PRIVILEGES"));
        if wants_all {
            return self.all().iter().all(|privilege| held.contains(*privilege))
                && held.iter().all(|privilege| self.known().contains(&privilege.as_str()));
        }
        self.expand(wanted).iter().copied().eq(held.iter().map(String::as_str))
    }
}

/// A `pg.grant`'s fields.
struct GrantSpec {
    role: String,
    database: String,
    schema: Option<String>,
    on: GrantOn,
    objects: Vec<String>,
    privileges: Vec<String>,
    with_grant_option: bool,
}

impl GrantSpec {
    fn of(fields: Fields<'_>) -> Result<GrantSpec, ProviderError> {
        let object_type = fields.required_text("object_type")?;
        let on = GrantOn::parse(&object_type)
            .ok_or_else(|| ProviderError::new(format!("pg.grant: unknown object_type {object_type:?}")))?;
        let schema = fields.text("schema");
        if on != GrantOn::Database && schema.is_none() {
            return Err(ProviderError::new(format!("pg.grant: `schema` is required for {object_type} grants")));
        }
        Ok(GrantSpec {
            role: fields.required_text("role")?,
            database: fields.required_text("database")?,
            schema: if on == GrantOn::Database { None } else { schema },
            on,
            objects: fields.texts("objects"),
            privileges: fields.texts("privileges"),
            with_grant_option: fields.flag("with_grant_option"),
        })
    }

    /// `table privileges of app_reader on test.app.{orders, items}`, for
    /// messages.
    fn describe(&self) -> String {
        let place = match (&self.schema, self.on) {
            (_, GrantOn::Database) => self.database.clone(),
            (Some(schema), GrantOn::Schema) => format!("{}.{schema}", self.database),
            (Some(schema), _) if self.objects.is_empty() => {
                format!("every {} in {}.{schema}", self.on.name(), self.database)
            }
            (schema, _) => {
                format!("{}.{}.{{{}}}", self.database, schema.as_deref().unwrap_or("?"), self.objects.join(", "))
            }
        };
        format!("{} privileges of {} on {place}", self.on.name(), self.role)
    }

    fn grantee_sql(&self) -> String {
        if self.role == "public" { "PUBLIC".to_string() } else { quote_ident(&self.role) }
    }

    /// The session for the grant: database grants are made from the
    /// provider's database, the others in their database. `None` when the
    /// database does not exist.
    fn database_for_session(&self) -> Option<&str> {
        if self.on == GrantOn::Database { None } else { Some(&self.database) }
    }
}

/// A grant's objects as they are.
struct GrantScope {
    /// The objects as SQL after `ON` (`TABLE "s"."a", "s"."b"`, `ALL TABLES
    /// IN SCHEMA "s"`), or `None` when none of the listed ones exists.
    target: Option<String>,
    /// Each existing object's privileges held by the grantee, and whether
    /// with grant option.
    held: BTreeMap<String, BTreeMap<String, bool>>,
    /// Listed objects that do not exist.
    missing: Vec<String>,
}

/// Each object's privileges held by the grantee `$2` (an oid; 0 for
/// PUBLIC), with `acldefault` standing in for unset ACLs.
const DATABASE_PRIVILEGES: &str = "SELECT d.datname::text, a.privilege_type, a.is_grantable FROM pg_database d \
     LEFT JOIN LATERAL aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a ON a.grantee = $2 \
     WHERE d.datname = $1";
const SCHEMA_PRIVILEGES: &str = "SELECT n.nspname::text, a.privilege_type, a.is_grantable FROM pg_namespace n \
     LEFT JOIN LATERAL aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a ON a.grantee = $2 \
     WHERE n.nspname = $1";
const TABLE_PRIVILEGES: &str = "SELECT c.relname::text, a.privilege_type, a.is_grantable FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN LATERAL aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) a ON a.grantee = $2 \
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND ($3 OR c.relname = ANY($4::text[]))";
const SEQUENCE_PRIVILEGES: &str = "SELECT c.relname::text, a.privilege_type, a.is_grantable FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN LATERAL aclexplode(COALESCE(c.relacl, acldefault('s', c.relowner))) a ON a.grantee = $2 \
     WHERE n.nspname = $1 AND c.relkind = 'S' AND ($3 OR c.relname = ANY($4::text[]))";
/// Functions in the sense of `GRANT … ON FUNCTION`: plain, aggregate and
/// window functions, not procedures; named (every overload) or by oid.
const FUNCTION_PRIVILEGES: &str = "SELECT p.oid::regprocedure::text, a.privilege_type, a.is_grantable, p.proname::text \
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
     LEFT JOIN LATERAL aclexplode(COALESCE(p.proacl, acldefault('f', p.proowner))) a ON a.grantee = $2 \
     WHERE n.nspname = $1 AND p.prokind IN ('f', 'a', 'w') \
     AND ($3 OR p.proname = ANY($4::text[]) OR p.oid = ANY($5::oid[]))";

/// The grant's objects and the privileges the grantee holds on them, or what
/// is gone (the role, the database or the schema).
async fn grant_scope(client: &impl GenericClient, spec: &GrantSpec) -> Result<Result<GrantScope, String>, tokio_postgres::Error> {
    let grantee: u32 = if spec.role == "public" {
        0
    } else {
        match client.query_opt("SELECT oid FROM pg_roles WHERE rolname = $1", &[&spec.role]).await? {
            Some(row) => row.try_get(0)?,
            None => return Ok(Err(format!("role {} does not exist", spec.role))),
        }
    };
    let schema = spec.schema.clone().unwrap_or_default();
    if spec.on != GrantOn::Database
        && client.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema]).await?.is_none()
    {
        return Ok(Err(format!("schema {schema} does not exist in database {}", spec.database)));
    }
    let all = spec.objects.is_empty();
    // Functions given with their arguments (`f(integer)`) are looked up by
    // PostgreSQL itself.
    let (signatures, names): (Vec<&String>, Vec<&String>) =
        spec.objects.iter().partition(|object| spec.on == GrantOn::Function && object.contains('('));
    let names: Vec<String> = names.into_iter().cloned().collect();
    let mut missing = Vec::new();
    let mut oids: Vec<u32> = Vec::new();
    if spec.on == GrantOn::Function {
        for signature in signatures {
            let qualified = format!("{}.{signature}", quote_ident(&schema));
            let row = client.query_one("SELECT to_regprocedure($1::text)::oid", &[&qualified]).await?;
            match row.try_get::<_, Option<u32>>(0)? {
                Some(oid) => oids.push(oid),
                None => missing.push(signature.clone()),
            }
        }
    }
    let rows = match spec.on {
        GrantOn::Database => client.query(DATABASE_PRIVILEGES, &[&spec.database, &grantee]).await?,
        GrantOn::Schema => client.query(SCHEMA_PRIVILEGES, &[&schema, &grantee]).await?,
        GrantOn::Table => client.query(TABLE_PRIVILEGES, &[&schema, &grantee, &all, &names]).await?,
        GrantOn::Sequence => client.query(SEQUENCE_PRIVILEGES, &[&schema, &grantee, &all, &names]).await?,
        GrantOn::Function => client.query(FUNCTION_PRIVILEGES, &[&schema, &grantee, &all, &names, &oids]).await?,
    };
    if spec.on == GrantOn::Database && rows.is_empty() {
        return Ok(Err(format!("database {} does not exist", spec.database)));
    }
    let mut held: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    let mut found_names = BTreeSet::new();
    for row in &rows {
        let object: String = row.try_get(0)?;
        let privilege: Option<String> = row.try_get(1)?;
        let grantable: Option<bool> = row.try_get(2)?;
        if spec.on == GrantOn::Function {
            found_names.insert(row.try_get::<_, String>(3)?);
        } else {
            found_names.insert(object.clone());
        }
        let privileges = held.entry(object).or_default();
        if let Some(privilege) = privilege {
            // Grants from several grantors: grantable if any is.
            *privileges.entry(privilege).or_default() |= grantable.unwrap_or(false);
        }
    }
    missing.extend(names.iter().filter(|name| !found_names.contains(*name)).cloned());
    let target = match spec.on {
        GrantOn::Database => Some(format!("DATABASE {}", quote_ident(&spec.database))),
        GrantOn::Schema => Some(format!("SCHEMA {}", quote_ident(&schema))),
        on if all => {
            let plural = match on {
                GrantOn::Table => "TABLES",
                GrantOn::Sequence => "SEQUENCES",
                _ => "FUNCTIONS",
            };
            Some(format!("ALL {plural} IN SCHEMA {}", quote_ident(&schema)))
        }
        _ if held.is_empty() => None,
        GrantOn::Function => {
            // regprocedure's text is valid SQL (quoted, schema-qualified
            // unless on the search path).
            Some(format!("FUNCTION {}", held.keys().cloned().collect::<Vec<_>>().join(", ")))
        }
        on => {
            let objects: Vec<String> =
                held.keys().map(|name| format!("{}.{}", quote_ident(&schema), quote_ident(name))).collect();
            Some(format!("{} {}", on.name().to_uppercase(), objects.join(", ")))
        }
    };
    Ok(Ok(GrantScope { target, held, missing }))
}

fn grant_object(spec: &GrantSpec, scope: &GrantScope, like: Fields<'_>) -> Value {
    // The object whose privileges differ from the prior ones (the first
    // one), otherwise any: drift on one object is drift of the grant.
    let differs = |held: &BTreeMap<String, bool>| {
        let names: BTreeSet<String> = held.keys().cloned().collect();
        !spec.on.satisfies(&spec.privileges, &names)
            || (!held.is_empty() && held.values().any(|grantable| *grantable != spec.with_grant_option))
    };
    let chosen = scope.held.values().find(|held| differs(held)).or_else(|| scope.held.values().next());
    let (privileges, with_grant_option) = match chosen {
        // Nothing to look at (an empty schema): as recorded.
        None => (like.get("privileges").clone(), Value::Bool(spec.with_grant_option)),
        Some(held) => {
            let names: BTreeSet<String> = held.keys().cloned().collect();
            let privileges = if spec.on.satisfies(&spec.privileges, &names) {
                like.get("privileges").clone()
            } else {
                strings(&names.into_iter().collect::<Vec<_>>())
            };
            let grantable = if held.is_empty() || held.values().all(|g| *g == spec.with_grant_option) {
                spec.with_grant_option
            } else if held.values().all(|g| *g) {
                true
            } else if held.values().all(|g| !*g) {
                false
            } else {
                // Some with grant option, some without: not what was asked
                // either way.
                !spec.with_grant_option
            };
            (privileges, Value::Bool(grantable))
        }
    };
    object(vec![
        ("role", Value::string(spec.role.as_str())),
        ("database", Value::string(spec.database.as_str())),
        ("schema", spec.schema.as_deref().map_or(Value::None, Value::string)),
        ("object_type", Value::string(spec.on.name())),
        ("objects", like.get("objects").clone()),
        ("privileges", privileges),
        ("with_grant_option", with_grant_option),
    ])
}

/// Serialises grant changes on one server: concurrent GRANTs on one object
/// fail with "tuple concurrently updated". ("orchgrnt" in ASCII.)
const GRANT_LOCK_KEY: i64 = 0x6f72_6368_6772_6e74;

impl PgProvider {
    async fn read_grant(&self, prior: Fields<'_>) -> Result<Option<Value>, ProviderError> {
        let spec = GrantSpec::of(prior)?;
        let Some(mut session) = self.open(spec.database_for_session()).await? else { return Ok(None) };
        let result = match grant_scope(session.client(), &spec).await {
            Ok(Ok(scope)) if scope.missing.is_empty() => Ok(Some(grant_object(&spec, &scope, prior))),
            // The role, database, schema or a listed object is gone, and the
            // privileges with it.
            Ok(_) => Ok(None),
            Err(err) => Err(pg_error(&format!("reading {}", spec.describe()), &err)),
        };
        session.finish(result)
    }

    /// Creates or updates a grant: in one transaction, revokes everything
    /// and grants the configured set.
    async fn apply_grant(&self, config: Fields<'_>) -> Result<Value, ProviderError> {
        let spec = GrantSpec::of(config)?;
        let action = format!("granting {}", spec.describe());
        let privileges = spec
            .privileges
            .iter()
            .map(|privilege| spec.on.privilege_sql(privilege))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|message| ProviderError::new(format!("{action}: {message}")))?;
        let mut session = match spec.database_for_session() {
            None => self.maintenance().await?,
            Some(database) => self.open_existing(database, &action).await?,
        };
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&GRANT_LOCK_KEY]).await.map_err(failed)?;
            let scope = grant_scope(&transaction, &spec)
                .await
                .map_err(failed)?
                .map_err(|gone| ProviderError::new(format!("{action}: {gone}")))?;
            if !scope.missing.is_empty() {
                return Err(ProviderError::new(format!(
                    "{action}: no {} {} in schema {}",
                    spec.on.name(),
                    scope.missing.join(", "),
                    spec.schema.as_deref().unwrap_or_default()
                )));
            }
            if let Some(target) = &scope.target {
                let grantee = spec.grantee_sql();
                let revoke = format!("REVOKE ALL PRIVILEGES ON {target} FROM {grantee}");
                transaction.batch_execute(&revoke).await.map_err(failed)?;
                if !privileges.is_empty() {
                    let list = if privileges.contains("ALL PRIVILEGES") {
                        "ALL PRIVILEGES".to_string()
                    } else {
                        privileges.iter().copied().collect::<Vec<_>>().join(", ")
                    };
                    let option = if spec.with_grant_option { " WITH GRANT OPTION" } else { "" };
                    let grant = format!("GRANT {list} ON {target} TO {grantee}{option}");
                    transaction.batch_execute(&grant).await.map_err(failed)?;
                }
            }
            transaction.commit().await.map_err(failed)?;
            match grant_scope(&*client, &spec).await {
                Ok(Ok(scope)) => Ok(grant_object(&spec, &scope, config)),
                Ok(Err(gone)) => Err(ProviderError::new(format!("reading back {}: {gone}", spec.describe()))),
                Err(err) => Err(pg_error(&format!("reading back {}", spec.describe()), &err)
                    .with_partial(config.value.clone())),
            }
        }
        .await;
        session.finish(result)
    }

    /// Deletes a grant: revokes everything it covers. Nothing to do when the
    /// role, database or schema is gone.
    async fn revoke_grant(&self, prior: Fields<'_>) -> Result<(), ProviderError> {
        let spec = GrantSpec::of(prior)?;
        let action = format!("revoking {}", spec.describe());
        let Some(mut session) = self.open(spec.database_for_session()).await? else { return Ok(()) };
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&GRANT_LOCK_KEY]).await.map_err(failed)?;
            if let Ok(scope) = grant_scope(&transaction, &spec).await.map_err(failed)?
                && let Some(target) = scope.target
            {
                let revoke = format!("REVOKE ALL PRIVILEGES ON {target} FROM {}", spec.grantee_sql());
                transaction.batch_execute(&revoke).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)
        }
        .await;
        session.finish(result)
    }
}

// ---------------------------------------------------------------------------
// SCRAM-SHA-256 (RFC 5802, RFC 7677), as PostgreSQL stores passwords.

/// The iteration count PostgreSQL uses by default.
const SCRAM_ITERATIONS: u32 = 4096;

/// The SCRAM-SHA-256 verifier of `password` that PostgreSQL stores in
/// `pg_authid.rolpassword`:
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. Sent in
/// `ALTER ROLE … PASSWORD`, it sets the password without the password
/// reaching the server. `password` is used as it is: PostgreSQL normalises
/// it with SASLprep first, which changes nothing for ASCII.
pub fn scram_sha_256_verifier(password: &str, salt: &[u8], iterations: u32) -> String {
    let salted = scram::salted_password(password.as_bytes(), salt, iterations);
    let client_key = scram::hmac(&salted, b"Client Key");
    let stored_key = scram::sha256(&client_key);
    let server_key = scram::hmac(&salted, b"Server Key");
    let base64 = base64::engine::general_purpose::STANDARD;
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        base64.encode(salt),
        base64.encode(stored_key),
        base64.encode(server_key)
    )
}

/// SHA-256 (FIPS 180-4), HMAC (RFC 2104) and PBKDF2 (RFC 8018) for one
/// 32-byte block: what the verifier needs. (The workspace's SHA-256 crate is
/// not a dependency of this crate; `postgres-protocol`, already in the build,
/// has the same function as `password::scram_sha_256`.)
mod scram {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    const INITIAL: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

    fn compress(state: &mut [u32; 8], block: &[u8]) {
        let mut w = [0u32; 64];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
        for (k, w) in K.iter().zip(w) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let choice = (e & f) ^ (!e & g);
            let t1 = h.wrapping_add(s1).wrapping_add(choice).wrapping_add(*k).wrapping_add(w);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let majority = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(majority);
            (h, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (word, value) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *word = word.wrapping_add(value);
        }
    }

    pub(super) fn sha256(data: &[u8]) -> [u8; 32] {
        let mut state = INITIAL;
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            compress(&mut state, block);
        }
        let rest = blocks.remainder();
        let mut tail = [0u8; 128];
        tail[..rest.len()].copy_from_slice(rest);
        tail[rest.len()] = 0x80;
        let end = if rest.len() < 56 { 64 } else { 128 };
        let bits = (data.len() as u64).wrapping_mul(8);
        tail[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        for block in tail[..end].chunks_exact(64) {
            compress(&mut state, block);
        }
        let mut digest = [0u8; 32];
        for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }

    pub(super) fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&sha256(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut inner: Vec<u8> = block.iter().map(|byte| byte ^ 0x36).collect();
        inner.extend_from_slice(message);
        let mut outer: Vec<u8> = block.iter().map(|byte| byte ^ 0x5c).collect();
        outer.extend_from_slice(&sha256(&inner));
        sha256(&outer)
    }

    /// PBKDF2-HMAC-SHA-256 with a 32-byte result (one block).
    pub(super) fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
        let mut message = salt.to_vec();
        message.extend_from_slice(&1u32.to_be_bytes());
        let mut u = hmac(password, &message);
        let mut result = u;
        for _ in 1..iterations {
            u = hmac(password, &u);
            for (byte, x) in result.iter_mut().zip(u) {
                *byte ^= x;
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    #[test]
    fn sha256_matches_the_standard_vectors() {
        assert_eq!(hex(&scram::sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex(&scram::sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        // Two-block padding (56 bytes) and a multiple of the block size.
        assert_eq!(
            hex(&scram::sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(&scram::sha256(&[b'a'; 1000])),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }

    #[test]
    fn hmac_and_pbkdf2_match_the_rfc_vectors() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex(&scram::hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // RFC 7914, section 11 (the first 32 bytes).
        assert_eq!(
            hex(&scram::salted_password(b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn scram_verifier_matches_an_independent_implementation() {
        // Computed with Python's hashlib.pbkdf2_hmac and hmac.
        let salt: Vec<u8> = (0..16).collect();
        assert_eq!(
            scram_sha_256_verifier("pencil", &salt, 4096),
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:\
             dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE="
        );
        assert_eq!(
            scram_sha_256_verifier("it's a \\ secret", b"0123456789abcdef", 4096),
            "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$2C8vL41Tpkt8oEFh3cAflIj/QhnMi7+F4937mQhAXCc=:\
             o4nNJp+ccomIAbTJDcjEoEkm5JnF4RL9Wfq8Ou3gtCY="
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("app"), "\"app\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\'b"), "E'a\\\\''b'");
    }

    #[test]
    fn search_path_settings_are_parsed() {
        assert_eq!(parse_search_path("\"a b\", \"$user\", public, \"A\"\"B\""), ["a b", "$user", "public", "A\"B"]);
        assert_eq!(parse_search_path(""), Vec::<String>::new());
    }

    #[test]
    fn privileges_compare_as_sets_with_all_spelled_out() {
        let list = |items: &[&str]| items.iter().map(|item| item.to_string()).collect::<Vec<_>>();
        let held = |items: &[&str]| items.iter().map(|item| item.to_string()).collect::<BTreeSet<_>>();
        let on = GrantOn::Table;
        assert!(on.satisfies(&list(&["select", "Insert"]), &held(&["INSERT", "SELECT"])));
        assert!(!on.satisfies(&list(&["SELECT"]), &held(&["INSERT", "SELECT"])));
        let every = held(&["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]);
        assert!(on.satisfies(&list(&["ALL"]), &every));
        let mut with_maintain = every.clone();
        with_maintain.insert("MAINTAIN".to_string());
        assert!(on.satisfies(&list(&["ALL"]), &with_maintain));
        assert!(GrantOn::Database.satisfies(&list(&["temp", "connect"]), &held(&["CONNECT", "TEMPORARY"])));
        assert!(GrantOn::Function.privilege_sql("SELECT").is_err());
    }

    #[test]
    fn lists_read_back_keep_the_configured_order() {
        let list = |items: &[&str]| items.iter().map(|item| item.to_string()).collect::<Vec<_>>();
        assert_eq!(ordered_like(&list(&["a", "b", "c"]), &list(&["c", "a"])), list(&["c", "a", "b"]));
        assert_eq!(ordered_like(&list(&["a"]), &list(&["b", "a"])), list(&["a"]));
    }
}
