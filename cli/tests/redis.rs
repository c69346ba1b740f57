//! `orchc plan`, `apply` and `destroy` end to end against a real
//! Redis server: `redis.acl_user`, `redis.config` and `redis.stream_group`.
//!
//! The server is named by `ORCH_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`); a test fails when it cannot be reached, unless
//! `ORCH_TEST_SKIP_REDIS=1` (`common::redis`). Every test uses names with a
//! random suffix and removes what it made, also when it fails. Changes made
//! by hand go through the server's own client, `redis-cli`. Import is
//! tested on the provider (`runtime/tests/providers_redis.rs`) and through
//! `orchc import` (`tests/import_services.rs`).
//!
//! Configuration parameters are server-wide, so one test owns them all
//! (`a_config_parameter_…`); the others touch users and streams only.

mod common;

use std::collections::BTreeMap;

use common::orch::{Orch, actions, drift_fields, flat};
use sha2::{Digest, Sha256};

macro_rules! server_or_skip {
    () => {
        match common::redis::server() {
            Some(url) => url,
            None => return,
        }
    };
}

/// A base64 key of 32 bytes for `ORCH_STATE_KEY`.
const STATE_KEY: &str = "b3JjaC1lMmUtdGVzdHMtc3RhdGUta2V5LTMyYnl0ZXM=";

fn unique() -> String {
    format!(
        "{:08x}",
        std::process::id() ^ (std::time::UNIX_EPOCH.elapsed().unwrap().subsec_nanos())
    )
}

fn redis<T: redis::FromRedisValue>(url: &str, args: &[&str]) -> T {
    common::redis::command(url, args)
}

/// `ACL GETUSER` as (field → words).
fn user(url: &str, name: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let reply: redis::Value = redis(url, &["ACL", "GETUSER", name]);
    let items = match reply {
        redis::Value::Nil => return None,
        redis::Value::Array(items) => items,
        other => panic!("ACL GETUSER: {other:?}"),
    };
    let text = |value: &redis::Value| -> Vec<String> {
        match value {
            redis::Value::BulkString(bytes) => {
                String::from_utf8_lossy(bytes).split_whitespace().map(str::to_string).collect()
            }
            redis::Value::SimpleString(text) => {
                text.split_whitespace().map(str::to_string).collect()
            }
            redis::Value::Array(items) => items
                .iter()
                .filter_map(|item| match item {
                    redis::Value::BulkString(bytes) => {
                        Some(String::from_utf8_lossy(bytes).into_owned())
                    }
                    redis::Value::SimpleString(text) => Some(text.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    Some(items.chunks(2).map(|pair| (text(&pair[0]).join(" "), text(&pair[1]))).collect())
}

fn groups(url: &str, stream: &str) -> Vec<String> {
    let kind: String = redis(url, &["TYPE", stream]);
    if kind != "stream" {
        return Vec::new();
    }
    let reply: Vec<Vec<redis::Value>> = redis(url, &["XINFO", "GROUPS", stream]);
    reply
        .iter()
        .filter_map(|info| {
            info.chunks(2).find_map(|pair| match pair {
                [redis::Value::BulkString(key), redis::Value::BulkString(value)]
                    if key.as_slice() == b"name" =>
                {
                    Some(String::from_utf8_lossy(value).into_owned())
                }
                _ => None,
            })
        })
        .collect()
}

/// Command rules in sorted order: Redis reports the commands of a user in
/// the order of its command table, which differs between servers.
fn rules(words: &[String]) -> Vec<String> {
    let mut words = words.to_vec();
    words.sort();
    words
}

fn config_value(url: &str, parameter: &str) -> String {
    let reply: Vec<String> = redis(url, &["CONFIG", "GET", parameter]);
    reply.get(1).cloned().unwrap_or_else(|| panic!("CONFIG GET {parameter}: {reply:?}"))
}

/// Removes the users and stream keys a test made, however it ends.
struct Cleanup {
    url: String,
    users: Vec<String>,
    keys: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.users {
            let _: i64 = redis(&self.url, &["ACL", "DELUSER", name]);
        }
        for key in &self.keys {
            let _: i64 = redis(&self.url, &["DEL", key]);
        }
    }
}

fn project(url: &str, body: &str) -> Orch {
    let main = format!("provider redis {{\n  url = \"{url}\"\n}}\n\n{body}");
    Orch::new(&main).with(Vec::new(), vec![("ORCH_STATE_KEY".into(), STATE_KEY.into())])
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

const USER: &str = r#"
resource app: redis.acl_user {
  name     = "NAME"
  password = "PASSWORD"
  keys     = ["app:*", "cache:*"]
  channels = ["events"]
  commands = COMMANDS
}
"#;

fn user_config(name: &str, password: &str, commands: &str) -> String {
    USER.replace("NAME", name).replace("PASSWORD", password).replace("COMMANDS", commands)
}

#[test]
fn an_acl_user_is_created_read_back_repaired_updated_replaced_and_destroyed() {
    let url = server_or_skip!();
    let suffix = unique();
    let name = format!("orch_e2e_{suffix}");
    let renamed = format!("orch_e2e_{suffix}_b");
    let _cleanup =
        Cleanup { url: url.clone(), users: vec![name.clone(), renamed.clone()], keys: Vec::new() };
    let password = format!("pw-{suffix}-secret");
    let orch = project(&url, &user_config(&name, &password, r#"["+get", "+set"]"#));

    // Create: the password reaches the server only as its SHA-256 hash.
    let run = orch.apply(&[]);
    assert!(run.stdout.contains("Apply complete: 1 created"), "{}", run.stdout);
    let made = user(&url, &name).expect("the user exists");
    assert!(made["flags"].contains(&"on".to_string()), "{made:?}");
    assert_eq!(made["passwords"], [sha256(&password)]);
    assert_eq!(made["keys"], ["~app:*", "~cache:*"]);
    assert_eq!(made["channels"], ["&events"]);
    assert_eq!(rules(&made["commands"]), ["+get", "+set", "-@all"]);
    assert!(!orch.read(".orch/state.json").contains(&password), "the password is sealed in state");
    orch.expect_no_changes(&[]);

    // Drift made by hand: an extra command, the user switched off, another
    // password. The plan shows it and apply puts it back.
    common::redis::cli(&url, &["ACL", "SETUSER", &name, "+del", "off", "resetpass", ">by-hand"]);
    let plan = orch.plan_json(&[]);
    let mut fields = drift_fields(&plan, "app");
    fields.sort();
    assert_eq!(fields, ["command_rules", "commands", "enabled", "password"], "{plan}");
    assert_eq!(actions(&plan), BTreeMap::from([("app".into(), "update".into())]), "{plan}");
    assert!(!plan.to_string().contains("by-hand"), "{plan}");
    orch.apply(&[]);
    let repaired = user(&url, &name).expect("the user exists");
    assert!(repaired["flags"].contains(&"on".to_string()), "{repaired:?}");
    assert_eq!(repaired["passwords"], [sha256(&password)]);
    assert_eq!(rules(&repaired["commands"]), ["+get", "+set", "-@all"]);
    orch.expect_no_changes(&[]);

    // Update in place: other commands and a new password.
    orch.write("main.orch", &project_text(&url, &user_config(&name, "second-pw", r#"["+@read"]"#)));
    let plan = orch.plan_json(&[]);
    assert_eq!(actions(&plan), BTreeMap::from([("app".into(), "update".into())]), "{plan}");
    orch.apply(&[]);
    let updated = user(&url, &name).expect("the user exists");
    assert_eq!(updated["passwords"], [sha256("second-pw")]);
    assert_eq!(updated["commands"].join(" "), "-@all +@read");
    orch.expect_no_changes(&[]);

    // A new name replaces the user.
    orch.write(
        "main.orch",
        &project_text(&url, &user_config(&renamed, "second-pw", r#"["+@read"]"#)),
    );
    let plan = orch.plan_json(&[]);
    assert_eq!(actions(&plan), BTreeMap::from([("app".into(), "replace".into())]), "{plan}");
    orch.apply(&[]);
    assert!(user(&url, &name).is_none());
    assert!(user(&url, &renamed).is_some());

    // Destroy leaves no user.
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    assert!(user(&url, &renamed).is_none());
}

fn project_text(url: &str, body: &str) -> String {
    format!("provider redis {{\n  url = \"{url}\"\n}}\n\n{body}")
}

#[test]
fn a_stream_group_is_created_moved_replaced_and_recreated_after_a_delete_by_hand() {
    let url = server_or_skip!();
    let suffix = unique();
    let stream = format!("orch_e2e:{suffix}:events");
    let _cleanup = Cleanup { url: url.clone(), users: Vec::new(), keys: vec![stream.clone()] };
    let group = |name: &str, start: &str| {
        format!(
            "resource workers: redis.stream_group {{\n  stream   = \"{stream}\"\n  group    = \"{name}\"\n  start_id = \"{start}\"\n}}\n"
        )
    };
    let orch = project(&url, &group("workers", "$"));
    orch.apply(&[]);
    assert_eq!(groups(&url, &stream), ["workers"]);
    orch.expect_no_changes(&[]);

    // Deleted by hand: drift, and apply makes it again.
    common::redis::cli(&url, &["XGROUP", "DESTROY", &stream, "workers"]);
    let plan = orch.plan_json(&[]);
    assert_eq!(actions(&plan), BTreeMap::from([("workers".into(), "create".into())]), "{plan}");
    orch.apply(&[]);
    assert_eq!(groups(&url, &stream), ["workers"]);

    // A new start moves the group in place; a new name replaces it.
    orch.write("main.orch", &project_text(&url, &group("workers", "0")));
    let plan = orch.plan_json(&[]);
    assert_eq!(actions(&plan), BTreeMap::from([("workers".into(), "update".into())]), "{plan}");
    orch.apply(&[]);
    orch.write("main.orch", &project_text(&url, &group("shippers", "0")));
    let plan = orch.plan_json(&[]);
    assert_eq!(actions(&plan), BTreeMap::from([("workers".into(), "replace".into())]), "{plan}");
    orch.apply(&[]);
    assert_eq!(groups(&url, &stream), ["shippers"]);

    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    assert!(groups(&url, &stream).is_empty());
}

#[test]
fn a_config_parameter_is_set_repaired_updated_and_restored_on_destroy() {
    let url = server_or_skip!();
    // Parameters that no other test touches and that change nothing a
    // test relies on.
    let before_slowlog = config_value(&url, "slowlog-max-len");
    let before_memory = config_value(&url, "maxmemory-samples");
    let body = |slowlog: &str| {
        format!(
            "resource slowlog: redis.config {{\n  parameter = \"slowlog-max-len\"\n  value     = \"{slowlog}\"\n}}\n\n\
             resource samples: redis.config {{\n  parameter = \"maxmemory-samples\"\n  value     = \"7\"\n}}\n"
        )
    };
    let orch = project(&url, &body("321"));
    orch.apply(&[]);
    assert_eq!(config_value(&url, "slowlog-max-len"), "321");
    assert_eq!(config_value(&url, "maxmemory-samples"), "7");
    orch.expect_no_changes(&[]);

    common::redis::cli(&url, &["CONFIG", "SET", "slowlog-max-len", "999"]);
    let plan = orch.plan_json(&[]);
    assert_eq!(actions(&plan), BTreeMap::from([("slowlog".into(), "update".into())]), "{plan}");
    orch.apply(&[]);
    assert_eq!(config_value(&url, "slowlog-max-len"), "321");

    orch.write("main.orch", &project_text(&url, &body("654")));
    let plan = orch.plan_json(&[]);
    assert_eq!(actions(&plan), BTreeMap::from([("slowlog".into(), "update".into())]), "{plan}");
    orch.apply(&[]);
    assert_eq!(config_value(&url, "slowlog-max-len"), "654");

    // Destroy sets back the values found before the first set.
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    assert_eq!(config_value(&url, "slowlog-max-len"), before_slowlog);
    assert_eq!(config_value(&url, "maxmemory-samples"), before_memory);
}

#[test]
fn a_server_error_names_the_declaration_and_the_server_s_message() {
    let url = server_or_skip!();
    let body = "resource bad: redis.config {\n  parameter = \"no-such-parameter-orch\"\n  value     = \"1\"\n}\n";
    let orch = project(&url, body);
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("main.orch:5:"), "points at the declaration: {}", run.stderr);
    assert!(stderr.contains("no-such-parameter-orch"), "{}", run.stderr);

    // A server that is not there is a plan error of the provider block.
    let orch = project(
        "redis://127.0.0.1:1",
        "resource g: redis.stream_group {\n  stream = \"s\"\n  group  = \"g\"\n}\n",
    );
    let run = orch.run(&["plan", "main.orch"]);
    run.expect_code(1);
    assert!(flat(&run.stderr).contains("E0904"), "{}", run.stderr);
}
