//! `children::terminate_all`: every process group the runtime started ends
//! with it, even one that ignores `SIGTERM`, and a command started once the
//! process is closing is killed at once.
//!
//! A test binary of its own: closing the registry is for the whole process.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use orch_runtime::children;
use orch_runtime::provider::{Change, OpContext, field};
use orch_runtime::providers::builtin;
use orch_runtime::providers::lookup_kind;
use orch_stdlib::Value;

fn config(create: &str) -> Value {
    let schema = lookup_kind("exec.run").expect("a known kind");
    let mut entries = BTreeMap::new();
    for input in schema.inputs() {
        if let Some(default) = &input.default {
            entries.insert(input.name.into(), default.clone());
        }
    }
    entries.insert("create".into(), Value::string(create));
    Value::map(entries)
}

/// The processes of group `pgid` that still run (zombies excluded).
fn members(pgid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
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
fn group_of(pid: u32) -> u32 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process runs");
    let (_, rest) = stat.rsplit_once(')').expect("a stat line");
    rest.split_whitespace().nth(2).and_then(|pgrp| pgrp.parse().ok()).expect("a group id")
}

/// The process group of the command that wrote its pid to `path`.
async fn wait_for_group(path: &Path) -> u32 {
    group_of(wait_for_pid(path).await)
}

async fn wait_for_pid(path: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
            && text.ends_with('\n')
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_all_ends_every_group_then_kills_what_starts_later() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let ctx = OpContext::new(base.path(), "exec.run.sleepers");
    // One stops on `SIGTERM`; the other ignores it (and so does its
    // `sleep`): only `SIGKILL` ends it.
    let polite = config("echo $$ > polite.pid; sleep 30; touch polite.done");
    let stubborn = config("trap '' TERM; echo $$ > stubborn.pid; sleep 30; touch stubborn.done");
    let run = |object: Value| {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            builtin("exec")
                .expect("the exec provider")
                .apply(&ctx, "exec.run", Change::Create { config: &object })
                .await
        })
    };
    let (first, second) = (run(polite), run(stubborn));
    let polite_pid = wait_for_group(&base.path().join("polite.pid")).await;
    let stubborn_pid = wait_for_group(&base.path().join("stubborn.pid")).await;
    assert_eq!(children::running(), 2);
    assert!(!members(stubborn_pid).is_empty());

    let started = Instant::now();
    let grace = Duration::from_millis(300);
    let signalled =
        tokio::task::spawn_blocking(move || children::terminate_all(grace)).await.expect("join");
    assert_eq!(signalled, 2);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let deadline = Instant::now() + Duration::from_secs(2);
    while !(members(polite_pid).is_empty() && members(stubborn_pid).is_empty()) {
        assert!(
            Instant::now() < deadline,
            "still running: {:?} {:?}",
            members(polite_pid),
            members(stubborn_pid)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Each command ended by a signal, its shell's own: `SIGTERM` for the
    // polite one, `SIGKILL` for the one that ignores `SIGTERM`. A failure,
    // and never its last step.
    for (task, signal) in [(first, 15), (second, 9)] {
        let error = task.await.expect("join").expect_err("killed");
        let expected = format!("killed by signal {signal}");
        assert!(error.message.contains(&expected), "{}", error.message);
        let partial = error.partial.expect("the object of a failed create");
        assert_eq!(field(&partial, "exit_code"), &Value::Int(128 + signal), "{}", error.message);
    }
    assert!(!base.path().join("polite.done").exists());
    assert!(!base.path().join("stubborn.done").exists());
    assert_eq!(children::running(), 0);

    // Closing: a command started now is killed before it does anything.
    let late = config("sleep 1; touch late.done");
    let error = builtin("exec")
        .expect("the exec provider")
        .apply(&ctx, "exec.run", Change::Create { config: &late })
        .await
        .expect_err("killed at once");
    assert!(error.message.contains("killed by signal 9"), "{}", error.message);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(!base.path().join("late.done").exists());
}
