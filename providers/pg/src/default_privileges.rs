//! `pg.default_privileges`: `ALTER DEFAULT PRIVILEGES FOR ROLE owner [IN
//! SCHEMA s]`, run in the configured database. Create and update both run,
//! in one transaction under an advisory lock, `REVOKE ALL` then `GRANT` of
//! the configured set, so the set is exact. Read expands `pg_default_acl`
//! (`aclexplode`) for the role; database-wide defaults without an entry are
//! the built-in ones (`acldefault`: `EXECUTE` on functions and `USAGE` on
//! types for `public`), schema defaults without one are nothing. A
//! provider's role that is not a superuser nor a member of `owner` is made a
//! member for the transaction (`membership`).

use std::collections::BTreeSet;

use orch_stdlib::Value;
use tokio_postgres::GenericClient;

use super::membership;
use super::{Fields, PgProvider, object, pg_error, quote_ident, strings};
use orch_provider::ProviderError;

/// The kind of objects default privileges are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DefaultOn {
    Table,
    Sequence,
    Function,
    Type,
    Schema,
}

impl DefaultOn {
    pub(super) fn parse(object_type: &str) -> Option<DefaultOn> {
        Some(match object_type {
            "table" => DefaultOn::Table,
            "sequence" => DefaultOn::Sequence,
            "function" => DefaultOn::Function,
            "type" => DefaultOn::Type,
            "schema" => DefaultOn::Schema,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            DefaultOn::Table => "table",
            DefaultOn::Sequence => "sequence",
            DefaultOn::Function => "function",
            DefaultOn::Type => "type",
            DefaultOn::Schema => "schema",
        }
    }

    /// After `GRANT … ON`.
    fn plural(self) -> &'static str {
        match self {
            DefaultOn::Table => "TABLES",
            DefaultOn::Sequence => "SEQUENCES",
            DefaultOn::Function => "FUNCTIONS",
            DefaultOn::Type => "TYPES",
            DefaultOn::Schema => "SCHEMAS",
        }
    }

    /// `pg_default_acl.defaclobjtype`.
    fn catalog_type(self) -> &'static str {
        match self {
            DefaultOn::Table => "r",
            DefaultOn::Sequence => "S",
            DefaultOn::Function => "f",
            DefaultOn::Type => "T",
            DefaultOn::Schema => "n",
        }
    }

    /// `acldefault`'s letter for such objects.
    fn acldefault_type(self) -> &'static str {
        match self {
            DefaultOn::Sequence => "s",
            other => other.catalog_type(),
        }
    }

    fn known(self) -> &'static [&'static str] {
        match self {
            DefaultOn::Table => &[
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
                "MAINTAIN",
            ],
            DefaultOn::Sequence => &["USAGE", "SELECT", "UPDATE"],
            DefaultOn::Function => &["EXECUTE"],
            DefaultOn::Type => &["USAGE"],
            DefaultOn::Schema => &["CREATE", "USAGE"],
        }
    }

    /// What `ALL` grants on every supported server (PostgreSQL 17 adds
    /// `MAINTAIN` on tables).
    fn all(self) -> &'static [&'static str] {
        match self {
            DefaultOn::Table => &self.known()[..7],
            _ => self.known(),
        }
    }

    fn privilege_sql(self, privilege: &str) -> Result<&'static str, String> {
        let upper = privilege.trim().to_uppercase();
        if matches!(upper.as_str(), "ALL" | "ALL PRIVILEGES") {
            return Ok("ALL PRIVILEGES");
        }
        self.known().iter().find(|known| **known == upper).copied().ok_or_else(|| {
            format!(
                "{privilege:?} is not a default privilege on a {}; valid ones are {}, or ALL",
                self.name(),
                self.known().join(", ")
            )
        })
    }

    /// The privileges a list names, with `ALL` spelled out.
    pub(super) fn expand(self, privileges: &[String]) -> BTreeSet<&'static str> {
        let mut set = BTreeSet::new();
        for privilege in privileges {
            match self.privilege_sql(privilege) {
                Ok("ALL PRIVILEGES") => set.extend(self.all()),
                Ok(privilege) => {
                    set.insert(privilege);
                }
                Err(_) => {}
            }
        }
        set
    }

    /// Whether the privileges `held` are exactly those `wanted` (`ALL`
    /// also matches `MAINTAIN` on a server that has it).
    fn satisfies(self, wanted: &[String], held: &BTreeSet<String>) -> bool {
        let wants_all =
            wanted.iter().any(|privilege| self.privilege_sql(privilege) == Ok("ALL PRIVILEGES"));
        if wants_all {
            return self.all().iter().all(|privilege| held.contains(*privilege))
                && held.iter().all(|privilege| self.known().contains(&privilege.as_str()));
        }
        self.expand(wanted).iter().copied().eq(held.iter().map(String::as_str))
    }
}

/// A `pg.default_privileges`' fields.
struct DefaultSpec {
    role: String,
    database: String,
    schema: Option<String>,
    owner: String,
    on: DefaultOn,
    privileges: Vec<String>,
    with_grant_option: bool,
}

impl DefaultSpec {
    fn of(fields: Fields<'_>) -> Result<DefaultSpec, ProviderError> {
        let object_type = fields.required_text("object_type")?;
        let on = DefaultOn::parse(&object_type).ok_or_else(|| {
            ProviderError::new(format!(
                "pg.default_privileges: unknown object_type {object_type:?}"
            ))
        })?;
        Ok(DefaultSpec {
            role: fields.required_text("role")?,
            database: fields.required_text("database")?,
            schema: fields.text("schema"),
            owner: fields.required_text("owner")?,
            on,
            privileges: fields.texts("privileges"),
            with_grant_option: fields.flag("with_grant_option"),
        })
    }

    /// `default table privileges of reader on objects of owner in
    /// test.app`, for messages.
    fn describe(&self) -> String {
        let place = match &self.schema {
            Some(schema) => format!("{}.{schema}", self.database),
            None => self.database.clone(),
        };
        format!(
            "default {} privileges of {} on objects of {} in {place}",
            self.on.name(),
            self.role,
            self.owner
        )
    }

    fn grantee_sql(&self) -> String {
        if self.role == "public" { "PUBLIC".to_string() } else { quote_ident(&self.role) }
    }

    /// `ALTER DEFAULT PRIVILEGES FOR ROLE "owner" IN SCHEMA "s"`.
    fn alter_sql(&self) -> String {
        let mut sql = format!("ALTER DEFAULT PRIVILEGES FOR ROLE {}", quote_ident(&self.owner));
        if let Some(schema) = &self.schema {
            sql.push_str(&format!(" IN SCHEMA {}", quote_ident(schema)));
        }
        sql
    }
}

/// The role's default privileges as they are (privilege, grantable), or
/// what is gone (a role or the schema).
async fn held(
    client: &impl GenericClient,
    spec: &DefaultSpec,
) -> Result<Result<Vec<(String, bool)>, String>, tokio_postgres::Error> {
    let Some(owner) = role_oid(client, &spec.owner).await? else {
        return Ok(Err(format!("role {} does not exist", spec.owner)));
    };
    let grantee = if spec.role == "public" {
        0
    } else {
        match role_oid(client, &spec.role).await? {
            Some(oid) => oid,
            None => return Ok(Err(format!("role {} does not exist", spec.role))),
        }
    };
    let namespace: u32 = match &spec.schema {
        None => 0,
        Some(schema) => {
            match client
                .query_opt("SELECT oid FROM pg_namespace WHERE nspname = $1", &[schema])
                .await?
            {
                Some(row) => row.try_get(0)?,
                None => {
                    return Ok(Err(format!(
                        "schema {schema} does not exist in database {}",
                        spec.database
                    )));
                }
            }
        }
    };
    let rows = client
        .query(
            "SELECT a.privilege_type, a.is_grantable FROM aclexplode(COALESCE( \
               (SELECT defaclacl FROM pg_default_acl WHERE defaclrole = $1 \
                AND defaclnamespace = $2 AND defaclobjtype::text = $3), \
               CASE WHEN $2 = 0 THEN acldefault($4::text::\"char\", $1) END)) a \
             WHERE a.grantee = $5",
            &[&owner, &namespace, &spec.on.catalog_type(), &spec.on.acldefault_type(), &grantee],
        )
        .await?;
    rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<Result<_, _>>().map(Ok)
}

/// The oid of role `name`, or `None` when there is no such role.
pub(super) async fn role_oid(
    client: &impl GenericClient,
    name: &str,
) -> Result<Option<u32>, tokio_postgres::Error> {
    let row = client.query_opt("SELECT oid FROM pg_roles WHERE rolname = $1", &[&name]).await?;
    row.map(|row| row.try_get(0)).transpose()
}

fn default_object(spec: &DefaultSpec, held: &[(String, bool)], like: Fields<'_>) -> Value {
    let names: BTreeSet<String> = held.iter().map(|(name, _)| name.clone()).collect();
    let privileges = if spec.on.satisfies(&spec.privileges, &names) {
        like.get("privileges").clone()
    } else {
        strings(&names.into_iter().collect::<Vec<_>>())
    };
    let grantable = if held.is_empty() || held.iter().all(|(_, g)| *g == spec.with_grant_option) {
        spec.with_grant_option
    } else {
        !spec.with_grant_option
    };
    object(vec![
        ("role", Value::string(spec.role.as_str())),
        ("database", Value::string(spec.database.as_str())),
        ("schema", spec.schema.as_deref().map_or(Value::None, Value::string)),
        ("owner", Value::string(spec.owner.as_str())),
        ("object_type", Value::string(spec.on.name())),
        ("privileges", privileges),
        ("with_grant_option", Value::Bool(grantable)),
    ])
}

/// Serialises default-privilege changes on one server, as grants are
/// ("orchdflt" in ASCII).
const DEFAULTS_LOCK_KEY: i64 = 0x6f72_6368_6466_6c74;

impl PgProvider {
    pub(super) async fn read_default_privileges(
        &self,
        prior: Fields<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let spec = DefaultSpec::of(prior)?;
        let Some(mut session) = self.open(Some(&spec.database)).await? else {
            return Ok(None);
        };
        let result = match held(session.client(), &spec).await {
            Ok(Ok(held)) => Ok(Some(default_object(&spec, &held, prior))),
            // A role or the schema is gone, and the defaults with it.
            Ok(Err(_)) => Ok(None),
            Err(err) => Err(pg_error(&format!("reading {}", spec.describe()), &err)),
        };
        session.finish(result)
    }

    /// Creates or updates default privileges: in one transaction, revokes
    /// them all and grants the configured set. With `privileges = []`, only
    /// revokes.
    pub(super) async fn apply_default_privileges(
        &self,
        config: Fields<'_>,
    ) -> Result<Value, ProviderError> {
        let spec = DefaultSpec::of(config)?;
        let action = format!("setting {}", spec.describe());
        let privileges = spec
            .privileges
            .iter()
            .map(|privilege| spec.on.privilege_sql(privilege))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|message| ProviderError::new(format!("{action}: {message}")))?;
        let mut session = self.open_existing(&spec.database, &action).await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            transaction
                .execute("SELECT pg_advisory_xact_lock($1)", &[&DEFAULTS_LOCK_KEY])
                .await
                .map_err(failed)?;
            if let Err(gone) = held(&transaction, &spec).await.map_err(failed)? {
                return Err(ProviderError::new(format!("{action}: {gone}")));
            }
            let borrowed =
                membership::borrow(&transaction, &[&spec.owner]).await.map_err(failed)?;
            let (alter, on, grantee) = (spec.alter_sql(), spec.on.plural(), spec.grantee_sql());
            transaction
                .batch_execute(&format!("{alter} REVOKE ALL PRIVILEGES ON {on} FROM {grantee}"))
                .await
                .map_err(failed)?;
            if !privileges.is_empty() {
                let list = if privileges.contains("ALL PRIVILEGES") {
                    "ALL PRIVILEGES".to_string()
                } else {
                    privileges.iter().copied().collect::<Vec<_>>().join(", ")
                };
                let option = if spec.with_grant_option { " WITH GRANT OPTION" } else { "" };
                transaction
                    .batch_execute(&format!("{alter} GRANT {list} ON {on} TO {grantee}{option}"))
                    .await
                    .map_err(failed)?;
            }
            membership::give_back(&transaction, borrowed).await.map_err(failed)?;
            let held = held(&transaction, &spec)
                .await
                .map_err(failed)?
                .map_err(|gone| ProviderError::new(format!("{action}: {gone}")))?;
            transaction.commit().await.map_err(failed)?;
            Ok(default_object(&spec, &held, config))
        }
        .await;
        session.finish(result)
    }

    /// Deletes default privileges: revokes them all. Nothing to do when the
    /// database, a role or the schema is gone.
    pub(super) async fn revoke_default_privileges(
        &self,
        prior: Fields<'_>,
    ) -> Result<(), ProviderError> {
        let spec = DefaultSpec::of(prior)?;
        let action = format!("revoking {}", spec.describe());
        let Some(mut session) = self.open(Some(&spec.database)).await? else {
            return Ok(());
        };
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            transaction
                .execute("SELECT pg_advisory_xact_lock($1)", &[&DEFAULTS_LOCK_KEY])
                .await
                .map_err(failed)?;
            if held(&transaction, &spec).await.map_err(failed)?.is_ok() {
                let borrowed =
                    membership::borrow(&transaction, &[&spec.owner]).await.map_err(failed)?;
                transaction
                    .batch_execute(&format!(
                        "{} REVOKE ALL PRIVILEGES ON {} FROM {}",
                        spec.alter_sql(),
                        spec.on.plural(),
                        spec.grantee_sql()
                    ))
                    .await
                    .map_err(failed)?;
                membership::give_back(&transaction, borrowed).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)
        }
        .await;
        let result = match result {
            // The database was dropped meanwhile (destroyed in the same
            // run), and the default privileges with it.
            Err(err) if err.transient && self.database_dropped(&spec.database).await => Ok(()),
            other => other,
        };
        session.finish(result)
    }
}

/// The object an import id names: `DATABASE.OWNER.ROLE.OBJECT_TYPE` for
/// database-wide defaults, `DATABASE.SCHEMA.OWNER.ROLE.OBJECT_TYPE` for a
/// schema's.
pub(super) fn import_fields(id: &str) -> Result<Vec<(&'static str, String)>, String> {
    let parts: Vec<&str> = id.split('.').collect();
    let (database, schema, owner, role, object_type) = match parts.as_slice() {
        [database, owner, role, object_type] => (database, None, owner, role, object_type),
        [database, schema, owner, role, object_type] => {
            (database, Some(schema), owner, role, object_type)
        }
        _ => {
            return Err(format!(
                "pg.default_privileges: the import id `{id}` is neither \
                 DATABASE.OWNER.ROLE.OBJECT_TYPE nor DATABASE.SCHEMA.OWNER.ROLE.OBJECT_TYPE"
            ));
        }
    };
    if DefaultOn::parse(object_type).is_none() {
        return Err(format!(
            "pg.default_privileges: the import id `{id}` ends in {object_type:?}, which is not \
             table, sequence, function, type or schema"
        ));
    }
    let mut fields = vec![
        ("database", (*database).to_string()),
        ("owner", (*owner).to_string()),
        ("role", (*role).to_string()),
        ("object_type", (*object_type).to_string()),
    ];
    if let Some(schema) = schema {
        fields.push(("schema", (*schema).to_string()));
    }
    Ok(fields)
}

/// The problems of a `pg.default_privileges` configuration beyond those of
/// every kind.
pub(super) fn validate_default_privileges(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(kind) = config.text("object_type") else { return problems };
    let Some(on) = DefaultOn::parse(&kind) else {
        problems.push(format!(
            "`object_type` must be \"table\", \"sequence\", \"function\", \"type\" or \"schema\", \
             not {kind:?}"
        ));
        return problems;
    };
    let schema = config.get("schema");
    if on == DefaultOn::Schema && schema.is_known() && !matches!(schema, Value::None) {
        problems.push(
            "`schema` must be left out when `object_type` is \"schema\" (schemas are not in \
             a schema)"
                .to_string(),
        );
    }
    if config.get("privileges").is_known() {
        for privilege in config.texts("privileges") {
            if let Err(message) = on.privilege_sql(&privilege) {
                problems.push(message);
            }
        }
    }
    if config.text("role").as_deref() == Some("public") && config.flag("with_grant_option") {
        problems.push(
            "`with_grant_option` cannot be set for `public`: grant options go to roles only"
                .to_string(),
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_name_the_database_schema_owner_role_and_type() {
        let fields = import_fields("app.owner.reader.table").unwrap();
        assert!(fields.contains(&("owner", "owner".to_string())));
        assert!(!fields.iter().any(|(name, _)| *name == "schema"));
        let fields = import_fields("app.s.owner.reader.sequence").unwrap();
        assert!(fields.contains(&("schema", "s".to_string())));
        assert!(import_fields("app.owner.reader").is_err());
        assert!(import_fields("app.owner.reader.view").is_err());
    }

    #[test]
    fn all_is_every_privilege() {
        let list = |items: &[&str]| items.iter().map(|item| item.to_string()).collect::<Vec<_>>();
        let held = DefaultOn::Schema.all().iter().map(|p| p.to_string()).collect();
        assert!(DefaultOn::Schema.satisfies(&list(&["all"]), &held));
        assert!(!DefaultOn::Schema.satisfies(&list(&["usage"]), &held));
        assert!(DefaultOn::Type.privilege_sql("EXECUTE").is_err());
    }
}
