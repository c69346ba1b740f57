//! The `rabbitmq` provider: virtual hosts, users, permissions, exchanges,
//! queues, bindings and policies, with the semantics of Terraform's
//! RabbitMQ provider (cyrilgdn/rabbitmq), through the management HTTP API
//! (the `rabbitmq_management` plugin). `api` holds the HTTP client and the
//! error mapping, `password` the client-side password hashing, `objects`
//! what each kind sends and reads back; this module is the provider itself.
//!
//! Objects are named by their virtual host and name (a binding by its
//! source, destination and the `properties_key` the API gives it); `read`
//! finds them by that, so an object deleted by hand reads as gone, and one
//! changed by hand reads with the server's values, which plan as drift.
//! Exchanges, queues and bindings cannot be changed in place (RabbitMQ
//! refuses to declare them again with other properties), so every field of
//! theirs forces a replacement.
//!
//! Connection failures, timeouts and 5xx answers are transient; other
//! failures carry the server's `error` and `reason`.

mod api;
mod objects;
mod password;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use smol_str::SmolStr;

use orch_provider::{Change, OpContext, Planned, Provider, ProviderError, default_plan, field};

use api::{Api, Settings};

mod kinds;

use orch_provider::{Builtin, KindTable};

/// The `rabbitmq` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin =
    Builtin { name: "rabbitmq", kinds: &KINDS, new: || Box::new(RabbitMqProvider::default()) };

/// The kinds of the `rabbitmq` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

/// The `rabbitmq` provider. Configured by `provider rabbitmq { endpoint =
/// "http://127.0.0.1:15672", username = "…", password = "…" }`.
#[derive(Default)]
pub struct RabbitMqProvider {
    /// The API client from [`Provider::configure`], or why the settings are
    /// unusable (reported at first use, so that a configuration without
    /// RabbitMQ objects never needs the server). `None` until configured.
    api: Option<Result<Arc<Api>, String>>,
}

impl std::fmt::Debug for RabbitMqProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitMqProvider").finish_non_exhaustive()
    }
}

/// The kinds of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vhost,
    User,
    Permissions,
    Exchange,
    Queue,
    Binding,
    Policy,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "rabbitmq.vhost" => Kind::Vhost,
            "rabbitmq.user" => Kind::User,
            "rabbitmq.permissions" => Kind::Permissions,
            "rabbitmq.exchange" => Kind::Exchange,
            "rabbitmq.queue" => Kind::Queue,
            "rabbitmq.binding" => Kind::Binding,
            "rabbitmq.policy" => Kind::Policy,
            _ => return None,
        })
    }
}

/// What a policy may apply to (the last three from RabbitMQ 3.12 on).
const APPLY_TO: &[&str] =
    &["all", "exchanges", "queues", "classic_queues", "quorum_queues", "streams"];

/// Exchange, queue and binding names are AMQP short strings.
const MAX_NAME_BYTES: usize = 255;

impl RabbitMqProvider {
    fn api(&self) -> Result<Arc<Api>, ProviderError> {
        match &self.api {
            Some(Ok(api)) => Ok(api.clone()),
            Some(Err(message)) => Err(ProviderError::new(message.clone())),
            None => Settings::from_config(&Value::None)
                .map_err(ProviderError::new)
                .and_then(Api::new)
                .map(Arc::new),
        }
    }

    fn kind(&self, kind: &str) -> Result<(Kind, &'static KindSchema), ProviderError> {
        match (Kind::parse(kind), self.schema(kind)) {
            (Some(parsed), Some(schema)) => Ok((parsed, schema)),
            _ => Err(ProviderError::new(format!("the rabbitmq provider has no kind {kind}"))),
        }
    }
}

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
        self.get(name).reveal().0.as_str().map(str::to_string)
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
        match self.get(name).reveal().0 {
            Value::List(items) => {
                items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// A map field as a JSON object.
    fn json_map(&self, name: &str) -> Result<serde_json::Value, ProviderError> {
        match to_json(self.get(name)) {
            Ok(serde_json::Value::Null) => Ok(serde_json::Value::Object(Default::default())),
            Ok(json) => Ok(json),
            Err(problem) => {
                Err(ProviderError::new(format!("{}: `{name}` {problem}", self.schema.name)))
            }
        }
    }
}

/// Whether two lists of strings hold the same strings, in any order.
fn same_set(a: &Value, b: &Value) -> bool {
    let set = |value: &Value| -> Option<BTreeSet<String>> {
        match value.reveal().0 {
            Value::List(items) => {
                items.iter().map(|item| item.as_str().map(str::to_string)).collect()
            }
            _ => None,
        }
    };
    matches!((set(a), set(b)), (Some(a), Some(b)) if a == b)
}

fn object(entries: Vec<(&str, Value)>) -> Value {
    Value::map(entries.into_iter().map(|(name, value)| (SmolStr::new(name), value)).collect())
}

/// A value as JSON, for arguments and policy definitions.
fn to_json(value: &Value) -> Result<serde_json::Value, String> {
    Ok(match value {
        Value::None => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or_else(|| format!("holds the float {f}, which is not finite"))?,
        Value::String(text) => serde_json::Value::String(text.to_string()),
        Value::Duration(ms) => serde_json::Value::from(*ms),
        Value::List(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(key, item)| Ok((key.to_string(), to_json(item)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Secret(inner) => to_json(inner)?,
        Value::Unknown => return Err("is not known yet".to_string()),
    })
}

/// A JSON value from the server as an Orch value.
fn from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(number.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(text) => Value::string(text.as_str()),
        serde_json::Value::Array(items) => Value::list(items.iter().map(from_json).collect()),
        serde_json::Value::Object(entries) => Value::map(
            entries
                .iter()
                .map(|(key, item)| (SmolStr::new(key), from_json(item)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// Runs `work` unless the operation is cancelled first (a second Ctrl-C or
/// its `@timeout`); dropping the work drops its request.
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
impl Provider for RabbitMqProvider {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    async fn configure(&mut self, config: &Value) -> Result<(), ProviderError> {
        let api = Settings::from_config(config)
            .and_then(|settings| Api::new(settings).map_err(|error| error.message));
        self.api = Some(api.map(Arc::new));
        Ok(())
    }

    async fn probe(&self) -> Result<(), ProviderError> {
        self.api()?.whoami().await
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        let Ok((kind, schema)) = self.kind(kind) else { return Vec::new() };
        validate(kind, Fields { schema, value: config })
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let mut planned = default_plan(self.schema(kind), prior, config);
        // A user's tags are a set: another order is no change.
        if kind == "rabbitmq.user"
            && let Some(prior) = prior
            && let Value::Map(entries) = &planned.value
            && same_set(field(prior, "tags"), field(config, "tags"))
        {
            let mut entries = entries.to_map();
            entries.insert("tags".into(), field(prior, "tags").clone());
            planned.value = Value::map(entries);
        }
        planned
    }

    async fn read(
        &self,
        ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        let (kind, schema) = self.kind(kind)?;
        let api = self.api()?;
        until_cancelled(ctx, objects::read(&api, kind, Fields { schema, value: prior })).await
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let (kind, schema) = self.kind(kind)?;
        let api = self.api()?;
        let fields = |value| Fields { schema, value };
        until_cancelled(ctx, async {
            match change {
                Change::Create { config } => {
                    objects::write(&api, kind, None, fields(config)).await.map(Some)
                }
                Change::Update { prior, config } => {
                    objects::write(&api, kind, Some(fields(prior)), fields(config)).await.map(Some)
                }
                Change::Delete { prior } => {
                    objects::delete(&api, kind, fields(prior)).await.map(|()| None)
                }
            }
        })
        .await
    }

    fn import_refusal(&self, kind: &str) -> Option<String> {
        // Every kind of this provider is looked up by its id.
        self.schema(kind).is_none().then(|| format!("the rabbitmq provider has no kind {kind}"))
    }

    async fn import(
        &self,
        ctx: &OpContext,
        kind: &str,
        id: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let (kind, schema) = self.kind(kind)?;
        let mut entries: BTreeMap<SmolStr, Value> = schema
            .inputs()
            .filter_map(|f| Some((SmolStr::new(f.name), f.default.clone()?)))
            .collect();
        for (name, value) in objects::parse_id(kind, id)? {
            entries.insert(name.into(), Value::string(value));
        }
        self.read(ctx, schema.name, &Value::map(entries)).await
    }

    fn create_is_idempotent(&self, _kind: &str) -> bool {
        // Every write is a PUT of the whole object, or (a binding) a POST
        // that binds nothing new when the binding exists.
        true
    }
}

// ---------------------------------------------------------------------------
// Validation.

fn validate(kind: Kind, config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut name = |field_name: &str, limit: bool| {
        let Some(value) = config.text(field_name) else { return };
        if value.is_empty() {
            problems.push(format!("`{field_name}` must not be empty"));
        } else if limit && value.len() > MAX_NAME_BYTES {
            problems.push(format!(
                "`{field_name}` is {} bytes long, but RabbitMQ names are at most \
                 {MAX_NAME_BYTES} bytes",
                value.len()
            ));
        }
    };
    match kind {
        Kind::Vhost => name("name", false),
        Kind::User => name("name", false),
        Kind::Permissions => {
            name("user", false);
            name("vhost", false);
        }
        Kind::Exchange | Kind::Queue => {
            name("name", true);
            name("vhost", false);
        }
        Kind::Binding => {
            name("source", true);
            name("destination", true);
            name("vhost", false);
        }
        Kind::Policy => {
            name("name", false);
            name("vhost", false);
            name("pattern", false);
        }
    }
    if kind == Kind::User
        && let Some(password) = config.text("password")
    {
        if password.is_empty() {
            problems.push("`password` must not be empty".to_string());
        } else if password.contains('\0') {
            problems.push("`password` must not contain a NUL character".to_string());
        }
    }
    let one_of = |problems: &mut Vec<String>, field_name: &str, allowed: &[&str]| {
        let value = config.get(field_name);
        if let Some(text) = value.as_str()
            && !allowed.contains(&text)
        {
            let allowed: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
            problems.push(format!(
                "`{field_name}` must be one of {}, not \"{text}\"",
                allowed.join(", ")
            ));
        }
    };
    match kind {
        Kind::Binding => one_of(&mut problems, "destination_type", &["queue", "exchange"]),
        Kind::Policy => one_of(&mut problems, "apply_to", APPLY_TO),
        _ => {}
    }
    if matches!(kind, Kind::Exchange | Kind::Queue)
        && config.text("name").is_some_and(|name| name.starts_with("amq."))
    {
        problems
            .push("`name` must not start with `amq.`: RabbitMQ reserves those names".to_string());
    }
    problems
}
