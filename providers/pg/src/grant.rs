//! `pg.grant`: create and update both run, in one transaction under an
//! advisory lock, `REVOKE ALL PRIVILEGES` then `GRANT` of the configured set,
//! so the set is exact and the role never loses a privilege it keeps. Read
//! expands the ACLs (`aclexplode` over `datacl`, `nspacl`, `relacl`,
//! `proacl`, with `acldefault` where they are unset), so privileges narrowed
//! or widened by hand show as drift. For "every object in the schema"
//! (`objects = []`), an object whose privileges differ from the configured
//! set (a table created later, say) shows as drift; the update grants on it.
//!
//! Functions in `objects` are named with their argument types for one
//! overload (`f(integer)`, looked up by PostgreSQL with `to_regprocedure`),
//! or by name alone for every overload (`f`).

use std::collections::{BTreeMap, BTreeSet};

use orch_stdlib::Value;
use tokio_postgres::GenericClient;

use super::{Fields, PgProvider, object, pg_error, quote_ident, strings};
use orch_provider::ProviderError;

/// What a grant is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GrantOn {
    Database,
    Schema,
    Table,
    Sequence,
    Function,
}

impl GrantOn {
    pub(super) fn parse(object_type: &str) -> Option<GrantOn> {
        Some(match object_type {
            "database" => GrantOn::Database,
            "schema" => GrantOn::Schema,
            "table" => GrantOn::Table,
            "sequence" => GrantOn::Sequence,
            "function" => GrantOn::Function,
            _ => return None,
        })
    }

    /// The privileges PostgreSQL knows on such objects.
    fn known(self) -> &'static [&'static str] {
        match self {
            GrantOn::Database => &["CREATE", "CONNECT", "TEMPORARY"],
            GrantOn::Schema => &["CREATE", "USAGE"],
            GrantOn::Table => &[
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
                "MAINTAIN",
            ],
            GrantOn::Sequence => &["USAGE", "SELECT", "UPDATE"],
            GrantOn::Function => &["EXECUTE"],
        }
    }

    /// What `ALL` grants on every supported server (PostgreSQL 17 adds
    /// `MAINTAIN` on tables).
    fn all(self) -> &'static [&'static str] {
        match self {
            GrantOn::Table => &self.known()[..7],
            _ => self.known(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            GrantOn::Database => "database",
            GrantOn::Schema => "schema",
            GrantOn::Table => "table",
            GrantOn::Sequence => "sequence",
            GrantOn::Function => "function",
        }
    }

    /// A privilege as written in GRANT: upper case, `TEMPORARY` for `TEMP`,
    /// `ALL PRIVILEGES` for `ALL`; an error for one the object type lacks.
    fn privilege_sql(self, privilege: &str) -> Result<&'static str, String> {
        let upper = privilege.trim().to_uppercase();
        let upper = match upper.as_str() {
            "TEMP" => "TEMPORARY",
            "ALL" | "ALL PRIVILEGES" => return Ok("ALL PRIVILEGES"),
            other => other,
        };
        self.known().iter().find(|known| **known == upper).copied().ok_or_else(|| {
            format!(
                "{privilege:?} is not a privilege on a {}; valid ones are {}, or ALL",
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

    /// Whether an object's privileges `held` are exactly those `wanted`.
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

/// A `pg.grant`'s fields.
struct GrantSpec {
    role: String,
    database: String,
    schema: Option<String>,
    on: GrantOn,
    objects: Vec<String>,
    privileges: Vec<String>,
    with_grant_option: bool,
}

impl GrantSpec {
    fn of(fields: Fields<'_>) -> Result<GrantSpec, ProviderError> {
        let object_type = fields.required_text("object_type")?;
        let on = GrantOn::parse(&object_type).ok_or_else(|| {
            ProviderError::new(format!("pg.grant: unknown object_type {object_type:?}"))
        })?;
        let schema = fields.text("schema");
        if on != GrantOn::Database && schema.is_none() {
            return Err(ProviderError::new(format!(
                "pg.grant: `schema` is required for {object_type} grants"
            )));
        }
        Ok(GrantSpec {
            role: fields.required_text("role")?,
            database: fields.required_text("database")?,
            schema: if on == GrantOn::Database { None } else { schema },
            on,
            objects: fields.texts("objects"),
            privileges: fields.texts("privileges"),
            with_grant_option: fields.flag("with_grant_option"),
        })
    }

    /// `table privileges of app_reader on test.app.{orders, items}`, for
    /// messages.
    fn describe(&self) -> String {
        let place = match (&self.schema, self.on) {
            (_, GrantOn::Database) => self.database.clone(),
            (Some(schema), GrantOn::Schema) => format!("{}.{schema}", self.database),
            (Some(schema), _) if self.objects.is_empty() => {
                format!("every {} in {}.{schema}", self.on.name(), self.database)
            }
            (schema, _) => {
                format!(
                    "{}.{}.{{{}}}",
                    self.database,
                    schema.as_deref().unwrap_or("?"),
                    self.objects.join(", ")
                )
            }
        };
        format!("{} privileges of {} on {place}", self.on.name(), self.role)
    }

    fn grantee_sql(&self) -> String {
        if self.role == "public" { "PUBLIC".to_string() } else { quote_ident(&self.role) }
    }

    /// The session for the grant: database grants are made from the
    /// provider's database, the others in their database. `None` when the
    /// database does not exist.
    fn database_for_session(&self) -> Option<&str> {
        if self.on == GrantOn::Database { None } else { Some(&self.database) }
    }
}

/// A grant's objects as they are.
struct GrantScope {
    /// The objects as SQL after `ON` (`TABLE "s"."a", "s"."b"`, `ALL TABLES
    /// IN SCHEMA "s"`), or `None` when none of the listed ones exists.
    target: Option<String>,
    /// Each existing object's privileges held by the grantee, and whether
    /// with grant option.
    held: BTreeMap<String, BTreeMap<String, bool>>,
    /// Listed objects that do not exist.
    missing: Vec<String>,
}

/// Each object's privileges held by the grantee `$2` (an oid; 0 for
/// PUBLIC), with `acldefault` standing in for unset ACLs.
const DATABASE_PRIVILEGES: &str = "SELECT d.datname::text, a.privilege_type, a.is_grantable FROM pg_database d \
     LEFT JOIN LATERAL aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a ON a.grantee = $2 \
     WHERE d.datname = $1";
const SCHEMA_PRIVILEGES: &str = "SELECT n.nspname::text, a.privilege_type, a.is_grantable FROM pg_namespace n \
     LEFT JOIN LATERAL aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a ON a.grantee = $2 \
     WHERE n.nspname = $1";
const TABLE_PRIVILEGES: &str = "SELECT c.relname::text, a.privilege_type, a.is_grantable FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN LATERAL aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) a ON a.grantee = $2 \
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND ($3 OR c.relname = ANY($4::text[]))";
const SEQUENCE_PRIVILEGES: &str = "SELECT c.relname::text, a.privilege_type, a.is_grantable FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN LATERAL aclexplode(COALESCE(c.relacl, acldefault('s', c.relowner))) a ON a.grantee = $2 \
     WHERE n.nspname = $1 AND c.relkind = 'S' AND ($3 OR c.relname = ANY($4::text[]))";
/// Functions in the sense of `GRANT … ON FUNCTION`: plain, aggregate and
/// window functions, not procedures; named (every overload) or by oid.
const FUNCTION_PRIVILEGES: &str = "SELECT p.oid::regprocedure::text, a.privilege_type, a.is_grantable, p.proname::text \
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
     LEFT JOIN LATERAL aclexplode(COALESCE(p.proacl, acldefault('f', p.proowner))) a ON a.grantee = $2 \
     WHERE n.nspname = $1 AND p.prokind IN ('f', 'a', 'w') \
     AND ($3 OR p.proname = ANY($4::text[]) OR p.oid = ANY($5::oid[]))";

/// The grant's objects and the privileges the grantee holds on them, or what
/// is gone (the role, the database or the schema).
async fn grant_scope(
    client: &impl GenericClient,
    spec: &GrantSpec,
) -> Result<Result<GrantScope, String>, tokio_postgres::Error> {
    let grantee: u32 = if spec.role == "public" {
        0
    } else {
        match client.query_opt("SELECT oid FROM pg_roles WHERE rolname = $1", &[&spec.role]).await?
        {
            Some(row) => row.try_get(0)?,
            None => return Ok(Err(format!("role {} does not exist", spec.role))),
        }
    };
    let schema = spec.schema.clone().unwrap_or_default();
    if spec.on != GrantOn::Database
        && client
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
            .await?
            .is_none()
    {
        return Ok(Err(format!("schema {schema} does not exist in database {}", spec.database)));
    }
    let all = spec.objects.is_empty();
    // Functions given with their arguments (`f(integer)`) are looked up by
    // PostgreSQL itself.
    let (signatures, names): (Vec<&String>, Vec<&String>) = spec
        .objects
        .iter()
        .partition(|object| spec.on == GrantOn::Function && object.contains('('));
    let names: Vec<String> = names.into_iter().cloned().collect();
    let mut missing = Vec::new();
    let mut oids: Vec<u32> = Vec::new();
    if spec.on == GrantOn::Function {
        for signature in signatures {
            let qualified = format!("{}.{signature}", quote_ident(&schema));
            let row =
                client.query_one("SELECT to_regprocedure($1::text)::oid", &[&qualified]).await?;
            match row.try_get::<_, Option<u32>>(0)? {
                Some(oid) => oids.push(oid),
                None => missing.push(signature.clone()),
            }
        }
    }
    let rows = match spec.on {
        GrantOn::Database => client.query(DATABASE_PRIVILEGES, &[&spec.database, &grantee]).await?,
        GrantOn::Schema => client.query(SCHEMA_PRIVILEGES, &[&schema, &grantee]).await?,
        GrantOn::Table => {
            client.query(TABLE_PRIVILEGES, &[&schema, &grantee, &all, &names]).await?
        }
        GrantOn::Sequence => {
            client.query(SEQUENCE_PRIVILEGES, &[&schema, &grantee, &all, &names]).await?
        }
        GrantOn::Function => {
            client.query(FUNCTION_PRIVILEGES, &[&schema, &grantee, &all, &names, &oids]).await?
        }
    };
    if spec.on == GrantOn::Database && rows.is_empty() {
        return Ok(Err(format!("database {} does not exist", spec.database)));
    }
    let mut held: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    let mut found_names = BTreeSet::new();
    for row in &rows {
        let object: String = row.try_get(0)?;
        let privilege: Option<String> = row.try_get(1)?;
        let grantable: Option<bool> = row.try_get(2)?;
        if spec.on == GrantOn::Function {
            found_names.insert(row.try_get::<_, String>(3)?);
        } else {
            found_names.insert(object.clone());
        }
        let privileges = held.entry(object).or_default();
        if let Some(privilege) = privilege {
            // Grants from several grantors: grantable if any is.
            *privileges.entry(privilege).or_default() |= grantable.unwrap_or(false);
        }
    }
    missing.extend(names.iter().filter(|name| !found_names.contains(*name)).cloned());
    let target = match spec.on {
        GrantOn::Database => Some(format!("DATABASE {}", quote_ident(&spec.database))),
        GrantOn::Schema => Some(format!("SCHEMA {}", quote_ident(&schema))),
        on if all => {
            let plural = match on {
                GrantOn::Table => "TABLES",
                GrantOn::Sequence => "SEQUENCES",
                _ => "FUNCTIONS",
            };
            Some(format!("ALL {plural} IN SCHEMA {}", quote_ident(&schema)))
        }
        _ if held.is_empty() => None,
        GrantOn::Function => {
            // regprocedure's text is valid SQL (quoted, schema-qualified
            // unless on the search path).
            Some(format!("FUNCTION {}", held.keys().cloned().collect::<Vec<_>>().join(", ")))
        }
        on => {
            let objects: Vec<String> = held
                .keys()
                .map(|name| format!("{}.{}", quote_ident(&schema), quote_ident(name)))
                .collect();
            Some(format!("{} {}", on.name().to_uppercase(), objects.join(", ")))
        }
    };
    Ok(Ok(GrantScope { target, held, missing }))
}

fn grant_object(spec: &GrantSpec, scope: &GrantScope, like: Fields<'_>) -> Value {
    // The object whose privileges differ from the prior ones (the first
    // one), otherwise any: drift on one object is drift of the grant.
    let differs = |held: &BTreeMap<String, bool>| {
        let names: BTreeSet<String> = held.keys().cloned().collect();
        !spec.on.satisfies(&spec.privileges, &names)
            || (!held.is_empty()
                && held.values().any(|grantable| *grantable != spec.with_grant_option))
    };
    let chosen =
        scope.held.values().find(|held| differs(held)).or_else(|| scope.held.values().next());
    let (privileges, with_grant_option) = match chosen {
        // Nothing to look at (an empty schema): as recorded.
        None => (like.get("privileges").clone(), Value::Bool(spec.with_grant_option)),
        Some(held) => {
            let names: BTreeSet<String> = held.keys().cloned().collect();
            let privileges = if spec.on.satisfies(&spec.privileges, &names) {
                like.get("privileges").clone()
            } else {
                strings(&names.into_iter().collect::<Vec<_>>())
            };
            let grantable =
                if held.is_empty() || held.values().all(|g| *g == spec.with_grant_option) {
                    spec.with_grant_option
                } else if held.values().all(|g| *g) {
                    true
                } else if held.values().all(|g| !*g) {
                    false
                } else {
                    // Some with grant option, some without: not what was asked
                    // either way.
                    !spec.with_grant_option
                };
            (privileges, Value::Bool(grantable))
        }
    };
    object(vec![
        ("role", Value::string(spec.role.as_str())),
        ("database", Value::string(spec.database.as_str())),
        ("schema", spec.schema.as_deref().map_or(Value::None, Value::string)),
        ("object_type", Value::string(spec.on.name())),
        ("objects", like.get("objects").clone()),
        ("privileges", privileges),
        ("with_grant_option", with_grant_option),
    ])
}

/// Serialises grant changes on one server: concurrent GRANTs on one object
/// fail with "tuple concurrently updated". ("orchgrnt" in ASCII.)
const GRANT_LOCK_KEY: i64 = 0x6f72_6368_6772_6e74;

impl PgProvider {
    pub(super) async fn read_grant(
        &self,
        prior: Fields<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let spec = GrantSpec::of(prior)?;
        let Some(mut session) = self.open(spec.database_for_session()).await? else {
            return Ok(None);
        };
        let result = match grant_scope(session.client(), &spec).await {
            Ok(Ok(scope)) if scope.missing.is_empty() => {
                Ok(Some(grant_object(&spec, &scope, prior)))
            }
            // The role, database, schema or a listed object is gone, and the
            // privileges with it.
            Ok(_) => Ok(None),
            Err(err) => Err(pg_error(&format!("reading {}", spec.describe()), &err)),
        };
        session.finish(result)
    }

    /// Creates or updates a grant: in one transaction, revokes everything
    /// and grants the configured set.
    pub(super) async fn apply_grant(&self, config: Fields<'_>) -> Result<Value, ProviderError> {
        let spec = GrantSpec::of(config)?;
        let action = format!("granting {}", spec.describe());
        let privileges = spec
            .privileges
            .iter()
            .map(|privilege| spec.on.privilege_sql(privilege))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|message| ProviderError::new(format!("{action}: {message}")))?;
        let mut session = match spec.database_for_session() {
            None => self.maintenance().await?,
            Some(database) => self.open_existing(database, &action).await?,
        };
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            transaction
                .execute("SELECT pg_advisory_xact_lock($1)", &[&GRANT_LOCK_KEY])
                .await
                .map_err(failed)?;
            let scope = grant_scope(&transaction, &spec)
                .await
                .map_err(failed)?
                .map_err(|gone| ProviderError::new(format!("{action}: {gone}")))?;
            if !scope.missing.is_empty() {
                return Err(ProviderError::new(format!(
                    "{action}: no {} {} in schema {}",
                    spec.on.name(),
                    scope.missing.join(", "),
                    spec.schema.as_deref().unwrap_or_default()
                )));
            }
            if let Some(target) = &scope.target {
                let grantee = spec.grantee_sql();
                let revoke = format!("REVOKE ALL PRIVILEGES ON {target} FROM {grantee}");
                transaction.batch_execute(&revoke).await.map_err(failed)?;
                if !privileges.is_empty() {
                    let list = if privileges.contains("ALL PRIVILEGES") {
                        "ALL PRIVILEGES".to_string()
                    } else {
                        privileges.iter().copied().collect::<Vec<_>>().join(", ")
                    };
                    let option = if spec.with_grant_option { " WITH GRANT OPTION" } else { "" };
                    let grant = format!("GRANT {list} ON {target} TO {grantee}{option}");
                    transaction.batch_execute(&grant).await.map_err(failed)?;
                }
            }
            transaction.commit().await.map_err(failed)?;
            match grant_scope(&*client, &spec).await {
                Ok(Ok(scope)) => Ok(grant_object(&spec, &scope, config)),
                Ok(Err(gone)) => {
                    Err(ProviderError::new(format!("reading back {}: {gone}", spec.describe())))
                }
                Err(err) => Err(pg_error(&format!("reading back {}", spec.describe()), &err)
                    .with_partial(config.value.clone())),
            }
        }
        .await;
        session.finish(result)
    }

    /// Deletes a grant: revokes everything it covers. Nothing to do when the
    /// role, database or schema is gone.
    pub(super) async fn revoke_grant(&self, prior: Fields<'_>) -> Result<(), ProviderError> {
        let spec = GrantSpec::of(prior)?;
        let action = format!("revoking {}", spec.describe());
        let Some(mut session) = self.open(spec.database_for_session()).await? else {
            return Ok(());
        };
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            transaction
                .execute("SELECT pg_advisory_xact_lock($1)", &[&GRANT_LOCK_KEY])
                .await
                .map_err(failed)?;
            if let Ok(scope) = grant_scope(&transaction, &spec).await.map_err(failed)?
                && let Some(target) = scope.target
            {
                let revoke =
                    format!("REVOKE ALL PRIVILEGES ON {target} FROM {}", spec.grantee_sql());
                transaction.batch_execute(&revoke).await.map_err(failed)?;
            }
            transaction.commit().await.map_err(failed)
        }
        .await;
        session.finish(result)
    }
}

/// The problems of a `pg.grant` configuration beyond those of every kind.
pub(super) fn validate_grant(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(kind) = config.text("object_type") else { return problems };
    let Some(on) = GrantOn::parse(&kind) else {
        problems.push(format!(
            "`object_type` must be \"database\", \"schema\", \"table\", \"sequence\" or \"function\", not {kind:?}"
        ));
        return problems;
    };
    let schema = config.get("schema");
    match on {
        GrantOn::Database if schema.is_known() && !matches!(schema, Value::None) => {
            problems
                .push("`schema` must be left out when `object_type` is \"database\"".to_string());
        }
        GrantOn::Database => {}
        _ if matches!(schema, Value::None) => {
            problems.push(format!("`schema` is required when `object_type` is {kind:?}"));
        }
        _ => {}
    }
    let objects = config.get("objects");
    if matches!(on, GrantOn::Database | GrantOn::Schema)
        && objects.is_known()
        && !config.texts("objects").is_empty()
    {
        problems.push(format!("`objects` must be empty when `object_type` is {kind:?}"));
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
    fn privileges_compare_as_sets_with_all_spelled_out() {
        let list = |items: &[&str]| items.iter().map(|item| item.to_string()).collect::<Vec<_>>();
        let held =
            |items: &[&str]| items.iter().map(|item| item.to_string()).collect::<BTreeSet<_>>();
        let on = GrantOn::Table;
        assert!(on.satisfies(&list(&["select", "Insert"]), &held(&["INSERT", "SELECT"])));
        assert!(!on.satisfies(&list(&["SELECT"]), &held(&["INSERT", "SELECT"])));
        let every =
            held(&["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]);
        assert!(on.satisfies(&list(&["ALL"]), &every));
        let mut with_maintain = every.clone();
        with_maintain.insert("MAINTAIN".to_string());
        assert!(on.satisfies(&list(&["ALL"]), &with_maintain));
        assert!(
            GrantOn::Database
                .satisfies(&list(&["temp", "connect"]), &held(&["CONNECT", "TEMPORARY"]))
        );
        assert!(GrantOn::Function.privilege_sql("SELECT").is_err());
    }
}
