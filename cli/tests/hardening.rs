//! Hardening through the binary: no command outlives `orchc` (a second
//! Ctrl-C, `SIGTERM`, `SIGHUP`); `env` values are kept as they are while
//! secret ones are masked; a serial at its largest value is an error, not a
//! wrap; a lock that is still held after `--lock-timeout` says so, naming the
//! holder by the OS user name even without `$USER`.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Run;
use common::orch::{Orch, change, wait_until};

/// Two commands that would write a file once their `sleep 30` ends; the
/// second ignores `SIGTERM` (and so does its `sleep`), so only `SIGKILL`
/// stops it. Each writes its shell's pid.
const SLEEPERS: &str = r#"resource polite: exec.run {
  create = "echo $$ > polite.pid; sleep 30; touch polite.done"
}
resource stubborn: exec.run {
  create = "trap '' TERM; echo $$ > stubborn.pid; sleep 30; touch stubborn.done"
}
"#;

/// The processes of group `pgid` that still run (zombies excluded).
fn members(pgid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // After the command name in parentheses: state, ppid, pgrp.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2].parse() == Ok(pgid) {
            found.push(pid);
        }
    }
    found
}

/// The process group of a running process.
fn group_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// The pid a command wrote to `name`, once it is there.
fn pid_in(orch: &Orch, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(orch.path(name)).ok()?;
    if !text.ends_with('\n') {
        return None;
    }
    text.trim().parse().ok()
}

/// Standard output of a running `orchc`, collected as it comes.
fn collect_stdout(child: &mut Child) -> Arc<Mutex<String>> {
    let seen = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stdout.take().expect("piped standard output");
    let sink = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().expect("output").push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    seen
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status();
    assert!(sent.expect("run kill").success(), "kill -{name}");
}

/// Starts `apply` of [`SLEEPERS`] and waits until both commands run; their
/// process groups.
fn start_sleepers(orch: &Orch) -> (Child, Arc<Mutex<String>>, [u32; 2]) {
    let mut child =
        orch.command(&["apply", "main.orch", "--auto-approve"]).spawn().expect("start orchc");
    let stdout = collect_stdout(&mut child);
    let running = wait_until(Duration::from_secs(30), || {
        pid_in(orch, "polite.pid").is_some() && pid_in(orch, "stubborn.pid").is_some()
    });
    assert!(running, "both commands started: {}", stdout.lock().expect("output"));
    let groups = [pid_in(orch, "polite.pid"), pid_in(orch, "stubborn.pid")].map(|pid| {
        let group = group_of(pid.expect("a pid")).expect("the command runs");
        assert_ne!(group, child.id(), "each command has a process group of its own");
        assert!(!members(group).is_empty(), "group {group} runs");
        group
    });
    (child, stdout, groups)
}

/// `orchc` exited with `code`, and neither command nor anything it started
/// is left, so neither file can ever be written.
fn assert_stopped(orch: &Orch, child: Child, stdout: &Mutex<String>, groups: [u32; 2], code: i32) {
    let output = child.wait_with_output().expect("wait for orchc");
    let run = Run {
        code: output.status.code().expect("an exit status"),
        stdout: stdout.lock().expect("output").clone(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    run.expect_code(code);
    assert!(run.stderr.contains("stopping now"), "{}", run.stderr);
    // `SIGKILL` is delivered at once; a moment for the kernel to finish.
    assert_gone(orch, groups, Duration::from_millis(500));
}

/// No process of `groups` is left (within `limit`), so neither file can
/// ever be written.
fn assert_gone(orch: &Orch, groups: [u32; 2], limit: Duration) {
    let gone = wait_until(limit, || groups.iter().all(|g| members(*g).is_empty()));
    let left: Vec<Vec<u32>> = groups.iter().map(|g| members(*g)).collect();
    assert!(gone, "processes left running after orchc exited: {left:?}");
    assert!(!orch.exists("polite.done") && !orch.exists("stubborn.done"));
}

#[test]
fn even_kill_9_of_orchc_leaves_no_command_running() {
    let orch = Orch::new(SLEEPERS);
    let (mut child, _stdout, groups) = start_sleepers(&orch);
    child.kill().expect("kill -9 orchc");
    let status = child.wait().expect("reap orchc");
    assert!(!status.success());
    // orchc's watcher sees its pipe from orchc close, and kills every
    // group it was told of.
    assert_gone(&orch, groups, Duration::from_secs(5));
}

#[test]
fn a_second_interrupt_ends_every_command_before_orchc_exits() {
    let orch = Orch::new(SLEEPERS);
    let (child, stdout, groups) = start_sleepers(&orch);
    signal(&child, "INT");
    // The first interrupt waits for the running commands…
    let noticed = wait_until(Duration::from_secs(20), || {
        stdout.lock().expect("output").contains("interrupt received")
    });
    assert!(noticed, "{}", stdout.lock().expect("output"));
    assert!(groups.iter().all(|g| !members(*g).is_empty()), "still running after one interrupt");
    // …the second stops them, the stubborn one too.
    signal(&child, "INT");
    assert_stopped(&orch, child, &stdout, groups, 130);

    // Neither finished (interrupted, or recorded as a cancelled create,
    // depending on how far each got): the next apply runs both again.
    orch.write("main.orch", &SLEEPERS.replace("sleep 30", "true"));
    orch.apply(&[]);
    assert!(orch.exists("polite.done") && orch.exists("stubborn.done"));
}

#[test]
fn sigterm_and_sighup_end_every_command_before_orchc_exits() {
    for (name, code) in [("TERM", 143), ("HUP", 129)] {
        let orch = Orch::new(SLEEPERS);
        let (child, stdout, groups) = start_sleepers(&orch);
        signal(&child, name);
        assert_stopped(&orch, child, &stdout, groups, code);
    }
}

// ---------------------------------------------------------------------
// `env` is not sensitive: only its secret values are masked.

const TOKEN: &str = "hunter2-sekrit-token";

const PROBE: &str = r#"param token: secret<string>

resource probe: exec.run {
  create = "echo \"port 8080 has $N listener on host $HOST\"; echo \"token $TOKEN\" >&2"
  env    = { N = "1", HOST = "10.0.0.1", TOKEN = token }
}

resource fails: exec.run {
  create = "echo \"port 8080 has $N listener on host $HOST, token $TOKEN\" >&2; exit 4"
  env    = { N = "1", HOST = "10.0.0.1", TOKEN = token }
}

output said = probe.stdout
"#;

const SAID: &str = "port 8080 has 1 listener on host 10.0.0.1";

/// Every file below `dir`, as text.
fn text_below(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("read a folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&text_below(&path));
        } else {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).expect("read a file")));
        }
    }
    text
}

#[test]
fn plain_env_values_are_kept_verbatim_in_plan_state_and_events_and_secrets_masked() {
    let orch = Orch::new(PROBE);
    let var = format!("token={TOKEN}");
    let plan = orch.plan_json(&["--var", &var]);
    let env = &change(&plan, "probe")["after"]["env"];
    assert_eq!(env["N"], "1", "{plan}");
    assert_eq!(env["HOST"], "10.0.0.1", "{plan}");
    assert_eq!(env["TOKEN"], "(secret)", "{plan}");

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
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains(&format!("{SAID}, token (secret)")), "{all}");

    let said = orch.run(&["output", "main.orch", "said"]);
    said.expect_code(0);
    assert_eq!(said.stdout.trim_end_matches('\n'), SAID, "kept as written");
    let shown = orch.run(&["state", "show", "probe", "--json"]);
    shown.expect_code(0);
    let object = shown.json();
    let text = object.to_string();
    assert!(text.contains(SAID), "{text}");
    assert!(text.contains("token (secret)"), "{text}");
    assert!(text.contains("10.0.0.1"), "env is shown: {text}");

    let events = orch.read("events.jsonl");
    assert!(events.contains(&format!("{SAID}, token (secret)")), "{events}");
    let state = text_below(&orch.path(".orch"));
    assert!(state.contains(SAID), "the state holds the output as written");
    for (what, text) in [("output", all), ("events", events), ("state", state), ("show", text)] {
        assert!(!text.contains(TOKEN), "{what} holds the secret: {text}");
    }
}

// ---------------------------------------------------------------------
// Serials and locks.

#[test]
fn a_serial_at_its_largest_value_is_an_error_not_a_wrap_to_zero() {
    let orch = Orch::new("resource a: core.value { input = 1 }\n");
    orch.apply(&[]);
    let path = orch.path(".orch/state.json");
    let mut snapshot: serde_json::Value =
        serde_json::from_str(&orch.read(".orch/state.json")).expect("the snapshot is JSON");
    snapshot["serial"] = serde_json::Value::from(u64::MAX);
    std::fs::write(&path, snapshot.to_string()).expect("edit the snapshot");

    orch.write("main.orch", "resource a: core.value { input = 2 }\n");
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    let all = common::orch::flat(&format!("{}{}", run.stdout, run.stderr));
    assert!(all.contains("serial is at its largest value"), "{all}");
    let after: serde_json::Value =
        serde_json::from_str(&orch.read(".orch/state.json")).expect("the snapshot is JSON");
    assert_eq!(after["serial"], serde_json::Value::from(u64::MAX), "never wrapped: {after}");
    // `state rm` counts a change too.
    let run = orch.run(&["state", "rm", "a"]);
    run.expect_code(1);
    assert!(common::orch::flat(&run.stderr).contains("serial is at its largest value"));
}

fn serial(orch: &Orch) -> u64 {
    let snapshot: serde_json::Value =
        serde_json::from_str(&orch.read(".orch/state.json")).expect("the snapshot is JSON");
    snapshot["serial"].as_u64().expect("a serial")
}

#[test]
fn an_apply_that_saves_refreshed_objects_advances_the_serial() {
    // The content is managed elsewhere: a change to it is drift that no
    // operation undoes, but the refreshed object is what gets saved.
    let main = r#"@ignore_changes(content)
resource f: fs.file {
  path    = "f.txt"
  content = "one"
}
"#;
    let orch = Orch::new(main);
    orch.apply(&[]);
    let first = serial(&orch);
    let saved = orch.read(".orch/state.json");
    // Nothing changed: nothing new is saved, the serial stays.
    orch.apply(&[]);
    assert_eq!(serial(&orch), first, "an apply that changes nothing keeps the serial");
    orch.write("f.txt", "managed elsewhere now");
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(0);
    assert!(run.stdout.contains("No changes"), "{}", run.stdout);
    let after = orch.read(".orch/state.json");
    assert_ne!(after, saved, "the refreshed object is saved");
    assert_eq!(serial(&orch), first + 1, "saved under a new serial: {after}");
    // Refreshed again, the same object: the serial stays.
    orch.apply(&[]);
    assert_eq!(serial(&orch), first + 1);
    // The object gone: the state forgets it and counts that too.
    orch.write("main.orch", "");
    std::fs::remove_file(orch.path("f.txt")).expect("remove the file");
    orch.apply(&[]);
    assert!(serial(&orch) > first + 1);
}

/// The name of this process's user, as the system knows it.
fn os_user() -> String {
    let output = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8(output.stdout).expect("a name").trim().to_string()
}

#[test]
fn a_lock_still_held_after_the_timeout_names_the_os_user_and_the_wait() {
    let orch = Orch::new("resource slow: exec.run { create = \"touch started; sleep 5\" }\n");
    let mut first = orch.command(&["apply", "main.orch", "--auto-approve"]);
    first.env_remove("USER").env_remove("LOGNAME");
    let first = first.spawn().expect("start orchc");
    assert!(wait_until(Duration::from_secs(20), || orch.exists("started")), "the first apply runs");

    let second = orch.run(&["plan", "main.orch", "--lock-timeout", "1s"]);
    second.expect_code(1);
    let stderr = common::orch::flat(&second.stderr);
    let holder = format!("apply by {}@", os_user());
    assert!(stderr.contains(&holder), "names {holder:?} without $USER: {stderr}");
    assert!(!stderr.contains("unknown@"), "{stderr}");
    assert!(stderr.contains("still locked by") && stderr.contains("after waiting 1s"), "{stderr}");
    assert!(!stderr.contains("pass --lock-timeout"), "the wait ran out already: {stderr}");
    let first = first.wait_with_output().expect("wait for the first apply");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
}

// Saved plans edited by hand.

/// Changes the saved plan at `path` with `edit` (on its JSON), keeping the
/// digest it was saved with.
fn tamper(orch: &Orch, path: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut plan: serde_json::Value =
        serde_json::from_str(&orch.read(path)).expect("a plan file is JSON");
    edit(&mut plan);
    let name = format!("tampered-{}.plan", std::process::id());
    std::fs::write(orch.path(&name), plan.to_string()).expect("write the tampered plan");
    name
}

/// A named edit of a plan file's JSON.
type Edit = (&'static str, Box<dyn FnOnce(&mut serde_json::Value)>);

fn change_of<'a>(plan: &'a mut serde_json::Value, address: &str) -> &'a mut serde_json::Value {
    plan["changes"]
        .as_array_mut()
        .expect("changes")
        .iter_mut()
        .find(|c| c["address"] == address)
        .expect("the change")
}

#[test]
fn an_edited_plan_file_is_refused_and_nothing_runs() {
    let main = "resource a: core.value { input = 1 }\n\
                resource b: core.value { input = a.output }\n\
                resource keep: fs.file {\n  path    = \"keep.txt\"\n  content = \"k\"\n}\n";
    let orch = Orch::new(main);
    orch.apply(&[]);
    orch.write("main.orch", &main.replace("input = 1", "input = 2"));
    orch.run(&["plan", "main.orch", "--out", "saved.plan"]).expect_code(0);
    let before = orch.read(".orch/state.json");
    let serial_before = serial(&orch);
    let variants: Vec<Edit> = vec![
        ("an action", Box::new(|p| change_of(p, "b")["action"] = "delete".into())),
        ("a field", Box::new(|p| change_of(p, "a")["after"]["input"] = 99.into())),
        (
            "a value change turned into a command",
            Box::new(|p| {
                let change = change_of(p, "a");
                change["kind"] = "exec.run".into();
                change["provider"] = "exec".into();
                change["action"] = "create".into();
                change["config"] = serde_json::json!({ "create": "touch PWNED" });
                change["after"] = serde_json::json!({ "create": "touch PWNED" });
            }),
        ),
        (
            "a dependency cycle",
            Box::new(|p| {
                change_of(p, "a")["depends_on"] = serde_json::json!(["b"]);
                change_of(p, "b")["depends_on"] = serde_json::json!(["a"]);
            }),
        ),
        ("the sources", Box::new(|p| p["sources"]["main.orch"] = "".into())),
    ];
    for (what, edit) in variants {
        let name = tamper(&orch, "saved.plan", edit);
        let run = orch.run(&["apply", &name, "--auto-approve"]);
        assert_eq!(run.code, 1, "{what}: {}{}", run.stdout, run.stderr);
        let stderr = common::orch::flat(&run.stderr);
        assert!(
            stderr.contains("was changed after `orchc plan --out` wrote it"),
            "{what}: {stderr}"
        );
        assert!(!orch.exists("PWNED"), "{what}: the command never ran");
        assert_eq!(orch.read(".orch/state.json"), before, "{what}: the state is untouched");
    }
    // The plan as saved still applies.
    orch.run(&["apply", "saved.plan", "--auto-approve"]).expect_code(0);
    assert!(serial(&orch) > serial_before, "the saved plan was applied");
}
