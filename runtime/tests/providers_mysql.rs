//! The `mysql` provider against a real MySQL or MariaDB server, named by
//! `ORCH_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`); a test that
//! needs it fails when it cannot be reached, unless `ORCH_TEST_SKIP_MYSQL=1`
//! (`common/mysql.rs`). Changes made behind the provider's back, and what the
//! tests check, go through the server's own client. Every test uses names
//! with a random suffix and removes what it made, also when it fails.

mod common;

use common::values::{config, list, s, unique, with};

use std::collections::BTreeMap;

use common::mysql::Server;
use orch_runtime::provider::{Change, OpContext, Provider, field};
use orch_runtime::providers::mysql::MysqlProvider;
use orch_stdlib::Value;

/// The test server, or returns from the test when told to skip.
macro_rules! server_or_skip {
    () => {
        match common::mysql::server() {
            Some(server) => server,
            None => return,
        }
    };
}

fn ctx() -> OpContext {
    OpContext::new(std::env::temp_dir(), "mysql.test")
}

async fn provider(server: &Server) -> MysqlProvider {
    let mut provider = MysqlProvider::default();
    provider
        .configure(&Value::map(BTreeMap::from([("url".into(), Value::secret(s(&server.url)))])))
        .await
        .expect("the provider takes a URL");
    provider.probe().await.expect("the provider reaches the test server");
    provider
}

/// SQL run when a test ends, however it ends: drops what the test made.
struct Cleanup {
    server: Server,
    statements: Vec<String>,
}

impl Cleanup {
    fn new(server: &Server) -> Cleanup {
        Cleanup { server: server.clone(), statements: Vec::new() }
    }

    fn database(&mut self, name: &str) {
        self.statements.push(format!("DROP DATABASE IF EXISTS `{name}`"));
    }

    fn user(&mut self, user: &str) {
        self.statements.push(format!("DROP USER IF EXISTS '{user}'@'%'"));
    }

    fn role(&mut self, name: &str) {
        self.statements.push(format!("DROP ROLE IF EXISTS '{name}'"));
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for sql in self.statements.iter().rev() {
            let _ = self.server.sql(sql);
        }
    }
}

/// Whether planning `config` against the object `prior` (as read back)
/// changes nothing.
fn no_change(provider: &MysqlProvider, kind: &str, prior: &Value, config: &Value) -> bool {
    let planned = provider.plan(kind, Some(prior), config);
    planned.requires_replace.is_empty() && planned.value.reveal_all() == prior.reveal_all()
}

/// Reads the object, failing the test when it is gone.
async fn read(provider: &MysqlProvider, kind: &str, prior: &Value) -> Value {
    provider.read(&ctx(), kind, prior).await.expect("read").expect("the object exists")
}

async fn apply(provider: &MysqlProvider, kind: &str, change: Change<'_>) -> Option<Value> {
    provider.apply(&ctx(), kind, change).await.unwrap_or_else(|err| panic!("{kind}: {err}"))
}

fn one(server: &Server, sql: &str) -> Vec<String> {
    server.exec(sql).into_iter().next().unwrap_or_default()
}

#[tokio::test]
async fn database_lifecycle() {
    let server = server_or_skip!();
    let provider = provider(&server).await;
    let (name, renamed) = (unique("orch_db"), unique("orch_db"));
    let mut cleanup = Cleanup::new(&server);
    cleanup.database(&name);
    cleanup.database(&renamed);
    let kind = "mysql.database";
    let schemata = |name: &str| {
        format!(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM \
             information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
        )
    };

    // Create: the default character set, the server's collation.
    let wanted = config(kind, &[("name", s(&name))]);
    let created = apply(&provider, kind, Change::Create { config: &wanted }).await.unwrap();
    assert_eq!(one(&server, &schemata(&name))[0], "utf8mb4");
    assert_eq!(field(&created, "collation"), &Value::None);
    let current = read(&provider, kind, &created).await;
    assert_eq!(current, created);
    assert!(no_change(&provider, kind, &current, &wanted));

    // Drift by hand is seen, and repaired in place.
    server.exec(&format!("ALTER DATABASE `{name}` CHARACTER SET latin1"));
    let drifted = read(&provider, kind, &current).await;
    assert_eq!(field(&drifted, "charset"), &s("latin1"));
    let planned = provider.plan(kind, Some(&drifted), &wanted);
    assert!(planned.requires_replace.is_empty());
    assert_ne!(planned.value, drifted);
    apply(&provider, kind, Change::Update { prior: &drifted, config: &wanted }).await;
    assert_eq!(one(&server, &schemata(&name))[0], "utf8mb4");

    // Update in place: a collation.
    let collated = with(&wanted, "collation", s("utf8mb4_bin"));
    assert!(provider.plan(kind, Some(&current), &collated).requires_replace.is_empty());
    let updated = apply(&provider, kind, Change::Update { prior: &current, config: &collated })
        .await
        .unwrap();
    assert_eq!(one(&server, &schemata(&name)), ["utf8mb4", "utf8mb4_bin"]);
    assert!(no_change(&provider, kind, &read(&provider, kind, &updated).await, &collated));

    // A new name is a replacement.
    let moved = with(&collated, "name", s(&renamed));
    assert_eq!(provider.plan(kind, Some(&updated), &moved).requires_replace, ["name"]);

    // Import by name.
    let imported = provider.import(&ctx(), kind, &name).await.unwrap().expect("found");
    assert_eq!(field(&imported, "charset"), &s("utf8mb4"));
    // The server's collation is recorded: a configuration naming it, or
    // leaving it out, is no change after the import.
    assert_eq!(field(&imported, "collation"), &s("utf8mb4_bin"));
    assert!(no_change(&provider, kind, &imported, &collated));
    assert!(no_change(&provider, kind, &imported, &wanted));
    assert!(provider.import(&ctx(), kind, &renamed).await.unwrap().is_none());

    // A server error carries the server's message.
    let bad = config(kind, &[("name", s(&renamed)), ("charset", s("klingon"))]);
    let err = provider.apply(&ctx(), kind, Change::Create { config: &bad }).await.unwrap_err();
    assert!(err.message.contains("klingon") && !err.transient, "{}", err.message);

    // Delete leaves nothing.
    apply(&provider, kind, Change::Delete { prior: &updated }).await;
    assert!(server.exec(&schemata(&name)).is_empty());
    assert!(provider.read(&ctx(), kind, &updated).await.unwrap().is_none());
}

#[tokio::test]
async fn user_lifecycle() {
    let server = server_or_skip!();
    let provider = provider(&server).await;
    let (user, renamed) = (unique("orch_u"), unique("orch_u"));
    let mut cleanup = Cleanup::new(&server);
    cleanup.user(&user);
    cleanup.user(&renamed);
    let kind = "mysql.user";
    let auth = |user: &str| {
        server.exec(&format!(
            "SELECT authentication_string FROM mysql.user WHERE User = '{user}' AND Host = '%'"
        ))
    };

    let wanted = config(kind, &[("user", s(&user)), ("password", Value::secret(s("first-pw")))]);
    let created = apply(&provider, kind, Change::Create { config: &wanted }).await.unwrap();
    assert!(field(&created, "password").is_secret());
    assert!(server.can_log_in(&user, "first-pw"));
    // The server's hash is the one of the password.
    assert_eq!(auth(&user), server.exec("SELECT PASSWORD('first-pw')"));
    let current = read(&provider, kind, &created).await;
    assert!(no_change(&provider, kind, &current, &wanted));

    // A password changed by hand is drift, repaired by apply.
    server.exec(&format!("SET PASSWORD FOR '{user}'@'%' = PASSWORD('by-hand')"));
    let drifted = read(&provider, kind, &current).await;
    assert!(field(&drifted, "password").is_secret());
    assert!(!no_change(&provider, kind, &drifted, &wanted));
    apply(&provider, kind, Change::Update { prior: &drifted, config: &wanted }).await;
    assert!(server.can_log_in(&user, "first-pw"));
    assert!(!server.can_log_in(&user, "by-hand"));

    // A new password, in place.
    let second = with(&wanted, "password", Value::secret(s("second-pw")));
    let updated =
        apply(&provider, kind, Change::Update { prior: &current, config: &second }).await.unwrap();
    assert!(server.can_log_in(&user, "second-pw"));

    // A new name is a rename in place, keeping the password.
    let moved = with(&second, "user", s(&renamed));
    assert!(provider.plan(kind, Some(&updated), &moved).requires_replace.is_empty());
    let renamed_object =
        apply(&provider, kind, Change::Update { prior: &updated, config: &moved }).await.unwrap();
    assert!(auth(&user).is_empty());
    assert!(server.can_log_in(&renamed, "second-pw"));
    assert!(no_change(&provider, kind, &read(&provider, kind, &renamed_object).await, &moved));

    // Import by USER@HOST: the password is not known until applied.
    let imported =
        provider.import(&ctx(), kind, &format!("{renamed}@%")).await.unwrap().expect("found");
    assert_eq!(field(&imported, "host"), &s("%"));
    assert!(!no_change(&provider, kind, &imported, &moved));
    assert!(provider.import(&ctx(), kind, &format!("{user}@%")).await.unwrap().is_none());

    // Delete leaves nothing.
    apply(&provider, kind, Change::Delete { prior: &renamed_object }).await;
    assert!(auth(&renamed).is_empty());
}

#[tokio::test]
async fn role_lifecycle() {
    let server = server_or_skip!();
    let provider = provider(&server).await;
    let (name, other) = (unique("orch_r"), unique("orch_r"));
    let mut cleanup = Cleanup::new(&server);
    cleanup.role(&name);
    cleanup.role(&other);
    let kind = "mysql.role";
    let roles = |name: &str| {
        server.exec(&format!("SELECT User FROM mysql.user WHERE User = '{name}' AND is_role = 'Y'"))
    };

    let wanted = config(kind, &[("name", s(&name))]);
    let created = apply(&provider, kind, Change::Create { config: &wanted }).await.unwrap();
    assert_eq!(roles(&name).len(), 1);
    assert!(no_change(&provider, kind, &read(&provider, kind, &created).await, &wanted));

    // Dropped by hand: gone, so the plan creates it again.
    server.exec(&format!("DROP ROLE '{name}'"));
    assert!(provider.read(&ctx(), kind, &created).await.unwrap().is_none());
    apply(&provider, kind, Change::Create { config: &wanted }).await;
    assert_eq!(roles(&name).len(), 1);

    // A new name is a replacement.
    let moved = with(&wanted, "name", s(&other));
    assert_eq!(provider.plan(kind, Some(&created), &moved).requires_replace, ["name"]);

    // A role that exists already is a server error with its message.
    let err = provider.apply(&ctx(), kind, Change::Create { config: &wanted }).await.unwrap_err();
    assert!(err.message.contains(&name), "{}", err.message);

    assert!(provider.import(&ctx(), kind, &name).await.unwrap().is_some());
    assert!(provider.import(&ctx(), kind, &other).await.unwrap().is_none());

    apply(&provider, kind, Change::Delete { prior: &created }).await;
    assert!(roles(&name).is_empty());
}

#[tokio::test]
async fn grant_lifecycle() {
    let server = server_or_skip!();
    let provider = provider(&server).await;
    let (user, database, role) = (unique("orch_g"), unique("orch_gdb"), unique("orch_gr"));
    let mut cleanup = Cleanup::new(&server);
    cleanup.user(&user);
    cleanup.database(&database);
    cleanup.role(&role);
    server.exec(&format!(
        "CREATE DATABASE `{database}`; CREATE TABLE `{database}`.t (id INT); \
         CREATE USER '{user}'@'%'; CREATE ROLE '{role}'"
    ));
    let kind = "mysql.grant";
    let grants = |grantee: &str| -> Vec<String> {
        server
            .exec(&format!("SHOW GRANTS FOR {grantee}"))
            .into_iter()
            .map(|row| row.join("\t"))
            .filter(|line| line.contains(&database))
            .collect()
    };
    let account = format!("'{user}'@'%'");

    let wanted = config(
        kind,
        &[
            ("user", s(&user)),
            ("database", s(&database)),
            ("privileges", list(&["select", "Insert"])),
        ],
    );
    let created = apply(&provider, kind, Change::Create { config: &wanted }).await.unwrap();
    assert_eq!(
        grants(&account),
        [format!("GRANT SELECT, INSERT ON `{database}`.* TO `{user}`@`%`")]
    );
    let current = read(&provider, kind, &created).await;
    assert!(no_change(&provider, kind, &current, &wanted));
    // The same set written otherwise is no change.
    let reordered = with(&wanted, "privileges", list(&["INSERT", "SELECT", "select"]));
    assert!(no_change(&provider, kind, &current, &reordered));

    // Drift by hand: a revoked privilege and an extra one.
    server.exec(&format!("REVOKE INSERT ON `{database}`.* FROM {account}"));
    server.exec(&format!("GRANT DELETE ON `{database}`.* TO {account}"));
    let drifted = read(&provider, kind, &current).await;
    let mut privileges = lists(field(&drifted, "privileges"));
    privileges.sort();
    assert_eq!(privileges, ["DELETE", "SELECT"]);
    assert!(!no_change(&provider, kind, &drifted, &wanted));
    apply(&provider, kind, Change::Update { prior: &drifted, config: &wanted }).await;
    assert_eq!(
        grants(&account),
        [format!("GRANT SELECT, INSERT ON `{database}`.* TO `{user}`@`%`")]
    );

    // Update in place: ALL with the grant option, then back to one privilege.
    let all = with(&with(&wanted, "privileges", list(&["ALL"])), "grant_option", Value::Bool(true));
    assert!(provider.plan(kind, Some(&current), &all).requires_replace.is_empty());
    let updated =
        apply(&provider, kind, Change::Update { prior: &current, config: &all }).await.unwrap();
    assert_eq!(
        grants(&account),
        [format!("GRANT ALL PRIVILEGES ON `{database}`.* TO `{user}`@`%` WITH GRANT OPTION")]
    );
    assert!(no_change(&provider, kind, &read(&provider, kind, &updated).await, &all));
    let select = with(&wanted, "privileges", list(&["SELECT"]));
    let narrowed =
        apply(&provider, kind, Change::Update { prior: &updated, config: &select }).await.unwrap();
    assert_eq!(grants(&account), [format!("GRANT SELECT ON `{database}`.* TO `{user}`@`%`")]);

    // Another table is a replacement.
    let table = with(&select, "table", s("t"));
    assert_eq!(provider.plan(kind, Some(&narrowed), &table).requires_replace, ["table"]);

    // Import by USER@HOST@DATABASE@TABLE.
    let id = format!("{user}@%@{database}@*");
    let imported = provider.import(&ctx(), kind, &id).await.unwrap().expect("found");
    assert!(no_change(&provider, kind, &imported, &select));
    let missing = format!("{user}@%@{database}@t");
    assert!(provider.import(&ctx(), kind, &missing).await.unwrap().is_none());

    // A role's grant on one table.
    let role_grant = config(
        kind,
        &[
            ("role", s(&role)),
            ("database", s(&database)),
            ("table", s("t")),
            ("privileges", list(&["UPDATE"])),
        ],
    );
    let role_object = apply(&provider, kind, Change::Create { config: &role_grant }).await.unwrap();
    assert_eq!(
        grants(&format!("'{role}'")),
        [format!("GRANT UPDATE ON `{database}`.`t` TO `{role}`")]
    );
    let role_id = format!("{role}@{database}@t");
    assert!(provider.import(&ctx(), kind, &role_id).await.unwrap().is_some());

    // A grant to an account that does not exist: the server's message.
    let nobody = with(&wanted, "user", s(&unique("orch_nobody")));
    let err = provider.apply(&ctx(), kind, Change::Create { config: &nobody }).await.unwrap_err();
    assert!(err.message.contains("orch_nobody"), "{}", err.message);

    // Delete revokes everything at the level.
    apply(&provider, kind, Change::Delete { prior: &narrowed }).await;
    apply(&provider, kind, Change::Delete { prior: &role_object }).await;
    assert!(grants(&account).is_empty());
    assert!(grants(&format!("'{role}'")).is_empty());
    assert!(provider.read(&ctx(), kind, &narrowed).await.unwrap().is_none());
    // Deleting again, or for an account that is gone, is no error.
    server.exec(&format!("DROP USER {account}"));
    apply(&provider, kind, Change::Delete { prior: &narrowed }).await;
}

fn lists(value: &Value) -> Vec<String> {
    match value.reveal().0 {
        Value::List(items) => items.iter().map(|item| item.as_str().unwrap().to_string()).collect(),
        other => panic!("not a list: {other:?}"),
    }
}

#[tokio::test]
async fn validation_and_connection_failures() {
    let provider = MysqlProvider::default();
    let grant = config("mysql.grant", &[("database", s("d")), ("privileges", list(&["SELECT"]))]);
    assert_eq!(provider.validate("mysql.grant", &grant), ["set `user` (an account) or `role`"]);
    let injected = config(
        "mysql.grant",
        &[
            ("user", s("u")),
            ("database", s("d")),
            ("privileges", list(&["SELECT; DROP DATABASE d"])),
        ],
    );
    assert_eq!(provider.validate("mysql.grant", &injected).len(), 1);
    let user = config("mysql.user", &[("user", s("u")), ("password", Value::secret(s("")))]);
    assert_eq!(provider.validate("mysql.user", &user).len(), 1);
    let long = config("mysql.database", &[("name", s(&"x".repeat(65)))]);
    assert_eq!(provider.validate("mysql.database", &long).len(), 1);

    // Nothing listens on port 1: a transient failure that never shows the
    // URL's password.
    let mut provider = MysqlProvider::default();
    let block = Value::map(BTreeMap::from([(
        "url".into(),
        Value::secret(s("mysql://root:hunter2@127.0.0.1:1")),
    )]));
    provider.configure(&block).await.unwrap();
    let err = provider.probe().await.unwrap_err();
    assert!(err.transient, "{}", err.message);
    assert!(
        err.message.contains("127.0.0.1:1") && !err.message.contains("hunter2"),
        "{}",
        err.message
    );
}
