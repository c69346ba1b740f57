//! What each kind sends to the management API, and what it reads back.

use std::collections::BTreeSet;

use orch_stdlib::Value;
use reqwest::Method;
use serde_json::json;

use super::api::Api;
use super::{Fields, Kind, from_json, object, password};
use orch_provider::ProviderError;

/// The value recorded for a user's password when the server's hash shows
/// that it was changed outside Orch: it differs from every valid password
/// (they have no NUL character), so the plan sets the configured one again.
const CHANGED_PASSWORD: &str = "\0changed outside Orch";

/// A binding's destination, as the API's paths write it.
fn destination_letter(destination_type: &str) -> &'static str {
    if destination_type == "exchange" { "e" } else { "q" }
}

/// A description of the object for messages: `queue jobs in vhost /`.
fn describe(kind: Kind, fields: Fields<'_>) -> String {
    let text = |name| fields.text(name).unwrap_or_default();
    match kind {
        Kind::Vhost => format!("vhost {}", text("name")),
        Kind::User => format!("user {}", text("name")),
        Kind::Permissions => {
            format!("the permissions of user {} in vhost {}", text("user"), text("vhost"))
        }
        Kind::Exchange => format!("exchange {} in vhost {}", text("name"), text("vhost")),
        Kind::Queue => format!("queue {} in vhost {}", text("name"), text("vhost")),
        Kind::Binding => format!(
            "the binding of exchange {} to {} {} in vhost {}",
            text("source"),
            text("destination_type"),
            text("destination"),
            text("vhost")
        ),
        Kind::Policy => format!("policy {} in vhost {}", text("name"), text("vhost")),
    }
}

/// The API path of the object (for a binding, of the bindings between its
/// source and destination).
fn path(kind: Kind, fields: Fields<'_>) -> Result<Vec<String>, ProviderError> {
    let text = |name| fields.required_text(name);
    Ok(match kind {
        Kind::Vhost => vec!["vhosts".into(), text("name")?],
        Kind::User => vec!["users".into(), text("name")?],
        Kind::Permissions => vec!["permissions".into(), text("vhost")?, text("user")?],
        Kind::Exchange => vec!["exchanges".into(), text("vhost")?, text("name")?],
        Kind::Queue => vec!["queues".into(), text("vhost")?, text("name")?],
        Kind::Policy => vec!["policies".into(), text("vhost")?, text("name")?],
        Kind::Binding => vec![
            "bindings".into(),
            text("vhost")?,
            "e".into(),
            text("source")?,
            destination_letter(&text("destination_type")?).into(),
            text("destination")?,
        ],
    })
}

fn segments(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

/// The object as it is on the server, or `None` when it is gone.
pub(super) async fn read(
    api: &Api,
    kind: Kind,
    prior: Fields<'_>,
) -> Result<Option<Value>, ProviderError> {
    let path = path(kind, prior)?;
    let action = format!("reading {}", describe(kind, prior));
    let Some(json) = api.get(&segments(&path), &action).await? else { return Ok(None) };
    let text = |name: &str| Value::string(json.get(name).and_then(|v| v.as_str()).unwrap_or(""));
    let flag = |name: &str| Value::Bool(json.get(name).and_then(|v| v.as_bool()).unwrap_or(false));
    let map = |name: &str| match json.get(name).map(from_json) {
        Some(value @ Value::Map(_)) => value,
        _ => Value::map(Default::default()),
    };
    let keep = |name: &str| prior.get(name).clone();
    Ok(Some(match kind {
        Kind::Vhost => object(vec![("name", text("name"))]),
        Kind::User => object(vec![
            ("name", text("name")),
            ("password", read_password(prior, &json)),
            ("tags", read_tags(prior, &json)),
        ]),
        Kind::Permissions => object(vec![
            ("user", keep("user")),
            ("vhost", keep("vhost")),
            ("configure", text("configure")),
            ("write", text("write")),
            ("read", text("read")),
        ]),
        Kind::Exchange => object(vec![
            ("name", keep("name")),
            ("vhost", keep("vhost")),
            ("type", text("type")),
            ("durable", flag("durable")),
            ("auto_delete", flag("auto_delete")),
            ("arguments", map("arguments")),
        ]),
        Kind::Queue => object(vec![
            ("name", keep("name")),
            ("vhost", keep("vhost")),
            ("durable", flag("durable")),
            ("auto_delete", flag("auto_delete")),
            ("arguments", map("arguments")),
        ]),
        Kind::Policy => object(vec![
            ("name", keep("name")),
            ("vhost", keep("vhost")),
            ("pattern", text("pattern")),
            ("apply_to", text("apply-to")),
            ("priority", Value::Int(json.get("priority").and_then(|v| v.as_i64()).unwrap_or(0))),
            ("definition", map("definition")),
        ]),
        Kind::Binding => {
            let Some(found) = find_binding(&json, prior)? else { return Ok(None) };
            binding_object(prior, found)
        }
    }))
}

/// The recorded password when the server's hash is a hash of it (or when
/// that cannot be told), a value that plans a change when it is not.
fn read_password(prior: Fields<'_>, json: &serde_json::Value) -> Value {
    let recorded = prior.get("password");
    let Some(known) = recorded.reveal().0.as_str() else { return recorded.clone() };
    let algorithm = json.get("hashing_algorithm").and_then(|v| v.as_str()).unwrap_or("");
    let stored = json.get("password_hash").and_then(|v| v.as_str()).unwrap_or("");
    match password::matches(algorithm, stored, known) {
        Some(false) => Value::secret(Value::string(CHANGED_PASSWORD)),
        Some(true) | None => Value::secret(Value::string(known)),
    }
}

/// The user's tags: a list (RabbitMQ 3.9 and later) or a comma-separated
/// string; in the recorded order when they are the same set.
fn read_tags(prior: Fields<'_>, json: &serde_json::Value) -> Value {
    let tags: Vec<String> = match json.get("tags") {
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect()
        }
        Some(serde_json::Value::String(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let recorded = prior.texts("tags");
    let same = tags.iter().collect::<BTreeSet<_>>() == recorded.iter().collect::<BTreeSet<_>>();
    let tags = if same { recorded } else { tags };
    Value::list(tags.into_iter().map(Value::string).collect())
}

/// The binding among those listed (between the same source and
/// destination) that `prior` names: by its `properties_key`, or, when that
/// is not known yet, by its routing key and arguments.
fn find_binding<'j>(
    list: &'j serde_json::Value,
    prior: Fields<'_>,
) -> Result<Option<&'j serde_json::Value>, ProviderError> {
    let Some(items) = list.as_array() else { return Ok(None) };
    if let Some(key) = prior.text("properties_key") {
        return Ok(items
            .iter()
            .find(|item| item.get("properties_key").and_then(|k| k.as_str()) == Some(&key)));
    }
    let routing_key = prior.text("routing_key").unwrap_or_default();
    let arguments = from_json(&prior.json_map("arguments")?);
    Ok(items.iter().find(|item| {
        item.get("routing_key").and_then(|k| k.as_str()) == Some(routing_key.as_str())
            && from_json(item.get("arguments").unwrap_or(&json!({}))) == arguments
    }))
}

fn binding_object(prior: Fields<'_>, found: &serde_json::Value) -> Value {
    let arguments = match from_json(found.get("arguments").unwrap_or(&json!({}))) {
        value @ Value::Map(_) => value,
        _ => Value::map(Default::default()),
    };
    object(vec![
        ("source", prior.get("source").clone()),
        ("destination", prior.get("destination").clone()),
        ("destination_type", prior.get("destination_type").clone()),
        ("vhost", prior.get("vhost").clone()),
        (
            "routing_key",
            Value::string(found.get("routing_key").and_then(|k| k.as_str()).unwrap_or("")),
        ),
        ("arguments", arguments),
        (
            "properties_key",
            Value::string(found.get("properties_key").and_then(|k| k.as_str()).unwrap_or("")),
        ),
    ])
}

/// Creates the object of `config`, or brings `prior` to it; returns the
/// object as it now is.
pub(super) async fn write(
    api: &Api,
    kind: Kind,
    prior: Option<Fields<'_>>,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    let path = path(kind, config)?;
    let verb = if prior.is_some() { "updating" } else { "creating" };
    let action = format!("{verb} {}", describe(kind, config));
    let body = match kind {
        Kind::Vhost => json!({}),
        Kind::User => {
            let password = config.required_text("password")?;
            json!({
                "password_hash": password::hash(&password),
                "hashing_algorithm": password::ALGORITHM,
                "tags": config.texts("tags").join(","),
            })
        }
        Kind::Permissions => json!({
            "configure": config.required_text("configure")?,
            "write": config.required_text("write")?,
            "read": config.required_text("read")?,
        }),
        Kind::Exchange => json!({
            "type": config.required_text("type")?,
            "durable": config.flag("durable"),
            "auto_delete": config.flag("auto_delete"),
            "internal": false,
            "arguments": config.json_map("arguments")?,
        }),
        Kind::Queue => json!({
            "durable": config.flag("durable"),
            "auto_delete": config.flag("auto_delete"),
            "arguments": config.json_map("arguments")?,
        }),
        Kind::Policy => json!({
            "pattern": config.required_text("pattern")?,
            "apply-to": config.required_text("apply_to")?,
            "priority": config.get("priority").as_int().unwrap_or(0),
            "definition": config.json_map("definition")?,
        }),
        Kind::Binding => {
            if prior.is_some() {
                return Err(ProviderError::new(format!(
                    "{action}: a binding cannot be changed in place; it is replaced"
                )));
            }
            json!({
                "routing_key": config.required_text("routing_key")?,
                "arguments": config.json_map("arguments")?,
            })
        }
    };
    let method = if kind == Kind::Binding { Method::POST } else { Method::PUT };
    api.send(method, &segments(&path), &body, &action).await?;
    let mut entries: Vec<(&str, Value)> = config
        .schema
        .inputs()
        .map(|input| {
            let value = config.get(input.name).clone();
            let value = if input.sensitive { Value::secret(value.reveal_all()) } else { value };
            (input.name, value)
        })
        .collect();
    if kind == Kind::Binding {
        // The key the server gave the new binding.
        let reading = format!("reading back {}", describe(kind, config));
        let found = api.get(&segments(&path), &reading).await?;
        let key = found
            .as_ref()
            .and_then(|list| find_binding(list, config).ok().flatten())
            .and_then(|item| item.get("properties_key")?.as_str().map(str::to_string))
            .ok_or_else(|| {
                ProviderError::new(format!(
                    "{action}: the server accepted the binding but does not list it"
                ))
            })?;
        entries.push(("properties_key", Value::string(key)));
    }
    Ok(object(entries))
}

/// Deletes the object; one that is gone already counts as deleted.
pub(super) async fn delete(api: &Api, kind: Kind, prior: Fields<'_>) -> Result<(), ProviderError> {
    let mut path = path(kind, prior)?;
    let action = format!("deleting {}", describe(kind, prior));
    if kind == Kind::Binding {
        let key = match prior.text("properties_key") {
            Some(key) => key,
            None => {
                let Some(list) = api.get(&segments(&path), &action).await? else { return Ok(()) };
                let Some(found) = find_binding(&list, prior)? else { return Ok(()) };
                let key = found.get("properties_key").and_then(|k| k.as_str());
                key.unwrap_or("~").to_string()
            }
        };
        path.push(key);
    }
    api.delete(&segments(&path), &action).await
}

/// The fields an import id names: `NAME` (vhost, user), `USER@VHOST`
/// (permissions), `NAME@VHOST` (exchange, queue, policy), and
/// `VHOST/SOURCE/DESTINATION/DESTINATION_TYPE/PROPERTIES_KEY` (binding).
pub(super) fn parse_id(kind: Kind, id: &str) -> Result<Vec<(&'static str, String)>, ProviderError> {
    let bad = |form: &str| {
        ProviderError::new(format!("`{id}` is not an id of this kind: it is written {form}"))
    };
    let at = |first: &'static str, form: &str| {
        // Split at the last `@`: user names may contain one (an e-mail
        // address), virtual host names rarely do.
        match id.rsplit_once('@') {
            Some((name, vhost)) if !name.is_empty() && !vhost.is_empty() => {
                Ok(vec![(first, name.to_string()), ("vhost", vhost.to_string())])
            }
            _ => Err(bad(form)),
        }
    };
    match kind {
        Kind::Vhost | Kind::User if !id.is_empty() => Ok(vec![("name", id.to_string())]),
        Kind::Vhost | Kind::User => Err(bad("as the name")),
        Kind::Permissions => at("user", "USER@VHOST"),
        Kind::Exchange | Kind::Queue | Kind::Policy => at("name", "NAME@VHOST"),
        Kind::Binding => {
            let form = "VHOST/SOURCE/DESTINATION/DESTINATION_TYPE/PROPERTIES_KEY, with `/` in \
                        names written %2F";
            let parts: Vec<&str> = id.split('/').collect();
            let [vhost, source, destination, destination_type, key] = parts[..] else {
                return Err(bad(form));
            };
            let decode = |part: &str| super::api::percent_decode(part).ok_or_else(|| bad(form));
            if !matches!(destination_type, "queue" | "exchange") || key.is_empty() {
                return Err(bad(form));
            }
            Ok(vec![
                ("vhost", decode(vhost)?),
                ("source", decode(source)?),
                ("destination", decode(destination)?),
                ("destination_type", destination_type.to_string()),
                ("properties_key", key.to_string()),
            ])
        }
    }
}
