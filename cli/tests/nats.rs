//! `orchc apply`, `plan`, `import` and `destroy` end to end against a real
//! NATS JetStream server: a stream, a consumer and a key-value bucket
//! created, re-planned with no changes, drifted by hand (through the
//! JetStream API, as a NATS client sends it) and repaired, then destroyed,
//! checked on the server; and a stream made outside Orch adopted with
//! `orchc import`.
//!
//! The server is `ORCH_TEST_NATS_URL` (default `nats://127.0.0.1:4222`); a
//! test fails when it cannot be reached, unless `ORCH_TEST_SKIP_NATS=1`
//! (`common::nats`). Names carry a random suffix; what a test made is
//! removed however it ends.

mod common;

use common::orch::{Orch, actions, drift_fields};
use serde_json::{Value as Json, json};

macro_rules! server_or_skip {
    () => {
        match common::nats::server() {
            Some(url) => url,
            None => return,
        }
    };
}

fn unique() -> String {
    format!(
        "{:08x}",
        std::process::id() ^ (std::time::UNIX_EPOCH.elapsed().unwrap().subsec_nanos())
    )
}

fn stream_info(url: &str, name: &str) -> Option<Json> {
    let reply = common::nats::api(url, &format!("STREAM.INFO.{name}"), json!({}));
    reply.get("error").is_none().then(|| reply["config"].clone())
}

fn consumer_exists(url: &str, stream: &str, durable: &str) -> bool {
    let reply = common::nats::api(url, &format!("CONSUMER.INFO.{stream}.{durable}"), json!({}));
    reply.get("error").is_none()
}

/// Deletes the streams a test made, however it ends.
struct Cleanup {
    url: String,
    streams: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.streams {
            let _ = common::nats::api(&self.url, &format!("STREAM.DELETE.{name}"), json!({}));
        }
    }
}

fn project(url: &str, body: &str) -> Orch {
    Orch::new(&format!("provider nats {{ url = \"{url}\" }}\n\n{body}"))
}

#[test]
fn every_kind_is_created_replanned_repaired_and_destroyed() {
    let url = server_or_skip!();
    let suffix = unique();
    let stream = format!("ORCH_E2E_{suffix}");
    let bucket = format!("orch_e2e_{suffix}");
    let _cleanup =
        Cleanup { url: url.clone(), streams: vec![stream.clone(), format!("KV_{bucket}")] };
    let orch = project(
        &url,
        &format!(
            r#"resource events: nats.stream {{
  name     = "{stream}"
  subjects = ["{stream}.>"]
  max_age  = 1h
}}

resource worker: nats.consumer {{
  stream         = events.name
  durable        = "worker"
  filter_subject = "{stream}.jobs"
}}

resource cache: nats.kv_bucket {{
  name    = "{bucket}"
  history = 3
}}
"#
        ),
    );
    let run = orch.apply(&[]);
    assert!(run.stdout.contains("Apply complete: 3 created"), "{}", run.stdout);
    assert!(stream_info(&url, &stream).is_some());
    assert!(consumer_exists(&url, &stream, "worker"));
    assert_eq!(stream_info(&url, &format!("KV_{bucket}")).unwrap()["max_msgs_per_subject"], 3);
    orch.expect_no_changes(&[]);

    // Drift by hand: a message limit on the stream, less history.
    for (name, key, value) in
        [(&stream, "max_msgs", 10), (&format!("KV_{bucket}"), "max_msgs_per_subject", 1)]
    {
        let mut config = stream_info(&url, name).expect("the stream exists");
        config[key] = json!(value);
        let reply = common::nats::api(&url, &format!("STREAM.UPDATE.{name}"), config);
        assert!(reply.get("error").is_none(), "{reply}");
    }
    let plan = orch.plan_json(&[]);
    assert_eq!(drift_fields(&plan, "events"), ["max_msgs"], "{plan}");
    assert_eq!(drift_fields(&plan, "cache"), ["history"], "{plan}");
    assert_eq!(actions(&plan).get("events").map(String::as_str), Some("update"), "{plan}");
    orch.apply(&[]);
    assert_eq!(stream_info(&url, &stream).unwrap()["max_msgs"], -1);
    assert_eq!(stream_info(&url, &format!("KV_{bucket}")).unwrap()["max_msgs_per_subject"], 3);
    orch.expect_no_changes(&[]);

    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    assert!(stream_info(&url, &stream).is_none());
    assert!(stream_info(&url, &format!("KV_{bucket}")).is_none());
}

#[test]
fn orchc_import_adopts_a_stream_made_outside_orch() {
    let url = server_or_skip!();
    let stream = format!("ORCH_E2E_IMP_{}", unique());
    let _cleanup = Cleanup { url: url.clone(), streams: vec![stream.clone()] };
    let made = common::nats::api(
        &url,
        &format!("STREAM.CREATE.{stream}"),
        json!({ "name": stream, "subjects": [format!("{stream}.>")], "storage": "memory" }),
    );
    assert!(made.get("error").is_none(), "{made}");
    let orch = project(
        &url,
        &format!(
            "resource events: nats.stream {{\n  name     = \"{stream}\"\n  subjects = [\"{stream}.>\"]\n  storage  = \"memory\"\n}}\n"
        ),
    );
    let import = orch.run(&["import", "events", &stream, "main.orch"]);
    import.expect_code(0);
    assert!(
        import.stdout.contains(&format!("Imported nats.stream \"{stream}\" into `events`")),
        "{}",
        import.stdout
    );
    orch.expect_no_changes(&[]);
    let missing = orch.run(&["import", "events", "ORCH_NO_SUCH_STREAM", "main.orch"]);
    assert_ne!(missing.code, 0, "{}", missing.stdout);
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    assert!(stream_info(&url, &stream).is_none());
}
