//! The `pg` provider: PostgreSQL databases, roles, schemas and grants, with
//! the semantics of Terraform's PostgreSQL provider (cyrilgdn). Each kind has
//! a module of its own: `database` (`pg.database`), `role` (`pg.role`),
//! `schema` (`pg.schema`), `grant` (`pg.grant`), `default_privileges`
//! (`pg.default_privileges`) and `grant_role` (`pg.grant_role`), with
//! `membership` for acting for other roles as an administrator that is not
//! a superuser; this one holds the
//! provider itself: its settings, connections, planning, validation and the
//! helpers the kinds share (quoting, error mapping, object fields).
//!
//! Optional fields left to the server (a database's `owner`, `encoding`,
//! `lc_collate`, `lc_ctype`, a schema's `owner`, a role's `roles`) are recorded as none, so
//! their drift shows only when they are configured: an owner left out is not
//! managed.
//!
//! Names are the identity: a changed `name` is renamed in place (the plan
//! never replaces for it); `read` finds objects by name, so an object renamed
//! by hand reads as gone. Every identifier is quoted ([`quote_ident`]); values
//! go as parameters where PostgreSQL accepts them, otherwise as literals
//! ([`quote_literal`]).
//!
//! Passwords reach the server only as SCRAM-SHA-256 verifiers computed here,
//! and `read` cannot see them (see the `role` module).
//!
//! Connections: one small pool per database (the provider's database, and the
//! databases of schemas and grants), opened lazily; each connection's driver is
//! a tokio task. A connection that was abandoned mid-operation (cancelled) is
//! closed, after asking the server to cancel its statement.

mod database;
mod default_privileges;
mod grant;
mod grant_role;
mod membership;
mod role;
mod schema;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use smol_str::SmolStr;
use tokio_postgres::{Client, NoTls};

use orch_provider::{Change, OpContext, Planned, Provider, ProviderError, default_plan, field};

mod kinds;

use orch_provider::object_fields::{object, strings};
use orch_provider::{Builtin, KindTable};

/// The `pg` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin =
    Builtin { name: "pg", kinds: &KINDS, new: || Box::new(PgProvider::default()) };

/// The kinds of the `pg` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

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
            Err(err) => {
                Err(pg_error(&format!("connecting to {}", settings.describe(&database)), &err))
            }
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

    /// Whether `database` is being dropped or was: an operation in it
    /// failed with its connection ended, and the database is gone within a
    /// few seconds (`DROP DATABASE … WITH (FORCE)` ends the sessions first,
    /// then removes it).
    async fn database_dropped(&self, database: &str) -> bool {
        for _ in 0..30 {
            if self.database_gone(database).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Whether `database` is known not to exist (any doubt is `false`).
    async fn database_gone(&self, database: &str) -> bool {
        let Ok(mut session) = self.maintenance().await else { return false };
        let gone = session
            .client()
            .query_one(
                "SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = $1)",
                &[&database],
            )
            .await
            .and_then(|row| row.try_get::<_, bool>(0))
            .unwrap_or(false);
        session.finish(Ok(gone)).unwrap_or(false)
    }

    /// A connection to `database`, which must exist.
    async fn open_existing(&self, database: &str, action: &str) -> Result<Session, ProviderError> {
        self.open(Some(database)).await?.ok_or_else(|| {
            ProviderError::new(format!("{action}: database {database} does not exist"))
        })
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
                || matches!(
                    code,
                    "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "55P03" | "55006"
                );
            (message, transient)
        }
        None => {
            let io =
                std::error::Error::source(err).is_some_and(|source| source.is::<std::io::Error>());
            let transient = io || err.is_closed() || err.to_string().starts_with("timeout");
            (format!("{action}: {err}"), transient)
        }
    };
    ProviderError { message, transient, partial: None }
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
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// `"a", "b"`.
fn quote_idents(names: &[String]) -> String {
    names.iter().map(|name| quote_ident(name)).collect::<Vec<_>>().join(", ")
}

/// Runs `statements` in one transaction.
async fn in_transaction(
    client: &mut Client,
    statements: &[String],
) -> Result<(), tokio_postgres::Error> {
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
            Value::None => {
                self.schema.field(name).and_then(|f| f.default.as_ref()).unwrap_or(&Value::None)
            }
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
            Value::List(items) => {
                items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect()
            }
            _ => Vec::new(),
        }
    }
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

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    async fn configure(&mut self, config: &Value) -> Result<(), ProviderError> {
        // An unusable configuration fails at first use, so that `plan` of a
        // configuration without pg resources never needs a server.
        self.settings = Some(Settings::from_config(config));
        self.pool = Arc::default();
        Ok(())
    }

    async fn probe(&self) -> Result<(), ProviderError> {
        // One connection to the provider's database, kept in the pool for
        // the reads that follow.
        self.maintenance().await.map(drop)
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        let Some(schema) = self.schema(kind) else { return Vec::new() };
        validate(Fields { schema, value: config })
    }

    async fn read(
        &self,
        ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        let prior = Fields { schema, value: prior };
        until_cancelled(ctx, async {
            match kind {
                "pg.database" => self.read_database(prior).await,
                "pg.role" => self.read_role(prior).await,
                "pg.schema" => self.read_schema(prior).await,
                "pg.default_privileges" => self.read_default_privileges(prior).await,
                "pg.grant_role" => self.read_grant_role(prior).await,
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

    async fn apply(
        &self,
        ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        let fields = |value| Fields { schema, value };
        until_cancelled(ctx, async {
            match (kind, change) {
                ("pg.database", Change::Create { config }) => {
                    self.create_database(fields(config)).await.map(Some)
                }
                ("pg.database", Change::Update { prior, config }) => {
                    self.update_database(fields(prior), fields(config)).await.map(Some)
                }
                ("pg.database", Change::Delete { prior }) => {
                    self.delete_database(fields(prior)).await.map(|()| None)
                }
                ("pg.role", Change::Create { config }) => {
                    self.create_role(fields(config)).await.map(Some)
                }
                ("pg.role", Change::Update { prior, config }) => {
                    self.update_role(fields(prior), fields(config)).await.map(Some)
                }
                ("pg.role", Change::Delete { prior }) => {
                    self.delete_role(fields(prior)).await.map(|()| None)
                }
                ("pg.schema", Change::Create { config }) => {
                    self.create_schema(fields(config)).await.map(Some)
                }
                ("pg.schema", Change::Update { prior, config }) => {
                    self.update_schema(fields(prior), fields(config)).await.map(Some)
                }
                ("pg.schema", Change::Delete { prior }) => {
                    self.delete_schema(fields(prior)).await.map(|()| None)
                }
                (
                    "pg.default_privileges",
                    Change::Create { config } | Change::Update { config, .. },
                ) => self.apply_default_privileges(fields(config)).await.map(Some),
                ("pg.default_privileges", Change::Delete { prior }) => {
                    self.revoke_default_privileges(fields(prior)).await.map(|()| None)
                }
                ("pg.grant_role", Change::Create { config } | Change::Update { config, .. }) => {
                    self.create_grant_role(fields(config)).await.map(Some)
                }
                ("pg.grant_role", Change::Delete { prior }) => {
                    self.delete_grant_role(fields(prior)).await.map(|()| None)
                }
                (_, Change::Create { config } | Change::Update { config, .. }) => {
                    self.apply_grant(fields(config)).await.map(Some)
                }
                (_, Change::Delete { prior }) => {
                    self.revoke_grant(fields(prior)).await.map(|()| None)
                }
            }
        })
        .await
    }

    fn import_refusal(&self, kind: &str) -> Option<String> {
        match kind {
            "pg.database" | "pg.role" | "pg.schema" | "pg.default_privileges" | "pg.grant_role" => {
                None
            }
            "pg.grant" => Some(
                "a pg.grant is a set of privileges, not an object with a name: declare the \
                 grant and apply it (applying revokes and grants, so it adopts the privileges \
                 as they are)"
                    .into(),
            ),
            _ => Some(format!("the pg provider has no kind {kind}")),
        }
    }

    async fn import(
        &self,
        ctx: &OpContext,
        kind: &str,
        id: &str,
    ) -> Result<Option<Value>, ProviderError> {
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
            "pg.default_privileges" => {
                for (name, value) in
                    default_privileges::import_fields(id).map_err(ProviderError::new)?
                {
                    entries.insert(name.into(), Value::string(value));
                }
                // Read back as they are: the privileges held.
                entries.insert("privileges".into(), Value::list(Vec::new()));
            }
            "pg.grant_role" => {
                let Some((role, grant_role)) = id.split_once('.') else {
                    return Err(ProviderError::new(format!(
                        "pg.grant_role: the import id `{id}` is not ROLE.GRANT_ROLE"
                    )));
                };
                entries.insert("role".into(), Value::string(role));
                entries.insert("grant_role".into(), Value::string(grant_role));
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
        matches!(kind, "pg.grant" | "pg.default_privileges" | "pg.grant_role")
    }
}

impl PgProvider {
    fn kind_schema(&self, kind: &str) -> Result<&'static KindSchema, ProviderError> {
        self.schema(kind)
            .ok_or_else(|| ProviderError::new(format!("the pg provider has no kind {kind}")))
    }

    /// The plan of an update: like [`default_plan`], but a `name` is renamed
    /// in place, optional fields the configuration leaves to the server (a
    /// database's owner and encoding, a schema's owner) never force a
    /// replacement, and values that mean the same thing (lists in another
    /// order, `utf-8` for `UTF8`, `["ALL"]` for every privilege) are no change.
    fn plan_update(&self, schema: &'static KindSchema, prior: &Value, config: &Value) -> Planned {
        let mut entries = match config {
            Value::Map(entries) => entries.to_map(),
            _ => BTreeMap::new(),
        };
        let mut requires_replace = Vec::new();
        let mut changed = false;
        for input in schema.inputs() {
            let (before, after) = (field(prior, input.name), field(config, input.name));
            if matches!(after, Value::None) && (schema.name, input.name) == ("pg.role", "roles") {
                // Memberships not managed here: whatever is recorded (the
                // list of a role recorded before `roles` could be left
                // out) stays, and is no change.
                match prior {
                    Value::Map(recorded) if recorded.contains_key(input.name) => {
                        entries.insert(input.name.into(), before.clone())
                    }
                    _ => entries.remove(input.name),
                };
                continue;
            }
            if matches!(after, Value::None) && filled_by_server(schema.name, input.name) {
                // Left to the server: recorded as none, never a replacement
                // (a template or encoding left out after the database was
                // made with one changes nothing).
                changed |= !matches!(before, Value::None);
                if let Value::Map(recorded) = prior
                    && recorded.contains_key(input.name)
                {
                    entries.insert(input.name.into(), Value::None);
                }
                continue;
            }
            // A field added to the kind after the object was recorded is
            // no change while it keeps its default.
            let unrecorded =
                matches!(prior, Value::Map(recorded) if !recorded.contains_key(input.name));
            if (unrecorded && input.default.as_ref() == Some(after))
                || self.same_input(schema.name, input.name, before, after, config)
            {
                // As recorded, so that no change plans the prior object.
                match prior {
                    Value::Map(recorded) if !recorded.contains_key(input.name) => {
                        entries.remove(input.name)
                    }
                    _ => entries.insert(input.name.into(), before.clone()),
                };
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

    fn same_input(
        &self,
        kind: &str,
        name: &str,
        before: &Value,
        after: &Value,
        config: &Value,
    ) -> bool {
        if !before.is_known() || !after.is_known() {
            return false;
        }
        let texts = || before.as_str().zip(after.as_str());
        match (kind, name) {
            ("pg.database", "encoding") => {
                texts().is_some_and(|(a, b)| database::same_encoding(a, b))
            }
            ("pg.database", "lc_collate" | "lc_ctype") => {
                texts().is_some_and(|(a, b)| database::same_locale(a, b))
            }
            ("pg.role", "roles") | ("pg.grant", "objects" | "columns") => {
                list_of(before).zip(list_of(after)).is_some_and(|(a, b)| same_set(&a, &b))
            }
            ("pg.grant", "privileges") => {
                let on = field(config, "object_type").as_str().and_then(grant::GrantOn::parse);
                match (on, list_of(before), list_of(after)) {
                    (Some(on), Some(a), Some(b)) => on.expand(&a) == on.expand(&b),
                    _ => before.same_revealed(after),
                }
            }
            ("pg.default_privileges", "privileges") => {
                let on = field(config, "object_type")
                    .as_str()
                    .and_then(default_privileges::DefaultOn::parse);
                match (on, list_of(before), list_of(after)) {
                    (Some(on), Some(a), Some(b)) => on.expand(&a) == on.expand(&b),
                    _ => before.same_revealed(after),
                }
            }
            ("pg.schema", "database") => {
                let default = self.default_database();
                let effective =
                    |value: &Value| value.as_str().map(str::to_string).or_else(|| default.clone());
                effective(before) == effective(after)
            }
            _ => before.same_revealed(after),
        }
    }
}

/// Optional inputs that the server fills in when the configuration leaves
/// them out. The configuration then does not care about their value, and
/// objects record them as none: the engine compares configurations with
/// recorded objects field by field, so recording the server's choice would
/// plan a change on every run.
fn filled_by_server(kind: &str, name: &str) -> bool {
    matches!(
        (kind, name),
        (
            "pg.database",
            "owner" | "template" | "encoding" | "lc_collate" | "lc_ctype" | "tablespace_name"
        ) | ("pg.schema", "owner")
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
        "pg.default_privileges" => &["role", "database", "schema", "owner"],
        "pg.grant_role" => &["role", "grant_role"],
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
        "pg.role" => problems.extend(role::validate_role(config)),
        "pg.schema" => problems.extend(schema::validate_schema(config)),
        "pg.grant" => problems.extend(grant::validate_grant(config)),
        "pg.default_privileges" => {
            problems.extend(default_privileges::validate_default_privileges(config))
        }
        "pg.grant_role" => problems.extend(grant_role::validate_grant_role(config)),
        _ => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("app"), "\"app\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\'b"), "E'a\\\\''b'");
    }
}
