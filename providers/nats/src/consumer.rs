//! `nats.consumer`: a durable pull consumer, `CONSUMER.DURABLE.CREATE`
//! (which also updates the fields JetStream lets change), `CONSUMER.INFO`
//! and `CONSUMER.DELETE`. An update sends the server's configuration with
//! the managed fields changed. `ack_wait` left out is the server's default
//! (30 s), and reads back as none while the server has that default.

use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use serde_json::{Value as Json, json};

use super::{
    Api, CONSUMER_NOT_FOUND, STREAM_NOT_FOUND, api_error, check_name, check_positive_duration,
    check_range, limit_or_none, nanos, text,
};
use orch_provider::ProviderError;
use orch_provider::object_fields::{Fields, object, with_defaults};

/// JetStream's default `ack_wait`, in milliseconds.
const DEFAULT_ACK_WAIT_MS: i64 = 30_000;

pub(super) fn validate(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    check_name(&mut problems, "stream", config.text("stream"), false);
    check_name(&mut problems, "durable", config.text("durable"), false);
    if config
        .text("filter_subject")
        .is_some_and(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        problems.push("`filter_subject` must be a subject without spaces".to_string());
    }
    check_range(&mut problems, config, "max_deliver", 1, i64::MAX);
    check_positive_duration(&mut problems, config, "ack_wait");
    problems
}

/// The consumer's configuration, or `None` when it (or its stream) is gone.
async fn consumer_config(
    api: &Api<'_>,
    stream: &str,
    durable: &str,
) -> Result<Option<Json>, ProviderError> {
    let action = format!("reading consumer {durable} of stream {stream}");
    let subject = format!("CONSUMER.INFO.{stream}.{durable}");
    match api.request(&action, &subject, &json!({})).await {
        Ok(mut reply) => Ok(reply.get_mut("config").map(Json::take)),
        Err(err) if err.code == CONSUMER_NOT_FOUND || err.code == STREAM_NOT_FOUND => Ok(None),
        Err(err) => Err(err.error),
    }
}

fn configure(base: &mut Json, config: Fields<'_>) -> Result<(), ProviderError> {
    let durable = config.required_text("durable")?;
    let Json::Object(map) = base else { return Ok(()) };
    map.insert("durable_name".into(), json!(durable));
    map.insert("ack_policy".into(), json!(config.text("ack_policy").unwrap_or("explicit".into())));
    map.insert(
        "deliver_policy".into(),
        json!(config.text("deliver_policy").unwrap_or("all".into())),
    );
    match config.text("filter_subject") {
        Some(subject) => map.insert("filter_subject".into(), json!(subject)),
        None => map.remove("filter_subject"),
    };
    map.insert("max_deliver".into(), json!(config.int("max_deliver").unwrap_or(-1)));
    map.insert(
        "ack_wait".into(),
        json!(nanos(config.duration("ack_wait").unwrap_or(DEFAULT_ACK_WAIT_MS))),
    );
    Ok(())
}

fn consumer_object(stream: &str, server: &Json, like: Fields<'_>) -> Value {
    let filter = text(server, "filter_subject");
    let ack_wait = match server.get("ack_wait").and_then(Json::as_i64) {
        Some(ns) if like.duration("ack_wait").is_none() && ns == nanos(DEFAULT_ACK_WAIT_MS) => {
            Value::None
        }
        Some(ns) if ns > 0 => Value::Duration(ns / super::NS_PER_MS),
        _ => Value::None,
    };
    object(vec![
        ("stream", Value::string(stream)),
        ("durable", Value::string(text(server, "durable_name"))),
        ("filter_subject", if filter.is_empty() { Value::None } else { Value::string(filter) }),
        ("ack_policy", Value::string(text(server, "ack_policy"))),
        ("deliver_policy", Value::string(text(server, "deliver_policy"))),
        ("max_deliver", limit_or_none(server, "max_deliver")),
        ("ack_wait", ack_wait),
    ])
}

pub(super) async fn read(api: &Api<'_>, prior: Fields<'_>) -> Result<Option<Value>, ProviderError> {
    let stream = prior.required_text("stream")?;
    let durable = prior.required_text("durable")?;
    Ok(consumer_config(api, &stream, &durable)
        .await?
        .map(|server| consumer_object(&stream, &server, prior)))
}

async fn put(
    api: &Api<'_>,
    config: Fields<'_>,
    mut body: Json,
    action: &str,
) -> Result<Value, ProviderError> {
    let stream = config.required_text("stream")?;
    let durable = config.required_text("durable")?;
    configure(&mut body, config)?;
    let request = json!({ "stream_name": stream, "config": body });
    let reply = api
        .request(action, &format!("CONSUMER.DURABLE.CREATE.{stream}.{durable}"), &request)
        .await
        .map_err(api_error)?;
    Ok(consumer_object(&stream, reply.get("config").unwrap_or(&body), config))
}

pub(super) async fn create(api: &Api<'_>, config: Fields<'_>) -> Result<Value, ProviderError> {
    let stream = config.required_text("stream")?;
    let durable = config.required_text("durable")?;
    let action = format!("creating consumer {durable} of stream {stream}");
    if consumer_config(api, &stream, &durable).await?.is_some() {
        return Err(ProviderError::new(format!(
            "{action}: the consumer already exists; import it (an `import` block) to manage it"
        )));
    }
    put(api, config, json!({}), &action).await
}

pub(super) async fn update(api: &Api<'_>, config: Fields<'_>) -> Result<Value, ProviderError> {
    let stream = config.required_text("stream")?;
    let durable = config.required_text("durable")?;
    let action = format!("updating consumer {durable} of stream {stream}");
    let current = consumer_config(api, &stream, &durable)
        .await?
        .ok_or_else(|| ProviderError::new(format!("{action}: it no longer exists")))?;
    put(api, config, current, &action).await
}

pub(super) async fn delete(api: &Api<'_>, prior: Fields<'_>) -> Result<(), ProviderError> {
    let stream = prior.required_text("stream")?;
    let durable = prior.required_text("durable")?;
    let action = format!("deleting consumer {durable} of stream {stream}");
    match api.request(&action, &format!("CONSUMER.DELETE.{stream}.{durable}"), &json!({})).await {
        Ok(_) => Ok(()),
        Err(err) if err.code == CONSUMER_NOT_FOUND || err.code == STREAM_NOT_FOUND => Ok(()),
        Err(err) => Err(err.error),
    }
}

pub(super) async fn import(
    api: &Api<'_>,
    schema: &'static KindSchema,
    id: &str,
) -> Result<Option<Value>, ProviderError> {
    let Some((stream, durable)) =
        id.split_once('/').filter(|(s, d)| !s.is_empty() && !d.is_empty())
    else {
        return Err(ProviderError::new(format!(
            "nats.consumer is imported as `STREAM/DURABLE`, not `{id}`"
        )));
    };
    let prior = with_defaults(
        schema,
        vec![("stream", Value::string(stream)), ("durable", Value::string(durable))],
    );
    read(api, Fields::new(schema, &prior)).await
}
