//! `redis.acl_user`: `ACL SETUSER NAME reset resetchannels on|off [#HASH]
//! ~KEY… &CHANNEL… RULE…`, which sets the whole user at once, so an update is
//! the same command as a create and rules added by hand are dropped. Read
//! back with `ACL GETUSER`: flags, password hashes, key and channel
//! patterns, and the command rules as the server writes them (recorded in
//! `command_rules`, since Redis rewrites rules: `+get` reads back as
//! `-@all +get`).
//!
//! Passwords go to the server only as `#` and their SHA-256 hash, which is
//! what Redis stores: `ACL GETUSER` lists the hashes, so a password changed
//! by hand is seen. As the plaintext cannot be read back, a password that
//! differs reads as a placeholder (secret), which the plan replaces with
//! the configured one.

use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use sha2::{Digest, Sha256};

use super::{Connection, pairs_of, words_of};
use orch_provider::ProviderError;
use orch_provider::object_fields::{Fields, object, ordered_like, strings, with_defaults};

/// What a password that is not the recorded one reads as.
const CHANGED_PASSWORD: &str = "(changed outside Orch)";

/// A user as `ACL GETUSER` shows it.
struct User {
    enabled: bool,
    nopass: bool,
    /// SHA-256 hashes, in hex.
    passwords: Vec<String>,
    keys: Vec<String>,
    channels: Vec<String>,
    commands: String,
}

fn password_hash(password: &str) -> String {
    let digest = Sha256::digest(password.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

async fn get_user(c: &mut Connection, name: &str) -> Result<Option<User>, ProviderError> {
    let reply: redis::Value = c
        .query(&format!("reading ACL user {name}"), redis::cmd("ACL").arg("GETUSER").arg(name))
        .await?;
    if matches!(reply, redis::Value::Nil) {
        return Ok(None);
    }
    let mut user = User {
        enabled: false,
        nopass: false,
        passwords: Vec::new(),
        keys: Vec::new(),
        channels: Vec::new(),
        commands: String::new(),
    };
    for (key, value) in pairs_of(&reply) {
        match key.as_str() {
            "flags" => {
                let flags = words_of(value);
                user.enabled = flags.iter().any(|flag| flag == "on");
                user.nopass = flags.iter().any(|flag| flag == "nopass");
            }
            "passwords" => user.passwords = words_of(value),
            // `~app:*`, `%R~app:*` (read only), `allkeys` as `~*`.
            "keys" => {
                user.keys = words_of(value)
                    .into_iter()
                    .map(|key| key.strip_prefix('~').map_or(key.clone(), str::to_string))
                    .collect();
            }
            "channels" => {
                user.channels = words_of(value)
                    .into_iter()
                    .map(|channel| {
                        channel.strip_prefix('&').map_or(channel.clone(), str::to_string)
                    })
                    .collect();
            }
            "commands" => user.commands = words_of(value).join(" "),
            _ => {}
        }
    }
    Ok(Some(user))
}

/// The object for `user`, with the fields of `like` (the recorded object or
/// the configuration) where the server's state means the same.
fn user_object(name: &str, user: &User, like: Fields<'_>) -> Value {
    let password = match like.text("password") {
        Some(password) if !user.nopass && user.passwords == [password_hash(&password)] => {
            Value::secret(Value::string(password))
        }
        None if !user.nopass && user.passwords.is_empty() => Value::None,
        _ => Value::secret(Value::string(CHANGED_PASSWORD)),
    };
    let commands = if like.text("command_rules").as_deref() == Some(user.commands.as_str()) {
        like.texts("commands")
    } else {
        let mut rules: Vec<String> = user.commands.split_whitespace().map(str::to_string).collect();
        if rules.first().map(String::as_str) == Some("-@all") {
            rules.remove(0);
        }
        rules
    };
    object(vec![
        ("name", Value::string(name)),
        ("enabled", Value::Bool(user.enabled)),
        ("password", password),
        ("keys", strings(&ordered_like(user.keys.clone(), &like.texts("keys")))),
        ("channels", strings(&ordered_like(user.channels.clone(), &like.texts("channels")))),
        ("commands", strings(&commands)),
        ("command_rules", Value::string(user.commands.as_str())),
    ])
}

pub(super) fn validate(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(name) = config.text("name")
        && (name.is_empty() || name.chars().any(char::is_whitespace))
    {
        problems.push("`name` must not be empty or contain spaces".to_string());
    }
    if config.text("password").is_some_and(|password| password.is_empty()) {
        problems.push(
            "`password` must not be empty: leave it out for a user without a password".to_string(),
        );
    }
    for (list, prefix) in [("keys", '~'), ("channels", '&')] {
        for pattern in config.texts(list) {
            if pattern.is_empty() || pattern.chars().any(char::is_whitespace) {
                problems.push(format!("`{list}` patterns must not be empty or contain spaces"));
            } else if pattern.starts_with(prefix) {
                problems.push(format!(
                    "`{list}` patterns are written without Redis's `{prefix}` prefix: \
                     `\"{}\"`",
                    &pattern[1..]
                ));
            }
        }
    }
    for rule in config.texts("commands") {
        if rule.is_empty() || rule.chars().any(char::is_whitespace) {
            problems.push("`commands` rules must not be empty or contain spaces".to_string());
        } else if !rule.starts_with(['+', '-']) {
            problems.push(format!(
                "`commands` holds command rules such as `+get` or `-@dangerous`, not `{rule}`"
            ));
        }
    }
    problems
}

/// `ACL SETUSER` with the whole user.
async fn set_user(
    c: &mut Connection,
    config: Fields<'_>,
    action: &str,
) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    let mut command = redis::cmd("ACL");
    command.arg("SETUSER").arg(&name).arg("reset").arg("resetchannels");
    command.arg(if config.flag("enabled").unwrap_or(true) { "on" } else { "off" });
    if let Some(password) = config.text("password") {
        command.arg(format!("#{}", password_hash(&password)));
    }
    for key in config.texts("keys") {
        command.arg(format!("~{key}"));
    }
    for channel in config.texts("channels") {
        command.arg(format!("&{channel}"));
    }
    for rule in config.texts("commands") {
        command.arg(rule);
    }
    c.query::<()>(action, &command).await?;
    let user = get_user(c, &name).await?.ok_or_else(|| {
        ProviderError::new(format!("{action}: the user is gone right after being set"))
    })?;
    // The configuration's own rules stand for what the server now reports.
    let mut value = user_object(&name, &user, config);
    if let Value::Map(entries) = &value {
        let mut entries = entries.to_map();
        entries.insert("commands".into(), strings(&config.texts("commands")));
        value = Value::map(entries);
    }
    Ok(value)
}

pub(super) async fn read(
    c: &mut Connection,
    prior: Fields<'_>,
) -> Result<Option<Value>, ProviderError> {
    let name = prior.required_text("name")?;
    Ok(get_user(c, &name).await?.map(|user| user_object(&name, &user, prior)))
}

pub(super) async fn create(c: &mut Connection, config: Fields<'_>) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    let action = format!("creating ACL user {name}");
    if get_user(c, &name).await?.is_some() {
        return Err(ProviderError::new(format!(
            "{action}: the user already exists; import it (an `import` block) to manage it"
        )));
    }
    set_user(c, config, &action).await
}

pub(super) async fn update(c: &mut Connection, config: Fields<'_>) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    set_user(c, config, &format!("updating ACL user {name}")).await
}

pub(super) async fn delete(c: &mut Connection, prior: Fields<'_>) -> Result<(), ProviderError> {
    let name = prior.required_text("name")?;
    c.query::<i64>(
        &format!("deleting ACL user {name}"),
        redis::cmd("ACL").arg("DELUSER").arg(&name),
    )
    .await
    .map(drop)
}

pub(super) async fn import(
    c: &mut Connection,
    schema: &'static KindSchema,
    id: &str,
) -> Result<Option<Value>, ProviderError> {
    let prior = with_defaults(schema, vec![("name", Value::string(id))]);
    read(c, Fields::new(schema, &prior)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_as_redis_does() {
        // `echo -n pass | sha256sum`
        assert_eq!(
            password_hash("pass"),
            "d74ff0ee8da3b9806b18c877dbf29bbde50b5bd8e4dad7a3a725000feb82e8f1"
        );
    }
}
