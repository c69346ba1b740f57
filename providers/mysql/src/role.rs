//! `mysql.role`: `CREATE ROLE`, `DROP ROLE IF EXISTS`. MariaDB keeps roles in
//! `mysql.user` with `is_role = 'Y'` and an empty host; MySQL keeps them as
//! accounts with host `%`. Neither can rename a role, so a new `name`
//! replaces it (the schema says so).

use mysql_async::prelude::Queryable;
use orch_stdlib::Value;

use super::{Fields, Flavor, Session, mysql_error, object, quote_literal};
use orch_provider::ProviderError;

/// Whether the role `name` exists.
async fn exists(session: &mut Session, name: &str) -> Result<bool, mysql_async::Error> {
    let query = match session.flavor {
        Flavor::MariaDb => {
            "SELECT 1 FROM mysql.user WHERE User = ? AND Host = '' AND is_role = 'Y'"
        }
        Flavor::MySql => "SELECT 1 FROM mysql.user WHERE User = ? AND Host = '%'",
    };
    let found: Option<i64> = session.conn.exec_first(query, (name,)).await?;
    Ok(found.is_some())
}

pub(super) async fn read(
    session: &mut Session,
    prior: Fields<'_>,
) -> Result<Option<Value>, ProviderError> {
    let name = prior.required_text("name")?;
    let found = exists(session, &name)
        .await
        .map_err(|err| mysql_error(&format!("reading role {name}"), &err))?;
    Ok(found.then(|| object(vec![("name", Value::string(name.as_str()))])))
}

pub(super) async fn create(
    session: &mut Session,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    let name = config.required_text("name")?;
    let action = format!("creating role {name}");
    session
        .conn
        .query_drop(format!("CREATE ROLE {}", quote_literal(&name)))
        .await
        .map_err(|err| mysql_error(&action, &err))?;
    read(session, config).await?.ok_or_else(|| {
        ProviderError::new(format!("{action}: the role is gone right after the change"))
    })
}

pub(super) async fn delete(session: &mut Session, prior: Fields<'_>) -> Result<(), ProviderError> {
    let name = prior.required_text("name")?;
    session
        .conn
        .query_drop(format!("DROP ROLE IF EXISTS {}", quote_literal(&name)))
        .await
        .map_err(|err| mysql_error(&format!("deleting role {name}"), &err))
}
