//! The `redis` provider: ACL users (`acl_user`), configuration parameters
//! (`config`) and stream consumer groups (`stream_group`), one module per
//! kind; this one holds the provider itself: its settings, connections,
//! error mapping and planning.
//!
//! Terraform has no Redis provider: the kinds follow LANGUAGE.md §7. Every
//! operation opens a connection of its own (with connect and response
//! timeouts), so a server restarted between operations costs nothing.
//! Connection failures and timeouts are transient (`@retry`); server errors
//! carry the server's message.

mod acl_user;
mod config;
mod stream_group;

use std::time::Duration;

use async_trait::async_trait;
use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ConnectionAddr, ErrorKind, RedisError};

use orch_provider::object_fields::Fields;
use orch_provider::{Change, OpContext, Planned, Provider, ProviderError, default_plan, field};

mod kinds;

use orch_provider::{Builtin, KindTable};

/// The `redis` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin =
    Builtin { name: "redis", kinds: &KINDS, new: || Box::new(RedisProvider::default()) };

/// The kinds of the `redis` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

/// The server when the provider block names none.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// The `redis` provider. Configured by `provider redis { url = "redis://…" }`.
#[derive(Default)]
pub struct RedisProvider {
    /// The client from [`Provider::configure`], or why the configuration is
    /// unusable; `None` until configured (the default URL is then used).
    settings: Option<Result<Settings, String>>,
}

impl std::fmt::Debug for RedisProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only where it points is shown.
        let target = match &self.settings {
            Some(Ok(settings)) => settings.target.clone(),
            Some(Err(_)) => "(invalid settings)".to_string(),
            None => "(not configured)".to_string(),
        };
        f.debug_struct("RedisProvider").field("target", &target).finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Settings {
    client: Client,
    /// `Redis at HOST:PORT`, for messages; never the password.
    target: String,
}

impl Settings {
    fn from_config(block: &Value) -> Result<Settings, String> {
        let url = match field(block, "url").reveal().0 {
            Value::None => DEFAULT_URL.to_string(),
            Value::String(url) => url.to_string(),
            other => {
                return Err(format!(
                    "the redis provider's `url` must be a string, not {}",
                    other.kind_name()
                ));
            }
        };
        // The parser's message never repeats the URL, which may hold a
        // password.
        let client = Client::open(url.as_str()).map_err(|err| {
            format!(
                "the redis provider's `url` is not a Redis URL (redis://[USER:PASSWORD@]HOST:PORT[/DB]): {}",
                err.detail().unwrap_or("it does not parse")
            )
        })?;
        let target = match &client.get_connection_info().addr {
            ConnectionAddr::Tcp(host, port) => format!("Redis at {host}:{port}"),
            ConnectionAddr::TcpTls { host, port, .. } => format!("Redis at {host}:{port} (TLS)"),
            ConnectionAddr::Unix(path) => format!("Redis at {}", path.display()),
        };
        Ok(Settings { client, target })
    }
}

impl RedisProvider {
    fn settings(&self) -> Result<Settings, ProviderError> {
        match &self.settings {
            Some(Ok(settings)) => Ok(settings.clone()),
            Some(Err(message)) => Err(ProviderError::new(message.clone())),
            None => Settings::from_config(&Value::None).map_err(ProviderError::new),
        }
    }

    /// A connection for one operation.
    async fn connect(&self) -> Result<Connection, ProviderError> {
        let settings = self.settings()?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT);
        let connection = settings
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|err| redis_error(&format!("connecting to {}", settings.target), &err))?;
        Ok(Connection { inner: connection })
    }

    fn kind_schema(&self, kind: &str) -> Result<&'static KindSchema, ProviderError> {
        self.schema(kind)
            .ok_or_else(|| ProviderError::new(format!("the redis provider has no kind {kind}")))
    }
}

/// One operation's connection.
struct Connection {
    inner: MultiplexedConnection,
}

impl Connection {
    /// Runs `command`; a failure is reported as failing `action`.
    async fn query<T: redis::FromRedisValue>(
        &mut self,
        action: &str,
        command: &redis::Cmd,
    ) -> Result<T, ProviderError> {
        command.query_async(&mut self.inner).await.map_err(|err| redis_error(action, &err))
    }
}

/// A provider error for a failed `action` ("creating ACL user app"): the
/// server's message; transient when the connection failed or timed out, or
/// the server is loading its data or asks to try again.
fn redis_error(action: &str, err: &RedisError) -> ProviderError {
    let transient = err.is_io_error()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        || err.is_timeout()
        || matches!(err.kind(), ErrorKind::BusyLoadingError | ErrorKind::TryAgain);
    let message = format!("{action}: {err}");
    if transient { ProviderError::transient(message) } else { ProviderError::new(message) }
}

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

/// Text of a reply item (a bulk or simple string, or a number).
fn text_of(value: &redis::Value) -> Option<String> {
    match value {
        redis::Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        redis::Value::SimpleString(text) => Some(text.clone()),
        redis::Value::VerbatimString { text, .. } => Some(text.clone()),
        redis::Value::Int(n) => Some(n.to_string()),
        redis::Value::Okay => Some("OK".to_string()),
        _ => None,
    }
}

/// The (key, value) pairs of a map reply: a RESP3 map or a RESP2 flat array.
fn pairs_of(value: &redis::Value) -> Vec<(String, &redis::Value)> {
    match value {
        redis::Value::Map(entries) => {
            entries.iter().filter_map(|(k, v)| Some((text_of(k)?, v))).collect()
        }
        redis::Value::Array(items) => items
            .chunks(2)
            .filter_map(|pair| match pair {
                [k, v] => Some((text_of(k)?, v)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The strings of a reply: an array (or set) of strings, or one string of
/// space-separated words.
fn words_of(value: &redis::Value) -> Vec<String> {
    match value {
        redis::Value::Array(items) | redis::Value::Set(items) => {
            items.iter().filter_map(text_of).collect()
        }
        other => text_of(other)
            .map(|text| text.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

#[async_trait]
impl Provider for RedisProvider {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    async fn configure(&mut self, config: &Value) -> Result<(), ProviderError> {
        // An unusable configuration fails at first use, so that a plan
        // without redis resources never needs the server.
        self.settings = Some(Settings::from_config(config));
        Ok(())
    }

    async fn probe(&self) -> Result<(), ProviderError> {
        let mut connection = self.connect().await?;
        let target = self.settings()?.target;
        connection
            .query::<String>(&format!("pinging {target}"), &redis::cmd("PING"))
            .await
            .map(drop)
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        let Some(schema) = self.schema(kind) else { return Vec::new() };
        let config = Fields::new(schema, config);
        match kind {
            "redis.acl_user" => acl_user::validate(config),
            "redis.config" => config::validate(config),
            _ => stream_group::validate(config),
        }
    }

    async fn read(
        &self,
        ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        let prior = Fields::new(schema, prior);
        until_cancelled(ctx, async {
            let mut connection = self.connect().await?;
            match kind {
                "redis.acl_user" => acl_user::read(&mut connection, prior).await,
                "redis.config" => config::read(&mut connection, prior).await,
                _ => stream_group::read(&mut connection, prior).await,
            }
        })
        .await
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let mut planned = default_plan(self.schema(kind), prior, config);
        if kind == "redis.config"
            && let (Some(prior), Value::Map(entries)) = (prior, &planned.value)
            && planned.requires_replace.is_empty()
        {
            // Updated in place: the value to restore stays the one found
            // before the first set.
            let mut entries = entries.to_map();
            entries.insert("original_value".into(), field(prior, "original_value").clone());
            planned.value = Value::map(entries);
        }
        planned
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        let fields = |value| Fields::new(schema, value);
        until_cancelled(ctx, async {
            let mut c = self.connect().await?;
            match (kind, change) {
                ("redis.acl_user", Change::Create { config }) => {
                    acl_user::create(&mut c, fields(config)).await.map(Some)
                }
                ("redis.acl_user", Change::Update { config, .. }) => {
                    acl_user::update(&mut c, fields(config)).await.map(Some)
                }
                ("redis.acl_user", Change::Delete { prior }) => {
                    acl_user::delete(&mut c, fields(prior)).await.map(|()| None)
                }
                ("redis.config", Change::Create { config }) => {
                    config::create(&mut c, fields(config)).await.map(Some)
                }
                ("redis.config", Change::Update { prior, config }) => {
                    config::update(&mut c, fields(prior), fields(config)).await.map(Some)
                }
                ("redis.config", Change::Delete { prior }) => {
                    config::delete(&mut c, fields(prior)).await.map(|()| None)
                }
                (_, Change::Create { config }) => {
                    stream_group::create(&mut c, fields(config)).await.map(Some)
                }
                (_, Change::Update { prior, config }) => {
                    stream_group::update(&mut c, fields(prior), fields(config)).await.map(Some)
                }
                (_, Change::Delete { prior }) => {
                    stream_group::delete(&mut c, fields(prior)).await.map(|()| None)
                }
            }
        })
        .await
    }

    fn import_refusal(&self, kind: &str) -> Option<String> {
        // Every kind of this provider is looked up by its id.
        self.schema(kind).is_none().then(|| format!("the redis provider has no kind {kind}"))
    }

    async fn import(
        &self,
        ctx: &OpContext,
        kind: &str,
        id: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        until_cancelled(ctx, async {
            let mut connection = self.connect().await?;
            match kind {
                "redis.acl_user" => acl_user::import(&mut connection, schema, id).await,
                "redis.config" => config::import(&mut connection, schema, id).await,
                _ => stream_group::import(&mut connection, schema, id).await,
            }
        })
        .await
    }
}
