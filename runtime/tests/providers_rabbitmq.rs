//! The `rabbitmq` provider against a real RabbitMQ server's management API,
//! named by `ORCH_TEST_RABBITMQ_URL` (default
//! `http://guest:guest@127.0.0.1:15672`); a test fails when it cannot be
//! reached, unless `ORCH_TEST_SKIP_RABBITMQ=1` (`common/rabbitmq.rs`). Every
//! test works in a virtual host of its own with a random name and removes it
//! (and its users), also when it fails. Drift is made through the management
//! API, as an operator would.

mod common;

use std::collections::BTreeMap;

use common::rabbitmq::{Rabbit, encode, unique};
use orch_runtime::provider::{Change, OpContext, Provider, ProviderError, field};
use orch_runtime::providers::lookup_kind;
use orch_runtime::providers::rabbitmq::RabbitMqProvider;
use orch_stdlib::Value;
use serde_json::json;

macro_rules! server_or_skip {
    () => {
        match common::rabbitmq::server() {
            Some(server) => server,
            None => return,
        }
    };
}

fn s(text: &str) -> Value {
    Value::string(text)
}

/// A configuration of `kind`: the schema's defaults, then `fields`.
fn config(kind: &str, fields: &[(&str, Value)]) -> Value {
    let schema = lookup_kind(kind).expect("a rabbitmq kind");
    let mut entries: BTreeMap<_, _> =
        schema.fields.iter().filter_map(|f| Some((f.name.into(), f.default.clone()?))).collect();
    for (name, value) in fields {
        entries.insert((*name).into(), value.clone());
    }
    Value::map(entries)
}

fn with(value: &Value, name: &str, to: Value) -> Value {
    let Value::Map(entries) = value else { panic!("an object is a map") };
    let mut entries = (**entries).clone();
    entries.insert(name.into(), to);
    Value::map(entries)
}

fn ctx() -> OpContext {
    OpContext::new(std::env::temp_dir(), "rabbitmq.test")
}

fn int_map(entries: &[(&str, i64)]) -> Value {
    Value::map(entries.iter().map(|(k, v)| ((*k).into(), Value::Int(*v))).collect())
}

/// A virtual host (and users) of one test, removed at the end.
struct Scope {
    server: Rabbit,
    vhost: String,
    users: Vec<String>,
}

impl Scope {
    fn new(server: &Rabbit, tag: &str) -> Scope {
        let vhost = unique(&format!("orch_rt_{tag}"));
        server.send("PUT", &format!("/api/vhosts/{}", encode(&vhost)), Some(json!({})));
        Scope { server: server.clone(), vhost, users: Vec::new() }
    }

    fn path(&self, collection: &str, name: &str) -> String {
        format!("/api/{collection}/{}/{}", encode(&self.vhost), encode(name))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let users: Vec<&str> = self.users.iter().map(String::as_str).collect();
        self.server.remove(&self.vhost, &users);
    }
}

async fn provider(server: &Rabbit) -> RabbitMqProvider {
    let mut provider = RabbitMqProvider::default();
    let block = Value::map(
        [
            ("endpoint".into(), s(&server.endpoint)),
            ("username".into(), s(&server.username)),
            ("password".into(), Value::secret(s(&server.password))),
        ]
        .into_iter()
        .collect(),
    );
    provider.configure(&block).await.expect("configure");
    provider.probe().await.expect("the server answers");
    provider
}

async fn create(p: &RabbitMqProvider, kind: &str, config: &Value) -> Value {
    let errors = p.validate(kind, config);
    assert!(errors.is_empty(), "{errors:?}");
    p.apply(&ctx(), kind, Change::Create { config }).await.expect("create").expect("an object")
}

async fn update(p: &RabbitMqProvider, kind: &str, prior: &Value, config: &Value) -> Value {
    let planned = p.plan(kind, Some(prior), config);
    assert!(planned.requires_replace.is_empty(), "{kind} updates in place");
    p.apply(&ctx(), kind, Change::Update { prior, config }).await.expect("update").expect("object")
}

async fn read(p: &RabbitMqProvider, kind: &str, prior: &Value) -> Option<Value> {
    p.read(&ctx(), kind, prior).await.expect("read")
}

async fn delete(p: &RabbitMqProvider, kind: &str, prior: &Value) {
    assert!(p.apply(&ctx(), kind, Change::Delete { prior }).await.expect("delete").is_none());
}

/// The inputs of an object, secrets revealed, for comparisons.
fn plain(value: &Value) -> Value {
    value.reveal_all()
}

#[tokio::test]
async fn vhosts_are_created_read_imported_and_deleted() {
    let server = server_or_skip!();
    let p = provider(&server).await;
    let name = unique("orch_rt_vhost");
    let scope = Scope { server: server.clone(), vhost: name.clone(), users: Vec::new() };
    let config = config("rabbitmq.vhost", &[("name", s(&name))]);
    let created = create(&p, "rabbitmq.vhost", &config).await;
    assert!(server.exists(&format!("/api/vhosts/{}", encode(&name))));
    assert_eq!(read(&p, "rabbitmq.vhost", &created).await.as_ref(), Some(&created));
    let imported = p.import(&ctx(), "rabbitmq.vhost", &name).await.expect("import");
    assert_eq!(imported.as_ref(), Some(&created));
    let renamed = with(&config, "name", s("other"));
    assert_eq!(p.plan("rabbitmq.vhost", Some(&created), &renamed).requires_replace, ["name"]);
    // Deleted by hand: gone.
    server.send("DELETE", &format!("/api/vhosts/{}", encode(&name)), None);
    assert_eq!(read(&p, "rabbitmq.vhost", &created).await, None);
    let created = create(&p, "rabbitmq.vhost", &config).await;
    delete(&p, "rabbitmq.vhost", &created).await;
    assert!(!server.exists(&format!("/api/vhosts/{}", encode(&name))));
    // Deleting what is gone succeeds.
    delete(&p, "rabbitmq.vhost", &created).await;
    drop(scope);
}

#[tokio::test]
async fn users_get_hashed_passwords_and_password_drift_is_seen() {
    let server = server_or_skip!();
    let p = provider(&server).await;
    let mut scope = Scope::new(&server, "user");
    let name = unique("orch_rt_user");
    scope.users.push(name.clone());
    let config = config(
        "rabbitmq.user",
        &[
            ("name", s(&name)),
            ("password", Value::secret(s("first pässword"))),
            ("tags", Value::list(vec![s("management"), s("monitoring")])),
        ],
    );
    let created = create(&p, "rabbitmq.user", &config).await;
    assert!(field(&created, "password").is_secret());
    assert!(server.can_log_in(&name, "first pässword"));
    let stored = server.get(&format!("/api/users/{}", encode(&name))).expect("the user");
    assert_eq!(stored["hashing_algorithm"], "rabbit_password_hashing_sha256");
    // Same set of tags, another order on the server: no drift.
    assert_eq!(read(&p, "rabbitmq.user", &created).await.map(|v| plain(&v)), Some(plain(&created)));

    // Tags are a set: another order in the configuration is no change.
    let reordered = with(&config, "tags", Value::list(vec![s("monitoring"), s("management")]));
    let planned = p.plan("rabbitmq.user", Some(&created), &reordered);
    assert_eq!(plain(&planned.value), plain(&created));

    // Changed by hand: the password and the tags read as drift.
    server.send(
        "PUT",
        &format!("/api/users/{}", encode(&name)),
        Some(json!({"password": "changed by hand", "tags": "administrator"})),
    );
    let drifted = read(&p, "rabbitmq.user", &created).await.expect("the user");
    assert_ne!(plain(field(&drifted, "password")), s("first pässword"));
    assert!(field(&drifted, "password").is_secret());
    assert_eq!(field(&drifted, "tags"), &Value::list(vec![s("administrator")]));
    let planned = p.plan("rabbitmq.user", Some(&drifted), &config);
    assert!(planned.requires_replace.is_empty());
    let repaired = update(&p, "rabbitmq.user", &drifted, &config).await;
    assert!(server.can_log_in(&name, "first pässword"));
    assert!(!server.can_log_in(&name, "changed by hand"));
    assert_eq!(read(&p, "rabbitmq.user", &repaired).await.map(|v| plain(&v)), Some(plain(&config)));

    // Update in place; a new name replaces.
    let second = with(&config, "password", Value::secret(s("second")));
    let updated = update(&p, "rabbitmq.user", &repaired, &second).await;
    assert!(server.can_log_in(&name, "second"));
    assert_eq!(
        p.plan("rabbitmq.user", Some(&updated), &with(&second, "name", s("x"))).requires_replace,
        ["name"]
    );

    // Import: the password is not known, so the plan sets it.
    let imported = p.import(&ctx(), "rabbitmq.user", &name).await.expect("import").expect("found");
    assert_eq!(field(&imported, "password"), &Value::None);
    assert_ne!(plain(&p.plan("rabbitmq.user", Some(&imported), &second).value), plain(&imported));

    delete(&p, "rabbitmq.user", &updated).await;
    assert!(!server.exists(&format!("/api/users/{}", encode(&name))));
}

#[tokio::test]
async fn permissions_are_updated_in_place_and_repaired() {
    let server = server_or_skip!();
    let p = provider(&server).await;
    let mut scope = Scope::new(&server, "perm");
    let user = unique("orch_rt_permuser");
    scope.users.push(user.clone());
    create(
        &p,
        "rabbitmq.user",
        &config("rabbitmq.user", &[("name", s(&user)), ("password", Value::secret(s("pw")))]),
    )
    .await;
    let config = config(
        "rabbitmq.permissions",
        &[("user", s(&user)), ("vhost", s(&scope.vhost)), ("read", s("^app\\..*"))],
    );
    let created = create(&p, "rabbitmq.permissions", &config).await;
    let path = format!("/api/permissions/{}/{}", encode(&scope.vhost), encode(&user));
    assert_eq!(server.get(&path).expect("permissions")["read"], "^app\\..*");
    assert_eq!(read(&p, "rabbitmq.permissions", &created).await.as_ref(), Some(&created));

    server.send("PUT", &path, Some(json!({"configure": "", "write": ".*", "read": ".*"})));
    let drifted = read(&p, "rabbitmq.permissions", &created).await.expect("permissions");
    assert_eq!(field(&drifted, "configure"), &s(""));
    let repaired = update(&p, "rabbitmq.permissions", &drifted, &config).await;
    assert_eq!(read(&p, "rabbitmq.permissions", &repaired).await.as_ref(), Some(&config));

    let narrower = with(&config, "write", s("^app$"));
    let updated = update(&p, "rabbitmq.permissions", &repaired, &narrower).await;
    assert_eq!(server.get(&path).expect("permissions")["write"], "^app$");
    let elsewhere = with(&narrower, "vhost", s("/"));
    assert_eq!(
        p.plan("rabbitmq.permissions", Some(&updated), &elsewhere).requires_replace,
        ["vhost"]
    );

    let id = format!("{user}@{}", scope.vhost);
    let imported = p.import(&ctx(), "rabbitmq.permissions", &id).await.expect("import");
    assert_eq!(imported.as_ref(), Some(&updated));

    delete(&p, "rabbitmq.permissions", &updated).await;
    assert!(!server.exists(&path));
    assert_eq!(read(&p, "rabbitmq.permissions", &updated).await, None);
}

#[tokio::test]
async fn exchanges_and_queues_are_replaced_and_read_back() {
    let server = server_or_skip!();
    let p = provider(&server).await;
    let scope = Scope::new(&server, "exq");
    let vhost = s(&scope.vhost);
    let exchange = config(
        "rabbitmq.exchange",
        &[
            ("name", s("events")),
            ("vhost", vhost.clone()),
            ("type", s("topic")),
            ("arguments", Value::map([("alternate-exchange".into(), s("unrouted"))].into())),
        ],
    );
    let queue = config(
        "rabbitmq.queue",
        &[
            ("name", s("jobs")),
            ("vhost", vhost.clone()),
            ("arguments", int_map(&[("x-message-ttl", 60000)])),
        ],
    );
    let ex = create(&p, "rabbitmq.exchange", &exchange).await;
    let q = create(&p, "rabbitmq.queue", &queue).await;
    let stored = server.get(&scope.path("queues", "jobs")).expect("the queue");
    assert_eq!(stored["arguments"]["x-message-ttl"], 60000);
    assert_eq!(stored["durable"], true);
    assert_eq!(server.get(&scope.path("exchanges", "events")).expect("exchange")["type"], "topic");
    assert_eq!(read(&p, "rabbitmq.exchange", &ex).await.as_ref(), Some(&ex));
    assert_eq!(read(&p, "rabbitmq.queue", &q).await.as_ref(), Some(&q));

    // Every property replaces.
    for (field_name, to) in
        [("durable", Value::Bool(false)), ("arguments", int_map(&[("x-max-length", 5)]))]
    {
        assert_eq!(
            p.plan("rabbitmq.queue", Some(&q), &with(&queue, field_name, to)).requires_replace,
            [field_name]
        );
    }
    assert_eq!(
        p.plan("rabbitmq.exchange", Some(&ex), &with(&exchange, "type", s("fanout")))
            .requires_replace,
        ["type"]
    );
    assert!(p.plan("rabbitmq.queue", Some(&q), &queue).requires_replace.is_empty());

    // Drift: deleted and declared again by hand with other properties.
    server.send("DELETE", &scope.path("queues", "jobs"), None);
    assert_eq!(read(&p, "rabbitmq.queue", &q).await, None);
    server.send(
        "PUT",
        &scope.path("queues", "jobs"),
        Some(json!({"durable": false, "auto_delete": false, "arguments": {}})),
    );
    let drifted = read(&p, "rabbitmq.queue", &q).await.expect("the queue");
    assert_eq!(field(&drifted, "durable"), &Value::Bool(false));
    assert_eq!(
        p.plan("rabbitmq.queue", Some(&drifted), &queue).requires_replace,
        ["durable", "arguments"]
    );
    // Replacing: delete, then create.
    delete(&p, "rabbitmq.queue", &drifted).await;
    let q = create(&p, "rabbitmq.queue", &queue).await;
    assert_eq!(read(&p, "rabbitmq.queue", &q).await.as_ref(), Some(&q));

    let id = format!("jobs@{}", scope.vhost);
    assert_eq!(p.import(&ctx(), "rabbitmq.queue", &id).await.expect("import").as_ref(), Some(&q));
    let id = format!("events@{}", scope.vhost);
    assert_eq!(
        p.import(&ctx(), "rabbitmq.exchange", &id).await.expect("import").as_ref(),
        Some(&ex)
    );
    let error = p.import(&ctx(), "rabbitmq.queue", "jobs").await.expect_err("no vhost");
    assert!(error.message.contains("NAME@VHOST"), "{error}");

    delete(&p, "rabbitmq.queue", &q).await;
    delete(&p, "rabbitmq.exchange", &ex).await;
    assert!(!server.exists(&scope.path("queues", "jobs")));
    assert!(!server.exists(&scope.path("exchanges", "events")));
}

#[tokio::test]
async fn bindings_get_their_properties_key() {
    let server = server_or_skip!();
    let p = provider(&server).await;
    let scope = Scope::new(&server, "bind");
    let vhost = s(&scope.vhost);
    create(
        &p,
        "rabbitmq.exchange",
        &config(
            "rabbitmq.exchange",
            &[("name", s("ex/a")), ("vhost", vhost.clone()), ("type", s("topic"))],
        ),
    )
    .await;
    create(
        &p,
        "rabbitmq.exchange",
        &config("rabbitmq.exchange", &[("name", s("ex_b")), ("vhost", vhost.clone())]),
    )
    .await;
    create(
        &p,
        "rabbitmq.queue",
        &config("rabbitmq.queue", &[("name", s("q1")), ("vhost", vhost.clone())]),
    )
    .await;
    let to_queue = config(
        "rabbitmq.binding",
        &[
            ("source", s("ex/a")),
            ("destination", s("q1")),
            ("vhost", vhost.clone()),
            ("routing_key", s("a.#")),
        ],
    );
    let b1 = create(&p, "rabbitmq.binding", &to_queue).await;
    assert_eq!(field(&b1, "properties_key"), &s("a.%23"));
    assert_eq!(read(&p, "rabbitmq.binding", &b1).await.as_ref(), Some(&b1));
    let to_exchange = config(
        "rabbitmq.binding",
        &[
            ("source", s("ex/a")),
            ("destination", s("ex_b")),
            ("destination_type", s("exchange")),
            ("vhost", vhost.clone()),
            ("arguments", int_map(&[("x-weight", 2)])),
        ],
    );
    let b2 = create(&p, "rabbitmq.binding", &to_exchange).await;
    let key = field(&b2, "properties_key").as_str().expect("a key").to_string();
    assert!(key.starts_with('~'), "{key}");
    let list = format!("/api/bindings/{}/e/{}/e/ex_b", encode(&scope.vhost), encode("ex/a"));
    assert_eq!(server.get(&list).expect("bindings").as_array().map(Vec::len), Some(1));

    // Every field replaces; a change of key is a new binding.
    assert_eq!(
        p.plan("rabbitmq.binding", Some(&b1), &with(&to_queue, "routing_key", s("b")))
            .requires_replace,
        ["routing_key"]
    );

    // Import by the Terraform id.
    let id = format!("{}/ex%2Fa/q1/queue/a.%23", scope.vhost);
    assert_eq!(
        p.import(&ctx(), "rabbitmq.binding", &id).await.expect("import").as_ref(),
        Some(&b1)
    );

    // Deleted by hand: gone; created again.
    let one = format!("/api/bindings/{}/e/{}/q/q1/a.%23", encode(&scope.vhost), encode("ex/a"));
    server.send("DELETE", &one, None);
    assert_eq!(read(&p, "rabbitmq.binding", &b1).await, None);
    let b1 = create(&p, "rabbitmq.binding", &to_queue).await;
    assert!(server.exists(&one));

    delete(&p, "rabbitmq.binding", &b1).await;
    delete(&p, "rabbitmq.binding", &b2).await;
    assert!(!server.exists(&one));
    assert_eq!(server.get(&list).expect("bindings").as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn policies_are_updated_in_place() {
    let server = server_or_skip!();
    let p = provider(&server).await;
    let scope = Scope::new(&server, "policy");
    let config = config(
        "rabbitmq.policy",
        &[
            ("name", s("limits")),
            ("vhost", s(&scope.vhost)),
            ("pattern", s("^jobs")),
            ("apply_to", s("queues")),
            ("priority", Value::Int(3)),
            (
                "definition",
                Value::map(
                    [
                        ("max-length".into(), Value::Int(1000)),
                        ("overflow".into(), s("reject-publish")),
                    ]
                    .into(),
                ),
            ),
        ],
    );
    let created = create(&p, "rabbitmq.policy", &config).await;
    let stored = server.get(&scope.path("policies", "limits")).expect("the policy");
    assert_eq!(stored["definition"]["max-length"], 1000);
    assert_eq!(stored["apply-to"], "queues");
    assert_eq!(read(&p, "rabbitmq.policy", &created).await.as_ref(), Some(&created));

    server.send(
        "PUT",
        &scope.path("policies", "limits"),
        Some(json!({"pattern": "^other", "definition": {"max-length": 1}, "priority": 3, "apply-to": "queues"})),
    );
    let drifted = read(&p, "rabbitmq.policy", &created).await.expect("the policy");
    assert_eq!(field(&drifted, "pattern"), &s("^other"));
    let repaired = update(&p, "rabbitmq.policy", &drifted, &config).await;
    assert_eq!(read(&p, "rabbitmq.policy", &repaired).await.as_ref(), Some(&config));

    let changed = with(&with(&config, "priority", Value::Int(9)), "apply_to", s("all"));
    let updated = update(&p, "rabbitmq.policy", &repaired, &changed).await;
    assert_eq!(server.get(&scope.path("policies", "limits")).expect("policy")["priority"], 9);
    let id = format!("limits@{}", scope.vhost);
    assert_eq!(
        p.import(&ctx(), "rabbitmq.policy", &id).await.expect("import").as_ref(),
        Some(&updated)
    );

    delete(&p, "rabbitmq.policy", &updated).await;
    assert!(!server.exists(&scope.path("policies", "limits")));
}

#[tokio::test]
async fn server_errors_carry_the_servers_reason() {
    let server = server_or_skip!();
    let p = provider(&server).await;
    let scope = Scope::new(&server, "errors");
    let bad = config(
        "rabbitmq.exchange",
        &[("name", s("odd")), ("vhost", s(&scope.vhost)), ("type", s("no-such-type"))],
    );
    let error = p
        .apply(&ctx(), "rabbitmq.exchange", Change::Create { config: &bad })
        .await
        .expect_err("refused");
    assert!(!error.transient, "{error}");
    assert!(error.message.contains("no-such-type"), "{error}");
    assert!(error.message.contains("creating exchange odd"), "{error}");
    // A queue declared again with other properties: the server refuses.
    let q = config("rabbitmq.queue", &[("name", s("q")), ("vhost", s(&scope.vhost))]);
    create(&p, "rabbitmq.queue", &q).await;
    let other = with(&q, "durable", Value::Bool(false));
    let error = p
        .apply(&ctx(), "rabbitmq.queue", Change::Create { config: &other })
        .await
        .expect_err("refused");
    assert!(error.message.contains("durable"), "{error}");
    // A missing virtual host.
    let lost = config("rabbitmq.queue", &[("name", s("q")), ("vhost", s("orch_no_such_vhost"))]);
    let error = p
        .apply(&ctx(), "rabbitmq.queue", Change::Create { config: &lost })
        .await
        .expect_err("refused");
    assert!(error.message.contains("orch_no_such_vhost"), "{error}");
    // Validation.
    let problems = p.validate("rabbitmq.queue", &with(&q, "name", s("amq.mine")));
    assert!(problems.iter().any(|p| p.contains("amq.")), "{problems:?}");
    let user = config("rabbitmq.user", &[("name", s("x")), ("password", Value::secret(s("")))]);
    assert!(!p.validate("rabbitmq.user", &user).is_empty());
    let binding = config(
        "rabbitmq.binding",
        &[("source", s("a")), ("destination", s("b")), ("destination_type", s("topic"))],
    );
    let problems = p.validate("rabbitmq.binding", &binding);
    assert!(problems.iter().any(|p| p.contains("destination_type")), "{problems:?}");
    let policy = config(
        "rabbitmq.policy",
        &[("name", s("p")), ("pattern", s(".*")), ("apply_to", s("queue"))],
    );
    let problems = p.validate("rabbitmq.policy", &policy);
    assert!(problems.iter().any(|p| p.contains("\"queues\"")), "{problems:?}");
}

#[tokio::test]
async fn unreachable_servers_are_transient_and_bad_credentials_are_not() {
    let server = server_or_skip!();
    let mut p = RabbitMqProvider::default();
    let block = |endpoint: &str, password: &str| {
        Value::map(
            [
                ("endpoint".into(), s(endpoint)),
                ("username".into(), s(&server.username)),
                ("password".into(), Value::secret(s(password))),
            ]
            .into(),
        )
    };
    p.configure(&block("http://127.0.0.1:1", "x")).await.expect("configure");
    let error: ProviderError = p.probe().await.expect_err("nothing listens on port 1");
    assert!(error.transient, "{error}");
    let wrong = "not-the-password-1234";
    p.configure(&block(&server.endpoint, wrong)).await.expect("configure");
    let error = p.probe().await.expect_err("wrong password");
    assert!(!error.transient, "{error}");
    assert!(error.message.contains("401"), "{error}");
    assert!(!error.message.contains(wrong), "the password is never in a message: {error}");
    p.configure(&block("ftp://127.0.0.1", "x")).await.expect("configure");
    let error = p.probe().await.expect_err("not http");
    assert!(error.message.contains("http"), "{error}");
    // Credentials in the endpoint are used, and never shown.
    let with_userinfo =
        server.endpoint.replacen("://", &format!("://{}:{}@", server.username, server.password), 1);
    p.configure(&Value::map([("endpoint".into(), s(&with_userinfo))].into()))
        .await
        .expect("configure");
    p.probe().await.expect("credentials from the endpoint");
}
