//! Plugin providers end to end (PROVIDERS.md), through the binary: the
//! SQLite example plugin written with the Python SDK for the whole life of
//! its objects, and small misbehaving plugins (garbage, a hang, an early
//! exit, a `kill -9`) for the failures.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::orch::{Orch, actions, wait_until};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sdk() -> String {
    repo().join("sdk/python").canonicalize().expect("the SDK").to_string_lossy().into_owned()
}

fn test_plugin(name: &str) -> String {
    repo()
        .join("cli/tests/data/plugins")
        .join(name)
        .canonicalize()
        .expect("a test plugin")
        .to_string_lossy()
        .into_owned()
}

fn with_sdk(orch: Orch) -> Orch {
    orch.with(Vec::new(), vec![("PYTHONPATH".into(), sdk()), ("ORCH_SDK_PATH".into(), sdk())])
}

const SQLITE: &str = r#"param note: secret<string> = "s3cr3t-n0te-value"
param email: string = "a@example.com"
param key: string = "alice"

@plugin(["python3", "./sqlite_provider.py"])
provider sqlite {
  database = "app.db"
}

resource users: sqlite.table {
  name    = "users"
  columns = { email = "TEXT" }
}

resource alice: sqlite.row {
  table  = users.name
  key    = key
  values = { email = email }
  note   = note
}

data n: sqlite.count {
  table = users.name
}

output id = alice.id
"#;

/// A project with the SQLite example plugin copied beside `main`.
fn sqlite_project(main: &str) -> Orch {
    let orch = with_sdk(Orch::new(main));
    let plugin = repo().join("examples/plugin-provider/sqlite_provider.py");
    std::fs::copy(plugin, orch.path("sqlite_provider.py")).expect("copy the plugin");
    orch
}

fn sql(orch: &Orch, statement: &str) -> String {
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nrows = c.execute(sys.argv[2]).fetchall()\nc.commit()\nprint(rows)")
        .arg(orch.path("app.db"))
        .arg(statement)
        .output()
        .expect("python3");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn check_without_a_cache_is_one_diagnostic_on_the_provider_block() {
    let orch = sqlite_project(SQLITE);
    let run = orch.run(&["check", "main.orch", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(diagnostics.len(), 1, "one diagnostic, on the provider block: {report}");
    let text = report.to_string();
    assert!(text.contains("E0310"), "{text}");
    assert!(text.contains("the schema of the plugin provider `sqlite` is not cached"), "{text}");
    assert!(text.contains("orchc providers schema"), "{text}");
}

#[test]
fn check_works_offline_from_the_cache_and_checks_plugin_kinds() {
    let orch = sqlite_project(SQLITE);
    let fetched = orch.run(&["providers", "schema", "main.orch"]);
    fetched.expect_code(0);
    assert!(fetched.stdout.contains("sqlite: 3 kinds cached"), "{}", fetched.stdout);
    assert!(orch.exists(".orch/schemas/sqlite.json"));
    // The plugin cannot start any more: check must not need it.
    std::fs::write(orch.path("app.db"), "").expect("write");
    let cache = orch.read(".orch/schemas/sqlite.json");
    orch.run(&["check", "main.orch"]).expect_code(0);
    // Plugin kinds are checked like built-in ones.
    let wrong = SQLITE.replace("key    = key", "key    = 3").replace("values = ", "valuez = ");
    orch.write("main.orch", &wrong);
    let run = orch.run(&["check", "main.orch", "--format", "json"]);
    run.expect_code(1);
    let text = run.stdout.clone();
    assert!(text.contains("E0301") && text.contains("valuez"), "{text}");
    assert!(text.contains("E0201"), "a type error: {text}");
    orch.write(
        "main.orch",
        &SQLITE.replace(
            "resource users: sqlite.table {\n  name    = \"users\"\n",
            "resource users: sqlite.table {\n  sql = \"x\"\n  name    = \"users\"\n",
        ),
    );
    let run = orch.run(&["check", "main.orch", "--format", "json"]);
    assert!(run.stdout.contains("E0303"), "an output assigned: {}", run.stdout);
    // A changed plugin file makes the cache stale.
    orch.write("main.orch", SQLITE);
    let mut plugin = orch.read("sqlite_provider.py");
    plugin.push_str("\n# changed\n");
    orch.write("sqlite_provider.py", &plugin);
    let run = orch.run(&["check", "main.orch", "--format", "json"]);
    run.expect_code(1);
    assert!(run.stdout.contains("is stale"), "{}", run.stdout);
    assert_eq!(orch.read(".orch/schemas/sqlite.json"), cache, "check never rewrites the cache");
}

#[test]
fn the_sqlite_plugin_manages_tables_and_rows_through_their_whole_life() {
    let orch = sqlite_project(SQLITE);
    // The first plan starts the plugin, and caches its schema.
    let plan = orch.plan_json(&[]);
    let planned = actions(&plan);
    assert_eq!(planned.get("users").map(String::as_str), Some("create"), "{plan}");
    assert!(orch.exists(".orch/schemas/sqlite.json"));

    let log = orch.path("orch.log");
    let log_arg = log.to_string_lossy().into_owned();
    let run = orch.run_env(
        &["apply", "main.orch", "--auto-approve", "--log-file", &log_arg],
        &[("ORCH_LOG", "debug")],
    );
    run.expect_code(0);
    assert!(run.stdout.contains("id = \"users/alice\""), "{}", run.stdout);
    assert_eq!(sql(&orch, "SELECT key, email FROM users"), "[('alice', 'a@example.com')]");
    // The note reached the plugin (inside `$secret`: the plugin refuses it
    // in the clear) and nowhere else in plaintext.
    assert_eq!(sql(&orch, "SELECT note FROM users"), "[('s3cr3t-n0te-value',)]");
    let log_text = std::fs::read_to_string(&log).expect("the log");
    assert!(log_text.contains("sqlite: using app.db"), "the plugin's stderr is logged: {log_text}");
    for file in ["orch.log", ".orch/state.json", ".orch/journal.jsonl"] {
        if orch.exists(file) {
            assert!(!orch.read(file).contains("s3cr3t-n0te-value"), "the secret is in {file}");
        }
    }
    assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));
    orch.expect_no_changes(&[]);

    // Drift: the row changed behind Orch's back is read back and put right.
    sql(&orch, "UPDATE users SET email = 'drifted@example.com' WHERE key = 'alice'");
    let plan = orch.plan_json(&[]);
    assert_eq!(actions(&plan).get("alice").map(String::as_str), Some("update"), "{plan}");
    assert!(plan.to_string().contains("drifted@example.com"), "the drift is shown: {plan}");
    orch.apply(&[]);
    assert_eq!(sql(&orch, "SELECT email FROM users"), "[('a@example.com',)]");

    // Update in place.
    orch.apply(&["--var", "email=b@example.com"]);
    assert_eq!(sql(&orch, "SELECT key, email FROM users"), "[('alice', 'b@example.com')]");
    orch.expect_no_changes(&["--var", "email=b@example.com"]);

    // A `replace` field: a new row instead of the old one.
    let plan = orch.plan_json(&["--var", "email=b@example.com", "--var", "key=bob"]);
    assert_eq!(actions(&plan).get("alice").map(String::as_str), Some("replace"), "{plan}");
    orch.apply(&["--var", "email=b@example.com", "--var", "key=bob"]);
    assert_eq!(sql(&orch, "SELECT key FROM users"), "[('bob',)]");

    // Destroy removes everything.
    orch.run(&[
        "destroy",
        "main.orch",
        "--auto-approve",
        "--var",
        "email=b@example.com",
        "--var",
        "key=bob",
    ])
    .expect_code(0);
    assert_eq!(sql(&orch, "SELECT name FROM sqlite_master WHERE type = 'table'"), "[]");
}

#[test]
fn a_plugin_killed_during_an_apply_fails_only_its_operations_and_the_next_apply_recovers() {
    let main = format!(
        r#"@plugin(["python3", "{}"])
provider slow {{}}

resource a: slow.item {{ name = "a" }}
resource b: slow.item {{ name = "b" }}
resource f: fs.file {{
  path    = "other.txt"
  content = "not a plugin's"
}}
"#,
        test_plugin("slow.py")
    );
    let orch = with_sdk(Orch::new(&main));
    orch.run(&["providers", "schema", "main.orch"]).expect_code(0);
    std::fs::remove_file(orch.path("plugin.pid")).expect("the fetch's plugin wrote its pid");
    let child = orch.command(&["apply", "main.orch", "--auto-approve"]).spawn().expect("orchc");
    assert!(
        wait_until(Duration::from_secs(20), || orch.exists("plugin.pid")),
        "the plugin started"
    );
    // Both creates are in flight (they wait 30 s) when the plugin dies.
    std::thread::sleep(Duration::from_millis(700));
    let pid = orch.read("plugin.pid");
    let killed =
        std::process::Command::new("kill").args(["-9", pid.trim()]).status().expect("kill");
    assert!(killed.success());
    let started = Instant::now();
    let output = child.wait_with_output().expect("orchc ends");
    assert!(started.elapsed() < Duration::from_secs(15), "the failure is reported at once");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the plugin provider `slow`"), "names the plugin: {stderr}");
    assert!(orch.exists("other.txt"), "the rest of the run went on");
    let listed = orch.state_list();
    assert!(
        !listed.contains_key("a") && !listed.contains_key("b"),
        "nothing unanswered recorded: {listed:?}"
    );
    orch.write("fast", "");
    orch.apply(&[]);
    assert!(orch.exists("items/a") && orch.exists("items/b"));
    orch.expect_no_changes(&[]);
}

#[test]
fn a_plugin_that_answers_garbage_fails_the_operation_with_a_clear_message() {
    let main = format!(
        "@plugin([\"python3\", \"{}\"])\nprovider junk {{}}\n\nresource x: junk.item {{ name = \"x\" }}\n",
        test_plugin("garbage.py")
    );
    let orch = Orch::new(&main);
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(
            "the plugin provider `junk` sent something that is not a framed JSON-RPC message"
        ),
        "{}",
        run.stderr
    );
    assert!(!orch.state_list().contains_key("x"));
}

#[test]
fn a_plugin_that_hangs_is_cancelled_at_its_timeout() {
    let main = format!(
        "@plugin([\"python3\", \"{}\"])\nprovider stuck {{}}\n\n@timeout(1s)\nresource x: stuck.item {{ name = \"x\" }}\n",
        test_plugin("hang.py")
    );
    let orch = Orch::new(&main);
    let started = Instant::now();
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(run.stderr.contains("timed out after 1s"), "{}", run.stderr);
    assert!(
        wait_until(Duration::from_secs(5), || !orch.log("cancelled.log").is_empty()),
        "the plugin got $/cancelRequest"
    );
    // Unanswered, the create may or may not have happened: it is read back
    // next time, as for every timed-out create.
    assert_eq!(orch.state_list().get("x").map(String::as_str), Some("(tainted)"));
}

#[test]
fn a_plugin_that_exits_at_start_is_reported_on_its_provider_block() {
    let main = format!(
        "@plugin([\"python3\", \"{}\"])\nprovider gone {{}}\n\nresource x: gone.item {{ name = \"x\" }}\n",
        test_plugin("exit_at_start.py")
    );
    let orch = Orch::new(&main);
    let run = orch.run(&["plan", "main.orch"]);
    run.expect_code(1);
    assert!(run.stderr.contains("the plugin provider `gone`"), "{}", run.stderr);
    assert!(run.stderr.contains("exit status: 3"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("giving up"),
        "the plugin's stderr is not shown unasked: {}",
        run.stderr
    );
    let run = orch.run(&["providers", "schema", "main.orch"]);
    run.expect_code(1);
    assert!(run.stderr.contains("cannot be initialized"), "{}", run.stderr);
}
