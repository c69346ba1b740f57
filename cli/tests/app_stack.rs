//! `examples/app-stack` as its README runs it, against the real servers:
//! `orchc check`, `orchc apply`, `orchc plan` (no changes), `orchc destroy`,
//! with a name of its own (`--var app=...`) and the servers of the tests
//! (`ORCH_TEST_{PG,MYSQL,REDIS,RABBITMQ,NATS}_URL`). It fails when one of
//! them cannot be reached unless that server's `ORCH_TEST_SKIP_<NAME>=1`,
//! which skips it. Each server's catalogue is checked after apply and after
//! destroy; a failing run is destroyed on the way out.

mod common;

use std::path::Path;

use common::orch::Orch;
use serde_json::json;
use tokio_postgres::{NoTls, SimpleQueryMessage};

/// The first column of the rows `sql` returns on the PostgreSQL at `url`.
fn pg_column(url: &str, sql: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
        let driver = tokio::spawn(connection);
        let rows = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = driver.await;
        rows.iter()
            .filter_map(|message| match message {
                SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
                _ => None,
            })
            .collect()
    })
}

/// Runs `orchc destroy` when the test ends, however it ends.
struct DestroyOnDrop<'a> {
    orch: &'a Orch,
    args: Vec<String>,
}

impl Drop for DestroyOnDrop<'_> {
    fn drop(&mut self) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let _ = self.orch.run(&[&["destroy", "main.orch", "--auto-approve"], &args[..]].concat());
    }
}

/// What each server holds of the application `app`: whether its
/// PostgreSQL database and role, MariaDB database and user, Redis user,
/// RabbitMQ virtual host and user, NATS stream and consumer exist.
struct Servers {
    pg: String,
    mysql: common::mysql::Server,
    redis: String,
    rabbit: common::rabbitmq::Rabbit,
    nats: String,
}

impl Servers {
    fn present(&self, app: &str) -> Vec<(&'static str, bool)> {
        let pg_db = pg_column(
            &self.pg,
            &format!("SELECT datname FROM pg_database WHERE datname = '{app}'"),
        );
        let pg_role = pg_column(
            &self.pg,
            &format!("SELECT rolname FROM pg_roles WHERE rolname = '{app}_owner'"),
        );
        let mysql_db = self.mysql.exec(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{app}'"
        ));
        let mysql_user =
            self.mysql.exec(&format!("SELECT User FROM mysql.user WHERE User = '{app}'"));
        let redis_user: redis::Value =
            common::redis::command(&self.redis, &["ACL", "GETUSER", app]);
        let encoded = common::rabbitmq::encode(app);
        let stream = common::nats::api(&self.nats, &format!("STREAM.INFO.{app}_events"), json!({}));
        let consumer = common::nats::api(
            &self.nats,
            &format!("CONSUMER.INFO.{app}_events.{app}_worker"),
            json!({}),
        );
        vec![
            ("pg database", !pg_db.is_empty()),
            ("pg role", !pg_role.is_empty()),
            ("mysql database", !mysql_db.is_empty()),
            ("mysql user", !mysql_user.is_empty()),
            ("redis user", redis_user != redis::Value::Nil),
            ("rabbitmq vhost", self.rabbit.exists(&format!("/api/vhosts/{encoded}"))),
            ("rabbitmq user", self.rabbit.exists(&format!("/api/users/{encoded}"))),
            (
                "rabbitmq binding",
                self.rabbit
                    .get(&format!("/api/bindings/{encoded}/e/events/q/jobs"))
                    .is_some_and(|b| b.as_array().is_some_and(|b| !b.is_empty())),
            ),
            ("nats stream", stream.get("error").is_none()),
            ("nats consumer", consumer.get("error").is_none()),
        ]
    }
}

#[test]
fn the_readme_flow_applies_replans_with_no_changes_and_destroys_everything() {
    let (Some(pg), Some(mysql), Some(redis), Some(rabbit), Some(nats)) = (
        common::pg::server(),
        common::mysql::server(),
        common::redis::server(),
        common::rabbitmq::server(),
        common::nats::server(),
    ) else {
        return;
    };
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/app-stack");
    let main = std::fs::read_to_string(example.join("main.orch")).expect("the example");
    let readme = std::fs::read_to_string(example.join("README.md")).expect("its README");
    for command in [
        "orchc check main.orch",
        "orchc apply main.orch --auto-approve",
        "orchc plan main.orch --detailed-exitcode",
        "orchc destroy main.orch --auto-approve",
    ] {
        assert!(readme.contains(command), "the README runs `{command}`");
    }
    let app = format!("appstack_t{:08x}", rand_suffix());
    let args: Vec<String> = [
        format!("app={app}"),
        format!("pg_url={pg}"),
        format!("mysql_url={}", mysql.url),
        format!("redis_url={redis}"),
        format!("nats_url={nats}"),
        format!("rabbitmq_api={}", rabbit.endpoint),
        format!("rabbitmq_user={}", rabbit.username),
    ]
    .into_iter()
    .flat_map(|var| ["--var".to_string(), var])
    .collect();
    let orch = Orch::new(&main)
        .with(args.clone(), vec![("ORCH_VAR_rabbitmq_password".into(), rabbit.password.clone())]);
    let servers = Servers { pg, mysql, redis, rabbit, nats };
    let _destroy = DestroyOnDrop { orch: &orch, args: Vec::new() };

    orch.run(&["check", "main.orch"]).expect_code(0);
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Apply complete: 21 created"), "{}", run.stdout);
    for (what, present) in servers.present(&app) {
        assert!(present, "{what} of {app} after apply");
    }
    let plan = orch.run(&["plan", "main.orch", "--detailed-exitcode"]);
    plan.expect_code(0);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);

    // The config file holds every URL; its passwords are in no state file.
    let config = orch.read(&format!("run/{app}.env"));
    let mut passwords = Vec::new();
    for (key, scheme) in [
        ("DATABASE_URL", "postgres://"),
        ("MYSQL_URL", "mysql://"),
        ("REDIS_URL", "redis://"),
        ("AMQP_URL", "amqp://"),
        ("NATS_URL", "nats://"),
    ] {
        let line = config
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} in {config}"));
        assert!(line.starts_with(scheme), "{key}={line}");
        if let Some((_, password)) =
            line.rsplit_once('@').and_then(|(head, _)| head.rsplit_once(':'))
        {
            assert_eq!(password.len(), 32, "{key}: a generated password");
            passwords.push(password.to_string());
        }
    }
    assert_eq!(passwords.len(), 4, "{config}");
    assert!(config.contains(&format!("NATS_STREAM={app}_events")), "{config}");
    assert!(config.contains("BROKER_HEALTH=200"), "{config}");
    for entry in std::fs::read_dir(orch.path(".orch")).expect("the state folder") {
        let text = std::fs::read_to_string(entry.expect("an entry").path()).unwrap_or_default();
        for password in &passwords {
            assert!(!text.contains(password.as_str()), "a password in plain text in the state");
        }
    }
    for password in &passwords {
        assert!(!plan.stdout.contains(password.as_str()), "a password in the plan");
    }

    let run = orch.run(&["destroy", "main.orch", "--auto-approve"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Destroy complete: 21 deleted"), "{}", run.stdout);
    for (what, present) in servers.present(&app) {
        assert!(!present, "{what} of {app} is left after destroy");
    }
    assert!(!orch.exists("run"), "destroy removes the config file and its folder");
}

fn rand_suffix() -> u32 {
    std::process::id() ^ std::time::UNIX_EPOCH.elapsed().expect("a clock").subsec_nanos()
}
