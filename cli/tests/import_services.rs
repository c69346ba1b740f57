//! `orchc import ADDR ID` end to end for the server providers: an object
//! made outside Orch with the server's own client is adopted, the next plan
//! has nothing to do, an id that names nothing is an error, and destroy
//! removes the adopted object (checked on the server). NATS is in
//! `tests/nats.rs`, PostgreSQL in `tests/import.rs`. Servers and skipping as
//! in `common` (`ORCH_TEST_<NAME>_URL`, `ORCH_TEST_SKIP_<NAME>=1`).

mod common;

use common::orch::Orch;

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
