//! The `mysql` provider: MySQL and MariaDB databases, users, roles and
//! grants, following Terraform's MySQL provider (petoju/mysql): a user's name
//! and host are renamed in place (`RENAME USER`); what the server cannot
//! change in place forces a replacement.

use orch_stdlib::Ty;
use orch_stdlib::Value;
use orch_stdlib::kinds::{FieldSchema, KindSchema};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![database(), user(), role(), grant()]
}

fn database() -> KindSchema {
    KindSchema::resource(
        "mysql.database",
        "A MySQL or MariaDB database (a schema). Its character set and collation are changed \
         in place (`ALTER DATABASE`); deleting it drops it with every table in it.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The database's name. The server cannot rename a database: changing it creates \
                 the new database and drops the old one.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "charset",
                Ty::String,
                Value::string("utf8mb4"),
                "The default character set of the database's tables, such as `utf8mb4` or \
                 `latin1`, changed in place.",
            ),
            FieldSchema::optional(
                "collation",
                Ty::String,
                "The default collation, such as `utf8mb4_unicode_ci`, changed in place. When \
                 left out, the server chooses the character set's default collation, and a \
                 collation changed by hand is kept.",
            ),
        ],
    )
    .with_identity(&["name"])
}

fn user() -> KindSchema {
    KindSchema::resource(
        "mysql.user",
        "A MySQL or MariaDB account, `'user'@'host'`. Its name, host and password are changed \
         in place; deleting it drops the account (`DROP USER`).",
        vec![
            FieldSchema::required(
                "user",
                Ty::String,
                "The account's user name. Changing it renames the account in place (`RENAME \
                 USER`), keeping its privileges.",
            ),
            FieldSchema::defaulted(
                "host",
                Ty::String,
                Value::string("%"),
                "The hosts the account may connect from: a name, an address, or a pattern \
                 with `%` (any host). Changing it renames the account in place (`RENAME \
                 USER`).",
            ),
            FieldSchema::optional(
                "password",
                Ty::String,
                "The account's password. On MariaDB only its `mysql_native_password` hash is \
                 sent (`IDENTIFIED BY PASSWORD`), so the password never reaches the server's \
                 logs; on MySQL it is sent over the connection (`IDENTIFIED BY`). A password \
                 changed by hand is drift when the server keeps that hash: it is repaired by \
                 setting the configured one again. Sensitive: never shown, and encrypted in \
                 state. Without it, the account has no password.",
            )
            .marked_sensitive(),
        ],
    )
    .with_identity(&["user", "host"])
}

fn role() -> KindSchema {
    KindSchema::resource(
        "mysql.role",
        "A MySQL or MariaDB role (`CREATE ROLE`): a named set of privileges that `mysql.grant` \
         fills and accounts are granted.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The role's name. The server cannot rename a role: changing it creates the new \
                 role and drops the old one.",
            )
            .forcing_replacement(),
        ],
    )
    .with_identity(&["name"])
}

fn grant() -> KindSchema {
    KindSchema::resource(
        "mysql.grant",
        "Privileges of an account or a role on a database or a table. `privileges` and \
         `grant_option` are updated in place: the missing privileges are granted before the \
         ones no longer listed are revoked, so the grantee never loses a privilege it keeps. \
         Every other field names the grant, and changing it replaces the grant. Deleting it \
         revokes the privileges.",
        vec![
            FieldSchema::optional(
                "user",
                Ty::String,
                "The account's user name that receives the privileges, with `host`. Set \
                 exactly one of `user` and `role`.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "role",
                Ty::String,
                "The role that receives the privileges. Set exactly one of `user` and `role`.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "host",
                Ty::String,
                Value::string("%"),
                "The account's host, with `user`; not used for a role.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "database",
                Ty::String,
                "The database the privileges apply to, or `*` for every database (global \
                 privileges).",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "table",
                Ty::String,
                Value::string("*"),
                "The table the privileges apply to, or `*` for every table of the database.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "privileges",
                Ty::list(Ty::String),
                "The privileges, such as `[\"SELECT\", \"INSERT\"]`, or `[\"ALL\"]` (the same \
                 as `ALL PRIVILEGES`). Compared without regard to case, order or repetition; \
                 the set is kept exact: privileges granted by hand at this level and not \
                 listed are revoked.",
            ),
            FieldSchema::defaulted(
                "grant_option",
                Ty::Bool,
                Value::Bool(false),
                "Whether the grantee may grant these privileges to others (`WITH GRANT \
                 OPTION`), changed in place.",
            ),
        ],
    )
    .with_identity(&["user", "role", "host", "database", "table"])
}
