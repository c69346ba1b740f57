//! `orchc plan`, `apply` and `destroy` end to end against a real RabbitMQ
//! server's management API: every `rabbitmq` kind created, read back
//! without change, drifted by hand and repaired, updated, replaced and
//! destroyed, checked in the server's own catalogue (import by id is tested
//! on the provider, `runtime/tests/providers_rabbitmq.rs`, and through
//! `orchc import` for every kind, `tests/import_services.rs`).
//!
//! The server is `ORCH_TEST_RABBITMQ_URL` (default
//! `http://guest:guest@127.0.0.1:15672`, an administrator); a test fails when
//! it cannot be reached, unless `ORCH_TEST_SKIP_RABBITMQ=1`
//! (`common::rabbitmq`). Every test works in a virtual host (and with users)
//! of its own, with random names, removed at the end even when it fails.

mod common;

use std::collections::BTreeMap;

use common::orch::{Orch, actions, change, drift_fields};
use common::rabbitmq::{Rabbit, encode, unique};
use serde_json::json;

macro_rules! server_or_skip {
    () => {
        match common::rabbitmq::server() {
            Some(server) => server,
            None => return,
        }
    };
}

/// The names of one test, removed from the server at the end.
struct Names {
    server: Rabbit,
    vhost: String,
    user: String,
}

impl Names {
    fn new(server: &Rabbit, tag: &str) -> Names {
        Names {
            server: server.clone(),
            vhost: unique(&format!("orch_e2e_{tag}")),
            user: unique(&format!("orch_e2e_{tag}_user")),
        }
    }

    fn path(&self, collection: &str, name: &str) -> String {
        format!("/api/{collection}/{}/{}", encode(&self.vhost), encode(name))
    }

    fn permissions(&self) -> String {
        format!("/api/permissions/{}/{}", encode(&self.vhost), encode(&self.user))
    }

    fn binding(&self) -> String {
        format!("/api/bindings/{}/e/events/q/jobs", encode(&self.vhost))
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        self.server.remove(&self.vhost, &[&self.user]);
    }
}

/// The provider block for the test server.
fn provider(server: &Rabbit) -> String {
    format!(
        "provider rabbitmq {{\n  endpoint = \"{}\"\n  username = \"{}\"\n  password = rabbit_password\n}}\n\nparam rabbit_password: secret<string>\n",
        server.endpoint, server.username
    )
}

/// An Orch project whose provider password comes from the environment.
fn project(server: &Rabbit, main: &str) -> Orch {
    Orch::new(main)
        .with(Vec::new(), vec![("ORCH_VAR_rabbit_password".into(), server.password.clone())])
}

/// One of every kind. `tags`, `priority` and `durable` are the knobs the
/// test turns.
fn every_kind(server: &Rabbit, names: &Names, tags: &str, priority: i64, durable: bool) -> String {
    format!(
        r#"{provider}
param app_password: secret<string> = "fallback"

resource vh: rabbitmq.vhost {{ name = "{vhost}" }}

resource app: rabbitmq.user {{
  name = "{user}"
  password = app_password
  tags = [{tags}]
}}

resource perms: rabbitmq.permissions {{
  user = app.name
  vhost = vh.name
  configure = "^jobs$"
}}

resource events: rabbitmq.exchange {{
  name = "events"
  vhost = vh.name
  type = "topic"
}}

resource jobs: rabbitmq.queue {{
  name = "jobs"
  vhost = vh.name
  durable = {durable}
  arguments = {{ "x-message-ttl" = 60000 }}
}}

resource route: rabbitmq.binding {{
  source = events.name
  destination = jobs.name
  vhost = vh.name
  routing_key = "job.#"
}}

resource limits: rabbitmq.policy {{
  name = "limits"
  vhost = vh.name
  pattern = "^jobs$"
  apply_to = "queues"
  priority = {priority}
  definition = {{ "max-length" = 1000 }}
}}

output key = route.properties_key
"#,
        provider = provider(server),
        vhost = names.vhost,
        user = names.user,
    )
}

/// Every file under the project's `.orch/` folder, as text.
fn state_text(orch: &Orch) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(orch.path(".orch")).expect("the state folder") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).expect("read state")));
        }
    }
    text
}

#[test]
fn every_kind_is_created_repaired_updated_replaced_and_destroyed() {
    let server = server_or_skip!();
    let names = Names::new(&server, "all");
    let secret = "app pässword 4417";
    let orch = project(&server, &every_kind(&server, &names, "\"management\"", 1, true));
    let env = [("ORCH_VAR_app_password", secret)];

    // Create.
    let run = orch.run_env(&["apply", "main.orch", "--auto-approve"], &env);
    run.expect_code(0);
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    assert!(server.exists(&format!("/api/vhosts/{}", encode(&names.vhost))));
    assert!(server.can_log_in(&names.user, secret));
    assert_eq!(server.get(&names.permissions()).expect("permissions")["configure"], "^jobs$");
    assert_eq!(server.get(&names.path("exchanges", "events")).expect("exchange")["type"], "topic");
    assert_eq!(
        server.get(&names.path("queues", "jobs")).expect("queue")["arguments"]["x-message-ttl"],
        60000
    );
    let bindings = server.get(&names.binding()).expect("bindings");
    assert_eq!(bindings[0]["routing_key"], "job.#", "{bindings}");
    assert_eq!(server.get(&names.path("policies", "limits")).expect("policy")["priority"], 1);
    let output = orch.run(&["output", "key"]);
    assert!(output.expect_code(0).stdout.contains("job.%23"), "{}", output.stdout);
    // The password is sealed in state, and only its hash reached the server.
    assert!(!state_text(&orch).contains(secret), "the password is not in the state in plaintext");
    let user = server.get(&format!("/api/users/{}", encode(&names.user))).expect("the user");
    assert_eq!(user["hashing_algorithm"], "rabbit_password_hashing_sha256");

    // No change.
    orch.run_env(&["plan", "main.orch", "--detailed-exitcode"], &env).expect_code(0);

    // Drift by hand: a password, permissions, a policy, a deleted binding.
    server.send(
        "PUT",
        &format!("/api/users/{}", encode(&names.user)),
        Some(json!({"password": "by hand", "tags": "management"})),
    );
    server.send(
        "PUT",
        &names.permissions(),
        Some(json!({"configure": ".*", "write": ".*", "read": ".*"})),
    );
    server.send(
        "PUT",
        &names.path("policies", "limits"),
        Some(json!({"pattern": "^x$", "definition": {"max-length": 1000}, "priority": 1, "apply-to": "queues"})),
    );
    server.send("DELETE", &format!("{}/job.%23", names.binding()), None);
    let plan = orch.run_env(&["plan", "main.orch", "--json"], &env);
    let plan = plan.expect_code(0).json();
    assert!(!plan.to_string().contains("by hand"), "{plan}");
    let expected = BTreeMap::from([
        ("app".to_string(), "update".to_string()),
        ("limits".to_string(), "update".to_string()),
        ("perms".to_string(), "update".to_string()),
        ("route".to_string(), "create".to_string()),
    ]);
    assert_eq!(actions(&plan), expected, "{plan}");
    assert_eq!(drift_fields(&plan, "app"), ["password"], "{plan}");
    assert_eq!(drift_fields(&plan, "perms"), ["configure"], "{plan}");
    assert_eq!(drift_fields(&plan, "limits"), ["pattern"], "{plan}");
    orch.run_env(&["apply", "main.orch", "--auto-approve"], &env).expect_code(0);
    assert!(server.can_log_in(&names.user, secret) && !server.can_log_in(&names.user, "by hand"));
    assert_eq!(server.get(&names.permissions()).expect("permissions")["configure"], "^jobs$");
    assert_eq!(server.get(&names.path("policies", "limits")).expect("policy")["pattern"], "^jobs$");
    assert_eq!(server.get(&names.binding()).expect("bindings").as_array().map(Vec::len), Some(1));
    orch.run_env(&["plan", "main.orch", "--detailed-exitcode"], &env).expect_code(0);

    // Update in place: tags, the policy's priority, the password.
    orch.write(
        "main.orch",
        &every_kind(&server, &names, "\"monitoring\", \"management\"", 5, true),
    );
    let env2 = [("ORCH_VAR_app_password", "second password")];
    let plan = orch.run_env(&["plan", "main.orch", "--json"], &env2).expect_code(0).json();
    let expected = BTreeMap::from([
        ("app".to_string(), "update".to_string()),
        ("limits".to_string(), "update".to_string()),
    ]);
    assert_eq!(actions(&plan), expected, "{plan}");
    orch.run_env(&["apply", "main.orch", "--auto-approve"], &env2).expect_code(0);
    assert!(server.can_log_in(&names.user, "second password"));
    let user = server.get(&format!("/api/users/{}", encode(&names.user))).expect("the user");
    let tags: Vec<&str> =
        user["tags"].as_array().expect("tags").iter().filter_map(|t| t.as_str()).collect();
    assert!(tags.contains(&"monitoring") && tags.contains(&"management"), "{user}");
    assert_eq!(server.get(&names.path("policies", "limits")).expect("policy")["priority"], 5);

    // Replace: a queue property.
    orch.write(
        "main.orch",
        &every_kind(&server, &names, "\"monitoring\", \"management\"", 5, false),
    );
    let plan = orch.run_env(&["plan", "main.orch", "--json"], &env2).expect_code(0).json();
    assert_eq!(actions(&plan).get("jobs").map(String::as_str), Some("replace"), "{plan}");
    assert_eq!(change(&plan, "jobs")["forces_replacement"], json!(["durable"]));
    let run = orch.run_env(&["apply", "main.orch", "--auto-approve"], &env2);
    assert!(run.expect_code(0).stdout.contains("jobs: replaced"), "{}", run.stdout);
    assert_eq!(server.get(&names.path("queues", "jobs")).expect("queue")["durable"], false);
    // The server dropped the binding with the old queue: the next plan
    // binds again.
    let plan = orch.run_env(&["plan", "main.orch", "--json"], &env2).expect_code(0).json();
    let expected = BTreeMap::from([("route".to_string(), "create".to_string())]);
    assert_eq!(actions(&plan), expected, "{plan}");
    orch.run_env(&["apply", "main.orch", "--auto-approve"], &env2).expect_code(0);
    assert_eq!(server.get(&names.binding()).expect("bindings").as_array().map(Vec::len), Some(1));
    orch.run_env(&["plan", "main.orch", "--detailed-exitcode"], &env2).expect_code(0);

    // Destroy leaves nothing.
    orch.run_env(&["destroy", "main.orch", "--auto-approve"], &env2).expect_code(0);
    assert!(!server.exists(&format!("/api/vhosts/{}", encode(&names.vhost))));
    assert!(!server.exists(&format!("/api/users/{}", encode(&names.user))));
    assert!(!server.exists(&names.path("queues", "jobs")));
}

#[test]
fn server_errors_point_at_the_declaration() {
    let server = server_or_skip!();
    let names = Names::new(&server, "errors");
    let main = format!(
        "{provider}\nresource vh: rabbitmq.vhost {{ name = \"{vhost}\" }}\n\nresource odd: rabbitmq.exchange {{\n  name = \"odd\"\n  vhost = vh.name\n  type = \"no-such-type\"\n}}\n",
        provider = provider(&server),
        vhost = names.vhost
    );
    let orch = project(&server, &main);
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("E0901"), "{}", run.stderr);
    assert!(run.stderr.contains("main.orch:11"), "at the declaration: {}", run.stderr);
    assert!(run.stderr.contains("no-such-type"), "the server's reason: {}", run.stderr);
    assert!(server.exists(&format!("/api/vhosts/{}", encode(&names.vhost))));
}

#[test]
fn wrong_credentials_fail_the_plan_at_the_provider_block() {
    let server = server_or_skip!();
    let names = Names::new(&server, "creds");
    let main = format!(
        "{provider}\nresource vh: rabbitmq.vhost {{ name = \"{vhost}\" }}\n",
        provider = provider(&server),
        vhost = names.vhost
    );
    let orch = Orch::new(&main)
        .with(Vec::new(), vec![("ORCH_VAR_rabbit_password".into(), "wrong-9137".into())]);
    let run = orch.run(&["plan", "main.orch"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("E0904"), "{}", run.stderr);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(!run.stderr.contains("wrong-9137") && !run.stdout.contains("wrong-9137"));
    assert!(!server.exists(&format!("/api/vhosts/{}", encode(&names.vhost))));
}
