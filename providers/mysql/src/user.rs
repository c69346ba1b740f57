//! `mysql.user`: `CREATE USER 'user'@'host' [IDENTIFIED BY …]`, `RENAME USER`
//! for a new name or host (in place: the account keeps its privileges),
//! `ALTER USER … IDENTIFIED BY …` for a new password, and `DROP USER IF
//! EXISTS`. Read from `mysql.user`.
//!
//! Passwords. The server keeps only a hash, in `mysql.user`'s
//! `authentication_string`. On MariaDB a password is turned into its
//! `mysql_native_password` hash here (`*` and the upper-case hex of
//! SHA1(SHA1(password)), unsalted) and only that hash is sent (`IDENTIFIED BY
//! PASSWORD '*…'`), so the password never reaches the server's general log,
//! its process list or its binary log. On MySQL, whose default plugin salts
//! its hashes, the password is sent as it is (`IDENTIFIED BY '…'`) over the
//! connection.
//!
//! Drift: `read` hashes the recorded password (sealed in state) and
//! compares it with the server's `authentication_string`. When they match,
//! or when the server's hash cannot be compared (another plugin, MySQL's
//! salted hashes), the recorded password stands; when they differ (the
//! password was changed by hand), `read` returns an empty secret, which no
//! configured password equals (an empty one is refused), so the plan updates
//! the account and apply sets the configured password again. An account
//! that has a password by hand while the configuration has none reads the
//! same way and gets its password removed. State never holds a password in
//! plaintext, nor the server's hash.

use mysql_async::prelude::Queryable;
use orch_stdlib::Value;
use sha1::{Digest, Sha1};

use super::{Fields, Flavor, Session, account, mysql_error, object, quote_literal, scrub};
use orch_provider::ProviderError;

/// The `mysql_native_password` hash of `password`: `*` and the upper-case
/// hex of SHA1(SHA1(password)); empty for an empty password.
pub(super) fn native_hash(password: &str) -> String {
    if password.is_empty() {
        return String::new();
    }
    let twice = Sha1::digest(Sha1::digest(password.as_bytes()));
    let mut hash = String::with_capacity(41);
    hash.push('*');
    for byte in twice {
        hash.push_str(&format!("{byte:02X}"));
    }
    hash
}

/// The problems of a `mysql.user` configuration beyond those of every kind.
pub(super) fn validate_user(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(password) = config.text("password") {
        if password.is_empty() {
            problems.push(
                "`password` must not be empty: leave it out for an account without a password"
                    .to_string(),
            );
        } else if password.contains('\0') {
            problems.push("`password` must not contain a NUL character".to_string());
        }
    }
    problems
}

/// The `IDENTIFIED BY …` clause that sets `password` (none: no password),
/// in the server's safe form where it has one.
fn identified_by(flavor: Flavor, password: Option<&str>) -> String {
    let password = password.unwrap_or("");
    match flavor {
        Flavor::MariaDb => {
            format!("IDENTIFIED BY PASSWORD {}", quote_literal(&native_hash(password)))
        }
        Flavor::MySql => format!("IDENTIFIED BY {}", quote_literal(password)),
    }
}

/// What may appear of a password in a server's message.
fn secrets_of(password: Option<&str>) -> Vec<String> {
    password.map(|p| vec![p.to_string(), native_hash(p)]).unwrap_or_default()
}

/// The account's plugin and authentication string, or `None` when there is
/// no such account.
async fn account_state(
    session: &mut Session,
    user: &str,
    host: &str,
) -> Result<Option<(String, String)>, mysql_async::Error> {
    let row: Option<(Option<String>, Option<String>)> = session
        .conn
        .exec_first(
            "SELECT plugin, authentication_string FROM mysql.user WHERE User = ? AND Host = ?",
            (user, host),
        )
        .await?;
    Ok(row.map(|(plugin, auth)| (plugin.unwrap_or_default(), auth.unwrap_or_default())))
}

/// The password an account read back has, given the recorded one.
fn read_password(plugin: &str, auth: &str, recorded: Option<&str>) -> Value {
    let comparable = plugin.is_empty() || plugin == "mysql_native_password";
    let server_has_one = !auth.is_empty();
    match recorded {
        Some(password) if !comparable || native_hash(password) == auth => {
            Value::secret(Value::string(password))
        }
        None if !server_has_one || !comparable => Value::None,
        // Changed (or set, or removed) by hand.
        _ => Value::secret(Value::string("")),
    }
}

pub(super) async fn read(
    session: &mut Session,
    prior: Fields<'_>,
) -> Result<Option<Value>, ProviderError> {
    let user = prior.required_text("user")?;
    let host = prior.required_text("host")?;
    let state = account_state(session, &user, &host)
        .await
        .map_err(|err| mysql_error(&format!("reading user {}", account(&user, &host)), &err))?;
    Ok(state.map(|(plugin, auth)| {
        object(vec![
            ("user", Value::string(user.as_str())),
            ("host", Value::string(host.as_str())),
            ("password", read_password(&plugin, &auth, prior.text("password").as_deref())),
        ])
    }))
}

/// The account as it now is, after a change.
async fn read_back(
    session: &mut Session,
    config: Fields<'_>,
    action: &str,
) -> Result<Value, ProviderError> {
    read(session, config).await?.ok_or_else(|| {
        ProviderError::new(format!("{action}: the account is gone right after the change"))
    })
}

pub(super) async fn create(
    session: &mut Session,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    let user = config.required_text("user")?;
    let host = config.required_text("host")?;
    let password = config.text("password");
    let action = format!("creating user {}", account(&user, &host));
    let mut sql = format!("CREATE USER {}", account(&user, &host));
    if password.is_some() {
        sql.push(' ');
        sql.push_str(&identified_by(session.flavor, password.as_deref()));
    }
    let secrets = secrets_of(password.as_deref());
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let result = async {
        session.conn.query_drop(sql).await.map_err(|err| mysql_error(&action, &err))?;
        read_back(session, config, &action).await
    }
    .await;
    result.map_err(|err| scrub(err, &secrets))
}

pub(super) async fn update(
    session: &mut Session,
    prior: Fields<'_>,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    let (old_user, old_host) = (prior.required_text("user")?, prior.required_text("host")?);
    let (user, host) = (config.required_text("user")?, config.required_text("host")?);
    let (old, new) = (account(&old_user, &old_host), account(&user, &host));
    let password = config.text("password");
    let action = format!("updating user {old}");
    let secrets = secrets_of(password.as_deref());
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let result = async {
        if old != new {
            session
                .conn
                .query_drop(format!("RENAME USER {old} TO {new}"))
                .await
                .map_err(|err| mysql_error(&action, &err))?;
        }
        if password != prior.text("password") {
            let sql =
                format!("ALTER USER {new} {}", identified_by(session.flavor, password.as_deref()));
            session.conn.query_drop(sql).await.map_err(|err| mysql_error(&action, &err))?;
        }
        read_back(session, config, &action).await
    }
    .await;
    result.map_err(|err| scrub(err, &secrets))
}

pub(super) async fn delete(session: &mut Session, prior: Fields<'_>) -> Result<(), ProviderError> {
    let name = account(&prior.required_text("user")?, &prior.required_text("host")?);
    session
        .conn
        .query_drop(format!("DROP USER IF EXISTS {name}"))
        .await
        .map_err(|err| mysql_error(&format!("deleting user {name}"), &err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_hashes() {
        // MariaDB: SELECT PASSWORD('secret').
        assert_eq!(native_hash("secret"), "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7");
        assert_eq!(native_hash(""), "");
    }

    #[test]
    fn passwords_read_back() {
        let hash = native_hash("secret");
        let kept = read_password("mysql_native_password", &hash, Some("secret"));
        assert_eq!(kept.reveal_all(), Value::string("secret"));
        assert!(kept.is_secret());
        let changed = read_password("mysql_native_password", &native_hash("other"), Some("secret"));
        assert_eq!(changed.reveal_all(), Value::string(""));
        assert_eq!(read_password("mysql_native_password", "", None), Value::None);
        let set_by_hand = read_password("mysql_native_password", &hash, None);
        assert_eq!(set_by_hand.reveal_all(), Value::string(""));
        // Salted hashes cannot be compared: the recorded password stands.
        let salted = read_password("caching_sha2_password", "$A$005$salt", Some("secret"));
        assert_eq!(salted.reveal_all(), Value::string("secret"));
    }
}
