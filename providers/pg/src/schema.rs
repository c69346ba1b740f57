//! `pg.schema`: created in its `database` (a connection to that database),
//! adopted when it exists and `if_not_exists` is set; renamed and re-owned in
//! one transaction; dropped with `CASCADE` only when `drop_cascade` is set.
//! Read from that database's `pg_namespace`. An `owner` left out of the
//! configuration is not managed: it is recorded as none.

use orch_stdlib::Value;
use tokio_postgres::{Client, GenericClient};

use super::{Fields, PgProvider, object, pg_error, quote_ident};
use orch_provider::ProviderError;

/// The problems of a `pg.schema` configuration beyond those of every kind.
pub(super) fn validate_schema(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(name) = config.text("name")
        && name.starts_with("pg_")
    {
        problems
            .push(format!("schema name `{name}`: the prefix `pg_` is reserved for system schemas"));
    }
    problems
}

/// The owner of schema `name`, or `None` when there is no such schema.
async fn schema_owner(
    client: &impl GenericClient,
    name: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = $1",
            &[&name],
        )
        .await?;
    row.map(|row| row.try_get(0)).transpose()
}

/// An owner left to the server ([`filled_by_server`](super::filled_by_server))
/// stays none.
fn schema_object(name: &str, owner: &str, like: Fields<'_>) -> Value {
    object(vec![
        ("name", Value::string(name)),
        ("database", like.get("database").clone()),
        ("owner", like.get("owner").as_str().map_or(Value::None, |_| Value::string(owner))),
        ("if_not_exists", Value::Bool(like.flag("if_not_exists"))),
        ("drop_cascade", Value::Bool(like.flag("drop_cascade"))),
    ])
}

impl PgProvider {
    /// The database of a schema and its name, for messages.
    fn schema_place(&self, fields: Fields<'_>) -> Result<(String, String), ProviderError> {
        let name = fields.required_text("name")?;
        let database = match fields.text("database") {
            Some(database) => database,
            None => self.settings()?.database,
        };
        Ok((database, name))
    }

    pub(super) async fn read_schema(
        &self,
        prior: Fields<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let (database, name) = self.schema_place(prior)?;
        let Some(mut session) = self.open(Some(&database)).await? else { return Ok(None) };
        let result = schema_owner(session.client(), &name)
            .await
            .map(|owner| owner.map(|owner| schema_object(&name, &owner, prior)))
            .map_err(|err| {
                pg_error(&format!("reading schema {name} in database {database}"), &err)
            });
        session.finish(result)
    }

    pub(super) async fn create_schema(&self, config: Fields<'_>) -> Result<Value, ProviderError> {
        let (database, name) = self.schema_place(config)?;
        let action = format!("creating schema {name} in database {database}");
        let mut session = self.open_existing(&database, &action).await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            let owner = config.text("owner");
            let statement = match schema_owner(&transaction, &name).await.map_err(failed)? {
                // Adopted: only its owner may need to change.
                Some(current) if config.flag("if_not_exists") => {
                    owner.filter(|owner| *owner != current).map(|owner| {
                        format!(
                            "ALTER SCHEMA {} OWNER TO {}",
                            quote_ident(&name),
                            quote_ident(&owner)
                        )
                    })
                }
                // When it exists without `if_not_exists`, the server says so.
                _ => Some(match &owner {
                    Some(owner) => format!(
                        "CREATE SCHEMA {} AUTHORIZATION {}",
                        quote_ident(&name),
                        quote_ident(owner)
                    ),
                    None => format!("CREATE SCHEMA {}", quote_ident(&name)),
                }),
            };
            if let Some(statement) = statement {
                transaction.batch_execute(&statement).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)?;
            read_back_schema(client, &name, config).await
        }
        .await;
        session.finish(result)
    }

    pub(super) async fn update_schema(
        &self,
        prior: Fields<'_>,
        config: Fields<'_>,
    ) -> Result<Value, ProviderError> {
        let (database, old) = self.schema_place(prior)?;
        let new = config.required_text("name")?;
        let action = format!("updating schema {old} in database {database}");
        let mut session = self.open_existing(&database, &action).await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            let current = schema_owner(&transaction, &old)
                .await
                .map_err(failed)?
                .ok_or_else(|| ProviderError::new(format!("{action}: it no longer exists")))?;
            if old != new {
                let sql =
                    format!("ALTER SCHEMA {} RENAME TO {}", quote_ident(&old), quote_ident(&new));
                transaction.batch_execute(&sql).await.map_err(failed)?;
            }
            if let Some(owner) = config.text("owner")
                && owner != current
            {
                let sql =
                    format!("ALTER SCHEMA {} OWNER TO {}", quote_ident(&new), quote_ident(&owner));
                transaction.batch_execute(&sql).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)?;
            read_back_schema(client, &new, config).await
        }
        .await;
        session.finish(result)
    }

    pub(super) async fn delete_schema(&self, prior: Fields<'_>) -> Result<(), ProviderError> {
        let (database, name) = self.schema_place(prior)?;
        // Gone with its database.
        let Some(mut session) = self.open(Some(&database)).await? else { return Ok(()) };
        let mode = if prior.flag("drop_cascade") { "CASCADE" } else { "RESTRICT" };
        let sql = format!("DROP SCHEMA IF EXISTS {} {mode}", quote_ident(&name));
        let result = session.client().batch_execute(&sql).await.map_err(|err| {
            pg_error(&format!("deleting schema {name} in database {database}"), &err)
        });
        session.finish(result)
    }
}

async fn read_back_schema(
    client: &Client,
    name: &str,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    match schema_owner(client, name).await {
        Ok(Some(owner)) => Ok(schema_object(name, &owner, config)),
        Ok(None) => {
            Err(ProviderError::new(format!("reading schema {name} back: it does not exist")))
        }
        Err(err) => Err(pg_error(&format!("reading schema {name} back"), &err)
            .with_partial(config.value.clone())),
    }
}
