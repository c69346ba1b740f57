//! `orchc plan`, `apply`, `destroy`, `state` and `output` end to end: the
//! real binary against files, commands and a local HTTP server in a
//! temporary folder, with the local state backend in `.orch/`.
//!
//! Every run gets its own configuration folder (`ORCH_CONFIG_DIR`), so the
//! key that encrypts secrets in the state is never written to the real
//! home folder.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Run;
use common::orch::{Orch, actions, change, flat, wait_until};
use serde_json::Value;

fn count(log: &[String], name: &str) -> usize {
    log.iter().filter(|line| *line == name).count()
}

/// Where `name` is in `log`.
fn position(log: &[String], name: &str) -> usize {
    log.iter().position(|line| line == name).unwrap_or_else(|| panic!("{name} in {log:?}"))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

// ---------------------------------------------------------------------
// 1. Creating, then nothing to do.

const FILES: &str = r#"param names: list<string> = ["a", "b", "c"]

resource root: fs.dir {
  path = "out"
  mode = 0o750
}

for n in names {
  resource f: fs.file {
    path    = "${root.path}/${n}.txt"
    content = "hello ${n}\n"
    mode    = 0o600
  }
  resource note: exec.run {
    create  = "echo create-$N >> log.txt"
    destroy = "echo destroy-$N >> log.txt"
    env     = { N = n }
  }
}

resource v: core.value { input = "fixed" }

output paths = { for k, file in f: k => file.path }
"#;

#[test]
fn apply_creates_files_and_folders_then_has_nothing_to_do() {
    let orch = Orch::new(FILES);
    let run = orch.apply(&[]);
    assert!(run.stdout.contains("Apply complete: 8 created in "), "{}", run.stdout);
    assert!(run.stdout.contains(r#"+ f["a"]"#), "{}", run.stdout);

    assert!(orch.path("out").is_dir());
    assert_eq!(mode(&orch.path("out")), 0o750);
    for n in ["a", "b", "c"] {
        let file = format!("out/{n}.txt");
        assert_eq!(orch.read(&file), format!("hello {n}\n"));
        assert_eq!(mode(&orch.path(&file)), 0o600, "{file}");
    }
    let log = orch.log("log.txt");
    for n in ["a", "b", "c"] {
        assert_eq!(count(&log, &format!("create-{n}")), 1, "{log:?}");
    }
    let state = orch.state_list();
    let addresses: Vec<&str> = state.keys().map(String::as_str).collect();
    assert_eq!(
        addresses,
        [
            r#"f["a"]"#,
            r#"f["b"]"#,
            r#"f["c"]"#,
            r#"note["a"]"#,
            r#"note["b"]"#,
            r#"note["c"]"#,
            "root",
            "v"
        ]
    );

    // Nothing changed: `plan` says so and exits 0 with --detailed-exitcode.
    let plan = orch.run(&["plan", "main.orch", "--detailed-exitcode"]);
    plan.expect_code(0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
    let document = orch.plan_json(&[]);
    assert_eq!(document["changes"], serde_json::json!([]));
    assert_eq!(document["summary"]["no_op"], 8);

    // A second apply does nothing: no command runs again, the state is
    // not even written.
    let serial = |orch: &Orch| orch.run(&["state", "list", "--json"]).json()["serial"].clone();
    let before = serial(&orch);
    let again = orch.apply(&[]);
    assert_eq!(serial(&orch), before);
    assert!(again.stdout.starts_with("No changes"), "{}", again.stdout);
    assert_eq!(orch.log("log.txt"), log);
    assert_eq!(orch.read("out/a.txt"), "hello a\n");

    let output = orch.run(&["output", "main.orch", "--json"]);
    output.expect_code(0);
    assert_eq!(output.json()["paths"]["b"], "out/b.txt");
}

#[test]
fn apply_json_prints_event_lines_and_events_file_gets_the_same() {
    let orch = Orch::new(FILES);
    let run = orch.apply(&["--json", "--events", "audit.jsonl"]);
    let events: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(events.first().expect("events")["type"], "run_started");
    assert_eq!(events.first().expect("events")["changes"], 8);
    let last = events.last().expect("events");
    assert_eq!(last["type"], "run_finished");
    assert_eq!(last["succeeded"], 8);
    assert_eq!(last["failed"], 0);
    let finished: Vec<&Value> =
        events.iter().filter(|e| e["type"] == "operation_finished").collect();
    assert_eq!(finished.len(), 8);
    assert!(finished.iter().all(|e| e["outcome"] == "succeeded"), "{events:?}");
    // No human progress mixed in.
    assert!(!run.stdout.contains("Apply complete"), "{}", run.stdout);

    let audit: Vec<Value> = orch
        .read("audit.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("an event line"))
        .collect();
    let types = |list: &[Value]| list.iter().map(|e| e["type"].clone()).collect::<Vec<_>>();
    assert_eq!(types(&audit), types(&events));
}

/// In the event lines, every operation's start comes before its end, even
/// when many finish at once.
#[test]
fn every_operation_starts_before_it_finishes_in_the_events() {
    let mut main = String::new();
    for i in 0..40 {
        main.push_str(&format!("resource c{i}: exec.run {{ create = \"true\" }}\n"));
    }
    let orch = Orch::new(&main);
    let run = orch.apply(&["--json", "--parallelism", "20"]);
    let mut started = std::collections::BTreeSet::new();
    let mut finished = 0;
    for line in run.stdout.lines() {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let address = event["address"].as_str().unwrap_or_default().to_string();
        match event["type"].as_str() {
            Some("operation_started") => {
                started.insert(address);
            }
            Some("operation_finished") => {
                assert!(
                    started.contains(&address),
                    "{address} ended before it started:\n{}",
                    run.stdout
                );
                finished += 1;
            }
            _ => {}
        }
    }
    assert_eq!(finished, 40);
}

#[test]
fn apply_without_a_terminal_or_auto_approve_changes_nothing() {
    let orch = Orch::new(FILES);
    let run = orch.run(&["apply", "main.orch"]);
    run.expect_code(1);
    assert!(flat(&run.stderr).contains("--auto-approve"), "{}", run.stderr);
    assert!(!orch.exists("out"));
    assert!(!orch.exists("log.txt"));
}

// ---------------------------------------------------------------------
// 2. Drift.

#[test]
fn drift_shows_in_plan_and_apply_repairs_it() {
    let orch = Orch::new(FILES);
    orch.apply(&[]);
    orch.write("out/a.txt", "edited by hand\n");
    std::fs::remove_file(orch.path("out/b.txt")).expect("delete a file by hand");

    let plan = orch.run(&["plan", "main.orch", "--detailed-exitcode"]);
    plan.expect_code(2);
    let drift = plan.stdout.split("Orch will").next().expect("a drift section");
    assert!(drift.starts_with("Drift"), "{}", plan.stdout);
    assert!(drift.contains(r#"f["a"]"#) && drift.contains("content"), "{}", plan.stdout);
    assert!(drift.contains(r#"f["b"]"#) && drift.contains("deleted"), "{}", plan.stdout);
    assert!(!drift.contains(r#"f["c"]"#), "{}", plan.stdout);

    let document = orch.plan_json(&[]);
    let drift = document["drift"].as_array().expect("drift is a list");
    assert_eq!(drift.len(), 2, "{document}");
    let a = drift.iter().find(|d| d["address"] == r#"f["a"]"#).expect("a drifted");
    assert_eq!(a["deleted"], false);
    assert!(a["fields"].as_array().expect("fields").contains(&Value::from("content")), "{a}");
    let b = drift.iter().find(|d| d["address"] == r#"f["b"]"#).expect("b drifted");
    assert_eq!(b["deleted"], true);
    let planned = actions(&document);
    assert_eq!(planned.get(r#"f["a"]"#).map(String::as_str), Some("update"));
    assert_eq!(planned.get(r#"f["b"]"#).map(String::as_str), Some("create"));
    assert_eq!(planned.len(), 2, "{document}");

    let log = orch.log("log.txt");
    orch.apply(&[]);
    assert_eq!(orch.read("out/a.txt"), "hello a\n");
    assert_eq!(orch.read("out/b.txt"), "hello b\n");
    assert_eq!(mode(&orch.path("out/b.txt")), 0o600);
    assert_eq!(orch.log("log.txt"), log, "no command runs to repair files");
    orch.run(&["plan", "main.orch", "--detailed-exitcode"]).expect_code(0);
}

#[test]
fn plan_without_refresh_does_not_see_drift() {
    let orch = Orch::new(FILES);
    orch.apply(&[]);
    std::fs::remove_file(orch.path("out/c.txt")).expect("delete a file by hand");
    orch.run(&["plan", "main.orch", "--refresh=false", "--detailed-exitcode"]).expect_code(0);
    orch.run(&["plan", "main.orch", "--detailed-exitcode"]).expect_code(2);
}

// ---------------------------------------------------------------------
// 3. Update in place and replacement.

const ONE_FILE: &str = r#"param name: string = "first.txt"
param content: string = "one\n"

resource f: fs.file {
  path    = name
  content = content
}
"#;

#[test]
fn a_content_change_updates_the_file_in_place() {
    let orch = Orch::new(ONE_FILE);
    orch.apply(&[]);
    let document = orch.plan_json(&["--var", "content=two"]);
    let f = change(&document, "f");
    assert_eq!(f["action"], "update");
    assert_eq!(f["changed_fields"], serde_json::json!(["content"]));
    assert_eq!(f["before"]["content"], "one\n");
    assert_eq!(f["after"]["content"], "two");

    let run = orch.apply(&["--var", "content=two"]);
    assert!(run.stdout.contains("~ f"), "{}", run.stdout);
    assert_eq!(orch.read("first.txt"), "two");
    let show = orch.run(&["state", "show", "f", "--json"]);
    show.expect_code(0);
    let value = &show.json()["value"];
    assert_eq!(value["content"], "two");
    assert_eq!(value["size"], 3);
    orch.run(&["plan", "main.orch", "--var", "content=two", "--detailed-exitcode"]).expect_code(0);
}

#[test]
fn a_path_change_replaces_the_file() {
    let orch = Orch::new(ONE_FILE);
    orch.apply(&[]);
    let document = orch.plan_json(&["--var", "name=second.txt"]);
    let f = change(&document, "f");
    assert_eq!(f["action"], "replace");
    assert_eq!(f["forces_replacement"], serde_json::json!(["path"]));

    orch.apply(&["--var", "name=second.txt"]);
    assert!(!orch.exists("first.txt"), "the old file is deleted");
    assert_eq!(orch.read("second.txt"), "one\n");
    let show = orch.run(&["state", "show", "f", "--json"]);
    assert_eq!(show.json()["value"]["path"], "second.txt");
}

/// A command whose replacement logs its creations and deletions.
fn replaced_command(create_before_destroy: bool) -> String {
    format!(
        r#"param generation: string = "1"

{}resource r: exec.run {{
  create   = "echo create-$G >> log.txt"
  destroy  = "echo destroy-$G >> log.txt"
  env      = {{ G = generation }}
}}
"#,
        if create_before_destroy { "@create_before_destroy\n" } else { "" }
    )
}

#[test]
fn a_replacement_deletes_first_by_default() {
    let orch = Orch::new(&replaced_command(false));
    orch.apply(&[]);
    let document = orch.plan_json(&["--var", "generation=2"]);
    assert_eq!(change(&document, "r")["create_before_destroy"], false);
    orch.apply(&["--var", "generation=2"]);
    assert_eq!(orch.log("log.txt"), ["create-1", "destroy-1", "create-2"]);
    assert!(orch.state_list().contains_key("r"));
}

#[test]
fn create_before_destroy_creates_the_new_object_first() {
    let orch = Orch::new(&replaced_command(true));
    orch.apply(&[]);
    let document = orch.plan_json(&["--var", "generation=2"]);
    let r = change(&document, "r");
    assert_eq!(r["action"], "replace");
    assert_eq!(r["create_before_destroy"], true);
    let run = orch.apply(&["--var", "generation=2"]);
    assert!(run.stdout.contains("+/- r"), "{}", run.stdout);
    assert_eq!(orch.log("log.txt"), ["create-1", "create-2", "destroy-1"]);
    // Only the new object is left in the state.
    let state = orch.state_list();
    assert_eq!(state.keys().collect::<Vec<_>>(), ["r"], "{state:?}");
    orch.run(&["plan", "main.orch", "--var", "generation=2", "--detailed-exitcode"]).expect_code(0);
}

/// The old object of a create-before-destroy replacement is deleted only
/// once what depended on it has moved to the new one.
#[test]
fn create_before_destroy_deletes_the_old_object_after_its_dependents_moved() {
    let orch = Orch::new(
        r#"param generation: string = "1"

@create_before_destroy
resource f: fs.file {
  path    = "gen-${generation}.txt"
  content = generation
}

resource user: exec.run {
  create  = "echo create-user-of-$P >> log.txt"
  destroy = "test -e $P && echo destroy-user-of-$P >> log.txt"
  env     = { P = f.path }
}
"#,
    );
    orch.apply(&[]);
    orch.apply(&["--var", "generation=2"]);
    // The user's destroy command still found the old file.
    assert_eq!(
        orch.log("log.txt"),
        ["create-user-of-gen-1.txt", "destroy-user-of-gen-1.txt", "create-user-of-gen-2.txt"]
    );
    assert!(!orch.exists("gen-1.txt"));
    assert!(orch.exists("gen-2.txt"));
}

// ---------------------------------------------------------------------
// 4. Loops.

#[test]
fn removing_a_list_element_deletes_just_that_instance() {
    let orch = Orch::new(FILES);
    orch.apply(&[]);
    let before = orch.log("log.txt");
    let document = orch.plan_json(&["--var", r#"names=["a", "c"]"#]);
    let planned = actions(&document);
    assert_eq!(
        planned,
        BTreeMap::from([
            (r#"f["b"]"#.to_string(), "delete".to_string()),
            (r#"note["b"]"#.to_string(), "delete".to_string()),
        ])
    );
    orch.apply(&["--var", r#"names=["a", "c"]"#]);
    assert!(!orch.exists("out/b.txt"));
    assert_eq!(orch.read("out/a.txt"), "hello a\n");
    assert_eq!(orch.read("out/c.txt"), "hello c\n");
    let log = orch.log("log.txt");
    assert_eq!(log[before.len()..], ["destroy-b"]);
    let state = orch.state_list();
    assert!(!state.contains_key(r#"f["b"]"#) && !state.contains_key(r#"note["b"]"#), "{state:?}");
    assert!(state.contains_key(r#"f["a"]"#) && state.contains_key(r#"note["c"]"#), "{state:?}");
}

// ---------------------------------------------------------------------
// 5. Destroy.

const CHAIN: &str = r#"resource base: exec.run {
  create  = "echo base >> created.log; echo base"
  destroy = "echo base >> destroyed.log"
}
resource mid: exec.run {
  create  = "echo mid >> created.log; echo mid"
  destroy = "echo mid >> destroyed.log"
  env     = { UP = base.stdout }
}
resource top: exec.run {
  create  = "echo top >> created.log"
  destroy = "echo top >> destroyed.log"
  env     = { UP = mid.stdout }
}
@depends_on(base)
resource side: exec.run {
  create  = "echo side >> created.log"
  destroy = "echo side >> destroyed.log"
}
resource file: fs.file {
  path    = "file.txt"
  content = mid.stdout
}
output top_exit = top.exit_code
"#;

#[test]
fn destroy_deletes_in_reverse_dependency_order_and_empties_the_state() {
    let orch = Orch::new(CHAIN);
    orch.apply(&[]);
    let created = orch.log("created.log");
    assert!(position(&created, "base") < position(&created, "mid"), "{created:?}");
    assert!(position(&created, "mid") < position(&created, "top"), "{created:?}");
    assert!(position(&created, "base") < position(&created, "side"), "{created:?}");
    assert_eq!(orch.read("file.txt"), "mid\n");

    let run = orch.run(&["destroy", "main.orch", "--auto-approve"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Destroy complete: 5 deleted in "), "{}", run.stdout);
    let destroyed = orch.log("destroyed.log");
    assert_eq!(destroyed.len(), 4, "{destroyed:?}");
    assert!(position(&destroyed, "top") < position(&destroyed, "mid"), "{destroyed:?}");
    assert!(position(&destroyed, "mid") < position(&destroyed, "base"), "{destroyed:?}");
    assert!(position(&destroyed, "side") < position(&destroyed, "base"), "{destroyed:?}");
    assert!(!orch.exists("file.txt"));

    assert!(orch.state_list().is_empty());
    let output = orch.run(&["output", "main.orch", "--json"]);
    output.expect_code(0);
    assert_eq!(output.json(), serde_json::json!({}));
    // Destroying again has nothing to do.
    let again = orch.run(&["destroy", "main.orch", "--auto-approve"]);
    again.expect_code(0);
    assert_eq!(orch.log("destroyed.log"), destroyed);
}

// ---------------------------------------------------------------------
// 6. A failing command.

const FAILING: &str = r#"param fixed: bool = false
resource a: exec.run { create = "echo a >> log.txt" }
resource bad: exec.run { create = fixed ? "echo bad >> log.txt" : "echo oops >&2; exit 3" }
resource after_bad: exec.run {
  create = "echo after_bad >> log.txt"
  env    = { UP = bad.stdout }
}
resource c: exec.run {
  create = "echo c >> log.txt"
  env    = { UP = a.stdout }
}
"#;

#[test]
fn a_failed_command_stops_its_dependents_only_and_the_next_apply_carries_on() {
    let orch = Orch::new(FAILING);
    let run = orch.run(&["apply", "main.orch", "--auto-approve", "--events", "events.jsonl"]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("E0901"), "{}", run.stderr);
    assert!(stderr.contains("bad: create failed"), "{}", run.stderr);
    assert!(stderr.contains("status 3"), "{}", run.stderr);
    assert!(stderr.contains("main.orch:3"), "the error points at the declaration: {}", run.stderr);
    assert!(!stderr.contains("after_bad"), "skipped dependents report no error: {}", run.stderr);
    assert!(run.stdout.contains("2 done, 1 failed, 1 skipped"), "{}", run.stdout);

    let mut log = orch.log("log.txt");
    log.sort();
    assert_eq!(log, ["a", "c"]);
    let state = orch.state_list();
    assert_eq!(state.get("a").map(String::as_str), Some(""));
    assert_eq!(state.get("c").map(String::as_str), Some(""));
    assert!(!state.contains_key("after_bad"), "{state:?}");
    // What the failed command did is kept, tainted, to be replaced.
    assert_eq!(state.get("bad").map(String::as_str), Some("(tainted)"), "{state:?}");

    let events: Vec<Value> = orch
        .read("events.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("an event line"))
        .collect();
    let outcome = |address: &str| {
        events
            .iter()
            .find(|e| e["type"] == "operation_finished" && e["address"] == address)
            .map(|e| e["outcome"].clone())
    };
    assert_eq!(outcome("bad"), Some(Value::from("failed")));
    assert_eq!(outcome("after_bad"), Some(Value::from("skipped")));
    assert_eq!(outcome("c"), Some(Value::from("succeeded")));

    // Fixed: only what is left runs.
    let document = orch.plan_json(&["--var", "fixed=true"]);
    let planned = actions(&document);
    assert_eq!(planned.get("bad").map(String::as_str), Some("replace"));
    assert_eq!(planned.get("after_bad").map(String::as_str), Some("create"));
    assert_eq!(planned.len(), 2, "{document}");
    orch.apply(&["--var", "fixed=true"]);
    let log = orch.log("log.txt");
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(log[2..], ["bad", "after_bad"]);
    assert!(orch.state_list().values().all(String::is_empty));
}

#[test]
fn fail_fast_starts_nothing_after_the_first_failure() {
    let orch = Orch::new(
        r#"resource bad: exec.run { create = "exit 1" }
resource slow: exec.run { create = "sleep 1; echo slow >> log.txt" }
resource later: exec.run {
  create = "echo later >> log.txt"
  env    = { UP = slow.stdout }
}
"#,
    );
    let run = orch.run(&["apply", "main.orch", "--auto-approve", "--fail-fast"]);
    run.expect_code(1);
    // `slow` was already running and finishes; `later` never starts.
    assert_eq!(orch.log("log.txt"), ["slow"]);
}

// ---------------------------------------------------------------------
// 7. Parallelism.

/// Three independent commands and one that depends on the first, each
/// writing when it started and ended.
const TIMED: &str = r#"for i in 0..3 {
  resource s: exec.run {
    create = "date +%s.%N > start-${i}; sleep 0.6; date +%s.%N > end-${i}; echo ${i}"
  }
}
resource after: exec.run {
  create = "date +%s.%N > start-after"
  env    = { UP = s[0].stdout }
}
"#;

fn time_of(orch: &Orch, name: &str) -> f64 {
    let text = orch.read(name);
    text.trim().parse().unwrap_or_else(|e| panic!("{name}: {e}: {text:?}"))
}

#[test]
fn independent_commands_run_at_once_and_dependents_wait() {
    let orch = Orch::new(TIMED);
    orch.apply(&[]);
    let starts: Vec<f64> = (0..3).map(|i| time_of(&orch, &format!("start-{i}"))).collect();
    let ends: Vec<f64> = (0..3).map(|i| time_of(&orch, &format!("end-{i}"))).collect();
    let last_start = starts.iter().copied().fold(f64::MIN, f64::max);
    let first_end = ends.iter().copied().fold(f64::MAX, f64::min);
    // All three were running at the same moment.
    assert!(last_start < first_end, "starts {starts:?}, ends {ends:?}");
    // The dependent one started after its dependency ended.
    assert!(time_of(&orch, "start-after") >= ends[0], "{ends:?}");
}

#[test]
fn parallelism_one_runs_one_command_at_a_time() {
    let orch = Orch::new(TIMED);
    orch.apply(&["--parallelism", "1"]);
    let mut spans: Vec<(f64, f64)> = (0..3)
        .map(|i| (time_of(&orch, &format!("start-{i}")), time_of(&orch, &format!("end-{i}"))))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "overlapping: {spans:?}");
    }
}

// ---------------------------------------------------------------------
// 8. The lock.

#[test]
fn a_second_apply_is_refused_while_the_first_holds_the_lock() {
    let orch = Orch::new(
        r#"resource slow: exec.run { create = "touch started; sleep 1.5; echo done > done.txt" }
"#,
    );
    let first =
        orch.command(&["apply", "main.orch", "--auto-approve"]).spawn().expect("start orchc");
    let pid = first.id();
    assert!(
        wait_until(Duration::from_secs(20), || orch.exists("started")),
        "the first apply started"
    );

    let second = orch.run(&["apply", "main.orch", "--auto-approve"]);
    second.expect_code(1);
    let stderr = flat(&second.stderr);
    assert!(stderr.contains("locked"), "{}", second.stderr);
    assert!(
        stderr.contains(&format!("pid {pid}")),
        "names the holder's pid {pid}: {}",
        second.stderr
    );
    assert!(stderr.contains("apply by"), "names the holder's operation: {}", second.stderr);
    // `plan` waits for no one either.
    orch.run(&["plan", "main.orch"]).expect_code(1);

    let first = Run::from(first.wait_with_output().expect("wait for the first apply"));
    first.expect_code(0);
    assert_eq!(orch.read("done.txt"), "done\n");
    let after = orch.apply(&[]);
    assert!(after.stdout.starts_with("No changes"), "{}", after.stdout);
}

#[test]
fn lock_timeout_waits_for_the_holder() {
    let orch = Orch::new(
        r#"resource slow: exec.run { create = "touch started; sleep 1" }
"#,
    );
    let first =
        orch.command(&["apply", "main.orch", "--auto-approve"]).spawn().expect("start orchc");
    assert!(
        wait_until(Duration::from_secs(20), || orch.exists("started")),
        "the first apply started"
    );
    let second = orch.run(&["plan", "main.orch", "--lock-timeout", "60s", "--detailed-exitcode"]);
    // It waited until the first apply finished: nothing is left to do.
    second.expect_code(0);
    Run::from(first.wait_with_output().expect("wait")).expect_code(0);
}

// ---------------------------------------------------------------------
// 9. kill -9.

const KILLED: &str = r#"resource a: exec.run { create = "echo a >> log.txt; echo a" }
resource b: exec.run {
  create = "echo b >> log.txt; echo $$ > b.pid; [ -e fast ] || exec sleep 5"
  env    = { UP = a.stdout }
}
resource c: exec.run {
  create = "echo c >> log.txt"
  env    = { UP = b.stdout }
}
resource d: exec.run {
  create = "echo d >> log.txt"
  env    = { UP = a.stdout }
}
"#;

/// Ends a process started by a command of the killed run, by its id.
fn kill_leftover(orch: &Orch) {
    if let Ok(pid) = std::fs::read_to_string(orch.path("b.pid")) {
        let _ = Command::new("kill").arg("-9").arg(pid.trim()).status();
    }
}

#[test]
fn after_kill_9_the_next_apply_finishes_the_work_without_repeating_it() {
    let orch = Orch::new(KILLED);
    let mut first: Child =
        orch.command(&["apply", "main.orch", "--auto-approve"]).spawn().expect("start orchc");
    // Kill once `b` runs and `d`, which runs beside it, is recorded.
    let ready = wait_until(Duration::from_secs(20), || {
        orch.log("log.txt").contains(&"b".to_string())
            && orch.exists("b.pid")
            && orch.state_list().contains_key("d")
    });
    first.kill().expect("kill -9 orchc");
    let status = first.wait().expect("reap orchc");
    kill_leftover(&orch);
    assert!(ready, "b started and d finished; log {:?}", orch.log("log.txt"));
    assert!(!status.success());

    // Nothing completed is lost.
    let state = orch.state_list();
    assert!(state.contains_key("a") && state.contains_key("d"), "{state:?}");
    assert!(!state.contains_key("c"), "{state:?}");

    orch.write("fast", "");
    let run = orch.apply(&[]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("interrupted"), "warns about the interrupted run: {all}");
    assert!(all.contains("create b"), "names the interrupted operation: {all}");
    assert_eq!(all.matches("create b").count(), 1, "warns once: {all}");

    let log = orch.log("log.txt");
    assert_eq!(count(&log, "a"), 1, "{log:?}");
    assert_eq!(count(&log, "d"), 1, "{log:?}");
    assert_eq!(count(&log, "c"), 1, "{log:?}");
    // The interrupted command may have done its work or not: it runs again.
    assert!((1..=2).contains(&count(&log, "b")), "{log:?}");
    assert!(position(&log, "c") > log.iter().rposition(|l| l == "b").expect("b"), "{log:?}");
    let state = orch.state_list();
    assert_eq!(state.keys().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    assert!(state.values().all(String::is_empty), "{state:?}");
    orch.run(&["plan", "main.orch", "--detailed-exitcode"]).expect_code(0);
}

// ---------------------------------------------------------------------
// 10 and 14. Secrets.

const TOKEN: &str = "hunter2-sekrit-token";

const SECRETS: &str = r#"param token: secret<string>

resource pw: random.password { length = 20 }

resource use: exec.run {
  create  = "printf %s \"$PW\" > pw.txt; printf %s \"$TOKEN\" > token.txt; echo \"pw=$PW token=$TOKEN\"; echo \"err $TOKEN\" >&2"
  destroy = "echo \"bye $TOKEN\""
  env     = { PW = pw.result, TOKEN = token }
}

resource copy: core.value { input = use.stdout }

output password: secret<string> = pw.result
output token_out: secret<string> = token
output said = use.stdout
output length = pw.length
"#;

/// Every file below `dir`, with its bytes.
fn files_below(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("read a folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files_below(&path, out);
        } else {
            out.push((path.clone(), std::fs::read(&path).expect("read a file")));
        }
    }
}

fn assert_hidden(what: &str, text: &[u8], secrets: &[&str]) {
    for secret in secrets {
        let found = text.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "{what} holds the secret {secret:?}:\n{}", String::from_utf8_lossy(text));
    }
}

#[test]
fn secrets_never_appear_in_output_events_plan_files_or_state() {
    let orch = Orch::new(SECRETS);
    let var = format!("token={TOKEN}");
    let mut seen: Vec<(String, Vec<u8>)> = Vec::new();
    let mut keep = |what: &str, run: &Run| {
        seen.push((format!("{what} stdout"), run.stdout.clone().into_bytes()));
        seen.push((format!("{what} stderr"), run.stderr.clone().into_bytes()));
    };

    let plan = orch.run(&["plan", "main.orch", "--var", &var, "--verbose", "--out", "plan.json"]);
    plan.expect_code(0);
    keep("plan", &plan);
    let plan_json = orch.run(&["plan", "main.orch", "--var", &var, "--json"]);
    plan_json.expect_code(0);
    keep("plan --json", &plan_json);
    let apply =
        orch.run(&["apply", "plan.json", "--auto-approve", "--json", "--events", "events.jsonl"]);
    apply.expect_code(0);
    keep("apply --json", &apply);

    // The secrets did reach the command.
    assert_eq!(orch.read("token.txt"), TOKEN);
    let password = orch.read("pw.txt");
    assert_eq!(password.chars().count(), 20);
    let secrets = [TOKEN, password.as_str()];

    let again = orch.run(&["apply", "main.orch", "--var", &var, "--auto-approve", "--verbose"]);
    again.expect_code(0);
    assert!(
        again.stdout.starts_with("No changes"),
        "secrets read back from the state: {}",
        again.stdout
    );
    assert_eq!(orch.read("pw.txt"), password, "the password is kept");
    keep("apply", &again);
    for args in [
        &["output", "main.orch"][..],
        &["output", "main.orch", "--json"],
        &["output", "main.orch", "password"],
        &["output", "main.orch", "token_out", "--json"],
        &["output", "main.orch", "said"],
        &["state", "list"],
        &["state", "list", "--json"],
        &["state", "show", "pw"],
        &["state", "show", "pw", "--json"],
        &["state", "show", "use"],
        &["state", "show", "use", "--json"],
        &["state", "show", "copy"],
    ] {
        let run = orch.run(args);
        run.expect_code(0);
        keep(&args.join(" "), &run);
    }
    let shown = orch.run(&["output", "main.orch", "password"]);
    assert_eq!(shown.stdout, "(secret)\n");
    let said = orch.run(&["output", "main.orch", "said"]);
    assert_eq!(said.stdout, "pw=(secret) token=(secret)\n\n", "command output is redacted");
    let length = orch.run(&["output", "main.orch", "length"]);
    assert_eq!(length.stdout, "20\n", "plain values still show");

    let destroy = orch.run(&[
        "destroy",
        "main.orch",
        "--var",
        &var,
        "--auto-approve",
        "--events",
        "events.jsonl",
    ]);
    destroy.expect_code(0);
    keep("destroy", &destroy);

    for (what, bytes) in &seen {
        assert_hidden(what, bytes, &secrets);
    }
    let mut files = Vec::new();
    files_below(&orch.path(".orch"), &mut files);
    assert!(files.iter().any(|(p, _)| p.ends_with("state.json")), "{files:?}");
    for name in ["plan.json", "events.jsonl"] {
        files.push((orch.path(name), std::fs::read(orch.path(name)).expect("read")));
    }
    for (path, bytes) in &files {
        assert_hidden(&path.display().to_string(), bytes, &secrets);
    }
}

#[test]
fn a_secret_in_a_failing_command_s_message_is_hidden() {
    let orch = Orch::new(
        r#"param token: secret<string>
resource fails: exec.run {
  create = "echo \"cannot use $TOKEN\" >&2; exit 1"
  env    = { TOKEN = token }
}
"#,
    );
    let var = format!("token={TOKEN}");
    let run = orch.run(&[
        "apply",
        "main.orch",
        "--var",
        &var,
        "--auto-approve",
        "--events",
        "events.jsonl",
    ]);
    run.expect_code(1);
    assert!(run.stderr.contains("cannot use (secret)"), "the message is quoted: {}", run.stderr);
    assert_hidden("stderr", run.stderr.as_bytes(), &[TOKEN]);
    assert_hidden("stdout", run.stdout.as_bytes(), &[TOKEN]);
    assert_hidden("events", orch.read("events.jsonl").as_bytes(), &[TOKEN]);
    let mut files = Vec::new();
    files_below(&orch.path(".orch"), &mut files);
    for (path, bytes) in &files {
        assert_hidden(&path.display().to_string(), bytes, &[TOKEN]);
    }
}

// ---------------------------------------------------------------------
// 11. HTTP.

/// A request the test server received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// An HTTP/1.1 server on a free local port answering with `respond`, and
/// what it received.
fn serve(
    respond: impl Fn(&Received) -> (u16, String) + Send + 'static,
) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let port = listener.local_addr().expect("an address").port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            if let Some(request) = read_request(&stream) {
                let (status, body) = respond(&request);
                log.lock().expect("the log").push(request);
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nX-Served-By: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.flush();
            }
        }
    });
    (port, received)
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

#[test]
fn http_request_sends_configured_requests_and_destroy_sends_the_delete() {
    let (port, received) =
        serve(|request| match (request.method.as_str(), request.path.as_str()) {
            ("PUT", "/items") => (201, r#"{"id":"42"}"#.to_string()),
            ("GET", "/items/42") => (200, r#"{"id":"42"}"#.to_string()),
            ("DELETE", "/items/42") => (204, String::new()),
            ("GET", "/info") => (200, "info-body".to_string()),
            _ => (404, String::new()),
        });
    let orch = Orch::new(&format!(
        r#"let base = "http://127.0.0.1:{port}"

data info: http.get {{
  url     = "${{base}}/info"
  headers = {{ "X-Probe" = "yes" }}
}}

resource item: http.request {{
  url         = "${{base}}/items"
  method      = "PUT"
  headers     = {{ "X-Token" = "abc", "Content-Type" = "application/json" }}
  body        = json_encode({{ name = "thing", info = info.body }})
  read_url    = "${{base}}/items/42"
  destroy_url = "${{base}}/items/42"
}}

output status = item.status
output id     = string(json_decode(item.response_body).id)
output served = item.response_headers["x-served-by"]
output info_body = info.body
"#
    ));
    let plan = orch.run(&["plan", "main.orch", "--verbose"]);
    plan.expect_code(0);
    let requests = received.lock().expect("the log").clone();
    assert!(
        requests.iter().all(|r| r.method == "GET" && r.path == "/info"),
        "plan sends no change: {requests:?}"
    );
    assert_eq!(requests[0].headers.get("x-probe").map(String::as_str), Some("yes"));

    orch.apply(&[]);
    let requests = received.lock().expect("the log").clone();
    let puts: Vec<&Received> = requests.iter().filter(|r| r.method == "PUT").collect();
    assert_eq!(puts.len(), 1, "{requests:?}");
    let put = puts[0];
    assert_eq!(put.path, "/items");
    assert_eq!(put.headers.get("x-token").map(String::as_str), Some("abc"));
    assert_eq!(put.headers.get("content-type").map(String::as_str), Some("application/json"));
    let body: Value = serde_json::from_str(&put.body).expect("a JSON body");
    assert_eq!(body, serde_json::json!({"name": "thing", "info": "info-body"}));

    let outputs = orch.run(&["output", "main.orch", "--json"]);
    outputs.expect_code(0);
    assert_eq!(
        outputs.json(),
        serde_json::json!({"status": 201, "id": "42", "served": "test", "info_body": "info-body"})
    );
    let id = orch.run(&["output", "main.orch", "id"]);
    assert_eq!(id.stdout, "42\n");

    // Nothing to do: the object is read back, nothing is sent again.
    orch.run(&["plan", "main.orch", "--detailed-exitcode"]).expect_code(0);
    let count_of = |method: &str| {
        received.lock().expect("the log").iter().filter(|r| r.method == method).count()
    };
    assert!(count_of("GET") > 1, "refresh reads the object back");
    assert_eq!(count_of("PUT"), 1);

    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    let requests = received.lock().expect("the log").clone();
    let deletes: Vec<&Received> = requests.iter().filter(|r| r.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1, "{requests:?}");
    assert_eq!(deletes[0].path, "/items/42");
    assert_eq!(deletes[0].headers.get("x-token").map(String::as_str), Some("abc"));
    assert!(orch.state_list().is_empty());
}

#[test]
fn http_request_with_an_unexpected_status_fails_at_its_line() {
    let (port, _received) = serve(|_| (500, "boom".to_string()));
    let orch = Orch::new(&format!(
        r#"resource item: http.request {{
  url = "http://127.0.0.1:{port}/items"
}}
"#
    ));
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("500"), "{}", run.stderr);
    assert!(stderr.contains("main.orch:1"), "{}", run.stderr);
    assert!(!orch.state_list().contains_key("item"));
}

// ---------------------------------------------------------------------
// 12. Plan files.

#[test]
fn a_saved_plan_applies_exactly_what_it_planned() {
    let orch = Orch::new(ONE_FILE);
    orch.apply(&[]);
    let plan = orch.run(&["plan", "main.orch", "--var", "content=planned", "--out", "saved.plan"]);
    plan.expect_code(0);
    assert_eq!(mode(&orch.path("saved.plan")), 0o600, "a plan file is private");
    // The configuration changes after the plan was made: the plan holds.
    orch.write("main.orch", &ONE_FILE.replace("one\\n", "edited later"));
    // Its params cannot be changed.
    let changed = orch.run(&["apply", "saved.plan", "--auto-approve", "--var", "content=other"]);
    changed.expect_code(1);
    assert!(flat(&changed.stderr).contains("applied exactly as planned"), "{}", changed.stderr);
    assert_eq!(orch.read("first.txt"), "one\n");
    let run = orch.run(&["apply", "saved.plan", "--auto-approve"]);
    run.expect_code(0);
    assert_eq!(orch.read("first.txt"), "planned");
    // Applied once, the plan is used up.
    let again = orch.run(&["apply", "saved.plan", "--auto-approve"]);
    again.expect_code(1);
    assert!(flat(&again.stderr).contains("stale"), "{}", again.stderr);
}

#[test]
fn a_saved_plan_is_refused_once_the_state_changed() {
    let orch = Orch::new(ONE_FILE);
    orch.apply(&[]);
    orch.run(&["plan", "main.orch", "--var", "content=planned", "--out", "saved.plan"])
        .expect_code(0);
    orch.apply(&["--var", "content=other"]);
    let run = orch.run(&["apply", "saved.plan", "--auto-approve"]);
    run.expect_code(1);
    assert!(flat(&run.stderr).contains("the plan is stale"), "{}", run.stderr);
    assert_eq!(orch.read("first.txt"), "other", "nothing was applied");
}

#[test]
fn a_saved_plan_for_a_new_state_is_refused_after_another_apply() {
    let orch = Orch::new(ONE_FILE);
    orch.run(&["plan", "main.orch", "--out", "saved.plan"]).expect_code(0);
    orch.apply(&["--var", "content=first"]);
    let run = orch.run(&["apply", "saved.plan", "--auto-approve"]);
    run.expect_code(1);
    assert!(flat(&run.stderr).contains("stale"), "{}", run.stderr);
    assert_eq!(orch.read("first.txt"), "first");
}

// ---------------------------------------------------------------------
// 13. @prevent_destroy.

const PROTECTED: &str = r#"param name: string = "keep.txt"

@prevent_destroy
resource keep: fs.file {
  path    = name
  content = "precious\n"
}

resource other: fs.file {
  path    = "other-${name}"
  content = "x"
}
"#;

const UNPROTECTED_GONE: &str = r#"resource other: fs.file {
  path    = "other-keep.txt"
  content = "x"
}
"#;

fn assert_refused(run: &Run) {
    run.expect_code(1);
    assert!(run.stderr.contains("E0902"), "{}", run.stderr);
    assert!(flat(&run.stderr).contains("@prevent_destroy"), "{}", run.stderr);
}

#[test]
fn prevent_destroy_refuses_a_replacement_and_changes_nothing() {
    let orch = Orch::new(PROTECTED);
    orch.apply(&[]);
    assert_eq!(orch.state_list().get("keep").map(String::as_str), Some("(protected)"));
    let plan = orch.run(&["plan", "main.orch", "--var", "name=moved.txt"]);
    assert_refused(&plan);
    assert!(flat(&plan.stderr).contains("main.orch:4"), "{}", plan.stderr);
    let run = orch.run(&["apply", "main.orch", "--var", "name=moved.txt", "--auto-approve"]);
    assert_refused(&run);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_eq!(orch.read("keep.txt"), "precious\n");
    assert!(!orch.exists("moved.txt"));
    // Not even the unprotected part of the plan ran.
    assert!(orch.exists("other-keep.txt") && !orch.exists("other-moved.txt"));
    assert_refused(&orch.run(&["destroy", "main.orch", "--auto-approve"]));
    assert!(orch.exists("keep.txt"));
}

#[test]
fn prevent_destroy_outlives_its_declaration_until_unprotected() {
    let orch = Orch::new(PROTECTED);
    orch.apply(&[]);
    orch.write("main.orch", UNPROTECTED_GONE);
    let plan = orch.run(&["plan", "main.orch"]);
    assert_refused(&plan);
    assert!(flat(&plan.stderr).contains("state unprotect"), "says how to lift it: {}", plan.stderr);
    assert_refused(&orch.run(&["apply", "main.orch", "--auto-approve"]));
    assert_eq!(orch.read("keep.txt"), "precious\n");
    assert_refused(&orch.run(&["destroy", "main.orch", "--auto-approve"]));
    assert!(orch.exists("keep.txt") && orch.exists("other-keep.txt"));

    let unprotect = orch.run(&["state", "unprotect", "keep"]);
    unprotect.expect_code(0);
    assert_eq!(orch.state_list().get("keep").map(String::as_str), Some(""));
    orch.apply(&[]);
    assert!(!orch.exists("keep.txt"), "deleted once unprotected");
    assert!(!orch.state_list().contains_key("keep"));
}

#[test]
fn state_rm_forgets_a_protected_object_and_leaves_it_alone() {
    let orch = Orch::new(PROTECTED);
    orch.apply(&[]);
    orch.write("main.orch", UNPROTECTED_GONE);
    let rm = orch.run(&["state", "rm", "keep"]);
    rm.expect_code(0);
    let run = orch.apply(&[]);
    assert!(run.stdout.starts_with("No changes"), "{}", run.stdout);
    assert_eq!(orch.read("keep.txt"), "precious\n", "forgotten, not deleted");
    assert!(!orch.state_list().contains_key("keep"));
    let missing = orch.run(&["state", "rm", "keep"]);
    missing.expect_code(1);
    assert!(flat(&missing.stderr).contains("no `keep` in the state"), "{}", missing.stderr);
}

#[test]
fn removing_the_decorator_and_applying_lifts_the_protection() {
    let orch = Orch::new(PROTECTED);
    orch.apply(&[]);
    orch.write("main.orch", &PROTECTED.replace("@prevent_destroy\n", ""));
    // The recorded mark still refuses a replacement in the same run...
    assert_refused(&orch.run(&["apply", "main.orch", "--var", "name=moved.txt", "--auto-approve"]));
    // ...and, as the error's help says, one apply lifts it.
    orch.apply(&[]);
    assert_eq!(orch.state_list().get("keep").map(String::as_str), Some(""));
    orch.apply(&["--var", "name=moved.txt"]);
    assert!(!orch.exists("keep.txt") && orch.exists("moved.txt"));
}

#[test]
fn adding_the_decorator_to_an_existing_object_protects_it() {
    let orch = Orch::new(&PROTECTED.replace("@prevent_destroy\n", ""));
    orch.apply(&[]);
    orch.write("main.orch", PROTECTED);
    orch.apply(&[]);
    assert_eq!(orch.state_list().get("keep").map(String::as_str), Some("(protected)"));
    orch.write("main.orch", UNPROTECTED_GONE);
    assert_refused(&orch.run(&["apply", "main.orch", "--auto-approve"]));
    assert!(orch.exists("keep.txt"));
}

// ---------------------------------------------------------------------
// 15. Assertions on apply-time values.

const ASSERTED: &str = r#"resource cmd: exec.run { create = "printf y" }
resource v: core.value { input = cmd.stdout }
assert v.output == "x", "expected x but the command said ${v.output}"
resource unrelated: fs.file {
  path    = "unrelated.txt"
  content = "fine"
}
"#;

#[test]
fn a_failed_assert_on_an_apply_time_value_fails_the_apply() {
    let orch = Orch::new(ASSERTED);
    // Unknown at plan time: the plan passes.
    orch.run(&["plan", "main.orch"]).expect_code(0);
    let run = orch.run(&["apply", "main.orch", "--auto-approve", "--events", "events.jsonl"]);
    run.expect_code(1);
    assert!(run.stderr.contains("expected x but the command said y"), "{}", run.stderr);
    assert!(flat(&run.stderr).contains("main.orch:3"), "{}", run.stderr);
    assert!(run.stdout.contains("Apply failed"), "{}", run.stdout);
    let events = orch.read("events.jsonl");
    assert!(events.contains(r#""type":"assertion_failed""#), "{events}");
    assert!(orch.exists("unrelated.txt"), "independent work is done");

    // Now the value is known at plan time: the plan itself fails.
    let plan = orch.run(&["plan", "main.orch"]);
    plan.expect_code(1);
    assert!(plan.stderr.contains("expected x but the command said y"), "{}", plan.stderr);
    let json = orch.run(&["plan", "main.orch", "--json"]);
    json.expect_code(1);
    let errors = json.json()["errors"].clone();
    assert_eq!(errors[0]["message"], "expected x but the command said y", "{errors}");
    assert_eq!(errors[0]["location"], "main.orch:3:8", "{errors}");
    let again = orch.run(&["apply", "main.orch", "--auto-approve"]);
    again.expect_code(1);
    assert!(again.stderr.contains("expected x but the command said y"), "{}", again.stderr);
    assert!(again.stderr.contains("nothing was changed"), "{}", again.stderr);
}

// ---------------------------------------------------------------------
// 16. Data.

#[test]
fn data_sources_are_read_at_plan_time_when_they_can_be() {
    let orch = Orch::new(
        r#"data greeting: env.var { name = "ORCH_TEST_GREETING" }
data missing: env.var { name = "ORCH_TEST_SURELY_UNSET" }
data input: fs.read { path = "input.txt" }

resource out: fs.file {
  path    = "out.txt"
  content = "${greeting.value ?? "none"} / ${missing.value ?? "unset"} / ${input.content}"
}
output digest = input.sha256
"#,
    );
    orch.write("input.txt", "from disk");
    let env = [("ORCH_TEST_GREETING", "hey")];
    let plan = orch.run_env(&["plan", "main.orch", "--json"], &env);
    plan.expect_code(0);
    let document = plan.json();
    assert_eq!(change(&document, "out")["after"]["content"], "hey / unset / from disk");
    let apply = orch.run_env(&["apply", "main.orch", "--auto-approve"], &env);
    apply.expect_code(0);
    assert_eq!(orch.read("out.txt"), "hey / unset / from disk");
    let digest = orch.run(&["output", "main.orch", "digest"]);
    assert_eq!(digest.stdout.trim(), sha256_of("from disk"));
    // A changed environment variable shows in the next plan.
    let changed = orch
        .run_env(&["plan", "main.orch", "--detailed-exitcode"], &[("ORCH_TEST_GREETING", "bye")]);
    changed.expect_code(2);
    orch.run_env(&["plan", "main.orch", "--detailed-exitcode"], &env).expect_code(0);
}

fn sha256_of(text: &str) -> String {
    let output = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().expect("stdin").write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run sha256sum");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .split_whitespace()
        .next()
        .expect("a hash")
        .to_string()
}

#[test]
fn a_file_written_by_the_apply_is_read_during_the_apply() {
    let orch = Orch::new(
        r#"param content: string = "first"

resource gen: fs.file {
  path    = "gen.txt"
  content = "generated ${content}"
}

data back: fs.read { path = gen.path }

resource copy: fs.file {
  path    = "copy.txt"
  content = "copy of ${back.content}"
}

output read_back = back.content
"#,
    );
    let document = orch.plan_json(&[]);
    let copy = change(&document, "copy");
    assert_eq!(copy["after"]["content"], "(known after apply)", "{document}");
    orch.apply(&[]);
    assert_eq!(orch.read("copy.txt"), "copy of generated first");
    assert_eq!(orch.run(&["output", "main.orch", "read_back"]).stdout, "generated first\n");
    orch.run(&["plan", "main.orch", "--detailed-exitcode"]).expect_code(0);

    // An update of the file is read again after it is written, not before.
    orch.apply(&["--var", "content=second"]);
    assert_eq!(orch.read("copy.txt"), "copy of generated second");
    orch.run(&["plan", "main.orch", "--var", "content=second", "--detailed-exitcode"])
        .expect_code(0);
}

// ---------------------------------------------------------------------
// Interrupts, timeouts, ignored changes, paths.

#[test]
fn an_interrupt_waits_for_running_work_saves_it_and_starts_nothing_new() {
    let orch = Orch::new(
        r#"resource a: exec.run { create = "echo a-start >> log.txt; sleep 1; echo a >> log.txt; echo a" }
resource b: exec.run {
  create = "echo b >> log.txt"
  env    = { UP = a.stdout }
}
"#,
    );
    let first =
        orch.command(&["apply", "main.orch", "--auto-approve"]).spawn().expect("start orchc");
    let started = wait_until(Duration::from_secs(20), || {
        orch.log("log.txt").contains(&"a-start".to_string())
    });
    let interrupt = Command::new("kill").arg("-INT").arg(first.id().to_string()).status();
    let run = Run::from(first.wait_with_output().expect("wait for orchc"));
    assert!(started, "a started");
    assert!(interrupt.expect("run kill").success());
    run.expect_code(130);
    assert!(run.stdout.contains("interrupt received"), "{}", run.stdout);
    assert!(run.stdout.contains("Apply interrupted: 1 done, 1 not started"), "{}", run.stdout);
    // The running command was waited for and recorded; nothing new started.
    assert_eq!(orch.log("log.txt"), ["a-start", "a"]);
    let state = orch.state_list();
    assert_eq!(state.keys().collect::<Vec<_>>(), ["a"], "{state:?}");

    orch.apply(&[]);
    assert_eq!(orch.log("log.txt"), ["a-start", "a", "b"]);
}

#[test]
fn a_timed_out_command_is_stopped_and_replaced_next_time() {
    let orch = Orch::new(
        r#"@timeout(300ms)
resource slow: exec.run { create = "sleep 1; echo finished >> log.txt" }
resource quick: exec.run { create = "echo quick >> log.txt" }
"#,
    );
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    assert!(flat(&run.stderr).contains("timed out after 300ms"), "{}", run.stderr);
    assert!(flat(&run.stderr).contains("main.orch:2"), "{}", run.stderr);
    // Whether it did its work is unknown: it is kept, tainted.
    assert_eq!(orch.state_list().get("slow").map(String::as_str), Some("(tainted)"));
    // The command was killed with its process group.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(orch.log("log.txt"), ["quick"]);
    let document = orch.plan_json(&[]);
    assert_eq!(actions(&document), BTreeMap::from([("slow".to_string(), "replace".to_string())]));
}

#[test]
fn ignore_changes_hides_drift_and_configuration_changes_of_a_field() {
    let main = r#"param content: string = "one"
@ignore_changes(content)
resource f: fs.file {
  path    = "f.txt"
  content = content
}
"#;
    let orch = Orch::new(main);
    orch.apply(&[]);
    orch.write("f.txt", "managed elsewhere now");
    orch.run(&["plan", "main.orch", "--detailed-exitcode"]).expect_code(0);
    orch.run(&["plan", "main.orch", "--var", "content=two", "--detailed-exitcode"]).expect_code(0);
    orch.apply(&["--var", "content=two"]);
    assert_eq!(orch.read("f.txt"), "managed elsewhere now");
    // Without the decorator, the drift shows again.
    orch.write("main.orch", &main.replace("@ignore_changes(content)\n", ""));
    orch.run(&["plan", "main.orch", "--detailed-exitcode"]).expect_code(2);
}

#[test]
fn paths_and_state_are_beside_the_root_module_wherever_orchc_runs() {
    let orch = Orch::new("");
    orch.write(
        "infra/main.orch",
        r#"param content: string = "x"
resource f: fs.file {
  path    = "f.txt"
  content = content
}
resource c: exec.run { create = "pwd > where.txt" }
"#,
    );
    orch.run(&["apply", "infra/main.orch", "--auto-approve"]).expect_code(0);
    assert_eq!(orch.read("infra/f.txt"), "x");
    let infra = orch.path("infra").canonicalize().expect("a folder");
    assert_eq!(orch.read("infra/where.txt").trim(), infra.to_str().expect("UTF-8"));
    assert!(orch.path("infra/.orch/state.json").is_file());
    assert!(!orch.exists(".orch/state.json"));
    let list = orch.run(&["state", "list", "--root", "infra/main.orch"]);
    list.expect_code(0);
    assert!(list.stdout.contains("f "), "{}", list.stdout);
    let show = orch.run(&["state", "show", "c", "--root", "infra/main.orch"]);
    show.expect_code(0);
    assert!(show.stdout.contains("destroy = none"), "{}", show.stdout);

    // A saved plan knows its module and state: it applies from anywhere.
    orch.run(&["plan", "infra/main.orch", "--var", "content=y", "--out", "p.plan"]).expect_code(0);
    let elsewhere = tempfile::tempdir().expect("another folder");
    let mut command =
        orch.command(&["apply", orch.path("p.plan").to_str().expect("UTF-8"), "--auto-approve"]);
    command.current_dir(elsewhere.path());
    Run::from(command.output().expect("run orchc")).expect_code(0);
    assert_eq!(orch.read("infra/f.txt"), "y");
    assert_eq!(std::fs::read_dir(elsewhere.path()).expect("a folder").count(), 0);
}

// ---------------------------------------------------------------------
// Deletions and modules.

#[test]
fn a_failed_delete_keeps_the_object_and_independent_deletions_go_on() {
    let orch = Orch::new(
        r#"resource stubborn: exec.run {
  create  = "true"
  destroy = "[ -e allow ] || { echo not yet >&2; exit 4; }; echo stubborn >> destroyed.log"
}
resource easy: exec.run {
  create  = "true"
  destroy = "echo easy >> destroyed.log"
}
"#,
    );
    orch.apply(&[]);
    let run = orch.run(&["destroy", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    assert!(flat(&run.stderr).contains("stubborn: delete failed"), "{}", run.stderr);
    assert!(flat(&run.stderr).contains("not yet"), "quotes the command's error: {}", run.stderr);
    assert_eq!(orch.log("destroyed.log"), ["easy"]);
    let state = orch.state_list();
    assert_eq!(state.keys().collect::<Vec<_>>(), ["stubborn"], "{state:?}");

    orch.write("allow", "");
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    assert_eq!(orch.log("destroyed.log"), ["easy", "stubborn"]);
    assert!(orch.state_list().is_empty());
}

#[test]
fn removed_declarations_are_deleted_in_reverse_dependency_order() {
    let orch = Orch::new(CHAIN);
    orch.apply(&[]);
    // Keep `base` and `side`; `mid`, `top` and `file` leave the
    // configuration, and nothing in it says how they were related.
    let kept: String = CHAIN.lines().take(4).collect::<Vec<_>>().join("\n")
        + "\n@depends_on(base)\nresource side: exec.run {\n  create  = \"echo side >> created.log\"\n  destroy = \"echo side >> destroyed.log\"\n}\n";
    orch.write("main.orch", &kept);
    let document = orch.plan_json(&[]);
    assert_eq!(
        actions(&document),
        BTreeMap::from([
            ("file".to_string(), "delete".to_string()),
            ("mid".to_string(), "delete".to_string()),
            ("top".to_string(), "delete".to_string()),
        ])
    );
    orch.apply(&[]);
    assert_eq!(orch.log("destroyed.log"), ["top", "mid"]);
    assert!(!orch.exists("file.txt"));
    assert_eq!(orch.state_list().keys().collect::<Vec<_>>(), ["base", "side"]);
}

const MODULE: &str = r#"param name: string
resource dir: fs.dir { path = "apps/${name}" }
resource hook: exec.run {
  create  = "echo create-$D >> log.txt"
  destroy = "echo destroy-$D >> log.txt"
  env     = { D = dir.path }
}
output dir_path: string = dir.path
"#;

#[test]
fn module_instances_are_addressed_and_removed_one_by_one() {
    let orch = Orch::new(
        r#"param apps: list<string> = ["api", "web"]
for a in apps {
  module app: "./modules/app.orch" { name = a }
}
output dirs = { for k, m in app: k => m.dir_path }
"#,
    );
    orch.write("modules/app.orch", MODULE);
    orch.apply(&[]);
    assert!(orch.path("apps/api").is_dir() && orch.path("apps/web").is_dir());
    let state = orch.state_list();
    assert!(state.contains_key(r#"app["web"].hook"#), "{state:?}");
    let dirs = orch.run(&["output", "main.orch", "dirs", "--json"]);
    assert_eq!(dirs.json(), serde_json::json!({"api": "apps/api", "web": "apps/web"}));
    orch.apply(&["--var", r#"apps=["api"]"#]);
    assert!(!orch.exists("apps/web") && orch.path("apps/api").is_dir());
    let log = orch.log("log.txt");
    assert_eq!(log.last().map(String::as_str), Some("destroy-apps/web"), "{log:?}");
    assert_eq!(count(&log, "destroy-apps/web"), 1);
    assert_eq!(count(&log, "destroy-apps/api"), 0);
}

/// What a module's arguments (and `@depends_on`) read is created before,
/// and deleted after, everything inside the module.
#[test]
fn resources_in_a_module_wait_for_what_its_arguments_read() {
    let orch = Orch::new(
        r#"resource base: exec.run {
  create  = "sleep 0.3; echo create-base >> log.txt; printf apps-from-base"
  destroy = "echo destroy-base >> log.txt"
}
module app: "./modules/app.orch" { name = base.stdout }
"#,
    );
    orch.write("modules/app.orch", MODULE);
    orch.apply(&[]);
    assert_eq!(orch.log("log.txt"), ["create-base", "create-apps/apps-from-base"]);
    let show = orch.run(&["state", "show", "app.dir", "--json"]);
    assert_eq!(show.json()["depends_on"], serde_json::json!(["base"]));
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    let log = orch.log("log.txt");
    assert_eq!(log[2..], ["destroy-apps/apps-from-base", "destroy-base"]);
}

// ---------------------------------------------------------------------
// State keys, params and recorded dependencies.

#[test]
fn the_state_key_from_the_environment_is_used_and_needed() {
    let orch = Orch::new(
        r#"resource pw: random.password { length = 12 }
output length = pw.length
"#,
    );
    // 32 bytes, in base64 and in hex.
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let other = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
    let with_key = [("ORCH_STATE_KEY", key)];
    let run = orch.run_env(&["apply", "main.orch", "--auto-approve"], &with_key);
    run.expect_code(0);
    assert_eq!(std::fs::read_dir(orch.config.path()).expect("a folder").count(), 0, "no key file");
    assert!(!run.stderr.contains("generated"), "{}", run.stderr);
    orch.run_env(&["plan", "main.orch", "--detailed-exitcode"], &with_key).expect_code(0);

    let wrong = orch.run_env(&["plan", "main.orch"], &[("ORCH_STATE_KEY", other)]);
    wrong.expect_code(1);
    assert!(flat(&wrong.stderr).contains("wrong ORCH_STATE_KEY"), "{}", wrong.stderr);
    let missing = orch.run(&["output", "main.orch"]);
    missing.expect_code(1);
    assert!(flat(&missing.stderr).contains("no key was found"), "{}", missing.stderr);
    assert_eq!(std::fs::read_dir(orch.config.path()).expect("a folder").count(), 0, "none made");
}

#[test]
fn a_generated_key_is_kept_in_the_configuration_folder_and_reused() {
    let orch = Orch::new(
        r#"resource pw: random.password { length = 12 }
"#,
    );
    let run = orch.apply(&[]);
    assert!(flat(&run.stderr).contains("encrypted with"), "says where the key is: {}", run.stderr);
    let files: Vec<PathBuf> = std::fs::read_dir(orch.config.path())
        .expect("a configuration folder")
        .map(|e| e.expect("an entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(mode(&files[0]), 0o600, "the key file is private");
    assert!(!files[0].starts_with(orch.path(".orch")));
    let again = orch.apply(&[]);
    assert!(again.stdout.starts_with("No changes"), "{}", again.stdout);
    assert!(!flat(&again.stderr).contains("encrypted with"), "said once: {}", again.stderr);
}

#[test]
fn params_come_from_var_then_var_file_then_the_environment() {
    let orch = Orch::new(
        r#"param a: string = "default-a"
param b: string = "default-b"
param c: int = 1
param d: list<string> = []
param e: string = "default-e"
resource f: fs.file {
  path    = "f.txt"
  content = "${a} ${b} ${c} ${join(",", d)} ${e}"
}
"#,
    );
    orch.write("vars.json", r#"{"b": "file-b", "c": 7, "d": ["x", "y"]}"#);
    let env = [("ORCH_VAR_a", "env-a"), ("ORCH_VAR_b", "env-b"), ("ORCH_VAR_c", "5")];
    let args = ["apply", "main.orch", "--auto-approve", "--var-file", "vars.json", "--var", "c=9"];
    orch.run_env(&args, &env).expect_code(0);
    assert_eq!(orch.read("f.txt"), "env-a file-b 9 x,y default-e");
    let bad = orch.run_env(&["plan", "main.orch"], &[("ORCH_VAR_c", "many")]);
    bad.expect_code(1);
    assert!(bad.stderr.contains("main.orch:3"), "{}", bad.stderr);
}

#[test]
fn a_depends_on_added_later_orders_the_destroy() {
    let main = r#"resource first: exec.run {
  create  = "true"
  destroy = "echo first >> destroyed.log"
}
resource second: exec.run {
  create  = "true"
  destroy = "sleep 0.3; echo second >> destroyed.log"
}
"#;
    let orch = Orch::new(main);
    orch.apply(&[]);
    orch.write(
        "main.orch",
        &main.replace("resource second", "@depends_on(first)\nresource second"),
    );
    let run = orch.apply(&[]);
    assert!(run.stdout.starts_with("No changes"), "{}", run.stdout);
    let show = orch.run(&["state", "show", "second", "--json"]);
    assert_eq!(show.json()["depends_on"], serde_json::json!(["first"]));
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    // Without the recorded dependency the quick `first` would end first.
    assert_eq!(orch.log("destroyed.log"), ["second", "first"]);
}

#[test]
fn the_modules_example_applies_with_its_imported_values() {
    // Issue 10: values from `import` were unknown, so every apply failed.
    let orch = Orch::new(include_str!("../../examples/modules/main.orch"));
    orch.write("modules/common.orch", include_str!("../../examples/modules/modules/common.orch"));
    orch.write("modules/site.orch", include_str!("../../examples/modules/modules/site.orch"));
    let plan = orch.plan_json(&[]);
    let server = change(&plan, "blog.server");
    assert!(server.to_string().contains("listen=127.0.0.1:8001"), "{server}");
    let run = orch.apply(&[]);
    assert!(run.stdout.contains("Apply complete"), "{}", run.stdout);
    assert_eq!(
        orch.read("srv/sites/docs/server.conf"),
        "listen=127.0.0.1:8000\nroot=./srv/sites/docs\n"
    );
    assert_eq!(
        orch.read("srv/sites/blog/server.conf"),
        "listen=127.0.0.1:8001\nroot=./srv/sites/blog\n"
    );
    let outputs = orch.run(&["output", "main.orch", "--json"]);
    outputs.expect_code(0);
    assert_eq!(
        outputs.json()["site_urls"],
        serde_json::json!(["http://127.0.0.1:8000/", "http://127.0.0.1:8001/"])
    );
    orch.expect_no_changes(&[]);
}

// ---------------------------------------------------------------------
// Secrets taint what reads them (issue 10, defect 4; issue 17, defect 3).

#[test]
fn the_length_of_instances_holding_secrets_is_not_secret() {
    let orch = Orch::new(
        r#"param token: secret<string>
for i in 0..3 {
  resource wide: exec.run {
    create = "true"
    env    = { TOKEN = token }
  }
}
resource summary: exec.run {
  create   = "echo \"$N\" > n.txt"
  env      = { N = string(length(wide)) }
  triggers = { n = string(length(wide)) }
}
"#,
    );
    let var = format!("token={TOKEN}");
    let plan = orch.plan_json(&["--var", &var]);
    assert_eq!(change(&plan, "summary")["after"]["triggers"]["n"], "3", "{plan}");
    let run = orch.apply(&["--var", &var]);
    assert_hidden("apply", run.stdout.as_bytes(), &[TOKEN]);
    assert_eq!(orch.read("n.txt"), "3\n");
    let show = orch.run(&["state", "show", "summary", "--json"]);
    show.expect_code(0);
    assert_eq!(show.json()["value"]["triggers"]["n"], "3", "{}", show.stdout);
    orch.expect_no_changes(&["--var", &var]);
}

#[test]
fn a_secret_element_stays_secret_in_a_loop_over_positions() {
    // The positions of a list holding a secret are not secret, but the
    // element is: `content` keeps it sealed in state.
    let orch = Orch::new(
        r#"param token: secret<string>
for i, t in [token, "plain"] {
  resource f: fs.file {
    path    = "f${i}.txt"
    content = t
  }
}
"#,
    );
    let var = format!("token={TOKEN}");
    let run = orch.apply(&["--var", &var]);
    assert_eq!(orch.read("f0.txt"), TOKEN);
    assert_eq!(orch.read("f1.txt"), "plain");
    let mut files = Vec::new();
    files_below(&orch.path(".orch"), &mut files);
    for (path, bytes) in &files {
        assert_hidden(&path.display().to_string(), bytes, &[TOKEN]);
    }
    let list = orch.run(&["state", "list"]);
    for run in [&run, &list, &orch.run(&["state", "show", "f[0]"])] {
        assert_hidden("a run", run.stdout.as_bytes(), &[TOKEN]);
        assert_hidden("a run", run.stderr.as_bytes(), &[TOKEN]);
    }
}

#[test]
fn a_secret_instance_key_is_refused_at_check() {
    let module = "param names: list<string>\nfor n in names {\n  resource v: core.value { input = \"x\" }\n}\n";
    let secret_module = "param names: secret<list<string>>\nfor n in names {\n  resource v: core.value { input = \"x\" }\n}\n";
    let cases = [
        "param token: secret<string>\nfor t in [token] {\n  resource f: core.value { input = \"x\" }\n}\n",
        "param token: secret<string>\nlet xs = [token, \"b\"]\nfor t in xs {\n  resource f: core.value { input = \"x\" }\n}\n",
        "param token: secret<list<string>>\nfor t in token {\n  resource f: core.value { input = \"x\" }\n}\n",
        "param token: secret<string>\nfor i, _ in range(length(token)) {\n  resource f: core.value { input = \"x\" }\n}\n",
        "param token: secret<string>\nmodule m: \"./plain.orch\" { names = [token] }\n",
        "param token: secret<string>\nmodule m: \"./secret.orch\" { names = [token] }\n",
    ];
    for main in cases {
        let orch = Orch::new(main);
        orch.write("plain.orch", module);
        orch.write("secret.orch", secret_module);
        let var = format!("token={TOKEN}");
        let var_list = format!("token=[\"{TOKEN}\"]");
        let var = if main.contains("secret<list") { var_list } else { var };
        let check = orch.run(&["check", "main.orch", "--var", &var]);
        check.expect_code(1);
        assert!(check.stdout.contains("error[E0205]"), "{main}\n{}", check.stdout);
        assert!(
            check.stdout.contains("the secret comes from the secret param"),
            "{}",
            check.stdout
        );
        let plan = orch.run(&["plan", "main.orch", "--var", &var]);
        plan.expect_code(1);
        for run in [&check, &plan] {
            assert_hidden(main, run.stdout.as_bytes(), &[TOKEN]);
            assert_hidden(main, run.stderr.as_bytes(), &[TOKEN]);
        }
        assert!(!orch.exists(".orch/state.json"), "nothing was recorded for {main}");
    }
}
