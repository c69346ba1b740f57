//! `orchc import ADDR ID` end to end for the server providers: an object
//! made outside Orch with the server's own client is adopted, the next plan
//! has nothing to do, an id that names nothing is an error, and destroy
//! removes the adopted object (checked on the server). NATS is in
//! `tests/nats.rs`, PostgreSQL in `tests/import.rs`. Servers and skipping as
//! in `common` (`ORCH_TEST_<NAME>_URL`, `ORCH_TEST_SKIP_<NAME>=1`).
//!
//! The `every_…_kind_…` tests adopt one object of every kind of a provider,
//! each made by hand with the server's own client (`mariadb`, `redis-cli`,
//! the RabbitMQ management API), then drift it by hand and repair it,
//! replace objects for real and check the server's catalogue after each
//! step, and destroy (the coverage table is in `docs/runtime.md`).

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::orch::{Orch, actions, drift_fields};

fn unique() -> String {
    format!(
        "{:08x}",
        std::process::id() ^ (std::time::UNIX_EPOCH.elapsed().unwrap().subsec_nanos())
    )
}

/// Imports `id` into `address`, checks the plan is then empty (after one
/// apply when `settle`: a password cannot be read back, so an imported one
/// is set once), that an unknown id fails, and destroys.
fn import_then_destroy(
    orch: &Orch,
    address: &str,
    kind: &str,
    id: &str,
    unknown: &str,
    settle: bool,
) {
    let import = orch.run(&["import", address, id, "main.orch"]);
    import.expect_code(0);
    let said = format!("Imported {kind} \"{id}\" into `{address}`");
    assert!(import.stdout.contains(&said), "{}", import.stdout);
    if settle {
        let run = orch.apply(&[]);
        assert!(run.stdout.contains("1 updated"), "{}", run.stdout);
    }
    orch.expect_no_changes(&[]);
    let again = orch.run(&["import", address, unknown, "main.orch"]);
    assert_ne!(again.code, 0, "{}", again.stdout);
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
}

#[test]
fn a_mysql_database_made_by_hand_is_imported() {
    let Some(server) = common::mysql::server() else { return };
    let name = format!("orch_imp_{}", unique());
    server.exec(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"));
    let orch = Orch::new(&format!(
        "provider mysql {{ url = \"{}\" }}\n\nresource db: mysql.database {{ name = \"{name}\" }}\n",
        server.url
    ));
    let present = |name: &str| {
        !server
            .exec(&format!(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
            ))
            .is_empty()
    };
    import_then_destroy(&orch, "db", "mysql.database", &name, "orch_imp_no_such_db", false);
    let left = present(&name);
    let _ = server.sql(&format!("DROP DATABASE IF EXISTS `{name}`"));
    assert!(!left, "destroy leaves the imported database");
}

#[test]
fn a_redis_acl_user_made_by_hand_is_imported() {
    let Some(url) = common::redis::server() else { return };
    let name = format!("orch_imp_{}", unique());
    let _: String =
        common::redis::command(&url, &["ACL", "SETUSER", &name, "on", "nopass", "~imp:*", "+get"]);
    let orch = Orch::new(&format!(
        "provider redis {{ url = \"{url}\" }}\n\nresource u: redis.acl_user {{\n  name     = \"{name}\"\n  password = \"imp-pw-1\"\n  keys     = [\"imp:*\"]\n  commands = [\"+get\"]\n}}\n"
    ));
    import_then_destroy(&orch, "u", "redis.acl_user", &name, "orch_imp_nobody", true);
    let gone: redis::Value = common::redis::command(&url, &["ACL", "GETUSER", &name]);
    let _: i64 = common::redis::command(&url, &["ACL", "DELUSER", &name]);
    assert_eq!(gone, redis::Value::Nil, "destroy leaves the imported user");
}

#[test]
fn a_rabbitmq_vhost_made_by_hand_is_imported() {
    let Some(server) = common::rabbitmq::server() else { return };
    let vhost = common::rabbitmq::unique("orch_imp");
    let path = format!("/api/vhosts/{}", common::rabbitmq::encode(&vhost));
    server.send("PUT", &path, None);
    let orch = Orch::new(&format!(
        "provider rabbitmq {{\n  endpoint = \"{}\"\n  username = \"{}\"\n  password = pw\n}}\n\nparam pw: secret<string>\n\nresource vh: rabbitmq.vhost {{ name = \"{vhost}\" }}\n",
        server.endpoint, server.username
    ))
    .with(Vec::new(), vec![("ORCH_VAR_pw".into(), server.password.clone())]);
    import_then_destroy(&orch, "vh", "rabbitmq.vhost", &vhost, "orch_imp_no_such_vhost", false);
    let left = server.exists(&path);
    server.remove(&vhost, &[]);
    assert!(!left, "destroy leaves the imported virtual host");
}

/// Drops what a MySQL test made, however it ends.
struct MysqlCleanup {
    server: common::mysql::Server,
    statements: Vec<String>,
}

impl Drop for MysqlCleanup {
    fn drop(&mut self) {
        for sql in &self.statements {
            let _ = self.server.sql(sql);
        }
    }
}

fn mysql_project(url: &str, db: &str, user: &str, role: &str, table: &str) -> String {
    format!(
        r#"provider mysql {{ url = "{url}" }}

resource db: mysql.database {{
  name      = "{db}"
  collation = "utf8mb4_bin"
}}

resource app: mysql.user {{
  user     = "{user}"
  password = "imp-pw-1"
}}

resource reader: mysql.role {{ name = "{role}" }}

resource access: mysql.grant {{
  user       = app.user
  host       = app.host
  database   = db.name
  table      = "{table}"
  privileges = ["SELECT"]
}}
"#
    )
}

#[test]
fn every_mysql_kind_made_by_hand_is_imported_repaired_replaced_and_destroyed() {
    let Some(server) = common::mysql::server() else { return };
    let tag = unique();
    let db = format!("orch_impall_{tag}_db");
    let user = format!("orch_impall_{tag}_u");
    let (role, role2) = (format!("orch_impall_{tag}_r"), format!("orch_impall_{tag}_r2"));
    let _cleanup = MysqlCleanup {
        server: server.clone(),
        statements: vec![
            format!("DROP DATABASE IF EXISTS `{db}`"),
            format!("DROP USER IF EXISTS '{user}'@'%'"),
            format!("DROP ROLE IF EXISTS '{role}'"),
            format!("DROP ROLE IF EXISTS '{role2}'"),
        ],
    };
    server.exec(&format!(
        "CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; CREATE TABLE `{db}`.t (id INT); \
         CREATE USER '{user}'@'%' IDENTIFIED BY 'by-hand'; CREATE ROLE '{role}'; \
         GRANT SELECT ON `{db}`.* TO '{user}'@'%'"
    ));
    let grants = || -> Vec<String> {
        server
            .exec(&format!("SHOW GRANTS FOR '{user}'@'%'"))
            .into_iter()
            .map(|row| row.join("\t"))
            .filter(|line| line.contains(&db))
            .collect()
    };
    let is_role = |name: &str| {
        !server
            .exec(&format!("SELECT 1 FROM mysql.user WHERE User = '{name}' AND is_role = 'Y'"))
            .is_empty()
    };
    let orch = Orch::new(&mysql_project(&server.url, &db, &user, &role, "*"));

    for (address, id) in [
        ("db", db.clone()),
        ("app", format!("{user}@%")),
        ("reader", role.clone()),
        ("access", format!("{user}@%@{db}@*")),
    ] {
        let import = orch.run(&["import", address, &id, "main.orch"]);
        assert!(import.expect_code(0).stdout.contains("Imported"), "{}", import.stdout);
    }
    // The password cannot be read back: the first apply sets it (and only
    // it: the database's collation was imported as the server has it).
    let run = orch.apply(&[]);
    assert!(run.stdout.contains(" 1 updated in"), "{}", run.stdout);
    assert!(server.can_log_in(&user, "imp-pw-1") && !server.can_log_in(&user, "by-hand"));
    orch.expect_no_changes(&[]);

    // Drift by hand, repaired.
    server.exec(&format!("GRANT INSERT ON `{db}`.* TO '{user}'@'%'"));
    let plan = orch.plan_json(&[]);
    assert_eq!(drift_fields(&plan, "access"), ["privileges"], "{plan}");
    orch.apply(&[]);
    assert_eq!(grants(), [format!("GRANT SELECT ON `{db}`.* TO `{user}`@`%`")]);

    // Real replacements: a role under a new name, a grant on one table.
    orch.write("main.orch", &mysql_project(&server.url, &db, &user, &role2, "t"));
    let plan = orch.plan_json(&[]);
    assert_eq!(
        actions(&plan),
        BTreeMap::from([
            ("access".to_string(), "replace".to_string()),
            ("reader".to_string(), "replace".to_string()),
        ]),
        "{plan}"
    );
    orch.apply(&[]);
    assert!(!is_role(&role) && is_role(&role2));
    assert_eq!(grants(), [format!("GRANT SELECT ON `{db}`.`t` TO `{user}`@`%`")]);
    orch.expect_no_changes(&[]);

    // Destroy leaves nothing in the catalogue.
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    let schema = format!("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db}'");
    assert!(server.exec(&schema).is_empty());
    assert!(server.exec(&format!("SELECT 1 FROM mysql.user WHERE User = '{user}'")).is_empty());
    assert!(!is_role(&role2));
    assert!(orch.state_list().is_empty());
}

use common::redis::cli as redis_cli;

fn redis_config(url: &str, parameter: &str) -> String {
    redis_cli(url, &["CONFIG", "GET", parameter]).get(1).cloned().unwrap_or_default()
}

fn redis_groups(url: &str, stream: &str) -> Vec<String> {
    let lines = redis_cli(url, &["XINFO", "GROUPS", stream]);
    lines.windows(2).filter(|pair| pair[0] == "name").map(|pair| pair[1].clone()).collect()
}

/// Sets back the parameters and removes the stream a Redis test used.
struct RedisCleanup {
    url: String,
    config: Vec<(String, String)>,
    stream: String,
}

impl Drop for RedisCleanup {
    fn drop(&mut self) {
        for (parameter, value) in &self.config {
            let _ = Command::new("redis-cli")
                .args(["-u", &self.url, "CONFIG", "SET", parameter, value])
                .output();
        }
        let _ = Command::new("redis-cli").args(["-u", &self.url, "DEL", &self.stream]).output();
    }
}

fn redis_project(url: &str, parameter: &str, value: &str, stream: &str, group: &str) -> String {
    format!(
        "provider redis {{ url = \"{url}\" }}\n\n\
         resource cfg: redis.config {{\n  parameter = \"{parameter}\"\n  value     = \"{value}\"\n}}\n\n\
         resource readers: redis.stream_group {{\n  stream = \"{stream}\"\n  group  = \"{group}\"\n}}\n"
    )
}

#[test]
fn every_redis_kind_made_by_hand_is_imported_repaired_replaced_and_destroyed() {
    let Some(url) = common::redis::server() else { return };
    // Parameters no other test touches (redis.rs owns slowlog-max-len and
    // maxmemory-samples), harmless to change for a moment.
    let (decay, factor) = ("lfu-decay-time", "lfu-log-factor");
    let (decay_before, factor_before) = (redis_config(&url, decay), redis_config(&url, factor));
    let stream = format!("orch_impall:{}:jobs", unique());
    let _cleanup = RedisCleanup {
        url: url.clone(),
        config: vec![(decay.into(), decay_before.clone()), (factor.into(), factor_before.clone())],
        stream: stream.clone(),
    };
    redis_cli(&url, &["XGROUP", "CREATE", &stream, "readers", "$", "MKSTREAM"]);
    let orch = Orch::new(&redis_project(&url, decay, &decay_before, &stream, "readers"));
    for (address, id) in [("cfg", decay.to_string()), ("readers", format!("{stream}/readers"))] {
        orch.run(&["import", address, &id, "main.orch"]).expect_code(0);
    }
    orch.expect_no_changes(&[]);

    // Drift by hand: another value, the group destroyed. Repaired.
    redis_cli(&url, &["CONFIG", "SET", decay, "17"]);
    redis_cli(&url, &["XGROUP", "DESTROY", &stream, "readers"]);
    let plan = orch.plan_json(&[]);
    assert_eq!(
        actions(&plan),
        BTreeMap::from([
            ("cfg".to_string(), "update".to_string()),
            ("readers".to_string(), "create".to_string()),
        ]),
        "{plan}"
    );
    orch.apply(&[]);
    assert_eq!(redis_config(&url, decay), decay_before);
    assert_eq!(redis_groups(&url, &stream), ["readers"]);
    orch.expect_no_changes(&[]);

    // Update in place.
    orch.write("main.orch", &redis_project(&url, decay, "3", &stream, "readers"));
    orch.apply(&[]);
    assert_eq!(redis_config(&url, decay), "3");

    // Real replacements: another parameter (the old one gets its value
    // back), another group name.
    orch.write("main.orch", &redis_project(&url, factor, "12", &stream, "writers"));
    let plan = orch.plan_json(&[]);
    assert_eq!(
        actions(&plan),
        BTreeMap::from([
            ("cfg".to_string(), "replace".to_string()),
            ("readers".to_string(), "replace".to_string()),
        ]),
        "{plan}"
    );
    orch.apply(&[]);
    assert_eq!(redis_config(&url, decay), decay_before);
    assert_eq!(redis_config(&url, factor), "12");
    assert_eq!(redis_groups(&url, &stream), ["writers"]);
    orch.expect_no_changes(&[]);

    // Destroy: the parameter restored, no group left (the stream, which
    // holds data, stays).
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    assert_eq!(redis_config(&url, factor), factor_before);
    assert!(redis_groups(&url, &stream).is_empty());
    assert!(orch.state_list().is_empty());
}

/// The names the RabbitMQ project varies: the virtual host, the user, the
/// exchange's type, the binding's key and the policy's name.
#[derive(Clone, Copy)]
struct RabbitNames<'a> {
    vhost: &'a str,
    user: &'a str,
    exchange_type: &'a str,
    key: &'a str,
    policy: &'a str,
}

fn rabbit_project(server: &common::rabbitmq::Rabbit, names: &RabbitNames<'_>) -> String {
    let RabbitNames { vhost, user, exchange_type, key, policy } = names;
    format!(
        r#"provider rabbitmq {{
  endpoint = "{endpoint}"
  username = "{username}"
  password = pw
}}

param pw: secret<string>

resource vh: rabbitmq.vhost {{ name = "{vhost}" }}

resource app: rabbitmq.user {{
  name     = "{user}"
  password = "imp-pw-1"
  tags     = ["management"]
}}

resource perms: rabbitmq.permissions {{
  user  = app.name
  vhost = vh.name
}}

resource events: rabbitmq.exchange {{
  name  = "events"
  vhost = vh.name
  type  = "{exchange_type}"
}}

resource jobs: rabbitmq.queue {{
  name  = "jobs"
  vhost = vh.name
}}

resource route: rabbitmq.binding {{
  source      = events.name
  destination = jobs.name
  vhost       = vh.name
  routing_key = "{key}"
}}

resource limits: rabbitmq.policy {{
  name       = "{policy}"
  vhost      = vh.name
  pattern    = "^jobs$"
  apply_to   = "queues"
  definition = {{ "max-length" = 1000 }}
}}
"#,
        endpoint = server.endpoint,
        username = server.username,
    )
}

#[test]
fn every_rabbitmq_kind_made_by_hand_is_imported_repaired_replaced_and_destroyed() {
    use common::rabbitmq::encode;
    use serde_json::json;
    let Some(server) = common::rabbitmq::server() else { return };
    let vhost = common::rabbitmq::unique("orch_impall");
    let vhost2 = format!("{vhost}_b");
    let (user, user2) = (format!("{vhost}_u"), format!("{vhost}_u2"));
    struct Remove(common::rabbitmq::Rabbit, [String; 2], [String; 2]);
    impl Drop for Remove {
        fn drop(&mut self) {
            self.0.remove(&self.1[1], &[]);
            self.0.remove(&self.1[0], &[&self.2[0], &self.2[1]]);
        }
    }
    let _cleanup =
        Remove(server.clone(), [vhost.clone(), vhost2.clone()], [user.clone(), user2.clone()]);
    let v = encode(&vhost);
    let at = |collection: &str, name: &str| format!("/api/{collection}/{v}/{}", encode(name));
    server.send("PUT", &format!("/api/vhosts/{v}"), Some(json!({})));
    server.send(
        "PUT",
        &format!("/api/users/{}", encode(&user)),
        Some(json!({"password": "by hand", "tags": "management"})),
    );
    let permissions = |user: &str| format!("/api/permissions/{v}/{}", encode(user));
    server.send(
        "PUT",
        &permissions(&user),
        Some(json!({"configure": ".*", "write": ".*", "read": ".*"})),
    );
    server.send("PUT", &at("exchanges", "events"), Some(json!({"type": "topic", "durable": true})));
    server.send("PUT", &at("queues", "jobs"), Some(json!({"durable": true})));
    server.send(
        "POST",
        &format!("/api/bindings/{v}/e/events/q/jobs"),
        Some(json!({"routing_key": "job.#", "arguments": {}})),
    );
    server.send(
        "PUT",
        &at("policies", "limits"),
        Some(
            json!({"pattern": "^jobs$", "apply-to": "queues", "definition": {"max-length": 1000}}),
        ),
    );
    let first = RabbitNames {
        vhost: &vhost,
        user: &user,
        exchange_type: "topic",
        key: "job.#",
        policy: "limits",
    };
    let orch = Orch::new(&rabbit_project(&server, &first))
        .with(Vec::new(), vec![("ORCH_VAR_pw".into(), server.password.clone())]);
    for (address, id) in [
        ("vh", vhost.clone()),
        ("app", user.clone()),
        ("perms", format!("{user}@{vhost}")),
        ("events", format!("events@{vhost}")),
        ("jobs", format!("jobs@{vhost}")),
        ("route", format!("{vhost}/events/jobs/queue/job.%23")),
        ("limits", format!("limits@{vhost}")),
    ] {
        orch.run(&["import", address, &id, "main.orch"]).expect_code(0);
    }
    // The password cannot be read back: the first apply sets it.
    let run = orch.apply(&[]);
    assert!(run.stdout.contains("1 updated"), "{}", run.stdout);
    assert!(server.can_log_in(&user, "imp-pw-1") && !server.can_log_in(&user, "by hand"));
    orch.expect_no_changes(&[]);

    // Drift by hand: the exchange deleted, the policy's pattern changed.
    server.send("DELETE", &at("exchanges", "events"), None);
    server.send(
        "PUT",
        &at("policies", "limits"),
        Some(json!({"pattern": "^x$", "apply-to": "queues", "definition": {"max-length": 1000}})),
    );
    let plan = orch.plan_json(&[]);
    let planned = actions(&plan);
    assert_eq!(planned["events"], "create", "{plan}");
    assert_eq!(planned["limits"], "update", "{plan}");
    orch.apply(&[]);
    // The server dropped the binding with the exchange: the next plan
    // binds again.
    orch.apply(&[]);
    assert_eq!(server.get(&at("exchanges", "events")).expect("exchange")["type"], "topic");
    assert_eq!(server.get(&at("policies", "limits")).expect("policy")["pattern"], "^jobs$");
    orch.expect_no_changes(&[]);

    // Real replacements: the user (and so its permissions) under a new
    // name, the exchange of another type (and so its binding), the binding
    // with another key, the policy under another name.
    let second = RabbitNames {
        user: &user2,
        exchange_type: "direct",
        key: "job.*",
        policy: "caps",
        ..first
    };
    orch.write("main.orch", &rabbit_project(&server, &second));
    let replaced = |plan: &serde_json::Value| -> Vec<String> {
        actions(plan)
            .into_iter()
            .filter(|(_, action)| action == "replace")
            .map(|(address, _)| address)
            .collect()
    };
    let plan = orch.plan_json(&[]);
    assert_eq!(replaced(&plan), ["app", "events", "limits", "perms", "route"], "{plan}");
    orch.apply(&[]);
    assert_eq!(server.get(&at("exchanges", "events")).expect("exchange")["type"], "direct");
    assert!(!server.exists(&format!("/api/users/{}", encode(&user))));
    assert!(server.can_log_in(&user2, "imp-pw-1"));
    assert!(!server.exists(&permissions(&user)) && server.exists(&permissions(&user2)));
    let bindings = server.get(&format!("/api/bindings/{v}/e/events/q/jobs")).expect("bindings");
    let keys: Vec<&str> = bindings
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|b| b["routing_key"].as_str())
        .collect();
    assert_eq!(keys, ["job.*"], "{bindings}");
    assert!(!server.exists(&at("policies", "limits")) && server.exists(&at("policies", "caps")));
    orch.expect_no_changes(&[]);

    // A new virtual host name replaces it and everything in it.
    orch.write("main.orch", &rabbit_project(&server, &RabbitNames { vhost: &vhost2, ..second }));
    let plan = orch.plan_json(&[]);
    assert_eq!(replaced(&plan), ["events", "jobs", "limits", "perms", "route", "vh"], "{plan}");
    orch.apply(&[]);
    assert!(!server.exists(&format!("/api/vhosts/{v}")));
    let v2 = encode(&vhost2);
    for path in [
        format!("/api/exchanges/{v2}/events"),
        format!("/api/queues/{v2}/jobs"),
        format!("/api/policies/{v2}/caps"),
        format!("/api/permissions/{v2}/{}", encode(&user2)),
    ] {
        assert!(server.exists(&path), "{path}");
    }
    let bindings = server.get(&format!("/api/bindings/{v2}/e/events/q/jobs")).expect("bindings");
    assert_eq!(bindings.as_array().map(Vec::len), Some(1), "{bindings}");
    orch.expect_no_changes(&[]);

    // Destroy leaves nothing.
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    assert!(!server.exists(&format!("/api/vhosts/{v2}")));
    assert!(!server.exists(&format!("/api/users/{}", encode(&user2))));
    assert!(orch.state_list().is_empty());
}
