//! Kill injection: `kill -9` of `orchc` at random moments of an apply and
//! of a destroy, on the local and the PostgreSQL backends. After each kill
//! the next run must treat as interrupted only operations that really
//! started, repeat none that completed, lose nothing, and leave a plan with
//! nothing to do.
//!
//! The moments are random; the seed is printed with every failure, and
//! `ORCH_TEST_KILL_SEED` replays one.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::orch::Orch;
use common::pg::{Database, server};

const JOBS: usize = 12;
const PARALLELISM: usize = 2;
const PARALLELISM_ARG: &str = "2";

/// Twelve commands in a binary tree (each reads its parent's `stdout`),
/// each logging when it starts (`started.log`) and when its delete runs
/// (`deleted.log`).
fn configuration() -> String {
    let mut text = String::new();
    for i in 0..JOBS {
        let up = if i == 0 {
            String::new()
        } else {
            format!("\n  env     = {{ UP = j{}.stdout }}", (i - 1) / 2)
        };
        text.push_str(&format!(
            "resource j{i}: exec.run {{\n  create  = \"echo j{i} >> started.log; sleep 0.15; echo j{i}\"\n  destroy = \"echo j{i} >> deleted.log; sleep 0.1\"{up}\n}}\n"
        ));
    }
    text
}

/// A small deterministic generator (xorshift), enough for kill moments.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

fn seed() -> u64 {
    std::env::var("ORCH_TEST_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1
    })
}

fn counts(orch: &Orch, log: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in orch.log(log) {
        *counts.entry(line).or_insert(0) += 1;
    }
    counts
}

/// The addresses the run's warning names as interrupted, by action.
fn interrupted(text: &str, action: &str) -> BTreeSet<String> {
    let Some(start) = text.find("was interrupted during") else { return BTreeSet::new() };
    let rest = &text[start..];
    let list = rest.split_once(": ").map_or("", |(_, list)| list);
    let list = list.split(';').next().unwrap_or("");
    list.split(", ")
        .filter_map(|item| item.trim().strip_prefix(action).map(|a| a.trim().to_string()))
        .collect()
}

/// Starts `args`, kills it with SIGKILL after `ms`, and waits for the
/// commands it left running to end.
fn kill_after(orch: &Orch, args: &[&str], ms: u64) {
    let mut child: Child = orch.command(args).spawn().expect("start orchc");
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(400));
}

fn state_addresses(orch: &Orch) -> BTreeSet<String> {
    let run = orch.run(&["state", "list", "--json"]);
    if run.code != 0 {
        return BTreeSet::new(); // no state written yet
    }
    run.json()["instances"]
        .as_array()
        .map(|list| list.iter().filter_map(|i| i["address"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn rounds(orch: &Orch, moments: &mut Moments, seed: u64, backend: &str) {
    for round in 0..3 {
        let context = format!("{backend}, round {round}, ORCH_TEST_KILL_SEED={seed}");
        for log in ["started.log", "deleted.log"] {
            let _ = std::fs::remove_file(orch.path(log));
        }

        // An apply killed at a random moment, then finished.
        let ms = moments.next_ms(150, 1600);
        kill_after(
            orch,
            &["apply", "main.orch", "--auto-approve", "--parallelism", PARALLELISM_ARG],
            ms,
        );
        let recorded = state_addresses(orch);
        let run =
            orch.run(&["apply", "main.orch", "--auto-approve", "--parallelism", PARALLELISM_ARG]);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, 0, "{context}, killed after {ms} ms: {all}");
        let creates = interrupted(&all, "create");
        // Only operations holding one of the `--parallelism` slots were
        // started (the journal line of one may come a moment before its
        // command runs, so it need not be in `started.log`).
        assert!(
            creates.len() <= PARALLELISM,
            "{context}: {} operations reported interrupted with --parallelism {PARALLELISM}: {all}",
            creates.len()
        );
        for address in &creates {
            assert!(!recorded.contains(address), "{context}: {address} was recorded: {all}");
        }
        let after = counts(orch, "started.log");
        for i in 0..JOBS {
            let job = format!("j{i}");
            let n = after.get(&job).copied().unwrap_or(0);
            let allowed = if creates.contains(&job) { 2 } else { 1 };
            assert!(
                (1..=allowed).contains(&n),
                "{context}, killed after {ms} ms: {job} ran {n} times (interrupted: {creates:?}): {all}"
            );
        }
        // Recovery replaces an interrupted create (its object may be half
        // made): its delete runs, and nothing else's.
        for (job, n) in counts(orch, "deleted.log") {
            assert!(
                creates.contains(&job) && n == 1,
                "{context}: the delete of {job} ran {n} times during the apply (interrupted: {creates:?}): {all}"
            );
        }
        let _ = std::fs::remove_file(orch.path("deleted.log"));
        assert_eq!(state_addresses(orch).len(), JOBS, "{context}: {all}");
        let plan = orch.run(&["plan", "main.orch", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "{context}: {}{}", plan.stdout, plan.stderr);

        // A destroy killed at a random moment, then finished.
        let ms = moments.next_ms(100, 1200);
        kill_after(
            orch,
            &["destroy", "main.orch", "--auto-approve", "--parallelism", PARALLELISM_ARG],
            ms,
        );
        let remaining = state_addresses(orch);
        let run =
            orch.run(&["destroy", "main.orch", "--auto-approve", "--parallelism", PARALLELISM_ARG]);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, 0, "{context}, destroy killed after {ms} ms: {all}");
        let deletes = interrupted(&all, "delete");
        assert!(deletes.len() <= PARALLELISM, "{context}: {deletes:?}: {all}");
        for address in &deletes {
            assert!(remaining.contains(address), "{context}: {address} was already deleted: {all}");
        }
        let deleted = counts(orch, "deleted.log");
        for i in 0..JOBS {
            let job = format!("j{i}");
            let n = deleted.get(&job).copied().unwrap_or(0);
            let allowed = if deletes.contains(&job) { 2 } else { 1 };
            assert!(
                (1..=allowed).contains(&n),
                "{context}, destroy killed after {ms} ms: {job}'s delete ran {n} times (interrupted: {deletes:?}): {all}"
            );
        }
        assert!(state_addresses(orch).is_empty(), "{context}: {all}");
    }
}

#[test]
fn kills_during_apply_and_destroy_of_a_local_state_lose_and_repeat_nothing() {
    let seed = seed();
    let orch = Orch::new(&configuration());
    rounds(&orch, &mut Moments(seed), seed, "local");
}

#[test]
fn kills_during_apply_and_destroy_of_a_shared_state_lose_and_repeat_nothing() {
    let Some(server) = server() else { return };
    let database = Database::new(&server, "kill");
    let seed = seed();
    // `env` holds the parent's output; a key, should anything be secret.
    let key =
        ("ORCH_STATE_KEY".to_string(), "b3JjaC1lMmUtdGVzdHMtc3RhdGUta2V5LTMyYnl0ZXM=".to_string());
    let orch =
        Orch::new(&configuration()).with(vec!["--state".into(), database.url.clone()], vec![key]);
    rounds(&orch, &mut Moments(seed), seed, "postgres");
}
