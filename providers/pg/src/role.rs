//! `pg.role`: `CREATE ROLE` with its attributes, memberships (`GRANT group
//! TO role`) and `search_path` in one transaction; updates compare with
//! `pg_roles` and change only what differs, in one transaction; delete runs
//! `REASSIGN OWNED BY … TO CURRENT_USER` and `DROP OWNED BY …` in every
//! database where the role owns objects or holds privileges (`pg_shdepend`;
//! Terraform only does the provider's database, so a role used in two
//! databases cannot be deleted there), then `DROP ROLE`.
//!
//! Passwords: PostgreSQL stores only a hash, so `read` cannot see a password
//! and returns the prior one (a change made by hand is not drift, and cannot
//! be detected). A password is turned into a SCRAM-SHA-256 verifier here
//! (`postgres_protocol::password::scram_sha_256`, which applies SASLprep as
//! the server and libpq do), and only the verifier goes to the server, so the
//! password cannot appear in the server's log, `pg_stat_activity` or
//! `pg_stat_statements`. Error messages never contain a password: they are
//! scrubbed in any case.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use orch_stdlib::Value;
use tokio_postgres::{Client, GenericClient};

use super::{
    Fields, PgProvider, in_transaction, object, pg_error, quote_ident, quote_idents, quote_literal,
    strings,
};
use orch_provider::ProviderError;

/// A role as `pg_roles` has it.
#[derive(Debug)]
struct RoleState {
    login: bool,
    superuser: bool,
    create_database: bool,
    create_role: bool,
    inherit: bool,
    replication: bool,
    bypass_row_level_security: bool,
    connection_limit: i64,
    /// `infinity`, or `YYYY-MM-DD HH:MM:SS+00`.
    valid_until: String,
    roles: Vec<String>,
    search_path: Vec<String>,
    /// The role's `statement_timeout` setting in milliseconds, 0 for none.
    statement_timeout: i64,
    /// Its `idle_in_transaction_session_timeout` in milliseconds, 0 for none.
    idle_in_transaction_session_timeout: i64,
}

/// The role attributes as (field, keyword when true, keyword when false).
const ROLE_FLAGS: &[(&str, &str, &str)] = &[
    ("login", "LOGIN", "NOLOGIN"),
    ("superuser", "SUPERUSER", "NOSUPERUSER"),
    ("create_database", "CREATEDB", "NOCREATEDB"),
    ("create_role", "CREATEROLE", "NOCREATEROLE"),
    ("inherit", "INHERIT", "NOINHERIT"),
    ("replication", "REPLICATION", "NOREPLICATION"),
    ("bypass_row_level_security", "BYPASSRLS", "NOBYPASSRLS"),
];

/// The per-role settings managed as integer fields (milliseconds; 0 means
/// the setting is not set for the role).
const ROLE_TIMEOUTS: &[&str] = &["statement_timeout", "idle_in_transaction_session_timeout"];

impl RoleState {
    fn timeout(&self, name: &str) -> i64 {
        match name {
            "statement_timeout" => self.statement_timeout,
            _ => self.idle_in_transaction_session_timeout,
        }
    }

    fn flag(&self, name: &str) -> bool {
        match name {
            "login" => self.login,
            "superuser" => self.superuser,
            "create_database" => self.create_database,
            "create_role" => self.create_role,
            "inherit" => self.inherit,
            "bypass_row_level_security" => self.bypass_row_level_security,
            _ => self.replication,
        }
    }
}

async fn role_state(
    client: &impl GenericClient,
    name: &str,
) -> Result<Option<RoleState>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolinherit, \
             r.rolreplication, r.rolconnlimit, \
             CASE WHEN r.rolvaliduntil IS NULL OR r.rolvaliduntil = 'infinity' THEN 'infinity' \
             ELSE to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00' END, \
             ARRAY(SELECT DISTINCT g.rolname::text FROM pg_auth_members m \
                   JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1), \
             COALESCE(r.rolconfig, '{}'::text[]), r.rolbypassrls \
             FROM pg_roles r WHERE r.rolname = $1",
            &[&name],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let settings: Vec<String> = row.try_get(9)?;
    let search_path = settings
        .iter()
        .find_map(|setting| setting.strip_prefix("search_path="))
        .map(parse_search_path)
        .unwrap_or_default();
    let timeout = |name: &str| {
        let prefix = format!("{name}=");
        settings
            .iter()
            .find_map(|setting| setting.strip_prefix(&prefix))
            .map_or(0, parse_milliseconds)
    };
    Ok(Some(RoleState {
        login: row.try_get(0)?,
        superuser: row.try_get(1)?,
        create_database: row.try_get(2)?,
        create_role: row.try_get(3)?,
        inherit: row.try_get(4)?,
        replication: row.try_get(5)?,
        bypass_row_level_security: row.try_get(10)?,
        connection_limit: i64::from(row.try_get::<_, i32>(6)?),
        valid_until: row.try_get(7)?,
        roles: row.try_get(8)?,
        search_path,
        statement_timeout: timeout("statement_timeout"),
        idle_in_transaction_session_timeout: timeout("idle_in_transaction_session_timeout"),
    }))
}

/// A time setting as `rolconfig` holds it, in milliseconds: `5000` as the
/// provider sets it, or with a unit (`5s`, `1min`) when set by hand.
fn parse_milliseconds(value: &str) -> i64 {
    let value = value.trim();
    let digits = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let Ok(number) = value[..digits].parse::<i64>() else { return 0 };
    let factor = match value[digits..].trim() {
        "" | "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "us" => return number / 1000,
        _ => return 0,
    };
    number.saturating_mul(factor)
}

/// The schemas of a `search_path=` role setting as PostgreSQL stores it:
/// `"a b", "$user", public`.
fn parse_search_path(value: &str) -> Vec<String> {
    let mut schemas = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        let Some(&first) = chars.peek() else { break };
        let mut schema = String::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' && chars.next_if_eq(&'"').is_none() {
                    break;
                }
                schema.push(c);
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                schema.push(c);
            }
            schema = schema.trim().to_string();
        }
        schemas.push(schema);
    }
    schemas
}

/// Whether the role's expiry is the moment `valid_until` names (spelled
/// differently: `2030-01-01` for `2030-01-01 00:00:00+00`).
async fn same_valid_until(client: &impl GenericClient, name: &str, valid_until: &str) -> bool {
    let same = client
        .query_opt(
            "SELECT COALESCE(rolvaliduntil, 'infinity') = $2::text::timestamptz FROM pg_roles WHERE rolname = $1",
            &[&name, &valid_until],
        )
        .await;
    matches!(same, Ok(Some(row)) if row.try_get::<_, bool>(0).unwrap_or(false))
}

async fn role_object(
    client: &impl GenericClient,
    name: &str,
    state: &RoleState,
    like: Fields<'_>,
) -> Value {
    let valid_until = match like.text("valid_until") {
        Some(wanted)
            if wanted == state.valid_until || same_valid_until(client, name, &wanted).await =>
        {
            wanted
        }
        _ => state.valid_until.clone(),
    };
    // PostgreSQL keeps only a hash of the password: the prior one stands.
    let password = match like.get("password") {
        Value::None => Value::None,
        password => Value::secret(password.clone()),
    };
    let mut entries = vec![("name", Value::string(name)), ("password", password)];
    for (flag, _, _) in ROLE_FLAGS {
        entries.push((flag, Value::Bool(state.flag(flag))));
    }
    entries.extend([
        ("connection_limit", Value::Int(state.connection_limit)),
        ("valid_until", Value::string(valid_until)),
        ("roles", strings(&ordered_like(&state.roles, &like.texts("roles")))),
        ("search_path", strings(&state.search_path)),
        ("statement_timeout", Value::Int(state.statement_timeout)),
        (
            "idle_in_transaction_session_timeout",
            Value::Int(state.idle_in_transaction_session_timeout),
        ),
        // What deleting does is configuration, not server state.
        ("skip_reassign_owned", Value::Bool(like.flag("skip_reassign_owned"))),
        ("skip_drop_role", Value::Bool(like.flag("skip_drop_role"))),
    ]);
    object(entries)
}

/// The problems of a `pg.role` configuration beyond those of every kind.
pub(super) fn validate_role(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(password) = config.text("password")
        && password.contains('\0')
    {
        problems.push("`password` must not contain a NUL character".to_string());
    }
    problems
}

/// The `PASSWORD …` clause for `password`: its SCRAM-SHA-256 verifier (with
/// a random salt, after SASLprep, as `psql`'s `\password` makes it), which
/// the server stores as it is, or `NULL` for none.
fn password_clause(password: Option<&str>) -> String {
    match password {
        None | Some("") => "PASSWORD NULL".to_string(),
        Some(password) => {
            let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
            format!("PASSWORD {}", quote_literal(&verifier))
        }
    }
}

fn role_flags_sql(config: Fields<'_>, current: Option<&RoleState>) -> String {
    let mut sql = String::new();
    for (flag, yes, no) in ROLE_FLAGS {
        let wanted = config.flag(flag);
        if current.is_none_or(|current| current.flag(flag) != wanted) {
            let _ = write!(sql, " {}", if wanted { yes } else { no });
        }
    }
    let limit = config.number("connection_limit");
    if current.is_none_or(|current| current.connection_limit != limit) {
        let _ = write!(sql, " CONNECTION LIMIT {limit}");
    }
    sql
}

/// The statements that bring the role's timeout settings to `config`'s.
fn timeouts_sql(name: &str, config: Fields<'_>, current: Option<&RoleState>) -> Vec<String> {
    let mut statements = Vec::new();
    for setting in ROLE_TIMEOUTS {
        let wanted = config.number(setting).max(0);
        if current.map_or(0, |current| current.timeout(setting)) == wanted {
            continue;
        }
        statements.push(if wanted == 0 {
            format!("ALTER ROLE {} RESET {setting}", quote_ident(name))
        } else {
            format!("ALTER ROLE {} SET {setting} = {wanted}", quote_ident(name))
        });
    }
    statements
}

fn search_path_sql(name: &str, search_path: &[String]) -> String {
    if search_path.is_empty() {
        format!("ALTER ROLE {} RESET search_path", quote_ident(name))
    } else {
        format!("ALTER ROLE {} SET search_path TO {}", quote_ident(name), quote_idents(search_path))
    }
}

impl PgProvider {
    pub(super) async fn read_role(
        &self,
        prior: Fields<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let name = prior.required_text("name")?;
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = match role_state(client, &name).await {
            Ok(Some(state)) => Ok(Some(role_object(client, &name, &state, prior).await)),
            Ok(None) => Ok(None),
            Err(err) => Err(pg_error(&format!("reading role {name}"), &err)),
        };
        session.finish(result)
    }

    pub(super) async fn create_role(&self, config: Fields<'_>) -> Result<Value, ProviderError> {
        let name = config.required_text("name")?;
        let password = config.text("password");
        let action = format!("creating role {name}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let password_sql = password_clause(password.as_deref());
            let valid_until = config.text("valid_until").unwrap_or_else(|| "infinity".to_string());
            let mut statements = vec![format!(
                "CREATE ROLE {} WITH{} VALID UNTIL {} {password_sql}",
                quote_ident(&name),
                role_flags_sql(config, None),
                quote_literal(&valid_until),
            )];
            let roles = config.texts("roles");
            if !roles.is_empty() {
                statements.push(format!(
                    "GRANT {} TO {}",
                    quote_idents(&roles),
                    quote_ident(&name)
                ));
            }
            let search_path = config.texts("search_path");
            if !search_path.is_empty() {
                statements.push(search_path_sql(&name, &search_path));
            }
            statements.extend(timeouts_sql(&name, config, None));
            in_transaction(client, &statements).await.map_err(failed)?;
            read_back_role(client, &name, config).await
        }
        .await;
        session.finish(result.map_err(|err| scrub(err, password.as_deref())))
    }

    pub(super) async fn update_role(
        &self,
        prior: Fields<'_>,
        config: Fields<'_>,
    ) -> Result<Value, ProviderError> {
        let (old, new) = (prior.required_text("name")?, config.required_text("name")?);
        let password = config.text("password");
        let action = format!("updating role {old}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let valid_until = config.text("valid_until").unwrap_or_else(|| "infinity".to_string());
            // Outside the transaction: a date the server cannot read fails
            // this query, and then the ALTER ROLE that says so.
            let same_expiry = same_valid_until(&*client, &old, &valid_until).await;
            let transaction = client.transaction().await.map_err(failed)?;
            let current = role_state(&transaction, &old)
                .await
                .map_err(failed)?
                .ok_or_else(|| ProviderError::new(format!("{action}: it no longer exists")))?;
            let mut statements = Vec::new();
            let renamed = old != new;
            if renamed {
                statements.push(format!(
                    "ALTER ROLE {} RENAME TO {}",
                    quote_ident(&old),
                    quote_ident(&new)
                ));
            }
            let mut attributes = role_flags_sql(config, Some(&current));
            if valid_until != current.valid_until && !same_expiry {
                let _ = write!(attributes, " VALID UNTIL {}", quote_literal(&valid_until));
            }
            if !attributes.is_empty() {
                statements.push(format!("ALTER ROLE {} WITH{attributes}", quote_ident(&new)));
            }
            // Renaming clears an MD5 password (its hash includes the name):
            // a configured password is set again.
            if password != prior.text("password") || (renamed && password.is_some()) {
                let password_sql = password_clause(password.as_deref());
                statements.push(format!("ALTER ROLE {} WITH {password_sql}", quote_ident(&new)));
            }
            let roles = config.texts("roles");
            let grant: Vec<String> =
                roles.iter().filter(|role| !current.roles.contains(role)).cloned().collect();
            let revoke: Vec<String> =
                current.roles.iter().filter(|role| !roles.contains(role)).cloned().collect();
            if !grant.is_empty() {
                statements.push(format!("GRANT {} TO {}", quote_idents(&grant), quote_ident(&new)));
            }
            if !revoke.is_empty() {
                statements.push(format!(
                    "REVOKE {} FROM {}",
                    quote_idents(&revoke),
                    quote_ident(&new)
                ));
            }
            let search_path = config.texts("search_path");
            if search_path != current.search_path {
                statements.push(search_path_sql(&new, &search_path));
            }
            statements.extend(timeouts_sql(&new, config, Some(&current)));
            for statement in &statements {
                transaction.batch_execute(statement).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)?;
            read_back_role(client, &new, config).await
        }
        .await;
        session.finish(result.map_err(|err| scrub(err, password.as_deref())))
    }

    pub(super) async fn delete_role(&self, prior: Fields<'_>) -> Result<(), ProviderError> {
        let name = prior.required_text("name")?;
        let action = format!("deleting role {name}");
        let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
        // `skip_drop_role`: the role stays on the server; only the state
        // forgets it.
        if prior.flag("skip_drop_role") {
            return Ok(());
        }
        let skip_reassign = prior.flag("skip_reassign_owned");
        let disown =
            format!("REASSIGN OWNED BY {0} TO CURRENT_USER; DROP OWNED BY {0}", quote_ident(&name));
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            if role_state(client, &name).await.map_err(failed)?.is_none() {
                return Ok(());
            }
            // REASSIGN OWNED and DROP OWNED act on the connected database
            // only: first the other databases that hold the role's objects
            // or privileges.
            let others = client
                .query(
                    "SELECT DISTINCT d.datname::text FROM pg_shdepend s \
                     JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.refobjid \
                     WHERE s.refclassid = 'pg_authid'::regclass AND r.rolname = $1 \
                     AND d.datname <> current_database() AND d.datallowconn ORDER BY 1",
                    &[&name],
                )
                .await
                .map_err(failed)?;
            for row in others.iter().filter(|_| !skip_reassign) {
                let database: String = row.try_get(0).map_err(failed)?;
                let Some(mut other) = self.open(Some(&database)).await? else { continue };
                let done = in_transaction(other.client(), std::slice::from_ref(&disown))
                    .await
                    .map_err(|err| {
                        pg_error(&format!("{action} (its objects in database {database})"), &err)
                    });
                other.finish(done)?;
            }
            let drop = if skip_reassign {
                format!("DROP ROLE {}", quote_ident(&name))
            } else {
                format!("{disown}; DROP ROLE {}", quote_ident(&name))
            };
            in_transaction(client, &[drop]).await.map_err(failed)
        }
        .await;
        session.finish(result)
    }
}

async fn read_back_role(
    client: &Client,
    name: &str,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    match role_state(client, name).await {
        Ok(Some(state)) => Ok(role_object(client, name, &state, config).await),
        Ok(None) => Err(ProviderError::new(format!("reading role {name} back: it does not exist"))),
        Err(err) => {
            Err(pg_error(&format!("reading role {name} back"), &err)
                .with_partial(config.value.clone()))
        }
    }
}

/// `actual`, in the order of `like` for the items both have (so that a list
/// read back equals the configured one when only the order differs), then the
/// others.
fn ordered_like(actual: &[String], like: &[String]) -> Vec<String> {
    let actual_set: BTreeSet<&String> = actual.iter().collect();
    let mut seen = BTreeSet::new();
    let mut ordered = Vec::new();
    for item in like.iter().filter(|item| actual_set.contains(item)).chain(actual) {
        if seen.insert(item) {
            ordered.push(item.clone());
        }
    }
    ordered
}

/// `err` with every occurrence of `secret` in its message replaced.
fn scrub(mut err: ProviderError, secret: Option<&str>) -> ProviderError {
    if let Some(secret) = secret.filter(|secret| !secret.is_empty()) {
        err.message = err.message.replace(secret, "(secret)");
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_settings_are_parsed() {
        assert_eq!(
            parse_search_path("\"a b\", \"$user\", public, \"A\"\"B\""),
            ["a b", "$user", "public", "A\"B"]
        );
        assert_eq!(parse_search_path(""), Vec::<String>::new());
    }

    #[test]
    fn lists_read_back_keep_the_configured_order() {
        let list = |items: &[&str]| items.iter().map(|item| item.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ordered_like(&list(&["a", "b", "c"]), &list(&["c", "a"])),
            list(&["c", "a", "b"])
        );
        assert_eq!(ordered_like(&list(&["a"]), &list(&["b", "a"])), list(&["a"]));
    }

    #[test]
    fn passwords_go_as_verifiers() {
        assert_eq!(password_clause(None), "PASSWORD NULL");
        let clause = password_clause(Some("it's a \\ secret"));
        assert!(clause.starts_with("PASSWORD 'SCRAM-SHA-256$4096:"), "{clause}");
        assert!(!clause.contains("secret"), "{clause}");
        // A random salt each time.
        assert_ne!(password_clause(Some("pencil")), password_clause(Some("pencil")));
    }
}
