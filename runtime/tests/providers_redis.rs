//! The `redis` provider against a real Redis server, named by
//! `ORCH_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`); a test fails
//! when it cannot be reached, unless `ORCH_TEST_SKIP_REDIS=1`
//! (`common/redis.rs`). Names carry a random suffix; what a test made is
//! removed however it ends. The end-to-end runs through `orchc` are in
//! `cli/tests/redis.rs`.

mod common;

use common::values::{config, list, s, unique};

use orch_runtime::provider::{Change, OpContext, Provider, field};
use orch_runtime::providers::redis::RedisProvider;
use orch_stdlib::Value;

macro_rules! server_or_skip {
    () => {
        match common::redis::server() {
            Some(url) => url,
            None => return,
        }
    };
}

fn ctx() -> OpContext {
    OpContext::new(std::env::temp_dir(), "redis.test")
}

async fn provider(url: &str) -> RedisProvider {
    let mut provider = RedisProvider::default();
    provider.configure(&Value::map([("url".into(), s(url))].into())).await.expect("configure");
    provider
}

fn redis<T: redis::FromRedisValue>(url: &str, args: &[&str]) -> T {
    common::redis::command(url, args)
}

struct Cleanup {
    url: String,
    commands: Vec<Vec<String>>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for command in self.commands.iter().rev() {
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            let _: redis::Value = redis(&self.url, &args);
        }
    }
}

#[tokio::test]
async fn an_acl_user_reads_back_as_configured_and_shows_changes_by_hand() {
    let url = server_or_skip!();
    let name = unique("orch_rt_user");
    let _cleanup = Cleanup {
        url: url.clone(),
        commands: vec![vec!["ACL".into(), "DELUSER".into(), name.clone()]],
    };
    let provider = provider(&url).await;
    let kind = "redis.acl_user";
    let wanted = config(
        kind,
        &[
            ("name", s(&name)),
            ("password", Value::secret(s("hunter2-orch"))),
            ("keys", list(&["app:*"])),
            ("commands", list(&["+get", "+@read"])),
        ],
    );
    let made = provider
        .apply(&ctx(), kind, Change::Create { config: &wanted })
        .await
        .expect("create")
        .expect("an object");
    assert_eq!(field(&made, "password"), &Value::secret(s("hunter2-orch")));
    assert_eq!(field(&made, "commands"), &list(&["+get", "+@read"]));
    // Creating a user that exists is refused: it must be imported.
    let again = provider.apply(&ctx(), kind, Change::Create { config: &wanted }).await;
    assert!(again.expect_err("exists").message.contains("already exists"));

    let read = provider.read(&ctx(), kind, &made).await.expect("read").expect("exists");
    assert_eq!(read, made);
    let planned = provider.plan(kind, Some(&read), &wanted);
    assert!(planned.requires_replace.is_empty());

    // By hand: another password and another key pattern.
    common::redis::cli(&url, &["ACL", "SETUSER", &name, "resetpass", ">other", "~more:*"]);
    let drifted = provider.read(&ctx(), kind, &made).await.expect("read").expect("exists");
    assert_ne!(field(&drifted, "password").reveal_all(), s("hunter2-orch"));
    assert!(field(&drifted, "password").reveal().1, "still secret");
    assert_eq!(field(&drifted, "keys"), &list(&["app:*", "more:*"]));
    let repaired = provider
        .apply(&ctx(), kind, Change::Update { prior: &drifted, config: &wanted })
        .await
        .expect("update")
        .expect("an object");
    let read = provider.read(&ctx(), kind, &repaired).await.expect("read").expect("exists");
    assert_eq!(field(&read, "keys"), &list(&["app:*"]));
    assert_eq!(field(&read, "password"), &Value::secret(s("hunter2-orch")));

    // Import by name: what the server has, the password as a placeholder.
    let imported =
        provider.import(&ctx(), kind, &name).await.expect("import").expect("the user exists");
    assert_eq!(field(&imported, "keys"), &list(&["app:*"]));
    // Redis keeps rules compacted: `+get` is part of `+@read`.
    assert_eq!(field(&imported, "commands"), &list(&["+@read"]));
    assert!(field(&imported, "password").reveal().1);

    provider.apply(&ctx(), kind, Change::Delete { prior: &read }).await.expect("delete");
    let gone: redis::Value = redis(&url, &["ACL", "GETUSER", &name]);
    assert_eq!(gone, redis::Value::Nil);
    assert_eq!(provider.read(&ctx(), kind, &read).await.expect("read"), None);
    assert_eq!(provider.import(&ctx(), kind, &name).await.expect("import"), None);
}

#[tokio::test]
async fn a_group_is_imported_as_stream_slash_group() {
    let url = server_or_skip!();
    let stream = unique("orch_rt:stream");
    let _cleanup = Cleanup { url: url.clone(), commands: vec![vec!["DEL".into(), stream.clone()]] };
    let _: String = redis(&url, &["XGROUP", "CREATE", &stream, "readers", "0", "MKSTREAM"]);
    let provider = provider(&url).await;
    let kind = "redis.stream_group";
    let imported = provider
        .import(&ctx(), kind, &format!("{stream}/readers"))
        .await
        .expect("import")
        .expect("the group exists");
    assert_eq!(field(&imported, "stream"), &s(&stream));
    assert_eq!(field(&imported, "group"), &s("readers"));
    assert_eq!(
        provider.import(&ctx(), kind, &format!("{stream}/nobody")).await.expect("import"),
        None
    );
    let bad = provider.import(&ctx(), kind, "no-slash").await.expect_err("not STREAM/GROUP");
    assert!(bad.message.contains("STREAM/GROUP"), "{}", bad.message);
    // Deleting keeps the stream (it holds data) and drops the group.
    provider.apply(&ctx(), kind, Change::Delete { prior: &imported }).await.expect("delete");
    assert_eq!(provider.read(&ctx(), kind, &imported).await.expect("read"), None);
    let kind_of: String = redis(&url, &["TYPE", &stream]);
    assert_eq!(kind_of, "stream");
}

#[tokio::test]
async fn a_config_parameter_is_imported_with_its_value_as_the_one_to_restore() {
    let url = server_or_skip!();
    let provider = provider(&url).await;
    let current: Vec<String> = redis(&url, &["CONFIG", "GET", "hz"]);
    let imported = provider
        .import(&ctx(), "redis.config", "hz")
        .await
        .expect("import")
        .expect("the parameter exists");
    assert_eq!(field(&imported, "value"), &s(&current[1]));
    assert_eq!(field(&imported, "original_value"), &s(&current[1]));
    assert_eq!(
        provider.import(&ctx(), "redis.config", "no-such-orch-param").await.expect("import"),
        None
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_error_and_bad_input_is_refused() {
    let provider = provider("redis://127.0.0.1:1").await;
    let err = provider.probe().await.expect_err("nothing listens on port 1");
    assert!(err.transient, "{err:?}");
    assert!(err.message.contains("Redis at 127.0.0.1:1"), "{}", err.message);

    let problems = provider.validate(
        "redis.acl_user",
        &config(
            "redis.acl_user",
            &[("name", s("app")), ("keys", list(&["~app:*"])), ("commands", list(&["get"]))],
        ),
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    let problems = provider.validate(
        "redis.config",
        &config("redis.config", &[("parameter", s("max*")), ("value", s("1"))]),
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problems = provider.validate(
        "redis.stream_group",
        &config(
            "redis.stream_group",
            &[("stream", s("s")), ("group", s("g")), ("start_id", s("soon"))],
        ),
    );
    assert_eq!(problems.len(), 1, "{problems:?}");

    let mut bad = RedisProvider::default();
    bad.configure(&Value::map([("url".into(), s("http://:pw@x"))].into()))
        .await
        .expect("configure");
    let err = bad.probe().await.expect_err("not a Redis URL");
    assert!(!err.message.contains("pw"), "{}", err.message);
}
