//! `redis.config`: one parameter, `CONFIG SET` and `CONFIG GET`. Redis
//! rewrites some values (`100mb` reads back as `104857600`), so the value it
//! reports after the set is recorded (`effective_value`): a read that finds
//! it still there gives back the configured `value`, and anything else shows
//! as drift. The value found before the first set is recorded
//! (`original_value`) and set again on delete.

use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;

use super::{Connection, pairs_of, text_of};
use orch_provider::ProviderError;
use orch_provider::object_fields::{Fields, object};

/// The parameter's value as `CONFIG GET` reports it, or `None` when the
/// server has no such parameter.
async fn get(c: &mut Connection, parameter: &str) -> Result<Option<String>, ProviderError> {
    let reply: redis::Value = c
        .query(
            &format!("reading configuration parameter {parameter}"),
            redis::cmd("CONFIG").arg("GET").arg(parameter),
        )
        .await?;
    Ok(pairs_of(&reply)
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(parameter))
        .and_then(|(_, value)| text_of(value)))
}

async fn set(
    c: &mut Connection,
    parameter: &str,
    value: &str,
    action: &str,
) -> Result<String, ProviderError> {
    c.query::<()>(action, redis::cmd("CONFIG").arg("SET").arg(parameter).arg(value)).await?;
    get(c, parameter).await?.ok_or_else(|| {
        ProviderError::new(format!("{action}: the server no longer reports the parameter"))
    })
}

pub(super) fn validate(config: Fields<'_>) -> Vec<String> {
    match config.text("parameter") {
        Some(parameter)
            if parameter.is_empty()
                || parameter.contains(['*', '?', '['])
                || parameter.chars().any(char::is_whitespace) =>
        {
            vec![format!(
                "`parameter` must name one configuration parameter (no spaces or glob \
                 patterns), not `{parameter}`"
            )]
        }
        _ => Vec::new(),
    }
}

pub(super) async fn read(
    c: &mut Connection,
    prior: Fields<'_>,
) -> Result<Option<Value>, ProviderError> {
    let parameter = prior.required_text("parameter")?;
    let Some(current) = get(c, &parameter).await? else { return Ok(None) };
    let value = match (prior.text("value"), prior.text("effective_value")) {
        (Some(value), Some(effective)) if effective == current => value,
        _ => current.clone(),
    };
    Ok(Some(object(vec![
        ("parameter", Value::string(parameter)),
        ("value", Value::string(value)),
        ("effective_value", Value::string(current)),
        ("original_value", prior.get("original_value").clone()),
    ])))
}

pub(super) async fn create(c: &mut Connection, config: Fields<'_>) -> Result<Value, ProviderError> {
    let parameter = config.required_text("parameter")?;
    let value = config.required_text("value")?;
    let action = format!("setting configuration parameter {parameter}");
    let original = get(c, &parameter).await?.ok_or_else(|| {
        ProviderError::new(format!(
            "{action}: the server has no parameter {parameter} (CONFIG GET finds none)"
        ))
    })?;
    let effective = set(c, &parameter, &value, &action).await?;
    Ok(object(vec![
        ("parameter", Value::string(parameter)),
        ("value", Value::string(value)),
        ("effective_value", Value::string(effective)),
        ("original_value", Value::string(original)),
    ]))
}

pub(super) async fn update(
    c: &mut Connection,
    prior: Fields<'_>,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    let parameter = config.required_text("parameter")?;
    let value = config.required_text("value")?;
    let action = format!("setting configuration parameter {parameter}");
    let effective = set(c, &parameter, &value, &action).await?;
    Ok(object(vec![
        ("parameter", Value::string(parameter)),
        ("value", Value::string(value)),
        ("effective_value", Value::string(effective)),
        ("original_value", prior.get("original_value").clone()),
    ]))
}

pub(super) async fn delete(c: &mut Connection, prior: Fields<'_>) -> Result<(), ProviderError> {
    let parameter = prior.required_text("parameter")?;
    let Some(original) = prior.text("original_value") else { return Ok(()) };
    let action = format!("restoring configuration parameter {parameter} to its original value");
    set(c, &parameter, &original, &action).await.map(drop)
}

pub(super) async fn import(
    c: &mut Connection,
    _schema: &'static KindSchema,
    id: &str,
) -> Result<Option<Value>, ProviderError> {
    // Adopted as it is: that value is also what deleting restores.
    Ok(get(c, id).await?.map(|current| {
        object(vec![
            ("parameter", Value::string(id)),
            ("value", Value::string(current.as_str())),
            ("effective_value", Value::string(current.as_str())),
            ("original_value", Value::string(current)),
        ])
    }))
}
