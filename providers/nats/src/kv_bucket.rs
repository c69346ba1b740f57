//! `nats.kv_bucket`: a key-value bucket is the stream `KV_<name>` on the
//! subjects `$KV.<name>.>`, made with the settings NATS clients give a
//! bucket (discard new, roll-ups allowed, deletes denied, direct get).
//! `history` is the stream's `max_msgs_per_subject`, `ttl` its `max_age`.
//! Updates change those fields of the server's configuration; a change of
//! `storage` replaces the bucket (see the provider's `plan`).

use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use serde_json::{Value as Json, json};

use super::{
    Api, api_error, check_name, check_positive_duration, check_range, duration_or_none,
    limit_or_none, nanos, text,
};
use orch_provider::ProviderError;
use orch_provider::object_fields::{Fields, object, with_defaults};

/// The default duplicate-detection window (2 minutes), in nanoseconds.
const DEFAULT_DUPLICATES_NS: i64 = 120_000_000_000;

fn stream_name(bucket: &str) -> String {
    format!("KV_{bucket}")
}

pub(super) fn validate(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    check_name(&mut problems, "name", config.text("name"), true);
    check_range(&mut problems, config, "history", 1, 64);
    check_positive_duration(&mut problems, config, "ttl");
    check_range(&mut problems, config, "max_bytes", 1, i64::MAX);
    problems
}

fn configure(base: &mut Json, config: Fields<'_>) -> Result<(), ProviderError> {
    let name = config.required_text("name")?;
    let ttl = config.duration("ttl").map_or(0, nanos);
    let Json::Object(map) = base else { return Ok(()) };
    map.insert("max_msgs_per_subject".into(), json!(config.int("history").unwrap_or(1)));
    map.insert("max_age".into(), json!(ttl));
    map.insert("max_bytes".into(), json!(config.int("max_bytes").unwrap_or(-1)));
    map.insert("storage".into(), json!(config.text("storage").unwrap_or("file".into())));
    map.entry("name").or_insert_with(|| json!(stream_name(&name)));
    let window = if ttl > 0 { ttl.min(DEFAULT_DUPLICATES_NS) } else { DEFAULT_DUPLICATES_NS };
    map.insert("duplicate_window".into(), json!(window));
    Ok(())
}

fn bucket_object(name: &str, server: &Json) -> Value {
    object(vec![
        ("name", Value::string(name)),
        (
            "history",
            Value::Int(server.get("max_msgs_per_subject").and_then(Json::as_i64).unwrap_or(1)),
        ),
        ("ttl", duration_or_none(server, "max_age")),
        ("max_bytes", limit_or_none(server, "max_bytes")),
        ("storage", Value::string(text(server, "storage"))),
    ])
}

pub(super) async fn read(api: &Api<'_>, prior: Fields<'_>) -> Result<Option<Value>, ProviderError> {
    let name = prior.required_text("name")?;
    Ok(api.stream_config(&stream_name(&name)).await?.map(|server| bucket_object(&name, &server)))
}

pub(super) async fn create(api: &Api<'_>, config: Fields<'_>) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    let action = format!("creating key-value bucket {name}");
    if api.stream_config(&stream_name(&name)).await?.is_some() {
        return Err(ProviderError::new(format!(
            "{action}: the bucket already exists; import it (an `import` block) to manage it"
        )));
    }
    let mut body = json!({
        "name": stream_name(&name),
        "subjects": [format!("$KV.{name}.>")],
        "retention": "limits",
        "discard": "new",
        "num_replicas": 1,
        "max_msgs": -1,
        "max_consumers": -1,
        "max_msg_size": -1,
        "allow_rollup_hdrs": true,
        "deny_delete": true,
        "deny_purge": false,
        "allow_direct": true,
        "mirror_direct": false,
    });
    configure(&mut body, config)?;
    let reply = api
        .request(&action, &format!("STREAM.CREATE.{}", stream_name(&name)), &body)
        .await
        .map_err(api_error)?;
    Ok(bucket_object(&name, reply.get("config").unwrap_or(&body)))
}

pub(super) async fn update(api: &Api<'_>, config: Fields<'_>) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    let action = format!("updating key-value bucket {name}");
    let mut body = api
        .stream_config(&stream_name(&name))
        .await?
        .ok_or_else(|| ProviderError::new(format!("{action}: it no longer exists")))?;
    configure(&mut body, config)?;
    let reply = api
        .request(&action, &format!("STREAM.UPDATE.{}", stream_name(&name)), &body)
        .await
        .map_err(api_error)?;
    Ok(bucket_object(&name, reply.get("config").unwrap_or(&body)))
}

pub(super) async fn delete(api: &Api<'_>, prior: Fields<'_>) -> Result<(), ProviderError> {
    let name = prior.required_text("name")?;
    api.request_opt(
        &format!("deleting key-value bucket {name}"),
        &format!("STREAM.DELETE.{}", stream_name(&name)),
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
