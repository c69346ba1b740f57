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
use common::pg::{Database, server};

const STATE_KEY: &str = "b3JjaC1lMmUtdGVzdHMtc3RhdGUta2V5LTMyYnl0ZXM=";

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

#[test]
fn a_saved_plan_is_applied_only_as_it_was_saved() {
    let orch = Orch::new(
        r#"resource keep: fs.file {
  path    = "keep.txt"
  content = "kept"
}
resource v: core.value { input = 1 }
"#,
    );
    orch.apply(&[]);
    orch.write(
        "main.orch",
        r#"resource keep: fs.file {
  path    = "keep.txt"
  content = "kept"
}
resource v: core.value { input = 2 }
"#,
    );
    orch.run(&["plan", "main.orch", "--out", "saved.plan"]).expect_code(0);
    let saved: serde_json::Value = serde_json::from_str(&orch.read("saved.plan")).unwrap();
    assert!(saved["integrity"]["digest"].as_str().unwrap().starts_with("sha256:"), "{saved}");
    assert!(saved["integrity"]["mac"].is_string(), "a local state authenticates its plans");

    // Each edit is refused, and nothing is touched.
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "a no-op turned into a delete",
            Box::new(|plan| {
                let changes = plan["changes"].as_array_mut().unwrap();
                let keep = changes.iter_mut().find(|c| c["address"] == "keep").unwrap();
                keep["action"] = "delete".into();
            }),
        ),
        (
            "a field changed",
            Box::new(|plan| {
                let changes = plan["changes"].as_array_mut().unwrap();
                let v = changes.iter_mut().find(|c| c["address"] == "v").unwrap();
                v["after"]["input"] = 99.into();
            }),
        ),
        (
            "the integrity record removed",
            Box::new(|plan| plan["integrity"] = serde_json::Value::Null),
        ),
        (
            "the authentication tag replaced",
            Box::new(|plan| {
                plan["integrity"]["mac"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()
            }),
        ),
        (
            "a source file changed",
            Box::new(|plan| {
                let sources = plan["sources"].as_object_mut().unwrap();
                let (_, text) = sources.iter_mut().next().unwrap();
                *text = "resource keep: core.value { input = 0 }\n".into();
            }),
        ),
    ];
    for (what, edit) in edits {
        let mut plan = saved.clone();
        edit(&mut plan);
        orch.write("edited.plan", &serde_json::to_string_pretty(&plan).unwrap());
        let run = orch.run(&["apply", "edited.plan"]);
        run.expect_code(1);
        assert!(run.stderr.contains("edited.plan is refused"), "{what}: {}", run.stderr);
        assert!(run.stderr.contains("orchc plan --out"), "{what}: {}", run.stderr);
        assert_eq!(orch.read("keep.txt"), "kept", "{what}");
    }
    let list = orch.run(&["state", "show", "v"]);
    assert!(list.stdout.contains('1') && !list.stdout.contains("99"), "{}", list.stdout);

    // As saved, it applies.
    let run = orch.run(&["apply", "saved.plan"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Apply complete"), "{}", run.stdout);
}

#[test]
fn a_saved_plan_applies_to_a_new_shared_state_and_saves_its_outputs() {
    let Some(server) = server() else { return };
    let database = Database::new(&server, "newplan");
    let orch = Orch::new(
        r#"resource v: core.value { input = 1 }
resource w: core.value { input = v.output + 1 }
output o: int = w.output
"#,
    );
    let state = ["--state", database.url.as_str()];
    orch.run(&[&["plan", "main.orch", "--out", "new.plan"][..], &state].concat()).expect_code(0);
    let run = orch.run(&["apply", "new.plan"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Apply complete: 2 created"), "{}", run.stdout);
    let output = orch.run(&[&["output", "main.orch", "--json"][..], &state].concat());
    output.expect_code(0);
    assert!(output.stdout.contains('2'), "{}", output.stdout);
    let again = orch.run(&[&["plan", "main.orch"][..], &state].concat());
    again.expect_code(0);
    assert!(again.stdout.starts_with("No changes"), "{}", again.stdout);
}
