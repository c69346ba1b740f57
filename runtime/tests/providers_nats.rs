//! The `nats` provider against a real NATS server with JetStream, named by
//! `ORCH_TEST_NATS_URL` (default `nats://127.0.0.1:4222`); a test fails when
//! it cannot be reached, unless `ORCH_TEST_SKIP_NATS=1` (`common/nats.rs`).
//! Changes made behind the provider's back, and what the tests check, go
//! through the JetStream API as a NATS client sends it. Names carry a random
//! suffix; what a test made is removed however it ends. The end-to-end runs
//! through `orchc` are in `cli/tests/nats.rs`.

mod common;

use common::values::{config, list, s, same_fields, unique, with};
use orch_runtime::provider::{Change, OpContext, Provider, field};
use orch_runtime::providers::nats::NatsProvider;
use orch_stdlib::Value;
use serde_json::{Value as Json, json};

macro_rules! server_or_skip {
    () => {
        match common::nats::server() {
            Some(url) => url,
            None => return,
        }
    };
}

/// Nanoseconds in a second, as the JetStream API counts durations.
const NS_PER_S: i64 = 1_000_000_000;

fn ctx() -> OpContext {
    common::values::ctx("nats.test")
}

async fn provider(url: &str) -> NatsProvider {
    let mut provider = NatsProvider::default();
    provider.configure(&Value::map([("url".into(), s(url))].into())).await.expect("configure");
    provider.probe().await.expect("the provider reaches the test server");
    provider
}

/// A JetStream API request (`STREAM.INFO.X`) from a plain client.
fn api(url: &str, subject: &str, payload: Json) -> Json {
    common::nats::api(url, subject, payload)
}

/// The configuration the server reports for the stream `name`, `None` when
/// it has no such stream.
fn stream_info(url: &str, name: &str) -> Option<Json> {
    let reply = api(url, &format!("STREAM.INFO.{name}"), json!({}));
    match reply.get("error") {
        Some(error) if error["err_code"] == 10059 => None,
        Some(error) => panic!("STREAM.INFO.{name}: {error}"),
        None => Some(reply["config"].clone()),
    }
}

/// The configuration the server reports for a consumer, `None` when gone.
fn consumer_info(url: &str, stream: &str, durable: &str) -> Option<Json> {
    let reply = api(url, &format!("CONSUMER.INFO.{stream}.{durable}"), json!({}));
    match reply.get("error") {
        Some(error) if error["err_code"] == 10014 || error["err_code"] == 10059 => None,
        Some(error) => panic!("CONSUMER.INFO.{stream}.{durable}: {error}"),
        None => Some(reply["config"].clone()),
    }
}

/// Changes the stream `name` by hand: its configuration with `change` made.
fn update_stream_by_hand(url: &str, name: &str, change: impl FnOnce(&mut Json)) {
    let mut config = stream_info(url, name).expect("the stream exists");
    change(&mut config);
    let reply = api(url, &format!("STREAM.UPDATE.{name}"), config);
    assert!(reply.get("error").is_none(), "STREAM.UPDATE.{name}: {reply}");
}

/// Deletes the streams a test made, however it ends.
struct Cleanup {
    url: String,
    streams: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.streams {
            let _ = api(&self.url, &format!("STREAM.DELETE.{name}"), json!({}));
        }
    }
}

/// Whether planning `config` against the object `prior` (as read back)
/// changes nothing.
fn no_change(provider: &NatsProvider, kind: &str, prior: &Value, config: &Value) -> bool {
    let planned = provider.plan(kind, Some(prior), config);
    planned.requires_replace.is_empty() && same_fields(kind, &planned.value, prior)
}

async fn read(provider: &NatsProvider, kind: &str, prior: &Value) -> Value {
    provider.read(&ctx(), kind, prior).await.expect("read").expect("the object exists")
}

async fn apply(provider: &NatsProvider, kind: &str, change: Change<'_>) -> Option<Value> {
    provider.apply(&ctx(), kind, change).await.unwrap_or_else(|err| panic!("{kind}: {err}"))
}

fn subjects(config: &Json) -> Vec<String> {
    let mut subjects: Vec<String> = config["subjects"]
        .as_array()
        .expect("subjects")
        .iter()
        .map(|s| s.as_str().expect("a subject").to_string())
        .collect();
    subjects.sort();
    subjects
}

#[tokio::test]
async fn stream_lifecycle() {
    let url = server_or_skip!();
    let provider = provider(&url).await;
    let (name, renamed) = (unique("ORCH_RT_S"), unique("ORCH_RT_S"));
    let _cleanup = Cleanup { url: url.clone(), streams: vec![name.clone(), renamed.clone()] };
    let kind = "nats.stream";
    let (orders, refunds) = (format!("{name}.orders.>"), format!("{name}.refunds.>"));

    // Create: what the server keeps is what was asked for.
    let wanted = config(
        kind,
        &[
            ("name", s(&name)),
            ("subjects", list(&[&orders, &refunds])),
            ("max_age", Value::Duration(3_600_000)),
        ],
    );
    assert!(provider.validate(kind, &wanted).is_empty());
    let created = apply(&provider, kind, Change::Create { config: &wanted }).await.unwrap();
    let server = stream_info(&url, &name).expect("the stream exists");
    assert_eq!(subjects(&server), [orders.clone(), refunds.clone()]);
    assert_eq!(server["max_age"], 3_600 * NS_PER_S);
    assert_eq!(server["storage"], "file");
    assert_eq!(server["retention"], "limits");
    assert_eq!(server["max_msgs"], -1);
    assert_eq!(field(&created, "max_msgs"), &Value::None);
    let current = read(&provider, kind, &created).await;
    assert_eq!(current, created);
    assert!(no_change(&provider, kind, &current, &wanted));
    // Creating a stream that exists is refused: it must be imported.
    let again = provider.apply(&ctx(), kind, Change::Create { config: &wanted }).await;
    assert!(again.expect_err("exists").message.contains("already exists"));

    // Drift by hand: another subject and a message limit. It shows, and an
    // update puts back what was configured.
    let extra = format!("{name}.extra");
    update_stream_by_hand(&url, &name, |config| {
        config["subjects"].as_array_mut().unwrap().push(json!(extra));
        config["max_msgs"] = json!(10);
    });
    let drifted = read(&provider, kind, &current).await;
    assert_eq!(field(&drifted, "subjects"), &list(&[&orders, &refunds, &extra]));
    assert_eq!(field(&drifted, "max_msgs"), &Value::Int(10));
    let planned = provider.plan(kind, Some(&drifted), &wanted);
    assert!(planned.requires_replace.is_empty(), "{:?}", planned.requires_replace);
    assert!(!no_change(&provider, kind, &drifted, &wanted));
    apply(&provider, kind, Change::Update { prior: &drifted, config: &wanted }).await;
    let server = stream_info(&url, &name).expect("the stream exists");
    assert_eq!(subjects(&server), [orders.clone(), refunds.clone()]);
    assert_eq!(server["max_msgs"], -1);

    // Update in place: a subject fewer, limits, discard new.
    let changed = with(
        &with(&with(&wanted, "subjects", list(&[&orders])), "max_bytes", Value::Int(1 << 20)),
        "discard",
        s("new"),
    );
    assert!(provider.plan(kind, Some(&current), &changed).requires_replace.is_empty());
    let updated =
        apply(&provider, kind, Change::Update { prior: &current, config: &changed }).await.unwrap();
    let server = stream_info(&url, &name).expect("the stream exists");
    assert_eq!(subjects(&server), [orders.as_str()]);
    assert_eq!(server["max_bytes"], 1 << 20);
    assert_eq!(server["discard"], "new");
    assert!(no_change(&provider, kind, &read(&provider, kind, &updated).await, &changed));

    // Another storage type, retention or name is a replacement: the old
    // stream deleted, the new one created (as the executor does it).
    for (field_name, value) in
        [("storage", s("memory")), ("retention", s("workqueue")), ("name", s(&renamed))]
    {
        let planned = provider.plan(kind, Some(&updated), &with(&changed, field_name, value));
        assert_eq!(planned.requires_replace, [field_name]);
    }
    let in_memory = with(&changed, "storage", s("memory"));
    apply(&provider, kind, Change::Delete { prior: &updated }).await;
    let replaced = apply(&provider, kind, Change::Create { config: &in_memory }).await.unwrap();
    assert_eq!(stream_info(&url, &name).expect("the stream exists")["storage"], "memory");
    assert!(no_change(&provider, kind, &read(&provider, kind, &replaced).await, &in_memory));

    // Import by name: what the server has.
    let imported = provider.import(&ctx(), kind, &name).await.unwrap().expect("the stream exists");
    assert_eq!(field(&imported, "subjects"), &list(&[&orders]));
    assert_eq!(field(&imported, "storage"), &s("memory"));
    assert_eq!(field(&imported, "max_age"), &Value::Duration(3_600_000));
    assert!(no_change(&provider, kind, &imported, &in_memory));
    assert_eq!(provider.import(&ctx(), kind, &renamed).await.unwrap(), None);

    // Delete leaves nothing; deleting again is not an error.
    apply(&provider, kind, Change::Delete { prior: &replaced }).await;
    assert_eq!(stream_info(&url, &name), None);
    assert_eq!(provider.read(&ctx(), kind, &replaced).await.unwrap(), None);
    apply(&provider, kind, Change::Delete { prior: &replaced }).await;
}

#[tokio::test]
async fn consumer_lifecycle() {
    let url = server_or_skip!();
    let provider = provider(&url).await;
    let stream = unique("ORCH_RT_C");
    let _cleanup = Cleanup { url: url.clone(), streams: vec![stream.clone()] };
    let stream_config = config(
        "nats.stream",
        &[("name", s(&stream)), ("subjects", list(&[&format!("{stream}.>")]))],
    );
    apply(&provider, "nats.stream", Change::Create { config: &stream_config }).await;
    let kind = "nats.consumer";
    let durable = unique("worker");
    let filter = format!("{stream}.jobs");

    // Create: a durable pull consumer with a filter and a redelivery wait.
    let wanted = config(
        kind,
        &[
            ("stream", s(&stream)),
            ("durable", s(&durable)),
            ("filter_subject", s(&filter)),
            ("ack_wait", Value::Duration(10_000)),
        ],
    );
    let created = apply(&provider, kind, Change::Create { config: &wanted }).await.unwrap();
    let server = consumer_info(&url, &stream, &durable).expect("the consumer exists");
    assert_eq!(server["durable_name"], json!(durable));
    assert_eq!(server["filter_subject"], json!(filter));
    assert_eq!(server["ack_policy"], "explicit");
    assert_eq!(server["ack_wait"], 10 * NS_PER_S);
    assert!(server.get("deliver_subject").is_none(), "a pull consumer: {server}");
    let current = read(&provider, kind, &created).await;
    assert_eq!(current, created);
    assert!(no_change(&provider, kind, &current, &wanted));
    let again = provider.apply(&ctx(), kind, Change::Create { config: &wanted }).await;
    assert!(again.expect_err("exists").message.contains("already exists"));

    // Drift by hand: a delivery limit and another wait, as a client
    // updating the consumer sends them.
    let mut by_hand = server.clone();
    by_hand["max_deliver"] = json!(3);
    by_hand["ack_wait"] = json!(20 * NS_PER_S);
    let reply = api(
        &url,
        &format!("CONSUMER.DURABLE.CREATE.{stream}.{durable}"),
        json!({ "stream_name": stream, "config": by_hand }),
    );
    assert!(reply.get("error").is_none(), "{reply}");
    let drifted = read(&provider, kind, &current).await;
    assert_eq!(field(&drifted, "max_deliver"), &Value::Int(3));
    assert_eq!(field(&drifted, "ack_wait"), &Value::Duration(20_000));
    assert!(!no_change(&provider, kind, &drifted, &wanted));
    assert!(provider.plan(kind, Some(&drifted), &wanted).requires_replace.is_empty());
    apply(&provider, kind, Change::Update { prior: &drifted, config: &wanted }).await;
    let server = consumer_info(&url, &stream, &durable).expect("the consumer exists");
    assert_eq!(server["max_deliver"], -1);
    assert_eq!(server["ack_wait"], 10 * NS_PER_S);

    // Update in place: a delivery limit, the server's default wait.
    let changed = with(&with(&wanted, "max_deliver", Value::Int(5)), "ack_wait", Value::None);
    assert!(provider.plan(kind, Some(&current), &changed).requires_replace.is_empty());
    let updated =
        apply(&provider, kind, Change::Update { prior: &current, config: &changed }).await.unwrap();
    let server = consumer_info(&url, &stream, &durable).expect("the consumer exists");
    assert_eq!(server["max_deliver"], 5);
    assert_eq!(server["ack_wait"], 30 * NS_PER_S);
    assert!(no_change(&provider, kind, &read(&provider, kind, &updated).await, &changed));

    // The subjects delivered change in place.
    let refiltered = with(&changed, "filter_subject", s(&format!("{stream}.other")));
    assert!(provider.plan(kind, Some(&updated), &refiltered).requires_replace.is_empty());
    apply(&provider, kind, Change::Update { prior: &updated, config: &refiltered }).await;
    let server = consumer_info(&url, &stream, &durable).expect("the consumer exists");
    assert_eq!(server["filter_subject"], json!(format!("{stream}.other")));
    apply(&provider, kind, Change::Update { prior: &updated, config: &changed }).await;

    // Another start, acknowledgement policy (which JetStream cannot change
    // in place), durable name or stream is a replacement.
    for (field_name, value) in [
        ("deliver_policy", s("new")),
        ("ack_policy", s("all")),
        ("durable", s("other")),
        ("stream", s("OTHER")),
    ] {
        let planned = provider.plan(kind, Some(&updated), &with(&changed, field_name, value));
        assert_eq!(planned.requires_replace, [field_name]);
    }
    let from_new = with(&changed, "deliver_policy", s("new"));
    apply(&provider, kind, Change::Delete { prior: &updated }).await;
    let replaced = apply(&provider, kind, Change::Create { config: &from_new }).await.unwrap();
    let server = consumer_info(&url, &stream, &durable).expect("the consumer exists");
    assert_eq!(server["deliver_policy"], "new");
    assert!(no_change(&provider, kind, &read(&provider, kind, &replaced).await, &from_new));

    // Import as STREAM/DURABLE.
    let imported = provider
        .import(&ctx(), kind, &format!("{stream}/{durable}"))
        .await
        .unwrap()
        .expect("the consumer exists");
    assert!(no_change(&provider, kind, &imported, &from_new));
    assert_eq!(provider.import(&ctx(), kind, &format!("{stream}/nobody")).await.unwrap(), None);
    let bad = provider.import(&ctx(), kind, &durable).await.expect_err("not STREAM/DURABLE");
    assert!(bad.message.contains("STREAM/DURABLE"), "{}", bad.message);

    // Delete leaves nothing, and keeps the stream.
    apply(&provider, kind, Change::Delete { prior: &replaced }).await;
    assert_eq!(consumer_info(&url, &stream, &durable), None);
    assert!(stream_info(&url, &stream).is_some());
    assert_eq!(provider.read(&ctx(), kind, &replaced).await.unwrap(), None);
    // A consumer whose stream is gone reads as gone.
    apply(&provider, "nats.stream", Change::Delete { prior: &stream_config }).await;
    assert_eq!(provider.read(&ctx(), kind, &replaced).await.unwrap(), None);
}

/// Puts `value` at `key` of the bucket `bucket` and reads it back, with a
/// NATS client's key-value API.
async fn put_and_get(url: &str, bucket: &str, key: &str, value: &str) -> Option<String> {
    let js = common::nats::connect(url).await.expect("connect");
    let store = js.get_key_value(bucket).await.expect("the bucket exists");
    store.put(key, value.as_bytes().to_vec().into()).await.expect("put");
    let entry = store.get(key).await.expect("get");
    entry.map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn kv_bucket_lifecycle() {
    let url = server_or_skip!();
    let provider = provider(&url).await;
    let name = unique("orch_rt_kv");
    let stream = format!("KV_{name}");
    let _cleanup = Cleanup { url: url.clone(), streams: vec![stream.clone()] };
    let kind = "nats.kv_bucket";

    // Create: a bucket a NATS client can use.
    let wanted = config(
        kind,
        &[("name", s(&name)), ("history", Value::Int(5)), ("ttl", Value::Duration(3_600_000))],
    );
    let created = apply(&provider, kind, Change::Create { config: &wanted }).await.unwrap();
    let server = stream_info(&url, &stream).expect("the bucket's stream exists");
    assert_eq!(server["max_msgs_per_subject"], 5);
    assert_eq!(server["max_age"], 3_600 * NS_PER_S);
    assert_eq!(subjects(&server), [format!("$KV.{name}.>")]);
    assert_eq!(put_and_get(&url, &name, "greeting", "hello").await.as_deref(), Some("hello"));
    let current = read(&provider, kind, &created).await;
    assert_eq!(current, created);
    assert!(no_change(&provider, kind, &current, &wanted));
    let again = provider.apply(&ctx(), kind, Change::Create { config: &wanted }).await;
    assert!(again.expect_err("exists").message.contains("already exists"));

    // Drift by hand: less history, a size limit.
    update_stream_by_hand(&url, &stream, |config| {
        config["max_msgs_per_subject"] = json!(2);
        config["max_bytes"] = json!(4096);
    });
    let drifted = read(&provider, kind, &current).await;
    assert_eq!(field(&drifted, "history"), &Value::Int(2));
    assert_eq!(field(&drifted, "max_bytes"), &Value::Int(4096));
    assert!(!no_change(&provider, kind, &drifted, &wanted));
    apply(&provider, kind, Change::Update { prior: &drifted, config: &wanted }).await;
    let server = stream_info(&url, &stream).expect("the bucket's stream exists");
    assert_eq!(server["max_msgs_per_subject"], 5);
    assert_eq!(server["max_bytes"], -1);

    // Update in place: more history, no expiry; the values stay.
    let changed = with(&with(&wanted, "history", Value::Int(10)), "ttl", Value::None);
    assert!(provider.plan(kind, Some(&current), &changed).requires_replace.is_empty());
    let updated =
        apply(&provider, kind, Change::Update { prior: &current, config: &changed }).await.unwrap();
    let server = stream_info(&url, &stream).expect("the bucket's stream exists");
    assert_eq!(server["max_msgs_per_subject"], 10);
    assert_eq!(server["max_age"], 0);
    assert_eq!(put_and_get(&url, &name, "other", "value").await.as_deref(), Some("value"));
    assert!(no_change(&provider, kind, &read(&provider, kind, &updated).await, &changed));

    // Another storage type or name is a replacement.
    for (field_name, value) in [("storage", s("memory")), ("name", s("orch_other"))] {
        let planned = provider.plan(kind, Some(&updated), &with(&changed, field_name, value));
        assert_eq!(planned.requires_replace, [field_name]);
    }
    let in_memory = with(&changed, "storage", s("memory"));
    apply(&provider, kind, Change::Delete { prior: &updated }).await;
    let replaced = apply(&provider, kind, Change::Create { config: &in_memory }).await.unwrap();
    assert_eq!(stream_info(&url, &stream).expect("the stream exists")["storage"], "memory");
    assert!(no_change(&provider, kind, &read(&provider, kind, &replaced).await, &in_memory));

    // Import by name.
    let imported = provider.import(&ctx(), kind, &name).await.unwrap().expect("the bucket exists");
    assert!(no_change(&provider, kind, &imported, &in_memory));
    assert_eq!(provider.import(&ctx(), kind, "orch_no_such_bucket").await.unwrap(), None);

    // Delete leaves nothing.
    apply(&provider, kind, Change::Delete { prior: &replaced }).await;
    assert_eq!(stream_info(&url, &stream), None);
    assert_eq!(provider.read(&ctx(), kind, &replaced).await.unwrap(), None);
}

#[tokio::test]
async fn bad_input_is_refused_and_an_unreachable_server_is_transient() {
    let provider = provider_unprobed("nats://127.0.0.1:1").await;
    let err = provider.probe().await.expect_err("nothing listens on port 1");
    assert!(err.transient, "{err:?}");
    assert!(err.message.contains("NATS at 127.0.0.1:1"), "{}", err.message);

    let problems = provider.validate(
        "nats.stream",
        &config(
            "nats.stream",
            &[("name", s("a.b")), ("subjects", list(&[])), ("replicas", Value::Int(6))],
        ),
    );
    assert_eq!(problems.len(), 3, "{problems:?}");
    let problems = provider.validate(
        "nats.consumer",
        &config(
            "nats.consumer",
            &[("stream", s("S")), ("durable", s("d x")), ("max_deliver", Value::Int(0))],
        ),
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    let problems = provider.validate(
        "nats.kv_bucket",
        &config("nats.kv_bucket", &[("name", s("a.b")), ("history", Value::Int(65))]),
    );
    assert_eq!(problems.len(), 2, "{problems:?}");

    let secret = provider_unprobed("nats://orch:hunter2@127.0.0.1:1").await;
    let err = secret.probe().await.expect_err("nothing listens on port 1");
    assert!(!err.message.contains("hunter2"), "{}", err.message);
    let bad = provider_unprobed("http://127.0.0.1:4222").await;
    let err = bad.probe().await.expect_err("not a NATS URL");
    assert!(err.message.contains("not a NATS URL"), "{}", err.message);
}

async fn provider_unprobed(url: &str) -> NatsProvider {
    let mut provider = NatsProvider::default();
    provider.configure(&Value::map([("url".into(), s(url))].into())).await.expect("configure");
    provider
}
