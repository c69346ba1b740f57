//! The `nats` provider: JetStream streams (`stream`), durable consumers
//! (`consumer`) and key-value buckets (`kv_bucket`), one module per kind,
//! following Terraform's JetStream provider (nats-io/jetstream); this one
//! holds the provider itself: its settings, the connection, the JetStream
//! API requests and their errors.
//!
//! Every kind talks to the JetStream API (`$JS.API.STREAM.INFO.…`,
//! `CONSUMER.DURABLE.CREATE.…`) with JSON configurations: reads take the
//! configuration the server reports, and updates change the managed fields
//! of that configuration and send it back, so fields Orch does not manage
//! keep the server's values. Durations are nanoseconds in the API and
//! Orch durations (milliseconds) in objects.
//!
//! One client per provider, connected at first use. Connection failures and
//! timeouts are transient (`@retry`); API errors carry the server's
//! description and code.

mod consumer;
mod kv_bucket;
mod stream;

use std::time::Duration;

use async_nats::jetstream;
use async_trait::async_trait;
use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use serde_json::{Value as Json, json};
use tokio::sync::OnceCell;

use orch_provider::object_fields::Fields;
use orch_provider::{Change, OpContext, Planned, Provider, ProviderError, default_plan, field};

mod kinds;

use orch_provider::{Builtin, KindTable};

/// The `nats` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin =
    Builtin { name: "nats", kinds: &KINDS, new: || Box::new(NatsProvider::default()) };

/// The kinds of the `nats` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

/// The server when the provider block names none.
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Nanoseconds in a millisecond.
const NS_PER_MS: i64 = 1_000_000;

/// The `nats` provider. Configured by `provider nats { url = "nats://…" }`.
#[derive(Default)]
pub struct NatsProvider {
    settings: Option<Result<Settings, String>>,
    client: OnceCell<jetstream::Context>,
}

impl std::fmt::Debug for NatsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.settings {
            Some(Ok(settings)) => settings.target.clone(),
            Some(Err(_)) => "(invalid settings)".to_string(),
            None => "(not configured)".to_string(),
        };
        f.debug_struct("NatsProvider").field("target", &target).finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Settings {
    url: String,
    /// `NATS at HOST:PORT`, for messages; never a password or token.
    target: String,
    /// The URL's password or token, scrubbed from the client's messages.
    secret: Option<String>,
}

impl Settings {
    fn from_config(block: &Value) -> Result<Settings, String> {
        let url = match field(block, "url").reveal().0 {
            Value::None => DEFAULT_URL.to_string(),
            Value::String(url) => url.to_string(),
            other => {
                return Err(format!(
                    "the nats provider's `url` must be a string, not {}",
                    other.kind_name()
                ));
            }
        };
        let parsed = reqwest::Url::parse(&url)
            .ok()
            .filter(|parsed| matches!(parsed.scheme(), "nats" | "tls" | "ws" | "wss"))
            .filter(|parsed| parsed.host_str().is_some())
            .ok_or_else(|| {
                "the nats provider's `url` is not a NATS URL (nats://[USER:PASSWORD@]HOST:PORT)"
                    .to_string()
            })?;
        let host = parsed.host_str().unwrap_or("?");
        let target = format!("NATS at {host}:{}", parsed.port().unwrap_or(4222));
        let secret = parsed
            .password()
            .map(str::to_string)
            .or_else(|| (!parsed.username().is_empty()).then(|| parsed.username().to_string()))
            .filter(|secret| !secret.is_empty());
        Ok(Settings { url, target, secret })
    }
}

impl NatsProvider {
    fn settings(&self) -> Result<Settings, ProviderError> {
        match &self.settings {
            Some(Ok(settings)) => Ok(settings.clone()),
            Some(Err(message)) => Err(ProviderError::new(message.clone())),
            None => Settings::from_config(&Value::None).map_err(ProviderError::new),
        }
    }

    /// The JetStream API, connecting at first use.
    async fn api(&self) -> Result<Api<'_>, ProviderError> {
        let settings = self.settings()?;
        let context = self
            .client
            .get_or_try_init(|| async {
                let client = async_nats::ConnectOptions::new()
                    .connection_timeout(CONNECT_TIMEOUT)
                    .request_timeout(Some(REQUEST_TIMEOUT))
                    .connect(settings.url.as_str())
                    .await
                    .map_err(|err| {
                        use async_nats::ConnectErrorKind as Kind;
                        let transient = matches!(
                            err.kind(),
                            Kind::TimedOut | Kind::Io | Kind::Dns | Kind::MaxReconnects
                        );
                        let mut message = format!("connecting to {}: {err}", settings.target);
                        if let Some(secret) = &settings.secret {
                            message = message.replace(secret.as_str(), "(secret)");
                        }
                        ProviderError { message, transient, partial: None }
                    })?;
                Ok::<_, ProviderError>(jetstream::new(client))
            })
            .await?;
        Ok(Api { context })
    }

    fn kind_schema(&self, kind: &str) -> Result<&'static KindSchema, ProviderError> {
        self.schema(kind)
            .ok_or_else(|| ProviderError::new(format!("the nats provider has no kind {kind}")))
    }
}

/// The JetStream API of one connection.
struct Api<'a> {
    context: &'a jetstream::Context,
}

/// A JetStream API error: the server's code (`err_code`, such as 10059 for
/// a missing stream) and description.
struct ApiError {
    code: i64,
    error: ProviderError,
}

/// `err_code` of a missing stream.
const STREAM_NOT_FOUND: i64 = 10059;
/// `err_code` of a missing consumer.
const CONSUMER_NOT_FOUND: i64 = 10014;

impl Api<'_> {
    /// Sends `payload` to `$JS.API.<subject>`: the reply, or the error it
    /// holds, as failing `action`.
    async fn request(&self, action: &str, subject: &str, payload: &Json) -> Result<Json, ApiError> {
        let reply: Result<Json, _> = self.context.request(subject.to_string(), payload).await;
        let reply = reply.map_err(|err| {
            use async_nats::jetstream::context::RequestErrorKind as Kind;
            let transient = matches!(err.kind(), Kind::TimedOut);
            let message = match err.kind() {
                Kind::NoResponders => {
                    format!("{action}: no JetStream answers on this server (is JetStream enabled?)")
                }
                _ => format!("{action}: {err}"),
            };
            ApiError { code: 0, error: ProviderError { message, transient, partial: None } }
        })?;
        match reply.get("error") {
            Some(error) => {
                let code = error.get("err_code").and_then(Json::as_i64).unwrap_or(0);
                let status = error.get("code").and_then(Json::as_i64).unwrap_or(0);
                let description =
                    error.get("description").and_then(Json::as_str).unwrap_or("unknown error");
                let message = format!("{action}: {description} (JetStream error {code})");
                // 503: JetStream is not ready yet, or lost its leader.
                let error = if status == 503 {
                    ProviderError::transient(message)
                } else {
                    ProviderError::new(message)
                };
                Err(ApiError { code, error })
            }
            None => Ok(reply),
        }
    }

    /// Like [`Api::request`], with `None` for a reply whose error code is
    /// `missing`.
    async fn request_opt(
        &self,
        action: &str,
        subject: &str,
        missing: i64,
    ) -> Result<Option<Json>, ProviderError> {
        match self.request(action, subject, &json!({})).await {
            Ok(reply) => Ok(Some(reply)),
            Err(err) if err.code == missing => Ok(None),
            Err(err) => Err(err.error),
        }
    }

    /// A stream's configuration, or `None` when there is no such stream.
    async fn stream_config(&self, name: &str) -> Result<Option<Json>, ProviderError> {
        let reply = self
            .request_opt(
                &format!("reading stream {name}"),
                &format!("STREAM.INFO.{name}"),
                STREAM_NOT_FOUND,
            )
            .await?;
        Ok(reply.and_then(|mut reply| reply.get_mut("config").map(Json::take)))
    }
}

fn api_error(err: ApiError) -> ProviderError {
    err.error
}

/// A duration in milliseconds as API nanoseconds.
fn nanos(ms: i64) -> i64 {
    ms.saturating_mul(NS_PER_MS)
}

/// API nanoseconds as an Orch duration, `None` for 0 (no limit).
fn duration_or_none(config: &Json, key: &str) -> Value {
    match config.get(key).and_then(Json::as_i64) {
        Some(ns) if ns > 0 => Value::Duration(ns / NS_PER_MS),
        _ => Value::None,
    }
}

/// An API limit, `None` for -1 or 0 (no limit).
fn limit_or_none(config: &Json, key: &str) -> Value {
    match config.get(key).and_then(Json::as_i64) {
        Some(n) if n > 0 => Value::Int(n),
        _ => Value::None,
    }
}

fn text(config: &Json, key: &str) -> String {
    config.get(key).and_then(Json::as_str).unwrap_or_default().to_string()
}

/// Problems with a JetStream name (of a stream, consumer or bucket).
fn check_name(problems: &mut Vec<String>, field_name: &str, name: Option<String>, kv: bool) {
    let Some(name) = name else { return };
    let bad = |c: char| {
        if kv {
            !(c.is_ascii_alphanumeric() || c == '_' || c == '-')
        } else {
            c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\')
        }
    };
    if name.is_empty() {
        problems.push(format!("`{field_name}` must not be empty"));
    } else if name.chars().any(bad) {
        problems.push(if kv {
            format!("`{field_name}` may hold only letters, digits, `_` and `-`, not `{name}`")
        } else {
            format!("`{field_name}` must not contain spaces, `.`, `*`, `>`, `/` or `\\`: `{name}`")
        });
    }
}

fn check_range(problems: &mut Vec<String>, config: Fields<'_>, name: &str, min: i64, max: i64) {
    if let Some(n) = config.int(name)
        && !(min..=max).contains(&n)
    {
        problems.push(if max == i64::MAX {
            format!("`{name}` must be at least {min}, not {n}")
        } else {
            format!("`{name}` must be from {min} to {max}, not {n}")
        });
    }
}

fn check_positive_duration(problems: &mut Vec<String>, config: Fields<'_>, name: &str) {
    if let Some(ms) = config.duration(name)
        && ms <= 0
    {
        problems.push(format!("`{name}` must be a positive duration"));
    }
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

#[async_trait]
impl Provider for NatsProvider {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    async fn configure(&mut self, config: &Value) -> Result<(), ProviderError> {
        self.settings = Some(Settings::from_config(config));
        self.client = OnceCell::new();
        Ok(())
    }

    async fn probe(&self) -> Result<(), ProviderError> {
        let api = self.api().await?;
        api.request("reading the JetStream account", "INFO", &json!({}))
            .await
            .map(drop)
            .map_err(api_error)
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        let Some(schema) = self.schema(kind) else { return Vec::new() };
        let config = Fields::new(schema, config);
        match kind {
            "nats.stream" => stream::validate(config),
            "nats.consumer" => consumer::validate(config),
            _ => kv_bucket::validate(config),
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
            let api = self.api().await?;
            match kind {
                "nats.stream" => stream::read(&api, prior).await,
                "nats.consumer" => consumer::read(&api, prior).await,
                _ => kv_bucket::read(&api, prior).await,
            }
        })
        .await
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let mut planned = default_plan(self.schema(kind), prior, config);
        // JetStream cannot move a stream to another storage type.
        if kind == "nats.kv_bucket"
            && let Some(prior) = prior
            && !field(prior, "storage").same_revealed(field(config, "storage"))
        {
            planned.requires_replace.push("storage".to_string());
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
            let api = self.api().await?;
            match (kind, change) {
                ("nats.stream", Change::Create { config }) => {
                    stream::create(&api, fields(config)).await.map(Some)
                }
                ("nats.stream", Change::Update { config, .. }) => {
                    stream::update(&api, fields(config)).await.map(Some)
                }
                ("nats.stream", Change::Delete { prior }) => {
                    stream::delete(&api, fields(prior)).await.map(|()| None)
                }
                ("nats.consumer", Change::Create { config }) => {
                    consumer::create(&api, fields(config)).await.map(Some)
                }
                ("nats.consumer", Change::Update { config, .. }) => {
                    consumer::update(&api, fields(config)).await.map(Some)
                }
                ("nats.consumer", Change::Delete { prior }) => {
                    consumer::delete(&api, fields(prior)).await.map(|()| None)
                }
                (_, Change::Create { config }) => {
                    kv_bucket::create(&api, fields(config)).await.map(Some)
                }
                (_, Change::Update { config, .. }) => {
                    kv_bucket::update(&api, fields(config)).await.map(Some)
                }
                (_, Change::Delete { prior }) => {
                    kv_bucket::delete(&api, fields(prior)).await.map(|()| None)
                }
            }
        })
        .await
    }

    fn import_refusal(&self, kind: &str) -> Option<String> {
        // Every kind of this provider is looked up by its id.
        self.schema(kind).is_none().then(|| format!("the nats provider has no kind {kind}"))
    }

    async fn import(
        &self,
        ctx: &OpContext,
        kind: &str,
        id: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let schema = self.kind_schema(kind)?;
        until_cancelled(ctx, async {
            let api = self.api().await?;
            match kind {
                "nats.stream" => stream::import(&api, schema, id).await,
                "nats.consumer" => consumer::import(&api, schema, id).await,
                _ => kv_bucket::import(&api, schema, id).await,
            }
        })
        .await
    }
}
