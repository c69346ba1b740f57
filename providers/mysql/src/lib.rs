//! The `mysql` provider: MySQL and MariaDB databases, users, roles and
//! grants, with the semantics of Terraform's MySQL provider (petoju/mysql).
//! Each kind has a module of its own: `database` (`mysql.database`), `user`
//! (`mysql.user`), `role` (`mysql.role`) and `grant` (`mysql.grant`); this
//! one holds the provider itself: its settings, connections, planning,
//! validation and the helpers the kinds share (quoting, error mapping,
//! object fields).
//!
//! A database's `collation` left out of the configuration is left to the
//! server and recorded as none, so its drift shows only when it is
//! configured.
//!
//! Every identifier is quoted with backticks ([`quote_ident`]) and every
//! account name, host and password hash as a string literal
//! ([`quote_literal`]); statements that take parameters (`information_schema`
//! and `mysql.user` queries) get them as parameters. Each connection turns
//! `NO_BACKSLASH_ESCAPES` off, so that the literal quoting is the one the
//! server reads.
//!
//! Connections: one per operation, opened from the provider's settings and
//! closed at its end; an operation that is cancelled drops its connection,
//! which the server then ends.

mod database;
mod grant;
mod role;
mod user;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use smol_str::SmolStr;

use orch_provider::{Change, OpContext, Planned, Provider, ProviderError, default_plan, field};

mod kinds;

use orch_provider::object_fields::{object, strings};
use orch_provider::{Builtin, KindTable};

/// The `mysql` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin =
    Builtin { name: "mysql", kinds: &KINDS, new: || Box::new(MysqlProvider::default()) };

/// The kinds of the `mysql` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

/// The server when the provider block sets no `url` (LANGUAGE.md §7).
pub const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306";

/// How long connecting may take before it is a (transient) failure.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The `mysql` provider. Configured by `provider mysql { url = "mysql://…" }`.
#[derive(Default)]
pub struct MysqlProvider {
    /// The connection settings from [`Provider::configure`], or why they are
    /// unusable. `None` until configured: the default URL is then used.
    settings: Option<Result<Settings, String>>,
}

impl std::fmt::Debug for MysqlProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The settings may hold a password: only where they point is shown.
        let target = match &self.settings {
            Some(Ok(settings)) => settings.describe(),
            Some(Err(_)) => "(invalid settings)".to_string(),
            None => "(not configured)".to_string(),
        };
        f.debug_struct("MysqlProvider").field("target", &target).finish_non_exhaustive()
    }
}

/// Where and how to connect.
#[derive(Clone)]
struct Settings {
    opts: Opts,
}

impl Settings {
    /// Settings from a `provider mysql { … }` block: its `url`, by default
    /// [`DEFAULT_URL`].
    fn from_config(block: &Value) -> Result<Settings, String> {
        let url = match field(block, "url").reveal().0 {
            Value::None => DEFAULT_URL.to_string(),
            Value::String(url) => url.to_string(),
            other => {
                return Err(format!(
                    "the mysql provider's `url` must be a string, not {}",
                    other.kind_name()
                ));
            }
        };
        // The URL may hold a password: the message names the problem only.
        let opts = Opts::from_url(&url).map_err(|err| {
            format!(
                "the mysql provider's `url` is not a MySQL connection URL \
                 (mysql://USER:PASSWORD@HOST:PORT): {}",
                url_problem(&err)
            )
        })?;
        let opts = OptsBuilder::from_opts(opts)
            // A TCP connection to what the URL names, never a local socket
            // found by asking the server.
            .prefer_socket(false)
            .init(vec!["SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')"]);
        Ok(Settings { opts: opts.into() })
    }

    /// `MySQL at HOST:PORT as USER`, for messages; never the password.
    fn describe(&self) -> String {
        let user = self.opts.user().unwrap_or("?");
        format!("MySQL at {}:{} as {user}", self.opts.ip_or_hostname(), self.opts.tcp_port())
    }
}

/// What is wrong with a URL, without repeating it.
fn url_problem(err: &mysql_async::UrlError) -> String {
    match err {
        mysql_async::UrlError::Parse(parse) => parse.to_string(),
        mysql_async::UrlError::Invalid => "it is invalid or incomplete".to_string(),
        mysql_async::UrlError::UnsupportedScheme { scheme } => {
            format!("the scheme `{scheme}` is not `mysql`")
        }
        mysql_async::UrlError::UnknownParameter { param } => {
            format!("unknown parameter `{param}`")
        }
        mysql_async::UrlError::InvalidParamValue { param, .. } => {
            format!("invalid value for parameter `{param}`")
        }
        other => other.to_string(),
    }
}

/// The kind of server: they differ in how roles are stored and passwords
/// are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MariaDb,
    MySql,
}

/// A connection for one operation, with the kind of server it reached.
struct Session {
    conn: Conn,
    flavor: Flavor,
}

impl Session {
    /// Closes the connection politely and hands back the operation's result.
    async fn finish<T>(self, result: Result<T, ProviderError>) -> Result<T, ProviderError> {
        let _ = self.conn.disconnect().await;
        result
    }
}

impl MysqlProvider {
    fn settings(&self) -> Result<Settings, ProviderError> {
        match &self.settings {
            Some(Ok(settings)) => Ok(settings.clone()),
            Some(Err(message)) => Err(ProviderError::new(message.clone())),
            None => Settings::from_config(&Value::None).map_err(ProviderError::new),
        }
    }

    /// A new connection to the server.
    async fn connect(&self) -> Result<Session, ProviderError> {
        let settings = self.settings()?;
        let action = format!("connecting to {}", settings.describe());
        let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(settings.opts)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => return Err(mysql_error(&action, &err)),
            Err(_) => {
                return Err(ProviderError::transient(format!(
                    "{action}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        let version: Option<String> =
            conn.query_first("SELECT VERSION()").await.map_err(|err| mysql_error(&action, &err))?;
        let flavor = if version.is_some_and(|v| v.contains("MariaDB")) {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        };
        Ok(Session { conn, flavor })
    }
}

// ---------------------------------------------------------------------------
// Errors.

/// The server's error code, for a server error.
fn server_code(err: &mysql_async::Error) -> Option<u16> {
    match err {
        mysql_async::Error::Server(server) => Some(server.code),
        _ => None,
    }
}

/// A provider error for a failed `action` ("creating user 'app'@'%'"): the
/// server's message with its code; transient when the connection failed or
/// the server asked to try again.
fn mysql_error(action: &str, err: &mysql_async::Error) -> ProviderError {
    use mysql_async::{DriverError, Error};
    let (message, transient) = match err {
        Error::Server(server) => {
            // Too many connections, lock wait timeout, deadlock, server
            // shutting down, connection killed or lost.
            let transient =
                matches!(server.code, 1040 | 1053 | 1205 | 1213 | 1927 | 2002 | 2003 | 2006 | 2013);
            (format!("{action}: {} (error {})", server.message, server.code), transient)
        }
        Error::Io(io) => (format!("{action}: {io}"), true),
        Error::Driver(driver) => {
            let transient = matches!(
                driver,
                DriverError::ConnectionClosed
                    | DriverError::PoolDisconnected
                    | DriverError::PacketOutOfOrder
            );
            (format!("{action}: {driver}"), transient)
        }
        Error::Url(url) => (format!("{action}: {}", url_problem(url)), false),
        Error::Other(other) => (format!("{action}: {other}"), false),
    };
    ProviderError { message, transient, partial: None }
}

/// `error` with every occurrence of the `secrets` replaced: a server may
/// quote a statement (with a password hash) in its message.
fn scrub(mut error: ProviderError, secrets: &[&str]) -> ProviderError {
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        error.message = error.message.replace(secret, "(secret)");
    }
    error
}

/// Runs `work` unless the operation is cancelled first (a second Ctrl-C or
/// its `@timeout`). Dropping the work drops its connection.
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

/// `name` as a quoted identifier: `` `name` ``, with `` ` `` doubled.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `text` as a string literal: `'text'`, with `'` doubled and `\` escaped
/// (every connection turns `NO_BACKSLASH_ESCAPES` off).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// The account `'user'@'host'`.
fn account(user: &str, host: &str) -> String {
    format!("{}@{}", quote_literal(user), quote_literal(host))
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

    fn texts(&self, name: &str) -> Vec<String> {
        list_of(self.get(name)).unwrap_or_default()
    }
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
impl Provider for MysqlProvider {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    async fn configure(&mut self, config: &Value) -> Result<(), ProviderError> {
        // An unusable configuration fails at first use, so that `plan` of a
        // configuration without mysql resources never needs a server.
        self.settings = Some(Settings::from_config(config));
        Ok(())
    }

    async fn probe(&self) -> Result<(), ProviderError> {
        let session = self.connect().await?;
        session.finish(Ok(())).await
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
            let mut session = self.connect().await?;
            let result = match kind {
                "mysql.database" => database::read(&mut session, prior).await,
                "mysql.user" => user::read(&mut session, prior).await,
                "mysql.role" => role::read(&mut session, prior).await,
                _ => grant::read(&mut session, prior).await,
            };
            session.finish(result).await
        })
        .await
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let (Some(schema), Some(prior)) = (self.schema(kind), prior) else {
            return default_plan(self.schema(kind), prior, config);
        };
        plan_update(schema, prior, config)
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
            let mut session = self.connect().await?;
            let s = &mut session;
            let result = match (kind, change) {
                ("mysql.database", Change::Create { config }) => {
                    database::create(s, fields(config)).await.map(Some)
                }
                ("mysql.database", Change::Update { prior, config }) => {
                    database::update(s, fields(prior), fields(config)).await.map(Some)
                }
                ("mysql.database", Change::Delete { prior }) => {
                    database::delete(s, fields(prior)).await.map(|()| None)
                }
                ("mysql.user", Change::Create { config }) => {
                    user::create(s, fields(config)).await.map(Some)
                }
                ("mysql.user", Change::Update { prior, config }) => {
                    user::update(s, fields(prior), fields(config)).await.map(Some)
                }
                ("mysql.user", Change::Delete { prior }) => {
                    user::delete(s, fields(prior)).await.map(|()| None)
                }
                ("mysql.role", Change::Create { config }) => {
                    role::create(s, fields(config)).await.map(Some)
                }
                ("mysql.role", Change::Update { config, .. }) => {
                    // Only the name is configurable, and it forces a
                    // replacement: an update changes nothing on the server.
                    role::read(s, fields(config))
                        .await
                        .and_then(|found| {
                            found.ok_or_else(|| {
                                ProviderError::new(format!(
                                    "updating role {}: it no longer exists",
                                    fields(config).text("name").unwrap_or_default()
                                ))
                            })
                        })
                        .map(Some)
                }
                ("mysql.role", Change::Delete { prior }) => {
                    role::delete(s, fields(prior)).await.map(|()| None)
                }
                (_, Change::Create { config } | Change::Update { config, .. }) => {
                    grant::apply(s, fields(config)).await.map(Some)
                }
                (_, Change::Delete { prior }) => {
                    grant::revoke(s, fields(prior)).await.map(|()| None)
                }
            };
            session.finish(result).await
        })
        .await
    }

    fn import_refusal(&self, kind: &str) -> Option<String> {
        // Every kind of this provider is looked up by its id.
        self.schema(kind).is_none().then(|| format!("the mysql provider has no kind {kind}"))
    }

    async fn import(
        &self,
        ctx: &OpContext,
        kind: &str,
        id: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        if kind == "mysql.database" {
            import_fields(kind, id).map_err(ProviderError::new)?;
            return until_cancelled(ctx, async {
                let mut session = self.connect().await?;
                let result = database::import(&mut session, id).await;
                session.finish(result).await
            })
            .await;
        }
        let mut entries: BTreeMap<SmolStr, Value> = schema
            .inputs()
            .filter_map(|f| Some((SmolStr::new(f.name), f.default.clone()?)))
            .collect();
        let ids = import_fields(kind, id).map_err(ProviderError::new)?;
        for (name, value) in ids {
            entries.insert(name.into(), Value::string(value));
        }
        self.read(ctx, kind, &Value::map(entries)).await
    }

    fn create_is_idempotent(&self, kind: &str) -> bool {
        // Applying a grant makes the privileges at its level exactly the
        // configured ones, whatever they were.
        kind == "mysql.grant"
    }
}

/// The identity fields an import id names:
/// - `mysql.database`, `mysql.role`: the name;
/// - `mysql.user`: `USER@HOST` (split at the last `@`), or `USER` for host `%`;
/// - `mysql.grant`: `USER@HOST@DATABASE@TABLE` for an account's grant,
///   `ROLE@DATABASE@TABLE` for a role's (as Terraform's provider names them).
fn import_fields(kind: &str, id: &str) -> Result<Vec<(&'static str, String)>, String> {
    if id.is_empty() {
        return Err(format!("{kind}: the import id is empty"));
    }
    Ok(match kind {
        "mysql.database" | "mysql.role" => vec![("name", id.to_string())],
        "mysql.user" => match id.rsplit_once('@') {
            Some((user, host)) => vec![("user", user.to_string()), ("host", host.to_string())],
            None => vec![("user", id.to_string())],
        },
        _ => {
            let parts: Vec<&str> = id.split('@').collect();
            match parts.as_slice() {
                [user, host, database, table] => vec![
                    ("user", (*user).to_string()),
                    ("host", (*host).to_string()),
                    ("database", (*database).to_string()),
                    ("table", (*table).to_string()),
                ],
                [role, database, table] => vec![
                    ("role", (*role).to_string()),
                    ("database", (*database).to_string()),
                    ("table", (*table).to_string()),
                ],
                _ => {
                    return Err(format!(
                        "mysql.grant: the import id `{id}` is neither USER@HOST@DATABASE@TABLE \
                         nor ROLE@DATABASE@TABLE (use `*` for every table)"
                    ));
                }
            }
        }
    })
}

impl MysqlProvider {
    fn kind_schema(&self, kind: &str) -> Result<&'static KindSchema, ProviderError> {
        self.schema(kind)
            .ok_or_else(|| ProviderError::new(format!("the mysql provider has no kind {kind}")))
    }
}

/// The plan of an update: like [`default_plan`], but a database's
/// `collation` left to the server is no change (the recorded one is kept:
/// the server's after an import, none after a create), and values that mean the
/// same thing (privileges in another order or case, `ALL` for `ALL
/// PRIVILEGES`, `utf8` for `utf8mb3`) are no change.
fn plan_update(schema: &'static KindSchema, prior: &Value, config: &Value) -> Planned {
    let mut entries = match config {
        Value::Map(entries) => entries.to_map(),
        _ => BTreeMap::new(),
    };
    let mut requires_replace = Vec::new();
    for input in schema.inputs() {
        let (before, after) = (field(prior, input.name), field(config, input.name));
        if matches!(after, Value::None) && filled_by_server(schema.name, input.name) {
            if let Value::Map(recorded) = prior
                && recorded.contains_key(input.name)
            {
                entries.insert(input.name.into(), before.clone());
            }
            continue;
        }
        if same_input(schema.name, input.name, before, after) {
            // As recorded, so that no change plans the prior object.
            match prior {
                Value::Map(recorded) if !recorded.contains_key(input.name) => {
                    entries.remove(input.name)
                }
                _ => entries.insert(input.name.into(), before.clone()),
            };
            continue;
        }
        if input.forces_replacement {
            requires_replace.push(input.name.to_string());
        }
    }
    Planned { value: Value::map(entries), requires_replace }
}

fn same_input(kind: &str, name: &str, before: &Value, after: &Value) -> bool {
    if !before.is_known() || !after.is_known() {
        return false;
    }
    let texts = || before.as_str().zip(after.as_str());
    match (kind, name) {
        ("mysql.database", "charset") => texts().is_some_and(|(a, b)| database::same_charset(a, b)),
        ("mysql.database", "collation") => texts().is_some_and(|(a, b)| a.eq_ignore_ascii_case(b)),
        ("mysql.grant", "privileges") => match (list_of(before), list_of(after)) {
            (Some(a), Some(b)) => grant::privilege_set(&a) == grant::privilege_set(&b),
            _ => before.same_revealed(after),
        },
        _ => before.same_revealed(after),
    }
}

/// Optional inputs that the server fills in when the configuration leaves
/// them out: the configuration then does not care about their value, and
/// objects record them as none.
fn filled_by_server(kind: &str, name: &str) -> bool {
    matches!((kind, name), ("mysql.database", "collation"))
}

// ---------------------------------------------------------------------------
// Validation.

/// The longest database and table name MySQL and MariaDB accept.
const MAX_NAME_CHARS: usize = 64;

fn validate(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut name = |field_name: &str, value: &str, limit: Option<usize>| {
        if value.is_empty() {
            problems.push(format!("`{field_name}` must not be empty"));
        } else if value.contains('\0') {
            problems.push(format!("`{field_name}` must not contain a NUL character"));
        } else if let Some(limit) = limit
            && value.chars().count() > limit
        {
            problems.push(format!(
                "`{field_name}` is {} characters long, but MySQL names are at most {limit}",
                value.chars().count()
            ));
        }
    };
    let name_fields: &[(&str, Option<usize>)] = match config.schema.name {
        "mysql.database" => {
            &[("name", Some(MAX_NAME_CHARS)), ("charset", None), ("collation", None)]
        }
        "mysql.user" => &[("user", None), ("host", None)],
        "mysql.role" => &[("name", None)],
        _ => &[
            ("user", None),
            ("role", None),
            ("host", None),
            ("database", Some(MAX_NAME_CHARS)),
            ("table", Some(MAX_NAME_CHARS)),
        ],
    };
    for (field_name, limit) in name_fields {
        if let Some(value) = config.text(field_name) {
            name(field_name, &value, *limit);
        }
    }
    match config.schema.name {
        "mysql.user" => problems.extend(user::validate_user(config)),
        "mysql.grant" => problems.extend(grant::validate_grant(config)),
        _ => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("app"), "`app`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\'b"), "'a\\\\''b'");
        assert_eq!(account("app", "%"), "'app'@'%'");
    }

    #[test]
    fn import_ids() {
        assert_eq!(
            import_fields("mysql.user", "app@10.0.%").unwrap(),
            vec![("user", "app".to_string()), ("host", "10.0.%".to_string())]
        );
        assert_eq!(import_fields("mysql.user", "app").unwrap(), vec![("user", "app".to_string())]);
        assert_eq!(
            import_fields("mysql.grant", "app@%@shop@*").unwrap(),
            vec![
                ("user", "app".to_string()),
                ("host", "%".to_string()),
                ("database", "shop".to_string()),
                ("table", "*".to_string()),
            ]
        );
        assert_eq!(
            import_fields("mysql.grant", "reader@shop@orders").unwrap()[0],
            ("role", "reader".to_string())
        );
        assert!(import_fields("mysql.grant", "shop").is_err());
        assert!(import_fields("mysql.database", "").is_err());
    }

    #[test]
    fn settings_never_show_the_password() {
        let block = object(vec![(
            "url",
            Value::secret(Value::string("mysql://root:hunter2@db.example:3307")),
        )]);
        let settings = Settings::from_config(&block).unwrap();
        assert_eq!(settings.describe(), "MySQL at db.example:3307 as root");
        let provider = MysqlProvider { settings: Some(Ok(settings)) };
        assert!(!format!("{provider:?}").contains("hunter2"));
        let bad = object(vec![("url", Value::string("postgres://root:hunter2@db"))]);
        let message = Settings::from_config(&bad).err().unwrap();
        assert!(!message.contains("hunter2"), "{message}");
    }
}
