//! `--target`, `--exclude`, `--replace` and `--refresh-only` end to end:
//! the real binary in a temporary folder with a local state. Each test
//! checks what the plan says (human and JSON) and what is, and is not,
//! touched on disk and in the state.

mod common;

use common::orch::{Orch, actions, flat};

/// `dir` and the files in it, one loop of files, a command and a value.
fn config(version: &str) -> String {
    format!(
        r#"resource dir: fs.dir {{ path = "out" }}

resource a: fs.file {{
  path    = "${{dir.path}}/a.txt"
  content = "a {version}"
}}

for n in ["x", "y"] {{
  resource files: fs.file {{
    path    = "${{dir.path}}/f-${{n}}.txt"
    content = "file ${{n}} {version}"
  }}
}}

resource run: exec.run {{
  create = "echo ran >> runs.log"
}}

resource v: core.value {{ input = "v {version}" }}

output a_path  = a.path
output v_value = v.output
"#
    )
}

fn recorded(orch: &Orch) -> Vec<String> {
    orch.state_list().into_keys().collect()
}

#[test]
fn target_applies_only_the_instance_and_what_it_depends_on() {
    let orch = Orch::new(&config("1"));
    let plan = orch.run(&["plan", "main.orch", "--target", r#"files["x"]"#]);
    plan.expect_code(0);
    assert!(
        plan.stdout.contains(r#"Partial plan: only --target files["x"] (and what it depends on)."#),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("Left out, with work to do:"), "{}", plan.stdout);
    assert!(plan.stdout.contains("2 to create"), "{}", plan.stdout);

    let json = orch.plan_json(&["--target", r#"files["x"]"#]);
    assert_eq!(json["partial"], true, "{json}");
    assert_eq!(json["targeting"]["targets"][0], r#"files["x"]"#);
    let planned: Vec<String> = actions(&json).into_keys().collect();
    assert_eq!(planned, ["dir", r#"files["x"]"#]);
    let left_out = json["targeting"]["left_out"].as_array().unwrap();
    assert!(left_out.iter().any(|a| a == "run") && left_out.iter().any(|a| a == "a"));

    orch.apply(&["--target", r#"files["x"]"#]);
    assert_eq!(orch.read("out/f-x.txt"), "file x 1");
    assert!(!orch.exists("out/f-y.txt") && !orch.exists("out/a.txt"));
    assert!(!orch.exists("runs.log"), "the command is left out");
    assert_eq!(recorded(&orch), ["dir", r#"files["x"]"#]);
    // Outputs that depend on what was left out are not recorded.
    let outputs = orch.run(&["output", "--json"]);
    outputs.expect_code(0);
    assert_eq!(outputs.json(), serde_json::json!({}));

    // A whole declaration is every instance of it.
    orch.apply(&["--target", "files"]);
    assert_eq!(orch.read("out/f-y.txt"), "file y 1");
    assert!(!orch.exists("out/a.txt"));
    // A plain plan is not partial.
    let json = orch.plan_json(&[]);
    assert_eq!(json["partial"], false);
    assert_eq!(json["targeting"], serde_json::Value::Null);
}

#[test]
fn exclude_leaves_out_it_and_what_depends_on_it() {
    let orch = Orch::new(&config("1"));
    orch.apply(&[]);
    let state_of_a = orch.run(&["state", "show", "a", "--json"]).stdout;
    orch.write("main.orch", &config("2"));
    // `dir` is excluded: everything under it (a, files) goes with it.
    orch.apply(&["--exclude", "dir"]);
    assert_eq!(orch.read("out/a.txt"), "a 1");
    assert_eq!(orch.read("out/f-x.txt"), "file x 1");
    assert_eq!(orch.run(&["state", "show", "a", "--json"]).stdout, state_of_a);
    let output = orch.run(&["output", "v_value"]);
    assert_eq!(output.stdout.trim(), "v 2", "an output of an applied part is updated");
    // The left-out changes are still there.
    let json = orch.plan_json(&[]);
    let planned = actions(&json);
    assert_eq!(planned.get("a").map(String::as_str), Some("update"), "{json}");
    assert!(!planned.contains_key("v"), "{json}");
}

#[test]
fn a_saved_partial_plan_says_so_and_applies_exactly_that() {
    let orch = Orch::new(&config("1"));
    orch.run(&["plan", "main.orch", "--target", "a", "--out", "a.plan"]).expect_code(0);
    let file: serde_json::Value = serde_json::from_str(&orch.read("a.plan")).unwrap();
    assert_eq!(file["partial"]["targets"][0], "a", "the plan file records it");
    // Flags cannot change a saved plan.
    let refused = orch.run(&["apply", "a.plan", "--target", "v"]);
    refused.expect_code(1);
    assert!(flat(&refused.stderr).contains("cannot change it"), "{}", refused.stderr);
    let run = orch.run(&["apply", "a.plan"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Partial plan: only --target a"), "{}", run.stdout);
    assert_eq!(orch.read("out/a.txt"), "a 1");
    assert!(!orch.exists("out/f-x.txt") && !orch.exists("runs.log"));
    assert_eq!(recorded(&orch), ["a", "dir"]);
}

#[test]
fn replace_runs_a_command_again_and_touches_nothing_else() {
    let orch = Orch::new(&config("1"));
    orch.apply(&[]);
    assert_eq!(orch.read("runs.log"), "ran\n");
    let a_before = orch.run(&["state", "show", "a", "--json"]).stdout;
    let json = orch.plan_json(&["--replace", "run"]);
    assert_eq!(actions(&json).into_iter().collect::<Vec<_>>(), [("run".into(), "replace".into())]);
    assert_eq!(json["changes"][0]["reasons"][0], "replacement requested");
    orch.apply(&["--replace", "run"]);
    assert_eq!(orch.read("runs.log"), "ran\nran\n");
    assert_eq!(orch.run(&["state", "show", "a", "--json"]).stdout, a_before);
    orch.expect_no_changes(&[]);

    // Not recorded yet (it would be created anyway): refused.
    let fresh = Orch::new(&config("1"));
    let refused = fresh.run(&["plan", "main.orch", "--replace", "run"]);
    refused.expect_code(1);
    assert!(
        flat(&refused.stderr).contains("it has no object in the state yet"),
        "{}",
        refused.stderr
    );
}

#[test]
fn an_address_that_matches_nothing_names_the_closest() {
    let orch = Orch::new(&config("1"));
    for (flag, written, closest) in [
        ("--target", r#"files["z"]"#, r#"files["x"]"#),
        ("--exclude", "fils", "files"),
        ("--replace", "rnu", "run"),
    ] {
        let run = orch.run(&["apply", "main.orch", "--auto-approve", flag, written]);
        run.expect_code(1);
        let text = flat(&run.stderr);
        assert!(text.contains(&format!("`{flag} {written}` matches no instance")), "{text}");
        assert!(text.contains(&format!("did you mean `{closest}`?")), "{text}");
        assert!(run.stderr.contains("orchc::address"), "{}", run.stderr);
    }
    let bad = orch.run(&["plan", "main.orch", "--target", "files[x]"]);
    bad.expect_code(1);
    assert!(flat(&bad.stderr).contains("is not an instance address"), "{}", bad.stderr);
    assert!(!orch.exists("out") && !orch.exists(".orch/state.json"), "nothing was applied");
}

#[test]
fn an_empty_partial_destroy_says_nothing_was_selected_and_keeps_the_rest() {
    let orch = Orch::new(&config("1"));
    orch.apply(&[]);
    let target = r#"files["y"]"#;
    orch.run(&["destroy", "main.orch", "--auto-approve", "--target", target]).expect_code(0);
    let before = recorded(&orch);
    assert!(before.len() > 1, "{before:?}");
    // A target with nothing recorded is refused, saying so.
    let again = orch.run(&["destroy", "main.orch", "--auto-approve", "--target", target]);
    again.expect_code(1);
    assert!(flat(&again.stderr).contains("matches no instance in the state"), "{}", again.stderr);
    // Every recorded object excluded: nothing is selected, and the plan
    // says that rather than that the state is empty.
    let mut args = vec!["destroy", "main.orch", "--auto-approve"];
    for address in &before {
        args.extend(["--exclude", address.as_str()]);
    }
    let empty = orch.run(&args);
    empty.expect_code(0);
    assert!(
        empty.stdout.contains("Nothing to destroy: no object recorded in the state is selected"),
        "{}",
        empty.stdout
    );
    assert!(!empty.stdout.contains("records no objects"), "{}", empty.stdout);
    assert_eq!(recorded(&orch), before, "the recorded objects are kept");
    // A whole destroy of an empty state says the state is empty.
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    let none = orch.run(&["destroy", "main.orch", "--auto-approve"]);
    none.expect_code(0);
    assert!(none.stdout.contains("the state records no objects"), "{}", none.stdout);
}

#[test]
fn destroy_target_deletes_it_and_what_depends_on_it() {
    let orch = Orch::new(&config("1"));
    orch.apply(&[]);
    let run = orch.run(&["destroy", "main.orch", "--auto-approve", "--target", r#"files["y"]"#]);
    run.expect_code(0);
    assert!(run.stdout.contains("Destroy complete: 1 deleted"), "{}", run.stdout);
    assert!(!orch.exists("out/f-y.txt"));
    assert_eq!(orch.read("out/f-x.txt"), "file x 1");
    // The folder takes every file in it.
    orch.run(&["destroy", "main.orch", "--auto-approve", "--target", "dir"]).expect_code(0);
    assert!(!orch.exists("out"));
    assert_eq!(recorded(&orch), ["run", "v"]);
    assert_eq!(orch.run(&["output", "v_value"]).stdout.trim(), "v 1");
    assert!(orch.run(&["output", "a_path"]).code != 0, "the output of a deleted object goes");
    // A destroy takes no --replace.
    orch.run(&["destroy", "main.orch", "--auto-approve", "--replace", "v"]).expect_code(1);
    assert_eq!(recorded(&orch), ["run", "v"]);
}

#[test]
fn refresh_only_records_drift_and_changes_no_object() {
    let orch = Orch::new(&config("1"));
    orch.apply(&[]);
    orch.write("out/a.txt", "edited by hand");
    let plan = orch.run(&["plan", "main.orch", "--refresh-only", "--detailed-exitcode"]);
    plan.expect_code(2);
    assert!(
        plan.stdout.contains("Orch will record in the state, changing no object:"),
        "{}",
        plan.stdout
    );
    let json = orch.plan_json(&["--refresh-only"]);
    assert_eq!(json["operation"], "refresh");
    assert_eq!(json["summary"]["record"], 1);
    assert_eq!(json["changes"].as_array().unwrap().len(), 0);
    assert_eq!(json["drift"][0]["address"], "a");

    orch.run(&["plan", "main.orch", "--refresh-only", "--out", "r.plan"]).expect_code(0);
    orch.run(&["apply", "r.plan"]).expect_code(0);
    assert_eq!(orch.read("out/a.txt"), "edited by hand", "no object is changed");
    let shown = orch.run(&["state", "show", "a"]).stdout;
    assert!(shown.contains("edited by hand"), "the state records it as found: {shown}");
    // Nothing drifted any more; the configuration still wants its content.
    orch.run(&["plan", "main.orch", "--refresh-only", "--detailed-exitcode"]).expect_code(0);
    let json = orch.plan_json(&[]);
    assert_eq!(actions(&json).get("a").map(String::as_str), Some("update"));
    assert!(json["drift"].as_array().unwrap().is_empty(), "{json}");
}
