//! `mysql.database`: `CREATE DATABASE … CHARACTER SET … [COLLATE …]`,
//! `ALTER DATABASE … CHARACTER SET … [COLLATE …]` for a change of either,
//! and `DROP DATABASE IF EXISTS`. Read from `information_schema.SCHEMATA`.
//!
//! The server cannot rename a database, so a new `name` replaces it (the
//! schema says so). A `collation` left out of the configuration is left to
//! the server and recorded as none. Read-back values keep the
//! configuration's spelling where they mean the same (`utf8` for MariaDB's
//! `utf8mb3`, any case).

use mysql_async::prelude::Queryable;
use orch_stdlib::Value;

use super::{Fields, Session, mysql_error, object, quote_ident};
use orch_provider::ProviderError;

/// `utf8` is `utf8mb3` (MariaDB 10.6 and MySQL 8 report the latter), and
/// character set names are case-insensitive.
pub(super) fn same_charset(a: &str, b: &str) -> bool {
    let normal = |s: &str| {
        let lower = s.to_ascii_lowercase();
        if lower == "utf8" { "utf8mb3".to_string() } else { lower }
    };
    normal(a) == normal(b)
}

/// `wanted` when it names the same thing as `actual` (by `same`), otherwise
/// `actual`.
fn spelled_like(wanted: Option<String>, actual: &str, same: fn(&str, &str) -> bool) -> Value {
    match wanted {
        Some(wanted) if same(&wanted, actual) => Value::string(wanted),
        _ => Value::string(actual),
    }
}

/// The database's character set and collation, or `None` when there is no
/// such database.
async fn database_state(
    session: &mut Session,
    name: &str,
) -> Result<Option<(String, String)>, mysql_async::Error> {
    session
        .conn
        .exec_first(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME \
             FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (name,),
        )
        .await
}

fn database_object(name: &str, charset: &str, collation: &str, like: Fields<'_>) -> Value {
    let collation = match like.text("collation") {
        None => Value::None,
        wanted => spelled_like(wanted, collation, |a, b| a.eq_ignore_ascii_case(b)),
    };
    object(vec![
        ("name", Value::string(name)),
        ("charset", spelled_like(like.text("charset"), charset, same_charset)),
        ("collation", collation),
    ])
}

/// The database `name` as the server has it, for an import: its collation
/// too, since no configuration says yet whether it is managed (a
/// configuration that leaves it out plans no change, see `plan_update`).
pub(super) async fn import(
    session: &mut Session,
    name: &str,
) -> Result<Option<Value>, ProviderError> {
    let state = database_state(session, name)
        .await
        .map_err(|err| mysql_error(&format!("reading database {name}"), &err))?;
    Ok(state.map(|(charset, collation)| {
        object(vec![
            ("name", Value::string(name)),
            ("charset", Value::string(charset)),
            ("collation", Value::string(collation)),
        ])
    }))
}

/// The `CHARACTER SET … [COLLATE …]` options of `config`.
fn options_sql(config: Fields<'_>) -> Result<String, ProviderError> {
    let charset = config.required_text("charset")?;
    let mut sql = format!(" CHARACTER SET {}", quote_ident(&charset));
    if let Some(collation) = config.text("collation") {
        sql.push_str(&format!(" COLLATE {}", quote_ident(&collation)));
    }
    Ok(sql)
}

pub(super) async fn read(
    session: &mut Session,
    prior: Fields<'_>,
) -> Result<Option<Value>, ProviderError> {
    let name = prior.required_text("name")?;
    let state = database_state(session, &name)
        .await
        .map_err(|err| mysql_error(&format!("reading database {name}"), &err))?;
    Ok(state.map(|(charset, collation)| database_object(&name, &charset, &collation, prior)))
}

/// The database as it now is, after a change.
async fn read_back(
    session: &mut Session,
    config: Fields<'_>,
    action: &str,
) -> Result<Value, ProviderError> {
    read(session, config).await?.ok_or_else(|| {
        ProviderError::new(format!("{action}: the database is gone right after the change"))
    })
}

pub(super) async fn create(
    session: &mut Session,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    let action = format!("creating database {name}");
    let sql = format!("CREATE DATABASE {}{}", quote_ident(&name), options_sql(config)?);
    session.conn.query_drop(sql).await.map_err(|err| mysql_error(&action, &err))?;
    read_back(session, config, &action).await
}

pub(super) async fn update(
    session: &mut Session,
    prior: Fields<'_>,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    let action = format!("updating database {name}");
    let charset_changed = match (prior.text("charset"), config.text("charset")) {
        (Some(a), Some(b)) => !same_charset(&a, &b),
        (a, b) => a != b,
    };
    let collation_changed = config.text("collation").is_some_and(|wanted| {
        prior.text("collation").is_none_or(|had| !had.eq_ignore_ascii_case(&wanted))
    });
    if charset_changed || collation_changed {
        let sql = format!("ALTER DATABASE {}{}", quote_ident(&name), options_sql(config)?);
        session.conn.query_drop(sql).await.map_err(|err| mysql_error(&action, &err))?;
    }
    read_back(session, config, &action).await
}

pub(super) async fn delete(session: &mut Session, prior: Fields<'_>) -> Result<(), ProviderError> {
    let name = prior.required_text("name")?;
    let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(&name));
    session
        .conn
        .query_drop(sql)
        .await
        .map_err(|err| mysql_error(&format!("deleting database {name}"), &err))
}

#[cfg(test)]
mod tests {
    use super::same_charset;

    #[test]
    fn charsets() {
        assert!(same_charset("utf8", "utf8mb3"));
        assert!(same_charset("UTF8MB4", "utf8mb4"));
        assert!(!same_charset("utf8", "utf8mb4"));
    }
}
