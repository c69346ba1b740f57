//! The `pg` provider: PostgreSQL databases, roles, schemas and grants,
//! following Terraform's PostgreSQL provider (cyrilgdn): names are renamed in
//! place where PostgreSQL can (`ALTER … RENAME TO`); what it cannot change
//! in place forces a replacement.

use std::sync::Arc;

use smol_str::SmolStr;

use orch_stdlib::Ty;
use orch_stdlib::Value;
use orch_stdlib::kinds::{FieldSchema, KindSchema, empty_list};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![database(), role(), schema(), grant()]
}

/// The object types `pg.grant` knows.
const GRANT_OBJECT_TYPES: &[&str] = &["database", "schema", "table", "sequence", "function"];

fn database() -> KindSchema {
    KindSchema::resource(
        "pg.database",
        "A PostgreSQL database. It is created outside a transaction (PostgreSQL requires it) \
         and deleted with `DROP DATABASE … WITH (FORCE)`, which ends open sessions first.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The database's name. Changing it renames the database in place \
                 (`ALTER DATABASE … RENAME TO`).",
            ),
            FieldSchema::optional(
                "owner",
                Ty::String,
                "The role that owns the database, changed in place. When left out, the owner \
                 is not managed: a new database belongs to the role the provider connects as, \
                 and a change of owner made outside Orch is kept.",
            ),
            FieldSchema::optional(
                "template",
                Ty::String,
                "The database copied to create this one. When left out, `template0` (a \
                 pristine database, as Terraform's provider does); `\"DEFAULT\"` uses the \
                 server's default (`template1`). Changing it replaces the database.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "encoding",
                Ty::String,
                "The character set, such as `UTF8`. When left out, `UTF8` (from `template0`; from another template, \
                 the template's); `\"DEFAULT\"` takes the template's. Changing it replaces the database.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "lc_collate",
                Ty::String,
                "The collation order (`LC_COLLATE`), such as `C` or `en_US.UTF-8`. When left \
                 out, `C` (from `template0`; from another template, the template's); \
                 `\"DEFAULT\"` takes the template's. Changing it replaces the \
                 database.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "lc_ctype",
                Ty::String,
                "The character classification (`LC_CTYPE`). When left out, `C` (from `template0`; \
                 from another template, the template's); `\"DEFAULT\"` takes the template's. Changing it replaces the database.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "tablespace_name",
                Ty::String,
                "The tablespace the database's objects go to by default. When left out (or \
                 `\"DEFAULT\"`), the template's, and not managed. Changing it moves the \
                 database in place (`ALTER DATABASE … SET TABLESPACE`), which needs every \
                 session to it closed.",
            ),
            FieldSchema::defaulted(
                "alter_object_ownership",
                Ty::Bool,
                Value::Bool(false),
                "When `owner` changes, also give the new owner every object the old owner \
                 owns in the database (`REASSIGN OWNED BY old TO new`, run in the database).",
            ),
            FieldSchema::defaulted(
                "connection_limit",
                Ty::Int,
                Value::Int(-1),
                "How many sessions may be connected to the database at once; `-1` means no \
                 limit.",
            ),
            FieldSchema::defaulted(
                "allow_connections",
                Ty::Bool,
                Value::Bool(true),
                "Whether anyone may connect to the database.",
            ),
            FieldSchema::defaulted(
                "is_template",
                Ty::Bool,
                Value::Bool(false),
                "Whether the database may be used as a `template` by users with the \
                 `CREATEDB` privilege (not only by its owner and superusers).",
            ),
        ],
    )
    .with_identity(&["name"])
}

fn role() -> KindSchema {
    KindSchema::resource(
        "pg.role",
        "A PostgreSQL role (a user when it may log in). Everything is updated in place. \
         Deleting it first reassigns and drops what it owns (`REASSIGN OWNED`, `DROP OWNED`) \
         in every database where it owns objects or holds privileges, then drops the role.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The role's name. Changing it renames the role in place (`ALTER ROLE … RENAME \
                 TO`); PostgreSQL then clears an MD5 password, which is set again.",
            ),
            FieldSchema::defaulted(
                "login",
                Ty::Bool,
                Value::Bool(false),
                "Whether the role may log in, which makes it a user.",
            ),
            FieldSchema::optional(
                "password",
                Ty::String,
                "The role's password. It is sent as a SCRAM-SHA-256 verifier computed on the \
                 client, so the password itself never reaches the server or its logs. The \
                 server keeps only that hash, so a password changed by hand cannot be \
                 detected. Sensitive: never shown, and encrypted in state. Without it, or \
                 with `\"\"`, the role has no password.",
            )
            .marked_sensitive(),
            FieldSchema::defaulted(
                "superuser",
                Ty::Bool,
                Value::Bool(false),
                "Whether the role bypasses every permission check.",
            ),
            FieldSchema::defaulted(
                "create_database",
                Ty::Bool,
                Value::Bool(false),
                "Whether the role may create databases (`CREATEDB`).",
            ),
            FieldSchema::defaulted(
                "create_role",
                Ty::Bool,
                Value::Bool(false),
                "Whether the role may create, alter and drop other roles (`CREATEROLE`).",
            ),
            FieldSchema::defaulted(
                "inherit",
                Ty::Bool,
                Value::Bool(true),
                "Whether the role uses the privileges of the roles it is a member of without \
                 `SET ROLE`.",
            ),
            FieldSchema::defaulted(
                "replication",
                Ty::Bool,
                Value::Bool(false),
                "Whether the role may start streaming replication and take base backups.",
            ),
            FieldSchema::defaulted(
                "bypass_row_level_security",
                Ty::Bool,
                Value::Bool(false),
                "Whether the role bypasses every row-level security policy (`BYPASSRLS`).",
            ),
            FieldSchema::defaulted(
                "connection_limit",
                Ty::Int,
                Value::Int(-1),
                "How many sessions the role may have at once; `-1` means no limit.",
            ),
            FieldSchema::defaulted(
                "statement_timeout",
                Ty::Int,
                Value::Int(0),
                "The role's `statement_timeout` in milliseconds (`ALTER ROLE … SET \
                 statement_timeout`): a statement running longer is cancelled. `0` keeps the \
                 server's setting.",
            ),
            FieldSchema::defaulted(
                "idle_in_transaction_session_timeout",
                Ty::Int,
                Value::Int(0),
                "The role's `idle_in_transaction_session_timeout` in milliseconds: a session \
                 idle inside a transaction for longer is ended. `0` keeps the server's setting.",
            ),
            FieldSchema::defaulted(
                "valid_until",
                Ty::String,
                Value::string("infinity"),
                "When the password stops working, as a timestamp PostgreSQL understands \
                 (`2030-01-01 00:00:00+00`), or `infinity` for never.",
            ),
            FieldSchema::defaulted(
                "roles",
                Ty::list(Ty::String),
                empty_list(),
                "The roles this role is a member of (`GRANT group TO role`). The list is kept \
                 exact: memberships not listed are revoked.",
            ),
            FieldSchema::defaulted(
                "search_path",
                Ty::list(Ty::String),
                empty_list(),
                "The role's default schema search path (`ALTER ROLE … SET search_path`); \
                 empty keeps the server's default.",
            ),
            FieldSchema::defaulted(
                "skip_reassign_owned",
                Ty::Bool,
                Value::Bool(false),
                "When the role is deleted, do not reassign and drop what it owns first \
                 (`REASSIGN OWNED`, `DROP OWNED`): deleting a role that still owns objects \
                 then fails with the server's message.",
            ),
            FieldSchema::defaulted(
                "skip_drop_role",
                Ty::Bool,
                Value::Bool(false),
                "When the role is deleted, leave it on the server and only forget it (for a \
                 role that several states or databases share).",
            ),
        ],
    )
    .with_identity(&["name"])
}

fn schema() -> KindSchema {
    KindSchema::resource(
        "pg.schema",
        "A schema in a PostgreSQL database.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The schema's name. Changing it renames the schema in place (`ALTER SCHEMA … \
                 RENAME TO`).",
            ),
            FieldSchema::optional(
                "database",
                Ty::String,
                "The database the schema lives in; by default the provider's. Changing it \
                 creates the schema in the new database and drops the old one.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "owner",
                Ty::String,
                "The role that owns the schema, changed in place. When left out, the owner is \
                 not managed: a new schema belongs to the role the provider connects as, and a \
                 change of owner made outside Orch is kept.",
            ),
            FieldSchema::defaulted(
                "if_not_exists",
                Ty::Bool,
                Value::Bool(true),
                "Whether to adopt a schema of that name that already exists instead of failing.",
            ),
            FieldSchema::defaulted(
                "drop_cascade",
                Ty::Bool,
                Value::Bool(false),
                "Whether deleting the schema also drops every object in it (`DROP SCHEMA … \
                 CASCADE`). Otherwise deleting a schema that is not empty fails.",
            ),
        ],
    )
    .with_identity(&["database", "name"])
}

fn grant() -> KindSchema {
    let object_types: Arc<[SmolStr]> = GRANT_OBJECT_TYPES.iter().map(SmolStr::new).collect();
    KindSchema::resource(
        "pg.grant",
        "Privileges of a role on a database, a schema, or objects in a schema. Only \
         `privileges` is updated in place: in one transaction, everything is revoked and the \
         new set granted, so the role never loses a privilege it keeps. Every other field \
         identifies the grant, and changing it replaces the grant.",
        vec![
            FieldSchema::required(
                "role",
                Ty::String,
                "The role that receives the privileges, or `public` for every role.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "database",
                Ty::String,
                "The database the privileges apply to, or in which the objects live.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "schema",
                Ty::String,
                "The schema of the objects; required unless `object_type` is `\"database\"`.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "object_type",
                Ty::Enum(object_types),
                "What the privileges are on: `\"database\"`, `\"schema\"`, `\"table\"`, \
                 `\"sequence\"` or `\"function\"`.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "objects",
                Ty::list(Ty::String),
                empty_list(),
                "The tables, sequences or functions to grant on. A function with its argument \
                 types, such as `f(integer)`, names that one overload; a plain `f` names every \
                 overload. Empty means every such object that exists in the schema when the \
                 grant is applied (not ones created later). Must be empty for `database` and \
                 `schema` grants.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "privileges",
                Ty::list(Ty::String),
                "The privileges, such as `[\"SELECT\", \"INSERT\"]`, or `[\"ALL\"]`. Valid ones \
                 depend on `object_type`: database `CREATE`, `CONNECT`, `TEMPORARY`; schema \
                 `CREATE`, `USAGE`; table `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, \
                 `REFERENCES`, `TRIGGER`; sequence `USAGE`, `SELECT`, `UPDATE`; function \
                 `EXECUTE`. The set is kept exact; an empty list revokes everything.",
            ),
            FieldSchema::defaulted(
                "with_grant_option",
                Ty::Bool,
                Value::Bool(false),
                "Whether the role may grant these privileges to others.",
            )
            .forcing_replacement(),
        ],
    )
}
