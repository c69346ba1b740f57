//! Regression tests, through the binary, of what the runtime API decides
//! for every command: saved destroy plans, state locations (unknown
//! schemes, shared states named by their URL alone), and secrets refused
//! before anything changes when a shared state has no key.
//!
//! The PostgreSQL cases use `ORCH_TEST_PG_URL` (default: the local
//! server); they fail when it cannot be reached, unless
//! `ORCH_TEST_SKIP_PG=1`.

mod common;

use common::orch::Orch;
use tokio_postgres::NoTls;

const STATE_KEY: &str = "b3JjaC1lMmUtdGVzdHMtc3RhdGUta2V5LTMyYnl0ZXM=";

/// The server's URL, or `None` when the tests are told to skip it.
fn server() -> Option<String> {
    if std::env::var("ORCH_TEST_SKIP_PG").is_ok_and(|v| v == "1") {
        println!("skipped: ORCH_TEST_SKIP_PG=1");
        return None;
    }
    Some(
        std::env::var("ORCH_TEST_PG_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    )
}

fn execute(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} cannot be reached: {e}"));
        let driver = tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = driver.await;
    });
}

/// A database of its own for one test, dropped at the end.
struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    fn new(server: &str, tag: &str) -> Database {
        let name = format!("orch_api_{tag}_{}", std::process::id());
        // Each on its own: CREATE DATABASE cannot run in a transaction.
        execute(server, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        execute(server, &format!("CREATE DATABASE {name}"));
        let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
        Database { server: server.to_string(), url: format!("{base}/{name}"), name }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        execute(&self.server, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

#[test]
fn destroy_applies_a_saved_destroy_plan_and_refuses_an_apply_plan() {
    let orch = Orch::new(
        r#"resource dir: fs.dir { path = "made" }
resource file: fs.file {
  path    = "${dir.path}/a.txt"
  content = "a"
}
"#,
    );
    orch.apply(&[]);
    assert!(orch.exists("made/a.txt"));
    orch.run(&["plan", "main.orch", "--out", "apply.plan"]).expect_code(0);
    let refused = orch.run(&["destroy", "apply.plan", "--auto-approve"]);
    refused.expect_code(1);
    assert!(refused.stderr.contains("is a saved apply plan"), "{}", refused.stderr);
    orch.run(&["plan", "main.orch", "--destroy", "--out", "destroy.plan"]).expect_code(0);
    let run = orch.run(&["destroy", "destroy.plan"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Destroy complete: 2 deleted in "), "{}", run.stdout);
    assert!(!orch.exists("made"));
}

#[test]
fn an_unknown_state_scheme_is_an_error_not_a_folder() {
    let orch = Orch::new(r#"resource v: core.value { input = 1 }"#);
    for location in ["postgress://localhost/db", "s3://bucket/key"] {
        let run = orch.run(&["plan", "main.orch", "--state", location]);
        run.expect_code(1);
        assert!(run.stderr.contains("is not a kind of state"), "{}", run.stderr);
        assert!(run.stderr.contains("postgres://"), "{}", run.stderr);
    }
    assert!(!orch.exists("postgress:") && !orch.exists("s3:"), "a folder was made");
    let run = orch.run_env(&["state", "list"], &[("ORCH_STATE", "redis://localhost")]);
    run.expect_code(1);
    assert!(run.stderr.contains("`redis://` is not a kind of state"), "{}", run.stderr);
}

#[test]
fn a_shared_state_url_names_the_same_state_from_any_folder() {
    let Some(server) = server() else { return };
    let database = Database::new(&server, "folders");
    let orch = Orch::new(r#"resource v: core.value { input = "here" }"#);
    orch.run(&["apply", "main.orch", "--auto-approve", "--state", &database.url]).expect_code(0);
    // Another folder, another root file name, no ?state=: the same state.
    let elsewhere = Orch::new("");
    let run = elsewhere.run(&["state", "list", "--state", &database.url]);
    run.expect_code(0);
    assert!(run.stdout.contains("v") && run.stdout.contains("core.value"), "{}", run.stdout);
    let named = format!("{}?state=other", database.url);
    let run = elsewhere.run(&["state", "list", "--state", &named]);
    run.expect_code(1);
    assert!(run.stderr.contains("there is no state"), "{}", run.stderr);
}

#[test]
fn a_shared_state_without_a_key_refuses_secrets_before_changing_anything() {
    let Some(server) = server() else { return };
    let database = Database::new(&server, "nokey");
    let orch = Orch::new(
        r#"resource marker: fs.file {
  path    = "marker.txt"
  content = "made"
}
resource token: random.password { length = 16 }
"#,
    );
    let run = orch.run(&["apply", "main.orch", "--auto-approve", "--state", &database.url]);
    run.expect_code(1);
    assert!(run.stderr.contains("ORCH_STATE_KEY is not set"), "{}", run.stderr);
    assert!(run.stderr.contains("token"), "{}", run.stderr);
    assert!(!orch.exists("marker.txt"), "an object was made before the refusal");
    // Nothing was recorded, and nothing is left interrupted.
    let run = orch.run(&["state", "list", "--state", &database.url]);
    assert!(!run.stdout.contains("marker"), "{}", run.stdout);
    // With the key it applies; listing the state later needs no key.
    let keyed = [("ORCH_STATE_KEY", STATE_KEY)];
    let args = ["apply", "main.orch", "--auto-approve", "--state", &database.url];
    orch.run_env(&args, &keyed).expect_code(0);
    let run = orch.run(&["state", "list", "--state", &database.url]);
    run.expect_code(0);
    assert!(run.stdout.contains("token") && run.stdout.contains("marker"), "{}", run.stdout);
    let run = orch.run(&["plan", "main.orch", "--state", &database.url]);
    assert!(!run.stderr.contains("interrupted"), "{}", run.stderr);
}
