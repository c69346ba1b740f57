//! `redis.stream_group`: `XGROUP CREATE STREAM GROUP START_ID [MKSTREAM]`,
//! read back with `XINFO GROUPS`, moved with `XGROUP SETID` when `start_id`
//! changes, deleted with `XGROUP DESTROY`. The group's position moves as
//! consumers read, so `start_id` is not compared with it; a group deleted
//! by hand (or its stream) reads as gone. Deleting a group leaves its
//! stream, which holds data, even when `mkstream` created it.

use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;

use super::{Connection, pairs_of, text_of};
use orch_provider::ProviderError;
use orch_provider::object_fields::{Fields, object, with_defaults};

/// Whether `stream` holds a stream (not another type, not nothing).
async fn stream_exists(c: &mut Connection, stream: &str) -> Result<bool, ProviderError> {
    let kind: String =
        c.query(&format!("reading stream {stream}"), redis::cmd("TYPE").arg(stream)).await?;
    Ok(kind == "stream")
}

async fn group_exists(
    c: &mut Connection,
    stream: &str,
    group: &str,
) -> Result<bool, ProviderError> {
    if !stream_exists(c, stream).await? {
        return Ok(false);
    }
    let reply: redis::Value = c
        .query(
            &format!("reading the groups of stream {stream}"),
            redis::cmd("XINFO").arg("GROUPS").arg(stream),
        )
        .await?;
    let groups = match &reply {
        redis::Value::Array(items) | redis::Value::Set(items) => items.as_slice(),
        _ => &[],
    };
    Ok(groups.iter().any(|info| {
        pairs_of(info)
            .into_iter()
            .any(|(key, value)| key == "name" && text_of(value).as_deref() == Some(group))
    }))
}

fn group_object(stream: &str, group: &str, like: Fields<'_>) -> Value {
    object(vec![
        ("stream", Value::string(stream)),
        ("group", Value::string(group)),
        ("start_id", Value::string(like.text("start_id").unwrap_or_else(|| "$".to_string()))),
        ("mkstream", Value::Bool(like.flag("mkstream").unwrap_or(true))),
    ])
}

pub(super) fn validate(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    for name in ["stream", "group", "start_id"] {
        if config.text(name).is_some_and(|text| text.is_empty()) {
            problems.push(format!("`{name}` must not be empty"));
        }
    }
    if let Some(start) = config.text("start_id")
        && !start.is_empty()
        && start != "$"
        && !is_stream_id(&start)
    {
        problems.push(format!(
            "`start_id` must be `$` (new entries), `0` (the whole stream) or an entry ID such \
             as `1700000000000-0`, not `{start}`"
        ));
    }
    problems
}

/// `MS` or `MS-SEQ`, both decimal.
fn is_stream_id(id: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    match id.split_once('-') {
        Some((ms, seq)) => digits(ms) && digits(seq),
        None => digits(id),
    }
}

pub(super) async fn read(
    c: &mut Connection,
    prior: Fields<'_>,
) -> Result<Option<Value>, ProviderError> {
    let stream = prior.required_text("stream")?;
    let group = prior.required_text("group")?;
    Ok(group_exists(c, &stream, &group).await?.then(|| group_object(&stream, &group, prior)))
}

pub(super) async fn create(c: &mut Connection, config: Fields<'_>) -> Result<Value, ProviderError> {
    let stream = config.required_text("stream")?;
    let group = config.required_text("group")?;
    let start = config.required_text("start_id")?;
    let mut command = redis::cmd("XGROUP");
    command.arg("CREATE").arg(&stream).arg(&group).arg(&start);
    if config.flag("mkstream").unwrap_or(true) {
        command.arg("MKSTREAM");
    }
    c.query::<()>(&format!("creating group {group} of stream {stream}"), &command).await?;
    Ok(group_object(&stream, &group, config))
}

pub(super) async fn update(
    c: &mut Connection,
    prior: Fields<'_>,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    let stream = config.required_text("stream")?;
    let group = config.required_text("group")?;
    let start = config.required_text("start_id")?;
    if prior.text("start_id").as_deref() != Some(start.as_str()) {
        c.query::<()>(
            &format!("moving group {group} of stream {stream} to {start}"),
            redis::cmd("XGROUP").arg("SETID").arg(&stream).arg(&group).arg(&start),
        )
        .await?;
    }
    Ok(group_object(&stream, &group, config))
}

pub(super) async fn delete(c: &mut Connection, prior: Fields<'_>) -> Result<(), ProviderError> {
    let stream = prior.required_text("stream")?;
    let group = prior.required_text("group")?;
    if !stream_exists(c, &stream).await? {
        return Ok(());
    }
    c.query::<i64>(
        &format!("deleting group {group} of stream {stream}"),
        redis::cmd("XGROUP").arg("DESTROY").arg(&stream).arg(&group),
    )
    .await
    .map(drop)
}

pub(super) async fn import(
    c: &mut Connection,
    schema: &'static KindSchema,
    id: &str,
) -> Result<Option<Value>, ProviderError> {
    let Some((stream, group)) = id.rsplit_once('/').filter(|(s, g)| !s.is_empty() && !g.is_empty())
    else {
        return Err(ProviderError::new(format!(
            "redis.stream_group is imported as `STREAM/GROUP`, not `{id}`"
        )));
    };
    let prior = with_defaults(
        schema,
        vec![("stream", Value::string(stream)), ("group", Value::string(group))],
    );
    read(c, Fields::new(schema, &prior)).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn stream_ids() {
        assert!(super::is_stream_id("0"));
        assert!(super::is_stream_id("1700000000000-3"));
        assert!(!super::is_stream_id("1-"));
        assert!(!super::is_stream_id("abc"));
    }
}
