//! `pg.database`: `CREATE DATABASE` (a statement of its own: PostgreSQL
//! refuses it in a transaction), `ALTER DATABASE … RENAME TO / OWNER TO /
//! WITH CONNECTION LIMIT, ALLOW_CONNECTIONS, IS_TEMPLATE` in one transaction,
//! and `DROP DATABASE … WITH (FORCE)`, which ends open sessions first (after
//! clearing `IS_TEMPLATE`, which would block the drop). Read from
//! `pg_database`.
//!
//! `template` is not recorded by PostgreSQL, so it keeps the value it was
//! created with. `owner`, `encoding`, `lc_collate` and `lc_ctype` left out of
//! the configuration are left to the server and recorded as none; read-back
//! values keep the configuration's spelling where they mean the same
//! (`utf-8` for `UTF8`, `en_US.utf8` for `en_US.UTF-8`).

use std::fmt::Write as _;
use std::sync::Arc;

use orch_stdlib::Value;
use tokio_postgres::Client;

use super::{
    Fields, PgProvider, in_transaction, membership, object, pg_error, quote_ident, quote_literal,
};
use orch_provider::ProviderError;

/// `wanted` when it names the same thing as `actual` (by `same`), otherwise
/// `actual`: read-back values keep the configuration's spelling.
fn spelled_like(wanted: Option<String>, actual: &str, same: fn(&str, &str) -> bool) -> Value {
    match wanted {
        Some(wanted) if same(&wanted, actual) => Value::string(wanted),
        _ => Value::string(actual),
    }
}

/// `UTF8`, `utf-8` and `Utf_8` are the same encoding.
pub(super) fn same_encoding(a: &str, b: &str) -> bool {
    let normal =
        |s: &str| s.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_uppercase();
    normal(a) == normal(b)
}

/// `en_US.UTF-8` and `en_US.utf8` are the same locale.
pub(super) fn same_locale(a: &str, b: &str) -> bool {
    let normal = |s: &str| s.chars().filter(|c| *c != '-').collect::<String>().to_lowercase();
    normal(a) == normal(b)
}

/// `DEFAULT`, written for `template`, `encoding`, `lc_collate`, `lc_ctype`
/// or `tablespace_name`: whatever the server chooses (the template's).
fn is_default(value: &str) -> bool {
    value.eq_ignore_ascii_case("DEFAULT")
}

/// What `CREATE DATABASE` is given for an option when the configuration
/// leaves it out, as in Terraform's provider: a pristine copy of
/// `template0` in `UTF8` with the `C` locale, whatever the server's
/// `template1` holds. `DEFAULT` leaves the option to the server.
const CREATE_DEFAULTS: &[(&str, &str, &str)] = &[
    ("TEMPLATE", "template", "template0"),
    ("ENCODING", "encoding", "UTF8"),
    ("LC_COLLATE", "lc_collate", "C"),
    ("LC_CTYPE", "lc_ctype", "C"),
];

/// A database as `pg_database` has it.
struct DatabaseState {
    owner: String,
    tablespace: String,
    encoding: String,
    lc_collate: String,
    lc_ctype: String,
    connection_limit: i64,
    allow_connections: bool,
    is_template: bool,
}

async fn database_state(
    client: &Client,
    name: &str,
) -> Result<Option<DatabaseState>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT pg_get_userbyid(d.datdba)::text, pg_encoding_to_char(d.encoding)::text, \
             d.datcollate::text, d.datctype::text, d.datconnlimit, d.datallowconn, d.datistemplate, \
             t.spcname::text \
             FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace \
             WHERE d.datname = $1",
            &[&name],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(DatabaseState {
        owner: row.try_get(0)?,
        encoding: row.try_get(1)?,
        lc_collate: row.try_get(2)?,
        lc_ctype: row.try_get(3)?,
        connection_limit: i64::from(row.try_get::<_, i32>(4)?),
        allow_connections: row.try_get(5)?,
        is_template: row.try_get(6)?,
        tablespace: row.try_get(7)?,
    }))
}

/// The object for the database `name` as it is, spelled like `like` (the
/// prior object or the configuration) where that means the same.
/// Fields left to the server ([`filled_by_server`](super::filled_by_server))
/// stay none.
fn database_object(name: &str, state: &DatabaseState, like: Fields<'_>) -> Value {
    let chosen = |name: &str, actual: &str, same: fn(&str, &str) -> bool| match like.text(name) {
        None => Value::None,
        Some(wanted) if is_default(&wanted) => Value::string(wanted),
        wanted => spelled_like(wanted, actual, same),
    };
    object(vec![
        ("name", Value::string(name)),
        ("owner", chosen("owner", &state.owner, |a, b| a == b)),
        // PostgreSQL does not record the template a database was copied from.
        ("template", like.get("template").clone()),
        ("encoding", chosen("encoding", &state.encoding, same_encoding)),
        ("lc_collate", chosen("lc_collate", &state.lc_collate, same_locale)),
        ("lc_ctype", chosen("lc_ctype", &state.lc_ctype, same_locale)),
        ("connection_limit", Value::Int(state.connection_limit)),
        ("allow_connections", Value::Bool(state.allow_connections)),
        ("is_template", Value::Bool(state.is_template)),
        ("tablespace_name", chosen("tablespace_name", &state.tablespace, |a, b| a == b)),
        // What a change of owner does is configuration, not server state.
        ("alter_object_ownership", Value::Bool(like.flag("alter_object_ownership"))),
    ])
}

impl PgProvider {
    pub(super) async fn read_database(
        &self,
        prior: Fields<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let name = prior.required_text("name")?;
        let mut session = self.maintenance().await?;
        let result = database_state(session.client(), &name)
            .await
            .map_err(|err| pg_error(&format!("reading database {name}"), &err))
            .map(|state| state.map(|state| database_object(&name, &state, prior)));
        session.finish(result)
    }

    pub(super) async fn create_database(&self, config: Fields<'_>) -> Result<Value, ProviderError> {
        let name = config.required_text("name")?;
        let mut sql = format!("CREATE DATABASE {}", quote_ident(&name));
        if let Some(owner) = config.text("owner") {
            let _ = write!(sql, " OWNER {}", quote_ident(&owner));
        }
        // The `UTF8`/`C` defaults go with `template0`; a database copied
        // from another template takes that template's where left out (the
        // server refuses a locale that differs from a non-pristine one's).
        let pristine = config.text("template").is_none_or(|t| t == "template0");
        for (option, field_name, default) in CREATE_DEFAULTS {
            let default = if pristine || *field_name == "template" { default } else { "DEFAULT" };
            let value = config.text(field_name).unwrap_or_else(|| default.to_string());
            if is_default(&value) {
                continue;
            }
            let value =
                if *field_name == "template" { quote_ident(&value) } else { quote_literal(&value) };
            let _ = write!(sql, " {option} {value}");
        }
        if let Some(tablespace) = config.text("tablespace_name").filter(|t| !is_default(t)) {
            let _ = write!(sql, " TABLESPACE {}", quote_ident(&tablespace));
        }
        let _ = write!(
            sql,
            " CONNECTION LIMIT {} ALLOW_CONNECTIONS {} IS_TEMPLATE {}",
            config.number("connection_limit"),
            config.flag("allow_connections"),
            config.flag("is_template"),
        );
        let mut session = self.maintenance().await?;
        let client = session.client();
        let failed =
            |err: tokio_postgres::Error| pg_error(&format!("creating database {name}"), &err);
        // `OWNER` needs the provider to be a member of the owner (when not a
        // superuser): for the duration.
        let owner = config.text("owner");
        let created =
            match membership::borrow(&*client, &owner.as_deref().into_iter().collect::<Vec<_>>())
                .await
            {
                Err(err) => Err(failed(err)),
                Ok(borrowed) => {
                    // A statement of its own: CREATE DATABASE cannot run in a
                    // transaction.
                    let created = client.batch_execute(&sql).await.map_err(failed);
                    let returned = membership::give_back(&*client, borrowed).await.map_err(failed);
                    created.and(returned)
                }
            };
        let result = match created {
            Err(err) => Err(err),
            Ok(()) => read_back_database(client, &name, config).await,
        };
        session.finish(result)
    }

    pub(super) async fn update_database(
        &self,
        prior: Fields<'_>,
        config: Fields<'_>,
    ) -> Result<Value, ProviderError> {
        let (old, new) = (prior.required_text("name")?, config.required_text("name")?);
        let action = format!("updating database {old}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let current = database_state(client, &old)
                .await
                .map_err(|err| pg_error(&action, &err))?
                .ok_or_else(|| ProviderError::new(format!("{action}: it no longer exists")))?;
            // Changing the owner needs the provider to act for the old owner
            // and the new one (when not a superuser): for the duration.
            let owners: Vec<&str> = match config.text("owner") {
                Some(_) => config
                    .get("owner")
                    .as_str()
                    .into_iter()
                    .chain([current.owner.as_str()])
                    .collect(),
                None => vec![current.owner.as_str()],
            };
            let borrowed = membership::borrow(&*client, &owners)
                .await
                .map_err(|err| pg_error(&action, &err))?;
            let changed = self.change_database(client, &action, &old, &new, &current, config).await;
            let returned = membership::give_back(&*client, borrowed)
                .await
                .map_err(|err| pg_error(&action, &err));
            changed.and(returned)?;
            read_back_database(client, &new, config).await
        }
        .await;
        session.finish(result)
    }

    /// The statements of [`update_database`](Self::update_database).
    async fn change_database(
        &self,
        client: &mut tokio_postgres::Client,
        action: &str,
        old: &str,
        new: &str,
        current: &DatabaseState,
        config: Fields<'_>,
    ) -> Result<(), ProviderError> {
        {
            let (old, new) = (old.to_string(), new.to_string());
            let mut statements = Vec::new();
            if old != new {
                // Renaming needs every session to the database closed, ours too.
                self.pool.forget(&old);
                statements.push(format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    quote_ident(&old),
                    quote_ident(&new)
                ));
            }
            let mut new_owner = None;
            if let Some(owner) = config.text("owner")
                && owner != current.owner
            {
                statements.push(format!(
                    "ALTER DATABASE {} OWNER TO {}",
                    quote_ident(&new),
                    quote_ident(&owner)
                ));
                new_owner = Some(owner);
            }
            if let Some(tablespace) = config.text("tablespace_name").filter(|t| !is_default(t))
                && tablespace != current.tablespace
            {
                // Moving a database needs every session to it closed, ours too;
                // and it cannot run in a transaction block.
                self.pool.forget(&new);
                let sql = format!(
                    "ALTER DATABASE {} SET TABLESPACE {}",
                    quote_ident(&old),
                    quote_ident(&tablespace)
                );
                client.batch_execute(&sql).await.map_err(|err| pg_error(action, &err))?;
            }
            let mut options = String::new();
            if config.number("connection_limit") != current.connection_limit {
                let _ = write!(options, " CONNECTION LIMIT {}", config.number("connection_limit"));
            }
            if config.flag("allow_connections") != current.allow_connections {
                let _ = write!(options, " ALLOW_CONNECTIONS {}", config.flag("allow_connections"));
            }
            if config.flag("is_template") != current.is_template {
                let _ = write!(options, " IS_TEMPLATE {}", config.flag("is_template"));
            }
            if !options.is_empty() {
                statements.push(format!("ALTER DATABASE {} WITH{options}", quote_ident(&new)));
            }
            in_transaction(client, &statements).await.map_err(|err| pg_error(action, &err))?;
            // `alter_object_ownership`: what the old owner owns in the
            // database follows the database to its new owner.
            if let Some(owner) = new_owner.filter(|_| config.flag("alter_object_ownership")) {
                let sql = format!(
                    "REASSIGN OWNED BY {} TO {}",
                    quote_ident(&current.owner),
                    quote_ident(&owner)
                );
                let objects = format!("{action} (the objects of {} in it)", current.owner);
                let Some(mut inside) = self.open(Some(&new)).await? else {
                    return Err(ProviderError::new(format!(
                        "{objects}: it cannot be connected to"
                    )));
                };
                let done = in_transaction(inside.client(), &[sql])
                    .await
                    .map_err(|err| pg_error(&objects, &err));
                inside.finish(done)?;
            }
            Ok(())
        }
    }

    pub(super) async fn delete_database(&self, prior: Fields<'_>) -> Result<(), ProviderError> {
        let name = prior.required_text("name")?;
        let action = format!("deleting database {name}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let Some(current) = database_state(client, &name).await.map_err(failed)? else {
                return Ok(());
            };
            if current.is_template {
                // A template database cannot be dropped.
                let sql = format!("ALTER DATABASE {} WITH IS_TEMPLATE false", quote_ident(&name));
                client.batch_execute(&sql).await.map_err(failed)?;
            }
            self.pool.forget(&name);
            // Dropping needs the provider to act for the owner (when not a
            // superuser): for the duration.
            let borrowed =
                membership::borrow(&*client, &[current.owner.as_str()]).await.map_err(failed)?;
            let dropped = self.drop_database(client, &name, &current, prior, &action).await;
            let returned = membership::give_back(&*client, borrowed).await.map_err(failed);
            dropped.and(returned)
        }
        .await;
        session.finish(result)
    }

    /// The `DROP DATABASE` of [`delete_database`](Self::delete_database).
    async fn drop_database(
        &self,
        client: &mut tokio_postgres::Client,
        name: &str,
        current: &DatabaseState,
        prior: Fields<'_>,
        action: &str,
    ) -> Result<(), ProviderError> {
        {
            let failed = |err: tokio_postgres::Error| pg_error(action, &err);
            let version: i32 = client
                .query_one("SELECT current_setting('server_version_num')::int", &[])
                .await
                .and_then(|row| row.try_get(0))
                .map_err(failed)?;
            let sql = if version >= 130_000 {
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name))
            } else {
                client
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&name],
                    )
                    .await
                    .map_err(failed)?;
                format!("DROP DATABASE IF EXISTS {}", quote_ident(name))
            };
            client.batch_execute(&sql).await.map_err(|err| {
                let partial = if current.is_template {
                    let mut object = database_object(name, current, prior);
                    if let Value::Map(entries) = &mut object {
                        let mut changed = entries.to_map();
                        changed.insert("is_template".into(), Value::Bool(false));
                        *entries = Arc::new(changed.into());
                    }
                    Some(object)
                } else {
                    None
                };
                let err = failed(err);
                match partial {
                    Some(object) => err.with_partial(object),
                    None => err,
                }
            })
        }
    }
}

/// The database `name` after a change: it exists, so a failure to read it
/// says so with the configuration as the partial object.
async fn read_back_database(
    client: &Client,
    name: &str,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    match database_state(client, name).await {
        Ok(Some(state)) => Ok(database_object(name, &state, config)),
        Ok(None) => {
            Err(ProviderError::new(format!("reading database {name} back: it does not exist")))
        }
        Err(err) => Err(pg_error(&format!("reading database {name} back"), &err)
            .with_partial(config.value.clone())),
    }
}
