//! `nats.stream`: `STREAM.CREATE`, `STREAM.INFO`, `STREAM.UPDATE` (the
//! server's configuration with the managed fields changed) and
//! `STREAM.DELETE`. Limits left out read back as none when the server has
//! no limit (`-1`, or 0 for `max_age`).

use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use serde_json::{Value as Json, json};

use super::{
    Api, api_error, check_name, check_positive_duration, check_range, duration_or_none,
    limit_or_none, nanos, text,
};
use orch_provider::ProviderError;
use orch_provider::object_fields::{Fields, object, ordered_like, strings, with_defaults};

/// The default duplicate-detection window (2 minutes), in nanoseconds.
const DEFAULT_DUPLICATES_NS: i64 = 120_000_000_000;

pub(super) fn validate(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    check_name(&mut problems, "name", config.text("name"), false);
    if matches!(config.get("subjects"), Value::List(items) if items.is_empty()) {
        problems.push("`subjects` must name at least one subject".to_string());
    }
    for subject in config.texts("subjects") {
        if subject.is_empty() || subject.chars().any(char::is_whitespace) {
            problems
                .push(format!("`subjects` must not hold empty subjects or spaces: `{subject}`"));
        }
    }
    check_positive_duration(&mut problems, config, "max_age");
    check_range(&mut problems, config, "max_bytes", 1, i64::MAX);
    check_range(&mut problems, config, "max_msgs", 1, i64::MAX);
    check_range(&mut problems, config, "replicas", 1, 5);
    problems
}

/// The managed fields of `config` written into the stream configuration
/// `base`.
fn configure(base: &mut Json, config: Fields<'_>) -> Result<(), ProviderError> {
    let name = config.required_text("name")?;
    let max_age = config.duration("max_age").map_or(0, nanos);
    let entries = [
        ("name", json!(name)),
        ("subjects", json!(config.texts("subjects"))),
        ("storage", json!(config.text("storage").unwrap_or_else(|| "file".into()))),
        ("retention", json!(config.text("retention").unwrap_or_else(|| "limits".into()))),
        ("max_age", json!(max_age)),
        ("max_bytes", json!(config.int("max_bytes").unwrap_or(-1))),
        ("max_msgs", json!(config.int("max_msgs").unwrap_or(-1))),
        ("num_replicas", json!(config.int("replicas").unwrap_or(1))),
        ("discard", json!(config.text("discard").unwrap_or_else(|| "old".into()))),
    ];
    let Json::Object(map) = base else { return Ok(()) };
    for (key, value) in entries {
        map.insert(key.to_string(), value);
    }
    // The duplicate window may not exceed the age limit.
    let window = map.get("duplicate_window").and_then(Json::as_i64).unwrap_or(0);
    if max_age > 0 && (window == 0 || window > max_age) {
        map.insert("duplicate_window".to_string(), json!(max_age.min(DEFAULT_DUPLICATES_NS)));
    }
    Ok(())
}

fn stream_object(server: &Json, like: Fields<'_>) -> Value {
    let subjects: Vec<String> = server
        .get("subjects")
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    object(vec![
        ("name", Value::string(text(server, "name"))),
        ("subjects", strings(&ordered_like(subjects, &like.texts("subjects")))),
        ("storage", Value::string(text(server, "storage"))),
        ("retention", Value::string(text(server, "retention"))),
        ("max_age", duration_or_none(server, "max_age")),
        ("max_bytes", limit_or_none(server, "max_bytes")),
        ("max_msgs", limit_or_none(server, "max_msgs")),
        ("replicas", Value::Int(server.get("num_replicas").and_then(Json::as_i64).unwrap_or(1))),
        ("discard", Value::string(text(server, "discard"))),
    ])
}

pub(super) async fn read(api: &Api<'_>, prior: Fields<'_>) -> Result<Option<Value>, ProviderError> {
    let name = prior.required_text("name")?;
    Ok(api.stream_config(&name).await?.map(|server| stream_object(&server, prior)))
}

pub(super) async fn create(api: &Api<'_>, config: Fields<'_>) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    let action = format!("creating stream {name}");
    if api.stream_config(&name).await?.is_some() {
        return Err(ProviderError::new(format!(
            "{action}: the stream already exists; import it (an `import` block) to manage it"
        )));
    }
    let mut body = json!({});
    configure(&mut body, config)?;
    let reply =
        api.request(&action, &format!("STREAM.CREATE.{name}"), &body).await.map_err(api_error)?;
    Ok(stream_object(reply.get("config").unwrap_or(&body), config))
}

pub(super) async fn update(api: &Api<'_>, config: Fields<'_>) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    let action = format!("updating stream {name}");
    let mut body = api
        .stream_config(&name)
        .await?
        .ok_or_else(|| ProviderError::new(format!("{action}: it no longer exists")))?;
    configure(&mut body, config)?;
    let reply =
        api.request(&action, &format!("STREAM.UPDATE.{name}"), &body).await.map_err(api_error)?;
    Ok(stream_object(reply.get("config").unwrap_or(&body), config))
}

pub(super) async fn delete(api: &Api<'_>, prior: Fields<'_>) -> Result<(), ProviderError> {
    let name = prior.required_text("name")?;
    api.request_opt(
        &format!("deleting stream {name}"),
        &format!("STREAM.DELETE.{name}"),
        super::STREAM_NOT_FOUND,
    )
    .await
    .map(drop)
}

pub(super) async fn import(
    api: &Api<'_>,
    schema: &'static KindSchema,
    id: &str,
) -> Result<Option<Value>, ProviderError> {
    let prior = with_defaults(schema, vec![("name", Value::string(id))]);
    read(api, Fields::new(schema, &prior)).await
}
